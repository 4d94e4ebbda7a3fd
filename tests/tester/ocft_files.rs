//! Debian's ocft configs run by our tester give the results `ocft` itself gives.
use crate::common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const CONFIGS: &str = "/usr/share/resource-agents/ocft/configs";

/// Per-case verdicts from ocft's output (`AGENT: CASE - OK.` or a failure text).
fn ocft_results(agent: &str, out: &str) -> BTreeMap<String, bool> {
    let mut res = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut ok = true;
    let prefix = format!("{agent}: ");
    for line in out.lines() {
        let line = line
            .replace("\x1b[32m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[34m", "")
            .replace("\x1b[0m", "");
        if let Some(rest) = line.strip_prefix(&prefix) {
            if let Some((case, tail)) = rest.split_once(" - ") {
                if let Some(c) = current.take() {
                    res.insert(c, ok);
                }
                current = Some(case.to_string());
                ok = !(tail.contains("FAILED") || tail.contains("ERROR"));
                continue;
            }
        }
        if line.contains("FAILED") || line.contains("ERROR") {
            ok = false;
        }
    }
    if let Some(c) = current {
        res.insert(c, ok);
    }
    res
}

/// Per-case verdicts from our JSON report.
fn our_results(agent: &str, json: &str) -> BTreeMap<String, Option<bool>> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    let prefix = format!("{agent}: ");
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let name = c["name"]
                .as_str()
                .unwrap()
                .strip_prefix(&prefix)
                .unwrap()
                .to_string();
            let verdict = match c["verdict"].as_str().unwrap() {
                "pass" => Some(true),
                "fail" => Some(false),
                _ => None,
            };
            (name, verdict)
        })
        .collect()
}

fn run_ocft(ns: Option<&str>, agent: &str) -> String {
    let ocft = Path::new("/usr/sbin/ocft");
    let (rc, out, err) = sh(cmd_in(ns, ocft).args(["make", agent]));
    assert_eq!(rc, 0, "ocft make {agent}: {out}{err}");
    let (_, out, err) = sh(cmd_in(ns, ocft).args(["test", agent]));
    format!("{out}{err}")
}

fn compare(ns: Option<&str>, agent: &str) {
    compare_with(ns, agent, || {}, &[]);
}

/// Compare every case except `racy` ones, which must merely have run in both.
fn compare_with(ns: Option<&str>, agent: &str, between: impl Fn(), racy: &[&str]) {
    let cfg = format!("{CONFIGS}/{agent}");
    let (_, json, err) = ours(ns, &["--format", "json", "--ocft", &cfg]);
    let mine = our_results(agent, &json);
    between();
    let reference = run_ocft(ns, agent);
    let theirs = ocft_results(agent, &reference);
    assert!(!theirs.is_empty(), "no ocft results:\n{reference}");
    let ctx = format!("ocft:\n{reference}\n---- ours:\n{json}\n{err}");
    for (case, ok) in &theirs {
        if racy.contains(&case.as_str()) {
            assert!(
                matches!(mine.get(case), Some(Some(_))),
                "case {case:?} not run\n{ctx}"
            );
            continue;
        }
        assert_eq!(mine.get(case), Some(&Some(*ok)), "case {case:?}\n{ctx}");
    }
    assert_eq!(mine.len(), theirs.len(), "{ctx}");
}

