//! Secrets: every parameter an agent declares secret (found from the declarations of
//! `ocfrs_agents::AGENTS`, so a later agent is covered) never appears, while each action runs,
//! on any process's command line, in the environment of any process but the agent itself
//! (which receives its parameters from its caller, readable by root only: the OCF
//! contract), in syslog (a busybox syslogd of the test's own on a private `/dev/log`), in
//! `HA_LOGFILE`, in `HA_DEBUGLOG` with `HA_debug=1`, in exit reasons or any output of the
//! agent, in meta-data defaults, or in the output of our `ocf-tester -v`; nor while our
//! `ocf-tester` runs its whole suite with the secrets in a `--params-file`.
//!
//! Names: instances `ocfrs-hd-secret*`, temporary directories `ocfrs-it-ocfrs-hd-secret*`,
//! MariaDB on 127.0.0.1:21620.
//!
//! Extension point: an agent that declares a secret parameter needs a scenario in
//! [`scenario_for`] (a real service whose actions use the secret); without one
//! [`every_secret_parameter_has_a_scenario`] fails.
use crate::common::{agent, our_tester, sample_for_secrets, sh, TempDir};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// (agent, parameter) for every parameter declared secret.
fn secret_params() -> Vec<(&'static str, &'static str)> {
    ocfrs_agents::AGENTS
        .iter()
        .flat_map(|e| {
            e.meta
                .params
                .iter()
                .filter(|p| p.secret)
                .map(|p| (e.meta.name, p.name))
        })
        .collect()
}

/// The agents that have a scenario below.
const SCENARIOS: &[&str] = &["mysql"];

#[test]
fn every_secret_parameter_has_a_scenario() {
    let params = secret_params();
    assert!(
        params
            .iter()
            .any(|(a, p)| *a == "mysql" && *p == "test_passwd"),
        "mysql's passwords are declared secret: {params:?}"
    );
    let agents: BTreeSet<&str> = params.iter().map(|(a, _)| *a).collect();
    for a in agents {
        assert!(
            SCENARIOS.contains(&a),
            "{a} declares secret parameters but tests/sdk/secrets.rs has no scenario for it"
        );
    }
}

#[test]
fn meta_data_has_no_secret_defaults() {
    for e in ocfrs_agents::AGENTS {
        for p in e.meta.params.iter().filter(|p| p.secret) {
            assert!(
                p.default.is_none_or(str::is_empty),
                "{}: secret {} has a default value",
                e.meta.name,
                p.name
            );
            let (rc, xml, err) = sh(Command::new(agent(e.meta.name))
                .arg("meta-data")
                .env_clear()
                .env("OCF_ROOT", "/usr/lib/ocf"));
            assert_eq!(rc, 0, "{err}");
            let at = xml
                .find(&format!("<parameter name=\"{}\"", p.name))
                .unwrap_or_else(|| panic!("{} not in {}'s meta-data", p.name, e.meta.name));
            let block = &xml[at..at + xml[at..].find("</parameter>").unwrap()];
            let content = &block[block.find("<content").unwrap()..];
            let content = &content[..content.find('>').unwrap()];
            assert!(
                !content.contains("default=") || content.contains("default=\"\""),
                "{}: {content}",
                p.name
            );
        }
    }
}

/// Runs processes in a private mount namespace whose `/dev` holds only null/zero/full/random
/// nodes and the socket of a busybox syslogd started here (libc's syslog(3) always writes
/// to `/dev/log`: the host's, or nobody's, must not be touched). The namespace is held by a
/// shell; processes join it with setns(2) between fork and exec (so no wrapper process
/// holds their environment). Killed by pid on drop.
struct PrivateSyslog {
    holder: Child,
    ns: File,
    messages: PathBuf,
}

