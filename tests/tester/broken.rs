//! Deliberately broken agents are caught with a clear message (pacemaker profile).
use crate::common::*;
use std::time::{Duration, Instant};

/// A broken (or good) fixture agent in a scratch directory of its own, tested as
/// `ocf-tester [OPTIONS] -n ocft-b -o state=DIR/b.state AGENT`.
struct Broken {
    dir: TempDir,
    agent: std::path::PathBuf,
}

impl Broken {
    /// Fixture `fault` in a directory named after `tag` (`ocft-<tag>-...`).
    fn new(fault: &str, tag: &str) -> Broken {
        let dir = TempDir::new(tag);
        let agent = fixture(&dir, fault);
        Broken { dir, agent }
    }

    /// The tester's (code, stdout, stderr) with `options` before the usual arguments.
    fn test(&self, options: &[&str]) -> (i32, String, String) {
        let state = format!("state={}", self.dir.join("b.state").display());
        let mut args = options.to_vec();
        args.extend(["-n", "ocft-b", "-o", &state, self.agent.to_str().unwrap()]);
        ours(None, &args)
    }
}

/// The tester on fixture `fault` with `options` (a fresh directory `ocft-b-<fault><tag>`).
fn check_with(fault: &str, tag: &str, options: &[&str]) -> (i32, String, String) {
    Broken::new(fault, &format!("b-{fault}{tag}")).test(options)
}

fn check(fault: &str) -> (i32, String, String) {
    check_with(fault, "", &[])
}

/// Exit status 1 and every needle in stdout; returns stdout.
#[track_caller]
fn assert_failed(fault: &str, (rc, out, err): (i32, String, String), needles: &[&str]) -> String {
    assert_eq!(rc, 1, "{fault}: {out}{err}");
    for n in needles {
        assert!(out.contains(n), "{fault}: missing {n:?} in:\n{out}\n{err}");
    }
    out
}

/// As [`assert_caught`], with --strict (portability rules are failures).
fn assert_caught_strict(fault: &str, needles: &[&str]) -> String {
    assert_failed(fault, check_with(fault, "-strict", &["--strict"]), needles)
}

fn assert_caught(fault: &str, needles: &[&str]) -> String {
    assert_failed(fault, check(fault), needles)
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
    let (rc, out, _) = check_with("stdout-metadata", "-legacy", &["--profile", "legacy"]);
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
    let (rc, out, _) = check_with("stdout", "-legacy", &["--profile", "legacy"]);
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
    let (rc, out, err) = check_with("good", "-extra", &[]);
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
    let (rc, out, err) = check_with("good", "-rgm", &["--profile", "rgmanager"]);
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
    let b = Broken::new("slow-stop", "b-slow");
    // --timeout lets it finish; the durations check still holds it to its advertised 1 s.
    let (rc, out, err) = b.test(&["--timeout", "4"]);
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
    let (rc, out, _) = b.test(&[]);
    assert_eq!(rc, 1, "{out}");
    assert!(
        out.contains("* rc=timeout: Stop failed (agent hung: killed its process group after 1s)"),
        "{out}"
    );
}
