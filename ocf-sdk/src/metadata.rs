//! Meta-data XML rendered from an [`Agent`] declaration, in three flavours.
//!
//! * [`Flavour::Ocf10`]: the compatible flavour. XML declaration plus
//!   `<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">`, `<version>1.0</version>`; valid against
//!   resource-agents' `ra-api-1.dtd` (what the shell `ocf-tester` checks), its `metadata.rng`
//!   and the OCF 1.1 RelaxNG schema. 1.1-only features are folded into text: a `select` is a
//!   `string` whose long description lists the allowed values, a deprecated parameter says so
//!   in its descriptions, `unique-group` and `reloadable` are left out, and actions that the
//!   DTD does not know (`reload-agent`, custom ones) and `reload` (whose 1.0 meaning would make
//!   Pacemaker use it for parameter changes) are not advertised. They are still dispatched.
//! * [`Flavour::Ocf11`]: `<version>1.1</version>` with every 1.1 feature the declaration uses
//!   (`select` options, `<deprecated>`, `unique-group`, `reloadable`, `reload-agent`).
//! * [`Flavour::Rgmanager`]: what rgmanager reads: `primary`, a `status` entry for every
//!   monitor depth, only the action names of rgmanager's DTD, and
//!   `<special tag="rgmanager">` when the agent declares child ordering.
//!
//! # Which flavour `meta-data` prints
//! 1. `OCFRS_METADATA_FLAVOUR` = `ocf-1.0` | `ocf-1.1` | `rgmanager`, if set to one of those;
//! 2. otherwise `rgmanager` when `OCF_ROOT` is `/usr/share/cluster`, or the agent was run from
//!    that directory (rgmanager's install location) or as `<Type>.sh` (rgmanager's naming);
//! 3. otherwise `ocf-1.1` when the agent declares OCF 1.1 **and** the caller announces 1.1 or
//!    newer (`OCF_RA_VERSION_MAJOR`/`MINOR`, as Pacemaker 2.1+ does);
//! 4. otherwise `ocf-1.0`. Callers that announce nothing (the shell `ocf-tester`, `xmllint`
//!    pipelines, an admin at a shell) get the flavour every validator accepts.

use crate::env::Env;
use crate::meta::{Action, Agent, OcfVersion, Param, ParamType};
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use std::io;

/// Action names `ra-api-1.dtd` accepts.
pub const DTD_ACTIONS: &[&str] = &[
    "start",
    "stop",
    "recover",
    "monitor",
    "restart",
    "migrate_to",
    "migrate_from",
    "promote",
    "demote",
    "notify",
    "status",
    "reload",
    "meta-data",
    "usage",
    "methods",
    "validate-all",
];

/// Action names rgmanager's DTD accepts.
pub const RGMANAGER_ACTIONS: &[&str] = &[
    "start",
    "stop",
    "recover",
    "status",
    "reconfig",
    "monitor",
    "reload",
    "meta-data",
    "validate-all",
    "verify-all",
    "migrate",
    "methods",
];

/// Name of the override variable.
pub const FLAVOUR_VAR: &str = "OCFRS_METADATA_FLAVOUR";
/// rgmanager's agent directory and `OCF_ROOT`.
pub const RGMANAGER_ROOT: &str = "/usr/share/cluster";

/// A meta-data dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// OCF 1.0, valid against `ra-api-1.dtd`.
    Ocf10,
    /// OCF 1.1.
    Ocf11,
    /// rgmanager.
    Rgmanager,
}

impl Flavour {
    /// All flavours.
    pub const ALL: [Flavour; 3] = [Flavour::Ocf10, Flavour::Ocf11, Flavour::Rgmanager];

