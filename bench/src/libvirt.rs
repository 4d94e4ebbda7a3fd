//! The VirtualDomain pair's fixture: a private libvirt host and one tiny running-capable
//! domain per side.
//!
//! The host is libvirtd (and virtlogd) in PID and mount namespaces of their own, started by a
//! small init (PID 1 there) that mounts a fresh /run and binds the scratch directory's copies
//! of /etc/libvirt, /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt over the
//! machine's: nothing of the machine's libvirt state is touched, and killing the init ends
//! libvirtd, virtlogd and every QEMU with it. libvirtd listens on its UNIX socket only; both
//! agents reach it from the runner's namespaces through
//! `qemu+unix:///system?socket=/proc/<init>/root/run/libvirt/libvirt-sock`, so they run as
//! the cluster runs them, without a wrapper process. QEMU runs in TCG mode (no hardware
//! virtualisation needed); each domain is a 64 MiB disk-less guest whose firmware finds
//! nothing to boot and idles. Domain names: `ocfb-vd-ours`, `ocfb-vd-shell`.
//! Variables: `{config}` (the side's domain XML), `{uri}`.

// The test fixture's host state and domain, shared with tests/common/libvirt.rs (std only).
#[path = "../../tests/common/libvirt_state.rs"]
mod libvirt_state;

use crate::Side;
use anyhow::{bail, Context as _, Result};
use libvirt_state::{domain_xml, host_state};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INIT: &str = r#"
set -u
d=$1
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/libvirt /run/lock
mount --bind "$d/etc" /etc/libvirt
mount --bind "$d/lib" /var/lib/libvirt
mount --bind "$d/cache" /var/cache/libvirt
mount --bind "$d/log" /var/log/libvirt
virtlogd -d -p /run/virtlogd.pid || exit 1
libvirtd -d -p /run/libvirtd.pid || exit 1
while :; do sleep 1 & wait $!; done
"#;

/// Template variables of each side (ours, shell).
pub type SideVars = [Vec<(String, String)>; 2];

/// A running private libvirt host.
pub struct Host {
    unshare: Child,
    init: i32,
}

/// Start the host under `scratch/libvirt` and write both sides' domain XML; the variables of
/// each side.
pub fn setup(scratch: &Path) -> Result<(Host, SideVars)> {
    for tool in [
        "libvirtd",
        "virtlogd",
        "virsh",
        "qemu-system-x86_64",
        "unshare",
    ] {
        if !["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
            .iter()
            .any(|d| Path::new(d).join(tool).exists())
        {
            bail!("{tool} missing (bench/run.sh --virt installs libvirt and QEMU)");
        }
    }
    let d = scratch.join("libvirt");
    let _ = std::fs::remove_dir_all(&d);
    // The machine's cgroups are shared: no cgroup controllers, no security labels; the
    // default NAT network needs dnsmasq and a firewall: never autostarted here.
    host_state(&d, None).context("the libvirt host's state")?;
    std::fs::write(d.join("init.sh"), INIT)?;
    let log = std::fs::File::create(d.join("init.log"))?;
    let unshare = Command::new("unshare")
        .args(["--mount", "--pid", "--fork", "--kill-child", "--mount-proc"])
        .arg("bash")
        .arg(d.join("init.sh"))
        .arg(&d)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("start the libvirt host (unshare)")?;
    let t = Instant::now();
    let init = loop {
        let kids = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", unshare.id()))
            .unwrap_or_default();
        if let Some(p) = kids.split_whitespace().next().and_then(|p| p.parse().ok()) {
            break p;
        }
        if t.elapsed() > Duration::from_secs(10) {
            let mut h = Host { unshare, init: 0 };
            h.teardown();
            bail!("libvirt host: no init after 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut host = Host { unshare, init };
    let uri = host.uri();
    let t = Instant::now();
    loop {
        let ok = Command::new("virsh")
            .args(["-q", "-c", &uri, "version"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            break;
        }
        if t.elapsed() > Duration::from_secs(60) {
            host.teardown();
            let log = std::fs::read_to_string(d.join("init.log")).unwrap_or_default();
            bail!("libvirtd did not answer within 60 s: {}", log.trim());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut vars: SideVars = Default::default();
    for side in [Side::Ours, Side::Shell] {
        let uuid = std::fs::read_to_string("/proc/sys/kernel/random/uuid")?;
        let name = format!("ocfb-vd-{}", side.name());
        let xml: PathBuf = d.join(format!("{name}.xml"));
        std::fs::write(&xml, domain_xml(&name, uuid.trim()))?;
        let v = &mut vars[side.index()];
        v.push(("config".into(), xml.display().to_string()));
        v.push(("uri".into(), uri.clone()));
    }
    Ok((host, vars))
}

impl Host {
    /// The connection URI from the runner's namespaces.
    pub fn uri(&self) -> String {
        format!(
            "qemu+unix:///system?socket=/proc/{}/root/run/libvirt/libvirt-sock",
            self.init
        )
    }

    /// Kill the host's init (which ends everything in its PID namespace) and reap unshare.
    pub fn teardown(&mut self) {
        if self.init > 1 {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe { libc::kill(self.init, libc::SIGKILL) };
        }
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
        let t = Instant::now();
        while self.init > 1
            && Path::new(&format!("/proc/{}", self.init)).exists()
            && t.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.init = 0;
    }
}
