//! The Debian package: `make deb` from the workspace (debhelper, debian/), installed with dpkg
//! beside resource-agents and pacemaker, seen by Pacemaker, removed and purged without a trace
//! and without touching resource-agents.
use super::install::{repo, tree};
use crate::common::{agents_bin, our_tester, sh, TempDir};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn switch_check_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ocfrs-switch-check"))
}

/// What `make deb` reads: the Makefile, debian/ and the documents the package ships, copied so
/// the build never writes into the checkout.
fn source_copy(dst: &Path) {
    let r = repo();
    for rel in ["Makefile", "README.md", "ocf-tester/README.md"] {
        let to = dst.join(rel);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(r.join(rel), to).expect(rel);
    }
    for dir in ["debian", "docs"] {
        let (rc, out, err) = sh(Command::new("cp")
            .arg("-a")
            .arg(r.join(dir))
            .arg(dst.join(dir)));
        assert_eq!(rc, 0, "cp {dir}: {out}{err}");
    }
}

/// Run dpkg, waiting (bounded) while another package operation holds its lock.
fn dpkg(args: &[&str]) -> (i32, String, String) {
    let start = Instant::now();
    loop {
        let r = sh(Command::new("dpkg").args(args));
        let locked = r.0 != 0 && r.2.contains("lock");
        if !locked || start.elapsed() > Duration::from_secs(300) {
            return r;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// Every path (files, links, directories) under the places a package like ours writes to.
fn snapshot() -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for root in [
        "/usr/lib/ocf",
        "/usr/lib/ocfrs",
        "/usr/sbin",
        "/usr/share/man/man7",
        "/usr/share/man/man8",
        "/usr/share/doc/ocfrs",
        "/usr/share/bash-completion/completions",
        "/usr/share/zsh/vendor-completions",
        "/usr/share/fish/vendor_completions.d",
    ] {
        out.extend(tree(Path::new(root)));
    }
    for e in std::fs::read_dir("/var/lib/dpkg/info")
        .into_iter()
        .flatten()
        .flatten()
    {
        if e.file_name().to_string_lossy().starts_with("ocfrs.") {
            out.insert(e.path());
        }
    }
    out
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, debhelper, resource-agents, pacemaker-cli-utils, crmsh, pcs (tests/run.sh setup)"
)]
fn debian_package_installs_beside_resource_agents_and_purges_clean() {
    assert!(crate::common::is_root(), "dpkg -i needs root");
    let (rc, _, _) = dpkg(&["-s", "ocfrs"]);
    assert_ne!(
        rc, 0,
        "package ocfrs is already installed here: dpkg -P ocfrs first"
    );
    assert!(
        !Path::new("/usr/lib/ocf/resource.d/ocfrs").exists(),
        "/usr/lib/ocf/resource.d/ocfrs exists (make install?): `make uninstall` first"
    );
    let (rc, ra_owner, _) = dpkg(&["-S", "/usr/sbin/ocf-tester"]);
    assert!(
        rc == 0 && ra_owner.starts_with("resource-agents"),
        "resource-agents' ocf-tester must be installed: {ra_owner}"
    );
    let (rc, out, err) = dpkg(&["--verify", "resource-agents"]);
    assert!(
        rc == 0 && out.is_empty(),
        "resource-agents modified before the test: {out}{err}"
    );
    let (_, ra_files, _) = dpkg(&["-L", "resource-agents"]);

    // Build.
    let src = TempDir::new("ocfadm-deb");
    source_copy(src.path());
    let outdir = src.join("out");
    let (rc, out, err) = sh(Command::new("make")
        .current_dir(src.path())
        .arg("--no-print-directory")
        .arg("deb")
        .arg("NO_BUILD=1")
        .arg(format!("AGENTS_BIN={}", agents_bin().display()))
        .arg(format!("TESTER_BIN={}", our_tester().display()))
        .arg(format!("SWITCH_CHECK_BIN={}", switch_check_bin().display()))
        .arg(format!("DEB_DESTDIR={}", outdir.display()))
        // xz of the test's debug binaries costs CI half a minute; gzip -1 a few seconds.
        .arg("DEB_COMPRESS=-Zgzip -z1"));
    assert_eq!(rc, 0, "make deb:\n{out}\n{err}");
    let deb = std::fs::read_dir(&outdir)
        .expect("out dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .expect("a .deb");
    let field = |f: &str| {
        let (rc, out, err) = sh(Command::new("dpkg-deb").arg("-f").arg(&deb).arg(f));
        assert_eq!(rc, 0, "{err}");
        out.trim().to_string()
    };
    assert_eq!(field("Package"), "ocfrs");
    assert_eq!(field("Version"), env!("CARGO_PKG_VERSION"));
    // Depends: only shared libraries the binaries link (dpkg-shlibdeps), nothing run.
    let depends = field("Depends");
    assert!(depends.contains("libc6"), "Depends: {depends}");
    for not in [
        "pacemaker",
        "resource-agents",
        "apache2",
        "mariadb",
        "corosync",
    ] {
        assert!(!depends.contains(not), "Depends names {not}: {depends}");
    }
    // Recommends: the services of the agents that exist, from debian/agent-packages.
    let (rc, expected, err) = sh(Command::new("sh")
        .arg(repo().join("debian/recommends.sh"))
        .arg(agents_bin()));
    assert_eq!(rc, 0, "{err}");
    assert_eq!(field("Recommends"), expected.trim());
    let names: Vec<&str> = ocfrs_agents::AGENTS.iter().map(|e| e.meta.name).collect();
    for (agent, package) in [
        ("apache", "apache2"),
        ("mysql", "mariadb-server"),
        ("sshd", "openssh-server"),
    ] {
        if names.contains(&agent) {
            assert!(field("Recommends").contains(package), "{agent}: {package}");
        }
    }

    // Install beside resource-agents. What of the package's paths exists already (shared
    // directories) must still exist after purge; the rest must be gone.
    let payload = src.join("payload");
    let (rc, _, err) = sh(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&payload));
    assert_eq!(rc, 0, "{err}");
    let paths: Vec<(PathBuf, bool)> = tree(&payload)
        .into_iter()
        .filter_map(|p| {
            p.strip_prefix(&payload)
                .ok()
                .map(|r| Path::new("/").join(r))
        })
        .map(|p| {
            let existed = p.symlink_metadata().is_ok();
            (p, existed)
        })
        .collect();
    let before = snapshot();
    let deb_s = deb.to_string_lossy().into_owned();
    let (rc, out, err) = dpkg(&["-i", &deb_s]);
    let installed = rc == 0;
    // Whatever happens next, purge (a failed assertion must not leave the package behind).
    struct Purge(bool);
    impl Drop for Purge {
        fn drop(&mut self) {
            if self.0 {
                let _ = dpkg(&["--purge", "ocfrs"]);
            }
        }
    }
    let _purge = Purge(true);
    assert!(installed, "dpkg -i:\n{out}\n{err}");
    assert!(
        !err.contains("trying to overwrite"),
        "file conflict on install: {err}"
    );
    let (_, listed, _) = dpkg(&["-L", "ocfrs"]);
    for n in &names {
        assert!(
            listed.contains(&format!("/usr/lib/ocf/resource.d/ocfrs/{n}\n")),
            "{n} not in the package:\n{listed}"
        );
        assert!(
            listed.contains(&format!("/usr/share/man/man7/ocf_ocfrs_{n}.7.gz")),
            "man page of {n}"
        );
    }
    for f in [
        "/usr/lib/ocfrs/ocfrs-agents",
        "/usr/lib/ocfrs/ocfrs-Dummy",
        "/usr/lib/ocfrs/ocfrs-IPaddr2",
        "/usr/sbin/ocfrs-tester",
        "/usr/sbin/ocfrs-switch-check",
        "/usr/sbin/ocfrs-import-rgmanager",
        "/usr/share/man/man8/ocfrs-tester.8.gz",
        "/usr/share/man/man8/ocfrs-switch-check.8.gz",
        "/usr/share/bash-completion/completions/ocfrs-tester",
        "/usr/share/doc/ocfrs/README.md.gz",
        "/usr/share/doc/ocfrs/ocf-tester.md.gz",
        "/usr/share/doc/ocfrs/writing-an-agent.md.gz",
        "/usr/share/doc/ocfrs/copyright",
    ] {
        assert!(listed.contains(&format!("{f}\n")), "{f} not in:\n{listed}");
    }
    assert!(!listed.contains("/usr/sbin/ocf-tester"), "{listed}");
    assert!(
        !listed.contains("installed-files"),
        "make's manifest shipped"
    );
    let (_, owner, _) = dpkg(&["-S", "/usr/sbin/ocf-tester"]);
    assert!(owner.starts_with("resource-agents"), "{owner}");
    // The installed agents are their own binaries (/usr/lib/ocfrs/ocfrs-<Agent>), by hard links.
    let (rc, xml, _) = sh(Command::new("/usr/lib/ocf/resource.d/ocfrs/Dummy")
        .arg("meta-data")
        .env_clear());
    assert!(rc == 0 && xml.contains("<resource-agent name=\"Dummy\""));

    // What Pacemaker sees.
    let (rc, list, err) = sh(Command::new("crm_resource").args(["--list-agents", "ocf:ocfrs"]));
    assert_eq!(rc, 0, "{err}");
    let listed_agents: BTreeSet<&str> = list.lines().map(str::trim).collect();
    assert_eq!(
        listed_agents,
        names.iter().copied().collect::<BTreeSet<_>>(),
        "crm_resource --list-agents ocf:ocfrs"
    );
    for n in &names {
        let (rc, xml, err) = sh(Command::new("crm_resource")
            .arg("--show-metadata")
            .arg(format!("ocf:ocfrs:{n}")));
        assert_eq!(rc, 0, "{n}: {err}");
        assert!(
            xml.contains(&format!("<resource-agent name=\"{n}\"")),
            "{n}"
        );
        assert!(err.trim().is_empty(), "{n}: crm_resource warned: {err}");
    }
    // The cluster shells render every agent, every parameter, without a warning.
    for e in ocfrs_agents::AGENTS {
        let n = e.meta.name;
        let id = format!("ocf:ocfrs:{n}");
        for argv in [
            vec!["crm", "ra", "info", id.as_str()],
            vec!["pcs", "resource", "describe", "--full", id.as_str()],
        ] {
            let (rc, out, err) = sh(Command::new(argv[0]).args(&argv[1..]));
            assert_eq!(rc, 0, "{argv:?}: {out}{err}");
            assert!(err.trim().is_empty(), "{argv:?} warned: {err}");
            assert!(
                out.contains(&id) && out.contains(e.meta.shortdesc.trim()),
                "{argv:?}:\n{out}"
            );
            for p in e.meta.params {
                let word = out
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .any(|w| w == p.name);
                assert!(word, "{argv:?} does not show parameter {}:\n{out}", p.name);
            }
        }
    }
    // The man pages' example configurations are accepted by both shells, as written, with
    // no complaint about the agent or its parameters (on a CIB file: no cluster needed).
    let cibs = TempDir::new("ocfadm-examples");
    for e in ocfrs_agents::AGENTS {
        let n = e.meta.name;
        let (crm, pcs) = ocf::man::example_config(e.meta, "ocfrs");
        for (shell, text) in [("crm", crm), ("pcs", pcs)] {
            let file = cibs.join(format!("{n}-{shell}.xml"));
            let (rc, xml, err) = sh(Command::new("cibadmin").arg("--empty"));
            assert_eq!(rc, 0, "{err}");
            std::fs::write(&file, xml).expect("write cib");
            for (name, value) in [("stonith-enabled", "false"), ("no-quorum-policy", "ignore")] {
                let (rc, _, err) = sh(Command::new("crm_attribute").env("CIB_file", &file).args([
                    "-t",
                    "crm_config",
                    "-n",
                    name,
                    "-v",
                    value,
                ]));
                assert_eq!(rc, 0, "{err}");
            }
            let script = match shell {
                "pcs" => text.replacen("pcs ", &format!("pcs -f {} ", file.display()), 1),
                _ => text.clone(),
            };
            let (rc, out, err) = sh(Command::new("sh")
                .arg("-c")
                .arg(&script)
                .env("CIB_file", &file));
            let said = format!("{out}{err}");
            let id = format!("{}-1", n.to_ascii_lowercase());
            assert!(rc == 0, "{shell} example of {n} failed:\n{text}\n{said}");
            let complaints: Vec<&str> = said
                .lines()
                .filter(|l| l.contains(&id) || l.contains("ocf:ocfrs") || l.contains("parameter"))
                .collect();
            assert!(
                complaints.is_empty(),
                "{shell} on the {n} example:\n{text}\n{said}"
            );
            let cib = std::fs::read_to_string(&file).expect("read cib");
            let ours = [
                format!("id=\"{id}\""),
                format!("type=\"{n}\""),
                "provider=\"ocfrs\"".to_string(),
            ];
            assert!(
                ours.iter().all(|a| cib.contains(a.as_str())),
                "{shell}: {n} example not in the CIB:\n{cib}"
            );
        }
    }
    let (rc, out, err) = sh(Command::new("/usr/sbin/ocfrs-switch-check").arg("--help"));
    assert_eq!(rc, 0, "{out}{err}");

    // Remove, then purge: nothing of ours left, nothing of resource-agents touched.
    let (rc, out, err) = dpkg(&["--remove", "ocfrs"]);
    assert_eq!(rc, 0, "dpkg -r:\n{out}\n{err}");
    assert!(!Path::new("/usr/lib/ocf/resource.d/ocfrs").exists());
    let (rc, out, err) = dpkg(&["--purge", "ocfrs"]);
    assert_eq!(rc, 0, "dpkg -P:\n{out}\n{err}");
    let (rc, _, _) = dpkg(&["-s", "ocfrs"]);
    assert_ne!(rc, 0, "ocfrs still known to dpkg after purge");
    // Judged by path, not by a before/after diff of shared directories, where other
    // packages may come and go meanwhile: every path of the package is gone unless it was
    // there before (shared directories), and what was there before is still there.
    // Shared directories (/usr/share/fish, ...) are dpkg's business: it removes an empty
    // one it listed even if it was there unowned, and other installs on the machine may
    // create one meanwhile. Files, links and our own directories are judged strictly.
    let own_dirs = [
        "/usr/lib/ocf/resource.d/ocfrs",
        "/usr/lib/ocfrs",
        "/usr/share/doc/ocfrs",
    ];
    for (p, existed) in &paths {
        let shared_dir = payload.join(p.strip_prefix("/").unwrap_or(p)).is_dir()
            && !own_dirs.iter().any(|d| p.starts_with(d));
        if shared_dir {
            continue;
        }
        assert_eq!(
            p.symlink_metadata().is_ok(),
            *existed,
            "{}: {} after purge",
            p.display(),
            if *existed { "removed" } else { "left behind" }
        );
    }
    let gone: Vec<_> = ra_files
        .lines()
        .map(Path::new)
        .filter(|p| p.symlink_metadata().is_err())
        .collect();
    assert!(gone.is_empty(), "resource-agents lost {gone:?}");
    let after = snapshot();
    let ours: Vec<_> = after
        .difference(&before)
        // Our names only: other tests install providers such as ocfrs-it<pid> meanwhile.
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            [
                "/usr/lib/ocf/resource.d/ocfrs",
                "/usr/lib/ocfrs",
                "/usr/share/doc/ocfrs",
            ]
            .iter()
            .any(|d| p.starts_with(d))
                || name.starts_with("ocfrs.")
                || name.starts_with("ocf_ocfrs_")
                || ["ocf-tester", "ocfrs-tester", "ocfrs-switch-check"]
                    .iter()
                    .any(|n| name == *n || name.starts_with(&format!("{n}.")))
        })
        .collect();
    assert!(ours.is_empty(), "left behind after purge: {ours:?}");
    let (rc, out, err) = dpkg(&["--verify", "resource-agents"]);
    assert!(
        rc == 0 && out.is_empty(),
        "resource-agents modified: {out}{err}"
    );
}

