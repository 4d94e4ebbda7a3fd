//! The README's "First cluster in five minutes", run from the README text itself: the `sh`
//! blocks between the `quickstart:begin` and `quickstart:end` markers, in order, as one
//! `bash -e` script. A one-node Pacemaker (contrib/one-node-cluster.sh) runs an ocfrs
//! Filesystem + IPaddr2 group and a heartbeat IPaddr2, `crm_mon -1` must show them started and
//! `ocfrs-switch-check` must find the heartbeat one ready; tear-down stops everything by PID.
//!
//! Isolation: a private mount and network namespace whose `/usr`, `/etc` and `/var` are
//! overlays with upper layers in a temporary directory (so `make install`, apt-get's state and
//! the CIB leave the machine as it was) and whose `/run` and `/dev/shm` are private; corosync
//! and Pacemaker's IPC (abstract sockets) stay inside the network namespace. The test holds
//! the cluster tests' machine-wide lock, so it never runs beside the namespace harness. The
//! binaries `make install` installs are this test run's (`NO_BUILD=1 AGENTS_BIN=...
//! TESTER_BIN=...` in the environment: Make's `?=` variables), not a second release build.
use crate::common::{agents_bin, our_tester, sh, TempDir};
use std::process::Command;

const README: &str = include_str!("../../README.md");

/// The machine-wide lock the cluster harness takes (tests/cluster/harness.rs).
const CLUSTER_LOCK: &str = "/run/lock/ocfrs-cluster-tests.lock";

/// The quick start's commands: every ```sh block between the markers.
fn quickstart_script() -> String {
    let begin = README
        .find("<!-- quickstart:begin")
        .expect("README has a quickstart:begin marker");
    let end = README[begin..]
        .find("<!-- quickstart:end -->")
        .map(|e| begin + e)
        .expect("README has a quickstart:end marker after quickstart:begin");
    let mut script = String::new();
    let mut in_sh = false;
    for line in README[begin..end].lines() {
        match (in_sh, line.trim_end()) {
            (false, "```sh") => in_sh = true,
            (true, "```") => in_sh = false,
            (true, l) => {
                script.push_str(l);
                script.push('\n');
            }
            _ => {}
        }
    }
    assert!(!in_sh, "unclosed ```sh block in the quick start");
    script
}

/// Runs `$2` with cwd `$1` inside the namespaces (upper layers under `$3`); on any exit the
/// cluster is stopped by PID (the script's own stop) and the image's loop device detached.
const ISOLATE: &str = r#"
set -eu
repo=$1; script=$2; t=$3
t0=$(date +%s)
ip link set lo up
for d in usr etc var; do
  mkdir -p "$t/$d.up" "$t/$d.work"
  mount -t overlay "ocfrs-adm-$d" -o "lowerdir=/$d,upperdir=$t/$d.up,workdir=$t/$d.work" "/$d"
done
mount -t tmpfs ocfrs-adm-run /run
mkdir -p /run/lock
mount -t tmpfs ocfrs-adm-shm /dev/shm
cleanup() {
  "$repo/contrib/one-node-cluster.sh" stop >/dev/null 2>&1 || true
  for l in $(losetup -j /var/tmp/ocfrs-try.img -O NAME -n 2>/dev/null); do losetup -d "$l" || true; done
  echo "quickstart: $(($(date +%s) - t0)) s after taking the cluster lock" >&2
}
trap cleanup EXIT
trap 'exit 143' TERM INT
cd "$repo"
bash -ex -o pipefail "$script"
"#;

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root (namespaces, overlays, loop devices), pacemaker, corosync and crmsh (tests/run.sh setup)"
)]
fn readme_quickstart_runs_as_written() {
    let t = TempDir::new("adm-quickstart");
    let script = t.join("readme.sh");
    std::fs::write(&script, quickstart_script()).unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = agents_bin();
    // The lock wait is bounded separately (other cluster tests may hold it for minutes);
    // the quick start itself gets 240 s.
    let (rc, out, err) = sh(Command::new("flock")
        .args(["-w", "1800", CLUSTER_LOCK])
        .args(["timeout", "-k", "10", "240"])
        .args(["unshare", "--mount", "--net", "--propagation", "private"])
        .args(["--", "bash", "-c", ISOLATE, "bash"])
        .arg(&repo)
        .arg(&script)
        .arg(t.path())
        .env("NO_BUILD", "1")
        .env("AGENTS_BIN", &bin)
        .env("TESTER_BIN", our_tester())
        // Make's ?= variables from the environment; the switch check is built with the agents.
        .env("SWITCH_CHECK_BIN", bin.with_file_name("ocfrs-switch-check"))
        .env("IMPORT_BIN", bin.with_file_name("ocfrs-import-rgmanager")));
    let all = format!("{out}\n--- stderr ---\n{err}");
    if let Some(l) = err.lines().find(|l| l.starts_with("quickstart: ")) {
        println!("{l}");
    }
    // Tear-down by PID, whatever happened: the daemons the start line named must be gone.
    let pids: Vec<i32> = out
        .lines()
        .find_map(|l| l.strip_prefix("one-node-cluster: node1 is up ("))
        .map(|l| {
            l.split(|c: char| !c.is_ascii_digit())
                .filter_map(|w| w.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let alive: Vec<i32> = pids
        .iter()
        .copied()
        .filter(|p| std::path::Path::new(&format!("/proc/{p}")).exists())
        .collect();
    for p in &alive {
        // SAFETY: plain kill(2) of a daemon this test started.
        unsafe { libc::kill(*p, libc::SIGKILL) };
    }
    assert_eq!(rc, 0, "the quick start failed:\n{all}");
    assert_eq!(pids.len(), 2, "no corosync/pacemakerd pids:\n{all}");
    assert!(
        alive.is_empty(),
        "left running after tear-down: {alive:?}\n{all}"
    );
    let started = |rsc: &str, agent: &str| {
        out.lines().any(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w == ["*", rsc, &format!("({agent}):"), "Started", "node1"]
        })
    };
    assert!(started("try-fs", "ocf:ocfrs:Filesystem"), "{all}");
    assert!(started("try-ip", "ocf:ocfrs:IPaddr2"), "{all}");
    assert!(started("old-ip", "ocf:heartbeat:IPaddr2"), "{all}");
    assert!(!out.contains("Failed Resource Actions"), "{all}");
    assert!(
        out.lines()
            .any(|l| l == "ready        old-ip (ocf:heartbeat:IPaddr2 -> ocf:ocfrs:IPaddr2)")
            && out.contains("1 resource(s) checked: 1 ready, 0 with changes, 0 unsupported"),
        "{all}"
    );
    assert!(
        out.contains("one-node-cluster: pacemakerd stopped")
            && out.contains("one-node-cluster: corosync stopped"),
        "{all}"
    );
}
