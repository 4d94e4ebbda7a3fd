//! `Filesystem` against real parts: loop devices with ext4 and xfs, bind mounts, tmpfs, real
//! processes keeping mounts busy, Debian's shell ocf-tester, and the ocft cases Debian ships,
//! run against both our agent and the shell agent.
//!
//! Every host object carries the prefix `ocffs`: image files `/tmp/ocffs-*.img`, mount points
//! under `TempDir`s named `ocfrs-it-ocffs-*`, and the loop devices attached to those images
//! (detached on drop, only if still backed by our image).
use crate::common::{agent, run, sh, Act, TempDir};
use ocf::mount::MountTable;
use ocf::testing::Run;
use ocf::Rc;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Move this test's thread (and so every process it starts: agents, shell tools) into a mount
/// namespace of its own with private propagation. Loop devices stay global, but the mounts
/// the test makes are invisible to mount namespaces that other programs on the machine
/// create meanwhile: such a copy would keep our filesystems mounted (and the devices claimed)
/// after the agent unmounted them here, which the agent's stop rightly reports as a failure.
fn isolate() {
    crate::common::private_mount_namespace();
}

/// This thread's mount table (`/proc/self` would show the main thread's namespace).
fn table() -> MountTable {
    MountTable::read_from(Path::new("/proc/thread-self/mountinfo")).unwrap()
}

/// Held by tests that make the agent read every block device's superblock (UUID/LABEL
/// lookups) and by the ocft test, whose "remove device" case detaches a loop device: a
/// detach while another process has the device open is deferred by the kernel, and the
/// case would then mount a device that should be gone.
fn device_scan_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Held while attaching a loop device, and by the ocft test while it runs: its "remove
/// device" case detaches a loop device and expects it to stay detached, but `losetup -f` in
/// a concurrent test would pick that very device. (Lock order: scan, then attach.)
fn loop_attach_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A loop device on a sparse image file of ours; detached (and its mounts lazily unmounted)
/// on drop.
struct Loop {
    image: PathBuf,
    dev: PathBuf,
}

impl Loop {
    fn new(tag: &str, mib: u64) -> Loop {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let image = PathBuf::from(format!("/tmp/ocffs-{tag}-{}-{n}.img", std::process::id()));
        let f = std::fs::File::create(&image).unwrap();
        f.set_len(mib << 20).unwrap();
        drop(f);
        let _attach = loop_attach_lock();
        let (rc, out, err) = sh(Command::new("losetup").args(["-f", "--show"]).arg(&image));
        assert_eq!(rc, 0, "losetup: {err}");
        Loop {
            image,
            dev: PathBuf::from(out.trim()),
        }
    }

    fn ext4(tag: &str, label: &str) -> Loop {
        let l = Loop::new(tag, 32);
        let (rc, _, err) = sh(Command::new("mkfs.ext4")
            .args(["-q", "-F", "-L", label])
            .arg(&l.dev));
        assert_eq!(rc, 0, "mkfs.ext4: {err}");
        l
    }

    fn xfs(tag: &str, label: &str) -> Loop {
        let l = Loop::new(tag, 320);
        let (rc, _, err) = sh(Command::new("mkfs.xfs")
            .args(["-q", "-f", "-L", label])
            .arg(&l.dev));
        assert_eq!(rc, 0, "mkfs.xfs: {err}");
        l
    }

    fn dev(&self) -> &str {
        self.dev.to_str().unwrap()
    }

    fn number(&self) -> (u32, u32) {
        ocf::mount::block_dev_of(&self.dev).unwrap()
    }

    /// Whether the loop device is still backed by our image (it may have been detached and
    /// reused by someone else).
    fn is_ours(&self) -> bool {
        let name = self.dev.file_name().unwrap().to_string_lossy().into_owned();
        std::fs::read_to_string(format!("/sys/block/{name}/loop/backing_file"))
            .is_ok_and(|b| b.trim() == self.image.to_str().unwrap())
    }

    fn uuid(&self) -> String {
        let (rc, out, err) = sh(Command::new("blkid")
            .args(["-p", "-s", "UUID", "-o", "value"])
            .arg(&self.dev));
        assert_eq!(rc, 0, "{err}");
        out.trim().to_string()
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        if self.is_ours() {
            if let (t, Some(n)) = (table(), ocf::mount::block_dev_of(&self.dev)) {
                for m in t.of_device(n).iter().rev() {
                    let _ = nix::mount::umount2(&m.mount_point, nix::mount::MntFlags::MNT_DETACH);
                }
            }
            let _ = Command::new("losetup").arg("-d").arg(&self.dev).status();
        }
        let _ = std::fs::remove_file(&self.image);
    }
}

/// A test directory whose mounts (everything mounted below it, by this test only: the name is
/// unique) are lazily unmounted on drop, before the directory is removed, so a failed test
/// leaves nothing mounted.
struct Scratch(TempDir);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        Scratch(TempDir::new(tag))
    }
}

