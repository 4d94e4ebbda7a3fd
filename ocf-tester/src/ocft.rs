//! Scenario files: resource-agents' ocft configuration format and our extension of it.
//!
//! Both dialects share one parser. `--ocft FILE` accepts exactly what ocft accepts (and
//! rejects our extensions, as ocft would); `--scenario FILE` accepts the extensions too.
//! The format itself is documented in `ocf-tester/README.md`.
//!
//! What is the same as ocft: the blocks (`CONFIG`, `VARIABLE`, `SETUP-AGENT`,
//! `CLEANUP-AGENT`, `CASE-BLOCK`, `CASE`), the sub-options (`Env`, `Unenv`, `Include`,
//! `Bash`, `BashAtExit`, `AgentRun ACTION [EXPECTED]` with its implicit monitor before
//! `start`/`stop`), shell code and variables (run by bash with ocft's `helpers.sh` and the
//! OCF shell library's return codes and directories loaded), the agent's environment
//! (OCF_RA_VERSION 1.0, OCF_RESOURCE_TYPE, OCF_RESOURCE_INSTANCE `ocft`,
//! CRM_meta_timeout = HangTimeout in ms unless set, HA_SBIN_DIR with `crm_master` and
//! `crm_mon` replaced by `true`) and the pass/fail meaning of each case.
//!
//! What differs: cases run in-process one step at a time, every agent run has a deadline
//! (HangTimeout) and a hang kills the agent's process group and fails the case (ocft does
//! the same, but polls once a second); `InstallPackage` is never installed by us: a missing
//! package skips the agent's cases and says so; remote `@HOST` sub-options are not
//! supported (reported as a parse error).

use crate::exec::RunResult;
use crate::report::{secs, Check, Group, Verdict};
use ocf::process::Cmd;
use ocf::{Deadline, Env, Rc};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which dialect a file is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// resource-agents' ocft, exactly.
    Ocft,
    /// ocf-tester's extended scenario format.
    Scenario,
}

/// Expected result of an `AgentRun`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// One of these codes.
    Codes(Vec<i32>),
    /// The agent must hang (be killed at the time limit).
    Hang,
}

/// One case step.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `Env VAR=value` (value expanded by bash).
    Env(String),
    /// `Unenv VAR...`.
    Unenv(Vec<String>),
    /// `Include NAME`.
    Include(String),
    /// `Bash CODE`.
    Bash(String),
    /// `BashAtExit CODE`.
    BashAtExit(String),
    /// `AgentRun ACTION [EXPECTED]`.
    AgentRun(String, Option<Expect>),
    /// Extension: `ExpectReason TEXT`: the last run's exit reason contains TEXT.
    ExpectReason(String),
    /// Extension: `ExpectQuietStdout`: the last run printed nothing on stdout.
    ExpectQuietStdout,
    /// Extension: `Timeout SECS` for the following runs of this case.
    Timeout(u64),
    /// Extension: `Sleep SECS` (fractions allowed).
    Sleep(f64),
}

/// A case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Description.
    pub name: String,
    /// Steps, includes unexpanded.
    pub ops: Vec<Op>,
}

/// A parsed file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// `Agent`.
    pub agent: Option<String>,
    /// `AgentRoot`.
    pub agent_root: Option<String>,
    /// `InstallPackage`.
    pub packages: Vec<String>,
    /// `HangTimeout` (seconds).
    pub hang_timeout: u64,
    /// `VARIABLE` lines.
    pub variables: Vec<String>,
    /// `SETUP-AGENT` lines.
    pub setup: Vec<String>,
    /// `CLEANUP-AGENT` lines.
    pub cleanup: Vec<String>,
    /// `CASE-BLOCK`s.
    pub blocks: HashMap<String, Vec<Op>>,
    /// `CASE`s in order.
    pub cases: Vec<Case>,
}

fn strip_comment(line: &str) -> &str {
    let mut in_q = false;
    let mut prev_ws = true;
    for (i, ch) in line.char_indices() {
        match ch {
            '"' => in_q = !in_q,
            '#' if !in_q && prev_ws => return &line[..i],
            _ => {}
        }
        prev_ws = ch.is_whitespace();
    }
    line
}

