//! `ocfrs-bench-nfs`: nfsserver and exportfs, ours beside Debian's shell agents, measured in
//! one run inside the NFS guest (this host's kernel has no nfsd; tests/nfs/guest.rs boots
//! Debian's kernel under QEMU). `bash bench/run.sh --nfs` builds it and the per-agent release
//! binaries `ocfrs-nfsserver` and `ocfrs-exportfs` (what `make install` ships), boots the
//! guest once and runs it there (the guest case `bench::nfs_rows` in tests/nfs/bench.rs);
//! bench/README.md has the command and the last table.
//!
//! The same runner as `ocfrs-bench` (bench/src/measure.rs): one spawn per call with a clean
//! OCF environment, wall time spawn to reaped, CPU of the whole process tree from `wait4`'s
//! rusage, and a separate `strace -f` pass counting forks, execs and system calls. Ours and
//! the shell agent alternate run by run (ABBA).
//!
//! What is measured, per agent: **probe** (monitor, interval 0) with the resource stopped
//! (7 expected) and **monitor** (interval 10 s) with it running (0 expected). The fixture:
//! a tmpfs with the shared infodir and an exported directory below `/srv/ocfrs-nc-bench`;
//! the server and the export are started (and stopped again) by our agents, and both
//! sides monitor that one server and that one export, with the same parameters.
//!
//! Figures are from an emulated (TCG) guest: every fork and exec costs several times what it
//! costs on a node, so the absolute times mean little; the ratio and the fork counts do.
//!
//! The page cache, as on a node: virtme-ng shares the host's root into the guest over 9p
//! without caching, so a file that no live process holds is looked up and paged in again,
//! one 9p request per page fault, at every exec. The shell side's programs live under the
//! guest's overlays (/usr, /etc), which keep theirs; our binaries live in the build tree on
//! the bare 9p root. This runner holds ours open for the whole run ([`hold_open`]), so both
//! sides exec from a warm page cache (before that fix, each exec of ours re-read the
//! binary: seconds per call in the emulated guest).

#[allow(dead_code)]
#[path = "measure.rs"]
mod measure;

