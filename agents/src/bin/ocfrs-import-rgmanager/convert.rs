//! rgmanager services → a Pacemaker configuration (primitives, groups, constraints), with a
//! note for everything that has no exact equivalent.

use crate::agents::{map_resource, Mapped, Prim};
use crate::model::{flag, start_order, stop_order, Domain, Res, Rm, Service};
use std::collections::BTreeMap;

/// Location score of a domain member: priority 1 → 1000, 2 → 990, ... 100 → 10 (ordered
/// domains); every member 1000 in an unordered domain.
pub fn domain_score(d: &Domain, prio: u32) -> u32 {
    if d.ordered {
        1010 - 10 * prio.min(100)
    } else {
        1000
    }
}

/// Stickiness that keeps a service where it runs: above every location score an import
/// creates (1000), below INFINITY so that an admin's move still wins.
pub const STAY: &str = "2000";

/// A group: id, members in start order, meta attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Group {
    pub id: String,
    pub members: Vec<String>,
    pub meta: Vec<(String, String)>,
}

/// A constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// `rsc` prefers `node` with `score`.
    Prefer {
        id: String,
        rsc: String,
        node: String,
        score: u32,
    },
    /// `rsc` may run only on `nodes`.
    Only {
        id: String,
        rsc: String,
        nodes: Vec<String>,
    },
    /// `rsc` never on the node running `with`.
    Apart {
        id: String,
        rsc: String,
        with: String,
    },
    /// start `first`, then `then`; `mandatory` or optional.
    Order {
        id: String,
        first: String,
        then: String,
        mandatory: bool,
    },
}

/// The converted configuration.
#[derive(Debug, Clone, Default)]
pub struct Pcmk {
    pub source: String,
    pub prims: Vec<Prim>,
    pub groups: Vec<Group>,
    pub constraints: Vec<Constraint>,
    /// How something was translated (kept as comments).
    pub info: Vec<String>,
    /// What could not be translated, or only approximately (comments + summary).
    pub not_mapped: Vec<String>,
}

/// A Pacemaker id from free text: letters, digits, `.`, `-`, `_`; starts with a letter.
pub fn pcmk_id(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert_str(0, "rg-");
    }
    out
}

/// Node names are written into constraints as they are: refuse anything that is not a host
/// name.
fn check_node(n: &str) -> Result<(), String> {
    let ok = !n.is_empty()
        && n.len() <= 253
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{n}\" is not a node name (letters, digits, '.', '-', '_')"
        ))
    }
}

/// Options of a conversion.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// OCF provider of the mapped agents (default `ocfrs`).
    pub provider: String,
    /// rgmanager node name → Pacemaker node name.
    pub rename: BTreeMap<String, String>,
    /// rgmanager resource (`type:primary` or primary) → agent to use instead.
    pub map: BTreeMap<String, String>,
}

