//! `Filesystem`: mount a filesystem on start, unmount it on stop; drop-in for
//! resource-agents' `Filesystem` (4.12 parameters, plus `term_signals`, `kill_signals` and
//! `signal_delay` of later versions).
//!
//! # Behaviour
//! * **State** comes from `/proc/self/mountinfo` ([`ocf::mount::MountTable`]): the mount a
//!   lookup of the mount point reaches is the resource's when it is the configured device
//!   (compared by device number for block devices, by source for network and virtual
//!   filesystems, by source directory for bind mounts; unknown identity counts as ours).
//!   A depth-0 monitor forks nothing: it reads mountinfo and stats the device node.
//! * **monitor**: not mounted → 7; ours visible → 0; a *different* filesystem mounted there →
//!   7 for a probe, 1 otherwise; ours mounted but hidden under another mount → 1 (also for a
//!   probe: it is mounted here, so the cluster must stop it). Depth 10 reads 4 KiB of the
//!   mounted block device with `O_DIRECT`; depth 20 writes, stats and reads the status file
//!   (`O_DIRECT|O_SYNC` on block devices, `O_SYNC` otherwise).
//! * **start**: already mounted → 0; a mount below the mount point → 2; filesystem support
//!   from `/proc/filesystems` (then `modprobe`) → 5; device (or UUID/LABEL, bind source)
//!   missing → 5; block device already mounted elsewhere on this host → 1 unless gfs2/ocfs2;
//!   `fsck -p` where the shell agent runs it (exit ≥ 4 → 1); `mkdir -p`; block buffers
//!   flushed; `mount(2)` for block, bind and virtual filesystems (bind + ro is remounted
//!   read-only), the `mount` binary for types that need helpers (nfs, cifs, fuse, ...,
//!   `loop`, an empty fstype); start returns only once monitor sees the mount.
//! * **stop**: nothing of ours mounted → 0. Otherwise unmounts, top-most first, what is mounted
//!   below the mount point, the other mounts of the same block device (not for bind
//!   resources), and the stack at the mount point down to ours. A busy mount is retried for
//!   half of the budget while its users get `term_signals`, then for the rest with
//!   `kill_signals` (and `MNT_FORCE` for NFS/CIFS), `signal_delay` apart. The budget is the stop
//!   timeout (6 s per mount with `fast_stop`). Failure → 1 naming the blocking processes. A
//!   block device must then be released by the kernel (see below).
//! * **Clones** of a filesystem type that is not cluster-aware are refused with 6 at start and
//!   validate-all unless `force_clones`.
//!
//! # Differences from the shell agent (on purpose)
//! * Users of a mount are found by **mount id** (`/proc/<pid>/fdinfo`, `O_PATH` opens of
//!   `cwd`/`root`/`exe`/`map_files`), never by path prefix or `fuser -m`. So `force_unmount=true`
//!   no longer kills every user of the *filesystem* (which, through bind mounts and nested
//!   mounts, killed unrelated processes: RA#1304, RA#1944), and the scan never stats a file,
//!   so it cannot hang on a dead NFS server; `true` and `safe` therefore behave the same.
//! * After unmounting a block device, stop waits (within its budget) until the kernel no
//!   longer has it claimed (`O_EXCL` open) and fails with 1 if it stays claimed: the
//!   filesystem is then still mounted on this node, typically in another mount namespace
//!   created (`unshare -m`) while it was mounted, and the shell agent's 0 would let another
//!   node mount it too.
//! * Other mounts of the same block device are not unmounted for gfs2/ocfs2, which start
//!   allows to be mounted several times on one node (the shell agent unmounted them all).
//! * Missing `mount`, `umount`, `fsck`, `fuser` or `modprobe` no longer makes *every* action
//!   (stop and probe included) exit 5: binaries are needed only by the start that uses them.
//! * A missing device makes start and validate-all exit 5, but never turns a stop into a
//!   no-op: if the filesystem is still mounted, stop unmounts it.
//! * A clone is refused at validate-all too (the shell agent checks only at start), and
//!   `force_clones` allows every non-cluster type, not only ext*/xfs/jfs/reiserfs.
//! * `run_fsck`, booleans, `signal_delay` and the signal lists are validated (6), where the
//!   shell agent silently falls back; `directory` must be absolute.
//! * A mount below the mount point refuses start with 2 (the shell agent says 6, which means
//!   "wrong everywhere"), and is checked only when ours is not already mounted (the shell
//!   agent refused to "start" an already-mounted filesystem that had submounts).
//! * UUID/LABEL devices are resolved without udev or blkid (superblocks are read when
//!   `/dev/disk/by-*` links are missing), and depth 10 reads the mounted device for them
//!   (the shell agent skipped it).
//! * No lazy unmount (neither does the shell agent); no systemd drop-ins (this agent does not
//!   write into /run/systemd); the HEAD-only `force_unmount` modifiers (`move`, `xargs`, `ps`)
//!   are not supported.

pub mod meta;

use nix::mount::{MntFlags, MsFlags};
use nix::sys::signal::Signal;
use ocf::mount::{self, FsId, Mount, MountOptions, MountTable};
use ocf::process::Cmd;
use ocf::{Context, Deadline, Error, OrRc, Params, Rc, ResourceAgent, Result, Status};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// The agent.
pub struct Filesystem;

