//! Running the agent: the environment each profile sets, deadlines, and what one run saw.

use crate::cli::Profile;
use crate::inspect::MetaData;
use ocf::process::Cmd;
use ocf::{Deadline, Env};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The PATH Pacemaker's executor typically runs with (its systemd unit's default).
pub const PACEMAKER_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Feature set announced in the pacemaker profile.
pub const FEATURE_SET: &str = "3.19.0";
/// Exit-reason prefix.
pub const REASON_PREFIX: &str = "ocf-exit-reason:";
/// Default time limit when neither --timeout nor meta-data gives one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// One invocation to make.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// The action (argv[1]).
    pub action: String,
    /// CRM_meta_interval in ms; `None` = the profile's default for the action.
    pub interval_ms: Option<u64>,
    /// OCF_CHECK_LEVEL.
    pub depth: Option<u32>,
    /// Extra variables.
    pub set: Vec<(String, String)>,
    /// Variables to remove (after everything else is set).
    pub unset: Vec<String>,
    /// Replace the -o parameters.
    pub params: Option<Vec<(String, String)>>,
    /// Legacy: OCF_RESOURCE_INSTANCE and parameters are exported (false for steps 2-4).
    pub no_instance: bool,
    /// Run as this uid/gid.
    pub user: Option<(u32, u32)>,
    /// Start from an empty environment (nothing at all).
    pub empty_env: bool,
    /// stdin and stderr closed (rgmanager's meta-data call).
    pub close_stdio: bool,
    /// Arguments after the action (only for running helper programs such as crm_resource).
    pub extra_args: Vec<String>,
}

impl Spec {
    /// A plain run of `action`.
    pub fn new(action: &str) -> Spec {
        Spec {
            action: action.to_string(),
            ..Spec::default()
        }
    }
    /// Builder: interval.
    pub fn interval(mut self, ms: u64) -> Spec {
        self.interval_ms = Some(ms);
        self
    }
    /// Builder: set a variable.
    pub fn set(mut self, k: &str, v: &str) -> Spec {
        self.set.push((k.to_string(), v.to_string()));
        self
    }
    /// Builder: depth.
    pub fn depth(mut self, d: u32) -> Spec {
        self.depth = Some(d);
        self
    }
}

/// What one run produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The action.
    pub action: String,
    /// Exit code; `None` when killed (timeout or signal).
    pub rc: Option<i32>,
    /// The deadline passed and the process group was killed.
    pub timed_out: bool,
    /// Terminating signal.
    pub signal: Option<i32>,
    /// Captured stdout.
    pub stdout: Vec<u8>,
    /// Captured stderr.
    pub stderr: Vec<u8>,
    /// Duration.
    pub elapsed: Duration,
    /// The limit applied.
    pub limit: Duration,
    /// The advertised timeout, if any.
    pub advertised: Option<Duration>,
    /// Could not be started at all (message).
    pub spawn_error: Option<String>,
}

impl RunResult {
    /// The result of `action` before it ran (or when it could not run): no code, no output.
    pub fn blank(action: &str, limit: Duration) -> RunResult {
        RunResult {
            action: action.to_string(),
            rc: None,
            timed_out: false,
            signal: None,
            stdout: Vec::new(),
            stderr: Vec::new(),
            elapsed: Duration::ZERO,
            limit,
            advertised: None,
            spawn_error: None,
        }
    }

