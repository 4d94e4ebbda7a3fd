//! exportfs (ours) against the kernel NFS server of the NFS guest (tests/nfs/guest.rs): real
//! `exportfs`, `rpc.mountd`, `rpc.nfsd`, `/var/lib/nfs/etab` and rmtab, a real NFS client.
//!
//! Each case starts the server pieces it needs itself ([`Server`]: rpcbind, nfsd with 4
//! threads, mountd, statd), exports tmpfs trees under `/srv/ocfrs-exp` (nfsd cannot export
//! the guest's overlays) and leaves the guest as it found it. What the cases check against is
//! exportfs' own view (`exportfs -s`), never the agent's: the agent reads etab itself.
use crate::common::{agent, our_tester, run, sh, Act};
use crate::nfs::guest::{self, nfs_cases, GUEST_IP};
use ocf::testing::Run;
use ocf::Rc;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const BASE: &str = "/srv/ocfrs-exp";

/// The server pieces a case needs, stopped (by the pids this case started) when dropped.
/// Also the server of the Filesystem NFS client cases (tests/nfs/filesystem.rs).
pub(super) struct Server {
    started: Vec<i32>,
}

impl Server {
    pub(super) fn start() -> Server {
        let mut started = Vec::new();
        if let Some(p) = guest::start_rpcbind() {
            started.push(p);
        }
        if !Path::new("/proc/fs/nfsd/threads").exists() {
            let (rc, _, e) =
                sh(Command::new("mount").args(["-t", "nfsd", "nfsd", "/proc/fs/nfsd"]));
            assert_eq!(rc, 0, "mount nfsd: {e}");
        }
        for (comm, argv) in [
            ("rpc.statd", &["/usr/sbin/rpc.statd", "--no-notify"][..]),
            ("rpc.mountd", &["/usr/sbin/rpc.mountd"][..]),
        ] {
            if guest::pid_of(comm).is_none() {
                let (rc, o, e) = sh(Command::new(argv[0]).args(&argv[1..]));
                assert_eq!(rc, 0, "{argv:?}: {o}{e}");
                started.push(guest::pid_of(comm).unwrap_or_else(|| panic!("{comm} is gone")));
            }
        }
        let (rc, o, e) = sh(Command::new("/usr/sbin/rpc.nfsd").arg("4"));
        assert_eq!(rc, 0, "rpc.nfsd 4: {o}{e}");
        Server { started }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = sh(Command::new("/usr/sbin/rpc.nfsd").arg("0"));
        for p in self.started.iter().rev() {
            guest::stop_pid(*p);
        }
    }
}

