//! The command as a whole on the course's exercises (tests/rgmanager/*.conf) and on broken
//! and hostile files.

use super::*;
use std::path::PathBuf;

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/rgmanager")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn import(args: &[&str]) -> (u8, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    run(&args, &mut std::io::empty())
}

fn ok(args: &[&str]) -> String {
    let (code, out, err) = import(args);
    assert_eq!(code, OK, "{args:?}: {err}");
    assert!(!out.is_empty());
    out
}

/// Lines of the configuration proper (no comments), continuation lines joined.
fn config_lines(out: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cont = false;
    for l in out.lines().filter(|l| !l.starts_with('#')) {
        if cont {
            if let Some(last) = lines.last_mut() {
                last.push_str(l.trim_end_matches('\\').trim_start_matches('\t'));
            }
        } else {
            lines.push(l.trim_end_matches('\\').to_string());
        }
        cont = l.ends_with('\\');
    }
    lines
}

/// Each of `lines` is a line of the configuration `out`.
fn has(out: &str, lines: &[&str]) {
    let config = config_lines(out);
    for line in lines {
        assert!(
            config.iter().any(|l| l.trim_end() == *line),
            "missing line {line:?} in\n{out}"
        );
    }
}

#[test]
fn ip_in_an_ordered_restricted_domain() {
    let out = ok(&[
        &data("ip-domain.conf"),
        "--rename-node",
        "node1.example.com=n1",
        "--rename-node=node2.example.com=n2",
    ]);
    has(
        &out,
        &[
            "primitive webip-ip-172.17.1.100-24 ocf:ocfrs:IPaddr2 params ip=172.17.1.100 cidr_netmask=24 op monitor interval=10s timeout=20s",
            "group webip webip-ip-172.17.1.100-24 meta resource-stickiness=1 migration-threshold=1",
            "location loc-webip-n1 webip 1000: n1",
            "location loc-webip-n2 webip 990: n2",
            "location dom-webip webip rule -inf: #uname ne n1 and #uname ne n2",
        ],
    );
    // Sections outside <rm> are reported, not silently ignored.
    assert!(out.contains("# NOT MAPPED: line 3: <cman>"), "{out}");
    assert!(out.contains("<fencedevices>"), "{out}");
}

#[test]
fn nfs_group_in_rgmanager_order_with_inherited_path() {
    let out = ok(&[&data("nfs.conf")]);
    // ip comes first in the file; rgmanager starts fs, nfsexport, nfsclient, then ip.
    has(
        &out,
        &[
            "group nfssvc nfssvc-fs-nfsdata nfssvc-nfsexport-nfsexp nfssvc-nfsclient-lan nfssvc-ip-172.17.1.101-24 meta resource-stickiness=1 migration-threshold=3 failure-timeout=600s",
            "primitive nfssvc-nfsclient-lan ocf:ocfrs:exportfs params clientspec=172.17.1.0/24 directory=/exports/data options=rw,sync fsid=4711 op monitor interval=10s timeout=20s",
            "primitive nfssvc-fs-nfsdata ocf:ocfrs:Filesystem params device=/dev/vg_shared/lv_nfs directory=/exports/data fstype=ext4 force_unmount=true op monitor interval=20s timeout=40s",
        ],
    );
    assert!(
        out.contains("nfssvc-nfsexport-nfsexp ocf:ocfrs:nfsserver"),
        "{out}"
    );
    has(
        &out,
        &[
            "location loc-nfssvc-node2 nfssvc 1000: node2",
            "location loc-nfssvc-node1 nfssvc 990: node1",
        ],
    );
    // Unrestricted: no -inf rule.
    assert!(!out.contains("dom-nfssvc"), "{out}");
    // rgmanager stops ip before nfsclient..., which is the reverse: no stop-order note.
    assert!(!out.contains("stops in the order"), "{out}");
}

