//! Switching a running resource from `ocf:heartbeat:IPaddr2` to `ocf:ocfrs:IPaddr2` the way
//! `ocfrs-switch-check --commands` prints it: the check runs on a live node (reading the CIB
//! with `cibadmin`, host checks included), then the printed commands are run as printed, and
//! the address keeps running: Pacemaker's probe with our agent finds it started, and nothing
//! stops or starts it.
//!
//! It also reads our agents' log lines back from Pacemaker's own log file, which Pacemaker
//! passes to agents as `HA_LOGFILE`: `Dummy(dlog)[pid]: WARNING: ...`, as `ocf_log` writes.
//!
//! Fencing: relies on `stonith-enabled=false` (no node fails here).
use super::harness::*;
use std::time::{SystemTime, UNIX_EPOCH};

const VIP: &str = "192.0.2.120";

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces"
)]
fn switch_check_then_switch_a_running_address_without_a_restart() {
    let c = Cluster::up(2);
    c.cib_create(
        "resources",
        &primitive(
            "vip",
            "ocf:heartbeat:IPaddr2",
            &[("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0")],
            &[],
            &[("monitor", "3s", "20s", "")],
        ),
    );
    // Configured but stopped: a deprecated name the check must report.
    c.cib_create(
        "resources",
        &primitive(
            "vip-old",
            "ocf:heartbeat:IPaddr2",
            &[("ip", "192.0.2.121"), ("netmask", "24"), ("nic", "eth0")],
            &[("target-role", "Stopped")],
            &[],
        ),
    );
    // Ours, with a parameter it does not know: every action logs a warning.
    c.cib_create(
        "resources",
        &primitive(
            "dlog",
            "ocf:ocfrs:Dummy",
            &[("ocfadm_unknown", "1")],
            &[],
            &[("monitor", "5s", "20s", "")],
        ),
    );
    c.cib_create("constraints", &prefer("vip", "n1", "100"));
    c.cib_create("constraints", &prefer("dlog", "n1", "100"));
    c.wait_running_on("vip", "n1");
    c.wait_idle();

    let bin = env!("CARGO_BIN_EXE_ocfrs-switch-check");
    let o = c.on(1, &[bin, "--host-checks", "--commands", "cibadmin"]);
    let out = o.stdout_text();
    if o.code != Some(1) {
        c.fail(&format!(
            "switch-check: expected exit 1 (vip-old needs changes):\n{out}{}",
            o.stderr_text()
        ));
    }
    let verdict = |id: &str| {
        out.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(id))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(verdict("vip"), "ready", "{out}");
    assert_eq!(verdict("vip-old"), "changes", "{out}");
    let commands: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("# switch"))
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(commands.len(), 5, "{out}");

    let t0 = now();
    for cmd in &commands {
        log(format!("admin runs: {cmd}"));
        c.on_ok(1, &["sh", "-c", cmd]);
    }
    c.wait_idle();
    c.wait_running_on("vip", "n1");

    let xml = c.run(&["cibadmin", "--query", "--xpath", "//primitive[@id='vip']"]);
    assert!(xml.contains("provider=\"ocfrs\""), "{xml}");
    assert!(
        !xml.contains("is-managed"),
        "the resource is managed again: {xml}"
    );
    // The probe after the switch (our agent: the heartbeat one is no longer configured) found
    // the address running on n1, and nothing stopped or started it on any node.
    let probed_running = c
        .calls(1)
        .iter()
        .any(|k| k.t >= t0 && k.rsc == "vip" && k.action == "probe" && k.what == "end 0");
    if !probed_running {
        c.fail("no probe of vip on n1 returned 0 (running) after the switch");
    }
    for i in 1..=c.size() {
        let restarts: Vec<_> = c
            .calls(i)
            .into_iter()
            .filter(|k| k.t >= t0 && k.rsc == "vip" && (k.action == "start" || k.action == "stop"))
            .collect();
        if !restarts.is_empty() {
            c.fail(&format!(
                "vip was stopped or started on {} by the switch: {restarts:?}",
                name(i)
            ));
        }
    }
    assert!(
        addresses_of(1)
            .iter()
            .any(|a| a.starts_with(&format!("{VIP}/"))),
        "{VIP} is gone from n1"
    );
    // The recurring monitor now runs our agent, successfully.
    let t1 = now();
    c.wait_for("a successful monitor of vip by ocfrs", WAIT, |c| {
        Some(
            c.calls(1)
                .iter()
                .any(|k| k.t >= t1 && k.rsc == "vip" && k.action == "monitor" && k.what == "end 0"),
        )
    });
    assert_eq!(c.failcount("vip", "n1"), 0);

    // Our agent's lines in Pacemaker's log, in ocf_log's format.
    c.wait_running_on("dlog", "n1");
    let log = std::fs::read_to_string(c.node_path(1, "/var/log/pacemaker/pacemaker.log"))
        .unwrap_or_default();
    let ours = log.lines().find(|l| {
        l.contains(" Dummy(dlog)[")
            && l.contains("]: WARNING: ignoring unknown parameter ocfadm_unknown")
    });
    if ours.is_none() {
        c.fail("no Dummy(dlog)[pid]: WARNING line in n1's pacemaker.log");
    }
}
