//! Malformed values for every parameter of every agent, through the installed binary: the
//! result is always a defined OCF exit code with an exit reason, never a panic (101), and
//! nothing in a value is ever executed.
use crate::common::{run, TempDir};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

const DEFINED: &[i32] = &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 190, 191];

fn malformed(canary: &str) -> Vec<(&'static str, OsString)> {
    vec![
        ("empty", OsString::new()),
        ("whitespace", OsString::from(" \t ")),
        ("very long", OsString::from("x".repeat(100_000))),
        (
            "non-UTF-8",
            OsString::from_vec(vec![b'a', 0xff, 0xfe, b'z']),
        ),
        (
            "command substitution",
            OsString::from(format!("$(touch {canary})")),
        ),
        ("backticks", OsString::from(format!("`touch {canary}`"))),
        ("separator", OsString::from(format!("x; touch {canary}; #"))),
        ("newline", OsString::from(format!("x\ntouch {canary}"))),
        ("quotes", OsString::from("'\"\\")),
        ("glob", OsString::from("/*")),
        ("negative", OsString::from("-1")),
        ("huge number", OsString::from("99999999999999999999999999")),
    ]
}

/// Parameters that keep the daemon agents away from this host's own services: with their
/// defaults, a `start` or `stop` here would act on the machine's MariaDB, apache2 or sshd.
/// Each daemon agent gets a missing program **and** a missing configuration, so whichever
/// parameter is under test (and left at its default when a value counts as empty), the
/// other still keeps the action off the host. Agents whose required parameters have no
/// default (IPaddr2, Filesystem) never get that far, and Dummy/Stateful keep their state
/// under `OCFRS_RUN_DIR`.
const HOST_SAFE: &[(&str, &[(&str, &str)])] = &[
    (
        "mysql",
        &[
            ("binary", "/nonexistent/ocfrs-bad-input/mysqld"),
            ("config", "/nonexistent/ocfrs-bad-input/my.cnf"),
        ],
    ),
    (
        "apache",
        &[
            ("httpd", "/nonexistent/ocfrs-bad-input/httpd"),
            ("configfile", "/nonexistent/ocfrs-bad-input/httpd.conf"),
        ],
    ),
    (
        "sshd",
        &[
            ("sshd", "/nonexistent/ocfrs-bad-input/sshd"),
            ("config", "/nonexistent/ocfrs-bad-input/sshd_config"),
        ],
    ),
    (
        "VServer",
        &[
            ("vserver_bin", "/nonexistent/ocfrs-bad-input/vserver"),
            ("config_root", "/nonexistent/ocfrs-bad-input/vservers"),
        ],
    ),
];

/// A run of `agent` with [`HOST_SAFE`] applied, except for the parameter `testing`.
fn safe_run(agent: &ocf::Agent, testing: Option<&str>) -> ocf::testing::Run {
    let mut r = run(agent.name);
    if let Some((_, params)) = HOST_SAFE.iter().find(|(a, _)| *a == agent.name) {
        for (k, v) in *params {
            assert!(
                agent.params.iter().any(|p| p.name == *k),
                "{}: HOST_SAFE names {k}, which the agent does not declare",
                agent.name
            );
            if Some(*k) != testing {
                r = r.param(k, v);
            }
        }
    }
    r
}

/// The exit code is one the OCF standard defines, and a failure (not 0, not 7) comes with
/// exactly one exit-reason line; `ctx` says which case.
fn assert_defined_with_one_reason(rc: i32, stderr: &str, ctx: &str) {
    assert!(DEFINED.contains(&rc), "undefined exit code: {ctx}");
    let reasons = stderr
        .lines()
        .filter(|l| l.starts_with("ocf-exit-reason:"))
        .count();
    if rc != 0 && rc != 7 {
        assert_eq!(reasons, 1, "{ctx}");
    }
}

#[test]
fn malformed_values_give_defined_codes_and_reasons() {
    let dir = TempDir::new("bad-input");
    let canary = dir.join("canary");
    let canary_s = canary.display().to_string();
    for e in ocfrs_agents::AGENTS {
        for p in e.meta.params {
            for (what, value) in malformed(&canary_s) {
                for (action, interval) in [
                    ("validate-all", None),
                    ("monitor", Some(0)),
                    ("monitor", Some(10_000)),
                    ("start", None),
                    ("stop", None),
                ] {
                    let mut r = safe_run(e.meta, Some(p.name))
                        .action(action)
                        .param(p.name, &value)
                        .env("OCFRS_RUN_DIR", dir.path())
                        .env("OCF_RESOURCE_INSTANCE", "bad");
                    if let Some(i) = interval {
                        r = r.interval_ms(i);
                    }
                    let o = r.run();
                    let ctx = format!(
                        "{} {}={what} {action} {interval:?}: rc {}\n{}",
                        e.meta.name, p.name, o.rc, o.stderr
                    );
                    assert_defined_with_one_reason(o.rc, &o.stderr, &ctx);
                    assert!(o.stdout.is_empty(), "stdout not empty: {ctx}");
                    for l in o
                        .stderr
                        .lines()
                        .filter(|l| l.starts_with("ocf-exit-reason:"))
                    {
                        assert!(
                            l.chars().count() <= 128 + "ocf-exit-reason:".len(),
                            "reason too long: {ctx}"
                        );
                    }
                    if action == "stop" {
                        assert_eq!(
                            o.rc, 0,
                            "stop must succeed when nothing can be running: {ctx}"
                        );
                    }
                    if action == "monitor" && interval == Some(0) {
                        assert!(matches!(o.rc, 0 | 7), "probe: {ctx}");
                    }
                    if o.rc == 0 && action == "start" {
                        let s = safe_run(e.meta, Some(p.name))
                            .action("stop")
                            .param(p.name, &value)
                            .env("OCFRS_RUN_DIR", dir.path())
                            .env("OCF_RESOURCE_INSTANCE", "bad")
                            .run();
                        assert_eq!(s.rc, 0, "{ctx}");
                    }
                    assert!(!canary.exists(), "a value was executed: {ctx}");
                }
            }
        }
    }
}

