//! Network configuration through rtnetlink, with no child process and no screen-scraping.
//!
//! [`Netlink`] is a blocking `NETLINK_ROUTE` socket whose every wait is bounded by a
//! [`Deadline`] (`SO_RCVTIMEO` is set from the time left before each receive). It lists and
//! changes what agents managing addresses need: links ([`Link`]), addresses ([`Addr`],
//! [`NewAddr`]), routes ([`Route`]) and IPv6 address labels. [`enter_netns`] moves the calling
//! thread into a named network namespace (`/run/netns/NAME`, as `ip netns` creates them),
//! so everything after it, netlink sockets and `/proc/sys/net` included, acts there.
//!
//! Policy stays with the agent: this module reports what the kernel said ([`NetError`]
//! carries the errno) and the agent maps it to an OCF code.
//!
//! ```no_run
//! use ocf::net::Netlink;
//! use ocf::Deadline;
//! use std::time::Duration;
//!
//! let mut nl = Netlink::open(Deadline::after(Duration::from_secs(5)))?;
//! for a in nl.addresses()? {
//!     println!("{} {}/{}", a.index, a.ip, a.prefix);
//! }
//! # Ok::<(), ocf::net::NetError>(())
//! ```

use crate::deadline::Deadline;
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope, CacheInfo,
};
use netlink_packet_route::addrlabel::{AddrLabelAttribute, AddrLabelMessage};
use netlink_packet_route::link::{
    LinkAttribute, LinkFlags, LinkLayerType, LinkMessage, Prop, State,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// A failed netlink (or namespace) operation: what was attempted and the kernel's errno.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetError {
    /// What was attempted, e.g. `add address 192.0.2.1/24 to eth0`.
    pub op: String,
    /// The errno, when the kernel gave one (`None` for protocol or decoding problems).
    pub errno: Option<i32>,
    /// Extra detail.
    pub detail: String,
}

impl NetError {
    fn new(op: impl Into<String>, errno: Option<i32>, detail: impl Into<String>) -> NetError {
        NetError {
            op: op.into(),
            errno,
            detail: detail.into(),
        }
    }
    fn io(op: &str, e: &std::io::Error) -> NetError {
        let errno = e.raw_os_error();
        let detail = if matches!(errno, Some(libc::EAGAIN) | Some(libc::ETIMEDOUT)) {
            "no answer from the kernel before the deadline".to_string()
        } else {
            e.to_string()
        };
        NetError::new(op, errno, detail)
    }
    /// The errno as `nix` knows it.
    pub fn errno(&self) -> Option<nix::errno::Errno> {
        self.errno.map(nix::errno::Errno::from_raw)
    }
    /// Whether the kernel refused for lack of privilege (`EPERM`/`EACCES`).
    pub fn is_permission(&self) -> bool {
        matches!(self.errno, Some(libc::EPERM) | Some(libc::EACCES))
    }
    /// Whether the object already exists (`EEXIST`).
    pub fn is_exists(&self) -> bool {
        self.errno == Some(libc::EEXIST)
    }
    /// Whether the object was not found (`ENOENT`, `ENODEV`, `EADDRNOTAVAIL`, `ESRCH`).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.errno,
            Some(libc::ENOENT) | Some(libc::ENODEV) | Some(libc::EADDRNOTAVAIL) | Some(libc::ESRCH)
        )
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.op, self.detail)
    }
}

impl std::error::Error for NetError {}

/// Result of a netlink operation.
pub type NetResult<T> = std::result::Result<T, NetError>;

/// Operational state of a link (RFC 2863, `IF_OPER_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperState {
    /// Unknown (loopback, dummy and many virtual devices report this while working).
    Unknown,
    /// Not present.
    NotPresent,
    /// Down.
    Down,
    /// Down because a lower layer is (no carrier, veth peer down).
    LowerLayerDown,
    /// Testing.
    Testing,
    /// Dormant.
    Dormant,
    /// Up.
    Up,
}

/// The link-layer type (`ARPHRD_*`) of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// Ethernet and everything that frames like it (veth, bridge, bond, vlan, macvlan).
    Ether,
    /// Loopback.
    Loopback,
    /// IP over InfiniBand.
    Infiniband,
    /// Anything else (tunnels, ...).
    Other(u16),
}

