//! What happens around the domain's life: utilization attributes, monitor scripts, saving
//! the configuration, the backing-file overlay, networks and pools.

use super::config::{Config, Domain};
use super::virsh::{Answer, Virsh};
use ocf::process::{self, Cmd};
use ocf::{Context, Deadline, Error, Result};
use std::time::Duration;

/// The utilization values this node last wrote for the instance, one `name=value` per line
/// (`name=` for a deleted attribute), in the agent's state directory (tmpfs: rewritten once
/// after a reboot).
fn utilization_cache(cx: &Context) -> Result<std::path::PathBuf> {
    Ok(ocf::cluster::state_dir(cx)?.join(format!(
        "{}.utilization",
        ocf::cluster::file_safe(&cx.instance)
    )))
}

/// What the utilization attributes should be: `(name, Some(value))` to set, `(name, None)` to
/// delete; attributes neither set nor unset are left alone.
pub fn wanted_utilization(cfg: &Config, dom: &Domain) -> Vec<(&'static str, Option<String>)> {
    cfg.utilization
        .iter()
        .filter_map(|&(name, set, unset)| {
            if unset {
                return Some((name, None));
            }
            if !set {
                return None;
            }
            let v = match name {
                "cpu" => dom.vcpus,
                _ => dom.memory_mib,
            }?;
            Some((name, Some(v.to_string())))
        })
        .collect()
}

/// Write the utilization attributes whose value changed since this node last wrote them
/// (`crm_resource --utilization`). A failure is logged, never an action failure: placement
/// data is not the domain's health.
pub fn update_utilization(cfg: &Config, dom: &Domain, cx: &Context, deadline: Deadline) {
    let wanted = wanted_utilization(cfg, dom);
    if wanted.is_empty() {
        return;
    }
    let Ok(cache) = utilization_cache(cx) else {
        return;
    };
    let old = std::fs::read_to_string(&cache).unwrap_or_default();
    let line = |n: &str, v: &Option<String>| format!("{n}={}", v.as_deref().unwrap_or(""));
    let changed: Vec<_> = wanted
        .iter()
        .filter(|(n, v)| !old.lines().any(|l| l == line(n, v)))
        .collect();
    if changed.is_empty() {
        return;
    }
    if process::which("crm_resource").is_none() {
        ocf::debug!("crm_resource not found: utilization attributes not written");
        return;
    }
    let mut done: Vec<String> = old
        .lines()
        .filter(|l| !changed.iter().any(|(n, _)| l.split('=').next() == Some(*n)))
        .map(str::to_string)
        .collect();
    for (name, value) in changed {
        let c = Cmd::new("crm_resource").args(["--resource", &cx.instance, "--utilization"]);
        let c = match value {
            Some(v) => c.args(["--set-parameter", name, "--parameter-value", v]),
            None => c.args(["--delete-parameter", name]),
        };
        match c.run_ok(deadline) {
            Ok(_) => {
                ocf::info!(
                    "utilization {name} of {}: {}",
                    cx.instance,
                    value.as_deref().unwrap_or("deleted")
                );
                done.push(line(name, value));
            }
            Err(e) => ocf::warn!("utilization {name}: {}", e.reason()),
        }
    }
    done.push(String::new());
    if let Err(e) = ocf::files::write_atomic(&cache, done.join("\n").as_bytes()) {
        ocf::warn!("{}", e.reason());
    }
}

/// Run the monitor scripts one after the other, each bounded by what is left of `deadline`.
///
/// # Errors
/// 1 naming the first script that failed or did not answer, with its output.
pub fn monitor_scripts(cfg: &Config, deadline: Deadline) -> Result<()> {
    for s in &cfg.monitor_scripts {
        let f = Cmd::new(s).run_bounded(deadline, Duration::from_millis(200))?;
        if f.timed_out {
            return Err(Error::generic(format!(
                "monitor script {} did not finish within {:.1} s",
                s.display(),
                f.elapsed.as_secs_f64()
            )));
        }
        if !f.output.success() {
            let text = f.output.one_line();
            return Err(Error::generic(format!(
                "monitor script {} failed ({}){}",
                s.display(),
                f.output
                    .code
                    .map_or_else(|| "killed".to_string(), |c| format!("exit code {c}")),
                if text.is_empty() {
                    String::new()
                } else {
                    format!(": {text}")
                }
            )));
        }
    }
    Ok(())
}

