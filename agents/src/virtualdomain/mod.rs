//! `VirtualDomain`: a libvirt domain, drop-in for resource-agents' `VirtualDomain` (same
//! parameter names, defaults and meanings; differences below).
//!
//! # How the agent talks to libvirt: `virsh`, argv only, a deadline on every call
//!
//! Three ways were weighed (issue 15): `virsh` as a child with a deadline, libvirt linked
//! into a separate binary (crate `virt`), and libvirt's remote protocol spoken in process.
//! Measured on this project's CI-sized machine (2 shared cores, Debian 12, libvirt 9.0, a
//! running 64 MiB TCG domain, libvirtd in a namespace host of tests/common/libvirt.rs),
//! median of 20 monitors each, in the same run:
//!
//! | monitor through | wall | CPU (user+sys) | processes exec'd | libvirtd SIGSTOPped |
//! |---|---|---|---|---|
//! | this agent: `virsh domstate` (debug build) | 225 ms | 23.5 ms | 2 (agent, virsh) | answers 0 after 3.1 s with a 10 s budget: virsh is killed at a third of the budget, the emulator is found in /proc |
//! | `virsh domstate` alone | 150 ms | 17.4 ms | 1 | blocks until killed (`timeout 8`: 8.1 s) |
//! | libvirt linked in, whole process (python3-libvirt as the stand-in for a `virt`-crate binary: interpreter floor 99 ms / 14.8 ms) | 369 ms | 56.0 ms | 1 | blocks inside the library until killed (8.1 s) |
//! | libvirt linked in, the calls only (open, lookup, state, close) | 12 ms | 0.7 ms | 0 | blocks; only a worker thread could be abandoned, with its connection |
//! | shell `VirtualDomain` (resource-agents 4.12) | 413 ms | 58.7 ms | 18 (virsh twice, sed, tr, grep, od, which, date, ...) | no answer after 30 s with a 10 s budget (killed) |
//!
//! What the figures say: the cost of a monitor through virsh is loading libvirt's client
//! library and its dependencies and the TLS/RPC set-up, not the fork (CPU 17 ms for virsh
//! against 0.7 ms for the calls themselves). A separate binary linking libvirt pays the same
//! loading at each start, so it would gain little over virsh, while adding a second binary to
//! package and hangs that can only be abandoned in a thread, never killed. Only the remote
//! protocol in process would remove the loading (about 12 ms wall, under 1 ms CPU), at the
//! price of a hand-written libvirt RPC client (XDR over libvirtd's socket, authentication,
//! ~15 procedures), which principle 9 argues against while a maintained tool exists; it
//! remains the way to go if monitor cost becomes the bottleneck (a monitor every 10 s of 50
//! domains costs about 12 % of one core through virsh). `virsh` also keeps the shell agent's
//! client-side configuration (default URI, URI aliases, authentication) unchanged, and the
//! multicall binary does not grow.
//!
//! # Bounded everywhere
//! * **monitor**: `virsh domstate` gets a third of the budget; without an answer (libvirtd
//!   down or hung) the domain's emulator process is looked for in /proc, matched by the
//!   domain's exact name **and** UUID ([`emulator`]); found: running (0), else 7.
//! * **stop**: graceful `virsh shutdown` (with `shutdown_mode`, which the shell agent never
//!   applies) for up to two thirds of the budget, then `virsh destroy`; when libvirtd does not
//!   answer, the emulator process itself gets SIGTERM then SIGKILL before the budget ends.
//! * **start**, **migrate_to**, **migrate_from**: every call has a deadline; out of time,
//!   the action ends with an exit reason saying what did not answer. A failed or timed-out
//!   migration is aborted (`virsh domjobabort`), the domain keeps running on the source and
//!   migrate_to returns 1 with libvirt's message.
//!
//! # Differences from the shell agent
//! * a persistently defined domain of the same name is never undefined (start: 5, saying so);
//! * the domain is created transient (`virsh create`), also in backing-file mode;
//! * utilization attributes are written only when their value changed, not on every monitor;
//! * `migration_downtime` is applied when libvirt accepts it (once the job exists), and
//!   `migration_speed` as `virsh migrate --bandwidth`;
//! * the default migration port is derived from the domain name (stable), not random;
//! * migrate_from gives up after 5 s when libvirt does not know the domain on the target at
//!   all (the shell agent loops until Pacemaker kills it);
//! * a tool of an optional feature that is missing (csync2 for `sync_config_on_stop`,
//!   qemu-img for `backingfile`, virt-copy-in for `copyindirs`) fails start and validate-all
//!   with 5, and nothing else: the shell agent's `check_binary csync2` exits 5 from every
//!   action, stop included (a failed stop fences the node), and a probe's 5 tells Pacemaker
//!   the domain is not active there, whatever runs. Ours still monitors and stops a domain
//!   that runs (a stop saves the XML and warns that it was not synchronised);
//! * `copyindirs` copies into the overlay image (`virt-copy-in -a <overlay>`) before the
//!   transient domain is created; the shell agent defines the domain persistently and uses
//!   `virt-copy-in -d <name>`;
//! * a domain XML that is not well-formed is 5 like one without `<name>` (the shell agent
//!   does not parse it: its start fails 1 at `virsh create`); unreadable is 5 in both.
//!
//! # Findings about the shell agent (measured in the test lab, recorded by the tests)
//! * Debian's shell `ocf-tester` never finishes on the stock agent: after the stop checks it
//!   calls migrate_from on the stopped resource, whose loop waits for the domain forever (the
//!   shell tester has no timeout). The test gives it 15 s there, then kills it; ours passes
//!   both testers.
//! * With libvirtd SIGSTOPped, the stock monitor does not answer within 30 s although its
//!   budget is 10 s; ours answers 0 from /proc after 3.1 s.