/// After [`crate::common::PRIVATE_DEV_SH`]: the links and `/dev/shm` a server expects, and
/// the syslogd; prints `ready` and waits.
const HOLD_NAMESPACE: &str = r#"
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin; ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr
mkdir -p /dev/shm
mount -t tmpfs -o size=16m ocfrs-hd-shm /dev/shm
busybox syslogd -n -O "$t/messages" &
sp=$!
trap 'kill $sp $slp 2>/dev/null; exit 0' TERM
i=0; while [ ! -S /dev/log ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
[ -S /dev/log ] || { echo "syslogd did not create /dev/log" >&2; kill $sp; exit 97; }
sleep 3600 &
slp=$!
echo ready
wait $slp
"#;

impl PrivateSyslog {
    fn start(dir: &Path) -> PrivateSyslog {
        let mut holder = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg(
                [
                    "set -u\nt=$1\n",
                    crate::common::PRIVATE_DEV_SH,
                    HOLD_NAMESPACE,
                ]
                .concat(),
            )
            .arg("sh")
            .arg(dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("unshare");
        let mut line = String::new();
        BufReader::new(holder.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "private syslog did not start");
        let ns = File::open(format!("/proc/{}/ns/mnt", holder.id())).unwrap();
        PrivateSyslog {
            holder,
            ns,
            messages: dir.join("messages"),
        }
    }

    /// `cmd` made to run inside the namespace.
    fn inside(&self, mut cmd: Command) -> Command {
        let fd = self.ns.as_raw_fd();
        // SAFETY: setns(2) is a plain system call, async-signal-safe, between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNS) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd
    }

    fn messages(&self) -> String {
        std::fs::read_to_string(&self.messages).unwrap_or_default()
    }
}

impl Drop for PrivateSyslog {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.holder.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.holder.wait();
    }
}

/// What one run produced.
#[derive(Debug)]
struct Ran {
    rc: i32,
    stdout: String,
    stderr: String,
}

/// Run `cmd` (stdout/stderr to files), killed after `limit`.
fn run_bounded(mut cmd: Command, dir: &Path, limit: Duration) -> Ran {
    let (o, e) = (dir.join("out"), dir.join("err"));
    cmd.stdin(Stdio::null())
        .stdout(File::create(&o).unwrap())
        .stderr(File::create(&e).unwrap());
    let mut child = cmd.spawn().expect("spawn");
    let t = Instant::now();
    let rc = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code().unwrap_or(-1);
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break -1;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran {
        rc,
        stdout: std::fs::read_to_string(&o).unwrap_or_default(),
        stderr: std::fs::read_to_string(&e).unwrap_or_default(),
    }
}

/// The mysql scenario: a MariaDB the agent itself initialises and starts.
struct Mysql<'a> {
    dir: &'a Path,
    ns: &'a PrivateSyslog,
}

