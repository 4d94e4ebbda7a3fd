//! Logging with the resource-agents conventions, and the exit-reason line.
//!
//! Destinations, decided once per invocation from the environment:
//! * stdin is a terminal (an admin typing): `TAG: LEVEL: msg` on stderr only;
//! * otherwise syslog when `HA_LOGFACILITY` names a facility (`none` disables it), lines
//!   appended to `HA_LOGFILE` (Pacemaker passes its own log file there), every line (debug
//!   ones included) appended to `HA_DEBUGLOG` unless it is the same file; stderr when neither
//!   syslog nor `HA_LOGFILE` is set (Pacemaker logs an agent's stderr). Under rgmanager,
//!   which passes no logging variables, syslog facility `daemon` is the default;
//! * syslog lines go to the journal when systemd-journald runs (its native socket
//!   `/run/systemd/journal/socket` accepts them), with the syslog fields (`SYSLOG_IDENTIFIER`
//!   `<type>(<instance>)`, `SYSLOG_PID`, `SYSLOG_FACILITY`, `PRIORITY`, the same `MESSAGE`)
//!   plus `OCF_RESOURCE_TYPE` and `OCF_RESOURCE_INSTANCE`, so that
//!   `journalctl OCF_RESOURCE_INSTANCE=vip` shows one resource's lines; otherwise through
//!   syslog(3) and `/dev/log` (which is journald's own socket on a systemd host). The journal
//!   send has a 200 ms deadline and falls back to syslog(3);
//! * debug messages only when `HA_debug` is set to something other than `0`/false.
//!
//! The tag is `HA_LOGTAG` or `<type>(<instance>)[<pid>]`, and each message is
//! `LEVEL: text`, as `ocf_log` writes them: a syslog line reads
//! `<type>(<instance>)[<pid>]: WARNING: text`, a file line `<date> <tag>: WARNING: text`.
//! Nothing is ever written to stdout.
//! The exit reason is written by [`exit_reason`] as exactly one `ocf-exit-reason:` line (the
//! prefix comes from `OCF_EXIT_REASON_PREFIX`), at most 128 characters, and logged at error
//! level (not twice on stderr).
//!
//! The logger is per thread (installed by the dispatcher for the action's duration), so
//! in-process tests can run actions in parallel with separate captured output. Use the
//! [`crate::error!`], [`crate::warn!`], [`crate::info!`] and [`crate::debug!`] macros.

use crate::context::Caller;
use crate::env::Env;
use std::cell::RefCell;
use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Critical.
    Crit,
    /// Error.
    Error,
    /// Warning.
    Warn,
    /// Informational.
    Info,
    /// Debug (only with `HA_debug`).
    Debug,
}

impl Level {
    /// The prefix shell agents use (`ERROR:`...).
    pub const fn prefix(self) -> &'static str {
        match self {
            Level::Crit => "CRIT",
            Level::Error => "ERROR",
            Level::Warn => "WARNING",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
        }
    }
    fn syslog_priority(self) -> libc::c_int {
        match self {
            Level::Crit => libc::LOG_CRIT,
            Level::Error => libc::LOG_ERR,
            Level::Warn => libc::LOG_WARNING,
            Level::Info => libc::LOG_INFO,
            Level::Debug => libc::LOG_DEBUG,
        }
    }
}

/// Where stderr output goes: the real stderr, or a shared buffer (in-process tests).
#[derive(Clone, Default)]
pub enum Stream {
    /// The process's stderr (or stdout, for [`Stream::Stdout`]).
    #[default]
    Stderr,
    /// The process's stdout.
    Stdout,
    /// A buffer shared with a test.
    Buffer(Arc<Mutex<Vec<u8>>>),
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stream::Stderr => "Stderr",
            Stream::Stdout => "Stdout",
            Stream::Buffer(_) => "Buffer",
        })
    }
}

