//! Documentation rendered from the declaration: man pages (`ocf_ocfrs_<Agent>.7`), example
//! crm and pcs configurations ([`example_config`]) and the checked-in meta-data tree
//! (`metadata/`; `metadata/man/` holds the man pages, checked for staleness like the XML).
//!
//! Layout written by [`write_metadata_dir`]: `<dir>/<Agent>.xml` (OCF 1.0 flavour, what
//! validators see by default), `<dir>/ocf-1.1/<Agent>.xml` and `<dir>/rgmanager/<Agent>.xml`.

use crate::meta::{Agent, ParamType};
use crate::metadata::{render, Flavour};
use std::fmt::Write as _;
use std::path::Path;

/// The meta-data files for `agent`: (relative path, contents).
pub fn metadata_files(agent: &Agent) -> Vec<(String, String)> {
    vec![
        (format!("{}.xml", agent.name), render(agent, Flavour::Ocf10)),
        (
            format!("ocf-1.1/{}.xml", agent.name),
            render(agent, Flavour::Ocf11),
        ),
        (
            format!("rgmanager/{}.xml", agent.name),
            render(agent, Flavour::Rgmanager),
        ),
    ]
}

/// Write every agent's meta-data files under `dir`.
///
/// # Errors
/// I/O errors.
pub fn write_metadata_dir(agents: &[&Agent], dir: &Path) -> std::io::Result<()> {
    for a in agents {
        for (rel, text) in metadata_files(a) {
            let p = dir.join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(p, text)?;
        }
    }
    Ok(())
}

/// Write every agent's man page under `dir`.
///
/// # Errors
/// I/O errors.
pub fn write_man_dir(agents: &[&Agent], dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for a in agents {
        std::fs::write(
            dir.join(format!("ocf_ocfrs_{}.7", a.name)),
            man_page(a, "ocfrs"),
        )?;
    }
    Ok(())
}