/// Convert.
///
/// # Errors
/// A node name that cannot be written into a constraint.
pub fn convert(rm: &Rm, opts: &Options) -> Result<Pcmk, String> {
    let mut p = Pcmk {
        source: rm.cluster_name.clone().unwrap_or_default(),
        ..Pcmk::default()
    };
    for (line, n) in &rm.notes {
        p.not_mapped.push(format!("line {line}: {n}"));
    }
    let node = |n: &str| -> Result<String, String> {
        let m = opts.rename.get(n).cloned().unwrap_or_else(|| n.to_string());
        check_node(&m)?;
        Ok(m)
    };
    let mut ids: Vec<String> = Vec::new();
    let mut unique = |id: String| -> String {
        let mut cand = id.clone();
        let mut k = 2;
        while ids.contains(&cand) {
            cand = format!("{id}-{k}");
            k += 1;
        }
        ids.push(cand.clone());
        cand
    };
    // Each service's top-level Pacemaker resource (group or primitive).
    let mut top: Vec<(String, &Service)> = Vec::new();
    for svc in &rm.services {
        let sid = unique(pcmk_id(&svc.name));
        let ctx = format!("{} \"{}\" (line {})", svc.kind, svc.name, svc.line);
        let mut meta: Vec<(String, String)> = Vec::new();
        let mut on_fail = Vec::new();
        service_policies(svc, &rm.domains, &ctx, &mut meta, &mut on_fail, &mut p);
        let mut placed = false;
        if svc.kind == "vm" {
            match map_resource(&vm_as_res(svc), &opts.provider, &opts.map) {
                Mapped::Prim(mut prim, info, nm) => {
                    prim.id = sid.clone();
                    prim.meta.extend(meta.clone());
                    for (op, v) in &on_fail {
                        prim.ops_on_fail(op, v);
                    }
                    p.info
                        .extend(info.into_iter().map(|i| format!("{ctx}: {i}")));
                    p.not_mapped
                        .extend(nm.into_iter().map(|i| format!("{ctx}: {i}")));
                    p.prims.push(prim);
                    placed = true;
                }
                Mapped::Skip(why) => p.not_mapped.push(format!("{ctx}: {why}")),
            }
        } else {
            let mut order: Vec<&Res> = Vec::new();
            start_order(&svc.children, &mut order);
            if order.is_empty() {
                p.not_mapped.push(format!(
                    "{ctx}: no resources; rgmanager only marks such a service started, Pacemaker \
                     has nothing to run: not converted"
                ));
            }
            let mut members = Vec::new();
            let mut nfs_server_present = order.iter().any(|r| r.rtype == "nfsserver");
            for (k, r) in order.iter().enumerate() {
                let rctx = format!("{ctx}, {} (line {})", r.label(), r.line);
                if r.rtype == "nfsexport" && nfs_server_present {
                    p.info.push(format!(
                        "{rctx}: the service's nfsserver already runs the NFS server; nothing \
                         else to start for it"
                    ));
                    continue;
                }
                match map_resource(r, &opts.provider, &opts.map) {
                    Mapped::Prim(mut prim, info, nm) => {
                        if r.rtype == "nfsexport" {
                            nfs_server_present = true;
                        }
                        prim.id = unique(pcmk_id(&format!(
                            "{}-{}-{}",
                            svc.name,
                            r.rtype,
                            r.primary()
                        )));
                        for (op, v) in &on_fail {
                            prim.ops_on_fail(op, v);
                        }
                        subtree_policies(r, k + 1 == order.len(), &rctx, &mut prim, &mut p);
                        p.info
                            .extend(info.into_iter().map(|i| format!("{rctx}: {i}")));
                        p.not_mapped
                            .extend(nm.into_iter().map(|i| format!("{rctx}: {i}")));
                        members.push(prim.id.clone());
                        p.prims.push(prim);
                    }
                    Mapped::Skip(why) => p.not_mapped.push(format!("{rctx}: {why}")),
                }
            }
            let mut stop: Vec<&Res> = Vec::new();
            stop_order("service", &svc.children, &mut stop);
            let rev: Vec<&Res> = order.iter().rev().copied().collect();
            if stop != rev {
                let names = |v: &[&Res]| v.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ");
                p.not_mapped.push(format!(
                    "{ctx}: rgmanager stops in the order {}; a Pacemaker group stops in reverse \
                     start order ({})",
                    names(&stop),
                    names(&rev)
                ));
            }
            if members.len() > 1 {
                p.info.push(format!(
                    "{ctx}: group members start in rgmanager's order (by resource type, parents \
                     before children): {}",
                    members.join(" ")
                ));
            }
            if !members.is_empty() {
                p.groups.push(Group {
                    id: sid.clone(),
                    members,
                    meta,
                });
                placed = true;
            }
        }
        if !placed {
            continue;
        }
        if let Some(dname) = svc.attrs.get("domain") {
            match rm.domains.iter().find(|d| &d.name == dname) {
                Some(d) => {
                    for (n, prio) in &d.nodes {
                        if !rm.nodes.is_empty() && !rm.nodes.contains(n) {
                            p.not_mapped.push(format!(
                                "{ctx}: failover domain \"{}\" lists {n}, which is not a \
                                 <clusternode>: its constraint names a node Pacemaker may not know",
                                d.name
                            ));
                        }
                        let n = node(n)?;
                        p.constraints.push(Constraint::Prefer {
                            id: format!("loc-{sid}-{n}"),
                            rsc: sid.clone(),
                            node: n,
                            score: domain_score(d, *prio),
                        });
                    }
                    if d.restricted {
                        let nodes = d
                            .nodes
                            .iter()
                            .map(|(n, _)| node(n))
                            .collect::<Result<Vec<_>, _>>()?;
                        if nodes.is_empty() {
                            p.not_mapped.push(format!(
                                "{ctx}: restricted domain \"{}\" has no nodes: the service can \
                                 run nowhere (left out)",
                                d.name
                            ));
                        } else {
                            p.constraints.push(Constraint::Only {
                                id: format!("dom-{sid}"),
                                rsc: sid.clone(),
                                nodes,
                            });
                        }
                    }
                    p.info.push(format!(
                        "{ctx}: failover domain \"{}\" ({}, {}, {}) → location constraints",
                        d.name,
                        if d.ordered { "ordered" } else { "unordered" },
                        if d.restricted {
                            "restricted"
                        } else {
                            "unrestricted"
                        },
                        if d.nofailback {
                            "nofailback"
                        } else {
                            "failback"
                        }
                    ));
                }
                None => p.not_mapped.push(format!(
                    "{ctx}: domain=\"{dname}\" names no failover domain: no location \
                     constraints (rgmanager runs it anywhere)"
                )),
            }
        }
        top.push((sid, svc));
    }
    // Exclusive services and dependencies between services.
    for (sid, svc) in &top {
        if flag(&svc.attrs, "exclusive") {
            for (other, _) in top.iter().filter(|(o, _)| o != sid) {
                // Two exclusive services: one constraint between them is enough (a pair in
                // both directions would be a colocation loop).
                let done = p.constraints.iter().any(|c| {
                    matches!(c, Constraint::Apart { rsc, with, .. } if rsc == sid && with == other)
                });
                if done {
                    continue;
                }
                p.constraints.push(Constraint::Apart {
                    id: format!("excl-{other}-{sid}"),
                    rsc: other.clone(),
                    with: sid.clone(),
                });
            }
            p.info.push(format!(
                "{} \"{}\": exclusive → every other service keeps off its node (-INFINITY \
                 colocation); it is placed first, so when nodes run short Pacemaker stops another \
                 service where rgmanager would leave the exclusive one stopped",
                svc.kind, svc.name
            ));
        }
        if let Some(dep) = svc.attrs.get("depend") {
            let target = dep.split_once(':').map(|(_, n)| n).unwrap_or(dep.as_str());
            match top.iter().find(|(_, s)| s.name == target) {
                Some((tid, _)) => {
                    let soft = svc.attrs.get("depend_mode").map(String::as_str) == Some("soft");
                    p.constraints.push(Constraint::Order {
                        id: format!("dep-{tid}-{sid}"),
                        first: tid.clone(),
                        then: sid.clone(),
                        mandatory: !soft,
                    });
                    p.info.push(format!(
                        "{} \"{}\": depend=\"{dep}\" → start after \"{target}\" ({})",
                        svc.kind,
                        svc.name,
                        if soft {
                            "optional order: it keeps running when the other stops"
                        } else {
                            "mandatory order: it stops when the other stops"
                        }
                    ));
                }
                None => p.not_mapped.push(format!(
                    "{} \"{}\": depend=\"{dep}\" names no converted service",
                    svc.kind, svc.name
                )),
            }
        }
    }
    // Duplicate ids between groups and their own primitives cannot happen (primitive ids carry
    // the type), but a service named like another's primitive could: checked by `unique`.
    Ok(p)
}

