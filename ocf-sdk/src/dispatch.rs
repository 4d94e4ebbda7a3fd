//! The dispatcher: owns the OCF calling protocol so agents only write domain logic.
//!
//! [`run`] (one agent per binary) and [`multicall`] (one binary, many agents, chosen by
//! `argv[0]`) both end in [`execute`], which:
//! 1. answers `meta-data`, `usage`/`help`/`-h`/`--help` and `methods` from the declaration
//!    alone: no environment, no root, no binaries, never fails;
//! 2. maps `status` (rgmanager) to monitor, `verify-all` to validate-all, rgmanager's
//!    `migrate <node>` to `migrate_to`; ignores extra arguments;
//! 3. refuses an action that is neither known nor advertised with exit 3 and a reason;
//! 4. parses the parameters ([`ResourceAgent::configure`], depth 0, errors are 6) and checks
//!    the host ([`ResourceAgent::check_host`], depth 10, errors are 2/4/5). When either fails
//!    the **invalid-environment policy** applies: `stop` exits 0 (nothing can be running), a
//!    probe exits 7, a recurring monitor exits 1 with a reason, every other action exits with
//!    the validation code and its reason;
//! 5. runs the action under `catch_unwind`: a panic becomes exit 1 with the exit reason
//!    `internal error: ...`, never 101;
//! 6. maps the result to an exit code (degraded codes only where [`Context::degraded_allowed`])
//!    and prints one exit-reason line for every failure;
//! 7. in a real agent process, arms an [`ExitWatchdog`] for the action (two timers, no
//!    thread): if the action has not answered by [`Context::watchdog`] (a system call blocked
//!    in the kernel), it writes the exit reason naming the blocked call and ends the process
//!    with 1, before the caller's timeout.
//!
//! Everything after the protocol actions, building the [`Context`] and the logger included,
//! runs under `catch_unwind`; the crate refuses to build with `panic = "abort"`.

use crate::context::{Caller, Context};
use crate::deadline::{Deadline, ExitWatchdog};
use crate::env::Env;
use crate::exit::{Error, Rc, Result};
use crate::log::{self, Logger, Stream};
use crate::meta::Agent;
use crate::metadata::{self, Flavour};
use crate::params::Params;
use std::cell::RefCell;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use std::time::Instant;

/// What a monitor found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Running (unpromoted if role-capable): 0.
    Running,
    /// Cleanly stopped: 7.
    Stopped,
    /// Running promoted: 8.
    Promoted,
    /// Promoted but failed: 9.
    FailedPromoted,
    /// Running but likely to fail: 190 where allowed, else 0.
    Degraded,
    /// Promoted but likely to fail: 191 where allowed, else 8.
    DegradedPromoted,
}

impl Status {
    /// The exit code, given whether degraded codes are allowed.
    pub fn rc(self, degraded_allowed: bool) -> Rc {
        match self {
            Status::Running => Rc::Success,
            Status::Stopped => Rc::NotRunning,
            Status::Promoted => Rc::RunningPromoted,
            Status::FailedPromoted => Rc::FailedPromoted,
            Status::Degraded if degraded_allowed => Rc::Degraded,
            Status::Degraded => Rc::Success,
            Status::DegradedPromoted if degraded_allowed => Rc::DegradedPromoted,
            Status::DegradedPromoted => Rc::RunningPromoted,
        }
    }
}

fn not_supported(cx: &Context) -> Error {
    Error::unimplemented(format!(
        "action {} is not supported by {}",
        cx.action, cx.resource_type
    ))
}

