//! `VServer` against a **stand-in** for util-vserver: util-vserver and the Linux-VServer
//! kernel patch are in no current distribution, so these tests install
//! `tests/fixtures/vserver-standin` (a test double, not util-vserver) as the guest's
//! `vserver_bin`. It keeps util-vserver's command line, exit codes and configuration layout
//! (`<config_root>/<name>/{vdir,fstab,run,...}`) and runs the guest as a real process tree in
//! its own PID, mount and UTS namespaces, chrooted into the guest's root; the agent is not
//! told it talks to a stand-in.
//!
//! Each test builds its own guest under a `TempDir` named `ocfrs-it-ocfvs-*`: a root with the
//! host's /usr bind-mounted read-only (inside the guest's mount namespace only, through the
//! guest's fstab) and a shell script as the guest's /sbin/init. The stand-in's run files go to
//! the test's directory (`VSERVER_STANDIN_RUNDIR`). Whatever is left of a guest after a test
//! (processes whose root directory is the guest's root) is killed by pid on drop.
use crate::common::{agent, run, sh, wait_for, Act, TempDir};
use ocf::testing::Run;
use ocf::Rc;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The stand-in `vserver` command (a test double, see the module docs).
pub(crate) const STANDIN: &str = include_str!("../fixtures/vserver-standin");

/// A guest that stops on SIGTERM, with a service process.
pub(crate) const INIT_POLITE: &str = "#!/bin/sh\n\
trap 'kill $svc; exit 0' TERM\n\
sleep 1000000 &\nsvc=$!\n\
while :; do sleep 1 & wait $!; done\n";

/// A guest whose init and processes all ignore SIGTERM.
const INIT_STUBBORN: &str = "#!/bin/sh\n\
trap '' TERM\n\
sh -c \"trap '' TERM; while :; do sleep 1; done\" &\n\
sh -c \"trap '' TERM; sleep 1000000\" &\n\
while :; do sleep 1; done\n";

/// One guest: configuration root, guest root, the stand-in and its run directory.
struct Guest {
    dir: TempDir,
    name: String,
}

pub(crate) fn write_exec(p: &Path, text: &str) {
    std::fs::write(p, text).unwrap();
    crate::common::set_mode(p, 0o755);
}

/// Write a guest in util-vserver's layout: configuration directory `cfg` (`vdir` a link to
/// `vdir_target`, `fstab` binding the host's /usr read-only and /dev/null and mounting proc,
/// `uts/nodename` = `<name>.guest`, a 5 s stop sync timeout) and root directory `root` with
/// `init` as its /sbin/init.
pub(crate) fn write_guest(cfg: &Path, root: &Path, vdir_target: &Path, name: &str, init: &str) {
    for d in [
        cfg.join("apps/vshelper"),
        cfg.join("uts"),
        root.join("usr"),
        root.join("proc"),
        root.join("dev"),
        root.join("sbin"),
        root.join("tmp"),
    ] {
        std::fs::create_dir_all(d).unwrap();
    }
    for l in ["bin", "lib", "lib64"] {
        std::os::unix::fs::symlink(format!("usr/{l}"), root.join(l)).unwrap();
    }
    std::fs::write(root.join("dev/null"), "").unwrap();
    std::os::unix::fs::symlink(vdir_target, cfg.join("vdir")).unwrap();
    std::fs::write(
        cfg.join("fstab"),
        "/usr /usr none bind,ro 0 0\n/dev/null /dev/null none bind 0 0\n\
         proc /proc proc defaults 0 0\n",
    )
    .unwrap();
    std::fs::write(cfg.join("uts/nodename"), format!("{name}.guest\n")).unwrap();
    std::fs::write(cfg.join("apps/vshelper/sync-timeout"), "5\n").unwrap();
    write_exec(&root.join("sbin/init"), init);
}

impl Guest {
    fn new(tag: &str, init: &str) -> Guest {
        let dir = TempDir::new(&format!("ocfvs-{tag}"));
        let name = format!("ocfvs-{tag}");
        for d in [dir.join("bin"), dir.join("run")] {
            std::fs::create_dir_all(d).unwrap();
        }
        write_guest(
            &dir.join("etc").join(&name),
            &dir.join("vservers").join(&name),
            &Path::new("../../vservers").join(&name),
            &name,
            init,
        );
        write_exec(&dir.join("bin/vserver"), STANDIN);
        Guest { dir, name }
    }

