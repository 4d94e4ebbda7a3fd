//! Scenario "VServer with its filesystem" (the Linux-VServer wiki's active guest failover):
//! a Filesystem resource mounts the shared `/vservers` tree (an ext4 loop device every node
//! sees, mounted at `<STATE>/vservers`), which holds both the guest's configuration
//! (`etc/<guest>`, the agent's `config_root`) and its root; a VServer resource runs the guest,
//! **colocated with** the filesystem and **ordered after** it, as the wiki asks. Checked: the
//! guest starts only after the mount, moves with it, and stops before the unmount, and is
//! never running on the node that does not have the filesystem.
//!
//! util-vserver is in no current distribution: the guest is run by the tests' **stand-in**
//! `vserver` command (`tests/fixtures/vserver-standin`, a test double: the guest is a process
//! tree in its own PID/mount/UTS namespaces, chrooted into its root on the shared
//! filesystem), copied to `<STATE>/vserver` where every node sees it. The agent is
//! `ocf:ocfrs:VServer`; the Filesystem provider is switchable like the group scenario's.
//!
//! Relies on `stonith-enabled=false`: the scenario moves the pair with `crm_resource --move`
//! only (no crash; the group scenario covers fencing before a shared filesystem moves).
use super::group::FS_PROVIDER_VAR;
use super::harness::*;
use super::policy_common::{now, span};
use crate::agents::vserver::{write_exec, write_guest, INIT_POLITE, STANDIN};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const GUEST: &str = "ocfvs-guest1";

/// Format-time population of the shared disk: mounted in a private mount namespace of a
/// thread of ours (never visible to the nodes), guest written, unmounted.
fn populate(dev: &str) {
    let dev = dev.to_string();
    std::thread::spawn(move || {
        use nix::mount::{mount, umount, MsFlags};
        crate::common::private_mount_namespace();
        let at = format!("{STATE}/populate");
        std::fs::create_dir_all(&at).unwrap();
        mount(
            Some(dev.as_str()),
            at.as_str(),
            Some("ext4"),
            MsFlags::empty(),
            None::<&str>,
        )
        .expect("mount the shared disk");
        let base = Path::new(&at);
        write_guest(
            &base.join("etc").join(GUEST),
            &base.join(GUEST),
            &Path::new("../..").join(GUEST),
            GUEST,
            INIT_POLITE,
        );
        umount(at.as_str()).expect("umount the shared disk");
    })
    .join()
    .expect("populate the shared disk");
}

