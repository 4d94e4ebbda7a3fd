//! The benchmark runner works: a `--quick` run on Dummy produces a complete JSON report.
//! This checks the runner, never the figures (performance is measured, not asserted).

use std::path::Path;
use std::process::Command;

#[test]
fn quick_run_on_dummy_writes_valid_json() {
    let bench = Path::new(env!("CARGO_BIN_EXE_ocfrs-bench"));
    let dir = bench.parent().unwrap();
    let agents = dir.join("ocfrs-agents");
    assert!(
        agents.exists(),
        "{} missing: build ocfrs-agents first (cargo test --workspace does)",
        agents.display()
    );
    let json = std::env::temp_dir().join(format!("ocfb-quick-{}.json", std::process::id()));
    let out = Command::new(bench)
        .args(["--quick", "--only", "Dummy", "--runs", "5", "--scale", "50"])
        .args(["--scale-secs", "1", "--tester-runs", "1", "--agents-bin"])
        .arg(&agents)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "ocfrs-bench failed: {stderr}\n{stdout}"
    );
    assert!(
        stdout.contains("| probe (monitor, interval 0, stopped)"),
        "{stdout}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    let pair = &v["pairs"][0];
    assert_eq!(pair["agent"], "Dummy");
    for side in ["ours", "shell_result"] {
        let s = &pair[side];
        assert!(
            s["errors"].as_array().unwrap().is_empty(),
            "{side}: {}",
            s["errors"]
        );
        // Every operation ran the requested number of times with the expected exit code.
        for (op, rc) in [
            ("meta-data", "0"),
            ("validate-all", "0"),
            ("probe", "7"),
            ("monitor", "0"),
        ] {
            assert_eq!(
                s["ops"][op]["rcs"][rc], 5,
                "{side} {op}: {}",
                s["ops"][op]["rcs"]
            );
            assert!(s["ops"][op]["wall_ms"]["median"].as_f64().unwrap() > 0.0);
            assert!(
                s["ops"][op]["cpu_ms"]["mean"].as_f64().unwrap() > 0.0,
                "{side} {op} CPU"
            );
        }
        assert_eq!(
            s["ops"]["start+stop"]["rcs"]["0"], 3,
            "{side}: {}",
            s["ops"]["start+stop"]
        );
        // The counting pass saw the agent's own exec.
        assert!(
            s["counts"]["probe"][0]["execs"].as_u64().unwrap() >= 1,
            "{side}: {}",
            s["counts"]
        );
        let scale = &s["scale"][0];
        assert_eq!(scale["n"], 50);
        assert_eq!(
            scale["calls"], 5,
            "{side}: 50 monitors per 10 s for 1 s: {scale}"
        );
        assert!(scale["cpu_us"].as_u64().unwrap() > 0);
    }
    // The shell Dummy forks (basename at least): the counter counts forks of the tree.
    let shell_forks = pair["shell_result"]["counts"]["monitor"][0]["forks"]
        .as_u64()
        .unwrap();
    assert!(shell_forks >= 1, "shell Dummy monitor forks: {shell_forks}");
    // Tester cases are present (ours is reported as not built while it is a placeholder).
    assert_eq!(v["testers"].as_array().unwrap().len(), 2);
}
