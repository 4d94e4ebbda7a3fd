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
//!   process dies, so a crashed agent never leaves a stale lock);
//! * node attributes ([`NodeAttributes`]): get, set and delete, transient
//!   ([`Lifetime::Reboot`], through `attrd_updater`, gone when the node leaves) or permanent
//!   ([`Lifetime::Forever`], through `crm_attribute -t nodes -l forever`, kept in the CIB),
//!   each call bounded by the deadline given;
//! * systemd: see [`crate::systemd`] (is it PID 1, `systemctl` with a deadline, drop-ins).

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

/// How long a node attribute lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// Transient: kept by the attribute manager (`attrd_updater`), cleared when the node
    /// leaves the cluster or reboots. Use it for state (a replication position, a health
    /// flag).
    Reboot,
    /// Permanent: stored in the CIB's nodes section (`crm_attribute -l forever`). Use it for
    /// configuration-like facts.
    Forever,
}

/// Node attributes of one node (this one by default), through Pacemaker's tools.
///
/// ```no_run
/// use ocf::cluster::{Lifetime, NodeAttributes};
/// # fn demo(cx: &ocf::Context) -> ocf::Result<()> {
/// let attrs = NodeAttributes::new();
/// attrs.set("mysql-pos", "1234", Lifetime::Reboot, cx.deadline)?;
/// let pos = attrs.get("mysql-pos", Lifetime::Reboot, cx.deadline)?; // Some("1234")
/// attrs.delete("mysql-pos", Lifetime::Reboot, cx.deadline)?;
/// # let _ = pos; Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAttributes {
    node: Option<String>,
    attrd_updater: PathBuf,
    crm_attribute: PathBuf,
}

impl Default for NodeAttributes {
    fn default() -> Self {
        NodeAttributes::new()
    }
}

/// `CRM_EX_NOSUCH`: the attribute (or node) does not exist.
const CRM_EX_NOSUCH: i32 = 105;

impl NodeAttributes {
    /// This node's attributes, with the tools found in `PATH`.
    pub fn new() -> NodeAttributes {
        NodeAttributes {
            node: None,
            attrd_updater: PathBuf::from("attrd_updater"),
            crm_attribute: PathBuf::from("crm_attribute"),
        }
    }

    /// Another node's attributes (`-N NODE`).
    #[must_use]
    pub fn node(mut self, node: &str) -> NodeAttributes {
        self.node = Some(node.to_string());
        self
    }

    /// Use these programs instead of `attrd_updater` and `crm_attribute` from `PATH`.
    #[must_use]
    pub fn tools(
        mut self,
        attrd_updater: &std::path::Path,
        crm_attribute: &std::path::Path,
    ) -> NodeAttributes {
        self.attrd_updater = attrd_updater.to_path_buf();
        self.crm_attribute = crm_attribute.to_path_buf();
        self
    }

    fn cmd(&self, name: &str, lifetime: Lifetime) -> Cmd {
        let c = match lifetime {
            Lifetime::Reboot => Cmd::new(&self.attrd_updater).args(["-n", name]),
            Lifetime::Forever => {
                Cmd::new(&self.crm_attribute).args(["-t", "nodes", "-l", "forever", "-n", name])
            }
        };
        match &self.node {
            Some(n) => c.args(["-N", n]),
            None => c,
        }
    }

    /// The value, `None` when the attribute is not set.
    ///
    /// # Errors
    /// 1 when the tool fails otherwise (no cluster, no such node) or runs out of time; 5 when
    /// the tool is not installed.
    pub fn get(
        &self,
        name: &str,
        lifetime: Lifetime,
        deadline: Deadline,
    ) -> Result<Option<String>> {
        let cmd = match lifetime {
            Lifetime::Reboot => self.cmd(name, lifetime).arg("-Q"),
            Lifetime::Forever => self.cmd(name, lifetime).args(["-G", "-q"]),
        };
        let out = cmd.run(deadline)?;
        if out.code == Some(CRM_EX_NOSUCH) {
            return Ok(None);
        }
        if !out.success() {
            return Err(Error::generic(format!(
                "query node attribute {name}: {}",
                out.one_line()
            )));
        }
        let text = out.stdout_text();
        let value = match lifetime {
            // name="x" host="n1" value="v" (one line per node)
            Lifetime::Reboot => text.lines().find_map(|l| {
                let v = l.split_once(" value=\"")?.1;
                Some(v.strip_suffix('"').unwrap_or(v).to_string())
            }),
            Lifetime::Forever => text.lines().next().map(|l| l.trim().to_string()),
        };
        Ok(value.filter(|v| !v.is_empty() && v != "(null)"))
    }

