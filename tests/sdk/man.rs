//! Man pages: `metadata/man/` (checked in, like the meta-data) is what the declarations
//! render today, and every page carries an example crm and pcs configuration.
use std::path::Path;

#[test]
fn checked_in_man_pages_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../metadata/man");
    let mut stale = Vec::new();
    for e in ocfrs_agents::AGENTS {
        let name = format!("ocf_ocfrs_{}.7", e.meta.name);
        let page = ocf::man::man_page(e.meta, "ocfrs");
        if std::fs::read_to_string(dir.join(&name)).ok().as_deref() != Some(page.as_str()) {
            stale.push(name);
        }
        let (crm, pcs) = ocf::man::example_config(e.meta, "ocfrs");
        let id = format!("ocf:ocfrs:{}", e.meta.name);
        assert!(
            crm.starts_with("crm configure primitive ") && crm.contains(&id),
            "{crm}"
        );
        assert!(
            pcs.starts_with("pcs resource create ") && pcs.contains(&id),
            "{pcs}"
        );
        assert!(
            page.contains(".SH EXAMPLE CONFIGURATION"),
            "{}",
            e.meta.name
        );
    }
    assert!(
        stale.is_empty(),
        "metadata/man/ is stale for {stale:?}: run `make metadata` and commit"
    );
}
