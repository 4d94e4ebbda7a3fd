//! The machine formats: JSON validates against ocf-tester/schema/report.schema.json, JUnit
//! against ocf-tester/schema/junit.xsd; warnings, failures and the agent's output land where
//! the README says.
use crate::common::*;
use crate::corpus::{json_run, with_verdict};
use std::path::Path;
use std::process::Command;

fn schema(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join(name)
}

/// Validate `json` with Python's jsonschema (Debian's python3-jsonschema).
fn validate_json(json: &str, dir: &TempDir) {
    let doc = dir.join("report.json");
    std::fs::write(&doc, json).unwrap();
    let (rc, o, e) = sh(Command::new("python3").args([
        "-c",
        "import json,sys,jsonschema\n\
         s=json.load(open(sys.argv[1])); jsonschema.Draft7Validator.check_schema(s)\n\
         jsonschema.validate(json.load(open(sys.argv[2])), s)",
        schema("report.schema.json").to_str().unwrap(),
        doc.to_str().unwrap(),
    ]));
    assert_eq!(rc, 0, "JSON report does not validate: {o}{e}\n{json}");
}

fn validate_junit(xml: &str, dir: &TempDir) {
    let doc = dir.join("report.xml");
    std::fs::write(&doc, xml).unwrap();
    let (rc, o, e) = sh(Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(schema("junit.xsd"))
        .arg(&doc));
    assert_eq!(rc, 0, "JUnit report does not validate: {o}{e}\n{xml}");
}

#[test]
fn json_and_junit_validate_against_their_schemas() {
    let d = TempDir::new("schemas");
    // A run with a warning (no exit reason), one with a failure and an abort (hang).
    for (fault, rc_expected, strict) in [
        ("no-reason", 0, false),
        ("no-reason", 1, true),
        ("double-stop", 1, false),
        ("hang-on-stop", 1, false),
    ] {
        let agent = fixture(&d, fault);
        let state = format!("state={}", d.join("f.state").display());
        let _ = std::fs::remove_file(d.join("f.state"));
        let mut args = vec!["-n", "ocftst-f", "-o", &state, agent.to_str().unwrap()];
        if strict {
            args.insert(0, "--strict");
        }
        let mut a = vec!["--format", "json"];
        a.extend_from_slice(&args);
        let (rc, out, err) = ours(None, &a);
        assert_eq!(rc, rc_expected, "{fault}: {out}{err}");
        validate_json(&out, &d);
        let _ = std::fs::remove_file(d.join("f.state"));
        let mut a = vec!["--format", "junit"];
        a.extend_from_slice(&args);
        let (rc, out, err) = ours(None, &a);
        assert_eq!(rc, rc_expected, "{fault}: {out}{err}");
        validate_junit(&out, &d);
        match (fault, strict) {
            ("no-reason", false) => {
                // A warning is a skipped testcase whose message starts with "warning:",
                // with the agent's output of the step.
                assert!(
                    out.contains("<skipped message=\"warning: rc=-: Every failure must print exactly one exit-reason line"),
                    "{out}"
                );
                assert!(
                    out.contains("<property name=\"warnings\" value=\"1\"/>"),
                    "{out}"
                );
                assert!(out.contains("failures=\"0\""), "{out}");
            }
            ("double-stop", _) => {
                let tc = out
                    .lines()
                    .find(|l| l.contains("name=\"24 stop stopped\""))
                    .unwrap_or_else(|| panic!("{out}"));
                assert!(
                    tc.contains("<failure type=\"failure\" message=\"rc=1: Stopping a stopped resource is required to succeed\"")
                        && tc.contains("<system-out>ocf-exit-reason:already stopped"),
                    "{tc}"
                );
            }
            _ => {}
        }
    }
    // JSON: format version, counts consistent with the checks.
    let agent = fixture(&d, "no-reason");
    let state = format!("state={}", d.join("g.state").display());
    let (_, v, _) = json_run(
        None,
        &["-n", "ocftst-g", "-o", &state, agent.to_str().unwrap()],
    );
    assert_eq!(v["format_version"], 1);
    // The agent's output is kept for failures and warnings only.
    for c in v["checks"].as_array().unwrap() {
        if !c["output"].is_null() {
            assert!(c["verdict"] == "fail" || c["verdict"] == "warn", "{c}");
        }
    }
    assert_eq!(v["executor"], "imitation");
    assert_eq!(
        with_verdict(&v, "warn").into_iter().collect::<Vec<_>>(),
        vec!["one exit reason per failure".to_string()]
    );
    let warned = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["verdict"] == "warn")
        .unwrap();
    assert!(warned["details"][0]
        .as_str()
        .unwrap()
        .contains("validate-all returned 6 with 0 exit-reason lines"));
}
