//! The daemon toolkit: start a service, wait until it is ready, record it, check it, stop it
//! with escalation; everything inside the action's budget.
//!
//! ```no_run
//! use ocf::daemon::{self, Daemon, Ready};
//! use ocf::process::{Account, Cmd, Escalation, Pidfile};
//! use std::time::Duration;
//! # fn demo(cx: &ocf::Context) -> ocf::Result<()> {
//! let pidfile = Pidfile::new(ocf::files::instance_file(cx, "pid"));
//! let account = Account::lookup("www-data", None)?; // name → uid, gid, supplementary groups
//! let started = Daemon::new(
//!     Cmd::new("/usr/sbin/mydaemon")
//!         .args(["--foreground", "--port", "8080"])
//!         .env_clear()
//!         .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
//!         .cwd("/")
//!         .umask(0o027)
//!         .account(&account),
//! )
//! .log_file("/var/log/mydaemon.log") // its stdout/stderr; the tail explains a failed start
//! .ready(Ready::Tcp("127.0.0.1:8080".parse().unwrap()))
//! .record(pidfile.clone()) // pid + start time, see ocf::process::Pidfile
//! .start(cx.deadline)?;
//! ocf::info!("running as pid {}", started.main.pid);
//!
//! // monitor
//! let running = daemon::status(&pidfile, None)?.is_some();
//! // stop: TERM, wait, then always KILL, the whole family (children, double forks)
//! daemon::stop(&pidfile, None, &Escalation::term_then_kill(), cx.deadline)?;
//! # Ok(()) }
//! ```
//!
//! * **Launch**: [`Daemon::new`] runs a program that stays in the foreground (the process
//!   started is the daemon; it gets a session of its own, so Pacemaker's kill of the agent's
//!   process group on timeout does not reach it). [`Daemon::forking`] is for programs that
//!   daemonize themselves (`apache2 -k start`, `mysqld_safe`): the real pid is read from the
//!   program's own pid file; a launcher that exits non-zero is a failed start.
//! * **Readiness** ([`Ready`]): every condition given must hold; they are polled with back-off
//!   until the start budget ends (minus a reserve to clean up), never with a fixed sleep:
//!   a pid file naming a live process, a TCP or Unix socket that accepts, a banner that
//!   starts with given bytes, or a custom predicate.
//! * **Failure**: when the daemon exits during start or is not ready in time, whatever it
//!   started is stopped (SIGTERM, then SIGKILL) and the error names the exit status and the
//!   last relevant lines its log got during this start (for instance
//!   `sshd exited during start (exit code 255): /etc/ssh/x: No such file or directory`).
//! * **Identity**: [`Daemon::record`] writes the SDK pid file (pid + start time);
//!   [`status`] tells running from stale; [`stop`] stops the recorded process and its whole
//!   [`family`](crate::process::family) (descendants, session, process group) with an
//!   [`Escalation`] (per-agent graceful signals, then SIGKILL inside the budget).
//! * **Probes** for monitors: [`tcp_accepts`], [`unix_accepts`], [`read_banner`].

use crate::deadline::Deadline;
use crate::exit::{Error, Result};
use crate::process::{
    family, spawn_session, stop_family, Cmd, DaemonOutput, Escalation, PidStatus, Pidfile, ProcRef,
};
use std::io::{Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A readiness condition.
pub enum Ready {
    /// This pid file (the daemon's own, any format) names a live process.
    Pidfile(PathBuf),
    /// A TCP connection to this address is accepted.
    Tcp(SocketAddr),
    /// A connection to this Unix stream socket is accepted.
    Unix(PathBuf),
    /// A TCP connection is accepted and the server's first bytes start with `prefix`
    /// (`b"SSH-2.0-"`, `b"220 "`).
    Banner {
        /// Where to connect.
        addr: SocketAddr,
        /// What the first bytes must be.
        prefix: Vec<u8>,
    },
    /// A custom check, named for messages ("replication thread running").
    Custom(String, Box<dyn Fn() -> bool>),
}

impl std::fmt::Debug for Ready {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Ready {
    /// A custom condition.
    pub fn custom(what: impl Into<String>, check: impl Fn() -> bool + 'static) -> Ready {
        Ready::Custom(what.into(), Box::new(check))
    }

    fn describe(&self) -> String {
        match self {
            Ready::Pidfile(p) => format!("pid file {} to name a live process", p.display()),
            Ready::Tcp(a) => format!("TCP {a} to accept"),
            Ready::Unix(p) => format!("socket {} to accept", p.display()),
            Ready::Banner { addr, prefix } => format!(
                "TCP {addr} to send '{}'",
                String::from_utf8_lossy(prefix).trim_end()
            ),
            Ready::Custom(what, _) => what.clone(),
        }
    }

    fn holds(&self, deadline: Deadline) -> bool {
        let probe = deadline.within(Duration::from_secs(1));
        match self {
            Ready::Pidfile(p) => matches!(Pidfile::new(p).status(None), Ok(PidStatus::Running(_))),
            Ready::Tcp(a) => tcp_accepts(*a, probe),
            Ready::Unix(p) => unix_accepts(p, probe),
            Ready::Banner { addr, prefix } => {
                read_banner(*addr, prefix.len().max(1), probe).is_ok_and(|b| b.starts_with(prefix))
            }
            Ready::Custom(_, f) => f(),
        }
    }
}

/// How the program runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Launch {
    Foreground,
    Forking(PathBuf),
}

/// What [`Daemon::start`] started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    /// The daemon's main process: the process started (foreground), or the one its own pid
    /// file names (self-daemonizing). This is what [`Daemon::record`] writes.
    pub main: ProcRef,
    /// The process the agent started (leader of a new session); equal to `main` for
    /// foreground programs; a launcher (possibly gone) for self-daemonizing ones.
    pub leader: ProcRef,
}