    /// The name used by [`FLAVOUR_VAR`] and file names: `ocf-1.0`, `ocf-1.1`, `rgmanager`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Flavour::Ocf10 => "ocf-1.0",
            Flavour::Ocf11 => "ocf-1.1",
            Flavour::Rgmanager => "rgmanager",
        }
    }

    /// Parse a flavour name.
    pub fn parse(s: &str) -> Option<Flavour> {
        Flavour::ALL.into_iter().find(|f| f.as_str() == s.trim())
    }

    /// Choose the flavour for this invocation (see the module docs for the rule).
    pub fn choose(agent: &Agent, env: &Env, argv0: &str) -> Flavour {
        if let Some(f) = env.get(FLAVOUR_VAR).and_then(Flavour::parse) {
            return f;
        }
        if crate::context::is_rgmanager_root(env, argv0) {
            return Flavour::Rgmanager;
        }
        if agent.ocf_version >= OcfVersion::V1_1
            && crate::context::caller_ocf_version(env) >= Some((1, 1))
        {
            return Flavour::Ocf11;
        }
        Flavour::Ocf10
    }
}

/// Render the meta-data of `agent` in `flavour`.
pub fn render(agent: &Agent, flavour: Flavour) -> String {
    // Room for the largest agent's document (12 KB) at once: growing the buffer step by step was a
    // fifth of the rendering's instructions (realloc and copies).
    let mut w = Writer::new_with_indent(Vec::with_capacity(16 * 1024), b' ', 2);
    // Writing into a Vec cannot fail; keep the signature infallible for the dispatcher.
    let _ = write_doc(&mut w, agent, flavour);
    let mut s = String::from_utf8(w.into_inner()).unwrap_or_default();
    s.push('\n');
    s
}

type W = Writer<Vec<u8>>;

