//! ServiceGuard package policies on four nodes, one cluster for all cases (the CIB is reset
//! between them):
//!
//! 1. what Pacemaker's default placement does with three packages and one spare node when a
//!    node goes away (it is *not* MIN_PACKAGE_NODE);
//! 2. MIN_PACKAGE_NODE as `placement-strategy=balanced` with a `packages` utilization:
//!    the rotating standby of the ServiceGuard manual, with real node crashes;
//! 3. CONFIGURED_NODE + MIN_PACKAGE_NODE with AUTOMATIC failback, and the documented
//!    surprise: the same package fails over to a different node the second time;
//! 4. AUTO_RUN=NO, package switching disabled (`cmmodpkg -d pkg`), node switching disabled
//!    (`cmmodpkg -d -n node pkg`), with cmrunpkg / cmhaltpkg / cmmodpkg done in crm.
//!
//! Nodes leave with `crm node standby` (placement is computed exactly as for a failed node,
//! without the time a crash and reboot cost), except the first failure of case 2, a crash.
//!
//! Fencing: relies on `stonith-enabled=false` (crashed nodes are really dead here).
//! Quorum: `no-quorum-policy=ignore`, as case 2 runs two of four nodes at one point.
use super::harness::*;
use super::policy_common::*;
use std::collections::BTreeMap;

const PKGS: [&str; 3] = ["pkgA", "pkgB", "pkgC"];

fn packages(c: &Cluster, pkgs: &[&str]) -> BTreeMap<String, Vec<String>> {
    let v = c.view().unwrap_or_else(|| c.fail("no cluster view"));
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in 1..=c.size() {
        if v.nodes.get(&name(n)) == Some(&true) {
            m.insert(name(n), Vec::new());
        }
    }
    for p in pkgs {
        for n in v.locate(p) {
            m.entry(n).or_default().push(p.to_string());
        }
    }
    m
}

/// Wait until each of `pkgs` runs on exactly one node and the cluster is idle; the
/// placement.
fn settled(c: &Cluster, pkgs: &[&str]) -> BTreeMap<String, Vec<String>> {
    c.wait_for("every package running once", WAIT, |c| {
        let v = c.view()?;
        Some(pkgs.iter().all(|p| v.locate(p).len() == 1))
    });
    c.wait_idle();
    let m = packages(c, pkgs);
    log(format!("placement: {m:?}"));
    m
}

fn node_of(m: &BTreeMap<String, Vec<String>>, pkg: &str) -> String {
    m.iter()
        .find(|(_, v)| v.iter().any(|p| p == pkg))
        .map(|(n, _)| n.clone())
        .unwrap_or_default()
}

fn idle(m: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    m.iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(n, _)| n.clone())
        .collect()
}

/// `crm node standby NODE` / `crm node online NODE` (crmsh resolves node names through DNS,
/// which the test bed's names are not in: the test sets the same attribute directly).
fn standby(c: &Cluster, node: &str, on: bool) {
    log(format!(
        "admin: crm node {} {node}",
        if on { "standby" } else { "online" }
    ));
    c.run(&[
        "crm_standby",
        "-N",
        node,
        "-v",
        if on { "on" } else { "off" },
    ]);
}

/// The packages as crm shell lines: Dummy, monitored, with `extra` (e.g. a utilization).
fn pkg_lines(pkgs: &[&str], extra: &str) -> String {
    pkgs.iter()
        .map(|p| {
            format!("primitive {p} ocf:ocfrs:Dummy {extra} op monitor interval=5s timeout=10s\n")
        })
        .collect()
}

