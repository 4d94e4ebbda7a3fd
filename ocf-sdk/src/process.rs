//! Child processes and daemons, always bounded by a [`Deadline`], never through a shell.
//!
//! * [`Cmd`]: run a program with an argv (no shell), optional stdin data (the way to hand
//!   a secret to a child: never on argv), captured stdout/stderr, in its own process group;
//!   on expiry the whole group gets SIGKILL and the call fails with code 1.
//! * [`spawn_daemon`]: start a long-running process in its own session, detached from the
//!   agent's process group (Pacemaker SIGKILLs the agent's group on timeout).
//! * [`Proc`]/[`processes`]: read `/proc` (pid, parent, state, start time, exe, argv) to find
//!   processes by executable and arguments; [`ProcRef`] identifies a process by pid **and**
//!   start time, so a recycled pid is never mistaken for the original.
//! * [`Pidfile`]: read/write pid files and tell running from stale (a pid reused by another
//!   program is stale: the executable or the start time give it away).
//! * [`stop_processes`]: signal escalation (e.g. TERM, wait, KILL) inside a budget.

use crate::deadline::Deadline;
use crate::exit::{Error, Rc, Result};
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

/// Find an executable: a path containing `/` is checked as is, a bare name is looked up in
/// `PATH` (as `Cmd::new` would run it). `None` when absent or not executable.
pub fn which(program: impl AsRef<Path>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let program = program.as_ref();
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.as_os_str().as_bytes().contains(&b'/') {
        return executable(program).then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| executable(p))
}

/// The captured result of a finished command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Exit code, or `None` when killed by a signal.
    pub code: Option<i32>,
    /// Terminating signal, if any.
    pub signal: Option<i32>,
    /// Captured stdout.
    pub stdout: Vec<u8>,
    /// Captured stderr.
    pub stderr: Vec<u8>,
}

impl Output {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
    /// stdout as (lossy) text.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    /// stderr as (lossy) text.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    /// stdout and stderr squashed into one line (for logs and exit reasons).
    pub fn one_line(&self) -> String {
        let s = format!("{} {}", self.stdout_text(), self.stderr_text());
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// A command to run: program plus argv, never a shell string.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    env_clear: bool,
    cwd: Option<PathBuf>,
    stdin: Option<Vec<u8>>,
    user: Option<(u32, u32)>,
    close_stdin_stderr: bool,
}

/// How a [`Cmd::run_bounded`] run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// Exit status and whatever output was captured (up to the kill, on a timeout).
    pub output: Output,
    /// The deadline passed: the process group was killed with SIGKILL.
    pub timed_out: bool,
    /// Wall-clock time from spawn to exit (or kill).
    pub elapsed: Duration,
}

