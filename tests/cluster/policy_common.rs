//! Helpers shared by the cluster scenarios (groups, web, ServiceGuard, MSCS, rgmanager import): order of
//! agent calls, watching that something does not move.
use super::harness::*;
use std::time::{Duration, Instant};

/// Seconds since the epoch (the fault wrapper's clock).
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// (begin, end) of the last successful `action` of `rsc` on node `i` that began after `t`.
pub fn span(c: &Cluster, i: usize, rsc: &str, action: &str, t: f64) -> (f64, f64) {
    let calls: Vec<Call> = c
        .calls(i)
        .into_iter()
        .filter(|x| x.rsc == rsc && x.action == action && x.t >= t)
        .collect();
    let end = calls
        .iter()
        .rposition(|x| x.what == "end 0")
        .unwrap_or_else(|| c.fail(&format!("no successful {action} of {rsc} on {}", name(i))));
    let begin = calls[..end]
        .iter()
        .rposition(|x| x.what == "begin")
        .unwrap_or_else(|| c.fail(&format!("{action} of {rsc} on {}: no begin", name(i))));
    (calls[begin].t, calls[end].t)
}

/// On node `i`, after `t`, each `action` of `rsc[k]` began after the one of `rsc[k-1]` ended.
pub fn assert_sequence(c: &Cluster, i: usize, action: &str, rscs: &[&str], t: f64) {
    let s: Vec<(f64, f64)> = rscs.iter().map(|r| span(c, i, r, action, t)).collect();
    for k in 1..s.len() {
        assert!(
            s[k].0 >= s[k - 1].1,
            "{action} of {} began before {action} of {} ended on {}\n{}",
            rscs[k],
            rscs[k - 1],
            name(i),
            c.report()
        );
    }
    log(format!("{} {action} order: {}", name(i), rscs.join(" → ")));
}

/// Calls `action` of `rsc` recorded on node `i` that began after `t`.
pub fn begun(c: &Cluster, i: usize, rsc: &str, action: &str, t: f64) -> usize {
    c.calls(i)
        .iter()
        .filter(|x| x.rsc == rsc && x.action == action && x.what == "begin" && x.t >= t)
        .count()
}

/// For `secs` seconds, `rsc` runs exactly on `nodes` (empty: nowhere).
pub fn stays(c: &Cluster, rsc: &str, nodes: &[&str], secs: u64) {
    let want: Vec<String> = nodes.iter().map(|s| s.to_string()).collect();
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        let l = c.locate(rsc);
        if l != want {
            c.fail(&format!(
                "{rsc} runs on {l:?}, expected {want:?} for {secs}s"
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    log(format!("{rsc} stayed on {want:?} for {secs}s"));
}

/// Boot node `i` and wait until it is online and the cluster has settled.
pub fn boot_and_settle(c: &mut Cluster, i: usize) {
    c.boot(i);
    c.wait_online(&name(i), true);
    c.wait_idle();
}

/// Crash node `i` and wait until the others see it offline.
pub fn crash_and_notice(c: &mut Cluster, i: usize) {
    c.crash(i);
    c.wait_online(&name(i), false);
}

/// Run a crm shell command inside any quorate node (the admin's command line).
pub fn crm(c: &Cluster, args: &[&str]) -> String {
    let mut argv = vec!["crm", "--force", "--wait"];
    argv.extend_from_slice(args);
    log(format!("admin: {}", argv.join(" ")));
    c.run(&argv)
}

/// [`Cluster::reset`] for a cluster with the fence device: with `stonith-enabled=true` and
/// the device removed (reset replaces the resources section), Pacemaker does not stop the
/// orphaned resources either, and reset would wait for them forever. Fencing is switched
/// off for the reset (reset puts the device back) and on again afterwards.
pub fn reset_fenced(c: &Cluster) {
    c.property("stonith-enabled", "false");
    c.reset();
    c.wait_for("fence device fence-ocfc started again", WAIT, |c| {
        Some(!c.view()?.locate("fence-ocfc").is_empty())
    });
    c.property("stonith-enabled", "true");
}
