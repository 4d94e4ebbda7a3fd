//! `ocfrs-switch-check`: which of a cluster's resources can move from `ocf:heartbeat:<Type>`
//! (and `ocf:pacemaker:Dummy`/`Stateful`) to `ocf:ocfrs:<Type>`, and what would change.
//!
//! It lives in the agents package because it is about *these* agents: it reads their
//! declarations ([`ocfrs_agents::AGENTS`]) and runs their `validate-all`; the tester, which
//! validates any agent, stays independent of ours.
//!
//! For each primitive whose type ocfrs provides it checks, without touching anything:
//! * every instance attribute against our declaration (unknown names, deprecated names and
//!   what they map to);
//! * operations our agent does not advertise, monitor depths it rounds down, a promotable
//!   clone of an agent without promote;
//! * our `validate-all` with exactly the primitive's attributes and the meta attributes
//!   Pacemaker would pass (clone numbers included), at check level 0 (configuration only;
//!   `--host-checks` adds this host's checks), run as `nobody` when started as root, with a
//!   deadline. Exit 6 is a refusal (not supported); warnings become changes.
//!
//! Verdicts: `ready` (switch by changing the provider), `changes` (switch after the changes
//! listed; `--commands` includes them when each has a fix: a deprecated name renamed, a typo
//! removed, a default pinned), `unsupported`. Exit status: 0 when every checked resource is ready, 1 when one
//! is not, 2 when the configuration cannot be read.

mod cib;
// The importer's bounded, entity-free XML reader: one parser for both tools of this package.
#[allow(dead_code)]
#[path = "../ocfrs-import-rgmanager/xml.rs"]
mod xml;

use cib::Primitive;
use ocf::process::{Cmd, Output};
use ocf::{Agent, Deadline};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: ocfrs-switch-check [--cib FILE|-] [--host-checks] [--commands crm|pcs|cibadmin]
                          [--agents PATH] [--provider NAME] [--quiet] [--json]
       ocfrs-switch-check --man

Reads the cluster configuration (`cibadmin -Q`, or FILE; - is stdin) and reports, for every
ocf:heartbeat:<Type> (and ocf:pacemaker:Dummy/Stateful) primitive whose type ocfrs provides,
whether it can switch to ocf:ocfrs:<Type>: ready, changes (listed), or unsupported.
Nothing is changed: validate-all runs at check level 0, as nobody when run as root.

  --cib FILE          read FILE instead of running `cibadmin -Q`
  --host-checks       also run this host's checks (check level 10): use on a cluster node
  --commands TOOL     print the commands that switch, without a restart, the ready resources
                      and those whose every change has a fix (unmanage, fix parameters,
                      change the provider, re-probe, manage); never runs them
  --agents PATH       the ocfrs multicall binary (default: /usr/lib/ocfrs/ocfrs-agents, or
                      ocfrs-agents next to this program)
  --provider NAME     our provider name in the printed commands (default ocfrs)
  --quiet             only the verdict lines
  --json              one JSON document: resources (id, agent, target, verdict, findings,
                      commands), counts, and the ocf resources ocfrs has no agent for

Exit status: 0 every checked resource is ready, 1 some are not, 2 usage or unreadable CIB.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    Ready,
    Changes,
    Unsupported,
}

impl Verdict {
    fn text(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::Changes => "changes",
            Verdict::Unsupported => "unsupported",
        }
    }
}

struct Finding {
    verdict: Verdict,
    text: String,
    /// The parameter changes that settle it (`None`: the admin must decide).
    fix: Option<Vec<Fix>>,
}

/// One change to a primitive's instance attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fix {
    Set(String, String),
    Delete(String),
}

struct Opts {
    cib: Option<String>,
    host_checks: bool,
    commands: Option<String>,
    agents: Option<PathBuf>,
    provider: String,
    quiet: bool,
    json: bool,
}

