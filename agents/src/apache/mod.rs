//! `apache`: one Apache httpd instance, drop-in for resource-agents' shell agent.
//!
//! * [`meta`]: the declaration (the shell agent's parameters, names and defaults).
//! * [`config`]: the configuration read as apache reads it (Include/IncludeOptional,
//!   `${NAME}`), for ServerRoot, PidFile, Listen, Port, ErrorLog and the server-status
//!   location; once per action.
//! * [`envfiles`]: the variables exported by the `envfiles` (sourced by `/bin/sh` with the
//!   file name as `$1`, never with a parameter value as code; see there why).
//! * [`check`]: the HTTP checks, made in process with [`ocf::http`] (no curl or wget child),
//!   `testregex` as a case-insensitive ERE ([`regex`]).
//!
//! SDK pieces used: [`ocf::daemon::Daemon::forking`] (start of a self-daemonizing program,
//! readiness by its own pid file, apache's stderr and ErrorLog lines in the exit reason of a
//! failed start), [`ocf::process::stop_family`] with an [`Escalation`] of SIGWINCH (half the
//! budget), SIGTERM (at most 10 s), SIGKILL, applied to the main process's session (children
//! included, other apache instances not), [`ocf::process::Pidfile`] for apache's own pid file,
//! [`ocf::http`] for the status page.
//!
//! # Deliberate differences from the shell agent
//! * Monitor and start make the HTTP request in process; `client` is accepted and ignored,
//!   and a missing curl/wget is no longer an error (5). `client_opts` of a testconffile are
//!   read only for certificate options (`-k`/`--insecure`, `--cacert FILE`).
//! * HTTPS: the certificate is checked (see [`ocf::http`]); a CA file can be named with
//!   `SSL_CERT_FILE` exported by an envfile, or per test block with `--cacert`.
//! * Start waits for the status check inside its budget and fails fast on a wrong answer
//!   (the shell agent loops until the cluster's timeout while the server is not up); a
//!   configuration syntax error is 6 with apache's own message.
//! * Stop escalates WINCH → TERM → KILL over the whole session of the main process, inside
//!   the stop timeout (the shell agent's last step is `pkill -f "<httpd>.*<config>"`, which
//!   can hit other programs, and may outlast the timeout).
//! * `IncludeOptional` is followed (the shell agent follows only `Include`), so Debian's
//!   status location in mods-enabled/status.conf is found; relative Includes are relative to
//!   ServerRoot (else the config file's directory), not to the agent's working directory.
//! * OCF_CHECK_LEVEL=10 with no testurl, testregex10 or testconffile runs the depth-0 check
//!   (the shell agent exits 6, which stops the resource everywhere).
//! * `status` is not advertised (the shell agent advertises it and answers 3); it still
//!   works, as monitor.
//! * The depth-10 monitor action is advertised, so Pacemaker and rgmanager can schedule it.
//! * Not carried over: the IBM HTTP Server layout (chosen by the shell agent when its file
//!   name contains "IBM") and SUSE's `find_mpm` helper in the binary search (it runs a
//!   program on every call); set `httpd` and `configfile` for those.
//! * As in the shell agent, the status page's HTTP status code is not checked, only its body
//!   (a 404 page still matches the default regex `</ *html *>`); exit reasons name the code.

pub mod check;
pub mod config;
pub mod envfiles;
pub mod meta;

use check::{Outcome, Test, TlsOpt};
use nix::sys::signal::Signal;
use ocf::daemon::Daemon;
use ocf::http::{Family, Tls};
use ocf::process::{self, Cmd, Escalation, PidStatus, Pidfile, ProcRef};
use ocf::{files, Context, Deadline, Error, Params, Rc, ResourceAgent, Result, Status};
use regex::bytes::Regex;
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The agent.
pub struct Apache;

/// Where the shell agent looks for the binary when `httpd` is not executable.
const HTTPD_LIST: &[&str] = &[
    "/sbin/httpd2",
    "/usr/sbin/httpd2",
    "/usr/sbin/apache2",
    "/sbin/httpd",
    "/usr/sbin/httpd",
    "/usr/sbin/apache",
];

/// Default configurations, in the shell agent's order: SUSE, Debian, RHEL.
const DEFAULT_CONFIGS: &[&str] = &[
    "/etc/apache2/httpd.conf",
    "/etc/apache2/apache2.conf",
    "/etc/httpd/conf/httpd.conf",
];

