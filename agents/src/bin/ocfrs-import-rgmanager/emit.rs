//! The converted configuration as crm shell input (`crm configure load update FILE`) or as
//! a pcs script working on a CIB copy (`pcs cluster cib` … `pcs cluster cib-push`), so that
//! either is applied in one step.

use crate::agents::{Op, Prim};
use crate::convert::{Constraint, Pcmk};
use std::fmt::Write as _;

fn safe(v: &str) -> bool {
    !v.is_empty()
        && v.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '.' | '/' | ':' | '@' | '%' | '+' | ',' | '-')
        })
}

/// A crm shell value: bare when safe, else double-quoted with `\` and `"` escaped.
fn crm_q(v: &str) -> String {
    if safe(v) {
        v.to_string()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// A POSIX shell word: bare when safe, else single-quoted.
fn sh_q(v: &str) -> String {
    if !v.is_empty() && v.split('=').all(|p| p.is_empty() || safe(p)) {
        v.to_string()
    } else {
        format!("'{}'", v.replace('\'', "'\\''"))
    }
}

/// crmsh keeps comments as XML comments in the CIB, which may not contain `--` nor end
/// with `-`.
fn comment_text(s: &str) -> String {
    let mut t = s.to_string();
    while t.contains("--") {
        t = t.replace("--", "- -");
    }
    if t.ends_with('-') {
        t.push('.');
    }
    t
}

fn comments(p: &Pcmk, out: &mut String) {
    for n in &p.not_mapped {
        let _ = writeln!(out, "# NOT MAPPED: {}", comment_text(n));
    }
    for i in &p.info {
        let _ = writeln!(out, "# mapped: {}", comment_text(i));
    }
}

fn header(p: &Pcmk, how: &str) -> String {
    let mut out = format!(
        "# Pacemaker configuration converted by ocfrs-import-rgmanager from cluster.conf{}.\n\
         # {how}\n",
        if p.source.is_empty() {
            String::new()
        } else {
            format!(" of cluster \"{}\"", p.source)
        }
    );
    comments(p, &mut out);
    out
}

fn crm_op(o: &Op) -> String {
    let mut s = format!(
        " \\\n\top {} interval={} timeout={}",
        o.name,
        crm_q(&o.interval),
        crm_q(&o.timeout)
    );
    for (k, v) in &o.extra {
        let _ = write!(s, " {k}={}", crm_q(v));
    }
    s
}

fn crm_prim(pr: &Prim) -> String {
    let mut s = format!("primitive {} {}", pr.id, pr.agent);
    if !pr.params.is_empty() {
        s.push_str(" \\\n\tparams");
        for (k, v) in &pr.params {
            let _ = write!(s, " {k}={}", crm_q(v));
        }
    }
    if !pr.meta.is_empty() {
        s.push_str(" \\\n\tmeta");
        for (k, v) in &pr.meta {
            let _ = write!(s, " {k}={}", crm_q(v));
        }
    }
    for o in &pr.ops {
        s.push_str(&crm_op(o));
    }
    s.push('\n');
    s
}

/// crm shell syntax.
pub fn crm(p: &Pcmk) -> String {
    let mut out = header(p, "Load it with: crm configure load update FILE");
    for pr in &p.prims {
        out.push_str(&crm_prim(pr));
    }
    for g in &p.groups {
        let _ = write!(out, "group {} {}", g.id, g.members.join(" "));
        if !g.meta.is_empty() {
            out.push_str(" \\\n\tmeta");
            for (k, v) in &g.meta {
                let _ = write!(out, " {k}={}", crm_q(v));
            }
        }
        out.push('\n');
    }
    for c in &p.constraints {
        let line = match c {
            Constraint::Prefer {
                id,
                rsc,
                node,
                score,
            } => format!("location {id} {rsc} {score}: {node}"),
            Constraint::Only { id, rsc, nodes } => {
                format!("location {id} {rsc} rule -inf: {}", not_on(nodes, "#uname"))
            }
            Constraint::Apart { id, rsc, with } => {
                format!("colocation {id} -inf: {rsc} {with}")
            }
            Constraint::Order {
                id,
                first,
                then,
                mandatory,
            } => format!("order {id} {}: {first} {then}", kind(*mandatory)),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// pcs commands (a shell script).
pub fn pcs(p: &Pcmk) -> String {
    let mut out = String::from("#!/bin/sh\n");
    out.push_str(&header(
        p,
        "Run it as a shell script on a cluster node: it edits a copy of the CIB and pushes it \
         in one step.",
    ));
    out.push_str("set -e\nCIB=$(mktemp)\npcs cluster cib \"$CIB\"\n");
    let group_of = |id: &str| {
        p.groups
            .iter()
            .find(|g| g.members.iter().any(|m| m == id))
            .map(|g| g.id.clone())
    };
    for pr in &p.prims {
        let mut s = format!("pcs -f \"$CIB\" resource create {} {}", pr.id, pr.agent);
        for (k, v) in &pr.params {
            let _ = write!(s, " {}", sh_q(&format!("{k}={v}")));
        }
        if !pr.meta.is_empty() {
            s.push_str(" meta");
            for (k, v) in &pr.meta {
                let _ = write!(s, " {}", sh_q(&format!("{k}={v}")));
            }
        }
        for o in &pr.ops {
            let _ = write!(
                s,
                " op {} interval={} timeout={}",
                o.name,
                sh_q(&o.interval),
                sh_q(&o.timeout)
            );
            for (k, v) in &o.extra {
                let _ = write!(s, " {}", sh_q(&format!("{k}={v}")));
            }
        }
        if let Some(g) = group_of(&pr.id) {
            let _ = write!(s, " --group {g}");
        }
        out.push_str(&s);
        out.push('\n');
    }
    for g in &p.groups {
        if !g.meta.is_empty() {
            let _ = writeln!(
                out,
                "pcs -f \"$CIB\" resource meta {} {}",
                g.id,
                g.meta
                    .iter()
                    .map(|(k, v)| sh_q(&format!("{k}={v}")))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
    }
    for c in &p.constraints {
        let line = match c {
            Constraint::Prefer {
                rsc, node, score, ..
            } => format!("constraint location {rsc} prefers {node}={score}"),
            Constraint::Only { id, rsc, nodes } => format!(
                "constraint location {rsc} rule constraint-id={id} score=-INFINITY {}",
                not_on(nodes, "'#uname'")
            ),
            Constraint::Apart { id, rsc, with } => {
                format!("constraint colocation add {rsc} with {with} -INFINITY id={id}")
            }
            Constraint::Order {
                id,
                first,
                then,
                mandatory,
            } => format!(
                "constraint order start {first} then start {then} kind={} id={id}",
                kind(*mandatory)
            ),
        };
        let _ = writeln!(out, "pcs -f \"$CIB\" {line}");
    }
    out.push_str("pcs cluster cib-push \"$CIB\" --config\nrm -f \"$CIB\"\n");
    out
}

/// The rule expression "on none of the nodes but `nodes`", the node name attribute spelled
/// `uname` (crmsh and pcs quote it differently).
fn not_on(nodes: &[String], uname: &str) -> String {
    nodes
        .iter()
        .map(|n| format!("{uname} ne {n}"))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// An order constraint's kind.
fn kind(mandatory: bool) -> &'static str {
    if mandatory {
        "Mandatory"
    } else {
        "Optional"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(crm_q("10.0.0.1"), "10.0.0.1");
        assert_eq!(crm_q("a b\"c\\"), "\"a b\\\"c\\\\\"");
        assert_eq!(sh_q("x=a b'c"), "'x=a b'\\''c'");
        assert_eq!(sh_q("$(reboot)"), "'$(reboot)'");
        assert_eq!(sh_q(""), "''");
    }
}
