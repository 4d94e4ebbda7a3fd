//! `ocfrs-startup`: the start-up cost of agent builds against the Rust floor, ABBA-alternated
//! in one run (bench/README.md, "Start-up cost against the floor").
//!
//! Each build is a mapping from agent type to the executable that serves it (a multicall
//! binary, or one binary per agent); the runner calls every agent of every build through a
//! link named after the agent type (as `/usr/lib/ocf/resource.d/ocfrs/` does), with a probe's
//! environment that needs no fixture (every probe must answer 7, or its row is flagged).
//! All calls of one round run in one order, the next round in the reverse order, so load from
//! elsewhere hits every build alike. Reported per call: median CPU (user + system from the
//! `rusage` of `wait4`), its multiple of the floor's median, median minor page faults, median
//! wall time.
//!
//!     ocfrs-startup --floor target/release/ocfrs-floor \
//!       --build 'multicall:*=target/release/ocfrs-agents' \
//!       --build 'per-agent:*=target/release/ocfrs-{agent}' \
//!       [--agents Dummy,IPaddr2,Filesystem,apache,mysql] [--runs 400] [--action monitor]
//!       [--json PATH]

use anyhow::{bail, Context as _, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

const USAGE: &str = "\
usage: ocfrs-startup --floor PATH --build LABEL:AGENT=PATH[,AGENT=PATH...] [--build ...]
  --floor PATH      a do-nothing program (the Rust floor): the ratios are to the first one
  --build SPEC      one build: `*=PATH` serves every agent not named otherwise; `{agent}`
                    in a PATH is the agent's name (`*=target/release/ocfrs-{agent}`)
  --agents A,B      agents to call (Dummy,IPaddr2,Filesystem,apache,mysql)
  --action NAME     monitor (probe: interval 0, resource stopped; expected rc 7) or meta-data
  --runs N          measured rounds (400), after 5 warm-up rounds
  --json PATH       every sample as JSON";

/// A probe environment per agent that needs no fixture: every one of them answers 7.
fn params(agent: &str, scratch: &Path) -> Vec<(String, String)> {
    let d = scratch.display();
    let p: Vec<(&str, String)> = match agent {
        "Dummy" => vec![("state", format!("{d}/dummy.state"))],
        "Stateful" => vec![("state", format!("{d}/stateful.state"))],
        "IPaddr2" => vec![
            ("ip", "192.0.2.99".into()),
            ("cidr_netmask", "24".into()),
            ("nic", "lo".into()),
        ],
        "Filesystem" => vec![
            ("device", "/dev/ocfrs-s2-none".into()),
            ("directory", format!("{d}/mnt")),
            ("fstype", "ext4".into()),
        ],
        "apache" => vec![
            ("configfile", format!("{d}/httpd.conf")),
            ("httpd", "/usr/sbin/apache2".into()),
            ("envfiles", String::new()),
        ],
        "mysql" => vec![
            ("config", format!("{d}/my.cnf")),
            ("datadir", format!("{d}/mydata")),
            ("pid", format!("{d}/mysqld.pid")),
            ("socket", format!("{d}/mysqld.sock")),
            ("binary", "/usr/bin/mysqld_safe".into()),
            ("client_binary", "/usr/bin/mariadb".into()),
        ],
        _ => Vec::new(),
    };
    p.into_iter()
        .map(|(k, v)| (format!("OCF_RESKEY_{k}"), v))
        .collect()
}

#[derive(Debug, Clone)]
struct Case {
    build: String,
    agent: String,
    program: PathBuf,
    env: Vec<(String, String)>,
    args: Vec<String>,
    expected_rc: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Default)]
struct Samples {
    build: String,
    agent: String,
    program: PathBuf,
    /// Size of the executable behind the link, KiB.
    size_kib: u64,
    cpu_us: Vec<u64>,
    wall_us: Vec<u64>,
    minflt: Vec<i64>,
    unexpected_rc: BTreeMap<i32, usize>,
}

