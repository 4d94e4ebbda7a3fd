//! Mounted filesystems, block devices and the processes that keep a mount busy, read from the
//! kernel's own interfaces (no `mount`, `findmnt`, `blkid`, `fuser` or `lsof` output).
//!
//! * [`MountTable`]: `/proc/self/mountinfo` parsed (octal escapes such as `\040` decoded), with
//!   the kernel's path-lookup rule for which mount a path reaches: stacked mounts at one path
//!   (the one mounted last is on top), mounts hidden under a later mount on an ancestor path,
//!   bind mounts and one device mounted at several places are all told apart by mount id,
//!   parent id and device number.
//! * [`MountOptions`]: a `-o` option string split into `mount(2)` flags and the
//!   filesystem-specific data string, the way mount(8) does it.
//! * [`FsId`] and [`find_block_device`]: `UUID=`/`LABEL=` resolved through
//!   `/dev/disk/by-*` links when udev made them, otherwise by reading the superblocks of the
//!   block devices in `/sys/class/block` (ext2/3/4, xfs, btrfs).
//! * [`users`]: the processes using one mount (open files, cwd, root, executable, memory
//!   maps), matched by **mount id** through `/proc/<pid>/fdinfo` (`mnt_id:`), so a process using
//!   the same filesystem through another bind mount, or a filesystem mounted below, is never
//!   taken for a user. Nothing here stats a file on the mount, so a dead NFS server cannot
//!   block the scan.
//! * [`mount()`] and [`MountSpec`]: mount with `mount(2)` (block devices, bind mounts with
//!   their remount, virtual filesystems) or through mount(8) where a helper is needed, bounded
//!   by a deadline.
//! * [`unmount`] and [`Escalation`]: unmount with signals to the users found by mount id,
//!   `MNT_FORCE`, and a lazy detach as a last resort for a mount whose `umount2` blocks in the
//!   kernel; [`wait_released`]: the block device is no longer claimed anywhere on this host.
//!
//! Every call that may block on the filesystem itself runs in a worker bounded by the
//! action's deadline ([`crate::deadline::bounded`]).

mod ops;
mod unmount;

pub use ops::{helper_installed, mount, MountSpec};
pub use unmount::{unmount, wait_released, Escalation};

use crate::exit::{Error, Result};
use crate::process::{Proc, ProcRef};
use nix::fcntl::{open, OFlag};
use nix::mount::MsFlags;
use nix::sys::stat::Mode;
use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// One line of `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Mount id (unique while mounted).
    pub id: u32,
    /// Id of the mount this one is attached to (for stacked mounts: the one below).
    pub parent: u32,
    /// Device number of the filesystem (`st_dev` of files on it): major.
    pub major: u32,
    /// Device number: minor.
    pub minor: u32,
    /// The directory of the filesystem that is mounted here (`/` unless a bind mount of a
    /// subdirectory).
    pub root: PathBuf,
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// Per-mount options (`rw`, `ro`, `nosuid`, ...).
    pub options: String,
    /// Filesystem type (`ext4`, `nfs4`, `fuse.sshfs`, ...).
    pub fstype: String,
    /// Mount source (`/dev/sdb1`, `server:/export`, `tmpfs`, ...).
    pub source: String,
    /// Superblock options.
    pub super_options: String,
}

impl Mount {
    /// Whether this mount is read-only (per-mount or superblock).
    pub fn is_read_only(&self) -> bool {
        has_word(&self.options, "ro") || has_word(&self.super_options, "ro")
    }

    /// The device number `(major, minor)`.
    pub fn dev(&self) -> (u32, u32) {
        (self.major, self.minor)
    }
}

fn has_word(list: &str, word: &str) -> bool {
    list.split(',').any(|w| w == word)
}

/// Decode mountinfo's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` `\`).
pub fn unescape(field: &str) -> Vec<u8> {
    unescape_bytes(field.as_bytes())
}

/// [`unescape`] for fields that need not be UTF-8 (the kernel and nfs-utils write other
/// bytes of a path as they are: `/var/lib/nfs/etab`, `/proc/net/rpc/*/content`).
pub fn unescape_bytes(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let digits = &b[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let v = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(byte) = u8::try_from(v) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn path_field(field: &str) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(&unescape(field)))
}