/// A daemon to start (see the module docs).
#[derive(Debug)]
pub struct Daemon {
    cmd: Cmd,
    launch: Launch,
    output: DaemonOutput,
    logs: Vec<PathBuf>,
    ready: Vec<Ready>,
    record: Option<Pidfile>,
    cleanup: Escalation,
}

impl Daemon {
    /// A program that stays in the foreground: the process started is the daemon.
    pub fn new(cmd: Cmd) -> Daemon {
        Daemon {
            cmd,
            launch: Launch::Foreground,
            output: DaemonOutput::Null,
            logs: Vec::new(),
            ready: Vec::new(),
            record: None,
            cleanup: Escalation::term_then_kill(),
        }
    }

    /// A program that daemonizes itself and writes its pid to `pidfile`: ready only once
    /// that file names a live process (more conditions may be added), whose identity is
    /// then [`Started::main`].
    pub fn forking(cmd: Cmd, pidfile: impl Into<PathBuf>) -> Daemon {
        let p = pidfile.into();
        let mut d = Daemon::new(cmd);
        d.ready.push(Ready::Pidfile(p.clone()));
        d.launch = Launch::Forking(p);
        d
    }

    /// Append the program's stdout and stderr to `path` (default: discarded). Its new lines
    /// explain a failed start.
    #[must_use]
    pub fn log_file(mut self, path: impl Into<PathBuf>) -> Daemon {
        let p = path.into();
        self.logs.push(p.clone());
        self.output = DaemonOutput::File(p);
        self
    }

    /// Another log file the daemon writes itself (`ErrorLog`, `log-error`, `sshd -E`): its
    /// lines written during this start explain a failed start too.
    #[must_use]
    pub fn explain_with(mut self, path: impl Into<PathBuf>) -> Daemon {
        self.logs.push(path.into());
        self
    }

    /// Add a readiness condition (all must hold).
    #[must_use]
    pub fn ready(mut self, r: Ready) -> Daemon {
        self.ready.push(r);
        self
    }

    /// Record the main process (pid + start time) in `pidfile` once ready.
    #[must_use]
    pub fn record(mut self, pidfile: Pidfile) -> Daemon {
        self.record = Some(pidfile);
        self
    }

    /// How to stop what was started when the start fails (default TERM, then KILL).
    #[must_use]
    pub fn cleanup(mut self, e: Escalation) -> Daemon {
        self.cleanup = e;
        self
    }

