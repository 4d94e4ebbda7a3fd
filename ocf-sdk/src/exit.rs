//! OCF exit codes and the error type every action returns.
//!
//! This module owns the mapping from "what went wrong" to "what the cluster does about it".
//! It does not print anything: the dispatcher ([`crate::dispatch`]) turns an [`Error`] into
//! one `ocf-exit-reason:` line and the process exit status.
//!
//! | cause                                        | code                          |
//! |----------------------------------------------|-------------------------------|
//! | value wrong everywhere (parse, range, select) | 6 [`Rc::ErrConfigured`]       |
//! | binary, device or module missing on this host | 5 [`Rc::ErrInstalled`]        |
//! | valid but wrong here (NIC absent, ...)        | 2 [`Rc::ErrArgs`]             |
//! | needs root or ownership                       | 4 [`Rc::ErrPerm`]             |
//! | runtime failure, deadline hit, I/O error      | 1 [`Rc::ErrGeneric`]          |
//! | unknown action                                | 3 [`Rc::ErrUnimplemented`]    |
//! | rgmanager only: migration failed, still running | 150 [`Rc::MigrationFailedRunning`] |
//!
//! Code 150 is rgmanager's (`OCF_APP_ERR_INDETERMINATE`, returned by `vm.sh migrate` when a
//! live migration failed but the guest still runs on the source node, so rgmanager neither
//! marks the service failed nor starts it elsewhere). The dispatcher passes it only to
//! rgmanager; to any other caller it is 1, which is what Pacemaker would make of it anyway.

use std::fmt;

/// Maximum length of an exit reason that Pacemaker 1.1.12 to 3.0.1 keeps.
pub const MAX_REASON_LEN: usize = 128;

/// An OCF exit code, with the names of the OCF 1.1 specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Rc {
    /// 0: success; for monitor, running (unpromoted if role-capable).
    #[doc(alias = "OCF_SUCCESS")]
    Success = 0,
    /// 1: unspecified error; Pacemaker recovers in place (soft).
    #[doc(alias = "OCF_ERR_GENERIC")]
    ErrGeneric = 1,
    /// 2: parameters invalid in this host's context; Pacemaker bans the node (hard).
    #[doc(alias = "OCF_ERR_ARGS")]
    ErrArgs = 2,
    /// 3: action not implemented.
    #[doc(alias = "OCF_ERR_UNIMPLEMENTED")]
    ErrUnimplemented = 3,
    /// 4: insufficient privilege (hard).
    #[doc(alias = "OCF_ERR_PERM")]
    ErrPerm = 4,
    /// 5: required software missing on this host (hard).
    #[doc(alias = "OCF_ERR_INSTALLED")]
    ErrInstalled = 5,
    /// 6: configuration inherently invalid (fatal: stopped everywhere).
    #[doc(alias = "OCF_ERR_CONFIGURED")]
    ErrConfigured = 6,
    /// 7: cleanly stopped (monitor only).
    #[doc(alias = "OCF_NOT_RUNNING")]
    NotRunning = 7,
    /// 8: running in the promoted role (monitor only).
    #[doc(alias = "OCF_RUNNING_MASTER")]
    #[doc(alias = "OCF_RUNNING_PROMOTED")]
    RunningPromoted = 8,
    /// 9: promoted but failed (monitor only).
    #[doc(alias = "OCF_FAILED_MASTER")]
    #[doc(alias = "OCF_FAILED_PROMOTED")]
    FailedPromoted = 9,
    /// 190: running but likely to fail soon (OCF 1.1, Pacemaker >= 2.0.5 only).
    #[doc(alias = "OCF_DEGRADED")]
    Degraded = 190,
    /// 191: promoted but likely to fail soon (OCF 1.1, Pacemaker >= 2.0.5 only).
    #[doc(alias = "OCF_DEGRADED_PROMOTED")]
    DegradedPromoted = 191,
    /// 150 (rgmanager only): a migration failed and the resource still runs where it was
    /// (`vm.sh migrate`). Only the rgmanager profile knows it; see the module docs.
    #[doc(alias = "OCF_APP_ERR_INDETERMINATE")]
    MigrationFailedRunning = 150,
}

impl Rc {
    /// Every defined code, in numeric order.
    pub const ALL: [Rc; 13] = [
        Rc::Success,
        Rc::ErrGeneric,
        Rc::ErrArgs,
        Rc::ErrUnimplemented,
        Rc::ErrPerm,
        Rc::ErrInstalled,
        Rc::ErrConfigured,
        Rc::NotRunning,
        Rc::RunningPromoted,
        Rc::FailedPromoted,
        Rc::MigrationFailedRunning,
        Rc::Degraded,
        Rc::DegradedPromoted,
    ];

    /// Whether only rgmanager understands the code (150).
    pub const fn rgmanager_only(self) -> bool {
        matches!(self, Rc::MigrationFailedRunning)
    }

