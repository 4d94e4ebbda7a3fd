//! Running an agent once and measuring it: wall time, CPU of the whole process tree, exit
//! code; counting the processes it spawns (strace pass); the scale loop.
//!
//! CPU: `wait4` returns the child's rusage including every descendant it waited for, which
//! for an agent is its whole tree. The runner is a child subreaper, so a process an agent
//! leaves behind (a background ARP sender, say) is reaped here too; its CPU is added to the
//! measurement block it was reaped in and reported as `orphans`.

use anyhow::{bail, Context as _, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One invocation: program, arguments, complete environment.
#[derive(Debug, Clone)]
pub struct Call {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Call {
    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    /// Run once with output captured (for checks and error messages, not timed).
    pub fn output(&self) -> Result<std::process::Output> {
        let mut c = self.command();
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        c.output()
            .with_context(|| format!("run {}", self.program.display()))
    }
}

/// One measured run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    /// Spawn to reaped, µs.
    pub wall_us: u64,
    /// User + system CPU of the process tree, µs.
    pub cpu_us: u64,
    /// Exit code (128 + signal when killed).
    pub rc: i32,
    /// Peak resident set of the largest process in the tree, KiB.
    pub maxrss_kb: i64,
    /// Minor page faults of the tree (mapping the binary and libraries is most of them).
    pub minflt: i64,
}

fn tv_us(tv: libc::timeval) -> u64 {
    (tv.tv_sec as u64) * 1_000_000 + tv.tv_usec as u64
}

pub fn rusage_cpu(ru: &libc::rusage) -> u64 {
    tv_us(ru.ru_utime) + tv_us(ru.ru_stime)
}

fn exit_code(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        -1
    }
}

/// Reaps children; accounts processes that are not the one being waited for (orphans
/// reparented to the runner).
#[derive(Debug, Default)]
pub struct Reaper {
    pub orphans: u64,
    pub orphan_cpu_us: u64,
}

impl Reaper {
    /// Make the runner the reaper of its descendants' orphans.
    pub fn install() -> Result<Reaper> {
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
            bail!(
                "PR_SET_CHILD_SUBREAPER: {}",
                std::io::Error::last_os_error()
            );
        }
        Ok(Reaper::default())
    }

    /// Wait for any child; `None` when there is none (or, with `nohang`, none has exited).
    pub fn wait_any(&mut self, nohang: bool) -> Option<(i32, libc::c_int, libc::rusage)> {
        loop {
            let mut status: libc::c_int = 0;
            // SAFETY: rusage is plain old data; zeroed is a valid value.
            let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
            let flags = if nohang { libc::WNOHANG } else { 0 };
            // SAFETY: valid pointers to locals.
            let pid = unsafe { libc::wait4(-1, &mut status, flags, &mut ru) };
            if pid > 0 {
                return Some((pid, status, ru));
            }
            if pid < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
            {
                continue;
            }
            return None;
        }
    }

    /// Wait for `pid`; anything else reaped meanwhile is an orphan.
    fn wait_for(&mut self, pid: i32) -> Result<(libc::c_int, libc::rusage)> {
        loop {
            match self.wait_any(false) {
                Some((p, status, ru)) if p == pid => return Ok((status, ru)),
                Some((_, _, ru)) => {
                    self.orphans += 1;
                    self.orphan_cpu_us += rusage_cpu(&ru);
                }
                None => bail!("child {pid} vanished"),
            }
        }
    }

    /// Reap orphans that have exited, without blocking.
    pub fn reap_orphans(&mut self) {
        while let Some((_, _, ru)) = self.wait_any(true) {
            self.orphans += 1;
            self.orphan_cpu_us += rusage_cpu(&ru);
        }
    }

    /// Run `call` once and measure it.
    pub fn run(&mut self, call: &Call) -> Result<Sample> {
        let mut cmd = call.command();
        let t0 = Instant::now();
        let child = cmd
            .spawn()
            .with_context(|| format!("spawn {}", call.program.display()))?;
        let pid = i32::try_from(child.id())?;
        let (status, ru) = self.wait_for(pid)?;
        let wall = t0.elapsed();
        Ok(Sample {
            wall_us: wall.as_micros() as u64,
            cpu_us: rusage_cpu(&ru),
            rc: exit_code(status),
            maxrss_kb: ru.ru_maxrss,
            minflt: ru.ru_minflt,
        })
    }

    /// Spawn without waiting (the scale loop).
    pub fn spawn(&mut self, call: &Call) -> Result<i32> {
        let child = call
            .command()
            .spawn()
            .with_context(|| format!("spawn {}", call.program.display()))?;
        Ok(i32::try_from(child.id())?)
    }
}

