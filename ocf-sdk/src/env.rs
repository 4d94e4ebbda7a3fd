//! The environment an action runs in, captured once.
//!
//! Agents never call `std::env::var` themselves: the dispatcher captures the process
//! environment into an [`Env`] (or a test builds one), and everything else reads from it.
//! That keeps actions testable in-process and in parallel. Values are kept as raw bytes;
//! non-UTF-8 values are rejected by the typed accessors in [`crate::params`], never panic.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// A snapshot of environment variables.
///
/// `{:?}` shows every name, but the value of a variable marked secret
/// ([`Env::mark_secret`]; the dispatcher marks the parameters an agent declares secret) only
/// as `(secret)`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<OsString, OsString>,
    secret: BTreeSet<OsString>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in &self.vars {
            if self.secret.contains(k) {
                m.entry(&display_bytes(k), &format_args!("(secret)"));
            } else {
                m.entry(&display_bytes(k), &display_bytes(v));
            }
        }
        m.finish()
    }
}

impl Env {
    /// An empty environment.
    pub fn new() -> Env {
        Env::default()
    }

    /// The current process environment.
    pub fn from_process() -> Env {
        Env {
            vars: std::env::vars_os().collect(),
            secret: BTreeSet::new(),
        }
    }

    /// Mark the variable `name` secret: its value never appears in `{:?}` output.
    pub fn mark_secret(&mut self, name: impl AsRef<OsStr>) {
        self.secret.insert(name.as_ref().to_owned());
    }

    /// Whether `name` is marked secret.
    pub fn is_secret(&self, name: &str) -> bool {
        self.secret.contains(OsStr::new(name))
    }

    /// Builder: set a variable.
    #[must_use]
    pub fn with(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Env {
        self.set(name, value);
        self
    }

    /// Set a variable.
    pub fn set(&mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) {
        self.vars
            .insert(name.as_ref().to_owned(), value.as_ref().to_owned());
    }

    /// Remove a variable.
    pub fn remove(&mut self, name: impl AsRef<OsStr>) {
        self.vars.remove(name.as_ref());
    }

    /// Raw value.
    pub fn get_os(&self, name: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(name)).map(OsString::as_os_str)
    }

    /// Value as UTF-8 text; `None` when unset or not valid UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_os(name).and_then(OsStr::to_str)
    }

    /// Value as text, or `None` when unset or empty (after trimming whitespace).
    pub fn get_nonempty(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|s| !s.is_empty())
    }

    /// Whether a variable is set (even to an empty or non-UTF-8 value).
    pub fn contains(&self, name: &str) -> bool {
        self.vars.contains_key(OsStr::new(name))
    }

    /// Value parsed as an unsigned integer, `None` when unset or malformed.
    pub fn get_u64(&self, name: &str) -> Option<u64> {
        self.get_nonempty(name).and_then(|s| s.parse().ok())
    }

    /// All variables whose name starts with `prefix`, with the prefix removed.
    pub fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a OsStr)> + 'a {
        self.vars.iter().filter_map(move |(k, v)| {
            let k = k.to_str()?;
            k.strip_prefix(prefix).map(|rest| (rest, v.as_os_str()))
        })
    }

    /// Iterate over every variable.
    pub fn iter(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
    }
}

impl<K: AsRef<OsStr>, V: AsRef<OsStr>> FromIterator<(K, V)> for Env {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut e = Env::new();
        for (k, v) in iter {
            e.set(k, v);
        }
        e
    }
}

/// Render raw bytes for a log line or exit reason: invalid UTF-8 and control characters are
/// escaped so nothing a value contains can break a line or a terminal.
pub fn display_bytes(value: &OsStr) -> String {
    let mut out = String::new();
    for chunk in value.as_bytes().utf8_chunks() {
        for ch in chunk.valid().chars() {
            if ch.is_control() {
                out.extend(ch.escape_default());
            } else {
                out.push(ch);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    #[test]
    fn typed_reads() {
        let bad = OsString::from_vec(vec![b'a', 0xff, b'b']);
        let e = Env::new()
            .with("A", "1")
            .with("B", "  ")
            .with("C", &bad)
            .with("OCF_RESKEY_x", "v");
        assert_eq!(e.get("A"), Some("1"));
        assert_eq!(e.get_nonempty("B"), None);
        assert!(e.contains("B"));
        assert_eq!(e.get("C"), None);
        assert!(e.contains("C"));
        assert_eq!(e.get_u64("A"), Some(1));
        assert_eq!(e.get_u64("B"), None);
        let v: Vec<_> = e.with_prefix("OCF_RESKEY_").map(|(k, _)| k).collect();
        assert_eq!(v, ["x"]);
        assert_eq!(display_bytes(&bad), "a\\xffb");
        assert_eq!(display_bytes(OsStr::new("a\nb")), "a\\nb");
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let mut e = Env::new()
            .with("OCF_RESKEY_password", "hunter2-canary")
            .with("OCF_RESKEY_user", "alice");
        assert!(format!("{e:?}").contains("hunter2-canary"));
        e.mark_secret("OCF_RESKEY_password");
        let d = format!("{e:?} {e:#?}");
        assert!(!d.contains("hunter2-canary"), "{d}");
        assert!(d.contains("OCF_RESKEY_password") && d.contains("(secret)"));
        assert!(d.contains("alice"));
        assert_eq!(e.get("OCF_RESKEY_password"), Some("hunter2-canary"));
    }
}
