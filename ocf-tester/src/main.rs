//! # ocf-tester: validate any OCF resource agent
//!
//! A drop-in for resource-agents' shell `ocf-tester` that is stricter than it.
//!
//! * **Installed name.** `make install` installs this binary as `$(SBINDIR)/ocfrs-tester` and
//!   adds an `ocf-tester` symlink only where no `ocf-tester` exists, so Debian's shell tool at
//!   `/usr/sbin/ocf-tester` is never overwritten. The Cargo binary is called `ocf-tester`.
//! * **Compatible.** `ocf-tester [-hvqdX] -n NAME [-o name=value]... AGENT` and `--version`;
//!   the shell tool's 27 steps in the same order, with the same expected codes, the same
//!   `* rc=N: message` lines, `AGENT passed all tests` / `Tests failed: AGENT failed N tests`
//!   (stderr) and the same exit status. Its quirks are not copied: unknown options are errors
//!   (exit 1), `__OCF_ACTION` is never exported, the migrate note is printed when either
//!   migrate action is missing, and the promote/demote detection results are checked.
//!   `-o` values are passed to the agent's environment verbatim (no `eval`);
//!   `--params-file FILE` (0600, the caller's) takes them from a file instead, so a secret
//!   is not on the tester's command line ([`params`]).
//! * **Profiles** (`--profile pacemaker|rgmanager|legacy`, default pacemaker) set the
//!   environment as each caller does; `legacy` is the shell tool's environment and verdict,
//!   with our extra checks reported but not counted.
//! * **Verdicts.** The pacemaker profile fails only what Pacemaker trips over; portability
//!   rules are warnings (`--strict` makes them failures).
//! * **`--via-pacemaker`** runs the actions through Pacemaker's own executor
//!   (crm_resource on a scratch CIB) and reports where the imitation differs.
//! * **Deadlines.** Every action runs in its own process group with a time limit (the
//!   advertised timeout, or `--timeout`); a hang is killed and reported.
//! * **Meta-data rules** without xmllint (`inspect`); **extra behaviour checks**;
//!   **scenario files** (`--ocft`, `--scenario`, see `ocf-tester/README.md`); output as
//!   text with a summary table, `--format json` or `--format junit`.
//! * `--generate man DIR` writes `ocf-tester.8`; `--generate completions SHELL [NAME]`
//!   prints a completion script (both generated from the clap definition).

mod cli;
mod exec;
mod inspect;
mod ocft;
mod pacemaker;
mod params;
mod report;
mod suite;

use clap::{CommandFactory, Parser};
use cli::{Cli, Format, Profile};
use exec::Runner;
use report::{Check, Report, Verdict};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str =
    "Usage: ocf-tester [-hvqdX] -n resource_name [-o name=value]* /full/path/to/resource/agent";

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("{msg}");
    eprintln!("{USAGE}");
    eprintln!("Try 'ocf-tester --help' for more information.");
    ExitCode::from(1)
}

fn main() -> ExitCode {
    // The shell tool accepts -? for help.
    let args: Vec<std::ffi::OsString> = std::env::args_os()
        .map(|a| if a == "-?" { "--help".into() } else { a })
        .collect();
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    ExitCode::SUCCESS
                }
                _ => {
                    let _ = e.print();
                    ExitCode::from(1)
                }
            };
        }
    };
    if !cli.generate.is_empty() {
        return generate(&cli.generate);
    }
    run(cli)
}

