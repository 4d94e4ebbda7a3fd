//! A real Pacemaker + Corosync cluster of 2..9 nodes on this machine, for scenario tests.
//!
//! Each node `nI` is
//! * a network namespace `ocfc-nI` whose `eth0` (192.0.2.1I/24) is a veth plugged into a
//!   bridge in namespace `ocfc-sw`; namespace `ocfc-c` (192.0.2.200) is a client;
//! * private mount/UTS/IPC/PID namespaces (`unshare`, PID 1 = `tests/cluster/node.sh init`)
//!   with private `/run`, `/dev/shm`, `/var/lib/pacemaker`, `/var/lib/corosync`, `/var/log`,
//!   `/etc/corosync` and `/usr/lib/ocf/resource.d` (a copy of the host's, made at bring-up,
//!   plus provider `ocfrs` = this test run's `ocfrs-agents`, one hard link per type). The
//!   host's `/usr/lib/ocf` is never modified. `/usr`, `/tmp` and the rest are shared.
//! * corosync (knet) and pacemakerd started directly, without systemd.
//!
//! Every agent in the nodes' `ocfrs` provider (and heartbeat `Dummy`, `IPaddr2`, `Filesystem`)
//! sits behind `fault-wrapper.sh`, which records each action call with a timestamp
//! ([`Cluster::calls`]), can force an action to fail or hang ([`Cluster::fault`]) and keeps
//! the agents' stderr in the node's `/run/ocfc-faults/agents.log`. On failure the report
//! shows both and the agents' log lines from each node's `pacemaker.log`.
//!
//! Everything is named `ocfc-*` and tracked by PID in [`STATE`]; [`Cluster`] tears it all
//! down on drop (also when a test panics) and [`Cluster::up`] first removes what an earlier,
//! killed run left, found by its own pid files and names only. The nodes' `unshare` processes
//! get SIGKILL when the test thread that started them dies (`PR_SET_PDEATHSIG`), and
//! `unshare --kill-child` takes the whole node with it.
//!
//! Fencing: a cluster starts with `stonith-enabled=false` ([`STONITH_ENABLED`]); a crash
//! here really kills every process of the node, which is what fencing would have
//! guaranteed. [`Cluster::enable_fencing`] adds a real fence device for this test bed,
//! `stonith:fence_ocfc` (`fence_ocfc.sh`, overlaid on the nodes' `/usr/sbin`): it asks the
//! harness (a thread watching [`STATE`]`/fence`) to power the node off by PID, and sets
//! `stonith-enabled=true`.
//!
//! One cluster at a time per machine (fixed names): [`Cluster::up`] takes a process-wide lock,
//! so cluster tests run one after the other even when the test harness runs them in
//! parallel threads.
#![allow(dead_code)]

use ocf::process::{Cmd, Output};
use ocf::Deadline;
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Everything on the host side: pid files, node state, the agents' copy, logs.
pub const STATE: &str = "/tmp/ocfc-cluster";
/// The /24 used inside the namespaces only.
pub const NET: &str = "192.0.2";
/// The client namespace (192.0.2.200).
pub const CLIENT_NS: &str = "ocfc-c";
const SWITCH_NS: &str = "ocfc-sw";
/// The value of the cluster property `stonith-enabled` when a cluster comes up (see
/// [`Cluster::enable_fencing`]).
pub const STONITH_ENABLED: bool = false;

const NODE_SH: &str = include_str!("node.sh");
const WRAPPER_SH: &str = include_str!("fault-wrapper.sh");
const FENCE_SH: &str = include_str!("fence_ocfc.sh");
/// Heartbeat agents also wrapped (call log + faults) in the nodes' copy.
const WRAPPED_HEARTBEAT: &[&str] = &["Dummy", "IPaddr2", "Filesystem"];

/// Default deadline of a condition wait.
pub const WAIT: Duration = Duration::from_secs(90);
const CMD_TIMEOUT: Duration = Duration::from_secs(60);

static ONE_CLUSTER: Mutex<()> = Mutex::new(());
/// Machine-wide lock file (outside [`STATE`], which [`Cluster::up`] removes).
const MACHINE_LOCK: &str = "/run/lock/ocfrs-cluster-tests.lock";

/// Wait (blocking) for the machine-wide cluster lock: the names of the namespaces, the state
/// directory and the nodes are fixed, so only one process on the machine may run a cluster.
fn machine_lock() -> std::fs::File {
    use std::os::fd::AsRawFd;
    let _ = std::fs::create_dir_all("/run/lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(MACHINE_LOCK)
        .expect("open the machine-wide cluster lock");
    // SAFETY: flock on a descriptor we own; released when the file is dropped.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(rc, 0, "flock {MACHINE_LOCK}");
    f
}

/// Harness time stamp + message, on stderr (captured by the test harness; shown on failure).
pub fn log(msg: impl AsRef<str>) {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let s = t.as_secs() % 86_400;
    eprintln!(
        "{:02}:{:02}:{:02}.{:03} [cluster] {}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        t.subsec_millis(),
        msg.as_ref()
    );
}

/// Run a host command with a deadline; `(exit code or -1, stdout, stderr)`.
pub fn host(argv: &[&str], timeout: Duration) -> (i32, String, String) {
    let Some((prog, args)) = argv.split_first() else {
        return (-1, String::new(), "empty command".into());
    };
    match Cmd::new(prog).args(args).run(Deadline::after(timeout)) {
        Ok(o) => (o.code.unwrap_or(-1), o.stdout_text(), o.stderr_text()),
        Err(e) => (-1, String::new(), e.to_string()),
    }
}

/// Run a host command that must succeed; panics with its output otherwise.
pub fn host_ok(argv: &[&str]) -> String {
    let (rc, out, err) = host(argv, CMD_TIMEOUT);
    assert!(rc == 0, "{argv:?} failed (rc {rc}): {out}{err}");
    out
}

/// One action call recorded by the fault wrapper on a node.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Seconds since the epoch.
    pub t: f64,
    /// Resource id (clone suffix removed).
    pub rsc: String,
    /// `start`, `stop`, `monitor` (recurring), `probe` (monitor with interval 0), ...
    pub action: String,
    /// `begin`, `end <rc>` or `fault <rc|hang>`.
    pub what: String,
}

/// An injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Return this exit code without running the agent.
    Rc(i32),
    /// Never return (Pacemaker's operation timeout ends it).
    Hang,
}

/// One resource as `crm_mon --output-as=xml` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RscState {
    /// `Started`, `Stopped`, ...
    pub role: String,
    /// `active="true"`.
    pub active: bool,
    /// `failed="true"`.
    pub failed: bool,
    /// Nodes it is active on.
    pub nodes: Vec<String>,
}

/// One failed operation from `crm_mon`'s `<failures>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Failure {
    /// e.g. `d1_monitor_2000`.
    pub op_key: String,
    /// Node name.
    pub node: String,
    /// e.g. `error`, `not running`.
    pub exitstatus: String,
    /// e.g. `complete`, `Timed Out`.
    pub status: String,
    /// Exit reason.
    pub exitreason: String,
}

/// The cluster's view, parsed from `crm_mon -1 --output-as=xml`.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// Node name -> online.
    pub nodes: BTreeMap<String, bool>,
    /// Primitive id -> state (group members included, clone instances merged).
    pub resources: BTreeMap<String, RscState>,
    /// Failed operations.
    pub failures: Vec<Failure>,
    /// (resource, node) -> fail count.
    pub failcounts: BTreeMap<(String, String), u32>,
    /// The partition has quorum.
    pub quorum: bool,
}