/// Debian's Filesystem config leaves its file system mounted after the r/o case, so its
/// CLEANUP-AGENT cannot detach the loop device: clear that before and after each run, or
/// one run's leftovers change the next run's results. Only ocft's own names are touched.
fn clean_filesystem_leftovers() {
    let mnt = "/run/resource-agents/ocft-Filesystem-mnt";
    for _ in 0..5 {
        if sh(Command::new("umount").arg(mnt)).0 != 0 {
            break;
        }
    }
    let (_, list, _) = sh(Command::new("losetup").arg("-a"));
    for l in list.lines().filter(|l| l.contains("/ocft-Filesystem-fs")) {
        if let Some(dev) = l.split(':').next() {
            let _ = sh(Command::new("losetup").args(["-d", dev]));
        }
    }
    // ocft's control file naming the loop device it made: a stale one makes the next run
    // reuse that device name, which may belong to someone else by then. Its name depends on
    // ocft's run directory (/run or /var/run).
    let _ = std::fs::remove_file("/run/resource-agents/_run_resource-agents_ocft-Filesystem-fs");
    let _ =
        std::fs::remove_file("/run/resource-agents/_var_run_resource-agents_ocft-Filesystem-fs");
    let _ = std::fs::remove_file("/run/resource-agents/ocft-Filesystem-fs");
    let _ = std::fs::remove_dir(mnt);
}

/// The three comparisons run concurrently: ocft polls its agents once a second, so each
/// mostly sleeps (apache alone takes about two minutes). They touch different resources
/// (an apache in its own namespace, ocft's own loop device, an eth0 in another namespace).
#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root: ocft, loop devices, network namespaces"
)]
fn debian_ocft_configs_give_ocfts_results() {
    let jobs: [(&str, fn()); 3] = [
        ("apache", apache_config),
        ("Filesystem", filesystem_config),
        ("IPaddr2", ipaddr2_config),
    ];
    let failed: Vec<&str> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs.iter().map(|(n, f)| (*n, s.spawn(*f))).collect();
        handles
            .into_iter()
            .filter_map(|(n, h)| h.join().is_err().then_some(n))
            .collect()
    });
    assert!(
        failed.is_empty(),
        "ocft comparison failed for {failed:?} (see above)"
    );
}

fn filesystem_config() {
    clean_filesystem_leftovers();
    // "start insert failure" detaches the loop device right after the file system was
    // unmounted; the kernel may defer that detach (device still busy), and then start
    // succeeds and the at-exit re-attach fails, which also breaks the next case. ocf-tester
    // hits either outcome from run to run; ocft polls its agents once a second, which
    // usually gives the kernel time to finish the detach. Those two cases therefore only
    // have to run; they are timing-dependent in the config itself, not in the tester.
    compare_with(
        None,
        "Filesystem",
        clean_filesystem_leftovers,
        &[
            "start insert failure (remove device)",
            "monitor depth 20 insert failure (r/o fs)",
        ],
    );
    clean_filesystem_leftovers();
}

fn ipaddr2_config() {
    let ns = NetNs::new("ocftip");
    compare(Some(&ns.name), "IPaddr2");
}

