//! rgmanager's `<rm>` section as rgmanager reads it: failover domains, services (and vm
//! services) with their resource trees, `ref=` resolved, inherited attributes filled in and
//! children put in rgmanager's start order.

use crate::xml::Elem;
use std::collections::BTreeMap;

/// A failover domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Domain {
    pub name: String,
    pub ordered: bool,
    pub restricted: bool,
    pub nofailback: bool,
    /// (node, priority 1..100; 1 is the most preferred).
    pub nodes: Vec<(String, u32)>,
    pub line: usize,
}

/// One resource of a service tree, after `ref=` resolution and inheritance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Res {
    /// rgmanager type (element name): ip, fs, script, ...
    pub rtype: String,
    /// Effective attributes (own, then inherited), without `ref`.
    pub attrs: BTreeMap<String, String>,
    /// Attributes that came from an ancestor, not from the resource itself.
    pub inherited: Vec<String>,
    /// `<action>` overrides (name, attributes).
    pub actions: Vec<BTreeMap<String, String>>,
    /// Child resources in rgmanager's start order.
    pub children: Vec<Res>,
    /// Other child elements (not resources): reported.
    pub line: usize,
}

impl Res {
    /// The value rgmanager names the resource by (its primary attribute).
    pub fn primary(&self) -> String {
        let key = primary_attr(&self.rtype);
        self.attrs
            .get(key)
            .or_else(|| self.attrs.get("name"))
            .cloned()
            .unwrap_or_default()
    }

    /// `type "primary"`, for messages.
    pub fn label(&self) -> String {
        format!("{} \"{}\"", self.rtype, self.primary())
    }
}

/// A service (`<service>`) or a virtual machine service (`<vm>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    /// `service` or `vm`.
    pub kind: String,
    pub attrs: BTreeMap<String, String>,
    pub children: Vec<Res>,
    pub line: usize,
}

/// The `<rm>` section read, plus what was found around it.
#[derive(Debug, Clone, Default)]
pub struct Rm {
    pub cluster_name: Option<String>,
    pub nodes: Vec<String>,
    pub domains: Vec<Domain>,
    pub services: Vec<Service>,
    /// Things read but not converted: (line, message). Each becomes a "not mapped" note.
    pub notes: Vec<(usize, String)>,
}

/// The attribute rgmanager uses as a resource's name.
pub fn primary_attr(rtype: &str) -> &'static str {
    match rtype {
        "ip" => "address",
        _ => "name",
    }
}

/// (start level, stop level) of a child type under a parent type (rgmanager's
/// `<child type=.. start=.. stop=..>` rules of the stock agents); `None`: untyped child,
/// started after the typed ones in file order and stopped before them in reverse order.
pub fn child_levels(parent: &str, child: &str) -> Option<(u32, u32)> {
    match (parent, child) {
        ("service", "lvm") => Some((1, 9)),
        ("service", "fs") => Some((2, 8)),
        ("service", "clusterfs") => Some((3, 7)),
        ("service", "netfs") => Some((4, 6)),
        ("service", "nfsexport") => Some((5, 5)),
        ("service", "nfsclient") => Some((6, 4)),
        ("service", "ip") => Some((7, 2)),
        ("service", "smb") => Some((8, 3)),
        ("service", "script") => Some((9, 1)),
        ("fs" | "clusterfs", "fs" | "clusterfs") => Some((1, 3)),
        ("fs" | "clusterfs", "nfsexport") => Some((3, 1)),
        ("nfsexport", "nfsclient") => Some((1, 1)),
        ("nfsserver", "nfsclient") => Some((1, 2)),
        ("nfsserver", "ip") => Some((2, 1)),
        _ => None,
    }
}

/// Child types a parent type refuses (`forbid="1"`).
fn forbidden(parent: &str, child: &str) -> bool {
    matches!(
        (parent, child),
        ("ip", "nfsclient" | "nfsexport") | ("nfsserver", "nfsexport" | "nfsserver")
    )
}

