//! Announcements: the foreground series, external senders, and the background sender that
//! start leaves running (identified by pid and start time) and stop ends.

use super::*;

/// The budget left for optional work (announcements): keep a reserve to return in time.
pub(super) fn announce_deadline(cx: &Context) -> Deadline {
    let reserve = Duration::from_millis(500);
    Deadline::at(
        cx.deadline
            .instant()
            .checked_sub(reserve)
            .unwrap_or(cx.deadline.instant()),
    )
}

pub(super) fn ha_bin(cx: &Context) -> PathBuf {
    PathBuf::from(
        cx.env
            .get_nonempty("HA_BIN")
            .unwrap_or("/usr/libexec/heartbeat"),
    )
}

pub(super) fn external_sender(
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
pub(super) fn announce(cfg: &Config, cx: &Context, link: &Link, count: u32, refresh: bool) {
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

pub(super) fn sender_pidfile(cfg: &Config, cx: &Context) -> Result<PathBuf> {
    Ok(cluster::state_dir(cx)?.join(format!("send_arp-{}", cfg.ip)))
}

/// Start the background series and record its identity (pid and start time) so stop can
/// end it. The child stops on its own when the start's budget would have run out.
pub(super) fn spawn_background(
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
        if let Err(e) = Pidfile::new(&file).write_identity(r) {
            ocf::warn!("cannot record the background sender: {}", e.reason());
        }
    }
    Ok(pid)
}

/// End a background sender still announcing this address (stop must not leave one behind).
pub(super) fn stop_background(cfg: &Config, cx: &Context) {
    let Ok(file) = sender_pidfile(cfg, cx) else {
        return;
    };
    let pidfile = Pidfile::new(&file);
    // The SDK pid file: pid and start time, so a reused pid is never signalled.
    if let Ok(Some(r)) = pidfile.running(None) {
        let pid = r.pid;
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
    let _ = pidfile.remove();
}
