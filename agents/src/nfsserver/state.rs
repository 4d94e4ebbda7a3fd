//! What is running: read from the kernel (`/proc/fs/nfsd`, mountinfo, `/proc/<pid>`) and
//! rpcbind's protocol, never from a command's screen output.

use super::rpcbind;
use super::Config;
use ocf::mount::MountTable;
use ocf::process::{find_by_exe, ExeSnapshot, Proc};
use ocf::Deadline;
use std::path::Path;

/// Where nfsd's control filesystem is mounted.
pub const NFSD_FS: &str = "/proc/fs/nfsd";
/// The NFS state directory the shared infodir is bound over.
pub const VAR_LIB_NFS: &str = "/var/lib/nfs";

/// The daemons of the server, by executable. `rpcbind` is not among them: other services use
/// it and stop leaves it running.
pub const DAEMONS: &[&str] = &[
    "/usr/sbin/sm-notify",
    "/usr/sbin/rpc.mountd",
    "/usr/sbin/rpc.statd",
    "/usr/sbin/nfsdcld",
    "/usr/sbin/fsidd",
    "/usr/sbin/rpc.idmapd",
];

/// The number of nfsd kernel threads (0 when nfsd's filesystem is not mounted).
pub fn threads() -> u32 {
    std::fs::read_to_string(Path::new(NFSD_FS).join("threads"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// The processes running `exe`.
pub fn running(exe: &str) -> Vec<Proc> {
    find_by_exe(Path::new(exe), &[])
}

/// Whether a filesystem of type `fstype` is mounted at `dir`.
pub fn mounted(table: &MountTable, dir: &Path, fstype: Option<&str>) -> bool {
    table
        .at(dir)
        .iter()
        .any(|m| fstype.is_none_or(|t| m.fstype == t))
}

/// The state of the server, part by part.
#[derive(Debug, Default)]
pub struct Health {
    /// nfsd threads.
    pub threads: u32,
    /// Parts that should be up and are not, as an admin names them.
    pub missing: Vec<String>,
    /// Parts of a running server still present (for "down" versus "partly up").
    pub leftovers: Vec<String>,
}

impl Health {
    /// Nothing of the server is up.
    pub fn down(&self) -> bool {
        self.threads == 0 && self.leftovers.is_empty()
    }
}

/// Check every part of the server for `cfg` (no fork; rpcbind asked in process).
pub fn health(cfg: &Config, direct: bool, deadline: Deadline) -> Health {
    let mut h = Health {
        threads: threads(),
        ..Health::default()
    };
    if h.threads == 0 {
        h.missing
            .push("nfsd has no threads (/proc/fs/nfsd/threads is 0)".into());
    }
    let table = MountTable::read().unwrap_or_default();
    // one /proc scan for all the daemons asked about below
    let procs = ExeSnapshot::read();
    let runs = |exe: &str| procs.any(Path::new(exe));
    let mountd = runs("/usr/sbin/rpc.mountd");
    if mountd {
        h.leftovers.push("rpc.mountd runs".into());
    } else {
        h.missing.push("rpc.mountd is not running".into());
    }
    if let Some(dir) = &cfg.shared_infodir {
        if mounted(&table, Path::new(VAR_LIB_NFS), None) {
            h.leftovers
                .push(format!("{} is mounted on {VAR_LIB_NFS}", dir.display()));
        } else {
            h.missing.push(format!(
                "nfs_shared_infodir {} is not mounted on {VAR_LIB_NFS}",
                dir.display()
            ));
        }
    }
    if !mounted(&table, &cfg.rpcpipefs_dir, Some("rpc_pipefs")) {
        h.missing.push(format!(
            "rpc_pipefs is not mounted on {}",
            cfg.rpcpipefs_dir.display()
        ));
    }
    if direct && !runs("/usr/sbin/rpc.idmapd") {
        h.missing.push("rpc.idmapd is not running".into());
    }
    if !cfg.nfsv4_only {
        let ask = |prog: u32, vers: u32| rpcbind::getport(rpcbind::local(), prog, vers, deadline);
        match ask(rpcbind::PMAP, 2) {
            Err(e) => h.missing.push(format!("rpcbind does not answer ({e})")),
            Ok(_) => {
                if mountd && ask(rpcbind::MOUNTD, 3) == Ok(0) {
                    h.missing
                        .push("rpc.mountd is not registered with rpcbind".into());
                }
                let statd = runs("/usr/sbin/rpc.statd");
                if !statd {
                    h.missing.push("rpc.statd is not running".into());
                } else if ask(rpcbind::STATD, 1) == Ok(0) {
                    h.missing
                        .push("rpc.statd is not registered with rpcbind".into());
                }
                if h.threads > 0 && ask(rpcbind::NFS, 3) == Ok(0) {
                    h.missing
                        .push("nfsd (v3) is not registered with rpcbind".into());
                }
            }
        }
    }
    h
}
