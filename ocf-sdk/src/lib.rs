//! # ocf-sdk: write OCF resource agents in Rust
//!
//! An agent is **one declaration plus domain logic**. The declaration ([`Agent`], [`Param`],
//! [`Action`]) is `const` data from which the SDK derives meta-data in three flavours
//! ([`metadata`]), typed parameter parsing ([`Params`]), `usage`/`methods`, man pages
//! ([`man`]) and the check-level round-down. The dispatcher ([`run`], [`multicall`]) owns the
//! calling protocol: exit codes, exit reasons, the invalid-environment policy (stop → 0,
//! probe → 7), panics → exit 1, and the action's time budget ([`Deadline`]).
//!
//! | module | owns |
//! |---|---|
//! | [`exit`] | [`Rc`] (0–9, 190, 191), [`Error`] (code + exit reason), [`OrRc`] |
//! | [`meta`] | the declaration types: what an agent is ([`Agent`], [`Param`], [`Action`]); it never renders |
//! | [`metadata`] | the `meta-data` action's XML rendered from a declaration, in the `ocf-1.0`, `ocf-1.1` and `rgmanager` flavours, and which one to print |
//! | [`params`] | `OCF_RESKEY_*` → typed values, defaults, deprecations, malformed input → 6 |
//! | [`context`] | action, instance, caller, probe, interval/timeout, depth, clones, notify, migrate |
//! | [`dispatch`] | [`ResourceAgent`], [`run`], [`multicall`], policy, panic catching |
//! | [`deadline`] | budgets, bounded waits, [`bounded`] blocking calls, the action watchdog |
//! | [`process`] | argv-only commands with deadlines, accounts by name, `/proc` lookups, pid files (pid + start time), process families, stop escalation, signal names |
//! | [`daemon`] | start a daemon (foreground or self-daemonizing), readiness waits, log tails in exit reasons, status, graceful stop |
//! | [`secret`] | values hidden from debug output; 0600 client options files removed after the action |
//! | `net` | rtnetlink: links, addresses, routes, address labels; network namespaces (cargo feature `net`, off by default: only agents that manage the network build netlink) |
//! | [`log`] | `HA_LOG*` conventions, syslog, the exit-reason line |
//! | [`cluster`] | promotion scores, node attributes (transient/permanent), node name, locks, state directories |
//! | [`systemd`] | whether systemd is PID 1, `systemctl` with a deadline, runtime drop-ins |
//! | [`files`] | per-instance file names, atomic writes, idempotent removal |
//! | [`http`] | HTTP/1.1 status-page client (GET/HEAD, deadline, optional TLS) |
//! | [`man`] | man pages and the `metadata/` tree |
//! | [`mount`] | `/proc/self/mountinfo`, mount options, UUID/LABEL lookup, processes using a mount, mounting and unmounting with escalation |
//! | [`testing`] | run actions in-process or as binaries and assert on the outcome |
//! | [`words`] | split a parameter into words as a shell would, without one (no expansion) |
//!
//! ## A complete agent
//!
//! ```no_run
//! use ocf::{Action, Agent, Context, Error, Param, Params, ResourceAgent, Result, Status};
//! use std::path::PathBuf;
//!
//! const STATE: Param = Param::string("state")
//!     .short("State file")
//!     .long("Where the agent records that the resource is started.")
//!     .default("/run/hello.state");
//!
//! const META: Agent = Agent::new("Hello", "1.0")
//!     .short("Hello world agent")
//!     .long("Creates a file on start and removes it on stop.")
//!     .params(&[STATE])
//!     .actions(&[Action::start(20), Action::stop(20), Action::monitor(20, 10)]);
//!
//! struct Hello;
//!
//! impl ResourceAgent for Hello {
//!     const META: &'static Agent = &META;
//!     type Config = PathBuf;
//!     fn configure(p: &Params<'_>, _cx: &Context) -> Result<PathBuf> {
//!         let s = p.string(&STATE)?;
//!         if !s.starts_with('/') {
//!             return Err(Error::configured("state must be an absolute path"));
//!         }
//!         Ok(PathBuf::from(s))
//!     }
//!     fn start(state: &PathBuf, _cx: &Context) -> Result<()> {
//!         Ok(std::fs::write(state, b"")?)
//!     }
//!     fn stop(state: &PathBuf, _cx: &Context) -> Result<()> {
//!         match std::fs::remove_file(state) {
//!             Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
//!             _ => Ok(()),
//!         }
//!     }
//!     fn monitor(state: &PathBuf, _cx: &Context) -> Result<Status> {
//!         Ok(if state.exists() { Status::Running } else { Status::Stopped })
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     ocf::run::<Hello>()
//! }
//! ```

#![warn(missing_docs)]

// The dispatcher turns a panic into exit 1 with an exit reason; with `panic = "abort"` it
// would be a SIGABRT that no cluster understands.
#[cfg(panic = "abort")]
compile_error!(
    "ocf-sdk needs panic = \"unwind\": set it in the [profile.*] sections of your Cargo.toml"
);

pub mod cluster;
pub mod context;
pub mod daemon;
pub mod deadline;
pub mod dispatch;
pub mod env;
pub mod exit;
pub mod files;
pub mod http;
pub mod log;
pub mod man;
pub mod meta;
pub mod metadata;
pub mod mount;
#[cfg(feature = "net")]
pub mod net;
pub mod params;
#[cfg(feature = "net")]
pub mod ping;
pub mod process;
pub mod secret;
pub mod systemd;
pub mod testing;
pub mod words;

pub use context::{Caller, Context};
pub use deadline::{bounded, Blocked, Deadline};
pub use dispatch::{entry, multicall, run, Entry, ResourceAgent, Status};
pub use env::Env;
pub use exit::{Error, OrRc, Rc, Result};
pub use meta::{Action, Agent, Param, Role};
pub use metadata::Flavour;
pub use params::Params;