/// A tmpfs mounted for the case, unmounted (lazily, so a failed case cannot leave it busy)
/// when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn new(path: impl AsRef<Path>) -> Tmpfs {
        guest::tmpfs(path.as_ref(), "16m");
        Tmpfs(path.as_ref().to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        unexport_under(&self.0);
        let _ = sh(Command::new("umount").arg("-l").arg(&self.0));
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// One exportfs resource as Pacemaker runs it.
fn exp(instance: &str, client: &str, directory: &str) -> Run {
    run("exportfs")
        .pacemaker(instance)
        .param("clientspec", client)
        .param("directory", directory)
        .param("options", "rw,no_root_squash,sync,no_subtree_check")
        .timeout(Duration::from_secs(60))
}

fn ok(r: &Run, action: &str) {
    let o = r.clone().action(action).run();
    assert_eq!(o.rc, 0, "{action}: {o:?}\nexportfs -s:\n{}", exports());
}

fn monitor(r: &Run) -> i32 {
    r.clone().action("monitor").recurring().run().rc
}

/// exportfs' own list of the exports (`/etc/exports` form, paths with `\040`).
fn exports() -> String {
    let (rc, o, e) = sh(Command::new("exportfs").arg("-s"));
    assert_eq!(rc, 0, "exportfs -s: {e}");
    o
}

/// Whether exportfs lists `dir` exported to `client` (the path escaped as exportfs does).
fn exported(dir: &str, client: &str) -> bool {
    let dir = dir.replace(' ', "\\040");
    exports().lines().any(|l| {
        let mut w = l.split_whitespace();
        w.next() == Some(dir.as_str()) && w.any(|item| item.split('(').next() == Some(client))
    })
}

/// Unexport whatever exportfs lists under `root` (a failed case must not leave exports to
/// the next one).
fn unexport_under(root: &Path) {
    let root = root.to_string_lossy().replace(' ', "\\040");
    for l in exports().lines() {
        let mut w = l.split_whitespace();
        let Some(path) = w.next() else { continue };
        if !path.starts_with(root.as_str()) {
            continue;
        }
        let path = path.replace("\\040", " ");
        for item in w {
            let client = item.split('(').next().unwrap_or(item);
            let client = if client.contains(':') {
                match client.split_once('/') {
                    Some((a, len)) => format!("[{a}]/{len}"),
                    None => format!("[{client}]"),
                }
            } else {
                client.to_string()
            };
            let _ = sh(Command::new("exportfs")
                .arg("-u")
                .arg(format!("{client}:{path}")));
        }
    }
}

/// start, monitor, start again, unexport behind the agent's back (monitor 7), stop, stop of
/// the stopped, probe; a missing directory at start is 5.
fn lifecycle() {
    let _s = Server::start();
    let dir = format!("{BASE}/life");
    let _t = Tmpfs::new(&dir);
    let r = exp("exp-life", "127.0.0.0/8", &dir).param("fsid", "11");
    r.act_probe(Rc::NotRunning);
    ok(&r, "validate-all");
    ok(&r, "start");
    assert!(exported(&dir, "127.0.0.0/8"), "{}", exports());
    assert!(exports().contains("fsid=11"), "{}", exports());
    assert_eq!(monitor(&r), 0);
    ok(&r, "start");
    assert_eq!(monitor(&r), 0);
    let (rc, _, e) = sh(Command::new("exportfs").args(["-u", &format!("127.0.0.0/8:{dir}")]));
    assert_eq!(rc, 0, "{e}");
    assert_eq!(monitor(&r), 7, "unexported behind the agent's back");
    ok(&r, "start");
    assert_eq!(monitor(&r), 0);
    ok(&r, "stop");
    assert!(!exported(&dir, "127.0.0.0/8"), "{}", exports());
    assert_eq!(monitor(&r), 7);
    ok(&r, "stop");
    r.act_probe(Rc::NotRunning);
    exp("exp-missing", "127.0.0.0/8", &format!("{BASE}/missing"))
        .act("start", Rc::ErrInstalled)
        .assert_reason_contains("does not exist");
}

/// Two resources export one directory to different clients: each is monitored and stopped
/// on its own. 10.0.0.1 is not 10.0.0.10.
fn two_clients_one_directory() {
    let _s = Server::start();
    let dir = format!("{BASE}/shared");
    let _t = Tmpfs::new(&dir);
    let a = exp("exp-a", "127.0.0.1", &dir).param("fsid", "12");
    let b = exp("exp-b", "127.0.0.0/8", &dir).param("fsid", "12");
    ok(&a, "start");
    ok(&b, "start");
    assert_eq!((monitor(&a), monitor(&b)), (0, 0));
    ok(&a, "stop");
    assert_eq!((monitor(&a), monitor(&b)), (7, 0));
    assert!(exported(&dir, "127.0.0.0/8"), "{}", exports());
    assert!(!exported(&dir, "127.0.0.1"), "{}", exports());
    ok(&a, "start");
    ok(&b, "stop");
    assert_eq!((monitor(&a), monitor(&b)), (0, 7));
    ok(&a, "stop");
    assert!(!exports().contains(&dir), "{}", exports());

    let c = exp("exp-c", "10.0.0.1", &dir).param("fsid", "12");
    ok(&c, "start");
    for args in [
        vec!["-u".to_string(), format!("10.0.0.1:{dir}")],
        vec!["-o".into(), "fsid=12".into(), format!("10.0.0.10:{dir}")],
    ] {
        let (rc, _, e) = sh(Command::new("exportfs").args(&args));
        assert_eq!(rc, 0, "exportfs {args:?}: {e}");
    }
    assert_eq!(
        monitor(&c),
        7,
        "10.0.0.10 taken for 10.0.0.1:\n{}",
        exports()
    );
    ok(&c, "stop");
    assert!(
        exported(&dir, "10.0.0.10"),
        "stop removed another client's export"
    );
    let (rc, _, e) = sh(Command::new("exportfs").args(["-u", &format!("10.0.0.10:{dir}")]));
    assert_eq!(rc, 0, "{e}");
}

/// A directory with a blank (quoted and \040 forms), and a symbolic link: the real directory
/// is exported, and stop unexports it even after the link was pointed elsewhere.
fn blanks_and_symlinks() {
    let _s = Server::start();
    let dir = format!("{BASE}/my share");
    let _t = Tmpfs::new(&dir);
    for (i, value) in [format!("\"{dir}\""), format!("{BASE}/my\\040share")]
        .iter()
        .enumerate()
    {
        let r = exp(&format!("exp-blank{i}"), "*", value).param("fsid", "13");
        ok(&r, "start");
        assert!(exported(&dir, "*"), "{}", exports());
        assert_eq!(monitor(&r), 0);
        ok(&r, "stop");
        assert!(!exported(&dir, "*"), "{}", exports());
        assert_eq!(monitor(&r), 7);
    }

    let real = format!("{BASE}/real");
    let _r = Tmpfs::new(&real);
    let other = format!("{BASE}/other");
    std::fs::create_dir_all(&other).unwrap();
    let link = format!("{BASE}/link");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let r = exp("exp-link", "127.0.0.0/8", &link).param("fsid", "14");
    ok(&r, "start");
    assert!(exported(&real, "127.0.0.0/8"), "{}", exports());
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&other, &link).unwrap();
    assert_eq!(monitor(&r), 0, "the export did not change with the link");
    ok(&r, "stop");
    assert!(!exported(&real, "127.0.0.0/8"), "{}", exports());
    std::fs::remove_file(&link).unwrap();
    std::fs::remove_dir(&other).unwrap();
}

