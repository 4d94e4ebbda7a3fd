//! Scenario 5: monitor fault injection (through the harness's fault wrapper).
//!
//! Fencing: relies on `stonith-enabled=false`; only monitors fail here, the stops that
//! follow succeed, so no fencing would be asked for.
use super::harness::*;
use super::policy_common::now;
use std::time::Duration;

fn calls_after(c: &Cluster, i: usize, rsc: &str, t: f64) -> Vec<Call> {
    c.calls(i)
        .into_iter()
        .filter(|x| x.rsc == rsc && x.t >= t)
        .collect()
}

/// The failure the cluster recorded for mon's 2 s monitor on n1.
fn monitor_failure(c: &Cluster) -> Failure {
    let v = c.view().unwrap_or_else(|| c.fail("no view"));
    v.failures
        .into_iter()
        .find(|f| f.op_key == "mon_monitor_2000" && f.node == "n1")
        .unwrap_or_else(|| c.fail("no monitor failure recorded"))
}

/// Wait for a stop then a start of `rsc` on node `i` after `t`, both successful, and the
/// resource running there only.
fn wait_restarted_in_place(c: &Cluster, i: usize, rsc: &str, t: f64) {
    c.wait_for(
        &format!("{rsc} stopped and started again on {}", name(i)),
        WAIT,
        |c| {
            let calls = calls_after(c, i, rsc, t);
            let stop = calls
                .iter()
                .position(|x| x.action == "stop" && x.what == "end 0")?;
            let started = calls[stop..]
                .iter()
                .any(|x| x.action == "start" && x.what == "end 0");
            Some(started && c.view()?.locate(rsc) == vec![name(i)])
        },
    );
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces"
)]
fn monitor_failing_once_or_hanging_is_recovered_in_place() {
    let c = Cluster::up(2);
    c.cib_create(
        "resources",
        &primitive(
            "mon",
            "ocf:ocfrs:Dummy",
            &[],
            &[],
            &[("monitor", "2s", "4s", "")],
        ),
    );
    c.cib_create("constraints", &prefer("mon", "n1", "100"));
    c.wait_running_on("mon", "n1");
    c.wait_idle();

    // 1. The next recurring monitor fails once (generic error): restart in place.
    let t = now();
    c.fault(1, "mon", "monitor", Fault::Rc(1), Some(1));
    c.wait_for("fail count of mon on n1 = 1", WAIT, |c| {
        Some(c.view()?.failcount("mon", "n1") == 1)
    });
    wait_restarted_in_place(&c, 1, "mon", t);
    c.wait_idle();
    let f = monitor_failure(&c);
    assert_eq!(f.exitstatus, "error", "{f:?}");
    assert!(f.exitreason.contains("injected fault"), "{f:?}");
    assert!(
        !c.node_path(1, "/run/ocfc-faults/mon.monitor").exists(),
        "fault not consumed"
    );
    assert_eq!(c.count_calls(2, "mon", "start", 0), 0, "{}", c.report());
    // The monitor keeps running and succeeding afterwards.
    let t2 = now();
    c.wait_for("a successful monitor after the restart", WAIT, |c| {
        Some(
            calls_after(c, 1, "mon", t2)
                .iter()
                .any(|x| x.action == "monitor" && x.what == "end 0"),
        )
    });
    c.run(&["crm_resource", "--cleanup", "-r", "mon"]);
    c.wait_for("fail count cleared", WAIT, |c| {
        Some(c.view()?.failcount("mon", "n1") == 0)
    });
    c.wait_idle();

    // 2. The next monitor hangs: Pacemaker's 4 s timeout ends it, records a timeout and
    // recovers (restart in place).
    let t = now();
    c.fault(1, "mon", "monitor", Fault::Hang, Some(1));
    c.wait_for("fail count of mon on n1 = 1 (timeout)", WAIT, |c| {
        Some(c.view()?.failcount("mon", "n1") == 1)
    });
    let hung = calls_after(&c, 1, "mon", t)
        .into_iter()
        .find(|x| x.what == "fault hang")
        .unwrap_or_else(|| c.fail("the hanging monitor was not called"));
    wait_restarted_in_place(&c, 1, "mon", t);
    let stop = calls_after(&c, 1, "mon", t)
        .into_iter()
        .find(|x| x.action == "stop")
        .unwrap_or_else(|| c.fail("no stop"));
    let waited = stop.t - hung.t;
    assert!(
        (3.5..30.0).contains(&waited),
        "recovery began {waited:.1}s after the monitor hung; expected after the 4 s timeout\n{}",
        c.report()
    );
    let f = monitor_failure(&c);
    assert!(
        f.status.to_lowercase().contains("timed out")
            || f.status.to_lowercase().contains("timeout"),
        "failure not recorded as a timeout: {f:?}\n{}",
        c.report()
    );
    assert_eq!(c.count_calls(2, "mon", "start", 0), 0, "{}", c.report());
    log(format!(
        "hung monitor: recovery started {waited:.1}s after it hung (timeout 4 s)"
    ));
    std::thread::sleep(Duration::from_millis(1));
}
