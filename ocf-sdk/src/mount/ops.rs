//! Mounting: `mount(2)` where the kernel needs nothing else, `mount(8)` where a helper must.

use super::MountOptions;
use crate::deadline::{bounded, Deadline};
use crate::exit::{Error, Result};
use crate::process::Cmd;
use nix::mount::MsFlags;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// What to mount where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    /// What to mount: a device node, a bind source, `server:/path`, a name such as `tmpfs`.
    pub source: OsString,
    /// The mount point (an existing directory, or a file for a bind mount of a file).
    pub target: PathBuf,
    /// The filesystem type; empty lets mount(8) detect it.
    pub fstype: String,
    /// The `-o` option string as an admin writes it.
    pub options: String,
}

impl MountSpec {
    /// A spec from its parts.
    pub fn new(
        source: impl Into<OsString>,
        target: impl Into<PathBuf>,
        fstype: &str,
        options: &str,
    ) -> MountSpec {
        MountSpec {
            source: source.into(),
            target: target.into(),
            fstype: fstype.to_string(),
            options: options.to_string(),
        }
    }

    /// The options split for `mount(2)`.
    pub fn parsed(&self) -> MountOptions {
        super::parse_options(&self.options)
    }

    /// Whether mount(8) must do the mounting: no type given (detection), an option only
    /// mount(8) implements (`loop`, `user`, ...), a FUSE type, or a `mount.<type>` helper
    /// installed (nfs, cifs, ...). Never for a bind mount.
    pub fn needs_helper(&self) -> bool {
        let o = self.parsed();
        if o.bind {
            return false;
        }
        self.fstype.is_empty()
            || o.needs_mount_binary
            || self.fstype == "fuse"
            || self.fstype.starts_with("fuse.")
            || helper_installed(&self.fstype)
    }
}

/// Whether `mount.<fstype>` is installed in a standard directory.
pub fn helper_installed(fstype: &str) -> bool {
    !fstype.is_empty()
        && !fstype.contains('/')
        && ["/sbin", "/usr/sbin", "/bin", "/usr/bin"]
            .iter()
            .any(|d| Path::new(d).join(format!("mount.{fstype}")).exists())
}

/// Mount `spec`: through mount(8) (argv only, bounded by `deadline`) when `helper`, otherwise
/// with `mount(2)` in a worker bounded by `deadline` (a bind mount is made first and then
/// remounted with the other flags, `ro` for instance, which the kernel ignores on a new bind
/// mount).
///
/// # Errors
/// 1 with `cannot mount SOURCE on TARGET: why` (mount(8)'s message, the errno, or the time
/// it blocked).
pub fn mount(spec: &MountSpec, helper: bool, deadline: Deadline) -> Result<()> {
    let shown = format!(
        "cannot mount {} on {}",
        spec.source.to_string_lossy(),
        spec.target.display()
    );
    if helper {
        let mut cmd = Cmd::new("mount");
        if !spec.fstype.is_empty() {
            cmd = cmd.arg("-t").arg(&spec.fstype);
        }
        if !spec.options.is_empty() {
            cmd = cmd.arg("-o").arg(&spec.options);
        }
        return cmd
            .arg(&spec.source)
            .arg(&spec.target)
            .run_ok(deadline)
            .map(|_| ())
            .map_err(|e| Error::generic(format!("{shown}: {}", e.reason())));
    }
    let spec = spec.clone();
    let what = format!("mount of {}", spec.target.display());
    bounded(deadline, what, move || syscall(&spec))?
        .map_err(|e: nix::Error| Error::generic(format!("{shown}: {}", e.desc())))
}

fn syscall(spec: &MountSpec) -> nix::Result<()> {
    let o = spec.parsed();
    let data = (!o.data.is_empty()).then_some(o.data.as_str());
    let source = Path::new(&spec.source);
    if o.bind {
        let bind_flags = o.flags & (MsFlags::MS_BIND | MsFlags::MS_REC);
        nix::mount::mount(
            Some(source),
            &spec.target,
            None::<&str>,
            bind_flags,
            None::<&str>,
        )?;
        let rest = o.flags - (MsFlags::MS_BIND | MsFlags::MS_REC);
        if !rest.is_empty() {
            nix::mount::mount(
                None::<&str>,
                &spec.target,
                None::<&str>,
                MsFlags::MS_REMOUNT | MsFlags::MS_BIND | rest,
                None::<&str>,
            )?;
        }
        return Ok(());
    }
    nix::mount::mount(
        Some(source),
        &spec.target,
        Some(spec.fstype.as_str()),
        o.flags,
        data,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_choice() {
        let s = |t: &str, o: &str| MountSpec::new("/dev/x", "/mnt", t, o).needs_helper();
        assert!(s("", ""));
        assert!(s("fuse.bindfs", ""));
        assert!(s("ext4", "loop"));
        assert!(!s("ext4", "noatime"));
        assert!(!s("", "bind"));
        assert!(!s("tmpfs", "size=1m"));
        assert!(!helper_installed("../x"));
    }
}