    /// The code as the shell tool prints it; a hang or a kill has no code.
    pub fn rc_text(&self) -> String {
        match (self.rc, self.timed_out, self.signal) {
            (Some(rc), _, _) => rc.to_string(),
            (None, true, _) => "timeout".to_string(),
            (None, false, Some(s)) => format!("signal{s}"),
            _ => "none".to_string(),
        }
    }
    /// Whether the code is one of `expected`.
    pub fn is(&self, expected: &[i32]) -> bool {
        self.rc.is_some_and(|rc| expected.contains(&rc))
    }
    /// stdout then stderr, as text.
    pub fn output_text(&self) -> String {
        let mut s = String::from_utf8_lossy(&self.stdout).into_owned();
        s.push_str(&String::from_utf8_lossy(&self.stderr));
        if let Some(e) = &self.spawn_error {
            s.push_str(e);
        }
        s
    }
    /// Exit-reason lines on stderr.
    pub fn reasons(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.stderr)
            .lines()
            .filter_map(|l| l.strip_prefix(REASON_PREFIX).map(str::to_string))
            .collect()
    }
    /// A suffix explaining a hang.
    pub fn hang_note(&self) -> String {
        if self.timed_out {
            format!(
                " (agent hung: killed its process group after {}s)",
                self.limit.as_secs_f64().round()
            )
        } else if let Some(e) = &self.spawn_error {
            format!(" ({e})")
        } else if let (None, Some(s)) = (self.rc, self.signal) {
            format!(" (agent killed by signal {s})")
        } else {
            String::new()
        }
    }
}

/// Runs the agent for one profile and remembers every run.
pub struct Runner {
    /// Agent path.
    pub agent: PathBuf,
    /// Profile.
    pub profile: Profile,
    /// OCF_RESOURCE_INSTANCE.
    pub instance: String,
    /// -o parameters.
    pub params: Vec<(String, String)>,
    /// --timeout.
    pub timeout: Option<Duration>,
    /// Parsed meta-data, once known.
    pub md: Option<MetaData>,
    /// -d.
    pub debug: bool,
    /// -X.
    pub trace: bool,
    /// -v: print each run and its output.
    pub verbose: bool,
    /// Whether verbose lines may go to stdout (text format).
    pub text_out: bool,
    /// Every run so far.
    pub history: Vec<RunResult>,
    /// The tester's own environment (legacy profile base).
    pub base: Env,
    /// `--env` variables, set for every action (but the empty-environment check).
    pub extra_env: Vec<(String, String)>,
    /// `--via-pacemaker`: run the actions through Pacemaker's own executor.
    pub pacemaker: Option<crate::pacemaker::Executor>,
}

impl Runner {
    /// The agent's type (file name).
    pub fn type_name(&self) -> String {
        self.agent
            .file_name()
            .map(|f| f.to_string_lossy().trim_end_matches(".sh").to_string())
            .unwrap_or_default()
    }

