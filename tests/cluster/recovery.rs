//! Scenario 3: recovery policies restart / relocate / disable (rgmanager's `recovery=`).
//!
//! Fencing: relies on `stonith-enabled=false` (no stop fails here, so no fencing would be
//! asked for; the property only lets the cluster start without a fence device).
use super::harness::*;
use std::time::Duration;

const DUMMY: &str = "ocf:ocfrs:Dummy";

/// Kill the managed process of `rsc` on node `i`; wait until the cluster has counted
/// `failures` failures there and the resource runs again (new process) on `expect_on`.
fn kill_and_wait(c: &Cluster, i: usize, rsc: &str, failures: u32) -> i32 {
    // crm_mon may list a start still in flight (record-pending) as running: wait for the
    // pid file start writes before it returns.
    c.wait_for(
        &format!("{rsc}'s managed process on {}", name(i)),
        Duration::from_secs(20),
        |c| Some(c.dummy_pid(i, rsc).is_some()),
    );
    let old = c
        .dummy_pid(i, rsc)
        .unwrap_or_else(|| c.fail(&format!("{rsc} has no managed process on {}", name(i))));
    c.kill_node_pid(i, old);
    c.wait_for(
        &format!("fail count of {rsc} on {} = {failures}", name(i)),
        WAIT,
        |c| Some(c.view()?.failcount(rsc, &name(i)) >= failures),
    );
    old
}

/// restart: a killed managed process is restarted in place, each failure counted;
/// relocate: at `migration-threshold` (3) failures the resource moves to the other node.
#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces"
)]
fn restart_in_place_then_relocate_after_migration_threshold() {
    let c = Cluster::up(2);
    // As in docs/scenarios.md (crm shell).
    c.crm_configure(
        "primitive svc ocf:ocfrs:Dummy params daemon=true \\\n\
         \tmeta migration-threshold=3 \\\n\
         \top monitor interval=2s timeout=10s\n\
         location loc-svc-n1 svc 100: n1\n",
    );
    c.wait_running_on("svc", "n1");

    for k in 1..=2u32 {
        let old = kill_and_wait(&c, 1, "svc", k);
        c.wait_for(&format!("svc restarted on n1 (restart {k})"), WAIT, |c| {
            let new = c.dummy_pid(1, "svc")?;
            Some(new != old && c.view()?.locate("svc") == vec!["n1".to_string()])
        });
        assert_eq!(c.failcount("svc", "n1"), k, "{}", c.report());
    }
    // Restarts in place, counted from the agent calls on n1: the first start plus two.
    assert_eq!(c.count_calls(1, "svc", "start", 0), 3, "{}", c.report());
    assert_eq!(c.count_calls(2, "svc", "start", 0), 0, "{}", c.report());

    kill_and_wait(&c, 1, "svc", 3);
    let now = c.wait_moved_from("svc", "n1");
    assert_eq!(now, "n2");
    c.wait_for("svc's managed process running on n2", WAIT, |c| {
        Some(c.dummy_pid(2, "svc").is_some())
    });
    c.wait_idle();
    let v = c.view().unwrap_or_else(|| c.fail("no view"));
    assert_eq!(v.failcount("svc", "n1"), 3, "{}", c.report());
    assert_eq!(v.failcount("svc", "n2"), 0, "{}", c.report());
    assert_eq!(
        c.count_calls(1, "svc", "start", 0),
        3,
        "no 4th start on n1: {}",
        c.report()
    );
    assert_eq!(c.count_calls(2, "svc", "start", 0), 1, "{}", c.report());
    log("svc: 2 restarts in place on n1, relocated to n2 at the 3rd failure");
}

/// disable: with `on-fail=stop` a failed resource is stopped and not started anywhere;
/// an admin's `target-role=Stopped` keeps it stopped after the failure is cleaned up.
#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces"
)]
fn disable_on_failure_stays_stopped() {
    let c = Cluster::up(2);
    c.cib_create(
        "resources",
        &primitive(
            "dis",
            DUMMY,
            &[("daemon", "true")],
            &[],
            &[("monitor", "2s", "10s", "on-fail=\"stop\"")],
        ),
    );
    c.cib_create("constraints", &prefer("dis", "n1", "100"));
    c.wait_running_on("dis", "n1");
    kill_and_wait(&c, 1, "dis", 1);
    c.wait_stopped("dis");
    c.wait_idle();
    // It stays stopped: watch for a while that nothing starts it again, anywhere.
    let until = std::time::Instant::now() + Duration::from_secs(8);
    while std::time::Instant::now() < until {
        let l = c.locate("dis");
        assert!(l.is_empty(), "dis started again on {l:?}\n{}", c.report());
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(c.count_calls(1, "dis", "start", 0), 1, "{}", c.report());
    assert_eq!(c.count_calls(2, "dis", "start", 0), 0, "{}", c.report());
    assert_eq!(c.failcount("dis", "n1"), 1, "{}", c.report());
    assert!(c.dummy_pid(1, "dis").is_none(), "state file left on n1");

    // The admin disables it, then clears the failure: still stopped.
    c.meta("dis", "target-role", "Stopped");
    c.run(&["crm_resource", "--cleanup", "-r", "dis"]);
    c.wait_for("fail count of dis cleared", WAIT, |c| {
        Some(c.view()?.failcount("dis", "n1") == 0)
    });
    c.wait_idle();
    std::thread::sleep(Duration::from_secs(4));
    assert!(c.locate("dis").is_empty(), "{}", c.report());
    assert_eq!(c.count_calls(1, "dis", "start", 0), 1, "{}", c.report());
    assert_eq!(c.count_calls(2, "dis", "start", 0), 0, "{}", c.report());

    // Enabling it again starts it on its preferred node.
    c.meta("dis", "target-role", "Started");
    c.wait_running_on("dis", "n1");
    assert_eq!(c.count_calls(1, "dis", "start", 0), 2, "{}", c.report());
}
