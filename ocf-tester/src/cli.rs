//! The command line, defined once with clap: parsing, `--help`, the man page and the shell
//! completions all come from [`Cli`].

use clap::{ArgAction, Parser, ValueEnum};
use std::path::PathBuf;

/// Who the tester pretends to be when it runs the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// Pacemaker's executor: OCF 1.1 variables, type and provider, exit-reason prefix,
    /// CRM_meta_timeout/interval in ms (interval 0 for probes), a clean environment.
    Pacemaker,
    /// rgmanager: only its variables (no PATH, no LANG), OCF_ROOT=/usr/share/cluster,
    /// `status` at each advertised depth, meta-data with stdin and stderr closed.
    Rgmanager,
    /// Exactly the environment of resource-agents' shell ocf-tester; the verdict is the
    /// shell tool's, step for step (extra checks are reported but not counted).
    Legacy,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The shell tool's lines plus a summary table.
    Text,
    /// One JSON document on stdout.
    Json,
    /// A JUnit XML report on stdout (one testcase per check).
    Junit,
}

/// Validate an OCF resource agent.
///
/// Runs the 27 steps of resource-agents' `ocf-tester` (same order, expected codes, messages
/// and exit status), then stricter checks of its own: meta-data rules without xmllint,
/// unprivileged and empty-environment meta-data, unknown actions, missing required
/// parameters, probes and stops with bad configuration, promotion, notifications, monitor
/// depths, reload-agent, exit reasons, stdout discipline and timeouts. Every action runs in
/// its own process group under a deadline: a hanging agent is killed and reported.
///
/// Verdicts: the default profile (pacemaker) fails an agent only for what would go wrong
/// under Pacemaker or what the OCF standard forbids. Portability rules beyond that
/// (meta-data with an empty environment, an empty PATH or as an unprivileged user;
/// ra-api-1.dtd details; exit reasons; stdout noise; actions Pacemaker never calls; probe
/// codes only old Pacemaker versions fail on) are WARNINGS: printed as `- warning: ...`,
/// counted as warnings in JSON (`warnings`) and JUnit (a `<skipped>` testcase whose message
/// starts with `warning:`), exit status 0. --strict makes them failures.
///
/// --via-pacemaker runs start, stop, monitor, promote, demote, validate-all and meta-data
/// through Pacemaker's own executor (crm_resource --force-*, --validate, --show-metadata on
/// a scratch CIB; no cluster needed) and reports where the imitation differs. It needs root
/// and Pacemaker's command-line tools, and takes a few times longer (each action is a
/// crm_resource run, read-only ones run both ways).
///
/// With --ocft or --scenario it runs scenario files instead (resource-agents' ocft format,
/// or this tool's extended format; see ocf-tester(8) and ocf-tester/README.md).
///
/// Installed as `ocfrs-tester` (and as `ocf-tester` only where that name is free).
#[derive(Debug, Parser)]
#[command(
    name = "ocf-tester",
    version,
    disable_version_flag = true,
    after_help = "Exit status: 0 when every counted check passed, 1 otherwise (also on usage errors).\n\
                  Example: ocf-tester -n db -o config=/etc/db.conf /usr/lib/ocf/resource.d/heartbeat/Dummy"
)]
pub struct Cli {
    /// Be verbose: print each step and the agent's output.
    #[arg(short = 'v')]
    pub verbose: bool,
    /// Be quiet: no informational lines and no summary table.
    #[arg(short = 'q')]
    pub quiet: bool,
    /// Turn on the agent's debugging (HA_debug=1).
    #[arg(short = 'd')]
    pub debug: bool,
    /// Turn on the agent's tracing (OCF_TRACE_RA=1); implies -v.
    #[arg(short = 'X')]
    pub trace: bool,
    /// Name of the resource (OCF_RESOURCE_INSTANCE); required unless that variable is set.
    #[arg(short = 'n', value_name = "NAME")]
    pub name: Option<String>,
    /// A parameter of the agent (OCF_RESKEY_name=value); repeatable. Split at the first
    /// '='; the value is passed verbatim (quotes and spaces are fine).
    #[arg(short = 'o', value_name = "NAME=VALUE", action = ArgAction::Append)]
    pub options: Vec<String>,
    /// Parameters from a file, off the command line (a password given with -o is visible
    /// to every user in /proc/PID/cmdline while the tester runs): one NAME=VALUE per line,
    /// split at the first '=', the value verbatim; blank lines and lines starting with '#'
    /// ignored. The file must be owned by you (or root) and closed to group and others
    /// (chmod 600). Repeatable; -o options win over the files' values.
    #[arg(long = "params-file", value_name = "FILE", action = ArgAction::Append)]
    pub params_files: Vec<PathBuf>,
    /// An extra variable of the caller's environment (NAME=VALUE, repeatable), set for every
    /// action on top of the profile's: what a node's pacemaker environment adds
    /// (/etc/default/pacemaker), e.g. HA_SBIN_DIR, or a PATH with site tools.
    #[arg(long = "env", value_name = "NAME=VALUE", action = ArgAction::Append)]
    pub env: Vec<String>,
    /// Caller to imitate.
    #[arg(long, value_enum, default_value_t = Profile::Pacemaker)]
    pub profile: Profile,
    /// Time limit for every action in seconds (default: the action's advertised timeout,
    /// else 20).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Treat warnings as failures. Warnings are portability rules beyond the profile's
    /// caller (in the pacemaker profile: meta-data with an empty environment or an empty
    /// PATH, meta-data as an unprivileged user, ra-api-1.dtd details Pacemaker never
    /// applies, probe codes only older Pacemaker versions fail on): shown and counted, but
    /// not failures unless --strict.
    #[arg(long)]
    pub strict: bool,
    /// Run start, stop, monitor, promote, demote, validate-all and meta-data through
    /// Pacemaker's own executor (crm_resource --force-*/--validate/--show-metadata on a
    /// scratch CIB; no cluster needed) instead of imitating it, and report where the
    /// imitation differs. Needs root and Pacemaker's crm_resource (pacemaker profile only).
    #[arg(long)]
    pub via_pacemaker: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Run a resource-agents ocft configuration file against the agent (repeatable).
    /// Without an agent path, the file's own Agent/AgentRoot is used.
    #[arg(long = "ocft", value_name = "FILE", action = ArgAction::Append)]
    pub ocft: Vec<PathBuf>,
    /// Run a scenario file in ocf-tester's extended format (repeatable).
    #[arg(long = "scenario", value_name = "FILE", action = ArgAction::Append)]
    pub scenario: Vec<PathBuf>,
    /// Print the version and exit.
    #[arg(long = "version", action = ArgAction::Version)]
    pub version: Option<bool>,
    /// Write generated files: `man DIR` (ocf-tester.8) or `completions SHELL [NAME]`.
    #[arg(long, hide = true, num_args = 1..=3, value_name = "WHAT")]
    pub generate: Vec<String>,
    /// Path of the agent to test.
    #[arg(value_name = "AGENT")]
    pub agent: Option<PathBuf>,
}
