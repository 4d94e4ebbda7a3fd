//! `ocfrs-bench`: our agents against their resource-agents counterparts, side by side in one
//! run. See `bench/README.md` for the command, what is measured and the latest table.
//!
//! The pairs are a table in [`pairs`]; fixtures (namespaces, loop devices) in [`fixture`];
//! running and measuring in [`measure`]; the table, targets and JSON in [`report`].

mod fixture;
mod libvirt;
mod measure;
mod pairs;
mod report;

use anyhow::{bail, Context as _, Result};
use measure::{Call, Counts, OpResult, Reaper, ScaleResult};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Which implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Ours,
    Shell,
}

impl Side {
    pub fn index(self) -> usize {
        match self {
            Side::Ours => 0,
            Side::Shell => 1,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Side::Ours => "ours",
            Side::Shell => "shell",
        }
    }
}

const USAGE: &str = "\
usage: ocfrs-bench [options]
  --agents-bin PATH   our multicall binary (default: ocfrs-agents next to this program);
                      each agent's own binary ocfrs-<Agent> beside it is what is measured
  --tester-bin PATH   our ocf-tester (default: ocf-tester next to this program)
  --quick             few runs, 2 s scale check: checks the benchmark works, not a result
  --only A,B          only these pairs (our type names)
  --runs N            runs per probe/monitor/meta-data/validate-all and side (200)
  --cycles N          start+stop cycles per side (30)
  --strace-runs N     counting passes per operation and side (3)
  --scale N,N         resource counts for the scale check (50,500)
  --scale-secs S      duration of each scale check, seconds (30, the issue's figure)
  --interval-ms MS    monitor interval of the scale check (10000)
  --tester-runs N     full tester runs per tester and case (3)
  --tester-only       only the ocf-tester comparison (no agent pairs, no scale check)
  --json PATH         raw figures (default bench/results/latest.json)
  --markdown PATH     also write the table as Markdown
  --readme PATH       replace the table between the markers in this file
  --readme-marker M   the markers: <!-- M:begin --> and <!-- M:end --> (bench)
  --floor PATH        also measure this do-nothing program as a floor (repeatable)";

/// Command-line options.
#[derive(Debug, Clone, Serialize)]
pub struct Opts {
    pub agents_bin: PathBuf,
    pub tester_bin: PathBuf,
    pub quick: bool,
    pub only: Option<Vec<String>>,
    pub runs: usize,
    pub cycles: usize,
    pub strace_runs: usize,
    pub scale_n: Vec<usize>,
    pub scale_secs: f64,
    pub interval_ms: u64,
    pub tester_runs: usize,
    pub tester_only: bool,
    pub json: PathBuf,
    pub markdown: Option<PathBuf>,
    pub readme: Option<PathBuf>,
    pub readme_marker: String,
    pub floor: Vec<PathBuf>,
}

fn parse_opts() -> Result<Opts> {
    let here = std::env::current_exe()?
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut o = Opts {
        agents_bin: here.join("ocfrs-agents"),
        tester_bin: here.join("ocf-tester"),
        quick: false,
        only: None,
        runs: 200,
        cycles: 30,
        strace_runs: 3,
        scale_n: vec![50, 500],
        scale_secs: 30.0,
        interval_ms: 10_000,
        tester_runs: 3,
        tester_only: false,
        json: PathBuf::from("bench/results/latest.json"),
        markdown: None,
        readme: None,
        readme_marker: "bench".to_string(),
        floor: Vec::new(),
    };
    let mut explicit = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--agents-bin" => o.agents_bin = val()?.into(),
            "--tester-bin" => o.tester_bin = val()?.into(),
            "--quick" => o.quick = true,
            "--only" => o.only = Some(val()?.split(',').map(str::to_string).collect()),
            "--runs" => o.runs = val()?.parse()?,
            "--cycles" => o.cycles = val()?.parse()?,
            "--strace-runs" => o.strace_runs = val()?.parse()?,
            "--scale" => {
                o.scale_n = val()?
                    .split(',')
                    .map(str::parse)
                    .collect::<std::result::Result<_, _>>()?
            }
            "--scale-secs" => o.scale_secs = val()?.parse()?,
            "--interval-ms" => o.interval_ms = val()?.parse()?,
            "--tester-runs" => o.tester_runs = val()?.parse()?,
            "--tester-only" => o.tester_only = true,
            "--json" => o.json = val()?.into(),
            "--markdown" => o.markdown = Some(val()?.into()),
            "--readme" => o.readme = Some(val()?.into()),
            "--readme-marker" => o.readme_marker = val()?,
            "--floor" => o.floor.push(val()?.into()),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => bail!("unknown option {a}\n{USAGE}"),
        }
        explicit.push(a);
    }
    if o.quick {
        // Quick defaults, unless given explicitly.
        let given = |f: &str| explicit.iter().any(|a| a == f);
        if !given("--runs") {
            o.runs = 10;
        }
        if !given("--cycles") {
            o.cycles = 3;
        }
        if !given("--strace-runs") {
            o.strace_runs = 1;
        }
        if !given("--scale-secs") {
            o.scale_secs = 2.0;
        }
        if !given("--tester-runs") {
            o.tester_runs = 1;
        }
    }
    if o.runs == 0 || o.cycles == 0 || o.scale_secs <= 0.0 || o.interval_ms == 0 {
        bail!("--runs, --cycles, --scale-secs and --interval-ms must be positive");
    }
    Ok(o)
}

