//! Filesystem (ours) as an NFS client in the NFS guest (tests/nfs/guest.rs): real `mount.nfs`,
//! the kernel's NFSv4 and NFSv3 clients (v3 with NLM locks through lockd and rpc.statd)
//! against the guest's own kernel server on [`GUEST_IP`].
//!
//! Each case starts the server pieces it needs (exportfs.rs's `Server`: rpcbind, rpc.statd,
//! rpc.mountd, nfsd with 4 threads), exports a tmpfs NFSv4 root and one tmpfs export below
//! `/srv/ocfrs-nc`, mounts it with the agent on `/srv/ocfrs-nc/mnt` and leaves the guest as
//! it found it ([`Export`] unmounts and unexports on drop, also after a failed assertion).
//!
//! "Server gone" is made three ways, all with the default **hard** mount options, as a
//! cluster's NFS client resource uses them: the export removed (`exportfs -u`: the client
//! gets errors, nothing blocks), the kernel server stopped (`rpc.nfsd 0`: connections
//! refused, every RPC retried for ever) and the server unreachable (an iptables rule drops
//! the packets to port 2049, as a crashed server or a lost network does). Each time a
//! process keeps its working directory in the mount, and monitor and stop must answer
//! inside their budget with a defined code.
//!
//! Both ocf-testers on a Filesystem NFSv4 resource passed here (Debian's and ours, about 50
//! and 40 s in the emulated guest, commit 4040aa6) but are not part of the suite: too dear
//! for CI's NFS share beside what they add to the local Filesystem tester runs.
//!
//! What the guest's kernel (Debian 6.1) showed: `umount2` of a v3 or v4 mount whose server
//! is gone returns at once once its users are killed, even with unwritten dirty pages, so
//! stop's forced and lazy unmount fallbacks (`ocf::mount::unmount`) are not reached here;
//! what blocks is I/O on the mount (the depth-20 status file, a writer's close), which the
//! bounded worker and the SIGKILL phase answer for.
use crate::common::{run, sh, Act};
use crate::nfs::exportfs::Server;
use crate::nfs::guest::{self, nfs_cases, GUEST_IP};
use ocf::testing::{Outcome, Run};
use ocf::Rc;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BASE: &str = "/srv/ocfrs-nc";
const MNT: &str = "/srv/ocfrs-nc/mnt";
/// Stop's budget in the "server gone" cases (Pacemaker's `op stop timeout`).
const STOP_BUDGET: Duration = Duration::from_secs(30);
/// Monitor's budget in the "server gone" cases.
const MONITOR_BUDGET: Duration = Duration::from_secs(20);

/// A tmpfs NFSv4 root (`fsid=0`) with a tmpfs export below it, exported to 127.0.0.0/8;
/// unexported and unmounted (lazily) on drop, the client mount point too.
struct Export {
    root: PathBuf,
    dir: PathBuf,
}

impl Export {
    fn new() -> Export {
        detach_mnt();
        let root = Path::new(BASE).join("v4root");
        guest::tmpfs(&root, "1m");
        let dir = root.join("export");
        guest::tmpfs(&dir, "32m");
        std::fs::create_dir_all(MNT).unwrap();
        let e = Export { root, dir };
        e.export();
        e
    }
    fn export(&self) {
        for (d, opts) in [
            (&self.root, "ro,fsid=0,no_subtree_check"),
            (&self.dir, "rw,fsid=31,no_root_squash,sync,no_subtree_check"),
        ] {
            let (rc, o, e) = sh(Command::new("exportfs")
                .arg("-o")
                .arg(opts)
                .arg(format!("127.0.0.0/8:{}", d.display())));
            assert_eq!(rc, 0, "exportfs {}: {o}{e}", d.display());
        }
    }
    fn unexport(&self) {
        for d in [&self.dir, &self.root] {
            let _ = sh(Command::new("exportfs")
                .arg("-u")
                .arg(format!("127.0.0.0/8:{}", d.display())));
        }
    }
}

impl Drop for Export {
    fn drop(&mut self) {
        detach_mnt();
        self.unexport();
        for d in [&self.dir, &self.root] {
            let _ = Command::new("umount").arg("-l").arg(d).status();
        }
    }
}