fn unquote(s: &str) -> String {
    let t = s.trim();
    t.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(t)
        .to_string()
}

fn parse_expect(word: &str, dialect: Dialect) -> Result<Expect, String> {
    if dialect == Dialect::Scenario && word == "hang" {
        return Ok(Expect::Hang);
    }
    let mut codes = Vec::new();
    for part in word.split('|') {
        if let Some(rc) = Rc::from_name(part) {
            codes.push(i32::from(rc.code()));
        } else if dialect == Dialect::Scenario && part.parse::<i32>().is_ok() {
            codes.push(part.parse::<i32>().unwrap_or(-1));
        } else {
            return Err(format!("unknown return code {part:?}"));
        }
        if dialect == Dialect::Ocft && word.contains('|') {
            return Err(format!(
                "{word:?}: alternatives are a scenario-format extension"
            ));
        }
    }
    Ok(Expect::Codes(codes))
}

/// Parse `text` in `dialect`.
///
/// # Errors
/// `line N: why` for the first problem.
pub fn parse(text: &str, dialect: Dialect) -> Result<Config, String> {
    #[derive(PartialEq)]
    enum Block {
        None,
        Config,
        Variable,
        Setup,
        Cleanup,
        Macro(String),
        Case(usize),
    }
    let mut cfg = Config {
        hang_timeout: 20,
        ..Config::default()
    };
    let mut block = Block::None;
    for (no, raw) in text.lines().enumerate() {
        let err = |m: String| format!("line {}: {m}", no + 1);
        let indented = raw.starts_with([' ', '\t']);
        // Shell code keeps its comments out too (ocft strips them the same way).
        let line = strip_comment(raw).trim_end();
        if line.trim().is_empty() {
            continue;
        }
        if !indented {
            let (kw, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            block = match kw {
                "CONFIG" => Block::Config,
                "VARIABLE" => Block::Variable,
                "SETUP-AGENT" => Block::Setup,
                "CLEANUP-AGENT" => Block::Cleanup,
                "CASE-BLOCK" => Block::Macro(rest.trim().to_string()),
                "CASE" => {
                    cfg.cases.push(Case {
                        name: unquote(rest),
                        ops: Vec::new(),
                    });
                    Block::Case(cfg.cases.len() - 1)
                }
                other => return Err(err(format!("unknown keyword {other:?}"))),
            };
            if let Block::Macro(n) = &block {
                cfg.blocks.entry(n.clone()).or_default();
            }
            continue;
        }
        let body = line.trim();
        match &block {
            Block::None => return Err(err("sub-option outside a block".into())),
            Block::Variable => {
                if body.starts_with("__OCFT__") {
                    return Err(err("reserved key word '__OCFT__'".into()));
                }
                cfg.variables.push(body.to_string());
            }
            Block::Setup => cfg.setup.push(body.to_string()),
            Block::Cleanup => cfg.cleanup.push(body.to_string()),
            Block::Config => {
                let (k, v) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
                let v = v.trim();
                match k {
                    "Agent" => cfg.agent = Some(v.to_string()),
                    "AgentRoot" => cfg.agent_root = Some(v.to_string()),
                    "InstallPackage" => cfg
                        .packages
                        .extend(v.split_whitespace().map(str::to_string)),
                    "HangTimeout" => {
                        cfg.hang_timeout = v
                            .parse()
                            .map_err(|_| err(format!("HangTimeout {v:?} is not a number")))?
                    }
                    other => return Err(err(format!("unknown CONFIG option {other:?}"))),
                }
            }
            Block::Macro(_) | Block::Case(_) => {
                let (k, v) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
                let v = v.trim();
                if k.contains('@') {
                    return Err(err(format!("{k}: remote hosts are not supported")));
                }
                let ext = |name: &str| -> Result<(), String> {
                    if dialect == Dialect::Ocft {
                        Err(err(format!(
                            "unimplemented statement: {name} (a scenario-format extension)"
                        )))
                    } else {
                        Ok(())
                    }
                };
                let op = match k {
                    "Env" => Op::Env(v.to_string()),
                    "Unenv" => Op::Unenv(v.split_whitespace().map(str::to_string).collect()),
                    "Include" => Op::Include(v.to_string()),
                    "Bash" => Op::Bash(v.to_string()),
                    "BashAtExit" => Op::BashAtExit(v.to_string()),
                    "AgentRun" => {
                        let mut w = v.split_whitespace();
                        let action = w
                            .next()
                            .ok_or_else(|| err("AgentRun needs an action".into()))?;
                        let expect = match w.next() {
                            Some(e) => Some(parse_expect(e, dialect).map_err(err)?),
                            None => None,
                        };
                        Op::AgentRun(action.to_string(), expect)
                    }
                    "ExpectReason" => {
                        ext(k)?;
                        Op::ExpectReason(unquote(v))
                    }
                    "ExpectQuietStdout" => {
                        ext(k)?;
                        Op::ExpectQuietStdout
                    }
                    "Timeout" => {
                        ext(k)?;
                        Op::Timeout(
                            v.parse()
                                .map_err(|_| err(format!("Timeout {v:?} is not a number")))?,
                        )
                    }
                    "Sleep" => {
                        ext(k)?;
                        Op::Sleep(
                            v.parse()
                                .map_err(|_| err(format!("Sleep {v:?} is not a number")))?,
                        )
                    }
                    other => return Err(err(format!("unimplemented statement: {other}"))),
                };
                match &block {
                    Block::Macro(n) => cfg.blocks.entry(n.clone()).or_default().push(op),
                    Block::Case(i) => cfg.cases[*i].ops.push(op),
                    _ => {}
                }
            }
        }
    }
    Ok(cfg)
}

impl Config {
    /// A case's steps with every `Include` expanded.
    ///
    /// # Errors
    /// Unknown or recursive macros.
    pub fn expand(&self, ops: &[Op], depth: usize) -> Result<Vec<Op>, String> {
        if depth > 20 {
            return Err("Include nesting too deep (recursive CASE-BLOCK?)".into());
        }
        let mut out = Vec::new();
        for op in ops {
            match op {
                Op::Include(n) => {
                    let b = self
                        .blocks
                        .get(n)
                        .ok_or_else(|| format!("Include {n}: no such CASE-BLOCK"))?;
                    out.extend(self.expand(b, depth + 1)?);
                }
                o => out.push(o.clone()),
            }
        }
        Ok(out)
    }
}

/// Time limit for the file's own shell code (ocft has none; we keep one so a stuck command
/// cannot hang the tester). Agent runs use HangTimeout.
pub const SHELL_LIMIT: Duration = Duration::from_secs(120);

/// Where ocft keeps its helpers.
pub const OCFT_DIR: &str = "/usr/share/resource-agents/ocft";

/// Runs a parsed file against an agent.
pub struct ScenarioRun<'a> {
    /// The file (for messages).
    pub file: PathBuf,
    /// Parsed content.
    pub cfg: &'a Config,
    /// Agent path.
    pub agent: PathBuf,
    /// OCF_RESOURCE_INSTANCE.
    pub instance: String,
    /// -o parameters (exported as OCF_RESKEY_*).
    pub params: Vec<(String, String)>,
    /// --timeout overrides HangTimeout.
    pub timeout: Option<u64>,
    /// -v.
    pub verbose: bool,
    /// Print progress lines.
    pub text: bool,
    /// -X: OCF_RESKEY_trace_ra=1 as ocft -X does.
    pub trace: bool,
}

