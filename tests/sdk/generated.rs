//! Generated bad input (issue 19): property-based tests over the declarations of every agent
//! in the multicall binary (`ocfrs_agents::AGENTS`, so an agent registered later is covered
//! without touching this file).
//!
//! Each case is a random configuration: a random subset of the agent's parameters, each set to
//! a value of its declared type (in range, at the bounds, out of range, every select option,
//! boolean spellings, paths, addresses, interface names) or of the wrong type (numbers for
//! strings, text for integers, non-UTF-8 bytes, 100 000 characters, shell injections aimed at a
//! canary file); random framework variables (Pacemaker's `CRM_meta_timeout`, `interval`,
//! `OCF_CHECK_LEVEL`, notify type/operation/node lists, clone and promotable numbers,
//! rgmanager's timeout with rgmanager's `OCF_ROOT`, OCF version); extra argv after the action;
//! and a random action name that the agent does not declare.
//!
//! Properties, for the agent run as a real process (the multicall binary by its installed
//! name, as Pacemaker runs it):
//! * never exit 101, never a signal: always a defined OCF code;
//! * nothing on stdout but meta-data;
//! * on failure exactly one `ocf-exit-reason:` line, at most 128 characters;
//! * a probe (interval 0) answers 0 or 7, and 7 when the configuration is invalid;
//! * stop with an invalid configuration (validate-all said 6) is 0;
//! * an undeclared action is 3;
//! * nothing taken from a value is executed (the canary file never appears);
//! * every answer comes inside the budget (the caller's timeout when it is a sane number,
//!   else the action's declared timeout), plus a few seconds of slack for this busy machine.
//!
//! # Which actions, and why they are safe with random input
//! Only actions that change nothing on the host run: `meta-data`, `validate-all`, `monitor`
//! (probe and recurring, any depth), an undeclared action (refused before anything is read),
//! and `stop` **only** when `validate-all` called the same configuration invalid (6), where
//! the contract is "nothing can be running, change nothing, answer 0". `start`, a valid
//! `stop`, `promote`, `demote`, `reload` and `notify` never run with random values: a random
//! but valid IPaddr2 or Filesystem configuration could otherwise add or remove a real host
//! address or unmount a real filesystem. Generated paths are kept under the test's temporary
//! directory or in a non-existent top directory, so a depth-20 monitor never writes into a
//! real mount point. As a second fence, when the tests run as root every action runs under
//! `unshare --net --mount --pid --fork --mount-proc` (empty network namespace, private mount
//! namespace, own pid namespace): even a bug that acted on a random configuration could only
//! touch that sandbox.
//!
//! # How many cases
//! `OCFRS_PROPTEST_CASES` cases per agent (default 16, which keeps the whole file at a few
//! seconds in CI). The long run, documented in docs/hardening.md:
//!
//! ```sh
//! OCFRS_PROPTEST_CASES=5000 cargo test -p ocfrs-agents --features root-tests \
//!     --test integration -- sdk::generated --nocapture
//! ```
//!
//! On failure proptest shrinks the case to a minimal one and prints it.
use crate::common::{agent, is_root, TempDir};
use ocf::meta::ParamType;
use ocf::process::Cmd;
use ocf::Deadline;
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::time::{Duration, Instant};

/// Parameters that exist to make actions slow on purpose (the example agents' `op_sleep`
/// sleeps up to the budget and then fails cleanly): generating them would only measure
/// sleeping, and their own tests cover them.
const DELIBERATELY_SLOW: &[&str] = &["op_sleep"];

const DEFINED: &[i32] = &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 190, 191];
const REASON: &str = "ocf-exit-reason:";
/// Slack over the budget: the machine running CI is small and shared.
const SLACK: Duration = Duration::from_secs(5);