#[test]
fn apache_and_ip_unordered_nofailback() {
    let out = ok(&[&data("apache.conf")]);
    has(
        &out,
        &[
            "primitive www-apache-web ocf:ocfrs:apache params configfile=/etc/httpd/conf/httpd.conf op monitor interval=10s timeout=20s",
            "group www www-ip-172.17.1.102-24 www-apache-web meta resource-stickiness=2000",
            "location loc-www-node1 www 1000: node1",
            "location loc-www-node2 www 1000: node2",
            "location dom-www www rule -inf: #uname ne node1 and #uname ne node2",
        ],
    );
    assert!(out.contains("shutdown_wait=\"10\""), "{out}");
}

#[test]
fn lamp_relocate_exclusive() {
    let out = ok(&[&data("lamp.conf")]);
    has(
        &out,
        &[
            "group lamp lamp-fs-lampdata lamp-ip-172.17.1.103-24 lamp-apache-www lamp-mysql-db meta resource-stickiness=2000 migration-threshold=1",
            "primitive lamp-mysql-db ocf:ocfrs:mysql params config=/srv/lamp/my.cnf additional_parameters=\"--bind-address=172.17.1.103\" op monitor interval=20s timeout=30s",
        ],
    );
    assert!(!out.contains("excl-lamp-batch"), "{out}");
    has(
        &out,
        &[
            "colocation excl-batch-lamp -inf: batch lamp",
            "primitive batch-script-cron-jobs lsb:batchjobs op monitor interval=30s timeout=30s",
            "location loc-lamp-node3 lamp 980: node3",
        ],
    );
}

#[test]
fn ssh_on_a_service_ip() {
    let out = ok(&[&data("ssh.conf")]);
    has(
        &out,
        &["group ssh ssh-ip-172.17.1.104-24 ssh-script-sshd meta resource-stickiness=1"],
    );
    assert!(
        out.contains("primitive ssh-script-sshd ocf:ocfrs:sshd"),
        "{out}"
    );
}

#[test]
fn policies_are_mapped_or_reported() {
    let (code, out, err) = import(&[&data("policies.conf")]);
    assert_eq!(code, OK, "{err}");
    has(
        &out,
        &[
            "group restarts restarts-ip-10.9.0.1 restarts-script-app meta resource-stickiness=1 migration-threshold=4 failure-timeout=300s",
            "primitive restarts-script-app lsb:app meta migration-threshold=3 failure-timeout=60s op monitor interval=30s timeout=30s",
            "group disabled disabled-script-report meta resource-stickiness=2000 target-role=Stopped",
            "primitive disabled-script-report lsb:report op monitor interval=30s timeout=30s on-fail=stop op start interval=0s timeout=60s on-fail=stop",
            "order dep-restarts-after Optional: restarts after",
        ],
    );
    // The non-critical subtree (last in start order): stopped on failure, the rest runs on.
    has(
        &out,
        &[
            "primitive after-script-helper lsb:helper op monitor interval=30s timeout=30s on-fail=stop",
            "primitive guest1 ocf:ocfrs:VirtualDomain params config=/shared/guest1.xml meta allow-migrate=true resource-stickiness=1 migration-threshold=1 op monitor interval=30s timeout=30s",
        ],
    );
    for w in [
        "log_level",
        "central_processing",
        "<events>",
        "nfslock=\"1\"",
        "<postgres-8> has no ocfrs agent (look at ocf:heartbeat:pgsql)",
        "<smb>",
        "/opt/legacy/run.sh",
        "restart-disable with max_restarts",
        "\"10.9.0.99\" is declared in <resources> but used by no service",
    ] {
        assert!(out.contains(w), "{w} not reported:\n{out}");
        assert!(err.contains(w), "{w} not on stderr:\n{err}");
    }
    // rgmanager stops ip before smb; Pacemaker cannot (reported).
    assert!(out.contains("stops in the order"), "{out}");
    let (code, out2, _) = import(&["--strict", &data("policies.conf")]);
    assert_eq!(code, INCOMPLETE);
    assert_eq!(out2, out, "--strict still prints the configuration");
}

