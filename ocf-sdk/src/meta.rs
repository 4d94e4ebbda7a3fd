//! The declaration of an agent: its parameters and actions, as `const` data.
//!
//! One [`Agent`] value per agent is the single source of truth. Meta-data
//! ([`crate::metadata`]), typed parameter parsing ([`crate::params`]), the check-level
//! round-down ([`crate::context`]), `usage`/`methods` ([`crate::dispatch`]) and man pages
//! ([`crate::man`]) are all derived from it. This module only describes; it never reads the
//! environment.
//!
//! ```
//! use ocf::meta::{Agent, Param, Action};
//! const STATE: Param = Param::string("state")
//!     .short("State file")
//!     .long("Location of the state file.")
//!     .default("/run/example.state")
//!     .unique();
//! const AGENT: Agent = Agent::new("Example", "1.0")
//!     .short("An example")
//!     .long("Does nothing useful.")
//!     .params(&[STATE])
//!     .actions(&[Action::start(20), Action::stop(20), Action::monitor(20, 10)]);
//! assert_eq!(AGENT.param("state").map(|p| p.name), Some("state"));
//! ```

/// The OCF resource agent API version an agent claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OcfVersion {
    /// OCF 1.0: meta-data valid against `ra-api-1.dtd`.
    V1_0,
    /// OCF 1.1: `reload-agent`, `reloadable`, `select`, `deprecated`, `unique-group`,
    /// degraded exit codes.
    V1_1,
}

impl OcfVersion {
    /// `"1.0"` or `"1.1"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            OcfVersion::V1_0 => "1.0",
            OcfVersion::V1_1 => "1.1",
        }
    }

    /// Parse `"1.0"`/`"1.1"` (anything else is `None`).
    pub fn parse(s: &str) -> Option<OcfVersion> {
        match s.trim() {
            "1.0" => Some(OcfVersion::V1_0),
            "1.1" => Some(OcfVersion::V1_1),
            _ => None,
        }
    }
}

/// The type of a parameter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// A boolean, accepting the spellings shell agents accept (see [`crate::params::parse_bool`]).
    Boolean,
    /// Free text.
    String,
    /// A signed decimal integer, optionally bounded.
    Integer {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// One of a fixed set of values (OCF 1.1 `select`; a `string` in 1.0 meta-data).
    Select(&'static [&'static str]),
}

/// How an explicitly configured empty value (`OCF_RESKEY_x=""`) is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Empty {
    /// Empty means "use the default" (as if unset). The default for booleans, integers and
    /// selects, which cannot be empty.
    IsDefault,
    /// Empty is a value of its own (an empty string). The default for strings.
    IsValue,
    /// Empty is a configuration error (exit 6).
    IsError,
}

/// Why and by what a parameter is deprecated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deprecation {
    /// The parameter that replaces it, if any. Its value is used when the replacement is
    /// unset.
    pub replaced_with: Option<&'static str>,
    /// Why (plain English).
    pub desc: &'static str,
}

/// One parameter (`OCF_RESKEY_<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Name, as in `OCF_RESKEY_<name>`.
    pub name: &'static str,
    /// Value type.
    pub kind: ParamType,
    /// One-line description.
    pub shortdesc: &'static str,
    /// Full description (plain text, paragraphs separated by blank lines).
    pub longdesc: &'static str,
    /// Default applied when unset (and, per [`Empty`], when empty).
    pub default: Option<&'static str>,
    /// Every instance must set it.
    pub required: bool,
    /// Unique across instances (OCF 1.0 `unique="1"`).
    pub unique: bool,
    /// OCF 1.1 unique group: the combination of all members is unique.
    pub unique_group: Option<&'static str>,
    /// A change can be applied by `reload-agent` without a restart.
    pub reloadable: bool,
    /// Deprecated, maybe with a replacement.
    pub deprecated: Option<Deprecation>,
    /// For experts only: shown last in docs, marked "advanced" in the man page. (Not
    /// emitted as an XML attribute: the OCF 1.1 schema does not accept `advanced`.)
    pub advanced: bool,
    /// rgmanager's `primary` attribute: the parameter that names the instance.
    pub primary: bool,
    /// rgmanager's `inherit` attribute (`TYPE%attr` or `attr`): the value comes from an
    /// ancestor resource in rgmanager's tree (parent-child data passing). Only the
    /// `rgmanager` meta-data flavour shows it; there the parameter is not `required`
    /// (rgmanager refuses the combination), and the agent checks the value itself.
    pub inherit: Option<&'static str>,
    /// The value is a secret: never logged, never put in an exit reason.
    pub secret: bool,
    /// Treatment of an explicit empty value.
    pub empty: Empty,
}