fn cases() -> u32 {
    std::env::var("OCFRS_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16)
}

/// One generated invocation set.
#[derive(Debug, Clone)]
struct Case {
    /// Parameter name and raw value.
    params: Vec<(&'static str, OsString)>,
    /// Framework variables.
    framework: Vec<(&'static str, String)>,
    /// `OCF_RESKEY_CRM_meta_interval` for the monitor (None: unset).
    interval: Option<String>,
    /// Extra arguments after the action.
    extra: Vec<String>,
    /// An action the agent does not declare.
    odd_action: String,
}

fn lit(values: &'static [&'static str]) -> BoxedStrategy<String> {
    proptest::sample::select(values)
        .prop_map(str::to_string)
        .boxed()
}

/// Shell injections aimed at the canary, with a random harmless prefix.
fn injection(canary: String) -> BoxedStrategy<String> {
    let forms = vec![
        format!("$(touch {canary})"),
        format!("`touch {canary}`"),
        format!("; touch {canary}; #"),
        format!("\ntouch {canary}\n"),
        format!("| touch {canary}"),
        format!("&& touch {canary}"),
        format!("' ; touch {canary} ; '"),
        format!("\" ; touch {canary} ; \""),
    ];
    ("[a-z0-9./-]{0,8}", proptest::sample::select(forms))
        .prop_map(|(p, f)| format!("{p}{f}"))
        .boxed()
}

/// A value of any type at all (the wrong one, usually), as raw bytes.
fn anything(tmp: String, canary: String) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        lit(&[
            "", " ", "\t", "true", "no", "-1", "0", "1e9", "0x10", "NaN", "/*", "*", "..", "１２"
        ])
        .prop_map(String::into_bytes),
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        "[0-9]{19,40}".prop_map(String::into_bytes),
        injection(canary).prop_map(String::into_bytes),
        // Non-UTF-8 and control bytes (NUL cannot be in an environment variable).
        proptest::collection::vec(1u8..=255, 0..48),
        "\\PC{0,64}".prop_map(String::into_bytes),
        (1usize..100_000).prop_map(|n| vec![b'x'; n]),
        path(tmp).prop_map(String::into_bytes),
    ]
    .boxed()
}

/// Paths that are never a real mount point or a file of the host: under the test's
/// directory, relative, or under a top directory that does not exist.
fn path(tmp: String) -> BoxedStrategy<String> {
    prop_oneof![
        "[a-z]{1,8}(/[a-z.]{1,8}){0,2}".prop_map(move |p| format!("{tmp}/{p}")),
        "[a-z./]{1,12}",
        "[a-z]{1,8}".prop_map(|p| format!("/ocfhard-nonexistent/{p}")),
    ]
    .boxed()
}

/// Free text as agents' string parameters expect it, well or badly formed.
fn text(tmp: String) -> BoxedStrategy<String> {
    prop_oneof![
        path(tmp),
        (any::<[u8; 4]>(), proptest::option::of(0u8..=40)).prop_map(|(a, p)| {
            let ip = std::net::Ipv4Addr::from(a).to_string();
            p.map_or(ip.clone(), |p| format!("{ip}/{p}"))
        }),
        (any::<[u16; 8]>(), proptest::option::of(0u8..=140)).prop_map(|(a, p)| {
            let ip = std::net::Ipv6Addr::from(a).to_string();
            p.map_or(ip.clone(), |p| format!("{ip}/{p}"))
        }),
        "[a-z]{1,5}[0-9]{0,2}(:[0-9]{1,2})?",
        "[a-zA-Z0-9_=,. -]{0,40}",
        "[a-z]{2,8}(,[a-z_]{2,10}(=[a-z0-9]{1,4})?){0,4}",
        lit(&["TERM KILL", "HUP", "SIGBOGUS", "auto", "none", "default"]),
    ]
    .boxed()
}

/// A value of the declared type (well or badly formed), sometimes of another type.
fn value(kind: ParamType, tmp: String, canary: String) -> BoxedStrategy<Vec<u8>> {
    let typed: BoxedStrategy<String> = match kind {
        ParamType::Boolean => lit(&[
            "true", "false", "yes", "no", "1", "0", "on", "off", "TRUE", "Y", "n", "maybe",
        ]),
        ParamType::Integer { min, max } => prop_oneof![
            (min..=max).prop_map(|n| n.to_string()),
            proptest::sample::select(vec![
                min,
                max,
                min.saturating_sub(1),
                max.saturating_add(1),
                i64::MIN,
                i64::MAX,
            ])
            .prop_map(|n| n.to_string()),
            (min..=max).prop_map(|n| format!(" {n} ")),
            (min..=max).prop_map(|n| format!("+{n}")),
            (min..=max).prop_map(|n| format!("{n}s")),
        ]
        .boxed(),
        ParamType::Select(options) => prop_oneof![
            3 => proptest::sample::select(options).prop_map(str::to_string),
            1 => proptest::sample::select(options).prop_map(|o| o.to_uppercase()),
            1 => proptest::sample::select(options).prop_map(|o| format!("{o},{o}")),
        ]
        .boxed(),
        ParamType::String => text(tmp.clone()),
    };
    prop_oneof![
        3 => typed.prop_map(String::into_bytes),
        1 => anything(tmp, canary),
    ]
    .boxed()
}