pub mod config;
pub mod emulator;
pub mod extras;
pub mod meta;
pub mod migrate;
pub mod virsh;

use config::{Config, Domain};
use nix::sys::signal::Signal;
use ocf::deadline::bounded;
use ocf::process::ProcRef;
use ocf::{Context, Deadline, Error, Params, ResourceAgent, Result, Status};
use std::time::Duration;
use virsh::{Answer, DomState, Virsh};

/// The agent.
pub struct VirtualDomain;

/// The parameters and the domain read from the XML file (an error when unreadable: reported
/// by `check_host`, so that a probe is 7 and a stop 0 where the file is missing).
#[derive(Debug, Clone)]
pub struct Setup {
    /// The parameters.
    pub cfg: Config,
    /// The domain (name, UUID, size) or why the XML is unusable here.
    pub domain: std::result::Result<Domain, Error>,
}

impl Setup {
    fn dom(&self) -> Result<&Domain> {
        self.domain.as_ref().map_err(Clone::clone)
    }

    fn virsh(&self) -> Virsh {
        Virsh::new(self.cfg.hypervisor.as_deref())
    }
}

/// Read and parse the domain XML (bounded: it may be on shared storage that hangs).
fn read_domain(cfg: &Config, deadline: Deadline) -> std::result::Result<Domain, Error> {
    let path = cfg.config.clone();
    let text = bounded(deadline, format!("reading {}", path.display()), move || {
        std::fs::read_to_string(&path)
    })?;
    match text {
        Ok(t) => config::parse_domain(&t, &cfg.config),
        // As the shell agent (`[ -r config ]`, 5): unreadable here (root squashed on NFS,
        // a copy with the wrong mode) is this node's problem, not an invalid configuration.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(Error::installed(
            format!("{} is not readable: {e}", cfg.config.display()),
        )),
        Err(e) => Err(Error::installed(format!(
            "domain XML {}: {e}",
            cfg.config.display()
        ))),
    }
}

/// The UUID known for the domain: from the XML, else what libvirt told this node at start.
fn known_uuid(dom: &Domain, cx: &Context) -> Option<String> {
    dom.uuid.clone().or_else(|| {
        let f = uuid_file(cx).ok()?;
        let t = std::fs::read_to_string(f).ok()?;
        Some(t.trim().to_string()).filter(|s| !s.is_empty())
    })
}

fn uuid_file(cx: &Context) -> Result<std::path::PathBuf> {
    Ok(
        ocf::cluster::state_dir(cx)?
            .join(format!("{}.uuid", ocf::cluster::file_safe(&cx.instance))),
    )
}

/// Remember the UUID libvirt gave the domain when the XML has none (one `virsh domuuid`).
fn remember_uuid(dom: &Domain, v: &Virsh, cx: &Context) {
    if dom.uuid.is_some() {
        return;
    }
    if let (Ok(Answer::Ok(u)), Ok(f)) = (
        v.call(["domuuid", &dom.name], cx.deadline.fraction(0.3)),
        uuid_file(cx),
    ) {
        let _ = ocf::files::write_atomic(&f, format!("{u}\n").as_bytes());
    }
}