/// The optional actions of [`ResourceAgent`]: each defaults to "not supported" (code 3),
/// with the same signature and the same `# Errors` section.
macro_rules! optional_actions {
    ($($(#[$doc:meta])* $name:ident;)*) => {
        $(
            $(#[$doc])*
            ///
            /// # Errors
            /// 3 unless implemented.
            fn $name(_cfg: &Self::Config, cx: &Context) -> Result<()> {
                Err(not_supported(cx))
            }
        )*
    };
}

/// An OCF resource agent: a declaration plus domain logic.
///
/// Only `configure`, `start`, `stop` and `monitor` are mandatory. Every other action is
/// dispatched only when [`Self::META`] advertises it; the default implementations return 3.
pub trait ResourceAgent {
    /// The declaration (parameters, actions, descriptions).
    const META: &'static Agent;
    /// The parsed, validated configuration.
    type Config;

    /// Depth 0: parse and check what the admin typed, without looking at the host. An error
    /// here means the configuration is wrong everywhere (use code 6).
    ///
    /// # Errors
    /// Code 6 for invalid parameters.
    fn configure(params: &Params<'_>, cx: &Context) -> Result<Self::Config>;

    /// Depth 10: check that this host can run the resource (binaries, devices, interfaces,
    /// privileges): codes 5, 2, 4. It must only fail when the resource **cannot be running**
    /// here, because a stop after a failed host check exits 0 and a probe exits 7.
    ///
    /// # Errors
    /// Code 2, 4 or 5.
    fn check_host(_cfg: &Self::Config, _cx: &Context) -> Result<()> {
        Ok(())
    }

    /// Start; must succeed when already running and not return before monitor says running.
    ///
    /// # Errors
    /// Any code but 7.
    fn start(cfg: &Self::Config, cx: &Context) -> Result<()>;

    /// Stop; must succeed when already stopped. Returning 7 is turned into 0.
    ///
    /// # Errors
    /// Code 1 when something remains (the cluster will fence the node).
    fn stop(cfg: &Self::Config, cx: &Context) -> Result<()>;

    /// Report the state at `cx.depth`. Probes (`cx.is_probe()`) must not fail on a clean host.
    ///
    /// # Errors
    /// Code 1 when failed or undetermined.
    fn monitor(cfg: &Self::Config, cx: &Context) -> Result<Status>;

    optional_actions! {
        /// Unpromoted → promoted.
        promote;
        /// Promoted → unpromoted.
        demote;
        /// Clone notification (`cx.notify`).
        notify;
        /// Re-read the service's own configuration (OCF 1.1 `reload`).
        reload;
        /// Apply changed reloadable parameters.
        reload_agent;
        /// In-place recovery (rgmanager).
        recover;
        /// Push live migration to `cx.migrate_target`.
        migrate_to;
        /// Complete live migration from `cx.migrate_source`.
        migrate_from;
        /// Any other advertised action (`cx.action`).
        custom;
    }
}

/// Everything one invocation receives: arguments, environment and output streams.
///
/// `{:?}` shows the names of the variables, never their values (the parameters an agent
/// declares secret are not known yet at this point).
#[derive(Clone)]
pub struct Invocation {
    /// `argv[0]` (the path the agent was run by).
    pub argv0: String,
    /// `argv[1..]`: the action and any extra arguments.
    pub args: Vec<String>,
    /// The environment.
    pub env: Env,
    /// Where meta-data and usage go.
    pub stdout: Stream,
    /// Where logs and the exit reason go.
    pub stderr: Stream,
    /// Whether stdin is a terminal (interactive logging).
    pub interactive: bool,
}

impl std::fmt::Debug for Invocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .env
            .iter()
            .map(|(k, _)| crate::env::display_bytes(k))
            .collect();
        f.debug_struct("Invocation")
            .field("argv0", &self.argv0)
            .field("args", &self.args)
            .field("env", &names)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .field("interactive", &self.interactive)
            .finish()
    }
}

impl Invocation {
    /// The current process's arguments, environment and streams.
    pub fn from_process() -> Invocation {
        let mut argv = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
        let argv0 = argv.next().unwrap_or_default();
        Invocation {
            argv0,
            args: argv.collect(),
            env: Env::from_process(),
            stdout: Stream::Stdout,
            stderr: Stream::Stderr,
            // SAFETY: isatty only inspects a file descriptor number.
            interactive: unsafe { libc::isatty(0) } == 1,
        }
    }
}

/// Run the agent `A` as the current process and return its exit code.
pub fn run<A: ResourceAgent>() -> std::process::ExitCode {
    prepare_process();
    std::process::ExitCode::from(execute::<A>(Invocation::from_process()))
}

/// A type-erased agent for [`multicall`].
#[derive(Clone, Copy)]
pub struct Entry {
    /// The declaration.
    pub meta: &'static Agent,
    /// The dispatcher for this agent.
    pub execute: fn(Invocation) -> u8,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("name", &self.meta.name)
            .finish()
    }
}

/// The [`Entry`] of agent `A`.
pub const fn entry<A: ResourceAgent>() -> Entry {
    Entry {
        meta: A::META,
        execute: execute::<A>,
    }
}

/// Find the agent an executable path names: the exact file name (`IPaddr` never matches
/// `IPaddr2`), with rgmanager's `.sh` suffix removed.
pub fn lookup<'a>(agents: &'a [Entry], argv0: &str) -> Option<&'a Entry> {
    let base = std::path::Path::new(argv0).file_name()?.to_str()?;
    let base = base.strip_suffix(".sh").unwrap_or(base);
    agents.iter().find(|e| e.meta.name == base)
}

/// Run one of `agents` as the current process, chosen by the file name of `argv[0]`.
///
/// Called by its own name (e.g. `ocfrs-agents`), the first argument names the agent
/// (`ocfrs-agents Dummy monitor`), `--list` prints the agent names and
/// `--generate metadata|man DIR` writes every agent's meta-data (all flavours) or man page.
pub fn multicall(agents: &[Entry]) -> std::process::ExitCode {
    prepare_process();
    let inv = Invocation::from_process();
    if let Some(e) = lookup(agents, &inv.argv0) {
        return std::process::ExitCode::from((e.execute)(inv));
    }
    std::process::ExitCode::from(multicall_tool(agents, inv))
}

fn multicall_tool(agents: &[Entry], mut inv: Invocation) -> u8 {
    let me = std::path::Path::new(&inv.argv0)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let usage = |out: &mut dyn Write| {
        let _ = writeln!(
            out,
            "usage: {me} AGENT ACTION | {me} --list | {me} --generate metadata|man DIR"
        );
        let _ = writeln!(
            out,
            "agents: {}",
            agents
                .iter()
                .map(|e| e.meta.name)
                .collect::<Vec<_>>()
                .join(" ")
        );
    };
    match inv.args.first().map(String::as_str) {
        Some("--list") => {
            for e in agents {
                let _ = writeln!(inv.stdout, "{}", e.meta.name);
            }
            0
        }
        Some("--generate") => {
            let (Some(kind), Some(dir)) = (inv.args.get(1), inv.args.get(2)) else {
                usage(&mut inv.stderr);
                return 2;
            };
            let metas: Vec<&Agent> = agents.iter().map(|e| e.meta).collect();
            let r = match kind.as_str() {
                "metadata" => crate::man::write_metadata_dir(&metas, std::path::Path::new(dir)),
                "man" => crate::man::write_man_dir(&metas, std::path::Path::new(dir)),
                _ => {
                    usage(&mut inv.stderr);
                    return 2;
                }
            };
            match r {
                Ok(()) => 0,
                Err(e) => {
                    let _ = writeln!(inv.stderr, "{me}: {e}");
                    1
                }
            }
        }
        Some("-h" | "--help") | None => {
            usage(&mut inv.stdout);
            0
        }
        Some(name) => match agents.iter().find(|e| e.meta.name == name) {
            Some(e) => {
                inv.args.remove(0);
                inv.argv0 = e.meta.name.to_string();
                (e.execute)(inv)
            }
            None => {
                let _ = writeln!(inv.stderr, "{me}: unknown agent {name}");
                usage(&mut inv.stderr);
                Rc::ErrUnimplemented.code()
            }
        },
    }
}