impl std::ops::Deref for Scratch {
    type Target = TempDir;
    fn deref(&self) -> &TempDir {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for m in table().below(self.0.path()).iter().rev() {
            let _ = nix::mount::umount2(&m.mount_point, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

/// A child process killed and reaped on drop.
struct Proc(Child);

impl Proc {
    fn spawn(cmd: &mut Command) -> Proc {
        Proc(
            cmd.stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }
    fn pid(&self) -> u32 {
        self.0.id()
    }
    /// Whether it has exited (reaps it).
    fn exited(&mut self) -> bool {
        self.0.try_wait().unwrap().is_some()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `sleep 300` with its working directory in `cwd`; with `ignore_term`, SIGTERM is ignored.
fn sleeper(cwd: &Path, ignore_term: bool) -> Proc {
    let script = if ignore_term {
        "trap '' TERM; exec sleep 300"
    } else {
        "exec sleep 300"
    };
    let p = Proc::spawn(Command::new("sh").args(["-c", script]).current_dir(cwd));
    // Wait until the exec happened (comm becomes "sleep").
    ocf::Deadline::after(Duration::from_secs(5)).wait_until(Duration::from_millis(10), || {
        std::fs::read_to_string(format!("/proc/{}/comm", p.pid()))
            .is_ok_and(|c| c.trim() == "sleep")
            .then_some(())
    });
    p
}

fn fs(device: &str, dir: &Path, fstype: &str) -> Run {
    run("Filesystem")
        .pacemaker("fs-it")
        .param("device", device)
        .param("directory", dir)
        .param("fstype", fstype)
}

fn mounted_at(dir: &Path) -> Option<ocf::mount::Mount> {
    table().visible(dir).cloned()
}

fn raw_mountinfo_has(escaped: &str) -> bool {
    std::fs::read_to_string("/proc/thread-self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(escaped))
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, loop devices, mkfs.ext4/mkfs.xfs (tests/run.sh setup)"
)]
fn ext4_by_uuid_on_a_path_with_a_space() {
    isolate();
    let _scan = device_scan_lock();
    let tmp = Scratch::new("ocffs-uuid");
    let lo = Loop::ext4("uuid", "ocffs-u");
    let dir = tmp.join("mount point/data");
    let r = fs(&format!("UUID={}", lo.uuid()), &dir, "ext4");
    r.act_probe(Rc::NotRunning);
    r.act("stop", Rc::Success);
    r.act("start", Rc::Success);
    // Seen from outside the agent: the kernel has our device there, escaped in mountinfo.
    let m = mounted_at(&dir).expect("mounted");
    assert_eq!(m.dev(), lo.number());
    assert!(raw_mountinfo_has(&format!(
        "{}/mount\\040point/data",
        tmp.path().display()
    )));
    r.act("start", Rc::Success);
    r.act_monitor(Rc::Success);
    r.act_probe(Rc::Success);
    r.act_depth(10, Rc::Success);
    r.act_depth(20, Rc::Success);
    let host = nix::unistd::gethostname().unwrap();
    let status = dir.join(format!(
        ".Filesystem_status/fs-it_{}",
        host.to_string_lossy()
    ));
    let text = std::fs::read(&status).unwrap();
    assert!(text.starts_with(b"fs-it\n"), "{text:?}");
    // The other forms of the same identity.
    fs(&format!("-U {}", lo.uuid()), &dir, "ext4").act_monitor(Rc::Success);
    r.act("stop", Rc::Success);
    assert!(mounted_at(&dir).is_none());
    r.act("stop", Rc::Success);
    r.act_monitor(Rc::NotRunning);
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, loop devices, mkfs.ext4/mkfs.xfs (tests/run.sh setup)"
)]
fn xfs_by_label() {
    isolate();
    let _scan = device_scan_lock();
    let tmp = Scratch::new("ocffs-xfs");
    let lo = Loop::xfs("xfs", "ocffsx");
    let dir = tmp.join("x");
    for device in ["-L ocffsx", "LABEL=ocffsx"] {
        let r = fs(device, &dir, "xfs");
        r.act("start", Rc::Success);
        let m = mounted_at(&dir).expect("mounted");
        assert_eq!((m.dev(), m.fstype.as_str()), (lo.number(), "xfs"));
        r.act_depth(20, Rc::Success);
        r.act_depth(10, Rc::Success);
        r.act("stop", Rc::Success);
        assert!(mounted_at(&dir).is_none());
    }
    fs("LABEL=ocffs-none", &dir, "xfs")
        .act("start", Rc::ErrInstalled)
        .assert_reason_contains("LABEL=ocffs-none");
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, loop devices, mkfs.ext4/mkfs.xfs (tests/run.sh setup)"
)]
fn stop_kills_users_within_budget_and_spares_others() {
    isolate();
    let tmp = Scratch::new("ocffs-busy");
    let lo = Loop::ext4("busy", "ocffs-b");
    let dir = tmp.join("m");
    let outside = tmp.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let r = fs(lo.dev(), &dir, "ext4");
    r.act("start", Rc::Success);
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("held"), b"x").unwrap();
    let mut cwd_user = sleeper(&dir.join("sub"), false);
    let mut stubborn = sleeper(&dir, true);
    let mut file_user = Proc::spawn(
        Command::new("sleep")
            .arg("300")
            .stdin(std::fs::File::open(dir.join("held")).unwrap()),
    );
    let mut bystander = sleeper(&outside, false);
    std::thread::sleep(Duration::from_millis(100));
    let users: Vec<u32> = ocf::mount::users(&mounted_at(&dir).unwrap())
        .iter()
        .map(|u| u.proc.pid as u32)
        .collect();
    for p in [&cwd_user, &stubborn, &file_user] {
        assert!(users.contains(&p.pid()), "{users:?}");
    }
    assert!(!users.contains(&bystander.pid()));
    let t = Instant::now();
    r.clone()
        .timeout(Duration::from_secs(6))
        .act("stop", Rc::Success);
    let took = t.elapsed();
    assert!(took < Duration::from_secs(6), "{took:?}");
    // SIGTERM ignored: killed only in the second half of the budget.
    assert!(took > Duration::from_millis(2000), "{took:?}");
    assert!(mounted_at(&dir).is_none());
    assert!(cwd_user.exited() && stubborn.exited() && file_user.exited());
    assert!(
        !bystander.exited(),
        "a process outside the mount was signalled"
    );
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, loop devices, mkfs.ext4/mkfs.xfs (tests/run.sh setup)"
)]
fn safe_mode_and_bind_mounts_touch_only_the_mount_being_stopped() {
    isolate();
    let tmp = Scratch::new("ocffs-bind");
    let lo = Loop::ext4("bind", "ocffs-bd");
    let data = tmp.join("data");
    let view = tmp.join("view");
    let base = fs(lo.dev(), &data, "ext4");
    base.act("start", Rc::Success);
    std::fs::create_dir(data.join("export")).unwrap();
    let b = fs(data.join("export").to_str().unwrap(), &view, "none")
        .param("options", "bind,ro")
        .param("force_unmount", "safe");
    b.act_probe(Rc::NotRunning);
    b.act("start", Rc::Success);
    let m = mounted_at(&view).unwrap();
    assert!(m.is_read_only() && m.root == Path::new("/export"), "{m:?}");
    assert!(std::fs::write(view.join("f"), b"x").is_err());
    b.act_monitor(Rc::Success);
    b.act_depth(10, Rc::Success);
    // Same filesystem, same directory, but through the other mount: not a user of the view.
    let mut through_source = sleeper(&data.join("export"), false);
    let mut through_view = sleeper(&view, false);
    b.clone()
        .timeout(Duration::from_secs(6))
        .act("stop", Rc::Success);
    assert!(mounted_at(&view).is_none());
    assert!(through_view.exited());
    assert!(
        !through_source.exited(),
        "safe mode signalled a process outside the mount"
    );
    // The underlying filesystem is untouched by the bind resource's stop.
    assert!(mounted_at(&data).is_some());
    drop(through_source);
    base.act("stop", Rc::Success);
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root (tests/run.sh setup)"
)]
fn nested_mounts_are_unmounted_and_prefix_siblings_spared() {
    isolate();
    let tmp = Scratch::new("ocffs-nested");
    let dir = tmp.join("m");
    let sibling = tmp.join("m2");
    let r = fs("ocffs-top", &dir, "tmpfs").param("options", "size=1m");
    r.act("start", Rc::Success);
    // Another tmpfs mounted below ours, and one on a path that only shares a string prefix.
    let sub = dir.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::create_dir_all(&sibling).unwrap();
    for (src, at) in [("ocffs-sub", &sub), ("ocffs-sibling", &sibling)] {
        let (rc, _, err) = sh(Command::new("mount").args(["-t", "tmpfs", src]).arg(at));
        assert_eq!(rc, 0, "{err}");
    }
    r.act_monitor(Rc::Success);
    let mut in_sub = sleeper(&sub, false);
    let mut in_sibling = sleeper(&sibling, false);
    // A start while submounts exist but ours is mounted is a no-op success.
    r.act("start", Rc::Success);
    r.clone()
        .timeout(Duration::from_secs(6))
        .act("stop", Rc::Success);
    let t = table();
    assert!(t.at(&dir).is_empty() && t.at(&sub).is_empty());
    assert!(in_sub.exited());
    assert!(
        !in_sibling.exited(),
        "a process on a sibling mount was signalled"
    );
    assert!(t.visible(&sibling).is_some());
    drop(in_sibling);
    nix::mount::umount(&sibling).unwrap();
    // Something mounted below the (unmounted) mount point: start refuses with 2.
    std::fs::create_dir_all(&sub).unwrap();
    let (rc, _, err) = sh(Command::new("mount")
        .args(["-t", "tmpfs", "ocffs-below"])
        .arg(&sub));
    assert_eq!(rc, 0, "{err}");
    r.act("start", Rc::ErrArgs).assert_reason_contains("below");
    nix::mount::umount(&sub).unwrap();
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root (tests/run.sh setup)"
)]
fn fast_stop_bounds_a_hopeless_stop_to_six_seconds() {
    isolate();
    let tmp = Scratch::new("ocffs-fast");
    let dir = tmp.join("m");
    let r = fs("ocffs-fast", &dir, "tmpfs")
        .param("fast_stop", "true")
        .param("force_unmount", "false");
    r.act("start", Rc::Success);
    let user = sleeper(&dir, false);
    let t = Instant::now();
    r.clone()
        .timeout(Duration::from_secs(60))
        .act("stop", Rc::ErrGeneric)
        .assert_reason_contains("(sleep)");
    let took = t.elapsed();
    assert!(
        took > Duration::from_secs(5) && took < Duration::from_secs(9),
        "{took:?}"
    );
    drop(user);
    r.act("stop", Rc::Success);
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, loop devices, unshare (tests/run.sh setup)"
)]
fn stop_fails_while_another_mount_namespace_still_has_the_filesystem() {
    isolate();
    let tmp = Scratch::new("ocffs-ns");
    let dir = tmp.join("m");
    let lo = Loop::ext4("ns", "ocffs-ns");
    let r = fs(lo.dev(), &dir, "ext4");
    r.act("start", Rc::Success);
    // A private copy of the mount table, made while the filesystem is mounted.
    let holder = Proc::spawn(Command::new("unshare").args([
        "--mount",
        "--propagation",
        "private",
        "sleep",
        "300",
    ]));
    ocf::Deadline::after(Duration::from_secs(5)).wait_until(Duration::from_millis(10), || {
        std::fs::read_to_string(format!("/proc/{}/comm", holder.pid()))
            .is_ok_and(|c| c.trim() == "sleep")
            .then_some(())
    });
    let t = Instant::now();
    r.clone()
        .timeout(Duration::from_secs(3))
        .act("stop", Rc::ErrGeneric)
        .assert_reason_contains("still in use");
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(mounted_at(&dir).is_none(), "unmounted in our namespace");
    assert!(ocf::mount::block_device_claimed(&lo.dev));
    drop(holder);
    assert!(ocf::Deadline::after(Duration::from_secs(5))
        .wait_until(Duration::from_millis(20), || {
            (!ocf::mount::block_device_claimed(&lo.dev)).then_some(())
        })
        .is_some());
    r.act("stop", Rc::Success);
}

