//! Deliberately broken agents are caught with a clear message (pacemaker profile).
use crate::common::*;
use std::time::{Duration, Instant};

fn check(fault: &str) -> (i32, String, String) {
    let d = Tmp::new(&format!("b-{fault}"));
    let agent = fixture(&d, fault);
    let state = format!("state={}", d.join("b.state").display());
    ours(
        None,
        &["-n", "ocft-b", "-o", &state, agent.to_str().unwrap()],
    )
}

/// As [`assert_caught`], with --strict (portability rules are failures).
fn assert_caught_strict(fault: &str, needles: &[&str]) -> String {
    let d = Tmp::new(&format!("b-{fault}-strict"));
    let agent = fixture(&d, fault);
    let state = format!("state={}", d.join("b.state").display());
    let (rc, out, err) = ours(
        None,
        &[
            "--strict",
            "-n",
            "ocft-b",
            "-o",
            &state,
            agent.to_str().unwrap(),
        ],
    );
    assert_eq!(rc, 1, "{fault}: {out}{err}");
    for n in needles {
        assert!(out.contains(n), "{fault}: missing {n:?} in:\n{out}\n{err}");
    }
    out
}

fn assert_caught(fault: &str, needles: &[&str]) -> String {
    let (rc, out, err) = check(fault);
    assert_eq!(rc, 1, "{fault}: {out}{err}");
    for n in needles {
        assert!(out.contains(n), "{fault}: missing {n:?} in:\n{out}\n{err}");
    }
    out
}

#[test]
fn the_good_fixture_passes() {
    let (rc, out, err) = check("good");
    assert_eq!(rc, 0, "{out}{err}");
}

#[test]
fn hang_on_stop_is_killed_and_reported() {
    let t = Instant::now();
    let out = assert_caught(
        "hang-on-stop",
        &[
            "* rc=timeout: Stop failed (agent hung: killed its process group after 5s)",
            "Aborting tests",
        ],
    );
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "took {:?}",
        t.elapsed()
    );
    // Nothing of the agent survives: its process group was killed.
    let left = ocf::process::processes()
        .into_iter()
        .filter(|p| {
            p.cmdline()
                .iter()
                .any(|a| a.to_string_lossy().contains("ocft-b-hang-on-stop"))
        })
        .count();
    assert_eq!(left, 0, "{out}");
}

#[test]
fn wrong_code_on_double_stop() {
    assert_caught(
        "double-stop",
        &["* rc=1: Stopping a stopped resource is required to succeed"],
    );
}

#[test]
fn bad_meta_data() {
    assert_caught(
        "bad-metadata",
        &[
            "* rc=1: Your agent produces meta-data which does not conform",
            "unclosed element",
        ],
    );
}

#[test]
fn stdout_noise_in_meta_data_fails_by_default() {
    // The one place Pacemaker reads an agent's stdout: meta-data is parsed as XML, so a line
    // before the document makes pcs, crmsh and the controller reject it. A failure in the
    // default profile (not a portability warning), unlike noise on start/monitor below.
    assert_caught(
        "stdout-metadata",
        &[
            "* rc=1: Your agent produces meta-data which does not conform",
            "text outside the root element (not pure XML): \"loading /etc/default/stdout-metadata\"",
            "Pacemaker parses meta-data's stdout as one XML document",
        ],
    );
    // The shell tool catches it too (xmllint): the legacy profile agrees.
    let d = Tmp::new("b-stdout-metadata-legacy");
    let agent = fixture(&d, "stdout-metadata");
    let state = format!("state={}", d.join("b.state").display());
    let (rc, out, _) = ours(
        None,
        &[
            "--profile",
            "legacy",
            "-n",
            "ocft-b",
            "-o",
            &state,
            agent.to_str().unwrap(),
        ],
    );
    assert_eq!(rc, 1, "{out}");
}

#[test]
fn writes_to_stdout() {
    // Pacemaker logs an action's stdout and acts on the code alone: a warning by default,
    // a failure with --strict.
    let (rc, out, err) = check("stdout");
    assert_eq!(rc, 0, "{out}{err}");
    assert!(
        out.contains("- warning: rc=-: Actions other than meta-data must not write to stdout")
            && out.contains("start (rc=0): \"starting the resource\""),
        "{out}"
    );
    assert_caught_strict(
        "stdout",
        &[
            "* rc=-: Actions other than meta-data must not write to stdout",
            "start (rc=0): \"starting the resource\"",
        ],
    );
    // The legacy profile keeps the shell tool's verdict (pass) and still reports it.
    let d = Tmp::new("b-stdout-legacy");
    let agent = fixture(&d, "stdout");
    let state = format!("state={}", d.join("b.state").display());
    let (rc, out, _) = ours(
        None,
        &[
            "--profile",
            "legacy",
            "-n",
            "ocft-b",
            "-o",
            &state,
            agent.to_str().unwrap(),
        ],
    );
    assert_eq!(rc, 0, "{out}");
    assert!(
        out.contains("- extra (not counted in the legacy profile)")
            && out.contains("must not write to stdout"),
        "{out}"
    );
}