/// Order statistics of a set of values (ms).
#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct Stats {
    pub n: usize,
    pub median: f64,
    pub p95: f64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    /// From values in µs; the statistics are in ms.
    pub fn of_us(values: &[u64]) -> Stats {
        if values.is_empty() {
            return Stats::default();
        }
        let mut v: Vec<f64> = values.iter().map(|&x| x as f64 / 1000.0).collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        // Nearest rank.
        let rank = |p: f64| v[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Stats {
            n,
            median,
            p95: rank(0.95),
            mean: v.iter().sum::<f64>() / n as f64,
            min: v[0],
            max: v[n - 1],
        }
    }
}

/// The measured runs of one operation on one side.
#[derive(Debug, Clone, Serialize, Default)]
pub struct OpResult {
    pub expected_rc: i32,
    /// Exit code → number of runs.
    pub rcs: BTreeMap<i32, usize>,
    pub wall_ms: Stats,
    pub cpu_ms: Stats,
    pub maxrss_kb_max: i64,
    pub minflt_median: i64,
    pub samples_minflt: Vec<i64>,
    pub samples_wall_us: Vec<u64>,
    pub samples_cpu_us: Vec<u64>,
}

impl OpResult {
    pub fn new(expected_rc: i32) -> OpResult {
        OpResult {
            expected_rc,
            ..OpResult::default()
        }
    }

    pub fn push(&mut self, s: &Sample) {
        *self.rcs.entry(s.rc).or_default() += 1;
        self.samples_wall_us.push(s.wall_us);
        self.samples_cpu_us.push(s.cpu_us);
        self.maxrss_kb_max = s.maxrss_kb.max(self.maxrss_kb_max);
        self.samples_minflt.push(s.minflt);
    }

    pub fn finish(&mut self) {
        self.wall_ms = Stats::of_us(&self.samples_wall_us);
        self.cpu_ms = Stats::of_us(&self.samples_cpu_us);
        let mut f = self.samples_minflt.clone();
        f.sort_unstable();
        self.minflt_median = f.get(f.len() / 2).copied().unwrap_or(0);
    }

    /// Runs whose exit code was not the expected one.
    pub fn unexpected(&self) -> usize {
        self.rcs
            .iter()
            .filter(|(rc, _)| **rc != self.expected_rc)
            .map(|(_, n)| n)
            .sum()
    }
}

/// What one strace pass saw.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct Counts {
    /// Processes created (fork, vfork, clone/clone3 without CLONE_THREAD).
    pub forks: u64,
    /// Threads created.
    pub threads: u64,
    /// Successful execve calls (including the agent's own).
    pub execs: u64,
    /// System calls of the whole tree (including the agent's own execve).
    pub syscalls: u64,
    /// Successful execs by program file name.
    pub programs: BTreeMap<String, u64>,
}

