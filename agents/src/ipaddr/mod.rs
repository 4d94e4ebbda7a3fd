//! `IPaddr2` and `IPaddr`: one engine for virtual IPv4/IPv6 addresses, two faces.
//!
//! * [`IPaddr2`] accepts every parameter of resource-agents' IPaddr2 (4.12 and HEAD's
//!   `proto`/`check_link_status`), [`legacy::IPaddr`] the names of the old `IPaddr`
//!   (`ARP_REPEAT`, `local_start_script`, `nic=eth0` default). Both build one [`Config`].
//! * Everything goes through netlink ([`ocf::net`]): no `ip`, no `send_arp` by default, no
//!   output parsing. Monitor and probe start no process (a test counts them with strace).
//! * Announcements are sent by the agent over a packet socket ([`announce`]).
//!
//! # Interface discovery (findif)
//! When `nic` or `cidr_netmask` is empty, the main routing table is searched for directly
//! connected routes (no gateway, not default, not unreachable/blackhole/prohibit, IPv4 scope
//! link) that cover `ip/cidr_netmask` (or the host address), filtered by `nic` and `proto`
//! when given; the longest prefix wins, then the lowest metric. An IPv4 address in
//! 127.0.0.0/8 with no such route falls back to the local table (loopback). `nic` and
//! `cidr_netmask` come from the winning route unless given; the broadcast is `ip` with the
//! host bits set (prefixes up to /30) unless given (`+`/`-` as `ip addr` understands them).
//!
//! # Exit codes
//! | situation | start | validate-all | recurring monitor | probe | stop |
//! |---|---|---|---|---|---|
//! | malformed ip, netmask, broadcast, label, preferred_lft, netns name | 6 | 6 | 1 | 7 | 0 |
//! | named nic does not exist | 6 | 6 | 1 | 7 | 0 |
//! | no route covers the address (nic/netmask undiscoverable) | 1 | 6 | 1 | 7 | 0 |
//! | network namespace missing | 5 | 5 | 1 | 7 | 0 |
//! | cluster-IP mode (clone without unique_clone_address) | 6 | 6 | 1 | 7 | 0 |
//! | not root | 4 | – | – | – | 4 |
//! | address present, interface down (check_link_status) | 5 | – | 7 | 7 | removes it |
//! | address present, label differs | 1 | – | 1 | 1 | removes it |
//! | IPv6 DAD failed / ARP probe (run_arping) answered | 1 | – | – | – | – |
//!
//! The first two rows follow Debian's ocft configuration for IPaddr2 (resource-agents 4.12:
//! start and validate-all both 6, which is also what the shell agent returns; the "start 5"
//! some newer ocft configurations expect is not what Debian ships). A named interface that
//! does not exist is strictly a problem of this host, but drop-in parity with the shipped
//! ocft cases wins; the reason says which interface is missing. The "no route" row keeps the reference's start code 1 (ocft expects it: a host
//! whose base address is missing today may have it tomorrow) but validate-all answers 6
//! with the reason, where the reference returned findif's 1: validation is where an
//! administrator is told the configuration cannot work here.
//!
//! # Differences from the shell agents (documented choices)
//! * Stop does not depend on discovery succeeding: it removes `ip` from the named `nic`, or
//!   from the interface discovery chooses, or, when discovery fails (routes gone with the
//!   base address), from any non-loopback interface; with the configured prefix when given,
//!   any prefix otherwise. The reference returned 0 without looking when findif failed,
//!   which could leave the address up.
//! * Announcements at start follow `arp_bg` (default: IPv4 background, IPv6 foreground, as
//!   the reference). Background means a detached child (own session, /dev/null streams)
//!   forked after the frame and socket are prepared; it stops after `arp_count` packets or
//!   when the start's budget would have ended, whichever is first, and stop kills it
//!   (identified by pid and start time), so no announcement follows the removal. Foreground
//!   series (and every monitor refresh) are bounded by the action's budget; a series that
//!   does not fit is cut short with a warning. A failed announcement is logged and does not
//!   fail start (IPv4 reference behaviour, applied to IPv6 as well). External senders always
//!   run in the foreground with a deadline.
//! * IPv6 DAD is awaited as long as the budget allows (the reference gave up after 10 s
//!   and carried on); still tentative at the end → warning, success.
//! * An external `arp_sender` runs in the foreground with a deadline and argv only;
//!   `send_arp_opts` is split on white space (the reference let the shell split it too).
//! * Cluster-IP mode (the CLUSTERIP target is gone from current kernels) is refused at
//!   validation with 6, never half-done.
//! * `lvs_ipv6_addrlabel` defaults to false as in 4.12 (HEAD: true).
//! * Labels are IPv4 only (the kernel has no IPv6 labels); a label with IPv6 is ignored with
//!   a warning.
//! * `IPaddr`: `iflabel` sets the label (declared but unused in the reference); IPv6 is
//!   accepted; inconsistent values are 6 (the reference used 2); `OCF_CHECK_LEVEL` 10
//!   (ping the address) is not offered.

pub mod announce;
pub mod legacy;
pub mod meta;

use announce::ArpMode;
use ocf::net::{self, Addr, Link, LinkKind, NetError, Netlink, NewAddr, Route, RouteKind};
use ocf::process::{Cmd, ProcRef};
use ocf::{cluster, Context, Deadline, Error, Params, ResourceAgent, Result, Status};
use std::cell::OnceCell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

/// The IPaddr2 agent.
pub struct IPaddr2;

/// How the broadcast address is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broadcast {
    /// Host bits set for prefixes up to /30, none above.
    Auto,
    /// Host bits set (`+`).
    Plus,
    /// Host bits cleared (`-`).
    Minus,
    /// This address.
    Addr(Ipv4Addr),
}