impl Cmd {
    /// A command running `program` (a path, or a name looked up in `PATH`).
    pub fn new(program: impl AsRef<OsStr>) -> Cmd {
        Cmd {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            env_clear: false,
            cwd: None,
            stdin: None,
            user: None,
            close_stdin_stderr: false,
        }
    }
    /// Add one argument.
    #[must_use]
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Cmd {
        self.args.push(a.as_ref().to_owned());
        self
    }
    /// Add arguments.
    #[must_use]
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Cmd {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }
    /// Set an environment variable for the child.
    #[must_use]
    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Cmd {
        self.env
            .push((k.as_ref().to_owned(), Some(v.as_ref().to_owned())));
        self
    }
    /// Remove an environment variable for the child.
    #[must_use]
    pub fn env_remove(mut self, k: impl AsRef<OsStr>) -> Cmd {
        self.env.push((k.as_ref().to_owned(), None));
        self
    }
    /// Start from an empty environment.
    #[must_use]
    pub fn env_clear(mut self) -> Cmd {
        self.env_clear = true;
        self
    }
    /// Working directory.
    #[must_use]
    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Cmd {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }
    /// Data written to the child's stdin (then closed). Use this for secrets.
    #[must_use]
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(data.into());
        self
    }

    /// Run the child as `uid`/`gid` (supplementary groups dropped). Needs root.
    #[must_use]
    pub fn user(mut self, uid: u32, gid: u32) -> Cmd {
        self.user = Some((uid, gid));
        self
    }

    /// Start the child with file descriptors 0 and 2 **closed** (not `/dev/null`), the way
    /// rgmanager runs `meta-data`. Its stderr is then not captured.
    #[must_use]
    pub fn close_stdin_stderr(mut self) -> Cmd {
        self.close_stdin_stderr = true;
        self
    }

    /// The program name for messages.
    pub fn program(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }

    /// The argv for logs: program and arguments, shell-quoted for reading only.
    pub fn display(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| {
                let s = crate::env::display_bytes(a);
                if !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c))
                {
                    s
                } else {
                    format!("'{}'", s.replace('\'', "'\\''"))
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args);
        if self.env_clear {
            c.env_clear();
        }
        for (k, v) in &self.env {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        if let Some(d) = &self.cwd {
            c.current_dir(d);
        }
        if let Some((uid, gid)) = self.user {
            c.uid(uid).gid(gid);
        }
        c
    }

    /// Run within `deadline` like [`Cmd::run`], but a timeout is a result, not an error:
    /// the process group is killed and [`Finished::timed_out`] is set, keeping the output
    /// captured so far. After the child exits, its pipes are read for at most `pipe_grace`
    /// more and never past the deadline (a daemon it left behind may hold them open); after
    /// a kill, for `pipe_grace`.
    ///
    /// # Errors
    /// 5 when the program does not exist or is not executable; 1 when it cannot be started.
    pub fn run_bounded(&self, deadline: Deadline, pipe_grace: Duration) -> Result<Finished> {
        let mut c = self.command();
        c.process_group(0)
            .stdout(Stdio::piped())
            .stderr(if self.close_stdin_stderr {
                Stdio::null()
            } else {
                Stdio::piped()
            });
        c.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        if self.close_stdin_stderr {
            // SAFETY: close(2) is async-signal-safe and touches no memory of the parent.
            unsafe {
                c.pre_exec(|| {
                    libc::close(0);
                    libc::close(2);
                    Ok(())
                });
            }
        }
        let started = std::time::Instant::now();
        let mut child = c.spawn().map_err(|e| spawn_error(&self.program(), &e))?;
        let pgid = Pid::from_raw(child.id() as i32);
        if let (Some(data), Some(mut sin)) = (self.stdin.clone(), child.stdin.take()) {
            std::thread::spawn(move || {
                let _ = sin.write_all(&data);
            });
        }
        let (tx, rx) = mpsc::channel::<(bool, Vec<u8>)>();
        let mut pipes = 0;
        for (is_out, pipe) in [
            (
                true,
                child
                    .stdout
                    .take()
                    .map(|p| Box::new(p) as Box<dyn Read + Send>),
            ),
            (
                false,
                child
                    .stderr
                    .take()
                    .map(|p| Box::new(p) as Box<dyn Read + Send>),
            ),
        ] {
            if let Some(mut p) = pipe {
                pipes += 1;
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let mut chunk = [0u8; 8192];
                    loop {
                        match p.read(&mut chunk) {
                            Ok(0) | Err(_) => break,
                            // Send progressively so a kill still leaves the output.
                            Ok(n) => drop(tx.send((is_out, chunk[..n].to_vec()))),
                        }
                    }
                    let _ = tx.send((is_out, Vec::new()));
                });
            }
        }
        drop(tx);
        let status = deadline.wait_until(Duration::from_millis(10), || {
            child.try_wait().ok().flatten()
        });
        let timed_out = status.is_none();
        let status = match status {
            Some(s) => s,
            None => {
                let _ = killpg(pgid, Signal::SIGKILL);
                let _ = child.kill();
                child
                    .wait()
                    .map_err(|e| Error::generic(format!("wait: {e}")))?
            }
        };
        let elapsed = started.elapsed();
        let mut out = Output {
            code: status.code(),
            signal: status.signal(),
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        // After a normal exit the pipes are read until the deadline at most; after a kill,
        // for `pipe_grace` (the deadline has passed already).
        let now = std::time::Instant::now();
        let grace_end = now
            .checked_add(pipe_grace)
            .unwrap_or(deadline.instant().max(now));
        let until = if timed_out {
            grace_end
        } else {
            grace_end.min(deadline.instant().max(now + Duration::from_millis(10)))
        };
        let mut closed = 0;
        while closed < pipes {
            let left = until.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok((is_out, b)) if b.is_empty() => {
                    let _ = is_out;
                    closed += 1;
                }
                Ok((true, b)) => out.stdout.extend_from_slice(&b),
                Ok((false, b)) => out.stderr.extend_from_slice(&b),
                Err(_) => break,
            }
        }
        Ok(Finished {
            output: out,
            timed_out,
            elapsed,
        })
    }

    /// Run to completion within `deadline`, capturing output.
    ///
    /// # Errors
    /// 5 when the program does not exist or is not executable; 1 when it cannot be started,
    /// or when the deadline passes (its process group is then killed).
    pub fn run(&self, deadline: Deadline) -> Result<Output> {
        // After the exit, the pipes are read until the deadline at most: a daemon the child
        // left behind may hold them open.
        let f = self.run_bounded(deadline, Duration::MAX)?;
        if f.timed_out {
            return Err(Error::generic(format!(
                "{} did not finish in time; killed",
                self.program()
            )));
        }
        Ok(f.output)
    }

    /// Run and require exit code 0.
    ///
    /// # Errors
    /// As [`Cmd::run`], plus code 1 with the program's output when it exits non-zero.
    pub fn run_ok(&self, deadline: Deadline) -> Result<Output> {
        let out = self.run(deadline)?;
        if out.success() {
            Ok(out)
        } else {
            let how = match (out.code, out.signal) {
                (Some(c), _) => format!("exit code {c}"),
                (None, Some(s)) => format!("signal {s}"),
                _ => "unknown status".to_string(),
            };
            let text = out.one_line();
            let text = if text.is_empty() {
                String::new()
            } else {
                format!(": {text}")
            };
            Err(Error::generic(format!(
                "{} failed ({how}){text}",
                self.program()
            )))
        }
    }
}

