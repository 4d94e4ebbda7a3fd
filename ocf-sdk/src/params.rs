//! Typed parameter access: `OCF_RESKEY_<name>` read through the agent's declaration.
//!
//! Rules (the same for every agent):
//! * **unset** → the declared default (or `None`/error for required parameters);
//! * **explicitly empty** → per [`Empty`]: the default for booleans, integers and selects,
//!   an empty string for strings unless the declaration says otherwise;
//! * **booleans** accept `1 yes y true t on ja j` and `0 no n false f off nein`, case-insensitively
//!   and with surrounding blanks; anything else is exit 6 (shell agents silently read it as
//!   false);
//! * **integers** are decimal `i64` with optional sign, checked against the declared range;
//! * **selects** must be one of the options (case-insensitive, returned in the declared case);
//! * **every value** must be valid UTF-8 without control characters other than tab: such a
//!   value is exit 6 with a reason that shows the value escaped (or hidden, for secrets);
//! * a **deprecated** parameter's value is used for its replacement when the replacement is
//!   unset, with a warning.
//!
//! Nothing here executes or interprets a value; values are data.

use crate::env::{display_bytes, Env};
use crate::exit::{Error, Result};
use crate::meta::{Agent, Empty, Param, ParamType};
use std::cell::RefCell;

/// Parameter names Pacemaker or rgmanager pass that no agent declares.
const FRAMEWORK_KEYS: &[&str] = &[
    "crm_feature_set",
    "OCF_CHECK_LEVEL",
    "trace_ra",
    "trace_dir",
    "trace_file",
];

/// Accepted spellings of true.
pub const TRUE_WORDS: &[&str] = &["1", "yes", "y", "true", "t", "on", "ja", "j"];
/// Accepted spellings of false.
pub const FALSE_WORDS: &[&str] = &["0", "no", "n", "false", "f", "off", "nein"];

/// Parse a boolean the way shell agents' `ocf_is_true` would accept it (and its negatives).
pub fn parse_bool(s: &str) -> Option<bool> {
    let t = s.trim().to_ascii_lowercase();
    if TRUE_WORDS.contains(&t.as_str()) {
        Some(true)
    } else if FALSE_WORDS.contains(&t.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// Typed view of the instance parameters of one invocation.
///
/// `{:?}` shows the declared parameters that are set, with `(secret)` for the value of one
/// declared secret.
pub struct Params<'a> {
    agent: &'a Agent,
    env: &'a Env,
    warnings: RefCell<Vec<String>>,
}

impl std::fmt::Debug for Params<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for p in self.agent.params {
            if let Some(v) = self.env.get_os(&format!("OCF_RESKEY_{}", p.name)) {
                if p.secret {
                    m.entry(&p.name, &format_args!("(secret)"));
                } else {
                    m.entry(&p.name, &display_bytes(v));
                }
            }
        }
        m.finish()
    }
}