    /// The agent's provider (parent directory name).
    pub fn provider(&self) -> String {
        self.agent
            .parent()
            .and_then(Path::file_name)
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "heartbeat".into())
    }

    /// The advertised timeout of `action`.
    pub fn advertised(&self, action: &str) -> Option<Duration> {
        let a = match (self.profile, action) {
            (Profile::Rgmanager, "monitor") => "status",
            _ => action,
        };
        self.md.as_ref().and_then(|m| m.timeout_of(a))
    }

    /// The limit for `action`.
    pub fn limit(&self, action: &str) -> Duration {
        self.timeout
            .or_else(|| self.advertised(action))
            .unwrap_or(DEFAULT_TIMEOUT)
            .max(Duration::from_secs(1))
    }

    /// The advertised recurring monitor interval in ms (10 s when none).
    pub fn recurring_interval_ms(&self) -> u64 {
        self.md
            .as_ref()
            .and_then(|m| {
                m.actions
                    .iter()
                    .find(|a| a.name == "monitor" && a.interval.is_some_and(|i| !i.is_zero()))
                    .and_then(|a| a.interval)
            })
            .map(|d| d.as_millis() as u64)
            .unwrap_or(10_000)
    }

    /// The environment for `spec`.
    pub fn env_for(&self, spec: &Spec) -> Env {
        if spec.empty_env {
            return Env::new();
        }
        let limit = self.limit(&spec.action);
        let params = spec.params.clone().unwrap_or_else(|| self.params.clone());
        let mut env = match self.profile {
            Profile::Legacy => {
                let mut e = self.base.clone();
                e.remove("__OCF_ACTION");
                if e.get_nonempty("OCF_ROOT").is_none() {
                    e.set("OCF_ROOT", "/usr/lib/ocf");
                }
                e.set("OCF_RESKEY_CRM_meta_timeout", "20000");
                e.set(
                    "OCF_RESKEY_CRM_meta_interval",
                    spec.interval_ms.unwrap_or(10_000).to_string(),
                );
                if self.debug {
                    e.set("HA_debug", "1");
                }
                if self.trace {
                    e.set("OCF_TRACE_RA", "1");
                }
                let shown: &[(String, String)] = if spec.no_instance {
                    &[]
                } else {
                    e.set("OCF_RESOURCE_INSTANCE", &self.instance);
                    &params
                };
                set_params(&mut e, shown, spec);
                e
            }
            Profile::Pacemaker => {
                let mut e = Env::new();
                e.set("PATH", PACEMAKER_PATH);
                let root = self
                    .base
                    .get_nonempty("OCF_ROOT")
                    .unwrap_or("/usr/lib/ocf")
                    .to_string();
                e.set("OCF_ROOT", root);
                e.set("OCF_RA_VERSION_MAJOR", "1");
                e.set("OCF_RA_VERSION_MINOR", "1");
                e.set("OCF_RESOURCE_INSTANCE", &self.instance);
                e.set("OCF_RESOURCE_TYPE", self.type_name());
                e.set("OCF_RESOURCE_PROVIDER", self.provider());
                e.set("OCF_EXIT_REASON_PREFIX", REASON_PREFIX);
                e.set("HA_LOGFACILITY", "daemon");
                e.set("PCMK_LOGFACILITY", "daemon");
                e.set("PCMK_service", "pacemaker-execd");
                e.set("HA_debug", if self.debug { "1" } else { "0" });
                e.set("PCMK_debug", if self.debug { "1" } else { "0" });
                if self.trace {
                    e.set("OCF_TRACE_RA", "1");
                }
                if spec.action != "meta-data" {
                    e.set("OCF_RESKEY_crm_feature_set", FEATURE_SET);
                    e.set("OCF_RESKEY_CRM_meta_timeout", limit.as_millis().to_string());
                    let interval = spec.interval_ms.unwrap_or(0);
                    e.set("OCF_RESKEY_CRM_meta_interval", interval.to_string());
                    set_params(&mut e, &params, spec);
                }
                e
            }
            Profile::Rgmanager => {
                let mut e = Env::new();
                let mut all = params.clone();
                if let Some(md) = &self.md {
                    for p in &md.params {
                        if let Some(d) = &p.default {
                            if !all.iter().any(|(k, _)| *k == p.name) {
                                all.push((p.name.clone(), d.clone()));
                            }
                        }
                    }
                }
                for (k, v) in &all {
                    if !v.is_empty() {
                        e.set(format!("OCF_RESKEY_{k}"), v);
                    }
                }
                e.set("OCF_RA_VERSION_MAJOR", "1");
                e.set("OCF_RA_VERSION_MINOR", "0");
                e.set("OCF_ROOT", ocf::metadata::RGMANAGER_ROOT);
                let tname = self
                    .md
                    .as_ref()
                    .map(|m| m.name.clone())
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| self.type_name());
                e.set(
                    "OCF_RESOURCE_INSTANCE",
                    format!("{tname}:{}", self.instance),
                );
                e.set("OCF_RESOURCE_TYPE", &tname);
                e.set("OCF_CHECK_LEVEL", spec.depth.unwrap_or(0).to_string());
                e.set("OCF_RESKEY_RGMANAGER_meta_refcnt", "0");
                e.set(
                    "OCF_RESKEY_RGMANAGER_meta_timeout",
                    limit.as_secs().to_string(),
                );
                e
            }
        };
        for (k, v) in &self.extra_env {
            env.set(k, v);
        }
        for (k, v) in &spec.set {
            env.set(k, v);
        }
        for k in &spec.unset {
            env.remove(k);
        }
        env
    }

    /// Run `spec` under its deadline; record and return the result.
    pub fn run(&mut self, spec: &Spec) -> RunResult {
        let r = self.execute(spec);
        self.report_run(spec, &r);
        self.history.push(r.clone());
        r
    }

    /// Run independent `specs` at the same time (meta-data variants, read-only actions);
    /// the results are recorded and returned in the order given.
    pub fn run_many(&mut self, specs: &[Spec]) -> Vec<RunResult> {
        let this: &Runner = self;
        let results: Vec<RunResult> = std::thread::scope(|scope| {
            let handles: Vec<_> = specs
                .iter()
                .map(|s| scope.spawn(move || this.execute(s)))
                .collect();
            handles
                .into_iter()
                .zip(specs)
                .map(|(h, s)| {
                    h.join().unwrap_or_else(|_| {
                        let mut r = RunResult::blank(&s.action, Duration::ZERO);
                        r.spawn_error = Some("the tester's runner thread failed".into());
                        r
                    })
                })
                .collect()
        });
        for (s, r) in specs.iter().zip(&results) {
            self.report_run(s, r);
            self.history.push(r.clone());
        }
        results
    }

    /// The action as the profile names it.
    fn action_name(&self, spec: &Spec) -> String {
        match (self.profile, spec.action.as_str()) {
            (Profile::Rgmanager, "monitor") => "status".to_string(),
            _ => spec.action.clone(),
        }
    }

    /// `-v`: print one run and its output.
    fn report_run(&self, spec: &Spec, r: &RunResult) {
        if self.verbose && self.text_out {
            println!("Testing: {}{}", r.action, describe(spec));
            let out = r.output_text();
            for l in out.lines() {
                println!("    | {l}");
            }
            println!(
                "    -> rc={} in {:.2}s{}",
                r.rc_text(),
                r.elapsed.as_secs_f64(),
                r.hang_note()
            );
        }
    }

    /// Run `spec` without recording it.
    pub fn execute(&self, spec: &Spec) -> RunResult {
        let action = self.action_name(spec);
        let limit = self.limit(&spec.action);
        let advertised = self.advertised(&spec.action);
        if let Some(p) = &self.pacemaker {
            if let Some(r) = p.execute(self, spec, &action, limit) {
                return RunResult { advertised, ..r };
            }
        }
        let env = self.env_for(spec);
        let progress = Progress::start(&action, limit);
        let r = spawn_bounded(&self.agent, &action, &env, spec, limit);
        drop(progress);
        RunResult { advertised, ..r }
    }
}

