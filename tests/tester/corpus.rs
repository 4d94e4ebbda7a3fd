//! The acceptance corpus: Debian's resource-agents that pass the shell `ocf-tester` in the
//! environment they need pass ours in the default (pacemaker) profile, except for the
//! findings listed in ocf-tester/README.md ("Findings on Debian's agents"), which are
//! defects a real Pacemaker trips over. Each test asserts the exact set of failed checks.
//!
//! Where the shell tool's own verdict is not already asserted by `compat` (Dummy, Stateful,
//! IPaddr2, Filesystem: same fixtures), the README records it (apache: passed all tests in
//! 32 s; mysql: passed all tests in 14 s with the stand-in below), measured on this lab.
use crate::common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Run ours with `--format json` (plus `extra` options) and return (exit code, report).
pub fn json_run(ns: Option<&str>, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    let (rc, out, err) = ours(ns, &args);
    let v: Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}\n{err}"));
    (rc, v, err)
}

/// Names of the checks with `verdict`.
pub fn with_verdict(v: &Value, verdict: &str) -> BTreeSet<String> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == verdict)
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// The default verdict is `failed` exactly, the warnings include `warned`, and `--strict`
/// turns the warnings into failures.
fn expect(ns: Option<&str>, args: &[&str], failed: &[&str], warned: &[&str], strict: bool) {
    let (rc, v, err) = json_run(ns, args);
    let ctx = format!("{}\n{err}", serde_json::to_string_pretty(&v).unwrap());
    assert_eq!(with_verdict(&v, "fail"), set(failed), "{ctx}");
    assert!(
        set(warned).is_subset(&with_verdict(&v, "warn")),
        "warnings {warned:?}: {ctx}"
    );
    assert_eq!(rc, if failed.is_empty() { 0 } else { 1 }, "{ctx}");
    assert_eq!(v["passed"], failed.is_empty(), "{ctx}");
    assert_eq!(
        v["warnings"].as_u64().unwrap() as usize,
        with_verdict(&v, "warn").len()
    );
    if strict && !warned.is_empty() {
        let mut s = vec!["--strict"];
        s.extend_from_slice(args);
        let (rc, v, _) = json_run(ns, &s);
        assert_eq!(rc, 1);
        assert_eq!(v["warnings"], 0);
        assert!(set(warned).is_subset(&with_verdict(&v, "fail")));
    }
}

/// A small correct shell agent whose meta-data is printed by `cat` (a PATH lookup).
fn cat_agent(dir: &TempDir) -> std::path::PathBuf {
    let prov = dir.join("ocftst");
    std::fs::create_dir_all(&prov).unwrap();
    chmod(&prov, 0o755);
    let a = prov.join("catmeta");
    std::fs::write(
        &a,
        r#"#!/bin/sh
state=${OCF_RESKEY_state:-/run/ocftst-catmeta.state}
case "$1" in
meta-data)
	cat <<END
<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="catmeta" version="1">
<version>1.0</version>
<longdesc lang="en">A correct agent whose meta-data needs cat.</longdesc>
<shortdesc lang="en">cat meta-data</shortdesc>
<parameters>
<parameter name="state"><longdesc lang="en">State file</longdesc><shortdesc lang="en">State file</shortdesc><content type="string"/></parameter>
</parameters>
<actions>
<action name="start" timeout="10s"/>
<action name="stop" timeout="10s"/>
<action name="monitor" timeout="10s" interval="10s"/>
<action name="meta-data" timeout="5s"/>
<action name="validate-all" timeout="5s"/>
</actions>
</resource-agent>
END
	exit 0 ;;
start) touch "$state" || { echo "ocf-exit-reason:cannot create $state" >&2; exit 1; }; exit 0 ;;
stop) rm -f "$state"; exit 0 ;;
monitor) [ -f "$state" ] && exit 0; exit 7 ;;
validate-all) exit 0 ;;
*) exit 3 ;;
esac
"#,
    )
    .unwrap();
    chmod(&a, 0o755);
    a
}

