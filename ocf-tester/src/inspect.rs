//! Read and check the meta-data XML of **any** agent (ours or a third party's).
//!
//! `ocf::metadata` writes meta-data from a declaration; this module goes the other way:
//! it parses what an agent printed into a small element tree ([`Document`]), extracts the
//! parts callers act on ([`MetaData`]: claimed OCF version, parameters, actions with their
//! timeouts and depths) and checks it against the rules of each consumer, without `xmllint`:
//!
//! | function | rules |
//! |---|---|
//! | [`Document::parse`] | well-formed, exactly one root, nothing but XML on the stream |
//! | [`check_ocf11`] | the OCF 1.1 RelaxNG structure (order, required elements and attributes, content types, `select` options) |
//! | [`check_dtd`] | resource-agents' `ra-api-1.dtd` as `xmllint --valid` applies it (DOCTYPE required, closed attribute and action-name lists) |
//! | [`check_rgmanager`] | what rgmanager reads (its DTD's action names and parameter attributes, one `primary`) |
//! | [`check_version`] | `<version>` is `1.0` or `1.1` |
//!
//! Each check returns a list of problems (empty = accepted), one human sentence each.
//! Only the tester uses it (it moved here from the SDK, whose testing kit does not need it);
//! the action-name tables it shares with the meta-data writer stay in `ocf::metadata`.

use ocf::metadata::{DTD_ACTIONS, RGMANAGER_ACTIONS};
use quick_xml::events::Event;
use quick_xml::Reader;
use std::time::Duration;

/// One element: name, attributes in document order, children and its direct text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// Tag name.
    pub name: String,
    /// Attributes (name, unescaped value), in order.
    pub attrs: Vec<(String, String)>,
    /// Child elements, in order.
    pub children: Vec<Element>,
    /// Concatenated direct text content (unescaped, untrimmed).
    pub text: String,
}

impl Element {
    /// An attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
    /// All children named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }
}

/// A parsed meta-data document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The DOCTYPE as `(root name, system id)`, when present.
    pub doctype: Option<(String, String)>,
    /// The root element.
    pub root: Element,
}

impl Document {
    /// Parse `bytes` (an agent's whole stdout).
    ///
    /// # Errors
    /// One sentence saying why the stream is not a single well-formed XML document: a
    /// syntax error, text before or after the root element (log lines on stdout), no root,
    /// a second root, or bytes that are not UTF-8.
    pub fn parse(bytes: &[u8]) -> Result<Document, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
        if text.trim().is_empty() {
            return Err("empty output".into());
        }
        let mut reader = Reader::from_str(text);
        reader.config_mut().check_end_names = true;
        let mut stack: Vec<Element> = Vec::new();
        let mut root: Option<Element> = None;
        let mut doctype = None;
        loop {
            let pos = reader.buffer_position();
            let ev = reader
                .read_event()
                .map_err(|e| format!("not well-formed XML at byte {pos}: {e}"))?;
            let (ev, is_empty) = match ev {
                Event::Empty(e) => (Event::Start(e), true),
                other => (other, false),
            };
            match ev {
                Event::Eof => break,
                Event::Start(e) => {
                    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                    if stack.is_empty() && root.is_some() {
                        return Err(format!("a second root element <{name}> after the first"));
                    }
                    let mut attrs = Vec::new();
                    for a in e.attributes() {
                        let a = a.map_err(|e| format!("bad attribute in <{name}>: {e}"))?;
                        let k = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                        let v = a
                            .unescape_value()
                            .map_err(|e| format!("bad attribute value in <{name}>: {e}"))?
                            .into_owned();
                        if attrs.iter().any(|(x, _)| *x == k) {
                            return Err(format!("duplicate attribute {k} in <{name}>"));
                        }
                        attrs.push((k, v));
                    }
                    let el = Element {
                        name,
                        attrs,
                        ..Element::default()
                    };
                    if is_empty {
                        attach(&mut stack, &mut root, el);
                    } else {
                        stack.push(el);
                    }
                }
                Event::End(_) => {
                    let el = stack.pop().ok_or("unbalanced end tag")?;
                    attach(&mut stack, &mut root, el);
                }
                Event::Text(t) => {
                    let s = t
                        .unescape()
                        .map_err(|e| format!("bad text or entity: {e}"))?;
                    match stack.last_mut() {
                        Some(el) => el.text.push_str(&s),
                        None if s.trim().is_empty() => {}
                        None => {
                            let what = s.trim();
                            let what: String = what.chars().take(60).collect();
                            return Err(format!("{TEXT_OUTSIDE_ROOT} (not pure XML): {what:?}"));
                        }
                    }
                }
                Event::CData(t) => {
                    if let Some(el) = stack.last_mut() {
                        el.text.push_str(&String::from_utf8_lossy(&t));
                    } else {
                        return Err("CDATA outside the root element".into());
                    }
                }
                Event::DocType(t) => {
                    let raw = String::from_utf8_lossy(&t).into_owned();
                    doctype = Some(parse_doctype(&raw));
                }
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::Empty(_) => {}
            }
        }
        if !stack.is_empty() {
            return Err("unclosed element at end of output".into());
        }
        let root = root.ok_or("no root element")?;
        Ok(Document { doctype, root })
    }
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

