//! The SDK's cargo features: an agent for a daemon builds only what it uses.
use std::path::Path;

/// The netlink crates (`ocf::net`) are optional and enabled only by the `net` feature, which
/// is off by default; the agents crate, whose IPaddr2 needs it, turns it on.
#[test]
fn netlink_is_built_only_with_the_net_feature() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let sdk = std::fs::read_to_string(root.join("ocf-sdk/Cargo.toml")).unwrap();
    let deps: Vec<&str> = sdk
        .lines()
        .filter(|l| l.trim_start().starts_with("netlink-"))
        .collect();
    assert_eq!(deps.len(), 3, "{deps:?}");
    for d in &deps {
        assert!(d.contains("optional = true"), "not optional: {d}");
    }
    let features = sdk.split("[features]").nth(1).unwrap_or("");
    let net = features
        .lines()
        .find(|l| l.trim_start().starts_with("net ="))
        .unwrap_or_else(|| panic!("no net feature:\n{features}"));
    for d in ["netlink-packet-route", "netlink-packet-core", "netlink-sys"] {
        assert!(net.contains(&format!("dep:{d}")), "{net}");
    }
    assert!(
        !features
            .lines()
            .any(|l| l.trim_start().starts_with("default") && l.contains("net")),
        "net must not be a default feature"
    );
    let agents = std::fs::read_to_string(root.join("agents/Cargo.toml")).unwrap();
    assert!(
        agents.lines().any(|l| l.starts_with("ocf-sdk")
            && l.split_once("features = [").is_some_and(|(_, f)| f
                .split(']')
                .next()
                .unwrap_or("")
                .contains("\"net\""))),
        "the agents crate must enable ocf-sdk/net"
    );
}

/// Built with `panic = "abort"`, a panic would be SIGABRT instead of exit 1 with a reason:
/// the SDK refuses to compile (`compile_error!`). Checks the SDK alone (about 10 s).
#[test]
fn panic_abort_builds_are_refused() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = crate::common::TempDir::new("ocfcore-panic-abort");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["check", "--offline", "--quiet", "-p", "ocf-sdk"])
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", target.path())
        .env("RUSTFLAGS", "-C panic=abort")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("ocf-sdk needs panic = \"unwind\""), "{err}");
}
