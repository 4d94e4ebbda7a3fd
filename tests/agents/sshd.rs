//! sshd against real OpenSSH (openssh-server, openssh-client): the agent and the clients act
//! inside a network namespace the test creates (`ocfsshd-<test>`), where the service address
//! 198.51.100.22 lives on `lo`; sshd listens on port 12222 there, with a private
//! configuration, host key directory (`host_key_dir`) and client key under a temporary
//! directory. Clients log in with strict host key checking against that host key.
//!
//! The agent runs from a thread that entered the namespace (children inherit the calling
//! thread's namespace), so it is the real binary under `resource.d/ocfrs/sshd`, as Pacemaker
//! would run it; the testers run through `ip netns exec`.
use crate::common::{agent, run, sh, TempDir};
use ocf::testing::Run;
use ocf::Rc;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADDR: &str = "198.51.100.22";
const PORT: &str = "12222";

/// A network namespace with the service address on `lo`, deleted on drop.
struct Ns(String);

impl Ns {
    fn new(tag: &str) -> Ns {
        // Concurrent `ip netns add` calls race while /run/netns becomes a shared mount (a
        // name can end up without its namespace bound): create one at a time, check it, retry.
        static CREATE: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = CREATE.lock().unwrap_or_else(|p| p.into_inner());
        let name = format!("ocfsshd-{tag}");
        for _ in 0..5 {
            let _ = sh(Command::new("ip").args(["netns", "del", &name]));
            let (rc, out, err) = sh(Command::new("ip").args(["netns", "add", &name]));
            assert_eq!(rc, 0, "ip netns add {name}: {out}{err}");
            let (ok, _, _) = sh(Command::new("ip").args(["netns", "exec", &name, "true"]));
            if ok == 0 {
                break;
            }
        }
        for args in [
            vec!["-n", &name, "link", "set", "lo", "up"],
            vec![
                "-n",
                &name,
                "addr",
                "add",
                &format!("{ADDR}/32"),
                "dev",
                "lo",
            ],
        ] {
            let (rc, out, err) = sh(Command::new("ip").args(&args));
            assert_eq!(rc, 0, "ip {args:?}: {out}{err}");
        }
        Ns(name)
    }

    /// Run `f` in a thread inside the namespace (processes it starts stay there).
    fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|s| {
            s.spawn(|| {
                ocf::net::enter_netns(&self.0).unwrap_or_else(|e| panic!("enter {}: {e}", self.0));
                f()
            })
            .join()
            .unwrap()
        })
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = sh(Command::new("ip").args(["netns", "del", &self.0]));
    }
}

/// Keys, configuration and the agent invocation for one sshd instance.
struct Setup {
    ns: Ns,
    dir: TempDir,
}

fn keygen(path: &Path) {
    let (rc, out, err) = sh(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path));
    assert_eq!(rc, 0, "ssh-keygen: {out}{err}");
}

impl Setup {
    fn new(tag: &str) -> Setup {
        assert!(
            Path::new("/usr/sbin/sshd").exists(),
            "openssh-server is not installed (tests/run.sh setup)"
        );
        let ns = Ns::new(tag);
        let dir = TempDir::new(&format!("ocfsshd-{tag}"));
        std::fs::create_dir(dir.join("keys")).unwrap();
        keygen(&dir.join("keys/ssh_host_ed25519_key"));
        keygen(&dir.join("client_key"));
        std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
        let host_pub = std::fs::read_to_string(dir.join("keys/ssh_host_ed25519_key.pub")).unwrap();
        let mut it = host_pub.split_whitespace();
        let (kt, key) = (it.next().unwrap(), it.next().unwrap());
        std::fs::write(
            dir.join("known_hosts"),
            format!("[{ADDR}]:{PORT} {kt} {key}\n"),
        )
        .unwrap();
        std::fs::write(
            dir.join("sshd_config"),
            format!(
                "AuthorizedKeysFile {}\nPermitRootLogin prohibit-password\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                 StrictModes no\n",
                dir.join("authorized_keys").display()
            ),
        )
        .unwrap();
        Setup { ns, dir }
    }

    fn params(&self) -> Vec<(String, String)> {
        vec![
            (
                "config".into(),
                self.dir.join("sshd_config").display().to_string(),
            ),
            ("listen_address".into(), ADDR.into()),
            ("port".into(), PORT.into()),
            (
                "host_key_dir".into(),
                self.dir.join("keys").display().to_string(),
            ),
            ("pidfile".into(), self.pidfile().display().to_string()),
        ]
    }

    fn pidfile(&self) -> PathBuf {
        self.dir.join("sshd.pid")
    }

