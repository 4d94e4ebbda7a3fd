//! `ocfrs-switch-check` on CIB files: a mix of resources written by the cluster harness's
//! helpers and by hand, with refused modes, deprecated names, unknown parameters, unknown
//! depths, rules, and resources it must leave alone.
use crate::cluster::harness::primitive;
use crate::common::{sh, TempDir};
use std::path::PathBuf;
use std::process::Command;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ocfrs-switch-check"))
}

fn cib(resources: &str) -> String {
    format!(
        "<cib><configuration><crm_config/><nodes><node id=\"1\" uname=\"n1\"/>\
         <node id=\"2\" uname=\"n2\"/><node id=\"3\" uname=\"n3\"/></nodes>\
         <resources>{resources}</resources><constraints/></configuration><status/></cib>"
    )
}

fn check(dir: &TempDir, name: &str, xml: &str, extra: &[&str]) -> (i32, String, String) {
    let f = dir.join(name);
    std::fs::write(&f, xml).expect("write cib");
    // This build's agents, not an installed package's (the package test installs and purges
    // one meanwhile).
    sh(Command::new(bin())
        .arg("--cib")
        .arg(&f)
        .arg("--agents")
        .arg(crate::common::agents_bin())
        .args(extra))
}

/// The verdict line of resource `id` and the findings under it.
fn section<'a>(out: &'a str, id: &str) -> (&'a str, Vec<&'a str>) {
    let mut lines = out.lines();
    let head = lines
        .by_ref()
        .find(|l| l.split_whitespace().nth(1) == Some(id))
        .unwrap_or_else(|| panic!("no verdict for {id} in:\n{out}"));
    let findings = lines.take_while(|l| l.starts_with("    - ")).collect();
    (head.split_whitespace().next().unwrap_or(""), findings)
}