/// Types that have no block device (the shell agent's list).
const NON_BLOCK: &[&str] = &[
    "nfs4",
    "nfs",
    "aznfs",
    "efs",
    "smbfs",
    "cifs",
    "none",
    "glusterfs",
    "ceph",
    "tmpfs",
    "overlay",
    "overlayfs",
    "rozofs",
    "zfs",
    "cvfs",
    "lustre",
];
/// Types that may run as a clone (network, cluster or virtual filesystems).
const CLONE_SAFE: &[&str] = &[
    "nfs4",
    "nfs",
    "aznfs",
    "efs",
    "smbfs",
    "cifs",
    "none",
    "gfs2",
    "glusterfs",
    "ceph",
    "ocfs2",
    "overlay",
    "overlayfs",
    "tmpfs",
    "cvfs",
    "lustre",
];
/// Block filesystems designed to be mounted by several nodes (and so several times).
const CLUSTER_FS: &[&str] = &["gfs2", "ocfs2"];
/// Types `run_fsck=auto` never checks (the shell agent's list).
const NO_FSCK: &[&str] = &[
    "ext4",
    "ext4dev",
    "ext3",
    "reiserfs",
    "reiser4",
    "nss",
    "xfs",
    "jfs",
    "vfat",
    "fat",
    "nfs4",
    "nfs",
    "aznfs",
    "efs",
    "cifs",
    "smbfs",
    "ocfs2",
    "gfs2",
    "none",
    "lustre",
    "glusterfs",
    "ceph",
    "tmpfs",
    "overlay",
    "overlayfs",
    "rozofs",
    "zfs",
    "cvfs",
];
/// Network filesystems (mounted through their helper, unmounted with MNT_FORCE when killing).
const NETWORK: &[&str] = &[
    "nfs",
    "nfs4",
    "aznfs",
    "efs",
    "cifs",
    "smbfs",
    "glusterfs",
    "ceph",
];

/// What `device` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A path: a block device node (or an image file with the `loop` option).
    Path(PathBuf),
    /// A filesystem identity (UUID=, LABEL=, ...).
    Id(FsId),
    /// `server:/path` or `//server/share`.
    Network(String),
    /// The source directory (or file) of a bind mount.
    Bind(PathBuf),
    /// The source name of a virtual filesystem (`tmpfs`, `overlay`, ...).
    Name(String),
}

/// How stop treats processes that keep the mount busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForceUnmount {
    /// Signal them (`true`).
    Kill,
    /// Signal them (`safe`: same non-blocking scan).
    Safe,
    /// Never signal; only retry.
    No,
}

/// The parsed configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `device` as configured (for messages).
    pub device: String,
    /// What it names.
    pub source: Source,
    /// Mount point as configured, trailing slashes removed.
    pub directory: PathBuf,
    /// Filesystem type ("" = detect).
    pub fstype: String,
    /// Raw options.
    pub options: String,
    /// Options split for mount(2).
    pub mount_options: MountOptions,
    /// Status file prefix.
    pub statusfile_prefix: String,
    /// auto/force/no.
    pub run_fsck: &'static str,
    /// 6 s per mount on stop.
    pub fast_stop: bool,
    /// Allow clones of non-cluster types.
    pub force_clones: bool,
    /// Signal users on stop.
    pub force_unmount: ForceUnmount,
    /// Graceful signals.
    pub term_signals: Vec<Signal>,
    /// Forceful signals.
    pub kill_signals: Vec<Signal>,
    /// Pause after signalling.
    pub signal_delay: Duration,
}

impl Config {
    fn is_block(&self) -> bool {
        !NON_BLOCK.contains(&self.fstype.as_str())
            && !self.mount_options.bind
            && !has_option(&self.options, "loop")
            && matches!(self.source, Source::Path(_) | Source::Id(_))
    }

    fn is_network(&self) -> bool {
        NETWORK.contains(&self.fstype.as_str()) || matches!(self.source, Source::Network(_))
    }

    /// Whether mount(8) must do the mounting (helpers, loop setup, type detection).
    fn needs_mount_binary(&self) -> bool {
        if self.mount_options.bind {
            return false;
        }
        self.fstype.is_empty()
            || self.mount_options.needs_mount_binary
            || self.is_network()
            || self.fstype.starts_with("fuse")
            || matches!(
                self.fstype.as_str(),
                "lustre" | "cvfs" | "rozofs" | "zfs" | "none"
            )
            || ["/sbin", "/usr/sbin", "/bin", "/usr/bin"]
                .iter()
                .any(|d| Path::new(d).join(format!("mount.{}", self.fstype)).exists())
    }
}

fn has_option(options: &str, word: &str) -> bool {
    options
        .split(',')
        .map(str::trim)
        .any(|w| w == word || w.starts_with(&format!("{word}=")))
}

