//! `VServer`: a Linux-VServer guest managed through util-vserver's `vserver` command (ours:
//! resource-agents has no such agent; the Linux-VServer wiki's "Active Vserver Failover" is
//! the user story).
//!
//! What the agent relies on is util-vserver's command line and files, as its
//! `scripts/vserver` and `scripts/functions` define them:
//! * `vserver DIR start|stop|status`, where DIR is the guest's configuration directory
//!   (`<config_root>/<name>`; util-vserver accepts a path in place of the name, which is how
//!   a `config_root` other than `/etc/vservers` reaches it);
//! * `status` exits 0 when the guest runs ("Vserver 'x' is running at context 'N'") and 3
//!   when it is stopped; a missing configuration is 5. `running` is **not** used: it exits 1
//!   for a stopped guest and also when util-vserver itself is broken, so a monitor could not
//!   tell "stopped" from "failed";
//! * `DIR/run` holds the running guest's context id (a symlink to `/var/run/vservers/<name>`),
//!   `DIR/context` a static one; `DIR/vdir` is (a link to) the guest's root directory.
//!
//! **Stop** is where the agent adds something: util-vserver's stop runs the guest's shutdown
//! and waits for it (`waitForSync`), which can hang or leave processes behind. The agent gives
//! `vserver DIR stop` 60 % of the budget, then ends every process still belonging to the
//! guest, SIGTERM then SIGKILL, before the budget runs out (a failed stop fences the node).
//! The guest's processes are found through `/proc`, never by name:
//! * `VxID: <context>` in `/proc/<pid>/status` (what Linux-VServer kernels expose);
//! * and, on any kernel, every process whose root directory (`/proc/<pid>/root`, compared by
//!   device and inode) is the guest's root `DIR/vdir`, where util-vserver confines a guest
//!   (a host process chrooted there, holding the guest's filesystem busy, is ended too).
//!   The host's own root is never used as a guest root.
//!
//! The tests run the agent against a stand-in `vserver` command (tests/fixtures/vserver-standin,
//! a test double: util-vserver and its kernel patch are in no current distribution); the agent
//! does not know it.

pub mod meta;

use nix::sys::signal::Signal;
use ocf::deadline::bounded;
use ocf::process::{self, Cmd, ProcRef};
use ocf::{Context, Deadline, Error, Params, ResourceAgent, Result, Status};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The agent.
pub struct VServer;

/// The parsed configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The guest's name.
    pub name: String,
    /// util-vserver's `vserver` command.
    pub bin: PathBuf,
    /// The guest's configuration directory (`<config_root>/<name>`).
    pub dir: PathBuf,
}

