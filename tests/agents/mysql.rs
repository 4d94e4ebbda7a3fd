//! `mysql` against real MariaDB servers from Debian (10.11), each in a private datadir under
//! a temp dir named `ocfrs-it-ocfmysql-*`, on its own TCP port of 13300-13399 (loopback
//! only), started by the agent itself (`enable_creation` initialises every datadir: the
//! real initialisation path is exercised by every test).
//!
//! Cleanup is by PID: when a test ends (also on a failed assertion) every process whose
//! command line names its temp dir is killed.
//!
//! Cluster attributes (promotion scores, the reader attribute, `<instance>_REPL_INFO`,
//! `<instance>_mysql_master_IP`) are observed through a **stand-in `crm_attribute` and
//! `attrd_updater`** put first on the agent's PATH: a small script that keeps each attribute
//! in a file and logs every call. It is a stand-in because two instances on one host cannot
//! be two Pacemaker nodes of one real cluster without the namespace harness; it accepts the
//! options the agent and the SDK use (`-N`, `-l`, `--name`/`-n`, `-v`/`-U`, `-D`,
//! `--query`/`-G`/`-Q`, `-q`, `--type`, `-s`, `--promotion=`). The real cluster test
//! (`cluster::mysql_replication`) checks the same attributes in a real CIB.
use crate::common::{agent, run, sample_for_secrets, sh, Act, TempDir};
use ocf::testing::{Outcome, Run};
use ocf::Rc;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The stand-in crm_attribute (see the module docs).
const CRM_ATTRIBUTE: &str = r#"#!/bin/bash
# test stand-in for crm_attribute and attrd_updater (by the name it is run as): one file
# per attribute under $OCFMYSQL_ATTRS/<node or "cluster">/<name>
store=${OCFMYSQL_ATTRS:?}
tool=$(basename "$0")
echo "$tool $*" >> "$store/calls.log"
node=${OCF_RESKEY_CRM_meta_on_node:-local}; name=""; value=""; op=query; scope=node
while [ $# -gt 0 ]; do
  case "$1" in
    -N|--node) node=$2; shift;;
    -l|--lifetime) shift;;
    -n|--name) name=$2; shift;;
    --name=*) name=${1#--name=};;
    -v|--update|-U) value=$2; op=set; shift;;
    -D|--delete) op=delete;;
    -G|--query|-Q) op=query;;
    -q|--quiet) ;;
    -t|--type) [ "$2" = crm_config ] && scope=cluster; shift;;
    -s|--set-name) shift;;
    -p) name="master-$OCF_RESOURCE_INSTANCE";;
    --promotion=*) name="master-${1#--promotion=}";;
    --promotion) name="master-$OCF_RESOURCE_INSTANCE";;
    *) echo "stand-in: unknown option $1" >&2; exit 64;;
  esac
  shift
done
[ "$scope" = cluster ] && node=cluster
f="$store/$node/$name"
case $op in
  set) mkdir -p "$store/$node"; printf '%s' "$value" > "$f";;
  delete) rm -f "$f";;
  query) [ -f "$f" ] || { echo "stand-in: $name not found" >&2; exit 105; }
         if [ "$tool" = attrd_updater ]; then
           echo "name=\"$name\" host=\"$node\" value=\"$(cat "$f")\""
         else cat "$f"; echo; fi;;
esac
"#;

const PREFIX: &str = "ocfmysql";

/// One MariaDB instance: temp dir, config, the agent's parameters.
struct Instance {
    dir: TempDir,
    instance: String,
    node: String,
    promotable: bool,
    extra: Vec<(String, String)>,
    /// The attribute store (one per "cluster").
    store: PathBuf,
}

