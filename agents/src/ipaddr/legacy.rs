//! `IPaddr`: the legacy parameter names over the IPaddr2 engine.
//!
//! | IPaddr | engine |
//! |---|---|
//! | ip, cidr_netmask, broadcast, iflabel, lvs_support | same meaning |
//! | nic (default **eth0**, really applied; empty string → discovery) | nic |
//! | ARP_REPEAT (10), ARP_INTERVAL_MS (500) | arp_count, arp_interval |
//! | ARP_BACKGROUND (yes) | arp_bg |
//! | ARP_NETMASK | accepted, unused |
//! | local_start_script / local_stop_script | run (argv only, deadline) after add / after removal |
//!
//! Everything else takes IPaddr2's defaults (built-in ARP REQUEST sender, link status checked).
//!
//! `OCF_CHECK_LEVEL` 10, as the reference's users expect: when the address is served, it
//! must also answer an ICMP echo (up to 10 requests, one at a time, inside the monitor's
//! budget), else 1 "not responding". The reference ran `ping -c1` up to 10 times; this one
//! sends the echo from the agent process over a raw socket ([`ocf::ping`]), forking nothing.

use super::{meta, Config, Hooks, Raw};
use ocf::{Context, Error, Params, ResourceAgent, Result, Status};
use std::time::Duration;

/// Depth 10: the address answers an ICMP echo (10 tries, each up to 1 s, within the budget).
fn answers(cfg: &Config, cx: &Context) -> Result<()> {
    let mut last = None;
    for seq in 1..=10u16 {
        let d = cx.deadline.within(Duration::from_secs(1));
        if d.remaining().is_zero() {
            break;
        }
        match ocf::ping::echo(cfg.ip, seq, d) {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(Error::perm(format!("cannot ping {}: {e}", cfg.ip)))
            }
            Err(e) => last = Some(e),
        }
    }
    Err(Error::generic(format!(
        "Address {} not responding to ping{}",
        cfg.ip,
        last.map(|e| format!(" ({e})")).unwrap_or_default()
    )))
}
use std::path::PathBuf;

/// The IPaddr agent.
pub struct IPaddr;

fn script(s: Option<String>) -> Option<PathBuf> {
    s.map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
}

impl ResourceAgent for IPaddr {
    const META: &'static ocf::Agent = &meta::IPADDR;
    type Config = Config;

    fn configure(p: &Params<'_>, cx: &Context) -> Result<Config> {
        use meta::*;
        let raw = Raw {
            ip: p.string(&L_IP)?,
            nic: p.string(&L_NIC)?,
            netmask: p.string(&L_CIDR_NETMASK)?,
            broadcast: p.string(&L_BROADCAST)?,
            iflabel: p.string(&L_IFLABEL)?,
            lvs_support: p.bool(&L_LVS_SUPPORT)?,
            lvs_ipv6_addrlabel_value: 99,
            arp_interval: p.int(&L_ARP_INTERVAL_MS)?,
            arp_count: p.int(&L_ARP_REPEAT)?,
            arp_count_refresh: 0,
            arp_bg: Some(p.bool(&L_ARP_BACKGROUND)?),
            preferred_lft: "forever".into(),
            check_link_status: true,
            hooks: Hooks {
                start: script(p.opt_string(&L_LOCAL_START_SCRIPT)?),
                stop: script(p.opt_string(&L_LOCAL_STOP_SCRIPT)?),
            },
            ..Raw::default()
        };
        let _ = p.string(&L_ARP_NETMASK)?;
        Config::build(raw, cx)
    }

    fn check_host(cfg: &Config, cx: &Context) -> Result<()> {
        super::check_host(cfg, cx)
    }

    fn start(cfg: &Config, cx: &Context) -> Result<()> {
        super::start(cfg, cx)
    }

    fn stop(cfg: &Config, cx: &Context) -> Result<()> {
        super::stop(cfg, cx)
    }

    fn monitor(cfg: &Config, cx: &Context) -> Result<Status> {
        let s = super::monitor(cfg, cx)?;
        if cx.depth >= 10 && s == Status::Running {
            answers(cfg, cx)?;
        }
        Ok(s)
    }
}
