//! `sshd`: an OpenSSH server of a service group (ours: resource-agents has no such agent).
//!
//! People run a floating sshd today with `ocf:heartbeat:anything` (`binfile=/usr/sbin/sshd
//! cmdline_options="-D -f ..."`): no configuration check, no readiness, a monitor that only
//! looks for a pid. This agent, built on [`ocf::daemon`]:
//! * **validate-all** (and the start's host check) runs `sshd -t` with exactly the arguments
//!   start uses ([`Config::sshd_args`]); sshd's message becomes the exit reason: 6 for a
//!   configuration error, 5 for a missing binary, configuration file or host key;
//! * **start** checks in process that the address can be bound (a floating address not yet
//!   configured is reported as such), runs `sshd -D` in a session of its own with a private
//!   environment (the agent owns the pid; sshd's own PidFile is `none`), and returns once the
//!   address accepts and sends `SSH-2.0-`; the SDK pid file records pid and start time;
//! * **monitor** depth 0 checks the listener (pid **and** start time, no fork); depth 10
//!   connects to the address and reads the banner within the budget;
//! * **stop** ends the listener only (TERM, then KILL): open sessions survive, as with
//!   systemd's `KillMode=process`; with `kill_sessions=true` every process of the listener's
//!   family (sessions included) is ended too.
//!
//! The address probed is `listen_address:port`, or, without `listen_address`, the first
//! top-level `ListenAddress` of the configuration file (its port, else the file's `Port`,
//! else `port`); a wildcard address is probed on loopback. Include files are not followed for
//! this lookup.

pub mod meta;

use ocf::daemon::{self, Daemon, Ready};
use ocf::process::{self, Cmd, Escalation, PidStatus, Pidfile};
use ocf::{cluster, files, Context, Error, Params, ResourceAgent, Result, Status};
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The agent.
pub struct Sshd;

/// The parsed configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// sshd binary.
    pub sshd: PathBuf,
    /// sshd_config.
    pub config: PathBuf,
    /// `listen_address`, when given.
    pub listen: Option<IpAddr>,
    /// `port`.
    pub port: u16,
    /// The agent's pid file.
    pub pidfile: PathBuf,
    /// Shared host keys.
    pub host_key_dir: Option<PathBuf>,
    /// Extra `Key=Value` options, one per `-o`.
    pub options: Vec<String>,
    /// End sessions on stop.
    pub kill_sessions: bool,
}

/// `options` → one `Key=Value` per `-o`.
///
/// # Errors
/// 6 for anything but `-o Key=Value`, `-oKey=Value` or `Key=Value` words.
pub fn parse_options(text: &str) -> Result<Vec<String>> {
    let bad = |w: &str| {
        Error::configured(format!(
            "options: '{w}' is not an sshd -o Key=Value option (only -o options are accepted)"
        ))
    };
    let ws = ocf::words::split(text).map_err(|e| Error::configured(format!("options: {e}")))?;
    let mut out = Vec::new();
    let mut it = ws.into_iter();
    while let Some(w) = it.next() {
        let kv = if w == "-o" {
            it.next().ok_or_else(|| bad("-o"))?
        } else if let Some(rest) = w.strip_prefix("-o") {
            rest.to_string()
        } else if w.starts_with('-') {
            return Err(bad(&w));
        } else {
            w
        };
        let (k, _) = kv.split_once('=').ok_or_else(|| bad(&kv))?;
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric()) || kv.contains('\n') {
            return Err(bad(&kv));
        }
        out.push(kv);
    }
    Ok(out)
}

/// The first top-level `ListenAddress` (address, port if given) and `Port` of an
/// sshd_config text.
fn config_listen(text: &str) -> (Option<(IpAddr, Option<u16>)>, Option<u16>) {
    let mut listen = None;
    let mut port = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (key, rest) = match line.split_once(|c: char| c.is_whitespace() || c == '=') {
            Some((k, r)) => (
                k,
                r.trim_start_matches(|c: char| c.is_whitespace() || c == '='),
            ),
            None => (line, ""),
        };
        let value = rest.split_whitespace().next().unwrap_or("");
        match key.to_ascii_lowercase().as_str() {
            "match" => break,
            "port" if port.is_none() => port = value.parse().ok(),
            "listenaddress" if listen.is_none() => listen = parse_listen(value),
            _ => {}
        }
    }
    (listen, port)
}

