//! Time budgets: every action, child process and wait ends before the cluster's timeout.
//!
//! The budget of an action is the caller's timeout (`OCF_RESKEY_CRM_meta_timeout` in ms from
//! Pacemaker, `OCF_RESKEY_RGMANAGER_meta_timeout` in s from rgmanager) or, when the caller
//! gives none, the advertised timeout of the action; minus a safety margin of 10 % clamped to
//! 0.5–5 s, so the agent can still print an exit reason and exit cleanly before the executor
//! sends SIGKILL to the process group.
//!
//! The budget also holds when a system call never returns (`umount2` on a dead NFS server, a
//! read on a FUSE filesystem whose daemon is stopped):
//! * [`bounded`] runs one blocking call in a worker thread and gives up waiting for it at a
//!   deadline with a [`Blocked`] error the agent can act on (try a lazy unmount, report the
//!   hung path); the worker is left behind and ends with the process;
//! * the [`ExitWatchdog`] the dispatcher arms for every action (two timer signals, no thread)
//!   answers for the agent when even that is not enough: shortly before the caller's timeout
//!   it writes the exit reason, naming the blocking call in progress and how long it has
//!   blocked, and ends the process with exit 1, so the cluster always gets an answer in time
//!   and always learns why ([`Watchdog`] is the same with a thread and a closure);
//! * [`may_hang`] and [`bounded_if_may_hang`] pay the worker thread only where the filesystem
//!   of a path can hang (FUSE, NFS, CIFS, ...).

use crate::exit::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest budget anything is given: far beyond any cluster timeout, and small enough
/// that adding it to an [`Instant`] never overflows.
pub const MAX_BUDGET: Duration = Duration::from_secs(365 * 24 * 3600);

/// `at + d`, saturating at `at + MAX_BUDGET` instead of panicking on overflow.
fn add(at: Instant, d: Duration) -> Instant {
    at.checked_add(d.min(MAX_BUDGET)).unwrap_or(at)
}

/// A point in time by which work must be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
}

/// The safety margin kept back from a caller's timeout.
pub fn margin(total: Duration) -> Duration {
    (total / 10)
        .clamp(Duration::from_millis(500), Duration::from_secs(5))
        .min(total / 2)
}

impl Deadline {
    /// A deadline `d` from now.
    pub fn after(d: Duration) -> Deadline {
        Deadline {
            at: add(Instant::now(), d),
        }
    }

    /// A deadline at an instant.
    pub fn at(at: Instant) -> Deadline {
        Deadline { at }
    }

    /// The action budget for a total timeout (margin applied), counted from `start`.
    pub fn for_timeout(start: Instant, total: Duration) -> Deadline {
        let total = total.min(MAX_BUDGET);
        let budget = total
            .saturating_sub(margin(total))
            .max(Duration::from_millis(100));
        Deadline {
            at: add(start, budget),
        }
    }

    /// When the [`Watchdog`] answers for an action with this total timeout counted from
    /// `start`: half-way through the safety margin, after the agent's own deadline
    /// ([`Deadline::for_timeout`]) and before the caller's timeout.
    pub fn for_watchdog(start: Instant, total: Duration) -> Deadline {
        let total = total.min(MAX_BUDGET);
        let budget = total
            .saturating_sub(margin(total) / 2)
            .max(Duration::from_millis(150));
        Deadline {
            at: add(start, budget),
        }
    }

    /// The instant.
    pub fn instant(&self) -> Instant {
        self.at
    }