/// Who sends the gratuitous ARPs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// The agent itself.
    Builtin(ArpMode),
    /// An external program: its `arp_sender` name and extra options.
    External(String, Vec<String>),
}

/// Script hooks of the legacy IPaddr.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hooks {
    /// Run after the address is added.
    pub start: Option<PathBuf>,
    /// Run after the address is removed.
    pub stop: Option<PathBuf>,
}

/// What the parameters mean (both faces).
#[derive(Debug, Clone)]
pub struct Config {
    /// The address (clone-adjusted, canonical).
    pub ip: IpAddr,
    /// The base interface, if given.
    pub nic: Option<String>,
    /// The prefix length, if given.
    pub prefix: Option<u8>,
    /// Broadcast choice.
    pub broadcast: Broadcast,
    /// Route protocol filter for discovery.
    pub proto: Option<u8>,
    /// Label suffix (the part after `nic:`).
    pub label: Option<String>,
    /// LVS-DR loopback handling.
    pub lvs_support: bool,
    /// IPv6 address-selection label value, when enabled.
    pub addrlabel: Option<u32>,
    /// Time between announcements.
    pub arp_interval: Duration,
    /// Announcements on start.
    pub arp_count: u32,
    /// Announcements per recurring monitor.
    pub arp_count_refresh: u32,
    /// Who sends ARPs.
    pub sender: Sender,
    /// Send the start's announcements from a bounded background child.
    pub arp_bg: bool,
    /// Flush the route cache on stop.
    pub flush_routes: bool,
    /// Probe for a duplicate before adding (IPv4).
    pub run_arping: bool,
    /// IPv6 without DAD.
    pub nodad: bool,
    /// No prefix route.
    pub noprefixroute: bool,
    /// IPv6 preferred lifetime (None: forever).
    pub preferred_lft: Option<u32>,
    /// Network namespace.
    pub netns: Option<String>,
    /// Down interface = not running.
    pub check_link_status: bool,
    /// Legacy scripts.
    pub hooks: Hooks,
    /// Interface, prefix and broadcast, resolved on this host by `check_host`.
    resolved: OnceCell<Target>,
}

/// Where the address lives on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The interface.
    pub link: Link,
    /// Prefix length.
    pub prefix: u8,
    /// IPv4 broadcast.
    pub broadcast: Option<Ipv4Addr>,
}

/// The served-state of the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Served {
    /// On the interface with the right prefix (and label), link up.
    Ok,
    /// Not on the interface.
    No,
    /// On the interface, but the interface is down.
    Down,
    /// On the interface with another label.
    Label(Option<String>),
}

// ---------------------------------------------------------------------------------------
// Parsing (depth 0: no host access; errors are 6)
// ---------------------------------------------------------------------------------------

/// Parse the address as the reference accepts it (IPv6 if it contains ':').
///
/// # Errors
/// 6 with the reason.
pub fn parse_ip(s: &str) -> Result<IpAddr> {
    let s = s.trim();
    if s.is_empty() {
        return Err(Error::configured(
            "IP address (the ip parameter) is mandatory",
        ));
    }
    if s.contains(':') {
        let v6: Ipv6Addr = s.parse().map_err(|_| {
            Error::configured(format!("IP address [{s}] is not a valid IPv6 address"))
        })?;
        if v6.is_unspecified() || v6.is_multicast() || v6.is_loopback() {
            return Err(Error::configured(format!(
                "IP address [{s}] cannot be a virtual address (unspecified, loopback or multicast)"
            )));
        }
        return Ok(IpAddr::V6(v6));
    }
    let v4: Ipv4Addr = s
        .parse()
        .map_err(|_| Error::configured(format!("IP address [{s}] is not a valid IPv4 address")))?;
    if v4.octets()[0] == 0 || v4.is_multicast() || v4.is_broadcast() {
        return Err(Error::configured(format!(
            "IP address [{s}] cannot be a virtual address"
        )));
    }
    Ok(IpAddr::V4(v4))
}

/// Parse a prefix length (or, for IPv4, a dotted-quad netmask, with a warning).
///
/// # Errors
/// 6 with the reason.
pub fn parse_prefix(s: &str, v6: bool) -> Result<u8> {
    let s = s.trim();
    let max: u8 = if v6 { 128 } else { 32 };
    if !v6 && s.contains('.') {
        let m: Ipv4Addr = s
            .parse()
            .map_err(|_| Error::configured(format!("Invalid netmask specification [{s}]")))?;
        let bits = u32::from(m);
        let p = bits.leading_ones();
        if bits.checked_shl(p).unwrap_or(0) != 0 || p == 0 {
            return Err(Error::configured(format!(
                "Invalid netmask specification [{s}]: not a contiguous netmask"
            )));
        }
        ocf::warn!("please convert dotted quad netmask {s} to CIDR notation {p}");
        return Ok(p as u8);
    }
    match s.parse::<u8>() {
        Ok(p)
            if s.len() <= 3 && s.chars().all(|c| c.is_ascii_digit()) && (1..=max).contains(&p) =>
        {
            Ok(p)
        }
        _ => Err(Error::configured(format!(
            "Invalid netmask specification [{s}]: a prefix length 1..{max} is expected"
        ))),
    }
}

/// Parse `broadcast`.
///
/// # Errors
/// 6 with the reason.
pub fn parse_broadcast(s: &str) -> Result<Broadcast> {
    match s.trim() {
        "" => Ok(Broadcast::Auto),
        "+" => Ok(Broadcast::Plus),
        "-" => Ok(Broadcast::Minus),
        b => b
            .parse::<Ipv4Addr>()
            .map(Broadcast::Addr)
            .map_err(|_| Error::configured(format!("Invalid broadcast address [{b}]"))),
    }
}

