//! `--params-file`: the agent's parameters from a 0600 file instead of `-o` (secrets stay
//! off the tester's command line). The good fixture needs its `state` parameter: a file the
//! tester did not read would fail the run.
use crate::common::*;

#[test]
fn parameters_come_from_a_private_file_and_an_open_one_is_refused() {
    let d = TempDir::new("pf");
    let agent = fixture(&d, "good");
    let file = d.join("agent.params");
    std::fs::write(
        &file,
        format!(
            "# the fixture's state file\n\nstate={}\n",
            d.join("b.state").display()
        ),
    )
    .unwrap();
    chmod(&file, 0o600);
    let f = file.to_str().unwrap();
    let a = agent.to_str().unwrap();
    let (rc, out, err) = ours(None, &["-n", "ocft-pf", "--params-file", f, a]);
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains("passed all tests"), "{out}");
    // Without it the required parameter is missing: the run fails (the file mattered).
    let (rc, out, _) = ours(None, &["-n", "ocft-pf", a]);
    assert_eq!(rc, 1, "{out}");
    // -o wins over the file's value (a state under a missing directory: start fails).
    let (rc, out, _) = ours(
        None,
        &[
            "-n",
            "ocft-pf",
            "--params-file",
            f,
            "-o",
            "state=/nonexistent/ocft-pf/b.state",
            a,
        ],
    );
    assert_eq!(rc, 1, "{out}");
    // Open to group or others: a usage error naming the mode, before anything runs.
    chmod(&file, 0o640);
    let (rc, out, err) = ours(None, &["-n", "ocft-pf", "--params-file", f, a]);
    assert_eq!(rc, 1, "{out}{err}");
    assert!(
        err.contains("mode 0640") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(!out.contains("Beginning tests"), "{out}");
    // A line without '=' is named by its number, never shown.
    std::fs::write(&file, "state=/tmp/x\nocft-pf-not-shown\n").unwrap();
    chmod(&file, 0o600);
    let (rc, _, err) = ours(None, &["-n", "ocft-pf", "--params-file", f, a]);
    assert_eq!(rc, 1, "{err}");
    assert!(
        err.contains("line 2") && !err.contains("ocft-pf-not-shown"),
        "{err}"
    );
}
