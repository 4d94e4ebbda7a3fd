//! What the caller told the agent about this invocation, besides the parameters.
//!
//! [`Context`] holds the action, the instance/type/provider names, the caller and its OCF
//! version, probe detection, interval and timeout, the check level (rounded down to a depth
//! the agent advertises), clone and promotable information, parsed notification sets,
//! migration source/target, and the action's [`Deadline`].

use crate::deadline::Deadline;
use crate::env::Env;
use crate::meta::{Agent, OcfVersion};
use std::time::{Duration, Instant};

/// Who is calling the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// pacemaker-execd (an `OCF_RESKEY_CRM_meta_interval` is always passed).
    Pacemaker,
    /// `crm_resource --force-*`/`--validate` (CRM meta timeout but no interval).
    CrmResource,
    /// rgmanager (`OCF_ROOT=/usr/share/cluster` or `RGMANAGER_meta` variables).
    Rgmanager,
    /// Anything else: an admin at a shell, a script, a test tool.
    Shell,
}

/// Whether the invocation is rgmanager's: `OCF_ROOT` is `/usr/share/cluster`, or the agent
/// was run from that directory or by an rgmanager-style `<name>.sh` file name (Pacemaker
/// types never carry a suffix).
pub fn is_rgmanager_root(env: &Env, argv0: &str) -> bool {
    let root = crate::metadata::RGMANAGER_ROOT;
    let path = std::path::Path::new(argv0);
    env.get("OCF_ROOT").map(|r| r.trim_end_matches('/')) == Some(root)
        || path
            .parent()
            .is_some_and(|p| p == std::path::Path::new(root))
        || path.extension().is_some_and(|e| e == "sh")
}

/// The OCF version the caller announces through `OCF_RA_VERSION_MAJOR`/`MINOR`.
pub fn caller_ocf_version(env: &Env) -> Option<(u32, u32)> {
    let major = env.get_nonempty("OCF_RA_VERSION_MAJOR")?.parse().ok()?;
    let minor = env
        .get_nonempty("OCF_RA_VERSION_MINOR")
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    Some((major, minor))
}

/// Detect the caller from the environment.
pub fn detect_caller(env: &Env, argv0: &str) -> Caller {
    if is_rgmanager_root(env, argv0)
        || env
            .with_prefix("OCF_RESKEY_RGMANAGER_meta_")
            .next()
            .is_some()
    {
        Caller::Rgmanager
    } else if env.contains("OCF_RESKEY_CRM_meta_interval") {
        Caller::Pacemaker
    } else if env.contains("OCF_RESKEY_crm_feature_set")
        || env.contains("OCF_RESKEY_CRM_meta_timeout")
    {
        Caller::CrmResource
    } else {
        Caller::Shell
    }
}

/// Clone and promotable-clone information (`OCF_RESKEY_CRM_meta_clone*`, `promotable`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloneInfo {
    /// This instance's number (`CRM_meta_clone`), if given.
    pub instance: Option<u32>,
    /// `clone_max`.
    pub clone_max: u32,
    /// `clone_node_max`.
    pub clone_node_max: u32,
    /// `globally_unique`.
    pub globally_unique: bool,
    /// `notify`.
    pub notify: bool,
    /// `promotable` (or a `promoted_max`/`master_max` above zero).
    pub promotable: bool,
    /// `promoted_max` (or deprecated `master_max`).
    pub promoted_max: u32,
    /// `promoted_node_max` (or deprecated `master_node_max`).
    pub promoted_node_max: u32,
}

/// One resource instance in a notification list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyEntry {
    /// Resource instance name (`rsc:N`).
    pub resource: String,
    /// Node name, when the list has one.
    pub uname: Option<String>,
}

/// Notification type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyType {
    /// Before the operation.
    Pre,
    /// After the operation.
    Post,
}