    /// Time left (zero when passed).
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.at
    }

    /// The earlier of this deadline and `d` from now.
    #[must_use]
    pub fn within(&self, d: Duration) -> Deadline {
        Deadline {
            at: self.at.min(add(Instant::now(), d)),
        }
    }

    /// A deadline that leaves `fraction` (0.0–1.0) of the remaining time for later work,
    /// e.g. `fraction(0.5)` ends half-way to this deadline.
    #[must_use]
    pub fn fraction(&self, fraction: f64) -> Deadline {
        let f = fraction.clamp(0.0, 1.0);
        Deadline {
            at: add(Instant::now(), self.remaining().mul_f64(f)),
        }
    }

    /// `Err(1)` with "`what`: timed out after ..." if the deadline has passed.
    ///
    /// # Errors
    /// Code 1 when expired.
    pub fn check(&self, what: &str) -> Result<()> {
        if self.expired() {
            Err(Error::generic(format!("{what}: out of time")))
        } else {
            Ok(())
        }
    }

    /// Sleep for `d` or until the deadline, whichever comes first.
    pub fn sleep(&self, d: Duration) {
        std::thread::sleep(d.min(self.remaining()));
    }

    /// Poll `pred` until it returns `Some`, sleeping with back-off from 5 ms to `max_step`,
    /// never past the deadline. Returns `None` on expiry (after one last check).
    pub fn wait_until<T>(
        &self,
        max_step: Duration,
        mut pred: impl FnMut() -> Option<T>,
    ) -> Option<T> {
        let mut step = Duration::from_millis(5).min(max_step);
        loop {
            if let Some(v) = pred() {
                return Some(v);
            }
            if self.expired() {
                return None;
            }
            self.sleep(step);
            step = (step * 2).min(max_step);
        }
    }
}

/// A blocking call that did not return by its deadline (see [`bounded`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// What was called, e.g. `umount of /srv`.
    pub what: String,
    /// How long it had blocked when the wait ended.
    pub waited: Duration,
}

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} blocked in the kernel for {:.1} s",
            self.what,
            self.waited.as_secs_f64()
        )
    }
}

impl std::error::Error for Blocked {}

/// A blocked call is a runtime failure (1) whose reason names the call and the time.
impl From<Blocked> for Error {
    fn from(b: Blocked) -> Error {
        Error::generic(b.to_string())
    }
}

/// The deadline of the action running in this process (set by the dispatcher).
static ACTION_DEADLINE: Mutex<Option<Deadline>> = Mutex::new(None);

/// Publish (or clear) the running action's deadline; returns the previous one.
pub(crate) fn set_action_deadline(d: Option<Deadline>) -> Option<Deadline> {
    match ACTION_DEADLINE.lock() {
        Ok(mut g) => std::mem::replace(&mut *g, d),
        Err(p) => std::mem::replace(&mut *p.into_inner(), d),
    }
}

/// The deadline of the action the dispatcher is running, for SDK calls that need one without
/// being given it (a pid file read on a filesystem that may hang).
pub fn action_deadline() -> Option<Deadline> {
    match ACTION_DEADLINE.lock() {
        Ok(g) => *g,
        Err(p) => *p.into_inner(),
    }
}

/// The blocking call in progress ([`bounded`]), for the watchdog's exit reason.
static ACTIVITY: Mutex<Option<(String, Instant)>> = Mutex::new(None);

fn set_activity(a: Option<(String, Instant)>) -> Option<(String, Instant)> {
    signal_watchdog::mirror_activity(a.as_ref());
    match ACTIVITY.lock() {
        Ok(mut g) => std::mem::replace(&mut *g, a),
        Err(p) => std::mem::replace(&mut *p.into_inner(), a),
    }
}

