//! `mysql`: a MySQL or MariaDB server as a primitive, a clone, or a promotable clone with
//! asynchronous replication managed by the agent.
//!
//! # How the agent talks to the server (and why)
//! Through the `client_binary` (mysql / mariadb) over the instance's Unix socket, with the
//! credentials in a 0600 options file that is removed when the action ends
//! ([`ocf::secret::OptionsFile`]), SQL on standard input and answers read as the client's
//! XML ([`client`]). The alternative, the MySQL protocol in process with the `mysql` crate
//! (no default features, pure-Rust compression), was built and measured first: it made the
//! multicall binary that every agent shares grow from 2.5 MiB to 5.5 MiB and its relocations
//! from 3,500 to 15,400 (the crate pulls url/idna/ICU, regex and serde_json), and a Dummy
//! monitor went from 96 to 170 page faults and from 0.80-0.97 ms to 1.07-1.37 ms of CPU
//! (`perf stat -r 300`, release build, this 2-core VM, three alternating rounds): +75 %
//! page faults and +25-45 % CPU on every call of every agent. The client costs only the
//! mysql agent, and only at depth 10 and for a promotable clone (one client run per
//! monitor for a primitive, two or three for a replica); depth 0 forks nothing. The agent
//! as built costs the other agents 290 KiB of binary (3.09 → 3.38 MB) and about 8 page
//! faults per call (a Dummy monitor: 101-103 → 109-113, same measurement, release build of
//! the merged tree); bench/README.md has its own rows against the shell agent.
//!
//! No password is ever on a command line or in a child's environment: credentials are in
//! the options file, statements that carry one (`CHANGE MASTER TO ... MASTER_PASSWORD`)
//! go on the client's stdin, and every child (the server, the initialiser, the client,
//! crm_attribute) starts from an environment without the `OCF_RESKEY_*passwd` variables.
//!
//! # Behaviour (differences from the shell agent in **bold**)
//! * **start** prepares the log (0640 user:group), the pid and socket directories (created
//!   user:group when missing) and checks that user can write them and the datadir (4 when
//!   not); with `enable_creation`, initialises a datadir that holds no database, **never one
//!   that holds anything else**; launches `binary` as user in a session of its own
//!   ([`ocf::daemon`]) (**a promotable clone's member with `--read-only`**: never writable
//!   before promotion, where the shell agent sets `read_only` after the server is up) and waits **within the start budget** until the server answers a
//!   query on its socket; a server that dies during start is reported with the last lines
//!   of its error log.
//! * **monitor** depth 0: **the server process recorded at start (pid + start time)** is
//!   alive (one restarted by mysqld_safe in the same session is accepted and recorded) **and
//!   not stopped by a signal (state T: 1, "it answers nothing")**;
//!   depth 10 (forced for a promotable clone): `SELECT COUNT(*) FROM test_table` as
//!   test_user. Promotable: `read_only` off → 8 and score max_slave_lag+1; a replica is
//!   judged from its replica status: **a stopped or failing IO or SQL thread, or a lag above
//!   max_slave_lag, clears the reader attribute and removes the promotion score** (RA#1377,
//!   #1378, #1005); a replica that only cannot reach its source (the source died) keeps score
//!   1, so it can be promoted when no healthy replica exists, never over one.
//! * **promote**: stops and forgets replication, publishes `host|file|pos` in
//!   `<instance>_REPL_INFO`, `read_only` off, score max_slave_lag+1, reader 1. **demote**:
//!   **`read_only` on**, score 1. **notify** pre-demote (on the node demoted): `read_only` on
//!   and client connections killed; post-promote (others): wait (bounded) for the relay log
//!   to be applied, replicate from the new source; post-demote: stop replicating.
//! * **The source survives a replica's reboot** (RA#1841): a replica starting without a
//!   promoted instance in its notification variables replicates from the host published in
//!   `<instance>_REPL_INFO` when that is another node.
//! * Replication uses GTID where the server offers it (MariaDB `MASTER_USE_GTID=slave_pos`,
//!   MySQL with `gtid_mode=ON` auto-positioning), the published binlog file and position
//!   otherwise; statements follow the server version (see [`sql`]).
//! * **stop**: TERM to every process of the instance (mysqld_safe ignores it; the server
//!   shuts down), then KILL to whatever is left, **within the stop budget**; removes the pid
//!   file and socket; fails only if a process of the instance survived SIGKILL.

pub mod attrs;
pub mod client;
pub mod meta;
pub mod sql;

use client::{Client, DbError, Facts};
use ocf::daemon::{self, Daemon, Ready};
use ocf::process::{self, Account, Cmd, Escalation, Pidfile, Proc, ProcRef};
use ocf::{cluster, files, Context, Error, Params, ResourceAgent, Result, Status};
use sql::{Flavor, Health, Position, ReplInfo, Source};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The agent.
pub struct Mysql;

/// The parsed configuration.
#[derive(Clone)]
pub struct Config {
    /// Server launcher.
    pub binary: PathBuf,
    /// Client program.
    pub client: PathBuf,
    /// `--defaults-file`.
    pub config: PathBuf,
    /// Data directory.
    pub datadir: PathBuf,
    /// Run-as user name.
    pub user: String,
    /// Group name.
    pub group: String,
    /// Error log.
    pub log: PathBuf,
    /// The server's own pid file.
    pub pid: PathBuf,
    /// Socket.
    pub socket: PathBuf,
    /// Test table as an identifier (`None`: no test query).
    pub test_table: Option<String>,
    /// Test table as configured (for messages).
    pub test_table_name: String,
    /// Test account.
    pub test_user: String,
    /// Its password (secret).
    test_passwd: String,
    /// Initialise an empty datadir.
    pub enable_creation: bool,
    /// Extra server arguments, split.
    pub additional: Vec<String>,
    /// Replication account.
    pub repl_user: String,
    /// Its password (secret).
    repl_passwd: String,
    /// Source port.
    pub repl_port: u16,
    /// TLS towards the source.
    pub repl_tls: Option<(String, String, String)>,
    /// Lag tolerated.
    pub max_lag: u64,
    /// Fail lagging replicas.
    pub evict: bool,
    /// Reader attribute name.
    pub reader_attribute: String,
}