/// How long the pipes are still read after the agent exited: what it wrote before exiting
/// is in the pipe already; a daemon it left behind may hold the pipes open for ever
/// (Pacemaker's executor does not wait for them either).
const PIPE_GRACE: Duration = Duration::from_millis(100);

/// Run `agent action` in its own process group with `env` exactly, until it exits or
/// `limit` passes (then its whole process group is killed, as Pacemaker's executor does).
/// The exit is noticed at once (a thread waits for it; no polling).
pub fn spawn_bounded(
    agent: &Path,
    action: &str,
    env: &Env,
    spec: &Spec,
    limit: Duration,
) -> RunResult {
    use std::io::Read;
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    let mut result = RunResult::blank(action, limit);
    if spec.close_stdio {
        // rgmanager's meta-data call (fds 0 and 2 closed): the SDK's runner does that part.
        let mut cmd = Cmd::new(agent).arg(action).env_clear();
        for (k, v) in env.iter() {
            cmd = cmd.env(k, v);
        }
        if let Some((u, g)) = spec.user {
            cmd = cmd.user(u, g);
        }
        match cmd
            .close_stdin_stderr()
            .run_bounded(Deadline::after(limit), PIPE_GRACE)
        {
            Ok(f) => {
                result.rc = if f.timed_out { None } else { f.output.code };
                result.timed_out = f.timed_out;
                result.signal = f.output.signal;
                result.stdout = f.output.stdout;
                result.elapsed = f.elapsed;
            }
            Err(e) => spawn_failed(&mut result, e.reason()),
        }
        return result;
    }
    let mut c = Command::new(agent);
    c.arg(action)
        .args(&spec.extra_args)
        .env_clear()
        .envs(env.iter())
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some((u, g)) = spec.user {
        c.uid(u).gid(g);
    }
    let t0 = Instant::now();
    let mut child = match c.spawn() {
        Ok(ch) => ch,
        Err(e) => {
            let msg = match e.kind() {
                std::io::ErrorKind::PermissionDenied => {
                    format!("{}: not executable", agent.display())
                }
                _ => format!("{}: {e}", agent.display()),
            };
            spawn_failed(&mut result, &msg);
            return result;
        }
    };
    let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (tx, rx) = mpsc::channel::<Event>();
    let pipes: Vec<(bool, Box<dyn Read + Send>)> = [
        child
            .stdout
            .take()
            .map(|p| (true, Box::new(p) as Box<dyn Read + Send>)),
        child
            .stderr
            .take()
            .map(|p| (false, Box::new(p) as Box<dyn Read + Send>)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let npipes = pipes.len();
    for (is_out, p) in pipes {
        let data = move |c| Event::Data(is_out, c);
        ocf::process::forward_pipe(p, tx.clone(), data, Event::Eof);
    }
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let st = child.wait();
            let _ = tx.send(Event::Exit(st.ok(), t0.elapsed()));
        });
    }
    drop(tx);
    let deadline = t0 + limit;
    let mut eofs = 0;
    let mut exited: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let until = match exited {
            Some(t) => t + PIPE_GRACE,
            None => deadline,
        };
        if eofs == npipes && exited.is_some() {
            break;
        }
        let ev = match rx.recv_timeout(until.saturating_duration_since(now)) {
            Ok(ev) => ev,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) if exited.is_some() => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // The deadline: kill the whole group (SIGKILL, no grace, as Pacemaker).
                result.timed_out = true;
                let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
                exited = Some(Instant::now());
                continue;
            }
        };
        match ev {
            Event::Data(true, b) => result.stdout.extend_from_slice(&b),
            Event::Data(false, b) => result.stderr.extend_from_slice(&b),
            Event::Eof => eofs += 1,
            Event::Exit(st, el) => {
                if !result.timed_out {
                    result.rc = st.and_then(|s| s.code());
                    result.signal = st.and_then(|s| s.signal());
                }
                result.elapsed = el;
                exited = Some(Instant::now());
            }
        }
    }
    if result.timed_out {
        result.rc = None;
        result.elapsed = limit;
    }
    result
}

