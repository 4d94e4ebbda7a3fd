//! A stop that fails: what honest recovery needs fencing for.
//!
//! Fencing: the first half runs with `stonith-enabled=false` and shows the cluster refusing
//! to recover (the resource is blocked on the node where its stop failed); the second half
//! adds the harness's fence device (`stonith:fence_ocfc`, which powers the node off through
//! the harness) and `stonith-enabled=true`: the node is fenced and the resource recovered on
//! the other node.
use super::harness::*;
use std::time::Duration;

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces"
)]
fn failed_stop_blocks_without_fencing_and_is_fenced_with_it() {
    let mut c = Cluster::up(2);
    c.crm_configure(
        "primitive st ocf:ocfrs:Dummy params daemon=true op monitor interval=5s timeout=10s\n\
         location loc-st-n1 st 100: n1\n",
    );
    c.wait_running_on("st", "n1");

    // Without fencing: the stop fails, the cluster cannot know the resource is gone from
    // n1, so it must not start it on n2: the resource is blocked.
    c.fault(1, "st", "stop", Fault::Rc(1), None);
    c.run(&["crm_resource", "--move", "-r", "st", "-N", "n2"]);
    c.wait_for("failed stop of st on n1 recorded", WAIT, |c| {
        let v = c.view()?;
        Some(
            v.failures
                .iter()
                .any(|f| f.op_key == "st_stop_0" && f.node == "n1"),
        )
    });
    let until = std::time::Instant::now() + Duration::from_secs(6);
    while std::time::Instant::now() < until {
        let v = c.view().unwrap_or_else(|| c.fail("no view"));
        assert_eq!(v.locate("st"), vec!["n1".to_string()], "{}", c.report());
        assert!(
            v.resources.get("st").is_some_and(|r| r.failed),
            "{}",
            c.report()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        c.count_calls(2, "st", "start", 0),
        0,
        "started on n2 without fencing\n{}",
        c.report()
    );
    assert!(
        c.dummy_pid(1, "st").is_some(),
        "the process on n1 is still there"
    );
    log("stonith-enabled=false: st blocked on n1 after its stop failed");

    // With the harness's fence device: n1 is powered off, st starts on n2.
    c.enable_fencing();
    c.wait_for("n1 fenced by fence_ocfc", WAIT, |c| {
        Some(c.fenced().contains(&"n1".to_string()))
    });
    assert!(!c.is_up(1), "n1 still running after it was fenced");
    c.wait_running_on("st", "n2");
    assert!(c.dummy_pid(2, "st").is_some(), "{}", c.report());
    let history = c.run(&["stonith_admin", "--history", "n1", "--output-as=xml"]);
    assert!(
        history.contains("target=\"n1\"") && history.contains("status=\"success\""),
        "fence history of n1: {history}"
    );
    c.boot(1);
    c.wait_online("n1", true);
    c.wait_idle();
    assert_eq!(c.locate("st"), vec!["n2".to_string()], "{}", c.report());
    assert_eq!(c.fenced(), vec!["n1".to_string()], "fenced more than n1");
    log("stonith-enabled=true: n1 fenced, st recovered on n2");
}
