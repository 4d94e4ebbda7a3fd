//! The actions: host checks, start (DAD, ARP probe, LVS label, hooks), stop, monitor.

use super::*;

/// Depth 10: enter the namespace, find the interface.
pub(super) fn check_host(cfg: &Config, cx: &Context) -> Result<()> {
    enter_namespace(cfg)?;
    if cx.action == "stop" {
        // Stop never depends on discovery (see the module docs).
        return Ok(());
    }
    let mut nl = open(cx)?;
    let links = nl.links().map_err(|e| net_error(&e))?;
    // With nic and cidr_netmask given, discovery reads the routes only for the metric an
    // IPv6 address is added with: a monitor does not need them.
    let routes = if cx.is_monitor() && cfg.nic.is_some() && cfg.prefix.is_some() {
        Vec::new()
    } else {
        nl.routes(cfg.v6()).map_err(|e| net_error(&e))?
    };
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
            if cx.is_monitor() {
                let _ = cfg.monitor_addrs.set(addrs);
            }
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

pub(super) fn require_root(cx: &Context) -> Result<()> {
    if nix::unistd::Uid::effective().is_root() {
        Ok(())
    } else {
        Err(Error::perm(format!(
            "You must be root for {} operation.",
            cx.action
        )))
    }
}

pub(super) fn lvs_state_file(cfg: &Config, cx: &Context) -> Result<PathBuf> {
    Ok(cluster::state_dir(cx)?.join(format!("lvs-loopback-{}", cfg.ip)))
}

/// Where start put the address (`<interface> <prefix>`), so that a stop whose interface
/// discovery fails (routes gone, address on several interfaces) removes only this resource's
/// copy. Keyed by address and network namespace (`ip` is unique per resource).
pub(super) fn placed_file(cfg: &Config, cx: &Context) -> Result<PathBuf> {
    let ns = cfg
        .netns
        .as_deref()
        .map(|n| format!("@{}", n.replace('/', "_")))
        .unwrap_or_default();
    Ok(cluster::state_dir(cx)?.join(format!("placed-{}{ns}", cfg.ip)))
}

fn record_placement(cfg: &Config, cx: &Context, link: &str, prefix: u8) {
    match placed_file(cfg, cx) {
        Ok(f) => {
            if let Err(e) = std::fs::write(&f, format!("{link} {prefix}\n")) {
                ocf::warn!(
                    "cannot record where {} was added ({}): {e}",
                    cfg.ip,
                    f.display()
                );
            }
        }
        Err(e) => ocf::warn!("{}", e.reason()),
    }
}

fn recorded_placement(cfg: &Config, cx: &Context) -> Option<(String, u8)> {
    let text = std::fs::read_to_string(placed_file(cfg, cx).ok()?).ok()?;
    let mut w = text.split_whitespace();
    let name = w.next()?.to_string();
    let prefix = w.next()?.parse().ok()?;
    Some((name, prefix))
}

/// Wait for DAD; on failure remove the address and fail.
pub(super) fn await_dad(cfg: &Config, cx: &Context, nl: &mut Netlink, t: &Target) -> Result<()> {
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

pub(super) fn run_hook(path: &PathBuf, cx: &Context) -> Result<()> {
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
pub(super) fn start(cfg: &Config, cx: &Context) -> Result<()> {
    require_root(cx)?;
    let t = cfg.target()?.clone();
    if let (IpAddr::V4(_), Sender::External(name, _)) = (cfg.ip, effective_sender(cfg, &t.link)) {
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
            record_placement(cfg, cx, &link.name, t.prefix);
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
    check_announceable(cfg, &link)?;
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
        metric: t.metric,
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
    record_placement(cfg, cx, &link.name, t.prefix);
    if let Some(script) = &cfg.hooks.start {
        run_hook(script, cx)?;
    }
    announce(cfg, cx, &link, cfg.arp_count, false);
    Ok(())
}

/// stop.
pub(super) fn stop(cfg: &Config, cx: &Context) -> Result<()> {
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
    // The interface the discovery chooses, when it can; otherwise (routes gone, base address
    // removed, the address on several interfaces) the one start recorded. Never "any
    // interface": the same address elsewhere is not this resource's (the reference removes
    // nothing then).
    let discovered = match wanted_link.flatten() {
        Some(l) => Some((l.index, cfg.prefix)),
        None => nl
            .routes(cfg.v6())
            .ok()
            .and_then(|routes| find_target(cfg, &links, &routes, &addrs).ok())
            .map(|t| (t.link.index, cfg.prefix)),
    };
    let wanted = discovered.or_else(|| {
        let (name, prefix) = recorded_placement(cfg, cx)?;
        let l = links.iter().find(|l| l.name == name)?;
        Some((l.index, Some(prefix)))
    });
    let victims: Vec<&Addr> = match wanted {
        Some((index, prefix)) => addrs
            .iter()
            .filter(|a| a.ip == cfg.ip && a.index == index)
            .filter(|a| prefix.is_none_or(|p| a.prefix == p))
            .collect(),
        None => {
            let elsewhere: Vec<&str> = addrs
                .iter()
                .filter(|a| a.ip == cfg.ip)
                .filter_map(|a| links.iter().find(|l| l.index == a.index))
                .map(|l| l.name.as_str())
                .collect();
            if !elsewhere.is_empty() {
                ocf::warn!(
                    "cannot tell which interface is this resource's: {} is on {} but neither \
                     interface discovery nor a record of start chose one; leaving it",
                    cfg.ip,
                    elsewhere.join(", ")
                );
            }
            Vec::new()
        }
    };
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
    if let Ok(f) = placed_file(cfg, cx) {
        let _ = std::fs::remove_file(f);
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
pub(super) fn monitor(cfg: &Config, cx: &Context) -> Result<Status> {
    // The snapshot check_host just read (links and addresses of one socket, microseconds
    // ago) answers the monitor; only without it are they read again.
    let (state, link) = match (cfg.monitor_addrs.get(), cfg.resolved.get()) {
        (Some(addrs), Some(t)) => (served(cfg, t, addrs, &t.link), t.link.clone()),
        _ => current(cfg, &mut open(cx)?)?,
    };
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
