//! The multicall binary: exact dispatch by file name, and the start-up cost every agent pays
//! (the binary links only libc and the unwinder, so no agent pays for another's library).
use crate::common::{agent, agents_bin, sh};
use std::process::Command;

#[test]
fn links_only_libc() {
    let (rc, out, err) = sh(Command::new("ldd").arg(agents_bin()));
    assert_eq!(rc, 0, "{err}");
    let allowed = [
        "linux-vdso.so",
        "libc.so",
        "libgcc_s.so",
        "ld-linux",
        "libm.so",
    ];
    for line in out.lines().map(str::trim).filter(|l| !l.is_empty()) {
        assert!(
            allowed.iter().any(|a| line.contains(a)),
            "unexpected dynamic dependency: {line}\n{out}"
        );
    }
}

#[test]
fn file_name_picks_the_agent_exactly() {
    let (rc, list, _) = sh(Command::new(agents_bin()).arg("--list"));
    assert_eq!(rc, 0);
    let names: Vec<&str> = list.lines().collect();
    for n in &names {
        let (rc, xml, _) = sh(Command::new(agent(n)).arg("meta-data").env_clear());
        assert_eq!(rc, 0);
        assert!(
            xml.contains(&format!("<resource-agent name=\"{n}\"")),
            "{n}"
        );
    }
    // Called by its own name, the first argument names the agent.
    let (rc, xml, _) = sh(Command::new(agents_bin()).args(["Dummy", "meta-data"]));
    assert_eq!(rc, 0);
    assert!(xml.contains("<resource-agent name=\"Dummy\""));
    // A prefix or an unknown name is not an agent: exit 3 with a message, nothing on stdout.
    let (rc, out, err) = sh(Command::new(agents_bin()).args(["Dumm", "monitor"]));
    assert_eq!((rc, out.as_str()), (3, ""), "{err}");
    assert!(err.contains("unknown agent Dumm"), "{err}");
}