fn parse_line(line: &str) -> Option<Mount> {
    // id parent major:minor root mount_point options [optional fields...] - fstype source super
    let mut it = line.split(' ');
    let id = it.next()?.parse().ok()?;
    let parent = it.next()?.parse().ok()?;
    let (major, minor) = it.next()?.split_once(':')?;
    let root = path_field(it.next()?);
    let mount_point = path_field(it.next()?);
    let options = it.next()?.to_string();
    for f in it.by_ref() {
        if f == "-" {
            break;
        }
    }
    let fstype = String::from_utf8_lossy(&unescape(it.next()?)).into_owned();
    let source = String::from_utf8_lossy(&unescape(it.next().unwrap_or(""))).into_owned();
    let super_options = it.next().unwrap_or("").to_string();
    Some(Mount {
        id,
        parent,
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
        root,
        mount_point,
        options,
        fstype,
        source,
        super_options,
    })
}

/// Read a `/proc` file with a 16 KiB buffer (a probe's mount table in two system calls
/// instead of `read_to_string`'s growing reads); also how many read() calls returned data.
fn read_in_passes(path: &Path) -> std::io::Result<(String, usize)> {
    let mut f = std::fs::File::open(path)?;
    let mut chunk = [0u8; 16 * 1024];
    let mut text = Vec::new();
    let mut passes = 0;
    loop {
        let n = match f.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        passes += 1;
        text.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8(text)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    Ok((text, passes))
}

/// A snapshot of the mount table, in mountinfo order (a mount is listed after the mount it is
/// attached to).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountTable {
    /// Every mount.
    pub mounts: Vec<Mount>,
}

/// Whether `path` is `dir` or below it (component-wise: `/a/bc` is not below `/a/b`).
pub fn is_within(path: &Path, dir: &Path) -> bool {
    path.starts_with(dir)
}

impl MountTable {
    /// Read `/proc/self/mountinfo` (twice if it changed while being read, as the shell agent
    /// does with `/proc/mounts`).
    ///
    /// # Errors
    /// 1 when it cannot be read.
    pub fn read() -> Result<MountTable> {
        MountTable::read_from(Path::new("/proc/self/mountinfo"))
    }

    /// Read a mountinfo file, e.g. `/proc/thread-self/mountinfo` for a thread that entered a
    /// mount namespace of its own (`/proc/self` is the process's main thread).
    ///
    /// # Errors
    /// 1 when it cannot be read.
    pub fn read_from(path: &Path) -> Result<MountTable> {
        let read = || {
            read_in_passes(path)
                .map_err(|e| Error::generic(format!("read {}: {e}", path.display())))
        };
        let (mut text, passes) = read()?;
        // The kernel writes mountinfo one read() at a time, each under the namespace's
        // mount lock: a table that came in one read() is consistent; a longer one is read
        // again until two readings agree.
        if passes > 1 {
            for _ in 0..3 {
                let (again, _) = read()?;
                if again == text {
                    break;
                }
                text = again;
            }
        }
        Ok(MountTable::parse(&text))
    }

    /// Parse mountinfo text; malformed lines are skipped.
    pub fn parse(text: &str) -> MountTable {
        MountTable {
            mounts: text.lines().filter_map(parse_line).collect(),
        }
    }

    /// Every mount whose mount point is exactly `path`, in mountinfo order (the stack at that
    /// path, bottom first, when they are stacked).
    pub fn at(&self, path: &Path) -> Vec<&Mount> {
        self.mounts
            .iter()
            .filter(|m| m.mount_point == path)
            .collect()
    }

    fn by_id(&self, id: u32) -> Option<&Mount> {
        self.mounts.iter().find(|m| m.id == id)
    }

    /// Follow mounts stacked on `m` at its own mount point: the top of the stack.
    fn top_of_stack<'a>(&'a self, mut m: &'a Mount) -> &'a Mount {
        // Bounded: a malformed table must not loop forever.
        for _ in 0..self.mounts.len() {
            match self
                .mounts
                .iter()
                .rev()
                .find(|c| c.parent == m.id && c.id != m.id && c.mount_point == m.mount_point)
            {
                Some(c) => m = c,
                None => break,
            }
        }
        m
    }

    /// The mount a lookup of the absolute path `path` ends on: the filesystem a process sees
    /// at `path`. Mounts stacked at one path and mounts hidden under a later mount on an
    /// ancestor are resolved as the kernel does (through parent ids).
    pub fn resolve(&self, path: &Path) -> Option<&Mount> {
        let root = Path::new("/");
        let at_root = self.at(root);
        let base = at_root
            .iter()
            .find(|m| !at_root.iter().any(|o| o.id == m.parent && o.id != m.id))
            .or_else(|| at_root.first())?;
        let mut cur = self.top_of_stack(base);
        let mut prefix = PathBuf::from("/");
        for c in path.components() {
            match c {
                Component::Normal(n) => prefix.push(n),
                _ => continue,
            }
            if let Some(child) = self
                .mounts
                .iter()
                .rev()
                .find(|m| m.parent == cur.id && m.mount_point == prefix && m.id != cur.id)
            {
                cur = self.top_of_stack(child);
            }
        }
        Some(cur)
    }

