//! The deeper monitor checks: depth 10 reads the mounted block device, depth 20 writes, stats
//! and reads back a status file on the filesystem. Both do real I/O on what may be a hung
//! device or filesystem, so each runs in a worker bounded by the action's deadline and a hang
//! is reported (exit 1, naming the call and how long it blocked) before the cluster's timeout.

use super::config::Config;
use ocf::mount::{self, Mount};
use ocf::{bounded, Context, Deadline, Error, OrRc, Rc, Result};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// 4 KiB, aligned for O_DIRECT.
struct Aligned {
    buf: Vec<u8>,
    off: usize,
}

impl Aligned {
    fn new() -> Aligned {
        let buf = vec![0u8; 8192];
        let off = buf.as_ptr().align_offset(4096).min(4096);
        Aligned { buf, off }
    }
    fn block(&mut self) -> &mut [u8] {
        &mut self.buf[self.off..self.off + 4096]
    }
}

/// Whether the mount has a block device to read at depth 10, decided from the mount itself
/// (as the shell agent's `-b` test on the device does), never from a list of types: the
/// kernel knows its device number as a block device (`/sys/dev/block/M:m`: ext4, xfs, a
/// loop device), or its source is a block device node (`fuseblk` from ntfs-3g, whose device
/// number is anonymous). FUSE (`fuse`, `fuse.sshfs`, bindfs), tmpfs and network mounts have
/// neither.
pub fn has_block_device(m: &Mount) -> bool {
    Path::new(&format!("/sys/dev/block/{}:{}", m.major, m.minor)).exists()
        || (m.source.starts_with('/') && mount::block_dev_of(Path::new(&m.source)).is_some())
}

/// Depth 10: read 4 KiB of the mounted block device with `O_DIRECT` (past the page cache).
///
/// # Errors
/// 1 when the device node is missing, cannot be read, or the read blocks past `deadline`.
pub fn read_device(m: &Mount, deadline: Deadline) -> Result<()> {
    let source = Path::new(&m.source);
    let node = mount::block_dev_path(m.dev()).or_else(|| {
        (source.starts_with("/") && mount::block_dev_of(source).is_some())
            .then(|| source.to_path_buf())
    });
    let Some(node) = node else {
        return Err(Error::generic(format!(
            "no device node for {}:{} mounted on {}",
            m.major,
            m.minor,
            m.mount_point.display()
        )));
    };
    let what = format!("O_DIRECT read of {}", node.display());
    bounded(deadline, what, move || {
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECT)
            .open(&node)
            .or_rc(Rc::ErrGeneric, &format!("cannot open {}", node.display()))?;
        let mut buf = Aligned::new();
        f.read_exact(buf.block())
            .or_rc(Rc::ErrGeneric, &format!("cannot read {}", node.display()))
    })?
}

/// The status file of this instance on the filesystem mounted at `mp`.
pub fn status_file(cfg: &Config, cx: &Context, mp: &Path) -> PathBuf {
    let mut suffix = cx.instance.clone();
    if let Some(n) = cx.clone.as_ref().and_then(|c| c.instance) {
        suffix.push_str(&format!("_{n}"));
    }
    let host = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    suffix.push('_');
    suffix.push_str(&host);
    PathBuf::from(format!(
        "{}/{}{}",
        mp.display(),
        cfg.statusfile_prefix,
        suffix
    ))
}

/// Depth 20: write the instance name to the status file (`O_DIRECT|O_SYNC` on block
/// devices, `O_SYNC` otherwise), stat it and read it back.
///
/// # Errors
/// 1 when any step fails or blocks past the deadline.
pub fn status_file_check(cfg: &Config, cx: &Context, mp: &Path) -> Result<()> {
    let f = status_file(cfg, cx, mp);
    let text = format!("{}\n", cx.instance);
    let direct = cfg.is_block();
    let what = format!("write of status file {}", f.display());
    bounded(cx.deadline, what, move || {
        write_and_read_back(&f, &text, direct)
    })?
}

fn write_and_read_back(f: &Path, text: &str, direct: bool) -> Result<()> {
    let shown = f.display().to_string();
    if let Some(dir) = f.parent() {
        if !dir.is_dir() {
            std::fs::create_dir_all(dir).or_rc(
                Rc::ErrGeneric,
                &format!("cannot create status directory {}", dir.display()),
            )?;
        }
    }
    let mut block = Aligned::new();
    let n = text.len().min(4096);
    block.block()[..n].copy_from_slice(&text.as_bytes()[..n]);
    let open = |direct: bool| {
        let mut flags = libc::O_SYNC;
        if direct {
            flags |= libc::O_DIRECT;
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(flags)
            .open(f)
    };
    let mut file = match open(direct) {
        // A filesystem without O_DIRECT support: fall back to synchronous writes.
        Err(e) if direct && e.raw_os_error() == Some(libc::EINVAL) => open(false),
        r => r,
    }
    .or_rc(Rc::ErrGeneric, &format!("cannot write status file {shown}"))?;
    file.write_all(block.block())
        .and_then(|()| file.sync_all())
        .or_rc(Rc::ErrGeneric, &format!("cannot write status file {shown}"))?;
    drop(file);
    let md =
        std::fs::metadata(f).or_rc(Rc::ErrGeneric, &format!("cannot stat status file {shown}"))?;
    if !md.is_file() {
        return Err(Error::generic(format!("status file {shown} is not a file")));
    }
    let mut back = Vec::new();
    std::fs::File::open(f)
        .and_then(|mut r| r.read_to_end(&mut back))
        .or_rc(Rc::ErrGeneric, &format!("cannot read status file {shown}"))?;
    if !back.starts_with(text.as_bytes()) {
        return Err(Error::generic(format!(
            "status file {shown} does not read back what was written"
        )));
    }
    Ok(())
}

/// Remove the status file (stop after a depth-20 monitor), bounded: a hung filesystem only
/// costs `deadline`, and the unmount that follows deals with it.
pub fn remove_status_file(cfg: &Config, cx: &Context, mp: &Path, deadline: Deadline) {
    let f = status_file(cfg, cx, mp);
    let shown = f.display().to_string();
    match bounded(
        deadline,
        format!("removal of status file {shown}"),
        move || std::fs::remove_file(f),
    ) {
        Ok(Err(e)) if e.kind() != std::io::ErrorKind::NotFound => {
            ocf::warn!("cannot remove status file {shown}: {e}");
        }
        Err(b) => ocf::warn!("{b}"),
        Ok(_) => {}
    }
}