/// IPv6 addresses and subnets (with and without brackets), the world, wildcards,
/// netgroups, an IPv4 netmask: each one exported to exactly that client and monitored.
fn client_kinds() {
    let _s = Server::start();
    let dir = format!("{BASE}/kinds");
    let _t = Tmpfs::new(&dir);
    for (i, (client, listed)) in [
        ("[::1]", "::1"),
        ("2001:db8::/64", "2001:db8::/64"),
        ("[2001:db8:1::]/48", "2001:db8:1::/48"),
        ("*", "*"),
        ("*.example.com", "*.example.com"),
        ("@ocfrsexp", "@ocfrsexp"),
        ("192.0.2.0/24", "192.0.2.0/24"),
    ]
    .into_iter()
    .enumerate()
    {
        let r = exp(&format!("exp-kind{i}"), client, &dir).param("fsid", "15");
        r.act_probe(Rc::NotRunning);
        ok(&r, "start");
        assert!(exported(&dir, listed), "{client}: {}", exports());
        assert_eq!(monitor(&r), 0, "{client}");
        ok(&r, "stop");
        assert!(!exported(&dir, listed), "{client}: {}", exports());
        assert_eq!(monitor(&r), 7, "{client}");
    }
}

/// Ten resources start at once, each merging its rmtab backup into /var/lib/nfs/rmtab:
/// no line is lost; ten stops at once leave no export.
fn concurrent_starts_keep_rmtab() {
    let _s = Server::start();
    let root = format!("{BASE}/conc");
    let _t = Tmpfs::new(&root);
    let rmtab = Path::new("/var/lib/nfs/rmtab");
    let before = std::fs::read_to_string(rmtab).unwrap_or_default();
    std::fs::write(rmtab, format!("{before}10.8.0.1:/srv/else:0x00000001\n")).unwrap();
    let mut resources = Vec::new();
    for i in 0..10 {
        let dir = format!("{root}/e{i}");
        std::fs::create_dir_all(&dir).unwrap();
        let lines: String = (0..5)
            .map(|k| format!("10.9.{i}.{k}:{dir}:0x00000001\n"))
            .collect();
        std::fs::write(format!("{dir}/.rmtab"), lines).unwrap();
        resources.push(
            exp(&format!("exp-conc{i}"), "127.0.0.0/8", &dir).param("fsid", (100 + i).to_string()),
        );
    }
    let all = |action: &'static str| {
        let handles: Vec<_> = resources
            .iter()
            .cloned()
            .map(|r| std::thread::spawn(move || r.action(action).run()))
            .collect();
        for h in handles {
            let o = h.join().unwrap();
            assert_eq!(o.rc, 0, "concurrent {action}: {o:?}");
        }
    };
    all("start");
    let text = std::fs::read_to_string(rmtab).unwrap();
    for i in 0..10 {
        for k in 0..5 {
            assert!(
                text.contains(&format!("10.9.{i}.{k}:{root}/e{i}:")),
                "line {i}.{k} lost:\n{text}"
            );
        }
    }
    assert!(text.contains("10.8.0.1:/srv/else:"), "{text}");
    assert_eq!(text.lines().count(), before.lines().count() + 51, "{text}");
    for r in &resources {
        assert_eq!(monitor(r), 0);
    }
    all("stop");
    assert!(!exports().contains(&root), "{}", exports());
    std::fs::write(rmtab, before).unwrap();
}