fn numberish() -> BoxedStrategy<String> {
    prop_oneof![
        (0u64..200).prop_map(|n| n.to_string()),
        lit(&["-1", "x", "", "18446744073709551616", "1.5", " 2"]),
    ]
    .boxed()
}

fn framework() -> BoxedStrategy<Vec<(&'static str, String)>> {
    let nodes = prop_oneof![
        "[a-z0-9-]{1,8}( [a-z0-9-]{1,8}){0,4}",
        "\\PC{0,20}",
        lit(&["", " ", "node1  node2 ", "\n"]),
    ]
    .boxed();
    let vars: Vec<(&'static str, BoxedStrategy<String>)> = vec![
        (
            "OCF_RESKEY_CRM_meta_timeout",
            prop_oneof![
                (1u64..120_000).prop_map(|n| n.to_string()),
                lit(&["0", "-1", "soon", "18446744073709551615", "20s"]),
            ]
            .boxed(),
        ),
        (
            "OCF_CHECK_LEVEL",
            prop_oneof![
                lit(&["0", "10", "20", "30", "-1", "deep", "99999999999999999999"]),
                any::<u32>().prop_map(|n| n.to_string()),
            ]
            .boxed(),
        ),
        (
            "OCF_RESKEY_CRM_meta_notify_type",
            lit(&["pre", "post", "", "PRE", "\u{1}", "middle"]),
        ),
        (
            "OCF_RESKEY_CRM_meta_notify_operation",
            lit(&["start", "stop", "promote", "demote", "", "explode"]),
        ),
        ("OCF_RESKEY_CRM_meta_notify_start_uname", nodes.clone()),
        ("OCF_RESKEY_CRM_meta_notify_stop_uname", nodes.clone()),
        ("OCF_RESKEY_CRM_meta_notify_active_uname", nodes.clone()),
        ("OCF_RESKEY_CRM_meta_notify_promoted_uname", nodes.clone()),
        ("OCF_RESKEY_CRM_meta_notify_master_uname", nodes.clone()),
        ("OCF_RESKEY_CRM_meta_on_node", nodes),
        ("OCF_RESKEY_CRM_meta_notify", lit(&["true", "false", "x"])),
        ("OCF_RESKEY_CRM_meta_clone", numberish()),
        ("OCF_RESKEY_CRM_meta_clone_max", numberish()),
        ("OCF_RESKEY_CRM_meta_clone_node_max", numberish()),
        ("OCF_RESKEY_CRM_meta_promoted_max", numberish()),
        ("OCF_RESKEY_CRM_meta_master_max", numberish()),
        (
            "OCF_RESKEY_CRM_meta_globally_unique",
            lit(&["true", "false", "2"]),
        ),
        ("OCF_RA_VERSION_MAJOR", numberish()),
        ("OCF_RA_VERSION_MINOR", numberish()),
        (
            "OCF_RESOURCE_INSTANCE",
            prop_oneof!["[a-zA-Z0-9:_.-]{1,20}", lit(&["", "../../x", "a/b", "-"])].boxed(),
        ),
    ];
    let each: Vec<BoxedStrategy<Option<(&'static str, String)>>> = vars
        .into_iter()
        .map(|(k, s)| {
            proptest::option::weighted(0.25, s)
                .prop_map(move |v| v.map(|v| (k, v)))
                .boxed()
        })
        .collect();
    // rgmanager: its OCF_ROOT and its timeout (seconds), as a pair.
    let rgmanager = proptest::option::weighted(
        0.15,
        prop_oneof![(1u64..600).prop_map(|n| n.to_string()), numberish()],
    );
    (each, rgmanager)
        .prop_map(|(each, rg)| {
            let mut v: Vec<_> = each.into_iter().flatten().collect();
            if let Some(t) = rg {
                v.push(("OCF_ROOT", "/usr/share/cluster".to_string()));
                v.push(("OCF_RESKEY_RGMANAGER_meta_timeout", t));
            }
            v
        })
        .boxed()
}

fn case(e: &ocf::Entry, tmp: &str, canary: &str) -> BoxedStrategy<Case> {
    let params: Vec<BoxedStrategy<Option<(&'static str, OsString)>>> = e
        .meta
        .params
        .iter()
        .filter(|p| !DELIBERATELY_SLOW.contains(&p.name))
        .map(|p| {
            let name = p.name;
            let weight = if p.required { 0.8 } else { 0.3 };
            proptest::option::weighted(weight, value(p.kind, tmp.to_string(), canary.to_string()))
                .prop_map(move |v| v.map(|v| (name, OsString::from_vec(v))))
                .boxed()
        })
        .collect();
    let declared: Vec<&'static str> = e.meta.actions.iter().map(|a| a.name).collect();
    let odd = prop_oneof![
        "[a-z-]{1,12}",
        "\\PC{0,16}",
        lit(&[
            "",
            "START",
            "monitor ",
            "../start",
            "start\nstop",
            "$(reboot)"
        ]),
    ]
    .prop_filter("undeclared actions only", move |a| {
        !declared.contains(&a.as_str())
            // The dispatcher's own words (usage aliases included: `-h`, `--help`).
            && ![
                "meta-data",
                "usage",
                "help",
                "-h",
                "--help",
                "methods",
                "validate-all",
            ]
            .contains(&a.as_str())
    });
    (
        params,
        framework(),
        proptest::option::weighted(
            0.9,
            prop_oneof![
                3 => Just("0".to_string()),
                2 => Just("10000".to_string()),
                1 => (1u64..100_000_000).prop_map(|n| n.to_string()),
                1 => lit(&["-5", "x", "18446744073709551616"]),
            ],
        ),
        proptest::collection::vec("\\PC{0,12}", 0..3),
        odd,
    )
        .prop_map(|(params, framework, interval, extra, odd_action)| Case {
            params: params.into_iter().flatten().collect(),
            framework,
            interval,
            extra,
            odd_action,
        })
        .boxed()
}

struct Out {
    rc: i32,
    stdout: String,
    stderr: String,
}

/// Run `action` of agent `name` with the case's environment, sandboxed when root.
fn exec(
    e: &ocf::Entry,
    c: &Case,
    action: &str,
    run_dir: &str,
    interval: Option<&str>,
) -> Result<Out, TestCaseError> {
    let path = agent(e.meta.name);
    let mut cmd = if is_root() {
        Cmd::new("unshare")
            .args([
                "--net",
                "--mount",
                "--pid",
                "--fork",
                "--mount-proc",
                "--propagation",
                "private",
                "--",
            ])
            .arg(&path)
    } else {
        Cmd::new(&path)
    };
    cmd = cmd.arg(action).args(&c.extra).env_clear();
    cmd = cmd
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("OCFRS_RUN_DIR", run_dir)
        .env("OCF_RESOURCE_INSTANCE", "ocfhard");
    for (k, v) in &c.framework {
        cmd = cmd.env(k, v);
    }
    for (k, v) in &c.params {
        cmd = cmd.env(format!("OCF_RESKEY_{k}"), v);
    }
    if let Some(i) = interval {
        cmd = cmd.env("OCF_RESKEY_CRM_meta_interval", i);
    }
    let budget = budget(e, c, action);
    let started = Instant::now();
    let o = cmd
        .run(Deadline::after(budget + SLACK))
        .map_err(|err| TestCaseError::fail(format!("{action}: {err}")))?;
    let took = started.elapsed();
    let stderr = o.stderr_text();
    let ctx = format!("{} {action}: {o:?}\n{stderr}", e.meta.name);
    prop_assert!(o.signal.is_none(), "killed by a signal: {ctx}");
    prop_assert!(
        took <= budget + SLACK,
        "over budget {budget:?} ({took:?}): {ctx}"
    );
    let rc = o.code.unwrap_or(-1);
    prop_assert!(DEFINED.contains(&rc), "undefined exit code: {ctx}");
    let reasons: Vec<&str> = stderr.lines().filter(|l| l.starts_with(REASON)).collect();
    if rc != 0 && rc != 7 {
        prop_assert_eq!(reasons.len(), 1, "one exit reason on failure: {}", ctx);
    }
    for r in &reasons {
        prop_assert!(
            r.chars().count() <= 128 + REASON.len(),
            "reason too long: {ctx}"
        );
    }
    Ok(Out {
        rc,
        stdout: o.stdout_text(),
        stderr,
    })
}

/// The caller's timeout when it is a sane number of milliseconds, else the action's declared
/// timeout (what the SDK falls back to), capped so that a hang fails the test quickly.
fn budget(e: &ocf::Entry, c: &Case, action: &str) -> Duration {
    let declared = e
        .meta
        .actions
        .iter()
        .find(|a| a.name == action)
        .map_or(20, |a| u64::from(a.timeout));
    let caller = c
        .framework
        .iter()
        .find(|(k, _)| *k == "OCF_RESKEY_CRM_meta_timeout")
        .and_then(|(_, v)| v.parse::<u64>().ok())
        .filter(|ms| (1..=120_000).contains(ms));
    let ms = caller.unwrap_or(declared * 1000).max(1000);
    Duration::from_millis(ms.min(30_000))
}

fn check(
    e: &ocf::Entry,
    c: &Case,
    run_dir: &str,
    canary: &std::path::Path,
) -> Result<(), TestCaseError> {
    let v = exec(e, c, "validate-all", run_dir, None)?;
    prop_assert!(v.stdout.is_empty(), "validate-all stdout: {}", v.stdout);

    let m = exec(e, c, "monitor", run_dir, c.interval.as_deref())?;
    prop_assert!(m.stdout.is_empty(), "monitor stdout: {}", m.stdout);
    // A probe is Pacemaker's (interval 0); rgmanager has no probes.
    let rgmanager = c.framework.iter().any(|(k, _)| *k == "OCF_ROOT");
    if c.interval.as_deref() == Some("0") && !rgmanager {
        prop_assert!(matches!(m.rc, 0 | 7), "probe rc {}: {}", m.rc, m.stderr);
        if v.rc == 6 {
            prop_assert_eq!(m.rc, 7, "probe of an invalid configuration: {}", m.stderr);
        }
    }
    if v.rc == 6 {
        let s = exec(e, c, "stop", run_dir, None)?;
        prop_assert_eq!(s.rc, 0, "stop of an invalid configuration: {}", s.stderr);
    }

    let odd = exec(e, c, &c.odd_action, run_dir, None)?;
    prop_assert_eq!(
        odd.rc,
        3,
        "undeclared action {:?}: {}",
        c.odd_action,
        odd.stderr
    );

    let md = exec(e, c, "meta-data", run_dir, None)?;
    prop_assert_eq!(md.rc, 0, "meta-data: {}", md.stderr);
    prop_assert!(md.stdout.starts_with("<?xml"), "meta-data is XML");

    prop_assert!(!canary.exists(), "a value was executed");
    Ok(())
}

#[test]
fn generated_configurations_give_defined_answers() {
    let dir = TempDir::new("ocfhard-gen");
    let canary = dir.join("canary");
    let run_dir = dir.join("run");
    std::fs::create_dir_all(&run_dir).expect("run dir");
    let tmp = dir.join("files").display().to_string();
    let canary_s = canary.display().to_string();
    let run_dir_s = run_dir.display().to_string();
    for e in ocfrs_agents::AGENTS {
        let mut runner = TestRunner::new(Config {
            cases: cases(),
            failure_persistence: None,
            // Every step runs processes: keep shrinking bounded on a busy machine.
            max_shrink_iters: 300,
            max_shrink_time: 60_000,
            ..Config::default()
        });
        let strategy = case(e, &tmp, &canary_s);
        let result = runner.run(&strategy, |c| check(e, &c, &run_dir_s, &canary));
        if let Err(err) = result {
            panic!("{}: {err}", e.meta.name);
        }
    }
}