/// Where the injected PidFile goes (the shell agent's `HA_VARRUN`).
const VARRUN: &str = "/var/run";

/// The parameters (depth 0) and, once per action, what they mean on this host.
#[derive(Debug)]
pub struct Config {
    configfile: Option<PathBuf>,
    httpd: String,
    port: Option<u16>,
    statusurl: Option<String>,
    testregex: Regex,
    /// Whether the admin set any of statusurl, testregex, testurl, testregex10, testconffile.
    user_configured: bool,
    testurl: Option<String>,
    testregex10: String,
    testconffile: Option<PathBuf>,
    testname: String,
    options: Vec<String>,
    envfiles: String,
    use_ipv6: bool,
    instance: String,
    host: OnceCell<Instance>,
}

/// What the configuration says on this host (read once per action).
#[derive(Debug, Clone)]
pub struct Instance {
    /// The binary.
    pub httpd: PathBuf,
    /// The main configuration file.
    pub configfile: PathBuf,
    /// Variables exported by the envfiles.
    pub env: BTreeMap<String, String>,
    /// The configuration's directives.
    pub conf: config::ApacheConf,
    /// apache's pid file.
    pub pidfile: PathBuf,
    /// Whether the configuration has no PidFile and start passes one.
    pub inject_pidfile: bool,
    /// `http://<first Listen>` or `http://localhost:<port>`.
    pub local_url: String,
    /// The depth-0 URL.
    pub status_url: String,
    /// Address family preference.
    pub family: Family,
    /// ErrorLog, when it is a file.
    pub error_log: Option<PathBuf>,
}

fn nonempty(cx: &Context, name: &str) -> Option<String> {
    cx.env
        .get_nonempty(&format!("OCF_RESKEY_{name}"))
        .filter(|v| !v.trim().is_empty())
        .map(str::to_string)
}

fn executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl Config {
    /// What the parameters mean on this host; read on first use, then kept for the action.
    ///
    /// # Errors
    /// 5 when the binary or the configuration is missing, 1 when an envfile fails.
    pub fn instance(&self, cx: &Context) -> Result<&Instance> {
        if let Some(i) = self.host.get() {
            return Ok(i);
        }
        let i = self.load(cx)?;
        Ok(self.host.get_or_init(|| i))
    }

    fn load(&self, cx: &Context) -> Result<Instance> {
        let httpd = if executable(Path::new(&self.httpd)) {
            PathBuf::from(&self.httpd)
        } else {
            let found = HTTPD_LIST
                .iter()
                .map(Path::new)
                .find(|p| executable(p))
                .ok_or_else(|| {
                    Error::installed(format!(
                        "apache httpd program not found ({} is not executable)",
                        self.httpd
                    ))
                })?;
            ocf::debug!(
                "httpd {} not executable, using {}",
                self.httpd,
                found.display()
            );
            found.to_path_buf()
        };
        let configfile = match &self.configfile {
            Some(c) => c.clone(),
            None => PathBuf::from(
                DEFAULT_CONFIGS
                    .iter()
                    .find(|c| Path::new(c).is_file())
                    .unwrap_or(&DEFAULT_CONFIGS[2]),
            ),
        };
        if !configfile.is_file() {
            return Err(Error::installed(format!(
                "Configuration file {} not found!",
                configfile.display()
            )));
        }
        let confdir = configfile
            .parent()
            .filter(|d| d.to_string_lossy().starts_with("/etc/apache2"));
        let cache = files::instance_file(cx, "envfiles");
        let env = envfiles::read_cached(&self.envfiles, confdir, cx.deadline, &cache)?;
        // ServerRoot until the file sets one: -d in options, else the file's directory.
        let default_root = self
            .options
            .iter()
            .position(|o| o == "-d")
            .and_then(|i| self.options.get(i + 1))
            .map(PathBuf::from)
            .or_else(|| configfile.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("/"));
        let lookup = |name: &str| {
            env.get(name)
                .cloned()
                .or_else(|| cx.env.get(name).map(str::to_string))
        };
        let conf = config::read(&configfile, &default_root, &lookup)?;
        let root = conf
            .server_root
            .as_deref()
            .map(PathBuf::from)
            .unwrap_or(default_root);
        let (pidfile, inject_pidfile) = match conf.pid_file.as_deref() {
            Some(p) if p.starts_with('/') => (PathBuf::from(p), false),
            Some(p) if !p.is_empty() => {
                // apache 2.4: relative to DefaultRuntimeDir (itself relative to ServerRoot).
                let base = match conf.runtime_dir.as_deref() {
                    Some(d) => root.join(d),
                    None => root.clone(),
                };
                (base.join(p), false)
            }
            _ => {
                let base = httpd
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let base = base.split('-').next().unwrap_or("httpd").to_string();
                let inst = self.instance.replace('/', "_");
                (PathBuf::from(format!("{VARRUN}/{base}-{inst}.pid")), true)
            }
        };
        let port = self
            .port
            .or_else(|| {
                conf.port
                    .as_deref()
                    .and_then(|p| p.parse().ok())
                    .filter(|p| *p > 0)
            })
            .unwrap_or(80);
        let local_url = match conf.listen.as_deref() {
            Some(l) if l.contains(':') => format!("http://{l}"),
            Some(l) => format!("http://localhost:{l}"),
            None => format!("http://localhost:{port}"),
        };
        let status_url = self.statusurl.clone().unwrap_or_else(|| {
            format!(
                "{local_url}{}",
                conf.status_location.as_deref().unwrap_or("")
            )
        });
        let family = if self.use_ipv6 || status_url.contains("::") {
            Family::V6First
        } else {
            Family::V4First
        };
        let error_log = conf
            .error_log
            .as_deref()
            .filter(|e| !e.starts_with('|') && !e.starts_with("syslog"))
            .map(|e| root.join(e));
        Ok(Instance {
            httpd,
            configfile,
            env,
            conf,
            pidfile,
            inject_pidfile,
            local_url,
            status_url,
            family,
            error_log,
        })
    }

    fn status_tls(&self, inst: &Instance) -> Tls {
        match inst.env.get("SSL_CERT_FILE").filter(|f| !f.is_empty()) {
            Some(f) => Tls::CaFile(PathBuf::from(f)),
            None => Tls::System,
        }
    }

    /// Whether a depth-10 test is configured.
    fn has_depth10(&self) -> bool {
        self.testconffile.is_some() || self.testurl.is_some() || !self.testregex10.is_empty()
    }
}