impl View {
    /// Parse crm_mon's XML.
    pub fn parse(xml: &str) -> View {
        use quick_xml::events::Event;
        let mut v = View::default();
        let mut r = quick_xml::Reader::from_str(xml);
        let mut current: Option<String> = None;
        let mut history_node: Option<String> = None;
        loop {
            let ev = match r.read_event() {
                Ok(Event::Eof) | Err(_) => break,
                Ok(e) => e,
            };
            let (e, empty) = match &ev {
                Event::Start(e) => (e.clone(), false),
                Event::Empty(e) => (e.clone(), true),
                Event::End(e) => {
                    match e.name().as_ref() {
                        b"resource" => current = None,
                        b"node" => history_node = None,
                        _ => {}
                    }
                    continue;
                }
                _ => continue,
            };
            let attrs: BTreeMap<String, String> = e
                .attributes()
                .flatten()
                .map(|a| {
                    (
                        String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                        a.unescape_value()
                            .map(|c| c.into_owned())
                            .unwrap_or_default(),
                    )
                })
                .collect();
            let get = |k: &str| attrs.get(k).cloned().unwrap_or_default();
            match e.name().as_ref() {
                b"current_dc" => v.quorum = get("with_quorum") == "true",
                b"node" if current.is_none() && attrs.contains_key("online") => {
                    v.nodes.insert(get("name"), get("online") == "true");
                }
                // <node_history><node name=...>: the fail counts below are for this node.
                b"node" if current.is_none() && !empty => history_node = Some(get("name")),
                b"resource" if attrs.contains_key("role") => {
                    let id = get("id");
                    let id = id.split(':').next().unwrap_or_default().to_string();
                    let st = v.resources.entry(id.clone()).or_default();
                    let role = get("role");
                    if st.role.is_empty() || role == "Started" {
                        st.role = role;
                    }
                    st.active |= get("active") == "true";
                    st.failed |= get("failed") == "true";
                    if !empty {
                        current = Some(id);
                    }
                }
                b"resource_history" => {
                    if let (Some(node), Ok(n)) = (&history_node, get("fail-count").parse()) {
                        v.failcounts.insert((get("id"), node.clone()), n);
                    }
                }
                b"node" => {
                    if let Some(id) = &current {
                        if let Some(st) = v.resources.get_mut(id) {
                            st.nodes.push(get("name"));
                        }
                    }
                }
                b"failure" => v.failures.push(Failure {
                    op_key: get("op_key"),
                    node: get("node"),
                    exitstatus: get("exitstatus"),
                    status: get("status"),
                    exitreason: get("exitreason"),
                }),
                _ => {}
            }
        }
        v
    }

    /// Nodes where `rsc` is active (sorted).
    pub fn locate(&self, rsc: &str) -> Vec<String> {
        let mut n = self
            .resources
            .get(rsc)
            .filter(|s| s.active)
            .map(|s| s.nodes.clone())
            .unwrap_or_default();
        n.sort();
        n.dedup();
        n
    }

    /// Fail count of `rsc` on `node` (0 when none is recorded).
    pub fn failcount(&self, rsc: &str, node: &str) -> u32 {
        self.failcounts
            .get(&(rsc.to_string(), node.to_string()))
            .copied()
            .unwrap_or(0)
    }
}

struct Node {
    /// `unshare` (its child is the node's PID 1); reaped on crash/teardown.
    unshare: Option<Child>,
    init: Option<i32>,
}

/// A running cluster. Dropping it kills every node by PID and removes the namespaces.
pub struct Cluster {
    n: usize,
    nodes: Vec<Node>,
    loops: Vec<String>,
    started: Instant,
    fencing: bool,
    fencer_stop: Arc<AtomicBool>,
    fencer: Option<std::thread::JoinHandle<()>>,
    fenced: Arc<Mutex<Vec<String>>>,
    _one: MutexGuard<'static, ()>,
    /// Held for the cluster's life: other test processes on this machine (another checkout,
    /// a second `cargo test`) wait here instead of tearing down this cluster's fixed names.
    _machine_lock: std::fs::File,
}

fn ns(i: usize) -> String {
    format!("ocfc-n{i}")
}

/// Node name of index `i` (1-based).
pub fn name(i: usize) -> String {
    format!("n{i}")
}

/// Index of node name `nI`.
pub fn index(name: &str) -> usize {
    name.trim_start_matches('n').parse().unwrap_or(0)
}

fn state() -> &'static Path {
    Path::new(STATE)
}

fn write(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    crate::common::set_mode(path, mode);
}

/// Whether `pid` is a live process whose argv shows it is a node of this harness.
fn is_our_node_process(pid: i32, i: usize) -> bool {
    let Some(p) = ocf::process::Proc::read(pid) else {
        return false;
    };
    if p.is_zombie() {
        return false;
    }
    let argv: Vec<String> = p
        .cmdline()
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let node_sh = format!("{STATE}/node.sh");
    argv.iter().any(|a| a == &node_sh)
        && argv.iter().any(|a| a == "init")
        && argv.last().map(String::as_str) == Some(name(i).as_str())
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether node `i` of the current cluster runs (by its pid file and argv); usable from a
/// sampling thread that holds no reference to the [`Cluster`].
pub fn node_running(i: usize) -> bool {
    read_pid(&state().join(format!("n{i}.initpid"))).is_some_and(|p| is_our_node_process(p, i))
}

/// The IPv4 addresses (`a.b.c.d/len`) on node `i`'s eth0 (also when the node is down: its
/// namespace keeps them until the node boots again).
pub fn addresses_of(i: usize) -> Vec<String> {
    addresses_on(i, "eth0")
}

/// The IPv4 addresses (`a.b.c.d/len`) on interface `dev` of node `i`'s namespace.
pub fn addresses_on(i: usize, dev: &str) -> Vec<String> {
    let (_, out, _) = host(
        &["ip", "-n", &ns(i), "-o", "-4", "addr", "show", "dev", dev],
        Duration::from_secs(5),
    );
    out.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.position(|x| x == "inet")?;
            w.next().map(str::to_string)
        })
        .collect()
}

/// The local IPv4 addresses of running node `i`'s network namespace, read from
/// `/proc/<its pid 1>/net/fib_trie` without starting a process (cheap enough to sample
/// often); empty when the node is down.
pub fn local_ipv4_of(i: usize) -> Vec<String> {
    let Some(pid) =
        read_pid(&state().join(format!("n{i}.initpid"))).filter(|p| is_our_node_process(*p, i))
    else {
        return Vec::new();
    };
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/fib_trie")).unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    let mut last: Option<&str> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(ip) = t.strip_prefix("|-- ") {
            last = Some(ip);
        } else if t.starts_with("/32 host LOCAL") {
            if let Some(ip) = last {
                if !out.iter().any(|o| o == ip) {
                    out.push(ip.to_string());
                }
            }
        }
    }
    out
}

/// Mount points (field 5 of mountinfo) in node `i`'s mount namespace; empty when it is down.
pub fn mounts_of(i: usize) -> Vec<String> {
    let Some(pid) =
        read_pid(&state().join(format!("n{i}.initpid"))).filter(|p| is_our_node_process(*p, i))
    else {
        return Vec::new();
    };
    std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .collect()
}

/// Host pids of every process in the PID namespace whose init is `init`.
fn pids_in_pidns_of(init: i32) -> Vec<i32> {
    let Ok(pidns) = std::fs::read_link(format!("/proc/{init}/ns/pid")) else {
        return Vec::new();
    };
    ocf::process::processes()
        .into_iter()
        .filter(|p| {
            std::fs::read_link(format!("/proc/{}/ns/pid", p.pid)).ok() == Some(pidns.clone())
        })
        .map(|p| p.pid)
        .collect()
}

