//! The machine description, the Markdown table with ratios and targets, the README update.

use crate::measure::{Counts, OpResult, ScaleResult};
use crate::{PairResult, Run, SideResult};
use anyhow::{bail, Context as _, Result};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Where and when the figures were taken, and how busy the machine was meanwhile.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub date_utc: String,
    pub cpu_model: String,
    pub cores: usize,
    pub kernel: String,
    pub os: String,
    pub resource_agents: String,
    pub git_commit: String,
    pub agents_bin_bytes: u64,
    pub agents_bin_needed: Vec<String>,
    /// Agents measured as their own binary (`ocfrs-<Agent>`, as installed), with its size;
    /// an agent not listed was measured as the multicall binary.
    #[serde(default)]
    pub own_binary_bytes: std::collections::BTreeMap<String, u64>,
    pub load_start: String,
    pub load_end: String,
    /// Busy share of all cores during the run (everything on the machine, the benchmark
    /// included), from /proc/stat.
    pub machine_busy_pct: f64,
    /// The benchmark's own share (runner and everything it ran), same unit.
    pub bench_busy_pct: f64,
    pub duration_s: f64,
    #[serde(skip)]
    started: Option<(Instant, (u64, u64))>,
}

fn cmd_out(prog: &str, args: &[&str]) -> String {
    Command::new(prog)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn cpu_times() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().next() else {
        return (0, 0);
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total, idle)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Machine {
    pub fn probe(agents_bin: &Path) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
            .unwrap_or_default();
        let os = std::fs::read_to_string("/etc/os-release")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|s| s.trim_matches('"').to_string())
            .unwrap_or_default();
        let ldd = cmd_out("ldd", &[&agents_bin.display().to_string()]);
        let needed = if ldd.contains("statically linked") || ldd.contains("not a dynamic") {
            vec!["no shared library (statically linked)".to_string()]
        } else {
            ldd.lines()
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_string)
                .collect()
        };
        Machine {
            date_utc: cmd_out("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
            cpu_model,
            cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            os,
            resource_agents: cmd_out("dpkg-query", &["-W", "-f=${Version}", "resource-agents"]),
            git_commit: cmd_out("git", &["rev-parse", "--short", "HEAD"]),
            agents_bin_bytes: std::fs::metadata(agents_bin).map(|m| m.len()).unwrap_or(0),
            agents_bin_needed: needed,
            own_binary_bytes: Default::default(),
            load_start: loadavg(),
            load_end: String::new(),
            machine_busy_pct: 0.0,
            bench_busy_pct: 0.0,
            duration_s: 0.0,
            started: Some((Instant::now(), cpu_times())),
        }
    }

    pub fn finish(mut self) -> Machine {
        if let Some((t0, (total0, idle0))) = self.started.take() {
            let (total, idle) = cpu_times();
            let dt = total.saturating_sub(total0).max(1);
            self.machine_busy_pct =
                100.0 * (dt.saturating_sub(idle.saturating_sub(idle0))) as f64 / dt as f64;
            self.duration_s = t0.elapsed().as_secs_f64();
            let mut cpu_us = 0;
            for who in [libc::RUSAGE_SELF, libc::RUSAGE_CHILDREN] {
                // SAFETY: rusage is plain old data, written by the kernel.
                let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
                // SAFETY: valid pointer to a local.
                if unsafe { libc::getrusage(who, &mut ru) } == 0 {
                    cpu_us += crate::measure::rusage_cpu(&ru);
                }
            }
            self.bench_busy_pct =
                100.0 * cpu_us as f64 / (self.duration_s * 1e6 * self.cores.max(1) as f64);
        }
        self.load_end = loadavg();
        self
    }
}

fn ms(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn ratio(shell: f64, ours: f64) -> String {
    if ours <= 0.0 {
        return "–".to_string();
    }
    let r = shell / ours;
    if r >= 10.0 {
        format!("{r:.0}×")
    } else {
        format!("{r:.1}×")
    }
}

fn op<'a>(s: Option<&'a SideResult>, name: &str) -> Option<&'a OpResult> {
    s.and_then(|s| s.ops.get(name))
}

fn warn(r: &OpResult) -> String {
    let bad = r.unexpected();
    if bad == 0 {
        return String::new();
    }
    let rcs: Vec<String> = r
        .rcs
        .iter()
        .filter(|(rc, _)| **rc != r.expected_rc)
        .map(|(rc, n)| format!("rc {rc} ×{n}"))
        .collect();
    format!(" ⚠ {} (expected {})", rcs.join(", "), r.expected_rc)
}

