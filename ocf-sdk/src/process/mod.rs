//! Child processes and daemons, always bounded by a [`Deadline`], never through a shell.
//!
//! One concern per file, everything re-exported here (`ocf::process::Cmd`, ...):
//!
//! * commands ([`Cmd`], `command.rs`): a program with an argv (no shell), optional stdin
//!   data (the way to hand a secret to a child: never on argv), captured stdout/stderr, in its
//!   own process group; on expiry the whole group gets SIGKILL. The child can run as an
//!   [`Account`] looked up by name (uid, gid, supplementary groups), with a umask and resource
//!   limits. `{:?}` never shows stdin data or [`Cmd::env_secret`] values.
//!   [`spawn_daemon`] starts a long-running process in a session of its own (Pacemaker
//!   SIGKILLs the agent's process group on timeout); [`crate::daemon`] builds readiness,
//!   pid files and log tails on top.
//! * `/proc` lookups ([`Proc`], [`ProcRef`], `lookup.rs`): pid, parent, session, group,
//!   state, start time, exe, argv; [`ProcRef`] identifies a process by pid **and** start time
//!   ([`Proc::identity`]), so a recycled pid is never mistaken for the original.
//! * pid files ([`Pidfile`], `pidfile.rs`): pid plus start time, one format for every agent;
//!   a pid reused by another program is [`PidStatus::Stale`].
//! * stopping (`stop.rs`): [`family`] (descendants + session + process group, found again at
//!   every step), [`stop_family`] with an [`Escalation`] (graceful signals, then always
//!   SIGKILL, inside the budget), [`stop_tree`] (TERM, grace, KILL), [`stop_processes`]
//!   (exactly the signals given, to a fixed list).
//! * signal names ([`parse_signal`], [`parse_signals`], `signal.rs`): `TERM`, `SIGTERM`,
//!   `15`, as parameters spell them.

#[allow(unused_imports)] // for the links above
use crate::deadline::Deadline;

mod command;
mod lookup;
mod pidfile;
mod signal;
mod stop;

pub(crate) use command::spawn_session;
pub use command::{
    forward_pipe, spawn_daemon, which, Account, Cmd, DaemonOutput, Finished, Output, Resource,
};
pub use lookup::{find_by_exe, in_session_or_group, processes, tree, ExeSnapshot, Proc, ProcRef};
pub use pidfile::{PidRecord, PidStatus, Pidfile};
pub use signal::{parse_signal, parse_signals};
pub use stop::{family, stop_family, stop_processes, stop_tree, Escalation, Step};

#[cfg(test)]
mod tests {
    use super::lookup::parse_stat;
    use super::*;
    use crate::exit::Rc;
    use nix::sys::signal::Signal;
    use std::path::Path;
    use std::time::{Duration, Instant};

    #[test]
    fn run_captures_and_passes_argv_verbatim() {
        let d = Deadline::after(Duration::from_secs(10));
        let out = Cmd::new("printf")
            .arg("%s|")
            .arg("a b")
            .arg("$(id)")
            .arg(";")
            .run(d)
            .unwrap();
        assert_eq!(out.stdout_text(), "a b|$(id)|;|");
        assert!(out.success());
        let out = Cmd::new("cat").stdin("secret").run(d).unwrap();
        assert_eq!(out.stdout, b"secret");
        let e = Cmd::new("/nonexistent/prog").run(d).unwrap_err();
        assert_eq!(e.rc(), Rc::ErrInstalled);
        let e = Cmd::new("false").run_ok(d).unwrap_err();
        assert!(e.reason().contains("exit code 1"), "{}", e.reason());
    }

    #[test]
    fn run_kills_the_group_at_the_deadline() {
        let t = Instant::now();
        // sh starts a grandchild sleep in the same group: both must die.
        let e = Cmd::new("sh")
            .arg("-c")
            .arg("sleep 30 & sleep 30")
            .run(Deadline::after(Duration::from_millis(300)))
            .unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(e.reason().contains("did not finish in time"));
    }