/// The blocking call in progress, if any, and since when.
pub fn activity() -> Option<(String, Instant)> {
    match ACTIVITY.lock() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

/// Run one blocking call (`f`) in a worker thread and wait for it until `deadline`.
///
/// `what` names the call for messages (`"umount of /srv"`). On time, the call's own result
/// is returned; otherwise [`Blocked`], and the worker is abandoned: it may stay blocked in the
/// kernel, but it no longer holds the action up, and it ends with the process. While the call
/// runs it is the activity the [`Watchdog`] names if the action overruns its budget.
///
/// Only calls that may block on something outside the process (a hung filesystem, a device)
/// need this; the closure must own what it uses (`move`, clone the paths).
///
/// ```
/// use ocf::deadline::{bounded, Deadline};
/// use std::time::Duration;
/// let d = Deadline::after(Duration::from_secs(5));
/// assert_eq!(bounded(d, "stat of /", || std::fs::metadata("/").is_ok()), Ok(true));
/// let r = bounded(Deadline::after(Duration::from_millis(50)), "a long sleep", || {
///     std::thread::sleep(Duration::from_secs(3))
/// });
/// assert!(r.unwrap_err().to_string().starts_with("a long sleep blocked in the kernel for"));
/// ```
///
/// # Errors
/// [`Blocked`] when the deadline passes first (at once when it has passed already: the call
/// is then not made).
pub fn bounded<T: Send + 'static>(
    deadline: Deadline,
    what: impl Into<String>,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::result::Result<T, Blocked> {
    let what = what.into();
    let since = Instant::now();
    if deadline.expired() {
        return Err(Blocked {
            what: format!("{what} (not tried: no time left)"),
            waited: Duration::ZERO,
        });
    }
    let (tx, rx) = mpsc::sync_channel(1);
    let previous = set_activity(Some((what.clone(), since)));
    let spawned = std::thread::Builder::new()
        .name("ocf-bounded".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            // The watchdog's signal goes to the thread that waits for this one, never to a
            // worker that may be stuck where no handler can run (see `ExitWatchdog`).
            signal_watchdog::block_in_this_thread();
            let _ = tx.send(f());
        });
    let r = match spawned {
        Ok(_) => rx.recv_timeout(deadline.remaining()).map_err(|e| Blocked {
            what: match e {
                mpsc::RecvTimeoutError::Timeout => what,
                mpsc::RecvTimeoutError::Disconnected => format!("{what} (worker panicked)"),
            },
            waited: since.elapsed(),
        }),
        Err(e) => {
            // No thread to spare (EAGAIN): the closure is gone with the failed spawn; report
            // it rather than block the action unbounded.
            crate::log::log(
                crate::log::Level::Error,
                &format!("cannot start a worker thread for {what}: {e}"),
            );
            Err(Blocked {
                what: format!("{what} (no worker thread)"),
                waited: since.elapsed(),
            })
        }
    };
    set_activity(previous);
    r
}

/// Filesystem types whose calls can block without end (a FUSE daemon stopped, a network
/// server gone).
pub fn fstype_may_hang(fstype: &str) -> bool {
    fstype == "fuse"
        || fstype == "fuseblk"
        || fstype.starts_with("fuse.")
        || fstype.starts_with("nfs")
        || matches!(
            fstype,
            "cifs" | "smb3" | "smbfs" | "ceph" | "glusterfs" | "9p" | "afs" | "davfs" | "lustre"
        )
}

/// Whether a system call on the absolute `path` may block without end: true when the
/// filesystem that a lookup of `path` ends on ([`crate::mount::MountTable::resolve`], from
/// `/proc/self/mountinfo`, touching nothing on the path) can hang, and for relative or
/// non-UTF-8 paths. Paths under `/run/`, `/var/run/`, `/dev/shm/` and `/proc/` are taken as
/// local without reading anything.
///
/// The mount table is read once per process (one agent process is one action) and kept:
/// an action that reads several pid files, or one several times, pays one read of
/// `/proc/self/mountinfo`. A mount the action itself makes afterwards is not seen by this
/// answer (no agent reads pid files below a mount it has just made).
pub fn may_hang(path: &std::path::Path) -> bool {
    may_hang_with(path, cached_mount_table)
}

/// [`may_hang`] with the mount table from `table` (asked only when the path is not local).
fn may_hang_with(
    path: &std::path::Path,
    table: impl FnOnce() -> Option<std::sync::Arc<crate::mount::MountTable>>,
) -> bool {
    const LOCAL: [&str; 4] = ["/run/", "/var/run/", "/dev/shm/", "/proc/"];
    let Some(text) = path.to_str() else {
        return true;
    };
    if !path.is_absolute() {
        return true;
    }
    if LOCAL.iter().any(|l| text.starts_with(l)) && !text.contains("/..") {
        return false;
    }
    match table() {
        Some(t) => t.resolve(path).is_none_or(|m| fstype_may_hang(&m.fstype)),
        None => true,
    }
}

/// The process's mount table, read at the first call; `None` when it cannot be read (asked
/// again at the next call).
fn cached_mount_table() -> Option<std::sync::Arc<crate::mount::MountTable>> {
    static TABLE: std::sync::Mutex<Option<std::sync::Arc<crate::mount::MountTable>>> =
        std::sync::Mutex::new(None);
    let mut slot = TABLE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if slot.is_none() {
        *slot = crate::mount::MountTable::read()
            .ok()
            .map(std::sync::Arc::new);
    }
    slot.clone()
}