/// The maintainer scripts' `ocf-tester` compatibility link, in a throwaway root (`DPKG_ROOT`,
/// as `dpkg --root` sets it): made only where the name is free, removed only while it is ours.
#[test]
fn ocf_tester_link_only_where_the_name_is_free() {
    let root = TempDir::new("ocfadm-dpkgroot");
    let sbin = root.join("usr/sbin");
    std::fs::create_dir_all(&sbin).expect("mkdir");
    let script = |name: &str, arg: &str| {
        let (rc, out, err) = sh(Command::new("sh")
            .arg(repo().join("debian").join(name))
            .arg(arg)
            .env("DPKG_ROOT", root.path()));
        assert_eq!(rc, 0, "{name} {arg}: {out}{err}");
    };
    let link = sbin.join("ocf-tester");
    script("ocfrs.postinst", "configure");
    assert_eq!(
        std::fs::read_link(&link).expect("link made"),
        Path::new("ocfrs-tester")
    );
    script("ocfrs.postinst", "configure"); // upgrade: idempotent
    script("ocfrs.postrm", "remove");
    assert!(link.symlink_metadata().is_err(), "link left after remove");
    // Debian's tester is there: never replaced, never removed.
    std::fs::write(&link, "#!/bin/sh\n").expect("write");
    script("ocfrs.postinst", "configure");
    script("ocfrs.postrm", "purge");
    assert_eq!(std::fs::read_to_string(&link).expect("kept"), "#!/bin/sh\n");
}
