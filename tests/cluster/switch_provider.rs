//! Switching running resources from resource-agents to ocfrs the way
//! `ocfrs-switch-check --commands` prints it: the check runs on a live node (reading the CIB
//! with `cibadmin`, host checks included), then the printed commands are run as printed:
//! `ocf:heartbeat:IPaddr2` (ready as it is) and `ocf:heartbeat:Dummy` without `state` (whose
//! default state file differs from ours: the commands pin heartbeat's path first). Both keep
//! running: Pacemaker's probe with our agent finds them started, and nothing stops or starts
//! them.
//!
//! It also reads our agents' log lines back from Pacemaker's own log file, which Pacemaker
//! passes to agents as `HA_LOGFILE`: `Dummy(dlog)[pid]: WARNING: ...`, as `ocf_log` writes.
//!
//! Fencing: relies on `stonith-enabled=false` (no node fails here).
use super::harness::*;
use super::policy_common::now;

const VIP: &str = "192.0.2.120";

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces"
)]
fn switch_check_then_switch_a_running_address_without_a_restart() {
    let c = Cluster::up(2);
    c.cib_create(
        "resources",
        &ipaddr2_primitive("vip", "heartbeat", VIP, &[("monitor", "3s", "20s", "")]),
    );
    // Running, and switchable only with a change: our Dummy's default state file differs.
    c.cib_create(
        "resources",
        &primitive(
            "hbd",
            "ocf:heartbeat:Dummy",
            &[],
            &[],
            &[("monitor", "3s", "20s", "")],
        ),
    );
    c.cib_create("constraints", &prefer("hbd", "n1", "100"));
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
    c.wait_running_on("hbd", "n1");
    c.wait_idle();

    let bin = env!("CARGO_BIN_EXE_ocfrs-switch-check");
    let agents = crate::common::agents_bin();
    let agents = agents.to_string_lossy();
    let o = c.on(
        1,
        &[
            bin,
            "--agents",
            &agents,
            "--host-checks",
            "--commands",
            "cibadmin",
        ],
    );
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
    assert_eq!(verdict("hbd"), "changes", "{out}");
    assert_eq!(verdict("vip-old"), "changes", "{out}");
    let commands: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("# switch"))
        .skip(1)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();
    assert!(
        commands.contains(
            &"crm_resource --resource hbd --set-parameter state --parameter-value \
              /run/resource-agents/Dummy-hbd.state"
        ),
        "{out}"
    );

    let t0 = now();
    for cmd in &commands {
        log(format!("admin runs: {cmd}"));
        c.on_ok(1, &["sh", "-c", cmd]);
    }
    c.wait_idle();
    c.wait_running_on("vip", "n1");

    c.wait_running_on("hbd", "n1");
    for rsc in ["vip", "hbd", "vip-old"] {
        let xpath = format!("//primitive[@id='{rsc}']");
        let xml = c.run(&["cibadmin", "--query", "--xpath", &xpath]);
        assert!(xml.contains("provider=\"ocfrs\""), "{xml}");
        assert!(!xml.contains("is-managed"), "{rsc} is managed again: {xml}");
    }
    let old = c.run(&[
        "cibadmin",
        "--query",
        "--xpath",
        "//primitive[@id='vip-old']",
    ]);
    assert!(
        old.contains("name=\"cidr_netmask\"") && !old.contains("name=\"netmask\""),
        "{old}"
    );
    // The probe after the switch (our agent: the heartbeat one is no longer configured) found
    // each running on n1, and nothing stopped or started them on any node.
    for rsc in ["vip", "hbd"] {
        let probed_running = c
            .calls(1)
            .iter()
            .any(|k| k.t >= t0 && k.rsc == rsc && k.action == "probe" && k.what == "end 0");
        if !probed_running {
            c.fail(&format!(
                "no probe of {rsc} on n1 returned 0 (running) after the switch"
            ));
        }
        for i in 1..=c.size() {
            let restarts: Vec<_> = c
                .calls(i)
                .into_iter()
                .filter(|k| {
                    k.t >= t0 && k.rsc == rsc && matches!(k.action.as_str(), "start" | "stop")
                })
                .collect();
            if !restarts.is_empty() {
                c.fail(&format!(
                    "{rsc} was stopped or started on {} by the switch: {restarts:?}",
                    name(i)
                ));
            }
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