/// Results for one side of a pair.
#[derive(Debug, Clone, Serialize, Default)]
pub struct SideResult {
    pub path: PathBuf,
    pub ops: BTreeMap<String, OpResult>,
    /// strace passes per operation.
    pub counts: BTreeMap<String, Vec<Counts>>,
    pub scale: Vec<ScaleResult>,
    /// Processes left behind by start/stop and reaped by the runner.
    pub cycle_orphans: u64,
    pub cycle_orphan_cpu_us: u64,
    pub errors: Vec<String>,
}

/// Results for one pair.
#[derive(Debug, Clone, Serialize)]
pub struct PairResult {
    /// The pair's label ("mysql (OCF_CHECK_LEVEL=10)").
    pub agent: String,
    /// Our agent's type ("mysql"): its binary is `ocfrs-<type>`.
    pub agent_type: String,
    pub shell: String,
    /// Why the pair (or our side of it) was not measured.
    pub ours_missing: Option<String>,
    pub skipped: Option<String>,
    pub ours: Option<SideResult>,
    pub shell_result: Option<SideResult>,
}

/// Results for one tester case.
#[derive(Debug, Clone, Serialize)]
pub struct TesterResult {
    pub pair: String,
    pub target: Side,
    pub target_path: PathBuf,
    pub ours_missing: Option<String>,
    pub skipped: Option<String>,
    pub ours: Option<OpResult>,
    pub shell: Option<OpResult>,
}

/// Everything the run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub machine: report::Machine,
    pub opts: Opts,
    pub agents_built: Vec<String>,
    /// The floor: one exec of a program that exits at once (`/bin/true`, and each
    /// `--floor` binary), same runner, same number of runs.
    pub floor: Vec<(PathBuf, OpResult)>,
    pub pairs: Vec<PairResult>,
    pub testers: Vec<TesterResult>,
}

struct Ctx<'a> {
    opts: &'a Opts,
    scratch: PathBuf,
    bindir: PathBuf,
    built: Vec<String>,
    reaper: Reaper,
}

