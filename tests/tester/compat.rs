//! The legacy profile gives the shell tool's verdict, step for step.
use crate::common::*;

/// Our tester with the options `opts` (`--profile ...`, `--format ...`) on `agent` as
/// instance `name` with the one parameter `param` (`name=value`).
fn ours_one_param(
    opts: &[&str],
    name: &str,
    param: &str,
    agent: impl AsRef<std::path::Path>,
) -> (i32, String, String) {
    let agent = agent.as_ref().to_str().expect("UTF-8 agent path");
    let mut args = opts.to_vec();
    args.extend(["-n", name, "-o", param, agent]);
    ours(None, &args)
}

#[test]
fn legacy_matches_shell_on_heartbeat_dummy() {
    let d = TempDir::new("dummy");
    let state = format!("state={}", d.join("d.state").display());
    let agent = format!("{HEARTBEAT}/Dummy");
    let (out, _) = same_verdict(None, &["-n", "ocft-d", "-o", &state, &agent]);
    assert!(out.contains("passed all tests"), "{out}");
    // A value with quotes and spaces reaches the agent verbatim (the shell tool's eval
    // breaks on it).
    let agent = fixture(&d, "good");
    let odd = d.join("it's a \"state\" file");
    let o = format!("state={}", odd.display());
    let (rc, out, err) = ours_one_param(&["--profile", "legacy"], "ocft-d", &o, &agent);
    assert_eq!(rc, 0, "{out}{err}");
    assert!(!odd.exists(), "stopped at the end");
    // (Run from the temp directory: the shell tool's eval creates stray files.)
    let (src, _, _) = sh(std::process::Command::new(SHELL_TESTER)
        .current_dir(&d.0)
        .env("OCF_ROOT", "/usr/lib/ocf")
        .args(["-n", "ocft-d", "-o", &o, agent.to_str().unwrap()]));
    assert_ne!(src, 0, "the shell tool cannot pass such a value");
}

#[test]
fn legacy_matches_shell_on_pacemaker_stateful() {
    let d = TempDir::new("stateful");
    let state = format!("state={}", d.join("s.state").display());
    let (out, _) = same_verdict(
        None,
        &[
            "-n",
            "ocft-s",
            "-o",
            &state,
            "/usr/lib/ocf/resource.d/pacemaker/Stateful",
        ],
    );
    // Stateful claims 1.1 features without a DOCTYPE: both testers fail it on the DTD step.
    assert!(out.contains("ra-api-1.dtd"), "{out}");
}

#[test]
fn pacemaker_profile_checks_promotion_on_stateful() {
    let d = TempDir::new("stateful-pcmk");
    let state = format!("state={}", d.join("s.state").display());
    let (rc, out, err) = ours_one_param(
        &[],
        "ocft-s",
        &state,
        "/usr/lib/ocf/resource.d/pacemaker/Stateful",
    );
    for check in [
        "monitor after promote",
        "monitor after demote",
        "notify pre-promote",
        "notify post-demote",
        "3 meta-data schema",
        "15 promote promoted",
    ] {
        let line = out
            .lines()
            .find(|l| l.contains(check))
            .unwrap_or_else(|| panic!("{check}:\n{out}"));
        assert!(line.ends_with(" ok"), "{line}");
    }
    // Stateful claims 1.1 and its schema step passes here; its meta-data without OCF_ROOT
    // (it sources the shell library from there) fails, which Pacemaker never does: a
    // warning, so Stateful passes.
    assert!(
        out.contains(
            "- warning: rc=2: meta-data must print valid XML and exit 0 with an empty environment"
        ),
        "{out}"
    );
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains("passed all tests (1 warnings)"), "{out}");
}

#[test]
fn legacy_matches_shell_on_broken_fixtures() {
    let d = TempDir::new("broken-legacy");
    let state = format!("state={}", d.join("f.state").display());
    for fault in [
        "good",
        "double-stop",
        "bad-metadata",
        "stdout",
        "stdout-metadata",
        "monitor-stopped",
        "partial-promote",
        "exit-101",
        "degraded",
        "no-reason",
    ] {
        let agent = fixture(&d, fault);
        let _ = std::fs::remove_file(d.join("f.state"));
        same_verdict(
            None,
            &["-n", "ocft-f", "-o", &state, agent.to_str().unwrap()],
        );
    }
}