/// Whether `name` can be an interface name (what the kernel's `dev_valid_name` accepts).
pub fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
}

fn parse_lft(s: &str) -> Result<Option<u32>> {
    let t = s.trim();
    if t.is_empty() {
        return Err(Error::configured(
            "Empty value is invalid for preferred_lft",
        ));
    }
    if t == "forever" || t == "infinity" {
        return Ok(None);
    }
    let digits = t
        .strip_suffix("sec")
        .or_else(|| t.strip_suffix("secs"))
        .unwrap_or(t);
    match digits.parse::<u32>() {
        Ok(n) if n < u32::MAX => Ok(Some(n)),
        _ => Err(Error::configured(format!(
            "Invalid preferred_lft [{t}]: seconds or forever expected"
        ))),
    }
}

/// The raw values both faces provide; [`Config::build`] validates them.
#[derive(Debug, Clone, Default)]
pub struct Raw {
    /// ip.
    pub ip: String,
    /// nic (possibly `nic:label`).
    pub nic: String,
    /// cidr_netmask.
    pub netmask: String,
    /// broadcast.
    pub broadcast: String,
    /// proto.
    pub proto: String,
    /// iflabel.
    pub iflabel: String,
    /// lvs_support.
    pub lvs_support: bool,
    /// lvs_ipv6_addrlabel.
    pub lvs_ipv6_addrlabel: bool,
    /// lvs_ipv6_addrlabel_value.
    pub lvs_ipv6_addrlabel_value: i64,
    /// unique_clone_address.
    pub unique_clone_address: bool,
    /// arp_interval (ms).
    pub arp_interval: i64,
    /// arp_count.
    pub arp_count: i64,
    /// arp_count_refresh.
    pub arp_count_refresh: i64,
    /// arp_bg (None: true for IPv4, false for IPv6).
    pub arp_bg: Option<bool>,
    /// arp_sender.
    pub arp_sender: String,
    /// send_arp_opts.
    pub send_arp_opts: String,
    /// flush_routes.
    pub flush_routes: bool,
    /// run_arping.
    pub run_arping: bool,
    /// nodad.
    pub nodad: bool,
    /// noprefixroute.
    pub noprefixroute: bool,
    /// preferred_lft.
    pub preferred_lft: String,
    /// network_namespace.
    pub network_namespace: String,
    /// check_link_status.
    pub check_link_status: bool,
    /// Legacy scripts.
    pub hooks: Hooks,
}

impl Config {
    /// Validate raw values (depth 0, no host access).
    ///
    /// # Errors
    /// 6 with the reason.
    pub fn build(raw: Raw, cx: &Context) -> Result<Config> {
        let mut ip = parse_ip(&raw.ip)?;
        let v6 = ip.is_ipv6();

        // Clones: cluster-IP mode is refused; unique_clone_address shifts the last octet.
        let clone = cx.clone.clone().unwrap_or_default();
        if raw.unique_clone_address {
            if !clone.globally_unique {
                return Err(Error::configured(
                    "unique_clone_address makes sense only with meta globally_unique set",
                ));
            }
            let IpAddr::V4(v4) = ip else {
                return Err(Error::configured(
                    "unique_clone_address is supported for IPv4 addresses only",
                ));
            };
            let n = clone.instance.unwrap_or(0);
            let mut o = v4.octets();
            let last = u32::from(o[3]) + n;
            o[3] = u8::try_from(last).map_err(|_| {
                Error::configured(format!(
                    "unique_clone_address: {v4} plus clone number {n} leaves the last octet range"
                ))
            })?;
            ip = IpAddr::V4(Ipv4Addr::from(o));
        } else if clone.clone_max > 1 {
            return Err(Error::configured(format!(
                "cluster-IP mode (a clone with clone-max={} and no unique_clone_address) is \
                 not supported by this agent; use a primitive, or unique_clone_address=true \
                 with globally-unique=true",
                clone.clone_max
            )));
        }

        // nic, possibly nic:label.
        let nic_raw = raw.nic.trim();
        let (nic, mut label) = match nic_raw.split_once(':') {
            Some((n, l)) => (n.to_string(), Some(l.to_string())),
            None => (nic_raw.to_string(), None),
        };
        let nic = (!nic.is_empty()).then_some(nic);
        if let Some(n) = &nic {
            if !valid_ifname(n) {
                return Err(Error::configured(format!(
                    "Invalid interface name [{n}]: at most 15 characters, no '/', ':' or blanks"
                )));
            }
        }
        if label.as_deref().is_none_or(str::is_empty) && !raw.iflabel.trim().is_empty() {
            label = Some(raw.iflabel.trim().to_string());
        }
        let label = label.filter(|l| !l.is_empty());
        if let Some(l) = &label {
            if l.chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '/')
            {
                return Err(Error::configured(format!("Invalid interface label [{l}]")));
            }
            let nic_len = nic.as_ref().map_or(1, String::len);
            if nic_len + 1 + l.len() > 15 {
                let shown: String = l.chars().take(40).collect();
                return Err(Error::configured(format!(
                    "Interface label [{}:{shown}{}] exceeds maximum character limit of 15",
                    nic.as_deref().unwrap_or("<nic>"),
                    if l.len() > 40 { "..." } else { "" }
                )));
            }
        }
        if v6 && label.is_some() {
            ocf::warn!("address labels exist for IPv4 only; the label is ignored for {ip}");
        }
        let label = if v6 { None } else { label };

