//! `Dummy`: the example agent and the SDK tutorial.
//!
//! Read this file top to bottom to write an agent:
//! 1. the declaration lives in [`meta`] (parameters and actions as `const`s);
//! 2. [`Config`] is what the parameters mean, built by `configure` (depth 0: errors are 6);
//! 3. `start`/`stop`/`monitor` hold the domain logic and return `ocf::Result`; the SDK turns
//!    errors into exit codes and exit reasons, applies the invalid-environment policy and
//!    the time budget (`cx.deadline`).
//!
//! Behaviour: monitor is three-state (running 0, stopped 7, failed 1 when the managed process
//! died); start and stop check the state first, so both are idempotent.
//!
//! The managed process (`daemon=true`) is recorded in the SDK's pid file next to the state
//! file (`<state>.pid`: pid and start time, see [`ocf::process::Pidfile`]), so a pid reused
//! by another program is never taken for it.

pub mod meta;

use ocf::process::{self, Cmd, DaemonOutput, PidStatus, Pidfile};
use ocf::{cluster, files, Context, Error, Params, ResourceAgent, Result, Status};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The agent.
pub struct Dummy;

/// The parsed configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// State file (absolute).
    pub state: PathBuf,
    /// The reloadable value.
    pub fake: String,
    /// Sleep per operation.
    pub op_sleep: Duration,
    /// Node on which start fails.
    pub fail_start_on: Option<String>,
    /// Manage a real process.
    pub daemon: bool,
}

/// The state file records `fake=<value>`; a symbolic link or another user's file in its
/// place is refused ([`files::read_own`]). A directory at the state path is no state file:
/// not running, as the reference's `[ -f "$state" ]` decides (a probe answers 7, stop 0;
/// start fails because it cannot write the file).
fn read_state(path: &Path) -> Result<Option<String>> {
    if is_directory(path) {
        return Ok(None);
    }
    Ok(files::read_own(path)?.map(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("fake="))
            .unwrap_or_default()
            .to_string()
    }))
}