/// Power node `i` off from its pid files (usable without the [`Cluster`], e.g. by the fence
/// device's host side): SIGKILL its `unshare`, its PID 1 and every process of its PID
/// namespace, wait until PID 1 is gone, unplug it.
pub fn power_off(i: usize) {
    let ours = |f: &str| {
        read_pid(&state().join(format!("n{i}.{f}"))).filter(|p| is_our_node_process(*p, i))
    };
    let init = ours("initpid");
    let mut victims: Vec<i32> = init.map(pids_in_pidns_of).unwrap_or_default();
    victims.extend(ours("unsharepid"));
    victims.extend(init);
    for p in victims {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    if let Some(init) = init {
        let _ = Deadline::after(Duration::from_secs(10))
            .wait_until(Duration::from_millis(20), || {
                (!is_our_node_process(init, i)).then_some(())
            });
    }
    let port = format!("p{i}");
    let unplug = ["ip", "-n", SWITCH_NS, "link", "set", &port, "down"];
    let _ = host(&unplug, Duration::from_secs(10));
}

/// Remove whatever an earlier run of this harness left: node processes (by their pid files,
/// checked against their argv), loop devices backed by files under [`STATE`], namespaces
/// named `ocfc-sw`, `ocfc-c`, `ocfc-n1`..`ocfc-n9`, and [`STATE`] itself.
pub fn remove_stale() {
    for i in 1..=9 {
        for f in ["unsharepid", "initpid"] {
            if let Some(pid) = read_pid(&state().join(format!("n{i}.{f}"))) {
                if is_our_node_process(pid, i) {
                    log(format!("stale node n{i}: SIGKILL pid {pid}"));
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
    }
    if let Ok(rd) = std::fs::read_dir(state()) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) == Some("img") {
                let (_, out, _) = host(
                    &["losetup", "-j", &p.to_string_lossy()],
                    Duration::from_secs(10),
                );
                for dev in out.lines().filter_map(|l| l.split(':').next()) {
                    if dev.starts_with("/dev/loop") {
                        log(format!("stale loop device {dev}"));
                        let _ = host(&["losetup", "-d", dev], Duration::from_secs(10));
                    }
                }
            }
        }
    }
    let (_, list, _) = host(&["ip", "netns", "list"], Duration::from_secs(10));
    let ours: Vec<String> = [SWITCH_NS.to_string(), CLIENT_NS.to_string()]
        .into_iter()
        .chain((1..=9).map(ns))
        .collect();
    for line in list.lines() {
        let n = line.split_whitespace().next().unwrap_or_default();
        if ours.iter().any(|o| o == n) {
            let _ = host(&["ip", "netns", "del", n], Duration::from_secs(10));
        }
    }
    let _ = std::fs::remove_dir_all(state());
}

impl Cluster {
    /// Bring up `n` nodes (2..=9) and wait until all are online with a DC, within `WAIT`.
    pub fn up(n: usize) -> Cluster {
        assert!((2..=9).contains(&n), "2..9 nodes");
        let one = ONE_CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
        let machine_lock = machine_lock();
        let started = Instant::now();
        remove_stale();
        let mut c = Cluster {
            n,
            nodes: (0..n)
                .map(|_| Node {
                    unshare: None,
                    init: None,
                })
                .collect(),
            loops: Vec::new(),
            started,
            fencing: false,
            fencer_stop: Arc::new(AtomicBool::new(false)),
            fencer: None,
            fenced: Arc::new(Mutex::new(Vec::new())),
            _one: one,
            _machine_lock: machine_lock,
        };
        std::fs::create_dir_all(state().join("fence")).expect("create state dir");
        std::fs::create_dir_all(state().join("fence-bin")).expect("create state dir");
        write(&state().join("node.sh"), NODE_SH, 0o755);
        write(&state().join("fence-bin/fence_ocfc"), FENCE_SH, 0o755);
        c.start_fencer();
        c.write_corosync_conf();
        c.seed_cib();
        c.install_agents();
        c.network();
        for i in 1..=n {
            c.boot(i);
        }
        let all: Vec<String> = (1..=n).map(name).collect();
        c.wait_for("every node online with a DC", WAIT, |c| {
            let v = c.view_from(1)?;
            Some(all.iter().all(|n| v.nodes.get(n) == Some(&true)))
        });
        log(format!(
            "up: {n} nodes online after {:.1}s",
            started.elapsed().as_secs_f64()
        ));
        c
    }

    /// Number of nodes.
    pub fn size(&self) -> usize {
        self.n
    }

    fn write_corosync_conf(&self) {
        let mut conf = String::from(
            "totem {\n\tversion: 2\n\tcluster_name: ocfc\n\ttransport: knet\n\
             \tcrypto_cipher: none\n\tcrypto_hash: none\n}\n\
             logging {\n\tto_stderr: no\n\tto_logfile: yes\n\
             \tlogfile: /var/log/corosync/corosync.log\n\tto_syslog: no\n\ttimestamp: on\n}\n\
             quorum {\n\tprovider: corosync_votequorum\n",
        );
        if self.n == 2 {
            conf.push_str("\ttwo_node: 1\n");
        }
        conf.push_str("}\nnodelist {\n");
        for i in 1..=self.n {
            conf.push_str(&format!(
                "\tnode {{\n\t\tname: {}\n\t\tnodeid: {i}\n\t\tring0_addr: {NET}.{}\n\t}}\n",
                name(i),
                10 + i
            ));
        }
        conf.push_str("}\n");
        let dir = state().join("etc-corosync");
        std::fs::create_dir_all(&dir).expect("etc-corosync");
        write(&dir.join("corosync.conf"), &conf, 0o644);
        if Path::new("/etc/corosync/uidgid.d").is_dir() {
            host_ok(&["cp", "-r", "/etc/corosync/uidgid.d", &dir.to_string_lossy()]);
        }
    }

    fn seed_cib(&self) {
        let seed = state().join("seed-cib.xml");
        let empty = host_ok(&["cibadmin", "--empty"]);
        write(&seed, &empty, 0o600);
        let mut props = vec![
            ("stonith-enabled", STONITH_ENABLED.to_string()),
            ("dc-deadtime", "5s".to_string()),
        ];
        if self.n == 2 {
            props.push(("no-quorum-policy", "ignore".to_string()));
        }
        for (k, v) in props {
            let out = Cmd::new("crm_attribute")
                .args(["--type", "crm_config", "-n", k, "-v", &v])
                .env("CIB_file", &seed)
                .run(Deadline::after(CMD_TIMEOUT))
                .expect("crm_attribute on the seed CIB");
            assert!(out.success(), "seed CIB {k}: {}", out.one_line());
        }
    }

    /// The nodes' private copy of resource.d: the host's, plus provider `ocfrs` (every agent
    /// of this test run's binary) behind the fault wrapper; some heartbeat agents wrapped too.
    fn install_agents(&self) {
        let rd = state().join("resource.d");
        std::fs::create_dir_all(&rd).expect("resource.d copy");
        host_ok(&[
            "cp",
            "-a",
            "/usr/lib/ocf/resource.d/.",
            &rd.to_string_lossy(),
        ]);
        let bin = state().join("ocfrs-agents");
        std::fs::copy(crate::common::agents_bin(), &bin).expect("copy ocfrs-agents");
        crate::common::set_mode(&bin, 0o755);
        let prov = rd.join("ocfrs");
        std::fs::create_dir_all(&prov).expect("ocfrs provider dir");
        crate::common::set_mode(&prov, 0o755);
        for t in ocfrs_types() {
            let real = prov.join(format!(".{t}.real"));
            if std::fs::hard_link(&bin, &real).is_err() {
                std::fs::copy(&bin, &real).expect("copy agent");
            }
            write(&prov.join(&t), WRAPPER_SH, 0o755);
        }
        for t in WRAPPED_HEARTBEAT {
            let a = rd.join("heartbeat").join(t);
            if a.is_file() {
                let real = rd.join("heartbeat").join(format!(".{t}.real"));
                std::fs::rename(&a, &real).expect("wrap heartbeat agent");
                write(&a, WRAPPER_SH, 0o755);
            }
        }
    }

    fn network(&self) {
        let ip = |args: &[&str]| {
            let mut v = vec!["ip"];
            v.extend_from_slice(args);
            host_ok(&v);
        };
        ip(&["netns", "add", SWITCH_NS]);
        ip(&["-n", SWITCH_NS, "link", "set", "lo", "up"]);
        ip(&["-n", SWITCH_NS, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", SWITCH_NS, "link", "set", "br0", "up"]);
        let ends: Vec<(String, String)> = (1..=self.n)
            .map(|i| (ns(i), format!("p{i}")))
            .chain([(CLIENT_NS.to_string(), "pc".to_string())])
            .collect();
        for (n, port) in &ends {
            ip(&["netns", "add", n]);
            // Created inside the switch namespace: no interface ever appears on the host.
            ip(&[
                "-n", SWITCH_NS, "link", "add", port, "type", "veth", "peer", "name", "eth0",
                "netns", n,
            ]);
            ip(&["-n", SWITCH_NS, "link", "set", port, "master", "br0", "up"]);
            ip(&["-n", n, "link", "set", "lo", "up"]);
            ip(&["-n", n, "link", "set", "eth0", "up"]);
        }
        ip(&[
            "-n",
            CLIENT_NS,
            "addr",
            "add",
            &format!("{NET}.200/24"),
            "dev",
            "eth0",
        ]);
    }

    // ------------------------------------------------------------------ fencing

    /// The host side of `fence_ocfc`: a thread that powers off every node a fence request
    /// names ([`power_off`]) and confirms it.
    fn start_fencer(&mut self) {
        let stop = self.fencer_stop.clone();
        let fenced = self.fenced.clone();
        self.fencer = Some(std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let dir = state().join("fence");
                for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                    let p = e.path();
                    if p.extension().and_then(|x| x.to_str()) != Some("request") {
                        continue;
                    }
                    let target = p
                        .file_stem()
                        .map(|x| x.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let i = index(&target);
                    if (1..=9).contains(&i) {
                        power_off(i);
                        log(format!(
                            "fence_ocfc: {target} powered off (fencing request)"
                        ));
                        if let Ok(mut f) = fenced.lock() {
                            f.push(target.clone());
                        }
                    }
                    let _ = std::fs::remove_file(&p);
                    let _ = std::fs::write(dir.join(format!("{target}.done")), "off\n");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }));
    }

    /// Give the cluster a fence device (`stonith:fence_ocfc`, which powers nodes off through
    /// the harness) and set `stonith-enabled=true`. [`Cluster::reset`] keeps it.
    pub fn enable_fencing(&mut self) {
        self.fencing = true;
        self.cib_create("resources", &self.fence_device());
        self.wait_for("fence device fence-ocfc started", WAIT, |c| {
            Some(!c.view()?.locate("fence-ocfc").is_empty())
        });
        self.property("stonith-enabled", "true");
        log("fencing enabled: stonith:fence_ocfc");
    }

    fn fence_device(&self) -> String {
        let hosts: Vec<String> = (1..=self.n).map(name).collect();
        format!(
            "<primitive id=\"fence-ocfc\" class=\"stonith\" type=\"fence_ocfc\">\
               <instance_attributes id=\"fence-ocfc-ia\">\
                 <nvpair id=\"fence-ocfc-hosts\" name=\"pcmk_host_list\" value=\"{}\"/>\
                 <nvpair id=\"fence-ocfc-check\" name=\"pcmk_host_check\" value=\"static-list\"/>\
               </instance_attributes>\
               <operations><op id=\"fence-ocfc-monitor\" name=\"monitor\" interval=\"60s\"/></operations>\
             </primitive>",
            hosts.join(" ")
        )
    }

    /// Nodes the fence device powered off so far, in order.
    pub fn fenced(&self) -> Vec<String> {
        self.fenced.lock().map(|f| f.clone()).unwrap_or_default()
    }

    // ------------------------------------------------------------------ nodes

    /// Whether node `i` is running (its PID 1 exists).
    pub fn is_up(&self, i: usize) -> bool {
        self.nodes
            .get(i - 1)
            .and_then(|n| n.init)
            .is_some_and(|p| is_our_node_process(p, i))
    }

    /// The node's PID 1 (host pid). Panics if the node is down.
    pub fn init_pid(&self, i: usize) -> i32 {
        match self.nodes.get(i - 1).and_then(|n| n.init) {
            Some(p) if self.is_up(i) => p,
            _ => panic!("node {} is not running", name(i)),
        }
    }

    /// A path as node `i` sees it (through `/proc/<pid 1>/root`), readable from the host.
    pub fn node_path(&self, i: usize, path: &str) -> PathBuf {
        PathBuf::from(format!(
            "/proc/{}/root{}",
            self.init_pid(i),
            if path.starts_with('/') {
                path.to_string()
            } else {
                format!("/{path}")
            }
        ))
    }

    /// Boot node `i` with fresh state and the seed CIB (a reinstalled node); it takes the
    /// configuration from the cluster when it joins. Does not wait for it to join.
    pub fn boot(&mut self, i: usize) {
        assert!(!self.is_up(i), "node {} is already running", name(i));
        if let Some(mut old) = self.nodes[i - 1].unshare.take() {
            // Powered off by the fence device: reap its unshare.
            let _ = old.kill();
            let _ = old.wait();
        }
        let dir = state().join(name(i));
        let _ = std::fs::remove_dir_all(&dir);
        for d in [
            "lib-pacemaker/cib",
            "lib-pacemaker/pengine",
            "lib-pacemaker/blackbox",
            "lib-pacemaker/cores",
            "lib-pacemaker/bundles",
            "lib-corosync",
            "log/pacemaker/bundles",
            "log/corosync",
            "log/crmsh",
        ] {
            std::fs::create_dir_all(dir.join(d)).expect("node dirs");
        }
        let cib = dir.join("lib-pacemaker/cib/cib.xml");
        std::fs::copy(state().join("seed-cib.xml"), &cib).expect("seed cib");
        host_ok(&[
            "chown",
            "-R",
            "hacluster:haclient",
            &dir.join("lib-pacemaker").to_string_lossy(),
            &dir.join("log/pacemaker").to_string_lossy(),
        ]);
        crate::common::set_mode(&cib, 0o600);
        crate::common::set_mode(&dir.join("log/pacemaker"), 0o770);
        // A rebooted node has no leftover addresses.
        host_ok(&["ip", "-n", &ns(i), "addr", "flush", "dev", "eth0"]);
        host_ok(&[
            "ip",
            "-n",
            &ns(i),
            "addr",
            "add",
            &format!("{NET}.{}/24", 10 + i),
            "dev",
            "eth0",
        ]);
        self.plug(i);
        let out = std::fs::File::create(state().join(format!("{}.out", name(i))))
            .expect("node output file");
        let err = out.try_clone().expect("node output file");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns(i)])
            .args([
                "unshare",
                "--mount",
                "--uts",
                "--ipc",
                "--pid",
                "--fork",
                "--kill-child",
                "--mount-proc",
                "bash",
            ])
            .arg(state().join("node.sh"))
            .args(["init", STATE, &name(i)])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                // The node dies with the thread that booted it (a killed test run).
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn node");
        let upid = child.id() as i32;
        write(
            &state().join(format!("{}.unsharepid", name(i))),
            &upid.to_string(),
            0o644,
        );
        self.nodes[i - 1].unshare = Some(child);
        let init = Deadline::after(scaled(Duration::from_secs(20)))
            .wait_until(Duration::from_millis(50), || {
                ocf::process::processes()
                    .into_iter()
                    .find(|p| p.ppid == upid && is_our_node_process(p.pid, i))
                    .map(|p| p.pid)
            })
            .unwrap_or_else(|| panic!("node {} did not start: {}", name(i), self.node_out(i)));
        write(
            &state().join(format!("{}.initpid", name(i))),
            &init.to_string(),
            0o644,
        );
        self.nodes[i - 1].init = Some(init);
        let ready = format!("/proc/{init}/root/run/ocfc/init.ready");
        Deadline::after(scaled(Duration::from_secs(30)))
            .wait_until(Duration::from_millis(50), || {
                Path::new(&ready).exists().then_some(())
            })
            .unwrap_or_else(|| {
                panic!(
                    "node {} did not start its daemons: {}",
                    name(i),
                    self.node_out(i)
                )
            });
        log(format!("{} booted (pid 1 = host pid {init})", name(i)));
    }

    fn node_out(&self, i: usize) -> String {
        std::fs::read_to_string(state().join(format!("{}.out", name(i)))).unwrap_or_default()
    }

    /// Host pids of every process of node `i` (its PID namespace).
    pub fn node_pids(&self, i: usize) -> Vec<i32> {
        match self.nodes.get(i - 1).and_then(|n| n.init) {
            Some(init) => pids_in_pidns_of(init),
            None => Vec::new(),
        }
    }

    fn kill_node(&mut self, i: usize) {
        let pids = self.node_pids(i);
        let node = &mut self.nodes[i - 1];
        let sigkill = |p: i32| {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(p),
                nix::sys::signal::Signal::SIGKILL,
            );
        };
        if let Some(child) = node.unshare.as_mut() {
            let _ = child.kill();
        }
        for p in pids {
            sigkill(p);
        }
        if let Some(mut child) = node.unshare.take() {
            let _ = child.wait();
        }
        if let Some(init) = node.init.take() {
            let gone = Deadline::after(Duration::from_secs(10))
                .wait_until(Duration::from_millis(20), || {
                    (!is_our_node_process(init, i)).then_some(())
                });
            assert!(
                gone.is_some(),
                "node {} pid {init} survived SIGKILL",
                name(i)
            );
        }
        let _ = std::fs::remove_file(state().join(format!("{}.unsharepid", name(i))));
        let _ = std::fs::remove_file(state().join(format!("{}.initpid", name(i))));
    }

    /// Power node `i` off: SIGKILL every process of the node (by PID) and unplug its cable.
    /// Its network namespace keeps its addresses until [`Cluster::boot`].
    pub fn crash(&mut self, i: usize) {
        self.kill_node(i);
        self.unplug(i);
        log(format!(
            "{} crashed (every process SIGKILLed, unplugged)",
            name(i)
        ));
    }

    /// Take node `i`'s switch port down (network partition of that node).
    pub fn unplug(&self, i: usize) {
        let port = format!("p{i}");
        host_ok(&["ip", "-n", SWITCH_NS, "link", "set", &port, "down"]);
    }

    /// Put node `i`'s switch port up again.
    pub fn plug(&self, i: usize) {
        host_ok(&["ip", "-n", SWITCH_NS, "link", "set", &format!("p{i}"), "up"]);
    }

    /// SIGKILL the process of node `i` whose `comm` is `daemon` (e.g. `corosync`,
    /// `pacemakerd`, `pacemaker-execd`), found by PID in the node's PID namespace.
    pub fn kill_daemon(&self, i: usize, daemon: &str) {
        let comm: String = daemon.chars().take(15).collect();
        let victims: Vec<i32> = self
            .node_pids(i)
            .into_iter()
            .filter(|p| ocf::process::Proc::read(*p).is_some_and(|x| x.comm == comm))
            .collect();
        assert!(
            !victims.is_empty(),
            "{daemon} is not running on {}",
            name(i)
        );
        for p in &victims {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*p),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        log(format!(
            "{}: {daemon} (host pid {victims:?}) SIGKILLed",
            name(i)
        ));
    }

    /// Start corosync and pacemakerd on node `i` if they are not running (keeps its state).
    pub fn start_daemons(&self, i: usize) {
        self.on_ok(i, &["bash", "/tmp/ocfc-cluster/node.sh", "daemons"]);
    }

    /// SIGKILL the process with pid `pid` as node `i` sees it (e.g. from an agent's state).
    pub fn kill_node_pid(&self, i: usize, pid: i32) {
        self.on_ok(i, &["kill", "-KILL", &pid.to_string()]);
        log(format!("{}: pid {pid} (node view) SIGKILLed", name(i)));
    }

    // ------------------------------------------------------------------ commands

    /// Run `argv` inside node `i` (all its namespaces) within `timeout`.
    pub fn on_within(&self, i: usize, argv: &[&str], timeout: Duration) -> Output {
        let init = self.init_pid(i).to_string();
        let out = Cmd::new("nsenter")
            .args(["-t", &init, "-m", "-u", "-i", "-n", "-p", "--"])
            .args(argv)
            .run(Deadline::after(timeout));
        out.unwrap_or_else(|e| Output {
            code: None,
            signal: None,
            stdout: Vec::new(),
            stderr: e.to_string().into_bytes(),
        })
    }

    /// Run `argv` inside node `i`.
    pub fn on(&self, i: usize, argv: &[&str]) -> Output {
        self.on_within(i, argv, CMD_TIMEOUT)
    }

    /// Run `argv` inside node `i`; panics (with the cluster report) unless it exits 0.
    pub fn on_ok(&self, i: usize, argv: &[&str]) -> String {
        let o = self.on(i, argv);
        if !o.success() {
            self.fail(&format!("{argv:?} on {} failed: {}", name(i), o.one_line()));
        }
        o.stdout_text()
    }

    /// A running node whose cluster stack answers, preferring one with quorum.
    pub fn any_node(&self) -> Option<usize> {
        let mut first = None;
        for i in 1..=self.n {
            if !self.is_up(i) {
                continue;
            }
            if let Some(v) = self.view_from(i) {
                if v.quorum {
                    return Some(i);
                }
                first.get_or_insert(i);
            }
        }
        first
    }

    /// Run `argv` on [`Cluster::any_node`]; panics unless it exits 0.
    pub fn run(&self, argv: &[&str]) -> String {
        match self.any_node() {
            Some(i) => self.on_ok(i, argv),
            None => self.fail(&format!("{argv:?}: no node with a running cluster stack")),
        }
    }

    /// `cibadmin --create -o SECTION --xml-text XML` (resources, constraints, rsc_defaults...).
    pub fn cib_create(&self, section: &str, xml: &str) {
        self.run(&["cibadmin", "--create", "-o", section, "--xml-text", xml]);
    }

    /// Load crm shell configuration (`crm -F configure load update`, the syntax of
    /// `crm configure` lines), e.g. `"primitive d ocf:ocfrs:Dummy op monitor interval=5s"`.
    pub fn crm_configure(&self, text: &str) {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let file = state().join(format!("config-{n}.crm"));
        write(&file, text, 0o644);
        self.run(&[
            "crm",
            "-F",
            "configure",
            "load",
            "update",
            &file.to_string_lossy(),
        ]);
    }

    /// `cibadmin --modify --xml-text XML` (merge by id).
    pub fn cib_modify(&self, xml: &str) {
        self.run(&["cibadmin", "--modify", "--xml-text", xml]);
    }

    /// Delete the CIB element with this id.
    pub fn cib_delete(&self, id: &str) {
        self.run(&[
            "cibadmin",
            "--delete",
            "--xpath",
            &format!("//*[@id='{id}']"),
        ]);
    }

    /// Set a resource meta attribute (`crm_resource --meta`).
    pub fn meta(&self, rsc: &str, attr: &str, value: &str) {
        self.run(&["crm_resource", "-r", rsc, "--meta", "-p", attr, "-v", value]);
    }

    /// Set a cluster property.
    pub fn property(&self, attr: &str, value: &str) {
        self.run(&[
            "crm_attribute",
            "--type",
            "crm_config",
            "-n",
            attr,
            "-v",
            value,
        ]);
    }

    /// Remove every resource and constraint, wait until nothing runs, forget their history
    /// and fail counts and clear every injected fault: a clean slate for the next case.
    pub fn reset(&self) {
        self.run(&[
            "cibadmin",
            "--replace",
            "-o",
            "constraints",
            "--xml-text",
            "<constraints/>",
        ]);
        // Without their configuration the resources are orphans, which Pacemaker stops
        // (a target-role would not do: it can land in a rule-governed attribute set).
        // With fencing on, the fence device stays: without it Pacemaker (stonith-enabled=true)
        // cannot fence and so never stops the orphans.
        let keep = if self.fencing {
            self.fence_device()
        } else {
            String::new()
        };
        let resources = format!("<resources>{keep}</resources>");
        self.run(&[
            "cibadmin",
            "--replace",
            "-o",
            "resources",
            "--xml-text",
            &resources,
        ]);
        self.wait_for("every resource stopped", WAIT, |c| {
            let v = c.view()?;
            Some(
                v.resources
                    .iter()
                    .all(|(id, r)| !r.active || id == "fence-ocfc"),
            )
        });
        // The orphans' stops are done.
        self.wait_idle();

        // rsc_defaults exists only once something was set; no match is not an error here.
        if let Some(i) = self.any_node() {
            let _ = self.on(
                i,
                &[
                    "cibadmin",
                    "--delete-all",
                    "--xpath",
                    "/cib/configuration/rsc_defaults/*",
                ],
            );
        }
        self.run(&["crm_resource", "--cleanup"]);
        for i in 1..=self.n {
            if self.is_up(i) {
                self.fault_clear(i);
                let _ = std::fs::remove_file(self.node_path(i, "/run/ocfc-faults/calls"));
            }
        }
        self.wait_idle();
    }

    // ------------------------------------------------------------------ views and waits

    /// The cluster's view as node `i` sees it (`None` when its stack does not answer).
    pub fn view_from(&self, i: usize) -> Option<View> {
        if !self.is_up(i) {
            return None;
        }
        let o = self.on_within(
            i,
            &[
                "crm_mon",
                "-1",
                "--output-as=xml",
                "--include=failcounts,failures,nodes,resources,summary",
            ],
            Duration::from_secs(20),
        );
        o.success().then(|| View::parse(&o.stdout_text()))
    }

    /// The cluster's view from a quorate node.
    pub fn view(&self) -> Option<View> {
        self.view_from(self.any_node()?)
    }

    /// Nodes where `rsc` runs, according to the cluster.
    pub fn locate(&self, rsc: &str) -> Vec<String> {
        self.view().map(|v| v.locate(rsc)).unwrap_or_default()
    }

    /// Fail count of `rsc` on node `node`.
    pub fn failcount(&self, rsc: &str, node: &str) -> u32 {
        self.view().map(|v| v.failcount(rsc, node)).unwrap_or(0)
    }

    /// Poll `cond` (every 250 ms) until it returns `Some(true)` within `timeout`; panics with
    /// the cluster report on expiry. Returns the time it took.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        mut cond: impl FnMut(&Cluster) -> Option<bool>,
    ) -> Duration {
        let timeout = scaled(timeout);
        let t = Instant::now();
        let ok = Deadline::after(timeout).wait_until(Duration::from_millis(250), || {
            (cond(self) == Some(true)).then_some(())
        });
        if ok.is_none() {
            self.fail(&format!(
                "timeout after {}s waiting for: {what}",
                timeout.as_secs()
            ));
        }
        let d = t.elapsed();
        log(format!("ok after {:.1}s: {what}", d.as_secs_f64()));
        d
    }

    /// Wait until `rsc` runs on exactly `node` (the cluster's view).
    pub fn wait_running_on(&self, rsc: &str, node: &str) -> Duration {
        self.wait_for(&format!("{rsc} running on {node} only"), WAIT, |c| {
            Some(c.view()?.locate(rsc) == vec![node.to_string()])
        })
    }

    /// Wait until `rsc` runs on exactly one node other than `node`; returns that node.
    pub fn wait_moved_from(&self, rsc: &str, node: &str) -> String {
        let mut now = String::new();
        self.wait_for(
            &format!("{rsc} running on one node other than {node}"),
            WAIT,
            |c| {
                let l = c.view()?.locate(rsc);
                if l.len() == 1 && l[0] != node {
                    now = l[0].clone();
                    return Some(true);
                }
                Some(false)
            },
        );
        now
    }

    /// Wait until `rsc` is active nowhere.
    pub fn wait_stopped(&self, rsc: &str) -> Duration {
        self.wait_for(&format!("{rsc} stopped everywhere"), WAIT, |c| {
            Some(c.view()?.locate(rsc).is_empty())
        })
    }

    /// Wait until `node` is (or is not) online in the view of a quorate node.
    pub fn wait_online(&self, node: &str, online: bool) -> Duration {
        self.wait_for(
            &format!("{node} {}", if online { "online" } else { "offline" }),
            WAIT,
            |c| Some(c.view()?.nodes.get(node).copied().unwrap_or(false) == online),
        )
    }

    /// Wait until the cluster has no pending actions (`crm_resource --wait`).
    pub fn wait_idle(&self) -> Duration {
        self.wait_for("no pending cluster actions", WAIT, |c| {
            let i = c.any_node()?;
            Some(
                c.on_within(
                    i,
                    &["crm_resource", "--wait", "--timeout=10s"],
                    Duration::from_secs(15),
                )
                .success(),
            )
        })
    }

    // ------------------------------------------------------------------ faults and traces

    /// Make `action` of `rsc` on node `i` return `fault`, `count` times (`None`: until
    /// cleared). `action` is the wrapper's name: `start`, `stop`, `monitor` (recurring only),
    /// `probe`, ...
    pub fn fault(&self, i: usize, rsc: &str, action: &str, fault: Fault, count: Option<u32>) {
        let rc = match fault {
            Fault::Rc(rc) => rc.to_string(),
            Fault::Hang => "hang".to_string(),
        };
        let text = match count {
            Some(n) => format!("{rc} {n}\n"),
            None => format!("{rc}\n"),
        };
        let path = self.node_path(i, &format!("/run/ocfc-faults/{rsc}.{action}"));
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        log(format!(
            "{}: {rsc} {action} -> {rc} ({count:?} times)",
            name(i)
        ));
    }

    /// Remove every fault file of node `i`.
    pub fn fault_clear(&self, i: usize) {
        if let Ok(rd) = std::fs::read_dir(self.node_path(i, "/run/ocfc-faults")) {
            for e in rd.flatten() {
                if e.file_name() != "calls" {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }

    /// The action calls recorded on node `i` (empty when it is down).
    pub fn calls(&self, i: usize) -> Vec<Call> {
        if !self.is_up(i) {
            return Vec::new();
        }
        let text = std::fs::read_to_string(self.node_path(i, "/run/ocfc-faults/calls"))
            .unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let mut f = l.splitn(4, ' ');
                Some(Call {
                    t: f.next()?.parse().ok()?,
                    rsc: f.next()?.to_string(),
                    action: f.next()?.to_string(),
                    what: f.next()?.to_string(),
                })
            })
            .collect()
    }

    /// The number of completed calls `rsc action` on node `i` that returned `rc`.
    pub fn count_calls(&self, i: usize, rsc: &str, action: &str, rc: i32) -> usize {
        let end = format!("end {rc}");
        self.calls(i)
            .iter()
            .filter(|c| c.rsc == rsc && c.action == action && c.what == end)
            .count()
    }

    /// The IPv4 addresses on node `i`'s eth0 ([`addresses_of`]).
    pub fn addresses(&self, i: usize) -> Vec<String> {
        addresses_of(i)
    }

    /// The MAC address of node `i`'s eth0.
    pub fn mac(&self, i: usize) -> String {
        let (_, out, _) = host(
            &["ip", "-n", &ns(i), "-o", "link", "show", "dev", "eth0"],
            Duration::from_secs(5),
        );
        let mut w = out.split_whitespace();
        w.position(|x| x == "link/ether");
        w.next().unwrap_or_default().to_string()
    }

    /// From the client namespace: ping `ip` once (fresh ARP) and return the MAC that
    /// answered, or `None` when nothing answered.
    pub fn client_reaches(&self, ip: &str) -> Option<String> {
        let _ = host(
            &["ip", "-n", CLIENT_NS, "neigh", "flush", "dev", "eth0"],
            Duration::from_secs(5),
        );
        let (rc, _, _) = host(
            &[
                "ip", "netns", "exec", CLIENT_NS, "ping", "-c", "1", "-W", "2", ip,
            ],
            Duration::from_secs(5),
        );
        if rc != 0 {
            return None;
        }
        let (_, out, _) = host(
            &["ip", "-n", CLIENT_NS, "neigh", "show", ip],
            Duration::from_secs(5),
        );
        let mut w = out.split_whitespace();
        w.position(|x| x == "lladdr");
        w.next().map(str::to_string)
    }

    /// Mount points in node `i`'s mount namespace ([`mounts_of`]).
    pub fn mounts(&self, i: usize) -> Vec<String> {
        mounts_of(i)
    }

    /// The managed process of `ocf:*:Dummy` resource `rsc` on node `i` (pid as the node
    /// sees it), from the agent's state file at its default location.
    pub fn dummy_pid(&self, i: usize, rsc: &str) -> Option<i32> {
        // The SDK pid file beside the state file: the pid on line 1, its start time on line 2.
        let path = self.node_path(i, &format!("/run/ocfrs/Dummy/{rsc}.state.pid"));
        let text = std::fs::read_to_string(path).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// A file of `mib` MiB under [`STATE`] formatted ext4 and attached to a loop device every
    /// node sees (the nodes share the host's /dev): a stand-in for shared storage. Detached
    /// on drop.
    pub fn shared_disk(&mut self, mib: u32) -> String {
        let img = state().join("shared.img");
        let f = std::fs::File::create(&img).expect("create image");
        f.set_len(u64::from(mib) << 20).expect("size image");
        host_ok(&["mkfs.ext4", "-q", "-F", &img.to_string_lossy()]);
        let dev = host_ok(&["losetup", "--find", "--show", &img.to_string_lossy()])
            .trim()
            .to_string();
        assert!(dev.starts_with("/dev/loop"), "losetup: {dev}");
        self.loops.push(dev.clone());
        log(format!("shared disk {dev} ({mib} MiB ext4)"));
        dev
    }

    // ------------------------------------------------------------------ reports

    /// What a reader of a failed run needs: the cluster status, the recorded agent calls
    /// and the agents' log lines of every running node.
    pub fn report(&self) -> String {
        let mut r = String::new();
        match self.any_node() {
            Some(i) => {
                let o = self.on_within(
                    i,
                    &[
                        "crm_mon",
                        "-1",
                        "--show-detail",
                        "--failcounts",
                        "--show-node-attributes",
                        "-r",
                    ],
                    Duration::from_secs(20),
                );
                r.push_str(&format!(
                    "==== crm_mon (from {})\n{}\n",
                    name(i),
                    o.stdout_text()
                ));
            }
            None => r.push_str("==== no node with a running cluster stack\n"),
        }
        for i in 1..=self.n {
            if !self.is_up(i) {
                r.push_str(&format!("==== {} is down\n", name(i)));
                continue;
            }
            let calls = std::fs::read_to_string(self.node_path(i, "/run/ocfc-faults/calls"))
                .unwrap_or_default();
            // Successful recurring monitors are noise here.
            let tail: Vec<&str> = calls
                .lines()
                .filter(|l| !(l.contains(" monitor begin") || l.contains(" monitor end 0")))
                .rev()
                .take(60)
                .collect();
            r.push_str(&format!(
                "==== {} agent calls except successful monitors (last {})\n",
                name(i),
                tail.len()
            ));
            for l in tail.iter().rev() {
                r.push_str(l);
                r.push('\n');
            }
            let own = std::fs::read_to_string(self.node_path(i, "/run/ocfc-faults/agents.log"))
                .unwrap_or_default();
            let own: Vec<&str> = own.lines().collect();
            let k = own.len().min(60);
            r.push_str(&format!("==== {} agents' stderr (last {k})\n", name(i)));
            for l in &own[own.len() - k..] {
                r.push_str(l);
                r.push('\n');
            }
            let log =
                std::fs::read_to_string(self.node_path(i, "/var/log/pacemaker/pacemaker.log"))
                    .unwrap_or_default();
            let agent_lines: Vec<&str> = log
                .lines()
                .filter(|l| {
                    // The agents' own lines ("Type(rsc)[pid]: LEVEL: msg", through HA_LOGFILE),
                    // their output as Pacemaker saw it, and the operation results.
                    [
                        ": INFO: ",
                        ": WARNING: ",
                        ": ERROR: ",
                        ": CRIT: ",
                        ": DEBUG: ",
                    ]
                    .iter()
                    .any(|k| l.contains(k))
                        || l.contains("log_op_output")
                        || l.contains("ocf-exit-reason")
                        || l.contains("Result of")
                })
                .collect();
            let n = agent_lines.len().min(80);
            r.push_str(&format!(
                "==== {} agent log lines and results from pacemaker.log (last {n})\n",
                name(i)
            ));
            for l in &agent_lines[agent_lines.len() - n..] {
                r.push_str(l);
                r.push('\n');
            }
        }
        r
    }

    /// Fail the test with `msg` and the cluster report.
    pub fn fail(&self, msg: &str) -> ! {
        panic!("{msg}\n{}", self.report());
    }

    /// Time since bring-up started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The panic message usually carries the report already; the agents' calls and
            // logs of every node at the moment of failure are cheap to repeat.
            eprintln!("{}", self.report());
        }
        self.fencer_stop.store(true, Ordering::SeqCst);
        if let Some(f) = self.fencer.take() {
            let _ = f.join();
        }
        for i in 1..=self.n {
            self.kill_node(i);
        }
        for dev in std::mem::take(&mut self.loops) {
            let _ = host(&["losetup", "-d", &dev], Duration::from_secs(10));
        }
        remove_stale();
        log(format!(
            "down: cluster removed, {:.1}s after bring-up started",
            self.started.elapsed().as_secs_f64()
        ));
    }
}

