//! systemd, when it runs: whether it is PID 1, `systemctl` with a deadline, and drop-ins.
//!
//! Agents work with and without systemd (nfsserver starts units or daemons; Filesystem and
//! VirtualDomain order themselves before `remote-fs.target` or libvirt so that a node's
//! shutdown stops the cluster's resources first). Drop-ins go to `/run/systemd/system` (they
//! vanish at reboot, like the resource's state) and are followed by `daemon-reload` only
//! when their content changed and systemd runs.
//!
//! ```no_run
//! use ocf::systemd::{self, DropIn};
//! # fn demo(cx: &ocf::Context) -> ocf::Result<()> {
//! if systemd::is_running() {
//!     systemd::systemctl(&["restart", "nfs-server.service"], cx.deadline)?;
//! }
//! DropIn::new("resource-agents-deps.target", "ocfrs-fs1")
//!     .write("[Unit]\nAfter=remote-fs.target\n", cx.deadline)?;
//! # Ok(()) }
//! ```

use crate::deadline::Deadline;
use crate::exit::{Error, Result};
use crate::process::{Cmd, Output};
use std::path::{Path, PathBuf};

/// Whether systemd manages this system (`sd_booted()`: `/run/systemd/system` exists, which
/// systemd creates when it runs as PID 1). False in containers and test beds started
/// otherwise: start daemons directly there.
pub fn is_running() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// `systemctl ARGS...` bounded by `deadline` (without password prompts). Its output is
/// returned whatever its exit code (`is-active` answers with codes).
///
/// # Errors
/// 5 when systemd does not run (PID 1 is something else) or systemctl is missing; 1 when
/// it does not finish in time.
pub fn systemctl(args: &[&str], deadline: Deadline) -> Result<Output> {
    if !is_running() {
        return Err(Error::installed(format!(
            "systemctl {}: systemd is not running (PID 1 is {})",
            args.join(" "),
            std::fs::read_to_string("/proc/1/comm")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into())
        )));
    }
    run_systemctl(Path::new("systemctl"), args, deadline)
}

/// `program --no-ask-password ARGS...` bounded by `deadline` (the part of [`systemctl`] after
/// the detection; tests pass a stand-in program).
fn run_systemctl(program: &Path, args: &[&str], deadline: Deadline) -> Result<Output> {
    Cmd::new(program)
        .arg("--no-ask-password")
        .args(args)
        .run(deadline)
}

/// A runtime drop-in: `/run/systemd/system/<unit>.d/<name>.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropIn {
    root: PathBuf,
    unit: String,
    name: String,
}

impl DropIn {
    /// The drop-in `name` for `unit`.
    pub fn new(unit: &str, name: &str) -> DropIn {
        DropIn {
            root: PathBuf::from("/"),
            unit: unit.to_string(),
            name: crate::files::file_safe(name),
        }
    }

    /// Under another root directory (tests, images): no `daemon-reload` then.
    #[must_use]
    pub fn root(mut self, root: impl Into<PathBuf>) -> DropIn {
        self.root = root.into();
        self
    }

    /// The file.
    pub fn path(&self) -> PathBuf {
        self.root
            .join("run/systemd/system")
            .join(format!("{}.d", self.unit))
            .join(format!("{}.conf", self.name))
    }

    /// Write `contents` (atomically); `daemon-reload` when it changed and systemd runs.
    /// Returns whether it changed.
    ///
    /// # Errors
    /// 1 on I/O errors or a failed reload.
    pub fn write(&self, contents: &str, deadline: Deadline) -> Result<bool> {
        let p = self.path();
        if crate::files::read_if_exists(&p)?.as_deref() == Some(contents) {
            return Ok(false);
        }
        crate::files::write_atomic(&p, contents.as_bytes())?;
        self.reload(deadline)?;
        Ok(true)
    }

    /// Remove it (missing is fine); `daemon-reload` when it existed and systemd runs.
    ///
    /// # Errors
    /// 1 on I/O errors or a failed reload.
    pub fn remove(&self, deadline: Deadline) -> Result<bool> {
        let p = self.path();
        if !p.exists() {
            return Ok(false);
        }
        crate::files::remove_if_exists(&p)?;
        if let Some(d) = p.parent() {
            let _ = std::fs::remove_dir(d); // only when empty
        }
        self.reload(deadline)?;
        Ok(true)
    }