impl Stream {
    /// A new shared buffer.
    pub fn buffer() -> Stream {
        Stream::Buffer(Arc::new(Mutex::new(Vec::new())))
    }
    /// The buffer's contents as text (empty for real streams).
    pub fn contents(&self) -> String {
        match self {
            Stream::Buffer(b) => b
                .lock()
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .unwrap_or_default(),
            _ => String::new(),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Stderr => std::io::stderr().write(buf),
            Stream::Stdout => std::io::stdout().write(buf),
            Stream::Buffer(b) => {
                b.lock()
                    .map_err(|_| std::io::Error::other("poisoned"))?
                    .extend_from_slice(buf);
                Ok(buf.len())
            }
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Stderr => std::io::stderr().flush(),
            Stream::Stdout => std::io::stdout().flush(),
            Stream::Buffer(_) => Ok(()),
        }
    }
}

/// The logging configuration of one invocation.
#[derive(Debug, Clone)]
pub struct Logger {
    tag: String,
    interactive: bool,
    facility: Option<libc::c_int>,
    logfile: Option<PathBuf>,
    debuglog: Option<PathBuf>,
    debug: bool,
    stderr: Stream,
    reason_prefix: String,
    /// `OCF_RESOURCE_TYPE` and `OCF_RESOURCE_INSTANCE` for the journal's fields.
    resource: (String, String),
}

fn facility_from_name(name: &str) -> Option<libc::c_int> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "daemon" => libc::LOG_DAEMON,
        "user" => libc::LOG_USER,
        "local0" => libc::LOG_LOCAL0,
        "local1" => libc::LOG_LOCAL1,
        "local2" => libc::LOG_LOCAL2,
        "local3" => libc::LOG_LOCAL3,
        "local4" => libc::LOG_LOCAL4,
        "local5" => libc::LOG_LOCAL5,
        "local6" => libc::LOG_LOCAL6,
        "local7" => libc::LOG_LOCAL7,
        "syslog" => libc::LOG_SYSLOG,
        "authpriv" => libc::LOG_AUTHPRIV,
        _ => return None,
    })
}

impl Logger {
    /// Configure from the environment. `interactive` is whether stdin is a terminal.
    pub fn from_env(
        env: &Env,
        caller: Caller,
        type_name: &str,
        instance: &str,
        interactive: bool,
        stderr: Stream,
    ) -> Logger {
        let facility = match env.get_nonempty("HA_LOGFACILITY") {
            Some(f) => facility_from_name(f),
            None if caller == Caller::Rgmanager && !env.contains("HA_LOGFILE") => {
                Some(libc::LOG_DAEMON)
            }
            None => None,
        };
        let path = |k: &str| {
            env.get_nonempty(k)
                .filter(|p| *p != "/dev/null")
                .map(PathBuf::from)
        };
        let debug = env
            .get_nonempty("HA_debug")
            .is_some_and(|v| crate::params::parse_bool(v) != Some(false));
        let tag = env.get_nonempty("HA_LOGTAG").map_or_else(
            || format!("{type_name}({instance})[{}]", std::process::id()),
            str::to_string,
        );
        Logger {
            tag,
            interactive,
            facility,
            logfile: path("HA_LOGFILE"),
            debuglog: path("HA_DEBUGLOG"),
            debug,
            stderr,
            reason_prefix: env
                .get("OCF_EXIT_REASON_PREFIX")
                .filter(|p| !p.is_empty())
                .unwrap_or("ocf-exit-reason:")
                .to_string(),
            resource: (type_name.to_string(), instance.to_string()),
        }
    }

    /// A logger that writes everything to `stderr` (for tools and tests).
    pub fn to_stream(tag: &str, stderr: Stream) -> Logger {
        Logger {
            tag: tag.to_string(),
            interactive: true,
            facility: None,
            logfile: None,
            debuglog: None,
            debug: true,
            stderr,
            reason_prefix: "ocf-exit-reason:".to_string(),
            resource: (String::new(), String::new()),
        }
    }

