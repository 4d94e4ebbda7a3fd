//! Commands: a program plus argv (never a shell), run with a deadline; daemons started in a
//! session of their own.

use super::lookup::ProcRef;
use crate::deadline::Deadline;
use crate::exit::{Error, Result};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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

/// A user account to run a child as: uid, primary gid and supplementary groups, looked up
/// by name (or number) in the system's user and group databases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// User name (the number as text when given numerically and unknown).
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary group ids (`getgrouplist`), the primary group included.
    pub groups: Vec<u32>,
    /// Home directory (empty when unknown).
    pub home: PathBuf,
}

impl Account {
    /// Look up `user` (a name or a numeric uid) and, when given, `group` (a name or a numeric
    /// gid) overriding the user's primary group. Supplementary groups are the user's groups
    /// from the group database (as `initgroups` would set them) plus the primary group.
    ///
    /// # Errors
    /// 5 (not installed: a problem of this host, not of the configuration) when the user or
    /// group does not exist here; 1 when the databases cannot be read.
    pub fn lookup(user: &str, group: Option<&str>) -> Result<Account> {
        use nix::unistd::{Gid, Group, Uid, User};
        let by_name = User::from_name(user)
            .map_err(|e| Error::generic(format!("look up user {user}: {e}")))?;
        let u = match by_name {
            Some(u) => u,
            None => match user.parse::<u32>() {
                Ok(n) => User::from_uid(Uid::from_raw(n))
                    .map_err(|e| Error::generic(format!("look up uid {n}: {e}")))?
                    .ok_or_else(|| Error::installed(format!("user {user} does not exist")))?,
                Err(_) => return Err(Error::installed(format!("user {user} does not exist"))),
            },
        };
        let gid = match group {
            None => u.gid.as_raw(),
            Some(g) => match Group::from_name(g)
                .map_err(|e| Error::generic(format!("look up group {g}: {e}")))?
            {
                Some(gr) => gr.gid.as_raw(),
                None => match g.parse::<u32>() {
                    Ok(n) => n,
                    Err(_) => return Err(Error::installed(format!("group {g} does not exist"))),
                },
            },
        };
        let cname = std::ffi::CString::new(u.name.as_bytes())
            .map_err(|_| Error::generic(format!("user name {user} contains NUL")))?;
        let mut groups: Vec<u32> = nix::unistd::getgrouplist(&cname, Gid::from_raw(gid))
            .map(|v| v.into_iter().map(Gid::as_raw).collect())
            .unwrap_or_default();
        if !groups.contains(&gid) {
            groups.push(gid);
        }
        Ok(Account {
            name: u.name,
            uid: u.uid.as_raw(),
            gid,
            groups,
            home: u.dir,
        })
    }

    /// An account from bare ids with no supplementary groups but `gid`.
    pub fn from_ids(uid: u32, gid: u32) -> Account {
        Account {
            name: uid.to_string(),
            uid,
            gid,
            groups: vec![gid],
            home: PathBuf::new(),
        }
    }
}

/// A resource limit for the child (`setrlimit(2)`).
pub use nix::sys::resource::Resource;