/// The agent types of this test run's `ocfrs-agents` (`--list`).
pub fn ocfrs_types() -> Vec<String> {
    let (rc, out, err) = host(
        &[&crate::common::agents_bin().to_string_lossy(), "--list"],
        Duration::from_secs(10),
    );
    assert!(rc == 0, "ocfrs-agents --list: {err}");
    out.lines().map(str::to_string).collect()
}

/// The provider to use for agent `type_name` in a scenario: `ocfrs` unless the environment
/// variable `var` names another (e.g. `heartbeat`, to develop a scenario with Debian's shell
/// agent). With `ocfrs`, fails loudly when this build has no such agent.
pub fn provider(var: &str, type_name: &str) -> String {
    let p = std::env::var(var)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "ocfrs".to_string());
    if p == "ocfrs" {
        assert!(
            ocfrs_types().iter().any(|t| t == type_name),
            "scenario needs ocf:ocfrs:{type_name}, which this build of ocfrs-agents does not \
             provide (ocfrs-agents --list). Set {var}=heartbeat to run the scenario with \
             Debian's ocf:heartbeat:{type_name} meanwhile."
        );
    } else {
        assert!(
            Path::new("/usr/lib/ocf/resource.d")
                .join(&p)
                .join(type_name)
                .is_file(),
            "{var}={p}: no agent /usr/lib/ocf/resource.d/{p}/{type_name} on this host"
        );
    }
    log(format!("using ocf:{p}:{type_name}"));
    p
}