/// Host pids of the guest's processes run by node `i`: processes whose root directory is
/// the guest's root (`root` = device and inode), whose ancestors include a process of node
/// `i`'s PID namespace (the node's `vserver` started them).
fn guest_on(c: &Cluster, i: usize, root: (u64, u64)) -> Vec<i32> {
    let node: Vec<i32> = c.node_pids(i);
    ocf::process::processes()
        .into_iter()
        .filter(|p| {
            std::fs::metadata(format!("/proc/{}/root", p.pid))
                .map(|m| (m.dev(), m.ino()))
                .ok()
                == Some(root)
        })
        .filter(|p| {
            let mut cur = p.ppid;
            while cur > 1 {
                if node.contains(&cur) {
                    return true;
                }
                cur = ocf::process::Proc::read(cur).map_or(0, |q| q.ppid);
            }
            false
        })
        .map(|p| p.pid)
        .collect()
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces"
)]
fn vserver_guest_follows_its_filesystem() {
    let fs_prov = provider(FS_PROVIDER_VAR, "Filesystem");
    let vs_prov = provider("OCFRS_SCENARIO_VSERVER_PROVIDER", "VServer");
    let mut c = Cluster::up(2);
    let dev = c.shared_disk(64);
    populate(&dev);
    let mnt = format!("{STATE}/vservers");
    std::fs::create_dir_all(&mnt).expect("mount point");
    let standin = format!("{STATE}/vserver");
    write_exec(Path::new(&standin), STANDIN);

    // cibadmin --create takes one element at a time.
    let resources = [
        primitive(
            "fs",
            &format!("ocf:{fs_prov}:Filesystem"),
            &[("device", &dev), ("directory", &mnt), ("fstype", "ext4")],
            &[("resource-stickiness", "100")],
            &[("monitor", "5s", "20s", "")],
        ),
        primitive(
            "vs",
            &format!("ocf:{vs_prov}:VServer"),
            &[
                ("vserver", GUEST),
                ("config_root", &format!("{mnt}/etc")),
                ("vserver_bin", &standin),
            ],
            // Held until the constraints exist.
            &[("target-role", "Stopped"), ("resource-stickiness", "100")],
            &[("monitor", "5s", "20s", "")],
        ),
    ];
    let constraints = [
        prefer("fs", "n1", "50"),
        "<rsc_colocation id=\"vs-with-fs\" rsc=\"vs\" with-rsc=\"fs\" score=\"INFINITY\"/>".into(),
        "<rsc_order id=\"fs-before-vs\" first=\"fs\" then=\"vs\" kind=\"Mandatory\"/>".into(),
    ];
    let t0 = now();
    for r in &resources {
        c.cib_create("resources", r);
    }
    for x in &constraints {
        c.cib_create("constraints", x);
    }
    c.meta("vs", "target-role", "Started");

    // 1. The guest starts on n1 after the mount.
    c.wait_running_on("vs", "n1");
    c.wait_idle();
    let fs1 = span(&c, 1, "fs", "start", t0);
    let vs1 = span(&c, 1, "vs", "start", t0);
    assert!(
        vs1.0 >= fs1.1,
        "guest start began before the mount ended\n{}",
        c.report()
    );
    assert!(mounts_of(1).contains(&mnt) && !mounts_of(2).contains(&mnt));
    let root = std::fs::metadata(c.node_path(1, &format!("{mnt}/{GUEST}")))
        .map(|m| (m.dev(), m.ino()))
        .expect("the guest's root on n1");
    assert!(!guest_on(&c, 1, root).is_empty(), "{}", c.report());
    // The node without the filesystem probed the guest as stopped (its configuration is
    // on the unmounted filesystem: 5 → probe 7).
    assert!(c.count_calls(2, "vs", "probe", 7) >= 1, "{}", c.report());

    // 2. The admin moves the filesystem: the guest stops before the unmount on n1 and
    // starts after the mount on n2.
    let t1 = now();
    c.run(&["crm_resource", "--move", "-r", "fs", "-N", "n2"]);
    c.wait_running_on("vs", "n2");
    c.run(&["crm_resource", "--clear", "-r", "fs"]);
    c.wait_idle();
    let vs_stop = span(&c, 1, "vs", "stop", t1);
    let fs_stop = span(&c, 1, "fs", "stop", t1);
    assert!(
        fs_stop.0 >= vs_stop.1,
        "unmount began before the guest stopped\n{}",
        c.report()
    );
    let fs2 = span(&c, 2, "fs", "start", t1);
    let vs2 = span(&c, 2, "vs", "start", t1);
    assert!(
        vs2.0 >= fs2.1,
        "guest start began before the mount ended on n2\n{}",
        c.report()
    );
    assert!(mounts_of(2).contains(&mnt) && !mounts_of(1).contains(&mnt));
    assert!(guest_on(&c, 1, root).is_empty(), "{}", c.report());
    assert!(!guest_on(&c, 2, root).is_empty(), "{}", c.report());
    assert_eq!(c.locate("vs"), vec!["n2".to_string()]);

    // 3. Stopping the guest leaves the filesystem; stopping the filesystem stops the guest
    // first.
    let t2 = now();
    c.meta("fs", "target-role", "Stopped");
    c.wait_stopped("vs");
    c.wait_stopped("fs");
    let vs_stop = span(&c, 2, "vs", "stop", t2);
    let fs_stop = span(&c, 2, "fs", "stop", t2);
    assert!(fs_stop.0 >= vs_stop.1, "{}", c.report());
    assert!(guest_on(&c, 2, root).is_empty(), "{}", c.report());
    assert!(!mounts_of(2).contains(&mnt));
}