/// Debian's shell ocf-tester and ours pass on our exportfs.
fn ocf_testers() {
    let _s = Server::start();
    let dir = format!("{BASE}/tester");
    let _t = Tmpfs::new(&dir);
    let opts = [
        "-o",
        "clientspec=127.0.0.0/8",
        "-o",
        &format!("directory={dir}"),
        "-o",
        "fsid=16",
        "-o",
        "options=rw,no_root_squash",
    ];
    let (rc, out, err) = sh(Command::new("/usr/sbin/ocf-tester")
        .args(["-n", "exp-tester"])
        .env("OCF_ROOT", "/usr/lib/ocf")
        .args(opts)
        .arg(agent("exportfs")));
    assert_eq!(rc, 0, "shell ocf-tester:\n{out}\n{err}");
    assert!(out.contains("passed all tests"), "{out}");
    let (rc, out, err) = sh(Command::new(our_tester())
        .args(["-n", "exp-tester"])
        .args(opts)
        .arg(agent("exportfs")));
    assert_eq!(rc, 0, "our ocf-tester:\n{out}\n{err}");
    assert!(out.contains("passed all tests"), "{out}");
    assert!(!exports().contains(&dir), "{}", exports());
}

/// An NFS client mounts what the agent exported (v4.2 below an fsid=root pseudo-root, and
/// v3 with a lock) and reads the server's file; mountd's rmtab line for the v3 mount is
/// backed up into the export by monitor; stop after the clients left is 0.
fn client_mounts_v4_and_v3() {
    let _s = Server::start();
    let root = format!("{BASE}/v4root");
    let _tr = Tmpfs::new(&root);
    let dir = format!("{root}/export");
    let _td = Tmpfs::new(&dir);
    let pseudo = exp("exp-v4root", "127.0.0.0/8", &root)
        .param("fsid", "root")
        .param("options", "ro,no_subtree_check");
    let data = exp("exp-data", "127.0.0.0/8", &dir).param("fsid", "17");
    ok(&pseudo, "start");
    ok(&data, "start");
    std::fs::write(format!("{dir}/hello.txt"), "hello from ocfrs-exp\n").unwrap();
    let mnt = "/tmp/ocfrs-exp-mnt";
    for (v, src) in [("4.2", "/export".to_string()), ("3", dir.clone())] {
        let m = format!("{mnt}/v{v}");
        std::fs::create_dir_all(&m).unwrap();
        let rc = guest::run_bounded(
            Command::new("mount")
                .args(["-t", "nfs", "-o", &format!("vers={v},timeo=50,retrans=2")])
                .arg(format!("{GUEST_IP}:{src}"))
                .arg(&m),
            Duration::from_secs(90),
        );
        assert_eq!(rc, Some(0), "mount vers={v} {GUEST_IP}:{src}");
        let text = std::fs::read_to_string(format!("{m}/hello.txt")).unwrap();
        assert_eq!(text, "hello from ocfrs-exp\n", "vers={v}");
    }
    std::fs::write(format!("{mnt}/v4.2/from-client.txt"), "written over v4\n").unwrap();
    assert_eq!(
        std::fs::read_to_string(format!("{dir}/from-client.txt")).unwrap(),
        "written over v4\n"
    );
    let rc = guest::run_bounded(
        Command::new("flock")
            .args(["-w", "30"])
            .arg(format!("{mnt}/v3/hello.txt"))
            .arg("true"),
        Duration::from_secs(60),
    );
    assert_eq!(rc, Some(0), "NFSv3 lock");
    let rmtab = std::fs::read_to_string("/var/lib/nfs/rmtab").unwrap_or_default();
    assert!(
        rmtab.contains(&format!(":{dir}:")),
        "no v3 mount in rmtab:\n{rmtab}"
    );
    assert_eq!(monitor(&data), 0);
    let backup = std::fs::read_to_string(format!("{dir}/.rmtab")).unwrap_or_default();
    assert!(
        backup.contains(&format!(":{dir}:")),
        "monitor did not back rmtab up: {backup:?}"
    );
    for v in ["v3", "v4.2"] {
        let rc = guest::run_bounded(
            Command::new("umount").arg(format!("{mnt}/{v}")),
            Duration::from_secs(60),
        );
        assert_eq!(rc, Some(0), "umount {v}");
    }
    ok(&data, "stop");
    ok(&pseudo, "stop");
    assert!(!exports().contains(&root), "{}", exports());
}