/// XML-escape an attribute value.
pub fn xesc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A primitive's CIB XML: `params` and `meta` as name/value pairs, `ops` as
/// `(name, interval, timeout, extra attributes)`.
pub fn primitive(
    id: &str,
    agent: &str,
    params: &[(&str, &str)],
    meta: &[(&str, &str)],
    ops: &[(&str, &str, &str, &str)],
) -> String {
    let mut parts = agent.splitn(3, ':');
    let class = parts.next().unwrap_or_default();
    let (prov, typ) = match (parts.next(), parts.next()) {
        (Some(p), Some(t)) => (format!(" provider=\"{}\"", xesc(p)), t),
        (Some(t), None) => (String::new(), t),
        _ => (String::new(), ""),
    };
    let mut x = format!(
        "<primitive id=\"{id}\" class=\"{class}\"{prov} type=\"{}\">",
        xesc(typ)
    );
    x.push_str(&nvpairs(
        "instance_attributes",
        &format!("{id}-params"),
        params,
    ));
    x.push_str(&nvpairs("meta_attributes", &format!("{id}-meta"), meta));
    if !ops.is_empty() {
        x.push_str("<operations>");
        for (n, interval, timeout, extra) in ops {
            x.push_str(&format!(
                "<op id=\"{id}-{n}-{interval}\" name=\"{n}\" interval=\"{interval}\" timeout=\"{timeout}\" {extra}/>"
            ));
        }
        x.push_str("</operations>");
    }
    x.push_str("</primitive>");
    x
}