    fn agent(&self) -> Run {
        let mut r = run("sshd")
            .env("OCF_ROOT", "/usr/lib/ocf")
            .env("OCFRS_RUN_DIR", self.dir.path())
            .timeout(Duration::from_secs(20));
        for (k, v) in self.params() {
            r = r.param(&k, v);
        }
        r
    }

    /// Run an agent action inside the namespace.
    fn act(&self, r: Run) -> ocf::testing::Outcome {
        self.ns.run(move || r.run())
    }

    fn ssh_cmd(&self, remote: &str) -> Command {
        let mut c = Command::new("ssh");
        c.args(["-p", PORT, "-i"])
            .arg(self.dir.join("client_key"))
            .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"])
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.dir.join("known_hosts").display()
            ))
            .args(["-o", "ConnectTimeout=5", &format!("root@{ADDR}"), remote]);
        c
    }

    /// A one-shot login: (exit code, stdout, stderr).
    fn login(&self, remote: &str) -> (i32, String, String) {
        self.ns.run(|| sh(&mut self.ssh_cmd(remote)))
    }

    /// An open session: the remote side prints "up" and waits for stdin to close.
    fn session(&self) -> Child {
        let mut c = self.ns.run(|| {
            self.ssh_cmd("echo up; read x; exit 0")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        });
        let mut line = String::new();
        BufReader::new(c.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "up\n", "the session did not open");
        c
    }
}

