//! Two libvirt "hosts" on this machine, for the VirtualDomain tests.
//!
//! Each host is a network namespace (`ocfrs-vdA`, `ocfrs-vdB`, linked by a veth pair on
//! 198.51.100.0/24, which no route leaves) plus private mount, UTS and PID namespaces. Its
//! init (a small shell loop, PID 1 of the host) mounts a fresh /run, binds the host's own
//! copies of /etc/libvirt, /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt and
//! /etc/hosts over the machine's, and starts virtlogd and libvirtd (listening on TCP without
//! auth, inside the namespace only). QEMU runs in TCG mode; a domain is a 64 MiB disk-less
//! guest whose SeaBIOS finds nothing to boot and idles (it ignores ACPI shutdown, which is
//! what makes a graceful stop escalate).
//!
//! The agent runs inside a host like under that host's pacemaker-execd: [`Host::wrapper`]
//! is an executable named `VirtualDomain` that `nsenter`s the host and execs the agent.
//!
//! Clean-up is by PID: dropping the pair kills each host's init, which takes everything in
//! its PID namespace along (libvirtd, virtlogd, qemu), then deletes the namespaces (and the
//! veth pair) and the state directory.
use super::{agent, set_mode, TempDir};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The host's init: runs as PID 1 of the host's PID namespace. Arguments: host name,
/// state directory of the host, file of the shared /etc/hosts.
const HOST_INIT: &str = r#"
set -u
name=$1 d=$2 hosts=$3
hostname "$name"
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/libvirt /run/lock /run/resource-agents
mount --bind "$d/etc" /etc/libvirt
mount --bind "$d/lib" /var/lib/libvirt
mount --bind "$d/cache" /var/cache/libvirt
mount --bind "$d/log" /var/log/libvirt
mount --bind "$hosts" /etc/hosts
ip link set lo up
virtlogd -d -p /run/virtlogd.pid || exit 1
libvirtd -d -l -p /run/libvirtd.pid || exit 1
while :; do sleep 1 & wait $!; done
"#;

/// One libvirt host.
#[derive(Debug)]
pub struct Host {
    /// `A` or `B`.
    pub tag: &'static str,
    /// Its host name (also its name in every host's /etc/hosts).
    pub name: String,
    /// Its address on the veth link.
    pub ip: String,
    /// The network namespace.
    pub netns: String,
    /// PID (in the machine's namespace) of the host's init.
    pub init: i32,
    unshare: std::process::Child,
    /// Directory holding the wrapper that runs the agent inside the host.
    wrap_dir: PathBuf,
}

/// The pair of hosts and the domain XML.
#[derive(Debug)]
pub struct LibvirtPair {
    /// Host A, then B.
    pub hosts: [Host; 2],
    /// State directory (host copies of libvirt's files, the domain XML).
    pub dir: TempDir,
    /// The test domain's XML (64 MiB, no disk, TCG), with a UUID.
    pub domain_xml: PathBuf,
    /// The test domain's name.
    pub domain: String,
    /// Its UUID.
    pub uuid: String,
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub use super::libvirt_state::domain_xml;

impl Host {
    /// Run `args` inside the host (all its namespaces); (code, stdout, stderr).
    pub fn exec(&self, args: &[&str]) -> (i32, String, String) {
        super::sh(
            Command::new("nsenter")
                .args(["-t", &self.init.to_string(), "-m", "-u", "-n", "-p", "--"])
                .args(args),
        )
    }

    /// `virsh -q -c qemu:///system ARGS` inside the host, bounded by `timeout 20`.
    pub fn virsh(&self, args: &[&str]) -> (i32, String, String) {
        let mut a = vec!["timeout", "20", "virsh", "-q", "-c", "qemu:///system"];
        a.extend_from_slice(args);
        self.exec(&a)
    }

    /// The domain's state per this host's libvirt ("" when unknown here).
    pub fn domstate(&self, dom: &str) -> String {
        let (rc, out, _) = self.virsh(&["domstate", dom]);
        if rc == 0 {
            out.trim().to_string()
        } else {
            String::new()
        }
    }