/// The ext2 "state" field says whether the filesystem has errors; only fsck clears it.
fn fs_state(dev: &str) -> String {
    let (rc, out, err) = sh(Command::new("dumpe2fs").args(["-h", dev]));
    assert_eq!(rc, 0, "{err}");
    out.lines()
        .find_map(|l| l.strip_prefix("Filesystem state:"))
        .unwrap()
        .trim()
        .to_string()
}

fn mark_errors(dev: &str) {
    let (rc, _, err) = sh(Command::new("debugfs").args(["-w", "-R", "ssv state 2", dev]));
    assert_eq!(rc, 0, "{err}");
    assert_eq!(fs_state(dev), "not clean with errors");
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, loop devices, e2fsprogs (tests/run.sh setup)"
)]
fn fsck_runs_only_where_the_shell_agent_runs_it() {
    isolate();
    let tmp = Scratch::new("ocffs-fsck");
    let dir = tmp.join("m");
    let lo = Loop::new("fsck", 32);
    let (rc, _, err) = sh(Command::new("mkfs.ext2").args(["-q", "-F"]).arg(&lo.dev));
    assert_eq!(rc, 0, "{err}");
    // ext2 with run_fsck=auto: checked (and repaired) before mounting.
    mark_errors(lo.dev());
    let r = fs(lo.dev(), &dir, "ext2");
    r.act("start", Rc::Success);
    r.act("stop", Rc::Success);
    assert_eq!(fs_state(lo.dev()), "clean");
    // run_fsck=no: left alone.
    mark_errors(lo.dev());
    let r = r.param("run_fsck", "no");
    r.act("start", Rc::Success);
    r.act("stop", Rc::Success);
    assert_eq!(fs_state(lo.dev()), "not clean with errors");
    // A journaled type (ext4 driver, fstype ext4) with auto: not checked; with force: checked.
    let r4 = fs(lo.dev(), &dir, "ext4");
    r4.act("start", Rc::Success);
    r4.act("stop", Rc::Success);
    assert_eq!(fs_state(lo.dev()), "not clean with errors");
    let r4 = r4.param("run_fsck", "force");
    r4.act("start", Rc::Success);
    r4.act("stop", Rc::Success);
    assert_eq!(fs_state(lo.dev()), "clean");
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, loop devices, mkfs.ext4/mkfs.xfs (tests/run.sh setup)"
)]
fn busy_mount_without_force_unmount_fails_naming_the_process() {
    isolate();
    let tmp = Scratch::new("ocffs-nokill");
    let lo = Loop::ext4("nokill", "ocffs-n");
    let dir = tmp.join("m");
    let r = fs(lo.dev(), &dir, "ext4").param("force_unmount", "false");
    r.act("start", Rc::Success);
    let mut user = sleeper(&dir, false);
    let t = Instant::now();
    r.clone()
        .timeout(Duration::from_secs(3))
        .act("stop", Rc::ErrGeneric)
        .assert_reason_contains(&format!("{} (sleep)", user.pid()));
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(!user.exited());
    assert!(mounted_at(&dir).is_some());
    drop(user);
    r.act("stop", Rc::Success);
    assert!(mounted_at(&dir).is_none());
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, loop devices, mkfs.ext4/mkfs.xfs (tests/run.sh setup)"
)]
fn depth_20_fails_on_a_read_only_remount() {
    isolate();
    let tmp = Scratch::new("ocffs-ro");
    let lo = Loop::ext4("ro", "ocffs-r");
    let dir = tmp.join("m");
    let r = fs(lo.dev(), &dir, "ext4");
    r.act("start", Rc::Success);
    r.act_depth(20, Rc::Success);
    let (rc, _, err) = sh(Command::new("mount").args(["-o", "remount,ro"]).arg(&dir));
    assert_eq!(rc, 0, "{err}");
    r.clone()
        .recurring()
        .act_depth(20, Rc::ErrGeneric)
        .assert_reason_contains("status file");
    r.act_monitor(Rc::Success);
    r.act("stop", Rc::Success);
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, loop devices, mkfs.ext4/mkfs.xfs (tests/run.sh setup)"
)]
fn tmpfs_resource_and_a_foreign_mount_on_the_mount_point() {
    isolate();
    let tmp = Scratch::new("ocffs-tmpfs");
    let dir = tmp.join("t");
    let r = fs("tmpfs", &dir, "tmpfs").param("options", "size=1m,mode=0700");
    r.act("start", Rc::Success);
    let m = mounted_at(&dir).unwrap();
    assert_eq!(m.fstype, "tmpfs");
    assert!(m.super_options.contains("mode=700"), "{}", m.super_options);
    r.act_depth(20, Rc::Success);
    r.act("stop", Rc::Success);
    assert!(mounted_at(&dir).is_none());

    // A different filesystem mounted there: a probe says stopped, a recurring monitor fails,
    // stop leaves it alone.
    let lo = Loop::ext4("foreign", "ocffs-f");
    let (rc, _, err) = sh(Command::new("mount")
        .args(["-t", "tmpfs", "ocffs-foreign"])
        .arg(&dir));
    assert_eq!(rc, 0, "{err}");
    let e = fs(lo.dev(), &dir, "ext4");
    e.act_probe(Rc::NotRunning);
    e.act_monitor(Rc::ErrGeneric)
        .assert_reason_contains("ocffs-foreign");
    e.act("stop", Rc::Success);
    assert_eq!(mounted_at(&dir).unwrap().source, "ocffs-foreign");
    let _ = nix::mount::umount(&dir);
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, loop devices, mkfs.ext4/mkfs.xfs (tests/run.sh setup)"
)]
fn hidden_mount_is_not_stopped_and_stop_unmounts_the_stack() {
    isolate();
    let tmp = Scratch::new("ocffs-hidden");
    let lo = Loop::ext4("hidden", "ocffs-h");
    let dir = tmp.join("m");
    let r = fs(lo.dev(), &dir, "ext4");
    r.act("start", Rc::Success);
    let (rc, _, err) = sh(Command::new("mount")
        .args(["-t", "tmpfs", "ocffs-over"])
        .arg(&dir));
    assert_eq!(rc, 0, "{err}");
    // Ours is still mounted (under the tmpfs): never "not running".
    r.act_probe(Rc::ErrGeneric).assert_reason_contains("hidden");
    r.act("stop", Rc::Success);
    let t = table();
    assert!(t.at(&dir).is_empty(), "{:?}", t.at(&dir));
    assert!(t.of_device(lo.number()).is_empty());
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, loop devices, mkfs.ext4/mkfs.xfs (tests/run.sh setup)"
)]
fn device_mounted_elsewhere_is_refused_and_vanished_device_still_unmounts() {
    isolate();
    let tmp = Scratch::new("ocffs-twice");
    let lo = Loop::ext4("twice", "ocffs-t");
    let a = tmp.join("a");
    let b = tmp.join("b");
    std::fs::create_dir_all(&a).unwrap();
    let (rc, _, err) = sh(Command::new("mount").arg(lo.dev()).arg(&a));
    assert_eq!(rc, 0, "{err}");
    fs(lo.dev(), &b, "ext4")
        .act("start", Rc::ErrGeneric)
        .assert_reason_contains("already mounted");
    assert!(mounted_at(&b).is_none());
    nix::mount::umount(&a).unwrap();

    // The device path disappears while mounted (a udev link, a removed multipath alias):
    // stop must still unmount, never exit 0 with the filesystem mounted.
    let link = tmp.join("ocffs-link");
    std::os::unix::fs::symlink(&lo.dev, &link).unwrap();
    let r = fs(link.to_str().unwrap(), &b, "ext4");
    r.act("start", Rc::Success);
    std::fs::remove_file(&link).unwrap();
    r.act_probe(Rc::Success);
    r.act("stop", Rc::Success);
    assert!(table().of_device(lo.number()).is_empty());
    r.act_probe(Rc::NotRunning);
    r.act("start", Rc::ErrInstalled);
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, loop devices, strace (tests/run.sh setup)"
)]
fn depth_0_monitor_forks_nothing() {
    isolate();
    let tmp = Scratch::new("ocffs-fork");
    let lo = Loop::ext4("fork", "ocffs-k");
    let dir = tmp.join("m");
    let r = fs(lo.dev(), &dir, "ext4");
    r.act("start", Rc::Success);
    let trace = tmp.join("trace");
    let (rc, _, err) = sh(Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=process", "-o"])
        .arg(&trace)
        .arg(agent("Filesystem"))
        .arg("monitor")
        .env("OCF_RESKEY_device", lo.dev())
        .env("OCF_RESKEY_directory", &dir)
        .env("OCF_RESKEY_fstype", "ext4")
        .env("OCF_RESKEY_CRM_meta_interval", "20000"));
    assert_eq!(rc, 0, "{err}");
    let text = std::fs::read_to_string(&trace).unwrap();
    let spawns: Vec<&str> = text
        .lines()
        .filter(|l| {
            ["clone", "fork", "vfork", "execve"]
                .iter()
                .any(|s| l.contains(&format!("{s}(")))
        })
        .collect();
    assert_eq!(spawns.len(), 1, "only the agent's own execve: {spawns:?}");
    r.act("stop", Rc::Success);
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, loop devices and resource-agents (tests/run.sh setup)"
)]
fn passes_the_shell_ocf_tester_and_ours() {
    isolate();
    let tmp = Scratch::new("ocffs-tester");
    let lo = Loop::ext4("tester", "ocffs-o");
    let dir = tmp.join("m");
    let (rc, out, err) = sh(Command::new("/usr/sbin/ocf-tester")
        .env("OCF_ROOT", "/usr/lib/ocf")
        .args(["-n", "ocffs-tester", "-o"])
        .arg(format!("device={}", lo.dev()))
        .arg("-o")
        .arg(format!("directory={}", dir.display()))
        .args(["-o", "fstype=ext4"])
        .arg(agent("Filesystem")));
    assert_eq!(rc, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("passed all tests"), "{out}");
    assert!(mounted_at(&dir).is_none());
    // Our tester, imitating Pacemaker (OCF 1.1 environment, extra checks) and in the shell
    // tool's legacy profile.
    for profile in ["pacemaker", "legacy"] {
        let (rc, out, err) = sh(Command::new(crate::common::our_tester())
            .args(["--profile", profile, "-n", "ocffs-tester", "-o"])
            .arg(format!("device={}", lo.dev()))
            .arg("-o")
            .arg(format!("directory={}", dir.display()))
            .args(["-o", "fstype=ext4"])
            .arg(agent("Filesystem")));
        assert_eq!(rc, 0, "ocf-tester --profile {profile}:\n{out}\n{err}");
        assert!(out.contains("passed all tests"), "{out}");
        assert!(mounted_at(&dir).is_none());
    }
}