impl std::fmt::Debug for Config {
    // Hand-written so that the passwords never reach a debug string.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("binary", &self.binary)
            .field("config", &self.config)
            .field("datadir", &self.datadir)
            .field("user", &self.user)
            .field("socket", &self.socket)
            .field("pid", &self.pid)
            .field("test_user", &self.test_user)
            .field("test_passwd", &"<secret>")
            .field("repl_user", &self.repl_user)
            .field("repl_passwd", &"<secret>")
            .finish_non_exhaustive()
    }
}

/// Environment variables that may hold a secret: removed from every child's environment.
const SECRET_VARS: &[&str] = &["OCF_RESKEY_test_passwd", "OCF_RESKEY_replication_passwd"];

/// A command whose environment holds none of the secrets.
pub fn quiet_cmd(program: impl AsRef<std::ffi::OsStr>) -> Cmd {
    SECRET_VARS
        .iter()
        .fold(Cmd::new(program), |c, v| c.env_remove(v))
}

/// The search path for the server and its tools.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Split `additional_parameters` into the server's extra arguments ([`ocf::words`]: as a
/// shell would split them, without one).
///
/// # Errors
/// 6 for an unterminated quote.
pub fn split_words(s: &str) -> Result<Vec<String>> {
    ocf::words::split(s).map_err(|e| Error::configured(format!("additional_parameters: {e}")))
}

fn abs(name: &str, v: String) -> Result<PathBuf> {
    let p = PathBuf::from(v.trim());
    if p.is_absolute() {
        Ok(p)
    } else {
        Err(Error::configured(format!(
            "{name} must be an absolute path, not '{}'",
            p.display()
        )))
    }
}

// ---------------------------------------------------------------------------------------
// Process identity.

/// The SDK pid file (pid + start time) recording the server this agent started.
fn server_record(cx: &Context) -> Pidfile {
    Pidfile::new(files::instance_file(cx, "server"))
}

/// The SDK pid file recording the process the agent launched (mysqld_safe, or the server
/// itself): the leader of the session every process of the instance lives in.
fn launcher_record(cx: &Context) -> Pidfile {
    Pidfile::new(files::instance_file(cx, "launcher"))
}

fn looks_like_server(p: &Proc) -> bool {
    let names = ["mysqld", "mariadbd"];
    names.contains(&p.comm.as_str())
        || p.exe()
            .and_then(|e| e.file_name().map(|n| n.to_string_lossy().into_owned()))
            .is_some_and(|n| names.contains(&n.as_str()))
}

fn read_pidfile(path: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(path).ok()?;
    text.split_whitespace()
        .next()?
        .parse()
        .ok()
        .filter(|p: &i32| *p > 0)
}

/// The running server of this instance, if any (depth 0: reads /proc and pid files, forks
/// nothing).
fn server(cfg: &Config, cx: &Context) -> Option<ProcRef> {
    let rec = server_record(cx);
    if let Ok(Some(p)) = daemon::status(&rec, None) {
        return Some(p);
    }
    let pid = read_pidfile(&cfg.pid)?;
    let p = Proc::read(pid).filter(|p| !p.is_zombie())?;
    if !looks_like_server(&p) {
        return None;
    }
    match rec.read_record().ok().flatten() {
        // We started a server that is gone: accept only a successor its launcher started in
        // the same session (mysqld_safe restarts a crashed server), and record it.
        Some(_) => {
            let launcher = launcher_record(cx).running(None).ok().flatten()?;
            (p.sid == launcher.pid).then(|| {
                let _ = rec.write_identity(p.identity());
                p.identity()
            })
        }
        // Not started by this agent (or its run directory was emptied): a server process
        // named by the pid file, never an unrelated process that reused the pid.
        None => Some(p.identity()),
    }
}

/// Depth 0 reads /proc only: a server process stopped by a signal (SIGSTOP, a debugger) is
/// alive but serves nothing, which the process check alone would call running.
///
/// # Errors
/// 1 naming the server's pid and state.
fn stopped_server(srv: ProcRef) -> Result<()> {
    match Proc::read(srv.pid) {
        Some(p) if matches!(p.state, 'T' | 't') => Err(Error::generic(format!(
            "server {} ({}) is stopped (state {}): it answers nothing",
            p.pid, p.comm, p.state
        ))),
        _ => Ok(()),
    }
}

/// Outside a promotable clone (a tester calling promote on a primitive), the role is kept in
/// this marker so that monitor reports what promote did; Pacemaker never promotes a
/// primitive.
fn promoted_marker(cx: &Context) -> PathBuf {
    files::instance_file(cx, "promoted")
}

// ---------------------------------------------------------------------------------------
// Directories.

/// Whether `who` may use a directory with `md` for the permission bits `want` (3 = write
/// and search, 1 = search), from owner, group and mode (root may do anything).
fn permits(who: &Account, md: &std::fs::Metadata, want: u32) -> bool {
    if who.uid == 0 {
        return true;
    }
    let mode = md.mode();
    let bits = if md.uid() == who.uid {
        (mode >> 6) & 7
    } else if who.groups.contains(&md.gid()) || md.gid() == who.gid {
        (mode >> 3) & 7
    } else {
        mode & 7
    };
    bits & want == want
}

/// Whether `who` can create files in `dir` (every ancestor searchable, `dir` writable).
fn writable_by(who: &Account, dir: &Path) -> bool {
    let ancestors_ok = dir
        .ancestors()
        .skip(1)
        .all(|anc| std::fs::metadata(anc).is_ok_and(|md| permits(who, &md, 1)));
    ancestors_ok && std::fs::metadata(dir).is_ok_and(|md| md.is_dir() && permits(who, &md, 3))
}