/// SIGWINCH (graceful stop) for half the budget, SIGTERM for at most 10 s, then SIGKILL.
fn escalation() -> Escalation {
    Escalation::new().then(Signal::SIGWINCH, 0.5).then_at_most(
        Signal::SIGTERM,
        1.0,
        Duration::from_secs(10),
    )
}

/// The depth-0 check: status page and regex; the index fallback when nothing is configured.
fn basic(cfg: &Config, inst: &Instance, deadline: Deadline) -> Outcome {
    let test = Test {
        url: inst.status_url.clone(),
        regex: cfg.testregex.clone(),
        auth: None,
        tls: cfg.status_tls(inst),
    };
    if cfg.user_configured {
        return check::fetch_and_match(&test, inst.family, deadline);
    }
    // Keep time for the fallback.
    match check::fetch_and_match(&test, inst.family, deadline.fraction(0.5)) {
        Outcome::Ok => Outcome::Ok,
        first => match check::index_alive(&inst.local_url, inst.family, deadline) {
            Outcome::Ok => {
                ocf::debug!(
                    "status page failed ({first:?}); HEAD {} answered",
                    inst.local_url
                );
                Outcome::Ok
            }
            _ => first,
        },
    }
}

/// The depth-10 check.
fn depth10(cfg: &Config, inst: &Instance, deadline: Deadline) -> Result<Outcome> {
    let (url, regex, user, password, tls) = match &cfg.testconffile {
        Some(f) => {
            let b = check::read_testconf(f, &cfg.testname)?;
            let tls = match b.tls {
                Some(TlsOpt::Insecure) => Tls::Insecure,
                Some(TlsOpt::CaFile(p)) => Tls::CaFile(p),
                None => cfg.status_tls(inst),
            };
            (b.url, b.regex, b.user, b.password, tls)
        }
        None => (
            cfg.testurl.clone().unwrap_or_default(),
            cfg.testregex10.clone(),
            String::new(),
            String::new(),
            cfg.status_tls(inst),
        ),
    };
    if regex.is_empty() {
        return Err(Error::configured(
            "depth-10 monitor: test regular expression or test url empty",
        ));
    }
    if user.is_empty() != password.is_empty() {
        return Err(Error::configured(
            "depth-10 monitor: bad user authentication for extended test (user and password go together)",
        ));
    }
    let test = Test {
        url: check::complete(&inst.local_url, &url),
        regex: check::ere("depth-10 match", &regex)?,
        auth: (!user.is_empty()).then_some((user, password)),
        tls,
    };
    Ok(check::fetch_and_match(&test, inst.family, deadline))
}