// ---------------------------------------------------------------------------------------------
// The ocft cases Debian ships (/usr/share/resource-agents/ocft/configs/Filesystem), run by a
// small interpreter of the ocft config language against both agents. `ocft` itself is not
// used: it compiles cases into /var/lib/resource-agents/ocft and works on fixed paths under
// /run/resource-agents with loop devices it picks itself, so two runs (shell and ours), or
// other helpers' tests, would collide. The interpreter follows ocft's semantics (B.2 of
// spec.md): Env/Unenv/Include/Bash/BashAtExit/AgentRun, AgentRun without an expected code
// checking start/stop through a monitor first, the ocft environment (OCF 1.0, instance
// "ocft", CRM_meta_timeout = HangTimeout in ms, no interval), and the config's VARIABLEs
// bound to our own image, loop device and directory.

const OCFT_CONFIG: &str = "/usr/share/resource-agents/ocft/configs/Filesystem";

#[derive(Debug, Clone)]
enum Op {
    Env(String, String),
    Unenv(String),
    Include(String),
    Bash(String),
    BashAtExit(String),
    AgentRun(String, Option<String>),
}

#[derive(Debug, Default)]
struct Ocft {
    hang_timeout: u64,
    variables: Vec<String>,
    setup: Vec<String>,
    blocks: Vec<(String, Vec<Op>)>,
    cases: Vec<(String, Vec<Op>)>,
}

