//! `make install` / `make uninstall` into a throwaway root, and what Pacemaker's tools see
//! after a real install.
use crate::common::{agents_bin, sh, TempDir};
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

fn tester_bin() -> PathBuf {
    crate::common::our_tester()
}

fn make(args: &[String]) -> (i32, String, String) {
    let mut c = Command::new("make");
    c.current_dir(repo())
        .arg("--no-print-directory")
        .arg("NO_BUILD=1");
    c.arg(format!("AGENTS_BIN={}", agents_bin().display()));
    c.arg(format!("TESTER_BIN={}", tester_bin().display()));
    c.arg(format!(
        "SWITCH_CHECK_BIN={}",
        env!("CARGO_BIN_EXE_ocfrs-switch-check")
    ));
    c.args(args);
    sh(&mut c)
}

/// Every path below `root` (files, links, directories; symlinks not followed).
pub(crate) fn tree(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p.clone());
            }
            out.insert(p);
        }
    }
    out
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs make (tests/run.sh setup)"
)]
fn install_and_uninstall_exactly() {
    let root = TempDir::new("install");
    let destdir = format!("DESTDIR={}", root.path().display());
    // Something of the admin's that must survive uninstall, and a shell ocf-tester already there.
    let mine = root.join("usr/lib/ocf/resource.d/heartbeat/Other");
    std::fs::create_dir_all(mine.parent().expect("parent")).expect("mkdir");
    std::fs::write(&mine, "#!/bin/sh\n").expect("write");
    let shell_tester = root.join("usr/sbin/ocf-tester");
    std::fs::create_dir_all(shell_tester.parent().expect("parent")).expect("mkdir");
    std::fs::write(&shell_tester, "#!/bin/sh\n").expect("write");
    let before = tree(root.path());

    let (rc, out, err) = make(&["install".into(), destdir.clone(), "PROVIDER=acme".into()]);
    assert_eq!(rc, 0, "{out}{err}");
    for e in ocfrs_agents::AGENTS {
        let p = root.join(format!("usr/lib/ocf/resource.d/acme/{}", e.meta.name));
        let m = std::fs::metadata(&p).unwrap_or_else(|_| panic!("{} not installed", p.display()));
        assert!(m.is_file());
        assert_eq!(m.permissions().mode() & 0o7777, 0o755, "{}", p.display());
        let (rc, xml, _) = sh(Command::new(&p).arg("meta-data").env_clear());
        assert_eq!(rc, 0);
        assert!(xml.contains(&format!("<resource-agent name=\"{}\"", e.meta.name)));
        assert!(root
            .join(format!("usr/share/man/man7/ocf_ocfrs_{}.7", e.meta.name))
            .exists());
    }
    assert!(root.join("usr/sbin/ocfrs-tester").exists());
    assert!(root.join("usr/sbin/ocfrs-switch-check").exists());
    let man = std::fs::read_to_string(root.join("usr/share/man/man8/ocfrs-switch-check.8"))
        .expect("switch-check man page");
    assert!(man.starts_with(".TH OCFRS-SWITCH-CHECK 8"));
    // The tester's man page and completions, generated from its clap definition; no
    // ocf-tester.8 next to someone else's ocf-tester.
    let man =
        std::fs::read_to_string(root.join("usr/share/man/man8/ocfrs-tester.8")).expect("man8");
    assert!(
        man.contains(".TH ocf-tester 8"),
        "{}",
        &man[..man.len().min(200)]
    );
    assert!(!root.join("usr/share/man/man8/ocf-tester.8").exists());
    for f in [
        "usr/share/bash-completion/completions/ocfrs-tester",
        "usr/share/zsh/vendor-completions/_ocfrs-tester",
        "usr/share/fish/vendor_completions.d/ocfrs-tester.fish",
    ] {
        let text = std::fs::read_to_string(root.join(f)).unwrap_or_else(|_| panic!("{f}"));
        assert!(
            text.contains("ocfrs-tester") && text.contains("profile"),
            "{f}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(&shell_tester).expect("read"),
        "#!/bin/sh\n",
        "the shell ocf-tester was replaced"
    );
    // The real binary is outside the provider directory, so it is not listed as an agent.
    let listed: Vec<_> = std::fs::read_dir(root.join("usr/lib/ocf/resource.d/acme"))
        .expect("ls")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(listed.len(), ocfrs_agents::AGENTS.len());

    let (rc, out, err) = make(&[
        "install-rgmanager".into(),
        destdir.clone(),
        "PROVIDER=acme".into(),
    ]);
    assert_eq!(rc, 0, "{out}{err}");
    let rg = root.join("usr/share/cluster/Dummy.sh");
    let (rc, xml, _) = sh(Command::new(&rg).arg("meta-data").env_clear());
    assert_eq!(rc, 0);
    assert!(
        xml.contains("<action name=\"status\""),
        "run from /usr/share/cluster gives the rgmanager flavour:\n{xml}"
    );

    let (rc, out, err) = make(&["uninstall".into(), destdir, "PROVIDER=acme".into()]);
    assert_eq!(rc, 0, "{out}{err}");
    let after = tree(root.path());
    let left: Vec<_> = after
        .difference(&before)
        .filter(|p| p.is_file() || p.is_symlink())
        .collect();
    assert!(left.is_empty(), "uninstall left {left:?}");
    assert!(
        mine.exists() && shell_tester.exists(),
        "uninstall removed files it did not install"
    );
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root and pacemaker-cli-utils"
)]
fn pacemaker_sees_the_provider() {
    // Installs only the provider directory into the real OCF root (under a test-only provider
    // name) and everything else into a temporary directory; uninstalls afterwards.
    let tmp = TempDir::new("pcmk-install");
    let provider = format!("ocfrs-it{}", std::process::id());
    let args: Vec<String> = vec![
        format!("PROVIDER={provider}"),
        format!("LIBEXECDIR={}", tmp.join("lib").display()),
        format!("SBINDIR={}", tmp.join("sbin").display()),
        format!("MANDIR={}", tmp.join("man").display()),
        format!("BASHCOMPDIR={}", tmp.join("bash").display()),
        format!("ZSHCOMPDIR={}", tmp.join("zsh").display()),
        format!("FISHCOMPDIR={}", tmp.join("fish").display()),
    ];
    struct Uninstall(Vec<String>);
    impl Drop for Uninstall {
        fn drop(&mut self) {
            let mut a = vec!["uninstall".to_string()];
            a.extend(self.0.clone());
            make(&a);
        }
    }
    let mut a = vec!["install".to_string()];
    a.extend(args.clone());
    let (rc, out, err) = make(&a);
    let _guard = Uninstall(args);
    assert_eq!(rc, 0, "{out}{err}");
    let (rc, out, err) = sh(Command::new("crm_resource").arg("--list-ocf-providers"));
    assert_eq!(rc, 0, "{err}");
    assert!(
        out.lines().any(|l| l.trim() == provider),
        "{provider} not in:\n{out}"
    );
    let (rc, out, _) = sh(Command::new("crm_resource")
        .arg("--list-agents")
        .arg(format!("ocf:{provider}")));
    assert_eq!(rc, 0);
    assert!(out.lines().any(|l| l.trim() == "Dummy"), "{out}");
    let (rc, xml, err) = sh(Command::new("crm_resource")
        .arg("--show-metadata")
        .arg(format!("ocf:{provider}:Dummy")));
    assert_eq!(rc, 0, "{err}");
    let f = tmp.join("md.xml");
    std::fs::write(&f, &xml).expect("write");
    let rng = repo().join("tests/schemas/ocf-1.1.rng");
    let (rc, _, err) = sh(Command::new("xmllint")
        .arg("--noout")
        .arg("--relaxng")
        .arg(&rng)
        .arg(&f));
    assert_eq!(
        rc, 0,
        "crm_resource --show-metadata output is not valid OCF 1.1:\n{err}\n{xml}"
    );
}
