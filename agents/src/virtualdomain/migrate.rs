//! Live migration: the target's URIs and the two halves Pacemaker calls.

use super::config::{Config, Domain};
use super::virsh::{self, Answer, DomState, Virsh};
use ocf::{Context, Deadline, Error, Result};
use std::time::Duration;

/// The target node's host name with the migration network suffix on its first label:
/// `n2.example.com` + `-mig` = `n2-mig.example.com`.
pub fn target_host(target: &str, suffix: &str) -> String {
    match target.split_once('.') {
        Some((short, rest)) => format!("{short}{suffix}.{rest}"),
        None => format!("{target}{suffix}"),
    }
}

/// The target libvirtd's URI, derived from the local one: scheme with the transport (replacing
/// any transport the local URI has), `user@` and the target host; port, path and query kept.
/// `qemu:///system`, transport `tcp`, target `n2` → `qemu+tcp://n2/system`.
///
/// # Errors
/// 6 when the local URI has no `scheme://`.
pub fn derive_remote_uri(local: &str, transport: &str, user: &str, host: &str) -> Result<String> {
    let (scheme, rest) = local.split_once("://").ok_or_else(|| {
        Error::configured(format!(
            "hypervisor URI '{}' has no scheme://: set remoteuri",
            ocf::exit::sanitize_reason(local)
        ))
    })?;
    let driver = scheme.split('+').next().unwrap_or(scheme);
    let scheme = if transport.is_empty() {
        scheme.to_string()
    } else {
        format!("{driver}+{transport}")
    };
    // authority = [user@]host[:port]; the rest starts at the first '/' or '?'
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(cut);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let port = if authority.starts_with('[') {
        authority
            .split_once("]:")
            .map(|(_, p)| format!(":{p}"))
            .unwrap_or_default()
    } else {
        authority
            .rsplit_once(':')
            .map(|(_, p)| format!(":{p}"))
            .unwrap_or_default()
    };
    let user = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    Ok(format!("{scheme}://{user}{host}{port}{tail}"))
}

/// The default port of the migration stream: 49152-49215, from the domain's name (stable
/// across nodes and runs, unlike the shell agent's random one).
pub fn default_port(name: &str) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    49152 + u16::try_from(h % 64).unwrap_or(0)
}

/// Both URIs for migrating to `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uris {
    /// The target libvirtd.
    pub remote: String,
    /// The migration data stream, when one is given or derived.
    pub migrate: Option<String>,
}

/// Compute the URIs (`local` = this node's connection URI).
///
/// # Errors
/// 6 when they cannot be derived.
pub fn uris(cfg: &Config, dom: &Domain, local: &str, target: &str) -> Result<Uris> {
    let host = target_host(target, &cfg.migration_network_suffix);
    let remote = if cfg.remoteuri.is_empty() {
        derive_remote_uri(local, &cfg.migration_transport, &cfg.migration_user, &host)?
    } else {
        cfg.remoteuri.replace("%n", target)
    };
    let migrate = if !cfg.migrateuri.is_empty() {
        Some(cfg.migrateuri.replace("%n", target))
    } else if local.starts_with("qemu") {
        let port = if cfg.migrateport == 0 {
            default_port(&dom.name)
        } else {
            cfg.migrateport
        };
        Some(format!("tcp:{host}:{port}"))
    } else {
        None
    };
    Ok(Uris { remote, migrate })
}

/// The local URI: the parameter, or virsh's default (`virsh uri`).
fn local_uri(v: &Virsh, deadline: Deadline) -> Result<String> {
    match v.uri() {
        Some(u) => Ok(u.to_string()),
        None => v.must("virsh uri", ["uri"], deadline),
    }
}