/// [`bounded`] when `path` [`may_hang`], else `f` called directly: the worker thread (about
/// 20 system calls and a stack) is paid only where a call can really block without end.
///
/// # Errors
/// [`Blocked`] as [`bounded`].
pub fn bounded_if_may_hang<T: Send + 'static>(
    path: &std::path::Path,
    deadline: Deadline,
    what: impl Into<String>,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::result::Result<T, Blocked> {
    if may_hang(path) {
        bounded(deadline, what, f)
    } else {
        Ok(f())
    }
}

/// What the watchdog does when it fires: the exit reason it wrote goes to `on_fire`.
type Fire = Box<dyn FnOnce(String) + Send>;

/// A timer that answers for an action that overruns its budget (see the module docs).
///
/// A thread that sleeps until the deadline and then calls a closure: for callers that want
/// the reason rather than an exit (tests, tools). The dispatcher arms the cheaper
/// [`ExitWatchdog`] (timer signals, no thread) for every action of a real agent process, and
/// falls back to this one only when the kernel refuses a timer. Disarmed when dropped
/// (disarming only sets a flag it reads when it wakes).
#[derive(Debug)]
pub struct Watchdog {
    disarmed: Option<Arc<AtomicBool>>,
}

impl Watchdog {
    /// Arm: at `at`, unless dropped before, call `on_fire` with the exit reason
    /// `"{action}: {activity} blocked in the kernel for N s"` (or, when no [`bounded`] call is
    /// in progress, `"{action}: no answer within N s ..."`).
    pub fn arm(at: Deadline, action: &str, on_fire: Fire) -> Watchdog {
        let disarmed = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&disarmed);
        let action = action.to_string();
        let started = Instant::now();
        let spawned = std::thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(move || {
                while !at.expired() {
                    std::thread::sleep(at.remaining());
                }
                if flag.load(Ordering::Acquire) {
                    return;
                }
                let reason = match activity() {
                    Some((what, since)) => format!(
                        "{action}: {what} blocked in the kernel for {:.1} s; giving up before \
                         the cluster's timeout",
                        since.elapsed().as_secs_f64()
                    ),
                    None => format!(
                        "{action}: no answer within {:.1} s; giving up before the cluster's \
                         timeout",
                        started.elapsed().as_secs_f64()
                    ),
                };
                on_fire(reason);
            });
        Watchdog {
            disarmed: spawned.is_ok().then_some(disarmed),
        }
    }

    /// Whether the timer thread runs (it could not start when the system is out of threads).
    pub fn armed(&self) -> bool {
        self.disarmed.is_some()
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(d) = self.disarmed.take() {
            d.store(true, Ordering::Release);
        }
    }
}

/// The watchdog of a real agent process ([`ExitWatchdog`]): a timer signal instead of a thread.
///
/// Armed for every action, it must cost next to nothing when it does not fire (the common
/// case: the action ends in milliseconds). A thread costs a clone, a stack mapping, a guard
/// page and its own start-up (about 17 system calls and 15 page faults per agent call); this
/// costs four system calls (`sigaction`, `setitimer`, `timer_create`, `timer_settime`) and
/// three more to disarm.
///
/// * At the watchdog deadline `SIGALRM` runs a handler that formats the exit reason into a
///   stack buffer from data prepared when armed (action, prefix, start time) and the activity
///   mirror that [`bounded`] keeps in atomics, writes it to stderr with one `write(2)`,
///   removes the live secret options files with `unlink`/`rmdir` and `_exit`s with 1. Nothing
///   in it allocates or takes a lock. [`bounded`]'s workers block `SIGALRM`, so it runs on
///   the thread waiting for them (a futex wait, which signals interrupt).
/// * A thread blocked where only a fatal signal can interrupt it (a FUSE request whose daemon
///   is stopped, after the first signal was turned into an interrupt request) cannot run a
///   handler. For that case a second timer a quarter of the remaining margin later sends
///   `SIGUSR2` with its default action: the kernel ends the process at once, still before
///   the caller's timeout, but without an exit reason. Blocking calls on filesystems that
///   may hang belong in [`bounded`], where the first timer always answers with a reason.
mod signal_watchdog {
    use std::sync::atomic::{fence, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering};
    use std::time::Instant;