fn parse_args(args: &[String]) -> Result<Option<Opts>, String> {
    let mut o = Opts {
        cib: None,
        host_checks: false,
        commands: None,
        agents: None,
        provider: "ocfrs".into(),
        quiet: false,
        json: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--cib" => o.cib = Some(value("--cib")?),
            "--host-checks" => o.host_checks = true,
            "--commands" => {
                let t = value("--commands")?;
                if !["crm", "pcs", "cibadmin"].contains(&t.as_str()) {
                    return Err(format!("--commands: {t}: use crm, pcs or cibadmin"));
                }
                o.commands = Some(t);
            }
            "--agents" => o.agents = Some(PathBuf::from(value("--agents")?)),
            "--provider" => o.provider = value("--provider")?,
            "--quiet" | "-q" => o.quiet = true,
            "--json" => o.json = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            "--man" => {
                print!("{}", man_page());
                return Ok(None);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Some(o))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match parse_args(&args) {
        Ok(Some(o)) => o,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ocfrs-switch-check: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let xml = match read_cib(opts.cib.as_deref()) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("ocfrs-switch-check: {e}");
            return ExitCode::from(2);
        }
    };
    let prims = match cib::primitives(&xml) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("ocfrs-switch-check: cannot read the configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let agents = opts.agents.clone().unwrap_or_else(default_agents_bin);
    let nodes = cib::node_count(&xml);
    let mut results = Vec::new();
    let mut others = Vec::new();
    for p in &prims {
        let Some(agent) = switchable(p) else {
            if p.class == "ocf" && p.provider != opts.provider {
                others.push(format!("{} ({})", p.id, p.agent()));
            }
            continue;
        };
        let theirs = their_params(p);
        let findings = check(
            p,
            agent,
            &agents,
            nodes,
            opts.host_checks,
            theirs.as_deref(),
        );
        let verdict = findings
            .iter()
            .map(|f| f.verdict)
            .max()
            .unwrap_or(Verdict::Ready);
        results.push((p, verdict, findings));
    }
    let count = |v: Verdict| results.iter().filter(|r| r.1 == v).count();
    let (ready, changes, unsupported) = (
        count(Verdict::Ready),
        count(Verdict::Changes),
        count(Verdict::Unsupported),
    );
    // Ready resources switch as they are; those whose every change has a known fix switch
    // after it; the rest need the admin's decision first.
    let fixes = |v: Verdict, f: &[Finding]| -> Option<Vec<Fix>> {
        match v {
            Verdict::Ready => Some(Vec::new()),
            Verdict::Changes => f.iter().try_fold(Vec::new(), |mut all, x| {
                all.extend(x.fix.clone()?);
                Some(all)
            }),
            Verdict::Unsupported => None,
        }
    };
    let commands = |p: &Primitive, v: Verdict, f: &[Finding]| match (&opts.commands, fixes(v, f)) {
        (Some(tool), Some(fx)) => switch_commands(tool, &p.id, &opts.provider, &fx),
        _ => Vec::new(),
    };
    let mut out = std::io::stdout().lock();
    if opts.json {
        let list = |v: &[String]| v.iter().map(|x| json_str(x)).collect::<Vec<_>>().join(",");
        let rows: Vec<String> = results
            .iter()
            .map(|(p, v, f)| {
                let found: Vec<String> = f
                    .iter()
                    .map(|x| {
                        format!("{{\"verdict\":\"{}\",\"text\":{}}}", x.verdict.text(), json_str(&x.text))
                    })
                    .collect();
                let cmds = commands(p, *v, f);
                format!(
                    "{{\"id\":{},\"agent\":{},\"target\":{},\"verdict\":\"{}\",\"findings\":[{}],\"commands\":[{}]}}",
                    json_str(&p.id),
                    json_str(&p.agent()),
                    json_str(&format!("ocf:{}:{}", opts.provider, p.kind)),
                    v.text(),
                    found.join(","),
                    list(&cmds)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "{{\"resources\":[{}],\"ready\":{ready},\"changes\":{changes},\"unsupported\":{unsupported},\"no_ocfrs_agent\":[{}]}}",
            rows.join(","),
            list(&others)
        );
    } else {
        for (p, v, f) in &results {
            let target = format!("ocf:{}:{}", opts.provider, p.kind);
            let _ = writeln!(out, "{:<12} {} ({} -> {target})", v.text(), p.id, p.agent());
            if !opts.quiet {
                for x in f {
                    let _ = writeln!(out, "    - {}: {}", x.verdict.text(), x.text);
                }
            }
        }
        let _ = writeln!(
            out,
            "{} resource(s) checked: {ready} ready, {changes} with changes, {unsupported} unsupported",
            results.len()
        );
        if !others.is_empty() && !opts.quiet {
            let _ = writeln!(out, "no ocfrs agent for: {}", others.join(", "));
        }
        if opts.commands.is_some() {
            let _ = writeln!(
                out,
                "\n# switch the ready resources, and those whose changes have a fix, without a \
                 restart (review, then run):"
            );
            for (p, v, f) in &results {
                let cmds = commands(p, *v, f);
                if *v == Verdict::Changes && !cmds.is_empty() {
                    let _ = writeln!(out, "# {}: with the changes listed above", p.id);
                }
                for c in cmds {
                    let _ = writeln!(out, "{c}");
                }
            }
        }
    }
    if ready == results.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn read_cib(path: Option<&str>) -> Result<String, String> {
    match path {
        Some("-") => std::io::read_to_string(std::io::stdin()).map_err(|e| format!("stdin: {e}")),
        Some(p) => std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}")),
        None => {
            let o = Cmd::new("cibadmin")
                .args(["--query", "--local"])
                .run(Deadline::after(Duration::from_secs(30)))
                .map_err(|e| format!("cibadmin --query: {}", e.reason()))?;
            if !o.success() {
                return Err(format!(
                    "cibadmin --query failed (is this a cluster node?): {}",
                    o.one_line()
                ));
            }
            Ok(o.stdout_text())
        }
    }
}

fn default_agents_bin() -> PathBuf {
    let installed = PathBuf::from("/usr/lib/ocfrs/ocfrs-agents");
    if installed.exists() {
        return installed;
    }
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("ocfrs-agents")))
        .filter(|p| p.exists())
        .unwrap_or(installed)
}

/// Our declaration for `p`, when it is a resource-agents type we provide.
fn switchable(p: &Primitive) -> Option<&'static Agent> {
    let ours = p.class == "ocf"
        && (p.provider == "heartbeat"
            || (p.provider == "pacemaker" && ["Dummy", "Stateful"].contains(&p.kind.as_str())));
    if !ours {
        return None;
    }
    ocfrs_agents::AGENTS
        .iter()
        .find(|e| e.meta.name == p.kind)
        .map(|e| e.meta)
}