/// The directories every agent's `PATH` is completed with (rgmanager and some callers pass
/// none, or a short one), in this order after the caller's own.
pub const AGENT_STD_DIRS: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Process-wide setup, once: a sane PATH and locale for children (rgmanager passes none),
/// and the panic hook that keeps panic messages out of stderr noise.
pub fn prepare_process() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let path = std::env::var("PATH").unwrap_or_default();
        let mut parts: Vec<&str> = path.split(':').filter(|p| !p.is_empty()).collect();
        for d in AGENT_STD_DIRS {
            if !parts.contains(&d) {
                parts.push(d);
            }
        }
        let joined = parts.join(":");
        // Called at the start of main, before any thread exists.
        std::env::set_var("PATH", joined);
        std::env::set_var("LC_ALL", "C");
        // One malloc arena: an agent runs a few short-lived threads (the watchdog, bounded
        // calls), and glibc would reserve a 128 MiB arena for the first allocation of each.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only sets an allocator tunable; called before any thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
        install_panic_hook();
        WATCHDOG.store(true, Ordering::Relaxed);
    });
}

thread_local! {
    static IN_AGENT: RefCell<bool> = const { RefCell::new(false) };
    static PANIC_MSG: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let inside = IN_AGENT.with(|f| *f.borrow());
            if inside {
                let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
                    (*s).to_string()
                } else if let Some(s) = info.payload().downcast_ref::<String>() {
                    s.clone()
                } else {
                    "panic".to_string()
                };
                let loc = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                PANIC_MSG.with(|p| *p.borrow_mut() = Some(format!("{msg}{loc}")));
            } else {
                default(info);
            }
        }));
    });
}

/// Run `f`, turning a panic into exit 1 with reason `internal error: ...`.
fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_panic(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(msg) => {
            log::log(log::Level::Crit, &format!("internal error: {msg}"));
            Err(Error::generic(format!("internal error: {msg}")))
        }
    }
}

/// Usage text derived from the declaration.
pub fn usage_text(agent: &Agent) -> String {
    let mut names: Vec<&str> = Vec::new();
    for a in agent.all_actions() {
        if !names.contains(&a.name) {
            names.push(a.name);
        }
    }
    format!(
        "usage: {} {{{}}}\n\n{}\n",
        agent.name,
        names.join("|"),
        agent.shortdesc
    )
}

/// Actions the dispatcher knows how to route.
const KNOWN: &[&str] = &[
    "start",
    "stop",
    "monitor",
    "status",
    "promote",
    "demote",
    "notify",
    "reload",
    "reload-agent",
    "recover",
    "migrate_to",
    "migrate_from",
    "migrate",
    "validate-all",
    "verify-all",
];

/// Dispatch one invocation of agent `A`; returns the exit code. Never panics.
pub fn execute<A: ResourceAgent>(inv: Invocation) -> u8 {
    let agent = A::META;
    let Invocation {
        argv0,
        args,
        env,
        mut stdout,
        stderr,
        interactive,
    } = inv;
    let requested = args.first().map(String::as_str).unwrap_or("");

    // 1. Protocol actions that need nothing.
    match requested {
        "meta-data" => {
            let xml = metadata::render(agent, Flavour::choose(agent, &env, &argv0));
            let _ = stdout.write_all(xml.as_bytes());
            let _ = stdout.flush();
            return 0;
        }
        "usage" | "help" | "-h" | "--help" => {
            let _ = stdout.write_all(usage_text(agent).as_bytes());
            return 0;
        }
        "methods" => {
            let mut seen: Vec<&str> = Vec::new();
            for a in agent.all_actions() {
                if !seen.contains(&a.name) {
                    seen.push(a.name);
                    let _ = writeln!(stdout, "{}", a.name);
                }
            }
            return 0;
        }
        _ => {}
    }

    let start = Instant::now();
    let action = match requested {
        "verify-all" => "validate-all",
        "migrate" => "migrate_to",
        a => a,
    }
    .to_string();
    // Everything from here on runs under the guard: a panic while building the context or the
    // logger is exit 1 with a reason too.
    let fallback = stderr.clone();
    let guard = catch_panic(AssertUnwindSafe(|| {
        let extra: Vec<String> = args.iter().skip(1).cloned().collect();
        // rgmanager's `migrate <target-node>` arrives as migrate_to with the target as argument.
        let cx = Context::new(agent, &action, &extra, env, &argv0, start);
        let logger = Logger::from_env(
            &cx.env,
            cx.caller,
            &cx.resource_type,
            &cx.instance,
            interactive,
            stderr,
        );
        hide_secrets_from_children(agent);
        let watchdog = arm_watchdog(&cx, &logger);
        let previous = log::install(logger);
        let previous_deadline = crate::deadline::set_action_deadline(Some(cx.deadline));
        let rc = execute_action::<A>(&cx, requested);
        crate::deadline::set_action_deadline(previous_deadline);
        drop(watchdog);
        match previous {
            Some(p) => drop(log::install(p)),
            None => drop(log::uninstall()),
        }
        rc
    }));
    match guard {
        Ok(rc) => rc,
        Err(msg) => {
            let mut l = Logger::to_stream(agent.name, fallback);
            l.exit_reason(&format!("internal error: {msg}"));
            Rc::ErrGeneric.code()
        }
    }
}