impl Counts {
    /// The programs exec'd, in one line ("ip ×3, grep").
    pub fn program_list(&self) -> String {
        self.programs
            .iter()
            .map(|(p, n)| {
                if *n > 1 {
                    format!("{p} ×{n}")
                } else {
                    p.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Parse `strace -f -qq -o` output.
pub fn parse_strace(text: &str) -> Counts {
    let mut c = Counts::default();
    // pid → (syscall name, start of the line) of an unfinished call.
    let mut pending: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for line in text.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        if rest.starts_with("---") || rest.starts_with("+++") {
            continue;
        }
        let (name, call, ret) = if let Some(r) = rest.strip_prefix("<... ") {
            let Some((name, tail)) = r.split_once(" resumed>") else {
                continue;
            };
            let Some((pname, start)) = pending.remove(pid) else {
                continue;
            };
            if pname != name {
                continue;
            }
            (name, start, ret_of(tail))
        } else {
            let Some(open) = rest.find('(') else {
                continue;
            };
            let name = &rest[..open];
            if !name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            {
                continue;
            }
            c.syscalls += 1;
            if rest.ends_with("<unfinished ...>") {
                pending.insert(pid, (name, rest));
                continue;
            }
            (name, rest, ret_of(rest))
        };
        match name {
            "clone" | "clone3" | "fork" | "vfork" if ret.is_some_and(|r| r > 0) => {
                if call.contains("CLONE_THREAD") {
                    c.threads += 1;
                } else {
                    c.forks += 1;
                }
            }
            "execve" | "execveat" if ret == Some(0) => {
                c.execs += 1;
                let prog = call
                    .split('"')
                    .nth(1)
                    .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
                    .unwrap_or_default();
                *c.programs.entry(prog).or_default() += 1;
            }
            _ => {}
        }
    }
    c
}

/// The return value of a completed call: strace pads before ` = ` to align the column.
fn ret_of(line: &str) -> Option<i64> {
    let (_, r) = line.rsplit_once(" = ")?;
    r.split_whitespace().next()?.parse().ok()
}

/// Count what `call` spawns, with strace following every fork. A `start` of a daemon agent
/// leaves the daemon running (traced too): once the agent's own process has exited, strace
/// is told to detach (SIGTERM detaches from every tracee and exits; the daemon runs on), so
/// the count covers the agent and what it spawned up to its exit.
pub fn count(call: &Call, scratch: &Path) -> Result<Counts> {
    let out = scratch.join("strace.out");
    let _ = std::fs::remove_file(&out);
    // -I2: strace honours SIGTERM (detaches, exits); with -o it would ignore it otherwise.
    let child = Command::new("strace")
        .args(["-I2", "-f", "-qq", "-o"])
        .arg(&out)
        .arg("--")
        .arg(&call.program)
        .args(&call.args)
        .env_clear()
        .envs(call.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("run strace")?;
    // The agent is strace's child once it has exec'd (strace also forks short-lived probes
    // of its own at start-up: they still run strace's executable); a daemon the agent started
    // is traced but not strace's child. Once the agent has been seen and strace has no child
    // left, the agent is done.
    let children = format!("/proc/{0}/task/{0}/children", child.id());
    let mut seen_agent = false;
    let mut agent_gone: Option<std::time::Instant> = None;
    let mut detached = false;
    let strace_pid = child.id() as i32;
    // Reap whatever exits meanwhile: the runner is a subreaper, so a daemon the agent started
    // and a later stop ended is our zombie until reaped (and `anything stop` waits for it).
    let status = loop {
        let mut st: libc::c_int = 0;
        // SAFETY: a valid pointer to a local.
        let pid = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
        if pid == strace_pid {
            break st;
        }
        if pid > 0 {
            continue;
        }
        let kids = std::fs::read_to_string(&children).unwrap_or_default();
        let strace_exe = std::fs::read_link(format!("/proc/{strace_pid}/exe")).ok();
        let is_agent = |pid: &str| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| Some(e) != strace_exe)
        };
        if kids.split_whitespace().any(is_agent) {
            seen_agent = true;
        } else if seen_agent && kids.trim().is_empty() && agent_gone.is_none() {
            agent_gone = Some(std::time::Instant::now());
        }
        // Without a daemon strace ends by itself as soon as the agent has: detach only when
        // it is still there a while after the agent ended.
        if !detached
            && agent_gone.is_some_and(|t| t.elapsed() > std::time::Duration::from_millis(300))
        {
            // SAFETY: kill(2) on our own child's pid.
            unsafe {
                libc::kill(strace_pid, libc::SIGTERM);
            }
            detached = true;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    };
    drop(child);
    if !libc::WIFEXITED(status) && !detached {
        bail!("strace: killed by signal {}", libc::WTERMSIG(status));
    }
    let text = std::fs::read_to_string(&out).context("read strace output")?;
    let _ = std::fs::remove_file(&out);
    if text.is_empty() {
        bail!("strace wrote nothing");
    }
    Ok(parse_strace(&text))
}

/// The scale cross-check: `n` resources monitored every `interval`, for `duration`.
#[derive(Debug, Clone, Serialize)]
pub struct ScaleResult {
    pub n: usize,
    pub interval_s: f64,
    pub duration_s: f64,
    pub calls: u64,
    /// CPU of every monitor started in the window, µs.
    pub cpu_us: u64,
    /// `cpu_us` over the window, in % of one core.
    pub pct_core: f64,
    /// Computed from the per-call mean CPU: mean × n / interval, in % of one core.
    pub computed_pct_core: f64,
    /// Latest start behind schedule, ms (the runner could not keep up when large).
    pub max_late_ms: f64,
    pub max_in_flight: usize,
    /// The cap on monitors running at once (starts wait for a slot beyond it).
    pub in_flight_cap: usize,
    /// From the first start to the last monitor's end (longer than the window when the
    /// machine could not keep up).
    pub elapsed_s: f64,
    pub rcs: BTreeMap<i32, usize>,
}

/// Monitors running at once, per core, in the scale check: beyond that the machine is
/// saturated and more would only queue in the scheduler.
const IN_FLIGHT_PER_CORE: usize = 4;

/// Start monitor `k` at `k × interval / n`, without waiting for earlier ones; reap as they
/// end; after the window, wait for the rest. CPU is summed from each child's rusage.
pub fn scale(
    reaper: &mut Reaper,
    call: &Call,
    n: usize,
    interval: Duration,
    duration: Duration,
    per_call_mean_cpu_ms: f64,
) -> Result<ScaleResult> {
    let step = interval / u32::try_from(n.max(1))?;
    let total = (duration.as_nanos() / step.as_nanos().max(1)) as u64;
    let mut in_flight: BTreeMap<i32, ()> = BTreeMap::new();
    let mut res = ScaleResult {
        n,
        interval_s: interval.as_secs_f64(),
        duration_s: duration.as_secs_f64(),
        calls: 0,
        cpu_us: 0,
        pct_core: 0.0,
        computed_pct_core: per_call_mean_cpu_ms * n as f64 / (interval.as_secs_f64() * 1000.0)
            * 100.0,
        max_late_ms: 0.0,
        max_in_flight: 0,
        in_flight_cap: IN_FLIGHT_PER_CORE
            * std::thread::available_parallelism().map_or(1, |n| n.get()),
        elapsed_s: 0.0,
        rcs: BTreeMap::new(),
    };
    let account = |res: &mut ScaleResult,
                   in_flight: &mut BTreeMap<i32, ()>,
                   (pid, status, ru): (i32, libc::c_int, libc::rusage)| {
        res.cpu_us += rusage_cpu(&ru);
        if in_flight.remove(&pid).is_some() {
            *res.rcs.entry(exit_code(status)).or_default() += 1;
        }
    };
    let t0 = Instant::now();
    let mut k: u64 = 0;
    while k < total {
        let due = step * u32::try_from(k)?;
        let now = t0.elapsed();
        if now >= due && in_flight.len() < res.in_flight_cap {
            let late = (now - due).as_secs_f64() * 1000.0;
            res.max_late_ms = res.max_late_ms.max(late);
            let pid = reaper.spawn(call)?;
            in_flight.insert(pid, ());
            res.max_in_flight = res.max_in_flight.max(in_flight.len());
            k += 1;
            continue;
        }
        while let Some(r) = reaper.wait_any(true) {
            account(&mut res, &mut in_flight, r);
        }
        std::thread::sleep(
            due.saturating_sub(now)
                .clamp(Duration::from_micros(100), Duration::from_millis(1)),
        );
    }
    while !in_flight.is_empty() {
        match reaper.wait_any(false) {
            Some(r) => account(&mut res, &mut in_flight, r),
            None => break,
        }
    }
    res.calls = k;
    res.elapsed_s = t0.elapsed().as_secs_f64();
    res.pct_core = res.cpu_us as f64 / duration.as_micros() as f64 * 100.0;
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strace_parse_counts_forks_threads_execs() {
        let text = "\
10 execve(\"/usr/lib/ocf/resource.d/heartbeat/Dummy\", [\"Dummy\"], 0x1 /* 3 vars */) = 0
10 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>
11 execve(\"/usr/bin/basename\", [\"basename\"], 0x2 /* 3 vars */ <unfinished ...>
10 <... clone resumed>, child_tidptr=0x7f) = 11
11 <... execve resumed>)             = 0
14 execve(\"/usr/bin/sed\", [\"sed\", \"-e\", \"s/ = //\"], 0x3 /* 9 vars */ <unfinished ...>
14 <... execve resumed>)             = 0
11 execve(\"/nonexistent\", [], 0x2) = -1 ENOENT (No such file or directory)
12 clone3({flags=CLONE_VM|CLONE_FS|CLONE_THREAD|CLONE_SIGHAND, child_tid=0x1}, 88) = 13
11 +++ exited with 0 +++
10 --- SIGCHLD {si_signo=SIGCHLD} ---
10 wait4(-1, 0x7ff, WNOHANG, NULL) = 11
";
        let c = parse_strace(text);
        assert_eq!(c.forks, 1);
        assert_eq!(c.threads, 1);
        assert_eq!(c.execs, 3);
        assert_eq!(c.syscalls, 7);
        assert_eq!(c.programs.get("basename"), Some(&1));
    }

    #[test]
    fn stats_nearest_rank() {
        let v: Vec<u64> = (1..=100).map(|x| x * 1000).collect();
        let s = Stats::of_us(&v);
        assert_eq!(s.median, 50.5);
        assert_eq!(s.p95, 95.0);
        assert_eq!(s.min, 1.0);
        assert_eq!(s.max, 100.0);
    }
}
