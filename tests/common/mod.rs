//! Shared fixtures for the integration suite.
//!
//! * [`agent`]: the path of an installed-looking agent (`.../resource.d/ocfrs/<Type>`, a hard
//!   link to the freshly built multicall binary), so `argv[0]` is the type as under Pacemaker;
//! * [`TempDir`]: a directory removed on drop (also after a failed assertion);
//! * [`run`]: `ocf::testing::Run` for a binary agent;
//! * [`Act`]: run one action of such an invocation and assert its exit code;
//! * root-only tests are marked `#[cfg_attr(not(feature = "root-tests"), ignore = "...")]`; the
//!   README test command enables the feature, so CI never skips them silently.
#![allow(dead_code)]

mod act;
pub mod libvirt;
pub mod libvirt_state;
mod shared;

pub use shared::{sh, TempDir};

/// The prefix of the integration suite's temporary directories ([`TempDir`]).
const TEMP_PREFIX: &str = "ocfrs-it";

pub use act::Act;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The multicall binary Cargo built for this test run.
pub fn agents_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ocfrs-agents"))
}

/// Our `ocf-tester` binary, next to the agents (tests/run.sh builds every binary first).
pub fn our_tester() -> PathBuf {
    let p = agents_bin().with_file_name("ocf-tester");
    assert!(
        p.exists(),
        "{} missing: build every binary first (`cargo build --workspace --bins`, as tests/run.sh does)",
        p.display()
    );
    p
}

/// The rows of our ocf-tester's summary table that failed (text output), in table order.
pub fn tester_failures(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.ends_with(" FAIL")).collect()
}

/// chmod.
pub fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
}

/// A provider directory holding every agent of the multicall binary under its type name,
/// created once per test process (hard links to the binary; copies if linking fails).
pub fn provider_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        remove_stale_provider_dirs();
        let root = std::env::temp_dir().join(format!("ocfrs-it-agents-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = root.join("resource.d/ocfrs");
        std::fs::create_dir_all(&dir).expect("create provider dir");
        for d in [root.as_path(), &root.join("resource.d"), &dir] {
            set_mode(d, 0o755);
        }
        let bin = root.join("ocfrs-agents");
        std::fs::copy(agents_bin(), &bin).expect("copy binary");
        set_mode(&bin, 0o755);
        // A concurrent fork in another test thread can briefly hold the copy's write
        // descriptor (ETXTBSY until that child execs): retry for a while.
        let mut tries = 0;
        let out = loop {
            match std::process::Command::new(&bin).arg("--list").output() {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 100 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                r => break r.expect("--list"),
            }
        };
        for name in String::from_utf8_lossy(&out.stdout).lines() {
            let dst = dir.join(name);
            if std::fs::hard_link(&bin, &dst).is_err() {
                std::fs::copy(&bin, &dst).expect("copy agent");
            }
        }
        dir
    })
}

/// Removes the provider directories of test processes that have ended (each holds a copy of
/// the debug binary, about 70 MB: the NFS guest runs every case as a process of its own in a
/// RAM-backed /tmp, which they filled). Only directories named by [`provider_dir`] whose pid
/// no longer exists are touched.
fn remove_stale_provider_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("ocfrs-it-agents-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The path of agent `type_name` as an installed agent.
pub fn agent(type_name: &str) -> PathBuf {
    provider_dir().join(type_name)
}

/// An invocation of the binary agent `type_name` with an empty environment.
pub fn run(type_name: &str) -> ocf::testing::Run {
    ocf::testing::Run::binary(agent(type_name))
}

/// Runs Debian's shell `ocf-tester` (package resource-agents) with `args` and
/// `OCF_ROOT=/usr/lib/ocf`: (code, stdout, stderr).
pub fn shell_tester<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (i32, String, String) {
    sh(std::process::Command::new("/usr/sbin/ocf-tester")
        .env("OCF_ROOT", "/usr/lib/ocf")
        .args(args))
}

/// The directories the SDK appends to every agent's `PATH`: a program there is found by an
/// agent whatever its caller's `PATH` says.
pub use ocf::dispatch::AGENT_STD_DIRS;

/// Where `tool` is in one of [`AGENT_STD_DIRS`], if anywhere.
pub fn in_agent_std_dirs(tool: &str) -> Option<PathBuf> {
    AGENT_STD_DIRS
        .iter()
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.exists())
}