fn generate(what: &[String]) -> ExitCode {
    let mut cmd = Cli::command().version(env!("CARGO_PKG_VERSION"));
    match what.first().map(String::as_str) {
        Some("man") => {
            let dir = PathBuf::from(what.get(1).map(String::as_str).unwrap_or("."));
            let man = clap_mangen::Man::new(cmd).section("8");
            let mut buf = Vec::new();
            if let Err(e) = man.render(&mut buf) {
                eprintln!("ocf-tester: render man page: {e}");
                return ExitCode::from(1);
            }
            let path = dir.join("ocf-tester.8");
            if let Err(e) = std::fs::write(&path, buf) {
                eprintln!("ocf-tester: write {}: {e}", path.display());
                return ExitCode::from(1);
            }
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Some("completions") => {
            let Some(shell) = what
                .get(1)
                .and_then(|s| s.parse::<clap_complete::Shell>().ok())
            else {
                eprintln!("ocf-tester: --generate completions SHELL [NAME] (bash, zsh, fish, elvish, powershell)");
                return ExitCode::from(1);
            };
            let name = what.get(2).cloned().unwrap_or_else(|| "ocf-tester".into());
            clap_complete::generate(shell, &mut cmd, name, &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("ocf-tester: --generate man DIR | completions SHELL [NAME]");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> ExitCode {
    let verbose = cli.verbose || cli.trace;
    let text = cli.format == Format::Text;
    let params = match params::gather(&cli.params_files, &cli.options) {
        Ok(p) => p,
        Err(e) => return usage_error(&e),
    };
    let extra_env = match params::parse_options(&cli.env) {
        Ok(p) => p,
        Err(e) => return usage_error(&e.replace("-o ", "--env ")),
    };
    let base = ocf::Env::from_process();
    if base.get_nonempty("OCF_ROOT").is_none() && !std::path::Path::new("/usr/lib/ocf").is_dir() {
        return usage_error(
            "You must supply the location of OCF_ROOT (common location is /usr/lib/ocf)",
        );
    }
    let scenarios = !cli.ocft.is_empty() || !cli.scenario.is_empty();
    if scenarios {
        return run_scenarios(&cli, params, verbose, text);
    }
    let instance = match cli.name.clone().or_else(|| {
        base.get_nonempty("OCF_RESOURCE_INSTANCE")
            .map(str::to_string)
    }) {
        Some(n) if !n.is_empty() => n,
        _ => return usage_error("You must give your resource a name, set OCF_RESOURCE_INSTANCE"),
    };
    let Some(agent) = cli.agent.clone() else {
        return usage_error("You must provide the full path to your resource agent");
    };
    if !agent.exists() {
        return usage_error("You must provide the full path to your resource agent");
    }
    let agent_display = agent.display().to_string();
    let mut pacemaker = None;
    if cli.via_pacemaker {
        if cli.profile != Profile::Pacemaker {
            return usage_error("--via-pacemaker runs the pacemaker profile only");
        }
        let root = base
            .get_nonempty("OCF_ROOT")
            .unwrap_or("/usr/lib/ocf")
            .to_string();
        let type_name = agent
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        match pacemaker::Executor::new(&agent, &type_name, &instance, &root) {
            Ok(p) => pacemaker = Some(p),
            Err(e) => return usage_error(&e),
        }
    }
    let runner = Runner {
        agent,
        profile: cli.profile,
        instance,
        params,
        timeout: cli.timeout.map(Duration::from_secs),
        md: None,
        debug: cli.debug,
        trace: cli.trace,
        verbose,
        text_out: text,
        history: Vec::new(),
        base,
        extra_env,
        pacemaker,
    };
    let mut t = suite::Tester {
        r: runner,
        checks: Vec::new(),
        quiet: cli.quiet,
        text,
        agent_display: agent_display.clone(),
        strict: cli.strict,
        running_done: false,
        portability: false,
    };
    let outcome = match cli.profile {
        Profile::Rgmanager => t.run_rgmanager(),
        _ => t.run_all(),
    };
    let aborted = outcome.is_err();
    if aborted && t.r.history.last().is_some_and(|h| h.action != "stop") {
        // Leave nothing running behind (the shell tool does).
        let _ = t.r.run(&exec::Spec::new("stop"));
    }
    // Taken out of the runner: dropping it removes the provider link and the scratch CIBs.
    let executor = match t.r.pacemaker.take() {
        Some(p) => {
            t.pacemaker_findings(&p);
            format!("pacemaker ({})", p.version)
        }
        None => "imitation".to_string(),
    };
    finish(
        &agent_display,
        Outcome {
            profile: cli.profile,
            checks: t.checks,
            aborted,
            format: cli.format,
            quiet: cli.quiet,
            strict: cli.strict,
            executor,
        },
    )
}

/// Everything `finish` reports.
struct Outcome {
    profile: Profile,
    checks: Vec<Check>,
    aborted: bool,
    format: Format,
    quiet: bool,
    strict: bool,
    executor: String,
}

fn profile_name(p: Profile) -> &'static str {
    match p {
        Profile::Pacemaker => "pacemaker",
        Profile::Rgmanager => "rgmanager",
        Profile::Legacy => "legacy",
    }
}

fn finish(agent: &str, o: Outcome) -> ExitCode {
    let Outcome {
        profile,
        checks,
        aborted,
        format,
        quiet,
        strict,
        executor,
    } = o;
    let failures = checks.iter().filter(|c| c.counted_failure()).count();
    let warnings = checks.iter().filter(|c| c.verdict == Verdict::Warn).count();
    let passed = failures == 0 && !aborted;
    let report = Report {
        format_version: report::JSON_FORMAT_VERSION,
        agent: agent.to_string(),
        profile: profile_name(profile).to_string(),
        failures,
        warnings,
        strict,
        executor,
        aborted,
        passed,
        checks,
    };
    match format {
        Format::Text => {
            if !quiet {
                println!();
                print!("{}", report::table(&report.checks));
                let uncounted = report
                    .checks
                    .iter()
                    .filter(|c| c.verdict == Verdict::Fail && !c.counted)
                    .count();
                if uncounted > 0 {
                    println!(
                        "{uncounted} extra check(s) failed; not counted in the {} profile",
                        report.profile
                    );
                }
                if warnings > 0 {
                    println!(
                        "{warnings} warning(s): portability rules the {} profile does not fail on (--strict makes them failures)",
                        report.profile
                    );
                }
            }
            if aborted {
                println!("Aborting tests");
                return ExitCode::from(1);
            }
        }
        Format::Json => match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("ocf-tester: json: {e}"),
        },
        Format::Junit => print!("{}", report::junit(&report)),
    }
    if aborted {
        return ExitCode::from(1);
    }
    if failures > 0 {
        eprintln!("Tests failed: {agent} failed {failures} tests");
        ExitCode::from(1)
    } else {
        if format == Format::Text {
            if warnings > 0 {
                println!("{agent} passed all tests ({warnings} warnings)");
            } else {
                println!("{agent} passed all tests");
            }
        }
        ExitCode::SUCCESS
    }
}

fn run_scenarios(cli: &Cli, params: Vec<(String, String)>, verbose: bool, text: bool) -> ExitCode {
    let mut checks = Vec::new();
    let mut files: Vec<(PathBuf, ocft::Dialect)> = cli
        .ocft
        .iter()
        .map(|f| (f.clone(), ocft::Dialect::Ocft))
        .collect();
    files.extend(
        cli.scenario
            .iter()
            .map(|f| (f.clone(), ocft::Dialect::Scenario)),
    );
    let mut label = String::new();
    for (file, dialect) in files {
        let text_in = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => return usage_error(&format!("{}: {e}", file.display())),
        };
        let cfg = match ocft::parse(&text_in, dialect) {
            Ok(c) => c,
            Err(e) => return usage_error(&format!("{}: {e}", file.display())),
        };
        let agent = match (&cli.agent, &cfg.agent) {
            (Some(a), _) => a.clone(),
            (None, Some(name)) => {
                let root = cfg.agent_root.clone().unwrap_or_else(|| {
                    format!(
                        "{}/resource.d/heartbeat",
                        std::env::var("OCF_ROOT").unwrap_or_else(|_| "/usr/lib/ocf".into())
                    )
                });
                PathBuf::from(root).join(name)
            }
            (None, None) => {
                return usage_error(&format!(
                    "{}: no Agent in CONFIG and no agent path given",
                    file.display()
                ))
            }
        };
        if !agent.exists() {
            return usage_error(&format!(
                "{}: agent {} not found",
                file.display(),
                agent.display()
            ));
        }
        label = agent.display().to_string();
        let run = ocft::ScenarioRun {
            file: file.clone(),
            cfg: &cfg,
            agent,
            instance: cli.name.clone().unwrap_or_else(|| "ocft".into()),
            params: params.clone(),
            timeout: cli.timeout,
            verbose,
            text,
            trace: cli.trace,
        };
        checks.extend(run.run());
    }
    finish(
        &label,
        Outcome {
            profile: cli.profile,
            checks,
            aborted: false,
            format: cli.format,
            quiet: cli.quiet,
            strict: cli.strict,
            executor: "imitation".into(),
        },
    )
}