/// Attribute `attr` of a `rtype` resource inherited from its parent: the parent's attribute
/// of that name (`None`: not inherited). `service%x` rules are handled by the caller.
fn inherit_from_parent(rtype: &str, attr: &str) -> Option<&'static str> {
    match (rtype, attr) {
        ("nfsexport", "device") => Some("device"),
        ("nfsexport", "path") => Some("mountpoint"),
        ("nfsexport", "fsid") => Some("fsid"),
        ("nfsclient", "path") => Some("path"),
        ("nfsclient", "fsid") => Some("fsid"),
        ("nfsserver", "path") => Some("mountpoint"),
        _ => None,
    }
}

/// The inheritable attributes of each type (own value wins when both exist).
fn inheritable(rtype: &str) -> &'static [&'static str] {
    match rtype {
        "nfsexport" => &["device", "path", "fsid"],
        "nfsclient" => &["path", "fsid"],
        "nfsserver" => &["path"],
        _ => &[],
    }
}

/// Attributes a resource may have that name the service it is in (`service%name`).
fn inherits_service_name(rtype: &str) -> &'static [&'static str] {
    match rtype {
        "nfsclient" => &["svcname"],
        "apache" | "mysql" | "postgres-8" | "tomcat-6" | "openldap" | "samba" => &["service_name"],
        _ => &[],
    }
}

/// Whether `name` is an element that may appear as a resource.
fn is_resource_element(name: &str) -> bool {
    !matches!(name, "action")
}

fn truthy(v: Option<&str>) -> bool {
    matches!(
        v.map(str::trim).map(str::to_ascii_lowercase).as_deref(),
        Some("1" | "yes" | "true" | "on" | "y")
    )
}