/// Whether actions get a [`Watchdog`]: only in a real agent process ([`run`], [`multicall`]),
/// never when a test runs [`execute`] inside its own process.
static WATCHDOG: AtomicBool = AtomicBool::new(false);

/// In a real agent process, remove the parameters the agent declares secret from the
/// process environment once [`Context`] holds its copy: every child the agent runs
/// (`crm_attribute`, a client binary, a daemon) inherits the environment, and a child's
/// environment is readable by anyone who may read its `/proc/<pid>/environ`. Agents read
/// parameters from [`Context::env`], never from the process environment. Runs before the
/// action starts any thread ([`crate::deadline::bounded`] workers), so no other thread
/// reads the environment meanwhile.
fn hide_secrets_from_children(agent: &Agent) {
    if !WATCHDOG.load(Ordering::Relaxed) {
        return;
    }
    for p in agent.params.iter().filter(|p| p.secret) {
        std::env::remove_var(format!("OCF_RESKEY_{}", p.name));
    }
}

/// Arm the watchdog of one action (see [`crate::deadline`]): at [`Context::watchdog`] it
/// writes the exit reason with the logger's prefix, removes the live secret options files and
/// ends the process with 1 (from a timer signal: no thread). Its silent backstop fires half
/// way between the watchdog and the caller's timeout.
fn arm_watchdog(cx: &Context, logger: &Logger) -> Option<ExitWatchdog> {
    if !WATCHDOG.load(Ordering::Relaxed) {
        return None;
    }
    // deadline = total - margin, watchdog = total - margin/2: the backstop at total - margin/4.
    let half_margin = cx
        .watchdog
        .instant()
        .saturating_duration_since(cx.deadline.instant());
    let backstop = Deadline::at(
        cx.watchdog
            .instant()
            .checked_add(half_margin / 2)
            .unwrap_or(cx.watchdog.instant()),
    );
    Some(ExitWatchdog::arm(
        cx.watchdog,
        backstop,
        &cx.action,
        logger.reason_prefix(),
        Rc::ErrGeneric.code(),
    ))
}

/// Run `f`, catching a panic; the panic message is returned as the error.
fn catch_panic<T>(f: impl FnOnce() -> T + panic::UnwindSafe) -> std::result::Result<T, String> {
    install_panic_hook();
    let was = IN_AGENT.with(|x| std::mem::replace(&mut *x.borrow_mut(), true));
    let r = panic::catch_unwind(f);
    IN_AGENT.with(|x| *x.borrow_mut() = was);
    r.map_err(|_| {
        PANIC_MSG
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| "panic".to_string())
    })
}

fn fail(e: &Error) -> u8 {
    log::exit_reason(&e.reason_line());
    e.rc().code()
}

fn execute_action<A: ResourceAgent>(cx: &Context, requested: &str) -> u8 {
    let agent = A::META;
    let action = cx.action.as_str();
    if requested.is_empty() {
        return fail(&Error::unimplemented(format!(
            "no action given; {}",
            usage_text(agent).lines().next().unwrap_or("")
        )));
    }
    let routed = KNOWN.contains(&action) || agent.advertises(action);
    let available = match action {
        "start" | "stop" | "monitor" | "validate-all" => true,
        "status" => true,
        "migrate_to" if requested == "migrate" => agent.advertises("migrate_to"),
        a => agent.advertises(a),
    };
    if !routed || !available {
        let shown = crate::exit::sanitize_reason(requested);
        return fail(&Error::unimplemented(format!(
            "unsupported action '{shown}' for {}",
            agent.name
        )));
    }
    if let Some((major, _)) = cx.caller_version {
        if major != 1 {
            crate::warn!("caller announces OCF API version {major}.x; this agent implements 1.x");
        }
    }
    let is_monitor = cx.is_monitor();
    let is_probe = cx.is_probe();

    let result: Result<Rc> = guarded(|| {
        let params = Params::new(agent, &cx.env);
        let configured = params.check_all().and_then(|()| A::configure(&params, cx));
        for w in params.take_warnings() {
            crate::warn!("{w}");
        }
        let validated = configured.and_then(|cfg| {
            let host = if action == "validate-all" && !cx.wants_host_checks() {
                Ok(())
            } else {
                A::check_host(&cfg, cx)
            };
            host.map(|()| cfg)
        });
        let cfg = match validated {
            Ok(cfg) => cfg,
            Err(e) => return invalid_environment(cx, &e, is_probe, is_monitor),
        };
        let unit = |r: Result<()>| r.map(|()| Rc::Success);
        match action {
            "validate-all" => Ok(Rc::Success),
            "start" => unit(A::start(&cfg, cx)),
            "stop" => match A::stop(&cfg, cx) {
                Err(e) if e.rc() == Rc::NotRunning => Ok(Rc::Success),
                r => unit(r),
            },
            "monitor" | "status" => {
                let status = A::monitor(&cfg, cx)?;
                let mut rc = status.rc(cx.degraded_allowed());
                if cx.caller == Caller::Rgmanager && rc != Rc::NotRunning {
                    // rgmanager knows no roles: promoted is running.
                    rc = match rc {
                        Rc::RunningPromoted => Rc::Success,
                        Rc::FailedPromoted => Rc::ErrGeneric,
                        other => other,
                    };
                }
                Ok(rc)
            }
            "promote" => unit(A::promote(&cfg, cx)),
            "demote" => unit(A::demote(&cfg, cx)),
            "notify" => unit(A::notify(&cfg, cx)),
            "reload" => unit(A::reload(&cfg, cx)),
            "reload-agent" => unit(A::reload_agent(&cfg, cx)),
            "recover" => unit(A::recover(&cfg, cx)),
            "migrate_to" => unit(A::migrate_to(&cfg, cx)),
            "migrate_from" => unit(A::migrate_from(&cfg, cx)),
            _ => unit(A::custom(&cfg, cx)),
        }
    });
    match result {
        Ok(rc) => rc.code(),
        Err(e) if e.rc() == Rc::NotRunning && is_monitor => {
            // A monitor reporting "stopped" through an error: say why unless it is a probe.
            if !is_probe && !e.reason().is_empty() {
                log::exit_reason(&e.reason_line());
            }
            Rc::NotRunning.code()
        }
        Err(e) => {
            let e = if e.rc().rgmanager_only() && cx.caller != Caller::Rgmanager {
                // 150 means something to rgmanager only.
                e.with_rc(Rc::ErrGeneric)
            } else if e.rc() == Rc::NotRunning && !is_monitor && cx.action != "demote" {
                // 7 means "stopped" only from monitor (and from demote, which Pacemaker then
                // records as stopped); elsewhere it is a failure.
                e.with_rc(Rc::ErrGeneric)
            } else if matches!(e.rc(), Rc::Degraded | Rc::DegradedPromoted)
                && !cx.degraded_allowed()
            {
                return if e.rc() == Rc::Degraded { 0 } else { 8 };
            } else {
                e
            };
            fail(&e)
        }
    }
}