/// Parse `device` (already known not to be blank).
pub fn parse_source(device: &str, fstype: &str, bind: bool) -> Result<Source> {
    let unquote = |s: &str| s.trim().trim_matches('"').trim_matches('\'').to_string();
    let id = |kind: &str, v: &str| -> Result<Source> {
        let v = unquote(v);
        if v.is_empty() {
            return Err(Error::configured(format!(
                "device '{device}' names no {kind}"
            )));
        }
        Ok(Source::Id(match kind {
            "UUID" => FsId::Uuid(v),
            "LABEL" => FsId::Label(v),
            "PARTUUID" => FsId::PartUuid(v),
            _ => FsId::PartLabel(v),
        }))
    };
    for (prefixes, kind) in [
        (&["UUID=", "--uuid=", "--uuid ", "-U"][..], "UUID"),
        (&["LABEL=", "--label=", "--label ", "-L"][..], "LABEL"),
        (&["PARTUUID="][..], "PARTUUID"),
        (&["PARTLABEL="][..], "PARTLABEL"),
    ] {
        for p in prefixes {
            if let Some(rest) = device.strip_prefix(p) {
                return id(kind, rest);
            }
        }
    }
    if bind {
        return Ok(Source::Bind(PathBuf::from(device)));
    }
    if device.starts_with("//")
        || (!device.starts_with('/') && device.contains(':'))
        || NETWORK.contains(&fstype)
    {
        return Ok(Source::Network(device.to_string()));
    }
    if device.starts_with('/') {
        return Ok(Source::Path(PathBuf::from(device)));
    }
    Ok(Source::Name(device.to_string()))
}

fn parse_signals(p: &Params<'_>, param: &ocf::Param) -> Result<Vec<Signal>> {
    let text = p.string(param)?;
    let mut out = Vec::new();
    for w in text.split_whitespace() {
        let sig = if let Ok(n) = w.parse::<i32>() {
            Signal::try_from(n).ok()
        } else {
            let up = w.to_ascii_uppercase();
            let name = if up.starts_with("SIG") {
                up
            } else {
                format!("SIG{up}")
            };
            Signal::from_str(&name).ok()
        };
        match sig {
            Some(s) => out.push(s),
            None => {
                return Err(Error::configured(format!(
                    "{}: '{w}' is not a signal",
                    param.name
                )))
            }
        }
    }
    if out.is_empty() {
        return Err(Error::configured(format!("{} names no signal", param.name)));
    }
    Ok(out)
}

fn strip_trailing_slashes(s: &str) -> &str {
    let t = s.trim_end_matches('/');
    if t.is_empty() && s.starts_with('/') {
        "/"
    } else {
        t
    }
}

impl ResourceAgent for Filesystem {
    const META: &'static ocf::Agent = &meta::AGENT;
    type Config = Config;

    fn configure(p: &Params<'_>, _cx: &Context) -> Result<Config> {
        let device = p.string(&meta::DEVICE)?;
        if device.is_empty() {
            return Err(Error::configured(
                "device is empty: set it to the device to be mounted",
            ));
        }
        if device.trim() != device {
            return Err(Error::configured(format!(
                "device '{device}' has leading or trailing white space"
            )));
        }
        let dir = p.string(&meta::DIRECTORY)?;
        if dir.is_empty() {
            return Err(Error::configured("directory is empty: set the mount point"));
        }
        if dir.trim() != dir {
            return Err(Error::configured(format!(
                "directory '{dir}' has leading or trailing white space"
            )));
        }
        if !dir.starts_with('/') {
            return Err(Error::configured(format!(
                "directory '{dir}' is not an absolute path"
            )));
        }
        let directory = PathBuf::from(strip_trailing_slashes(&dir));
        if directory == Path::new("/") {
            return Err(Error::configured("directory must not be /"));
        }
        let fstype = p.string(&meta::FSTYPE)?.trim().to_string();
        let options = p.string(&meta::OPTIONS)?.trim().to_string();
        let mount_options = mount::parse_options(&options);
        let source = parse_source(&device, &fstype, mount_options.bind)?;
        let mut statusfile_prefix = p.string(&meta::STATUSFILE_PREFIX)?;
        if statusfile_prefix.is_empty() {
            statusfile_prefix = meta::STATUSFILE_PREFIX
                .default
                .unwrap_or_default()
                .to_string();
        }
        if Path::new(&statusfile_prefix)
            .components()
            .any(|c| c == std::path::Component::ParentDir)
        {
            return Err(Error::configured(
                "statusfile_prefix must stay inside the filesystem (no '..')",
            ));
        }
        let force_unmount = {
            let v = p.string(&meta::FORCE_UNMOUNT)?;
            let t = v.trim();
            if t.eq_ignore_ascii_case("safe") {
                ForceUnmount::Safe
            } else if t.is_empty() {
                ForceUnmount::Kill
            } else {
                match ocf::params::parse_bool(t) {
                    Some(true) => ForceUnmount::Kill,
                    Some(false) => ForceUnmount::No,
                    None => {
                        return Err(Error::configured(format!(
                            "force_unmount must be true, safe or false, not '{t}'"
                        )))
                    }
                }
            }
        };
        Ok(Config {
            device,
            source,
            directory,
            fstype,
            options,
            mount_options,
            statusfile_prefix,
            run_fsck: p.select(&meta::RUN_FSCK)?,
            fast_stop: p.bool(&meta::FAST_STOP)?,
            force_clones: p.bool(&meta::FORCE_CLONES)?,
            force_unmount,
            term_signals: parse_signals(p, &meta::TERM_SIGNALS)?,
            kill_signals: parse_signals(p, &meta::KILL_SIGNALS)?,
            signal_delay: Duration::from_secs(p.int(&meta::SIGNAL_DELAY)?.unsigned_abs()),
        })
    }

