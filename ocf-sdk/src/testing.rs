//! A testing kit for agent authors: run an action with a controlled environment, in-process
//! or as a binary, and assert on what a cluster would see (exit code, exit reason, stdout).
//!
//! ```
//! use ocf::testing::Run;
//! # use ocf::{Agent, Action, Param, Params, Context, ResourceAgent, Status, Result, Rc};
//! # const META: Agent = Agent::new("Doc", "1.0").actions(&[Action::start(5), Action::stop(5), Action::monitor(5, 10)]);
//! # struct Doc;
//! # impl ResourceAgent for Doc {
//! #   const META: &'static Agent = &META; type Config = ();
//! #   fn configure(_: &Params<'_>, _: &Context) -> Result<()> { Ok(()) }
//! #   fn start(_: &(), _: &Context) -> Result<()> { Ok(()) }
//! #   fn stop(_: &(), _: &Context) -> Result<()> { Ok(()) }
//! #   fn monitor(_: &(), _: &Context) -> Result<Status> { Ok(Status::Stopped) }
//! # }
//! Run::agent::<Doc>().action("monitor").probe().run().assert_rc(Rc::NotRunning);
//! Run::agent::<Doc>().action("bogus").run().assert_rc(Rc::ErrUnimplemented).assert_reason_contains("bogus");
//! ```
//!
//! [`check_declaration`] catches declaration mistakes at test time (duplicate names, defaults
//! that do not parse, selects whose default is not an option, dangling deprecations,
//! duplicate monitor intervals).

use crate::dispatch::{execute, Invocation, ResourceAgent};
use crate::env::Env;
use crate::exit::Rc;
use crate::log::Stream;
use crate::meta::{Agent, ParamType};
use crate::params::parse_bool;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
enum Exec {
    InProcess(fn(Invocation) -> u8),
    Binary(PathBuf),
}

/// One action invocation being prepared.
#[derive(Debug, Clone)]
pub struct Run {
    exec: Exec,
    argv0: String,
    args: Vec<String>,
    env: Env,
    timeout: Duration,
}

/// What the invocation produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Exit status (`-1` when killed by a signal or timed out).
    pub rc: i32,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

impl Run {
    /// Run agent `A` in-process (no binary, no fork).
    pub fn agent<A: ResourceAgent>() -> Run {
        Run {
            exec: Exec::InProcess(execute::<A>),
            argv0: format!("/usr/lib/ocf/resource.d/ocfrs/{}", A::META.name),
            args: Vec::new(),
            env: Env::new(),
            timeout: Duration::from_secs(60),
        }
    }

    /// Run an executable (any agent, even a shell one) with an empty environment plus what
    /// the builder sets, killed after the timeout.
    pub fn binary(path: impl Into<PathBuf>) -> Run {
        let path = path.into();
        Run {
            argv0: path.to_string_lossy().into_owned(),
            exec: Exec::Binary(path),
            args: Vec::new(),
            env: Env::new(),
            timeout: Duration::from_secs(60),
        }
    }

    /// Set the action (and replace any previous arguments).
    #[must_use]
    pub fn action(mut self, action: &str) -> Run {
        self.args = vec![action.to_string()];
        self
    }
    /// Add an extra argument after the action.
    #[must_use]
    pub fn arg(mut self, a: &str) -> Run {
        self.args.push(a.to_string());
        self
    }
    /// Set `OCF_RESKEY_<name>`.
    #[must_use]
    pub fn param(mut self, name: &str, value: impl AsRef<OsStr>) -> Run {
        self.env.set(format!("OCF_RESKEY_{name}"), value);
        self
    }
    /// Set any environment variable.
    #[must_use]
    pub fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Run {
        self.env.set(name, value);
        self
    }
    /// Remove an environment variable.
    #[must_use]
    pub fn unset(mut self, name: &str) -> Run {
        self.env.remove(name);
        self
    }
    /// Set the interval (ms); 0 makes a monitor a probe.
    #[must_use]
    pub fn interval_ms(self, ms: u64) -> Run {
        self.env("OCF_RESKEY_CRM_meta_interval", ms.to_string())
    }
    /// Make this a probe (interval 0).
    #[must_use]
    pub fn probe(self) -> Run {
        self.interval_ms(0)
    }
    /// A recurring monitor (interval 10 s).
    #[must_use]
    pub fn recurring(self) -> Run {
        self.interval_ms(10_000)
    }
    /// Set `OCF_CHECK_LEVEL`.
    #[must_use]
    pub fn depth(self, depth: u32) -> Run {
        self.env("OCF_CHECK_LEVEL", depth.to_string())
    }
    /// Set the caller timeout (`CRM_meta_timeout`, ms) and the binary kill timeout.
    #[must_use]
    pub fn timeout(mut self, d: Duration) -> Run {
        self.timeout = d + Duration::from_secs(2);
        self.env("OCF_RESKEY_CRM_meta_timeout", d.as_millis().to_string())
    }
    /// Set the environment Pacemaker 2.1 gives (OCF 1.1, provider, exit-reason prefix).
    #[must_use]
    pub fn pacemaker(self, instance: &str) -> Run {
        let name = PathBuf::from(&self.argv0)
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.env("OCF_ROOT", "/usr/lib/ocf")
            .env("OCF_RA_VERSION_MAJOR", "1")
            .env("OCF_RA_VERSION_MINOR", "1")
            .env("OCF_RESOURCE_INSTANCE", instance)
            .env("OCF_RESOURCE_TYPE", name)
            .env("OCF_RESOURCE_PROVIDER", "ocfrs")
            .env("OCF_EXIT_REASON_PREFIX", "ocf-exit-reason:")
    }
    /// Use a whole environment (replacing what was set).
    #[must_use]
    pub fn with_env(mut self, env: Env) -> Run {
        self.env = env;
        self
    }

