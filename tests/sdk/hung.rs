//! The SDK on a really hung filesystem: a FUSE mount (Debian's `bindfs`) whose daemon is
//! SIGSTOPped, so every request to it blocks in the kernel. Pid files on it are read within
//! the deadline, and `ocf::mount::unmount` falls back to a forced unmount (which aborts the
//! FUSE connection) when the plain one finds the mount busy.
//!
//! Each case runs in a child process of this test binary started through `unshare --mount
//! --propagation private`, so its mounts live in a private mount namespace of the whole
//! process (`/proc/self/mountinfo`, which the SDK reads, is that namespace) and vanish with
//! it whatever happens.
//!
//! Not covered here: `umount2` itself blocking (a `fuseblk` filesystem waiting for its
//! daemon's DESTROY answer, a dead NFS server), which takes `unmount` to the lazy
//! (`MNT_DETACH`) step; bindfs cannot make the plain `umount2` block.

use ocf::mount::{unmount, Escalation, MountTable};
use ocf::process::Pidfile;
use ocf::Deadline;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The child's scratch directory (set by the parent).
const SCRATCH: &str = "OCFRS_SU_HUNG_SCRATCH";
/// Which case the child runs.
const CASE: &str = "OCFRS_SU_HUNG_CASE";

/// bindfs in the foreground on `dir`, killed and reaped on drop (which aborts its connection
/// and ends every request left pending).
struct Bindfs(Child);

impl Bindfs {
    fn mount(src: &Path, dir: &Path) -> Bindfs {
        std::fs::create_dir_all(src).unwrap();
        std::fs::create_dir_all(dir).unwrap();
        let child = Command::new("bindfs")
            .arg("-f")
            .arg(src)
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("bindfs (tests/run.sh installs it)");
        let fuse = Bindfs(child);
        let up =
            Deadline::after(Duration::from_secs(10)).wait_until(Duration::from_millis(20), || {
                let t = MountTable::read().ok()?;
                t.visible(dir)
                    .filter(|m| m.fstype.starts_with("fuse"))
                    .map(|_| ())
            });
        assert!(up.is_some(), "bindfs did not mount {}", dir.display());
        fuse
    }

    fn hang(&self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGSTOP,
        )
        .unwrap();
    }
}

impl Drop for Bindfs {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A process blocked in the filesystem (as applications are on a hung server), killed on drop.
struct Blocked(Child);

impl Blocked {
    fn stat(path: &Path) -> Blocked {
        let c = Command::new("stat")
            .arg(path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let it reach the kernel.
        std::thread::sleep(Duration::from_millis(200));
        Blocked(c)
    }
}

impl Drop for Blocked {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Run `case` in a child in a private mount namespace (the child's assertions fail it).
fn in_private_namespace(case: &str) {
    let scratch = crate::common::TempDir::new("ocfrs-su-hung");
    // A regression would leave the child blocked in the kernel: `timeout` turns that into
    // a failure (SIGKILL ends killable waits) instead of a hung test run.
    let out = Command::new("timeout")
        .args(["-s", "KILL", "60", "unshare"])
        .args(["--mount", "--propagation", "private", "--"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sdk::hung::child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .args(["--include-ignored"])
        .env(SCRATCH, scratch.path())
        .env(CASE, case)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "case {case}: {text}");
    assert!(
        text.contains(&format!("case {case} done")),
        "case {case} did not run: {text}"
    );
}

/// The child: runs the case named by the parent (nothing when started otherwise).
#[test]
fn child() {
    let (Ok(dir), Ok(case)) = (std::env::var(SCRATCH), std::env::var(CASE)) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let (src, mnt) = (dir.join("src"), dir.join("m"));
    let fuse = Bindfs::mount(&src, &mnt);
    match case.as_str() {
        "pidfile" => {
            let pf = Pidfile::new(mnt.join("d.pid"));
            pf.write(std::process::id() as i32).unwrap();
            assert!(pf.running(None).unwrap().is_some());
            fuse.hang();
            let t = Instant::now();
            let e = Pidfile::new(mnt.join("d.pid"))
                .within(Deadline::after(Duration::from_secs(1)))
                .status(None)
                .unwrap_err();
            let took = t.elapsed();
            assert!(took < Duration::from_secs(3), "{took:?}");
            assert!(took >= Duration::from_millis(900), "{took:?}");
            assert_eq!(e.rc(), ocf::Rc::ErrGeneric);
            assert!(
                e.reason().starts_with(&format!(
                    "read of pid file {} blocked in the kernel for 1.",
                    mnt.join("d.pid").display()
                )),
                "{}",
                e.reason()
            );
        }
        "forced" | "plain" => {
            fuse.hang();
            let _user = Blocked::stat(&mnt.join("x"));
            let m = MountTable::read().unwrap().visible(&mnt).cloned().unwrap();
            let esc = Escalation {
                term_signals: vec![],
                kill_signals: vec![],
                force: case == "forced",
                ..Escalation::default()
            };
            let t = Instant::now();
            let r = unmount(&m, &esc, Deadline::after(Duration::from_secs(2)));
            let took = t.elapsed();
            assert!(took < Duration::from_secs(4), "{took:?}");
            let still = MountTable::read().unwrap().contains_id(m.id);
            if case == "forced" {
                // The plain umount2 finds it busy (the blocked request); MNT_FORCE aborts the
                // FUSE connection and the mount goes.
                r.unwrap();
                assert!(!still, "still mounted after a forced unmount");
            } else {
                let e = r.unwrap_err();
                assert!(
                    e.reason()
                        .starts_with(&format!("cannot unmount {}", mnt.display())),
                    "{}",
                    e.reason()
                );
                assert!(still, "a plain unmount cannot have unmounted a busy mount");
            }
        }
        other => panic!("unknown case {other}"),
    }
    drop(fuse);
    println!("case {case} done");
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, /dev/fuse and bindfs (tests/run.sh setup)"
)]
fn pidfile_on_a_hung_fuse_mount_is_read_within_the_deadline() {
    in_private_namespace("pidfile");
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, /dev/fuse and bindfs (tests/run.sh setup)"
)]
fn busy_hung_fuse_mount_is_unmounted_forced_or_reported() {
    in_private_namespace("forced");
    in_private_namespace("plain");
}