    /// Only start and validate-all look at the host here: a stop or monitor must see what is
    /// mounted even when the device has vanished (a stop that exited 0 without unmounting
    /// would let another node mount the same device).
    fn check_host(cfg: &Config, cx: &Context) -> Result<()> {
        if !matches!(cx.action.as_str(), "start" | "validate-all") {
            return Ok(());
        }
        clone_guard(cfg, cx)?;
        let table = MountTable::read()?;
        let mp = mount_point(cfg, &table);
        if !matches!(
            state(cfg, &table, &mp, false),
            State::Unmounted | State::Other(_)
        ) {
            return Ok(());
        }
        device_for_start(cfg).map(|_| ())
    }

    fn start(cfg: &Config, cx: &Context) -> Result<()> {
        let table = MountTable::read()?;
        let mp = mount_point(cfg, &table);
        match state(cfg, &table, &mp, true) {
            State::Mounted(_) => {
                ocf::info!("{} is already mounted on {}", cfg.device, mp.display());
                return Ok(());
            }
            State::Hidden(m) => return Err(hidden_error(cfg, &m, &mp)),
            State::Other(_) | State::Unmounted => {}
        }
        if let Some(sub) = table.below(&mp).first() {
            return Err(Error::args(format!(
                "cannot mount on {}: {} is already mounted below it",
                mp.display(),
                sub.mount_point.display()
            )));
        }
        fstype_supported(cfg, cx)?;
        let dev = device_for_start(cfg)?;
        if let Some(node) = dev.as_deref().filter(|_| cfg.is_block()) {
            if let Some(rdev) = mount::block_dev_of(node) {
                if !CLUSTER_FS.contains(&cfg.fstype.as_str()) {
                    if let Some(m) = table.of_device(rdev).first() {
                        return Err(Error::generic(format!(
                            "{} is already mounted on {}; refusing to mount a {} filesystem twice",
                            node.display(),
                            m.mount_point.display(),
                            if m.fstype.is_empty() {
                                "local"
                            } else {
                                &m.fstype
                            }
                        )));
                    }
                }
            }
            if fsck_needed(cfg) {
                run_fsck(cfg, node, cx)?;
            }
        }
        if !mp.is_dir() {
            std::fs::create_dir_all(&mp).or_rc(
                Rc::ErrInstalled,
                &format!("cannot create mount point {}", mp.display()),
            )?;
        }
        if let Some(node) = dev.as_deref().filter(|_| cfg.is_block()) {
            if let Err(e) = mount::flush_buffers(node) {
                ocf::debug!("flush buffers of {}: {e}", node.display());
            }
        }
        do_mount(cfg, dev.as_deref(), &mp, cx)?;
        let table = MountTable::read()?;
        match state(cfg, &table, &mp, true) {
            State::Mounted(_) => {
                ocf::info!("mounted {} on {}", cfg.device, mp.display());
                Ok(())
            }
            _ => Err(Error::generic(format!(
                "mount of {} on {} reported success but it is not visible in mountinfo",
                cfg.device,
                mp.display()
            ))),
        }
    }

    fn stop(cfg: &Config, cx: &Context) -> Result<()> {
        let table = MountTable::read()?;
        let mp = mount_point(cfg, &table);
        let ours = match state(cfg, &table, &mp, false) {
            State::Unmounted => return Ok(()),
            State::Other(m) => {
                ocf::info!(
                    "{} is not mounted ({} from {} is mounted on {}); nothing to stop",
                    cfg.device,
                    m.fstype,
                    m.source,
                    mp.display()
                );
                return Ok(());
            }
            State::Mounted(m) | State::Hidden(m) => m,
        };
        if cx.requested_depth == Some(20) {
            let f = status_file(cfg, cx, &mp);
            if let Err(e) = std::fs::remove_file(&f) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    ocf::warn!("cannot remove status file {}: {e}", f.display());
                }
            }
        }
        let block_dev = cfg
            .is_block()
            .then(|| mount::block_dev_path(ours.dev()))
            .flatten();
        for target in unmount_targets(cfg, &table, &mp, &ours) {
            let deadline = if cfg.fast_stop {
                cx.deadline.within(Duration::from_secs(6))
            } else {
                cx.deadline
            };
            unmount_one(cfg, &target, deadline)?;
        }
        if let Some(node) = block_dev {
            if !CLUSTER_FS.contains(&cfg.fstype.as_str()) {
                released(&node, &mp, cx)?;
            }
            if let Err(e) = mount::flush_buffers(&node) {
                ocf::debug!("flush buffers of {}: {e}", node.display());
            }
        }
        Ok(())
    }

    fn monitor(cfg: &Config, cx: &Context) -> Result<Status> {
        let table = MountTable::read()?;
        let mp = mount_point(cfg, &table);
        let m = match state(cfg, &table, &mp, false) {
            State::Unmounted => return Ok(Status::Stopped),
            State::Other(m) if cx.is_probe() => {
                ocf::info!(
                    "{} from {} is mounted on {}, not {}",
                    m.fstype,
                    m.source,
                    mp.display(),
                    cfg.device
                );
                return Ok(Status::Stopped);
            }
            State::Other(m) => {
                return Err(Error::generic(format!(
                    "{} is mounted on {} instead of {}",
                    m.source,
                    mp.display(),
                    cfg.device
                )))
            }
            State::Hidden(m) => return Err(hidden_error(cfg, &m, &mp)),
            State::Mounted(m) => m,
        };
        if cx.depth >= 10 && cfg.is_block() {
            read_device(&m)?;
        } else if cx.depth == 10 {
            ocf::debug!(
                "{} is not a block device: nothing to read at depth 10",
                cfg.device
            );
        }
        if cx.depth >= 20 {
            status_file_check(cfg, cx, &mp)?;
        }
        Ok(Status::Running)
    }
}