impl Drop for Setup {
    /// A failed test leaves no listener behind: the one recorded in the pid file (pid and
    /// start time) is killed.
    fn drop(&mut self) {
        if let Ok(Some(p)) = ocf::process::Pidfile::new(self.pidfile()).running(None) {
            p.signal(nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// Whether `pid` is gone (or a zombie: its parent is init, which reaps when it can).
fn gone(pid: i32) -> bool {
    ocf::process::Proc::read(pid).is_none_or(|p| p.is_zombie())
}

/// Wait (bounded) for a child to exit; `None` if it still runs after `d`.
fn exits_within(c: &mut Child, d: Duration) -> Option<std::process::ExitStatus> {
    ocf::Deadline::after(d).wait_until(Duration::from_millis(20), || c.try_wait().unwrap())
}

#[test]
#[cfg_attr(not(feature = "root-tests"), ignore = "needs root and openssh-server")]
fn sshd_serves_logins_and_stop_keeps_or_ends_sessions() {
    let s = Setup::new("life");
    s.act(s.agent().action("validate-all"))
        .assert_rc(Rc::Success);
    s.act(s.agent().action("monitor").probe())
        .assert_rc(Rc::NotRunning);
    s.act(s.agent().action("start")).assert_rc(Rc::Success);
    // Ready means ready: a login right after start works, with the shared host key.
    let (rc, out, err) = s.login("echo hello");
    assert_eq!((rc, out.as_str()), (0, "hello\n"), "{err}");
    let pid_text = std::fs::read_to_string(s.pidfile()).unwrap();
    assert!(
        pid_text.lines().nth(1).unwrap().starts_with("start="),
        "{pid_text}"
    );
    let listener: i32 = pid_text.lines().next().unwrap().parse().unwrap();
    s.act(s.agent().action("start")).assert_rc(Rc::Success);
    s.act(s.agent().action("monitor").recurring())
        .assert_rc(Rc::Success);
    s.act(s.agent().action("monitor").recurring().depth(10))
        .assert_rc(Rc::Success);

    // Default: stop ends the listener, an open session survives.
    let mut kept = s.session();
    s.act(s.agent().action("stop")).assert_rc(Rc::Success);
    assert!(gone(listener), "listener still there");
    s.act(s.agent().action("monitor").recurring())
        .assert_rc(Rc::NotRunning);
    let (rc, _, _) = s.login("true");
    assert_eq!(rc, 255, "a new login must be refused after stop");
    assert!(
        exits_within(&mut kept, Duration::from_secs(1)).is_none(),
        "the open session was ended by stop"
    );
    drop(kept.stdin.take()); // the remote `read` ends, the session closes normally
    assert_eq!(
        exits_within(&mut kept, Duration::from_secs(5)).map(|s| s.code()),
        Some(Some(0))
    );

    // kill_sessions=true: stop ends open sessions too.
    s.act(s.agent().action("start")).assert_rc(Rc::Success);
    let mut ended = s.session();
    let t = Instant::now();
    s.act(s.agent().param("kill_sessions", "true").action("stop"))
        .assert_rc(Rc::Success);
    assert!(
        exits_within(&mut ended, Duration::from_secs(5)).is_some(),
        "the session survived kill_sessions=true"
    );
    assert!(t.elapsed() < Duration::from_secs(10));
    s.act(s.agent().action("stop")).assert_rc(Rc::Success);

    // A listener that hangs (SIGSTOP): depth 10 fails inside its budget, stop still works.
    s.act(s.agent().action("start")).assert_rc(Rc::Success);
    let pid: i32 = std::fs::read_to_string(s.pidfile())
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .unwrap();
    let t = Instant::now();
    s.act(
        s.agent()
            .action("monitor")
            .recurring()
            .depth(10)
            .timeout(Duration::from_secs(5)),
    )
    .assert_rc(Rc::ErrGeneric)
    .assert_reason_contains("no banner");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    s.act(s.agent().action("stop").timeout(Duration::from_secs(5)))
        .assert_rc(Rc::Success);
    assert!(gone(pid));
}

#[test]
#[cfg_attr(not(feature = "root-tests"), ignore = "needs root and openssh-server")]
fn sshd_configuration_errors_are_reported_with_sshds_message() {
    let s = Setup::new("bad");
    let conf = s.dir.join("sshd_config");
    let good = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, format!("{good}Frobnicate yes\n")).unwrap();
    for action in ["validate-all", "start"] {
        s.act(s.agent().action(action))
            .assert_rc(Rc::ErrConfigured)
            .assert_reason_contains("Bad configuration option: Frobnicate");
    }
    // A bad -o option is sshd's verdict too.
    std::fs::write(&conf, &good).unwrap();
    s.act(
        s.agent()
            .param("options", "-o NoSuchOption=1")
            .action("validate-all"),
    )
    .assert_rc(Rc::ErrConfigured)
    .assert_reason_contains("NoSuchOption");
    // Host problems are 5: no host key in host_key_dir, missing binary, missing config.
    let empty = s.dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    s.act(
        s.agent()
            .param("host_key_dir", &empty)
            .action("validate-all"),
    )
    .assert_rc(Rc::ErrInstalled)
    .assert_reason_contains("no ssh_host_*_key");
    std::fs::write(empty.join("ssh_host_ed25519_key"), "not a key\n").unwrap();
    s.act(
        s.agent()
            .param("host_key_dir", &empty)
            .action("validate-all"),
    )
    .assert_rc(Rc::ErrInstalled)
    .assert_reason_contains("host key");
    s.act(
        s.agent()
            .param("sshd", "/nonexistent/sshd")
            .action("validate-all"),
    )
    .assert_rc(Rc::ErrInstalled);
    s.act(
        s.agent()
            .param("config", s.dir.join("nonexistent"))
            .action("start"),
    )
    .assert_rc(Rc::ErrInstalled);
    // An address that is not on this node: start fails (1) and says so.
    s.act(
        s.agent()
            .param("listen_address", "198.51.100.99")
            .action("start"),
    )
    .assert_rc(Rc::ErrGeneric)
    .assert_reason_contains("not configured on this node");
    s.act(s.agent().action("monitor").probe())
        .assert_rc(Rc::NotRunning);
}

#[test]
#[cfg_attr(not(feature = "root-tests"), ignore = "needs root and openssh-server")]
fn sshd_passes_the_shell_and_our_ocf_tester() {
    let s = Setup::new("tester");
    let mut opts: Vec<String> = Vec::new();
    for (k, v) in s.params() {
        opts.push("-o".into());
        opts.push(format!("{k}={v}"));
    }
    let path = agent("sshd");
    let (rc, out, err) = sh(Command::new("ip")
        .args([
            "netns",
            "exec",
            &s.ns.0,
            "/usr/sbin/ocf-tester",
            "-n",
            "ocfsshd",
        ])
        .env("OCF_ROOT", "/usr/lib/ocf")
        .env("OCFRS_RUN_DIR", s.dir.path())
        .args(&opts)
        .arg(&path));
    assert_eq!(rc, 0, "shell ocf-tester:\n{out}\n{err}");
    assert!(out.contains("passed all tests"), "{out}");
    for profile in ["pacemaker", "legacy"] {
        let (rc, out, err) = sh(Command::new("ip")
            .args(["netns", "exec", &s.ns.0])
            .arg(crate::common::our_tester())
            .args(["--profile", profile, "-n", "ocfsshd"])
            .env("OCFRS_RUN_DIR", s.dir.path())
            .args(&opts)
            .arg(&path));
        assert_eq!(rc, 0, "ocf-tester --profile {profile}:\n{out}\n{err}");
        assert!(out.contains("passed all tests"), "{out}");
    }
    assert!(!s.pidfile().exists());
}