fn wall_cell(r: Option<&OpResult>, missing: &str) -> String {
    match r {
        Some(r) => format!(
            "{} / {}{}",
            ms(r.wall_ms.median),
            ms(r.wall_ms.p95),
            warn(r)
        ),
        None => missing.to_string(),
    }
}

fn cpu_cell(r: Option<&OpResult>, missing: &str) -> String {
    match r {
        Some(r) => format!("{}{}", ms(r.cpu_ms.median), warn(r)),
        None => missing.to_string(),
    }
}

fn counts<'a>(s: Option<&'a SideResult>, name: &str) -> Option<&'a [Counts]> {
    s.and_then(|s| s.counts.get(name)).map(Vec::as_slice)
}

fn span(v: impl Iterator<Item = u64>) -> Option<(u64, u64)> {
    let v: Vec<u64> = v.collect();
    Some((*v.iter().min()?, *v.iter().max()?))
}

fn span_str((a, b): (u64, u64)) -> String {
    if a == b {
        a.to_string()
    } else {
        format!("{a}–{b}")
    }
}

fn procs_cell(c: Option<&[Counts]>, missing: &str) -> String {
    let Some(c) = c.filter(|c| !c.is_empty()) else {
        return missing.to_string();
    };
    let forks = span(c.iter().map(|x| x.forks)).unwrap_or_default();
    let execs = span(c.iter().map(|x| x.execs)).unwrap_or_default();
    format!("{} / {}", span_str(forks), span_str(execs))
}

fn syscalls_cell(c: Option<&[Counts]>, missing: &str) -> String {
    match c.and_then(|c| span(c.iter().map(|x| x.syscalls))) {
        Some(s) => span_str(s),
        None => missing.to_string(),
    }
}

fn median_of(c: Option<&[Counts]>, f: fn(&Counts) -> u64) -> Option<f64> {
    let c = c?;
    let mut v: Vec<u64> = c.iter().map(f).collect();
    v.sort_unstable();
    v.get(v.len() / 2).map(|&x| x as f64)
}

fn scale_of(s: Option<&SideResult>, n: usize) -> Option<&ScaleResult> {
    s.and_then(|s| s.scale.iter().find(|r| r.n == n))
}

fn scale_cell(r: Option<&ScaleResult>, missing: &str) -> String {
    match r {
        Some(r) => {
            let mut s = format!("{:.2} / {:.2}", r.computed_pct_core, r.pct_core);
            if r.max_late_ms > 1000.0 {
                let _ = write!(
                    s,
                    " ⚠ cannot keep up: {:.0} s of schedule took {:.0} s",
                    r.duration_s, r.elapsed_s
                );
            }
            let bad: usize = r
                .rcs
                .iter()
                .filter(|(rc, _)| **rc != 0)
                .map(|(_, n)| n)
                .sum();
            if bad > 0 {
                let _ = write!(s, " ⚠ {bad} calls rc≠0");
            }
            s
        }
        None => missing.to_string(),
    }
}

