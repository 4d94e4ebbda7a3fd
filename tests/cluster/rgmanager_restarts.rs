//! rgmanager's restart policy details as far as Pacemaker expresses them:
//!
//! * `max_restarts=2 restart_expire_time=10` → `migration-threshold=3 failure-timeout=10s`:
//!   two restarts in place, the third failure relocates; failures older than 10 s are
//!   forgotten (Pacemaker counts per member, rgmanager per service);
//! * `__independent_subtree`: what Pacemaker does instead. A failed group member is restarted
//!   with the members after it; the ones before it keep running (rgmanager without
//!   `__independent_subtree` restarts the whole service; with it, only the subtree).
//!
//! Fencing: relies on `stonith-enabled=false` (no node fails here).
use super::harness::*;
use super::policy_common::*;

/// As in docs/scenarios.md (crm shell).
const CONFIG: &str = "primitive ra ocf:ocfrs:Dummy op monitor interval=2s timeout=10s\n\
    primitive rb ocf:ocfrs:Dummy op monitor interval=2s timeout=10s\n\
    primitive rc ocf:ocfrs:Dummy op monitor interval=2s timeout=10s\n\
    group rsvc ra rb rc meta migration-threshold=3 failure-timeout=10s\n\
    location loc-rsvc-n1 rsvc 100: n1\n";

/// Make `rsc`'s next monitor on n1 fail; wait for its fail count to reach `n` and the group to
/// run again.
fn fail_once(c: &Cluster, rsc: &str, n: u32) {
    c.fault(1, rsc, "monitor", Fault::Rc(7), Some(1));
    c.wait_for(&format!("fail count of {rsc} on n1 = {n}"), WAIT, |c| {
        Some(c.view()?.failcount(rsc, "n1") == n)
    });
    c.wait_idle();
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces"
)]
fn restarts_expire_and_group_members_restart_with_their_followers() {
    let c = Cluster::up(2);
    c.property("cluster-recheck-interval", "5s");
    c.crm_configure(CONFIG);
    c.wait_running_on("rc", "n1");
    c.wait_idle();

    // A middle member fails: it and the member after it restart, the first keeps running.
    let t = now();
    fail_once(&c, "rb", 1);
    c.wait_running_on("rc", "n1");
    assert_sequence(&c, 1, "stop", &["rc", "rb"], t);
    assert_sequence(&c, 1, "start", &["rb", "rc"], t);
    assert_eq!(
        begun(&c, 1, "ra", "stop", t),
        0,
        "ra was restarted\n{}",
        c.report()
    );
    // The last member fails: only it restarts (what __independent_subtree gives in rgmanager).
    let t = now();
    fail_once(&c, "rc", 1);
    c.wait_running_on("rc", "n1");
    for r in ["ra", "rb"] {
        assert_eq!(
            begun(&c, 1, r, "stop", t),
            0,
            "{r} was restarted\n{}",
            c.report()
        );
    }
    assert_eq!(begun(&c, 1, "rc", "start", t), 1, "{}", c.report());
    log("group member failure: the member and those after it restart, not those before");

    // max_restarts=2 within restart_expire_time=10s. rc failed once already; a second
    // failure restarts it in place again.
    fail_once(&c, "rc", 2);
    c.wait_running_on("rc", "n1");
    // Wait until both failures expired (10 s after the last one, at the next recheck).
    c.wait_for("rc's failures expired", WAIT, |c| {
        Some(c.view()?.failcount("rc", "n1") == 0)
    });
    // Two more failures: still restarted in place (the old ones no longer count).
    fail_once(&c, "rc", 1);
    fail_once(&c, "rc", 2);
    c.wait_running_on("rc", "n1");
    // The third failure within the window relocates the whole service.
    let t = now();
    fail_once(&c, "rc", 3);
    c.wait_running_on("rc", "n2");
    c.wait_running_on("ra", "n2");
    assert_sequence(&c, 2, "start", &["ra", "rb", "rc"], t);
    log("max_restarts=2 / restart_expire_time=10s: restarts expired, the 3rd failure in the window relocated");
}