fn apache_config() {
    let cfg = format!("{CONFIGS}/apache");
    let installed = sh(Command::new("dpkg-query").args(["-W", "-f=${Status}", "apache2"]))
        .1
        .contains("install ok installed");
    if !installed {
        // Prerequisite missing: every case is reported as skipped, with the reason, and the
        // reference ocft is not run (it would install the package itself).
        let (rc, out, _) = ours(None, &["--ocft", &cfg]);
        assert_eq!(rc, 0, "{out}");
        assert!(
            out.contains("prerequisite missing: package apache2 not installed"),
            "{out}"
        );
        eprintln!("SKIPPED apache ocft comparison: apache2 is not installed (tests/run.sh setup installs it)");
        return;
    }
    // The config's SETUP-AGENT uses systemctl when an apache2 unit file exists; this machine
    // runs without systemd, so a `systemctl` that fails sends it to /etc/init.d/apache2, for
    // both tools alike. Apache listens on port 80 inside its own network namespace.
    let _apache = apache_lock();
    let d = TempDir::new("apache");
    let shim = d.join("systemctl");
    std::fs::write(&shim, "#!/bin/sh\n# no systemd on this machine\nexit 1\n").unwrap();
    chmod(&shim, 0o755);
    let path = format!(
        "{}:{}",
        d.0.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let ns = NetNs::new("apache");
    let ns_name = ns.name.clone();
    // Debian's apache agent fetches its status page once, right after start, and gives up
    // when apache is slow to answer (seen about once in ten runs on a loaded 2-core
    // machine): a case of either tool that fails that way is run once more, whole.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (_, json, err) = sh(Command::new("ip")
            .args(["netns", "exec", &ns_name, "env", &format!("PATH={path}")])
            .arg(tester())
            .args(["--format", "json", "--ocft", &cfg]));
        let mine = our_results("apache", &json);
        let ocft = |args: &[&str]| {
            sh(Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &ns_name,
                    "env",
                    &format!("PATH={path}"),
                    "/usr/sbin/ocft",
                ])
                .args(args))
        };
        let (rc, o, e) = ocft(&["make", "apache"]);
        assert_eq!(rc, 0, "{o}{e}");
        let (_, o, e) = ocft(&["test", "apache"]);
        let reference = format!("{o}{e}");
        let theirs = ocft_results("apache", &reference);
        let ctx = format!("ocft:\n{reference}\n---- ours:\n{json}\n{err}");
        assert_eq!(theirs.len(), 10, "{ctx}");
        let agree = theirs
            .iter()
            .all(|(case, ok)| mine.get(case) == Some(&Some(*ok)));
        if !agree && attempt == 1 {
            eprintln!("apache ocft comparison: a case differed, running both once more\n{ctx}");
            continue;
        }
        for (case, ok) in &theirs {
            assert_eq!(mine.get(case), Some(&Some(*ok)), "case {case:?}\n{ctx}");
        }
        assert_eq!(mine.len(), theirs.len(), "{ctx}");
        break;
    }
}

fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/tester/scenarios")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn own_scenario_format_runs_with_extensions() {
    let d = TempDir::new("scn");
    let agent = fixture(&d, "good");
    let state = d.join("s.state").display().to_string();
    let (rc, out, err) = sh(Command::new(tester()).env("OCFT_STATE", &state).args([
        "--scenario",
        &scenario("fixture.scn"),
        agent.to_str().unwrap(),
    ]));
    assert_eq!(rc, 0, "{out}{err}");
    // One "OK." per AgentRun with an expected code, as ocft prints them.
    assert_eq!(out.matches("OK.").count(), 6, "{out}");
    // The extensions are rejected in ocft mode, as ocft would.
    let (rc, _, err) = sh(Command::new(tester()).args([
        "--ocft",
        &scenario("fixture.scn"),
        agent.to_str().unwrap(),
    ]));
    assert_eq!(rc, 1);
    assert!(err.contains("scenario-format extension"), "{err}");
    // A case that fails is reported with ocft's wording and the agent's output.
    let bad = fixture(&d, "monitor-stopped");
    let (rc, out, _) = sh(Command::new(tester()).env("OCFT_STATE", &state).args([
        "--scenario",
        &scenario("fixture.scn"),
        bad.to_str().unwrap(),
    ]));
    assert_eq!(rc, 1, "{out}");
    assert!(
        out.contains("monitor-stopped: probe of a stopped resource is quiet - ERROR: './monitor-stopped monitor' failed, the return code is 1."),
        "{out}"
    );
}

#[test]
fn scenario_hangs_are_expected_or_fail_the_case() {
    let d = TempDir::new("scn-hang");
    let agent = fixture(&d, "hang-on-stop");
    let state = d.join("h.state").display().to_string();
    let t = std::time::Instant::now();
    let (rc, out, _) = sh(Command::new(tester()).env("OCFT_STATE", &state).args([
        "--format",
        "json",
        "--scenario",
        &scenario("hang.scn"),
        agent.to_str().unwrap(),
    ]));
    assert!(t.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(rc, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let checks = v["checks"].as_array().unwrap();
    assert_eq!(checks[0]["verdict"], "pass", "{out}");
    assert_eq!(checks[1]["verdict"], "fail", "{out}");
    assert!(
        checks[1]["message"]
            .as_str()
            .unwrap()
            .contains("The agent was hanging, killed it after 2s"),
        "{out}"
    );
}