fn parse_doctype(raw: &str) -> (String, String) {
    let mut words = raw.split_whitespace();
    let name = words.next().unwrap_or("").to_string();
    let system = match raw.find("SYSTEM") {
        Some(i) => raw[i + 6..]
            .trim()
            .trim_start_matches(['"', '\''])
            .split(['"', '\''])
            .next()
            .unwrap_or("")
            .to_string(),
        None => String::new(),
    };
    (name, system)
}

/// The start of [`Document::parse`]'s error for text printed outside the XML document.
pub const TEXT_OUTSIDE_ROOT: &str = "text outside the root element";

/// One advertised action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionInfo {
    /// Action name.
    pub name: String,
    /// Advertised timeout, when it parses.
    pub timeout: Option<Duration>,
    /// Advertised interval, when present and parseable.
    pub interval: Option<Duration>,
    /// Advertised depth (`OCF_CHECK_LEVEL`).
    pub depth: Option<u32>,
    /// Advertised role.
    pub role: Option<String>,
}

/// One declared parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamInfo {
    /// Parameter name.
    pub name: String,
    /// `required="1"`.
    pub required: bool,
    /// `reloadable="1"`.
    pub reloadable: bool,
    /// `content/@type`.
    pub content_type: String,
    /// `content/@default`.
    pub default: Option<String>,
    /// `select` options.
    pub options: Vec<String>,
}

/// What a caller needs from meta-data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaData {
    /// `resource-agent/@name`.
    pub name: String,
    /// `<version>` text (the claimed OCF version), trimmed.
    pub ocf_version: Option<String>,
    /// Parameters.
    pub params: Vec<ParamInfo>,
    /// Actions, in document order.
    pub actions: Vec<ActionInfo>,
}