/// The parsed `OCF_RESKEY_CRM_meta_notify_*` variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    /// pre or post.
    pub kind: NotifyType,
    /// The operation: start, stop, promote or demote.
    pub operation: String,
    /// Instances being started.
    pub start: Vec<NotifyEntry>,
    /// Instances being stopped.
    pub stop: Vec<NotifyEntry>,
    /// Instances being promoted.
    pub promote: Vec<NotifyEntry>,
    /// Instances being demoted.
    pub demote: Vec<NotifyEntry>,
    /// Active instances.
    pub active: Vec<NotifyEntry>,
    /// Inactive instances (no uname).
    pub inactive: Vec<NotifyEntry>,
    /// Promoted instances (or legacy `master`).
    pub promoted: Vec<NotifyEntry>,
    /// Unpromoted instances (or legacy `slave`).
    pub unpromoted: Vec<NotifyEntry>,
    /// Nodes available.
    pub available_unames: Vec<String>,
    /// All nodes.
    pub all_unames: Vec<String>,
}

fn words(env: &Env, key: &str) -> Vec<String> {
    env.get(&format!("OCF_RESKEY_CRM_meta_notify_{key}"))
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

fn entries(env: &Env, set: &str, legacy: Option<&str>) -> Vec<NotifyEntry> {
    let has = |s: &str| env.contains(&format!("OCF_RESKEY_CRM_meta_notify_{s}_resource"));
    let set = match legacy {
        Some(l) if !has(set) && has(l) => l,
        _ => set,
    };
    let rsc = words(env, &format!("{set}_resource"));
    let unames = words(env, &format!("{set}_uname"));
    rsc.into_iter()
        .enumerate()
        .map(|(i, resource)| NotifyEntry {
            resource,
            uname: unames.get(i).cloned(),
        })
        .collect()
}

impl Notify {
    /// Parse from the environment; `None` when no notification type is given.
    pub fn from_env(env: &Env) -> Option<Notify> {
        let kind = match env.get_nonempty("OCF_RESKEY_CRM_meta_notify_type")? {
            "pre" => NotifyType::Pre,
            "post" => NotifyType::Post,
            _ => return None,
        };
        Some(Notify {
            kind,
            operation: env
                .get_nonempty("OCF_RESKEY_CRM_meta_notify_operation")
                .unwrap_or("")
                .to_string(),
            start: entries(env, "start", None),
            stop: entries(env, "stop", None),
            promote: entries(env, "promote", None),
            demote: entries(env, "demote", None),
            active: entries(env, "active", None),
            inactive: entries(env, "inactive", None),
            promoted: entries(env, "promoted", Some("master")),
            unpromoted: entries(env, "unpromoted", Some("slave")),
            available_unames: words(env, "available_uname"),
            all_unames: words(env, "all_uname"),
        })
    }
}

/// Everything about one invocation except the parameters.
#[derive(Debug, Clone)]
pub struct Context {
    /// The action as requested (`status` stays `status`).
    pub action: String,
    /// Extra command-line arguments (rgmanager's `migrate <node>` passes the target).
    pub args: Vec<String>,
    /// `OCF_RESOURCE_INSTANCE` (the type name when unset).
    pub instance: String,
    /// `OCF_RESOURCE_TYPE` (the declared name when unset).
    pub resource_type: String,
    /// `OCF_RESOURCE_PROVIDER`.
    pub provider: Option<String>,
    /// The caller.
    pub caller: Caller,
    /// The OCF version the caller announces.
    pub caller_version: Option<(u32, u32)>,
    /// The OCF version the agent declares.
    pub agent_version: OcfVersion,
    /// Interval in ms (`OCF_RESKEY_CRM_meta_interval`), 0 when unset.
    pub interval_ms: u64,
    /// Caller timeout in ms, when given.
    pub timeout_ms: Option<u64>,
    /// The check level asked for (`OCF_CHECK_LEVEL`), if any.
    pub requested_depth: Option<u32>,
    /// The check level to run: the highest advertised depth not above the requested one.
    pub depth: u8,
    /// Clone information, when the resource is a clone.
    pub clone: Option<CloneInfo>,
    /// Notification variables, when present.
    pub notify: Option<Notify>,
    /// `CRM_meta_migrate_source`.
    pub migrate_source: Option<String>,
    /// `CRM_meta_migrate_target` (or rgmanager's `migrate <node>` argument).
    pub migrate_target: Option<String>,
    /// When this action must be done by.
    pub deadline: Deadline,
    /// When the dispatcher's [`crate::deadline::Watchdog`] answers for the action if it has
    /// not answered itself: after [`Context::deadline`], before the caller's timeout.
    pub watchdog: Deadline,
    /// The environment (for agent-specific variables); the values of parameters the agent
    /// declares secret are marked, so `{:?}` never shows them.
    pub env: Env,
}

impl Context {
    /// Build the context for `action` from `env`.
    pub fn new(
        agent: &Agent,
        action: &str,
        args: &[String],
        mut env: Env,
        argv0: &str,
        start: Instant,
    ) -> Context {
        for p in agent.params.iter().filter(|p| p.secret) {
            env.mark_secret(format!("OCF_RESKEY_{}", p.name));
        }
        let caller = detect_caller(&env, argv0);
        let interval_ms = env.get_u64("OCF_RESKEY_CRM_meta_interval").unwrap_or(0);
        let timeout_ms = match caller {
            Caller::Rgmanager => env
                .get_u64("OCF_RESKEY_RGMANAGER_meta_timeout")
                .filter(|t| *t > 0)
                .map(|s| s.saturating_mul(1000)),
            _ => env
                .get_u64("OCF_RESKEY_CRM_meta_timeout")
                .filter(|t| *t > 0),
        };
        let total = timeout_ms.map_or_else(
            || Duration::from_secs(agent.timeout_of(action).into()),
            Duration::from_millis,
        );
        let requested_depth = env
            .get_nonempty("OCF_CHECK_LEVEL")
            .or_else(|| env.get_nonempty("OCF_RESKEY_OCF_CHECK_LEVEL"))
            .and_then(|s| s.parse::<u32>().ok());
        let depth = round_down_depth(&agent.monitor_depths(), requested_depth.unwrap_or(0));
        let meta = |k: &str| {
            env.get_nonempty(&format!("OCF_RESKEY_CRM_meta_{k}"))
                .map(str::to_string)
        };
        let meta_u32 = |k: &str| meta(k).and_then(|v| v.parse::<u32>().ok());
        let meta_bool = |k: &str| {
            meta(k)
                .and_then(|v| crate::params::parse_bool(&v))
                .unwrap_or(false)
        };
        let clone = meta_u32("clone_max").map(|clone_max| {
            let promoted_max = meta_u32("promoted_max")
                .or_else(|| meta_u32("master_max"))
                .unwrap_or(0);
            CloneInfo {
                instance: meta_u32("clone"),
                clone_max,
                clone_node_max: meta_u32("clone_node_max").unwrap_or(1),
                globally_unique: meta_bool("globally_unique"),
                notify: meta_bool("notify"),
                promotable: meta_bool("promotable") || promoted_max > 0,
                promoted_max,
                promoted_node_max: meta_u32("promoted_node_max")
                    .or_else(|| meta_u32("master_node_max"))
                    .unwrap_or(0),
            }
        });
        let mut migrate_target = meta("migrate_target");
        if migrate_target.is_none() && matches!(action, "migrate" | "migrate_to") {
            // rgmanager passes the target node as the argument after the action.
            migrate_target = args.first().cloned();
        }
        Context {
            action: action.to_string(),
            args: args.to_vec(),
            instance: env
                .get_nonempty("OCF_RESOURCE_INSTANCE")
                .unwrap_or(agent.name)
                .to_string(),
            resource_type: env
                .get_nonempty("OCF_RESOURCE_TYPE")
                .unwrap_or(agent.name)
                .to_string(),
            provider: env
                .get_nonempty("OCF_RESOURCE_PROVIDER")
                .map(str::to_string),
            caller,
            caller_version: caller_ocf_version(&env),
            agent_version: agent.ocf_version,
            interval_ms,
            timeout_ms,
            requested_depth,
            depth,
            clone,
            notify: Notify::from_env(&env),
            migrate_source: meta("migrate_source"),
            migrate_target,
            deadline: Deadline::for_timeout(start, total),
            watchdog: Deadline::for_watchdog(start, total),
            env,
        }
    }

    /// A probe: a monitor with interval 0 or unset (never under rgmanager, which has no
    /// probes).
    pub fn is_probe(&self) -> bool {
        self.action == "monitor" && self.interval_ms == 0 && self.caller != Caller::Rgmanager
    }

    /// A monitor-like action: `monitor`, or `status` (rgmanager's name for it).
    pub fn is_monitor(&self) -> bool {
        self.action == "monitor" || self.action == "status"
    }

    /// Whether the resource is a clone.
    pub fn is_clone(&self) -> bool {
        self.clone.as_ref().is_some_and(|c| c.clone_max > 0)
    }

    /// Whether the resource is a promotable clone.
    pub fn is_promotable(&self) -> bool {
        self.clone.as_ref().is_some_and(|c| c.promotable)
    }

    /// Whether degraded codes (190/191) may be returned: the agent claims OCF 1.1, the caller
    /// announces 1.1 or newer, and the caller is not rgmanager.
    pub fn degraded_allowed(&self) -> bool {
        self.agent_version >= OcfVersion::V1_1
            && self.caller_version >= Some((1, 1))
            && self.caller != Caller::Rgmanager
    }

    /// For validate-all: whether host checks (check level 10) are wanted. They are unless the
    /// caller explicitly asks for level 0 (syntax only, as OCF 1.1 defines).
    pub fn wants_host_checks(&self) -> bool {
        self.requested_depth.is_none_or(|d| d >= 10)
    }
}

/// The highest supported depth not above `requested` (0 when nothing fits).
pub fn round_down_depth(supported: &[u8], requested: u32) -> u8 {
    supported
        .iter()
        .copied()
        .filter(|d| u32::from(*d) <= requested)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::Action;

    const AGENT: Agent = Agent::new("T", "1.1").actions(&[
        Action::start(30),
        Action::monitor(20, 10),
        Action::monitor(40, 60).depth(10),
        Action::monitor(60, 120).depth(20),
    ]);

    fn cx(action: &str, env: Env) -> Context {
        Context::new(
            &AGENT,
            action,
            &[],
            env,
            "/usr/lib/ocf/resource.d/x/T",
            Instant::now(),
        )
    }

    #[test]
    fn probe_detection() {
        assert!(cx("monitor", Env::new()).is_probe());
        assert!(cx(
            "monitor",
            Env::new().with("OCF_RESKEY_CRM_meta_interval", "0")
        )
        .is_probe());
        assert!(cx(
            "monitor",
            Env::new().with("OCF_RESKEY_CRM_meta_interval", "")
        )
        .is_probe());
        assert!(!cx(
            "monitor",
            Env::new().with("OCF_RESKEY_CRM_meta_interval", "10000")
        )
        .is_probe());
        assert!(!cx("start", Env::new()).is_probe());
        assert!(!cx("monitor", Env::new().with("OCF_ROOT", "/usr/share/cluster")).is_probe());
    }

    #[test]
    fn check_level_rounds_down() {
        let d = |v: &str| cx("monitor", Env::new().with("OCF_CHECK_LEVEL", v)).depth;
        assert_eq!(d("0"), 0);
        assert_eq!(d("5"), 0);
        assert_eq!(d("15"), 10);
        assert_eq!(d("20"), 20);
        assert_eq!(d("99"), 20);
        assert_eq!(d("junk"), 0);
        assert_eq!(
            cx(
                "monitor",
                Env::new().with("OCF_RESKEY_OCF_CHECK_LEVEL", "10")
            )
            .depth,
            10
        );
        assert!(cx("validate-all", Env::new()).wants_host_checks());
        assert!(!cx("validate-all", Env::new().with("OCF_CHECK_LEVEL", "0")).wants_host_checks());
    }

    #[test]
    fn callers_and_versions() {
        let pm = Env::new()
            .with("OCF_RESKEY_CRM_meta_interval", "0")
            .with("OCF_RESKEY_CRM_meta_timeout", "5000")
            .with("OCF_RA_VERSION_MAJOR", "1")
            .with("OCF_RA_VERSION_MINOR", "1");
        let c = cx("start", pm);
        assert_eq!(c.caller, Caller::Pacemaker);
        assert!(c.degraded_allowed());
        assert_eq!(c.timeout_ms, Some(5000));
        assert!(c.deadline.remaining() <= Duration::from_millis(4500));
        let c = cx(
            "start",
            Env::new().with("OCF_RESKEY_CRM_meta_timeout", "5000"),
        );
        assert_eq!(c.caller, Caller::CrmResource);
        assert!(!c.degraded_allowed());
        let c = cx(
            "status",
            Env::new()
                .with("OCF_ROOT", "/usr/share/cluster")
                .with("OCF_RESKEY_RGMANAGER_meta_timeout", "7"),
        );
        assert_eq!(c.caller, Caller::Rgmanager);
        assert_eq!(c.timeout_ms, Some(7000));
        let c = cx("start", Env::new());
        assert_eq!(c.caller, Caller::Shell);
        assert!(c.deadline.remaining() > Duration::from_secs(20));
        assert_eq!(c.instance, "T");
    }

    #[test]
    fn clones_notify_migrate() {
        let e = Env::new()
            .with("OCF_RESKEY_CRM_meta_clone", "1")
            .with("OCF_RESKEY_CRM_meta_clone_max", "3")
            .with("OCF_RESKEY_CRM_meta_globally_unique", "true")
            .with("OCF_RESKEY_CRM_meta_master_max", "1")
            .with("OCF_RESKEY_CRM_meta_notify_type", "pre")
            .with("OCF_RESKEY_CRM_meta_notify_operation", "promote")
            .with("OCF_RESKEY_CRM_meta_notify_promote_resource", "r:0 r:2")
            .with("OCF_RESKEY_CRM_meta_notify_promote_uname", "n1 n3")
            .with("OCF_RESKEY_CRM_meta_notify_master_resource", " ")
            .with("OCF_RESKEY_CRM_meta_notify_inactive_resource", "r:1")
            .with("OCF_RESKEY_CRM_meta_migrate_target", "n2");
        let c = cx("notify", e);
        let cl = c.clone.clone().unwrap();
        assert_eq!(
            (cl.instance, cl.clone_max, cl.globally_unique, cl.promotable),
            (Some(1), 3, true, true)
        );
        let n = c.notify.unwrap();
        assert_eq!(n.kind, NotifyType::Pre);
        assert_eq!(n.operation, "promote");
        assert_eq!(
            n.promote[1],
            NotifyEntry {
                resource: "r:2".into(),
                uname: Some("n3".into())
            }
        );
        assert!(n.promoted.is_empty());
        assert_eq!(n.inactive[0].uname, None);
        assert_eq!(c.migrate_target.as_deref(), Some("n2"));
        let c = Context::new(
            &AGENT,
            "migrate",
            &["node9".to_string()],
            Env::new(),
            "x",
            Instant::now(),
        );
        assert_eq!(c.migrate_target.as_deref(), Some("node9"));
    }

    #[test]
    fn huge_and_malformed_timings_saturate_or_are_ignored() {
        for (k, v) in [
            ("OCF_RESKEY_CRM_meta_timeout", "18446744073709551615"),
            ("OCF_RESKEY_CRM_meta_timeout", "99999999999999999999999"),
            ("OCF_RESKEY_CRM_meta_timeout", "soon"),
            ("OCF_RESKEY_CRM_meta_timeout", "-1"),
            ("OCF_RESKEY_RGMANAGER_meta_timeout", "18446744073709551615"),
            ("OCF_RESKEY_RGMANAGER_meta_timeout", "1e9"),
            ("OCF_RESKEY_CRM_meta_interval", "18446744073709551615"),
            ("OCF_CHECK_LEVEL", "4294967296"),
            ("OCF_RESKEY_CRM_meta_clone_max", "4294967296"),
        ] {
            let c = cx("monitor", Env::new().with(k, v));
            assert!(c.deadline.remaining() > Duration::from_secs(1), "{k}={v}");
            assert!(c.watchdog.instant() >= c.deadline.instant(), "{k}={v}");
        }
        let c = cx(
            "monitor",
            Env::new()
                .with("OCF_ROOT", "/usr/share/cluster")
                .with("OCF_RESKEY_RGMANAGER_meta_timeout", "18446744073709551615"),
        );
        assert_eq!(c.timeout_ms, Some(u64::MAX));
    }
}