/// migrate_to: live-migrate the running domain to `CRM_meta_migrate_target`. On failure, the
/// migration job is aborted and the domain checked to run here still.
///
/// # Errors
/// 1 with libvirt's message.
pub fn migrate_to(cfg: &Config, dom: &Domain, v: &Virsh, cx: &Context) -> Result<()> {
    let target = cx.migrate_target.clone().ok_or_else(|| {
        Error::generic("migrate_to without a target (CRM_meta_migrate_target is not set)")
    })?;
    match virsh::domstate(v, &dom.name, cx.deadline.fraction(0.15))? {
        Ok(DomState::Running) => {}
        Ok(DomState::Stopped) => {
            return Err(Error::generic(format!(
                "domain {} is not running on this node: nothing to migrate to {target}",
                dom.name
            )))
        }
        Err(m) => return Err(Error::generic(format!("migrate_to: {m}"))),
    }
    let local = local_uri(v, cx.deadline.fraction(0.1))?;
    let u = uris(cfg, dom, &local, &target)?;
    if cfg.save_config {
        super::extras::save_config(cfg, v, dom, cx.deadline.fraction(0.1));
    }
    if cfg.start_resources {
        super::extras::start_resources(
            &Virsh::new(Some(&u.remote)),
            dom,
            cx.deadline.fraction(0.1),
        )?;
    }
    let mut args: Vec<String> = vec!["migrate".into(), "--live".into()];
    if cfg.migration_speed > 0 {
        args.extend(["--bandwidth".into(), cfg.migration_speed.to_string()]);
    }
    args.extend(cfg.migrate_options.iter().cloned());
    args.extend([dom.name.clone(), u.remote.clone()]);
    if let Some(m) = &u.migrate {
        args.push(m.clone());
    }
    ocf::info!(
        "live migration of {} to {target}: {} (data: {})",
        dom.name,
        u.remote,
        u.migrate.as_deref().unwrap_or("libvirt's default")
    );
    // QEMU takes the downtime limit before the job starts (a migration parameter); older
    // drivers only during the job: then it is set once the job exists (below).
    let mut downtime_pending = cfg.migration_downtime > 0;
    if downtime_pending {
        let ms = cfg.migration_downtime.to_string();
        if let Ok(Answer::Ok(_)) = v.call(
            ["migrate-setmaxdowntime", dom.name.as_str(), ms.as_str()],
            cx.deadline.fraction(0.1),
        ) {
            ocf::info!("maximum downtime of {}'s migration: {ms} ms", dom.name);
            downtime_pending = false;
        }
    }
    // Keep a fifth of the budget to abort the job and check the domain if it fails.
    let job_deadline = cx.deadline.fraction(0.8);
    let cmd = v.cmd(&args);
    ocf::info!("{}", cmd.display());
    let worker =
        std::thread::spawn(move || cmd.run_bounded(job_deadline, Duration::from_millis(200)));
    if downtime_pending {
        set_downtime(v, dom, cfg.migration_downtime, &worker, job_deadline);
    }
    let finished = worker
        .join()
        .map_err(|_| Error::generic("virsh migrate worker panicked"))??;
    let failure = if finished.timed_out {
        format!(
            "no result within {:.1} s (the target's libvirtd does not answer or the \
             migration does not converge)",
            finished.elapsed.as_secs_f64()
        )
    } else if finished.output.success() {
        ocf::info!(
            "{} migrated to {target} in {:.1} s",
            dom.name,
            finished.elapsed.as_secs_f64()
        );
        return Ok(());
    } else {
        let text = finished.output.stderr_text();
        let lines: Vec<&str> = text
            .lines()
            .map(|l| l.trim().strip_prefix("error:").unwrap_or(l).trim())
            .filter(|l| !l.is_empty())
            .collect();
        if lines.is_empty() {
            format!("virsh exit code {:?}", finished.output.code)
        } else {
            lines.join("; ")
        }
    };
    // A killed virsh leaves the job running in libvirtd: abort it so the domain stays here.
    match v.call(["domjobabort", &dom.name], cx.deadline.fraction(0.4)) {
        Ok(Answer::Ok(_)) => ocf::info!("migration job of {} aborted", dom.name),
        Ok(Answer::Failed(m)) => ocf::debug!("domjobabort: {m}"),
        Ok(Answer::NoAnswer(_)) => ocf::warn!("domjobabort {}: libvirtd did not answer", dom.name),
        Err(e) => ocf::warn!("{}", e.reason()),
    }
    let here = match virsh::domstate(v, &dom.name, cx.deadline.fraction(0.7))? {
        Ok(DomState::Running) => "it keeps running on this node".to_string(),
        Ok(DomState::Stopped) => "it is NOT running on this node any more".to_string(),
        Err(m) => format!("its state here is unknown: {m}"),
    };
    // The state first: the reason may be cut to the exit-reason limit.
    Err(Error::generic(format!(
        "live migration of {} to {target} failed ({here}): {failure}",
        dom.name
    )))
}

