//! The host side: netlink, the network namespace, and interface discovery (findif): which
//! interface and prefix the address belongs to, and whether it is served there.

use super::*;

/// Map a netlink failure to an OCF code: privilege → 4, everything else → 1.
pub fn net_error(e: &NetError) -> Error {
    if e.is_permission() {
        Error::perm(format!("{e} (root with CAP_NET_ADMIN is needed)"))
    } else {
        Error::generic(e.to_string())
    }
}

pub(super) fn open(cx: &Context) -> Result<Netlink> {
    Netlink::open(cx.deadline).map_err(|e| net_error(&e))
}

pub(super) fn enter_namespace(cfg: &Config) -> Result<()> {
    let Some(ns) = &cfg.netns else {
        return Ok(());
    };
    net::enter_netns(ns).map_err(|e| match e.errno {
        Some(libc::ENOENT) => Error::installed(format!(
            "network namespace {ns} does not exist (/run/netns/{ns})"
        )),
        _ if e.is_permission() => Error::perm(e.to_string()),
        _ => Error::generic(e.to_string()),
    })
}

/// Why discovery failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindError {
    /// The named interface does not exist.
    NoSuchNic(String),
    /// No route selects an interface or prefix.
    NoRoute(String),
}

/// findif: choose the interface, prefix and broadcast for `cfg` from `links` and `routes`.
///
/// When no route qualifies but the address itself is already on the named interface (or,
/// without `nic`, on one non-loopback interface), that interface and prefix are used: an
/// administratively down interface loses its routes, and the address on it must still be
/// recognised (monitor 7 for a down link, stop and start acting on it).
///
/// # Errors
/// [`FindError`] with the reason.
pub fn find_target(
    cfg: &Config,
    links: &[Link],
    routes: &[Route],
    addrs: &[Addr],
) -> std::result::Result<Target, FindError> {
    let named = match &cfg.nic {
        Some(n) => Some(
            links
                .iter()
                .find(|l| l.answers_to(n))
                .ok_or_else(|| FindError::NoSuchNic(n.clone()))?,
        ),
        None => None,
    };
    let host_len = if cfg.v6() { 128 } else { 32 };
    let (link, prefix) = match (named, cfg.prefix) {
        (Some(l), Some(p)) => (l.clone(), p),
        _ => {
            let want = cfg.prefix.unwrap_or(host_len);
            let usable = |r: &&Route| {
                r.dst_len > 0
                    && r.gateway.is_none()
                    && r.covers(cfg.ip, want)
                    && cfg.proto.is_none_or(|p| r.protocol == p)
                    && named.is_none_or(|l| r.oif == Some(l.index))
            };
            let mut best: Option<&Route> = routes
                .iter()
                .filter(|r| r.table == net::TABLE_MAIN && r.kind == RouteKind::Unicast)
                .filter(|r| cfg.v6() || r.scope == net::SCOPE_LINK)
                .filter(usable)
                .fold(None, |best: Option<&Route>, r| match best {
                    Some(b)
                        if (b.dst_len, std::cmp::Reverse(b.metric))
                            >= (r.dst_len, std::cmp::Reverse(r.metric)) =>
                    {
                        Some(b)
                    }
                    _ => Some(r),
                });
            if best.is_none() && matches!(cfg.ip, IpAddr::V4(a) if a.is_loopback()) {
                best = routes
                    .iter()
                    .filter(|r| r.table == net::TABLE_LOCAL && r.kind == RouteKind::Local)
                    .filter(|r| r.dst_len < 32)
                    .filter(usable)
                    .max_by_key(|r| r.dst_len);
            }
            let present: Vec<&Addr> = addrs
                .iter()
                .filter(|a| a.ip == cfg.ip && cfg.prefix.is_none_or(|p| a.prefix == p))
                .filter(|a| match named {
                    Some(l) => a.index == l.index,
                    None => links
                        .iter()
                        .any(|l| l.index == a.index && l.kind != LinkKind::Loopback),
                })
                .collect();
            let fallback = match (best, present.as_slice()) {
                (None, [a]) => links
                    .iter()
                    .find(|l| l.index == a.index)
                    .map(|l| (l.clone(), a.prefix)),
                _ => None,
            };
            if let Some(found) = fallback {
                found
            } else {
                let Some(r) = best else {
                    let what = match (&cfg.nic, cfg.prefix) {
                        (Some(n), _) => format!("no route on {n} covers {}", cfg.ip),
                        (None, Some(p)) => {
                            format!("no directly connected route covers {}/{p}", cfg.ip)
                        }
                        (None, None) => format!("no directly connected route covers {}", cfg.ip),
                    };
                    return Err(FindError::NoRoute(format!(
                        "Unable to find nic or netmask: {what}{}; set nic and cidr_netmask, or \
                     configure an address of that subnet on the interface",
                        cfg.proto
                            .map(|p| format!(" (proto {p})"))
                            .unwrap_or_default()
                    )));
                };
                let link = match named {
                    Some(l) => l.clone(),
                    None => links
                        .iter()
                        .find(|l| Some(l.index) == r.oif)
                        .cloned()
                        .ok_or_else(|| {
                            FindError::NoRoute(format!(
                                "route {}/{} has no interface",
                                r.dst, r.dst_len
                            ))
                        })?,
                };
                (link, cfg.prefix.unwrap_or(r.dst_len))
            }
        }
    };
    let broadcast = match cfg.ip {
        IpAddr::V6(_) => None,
        IpAddr::V4(a) => match cfg.broadcast {
            Broadcast::Addr(b) => Some(b),
            Broadcast::Plus => Some(net::broadcast_v4(a, prefix)),
            Broadcast::Minus => Some(Ipv4Addr::from(u32::from(a) & net::mask_v4(prefix))),
            Broadcast::Auto if prefix <= 30 => Some(net::broadcast_v4(a, prefix)),
            Broadcast::Auto => None,
        },
    };
    Ok(Target {
        link,
        prefix,
        broadcast,
    })
}

/// Is the address served on the target interface?
pub(super) fn served(cfg: &Config, t: &Target, addrs: &[Addr], link: &Link) -> Served {
    let Some(a) = addrs
        .iter()
        .find(|a| a.index == t.link.index && a.ip == cfg.ip && a.prefix == t.prefix)
    else {
        return Served::No;
    };
    if let Some(want) = cfg.full_label(&link.name) {
        if a.label.as_deref() != Some(want.as_str()) {
            return Served::Label(a.label.clone());
        }
    }
    if cfg.check_link_status && link.is_down() {
        return Served::Down;
    }
    Served::Ok
}

pub(super) fn current(cfg: &Config, nl: &mut Netlink) -> Result<(Served, Link)> {
    let t = cfg.target()?;
    let link = nl
        .link_by_index(t.link.index)
        .map_err(|e| net_error(&e))?
        .ok_or_else(|| Error::generic(format!("interface {} disappeared", t.link.name)))?;
    let addrs = nl.addresses().map_err(|e| net_error(&e))?;
    Ok((served(cfg, t, &addrs, &link), link))
}
