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
//!   `kill_signals` (and `MNT_FORCE` for network and FUSE filesystems), `signal_delay` apart.
//!   The budget is the stop timeout (6 s per mount with `fast_stop`). Failure → 1 naming the
//!   blocking processes. A block device must then be released by the kernel (see below).
//! * **Hung filesystems** (a dead NFS server, a stopped FUSE daemon, a failing disk): every
//!   call that touches the filesystem or the device (the depth 10 read, the depth 20 status
//!   file, `umount2`, the mount point and bind source lookups, the buffer flush) runs in a
//!   worker bounded by the action's deadline ([`ocf::bounded`]), so monitor and stop answer
//!   within their budget with a reason naming the call that blocked. An `umount2` that blocks
//!   in the kernel is retried with `MNT_FORCE` and then detached lazily (`MNT_DETACH`, with a
//!   warning) for network and FUSE filesystems; for a local block filesystem stop fails (1).
//!   The dispatcher's watchdog answers for anything else that blocks.
//!
//! # Files
//! [`config`] (parameters, what `device` names), [`types`] (the one filesystem-type table),
//! `state` (what is mounted at the mount point, whose it is), `start` (checks, fsck, mount),
//! `stop` (what to unmount, in which order; the unmounting itself is [`ocf::mount::unmount`]),
//! `depth` (the depth 10/20 checks).
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
//! * Depth 10 reads a block device when the mount has one, decided from the mount (its device
//!   number known to the kernel as a block device, or a block device node as its source),
//!   as the shell agent's `-b` test does: FUSE, tmpfs and network mounts pass depth 10.
//! * FUSE types (`fuse`, `fuse.*`) are not block filesystems: a resource whose `device` is a
//!   path for bindfs, sshfs and the like is mounted through mount(8) without looking for a
//!   block device node (start exited 5 before), and its stop may force the unmount.
//! * A lazy unmount only where `umount2` itself blocks on a network or FUSE filesystem (the
//!   shell agent's `umount` then hangs until the cluster fences the node). With systemd as
//!   PID 1, a network filesystem's start writes the reference's ordering drop-in
//!   (`resource-agents-deps.target.d/99-Filesystem-remote.conf`, `After=remote-fs.target`,
//!   [`dropin`]), so node shutdown stops Pacemaker before the network filesystems' targets;
//!   a reload runs only when the file changed. The `force_unmount` modifiers of newer resource-agents
//!   (`safe,nomove`, `true,noxargs`, ...) are accepted: `xargs`/`ps` and their `no` forms only
//!   tune the shell agent's `fuser | kill` pipeline and change nothing here; `move` (move the
//!   mount aside before unmounting) is not implemented and logs a warning.

pub mod config;
mod depth;
pub mod dropin;
pub mod meta;
mod start;
mod state;
mod stop;
pub mod types;

pub use config::{parse_source, Config, ForceUnmount, Source};

use ocf::mount::{self, MountTable};
use ocf::{bounded, Context, Deadline, Error, Params, ResourceAgent, Result, Status};
use start::{
    clone_guard, device_for_start, do_mount, fsck_needed, fstype_supported, make_mount_point,
    run_fsck,
};
use state::{hidden_error, mount_point, state, State};
use std::path::Path;
use std::time::Duration;
use stop::unmount_targets;
use types::fs_type;

/// The agent.
pub struct Filesystem;

/// Drop the kernel's buffers of a block device, in a worker bounded by `deadline` (the
/// `ioctl` may block on a failing device); a failure is only logged.
fn flush(node: &Path, deadline: Deadline) {
    let n = node.to_path_buf();
    match bounded(
        deadline,
        format!("buffer flush of {}", node.display()),
        move || mount::flush_buffers(&n),
    ) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => ocf::debug!("flush buffers of {}: {e}", node.display()),
        Err(b) => ocf::warn!("{b}"),
    }
}

impl ResourceAgent for Filesystem {
    const META: &'static ocf::Agent = &meta::AGENT;
    type Config = Config;