fn spawn_error(program: &str, e: &std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => Error::installed(format!("{program}: command not found")),
        std::io::ErrorKind::PermissionDenied => {
            Error::installed(format!("{program}: not executable"))
        }
        _ => Error::generic(format!("{program}: cannot start: {e}")),
    }
}

/// Where a daemon's stdout/stderr go.
#[derive(Debug, Clone)]
pub enum DaemonOutput {
    /// Discard.
    Null,
    /// Append to a file.
    File(PathBuf),
}

/// Start `cmd` as a daemon: a new session (so it survives the agent and the executor's
/// process-group kill), stdin from `/dev/null`, output per `output`. Returns its identity.
///
/// # Errors
/// 5 when the program is missing, 1 when it cannot be started.
pub fn spawn_daemon(cmd: &Cmd, output: &DaemonOutput) -> Result<ProcRef> {
    let mut c = cmd.command();
    let (o, e) = match output {
        DaemonOutput::Null => (Stdio::null(), Stdio::null()),
        DaemonOutput::File(p) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| Error::generic(format!("open {}: {e}", p.display())))?;
            let f2 = f.try_clone()?;
            (Stdio::from(f), Stdio::from(f2))
        }
    };
    c.stdin(Stdio::null()).stdout(o).stderr(e);
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        c.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let child = c.spawn().map_err(|e| spawn_error(&cmd.program(), &e))?;
    let pid = child.id() as i32;
    // The child is reaped by init once the agent exits; keep no handle.
    std::mem::forget(child);
    ProcRef::of(pid).ok_or_else(|| Error::generic(format!("{} exited immediately", cmd.program())))
}