/// `addr`, `addr:port`, `[v6]:port`, `v6`.
fn parse_listen(v: &str) -> Option<(IpAddr, Option<u16>)> {
    if let Ok(ip) = v.parse::<IpAddr>() {
        return Some((ip, None));
    }
    if let Ok(sa) = v.parse::<SocketAddr>() {
        return Some((sa.ip(), Some(sa.port())));
    }
    let inner = v.strip_prefix('[').and_then(|r| r.strip_suffix(']'))?;
    inner.parse().ok().map(|ip| (ip, None))
}

fn listen_arg(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(a) => format!("ListenAddress={a}:{port}"),
        IpAddr::V6(a) => format!("ListenAddress=[{a}]:{port}"),
    }
}

impl Config {
    /// The address start and monitor connect to.
    ///
    /// # Errors
    /// 6 when neither `listen_address` nor the configuration names one; 5 when the
    /// configuration file cannot be read.
    pub fn probe_address(&self) -> Result<SocketAddr> {
        let (ip, port) = match self.listen {
            Some(ip) => (ip, self.port),
            None => {
                let text = std::fs::read_to_string(&self.config)
                    .map_err(|e| Error::installed(format!("{}: {e}", self.config.display())))?;
                match config_listen(&text) {
                    (Some((ip, p)), file_port) => (ip, p.or(file_port).unwrap_or(self.port)),
                    (None, _) => {
                        return Err(Error::configured(format!(
                            "listen_address is required: {} has no ListenAddress",
                            self.config.display()
                        )))
                    }
                }
            }
        };
        let ip = match ip {
            IpAddr::V4(a) if a.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(a) if a.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            other => other,
        };
        Ok(SocketAddr::new(ip, port))
    }

    /// The host keys of `host_key_dir` (`ssh_host_*_key`), sorted.
    ///
    /// # Errors
    /// 5 when the directory is unreadable or holds no key.
    fn host_keys(&self) -> Result<Vec<PathBuf>> {
        let Some(dir) = &self.host_key_dir else {
            return Ok(Vec::new());
        };
        let rd = std::fs::read_dir(dir)
            .map_err(|e| Error::installed(format!("host_key_dir {}: {e}", dir.display())))?;
        let mut keys: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("ssh_host_") && n.ends_with("_key"))
            })
            .collect();
        keys.sort();
        if keys.is_empty() {
            return Err(Error::installed(format!(
                "host_key_dir {}: no ssh_host_*_key file",
                dir.display()
            )));
        }
        Ok(keys)
    }

    /// sshd's arguments after `-D` (start) or `-t` (validate): the same for both.
    ///
    /// # Errors
    /// 5 when `host_key_dir` holds no key.
    pub fn sshd_args(&self) -> Result<Vec<OsString>> {
        let mut a: Vec<OsString> = vec!["-f".into(), self.config.clone().into_os_string()];
        a.extend(["-o".into(), "PidFile=none".into()]);
        if let Some(ip) = self.listen {
            a.extend(["-o".into(), listen_arg(ip, self.port).into()]);
        }
        for k in self.host_keys()? {
            let mut o = OsString::from("HostKey=");
            o.push(k);
            a.extend(["-o".into(), o]);
        }
        for o in &self.options {
            a.extend(["-o".into(), o.into()]);
        }
        Ok(a)
    }
}

