//! systemd mode (the distribution's units, as the reference agent) and init mode (an init
//! script), both checked with the same kernel-level readiness and stop as direct mode.

use super::state::threads;
use super::{direct, infodir, Config};
use ocf::process::Cmd;
use ocf::systemd::{systemctl, DropIn};
use ocf::{Context, Deadline, Error, Result};
use std::path::Path;
use std::time::Duration;

/// The unit names of this system's NFS server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Units {
    /// The kernel server: `nfs-server.service`, or `nfs-kernel-server.service` on systems
    /// that only ship the old name.
    pub server: String,
    /// rpc.statd: `rpc-statd.service` (or `nfs-lock.service` on old systems).
    pub statd: String,
    /// rpc.idmapd.
    pub idmapd: String,
    /// rpc.mountd.
    pub mountd: String,
    /// nfsdcld, fsidd when the system has them.
    pub optional: Vec<String>,
}

/// The unit directories under `root` ("/" on a real system).
fn unit_exists(root: &Path, unit: &str) -> bool {
    [
        "etc/systemd/system",
        "lib/systemd/system",
        "usr/lib/systemd/system",
    ]
    .iter()
    .any(|d| root.join(d).join(unit).exists())
}

/// The NFS units present under `root`.
pub fn units(root: &Path) -> Units {
    let pick = |names: &[&str]| {
        names
            .iter()
            .find(|n| unit_exists(root, n))
            .unwrap_or(&names[0])
            .to_string()
    };
    Units {
        server: pick(&["nfs-server.service", "nfs-kernel-server.service"]),
        statd: pick(&["rpc-statd.service", "nfs-lock.service", "nfslock.service"]),
        idmapd: pick(&["nfs-idmapd.service"]),
        mountd: pick(&["nfs-mountd.service"]),
        optional: ["nfsdcld.service", "fsidd.service"]
            .iter()
            .filter(|u| unit_exists(root, u))
            .map(|s| s.to_string())
            .collect(),
    }
}

/// The drop-in that starts nfsd in a UTS namespace named `scope` (validated host name).
pub fn scope_dropin(scope: &str) -> String {
    format!(
        "# written by ocf:ocfrs:nfsserver (nfs_server_scope)\n[Service]\nExecStart=\n\
         ExecStart=/usr/bin/unshare --uts /bin/sh -c 'hostname {scope} && exec /usr/sbin/rpc.nfsd'\n"
    )
}

fn ctl(args: &[&str], d: Deadline) -> Result<()> {
    let out = systemctl(args, d.within(Duration::from_secs(30)))?;
    if out.success() {
        Ok(())
    } else {
        Err(Error::generic(format!(
            "systemctl {}: {}",
            args.join(" "),
            out.one_line()
        )))
    }
}

/// Start through systemd.
pub fn start_systemd(cfg: &Config, cx: &Context) -> Result<()> {
    let d = cx.deadline;
    let u = units(Path::new("/"));
    if cfg.shared_infodir.is_some() {
        let _ = ctl(&["stop", "var-lib-nfs-rpc_pipefs.mount"], d);
        infodir::bind_infodir(cfg, d)?;
    }
    let dropin = DropIn::new(&u.server, "50-ocfrs-nfs-server-scope");
    match &cfg.server_scope {
        Some(s) => {
            dropin.write(&scope_dropin(s), d)?;
        }
        None => {
            dropin.remove(d)?;
        }
    }
    infodir::rpc_pipefs(cfg, d)?;
    if !cfg.nfsv4_only {
        ctl(&["start", "rpcbind.service"], d)?;
        ctl(&["start", &u.statd], d)?;
    }
    ctl(&["start", &u.idmapd], d)?;
    ctl(&["start", &u.server], d)?;
    wait_threads(d)
}

fn wait_threads(d: Deadline) -> Result<()> {
    d.wait_until(Duration::from_millis(200), || (threads() > 0).then_some(()))
        .ok_or_else(|| Error::generic("the server was started but /proc/fs/nfsd/threads is 0"))
}

