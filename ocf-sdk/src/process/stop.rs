//! Stopping processes inside a budget: plain signal rounds ([`stop_processes`]), and a
//! daemon's whole family ([`family`], [`stop_family`], [`stop_tree`]) found again at every
//! step by session and process group, so children that re-parented to init, double-forked or
//! were started during the stop are not missed.

use super::lookup::{processes, Proc, ProcRef};
use crate::deadline::Deadline;
use crate::exit::{Error, Rc, Result};
use nix::sys::signal::Signal;
use std::time::Duration;

/// Send each signal of `signals` in turn to every process of `procs` that is still alive,
/// waiting up to an equal share of the budget after each (the last signal gets the rest).
/// Only the given signals are sent: escalate by including `SIGKILL` last, or by a second
/// call. Returns the processes still alive (empty on success).
pub fn stop_processes(procs: &[ProcRef], signals: &[Signal], deadline: Deadline) -> Vec<ProcRef> {
    let alive = |v: &[ProcRef]| {
        v.iter()
            .copied()
            .filter(ProcRef::is_alive)
            .collect::<Vec<_>>()
    };
    let mut left = alive(procs);
    let steps = signals.len() as f64;
    for (i, sig) in signals.iter().enumerate() {
        if left.is_empty() {
            return left;
        }
        for p in &left {
            p.signal(*sig);
        }
        let share = deadline.fraction(1.0 / (steps - i as f64));
        left = share
            .wait_until(Duration::from_millis(20), || {
                let l = alive(&left);
                l.is_empty().then_some(l)
            })
            .unwrap_or_else(|| alive(&left));
    }
    left
}

/// Every live process that belongs to the daemon started as `leader` (leader included while
/// it lives): its descendants, and the members of its session and of its process group, which
/// keep those ids when they re-parent to init or fork twice. Daemons started by
/// [`crate::daemon`] or [`super::spawn_daemon`] lead a session of their own, so after the
/// leader died its orphans are still found by the session id (= the leader's pid).
///
/// Safety rails: the caller's own session and process group are never used (a child that did
/// not get a session of its own yields its descendants only), nor ids 0 and 1; a process
/// older than the leader never belongs to it; when the leader's pid was reused by a new
/// process, nothing started after that new process belongs to it.
pub fn family(leader: ProcRef) -> Vec<ProcRef> {
    family_of(leader, &processes())
}

fn family_of(leader: ProcRef, all: &[Proc]) -> Vec<ProcRef> {
    let me = std::process::id() as i32;
    let my_sid = nix::unistd::getsid(None).map(|p| p.as_raw()).unwrap_or(-1);
    let my_pgid = nix::unistd::getpgrp().as_raw();
    let holder = all.iter().find(|p| p.pid == leader.pid);
    let live = holder.filter(|p| p.start_ticks == leader.start_ticks);
    let reused_at = holder
        .filter(|p| p.start_ticks != leader.start_ticks)
        .map(|p| p.start_ticks);
    let (sid, pgid) = match live {
        Some(p) => (p.sid, p.pgid),
        None => (leader.pid, leader.pid),
    };
    let usable = |id: i32, mine: i32| id > 1 && id != mine;
    let sid = usable(sid, my_sid).then_some(sid);
    let pgid = usable(pgid, my_pgid).then_some(pgid);
    let belongs_in_time = |p: &Proc| {
        p.start_ticks >= leader.start_ticks && reused_at.is_none_or(|r| p.start_ticks < r)
    };
    let mut out: Vec<ProcRef> = Vec::new();
    fn push(out: &mut Vec<ProcRef>, me: i32, r: ProcRef) {
        if r.pid != me && !out.contains(&r) {
            out.push(r);
        }
    }
    for p in all {
        if belongs_in_time(p) && (Some(p.sid) == sid || Some(p.pgid) == pgid) {
            push(&mut out, me, p.identity());
        }
    }
    // Descendants by parent links, from the leader and from every member found so far.
    let mut i = 0;
    let mut frontier: Vec<i32> = live.map(|p| p.pid).into_iter().collect();
    frontier.extend(out.iter().map(|r| r.pid));
    while i < frontier.len() {
        let parent = frontier[i];
        for p in all.iter().filter(|p| p.ppid == parent && p.pid != parent) {
            if belongs_in_time(p) && !frontier.contains(&p.pid) {
                frontier.push(p.pid);
                push(&mut out, me, p.identity());
            }
        }
        i += 1;
    }
    out
}

/// One step of an [`Escalation`]: a signal and how long to wait after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// The signal sent to every member still alive.
    pub signal: Signal,
    /// The wait after it, at most: a fraction (0–1) of the budget left at this step (after
    /// the reserve for the final SIGKILL), and/or a fixed cap.
    pub share: f64,
    /// An upper bound for the wait, if any.
    pub at_most: Option<Duration>,
}