    /// Room for the activity's name in the mirror (longer names are cut).
    const WHAT_MAX: usize = 256;

    /// The activity mirror: a sequence lock over a fixed buffer. The writer makes `SEQ` odd,
    /// writes, makes it even; the handler reads only an even, unchanged sequence.
    static SEQ: AtomicU64 = AtomicU64::new(0);
    static WHAT: [AtomicU8; WHAT_MAX] = [const { AtomicU8::new(0) }; WHAT_MAX];
    static WHAT_LEN: AtomicUsize = AtomicUsize::new(0);
    /// CLOCK_MONOTONIC nanoseconds when the activity started; 0: none.
    static SINCE_NS: AtomicU64 = AtomicU64::new(0);

    /// What the handler writes, prepared when armed.
    pub(super) struct Prepared {
        /// `{prefix}{action}: `.
        pub head: Vec<u8>,
        /// CLOCK_MONOTONIC nanoseconds when the action started.
        pub started_ns: u64,
        pub code: i32,
    }
    static PREPARED: AtomicPtr<Prepared> = AtomicPtr::new(std::ptr::null_mut());
    /// The backstop POSIX timer's id (`timer_t`, a pointer-sized id); `usize::MAX`: none.
    static BACKSTOP: AtomicUsize = AtomicUsize::new(usize::MAX);

