//! Debian's shell `ocf-tester` (package resource-agents) against the example agent.
use crate::common::{agent, shell_tester, TempDir};

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root and resource-agents (tests/run.sh setup)"
)]
fn examples_pass_the_shell_ocf_tester() {
    let dir = TempDir::new("shell-tester");
    let state = format!("state={}", dir.join("d.state").display());
    let path = agent("Dummy").display().to_string();
    let (rc, out, err) = shell_tester(&[
        "-n".into(),
        "it".into(),
        "-o".into(),
        state.clone(),
        path.clone(),
    ]);
    assert_eq!(rc, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("passed all tests"), "{out}");
    assert!(!out.contains("* rc="), "{out}");
    // With the managed process too.
    let (rc, out, err) = shell_tester(&[
        "-n".into(),
        "it2".into(),
        "-o".into(),
        state,
        "-o".into(),
        "daemon=true".into(),
        path.clone(),
    ]);
    assert_eq!(rc, 0, "stdout:\n{out}\nstderr:\n{err}");

    // The promotable example, through the promote/demote steps.
    let st = format!("state={}", dir.join("st.state").display());
    let (rc, out, err) = shell_tester(&[
        "-n".into(),
        "st".into(),
        "-o".into(),
        st,
        agent("Stateful").display().to_string(),
    ]);
    assert_eq!(rc, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        !out.contains("promotable clones"),
        "promote/demote were not exercised:\n{out}"
    );

    // The same tester fails the agent when the configuration is wrong (this test can fail).
    let (rc, out, err) = shell_tester(&[
        "-n".into(),
        "it".into(),
        "-o".into(),
        "state=relative".into(),
        path,
    ]);
    assert_eq!(rc, 1, "{out}{err}");
    assert!(out.contains("Validation failed"), "{out}");
}
