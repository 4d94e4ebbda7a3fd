//! What a private libvirt host is made of, shared by the VirtualDomain test fixture
//! (tests/common/libvirt.rs) and the benchmark's (bench/src/libvirt.rs includes this file with
//! `#[path]`): the tiny test domain and the host's own copy of libvirt's state. Standard
//! library only, so that the benchmark depends on nothing else of the test crate.
use std::io;
use std::path::Path;
use std::process::Command;

/// A domain XML: `name`, `uuid`, 64 MiB, one vCPU, no disk, TCG (SeaBIOS finds nothing to
/// boot and idles).
pub fn domain_xml(name: &str, uuid: &str) -> String {
    format!(
        "<domain type='qemu'>\n  <name>{name}</name>\n  <uuid>{uuid}</uuid>\n  \
         <memory unit='MiB'>64</memory>\n  <vcpu>1</vcpu>\n  \
         <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>\n  \
         <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n  \
         <on_crash>destroy</on_crash>\n  <devices>\n    \
         <emulator>/usr/bin/qemu-system-x86_64</emulator>\n    \
         <serial type='pty'/>\n    <console type='pty'/>\n    \
         <memballoon model='none'/>\n  </devices>\n</domain>\n"
    )
}

/// `cp -a from to`.
fn copy_dir(from: &str, to: &Path) -> io::Result<()> {
    let out = Command::new("cp").args(["-a", from]).arg(to).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "cp -a {from} {}: {}",
            to.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Prepare the private state of one libvirt host in `d` (a host's init binds it over the
/// machine's paths): `etc` (a copy of /etc/libvirt; for QEMU no cgroup controllers, no
/// security driver, as the hosts share the machine's cgroups and the incoming and outgoing
/// QEMU of a migration would collide on labels), `lib` (a copy of /var/lib/libvirt),
/// `cache`, `log/qemu`. The default NAT network is never autostarted (it needs dnsmasq and a
/// firewall). With `listen_addr`, libvirtd also listens on TCP there without auth, with a
/// host UUID of its own and a log file (`/var/log/libvirt/libvirtd.log`); without, on its
/// UNIX socket only.
pub fn host_state(d: &Path, listen_addr: Option<&str>) -> io::Result<()> {
    for sub in ["cache", "log/qemu"] {
        std::fs::create_dir_all(d.join(sub))?;
    }
    copy_dir("/etc/libvirt", &d.join("etc"))?;
    copy_dir("/var/lib/libvirt", &d.join("lib"))?;
    std::fs::create_dir_all(d.join("lib/qemu"))?;
    if let Some(listen_addr) = listen_addr {
        let uuid = std::fs::read_to_string("/proc/sys/kernel/random/uuid")?;
        let mut conf = std::fs::read_to_string(d.join("etc/libvirtd.conf")).unwrap_or_default();
        conf.push_str(&format!(
            "\n# ocfrs private libvirt host\nlisten_tls = 0\nlisten_tcp = 1\n\
             listen_addr = \"{listen_addr}\"\nauth_tcp = \"none\"\nhost_uuid = \"{}\"\n\
             log_outputs = \"3:file:/var/log/libvirt/libvirtd.log\"\n",
            uuid.trim()
        ));
        std::fs::write(d.join("etc/libvirtd.conf"), conf)?;
    }
    let mut qconf = std::fs::read_to_string(d.join("etc/qemu.conf")).unwrap_or_default();
    qconf.push_str(
        "\n# ocfrs private libvirt host\ncgroup_controllers = [ ]\nsecurity_driver = \"none\"\n\
         remember_owner = 0\n",
    );
    std::fs::write(d.join("etc/qemu.conf"), qconf)?;
    if let Ok(rd) = std::fs::read_dir(d.join("etc/qemu/networks/autostart")) {
        for e in rd.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    Ok(())
}