/// A snapshot of one process from `/proc/<pid>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    /// Process id.
    pub pid: i32,
    /// Parent process id.
    pub ppid: i32,
    /// Process group.
    pub pgid: i32,
    /// Session.
    pub sid: i32,
    /// State letter (`R`, `S`, `Z`, ...).
    pub state: char,
    /// Start time in clock ticks since boot.
    pub start_ticks: u64,
    /// `comm` (at most 15 bytes).
    pub comm: String,
}

impl Proc {
    /// Read `/proc/<pid>/stat`; `None` when the process does not exist.
    pub fn read(pid: i32) -> Option<Proc> {
        let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
        parse_stat(&stat)
    }

    /// The executable (`/proc/<pid>/exe`), when readable.
    pub fn exe(&self) -> Option<PathBuf> {
        std::fs::read_link(format!("/proc/{}/exe", self.pid))
            .ok()
            .map(|p| {
                // A replaced binary reads as "/usr/sbin/x (deleted)".
                let s = p.as_os_str().as_bytes();
                match s.strip_suffix(b" (deleted)") {
                    Some(t) => PathBuf::from(OsStr::from_bytes(t)),
                    None => p,
                }
            })
    }

    /// The argument vector (`/proc/<pid>/cmdline`).
    pub fn cmdline(&self) -> Vec<OsString> {
        std::fs::read(format!("/proc/{}/cmdline", self.pid))
            .map(|b| {
                b.split(|c| *c == 0)
                    .filter(|s| !s.is_empty())
                    .map(|s| OsStr::from_bytes(s).to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Identity of this process.
    pub fn as_ref(&self) -> ProcRef {
        ProcRef {
            pid: self.pid,
            start_ticks: self.start_ticks,
        }
    }

    /// Whether it is a zombie.
    pub fn is_zombie(&self) -> bool {
        self.state == 'Z' || self.state == 'X'
    }
}

fn parse_stat(stat: &[u8]) -> Option<Proc> {
    // "pid (comm) state ppid pgrp session ..." where comm may contain spaces and parens.
    let open = stat.iter().position(|c| *c == b'(')?;
    let close = stat.iter().rposition(|c| *c == b')')?;
    let pid = std::str::from_utf8(&stat[..open])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let comm = String::from_utf8_lossy(&stat[open + 1..close]).into_owned();
    let rest = std::str::from_utf8(stat.get(close + 2..)?).ok()?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(Proc {
        pid,
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        pgid: f.get(2)?.parse().ok()?,
        sid: f.get(3)?.parse().ok()?,
        start_ticks: f.get(19)?.parse().ok()?,
        comm,
    })
}

/// Every live process (zombies excluded).
pub fn processes() -> Vec<Proc> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(Proc::read)
        .filter(|p| !p.is_zombie())
        .collect()
}

/// Processes whose executable is `exe` and whose argv contains every item of `args`
/// (as whole arguments, in any position). Kernel threads never match.
pub fn find_by_exe(exe: &Path, args: &[&str]) -> Vec<Proc> {
    processes()
        .into_iter()
        .filter(|p| p.exe().as_deref() == Some(exe))
        .filter(|p| {
            let cl = p.cmdline();
            args.iter().all(|a| cl.iter().any(|c| c == OsStr::new(a)))
        })
        .collect()
}

/// The process and all its descendants, parents first.
pub fn tree(root: i32) -> Vec<Proc> {
    let all = processes();
    let mut out: Vec<Proc> = all.iter().filter(|p| p.pid == root).cloned().collect();
    let mut i = 0;
    while i < out.len() {
        let parent = out[i].pid;
        out.extend(
            all.iter()
                .filter(|p| p.ppid == parent && p.pid != parent)
                .cloned(),
        );
        i += 1;
    }
    out
}

/// A process identity: pid plus start time, immune to pid reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcRef {
    /// Process id.
    pub pid: i32,
    /// Start time in clock ticks since boot.
    pub start_ticks: u64,
}

impl ProcRef {
    /// The identity of the live process `pid`, if any.
    pub fn of(pid: i32) -> Option<ProcRef> {
        Proc::read(pid)
            .filter(|p| !p.is_zombie())
            .map(|p| p.as_ref())
    }

    /// Whether this very process is still alive (not a zombie, same start time).
    pub fn is_alive(&self) -> bool {
        Proc::read(self.pid).is_some_and(|p| !p.is_zombie() && p.start_ticks == self.start_ticks)
    }

    /// Send `sig` if it is still this process. Returns whether it was sent.
    pub fn signal(&self, sig: Signal) -> bool {
        self.is_alive() && kill(Pid::from_raw(self.pid), sig).is_ok()
    }

    /// The process's start as wall-clock time.
    pub fn started_at(&self) -> Option<SystemTime> {
        let boot = boot_time()?;
        // SAFETY: sysconf has no memory-safety preconditions.
        let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })
            .ok()
            .filter(|h| *h > 0)?;
        Some(boot + Duration::from_millis(self.start_ticks * 1000 / hz))
    }
}