fn parse_ocft(text: &str) -> Ocft {
    let mut o = Ocft {
        hang_timeout: 20,
        ..Ocft::default()
    };
    enum Sec {
        None,
        Config,
        Var,
        Setup,
        Cleanup,
        Block,
        Case,
    }
    let mut sec = Sec::None;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if !line.starts_with(char::is_whitespace) {
            let (kw, rest) = t.split_once(' ').unwrap_or((t, ""));
            let rest = rest.trim().trim_matches('"').to_string();
            sec = match kw {
                "CONFIG" => Sec::Config,
                "VARIABLE" => Sec::Var,
                "SETUP-AGENT" => Sec::Setup,
                "CLEANUP-AGENT" => Sec::Cleanup,
                "CASE-BLOCK" => {
                    o.blocks.push((rest, Vec::new()));
                    Sec::Block
                }
                "CASE" => {
                    o.cases.push((rest, Vec::new()));
                    Sec::Case
                }
                other => panic!("unknown ocft keyword {other}"),
            };
            continue;
        }
        let (kw, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
        let rest = rest.trim().to_string();
        let op = || -> Op {
            match kw {
                "Env" => {
                    let (k, v) = rest.split_once('=').unwrap();
                    Op::Env(k.to_string(), v.to_string())
                }
                "Unenv" => Op::Unenv(rest.clone()),
                "Include" => Op::Include(rest.clone()),
                "Bash" => Op::Bash(rest.clone()),
                "BashAtExit" => Op::BashAtExit(rest.clone()),
                "AgentRun" => {
                    let mut w = rest.split_whitespace();
                    Op::AgentRun(w.next().unwrap().to_string(), w.next().map(str::to_string))
                }
                other => panic!("unknown ocft case option {other}"),
            }
        };
        match sec {
            Sec::Config => {
                if kw == "HangTimeout" {
                    o.hang_timeout = rest.parse().unwrap();
                }
            }
            Sec::Var => o.variables.push(t.split('=').next().unwrap().to_string()),
            Sec::Setup => o.setup.push(t.to_string()),
            Sec::Cleanup | Sec::None => {}
            Sec::Block => o.blocks.last_mut().unwrap().1.push(op()),
            Sec::Case => o.cases.last_mut().unwrap().1.push(op()),
        }
    }
    o
}