fn pair_table(out: &mut String, p: &PairResult, run: &Run) {
    let ours = p.ours.as_ref();
    let shell = p.shell_result.as_ref();
    let miss = p.ours_missing.as_deref().unwrap_or("–");
    let ours_bin = match run.machine.own_binary_bytes.get(&p.agent_type) {
        Some(bytes) => format!("ocfrs-{}, {} KiB", p.agent_type, bytes / 1024),
        None => "ocfrs-agents".to_string(),
    };
    let _ = writeln!(out, "### {} ({ours_bin}) vs {}\n", p.agent, p.shell);
    if let Some(why) = &p.skipped {
        let _ = writeln!(out, "Not measured: {why}\n");
        return;
    }
    let _ = writeln!(out, "| measure | ours | shell | shell / ours |");
    let _ = writeln!(out, "|---|---:|---:|---:|");
    let row = |out: &mut String, name: &str, a: String, b: String, r: String| {
        let _ = writeln!(out, "| {name} | {a} | {b} | {r} |");
    };
    let wall_ratio = |name: &str| match (op(ours, name), op(shell, name)) {
        (Some(a), Some(b)) => format!(
            "{} / {}",
            ratio(b.wall_ms.median, a.wall_ms.median),
            ratio(b.wall_ms.p95, a.wall_ms.p95)
        ),
        _ => "–".to_string(),
    };
    let cpu_ratio = |name: &str| match (op(ours, name), op(shell, name)) {
        (Some(a), Some(b)) => ratio(b.cpu_ms.median, a.cpu_ms.median),
        _ => "–".to_string(),
    };
    for (name, label) in [
        ("probe", "probe (monitor, interval 0, stopped)"),
        ("monitor", "monitor (interval 10 s, running)"),
    ] {
        row(
            out,
            &format!("{label}: wall median / p95, ms"),
            wall_cell(op(ours, name), miss),
            wall_cell(op(shell, name), "–"),
            wall_ratio(name),
        );
        row(
            out,
            &format!("{name}: CPU user+sys of the tree, median, ms"),
            cpu_cell(op(ours, name), miss),
            cpu_cell(op(shell, name), "–"),
            cpu_ratio(name),
        );
        let flt = match (op(ours, name), op(shell, name)) {
            (Some(a), Some(b)) => ratio(b.minflt_median as f64, a.minflt_median as f64),
            _ => "–".to_string(),
        };
        row(
            out,
            &format!("{name}: minor page faults of the tree, median"),
            op(ours, name).map_or_else(|| miss.to_string(), |r| r.minflt_median.to_string()),
            op(shell, name).map_or_else(|| "–".to_string(), |r| r.minflt_median.to_string()),
            flt,
        );
        row(
            out,
            &format!("{name}: processes spawned (forks / execs incl. own)"),
            procs_cell(counts(ours, name), miss),
            procs_cell(counts(shell, name), "–"),
            String::new(),
        );
        let sys = match (
            median_of(counts(ours, name), |c| c.syscalls),
            median_of(counts(shell, name), |c| c.syscalls),
        ) {
            (Some(a), Some(b)) => ratio(b, a),
            _ => "–".to_string(),
        };
        row(
            out,
            &format!("{name}: system calls of the tree"),
            syscalls_cell(counts(ours, name), miss),
            syscalls_cell(counts(shell, name), "–"),
            sys,
        );
    }
    for name in ["meta-data", "validate-all", "start+stop"] {
        row(
            out,
            &format!("{name}: wall median / p95, ms"),
            wall_cell(op(ours, name), miss),
            wall_cell(op(shell, name), "–"),
            wall_ratio(name),
        );
    }
    row(
        out,
        "start+stop: CPU median, ms",
        cpu_cell(op(ours, "start+stop"), miss),
        cpu_cell(op(shell, "start+stop"), "–"),
        cpu_ratio("start+stop"),
    );
    for &n in &run.opts.scale_n {
        let r = match (scale_of(ours, n), scale_of(shell, n)) {
            (Some(a), Some(b)) => format!(
                "{} / {}",
                ratio(b.computed_pct_core, a.computed_pct_core),
                ratio(b.pct_core, a.pct_core)
            ),
            _ => "–".to_string(),
        };
        row(
            out,
            &format!(
                "{n} resources, monitor every {} s: % of one core, computed / measured ({} s)",
                run.opts.interval_ms as f64 / 1000.0,
                run.opts.scale_secs
            ),
            scale_cell(scale_of(ours, n), miss),
            scale_cell(scale_of(shell, n), "–"),
            r,
        );
    }
    for (who, s) in [("ours", ours), ("shell", shell)] {
        if let Some(s) = s {
            if s.cycle_orphans > 0 {
                let _ = writeln!(
                    out,
                    "\n{who}: start/stop left {} process(es) behind, reaped by the runner, {:.2} ms CPU in all (not in the start+stop CPU above).",
                    s.cycle_orphans,
                    s.cycle_orphan_cpu_us as f64 / 1000.0
                );
            }
            for e in &s.errors {
                let _ = writeln!(out, "\n{who}: error: {e}");
            }
        }
    }
    if let Some(s) = shell {
        if let Some(c) = s.counts.get("monitor").and_then(|c| c.first()) {
            let _ = writeln!(
                out,
                "
shell monitor execs: {}",
                c.program_list()
            );
        }
    }
    let _ = writeln!(out);
}

/// PASS/MISS of one target, with the figure.
/// Whether `program` is the Rust floor (`ocfrs-floor`, bench/src/floor.rs).
fn is_rust_floor(program: &Path) -> bool {
    program.file_name().is_some_and(|n| n == "ocfrs-floor")
}

