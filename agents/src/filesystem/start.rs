//! What start checks and does before and while mounting.

use super::config::{has_option, Config, Source};
use super::types::{fs_type, kernel_fs};
use ocf::mount;
use ocf::process::Cmd;
use ocf::{bounded, Context, Deadline, Error, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Refuse a clone of a filesystem type that is not cluster-aware.
pub fn clone_guard(cfg: &Config, cx: &Context) -> Result<()> {
    if !cx.is_clone() || fs_type(&cfg.fstype).clone_safe {
        return Ok(());
    }
    let fstype = if cfg.fstype.is_empty() {
        "(unknown type)"
    } else {
        &cfg.fstype
    };
    if cfg.force_clones {
        ocf::warn!(
            "{fstype} on {} is not cluster-aware; running as a clone because force_clones is set",
            cfg.device
        );
        return Ok(());
    }
    let journaled = fs_type(fstype).journaled;
    if has_option(&cfg.options, "ro") && !journaled {
        ocf::warn!(
            "{fstype} on {} is not cluster-aware; allowed as a clone because it is mounted read-only",
            cfg.device
        );
        return Ok(());
    }
    Err(Error::configured(format!(
        "{fstype} on {} is not cluster-aware: refusing to run it as a clone (set force_clones \
         only if every node mounts its own device)",
        cfg.device
    )))
}

/// The device node (or bind source) start will mount; `None` for sources without one.
pub fn device_for_start(cfg: &Config, deadline: Deadline) -> Result<Option<PathBuf>> {
    match &cfg.source {
        Source::Path(p) => {
            if cfg.is_block() && p != Path::new("/dev/null") && mount::block_dev_of(p).is_none() {
                return Err(Error::installed(format!(
                    "device {} not found (expected a block device)",
                    p.display()
                )));
            }
            if !cfg.is_block() && !exists(p, deadline)? {
                return Err(Error::installed(format!("{} not found", p.display())));
            }
            Ok(Some(p.clone()))
        }
        Source::Id(id) => find_device(id, deadline)?
            .map(Some)
            .ok_or_else(|| Error::installed(format!("no block device holds the filesystem {id}"))),
        Source::Bind(p) => {
            if exists(p, deadline)? {
                Ok(Some(p.clone()))
            } else {
                Err(Error::installed(format!(
                    "bind mount source {} not found",
                    p.display()
                )))
            }
        }
        Source::Network(_) | Source::Name(_) => Ok(None),
    }
}

pub fn fsck_needed(cfg: &Config) -> bool {
    match cfg.run_fsck {
        "force" => true,
        "no" => false,
        _ => fs_type(&cfg.fstype).fsck,
    }
}

pub fn run_fsck(cfg: &Config, dev: &Path, cx: &Context) -> Result<()> {
    ocf::info!("checking {} (fsck -p)", dev.display());
    let mut cmd = Cmd::new("fsck");
    if !cfg.fstype.is_empty() {
        cmd = cmd.arg("-t").arg(&cfg.fstype);
    }
    let out = cmd.arg("-p").arg(dev).run(cx.deadline.fraction(0.8))?;
    match out.code {
        Some(c) if c < 4 => {
            if c != 0 {
                ocf::info!("fsck of {} exited {c} (errors corrected)", dev.display());
            }
            Ok(())
        }
        _ => Err(Error::generic(format!(
            "fsck of {} failed ({}): {}",
            dev.display(),
            out.code
                .map_or("killed".to_string(), |c| format!("exit code {c}")),
            out.one_line()
        ))),
    }
}

/// Whether the kernel supports the type, loading its module if needed.
pub fn fstype_supported(cfg: &Config, cx: &Context) -> Result<()> {
    let t = cfg.fstype.as_str();
    if t.is_empty() || t == "none" {
        return Ok(());
    }
    let support = kernel_fs(t);
    let known = || {
        std::fs::read_to_string("/proc/filesystems").is_ok_and(|s| {
            s.lines()
                .any(|l| l.split_whitespace().next_back() == Some(support))
        })
    };
    if known() {
        return Ok(());
    }
    let out = Cmd::new("modprobe")
        .arg(support)
        .run(cx.deadline.fraction(0.3))
        .map_err(|e| {
            Error::installed(format!(
                "filesystem {support} is not in /proc/filesystems and cannot be loaded: {}",
                e.reason()
            ))
        })?;
    if !out.success() {
        return Err(Error::installed(format!(
            "filesystem {support} is not in /proc/filesystems and modprobe failed: {}",
            out.one_line()
        )));
    }
    cx.deadline
        .within(Duration::from_secs(5))
        .wait_until(Duration::from_millis(200), || known().then_some(()))
        .ok_or_else(|| {
            Error::installed(format!(
                "filesystem {support} is not in /proc/filesystems after loading its module"
            ))
        })
}

/// Mount through the SDK: mount(8) where a helper is needed, `mount(2)` otherwise.
pub fn do_mount(cfg: &Config, dev: Option<&Path>, mp: &Path, cx: &Context) -> Result<()> {
    let source: std::ffi::OsString = match (&cfg.source, dev) {
        (_, Some(d)) => d.as_os_str().to_owned(),
        (Source::Id(id), None) if cfg.needs_mount_binary() => id.to_string().into(),
        _ => cfg.device.clone().into(),
    };
    let spec = mount::MountSpec::new(source, mp, &cfg.fstype, &cfg.options);
    mount::mount(&spec, cfg.needs_mount_binary(), cx.deadline).map_err(|e| {
        Error::generic(format!(
            "cannot mount {} on {}: {}",
            cfg.device,
            mp.display(),
            e.reason()
                .split_once(": ")
                .map_or(e.reason(), |(_, why)| why)
        ))
    })
}

/// Whether `p` exists, looked up in a worker bounded by `deadline` (it may lie on a hung
/// filesystem).
///
/// # Errors
/// 1 when the lookup blocks past the deadline.
pub fn exists(p: &Path, deadline: Deadline) -> Result<bool> {
    let q = p.to_path_buf();
    Ok(bounded(
        deadline,
        format!("lookup of {}", p.display()),
        move || q.exists(),
    )?)
}

/// Create the mount point unless it is a directory already, bounded by `deadline`.
///
/// # Errors
/// 5 when it cannot be created, 1 when the lookup blocks.
pub fn make_mount_point(mp: &Path, deadline: Deadline) -> Result<()> {
    let dir = mp.to_path_buf();
    let what = format!("creation of mount point {}", mp.display());
    bounded(deadline, what, move || {
        if dir.is_dir() {
            Ok(())
        } else {
            std::fs::create_dir_all(&dir)
        }
    })?
    .map_err(|e| Error::installed(format!("cannot create mount point {}: {e}", mp.display())))
}

/// The block device holding `id` ([`mount::find_block_device`]: udev links, else the
/// superblocks of every block device), in a worker bounded by `deadline`: reading a failing
/// device's superblock can block.
///
/// # Errors
/// 1 when the search blocks past the deadline.
pub fn find_device(id: &mount::FsId, deadline: Deadline) -> Result<Option<PathBuf>> {
    let wanted = id.clone();
    let what = format!("search for the device holding {id}");
    Ok(bounded(deadline, what, move || {
        mount::find_block_device(&wanted)
    })?)
}
