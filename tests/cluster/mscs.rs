//! Microsoft cluster failover manager policies on three nodes, one cluster:
//!
//! 1. push vs pull: an admin's move and a resource failure the group cannot survive in
//!    place *push* the group (graceful stops of every member on the old node, in reverse
//!    order); a node failure *pulls* it (the node is fenced, no stop is run anywhere, the
//!    group starts on a survivor);
//! 2. failback protection: a preferred node on which the group fails every time it starts
//!    gets it back once per `failure-timeout` at most (no ping-pong), while a group whose
//!    start *crashes* the node is not protected by fail counts at all (Pacemaker counts no
//!    failure for a fenced node's operations): only stickiness stops that ping-pong.
//!
//! Fencing: with the harness's fence device (the pull path is "fence, then start").
use super::harness::*;
use super::policy_common::*;
use std::time::Duration;

const MEMBERS: [&str; 3] = ["ga", "gb", "gc"];

/// The group as crm shell lines (as in docs/scenarios.md).
const GROUP: &str = "primitive ga ocf:ocfrs:Dummy op monitor interval=2s timeout=10s\n\
    primitive gb ocf:ocfrs:Dummy op monitor interval=2s timeout=10s\n\
    primitive gc ocf:ocfrs:Dummy op monitor interval=2s timeout=10s\n\
    group g ga gb gc meta resource-stickiness=0 migration-threshold=1\n\
    location pref-g-n1 g 100: n1\nlocation pref-g-n2 g 50: n2\n";

fn stops_on(c: &Cluster, i: usize, t: f64) -> usize {
    MEMBERS.iter().map(|m| begun(c, i, m, "stop", t)).sum()
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces"
)]
fn mscs_push_pull_and_failback_protection() {
    let mut c = Cluster::up(3);
    c.enable_fencing();
    c.crm_configure(GROUP);
    c.wait_running_on("gc", "n1");
    c.wait_idle();

    // Push by the admin (Move-ClusterGroup g -Node n3): graceful stops c, b, a on n1.
    let t = now();
    crm(&c, &["resource", "move", "g", "n3"]);
    c.wait_running_on("gc", "n3");
    c.wait_idle();
    assert_sequence(&c, 1, "stop", &["gc", "gb", "ga"], t);
    assert_sequence(&c, 3, "start", &["ga", "gb", "gc"], t);
    crm(&c, &["resource", "clear", "g"]);
    c.wait_running_on("gc", "n1");
    c.wait_idle();

    // Push by a failure (gb's monitor fails; migration-threshold=1: no restart in place):
    // gc and gb stopped gracefully, ga too, on n1; the group starts on n2.
    let t = now();
    c.fault(1, "gb", "monitor", Fault::Rc(7), Some(1));
    c.wait_running_on("gc", "n2");
    c.wait_idle();
    assert_sequence(&c, 1, "stop", &["gc", "gb", "ga"], t);
    for m in MEMBERS {
        assert_eq!(c.count_calls(1, m, "stop", 0), begun(&c, 1, m, "stop", 0.0));
    }
    assert_sequence(&c, 2, "start", &["ga", "gb", "gc"], t);
    assert_eq!(
        begun(&c, 1, "ga", "start", t),
        0,
        "no restart on n1: {}",
        c.report()
    );
    log("push: admin move and resource failure stop the group gracefully, in order");

    // Pull: n2 dies. It is fenced; nothing is stopped anywhere; the group starts on n3
    // (n1 is barred by gb's failure).
    let t = now();
    crash_and_notice(&mut c, 2);
    c.wait_running_on("gc", "n3");
    c.wait_idle();
    assert_eq!(c.fenced(), vec!["n2".to_string()], "{}", c.report());
    assert_eq!(stops_on(&c, 1, t) + stops_on(&c, 3, t), 0, "{}", c.report());
    assert_sequence(&c, 3, "start", &["ga", "gb", "gc"], t);
    log("pull: the failed node was fenced, no stop ran, the group started on n3");
    boot_and_settle(&mut c, 2);
    reset_fenced(&c);

    // Failback protection against a node where the group fails at every start:
    // migration-threshold=1 + failure-timeout=8s. One attempt per 8 s at most.
    c.fault(1, "p", "start", Fault::Rc(1), None);
    // Expired failures are noticed at the next recheck at the latest.
    c.property("cluster-recheck-interval", "5s");
    let t = now();
    c.crm_configure(
        "primitive p ocf:ocfrs:Dummy meta resource-stickiness=0 migration-threshold=1 \
         failure-timeout=8s op monitor interval=2s timeout=10s\n\
         location pref-p-n1 p 100: n1\nlocation pref-p-n2 p 50: n2\n",
    );
    c.wait_running_on("p", "n2");
    // 20 s: when the protection expires, one more attempt on n1 fails and p is back on n2.
    std::thread::sleep(Duration::from_secs(20));
    c.wait_running_on("p", "n2");
    let attempts = c
        .calls(1)
        .iter()
        .filter(|x| x.rsc == "p" && x.action == "start" && x.t >= t)
        .count();
    let elapsed = now() - t;
    assert!(
        attempts >= 2 && (attempts as f64) <= 1.0 + elapsed / 8.0,
        "{attempts} start attempts on n1 in {elapsed:.0} s\n{}",
        c.report()
    );
    log(format!(
        "failback protection: {attempts} attempts on n1 in {elapsed:.0} s (failure-timeout 8 s)"
    ));
    c.fault_clear(1);
    reset_fenced(&c);

    // A start that crashes the preferred node: no fail count survives fencing, so with
    // stickiness 0 the group goes back and crashes the node again. Stickiness above the
    // preference is the protection.
    c.crm_configure(
        "primitive q ocf:ocfrs:Dummy meta resource-stickiness=0 migration-threshold=1 \
         failure-timeout=10min op monitor interval=2s timeout=10s\n\
         location pref-q-n1 q 100: n1\nlocation pref-q-n2 q 50: n2\n",
    );
    c.wait_running_on("q", "n1");
    c.wait_idle();
    crash_and_notice(&mut c, 1);
    c.wait_running_on("q", "n2");
    c.boot(1);
    // From now on q's start takes n1 down (the wrapper hangs the start; the harness crashes
    // the node as soon as it sees that).
    c.fault(1, "q", "start", Fault::Hang, None);
    c.wait_for(
        "q back on the returned n1, its start under way",
        WAIT,
        |c| {
            Some(
                c.calls(1)
                    .iter()
                    .any(|x| x.rsc == "q" && x.what == "fault hang"),
            )
        },
    );
    crash_and_notice(&mut c, 1);
    c.wait_running_on("q", "n2");
    log("a start that crashes n1: q went back to n1 after the first crash, and n1 crashed again");
    // The protection: stickiness above the preference. n1 returns and stays without q.
    c.meta("q", "resource-stickiness", "200");
    c.boot(1);
    c.fault(1, "q", "start", Fault::Hang, None);
    c.wait_online("n1", true);
    c.wait_idle();
    stays(&c, "q", &["n2"], 3);
    assert!(
        !c.calls(1)
            .iter()
            .any(|x| x.rsc == "q" && x.action == "start"),
        "{}",
        c.report()
    );
    assert_eq!(
        c.failcount("q", "n1"),
        0,
        "the start in flight when n1 crashed counted as a failure\n{}",
        c.report()
    );
    assert_eq!(c.fenced(), vec!["n2".to_string(), "n1".into(), "n1".into()]);
    log("with stickiness 200 > preference 100, q stays on n2 when n1 returns");
}
