//! Pid files with process identity: one format for every agent.
//!
//! The SDK writes two lines:
//!
//! ```text
//! 4242
//! start=123456789
//! ```
//!
//! the pid, then the process's start time in clock ticks after boot (field 22 of
//! `/proc/<pid>/stat`). The first line alone is what other tools read (`pkill -F`,
//! `start-stop-daemon --pidfile`, systemd's `PIDFile=`, `kill $(head -1 FILE)`); the second
//! makes a reused pid visible: a pid file naming pid 4242 that now runs another program, or
//! the same program started later, is [`PidStatus::Stale`], never "running".
//!
//! Pid files written by daemons themselves (one line, no start time) are read too; then the
//! executable, when given, and the file's modification time stand in for the start time.

use super::lookup::{Proc, ProcRef};
use crate::deadline::Deadline;
use crate::exit::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// The contents of a pid file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidRecord {
    /// The pid (first line).
    pub pid: i32,
    /// The start time in clock ticks after boot (`start=` line), when the file has one.
    pub start_ticks: Option<u64>,
}

impl PidRecord {
    /// The identity, when the start time is recorded.
    pub fn identity(&self) -> Option<ProcRef> {
        self.start_ticks.map(|start_ticks| ProcRef {
            pid: self.pid,
            start_ticks,
        })
    }
}

/// A pid file.
///
/// A pid file on a filesystem that can hang (FUSE, NFS, CIFS, ...: an admin's `pidfile=` on
/// shared storage) is read in a [`crate::deadline::bounded`] worker, so a stopped FUSE daemon
/// or a dead server costs the action its deadline and a reason naming the file, never the
/// cluster's timeout. The deadline is the one given with [`Pidfile::within`], else the
/// running action's ([`crate::deadline::action_deadline`]); which filesystems can hang is
/// [`crate::deadline::may_hang`]'s answer (files under `/run` are read directly, elsewhere
/// one read of `/proc/self/mountinfo` decides; nothing on the path itself is touched).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pidfile {
    /// Its path.
    pub path: PathBuf,
    deadline: Option<Deadline>,
}

impl Pidfile {
    /// A pid file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Pidfile {
        Pidfile {
            path: path.into(),
            deadline: None,
        }
    }

    /// Read it by `deadline` at the latest when it lies on a filesystem that can hang (see
    /// [`Pidfile`]); without this, the running action's deadline applies.
    #[must_use]
    pub fn within(mut self, deadline: Deadline) -> Pidfile {
        self.deadline = Some(deadline);
        self
    }

    /// Run `f` on the file directly, or bounded when it may hang and a deadline is known.
    fn guarded<T: Send + 'static>(
        &self,
        what: &str,
        f: impl FnOnce(PathBuf) -> T + Send + 'static,
    ) -> Result<T> {
        match self.deadline.or_else(crate::deadline::action_deadline) {
            Some(d) => {
                let path = self.path.clone();
                Ok(crate::deadline::bounded_if_may_hang(
                    &self.path,
                    d,
                    format!("{what} of pid file {}", self.path.display()),
                    move || f(path),
                )?)
            }
            None => Ok(f(self.path.clone())),
        }
    }

    /// The pid and start time it holds; `Ok(None)` when missing or empty.
    ///
    /// # Errors
    /// 1 when unreadable, a symbolic link (refused, never followed), when the first word is
    /// not a pid, or when the read blocked past the deadline (see [`Pidfile`]).
    pub fn read_record(&self) -> Result<Option<PidRecord>> {
        let Some(text) = self.guarded("read", |p| crate::files::read_no_symlink(&p))?? else {
            return Ok(None);
        };
        let mut words = text.split_whitespace();
        let Some(first) = words.next() else {
            return Ok(None);
        };
        let pid = first
            .parse::<i32>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| Error::generic(format!("{}: not a pid file", self.path.display())))?;
        let start_ticks = words
            .find_map(|w| w.strip_prefix("start="))
            .and_then(|v| v.parse().ok());
        Ok(Some(PidRecord { pid, start_ticks }))
    }

    /// The pid it holds; `Ok(None)` when missing or empty.
    ///
    /// # Errors
    /// 1 when unreadable or not a pid.
    pub fn read(&self) -> Result<Option<i32>> {
        Ok(self.read_record()?.map(|r| r.pid))
    }

    /// Record the running process `pid` with its start time, atomically (temporary file +
    /// rename). A pid that does not exist is written without a start time.
    ///
    /// # Errors
    /// 1 on I/O errors.
    pub fn write(&self, pid: i32) -> Result<()> {
        match ProcRef::of(pid) {
            Some(p) => self.write_identity(p),
            None => crate::files::write_atomic(&self.path, format!("{pid}\n").as_bytes()),
        }
    }

    /// Record `p` (pid and start time), atomically.
    ///
    /// # Errors
    /// 1 on I/O errors.
    pub fn write_identity(&self, p: ProcRef) -> Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::generic(format!("create {}: {e}", dir.display())))?;
        }
        crate::files::write_atomic(
            &self.path,
            format!("{}\nstart={}\n", p.pid, p.start_ticks).as_bytes(),
        )
    }

    /// Remove it (missing is fine).
    ///
    /// # Errors
    /// 1 on I/O errors.
    pub fn remove(&self) -> Result<()> {
        crate::files::remove_if_exists(&self.path)
    }

    /// Whether the process it names runs. The pid must be alive (not a zombie) **and**:
    /// * its start time must equal the recorded one, when the file records it;
    /// * its executable must be `exe`, when `exe` is given;
    /// * for a file without start time and without `exe`: the process must not have started
    ///   after the file was last written (two seconds of slack).
    ///
    /// # Errors
    /// 1 when the file is unreadable or malformed.
    pub fn status(&self, exe: Option<&Path>) -> Result<PidStatus> {
        let Some(rec) = self.read_record()? else {
            return Ok(PidStatus::Missing);
        };
        let pid = rec.pid;
        let Some(p) = Proc::read(pid).filter(|p| !p.is_zombie()) else {
            return Ok(PidStatus::Stale(pid));
        };
        if rec.start_ticks.is_some_and(|s| s != p.start_ticks) {
            return Ok(PidStatus::Stale(pid));
        }
        if let Some(want) = exe {
            if p.exe().as_deref() != Some(want) {
                return Ok(PidStatus::Stale(pid));
            }
        }
        if rec.start_ticks.is_none() && exe.is_none() {
            let written = self.guarded("stat", |p| {
                std::fs::metadata(p).and_then(|m| m.modified()).ok()
            })?;
            if let (Some(w), Some(s)) = (written, p.identity().started_at()) {
                // Start times have tick resolution; allow two seconds of slack.
                if s > w + Duration::from_secs(2) {
                    return Ok(PidStatus::Stale(pid));
                }
            }
        }
        Ok(PidStatus::Running(p.identity()))
    }

    /// The running process it names ([`Pidfile::status`]), or `None`.
    ///
    /// # Errors
    /// 1 when the file is unreadable or malformed.
    pub fn running(&self, exe: Option<&Path>) -> Result<Option<ProcRef>> {
        Ok(match self.status(exe)? {
            PidStatus::Running(p) => Some(p),
            _ => None,
        })
    }
}