/// Write the domain's current definition into `config` (and csync2 it when asked). Failures
/// are logged: the domain's stop or migration matters more than the saved copy.
pub fn save_config(cfg: &Config, v: &Virsh, dom: &Domain, deadline: Deadline) {
    match v.call(["dumpxml", "--migratable", &dom.name], deadline) {
        Ok(Answer::Ok(xml)) if xml.contains("<domain") => {
            let mut text = xml;
            text.push('\n');
            match ocf::files::write_atomic(&cfg.config, text.as_bytes()) {
                Ok(()) => ocf::info!(
                    "saved {}'s definition to {}",
                    dom.name,
                    cfg.config.display()
                ),
                Err(e) => ocf::warn!("{}", e.reason()),
            }
        }
        Ok(Answer::Ok(_)) => ocf::warn!("virsh dumpxml {} gave no XML: not saved", dom.name),
        Ok(Answer::Failed(m)) => ocf::warn!("saving {}'s definition: {m}", dom.name),
        Ok(Answer::NoAnswer(_)) => {
            ocf::warn!("saving {}'s definition: libvirtd did not answer", dom.name);
        }
        Err(e) => ocf::warn!("{}", e.reason()),
    }
    if cfg.sync_config {
        if process::which("csync2").is_none() {
            ocf::warn!(
                "csync2 is not installed: {} saved here but not synchronised to the other nodes",
                cfg.config.display()
            );
            return;
        }
        match Cmd::new("csync2")
            .arg("-x")
            .arg(&cfg.config)
            .run_ok(deadline)
        {
            Ok(_) => ocf::info!("csync2 -x {} done", cfg.config.display()),
            Err(e) => ocf::warn!("{}", e.reason()),
        }
    }
}

/// Backing-file mode: create the overlay when missing (always when stateless), then copy the
/// directories in.
///
/// # Errors
/// 1 when qemu-img or virt-copy-in fail or run out of time.
pub fn prepare_overlay(cfg: &Config, deadline: Deadline) -> Result<()> {
    let Some(backing) = &cfg.backingfile else {
        return Ok(());
    };
    let overlay = cfg.overlay();
    let present = std::fs::metadata(&overlay).is_ok_and(|m| m.len() > 0);
    if present && !cfg.stateless {
        return Ok(());
    }
    ocf::files::remove_if_exists(&overlay)?;
    Cmd::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b"])
        .arg(backing)
        .arg(&overlay)
        .run_ok(deadline)
        .map_err(|e| e.context(format!("creating overlay {}", overlay.display())))?;
    ocf::info!(
        "created overlay {} on {}",
        overlay.display(),
        backing.display()
    );
    if !cfg.copyindirs.is_empty() {
        Cmd::new("virt-copy-in")
            .arg("-a")
            .arg(&overlay)
            .args(&cfg.copyindirs)
            .arg("/")
            .run_ok(deadline)
            .map_err(|e| e.context("copying directories into the guest"))?;
    }
    Ok(())
}

/// Start the networks and storage pools the domain uses (already active ones are fine).
///
/// # Errors
/// 1 when one cannot be started.
pub fn start_resources(v: &Virsh, dom: &Domain, deadline: Deadline) -> Result<()> {
    for (kind, names) in [("net-start", &dom.networks), ("pool-start", &dom.pools)] {
        for n in names {
            match v.call([kind, n.as_str()], deadline)? {
                Answer::Ok(_) => ocf::info!("virsh {kind} {n}: started"),
                Answer::Failed(m) if m.contains("already active") => {}
                Answer::Failed(m) => {
                    return Err(Error::generic(format!("virsh {kind} {n}: {m}")));
                }
                Answer::NoAnswer(_) => {
                    return Err(Error::generic(format!(
                        "virsh {kind} {n}: libvirtd did not answer"
                    )));
                }
            }
        }
    }
    Ok(())
}