fn finding(verdict: Verdict, text: impl Into<String>) -> Finding {
    Finding {
        verdict,
        text: text.into(),
        fix: None,
    }
}

fn fixed(text: impl Into<String>, fix: Vec<Fix>) -> Finding {
    Finding {
        verdict: Verdict::Changes,
        text: text.into(),
        fix: Some(fix),
    }
}

fn check(
    p: &Primitive,
    agent: &'static Agent,
    agents_bin: &Path,
    nodes: usize,
    host_checks: bool,
    theirs: Option<&[(String, Option<String>)]>,
) -> Vec<Finding> {
    let mut f = Vec::new();
    for n in &p.notes {
        f.push(finding(Verdict::Changes, n.clone()));
    }
    for (name, value) in &p.params {
        match agent.params.iter().find(|d| d.name == name) {
            None => {
                let typo = theirs.is_some_and(|t| !t.iter().any(|(n, _)| n == name));
                let whose = match theirs {
                    Some(t) if t.iter().any(|(n, _)| n == name) => format!(
                        "{}'s {} has it, ocfrs's has not and ignores it",
                        p.provider, p.kind
                    ),
                    Some(_) => format!(
                        "neither {}'s nor ocfrs's {} knows it (a typo?)",
                        p.provider, p.kind
                    ),
                    None => format!("ocfrs's {} has no such parameter and ignores it", p.kind),
                };
                let text = format!(
                    "parameter {name}: {whose}; remove it or see `man ocf_ocfrs_{}`",
                    agent.name
                );
                f.push(if typo {
                    fixed(text, vec![Fix::Delete(name.clone())])
                } else {
                    finding(Verdict::Changes, text)
                });
            }
            Some(d) => {
                if let Some(dep) = d.deprecated {
                    let how = match dep.replaced_with {
                        Some(r) => format!("ocfrs maps it to {r}; rename it to {r}"),
                        None => "ocfrs accepts it but ignores or replaces it".into(),
                    };
                    let why = if dep.desc.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", dep.desc)
                    };
                    let text = format!("parameter {name} is deprecated{why}: {how}");
                    f.push(match dep.replaced_with {
                        Some(r) if p.params.iter().any(|(k, _)| k == r) => {
                            fixed(text, vec![Fix::Delete(name.clone())])
                        }
                        Some(r) => fixed(
                            text,
                            vec![
                                Fix::Set(r.to_string(), value.clone()),
                                Fix::Delete(name.clone()),
                            ],
                        ),
                        None => finding(Verdict::Changes, text),
                    });
                }
            }
        }
    }
    // A default the current agent has and ours does not share changes what an unset
    // parameter means (Dummy's state file, for one: our probe would not find the running
    // instance).
    for (name, default) in theirs.unwrap_or_default() {
        let Some(def) = default.as_deref().filter(|d| !d.is_empty()) else {
            continue;
        };
        let Some(ours) = agent.params.iter().find(|d| d.name == name) else {
            continue;
        };
        let set = p.params.iter().any(|(k, _)| {
            k == name
                || agent.params.iter().any(|d| {
                    d.name == k && d.deprecated.and_then(|x| x.replaced_with) == Some(name)
                })
        });
        if !set && ours.default != Some(def) {
            let keep = def.replace("RESOURCE_ID", &p.id);
            f.push(fixed(
                format!(
                    "parameter {name} is not set: {}'s {} defaults to '{def}', ocfrs's to {}; \
                     set {name}={keep} to keep today's behaviour",
                    p.provider,
                    p.kind,
                    ours.default.map_or_else(
                        || "a computed value (see its man page)".to_string(),
                        |d| format!("'{d}'")
                    )
                ),
                vec![Fix::Set(name.clone(), keep)],
            ));
        }
    }
    for (op, depth) in &p.ops {
        if !agent.advertises(op) && !["monitor", "start", "stop"].contains(&op.as_str()) {
            f.push(finding(
                Verdict::Changes,
                format!(
                    "operation {op}: ocfrs's {} does not implement it",
                    agent.name
                ),
            ));
        }
        if let Some(d) = depth.as_deref().and_then(|d| d.parse::<u8>().ok()) {
            let supported = agent
                .all_actions()
                .iter()
                .any(|a| a.name == "monitor" && a.depth.unwrap_or(0) == d);
            if d != 0 && !supported {
                f.push(finding(
                    Verdict::Changes,
                    format!(
                        "monitor OCF_CHECK_LEVEL={d}: not a depth ocfrs's {} declares; it runs \
                         the next lower one",
                        agent.name
                    ),
                ));
            }
        }
    }
    let promotable = p
        .meta_value("promotable")
        .is_some_and(|v| ocf::params::parse_bool(v) == Some(true));
    if promotable && !agent.advertises("promote") {
        f.push(finding(
            Verdict::Unsupported,
            format!(
                "a promotable clone, but ocfrs's {} has no promote action",
                agent.name
            ),
        ));
    }
    f.extend(validate(p, agent, agents_bin, nodes, host_checks));
    f
}

