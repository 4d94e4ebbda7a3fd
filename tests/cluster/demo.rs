//! The README's first command (`bash tests/run.sh demo`) shows the main job on a real
//! 3-node namespace cluster: a floating IP + Filesystem group on our agents, the active node
//! crashes, the group moves, and a client namespace measures how long the service was
//! unreachable. The same failover is asserted in detail by `group.rs`; this one narrates.
//!
//! Fencing: the cluster has the harness's fence device (shared storage needs it).
//!
//! The agents are the installed ones: `tests/run.sh demo` runs `make install DESTDIR=<root>`
//! and passes the root in `OCFRS_DEMO_ROOT`; the nodes' `ocf:ocfrs:*` then run hard links of
//! `<root>/usr/lib/ocf/resource.d/ocfrs/<Type>` (behind the harness's logging wrapper), not
//! this test build's binary.
use super::floating_ip::wait_vip_on;
use super::harness::*;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const VIP: &str = "192.0.2.102";

/// Pings `VIP` from the client namespace every 100 ms until stopped; returns
/// (seconds since start, answered).
fn prober(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<(f64, bool)>> {
    std::thread::spawn(move || {
        let t0 = Instant::now();
        let mut v = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            let t = Instant::now();
            let argv = [
                "ip", "netns", "exec", CLIENT_NS, "ping", "-c1", "-W0.3", VIP,
            ];
            let (rc, _, _) = host(&argv, Duration::from_secs(3));
            v.push((t0.elapsed().as_secs_f64(), rc == 0));
            std::thread::sleep(Duration::from_millis(100).saturating_sub(t.elapsed()));
        }
        v
    })
}

/// Points the nodes' `ocf:ocfrs:<Type>` (for every type installed under `root`) at the
/// installed agent; returns the installed provider directory.
fn use_installed_agents(root: &str) -> String {
    let installed = Path::new(root).join("usr/lib/ocf/resource.d/ocfrs");
    let prov = Path::new(STATE).join("resource.d/ocfrs");
    let mut n = 0;
    for e in std::fs::read_dir(&installed)
        .unwrap_or_else(|e| panic!("{}: {e} (make install DESTDIR={root})", installed.display()))
    {
        let t = e.expect("installed agent").file_name();
        let t = t.to_string_lossy();
        let real = prov.join(format!(".{t}.real"));
        if !real.exists() {
            continue;
        }
        let src = installed.join(&*t);
        std::fs::remove_file(&real).expect("remove the test build's agent");
        if std::fs::hard_link(&src, &real).is_err() {
            std::fs::copy(&src, &real).expect("copy the installed agent");
        }
        n += 1;
    }
    for t in ["Filesystem", "IPaddr2"] {
        let ino = |p: &Path| std::fs::metadata(p).map(|m| m.ino()).ok();
        let same = ino(&prov.join(format!(".{t}.real"))) == ino(&installed.join(t));
        let same = same
            || std::fs::read(prov.join(format!(".{t}.real"))).ok()
                == std::fs::read(installed.join(t)).ok();
        assert!(same, "the nodes' {t} is not the installed one");
    }
    assert!(n >= 2, "no installed agent under {}", installed.display());
    installed.display().to_string()
}

#[test]
#[ignore = "the README demo, run by `bash tests/run.sh demo` (group.rs tests the same failover)"]
fn readme_demo_group_failover() {
    let root = std::env::var("OCFRS_DEMO_ROOT").expect(
        "OCFRS_DEMO_ROOT: the root `make install DESTDIR=` filled (tests/run.sh demo sets it)",
    );
    let mut c = Cluster::up(3);
    let installed = use_installed_agents(&root);
    println!("\n== the nodes run the agents installed in {installed}");
    c.enable_fencing();
    let dev = c.shared_disk(64);
    let mnt = format!("{STATE}/demo-mnt");
    std::fs::create_dir_all(&mnt).expect("mount point");
    let group = format!(
        "<group id=\"g\">{}{}</group>",
        ext4_primitive("fs", "ocfrs", &dev, &mnt, &[("monitor", "5s", "20s", "")]),
        ipaddr2_primitive("ip", "ocfrs", VIP, &[("monitor", "5s", "20s", "")]),
    );
    c.cib_create("resources", &group);
    c.cib_create("constraints", &prefer("g", "n1", "50"));
    wait_vip_on(&c, "ip", VIP, 1);
    println!("== group g = ocf:ocfrs:Filesystem {dev} on {mnt} + ocf:ocfrs:IPaddr2 {VIP}");
    println!("== running on n1; the client 192.0.2.200 reaches {VIP}");

    let stop = Arc::new(AtomicBool::new(false));
    let probe = prober(stop.clone());
    std::thread::sleep(Duration::from_secs(2));
    let crash_at = Instant::now();
    c.crash(1);
    println!("== n1 crashed (every process killed, unplugged)");
    let to = c.wait_moved_from("ip", "n1");
    let j = index(&to);
    wait_vip_on(&c, "ip", VIP, j);
    let moved = crash_at.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::SeqCst);
    let samples = probe.join().unwrap_or_default();
    // Unreachable: from the first failed ping to the first answer after it.
    let first_fail = samples.iter().position(|s| !s.1);
    let outage = first_fail.and_then(|f| {
        let back = samples[f..].iter().find(|s| s.1)?;
        Some(back.0 - samples[f].0)
    });
    println!(
        "== group moved to {to} in {:.1} s (fenced: {:?}); mounted there: {}",
        moved.as_secs_f64(),
        c.fenced(),
        mounts_of(j).iter().any(|m| m == &mnt)
    );
    match outage {
        Some(s) => println!(
            "== service unreachable from the client for {s:.1} s ({} pings, every 100 ms)",
            samples.len()
        ),
        None => println!("== the client never lost {VIP} ({} pings)", samples.len()),
    }
    assert!(
        samples.last().is_some_and(|s| s.1),
        "the client does not reach {VIP} after the failover\n{}",
        c.report()
    );
}