#[test]
fn a_mixed_cib_gets_one_verdict_per_switchable_resource() {
    let dir = TempDir::new("ocfadm-switch");
    let hand = r##"
      <primitive id="hb-dummy" class="ocf" provider="heartbeat" type="Dummy">
        <instance_attributes id="hb-dummy-ia"><nvpair id="hd1" name="state" value="/run/x.state"/></instance_attributes>
        <operations><op id="hd-m" name="monitor" interval="10s"/></operations>
      </primitive>
      <primitive id="pm-dummy" class="ocf" provider="pacemaker" type="Dummy"/>
      <primitive id="ours" class="ocf" provider="ocfrs" type="Dummy"/>
      <primitive id="web" class="ocf" provider="heartbeat" type="nginx"/>
      <primitive id="fence1" class="stonith" type="fence_dummy"/>
      <clone id="cip-clone">
        <meta_attributes id="cip-m"><nvpair id="cm1" name="globally-unique" value="true"/>
          <nvpair id="cm2" name="clone-max" value="2"/></meta_attributes>
        <primitive id="cip" class="ocf" provider="heartbeat" type="IPaddr2">
          <instance_attributes id="cip-ia"><nvpair id="ci1" name="ip" value="192.0.2.60"/>
            <nvpair id="ci2" name="clusterip_hash" value="sourceip"/></instance_attributes>
        </primitive>
      </clone>
      <clone id="st-clone"><meta_attributes id="st-m"><nvpair id="sm1" name="promotable" value="true"/></meta_attributes>
        <primitive id="dummy-promoted" class="ocf" provider="heartbeat" type="Dummy"/>
      </clone>
      <primitive id="ruled" class="ocf" provider="heartbeat" type="Dummy">
        <instance_attributes id="ruled-ia"><rule id="r1" score="0"><expression id="e1" attribute="#uname" operation="eq" value="n1"/></rule>
          <nvpair id="rl1" name="fake" value="1"/></instance_attributes>
      </primitive>"##;
    let harness = [
        primitive(
            "vip",
            "ocf:heartbeat:IPaddr2",
            &[
                ("ip", "192.0.2.50"),
                ("cidr_netmask", "24"),
                ("nic", "eth0"),
            ],
            &[("resource-stickiness", "0")],
            &[("monitor", "5s", "20s", "")],
        ),
        primitive(
            "vip-old",
            "ocf:heartbeat:IPaddr2",
            &[("ip", "192.0.2.51"), ("netmask", "24")],
            &[],
            &[],
        ),
        primitive(
            "vip-bad",
            "ocf:heartbeat:IPaddr2",
            &[("ip", "not-an-address")],
            &[],
            &[],
        ),
        primitive(
            "fs",
            "ocf:heartbeat:Filesystem",
            &[
                ("device", "/dev/vdb1"),
                ("directory", "/srv/data"),
                ("fstype", "ext4"),
                ("no_such_option", "yes"),
            ],
            &[],
            &[("monitor", "60s", "40s", "OCF_CHECK_LEVEL=\"30\"")],
        ),
    ]
    .concat();
    let (rc, out, err) = check(
        &dir,
        "mixed.xml",
        &cib(&format!("{hand}{harness}")),
        &["--commands", "pcs"],
    );
    assert_eq!(rc, 1, "not everything is ready: exit 1\n{out}{err}");

    for ready in ["hb-dummy", "vip"] {
        let (v, f) = section(&out, ready);
        assert_eq!((v, f.len()), ("ready", 0), "{ready}:\n{out}");
    }
    // Pacemaker's Dummy keeps its state file elsewhere by default: switched as is, our probe
    // would not find the running instance. Compared with the installed agent's meta-data.
    let pm_installed = std::path::Path::new("/usr/lib/ocf/resource.d/pacemaker/Dummy").exists();
    let (v, f) = section(&out, "pm-dummy");
    if pm_installed {
        assert_eq!(v, "changes", "{out}");
        assert!(
            f.iter().any(|l| l.contains("parameter state is not set")
                && l.contains("set state=")
                && l.contains("Dummy-pm-dummy.state")),
            "{f:?}"
        );
    } else {
        assert_eq!(v, "ready", "{out}");
    }
    let ready = if pm_installed { 2 } else { 3 };
    let (v, f) = section(&out, "vip-old");
    assert_eq!(v, "changes", "{out}");
    assert!(
        f.iter()
            .any(|l| l.contains("netmask is deprecated") && l.contains("cidr_netmask")),
        "{f:?}"
    );
    let (v, f) = section(&out, "fs");
    assert_eq!(v, "changes", "{out}");
    assert!(
        f.iter().any(|l| l.contains("parameter no_such_option")),
        "{f:?}"
    );
    if std::path::Path::new("/usr/lib/ocf/resource.d/heartbeat/Filesystem").exists() {
        // Compared with the installed agent's own meta-data: a typo, not a missing feature.
        assert!(
            f.iter()
                .any(|l| l.contains("neither heartbeat's nor ocfrs's Filesystem knows it")),
            "{f:?}"
        );
    }
    assert!(f.iter().any(|l| l.contains("OCF_CHECK_LEVEL=30")), "{f:?}");
    let (v, f) = section(&out, "ruled");
    assert_eq!(v, "changes", "{out}");
    assert!(f.iter().any(|l| l.contains("has a rule")), "{f:?}");

    let (v, f) = section(&out, "cip");
    assert_eq!(v, "unsupported", "{out}");
    assert!(
        f.iter()
            .any(|l| l.contains("exit 6") && l.contains("cluster-IP mode")),
        "{f:?}"
    );
    let (v, f) = section(&out, "vip-bad");
    assert_eq!(v, "unsupported", "{out}");
    assert!(f.iter().any(|l| l.contains("exit 6")), "{f:?}");
    let (v, f) = section(&out, "dummy-promoted");
    assert_eq!(v, "unsupported", "{out}");
    assert!(f.iter().any(|l| l.contains("no promote action")), "{f:?}");

    // Left alone: other classes, our own provider, types ocfrs does not provide.
    for id in ["ours", "web", "fence1"] {
        assert!(
            !out.lines().any(|l| l.split_whitespace().nth(1) == Some(id)),
            "{id} got a verdict:\n{out}"
        );
    }
    assert!(
        out.contains("no ocfrs agent for: web (ocf:heartbeat:nginx)"),
        "{out}"
    );
    let summary = format!(
        "9 resource(s) checked: {ready} ready, {} with changes, 3 unsupported",
        6 - ready
    );
    assert!(out.contains(&summary), "{out}");
    // The commands switch the ready resources only, without a restart.
    // The commands switch the ready resources, and those whose every change has a fix
    // (applied while unmanaged), never the others.
    let cmds: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("# switch"))
        .skip(1)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let of = |id: &str| -> Vec<&str> {
        let word = format!(" {id} ");
        let attr = format!("\"{id}\"");
        cmds.iter()
            .copied()
            .filter(|c| format!("{c} ").contains(&word) || c.contains(&attr))
            .collect()
    };
    assert_eq!(
        of("hb-dummy"),
        vec![
            "pcs resource unmanage hb-dummy",
            "cibadmin --modify --xml-text '<primitive id=\"hb-dummy\" provider=\"ocfrs\"/>'",
            "pcs resource refresh hb-dummy",
            "pcs resource manage hb-dummy",
        ]
    );
    assert_eq!(
        of("vip-old")[1..3],
        [
            "crm_resource --resource vip-old --set-parameter cidr_netmask --parameter-value 24",
            "crm_resource --resource vip-old --delete-parameter netmask",
        ]
    );
    if pm_installed {
        let pin = of("pm-dummy").into_iter().any(|c| {
            c.starts_with(
                "crm_resource --resource pm-dummy --set-parameter state --parameter-value /",
            ) && c.ends_with("/Dummy-pm-dummy.state")
        });
        assert!(pin, "{cmds:?}");
    }
    for id in ["cip", "vip-bad", "dummy-promoted", "ruled", "fs"] {
        assert!(of(id).is_empty(), "commands for {id}: {cmds:?}");
    }
    let expected = 5 * ready + 7 + if pm_installed { 6 } else { 0 };
    assert_eq!(cmds.len(), expected, "{cmds:?}");
}