    fn configure(p: &Params<'_>, _cx: &Context) -> Result<Config> {
        Config::parse(p)
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
        let mp = mount_point(cfg, &table, cx.deadline);
        if !matches!(
            state(cfg, &table, &mp, false, cx.deadline),
            State::Unmounted | State::Other(_)
        ) {
            return Ok(());
        }
        device_for_start(cfg, cx.deadline).map(|_| ())
    }

    fn start(cfg: &Config, cx: &Context) -> Result<()> {
        let table = MountTable::read()?;
        let mp = mount_point(cfg, &table, cx.deadline);
        match state(cfg, &table, &mp, true, cx.deadline) {
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
        let dev = device_for_start(cfg, cx.deadline)?;
        if let Some(node) = dev.as_deref().filter(|_| cfg.is_block()) {
            if let Some(rdev) = mount::block_dev_of(node) {
                if !fs_type(&cfg.fstype).cluster {
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
        dropin::order_after_remote_fs(cfg, cx)?;
        make_mount_point(&mp, cx.deadline.fraction(0.5))?;
        if let Some(node) = dev.as_deref().filter(|_| cfg.is_block()) {
            flush(node, cx.deadline.fraction(0.2));
        }
        do_mount(cfg, dev.as_deref(), &mp, cx)?;
        let table = MountTable::read()?;
        match state(cfg, &table, &mp, true, cx.deadline) {
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
        let mp = mount_point(cfg, &table, cx.deadline);
        let ours = match state(cfg, &table, &mp, false, cx.deadline) {
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
            depth::remove_status_file(cfg, cx, &mp, cx.deadline.fraction(0.2));
        }
        let block_dev = cfg
            .is_block()
            .then(|| mount::block_dev_path(ours.dev()))
            .flatten();
        let escalation = cfg.escalation();
        for target in unmount_targets(cfg, &table, &mp, &ours) {
            let deadline = if cfg.fast_stop {
                cx.deadline.within(Duration::from_secs(6))
            } else {
                cx.deadline
            };
            mount::unmount(&target, &escalation, deadline)?;
        }
        if let Some(node) = block_dev {
            if !fs_type(&cfg.fstype).cluster {
                mount::wait_released(&node, &mp, cx.deadline)?;
            }
            flush(&node, cx.deadline);
        }
        Ok(())
    }

    fn monitor(cfg: &Config, cx: &Context) -> Result<Status> {
        let table = MountTable::read()?;
        let mp = mount_point(cfg, &table, cx.deadline);
        let m = match state(cfg, &table, &mp, false, cx.deadline) {
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
        if cx.depth >= 10 && depth::has_block_device(&m) {
            depth::read_device(&m, cx.deadline)?;
        } else if cx.depth == 10 {
            ocf::debug!(
                "{} ({}) has no block device: nothing to read at depth 10",
                m.source,
                m.fstype
            );
        }
        if cx.depth >= 20 {
            depth::status_file_check(cfg, cx, &mp)?;
        }
        Ok(Status::Running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::Signal;
    use ocf::mount::FsId;
    use ocf::testing::Run;
    use ocf::Rc;
    use std::path::Path;

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
            r.assert_invalid(why);
            r.clone().action("start").run().assert_rc(Rc::ErrConfigured);
            r.assert_stop_and_probe_safe();
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

    #[test]
    fn force_unmount_modifiers_of_newer_resource_agents() {
        use super::config::parse_force_unmount;
        for (v, want) in [
            ("safe,nomove", ForceUnmount::Safe),
            ("true,move", ForceUnmount::Kill),
            ("true, noxargs,ps", ForceUnmount::Kill),
            ("false,nops", ForceUnmount::No),
            ("nomove", ForceUnmount::Kill),
            ("", ForceUnmount::Kill),
            ("SAFE", ForceUnmount::Safe),
        ] {
            assert_eq!(parse_force_unmount(v).unwrap(), want, "{v}");
        }
        for bad in ["maybe", "safe,sideways", "true,false"] {
            assert!(parse_force_unmount(bad).is_err(), "{bad}");
        }
    }
}