#[test]
fn our_dummy_passes_every_profile() {
    let d = TempDir::new("ours");
    let agent = our_dummy(&d);
    let state = format!("state={}", d.join("o.state").display());
    for profile in ["pacemaker", "legacy", "rgmanager"] {
        let (rc, out, err) = ours_one_param(&["--profile", profile], "ocft-o", &state, &agent);
        assert_eq!(rc, 0, "{profile}:\n{out}\n{err}");
        assert!(out.contains("passed all tests"), "{profile}: {out}");
        assert!(
            !out.contains("FAIL") && !out.contains("not counted"),
            "{profile}: {out}"
        );
    }
    // The machine formats carry the same verdict.
    let (rc, out, _) = ours_one_param(&["--format", "json"], "ocft-o", &state, &agent);
    assert_eq!(rc, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["passed"], true);
    assert!(v["checks"].as_array().unwrap().len() > 40);
    let (rc, out, _) = ours_one_param(&["--format", "junit"], "ocft-o", &state, &agent);
    assert_eq!(rc, 0);
    assert!(
        out.contains("<testsuite ") && out.contains("failures=\"0\""),
        "{out}"
    );
}

#[test]
fn command_line_matches_the_shell_tool() {
    let d = TempDir::new("cli");
    let agent = fixture(&d, "good");
    let a = agent.to_str().unwrap();
    // No name: message, usage on stderr, exit 1 (both tools).
    let (rc, out, err) = ours(None, &[a]);
    assert_eq!(rc, 1);
    assert!(
        out.is_empty() && err.contains("You must give your resource a name"),
        "{err}"
    );
    let (src, _, serr) = shell(None, &[a]);
    assert_eq!(src, 1);
    assert!(serr.contains("You must give your resource a name"));
    // Unknown options are errors (the shell tool prints usage and exits 0 for -Z).
    let (rc, _, err) = ours(None, &["-Z", "-n", "x", a]);
    assert_eq!(rc, 1, "{err}");
    // Help and version exit 0.
    for h in ["-h", "--help", "-?"] {
        let (rc, out, _) = ours(None, &[h]);
        assert_eq!(rc, 0, "{h}");
        assert!(
            out.contains("-n <NAME>") && out.contains("--profile"),
            "{out}"
        );
    }
    let (rc, out, _) = ours(None, &["--version"]);
    assert_eq!(rc, 0);
    assert!(out.starts_with("ocf-tester "), "{out}");
    // -o without '=' is an error; a missing agent too.
    assert_eq!(ours(None, &["-n", "x", "-o", "novalue", a]).0, 1);
    assert_eq!(ours(None, &["-n", "x", "/nonexistent/agent"]).0, 1);
}

#[test]
fn man_page_and_completions_are_generated() {
    let d = TempDir::new("gen");
    let (rc, _, err) = ours(None, &["--generate", "man", d.0.to_str().unwrap()]);
    assert_eq!(rc, 0, "{err}");
    let man = std::fs::read_to_string(d.join("ocf-tester.8")).unwrap();
    assert!(
        man.contains(".TH ocf-tester 8")
            && man.contains("profile")
            && man.contains("\\-\\-strict")
            && man.contains("\\-\\-via\\-pacemaker")
            && man.contains("WARNINGS"),
        "{}",
        &man[..200.min(man.len())]
    );
    for shell in ["bash", "zsh", "fish"] {
        let (rc, out, err) = ours(None, &["--generate", "completions", shell, "ocfrs-tester"]);
        assert_eq!(rc, 0, "{err}");
        assert!(
            out.contains("ocfrs-tester") && out.contains("profile"),
            "{shell}"
        );
    }
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root: network namespace and veth"
)]
fn legacy_matches_shell_on_ipaddr2_in_a_namespace() {
    let ns = NetNs::for_ipaddr2("ip2");
    let agent = format!("{HEARTBEAT}/IPaddr2");
    let args = ipaddr2_args("ocft-ip", &agent);
    let (out, _) = same_verdict(Some(&ns.name), &args);
    assert!(out.contains("passed all tests"), "{out}");
    // A bad configuration is caught by both, the same way.
    let bad = ["-n", "ocft-ip", "-o", "ip=not-an-ip", agent.as_str()];
    let (out, _) = same_verdict(Some(&ns.name), &bad);
    assert!(out.contains("Validation failed"), "{out}");
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root: loop device and mount"
)]
fn legacy_matches_shell_on_filesystem_on_a_loop_device() {
    let d = TempDir::new("fs");
    let lo = Loop::new(&d);
    let agent = format!("{HEARTBEAT}/Filesystem");
    let (out, _) = same_verdict(None, &filesystem_args("ocft-fs", &lo.params(), &agent));
    assert!(out.contains("passed all tests"), "{out}");
}
