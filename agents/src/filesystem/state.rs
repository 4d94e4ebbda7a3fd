//! What is mounted at the mount point, from the resource's point of view.

use super::config::{Config, Source};
use super::types::{fs_type, is_fuse};
use ocf::mount::{self, FsId, Mount, MountTable};
use ocf::{bounded, Deadline, Error};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the identity check of a bind source may block (it runs on every monitor).
const BIND_LOOKUP: Duration = Duration::from_secs(2);

/// The mount point as the kernel knows it: symbolic links resolved without touching the
/// mounted filesystem (the parent is canonicalised; the last component only when it is not
/// a mount point already). Where the path lies on a FUSE or network filesystem the lookups
/// run in a worker bounded by `deadline`, because that filesystem may hang; then the path is
/// taken as configured.
pub fn mount_point(cfg: &Config, table: &MountTable, deadline: Deadline) -> PathBuf {
    let dir = &cfg.directory;
    if !table.at(dir).is_empty() {
        return dir.clone();
    }
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return dir.clone();
    };
    let (parent, name) = (parent.to_path_buf(), name.to_owned());
    let lookup = move || {
        let parent = std::fs::canonicalize(&parent).unwrap_or(parent);
        let joined = parent.join(name);
        match std::fs::symlink_metadata(&joined) {
            Ok(md) if md.file_type().is_symlink() => {
                std::fs::canonicalize(&joined).unwrap_or(joined)
            }
            _ => joined,
        }
    };
    // The worker thread is paid only where the lookup can block without end (the path ends
    // on a FUSE or network filesystem); a symbolic link leading onto one elsewhere is still
    // answered for by the action's watchdog.
    let may_hang = !dir.is_absolute()
        || table
            .resolve(dir)
            .is_none_or(|m| ocf::deadline::fstype_may_hang(&m.fstype));
    if !may_hang {
        return lookup();
    }
    let what = format!("lookup of {}", dir.display());
    bounded(deadline, what, lookup).unwrap_or_else(|b| {
        ocf::warn!("{b}; using {} as configured", dir.display());
        dir.clone()
    })
}

/// What is mounted at the mount point, from the resource's point of view.
#[derive(Debug, Clone)]
pub enum State {
    /// Ours (or of unknown identity), visible.
    Mounted(Mount),
    /// Ours, but covered by another mount.
    Hidden(Mount),
    /// Something else is visible there, ours is not mounted there.
    Other(Mount),
    /// Nothing.
    Unmounted,
}

pub fn hidden_error(cfg: &Config, m: &Mount, mp: &Path) -> Error {
    Error::generic(format!(
        "{} is mounted on {} but hidden under another mount (mount id {})",
        cfg.device,
        mp.display(),
        m.id
    ))
}

/// The device number of the configured device when it can be known cheaply (device node or
/// udev link; with `scan`, also by reading superblocks).
pub fn configured_dev(cfg: &Config, scan: bool, deadline: Deadline) -> Option<(u32, u32)> {
    match &cfg.source {
        Source::Path(p) if cfg.is_block() => mount::block_dev_of(p),
        Source::Id(id) => {
            if scan {
                super::start::find_device(id, deadline)
                    .unwrap_or_else(|e| {
                        ocf::warn!("{}", e.reason());
                        None
                    })
                    .and_then(|p| mount::block_dev_of(&p))
            } else {
                id_link(id).and_then(|p| mount::block_dev_of(&p))
            }
        }
        _ => None,
    }
}

fn id_link(id: &FsId) -> Option<PathBuf> {
    // Only the udev link: no device scan on monitor/stop paths.
    let (dir, v) = match id {
        FsId::Uuid(u) => ("by-uuid", u.to_ascii_lowercase()),
        FsId::Label(l) => ("by-label", l.clone()),
        FsId::PartUuid(u) => ("by-partuuid", u.to_ascii_lowercase()),
        FsId::PartLabel(l) => ("by-partlabel", l.clone()),
    };
    let p = Path::new("/dev/disk").join(dir).join(v);
    p.exists().then_some(p)
}

/// Whether mount `m` is the configured filesystem: `Some(true/false)` when that can be told,
/// `None` when not (treated as ours, as the shell agent does).
fn is_ours(cfg: &Config, m: &Mount, dev: Option<(u32, u32)>, deadline: Deadline) -> Option<bool> {
    match &cfg.source {
        Source::Path(_) | Source::Id(_) if cfg.is_block() => dev.map(|d| d == m.dev()),
        Source::Network(s) => {
            let norm = |x: &str| x.trim_end_matches('/').to_string();
            if norm(s) == norm(&m.source) {
                Some(true)
            } else if fs_type(&m.fstype).network || m.fstype.starts_with("nfs") {
                None
            } else {
                Some(false)
            }
        }
        Source::Bind(src) => {
            // The source may lie on a hung filesystem: look it up in a bounded worker.
            let s = src.clone();
            let looked = bounded(
                deadline.within(BIND_LOOKUP),
                format!("lookup of {}", src.display()),
                move || {
                    let md = std::fs::metadata(&s).ok()?;
                    Some((md.dev(), std::fs::canonicalize(&s).ok()?))
                },
            );
            let (d, canon) = match looked {
                Ok(v) => v?,
                Err(b) => {
                    ocf::warn!("{b}");
                    return None;
                }
            };
            let sdev = (
                nix::sys::stat::major(d) as u32,
                nix::sys::stat::minor(d) as u32,
            );
            if sdev != m.dev() {
                return Some(false);
            }
            let table = MountTable::read().ok()?;
            let under = table.resolve(&canon)?;
            let rel = canon.strip_prefix(&under.mount_point).ok()?;
            Some(under.root.join(rel) == m.root)
        }
        Source::Name(n) => {
            Some(m.source == *n && (cfg.fstype.is_empty() || m.fstype == cfg.fstype))
        }
        // FUSE: mountinfo says `fuse` (or `fuse.<subtype>` when the daemon sets one) for a
        // `fuse.<name>` resource; the source is what the daemon was given.
        Source::Path(p) if is_fuse(&cfg.fstype) => Some(
            (m.fstype == cfg.fstype || is_fuse(&m.fstype))
                && Path::new(&m.source).components().eq(p.components()),
        ),
        _ if !cfg.fstype.is_empty() && cfg.fstype != "none" => Some(m.fstype == cfg.fstype),
        _ => None,
    }
}

pub fn state(cfg: &Config, table: &MountTable, mp: &Path, scan: bool, deadline: Deadline) -> State {
    let stack = table.at(mp);
    if stack.is_empty() {
        return State::Unmounted;
    }
    let dev = configured_dev(cfg, scan, deadline);
    let visible = table.visible(mp);
    if let Some(v) = visible {
        if is_ours(cfg, v, dev, deadline) != Some(false) {
            return State::Mounted(v.clone());
        }
    }
    if let Some(h) = stack
        .iter()
        .rev()
        .find(|m| is_ours(cfg, m, dev, deadline) == Some(true))
    {
        return State::Hidden((*h).clone());
    }
    if let Some(v) = visible {
        return State::Other(v.clone());
    }
    match stack
        .iter()
        .rev()
        .find(|m| is_ours(cfg, m, dev, deadline) != Some(false))
    {
        Some(h) => State::Hidden((*h).clone()),
        None => State::Unmounted,
    }
}