/// The parameter names and defaults of the agent the primitive uses today
/// (`/usr/lib/ocf/resource.d/<provider>/<type> meta-data`), when it is installed here; `None`
/// when it is not.
fn their_params(p: &Primitive) -> Option<Vec<(String, Option<String>)>> {
    let ocf_root = "/usr/lib/ocf";
    let path = Path::new(ocf_root)
        .join("resource.d")
        .join(&p.provider)
        .join(&p.kind);
    if !path.is_file() {
        return None;
    }
    let out = Cmd::new(&path)
        .arg("meta-data")
        .env_clear()
        .env("OCF_ROOT", ocf_root)
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .run(Deadline::after(Duration::from_secs(10)))
        .ok()
        .filter(Output::success)?;
    // Shell agents print a DOCTYPE naming ra-api-1.dtd (no internal subset); the reader
    // refuses DOCTYPEs, so that line is dropped first.
    let text = out.stdout_text();
    let text: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("<!DOCTYPE") || l.contains('['))
        .collect::<Vec<_>>()
        .join("\n");
    let root = xml::parse(text.as_bytes()).ok()?;
    let params = root
        .children_named("parameters")
        .flat_map(|ps| ps.children_named("parameter"));
    Some(
        params
            .filter_map(|p| {
                let default = p
                    .children_named("content")
                    .next()
                    .and_then(|c| c.get("default"))
                    .map(str::to_string);
                Some((p.get("name")?.to_string(), default))
            })
            .collect(),
    )
}