impl Instance {
    /// A new instance on `port` with `cnf` appended to its `[mysqld]` section.
    fn new(tag: &str, port: u16, cnf: &str) -> Instance {
        let dir = TempDir::new(&format!("{PREFIX}-{tag}"));
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        let (rc, _, err) = sh(Command::new("chown").args(["mysql:mysql"]).arg(&data));
        assert_eq!(rc, 0, "{err}");
        std::fs::write(
            dir.join("my.cnf"),
            format!("[mysqld]\nport={port}\nbind-address=127.0.0.1\n{cnf}\n"),
        )
        .unwrap();
        std::fs::create_dir_all(dir.join("attrs")).unwrap();
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for tool in ["crm_attribute", "attrd_updater"] {
            std::fs::write(bin.join(tool), CRM_ATTRIBUTE).unwrap();
            crate::common::set_mode(&bin.join(tool), 0o755);
        }
        Instance {
            store: dir.join("attrs"),
            dir,
            instance: format!("{PREFIX}-{tag}"),
            node: format!("{PREFIX}-node-{tag}"),
            promotable: false,
            extra: Vec::new(),
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("run/mysqld.sock")
    }

    fn set(mut self, k: &str, v: &str) -> Instance {
        self.extra.push((k.to_string(), v.to_string()));
        self
    }

    fn agent(&self) -> Run {
        let attrs = &self.store;
        let d = self.dir.path();
        let mut r = run("mysql")
            .pacemaker(&self.instance)
            .param("config", d.join("my.cnf"))
            .param("datadir", d.join("data"))
            .param("pid", d.join("run/mysqld.pid"))
            .param("socket", self.socket())
            .param("log", d.join("log/error.log"))
            .param("enable_creation", "true")
            .param("client_binary", "/usr/bin/mariadb")
            .env("OCFRS_RUN_DIR", d.join("state"))
            .env("OCFMYSQL_ATTRS", attrs)
            .env("OCF_RESKEY_CRM_meta_on_node", &self.node)
            .env(
                "PATH",
                format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", d.join("bin").display()),
            )
            .timeout(Duration::from_secs(60));
        for (k, v) in &self.extra {
            r = r.param(k, v);
        }
        if self.promotable {
            r = r
                .env("OCF_RESKEY_CRM_meta_clone_max", "2")
                .env("OCF_RESKEY_CRM_meta_clone", "0")
                .env("OCF_RESKEY_CRM_meta_promotable", "true")
                .env("OCF_RESKEY_CRM_meta_promoted_max", "1")
                .env("OCF_RESKEY_CRM_meta_notify", "true");
        }
        r
    }

    /// SQL as root over the socket (unix_socket authentication), batch output.
    fn sql(&self, sql: &str) -> String {
        let (rc, out, err) = sh(Command::new("mariadb")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-N", "-B", "-e", sql]));
        assert_eq!(rc, 0, "{sql}: {err}");
        out
    }

    /// Like [`Instance::sql`], `None` on an error (for polling).
    fn try_sql(&self, sql: &str) -> Option<String> {
        let (rc, out, _) = sh(Command::new("mariadb")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-N", "-B", "-e", sql]));
        (rc == 0).then_some(out)
    }

    /// PIDs of every process naming this instance's temp dir.
    fn pids(&self) -> Vec<i32> {
        pids_naming(self.dir.path())
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        for pid in self.pids() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

fn pids_naming(dir: &Path) -> Vec<i32> {
    let needle = dir.to_string_lossy().into_owned();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cl = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cl).contains(&needle) {
            out.push(pid);
        }
    }
    out
}

fn server_pid(i: &Instance) -> i32 {
    std::fs::read_to_string(i.dir.join("run/mysqld.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out waiting for {what}");
}

fn attr(store: &Path, node: &str, name: &str) -> Option<String> {
    std::fs::read_to_string(store.join(node).join(name)).ok()
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root and mariadb-server (tests/run.sh setup)"
)]
fn start_creates_the_datadir_monitors_and_detects_a_killed_server() {
    let i = Instance::new("basic", 13301, "").set("binary", "/usr/sbin/mariadbd");
    // Probe of a stopped instance, then start with enable_creation on an empty datadir.
    i.agent().act("monitor", Rc::NotRunning);
    i.agent().act("start", Rc::Success);
    assert!(i.dir.join("data/mysql").is_dir(), "datadir initialised");
    i.agent().act("start", Rc::Success); // idempotent
    let rec = i.agent().recurring();
    rec.act("monitor", Rc::Success);
    rec.act_depth(10, Rc::Success);
    // The error log is 0640 user:group, as the shell agent makes it.
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::metadata(i.dir.join("log/error.log")).unwrap();
    assert_eq!(md.mode() & 0o777, 0o640);
    // kill -9 the server: the monitor says stopped (7), stop cleans up, nothing is left.
    let pid = server_pid(&i);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_for("the killed server to vanish", 10, || {
        !Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
    });
    rec.act("monitor", Rc::NotRunning);
    i.agent().act("stop", Rc::Success);
    i.agent().act("stop", Rc::Success);
    assert!(i.pids().is_empty(), "left running: {:?}", i.pids());
    assert!(!i.socket().exists());
    // Restart over the existing datadir: no second initialisation, data kept.
    i.agent().act("start", Rc::Success);
    i.sql("CREATE DATABASE ocfmysql_kept");
    i.agent().act("stop", Rc::Success);
    i.agent().act("start", Rc::Success);
    assert!(i.sql("SHOW DATABASES").contains("ocfmysql_kept"));
    i.agent().act("stop", Rc::Success);
    assert!(i.pids().is_empty());
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root and mariadb-server (tests/run.sh setup)"
)]
fn enable_creation_never_initialises_over_foreign_files_and_unwritable_dirs_are_4() {
    let i = Instance::new("foreign", 13302, "");
    std::fs::write(i.dir.join("data/precious.txt"), "keep me").unwrap();
    i.agent()
        .act("start", Rc::ErrGeneric)
        .assert_reason_contains("not empty");
    assert_eq!(
        std::fs::read_to_string(i.dir.join("data/precious.txt")).unwrap(),
        "keep me"
    );
    assert!(!i.dir.join("data/mysql").exists());
    assert!(i.pids().is_empty());
    // A pid directory the run-as user cannot write: 4, as the shell agent.
    std::fs::remove_file(i.dir.join("data/precious.txt")).unwrap();
    let ro = i.dir.join("rootonly");
    std::fs::create_dir_all(&ro).unwrap();
    crate::common::set_mode(&ro, 0o755);
    i.agent()
        .param("pid", ro.join("mysqld.pid"))
        .act("start", Rc::ErrPerm)
        .assert_reason_contains("not writable by mysql");
    assert!(i.pids().is_empty());
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root and mariadb-server (tests/run.sh setup)"
)]
fn passwords_stay_off_command_lines_environments_logs_and_reasons() {
    const GOOD: &str = "ocfmysql-Good-Pw-7f3a";
    const BAD: &str = "ocfmysql-Bad-Pw-91c2";
    let i = Instance::new("secret", 13303, "");
    i.agent().act("start", Rc::Success);
    i.sql(&format!(
        "CREATE USER ocfmysqlmon@localhost IDENTIFIED BY '{GOOD}'; \
         GRANT SELECT ON mysql.* TO ocfmysqlmon@localhost"
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_for_secrets(vec![GOOD.into(), BAD.into()], stop.clone());
    let good = i
        .agent()
        .param("test_user", "ocfmysqlmon")
        .param("test_passwd", GOOD)
        .param("replication_passwd", GOOD)
        .recurring();
    let mut outs = Vec::new();
    for _ in 0..3 {
        let o = good.clone().depth(10).action("monitor").run();
        o.assert_rc(Rc::Success);
        outs.push(o);
    }
    // A wrong password: 1 with a reason that names the account, never the password.
    let bad = i
        .agent()
        .param("test_user", "ocfmysqlmon")
        .param("test_passwd", BAD)
        .recurring()
        .depth(10)
        .action("monitor")
        .run();
    bad.assert_rc(Rc::ErrGeneric);
    bad.assert_reason_contains("ocfmysqlmon");
    bad.assert_reason_contains("1045");
    outs.push(bad);
    // Restart with the credentials set: start's final monitor runs at depth 10.
    let o = good.clone().action("stop").run();
    o.assert_rc(Rc::Success);
    outs.push(o);
    let o = good.clone().action("start").run();
    o.assert_rc(Rc::Success);
    outs.push(o);
    let o = good.clone().action("stop").run();
    o.assert_rc(Rc::Success);
    outs.push(o);
    stop.store(true, Ordering::SeqCst);
    let (samples, found) = sampler.join().unwrap();
    assert!(samples > 10, "the sampler ran {samples} times only");
    assert!(found.is_empty(), "secret visible: {found:#?}");
    for o in &outs {
        for s in [GOOD, BAD] {
            assert!(
                !o.stderr.contains(s),
                "secret in the agent's output: {}",
                o.stderr
            );
            assert!(!o.stdout.contains(s));
        }
    }
    let log = std::fs::read_to_string(i.dir.join("log/error.log")).unwrap_or_default();
    assert!(!log.contains(GOOD) && !log.contains(BAD));
    // The options files are gone after every action.
    let secrets = i.dir.join("state/mysql/secrets");
    let left: Vec<_> = std::fs::read_dir(&secrets)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "options files left: {left:?}");
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root and mariadb-server (tests/run.sh setup)"
)]
fn a_sigstopped_server_is_stopped_inside_the_budget() {
    // Default binary: mysqld_safe, which would restart a killed server.
    let i = Instance::new("sigstop", 13304, "");
    i.agent().act("start", Rc::Success);
    let pid = server_pid(&i);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .unwrap();
    let t = Instant::now();
    let out = i
        .agent()
        .timeout(Duration::from_secs(12))
        .action("stop")
        .run();
    let took = t.elapsed();
    out.assert_rc(Rc::Success);
    assert!(took < Duration::from_secs(12), "stop took {took:?}");
    assert!(i.pids().is_empty(), "left running: {:?}", i.pids());
    assert!(!i.socket().exists());
    assert!(!i.dir.join("run/mysqld.pid").exists());
    i.agent().act_monitor(Rc::NotRunning);
}

fn repl_cnf(server_id: u32) -> String {
    format!(
        "server-id={server_id}\nlog-bin=ocfmysql-bin\nbinlog_format=ROW\nlog_slave_updates=1\n\
         skip-name-resolve\n"
    )
}

fn notify(i: &Instance, kind: &str, op: &str, node: &str) -> Outcome {
    let key = format!("OCF_RESKEY_CRM_meta_notify_{op}_uname");
    let rsc = format!("OCF_RESKEY_CRM_meta_notify_{op}_resource");
    i.agent()
        .env("OCF_RESKEY_CRM_meta_notify_type", kind)
        .env("OCF_RESKEY_CRM_meta_notify_operation", op)
        .env(&key, node)
        .env(&rsc, format!("{}:0", i.instance))
        .action("notify")
        .run()
}

fn score(store: &Path, i: &Instance) -> Option<i64> {
    attr(store, &i.node, &format!("master-{}", i.instance)).and_then(|s| s.trim().parse().ok())
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root and mariadb-server (tests/run.sh setup)"
)]
fn replication_pair_promote_swap_and_broken_replicas_lose_reads_and_promotion() {
    const REPL_PW: &str = "ocfmysql-Repl-Pw-55e1";
    // Two instances on one host, one "cluster" (one attribute store). Each one's
    // replication_port is the other's port: the port its source listens on.
    let mut a = Instance::new("repl-a", 13311, &repl_cnf(11))
        .set("replication_user", "ocfmysqlrepl")
        .set("replication_passwd", REPL_PW)
        .set("replication_port", "13312")
        .set("max_slave_lag", "60");
    let mut b = Instance::new("repl-b", 13312, &repl_cnf(12))
        .set("replication_user", "ocfmysqlrepl")
        .set("replication_passwd", REPL_PW)
        .set("replication_port", "13311")
        .set("max_slave_lag", "60");
    // One clone (same instance name), one store, two nodes.
    b.instance = a.instance.clone();
    b.store = a.store.clone();
    let store = a.store.clone();
    // Both start as plain instances first to create the replication account.
    for i in [&a, &b] {
        i.agent().act("start", Rc::Success);
        i.sql(&format!(
            "SET sql_log_bin=0; CREATE USER ocfmysqlrepl@'127.0.0.1' IDENTIFIED BY '{REPL_PW}'; \
             CREATE USER ocfmysqlrepl@localhost IDENTIFIED BY '{REPL_PW}'; \
             GRANT ALL ON *.* TO ocfmysqlrepl@'127.0.0.1' WITH GRANT OPTION; \
             GRANT ALL ON *.* TO ocfmysqlrepl@localhost WITH GRANT OPTION; SET sql_log_bin=1"
        ));
        i.agent().act("stop", Rc::Success);
    }
    a.promotable = true;
    b.promotable = true;
    // Replicas reach the source's node through this address (the shell agent's
    // <instance>_mysql_master_IP node attribute).
    // Two spellings of the loopback address, so that each node's address differs.
    for (n, addr) in [(&a.node, "127.0.0.1"), (&b.node, "127.1")] {
        std::fs::create_dir_all(store.join(n)).unwrap();
        std::fs::write(
            store
                .join(n)
                .join(format!("{}_mysql_master_IP", a.instance)),
            addr,
        )
        .unwrap();
    }
    // Start both: read-only, no source known yet, score 1 each, reader 0.
    a.agent().act("start", Rc::Success);
    b.agent().act("start", Rc::Success);
    assert_eq!(a.sql("SELECT @@read_only").trim(), "1");
    assert_eq!(score(&store, &a), Some(1));
    assert_eq!(score(&store, &b), Some(1));
    // Promote A; B follows it after the post-promote notification.
    a.agent().act("promote", Rc::Success);
    let info = attr(&store, "cluster", &format!("{}_REPL_INFO", a.instance)).unwrap();
    assert!(info.starts_with("127.0.0.1|ocfmysql-bin."), "{info}");
    assert_eq!(score(&store, &a), Some(61));
    assert_eq!(attr(&store, &a.node, "readable").as_deref(), Some("1"));
    notify(&b, "post", "promote", &a.node).assert_rc(Rc::Success);
    notify(&a, "post", "promote", &a.node).assert_rc(Rc::Success);
    a.sql(
        "CREATE DATABASE ocfmysqlt; CREATE TABLE ocfmysqlt.r (id INT PRIMARY KEY, v TEXT); \
         INSERT INTO ocfmysqlt.r VALUES (1, 'from a')",
    );
    wait_for("row 1 on the replica", 30, || {
        b.try_sql("SELECT COUNT(*) FROM ocfmysqlt.r WHERE id = 1 AND v = 'from a'")
            .is_some_and(|o| o.trim() == "1")
    });
    let mon = |i: &Instance| i.agent().recurring().action("monitor").run();
    mon(&a).assert_rc(Rc::RunningPromoted);
    mon(&b).assert_rc(Rc::Success);
    assert_eq!(attr(&store, &b.node, "readable").as_deref(), Some("1"));
    assert!(score(&store, &b).is_some_and(|s| (1..=60).contains(&s)));

    // Swap: A demoted (read-only, clients killed), B promoted, A follows B.
    notify(&a, "pre", "demote", &a.node).assert_rc(Rc::Success);
    a.agent().act("demote", Rc::Success);
    assert_eq!(a.sql("SELECT @@read_only").trim(), "1");
    notify(&b, "post", "demote", &a.node).assert_rc(Rc::Success);
    b.agent().act("promote", Rc::Success);
    notify(&a, "post", "promote", &b.node).assert_rc(Rc::Success);
    b.sql("INSERT INTO ocfmysqlt.r VALUES (2, 'from b')");
    wait_for("row 2 on the new replica", 30, || {
        a.try_sql("SELECT COUNT(*) FROM ocfmysqlt.r")
            .is_some_and(|o| o.trim() == "2")
    });
    mon(&b).assert_rc(Rc::RunningPromoted);
    mon(&a).assert_rc(Rc::Success);
    assert_eq!(attr(&store, &a.node, "readable").as_deref(), Some("1"));
    assert!(score(&store, &a).is_some());

    // The replica reboots (stop, start without notification variables): it replicates from
    // the published source again (RA#1841).
    a.agent().act("stop", Rc::Success);
    a.agent().act("start", Rc::Success);
    assert!(a.sql("SHOW SLAVE STATUS").contains("127.1"));
    b.sql("INSERT INTO ocfmysqlt.r VALUES (10, 'after the reboot')");
    wait_for("row 10 on the rebooted replica", 30, || {
        a.try_sql("SELECT COUNT(*) FROM ocfmysqlt.r WHERE id = 10")
            .is_some_and(|o| o.trim() == "1")
    });

    // Break the replica: IO thread stopped → reader 0 and no promotion score, monitor 0.
    a.sql("STOP SLAVE IO_THREAD");
    mon(&a).assert_rc(Rc::Success);
    assert_eq!(attr(&store, &a.node, "readable").as_deref(), Some("0"));
    assert_eq!(
        score(&store, &a),
        None,
        "a broken replica keeps no promotion score"
    );
    // Repaired: both come back.
    a.sql("START SLAVE");
    wait_for("the replica to run again", 20, || {
        mon(&a).rc == 0 && attr(&store, &a.node, "readable").as_deref() == Some("1")
    });
    assert!(score(&store, &a).is_some());
    // A conflicting row: the SQL thread stops with error 1062.
    a.sql("SET sql_log_bin=0; INSERT INTO ocfmysqlt.r VALUES (3, 'conflict'); SET sql_log_bin=1");
    b.sql("INSERT INTO ocfmysqlt.r VALUES (3, 'from b')");
    wait_for("the SQL thread to fail", 20, || {
        a.sql("SHOW SLAVE STATUS").contains("1062")
    });
    let o = mon(&a);
    o.assert_rc(Rc::Success);
    assert!(o.stderr.contains("1062"), "{}", o.stderr);
    assert_eq!(attr(&store, &a.node, "readable").as_deref(), Some("0"));
    assert_eq!(score(&store, &a), None);
    // The replication password never reached the attribute store or a call's argv.
    let calls = std::fs::read_to_string(store.join("calls.log")).unwrap();
    assert!(!calls.contains(REPL_PW));
    // Stop both: scores deleted, nothing left running.
    a.agent().act("stop", Rc::Success);
    b.agent().act("stop", Rc::Success);
    assert_eq!(score(&store, &a), None);
    assert_eq!(score(&store, &b), None);
    assert!(a.pids().is_empty() && b.pids().is_empty());
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, mariadb-server and resource-agents (tests/run.sh setup)"
)]
fn passes_the_shell_ocf_tester_and_ours() {
    let i = Instance::new("tester", 13305, "");
    let d = i.dir.path();
    let params = [
        format!("config={}", d.join("my.cnf").display()),
        format!("datadir={}", d.join("data").display()),
        format!("pid={}", d.join("run/mysqld.pid").display()),
        format!("socket={}", i.socket().display()),
        format!("log={}", d.join("log/error.log").display()),
        "enable_creation=1".to_string(),
        "client_binary=/usr/bin/mariadb".to_string(),
    ];
    let mut shell = Command::new("/usr/sbin/ocf-tester");
    shell
        .env("OCF_ROOT", "/usr/lib/ocf")
        .env("OCFRS_RUN_DIR", d.join("state"))
        .args(["-n", "ocfmysql-tester"]);
    for p in &params {
        shell.arg("-o").arg(p);
    }
    let (rc, out, err) = sh(shell.arg(agent("mysql")));
    assert_eq!(rc, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("passed all tests"), "{out}");
    assert!(i.pids().is_empty(), "left running: {:?}", i.pids());
    for profile in ["pacemaker", "legacy"] {
        let mut ours = Command::new(crate::common::our_tester());
        ours.env("OCFRS_RUN_DIR", d.join("state")).args([
            "--profile",
            profile,
            "-n",
            "ocfmysql-tester",
        ]);
        for p in &params {
            ours.arg("-o").arg(p);
        }
        let (rc, out, err) = sh(ours.arg(agent("mysql")));
        assert_eq!(rc, 0, "ocf-tester --profile {profile}:\n{out}\n{err}");
        assert!(out.contains("passed all tests"), "{out}");
        assert!(i.pids().is_empty(), "left running: {:?}", i.pids());
    }
}
