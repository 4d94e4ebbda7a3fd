//! The NFS guest: one QEMU boot of Debian's own kernel runs every NFS case of the suite.
//!
//! This host's kernel has no nfsd, sunrpc, rpc_pipefs or NFS client, so the NFS tests run in a
//! guest: virtme-ng (a venv under /var/cache/ocfrs-tests, installed by `tests/run.sh setup`,
//! with a static busybox beside it for the initramfs)
//! boots `/boot/vmlinuz-*` (linux-image-amd64) under QEMU, pure emulation unless
//! `OCFRS_NFS_KVM=1` and /dev/kvm is usable. The guest sees the host's root filesystem
//! read-only with throw-away overlays on /etc, /usr, /var, /tmp, /srv ..., so this very test
//! binary, the agents and Debian's shell agents run in it unchanged, and nothing the cases do
//! reaches the host. The guest has no network card: NFS traffic stays on its loopback.
//!
//! # How one boot runs many cases
//! 1. On the host, the first `nfs::…::in_guest::<case>` test to run boots the guest once
//!    ([`boot`], shared by every case test of this process through a `OnceLock`), with a
//!    deadline (`OCFRS_NFS_GUEST_TIMEOUT`, 2400 s by default) after which vng and QEMU are
//!    killed by process group and QEMU's own pid file.
//! 2. In the guest, this test binary runs again as [`guest_main`]: it prepares the guest
//!    ([`prepare`]: nfsd/nfs modules, short NFSv4 lease and grace, a hostname), then runs each
//!    registered case as a child process of its own ([`case_main`]), one after the other, with
//!    the case's deadline (killed by process group when it passes), its stdout and stderr in
//!    a log file. Exit status, log and time of every case come back to the host through a
//!    directory shared read-write with it (`/tmp/ocfrs-nfs-guest-<pid>/out`).
//! 3. Each host test asserts its own case's exit status and prints its log: `cargo test` lists
//!    every case by name. A guest that cannot boot, or a case that did not run, fails every
//!    case test with the reason and the end of the guest console; nothing is skipped silently.
//!
//! # Adding a test family (exportfs, Filesystem as an NFS client, ...)
//! Write `tests/nfs/<family>.rs` whose cases are plain functions that panic on failure (the
//! usual `assert!`s), run as root inside the guest, and leave the guest as they found it
//! (later cases run in the same guest). At the end of the file declare them:
//!
//! ```ignore
//! nfs_cases! {
//!     "exportfs";                 // family name, the prefix of every case name
//!     start_monitor_stop,         // 300 s deadline by default
//!     ocf_tester_ours timeout 600,
//! }
//! ```
//!
//! then add `mod <family>;` and `<family>::CASES` to [`super::FAMILIES`] in `tests/nfs/mod.rs`.
//! The macro makes the registry entry and one host test per case:
//! `cargo test -p ocfrs-agents --features root-tests --test integration nfs::` runs them all in
//! one boot; `OCFRS_NFS_CASES=exportfs::` (comma-separated substrings) runs only the matching
//! cases in the guest (the others' host tests then fail, saying so); `!substring` leaves
//! matching cases out. Cases run in the order of
//! `FAMILIES`, then of the macro list. Guest helpers for cases: [`GUEST_IP`], [`start_rpcbind`],
//! [`pid_of`], [`stop_pid`], [`tmpfs`], [`run_bounded`].
//!
//! Files the host creates while the guest runs may not show up inside it: build everything
//! before (tests/run.sh builds every binary first).
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A case run inside the guest.
pub struct Case {
    /// `family::case`, as the host test is named.
    pub name: &'static str,
    /// The case: panics on failure.
    pub run: fn(),
    /// Its deadline inside the guest, in seconds.
    pub timeout_secs: u64,
}

/// The address NFS clients use in the guest (on `lo`, as is every 127/8 address).
pub const GUEST_IP: &str = "127.0.0.2";
/// Where virtme-ng lives (tests/run.sh setup installs it there).
const VENV: &str = "/var/cache/ocfrs-tests/virtme-ng";
/// A static busybox for the guest's initramfs (tests/run.sh unpacks busybox-static there).
const BUSYBOX: &str = "/var/cache/ocfrs-tests/busybox-static/bin/busybox";
const ENV_OUT: &str = "OCFRS_NFS_GUEST_OUT";
const ENV_CASE: &str = "OCFRS_NFS_CASE";
const ENV_FILTER: &str = "OCFRS_NFS_CASES";