    /// The executable that runs the VirtualDomain agent inside this host.
    pub fn wrapper(&self) -> PathBuf {
        self.wrap_dir.join("VirtualDomain")
    }

    /// libvirtd's PID as seen from the machine (its PID namespace's view is 1 level down).
    pub fn libvirtd_pid(&self) -> i32 {
        let (_, out, _) = self.exec(&["cat", "/run/libvirtd.pid"]);
        let inner: i32 = out.trim().parse().expect("libvirtd pid");
        // Find the machine-level PID whose NSpid ends with the inner one, in our namespace.
        let ns = std::fs::read_link(format!("/proc/{}/ns/pid", self.init)).unwrap();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if std::fs::read_link(format!("/proc/{pid}/ns/pid"))
                .ok()
                .as_ref()
                != Some(&ns)
            {
                continue;
            }
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let nspid = status.lines().find_map(|l| l.strip_prefix("NSpid:"));
            if nspid.and_then(|v| v.split_whitespace().last()) == Some(&inner.to_string()) {
                return pid;
            }
        }
        panic!("libvirtd of host {} not found", self.name);
    }

    /// Freeze (SIGSTOP) or thaw (SIGCONT) this host's libvirtd.
    pub fn freeze_libvirtd(&self, frozen: bool) {
        let sig = if frozen {
            nix::sys::signal::Signal::SIGSTOP
        } else {
            nix::sys::signal::Signal::SIGCONT
        };
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.libvirtd_pid()), sig).unwrap();
    }

    /// Machine-level PIDs of the QEMU processes in this host.
    pub fn qemu_pids(&self) -> Vec<i32> {
        let ns = std::fs::read_link(format!("/proc/{}/ns/pid", self.init)).unwrap();
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
            .filter(|pid| {
                std::fs::read_link(format!("/proc/{pid}/ns/pid"))
                    .ok()
                    .as_ref()
                    == Some(&ns)
                    && std::fs::read(format!("/proc/{pid}/cmdline"))
                        .is_ok_and(|c| c.starts_with(b"/usr/bin/qemu-system"))
            })
            .collect()
    }

    fn answering(&self) -> bool {
        self.virsh(&["version"]).0 == 0
    }
}