struct CaseState {
    env: Env,
    atexit: Vec<String>,
    limit: Duration,
    last: Option<RunResult>,
    log: Vec<String>,
}

impl ScenarioRun<'_> {
    fn agent_name(&self) -> String {
        self.cfg.agent.clone().unwrap_or_else(|| {
            self.agent
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
    }

    fn base_env(&self, fakebin: &Path) -> Env {
        let mut e = Env::from_process();
        e.remove("__OCF_ACTION");
        let root = e
            .get_nonempty("OCF_ROOT")
            .unwrap_or("/usr/lib/ocf")
            .to_string();
        e.set("OCF_LIB", format!("{root}/lib/heartbeat"));
        e.set("OCF_ROOT", root);
        e.set("HA_SBIN_DIR", fakebin);
        e.set("OCF_RA_VERSION_MAJOR", "1");
        e.set("OCF_RA_VERSION_MINOR", "0");
        e.set("OCF_RESOURCE_TYPE", self.agent_name());
        if e.get_nonempty("OCF_RESOURCE_INSTANCE").is_none() || self.instance != "ocft" {
            e.set("OCF_RESOURCE_INSTANCE", &self.instance);
        }
        if self.trace {
            e.set("OCF_RESKEY_trace_ra", "1");
        }
        for (k, v) in &self.params {
            e.set(format!("OCF_RESKEY_{k}"), v);
        }
        e
    }

    fn preamble(&self) -> String {
        let mut s = String::from(
            "[ -r \"$OCF_LIB/ocf-returncodes\" ] && . \"$OCF_LIB/ocf-returncodes\"\n\
             [ -r \"$OCF_LIB/ocf-directories\" ] && . \"$OCF_LIB/ocf-directories\"\n",
        );
        s.push_str(&format!(
            "[ -r {OCFT_DIR}/helpers.sh ] && . {OCFT_DIR}/helpers.sh\n"
        ));
        for v in &self.cfg.variables {
            s.push_str(v);
            s.push('\n');
        }
        s
    }

    fn bash(&self, env: &Env, code: &str, limit: Duration) -> (bool, String) {
        let script = format!("{}\n{code}\n", self.preamble());
        let mut cmd = Cmd::new("bash").arg("-c").arg(script).env_clear();
        for (k, v) in env.iter() {
            cmd = cmd.env(k, v);
        }
        match cmd.run_bounded(Deadline::after(limit), Duration::from_millis(500)) {
            Ok(f) if f.timed_out => (
                false,
                format!("shell code hung; killed after {}s", limit.as_secs()),
            ),
            Ok(f) => (f.output.success(), f.output.one_line()),
            Err(e) => (false, e.reason().to_string()),
        }
    }

    fn expand_env(&self, env: &Env, assignment: &str) -> Result<(String, String), String> {
        let name = assignment
            .split('=')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        if name.is_empty() || !assignment.contains('=') {
            return Err(format!("Env {assignment:?}: expected VAR=value"));
        }
        let code = format!("export {assignment} || exit 1\nprintf '%s' \"${{{name}}}\"");
        let script = format!("{}\n{code}\n", self.preamble());
        let mut cmd = Cmd::new("bash").arg("-c").arg(script).env_clear();
        for (k, v) in env.iter() {
            cmd = cmd.env(k, v);
        }
        let out = cmd
            .run_bounded(
                Deadline::after(Duration::from_secs(20)),
                Duration::from_millis(200),
            )
            .map_err(|e| e.reason().to_string())?;
        if !out.output.success() || out.timed_out {
            return Err(format!("'export {assignment}' failed"));
        }
        Ok((name, out.output.stdout_text()))
    }

    fn agent_run(&self, st: &mut CaseState, action: &str) -> RunResult {
        let mut env = st.env.clone();
        if env.get("OCF_RESKEY_CRM_meta_timeout").is_none() {
            env.set(
                "OCF_RESKEY_CRM_meta_timeout",
                (st.limit.as_millis()).to_string(),
            );
        }
        let mut cmd = Cmd::new(&self.agent).arg(action).env_clear();
        for (k, v) in env.iter() {
            cmd = cmd.env(k, v);
        }
        let fin = cmd.run_bounded(Deadline::after(st.limit), Duration::from_millis(500));
        let r = match fin {
            Ok(f) => RunResult {
                action: action.to_string(),
                rc: if f.timed_out { None } else { f.output.code },
                timed_out: f.timed_out,
                signal: f.output.signal,
                stdout: f.output.stdout,
                stderr: f.output.stderr,
                elapsed: f.elapsed,
                limit: st.limit,
                advertised: None,
                spawn_error: None,
            },
            Err(e) => RunResult {
                action: action.to_string(),
                rc: Some(127),
                timed_out: false,
                signal: None,
                stdout: Vec::new(),
                stderr: Vec::new(),
                elapsed: Duration::ZERO,
                limit: st.limit,
                advertised: None,
                spawn_error: Some(e.reason().to_string()),
            },
        };
        if self.verbose && self.text {
            println!(
                "    Running agent: {} {action} -> rc={}{}",
                self.agent_name(),
                r.rc_text(),
                r.hang_note()
            );
            for l in r.output_text().lines() {
                println!("      | {l}");
            }
        }
        st.last = Some(r.clone());
        r
    }

    fn fail(st: &CaseState, r: &RunResult, msg: String) -> Result<(), String> {
        let _ = st;
        let mut m = msg;
        if r.timed_out {
            m = format!(
                "The agent was hanging, killed it after {}s ({} {})",
                r.limit.as_secs(),
                r.action,
                r.hang_note().trim()
            );
        }
        Err(m)
    }

    fn run_ops(&self, st: &mut CaseState, ops: &[Op]) -> Result<(), String> {
        for op in ops {
            match op {
                Op::Env(a) => {
                    let (k, v) = self.expand_env(&st.env, a)?;
                    if self.verbose && self.text {
                        println!("    Setting agent environment:    export {k}={v}");
                    }
                    st.env.set(k, v);
                }
                Op::Unenv(names) => {
                    for n in names {
                        st.env.remove(n);
                    }
                }
                Op::Include(_) => {}
                Op::Bash(code) => {
                    let (ok, out) = self.bash(&st.env, code, SHELL_LIMIT);
                    if self.verbose && self.text {
                        println!(
                            "    Setting system environment:   {code} -> {}",
                            if ok { "ok" } else { "failed" }
                        );
                    }
                    if !ok {
                        return Err(format!(
                            "ERROR: '{code}' failed{}",
                            if out.is_empty() {
                                String::new()
                            } else {
                                format!(": {out}")
                            }
                        ));
                    }
                }
                Op::BashAtExit(code) => st.atexit.push(code.clone()),
                Op::Timeout(s) => st.limit = Duration::from_secs((*s).max(1)),
                Op::Sleep(s) => std::thread::sleep(Duration::from_secs_f64(s.max(0.0))),
                Op::ExpectReason(text) => {
                    let Some(r) = &st.last else {
                        return Err("ExpectReason before any AgentRun".into());
                    };
                    let reasons = r.reasons();
                    if !reasons.iter().any(|x| x.contains(text.as_str())) {
                        return Err(format!(
                            "FAILED. Exit reason {reasons:?} does not contain {text:?}"
                        ));
                    }
                }
                Op::ExpectQuietStdout => {
                    let Some(r) = &st.last else {
                        return Err("ExpectQuietStdout before any AgentRun".into());
                    };
                    if !r.stdout.is_empty() {
                        return Err(format!(
                            "FAILED. {} wrote to stdout: {:?}",
                            r.action,
                            String::from_utf8_lossy(&r.stdout)
                                .lines()
                                .next()
                                .unwrap_or("")
                        ));
                    }
                }
                Op::AgentRun(action, expect) => self.agent_step(st, action, expect.as_ref())?,
            }
        }
        Ok(())
    }

    fn agent_step(
        &self,
        st: &mut CaseState,
        action: &str,
        expect: Option<&Expect>,
    ) -> Result<(), String> {
        let name = self.agent_name();
        match expect {
            Some(Expect::Hang) => {
                let r = self.agent_run(st, action);
                if !r.timed_out {
                    return Err(format!(
                        "FAILED. {action} was expected to hang but returned {}",
                        r.rc_text()
                    ));
                }
                Ok(())
            }
            Some(Expect::Codes(codes)) => {
                let r = self.agent_run(st, action);
                if r.timed_out {
                    return Self::fail(st, &r, String::new());
                }
                if r.is(codes) {
                    st.log.push("OK.".into());
                    return Ok(());
                }
                let shown =
                    r.rc.and_then(Rc::from_code)
                        .filter(|rc| rc.code() <= 9)
                        .map(|rc| rc.name().to_string())
                        .unwrap_or_else(|| r.rc_text());
                let mut msg = format!("FAILED. Agent returns unexpected value: '{shown}'.");
                let out = r.output_text();
                if !out.trim().is_empty() {
                    msg.push_str(" See details below:\n");
                    msg.push_str(out.trim_end());
                }
                Err(msg)
            }
            None if action == "start" || action == "stop" => {
                let m = self.agent_run(st, "monitor");
                if m.timed_out {
                    return Self::fail(st, &m, String::new());
                }
                let (done, todo) = if action == "start" {
                    (&[0, 8][..], 7)
                } else {
                    (&[7][..], 0)
                };
                let run_it = if m.is(done) {
                    false
                } else if m.rc == Some(todo) || (action == "stop" && m.is(&[0, 8])) {
                    true
                } else {
                    return Err(format!(
                        "ERROR: './{name} monitor' failed, the return code is {}.",
                        m.rc_text()
                    ));
                };
                if run_it {
                    let r = self.agent_run(st, action);
                    if r.timed_out {
                        return Self::fail(st, &r, String::new());
                    }
                    if !r.is(&[0]) {
                        return Err(format!(
                            "ERROR: './{name} {action}' failed, the return code is {}.",
                            r.rc_text()
                        ));
                    }
                }
                Ok(())
            }
            None => {
                let r = self.agent_run(st, action);
                if r.timed_out {
                    return Self::fail(st, &r, String::new());
                }
                if action != "monitor" && !r.is(&[0]) {
                    return Err(format!(
                        "ERROR: './{name} {action}' failed, the return code is {}.",
                        r.rc_text()
                    ));
                }
                Ok(())
            }
        }
    }

    /// Run every case; one check per case.
    pub fn run(&self) -> Vec<Check> {
        let name = self.agent_name();
        let mut checks = Vec::new();
        let file = self.file.display().to_string();
        let mk = |case: &str| {
            let mut c = Check::pass(Group::Scenario, &format!("{name}: {case}"));
            c.action = None;
            c
        };
        // Prerequisites: packages we will not install.
        let missing: Vec<&String> = self
            .cfg
            .packages
            .iter()
            .filter(|p| !package_installed(p))
            .collect();
        if !missing.is_empty() {
            let why = format!(
                "prerequisite missing: package {} not installed (ocf-tester never installs packages)",
                missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            );
            if self.text {
                println!("{file}: {why}; skipping all {} cases", self.cfg.cases.len());
            }
            for case in &self.cfg.cases {
                let mut c = mk(&case.name);
                c.verdict = Verdict::Skip;
                c.message = why.clone();
                checks.push(c);
            }
            return checks;
        }
        let tmp = std::env::temp_dir().join(format!("ocft-fakebin-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&tmp);
        for b in ["crm_master", "crm_mon"] {
            let _ = std::os::unix::fs::symlink("/bin/true", tmp.join(b));
        }
        let base = self.base_env(&tmp);
        let limit = Duration::from_secs(self.timeout.unwrap_or(self.cfg.hang_timeout).max(1));
        if !self.cfg.setup.is_empty() {
            if self.text {
                println!("Initializing '{name}' ...");
            }
            let (ok, out) = self.bash(&base, &self.cfg.setup.join("\n"), SHELL_LIMIT);
            if !ok {
                let why = format!("SETUP-AGENT failed: {out}");
                if self.text {
                    println!("{name}: {why}; all cases fail");
                }
                for case in &self.cfg.cases {
                    let mut c = mk(&case.name);
                    c.verdict = Verdict::Fail;
                    c.rc = Some("setup".into());
                    c.message = why.clone();
                    checks.push(c);
                }
                let _ = std::fs::remove_dir_all(&tmp);
                return checks;
            }
        }
        for case in &self.cfg.cases {
            if self.text {
                if self.verbose {
                    println!("Starting '{name}' case '{}':", case.name);
                } else {
                    use std::io::Write;
                    print!("{name}: {} - ", case.name);
                    let _ = std::io::stdout().flush();
                }
            }
            let t0 = std::time::Instant::now();
            let mut st = CaseState {
                env: base.clone(),
                atexit: Vec::new(),
                limit,
                last: None,
                log: Vec::new(),
            };
            let result = self
                .cfg
                .expand(&case.ops, 0)
                .and_then(|ops| self.run_ops(&mut st, &ops));
            for code in st.atexit.iter().rev() {
                let (ok, out) = self.bash(&st.env, code, SHELL_LIMIT);
                if self.verbose && self.text {
                    println!(
                        "    At exit: {code} -> {}{}",
                        if ok { "ok" } else { "failed" },
                        if out.is_empty() {
                            String::new()
                        } else {
                            format!(": {out}")
                        }
                    );
                }
            }
            let mut c = mk(&case.name);
            c.seconds = Some(secs(t0.elapsed()));
            c.rc = st.last.as_ref().map(RunResult::rc_text);
            match result {
                Ok(()) => {
                    if self.text {
                        println!(
                            "{}",
                            if st.log.is_empty() {
                                "OK.".to_string()
                            } else {
                                st.log.join("")
                            }
                        );
                    }
                }
                Err(m) => {
                    if self.text {
                        println!("{}", m);
                    }
                    c.verdict = Verdict::Fail;
                    c.message = m.lines().next().unwrap_or("").to_string();
                    c.details = m.lines().skip(1).map(str::to_string).collect();
                }
            }
            checks.push(c);
        }
        if !self.cfg.cleanup.is_empty() {
            let (ok, out) = self.bash(&base, &self.cfg.cleanup.join("\n"), SHELL_LIMIT);
            if !ok && self.text {
                println!("{name}: CLEANUP-AGENT failed: {out}");
            }
        }
        let _ = std::fs::remove_dir_all(&tmp);
        checks
    }
}

fn package_installed(p: &str) -> bool {
    Cmd::new("dpkg-query")
        .args(["-W", "-f=${Status}", p])
        .run(Deadline::after(Duration::from_secs(10)))
        .map(|o| o.stdout_text().contains("install ok installed"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_ocft_shape_and_rejects_extensions() {
        let text = "# c\nCONFIG\n\tAgent foo\n\tHangTimeout 30\n\nVARIABLE\n\tX=\"1 2\"\n\nCASE-BLOCK args\n\tEnv OCF_RESKEY_a=$X # comment\n\nCASE \"start twice\"\n\tInclude args\n\tAgentRun start\n\tAgentRun start OCF_SUCCESS\n";
        let c = parse(text, Dialect::Ocft).unwrap();
        assert_eq!(c.agent.as_deref(), Some("foo"));
        assert_eq!(c.hang_timeout, 30);
        assert_eq!(c.cases[0].name, "start twice");
        let ops = c.expand(&c.cases[0].ops, 0).unwrap();
        assert_eq!(ops[0], Op::Env("OCF_RESKEY_a=$X".into()));
        assert_eq!(
            ops[2],
            Op::AgentRun("start".into(), Some(Expect::Codes(vec![0])))
        );
        let ext = "CASE \"x\"\n\tAgentRun monitor 7|0\n";
        assert!(parse(ext, Dialect::Ocft).is_err());
        let c = parse(ext, Dialect::Scenario).unwrap();
        assert_eq!(
            c.cases[0].ops[0],
            Op::AgentRun("monitor".into(), Some(Expect::Codes(vec![7, 0])))
        );
        assert!(parse("CASE \"x\"\n\tExpectReason foo\n", Dialect::Ocft).is_err());
        assert!(parse("CASE \"x\"\n\tAgentRun stop hang\n", Dialect::Scenario).is_ok());
        assert!(parse("BOGUS\n", Dialect::Ocft).is_err());
        assert!(parse("CASE \"x\"\n\tInclude nope\n", Dialect::Ocft)
            .unwrap()
            .expand(&[Op::Include("nope".into())], 0)
            .is_err());
    }
}