impl MetaData {
    /// Extract from a parsed document (lenient: missing parts are empty).
    pub fn from_document(doc: &Document) -> MetaData {
        let r = &doc.root;
        let params = r
            .child("parameters")
            .map(|ps| {
                ps.children_named("parameter")
                    .map(|p| {
                        let content = p.child("content");
                        ParamInfo {
                            name: p.attr("name").unwrap_or("").to_string(),
                            required: is_one(p.attr("required")),
                            reloadable: is_one(p.attr("reloadable")),
                            content_type: content
                                .and_then(|c| c.attr("type"))
                                .unwrap_or("string")
                                .to_string(),
                            default: content.and_then(|c| c.attr("default")).map(str::to_string),
                            options: content
                                .map(|c| {
                                    c.children_named("option")
                                        .filter_map(|o| o.attr("value").map(str::to_string))
                                        .collect()
                                })
                                .unwrap_or_default(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let actions = r
            .child("actions")
            .map(|a| {
                a.children_named("action")
                    .map(|a| ActionInfo {
                        name: a.attr("name").unwrap_or("").to_string(),
                        timeout: a.attr("timeout").and_then(parse_duration),
                        interval: a.attr("interval").and_then(parse_duration),
                        depth: a.attr("depth").and_then(|d| d.trim().parse().ok()),
                        role: a.attr("role").map(str::to_string),
                    })
                    .collect()
            })
            .unwrap_or_default();
        MetaData {
            name: r.attr("name").unwrap_or("").to_string(),
            ocf_version: r.child("version").map(|v| v.text.trim().to_string()),
            params,
            actions,
        }
    }

    /// Whether `name` is advertised.
    pub fn advertises(&self, name: &str) -> bool {
        self.actions.iter().any(|a| a.name == name)
    }

    /// The largest advertised timeout of `name`.
    pub fn timeout_of(&self, name: &str) -> Option<Duration> {
        self.actions
            .iter()
            .filter(|a| a.name == name)
            .filter_map(|a| a.timeout)
            .max()
    }

    /// Distinct advertised depths of `name` (e.g. `monitor`), ascending.
    pub fn depths_of(&self, name: &str) -> Vec<u32> {
        let mut d: Vec<u32> = self
            .actions
            .iter()
            .filter(|a| a.name == name)
            .filter_map(|a| a.depth)
            .collect();
        d.sort_unstable();
        d.dedup();
        d
    }

    /// Whether the claimed OCF version is 1.1 or newer.
    pub fn claims_11(&self) -> bool {
        self.ocf_version.as_deref().is_some_and(|v| {
            let mut it = v.split('.');
            let major: u32 = it.next().and_then(|m| m.parse().ok()).unwrap_or(0);
            let minor: u32 = it.next().and_then(|m| m.parse().ok()).unwrap_or(0);
            (major, minor) >= (1, 1)
        })
    }
}

fn is_one(v: Option<&str>) -> bool {
    matches!(v.map(str::trim), Some("1" | "true" | "yes" | "y"))
}

/// Parse a meta-data time value: seconds, or a number with `ms`, `s`, `m`, `min`, `h` or `d`.
pub fn parse_duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "" | "s" | "sec" => n,
        "ms" | "msec" => return Some(Duration::from_millis(n)),
        "m" | "min" => n * 60,
        "h" | "hr" => n * 3600,
        "d" => n * 86400,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

/// `<version>` must be present and be `1.0` or `1.1`.
pub fn check_version(doc: &Document) -> Vec<String> {
    match doc.root.child("version").map(|v| v.text.trim().to_string()) {
        None => vec!["no <version> element (the claimed OCF version, 1.0 or 1.1)".into()],
        Some(v) if v == "1.0" || v == "1.1" => Vec::new(),
        Some(v) => vec![format!(
            "<version> is {v:?}: it must be the OCF version the agent claims (1.0 or 1.1), not the agent's own version"
        )],
    }
}

fn sequence_problems(el: &Element, allowed: &[(&str, usize, usize)], out: &mut Vec<String>) {
    // allowed: ordered (name, min, max) groups; max = usize::MAX for unbounded.
    let mut i = 0;
    let names: Vec<&str> = el.children.iter().map(|c| c.name.as_str()).collect();
    for (name, min, max) in allowed {
        let mut n = 0;
        while i < names.len() && names[i] == *name {
            n += 1;
            i += 1;
        }
        if n < *min {
            out.push(format!("<{}> needs at least {min} <{name}>", el.name));
        }
        if n > *max {
            out.push(format!("<{}> allows at most {max} <{name}>", el.name));
        }
    }
    if i < names.len() {
        let known = allowed.iter().any(|(n, _, _)| *n == names[i]);
        out.push(if known {
            format!("<{}>: <{}> is out of order", el.name, names[i])
        } else {
            format!("<{}>: unexpected element <{}>", el.name, names[i])
        });
    }
}

fn attr_problems(el: &Element, allowed: &[&str], required: &[&str], out: &mut Vec<String>) {
    for (k, _) in &el.attrs {
        if !allowed.contains(&k.as_str()) {
            out.push(format!("<{}>: attribute {k} is not allowed", ident(el)));
        }
    }
    for r in required {
        if el.attr(r).is_none() {
            out.push(format!("<{}>: attribute {r} is required", ident(el)));
        }
    }
}

fn ident(el: &Element) -> String {
    match el.attr("name") {
        Some(n) => format!("{} name=\"{n}\"", el.name),
        None => el.name.clone(),
    }
}

fn bool01(el: &Element, attrs: &[&str], out: &mut Vec<String>) {
    for a in attrs {
        if let Some(v) = el.attr(a) {
            if v != "0" && v != "1" {
                out.push(format!("<{}>: {a}=\"{v}\" must be 0 or 1", ident(el)));
            }
        }
    }
}

/// The `<longdesc>` and `<shortdesc>` children of `el`.
fn descs(el: &Element) -> impl Iterator<Item = &Element> {
    el.children
        .iter()
        .filter(|c| c.name == "longdesc" || c.name == "shortdesc")
}

fn desc_problems(el: &Element, out: &mut Vec<String>) {
    for c in descs(el) {
        if c.attr("lang").is_none() {
            out.push(format!("<{}>: <{}> needs lang", ident(el), c.name));
        }
    }
}

/// The DTD's rules for the descriptions of `el`: only `lang`, only declared elements.
fn dtd_desc_problems(el: &Element, out: &mut Vec<String>) {
    for d in descs(el) {
        attr_problems(d, &["lang"], &[], out);
        any_declared(d, out);
    }
}

/// The problem when the root element is not `<resource-agent>`.
fn wrong_root(r: &Element) -> Option<String> {
    (r.name != "resource-agent")
        .then(|| format!("root element is <{}>, not <resource-agent>", r.name))
}

/// The attributes an `<action>` may have (OCF 1.1 and ra-api-1.dtd alike).
const ACTION_ATTRS: &[&str] = &[
    "name",
    "timeout",
    "interval",
    "start-delay",
    "depth",
    "role",
];

/// The OCF 1.1 RelaxNG structure rules (OCF-spec `ra/1.1/ra-api.rng`).
pub fn check_ocf11(doc: &Document) -> Vec<String> {
    let mut out = Vec::new();
    let r = &doc.root;
    if let Some(wrong) = wrong_root(r) {
        return vec![wrong];
    }
    attr_problems(r, &["name", "version"], &["name"], &mut out);
    sequence_problems(
        r,
        &[
            ("version", 1, 1),
            ("longdesc", 0, usize::MAX),
            ("shortdesc", 0, usize::MAX),
            ("parameters", 1, 1),
            ("actions", 1, 1),
            ("special", 0, 1),
        ],
        &mut out,
    );
    desc_problems(r, &mut out);
    if let Some(ps) = r.child("parameters") {
        sequence_problems(ps, &[("parameter", 1, usize::MAX)], &mut out);
        for p in ps.children_named("parameter") {
            attr_problems(
                p,
                &["name", "unique-group", "unique", "required", "reloadable"],
                &["name"],
                &mut out,
            );
            bool01(p, &["unique", "required", "reloadable"], &mut out);
            sequence_problems(
                p,
                &[
                    ("deprecated", 0, 1),
                    ("longdesc", 1, usize::MAX),
                    ("shortdesc", 1, usize::MAX),
                    ("content", 1, 1),
                ],
                &mut out,
            );
            desc_problems(p, &mut out);
            if let Some(d) = p.child("deprecated") {
                for c in &d.children {
                    if c.name != "replaced-with" && c.name != "desc" {
                        out.push(format!("<deprecated>: unexpected <{}>", c.name));
                    }
                }
            }
            if let Some(c) = p.child("content") {
                attr_problems(c, &["type", "default"], &["type"], &mut out);
                let t = c.attr("type").unwrap_or("");
                match t {
                    "boolean" | "string" | "integer" => {
                        if !c.children.is_empty() {
                            out.push(format!("<content type=\"{t}\"> must be empty"));
                        }
                    }
                    "select" => {
                        sequence_problems(c, &[("option", 1, usize::MAX)], &mut out);
                        for o in c.children_named("option") {
                            attr_problems(o, &["value"], &["value"], &mut out);
                        }
                    }
                    "" => {}
                    other => out.push(format!(
                        "parameter {}: content type {other:?} is not one of boolean, string, integer, select",
                        p.attr("name").unwrap_or("?")
                    )),
                }
            }
        }
    }
    if let Some(acts) = r.child("actions") {
        sequence_problems(acts, &[("action", 1, usize::MAX)], &mut out);
        for a in acts.children_named("action") {
            attr_problems(a, ACTION_ATTRS, &["name", "timeout"], &mut out);
        }
    }
    out
}

/// resource-agents' `ra-api-1.dtd`, applied as `xmllint --noout --valid -` applies it from
/// `/usr/share/resource-agents` (what the shell ocf-tester does): the document must carry
/// `<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">`.
pub fn check_dtd(doc: &Document) -> Vec<String> {
    let mut out = Vec::new();
    match &doc.doctype {
        None => out.push(
            "no <!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">: DTD validation impossible"
                .into(),
        ),
        Some((name, sys)) => {
            if name != "resource-agent" {
                out.push(format!("DOCTYPE names root {name:?}, not resource-agent"));
            }
            if sys != "ra-api-1.dtd" {
                out.push(format!("DOCTYPE system id {sys:?} is not \"ra-api-1.dtd\""));
            }
        }
    }
    let r = &doc.root;
    if let Some(wrong) = wrong_root(r) {
        out.push(wrong);
        return out;
    }
    attr_problems(r, &["name", "version"], &["name"], &mut out);
    sequence_problems(
        r,
        &[
            ("version", 1, 1),
            ("longdesc", 1, 1),
            ("shortdesc", 1, 1),
            ("parameters", 0, 1),
            ("actions", 1, 1),
        ],
        &mut out,
    );
    no_text(r, &mut out);
    if let Some(v) = r.child("version") {
        if !v.children.is_empty() {
            out.push("<version> must contain text only".into());
        }
    }
    dtd_desc_problems(r, &mut out);
    if let Some(ps) = r.child("parameters") {
        attr_problems(ps, &[], &[], &mut out);
        no_text(ps, &mut out);
        sequence_problems(ps, &[("parameter", 0, usize::MAX)], &mut out);
        for p in ps.children_named("parameter") {
            attr_problems(p, &["name", "required", "unique"], &["name"], &mut out);
            bool01(p, &["required", "unique"], &mut out);
            no_text(p, &mut out);
            sequence_problems(
                p,
                &[
                    ("longdesc", 1, usize::MAX),
                    ("shortdesc", 1, usize::MAX),
                    ("content", 1, 1),
                ],
                &mut out,
            );
            dtd_desc_problems(p, &mut out);
            if let Some(c) = p.child("content") {
                attr_problems(c, &["type", "default"], &["type"], &mut out);
                if !c.children.is_empty() || !c.text.is_empty() {
                    out.push(format!(
                        "parameter {}: <content> must be empty (no <option> in ra-api-1.dtd)",
                        p.attr("name").unwrap_or("?")
                    ));
                }
                if let Some(t) = c.attr("type") {
                    if !["string", "integer", "boolean", "time"].contains(&t) {
                        out.push(format!(
                            "parameter {}: content type {t:?} is not one of string, integer, boolean, time",
                            p.attr("name").unwrap_or("?")
                        ));
                    }
                }
            }
        }
    }
    if let Some(acts) = r.child("actions") {
        attr_problems(acts, &[], &[], &mut out);
        no_text(acts, &mut out);
        sequence_problems(acts, &[("action", 0, usize::MAX)], &mut out);
        for a in acts.children_named("action") {
            attr_problems(a, ACTION_ATTRS, &["name", "timeout"], &mut out);
            if !a.children.is_empty() || !a.text.is_empty() {
                out.push(format!("<{}> must be empty", ident(a)));
            }
            if let Some(n) = a.attr("name") {
                if !DTD_ACTIONS.contains(&n) {
                    out.push(format!("action name {n:?} is not in ra-api-1.dtd's list"));
                }
            }
        }
    }
    out
}

/// Elements allowed anywhere inside an `ANY` element of the DTD.
const DTD_ELEMENTS: &[&str] = &[
    "resource-agent",
    "version",
    "parameters",
    "actions",
    "parameter",
    "longdesc",
    "shortdesc",
    "content",
    "action",
];

fn any_declared(el: &Element, out: &mut Vec<String>) {
    for c in &el.children {
        if !DTD_ELEMENTS.contains(&c.name.as_str()) {
            out.push(format!("<{}> is not declared in ra-api-1.dtd", c.name));
        }
        any_declared(c, out);
    }
}

fn no_text(el: &Element, out: &mut Vec<String>) {
    if !el.text.trim().is_empty() {
        out.push(format!("<{}> has stray text", ident(el)));
    }
}

/// What rgmanager reads: `start`, `stop` and `status` advertised with timeouts, only its
/// DTD's action names, its parameter attributes, at most one `primary` parameter, `inherit`
/// not combined with required/unique/primary, and a `name` usable as a cluster.conf tag.
pub fn check_rgmanager(doc: &Document) -> Vec<String> {
    let mut out = Vec::new();
    let r = &doc.root;
    if let Some(wrong) = wrong_root(r) {
        return vec![wrong];
    }
    match r.attr("name") {
        None => out.push("resource-agent has no name (rgmanager's cluster.conf tag)".into()),
        Some("action") => out.push("name \"action\" is reserved by rgmanager".into()),
        Some(n) if n.is_empty() || n.contains(char::is_whitespace) => out.push(format!(
            "name {n:?} is not usable as a cluster.conf element"
        )),
        Some(_) => {}
    }
    let mut primaries = 0;
    if let Some(ps) = r.child("parameters") {
        for p in ps.children_named("parameter") {
            attr_problems(
                p,
                &[
                    "name", "primary", "required", "inherit", "unique", "reconfig",
                ],
                &["name"],
                &mut out,
            );
            if is_one(p.attr("primary")) {
                primaries += 1;
            }
            if p.attr("inherit").is_some()
                && (is_one(p.attr("required"))
                    || is_one(p.attr("unique"))
                    || is_one(p.attr("primary")))
            {
                out.push(format!(
                    "<{}>: inherit cannot be combined with required/unique/primary",
                    ident(p)
                ));
            }
        }
    }
    if primaries > 1 {
        out.push(format!(
            "{primaries} primary parameters: rgmanager rejects the whole type"
        ));
    }
    let md = MetaData::from_document(doc);
    for a in &md.actions {
        if !RGMANAGER_ACTIONS.contains(&a.name.as_str()) {
            out.push(format!("action {:?} is not in rgmanager's DTD", a.name));
        }
        if a.timeout.is_none() {
            out.push(format!("action {:?} has no parseable timeout", a.name));
        }
    }
    for need in ["start", "stop", "status"] {
        if !md.advertises(need) {
            out.push(format!(
                "action {need:?} is not advertised: rgmanager never runs an unadvertised action"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD10: &str = r#"<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="X" version="0.1">
<version>1.0</version>
<longdesc lang="en">long &amp; text</longdesc>
<shortdesc lang="en">short</shortdesc>
<parameters>
<parameter name="state" required="1">
<longdesc lang="en">l</longdesc><shortdesc lang="en">s</shortdesc>
<content type="string" default="/x"/>
</parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s" depth="0"/>
<action name="monitor" timeout="30s" interval="60s" depth="10"/>
</actions>
</resource-agent>
"#;

    #[test]
    fn parses_and_accepts_good_meta_data() {
        let d = Document::parse(GOOD10.as_bytes()).unwrap();
        assert_eq!(
            d.doctype,
            Some(("resource-agent".into(), "ra-api-1.dtd".into()))
        );
        assert!(check_dtd(&d).is_empty(), "{:?}", check_dtd(&d));
        assert!(check_ocf11(&d).is_empty(), "{:?}", check_ocf11(&d));
        assert!(check_version(&d).is_empty());
        let md = MetaData::from_document(&d);
        assert_eq!(md.name, "X");
        assert_eq!(md.params[0].default.as_deref(), Some("/x"));
        assert!(md.params[0].required);
        assert_eq!(md.depths_of("monitor"), vec![0, 10]);
        assert_eq!(md.timeout_of("monitor"), Some(Duration::from_secs(30)));
        assert!(!md.claims_11());
        assert_eq!(
            d.root.child("longdesc").unwrap().text,
            "long & text".to_string()
        );
    }

    #[test]
    fn rejects_junk_and_broken_xml() {
        let junk = format!("starting...\n{GOOD10}");
        assert!(Document::parse(junk.as_bytes())
            .unwrap_err()
            .contains("not pure XML"));
        let after = format!("{GOOD10}done\n");
        assert!(Document::parse(after.as_bytes()).is_err());
        assert!(Document::parse(b"<a><b></a>").is_err());
        assert!(Document::parse(b"").is_err());
        assert!(Document::parse(b"<a/><b/>").is_err());
    }

    #[test]
    fn dtd_and_11_rules_catch_their_faults() {
        let no_doctype = GOOD10.replace("<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">", "");
        let d = Document::parse(no_doctype.as_bytes()).unwrap();
        assert!(check_dtd(&d)[0].contains("DOCTYPE"));
        let sel = GOOD10.replace(
            "<content type=\"string\" default=\"/x\"/>",
            "<content type=\"select\"><option value=\"a\"/></content>",
        );
        let d = Document::parse(sel.as_bytes()).unwrap();
        assert!(!check_dtd(&d).is_empty());
        assert!(check_ocf11(&d).is_empty(), "{:?}", check_ocf11(&d));
        let reload_agent = GOOD10.replace("name=\"start\"", "name=\"reload-agent\"");
        let d = Document::parse(reload_agent.as_bytes()).unwrap();
        assert!(check_dtd(&d).iter().any(|p| p.contains("reload-agent")));
        let bad_ver = GOOD10.replace("<version>1.0</version>", "<version>2.3.4</version>");
        let d = Document::parse(bad_ver.as_bytes()).unwrap();
        assert!(!check_version(&d).is_empty());
        let no_params = GOOD10.split("<parameters>").next().unwrap().to_string()
            + "<actions><action name=\"start\"/></actions></resource-agent>";
        let d = Document::parse(no_params.as_bytes()).unwrap();
        let p = check_ocf11(&d);
        assert!(p.iter().any(|s| s.contains("parameters")), "{p:?}");
        assert!(p.iter().any(|s| s.contains("timeout")), "{p:?}");
        assert!(!check_rgmanager(&d).is_empty());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("20"), Some(Duration::from_secs(20)));
        assert_eq!(parse_duration("20s"), Some(Duration::from_secs(20)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("x"), None);
    }
}