/// Read a cluster.conf root (`<cluster>` or a bare `<rm>`).
///
/// # Errors
/// A structural error that makes the configuration meaningless: no `<rm>`, a `ref=` to an
/// undeclared resource, a service without a name, a domain reused with another meaning.
pub fn read(root: &Elem) -> Result<Rm, String> {
    let mut rm_out = Rm::default();
    let rm = match root.name.as_str() {
        "rm" => root,
        "cluster" => {
            rm_out.cluster_name = root.get("name").map(str::to_string);
            for c in &root.children {
                match c.name.as_str() {
                    "rm" => {}
                    "clusternodes" => {
                        for n in c.children_named("clusternode") {
                            if let Some(name) = n.get("name") {
                                rm_out.nodes.push(name.to_string());
                            }
                        }
                    }
                    other => rm_out.notes.push((
                        c.line,
                        format!(
                            "<{other}> is outside <rm> and not converted (corosync, quorum and \
                             fencing are configured separately in Pacemaker: corosync.conf, \
                             stonith resources)"
                        ),
                    )),
                }
            }
            let mut rms = root.children_named("rm");
            let rm = rms
                .next()
                .ok_or("no <rm> section in <cluster>: nothing to import")?;
            if rms.next().is_some() {
                return Err("more than one <rm> section".into());
            }
            rm
        }
        other => {
            return Err(format!(
                "the root element is <{other}>; expected <cluster> (a cluster.conf) or <rm>"
            ))
        }
    };
    for (k, _) in &rm.attrs {
        rm_out.notes.push((
            rm.line,
            format!("<rm {k}=...>: rgmanager daemon setting, no Pacemaker equivalent converted"),
        ));
    }
    // Declared resources, by (type, primary).
    let mut declared: BTreeMap<(String, String), &Elem> = BTreeMap::new();
    for res in rm.children_named("resources") {
        for r in &res.children {
            let key = primary_attr(&r.name);
            let Some(p) = r.get(key).or_else(|| r.get("name")) else {
                return Err(format!(
                    "line {}: <{}> in <resources> has no {key}= (rgmanager drops it and every \
                     later <{}> of that section)",
                    r.line, r.name, r.name
                ));
            };
            if declared
                .insert((r.name.clone(), p.to_string()), r)
                .is_some()
            {
                return Err(format!(
                    "line {}: <{} {key}=\"{p}\"> declared twice in <resources>",
                    r.line, r.name
                ));
            }
        }
    }
    let mut used: Vec<(String, String)> = Vec::new();
    for c in &rm.children {
        match c.name.as_str() {
            "resources" => {}
            "failoverdomains" => {
                for d in &c.children {
                    if d.name != "failoverdomain" {
                        rm_out.notes.push((
                            d.line,
                            format!("<{}> in <failoverdomains> not understood", d.name),
                        ));
                        continue;
                    }
                    rm_out.domains.push(read_domain(d, &mut rm_out.notes)?);
                }
            }
            "service" | "vm" => {
                let name = c
                    .get("name")
                    .ok_or_else(|| format!("line {}: <{}> without name=", c.line, c.name))?;
                let mut attrs: BTreeMap<String, String> = c
                    .attrs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                // A vm referring to a declared <vm> in <resources>.
                if let Some(r) = c.get("ref") {
                    let d = declared
                        .get(&(c.name.clone(), r.to_string()))
                        .ok_or_else(|| {
                            format!("line {}: <{} ref=\"{r}\">: not declared", c.line, c.name)
                        })?;
                    for (k, v) in &d.attrs {
                        attrs.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                    attrs.remove("ref");
                }
                let mut svc = Service {
                    name: name.to_string(),
                    kind: c.name.clone(),
                    attrs,
                    children: Vec::new(),
                    line: c.line,
                };
                let mut ctx = Ctx {
                    declared: &declared,
                    used: &mut used,
                    notes: &mut rm_out.notes,
                    service: name.to_string(),
                };
                let mut kids = Vec::new();
                for k in &c.children {
                    if k.name == "action" {
                        ctx.notes.push((
                            k.line,
                            format!("<action> of {} \"{name}\" not converted", c.name),
                        ));
                        continue;
                    }
                    kids.push(resolve(k, &c.name, &BTreeMap::new(), &mut ctx)?);
                }
                svc.children = order_children(&c.name, kids);
                if rm_out.services.iter().any(|s| s.name == svc.name) {
                    return Err(format!(
                        "line {}: a second service named \"{}\"",
                        c.line, svc.name
                    ));
                }
                rm_out.services.push(svc);
            }
            "events" => rm_out.notes.push((
                c.line,
                "<events> (central_processing event scripts) has no Pacemaker equivalent; \
                 not converted (Pacemaker's alerts run scripts on events but cannot change \
                 placement)"
                    .into(),
            )),
            other => rm_out.notes.push((
                c.line,
                format!("<{other}> in <rm> not understood, not converted"),
            )),
        }
    }
    for ((t, p), e) in &declared {
        if !used.iter().any(|(ut, up)| ut == t && up == p) && t != "vm" {
            rm_out.notes.push((
                e.line,
                format!("<{t}> \"{p}\" is declared in <resources> but used by no service: not converted"),
            ));
        }
    }
    Ok(rm_out)
}

fn read_domain(d: &Elem, notes: &mut Vec<(usize, String)>) -> Result<Domain, String> {
    let name = d
        .get("name")
        .ok_or_else(|| format!("line {}: <failoverdomain> without name=", d.line))?;
    for (k, _) in &d.attrs {
        if !matches!(k.as_str(), "name" | "ordered" | "restricted" | "nofailback") {
            notes.push((
                d.line,
                format!("<failoverdomain name=\"{name}\" {k}=...> not understood, not converted"),
            ));
        }
    }
    let mut dom = Domain {
        name: name.to_string(),
        ordered: truthy(d.get("ordered")),
        restricted: truthy(d.get("restricted")),
        nofailback: truthy(d.get("nofailback")),
        nodes: Vec::new(),
        line: d.line,
    };
    for n in &d.children {
        if n.name != "failoverdomainnode" {
            notes.push((
                n.line,
                format!("<{}> in failover domain \"{name}\" not understood", n.name),
            ));
            continue;
        }
        let node = n
            .get("name")
            .ok_or_else(|| format!("line {}: <failoverdomainnode> without name=", n.line))?;
        let prio = match n.get("priority") {
            None => 1,
            Some(p) => match p.trim().parse::<u32>() {
                Ok(v) if (1..=100).contains(&v) => v,
                _ => {
                    return Err(format!(
                    "line {}: failover domain \"{name}\": priority=\"{p}\" of {node} is not 1..100",
                    n.line
                ))
                }
            },
        };
        if dom.nodes.iter().any(|(x, _)| x == node) {
            return Err(format!(
                "line {}: failover domain \"{name}\" lists {node} twice",
                n.line
            ));
        }
        dom.nodes.push((node.to_string(), prio));
    }
    Ok(dom)
}

struct Ctx<'a> {
    declared: &'a BTreeMap<(String, String), &'a Elem>,
    used: &'a mut Vec<(String, String)>,
    notes: &'a mut Vec<(usize, String)>,
    service: String,
}