/// The mount point as the kernel knows it: symbolic links resolved without touching the
/// mounted filesystem (the parent is canonicalised; the last component only when it is not
/// a mount point already).
fn mount_point(cfg: &Config, table: &MountTable) -> PathBuf {
    let dir = &cfg.directory;
    if !table.at(dir).is_empty() {
        return dir.clone();
    }
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return dir.clone();
    };
    let parent = std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf());
    let joined = parent.join(name);
    match std::fs::symlink_metadata(&joined) {
        Ok(md) if md.file_type().is_symlink() => std::fs::canonicalize(&joined).unwrap_or(joined),
        _ => joined,
    }
}

/// What is mounted at the mount point, from the resource's point of view.
#[derive(Debug, Clone)]
enum State {
    /// Ours (or of unknown identity), visible.
    Mounted(Mount),
    /// Ours, but covered by another mount.
    Hidden(Mount),
    /// Something else is visible there, ours is not mounted there.
    Other(Mount),
    /// Nothing.
    Unmounted,
}

fn hidden_error(cfg: &Config, m: &Mount, mp: &Path) -> Error {
    Error::generic(format!(
        "{} is mounted on {} but hidden under another mount (mount id {})",
        cfg.device,
        mp.display(),
        m.id
    ))
}

/// The device number of the configured device when it can be known cheaply (device node or
/// udev link; with `scan`, also by reading superblocks).
fn configured_dev(cfg: &Config, scan: bool) -> Option<(u32, u32)> {
    match &cfg.source {
        Source::Path(p) if cfg.is_block() => mount::block_dev_of(p),
        Source::Id(id) => {
            if scan {
                mount::find_block_device(id).and_then(|p| mount::block_dev_of(&p))
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
fn is_ours(cfg: &Config, m: &Mount, dev: Option<(u32, u32)>) -> Option<bool> {
    match &cfg.source {
        Source::Path(_) | Source::Id(_) if cfg.is_block() => dev.map(|d| d == m.dev()),
        Source::Network(s) => {
            let norm = |x: &str| x.trim_end_matches('/').to_string();
            if norm(s) == norm(&m.source) {
                Some(true)
            } else if NETWORK.contains(&m.fstype.as_str()) || m.fstype.starts_with("nfs") {
                None
            } else {
                Some(false)
            }
        }
        Source::Bind(src) => {
            let md = std::fs::metadata(src).ok()?;
            let sdev = {
                use std::os::unix::fs::MetadataExt;
                let d = md.dev();
                (
                    nix::sys::stat::major(d) as u32,
                    nix::sys::stat::minor(d) as u32,
                )
            };
            if sdev != m.dev() {
                return Some(false);
            }
            let table = MountTable::read().ok()?;
            let canon = std::fs::canonicalize(src).ok()?;
            let under = table.resolve(&canon)?;
            let rel = canon.strip_prefix(&under.mount_point).ok()?;
            Some(under.root.join(rel) == m.root)
        }
        Source::Name(n) => {
            Some(m.source == *n && (cfg.fstype.is_empty() || m.fstype == cfg.fstype))
        }
        _ if !cfg.fstype.is_empty() && cfg.fstype != "none" => Some(m.fstype == cfg.fstype),
        _ => None,
    }
}

fn state(cfg: &Config, table: &MountTable, mp: &Path, scan: bool) -> State {
    let stack = table.at(mp);
    if stack.is_empty() {
        return State::Unmounted;
    }
    let dev = configured_dev(cfg, scan);
    let visible = table.visible(mp);
    if let Some(v) = visible {
        if is_ours(cfg, v, dev) != Some(false) {
            return State::Mounted(v.clone());
        }
    }
    if let Some(h) = stack
        .iter()
        .rev()
        .find(|m| is_ours(cfg, m, dev) == Some(true))
    {
        return State::Hidden((*h).clone());
    }
    if let Some(v) = visible {
        return State::Other(v.clone());
    }
    match stack
        .iter()
        .rev()
        .find(|m| is_ours(cfg, m, dev) != Some(false))
    {
        Some(h) => State::Hidden((*h).clone()),
        None => State::Unmounted,
    }
}

/// Refuse a clone of a filesystem type that is not cluster-aware.
fn clone_guard(cfg: &Config, cx: &Context) -> Result<()> {
    if !cx.is_clone() || CLONE_SAFE.contains(&cfg.fstype.as_str()) {
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
    let journaled = matches!(
        fstype,
        "ext4" | "ext4dev" | "ext3" | "reiserfs" | "reiser4" | "xfs" | "jfs"
    );
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
fn device_for_start(cfg: &Config) -> Result<Option<PathBuf>> {
    match &cfg.source {
        Source::Path(p) => {
            if cfg.is_block() && p != Path::new("/dev/null") && mount::block_dev_of(p).is_none() {
                return Err(Error::installed(format!(
                    "device {} not found (expected a block device)",
                    p.display()
                )));
            }
            if !cfg.is_block() && !p.exists() {
                return Err(Error::installed(format!("{} not found", p.display())));
            }
            Ok(Some(p.clone()))
        }
        Source::Id(id) => mount::find_block_device(id)
            .map(Some)
            .ok_or_else(|| Error::installed(format!("no block device holds the filesystem {id}"))),
        Source::Bind(p) => {
            if p.exists() {
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

fn fsck_needed(cfg: &Config) -> bool {
    match cfg.run_fsck {
        "force" => true,
        "no" => false,
        _ => !NO_FSCK.contains(&cfg.fstype.as_str()),
    }
}

fn run_fsck(cfg: &Config, dev: &Path, cx: &Context) -> Result<()> {
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
fn fstype_supported(cfg: &Config, cx: &Context) -> Result<()> {
    let t = cfg.fstype.as_str();
    if t.is_empty() || t == "none" {
        return Ok(());
    }
    let support = if t.starts_with("fuse.") || t == "glusterfs" || t == "rozofs" {
        "fuse"
    } else if t == "efs" || t == "aznfs" {
        "nfs4"
    } else {
        t
    };
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

fn do_mount(cfg: &Config, dev: Option<&Path>, mp: &Path, cx: &Context) -> Result<()> {
    if cfg.needs_mount_binary() {
        let mut cmd = Cmd::new("mount");
        if !cfg.fstype.is_empty() {
            cmd = cmd.arg("-t").arg(&cfg.fstype);
        }
        if !cfg.options.is_empty() {
            cmd = cmd.arg("-o").arg(&cfg.options);
        }
        let source = match (&cfg.source, dev) {
            (_, Some(d)) => d.as_os_str().to_owned(),
            (Source::Id(id), None) => id.to_string().into(),
            _ => cfg.device.clone().into(),
        };
        return cmd
            .arg(source)
            .arg(mp)
            .run_ok(cx.deadline)
            .map(|_| ())
            .map_err(|e| {
                Error::generic(format!(
                    "cannot mount {} on {}: {}",
                    cfg.device,
                    mp.display(),
                    e.reason()
                ))
            });
    }
    let o = &cfg.mount_options;
    let fail = |e: nix::Error| {
        Error::generic(format!(
            "cannot mount {} on {}: {}",
            cfg.device,
            mp.display(),
            e.desc()
        ))
    };
    let data = (!o.data.is_empty()).then_some(o.data.as_str());
    if o.bind {
        let src = dev.unwrap_or(Path::new(&cfg.device));
        let bind_flags = o.flags & (MsFlags::MS_BIND | MsFlags::MS_REC);
        nix::mount::mount(Some(src), mp, None::<&str>, bind_flags, None::<&str>).map_err(fail)?;
        let rest = o.flags - (MsFlags::MS_BIND | MsFlags::MS_REC);
        if !rest.is_empty() {
            // The kernel ignores ro and the like on a new bind mount: apply them by remounting.
            nix::mount::mount(
                None::<&str>,
                mp,
                None::<&str>,
                MsFlags::MS_REMOUNT | MsFlags::MS_BIND | rest,
                None::<&str>,
            )
            .map_err(fail)?;
        }
        return Ok(());
    }
    let source: PathBuf = match dev {
        Some(d) => d.to_path_buf(),
        None => PathBuf::from(&cfg.device),
    };
    nix::mount::mount(
        Some(source.as_path()),
        mp,
        Some(cfg.fstype.as_str()),
        o.flags,
        data,
    )
    .map_err(fail)
}

/// What stop unmounts, top-most first: mounts below the mount point, other mounts of the same
/// block device (unless this is a bind resource or a cluster filesystem), and the stack at the
/// mount point down to ours.
fn unmount_targets(cfg: &Config, table: &MountTable, mp: &Path, ours: &Mount) -> Vec<Mount> {
    let stack = table.at(mp);
    let pos = stack.iter().position(|m| m.id == ours.id).unwrap_or(0);
    let mut ids: Vec<u32> = stack[pos..].iter().map(|m| m.id).collect();
    ids.extend(table.below(mp).iter().map(|m| m.id));
    // A cluster filesystem may be mounted here by several resources on purpose.
    if cfg.is_block() && !CLUSTER_FS.contains(&cfg.fstype.as_str()) {
        ids.extend(table.of_device(ours.dev()).iter().map(|m| m.id));
    }
    table
        .mounts
        .iter()
        .rev()
        .filter(|m| ids.contains(&m.id))
        .cloned()
        .collect()
}

fn try_umount(m: &Mount, force: bool) -> Result<bool> {
    let table = MountTable::read()?;
    if !table.contains_id(m.id) {
        return Ok(true);
    }
    if table.visible(&m.mount_point).map(|v| v.id) != Some(m.id) {
        return Err(Error::generic(format!(
            "cannot unmount {}: it is hidden under another mount",
            m.mount_point.display()
        )));
    }
    let flags = if force {
        MntFlags::MNT_FORCE
    } else {
        MntFlags::empty()
    };
    if let Err(e) = nix::mount::umount2(&m.mount_point, flags) {
        ocf::debug!("umount {}: {}", m.mount_point.display(), e.desc());
    }
    Ok(!MountTable::read()?.contains_id(m.id))
}

fn unmount_one(cfg: &Config, m: &Mount, deadline: Deadline) -> Result<()> {
    let path = m.mount_point.display().to_string();
    if try_umount(m, false)? {
        ocf::info!("unmounted {path}");
        return Ok(());
    }
    let force = cfg.is_network();
    // Keep a little time for naming the blocking processes after the last attempt.
    let reserve = (deadline.remaining() / 20).min(Duration::from_millis(300));
    let end = Deadline::at(
        deadline
            .instant()
            .checked_sub(reserve)
            .unwrap_or(deadline.instant()),
    );
    let mut phases: Vec<(Deadline, &[Signal], bool)> = Vec::new();
    if cfg.force_unmount == ForceUnmount::No {
        phases.push((end, &[], force));
    } else {
        phases.push((end.fraction(0.5), &cfg.term_signals, false));
        phases.push((end, &cfg.kill_signals, force));
    }
    let mut last_users = Vec::new();
    for (phase, signals, force) in phases {
        while !phase.expired() {
            let users = if signals.is_empty() {
                Vec::new()
            } else {
                mount::users(m)
            };
            if users.is_empty() {
                phase.sleep(
                    cfg.signal_delay
                        .clamp(Duration::from_millis(50), Duration::from_millis(200)),
                );
            } else {
                for u in &users {
                    let names: Vec<&str> = signals.iter().map(|s| s.as_str()).collect();
                    ocf::info!("{path} is busy: sending {} to {u}", names.join(", "));
                }
                let procs: Vec<_> = users.iter().map(|u| u.proc).collect();
                ocf::process::stop_processes(&procs, signals, phase.within(cfg.signal_delay));
                last_users = users;
            }
            if try_umount(m, force)? {
                ocf::info!("unmounted {path}");
                return Ok(());
            }
        }
    }
    let users = mount::users(m);
    let users = if users.is_empty() { last_users } else { users };
    let who = if users.is_empty() {
        "no process uses it (a loop device, swap file or mount below may hold it)".to_string()
    } else {
        format!(
            "used by {}",
            users
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let how = match cfg.force_unmount {
        ForceUnmount::No => " (force_unmount=false)",
        _ => "",
    };
    Err(Error::generic(format!(
        "cannot unmount {path} within the stop timeout{how}: {who}"
    )))
}

/// After the last unmount here, wait (within the stop budget) until no one claims the block
/// device any more. A claim that stays means the filesystem is still mounted on this host,
/// typically in another mount namespace that copied the mount table while it was mounted;
/// reporting success would let another node mount a device this one still writes to.
fn released(node: &Path, mp: &Path, cx: &Context) -> Result<()> {
    let released = cx
        .deadline
        .wait_until(Duration::from_millis(100), || {
            (!mount::block_device_claimed(node)).then_some(())
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

fn read_device(m: &Mount) -> Result<()> {
    let Some(node) = mount::block_dev_path(m.dev()) else {
        return Err(Error::generic(format!(
            "no device node for {}:{} mounted on {}",
            m.major,
            m.minor,
            m.mount_point.display()
        )));
    };
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(&node)
        .or_rc(Rc::ErrGeneric, &format!("cannot open {}", node.display()))?;
    let mut buf = Aligned::new();
    f.read_exact(buf.block())
        .or_rc(Rc::ErrGeneric, &format!("cannot read {}", node.display()))
}

fn status_file(cfg: &Config, cx: &Context, mp: &Path) -> PathBuf {
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

fn status_file_check(cfg: &Config, cx: &Context, mp: &Path) -> Result<()> {
    let f = status_file(cfg, cx, mp);
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
    let text = format!("{}\n", cx.instance);
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
            .open(&f)
    };
    let direct = cfg.is_block();
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
        std::fs::metadata(&f).or_rc(Rc::ErrGeneric, &format!("cannot stat status file {shown}"))?;
    if !md.is_file() {
        return Err(Error::generic(format!("status file {shown} is not a file")));
    }
    let mut back = Vec::new();
    std::fs::File::open(&f)
        .and_then(|mut r| r.read_to_end(&mut back))
        .or_rc(Rc::ErrGeneric, &format!("cannot read status file {shown}"))?;
    if !back.starts_with(text.as_bytes()) {
        return Err(Error::generic(format!(
            "status file {shown} does not read back what was written"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::testing::{check_declaration, Run};

    #[test]
    fn declaration_is_sound() {
        check_declaration(&meta::AGENT);
    }

    #[test]
    fn device_forms() {
        let s = |d: &str| parse_source(d, "", false).unwrap();
        assert_eq!(
            s("-U 1234-abcd"),
            Source::Id(FsId::Uuid("1234-abcd".into()))
        );
        assert_eq!(s("-U1234"), Source::Id(FsId::Uuid("1234".into())));
        assert_eq!(s("--uuid=ab"), Source::Id(FsId::Uuid("ab".into())));
        assert_eq!(s("UUID=\"ab\""), Source::Id(FsId::Uuid("ab".into())));
        assert_eq!(s("-L my data"), Source::Id(FsId::Label("my data".into())));
        assert_eq!(s("--label data"), Source::Id(FsId::Label("data".into())));
        assert_eq!(s("LABEL=x"), Source::Id(FsId::Label("x".into())));
        assert_eq!(s("srv:/export"), Source::Network("srv:/export".into()));
        assert_eq!(s("//srv/share"), Source::Network("//srv/share".into()));
        assert_eq!(s("/dev/sdb1"), Source::Path("/dev/sdb1".into()));
        assert_eq!(s("tmpfs"), Source::Name("tmpfs".into()));
        assert_eq!(
            parse_source("/srv/x", "none", true).unwrap(),
            Source::Bind("/srv/x".into())
        );
        assert!(parse_source("UUID=", "", false).is_err());
    }

    fn base() -> Run {
        Run::agent::<Filesystem>()
            .param("device", "/dev/ocffs-nonexistent")
            .param("directory", "/tmp/ocffs-unit-nonexistent")
            .param("fstype", "ext4")
    }

    #[test]
    fn invalid_configuration_is_6_but_stop_and_probe_are_safe() {
        for (k, v, why) in [
            ("device", " /dev/sdb1", "white space"),
            ("directory", "relative", "absolute"),
            ("directory", "///", "must not be /"),
            ("run_fsck", "sometimes", "run_fsck"),
            ("force_unmount", "maybe", "force_unmount"),
            ("term_signals", "TERM BOGUS", "not a signal"),
            ("signal_delay", "-1", "signal_delay"),
            ("statusfile_prefix", "../x", "inside"),
        ] {
            let r = base().param(k, v);
            r.clone()
                .action("validate-all")
                .run()
                .assert_rc(Rc::ErrConfigured)
                .assert_reason_contains(why);
            r.clone().action("start").run().assert_rc(Rc::ErrConfigured);
            r.clone().action("stop").run().assert_rc(Rc::Success);
            r.action("monitor").probe().run().assert_rc(Rc::NotRunning);
        }
        base()
            .unset("OCF_RESKEY_device")
            .action("start")
            .run()
            .assert_rc(Rc::ErrConfigured);
    }

    #[test]
    fn missing_device_is_5_at_start_and_stopped_elsewhere() {
        base()
            .action("start")
            .run()
            .assert_rc(Rc::ErrInstalled)
            .assert_reason_contains("not found");
        base()
            .action("validate-all")
            .run()
            .assert_rc(Rc::ErrInstalled);
        base()
            .action("monitor")
            .probe()
            .run()
            .assert_rc(Rc::NotRunning);
        base()
            .action("monitor")
            .recurring()
            .run()
            .assert_rc(Rc::NotRunning);
        base().action("stop").run().assert_rc(Rc::Success);
        base()
            .param("device", "UUID=00000000-dead-beef-0000-000000000000")
            .action("start")
            .run()
            .assert_rc(Rc::ErrInstalled)
            .assert_reason_contains("UUID=00000000");
    }

    #[test]
    fn clones_of_local_filesystems_are_refused() {
        let clone = |r: Run| {
            r.env("OCF_RESKEY_CRM_meta_clone_max", "2")
                .env("OCF_RESKEY_CRM_meta_clone", "0")
        };
        clone(base())
            .action("validate-all")
            .run()
            .assert_rc(Rc::ErrConfigured)
            .assert_reason_contains("not cluster-aware");
        clone(base())
            .action("start")
            .run()
            .assert_rc(Rc::ErrConfigured);
        clone(base()).action("stop").run().assert_rc(Rc::Success);
        // force_clones: past the guard, to the missing device.
        clone(base().param("force_clones", "true"))
            .action("start")
            .run()
            .assert_rc(Rc::ErrInstalled);
        clone(base().param("fstype", "gfs2"))
            .action("validate-all")
            .run()
            .assert_rc(Rc::ErrInstalled);
    }

    #[test]
    fn signals_parse_by_name_and_number() {
        let p = ocf::Env::new()
            .with("OCF_RESKEY_device", "/dev/x")
            .with("OCF_RESKEY_directory", "/mnt/x")
            .with("OCF_RESKEY_term_signals", "TERM sigint 1")
            .with("OCF_RESKEY_signal_delay", "3");
        let params = Params::new(&meta::AGENT, &p);
        let cx = Context::new(
            &meta::AGENT,
            "start",
            &[],
            p.clone(),
            "Filesystem",
            std::time::Instant::now(),
        );
        let cfg = Filesystem::configure(&params, &cx).unwrap();
        assert_eq!(
            cfg.term_signals,
            [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP]
        );
        assert_eq!(cfg.kill_signals, [Signal::SIGKILL]);
        assert_eq!(cfg.signal_delay, Duration::from_secs(3));
        assert_eq!(cfg.force_unmount, ForceUnmount::Kill);
        assert_eq!(cfg.directory, Path::new("/mnt/x"));
        assert!(cfg.is_block());
    }
}
