//! Meta-data of every agent: checked-in files are current, and each flavour validates
//! against the schemas a user's tools apply (xmllint with resource-agents' DTD and RNG, the
//! OCF 1.1 RelaxNG, rgmanager's DTD).
use crate::common::{agent, sh};
use std::path::Path;
use std::process::{Command, Stdio};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
}

#[test]
fn checked_in_metadata_is_current() {
    let mut stale = Vec::new();
    for e in ocfrs_agents::AGENTS {
        for (rel, text) in ocf::man::metadata_files(e.meta) {
            let p = repo().join("metadata").join(&rel);
            if std::fs::read_to_string(&p).ok().as_deref() != Some(text.as_str()) {
                stale.push(rel);
            }
        }
        // What the binary prints by default is the checked-in 1.0 file.
        let (rc, out, _) = sh(Command::new(agent(e.meta.name))
            .arg("meta-data")
            .env_clear());
        assert_eq!(rc, 0);
        assert_eq!(
            out,
            ocf::metadata::render(e.meta, ocf::Flavour::Ocf10),
            "{}",
            e.meta.name
        );
    }
    assert!(
        stale.is_empty(),
        "metadata/ is stale for {stale:?}: run `make metadata` and commit"
    );
}

/// Pipe `agent meta-data` (with extra env) into xmllint with `args`, from `dir`.
fn xmllint(type_name: &str, flavour: Option<&str>, args: &[&str], dir: &Path) -> (bool, String) {
    let mut a = Command::new(agent(type_name));
    a.arg("meta-data").env_clear().stdout(Stdio::piped());
    if let Some(f) = flavour {
        a.env("OCFRS_METADATA_FLAVOUR", f);
    }
    let mut child = a.spawn().expect("run agent");
    let stdout = child.stdout.take().expect("stdout");
    let out = Command::new("xmllint")
        .args(args)
        .arg("-")
        .current_dir(dir)
        .stdin(stdout)
        .output()
        .expect("xmllint installed");
    assert!(child.wait().expect("wait").success());
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs xmllint and resource-agents (tests/run.sh setup)"
)]
fn every_flavour_validates_against_its_schemas() {
    let ra = Path::new("/usr/share/resource-agents");
    let schemas = repo().join("tests/schemas");
    let ocf11 = schemas.join("ocf-1.1.rng");
    let rg = schemas.join("rgmanager.dtd");
    for e in ocfrs_agents::AGENTS {
        let n = e.meta.name;
        let checks: [(Option<&str>, Vec<&str>, &Path); 6] = [
            // The shell ocf-tester's own check: DOCTYPE resolved next to the DTD.
            (None, vec!["--noout", "--valid"], ra),
            (None, vec!["--noout", "--relaxng", "metadata.rng"], ra),
            (
                None,
                vec!["--noout", "--relaxng", ocf11.to_str().expect("utf8")],
                ra,
            ),
            (
                Some("ocf-1.1"),
                vec!["--noout", "--relaxng", ocf11.to_str().expect("utf8")],
                ra,
            ),
            (
                Some("rgmanager"),
                vec!["--noout", "--dtdvalid", rg.to_str().expect("utf8")],
                ra,
            ),
            (
                Some("ocf-1.0"),
                vec!["--noout", "--dtdvalid", "ra-api-1.dtd"],
                ra,
            ),
        ];
        for (flavour, args, dir) in checks {
            let (ok, err) = xmllint(n, flavour, &args, dir);
            assert!(ok, "{n} {flavour:?} fails {args:?}:\n{err}");
        }
    }
}

