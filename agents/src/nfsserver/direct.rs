//! Direct mode: the agent runs the server's daemons and the kernel server itself, each with a
//! deadline and a readiness check (registered with rpcbind, process alive, threads > 0).

use super::rpcbind;
use super::state::{running, threads, DAEMONS};
use super::{infodir, Config};
use ocf::daemon::{Daemon, Ready};
use ocf::process::{stop_processes, Cmd, ExeSnapshot, Proc, ProcRef};
use ocf::{cluster, Context, Deadline, Error, Result};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::Duration;

const PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

fn registered(prog: u32, vers: u32) -> bool {
    let d = Deadline::after(Duration::from_secs(1));
    rpcbind::getport(rpcbind::local(), prog, vers, d).is_ok_and(|p| p != 0)
}

/// Start `argv` in the foreground (a session of its own) unless `exe` already runs, and wait
/// until `ready` holds.
fn daemon(cx: &Context, exe: &str, args: &[&str], ready: Ready) -> Result<()> {
    if !running(exe).is_empty() {
        ocf::debug!("{exe} already runs");
        return Ok(());
    }
    let name = Path::new(exe)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let log = cluster::state_dir(cx)?.join(format!("{name}.log"));
    let cmd = Cmd::new(exe)
        .args(args)
        .env_clear()
        .env("PATH", PATH)
        .cwd("/");
    let started = Daemon::new(cmd)
        .log_file(&log)
        .ready(ready)
        .start(cx.deadline)
        .map_err(|e| e.context(format!("starting {name}")))?;
    ocf::info!("{name} started (pid {})", started.main.pid);
    Ok(())
}

/// Whether nfsdcld `pid` is ready for nfsd's start: it holds the kernel's `nfsd/cld` pipe or
/// an inotify watch waiting for it. nfsd's start gives nfsdcld about a second to open the
/// pipe; inside a network namespace the kernel has no other way to record NFSv4 clients, so
/// an nfsdcld still starting up then costs every client its locks at the next failover
/// ("Unable to initialize client recovery tracking", seen under emulation in the NFS guest).
fn cld_ready(pid: i32) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|t| {
            let t = t.as_os_str().as_encoded_bytes();
            t == b"anon_inode:inotify" || t.ends_with(b"/nfsd/cld")
        })
    })
}

fn port_args(flag: &'static str, port: Option<u16>) -> Vec<String> {
    port.map(|p| vec![flag.to_string(), p.to_string()])
        .unwrap_or_default()
}