#[test]
fn pcs_script_is_quoted_and_atomic() {
    let out = ok(&["--format", "pcs", &data("nfs.conf")]);
    assert!(out.starts_with("#!/bin/sh\n"));
    assert!(out.contains("pcs cluster cib \"$CIB\"\n"));
    assert!(out.contains(
        "pcs -f \"$CIB\" resource create nfssvc-fs-nfsdata ocf:ocfrs:Filesystem device=/dev/vg_shared/lv_nfs directory=/exports/data fstype=ext4 force_unmount=true op monitor interval=20s timeout=40s --group nfssvc\n"
    ), "{out}");
    assert!(out.contains("pcs -f \"$CIB\" resource meta nfssvc resource-stickiness=1 migration-threshold=3 failure-timeout=600s\n"), "{out}");
    assert!(
        out.contains("pcs -f \"$CIB\" constraint location nfssvc prefers node2=1000\n"),
        "{out}"
    );
    assert!(out
        .trim_end()
        .ends_with("pcs cluster cib-push \"$CIB\" --config\nrm -f \"$CIB\""));
    let out = ok(&["--format", "pcs", &data("ip-domain.conf")]);
    assert!(out.contains(
        "constraint location webip rule constraint-id=dom-webip score=-INFINITY '#uname' ne node1.example.com and '#uname' ne node2.example.com"
    ), "{out}");
    // The script parses as shell.
    let f = std::env::temp_dir().join(format!("ocfpol-import-{}.sh", std::process::id()));
    std::fs::write(&f, &out).unwrap();
    let st = std::process::Command::new("sh")
        .arg("-n")
        .arg(&f)
        .status()
        .unwrap();
    let _ = std::fs::remove_file(&f);
    assert!(st.success());
}

#[test]
fn hostile_and_broken_files_give_an_error_and_no_output() {
    for (file, what) in [
        ("hostile-xxe.conf", "<!DOCTYPE> is not accepted"),
        ("hostile-laughs.conf", "<!DOCTYPE> is not accepted"),
        ("hostile-inject.conf", "control character"),
        ("bad-unclosed.conf", "not well-formed"),
        (
            "bad-ref.conf",
            "no <ip> with address=\"10.0.0.1\" in <resources>",
        ),
    ] {
        for format in ["crm", "pcs"] {
            let (code, out, err) = import(&["--format", format, &data(file)]);
            assert_eq!(code, BAD_INPUT, "{file}: {err}");
            assert!(out.is_empty(), "{file}: output on error: {out}");
            assert!(err.contains(what), "{file}: {err}");
            assert!(err.contains("nothing converted"), "{file}: {err}");
            assert_eq!(err.lines().count(), 1, "{file}: one clear line: {err}");
        }
    }
    // Huge input from stdin: read bounded, refused.
    let mut big = std::io::repeat(b' ').take(64 << 20);
    let (code, out, err) = run(&["-".to_string()], &mut big);
    assert_eq!(code, BAD_INPUT);
    assert!(out.is_empty());
    assert!(err.contains("larger than 4 MiB"), "{err}");
    // A missing file, a directory.
    let (code, out, err) = import(&["/nonexistent/cluster.conf"]);
    assert_eq!((code, out.is_empty()), (BAD_INPUT, true), "{err}");
    let (code, _, err) = import(&["/"]);
    assert_eq!(code, BAD_INPUT, "{err}");
    // A node name that would not be a word in crm/pcs.
    let evil = "<rm><failoverdomains><failoverdomain name=\"d\"><failoverdomainnode name=\"n1;reboot\"/></failoverdomain></failoverdomains><service name=\"s\" domain=\"d\"><ip address=\"10.0.0.1\"/></service></rm>";
    let (code, out, err) = run(&["-".to_string()], &mut evil.as_bytes());
    assert_eq!((code, out.is_empty()), (BAD_INPUT, true), "{err}");
    assert!(err.contains("not a node name"), "{err}");
}