/// Set the maximum downtime once the migration job exists (libvirt accepts it only then).
fn set_downtime<T>(
    v: &Virsh,
    dom: &Domain,
    ms: u64,
    worker: &std::thread::JoinHandle<T>,
    deadline: Deadline,
) {
    let ms = ms.to_string();
    let set = deadline.wait_until(Duration::from_millis(200), || {
        if worker.is_finished() {
            return Some(false);
        }
        let d = deadline.within(Duration::from_secs(2));
        match v.call(["migrate-setmaxdowntime", &dom.name, &ms], d) {
            Ok(Answer::Ok(_)) => Some(true),
            _ => None,
        }
    });
    match set {
        Some(true) => ocf::info!("maximum downtime of {}'s migration: {ms} ms", dom.name),
        _ => ocf::warn!(
            "could not set the maximum downtime of {}'s migration",
            dom.name
        ),
    }
}

/// migrate_from: the domain must run here after migrate_to ended on the source. It normally
/// does at once; the agent waits within its budget, but gives up after a few seconds when
/// libvirt does not know the domain here at all (no migration is coming).
///
/// # Errors
/// 1 saying what was seen.
pub fn migrate_from(dom: &Domain, v: &Virsh, cx: &Context) -> Result<()> {
    let source = cx
        .migrate_source
        .clone()
        .unwrap_or_else(|| "the source".into());
    let started = std::time::Instant::now();
    let grace = Duration::from_secs(5);
    let mut last = String::new();
    let arrived = cx.deadline.wait_until(Duration::from_millis(500), || {
        let d = cx.deadline.fraction(0.5);
        match v.call(["domstate", &dom.name], d) {
            Ok(Answer::Ok(s)) if s.starts_with("running") => Some(Ok(())),
            Ok(Answer::Ok(s)) => {
                last = format!("state '{s}'");
                None
            }
            Ok(Answer::Failed(m)) if virsh::is_no_domain(&m) => {
                last = "libvirt does not know the domain on this node".into();
                (started.elapsed() > grace).then(|| Err(last.clone()))
            }
            Ok(Answer::Failed(m)) => {
                last = m;
                None
            }
            Ok(Answer::NoAnswer(t)) => {
                last = format!("libvirtd did not answer within {:.1} s", t.as_secs_f64());
                None
            }
            Err(e) => Some(Err(e.reason().to_string())),
        }
    });
    match arrived {
        Some(Ok(())) => {
            ocf::info!("{} arrived from {source}", dom.name);
            Ok(())
        }
        Some(Err(why)) => Err(Error::generic(format!(
            "migrate_from: domain {} did not arrive from {source}: {why}",
            dom.name
        ))),
        None => Err(Error::generic(format!(
            "migrate_from: domain {} not running here {:.1} s after the migration from \
             {source} ({})",
            dom.name,
            started.elapsed().as_secs_f64(),
            if last.is_empty() { "no state" } else { &last }
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_uris() {
        let d = |l, t, u, h| derive_remote_uri(l, t, u, h).unwrap();
        assert_eq!(d("qemu:///system", "tcp", "", "n2"), "qemu+tcp://n2/system");
        assert_eq!(d("qemu:///system", "", "", "n2"), "qemu://n2/system");
        assert_eq!(
            d(
                "qemu+ssh://root@n1:2222/system?no_verify=1",
                "ssh",
                "ha",
                "n2"
            ),
            "qemu+ssh://ha@n2:2222/system?no_verify=1"
        );
        assert_eq!(d("xen+ssh://n1/", "tls", "", "n2.x"), "xen+tls://n2.x/");
        assert!(derive_remote_uri("qemu", "", "", "n2").is_err());
        assert_eq!(target_host("n2.example.com", "-mig"), "n2-mig.example.com");
        assert_eq!(target_host("n2", "-mig"), "n2-mig");
        assert_eq!(target_host("n2", ""), "n2");
    }

    #[test]
    fn ports_are_stable_and_in_range() {
        for n in ["a", "vm1", "web-server-42", ""] {
            let p = default_port(n);
            assert!((49152..=49215).contains(&p), "{n}: {p}");
            assert_eq!(p, default_port(n));
        }
    }
}