impl<'a> Params<'a> {
    /// Parameters of `agent` as found in `env`.
    pub fn new(agent: &'a Agent, env: &'a Env) -> Params<'a> {
        Params {
            agent,
            env,
            warnings: RefCell::new(Vec::new()),
        }
    }

    /// Warnings gathered so far (deprecated names used, unknown names); the dispatcher logs
    /// them.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut self.warnings.borrow_mut())
    }

    fn warn(&self, msg: String) {
        let mut w = self.warnings.borrow_mut();
        if !w.contains(&msg) {
            w.push(msg);
        }
    }

    fn shown(p: &Param, v: &str) -> String {
        if p.secret {
            "(secret)".to_string()
        } else {
            let s = display_bytes(std::ffi::OsStr::new(v));
            if s.chars().count() > 40 {
                format!("'{}...'", s.chars().take(37).collect::<String>())
            } else {
                format!("'{s}'")
            }
        }
    }

    /// The raw text for `p` as configured: resolves deprecated aliases and applies the empty
    /// rule. `Ok(None)` means "unset" (so the default applies).
    fn configured(&self, p: &Param) -> Result<Option<String>> {
        let own = self.lookup(p)?;
        let own = match own {
            Some(v) => Some(v),
            None => {
                let mut found = None;
                for old in self
                    .agent
                    .params
                    .iter()
                    .filter(|o| o.deprecated.and_then(|d| d.replaced_with) == Some(p.name))
                {
                    if let Some(v) = self.lookup(old)? {
                        self.warn(format!(
                            "parameter {} is deprecated, use {} instead",
                            old.name, p.name
                        ));
                        found = Some(v);
                        break;
                    }
                }
                found
            }
        };
        if own.is_some() && p.deprecated.is_some() {
            let hint = p
                .deprecated
                .and_then(|d| d.replaced_with)
                .map(|r| format!(", use {r} instead"))
                .unwrap_or_default();
            self.warn(format!("parameter {} is deprecated{hint}", p.name));
        }
        Ok(own)
    }

    fn lookup(&self, p: &Param) -> Result<Option<String>> {
        let key = format!("OCF_RESKEY_{}", p.name);
        let Some(raw) = self.env.get_os(&key) else {
            return Ok(None);
        };
        let Some(v) = raw.to_str() else {
            let shown = if p.secret {
                "(secret)".to_string()
            } else {
                display_bytes(raw)
            };
            return Err(Error::configured(format!(
                "parameter {}: value {shown} is not valid UTF-8",
                p.name
            )));
        };
        if v.chars().any(|c| c.is_control() && c != '\t') {
            return Err(Error::configured(format!(
                "parameter {}: value {} contains control characters",
                p.name,
                Self::shown(p, v)
            )));
        }
        if v.trim().is_empty() {
            return match p.empty {
                Empty::IsDefault => Ok(None),
                Empty::IsValue => Ok(Some(v.to_string())),
                Empty::IsError => Err(Error::configured(format!(
                    "parameter {} must not be empty",
                    p.name
                ))),
            };
        }
        Ok(Some(v.to_string()))
    }

    /// Whether the parameter (or a deprecated alias of it) is configured.
    pub fn is_set(&self, p: &Param) -> bool {
        matches!(self.configured(p), Ok(Some(_)) | Err(_))
    }

    /// The text value, or the default, or `None`.
    ///
    /// # Errors
    /// 6 for a malformed value (non-UTF-8, control characters, empty when forbidden).
    pub fn opt_string(&self, p: &Param) -> Result<Option<String>> {
        Ok(self
            .configured(p)?
            .or_else(|| p.default.map(str::to_string)))
    }

    /// A path parameter: absolute as given, or this instance's file
    /// `<run dir>/<type>/<instance>.<ext>` when empty or unset
    /// ([`crate::files::absolute_or_instance_file`]).
    ///
    /// # Errors
    /// 6 when the value is a relative path or malformed.
    pub fn path_or_instance_file(
        &self,
        p: &Param,
        cx: &crate::Context,
        ext: &str,
    ) -> Result<std::path::PathBuf> {
        let value = self.opt_string(p)?.unwrap_or_default();
        crate::files::absolute_or_instance_file(cx, p.name, &value, ext)
    }

    /// The text value or default; a required parameter that is unset is exit 6, an optional
    /// one without default is the empty string.
    ///
    /// # Errors
    /// 6 when missing-and-required or malformed.
    pub fn string(&self, p: &Param) -> Result<String> {
        match self.opt_string(p)? {
            Some(v) => Ok(v),
            None if p.required => Err(missing(p)),
            None => Ok(String::new()),
        }
    }

    /// A boolean value (default `false` when nothing is declared).
    ///
    /// # Errors
    /// 6 when the value is not a recognised boolean.
    pub fn bool(&self, p: &Param) -> Result<bool> {
        Ok(self.opt_bool(p)?.unwrap_or(false))
    }

    /// A boolean value, `None` when unset without default.
    ///
    /// # Errors
    /// 6 when the value is not a recognised boolean.
    pub fn opt_bool(&self, p: &Param) -> Result<Option<bool>> {
        match self.opt_string(p)? {
            None => Ok(None),
            Some(v) => parse_bool(&v).map(Some).ok_or_else(|| {
                Error::configured(format!(
                    "parameter {}: {} is not a boolean (use true or false)",
                    p.name,
                    Self::shown(p, &v)
                ))
            }),
        }
    }

    /// An integer value, `None` when unset without default.
    ///
    /// # Errors
    /// 6 when not an integer or out of the declared range.
    pub fn opt_int(&self, p: &Param) -> Result<Option<i64>> {
        let Some(v) = self.opt_string(p)? else {
            return Ok(None);
        };
        let t = v.trim();
        let n: i64 = t.strip_prefix('+').unwrap_or(t).parse().map_err(|_| {
            Error::configured(format!(
                "parameter {}: {} is not an integer",
                p.name,
                Self::shown(p, &v)
            ))
        })?;
        if let ParamType::Integer { min, max } = p.kind {
            if n < min || n > max {
                let range = match (min, max) {
                    (i64::MIN, m) => format!("at most {m}"),
                    (m, i64::MAX) => format!("at least {m}"),
                    (a, b) => format!("between {a} and {b}"),
                };
                return Err(Error::configured(format!(
                    "parameter {}: {n} must be {range}",
                    p.name
                )));
            }
        }
        Ok(Some(n))
    }

    /// An integer value; required-and-unset is exit 6, optional-and-unset without default is 0.
    ///
    /// # Errors
    /// 6 when missing-and-required, not an integer or out of range.
    pub fn int(&self, p: &Param) -> Result<i64> {
        match self.opt_int(p)? {
            Some(n) => Ok(n),
            None if p.required => Err(missing(p)),
            None => Ok(0),
        }
    }

    /// A select value, returned as the declared option.
    ///
    /// # Errors
    /// 6 when not one of the options, or missing-and-required.
    pub fn select(&self, p: &Param) -> Result<&'static str> {
        let ParamType::Select(opts) = p.kind else {
            return Err(Error::generic(format!(
                "internal: parameter {} is not a select",
                p.name
            )));
        };
        let v = match self.opt_string(p)? {
            Some(v) => v,
            None if p.required => return Err(missing(p)),
            None => {
                return opts
                    .first()
                    .copied()
                    .ok_or_else(|| Error::generic("internal: empty select"))
            }
        };
        opts.iter()
            .copied()
            .find(|o| o.eq_ignore_ascii_case(v.trim()))
            .ok_or_else(|| {
                Error::configured(format!(
                    "parameter {}: {} is not one of {}",
                    p.name,
                    Self::shown(p, &v),
                    opts.join(", ")
                ))
            })
    }

    /// Check every declared parameter: required ones are set, typed ones parse. Also records
    /// a warning for each `OCF_RESKEY_*` name the agent does not declare.
    ///
    /// # Errors
    /// The first problem found, as exit 6.
    pub fn check_all(&self) -> Result<()> {
        for p in self.agent.params {
            if p.required && p.deprecated.is_none() && self.opt_string(p)?.is_none() {
                return Err(missing(p));
            }
            match p.kind {
                ParamType::Boolean => drop(self.opt_bool(p)?),
                ParamType::Integer { .. } => drop(self.opt_int(p)?),
                ParamType::Select(_) => {
                    if self.opt_string(p)?.is_some() {
                        self.select(p)?;
                    }
                }
                ParamType::String => drop(self.opt_string(p)?),
            }
        }
        for (name, _) in self.env.with_prefix("OCF_RESKEY_") {
            let framework = name.starts_with("CRM_meta_")
                || name.starts_with("RGMANAGER_meta_")
                || FRAMEWORK_KEYS.contains(&name);
            if !framework && self.agent.param(name).is_none() {
                self.warn(format!(
                    "ignoring unknown parameter {}",
                    display_bytes(std::ffi::OsStr::new(name))
                ));
            }
        }
        Ok(())
    }
}