    /// Start, wait for every readiness condition within `deadline`, record.
    ///
    /// # Errors
    /// 5 when the program is missing or not executable; 1 when it exits during start, is not
    /// ready in time (both with the log's last lines), or cannot be recorded. What was started
    /// is stopped before the error returns.
    pub fn start(&self, deadline: Deadline) -> Result<Started> {
        let name = program_name(&self.cmd);
        let offsets: Vec<(PathBuf, u64)> = self
            .logs
            .iter()
            .map(|p| {
                (
                    p.clone(),
                    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
                )
            })
            .collect();
        let tail = || log_tail_since(&offsets, 5);
        let mut child = spawn_session(&self.cmd, &self.output)?;
        let leader_pid = child.id() as i32;
        let leader = ProcRef::of(leader_pid);
        // Keep time to clean up after a failure.
        let reserve = (deadline.remaining() / 5).min(Duration::from_secs(2));
        let wait_end = Deadline::at(deadline.instant() - reserve);
        let mut launcher_done = false;
        let mut failure: Option<String> = None;
        let outcome = wait_end.wait_until(Duration::from_millis(100), || {
            if !launcher_done {
                if let Ok(Some(status)) = child.try_wait() {
                    let ok = status.success() && self.launch != Launch::Foreground;
                    if !ok {
                        failure = Some(format!(
                            "{name} exited during start ({})",
                            describe_status(&status)
                        ));
                        return Some(None);
                    }
                    launcher_done = true;
                }
            }
            self.ready
                .iter()
                .all(|r| r.holds(wait_end))
                .then_some(Some(()))
        });
        let fail = |reason: String, main: Option<ProcRef>| -> Error {
            let text = tail();
            for p in [leader, main].into_iter().flatten() {
                let _ = stop_family(p, &self.cleanup, deadline);
            }
            if let Some(pf) = &self.record {
                let _ = pf.remove();
            }
            if text.is_empty() {
                Error::generic(reason)
            } else {
                Error::generic(format!("{reason}: {text}"))
            }
        };
        if outcome != Some(Some(())) {
            let reason = failure.take().unwrap_or_else(|| {
                let waiting: Vec<String> = self
                    .ready
                    .iter()
                    .filter(|r| !r.holds(deadline.within(Duration::from_millis(200))))
                    .map(Ready::describe)
                    .collect();
                format!(
                    "{name} not ready within the start budget (waited for {})",
                    if waiting.is_empty() {
                        "readiness".to_string()
                    } else {
                        waiting.join(", ")
                    }
                )
            });
            let main = match &self.launch {
                Launch::Forking(p) => Pidfile::new(p).running(None).ok().flatten(),
                Launch::Foreground => None,
            };
            return Err(fail(reason, main));
        }
        let main = match &self.launch {
            Launch::Foreground => leader,
            Launch::Forking(p) => Pidfile::new(p).running(None).ok().flatten(),
        };
        let (Some(main), Some(leader)) = (main, leader.or(main)) else {
            return Err(fail(format!("{name} exited during start"), None));
        };
        if let Some(pf) = &self.record {
            if let Err(e) = pf.write_identity(main) {
                return Err(fail(e.reason().to_string(), Some(main)));
            }
        }
        // The agent exits soon; init reaps the daemon later. Keep no handle.
        std::mem::forget(child);
        Ok(Started { main, leader })
    }
}

fn program_name(cmd: &Cmd) -> String {
    let p = cmd.program();
    Path::new(&p)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or(p)
}

fn describe_status(s: &std::process::ExitStatus) -> String {
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(sig)) => format!(
            "killed by {}",
            nix::sys::signal::Signal::try_from(sig)
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|_| format!("signal {sig}"))
        ),
        _ => "unknown status".to_string(),
    }
}

/// The last `lines` non-empty lines written to each file after its offset, joined with
/// `" | "` and cut to 400 characters (for an exit reason).
fn log_tail_since(files: &[(PathBuf, u64)], lines: usize) -> String {
    let mut out: Vec<String> = Vec::new();
    for (path, from) in files {
        let Ok(mut f) = std::fs::File::open(path) else {
            continue;
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        // A rotated or truncated log restarts at 0; read at most the last 64 KiB.
        let start = if len < *from { 0 } else { *from }.max(len.saturating_sub(65536));
        if f.seek(SeekFrom::Start(start)).is_err() {
            continue;
        }
        let mut buf = Vec::new();
        let _ = f.take(65536).read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf);
        let mut l: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        let n = l.len();
        out.extend(l.drain(n.saturating_sub(lines)..));
    }
    let mut s = out.join(" | ");
    if s.chars().count() > 400 {
        s = s.chars().skip(s.chars().count() - 400).collect();
        s.insert_str(0, "...");
    }
    s
}

/// The last `lines` non-empty lines of a log file, joined with `" | "` (for an exit reason;
/// empty when unreadable).
pub fn log_tail(path: &Path, lines: usize) -> String {
    log_tail_since(&[(path.to_path_buf(), 0)], lines)
}