/// A network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Name.
    pub name: String,
    /// Alternative names (`ip link property add altname`).
    pub altnames: Vec<String>,
    /// Administratively up (`IFF_UP`).
    pub admin_up: bool,
    /// Carrier present (`IFF_LOWER_UP`).
    pub lower_up: bool,
    /// Operational state.
    pub oper: OperState,
    /// The link resolves no neighbours (`IFF_NOARP`: tunnels, tun devices, `arp off`): there
    /// is nothing to announce on it.
    pub noarp: bool,
    /// Link-layer type.
    pub kind: LinkKind,
    /// Hardware address.
    pub mac: Vec<u8>,
}

impl Link {
    /// Whether `name` is this link's name or one of its alternative names.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.altnames.iter().any(|a| a == name)
    }
    /// Whether the link is down in the sense a virtual address cannot be reached through it:
    /// administratively down, or operationally `DOWN`/`LOWERLAYERDOWN`.
    pub fn is_down(&self) -> bool {
        !self.admin_up || matches!(self.oper, OperState::Down | OperState::LowerLayerDown)
    }
}

/// An address assigned to an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    /// Interface index.
    pub index: u32,
    /// The address (`IFA_LOCAL` for IPv4, `IFA_ADDRESS` for IPv6).
    pub ip: IpAddr,
    /// Prefix length.
    pub prefix: u8,
    /// Label (IPv4 only: `eth0:web`).
    pub label: Option<String>,
    /// IPv4 broadcast.
    pub broadcast: Option<Ipv4Addr>,
    /// `IFA_F_*` flags.
    pub flags: u32,
    /// Scope (`RT_SCOPE_*`).
    pub scope: u8,
}

/// `IFA_F_TENTATIVE`.
pub const IFA_F_TENTATIVE: u32 = 0x40;
/// `IFA_F_DADFAILED`.
pub const IFA_F_DADFAILED: u32 = 0x08;

impl Addr {
    /// Duplicate address detection still running.
    pub fn tentative(&self) -> bool {
        self.flags & IFA_F_TENTATIVE != 0
    }
    /// Duplicate address detection found another holder.
    pub fn dadfailed(&self) -> bool {
        self.flags & IFA_F_DADFAILED != 0
    }
}

/// An address to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAddr {
    /// Interface index.
    pub index: u32,
    /// Address.
    pub ip: IpAddr,
    /// Prefix length.
    pub prefix: u8,
    /// IPv4 broadcast (`None`: none).
    pub broadcast: Option<Ipv4Addr>,
    /// IPv4 label (must start with the interface name; at most 15 bytes).
    pub label: Option<String>,
    /// IPv6: skip duplicate address detection.
    pub nodad: bool,
    /// Do not create the prefix route.
    pub noprefixroute: bool,
    /// Preferred lifetime in seconds (`None`: forever). The valid lifetime is forever.
    pub preferred_lft: Option<u32>,
    /// Metric of the prefix route (`None`: the kernel's default).
    pub metric: Option<u32>,
}

/// Kind of route (`RTN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// A gateway or directly connected route.
    Unicast,
    /// An address of this host (local table).
    Local,
    /// Broadcast.
    Broadcast,
    /// Unreachable, prohibit, blackhole, throw.
    Reject,
    /// Anything else.
    Other(u8),
}

/// A route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination network (the unspecified address for a default route).
    pub dst: IpAddr,
    /// Destination prefix length.
    pub dst_len: u8,
    /// Output interface index.
    pub oif: Option<u32>,
    /// Gateway.
    pub gateway: Option<IpAddr>,
    /// Preferred source.
    pub prefsrc: Option<IpAddr>,
    /// Table id.
    pub table: u32,
    /// Kind.
    pub kind: RouteKind,
    /// Scope (`RT_SCOPE_*`: 0 universe, 200 site, 253 link, 254 host).
    pub scope: u8,
    /// Protocol (`RTPROT_*`: 2 kernel, 3 boot, 4 static, 16 dhcp, ...).
    pub protocol: u8,
    /// Metric (priority).
    pub metric: u32,
}

/// `RT_TABLE_MAIN`.
pub const TABLE_MAIN: u32 = 254;
/// `RT_TABLE_LOCAL`.
pub const TABLE_LOCAL: u32 = 255;
/// `RT_SCOPE_LINK`.
pub const SCOPE_LINK: u8 = 253;
/// `RT_SCOPE_HOST`.
pub const SCOPE_HOST: u8 = 254;