/// Detach whatever a failed case left mounted on [`MNT`] without looking it up (umount(8)
/// and `create_dir_all` would stat it, and hang on a dead server).
fn detach_mnt() {
    for _ in 0..5 {
        if mounted(MNT).is_none() {
            return;
        }
        let flags = nix::mount::MntFlags::MNT_FORCE | nix::mount::MntFlags::MNT_DETACH;
        if let Err(e) = nix::mount::umount2(MNT, flags) {
            eprintln!("cannot detach {MNT}: {e}");
            return;
        }
    }
}

/// The mountinfo line of what is mounted on `dir` (the top-most), if anything.
fn mounted(dir: &str) -> Option<String> {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    mi.lines()
        .rfind(|l| l.split_whitespace().nth(4) == Some(dir))
        .map(str::to_string)
}

/// The Filesystem resource `instance` mounting `device` on [`MNT`] as Pacemaker runs it.
fn fs(instance: &str, device: &str, fstype: &str, options: &str) -> Run {
    run("Filesystem")
        .pacemaker(instance)
        .param("device", device)
        .param("directory", MNT)
        .param("fstype", fstype)
        .param("options", options)
        .timeout(Duration::from_secs(120))
}

fn v4(instance: &str) -> Run {
    fs(instance, &format!("{GUEST_IP}:/export"), "nfs4", "")
}

fn v3(instance: &str, e: &Export) -> Run {
    fs(
        instance,
        &format!("{GUEST_IP}:{}", e.dir.display()),
        "nfs",
        "vers=3",
    )
}

/// Runs `r` and returns its outcome and how long it took.
fn timed(r: Run) -> (Outcome, Duration) {
    let t = Instant::now();
    let o = r.run();
    (o, t.elapsed())
}

/// A recurring monitor of `r` at `depth`: logged, `rc`, and answered within
/// [`MONITOR_BUDGET`] (`how` names the case); its outcome, for further assertions.
#[track_caller]
fn bounded_monitor(r: &Run, depth: u32, rc: Rc, how: &str) -> Outcome {
    let (o, took) = timed(
        r.clone()
            .action("monitor")
            .recurring()
            .depth(depth)
            .timeout(MONITOR_BUDGET),
    );
    eprintln!(
        "{how}: monitor depth {depth} answered {} in {:.1} s: {:?}",
        o.rc,
        took.as_secs_f64(),
        o.reason()
    );
    o.assert_rc(rc);
    assert!(
        took < MONITOR_BUDGET,
        "{how}: monitor {depth} took {took:?}"
    );
    o
}

/// A forced stop (`force_unmount=true`) of `r` within [`STOP_BUDGET`]: 0, nothing left
/// mounted on [`MNT`]; `how` names the case in the log line and in every failure.
#[track_caller]
fn forced_stop(r: &Run, how: &str) {
    let (o, took) = timed(
        r.clone()
            .action("stop")
            .param("force_unmount", "true")
            .timeout(STOP_BUDGET),
    );
    eprintln!(
        "{how}: stop answered {} in {:.1} s\n{}",
        o.rc,
        took.as_secs_f64(),
        o.stderr
    );
    o.assert_rc(Rc::Success);
    assert!(took < STOP_BUDGET, "{how}: stop took {took:?}");
    assert_eq!(mounted(MNT), None, "{how}: still mounted after stop");
}

/// A process with its working directory in `dir` (and, with `file`, that file open).
fn holder(dir: &str, file: Option<&str>) -> Child {
    let mut c = Command::new("sleep");
    c.arg("600")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if let Some(f) = file {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(Path::new(dir).join(f))
            .unwrap();
        c.stderr(f);
    }
    c.spawn().unwrap()
}

/// Whether child `c` was ended by a signal (after stop), reaping it.
fn killed(c: &mut Child) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        if let Some(st) = c.try_wait().unwrap() {
            return std::os::unix::process::ExitStatusExt::signal(&st).is_some();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = c.kill();
    let _ = c.wait();
    false
}