const OCF_ROOT: &str = "/usr/lib/ocf";
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn expand(template: &str, scratch: &Path, side: Side, vars: &[(String, String)]) -> String {
    let mut s = template
        .replace("{dir}", &scratch.display().to_string())
        .replace("{side}", side.name());
    for (k, v) in vars {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

/// How both sides of a pair are called.
struct Caller {
    agent: &'static str,
    paths: [Option<PathBuf>; 2],
    params: [Vec<(String, String)>; 2],
}

impl Caller {
    fn call(&self, side: Side, action: &str, interval_ms: u64) -> Option<Call> {
        let program = self.paths[side.index()].clone()?;
        let mut env = vec![
            ("PATH".to_string(), PATH.to_string()),
            ("OCF_ROOT".to_string(), OCF_ROOT.to_string()),
            ("OCF_RA_VERSION_MAJOR".to_string(), "1".to_string()),
            ("OCF_RA_VERSION_MINOR".to_string(), "1".to_string()),
            (
                "OCF_RESOURCE_INSTANCE".to_string(),
                format!("ocfb-{}-{}", self.agent, side.name()),
            ),
            ("OCF_RESOURCE_TYPE".to_string(), self.agent.to_string()),
            (
                "OCF_RESOURCE_PROVIDER".to_string(),
                match side {
                    Side::Ours => "ocfrs",
                    Side::Shell => "heartbeat",
                }
                .to_string(),
            ),
            (
                "OCF_RESKEY_CRM_meta_timeout".to_string(),
                "20000".to_string(),
            ),
            (
                "OCF_RESKEY_CRM_meta_interval".to_string(),
                interval_ms.to_string(),
            ),
        ];
        for (k, v) in &self.params[side.index()] {
            env.push((format!("OCF_RESKEY_{k}"), v.clone()));
        }
        Some(Call {
            program,
            args: vec![action.to_string()],
            env,
        })
    }
}

const WARMUP: usize = 3;

/// One measured operation: its name in the results, the action, the monitor interval and
/// the exit code every run must have.
#[derive(Clone, Copy)]
struct Op {
    name: &'static str,
    action: &'static str,
    interval_ms: u64,
    expected_rc: i32,
}

/// Run `op` on every present side, alternating the order run by run.
fn interleaved(
    cx: &mut Ctx<'_>,
    caller: &Caller,
    sides: &[Side],
    op: Op,
    out: &mut [SideResult; 2],
) {
    let Op {
        name: op,
        action,
        interval_ms,
        expected_rc,
    } = op;
    let calls: Vec<(Side, Call)> = sides
        .iter()
        .filter_map(|&s| caller.call(s, action, interval_ms).map(|c| (s, c)))
        .collect();
    let mut res: [OpResult; 2] = [OpResult::new(expected_rc), OpResult::new(expected_rc)];
    for i in 0..WARMUP + cx.opts.runs {
        for j in 0..calls.len() {
            let (side, call) = &calls[if i % 2 == 0 { j } else { calls.len() - 1 - j }];
            match cx.reaper.run(call) {
                Ok(s) if i >= WARMUP => res[side.index()].push(&s),
                Ok(_) => {}
                Err(e) => out[side.index()].errors.push(format!("{op}: {e:#}")),
            }
        }
    }
    for (side, _) in &calls {
        let mut r = std::mem::take(&mut res[side.index()]);
        r.finish();
        out[side.index()].ops.insert(op.to_string(), r);
    }
}

fn count_passes(
    cx: &mut Ctx<'_>,
    caller: &Caller,
    sides: &[Side],
    op: Op,
    out: &mut [SideResult; 2],
) {
    let Op {
        name: op,
        action,
        interval_ms,
        ..
    } = op;
    for &side in sides {
        let Some(call) = caller.call(side, action, interval_ms) else {
            continue;
        };
        for _ in 0..cx.opts.strace_runs {
            match measure::count(&call, &cx.scratch) {
                Ok(c) => out[side.index()]
                    .counts
                    .entry(op.to_string())
                    .or_default()
                    .push(c),
                Err(e) => {
                    out[side.index()].errors.push(format!("count {op}: {e:#}"));
                    break;
                }
            }
        }
        cx.reaper.reap_orphans();
    }
}

/// Wait (bounded) for processes the agents left behind, accounting their CPU.
fn drain_orphans(reaper: &mut Reaper, limit: Duration) {
    let t0 = std::time::Instant::now();
    loop {
        match reaper.wait_any(true) {
            Some((_, _, ru)) => {
                reaper.orphans += 1;
                reaper.orphan_cpu_us += measure::rusage_cpu(&ru);
            }
            None => {
                // No exited child; is any child left at all?
                // SAFETY: waitid with WNOHANG|WNOWAIT only inspects.
                let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
                let r = unsafe {
                    libc::waitid(
                        libc::P_ALL,
                        0,
                        &mut info,
                        libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                    )
                };
                if r != 0 || t0.elapsed() >= limit {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

fn measure_pair(cx: &mut Ctx<'_>, pair: &pairs::Pair) -> PairResult {
    let shell_path = Path::new(OCF_ROOT).join("resource.d").join(pair.shell);
    let mut result = PairResult {
        agent: pairs::label(pair),
        agent_type: pair.agent.to_string(),
        shell: shell_path.display().to_string(),
        ours_missing: None,
        skipped: None,
        ours: None,
        shell_result: None,
    };
    let ours_path = if cx.built.iter().any(|a| a == pair.agent) {
        Some(cx.bindir.join(pair.agent))
    } else {
        result.ours_missing = Some("not built yet".to_string());
        None
    };
    let shell_path = if shell_path.exists() {
        Some(shell_path)
    } else {
        result.skipped = Some(format!("{} is not installed", result.shell));
        None
    };
    eprintln!(
        "== {} (ours: {}, shell: {})",
        pair.agent,
        if ours_path.is_some() {
            "built"
        } else {
            "not built yet"
        },
        result.shell
    );
    let mut fixture = match pair.fixture.setup(&cx.scratch) {
        Ok(f) => f,
        Err(e) => {
            result.skipped = Some(format!("fixture: {e:#}"));
            return result;
        }
    };
    let params = |side: Side| -> Vec<(String, String)> {
        pairs::params_of(pair, side)
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    expand(v, &cx.scratch, side, fixture.vars(side)),
                )
            })
            .collect()
    };
    let caller = Caller {
        agent: pair.agent,
        paths: [ours_path.clone(), shell_path.clone()],
        params: [params(Side::Ours), params(Side::Shell)],
    };
    let sides: Vec<Side> = [Side::Ours, Side::Shell]
        .into_iter()
        .filter(|s| caller.paths[s.index()].is_some())
        .collect();
    let mut out: [SideResult; 2] = Default::default();
    for &s in &sides {
        out[s.index()].path = caller.paths[s.index()].clone().unwrap_or_default();
    }
    measure_sides(cx, &caller, &sides, &mut out);
    fixture.teardown();
    let [ours, shell] = out;
    if ours_path.is_some() {
        result.ours = Some(ours);
    }
    if shell_path.is_some() {
        result.shell_result = Some(shell);
    }
    result
}

fn stop_quietly(cx: &mut Ctx<'_>, caller: &Caller, sides: &[Side]) {
    for &s in sides {
        if let Some(c) = caller.call(s, "stop", 0) {
            let _ = cx.reaper.run(&c);
        }
    }
}

fn measure_sides(cx: &mut Ctx<'_>, caller: &Caller, sides: &[Side], out: &mut [SideResult; 2]) {
    let interval = cx.opts.interval_ms;
    stop_quietly(cx, caller, sides);
    // Resource stopped: meta-data, validate-all, probe.
    let op = |name, action, interval_ms, expected_rc| Op {
        name,
        action,
        interval_ms,
        expected_rc,
    };
    for o in [
        op("meta-data", "meta-data", 0, 0),
        op("validate-all", "validate-all", 0, 0),
        op("probe", "monitor", 0, 7),
    ] {
        eprintln!("   {}", o.name);
        interleaved(cx, caller, sides, o, out);
        count_passes(cx, caller, sides, o, out);
    }
    // Start+stop cycles, one side after the other (a process left behind belongs to the
    // side whose block reaps it).
    eprintln!("   start+stop");
    for &side in sides {
        let (Some(start), Some(stop)) =
            (caller.call(side, "start", 0), caller.call(side, "stop", 0))
        else {
            continue;
        };
        let o = &mut out[side.index()];
        let (mut rs, mut rp, mut rc) = (OpResult::new(0), OpResult::new(0), OpResult::new(0));
        cx.reaper.orphans = 0;
        cx.reaper.orphan_cpu_us = 0;
        for _ in 0..cx.opts.cycles {
            let a = match cx.reaper.run(&start) {
                Ok(a) => a,
                Err(e) => {
                    o.errors.push(format!("start: {e:#}"));
                    break;
                }
            };
            let b = match cx.reaper.run(&stop) {
                Ok(b) => b,
                Err(e) => {
                    o.errors.push(format!("stop: {e:#}"));
                    break;
                }
            };
            rs.push(&a);
            rp.push(&b);
            rc.push(&measure::Sample {
                wall_us: a.wall_us + b.wall_us,
                cpu_us: a.cpu_us + b.cpu_us,
                rc: if a.rc == 0 { b.rc } else { a.rc },
                maxrss_kb: a.maxrss_kb.max(b.maxrss_kb),
                minflt: a.minflt + b.minflt,
            });
            cx.reaper.reap_orphans();
        }
        drain_orphans(&mut cx.reaper, Duration::from_secs(10));
        o.cycle_orphans = cx.reaper.orphans;
        o.cycle_orphan_cpu_us = cx.reaper.orphan_cpu_us;
        for (name, mut r) in [("start", rs), ("stop", rp), ("start+stop", rc)] {
            r.finish();
            o.ops.insert(name.to_string(), r);
        }
    }
    count_passes(cx, caller, sides, op("start", "start", 0, 0), out);
    count_passes(cx, caller, sides, op("stop", "stop", 0, 0), out);
    drain_orphans(&mut cx.reaper, Duration::from_secs(10));
    // Resource running: recurring monitor, then the scale check.
    let mut running = Vec::new();
    for &s in sides {
        let Some(c) = caller.call(s, "start", 0) else {
            continue;
        };
        match cx.reaper.run(&c) {
            Ok(r) if r.rc == 0 => running.push(s),
            Ok(r) => out[s.index()]
                .errors
                .push(format!("start before monitor: rc {}", r.rc)),
            Err(e) => out[s.index()].errors.push(format!("start: {e:#}")),
        }
    }
    eprintln!("   monitor");
    let monitor = op("monitor", "monitor", interval, 0);
    interleaved(cx, caller, &running, monitor, out);
    count_passes(cx, caller, &running, monitor, out);
    for &n in &cx.opts.scale_n.clone() {
        for &s in &running {
            eprintln!("   scale N={n} {} ({} s)", s.name(), cx.opts.scale_secs);
            let Some(c) = caller.call(s, "monitor", interval) else {
                continue;
            };
            let mean = out[s.index()]
                .ops
                .get("monitor")
                .map(|r| r.cpu_ms.mean)
                .unwrap_or(0.0);
            match measure::scale(
                &mut cx.reaper,
                &c,
                n,
                Duration::from_millis(interval),
                Duration::from_secs_f64(cx.opts.scale_secs),
                mean,
            ) {
                Ok(r) => out[s.index()].scale.push(r),
                Err(e) => out[s.index()].errors.push(format!("scale {n}: {e:#}")),
            }
        }
    }
    stop_quietly(cx, caller, sides);
    drain_orphans(&mut cx.reaper, Duration::from_secs(10));
}

fn measure_tester(cx: &mut Ctx<'_>, case: &pairs::TesterCase) -> Option<TesterResult> {
    let pair = pairs::PAIRS.iter().find(|p| p.agent == case.pair)?;
    let target_path = match case.target {
        Side::Ours => cx.bindir.join(pair.agent),
        Side::Shell => Path::new(OCF_ROOT).join("resource.d").join(pair.shell),
    };
    let mut r = TesterResult {
        pair: case.pair.to_string(),
        target: case.target,
        target_path: target_path.clone(),
        ours_missing: None,
        skipped: None,
        ours: None,
        shell: None,
    };
    if case.target == Side::Ours && !cx.built.iter().any(|a| a == pair.agent) {
        r.skipped = Some(format!("our {} not built yet", pair.agent));
        return Some(r);
    }
    eprintln!("== ocf-tester on {} ({})", pair.agent, case.target.name());
    let mut fixture = match pair.fixture.setup(&cx.scratch) {
        Ok(f) => f,
        Err(e) => {
            r.skipped = Some(format!("fixture: {e:#}"));
            return Some(r);
        }
    };
    let name = format!("ocfb-tester-{}", case.target.name());
    let mut args = vec!["-n".to_string(), name];
    for (k, v) in pairs::params_of(pair, case.target) {
        args.push("-o".to_string());
        args.push(format!(
            "{k}={}",
            expand(v, &cx.scratch, case.target, fixture.vars(case.target))
        ));
    }
    args.push(target_path.display().to_string());
    let env = vec![
        ("PATH".to_string(), PATH.to_string()),
        ("OCF_ROOT".to_string(), OCF_ROOT.to_string()),
    ];
    let ours = Call {
        program: cx.opts.tester_bin.clone(),
        args: args.clone(),
        env: env.clone(),
    };
    let shell = Call {
        program: PathBuf::from("/usr/sbin/ocf-tester"),
        args,
        env,
    };
    let mut calls = vec![("shell", shell)];
    match ours.output() {
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("not built yet") => {
            r.ours_missing = Some("not built yet".to_string());
        }
        Ok(_) => calls.push(("ours", ours)),
        Err(e) => r.ours_missing = Some(format!("{e:#}")),
    }
    let mut res: BTreeMap<&str, OpResult> = BTreeMap::new();
    for i in 0..cx.opts.tester_runs {
        for j in 0..calls.len() {
            let (who, call) = &calls[if i % 2 == 0 { j } else { calls.len() - 1 - j }];
            match cx.reaper.run(call) {
                Ok(s) => res.entry(who).or_insert_with(|| OpResult::new(0)).push(&s),
                Err(e) => r.skipped = Some(format!("{who}: {e:#}")),
            }
            drain_orphans(&mut cx.reaper, Duration::from_secs(10));
        }
    }
    fixture.teardown();
    for (who, mut o) in res {
        o.finish();
        if who == "ours" {
            r.ours = Some(o);
        } else {
            r.shell = Some(o);
        }
    }
    Some(r)
}

/// Copy each agent's own binary (`ocfrs-<Agent>`, next to the multicall binary) into the
/// scratch directory under the agent's name, as `make install` does. A build that has no
/// per-agent binaries (`--static`, an older tree) is measured as its multicall binary under
/// each name, which the run says.
fn install_agents(
    agents_bin: &Path,
    bindir: &Path,
    built: &[String],
) -> Result<std::collections::BTreeMap<String, u64>> {
    std::fs::create_dir_all(bindir)?;
    let main = bindir.join("ocfrs-agents");
    std::fs::copy(agents_bin, &main).with_context(|| format!("copy {}", agents_bin.display()))?;
    let mut own_sizes = std::collections::BTreeMap::new();
    for a in built {
        let own = agents_bin.with_file_name(format!("ocfrs-{a}"));
        if own.is_file() {
            let bytes = std::fs::copy(&own, bindir.join(a))
                .with_context(|| format!("copy {}", own.display()))?;
            own_sizes.insert(a.clone(), bytes);
        } else {
            eprintln!(
                "ocfrs-bench: no {} (one binary per agent): measuring {a} as {}",
                own.display(),
                agents_bin.display()
            );
            std::fs::hard_link(&main, bindir.join(a))?;
        }
    }
    Ok(own_sizes)
}

fn chmod_755(p: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

fn real_main() -> Result<bool> {
    let opts = parse_opts()?;
    let out = Call {
        program: opts.agents_bin.clone(),
        args: vec!["--list".to_string()],
        env: vec![("PATH".to_string(), PATH.to_string())],
    }
    .output()
    .with_context(|| format!("{} --list (build it first)", opts.agents_bin.display()))?;
    if !out.status.success() {
        bail!("{} --list: {}", opts.agents_bin.display(), out.status);
    }
    let built: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let scratch = PathBuf::from(format!("/tmp/ocfb-bench.{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    // The shell ocf-tester runs meta-data as nobody.
    chmod_755(&scratch)?;
    let bindir = scratch.join("ocfrs");
    let own_sizes = install_agents(&opts.agents_bin, &bindir, &built)?;
    chmod_755(&bindir)?;
    let mut machine_start = report::Machine::probe(&opts.agents_bin);
    machine_start.own_binary_bytes = own_sizes;
    let mut cx = Ctx {
        opts: &opts,
        scratch: scratch.clone(),
        bindir,
        built: built.clone(),
        reaper: Reaper::install()?,
    };
    // The floor is measured in two halves, before and after the agents, so that a change of
    // load during the run moves both alike.
    let floor_programs: Vec<PathBuf> = std::iter::once(PathBuf::from("/bin/true"))
        .chain(opts.floor.iter().cloned())
        .collect();
    let mut floor: Vec<(PathBuf, OpResult)> = floor_programs
        .iter()
        .map(|p| (p.clone(), OpResult::new(0)))
        .collect();
    measure_floor(&mut cx, &mut floor, opts.runs.div_ceil(2));
    let mut results = Vec::new();
    for p in pairs::PAIRS {
        if opts.tester_only {
            break;
        }
        if opts.only.is_none() && pairs::OPT_IN.contains(&p.agent) {
            continue;
        }
        if let Some(only) = &opts.only {
            if !only.iter().any(|o| o == p.agent) {
                continue;
            }
        }
        results.push(measure_pair(&mut cx, p));
    }
    let mut testers = Vec::new();
    for case in pairs::TESTER_CASES {
        if let Some(only) = &opts.only {
            if !only.iter().any(|o| o == case.pair) {
                continue;
            }
        }
        testers.extend(measure_tester(&mut cx, case));
    }
    measure_floor(&mut cx, &mut floor, opts.runs / 2);
    for (_, r) in &mut floor {
        r.finish();
    }
    floor.retain(|(_, r)| r.wall_ms.n > 0);
    let machine = machine_start.finish();
    let run = Run {
        machine,
        opts: opts.clone(),
        agents_built: built,
        floor,
        pairs: results,
        testers,
    };
    let table = report::markdown(&run);
    println!("{table}");
    if let Some(dir) = opts.json.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    std::fs::write(&opts.json, serde_json::to_string_pretty(&run)?)
        .with_context(|| format!("write {}", opts.json.display()))?;
    eprintln!("raw figures: {}", opts.json.display());
    if let Some(md) = &opts.markdown {
        std::fs::write(md, &table)?;
    }
    if let Some(readme) = &opts.readme {
        report::update_readme(readme, &opts.readme_marker, &table)?;
        eprintln!("table written into {}", readme.display());
    }
    // Scratch: remove only when nothing is mounted inside it any more.
    let mounted = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.contains(&scratch.display().to_string()));
    if mounted {
        eprintln!("ocfrs-bench: leaving {} (still mounted)", scratch.display());
    } else {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    let failures = run
        .pairs
        .iter()
        .flat_map(|p| p.ours.iter().chain(p.shell_result.iter()))
        .map(|s| s.errors.len())
        .sum::<usize>();
    Ok(failures == 0)
}

/// `runs` more execs of each floor program (after the warm-up runs), ABBA-alternated between
/// the programs so that load hits them alike.
fn measure_floor(cx: &mut Ctx, floor: &mut [(PathBuf, OpResult)], runs: usize) {
    let calls: Vec<Call> = floor
        .iter()
        .map(|(program, _)| Call {
            program: program.clone(),
            args: Vec::new(),
            env: vec![("PATH".to_string(), PATH.to_string())],
        })
        .collect();
    for i in 0..WARMUP + runs {
        let order: Vec<usize> = if i % 2 == 0 {
            (0..calls.len()).collect()
        } else {
            (0..calls.len()).rev().collect()
        };
        for k in order {
            match cx.reaper.run(&calls[k]) {
                Ok(s) if i >= WARMUP => floor[k].1.push(&s),
                _ => {}
            }
        }
    }
}

fn main() -> ExitCode {
    match real_main() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("ocfrs-bench: some measurements failed (see errors in the JSON)");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("ocfrs-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}