/// An attribute set `<{set} id="{id}">` of `pairs` (nvpair ids `{id}-{name}`); nothing when
/// `pairs` is empty.
fn nvpairs(set: &str, id: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let mut x = format!("<{set} id=\"{id}\">");
    for (k, v) in pairs {
        x.push_str(&format!(
            "<nvpair id=\"{id}-{k}\" name=\"{k}\" value=\"{}\"/>",
            xesc(v)
        ));
    }
    x.push_str(&format!("</{set}>"));
    x
}

/// A location constraint `rsc` prefers `node` with `score`.
pub fn prefer(rsc: &str, node: &str, score: &str) -> String {
    format!(
        "<rsc_location id=\"loc-{rsc}-{node}\" rsc=\"{rsc}\" node=\"{node}\" score=\"{score}\"/>"
    )
}

// ------------------------------------------------------------------ service subnet (issue 20)
//
// Helpers added for the seed-policy scenarios (tests/cluster/subnets.rs); nothing above uses
// them and they change nothing of a cluster that does not call them.

/// The second network's /24 ("service subnet"), inside the namespaces only.
pub const SERVICE_NET: &str = "198.51.100";

impl Cluster {
    /// A second network for services: in every node an `eth1` with `198.51.100.1I/24`,
    /// plugged by port `sI` into bridge `br1` of the switch namespace (the client gets
    /// `198.51.100.200` on its own `eth1`). Removed with the namespaces at teardown.
    pub fn service_subnet(&self) {
        let ip = |args: &[&str]| {
            let mut v = vec!["ip"];
            v.extend_from_slice(args);
            host_ok(&v);
        };
        ip(&["-n", SWITCH_NS, "link", "add", "br1", "type", "bridge"]);
        ip(&["-n", SWITCH_NS, "link", "set", "br1", "up"]);
        let ends: Vec<(String, String, String)> = (1..=self.n)
            .map(|i| {
                (
                    ns(i),
                    format!("s{i}"),
                    format!("{SERVICE_NET}.{}/24", 10 + i),
                )
            })
            .chain([(
                CLIENT_NS.to_string(),
                "sc".to_string(),
                format!("{SERVICE_NET}.200/24"),
            )])
            .collect();
        for (n, port, addr) in &ends {
            ip(&[
                "-n", SWITCH_NS, "link", "add", port, "type", "veth", "peer", "name", "eth1",
                "netns", n,
            ]);
            ip(&["-n", SWITCH_NS, "link", "set", port, "master", "br1", "up"]);
            ip(&["-n", n, "link", "set", "eth1", "up"]);
            ip(&["-n", n, "addr", "add", addr, "dev", "eth1"]);
        }
        log(format!(
            "service subnet {SERVICE_NET}.0/24 on eth1 of every node"
        ));
    }