    #[test]
    fn run_bounded_reports_timeouts_with_output() {
        let t = Instant::now();
        let f = Cmd::new("sh")
            .arg("-c")
            .arg("echo before; echo err >&2; sleep 30 & sleep 30")
            .run_bounded(
                Deadline::after(Duration::from_millis(500)),
                Duration::from_millis(200),
            )
            .unwrap();
        assert!(f.timed_out);
        assert!(t.elapsed() < Duration::from_secs(5));
        assert_eq!(f.output.stdout_text(), "before\n");
        assert_eq!(f.output.stderr_text(), "err\n");
        let f = Cmd::new("sh")
            .arg("-c")
            .arg("echo out; echo err >&2; exit 3")
            .close_stdin_stderr()
            .run_bounded(
                Deadline::after(Duration::from_secs(5)),
                Duration::from_secs(1),
            )
            .unwrap();
        assert!(!f.timed_out);
        assert_eq!(f.output.code, Some(3));
        assert_eq!(f.output.stdout_text(), "out\n");
        assert!(f.output.stderr.is_empty());
    }

    #[test]
    fn daemon_tree_stop_and_pidfile() {
        let dir = std::env::temp_dir().join(format!("ocf-proc-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = spawn_daemon(
            &Cmd::new("sh")
                .arg("-c")
                .arg("trap '' TERM; sleep 60 & wait"),
            &DaemonOutput::Null,
        )
        .unwrap();
        assert!(d.is_alive());
        let p = Proc::read(d.pid).unwrap();
        assert_eq!(p.sid, d.pid, "daemon leads its own session");
        let pf = Pidfile::new(dir.join("x.pid"));
        assert_eq!(pf.status(None).unwrap(), PidStatus::Missing);
        pf.write(d.pid).unwrap();
        assert_eq!(pf.status(None).unwrap(), PidStatus::Running(d));
        assert_eq!(
            pf.status(Some(Path::new("/nonexistent"))).unwrap(),
            PidStatus::Stale(d.pid)
        );
        // Wait until the child sleep exists, then stop: TERM is ignored, KILL follows.
        Deadline::after(Duration::from_secs(5)).wait_until(Duration::from_millis(10), || {
            (tree(d.pid).len() >= 2).then_some(())
        });
        let kids = tree(d.pid);
        assert!(kids.len() >= 2, "{kids:?}");
        let t = Instant::now();
        stop_tree(
            d,
            Duration::from_millis(300),
            Deadline::after(Duration::from_secs(5)),
        )
        .unwrap();
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(!d.is_alive());
        assert!(kids.iter().all(|k| !k.identity().is_alive()));
        assert!(matches!(pf.status(None).unwrap(), PidStatus::Stale(_)));
        std::fs::write(pf.path.clone(), "garbage").unwrap();
        assert!(pf.status(None).is_err());
        pf.remove().unwrap();
        pf.remove().unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stop_processes_sends_only_the_given_signals() {
        let d = spawn_daemon(
            &Cmd::new("sh")
                .arg("-c")
                .arg("trap '' TERM; while :; do sleep 1; done"),
            &DaemonOutput::Null,
        )
        .unwrap();
        // Give the shell time to install its trap.
        std::thread::sleep(Duration::from_millis(200));
        let left = stop_processes(
            &[d],
            &[Signal::SIGTERM],
            Deadline::after(Duration::from_millis(300)),
        );
        assert_eq!(left, vec![d], "TERM alone must not escalate");
        let left = stop_processes(
            &left,
            &[Signal::SIGKILL],
            Deadline::after(Duration::from_secs(5)),
        );
        assert!(left.is_empty());
        for p in tree(d.pid) {
            p.identity().signal(Signal::SIGKILL);
        }
    }

    #[test]
    fn stat_parsing_handles_odd_comm() {
        let p =
            parse_stat(b"42 (a) b (c) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345 0 0")
                .unwrap();
        assert_eq!(
            (p.pid, p.comm.as_str(), p.state, p.ppid, p.start_ticks),
            (42, "a) b (c", 'S', 1, 12345)
        );
        let me = Proc::read(std::process::id() as i32).unwrap();
        assert_eq!(me.exe(), std::env::current_exe().ok());
        assert!(!find_by_exe(&me.exe().unwrap(), &[]).is_empty());
        // one scan answers for several executables, as find_by_exe would
        let snap = ExeSnapshot::read();
        let exe = me.exe().unwrap();
        assert!(snap.any(&exe));
        assert!(snap.running(&exe).any(|p| p.pid == me.pid));
        assert!(!snap.any(Path::new("/nonexistent/ocfrs-no-such-daemon")));
    }

    #[test]
    fn a_reused_pid_running_another_program_is_not_running() {
        let dir = std::env::temp_dir().join(format!("ocfdmn-reuse-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = spawn_daemon(&Cmd::new("sleep").arg("60"), &DaemonOutput::Null).unwrap();
        let pf = Pidfile::new(dir.join("r.pid"));
        pf.write(d.pid).unwrap();
        let sleep = Proc::read(d.pid).unwrap().exe().unwrap();
        assert_eq!(pf.status(Some(&sleep)).unwrap(), PidStatus::Running(d));
        assert_eq!(pf.read_record().unwrap().unwrap().identity(), Some(d));
        // The pid file of a daemon that started earlier and died; its pid now belongs to
        // this (other) process: same pid, other start time. Stale even when the executable
        // matches, and also when it does not.
        let earlier = ProcRef {
            pid: d.pid,
            start_ticks: d.start_ticks - 1,
        };
        pf.write_identity(earlier).unwrap();
        assert_eq!(pf.status(None).unwrap(), PidStatus::Stale(d.pid));
        assert_eq!(pf.status(Some(&sleep)).unwrap(), PidStatus::Stale(d.pid));
        assert_eq!(
            pf.status(Some(Path::new("/usr/sbin/sshd"))).unwrap(),
            PidStatus::Stale(d.pid)
        );
        assert_eq!(pf.running(None).unwrap(), None);
        // A daemon's own one-line pid file still works (no start time recorded).
        std::fs::write(&pf.path, format!("{}\n", d.pid)).unwrap();
        assert_eq!(pf.status(Some(&sleep)).unwrap(), PidStatus::Running(d));
        d.signal(Signal::SIGKILL);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn signal_names_as_parameters_spell_them() {
        assert_eq!(parse_signal("TERM"), Some(Signal::SIGTERM));
        assert_eq!(parse_signal("sigwinch"), Some(Signal::SIGWINCH));
        assert_eq!(parse_signal("9"), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("SIGFOO"), None);
        assert_eq!(
            parse_signals("term_signals", " TERM  kill ").unwrap(),
            vec![Signal::SIGTERM, Signal::SIGKILL]
        );
        let e = parse_signals("term_signals", "TERM FOO").unwrap_err();
        assert_eq!(
            (e.rc(), e.reason()),
            (Rc::ErrConfigured, "term_signals: 'FOO' is not a signal")
        );
        let e = parse_signals("kill_signals", "  ").unwrap_err();
        assert_eq!(e.reason(), "kill_signals names no signal");
        let steps =
            Escalation::evenly(&[Signal::SIGWINCH, Signal::SIGTERM, Signal::SIGKILL]).steps();
        let sigs: Vec<Signal> = steps.iter().map(|s| s.signal).collect();
        assert_eq!(
            sigs,
            vec![Signal::SIGWINCH, Signal::SIGTERM, Signal::SIGKILL]
        );
        assert_eq!(Escalation::new().steps().len(), 1, "KILL always ends it");
    }

    #[test]
    fn a_member_that_left_the_session_is_still_stopped() {
        // The leader dies on TERM; its child ignores TERM and runs in a session of its own,
        // so once the leader is gone only its identity, seen earlier, still ties it to the
        // family.
        let d = spawn_daemon(
            &Cmd::new("sh")
                .arg("-c")
                .arg("sh -c \"trap '' TERM; exec setsid sleep 300\" & wait"),
            &DaemonOutput::Null,
        )
        .unwrap();
        let child = Deadline::after(Duration::from_secs(5))
            .wait_until(Duration::from_millis(10), || {
                processes()
                    .into_iter()
                    .find(|p| p.ppid == d.pid && p.comm == "sleep" && p.sid != d.pid)
            })
            .expect("setsid child");
        assert!(family(d).contains(&child.identity()));
        let t = Instant::now();
        stop_family(
            d,
            &Escalation::term_then_kill(),
            Deadline::after(Duration::from_secs(3)),
        )
        .unwrap();
        assert!(t.elapsed() < Duration::from_secs(3));
        assert!(!d.is_alive());
        assert!(
            !child.identity().is_alive(),
            "the child that left the session survived"
        );
    }
}