/// Declares a family's cases: see the module documentation.
macro_rules! nfs_cases {
    ($family:literal; $($name:ident $(timeout $secs:literal)?),* $(,)?) => {
        /// This family's cases, run inside the NFS guest (tests/nfs/guest.rs).
        pub const CASES: &[crate::nfs::guest::Case] = &[$(
            crate::nfs::guest::Case {
                name: concat!($family, "::", stringify!($name)),
                run: $name,
                timeout_secs: crate::nfs::guest::nfs_cases!(@secs $($secs)?),
            },
        )*];
        /// One host test per case: asserts the result the guest brought back.
        mod in_guest {
            $(
                #[test]
                #[cfg_attr(not(feature = "root-tests"), ignore = "boots a QEMU guest: needs root-tests (tests/run.sh test)")]
                fn $name() {
                    crate::nfs::guest::host_case(concat!($family, "::", stringify!($name)));
                }
            )*
        }
    };
    (@secs) => { 300 };
    (@secs $s:literal) => { $s };
}
pub(crate) use nfs_cases;

/// Whether this process runs inside the NFS guest (as a case).
pub fn in_guest() -> bool {
    std::env::var_os(ENV_CASE).is_some()
}

// ------------------------------------------------------------------------------ host side

/// What one boot brought back.
#[derive(Debug)]
pub struct GuestRun {
    /// Per case: exit code (None: killed at its deadline), log, seconds.
    pub cases: BTreeMap<String, (Option<i32>, String, f64)>,
    /// Why the guest did not complete, if it did not.
    pub failure: Option<String>,
    /// The guest console (vng's stdout and stderr).
    pub console: String,
    /// Boot to shutdown, seconds.
    pub seconds: f64,
    /// Where the results were (kept when something failed).
    pub state: PathBuf,
}

/// The result of the one boot of this test process (booting it on first use).
pub fn boot() -> &'static GuestRun {
    static RUN: OnceLock<GuestRun> = OnceLock::new();
    RUN.get_or_init(boot_now)
}

/// The host test of case `name`: fails with the case's log unless it exited 0 in the guest.
pub fn host_case(name: &str) {
    let run = boot();
    let tail = console_tail(&run.console, 40);
    if let Some(why) = &run.failure {
        if !run.cases.contains_key(name) {
            panic!(
                "NFS guest failed before case {name} ran: {why}\n(results in {})\n--- guest console (end) ---\n{tail}",
                run.state.display()
            );
        }
    }
    let Some((rc, log, secs)) = run.cases.get(name) else {
        panic!(
            "case {name} did not run in the guest (excluded by {ENV_FILTER}={:?}?; guest took {:.0} s)\n--- guest console (end) ---\n{tail}",
            std::env::var(ENV_FILTER).unwrap_or_default(),
            run.seconds
        );
    };
    println!("--- {name} in the NFS guest: exit {rc:?} after {secs:.1} s (guest boot to shutdown {:.0} s) ---\n{log}", run.seconds);
    match rc {
        Some(0) => {}
        Some(c) => panic!("case {name} failed in the NFS guest (exit {c}); its log is above"),
        None => panic!(
            "case {name} passed its deadline in the NFS guest and was killed; its log is above"
        ),
    }
}

fn console_tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The newest /boot/vmlinuz-* whose modules include nfsd.
fn kernel() -> Result<PathBuf, String> {
    let mut best: Option<(String, PathBuf)> = None;
    for e in std::fs::read_dir("/boot")
        .map_err(|e| format!("/boot: {e}"))?
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(ver) = name.strip_prefix("vmlinuz-") else {
            continue;
        };
        let nfsd = Path::new("/lib/modules").join(ver).join("kernel/fs/nfsd");
        let has = std::fs::read_dir(&nfsd)
            .map(|d| {
                d.flatten()
                    .any(|f| f.file_name().to_string_lossy().starts_with("nfsd.ko"))
            })
            .unwrap_or(false);
        if has && best.as_ref().is_none_or(|(v, _)| ver > v.as_str()) {
            best = Some((ver.to_string(), e.path()));
        }
    }
    best.map(|(_, p)| p).ok_or_else(|| {
        "no /boot/vmlinuz-* with an nfsd module: install linux-image-amd64 (tests/run.sh setup)"
            .into()
    })
}

