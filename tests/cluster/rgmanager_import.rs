//! rgmanager users' way over: a cluster.conf imported with `ocfrs-import-rgmanager`, loaded
//! as it is printed (crm shell) and shown to behave as rgmanager would; then rgmanager's
//! administration commands (`clusvcadm`, `clustat`) done with their crm equivalents.
//!
//! Fencing: with the harness's fence device (shared storage).
//! Agents: `ocf:ocfrs:Filesystem`, `ocf:ocfrs:IPaddr2`; the service's application is an
//! rgmanager `script` outside /etc/init.d, which the importer cannot map by itself: the
//! test maps it to `ocf:ocfrs:Dummy` with `--map` (a stand-in: no real application runs
//! in the test bed).
use super::floating_ip::IP_PROVIDER_VAR;
use super::group::FS_PROVIDER_VAR;
use super::harness::*;
use super::policy_common::*;

const FS: &str = "web-fs-data";
const IP: &str = "web-ip-192.0.2.120-24";
const APP: &str = "web-script-app";
const TOOL: &str = "pinned-script-tool";

fn importer() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_ocfrs-import-rgmanager"))
}

/// The importer's crm output for tests/rgmanager/cluster-web.conf with this test's shared
/// disk and mount point.
fn imported(dev: &str, mnt: &str, prov: &str) -> String {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/rgmanager/cluster-web.conf");
    let text = std::fs::read_to_string(&src)
        .expect("cluster-web.conf")
        .replace("@DEVICE@", dev)
        .replace("@MNT@", mnt);
    let conf = format!("{STATE}/ocfpol-cluster.conf");
    std::fs::write(&conf, text).expect("write cluster.conf");
    let bin = importer().to_string_lossy().into_owned();
    let (rc, out, err) = host(
        &[
            &bin,
            "--provider",
            prov,
            "--map",
            "app=ocf:ocfrs:Dummy",
            "--map",
            "tool=ocf:ocfrs:Dummy",
            &conf,
        ],
        std::time::Duration::from_secs(10),
    );
    assert_eq!(rc, 0, "importer: {err}");
    log(format!(
        "importer: {}",
        err.lines().next().unwrap_or_default()
    ));
    // rgmanager's order (fs, ip, script), not the file's (script, ip, fs).
    assert!(out.contains(&format!("group web {FS} {IP} {APP}")), "{out}");
    out
}

/// An ordered, restricted failover domain (n2 first) with failback, a second service whose
/// domain has nofailback, recovery=relocate; then clusvcadm's commands.
#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces"
)]
fn imported_services_behave_as_under_rgmanager() {
    let prov = provider(IP_PROVIDER_VAR, "IPaddr2");
    let fs_prov = provider(FS_PROVIDER_VAR, "Filesystem");
    assert_eq!(
        prov, fs_prov,
        "the importer uses one provider for both agents"
    );
    let mut c = Cluster::up(2);
    c.enable_fencing();
    let dev = c.shared_disk(32);
    let mnt = format!("{STATE}/ocfpol-mnt");
    std::fs::create_dir_all(&mnt).expect("mount point");
    let t0 = now();
    c.crm_configure(&imported(&dev, &mnt, &prov));

    // The domain's first node is n2: both services start there, web in rgmanager's order.
    c.wait_running_on(APP, "n2");
    c.wait_running_on(TOOL, "n2");
    c.wait_idle();
    assert_sequence(&c, 2, "start", &[FS, IP, APP], t0);
    assert_eq!(begun(&c, 1, APP, "start", t0), 0, "{}", c.report());

    // n2 fails: fenced, both services on n1, web again in order.
    let t1 = now();
    crash_and_notice(&mut c, 2);
    c.wait_running_on(APP, "n1");
    c.wait_running_on(TOOL, "n1");
    assert_eq!(c.fenced(), vec!["n2".to_string()], "{}", c.report());
    assert_sequence(&c, 1, "start", &[FS, IP, APP], t1);

    // n2 returns: web fails back (ordered domain with failback), stopping in reverse order on
    // n1; pinned stays (nofailback).
    let t2 = now();
    boot_and_settle(&mut c, 2);
    c.wait_running_on(APP, "n2");
    c.wait_idle();
    assert_sequence(&c, 1, "stop", &[APP, IP, FS], t2);
    assert_sequence(&c, 2, "start", &[FS, IP, APP], t2);
    stays(&c, TOOL, &["n1"], 4);
    assert_eq!(begun(&c, 2, TOOL, "start", t2), 0, "{}", c.report());
    log("import: domain order, failback / nofailback as under rgmanager");

    // recovery=relocate: the first failure moves the service (migration-threshold=1).
    c.fault(2, APP, "monitor", Fault::Rc(7), Some(1));
    c.wait_running_on(APP, "n1");
    c.wait_idle();
    assert_eq!(c.failcount(APP, "n2"), 1, "{}", c.report());
    assert_eq!(
        c.count_calls(2, APP, "start", 0),
        1,
        "relocated without a restart in place: {}",
        c.report()
    );
    c.run(&["crm_resource", "--cleanup", "-r", "web"]);
    c.wait_running_on(APP, "n2"); // failback once the failure is forgotten
    c.wait_idle();
    log("import: recovery=relocate moved the service at the first failure");

    // clusvcadm -d web / -e web.
    crm(&c, &["resource", "stop", "web"]);
    c.wait_stopped(FS);
    stays(&c, APP, &[], 3);
    crm(&c, &["resource", "start", "web"]);
    c.wait_running_on(APP, "n2");
    // clusvcadm -r web -m n1 (relocate), then give the domain back its say.
    crm(&c, &["resource", "move", "web", "n1"]);
    c.wait_running_on(APP, "n1");
    crm(&c, &["resource", "clear", "web"]);
    c.wait_running_on(APP, "n2");
    c.wait_idle();
    // clusvcadm -R web (restart in place).
    let t3 = now();
    crm(&c, &["resource", "restart", "web"]);
    c.wait_running_on(APP, "n2");
    c.wait_idle();
    assert_sequence(&c, 2, "stop", &[APP, IP, FS], t3);
    assert_sequence(&c, 2, "start", &[FS, IP, APP], t3);
    // clusvcadm -Z web (freeze): a failing check leads to no stop and no start.
    crm(&c, &["resource", "unmanage", "web"]);
    let t4 = now();
    c.fault(2, APP, "monitor", Fault::Rc(7), Some(1));
    c.wait_for("the frozen service's monitor failed", WAIT, |c| {
        Some(
            c.calls(2)
                .iter()
                .any(|x| x.rsc == APP && x.action == "monitor" && x.what == "fault 7" && x.t >= t4),
        )
    });
    std::thread::sleep(std::time::Duration::from_secs(4));
    for r in [FS, IP, APP] {
        assert_eq!(
            begun(&c, 2, r, "stop", t4),
            0,
            "{r} stopped while frozen\n{}",
            c.report()
        );
        assert_eq!(begun(&c, 2, r, "start", t4), 0, "{}", c.report());
    }
    // clusvcadm -U web (unfreeze), and the failure cleaned up.
    crm(&c, &["resource", "manage", "web"]);
    c.run(&["crm_resource", "--cleanup", "-r", "web"]);
    c.wait_running_on(APP, "n2");
    // clustat.
    let status = c.run(&["crm_mon", "-1"]);
    assert!(
        status.contains("Resource Group: web") && status.contains("Resource Group: pinned"),
        "{status}"
    );
    log("clusvcadm -d/-e/-r/-R/-Z/-U and clustat done with crm");
}