#[test]
fn exit_status_says_whether_everything_is_ready() {
    let dir = TempDir::new("ocfadm-switch-rc");
    let only_ready = cib(&primitive(
        "d",
        "ocf:heartbeat:Dummy",
        &[("state", "/run/d.state")],
        &[],
        &[],
    ));
    let (rc, out, err) = check(&dir, "ready.xml", &only_ready, &["--quiet"]);
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.starts_with("ready"), "{out}");
    let (rc, _, err) = check(&dir, "garbage.xml", "<cib><unclosed></cib>", &[]);
    assert_eq!(rc, 2);
    assert!(err.contains("cannot read the configuration"), "{err}");
    let (rc, _, err) = check(&dir, "x.xml", &only_ready, &["--commands", "ansible"]);
    assert_eq!(rc, 2, "{err}");
    // --json: one document with the same verdicts, and the commands for the ready ones.
    let mixed = cib(&[
        primitive(
            "d",
            "ocf:heartbeat:Dummy",
            &[("state", "/run/d.state")],
            &[],
            &[],
        ),
        primitive(
            "v",
            "ocf:heartbeat:IPaddr2",
            &[("ip", "bad \"quoted\"")],
            &[],
            &[],
        ),
    ]
    .concat());
    let (rc, out, err) = check(&dir, "json.xml", &mixed, &["--json", "--commands", "crm"]);
    assert_eq!(rc, 1, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("--json prints JSON");
    assert_eq!(doc["ready"], 1);
    assert_eq!(doc["unsupported"], 1);
    let r = &doc["resources"];
    assert_eq!(r[0]["id"], "d");
    assert_eq!(r[0]["verdict"], "ready");
    assert_eq!(r[0]["commands"][0], "crm resource unmanage d");
    assert_eq!(r[1]["verdict"], "unsupported");
    assert_eq!(r[1]["commands"].as_array().map(Vec::len), Some(0));
    assert!(r[1]["findings"][0]["text"]
        .as_str()
        .is_some_and(|t| t.contains("exit 6")));
    let (rc, out, _) = sh(Command::new(bin()).arg("--man"));
    assert!(rc == 0 && out.starts_with(".TH OCFRS-SWITCH-CHECK 8"));
}