fn roff(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let l = line.replace('\\', "\\e");
        let l = if l.starts_with('.') || l.starts_with('\'') {
            format!("\\&{l}")
        } else {
            l
        };
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// A man page (section 7) for `agent` installed under `provider`.
pub fn man_page(agent: &Agent, provider: &str) -> String {
    let mut s = String::new();
    let name = agent.name;
    let _ = writeln!(
        s,
        ".TH OCF_{}_{} 7 \"\" \"ocfrs {}\" \"OCF resource agents\"",
        provider.to_uppercase(),
        name.to_uppercase(),
        agent.version
    );
    let _ = writeln!(
        s,
        ".SH NAME\nocf_{provider}_{name} \\- {}",
        roff(agent.shortdesc).trim()
    );
    let _ = writeln!(s, ".SH SYNOPSIS\n.B {name}\n[{}]", {
        let mut v: Vec<&str> = agent.all_actions().iter().map(|a| a.name).collect();
        v.dedup();
        v.join(" | ")
    });
    let _ = writeln!(s, ".SH DESCRIPTION\n{}", roff(agent.longdesc));
    let _ = writeln!(s, ".SH PARAMETERS");
    let mut params: Vec<_> = agent.params.iter().collect();
    params.sort_by_key(|p| (p.deprecated.is_some(), p.advanced));
    for p in params {
        let mut tags = vec![p.type_name().to_string()];
        if p.required {
            tags.push("required".into());
        }
        if p.unique {
            tags.push("unique".into());
        }
        if let Some(g) = p.unique_group {
            tags.push(format!("unique group {g}"));
        }
        if p.reloadable {
            tags.push("reloadable".into());
        }
        if p.advanced {
            tags.push("advanced".into());
        }
        if let Some(d) = p.deprecated {
            tags.push(match d.replaced_with {
                Some(r) => format!("deprecated, use {r}"),
                None => "deprecated".into(),
            });
        }
        if let Some(d) = p.default {
            tags.push(format!("default \"{d}\""));
        }
        let _ = writeln!(
            s,
            ".TP\n\\fB{}\\fR ({})\n{}",
            p.name,
            roff(&tags.join(", ")).trim(),
            roff(p.shortdesc).trim()
        );
        if !p.longdesc.is_empty() {
            let _ = write!(s, ".br\n{}", roff(p.longdesc));
        }
        if let ParamType::Select(opts) = p.kind {
            let _ = writeln!(s, ".br\nAllowed values: {}.", opts.join(", "));
        }
    }
    let _ = writeln!(s, ".SH ACTIONS");
    for a in agent.all_actions() {
        let mut parts = vec![format!("timeout {}s", a.timeout)];
        if let Some(i) = a.interval {
            parts.push(format!("interval {i}s"));
        }
        if let Some(d) = a.depth {
            parts.push(format!("depth {d}"));
        }
        if let Some(r) = a.role {
            parts.push(format!("role {}", r.as_str()));
        }
        let _ = writeln!(s, ".TP\n\\fB{}\\fR\n{}", a.name, parts.join(", "));
    }
    let (crm, pcs) = example_config(agent, provider);
    let _ = writeln!(
        s,
        ".SH EXAMPLE CONFIGURATION\nWith crmsh:\n.PP\n.nf\n{}.fi\n.PP\nWith pcs:\n.PP\n.nf\n{}.fi",
        roff(&crm),
        roff(&pcs)
    );
    if !agent.examples.is_empty() {
        let _ = writeln!(s, ".SH EXAMPLES");
        for e in agent.examples {
            let _ = writeln!(s, ".PP\n.nf\n{}.fi", roff(e));
        }
    }
    let _ = writeln!(
        s,
        ".SH SEE ALSO\n.BR ocfrs-tester (8),\n.BR crm_resource (8)"
    );
    s
}

/// An example configuration of `agent` for crmsh and for pcs, from the declaration: every
/// required parameter (its value taken from the declaration's examples when one shows it,
/// else a `<name>` placeholder), the declared start/stop timeouts and monitors (with their
/// roles and depths), and a promotable clone when the agent promotes.
pub fn example_config(agent: &Agent, provider: &str) -> (String, String) {
    let id = format!("{}-1", agent.name.to_ascii_lowercase());
    let example_value = |name: &str| {
        agent
            .examples
            .iter()
            .flat_map(|e| e.split_whitespace())
            .find_map(|t| t.strip_prefix(name)?.strip_prefix('=').map(str::to_string))
    };
    let params: Vec<String> = agent
        .params
        .iter()
        .filter(|p| p.required && p.deprecated.is_none())
        .map(|p| {
            let v = example_value(p.name).unwrap_or_else(|| format!("<{}>", p.name));
            format!("{}={v}", p.name)
        })
        .collect();
    let mut ops = Vec::new();
    for a in agent.all_actions() {
        let mut op = match (a.name, a.interval) {
            ("start" | "stop" | "promote" | "demote", _) => {
                format!("op {} timeout={}s", a.name, a.timeout)
            }
            ("monitor", Some(i)) => format!("op monitor interval={i}s timeout={}s", a.timeout),
            _ => continue,
        };
        if let Some(r) = a.role {
            let _ = write!(op, " role={}", r.as_str());
        }
        if let Some(d) = a.depth.filter(|d| *d > 0) {
            let _ = write!(op, " OCF_CHECK_LEVEL={d}");
        }
        ops.push(op);
    }
    let promotable = agent.advertises("promote");
    let agent_id = format!("ocf:{provider}:{}", agent.name);
    let mut crm = format!("crm configure primitive {id} {agent_id}");
    if !params.is_empty() {
        let _ = write!(crm, " \\\n    params {}", params.join(" "));
    }
    for o in &ops {
        let _ = write!(crm, " \\\n    {o}");
    }
    crm.push('\n');
    if promotable {
        let _ = writeln!(
            crm,
            "crm configure clone {id}-clone {id} meta promotable=true notify=true"
        );
    }
    let mut pcs = format!("pcs resource create {id} {agent_id}");
    if !params.is_empty() {
        let _ = write!(pcs, " {}", params.join(" "));
    }
    // pcs takes one `op` keyword followed by every operation.
    for (i, o) in ops.iter().enumerate() {
        let o = if i == 0 { o.as_str() } else { &o[3..] };
        let _ = write!(pcs, " \\\n    {o}");
    }
    if promotable {
        pcs.push_str(" \\\n    promotable notify=true");
    }
    pcs.push('\n');
    (crm, pcs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{Action, Param};

    const A: Agent = Agent::new("Man", "1.1")
        .short("A test")
        .long(".dangerous line\nback\\slash")
        .params(&[
            Param::select("m", &["a", "b"]).default("a").short("mode"),
            Param::string("old").deprecated_by("m", ""),
        ])
        .actions(&[Action::start(20), Action::monitor(20, 10)])
        .examples(&["pcs resource create x ocf:ocfrs:Man m=b"]);

    #[test]
    fn man_page_is_roff_safe() {
        let m = man_page(&A, "ocfrs");
        assert!(m.starts_with(".TH OCF_OCFRS_MAN 7"));
        assert!(m.contains("\\&.dangerous line"));
        assert!(m.contains("back\\eslash"));
        assert!(m.contains("Allowed values: a, b."));
        assert!(m.contains("deprecated, use m"));
        assert!(m.contains("pcs resource create x"));
        assert!(m.contains(".SH EXAMPLE CONFIGURATION"));
        let (crm, pcs) = example_config(&A, "ocfrs");
        assert_eq!(
            crm,
            "crm configure primitive man-1 ocf:ocfrs:Man \\\n    op start timeout=20s \\\n    op monitor interval=10s timeout=20s\n"
        );
        assert_eq!(
            pcs,
            "pcs resource create man-1 ocf:ocfrs:Man \\\n    op start timeout=20s \\\n    monitor interval=10s timeout=20s\n"
        );
        let files = metadata_files(&A);
        assert_eq!(files.len(), 3);
        assert_eq!(files[1].0, "ocf-1.1/Man.xml");
    }
}