/// Resolve one resource element under parent type `parent` whose effective attributes are
/// `pattrs`.
fn resolve(
    e: &Elem,
    parent: &str,
    pattrs: &BTreeMap<String, String>,
    ctx: &mut Ctx<'_>,
) -> Result<Res, String> {
    let mut attrs: BTreeMap<String, String> = BTreeMap::new();
    if let Some(r) = e.get("ref") {
        let d = ctx
            .declared
            .get(&(e.name.clone(), r.to_string()))
            .ok_or_else(|| {
                format!(
                    "line {}: <{} ref=\"{r}\"> in service \"{}\": no <{}> with {}=\"{r}\" in <resources>",
                    e.line,
                    e.name,
                    ctx.service,
                    e.name,
                    primary_attr(&e.name)
                )
            })?;
        ctx.used.push((e.name.clone(), r.to_string()));
        for (k, v) in &d.attrs {
            attrs.insert(k.clone(), v.clone());
        }
        // Children declared under the <resources> entry come first.
        if !d.children.is_empty() {
            ctx.notes.push((
                d.line,
                format!(
                    "<{} \"{r}\"> has children in <resources>; they are used in service \"{}\"",
                    e.name, ctx.service
                ),
            ));
        }
    }
    for (k, v) in &e.attrs {
        if k != "ref" {
            attrs.insert(k.clone(), v.clone());
        }
    }
    if forbidden(parent, &e.name) {
        return Err(format!(
            "line {}: <{}> may not be a child of <{parent}> (rgmanager's rules forbid it)",
            e.line, e.name
        ));
    }
    let mut inherited = Vec::new();
    for a in inheritable(&e.name) {
        if attrs.contains_key(*a) {
            continue;
        }
        if let Some(from) = inherit_from_parent(&e.name, a) {
            if let Some(v) = pattrs.get(from) {
                attrs.insert((*a).to_string(), v.clone());
                inherited.push((*a).to_string());
            }
        }
    }
    for a in inherits_service_name(&e.name) {
        if !attrs.contains_key(*a) {
            attrs.insert((*a).to_string(), ctx.service.clone());
            inherited.push((*a).to_string());
        }
    }
    let mut actions = Vec::new();
    let mut kids = Vec::new();
    let mut sources: Vec<&Elem> = Vec::new();
    if let Some(r) = e.get("ref") {
        if let Some(d) = ctx.declared.get(&(e.name.clone(), r.to_string())) {
            sources.extend(d.children.iter());
        }
    }
    sources.extend(e.children.iter());
    for k in sources {
        if !is_resource_element(&k.name) {
            actions.push(
                k.attrs
                    .iter()
                    .map(|(a, b)| (a.clone(), b.clone()))
                    .collect(),
            );
            continue;
        }
        kids.push(resolve(k, &e.name, &attrs, ctx)?);
    }
    Ok(Res {
        rtype: e.name.clone(),
        attrs,
        inherited,
        actions,
        children: order_children(&e.name, kids),
        line: e.line,
    })
}

/// Children in rgmanager's start order: typed ones by start level (file order within a
/// level), then untyped ones in file order.
fn order_children(parent: &str, kids: Vec<Res>) -> Vec<Res> {
    let mut idx: Vec<(usize, Res)> = kids.into_iter().enumerate().collect();
    idx.sort_by_key(|(i, r)| match child_levels(parent, &r.rtype) {
        Some((start, _)) => (0, start, *i),
        None => (1, 0, *i),
    });
    idx.into_iter().map(|(_, r)| r).collect()
}

/// Flattened start order of a tree (parent before children).
pub fn start_order<'a>(kids: &'a [Res], out: &mut Vec<&'a Res>) {
    for k in kids {
        out.push(k);
        start_order(&k.children, out);
    }
}

/// Flattened stop order as rgmanager does it: children before their parent; among
/// siblings, untyped ones first in reverse file order, then typed ones by stop level.
pub fn stop_order<'a>(parent: &str, kids: &'a [Res], out: &mut Vec<&'a Res>) {
    let mut sib: Vec<(usize, &Res)> = kids.iter().enumerate().collect();
    sib.sort_by_key(|(i, r)| match child_levels(parent, &r.rtype) {
        Some((_, stop)) => (1, stop, *i as i64),
        None => (0, 0, -(*i as i64)),
    });
    for (_, k) in sib {
        stop_order(&k.rtype, &k.children, out);
        out.push(k);
    }
}

