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
//!
//! # Files
//! `config` (parameters → [`Config`], no host access), `findif` (netlink, namespace,
//! interface discovery: [`find_target`]), `actions` (host checks, start, stop, monitor),
//! `sender` (announcement series and the background sender), [`announce`] (ARP/NA frames on
//! a packet socket), [`legacy`] (the `IPaddr` face), [`meta`] (both declarations).

mod actions;
pub mod announce;
mod config;
mod findif;
pub mod legacy;
pub mod meta;
mod sender;

use actions::*;
pub use config::*;
use findif::*;
pub use findif::{find_target, net_error, FindError};
use sender::*;

use announce::ArpMode;
use ocf::net::{self, Addr, Link, LinkKind, NetError, Netlink, NewAddr, Route, RouteKind};
use ocf::process::{Cmd, Pidfile, ProcRef};
use ocf::{cluster, Context, Deadline, Error, Params, ResourceAgent, Result, Status};
use std::cell::OnceCell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

/// The IPaddr2 agent.
pub struct IPaddr2;

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