#[test]
fn debian_dummy_stateful_and_a_cat_agent_pass_by_default() {
    let d = TempDir::new("corpus");
    let state = format!("state={}", d.join("d.state").display());
    let dummy = format!("{HEARTBEAT}/Dummy");
    // Dummy sources the shell library from $OCF_ROOT: meta-data fails without it (rc 2).
    expect(
        None,
        &["-n", "ocftst-d", "-o", &state, &dummy],
        &[],
        &["meta-data with an empty environment"],
        true,
    );
    let state = format!("state={}", d.join("s.state").display());
    expect(
        None,
        &[
            "-n",
            "ocftst-s",
            "-o",
            &state,
            "/usr/lib/ocf/resource.d/pacemaker/Stateful",
        ],
        &[],
        &["meta-data with an empty environment"],
        true,
    );
    let agent = cat_agent(&d);
    let state = format!("state={}", d.join("c.state").display());
    expect(
        None,
        &["-n", "ocftst-c", "-o", &state, agent.to_str().unwrap()],
        &[],
        &["meta-data with an empty PATH"],
        true,
    );
    // The text output says what a warning is and still passes.
    let (rc, out, _) = ours(
        None,
        &["-n", "ocftst-c", "-o", &state, agent.to_str().unwrap()],
    );
    assert_eq!(rc, 0, "{out}");
    assert!(
        out.contains("- warning: rc=0: meta-data must print valid XML and exit 0 when no binary can be found (empty output)")
            && out.contains("--strict makes them failures")
            && out.contains("passed all tests (1 warnings)"),
        "{out}"
    );
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root: network namespace, veth, loop device, mount"
)]
fn debian_ipaddr2_passes_and_filesystem_has_one_finding() {
    let ns = NetNs::for_ipaddr2("cip");
    let agent = format!("{HEARTBEAT}/IPaddr2");
    expect(
        Some(&ns.name),
        &ipaddr2_args("ocftst-ip", &agent),
        &[],
        // `status` prints "running" on stdout; Pacemaker never calls status.
        &[
            "meta-data with an empty environment",
            "no stdout outside meta-data",
        ],
        false,
    );
    let d = TempDir::new("cfs");
    let lo = Loop::new(&d);
    let agent = format!("{HEARTBEAT}/Filesystem");
    expect(
        None,
        &filesystem_args("ocftst-fs", &lo.params(), &agent),
        // Finding 1 in ocf-tester/README.md.
        &["stop without parameters (never started)"],
        &[
            "validate-all without required directory",
            "validate-all without required fstype",
        ],
        false,
    );
}