/// Processes of this configuration left behind by a dead main process (the shell agent's
/// `pkill -f "<httpd>.*<config>"`, but exact: same executable, `-f <configfile>` as whole
/// arguments).
fn leftovers(inst: &Instance) -> Vec<ProcRef> {
    let exe = std::fs::canonicalize(&inst.httpd).unwrap_or_else(|_| inst.httpd.clone());
    let conf = inst.configfile.to_string_lossy().into_owned();
    process::find_by_exe(&exe, &["-f", &conf])
        .iter()
        .map(|p| p.identity())
        .collect()
}

fn stop_leftovers(inst: &Instance, deadline: Deadline) -> Result<()> {
    let left = leftovers(inst);
    if left.is_empty() {
        return Ok(());
    }
    let pids: Vec<String> = left.iter().map(|p| p.pid.to_string()).collect();
    ocf::info!(
        "stopping leftover apache processes of {}: {}",
        inst.configfile.display(),
        pids.join(" ")
    );
    let still = process::stop_processes(&left, &[Signal::SIGTERM, Signal::SIGKILL], deadline);
    if still.is_empty() {
        Ok(())
    } else {
        let pids: Vec<String> = still.iter().map(|p| p.pid.to_string()).collect();
        Err(Error::generic(format!(
            "apache processes still running after SIGKILL: {}",
            pids.join(" ")
        )))
    }
}

/// Directories apache needs before it starts: the pid file's, and (Debian) the run, lock and
/// log directories the envfiles name, as apache2ctl creates them.
fn make_dirs(inst: &Instance) -> Result<()> {
    let mut dirs: Vec<PathBuf> = inst
        .pidfile
        .parent()
        .map(Path::to_path_buf)
        .into_iter()
        .collect();
    for v in ["APACHE_RUN_DIR", "APACHE_LOCK_DIR", "APACHE_LOG_DIR"] {
        if let Some(d) = inst.env.get(v).filter(|d| d.starts_with('/')) {
            dirs.push(PathBuf::from(d));
        }
    }
    for d in dirs {
        if !d.is_dir() {
            std::fs::create_dir_all(&d).map_err(|e| {
                Error::installed(format!("cannot create directory {}: {e}", d.display()))
            })?;
        }
    }
    // apache2ctl gives the lock directory to the run user.
    if let (Some(lock), Some(user)) = (
        inst.env.get("APACHE_LOCK_DIR"),
        inst.env.get("APACHE_RUN_USER"),
    ) {
        if let Ok(Some(u)) = nix::unistd::User::from_name(user) {
            let _ = nix::unistd::chown(Path::new(lock), Some(u.uid), None);
        }
    }
    Ok(())
}

/// A failed start's reason: apache's own `AH00526` syntax error (with the line after it,
/// which says what is wrong) as exit code 6; anything else as it is. The full text is logged.
fn classify(e: Error, start_log: &Path) -> Error {
    ocf::error!("{}", e.reason());
    let text = std::fs::read_to_string(start_log).unwrap_or_default();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if let Some(i) = lines
        .iter()
        .position(|l| l.contains("AH00526") || l.contains("Syntax error on line"))
    {
        let what = lines.get(i + 1).copied().unwrap_or("");
        return Error::configured(format!("{} {what}", lines[i]));
    }
    let r = e.reason();
    if r.contains("AH00526") || r.contains("Syntax error on line") {
        e.with_rc(Rc::ErrConfigured)
    } else {
        e
    }
}

impl ResourceAgent for Apache {
    const META: &'static ocf::Agent = &meta::AGENT;
    type Config = Config;