/// The Rust floor's median CPU per exec, ms, when it was measured.
fn rust_floor_cpu(run: &Run) -> Option<f64> {
    run.floor
        .iter()
        .find(|(p, _)| is_rust_floor(p))
        .map(|(_, r)| r.cpu_ms.median)
        .filter(|c| *c > 0.0)
}

/// The start-up target of issue 18: probe and monitor CPU as a multiple of the Rust floor.
const FLOOR_TARGET: f64 = 1.2;

fn verdict(ok: bool, figure: String) -> String {
    format!("{} {figure}", if ok { "PASS" } else { "**MISS**" })
}

fn targets(out: &mut String, run: &Run) {
    let pairs: Vec<&PairResult> = run.pairs.iter().filter(|p| p.skipped.is_none()).collect();
    if pairs.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Targets (issues 8 and 18)\n");
    let _ = write!(out, "| target |");
    for p in &pairs {
        let _ = write!(out, " {} |", p.agent);
    }
    let _ = write!(out, "\n|---|");
    for _ in &pairs {
        let _ = write!(out, "---|");
    }
    let _ = writeln!(out);
    type Check = dyn Fn(&SideResult, &SideResult) -> Option<String>;
    let x20 = |name: &'static str, cpu: bool| -> Box<Check> {
        Box::new(move |o: &SideResult, s: &SideResult| {
            let (a, b) = (o.ops.get(name)?, s.ops.get(name)?);
            let (a, b) = if cpu {
                (a.cpu_ms.median, b.cpu_ms.median)
            } else {
                (a.wall_ms.median, b.wall_ms.median)
            };
            let r = if a > 0.0 { b / a } else { f64::INFINITY };
            Some(verdict(r >= 20.0, format!("{r:.1}×")))
        })
    };
    let floor_multiple = |name: &'static str, floor: Option<f64>| -> Box<Check> {
        Box::new(move |o: &SideResult, _: &SideResult| {
            let (a, f) = (o.ops.get(name)?.cpu_ms.median, floor?);
            let r = a / f;
            Some(verdict(r <= FLOOR_TARGET, format!("{r:.2}×")))
        })
    };
    let rows: Vec<(&str, Box<Check>)> = vec![
        (
            "probe: ≥ 20× less wall than shell (median)",
            x20("probe", false),
        ),
        (
            "probe: ≥ 20× less CPU than shell (median)",
            x20("probe", true),
        ),
        (
            "monitor: ≥ 20× less wall than shell (median)",
            x20("monitor", false),
        ),
        (
            "monitor: ≥ 20× less CPU than shell (median)",
            x20("monitor", true),
        ),
        (
            "probe and monitor: no child process",
            Box::new(|o: &SideResult, _: &SideResult| {
                let f: Vec<u64> = ["probe", "monitor"]
                    .iter()
                    .filter_map(|n| o.counts.get(*n))
                    .flatten()
                    .map(|c| c.forks)
                    .collect();
                let max = *f.iter().max()?;
                Some(verdict(max == 0, format!("{max} forks")))
            }),
        ),
        (
            "meta-data ≤ 2 ms (median wall)",
            Box::new(|o: &SideResult, _: &SideResult| {
                let m = o.ops.get("meta-data")?.wall_ms.median;
                Some(verdict(m <= 2.0, format!("{} ms", ms(m))))
            }),
        ),
        (
            "probe CPU ≤ 1.2× the Rust floor (median)",
            floor_multiple("probe", rust_floor_cpu(run)),
        ),
        (
            "monitor CPU ≤ 1.2× the Rust floor (median)",
            floor_multiple("monitor", rust_floor_cpu(run)),
        ),
        (
            "500 resources at 10 s < 5 % of one core (measured)",
            Box::new(|o: &SideResult, _: &SideResult| {
                let r = o.scale.iter().find(|r| r.n == 500)?;
                Some(verdict(r.pct_core < 5.0, format!("{:.2} %", r.pct_core)))
            }),
        ),
    ];
    for (label, check) in rows {
        let _ = write!(out, "| {label} |");
        for p in &pairs {
            let cell = match (&p.ours, &p.shell_result) {
                (Some(o), Some(s)) => check(o, s).unwrap_or_else(|| "–".to_string()),
                (Some(o), None) => {
                    check(o, &SideResult::default()).unwrap_or_else(|| "–".to_string())
                }
                _ => p.ours_missing.clone().unwrap_or_else(|| "–".to_string()),
            };
            let _ = write!(out, " {cell} |");
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out);
}