impl Mysql<'_> {
    fn command(&self, action: &str, params: &[(&str, &str)]) -> Command {
        let d = self.dir;
        let mut c = Command::new(agent("mysql"));
        c.arg(action)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("OCF_ROOT", "/usr/lib/ocf")
            .env("OCF_RA_VERSION_MAJOR", "1")
            .env("OCF_RA_VERSION_MINOR", "1")
            .env("OCF_RESOURCE_INSTANCE", "ocfrs-hd-secret")
            .env("OCF_RESOURCE_TYPE", "mysql")
            .env("OCF_RESOURCE_PROVIDER", "ocfrs")
            .env("OCF_EXIT_REASON_PREFIX", "ocf-exit-reason:")
            .env("OCF_RESKEY_CRM_meta_timeout", "60000")
            .env("OCF_RESKEY_CRM_meta_interval", "10000")
            .env("HA_LOGFACILITY", "local3")
            .env("HA_LOGFILE", d.join("ha.log"))
            .env("HA_DEBUGLOG", d.join("ha-debug.log"))
            .env("HA_debug", "1")
            .env("OCFRS_RUN_DIR", d.join("state"))
            .env("OCF_RESKEY_config", d.join("my.cnf"))
            .env("OCF_RESKEY_datadir", d.join("data"))
            .env("OCF_RESKEY_pid", d.join("run/mysqld.pid"))
            .env("OCF_RESKEY_socket", d.join("run/mysqld.sock"))
            .env("OCF_RESKEY_log", d.join("log/error.log"))
            .env("OCF_RESKEY_enable_creation", "true")
            .env("OCF_RESKEY_client_binary", "/usr/bin/mariadb");
        for (k, v) in params {
            c.env(format!("OCF_RESKEY_{k}"), v);
        }
        self.ns.inside(c)
    }

    fn act(&self, action: &str, params: &[(&str, &str)]) -> Ran {
        let scratch = self.dir.join("scratch");
        std::fs::create_dir_all(&scratch).unwrap();
        run_bounded(
            self.command(action, params),
            &scratch,
            Duration::from_secs(70),
        )
    }

    /// Runs `sql` as root over the socket (on stdin: [`crate::common::mariadb_stdin`]).
    fn sql(&self, sql: &str) {
        crate::common::mariadb_stdin(&self.dir.join("run/mysqld.sock"), sql);
    }
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, busybox and mariadb-server (tests/run.sh setup)"
)]
fn mysql_secrets_appear_nowhere_while_every_action_runs() {
    const MON: &str = "ocfrs-hd-Mon-Pw-5e1d";
    const REPL: &str = "ocfrs-hd-Repl-Pw-0b7c";
    const WRONG: &str = "ocfrs-hd-Wrong-Pw-c4a9";
    let t = TempDir::new("ocfrs-hd-secret");
    let d = t.path();
    crate::common::mysql_datadir(d, 21620);
    let ns = PrivateSyslog::start(d);
    let m = Mysql { dir: d, ns: &ns };
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_for_secrets(vec![MON.into(), REPL.into(), WRONG.into()], stop.clone());
    let mut ran = Vec::new();
    let mut check = |what: &str, r: Ran, rc: i32| {
        assert_eq!(r.rc, rc, "{what}: {r:?}");
        ran.push(r);
    };
    // Start (root over the socket: unix_socket authentication) with both passwords set.
    let root = [("test_passwd", MON), ("replication_passwd", REPL)];
    check("start", m.act("start", &root), 0);
    m.sql(&format!(
        "CREATE USER 'ocfrs-hd-mon'@localhost IDENTIFIED BY '{MON}'; \
         GRANT SELECT ON mysql.* TO 'ocfrs-hd-mon'@localhost"
    ));
    let good_env: Vec<(&str, &str)> = vec![
        ("test_user", "ocfrs-hd-mon"),
        ("test_passwd", MON),
        ("replication_passwd", REPL),
    ];
    let depth10 = |action: &str, params: &[(&str, &str)]| {
        let mut c = m.command(action, params);
        c.env("OCF_CHECK_LEVEL", "10");
        let scratch = d.join("scratch");
        std::fs::create_dir_all(&scratch).unwrap();
        run_bounded(c, &scratch, Duration::from_secs(70))
    };
    check("monitor depth 10", depth10("monitor", &good_env), 0);
    check("validate-all", m.act("validate-all", &good_env), 0);
    check("meta-data", m.act("meta-data", &good_env), 0);
    let wrong = [("test_user", "ocfrs-hd-mon"), ("test_passwd", WRONG)];
    let r = depth10("monitor", &wrong);
    assert!(
        r.stderr.contains("ocfrs-hd-mon") && r.stderr.contains("1045"),
        "the reason names the account and the error: {r:?}"
    );
    check("monitor with a wrong password", r, 1);
    check("stop", m.act("stop", &good_env), 0);
    // Start's final monitor at depth 10 uses the credentials.
    let r = depth10("start", &good_env);
    check("start depth 10", r, 0);
    check("stop again", m.act("stop", &good_env), 0);
    // Our tester, verbose and with the agent's debugging on, with its parameters in a 0600
    // file (--params-file), so that no secret is on its command line either: the sampler
    // keeps running through the whole suite it runs. One parameter stays a -o option (the
    // two ways mix). A file the tester did not read would leave the agent without its
    // datadir and socket: the suite would fail.
    let params = d.join("tester.params");
    let mut text = String::from("# ocfrs-hd secrets test\n\n");
    for (k, v) in [
        ("config", d.join("my.cnf").display().to_string()),
        ("datadir", d.join("data").display().to_string()),
        ("pid", d.join("run/mysqld.pid").display().to_string()),
        ("socket", d.join("run/mysqld.sock").display().to_string()),
        ("log", d.join("log/error.log").display().to_string()),
        ("test_user", "ocfrs-hd-mon".into()),
        ("test_passwd", MON.into()),
        ("replication_passwd", REPL.into()),
    ] {
        text.push_str(&format!("{k}={v}\n"));
    }
    std::fs::write(&params, text).unwrap();
    crate::common::set_mode(&params, 0o644);
    // Open to others: refused before anything runs, naming the mode, not a value.
    let mut tester = Command::new(our_tester());
    tester
        .args(["-n", "ocfrs-hd-secret", "--params-file"])
        .arg(&params)
        .arg(agent("mysql"));
    let scratch = d.join("tester");
    std::fs::create_dir_all(&scratch).unwrap();
    let r = run_bounded(tester, &scratch, Duration::from_secs(30));
    assert!(
        r.rc == 1 && r.stderr.contains("chmod 600") && !r.stderr.contains(MON),
        "a params file open to others is refused: {r:?}"
    );
    crate::common::set_mode(&params, 0o600);
    let mut tester = Command::new(our_tester());
    tester
        .args(["-v", "-d", "-n", "ocfrs-hd-secret", "--params-file"])
        .arg(&params)
        .arg("-o")
        .arg("client_binary=/usr/bin/mariadb")
        .arg("--env")
        .arg("HA_LOGFACILITY=local3")
        .arg("--env")
        .arg(format!("OCFRS_RUN_DIR={}", d.join("state").display()))
        .arg(agent("mysql"));
    let r = run_bounded(ns.inside(tester), &scratch, Duration::from_secs(300));
    stop.store(true, Ordering::SeqCst);
    let (samples, found) = sampler.join().unwrap();
    assert!(samples > 20, "the sampler ran {samples} times only");
    assert!(found.is_empty(), "secret visible: {found:#?}");
    assert!(
        r.stdout.contains("mysql") && r.stdout.lines().count() > 20,
        "the tester ran verbosely: {r:?}"
    );
    assert!(
        r.rc == 0 && r.stdout.contains("passed all tests"),
        "the tester read its parameters from the file and passed: rc {}, {}",
        r.rc,
        crate::common::tester_failures(&r.stdout).join("\n")
    );
    ran.push(r);
    // Every output, log and syslog line.
    let ha = std::fs::read_to_string(d.join("ha.log")).unwrap_or_default();
    let dbg = std::fs::read_to_string(d.join("ha-debug.log")).unwrap_or_default();
    let syslog = ns.messages();
    let errlog = std::fs::read_to_string(d.join("log/error.log")).unwrap_or_default();
    assert!(
        ha.contains("mysql(ocfrs-hd-secret)"),
        "HA_LOGFILE was written: {ha}"
    );
    assert!(dbg.contains("DEBUG:"), "HA_DEBUGLOG has debug lines: {dbg}");
    assert!(
        syslog.contains("mysql(ocfrs-hd-secret)"),
        "syslog has the agent's lines: {syslog}"
    );
    for s in [MON, REPL, WRONG] {
        for r in &ran {
            assert!(
                !r.stdout.contains(s) && !r.stderr.contains(s),
                "secret in an output: {r:?}"
            );
        }
        for (name, text) in [
            ("HA_LOGFILE", &ha),
            ("HA_DEBUGLOG", &dbg),
            ("syslog", &syslog),
            ("the server's error log", &errlog),
        ] {
            assert!(!text.contains(s), "secret in {name}: {text}");
        }
    }
    // Whatever the tester left running is stopped by the agent (never by name).
    let _ = m.act("stop", &[]);
}

