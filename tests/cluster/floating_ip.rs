//! Scenario 1: a floating IP address moves with its node.
//!
//! Fencing: does not rely on `stonith-enabled=false`: the cluster has the harness's fence
//! device and fences the crashed node (the test checks it did) before the address is
//! configured elsewhere.
//!
//! The agent is `ocf:ocfrs:IPaddr2`; `OCFRS_SCENARIO_IP_PROVIDER=heartbeat` runs the same
//! scenario with Debian's shell agent (the test fails loudly while ocfrs has no IPaddr2).
use super::harness::*;
use super::policy_common::now;
use super::sampler::Sampler;
use std::time::Duration;

const VIP: &str = "192.0.2.100";
/// The environment variable choosing the IPaddr2 provider.
pub const IP_PROVIDER_VAR: &str = "OCFRS_SCENARIO_IP_PROVIDER";

fn has_vip(i: usize, vip: &str) -> bool {
    let prefix = format!("{vip}/");
    addresses_of(i).iter().any(|a| a.starts_with(&prefix))
}

/// The address is configured on node `i` only (among running nodes), the cluster says it
/// runs there only, and the client reaches it at that node's MAC.
pub fn wait_vip_on(c: &Cluster, rsc: &str, vip: &str, i: usize) {
    c.wait_running_on(rsc, &name(i));
    let mac = c.mac(i);
    c.wait_for(
        &format!("{vip} on {} only, answered from its MAC {mac}", name(i)),
        WAIT,
        |c| {
            let on: Vec<usize> = (1..=c.size())
                .filter(|&j| c.is_up(j) && has_vip(j, vip))
                .collect();
            Some(on == vec![i] && c.client_reaches(vip).as_deref() == Some(mac.as_str()))
        },
    );
}

/// Node 1 returns after its crash; group `g`, sticky, stays on n2 where its member `member`
/// runs now; the administrator moves the group back to n1 (`crm_resource --move`) and clears
/// the move once `member` and the address `vip` (primitive `ip`) run there. Returns when the
/// move was asked for ([`now`]).
pub fn sticky_group_moved_back(c: &mut Cluster, member: &str, vip: &str) -> f64 {
    c.boot(1);
    c.wait_online("n1", true);
    c.wait_idle();
    assert_eq!(c.locate(member), vec!["n2".to_string()], "{}", c.report());
    let t = now();
    c.run(&["crm_resource", "--move", "-r", "g", "-N", "n1"]);
    c.wait_running_on(member, "n1");
    wait_vip_on(c, "ip", vip, 1);
    c.run(&["crm_resource", "--clear", "-r", "g"]);
    c.wait_idle();
    t
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces"
)]
fn floating_ip_follows_node_crash_and_fails_back_by_policy() {
    let prov = provider(IP_PROVIDER_VAR, "IPaddr2");
    let mut c = Cluster::up(2);
    c.enable_fencing();
    c.cib_create(
        "resources",
        &primitive(
            "vip",
            &format!("ocf:{prov}:IPaddr2"),
            &[("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0")],
            &[("resource-stickiness", "0")],
            &[("monitor", "2s", "10s", "")],
        ),
    );
    c.cib_create("constraints", &prefer("vip", "n1", "100"));
    wait_vip_on(&c, "vip", VIP, 1);
    // The sampler reads each running node's local addresses from /proc (no process
    // started per sample, so the rate holds on a loaded machine).
    let sampler = Sampler::start("VIP configured", c.size(), Duration::from_millis(50), |i| {
        local_ipv4_of(i).iter().any(|a| a == VIP)
    });

    // Preference n1 (100), stickiness 0: failover to n2, automatic failback to n1.
    c.crash(1);
    wait_vip_on(&c, "vip", VIP, 2);
    assert_eq!(
        c.fenced(),
        vec!["n1".to_string()],
        "the crashed node was not fenced"
    );
    c.boot(1);
    c.wait_online("n1", true);
    wait_vip_on(&c, "vip", VIP, 1);
    c.wait_idle();
    log("stickiness 0: failed over to n2 and back to n1");

    // Stickiness 200 above the preference: after the failover it stays on n2.
    c.meta("vip", "resource-stickiness", "200");
    c.wait_idle();
    c.crash(1);
    wait_vip_on(&c, "vip", VIP, 2);
    assert_eq!(c.fenced().len(), 2, "the crashed node was not fenced");
    c.boot(1);
    c.wait_online("n1", true);
    c.wait_idle();
    let until = std::time::Instant::now() + Duration::from_secs(6);
    while std::time::Instant::now() < until {
        assert_eq!(c.locate("vip"), vec!["n2".to_string()], "{}", c.report());
        assert!(!has_vip(1, VIP) && has_vip(2, VIP), "{}", c.report());
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(c.client_reaches(VIP), Some(c.mac(2)), "{}", c.report());
    log("stickiness 200: stayed on n2 after n1 returned");

    let s = sampler.finish();
    assert!(
        s.doubles.is_empty(),
        "{VIP} on two live nodes at once: {:?}\n{}",
        s.doubles,
        c.report()
    );
    assert_eq!(
        s.holders.len(),
        2,
        "the sampler never saw the address move: {s:?}"
    );
    assert!(
        s.max_gap <= Duration::from_millis(200),
        "sampling too slow to prove exclusivity: longest gap {} ms ({:.1} rounds/s)",
        s.max_gap.as_millis(),
        s.rate()
    );
}
