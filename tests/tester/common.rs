//! Fixtures: the binaries, temporary directories (prefix `ocft`), output parsing.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The tester under test.
pub fn tester() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ocf-tester"))
}

/// The ocfrs agents binary `cargo test --workspace` built next to the tester.
pub fn agents_bin() -> PathBuf {
    let p = tester().parent().unwrap().join("ocfrs-agents");
    assert!(
        p.exists(),
        "{} missing: run cargo test --workspace",
        p.display()
    );
    p
}

/// Held by every test that runs apache2 through an agent (the ocft apache comparison and the
/// corpus): Debian's apache agent looks at apache2 processes and the system's run directory
/// beyond its own configuration, so two at once disturb each other.
pub static APACHE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Lock [`APACHE`] even after another test panicked while holding it.
pub fn apache_lock() -> std::sync::MutexGuard<'static, ()> {
    APACHE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The shell tool.
pub const SHELL_TESTER: &str = "/usr/sbin/ocf-tester";
/// Debian's heartbeat agents.
pub const HEARTBEAT: &str = "/usr/lib/ocf/resource.d/heartbeat";

#[path = "../common/shared.rs"]
mod shared;

pub use shared::{sh, TempDir};

/// The prefix of the tester suite's temporary directories ([`TempDir`]).
const TEMP_PREFIX: &str = "ocft";

pub fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Install the fixture agent under `fault` in `dir/prov/` and return its path.
pub fn fixture(dir: &TempDir, fault: &str) -> PathBuf {
    let prov = dir.join("prov");
    std::fs::create_dir_all(&prov).unwrap();
    chmod(&prov, 0o755);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/tester/fixtures/agent.sh");
    let dst = prov.join(fault);
    std::fs::copy(src, &dst).unwrap();
    chmod(&dst, 0o755);
    dst
}

/// Our Dummy as an installed-looking agent in `dir`.
pub fn our_dummy(dir: &TempDir) -> PathBuf {
    let prov = dir.join("resource.d/ocfrs");
    std::fs::create_dir_all(&prov).unwrap();
    for d in [dir.join("resource.d"), prov.clone()] {
        chmod(&d, 0o755);
    }
    let dst = prov.join("Dummy");
    std::fs::copy(agents_bin(), &dst).unwrap();
    chmod(&dst, 0o755);
    dst
}

/// A command, optionally inside network namespace `ns`, run from the temp directory (agents
/// and the shell tool may create files relative to it; never in the source tree).
pub fn cmd_in(ns: Option<&str>, prog: &Path) -> Command {
    let mut c = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(prog);
            c
        }
        None => Command::new(prog),
    };
    c.current_dir(std::env::temp_dir());
    c
}

/// Run our tester.
pub fn ours(ns: Option<&str>, args: &[&str]) -> (i32, String, String) {
    sh(cmd_in(ns, &tester())
        .env("OCF_ROOT", "/usr/lib/ocf")
        .args(args))
}

/// Run the shell tool.
pub fn shell(ns: Option<&str>, args: &[&str]) -> (i32, String, String) {
    sh(cmd_in(ns, Path::new(SHELL_TESTER))
        .env("OCF_ROOT", "/usr/lib/ocf")
        .args(args))
}

/// The `* rc=N: message` lines, normalised: xmllint's own code on the meta-data line is
/// replaced by `x` (we do not run xmllint), trailing whitespace trimmed.
pub fn rc_lines(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with("* rc=") || l.starts_with("* Your agent partially"))
        .map(|l| {
            let l = l.trim_end();
            if l.contains("does not conform to ra-api-1.dtd") {
                "* rc=x: Your agent produces meta-data which does not conform to ra-api-1.dtd"
                    .into()
            } else {
                l.to_string()
            }
        })
        .collect()
}

/// Run both testers in the legacy profile and require the same verdict, step for step.
pub fn same_verdict(ns: Option<&str>, args: &[&str]) -> (String, String) {
    let mut ours_args = vec!["--profile", "legacy"];
    ours_args.extend_from_slice(args);
    let (src, sout, serr) = shell(ns, args);
    let (orc, oout, oerr) = ours(ns, &ours_args);
    let ctx = format!(
        "shell ocf-tester (rc {src}):\n{sout}\n{serr}\n---- ours (rc {orc}):\n{oout}\n{oerr}"
    );
    assert_eq!(rc_lines(&sout), rc_lines(&oout), "{ctx}");
    assert_eq!(src, orc, "{ctx}");
    for marker in ["passed all tests", "Aborting tests"] {
        assert_eq!(
            sout.contains(marker),
            oout.contains(marker),
            "{marker}: {ctx}"
        );
    }
    assert_eq!(
        serr.contains("Tests failed:"),
        oerr.contains("Tests failed:"),
        "{ctx}"
    );
    if let Some(l) = serr.lines().find(|l| l.starts_with("Tests failed:")) {
        assert!(oerr.contains(l), "{ctx}");
    }
    (oout, oerr)
}

