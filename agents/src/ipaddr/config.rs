//! The configuration: parameters parsed and checked without touching the host (errors are 6).

use super::*;

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
    pub(super) resolved: OnceCell<Target>,
    /// A monitor's address snapshot, read by `check_host` on the same netlink socket as the
    /// links it resolved: the monitor answers from it instead of a second socket and dump.
    pub(super) monitor_addrs: OnceCell<Vec<Addr>>,
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
    /// IPv6: the metric of the route findif chose, given to the added address (its prefix
    /// route then matches that route instead of adding one at metric 256), as the reference
    /// does with `ip addr add ... metric M`.
    pub metric: Option<u32>,
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

pub(super) fn parse_lft(s: &str) -> Result<Option<u32>> {
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
            monitor_addrs: OnceCell::new(),
        })
    }

    pub(super) fn v6(&self) -> bool {
        self.ip.is_ipv6()
    }

    pub(super) fn full_label(&self, nic: &str) -> Option<String> {
        self.label.as_ref().map(|l| format!("{nic}:{l}"))
    }

    /// The resolved target (after `check_host`).
    pub(super) fn target(&self) -> Result<&Target> {
        self.resolved
            .get()
            .ok_or_else(|| Error::generic("internal error: the interface was not resolved"))
    }
}