    /// The numeric exit status.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The code for a number, if it is one OCF defines.
    pub fn from_code(code: i32) -> Option<Rc> {
        Rc::ALL
            .iter()
            .copied()
            .find(|rc| i32::from(rc.code()) == code)
    }

    /// The shell constant name, e.g. `OCF_ERR_CONFIGURED` (8 and 9 use the classic
    /// `MASTER` names that `ocf-returncodes` and ocft configuration files use).
    pub const fn name(self) -> &'static str {
        match self {
            Rc::Success => "OCF_SUCCESS",
            Rc::ErrGeneric => "OCF_ERR_GENERIC",
            Rc::ErrArgs => "OCF_ERR_ARGS",
            Rc::ErrUnimplemented => "OCF_ERR_UNIMPLEMENTED",
            Rc::ErrPerm => "OCF_ERR_PERM",
            Rc::ErrInstalled => "OCF_ERR_INSTALLED",
            Rc::ErrConfigured => "OCF_ERR_CONFIGURED",
            Rc::NotRunning => "OCF_NOT_RUNNING",
            Rc::RunningPromoted => "OCF_RUNNING_MASTER",
            Rc::FailedPromoted => "OCF_FAILED_MASTER",
            Rc::Degraded => "OCF_DEGRADED",
            Rc::DegradedPromoted => "OCF_DEGRADED_PROMOTED",
            Rc::MigrationFailedRunning => "OCF_APP_ERR_INDETERMINATE",
        }
    }

    /// Parse a shell constant name (`OCF_ERR_ARGS`), also accepting the
    /// `OCF_RUNNING_PROMOTED`/`OCF_FAILED_PROMOTED` spellings.
    pub fn from_name(name: &str) -> Option<Rc> {
        match name {
            "OCF_RUNNING_PROMOTED" => Some(Rc::RunningPromoted),
            "OCF_FAILED_PROMOTED" => Some(Rc::FailedPromoted),
            _ => Rc::ALL.iter().copied().find(|rc| rc.name() == name),
        }
    }

    /// A short human description, as `crm_resource` prints it.
    pub const fn description(self) -> &'static str {
        match self {
            Rc::Success => "ok",
            Rc::ErrGeneric => "error",
            Rc::ErrArgs => "invalid parameter",
            Rc::ErrUnimplemented => "unimplemented feature",
            Rc::ErrPerm => "insufficient privileges",
            Rc::ErrInstalled => "not installed",
            Rc::ErrConfigured => "not configured",
            Rc::NotRunning => "not running",
            Rc::RunningPromoted => "promoted",
            Rc::FailedPromoted => "promoted (failed)",
            Rc::Degraded => "OCF_DEGRADED",
            Rc::DegradedPromoted => "promoted (degraded)",
            Rc::MigrationFailedRunning => "migration failed, still running",
        }
    }
}

impl fmt::Display for Rc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.name())
    }
}

impl From<Rc> for std::process::ExitCode {
    fn from(rc: Rc) -> Self {
        std::process::ExitCode::from(rc.code())
    }
}

/// An action failure: an OCF code plus a one-line exit reason.
///
/// The reason is what the cluster admin reads in `crm_mon`; it is sanitised (one line, no
/// control characters) and cut to [`MAX_REASON_LEN`] characters when printed. Never put a
/// secret in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    rc: Rc,
    reason: String,
}

/// The result type of every agent action.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with an explicit code.
    pub fn new(rc: Rc, reason: impl Into<String>) -> Self {
        Error {
            rc,
            reason: reason.into(),
        }
    }
    /// Code 1: a runtime failure.
    pub fn generic(reason: impl Into<String>) -> Self {
        Self::new(Rc::ErrGeneric, reason)
    }
    /// Code 2: a value that is valid in general but not on this host.
    pub fn args(reason: impl Into<String>) -> Self {
        Self::new(Rc::ErrArgs, reason)
    }
    /// Code 3: the action is not implemented.
    pub fn unimplemented(reason: impl Into<String>) -> Self {
        Self::new(Rc::ErrUnimplemented, reason)
    }
    /// Code 4: insufficient privilege.
    pub fn perm(reason: impl Into<String>) -> Self {
        Self::new(Rc::ErrPerm, reason)
    }
    /// Code 5: software, device or file missing on this host.
    pub fn installed(reason: impl Into<String>) -> Self {
        Self::new(Rc::ErrInstalled, reason)
    }
    /// Code 6: configuration that is wrong everywhere.
    pub fn configured(reason: impl Into<String>) -> Self {
        Self::new(Rc::ErrConfigured, reason)
    }
    /// Code 150 (rgmanager's `migrate` only): the migration failed and the resource still runs
    /// on this node. Other callers see 1.
    pub fn migration_failed_running(reason: impl Into<String>) -> Self {
        Self::new(Rc::MigrationFailedRunning, reason)
    }
    /// Code 7 (monitor only): the resource is cleanly stopped.
    pub fn not_running(reason: impl Into<String>) -> Self {
        Self::new(Rc::NotRunning, reason)
    }

    /// The exit code.
    pub fn rc(&self) -> Rc {
        self.rc
    }

    /// The reason as given (unsanitised, uncut).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The same error with another code.
    #[must_use]
    pub fn with_rc(mut self, rc: Rc) -> Self {
        self.rc = rc;
        self
    }

    /// The reason prefixed with more context: `"{context}: {reason}"`.
    #[must_use]
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.reason = format!("{context}: {}", self.reason);
        self
    }

    /// The reason as one printable line of at most [`MAX_REASON_LEN`] characters.
    pub fn reason_line(&self) -> String {
        sanitize_reason(&self.reason)
    }
}