/// MIN_PACKAGE_NODE: balanced placement, one `packages` unit per package, room for all on
/// every node.
fn min_package_node(c: &Cluster) {
    c.property("placement-strategy", "balanced");
    for i in 1..=c.size() {
        c.run(&[
            "crm_attribute",
            "-N",
            &name(i),
            "-z",
            "-n",
            "packages",
            "-v",
            "8",
        ]);
    }
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces"
)]
fn serviceguard_policies_on_four_nodes() {
    let mut c = Cluster::up(4);
    c.property("no-quorum-policy", "ignore");

    // 1. Default placement, packages sticky: the package of a lost node does not go to the
    // spare node but next to another package (resources are placed one after the other, and
    // a package still to be placed does not count yet where it runs).
    c.crm_configure(&format!(
        "rsc_defaults resource-stickiness=100\n{}",
        pkg_lines(&PKGS, "")
    ));
    let m = settled(&c, &PKGS);
    assert_eq!(idle(&m).len(), 1, "three packages on three nodes: {m:?}");
    let b_node = node_of(&m, "pkgB");
    standby(&c, &b_node, true);
    c.wait_moved_from("pkgB", &b_node);
    let mut m = settled(&c, &PKGS);
    m.remove(&b_node); // in standby
    let crowded: Vec<&String> = m
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(n, _)| n)
        .collect();
    assert!(
        crowded.len() == 1 && idle(&m).len() == 1,
        "default placement: expected pkgB next to another package while a node stays idle, \
         got {m:?}\n{}",
        c.report()
    );
    log(format!(
        "default placement: pkgB went to {crowded:?}, {:?} stayed idle",
        idle(&m)
    ));
    standby(&c, &b_node, false);
    c.wait_idle();
    c.reset();

    // 2. MIN_PACKAGE_NODE: rotating standby, real crashes.
    min_package_node(&c);
    c.crm_configure(&format!(
        "rsc_defaults resource-stickiness=100\n{}",
        pkg_lines(&PKGS, "utilization packages=1")
    ));
    let m = settled(&c, &PKGS);
    let spare = idle(&m);
    assert_eq!(spare.len(), 1, "{m:?}");
    let spare = spare[0].clone();
    let b_node = node_of(&m, "pkgB");
    crash_and_notice(&mut c, index(&b_node));
    c.wait_running_on("pkgB", &spare);
    let m = settled(&c, &PKGS);
    assert!(m.values().all(|v| v.len() == 1), "{m:?}");
    log(format!(
        "rotating standby: {b_node} failed, pkgB went to the spare {spare}"
    ));
    // The failed node returns and is the new spare: nothing moves to it.
    let t = now();
    boot_and_settle(&mut c, index(&b_node));
    for p in PKGS {
        assert_eq!(
            begun(&c, index(&b_node), p, "start", t),
            0,
            "{}",
            c.report()
        );
    }
    assert_eq!(idle(&packages(&c, &PKGS)), vec![b_node.clone()]);
    // The next node to leave (standby this time: same placement, no reboot to wait for)
    // sends its package to the new spare.
    let a_node = node_of(&packages(&c, &PKGS), "pkgA");
    standby(&c, &a_node, true);
    c.wait_running_on("pkgA", &b_node);
    log(format!(
        "rotating standby: {a_node} left, pkgA went to the new spare {b_node}"
    ));
    standby(&c, &a_node, false);
    c.wait_idle();
    c.reset();

    // 3. CONFIGURED_NODE primary + MIN_PACKAGE_NODE + AUTOMATIC failback: each package
    // prefers its primary node, any other node scores the same, stickiness 0.
    min_package_node(&c);
    c.crm_configure(&format!(
        "{}location prim-pkgA pkgA 100: n1\nlocation prim-pkgB pkgB 100: n2\n\
         location prim-pkgC pkgC 100: n3\n",
        pkg_lines(&PKGS, "utilization packages=1 meta resource-stickiness=0")
    ));
    let m = settled(&c, &PKGS);
    assert_eq!(
        (
            node_of(&m, "pkgA"),
            node_of(&m, "pkgB"),
            node_of(&m, "pkgC")
        ),
        ("n1".into(), "n2".into(), "n3".into())
    );
    standby(&c, "n1", true);
    c.wait_running_on("pkgA", "n4"); // the node running the fewest packages
    standby(&c, "n1", false);
    c.wait_running_on("pkgA", "n1"); // automatic failback
                                     // Meanwhile the admin runs another package (it goes to the idle n4) and halts pkgB.
    c.crm_configure(&pkg_lines(
        &["pkgD"],
        "utilization packages=1 meta resource-stickiness=0",
    ));
    c.wait_running_on("pkgD", "n4");
    crm(&c, &["resource", "stop", "pkgB"]); // cmhaltpkg pkgB
    c.wait_stopped("pkgB");
    // The same failure of n1 now sends pkgA to n2, not to n4 as the first time.
    standby(&c, "n1", true);
    c.wait_running_on("pkgA", "n2");
    log("CONFIGURED_NODE+MIN_PACKAGE_NODE+AUTOMATIC: pkgA went to n4 the first time, to n2 the second");
    standby(&c, "n1", false);
    c.wait_running_on("pkgA", "n1");
    c.reset();

    // 4. AUTO_RUN=NO: configured stopped, nothing starts it.
    c.property("placement-strategy", "default");
    let t = now();
    c.crm_configure(
        "primitive pkgE ocf:ocfrs:Dummy meta target-role=Stopped resource-stickiness=100 op monitor interval=5s timeout=10s\n\
         primitive pkgF ocf:ocfrs:Dummy meta resource-stickiness=0 op monitor interval=5s timeout=10s\n\
         location order-pkgF-n1 pkgF 300: n1\nlocation order-pkgF-n2 pkgF 200: n2\n\
         location order-pkgF-n4 pkgF 100: n4\n",
    );
    c.wait_running_on("pkgF", "n1");
    stays(&c, "pkgE", &[], 3);
    for i in 1..=4 {
        assert_eq!(begun(&c, i, "pkgE", "start", t), 0, "{}", c.report());
    }
    // cmrunpkg -n n3 pkgE.
    crm(&c, &["resource", "move", "pkgE", "n3"]);
    crm(&c, &["resource", "start", "pkgE"]);
    c.wait_running_on("pkgE", "n3");
    crm(&c, &["resource", "clear", "pkgE"]);
    // cmmodpkg -d pkgE: no switching. Its node goes away: pkgE stays down.
    c.crm_configure("location noswitch-pkgE pkgE rule -inf: #uname ne n3\n");
    let t = now();
    standby(&c, "n3", true);
    c.wait_stopped("pkgE");
    stays(&c, "pkgE", &[], 4);
    for i in [1, 2, 4] {
        assert_eq!(begun(&c, i, "pkgE", "start", t), 0, "{}", c.report());
    }
    // cmmodpkg -e pkgE: switching enabled again, it starts on another node.
    crm(&c, &["configure", "delete", "noswitch-pkgE"]);
    c.wait_moved_from("pkgE", "n3");
    standby(&c, "n3", false);
    c.wait_idle();
    // cmmodpkg -d -n n2 pkgF: pkgF may not run on n2 for now; n1 goes away: n4, not n2.
    crm(&c, &["resource", "ban", "pkgF", "n2"]);
    standby(&c, "n1", true);
    c.wait_running_on("pkgF", "n4");
    // cmmodpkg -e -n n2 pkgF: n2 allowed again, and better than n4.
    crm(&c, &["resource", "clear", "pkgF"]);
    c.wait_running_on("pkgF", "n2");
    standby(&c, "n1", false);
    c.wait_running_on("pkgF", "n1");
    log("AUTO_RUN=NO, cmrunpkg, cmmodpkg -d/-e (package and node switching) done with crm");
}