    /// Set the attribute.
    ///
    /// # Errors
    /// As [`NodeAttributes::get`].
    pub fn set(
        &self,
        name: &str,
        value: &str,
        lifetime: Lifetime,
        deadline: Deadline,
    ) -> Result<()> {
        let cmd = match lifetime {
            Lifetime::Reboot => self.cmd(name, lifetime).args(["-U", value]),
            Lifetime::Forever => self.cmd(name, lifetime).args(["-v", value]),
        };
        cmd.run_ok(deadline)
            .map(|_| ())
            .map_err(|e| e.context(format!("set node attribute {name}")))
    }

    /// Delete the attribute (one that is not set is fine).
    ///
    /// # Errors
    /// As [`NodeAttributes::get`].
    pub fn delete(&self, name: &str, lifetime: Lifetime, deadline: Deadline) -> Result<()> {
        let out = self.cmd(name, lifetime).arg("-D").run(deadline)?;
        if out.success() || out.code == Some(CRM_EX_NOSUCH) {
            Ok(())
        } else {
            Err(Error::generic(format!(
                "delete node attribute {name}: {}",
                out.one_line()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Env;
    use crate::meta::Agent;
    use std::time::Instant;

    const A: Agent = Agent::new("LockTest", "1.0");

    /// Stand-ins for attrd_updater and crm_attribute (the real tools need a running
    /// cluster; tests/cluster covers them there): they record their argv and answer like
    /// Pacemaker 2.1 (105 for a missing attribute).
    fn fake_tools(dir: &std::path::Path) -> NodeAttributes {
        use std::os::unix::fs::PermissionsExt;
        let script = |name: &str, body: &str| {
            let p = dir.join(name);
            std::fs::write(
                &p,
                format!(
                    "#!/bin/sh\necho \"$*\" >> {}/calls\n{body}\n",
                    dir.display()
                ),
            )
            .unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            p
        };
        let a = script(
            "attrd_updater",
            r#"case "$*" in
  *-Q*) case "$*" in *missing*) echo "Could not query value of missing: attribute does not exist" >&2; exit 105;;
                      *slow*) sleep 30;; esac
        echo 'name="pos" host="n1" value="12 34"';;
esac"#,
        );
        let c = script(
            "crm_attribute",
            r#"case "$*" in *-G*) case "$*" in *missing*) exit 105;; esac; echo forever-value;; esac"#,
        );
        NodeAttributes::new().tools(&a, &c)
    }

    #[test]
    fn node_attributes_transient_and_permanent() {
        let dir = std::env::temp_dir().join(format!("ocfdmn-attrs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let a = fake_tools(&dir);
        let d = Deadline::after(Duration::from_secs(5));
        assert_eq!(
            a.get("pos", Lifetime::Reboot, d).unwrap().as_deref(),
            Some("12 34")
        );
        assert_eq!(a.get("missing", Lifetime::Reboot, d).unwrap(), None);
        assert_eq!(
            a.get("x", Lifetime::Forever, d).unwrap().as_deref(),
            Some("forever-value")
        );
        assert_eq!(a.get("missing", Lifetime::Forever, d).unwrap(), None);
        a.set("pos", "5", Lifetime::Reboot, d).unwrap();
        a.clone()
            .node("n2")
            .set("cfg", "v w", Lifetime::Forever, d)
            .unwrap();
        a.delete("pos", Lifetime::Reboot, d).unwrap();
        a.delete("cfg", Lifetime::Forever, d).unwrap();
        let calls = std::fs::read_to_string(dir.join("calls")).unwrap();
        assert_eq!(
            calls,
            "-n pos -Q\n-n missing -Q\n-t nodes -l forever -n x -G -q\n\
             -t nodes -l forever -n missing -G -q\n-n pos -U 5\n\
             -t nodes -l forever -n cfg -N n2 -v v w\n-n pos -D\n-t nodes -l forever -n cfg -D\n"
        );
        // A hung tool does not outlive the deadline.
        let t = Instant::now();
        assert!(a
            .get(
                "slow",
                Lifetime::Reboot,
                Deadline::after(Duration::from_millis(300))
            )
            .is_err());
        assert!(t.elapsed() < Duration::from_secs(3));
        std::fs::remove_dir_all(dir).unwrap();
    }

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
