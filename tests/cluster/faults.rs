//! The harness's other fault injections on a real cluster, and what a cluster without
//! fencing does with them: a killed corosync, a network partition.
//!
//! Fencing: relies on `stonith-enabled=false`, and shows the gap: a node cut off from the
//! cluster by a dead corosync is not fenced and keeps running its resources while the
//! others start them too. The harness's `crash` + `boot` stand in for the fencing.
use super::harness::*;
use std::time::Duration;

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces"
)]
fn killed_corosync_and_network_partition() {
    let mut c = Cluster::up(3);
    c.crm_configure(
        "primitive d ocf:ocfrs:Dummy params daemon=true op monitor interval=2s timeout=10s\n\
         location loc-d-n1 d 100: n1\n\
         location loc-d-n2 d 50: n2\n",
    );
    c.wait_running_on("d", "n1");

    // corosync dies on n1: the others lose n1 and start d on n2; n1 is not fenced and its
    // copy of d keeps running (the double-active a fence device exists to prevent).
    c.kill_daemon(1, "corosync");
    c.wait_online("n1", false);
    c.wait_for("d running on n2 (cluster view of n2, n3)", WAIT, |c| {
        Some(c.view_from(2)?.locate("d").contains(&"n2".to_string()))
    });
    assert!(c.dummy_pid(2, "d").is_some(), "{}", c.report());
    assert!(
        c.dummy_pid(1, "d").is_some(),
        "n1 stopped d without fencing? (the harness's assumption changed)\n{}",
        c.report()
    );
    log("no fencing: d runs on n1 (cut off) and on n2 at the same time");
    c.crash(1); // what fencing would do
    c.boot(1);
    c.wait_online("n1", true);
    c.wait_idle();
    c.wait_running_on("d", "n1");

    // Partition: n1 alone on its side has no quorum and stops d; n2+n3 run it.
    c.unplug(1);
    c.wait_for("n2 and n3 see n1 offline and run d on n2", WAIT, |c| {
        let v = c.view_from(2)?;
        Some(v.nodes.get("n1") == Some(&false) && v.locate("d") == vec!["n2".to_string()])
    });
    c.wait_for("n1, without quorum, stopped its d", WAIT, |c| {
        let v = c.view_from(1)?;
        Some(!v.quorum && c.dummy_pid(1, "d").is_none())
    });
    c.plug(1);
    for n in ["n1", "n2", "n3"] {
        c.wait_online(n, true);
    }
    c.wait_idle();
    c.wait_running_on("d", "n1");
    std::thread::sleep(Duration::from_secs(1));
    let on: Vec<usize> = (1..=3).filter(|&i| c.dummy_pid(i, "d").is_some()).collect();
    assert_eq!(
        on,
        vec![1],
        "d's process after the partition healed\n{}",
        c.report()
    );
}
