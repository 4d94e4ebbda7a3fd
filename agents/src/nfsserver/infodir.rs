//! The filesystems of the server: nfsd's control filesystem, rpc_pipefs, and the shared
//! infodir bound over /var/lib/nfs; all mounted with `mount(2)` and unmounted with the SDK's
//! bounded unmount, which names the processes that keep a mount busy.

use super::state::{mounted, NFSD_FS, VAR_LIB_NFS};
use super::Config;
use ocf::mount::{self, MountSpec, MountTable};
use ocf::process::Cmd;
use ocf::{Deadline, Error, Result};
use std::path::Path;
use std::time::Duration;

/// `modprobe MODULE` unless the kernel already has it (bounded).
pub fn modprobe(module: &str, present: &Path, deadline: Deadline) -> Result<()> {
    if present.exists() {
        return Ok(());
    }
    Cmd::new("modprobe")
        .arg(module)
        .run_ok(deadline.within(Duration::from_secs(10)))
        .map(|_| ())
        .map_err(|e| Error::installed(format!("this kernel has no {module}: {}", e.reason())))
}

fn mount_fs(source: &str, dir: &Path, fstype: &str, deadline: Deadline) -> Result<()> {
    let table = MountTable::read()?;
    if mounted(&table, dir, Some(fstype)) {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::generic(format!("create {}: {e}", dir.display())))?;
    mount::mount(&MountSpec::new(source, dir, fstype, ""), false, deadline)
}

/// nfsd's control filesystem on /proc/fs/nfsd (loading nfsd first).
pub fn nfsd_fs(deadline: Deadline) -> Result<()> {
    modprobe("nfsd", Path::new("/sys/module/nfsd"), deadline)?;
    mount_fs("nfsd", Path::new(NFSD_FS), "nfsd", deadline)
}

/// rpc_pipefs on `cfg.rpcpipefs_dir`.
pub fn rpc_pipefs(cfg: &Config, deadline: Deadline) -> Result<()> {
    modprobe("sunrpc", Path::new("/sys/module/sunrpc"), deadline)?;
    mount_fs("sunrpc", &cfg.rpcpipefs_dir, "rpc_pipefs", deadline)
}

/// The tree the server's daemons expect in a (new) shared infodir: the NSM monitor lists and
/// state number where Debian's statd keeps them (`sm`, `sm.bak`, `state` directly in
/// /var/lib/nfs) and where RHEL and SUSE do (`statd/...`), the NFSv4 recovery directories,
/// empty export tables (`etab`, `rmtab`).
pub fn prepare_tree(dir: &Path) -> Result<()> {
    let err = |p: &Path, e: std::io::Error| {
        Error::generic(format!("nfs_shared_infodir: {}: {e}", p.display()))
    };
    for sub in [
        "sm",
        "sm.bak",
        "statd/sm",
        "statd/sm.bak",
        "v4recovery",
        "nfsdcld",
    ] {
        let p = dir.join(sub);
        std::fs::create_dir_all(&p).map_err(|e| err(&p, e))?;
    }
    // exportfs and rpc.mountd refuse to work without their tables
    for table in ["etab", "rmtab"] {
        let p = dir.join(table);
        if !p.exists() {
            std::fs::write(&p, "").map_err(|e| err(&p, e))?;
        }
    }
    for state in [dir.join("state"), dir.join("statd/state")] {
        if !state.exists() {
            // A fresh NSM state number, as statd would make: random, even (host "down"
            // until statd increments it).
            let mut n = [0u8; 4];
            use std::io::Read;
            std::fs::File::open("/dev/urandom")
                .and_then(|mut f| f.read_exact(&mut n))
                .map_err(|e| err(Path::new("/dev/urandom"), e))?;
            n[0] &= 0xfe;
            std::fs::write(&state, n).map_err(|e| err(&state, e))?;
        }
    }
    // rpc.statd and sm-notify run as the owner of the monitor lists (Debian: user statd) and
    // must be able to write them and the state number.
    if let Ok(Some(u)) = nix::unistd::User::from_name("statd") {
        for p in ["sm", "sm.bak", "state", "statd"] {
            chown_tree(&dir.join(p), u.uid, u.gid);
        }
    }
    Ok(())
}

fn chown_tree(p: &Path, uid: nix::unistd::Uid, gid: nix::unistd::Gid) {
    let _ = nix::unistd::chown(p, Some(uid), Some(gid));
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                chown_tree(&e.path(), uid, gid);
            } else {
                let _ = nix::unistd::chown(&e.path(), Some(uid), Some(gid));
            }
        }
    }
}

/// Bind the shared infodir over /var/lib/nfs (rpc_pipefs below it unmounted first: it is
/// mounted again on top).
pub fn bind_infodir(cfg: &Config, deadline: Deadline) -> Result<()> {
    let Some(dir) = &cfg.shared_infodir else {
        return Ok(());
    };
    let table = MountTable::read()?;
    if mounted(&table, Path::new(VAR_LIB_NFS), None) {
        return Ok(());
    }
    prepare_tree(dir)?;
    if cfg.rpcpipefs_dir.starts_with(VAR_LIB_NFS) {
        unmount_at(&cfg.rpcpipefs_dir, "rpc_pipefs", deadline)?;
    }
    std::fs::create_dir_all(VAR_LIB_NFS)
        .map_err(|e| Error::generic(format!("create {VAR_LIB_NFS}: {e}")))?;
    mount::mount(
        &MountSpec::new(dir.as_os_str(), VAR_LIB_NFS, "", "bind"),
        false,
        deadline,
    )
}

/// Unmount whatever is mounted at `dir` (top of the stack first), within `deadline`. Nothing
/// is signalled: the processes that keep it busy are named in the error.
pub fn unmount_at(dir: &Path, what: &str, deadline: Deadline) -> Result<()> {
    let esc = mount::Escalation {
        term_signals: Vec::new(),
        kill_signals: Vec::new(),
        signal_delay: Duration::from_millis(500),
        force: false,
        lazy: false,
        unsignalled_note: " (the agent does not kill what is not the NFS server's)",
    };
    loop {
        let table = MountTable::read()?;
        let Some(m) = table.at(dir).last().map(|m| (*m).clone()) else {
            return Ok(());
        };
        mount::unmount(&m, &esc, deadline)
            .map_err(|e| e.context(format!("{what} on {}", dir.display())))?;
    }
}