enum Event {
    Data(bool, Vec<u8>),
    Eof,
    Exit(Option<std::process::ExitStatus>, Duration),
}

/// `OCF_RESKEY_<name>` for each of `params`, then `OCF_CHECK_LEVEL` when `spec` has a depth.
fn set_params(e: &mut Env, params: &[(String, String)], spec: &Spec) {
    for (k, v) in params {
        e.set(format!("OCF_RESKEY_{k}"), v);
    }
    if let Some(d) = spec.depth {
        e.set("OCF_CHECK_LEVEL", d.to_string());
    }
}

fn spawn_failed(r: &mut RunResult, msg: &str) {
    // As a shell reports it: 126 not executable, 127 not found.
    r.rc = Some(if msg.contains("not executable") {
        126
    } else {
        127
    });
    r.spawn_error = Some(msg.to_string());
}

fn describe(spec: &Spec) -> String {
    let mut parts = Vec::new();
    if let Some(i) = spec.interval_ms {
        if i == 0 && spec.action == "monitor" {
            parts.push("probe".to_string());
        }
    }
    if let Some(d) = spec.depth {
        parts.push(format!("depth {d}"));
    }
    if spec.user.is_some() {
        parts.push("unprivileged".into());
    }
    if spec.empty_env {
        parts.push("empty environment".into());
    }
    for (k, v) in &spec.set {
        parts.push(format!("{k}={v}"));
    }
    for k in &spec.unset {
        parts.push(format!("without {k}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// Prints "still running" lines on stderr for actions that take long.
struct Progress {
    stop: Option<std::sync::mpsc::Sender<()>>,
}

impl Progress {
    fn start(action: &str, limit: Duration) -> Progress {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let action = action.to_string();
        std::thread::spawn(move || {
            let t0 = std::time::Instant::now();
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                rx.recv_timeout(Duration::from_secs(5))
            {
                let _ = writeln!(
                    std::io::stderr(),
                    "ocf-tester: {action} still running after {}s (limit {}s)",
                    t0.elapsed().as_secs(),
                    limit.as_secs()
                );
            }
        });
        Progress { stop: Some(tx) }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