/// pcs's acceptance schemas (from an installed pcs, or unpacked by `tests/run.sh setup`).
fn pcs_data() -> Option<std::path::PathBuf> {
    [
        "/usr/share/pcs/data",
        "/var/cache/ocfrs-tests/pcs/usr/share/pcs/data",
    ]
    .iter()
    .map(std::path::PathBuf::from)
    .find(|p| p.join("ocf-1.1.rng").exists())
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs xmllint and pcs's schemas (tests/run.sh setup)"
)]
fn pcs_accepts_every_flavour_it_knows() {
    let pcs = pcs_data().expect("pcs schemas missing: run `bash tests/run.sh setup`");
    let ra = Path::new("/usr/share/resource-agents");
    for e in ocfrs_agents::AGENTS {
        for (flavour, rng) in [("ocf-1.0", "ocf-1.0.rng"), ("ocf-1.1", "ocf-1.1.rng")] {
            let rng = pcs.join(rng);
            let (ok, err) = xmllint(
                e.meta.name,
                Some(flavour),
                &["--noout", "--relaxng", rng.to_str().expect("utf8")],
                ra,
            );
            assert!(
                ok,
                "{} {flavour} rejected by pcs's {}:\n{err}",
                e.meta.name,
                rng.display()
            );
        }
    }
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs xmllint (tests/run.sh setup)"
)]
fn the_schemas_reject_what_they_must() {
    // A test that cannot fail is a defect: prove each validator catches a 1.1 feature where
    // it is not allowed.
    let ra = Path::new("/usr/share/resource-agents");
    let dir = crate::common::TempDir::new("schemas");
    let bad = dir.join("bad.xml");
    std::fs::write(&bad, "<?xml version=\"1.0\"?>\n<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">\n<resource-agent name=\"X\"><version>1.0</version><longdesc lang=\"en\">l</longdesc><shortdesc lang=\"en\">s</shortdesc><parameters><parameter name=\"p\" reloadable=\"1\"><longdesc lang=\"en\">l</longdesc><shortdesc lang=\"en\">s</shortdesc><content type=\"select\"/></parameter></parameters><actions><action name=\"reload-agent\" timeout=\"5s\"/></actions></resource-agent>\n").expect("write");
    let b = bad.to_str().expect("utf8");
    let ocf11 = repo().join("tests/schemas/ocf-1.1.rng");
    for args in [
        vec!["--noout", "--valid", b],
        vec!["--noout", "--relaxng", "metadata.rng", b],
        vec!["--noout", "--relaxng", ocf11.to_str().expect("utf8"), b],
    ] {
        let (rc, _, _) = sh(Command::new("xmllint").args(&args).current_dir(ra));
        assert_ne!(rc, 0, "{args:?} accepted invalid meta-data");
    }
}

#[test]
fn metadata_needs_no_environment_and_no_binaries() {
    for e in ocfrs_agents::AGENTS {
        // Empty environment (no PATH, no OCF_ROOT), stdin closed, as rgmanager runs it.
        let (rc, out, err) = sh(Command::new(agent(e.meta.name))
            .arg("meta-data")
            .env_clear()
            .stdin(Stdio::null()));
        assert_eq!(rc, 0, "{}: {err}", e.meta.name);
        assert!(out.starts_with("<?xml"), "{}", e.meta.name);
        assert_eq!(err, "", "{}: meta-data wrote to stderr", e.meta.name);
        let (rc, out, _) = sh(Command::new(agent(e.meta.name))
            .arg("meta-data")
            .env_clear()
            .env("OCF_TESTER_FAIL_HAVE_BINARY", "1")
            .env("PATH", "/nonexistent"));
        assert_eq!(rc, 0);
        assert!(out.contains("</resource-agent>"));
        // Pacemaker 2.1 announces OCF 1.1 and gets the 1.1 flavour.
        let (_, out, _) = sh(Command::new(agent(e.meta.name))
            .arg("meta-data")
            .env_clear()
            .env("OCF_RA_VERSION_MAJOR", "1")
            .env("OCF_RA_VERSION_MINOR", "1"));
        let want = if e.meta.ocf_version == ocf::meta::OcfVersion::V1_1 {
            "<version>1.1</version>"
        } else {
            "<version>1.0</version>"
        };
        assert!(out.contains(want), "{}", e.meta.name);
        // Installed for rgmanager.
        let (_, out, _) = sh(Command::new(agent(e.meta.name))
            .arg("meta-data")
            .env_clear()
            .env("OCF_ROOT", "/usr/share/cluster"));
        assert!(out.contains("<action name=\"status\""), "{}", e.meta.name);
    }
}

#[test]
fn declarations_are_sound() {
    for e in ocfrs_agents::AGENTS {
        ocf::testing::check_declaration(e.meta);
    }
}