fn expand(ops: &[Op], blocks: &[(String, Vec<Op>)]) -> Vec<Op> {
    let mut out = Vec::new();
    for op in ops {
        match op {
            Op::Include(name) => {
                let b = blocks.iter().find(|b| &b.0 == name).unwrap();
                out.extend(expand(&b.1, blocks));
            }
            o => out.push(o.clone()),
        }
    }
    out
}

fn rc_name(code: i32) -> String {
    Rc::from_code(code).map_or_else(|| code.to_string(), |r| r.name().to_string())
}

struct Bound {
    vars: Vec<(String, String)>,
}

impl Bound {
    fn subst(&self, s: &str) -> String {
        let mut s = s.to_string();
        for (k, v) in &self.vars {
            s = s.replace(&format!("${k}"), v);
        }
        s
    }
    /// When nothing is mounted from the loop device here, wait (up to 5 s) until no other
    /// mount namespace holds it either: other tests (or other users of this machine) creating
    /// mount namespaces copy the mount table, and a copy made while the filesystem was
    /// mounted keeps the device busy after the agent unmounted it, so a later `losetup -d`
    /// would only be deferred. Applied after every run of either agent.
    fn settle(&self) {
        let dev = self.subst("$OCFT_loop");
        let Some(n) = ocf::mount::block_dev_of(Path::new(&dev)) else {
            return;
        };
        if !table().of_device(n).is_empty() {
            return;
        }
        ocf::Deadline::after(Duration::from_secs(5)).wait_until(Duration::from_millis(20), || {
            (!ocf::mount::block_device_claimed(Path::new(&dev))).then_some(())
        });
    }

    fn bash(&self, code: &str) -> i32 {
        let mut c = Command::new("bash");
        c.args(["-c", code]);
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        sh(&mut c).0
    }
}