    /// Node `i`'s service subnet cable: `false` takes its switch port down (the node's eth1
    /// loses carrier, as when a switch or cable fails), `true` puts it back.
    pub fn subnet_link(&self, i: usize, up: bool) {
        host_ok(&[
            "ip",
            "-n",
            SWITCH_NS,
            "link",
            "set",
            &format!("s{i}"),
            if up { "up" } else { "down" },
        ]);
        log(format!(
            "{}: service subnet link {}",
            name(i),
            if up { "up" } else { "down" }
        ));
    }

    /// The IPv4 addresses on node `i`'s eth1.
    pub fn subnet_addresses(&self, i: usize) -> Vec<String> {
        addresses_on(i, "eth1")
    }
}

// ------------------------------------------------------------------ libvirt hosts (issue 15)
//
// Helpers for the virtual-domain scenario (tests/cluster/vms.rs): every node also a libvirt
// host. Nothing above uses them and they change nothing of a cluster that does not call them.

/// Run inside a node (all its namespaces) by [`Cluster::libvirt_host`]. Arguments: the node's
/// libvirt state directory (tests/common/libvirt.rs `host_state`), the cluster's hosts file.
/// The bind mounts live in the node's private mount namespace; the daemons, reparented to
/// the node's PID 1, die with the node.
const LIBVIRT_NODE_SH: &str = r#"
set -eu
d=$1 hosts=$2
mkdir -p /run/libvirt /var/log/libvirt/qemu
mount --bind "$d/etc" /etc/libvirt
mount --bind "$d/lib" /var/lib/libvirt
mount --bind "$d/cache" /var/cache/libvirt
mount --bind "$hosts" /etc/hosts
virtlogd -d -p /run/virtlogd.pid </dev/null >/dev/null 2>&1
libvirtd -d -l -p /run/libvirtd.pid </dev/null >/dev/null 2>&1
"#;