fn missing(p: &Param) -> Error {
    Error::configured(format!("required parameter {} is not set", p.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Rc;
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    const S: Param = Param::string("s").default("def");
    const R: Param = Param::string("r").required();
    const B: Param = Param::boolean("b").default("false");
    const I: Param = Param::integer("i").default("5").range(1, 10);
    const SEL: Param = Param::select("sel", &["auto", "force", "no"]).default("auto");
    const NEW: Param = Param::string("new");
    const OLD: Param = Param::string("old").deprecated_by("new", "renamed in 2.0");
    const PW: Param = Param::string("pw").secret();
    const E: Param = Param::string("e").empty(Empty::IsError);
    const AGENT: Agent = Agent::new("T", "1.1").params(&[S, R, B, I, SEL, NEW, OLD, PW, E]);

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_and_empty() {
        let e = env(&[("s", ""), ("i", ""), ("b", " ")]);
        let p = Params::new(&AGENT, &e);
        assert_eq!(p.string(&S).unwrap(), "");
        assert_eq!(p.int(&I).unwrap(), 5);
        assert!(!p.bool(&B).unwrap());
        let e = env(&[]);
        let p = Params::new(&AGENT, &e);
        assert_eq!(p.string(&S).unwrap(), "def");
        assert_eq!(p.select(&SEL).unwrap(), "auto");
        assert_eq!(p.string(&R).unwrap_err().rc(), Rc::ErrConfigured);
        assert_eq!(
            p.check_all().unwrap_err().reason(),
            "required parameter r is not set"
        );
        assert_eq!(
            Params::new(&AGENT, &env(&[("e", "")]))
                .string(&E)
                .unwrap_err()
                .rc(),
            Rc::ErrConfigured
        );
    }

    #[test]
    fn booleans_like_shell_agents() {
        for t in ["yes", "YES", "True", "1", "on", "ON", "ja", " y "] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["no", "false", "0", "off", "Nein"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        let e = env(&[("b", "maybe")]);
        let err = Params::new(&AGENT, &e).bool(&B).unwrap_err();
        assert_eq!(err.rc(), Rc::ErrConfigured);
        assert!(err.reason().contains("'maybe' is not a boolean"));
    }

    #[test]
    fn integers_and_selects() {
        let p = |v: &str| {
            Params::new(&AGENT, &env(&[("i", v)]))
                .int(&I)
                .map_err(|e| e.reason().to_string())
        };
        assert_eq!(p("+7"), Ok(7));
        assert_eq!(p(" 3 "), Ok(3));
        assert_eq!(
            p("11").unwrap_err(),
            "parameter i: 11 must be between 1 and 10"
        );
        assert!(p("1e3").is_err());
        assert!(p("99999999999999999999999").is_err());
        let s = |v: &str| {
            Params::new(&AGENT, &env(&[("sel", v)]))
                .select(&SEL)
                .map_err(|e| e.rc())
        };
        assert_eq!(s("FORCE"), Ok("force"));
        assert_eq!(s("bogus"), Err(Rc::ErrConfigured));
    }

    #[test]
    fn deprecated_maps_to_replacement() {
        let e = env(&[("old", "x"), ("r", "1")]);
        let p = Params::new(&AGENT, &e);
        assert_eq!(p.string(&NEW).unwrap(), "x");
        p.check_all().unwrap();
        let w = p.take_warnings();
        assert!(
            w.iter()
                .any(|m| m == "parameter old is deprecated, use new instead"),
            "{w:?}"
        );
        let e = env(&[("old", "x"), ("new", "y")]);
        assert_eq!(Params::new(&AGENT, &e).string(&NEW).unwrap(), "y");
    }

    #[test]
    fn malformed_values_are_6_never_panics() {
        let long = "a".repeat(100_000);
        let nasty = [
            "$(reboot)",
            "`id`",
            "; rm -rf /",
            "a\nb",
            "\u{7}",
            "' \" \\",
            long.as_str(),
        ];
        for v in nasty {
            for prm in [S, B, I, SEL, R] {
                let e = env(&[(prm.name, v)]);
                let p = Params::new(&AGENT, &e);
                let r = match prm.kind {
                    ParamType::Boolean => p.bool(&prm).map(|_| ()),
                    ParamType::Integer { .. } => p.int(&prm).map(|_| ()),
                    ParamType::Select(_) => p.select(&prm).map(|_| ()),
                    ParamType::String => p.string(&prm).map(|_| ()),
                };
                if let Err(err) = r {
                    assert_eq!(err.rc(), Rc::ErrConfigured);
                    assert!(err.reason_line().len() <= 3 * crate::exit::MAX_REASON_LEN);
                    assert!(!err.reason_line().contains('\n'));
                }
            }
        }
        let mut e = Env::new();
        e.set("OCF_RESKEY_s", OsString::from_vec(vec![0xff, 0xfe]));
        let err = Params::new(&AGENT, &e).string(&S).unwrap_err();
        assert_eq!(err.rc(), Rc::ErrConfigured);
        assert!(err.reason().contains("\\xff"));
        let err = Params::new(&AGENT, &env(&[("s", "a\nb")]))
            .string(&S)
            .unwrap_err();
        assert!(err.reason().contains("control characters"));
    }

    #[test]
    fn secrets_are_not_shown() {
        let e = env(&[("pw", "hunter2\n")]);
        let err = Params::new(&AGENT, &e).string(&PW).unwrap_err();
        assert!(!err.reason().contains("hunter2"), "{}", err.reason());
    }

    #[test]
    fn unknown_names_warn() {
        let e = env(&[("r", "1"), ("typo", "1"), ("CRM_meta_timeout", "20000")]);
        let p = Params::new(&AGENT, &e);
        p.check_all().unwrap();
        assert_eq!(
            p.take_warnings(),
            vec!["ignoring unknown parameter typo".to_string()]
        );
    }
}