impl Route {
    /// Whether this route's destination covers `ip/prefix` (the route is no longer than
    /// `prefix` and `ip` lies in it): `ip route list match` semantics.
    pub fn covers(&self, ip: IpAddr, prefix: u8) -> bool {
        self.dst_len <= prefix && same_network(self.dst, ip, self.dst_len)
    }
}

/// Whether `a` and `b` are of one family and share their first `prefix` bits.
pub fn same_network(a: IpAddr, b: IpAddr, prefix: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let m = mask_v4(prefix);
            u32::from(a) & m == u32::from(b) & m
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let m = mask_v6(prefix);
            u128::from(a) & m == u128::from(b) & m
        }
        _ => false,
    }
}

/// The IPv4 netmask of a prefix length (values above 32 are 32).
pub fn mask_v4(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p if p >= 32 => u32::MAX,
        p => u32::MAX << (32 - u32::from(p)),
    }
}

/// The IPv6 netmask of a prefix length (values above 128 are 128).
pub fn mask_v6(prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        p if p >= 128 => u128::MAX,
        p => u128::MAX << (128 - u32::from(p)),
    }
}

/// The IPv4 broadcast address of `ip/prefix` (host bits set).
pub fn broadcast_v4(ip: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(ip) | !mask_v4(prefix))
}

