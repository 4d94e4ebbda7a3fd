//! Scenario 2: failover domains (ordered, restricted) and failback policies (automatic,
//! manual, only inside a time window), on three nodes.
//!
//! Fencing: relies on `stonith-enabled=false`: crashed nodes are really dead here (the
//! harness kills every process of the node), which fencing would otherwise guarantee.
//! Quorum: the cases run the last surviving node of three, so each sets
//! `no-quorum-policy=ignore` (without it one node of three stops everything, and a
//! restricted domain would stop for the wrong reason).
use super::harness::*;
use std::time::Duration;

const DUMMY: &str = "ocf:ocfrs:Dummy";

fn dummy(id: &str) -> String {
    primitive(id, DUMMY, &[], &[], &[("monitor", "5s", "10s", "")])
}

/// Crash the node running `rsc` (expected: `from`), wait until it runs on `to`.
fn crash_and_expect(c: &mut Cluster, rsc: &str, from: usize, to: usize) {
    assert_eq!(c.locate(rsc), vec![name(from)], "{}", c.report());
    c.crash(from);
    c.wait_online(&name(from), false);
    c.wait_running_on(rsc, &name(to));
}

/// Boot node `i` and wait until the cluster sees it online and has settled.
fn boot_and_join(c: &mut Cluster, i: usize) {
    c.boot(i);
    c.wait_online(&name(i), true);
    c.wait_idle();
}

