//! Talking to the cluster and sharing state between instances on this node.
//!
//! * promotion scores: `crm_attribute --promotion` (Pacemaker 2.1+), falling back to
//!   `crm_master -l reboot` on older versions;
//! * the local node name: `CRM_meta_on_node` when Pacemaker passes it (no fork), else
//!   `crm_node -n`, else the kernel's node name;
//! * per-agent state directories under `/run/ocfrs/<type>` (tmpfs: emptied at boot, which is
//!   what "resource state" should do), overridable with `OCFRS_RUN_DIR` for tests;
//! * locks for state shared between instances of one agent: `flock` on a file in the state
//!   directory, waited for within the action's deadline, released when dropped (or when the
//!   process dies, so a crashed agent never leaves a stale lock).

use crate::context::Context;
use crate::deadline::Deadline;
use crate::exit::{Error, OrRc, Rc, Result};
pub use crate::files::file_safe;
use crate::files::run_dir;
use crate::process::Cmd;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::Duration;

/// Default root for state directories (see [`crate::files::RUN_DIR`]).
pub use crate::files::RUN_DIR;

/// The state directory for `type_name`, created (mode 0755) if needed.
///
/// # Errors
/// 1 when it cannot be created.
pub fn state_dir(cx: &Context) -> Result<PathBuf> {
    let dir = run_dir(cx).join(&cx.resource_type);
    std::fs::create_dir_all(&dir).or_rc(
        Rc::ErrGeneric,
        &format!("create state directory {}", dir.display()),
    )?;
    Ok(dir)
}

/// An exclusive lock held until dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
    /// The lock file.
    pub path: PathBuf,
}

/// Take the lock `name` in this agent's state directory, waiting until the deadline.
///
/// # Errors
/// 1 when the lock cannot be opened or is still held at the deadline.
pub fn lock(cx: &Context, name: &str, deadline: Deadline) -> Result<Lock> {
    let path = state_dir(cx)?.join(format!("{}.lock", file_safe(name)));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .or_rc(Rc::ErrGeneric, &format!("open lock {}", path.display()))?;
    let fd = file.as_raw_fd();
    let got = deadline.wait_until(Duration::from_millis(50), || {
        // SAFETY: flock on a file descriptor we own.
        (unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) } == 0).then_some(())
    });
    match got {
        Some(()) => Ok(Lock { _file: file, path }),
        None => Err(Error::generic(format!(
            "lock {} is held by another instance",
            path.display()
        ))),
    }
}

/// This node's name as the cluster knows it.
pub fn local_node_name(cx: &Context) -> String {
    if let Some(n) = cx.env.get_nonempty("OCF_RESKEY_CRM_meta_on_node") {
        return n.to_string();
    }
    if let Ok(out) = Cmd::new("crm_node")
        .arg("-n")
        .run(cx.deadline.within(Duration::from_secs(5)))
    {
        let n = out.stdout_text().trim().to_string();
        if out.success() && !n.is_empty() {
            return n;
        }
    }
    nix::sys::utsname::uname()
        .map(|u| u.nodename().to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Set (`Some(score)`) or delete (`None`) this instance's promotion score on this node.
///
/// # Errors
/// 1 when neither `crm_attribute --promotion` nor `crm_master` succeeds.
pub fn set_promotion_score(cx: &Context, score: Option<i64>) -> Result<()> {
    let d = cx.deadline.within(Duration::from_secs(10));
    let value = score.map(|s| s.to_string());
    let mut modern = Cmd::new("crm_attribute")
        .arg(format!("--promotion={}", cx.instance))
        .args(["-l", "reboot"]);
    modern = match &value {
        Some(v) => modern.args(["-v", v]),
        None => modern.arg("-D"),
    };
    let out = modern.run(d)?;
    if out.success() {
        return Ok(());
    }
    // 64 = CRM_EX_USAGE: an older crm_attribute without --promotion.
    if out.code == Some(64) || out.stderr_text().contains("unrecognized option") {
        let mut legacy = Cmd::new("crm_master")
            .args(["-l", "reboot"])
            .env("OCF_RESOURCE_INSTANCE", &cx.instance);
        legacy = match &value {
            Some(v) => legacy.args(["-v", v]),
            None => legacy.arg("-D"),
        };
        legacy.run_ok(d)?;
        return Ok(());
    }
    Err(Error::generic(format!(
        "crm_attribute --promotion failed: {}",
        out.one_line()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Env;
    use crate::meta::Agent;
    use std::time::Instant;

    const A: Agent = Agent::new("LockTest", "1.0");

    #[test]
    fn locks_exclude_each_other_within_deadline() {
        let dir = std::env::temp_dir().join(format!("ocf-lock-test-{}", std::process::id()));
        let env = Env::new()
            .with("OCFRS_RUN_DIR", &dir)
            .with("OCF_RESKEY_CRM_meta_on_node", "n7");
        let cx = Context::new(&A, "start", &[], env, "x", Instant::now());
        assert_eq!(local_node_name(&cx), "n7");
        let l1 = lock(&cx, "shared", Deadline::after(Duration::from_secs(1))).unwrap();
        // flock is per open file description, so a second open in the same process conflicts.
        let t = Instant::now();
        assert!(lock(&cx, "shared", Deadline::after(Duration::from_millis(200))).is_err());
        assert!(t.elapsed() < Duration::from_secs(2));
        drop(l1);
        lock(&cx, "shared", Deadline::after(Duration::from_secs(1))).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
