//! Unit tests of the agent's configuration and exit codes that need no NFS server. The real
//! exports are tested in a guest with a kernel NFS server (tests/nfs/exportfs.rs).

use super::*;
use ocf::testing::Run;
use ocf::{Flavour, Rc};

#[test]
fn rgmanager_inherits_the_directory_from_the_parent_filesystem() {
    let rg = ocf::metadata::render(&meta::AGENT, Flavour::Rgmanager);
    assert!(
        rg.contains("<parameter name=\"directory\" inherit=\"Filesystem%directory\">"),
        "{rg}"
    );
    let ocf11 = ocf::metadata::render(&meta::AGENT, Flavour::Ocf11);
    assert!(
        ocf11.contains("<parameter name=\"directory\" required=\"1\">"),
        "{ocf11}"
    );
    assert!(
        !ocf11.contains("\" inherit=\"Filesystem%directory\">"),
        "{ocf11}"
    );
}

fn run() -> Run {
    let d = std::env::temp_dir().join(format!("ocfrs-exp-unit-{}", std::process::id()));
    Run::agent::<Exportfs>()
        .env("OCFRS_RUN_DIR", &d)
        .param("clientspec", "127.0.0.0/8")
        .param("directory", "/nonexistent/ocfrs-exp")
}

#[test]
fn configuration_errors_are_6_everywhere_but_stop() {
    for (name, value, reason) in [
        (
            "clientspec",
            "10.0.0.0/8 192.168.0.0/16",
            "one client per resource",
        ),
        ("clientspec", "10.0.0.0/8(rw)", "options parameter"),
        ("fsid", "1,2", "comma"),
        ("fsid", "abc", "not an integer, a UUID or root"),
        (
            "rmtab_backup",
            "/var/tmp/rmtab",
            "relative to the directory",
        ),
        ("rmtab_backup", "../x", "relative to the directory"),
        ("directory", "relative/dir", "not an absolute path"),
        ("directory", "\"/srv/a", "unclosed"),
    ] {
        run()
            .param(name, value)
            .action("validate-all")
            .run()
            .assert_rc(Rc::ErrConfigured)
            .assert_reason_contains(reason);
        run()
            .param(name, value)
            .action("stop")
            .run()
            .assert_rc(Rc::Success);
    }
    let two = run().param("directory", "/srv/a /srv/b");
    two.clone()
        .param("fsid", "root")
        .action("validate-all")
        .run()
        .assert_rc(Rc::ErrConfigured)
        .assert_reason_contains("integer fsid");
    two.clone()
        .param("options", "rw,fsid=5")
        .action("validate-all")
        .run()
        .assert_rc(Rc::ErrConfigured)
        .assert_reason_contains("share the fsid=");
    two.param("fsid", "4294967295")
        .action("validate-all")
        .run()
        .assert_rc(Rc::ErrConfigured)
        .assert_reason_contains("out of range");
    Run::agent::<Exportfs>()
        .param("directory", "/srv")
        .action("validate-all")
        .run()
        .assert_rc(Rc::ErrConfigured)
        .assert_reason_contains("clientspec");
}

/// Whether exportfs is installed here or not (CI installs nfs-kernel-server for the guest),
/// a probe of a resource never started here is 7 and its stop 0.
#[test]
fn probe_and_stop_of_what_was_never_started() {
    run()
        .action("monitor")
        .probe()
        .run()
        .assert_rc(Rc::NotRunning);
    run().action("stop").run().assert_rc(Rc::Success);
    run()
        .param("clientspec", "[2001:db8::1]")
        .param("directory", "\"/srv/with space\" /srv/b")
        .param("fsid", "7")
        .action("stop")
        .run()
        .assert_rc(Rc::Success);
}

#[test]
fn exportfs_options_get_the_fsid() {
    let cfg = |options: &str, fsid: Option<&str>, dirs: usize| Config {
        client: ClientSpec::parse("*").unwrap(),
        options: options.into(),
        dirs: (0..dirs).map(|i| PathBuf::from(format!("/d{i}"))).collect(),
        fsid: fsid.map(String::from),
        unlock_on_stop: true,
        wait_for_leasetime_on_stop: false,
        rmtab_backup: None,
        state_file: PathBuf::from("/x"),
    };
    assert_eq!(cfg("", None, 1).options_for(0), None);
    assert_eq!(
        cfg(" rw, sync ", None, 1).options_for(0).as_deref(),
        Some("rw,sync")
    );
    assert_eq!(
        cfg("rw,fsid=9,sync", Some("3"), 3)
            .options_for(2)
            .as_deref(),
        Some("rw,sync,fsid=5")
    );
    assert_eq!(
        cfg("", Some("root"), 1).options_for(0).as_deref(),
        Some("fsid=root")
    );
    let uuid = "0f0e0d0c-0b0a-0908-0706-050403020100";
    assert!(valid_fsid(uuid));
    assert!(valid_fsid("root"));
    assert!(valid_fsid("0"));
    assert!(!valid_fsid("-1"));
    assert!(!valid_fsid("0f0e"));
    assert_eq!(
        export_arg("[2001:db8::1]", Path::new("/srv/my share")),
        OsString::from("[2001:db8::1]:/srv/my share")
    );
}

#[test]
fn the_client_start_records_is_the_one_etab_shows() {
    let e = |p: &str, c: &str| Entry {
        path: PathBuf::from(p),
        client: c.into(),
        options: String::new(),
    };
    let spec = |s: &str| ClientSpec::parse(s).unwrap();
    let dir = Path::new("/srv/a");
    let before = vec![e("/srv/a", "10.0.0.1"), e("/srv/b", "client")];
    let mut after = before.clone();
    after.push(e("/srv/a", "10.0.0.10"));
    assert_eq!(
        find_client(&spec("10.0.0.10"), dir, &before, &after).as_deref(),
        Some("10.0.0.10")
    );
    assert_eq!(find_client(&spec("10.0.0.2"), dir, &before, &after), None);
    // A host name stored under its canonical name: the entry exportfs added.
    after.push(e("/srv/a", "client.example.com"));
    assert_eq!(
        find_client(&spec("client"), dir, &before, &after).as_deref(),
        Some("client.example.com")
    );
    // Already exported (nothing new): the fully qualified form of the name.
    assert_eq!(
        find_client(&spec("client"), dir, &after, &after).as_deref(),
        Some("client.example.com")
    );
    assert_eq!(find_client(&spec("other"), dir, &after, &after), None);
}
