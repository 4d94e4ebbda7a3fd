//! ServiceGuard's "all subnetworks must be available on the target node": a group whose
//! address lives on a service subnet never starts on a node where that subnet's link is
//! down, and leaves a node whose link goes down while it runs there.
//!
//! Mechanism: a node attribute per node saying whether the subnet's link is up
//! (`ocf:heartbeat:ethmonitor`, cloned, `link_status_only=true`) and a location rule that
//! bars the group from nodes where it is not 1. It is checked *before* placement, as
//! ServiceGuard checks subnets before it starts a package. IPaddr2's own
//! `check_link_status` (on by default) only notices once the address is up: a monitor
//! failure and a restart that may land on the same node again, so it is a second line
//! of defence here, not the policy.
//!
//! The subnet is a second network in every node (`eth1`, 198.51.100.0/24, harness
//! [`Cluster::service_subnet`]); the cluster's own traffic stays on eth0, so a subnet
//! failure is not a node failure.
//!
//! Fencing: relies on `stonith-enabled=false` (no node fails here).
use super::harness::*;
use super::policy_common::*;

const VIP: &str = "198.51.100.50";

/// As in docs/scenarios.md (crm shell).
fn config() -> String {
    format!(
        "primitive subnet-eth1 ocf:heartbeat:ethmonitor \\\n\
         \tparams interface=eth1 link_status_only=true repeat_count=1 repeat_interval=1 \\\n\
         \top monitor interval=2s timeout=10s\n\
         clone subnet-eth1-clone subnet-eth1\n\
         primitive sip ocf:ocfrs:IPaddr2 params ip={VIP} cidr_netmask=24 nic=eth1 \\\n\
         \top monitor interval=2s timeout=10s\n\
         primitive sapp ocf:ocfrs:Dummy op monitor interval=2s timeout=10s\n\
         group sg sip sapp meta resource-stickiness=0\n\
         location pref-sg-n1 sg 100: n1\n\
         location subnet-sg sg rule -inf: not_defined ethmonitor-eth1 or ethmonitor-eth1 ne 1\n"
    )
}

/// Node `i`'s value of the `ethmonitor-eth1` attribute.
fn link_attr(c: &Cluster, i: usize) -> Option<String> {
    let j = c.any_node()?;
    let o = c.on(
        j,
        &[
            "attrd_updater",
            "-Q",
            "-n",
            "ethmonitor-eth1",
            "-N",
            &name(i),
        ],
    );
    let out = o.stdout_text();
    let v = out.split("value=\"").nth(1)?.split('"').next()?.to_string();
    Some(v)
}

fn vip_on(c: &Cluster, i: usize) -> bool {
    c.subnet_addresses(i)
        .iter()
        .any(|a| a.starts_with(&format!("{VIP}/")))
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces"
)]
fn group_needs_its_subnet_on_the_target_node() {
    let prov = provider(super::floating_ip::IP_PROVIDER_VAR, "IPaddr2");
    assert_eq!(
        prov, "ocfrs",
        "this scenario loads ocf:ocfrs:IPaddr2 as written"
    );
    let c = Cluster::up(2);
    c.service_subnet();
    c.subnet_link(1, false);
    let t0 = now();
    c.crm_configure(&config());

    // n1 is preferred but its subnet link is down: the group starts on n2, never tried on n1.
    c.wait_running_on("sapp", "n2");
    c.wait_idle();
    assert_eq!(link_attr(&c, 1).as_deref(), Some("0"), "{}", c.report());
    assert_eq!(link_attr(&c, 2).as_deref(), Some("1"), "{}", c.report());
    for r in ["sip", "sapp"] {
        assert_eq!(
            begun(&c, 1, r, "start", t0),
            0,
            "{r} tried on n1\n{}",
            c.report()
        );
    }
    assert!(vip_on(&c, 2) && !vip_on(&c, 1), "{}", c.report());
    log("subnet down on the preferred n1: the group started on n2");

    // The link comes back: the group returns to its preferred node.
    c.subnet_link(1, true);
    c.wait_running_on("sapp", "n1");
    c.wait_for(&format!("{VIP} on n1 only"), WAIT, |c| {
        Some(vip_on(c, 1) && !vip_on(c, 2))
    });
    c.wait_idle();

    // The link fails while the group runs on n1: it moves to n2, its address leaves n1.
    let t1 = now();
    c.subnet_link(1, false);
    c.wait_running_on("sapp", "n2");
    c.wait_for(&format!("{VIP} on n2 only"), WAIT, |c| {
        Some(vip_on(c, 2) && !vip_on(c, 1))
    });
    c.wait_idle();
    stays(&c, "sapp", &["n2"], 4);
    assert_sequence(&c, 1, "stop", &["sapp", "sip"], t1);
    log("subnet failed under the running group: it moved to n2");
}