/// Stop through systemd, then make sure (threads, leftovers, mounts).
pub fn stop_systemd(cfg: &Config, cx: &Context) -> Result<()> {
    let d = cx.deadline;
    let u = units(Path::new("/"));
    direct::stop_daemons(&["/usr/sbin/sm-notify"], d.fraction(0.1))?;
    ctl(&["stop", &u.server], d.fraction(0.4))?;
    direct::stop_kernel(d.fraction(0.5))?;
    let mut rest = vec![u.statd.as_str(), u.idmapd.as_str(), u.mountd.as_str()];
    rest.extend(u.optional.iter().map(String::as_str));
    let mut args = vec!["stop"];
    args.extend(rest);
    ctl(&args, d.fraction(0.6))?;
    direct::stop_daemons(super::state::DAEMONS, d.fraction(0.7))?;
    direct::release(cfg, d)?;
    if cfg.server_scope.is_some() {
        DropIn::new(&u.server, "50-ocfrs-nfs-server-scope").remove(d)?;
    }
    Ok(())
}

fn script(cfg: &Config, action: &str, d: Deadline) -> Result<()> {
    let Some(s) = &cfg.init_script else {
        return Err(Error::configured("init mode needs nfs_init_script"));
    };
    let out = Cmd::new(s)
        .arg(action)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .run(d)?;
    if out.success() {
        Ok(())
    } else {
        Err(Error::generic(format!(
            "{} {action}: {}",
            s.display(),
            out.one_line()
        )))
    }
}

/// Start through the init script.
pub fn start_init(cfg: &Config, cx: &Context) -> Result<()> {
    let d = cx.deadline;
    infodir::bind_infodir(cfg, d)?;
    infodir::rpc_pipefs(cfg, d)?;
    script(cfg, "start", d.fraction(0.8))?;
    wait_threads(d)
}

/// Stop through the init script, then make sure: Debian's script leaves the kernel threads
/// serving, so `rpc.nfsd 0` follows, and the daemons and mounts are checked as in direct mode.
pub fn stop_init(cfg: &Config, cx: &Context) -> Result<()> {
    let d = cx.deadline;
    direct::stop_daemons(&["/usr/sbin/sm-notify"], d.fraction(0.1))?;
    if let Err(e) = script(cfg, "stop", d.fraction(0.4)) {
        ocf::warn!("{}", e.reason());
    }
    direct::stop_kernel(d.fraction(0.5))?;
    direct::stop_daemons(super::state::DAEMONS, d.fraction(0.7))?;
    direct::release(cfg, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names_follow_the_system() {
        let root = std::env::temp_dir().join(format!("ocfrs-nfs-units-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("lib/systemd/system")).unwrap();
        // nothing installed: the current names
        let u = units(&root);
        assert_eq!(u.server, "nfs-server.service");
        assert_eq!(u.statd, "rpc-statd.service");
        assert!(u.optional.is_empty());
        // an old system: nfs-kernel-server and nfs-lock only, plus nfsdcld
        for f in [
            "nfs-kernel-server.service",
            "nfs-lock.service",
            "nfsdcld.service",
        ] {
            std::fs::write(root.join("lib/systemd/system").join(f), "").unwrap();
        }
        let u = units(&root);
        assert_eq!(u.server, "nfs-kernel-server.service");
        assert_eq!(u.statd, "nfs-lock.service");
        assert_eq!(u.optional, vec!["nfsdcld.service"]);
        // both names: the current one wins
        std::fs::create_dir_all(root.join("usr/lib/systemd/system")).unwrap();
        std::fs::write(root.join("usr/lib/systemd/system/nfs-server.service"), "").unwrap();
        assert_eq!(units(&root).server, "nfs-server.service");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn scope_dropin_replaces_exec_start() {
        let t = scope_dropin("nfs-ha");
        assert!(t.contains("ExecStart=\nExecStart=/usr/bin/unshare --uts /bin/sh -c 'hostname nfs-ha && exec /usr/sbin/rpc.nfsd'"));
    }
}
