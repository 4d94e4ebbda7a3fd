//! Concurrency: Pacemaker runs actions of different resources of one agent type at once.
//! 20 distinct instances per agent are started, monitored and stopped concurrently (all 20
//! of each action at once); every action must return the right code and the shared state
//! (addresses on one interface, mounts under one parent, state files in one run directory)
//! must be exactly the 20 instances' afterwards, nothing lost, nothing left.
//!
//! Names: instances `ocfrs-hd-c*`, network namespace `ocfrs-hd-conc`, temporary
//! directories `ocfrs-it-ocfrs-hd-c*`, apache on 127.0.0.1:21630-21649.
use crate::common::{run, sh, TempDir};
use ocf::testing::{Outcome, Run};
use ocf::Rc;
use std::process::Command;
use std::time::Duration;

const N: usize = 20;

/// Run `make(i)` for every instance at once (one thread each) and assert every answer.
#[track_caller]
fn all_at_once(what: &str, make: &(dyn Fn(usize) -> Run + Sync), rc: Rc) -> Vec<Outcome> {
    let outs: Vec<Outcome> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..N).map(|i| s.spawn(move || make(i).run())).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, o) in outs.iter().enumerate() {
        assert_eq!(
            o.rc,
            i32::from(rc.code()),
            "{what} of instance {i}: expected {rc}\n{o:?}"
        );
        o.assert_reason_discipline();
    }
    outs
}

/// start, monitor, probe, stop, monitor of all instances, each step all at once.
fn lifecycle(
    make: &(dyn Fn(usize) -> Run + Sync),
    check_running: impl Fn(),
    check_gone: impl Fn(),
) {
    let with = |action: &'static str, f: fn(Run) -> Run| move |i: usize| f(make(i).action(action));
    all_at_once("probe", &with("monitor", Run::probe), Rc::NotRunning);
    all_at_once("start", &with("start", |r| r), Rc::Success);
    check_running();
    all_at_once("monitor", &with("monitor", Run::recurring), Rc::Success);
    all_at_once("start again", &with("start", |r| r), Rc::Success);
    check_running();
    all_at_once("stop", &with("stop", |r| r), Rc::Success);
    check_gone();
    all_at_once(
        "monitor after stop",
        &with("monitor", Run::recurring),
        Rc::NotRunning,
    );
    all_at_once("stop again", &with("stop", |r| r), Rc::Success);
}

#[test]
fn twenty_dummies_share_one_run_directory() {
    let t = TempDir::new("ocfrs-hd-cdummy");
    let make = |i: usize| {
        run("Dummy")
            .pacemaker(&format!("ocfrs-hd-c{i}"))
            .env("OCFRS_RUN_DIR", t.path())
            .param("daemon", "true")
            .timeout(Duration::from_secs(30))
    };
    let states = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(t.join("Dummy"))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let expected: Vec<String> = {
        let mut v: Vec<String> = (0..N)
            .flat_map(|i| {
                [
                    format!("ocfrs-hd-c{i}.state"),
                    format!("ocfrs-hd-c{i}.state.pid"),
                ]
            })
            .collect();
        v.sort();
        v
    };
    lifecycle(
        &make,
        || {
            assert_eq!(states(), expected, "exactly each instance's files");
            for i in 0..N {
                let s =
                    std::fs::read_to_string(t.join(format!("Dummy/ocfrs-hd-c{i}.state"))).unwrap();
                assert!(s.starts_with("fake="), "state {i} intact: {s:?}");
            }
        },
        || assert!(states().is_empty(), "left: {:?}", states()),
    );
}

