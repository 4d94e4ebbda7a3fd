//! virsh, with argv only and a deadline on every call.

use ocf::process::{Cmd, Finished};
use ocf::{Deadline, Error, Result};
use std::time::Duration;

/// The virsh program (found in `PATH`).
pub const VIRSH: &str = "virsh";

/// What one virsh call gave.
#[derive(Debug)]
pub enum Answer {
    /// virsh exited 0: its stdout, trimmed.
    Ok(String),
    /// virsh exited non-zero: its message (stderr, else stdout), one line.
    Failed(String),
    /// No answer before the deadline (virsh was killed): libvirtd hangs or is unreachable.
    NoAnswer(Duration),
}

/// virsh against one connection URI.
#[derive(Debug, Clone)]
pub struct Virsh {
    uri: Option<String>,
}

/// A failure message of virsh without its `error: ` prefixes.
fn message(f: &Finished) -> String {
    let text = if f.output.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        f.output.stderr_text()
    } else {
        f.output.stdout_text()
    };
    let mut lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim().strip_prefix("error:").unwrap_or(l).trim())
        .filter(|l| !l.is_empty())
        .collect();
    // virsh create/define first repeats the file name ("Failed to create domain from
    // /long/path.xml"), then says why: keep why, the exit reason has 128 characters.
    if lines.len() > 1 && lines[0].starts_with("Failed to ") && lines[0].contains(" from /") {
        lines.remove(0);
    }
    if lines.is_empty() {
        match (f.output.code, f.output.signal) {
            (Some(c), _) => format!("virsh exit code {c}"),
            (None, Some(s)) => format!("virsh killed by signal {s}"),
            _ => "virsh failed".into(),
        }
    } else {
        lines.join("; ")
    }
}

impl Virsh {
    /// virsh for `uri` (`None`: virsh's default connection).
    pub fn new(uri: Option<&str>) -> Virsh {
        Virsh {
            uri: uri.map(str::to_string),
        }
    }

    /// The URI given (`None`: the default).
    pub fn uri(&self) -> Option<&str> {
        self.uri.as_deref()
    }

    /// The command `virsh -q [-c URI] ARGS` (LANG=C: messages are matched in English).
    pub fn cmd<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(&self, args: I) -> Cmd {
        let mut c = Cmd::new(VIRSH)
            .arg("-q")
            .env("LANG", "C")
            .env("LC_ALL", "C");
        if let Some(u) = &self.uri {
            c = c.arg("-c").arg(u);
        }
        c.args(args)
    }

    /// Run `args` until `deadline`.
    ///
    /// # Errors
    /// 5 when virsh is not installed.
    pub fn call<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(
        &self,
        args: I,
        deadline: Deadline,
    ) -> Result<Answer> {
        let cmd = self.cmd(args);
        ocf::debug!("{}", cmd.display());
        let f = cmd.run_bounded(deadline, Duration::from_millis(200))?;
        Ok(if f.timed_out {
            Answer::NoAnswer(f.elapsed)
        } else if f.output.success() {
            Answer::Ok(f.output.stdout_text().trim().to_string())
        } else {
            Answer::Failed(message(&f))
        })
    }

    /// Run `args`, requiring success; `what` names the step in the error.
    ///
    /// # Errors
    /// 1 with virsh's message, or saying that libvirtd did not answer in time.
    pub fn must<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(
        &self,
        what: &str,
        args: I,
        deadline: Deadline,
    ) -> Result<String> {
        match self.call(args, deadline)? {
            Answer::Ok(s) => Ok(s),
            Answer::Failed(m) => Err(Error::generic(format!("{what}: {m}"))),
            Answer::NoAnswer(t) => Err(Error::generic(format!(
                "{what}: libvirtd{} did not answer within {:.1} s",
                self.uri
                    .as_deref()
                    .map(|u| format!(" ({u})"))
                    .unwrap_or_default(),
                t.as_secs_f64()
            ))),
        }
    }
}

/// A domain's state as libvirt reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomState {
    /// running, idle, paused, blocked, in shutdown, pmsuspended: the domain exists and runs
    /// (a paused domain is still the cluster's resource, running).
    Running,
    /// shut off, crashed, or no such domain.
    Stopped,
}

/// Whether a virsh error message means "no such domain".
pub fn is_no_domain(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("domain not found")
        || m.contains("failed to get domain")
        || m.contains("no domain with matching")
}

/// Whether a virsh error message means "the domain is not running" (destroy, shutdown).
pub fn is_not_running(msg: &str) -> bool {
    is_no_domain(msg) || msg.to_ascii_lowercase().contains("domain is not running")
}

/// Interpret `virsh domstate` output.
pub fn parse_domstate(text: &str) -> Option<DomState> {
    let s = text.lines().next().unwrap_or("").trim();
    match s {
        "running" | "idle" | "paused" | "blocked" | "in shutdown" | "pmsuspended" => {
            Some(DomState::Running)
        }
        "shut off" | "crashed" => Some(DomState::Stopped),
        _ => None,
    }
}

/// The state of `name`, `None` when libvirt did not give one in time (or gave one the agent
/// does not know, e.g. `no state`).
///
/// # Errors
/// 5 when virsh is missing.
pub fn domstate(
    v: &Virsh,
    name: &str,
    deadline: Deadline,
) -> Result<std::result::Result<DomState, String>> {
    Ok(match v.call(["domstate", name], deadline)? {
        Answer::Ok(s) => parse_domstate(&s).ok_or(format!("unknown domain state '{s}'")),
        Answer::Failed(m) if is_no_domain(&m) => Ok(DomState::Stopped),
        Answer::Failed(m) => Err(m),
        Answer::NoAnswer(t) => Err(format!(
            "libvirtd did not answer 'virsh domstate {name}' within {:.1} s",
            t.as_secs_f64()
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        assert_eq!(parse_domstate("running\n"), Some(DomState::Running));
        assert_eq!(parse_domstate("paused"), Some(DomState::Running));
        assert_eq!(parse_domstate("in shutdown"), Some(DomState::Running));
        assert_eq!(parse_domstate("shut off"), Some(DomState::Stopped));
        assert_eq!(parse_domstate("no state"), None);
        assert_eq!(parse_domstate(""), None);
        assert!(is_no_domain(
            "failed to get domain 'x'; Domain not found: no domain with matching name 'x'"
        ));
        assert!(is_not_running(
            "Requested operation is not valid: domain is not running"
        ));
        assert!(!is_no_domain("failed to connect to the hypervisor"));
    }

    #[test]
    fn messages_keep_the_cause() {
        let f = |stderr: &str| Finished {
            output: ocf::process::Output {
                code: Some(1),
                signal: None,
                stdout: Vec::new(),
                stderr: stderr.as_bytes().to_vec(),
            },
            timed_out: false,
            elapsed: Duration::ZERO,
        };
        assert_eq!(
            message(&f(
                "error: Failed to create domain from /srv/vm/a.xml\n\
                 error: Requested operation is not valid: network 'n' is not active\n"
            )),
            "Requested operation is not valid: network 'n' is not active"
        );
        assert_eq!(
            message(&f("error: failed to get domain 'x'\n")),
            "failed to get domain 'x'"
        );
    }
}