    fn configure(p: &Params<'_>, cx: &Context) -> Result<Config> {
        let text = p.string(&meta::TESTREGEX)?;
        let text = if text.is_empty() {
            meta::TESTREGEX.default.unwrap_or("")
        } else {
            &text
        };
        let testregex = check::ere("testregex", text)?;
        let testurl = p.string(&meta::TESTURL)?;
        if p.is_set(&meta::TESTURL)
            && testurl.trim().is_empty()
            && nonempty(cx, "testconffile").is_none()
        {
            return Err(Error::configured(format!(
                "testurl: \"{testurl}\" seems to be an empty string?"
            )));
        }
        let testregex10 = p.string(&meta::TESTREGEX10)?;
        if !testregex10.is_empty() {
            check::ere("testregex10", &testregex10)?;
        }
        let user_configured = [
            "statusurl",
            "testregex",
            "testurl",
            "testregex10",
            "testconffile",
        ]
        .iter()
        .any(|n| nonempty(cx, n).is_some());
        let port = p.opt_int(&meta::PORT)?.and_then(|v| u16::try_from(v).ok());
        Ok(Config {
            configfile: nonempty(cx, "configfile").map(PathBuf::from),
            httpd: p.string(&meta::HTTPD)?,
            port,
            statusurl: nonempty(cx, "statusurl"),
            testregex,
            user_configured,
            testurl: (!testurl.trim().is_empty()).then(|| testurl.trim().to_string()),
            testregex10,
            testconffile: nonempty(cx, "testconffile").map(PathBuf::from),
            testname: p.string(&meta::TESTNAME)?,
            options: p
                .string(&meta::OPTIONS)?
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            envfiles: p.string(&meta::ENVFILES)?,
            use_ipv6: p.bool(&meta::USE_IPV6)?,
            instance: cx.instance.clone(),
            host: OnceCell::new(),
        })
    }

    fn check_host(cfg: &Config, cx: &Context) -> Result<()> {
        if cx.action == "stop" {
            // stop reads the host itself: a missing configuration must not hide a running
            // server whose processes can still be found.
            return Ok(());
        }
        cfg.instance(cx)?;
        if let Some(f) = &cfg.testconffile {
            if std::fs::File::open(f).is_err() {
                return Err(Error::installed(format!(
                    "Configuration file {} not found, or not readable.",
                    f.display()
                )));
            }
        }
        Ok(())
    }

    fn start(cfg: &Config, cx: &Context) -> Result<()> {
        let inst = cfg.instance(cx)?;
        let pf = Pidfile::new(&inst.pidfile);
        match pf.status(None)? {
            PidStatus::Running(p) => {
                ocf::info!("apache already running (pid {})", p.pid);
                return Ok(());
            }
            PidStatus::Stale(pid) => {
                ocf::info!(
                    "removing stale pid file {} (pid {pid})",
                    inst.pidfile.display()
                );
                pf.remove()?;
            }
            PidStatus::Missing => {}
        }
        stop_leftovers(inst, cx.deadline.fraction(0.2))?;
        make_dirs(inst)?;
        let log = files::instance_file(cx, "start.log");
        if let Some(d) = log.parent() {
            std::fs::create_dir_all(d)?;
        }
        files::remove_if_exists(&log)?;
        let mut cmd = Cmd::new(&inst.httpd)
            .arg("-DSTATUS")
            .args(&cfg.options)
            .arg("-f")
            .arg(&inst.configfile);
        if inst.inject_pidfile {
            cmd = cmd
                .arg("-c")
                .arg(format!("PidFile {}", inst.pidfile.display()));
        }
        for (k, v) in &inst.env {
            cmd = cmd.env(k, v);
        }
        ocf::info!("starting {}", cmd.display());
        let mut d = Daemon::forking(cmd, &inst.pidfile)
            .log_file(&log)
            .cleanup(escalation());
        if let Some(el) = &inst.error_log {
            d = d.explain_with(el);
        }
        let reserve = (cx.deadline.remaining() / 5).min(Duration::from_secs(5));
        let wait_end = Deadline::at(cx.deadline.instant() - reserve);
        let started = d.start(wait_end).map_err(|e| {
            let _ = stop_leftovers(inst, cx.deadline);
            classify(e.context("start"), &log)
        })?;
        // Ready when the status check passes (the shell agent loops on its monitor).
        let mut last = String::new();
        let outcome = wait_end.wait_until(Duration::from_millis(200), || {
            match basic(cfg, inst, wait_end.within(Duration::from_secs(5))) {
                Outcome::Ok => Some(Ok(())),
                Outcome::Wrong(r) => Some(Err(r)),
                Outcome::NoAnswer(r) if !started.main.is_alive() => Some(Err(format!(
                    "apache (pid {}) exited during start; last error: {r}",
                    started.main.pid
                ))),
                Outcome::NoAnswer(r) => {
                    last = r;
                    None
                }
            }
        });
        let reason = match outcome {
            Some(Ok(())) => {
                ocf::info!(
                    "apache started (pid {}), {} answers",
                    started.main.pid,
                    inst.status_url
                );
                return Ok(());
            }
            Some(Err(r)) => r,
            None => format!("no answer from the status check within the start budget: {last}"),
        };
        let tail = inst
            .error_log
            .as_deref()
            .map(|l| ocf::daemon::log_tail(l, 2))
            .filter(|t| !t.is_empty());
        let _ = process::stop_family(started.main, &escalation(), cx.deadline);
        let _ = stop_leftovers(inst, cx.deadline);
        let reason = match tail {
            Some(t) => {
                format!("start: Failed to access httpd status page: {reason} (error log: {t})")
            }
            None => format!("start: Failed to access httpd status page: {reason}"),
        };
        ocf::error!("{reason}");
        Err(Error::generic(reason))
    }