fn boot_now() -> GuestRun {
    let state = std::env::temp_dir().join(format!("ocfrs-nfs-guest-{}", std::process::id()));
    let mut run = GuestRun {
        cases: BTreeMap::new(),
        failure: None,
        console: String::new(),
        seconds: 0.0,
        state: state.clone(),
    };
    if let Err(e) = boot_into(&state, &mut run) {
        run.failure = Some(e);
    }
    if run.failure.is_none() && run.cases.values().all(|(rc, _, _)| *rc == Some(0)) {
        let _ = std::fs::remove_dir_all(&state);
    }
    run
}

fn boot_into(state: &Path, run: &mut GuestRun) -> Result<(), String> {
    let vng = std::env::var_os("OCFRS_NFS_VNG")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(VENV).join("bin/vng"));
    if !vng.exists() {
        return Err(format!(
            "{} missing: run `bash tests/run.sh setup` (virtme-ng venv)",
            vng.display()
        ));
    }
    let kernel = kernel()?;
    let busybox = Path::new(BUSYBOX);
    if !busybox.exists() {
        return Err(format!(
            "{BUSYBOX} missing: run `bash tests/run.sh setup` (static busybox for the initramfs)"
        ));
    }
    let out = state.join("out");
    let _ = std::fs::remove_dir_all(state);
    std::fs::create_dir_all(out.join("cases")).map_err(|e| format!("{}: {e}", out.display()))?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    // The command reaches the guest on the kernel command line (short); the environment
    // travels in this script, in the shared directory.
    let script = out.join("guest.sh");
    let q = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let filter = std::env::var(ENV_FILTER)
        .unwrap_or_default()
        .replace('\'', "");
    std::fs::write(
        &script,
        format!(
            "cd {cwd} || exit 1\nexport PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin RUST_BACKTRACE=1 \
             {ENV_OUT}={out} {ENV_FILTER}='{filter}'\nexec {exe} --exact nfs::guest::guest_main --include-ignored --nocapture --test-threads=1\n",
            cwd = q(&cwd),
            out = q(&out),
            exe = q(&exe),
        ),
    )
    .map_err(|e| format!("{}: {e}", script.display()))?;
    let pidfile = out.join("qemu.pid");
    let mut cmd = Command::new(&vng);
    cmd.arg("--run").arg(&kernel).arg("--busybox").arg(busybox);
    let kvm = std::env::var("OCFRS_NFS_KVM").as_deref() == Ok("1")
        && nix::unistd::access("/dev/kvm", nix::unistd::AccessFlags::W_OK).is_ok();
    if !kvm {
        cmd.arg("--disable-kvm");
    }
    cmd.args(["--memory", "2G", "--cpus", "2", "--rwdir"])
        .arg(&out)
        // a virtio RNG: without one, the first getrandom() of a TCG guest can wait a minute
        .arg(format!(
            "--qemu-opts=-pidfile {} -device virtio-rng-pci",
            pidfile.display()
        ))
        .arg("--exec")
        .arg(format!("sh {}", q(&script)))
        .env(
            "PATH",
            format!("{}/bin:{}", VENV, std::env::var("PATH").unwrap_or_default()),
        )
        .stdin(Stdio::null())
        // QEMU reopens /proc/self/fd/1 and 2: regular files would overwrite each other, pipes don't.
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let timeout = Duration::from_secs(
        std::env::var("OCFRS_NFS_GUEST_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2400),
    );
    eprintln!(
        "nfs guest: booting {} (kvm: {kvm}, deadline {} s)",
        kernel.display(),
        timeout.as_secs()
    );
    let t0 = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", vng.display()))?;
    let console = Arc::new(Mutex::new(String::new()));
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut r| {
        let console = console.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = r.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let s = String::from_utf8_lossy(&buf[..n]);
                eprint!("{s}");
                console.lock().unwrap().push_str(&s);
            }
        })
    })
    .collect();
    let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(st);
        }
        if t0.elapsed() > timeout {
            timed_out = true;
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // Whatever happened: nothing of this boot survives it (by group and QEMU's pid file).
    let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGTERM);
    kill_qemu(&pidfile);
    if status.is_none() {
        std::thread::sleep(Duration::from_secs(2));
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        let _ = child.wait();
    }
    for r in readers {
        let _ = r.join();
    }
    run.seconds = t0.elapsed().as_secs_f64();
    run.console = console.lock().unwrap().clone();
    collect(&out, run);
    if timed_out {
        return Err(format!(
            "guest killed after its {} s deadline",
            timeout.as_secs()
        ));
    }
    if !out.join("done").exists() {
        return Err(format!(
            "the guest did not finish its cases (vng exit {:?}): see the console",
            status.and_then(|s| s.code())
        ));
    }
    if let Ok(why) = std::fs::read_to_string(out.join("prepare-failed")) {
        return Err(format!("guest preparation failed: {why}"));
    }
    Ok(())
}