/// rpc.nfsd with `args`, in a UTS namespace named `scope` when one is given (nfsd takes its
/// server scope from the host name of the process that starts its threads), bounded.
fn rpc_nfsd(args: &[String], scope: Option<&str>, deadline: Deadline) -> Result<()> {
    let mut cmd = std::process::Command::new("/usr/sbin/rpc.nfsd");
    cmd.args(args)
        .env_clear()
        .env("PATH", PATH)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    if let Some(scope) = scope {
        let name = scope.as_bytes().to_vec();
        // SAFETY: between fork and exec only two system calls run (no allocation, no lock).
        unsafe {
            cmd.pre_exec(move || {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUTS)?;
                if libc::sethostname(name.as_ptr().cast(), name.len()) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let shown = format!("rpc.nfsd {}", args.join(" "));
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::installed(format!("{shown}: {e}")))?;
    let status = deadline.wait_until(Duration::from_millis(100), || {
        child.try_wait().ok().flatten()
    });
    let Some(status) = status else {
        let _ = child.kill();
        // Reaped only if it goes at once: blocked in the kernel (nfsd's shutdown waiting
        // for a hung rpcbind) it ignores SIGKILL until that call returns.
        let gone = Deadline::after(Duration::from_millis(500))
            .wait_until(Duration::from_millis(50), || {
                child.try_wait().ok().flatten()
            })
            .is_some();
        return Err(Error::generic(format!(
            "{shown} did not finish in time ({})",
            if gone { "killed" } else { STILL_BLOCKED }
        )));
    };
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        return Err(Error::generic(format!(
            "{shown} failed ({status}): {}",
            err.trim()
        )));
    }
    Ok(())
}

fn write_port(file: &str, port: Option<u16>) -> Result<()> {
    if let Some(p) = port {
        std::fs::write(file, p.to_string()).map_err(|e| Error::generic(format!("{file}: {e}")))?;
    }
    Ok(())
}

/// Start everything, in dependency order.
pub fn start(cfg: &Config, cx: &Context) -> Result<()> {
    let d = cx.deadline;
    // The kernel server first: on a node without nfsd, start is 5 before anything is
    // created or mounted from the configuration (nfs_shared_infodir's tree, the bind mount).
    infodir::nfsd_fs(d)?;
    infodir::bind_infodir(cfg, d)?;
    infodir::rpc_pipefs(cfg, d)?;
    write_port("/proc/sys/fs/nfs/nlm_tcpport", cfg.lockd_tcp_port)?;
    write_port("/proc/sys/fs/nfs/nlm_udpport", cfg.lockd_udp_port)?;
    if !cfg.nfsv4_only {
        daemon(
            cx,
            "/usr/sbin/rpcbind",
            &["-f", "-w"],
            Ready::custom("rpcbind to answer", || registered(rpcbind::PMAP, 2)),
        )?;
        let mut a = vec!["-F".to_string(), "--no-notify".to_string()];
        a.extend(port_args("-p", cfg.statd_port));
        a.extend(port_args("-o", cfg.statd_outgoing_port));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        daemon(
            cx,
            "/usr/sbin/rpc.statd",
            &a,
            Ready::custom("rpc.statd registered with rpcbind", || {
                registered(rpcbind::STATD, 1)
            }),
        )?;
    }
    let mut a = vec!["-F".to_string()];
    a.extend(port_args("-p", cfg.mountd_port));
    if cfg.nfsv4_only {
        a.extend(["-N", "2", "-N", "3"].map(String::from));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        daemon(
            cx,
            "/usr/sbin/rpc.mountd",
            &a,
            Ready::custom("rpc.mountd", || true),
        )?;
    } else {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        daemon(
            cx,
            "/usr/sbin/rpc.mountd",
            &a,
            Ready::custom("rpc.mountd registered with rpcbind", || {
                registered(rpcbind::MOUNTD, 3)
            }),
        )?;
    }
    // Both talk to the kernel through rpc_pipefs: this one (Debian's nfs.conf says
    // /run/rpc_pipefs, the reference agent's default is /var/lib/nfs/rpc_pipefs).
    let pipefs = cfg.rpcpipefs_dir.display().to_string();
    if Path::new("/usr/sbin/nfsdcld").exists() {
        daemon(
            cx,
            "/usr/sbin/nfsdcld",
            &["-F", "-p", &pipefs],
            Ready::custom(
                "nfsdcld watching rpc_pipefs for the kernel's cld pipe",
                || {
                    running("/usr/sbin/nfsdcld")
                        .iter()
                        .any(|p| cld_ready(p.pid))
                },
            ),
        )?;
    }
    daemon(
        cx,
        "/usr/sbin/rpc.idmapd",
        &["-f", "-p", &pipefs],
        Ready::custom("rpc.idmapd", || true),
    )?;
    if threads() == 0 {
        let mut a: Vec<String> = Vec::new();
        if cfg.nfsv4_only {
            // Not `-N 2`: Debian 12's rpc.nfsd (nfs-utils 2.6) knows no version 2 and exits
            // with "2: Unsupported version" (seen in the NFS guest, nfsserver::nfsv4_only);
            // /proc/fs/nfsd/versions then shows v2 off.
            a.extend(["-N", "3"].map(String::from));
        }
        a.push(cfg.threads.to_string());
        rpc_nfsd(&a, cfg.server_scope.as_deref(), d.fraction(0.8))?;
    }
    let n = d.wait_until(Duration::from_millis(200), || (threads() > 0).then(threads));
    match n {
        Some(n) => ocf::info!("nfsd runs with {n} threads"),
        None => {
            return Err(Error::generic(
                "rpc.nfsd returned but /proc/fs/nfsd/threads is 0",
            ))
        }
    }
    Ok(())
}

/// End the processes running any of `exes`: TERM, then KILL, within `deadline`.
pub fn stop_daemons(exes: &[&str], deadline: Deadline) -> Result<()> {
    let snapshot = ExeSnapshot::read();
    let procs: Vec<ProcRef> = exes
        .iter()
        .flat_map(|e| snapshot.running(Path::new(e)))
        .map(Proc::identity)
        .collect();
    if procs.is_empty() {
        return Ok(());
    }
    let left = stop_processes(
        &procs,
        &[nix::sys::signal::Signal::SIGTERM],
        deadline.fraction(0.6),
    );
    let left = stop_processes(&left, &[nix::sys::signal::Signal::SIGKILL], deadline);
    if left.is_empty() {
        Ok(())
    } else {
        let names: Vec<String> = left
            .iter()
            .map(|p| {
                format!(
                    "{} ({})",
                    p.pid,
                    ocf::process::Proc::read(p.pid)
                        .map(|x| x.comm)
                        .unwrap_or_default()
                )
            })
            .collect();
        Err(Error::generic(format!(
            "still running after SIGKILL: {}",
            names.join(", ")
        )))
    }
}

/// Said by [`rpc_nfsd`] when the process it killed at its deadline is still blocked in the
/// kernel.
const STILL_BLOCKED: &str = "killed, still blocked in the kernel";

/// The kernel server down to 0 threads: `rpc.nfsd 0`, then writing 0 itself if needed.
pub fn stop_kernel(deadline: Deadline) -> Result<()> {
    if threads() == 0 {
        return Ok(());
    }
    if let Err(e) = rpc_nfsd(&["0".to_string()], None, deadline.fraction(0.5)) {
        if e.reason().contains(STILL_BLOCKED) {
            // Its shutdown (waiting for a hung rpcbind) holds nfsd's mutex: reading or
            // writing /proc/fs/nfsd/threads now would block this process in the kernel,
            // uninterruptibly, past every deadline. Answer instead.
            return Err(e);
        }
        ocf::warn!("{}", e.reason());
    }
    if deadline
        .fraction(0.6)
        .wait_until(Duration::from_millis(100), || {
            (threads() == 0).then_some(())
        })
        .is_none()
    {
        let _ = std::fs::write(Path::new(super::state::NFSD_FS).join("threads"), "0");
    }
    match deadline.wait_until(Duration::from_millis(100), || {
        (threads() == 0).then_some(())
    }) {
        Some(()) => Ok(()),
        None => Err(Error::generic(format!(
            "nfsd still has {} threads after rpc.nfsd 0",
            threads()
        ))),
    }
}

/// Stop everything but rpcbind; release rpc_pipefs and the shared infodir. When rpcbind is
/// hung (it accepts the connection and never answers), nfsd, rpc.statd and rpc.mountd block
/// unregistering from it: a stop that fails then says so first.
pub fn stop(cfg: &Config, cx: &Context) -> Result<()> {
    let d = cx.deadline;
    let ask = std::time::Instant::now();
    let limit = Duration::from_secs(2);
    let hung = match rpcbind::getport(rpcbind::local(), rpcbind::PMAP, 2, d.within(limit)) {
        Err(e) if ask.elapsed() >= limit - Duration::from_millis(100) => {
            ocf::warn!("rpcbind does not answer ({e}); the server's parts block unregistering");
            true
        }
        _ => false,
    };
    let r = (|| {
        stop_daemons(&["/usr/sbin/sm-notify"], d.fraction(0.2))?;
        stop_kernel(d.fraction(0.5))?;
        stop_daemons(DAEMONS, d.fraction(0.7))?;
        release(cfg, d)
    })();
    r.map_err(|e| {
        if hung {
            e.context("rpcbind does not answer")
        } else {
            e
        }
    })
}

/// Unmount rpc_pipefs and the shared infodir (each named with its holders when busy).
pub fn release(cfg: &Config, deadline: Deadline) -> Result<()> {
    infodir::unmount_at(&cfg.rpcpipefs_dir, "rpc_pipefs", deadline.fraction(0.5))?;
    if cfg.shared_infodir.is_some() {
        infodir::unmount_at(
            Path::new(super::state::VAR_LIB_NFS),
            "nfs_shared_infodir",
            deadline,
        )?;
    }
    Ok(())
}

/// sm-notify once per floating address (or once), unless disabled.
pub fn notify(cfg: &Config, deadline: Deadline) -> Result<()> {
    if cfg.no_notify || cfg.nfsv4_only {
        return Ok(());
    }
    let mut base = vec!["-f".to_string()];
    if cfg.notify_foreground {
        base.push("-d".into());
    }
    if let Some(m) = cfg.smnotify_retry_time {
        base.extend(["-m".to_string(), m.to_string()]);
    }
    base.extend(port_args("-p", cfg.statd_outgoing_port));
    let ips: Vec<Option<&str>> = if cfg.ips.is_empty() {
        vec![None]
    } else {
        cfg.ips.iter().map(|s| Some(s.as_str())).collect()
    };
    for ip in ips {
        let mut a = base.clone();
        if let Some(ip) = ip {
            a.extend(["-v".to_string(), ip.to_string()]);
        }
        // Without -d sm-notify forks and keeps retrying in the background, holding the
        // pipes: its output is read only briefly after the parent exits.
        let out = Cmd::new("/usr/sbin/sm-notify")
            .args(&a)
            .env_clear()
            .env("PATH", PATH)
            .run_bounded(deadline, Duration::from_millis(300));
        match out {
            Ok(f) if f.timed_out => ocf::warn!(
                "sm-notify {}: not finished in time, stopped (NFSv3 clients may not reclaim locks)",
                a.join(" ")
            ),
            Ok(f) if f.output.success() => ocf::info!("sm-notify {}", a.join(" ")),
            Ok(f) => {
                // sm-notify reports to syslog only: say at least how it ended, and the usual
                // cause with -v (the address is not up on this node yet).
                let said = f.output.one_line();
                let said = if said.is_empty() {
                    let how = match (f.output.code, f.output.signal) {
                        (Some(c), _) => format!("exit status {c}"),
                        (None, Some(s)) => format!("signal {s}"),
                        (None, None) => "no status".to_string(),
                    };
                    format!(
                        "{how}, reasons in syslog{}",
                        if ip.is_some() {
                            " (with -v the address must already be up on this node)"
                        } else {
                            ""
                        }
                    )
                } else {
                    said
                };
                ocf::warn!("sm-notify {}: {said}", a.join(" "))
            }
            Err(e) => ocf::warn!("sm-notify {}: {}", a.join(" "), e.reason()),
        }
    }
    Ok(())
}
