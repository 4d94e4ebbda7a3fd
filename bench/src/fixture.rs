//! Kernel objects a pair needs, created before its measurements and removed after, by name.
//! Every name carries the prefix `ocfb` (network namespace `ocfb-net`, interfaces `ocfb0`
//! and `ocfb1`); image files and mount points live in the run's scratch directory
//! (`/tmp/ocfb-bench.<pid>`), and loop devices are detached by the path `losetup` returned.

use crate::Side;
use anyhow::{bail, Context as _, Result};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What a pair needs besides a scratch directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fixture {
    /// Nothing.
    None,
    /// A network namespace with a veth pair (`ocfb0` carrying 10.250.0.1/24, peer `ocfb1`),
    /// entered by the runner (network and a private mount namespace with that namespace's
    /// /sys, as `ip netns exec` does) so the agents run in it without a wrapper process.
    /// Variables: `{nic}`, `{ip}` (10.250.0.10 for ours, .11 for the shell agent).
    Netns,
    /// One 64 MiB ext4 image per side on a loop device. Variables: `{dev}`, `{mnt}`.
    LoopExt4,
    /// An sshd configuration and host key in the scratch directory (`ssh-keygen`), one port
    /// per side on 127.0.0.1. Variables: `{sshd_config}`, `{host_keys}` (directory),
    /// `{host_key}` (its ed25519 key), `{port}` (12240 ours, 12241 the shell agent).
    Sshd,
    /// A private apache2 configuration per side in the scratch directory (127.0.0.1, port
    /// 18090 for ours and 18091 for the shell agent, prefork MPM, /server-status under
    /// -DSTATUS, its own PidFile). Variables: `{conf}`, `{port}`. Teardown kills what a side
    /// left running, by the session of the pid in its pid file.
    Apache,
    /// One MariaDB datadir per side, initialised with mariadb-install-db, with a my.cnf
    /// listening on 127.0.0.1 (ports 13390 for ours, 13391 for the shell agent). Servers
    /// the agents leave running are stopped by their pid files at teardown. Variable:
    /// `{myd}` (the side's directory: my.cnf, data/, run/, error.log).
    MariaDb,
    /// A private libvirtd (PID and mount namespaces of its own, its own copies of libvirt's
    /// state) and one 64 MiB TCG domain XML per side ([`crate::libvirt`]). Variables:
    /// `{config}`, `{uri}`.
    Libvirt,
}

const NETNS: &str = "ocfb-net";

/// A set-up fixture.
pub struct Active {
    vars: [Vec<(String, String)>; 2],
    netns: Option<Entered>,
    loops: Vec<(PathBuf, PathBuf)>,
    apache_pidfiles: Vec<PathBuf>,
    mysql_pidfiles: Vec<PathBuf>,
    libvirt: Option<crate::libvirt::Host>,
}

fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn ip(args: &[&str]) -> Result<String> {
    run(Command::new("ip").args(args))
}