    /// Run it.
    pub fn run(&self) -> Outcome {
        match &self.exec {
            Exec::InProcess(f) => {
                let out = Stream::buffer();
                let err = Stream::buffer();
                let inv = Invocation {
                    argv0: self.argv0.clone(),
                    args: self.args.clone(),
                    env: self.env.clone(),
                    stdout: out.clone(),
                    stderr: err.clone(),
                    interactive: false,
                };
                let rc = f(inv);
                Outcome {
                    rc: i32::from(rc),
                    stdout: out.contents(),
                    stderr: err.contents(),
                }
            }
            Exec::Binary(path) => {
                let mut cmd = crate::process::Cmd::new(path).args(&self.args).env_clear();
                for (k, v) in self.env.iter() {
                    cmd = cmd.env(k, v);
                }
                if !self.env.contains("PATH") {
                    cmd = cmd.env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
                }
                match cmd.run(crate::deadline::Deadline::after(self.timeout)) {
                    Ok(o) => Outcome {
                        rc: o.code.unwrap_or(-1),
                        stdout: o.stdout_text(),
                        stderr: o.stderr_text(),
                    },
                    Err(e) => Outcome {
                        rc: -1,
                        stdout: String::new(),
                        stderr: e.to_string(),
                    },
                }
            }
        }
    }

    /// Assert that `validate-all` with this configuration exits 6 with an exit reason that
    /// contains `text`; the outcome, for more checks.
    ///
    /// # Panics
    /// When the code or the reason differs.
    #[track_caller]
    pub fn assert_invalid(&self, text: &str) -> Outcome {
        let out = self.clone().action("validate-all").run();
        out.assert_rc(Rc::ErrConfigured)
            .assert_reason_contains(text);
        out
    }

    /// Assert what the cluster needs of a resource that cannot be running here (its
    /// configuration is wrong or its software missing): stop exits 0 and a probe exits 7.
    ///
    /// # Panics
    /// When either code differs.
    #[track_caller]
    pub fn assert_stop_and_probe_safe(&self) {
        self.clone().action("stop").run().assert_rc(Rc::Success);
        let probe = self.clone().action("monitor").probe();
        probe.run().assert_rc(Rc::NotRunning);
    }
}

impl Outcome {
    /// The exit reason: the text of the last `ocf-exit-reason:` line.
    pub fn reason(&self) -> Option<String> {
        self.stderr
            .lines()
            .filter_map(|l| l.strip_prefix("ocf-exit-reason:"))
            .next_back()
            .map(str::to_string)
    }