/// The domain's state; when libvirtd does not answer by `deadline`, from /proc.
fn state(dom: &Domain, v: &Virsh, cx: &Context, deadline: Deadline) -> Result<DomState> {
    match virsh::domstate(v, &dom.name, deadline)? {
        Ok(s) => Ok(s),
        Err(why) => {
            let uuid = known_uuid(dom, cx);
            if uuid.is_none() {
                ocf::warn!(
                    "the UUID of {} is unknown (no <uuid> in the XML): its emulator is \
                     matched by name only",
                    dom.name
                );
            }
            let procs = emulator::find(&dom.name, uuid.as_deref());
            let pids: Vec<String> = procs.iter().map(|p| p.pid.to_string()).collect();
            if procs.is_empty() {
                ocf::warn!("{why}; no emulator process of {} found: stopped", dom.name);
                Ok(DomState::Stopped)
            } else {
                ocf::warn!(
                    "{why}; emulator process {} of {} runs",
                    pids.join(" "),
                    dom.name
                );
                Ok(DomState::Running)
            }
        }
    }
}

/// End the emulator processes directly: SIGTERM, then SIGKILL with a third of what is left.
fn kill_emulator(dom: &Domain, cx: &Context, deadline: Deadline) -> Result<()> {
    let uuid = known_uuid(dom, cx);
    let procs: Vec<ProcRef> = emulator::find(&dom.name, uuid.as_deref());
    if procs.is_empty() {
        return Ok(());
    }
    ocf::warn!(
        "ending {}'s emulator process {} directly (libvirtd does not answer)",
        dom.name,
        procs
            .iter()
            .map(|p| p.pid.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let left = ocf::process::stop_processes(&procs, &[Signal::SIGTERM, Signal::SIGKILL], deadline);
    if left.is_empty() {
        Ok(())
    } else {
        Err(Error::generic(format!(
            "emulator process of {} still running after SIGKILL",
            dom.name
        )))
    }
}

/// Wait until the domain is stopped (per libvirt, or per /proc when it does not answer).
fn wait_stopped(dom: &Domain, v: &Virsh, cx: &Context, deadline: Deadline) -> bool {
    let uuid = known_uuid(dom, cx);
    deadline
        .wait_until(Duration::from_millis(250), || {
            let d = deadline.within(Duration::from_secs(3));
            let stopped = match virsh::domstate(v, &dom.name, d) {
                Ok(Ok(s)) => s == DomState::Stopped,
                // No answer from libvirtd: its emulator process tells.
                _ => emulator::find(&dom.name, uuid.as_deref()).is_empty(),
            };
            stopped.then_some(())
        })
        .is_some()
}

/// The checks after the domain runs: monitor scripts, then utilization.
fn running_checks(s: &Setup, dom: &Domain, cx: &Context) -> Result<()> {
    extras::monitor_scripts(&s.cfg, cx.deadline.fraction(0.8))?;
    extras::update_utilization(&s.cfg, dom, cx, cx.deadline.fraction(0.9));
    Ok(())
}

/// The snapshot file of the domain.
fn snapshot_file(s: &Setup, dom: &Domain) -> Option<std::path::PathBuf> {
    s.cfg
        .snapshot
        .as_ref()
        .map(|d| d.join(format!("{}.state", dom.name)))
}

/// Whether libvirt has a persistent definition of the domain (`virsh dominfo`).
fn persistent(dom: &Domain, v: &Virsh, deadline: Deadline) -> Result<bool> {
    Ok(match v.call(["dominfo", &dom.name], deadline)? {
        Answer::Ok(info) => info.lines().any(|l| {
            l.split_once(':')
                .is_some_and(|(k, val)| k.trim() == "Persistent" && val.trim() == "yes")
        }),
        _ => false,
    })
}

impl ResourceAgent for VirtualDomain {
    const META: &'static ocf::Agent = &meta::AGENT;
    type Config = Setup;

    fn configure(p: &Params<'_>, cx: &Context) -> Result<Setup> {
        let cfg = Config::from_params(p)?;
        let domain = read_domain(&cfg, cx.deadline.fraction(0.3));
        Ok(Setup { cfg, domain })
    }

    fn check_host(s: &Setup, cx: &Context) -> Result<()> {
        s.dom()?;
        if ocf::process::which(virsh::VIRSH).is_none() {
            return Err(Error::installed(
                "virsh not found in PATH (install libvirt-clients)",
            ));
        }
        // The tools of the optional features are checked where a domain is about to be
        // started. Elsewhere a missing one must not hide a domain that runs: the shell agent's
        // probe says 7 and its stop 0 then (invalid environment) although the domain may run
        // here; ours reports the truth and stops it (a stop without csync2 saves the XML and
        // says that it was not synchronised).
        if !matches!(cx.action.as_str(), "start" | "validate-all" | "verify-all") {
            return Ok(());
        }
        if s.cfg.sync_config && ocf::process::which("csync2").is_none() {
            return Err(Error::installed(
                "sync_config_on_stop needs csync2, which is not installed",
            ));
        }
        if s.cfg.backingfile.is_some() && ocf::process::which("qemu-img").is_none() {
            return Err(Error::installed("backingfile needs qemu-img (qemu-utils)"));
        }
        if !s.cfg.copyindirs.is_empty() && ocf::process::which("virt-copy-in").is_none() {
            return Err(Error::installed(
                "copyindirs needs virt-copy-in (libguestfs-tools)",
            ));
        }
        Ok(())
    }

    fn start(s: &Setup, cx: &Context) -> Result<()> {
        let dom = s.dom()?;
        let v = s.virsh();
        match virsh::domstate(&v, &dom.name, cx.deadline.fraction(0.25))? {
            Ok(DomState::Running) => {
                ocf::info!("domain {} is already running", dom.name);
                return running_checks(s, dom, cx);
            }
            Ok(DomState::Stopped) => {}
            Err(m) => return Err(Error::generic(format!("start of {}: {m}", dom.name))),
        }
        if persistent(dom, &v, cx.deadline.fraction(0.25))? {
            return Err(Error::installed(format!(
                "domain {} is defined persistently on this node; the agent creates it from {} \
                 and does not undefine another definition: remove it ('virsh undefine {}') \
                 or let the cluster stop managing this resource",
                dom.name,
                s.cfg.config.display(),
                dom.name
            )));
        }
        let snap = snapshot_file(s, dom).filter(|f| f.exists());
        if let Some(f) = &snap {
            ocf::info!("restoring {} from {}", dom.name, f.display());
            v.must(
                &format!("virsh restore {}", f.display()),
                [std::ffi::OsStr::new("restore"), f.as_os_str()],
                cx.deadline.fraction(0.8),
            )?;
            ocf::files::remove_if_exists(f)?;
        } else {
            if s.cfg.start_resources {
                extras::start_resources(&v, dom, cx.deadline.fraction(0.3))?;
            }
            extras::prepare_overlay(&s.cfg, cx.deadline.fraction(0.5))?;
            v.must(
                &format!("start of {}: virsh create", dom.name),
                [std::ffi::OsStr::new("create"), s.cfg.config.as_os_str()],
                cx.deadline.fraction(0.8),
            )?;
        }
        let mut last = String::new();
        let up = cx.deadline.wait_until(Duration::from_millis(250), || {
            match virsh::domstate(&v, &dom.name, cx.deadline) {
                Ok(Ok(DomState::Running)) => Some(()),
                Ok(Ok(DomState::Stopped)) => {
                    last = "it is not running".into();
                    None
                }
                Ok(Err(m)) => {
                    last = m;
                    None
                }
                Err(e) => {
                    last = e.reason().to_string();
                    None
                }
            }
        });
        if up.is_none() {
            return Err(Error::generic(format!(
                "start of {}: created, but {last}",
                dom.name
            )));
        }
        remember_uuid(dom, &v, cx);
        ocf::info!("domain {} started", dom.name);
        running_checks(s, dom, cx)
    }

    fn stop(s: &Setup, cx: &Context) -> Result<()> {
        let dom = s.dom()?;
        let v = s.virsh();
        if state(dom, &v, cx, cx.deadline.fraction(0.25))? == DomState::Stopped {
            ocf::info!("domain {} is not running", dom.name);
            return Ok(());
        }
        let mut graceful = !s.cfg.force_stop;
        if let (Some(f), true) = (snapshot_file(s, dom), graceful) {
            if s.cfg.save_config {
                extras::save_config(&s.cfg, &v, dom, cx.deadline.fraction(0.1));
            }
            ocf::info!("saving {}'s state to {}", dom.name, f.display());
            match v.call(
                [
                    std::ffi::OsStr::new("save"),
                    std::ffi::OsStr::new(&dom.name),
                    f.as_os_str(),
                ],
                cx.deadline.fraction(0.6),
            )? {
                Answer::Ok(_) => {
                    if wait_stopped(dom, &v, cx, cx.deadline.fraction(0.3)) {
                        ocf::info!("domain {} saved and stopped", dom.name);
                        return Ok(());
                    }
                }
                Answer::Failed(m) => ocf::warn!("virsh save {}: {m}; stopping it", dom.name),
                Answer::NoAnswer(_) => {
                    ocf::warn!("virsh save {}: libvirtd did not answer", dom.name);
                    let _ = std::fs::remove_file(&f);
                    graceful = false;
                }
            }
        } else if s.cfg.save_config {
            extras::save_config(&s.cfg, &v, dom, cx.deadline.fraction(0.1));
        }
        if graceful {
            let mut args = vec!["shutdown".to_string(), dom.name.clone()];
            if let Some(m) = &s.cfg.shutdown_mode {
                args.extend(["--mode".into(), m.clone()]);
            }
            ocf::info!("shutting down {}: virsh {}", dom.name, args.join(" "));
            match v.call(&args, cx.deadline.fraction(0.3))? {
                Answer::Ok(_) => {
                    // Two thirds of the whole budget for the guest to power off.
                    if wait_stopped(dom, &v, cx, cx.deadline.fraction(0.6)) {
                        ocf::info!("domain {} shut down", dom.name);
                        return Ok(());
                    }
                    ocf::warn!(
                        "domain {} did not shut down in time: destroying it",
                        dom.name
                    );
                }
                Answer::Failed(m) if virsh::is_not_running(&m) => {
                    return Ok(());
                }
                Answer::Failed(m) => ocf::warn!("virsh shutdown {}: {m}; destroying it", dom.name),
                Answer::NoAnswer(_) => {
                    ocf::warn!("virsh shutdown {}: libvirtd did not answer", dom.name);
                }
            }
        }
        match v.call(["destroy", &dom.name], cx.deadline.fraction(0.4))? {
            Answer::Ok(_) => {
                if wait_stopped(dom, &v, cx, cx.deadline.fraction(0.5)) {
                    ocf::info!("domain {} destroyed", dom.name);
                    return Ok(());
                }
            }
            Answer::Failed(m) if virsh::is_not_running(&m) => return Ok(()),
            Answer::Failed(m) => ocf::warn!("virsh destroy {}: {m}", dom.name),
            Answer::NoAnswer(_) => {
                ocf::warn!("virsh destroy {}: libvirtd did not answer", dom.name)
            }
        }
        kill_emulator(dom, cx, cx.deadline)
    }

    fn monitor(s: &Setup, cx: &Context) -> Result<Status> {
        let dom = s.dom()?;
        let v = s.virsh();
        match state(dom, &v, cx, cx.deadline.fraction(0.34))? {
            DomState::Stopped => Ok(Status::Stopped),
            DomState::Running => {
                running_checks(s, dom, cx)?;
                Ok(Status::Running)
            }
        }
    }

    fn migrate_to(s: &Setup, cx: &Context) -> Result<()> {
        migrate::migrate_to(&s.cfg, s.dom()?, &s.virsh(), cx)
    }

    fn migrate_from(s: &Setup, cx: &Context) -> Result<()> {
        let dom = s.dom()?;
        let v = s.virsh();
        migrate::migrate_from(dom, &v, cx)?;
        remember_uuid(dom, &v, cx);
        running_checks(s, dom, cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::testing::Run;
    use ocf::Rc;

    fn xml(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
        let p = dir.join("d.xml");
        std::fs::write(&p, body).unwrap();
        p
    }

    #[test]
    fn invalid_parameters_and_files() {
        let d = std::env::temp_dir().join(format!("ocfrs-vd-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let good = xml(&d, "<domain><name>u</name></domain>");
        let r = || Run::agent::<VirtualDomain>().param("config", &good);
        r().param("force_stop", "true")
            .param("snapshot", "/srv")
            .action("validate-all")
            .run()
            .assert_rc(Rc::ErrConfigured);
        for (k, v) in [
            ("stateless", "true"),
            ("shutdown_mode", "acpi,reboot"),
            ("migration_speed", "fast"),
        ] {
            let invalid = r().param(k, v).action("validate-all").run();
            invalid.assert_rc(Rc::ErrConfigured);
        }
        Run::agent::<VirtualDomain>()
            .param("config", "d.xml")
            .action("validate-all")
            .run()
            .assert_rc(Rc::ErrConfigured);
        // A missing file is this node's problem: start 5, probe 7, stop 0.
        let missing = Run::agent::<VirtualDomain>().param("config", d.join("none.xml"));
        missing
            .clone()
            .action("start")
            .run()
            .assert_rc(Rc::ErrInstalled);
        missing
            .clone()
            .action("monitor")
            .probe()
            .run()
            .assert_rc(Rc::NotRunning);
        missing.clone().action("stop").run().assert_rc(Rc::Success);
        std::fs::remove_dir_all(d).unwrap();
    }
}