/// A private apache2 configuration on 127.0.0.1:18180 (no /etc/apache2 involved).
fn apache_conf(d: &TempDir) -> std::path::PathBuf {
    let m = "/usr/lib/apache2/modules";
    for sub in ["htdocs", "run"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    std::fs::write(d.join("htdocs/index.html"), "ok\n").unwrap();
    let root = d.0.display();
    let conf = d.join("httpd.conf");
    std::fs::write(
        &conf,
        format!(
            "ServerRoot \"{root}\"\nServerName localhost\nListen 127.0.0.1:18180\n\
PidFile \"{root}/run/httpd.pid\"\nDefaultRuntimeDir \"{root}/run\"\nMutex file:{root}/run default\n\
ErrorLog \"{root}/error.log\"\nLogLevel warn\nUser www-data\nGroup www-data\n\
LoadModule mpm_event_module {m}/mod_mpm_event.so\nLoadModule authz_core_module {m}/mod_authz_core.so\n\
LoadModule authz_host_module {m}/mod_authz_host.so\nLoadModule dir_module {m}/mod_dir.so\n\
LoadModule status_module {m}/mod_status.so\nDocumentRoot \"{root}/htdocs\"\nDirectoryIndex index.html\n\
<Directory \"{root}/htdocs\">\n  Require all granted\n</Directory>\n\
<Location /server-status>\n  SetHandler server-status\n  Require local\n</Location>\n"
        ),
    )
    .unwrap();
    conf
}

/// Kill what a pid file names (cleanup after a failed test; by PID only).
fn kill_pidfile(p: &Path) {
    if let Ok(s) = std::fs::read_to_string(p) {
        if let Ok(pid) = s.trim().parse::<i32>() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

#[test]
#[cfg_attr(not(feature = "root-tests"), ignore = "needs root: runs apache2")]
fn debian_apache_passes_on_a_real_apache2() {
    let _apache = apache_lock();
    let d = TempDir::new("capache");
    let conf = apache_conf(&d);
    let conf_o = format!("configfile={}", conf.display());
    let r = expect_guard(d.join("run/httpd.pid"));
    expect(
        None,
        &[
            "-n",
            "ocftst-ap",
            "-o",
            &conf_o,
            "-o",
            "httpd=/usr/sbin/apache2",
            "-o",
            "statusurl=http://127.0.0.1:18180/server-status",
            &format!("{HEARTBEAT}/apache"),
        ],
        &[],
        // apache advertises `status` but answers it with 3; Pacemaker never calls it.
        &["advertised action status is handled"],
        false,
    );
    assert!(
        !port_open(18180),
        "apache2 still answers after the tester's final stop"
    );
    drop(r);
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Kills the daemon named by a pid file when dropped (a failed assertion leaves nothing).
struct PidGuard(std::path::PathBuf);
impl Drop for PidGuard {
    fn drop(&mut self) {
        kill_pidfile(&self.0);
    }
}
fn expect_guard(p: std::path::PathBuf) -> PidGuard {
    PidGuard(p)
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root: runs MariaDB as the mysql user"
)]
fn debian_mysql_on_mariadb_has_one_finding() {
    let d = TempDir::new("cmysql");
    for sub in ["data", "run"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    let root = d.0.display().to_string();
    let cnf = d.join("my.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[mysqld]\nuser=mysql\ndatadir={root}/data\nsocket={root}/run/mysqld.sock\n\
pid-file={root}/run/mysqld.pid\nlog-error={root}/error.log\nport=13406\nbind-address=127.0.0.1\n\
skip-log-bin\n[client]\nsocket={root}/run/mysqld.sock\n"
        ),
    )
    .unwrap();
    let (rc, _, e) = sh(Command::new("chown").args(["-R", "mysql:mysql", &root]));
    assert_eq!(rc, 0, "{e}");
    let (rc, o, e) = sh(Command::new("mariadb-install-db").args([
        &format!("--defaults-file={}", cnf.display()),
        "--user=mysql",
        "--skip-test-db",
        "--auth-root-authentication-method=normal",
    ]));
    assert_eq!(rc, 0, "mariadb-install-db: {o}{e}");
    let _guard = expect_guard(d.join("run/mysqld.pid"));
    // The agent's promote/demote record attributes with crm_attribute and learn the node
    // name from crm_node, which need a running cluster. Stand-in (no cluster runs in this
    // test): Pacemaker's real crm_attribute on a file CIB (CIB_file), and crm_node -n
    // answering the host's name, put first on PATH and as HA_SBIN_DIR, the way a node's
    // environment provides them. Both testers get the same environment.
    let sbin = d.join("sbin");
    std::fs::create_dir_all(&sbin).unwrap();
    let host = nix::unistd::gethostname().unwrap().into_string().unwrap();
    let cib = sbin.join("cib.xml");
    std::fs::write(
        &cib,
        format!(
            "<cib crm_feature_set=\"3.0.0\" validate-with=\"pacemaker-3.0\" epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\">\
<configuration><crm_config/><nodes><node id=\"1\" uname=\"{host}\"/></nodes><resources/><constraints/></configuration>\
<status><node_state id=\"1\" uname=\"{host}\"/></status></cib>\n"
        ),
    )
    .unwrap();
    let s = sbin.display();
    for (name, body) in [
        (
            "crm_attribute",
            format!("CIB_file={s}/cib.xml exec /usr/sbin/crm_attribute \"$@\""),
        ),
        (
            "crm_node",
            format!("[ \"$1\" = -n ] && {{ echo {host}; exit 0; }}\nCIB_file={s}/cib.xml exec /usr/sbin/crm_node \"$@\""),
        ),
    ] {
        let p = sbin.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        chmod(&p, 0o755);
    }
    let path = format!("PATH={s}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    let sbin_dir = format!("HA_SBIN_DIR={s}");
    let o = |k: &str, v: String| format!("{k}={v}");
    let opts = [
        o("config", cnf.display().to_string()),
        o("datadir", format!("{root}/data")),
        o("socket", format!("{root}/run/mysqld.sock")),
        o("pid", format!("{root}/run/mysqld.pid")),
        o("log", format!("{root}/error.log")),
        "user=mysql".to_string(),
        "group=mysql".to_string(),
        "binary=/usr/bin/mysqld_safe".to_string(),
        "client_binary=/usr/bin/mariadb".to_string(),
        "additional_parameters=--port=13406 --bind-address=127.0.0.1".to_string(),
    ];
    let mut args: Vec<&str> = vec!["--env", &path, "--env", &sbin_dir, "-n", "ocftst-my"];
    for x in &opts {
        args.push("-o");
        args.push(x);
    }
    let agent = format!("{HEARTBEAT}/mysql");
    args.push(&agent);
    // Finding 2 in ocf-tester/README.md: demote leaves the server writable, so the
    // monitor of the unpromoted role still answers 8.
    expect(None, &args, &["monitor after demote"], &[], false);
    assert!(
        !port_open(13406),
        "mariadbd still answers after the tester's final stop"
    );
}