/// The recorded process, when it runs (pid **and** start time match; `exe` checked when
/// given). A missing or stale pid file is `None`.
///
/// # Errors
/// 1 when the pid file is unreadable or malformed.
pub fn status(pidfile: &Pidfile, exe: Option<&Path>) -> Result<Option<ProcRef>> {
    pidfile.running(exe)
}

/// Stop the recorded daemon and its whole family with `escalation` inside `deadline`, then
/// remove the pid file. Nothing recorded, or a stale record, is success (what cannot be
/// running is stopped), but orphans of a dead main process found by its session are still
/// stopped when the record has a start time.
///
/// # Errors
/// 1 when processes survive SIGKILL, or the pid file is unreadable.
pub fn stop(
    pidfile: &Pidfile,
    exe: Option<&Path>,
    escalation: &Escalation,
    deadline: Deadline,
) -> Result<()> {
    let target = match pidfile.status(exe)? {
        PidStatus::Running(p) => Some(p),
        // The main process is gone, but children it left in its session may not be.
        PidStatus::Stale(_) => pidfile.read_record()?.and_then(|r| r.identity()),
        PidStatus::Missing => None,
    };
    if let Some(p) = target {
        if !family(p).is_empty() {
            stop_family(p, escalation, deadline)?;
        }
    }
    pidfile.remove()
}

/// Whether a TCP connection to `addr` is accepted before `deadline`.
pub fn tcp_accepts(addr: SocketAddr, deadline: Deadline) -> bool {
    let left = deadline.remaining();
    !left.is_zero() && TcpStream::connect_timeout(&addr, left).is_ok()
}

/// Whether a connection to the Unix stream socket `path` is accepted (a connect to a Unix
/// socket does not block on a listening server; `deadline` bounds nothing else).
pub fn unix_accepts(path: &Path, deadline: Deadline) -> bool {
    !deadline.expired() && UnixStream::connect(path).is_ok()
}