fn testers(out: &mut String, run: &Run) {
    if run.testers.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "### ocf-tester: full run, ours vs /usr/sbin/ocf-tester\n"
    );
    let _ = writeln!(
        out,
        "| agent tested | ours: wall median, ms | shell: wall median, ms | shell / ours | ours: CPU, ms | shell: CPU, ms |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for t in &run.testers {
        let label = format!("{} ({})", t.pair, t.target.name());
        if let Some(why) = &t.skipped {
            let _ = writeln!(out, "| {label} | {why} | | | | |");
            continue;
        }
        let miss = t.ours_missing.as_deref().unwrap_or("–");
        let w = |r: Option<&OpResult>, m: &str| match r {
            Some(r) => format!("{}{}", ms(r.wall_ms.median), warn(r)),
            None => m.to_string(),
        };
        let c = |r: Option<&OpResult>, m: &str| match r {
            Some(r) => ms(r.cpu_ms.median),
            None => m.to_string(),
        };
        let rt = match (&t.ours, &t.shell) {
            (Some(a), Some(b)) => ratio(b.wall_ms.median, a.wall_ms.median),
            _ => "–".to_string(),
        };
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {rt} | {} | {} |",
            w(t.ours.as_ref(), miss),
            w(t.shell.as_ref(), "–"),
            c(t.ours.as_ref(), miss),
            c(t.shell.as_ref(), "–")
        );
    }
    let _ = writeln!(out);
}

/// The whole table.
pub fn markdown(run: &Run) -> String {
    let m = &run.machine;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Measured {} on {} × {} ({}, kernel {}), resource-agents {}, ocfrs {}.",
        m.date_utc, m.cores, m.cpu_model, m.os, m.kernel, m.resource_agents, m.git_commit
    );
    let _ = writeln!(
        out,
        "ocfrs-agents (multicall): {} KiB; an agent with its own binary is measured as that \
         (its heading says which); needs {}. Run: {:.0} s, {} runs per figure ({} start+stop cycles); \
         all cores busy {:.0} % of the time (this benchmark {:.0} %, everything else {:.0} %; load {} → {}).\n",
        m.agents_bin_bytes / 1024,
        m.agents_bin_needed.join(", "),
        m.duration_s,
        run.opts.runs,
        run.opts.cycles,
        m.machine_busy_pct,
        m.bench_busy_pct,
        (m.machine_busy_pct - m.bench_busy_pct).max(0.0),
        m.load_start,
        m.load_end
    );
    for (program, f) in &run.floor {
        let _ = writeln!(
            out,
            "Floor: one exec of `{}` ({}): wall {} / {} ms (median / p95), CPU {} ms, {} minor page faults.\n",
            program.display(),
            if program.ends_with("true-static") {
                "static C, exits at once"
            } else if is_rust_floor(program) {
                "`fn main() {}` in Rust, built with the agents' release profile and flags"
            } else {
                "dynamically linked C, exits at once"
            },
            ms(f.wall_ms.median),
            ms(f.wall_ms.p95),
            ms(f.cpu_ms.median),
            f.minflt_median
        );
    }
    if run.opts.quick {
        let _ = writeln!(
            out,
            "**--quick run: checks the benchmark works; not a result.**\n"
        );
    }
    for p in &run.pairs {
        pair_table(&mut out, p, run);
    }
    targets(&mut out, run);
    testers(&mut out, run);
    out
}

/// Replace the text between the markers `<!-- {marker}:begin -->` and `<!-- {marker}:end -->`
/// of `readme`.
pub fn update_readme(readme: &Path, marker: &str, table: &str) -> Result<()> {
    let text =
        std::fs::read_to_string(readme).with_context(|| format!("read {}", readme.display()))?;
    let begin = format!("<!-- {marker}:begin -->");
    let end = format!("<!-- {marker}:end -->");
    let (Some(b), Some(e)) = (text.find(&begin), text.find(&end)) else {
        bail!("{} has no {begin} … {end} markers", readme.display());
    };
    if e < b {
        bail!("{}: markers out of order", readme.display());
    }
    let new = format!("{}{begin}\n{table}{}", &text[..b], &text[e..]);
    std::fs::write(readme, new)?;
    Ok(())
}