fn parent_of(p: &Path) -> PathBuf {
    p.parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
}

fn chown_to(p: &Path, who: &Account) -> Result<()> {
    std::os::unix::fs::lchown(p, Some(who.uid), Some(who.gid))
        .map_err(|e| Error::perm(format!("chown {}: {e}", p.display())))
}

fn prepare_dirs(cfg: &Config, who: &Account) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let log_dir = parent_of(&cfg.log);
    if !log_dir.exists() {
        std::fs::create_dir_all(&log_dir)
            .map_err(|e| Error::perm(format!("cannot create {}: {e}", log_dir.display())))?;
        chown_to(&log_dir, who)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(&cfg.log)
        .map_err(|e| Error::perm(format!("cannot create log {}: {e}", cfg.log.display())))?;
    chown_to(&cfg.log, who)?;
    std::fs::set_permissions(&cfg.log, std::fs::Permissions::from_mode(0o640))
        .map_err(|e| Error::perm(format!("chmod {}: {e}", cfg.log.display())))?;
    for dir in [parent_of(&cfg.pid), parent_of(&cfg.socket)] {
        if !dir.exists() {
            ocf::info!("creating {}", dir.display());
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::perm(format!("cannot create {}: {e}", dir.display())))?;
            chown_to(&dir, who)?;
        }
    }
    for dir in [
        parent_of(&cfg.pid),
        parent_of(&cfg.socket),
        cfg.datadir.clone(),
    ] {
        if !writable_by(who, &dir) {
            return Err(Error::perm(format!(
                "directory {} is not writable by {}",
                dir.display(),
                cfg.user
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Initialisation of an empty datadir.

/// Whether the datadir holds a database (its `mysql` system schema).
fn has_database(cfg: &Config) -> bool {
    cfg.datadir.join("mysql").is_dir()
}

/// Entries of the datadir other than `lost+found` (a fresh filesystem's).
fn foreign_entries(cfg: &Config) -> Vec<String> {
    std::fs::read_dir(&cfg.datadir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "lost+found")
                .collect()
        })
        .unwrap_or_default()
}

fn tool_next_to(binary: &Path, names: &[&str]) -> Option<PathBuf> {
    let dirs = [
        binary.parent().map(Path::to_path_buf),
        Some(PathBuf::from("/usr/bin")),
        Some(PathBuf::from("/usr/sbin")),
        Some(PathBuf::from("/usr/local/bin")),
        Some(PathBuf::from("/usr/local/sbin")),
    ];
    names.iter().find_map(|n| {
        dirs.iter()
            .flatten()
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

fn initialise(cfg: &Config, who: &Account, cx: &Context) -> Result<()> {
    let foreign = foreign_entries(cfg);
    if !foreign.is_empty() {
        let mut shown: Vec<String> = foreign.into_iter().take(5).collect();
        shown.sort();
        return Err(Error::generic(format!(
            "enable_creation: datadir {} holds no database but is not empty ({}): refusing to \
             initialise over it",
            cfg.datadir.display(),
            shown.join(", ")
        )));
    }
    let cmd = if let Some(tool) =
        tool_next_to(&cfg.binary, &["mariadb-install-db", "mysql_install_db"])
    {
        quiet_cmd(tool)
            .arg(format!("--defaults-file={}", cfg.config.display()))
            .arg(format!("--datadir={}", cfg.datadir.display()))
            .arg(format!("--user={}", cfg.user))
            .arg("--skip-test-db")
    } else if let Some(server) = tool_next_to(&cfg.binary, &["mysqld", "mariadbd"]) {
        quiet_cmd(server)
            .arg(format!("--defaults-file={}", cfg.config.display()))
            .arg(format!("--datadir={}", cfg.datadir.display()))
            .arg(format!("--user={}", cfg.user))
            .arg("--initialize-insecure")
    } else {
        return Err(Error::installed(
            "enable_creation: neither mariadb-install-db, mysql_install_db nor mysqld found",
        ));
    };
    ocf::info!("initialising an empty datadir: {}", cmd.display());
    let out = cmd
        .env_clear()
        .env("PATH", PATH)
        .cwd("/")
        .run(cx.deadline)?;
    if !out.success() {
        return Err(Error::generic(format!(
            "initialising {} failed: {}",
            cfg.datadir.display(),
            tail_words(&out.one_line(), 300)
        )));
    }
    chown_tree(&cfg.datadir, who)?;
    Ok(())
}

fn chown_tree(dir: &Path, who: &Account) -> Result<()> {
    let _ = nix::unistd::chown(dir, Some(who.uid.into()), Some(who.gid.into()));
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            std::os::unix::fs::lchown(&p, Some(who.uid), Some(who.gid))
                .map_err(|e| Error::generic(format!("chown {}: {e}", p.display())))?;
            if is_dir {
                chown_tree(&p, who)?;
            }
        }
    }
    Ok(())
}

fn tail_words(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        s.to_string()
    } else {
        format!("...{}", s.chars().skip(n - max).collect::<String>())
    }
}

// ---------------------------------------------------------------------------------------
// Cluster state (promotable clone only).

fn promotable(cx: &Context) -> bool {
    cx.is_promotable()
}

fn score(cx: &Context, value: Option<i64>) {
    if !promotable(cx) {
        return;
    }
    if let Err(e) = cluster::set_promotion_score(cx, value) {
        ocf::warn!("could not update the promotion score: {}", e.reason());
    }
}

fn source_score(cfg: &Config) -> i64 {
    i64::try_from(cfg.max_lag)
        .unwrap_or(i64::MAX - 1)
        .saturating_add(1)
}

fn reader(cfg: &Config, cx: &Context, value: bool) {
    if !promotable(cx) {
        return;
    }
    if let Err(e) = attrs::set_reader(cx, &cfg.reader_attribute, value) {
        ocf::warn!(
            "could not set node attribute {}: {}",
            cfg.reader_attribute,
            e.reason()
        );
    }
}

fn repl_client(cfg: &Config, cx: &Context) -> Result<Client> {
    Client::new(
        cx,
        &cfg.client,
        &cfg.socket,
        &cfg.repl_user,
        &cfg.repl_passwd,
    )
}

fn test_client(cfg: &Config, cx: &Context) -> Result<Client> {
    Client::new(
        cx,
        &cfg.client,
        &cfg.socket,
        &cfg.test_user,
        &cfg.test_passwd,
    )
}

fn sql_do(c: &Client, cx: &Context, sql: &str, what: &str) -> Result<()> {
    c.exec(sql, cx.deadline).map_err(|e| e.to_error(what))
}

fn read_facts(c: &Client, cx: &Context) -> Result<Facts> {
    client::facts(c, cx.deadline)
        .map_err(|e| e.to_error(&format!("query the server as {}", c.user())))
}

fn set_read_only(c: &Client, cx: &Context, on: bool) -> Result<()> {
    let sql = if on {
        "SET GLOBAL read_only = ON"
    } else {
        "SET GLOBAL read_only = OFF"
    };
    sql_do(c, cx, sql, "set read_only")
}

/// Stop replicating and forget the source: stop the IO thread, wait (bounded, half the
/// remaining budget) until the SQL thread has applied what was received, then STOP and
/// RESET ALL.
fn unset_source(c: &Client, cx: &Context, facts: &Facts) -> Result<()> {
    let dialect = facts.version.dialect();
    let Some(st) = &facts.replica else {
        return Ok(());
    };
    if st.io_running.eq_ignore_ascii_case("yes") {
        let _ = c.exec(dialect.stop_io(), cx.deadline);
    }
    if st.sql_running.eq_ignore_ascii_case("yes") {
        let wait = cx.deadline.fraction(0.5);
        let applied = wait.wait_until(Duration::from_millis(250), || {
            let rows = c.rows("SHOW PROCESSLIST", cx.deadline).ok()?;
            let busy = rows.iter().any(|r| {
                let user = r.get("User").unwrap_or_default();
                let state = r.get("State").unwrap_or_default().to_ascii_lowercase();
                user == "system user"
                    && !state.is_empty()
                    && !state.contains("has read all relay log")
                    && !state.contains("waiting for")
            });
            (!busy).then_some(())
        });
        if applied.is_none() {
            ocf::warn!("replica still applying its relay log; stopping it anyway");
        }
    }
    sql_do(c, cx, dialect.stop(), "stop replication")?;
    sql_do(c, cx, dialect.reset_all(), "reset replication")
}

/// Replicate from `host` (published info `info`) and start the replica.
fn set_source(
    cfg: &Config,
    cx: &Context,
    c: &Client,
    facts: &Facts,
    host: &str,
    info: Option<&ReplInfo>,
) -> Result<()> {
    let v = facts.version;
    let dialect = v.dialect();
    let same = facts.replica.as_ref().is_some_and(|r| r.host == host);
    if same {
        // Same source as before (a replica restarting): keep everything, including the
        // position, which CHANGE MASTER TO with a host would discard.
        ocf::info!("keeping the replication position for {host}");
        return c
            .exec(dialect.start(), cx.deadline)
            .map_err(|e| e.to_error(&format!("replicate from {host}")));
    }
    let position = if v.flavor == Flavor::MariaDb {
        Position::MariaDbGtid
    } else if facts.gtid_mode_on {
        Position::AutoPosition
    } else {
        match info {
            Some(i) if !i.file.is_empty() => Position::File {
                file: i.file.clone(),
                pos: i.pos,
            },
            _ => Position::Keep,
        }
    };
    let mut stmts = vec![dialect.stop().to_string(), dialect.reset_all().to_string()];
    if position == Position::MariaDbGtid {
        // A former source's own writes are in its binlog position, not its replica position:
        // start from whichever is further, never replay what it already has.
        stmts.push("SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_current_pos".to_string());
    }
    let tls = cfg
        .repl_tls
        .as_ref()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()));
    // Holds the password: sent on the client's stdin, never logged; the server's error for
    // it does not quote it.
    stmts.push(dialect.change_source(&Source {
        host,
        port: cfg.repl_port,
        user: &cfg.repl_user,
        password: &cfg.repl_passwd,
        position,
        tls,
    }));
    stmts.push(dialect.start().to_string());
    c.exec(&stmts.join(";\n"), cx.deadline)
        .map_err(|e| e.to_error(&format!("replicate from {host}")))?;
    ocf::info!("replicating from {host}:{} ({v})", cfg.repl_port);
    Ok(())
}

/// The node whose instance is promoted, from the notification variables Pacemaker passes.
fn promoted_node(cx: &Context) -> Option<String> {
    ["promoted_uname", "master_uname"].iter().find_map(|k| {
        cx.env
            .get_nonempty(&format!("OCF_RESKEY_CRM_meta_notify_{k}"))
            .and_then(|s| s.split_whitespace().next().map(str::to_string))
    })
}

// ---------------------------------------------------------------------------------------
// Monitor pieces.

fn test_query(cfg: &Config, cx: &Context) -> Result<()> {
    let Some(table) = &cfg.test_table else {
        return Ok(());
    };
    let c = test_client(cfg, cx)?;
    c.rows(&format!("SELECT COUNT(*) FROM {table}"), cx.deadline)
        .map_err(|e| monitor_failure(cfg, &e))?;
    Ok(())
}

fn monitor_failure(cfg: &Config, e: &DbError) -> Error {
    let hint = match e.server_code() {
        Some(client::code::ACCESS_DENIED) => "check test_user/test_passwd: ",
        Some(client::code::NO_SUCH_TABLE | client::code::BAD_DB) => "check test_table: ",
        _ => "",
    };
    Error::generic(format!(
        "test query on {} as {}: {hint}{}",
        cfg.test_table_name,
        cfg.test_user,
        e.describe()
    ))
}

/// Judge a replica and publish the result; `Err` only for eviction (5).
fn check_replica(cfg: &Config, cx: &Context, c: &Client, facts: &Facts) -> Result<()> {
    let Some(st) = &facts.replica else {
        // Read-only and replicating from nobody: a fresh cluster before any promotion, or
        // the source is gone and replication was reset. Promotable with the lowest
        // preference; reads may not go here (it may be stale).
        reader(cfg, cx, false);
        score(cx, Some(1));
        return Ok(());
    };
    let health = st.health(cfg.max_lag);
    if let Health::Broken(why) = &health {
        ocf::warn!("replica of {} unusable: {why}", st.host);
        if !st.sql_running.eq_ignore_ascii_case("yes") && st.sql_error.0 == 0 {
            // Stopped without an error (by hand, or a crash): restart it, as the shell agent
            // does; judged again at the next monitor.
            let _ = c.exec(facts.version.dialect().start(), cx.deadline);
        }
    }
    // The source died: the IO thread cannot connect, but everything received is applied.
    let unreachable =
        matches!(st.io_error.0, 2003 | 2005 | 2006 | 2013) || matches!(health, Health::Connecting);
    if unreachable && st.sql_running.eq_ignore_ascii_case("yes") {
        ocf::warn!(
            "source {} unreachable: replica promotable only as a last resort",
            st.host
        );
        reader(cfg, cx, false);
        score(cx, Some(1));
        return Ok(());
    }
    if let Health::Lagging { lag } = health {
        let shown = lag.map_or_else(|| "an unknown number of".to_string(), |l| l.to_string());
        let what = format!(
            "replica is {shown} seconds behind its source (max_slave_lag {})",
            cfg.max_lag
        );
        if cfg.evict {
            reader(cfg, cx, false);
            score(cx, None);
            return Err(Error::installed(what));
        }
        ocf::warn!("{what}");
    }
    reader(cfg, cx, health.usable());
    score(cx, sql::replica_score(&health, cfg.max_lag));
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Start and stop.

/// The server's arguments. A member of a promotable clone starts read-only and without
/// replication (`--read-only --skip-slave-start`): it is writable only once promoted, with
/// no window between the server's first connection and the agent's `SET GLOBAL read_only`
/// in which a client could write to a replica. Given after `additional_parameters`, so an
/// extra argument cannot undo them.
fn server_args(cfg: &Config, promotable: bool) -> Vec<String> {
    let mut v = vec![
        format!("--defaults-file={}", cfg.config.display()),
        format!("--pid-file={}", cfg.pid.display()),
        format!("--socket={}", cfg.socket.display()),
        format!("--datadir={}", cfg.datadir.display()),
        format!("--log-error={}", cfg.log.display()),
    ];
    v.extend(cfg.additional.iter().cloned());
    if promotable {
        v.push("--read-only".into());
        v.push("--skip-slave-start".into());
    }
    v
}

/// Start the server and wait until it answers a query on its socket (any answer: an
/// access-denied error also proves it serves).
fn launch(cfg: &Config, cx: &Context, who: &Account) -> Result<()> {
    // A pid file left by a crashed server would make readiness look at the wrong pid.
    if read_pidfile(&cfg.pid).is_some() && server(cfg, cx).is_none() {
        files::remove_if_exists(&cfg.pid)?;
    }
    let mut cmd = Cmd::new(&cfg.binary)
        .args(server_args(cfg, promotable(cx)))
        .env_clear()
        .env("PATH", PATH)
        .cwd("/");
    if who.uid != nix::unistd::geteuid().as_raw() {
        cmd = cmd.account(who);
    }
    ocf::info!("starting {}", cmd.display());
    let probe = test_client(cfg, cx)?;
    let deadline = cx.deadline;
    // Any answer but "cannot connect" or silence: an error from the server (access denied)
    // proves it serves; so does a client that fails for a reason of its own once the
    // socket accepts connections (checked too).
    let answers = move || match probe.exec("SELECT 1", deadline.within(Duration::from_secs(3))) {
        Ok(()) => true,
        Err(e) => !matches!(e, DbError::Unreachable(_) | DbError::Timeout(_)),
    };
    cluster::state_dir(cx)?;
    // mysqld_safe (and the server itself) stay in the foreground: the process started is
    // the launcher, and its exit, whatever its status, is a failed start.
    let started = Daemon::new(cmd)
        .explain_with(&cfg.log)
        .ready(Ready::Pidfile(cfg.pid.clone()))
        .ready(Ready::Unix(cfg.socket.clone()))
        .ready(Ready::custom(
            format!("the server to answer on {}", cfg.socket.display()),
            answers,
        ))
        .record(launcher_record(cx))
        .start(cx.deadline)?;
    let srv = Pidfile::new(&cfg.pid)
        .running(None)?
        .ok_or_else(|| Error::generic("the server's pid file names no live process"))?;
    server_record(cx).write_identity(srv)?;
    ocf::info!(
        "server {} (launcher {}) answers on {}",
        srv.pid,
        started.leader.pid,
        cfg.socket.display()
    );
    Ok(())
}

/// Every process of the instance: the recorded launcher's and server's families (session,
/// process group, descendants), or, for a server this agent did not start, the server named
/// by the pid file and its launcher.
fn stop_instance(cfg: &Config, cx: &Context) -> Result<()> {
    let escalation = Escalation::term_then_kill();
    let launcher = launcher_record(cx);
    let rec = server_record(cx);
    let unrecorded = rec.read_record().ok().flatten().is_none();
    if unrecorded {
        if let Some(srv) = server(cfg, cx) {
            // Started outside the agent: its parent is mysqld_safe when that started it.
            let parent = Proc::read(srv.pid).and_then(|p| Proc::read(p.ppid));
            ocf::info!("stopping server {} (not started by this agent)", srv.pid);
            process::stop_family(srv, &escalation, cx.deadline)?;
            if let Some(pp) = parent.filter(|p| p.comm.starts_with("mysqld_safe")) {
                process::stop_family(pp.identity(), &escalation, cx.deadline)?;
            }
        }
    }
    // The launcher's session holds mysqld_safe, the server and any server it restarted.
    daemon::stop(&launcher, None, &escalation, cx.deadline)?;
    daemon::stop(&rec, None, &escalation, cx.deadline)?;
    files::remove_if_exists(&cfg.pid)?;
    if std::fs::symlink_metadata(&cfg.socket).is_ok_and(|m| !m.is_dir()) {
        files::remove_if_exists(&cfg.socket)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------

impl ResourceAgent for Mysql {
    const META: &'static ocf::Agent = &meta::AGENT;
    type Config = Config;

    fn configure(p: &Params<'_>, _cx: &Context) -> Result<Config> {
        let test_table_name = p.string(&meta::TEST_TABLE)?;
        let test_table = if test_table_name.trim().is_empty() {
            None
        } else {
            Some(sql::table_identifier(&test_table_name).ok_or_else(|| {
                Error::configured(format!(
                    "test_table '{test_table_name}' is not a table name (database.table)"
                ))
            })?)
        };
        let ca = p.string(&meta::REPLICATION_MASTER_SSL_CA)?;
        let cert = p.string(&meta::REPLICATION_MASTER_SSL_CERT)?;
        let key = p.string(&meta::REPLICATION_MASTER_SSL_KEY)?;
        let require_ssl = p.bool(&meta::REPLICATION_REQUIRE_SSL)?;
        let repl_tls = (require_ssl || !(ca.is_empty() && cert.is_empty() && key.is_empty()))
            .then_some((ca, cert, key));
        let program = |param: &ocf::Param| -> Result<PathBuf> {
            let v = p.string(param)?;
            let v = v.trim();
            if v.is_empty() {
                return Err(Error::configured(format!("{} is empty", param.name)));
            }
            // A bare name is looked up in PATH (at run time: a missing one is 5, not 6).
            Ok(if v.contains('/') {
                PathBuf::from(v)
            } else {
                process::which(v).unwrap_or_else(|| PathBuf::from(v))
            })
        };
        let account = |param: &ocf::Param| -> Result<String> {
            let v = p.string(param)?;
            // MariaDB allows 80 characters (MySQL 32): anything longer cannot log in.
            if v.chars().count() > 80 {
                return Err(Error::configured(format!(
                    "{} is longer than 80 characters",
                    param.name
                )));
            }
            Ok(v)
        };
        let password = |param: &ocf::Param| -> Result<String> {
            let v = p.string(param)?;
            // The client reads option-file lines of limited length: refuse rather than have
            // it read a cut password (the reason never shows the value).
            if v.len() > 1024 {
                return Err(Error::configured(format!(
                    "{} is longer than 1024 bytes",
                    param.name
                )));
            }
            Ok(v)
        };
        Ok(Config {
            binary: program(&meta::BINARY)?,
            client: program(&meta::CLIENT_BINARY)?,
            config: abs("config", p.string(&meta::CONFIG)?)?,
            datadir: abs("datadir", p.string(&meta::DATADIR)?)?,
            user: p.string(&meta::USER)?,
            group: p.string(&meta::GROUP)?,
            log: abs("log", p.string(&meta::LOG)?)?,
            pid: abs("pid", p.string(&meta::PID)?)?,
            socket: abs("socket", p.string(&meta::SOCKET)?)?,
            test_table,
            test_table_name,
            test_user: account(&meta::TEST_USER)?,
            test_passwd: password(&meta::TEST_PASSWD)?,
            enable_creation: p.bool(&meta::ENABLE_CREATION)?,
            additional: split_words(&p.string(&meta::ADDITIONAL_PARAMETERS)?)?,
            repl_user: account(&meta::REPLICATION_USER)?,
            repl_passwd: password(&meta::REPLICATION_PASSWD)?,
            repl_port: u16::try_from(p.int(&meta::REPLICATION_PORT)?)
                .map_err(|_| Error::configured("replication_port out of range"))?,
            repl_tls,
            max_lag: p.int(&meta::MAX_SLAVE_LAG)?.unsigned_abs(),
            evict: p.bool(&meta::EVICT_OUTDATED_SLAVES)?,
            reader_attribute: p.string(&meta::READER_ATTRIBUTE)?,
        })
    }

    fn check_host(cfg: &Config, cx: &Context) -> Result<()> {
        // A server that runs can be stopped and monitored whatever else is missing.
        if matches!(cx.action.as_str(), "stop" | "monitor" | "status") && server(cfg, cx).is_some()
        {
            return Ok(());
        }
        for (what, p) in [("binary", &cfg.binary), ("client_binary", &cfg.client)] {
            if !p.is_file() {
                return Err(Error::installed(format!(
                    "{what} {} not found",
                    p.display()
                )));
            }
        }
        if !cfg.config.is_file() {
            return Err(Error::installed(format!(
                "config {} does not exist",
                cfg.config.display()
            )));
        }
        if !cfg.datadir.is_dir() {
            return Err(Error::installed(format!(
                "datadir {} does not exist",
                cfg.datadir.display()
            )));
        }
        Account::lookup(&cfg.user, Some(&cfg.group)).map(|_| ())
    }

    fn start(cfg: &Config, cx: &Context) -> Result<()> {
        if promotable(cx) {
            reader(cfg, cx, false);
        }
        if server(cfg, cx).is_some() {
            ocf::info!("already running");
            return Ok(());
        }
        let who = Account::lookup(&cfg.user, Some(&cfg.group))?;
        if cfg.enable_creation && !has_database(cfg) {
            initialise(cfg, &who, cx)?;
        }
        prepare_dirs(cfg, &who)?;
        launch(cfg, cx, &who)?;
        if promotable(cx) {
            let c = repl_client(cfg, cx)?;
            set_read_only(&c, cx, true)?;
            let facts = read_facts(&c, cx)?;
            let local = cluster::local_node_name(cx);
            // The source: the promoted instance Pacemaker names, else the last one published
            // (a replica rebooting keeps replicating, RA#1841).
            let published = attrs::repl_info(cx)
                .unwrap_or_else(|e| {
                    ocf::warn!("cannot read the replication info: {}", e.reason());
                    None
                })
                .as_deref()
                .and_then(ReplInfo::decode);
            let source = match promoted_node(cx) {
                Some(n) if n != local => Some(attrs::source_address(cx, &n)),
                Some(_) => None,
                None => published
                    .as_ref()
                    .map(|i| i.host.clone())
                    .filter(|h| *h != local && *h != attrs::source_address(cx, &local)),
            };
            match source {
                Some(host) => set_source(cfg, cx, &c, &facts, &host, published.as_ref())?,
                None => {
                    ocf::info!("no source known: clearing replication state");
                    unset_source(&c, cx, &facts)?;
                }
            }
            score(cx, Some(1));
        }
        let test_creds =
            cfg.test_table.is_some() && !cfg.test_user.is_empty() && !cfg.test_passwd.is_empty();
        if test_creds || promotable(cx) {
            let r = Self::monitor_at(cfg, cx, true)?;
            if !matches!(r, Status::Running | Status::Promoted) {
                return Err(Error::generic(
                    "server started but its first monitor failed",
                ));
            }
        }
        ocf::info!("started");
        Ok(())
    }

    fn stop(cfg: &Config, cx: &Context) -> Result<()> {
        if promotable(cx) {
            score(cx, None);
            reader(cfg, cx, false);
        }
        let r = stop_instance(cfg, cx);
        attrs::forget_reader(cx);
        let _ = files::remove_if_exists(&promoted_marker(cx));
        r
    }

    fn monitor(cfg: &Config, cx: &Context) -> Result<Status> {
        Self::monitor_at(cfg, cx, cx.depth >= 10)
    }

    fn promote(cfg: &Config, cx: &Context) -> Result<()> {
        if server(cfg, cx).is_none() {
            return Err(Error::not_running("cannot promote: server not running"));
        }
        let c = repl_client(cfg, cx)?;
        let facts = read_facts(&c, cx)?;
        let v = facts.version;
        let dialect = v.dialect();
        if facts.replica.is_some() {
            let _ = c.exec(
                &format!("{}; {}", dialect.stop(), dialect.reset_all()),
                cx.deadline,
            );
        }
        let rows = c
            .rows(v.binlog_status(), cx.deadline)
            .map_err(|e| e.to_error("read the binary log position"))?;
        let (file, pos) = rows
            .first()
            .map(|r| {
                (
                    r.get("File").unwrap_or_default().to_string(),
                    r.get("Position").and_then(|p| p.parse().ok()).unwrap_or(0),
                )
            })
            .unwrap_or_default();
        if file.is_empty() {
            ocf::warn!("binary logging is off: replicas cannot follow this source");
        }
        if promotable(cx) {
            let local = cluster::local_node_name(cx);
            let info = ReplInfo {
                host: attrs::source_address(cx, &local),
                file,
                pos,
            };
            if let Err(e) = attrs::set_repl_info(cx, &info.encode()) {
                ocf::warn!("cannot publish the replication info: {}", e.reason());
            }
            ocf::info!("publishing {}", info.encode());
        }
        set_read_only(&c, cx, false)?;
        if !promotable(cx) {
            cluster::state_dir(cx)?;
            files::write_atomic(&promoted_marker(cx), b"promoted\n")?;
        }
        score(cx, Some(source_score(cfg)));
        reader(cfg, cx, true);
        ocf::info!("promoted ({v})");
        Ok(())
    }

    fn demote(cfg: &Config, cx: &Context) -> Result<()> {
        if server(cfg, cx).is_none() {
            return Err(Error::not_running("not running"));
        }
        files::remove_if_exists(&promoted_marker(cx))?;
        if !promotable(cx) {
            // A primitive's read_only is the admin's: leave it as configured.
            return Ok(());
        }
        let c = repl_client(cfg, cx)?;
        set_read_only(&c, cx, true)?;
        score(cx, Some(1));
        Ok(())
    }

    fn notify(cfg: &Config, cx: &Context) -> Result<()> {
        let Some(n) = &cx.notify else {
            return Ok(());
        };
        if !promotable(cx) {
            ocf::info!("notifications are used only by a promotable clone");
            return Ok(());
        }
        let local = cluster::local_node_name(cx);
        let first = |v: &[ocf::context::NotifyEntry]| v.iter().find_map(|e| e.uname.clone());
        let pre = n.kind == ocf::context::NotifyType::Pre;
        match (pre, n.operation.as_str()) {
            (false, "promote") => {
                let Some(new) = first(&n.promote) else {
                    return Ok(());
                };
                if new == local || server(cfg, cx).is_none() {
                    return Ok(());
                }
                let c = repl_client(cfg, cx)?;
                let facts = read_facts(&c, cx)?;
                let host = attrs::source_address(cx, &new);
                let info = attrs::repl_info(cx).ok().flatten();
                let info = info.as_deref().and_then(ReplInfo::decode);
                let mut facts = facts;
                if facts.replica.as_ref().is_some_and(|r| r.host != host) {
                    unset_source(&c, cx, &facts)?;
                    facts.replica = None;
                }
                set_source(cfg, cx, &c, &facts, &host, info.as_ref())
            }
            (true, "demote") => {
                if first(&n.demote).as_deref() != Some(local.as_str()) || server(cfg, cx).is_none()
                {
                    return Ok(());
                }
                let c = repl_client(cfg, cx)?;
                set_read_only(&c, cx, true)?;
                let sets = c
                    .run(
                        "SELECT CONNECTION_ID() AS me; SHOW PROCESSLIST",
                        cx.deadline,
                    )
                    .map_err(|e| e.to_error("list connections"))?;
                let own: u64 = sets
                    .first()
                    .and_then(|s| s.rows.first())
                    .and_then(|r| r.get("me"))
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let kills: Vec<String> = sets
                    .get(1)
                    .map(|s| s.rows.as_slice())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|r| {
                        let id: u64 = r.get("Id")?.parse().ok()?;
                        let user = r.get("User").unwrap_or_default();
                        let command = r.get("Command").unwrap_or_default();
                        sql::is_client_thread(user, command, own, id).then(|| format!("KILL {id}"))
                    })
                    .collect();
                for k in &kills {
                    // A connection that ended meanwhile is not an error.
                    let _ = c.exec(k, cx.deadline);
                }
                ocf::info!(
                    "read-only; {} client connection(s) closed before demotion",
                    kills.len()
                );
                Ok(())
            }
            (false, "demote") => {
                if first(&n.demote).as_deref() == Some(local.as_str()) || server(cfg, cx).is_none()
                {
                    return Ok(());
                }
                let c = repl_client(cfg, cx)?;
                let facts = read_facts(&c, cx)?;
                unset_source(&c, cx, &facts)
            }
            _ => Ok(()),
        }
    }
}

impl Mysql {
    fn monitor_at(cfg: &Config, cx: &Context, deep: bool) -> Result<Status> {
        let Some(srv) = server(cfg, cx) else {
            if promotable(cx) && !cx.is_probe() {
                score(cx, None);
            }
            return Ok(Status::Stopped);
        };
        if !promotable(cx) {
            if deep {
                // The query answers for the server (a hung one costs the deadline).
                test_query(cfg, cx)?;
            } else {
                stopped_server(srv)?;
            }
            return Ok(if promoted_marker(cx).exists() {
                Status::Promoted
            } else {
                Status::Running
            });
        }
        // Promotable: always at depth 10, as the shell agent.
        let facts = repl_client(cfg, cx).and_then(|c| {
            let f = read_facts(&c, cx)?;
            if f.read_only {
                check_replica(cfg, cx, &c, &f)?;
            }
            Ok(f)
        });
        let facts = match facts {
            Ok(f) => f,
            Err(e) => {
                if e.rc() != ocf::Rc::ErrInstalled {
                    score(cx, None);
                }
                return Err(e);
            }
        };
        if let Err(e) = test_query(cfg, cx) {
            score(cx, None);
            return Err(e);
        }
        if facts.read_only {
            Ok(Status::Running)
        } else {
            score(cx, Some(source_score(cfg)));
            reader(cfg, cx, true);
            Ok(Status::Promoted)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_declared_secret() {
        for p in ["test_passwd", "replication_passwd"] {
            assert!(meta::AGENT.param(p).unwrap().secret, "{p}");
        }
    }

    #[test]
    fn additional_parameters_are_split_by_the_sdk_and_bad_quotes_are_6() {
        // The splitting itself is ocf::words's (tested there); here: its use and the code.
        assert_eq!(
            split_words("--port=3307 '--init-file=/a b'").unwrap(),
            ["--port=3307", "--init-file=/a b"]
        );
        let e = split_words("--x='y").unwrap_err();
        assert_eq!(e.rc(), ocf::Rc::ErrConfigured);
        assert!(
            e.reason().contains("additional_parameters"),
            "{}",
            e.reason()
        );
    }

    #[test]
    fn a_promotable_member_starts_read_only_and_without_replication() {
        let mut cfg = test_config();
        cfg.additional = vec!["--read-only=OFF".into(), "--port=3307".into()];
        let plain = server_args(&cfg, false);
        assert_eq!(plain[0], "--defaults-file=/c");
        assert!(plain.iter().all(|a| a != "--read-only"), "{plain:?}");
        assert!(plain.iter().all(|a| a != "--skip-slave-start"), "{plain:?}");
        assert_eq!(plain.last().map(String::as_str), Some("--port=3307"));
        let member = server_args(&cfg, true);
        // After additional_parameters: the last --read-only given wins in mysqld.
        let extra = member.iter().position(|a| a == "--read-only=OFF").unwrap();
        let ro = member.iter().position(|a| a == "--read-only").unwrap();
        assert!(ro > extra, "{member:?}");
        assert!(
            member.iter().any(|a| a == "--skip-slave-start"),
            "{member:?}"
        );
    }

    fn test_config() -> Config {
        Config {
            binary: "/b".into(),
            client: "/m".into(),
            config: "/c".into(),
            datadir: "/d".into(),
            user: "mysql".into(),
            group: "mysql".into(),
            log: "/l".into(),
            pid: "/p".into(),
            socket: "/s".into(),
            test_table: None,
            test_table_name: String::new(),
            test_user: "root".into(),
            test_passwd: "hunter2-test".into(),
            enable_creation: false,
            additional: vec![],
            repl_user: "repl".into(),
            repl_passwd: "hunter2-repl".into(),
            repl_port: 3306,
            repl_tls: None,
            max_lag: 60,
            evict: false,
            reader_attribute: "readable".into(),
        }
    }

    #[test]
    fn debug_hides_the_passwords() {
        let cfg = test_config();
        let s = format!("{cfg:?}");
        assert!(!s.contains("hunter2"), "{s}");
    }

    #[test]
    fn permissions_by_mode() {
        let who = Account {
            groups: vec![1000, 27],
            ..Account::from_ids(1000, 1000)
        };
        let d = std::env::temp_dir().join(format!("ocfmysql-perm-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(writable_by(&who, &d));
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Owned by root (the test runs as root in CI) or by the runner: not uid 1000.
        assert!(!writable_by(&who, &d));
        let root = Account::from_ids(0, 0);
        assert!(writable_by(&root, &d));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