/// A command to run: program plus argv, never a shell string.
///
/// `{:?}` shows the program, the arguments and the names of environment variables, but never
/// the values of variables set with [`Cmd::env_secret`] nor the stdin data (only its length):
/// stdin and secret variables are how secrets reach a child, and debug strings end up in logs.
#[derive(Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>, bool)>,
    env_clear: bool,
    cwd: Option<PathBuf>,
    stdin: Option<Vec<u8>>,
    account: Option<Account>,
    umask: Option<u32>,
    rlimits: Vec<(Resource, u64, u64)>,
    close_stdin_stderr: bool,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let env: Vec<String> = self
            .env
            .iter()
            .map(|(k, v, secret)| {
                let k = k.to_string_lossy();
                match (v, secret) {
                    (None, _) => format!("-{k}"),
                    (Some(_), true) => format!("{k}=<secret>"),
                    (Some(v), false) => format!("{k}={}", v.to_string_lossy()),
                }
            })
            .collect();
        f.debug_struct("Cmd")
            .field("argv", &self.display())
            .field("env", &env)
            .field("env_clear", &self.env_clear)
            .field("cwd", &self.cwd)
            .field(
                "stdin",
                &self.stdin.as_ref().map(|d| format!("<{} bytes>", d.len())),
            )
            .field("account", &self.account.as_ref().map(|a| (a.uid, a.gid)))
            .field("umask", &self.umask)
            .field("rlimits", &self.rlimits)
            .finish_non_exhaustive()
    }
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
            account: None,
            umask: None,
            rlimits: Vec::new(),
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
            .push((k.as_ref().to_owned(), Some(v.as_ref().to_owned()), false));
        self
    }
    /// Set an environment variable whose value is a secret: it never appears in `{:?}`.
    /// (The child's environment is readable by root and the same user through
    /// `/proc/<pid>/environ`: prefer stdin or a 0600 file, see [`crate::secret`].)
    #[must_use]
    pub fn env_secret(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Cmd {
        self.env
            .push((k.as_ref().to_owned(), Some(v.as_ref().to_owned()), true));
        self
    }
    /// Remove an environment variable for the child.
    #[must_use]
    pub fn env_remove(mut self, k: impl AsRef<OsStr>) -> Cmd {
        self.env.push((k.as_ref().to_owned(), None, false));
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

    /// Run the child as `uid`/`gid` with no supplementary group but `gid`. Needs root.
    /// Prefer [`Cmd::account`] with [`Account::lookup`] (names, supplementary groups).
    #[must_use]
    pub fn user(mut self, uid: u32, gid: u32) -> Cmd {
        self.account = Some(Account::from_ids(uid, gid));
        self
    }

    /// Run the child as `account`: supplementary groups, gid, then uid are set in the child
    /// (as `initgroups` + `setgid` + `setuid`); `HOME`, `USER` and `LOGNAME` are not changed
    /// (set them with [`Cmd::env`] when the program needs them). Needs root unless it is the
    /// caller's own account.
    #[must_use]
    pub fn account(mut self, account: &Account) -> Cmd {
        self.account = Some(account.clone());
        self
    }

    /// The child's file mode creation mask (for instance `0o027`).
    #[must_use]
    pub fn umask(mut self, mask: u32) -> Cmd {
        self.umask = Some(mask & 0o777);
        self
    }

    /// A resource limit for the child (soft and hard), e.g.
    /// `rlimit(Resource::RLIMIT_NOFILE, 8192, 8192)`.
    #[must_use]
    pub fn rlimit(mut self, resource: Resource, soft: u64, hard: u64) -> Cmd {
        self.rlimits.push((resource, soft, hard));
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

    pub(crate) fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args);
        if self.env_clear {
            c.env_clear();
        }
        for (k, v, _) in &self.env {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        if let Some(d) = &self.cwd {
            c.current_dir(d);
        }
        let account = self
            .account
            .as_ref()
            .map(|a| (a.uid, a.gid, a.groups.clone()));
        let umask = self.umask;
        let rlimits = self.rlimits.clone();
        if account.is_some() || umask.is_some() || !rlimits.is_empty() {
            // SAFETY: the closure only makes async-signal-safe system calls (setrlimit, umask,
            // setgroups, setgid, setuid) on data prepared before the fork; it allocates nothing.
            unsafe {
                c.pre_exec(move || {
                    for (r, soft, hard) in &rlimits {
                        nix::sys::resource::setrlimit(*r, *soft, *hard)
                            .map_err(std::io::Error::from)?;
                    }
                    if let Some(m) = umask {
                        libc::umask(m as libc::mode_t);
                    }
                    if let Some((uid, gid, groups)) = &account {
                        if libc::geteuid() == 0
                            && libc::setgroups(groups.len(), groups.as_ptr()) != 0
                        {
                            return Err(std::io::Error::last_os_error());
                        }
                        if libc::setgid(*gid) != 0 || libc::setuid(*uid) != 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    Ok(())
                });
            }
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
            if let Some(p) = pipe {
                pipes += 1;
                forward_pipe(p, tx.clone(), move |c| (is_out, c), (is_out, Vec::new()));
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

/// Read `pipe` to its end on a thread of its own: each chunk is sent as `data(chunk)` as it
/// arrives (so that a kill still leaves what was printed), then `eof`. For a caller that
/// waits for a child's exit and its pipes with one deadline.
pub fn forward_pipe<T: Send + 'static>(
    mut pipe: impl Read + Send + 'static,
    tx: mpsc::Sender<T>,
    data: impl Fn(Vec<u8>) -> T + Send + 'static,
    eof: T,
) {
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => drop(tx.send(data(chunk[..n].to_vec()))),
            }
        }
        let _ = tx.send(eof);
    });
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

/// Start `cmd` in a session of its own and return the child handle (for its exit status
/// while the caller waits for readiness).
pub(crate) fn spawn_session(cmd: &Cmd, output: &DaemonOutput) -> Result<std::process::Child> {
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
    c.spawn().map_err(|e| spawn_error(&cmd.program(), &e))
}

/// Start `cmd` as a daemon: a new session (so it survives the agent and the executor's
/// process-group kill), stdin from `/dev/null`, output per `output`. Returns its identity.
/// For readiness waits, log tails and pid files, use [`crate::daemon`].
///
/// # Errors
/// 5 when the program is missing, 1 when it cannot be started.
pub fn spawn_daemon(cmd: &Cmd, output: &DaemonOutput) -> Result<ProcRef> {
    let child = spawn_session(cmd, output)?;
    let pid = child.id() as i32;
    // The child is reaped by init once the agent exits; keep no handle.
    std::mem::forget(child);
    ProcRef::of(pid).ok_or_else(|| Error::generic(format!("{} exited immediately", cmd.program())))
}
