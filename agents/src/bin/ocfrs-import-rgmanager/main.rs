//! `ocfrs-import-rgmanager`: read an rgmanager cluster.conf and print the equivalent
//! Pacemaker configuration (crm shell or pcs), using the ocfrs agents. Every construct
//! without an exact equivalent is reported (as `# NOT MAPPED:` comments and a count on
//! stderr), never dropped silently. Malformed or hostile input gives an error and no output.
//!
//! Lives in the agents package (not the tester's) because it produces configurations of
//! these agents and because the cluster scenarios that load its output into a real cluster
//! are this package's integration tests (they find the binary through Cargo).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod agents;
mod convert;
mod emit;
mod man;
mod model;
mod xml;

use std::collections::BTreeMap;
use std::io::{Read, Write};

/// Exit codes.
const OK: u8 = 0;
/// Unreadable, malformed, hostile or meaningless input.
const BAD_INPUT: u8 = 1;
/// Bad command line.
const USAGE: u8 = 2;
/// `--strict` and something was not mapped (the configuration is still printed).
const INCOMPLETE: u8 = 3;

const USAGE_TEXT: &str = "usage: ocfrs-import-rgmanager [--format crm|pcs] [--provider NAME] \
[--rename-node OLD=NEW]... [--map RESOURCE=AGENT]... [--strict] [--quiet] [CLUSTER.CONF|-]
       ocfrs-import-rgmanager --man | --help | --version";

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Convert,
    Help,
    Man,
    Version,
}

#[derive(Debug, Clone)]
struct Cli {
    mode: Mode,
    format: String,
    opts: convert::Options,
    strict: bool,
    quiet: bool,
    input: Option<String>,
}

fn parse_args(args: &[String]) -> Result<Cli, String> {
    let mut cli = Cli {
        mode: Mode::Convert,
        format: "crm".into(),
        opts: convert::Options {
            provider: "ocfrs".into(),
            rename: BTreeMap::new(),
            map: BTreeMap::new(),
        },
        strict: false,
        quiet: false,
        input: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => cli.mode = Mode::Help,
            "--man" => cli.mode = Mode::Man,
            "-V" | "--version" => cli.mode = Mode::Version,
            "--strict" => cli.strict = true,
            "-q" | "--quiet" => cli.quiet = true,
            "-f" | "--format" => {
                let v = value("--format")?;
                if !matches!(v.as_str(), "crm" | "pcs") {
                    return Err(format!("--format {v}: expected crm or pcs"));
                }
                cli.format = v;
            }
            "--provider" => {
                let v = value("--provider")?;
                if v.is_empty()
                    || !v
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(format!("--provider {v:?}: not a provider name"));
                }
                cli.opts.provider = v;
            }
            "--rename-node" => {
                let v = value("--rename-node")?;
                let (o, n) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--rename-node {v}: expected OLD=NEW"))?;
                cli.opts.rename.insert(o.to_string(), n.to_string());
            }
            "--map" => {
                let v = value("--map")?;
                let (r, agent) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--map {v}: expected RESOURCE=AGENT"))?;
                let parts: Vec<&str> = agent.split(':').collect();
                let ok_part = |s: &str| {
                    !s.is_empty()
                        && s.chars().all(|c| {
                            c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@')
                        })
                };
                let valid = match parts.as_slice() {
                    ["ocf", p, t] => ok_part(p) && ok_part(t),
                    [c, t] => matches!(*c, "lsb" | "systemd" | "service") && ok_part(t),
                    _ => false,
                };
                if !valid {
                    return Err(format!(
                        "--map {v}: AGENT must be ocf:PROVIDER:TYPE, lsb:NAME or systemd:NAME"
                    ));
                }
                cli.opts.map.insert(r.to_string(), agent.to_string());
            }
            "-" => cli.input = Some("-".into()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            s => {
                if cli.input.is_some() {
                    return Err("one input file at most".into());
                }
                cli.input = Some(s.to_string());
            }
        }
    }
    Ok(cli)
}