/// How to stop a daemon: graceful signals with their waits, then always SIGKILL.
///
/// A failed stop fences the node, so SIGKILL ends every escalation: it is appended when the
/// list does not end with it, and it keeps a reserve of the budget (a fifth, at most 2 s)
/// that the graceful steps never use.
///
/// ```
/// use ocf::process::Escalation;
/// use nix::sys::signal::Signal;
/// use std::time::Duration;
/// // apache: graceful-stop for half the budget, then TERM for at most 10 s, then KILL.
/// let apache = Escalation::new()
///     .then(Signal::SIGWINCH, 0.5)
///     .then_at_most(Signal::SIGTERM, 1.0, Duration::from_secs(10));
/// // from a parameter such as "TERM KILL":
/// let e = Escalation::evenly(&ocf::process::parse_signals("stop_signals", "TERM KILL").unwrap());
/// assert_eq!(e.steps().len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Escalation {
    steps: Vec<Step>,
}

impl Escalation {
    /// No graceful step: SIGKILL only.
    pub fn new() -> Escalation {
        Escalation::default()
    }

    /// SIGTERM, then SIGKILL (what `ocf:heartbeat:anything` and mysql do).
    pub fn term_then_kill() -> Escalation {
        Escalation::new().then(Signal::SIGTERM, 1.0)
    }

    /// Each signal gets an equal share of the budget (SIGKILL keeps its reserve).
    pub fn evenly(signals: &[Signal]) -> Escalation {
        let graceful: Vec<Signal> = signals
            .iter()
            .copied()
            .filter(|s| *s != Signal::SIGKILL)
            .collect();
        let n = graceful.len();
        graceful
            .into_iter()
            .enumerate()
            .fold(Escalation::new(), |e, (i, s)| {
                e.then(s, 1.0 / (n - i) as f64)
            })
    }

    /// Add a graceful step: send `signal`, wait up to `share` (0–1) of the budget left.
    #[must_use]
    pub fn then(mut self, signal: Signal, share: f64) -> Escalation {
        self.steps.push(Step {
            signal,
            share: share.clamp(0.0, 1.0),
            at_most: None,
        });
        self
    }

    /// Like [`Escalation::then`], waiting at most `at_most` too.
    #[must_use]
    pub fn then_at_most(mut self, signal: Signal, share: f64, at_most: Duration) -> Escalation {
        self.steps.push(Step {
            signal,
            share: share.clamp(0.0, 1.0),
            at_most: Some(at_most),
        });
        self
    }

    /// Every step, the final SIGKILL included.
    pub fn steps(&self) -> Vec<Step> {
        let mut v: Vec<Step> = self
            .steps
            .iter()
            .copied()
            .filter(|s| s.signal != Signal::SIGKILL)
            .collect();
        v.push(Step {
            signal: Signal::SIGKILL,
            share: 1.0,
            at_most: None,
        });
        v
    }
}

/// Stop the daemon started as `leader` and everything that belongs to it ([`family`]),
/// following `escalation` inside `deadline`. The family is looked up again before every
/// signal and at every poll, so processes forked meanwhile get the next signal too.
///
/// # Errors
/// 1 naming the processes still alive at the deadline (only possible for processes stuck in
/// the kernel, state `D`, or when the budget is too short).
pub fn stop_family(leader: ProcRef, escalation: &Escalation, deadline: Deadline) -> Result<()> {
    let steps = escalation.steps();
    let reserve = (deadline.remaining() / 5).min(Duration::from_secs(2));
    let graceful_end = Deadline::at(deadline.instant() - reserve);
    // Everything ever seen as a member keeps getting signals: a member that called setsid or
    // re-parented after its leader died is still known by its identity (pid + start time).
    let mut known: Vec<ProcRef> = Vec::new();
    let rescan = |known: &mut Vec<ProcRef>| {
        for p in family(leader) {
            if !known.contains(&p) {
                known.push(p);
            }
        }
        known.retain(ProcRef::is_alive);
        known.clone()
    };
    for step in &steps {
        let members = rescan(&mut known);
        if members.is_empty() {
            return Ok(());
        }
        let is_kill = step.signal == Signal::SIGKILL;
        let mut wait = if is_kill {
            deadline
        } else {
            graceful_end.fraction(step.share)
        };
        if let Some(cap) = step.at_most {
            wait = wait.within(cap);
        }
        crate::debug!(
            "stop: {} to {} process(es) of {}",
            step.signal,
            members.len(),
            leader.pid
        );
        for p in &members {
            p.signal(step.signal);
        }
        let gone = wait.wait_until(Duration::from_millis(50), || {
            let now = rescan(&mut known);
            if is_kill {
                // Late forks get the KILL too.
                for p in &now {
                    p.signal(Signal::SIGKILL);
                }
            }
            now.is_empty().then_some(())
        });
        if gone.is_some() {
            return Ok(());
        }
    }
    let left = rescan(&mut known);
    if left.is_empty() {
        return Ok(());
    }
    let pids: Vec<String> = left.iter().map(|p| p.pid.to_string()).collect();
    Err(Error::new(
        Rc::ErrGeneric,
        format!("processes still running after SIGKILL: {}", pids.join(" ")),
    ))
}

/// Stop a process and everything that belongs to it ([`family`]): TERM, wait up to `grace`
/// (within the deadline), then KILL.
///
/// # Errors
/// 1 naming the processes that survived.
pub fn stop_tree(root: ProcRef, grace: Duration, deadline: Deadline) -> Result<()> {
    let e = Escalation::new().then_at_most(Signal::SIGTERM, 1.0, grace);
    stop_family(root, &e, deadline)
}