impl Param {
    const fn base(name: &'static str, kind: ParamType, empty: Empty) -> Param {
        Param {
            name,
            kind,
            shortdesc: "",
            longdesc: "",
            default: None,
            required: false,
            unique: false,
            unique_group: None,
            reloadable: false,
            deprecated: None,
            advanced: false,
            primary: false,
            inherit: None,
            secret: false,
            empty,
        }
    }
    /// A string parameter (empty is a value).
    pub const fn string(name: &'static str) -> Param {
        Param::base(name, ParamType::String, Empty::IsValue)
    }
    /// A boolean parameter (empty means default).
    pub const fn boolean(name: &'static str) -> Param {
        Param::base(name, ParamType::Boolean, Empty::IsDefault)
    }
    /// An integer parameter of any `i64` value (empty means default).
    pub const fn integer(name: &'static str) -> Param {
        Param::base(
            name,
            ParamType::Integer {
                min: i64::MIN,
                max: i64::MAX,
            },
            Empty::IsDefault,
        )
    }
    /// A select parameter: one of `options` (empty means default).
    pub const fn select(name: &'static str, options: &'static [&'static str]) -> Param {
        Param::base(name, ParamType::Select(options), Empty::IsDefault)
    }
    /// Set the one-line description.
    pub const fn short(mut self, text: &'static str) -> Param {
        self.shortdesc = text;
        self
    }
    /// Set the long description.
    pub const fn long(mut self, text: &'static str) -> Param {
        self.longdesc = text;
        self
    }
    /// Set the default value (as text; it must parse as the parameter's type).
    pub const fn default(mut self, value: &'static str) -> Param {
        self.default = Some(value);
        self
    }
    /// Mark required.
    pub const fn required(mut self) -> Param {
        self.required = true;
        self
    }
    /// Mark unique (1.0 style).
    pub const fn unique(mut self) -> Param {
        self.unique = true;
        self
    }
    /// Put in a 1.1 unique group.
    pub const fn unique_group(mut self, group: &'static str) -> Param {
        self.unique_group = Some(group);
        self
    }
    /// Mark reloadable by `reload-agent`.
    pub const fn reloadable(mut self) -> Param {
        self.reloadable = true;
        self
    }
    /// Mark deprecated in favour of `replacement`.
    pub const fn deprecated_by(mut self, replacement: &'static str, why: &'static str) -> Param {
        self.deprecated = Some(Deprecation {
            replaced_with: Some(replacement),
            desc: why,
        });
        self
    }
    /// Mark deprecated without replacement.
    pub const fn deprecated(mut self, why: &'static str) -> Param {
        self.deprecated = Some(Deprecation {
            replaced_with: None,
            desc: why,
        });
        self
    }
    /// Mark for experts only.
    pub const fn advanced(mut self) -> Param {
        self.advanced = true;
        self
    }
    /// Mark as rgmanager's primary attribute.
    pub const fn primary(mut self) -> Param {
        self.primary = true;
        self
    }
    /// Under rgmanager, take the value from an ancestor: `TYPE%attr` (the nearest ancestor
    /// of that type) or `attr` (the parent).
    pub const fn inherit(mut self, from: &'static str) -> Param {
        self.inherit = Some(from);
        self
    }
    /// Mark the value secret (never logged).
    pub const fn secret(mut self) -> Param {
        self.secret = true;
        self
    }
    /// Bound an integer parameter to `min..=max` (no effect on other types).
    pub const fn range(mut self, min: i64, max: i64) -> Param {
        if let ParamType::Integer { .. } = self.kind {
            self.kind = ParamType::Integer { min, max };
        }
        self
    }
    /// Choose how an explicit empty value is treated.
    pub const fn empty(mut self, empty: Empty) -> Param {
        self.empty = empty;
        self
    }

    /// The OCF content type name (`select` included).
    pub const fn type_name(&self) -> &'static str {
        match self.kind {
            ParamType::Boolean => "boolean",
            ParamType::String => "string",
            ParamType::Integer { .. } => "integer",
            ParamType::Select(_) => "select",
        }
    }
}

/// A role an action applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The promoted role (`Master` in old configurations).
    Promoted,
    /// The unpromoted role (`Slave` in old configurations).
    Unpromoted,
}

impl Role {
    /// The capitalised name schemas accept.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Promoted => "Promoted",
            Role::Unpromoted => "Unpromoted",
        }
    }
}