#[test]
fn the_sampler_finds_a_secret_on_the_testers_command_line_and_in_an_environment() {
    // The control for the scans above: what they assert absent, the sampler does find. A
    // value given with `-o` is on the tester's command line (why --params-file exists); a
    // variable in a non-agent process's environment is found too.
    const ON_ARGV: &str = "ocfrs-h3-Argv-Pw-91c4";
    const IN_ENV: &str = "ocfrs-h3-Env-Pw-5a07";
    let t = TempDir::new("ocfrs-h3-sampler");
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_for_secrets(vec![ON_ARGV.into(), IN_ENV.into()], stop.clone());
    let mut holder = Command::new("sleep")
        .arg("5")
        .env("OCFRS_H3_PASSWORD", IN_ENV)
        .spawn()
        .unwrap();
    let mut tester = Command::new(our_tester());
    tester
        .args(["-q", "-n", "ocfrs-h3-sampler", "-o"])
        .arg(format!("state={}", t.join("d.state").display()))
        .arg("-o")
        .arg(format!("ocfrs_h3_password={ON_ARGV}"))
        .arg(agent("Dummy"));
    let r = run_bounded(tester, t.path(), Duration::from_secs(60));
    let _ = holder.kill();
    let _ = holder.wait();
    stop.store(true, Ordering::SeqCst);
    let (_, found) = sampler.join().unwrap();
    assert!(r.rc == 0, "the tester passed Dummy: {r:?}");
    let argv = found
        .iter()
        .any(|f| f.starts_with("cmdline of") && f.contains(ON_ARGV));
    let env = found
        .iter()
        .any(|f| f.starts_with("environment of") && f.contains("sleep 5"));
    assert!(
        argv && env,
        "the sampler missed a planted secret: {found:#?}"
    );
}