/// A guest name util-vserver and this agent accept: letters, digits, `.`, `_`, `-`, starting
/// with a letter or digit, at most 64 bytes (`.` and `..` are excluded by the first rule).
///
/// # Errors
/// 6 naming the problem.
pub fn check_name(name: &str) -> Result<()> {
    let bad = |why: &str| {
        Error::configured(format!(
            "vserver '{}': {why}",
            ocf::exit::sanitize_reason(name)
        ))
    };
    if name.is_empty() {
        return Err(bad("empty guest name"));
    }
    if name.len() > 64 {
        return Err(bad("longer than 64 characters"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(bad("must start with a letter or digit"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(bad(&format!(
            "character {c:?} not allowed (letters, digits, '.', '_', '-')"
        )));
    }
    Ok(())
}

impl Config {
    fn cmd(&self, what: &str) -> Cmd {
        Cmd::new(&self.bin).arg(&self.dir).arg(what)
    }
}

/// How a `vserver` command ended, for messages.
fn how(out: &process::Output) -> String {
    let status = match (out.code, out.signal) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => "unknown status".into(),
    };
    let text = out.one_line();
    if text.is_empty() {
        status
    } else {
        format!("{status}: {text}")
    }
}

/// `vserver DIR status`: 0 running, 3 stopped, anything else a failure.
fn status(cfg: &Config, deadline: Deadline) -> Result<Status> {
    let f = cfg
        .cmd("status")
        .run_bounded(deadline, Duration::from_millis(500))?;
    if f.timed_out {
        return Err(Error::generic(format!(
            "{} {} status did not answer in {:.1} s",
            cfg.bin.display(),
            cfg.dir.display(),
            f.elapsed.as_secs_f64()
        )));
    }
    match f.output.code {
        Some(0) => {
            ocf::debug!("{}", f.output.one_line());
            Ok(Status::Running)
        }
        Some(3) => Ok(Status::Stopped),
        _ => Err(Error::generic(format!(
            "vserver {} status failed ({})",
            cfg.name,
            how(&f.output)
        ))),
    }
}

/// The guest's context id: `DIR/run` (dynamic, while running), else `DIR/context` (static).
/// Contexts 0 (host) and 1 (spectator) are never a guest's.
fn context_id(dir: &Path) -> Option<u32> {
    ["run", "context"].iter().find_map(|f| {
        let text = std::fs::read_to_string(dir.join(f)).ok()?;
        let id: u32 = text.lines().next()?.trim().parse().ok()?;
        (id > 1).then_some(id)
    })
}

/// Device and inode of a directory (following links).
fn dev_ino(p: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

/// What identifies the guest's processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Guest {
    /// Linux-VServer context id.
    xid: Option<u32>,
    /// Device and inode of the guest's root directory.
    root: Option<(u64, u64)>,
}

impl Guest {
    /// Read before `vserver stop`, which removes the run file.
    fn of(cfg: &Config) -> Guest {
        let xid = context_id(&cfg.dir);
        let mut root = dev_ino(&cfg.dir.join("vdir"));
        // Safety rail: the host's (or this process's) root is never a guest root.
        if root.is_some()
            && (root == dev_ino(Path::new("/")) || root == dev_ino(Path::new("/proc/self/root")))
        {
            ocf::warn!(
                "{}/vdir is the host's root directory: not used to find the guest's processes",
                cfg.dir.display()
            );
            root = None;
        }
        Guest { xid, root }
    }

    fn known(&self) -> bool {
        self.xid.is_some() || self.root.is_some()
    }

    /// Whether process `pid` belongs to the guest.
    fn owns(&self, pid: i32) -> bool {
        if let Some(xid) = self.xid {
            if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                let vx = text.lines().find_map(|l| {
                    l.strip_prefix("VxID:")
                        .and_then(|v| v.trim().parse::<u32>().ok())
                });
                if vx == Some(xid) {
                    return true;
                }
            }
        }
        self.root.is_some() && dev_ino(Path::new(&format!("/proc/{pid}/root"))) == self.root
    }

    /// Every live process of the guest (never this process).
    fn processes(&self) -> Vec<ProcRef> {
        if !self.known() {
            return Vec::new();
        }
        let me = std::process::id() as i32;
        process::processes()
            .into_iter()
            .filter(|p| p.pid != me && p.pid > 1 && self.owns(p.pid))
            .map(|p| p.identity())
            .collect()
    }

    /// End every process of the guest: SIGTERM, then SIGKILL with a reserve of the budget;
    /// the guest is scanned again at every poll, so late forks get the signals too.
    fn end(&self, name: &str, deadline: Deadline) -> Result<()> {
        let first = self.processes();
        if first.is_empty() {
            return Ok(());
        }
        ocf::info!(
            "{} process(es) of guest {name} still running: SIGTERM",
            first.len()
        );
        let reserve = (deadline.remaining() / 3).min(Duration::from_secs(3));
        let graceful = Deadline::at(
            deadline
                .instant()
                .checked_sub(reserve)
                .unwrap_or_else(std::time::Instant::now),
        );
        let mut termed: Vec<ProcRef> = Vec::new();
        let send = |procs: &[ProcRef], sig: Signal, sent: &mut Vec<ProcRef>| {
            for p in procs {
                if sig == Signal::SIGKILL || !sent.contains(p) {
                    p.signal(sig);
                    sent.push(*p);
                }
            }
        };
        send(&first, Signal::SIGTERM, &mut termed);
        let gone = graceful.wait_until(Duration::from_millis(50), || {
            let now = self.processes();
            send(&now, Signal::SIGTERM, &mut termed);
            now.is_empty().then_some(())
        });
        if gone.is_some() {
            return Ok(());
        }
        let left = self.processes();
        ocf::warn!(
            "{} process(es) of guest {name} ignored SIGTERM: SIGKILL",
            left.len()
        );
        let mut killed = Vec::new();
        let gone = deadline.wait_until(Duration::from_millis(50), || {
            let now = self.processes();
            send(&now, Signal::SIGKILL, &mut killed);
            now.is_empty().then_some(())
        });
        if gone.is_some() {
            return Ok(());
        }
        let pids: Vec<String> = self.processes().iter().map(|p| p.pid.to_string()).collect();
        Err(Error::generic(format!(
            "processes of guest {name} still running after SIGKILL: {}",
            pids.join(" ")
        )))
    }
}

impl ResourceAgent for VServer {
    const META: &'static ocf::Agent = &meta::AGENT;
    type Config = Config;

    fn configure(p: &Params<'_>, _cx: &Context) -> Result<Config> {
        let name = p.string(&meta::VSERVER)?;
        check_name(&name)?;
        let bin = PathBuf::from(p.string(&meta::VSERVER_BIN)?);
        if !bin.is_absolute() {
            return Err(Error::configured(format!(
                "vserver_bin '{}' is not an absolute path",
                bin.display()
            )));
        }
        let root = PathBuf::from(p.string(&meta::CONFIG_ROOT)?);
        if !root.is_absolute() {
            return Err(Error::configured(format!(
                "config_root '{}' is not an absolute path",
                root.display()
            )));
        }
        Ok(Config {
            dir: root.join(&name),
            name,
            bin,
        })
    }

    fn check_host(cfg: &Config, cx: &Context) -> Result<()> {
        if process::which(&cfg.bin).is_none() {
            return Err(Error::installed(format!(
                "{} is missing or not executable (util-vserver not installed?)",
                cfg.bin.display()
            )));
        }
        // The directory may live on a shared filesystem that hangs: bounded.
        let dir = cfg.dir.clone();
        let looked = bounded(
            cx.deadline.fraction(0.3),
            format!("reading {}", cfg.dir.display()),
            move || std::fs::read_dir(&dir).map(|_| ()),
        );
        match looked {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                Err(Error::perm(format!(
                    "configuration directory {} is not readable: {e}",
                    cfg.dir.display()
                )))
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(Error::installed(format!(
                    "guest {}: configuration missing on this host ({})",
                    cfg.name,
                    cfg.dir.display()
                )))
            }
            Ok(Err(e)) => Err(Error::installed(format!(
                "guest {}: configuration unusable on this host ({}: {e})",
                cfg.name,
                cfg.dir.display()
            ))),
            Err(blocked) => {
                // Not a reason to call the guest stopped: the action's own steps are bounded.
                ocf::warn!("{blocked}");
                Ok(())
            }
        }
    }

    fn start(cfg: &Config, cx: &Context) -> Result<()> {
        if status(cfg, cx.deadline.fraction(0.2))? == Status::Running {
            ocf::info!("guest {} is already running", cfg.name);
            return Ok(());
        }
        // Keep a fifth of the budget to confirm with status.
        let f = cfg
            .cmd("start")
            .run_bounded(cx.deadline.fraction(0.8), Duration::from_millis(500))?;
        if f.timed_out {
            return Err(Error::generic(format!(
                "vserver {} start did not finish in {:.1} s; killed",
                cfg.name,
                f.elapsed.as_secs_f64()
            )));
        }
        if !f.output.success() {
            return Err(Error::generic(format!(
                "vserver {} start failed ({})",
                cfg.name,
                how(&f.output)
            )));
        }
        let mut last = None;
        let up = cx.deadline.wait_until(Duration::from_millis(200), || {
            match status(cfg, cx.deadline) {
                Ok(Status::Running) => Some(()),
                other => {
                    last = Some(other);
                    None
                }
            }
        });
        match (up, last) {
            (Some(()), _) => {
                ocf::info!("guest {} started", cfg.name);
                Ok(())
            }
            (None, Some(Err(e))) => Err(e),
            (None, _) => Err(Error::generic(format!(
                "vserver {} start succeeded but status reports the guest stopped",
                cfg.name
            ))),
        }
    }

    fn stop(cfg: &Config, cx: &Context) -> Result<()> {
        // The guest's root may be on a shared filesystem that hangs: bounded.
        let c = cfg.clone();
        let guest = match bounded(
            cx.deadline.fraction(0.2),
            format!("reading guest {}'s context and root", cfg.name),
            move || Guest::of(&c),
        ) {
            Ok(g) => Ok(g),
            Err(blocked) => {
                ocf::warn!("{blocked}");
                Err(blocked)
            }
        };
        ocf::debug!("guest {}: {guest:?}", cfg.name);
        let f = cfg
            .cmd("stop")
            .run_bounded(cx.deadline.fraction(0.6), Duration::from_millis(500))?;
        if f.timed_out {
            ocf::warn!(
                "vserver {} stop did not finish in {:.1} s; ending the guest's processes",
                cfg.name,
                f.elapsed.as_secs_f64()
            );
        } else if !f.output.success() {
            ocf::warn!(
                "vserver {} stop failed ({}); ending the guest's processes",
                cfg.name,
                how(&f.output)
            );
        }
        let guest = match guest {
            Ok(g) => g,
            // Nothing tells whether processes remain: only util-vserver's word counts.
            Err(blocked) if f.timed_out || !f.output.success() => {
                return Err(Error::generic(format!(
                    "vserver {} stop failed and {blocked}",
                    cfg.name
                )));
            }
            Err(_) => Guest {
                xid: None,
                root: None,
            },
        };
        if !guest.known() {
            ocf::warn!(
                "guest {}: neither a context id ({}/run, context) nor a root directory (vdir): \
                 its remaining processes cannot be found",
                cfg.name,
                cfg.dir.display()
            );
        }
        guest.end(&cfg.name, cx.deadline.fraction(0.9))?;
        match status(cfg, cx.deadline) {
            Ok(Status::Running) => Err(Error::generic(format!(
                "guest {} still reported running after stop",
                cfg.name
            ))),
            Ok(_) => Ok(()),
            Err(e) if !guest.known() => Err(e),
            Err(e) => {
                // Its processes are gone: the status command's own trouble is not a
                // reason to fence the node.
                ocf::warn!("after stop: {}", e.reason());
                Ok(())
            }
        }
    }

    fn monitor(cfg: &Config, cx: &Context) -> Result<Status> {
        status(cfg, cx.deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::testing::Run;
    use ocf::Rc;

    #[test]
    fn names() {
        for ok in ["guest1", "a", "web.example-1_x", "9lives"] {
            check_name(ok).unwrap();
        }
        for bad in [
            "",
            "-x",
            ".",
            "..",
            "a/b",
            "a b",
            "x;rm",
            ".hidden",
            &"x".repeat(65),
        ] {
            let e = check_name(bad).unwrap_err();
            assert_eq!(e.rc(), Rc::ErrConfigured, "{bad}");
        }
    }

    #[test]
    fn context_ids() {
        let d = std::env::temp_dir().join(format!("ocfvs-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        assert_eq!(context_id(&d), None);
        std::fs::write(d.join("context"), "40001\n").unwrap();
        assert_eq!(context_id(&d), Some(40001));
        std::fs::write(d.join("run"), "49200\n").unwrap();
        assert_eq!(context_id(&d), Some(49200));
        std::fs::write(d.join("run"), "1\n").unwrap();
        assert_eq!(context_id(&d), Some(40001), "spectator context ignored");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn the_host_root_is_never_a_guest_root() {
        let d = std::env::temp_dir().join(format!("ocfvs-unit-root-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::os::unix::fs::symlink("/", d.join("vdir")).unwrap();
        let cfg = Config {
            name: "x".into(),
            bin: "/bin/true".into(),
            dir: d.clone(),
        };
        let g = Guest::of(&cfg);
        assert_eq!(g.root, None);
        assert!(g.processes().is_empty());
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn invalid_parameters_are_6_but_stop_and_probe_are_safe() {
        let r = Run::agent::<VServer>().param("vserver", "a/b");
        r.assert_invalid("not allowed");
        r.assert_stop_and_probe_safe();
        Run::agent::<VServer>()
            .param("vserver", "g")
            .param("config_root", "etc/vservers")
            .action("validate-all")
            .run()
            .assert_rc(Rc::ErrConfigured);
        Run::agent::<VServer>()
            .action("validate-all")
            .run()
            .assert_rc(Rc::ErrConfigured);
    }
}