        if let IpAddr::V6(a) = ip {
            if (a.segments()[0] & 0xffc0) == 0xfe80 && nic.is_none() {
                return Err(Error::configured(format!(
                    "'nic' parameter is mandatory for a link local address [{a}]"
                )));
            }
        }
        let prefix = match raw.netmask.trim() {
            "" => None,
            m => Some(parse_prefix(m, v6)?),
        };
        let broadcast = if v6 {
            Broadcast::Auto
        } else {
            parse_broadcast(&raw.broadcast)?
        };
        let proto = match raw.proto.trim() {
            "" => None,
            p => Some(net::parse_route_protocol(p).ok_or_else(|| {
                Error::configured(format!(
                    "Invalid proto [{p}]: a route protocol name or 0-255"
                ))
            })?),
        };

        if raw.lvs_support && v6 {
            return Err(Error::configured("The IPv6 does not support lvs_support"));
        }
        if raw.lvs_support && clone.clone_max > 1 {
            return Err(Error::configured(
                "LVS and load sharing do not go together well",
            ));
        }
        if raw.lvs_ipv6_addrlabel && !v6 {
            return Err(Error::configured(
                "IPv4 does not support lvs_ipv6_addrlabel",
            ));
        }
        let addrlabel = if raw.lvs_ipv6_addrlabel {
            Some(u32::try_from(raw.lvs_ipv6_addrlabel_value).map_err(|_| {
                Error::configured(format!(
                    "Invalid lvs_ipv6_addrlabel_value [{}]",
                    raw.lvs_ipv6_addrlabel_value
                ))
            })?)
        } else {
            None
        };
        let positive = |v: i64, name: &str| -> Result<u32> {
            u32::try_from(v)
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| Error::configured(format!("Invalid {name} [{v}]")))
        };
        let arp_interval =
            Duration::from_millis(u64::from(positive(raw.arp_interval, "arp_interval")?));
        let arp_count = positive(raw.arp_count, "arp_count")?;
        let arp_count_refresh = u32::try_from(raw.arp_count_refresh).map_err(|_| {
            Error::configured(format!(
                "Invalid arp_count_refresh [{}]",
                raw.arp_count_refresh
            ))
        })?;
        let opts: Vec<String> = raw
            .send_arp_opts
            .split_whitespace()
            .map(String::from)
            .collect();
        let sender = match raw.arp_sender.trim() {
            "" | "builtin" => {
                let mut mode = ArpMode::Request;
                for o in &opts {
                    match o.as_str() {
                        "-A" => mode = ArpMode::Reply,
                        "-U" => mode = ArpMode::Request,
                        other => ocf::warn!(
                            "send_arp_opts: option {other} has no meaning for the built-in sender; ignored"
                        ),
                    }
                }
                Sender::Builtin(mode)
            }
            s @ ("send_arp" | "iputils_arping" | "libnet_arping" | "ipoibarping") => {
                Sender::External(s.to_string(), opts)
            }
            s => {
                return Err(Error::configured(format!(
                    "unrecognized arp_sender value: {s}"
                )))
            }
        };
        let preferred_lft = parse_lft(&raw.preferred_lft)?;
        let netns = match raw.network_namespace.trim() {
            "" => None,
            n if net::valid_netns_name(n) => Some(n.to_string()),
            n => {
                return Err(Error::configured(format!(
                    "Invalid network_namespace [{n}]: a name under /run/netns is expected"
                )))
            }
        };
        for (what, p) in [
            ("local_start_script", &raw.hooks.start),
            ("local_stop_script", &raw.hooks.stop),
        ] {
            if let Some(p) = p {
                if !p.is_absolute() {
                    return Err(Error::configured(format!(
                        "{what} must be an absolute path, not {}",
                        p.display()
                    )));
                }
            }
        }
        Ok(Config {
            ip,
            nic,
            prefix,
            broadcast,
            proto,
            label,
            lvs_support: raw.lvs_support,
            addrlabel,
            arp_interval,
            arp_count,
            arp_count_refresh,
            sender,
            arp_bg: raw.arp_bg.unwrap_or(!v6),
            flush_routes: raw.flush_routes,
            run_arping: raw.run_arping && !v6,
            nodad: raw.nodad,
            noprefixroute: raw.noprefixroute,
            preferred_lft,
            netns,
            check_link_status: raw.check_link_status,
            hooks: raw.hooks,
            resolved: OnceCell::new(),
        })
    }

    fn v6(&self) -> bool {
        self.ip.is_ipv6()
    }

    fn full_label(&self, nic: &str) -> Option<String> {
        self.label.as_ref().map(|l| format!("{nic}:{l}"))
    }

    /// The resolved target (after `check_host`).
    fn target(&self) -> Result<&Target> {
        self.resolved
            .get()
            .ok_or_else(|| Error::generic("internal error: the interface was not resolved"))
    }
}

// ---------------------------------------------------------------------------------------
// Host side
// ---------------------------------------------------------------------------------------

/// Map a netlink failure to an OCF code: privilege → 4, everything else → 1.
pub fn net_error(e: &NetError) -> Error {
    if e.is_permission() {
        Error::perm(format!("{e} (root with CAP_NET_ADMIN is needed)"))
    } else {
        Error::generic(e.to_string())
    }
}

fn open(cx: &Context) -> Result<Netlink> {
    Netlink::open(cx.deadline).map_err(|e| net_error(&e))
}