/// Read the input, bounded: at most [`xml::MAX_INPUT`] + 1 bytes are read.
fn read_input(path: &str, stdin: &mut dyn Read) -> Result<Vec<u8>, String> {
    let limit = xml::MAX_INPUT as u64 + 1;
    let mut buf = Vec::new();
    if path == "-" {
        stdin
            .take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| format!("standard input: {e}"))?;
    } else {
        let f = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
        let meta = f.metadata().map_err(|e| format!("{path}: {e}"))?;
        if meta.is_dir() {
            return Err(format!("{path}: is a directory"));
        }
        f.take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(buf)
}

/// The whole command: arguments, stdin → exit code, stdout, stderr. stdout stays empty
/// unless the conversion succeeded.
fn run(args: &[String], stdin: &mut dyn Read) -> (u8, String, String) {
    let cli = match parse_args(args) {
        Ok(c) => c,
        Err(e) => {
            return (
                USAGE,
                String::new(),
                format!("ocfrs-import-rgmanager: {e}\n{USAGE_TEXT}\n"),
            )
        }
    };
    match cli.mode {
        Mode::Help => {
            return (
                OK,
                format!("{USAGE_TEXT}\n\n{}", man::SUMMARY),
                String::new(),
            )
        }
        Mode::Man => return (OK, man::page(), String::new()),
        Mode::Version => {
            return (
                OK,
                format!("ocfrs-import-rgmanager {}\n", env!("CARGO_PKG_VERSION")),
                String::new(),
            )
        }
        Mode::Convert => {}
    }
    let Some(input) = cli.input.clone() else {
        return (
            USAGE,
            String::new(),
            format!("ocfrs-import-rgmanager: no input file (give a cluster.conf or - for standard input)\n{USAGE_TEXT}\n"),
        );
    };
    let fail = |msg: String| {
        (
            BAD_INPUT,
            String::new(),
            format!("ocfrs-import-rgmanager: {msg}\n"),
        )
    };
    let bytes = match read_input(&input, stdin) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let shown = if input == "-" {
        "standard input"
    } else {
        input.as_str()
    };
    let root = match xml::parse(&bytes) {
        Ok(r) => r,
        Err(e) => return fail(format!("{shown}: {e}; nothing converted")),
    };
    let rm = match model::read(&root) {
        Ok(r) => r,
        Err(e) => return fail(format!("{shown}: {e}; nothing converted")),
    };
    let p = match convert::convert(&rm, &cli.opts) {
        Ok(p) => p,
        Err(e) => return fail(format!("{shown}: {e}; nothing converted")),
    };
    let out = if cli.format == "pcs" {
        emit::pcs(&p)
    } else {
        emit::crm(&p)
    };
    let mut err = String::new();
    if !cli.quiet {
        err.push_str(&format!(
            "ocfrs-import-rgmanager: {} services → {} resources, {} groups, {} constraints; {} \
             constructs not mapped{}\n",
            rm.services.len(),
            p.prims.len(),
            p.groups.len(),
            p.constraints.len(),
            p.not_mapped.len(),
            if p.not_mapped.is_empty() {
                String::new()
            } else {
                " (see the \"# NOT MAPPED\" lines)".to_string()
            }
        ));
        for n in &p.not_mapped {
            err.push_str(&format!("  not mapped: {n}\n"));
        }
    }
    let code = if cli.strict && !p.not_mapped.is_empty() {
        INCOMPLETE
    } else {
        OK
    };
    (code, out, err)
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (code, out, err) = run(&args, &mut std::io::stdin().lock());
    // A closed stdout (e.g. `| head`) is not worth a panic.
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    let _ = std::io::stderr().lock().write_all(err.as_bytes());
    std::process::ExitCode::from(code)
}

#[cfg(test)]
mod tests;