use anyhow::{bail, Context as _, Result};
use measure::{Call, Counts, OpResult, Reaper};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const USAGE: &str = "\
usage: ocfrs-bench-nfs --agents-dir DIR [--runs N] [--strace-runs N] [--markdown PATH]
  DIR holds the per-agent binaries ocfrs-nfsserver and ocfrs-exportfs (target/release)
  runs inside the NFS guest only (as root, with the kernel's nfsd): see bench/README.md";
const PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";
const SCRATCH: &str = "/srv/ocfrs-nc-bench";
const STOCK: &str = "/usr/lib/ocf/resource.d/heartbeat";

struct Opts {
    agents_dir: PathBuf,
    runs: usize,
    strace_runs: usize,
    markdown: Option<PathBuf>,
}

fn parse_args() -> Result<Opts> {
    let mut o = Opts {
        agents_dir: PathBuf::new(),
        runs: 20,
        strace_runs: 1,
        markdown: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--agents-dir" => o.agents_dir = PathBuf::from(value()?),
            "--runs" => o.runs = value()?.parse().context("--runs")?,
            "--strace-runs" => o.strace_runs = value()?.parse().context("--strace-runs")?,
            "--markdown" => o.markdown = Some(PathBuf::from(value()?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => bail!("unknown option {a}\n{USAGE}"),
        }
    }
    if o.agents_dir.as_os_str().is_empty() || o.runs == 0 {
        bail!("{USAGE}");
    }
    Ok(o)
}

/// One agent's two sides: our per-agent binary (`ocfrs-<type>`), Debian's script.
struct Agent {
    name: &'static str,
    programs: [PathBuf; 2],
    params: Vec<(String, String)>,
}

impl Agent {
    fn call(&self, side: usize, action: &str, interval_ms: u64) -> Call {
        let mut env = vec![
            ("PATH".to_string(), PATH.to_string()),
            ("OCF_ROOT".to_string(), "/usr/lib/ocf".to_string()),
            ("OCF_RA_VERSION_MAJOR".to_string(), "1".to_string()),
            ("OCF_RA_VERSION_MINOR".to_string(), "1".to_string()),
            (
                "OCF_RESOURCE_INSTANCE".to_string(),
                format!("ocfrs-nc-bench-{}", self.name),
            ),
            ("OCF_RESOURCE_TYPE".to_string(), self.name.to_string()),
            (
                "OCF_RESOURCE_PROVIDER".to_string(),
                ["ocfrs", "heartbeat"][side].to_string(),
            ),
            (
                "OCF_RESKEY_CRM_meta_timeout".to_string(),
                "60000".to_string(),
            ),
            (
                "OCF_RESKEY_CRM_meta_interval".to_string(),
                interval_ms.to_string(),
            ),
        ];
        for (k, v) in &self.params {
            env.push((format!("OCF_RESKEY_{k}"), v.clone()));
        }
        Call {
            program: self.programs[side].clone(),
            args: vec![action.to_string()],
            env,
        }
    }

    /// Run `action` with our agent (side 0) or the shell agent (side 1): the fixture's
    /// start and stop, checking its code.
    fn act(&self, side: usize, action: &str, want: i32) -> Result<()> {
        let out = self.call(side, action, 0).output()?;
        if out.status.code() != Some(want) {
            bail!(
                "{} {} {action}: {} (expected {want})\n{}",
                ["our", "the shell"][side],
                self.name,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }
}

/// One operation measured on both sides.
struct Row {
    op: &'static str,
    results: [OpResult; 2],
    counts: [Option<Counts>; 2],
}

/// `runs` alternating runs (ABBA) of `action` on both sides, then the strace passes.
fn measure(
    reaper: &mut Reaper,
    agent: &Agent,
    op: &'static str,
    interval_ms: u64,
    want: i32,
    opts: &Opts,
) -> Result<Row> {
    let calls = [
        agent.call(0, "monitor", interval_ms),
        agent.call(1, "monitor", interval_ms),
    ];
    let mut results = [OpResult::new(want), OpResult::new(want)];
    for side in [0, 1] {
        let w = reaper.run(&calls[side])?; // warm-up
        eprintln!(
            "{} {op}, {} warm-up: rc {} in {:.1} ms",
            agent.name,
            ["ours", "shell"][side],
            w.rc,
            w.wall_us as f64 / 1000.0
        );
    }
    for i in 0..opts.runs {
        let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            let s = reaper.run(&calls[side])?;
            results[side].push(&s);
        }
        reaper.reap_orphans();
    }
    for r in &mut results {
        r.finish();
    }
    let mut counts = [None, None];
    let scratch = Path::new(SCRATCH);
    for side in [0, 1] {
        let mut last = None;
        for _ in 0..opts.strace_runs {
            last = Some(measure::count(&calls[side], scratch)?);
        }
        counts[side] = last;
    }
    reaper.reap_orphans();
    eprintln!(
        "{} {op}: ours {:.1} ms, shell {:.1} ms (wall medians)",
        agent.name, results[0].wall_ms.median, results[1].wall_ms.median
    );
    Ok(Row {
        op,
        results,
        counts,
    })
}

fn ratio(shell: f64, ours: f64) -> String {
    if ours > 0.0 {
        format!("{:.1}×", shell / ours)
    } else {
        "-".into()
    }
}

fn rc_note(r: &OpResult) -> String {
    if r.unexpected() == 0 {
        String::new()
    } else {
        let rcs: Vec<String> = r
            .rcs
            .iter()
            .map(|(rc, n)| format!("rc {rc} ×{n}"))
            .collect();
        format!(" ⚠ {} (expected {})", rcs.join(", "), r.expected_rc)
    }
}

fn table(agent: &Agent, rows: &[Row], out: &mut String) {
    let _ = writeln!(
        out,
        "\n#### {} ({}) vs {}\n\n| measure | ours | shell | shell / ours |\n|---|---:|---:|---:|",
        agent.name,
        agent.programs[0]
            .file_name()
            .unwrap_or_default()
            .to_string_lossy(),
        agent.programs[1].display()
    );
    for row in rows {
        let [o, s] = &row.results;
        let _ = writeln!(
            out,
            "| {}: wall median / p95, ms | {:.1} / {:.1}{} | {:.1} / {:.1}{} | {} / {} |",
            row.op,
            o.wall_ms.median,
            o.wall_ms.p95,
            rc_note(o),
            s.wall_ms.median,
            s.wall_ms.p95,
            rc_note(s),
            ratio(s.wall_ms.median, o.wall_ms.median),
            ratio(s.wall_ms.p95, o.wall_ms.p95)
        );
        let _ = writeln!(
            out,
            "| {}: CPU user+sys of the tree, median, ms | {:.1} | {:.1} | {} |",
            row.op,
            o.cpu_ms.median,
            s.cpu_ms.median,
            ratio(s.cpu_ms.median, o.cpu_ms.median)
        );
        if let [Some(co), Some(cs)] = &row.counts {
            let _ = writeln!(
                out,
                "| {}: processes spawned (forks / execs incl. own) | {} / {} | {} / {} |  |",
                row.op, co.forks, co.execs, cs.forks, cs.execs
            );
            let _ = writeln!(
                out,
                "| {}: system calls of the tree | {} | {} | {} |",
                row.op,
                co.syscalls,
                cs.syscalls,
                ratio(cs.syscalls as f64, co.syscalls as f64)
            );
        }
    }
    for row in rows {
        if let Some(cs) = &row.counts[1] {
            let _ = writeln!(out, "\nshell execs, {}: {}", row.op, cs.program_list());
        }
    }
}

fn sh(program: &str, args: &[&str]) -> Result<()> {
    let st = Command::new(program)
        .args(args)
        .status()
        .with_context(|| format!("run {program}"))?;
    if !st.success() {
        bail!("{program} {}: {st}", args.join(" "));
    }
    Ok(())
}

/// Opens `files` and keeps them open for the run: on the guest's uncached 9p root a file
/// nobody holds is paged in again at every exec (module documentation).
fn hold_open(files: &[&Path]) -> Result<Vec<std::fs::File>> {
    files
        .iter()
        .map(|f| std::fs::File::open(f).with_context(|| f.display().to_string()))
        .collect()
}

/// The fixture's tmpfs, unmounted (lazily) on drop.
struct Scratch;

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = Command::new("umount").args(["-l", SCRATCH]).status();
    }
}

fn run(opts: &Opts) -> Result<String> {
    let fs = std::fs::read_to_string("/proc/filesystems")?;
    if !fs.lines().any(|l| l.ends_with("\tnfsd")) {
        bail!("no nfsd in this kernel: run it in the NFS guest (bash bench/run.sh --nfs)");
    }
    let ours = |name: &str| -> Result<PathBuf> {
        let p = opts.agents_dir.join(format!("ocfrs-{name}"));
        p.canonicalize()
            .with_context(|| format!("{} (build it: bash bench/run.sh --nfs)", p.display()))
    };
    let ours_server = ours("nfsserver")?;
    let ours_exportfs = ours("exportfs")?;
    let _held = hold_open(&[&ours_server, &ours_exportfs])?;
    std::fs::create_dir_all(SCRATCH)?;
    sh(
        "mount",
        &["-t", "tmpfs", "-o", "size=64m", "ocfrs-nc-bench", SCRATCH],
    )?;
    let _scratch = Scratch;
    let export = Path::new(SCRATCH).join("export");
    std::fs::create_dir_all(&export)?;
    let server = Agent {
        name: "nfsserver",
        programs: [ours_server, Path::new(STOCK).join("nfsserver")],
        params: vec![
            (
                "nfs_shared_infodir".into(),
                format!("{SCRATCH}/shared/nfsinfo"),
            ),
            ("nfs_ip".into(), "127.0.0.2".into()),
        ],
    };
    let exportfs = Agent {
        name: "exportfs",
        programs: [ours_exportfs, Path::new(STOCK).join("exportfs")],
        params: vec![
            ("clientspec".into(), "127.0.0.0/8".into()),
            ("directory".into(), export.display().to_string()),
            ("fsid".into(), "41".into()),
            ("options".into(), "rw,no_root_squash".into()),
        ],
    };
    let mut reaper = Reaper::install()?;
    let mut rows_server = vec![measure(
        &mut reaper,
        &server,
        "probe (monitor, interval 0, stopped)",
        0,
        7,
        opts,
    )?];
    server.act(0, "start", 0)?;
    let measured = (|| -> Result<(Row, Vec<Row>)> {
        let monitor = measure(
            &mut reaper,
            &server,
            "monitor (interval 10 s, running)",
            10_000,
            0,
            opts,
        )?;
        let mut rows = vec![measure(
            &mut reaper,
            &exportfs,
            "probe (monitor, interval 0, not exported)",
            0,
            7,
            opts,
        )?];
        exportfs.act(0, "start", 0)?;
        // The shell exportfs says 7 for an export it did not start itself (its monitor
        // first asks its own state file, ha_pseudo_resource): it starts it too (exportfs
        // again, same options), so that both sides monitor a running resource of theirs.
        let m = exportfs.act(1, "start", 0).and_then(|()| {
            measure(
                &mut reaper,
                &exportfs,
                "monitor (interval 10 s, exported)",
                10_000,
                0,
                opts,
            )
        });
        let shell_stopped = exportfs.act(1, "stop", 0);
        exportfs.act(0, "stop", 0)?;
        rows.push(m?);
        shell_stopped?;
        Ok((monitor, rows))
    })();
    let stopped = server.act(0, "stop", 0);
    reaper.reap_orphans();
    let (monitor, rows_export) = measured?;
    stopped?;
    rows_server.push(monitor);
    let mut out = String::new();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let ra = Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", "resource-agents"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "In the NFS guest (QEMU TCG, Debian kernel {}), resource-agents {ra}, ours the \
         per-agent release binaries: {} runs per figure after 1 warm-up, ours and the shell \
         agent alternating; {} strace pass(es). Both sides exec from a warm page cache. \
         Emulated: absolute times are several times a real node's, compare the ratios and \
         the forks.",
        kernel.trim(),
        opts.runs,
        opts.strace_runs
    );
    table(&server, &rows_server, &mut out);
    table(&exportfs, &rows_export, &mut out);
    Ok(out)
}

fn main() -> std::process::ExitCode {
    let result = parse_args().and_then(|opts| {
        let t = run(&opts)?;
        if let Some(p) = &opts.markdown {
            std::fs::write(p, &t).with_context(|| p.display().to_string())?;
        }
        Ok(t)
    });
    match result {
        Ok(t) => {
            println!("<!-- bench-nfs:table -->\n{t}<!-- bench-nfs:table-end -->");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ocfrs-bench-nfs: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