impl Fixture {
    /// Create the fixture's objects (and enter its namespaces).
    pub fn setup(self, dir: &Path) -> Result<Active> {
        let mut active = Active {
            vars: [Vec::new(), Vec::new()],
            netns: None,
            loops: Vec::new(),
            apache_pidfiles: Vec::new(),
            mysql_pidfiles: Vec::new(),
            libvirt: None,
        };
        match self {
            Fixture::None => {}
            Fixture::Libvirt => {
                let (host, vars) = crate::libvirt::setup(dir)?;
                active.libvirt = Some(host);
                active.vars = vars;
            }
            Fixture::Netns => {
                // A namespace left by an interrupted run of ours: same name, ours to remove.
                if Path::new("/run/netns").join(NETNS).exists() {
                    let _ = ip(&["netns", "delete", NETNS]);
                }
                ip(&["netns", "add", NETNS])?;
                let steps: &[&[&str]] = &[
                    &[
                        "link", "add", "ocfb0", "type", "veth", "peer", "name", "ocfb1",
                    ],
                    &["addr", "add", "10.250.0.1/24", "dev", "ocfb0"],
                    &["link", "set", "lo", "up"],
                    &["link", "set", "ocfb0", "up"],
                    &["link", "set", "ocfb1", "up"],
                ];
                for s in steps {
                    let mut args = vec!["-n", NETNS];
                    args.extend_from_slice(s);
                    if let Err(e) = ip(&args) {
                        let _ = ip(&["netns", "delete", NETNS]);
                        return Err(e);
                    }
                }
                match enter_netns(NETNS) {
                    Ok(e) => active.netns = Some(e),
                    Err(e) => {
                        let _ = ip(&["netns", "delete", NETNS]);
                        return Err(e);
                    }
                }
                for side in [Side::Ours, Side::Shell] {
                    let v = &mut active.vars[side.index()];
                    v.push(("nic".into(), "ocfb0".into()));
                    v.push(("ip".into(), format!("10.250.0.{}", 10 + side.index())));
                }
            }
            Fixture::MariaDb => {
                for side in [Side::Ours, Side::Shell] {
                    let d = dir.join(format!("mysql-{}", side.name()));
                    let _ = std::fs::remove_dir_all(&d);
                    std::fs::create_dir_all(d.join("data"))?;
                    std::fs::create_dir_all(d.join("run"))?;
                    run(Command::new("chown").args(["-R", "mysql:mysql"]).arg(&d))?;
                    let cnf = d.join("my.cnf");
                    std::fs::write(
                        &cnf,
                        format!(
                            "[mysqld]\nport={}\nbind-address=127.0.0.1\nskip-log-bin\n",
                            13390 + side.index()
                        ),
                    )?;
                    run(Command::new("mariadb-install-db")
                        .arg(format!("--defaults-file={}", cnf.display()))
                        .arg(format!("--datadir={}", d.join("data").display()))
                        .args(["--user=mysql", "--skip-test-db"]))?;
                    active.mysql_pidfiles.push(d.join("run/mysqld.pid"));
                    active.vars[side.index()].push(("myd".into(), d.display().to_string()));
                }
            }
            Fixture::LoopExt4 => {
                for side in [Side::Ours, Side::Shell] {
                    let img = dir.join(format!("fs-{}.img", side.name()));
                    let mnt = dir.join(format!("mnt-{}", side.name()));
                    std::fs::create_dir_all(&mnt)?;
                    let f = std::fs::File::create(&img)?;
                    f.set_len(64 << 20)?;
                    drop(f);
                    run(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&img))?;
                    let dev =
                        match run(Command::new("losetup").args(["--find", "--show"]).arg(&img)) {
                            Ok(d) => PathBuf::from(d),
                            Err(e) => {
                                active.teardown();
                                return Err(e);
                            }
                        };
                    active.loops.push((dev.clone(), mnt.clone()));
                    let v = &mut active.vars[side.index()];
                    v.push(("dev".into(), dev.display().to_string()));
                    v.push(("mnt".into(), mnt.display().to_string()));
                }
            }
            Fixture::Sshd => {
                let keys = dir.join("ssh-keys");
                std::fs::create_dir_all(&keys)?;
                let key = keys.join("ssh_host_ed25519_key");
                if !key.exists() {
                    run(Command::new("ssh-keygen")
                        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                        .arg(&key))?;
                }
                let conf = dir.join("sshd_config");
                std::fs::write(
                    &conf,
                    "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n",
                )?;
                std::fs::create_dir_all("/run/sshd")?;
                for side in [Side::Ours, Side::Shell] {
                    let v = &mut active.vars[side.index()];
                    v.push(("sshd_config".into(), conf.display().to_string()));
                    v.push(("host_keys".into(), keys.display().to_string()));
                    v.push(("host_key".into(), key.display().to_string()));
                    v.push(("port".into(), (12240 + side.index()).to_string()));
                }
            }
            Fixture::Apache => {
                for side in [Side::Ours, Side::Shell] {
                    let port = 18090 + side.index();
                    let d = dir.join(format!("apache-{}", side.name()));
                    std::fs::create_dir_all(d.join("htdocs"))?;
                    std::fs::create_dir_all(d.join("run"))?;
                    std::fs::write(d.join("htdocs/index.html"), "<html>ocfb</html>\n")?;
                    let conf = d.join("httpd.conf");
                    std::fs::write(&conf, apache_conf(&d, port))?;
                    active.apache_pidfiles.push(d.join("run/httpd.pid"));
                    let v = &mut active.vars[side.index()];
                    v.push(("conf".into(), conf.display().to_string()));
                    v.push(("port".into(), port.to_string()));
                }
            }
        }
        Ok(active)
    }
}

impl Active {
    /// The template variables for one side.
    pub fn vars(&self, side: Side) -> &[(String, String)] {
        &self.vars[side.index()]
    }

