//! The smallest scenario, quoted in docs/scenarios.md ("How to add a scenario"): a service
//! follows a crashed node, which the harness's fence device fences first.
use super::harness::*;

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces"
)]
fn service_follows_a_crashed_node() {
    let mut c = Cluster::up(2);
    c.enable_fencing();
    c.crm_configure(
        "primitive d ocf:ocfrs:Dummy params daemon=true op monitor interval=2s\n\
         location loc-d-n1 d 100: n1\n",
    );
    c.wait_running_on("d", "n1");
    c.crash(1);
    c.wait_running_on("d", "n2");
    assert_eq!(c.fenced(), vec!["n1".to_string()]);
    assert!(c.dummy_pid(2, "d").is_some());
}