/// Whether a truthy rgmanager flag is set.
pub fn flag(attrs: &BTreeMap<String, String>, k: &str) -> bool {
    truthy(attrs.get(k).map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::parse;

    fn rm(text: &str) -> Rm {
        read(&parse(text.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn children_in_rgmanager_order_and_inheritance() {
        let r = rm(r#"<cluster name="c"><rm>
            <resources><fs name="data" device="/dev/sdb1" mountpoint="/srv/nfs" fsid="7"/></resources>
            <service name="nfs">
              <script name="app" file="/etc/init.d/app"/>
              <ip address="10.0.0.5"/>
              <fs ref="data">
                <nfsexport name="exp"><nfsclient name="all" target="*" options="rw"/></nfsexport>
              </fs>
            </service></rm></cluster>"#);
        let s = &r.services[0];
        let mut order = Vec::new();
        start_order(&s.children, &mut order);
        let types: Vec<&str> = order.iter().map(|x| x.rtype.as_str()).collect();
        assert_eq!(types, ["fs", "nfsexport", "nfsclient", "ip", "script"]);
        assert_eq!(order[2].attrs["path"], "/srv/nfs");
        assert_eq!(order[2].attrs["fsid"], "7");
        assert_eq!(order[2].attrs["svcname"], "nfs");
        assert_eq!(order[1].attrs["device"], "/dev/sdb1");
        let mut stop = Vec::new();
        stop_order("service", &s.children, &mut stop);
        let types: Vec<&str> = stop.iter().map(|x| x.rtype.as_str()).collect();
        assert_eq!(types, ["script", "ip", "nfsclient", "nfsexport", "fs"]);
    }

    #[test]
    fn untyped_children_after_typed_ones() {
        let r = rm(r#"<rm><service name="web">
              <apache name="www"/><ip address="10.0.0.5"/><fs name="d" device="/dev/x" mountpoint="/d"/>
              <mysql name="db"/></service></rm>"#);
        let mut order = Vec::new();
        start_order(&r.services[0].children, &mut order);
        let t: Vec<&str> = order.iter().map(|x| x.rtype.as_str()).collect();
        assert_eq!(t, ["fs", "ip", "apache", "mysql"]);
        let mut stop = Vec::new();
        stop_order("service", &r.services[0].children, &mut stop);
        let t: Vec<&str> = stop.iter().map(|x| x.rtype.as_str()).collect();
        assert_eq!(t, ["mysql", "apache", "ip", "fs"]);
    }

    #[test]
    fn structural_errors() {
        for (bad, what) in [
            ("<rm><service name=\"a\"><ip ref=\"1.2.3.4\"/></service></rm>", "no <ip> with address"),
            ("<rm><service/></rm>", "without name"),
            ("<foo/>", "root element"),
            ("<cluster/>", "no <rm>"),
            ("<rm><service name=\"a\"><ip address=\"1.1.1.1\"><nfsclient name=\"c\"/></ip></service></rm>", "forbid"),
            ("<rm><failoverdomains><failoverdomain name=\"d\"><failoverdomainnode name=\"n1\" priority=\"0\"/></failoverdomain></failoverdomains></rm>", "1..100"),
            ("<rm><service name=\"a\"/><service name=\"a\"/></rm>", "second service"),
        ] {
            let e = read(&parse(bad.as_bytes()).unwrap()).unwrap_err();
            assert!(e.contains(what), "{bad}: {e}");
        }
    }

    #[test]
    fn unused_and_unknown_are_noted() {
        let r = rm(
            r#"<cluster name="c"><cman two_node="1"/><fencedevices/><rm log_level="7">
            <resources><ip address="10.0.0.9"/></resources><events/><weird/></rm></cluster>"#,
        );
        let all: String = r.notes.iter().map(|(_, m)| m.clone() + "\n").collect();
        for w in [
            "<cman>",
            "<fencedevices>",
            "log_level",
            "10.0.0.9",
            "<events>",
            "<weird>",
        ] {
            assert!(all.contains(w), "{w} not noted: {all}");
        }
    }
}