pub fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// A network namespace `ocft-<tag>-<pid>` with `lo` up and a veth pair whose inner end is
/// called eth0 and carries 192.168.144.1/24; removed on drop (the veth goes with it).
pub struct NetNs {
    pub name: String,
}

impl NetNs {
    pub fn new(tag: &str) -> NetNs {
        let name = format!("ocft-{tag}-{}", std::process::id());
        let outer = format!(
            "ocft{}{}",
            &tag[..tag.len().min(3)],
            std::process::id() % 100_000
        );
        let run = |args: &[&str]| {
            let (rc, o, e) = sh(Command::new("ip").args(args));
            assert_eq!(rc, 0, "ip {args:?}: {o}{e}");
        };
        let _ = sh(Command::new("ip").args(["netns", "del", &name]));
        run(&["netns", "add", &name]);
        let ns = NetNs { name: name.clone() };
        run(&[
            "link",
            "add",
            &outer,
            "type",
            "veth",
            "peer",
            "name",
            "ocftpeer0",
            "netns",
            &name,
        ]);
        run(&["-n", &name, "link", "set", "ocftpeer0", "name", "eth0"]);
        run(&["-n", &name, "link", "set", "lo", "up"]);
        run(&["-n", &name, "link", "set", "eth0", "up"]);
        run(&["link", "set", &outer, "up"]);
        ns
    }
}

impl NetNs {
    /// A namespace whose eth0 has 192.168.144.1/24: the network the IPaddr2 instance of
    /// [`ipaddr2_args`] joins.
    pub fn for_ipaddr2(tag: &str) -> NetNs {
        let ns = NetNs::new(tag);
        let (rc, _, e) = sh(Command::new("ip").args([
            "-n",
            &ns.name,
            "addr",
            "add",
            "192.168.144.1/24",
            "dev",
            "eth0",
        ]));
        assert_eq!(rc, 0, "{e}");
        ns
    }
}

/// A tester's arguments for the IPaddr2 `agent` as instance `name`: 192.168.144.2/24 on
/// eth0 (in a [`NetNs::for_ipaddr2`]).
pub fn ipaddr2_args<'a>(name: &'a str, agent: &'a str) -> [&'a str; 9] {
    [
        "-n",
        name,
        "-o",
        "ip=192.168.144.2",
        "-o",
        "cidr_netmask=24",
        "-o",
        "nic=eth0",
        agent,
    ]
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = sh(Command::new("ip").args(["netns", "del", &self.name]));
    }
}

/// A loop device over a 32 MiB ext4 image in `dir`; detached (and unmounted) on drop.
pub struct Loop {
    pub dev: String,
    pub mnt: PathBuf,
}

impl Loop {
    pub fn new(dir: &TempDir) -> Loop {
        let img = dir.join("ocft-fs.img");
        let f = std::fs::File::create(&img).unwrap();
        f.set_len(32 << 20).unwrap();
        let (rc, dev, e) = sh(Command::new("losetup").args(["-f", "--show"]).arg(&img));
        assert_eq!(rc, 0, "losetup: {e}");
        let dev = dev.trim().to_string();
        let l = Loop {
            dev: dev.clone(),
            mnt: dir.join("mnt"),
        };
        let (rc, _, e) = sh(Command::new("mkfs.ext4").args(["-q", "-F", &dev]));
        assert_eq!(rc, 0, "mkfs: {e}");
        std::fs::create_dir_all(&l.mnt).unwrap();
        l
    }
}

impl Loop {
    /// A tester's `-o` values for a Filesystem instance on this device and mount point:
    /// `device=...` and `directory=...` (see [`filesystem_args`]).
    pub fn params(&self) -> (String, String) {
        (
            format!("device={}", self.dev),
            format!("directory={}", self.mnt.display()),
        )
    }
}

/// A tester's arguments for the Filesystem `agent` as instance `name`: ext4 with the
/// `device=` and `directory=` values of [`Loop::params`].
pub fn filesystem_args<'a>(
    name: &'a str,
    (dev, dir): &'a (String, String),
    agent: &'a str,
) -> [&'a str; 9] {
    ["-n", name, "-o", dev, "-o", dir, "-o", "fstype=ext4", agent]
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = sh(Command::new("umount").arg(&self.mnt));
        let _ = sh(Command::new("losetup").args(["-d", &self.dev]));
    }
}
