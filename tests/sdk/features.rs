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
        agents
            .lines()
            .any(|l| l.starts_with("ocf-sdk") && l.contains("features = [\"net\"]")),
        "the agents crate must enable ocf-sdk/net"
    );
}