/// Polls `f` every 50 ms until it holds; fails after `d` naming `what` was awaited.
pub fn wait_for(what: &str, d: std::time::Duration, mut f: impl FnMut() -> bool) {
    let t = std::time::Instant::now();
    while !f() {
        assert!(t.elapsed() < d, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// Samples, until `stop` is set, every `/proc/*/cmdline` and the environment of every
/// process that is not an agent (whoever owns it) for `secrets`; returns the number of
/// rounds and what it found. An agent (a process whose executable is one of the agents'
/// paths, the installed-looking links or the built binary) receives its parameters from its
/// caller in an environment only root can read: that is the OCF contract, so its own
/// environment is not a leak; its command line is checked like every other.
pub fn sample_for_secrets(
    secrets: Vec<String>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<(usize, Vec<String>)> {
    use std::sync::atomic::Ordering;
    let me = std::process::id() as i32;
    let agents: Vec<PathBuf> = std::fs::read_dir(provider_dir())
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    let built = std::fs::canonicalize(agents_bin()).unwrap_or_else(|_| agents_bin());
    std::thread::spawn(move || {
        let mut found = Vec::new();
        let mut samples = 0;
        while !stop.load(Ordering::SeqCst) {
            samples += 1;
            for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                if pid == me {
                    continue;
                }
                let cl = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let cl = String::from_utf8_lossy(&cl).replace('\0', " ");
                let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
                let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
                let env = String::from_utf8_lossy(&env).into_owned();
                let is_agent = exe
                    .as_deref()
                    .is_some_and(|x| x == built || agents.iter().any(|a| a == x));
                for s in &secrets {
                    if cl.contains(s.as_str()) {
                        found.push(format!("cmdline of {pid}: {cl}"));
                    }
                    if !is_agent && env.contains(s.as_str()) {
                        found.push(format!("environment of {pid} ({cl})"));
                    }
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        (samples, found)
    })
}

/// A MariaDB instance's files under `dir` for the mysql agent to initialise and start:
/// `dir/data` (empty, owned by mysql) and `dir/my.cnf` listening on 127.0.0.1:`port`.
pub fn mysql_datadir(dir: &Path, port: u16) {
    std::fs::create_dir_all(dir.join("data")).expect("create datadir");
    let (rc, _, err) = sh(std::process::Command::new("chown")
        .arg("mysql:mysql")
        .arg(dir.join("data")));
    assert_eq!(rc, 0, "{err}");
    std::fs::write(
        dir.join("my.cnf"),
        format!("[mysqld]\nport={port}\nbind-address=127.0.0.1\n"),
    )
    .expect("write my.cnf");
}

/// Runs `sql` as root over `socket` (unix_socket authentication). The statements go on
/// stdin, never on argv: they may carry the very passwords a test looks for on every
/// command line.
pub fn mariadb_stdin(socket: &Path, sql: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("mariadb")
        .arg(format!("--socket={}", socket.display()))
        .args(["-N", "-B"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run mariadb: {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(sql.as_bytes()).expect("write SQL");
    drop(stdin);
    let out = child.wait_with_output().expect("mariadb");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{sql}: {err}");
}

/// Shell lines, for a `sh -c` script run in a private mount namespace (`unshare --mount
/// --propagation private`) with `$t` set to a scratch directory: `/dev` becomes a directory
/// of the script's own holding only the host's null, zero, full, random and urandom nodes
/// (bound one by one), so that `/dev/log`, `/dev/kmsg` and everything else of the host's are
/// out of reach. `--rbind` brings the bound nodes along.
pub const PRIVATE_DEV_SH: &str = r#"
mkdir -p "$t/dev"
for n in null zero full random urandom; do
  : > "$t/dev/$n"; mount --bind "/dev/$n" "$t/dev/$n"
done
mount --rbind "$t/dev" /dev
"#;

/// Shell lines, with `$agent` the Dummy agent and `$instance` its instance name: Dummy's
/// validate-all with `HA_LOGFACILITY=local3`, once valid with an unknown parameter (one
/// WARNING line; prints `valid-rc=0`) and once invalid (`op_sleep=abc`: one ERROR line;
/// prints `agent-rc=6`). For the logging tests that read those lines back.
pub const DUMMY_WARNING_AND_ERROR_SH: &str = r#"
run() {
  env -i HA_LOGFACILITY=local3 OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE="$instance" "$@" \
    "$agent" validate-all < /dev/null
}
rc=0; run OCF_RESKEY_ocfadm_unknown=1 || rc=$?
echo "valid-rc=$rc"
rc=0; run OCF_RESKEY_op_sleep=abc || rc=$?
echo "agent-rc=$rc"
"#;

/// Runs, in a private mount namespace (bounded: 60 s, SIGKILL 5 s later), [`PRIVATE_DEV_SH`],
/// `daemon_sh` (starting the logging daemon the test reads), [`DUMMY_WARNING_AND_ERROR_SH`]
/// and `read_back_sh`, with `$t` the scratch directory `dir`, `$agent` the Dummy agent and
/// `$instance` `instance`. Asserts that the script exited 0 and Dummy answered 0 and 6;
/// returns the script's stdout and stderr.
pub fn dummy_logs_in_private_namespace(
    instance: &str,
    daemon_sh: &str,
    read_back_sh: &str,
    dir: &Path,
) -> (String, String) {
    let script = [
        "set -u\nt=$1; agent=$2; instance=$3\n",
        PRIVATE_DEV_SH,
        daemon_sh,
        DUMMY_WARNING_AND_ERROR_SH,
        read_back_sh,
    ]
    .concat();
    let (rc, out, err) = sh(std::process::Command::new("timeout")
        .args([
            "-k",
            "5",
            "60",
            "unshare",
            "--mount",
            "--propagation",
            "private",
        ])
        .args(["--", "sh", "-c", &script, "sh"])
        .arg(dir)
        .arg(agent("Dummy"))
        .arg(instance));
    assert_eq!(rc, 0, "{out}{err}");
    assert!(
        out.contains("valid-rc=0") && out.contains("agent-rc=6"),
        "{out}{err}"
    );
    (out, err)
}

/// Moves the calling thread (and so every process it starts) into a mount namespace of its
/// own with private propagation: what it mounts is seen by nobody else, and mounts made
/// elsewhere afterwards do not reach it.
pub fn private_mount_namespace() {
    use nix::mount::{mount, MsFlags};
    use nix::sched::{unshare, CloneFlags};
    unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_FS).expect("unshare mount namespace");
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .expect("make / private");
}