/// The invalid-environment policy (see the module docs).
fn invalid_environment(cx: &Context, e: &Error, is_probe: bool, is_monitor: bool) -> Result<Rc> {
    if cx.action == "stop" {
        crate::info!(
            "stop: {}; the resource cannot be running here, so it is considered stopped",
            e.reason_line()
        );
        return Ok(Rc::Success);
    }
    if is_probe {
        crate::info!("probe: {}; reporting not running", e.reason_line());
        return Ok(Rc::NotRunning);
    }
    if is_monitor {
        return Err(Error::generic(e.reason().to_string()));
    }
    Err(e.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{Action, Param};
    use std::time::Duration;

    const P: Param = Param::string("mode").required();
    const PW: Param = Param::string("password").secret();
    const AGENT: Agent = Agent::new("Unit", "1.1")
        .short("unit test agent")
        .params(&[P, PW])
        .actions(&[
            Action::start(20),
            Action::stop(20),
            Action::monitor(20, 10),
            Action::migrate_to(20),
            Action::new("custom-op", 5),
        ]);

    struct Unit;
    impl ResourceAgent for Unit {
        const META: &'static Agent = &AGENT;
        type Config = String;
        fn configure(p: &Params<'_>, cx: &Context) -> Result<String> {
            crate::debug!("configure: {p:?} {cx:?} {:?}", cx.env);
            if p.string(&PW)? == "reject" {
                return Err(Error::configured("password rejected"));
            }
            let m = p.string(&P)?;
            if m == "invalid" {
                return Err(Error::configured("mode invalid"));
            }
            Ok(m)
        }
        fn check_host(cfg: &String, _cx: &Context) -> Result<()> {
            if cfg == "nohost" {
                Err(Error::installed("missing binary"))
            } else {
                Ok(())
            }
        }
        fn start(cfg: &String, _cx: &Context) -> Result<()> {
            match cfg.as_str() {
                "panic" => panic!("boom"),
                "seven" => Err(Error::not_running("weird")),
                _ => Ok(()),
            }
        }
        fn stop(_cfg: &String, _cx: &Context) -> Result<()> {
            Ok(())
        }
        fn monitor(cfg: &String, _cx: &Context) -> Result<Status> {
            match cfg.as_str() {
                "degraded" => Ok(Status::Degraded),
                "down" => Err(Error::not_running("gone")),
                "fail" => Err(Error::generic("broken")),
                _ => Ok(Status::Running),
            }
        }
        fn migrate_to(cfg: &String, _cx: &Context) -> Result<()> {
            match cfg.as_str() {
                "migfail" => Err(Error::migration_failed_running("still on the source")),
                _ => Ok(()),
            }
        }
        fn custom(_cfg: &String, cx: &Context) -> Result<()> {
            crate::info!("custom {}", cx.action);
            Ok(())
        }
    }

    fn call(args: &[&str], env: &[(&str, &str)]) -> (u8, String, String) {
        let out = Stream::buffer();
        let err = Stream::buffer();
        let inv = Invocation {
            argv0: "/usr/lib/ocf/resource.d/t/Unit".into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: env.iter().copied().collect(),
            stdout: out.clone(),
            stderr: err.clone(),
            interactive: false,
        };
        let rc = execute::<Unit>(inv);
        (rc, out.contents(), err.contents())
    }

    #[test]
    fn protocol_actions_need_nothing() {
        let (rc, out, err) = call(&["meta-data"], &[]);
        assert_eq!(rc, 0);
        assert!(out.contains("<resource-agent name=\"Unit\""));
        assert_eq!(err, "");
        for a in ["usage", "help", "--help", "methods"] {
            let (rc, out, _) = call(&[a], &[]);
            assert_eq!(rc, 0, "{a}");
            assert!(out.contains("start"), "{a}");
        }
    }

    #[test]
    fn unknown_and_missing_actions_are_3() {
        let (rc, out, err) = call(&["bogus"], &[("OCF_RESKEY_mode", "x")]);
        assert_eq!(rc, 3);
        assert_eq!(out, "");
        assert!(
            err.contains("ocf-exit-reason:unsupported action 'bogus' for Unit"),
            "{err}"
        );
        assert_eq!(call(&["promote"], &[("OCF_RESKEY_mode", "x")]).0, 3);
        assert_eq!(call(&[], &[]).0, 3);
        let (rc, _, err) = call(&["bo\ngus;$(x)"], &[]);
        assert_eq!(rc, 3);
        assert_eq!(err.lines().count(), 1, "{err}");
    }

    #[test]
    fn invalid_environment_policy() {
        let interval = ("OCF_RESKEY_CRM_meta_interval", "10000");
        for mode in [None, Some("invalid"), Some("nohost")] {
            let mut env = vec![];
            if let Some(m) = mode {
                env.push(("OCF_RESKEY_mode", m));
            }
            assert_eq!(call(&["stop"], &env).0, 0, "{mode:?}");
            let (rc, _, err) = call(&["monitor"], &env);
            assert_eq!(rc, 7, "{mode:?}");
            assert!(!err.contains("ocf-exit-reason"), "{err}");
            let mut rec = env.clone();
            rec.push(interval);
            let (rc, _, err) = call(&["monitor"], &rec);
            assert_eq!(rc, 1);
            assert!(err.contains("ocf-exit-reason:"), "{err}");
            let expected = if mode == Some("nohost") { 5 } else { 6 };
            assert_eq!(call(&["start"], &env).0, expected, "{mode:?}");
            assert_eq!(call(&["validate-all"], &env).0, expected, "{mode:?}");
        }
        // validate-all at level 0 skips host checks.
        assert_eq!(
            call(
                &["validate-all"],
                &[("OCF_RESKEY_mode", "nohost"), ("OCF_CHECK_LEVEL", "0")]
            )
            .0,
            0
        );
    }

    #[test]
    fn panic_becomes_exit_1_with_reason() {
        let (rc, _, err) = call(&["start"], &[("OCF_RESKEY_mode", "panic")]);
        assert_eq!(rc, 1);
        assert!(
            err.contains("ocf-exit-reason:internal error: boom"),
            "{err}"
        );
    }

    #[test]
    fn result_mapping() {
        let m = ("OCF_RESKEY_mode", "degraded");
        assert_eq!(call(&["monitor"], &[m]).0, 0);
        let v11 = [
            m,
            ("OCF_RA_VERSION_MAJOR", "1"),
            ("OCF_RA_VERSION_MINOR", "1"),
        ];
        assert_eq!(call(&["monitor"], &v11).0, 190);
        let rg = [
            m,
            ("OCF_RA_VERSION_MAJOR", "1"),
            ("OCF_RA_VERSION_MINOR", "1"),
            ("OCF_ROOT", "/usr/share/cluster"),
        ];
        assert_eq!(call(&["status"], &rg).0, 0);
        let (rc, _, err) = call(
            &["monitor"],
            &[
                ("OCF_RESKEY_mode", "down"),
                ("OCF_RESKEY_CRM_meta_interval", "5000"),
            ],
        );
        assert_eq!((rc, err.contains("ocf-exit-reason:gone")), (7, true));
        let (rc, _, err) = call(&["monitor"], &[("OCF_RESKEY_mode", "down")]);
        assert_eq!((rc, err.contains("ocf-exit-reason")), (7, false));
        assert_eq!(call(&["monitor"], &[("OCF_RESKEY_mode", "fail")]).0, 1);
        assert_eq!(call(&["start"], &[("OCF_RESKEY_mode", "seven")]).0, 1);
        assert_eq!(call(&["verify-all"], &[("OCF_RESKEY_mode", "x")]).0, 0);
        assert_eq!(
            call(&["custom-op", "extra", "args"], &[("OCF_RESKEY_mode", "x")]).0,
            0
        );
        assert_eq!(
            call(&["start", "ignored"], &[("OCF_RESKEY_mode", "x")]).0,
            0
        );
    }

    #[test]
    fn secrets_never_reach_debug_output_logs_or_reasons() {
        const CANARY: &str = "s3cr3t-canary";
        for (mode, pw) in [
            ("x", CANARY),
            ("x", "reject"),
            ("x", "bad\u{1}s3cr3t-canary"),
        ] {
            let env = [
                ("OCF_RESKEY_mode", mode),
                ("OCF_RESKEY_password", pw),
                ("HA_debug", "1"),
            ];
            for action in ["start", "validate-all", "monitor"] {
                let (_, out, err) = call(&[action], &env);
                assert!(!out.contains(CANARY) && !err.contains(CANARY), "{err}");
                assert!(err.contains("(secret)"), "debug line expected: {err}");
            }
        }
        let (rc, _, err) = call(
            &["start"],
            &[("OCF_RESKEY_mode", "x"), ("OCF_RESKEY_password", "reject")],
        );
        assert_eq!(rc, 6);
        assert!(err.contains("ocf-exit-reason:password rejected"), "{err}");
        let (rc, _, err) = call(
            &["start"],
            &[
                ("OCF_RESKEY_mode", "x"),
                ("OCF_RESKEY_password", "bad\ns3cr3t-canary"),
            ],
        );
        assert_eq!(rc, 6, "{err}");
        assert!(!err.contains(CANARY), "{err}");
        // Each type on its own.
        let env: Env = [("OCF_RESKEY_password", CANARY), ("OCF_RESKEY_mode", "m")]
            .into_iter()
            .collect();
        let cx = Context::new(&AGENT, "start", &[], env.clone(), "Unit", Instant::now());
        let params = Params::new(&AGENT, &cx.env);
        for d in [
            format!("{cx:?}"),
            format!("{cx:#?}"),
            format!("{:?}", cx.env),
            format!("{params:?}"),
            format!("{params:#?}"),
        ] {
            assert!(!d.contains(CANARY), "{d}");
            assert!(d.contains("password"), "{d}");
        }
        assert!(format!("{params:?}").contains("\"m\""));
        // The raw Env of the invocation does not know the declaration yet: the Invocation
        // shows no values at all.
        let inv = Invocation {
            argv0: "Unit".into(),
            args: vec!["start".into()],
            env,
            stdout: Stream::buffer(),
            stderr: Stream::buffer(),
            interactive: false,
        };
        assert!(!format!("{inv:?}").contains(CANARY));
    }

    #[test]
    fn code_150_only_for_rgmanager() {
        let m = ("OCF_RESKEY_mode", "migfail");
        let rg = ("OCF_ROOT", "/usr/share/cluster");
        let (rc, _, err) = call(&["migrate", "node2"], &[m, rg]);
        assert_eq!(rc, 150, "{err}");
        assert!(err.contains("ocf-exit-reason:still on the source"), "{err}");
        assert_eq!(call(&["migrate_to"], &[m]).0, 1);
        assert_eq!(call(&["migrate_to"], &[("OCF_RESKEY_mode", "x"), rg]).0, 0);
    }

    /// A test agent with nothing to configure whose start and stop succeed: only its
    /// declaration and its monitor (`|cx| body`) differ.
    macro_rules! monitor_only_agent {
        ($name:ident, $meta:expr, |$cx:ident| $body:block) => {
            struct $name;
            impl ResourceAgent for $name {
                const META: &'static Agent = $meta;
                type Config = ();
                fn configure(_: &Params<'_>, _: &Context) -> Result<()> {
                    Ok(())
                }
                fn start(_: &(), _: &Context) -> Result<()> {
                    Ok(())
                }
                fn stop(_: &(), _: &Context) -> Result<()> {
                    Ok(())
                }
                fn monitor(_: &(), $cx: &Context) -> Result<Status> $body
            }
        };
    }

    /// The agent of the watchdog test: its monitor blocks in `read(2)` on a FIFO nobody opens
    /// for writing (a real blocking system call, not a sleep the SDK could cut short).
    const HANG: Agent = Agent::new("Hang", "1.1").actions(&[
        Action::start(20),
        Action::stop(20),
        Action::monitor(20, 10),
    ]);
    monitor_only_agent!(Hang, &HANG, |cx| {
        let fifo = cx.env.get("HANG_FIFO").unwrap_or("/nonexistent");
        // An options file alive while the action hangs: the watchdog removes it.
        let _secret = match cx.env.get("HANG_SECRETS") {
            Some(d) => Some(crate::secret::OptionsFile::create_in(
                std::path::Path::new(d),
                b"password=x\n",
            )?),
            None => None,
        };
        if cx.env.contains("HANG_UNHANDLED") {
            // Stands in for a thread stuck where no signal handler can run (a FUSE
            // request whose daemon is stopped waits killable-only): the watchdog's
            // signal achieves nothing, so only the backstop can end the process.
            // SAFETY: ignoring a signal installs no code.
            unsafe {
                libc::signal(libc::SIGALRM, libc::SIG_IGN);
            }
        }
        if cx.env.contains("HANG_BOUNDED") {
            // Bounded by more than the budget (an agent that asked for too much): the
            // watchdog answers, naming the call.
            let f = fifo.to_string();
            let far = crate::Deadline::after(Duration::from_secs(60));
            crate::deadline::bounded(far, format!("open of {fifo}"), move || std::fs::read(f))??;
        } else {
            std::fs::read(fifo)?;
        }
        Ok(Status::Running)
    });

    /// The agent of the secret-environment test: its monitor runs `env` (inheriting the
    /// process environment, as any child does) into the file `SECRET_OUT`.
    const LEAKY_PASSWORD: Param = Param::string("password").secret();
    const LEAKY: Agent = Agent::new("Leaky", "1.1")
        .params(&[LEAKY_PASSWORD])
        .actions(&[Action::start(20), Action::stop(20), Action::monitor(20, 10)]);
    monitor_only_agent!(Leaky, &LEAKY, |cx| {
        let out = cx.env.get("SECRET_OUT").unwrap_or("/nonexistent");
        let env = std::process::Command::new("env").output()?;
        std::fs::write(out, env.stdout)?;
        Ok(Status::Running)
    });

    /// Runs only as the child of `secret_parameters_are_not_inherited_by_children`.
    #[test]
    fn secret_child() {
        if std::env::var_os("SECRET_OUT").is_none() {
            return;
        }
        prepare_process();
        let inv = Invocation {
            argv0: "Leaky".into(),
            args: vec!["monitor".into()],
            env: Env::from_process(),
            stdout: Stream::Stdout,
            stderr: Stream::Stderr,
            interactive: false,
        };
        std::process::exit(i32::from(execute::<Leaky>(inv)));
    }

    #[test]
    fn secret_parameters_are_not_inherited_by_children() {
        let out = std::env::temp_dir().join(format!("ocfcore-secret-{}", std::process::id()));
        let o = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "dispatch::tests::secret_child", "--nocapture"])
            .args(["--test-threads", "1"])
            .env("SECRET_OUT", &out)
            .env("OCF_RESKEY_password", "hunter2-ocfcore")
            .env("OCF_RESKEY_CRM_meta_interval", "10000")
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let seen = std::fs::read_to_string(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        assert!(
            seen.contains("SECRET_OUT="),
            "the child's environment: {seen}"
        );
        assert!(
            !seen.contains("hunter2-ocfcore"),
            "secret inherited: {seen}"
        );
        assert!(
            !seen.contains("OCF_RESKEY_password"),
            "secret inherited: {seen}"
        );
    }

    /// Runs only as the child of `watchdog_answers_for_a_blocked_action` (re-executed test
    /// binary): a real process with the watchdog armed.
    #[test]
    fn watchdog_child() {
        let Ok(fifo) = std::env::var("HANG_FIFO") else {
            return;
        };
        prepare_process();
        // Where the child's own clock starts (just before the action's deadline clock): the
        // parent measures the watchdog from here, not from its spawn, whose start-up time
        // (a large test binary) grows without bound under load.
        eprintln!("{WATCHDOG_T0} {}", monotonic_ns());
        let err = Stream::Stderr;
        let mut env = Env::from_process();
        env.set("HANG_FIFO", &fifo);
        let inv = Invocation {
            argv0: "Hang".into(),
            args: vec!["monitor".into()],
            env,
            stdout: Stream::Stdout,
            stderr: err,
            interactive: false,
        };
        let rc = execute::<Hang>(inv);
        // Not reached while the watchdog works: it ends the process first.
        std::process::exit(i32::from(rc) + 100);
    }

    const WATCHDOG_T0: &str = "watchdog-child-t0-ns";

    /// CLOCK_MONOTONIC in ns: one clock for the parent and the child.
    fn monotonic_ns() -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes the timespec we pass.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
    }

    /// Run `cmd` to its end while measuring how late this machine wakes a sleeping thread
    /// (the most a 5 ms sleep overslept): the delay a timer signal in the child and this
    /// process's wake-up at its exit may each suffer under load.
    fn output_with_wakeup_lateness(
        cmd: &mut std::process::Command,
    ) -> (std::process::Output, u64, Duration) {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let probe = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut worst = Duration::ZERO;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    std::thread::sleep(Duration::from_millis(5));
                    worst = worst.max(t.elapsed().saturating_sub(Duration::from_millis(5)));
                }
                worst
            })
        };
        let out = cmd.output().unwrap();
        let end = monotonic_ns();
        stop.store(true, Ordering::Relaxed);
        (out, end, probe.join().unwrap())
    }

    #[test]
    fn watchdog_answers_for_a_blocked_action() {
        let dir = std::env::temp_dir().join(format!("ocfcore-watchdog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        for (bounded, unhandled) in [(false, false), (true, false), (false, true)] {
            let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
            cmd.args(["--exact", "dispatch::tests::watchdog_child", "--nocapture"])
                .args(["--test-threads", "1"])
                .env("HANG_FIFO", &fifo)
                .env("OCF_RESKEY_CRM_meta_timeout", "3000")
                .env("OCF_RESKEY_CRM_meta_interval", "10000");
            if bounded {
                cmd.env("HANG_BOUNDED", "1");
            }
            if unhandled {
                cmd.env("HANG_UNHANDLED", "1");
            }
            let secrets = dir.join("secrets");
            if !bounded && !unhandled {
                cmd.env("HANG_SECRETS", &secrets);
            }
            let (out, end, late) = output_with_wakeup_lateness(&mut cmd);
            let err = String::from_utf8_lossy(&out.stderr);
            let t0: u64 = err
                .lines()
                .find_map(|l| l.strip_prefix(WATCHDOG_T0))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("the child did not start: {err}"));
            // From the child's own start (its deadline clock starts just after t0) to its end
            // as seen here. Never early: load only delays. Late by at most what this machine
            // is measured to add to a timer wake-up (twice: the child's timer signal, then our
            // wake-up at its exit); on a calm machine that is a few ms and the bound is the
            // caller's 3 s minus 10 ms.
            let took = Duration::from_nanos(end.saturating_sub(t0));
            let limit = Duration::from_millis(2990) + 2 * late;
            if unhandled {
                // The backstop (SIGUSR2, default action) at 3 s - margin/4 = 2.875 s: ended
                // before the caller's timeout, without a reason (none could be written).
                use std::os::unix::process::ExitStatusExt;
                assert_eq!(out.status.signal(), Some(libc::SIGUSR2), "{err}");
                assert!(took < limit, "{took:?} (wake-up lateness {late:?})");
                assert!(took >= Duration::from_millis(2874), "{took:?}");
                assert!(!err.contains("ocf-exit-reason:"), "{err}");
                continue;
            }
            assert_eq!(out.status.code(), Some(1), "{err}");
            // Timeout 3 s: the agent's own deadline at 2.5 s, the watchdog at 2.75 s, the
            // caller gives up at 3 s.
            assert!(took < limit, "{took:?} (wake-up lateness {late:?})");
            assert!(took >= Duration::from_millis(2749), "{took:?}");
            let reasons: Vec<&str> = err
                .lines()
                .filter_map(|l| l.strip_prefix("ocf-exit-reason:"))
                .collect();
            assert_eq!(reasons.len(), 1, "one exit reason: {err}");
            if !bounded {
                // The options file created by the hanging action is gone with it.
                let left: Vec<_> = std::fs::read_dir(&secrets).unwrap().flatten().collect();
                assert!(left.is_empty(), "left behind: {left:?}");
            }
            let reason = reasons[0];
            if bounded {
                assert!(
                    reason.starts_with(&format!(
                        "monitor: open of {} blocked in the kernel for 2.",
                        fifo.display()
                    )),
                    "{reason}"
                );
            } else {
                assert!(
                    reason.starts_with("monitor: no answer within 2."),
                    "{reason}"
                );
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn multicall_lookup_is_exact() {
        const A2: Agent = Agent::new("Unit2", "1.0");
        monitor_only_agent!(U2, &A2, |_cx| { Ok(Status::Stopped) });
        let agents = [entry::<Unit>(), entry::<U2>()];
        assert_eq!(
            lookup(&agents, "/x/Unit").map(|e| e.meta.name),
            Some("Unit")
        );
        assert_eq!(
            lookup(&agents, "/x/Unit2").map(|e| e.meta.name),
            Some("Unit2")
        );
        assert_eq!(
            lookup(&agents, "/usr/share/cluster/Unit2.sh").map(|e| e.meta.name),
            Some("Unit2")
        );
        assert!(lookup(&agents, "/x/Uni").is_none());
        assert!(lookup(&agents, "/x/Unit22").is_none());
    }
}
