//! Unmounting with escalation, bounded by a deadline even when `umount2` blocks in the kernel.

use super::{users, Mount, MountTable};
use crate::deadline::{bounded, Blocked, Deadline};
use crate::exit::{Error, Result};
use nix::mount::MntFlags;
use nix::sys::signal::Signal;
use std::path::Path;
use std::time::Duration;

/// How [`unmount`] treats a busy or hung mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// Signals for the processes using the mount during the first half of the budget
    /// (empty: never signal).
    pub term_signals: Vec<Signal>,
    /// Signals for them during the second half (empty: never signal).
    pub kill_signals: Vec<Signal>,
    /// Pause after signalling, before the next attempt.
    pub signal_delay: Duration,
    /// Add `MNT_FORCE` in the second half, and when `umount2` blocks: network filesystems
    /// (NFS: pending requests are aborted) and FUSE (the connection to the daemon is
    /// aborted). Never for local block filesystems.
    pub force: bool,
    /// When even a forced `umount2` blocks in the kernel (dead server, stopped FUSE daemon),
    /// detach the mount lazily (`MNT_DETACH`) as a last resort, with a warning.
    pub lazy: bool,
    /// Said after "cannot unmount ... within the stop timeout" when nothing was signalled on
    /// purpose, e.g. ` (force_unmount=false)`.
    pub unsignalled_note: &'static str,
}

impl Default for Escalation {
    /// TERM for the first half, KILL for the second, 1 s apart; no force, no lazy unmount.
    fn default() -> Escalation {
        Escalation {
            term_signals: vec![Signal::SIGTERM],
            kill_signals: vec![Signal::SIGKILL],
            signal_delay: Duration::from_secs(1),
            force: false,
            lazy: false,
            unsignalled_note: "",
        }
    }
}

/// The result of one `umount2`.
enum Attempt {
    Done,
    Busy,
    Blocked(Blocked),
}

/// One `umount2` of `m` with `flags`, in a worker bounded by `deadline`. `Done` also when
/// someone else unmounted it meanwhile.
///
/// # Errors
/// 1 when `m` is hidden under another mount (unmounting the path would hit that one), or
/// mountinfo cannot be read.
fn attempt(m: &Mount, flags: MntFlags, deadline: Deadline) -> Result<Attempt> {
    let table = MountTable::read()?;
    if !table.contains_id(m.id) {
        return Ok(Attempt::Done);
    }
    if table.visible(&m.mount_point).map(|v| v.id) != Some(m.id) {
        return Err(Error::generic(format!(
            "cannot unmount {}: it is hidden under another mount",
            m.mount_point.display()
        )));
    }
    let path = m.mount_point.clone();
    let what = format!("umount of {}", path.display());
    match bounded(deadline, what, move || nix::mount::umount2(&path, flags)) {
        Err(b) => return Ok(Attempt::Blocked(b)),
        Ok(Err(e)) => crate::debug!("umount {}: {}", m.mount_point.display(), e.desc()),
        Ok(Ok(())) => {}
    }
    Ok(if MountTable::read()?.contains_id(m.id) {
        Attempt::Busy
    } else {
        Attempt::Done
    })
}

/// The processes using `m` ([`users`]), scanned in a worker bounded by `deadline`: reading
/// `/proc/<pid>/maps` waits for that process's memory map lock, which a process stuck in a
/// page fault on a hung filesystem holds. A scan that blocks finds nobody (with a warning).
fn holders(m: &Mount, deadline: Deadline) -> Vec<super::Holder> {
    let mount = m.clone();
    let what = format!("scan for processes using {}", m.mount_point.display());
    bounded(deadline, what, move || users(&mount)).unwrap_or_else(|b| {
        crate::warn!("{b}");
        Vec::new()
    })
}

/// `umount2` blocked in the kernel: force (network, FUSE), then detach lazily if allowed.
fn hung(m: &Mount, esc: &Escalation, first: Blocked, deadline: Deadline) -> Result<()> {
    let path = m.mount_point.display().to_string();
    crate::warn!("{first}");
    let mut last = first;
    if esc.force {
        let step = if esc.lazy {
            deadline.fraction(0.5)
        } else {
            deadline
        };
        match attempt(m, MntFlags::MNT_FORCE, step)? {
            Attempt::Done => {
                crate::info!("unmounted {path} (forced)");
                return Ok(());
            }
            Attempt::Blocked(b) => last = b,
            Attempt::Busy => {}
        }
    }
    if esc.lazy {
        if let Attempt::Done = attempt(m, MntFlags::MNT_DETACH, deadline)? {
            crate::warn!(
                "{path} did not unmount ({last}); detached it lazily: the kernel frees it \
                 when its last user is gone"
            );
            return Ok(());
        }
    }
    Err(Error::generic(format!("cannot unmount {path}: {last}")))
}