/// After a node rejoined: `rsc` stays on `node` (watched for a few seconds, the cluster's
/// view and the agent's own calls agree).
fn stays_on(c: &Cluster, rsc: &str, node: usize, secs: u64) {
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < until {
        assert_eq!(
            c.locate(rsc),
            vec![name(node)],
            "{rsc} moved\n{}",
            c.report()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// An ordered domain n1 > n2 > n3 as location scores: the resource runs on the best
/// available node as nodes fail one by one, and (stickiness 0) fails back in that order.
/// A restricted domain {n1, n2}: never on n3, stopped when neither is left.
#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces"
)]
fn ordered_and_restricted_domains() {
    let mut c = Cluster::up(3);
    c.property("no-quorum-policy", "ignore");

    // Ordered domain with automatic failback.
    c.cib_create("resources", &dummy("svc"));
    for (node, score) in [("n1", "300"), ("n2", "200"), ("n3", "100")] {
        c.cib_create("constraints", &prefer("svc", node, score));
    }
    c.wait_running_on("svc", "n1");
    crash_and_expect(&mut c, "svc", 1, 2);
    crash_and_expect(&mut c, "svc", 2, 3);
    c.boot(2);
    c.wait_online("n2", true);
    c.wait_running_on("svc", "n2"); // n2 is back and better than n3: failback
    c.boot(1);
    c.wait_online("n1", true);
    c.wait_running_on("svc", "n1");
    c.wait_idle();
    assert_eq!(c.count_calls(3, "svc", "stop", 0), 1, "{}", c.report());
    log("ordered domain: n1 -> n2 -> n3, failback n3 -> n2 -> n1");

    // Restricted domain {n1 (preferred), n2}.
    c.reset();
    c.cib_create("resources", &dummy("rsvc"));
    c.cib_create(
        "constraints",
        "<rsc_location id=\"dom-rsvc\" rsc=\"rsvc\">\
           <rule id=\"dom-rsvc-outside\" score=\"-INFINITY\" boolean-op=\"and\">\
             <expression id=\"dom-rsvc-not-n1\" attribute=\"#uname\" operation=\"ne\" value=\"n1\"/>\
             <expression id=\"dom-rsvc-not-n2\" attribute=\"#uname\" operation=\"ne\" value=\"n2\"/>\
           </rule>\
         </rsc_location>",
    );
    c.cib_create("constraints", &prefer("rsvc", "n1", "200"));
    c.wait_running_on("rsvc", "n1");
    crash_and_expect(&mut c, "rsvc", 1, 2);
    c.crash(2);
    c.wait_online("n2", false);
    c.wait_idle();
    stays_on_none(&c, "rsvc", 6);
    let started_on_n3 = c
        .calls(3)
        .iter()
        .filter(|x| x.rsc == "rsvc" && x.action == "start")
        .count();
    assert_eq!(
        started_on_n3,
        0,
        "rsvc was started on n3, outside its domain\n{}",
        c.report()
    );
    assert!(!c.node_path(3, "/run/ocfrs/Dummy/rsvc.state").exists());
    boot_and_join(&mut c, 2);
    c.wait_running_on("rsvc", "n2");
    boot_and_join(&mut c, 1);
    c.wait_running_on("rsvc", "n1");
    log("restricted domain: n1 -> n2 -> stopped (never n3) -> n2 -> n1");
}

fn stays_on_none(c: &Cluster, rsc: &str, secs: u64) {
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < until {
        assert!(c.locate(rsc).is_empty(), "{rsc} runs\n{}", c.report());
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Manual failback: stickiness (200) above the preference (100) keeps the resource where it
/// failed over to; the admin moves it back (`crm_resource --move`, then `--clear`).
#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces"
)]
fn manual_failback_with_stickiness() {
    let mut c = Cluster::up(3);
    c.cib_create(
        "resources",
        &primitive(
            "msvc",
            DUMMY,
            &[],
            &[("resource-stickiness", "200")],
            &[("monitor", "5s", "10s", "")],
        ),
    );
    c.cib_create("constraints", &prefer("msvc", "n1", "100"));
    c.cib_create("constraints", &prefer("msvc", "n2", "50"));
    c.wait_running_on("msvc", "n1");
    crash_and_expect(&mut c, "msvc", 1, 2);
    boot_and_join(&mut c, 1);
    stays_on(&c, "msvc", 2, 6);
    assert_eq!(c.count_calls(1, "msvc", "start", 0), 0, "{}", c.report());
    // The admin's failback.
    c.run(&["crm_resource", "--move", "-r", "msvc", "-N", "n1"]);
    c.wait_running_on("msvc", "n1");
    c.run(&["crm_resource", "--clear", "-r", "msvc"]);
    c.wait_idle();
    stays_on(&c, "msvc", 1, 4);
    log("manual failback: stayed on n2 after n1 returned; moved back by the admin");
}

fn utc(epoch: u64) -> String {
    host_ok(&[
        "date",
        "-u",
        "-d",
        &format!("@{epoch}"),
        "+%Y-%m-%d %H:%M:%SZ",
    ])
    .trim()
    .to_string()
}

/// crm shell configuration (as in docs/scenarios.md): a resource preferring n1 whose
/// stickiness is 0 inside the failback window and INFINITY outside it (two meta attribute
/// sets, the windowed one with a date rule and the higher score).
fn windowed(id: &str, start: &str, end: &str) -> String {
    format!(
        "primitive {id} ocf:ocfrs:Dummy \\\n\
         \tmeta 2: rule date in start=\"{start}\" end=\"{end}\" resource-stickiness=0 \\\n\
         \tmeta 1: resource-stickiness=INFINITY \\\n\
         \top monitor interval=5s timeout=10s\n\
         location loc-{id}-n1 {id} 100: n1\n"
    )
}

/// Failback only inside a time window: with the window including now the resource fails
/// back when its preferred node returns; with the window later today it stays put.
#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces"
)]
fn failback_only_inside_a_time_window() {
    let mut c = Cluster::up(2);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    for (case, start, end, fails_back) in [
        ("inside", now - 3600, now + 3600, true),
        ("outside", now + 3600, now + 7200, false),
    ] {
        let id = format!("w{case}");
        c.crm_configure(&windowed(&id, &utc(start), &utc(end)));
        c.wait_running_on(&id, "n1");
        crash_and_expect(&mut c, &id, 1, 2);
        boot_and_join(&mut c, 1);
        if fails_back {
            c.wait_running_on(&id, "n1");
            c.wait_idle();
            stays_on(&c, &id, 1, 3);
        } else {
            stays_on(&c, &id, 2, 8);
            assert_eq!(c.count_calls(1, &id, "start", 0), 0, "{}", c.report());
        }
        log(format!(
            "window {} .. {} ({case} now): {}",
            utc(start),
            utc(end),
            if fails_back {
                "failed back to n1"
            } else {
                "stayed on n2"
            }
        ));
        c.reset();
    }
}