    /// The prefix of exit-reason lines on stderr (`OCF_EXIT_REASON_PREFIX`, by default
    /// `ocf-exit-reason:`).
    pub fn reason_prefix(&self) -> &str {
        &self.reason_prefix
    }

    fn stderr_is_log(&self) -> bool {
        self.interactive || (self.facility.is_none() && self.logfile.is_none())
    }

    /// Log one message.
    pub fn log(&mut self, level: Level, msg: &str) {
        if level == Level::Debug && !self.debug {
            return;
        }
        let msg = msg.replace(['\n', '\r'], " ");
        if self.interactive {
            let _ = writeln!(self.stderr, "{}: {}: {msg}", self.tag, level.prefix());
            return;
        }
        // As ocf-shellfuncs' ha_log/ha_debug: debug lines go to HA_DEBUGLOG and syslog (stderr
        // when neither is set), never to HA_LOGFILE; other lines to syslog, HA_LOGFILE (stderr
        // when neither is set) and HA_DEBUGLOG when it is another file.
        let line = format!("{} {}: {}: {msg}\n", timestamp(), self.tag, level.prefix());
        let debug = level == Level::Debug;
        if let Some(p) = &self.debuglog {
            if debug || Some(p) != self.logfile.as_ref() {
                append(p, &line);
            }
        }
        if let Some(fac) = self.facility {
            let text = format!("{}: {msg}", level.prefix());
            let entry = journal_entry(fac, level, &self.tag, &self.resource, &text);
            if journal_send(Path::new(JOURNAL_SOCKET), &entry).is_err() {
                syslog(fac, level, &self.tag, &text);
            }
        }
        if let Some(p) = self.logfile.as_ref().filter(|_| !debug) {
            append(p, &line);
        }
        let to_stderr = if debug {
            self.facility.is_none() && self.debuglog.is_none()
        } else {
            self.stderr_is_log()
        };
        if to_stderr {
            let _ = writeln!(self.stderr, "{}: {}: {msg}", self.tag, level.prefix());
        }
    }

    /// Print the exit-reason line and log the reason at error level.
    pub fn exit_reason(&mut self, reason: &str) {
        let line = crate::exit::sanitize_reason(reason);
        if line.is_empty() {
            return;
        }
        let _ = writeln!(self.stderr, "{}{line}", self.reason_prefix);
        if !self.stderr_is_log() {
            self.log(Level::Error, &line);
        }
    }
}

fn append(path: &PathBuf, line: &str) {
    if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
        let _ = f.write_all(line.as_bytes());
    }
}

fn timestamp() -> String {
    // Local time as "%b %d %T", like HA_DATEFMT's default.
    let mut buf = [0u8; 64];
    // SAFETY: time/localtime_r/strftime are called with valid pointers and a bounded buffer.
    unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return String::new();
        }
        let n = libc::strftime(
            buf.as_mut_ptr().cast(),
            buf.len(),
            c"%b %d %T".as_ptr(),
            &tm,
        );
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