    /// Remove what [`Fixture::setup`] created; errors are reported, not fatal.
    pub fn teardown(&mut self) {
        if let Some(mut h) = self.libvirt.take() {
            h.teardown();
        }
        for pf in self.apache_pidfiles.drain(..) {
            kill_session_of(&pf);
        }
        if let Some(e) = self.netns.take() {
            if let Err(err) = e.leave() {
                eprintln!("ocfrs-bench: leaving {NETNS}: {err:#}");
            }
            if let Err(err) = ip(&["netns", "delete", NETNS]) {
                eprintln!("ocfrs-bench: {err:#}");
            }
        }
        for pf in self.mysql_pidfiles.drain(..) {
            // A server an interrupted run left behind: TERM by its pid file, then KILL.
            let pid = std::fs::read_to_string(&pf)
                .ok()
                .and_then(|t| t.trim().parse::<i32>().ok());
            if let Some(pid) = pid.filter(|p| *p > 1) {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe { libc::kill(pid, libc::SIGTERM) };
                for _ in 0..100 {
                    // SAFETY: as above (signal 0 only checks existence).
                    if unsafe { libc::kill(pid, 0) } != 0 {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                // SAFETY: as above.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        for (dev, mnt) in self.loops.drain(..) {
            if is_mountpoint(&mnt) {
                let _ = run(Command::new("umount").arg(&mnt));
            }
            if let Err(err) = run(Command::new("losetup").arg("-d").arg(&dev)) {
                eprintln!("ocfrs-bench: {err:#}");
            }
        }
    }
}

fn apache_conf(d: &Path, port: usize) -> String {
    let d = d.display();
    let m = "/usr/lib/apache2/modules";
    format!(
        "ServerRoot \"{d}\"\nServerName localhost\nListen 127.0.0.1:{port}\n\
         PidFile \"{d}/run/httpd.pid\"\nDefaultRuntimeDir \"{d}/run\"\nMutex file:{d}/run default\n\
         ErrorLog \"{d}/error.log\"\nLogLevel warn\nUser www-data\nGroup www-data\n\
         LoadModule mpm_prefork_module {m}/mod_mpm_prefork.so\n\
         LoadModule authz_core_module {m}/mod_authz_core.so\n\
         LoadModule authz_host_module {m}/mod_authz_host.so\n\
         LoadModule dir_module {m}/mod_dir.so\nLoadModule status_module {m}/mod_status.so\n\
         StartServers 2\nDocumentRoot \"{d}/htdocs\"\nDirectoryIndex index.html\n\
         <Directory \"{d}/htdocs\">\n  Require all granted\n</Directory>\n\
         <IfDefine STATUS>\n<Location /server-status>\n  SetHandler server-status\n  Require local\n\
         </Location>\n</IfDefine>\n"
    )
}

/// SIGKILL every process in the session of the pid `pidfile` names (apache leads its own
/// session), if that pid still runs; never by name.
fn kill_session_of(pidfile: &Path) {
    let Some(pid) = std::fs::read_to_string(pidfile)
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok())
        .filter(|p| *p > 1)
    else {
        return;
    };
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return;
    };
    for e in rd.flatten() {
        let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // Fields after the command name (which may hold spaces): state ppid pgrp session.
        let sid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(3))
            .and_then(|s| s.parse::<i32>().ok());
        if sid == Some(pid) {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe {
                libc::kill(p, libc::SIGKILL);
            }
        }
    }
}

/// Whether `path` is a mount point of this mount namespace.
pub fn is_mountpoint(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = path.display().to_string();
    text.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|m| m == want)
}

/// The runner's own namespaces, kept to return to.
struct Entered {
    net: OwnedFd,
    mnt: OwnedFd,
    cwd: PathBuf,
}

fn open_fd(path: &Path) -> Result<OwnedFd> {
    Ok(OwnedFd::from(
        std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?,
    ))
}

fn setns(fd: &OwnedFd, kind: libc::c_int, what: &str) -> Result<()> {
    // SAFETY: setns only reads the descriptor; the runner is single-threaded, as entering a
    // mount namespace requires.
    if unsafe { libc::setns(fd.as_raw_fd(), kind) } != 0 {
        bail!("setns {what}: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

fn cstr(s: &str) -> Result<CString> {
    Ok(CString::new(s)?)
}

fn enter_netns(name: &str) -> Result<Entered> {
    let saved = Entered {
        net: open_fd(Path::new("/proc/self/ns/net"))?,
        mnt: open_fd(Path::new("/proc/self/ns/mnt"))?,
        cwd: std::env::current_dir()?,
    };
    let target = open_fd(&Path::new("/run/netns").join(name))?;
    setns(&target, libc::CLONE_NEWNET, name)?;
    // A private mount namespace whose /sys shows this network namespace's interfaces.
    let sysfs = || -> Result<()> {
        // SAFETY: plain syscalls on valid C strings.
        unsafe {
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                bail!("unshare mount ns: {}", std::io::Error::last_os_error());
            }
            let root = cstr("/")?;
            if libc::mount(
                std::ptr::null(),
                root.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_SLAVE,
                std::ptr::null(),
            ) != 0
            {
                bail!("make / rslave: {}", std::io::Error::last_os_error());
            }
            let sys = cstr("/sys")?;
            let fstype = cstr("sysfs")?;
            let source = cstr("ocfb-sysfs")?;
            if libc::umount2(sys.as_ptr(), libc::MNT_DETACH) != 0 {
                bail!("umount /sys: {}", std::io::Error::last_os_error());
            }
            if libc::mount(
                source.as_ptr(),
                sys.as_ptr(),
                fstype.as_ptr(),
                0,
                std::ptr::null(),
            ) != 0
            {
                bail!("mount sysfs: {}", std::io::Error::last_os_error());
            }
        }
        Ok(())
    };
    if let Err(e) = sysfs() {
        let _ = saved.leave_ref();
        return Err(e);
    }
    Ok(saved)
}

impl Entered {
    fn leave_ref(&self) -> Result<()> {
        setns(
            &self.mnt,
            libc::CLONE_NEWNS,
            "back to the runner's mount namespace",
        )?;
        setns(
            &self.net,
            libc::CLONE_NEWNET,
            "back to the runner's network namespace",
        )?;
        std::env::set_current_dir(&self.cwd)?;
        Ok(())
    }

    fn leave(self) -> Result<()> {
        self.leave_ref()
    }
}