/// Unmount `m` within `deadline`, escalating as `esc` says.
///
/// One plain attempt; while the mount is busy, its users (found by mount id, [`users`]) get
/// `term_signals` for the first half of the budget and `kill_signals` (plus `MNT_FORCE` when
/// `esc.force`) for the rest, `signal_delay` apart. Every `umount2` runs in a worker bounded
/// by the deadline ([`bounded`]); one that blocks in the kernel is retried forced and then
/// detached lazily where `esc` allows, or reported with the time it blocked.
///
/// # Errors
/// 1 naming the processes that still use the mount, or the blocked call.
pub fn unmount(m: &Mount, esc: &Escalation, deadline: Deadline) -> Result<()> {
    let path = m.mount_point.display().to_string();
    match attempt(m, MntFlags::empty(), deadline.fraction(0.5))? {
        Attempt::Done => {
            crate::info!("unmounted {path}");
            return Ok(());
        }
        Attempt::Blocked(b) => return hung(m, esc, b, deadline),
        Attempt::Busy => {}
    }
    // Keep a little time for naming the blocking processes after the last attempt.
    let reserve = (deadline.remaining() / 5).min(Duration::from_secs(1));
    let end = Deadline::at(
        deadline
            .instant()
            .checked_sub(reserve)
            .unwrap_or(deadline.instant()),
    );
    let signalling = !(esc.term_signals.is_empty() && esc.kill_signals.is_empty());
    let mut phases: Vec<(Deadline, &[Signal], bool)> = Vec::new();
    if signalling {
        phases.push((end.fraction(0.5), &esc.term_signals, false));
        phases.push((end, &esc.kill_signals, esc.force));
    } else {
        phases.push((end, &[], esc.force));
    }
    let mut last_users = Vec::new();
    let mut scanned = false;
    for (phase, signals, force) in phases {
        let flags = if force {
            MntFlags::MNT_FORCE
        } else {
            MntFlags::empty()
        };
        while !phase.expired() {
            let found = if signals.is_empty() {
                // Nobody is signalled, but the users are named when it fails: scanned once
                // now, while there is time (a slow scan at the very end found nobody).
                if !scanned {
                    scanned = true;
                    last_users = holders(m, phase);
                }
                Vec::new()
            } else {
                holders(m, phase)
            };
            if found.is_empty() {
                phase.sleep(
                    esc.signal_delay
                        .clamp(Duration::from_millis(50), Duration::from_millis(200)),
                );
            } else {
                let names: Vec<&str> = signals.iter().map(|s| s.as_str()).collect();
                for u in &found {
                    crate::info!("{path} is busy: sending {} to {u}", names.join(", "));
                }
                let procs: Vec<_> = found.iter().map(|u| u.proc).collect();
                crate::process::stop_processes(&procs, signals, phase.within(esc.signal_delay));
                last_users = found;
            }
            match attempt(m, flags, deadline)? {
                Attempt::Done => {
                    crate::info!("unmounted {path}");
                    return Ok(());
                }
                Attempt::Blocked(b) => return hung(m, esc, b, deadline),
                Attempt::Busy => {}
            }
        }
    }
    let found = holders(m, deadline);
    let found = if found.is_empty() { last_users } else { found };
    let who = if found.is_empty() {
        "no process uses it (a loop device, swap file or mount below may hold it)".to_string()
    } else {
        format!(
            "used by {}",
            found
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let how = if signalling { "" } else { esc.unsignalled_note };
    Err(Error::generic(format!(
        "cannot unmount {path} within the stop timeout{how}: {who}"
    )))
}

/// After the last unmount of a block device here, wait (until `deadline`) until no one
/// claims it any more ([`super::block_device_claimed`]). A claim that stays means the
/// filesystem is still mounted on this host, typically in another mount namespace that copied
/// the mount table while it was mounted; a stop that reported success would let another node
/// mount a device this one still writes to.
///
/// # Errors
/// 1 when the device stays claimed.
pub fn wait_released(node: &Path, mp: &Path, deadline: Deadline) -> Result<()> {
    let released = deadline
        .wait_until(Duration::from_millis(100), || {
            (!super::block_device_claimed(node)).then_some(())
        })
        .is_some();
    if released {
        return Ok(());
    }
    Err(Error::generic(format!(
        "{} is unmounted from {}, but {} is still in use on this host (mounted in another \
         mount namespace?)",
        node.display(),
        mp.display(),
        node.display()
    )))
}