    fn config_root(&self) -> PathBuf {
        self.dir.join("etc")
    }

    fn root(&self) -> PathBuf {
        self.dir.join("vservers").join(&self.name)
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("vserver", self.name.clone()),
            ("config_root", self.config_root().display().to_string()),
            (
                "vserver_bin",
                self.dir.join("bin/vserver").display().to_string(),
            ),
        ]
    }

    fn env(&self) -> (&'static str, PathBuf) {
        ("VSERVER_STANDIN_RUNDIR", self.dir.join("run"))
    }

    fn agent(&self) -> Run {
        let (k, v) = self.env();
        let mut r = run("VServer").env(k, v).timeout(Duration::from_secs(20));
        for (k, v) in self.params() {
            r = r.param(k, v);
        }
        r
    }

    /// Host pids of the processes whose root directory is the guest's root.
    fn processes(&self) -> Vec<i32> {
        let want = std::fs::metadata(self.root())
            .map(|m| (m.dev(), m.ino()))
            .ok();
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                let st = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                let zombie = st
                    .rsplit_once(") ")
                    .is_some_and(|(_, r)| r.starts_with('Z'));
                !zombie
                    && std::fs::metadata(format!("/proc/{pid}/root"))
                        .map(|m| (m.dev(), m.ino()))
                        .ok()
                        == want
            })
            .collect()
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        for pid in self.processes() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root (namespaces, mounts)"
)]
fn vserver_starts_monitors_and_stops_a_guest() {
    let g = Guest::new("life", INIT_POLITE);
    g.agent().act_probe(Rc::NotRunning);
    g.agent().act("stop", Rc::Success);
    g.agent().act("start", Rc::Success).assert_quiet_stdout();
    g.agent().act("start", Rc::Success);
    g.agent().act_monitor(Rc::Success);
    // The guest: init and its service, chrooted, in namespaces of their own.
    wait_for("the guest's service", Duration::from_secs(5), || {
        g.processes().len() >= 2
    });
    let procs = g.processes();
    let ns = |pid: i32, kind: &str| std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).ok();
    for kind in ["pid", "mnt", "uts"] {
        assert_ne!(
            ns(procs[0], kind),
            ns(std::process::id() as i32, kind),
            "{kind}"
        );
    }
    let (rc, out, _) =
        sh(Command::new("nsenter").args(["-t", &procs[0].to_string(), "-u", "hostname"]));
    assert_eq!((rc, out.trim()), (0, format!("{}.guest", g.name).as_str()));
    // The guest's /usr bind mount is not visible on the host.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&g.name), "{mounts}");

    g.agent().act("stop", Rc::Success);
    assert!(g.processes().is_empty(), "{:?}", g.processes());
    g.agent().act_monitor(Rc::NotRunning);
    g.agent().act("stop", Rc::Success);

    // A guest that dies on its own is reported stopped, and starts again.
    g.agent().act("start", Rc::Success);
    for pid in g.processes() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    wait_for("the guest's end", Duration::from_secs(5), || {
        g.processes().is_empty()
    });
    g.agent().act_monitor(Rc::NotRunning);
    g.agent().act("start", Rc::Success);
    g.agent().act("stop", Rc::Success);
    assert!(g.processes().is_empty());
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root (namespaces, mounts)"
)]
fn vserver_stop_ends_a_guest_that_ignores_sigterm_inside_the_budget() {
    let g = Guest::new("stubborn", INIT_STUBBORN);
    // util-vserver's stop waits for the guest (waitForSync): here, far beyond the budget.
    std::fs::write(
        g.config_root()
            .join(&g.name)
            .join("apps/vshelper/sync-timeout"),
        "3600\n",
    )
    .unwrap();
    g.agent().act("start", Rc::Success);
    wait_for("the guest's processes", Duration::from_secs(5), || {
        g.processes().len() >= 3
    });
    let t = Instant::now();
    let out = g
        .agent()
        .timeout(Duration::from_secs(10))
        .action("stop")
        .run();
    let took = t.elapsed();
    out.assert_rc(Rc::Success);
    assert!(took < Duration::from_secs(10), "stop took {took:?}");
    assert!(
        out.stderr.contains("stop did not finish") && out.stderr.contains("SIGKILL"),
        "{}",
        out.stderr
    );
    assert!(g.processes().is_empty(), "{:?}", g.processes());
    g.agent().act_monitor(Rc::NotRunning);
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root (namespaces, mounts)"
)]
fn vserver_without_its_configuration_here_is_5_probe_7_stop_0() {
    let g = Guest::new("absent", INIT_POLITE);
    // As on a node where the shared filesystem holding the configuration is not mounted.
    let r = g.agent().param("config_root", g.dir.join("not-mounted"));
    r.act_probe(Rc::NotRunning);
    r.act("stop", Rc::Success);
    r.act("start", Rc::ErrInstalled)
        .assert_reason_contains("configuration missing on this host");
    r.act("validate-all", Rc::ErrInstalled);
    r.act_monitor(Rc::ErrGeneric).assert_reason_discipline();
    // No util-vserver on this host: 5 as well.
    g.agent()
        .param("vserver_bin", "/nonexistent/vserver")
        .act("start", Rc::ErrInstalled)
        .assert_reason_contains("/nonexistent/vserver");
    assert!(g.processes().is_empty());
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root (namespaces, mounts)"
)]
fn vserver_bad_names_are_6_and_a_broken_vserver_command_is_a_monitor_failure() {
    let g = Guest::new("names", INIT_POLITE);
    for bad in ["../etc", "-rf", "a b", ""] {
        let r = g.agent().param("vserver", bad);
        r.act("validate-all", Rc::ErrConfigured);
        r.act("start", Rc::ErrConfigured);
        r.act("stop", Rc::Success);
        r.act_probe(Rc::NotRunning);
    }
    g.agent()
        .param("config_root", "relative/etc")
        .act("validate-all", Rc::ErrConfigured);
    // util-vserver broken on this host: `status` fails with neither 0 nor 3.
    let broken = g.dir.join("bin/broken-vserver");
    write_exec(
        &broken,
        "#!/bin/sh\necho \"Can not find util-vserver installation\" >&2\nexit 1\n",
    );
    g.agent()
        .param("vserver_bin", &broken)
        .act_monitor(Rc::ErrGeneric)
        .assert_reason_contains("Can not find util-vserver installation");
    // A status that hangs is answered inside the monitor's budget.
    let hung = g.dir.join("bin/hung-vserver");
    write_exec(&hung, "#!/bin/sh\nsleep 60\n");
    let t = Instant::now();
    g.agent()
        .param("vserver_bin", &hung)
        .timeout(Duration::from_secs(3))
        .act_monitor(Rc::ErrGeneric)
        .assert_reason_contains("did not answer");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root (namespaces, mounts)"
)]
fn vserver_passes_the_shell_and_our_ocf_tester() {
    let g = Guest::new("tester", INIT_POLITE);
    let mut opts: Vec<String> = Vec::new();
    for (k, v) in g.params() {
        opts.push("-o".into());
        opts.push(format!("{k}={v}"));
    }
    let (ek, ev) = g.env();
    let path = agent("VServer");
    let (rc, out, err) = sh(Command::new("/usr/sbin/ocf-tester")
        .args(["-n", "ocfvs"])
        .env("OCF_ROOT", "/usr/lib/ocf")
        .env(ek, &ev)
        .args(&opts)
        .arg(&path));
    assert_eq!(rc, 0, "shell ocf-tester:\n{out}\n{err}");
    assert!(out.contains("passed all tests"), "{out}");
    assert!(g.processes().is_empty());
    for profile in ["pacemaker", "legacy"] {
        let (rc, out, err) = sh(Command::new(crate::common::our_tester())
            .args(["--profile", profile, "-n", "ocfvs"])
            .env(ek, &ev)
            .args(&opts)
            .arg(&path));
        assert_eq!(rc, 0, "ocf-tester --profile {profile}:\n{out}\n{err}");
        assert!(out.contains("passed all tests"), "{out}");
        assert!(g.processes().is_empty());
    }
}