fn median<T: Copy + Ord>(v: &[T]) -> Option<T> {
    let mut s = v.to_vec();
    s.sort_unstable();
    s.get(s.len() / 2).copied()
}

fn tv_us(tv: libc::timeval) -> u64 {
    (tv.tv_sec as u64) * 1_000_000 + tv.tv_usec as u64
}

/// Run one case: (rc, cpu µs, wall µs, minor faults).
fn run(case: &Case) -> Result<(i32, u64, u64, i64)> {
    let mut c = Command::new(&case.program);
    c.args(&case.args)
        .env_clear()
        .envs(case.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let t0 = Instant::now();
    let child = c
        .spawn()
        .with_context(|| format!("spawn {}", case.program.display()))?;
    let pid = i32::try_from(child.id())?;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; zeroed is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals; waits for our own child.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if r < 0 && e.kind() != std::io::ErrorKind::Interrupted {
            bail!("wait4 {pid}: {e}");
        }
    }
    let wall = t0.elapsed().as_micros() as u64;
    let rc = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    Ok((
        rc,
        tv_us(ru.ru_utime) + tv_us(ru.ru_stime),
        wall,
        ru.ru_minflt,
    ))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn real_main() -> Result<()> {
    let mut floors: Vec<PathBuf> = Vec::new();
    let mut builds: Vec<(String, BTreeMap<String, PathBuf>)> = Vec::new();
    let mut agents: Vec<String> = ["Dummy", "IPaddr2", "Filesystem", "apache", "mysql"]
        .map(String::from)
        .to_vec();
    let mut action = "monitor".to_string();
    let mut runs = 400usize;
    let mut json: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || {
            args.next()
                .with_context(|| format!("{a} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--floor" => floors.push(val()?.into()),
            "--build" => {
                let spec = val()?;
                let (label, map) = spec
                    .split_once(':')
                    .with_context(|| format!("--build {spec}: LABEL:AGENT=PATH,..."))?;
                let mut m = BTreeMap::new();
                for part in map.split(',') {
                    let (agent, path) = part
                        .split_once('=')
                        .with_context(|| format!("--build {spec}: {part} is not AGENT=PATH"))?;
                    m.insert(agent.to_string(), PathBuf::from(path));
                }
                builds.push((label.to_string(), m));
            }
            "--agents" => agents = val()?.split(',').map(String::from).collect(),
            "--action" => action = val()?,
            "--runs" => runs = val()?.parse()?,
            "--json" => json = Some(val()?.into()),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ => bail!("unknown option {a}\n{USAGE}"),
        }
    }
    if floors.is_empty() || builds.is_empty() || runs == 0 {
        bail!("need --floor, --build and a positive --runs\n{USAGE}");
    }

    let scratch = std::env::temp_dir().join(format!("ocfrs-s2-startup-{}", std::process::id()));
    std::fs::create_dir_all(scratch.join("mnt"))?;
    std::fs::write(
        scratch.join("httpd.conf"),
        format!(
            "ServerRoot /etc/apache2\nListen 127.0.0.1:22001\nPidFile {}/apache.pid\n",
            scratch.display()
        ),
    )?;
    let path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string();

    let mut cases = Vec::new();
    for f in &floors {
        cases.push(Case {
            build: "floor".into(),
            agent: f.display().to_string(),
            program: f.clone(),
            env: vec![("PATH".into(), path_env.clone())],
            args: Vec::new(),
            expected_rc: Some(0),
        });
    }
    for (label, map) in &builds {
        let dir = scratch.join(label);
        std::fs::create_dir_all(&dir)?;
        for agent in &agents {
            let Some(bin) = map.get(agent).or_else(|| map.get("*")) else {
                bail!("build {label} names no program for {agent} (and no *=PATH)");
            };
            let bin = PathBuf::from(bin.to_string_lossy().replace("{agent}", agent));
            let bin = std::fs::canonicalize(&bin)
                .with_context(|| format!("build {label}, {agent}: {}", bin.display()))?;
            let link = dir.join(agent);
            std::os::unix::fs::symlink(&bin, &link)?;
            let mut env = vec![
                ("PATH".to_string(), path_env.clone()),
                ("OCF_ROOT".to_string(), "/usr/lib/ocf".to_string()),
                ("OCF_RA_VERSION_MAJOR".to_string(), "1".to_string()),
                ("OCF_RA_VERSION_MINOR".to_string(), "1".to_string()),
                (
                    "OCF_RESOURCE_INSTANCE".to_string(),
                    format!("ocfrs-s2-{agent}"),
                ),
                ("OCF_RESOURCE_TYPE".to_string(), agent.clone()),
                (
                    "OCF_RESKEY_CRM_meta_timeout".to_string(),
                    "20000".to_string(),
                ),
                ("OCF_RESKEY_CRM_meta_interval".to_string(), "0".to_string()),
            ];
            env.extend(params(agent, &scratch));
            cases.push(Case {
                build: label.clone(),
                agent: agent.clone(),
                program: link,
                env,
                args: vec![action.clone()],
                expected_rc: match action.as_str() {
                    "monitor" => Some(7),
                    "meta-data" => Some(0),
                    _ => None,
                },
            });
        }
    }

    let load_before = loadavg();
    let t0 = Instant::now();
    let mut out: Vec<Samples> = cases
        .iter()
        .map(|c| Samples {
            build: c.build.clone(),
            agent: c.agent.clone(),
            program: c.program.clone(),
            size_kib: std::fs::metadata(&c.program).map_or(0, |m| m.len() / 1024),
            ..Samples::default()
        })
        .collect();
    const WARMUP: usize = 5;
    for round in 0..WARMUP + runs {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..cases.len()).collect()
        } else {
            (0..cases.len()).rev().collect()
        };
        for k in order {
            let (rc, cpu, wall, flt) = run(&cases[k])?;
            if round < WARMUP {
                continue;
            }
            let s = &mut out[k];
            if cases[k].expected_rc.is_some_and(|e| e != rc) {
                *s.unexpected_rc.entry(rc).or_default() += 1;
            }
            s.cpu_us.push(cpu);
            s.wall_us.push(wall);
            s.minflt.push(flt);
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&scratch);

    let floor_cpu = median(&out[0].cpu_us).unwrap_or(1).max(1) as f64;
    println!(
        "{runs} rounds, action {action}, {secs:.0} s, load {load_before} -> {}",
        loadavg()
    );
    println!(
        "| build | agent | CPU median, ms | × floor | page faults | wall median, ms | size, KiB |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for s in &out {
        let cpu = median(&s.cpu_us).unwrap_or(0) as f64;
        let agent = if s.build == "floor" {
            Path::new(&s.agent)
                .file_name()
                .map_or(s.agent.clone(), |n| n.to_string_lossy().into_owned())
        } else {
            s.agent.clone()
        };
        let warn = if s.unexpected_rc.is_empty() {
            String::new()
        } else {
            format!(" ⚠ rc {:?}", s.unexpected_rc)
        };
        println!(
            "| {} | {agent}{warn} | {:.3} | {:.2} | {} | {:.3} | {} |",
            s.build,
            cpu / 1000.0,
            cpu / floor_cpu,
            median(&s.minflt).unwrap_or(0),
            median(&s.wall_us).unwrap_or(0) as f64 / 1000.0,
            s.size_kib,
        );
    }
    if let Some(p) = json {
        std::fs::write(&p, serde_json::to_vec_pretty(&out)?)
            .with_context(|| format!("write {}", p.display()))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ocfrs-startup: {e:#}");
            ExitCode::from(2)
        }
    }
}