    /// The mount visible at exactly `path`: the one a lookup of `path` ends on, if it is
    /// mounted at `path` (not merely on an ancestor).
    pub fn visible(&self, path: &Path) -> Option<&Mount> {
        self.resolve(path).filter(|m| m.mount_point == path)
    }

    /// Mounts whose mount point is strictly below `dir`, in mountinfo order.
    pub fn below(&self, dir: &Path) -> Vec<&Mount> {
        self.mounts
            .iter()
            .filter(|m| m.mount_point != dir && is_within(&m.mount_point, dir))
            .collect()
    }

    /// Mounts of the filesystem with device number `dev` (every bind mount of it included).
    pub fn of_device(&self, dev: (u32, u32)) -> Vec<&Mount> {
        self.mounts.iter().filter(|m| m.dev() == dev).collect()
    }

    /// Whether the mount with this id is still in the table.
    pub fn contains_id(&self, id: u32) -> bool {
        self.by_id(id).is_some()
    }
}

/// The `(major, minor)` of a block device node (symlinks followed); `None` when `path` does
/// not exist or is not a block device.
pub fn block_dev_of(path: &Path) -> Option<(u32, u32)> {
    let md = std::fs::metadata(path).ok()?;
    if !md.file_type().is_block_device() {
        return None;
    }
    let rdev = md.rdev();
    Some((
        nix::sys::stat::major(rdev) as u32,
        nix::sys::stat::minor(rdev) as u32,
    ))
}

/// The device node for a block device number, from sysfs (`DEVNAME` in
/// `/sys/dev/block/M:m/uevent`), checked against the node's own number.
pub fn block_dev_path(dev: (u32, u32)) -> Option<PathBuf> {
    let uevent =
        std::fs::read_to_string(format!("/sys/dev/block/{}:{}/uevent", dev.0, dev.1)).ok()?;
    let name = uevent.lines().find_map(|l| l.strip_prefix("DEVNAME="))?;
    let p = Path::new("/dev").join(name);
    (block_dev_of(&p) == Some(dev)).then_some(p)
}

/// Drop the kernel's cached buffers of a block device (`blockdev --flushbufs`), so a
/// filesystem written by another node is not read from stale cache.
///
/// # Errors
/// The I/O error of `open` or of the `BLKFLSBUF` ioctl.
pub fn flush_buffers(dev: &Path) -> std::io::Result<()> {
    const BLKFLSBUF: u32 = 0x1261; // _IO(0x12, 97)
    let f = std::fs::File::open(dev)?;
    // SAFETY: BLKFLSBUF takes no argument and acts only on the open block device.
    let r = unsafe { libc::ioctl(f.as_raw_fd(), BLKFLSBUF as _, 0) };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Whether a block device is claimed exclusively by someone (a mounted filesystem, in any
/// mount namespace, or a device-mapper/md holder): an `O_EXCL` open fails with `EBUSY`.
/// After unmounting a filesystem here, this tells whether it is still mounted somewhere else
/// on this host, for instance in a private copy of the mount table made by `unshare -m`.
pub fn block_device_claimed(dev: &Path) -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_EXCL)
        .open(dev)
        .is_err_and(|e| e.raw_os_error() == Some(libc::EBUSY))
}

/// Mount options split the way mount(8) splits them before calling `mount(2)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags for `mount(2)`.
    pub flags: MsFlags,
    /// Filesystem-specific options (the `data` argument), comma-separated.
    pub data: String,
    /// `bind` or `rbind` was given.
    pub bind: bool,
    /// `ro` was given (a bind mount needs a remount to apply it).
    pub read_only: bool,
    /// An option only mount(8) and its helpers implement (`loop`, `offset=`, `helper=`,
    /// `uhelper=`, `user`, `users`, `owner`, `group`, `X-mount.*`): use the binary, not the
    /// syscall.
    pub needs_mount_binary: bool,
    /// Propagation (`shared`, `private`, `slave`, `unbindable` and their recursive `r`
    /// forms): like mount(8), applied by a second `mount(2)` call once mounted, because the
    /// kernel refuses it combined with a new mount (EINVAL).
    pub propagation: MsFlags,
}

/// `MS_NOSYMFOLLOW` (Linux 5.10), which this nix version does not name.
fn nosymfollow() -> MsFlags {
    MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW)
}