fn validate(
    p: &Primitive,
    agent: &Agent,
    agents_bin: &Path,
    nodes: usize,
    host_checks: bool,
) -> Vec<Finding> {
    let mut cmd = Cmd::new(agents_bin)
        .arg(agent.name)
        .arg("validate-all")
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("OCF_ROOT", "/usr/lib/ocf")
        .env("OCF_RA_VERSION_MAJOR", "1")
        .env("OCF_RA_VERSION_MINOR", "1")
        .env("OCF_RESOURCE_INSTANCE", &p.id)
        .env("OCF_RESOURCE_TYPE", agent.name)
        .env("OCF_RESOURCE_PROVIDER", "ocfrs")
        .env("OCF_CHECK_LEVEL", if host_checks { "10" } else { "0" })
        .env("OCF_RESKEY_CRM_meta_timeout", "20000")
        .env("HA_LOGTAG", "validate-all")
        .cwd("/");
    for (k, v) in &p.params {
        cmd = cmd.env(format!("OCF_RESKEY_{k}"), v);
    }
    let has = |k: &str| p.meta_value(k).is_some();
    if p.cloned {
        let max = if nodes > 1 { nodes } else { 2 };
        if !has("clone-max") {
            cmd = cmd.env("OCF_RESKEY_CRM_meta_clone_max", max.to_string());
        }
        if !has("clone-node-max") {
            cmd = cmd.env("OCF_RESKEY_CRM_meta_clone_node_max", "1");
        }
        if !has("globally-unique") {
            cmd = cmd.env("OCF_RESKEY_CRM_meta_globally_unique", "false");
        }
        cmd = cmd.env("OCF_RESKEY_CRM_meta_clone", "0");
    }
    for (k, v) in &p.meta {
        cmd = cmd.env(format!("OCF_RESKEY_CRM_meta_{}", k.replace('-', "_")), v);
    }
    // Configuration checks need no rights; as nobody they cannot change anything root owns,
    // even if an agent's check had a side effect.
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } == 0 {
        cmd = cmd.user(65534, 65534);
    }
    let out = match cmd.run(Deadline::after(Duration::from_secs(20))) {
        Ok(o) => o,
        Err(e) => {
            return vec![finding(
                Verdict::Unsupported,
                format!(
                    "could not run {} validate-all: {}",
                    agents_bin.display(),
                    e.reason()
                ),
            )]
        }
    };
    let stderr = out.stderr_text();
    let reason = stderr
        .lines()
        .find_map(|l| l.strip_prefix("ocf-exit-reason:"))
        .unwrap_or("")
        .to_string();
    let mut f = Vec::new();
    for l in stderr.lines() {
        if let Some(w) = l.strip_prefix("validate-all: WARNING: ") {
            // Unknown and deprecated names are already reported from the declaration.
            if !w.starts_with("ignoring unknown parameter") && !w.contains("is deprecated") {
                f.push(finding(Verdict::Changes, format!("validate-all: {w}")));
            }
        }
    }
    match out.code {
        Some(0) => {}
        Some(6) => f.push(finding(
            Verdict::Unsupported,
            format!("validate-all refuses it (exit 6): {reason}"),
        )),
        Some(rc @ (2 | 5)) => f.push(finding(
            Verdict::Changes,
            format!("validate-all on this host (exit {rc}): {reason}"),
        )),
        code => f.push(finding(
            Verdict::Unsupported,
            format!(
                "validate-all exited {}: {reason}",
                code.map_or_else(|| "on a signal".to_string(), |c| c.to_string())
            ),
        )),
    }
    f
}