    pub(super) fn monotonic_ns() -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes into a valid timespec; async-signal-safe.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        u64::try_from(ts.tv_sec)
            .unwrap_or(0)
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::try_from(ts.tv_nsec).unwrap_or(0))
    }

    /// `since` in CLOCK_MONOTONIC nanoseconds (Rust's `Instant` is that clock on Linux).
    fn instant_ns(since: Instant) -> u64 {
        let ago = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        monotonic_ns().saturating_sub(ago).max(1)
    }

    pub(super) fn mirror_activity(a: Option<&(String, Instant)>) {
        SEQ.fetch_add(1, Ordering::AcqRel);
        match a {
            Some((what, since)) => {
                let text = crate::exit::sanitize_reason(what);
                let mut n = 0;
                for (slot, b) in WHAT.iter().zip(text.bytes()) {
                    slot.store(b, Ordering::Relaxed);
                    n += 1;
                }
                WHAT_LEN.store(n, Ordering::Relaxed);
                SINCE_NS.store(instant_ns(*since), Ordering::Relaxed);
            }
            None => SINCE_NS.store(0, Ordering::Relaxed),
        }
        SEQ.fetch_add(1, Ordering::AcqRel);
    }

    /// Block SIGALRM in the calling thread (a [`super::bounded`] worker).
    pub(super) fn block_in_this_thread() {
        // SAFETY: sigset operations on a local set; pthread_sigmask changes this thread only.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGALRM);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
    }

    /// A fixed buffer the handler formats into.
    struct Buf {
        b: [u8; 1024],
        n: usize,
    }

    impl Buf {
        fn push(&mut self, s: &[u8]) {
            let room = self.b.len() - self.n;
            let k = s.len().min(room);
            self.b[self.n..self.n + k].copy_from_slice(&s[..k]);
            self.n += k;
        }
    }

    impl std::fmt::Write for Buf {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.push(s.as_bytes());
            Ok(())
        }
    }

    extern "C" fn on_alarm(_: libc::c_int) {
        use std::fmt::Write as _;
        let p = PREPARED.load(Ordering::Acquire);
        if p.is_null() {
            return;
        }
        // SAFETY: a published Prepared is leaked, never freed.
        let p = unsafe { &*p };
        let now = monotonic_ns();
        let mut out = Buf { b: [0; 1024], n: 0 };
        out.push(&p.head);
        let mut what = [0u8; WHAT_MAX];
        let s1 = SEQ.load(Ordering::Acquire);
        let len = WHAT_LEN.load(Ordering::Relaxed).min(WHAT_MAX);
        for (d, s) in what.iter_mut().zip(WHAT.iter()).take(len) {
            *d = s.load(Ordering::Relaxed);
        }
        let since = SINCE_NS.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        let consistent = s1 % 2 == 0 && SEQ.load(Ordering::Acquire) == s1;
        let secs = |from: u64| now.saturating_sub(from) as f64 / 1e9;
        if consistent && since != 0 {
            out.push(&what[..len]);
            let _ = writeln!(
                out,
                " blocked in the kernel for {:.1} s; giving up before the cluster's timeout",
                secs(since)
            );
        } else {
            let _ = writeln!(
                out,
                "no answer within {:.1} s; giving up before the cluster's timeout",
                secs(p.started_ns)
            );
        }
        // SAFETY: write(2), unlink/rmdir and _exit are async-signal-safe.
        unsafe {
            libc::write(2, out.b.as_ptr().cast(), out.n);
        }
        crate::secret::remove_all_from_signal_handler();
        // SAFETY: see above.
        unsafe { libc::_exit(p.code) }
    }

    /// `d` as a timer value, at least 1 µs (an all-zero it_value disarms instead of firing).
    fn timeval(d: std::time::Duration) -> libc::timeval {
        libc::timeval {
            tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_usec: libc::suseconds_t::from(d.subsec_micros()).max(i64::from(d.is_zero())),
        }
    }

    /// Arm both timers; false when the kernel refused (the caller falls back to a thread).
    pub(super) fn arm(
        at: std::time::Duration,
        backstop: std::time::Duration,
        prepared: Prepared,
    ) -> bool {
        let p = Box::into_raw(Box::new(prepared));
        let old = PREPARED.swap(p, Ordering::AcqRel);
        // Never freed (a handler may still read it); only one per armed action.
        let _ = old;
        // SAFETY: installing a handler that only calls async-signal-safe functions; timer
        // calls with valid, initialised structures.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_alarm as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = 0;
            if libc::sigaction(libc::SIGALRM, &sa, std::ptr::null_mut()) != 0 {
                return false;
            }
            // One shot: a zero interval.
            let it = libc::itimerval {
                it_interval: std::mem::zeroed(),
                it_value: timeval(at),
            };
            if libc::setitimer(libc::ITIMER_REAL, &it, std::ptr::null_mut()) != 0 {
                return false;
            }
            // The backstop: SIGUSR2 with its default action (terminate); nothing in the SDK
            // or the agents installs a handler for it.
            let mut sev: libc::sigevent = std::mem::zeroed();
            sev.sigev_notify = libc::SIGEV_SIGNAL;
            sev.sigev_signo = libc::SIGUSR2;
            let mut id: libc::timer_t = std::ptr::null_mut();
            if libc::timer_create(libc::CLOCK_MONOTONIC, &mut sev, &mut id) == 0 {
                let spec = libc::itimerspec {
                    it_interval: libc::timespec {
                        tv_sec: 0,
                        tv_nsec: 0,
                    },
                    it_value: libc::timespec {
                        tv_sec: libc::time_t::try_from(backstop.as_secs())
                            .unwrap_or(libc::time_t::MAX),
                        tv_nsec: i64::from(backstop.subsec_nanos().max(1)),
                    },
                };
                libc::timer_settime(id, 0, &spec, std::ptr::null_mut());
                BACKSTOP.store(id as usize, Ordering::Release);
            }
        }
        true
    }

    pub(super) fn disarm() {
        PREPARED.store(std::ptr::null_mut(), Ordering::Release);
        // SAFETY: disarming timers this module armed.
        unsafe {
            let zero: libc::itimerval = std::mem::zeroed();
            libc::setitimer(libc::ITIMER_REAL, &zero, std::ptr::null_mut());
            let id = BACKSTOP.swap(usize::MAX, Ordering::AcqRel);
            if id != usize::MAX {
                libc::timer_delete(id as libc::timer_t);
            }
        }
    }
}

/// The watchdog of a real agent process: at `at` it writes `{prefix}{action}: ...` (the same
/// reason [`Watchdog`] gives) to stderr and ends the process with `code`, from a timer
/// signal rather than a thread (see `signal_watchdog`'s notes in the source for the costs
/// and the one case, a thread stuck in a killable-only wait outside [`bounded`], where the
/// process is ended by a second timer without a reason). Disarmed when dropped.
///
/// One per process at a time: arming it again replaces the previous one.
#[derive(Debug)]
pub struct ExitWatchdog {
    fallback: Option<Watchdog>,
}

