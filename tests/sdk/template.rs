//! The agent-writer's template (templates/http-agent, docs/writing-an-agent.md): built,
//! installed into a throwaway OCF root as the guide says, and passed by Debian's shell
//! ocf-tester and by ours, against a real `python3 -m http.server`.
use crate::common::{agents_bin, our_tester, set_mode, sh, TempDir};
use std::path::PathBuf;
use std::process::Command;

/// The template's binary, built beside ocfrs-agents (`cargo build --workspace --bins`, as
/// tests/run.sh does).
fn template_bin() -> PathBuf {
    let p = agents_bin()
        .parent()
        .expect("target dir")
        .join("HttpServer");
    assert!(
        p.is_file(),
        "{} is missing: cargo build -p ocfrs-template-http (tests/run.sh test builds it)",
        p.display()
    );
    p
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, python3 and resource-agents' ocf-tester (tests/run.sh setup)"
)]
fn template_agent_passes_both_testers_from_a_throwaway_ocf_root() {
    let root = TempDir::new("ocfadm-tpl");
    set_mode(root.path(), 0o755); // the shell tester runs meta-data as nobody
                                  // The guide's install step.
    let agent = root.join("resource.d/ocfrs/HttpServer");
    let (rc, out, err) = sh(Command::new("install")
        .args(["-D", "-m", "0755"])
        .arg(template_bin())
        .arg(&agent));
    assert_eq!(rc, 0, "{out}{err}");
    let www = root.join("www");
    std::fs::create_dir_all(&www).expect("mkdir");
    std::fs::write(www.join("index.html"), "hello\n").expect("write");
    set_mode(&www, 0o755);

    let (rc, out, err) = sh(Command::new("/usr/sbin/ocf-tester")
        .env("OCF_ROOT", "/usr/lib/ocf")
        .args(["-n", "ocfadm-http", "-o"])
        .arg(format!("directory={}", www.display()))
        .args(["-o", "port=18251"])
        .arg(&agent));
    assert_eq!(rc, 0, "Debian's ocf-tester:\n{out}\n{err}");
    assert!(out.contains("passed all tests"), "{out}");

    let (rc, out, err) = sh(Command::new(our_tester())
        .args(["-n", "ocfadm-http", "-o"])
        .arg(format!("directory={}", www.display()))
        .args(["-o", "port=18252"])
        .arg(&agent));
    assert_eq!(rc, 0, "our tester:\n{out}\n{err}");

    // Nothing left running on either port.
    for port in [18251, 18252] {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "a server still listens on {port}"
        );
    }
}