/// A vm service as a resource for the agent mapping.
fn vm_as_res(svc: &Service) -> Res {
    Res {
        rtype: "vm".into(),
        attrs: svc.attrs.clone(),
        line: svc.line,
        ..Res::default()
    }
}

/// The attributes of a `<service>` (or `<vm>`) the conversion of the service itself handles.
pub const SERVICE_ATTRS_HANDLED: &[&str] = &[
    "name",
    "domain",
    "autostart",
    "exclusive",
    "recovery",
    "max_restarts",
    "restart_expire_time",
    "depend",
    "depend_mode",
];

/// Seconds in an rgmanager time value (`300`, `5m`, `1h`, `2d`).
pub fn seconds(v: &str) -> Option<u64> {
    let v = v.trim();
    let (num, mul) = match v.char_indices().last()? {
        (i, 's') => (&v[..i], 1),
        (i, 'm') => (&v[..i], 60),
        (i, 'h') => (&v[..i], 3600),
        (i, 'd') => (&v[..i], 86_400),
        _ => (v, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

/// The service's policies as meta attributes: failback (stickiness), autostart,
/// recovery with max_restarts / restart_expire_time.
fn service_policies(
    svc: &Service,
    domains: &[Domain],
    ctx: &str,
    meta: &mut Vec<(String, String)>,
    on_fail: &mut Vec<(&'static str, &'static str)>,
    p: &mut Pcmk,
) {
    let a = &svc.attrs;
    // Stickiness: where the domain says "fail back", only a tie-breaker (1) so that the
    // better node wins; otherwise enough to stay.
    let dom = a
        .get("domain")
        .and_then(|d| domains.iter().find(|x| &x.name == d));
    let (value, why) = match dom {
        Some(d) if d.ordered && !d.nofailback => (
            "1",
            "ordered domain with failback: the best node wins, stickiness only breaks ties",
        ),
        Some(d) if d.nofailback => (
            STAY,
            "nofailback: stays where it runs until an admin moves it",
        ),
        _ => (
            STAY,
            "no ordered domain: rgmanager never moves a running service by itself",
        ),
    };
    meta.push(("resource-stickiness".into(), value.into()));
    p.info
        .push(format!("{ctx}: resource-stickiness={value} ({why})"));
    let recovery = a.get("recovery").map(String::as_str).unwrap_or("restart");
    let max_restarts = a
        .get("max_restarts")
        .map(|v| v.trim().parse::<u32>().map_err(|_| v.clone()));
    let expire = a
        .get("restart_expire_time")
        .map(|v| (v.clone(), seconds(v)));
    match recovery {
        "restart" | "restart-disable" => {
            match max_restarts {
                Some(Ok(n)) if n > 0 => {
                    meta.push(("migration-threshold".into(), (n + 1).to_string()));
                    p.info.push(format!(
                        "{ctx}: recovery={recovery} max_restarts={n} → migration-threshold={} \
                         ({n} restarts in place, then {}; Pacemaker counts the failures of each member \
                         separately, rgmanager those of the whole service)",
                        n + 1,
                        if recovery == "restart" {
                            "relocation"
                        } else {
                            "relocation (rgmanager would disable it)"
                        }
                    ));
                    if recovery == "restart-disable" {
                        p.not_mapped.push(format!(
                            "{ctx}: recovery=restart-disable with max_restarts: after the \
                             restarts rgmanager disables the service; Pacemaker's \
                             migration-threshold relocates it instead (no setting stops it \
                             after N failures)"
                        ));
                    }
                }
                Some(Err(v)) => p.not_mapped.push(format!(
                    "{ctx}: max_restarts=\"{v}\" is not a number: ignored"
                )),
                _ => {}
            }
            if recovery == "restart-disable" {
                on_fail.push(("start", "stop"));
                p.info.push(format!(
                    "{ctx}: recovery=restart-disable → restart in place; a failed start \
                     stops it for good (op start on-fail=stop)"
                ));
            }
        }
        "relocate" => {
            meta.push(("migration-threshold".into(), "1".into()));
            p.info.push(format!(
                "{ctx}: recovery=relocate → migration-threshold=1 (move at the first failure)"
            ));
            if max_restarts.is_some() {
                p.not_mapped.push(format!(
                    "{ctx}: max_restarts applies to recovery=restart only (ignored, as \
                     rgmanager does)"
                ));
            }
        }
        "disable" => {
            on_fail.push(("monitor", "stop"));
            on_fail.push(("start", "stop"));
            p.info.push(format!(
                "{ctx}: recovery=disable → on-fail=stop for start and monitor (stopped and left \
                 stopped)"
            ));
        }
        other => p.not_mapped.push(format!(
            "{ctx}: recovery=\"{other}\" is not an rgmanager policy: default restart used"
        )),
    }
    if let Some((raw, secs)) = expire {
        match secs {
            Some(0) => {}
            Some(s) if meta.iter().any(|(k, _)| k == "migration-threshold") => {
                meta.push(("failure-timeout".into(), format!("{s}s")));
                p.info.push(format!(
                    "{ctx}: restart_expire_time={raw} → failure-timeout={s}s (Pacemaker forgets \
                     all failures {s}s after the last one, rgmanager each restart {s}s after it \
                     happened; checked at the next recheck, cluster-recheck-interval)"
                ));
            }
            Some(_) => p.not_mapped.push(format!(
                "{ctx}: restart_expire_time={raw} without max_restarts has no effect (ignored)"
            )),
            None => p.not_mapped.push(format!(
                "{ctx}: restart_expire_time=\"{raw}\" is not a time: ignored"
            )),
        }
    }
    if let Some("0" | "no" | "false") = a.get("autostart").map(|v| v.trim()) {
        meta.push(("target-role".into(), "Stopped".into()));
        p.info.push(format!(
            "{ctx}: autostart=0 → target-role=Stopped (start it with crm resource start / \
             pcs resource enable)"
        ));
    }
    for (k, v) in a {
        if SERVICE_ATTRS_HANDLED.contains(&k.as_str()) {
            continue;
        }
        if svc.kind == "vm" && crate::agents::VM_ATTRS.contains(&k.as_str()) {
            continue;
        }
        let why = match k.as_str() {
            "nfslock" => "NFS lock reclaim on failover: use ocf:ocfrs:nfsserver with \
                          nfs_shared_infodir on the shared filesystem"
                .to_string(),
            "nfs_client_cache" => "exportfs caches nothing to turn on".to_string(),
            "priority" => "rgmanager's central_processing start priority has no Pacemaker \
                           equivalent here (Pacemaker's priority meta attribute decides which \
                           resources stay up when not all can run)"
                .to_string(),
            "hardrecovery" => "reboot the node when a stop fails: Pacemaker fences such a node \
                               when stonith is enabled"
                .to_string(),
            _ => "not understood".to_string(),
        };
        p.not_mapped
            .push(format!("{ctx}: {k}=\"{v}\": {why}; not converted"));
    }
}

/// `__independent_subtree`, `__max_restarts`, `__restart_expire_time`, `__enforce_timeouts`,
/// `__max_failures`, `__failure_expire_time` of one resource.
fn subtree_policies(r: &Res, last: bool, ctx: &str, prim: &mut Prim, p: &mut Pcmk) {
    match r.attrs.get("__independent_subtree").map(|v| v.trim()) {
        None | Some("0") => {}
        Some("1") => {
            if last && r.children.is_empty() {
                p.info.push(format!(
                    "{ctx}: __independent_subtree=1 → as a group's last member it is restarted \
                     alone on failure (Pacemaker's group behaviour)"
                ));
            } else {
                p.not_mapped.push(format!(
                    "{ctx}: __independent_subtree=1: Pacemaker restarts a failed group member \
                     together with every member after it in the group (not only its subtree)"
                ));
            }
        }
        Some("2") => {
            prim.ops_on_fail("monitor", "stop");
            p.info.push(format!(
                "{ctx}: __independent_subtree=2 (non-critical) → on-fail=stop on its monitor"
            ));
            if !last {
                p.not_mapped.push(format!(
                    "{ctx}: __independent_subtree=2: when it stops, the group members after it \
                     stop too (rgmanager keeps the rest of the service running)"
                ));
            }
        }
        Some(v) => p.not_mapped.push(format!(
            "{ctx}: __independent_subtree=\"{v}\" not understood"
        )),
    }
    if let Some(n) = r.attrs.get("__max_restarts") {
        match n.trim().parse::<u32>() {
            Ok(n) if n > 0 => {
                prim.meta
                    .push(("migration-threshold".into(), (n + 1).to_string()));
                if let Some(s) = r
                    .attrs
                    .get("__restart_expire_time")
                    .and_then(|v| seconds(v))
                {
                    if s > 0 {
                        prim.meta.push(("failure-timeout".into(), format!("{s}s")));
                    }
                }
                p.info.push(format!(
                    "{ctx}: __max_restarts={n} → migration-threshold={} on this member (then the \
                     whole group moves, as rgmanager escalates to the service's recovery)",
                    n + 1
                ));
            }
            _ => {}
        }
    }
    if r.attrs.contains_key("__enforce_timeouts") {
        p.info.push(format!(
            "{ctx}: __enforce_timeouts: Pacemaker always enforces operation timeouts"
        ));
    }
    for k in ["__max_failures", "__failure_expire_time"] {
        if let Some(v) = r.attrs.get(k) {
            p.not_mapped.push(format!(
                "{ctx}: {k}=\"{v}\" (tolerate status failures): Pacemaker reacts to the first \
                 failed monitor; not converted"
            ));
        }
    }
}