/// Split a mount(8) `-o` option string.
pub fn parse_options(opts: &str) -> MountOptions {
    let mut o = MountOptions {
        flags: MsFlags::empty(),
        data: String::new(),
        bind: false,
        read_only: false,
        needs_mount_binary: false,
        propagation: MsFlags::empty(),
    };
    let mut data: Vec<&str> = Vec::new();
    for w in opts.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let set = |o: &mut MountOptions, f: MsFlags| o.flags.insert(f);
        let clear = |o: &mut MountOptions, f: MsFlags| o.flags.remove(f);
        match w {
            "ro" | "r" => {
                set(&mut o, MsFlags::MS_RDONLY);
                o.read_only = true;
            }
            "rw" | "w" => {
                clear(&mut o, MsFlags::MS_RDONLY);
                o.read_only = false;
            }
            "nosuid" => set(&mut o, MsFlags::MS_NOSUID),
            "suid" => clear(&mut o, MsFlags::MS_NOSUID),
            "nodev" => set(&mut o, MsFlags::MS_NODEV),
            "dev" => clear(&mut o, MsFlags::MS_NODEV),
            "noexec" => set(&mut o, MsFlags::MS_NOEXEC),
            "exec" => clear(&mut o, MsFlags::MS_NOEXEC),
            "sync" => set(&mut o, MsFlags::MS_SYNCHRONOUS),
            "async" => clear(&mut o, MsFlags::MS_SYNCHRONOUS),
            "dirsync" => set(&mut o, MsFlags::MS_DIRSYNC),
            "mand" => set(&mut o, MsFlags::MS_MANDLOCK),
            "nomand" => clear(&mut o, MsFlags::MS_MANDLOCK),
            "noatime" => set(&mut o, MsFlags::MS_NOATIME),
            "atime" => clear(&mut o, MsFlags::MS_NOATIME),
            "nodiratime" => set(&mut o, MsFlags::MS_NODIRATIME),
            "diratime" => clear(&mut o, MsFlags::MS_NODIRATIME),
            "relatime" => set(&mut o, MsFlags::MS_RELATIME),
            "norelatime" => clear(&mut o, MsFlags::MS_RELATIME),
            "strictatime" => set(&mut o, MsFlags::MS_STRICTATIME),
            "nostrictatime" => clear(&mut o, MsFlags::MS_STRICTATIME),
            "lazytime" => set(&mut o, MsFlags::MS_LAZYTIME),
            "nolazytime" => clear(&mut o, MsFlags::MS_LAZYTIME),
            "silent" => set(&mut o, MsFlags::MS_SILENT),
            "loud" => clear(&mut o, MsFlags::MS_SILENT),
            "remount" => set(&mut o, MsFlags::MS_REMOUNT),
            "bind" => {
                set(&mut o, MsFlags::MS_BIND);
                o.bind = true;
            }
            "rbind" => {
                set(&mut o, MsFlags::MS_BIND | MsFlags::MS_REC);
                o.bind = true;
            }
            "iversion" => set(&mut o, MsFlags::MS_I_VERSION),
            "noiversion" => clear(&mut o, MsFlags::MS_I_VERSION),
            "nosymfollow" => set(&mut o, nosymfollow()),
            "symfollow" => clear(&mut o, nosymfollow()),
            "shared" | "private" | "slave" | "unbindable" | "rshared" | "rprivate" | "rslave"
            | "runbindable" => {
                let (rec, kind) = match w.strip_prefix('r') {
                    Some(k) => (MsFlags::MS_REC, k),
                    _ => (MsFlags::empty(), w),
                };
                o.propagation = rec
                    | match kind {
                        "shared" => MsFlags::MS_SHARED,
                        "private" => MsFlags::MS_PRIVATE,
                        "slave" => MsFlags::MS_SLAVE,
                        _ => MsFlags::MS_UNBINDABLE,
                    };
            }
            // Userspace words with no kernel meaning (libmount's userspace map): mount(8)
            // never passes them to the kernel.
            "defaults" | "auto" | "noauto" | "nouser" | "nousers" | "noowner" | "nogroup"
            | "_netdev" | "nofail" => {}
            "user" | "users" | "owner" | "group" | "loop" => o.needs_mount_binary = true,
            // X-mount.mkdir, X-mount.owner, ...: mount(8) acts on them.
            w if w.starts_with("X-mount.") => o.needs_mount_binary = true,
            w if w.starts_with("x-") || w.starts_with("X-") || w.starts_with("comment=") => {}
            w if w.starts_with("loop=")
                || w.starts_with("offset=")
                || w.starts_with("sizelimit=")
                || w.starts_with("encryption=")
                || w.starts_with("helper=")
                || w.starts_with("uhelper=") =>
            {
                o.needs_mount_binary = true;
            }
            w => data.push(w),
        }
    }
    o.data = data.join(",");
    o
}