impl LibvirtPair {
    /// Bring both hosts up (a few seconds); panics with the hosts' logs when they do not come
    /// up.
    pub fn up() -> LibvirtPair {
        for c in [
            "virsh",
            "libvirtd",
            "virtlogd",
            "qemu-system-x86_64",
            "nsenter",
        ] {
            assert!(
                ocf::process::which(c).is_some(),
                "{c} missing: install libvirt-daemon-system libvirt-clients qemu-system-x86 \
                 (tests/run.sh does)"
            );
        }
        let dir = TempDir::new("ocfrs-vd");
        let net = "198.51.100";
        std::fs::write(
            dir.join("hosts"),
            format!("127.0.0.1 localhost\n{net}.1 ocfrs-vdA\n{net}.2 ocfrs-vdB\n"),
        )
        .unwrap();
        for ns in ["ocfrs-vdA", "ocfrs-vdB"] {
            // A namespace left by a killed earlier run: its processes died with their init.
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
            run_ok(Command::new("ip").args(["netns", "add", ns]));
        }
        run_ok(Command::new("ip").args([
            "link",
            "add",
            "eth0",
            "netns",
            "ocfrs-vdA",
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            "ocfrs-vdB",
        ]));
        std::fs::write(dir.join("init.sh"), HOST_INIT).unwrap();
        let mut hosts = Vec::new();
        for (tag, n) in [("A", 1), ("B", 2)] {
            let name = format!("ocfrs-vd{tag}");
            let ip = format!("{net}.{n}");
            run_ok(Command::new("ip").args([
                "-n",
                &name,
                "addr",
                "add",
                &format!("{ip}/24"),
                "dev",
                "eth0",
            ]));
            run_ok(Command::new("ip").args(["-n", &name, "link", "set", "eth0", "up"]));
            let d = dir.join(tag);
            std::fs::create_dir_all(d.join("wrap")).unwrap();
            host_state(&d, &ip);
            let log = std::fs::File::create(d.join("init.log")).unwrap();
            let unshare = Command::new("ip")
                .args([
                    "netns", "exec", &name, "unshare", "--mount", "--uts", "--pid", "--fork",
                ])
                .args(["--kill-child", "--mount-proc", "bash"])
                .arg(dir.join("init.sh"))
                .arg(&name)
                .arg(&d)
                .arg(dir.join("hosts"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start host");
            hosts.push((tag, name, ip, unshare, d));
        }
        let mut out = Vec::new();
        for (tag, name, ip, unshare, d) in hosts {
            // The init is unshare's only child.
            let t = Instant::now();
            let init = loop {
                let kids =
                    std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", unshare.id()))
                        .unwrap_or_default();
                if let Some(p) = kids.split_whitespace().next() {
                    break p.parse::<i32>().unwrap();
                }
                assert!(
                    t.elapsed() < Duration::from_secs(10),
                    "host {name}: no init"
                );
                std::thread::sleep(Duration::from_millis(20));
            };
            let wrap_dir = d.join("wrap");
            let w = wrap_dir.join("VirtualDomain");
            std::fs::write(
                &w,
                format!(
                    "#!/bin/sh\nexec nsenter -t {init} -m -u -n -p -- {} \"$@\"\n",
                    agent("VirtualDomain").display()
                ),
            )
            .unwrap();
            set_mode(&w, 0o755);
            out.push(Host {
                tag,
                name,
                ip,
                netns: format!("ocfrs-vd{tag}"),
                init,
                unshare,
                wrap_dir,
            });
        }
        let [a, b]: [Host; 2] = out.try_into().unwrap();
        let uuid = std::fs::read_to_string("/proc/sys/kernel/random/uuid")
            .unwrap()
            .trim()
            .to_string();
        let domain = "ocfrs-vd-dom".to_string();
        let xml = dir.join("ocfrs-vd-dom.xml");
        std::fs::write(&xml, domain_xml(&domain, &uuid)).unwrap();
        let pair = LibvirtPair {
            hosts: [a, b],
            dir,
            domain_xml: xml,
            domain,
            uuid,
        };
        for h in &pair.hosts {
            let t = Instant::now();
            while !h.answering() {
                if t.elapsed() > Duration::from_secs(60) {
                    let log = std::fs::read_to_string(pair.dir.join(h.tag).join("init.log"))
                        .unwrap_or_default();
                    let lv = std::fs::read_to_string(pair.dir.join(h.tag).join("log/libvirtd.log"))
                        .unwrap_or_default();
                    panic!("libvirtd on {} did not come up:\n{log}\n{lv}", h.name);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        // Each host reaches the other's libvirtd over the veth link.
        let (rc, _, err) = pair.hosts[0].exec(&[
            "timeout",
            "20",
            "virsh",
            "-q",
            "-c",
            "qemu+tcp://ocfrs-vdB/system",
            "hostname",
        ]);
        assert_eq!(rc, 0, "host A cannot reach libvirtd on B: {err}");
        pair
    }

    /// Host A or B.
    pub fn host(&self, tag: &str) -> &Host {
        &self.hosts[usize::from(tag == "B")]
    }
}

impl Drop for LibvirtPair {
    fn drop(&mut self) {
        for h in &mut self.hosts {
            // SIGKILL to a PID namespace's init kills every process in it.
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(h.init),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = h.unshare.kill();
            let _ = h.unshare.wait();
        }
        let t = Instant::now();
        for h in &self.hosts {
            while Path::new(&format!("/proc/{}", h.init)).exists()
                && t.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = Command::new("ip").args(["netns", "del", &h.netns]).output();
        }
    }
}

/// Prepare the private state of one libvirt host in `d` with libvirtd listening on TCP at
/// `listen_addr` ([`super::libvirt_state::host_state`]).
pub fn host_state(d: &Path, listen_addr: &str) {
    super::libvirt_state::host_state(d, Some(listen_addr))
        .unwrap_or_else(|e| panic!("libvirt host state in {}: {e}", d.display()));
}