/// Connect to `addr` and read the server's first bytes: up to `max` bytes or the first
/// line, whichever comes first, before `deadline`.
///
/// # Errors
/// 1 (naming the address) when the connection is refused, or nothing arrives in time.
pub fn read_banner(addr: SocketAddr, max: usize, deadline: Deadline) -> Result<Vec<u8>> {
    let left = deadline.remaining();
    if left.is_zero() {
        return Err(Error::generic(format!("{addr}: no time left to connect")));
    }
    let mut s = TcpStream::connect_timeout(&addr, left)
        .map_err(|e| Error::generic(format!("connect to {addr}: {e}")))?;
    let mut got = Vec::new();
    let mut chunk = [0u8; 256];
    while got.len() < max && !got.contains(&b'\n') {
        let left = deadline.remaining();
        if left.is_zero() {
            break;
        }
        let _ = s.set_read_timeout(Some(left));
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(_) => break,
        }
    }
    if got.is_empty() {
        return Err(Error::generic(format!(
            "{addr}: connected, but no banner within the budget"
        )));
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::{in_session_or_group, Account, Proc};
    use std::time::Instant;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ocfdmn-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A server that starts listening only after `delay_ms` and greets every client.
    fn late_server(port: u16, delay_ms: u64) -> Cmd {
        Cmd::new("/usr/bin/python3").arg("-c").arg(format!(
            "import socket,time\ntime.sleep({})\ns=socket.socket()\n\
             s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
             s.bind(('127.0.0.1',{port}))\ns.listen()\nprint('listening',flush=True)\n\
             while True:\n  c,_=s.accept()\n  c.sendall(b'SSH-2.0-fake\\r\\n')\n  c.close()\n",
            delay_ms as f64 / 1000.0
        ))
    }

    #[test]
    fn foreground_daemon_waits_for_banner_and_stops() {
        let d = tmp("banner");
        let addr: SocketAddr = "127.0.0.1:12201".parse().unwrap();
        let pf = Pidfile::new(d.join("x.pid"));
        let t = Instant::now();
        let s = Daemon::new(late_server(12201, 400))
            .log_file(d.join("out.log"))
            .ready(Ready::Banner {
                addr,
                prefix: b"SSH-2.0-".to_vec(),
            })
            .record(pf.clone())
            .start(Deadline::after(Duration::from_secs(20)))
            .unwrap();
        assert!(t.elapsed() >= Duration::from_millis(400));
        assert_eq!(s.main, s.leader);
        // Ready means ready: no sleep needed before using it.
        let b = read_banner(addr, 64, Deadline::after(Duration::from_secs(2))).unwrap();
        assert!(b.starts_with(b"SSH-2.0-fake"));
        assert_eq!(status(&pf, None).unwrap(), Some(s.main));
        let text = std::fs::read_to_string(&pf.path).unwrap();
        assert_eq!(
            text,
            format!("{}\nstart={}\n", s.main.pid, s.main.start_ticks)
        );
        assert_eq!(
            Proc::read(s.main.pid).unwrap().sid,
            s.main.pid,
            "own session"
        );
        stop(
            &pf,
            None,
            &Escalation::term_then_kill(),
            Deadline::after(Duration::from_secs(10)),
        )
        .unwrap();
        assert!(!s.main.is_alive());
        assert!(!tcp_accepts(addr, Deadline::after(Duration::from_secs(1))));
        assert_eq!(status(&pf, None).unwrap(), None);
        // Stopping what is not running is success.
        stop(
            &pf,
            None,
            &Escalation::term_then_kill(),
            Deadline::after(Duration::from_secs(1)),
        )
        .unwrap();
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn death_during_start_reports_the_log_tail() {
        let d = tmp("dies");
        let pf = Pidfile::new(d.join("x.pid"));
        let e = Daemon::new(
            Cmd::new("sh")
                .arg("-c")
                .arg("echo starting; echo 'line 3: bad option Frobnicate' >&2; echo; exit 3"),
        )
        .log_file(d.join("out.log"))
        .ready(Ready::Tcp("127.0.0.1:12202".parse().unwrap()))
        .record(pf.clone())
        .start(Deadline::after(Duration::from_secs(10)))
        .unwrap_err();
        let r = e.reason();
        assert!(r.starts_with("sh exited during start (exit code 3)"), "{r}");
        assert!(r.contains("line 3: bad option Frobnicate"), "{r}");
        assert!(!pf.path.exists());
        // A second start reports only its own lines.
        let e = Daemon::new(Cmd::new("sh").arg("-c").arg("kill -9 $$"))
            .log_file(d.join("out.log"))
            .ready(Ready::Tcp("127.0.0.1:12202".parse().unwrap()))
            .start(Deadline::after(Duration::from_secs(10)))
            .unwrap_err();
        assert_eq!(e.reason(), "sh exited during start (killed by SIGKILL)");
        let e = Daemon::new(Cmd::new("/nonexistent/ocfdmn"))
            .start(Deadline::after(Duration::from_secs(1)))
            .unwrap_err();
        assert_eq!(e.rc(), crate::Rc::ErrInstalled);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn not_ready_in_time_is_stopped_within_the_budget() {
        let d = tmp("slow");
        let t = Instant::now();
        let e = Daemon::new(
            Cmd::new("sh")
                .arg("-c")
                .arg("echo still loading; trap '' TERM; sleep 60 & wait"),
        )
        .log_file(d.join("out.log"))
        .ready(Ready::Unix(d.join("never.sock")))
        .ready(Ready::custom("the moon to rise", || false))
        .start(Deadline::after(Duration::from_secs(2)))
        .unwrap_err();
        assert!(
            t.elapsed() < Duration::from_millis(2500),
            "{:?}",
            t.elapsed()
        );
        let r = e.reason();
        assert!(r.contains("not ready within the start budget"), "{r}");
        assert!(r.contains("never.sock to accept, the moon to rise"), "{r}");
        assert!(r.ends_with(": still loading"), "{r}");
        // Nothing of it is left (the TERM-ignoring shell and its sleep were killed).
        let me = std::process::id() as i32;
        assert!(crate::process::processes().iter().all(|p| p.ppid != me
            || !p
                .cmdline()
                .iter()
                .any(|a| a.to_string_lossy().contains("still loading"))));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn self_daemonizing_program_found_through_its_pidfile() {
        let d = tmp("forking");
        let own = d.join("own.pid");
        let pf = Pidfile::new(d.join("agent.pid"));
        let script = format!(
            "(exec sleep 60) & sleep 0.3; echo $! > {}; exit 0",
            own.display()
        );
        let s = Daemon::forking(Cmd::new("sh").arg("-c").arg(script), &own)
            .record(pf.clone())
            .start(Deadline::after(Duration::from_secs(10)))
            .unwrap();
        assert_ne!(s.main, s.leader);
        assert_eq!(Proc::read(s.main.pid).unwrap().comm, "sleep");
        assert_eq!(status(&pf, None).unwrap(), Some(s.main));
        stop(
            &pf,
            None,
            &Escalation::term_then_kill(),
            Deadline::after(Duration::from_secs(5)),
        )
        .unwrap();
        assert!(!s.main.is_alive());
        // A launcher that fails is a failed start.
        let e = Daemon::forking(
            Cmd::new("sh")
                .arg("-c")
                .arg("echo 'cannot bind' >&2; exit 1"),
            &own,
        )
        .log_file(d.join("out.log"))
        .start(Deadline::after(Duration::from_secs(5)))
        .unwrap_err();
        assert!(
            e.reason().contains("exit code 1): cannot bind"),
            "{}",
            e.reason()
        );
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn double_forking_daemon_is_stopped_completely() {
        let d = tmp("dfork");
        let pf = Pidfile::new(d.join("x.pid"));
        // A child that ignores TERM, a grandchild orphaned to init (double fork), and a
        // leader that exits first.
        let s = Daemon::new(
            Cmd::new("sh")
                .arg("-c")
                .arg("(trap '' TERM; exec sleep 300) & ( (exec sleep 301) & ) ; sleep 302 & wait"),
        )
        .record(pf.clone())
        .ready(Ready::custom("three sleeps", || true))
        .start(Deadline::after(Duration::from_secs(5)))
        .unwrap();
        let members = || {
            in_session_or_group(Some(s.leader.pid), None)
                .into_iter()
                .map(|p| p.identity())
                .collect::<Vec<_>>()
        };
        Deadline::after(Duration::from_secs(5)).wait_until(Duration::from_millis(10), || {
            (members().len() >= 4).then_some(())
        });
        let all = members();
        assert!(all.len() >= 4, "{all:?}");
        let orphan = all
            .iter()
            .find(|p| {
                Proc::read(p.pid).is_some_and(|q| q.ppid != s.leader.pid && q.pid != s.leader.pid)
            })
            .copied();
        assert!(orphan.is_some(), "a re-parented member exists: {all:?}");
        // The leader dies first; its orphans must still be found and stopped.
        s.leader.signal(nix::sys::signal::Signal::SIGKILL);
        Deadline::after(Duration::from_secs(5)).wait_until(Duration::from_millis(10), || {
            (!s.leader.is_alive()).then_some(())
        });
        assert_eq!(
            status(&pf, None).unwrap(),
            None,
            "stale once the leader is gone"
        );
        let t = Instant::now();
        stop(
            &pf,
            None,
            &Escalation::term_then_kill(),
            Deadline::after(Duration::from_secs(3)),
        )
        .unwrap();
        assert!(t.elapsed() < Duration::from_secs(3));
        let left: Vec<_> = all.iter().filter(|p| p.is_alive()).collect();
        assert!(left.is_empty(), "still alive: {left:?}");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn accounts_by_name_set_supplementary_groups() {
        let root = Account::lookup("root", None).unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(root.groups.contains(&0));
        let nobody = Account::lookup("nobody", Some("nogroup")).unwrap();
        assert_eq!(Account::lookup("65534", None).unwrap().uid, nobody.uid);
        let e = Account::lookup("ocfdmn-no-such-user", None).unwrap_err();
        assert_eq!(e.rc(), crate::Rc::ErrInstalled);
        assert_eq!(
            Account::lookup("root", Some("ocfdmn-no-such-group"))
                .unwrap_err()
                .rc(),
            crate::Rc::ErrInstalled
        );
        let mut a = nobody.clone();
        a.groups = vec![nobody.gid, 4];
        let out = Cmd::new("sh")
            .arg("-c")
            .arg("id -u; id -g; id -G; umask")
            .account(&a)
            .umask(0o027)
            .rlimit(crate::process::Resource::RLIMIT_NOFILE, 77, 77)
            .run(Deadline::after(Duration::from_secs(5)));
        if nix::unistd::geteuid().is_root() {
            let out = out.unwrap();
            assert_eq!(
                out.stdout_text(),
                format!("{}\n{}\n{} 4\n0027\n", nobody.uid, nobody.gid, nobody.gid)
            );
            let lim = Cmd::new("sh")
                .arg("-c")
                .arg("ulimit -n")
                .rlimit(crate::process::Resource::RLIMIT_NOFILE, 77, 77)
                .run(Deadline::after(Duration::from_secs(5)))
                .unwrap();
            assert_eq!(lim.stdout_text(), "77\n");
        } else {
            // Without root the switch must fail, not run as the caller.
            assert!(out.is_err() || !out.unwrap().success());
        }
    }
}