/// A filesystem identity mount(8) accepts in place of a device path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsId {
    /// `UUID=`, `-U`, `--uuid`.
    Uuid(String),
    /// `LABEL=`, `-L`, `--label`.
    Label(String),
    /// `PARTUUID=` (GPT/MBR partition id; resolved through udev links only).
    PartUuid(String),
    /// `PARTLABEL=` (resolved through udev links only).
    PartLabel(String),
}

impl std::fmt::Display for FsId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FsId::Uuid(u) => write!(f, "UUID={u}"),
            FsId::Label(l) => write!(f, "LABEL={l}"),
            FsId::PartUuid(u) => write!(f, "PARTUUID={u}"),
            FsId::PartLabel(l) => write!(f, "PARTLABEL={l}"),
        }
    }
}

/// Encode a name the way udev does for `/dev/disk/by-label` (bytes outside
/// `[A-Za-z0-9#+-.:=@_]` become `\xNN`).
fn udev_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"#+-.:=@_".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// What a superblock says about a filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superblock {
    /// Detected type (`ext4` stands for ext2/3/4, `xfs`, `btrfs`).
    pub fstype: &'static str,
    /// UUID, lower-case with dashes.
    pub uuid: String,
    /// Label (may be empty).
    pub label: String,
}

fn fmt_uuid(b: &[u8]) -> String {
    let h: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    )
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Identify an ext2/3/4, xfs or btrfs filesystem from the first 68 KiB of a device image.
pub fn parse_superblock(head: &[u8]) -> Option<Superblock> {
    // ext2/3/4: superblock at 1024, magic 0xEF53 at +0x38, uuid at +0x68, label at +0x78.
    if head.len() >= 1024 + 0x88 && head[1024 + 0x38..1024 + 0x3a] == [0x53, 0xef] {
        let sb = &head[1024..];
        return Some(Superblock {
            fstype: "ext4",
            uuid: fmt_uuid(&sb[0x68..0x78]),
            label: cstr(&sb[0x78..0x88]),
        });
    }
    // xfs: "XFSB" at 0, uuid at 32, label (12 bytes) at 108.
    if head.len() >= 120 && &head[0..4] == b"XFSB" {
        return Some(Superblock {
            fstype: "xfs",
            uuid: fmt_uuid(&head[32..48]),
            label: cstr(&head[108..120]),
        });
    }
    // btrfs: superblock at 64 KiB, magic "_BHRfS_M" at +0x40, fsid at +0x20, label at +0x12b.
    let b = 0x10000;
    if head.len() >= b + 0x12b + 256 && &head[b + 0x40..b + 0x48] == b"_BHRfS_M" {
        let sb = &head[b..];
        return Some(Superblock {
            fstype: "btrfs",
            uuid: fmt_uuid(&sb[0x20..0x30]),
            label: cstr(&sb[0x12b..0x12b + 256]),
        });
    }
    None
}

/// Read the superblock of a block device (buffered read of its first 68 KiB).
pub fn read_superblock(dev: &Path) -> Option<Superblock> {
    let mut f = std::fs::File::open(dev).ok()?;
    let mut buf = vec![0u8; 0x10000 + 4096];
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => break,
        }
    }
    buf.truncate(n);
    parse_superblock(&buf)
}

/// The block device holding the filesystem `id`: through `/dev/disk/by-uuid|by-label|...`
/// when udev created the link, otherwise (UUID and LABEL only) by reading the superblock of
/// each block device listed in `/sys/class/block`. `None` when not found.
pub fn find_block_device(id: &FsId) -> Option<PathBuf> {
    let (dir, name) = match id {
        FsId::Uuid(u) => ("by-uuid", u.to_ascii_lowercase()),
        FsId::Label(l) => ("by-label", udev_encode(l)),
        FsId::PartUuid(u) => ("by-partuuid", u.to_ascii_lowercase()),
        FsId::PartLabel(l) => ("by-partlabel", udev_encode(l)),
    };
    let link = Path::new("/dev/disk").join(dir).join(name);
    if block_dev_of(&link).is_some() {
        return std::fs::canonicalize(&link).ok().or(Some(link));
    }
    let matches = |sb: &Superblock| match id {
        FsId::Uuid(u) => sb.uuid.eq_ignore_ascii_case(u),
        FsId::Label(l) => !l.is_empty() && sb.label == *l,
        _ => false,
    };
    if matches!(id, FsId::PartUuid(_) | FsId::PartLabel(_)) {
        return None;
    }
    let mut names: Vec<String> = std::fs::read_dir("/sys/class/block")
        .ok()?
        .filter_map(|e| Some(e.ok()?.file_name().to_str()?.to_string()))
        .collect();
    names.sort();
    for n in names {
        // Skip devices of size 0 (unattached loop devices, empty drives).
        let size = std::fs::read_to_string(format!("/sys/class/block/{n}/size"))
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if size == 0 {
            continue;
        }
        let p = Path::new("/dev").join(&n);
        if block_dev_of(&p).is_none() {
            continue;
        }
        if read_superblock(&p).is_some_and(|sb| matches(&sb)) {
            return Some(p);
        }
    }
    None
}