fn boot_time() -> Option<SystemTime> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let secs: u64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// What a pid file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PidStatus {
    /// No pid file (or an empty one).
    Missing,
    /// A pid file whose process is gone or is now another program.
    Stale(i32),
    /// The process is running.
    Running(ProcRef),
}

/// A pid file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pidfile {
    /// Its path.
    pub path: PathBuf,
}

impl Pidfile {
    /// A pid file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Pidfile {
        Pidfile { path: path.into() }
    }

    /// The pid it holds; `Ok(None)` when missing or empty.
    ///
    /// # Errors
    /// 1 when unreadable or not a pid.
    pub fn read(&self) -> Result<Option<i32>> {
        let Some(text) = crate::files::read_if_exists(&self.path)? else {
            return Ok(None);
        };
        let first = text.split_whitespace().next();
        match first {
            None => Ok(None),
            Some(s) => s
                .parse::<i32>()
                .ok()
                .filter(|p| *p > 0)
                .map(Some)
                .ok_or_else(|| Error::generic(format!("{}: not a pid file", self.path.display()))),
        }
    }

    /// Write `pid` atomically (temporary file + rename).
    ///
    /// # Errors
    /// 1 on I/O errors.
    pub fn write(&self, pid: i32) -> Result<()> {
        crate::files::write_atomic(&self.path, format!("{pid}\n").as_bytes())
    }

    /// Remove it (missing is fine).
    ///
    /// # Errors
    /// 1 on I/O errors.
    pub fn remove(&self) -> Result<()> {
        crate::files::remove_if_exists(&self.path)
    }

    /// Whether the process it names runs. When `exe` is given, a process running another
    /// executable is stale (the pid was reused). A process that started after the pid file
    /// was last written is stale too, unless `exe` matched.
    ///
    /// # Errors
    /// 1 when the file is unreadable or malformed.
    pub fn status(&self, exe: Option<&Path>) -> Result<PidStatus> {
        let Some(pid) = self.read()? else {
            return Ok(PidStatus::Missing);
        };
        let Some(p) = Proc::read(pid).filter(|p| !p.is_zombie()) else {
            return Ok(PidStatus::Stale(pid));
        };
        if let Some(want) = exe {
            return Ok(if p.exe().as_deref() == Some(want) {
                PidStatus::Running(p.as_ref())
            } else {
                PidStatus::Stale(pid)
            });
        }
        let written = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        if let (Some(w), Some(s)) = (written, p.as_ref().started_at()) {
            // Start times have tick resolution; allow two seconds of slack.
            if s > w + Duration::from_secs(2) {
                return Ok(PidStatus::Stale(pid));
            }
        }
        Ok(PidStatus::Running(p.as_ref()))
    }
}