/// One advertised action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    /// Action name (`start`, `monitor`, ...).
    pub name: &'static str,
    /// Advertised timeout in seconds.
    pub timeout: u32,
    /// Suggested interval in seconds (recurring monitors).
    pub interval: Option<u32>,
    /// Check level (monitor, validate-all).
    pub depth: Option<u8>,
    /// Role the entry applies to.
    pub role: Option<Role>,
    /// Start delay in seconds.
    pub start_delay: Option<u32>,
}

impl Action {
    /// Any action by name.
    pub const fn new(name: &'static str, timeout: u32) -> Action {
        Action {
            name,
            timeout,
            interval: None,
            depth: None,
            role: None,
            start_delay: None,
        }
    }
    /// `start`.
    pub const fn start(timeout: u32) -> Action {
        Action::new("start", timeout)
    }
    /// `stop`.
    pub const fn stop(timeout: u32) -> Action {
        Action::new("stop", timeout)
    }
    /// `monitor` with a suggested interval, at depth 0.
    pub const fn monitor(timeout: u32, interval: u32) -> Action {
        let mut a = Action::new("monitor", timeout);
        a.interval = Some(interval);
        a.depth = Some(0);
        a
    }
    /// `promote`.
    pub const fn promote(timeout: u32) -> Action {
        Action::new("promote", timeout)
    }
    /// `demote`.
    pub const fn demote(timeout: u32) -> Action {
        Action::new("demote", timeout)
    }
    /// `notify`.
    pub const fn notify(timeout: u32) -> Action {
        Action::new("notify", timeout)
    }
    /// `reload` (OCF 1.1 meaning: re-read the service's own configuration).
    pub const fn reload(timeout: u32) -> Action {
        Action::new("reload", timeout)
    }
    /// `reload-agent` (apply changed reloadable parameters).
    pub const fn reload_agent(timeout: u32) -> Action {
        Action::new("reload-agent", timeout)
    }
    /// `recover`.
    pub const fn recover(timeout: u32) -> Action {
        Action::new("recover", timeout)
    }
    /// `migrate_to`.
    pub const fn migrate_to(timeout: u32) -> Action {
        Action::new("migrate_to", timeout)
    }
    /// `migrate_from`.
    pub const fn migrate_from(timeout: u32) -> Action {
        Action::new("migrate_from", timeout)
    }
    /// `validate-all`.
    pub const fn validate_all(timeout: u32) -> Action {
        Action::new("validate-all", timeout)
    }
    /// `meta-data`.
    pub const fn meta_data(timeout: u32) -> Action {
        Action::new("meta-data", timeout)
    }
    /// Set the check level.
    pub const fn depth(mut self, depth: u8) -> Action {
        self.depth = Some(depth);
        self
    }
    /// Set the suggested interval.
    pub const fn interval(mut self, seconds: u32) -> Action {
        self.interval = Some(seconds);
        self
    }
    /// Set the role.
    pub const fn role(mut self, role: Role) -> Action {
        self.role = Some(role);
        self
    }
    /// Set a start delay.
    pub const fn start_delay(mut self, seconds: u32) -> Action {
        self.start_delay = Some(seconds);
        self
    }
}

/// rgmanager's child ordering rule (`<child type= start= stop= forbid=>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RgChild {
    /// Child resource type (the rgmanager element name).
    pub type_name: &'static str,
    /// Start level (ascending).
    pub start: u32,
    /// Stop level (ascending).
    pub stop: u32,
    /// This child type is forbidden.
    pub forbid: bool,
}

/// What goes into `<special tag="rgmanager">`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RgSpecial {
    /// `attributes/@maxinstances`.
    pub max_instances: Option<u32>,
    /// Child ordering rules.
    pub children: &'static [RgChild],
}

/// The declaration of an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agent {
    /// Resource type: the executable's file name and `<resource-agent name=...>`.
    pub name: &'static str,
    /// The agent's own version (`<resource-agent version=...>`).
    pub version: &'static str,
    /// The highest OCF API version the agent implements.
    pub ocf_version: OcfVersion,
    /// One-line description.
    pub shortdesc: &'static str,
    /// Long description.
    pub longdesc: &'static str,
    /// Parameters, in documentation order.
    pub params: &'static [Param],
    /// Advertised actions. `meta-data` and `validate-all` are added by the SDK if missing.
    pub actions: &'static [Action],
    /// rgmanager extras.
    pub rgmanager: Option<RgSpecial>,
    /// Example configurations (one command each) for docs and man pages.
    pub examples: &'static [&'static str],
}