/// The commands that switch `id` without a restart: Pacemaker restarts a resource whose
/// agent changed while it manages it, so the resource is unmanaged first, its history
/// refreshed (the probe with our agent finds it running), then managed again. Parameter
/// fixes run while it is unmanaged, with `crm_resource` whatever the shell: the refresh
/// after them makes the probe's parameters the new baseline.
fn switch_commands(tool: &str, id: &str, provider: &str, fixes: &[Fix]) -> Vec<String> {
    let modify =
        format!("cibadmin --modify --xml-text '<primitive id=\"{id}\" provider=\"{provider}\"/>'");
    let mut v = switch_steps(tool, id, modify);
    let fix_lines = fixes.iter().map(|f| match f {
        Fix::Set(k, val) => format!(
            "crm_resource --resource {id} --set-parameter {k} --parameter-value {}",
            shq(val)
        ),
        Fix::Delete(k) => format!("crm_resource --resource {id} --delete-parameter {k}"),
    });
    v.splice(1..1, fix_lines);
    v
}

/// A word for sh: as is when plain, else in single quotes.
fn shq(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=@%+,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn switch_steps(tool: &str, id: &str, modify: String) -> Vec<String> {
    match tool {
        "crm" => vec![
            format!("crm resource unmanage {id}"),
            modify,
            format!("crm resource refresh {id}"),
            "crm_resource --wait".into(),
            format!("crm resource manage {id}"),
        ],
        "pcs" => vec![
            format!("pcs resource unmanage {id}"),
            modify,
            format!("pcs resource refresh {id}"),
            "crm_resource --wait".into(),
            format!("pcs resource manage {id}"),
        ],
        _ => vec![
            format!(
                "crm_resource --resource {id} --meta --set-parameter is-managed --parameter-value false"
            ),
            modify,
            format!("crm_resource --refresh --resource {id}"),
            "crm_resource --wait".into(),
            format!("crm_resource --resource {id} --meta --delete-parameter is-managed"),
        ],
    }
}

fn man_page() -> String {
    let body = USAGE
        .lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.replace('\\', "\\e")
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        ".TH OCFRS-SWITCH-CHECK 8 \"\" \"ocfrs {}\" \"System Administration\"\n\
         .SH NAME\nocfrs-switch-check \\- which cluster resources can switch to the ocfrs agents\n\
         .SH SYNOPSIS\n.nf\n{body}\n.fi\n\
         .SH AGENTS\n{}\n\
         .SH SEE ALSO\n.BR ocfrs-tester (8),\n.BR cibadmin (8),\n.BR crm_resource (8)\n",
        env!("CARGO_PKG_VERSION"),
        ocfrs_agents::AGENTS
            .iter()
            .map(|e| e.meta.name)
            .collect::<Vec<_>>()
            .join(", ")
    )
}
