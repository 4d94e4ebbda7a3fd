//! Scenario 7: ssh on a service group (address + sshd with shared host keys).
//!
//! Fencing: runs with the harness's fence device; the crashed node is fenced (checked)
//! before the group starts elsewhere.
//!
//! The host keys live in a directory every node sees (under the harness's shared `/tmp`
//! state directory, standing in for the group's shared filesystem), so the client in the
//! client namespace logs in with strict host key checking before and after the failover,
//! against the same known_hosts line. The sshd of the group listens on port 12222 of the
//! floating address only.
use super::harness::*;
use std::process::Command;
use std::time::Duration;

const VIP: &str = "192.0.2.102";
const PORT: &str = "12222";

fn keygen(path: &str) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f", path])
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success(), "ssh-keygen {path}: {out:?}");
}

/// Log in from the client namespace and print the serving node's host name.
fn login(dir: &str) -> Result<String, String> {
    let out = Command::new("ip")
        .args(["netns", "exec", CLIENT_NS, "ssh", "-p", PORT, "-i"])
        .arg(format!("{dir}/client_key"))
        .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={dir}/known_hosts"))
        .args(["-o", "ConnectTimeout=5", &format!("root@{VIP}"), "hostname"])
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

fn wait_login_on(c: &Cluster, dir: &str, node: &str) {
    let mut last = String::new();
    let ok =
        ocf::Deadline::after(WAIT).wait_until(Duration::from_millis(500), || match login(dir) {
            Ok(n) if n == node => Some(()),
            Ok(n) => {
                last = format!("served by {n}");
                None
            }
            Err(e) => {
                last = e;
                None
            }
        });
    if ok.is_none() {
        c.fail(&format!("no ssh login on {node} through {VIP}: {last}"));
    }
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, namespaces, openssh-server"
)]
fn ssh_follows_the_service_group_with_the_same_host_key() {
    let mut c = Cluster::up(2);
    c.enable_fencing();
    let dir = format!("{STATE}/ssh");
    std::fs::create_dir_all(format!("{dir}/keys")).expect("ssh dir");
    keygen(&format!("{dir}/keys/ssh_host_ed25519_key"));
    keygen(&format!("{dir}/client_key"));
    std::fs::copy(
        format!("{dir}/client_key.pub"),
        format!("{dir}/authorized_keys"),
    )
    .expect("authorized_keys");
    let host_pub =
        std::fs::read_to_string(format!("{dir}/keys/ssh_host_ed25519_key.pub")).expect("host key");
    let mut it = host_pub.split_whitespace();
    std::fs::write(
        format!("{dir}/known_hosts"),
        format!(
            "[{VIP}]:{PORT} {} {}\n",
            it.next().unwrap_or_default(),
            it.next().unwrap_or_default()
        ),
    )
    .expect("known_hosts");
    std::fs::write(
        format!("{dir}/sshd_config"),
        format!(
            "AuthorizedKeysFile {dir}/authorized_keys\nPermitRootLogin prohibit-password\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
             StrictModes no\n"
        ),
    )
    .expect("sshd_config");

    let group = format!(
        "<group id=\"g\">{}{}</group>",
        ipaddr2_primitive("ip", "ocfrs", VIP, &[("monitor", "5s", "20s", "")]),
        primitive(
            "ssh",
            "ocf:ocfrs:sshd",
            &[
                ("listen_address", VIP),
                ("port", PORT),
                ("config", &format!("{dir}/sshd_config")),
                ("host_key_dir", &format!("{dir}/keys")),
            ],
            &[],
            &[("monitor", "5s", "20s", "")],
        ),
    );
    c.cib_create("resources", &group);
    c.cib_create("constraints", &prefer("g", "n1", "50"));

    // 1. On n1: a key login through the floating address, host key checked strictly.
    c.wait_running_on("ssh", "n1");
    wait_login_on(&c, &dir, "n1");

    // 2. n1 crashes: fenced, the group starts on n2, the same host key answers there.
    c.crash(1);
    c.wait_running_on("ssh", "n2");
    assert_eq!(c.fenced(), vec!["n1".to_string()], "{}", c.report());
    wait_login_on(&c, &dir, "n2");
}