/// probe 7, start, the mount as the kernel sees it, monitor at depths 0, 10 and 20 (the
/// status file really lands on the server), I/O, stop, stopped twice.
fn lifecycle(r: &Run, e: &Export, fstype: &str, vers: &str) {
    r.act_probe(Rc::NotRunning);
    r.act("start", Rc::Success);
    let line = mounted(MNT).expect("nothing mounted after start");
    assert!(
        line.contains(&format!(" - {fstype} {GUEST_IP}:")),
        "not an {fstype} mount from {GUEST_IP}: {line}"
    );
    assert!(
        line.contains(&format!("vers={vers}")),
        "not v{vers}: {line}"
    );
    r.act("start", Rc::Success);
    for depth in [0, 10, 20] {
        r.clone().recurring().act_depth(depth, Rc::Success);
    }
    let status = e.dir.join(".Filesystem_status");
    let names: Vec<String> = std::fs::read_dir(&status)
        .unwrap_or_else(|err| panic!("no status directory on the server ({err})"))
        .flatten()
        .map(|f| f.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("ocfrs-nc-")),
        "depth 20 wrote no status file on the server: {names:?}"
    );
    std::fs::write(Path::new(MNT).join("client.txt"), format!("v{vers}\n")).unwrap();
    assert_eq!(
        std::fs::read_to_string(e.dir.join("client.txt")).unwrap(),
        format!("v{vers}\n")
    );
    r.clone().depth(20).act("stop", Rc::Success);
    assert_eq!(mounted(MNT), None, "still mounted after stop");
    r.act_monitor(Rc::NotRunning);
    r.act("stop", Rc::Success);
    let _ = std::fs::remove_dir_all(status);
    let _ = std::fs::remove_file(e.dir.join("client.txt"));
}

/// `fstype=nfs4` (mount.nfs negotiates v4.2) and `fstype=nfs options=vers=3`: start, monitor
/// at every depth, stop. Over v3 an NLM lock is taken and released through the agent's
/// mount: that proves the v3 side completely (mount.nfs asked rpcbind and rpc.mountd,
/// lockd granted the lock after rpc.statd accepted the SM_MON; without statd the lock
/// fails with ENOLCK).
fn v4_and_v3_start_monitor_stop() {
    let _s = Server::start();
    let e = Export::new();
    lifecycle(&v4("ocfrs-nc-v4"), &e, "nfs4", "4.2");
    let r = v3("ocfrs-nc-v3", &e);
    lifecycle(&r, &e, "nfs", "3");
    r.act("start", Rc::Success);
    let f = Path::new(MNT).join("locked");
    std::fs::write(&f, "x").unwrap();
    let rc = guest::run_bounded(
        Command::new("flock").args(["-w", "30"]).arg(&f).arg("true"),
        Duration::from_secs(60),
    );
    assert_eq!(rc, Some(0), "NLM lock over the agent's v3 mount");
    r.act("stop", Rc::Success);
    assert_eq!(mounted(MNT), None);
}

/// force_unmount=true on a busy NFS mount: a process with its working directory in it and
/// one with a file open in it are killed, stop 0, unmounted. force_unmount=false: stop 1
/// inside its budget, naming the holder, which lives on.
fn force_unmount_busy_mount() {
    let _s = Server::start();
    let _e = Export::new();
    let r = v4("ocfrs-nc-busy");
    r.act("start", Rc::Success);
    let mut cwd = holder(MNT, None);
    let mut open = holder(BASE, Some("mnt/held.log"));
    forced_stop(&r, "busy mount");
    assert!(killed(&mut cwd), "the process with its cwd there lives");
    assert!(
        killed(&mut open),
        "the process with a file open there lives"
    );

    r.act("start", Rc::Success);
    let mut cwd = holder(MNT, None);
    // 20 s: the agent's own deadline is 18 s (a 2 s margin); the guest's exec of the debug
    // binary over 9p, which the agent cannot see, takes up to a second of it
    let budget = Duration::from_secs(20);
    let (o, took) = timed(
        r.clone()
            .action("stop")
            .param("force_unmount", "false")
            .timeout(budget),
    );
    o.assert_rc(Rc::ErrGeneric)
        .assert_reason_contains(&format!("{} (sleep)", cwd.id()));
    assert!(took < budget, "stop took {took:?}, budget {budget:?}");
    assert!(
        cwd.try_wait().unwrap().is_none(),
        "force_unmount=false killed"
    );
    assert!(mounted(MNT).is_some());
    let _ = cwd.kill();
    let _ = cwd.wait();
    r.act("stop", Rc::Success);
    assert_eq!(mounted(MNT), None);
}

/// An iptables rule dropping what goes to the server's port 2049 on lo; removed on drop.
struct Unreachable;