#[test]
fn malformed_actions_and_framework_variables() {
    let dir = TempDir::new("bad-env");
    for e in ocfrs_agents::AGENTS {
        for action in [
            "",
            "bogus",
            "START",
            "start\nstop",
            "$(reboot)",
            "../../bin/sh",
        ] {
            let o = run(e.meta.name).action(action).run();
            assert_eq!(o.rc, 3, "{} action {action:?}: {}", e.meta.name, o.stderr);
            assert_eq!(
                o.stderr
                    .lines()
                    .filter(|l| l.starts_with("ocf-exit-reason:"))
                    .count(),
                1,
                "{}",
                o.stderr
            );
        }
        for (k, v) in [
            ("OCF_RESKEY_CRM_meta_timeout", "soon"),
            ("OCF_RESKEY_CRM_meta_interval", "-5"),
            ("OCF_CHECK_LEVEL", "deep"),
            ("OCF_RA_VERSION_MAJOR", "x"),
            ("OCF_RESOURCE_INSTANCE", "../../etc/passwd"),
            ("OCF_RESKEY_CRM_meta_notify_type", "\u{1}"),
            ("HA_LOGFILE", "/nonexistent/dir/log"),
            ("HA_LOGFACILITY", "bogus"),
        ] {
            for action in ["monitor", "stop", "validate-all"] {
                let o = safe_run(e.meta, None)
                    .action(action)
                    .env(k, v)
                    .env("OCFRS_RUN_DIR", dir.path())
                    .run();
                assert!(
                    DEFINED.contains(&o.rc),
                    "{} {k}={v:?} {action}: rc {} {}",
                    e.meta.name,
                    o.rc,
                    o.stderr
                );
                if action == "stop" {
                    assert_eq!(o.rc, 0, "{} {k}={v:?} stop: {}", e.meta.name, o.stderr);
                }
            }
        }
    }
}

/// Every timing variable the caller sets, huge (overflowing `u64`, `u64::MAX` milliseconds or
/// seconds, which overflowed `Instant` and the rgmanager seconds-to-milliseconds conversion)
/// and non-numeric: a defined code, one reason on failure, stop still 0. Before the
/// context was built inside the panic guard with saturating arithmetic, these were exit 101.
#[test]
fn huge_and_non_numeric_timing_values() {
    let dir = TempDir::new("bad-timing");
    let rgmanager = [("OCF_ROOT", "/usr/share/cluster")];
    let vars: &[(&str, &[(&str, &str)])] = &[
        ("OCF_RESKEY_CRM_meta_timeout", &[]),
        ("OCF_RESKEY_CRM_meta_interval", &[]),
        ("OCF_RESKEY_RGMANAGER_meta_timeout", &rgmanager),
        ("OCF_CHECK_LEVEL", &[]),
        ("OCF_RESKEY_OCF_CHECK_LEVEL", &[]),
        ("OCF_RESKEY_CRM_meta_clone_max", &[]),
        ("OCF_RESKEY_CRM_meta_clone", &[]),
        ("OCF_RA_VERSION_MAJOR", &[]),
        ("OCF_RA_VERSION_MINOR", &[]),
    ];
    let values = [
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999999999",
        "9223372036854775807",
        "-1",
        "soon",
        "1e9",
        "0x10",
        "１２",
    ];
    for e in ocfrs_agents::AGENTS {
        for (var, extra) in vars {
            for v in values {
                for (action, interval) in [
                    ("monitor", Some(0)),
                    ("monitor", Some(10_000)),
                    ("stop", None),
                    ("validate-all", None),
                ] {
                    let mut r = safe_run(e.meta, None)
                        .action(action)
                        .env(var, v)
                        .env("OCFRS_RUN_DIR", dir.path())
                        .env("OCF_RESOURCE_INSTANCE", "bad");
                    for (k, x) in *extra {
                        r = r.env(k, x);
                    }
                    if let Some(i) = interval {
                        if *var != "OCF_RESKEY_CRM_meta_interval" {
                            r = r.interval_ms(i);
                        }
                    }
                    let o = r.run();
                    let ctx = format!(
                        "{} {var}={v} {action} {interval:?}: rc {}\n{}",
                        e.meta.name, o.rc, o.stderr
                    );
                    assert_defined_with_one_reason(o.rc, &o.stderr, &ctx);
                    assert!(!o.stderr.contains("internal error"), "{ctx}");
                    if action == "stop" {
                        assert_eq!(o.rc, 0, "{ctx}");
                    }
                }
            }
        }
    }
}