fn enter_namespace(cfg: &Config) -> Result<()> {
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

/// Depth 10: enter the namespace, find the interface.
fn check_host(cfg: &Config, cx: &Context) -> Result<()> {
    enter_namespace(cfg)?;
    if cx.action == "stop" {
        // Stop never depends on discovery (see the module docs).
        return Ok(());
    }
    let mut nl = open(cx)?;
    let links = nl.links().map_err(|e| net_error(&e))?;
    let routes = nl.routes(cfg.v6()).map_err(|e| net_error(&e))?;
    let addrs = nl.addresses().map_err(|e| net_error(&e))?;
    match find_target(cfg, &links, &routes, &addrs) {
        Ok(t) => {
            if let Some(full) = cfg.full_label(&t.link.name) {
                if full.len() > 15 {
                    return Err(Error::configured(format!(
                        "Interface label [{full}] exceeds maximum character limit of 15"
                    )));
                }
            }
            let _ = cfg.resolved.set(t);
            Ok(())
        }
        Err(FindError::NoSuchNic(n)) => Err(Error::configured(format!(
            "Invalid interface name [{n}]: no such interface"
        ))),
        Err(FindError::NoRoute(why)) => Err(if cx.action == "validate-all" {
            Error::configured(why)
        } else {
            Error::generic(why)
        }),
    }
}

/// Is the address served on the target interface?
fn served(cfg: &Config, t: &Target, addrs: &[Addr], link: &Link) -> Served {
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

fn current(cfg: &Config, nl: &mut Netlink) -> Result<(Served, Link)> {
    let t = cfg.target()?;
    let link = nl
        .link_by_index(t.link.index)
        .map_err(|e| net_error(&e))?
        .ok_or_else(|| Error::generic(format!("interface {} disappeared", t.link.name)))?;
    let addrs = nl.addresses().map_err(|e| net_error(&e))?;
    Ok((served(cfg, t, &addrs, &link), link))
}

fn require_root(cx: &Context) -> Result<()> {
    if nix::unistd::Uid::effective().is_root() {
        Ok(())
    } else {
        Err(Error::perm(format!(
            "You must be root for {} operation.",
            cx.action
        )))
    }
}

/// The budget left for optional work (announcements): keep a reserve to return in time.
fn announce_deadline(cx: &Context) -> Deadline {
    let reserve = Duration::from_millis(500);
    Deadline::at(
        cx.deadline
            .instant()
            .checked_sub(reserve)
            .unwrap_or(cx.deadline.instant()),
    )
}

fn ha_bin(cx: &Context) -> PathBuf {
    PathBuf::from(
        cx.env
            .get_nonempty("HA_BIN")
            .unwrap_or("/usr/libexec/heartbeat"),
    )
}

fn external_sender(
    cfg: &Config,
    cx: &Context,
    name: &str,
    opts: &[String],
    link: &Link,
    count: u32,
) -> Result<Cmd> {
    let ip = cfg.ip.to_string();
    let count_s = count.to_string();
    let cmd = match name {
        "send_arp" => {
            let pidfile = cluster::state_dir(cx)?.join(format!("send_arp-{ip}"));
            Cmd::new(ha_bin(cx).join("send_arp"))
                .args(opts)
                .arg("-i")
                .arg(cfg.arp_interval.as_millis().to_string())
                .arg("-r")
                .arg(&count_s)
                .arg("-p")
                .arg(pidfile)
                .args([
                    link.name.as_str(),
                    ip.as_str(),
                    "auto",
                    "not_used",
                    "not_used",
                ])
        }
        "iputils_arping" => Cmd::new("arping")
            .args(opts)
            .args(["-U", "-c", &count_s, "-I", &link.name, &ip]),
        "libnet_arping" => Cmd::new("arping")
            .args(opts)
            .args(["-U", "-c", &count_s, "-i", &link.name, "-S", &ip, &ip]),
        _ => Cmd::new("ipoibarping").args(["-q", "-c", &count_s, "-U", "-I", &link.name, &ip]),
    };
    Ok(cmd)
}

/// Announce the address: gratuitous ARP or unsolicited NA. Failures are logged.
fn announce(cfg: &Config, cx: &Context, link: &Link, count: u32, refresh: bool) {
    if count == 0 || link.kind == LinkKind::Loopback {
        return;
    }
    let deadline = announce_deadline(cx);
    let result = match (cfg.ip, &cfg.sender) {
        (IpAddr::V4(_), Sender::External(name, opts)) => {
            match external_sender(cfg, cx, name, opts, link, count).and_then(|c| c.run(deadline)) {
                Ok(out) if out.success() || name == "libnet_arping" => {
                    ocf::debug!("{name}: {}", out.one_line());
                    return;
                }
                Ok(out) => Err(format!("{name} failed: {}", out.one_line())),
                Err(e) => Err(e.reason().to_string()),
            }
        }
        _ if link.kind != LinkKind::Ether => Err(format!(
            "{} is not an Ethernet-like interface; the built-in sender cannot announce on it \
             (select an external arp_sender, e.g. ipoibarping for InfiniBand)",
            link.name
        )),
        (ip, _) => {
            let (prepared, what) = match ip {
                IpAddr::V4(a) => {
                    let mode = match &cfg.sender {
                        Sender::Builtin(m) => *m,
                        Sender::External(..) => ArpMode::Request,
                    };
                    (announce::Prepared::arp(link, a, mode), "gratuitous ARP")
                }
                IpAddr::V6(a) => (
                    announce::Prepared::na(link, a),
                    "unsolicited neighbour advertisement",
                ),
            };
            match prepared {
                Err(e) => Err(e.to_string()),
                Ok(p) if cfg.arp_bg && !refresh => match spawn_background(cfg, cx, p, count) {
                    Ok(pid) => {
                        ocf::info!(
                            "sending {count} {what}s for {} on {} in the background (pid {pid})",
                            cfg.ip,
                            link.name
                        );
                        return;
                    }
                    Err(e) => Err(e),
                },
                Ok(p) => p
                    .send(count, cfg.arp_interval, deadline)
                    .map_err(|e| e.to_string())
                    .map(|s| (s, what)),
            }
        }
    };
    match result {
        Ok((s, what)) if s.sent < s.wanted => ocf::warn!(
            "sent {} of {} {what}s for {} on {}: the time budget did not allow more",
            s.sent,
            s.wanted,
            cfg.ip,
            link.name
        ),
        Ok((s, what)) if refresh => {
            ocf::debug!("sent {} {what}s for {} on {}", s.sent, cfg.ip, link.name)
        }
        Ok((s, what)) => ocf::info!("sent {} {what}s for {} on {}", s.sent, cfg.ip, link.name),
        Err(e) => ocf::error!("could not announce {} on {}: {e}", cfg.ip, link.name),
    }
}

fn sender_pidfile(cfg: &Config, cx: &Context) -> Result<PathBuf> {
    Ok(cluster::state_dir(cx)?.join(format!("send_arp-{}", cfg.ip)))
}

/// Start the background series and record its identity (pid and start time) so stop can
/// end it. The child stops on its own when the start's budget would have run out.
fn spawn_background(
    cfg: &Config,
    cx: &Context,
    p: announce::Prepared,
    count: u32,
) -> std::result::Result<i32, String> {
    let file = sender_pidfile(cfg, cx).map_err(|e| e.reason().to_string())?;
    let pid = p
        .spawn(count, cfg.arp_interval, cx.deadline.remaining())
        .map_err(|e| format!("cannot start the background sender: {e}"))?;
    if let Some(r) = ProcRef::of(pid) {
        if let Err(e) = std::fs::write(&file, format!("{} {}\n", r.pid, r.start_ticks)) {
            ocf::warn!(
                "cannot record the background sender in {}: {e}",
                file.display()
            );
        }
    }
    Ok(pid)
}

/// End a background sender still announcing this address (stop must not leave one behind).
fn stop_background(cfg: &Config, cx: &Context) {
    let Ok(file) = sender_pidfile(cfg, cx) else {
        return;
    };
    let Ok(text) = std::fs::read_to_string(&file) else {
        return;
    };
    let mut it = text.split_whitespace().map(str::parse::<u64>);
    if let (Some(Ok(pid)), Some(Ok(start_ticks))) = (it.next(), it.next()) {
        if let Ok(pid) = i32::try_from(pid) {
            let r = ProcRef { pid, start_ticks };
            if r.signal(nix::sys::signal::Signal::SIGKILL) {
                // Signals are delivered asynchronously: wait (bounded) until it is gone.
                let gone = cx
                    .deadline
                    .within(Duration::from_secs(2))
                    .wait_until(Duration::from_millis(5), || (!r.is_alive()).then_some(()));
                if gone.is_some() {
                    ocf::info!("stopped the background sender {pid} for {}", cfg.ip);
                } else {
                    ocf::warn!("the background sender {pid} for {} did not exit", cfg.ip);
                }
            }
        }
    }
    let _ = std::fs::remove_file(&file);
}

fn lvs_state_file(cfg: &Config, cx: &Context) -> Result<PathBuf> {
    Ok(cluster::state_dir(cx)?.join(format!("lvs-loopback-{}", cfg.ip)))
}

/// Wait for DAD; on failure remove the address and fail.
fn await_dad(cfg: &Config, cx: &Context, nl: &mut Netlink, t: &Target) -> Result<()> {
    let limit = announce_deadline(cx);
    loop {
        let addrs = nl.addresses().map_err(|e| net_error(&e))?;
        let Some(a) = addrs
            .iter()
            .find(|a| a.index == t.link.index && a.ip == cfg.ip)
        else {
            return Err(Error::generic(format!(
                "{} vanished from {} during duplicate address detection",
                cfg.ip, t.link.name
            )));
        };
        if a.dadfailed() {
            if let Err(e) = nl.del_address(t.link.index, cfg.ip, t.prefix) {
                ocf::error!("could not remove the duplicate address: {e}");
            }
            return Err(Error::generic(format!(
                "IPv6 address collision {} [DAD]: another node on {} holds it",
                cfg.ip, t.link.name
            )));
        }
        if !a.tentative() {
            return Ok(());
        }
        if limit.expired() {
            ocf::warn!(
                "IPv6 address {}: duplicate address detection still tentative at the end of the budget",
                cfg.ip
            );
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run_hook(path: &PathBuf, cx: &Context) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => {
            Cmd::new(path).run_ok(cx.deadline).map(drop)
        }
        _ => {
            ocf::debug!("{} is not executable; not run", path.display());
            Ok(())
        }
    }
}

/// start.
fn start(cfg: &Config, cx: &Context) -> Result<()> {
    require_root(cx)?;
    let t = cfg.target()?.clone();
    if let (IpAddr::V4(_), Sender::External(name, _)) = (cfg.ip, &cfg.sender) {
        let prog = match name.as_str() {
            "send_arp" => ha_bin(cx).join("send_arp"),
            "ipoibarping" => PathBuf::from("ipoibarping"),
            _ => PathBuf::from("arping"),
        };
        if ocf::process::which(&prog).is_none() {
            return Err(Error::installed(format!(
                "arp_sender {name}: {} not found",
                prog.display()
            )));
        }
    }
    let mut nl = open(cx)?;
    let (state, link) = current(cfg, &mut nl)?;
    match state {
        Served::Ok => {
            ocf::info!("{} is already on {}", cfg.ip, link.name);
            return Ok(());
        }
        Served::Down => {
            return Err(Error::installed(format!(
                "{} is on {} but the interface is down",
                cfg.ip, link.name
            )))
        }
        Served::Label(l) => {
            return Err(Error::generic(format!(
                "{} is on {} with label {} instead of {}",
                cfg.ip,
                link.name,
                l.as_deref().unwrap_or("(none)"),
                cfg.full_label(&link.name).unwrap_or_default()
            )))
        }
        Served::No => {}
    }
    let addrs = nl.addresses().map_err(|e| net_error(&e))?;
    if cfg.lvs_support {
        let links = nl.links().map_err(|e| net_error(&e))?;
        for a in addrs.iter().filter(|a| a.ip == cfg.ip && a.prefix == 32) {
            let Some(lo) = links
                .iter()
                .find(|l| l.index == a.index && l.kind == LinkKind::Loopback)
            else {
                continue;
            };
            ocf::info!(
                "removing conflicting loopback copy of {} from {}",
                cfg.ip,
                lo.name
            );
            let _ = std::fs::write(lvs_state_file(cfg, cx)?, format!("{}\n", lo.name));
            nl.del_address(lo.index, cfg.ip, 32)
                .map_err(|e| net_error(&e))?;
        }
    }
    if let IpAddr::V4(a) = cfg.ip {
        if cfg.run_arping && link.kind == LinkKind::Ether {
            let probe_deadline = cx.deadline.fraction(0.5);
            match announce::arp_probe(&link, a, 2, probe_deadline) {
                Ok(Some(mac)) => {
                    return Err(Error::generic(format!(
                        "IPv4 address collision {a} [DAD]: {} answers for it on {}",
                        mac.iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<Vec<_>>()
                            .join(":"),
                        link.name
                    )))
                }
                Ok(None) => {}
                Err(e) => ocf::warn!("duplicate address check for {a} failed: {e}"),
            }
        }
    }
    if let Some(value) = cfg.addrlabel {
        if let Err(e) = nl.add_addrlabel(cfg.ip, 128, value) {
            if !e.is_exists() {
                ocf::warn!("{e}");
            }
        }
    }
    let new = NewAddr {
        index: link.index,
        ip: cfg.ip,
        prefix: t.prefix,
        broadcast: t.broadcast,
        label: cfg.full_label(&link.name),
        nodad: cfg.nodad && cfg.v6(),
        noprefixroute: cfg.noprefixroute,
        preferred_lft: if cfg.v6() { cfg.preferred_lft } else { None },
        metric: None,
    };
    ocf::info!(
        "adding {}/{}{} to {}{}",
        cfg.ip,
        t.prefix,
        t.broadcast.map(|b| format!(" brd {b}")).unwrap_or_default(),
        link.name,
        new.label
            .as_ref()
            .map(|l| format!(" label {l}"))
            .unwrap_or_default()
    );
    if let Err(e) = nl.add_address(&new) {
        return Err(if e.is_exists() {
            let other = addrs
                .iter()
                .find(|a| a.index == link.index && a.ip == cfg.ip);
            Error::generic(format!(
                "Failed to add {}: already on {}{}",
                cfg.ip,
                link.name,
                other
                    .map(|a| format!(" as /{}", a.prefix))
                    .unwrap_or_default()
            ))
        } else {
            net_error(&e).context(format!("Failed to add {}", cfg.ip))
        });
    }
    if !link.admin_up {
        nl.set_link_up(link.index).map_err(|e| net_error(&e))?;
    }
    if cfg.v6() && !cfg.nodad {
        await_dad(cfg, cx, &mut nl, &t)?;
    }
    let (state, link) = current(cfg, &mut nl)?;
    if state == Served::No {
        return Err(Error::generic(format!(
            "{} was added to {} but is not there",
            cfg.ip, link.name
        )));
    }
    if let Some(script) = &cfg.hooks.start {
        run_hook(script, cx)?;
    }
    announce(cfg, cx, &link, cfg.arp_count, false);
    Ok(())
}

/// stop.
fn stop(cfg: &Config, cx: &Context) -> Result<()> {
    require_root(cx)?;
    stop_background(cfg, cx);
    let mut nl = open(cx)?;
    let links = nl.links().map_err(|e| net_error(&e))?;
    let wanted_link = cfg
        .nic
        .as_ref()
        .map(|n| links.iter().find(|l| l.answers_to(n)));
    if let Some(None) = wanted_link {
        ocf::info!(
            "{} does not exist, so {} cannot be on it",
            cfg.nic.as_deref().unwrap_or(""),
            cfg.ip
        );
        return Ok(());
    }
    let addrs = nl.addresses().map_err(|e| net_error(&e))?;
    // The interface discovery would choose, when it can; otherwise (routes gone, base
    // address removed) the named nic, or any non-loopback interface.
    let wanted_index = match wanted_link.flatten() {
        Some(l) => Some(l.index),
        None => nl
            .routes(cfg.v6())
            .ok()
            .and_then(|routes| find_target(cfg, &links, &routes, &addrs).ok())
            .map(|t| t.link.index),
    };
    let loopback = |i: u32| {
        links
            .iter()
            .any(|l| l.index == i && l.kind == LinkKind::Loopback)
    };
    let victims: Vec<&Addr> = addrs
        .iter()
        .filter(|a| a.ip == cfg.ip)
        .filter(|a| cfg.prefix.is_none_or(|p| a.prefix == p))
        .filter(|a| match wanted_index {
            Some(i) => a.index == i,
            None => !loopback(a.index) || cfg.ip.is_loopback(),
        })
        .collect();
    for a in &victims {
        let name = links
            .iter()
            .find(|l| l.index == a.index)
            .map_or("?", |l| l.name.as_str());
        ocf::info!("removing {}/{} from {name}", a.ip, a.prefix);
        match nl.del_address(a.index, a.ip, a.prefix) {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                return Err(net_error(&e).context(format!(
                    "Unable to remove IP [{}] from interface [{name}]",
                    cfg.ip
                )))
            }
        }
    }
    if !victims.is_empty() && cfg.flush_routes {
        let f = if cfg.v6() {
            "/proc/sys/net/ipv6/route/flush"
        } else {
            "/proc/sys/net/ipv4/route/flush"
        };
        if let Err(e) = std::fs::write(f, "1") {
            ocf::warn!("could not flush the route cache ({f}): {e}");
        }
    }
    if let Some(value) = cfg.addrlabel {
        let _ = nl.del_addrlabel(cfg.ip, 128, value);
    }
    if cfg.lvs_support {
        let file = lvs_state_file(cfg, cx)?;
        if let Ok(text) = std::fs::read_to_string(&file) {
            let name = text.trim();
            if let Some(lo) = links.iter().find(|l| l.name == name) {
                ocf::info!("restoring loopback copy of {} on {name}", cfg.ip);
                let r = nl.add_address(&NewAddr {
                    index: lo.index,
                    ip: cfg.ip,
                    prefix: 32,
                    broadcast: None,
                    label: None,
                    nodad: false,
                    noprefixroute: false,
                    preferred_lft: None,
                    metric: None,
                });
                if let Err(e) = r {
                    if !e.is_exists() {
                        ocf::warn!("{e}");
                    }
                }
            }
            let _ = std::fs::remove_file(&file);
        }
    }
    if let Some(script) = &cfg.hooks.stop {
        if let Err(e) = run_hook(script, cx) {
            ocf::warn!("local_stop_script: {}", e.reason());
        }
    }
    Ok(())
}

/// monitor.
fn monitor(cfg: &Config, cx: &Context) -> Result<Status> {
    let mut nl = open(cx)?;
    let (state, link) = current(cfg, &mut nl)?;
    match state {
        Served::Ok => {
            if !cx.is_probe() && cfg.arp_count_refresh > 0 {
                announce(cfg, cx, &link, cfg.arp_count_refresh, true);
            }
            Ok(Status::Running)
        }
        Served::No => Err(Error::not_running(format!(
            "{} is not on {}",
            cfg.ip, link.name
        ))),
        Served::Down => Err(Error::not_running(format!(
            "{} is on {} but the interface is down",
            cfg.ip, link.name
        ))),
        Served::Label(l) => Err(Error::generic(format!(
            "{} is on {} with label {} instead of {}",
            cfg.ip,
            link.name,
            l.as_deref().unwrap_or("(none)"),
            cfg.full_label(&link.name).unwrap_or_default()
        ))),
    }
}

impl ResourceAgent for IPaddr2 {
    const META: &'static ocf::Agent = &meta::IPADDR2;
    type Config = Config;

    fn configure(p: &Params<'_>, cx: &Context) -> Result<Config> {
        use meta::*;
        let raw = Raw {
            ip: p.string(&IP)?,
            nic: p.string(&NIC)?,
            netmask: p.string(&CIDR_NETMASK)?,
            broadcast: p.string(&BROADCAST)?,
            proto: p.string(&PROTO)?,
            iflabel: p.string(&IFLABEL)?,
            lvs_support: p.bool(&LVS_SUPPORT)?,
            lvs_ipv6_addrlabel: p.bool(&LVS_IPV6_ADDRLABEL)?,
            lvs_ipv6_addrlabel_value: p.int(&LVS_IPV6_ADDRLABEL_VALUE)?,
            unique_clone_address: p.bool(&UNIQUE_CLONE_ADDRESS)?,
            arp_interval: p.int(&ARP_INTERVAL)?,
            arp_count: p.int(&ARP_COUNT)?,
            arp_count_refresh: p.int(&ARP_COUNT_REFRESH)?,
            arp_bg: p.opt_bool(&ARP_BG)?,
            arp_sender: p.select(&ARP_SENDER)?.to_string(),
            send_arp_opts: p.string(&SEND_ARP_OPTS)?,
            flush_routes: p.bool(&FLUSH_ROUTES)?,
            run_arping: p.bool(&RUN_ARPING)?,
            nodad: p.bool(&NODAD)?,
            noprefixroute: p.bool(&NOPREFIXROUTE)?,
            preferred_lft: p.string(&PREFERRED_LFT)?,
            network_namespace: p.string(&NETWORK_NAMESPACE)?,
            check_link_status: p.bool(&CHECK_LINK_STATUS)?,
            hooks: Hooks::default(),
        };
        // Validate the strings the shell agent validated even though only monitors read them.
        let _ = (
            p.opt_string(&MAC)?,
            p.string(&CLUSTERIP_HASH)?,
            p.opt_bool(&ARP_BG)?,
        );
        Config::build(raw, cx)
    }

    fn check_host(cfg: &Config, cx: &Context) -> Result<()> {
        check_host(cfg, cx)
    }

    fn start(cfg: &Config, cx: &Context) -> Result<()> {
        start(cfg, cx)
    }

    fn stop(cfg: &Config, cx: &Context) -> Result<()> {
        stop(cfg, cx)
    }

    fn monitor(cfg: &Config, cx: &Context) -> Result<Status> {
        monitor(cfg, cx)
    }
}

#[cfg(test)]
mod tests;