    fn stop(cfg: &Config, cx: &Context) -> Result<()> {
        let inst = match cfg.instance(cx) {
            Ok(i) => i,
            Err(e) if matches!(e.rc(), Rc::ErrInstalled | Rc::ErrConfigured) => {
                ocf::info!("stop: {}; apache cannot be running from it", e.reason());
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let pf = Pidfile::new(&inst.pidfile);
        match pf.status(None)? {
            PidStatus::Running(main) => {
                ocf::info!("stopping apache pid {} (graceful stop first)", main.pid);
                process::stop_family(main, &escalation(), cx.deadline)
                    .map_err(|e| e.context("stop"))?;
            }
            PidStatus::Stale(_) => pf.remove()?,
            PidStatus::Missing => ocf::info!("apache is not running"),
        }
        stop_leftovers(inst, cx.deadline)?;
        if matches!(pf.status(None)?, PidStatus::Stale(_)) {
            pf.remove()?;
        }
        Ok(())
    }

    fn monitor(cfg: &Config, cx: &Context) -> Result<Status> {
        let inst = cfg.instance(cx)?;
        let pf = Pidfile::new(&inst.pidfile);
        let mut status = pf.status(None)?;
        if status == PidStatus::Missing && !cx.is_probe() && !leftovers(inst).is_empty() {
            // A graceful restart rewrites the pid file while the server runs on (RA#1210):
            // give it a moment. With no process of this configuration at all, it is stopped.
            let wait = cx.deadline.fraction(0.5).within(Duration::from_secs(5));
            if let Some(s) = wait.wait_until(Duration::from_millis(200), || {
                pf.status(None).ok().filter(|s| *s != PidStatus::Missing)
            }) {
                status = s;
            }
        }
        let PidStatus::Running(_) = status else {
            return Ok(Status::Stopped);
        };
        let outcome = if cx.depth >= 10 && cfg.has_depth10() {
            depth10(cfg, inst, cx.deadline)?
        } else {
            basic(cfg, inst, cx.deadline)
        };
        match outcome {
            Outcome::Ok => Ok(Status::Running),
            Outcome::NoAnswer(r) | Outcome::Wrong(r) => Err(Error::generic(format!(
                "Failed to access httpd status page: {r}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::testing::Run;

    #[test]
    fn missing_binary_or_config_follows_the_policy() {
        let r = Run::agent::<Apache>()
            .param("httpd", "/nonexistent/httpd")
            .param("configfile", "/nonexistent/httpd.conf")
            .param("envfiles", "");
        r.assert_stop_and_probe_safe();
        r.clone()
            .action("start")
            .run()
            .assert_rc(Rc::ErrInstalled)
            .assert_reason_contains("not found");
    }

    #[test]
    fn bad_regex_and_blank_testurl_are_6() {
        let r = Run::agent::<Apache>().param("envfiles", "");
        r.clone()
            .param("testregex", "(")
            .action("validate-all")
            .run()
            .assert_rc(Rc::ErrConfigured)
            .assert_reason_contains("testregex");
        r.param("testurl", "  ")
            .action("validate-all")
            .run()
            .assert_rc(Rc::ErrConfigured)
            .assert_reason_contains("empty string");
    }
}