    /// Assert the exit code.
    ///
    /// # Panics
    /// When it differs (the message shows stdout and stderr).
    #[track_caller]
    pub fn assert_rc(&self, rc: Rc) -> &Outcome {
        assert_eq!(
            self.rc,
            i32::from(rc.code()),
            "expected {rc}, got {}\nstdout:\n{}\nstderr:\n{}",
            self.rc,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Assert the exit reason contains `text`.
    ///
    /// # Panics
    /// When there is no exit reason or it does not contain `text`.
    #[track_caller]
    pub fn assert_reason_contains(&self, text: &str) -> &Outcome {
        let r = self.reason();
        assert!(
            r.as_deref().is_some_and(|r| r.contains(text)),
            "exit reason {r:?} does not contain {text:?}\nstderr:\n{}",
            self.stderr
        );
        self
    }

    /// Assert there is exactly one exit-reason line, at most 128 characters, if and only if
    /// the code is non-zero (7 from a probe may come without one).
    ///
    /// # Panics
    /// When the rule is broken.
    #[track_caller]
    pub fn assert_reason_discipline(&self) -> &Outcome {
        let n = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("ocf-exit-reason:"))
            .count();
        if self.rc != 0 && self.rc != 7 {
            assert_eq!(
                n, 1,
                "rc {} needs one exit reason\nstderr:\n{}",
                self.rc, self.stderr
            );
        }
        if let Some(r) = self.reason() {
            assert!(
                r.chars().count() <= crate::exit::MAX_REASON_LEN,
                "reason too long: {r}"
            );
        }
        self
    }

    /// Assert nothing was written to stdout.
    ///
    /// # Panics
    /// When stdout is not empty.
    #[track_caller]
    pub fn assert_quiet_stdout(&self) -> &Outcome {
        assert!(self.stdout.is_empty(), "unexpected stdout: {}", self.stdout);
        self
    }
}

/// Problems in a declaration; empty when it is sound.
pub fn declaration_problems(agent: &Agent) -> Vec<String> {
    let mut out = Vec::new();
    if agent.name.is_empty() || agent.name.contains('/') || agent.name.starts_with('.') {
        out.push(format!("bad agent name {:?}", agent.name));
    }
    if agent.shortdesc.trim().is_empty() || agent.longdesc.trim().is_empty() {
        out.push("agent needs a short and a long description".into());
    }
    if agent.params.is_empty() {
        out.push("at least one parameter is needed (the OCF 1.1 schema requires one)".into());
    }
    for (i, p) in agent.params.iter().enumerate() {
        if agent.params[..i].iter().any(|q| q.name == p.name) {
            out.push(format!("duplicate parameter {}", p.name));
        }
        if p.name.is_empty()
            || !p
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            out.push(format!(
                "parameter name {:?} is not a valid environment name",
                p.name
            ));
        }
        if p.shortdesc.trim().is_empty() {
            out.push(format!("parameter {} has no short description", p.name));
        }
        if let Some(d) = p.default {
            let ok = match p.kind {
                ParamType::Boolean => parse_bool(d).is_some(),
                ParamType::Integer { min, max } => {
                    d.parse::<i64>().is_ok_and(|n| n >= min && n <= max)
                }
                ParamType::Select(opts) => opts.contains(&d),
                ParamType::String => true,
            };
            if !ok {
                out.push(format!(
                    "default {d:?} of {} does not parse as {}",
                    p.name,
                    p.type_name()
                ));
            }
        }
        if let ParamType::Select(opts) = p.kind {
            if opts.is_empty() {
                out.push(format!("select {} has no options", p.name));
            }
        }
        if let Some(r) = p.deprecated.and_then(|d| d.replaced_with) {
            if agent.param(r).is_none() {
                out.push(format!("{} is replaced with unknown parameter {r}", p.name));
            }
        }
        if p.required && p.default.is_some() {
            out.push(format!("{} is required but has a default", p.name));
        }
    }
    if agent.params.iter().filter(|p| p.primary).count() > 1 {
        out.push("more than one primary parameter".into());
    }
    for a in ["start", "stop", "monitor"] {
        if !agent.advertises(a) {
            out.push(format!("mandatory action {a} not advertised"));
        }
    }
    let monitors: Vec<_> = agent
        .actions
        .iter()
        .filter(|a| a.name == "monitor")
        .collect();
    for (i, m) in monitors.iter().enumerate() {
        if monitors[..i].iter().any(|o| o.interval == m.interval) {
            out.push(format!(
                "two monitor entries share interval {:?}s (Pacemaker needs distinct intervals)",
                m.interval
            ));
        }
    }
    for a in agent.actions {
        if a.timeout == 0 {
            out.push(format!("action {} has timeout 0", a.name));
        }
    }
    if agent.params.iter().any(|p| p.reloadable) && !agent.advertises("reload-agent") {
        out.push("reloadable parameters without a reload-agent action".into());
    }
    out
}

/// Assert [`declaration_problems`] finds nothing.
///
/// # Panics
/// Listing every problem.
#[track_caller]
pub fn check_declaration(agent: &Agent) {
    let p = declaration_problems(agent);
    assert!(
        p.is_empty(),
        "declaration of {} has problems:\n  {}",
        agent.name,
        p.join("\n  ")
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{Action, Param};

    #[test]
    fn declaration_problems_are_found() {
        const BAD: Agent = Agent::new("Bad", "1.0")
            .params(&[
                Param::integer("n").default("x"),
                Param::integer("n"),
                Param::select("s", &["a"]).default("b"),
                Param::string("o").deprecated_by("zzz", ""),
                Param::string("r").required().default("1"),
                Param::boolean("reload").reloadable(),
            ])
            .actions(&[
                Action::start(0),
                Action::monitor(10, 10),
                Action::monitor(10, 10).depth(10),
            ]);
        let p = declaration_problems(&BAD).join("\n");
        for needle in [
            "duplicate parameter n",
            "\"x\" of n",
            "\"b\" of s",
            "unknown parameter zzz",
            "r is required but",
            "stop not advertised",
            "share interval",
            "timeout 0",
            "reload-agent",
            "short and a long",
        ] {
            assert!(p.contains(needle), "missing {needle} in\n{p}");
        }
    }

    #[test]
    fn outcome_reason_and_binary_runs() {
        let o = Outcome {
            rc: 1,
            stdout: String::new(),
            stderr: "x\nocf-exit-reason:a\nocf-exit-reason:b\n".into(),
        };
        assert_eq!(o.reason().as_deref(), Some("b"));
        let o = Run::binary("/bin/sh")
            .action("-c")
            .arg("echo $OCF_RESKEY_x; exit 7")
            .param("x", "v")
            .run();
        assert_eq!((o.rc, o.stdout.as_str()), (7, "v\n"));
        let o = Run::binary("/bin/sleep")
            .action("30")
            .timeout(Duration::from_millis(10))
            .run();
        assert_eq!(o.rc, -1);
    }
}