/// rpcbind hung (SIGSTOP, issue 19) under exportfs: nothing exportfs does needs rpcbind
/// (etab, the kernel's export caches), so start, monitor and stop answer 0 inside their
/// budgets and the export really comes and goes.
fn hung_rpcbind() {
    let _s = Server::start();
    let dir = format!("{BASE}/hung");
    let _t = Tmpfs::new(&dir);
    let r = exp("exp-hung", "127.0.0.0/8", &dir)
        .param("fsid", "18")
        .timeout(Duration::from_secs(20));
    let _hung = super::nfsserver::Stopped::new("rpcbind");
    for (action, rc) in [("start", 0), ("monitor", 0), ("stop", 0), ("monitor", 7)] {
        let t = std::time::Instant::now();
        let o = r.clone().action(action).run();
        let took = t.elapsed();
        assert_eq!(o.rc, rc, "{action} with rpcbind hung: {o:?}");
        assert!(took < Duration::from_secs(20), "{action} took {took:?}");
        if action == "start" {
            assert!(exported(&dir, "127.0.0.0/8"), "{}", exports());
        }
    }
    assert!(!exported(&dir, "127.0.0.0/8"), "{}", exports());
}

nfs_cases! {
    "exportfs";
    lifecycle,
    two_clients_one_directory,
    blanks_and_symlinks,
    client_kinds,
    concurrent_starts_keep_rmtab,
    ocf_testers timeout 600,
    client_mounts_v4_and_v3,
    hung_rpcbind,
}