/// A network namespace with a veth pair `hd0` (10.216.0.1/24) / `hd1` (this kernel has no
/// dummy links), deleted on drop.
struct Ns(&'static str);

impl Ns {
    fn new() -> Ns {
        let name = "ocfrs-hd-conc";
        let _ = sh(Command::new("ip").args(["netns", "del", name]));
        for args in [
            vec!["netns", "add", name],
            vec!["-n", name, "link", "set", "lo", "up"],
            vec![
                "-n", name, "link", "add", "hd0", "type", "veth", "peer", "name", "hd1",
            ],
            vec!["-n", name, "link", "set", "hd1", "up"],
            vec!["-n", name, "addr", "add", "10.216.0.1/24", "dev", "hd0"],
            vec!["-n", name, "link", "set", "hd0", "up"],
        ] {
            let (rc, out, err) = sh(Command::new("ip").args(&args));
            assert_eq!(rc, 0, "ip {args:?}: {out}{err}");
        }
        Ns(name)
    }

    /// The IPv4 addresses on `hd0`, sorted.
    fn addrs(&self) -> Vec<String> {
        let (rc, out, err) =
            sh(Command::new("ip").args(["-n", self.0, "-4", "-o", "addr", "show", "dev", "hd0"]));
        assert_eq!(rc, 0, "{err}");
        let mut v: Vec<String> = out
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                w.find(|x| *x == "inet")
                    .and_then(|_| w.next())
                    .map(str::to_string)
            })
            .collect();
        v.sort();
        v
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = sh(Command::new("ip").args(["netns", "del", self.0]));
    }
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root (network namespaces) (tests/run.sh setup)"
)]
fn twenty_ipaddr2_addresses_on_one_interface() {
    let ns = Ns::new();
    let t = TempDir::new("ocfrs-hd-cip");
    let make = |i: usize| {
        run("IPaddr2")
            .pacemaker(&format!("ocfrs-hd-cip{i}"))
            .env("OCFRS_RUN_DIR", t.path())
            .param("network_namespace", ns.0)
            .param("ip", format!("10.216.0.{}", 10 + i))
            .param("arp_count", "1")
            .timeout(Duration::from_secs(30))
    };
    let mut want: Vec<String> = (0..N).map(|i| format!("10.216.0.{}/24", 10 + i)).collect();
    want.push("10.216.0.1/24".into());
    want.sort();
    lifecycle(
        &make,
        || {
            assert_eq!(
                ns.addrs(),
                want,
                "exactly the 20 addresses and the base one"
            )
        },
        || {
            assert_eq!(
                ns.addrs(),
                vec!["10.216.0.1/24".to_string()],
                "only the base address left"
            )
        },
    );
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root (tmpfs mounts) (tests/run.sh setup)"
)]
fn twenty_filesystems_under_one_parent() {
    let t = TempDir::new("ocfrs-hd-cfs");
    let parent = t.join("mnt");
    std::fs::create_dir_all(&parent).unwrap();
    // Unmount by path whatever a failed run left (only under this test's own directory).
    struct Cleanup(std::path::PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            for i in 0..N {
                let _ = sh(Command::new("umount")
                    .arg("-l")
                    .arg(self.0.join(format!("m{i}"))));
            }
        }
    }
    let _cleanup = Cleanup(parent.clone());
    let make = |i: usize| {
        run("Filesystem")
            .pacemaker(&format!("ocfrs-hd-cfs{i}"))
            .env("OCFRS_RUN_DIR", t.join("run"))
            .param("device", "tmpfs")
            .param("fstype", "tmpfs")
            .param("options", "size=1m")
            .param("directory", parent.join(format!("m{i}")))
            .timeout(Duration::from_secs(30))
    };
    let mounted = || -> Vec<String> {
        let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let prefix = format!("{}/", parent.display());
        let mut v: Vec<String> = text
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| p.starts_with(&prefix))
            .map(|p| p[prefix.len()..].to_string())
            .collect();
        v.sort();
        v
    };
    let mut want: Vec<String> = (0..N).map(|i| format!("m{i}")).collect();
    want.sort();
    lifecycle(
        &make,
        || assert_eq!(mounted(), want, "each mount exactly once"),
        || assert!(mounted().is_empty(), "left mounted: {:?}", mounted()),
    );
    // Depth 20 of all at once: each writes its own status file.
    all_at_once(
        "start for depth 20",
        &|i| make(i).action("start"),
        Rc::Success,
    );
    all_at_once(
        "monitor depth 20",
        &|i| make(i).action("monitor").recurring().depth(20),
        Rc::Success,
    );
    all_at_once("final stop", &|i| make(i).action("stop"), Rc::Success);
    assert!(mounted().is_empty());
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root and apache2 (tests/run.sh setup)"
)]
fn twenty_apache_instances() {
    use crate::agents::apache::Httpd;
    let servers: Vec<Httpd> = (0..N)
        .map(|i| Httpd::new(&format!("ocfrs-hd-c{i}"), 21630 + i as u16, true, ""))
        .collect();
    let make = |i: usize| servers[i].run().timeout(Duration::from_secs(60));
    let answering = || {
        (0..N)
            .filter(|i| servers[*i].get("/").is_some_and(|(code, _)| code == 200))
            .count()
    };
    lifecycle(
        &make,
        || {
            assert_eq!(answering(), N, "every instance serves");
            let mains: std::collections::BTreeSet<i32> = servers
                .iter()
                .map(|s| s.main().expect("pid file names a live server").pid)
                .collect();
            assert_eq!(mains.len(), N, "20 distinct servers");
        },
        || {
            assert_eq!(answering(), 0, "every instance stopped");
            assert!(servers.iter().all(|s| s.main().is_none()));
        },
    );
}