fn family_of(ip: IpAddr) -> AddressFamily {
    if ip.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

fn route_ip(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// A blocking rtnetlink socket bounded by a deadline.
#[derive(Debug)]
pub struct Netlink {
    sock: Socket,
    seq: u32,
    deadline: Deadline,
    buf: Vec<u8>,
}

impl Netlink {
    /// Open a `NETLINK_ROUTE` socket whose receives give up at `deadline`.
    ///
    /// # Errors
    /// When the socket cannot be created or bound.
    pub fn open(deadline: Deadline) -> NetResult<Netlink> {
        let op = "open netlink socket";
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(|e| NetError::io(op, &e))?;
        sock.bind_auto().map_err(|e| NetError::io(op, &e))?;
        sock.connect(&SocketAddr::new(0, 0))
            .map_err(|e| NetError::io(op, &e))?;
        let _ = sock.set_ext_ack(true);
        Ok(Netlink {
            sock,
            seq: 0,
            deadline,
            buf: vec![0; 64 * 1024],
        })
    }

    fn set_timeout(&self, op: &str) -> NetResult<()> {
        let left = self.deadline.remaining();
        if left.is_zero() {
            return Err(NetError::new(
                op,
                Some(libc::ETIMEDOUT),
                "the time budget is exhausted",
            ));
        }
        let left = left.max(Duration::from_millis(1));
        let tv = libc::timeval {
            tv_sec: libc::time_t::try_from(left.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_usec: libc::suseconds_t::from(left.subsec_micros()),
        };
        // SAFETY: setsockopt reads a timeval of the size given from a valid pointer.
        let r = unsafe {
            libc::setsockopt(
                self.sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(NetError::io(op, &std::io::Error::last_os_error()));
        }
        Ok(())
    }

    /// Send one request and collect the answers until `Done` (dump) or the ACK.
    fn request(
        &mut self,
        op: &str,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> NetResult<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut hdr = NetlinkHeader::default();
        hdr.flags = NLM_F_REQUEST | flags;
        hdr.sequence_number = seq;
        let mut packet = NetlinkMessage::new(hdr, NetlinkPayload::from(msg));
        packet.finalize();
        let mut out = vec![0; packet.buffer_len()];
        packet.serialize(&mut out[..]);
        self.sock
            .send(&out[..], 0)
            .map_err(|e| NetError::io(op, &e))?;
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut answers = Vec::new();
        loop {
            self.set_timeout(op)?;
            let n = loop {
                match self.sock.recv(&mut &mut self.buf[..], 0) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(NetError::io(op, &e)),
                }
            };
            let n = n.min(self.buf.len());
            let mut off = 0;
            while off < n {
                let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[off..n])
                    .map_err(|e| NetError::new(op, None, format!("undecodable answer: {e}")))?;
                let len = m.header.length as usize;
                if m.header.sequence_number != seq {
                    // A late answer to an earlier request: skip it.
                    off += len.max(1);
                    continue;
                }
                match m.payload {
                    NetlinkPayload::Done(_) => return Ok(answers),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(answers),
                            Some(c) => {
                                let errno = -c.get();
                                Err(NetError::new(
                                    op,
                                    Some(errno),
                                    nix::errno::Errno::from_raw(errno).desc(),
                                ))
                            }
                        }
                    }
                    NetlinkPayload::InnerMessage(inner) => {
                        answers.push(inner);
                        if !dump && flags & NLM_F_ACK == 0 {
                            return Ok(answers);
                        }
                    }
                    _ => {}
                }
                if len == 0 {
                    break;
                }
                off += len;
            }
        }
    }

    /// Every link.
    ///
    /// # Errors
    /// Kernel errors and deadline expiry.
    pub fn links(&mut self) -> NetResult<Vec<Link>> {
        let answers = self.request(
            "list links",
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
        )?;
        Ok(answers
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_from(l)),
                _ => None,
            })
            .collect())
    }

    /// The link named `name` (or having it as an alternative name).
    ///
    /// # Errors
    /// Kernel errors and deadline expiry.
    pub fn link_by_name(&mut self, name: &str) -> NetResult<Option<Link>> {
        Ok(self.links()?.into_iter().find(|l| l.answers_to(name)))
    }

    /// The link with index `index`.
    ///
    /// # Errors
    /// Kernel errors and deadline expiry.
    pub fn link_by_index(&mut self, index: u32) -> NetResult<Option<Link>> {
        Ok(self.links()?.into_iter().find(|l| l.index == index))
    }

    /// Bring a link administratively up.
    ///
    /// # Errors
    /// Kernel errors (`EPERM` without `CAP_NET_ADMIN`) and deadline expiry.
    pub fn set_link_up(&mut self, index: u32) -> NetResult<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.flags = LinkFlags::Up;
        m.header.change_mask = LinkFlags::Up;
        self.request(
            &format!("bring link {index} up"),
            RouteNetlinkMessage::SetLink(m),
            NLM_F_ACK,
        )
        .map(drop)
    }

    /// Every address of both families.
    ///
    /// # Errors
    /// Kernel errors and deadline expiry.
    pub fn addresses(&mut self) -> NetResult<Vec<Addr>> {
        let answers = self.request(
            "list addresses",
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            NLM_F_DUMP,
        )?;
        Ok(answers
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => addr_from(a),
                _ => None,
            })
            .collect())
    }

    /// Add an address (`EEXIST` when it is already there).
    ///
    /// # Errors
    /// Kernel errors (`EPERM`, `EEXIST`, `ENODEV`, `EINVAL`) and deadline expiry.
    pub fn add_address(&mut self, a: &NewAddr) -> NetResult<()> {
        let mut m = AddressMessage::default();
        m.header.family = family_of(a.ip);
        m.header.prefix_len = a.prefix;
        m.header.index = a.index;
        m.header.scope = if a.ip.is_loopback() {
            AddressScope::Host
        } else {
            AddressScope::Universe
        };
        let mut flags = AddressFlags::empty();
        if a.nodad {
            flags |= AddressFlags::Nodad;
            m.header.flags |= AddressHeaderFlags::Nodad;
        }
        if a.noprefixroute {
            flags |= AddressFlags::Noprefixroute;
        }
        m.attributes.push(AddressAttribute::Local(a.ip));
        m.attributes.push(AddressAttribute::Address(a.ip));
        if let Some(b) = a.broadcast {
            m.attributes.push(AddressAttribute::Broadcast(b));
        }
        if let Some(l) = &a.label {
            m.attributes.push(AddressAttribute::Label(l.clone()));
        }
        if let Some(p) = a.preferred_lft {
            let mut ci = CacheInfo::default();
            ci.ifa_preferred = p;
            ci.ifa_valid = u32::MAX;
            m.attributes.push(AddressAttribute::CacheInfo(ci));
        }
        if let Some(metric) = a.metric {
            m.attributes.push(AddressAttribute::RoutePriority(metric));
        }
        m.attributes.push(AddressAttribute::Flags(flags));
        self.request(
            &format!("add address {}/{} to link {}", a.ip, a.prefix, a.index),
            RouteNetlinkMessage::NewAddress(m),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
    }

    /// Delete an address.
    ///
    /// # Errors
    /// Kernel errors (`EADDRNOTAVAIL` when absent) and deadline expiry.
    pub fn del_address(&mut self, index: u32, ip: IpAddr, prefix: u8) -> NetResult<()> {
        let mut m = AddressMessage::default();
        m.header.family = family_of(ip);
        m.header.prefix_len = prefix;
        m.header.index = index;
        m.attributes.push(AddressAttribute::Local(ip));
        m.attributes.push(AddressAttribute::Address(ip));
        self.request(
            &format!("delete address {ip}/{prefix} from link {index}"),
            RouteNetlinkMessage::DelAddress(m),
            NLM_F_ACK,
        )
        .map(drop)
    }

    /// Every route of `ip`'s family, in every table.
    ///
    /// # Errors
    /// Kernel errors and deadline expiry.
    pub fn routes(&mut self, v6: bool) -> NetResult<Vec<Route>> {
        let mut m = RouteMessage::default();
        m.header.address_family = if v6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        let answers = self.request("list routes", RouteNetlinkMessage::GetRoute(m), NLM_F_DUMP)?;
        Ok(answers
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRoute(r) => route_from(r, v6),
                _ => None,
            })
            .collect())
    }

    fn addrlabel(&mut self, add: bool, ip: IpAddr, prefix: u8, label: u32) -> NetResult<()> {
        let mut m = AddrLabelMessage::default();
        m.header.family = family_of(ip);
        m.header.prefix_len = prefix;
        m.attributes.push(AddrLabelAttribute::Address(ip));
        m.attributes.push(AddrLabelAttribute::Label(label));
        let (what, msg, flags) = if add {
            (
                "add",
                RouteNetlinkMessage::NewAddrLabel(m),
                NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            )
        } else {
            ("delete", RouteNetlinkMessage::DelAddrLabel(m), NLM_F_ACK)
        };
        self.request(
            &format!("{what} address label {label} for {ip}/{prefix}"),
            msg,
            flags,
        )
        .map(drop)
    }

    /// Add an IPv6 address-selection label for `ip/prefix` (`ip addrlabel add`).
    ///
    /// # Errors
    /// Kernel errors (`EEXIST` when the prefix has a label) and deadline expiry.
    pub fn add_addrlabel(&mut self, ip: IpAddr, prefix: u8, label: u32) -> NetResult<()> {
        self.addrlabel(true, ip, prefix, label)
    }

    /// Delete an IPv6 address-selection label.
    ///
    /// # Errors
    /// Kernel errors (`ESRCH` when absent) and deadline expiry.
    pub fn del_addrlabel(&mut self, ip: IpAddr, prefix: u8, label: u32) -> NetResult<()> {
        self.addrlabel(false, ip, prefix, label)
    }
}

