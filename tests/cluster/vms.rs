//! Seed scenario "Virtual domains on a 3-node cluster" (issue 15; docs/scenarios.md).
//!
//! Every node of a 3-node cluster is also a libvirt host ([`Cluster::libvirt_host`]: its own
//! libvirtd and virtlogd in the node's namespaces, private /etc/libvirt, /var/lib/libvirt,
//! /var/cache/libvirt and /run, listening on the node's address; migration over the
//! cluster network). Three 64 MiB disk-less TCG domains (tests/common/libvirt.rs
//! `domain_xml`: SeaBIOS finds nothing to boot and idles) are `ocf:ocfrs:VirtualDomain`
//! resources with `allow-migrate=true`, one preferring each node (score 50), and
//! `resource-stickiness=100`. Their XML lies in a directory under /tmp, which every node
//! sees (the nodes share the machine's /tmp): the stand-in for the shared storage a real
//! cluster keeps its domain definitions on.
//!
//! One cluster bring-up serves every step, in sequence:
//! 1. the domains start, one per node, each a QEMU process in its node;
//! 2. the node of `vm1` crashes: the harness's fence device (`stonith:fence_ocfc`) fences it,
//!    and only then `vm1` starts on a survivor (its start call begins after the fence
//!    completed, per the fencer's history and the harness's power-off record); the other
//!    domains are untouched;
//! 3. the crashed node returns (a fresh host): with stickiness 100 above the location
//!    score 50, `vm1` **stays** where it runs (the configured policy tested here; no
//!    failback), although the returned node probed it;
//! 4. `crm resource move vm1 <home>` live-migrates it home: migrate_to on the source,
//!    migrate_from on the target, no start anywhere; the target's QEMU was started by the
//!    incoming migration (`-incoming` on its command line, started inside migrate_to), both
//!    QEMU processes ran at once and the source's exited after the target's started, and the
//!    target's QEMU is the same process from its first sighting to the end; inside the guest,
//!    a mark written into its CMOS NVRAM on the source before the move is there on the
//!    target (a restarted guest would read 0).
//!
//! Fencing: runs with the harness's fence device and `stonith-enabled=true`.
use super::harness::*;
use super::policy_common::now;
use crate::common::libvirt::domain_xml;
use crate::common::TempDir;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The domains: resource id, libvirt name, home node, migration port (inside the nodes'
/// network namespaces; this scenario's own range).
const VMS: [(&str, &str, usize, u16); 3] = [
    ("vm1", "ocfrs-vc-vm1", 1, 21901),
    ("vm2", "ocfrs-vc-vm2", 2, 21902),
    ("vm3", "ocfrs-vc-vm3", 3, 21903),
];

/// The crm configuration of the scenario (quoted in docs/scenarios.md).
fn configuration(provider: &str, xml_dir: &Path) -> String {
    let mut crm = String::new();
    for (rsc, dom, home, port) in VMS {
        crm.push_str(&format!(
            "primitive {rsc} ocf:{provider}:VirtualDomain \\\n\
             \tparams config={}/{dom}.xml hypervisor=qemu:///system \\\n\
             \t\tmigration_transport=tcp migrateport={port} \\\n\
             \tmeta allow-migrate=true \\\n\
             \top start timeout=90s op stop timeout=90s \\\n\
             \top monitor interval=10s timeout=30s \\\n\
             \top migrate_to timeout=120s op migrate_from timeout=60s\n\
             location loc-{rsc} {rsc} 50: n{home}\n",
            xml_dir.display()
        ));
    }
    crm.push_str("rsc_defaults resource-stickiness=100\n");
    crm
}

/// The domain `dom` is running on node `i` per its libvirtd, and one QEMU process runs it.
fn runs_on(c: &Cluster, i: usize, dom: &str) -> bool {
    c.virsh(i, &["domstate", dom]).stdout_text().trim() == "running" && c.qemu_of(i, dom).len() == 1
}

/// The recorded calls of `rsc` on node `i` (no recurring monitors), after `since`.
fn calls_of(c: &Cluster, i: usize, rsc: &str, since: f64) -> Vec<Call> {
    c.calls(i)
        .into_iter()
        .filter(|x| x.rsc == rsc && x.action != "monitor" && x.t >= since)
        .collect()
}

/// The first call `action` of `rsc` on node `i` after `since` that reached `what`.
fn call_time(c: &Cluster, i: usize, rsc: &str, action: &str, what: &str, since: f64) -> f64 {
    calls_of(c, i, rsc, since)
        .iter()
        .find(|x| x.action == action && x.what == what)
        .map(|x| x.t)
        .unwrap_or_else(|| c.fail(&format!("no '{rsc} {action} {what}' on {}", name(i))))
}

/// When the fencer completed fencing `node` successfully (its history, seconds since the
/// epoch).
fn fence_completed(c: &Cluster, node: &str) -> f64 {
    let history = c.run(&["stonith_admin", "--history", node, "--output-as=xml"]);
    let event = history
        .split("<fence_event ")
        .skip(1)
        .find(|e| e.contains(&format!("target=\"{node}\"")) && e.contains("status=\"success\""))
        .unwrap_or_else(|| c.fail(&format!("no successful fencing of {node}: {history}")));
    let completed = event
        .split("completed=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| c.fail(&format!("fence event without 'completed': {event}")));
    let out = host_ok(&["date", "-d", completed, "+%s.%N"]);
    out.trim()
        .parse()
        .unwrap_or_else(|_| c.fail(&format!("fence completion time '{completed}'")))
}

/// One sample of the QEMU processes of a domain on the migration's source and target.
struct Sample {
    source: Vec<i32>,
    target: Vec<i32>,
}

/// The guest's CMOS NVRAM byte 0x7e (the virtual machine's battery-backed RAM, part of the
/// state a live migration carries; a new QEMU starts with 0, a guest reset keeps it) in
/// domain `dom` on node `i`, written first when `set` is given: the guest is paused around
/// the two port accesses (index 0x70, data 0x71) so that its firmware cannot interleave.
fn guest_nvram(c: &Cluster, i: usize, dom: &str, set: Option<u8>) -> u8 {
    let hmp = |cmd: &str| {
        let o = c.virsh(i, &["qemu-monitor-command", dom, "--hmp", cmd]);
        if !o.success() {
            c.fail(&format!("{cmd} on {dom} in {}: {}", name(i), o.one_line()));
        }
        o.stdout_text()
    };
    let pause = |verb: &str| {
        let o = c.virsh(i, &[verb, dom]);
        if !o.success() {
            c.fail(&format!(
                "virsh {verb} {dom} on {}: {}",
                name(i),
                o.one_line()
            ));
        }
    };
    pause("suspend");
    if let Some(v) = set {
        hmp("o /b 0x70 0x7e");
        hmp(&format!("o /b 0x71 {v:#04x}"));
    }
    hmp("o /b 0x70 0x7e");
    // "portb[0x0071] = 0xa5"
    let out = hmp("i /b 0x71");
    pause("resume");
    out.rsplit("0x")
        .next()
        .and_then(|h| u8::from_str_radix(h.trim(), 16).ok())
        .unwrap_or_else(|| c.fail(&format!("unexpected HMP answer: {out}")))
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, libvirt, QEMU, namespaces"
)]
fn virtual_domains_on_three_nodes() {
    let prov = provider("OCFRS_SCENARIO_VD_PROVIDER", "VirtualDomain");
    // Declared before the cluster: removed after it (the QEMU processes die with the nodes).
    let shared = TempDir::new("ocfrs-vc");
    let t0 = Instant::now();
    let mut c = Cluster::up(3);
    for i in 1..=3 {
        c.libvirt_host(i, shared.path());
    }
    log(format!(
        "three libvirt hosts up after {:.1}s",
        t0.elapsed().as_secs_f64()
    ));
    c.enable_fencing();

    // 1. Three domains, one per node.
    for (_, dom, _, _) in VMS {
        let uuid = std::fs::read_to_string("/proc/sys/kernel/random/uuid").expect("uuid");
        std::fs::write(
            shared.join(format!("{dom}.xml")),
            domain_xml(dom, uuid.trim()),
        )
        .expect("domain XML");
    }
    c.crm_configure(&configuration(&prov, shared.path()));
    for (rsc, dom, home, _) in VMS {
        c.wait_running_on(rsc, &name(home));
        c.wait_for(&format!("{dom} runs on {}", name(home)), WAIT, |c| {
            Some(runs_on(c, home, dom))
        });
    }
    c.wait_idle();
    let untouched: Vec<(usize, &str, Vec<i32>)> = VMS[1..]
        .iter()
        .map(|(_, dom, home, _)| (*home, *dom, c.qemu_of(*home, dom)))
        .collect();
    log(format!(
        "step 1: three domains running, one per node, {:.1}s after bring-up began",
        c.elapsed().as_secs_f64()
    ));

    // 2. n1 crashes: fenced first, then vm1 starts on a survivor.
    let crashed_at = now();
    c.crash(1);
    let survivor = index(&c.wait_moved_from("vm1", "n1"));
    c.wait_for(
        &format!("ocfrs-vc-vm1 runs on {}", name(survivor)),
        WAIT,
        |c| Some(runs_on(c, survivor, "ocfrs-vc-vm1")),
    );
    let recovered = now() - crashed_at;
    assert_eq!(c.fenced(), vec!["n1".to_string()], "{}", c.report());
    let fenced = fence_completed(&c, "n1");
    let powered_off = std::fs::metadata(format!("{STATE}/fence/n1.done"))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64())
        .unwrap_or_else(|| c.fail("no power-off record of n1"));
    let started = call_time(&c, survivor, "vm1", "start", "begin", crashed_at);
    log(format!(
        "step 2: crash at {crashed_at:.3}, n1 powered off at {powered_off:.3}, fencing \
         completed at {fenced:.3}, vm1 start began on {} at {started:.3}; running {recovered:.1}s \
         after the crash",
        name(survivor)
    ));
    // The fencer's `completed` has second resolution in some versions: compare with both.
    assert!(
        started >= powered_off && started >= fenced.floor(),
        "vm1 started on {} before n1 was fenced\n{}",
        name(survivor),
        c.report()
    );
    for j in 2..=3 {
        let early: Vec<Call> = calls_of(&c, j, "vm1", crashed_at)
            .into_iter()
            .filter(|x| x.action == "start" && x.t < powered_off)
            .collect();
        assert!(early.is_empty(), "vm1 started before fencing: {early:?}");
    }
    for (home, dom, pids) in &untouched {
        assert_eq!(&c.qemu_of(*home, dom), pids, "{dom} was restarted");
    }

    // 3. n1 returns, a fresh libvirt host: vm1 stays (stickiness 100 > location 50).
    // (vm1's start on the survivor, with its utilization update, has ended first.)
    c.wait_idle();
    let back_at = now();
    c.boot(1);
    c.libvirt_host(1, shared.path());
    c.wait_online("n1", true);
    c.wait_for("n1 probed vm1", WAIT, |c| {
        Some(c.count_calls(1, "vm1", "probe", 7) >= 1)
    });
    c.wait_idle();
    assert_eq!(c.locate("vm1"), vec![name(survivor)], "{}", c.report());
    assert!(runs_on(&c, survivor, "ocfrs-vc-vm1"));
    assert!(c.qemu_of(1, "ocfrs-vc-vm1").is_empty());
    for j in 1..=3 {
        let moved: Vec<Call> = calls_of(&c, j, "vm1", back_at)
            .into_iter()
            .filter(|x| x.action != "probe")
            .collect();
        assert!(
            moved.is_empty(),
            "vm1 acted on after n1 returned: {moved:?}"
        );
    }
    log(format!(
        "step 3: n1 back; vm1 stays on {} (resource-stickiness)",
        name(survivor)
    ));

    // 4. crm resource move vm1 n1: a live migration home.
    let before = c.qemu_of(survivor, "ocfrs-vc-vm1");
    assert_eq!(before.len(), 1);
    // A mark inside the guest: its NVRAM byte, 0 since its QEMU started, set now.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let mark = u8::try_from(nanos % 250).unwrap_or(0) + 1;
    assert_eq!(guest_nvram(&c, survivor, "ocfrs-vc-vm1", None), 0);
    assert_eq!(guest_nvram(&c, survivor, "ocfrs-vc-vm1", Some(mark)), mark);
    let (src_init, dst_init) = (c.init_pid(survivor), c.init_pid(1));
    let stop = AtomicBool::new(false);
    let move_at = now();
    let samples: Vec<(f64, Sample)> = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let mut v = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let sample = Sample {
                    source: qemu_in(src_init, "ocfrs-vc-vm1"),
                    target: qemu_in(dst_init, "ocfrs-vc-vm1"),
                };
                v.push((now(), sample));
                std::thread::sleep(Duration::from_millis(50));
            }
            v
        });
        c.run(&["crm", "--force", "resource", "move", "vm1", "n1"]);
        c.wait_running_on("vm1", "n1");
        c.wait_idle();
        stop.store(true, Ordering::SeqCst);
        sampler.join().unwrap_or_default()
    });
    assert!(runs_on(&c, 1, "ocfrs-vc-vm1"), "{}", c.report());
    assert!(c.qemu_of(survivor, "ocfrs-vc-vm1").is_empty());
    assert_eq!(
        guest_nvram(&c, 1, "ocfrs-vc-vm1", None),
        mark,
        "the guest on n1 lost the mark set before the move: not the same machine state"
    );
    let mig_begin = call_time(&c, survivor, "vm1", "migrate_to", "begin", move_at);
    let mig_end = call_time(&c, survivor, "vm1", "migrate_to", "end 0", move_at);
    let from_end = call_time(&c, 1, "vm1", "migrate_from", "end 0", move_at);
    let stop_begin = call_time(&c, survivor, "vm1", "stop", "begin", move_at);
    assert!(
        stop_begin >= from_end,
        "source stopped before migrate_from ended"
    );
    for j in 1..=3 {
        let restarts: Vec<Call> = calls_of(&c, j, "vm1", move_at)
            .into_iter()
            .filter(|x| x.action == "start" || (x.action == "stop" && j != survivor))
            .collect();
        assert!(
            restarts.is_empty(),
            "vm1 restarted instead of migrated: {restarts:?}\n{}",
            c.report()
        );
    }
    let target = c.qemu_of(1, "ocfrs-vc-vm1");
    let target_pid = target[0];
    let argv: Vec<String> = ocf::process::Proc::read(target_pid)
        .map(|p| {
            p.cmdline()
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        argv.iter().any(|a| a == "-incoming"),
        "the target QEMU was not started for an incoming migration: {argv:?}"
    );
    // The target's QEMU appeared after migrate_to began (absent at every sample before, one
    // and the same process at every sample from then on) and ran beside the source's.
    let first_target = samples
        .iter()
        .position(|(_, s)| !s.target.is_empty())
        .unwrap_or_else(|| c.fail("the target QEMU was never sampled"));
    let appeared = samples[first_target].0;
    // (A sample's time is taken after its scan: the upper bound is the /proc check below.)
    assert!(
        first_target > 0 && appeared >= mig_begin,
        "target QEMU first seen at {appeared:.3} (sample {first_target}), before migrate_to \
         began at {mig_begin:.3}"
    );
    for (t, s) in &samples[first_target..] {
        assert_eq!(s.target, target, "the target QEMU changed at {t:.3}");
    }
    for (t, s) in &samples[..first_target] {
        assert_eq!(s.source, before, "the source QEMU changed at {t:.3}");
    }
    let both = samples[first_target..]
        .iter()
        .position(|(_, s)| s.source == before)
        .map(|k| first_target + k)
        .unwrap_or_else(|| c.fail("never saw both QEMU processes at once"));
    let source_gone = samples[both..]
        .iter()
        .find(|(_, s)| s.source.is_empty())
        .map(|(t, _)| *t)
        .unwrap_or_else(|| c.fail("the source QEMU did not exit while sampled"));
    let target_started = process_start_epoch(target_pid).unwrap_or_default();
    assert!(
        target_started >= mig_begin - 0.2 && target_started <= mig_end + 0.2,
        "target QEMU started at {target_started:.3} (/proc), outside migrate_to \
         [{mig_begin:.3}, {mig_end:.3}]"
    );
    log(format!(
        "step 4: vm1 live-migrated {} -> n1: migrate_to {:.1}s; target QEMU (with -incoming) \
         started at {target_started:.3} (first seen {appeared:.3}), source QEMU gone by \
         {source_gone:.3}; guest NVRAM mark {mark:#04x} carried over; no start, {} samples",
        name(survivor),
        mig_end - mig_begin,
        samples.len()
    ));
    c.run(&["crm", "--force", "resource", "clear", "vm1"]);
    c.wait_idle();
    assert_eq!(c.locate("vm1"), vec!["n1".to_string()], "{}", c.report());
    log(format!(
        "virtual domains scenario done in {:.1}s (bring-up included)",
        c.elapsed().as_secs_f64()
    ));
}