/// systemd-journald's native socket.
pub const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// One journal entry in the native protocol (`KEY=value` lines; no value holds a newline).
fn journal_entry(
    facility: libc::c_int,
    level: Level,
    tag: &str,
    resource: &(String, String),
    msg: &str,
) -> Vec<u8> {
    // The syslog tag `<type>(<instance>)[<pid>]` is identifier and pid, as journald splits a
    // syslog line; an HA_LOGTAG without `[pid]` is the identifier as it is.
    let (ident, pid) = match tag.strip_suffix(']').and_then(|t| t.rsplit_once('[')) {
        Some((i, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            (i, p.to_string())
        }
        _ => (tag, std::process::id().to_string()),
    };
    let mut e = String::new();
    let mut field = |k: &str, v: &str| {
        if !v.is_empty() {
            e.push_str(k);
            e.push('=');
            e.push_str(&v.replace(['\n', '\r', '\0'], " "));
            e.push('\n');
        }
    };
    field("MESSAGE", msg);
    field("PRIORITY", &level.syslog_priority().to_string());
    field("SYSLOG_FACILITY", &(facility >> 3).to_string());
    field("SYSLOG_IDENTIFIER", ident);
    field("SYSLOG_PID", &pid);
    field("OCF_RESOURCE_TYPE", &resource.0);
    field("OCF_RESOURCE_INSTANCE", &resource.1);
    e.into_bytes()
}

/// Send one entry to the journal socket at `path`, within 200 ms. An error when no journald
/// listens there (no socket, refused) or it does not take the entry in time.
fn journal_send(path: &Path, entry: &[u8]) -> std::io::Result<()> {
    let sock = std::os::unix::net::UnixDatagram::unbound()?;
    sock.set_write_timeout(Some(std::time::Duration::from_millis(200)))?;
    let n = sock.send_to(entry, path)?;
    if n == entry.len() {
        Ok(())
    } else {
        Err(std::io::Error::other("short write to the journal"))
    }
}

fn syslog(facility: libc::c_int, level: Level, tag: &str, msg: &str) {
    let (Ok(tag), Ok(msg)) = (
        CString::new(tag.replace('\0', "")),
        CString::new(msg.replace('\0', "")),
    ) else {
        return;
    };
    // SAFETY: openlog keeps the ident pointer, so it is leaked for the process lifetime (one
    // small string per distinct tag); syslog gets a constant "%s" format.
    unsafe {
        let ident: &'static CString = Box::leak(Box::new(tag));
        libc::openlog(ident.as_ptr(), 0, facility);
        libc::syslog(
            level.syslog_priority() | facility,
            c"%s".as_ptr(),
            msg.as_ptr(),
        );
        libc::closelog();
    }
}

thread_local! {
    static LOGGER: RefCell<Option<Logger>> = const { RefCell::new(None) };
}

/// Install `logger` for the current thread, returning the previous one.
pub fn install(logger: Logger) -> Option<Logger> {
    LOGGER.with(|l| l.borrow_mut().replace(logger))
}

/// Remove the current thread's logger.
pub fn uninstall() -> Option<Logger> {
    LOGGER.with(|l| l.borrow_mut().take())
}

/// Log through the current thread's logger (stderr when none is installed).
pub fn log(level: Level, msg: &str) {
    let done = LOGGER.with(|l| {
        if let Ok(mut g) = l.try_borrow_mut() {
            if let Some(lg) = g.as_mut() {
                lg.log(level, msg);
                return true;
            }
        }
        false
    });
    if !done && level != Level::Debug {
        eprintln!("{}: {msg}", level.prefix());
    }
}

/// Print the exit reason through the current thread's logger.
pub fn exit_reason(reason: &str) {
    let done = LOGGER.with(|l| {
        if let Ok(mut g) = l.try_borrow_mut() {
            if let Some(lg) = g.as_mut() {
                lg.exit_reason(reason);
                return true;
            }
        }
        false
    });
    if !done {
        eprintln!("ocf-exit-reason:{}", crate::exit::sanitize_reason(reason));
    }
}

/// Log at error level: `ocf::error!("could not {}", what)`.
#[macro_export]
macro_rules! error { ($($t:tt)*) => { $crate::log::log($crate::log::Level::Error, &format!($($t)*)) } }
/// Log at warning level.
#[macro_export]
macro_rules! warn { ($($t:tt)*) => { $crate::log::log($crate::log::Level::Warn, &format!($($t)*)) } }
/// Log at info level.
#[macro_export]
macro_rules! info { ($($t:tt)*) => { $crate::log::log($crate::log::Level::Info, &format!($($t)*)) } }
/// Log at debug level (only with `HA_debug`).
#[macro_export]
macro_rules! debug { ($($t:tt)*) => { $crate::log::log($crate::log::Level::Debug, &format!($($t)*)) } }

#[cfg(test)]
mod tests {
    use super::*;

    fn logger(env: Env, interactive: bool) -> (Logger, Stream) {
        let s = Stream::buffer();
        (
            Logger::from_env(&env, Caller::Pacemaker, "T", "i", interactive, s.clone()),
            s,
        )
    }

    #[test]
    fn stderr_when_nothing_configured() {
        let (mut l, s) = logger(Env::new().with("HA_LOGTAG", "tag"), false);
        l.log(Level::Info, "hello\nworld");
        l.log(Level::Debug, "hidden");
        l.exit_reason("went\nwrong");
        assert_eq!(
            s.contents(),
            "tag: INFO: hello world\nocf-exit-reason:went wrong\n"
        );
    }

    #[test]
    fn logfile_and_prefix_and_debug() {
        let dir = std::env::temp_dir().join(format!("ocf-log-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("log");
        let d = dir.join("debug");
        let env = Env::new()
            .with("HA_LOGFILE", &f)
            .with("HA_DEBUGLOG", &d)
            .with("HA_debug", "1")
            .with("HA_LOGTAG", "tag")
            .with("OCF_EXIT_REASON_PREFIX", "X:");
        let (mut l, s) = logger(env, false);
        l.log(Level::Warn, "careful");
        l.log(Level::Debug, "detail");
        l.exit_reason("bad");
        assert_eq!(s.contents(), "X:bad\n");
        let log = std::fs::read_to_string(&f).unwrap();
        assert!(log.contains("tag: WARNING: careful"));
        assert!(log.contains("tag: ERROR: bad"));
        let debug = std::fs::read_to_string(&d).unwrap();
        assert!(debug.contains("tag: DEBUG: detail"), "{debug}");
        assert!(
            debug.contains("tag: WARNING: careful"),
            "every line: {debug}"
        );
        assert!(
            !log.contains("DEBUG"),
            "debug lines go to HA_DEBUGLOG: {log}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn journal_entry_has_the_syslog_fields_and_the_resource() {
        let dir = std::env::temp_dir().join(format!("ocf-journal-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("socket");
        let listener = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        let res = ("IPaddr2".to_string(), "vip".to_string());
        let e = journal_entry(
            libc::LOG_LOCAL3,
            Level::Warn,
            "IPaddr2(vip)[42]",
            &res,
            "WARNING: a\nb",
        );
        journal_send(&path, &e).unwrap();
        let mut buf = [0u8; 4096];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&buf[..n]),
            "MESSAGE=WARNING: a b\nPRIORITY=4\nSYSLOG_FACILITY=19\n\
             SYSLOG_IDENTIFIER=IPaddr2(vip)\nSYSLOG_PID=42\n\
             OCF_RESOURCE_TYPE=IPaddr2\nOCF_RESOURCE_INSTANCE=vip\n"
        );
        // HA_LOGTAG without a pid: the identifier as it is, this process's pid.
        let e = String::from_utf8(journal_entry(
            libc::LOG_DAEMON,
            Level::Info,
            "mytag",
            &res,
            "x",
        ))
        .unwrap();
        assert!(e.contains("SYSLOG_IDENTIFIER=mytag\n"), "{e}");
        assert!(
            e.contains(&format!("SYSLOG_PID={}\n", std::process::id())),
            "{e}"
        );
        drop(listener);
        std::fs::remove_dir_all(&dir).unwrap();
        // Nobody listening: an error, so the caller falls back to syslog(3).
        assert!(journal_send(&path, b"MESSAGE=x\n").is_err());
    }

    #[test]
    fn debug_off_when_zero_and_rgmanager_defaults_to_syslog() {
        let (l, _) = logger(Env::new().with("HA_debug", "0"), false);
        assert!(!l.debug);
        let l = Logger::from_env(
            &Env::new(),
            Caller::Rgmanager,
            "T",
            "i",
            false,
            Stream::buffer(),
        );
        assert_eq!(l.facility, Some(libc::LOG_DAEMON));
        assert!(!l.stderr_is_log());
        let (l, _) = logger(Env::new().with("HA_LOGFACILITY", "none"), false);
        assert_eq!(l.facility, None);
    }
}