fn link_from(l: LinkMessage) -> Link {
    let mut link = Link {
        index: l.header.index,
        name: String::new(),
        altnames: Vec::new(),
        admin_up: l.header.flags.contains(LinkFlags::Up),
        lower_up: l.header.flags.contains(LinkFlags::LowerUp),
        oper: OperState::Unknown,
        noarp: l.header.flags.contains(LinkFlags::Noarp),
        kind: match l.header.link_layer_type {
            LinkLayerType::Ether => LinkKind::Ether,
            LinkLayerType::Loopback => LinkKind::Loopback,
            LinkLayerType::Infiniband => LinkKind::Infiniband,
            other => LinkKind::Other(u16::from(other)),
        },
        mac: Vec::new(),
    };
    for a in l.attributes {
        match a {
            LinkAttribute::IfName(n) => link.name = n,
            LinkAttribute::Address(m) => link.mac = m,
            LinkAttribute::OperState(s) => {
                link.oper = match s {
                    State::Up => OperState::Up,
                    State::Down => OperState::Down,
                    State::LowerLayerDown => OperState::LowerLayerDown,
                    State::NotPresent => OperState::NotPresent,
                    State::Testing => OperState::Testing,
                    State::Dormant => OperState::Dormant,
                    _ => OperState::Unknown,
                }
            }
            LinkAttribute::PropList(props) => {
                for p in props {
                    if let Prop::AltIfName(n) = p {
                        link.altnames.push(n);
                    }
                }
            }
            _ => {}
        }
    }
    link
}