    fn reload(&self, deadline: Deadline) -> Result<()> {
        if self.root == Path::new("/") && is_running() {
            let out = Cmd::new("systemctl")
                .args(["--no-ask-password", "daemon-reload"])
                .run(deadline)?;
            if !out.success() {
                return Err(Error::generic(format!(
                    "systemctl daemon-reload: {}",
                    out.one_line()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn detection_matches_pid_1() {
        let pid1 = std::fs::read_to_string("/proc/1/comm").unwrap_or_default();
        assert_eq!(is_running(), pid1.trim() == "systemd", "PID 1 is {pid1}");
        if !is_running() {
            let e = systemctl(&["is-active", "x"], Deadline::after(Duration::from_secs(5)))
                .unwrap_err();
            assert_eq!(e.rc(), crate::Rc::ErrInstalled);
            assert!(
                e.reason().contains("systemd is not running"),
                "{}",
                e.reason()
            );
        }
    }

    /// What can be tested without systemd as PID 1: the argv `systemctl` gets and that a
    /// `systemctl` that never answers (systemd busy or hung, a job waiting for another) is
    /// given up at the deadline with a reason. A stand-in program records its argv and then
    /// sleeps, or answers with `is-active`'s exit code 3. Not tested here (no systemd PID 1
    /// on the test machines): the real systemctl's behaviour and `daemon-reload` of drop-ins.
    #[test]
    fn systemctl_gets_argv_only_and_is_bounded() {
        let dir = std::env::temp_dir().join(format!("ocfrs-su-systemctl-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let argv = dir.join("argv");
        let fake = dir.join("systemctl");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n\
                 [ \"$2\" = is-active ] && {{ echo inactive; exit 3; }}\nexec sleep 30\n",
                argv.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(
            &fake,
            <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
        )
        .unwrap();
        // A unit name with a space and a shell metacharacter arrives as one argument.
        let unit = "nfs server;$(touch x).service";
        let t = std::time::Instant::now();
        let e = run_systemctl(
            &fake,
            &["restart", unit],
            Deadline::after(Duration::from_millis(500)),
        )
        .unwrap_err();
        let took = t.elapsed();
        assert!(took < Duration::from_secs(3), "{took:?}");
        assert!(took >= Duration::from_millis(450), "{took:?}");
        assert_eq!(e.rc(), crate::Rc::ErrGeneric, "{}", e.reason());
        assert!(e.reason().contains("systemctl"), "{}", e.reason());
        assert_eq!(
            std::fs::read_to_string(&argv).unwrap(),
            format!("--no-ask-password\nrestart\n{unit}\n")
        );
        // is-active answers with a code: the output is returned whatever the code.
        let out = run_systemctl(
            &fake,
            &["is-active", "x.service"],
            Deadline::after(Duration::from_secs(5)),
        )
        .unwrap();
        assert!(!out.success());
        assert_eq!(out.one_line(), "inactive");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn drop_ins_are_written_once_and_removed() {
        let root = std::env::temp_dir().join(format!("ocfdmn-systemd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let d = Deadline::after(Duration::from_secs(5));
        let di = DropIn::new("resource-agents-deps.target", "ocfrs fs/1").root(&root);
        assert!(di
            .path()
            .ends_with("run/systemd/system/resource-agents-deps.target.d/ocfrs_fs_1.conf"));
        let text = "[Unit]\nAfter=remote-fs.target\n";
        assert!(di.write(text, d).unwrap());
        assert!(!di.write(text, d).unwrap(), "unchanged: no reload");
        assert_eq!(std::fs::read_to_string(di.path()).unwrap(), text);
        assert!(di.remove(d).unwrap());
        assert!(!di.remove(d).unwrap());
        assert!(!di.path().parent().unwrap().exists());
        std::fs::remove_dir_all(root).unwrap();
    }
}