/// Whether `path` is a directory itself (a link to one is not followed).
fn is_directory(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

fn write_state(path: &Path, fake: &str) -> Result<()> {
    files::write_atomic(path, format!("fake={fake}\n").as_bytes())
}

/// The managed process's pid file: next to the state file.
fn pidfile(cfg: &Config) -> Pidfile {
    let mut p = cfg.state.clone().into_os_string();
    p.push(".pid");
    Pidfile::new(PathBuf::from(p))
}

/// Sleep `op_sleep`, but fail cleanly rather than outlive the action's budget.
fn op_sleep(cfg: &Config, cx: &Context) -> Result<()> {
    if cfg.op_sleep.is_zero() {
        return Ok(());
    }
    if cfg.op_sleep > cx.deadline.remaining() {
        cx.deadline.sleep(cfg.op_sleep);
        return Err(Error::generic(format!(
            "{}: op_sleep {}s exceeds the time budget",
            cx.action,
            cfg.op_sleep.as_secs()
        )));
    }
    std::thread::sleep(cfg.op_sleep);
    Ok(())
}

impl ResourceAgent for Dummy {
    const META: &'static ocf::Agent = &meta::AGENT;
    type Config = Config;

    fn configure(p: &Params<'_>, cx: &Context) -> Result<Config> {
        Ok(Config {
            state: p.path_or_instance_file(&meta::STATE, cx, "state")?,
            fake: p.string(&meta::FAKE)?,
            op_sleep: Duration::from_secs(p.int(&meta::OP_SLEEP)?.unsigned_abs()),
            fail_start_on: p
                .opt_string(&meta::FAIL_START_ON)?
                .filter(|s| !s.trim().is_empty()),
            daemon: p.bool(&meta::DAEMON)?,
        })
    }

    fn start(cfg: &Config, cx: &Context) -> Result<()> {
        if Self::monitor(cfg, cx).ok() == Some(Status::Running) {
            ocf::info!("already running");
            return Ok(());
        }
        if let Some(node) = &cfg.fail_start_on {
            if &cluster::local_node_name(cx) == node {
                return Err(Error::generic(format!(
                    "start fails on {node} (fail_start_on)"
                )));
            }
        }
        if is_directory(&cfg.state) {
            // Refused before a managed process is started (it would be left behind).
            return Err(Error::generic(format!(
                "state {} is a directory, not a state file",
                cfg.state.display()
            )));
        }
        op_sleep(cfg, cx)?;
        // A leftover process from a failed instance is stopped before starting afresh.
        let pf = pidfile(cfg);
        if let Some(old) = pf.read_record()?.and_then(|r| r.identity()) {
            process::stop_tree(old, Duration::from_secs(2), cx.deadline)?;
            pf.remove()?;
        }
        if cfg.daemon {
            let p = process::spawn_daemon(&Cmd::new("sleep").arg("infinity"), &DaemonOutput::Null)?;
            pf.write_identity(p)?;
            ocf::info!("started managed process {}", p.pid);
        }
        write_state(&cfg.state, &cfg.fake)
    }

    fn stop(cfg: &Config, cx: &Context) -> Result<()> {
        op_sleep(cfg, cx)?;
        let pf = pidfile(cfg);
        if let Some(p) = pf.read_record()?.and_then(|r| r.identity()) {
            process::stop_tree(p, Duration::from_secs(5), cx.deadline)?;
        }
        pf.remove()?;
        if is_directory(&cfg.state) {
            // Not this agent's file: nothing of the resource runs, and stop leaves it alone.
            return Ok(());
        }
        files::remove_if_exists(&cfg.state)
    }

    fn monitor(cfg: &Config, cx: &Context) -> Result<Status> {
        op_sleep(cfg, cx)?;
        if read_state(&cfg.state)?.is_none() {
            return Ok(Status::Stopped);
        }
        match pidfile(cfg).status(None)? {
            PidStatus::Stale(pid) => Err(Error::generic(format!("managed process {pid} is gone"))),
            PidStatus::Missing | PidStatus::Running(_) => Ok(Status::Running),
        }
    }

    fn reload_agent(cfg: &Config, _cx: &Context) -> Result<()> {
        // Only `fake` is reloadable: rewrite it in place, keep the process.
        match read_state(&cfg.state)? {
            Some(_) => {
                write_state(&cfg.state, &cfg.fake)?;
                ocf::info!("reloaded: fake={}", cfg.fake);
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn reload(_cfg: &Config, _cx: &Context) -> Result<()> {
        // Dummy has no service configuration of its own to re-read.
        Ok(())
    }

    fn migrate_to(cfg: &Config, cx: &Context) -> Result<()> {
        ocf::info!(
            "migrating to {}",
            cx.migrate_target.as_deref().unwrap_or("(unknown)")
        );
        Self::stop(cfg, cx)
    }

    fn migrate_from(cfg: &Config, cx: &Context) -> Result<()> {
        ocf::info!(
            "migrating from {}",
            cx.migrate_source.as_deref().unwrap_or("(unknown)")
        );
        Self::start(cfg, cx)
    }

    fn notify(_cfg: &Config, cx: &Context) -> Result<()> {
        if let Some(n) = &cx.notify {
            ocf::debug!(
                "notify {:?} {}: start={} stop={}",
                n.kind,
                n.operation,
                n.start.len(),
                n.stop.len()
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::testing::Run;
    use ocf::Rc;

    fn run(dir: &Path) -> Run {
        Run::agent::<Dummy>()
            .param("state", dir.join("d.state"))
            .env("OCFRS_RUN_DIR", dir)
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ocfrs-dummy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn lifecycle_is_idempotent() {
        let d = tmp("life");
        run(&d)
            .action("monitor")
            .probe()
            .run()
            .assert_rc(Rc::NotRunning)
            .assert_quiet_stdout();
        run(&d).action("stop").run().assert_rc(Rc::Success);
        run(&d)
            .action("start")
            .run()
            .assert_rc(Rc::Success)
            .assert_quiet_stdout();
        run(&d).action("start").run().assert_rc(Rc::Success);
        run(&d)
            .action("monitor")
            .recurring()
            .run()
            .assert_rc(Rc::Success);
        run(&d).action("stop").run().assert_rc(Rc::Success);
        run(&d).action("stop").run().assert_rc(Rc::Success);
        run(&d)
            .action("monitor")
            .recurring()
            .run()
            .assert_rc(Rc::NotRunning);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn default_state_under_run_dir() {
        let d = tmp("default");
        let r = Run::agent::<Dummy>()
            .env("OCFRS_RUN_DIR", &d)
            .env("OCF_RESOURCE_INSTANCE", "rsc:1");
        r.clone().action("start").run().assert_rc(Rc::Success);
        assert!(d.join("Dummy/rsc_1.state").exists());
        r.action("stop").run().assert_rc(Rc::Success);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn relative_state_is_6_but_stop_and_probe_are_safe() {
        let r = Run::agent::<Dummy>().param("state", "relative/path");
        r.assert_invalid("absolute");
        r.clone().action("start").run().assert_rc(Rc::ErrConfigured);
        r.assert_stop_and_probe_safe();
        r.action("monitor")
            .recurring()
            .run()
            .assert_rc(Rc::ErrGeneric)
            .assert_reason_discipline();
    }

    #[test]
    fn reload_agent_rewrites_fake() {
        let d = tmp("reload");
        run(&d).action("start").run().assert_rc(Rc::Success);
        run(&d)
            .param("fake", "new value")
            .action("reload-agent")
            .run()
            .assert_rc(Rc::Success);
        assert!(std::fs::read_to_string(d.join("d.state"))
            .unwrap()
            .contains("fake=new value"));
        run(&d).action("stop").run().assert_rc(Rc::Success);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn managed_process_death_is_a_monitor_failure() {
        let d = tmp("daemon");
        let r = run(&d).param("daemon", "yes");
        r.clone().action("start").run().assert_rc(Rc::Success);
        let pf = Pidfile::new(d.join("d.state.pid"));
        let p = pf.read_record().unwrap().unwrap().identity().unwrap();
        assert!(p.is_alive());
        r.clone()
            .action("monitor")
            .recurring()
            .run()
            .assert_rc(Rc::Success);
        p.signal(nix::sys::signal::Signal::SIGKILL);
        ocf::Deadline::after(Duration::from_secs(5))
            .wait_until(Duration::from_millis(10), || (!p.is_alive()).then_some(()));
        r.clone()
            .action("monitor")
            .recurring()
            .run()
            .assert_rc(Rc::ErrGeneric)
            .assert_reason_contains("is gone");
        r.clone().action("stop").run().assert_rc(Rc::Success);
        r.clone().action("start").run().assert_rc(Rc::Success);
        let p2 = pf.running(None).unwrap().unwrap();
        assert_ne!(p2, p);
        r.action("stop").run().assert_rc(Rc::Success);
        assert!(!p2.is_alive());
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn op_sleep_is_bounded_by_the_budget() {
        let d = tmp("sleep");
        let t = std::time::Instant::now();
        run(&d)
            .param("op_sleep", "30")
            .timeout(Duration::from_secs(2))
            .action("start")
            .run()
            .assert_rc(Rc::ErrGeneric)
            .assert_reason_contains("time budget");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        run(&d)
            .param("op_sleep", "-1")
            .action("start")
            .run()
            .assert_rc(Rc::ErrConfigured);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_directory_at_the_state_path_is_not_running_as_in_the_reference() {
        // The reference tests `[ -f "$state" ]`: a directory is no state file, so a probe
        // (and a monitor) answers 7 and stop 0; start cannot write its file and fails (1)
        // with a reason naming the directory. The directory is never removed.
        let d = tmp("statedir");
        std::fs::create_dir_all(d.join("d.state")).unwrap();
        run(&d)
            .action("monitor")
            .probe()
            .run()
            .assert_rc(Rc::NotRunning);
        run(&d)
            .action("monitor")
            .recurring()
            .run()
            .assert_rc(Rc::NotRunning);
        run(&d).action("stop").run().assert_rc(Rc::Success);
        run(&d)
            .action("start")
            .run()
            .assert_rc(Rc::ErrGeneric)
            .assert_reason_contains("is a directory")
            .assert_reason_discipline();
        // With a managed process: refused before the process is started.
        run(&d)
            .param("daemon", "true")
            .action("start")
            .run()
            .assert_rc(Rc::ErrGeneric);
        assert!(!d.join("d.state.pid").exists(), "no process was started");
        assert!(d.join("d.state").is_dir());
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn fail_start_on_this_node() {
        let d = tmp("failon");
        run(&d)
            .param("fail_start_on", "n1")
            .env("OCF_RESKEY_CRM_meta_on_node", "n1")
            .action("start")
            .run()
            .assert_rc(Rc::ErrGeneric)
            .assert_reason_contains("n1");
        run(&d)
            .param("fail_start_on", "n1")
            .env("OCF_RESKEY_CRM_meta_on_node", "n2")
            .action("start")
            .run()
            .assert_rc(Rc::Success);
        run(&d).action("stop").run().assert_rc(Rc::Success);
        std::fs::remove_dir_all(d).unwrap();
    }
}