/// Run `sshd -t`; its message is the exit reason.
fn sshd_test(cfg: &Config, cx: &Context) -> Result<()> {
    if !cfg.config.is_file() {
        return Err(Error::installed(format!(
            "config {} does not exist",
            cfg.config.display()
        )));
    }
    privsep_dir()?;
    let out = Cmd::new(&cfg.sshd)
        .arg("-t")
        .args(cfg.sshd_args()?)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .run(cx.deadline.within(Duration::from_secs(10)))?;
    if out.success() {
        return Ok(());
    }
    let msg = sshd_message(&out.stderr_text());
    let host_problem = [
        "Unable to load host key",
        "no hostkeys available",
        "UNPROTECTED PRIVATE KEY FILE",
        "No such file or directory",
        "Missing privilege separation directory",
    ]
    .iter()
    .any(|m| msg.contains(m));
    let text = format!("sshd -t: {msg}");
    Err(if host_problem {
        Error::installed(text)
    } else {
        Error::configured(text)
    })
}

/// sshd's complaint as one line for the exit reason: the decoration of its key warnings
/// dropped, duplicates dropped, the lines that name the problem first.
fn sshd_message(stderr: &str) -> String {
    let mut lines: Vec<&str> = Vec::new();
    for l in stderr.lines() {
        let l = l.trim().trim_matches('@').trim();
        if !l.is_empty() && !lines.contains(&l) {
            lines.push(l);
        }
    }
    let key = |l: &&str| {
        ![
            "Bad configuration option",
            "Unable to load host key",
            "no hostkeys",
            "line ",
        ]
        .iter()
        .any(|m| l.contains(m))
    };
    lines.sort_by_key(key);
    if lines.is_empty() {
        "failed without a message".to_string()
    } else {
        lines.join("; ")
    }
}

/// sshd refuses to start without its privilege separation directory (Debian's unit creates
/// it as `RuntimeDirectory=sshd`).
fn privsep_dir() -> Result<()> {
    let d = Path::new("/run/sshd");
    if !d.is_dir() {
        std::fs::create_dir_all(d)
            .map_err(|e| Error::generic(format!("create {}: {e}", d.display())))?;
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755));
    }
    Ok(())
}