/// How a process uses a mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Current directory.
    Cwd,
    /// Root directory (chroot).
    Root,
    /// The executable.
    Exe,
    /// An open file descriptor.
    Fd,
    /// A memory mapping (libraries, mmapped files).
    Map,
}

/// The earlier name of [`Holder`] (kept so code written against it keeps compiling).
pub type User = Holder;

/// A process holding a mount busy (not a user account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The process (pid and start time).
    pub proc: ProcRef,
    /// Its `comm`.
    pub comm: String,
    /// The first use found.
    pub how: Use,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.proc.pid, self.comm)
    }
}

fn fdinfo_mnt_id(text: &str) -> Option<u32> {
    text.lines()
        .find_map(|l| l.strip_prefix("mnt_id:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The mount id a magic link (`/proc/<pid>/cwd`, `.../map_files/...`) points into: opened
/// with `O_PATH` (no I/O on the target filesystem), then read from our own fdinfo.
fn link_mnt_id(link: &Path) -> Option<u32> {
    let fd = open(link, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).ok()?;
    // SAFETY: `open` returned a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).ok()?;
    fdinfo_mnt_id(&info)
}

fn uses_mount(pid: i32, mount: &Mount) -> Option<Use> {
    let base = PathBuf::from(format!("/proc/{pid}"));
    for (name, how) in [("cwd", Use::Cwd), ("root", Use::Root), ("exe", Use::Exe)] {
        if link_mnt_id(&base.join(name)) == Some(mount.id) {
            return Some(how);
        }
    }
    if let Ok(rd) = std::fs::read_dir(base.join("fdinfo")) {
        for e in rd.flatten() {
            if let Ok(t) = std::fs::read_to_string(e.path()) {
                if fdinfo_mnt_id(&t) == Some(mount.id) {
                    return Some(Use::Fd);
                }
            }
        }
    }
    // Memory maps: only mappings of files on this filesystem (device number) are candidates;
    // each is checked by mount id through map_files, or, where map_files cannot be opened,
    // by its path lying under the mount point.
    let maps = std::fs::read_to_string(base.join("maps")).ok()?;
    let want = format!("{:02x}:{:02x}", mount.major, mount.minor);
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let (Some(range), _, _, Some(dev), Some(inode)) =
            (f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        if inode == "0" || !dev_matches(dev, &want, mount) {
            continue;
        }
        match link_mnt_id(&base.join("map_files").join(range)) {
            Some(id) if id == mount.id => return Some(Use::Map),
            Some(_) => {}
            None => {
                let path: String = f.collect::<Vec<_>>().join(" ");
                if Path::new(&path).starts_with(&mount.mount_point) {
                    return Some(Use::Map);
                }
            }
        }
    }
    None
}

fn dev_matches(dev: &str, want: &str, mount: &Mount) -> bool {
    if dev == want {
        return true;
    }
    // Large device numbers are printed without padding; compare numerically.
    dev.split_once(':').is_some_and(|(a, b)| {
        u32::from_str_radix(a, 16).ok() == Some(mount.major)
            && u32::from_str_radix(b, 16).ok() == Some(mount.minor)
    })
}

/// Every process (but this one) that uses `mount`: cwd, root, executable, open file or memory
/// map on that very mount (by mount id). Processes that vanish during the scan are skipped.
pub fn users(mount: &Mount) -> Vec<Holder> {
    let me = std::process::id() as i32;
    crate::process::processes()
        .into_iter()
        .filter(|p| p.pid != me)
        .filter_map(|p: Proc| {
            let how = uses_mount(p.pid, mount)?;
            Some(Holder {
                proc: p.identity(),
                comm: p.comm.clone(),
                how,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
30 22 0:25 / /tmp rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,size=100k
40 22 7:0 / /mnt/data\\040dir rw,relatime shared:9 - xfs /dev/loop0 rw,attr2
41 40 7:1 / /mnt/data\\040dir/sub rw - ext4 /dev/loop1 rw
42 22 7:0 /export /srv/bind rw,relatime shared:9 - xfs /dev/loop0 rw,attr2
43 22 7:0 / /srv/second ro,relatime - xfs /dev/loop0 rw,attr2
50 22 7:2 / /stack rw - ext4 /dev/loop2 rw
51 50 0:40 / /stack rw - tmpfs tmpfs rw
60 22 7:3 / /hide/inner rw - ext4 /dev/loop3 rw
61 22 0:41 / /hide rw - tmpfs none rw
62 22 0:42 / /odd\\011tab\\134back rw master:3 propagate_from:1 unbindable - fuse.sshfs me@host:/a\\040b rw
bogus line
";

    fn t() -> MountTable {
        MountTable::parse(SAMPLE)
    }

    #[test]
    fn read_in_passes_counts_reads_and_keeps_everything() {
        let dir = std::env::temp_dir().join(format!("ocf-passes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        // A regular file returns at most the buffer per read(): 40 000 bytes take 3.
        let big = dir.join("big");
        let text: String = SAMPLE
            .lines()
            .cycle()
            .take(800)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(text.len() > 32 * 1024);
        std::fs::write(&big, &text).expect("write");
        let (got, passes) = read_in_passes(&big).expect("read");
        assert_eq!(got, text);
        assert_eq!(passes, text.len().div_ceil(16 * 1024));
        let small = dir.join("small");
        std::fs::write(&small, SAMPLE).expect("write");
        assert_eq!(
            read_in_passes(&small).expect("read"),
            (SAMPLE.to_string(), 1)
        );
        std::fs::write(&small, [0xff, 0xfe]).expect("write");
        assert!(
            read_in_passes(&small).is_err(),
            "not UTF-8 is an error, as before"
        );
        let _ = std::fs::remove_dir_all(&dir);
        // The real table: the root is always there.
        let table = MountTable::read().expect("mountinfo");
        assert!(table.mounts.iter().any(|m| m.mount_point == Path::new("/")));
    }

    #[test]
    fn escapes_are_decoded() {
        let t = t();
        assert_eq!(t.mounts.len(), 11);
        assert!(t.visible(Path::new("/mnt/data dir")).is_some());
        let odd = t.mounts.iter().find(|m| m.id == 62).unwrap();
        assert_eq!(odd.mount_point, Path::new("/odd\ttab\\back"));
        assert_eq!(odd.fstype, "fuse.sshfs");
        assert_eq!(odd.source, "me@host:/a b");
        assert_eq!(unescape("a\\040b\\"), b"a b\\");
        assert_eq!(unescape("\\04"), b"\\04");
        assert_eq!(unescape("\\999"), b"\\999");
    }

    #[test]
    fn bind_mounts_and_one_device_twice() {
        let t = t();
        let of = t.of_device((7, 0));
        assert_eq!(of.iter().map(|m| m.id).collect::<Vec<_>>(), [40, 42, 43]);
        let bind = t.visible(Path::new("/srv/bind")).unwrap();
        assert_eq!(bind.root, Path::new("/export"));
        assert!(t.visible(Path::new("/srv/second")).unwrap().is_read_only());
        assert!(!bind.is_read_only());
        assert_eq!(
            t.below(Path::new("/mnt/data dir"))
                .iter()
                .map(|m| m.id)
                .collect::<Vec<_>>(),
            [41]
        );
        assert!(t.below(Path::new("/mnt/data")).is_empty());
    }

    #[test]
    fn stacked_and_hidden_mounts() {
        let t = t();
        // Two mounts at /stack: the later one (on top) is visible.
        assert_eq!(t.at(Path::new("/stack")).len(), 2);
        assert_eq!(t.visible(Path::new("/stack")).unwrap().id, 51);
        assert_eq!(t.resolve(Path::new("/stack/x/y")).unwrap().id, 51);
        // /hide/inner was mounted before /hide: the tmpfs on /hide hides it.
        assert_eq!(t.at(Path::new("/hide/inner")).len(), 1);
        assert!(t.visible(Path::new("/hide/inner")).is_none());
        assert_eq!(t.resolve(Path::new("/hide/inner")).unwrap().id, 61);
        assert_eq!(t.resolve(Path::new("/usr/bin")).unwrap().id, 22);
        assert_eq!(t.visible(Path::new("/mnt/data dir/sub")).unwrap().id, 41);
        assert!(t.visible(Path::new("/mnt")).is_none());
    }

    #[test]
    fn this_process_table_resolves() {
        let t = MountTable::read().unwrap();
        assert!(t.resolve(Path::new("/")).is_some());
        assert!(t.visible(Path::new("/proc")).is_some());
    }

    #[test]
    fn users_are_matched_by_mount_id() {
        // /proc is a mount of its own everywhere: a child with its cwd there, and one with an
        // open file there, use it; a child in / does not.
        let t = MountTable::read().unwrap();
        let proc_mount = t.visible(Path::new("/proc")).unwrap().clone();
        let spawn = |cwd: &str, stdin: std::process::Stdio| {
            std::process::Command::new("sleep")
                .arg("30")
                .current_dir(cwd)
                .stdin(stdin)
                .spawn()
                .unwrap()
        };
        let mut in_proc = spawn("/proc", std::process::Stdio::null());
        let mut holds = spawn(
            "/",
            std::process::Stdio::from(std::fs::File::open("/proc/self/stat").unwrap()),
        );
        let mut outside = spawn("/", std::process::Stdio::null());
        std::thread::sleep(std::time::Duration::from_millis(100));
        let found = users(&proc_mount);
        let how = |pid: u32| {
            found
                .iter()
                .find(|u| u.proc.pid == pid as i32)
                .map(|u| u.how)
        };
        assert_eq!(how(in_proc.id()), Some(Use::Cwd), "{found:?}");
        assert_eq!(how(holds.id()), Some(Use::Fd), "{found:?}");
        assert_eq!(how(outside.id()), None);
        assert!(
            how(std::process::id()).is_none(),
            "the scanner never lists itself"
        );
        for c in [&mut in_proc, &mut holds, &mut outside] {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    #[test]
    fn options_split_like_mount8() {
        let o = parse_options("ro,noatime,bind,data=ordered,x-systemd.automount,_netdev,nodev");
        assert!(o.flags.contains(
            MsFlags::MS_RDONLY | MsFlags::MS_NOATIME | MsFlags::MS_BIND | MsFlags::MS_NODEV
        ));
        assert!(o.bind && o.read_only && !o.needs_mount_binary);
        assert_eq!(o.data, "data=ordered");
        let o = parse_options("rw,loop,offset=1024");
        assert!(o.needs_mount_binary);
        assert!(!o.flags.contains(MsFlags::MS_RDONLY));
        assert_eq!(parse_options("").data, "");
        assert_eq!(parse_options("ro,rw").flags, MsFlags::empty());
    }

    /// Options mount(8) accepts that the kernel refuses as data (EINVAL): userspace words are
    /// dropped, flags become flags, propagation a second call, `X-mount.*` goes to mount(8);
    /// what mount(8) does not know goes to the kernel as it would from mount(8).
    #[test]
    fn options_mount8_accepts_never_reach_the_kernel_as_data() {
        let o = parse_options("nousers,noowner,nogroup,X-foo.bar,x-gvfs-show,iversion,nosymfollow");
        assert_eq!(o.data, "");
        assert!(!o.needs_mount_binary);
        assert!(o.flags.contains(MsFlags::MS_I_VERSION | nosymfollow()));
        assert!(!parse_options("iversion,noiversion")
            .flags
            .contains(MsFlags::MS_I_VERSION));
        for (w, p) in [
            ("shared", MsFlags::MS_SHARED),
            ("rshared", MsFlags::MS_SHARED | MsFlags::MS_REC),
            ("private", MsFlags::MS_PRIVATE),
            ("rprivate", MsFlags::MS_PRIVATE | MsFlags::MS_REC),
            ("slave", MsFlags::MS_SLAVE),
            ("rslave", MsFlags::MS_SLAVE | MsFlags::MS_REC),
            ("unbindable", MsFlags::MS_UNBINDABLE),
            ("runbindable", MsFlags::MS_UNBINDABLE | MsFlags::MS_REC),
        ] {
            let o = parse_options(w);
            assert_eq!(o.propagation, p, "{w}");
            assert!(o.flags.is_empty() && o.data.is_empty(), "{w}");
        }
        assert!(parse_options("X-mount.mkdir=0700").needs_mount_binary);
        assert_eq!(
            parse_options("nouser_xattr_,owner_").data,
            "nouser_xattr_,owner_"
        );
    }

    #[test]
    fn superblocks() {
        let mut img = vec![0u8; 0x10000 + 4096];
        img[1024 + 0x38] = 0x53;
        img[1024 + 0x39] = 0xef;
        for (i, b) in img[1024 + 0x68..1024 + 0x78].iter_mut().enumerate() {
            *b = i as u8;
        }
        img[1024 + 0x78..1024 + 0x7b].copy_from_slice(b"lab");
        let sb = parse_superblock(&img).unwrap();
        assert_eq!(sb.uuid, "00010203-0405-0607-0809-0a0b0c0d0e0f");
        assert_eq!((sb.fstype, sb.label.as_str()), ("ext4", "lab"));
        let mut x = vec![0u8; 512];
        x[0..4].copy_from_slice(b"XFSB");
        x[108..113].copy_from_slice(b"a b c");
        assert_eq!(parse_superblock(&x).unwrap().label, "a b c");
        assert!(parse_superblock(&[0u8; 100]).is_none());
        assert_eq!(udev_encode("a b/c"), "a\\x20b\\x2fc");
    }
}
