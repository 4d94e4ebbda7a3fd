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

/// One binary per agent (what `make install` ships, `agents/src/bin/ocfrs-<Agent>.rs`): each
/// exists for every agent the multicall binary lists, answers as that agent whatever its file
/// name (the same meta-data as `ocfrs-agents <Agent> meta-data`), links only libc and the
/// unwinder, and a Dummy probe through its own binary is a probe (7).
#[test]
fn one_binary_per_agent_answers_as_the_multicall_binary() {
    for e in ocfrs_agents::AGENTS {
        let n = e.meta.name;
        let own = agents_bin().with_file_name(format!("ocfrs-{n}"));
        assert!(
            own.is_file(),
            "{} is missing: every agent of AGENTS needs agents/src/bin/ocfrs-{n}.rs",
            own.display()
        );
        let (rc, mine, err) = sh(Command::new(&own).arg("meta-data").env_clear());
        assert_eq!(rc, 0, "{n}: {err}");
        let (rc, multi, err) = sh(Command::new(agents_bin())
            .args([n, "meta-data"])
            .env_clear());
        assert_eq!(rc, 0, "{n}: {err}");
        assert_eq!(
            mine, multi,
            "{n}: its own binary and the multicall binary disagree"
        );
        let (rc, out, err) = sh(Command::new("ldd").arg(&own));
        assert_eq!(rc, 0, "{err}");
        for line in out.lines().map(str::trim).filter(|l| !l.is_empty()) {
            assert!(
                [
                    "linux-vdso.so",
                    "libc.so",
                    "libgcc_s.so",
                    "ld-linux",
                    "libm.so"
                ]
                .iter()
                .any(|a| line.contains(a)),
                "{n}: unexpected dynamic dependency: {line}"
            );
        }
    }
    let dir = crate::common::TempDir::new("per-agent");
    let (rc, out, err) = sh(Command::new(agents_bin().with_file_name("ocfrs-Dummy"))
        .arg("monitor")
        .env_clear()
        .env("OCF_ROOT", "/usr/lib/ocf")
        .env("OCF_RESOURCE_INSTANCE", "per-agent")
        .env("OCF_RESKEY_state", dir.join("dummy.state"))
        .env("OCF_RESKEY_CRM_meta_interval", "0"));
    assert_eq!(rc, 7, "{out}{err}");
}