fn write_doc(w: &mut W, agent: &Agent, flavour: Flavour) -> io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", None, None)))?;
    if flavour == Flavour::Ocf10 {
        w.write_event(Event::DocType(BytesText::from_escaped(
            "resource-agent SYSTEM \"ra-api-1.dtd\"",
        )))?;
    }
    let version = match flavour {
        Flavour::Ocf11 => OcfVersion::V1_1,
        _ => OcfVersion::V1_0,
    };
    w.create_element("resource-agent")
        .with_attribute(("name", agent.name))
        .with_attribute(("version", agent.version))
        .write_inner_content(|w| {
            w.create_element("version")
                .write_text_content(BytesText::new(version.as_str()))?;
            desc(w, "longdesc", &text_or(agent.longdesc, agent.shortdesc))?;
            desc(w, "shortdesc", &text_or(agent.shortdesc, agent.name))?;
            w.create_element("parameters").write_inner_content(|w| {
                for p in agent.params {
                    write_param(w, p, flavour)?;
                }
                Ok(())
            })?;
            w.create_element("actions").write_inner_content(|w| {
                for a in actions_for(agent, flavour) {
                    write_action(w, &a, flavour)?;
                }
                Ok(())
            })?;
            if flavour == Flavour::Rgmanager {
                write_rg_special(w, agent)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn text_or(text: &str, fallback: &str) -> String {
    let t = text.trim();
    if t.is_empty() {
        fallback.trim().to_string()
    } else {
        t.to_string()
    }
}

fn desc(w: &mut W, tag: &str, text: &str) -> io::Result<()> {
    // Escape only what XML requires (<, >, &): quotes stay readable in text content.
    let escaped = quick_xml::escape::partial_escape(text);
    w.create_element(tag)
        .with_attribute(("lang", "en"))
        .write_text_content(BytesText::from_escaped(escaped))?;
    Ok(())
}

fn write_param(w: &mut W, p: &Param, flavour: Flavour) -> io::Result<()> {
    let bit = |b: bool| if b { "1" } else { "0" };
    let mut el = w
        .create_element("parameter")
        .with_attribute(("name", p.name));
    match flavour {
        Flavour::Ocf11 => {
            if let Some(g) = p.unique_group {
                el = el.with_attribute(("unique-group", g));
            }
            if p.unique {
                el = el.with_attribute(("unique", "1"));
            }
            el = el.with_attribute(("required", bit(p.required)));
            if p.reloadable {
                el = el.with_attribute(("reloadable", "1"));
            }
        }
        Flavour::Ocf10 => {
            el = el
                .with_attribute(("unique", bit(p.unique)))
                .with_attribute(("required", bit(p.required)));
        }
        Flavour::Rgmanager => {
            if let Some(from) = p.inherit {
                // rgmanager rejects inherit together with required, unique or primary.
                el = el.with_attribute(("inherit", from));
            } else {
                if p.primary {
                    el = el.with_attribute(("primary", "1"));
                }
                el = el
                    .with_attribute(("unique", bit(p.unique)))
                    .with_attribute(("required", bit(p.required)));
            }
        }
    }
    el.write_inner_content(|w| {
        let mut long = text_or(p.longdesc, p.shortdesc);
        let mut short = text_or(p.shortdesc, p.name);
        if flavour == Flavour::Ocf11 {
            if let Some(d) = p.deprecated {
                w.create_element("deprecated").write_inner_content(|w| {
                    if let Some(r) = d.replaced_with {
                        w.create_element("replaced-with")
                            .with_attribute(("name", r))
                            .write_empty()?;
                    }
                    if !d.desc.is_empty() {
                        desc(w, "desc", d.desc)?;
                    }
                    Ok(())
                })?;
            }
        } else {
            if let ParamType::Select(opts) = p.kind {
                long.push_str(&format!("\n\nAllowed values: {}.", opts.join(", ")));
            }
            if let Some(d) = p.deprecated {
                short = format!("(deprecated) {short}");
                match d.replaced_with {
                    Some(r) => {
                        long.push_str(&format!("\n\nDeprecated: use {r} instead. {}", d.desc))
                    }
                    None => long.push_str(&format!("\n\nDeprecated. {}", d.desc)),
                }
                long = long.trim_end().to_string();
            }
        }
        desc(w, "longdesc", &long)?;
        desc(w, "shortdesc", &short)?;
        let type_name = match (p.kind, flavour) {
            (ParamType::Select(_), Flavour::Ocf11) => "select",
            (ParamType::Select(_), _) => "string",
            _ => p.type_name(),
        };
        let mut c = w
            .create_element("content")
            .with_attribute(("type", type_name));
        if let Some(d) = p.default {
            c = c.with_attribute(("default", d));
        }
        match (p.kind, flavour) {
            (ParamType::Select(opts), Flavour::Ocf11) => {
                c.write_inner_content(|w| {
                    for o in opts {
                        w.create_element("option")
                            .with_attribute(("value", *o))
                            .write_empty()?;
                    }
                    Ok(())
                })?;
            }
            _ => {
                c.write_empty()?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// The action entries a flavour advertises.
pub fn actions_for(agent: &Agent, flavour: Flavour) -> Vec<Action> {
    let all = agent.all_actions();
    match flavour {
        Flavour::Ocf11 => all,
        Flavour::Ocf10 => all
            .into_iter()
            // `reload` means parameter reload to Pacemaker for 1.0 agents: not advertised.
            .filter(|a| a.name != "reload" && DTD_ACTIONS.contains(&a.name))
            .collect(),
        Flavour::Rgmanager => {
            let mut out: Vec<Action> = Vec::new();
            // rgmanager's `migrate <node>` is the push migration the dispatcher routes to
            // migrate_to.
            let renamed = all.iter().map(|a| {
                if a.name == "migrate_to" {
                    Action {
                        name: "migrate",
                        ..*a
                    }
                } else {
                    *a
                }
            });
            for a in renamed.filter(|a| RGMANAGER_ACTIONS.contains(&a.name)) {
                // rgmanager has no roles: keep one entry per (name, depth).
                if out.iter().any(|o| o.name == a.name && o.depth == a.depth) {
                    continue;
                }
                out.push(Action { role: None, ..a });
            }
            // rgmanager schedules `status`, never `monitor`: mirror each monitor depth.
            let monitors: Vec<Action> = out
                .iter()
                .filter(|a| a.name == "monitor")
                .copied()
                .collect();
            for m in monitors {
                if !out.iter().any(|o| o.name == "status" && o.depth == m.depth) {
                    out.push(Action {
                        name: "status",
                        ..m
                    });
                }
            }
            out
        }
    }
}

fn write_action(w: &mut W, a: &Action, flavour: Flavour) -> io::Result<()> {
    let timeout = format!("{}s", a.timeout);
    let mut el = w
        .create_element("action")
        .with_attribute(("name", a.name))
        .with_attribute(("timeout", timeout.as_str()));
    let interval = a.interval.map(|i| format!("{i}s"));
    if let Some(i) = &interval {
        el = el.with_attribute(("interval", i.as_str()));
    }
    let delay = a.start_delay.map(|i| format!("{i}s"));
    if let Some(d) = &delay {
        el = el.with_attribute(("start-delay", d.as_str()));
    }
    let depth = a.depth.map(|d| d.to_string());
    if let Some(d) = &depth {
        el = el.with_attribute(("depth", d.as_str()));
    }
    if flavour != Flavour::Rgmanager {
        if let Some(r) = a.role {
            el = el.with_attribute(("role", r.as_str()));
        }
    }
    el.write_empty()?;
    Ok(())
}

fn write_rg_special(w: &mut W, agent: &Agent) -> io::Result<()> {
    let Some(sp) = agent.rgmanager else {
        return Ok(());
    };
    if sp.max_instances.is_none() && sp.children.is_empty() {
        return Ok(());
    }
    w.create_element("special")
        .with_attribute(("tag", "rgmanager"))
        .write_inner_content(|w| {
            if let Some(m) = sp.max_instances {
                let m = m.to_string();
                w.create_element("attributes")
                    .with_attribute(("maxinstances", m.as_str()))
                    .write_empty()?;
            }
            for c in sp.children {
                let (s, t) = (c.start.to_string(), c.stop.to_string());
                let mut el = w
                    .create_element("child")
                    .with_attribute(("type", c.type_name))
                    .with_attribute(("start", s.as_str()))
                    .with_attribute(("stop", t.as_str()));
                if c.forbid {
                    el = el.with_attribute(("forbid", "1"));
                }
                el.write_empty()?;
            }
            Ok(())
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{Param, RgChild, RgSpecial, Role};

    const PARAMS: &[Param] = &[
        Param::string("ip")
            .required()
            .unique()
            .primary()
            .short("Address <v4 & v6>")
            .long("The \"address\" & more"),
        Param::select("mode", &["a", "b"])
            .default("a")
            .reloadable()
            .unique_group("g"),
        Param::string("old").deprecated_by("ip", "renamed"),
    ];
    const AGENT: Agent = Agent::new("T", "1.1")
        .short("short")
        .long("long")
        .params(PARAMS)
        .actions(&[
            Action::start(20),
            Action::stop(20),
            Action::monitor(20, 10).role(Role::Unpromoted),
            Action::monitor(20, 11).role(Role::Promoted),
            Action::monitor(40, 60).depth(10),
            Action::reload_agent(10),
            Action::promote(10),
        ])
        .rgmanager(RgSpecial {
            max_instances: Some(1),
            children: &[RgChild {
                type_name: "nfsclient",
                start: 1,
                stop: 2,
                forbid: true,
            }],
        });

    #[test]
    fn inherit_only_in_the_rgmanager_flavour_and_never_with_required() {
        const A: Agent = Agent::new("Child", "1.0")
            .params(&[Param::string("dir")
                .required()
                .inherit("Filesystem%directory")
                .short("d")
                .long("d")])
            .actions(&[Action::start(20), Action::stop(20), Action::monitor(20, 10)]);
        let rg = render(&A, Flavour::Rgmanager);
        assert!(rg.contains("<parameter name=\"dir\" inherit=\"Filesystem%directory\">"));
        for f in [Flavour::Ocf10, Flavour::Ocf11] {
            let x = render(&A, f);
            assert!(!x.contains("inherit"), "{x}");
            assert!(x.contains("required=\"1\""), "{x}");
        }
    }

    #[test]
    fn ocf10_is_dtd_shaped() {
        let x = render(&AGENT, Flavour::Ocf10);
        assert!(x.starts_with(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">"
        ));
        assert!(x.contains("<version>1.0</version>"));
        assert!(x.contains("Address &lt;v4 &amp; v6&gt;"));
        assert!(x.contains("The \"address\" &amp; more"));
        assert!(!x.contains("select"));
        assert!(x.contains("Allowed values: a, b."));
        assert!(!x.contains("reload-agent"));
        assert!(!x.contains("reloadable"));
        assert!(!x.contains("unique-group"));
        assert!(!x.contains("primary"));
        assert!(x.contains("(deprecated) old"));
        assert!(x.contains("timeout=\"20s\""));
        assert!(x.contains("role=\"Promoted\""));
        assert!(x.contains("name=\"validate-all\""));
        assert!(x.contains("name=\"meta-data\""));
    }

    #[test]
    fn ocf11_has_11_features() {
        let x = render(&AGENT, Flavour::Ocf11);
        assert!(!x.contains("DOCTYPE"));
        assert!(x.contains("<version>1.1</version>"));
        assert!(x.contains("<content type=\"select\" default=\"a\">"));
        assert!(x.contains("<option value=\"b\"/>"));
        assert!(x.contains("<replaced-with name=\"ip\"/>"));
        assert!(x.contains("unique-group=\"g\""));
        assert!(x.contains("reloadable=\"1\""));
        assert!(x.contains("name=\"reload-agent\""));
    }

    #[test]
    fn rgmanager_has_status_and_special() {
        let x = render(&AGENT, Flavour::Rgmanager);
        assert!(x.contains("primary=\"1\""));
        assert!(
            x.contains("<action name=\"status\" timeout=\"20s\" interval=\"10s\" depth=\"0\"/>")
        );
        assert!(
            x.contains("<action name=\"status\" timeout=\"40s\" interval=\"60s\" depth=\"10\"/>")
        );
        assert!(!x.contains("promote"));
        assert!(!x.contains("role="));
        assert!(x.contains("<special tag=\"rgmanager\">"));
        assert!(x.contains("<child type=\"nfsclient\" start=\"1\" stop=\"2\" forbid=\"1\"/>"));
        assert_eq!(x.matches("name=\"monitor\"").count(), 2);
    }

    #[test]
    fn flavour_rule() {
        let e = Env::new();
        assert_eq!(Flavour::choose(&AGENT, &e, "/x/T"), Flavour::Ocf10);
        let e11 = Env::new()
            .with("OCF_RA_VERSION_MAJOR", "1")
            .with("OCF_RA_VERSION_MINOR", "1");
        assert_eq!(Flavour::choose(&AGENT, &e11, "/x/T"), Flavour::Ocf11);
        let a10 = Agent {
            ocf_version: OcfVersion::V1_0,
            ..AGENT
        };
        assert_eq!(Flavour::choose(&a10, &e11, "/x/T"), Flavour::Ocf10);
        assert_eq!(
            Flavour::choose(
                &AGENT,
                &Env::new().with("OCF_ROOT", "/usr/share/cluster"),
                "/x/T"
            ),
            Flavour::Rgmanager
        );
        assert_eq!(
            Flavour::choose(&AGENT, &Env::new(), "/usr/share/cluster/T"),
            Flavour::Rgmanager
        );
        assert_eq!(
            Flavour::choose(&AGENT, &Env::new(), "/stage/usr/share/cluster/T.sh"),
            Flavour::Rgmanager
        );
        assert_eq!(
            Flavour::choose(&AGENT, &e11.clone().with(FLAVOUR_VAR, "ocf-1.0"), "/x"),
            Flavour::Ocf10
        );
        assert_eq!(
            Flavour::choose(&AGENT, &Env::new().with(FLAVOUR_VAR, "bogus"), "/x"),
            Flavour::Ocf10
        );
    }
}