impl Agent {
    /// A new declaration. `ocf_version` is `"1.0"` or `"1.1"`; anything else is 1.0.
    pub const fn new(name: &'static str, ocf_version: &'static str) -> Agent {
        let v = ocf_version.as_bytes();
        let ocf_version = if v.len() == 3 && v[0] == b'1' && v[1] == b'.' && v[2] == b'1' {
            OcfVersion::V1_1
        } else {
            OcfVersion::V1_0
        };
        Agent {
            name,
            version: env!("CARGO_PKG_VERSION"),
            ocf_version,
            shortdesc: "",
            longdesc: "",
            params: &[],
            actions: &[],
            rgmanager: None,
            examples: &[],
        }
    }
    /// Set the agent's own version.
    pub const fn version(mut self, version: &'static str) -> Agent {
        self.version = version;
        self
    }
    /// Set the one-line description.
    pub const fn short(mut self, text: &'static str) -> Agent {
        self.shortdesc = text;
        self
    }
    /// Set the long description.
    pub const fn long(mut self, text: &'static str) -> Agent {
        self.longdesc = text;
        self
    }
    /// Set the parameters.
    pub const fn params(mut self, params: &'static [Param]) -> Agent {
        self.params = params;
        self
    }
    /// Set the actions.
    pub const fn actions(mut self, actions: &'static [Action]) -> Agent {
        self.actions = actions;
        self
    }
    /// Set the rgmanager extras.
    pub const fn rgmanager(mut self, special: RgSpecial) -> Agent {
        self.rgmanager = Some(special);
        self
    }
    /// Set the examples.
    pub const fn examples(mut self, examples: &'static [&'static str]) -> Agent {
        self.examples = examples;
        self
    }

    /// The parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&'static Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Whether an action of that name is advertised (meta-data and validate-all always are).
    pub fn advertises(&self, name: &str) -> bool {
        matches!(name, "meta-data" | "validate-all") || self.actions.iter().any(|a| a.name == name)
    }

    /// The first advertised entry for an action.
    pub fn action(&self, name: &str) -> Option<&'static Action> {
        self.actions.iter().find(|a| a.name == name)
    }

    /// The advertised actions plus the ones the SDK always provides, in order, without
    /// duplicates of `meta-data`/`validate-all`.
    pub fn all_actions(&self) -> Vec<Action> {
        let mut v: Vec<Action> = self.actions.to_vec();
        if !v.iter().any(|a| a.name == "validate-all") {
            v.push(Action::validate_all(20));
        }
        if !v.iter().any(|a| a.name == "meta-data") {
            v.push(Action::meta_data(5));
        }
        v
    }

    /// Monitor depths advertised, ascending, always including 0.
    pub fn monitor_depths(&self) -> Vec<u8> {
        let mut d: Vec<u8> = self
            .actions
            .iter()
            .filter(|a| a.name == "monitor" || a.name == "status")
            .map(|a| a.depth.unwrap_or(0))
            .collect();
        d.push(0);
        d.sort_unstable();
        d.dedup();
        d
    }

    /// The advertised timeout for an action in seconds (the largest entry), falling back to
    /// `monitor` for `status` and to 20 s.
    pub fn timeout_of(&self, action: &str) -> u32 {
        let lookup = |n: &str| {
            self.actions
                .iter()
                .filter(|a| a.name == n)
                .map(|a| a.timeout)
                .max()
        };
        lookup(action)
            .or_else(|| {
                if action == "status" {
                    lookup("monitor")
                } else {
                    None
                }
            })
            .unwrap_or(20)
    }

    /// Whether the agent supports roles (advertises promote and demote).
    pub fn is_promotable(&self) -> bool {
        self.advertises("promote") && self.advertises("demote")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Param = Param::integer("n").range(1, 5).default("2").reloadable();
    const A: Agent = Agent::new("T", "1.1").params(&[P]).actions(&[
        Action::start(10),
        Action::monitor(20, 10),
        Action::monitor(30, 60).depth(20),
    ]);

    #[test]
    fn declaration_is_const_and_queryable() {
        assert_eq!(A.ocf_version, OcfVersion::V1_1);
        assert_eq!(Agent::new("X", "1.0").ocf_version, OcfVersion::V1_0);
        assert_eq!(Agent::new("X", "2").ocf_version, OcfVersion::V1_0);
        assert_eq!(A.monitor_depths(), vec![0, 20]);
        assert_eq!(A.timeout_of("monitor"), 30);
        assert_eq!(A.timeout_of("status"), 30);
        assert_eq!(A.timeout_of("stop"), 20);
        assert!(A.advertises("validate-all"));
        assert!(!A.advertises("promote"));
        assert_eq!(P.kind, ParamType::Integer { min: 1, max: 5 });
        let names: Vec<_> = A.all_actions().iter().map(|a| a.name).collect();
        assert_eq!(
            names,
            ["start", "monitor", "monitor", "validate-all", "meta-data"]
        );
    }
}