impl ExitWatchdog {
    /// Arm for `action`: the reason at `at`, reason lines prefixed with `prefix`
    /// (`ocf-exit-reason:`); the silent backstop at `backstop` (before the caller's timeout).
    pub fn arm(
        at: Deadline,
        backstop: Deadline,
        action: &str,
        prefix: &str,
        code: u8,
    ) -> ExitWatchdog {
        let now = Instant::now();
        let left = at.instant().saturating_duration_since(now);
        let backstop = backstop
            .instant()
            .saturating_duration_since(now)
            .max(left + Duration::from_millis(25));
        let mut head = Vec::with_capacity(prefix.len() + action.len() + 2);
        head.extend_from_slice(prefix.as_bytes());
        head.extend_from_slice(crate::exit::sanitize_reason(action).as_bytes());
        head.extend_from_slice(b": ");
        let prepared = signal_watchdog::Prepared {
            head,
            started_ns: signal_watchdog::monotonic_ns(),
            code: i32::from(code),
        };
        if signal_watchdog::arm(left, backstop, prepared) {
            return ExitWatchdog { fallback: None };
        }
        // The kernel refused a timer: a thread does the same work.
        let prefix = prefix.to_string();
        ExitWatchdog {
            fallback: Some(Watchdog::arm(
                at,
                action,
                Box::new(move |reason| {
                    eprintln!("{prefix}{}", crate::exit::sanitize_reason(&reason));
                    crate::secret::remove_all_from_signal_handler();
                    // SAFETY: _exit only ends the process.
                    unsafe { libc::_exit(i32::from(code)) }
                }),
            )),
        }
    }
}

