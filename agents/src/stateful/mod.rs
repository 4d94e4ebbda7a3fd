//! `Stateful`: the promotable example agent (roles, promotion scores, notifications).
//!
//! Monitor reports 7 (stopped), 0 (unpromoted) or 8 (promoted) from a state file. Start
//! leaves the instance unpromoted, as OCF 1.1 requires. When Pacemaker runs it as a
//! promotable clone, start and monitor keep a promotion score for this node (5 when
//! unpromoted, 10 when promoted) and stop deletes it; outside a cluster a failing
//! `crm_attribute` is logged, never fatal, so the agent can be tested anywhere.

pub mod meta;

use ocf::{cluster, files, Caller, Context, Error, Params, ResourceAgent, Result, Status};
use std::path::PathBuf;
use std::time::Duration;

/// The agent.
pub struct Stateful;

/// The parsed configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// State file.
    pub state: PathBuf,
    /// Sleep in notify.
    pub notify_delay: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Unpromoted,
    Promoted,
}

fn read_role(cfg: &Config) -> Result<Option<Role>> {
    match files::read_if_exists(&cfg.state)?.as_deref().map(str::trim) {
        None => Ok(None),
        Some("promoted") => Ok(Some(Role::Promoted)),
        Some("unpromoted") => Ok(Some(Role::Unpromoted)),
        Some(other) => Err(Error::generic(format!(
            "state file {} holds '{other}'",
            cfg.state.display()
        ))),
    }
}

fn write_role(cfg: &Config, role: Role) -> Result<()> {
    let text = match role {
        Role::Promoted => "promoted\n",
        Role::Unpromoted => "unpromoted\n",
    };
    files::write_atomic(&cfg.state, text.as_bytes())
}

/// Keep the promotion score when a cluster runs us as a promotable clone.
fn score(cx: &Context, value: Option<i64>) {
    if cx.caller != Caller::Pacemaker || !cx.is_promotable() {
        return;
    }
    if let Err(e) = cluster::set_promotion_score(cx, value) {
        ocf::warn!("could not update the promotion score: {}", e.reason());
    }
}

impl ResourceAgent for Stateful {
    const META: &'static ocf::Agent = &meta::AGENT;
    type Config = Config;

    fn configure(p: &Params<'_>, cx: &Context) -> Result<Config> {
        Ok(Config {
            state: p.path_or_instance_file(&meta::STATE, cx, "state")?,
            notify_delay: Duration::from_secs(p.int(&meta::NOTIFY_DELAY)?.unsigned_abs()),
        })
    }

    fn start(cfg: &Config, cx: &Context) -> Result<()> {
        if read_role(cfg)?.is_none() {
            write_role(cfg, Role::Unpromoted)?;
        }
        score(cx, Some(5));
        Ok(())
    }

    fn stop(cfg: &Config, cx: &Context) -> Result<()> {
        files::remove_if_exists(&cfg.state)?;
        score(cx, None);
        Ok(())
    }

    fn monitor(cfg: &Config, cx: &Context) -> Result<Status> {
        match read_role(cfg)? {
            None => Ok(Status::Stopped),
            Some(Role::Unpromoted) => {
                if !cx.is_probe() {
                    score(cx, Some(5));
                }
                Ok(Status::Running)
            }
            Some(Role::Promoted) => {
                if !cx.is_probe() {
                    score(cx, Some(10));
                }
                Ok(Status::Promoted)
            }
        }
    }

    fn promote(cfg: &Config, cx: &Context) -> Result<()> {
        match read_role(cfg)? {
            None => Err(Error::generic("cannot promote: not running")),
            Some(_) => {
                write_role(cfg, Role::Promoted)?;
                score(cx, Some(10));
                Ok(())
            }
        }
    }

    fn demote(cfg: &Config, cx: &Context) -> Result<()> {
        match read_role(cfg)? {
            // Demoting a stopped instance leaves it stopped; Pacemaker reads 7 as stopped.
            None => Err(Error::not_running("not running")),
            Some(_) => {
                write_role(cfg, Role::Unpromoted)?;
                score(cx, Some(5));
                Ok(())
            }
        }
    }

    fn notify(cfg: &Config, cx: &Context) -> Result<()> {
        if let Some(n) = &cx.notify {
            ocf::info!("notify {:?}-{}", n.kind, n.operation);
        }
        if !cfg.notify_delay.is_zero() {
            cx.deadline.sleep(cfg.notify_delay);
        }
        Ok(())
    }

    fn reload_agent(_cfg: &Config, _cx: &Context) -> Result<()> {
        // notify_delay is read at every notify: nothing to apply.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::testing::Run;
    use ocf::Rc;

    #[test]
    fn roles_round_trip() {
        let d = std::env::temp_dir().join(format!("ocfrs-stateful-{}", std::process::id()));
        let r = Run::agent::<Stateful>()
            .param("state", d.join("s"))
            .recurring();
        r.clone().action("monitor").run().assert_rc(Rc::NotRunning);
        r.clone().action("promote").run().assert_rc(Rc::ErrGeneric);
        r.clone().action("start").run().assert_rc(Rc::Success);
        r.clone().action("monitor").run().assert_rc(Rc::Success);
        r.clone().action("promote").run().assert_rc(Rc::Success);
        r.clone().action("promote").run().assert_rc(Rc::Success);
        r.clone()
            .action("monitor")
            .run()
            .assert_rc(Rc::RunningPromoted);
        r.clone()
            .action("notify")
            .env("OCF_RESKEY_CRM_meta_notify_type", "pre")
            .env("OCF_RESKEY_CRM_meta_notify_operation", "demote")
            .run()
            .assert_rc(Rc::Success);
        r.clone().action("demote").run().assert_rc(Rc::Success);
        r.clone().action("monitor").run().assert_rc(Rc::Success);
        r.clone().action("stop").run().assert_rc(Rc::Success);
        r.clone().action("stop").run().assert_rc(Rc::Success);
        r.clone().action("demote").run().assert_rc(Rc::NotRunning);
        r.action("monitor").run().assert_rc(Rc::NotRunning);
        let _ = std::fs::remove_dir_all(d);
    }
}