fn addr_from(a: AddressMessage) -> Option<Addr> {
    let mut local = None;
    let mut address = None;
    let mut out = Addr {
        index: a.header.index,
        ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        prefix: a.header.prefix_len,
        label: None,
        broadcast: None,
        flags: u32::from(a.header.flags.bits()),
        scope: u8::from(a.header.scope),
    };
    for attr in a.attributes {
        match attr {
            AddressAttribute::Local(ip) => local = Some(ip),
            AddressAttribute::Address(ip) => address = Some(ip),
            AddressAttribute::Label(l) => out.label = Some(l),
            AddressAttribute::Broadcast(b) => out.broadcast = Some(b),
            AddressAttribute::Flags(f) => out.flags = f.bits(),
            _ => {}
        }
    }
    out.ip = local.or(address)?;
    Some(out)
}

fn route_from(r: RouteMessage, v6: bool) -> Option<Route> {
    let unspecified = if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    };
    let mut out = Route {
        dst: unspecified,
        dst_len: r.header.destination_prefix_length,
        oif: None,
        gateway: None,
        prefsrc: None,
        table: u32::from(r.header.table),
        kind: match r.header.kind {
            RouteType::Unicast => RouteKind::Unicast,
            RouteType::Local => RouteKind::Local,
            RouteType::Broadcast => RouteKind::Broadcast,
            RouteType::Unreachable
            | RouteType::Prohibit
            | RouteType::BlackHole
            | RouteType::Throw => RouteKind::Reject,
            other => RouteKind::Other(u8::from(other)),
        },
        scope: u8::from(r.header.scope),
        protocol: u8::from(r.header.protocol),
        metric: 0,
    };
    for a in r.attributes {
        match a {
            RouteAttribute::Destination(d) => out.dst = route_ip(&d)?,
            RouteAttribute::Gateway(g) => out.gateway = route_ip(&g),
            RouteAttribute::PrefSource(s) => out.prefsrc = route_ip(&s),
            RouteAttribute::Oif(i) => out.oif = Some(i),
            RouteAttribute::Table(t) => out.table = t,
            RouteAttribute::Priority(p) => out.metric = p,
            _ => {}
        }
    }
    Some(out)
}

/// Parse a route protocol as `ip route ... proto P` accepts it: a name from
/// `/etc/iproute2/rt_protos` (the standard ones) or a number 0..255.
pub fn parse_route_protocol(s: &str) -> Option<u8> {
    if let Ok(n) = s.parse::<u8>() {
        return Some(n);
    }
    let p = match s {
        "redirect" => RouteProtocol::IcmpRedirect,
        "kernel" => RouteProtocol::Kernel,
        "boot" => RouteProtocol::Boot,
        "static" => RouteProtocol::Static,
        "gated" => RouteProtocol::Gated,
        "ra" => RouteProtocol::Ra,
        "mrt" => RouteProtocol::Mrt,
        "zebra" => RouteProtocol::Zebra,
        "bird" => RouteProtocol::Bird,
        "dnrouted" => RouteProtocol::DnRouted,
        "xorp" => RouteProtocol::Xorp,
        "ntk" => RouteProtocol::Ntk,
        "dhcp" => RouteProtocol::Dhcp,
        "keepalived" => RouteProtocol::KeepAlived,
        "babel" => RouteProtocol::Babel,
        "bgp" => RouteProtocol::Bgp,
        "isis" => RouteProtocol::Isis,
        "ospf" => RouteProtocol::Ospf,
        "rip" => RouteProtocol::Rip,
        "eigrp" => RouteProtocol::Eigrp,
        _ => return None,
    };
    Some(u8::from(p))
}

/// Whether `name` can name a network namespace under `/run/netns` (one path component).
pub fn valid_netns_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.contains('\0')
        && name.len() <= 255
}

/// `sendto(2)` of `buf` on the socket `fd` to `addr`, a `libc::sockaddr_*` structure
/// (`sockaddr_in`, `sockaddr_in6`, `sockaddr_ll`, ...) whose size is the address length.
/// It allocates nothing, so a forked child may call it.
///
/// # Errors
/// The system call's (`ENETUNREACH`, `EPERM`, ...).
pub fn send_to<A>(fd: &impl AsRawFd, buf: &[u8], addr: &A) -> std::io::Result<usize> {
    // SAFETY: sendto reads `buf` and `addr` of the sizes given; both outlive the call.
    let r = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            0,
            (addr as *const A).cast(),
            std::mem::size_of::<A>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(r as usize)
}