/// Whether `addr` can be bound here now: the most common start failure of a floating sshd
/// is an address not (yet) configured on this node.
fn bind_check(addr: SocketAddr) -> Result<()> {
    match std::net::TcpListener::bind(addr) {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => Err(Error::generic(format!(
            "listen address {} is not configured on this node (start the address first)",
            addr.ip()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(Error::generic(format!(
            "{addr} is already in use by another process"
        ))),
        Err(e) => Err(Error::generic(format!("cannot listen on {addr}: {e}"))),
    }
}

fn pidfile(cfg: &Config) -> Pidfile {
    Pidfile::new(&cfg.pidfile)
}

impl ResourceAgent for Sshd {
    const META: &'static ocf::Agent = &meta::AGENT;
    type Config = Config;

    fn configure(p: &Params<'_>, cx: &Context) -> Result<Config> {
        let abs = |param: &ocf::Param| -> Result<PathBuf> {
            let v = p.string(param)?;
            if v.starts_with('/') {
                Ok(PathBuf::from(v))
            } else {
                Err(Error::configured(format!(
                    "{} must be an absolute path, not '{v}'",
                    param.name
                )))
            }
        };
        let listen = match p.opt_string(&meta::LISTEN_ADDRESS)? {
            Some(s) if !s.trim().is_empty() => Some(s.trim().parse::<IpAddr>().map_err(|_| {
                Error::configured(format!("listen_address '{s}' is not an IP address"))
            })?),
            _ => None,
        };
        let port = u16::try_from(p.int(&meta::PORT)?)
            .map_err(|_| Error::configured("port is out of range"))?;
        let host_key_dir = match p.opt_string(&meta::HOST_KEY_DIR)? {
            Some(s) if !s.trim().is_empty() => Some(abs(&meta::HOST_KEY_DIR)?),
            _ => None,
        };
        let cfg = Config {
            sshd: abs(&meta::SSHD)?,
            config: abs(&meta::CONFIG)?,
            listen,
            port,
            pidfile: p.path_or_instance_file(&meta::PIDFILE, cx, "pid")?,
            host_key_dir,
            options: parse_options(&p.opt_string(&meta::OPTIONS)?.unwrap_or_default())?,
            kill_sessions: p.bool(&meta::KILL_SESSIONS)?,
        };
        // Without listen_address the configuration must name one; an unreadable file is a
        // host problem, reported by the host check.
        if cfg.listen.is_none() {
            if let Err(e) = cfg.probe_address() {
                if e.rc() == ocf::Rc::ErrConfigured {
                    return Err(e);
                }
            }
        }
        Ok(cfg)
    }

    fn check_host(cfg: &Config, cx: &Context) -> Result<()> {
        if process::which(&cfg.sshd).is_none() {
            return Err(Error::installed(format!(
                "{} is not installed or not executable",
                cfg.sshd.display()
            )));
        }
        // The configuration test forks sshd: only where it matters, never in monitor or stop.
        if matches!(cx.action.as_str(), "validate-all" | "start") {
            sshd_test(cfg, cx)?;
        }
        Ok(())
    }

    fn start(cfg: &Config, cx: &Context) -> Result<()> {
        if pidfile(cfg).running(None)?.is_some() {
            ocf::info!("already running");
            return Ok(());
        }
        let addr = cfg.probe_address()?;
        bind_check(addr)?;
        let log = cluster::state_dir(cx)?.join(format!("{}.log", files::file_safe(&cx.instance)));
        let cmd = Cmd::new(&cfg.sshd)
            .arg("-D")
            .args(cfg.sshd_args()?)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .cwd("/");
        let started = Daemon::new(cmd)
            .log_file(&log)
            .ready(Ready::Banner {
                addr,
                prefix: b"SSH-".to_vec(),
            })
            .record(pidfile(cfg))
            .start(cx.deadline)
            .map_err(|e| {
                if e.reason().contains("exited during start") && !e.reason().contains("): ") {
                    e.context("see the system log (facility AUTH)")
                } else {
                    e
                }
            })?;
        ocf::info!("sshd {} listening on {addr}", started.main.pid);
        Ok(())
    }

    fn stop(cfg: &Config, cx: &Context) -> Result<()> {
        let pf = pidfile(cfg);
        match pf.status(None)? {
            PidStatus::Running(p) if cfg.kill_sessions => {
                process::stop_family(p, &Escalation::term_then_kill(), cx.deadline)?;
            }
            PidStatus::Running(p) => {
                // The listener only: its children (sessions) survive.
                let left = process::stop_processes(
                    &[p],
                    &[nix::sys::signal::Signal::SIGTERM],
                    cx.deadline.fraction(0.7),
                );
                let left = process::stop_processes(
                    &left,
                    &[nix::sys::signal::Signal::SIGKILL],
                    cx.deadline,
                );
                if !left.is_empty() {
                    return Err(Error::generic(format!(
                        "sshd {} still running after SIGKILL",
                        p.pid
                    )));
                }
            }
            PidStatus::Stale(pid) => ocf::debug!("pid file names {pid}, not running"),
            PidStatus::Missing => {}
        }
        pf.remove()
    }

    fn monitor(cfg: &Config, cx: &Context) -> Result<Status> {
        match pidfile(cfg).status(None)? {
            PidStatus::Missing => Ok(Status::Stopped),
            PidStatus::Stale(pid) => {
                if !cx.is_probe() {
                    ocf::warn!("listener {pid} is gone");
                }
                Ok(Status::Stopped)
            }
            PidStatus::Running(p) => {
                if cx.depth >= 10 {
                    let addr = cfg.probe_address()?;
                    let b =
                        daemon::read_banner(addr, 255, cx.deadline.within(Duration::from_secs(10)))
                            .map_err(|e| e.context(format!("sshd {} runs, but", p.pid)))?;
                    if !b.starts_with(b"SSH-") {
                        return Err(Error::generic(format!(
                            "{addr} answers '{}', not an SSH banner",
                            String::from_utf8_lossy(&b).trim()
                        )));
                    }
                }
                Ok(Status::Running)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::testing::Run;
    use ocf::Rc;

    #[test]
    fn options_become_single_arguments() {
        assert_eq!(
            parse_options(
                "-o LogLevel=VERBOSE -oMaxStartups=10 Banner='/etc/a b' \"X11Forwarding=no\""
            )
            .unwrap(),
            vec![
                "LogLevel=VERBOSE",
                "MaxStartups=10",
                "Banner=/etc/a b",
                "X11Forwarding=no"
            ]
        );
        assert_eq!(parse_options("  ").unwrap(), Vec::<String>::new());
        for bad in [
            "-d",
            "-f /tmp/x",
            "LogLevel",
            "-o",
            "'unclosed",
            "A-B=c",
            "=x",
            "$(id)=1",
        ] {
            let e = parse_options(bad).unwrap_err();
            assert_eq!(e.rc(), Rc::ErrConfigured, "{bad}");
        }
        // A shell metacharacter in a value is just part of the value.
        assert_eq!(parse_options("Banner=;rm").unwrap(), vec!["Banner=;rm"]);
    }

    #[test]
    fn sshd_messages_put_the_problem_first() {
        let err = "@@@@@@@@\n@   WARNING: UNPROTECTED PRIVATE KEY FILE!   @\n@@@@@@@@\n\
                   Permissions 0644 for '/k' are too open.\nUnable to load host key: /k\n\
                   sshd: no hostkeys available -- exiting.\n";
        assert_eq!(
            sshd_message(err),
            "Unable to load host key: /k; sshd: no hostkeys available -- exiting.; \
             WARNING: UNPROTECTED PRIVATE KEY FILE!; Permissions 0644 for '/k' are too open."
        );
        assert_eq!(sshd_message(""), "failed without a message");
    }

    #[test]
    fn listen_address_from_the_config_file() {
        let t = "# c\nPort 2222\nListenAddress 10.0.0.5\nListenAddress 10.0.0.6:23\nMatch User x\n";
        assert_eq!(
            config_listen(t),
            (Some(("10.0.0.5".parse().unwrap(), None)), Some(2222))
        );
        assert_eq!(
            config_listen("listenaddress=[2001:db8::1]:2200\n").0,
            Some(("2001:db8::1".parse().unwrap(), Some(2200)))
        );
        assert_eq!(config_listen("Match all\nListenAddress 1.2.3.4\n").0, None);
        assert_eq!(
            listen_arg("2001:db8::1".parse().unwrap(), 22),
            "ListenAddress=[2001:db8::1]:22"
        );
    }

    #[test]
    fn listen_address_is_required_without_one_in_the_config() {
        let d = std::env::temp_dir().join(format!("ocfsshd-unit-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let conf = d.join("sshd_config");
        std::fs::write(&conf, "Port 2222\n").unwrap();
        let r = Run::agent::<Sshd>()
            .param("config", &conf)
            .env("OCFRS_RUN_DIR", &d);
        r.assert_invalid("listen_address is required");
        r.clone().action("stop").run().assert_rc(Rc::Success);
        r.clone()
            .param("listen_address", "not-an-ip")
            .action("validate-all")
            .run()
            .assert_rc(Rc::ErrConfigured);
        r.clone()
            .param("listen_address", "127.0.0.1")
            .param("options", "-d")
            .action("validate-all")
            .run()
            .assert_rc(Rc::ErrConfigured)
            .assert_reason_contains("only -o options");
        r.clone()
            .param("listen_address", "127.0.0.1")
            .param("sshd", "/nonexistent/sshd")
            .action("validate-all")
            .run()
            .assert_rc(Rc::ErrInstalled);
        r.param("listen_address", "127.0.0.1")
            .action("monitor")
            .probe()
            .run()
            .assert_rc(Rc::NotRunning);
        std::fs::remove_dir_all(d).unwrap();
    }
}
