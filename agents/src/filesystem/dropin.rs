//! Node shutdown order for network filesystems under systemd (as the reference does): a
//! runtime drop-in `resource-agents-deps.target.d/99-Filesystem-remote.conf` with
//! `After=remote-fs.target`. Pacemaker's unit is ordered after `resource-agents-deps.target`,
//! so at shutdown Pacemaker (and this filesystem's stop) runs before systemd tears down
//! `remote-fs.target` and the network under it; without it the stop of an NFS or CIFS mount
//! can find the network gone and hang until the node is fenced.
//!
//! One file shared by every network Filesystem resource of the node (the reference's name),
//! written on start when systemd is PID 1 and left in place (it only orders units, and
//! `/run` is emptied at boot). Without systemd nothing is written.

use super::config::Config;
use ocf::systemd::{self, DropIn};
use ocf::{Context, Result};
use std::path::{Path, PathBuf};

/// The unit the drop-in extends.
pub const UNIT: &str = "resource-agents-deps.target";
/// The drop-in's name (the reference's).
pub const NAME: &str = "99-Filesystem-remote";
/// Its content.
pub const CONTENT: &str = "[Unit]\nAfter=remote-fs.target\n";

/// Where systemd's runtime units are looked for: `/` normally; the root named by
/// `OCFRS_SYSTEMD_ROOT` in tests (its `run/systemd/system` stands for systemd's, and no
/// `daemon-reload` runs).
fn root(cx: &Context) -> Option<PathBuf> {
    cx.env.get_nonempty("OCFRS_SYSTEMD_ROOT").map(PathBuf::from)
}

/// The drop-in this start writes, if any: `None` for a local filesystem or without systemd.
pub fn planned(cfg: &Config, cx: &Context) -> Option<DropIn> {
    if !cfg.is_network() {
        return None;
    }
    match root(cx) {
        Some(r) if r.join("run/systemd/system").is_dir() => Some(DropIn::new(UNIT, NAME).root(r)),
        Some(_) => None,
        None if systemd::is_running() => Some(DropIn::new(UNIT, NAME)),
        None => None,
    }
}

/// Write the drop-in when this start needs it (a reload follows only when it changed).
///
/// # Errors
/// 1 when it cannot be written or systemd's reload fails.
pub fn order_after_remote_fs(cfg: &Config, cx: &Context) -> Result<()> {
    let Some(d) = planned(cfg, cx) else {
        return Ok(());
    };
    if d.write(CONTENT, cx.deadline.fraction(0.2))? {
        ocf::info!("ordered after remote-fs.target: {}", d.path().display());
    }
    // systemd reads drop-ins as any user (`systemctl cat`): keep it world-readable.
    set_readable(&d.path());
    Ok(())
}

fn set_readable(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)) {
        ocf::warn!("chmod 644 {}: {e}", p.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::{Env, Params};
    use std::time::Instant;

    fn cx_and_cfg(env: &Env) -> (Context, Config) {
        let cx = Context::new(
            &super::super::meta::AGENT,
            "start",
            &[],
            env.clone(),
            "Filesystem",
            Instant::now(),
        );
        let cfg = Config::parse(&Params::new(&super::super::meta::AGENT, env)).unwrap();
        (cx, cfg)
    }

    /// What is not tested here, for want of systemd as PID 1 on the test machines: that
    /// systemd's `daemon-reload` runs and that `systemctl show resource-agents-deps.target`
    /// then lists `After=remote-fs.target`.
    #[test]
    fn network_filesystems_get_the_remote_fs_drop_in_local_ones_do_not() {
        let root = std::env::temp_dir().join(format!("ocfrs-hd-dropin-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("run/systemd/system")).unwrap();
        let env = |device: &str, fstype: &str| {
            Env::new()
                .with("OCF_RESOURCE_INSTANCE", "fs1")
                .with("OCF_RESKEY_device", device)
                .with("OCF_RESKEY_directory", "/srv/ocfrs-hd")
                .with("OCF_RESKEY_fstype", fstype)
                .with("OCFRS_SYSTEMD_ROOT", &root)
        };
        let file =
            root.join("run/systemd/system/resource-agents-deps.target.d/99-Filesystem-remote.conf");
        // Local: nothing.
        let (cx, cfg) = cx_and_cfg(&env("/dev/sdb1", "ext4"));
        assert!(planned(&cfg, &cx).is_none());
        order_after_remote_fs(&cfg, &cx).unwrap();
        assert!(!file.exists());
        // Network by type and by source: the reference's file, world-readable.
        for (device, fstype) in [
            ("srv:/export", "nfs4"),
            ("//srv/share", "cifs"),
            ("srv:/v", ""),
        ] {
            let (cx, cfg) = cx_and_cfg(&env(device, fstype));
            assert_eq!(planned(&cfg, &cx).unwrap().path(), file);
            order_after_remote_fs(&cfg, &cx).unwrap();
            assert_eq!(
                std::fs::read_to_string(&file).unwrap(),
                "[Unit]\nAfter=remote-fs.target\n"
            );
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o644
            );
        }
        // No systemd (its runtime unit directory missing): nothing.
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::create_dir_all(&root).unwrap();
        let (cx, cfg) = cx_and_cfg(&env("srv:/export", "nfs"));
        assert!(planned(&cfg, &cx).is_none());
        order_after_remote_fs(&cfg, &cx).unwrap();
        assert!(!root.join("run/systemd").exists());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