/// Run every case of the config against `agent_path`; returns, per case, the codes of its
/// agent runs and whether ocft would call it passed.
fn run_ocft(cfg: &Ocft, bound: &Bound, agent_path: &Path) -> Vec<(String, Vec<String>, bool)> {
    let mut results = Vec::new();
    for (name, ops) in &cfg.cases {
        let mut env = ocf::Env::new()
            .with("OCF_ROOT", "/usr/lib/ocf")
            .with("OCF_RA_VERSION_MAJOR", "1")
            .with("OCF_RA_VERSION_MINOR", "0")
            .with("OCF_RESOURCE_TYPE", "Filesystem")
            .with("OCF_RESOURCE_INSTANCE", "ocft")
            .with(
                "OCF_RESKEY_CRM_meta_timeout",
                (cfg.hang_timeout * 1000).to_string(),
            );
        let mut at_exit: Vec<String> = Vec::new();
        let mut codes = Vec::new();
        let mut ok = true;
        let agent_run = |env: &ocf::Env, action: &str| -> i32 {
            let rc = Run::binary(agent_path)
                .with_env(env.clone())
                .action(action)
                .run()
                .rc;
            bound.settle();
            rc
        };
        for op in expand(ops, &cfg.blocks) {
            if !ok {
                break;
            }
            match op {
                Op::Env(k, v) => env.set(&k, bound.subst(&v)),
                Op::Unenv(k) => env.remove(&k),
                Op::Include(_) => unreachable!(),
                Op::Bash(code) => {
                    if bound.bash(&code) != 0 {
                        codes.push(format!("bash failed: {code}"));
                        ok = false;
                    }
                }
                Op::BashAtExit(code) => at_exit.push(code),
                Op::AgentRun(action, Some(want)) => {
                    let rc = agent_run(&env, &action);
                    codes.push(format!("{action}={}", rc_name(rc)));
                    ok = rc_name(rc) == want;
                }
                Op::AgentRun(action, None) => {
                    let check = match action.as_str() {
                        "start" => Some((0, 7)),
                        "stop" => Some((7, 0)),
                        _ => None,
                    };
                    let rc = match check {
                        Some((done, todo)) => {
                            let m = agent_run(&env, "monitor");
                            if m == done || (action == "start" && m == 8) {
                                codes.push(format!("{action}: monitor={}", rc_name(m)));
                                continue;
                            }
                            if m != todo {
                                codes.push(format!("{action}: monitor={}", rc_name(m)));
                                ok = false;
                                continue;
                            }
                            agent_run(&env, &action)
                        }
                        None => agent_run(&env, &action),
                    };
                    codes.push(format!("{action}={}", rc_name(rc)));
                    if action != "monitor" && rc != 0 {
                        ok = false;
                    }
                }
            }
        }
        for code in at_exit.iter().rev() {
            bound.bash(code);
        }
        results.push((name.clone(), codes, ok));
    }
    results
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, loop devices, resource-agents and kmod (tests/run.sh setup)"
)]
fn debian_ocft_cases_give_the_same_results_as_the_shell_agent() {
    isolate();
    let _scan = device_scan_lock();
    let text = std::fs::read_to_string(OCFT_CONFIG).unwrap();
    let cfg = parse_ocft(&text);
    assert_eq!(
        cfg.cases.len(),
        14,
        "the shipped config changed: review this test"
    );
    let mut vars = cfg.variables.clone();
    vars.sort();
    assert_eq!(vars, ["OCFT_dir", "OCFT_fs", "OCFT_loop", "OCFT_rundir"]);
    let shell = Path::new("/usr/lib/ocf/resource.d/heartbeat/Filesystem");
    // A fresh device per agent (attached before taking the attach lock).
    let loops = [Loop::new("ocft", 16), Loop::new("ocft", 16)];
    let _attach = loop_attach_lock();
    let mut all = Vec::new();
    for ((who, path), lo) in [
        ("shell", shell.to_path_buf()),
        ("ocfrs", agent("Filesystem")),
    ]
    .into_iter()
    .zip(&loops)
    {
        let tmp = Scratch::new("ocffs-ocft");
        let bound = Bound {
            vars: vec![
                ("OCFT_rundir".into(), tmp.path().display().to_string()),
                ("OCFT_fs".into(), lo.image.display().to_string()),
                (
                    "OCFT_dir".into(),
                    tmp.join("ocft-Filesystem-mnt").display().to_string(),
                ),
                ("OCFT_loop".into(), lo.dev().to_string()),
            ],
        };
        for line in &cfg.setup {
            assert_eq!(bound.bash(&bound.subst(line)), 0, "setup: {line}");
        }
        let res = run_ocft(&cfg, &bound, &path);
        // Leave nothing mounted.
        Run::binary(&path)
            .env("OCF_ROOT", "/usr/lib/ocf")
            .param("device", lo.dev())
            .param("directory", tmp.join("ocft-Filesystem-mnt"))
            .param("fstype", "ext3")
            .action("stop")
            .run();
        all.push((who, res));
    }
    let (shell_res, ours) = (&all[0].1, &all[1].1);
    for (s, o) in shell_res.iter().zip(ours) {
        assert!(s.2, "shell agent failed ocft case {:?}: {:?}", s.0, s.1);
        assert!(o.2, "ocfrs failed ocft case {:?}: {:?}", o.0, o.1);
        assert_eq!(s.1, o.1, "case {:?}: shell vs ocfrs", s.0);
    }
}

/// A FUSE filesystem (Debian's `bindfs`, run in the foreground so this test owns its pid)
/// mounted on `dir`; its daemon is killed on drop, which ends every request it left pending.
struct Fuse {
    daemon: Proc,
}

impl Fuse {
    fn mount(src: &Path, dir: &Path) -> Fuse {
        std::fs::create_dir_all(src).unwrap();
        std::fs::create_dir_all(dir).unwrap();
        let daemon = Proc::spawn(Command::new("bindfs").arg("-f").arg(src).arg(dir));
        let up = ocf::Deadline::after(Duration::from_secs(10))
            .wait_until(Duration::from_millis(20), || {
                mounted_at(dir).filter(|m| m.fstype == "fuse").map(|_| ())
            });
        assert!(up.is_some(), "bindfs did not mount {}", dir.display());
        Fuse { daemon }
    }