/// Wait up to `wait` (1 ms at least) for a datagram or frame on the socket `fd` and receive
/// it into `buf` without blocking: `None` when nothing came in time or a signal interrupted
/// the wait.
///
/// # Errors
/// The system calls' (`poll(2)`, `recv(2)`).
pub fn recv_within(
    fd: &impl AsRawFd,
    buf: &mut [u8],
    wait: Duration,
) -> std::io::Result<Option<usize>> {
    use std::io::{Error, ErrorKind};
    let ms = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX).max(1);
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll on one valid pollfd.
    let r = unsafe { libc::poll(&mut pfd, 1, ms) };
    if r < 0 {
        let e = Error::last_os_error();
        return if e.kind() == ErrorKind::Interrupted {
            Ok(None)
        } else {
            Err(e)
        };
    }
    if r == 0 {
        return Ok(None);
    }
    // SAFETY: recv writes at most buf.len() bytes into buf.
    let n = unsafe {
        libc::recv(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        let e = Error::last_os_error();
        return if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) {
            Ok(None)
        } else {
            Err(e)
        };
    }
    Ok(Some(n as usize))
}

/// Move the calling thread into the network namespace `name` (`/run/netns/NAME`).
///
/// Call it before opening any socket: sockets keep the namespace they were created in.
///
/// # Errors
/// `ENOENT` when the namespace does not exist, `EPERM` without `CAP_SYS_ADMIN`, `EINVAL`
/// for a bad name.
pub fn enter_netns(name: &str) -> NetResult<()> {
    let op = format!("enter network namespace {name}");
    if !valid_netns_name(name) {
        return Err(NetError::new(
            op,
            Some(libc::EINVAL),
            "not a valid namespace name",
        ));
    }
    let path = std::path::Path::new("/run/netns").join(name);
    let f = std::fs::File::open(&path).map_err(|e| NetError::io(&op, &e))?;
    nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| NetError::new(&op, Some(e as i32), e.desc()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_networks() {
        assert_eq!(mask_v4(24), 0xffff_ff00);
        assert_eq!(mask_v4(0), 0);
        assert_eq!(mask_v4(32), u32::MAX);
        assert_eq!(
            broadcast_v4(Ipv4Addr::new(192, 0, 2, 7), 24),
            Ipv4Addr::new(192, 0, 2, 255)
        );
        assert!(same_network(
            "2001:db8::1".parse().unwrap(),
            "2001:db8::ffff".parse().unwrap(),
            64
        ));
        assert!(!same_network(
            "192.0.2.1".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
            0
        ));
        let r = Route {
            dst: "192.0.2.0".parse().unwrap(),
            dst_len: 24,
            oif: Some(2),
            gateway: None,
            prefsrc: None,
            table: TABLE_MAIN,
            kind: RouteKind::Unicast,
            scope: SCOPE_LINK,
            protocol: 2,
            metric: 0,
        };
        assert!(r.covers("192.0.2.9".parse().unwrap(), 32));
        assert!(r.covers("192.0.2.9".parse().unwrap(), 24));
        assert!(!r.covers("192.0.2.9".parse().unwrap(), 16));
        assert!(!r.covers("192.0.3.9".parse().unwrap(), 32));
    }

    #[test]
    fn protocols_and_names() {
        assert_eq!(parse_route_protocol("kernel"), Some(2));
        assert_eq!(parse_route_protocol("static"), Some(4));
        assert_eq!(parse_route_protocol("200"), Some(200));
        assert_eq!(parse_route_protocol("nonsense"), None);
        assert!(valid_netns_name("blue"));
        assert!(!valid_netns_name("../x"));
        assert!(!valid_netns_name(""));
    }

    #[test]
    fn lists_links_without_privilege() {
        let mut nl = Netlink::open(Deadline::after(Duration::from_secs(5))).unwrap();
        let links = nl.links().unwrap();
        assert!(links.iter().any(|l| l.kind == LinkKind::Loopback));
        let addrs = nl.addresses().unwrap();
        assert!(addrs.iter().any(|a| a.ip.is_loopback()));
        let routes = nl.routes(false).unwrap();
        assert!(routes.iter().any(|r| r.table == TABLE_LOCAL));
    }
}