#[test]
fn hostile_values_are_quoted() {
    let conf = "<rm><service name=\"s\"><fs name=\"d\" device=\"/dev/x\" mountpoint=\"/d $(reboot) 'x' &quot;y&quot;\"/></service></rm>";
    let (code, out, err) = run(&["-".into()], &mut conf.as_bytes());
    assert_eq!(code, OK, "{err}");
    has(
        &out,
        &["primitive s-fs-d ocf:ocfrs:Filesystem params device=/dev/x directory=\"/d $(reboot) 'x' \\\"y\\\"\" force_unmount=false op monitor interval=20s timeout=40s"],
    );
    let (_, out, _) = run(
        &["--format".into(), "pcs".into(), "-".into()],
        &mut conf.as_bytes(),
    );
    assert!(
        out.contains(" 'directory=/d $(reboot) '\\''x'\\'' \"y\"' "),
        "{out}"
    );
}

#[test]
fn usage_errors() {
    for args in [
        &["--format", "xml", "x"][..],
        &["--bogus"],
        &[],
        &["a", "b"],
        &["--map", "x=rm -rf", "f"],
        &["--provider", "a b", "f"],
    ] {
        let (code, out, err) = import(args);
        assert_eq!(code, USAGE, "{args:?}");
        assert!(out.is_empty());
        assert!(err.contains("usage:"), "{err}");
    }
    assert!(ok(&["--man"]).starts_with(".TH OCFRS-IMPORT-RGMANAGER 8"));
    assert!(ok(&["--help"]).contains("failover domain"));
}

/// The crm output of every exercise loads into a CIB (crmsh, offline on a CIB file).
#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs crmsh and pacemaker's cibadmin"
)]
fn crm_output_loads_with_crmsh() {
    let dir = std::env::temp_dir().join(format!("ocfpol-crm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in [
        "ip-domain.conf",
        "nfs.conf",
        "apache.conf",
        "lamp.conf",
        "ssh.conf",
        "policies.conf",
    ] {
        let out = ok(&["--provider", "heartbeat", &data(f)]);
        let cib = dir.join("cib.xml");
        let empty = std::process::Command::new("cibadmin")
            .arg("--empty")
            .output()
            .unwrap();
        std::fs::write(&cib, &empty.stdout).unwrap();
        let crm = dir.join("in.crm");
        std::fs::write(&crm, &out).unwrap();
        let o = std::process::Command::new("crm")
            .args(["-F", "configure", "load", "update"])
            .arg(&crm)
            .env("CIB_file", &cib)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{f}: crm load failed: {}{}\n{out}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let xml = std::fs::read_to_string(&cib).unwrap();
        let groups = out.lines().filter(|l| l.starts_with("group ")).count();
        assert_eq!(xml.matches("<group ").count(), groups, "{f}: {xml}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_exclusive_services_one_constraint_and_unknown_domain_node() {
    let conf = "<cluster name=\"c\"><clusternodes><clusternode name=\"n1\"/></clusternodes><rm>\
        <failoverdomains><failoverdomain name=\"d\"><failoverdomainnode name=\"n9\"/></failoverdomain></failoverdomains>\
        <service name=\"a\" exclusive=\"1\" domain=\"d\"><ip address=\"10.0.0.1\"/></service>\
        <service name=\"b\" exclusive=\"1\"><ip address=\"10.0.0.2\"/></service></rm></cluster>";
    let (code, out, err) = run(&["-".into()], &mut conf.as_bytes());
    assert_eq!(code, OK, "{err}");
    let apart: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("colocation "))
        .collect();
    assert_eq!(apart, ["colocation excl-b-a -inf: b a"], "{out}");
    assert!(
        err.contains("lists n9, which is not a <clusternode>"),
        "{err}"
    );
}