/// Seconds since the epoch at which host process `pid` started: its start in clock ticks
/// since boot (`/proc/<pid>/stat` field 22) against the time since boot now
/// (`/proc/uptime`, the same clock) and the wall clock now; 10 ms resolution.
pub fn process_start_epoch(pid: i32) -> Option<f64> {
    let p = ocf::process::Proc::read(pid)?;
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as f64 } else { 100.0 };
    Some(wall - uptime + p.start_ticks as f64 / hz)
}

impl Cluster {
    /// Make running node `i` a libvirt host with fresh state in `dir/nI` (a copy of the
    /// machine's /etc/libvirt and /var/lib/libvirt, tests/common/libvirt.rs `host_state`,
    /// libvirtd listening on TCP without auth on the node's address only), bound over the machine's paths in the node's mount
    /// namespace together with a hosts file naming every node; virtlogd and libvirtd started
    /// in the node. Waits (60 s) until `virsh -c qemu:///system` answers inside the node.
    /// Call it again after the node is booted again: a rebooted node is a fresh host.
    pub fn libvirt_host(&self, i: usize, dir: &Path) {
        let hosts = dir.join("hosts");
        let mut text = String::from("127.0.0.1 localhost\n");
        for j in 1..=self.n {
            text.push_str(&format!("{NET}.{} {}\n", 10 + j, name(j)));
        }
        write(&hosts, &text, 0o644);
        let d = dir.join(name(i));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("node libvirt state dir");
        crate::common::libvirt::host_state(&d, &format!("{NET}.{}", 10 + i));
        let script = dir.join("libvirt-node.sh");
        write(&script, LIBVIRT_NODE_SH, 0o755);
        self.on_ok(
            i,
            &[
                "bash",
                &script.to_string_lossy(),
                &d.to_string_lossy(),
                &hosts.to_string_lossy(),
            ],
        );
        let answered = Deadline::after(WAIT).wait_until(Duration::from_millis(250), || {
            self.on_within(
                i,
                &["virsh", "-q", "-c", "qemu:///system", "version"],
                Duration::from_secs(10),
            )
            .success()
            .then_some(())
        });
        if answered.is_none() {
            let log = std::fs::read_to_string(self.node_path(i, "/var/log/libvirt/libvirtd.log"))
                .unwrap_or_default();
            self.fail(&format!(
                "libvirtd on {} does not answer after {}s; its log:\n{log}",
                name(i),
                WAIT.as_secs()
            ));
        }
        log(format!("{}: libvirt host up", name(i)));
    }

    /// `virsh -q -c qemu:///system ARGS` inside node `i` (20 s at most).
    pub fn virsh(&self, i: usize, args: &[&str]) -> Output {
        let mut argv = vec!["virsh", "-q", "-c", "qemu:///system"];
        argv.extend_from_slice(args);
        self.on_within(i, &argv, Duration::from_secs(20))
    }

    /// Host pids of the QEMU processes of node `i` that run domain `dom` ([`qemu_in`]);
    /// empty when the node is down.
    pub fn qemu_of(&self, i: usize, dom: &str) -> Vec<i32> {
        match self.nodes.get(i - 1).and_then(|n| n.init) {
            Some(init) if self.is_up(i) => qemu_in(init, dom),
            _ => Vec::new(),
        }
    }
}

/// Host pids of the QEMU processes running domain `dom` (QEMU's `-name guest=DOM,...`) in
/// the PID namespace whose init is `init` (usable from a sampling thread).
pub fn qemu_in(init: i32, dom: &str) -> Vec<i32> {
    let guest = format!("guest={dom},");
    pids_in_pidns_of(init)
        .into_iter()
        .filter(|p| {
            ocf::process::Proc::read(*p).is_some_and(|x| {
                let argv = x.cmdline();
                argv.first()
                    .is_some_and(|a| a.to_string_lossy().contains("qemu-system"))
                    && argv
                        .iter()
                        .any(|a| a.to_string_lossy().starts_with(guest.as_str()))
            })
        })
        .collect()
}

// ------------------------------------------------------------------ slow machines (issue 14)

/// The environment variable multiplying the harness's waits (condition waits, node boot):
/// an integer factor, 1 when unset. The NFS service group sets it inside the emulated (TCG)
/// NFS guest, where Pacemaker runs several times slower than on a node.
pub const TIME_SCALE_VAR: &str = "OCFC_TIME_SCALE";

/// `d` multiplied by [`TIME_SCALE_VAR`].
pub fn scaled(d: Duration) -> Duration {
    let k = std::env::var(TIME_SCALE_VAR)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .filter(|k| *k >= 1)
        .unwrap_or(1);
    d * k
}

// ------------------------------------------------------------------ scenario building blocks
//
// The pieces several scenarios build their CIB and their client checks from.

/// `ocf:{provider}:IPaddr2` primitive `id`: the floating address `vip`/24 on the nodes' eth0.
pub fn ipaddr2_primitive(
    id: &str,
    provider: &str,
    vip: &str,
    ops: &[(&str, &str, &str, &str)],
) -> String {
    primitive(
        id,
        &format!("ocf:{provider}:IPaddr2"),
        &[("ip", vip), ("cidr_netmask", "24"), ("nic", "eth0")],
        &[],
        ops,
    )
}

/// `ocf:{provider}:Filesystem` primitive `id`: the ext4 shared disk `dev` mounted on `dir`.
pub fn ext4_primitive(
    id: &str,
    provider: &str,
    dev: &str,
    dir: &str,
    ops: &[(&str, &str, &str, &str)],
) -> String {
    primitive(
        id,
        &format!("ocf:{provider}:Filesystem"),
        &[("device", dev), ("directory", dir), ("fstype", "ext4")],
        &[],
        ops,
    )
}

/// Group `id` of the primitives `members` (their XML, in order) with `resource-stickiness`
/// 100, so that it stays where it runs when its preferred node returns.
pub fn sticky_group(id: &str, members: &[String]) -> String {
    format!(
        "<group id=\"{id}\">{}<meta_attributes id=\"{id}-meta\">\
           <nvpair id=\"{id}-meta-stickiness\" name=\"resource-stickiness\" value=\"100\"/>\
         </meta_attributes></group>",
        members.concat()
    )
}

/// What the client namespace gets with `curl -sS --max-time 3 {args}` (bounded to 10 s), if
/// curl succeeds.
pub fn client_curl(args: &[&str]) -> Option<String> {
    let mut argv = vec![
        "ip",
        "netns",
        "exec",
        CLIENT_NS,
        "curl",
        "-sS",
        "--max-time",
        "3",
    ];
    argv.extend_from_slice(args);
    let (rc, out, _) = host(&argv, Duration::from_secs(10));
    (rc == 0).then_some(out)
}
