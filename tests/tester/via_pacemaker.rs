//! `--via-pacemaker`: the actions run through Pacemaker's own executor (crm_resource on a
//! scratch CIB); the verdicts match the imitation's and the differences are reported.
use crate::common::*;
use crate::corpus::{json_run, with_verdict};

fn via(agent: &str, state: &str) {
    let (rc, v, err) = json_run(
        None,
        &["--via-pacemaker", "-n", "ocftst-vp", "-o", state, agent],
    );
    let ctx = format!("{}\n{err}", serde_json::to_string_pretty(&v).unwrap());
    assert_eq!(rc, 0, "{ctx}");
    assert!(with_verdict(&v, "fail").is_empty(), "{ctx}");
    assert!(
        v["executor"]
            .as_str()
            .unwrap()
            .starts_with("pacemaker (Pacemaker 2."),
        "{ctx}"
    );
    let findings = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "imitation vs Pacemaker's executor")
        .unwrap_or_else(|| panic!("{ctx}"));
    let details: Vec<&str> = findings["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    // crm_resource passes no monitor interval; the imitation does (known difference).
    assert!(
        details.iter().any(
            |d| d.contains("OCF_RESKEY_CRM_meta_interval=0; Pacemaker's crm_resource does not")
        ),
        "{details:?}"
    );
    // The agent ran through crm_resource: Pacemaker set the resource's CRM_meta_id.
    assert!(
        details
            .iter()
            .any(|d| d.contains("Pacemaker sets OCF_RESKEY_CRM_meta_id=ocftst-vp")),
        "{details:?}"
    );
    // The private provider link is gone.
    let left: Vec<_> = std::fs::read_dir("/usr/lib/ocf/resource.d")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("ocf-tester-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root and Pacemaker's crm_resource"
)]
fn via_pacemaker_on_our_dummy_and_debians_dummy() {
    let d = TempDir::new("via");
    let state = format!("state={}", d.join("v.state").display());
    via(&format!("{HEARTBEAT}/Dummy"), &state);
    assert!(!d.join("v.state").exists(), "stopped at the end");
    let ours_dummy = our_dummy(&d);
    via(ours_dummy.to_str().unwrap(), &state);
    // Without root or crm_resource it refuses clearly (usage error, exit 1).
    let (rc, _, err) = ours(
        None,
        &[
            "--via-pacemaker",
            "--profile",
            "legacy",
            "-n",
            "x",
            ours_dummy.to_str().unwrap(),
        ],
    );
    assert_eq!(rc, 1);
    assert!(
        err.contains("--via-pacemaker runs the pacemaker profile only"),
        "{err}"
    );
}