impl Drop for ExitWatchdog {
    fn drop(&mut self) {
        if self.fallback.take().is_none() {
            signal_watchdog::disarm();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The activity is process-wide: tests that look at it run one at a time.
    fn serial() -> std::sync::MutexGuard<'static, ()> {
        static L: Mutex<()> = Mutex::new(());
        L.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    #[test]
    fn hang_prone_filesystems_are_recognised() {
        for t in [
            "fuse",
            "fuse.bindfs",
            "fuseblk",
            "nfs",
            "nfs4",
            "cifs",
            "glusterfs",
        ] {
            assert!(fstype_may_hang(t), "{t}");
        }
        for t in ["ext4", "xfs", "tmpfs", "btrfs", "proc"] {
            assert!(!fstype_may_hang(t), "{t}");
        }
        use std::path::Path;
        assert!(!may_hang(Path::new("/run/x.pid")));
        assert!(!may_hang(Path::new("/proc/self/stat")));
        assert!(may_hang(Path::new("relative.pid")));
        // A call on a local path runs in this thread.
        let me = std::thread::current().id();
        let d = Deadline::after(Duration::from_secs(5));
        let ran_on = bounded_if_may_hang(Path::new("/proc/self/stat"), d, "read", move || {
            std::thread::current().id()
        });
        assert_eq!(ran_on, Ok(me));
    }

    #[test]
    fn the_mount_table_is_read_once_per_process() {
        use std::path::Path;
        // Local paths never ask for the table; others ask the cache, which reads
        // /proc/self/mountinfo once and hands out the same table afterwards.
        let asked = std::cell::Cell::new(0);
        let table = || {
            asked.set(asked.get() + 1);
            cached_mount_table()
        };
        assert!(!may_hang_with(Path::new("/run/a.pid"), table));
        assert_eq!(asked.get(), 0);
        let first = cached_mount_table().expect("mountinfo readable");
        let second = cached_mount_table().expect("mountinfo readable");
        assert!(std::sync::Arc::ptr_eq(&first, &second), "read twice");
        // A pid file on the root filesystem (local here): answered from the cached table.
        assert!(!may_hang_with(
            Path::new("/ocf-may-hang-test/x.pid"),
            || {
                asked.set(asked.get() + 1);
                Some(first.clone())
            }
        ));
        assert_eq!(asked.get(), 1);
        // A table naming a FUSE mount above the path: may hang.
        let fuse = crate::mount::MountTable::parse(
            "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n\
             2 1 0:50 / /mnt/f rw - fuse.sshfs h:/ rw\n",
        );
        assert!(may_hang_with(Path::new("/mnt/f/x.pid"), || Some(
            std::sync::Arc::new(fuse)
        )));
    }

    #[test]
    fn margins() {
        assert_eq!(margin(Duration::from_secs(20)), Duration::from_secs(2));
        assert_eq!(margin(Duration::from_secs(120)), Duration::from_secs(5));
        assert_eq!(margin(Duration::from_secs(2)), Duration::from_millis(500));
        assert_eq!(
            margin(Duration::from_millis(400)),
            Duration::from_millis(200)
        );
        let now = Instant::now();
        let d = Deadline::for_timeout(now, Duration::from_secs(20));
        assert_eq!(d.instant() - now, Duration::from_secs(18));
    }

    #[test]
    fn wait_until_gives_up_at_deadline() {
        let d = Deadline::after(Duration::from_millis(50));
        let t = Instant::now();
        assert_eq!(d.wait_until(Duration::from_millis(10), || None::<()>), None);
        assert!(t.elapsed() >= Duration::from_millis(50));
        assert!(t.elapsed() < Duration::from_secs(2));
        let mut n = 0;
        assert_eq!(
            Deadline::after(Duration::from_secs(5)).wait_until(Duration::from_millis(1), || {
                n += 1;
                (n == 3).then_some(n)
            }),
            Some(3)
        );
        assert!(d.check("x").is_err());
        assert!(Deadline::after(Duration::from_secs(5)).check("x").is_ok());
    }

    #[test]
    fn huge_budgets_saturate() {
        let now = Instant::now();
        let d = Deadline::for_timeout(now, Duration::from_millis(u64::MAX));
        assert!(d.instant() > now + Duration::from_secs(3600));
        let w = Deadline::for_watchdog(now, Duration::MAX);
        assert!(w.instant() > now);
        assert!(Deadline::after(Duration::MAX).remaining() > Duration::from_secs(3600));
        assert!(!d.within(Duration::MAX).expired());
        // The watchdog fires after the agent's deadline and before the caller's timeout.
        let total = Duration::from_secs(20);
        let (a, w) = (
            Deadline::for_timeout(now, total),
            Deadline::for_watchdog(now, total),
        );
        assert!(a.instant() < w.instant() && w.instant() < now + total);
    }

    #[test]
    fn bounded_returns_or_gives_up() {
        let _g = serial();
        let d = Deadline::after(Duration::from_secs(5));
        assert_eq!(bounded(d, "quick", || 7), Ok(7));
        let t = Instant::now();
        let e = bounded(
            Deadline::after(Duration::from_millis(100)),
            "read of /x",
            || {
                std::thread::sleep(Duration::from_secs(5));
            },
        )
        .unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(2));
        assert!(e.waited >= Duration::from_millis(100));
        let err: Error = e.into();
        assert!(err
            .reason()
            .starts_with("read of /x blocked in the kernel for 0."));
        assert!(activity().is_none(), "activity cleared after the wait");
        let e = bounded(Deadline::after(Duration::ZERO), "late", || 1).unwrap_err();
        assert!(e.what.contains("no time left"));
    }

    #[test]
    fn watchdog_names_the_blocked_call_or_stays_quiet() {
        let _g = serial();
        let (tx, rx) = mpsc::channel();
        let tx2 = tx.clone();
        let w = Watchdog::arm(
            Deadline::after(Duration::from_millis(50)),
            "stop",
            Box::new(move |r| {
                let _ = tx2.send(r);
            }),
        );
        assert!(w.armed());
        let _ = bounded(
            Deadline::after(Duration::from_millis(300)),
            "umount of /srv",
            || std::thread::sleep(Duration::from_secs(2)),
        );
        let r = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(
            r.starts_with("stop: umount of /srv blocked in the kernel for 0."),
            "{r}"
        );
        // Disarmed in time: silent.
        let w = Watchdog::arm(
            Deadline::after(Duration::from_millis(100)),
            "monitor",
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        drop(w);
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
    }
}