    /// Stop the daemon (SIGSTOP): every request to the filesystem now blocks in the kernel.
    fn hang(&self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.daemon.pid() as i32),
            nix::sys::signal::Signal::SIGSTOP,
        )
        .unwrap();
    }
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, /dev/fuse and bindfs (tests/run.sh setup)"
)]
fn hung_fuse_monitor_and_stop_answer_within_their_budget() {
    isolate();
    let tmp = Scratch::new("ocffs-fuse");
    let (src, dir) = (tmp.join("src"), tmp.join("m"));
    let fuse = Fuse::mount(&src, &dir);
    let r = fs(src.to_str().unwrap(), &dir, "fuse");
    r.clone().recurring().act_depth(20, Rc::Success);
    fuse.hang();
    // Another process blocked in the filesystem, as applications are on a hung server.
    let stat = Proc::spawn(Command::new("stat").arg(dir.join("x")));
    // Depth 0 reads mountinfo only: still running, at once.
    r.act_monitor(Rc::Success);
    // Depth 20 writes on the filesystem: 1 within the 4 s budget, naming the blocked call.
    let t = Instant::now();
    r.clone()
        .timeout(Duration::from_secs(4))
        .recurring()
        .act_depth(20, Rc::ErrGeneric)
        .assert_reason_contains("status file")
        .assert_reason_contains("blocked in the kernel for 3.");
    let took = t.elapsed();
    assert!(took < Duration::from_secs(4), "{took:?}");
    // Stop after a depth-20 monitor removes the status file (blocks), then unmounts: the
    // request the blocked removal left pending keeps the mount busy until the kill phase
    // forces it (MNT_FORCE aborts the FUSE connection).
    let t = Instant::now();
    r.clone()
        .timeout(Duration::from_secs(6))
        .depth(20)
        .act("stop", Rc::Success);
    let took = t.elapsed();
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert!(mounted_at(&dir).is_none_or(|m| m.fstype != "fuse"));
    drop(stat);
    drop(fuse);
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, /dev/fuse and bindfs (tests/run.sh setup)"
)]
fn fuse_resource_lifecycle() {
    // A FUSE type with a path as device is mounted through mount(8) (mount.fuse runs bindfs),
    // not refused for want of a block device; mountinfo calls it `fuse`.
    isolate();
    let tmp = Scratch::new("ocffs-fusel");
    let (src, dir) = (tmp.join("src"), tmp.join("m"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("hello"), "x").unwrap();
    let r = fs(src.to_str().unwrap(), &dir, "fuse.bindfs");
    r.act("validate-all", Rc::Success);
    r.act_probe(Rc::NotRunning);
    r.act("start", Rc::Success);
    assert!(dir.join("hello").exists());
    r.act("start", Rc::Success);
    // Depth 10 decides from the mount (anonymous device 0:NN, a directory as source) that
    // there is no block device to read, as the shell agent's `-b` test does.
    for depth in [10, 20] {
        r.clone().recurring().act_depth(depth, Rc::Success);
    }
    r.act("stop", Rc::Success);
    assert!(mounted_at(&dir).is_none_or(|m| m.fstype != "fuse"));
    r.act_monitor(Rc::NotRunning);
    r.act("stop", Rc::Success);
}

/// The per-mount options and the propagation of the mount at `dir`, from this thread's
/// mountinfo (`rw,nosuid,...` and whether `shared:N` is among the optional fields).
fn mount_options_and_shared(dir: &Path) -> (String, bool) {
    let m = mounted_at(dir).unwrap();
    let text = std::fs::read_to_string("/proc/thread-self/mountinfo").unwrap();
    let line = text
        .lines()
        .find(|l| l.split(' ').next() == Some(m.id.to_string().as_str()))
        .unwrap()
        .to_string();
    let f: Vec<&str> = line.split(' ').collect();
    let dash = f.iter().position(|x| *x == "-").unwrap();
    let shared = f[6..dash].iter().any(|x| x.starts_with("shared:"));
    (f[5].to_string(), shared)
}

/// Options mount(8) accepts but the kernel refuses as data (userspace words, `iversion`,
/// `nosymfollow`, propagation, `X-mount.*`): the agent mounts with each of them and the
/// result is the mount mount(8) makes from the same options (per-mount flags, propagation).
/// Before, they reached tmpfs as data and start failed with EINVAL.
#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, loop devices, mkfs.ext4/mkfs.xfs (tests/run.sh setup)"
)]
fn options_mount8_accepts_mount_as_mount8_mounts_them() {
    isolate();
    let tmp = Scratch::new("ocfhard-opts");
    for (i, opts) in [
        "size=1m,nousers,noowner,nogroup,X-ocfhard.note=1",
        "size=1m,nosymfollow,iversion",
        "size=1m,shared",
        "size=1m,rshared,nosuid",
        "size=1m,X-mount.mkdir=0700",
    ]
    .iter()
    .enumerate()
    {
        let ours = tmp.join(format!("ours{i}"));
        let theirs = tmp.join(format!("theirs{i}"));
        std::fs::create_dir_all(&theirs).unwrap();
        let r = fs("ocfhard-tmpfs", &ours, "tmpfs").param("options", *opts);
        r.act("start", Rc::Success);
        let (rc, _, err) = sh(Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "ocfhard-tmpfs"])
            .arg(&theirs));
        assert_eq!(rc, 0, "mount(8) -o {opts}: {err}");
        assert_eq!(
            mount_options_and_shared(&ours),
            mount_options_and_shared(&theirs),
            "-o {opts}"
        );
        r.act_depth(20, Rc::Success);
        r.act("stop", Rc::Success);
        assert!(mounted_at(&ours).is_none());
        let _ = nix::mount::umount(&theirs);
    }
    assert!(mount_options_and_shared_is_meaningful());
}

/// The comparison above is not vacuous: `shared` and `nosymfollow` do show in mountinfo.
fn mount_options_and_shared_is_meaningful() -> bool {
    let tmp = Scratch::new("ocfhard-opts-check");
    let d = tmp.join("d");
    std::fs::create_dir_all(&d).unwrap();
    let (rc, _, err) = sh(Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=1m,nosymfollow,shared",
            "ocfhard-tmpfs",
        ])
        .arg(&d));
    assert_eq!(rc, 0, "{err}");
    let (opts, shared) = mount_options_and_shared(&d);
    let _ = nix::mount::umount(&d);
    opts.contains("nosymfollow") && shared
}

/// `force_unmount` with the modifiers of newer resource-agents (`safe,nomove`, `true,move`)
/// is accepted, and stop still ends the processes keeping the mount busy.
#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, loop devices, mkfs.ext4/mkfs.xfs (tests/run.sh setup)"
)]
fn force_unmount_modifiers_are_accepted_and_stop_still_kills_users() {
    isolate();
    let tmp = Scratch::new("ocfhard-fu");
    for (i, v) in ["safe,nomove", "true,move,noxargs"].iter().enumerate() {
        let dir = tmp.join(format!("m{i}"));
        let r = fs("ocfhard-tmpfs", &dir, "tmpfs").param("force_unmount", *v);
        r.act("validate-all", Rc::Success);
        r.act("start", Rc::Success);
        let mut user = sleeper(&dir, false);
        std::thread::sleep(Duration::from_millis(50));
        r.clone()
            .timeout(Duration::from_secs(10))
            .act("stop", Rc::Success);
        assert!(mounted_at(&dir).is_none(), "{v}");
        assert!(
            user.exited(),
            "force_unmount={v}: the user was not signalled"
        );
    }
    fs("ocfhard-tmpfs", &tmp.join("x"), "tmpfs")
        .param("force_unmount", "safe,sideways")
        .act("validate-all", Rc::ErrConfigured)
        .assert_reason_contains("force_unmount");
}