/// Make `text` fit on one exit-reason line: control characters (newline included) become
/// spaces, runs of spaces collapse, and the result is cut to [`MAX_REASON_LEN`] characters
/// (on a character boundary, ending with `...` when cut).
pub fn sanitize_reason(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_REASON_LEN));
    let mut last_space = true;
    for ch in text.chars() {
        let ch = if ch.is_control() { ' ' } else { ch };
        if ch == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        out.push(ch);
    }
    let trimmed = out.trim_end();
    if trimmed.chars().count() <= MAX_REASON_LEN {
        return trimmed.to_string();
    }
    let mut cut: String = trimmed.chars().take(MAX_REASON_LEN - 3).collect();
    cut.push_str("...");
    cut
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rc.name(), self.reason)
    }
}

impl std::error::Error for Error {}

/// I/O errors become code 1 (the one blanket conversion), keeping the OS message.
impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::generic(e.to_string())
    }
}

/// Attach an OCF code and context to any error, like `anyhow::Context`.
///
/// ```
/// use ocf::{OrRc, Rc};
/// let r: ocf::Result<String> = std::fs::read_to_string("/nonexistent/x").or_rc(Rc::ErrInstalled, "read config");
/// assert_eq!(r.unwrap_err().rc(), Rc::ErrInstalled);
/// ```
pub trait OrRc<T> {
    /// Map the error to `rc` with reason `"{what}: {error}"`.
    ///
    /// # Errors
    /// Returns an [`Error`] with code `rc` when `self` is an error or `None`.
    fn or_rc(self, rc: Rc, what: &str) -> Result<T>;
}

impl<T, E: fmt::Display> OrRc<T> for std::result::Result<T, E> {
    fn or_rc(self, rc: Rc, what: &str) -> Result<T> {
        self.map_err(|e| Error::new(rc, format!("{what}: {e}")))
    }
}

impl<T> OrRc<T> for Option<T> {
    fn or_rc(self, rc: Rc, what: &str) -> Result<T> {
        self.ok_or_else(|| Error::new(rc, what.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for rc in Rc::ALL {
            assert_eq!(Rc::from_code(i32::from(rc.code())), Some(rc));
            assert_eq!(Rc::from_name(rc.name()), Some(rc));
        }
        assert_eq!(Rc::from_code(10), None);
        assert_eq!(
            Rc::from_name("OCF_RUNNING_PROMOTED"),
            Some(Rc::RunningPromoted)
        );
        assert_eq!(Rc::Degraded.code(), 190);
        assert_eq!(Rc::MigrationFailedRunning.code(), 150);
        assert_eq!(Rc::from_code(150), Some(Rc::MigrationFailedRunning));
        assert_eq!(
            Rc::from_name("OCF_APP_ERR_INDETERMINATE"),
            Some(Rc::MigrationFailedRunning)
        );
        assert!(Rc::MigrationFailedRunning.rgmanager_only());
        assert!(!Rc::ALL
            .iter()
            .any(|rc| rc.rgmanager_only() && *rc != Rc::MigrationFailedRunning));
        assert!(Rc::ALL.windows(2).all(|w| w[0].code() < w[1].code()));
        assert_eq!(Rc::DegradedPromoted.code(), 191);
    }

    #[test]
    fn reason_is_one_line_and_bounded() {
        let r = sanitize_reason("first\nsecond\r\n\tthird   ");
        assert_eq!(r, "first second third");
        let long = "é".repeat(500);
        let r = sanitize_reason(&long);
        assert_eq!(r.chars().count(), MAX_REASON_LEN);
        assert!(r.ends_with("..."));
        assert_eq!(sanitize_reason(""), "");
    }

    #[test]
    fn or_rc_attaches_code() {
        let e = "x"
            .parse::<u32>()
            .or_rc(Rc::ErrConfigured, "parse port")
            .unwrap_err();
        assert_eq!(e.rc(), Rc::ErrConfigured);
        assert!(e.reason().starts_with("parse port: "));
        let e = None::<u8>.or_rc(Rc::ErrInstalled, "no binary").unwrap_err();
        assert_eq!(e.to_string(), "OCF_ERR_INSTALLED: no binary");
    }
}
