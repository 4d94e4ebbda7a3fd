//! HttpServer: a complete OCF agent for `python3 -m http.server`, the template of
//! docs/writing-an-agent.md (declaration, checks, daemon handling, tests).
use ocf::process::{self, Cmd, DaemonOutput, PidStatus, Pidfile};
use ocf::{files, Action, Agent, Context, Error, Param, Params, ResourceAgent, Result, Status};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

// The declaration: meta-data, man page, parsing and validation all come from it.
const DIRECTORY: Param = Param::string("directory").required().short("Directory to serve");
const BIND: Param = Param::string("bind").default("127.0.0.1").short("IP address to listen on");
const PORT: Param = Param::integer("port").default("8000").range(1, 65535).short("TCP port");

const META: Agent = Agent::new("HttpServer", "1.1")
    .short("Serves a directory with Python's http.server")
    .long("Runs python3 -m http.server in its own session; monitor sends it an HTTP request.")
    .params(&[DIRECTORY, BIND, PORT])
    .actions(&[Action::start(20), Action::stop(20), Action::monitor(20, 10)])
    .examples(&["pcs resource create web ocf:ocfrs:HttpServer directory=/srv/www port=8000"]);

struct HttpServer;
struct Config {
    dir: PathBuf,
    addr: SocketAddr,
    pidfile: Pidfile,
}

impl ResourceAgent for HttpServer {
    const META: &'static Agent = &META;
    type Config = Config;

    fn configure(p: &Params<'_>, cx: &Context) -> Result<Config> {
        let dir = PathBuf::from(p.string(&DIRECTORY)?);
        if !dir.is_absolute() {
            return Err(Error::configured("directory must be an absolute path"));
        }
        let ip: IpAddr = p
            .string(&BIND)?
            .parse()
            .map_err(|_| Error::configured("bind must be an IP address"))?;
        let port = u16::try_from(p.int(&PORT)?).map_err(|_| Error::configured("bad port"))?;
        let pidfile = Pidfile::new(files::instance_file(cx, "pid"));
        Ok(Config { dir, addr: SocketAddr::new(ip, port), pidfile })
    }

    fn check_host(cfg: &Config, _: &Context) -> Result<()> {
        if process::which("python3").is_none() {
            return Err(Error::installed("python3 is not installed"));
        }
        if !cfg.dir.is_dir() {
            return Err(Error::installed(format!("{} is not a directory", cfg.dir.display())));
        }
        Ok(())
    }

    fn start(cfg: &Config, cx: &Context) -> Result<()> {
        if let PidStatus::Running(_) = cfg.pidfile.status(None)? {
            return Ok(());
        }
        let (ip, port) = (cfg.addr.ip().to_string(), cfg.addr.port().to_string());
        let args = ["-m", "http.server", "--bind", &ip, &port, "--directory"];
        let cmd = Cmd::new("python3").args(args).arg(&cfg.dir);
        let p = process::spawn_daemon(&cmd, &DaemonOutput::Null)?;
        cfg.pidfile.write(p.pid)?;
        // Started means our process answers (not someone else's on that port), within the
        // action's deadline.
        let up = || (p.is_alive() && answers(cfg.addr)).then_some(());
        cx.deadline.wait_until(Duration::from_millis(100), up).ok_or_else(|| {
            Error::generic(format!("python3 (pid {}) does not answer on {}", p.pid, cfg.addr))
        })
    }

    fn stop(cfg: &Config, cx: &Context) -> Result<()> {
        if let PidStatus::Running(p) = cfg.pidfile.status(None)? {
            process::stop_tree(p, Duration::from_secs(5), cx.deadline)?;
        }
        cfg.pidfile.remove()
    }

    fn monitor(cfg: &Config, _: &Context) -> Result<Status> {
        match cfg.pidfile.status(None)? {
            PidStatus::Running(_) if answers(cfg.addr) => Ok(Status::Running),
            PidStatus::Running(p) => Err(Error::generic(format!("pid {} does not answer", p.pid))),
            _ => Ok(Status::Stopped),
        }
    }
}

/// One HTTP request in process (no curl), bounded by a short timeout.
fn answers(addr: SocketAddr) -> bool {
    let t = Duration::from_secs(2);
    let Ok(mut s) = TcpStream::connect_timeout(&addr, t) else {
        return false;
    };
    let _ = (s.set_read_timeout(Some(t)), s.set_write_timeout(Some(t)));
    let mut head = [0u8; 9];
    s.write_all(b"HEAD / HTTP/1.0\r\n\r\n").is_ok()
        && s.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.")
}

fn main() -> std::process::ExitCode {
    ocf::run::<HttpServer>()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ocf::{testing::Run, Rc};

    fn run(action: &str, dir: &std::path::Path, port: &str) -> Run {
        Run::agent::<HttpServer>()
            .action(action)
            .param("directory", dir)
            .param("port", port)
            .env("OCFRS_RUN_DIR", dir)
    }

    #[test]
    fn refuses_bad_configuration_with_6() {
        run("validate-all", &std::env::temp_dir(), "99999").run().assert_rc(Rc::ErrConfigured);
        run("validate-all", std::path::Path::new("rel"), "80").run().assert_rc(Rc::ErrConfigured);
    }

    #[test]
    fn start_monitor_stop_a_real_server() {
        let d = std::env::temp_dir().join(format!("ocfadm-http-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        run("monitor", &d, "18250").probe().run().assert_rc(Rc::NotRunning);
        run("start", &d, "18250").run().assert_rc(Rc::Success);
        run("monitor", &d, "18250").run().assert_rc(Rc::Success);
        run("stop", &d, "18250").run().assert_rc(Rc::Success);
        run("monitor", &d, "18250").probe().run().assert_rc(Rc::NotRunning);
        assert!(!answers("127.0.0.1:18250".parse().unwrap()));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