#[test]
fn monitor_not_7_when_stopped() {
    assert_caught(
        "monitor-stopped",
        &["* rc=1: Monitoring a stopped resource should return 7"],
    );
}

#[test]
fn partial_promote_support() {
    assert_caught(
        "partial-promote",
        &["* Your agent partially supports promotable clones"],
    );
}

#[test]
fn exit_101() {
    assert_caught(
        "exit-101",
        &[
            "* rc=101: Start failed.  Did you supply enough options with -o ?",
            "thread 'main' panicked",
            "Aborting tests",
        ],
    );
}

#[test]
fn missing_required_parameter_and_unknown_action() {
    // The fixture returns 6 without its required parameter and 3 for unknown actions: the
    // extra checks see both and pass; the exit reason of each failure is checked.
    let d = Tmp::new("b-extra");
    let agent = fixture(&d, "good");
    let state = format!("state={}", d.join("b.state").display());
    let (rc, out, err) = ours(
        None,
        &["-n", "ocft-b", "-o", &state, agent.to_str().unwrap()],
    );
    assert_eq!(rc, 0, "{out}{err}");
    for line in [
        "start without required state",
        "validate-all without required state",
        "unknown action returns 3",
        "one exit reason per failure",
    ] {
        let l = out
            .lines()
            .find(|l| l.contains(line))
            .unwrap_or_else(|| panic!("{line}: {out}"));
        assert!(l.ends_with("ok"), "{l}");
    }
}

#[test]
fn degraded_code_without_an_ocf_1_1_claim() {
    assert_caught(
        "degraded",
        &[
            "* rc=190: Monitoring an active resource should return 0",
            "Codes 190/191 need an OCF 1.1 claim",
            "monitor returned 190 but the agent does not claim OCF 1.1",
        ],
    );
}

#[test]
fn failure_without_an_exit_reason() {
    // Exit reasons are optional in OCF and Pacemaker acts on the code alone: a warning by
    // default, a failure with --strict.
    let (rc, out, err) = check("no-reason");
    assert_eq!(rc, 0, "{out}{err}");
    assert!(
        out.contains("- warning: rc=-: Every failure must print exactly one exit-reason line"),
        "{out}"
    );
    let out = assert_caught_strict(
        "no-reason",
        &[
            "Every failure must print exactly one exit-reason line of at most 128 characters",
            "validate-all returned 6 with 0 exit-reason lines",
            "start returned 6 with 0 exit-reason lines",
        ],
    );
    // Only that check fails: the codes themselves are right.
    assert_eq!(
        out.lines().filter(|l| l.starts_with("* rc=")).count(),
        1,
        "{out}"
    );
}

#[test]
fn rgmanager_profile_applies_rgmanager_rules() {
    // The fixture advertises no `status`: rgmanager would never check it.
    let d = Tmp::new("b-rgm");
    let agent = fixture(&d, "good");
    let state = format!("state={}", d.join("b.state").display());
    let (rc, out, err) = ours(
        None,
        &[
            "--profile",
            "rgmanager",
            "-n",
            "ocft-b",
            "-o",
            &state,
            agent.to_str().unwrap(),
        ],
    );
    assert_eq!(rc, 1, "{out}{err}");
    assert!(
        out.contains(
            "* rc=3: Your agent produces meta-data which does not conform to rgmanager's rules"
        ),
        "{out}"
    );
    assert!(out.contains("action \"status\" is not advertised"), "{out}");
    assert!(err.contains("failed 1 tests"), "{err}");
}

#[test]
fn slower_than_advertised_and_the_timeout_option() {
    let d = Tmp::new("b-slow");
    let agent = fixture(&d, "slow-stop");
    let state = format!("state={}", d.join("b.state").display());
    let a = agent.to_str().unwrap();
    // --timeout lets it finish; the durations check still holds it to its advertised 1 s.
    let (rc, out, err) = ours(None, &["--timeout", "4", "-n", "ocft-b", "-o", &state, a]);
    assert_eq!(rc, 1, "{out}{err}");
    assert!(
        out.contains("Actions must finish within their advertised timeouts"),
        "{out}"
    );
    assert!(out.contains("stop took 2."), "{out}");
    assert!(
        out.contains("longer than its advertised timeout 1s"),
        "{out}"
    );
    // Without --timeout the advertised 1 s is the limit: the stop is killed.
    let (rc, out, _) = ours(None, &["-n", "ocft-b", "-o", &state, a]);
    assert_eq!(rc, 1, "{out}");
    assert!(
        out.contains("* rc=timeout: Stop failed (agent hung: killed its process group after 1s)"),
        "{out}"
    );
}