/// QEMU by its pid file, only if that process is still the QEMU we started.
fn kill_qemu(pidfile: &Path) {
    let Some(pid) = std::fs::read_to_string(pidfile)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
    else {
        return;
    };
    let ours = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains(&*pidfile.to_string_lossy()))
        .unwrap_or(false);
    if ours {
        let pid = nix::unistd::Pid::from_raw(pid);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        std::thread::sleep(Duration::from_secs(1));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    }
}

fn collect(out: &Path, run: &mut GuestRun) {
    let Ok(dir) = std::fs::read_dir(out.join("cases")) else {
        return;
    };
    for e in dir.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "rc") {
            let name = p
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .replace("--", "::");
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let mut it = text.split_whitespace();
            let rc = it.next().and_then(|s| s.parse().ok());
            let secs = it.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
            let log = std::fs::read_to_string(p.with_extension("log")).unwrap_or_default();
            run.cases.insert(name, (rc, log, secs));
        }
    }
}

// ------------------------------------------------------------------------------ guest side

/// The guest's entry point (this binary re-run inside the guest by [`boot`]).
#[test]
#[ignore = "entry point inside the NFS guest, run by nfs::guest::boot; fails anywhere else"]
fn guest_main() {
    let out = PathBuf::from(
        std::env::var_os(ENV_OUT).expect("nfs::guest::guest_main runs only inside the NFS guest"),
    );
    assert_eq!(
        std::fs::read_to_string("/proc/1/comm")
            .unwrap_or_default()
            .trim(),
        "virtme-ng-init",
        "refusing to prepare a machine that is not the NFS guest"
    );
    eprintln!(
        "nfs guest: kernel {}",
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
    );
    if let Err(e) = prepare() {
        std::fs::write(out.join("prepare-failed"), &e).unwrap();
        std::fs::write(out.join("done"), "").unwrap();
        panic!("guest preparation failed: {e}");
    }
    let filters: Vec<String> = std::env::var(ENV_FILTER)
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let exe = std::env::current_exe().unwrap();
    for case in super::FAMILIES.iter().flat_map(|f| f.iter()) {
        // `!substring` leaves matching cases out (tests/run.sh runs the NFS service group
        // as a stage of its own); the others select.
        let (skip, want): (Vec<&String>, Vec<&String>) =
            filters.iter().partition(|f| f.starts_with('!'));
        if skip.iter().any(|f| case.name.contains(&f[1..]))
            || (!want.is_empty() && !want.iter().any(|f| case.name.contains(f.as_str())))
        {
            continue;
        }
        let file = case.name.replace("::", "--");
        let log = out.join("cases").join(format!("{file}.log"));
        let rc_file = out.join("cases").join(format!("{file}.rc"));
        let logf = std::fs::File::create(&log).unwrap();
        let t = Instant::now();
        let rc = run_bounded(
            Command::new(&exe)
                .args([
                    "--exact",
                    "nfs::guest::case_main",
                    "--include-ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(ENV_CASE, case.name)
                .stdin(Stdio::null())
                .stdout(logf.try_clone().unwrap())
                .stderr(logf),
            Duration::from_secs(case.timeout_secs),
        );
        let secs = t.elapsed().as_secs_f64();
        let shown = rc.map_or("killed at deadline".to_string(), |c| format!("exit {c}"));
        eprintln!("nfs guest: {:<50} {shown} ({secs:.1} s)", case.name);
        std::fs::write(
            &rc_file,
            format!(
                "{} {secs:.1}\n",
                rc.map_or("timeout".into(), |c| c.to_string())
            ),
        )
        .unwrap();
    }
    std::fs::write(out.join("done"), "").unwrap();
}

/// One case, in a process of its own inside the guest.
#[test]
#[ignore = "entry point of one NFS case inside the guest, run by nfs::guest::guest_main; fails anywhere else"]
fn case_main() {
    let name =
        std::env::var(ENV_CASE).expect("nfs::guest::case_main runs only inside the NFS guest");
    let case = super::FAMILIES
        .iter()
        .flat_map(|f| f.iter())
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no NFS case {name}"));
    (case.run)();
}

/// Runs `cmd` in a process group of its own; kills the group at `limit`. None: killed.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Option<i32> {
    let mut child = cmd
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let t = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return Some(
                st.code().unwrap_or(
                    128 + std::os::unix::process::ExitStatusExt::signal(&st).unwrap_or(0),
                ),
            );
        }
        if t.elapsed() > limit {
            let pg = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::killpg(pg, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What a freshly booted NFS node has: the modules, a hostname, short NFSv4 lease and grace
/// (the first OPENs after a start wait for the whole grace period, 90 s by default).
/// rpcbind is installed but not started: agents start it (or cases with [`start_rpcbind`]).
fn prepare() -> Result<(), String> {
    let _ = Command::new("modprobe").arg("virtio_rng").status();
    let t = Instant::now();
    let mut b = [0u8; 16];
    // SAFETY: getrandom writes at most b.len() bytes into b.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    eprintln!(
        "nfs guest: kernel random pool ready after {:.1} s ({n})",
        t.elapsed().as_secs_f64()
    );
    for m in ["sunrpc", "nfsd", "nfs", "nfsv3", "nfsv4"] {
        let st = Command::new("modprobe")
            .arg(m)
            .status()
            .map_err(|e| format!("modprobe: {e}"))?;
        if !st.success() {
            return Err(format!("modprobe {m} failed ({st})"));
        }
    }
    nix::unistd::sethostname("ocfrs-nfs-guest").map_err(|e| format!("sethostname: {e}"))?;
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    std::fs::write(
        "/etc/hosts",
        format!("{hosts}127.0.1.1 ocfrs-nfs-guest\n{GUEST_IP} ocfrs-nfs-ha\n"),
    )
    .map_err(|e| format!("/etc/hosts: {e}"))?;
    let conf =
        std::fs::read_to_string("/etc/nfs.conf").map_err(|e| format!("/etc/nfs.conf: {e}"))?;
    let conf: String = conf
        .lines()
        .map(|l| match l.trim_start_matches(['#', ' ']) {
            s if s.starts_with("grace-time=") => "grace-time=10".to_string(),
            s if s.starts_with("lease-time=") => "lease-time=10".to_string(),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write("/etc/nfs.conf", conf + "\n").map_err(|e| format!("/etc/nfs.conf: {e}"))?;
    serve_from_memory()?;
    for bin in [
        "/usr/sbin/rpcbind",
        "/usr/sbin/rpc.nfsd",
        "/usr/sbin/rpc.mountd",
        "/usr/sbin/rpc.statd",
    ] {
        if !Path::new(bin).exists() {
            return Err(format!("{bin} missing: install nfs-kernel-server, nfs-common, rpcbind (tests/run.sh setup)"));
        }
    }
    Ok(())
}

/// The guest's root is the host's, shared over 9p without caching (virtme-ng): a file that
/// no live process holds is looked up again and read over 9p, one request per page fault, at
/// every use. Every case copies the agents' debug binary (70 MB) into its provider directory
/// and runs it, and the ocf-tester cases run ours: measured in the guest under load, the
/// copy took 8.5 s and a `--list` 1.5-4.2 s from 9p, 1.0 s and 0.1-0.5 s from memory. So the
/// guest reads those two binaries over 9p once, into its own tmpfs, and bind-mounts the
/// copies over their paths (in the guest's mount table only; the host's files are untouched).
/// The cases guest::, exportfs:: and bench:: (2 shared cores, 2026-12-01): guest boot to
/// shutdown 232 s without this, 200 s and 186 s with it (the copy itself 2.3 s).
fn serve_from_memory() -> Result<(), String> {
    let agents = crate::common::agents_bin();
    let dir = Path::new("/run/ocfrs-nfs-bin");
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let t = Instant::now();
    for bin in [agents.clone(), agents.with_file_name("ocf-tester")] {
        if !bin.exists() {
            continue; // cases that need it say so (crate::common::our_tester)
        }
        let copy = dir.join(bin.file_name().unwrap_or_default());
        std::fs::copy(&bin, &copy)
            .map_err(|e| format!("copy {} to {}: {e}", bin.display(), copy.display()))?;
        let st = Command::new("mount")
            .arg("--bind")
            .arg(&copy)
            .arg(&bin)
            .status()
            .map_err(|e| format!("mount: {e}"))?;
        if !st.success() {
            return Err(format!(
                "mount --bind {} {}: {st}",
                copy.display(),
                bin.display()
            ));
        }
    }
    eprintln!(
        "nfs guest: agents and ocf-tester binaries served from memory ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Starts rpcbind (`-w`) if it is not running; returns its pid when this call started it
/// (stop it with [`stop_pid`]).
#[allow(dead_code)] // for families that need rpcbind without a server (exportfs, clients)
pub fn start_rpcbind() -> Option<i32> {
    if let Some(pid) = pid_of("rpcbind") {
        eprintln!("rpcbind already runs (pid {pid})");
        return None;
    }
    let t = Instant::now();
    let st = Command::new("/usr/sbin/rpcbind")
        .arg("-w")
        .status()
        .expect("run rpcbind");
    assert!(st.success(), "rpcbind -w: {st}");
    let pid = pid_of("rpcbind").expect("rpcbind exited after it started");
    eprintln!(
        "rpcbind started (pid {pid}) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Some(pid)
}

/// The pid of the (first) process whose comm is `comm`.
pub fn pid_of(comm: &str) -> Option<i32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let c = std::fs::read_to_string(e.path().join("comm")).ok()?;
        (c.trim_end() == comm).then_some(pid)
    })
}

/// SIGTERM then (after 5 s) SIGKILL to `pid`; waits until it is gone (or a zombie: reap
/// your own children).
pub fn stop_pid(pid: i32) {
    let p = nix::unistd::Pid::from_raw(pid);
    let _ = nix::sys::signal::kill(p, nix::sys::signal::Signal::SIGTERM);
    let t = Instant::now();
    let gone = || {
        // a zombie (an unreaped child of the caller) counts as gone
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                s.rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().next())
                    == Some("Z")
            })
            .unwrap_or(true)
    };
    while !gone() {
        if t.elapsed() > Duration::from_secs(5) {
            let _ = nix::sys::signal::kill(p, nix::sys::signal::Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Mounts a tmpfs of `size` (e.g. "64m") on `dir` (created). nfsd cannot export the guest's
/// overlays or 9p: exported trees are tmpfs (with an `fsid=`) or loop filesystems.
#[allow(dead_code)] // for the families that export trees (exportfs, Filesystem as a client)
pub fn tmpfs(dir: &Path, size: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "ocfrs-nfs"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(st.success(), "mount tmpfs on {}: {st}", dir.display());
}

/// The guest itself: the kernel pieces every family relies on.
fn kernel_has_nfsd() {
    assert!(in_guest());
    let fs = std::fs::read_to_string("/proc/filesystems").unwrap();
    for want in ["nfsd", "rpc_pipefs", "nfs", "nfs4"] {
        assert!(
            fs.lines()
                .any(|l| l.split_whitespace().last() == Some(want)),
            "{want} not in /proc/filesystems:\n{fs}"
        );
    }
    let conf = std::fs::read_to_string("/etc/nfs.conf").unwrap();
    assert!(
        conf.lines().any(|l| l == "lease-time=10"),
        "lease time not set:\n{conf}"
    );
}

nfs_cases! {
    "guest";
    kernel_has_nfsd,
}
