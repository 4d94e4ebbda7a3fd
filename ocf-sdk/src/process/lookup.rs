//! `/proc` lookups: one process ([`Proc`]), its identity ([`ProcRef`]: pid **and** start
//! time), every process, a process tree, and the members of a session or process group.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

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

    /// The identity of this process (pid plus start time), which outlives this snapshot
    /// and never matches a later process that reuses the pid.
    pub fn identity(&self) -> ProcRef {
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

pub(super) fn parse_stat(stat: &[u8]) -> Option<Proc> {
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
    ExeSnapshot::read()
        .running(exe)
        .filter(|p| {
            let cl = p.cmdline();
            args.iter().all(|a| cl.iter().any(|c| c == OsStr::new(a)))
        })
        .cloned()
        .collect()
}

/// Every live process with its executable, read once: for a caller that asks about several
/// executables in one go (a monitor checking each daemon of a service), one `/proc` scan
/// instead of one per question.
#[derive(Debug, Default)]
pub struct ExeSnapshot(Vec<(Proc, Option<PathBuf>)>);

impl ExeSnapshot {
    /// Reads `/proc` now.
    pub fn read() -> ExeSnapshot {
        ExeSnapshot(
            processes()
                .into_iter()
                .map(|p| {
                    let exe = p.exe();
                    (p, exe)
                })
                .collect(),
        )
    }

    /// The processes of the snapshot running `exe` (as [`find_by_exe`] with no arguments).
    pub fn running<'a>(&'a self, exe: &'a Path) -> impl Iterator<Item = &'a Proc> + 'a {
        self.0
            .iter()
            .filter(move |(_, e)| e.as_deref() == Some(exe))
            .map(|(p, _)| p)
    }

    /// Whether any process of the snapshot runs `exe`.
    pub fn any(&self, exe: &Path) -> bool {
        self.running(exe).next().is_some()
    }
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

/// Live processes whose session id is `sid` or whose process group is `pgid` (either may be
/// `None`), zombies excluded. Members keep both ids when they re-parent to init or fork
/// twice, unless they call `setsid` themselves.
pub fn in_session_or_group(sid: Option<i32>, pgid: Option<i32>) -> Vec<Proc> {
    processes()
        .into_iter()
        .filter(|p| Some(p.sid) == sid || Some(p.pgid) == pgid)
        .collect()
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
            .map(|p| p.identity())
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