impl Unreachable {
    const RULE: [&'static str; 12] = [
        "INPUT", "-i", "lo", "-p", "tcp", "-d", GUEST_IP, "--dport", "2049", "-j", "DROP", "-w",
    ];
    fn new() -> Unreachable {
        let (rc, o, e) = sh(Command::new("iptables").arg("-I").args(Self::RULE));
        assert_eq!(rc, 0, "iptables -I: {o}{e}");
        Unreachable
    }
}

impl Drop for Unreachable {
    fn drop(&mut self) {
        let (rc, o, e) = sh(Command::new("iptables").arg("-D").args(Self::RULE));
        if rc != 0 {
            eprintln!("iptables -D: {o}{e}");
        }
    }
}

/// The server went away under a mounted, busy resource: monitor depth 0 and 10 read only
/// the mount table (0, as the shell agent: no I/O on the filesystem), depth 20 writes the
/// status file and answers 1 inside its budget naming the blocked write (the shell agent
/// hangs there until the cluster's timeout); stop kills the holder and unmounts (forced, or
/// detached lazily when umount2 itself blocks) inside its budget: 0, nothing left mounted.
fn server_gone(r: &Run, how: &str, mut cwd: Child) {
    for depth in [0, 10] {
        bounded_monitor(r, depth, Rc::Success, how);
    }
    bounded_monitor(r, 20, Rc::ErrGeneric, how).assert_reason_contains(".Filesystem_status");
    forced_stop(r, how);
    assert!(killed(&mut cwd), "{how}: the holder lives");
    r.act_probe(Rc::NotRunning);
}

/// The export removed behind a v4 client: I/O fails at once (no hang); depth 20 is 1, stop 0.
fn server_gone_export_removed() {
    let _s = Server::start();
    let e = Export::new();
    let r = v4("ocfrs-nc-unexp");
    r.act("start", Rc::Success);
    let cwd = holder(MNT, None);
    e.unexport();
    // mountd's and nfsd's export caches forget the export at once only when flushed
    let _ = sh(Command::new("exportfs").arg("-f"));
    server_gone(&r, "export removed", cwd);
}

/// The kernel server stopped (`rpc.nfsd 0`) under a v3 mount: every RPC is refused and
/// retried for ever (hard mount).
fn server_gone_nfsd_stopped() {
    let _s = Server::start();
    let e = Export::new();
    let r = v3("ocfrs-nc-nfsd0", &e);
    r.act("start", Rc::Success);
    let cwd = holder(MNT, None);
    let rc = guest::run_bounded(
        Command::new("/usr/sbin/rpc.nfsd").arg("0"),
        Duration::from_secs(60),
    );
    assert_eq!(rc, Some(0), "rpc.nfsd 0");
    eprintln!("nfsd stopped");
    server_gone(&r, "nfsd stopped", cwd);
}

/// The server unreachable (packets to port 2049 dropped) under a v4 mount: RPCs time out
/// and are retried for ever (hard mount), as after a server crash. Then again with dirty
/// pages the server never got.
fn server_gone_unreachable() {
    let _s = Server::start();
    let _e = Export::new();
    let r = v4("ocfrs-nc-drop");
    r.act("start", Rc::Success);
    let cwd = holder(MNT, None);
    let u = Unreachable::new();
    server_gone(&r, "server unreachable", cwd);
    drop(u);

    // Dirty pages the server never acknowledged: the writer's close blocks flushing them
    // and ignores SIGTERM (seen: dd lives through the first half of the budget), SIGKILL
    // ends it, and the unmount then returns (this kernel drops the unwritable pages; had
    // umount2 blocked, stop would go on with MNT_FORCE and then a lazy detach), inside the
    // budget.
    r.act("start", Rc::Success);
    let file = std::fs::File::create(Path::new(MNT).join("dirty")).unwrap();
    let u = Unreachable::new();
    let writer = Command::new("dd")
        .args(["if=/dev/zero", "bs=64k", "count=64", "status=none"])
        .current_dir(MNT)
        .stdout(file)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    forced_stop(&r, "dirty pages, server unreachable");
    let mut writer = writer;
    let _ = writer.kill();
    let _ = writer.wait();
    drop(u);
}

nfs_cases! {
    "filesystem";
    v4_and_v3_start_monitor_stop,
    force_unmount_busy_mount,
    server_gone_export_removed,
    server_gone_nfsd_stopped,
    server_gone_unreachable,
}