/// Send each signal of `signals` in turn to every process of `procs` that is still alive,
/// waiting up to an equal share of the budget after each (the last signal gets the rest).
/// Only the given signals are sent: escalate by including `SIGKILL` last, or by a second
/// call (as [`stop_tree`] does). Returns the processes still alive (empty on success).
pub fn stop_processes(procs: &[ProcRef], signals: &[Signal], deadline: Deadline) -> Vec<ProcRef> {
    let alive = |v: &[ProcRef]| {
        v.iter()
            .copied()
            .filter(ProcRef::is_alive)
            .collect::<Vec<_>>()
    };
    let mut left = alive(procs);
    let steps = signals.len() as f64;
    for (i, sig) in signals.iter().enumerate() {
        if left.is_empty() {
            return left;
        }
        for p in &left {
            p.signal(*sig);
        }
        let share = deadline.fraction(1.0 / (steps - i as f64));
        left = share
            .wait_until(Duration::from_millis(20), || {
                let l = alive(&left);
                l.is_empty().then_some(l)
            })
            .unwrap_or_else(|| alive(&left));
    }
    left
}

/// Stop a process and its descendants: TERM, wait up to `grace` (within the deadline), KILL.
///
/// # Errors
/// 1 naming the processes that survived.
pub fn stop_tree(root: ProcRef, grace: Duration, deadline: Deadline) -> Result<()> {
    if !root.is_alive() {
        return Ok(());
    }
    let procs: Vec<ProcRef> = tree(root.pid).iter().map(Proc::as_ref).collect();
    let first = deadline.within(grace);
    let mut left = stop_processes(&procs, &[Signal::SIGTERM], first);
    if !left.is_empty() {
        left = stop_processes(&left, &[Signal::SIGKILL], deadline);
    }
    if left.is_empty() {
        Ok(())
    } else {
        let pids: Vec<String> = left.iter().map(|p| p.pid.to_string()).collect();
        Err(Error::new(
            Rc::ErrGeneric,
            format!("processes still running after SIGKILL: {}", pids.join(" ")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn run_captures_and_passes_argv_verbatim() {
        let d = Deadline::after(Duration::from_secs(10));
        let out = Cmd::new("printf")
            .arg("%s|")
            .arg("a b")
            .arg("$(id)")
            .arg(";")
            .run(d)
            .unwrap();
        assert_eq!(out.stdout_text(), "a b|$(id)|;|");
        assert!(out.success());
        let out = Cmd::new("cat").stdin("secret").run(d).unwrap();
        assert_eq!(out.stdout, b"secret");
        let e = Cmd::new("/nonexistent/prog").run(d).unwrap_err();
        assert_eq!(e.rc(), Rc::ErrInstalled);
        let e = Cmd::new("false").run_ok(d).unwrap_err();
        assert!(e.reason().contains("exit code 1"), "{}", e.reason());
    }

    #[test]
    fn run_kills_the_group_at_the_deadline() {
        let t = Instant::now();
        // sh starts a grandchild sleep in the same group: both must die.
        let e = Cmd::new("sh")
            .arg("-c")
            .arg("sleep 30 & sleep 30")
            .run(Deadline::after(Duration::from_millis(300)))
            .unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(e.reason().contains("did not finish in time"));
    }

    #[test]
    fn run_bounded_reports_timeouts_with_output() {
        let t = Instant::now();
        let f = Cmd::new("sh")
            .arg("-c")
            .arg("echo before; echo err >&2; sleep 30 & sleep 30")
            .run_bounded(
                Deadline::after(Duration::from_millis(500)),
                Duration::from_millis(200),
            )
            .unwrap();
        assert!(f.timed_out);
        assert!(t.elapsed() < Duration::from_secs(5));
        assert_eq!(f.output.stdout_text(), "before\n");
        assert_eq!(f.output.stderr_text(), "err\n");
        let f = Cmd::new("sh")
            .arg("-c")
            .arg("echo out; echo err >&2; exit 3")
            .close_stdin_stderr()
            .run_bounded(
                Deadline::after(Duration::from_secs(5)),
                Duration::from_secs(1),
            )
            .unwrap();
        assert!(!f.timed_out);
        assert_eq!(f.output.code, Some(3));
        assert_eq!(f.output.stdout_text(), "out\n");
        assert!(f.output.stderr.is_empty());
    }

    #[test]
    fn daemon_tree_stop_and_pidfile() {
        let dir = std::env::temp_dir().join(format!("ocf-proc-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = spawn_daemon(
            &Cmd::new("sh")
                .arg("-c")
                .arg("trap '' TERM; sleep 60 & wait"),
            &DaemonOutput::Null,
        )
        .unwrap();
        assert!(d.is_alive());
        let p = Proc::read(d.pid).unwrap();
        assert_eq!(p.sid, d.pid, "daemon leads its own session");
        let pf = Pidfile::new(dir.join("x.pid"));
        assert_eq!(pf.status(None).unwrap(), PidStatus::Missing);
        pf.write(d.pid).unwrap();
        assert_eq!(pf.status(None).unwrap(), PidStatus::Running(d));
        assert_eq!(
            pf.status(Some(Path::new("/nonexistent"))).unwrap(),
            PidStatus::Stale(d.pid)
        );
        // Wait until the child sleep exists, then stop: TERM is ignored, KILL follows.
        Deadline::after(Duration::from_secs(5)).wait_until(Duration::from_millis(10), || {
            (tree(d.pid).len() >= 2).then_some(())
        });
        let kids = tree(d.pid);
        assert!(kids.len() >= 2, "{kids:?}");
        let t = Instant::now();
        stop_tree(
            d,
            Duration::from_millis(300),
            Deadline::after(Duration::from_secs(5)),
        )
        .unwrap();
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(!d.is_alive());
        assert!(kids.iter().all(|k| !k.as_ref().is_alive()));
        assert!(matches!(pf.status(None).unwrap(), PidStatus::Stale(_)));
        std::fs::write(pf.path.clone(), "garbage").unwrap();
        assert!(pf.status(None).is_err());
        pf.remove().unwrap();
        pf.remove().unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stop_processes_sends_only_the_given_signals() {
        let d = spawn_daemon(
            &Cmd::new("sh")
                .arg("-c")
                .arg("trap '' TERM; while :; do sleep 1; done"),
            &DaemonOutput::Null,
        )
        .unwrap();
        // Give the shell time to install its trap.
        std::thread::sleep(Duration::from_millis(200));
        let left = stop_processes(
            &[d],
            &[Signal::SIGTERM],
            Deadline::after(Duration::from_millis(300)),
        );
        assert_eq!(left, vec![d], "TERM alone must not escalate");
        let left = stop_processes(
            &left,
            &[Signal::SIGKILL],
            Deadline::after(Duration::from_secs(5)),
        );
        assert!(left.is_empty());
        for p in tree(d.pid) {
            p.as_ref().signal(Signal::SIGKILL);
        }
    }

    #[test]
    fn stat_parsing_handles_odd_comm() {
        let p =
            parse_stat(b"42 (a) b (c) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345 0 0")
                .unwrap();
        assert_eq!(
            (p.pid, p.comm.as_str(), p.state, p.ppid, p.start_ticks),
            (42, "a) b (c", 'S', 1, 12345)
        );
        let me = Proc::read(std::process::id() as i32).unwrap();
        assert_eq!(me.exe(), std::env::current_exe().ok());
        assert!(!find_by_exe(&me.exe().unwrap(), &[]).is_empty());
    }
}
