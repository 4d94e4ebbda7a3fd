//! The ocfrs agents. Each agent is one module: `meta.rs` holds its declaration (the single
//! source of truth for meta-data, parameters and actions), `mod.rs` its actions.
//!
//! | type | module |
//! |---|---|
//! | `Dummy` | [`dummy`]: the example agent and tutorial |
//! | `Stateful` | [`stateful`]: the promotable example agent |
//! | `Filesystem` | [`filesystem`]: mounts (block devices, NFS/CIFS, bind, tmpfs) |
//! | `IPaddr2` | [`ipaddr`]: virtual IPv4/IPv6 addresses over netlink |
//! | `IPaddr` | [`ipaddr::legacy`]: IPaddr's legacy parameter names over the same engine |
//! | `apache` | [`apache`]: an Apache httpd instance, status page checked in process |
//! | `mysql` | [`mysql`]: MySQL/MariaDB, primitive, clone or promotable with replication |
//! | `nfsserver` | [`nfsserver`]: the kernel NFS server (systemd units, init script or run directly) |
//! | `sshd` | [`sshd`]: an OpenSSH server of a service group (floating address, shared host keys) |
//! | `VServer` | [`vserver`]: a Linux-VServer guest through util-vserver's `vserver` command |
//! | `VirtualDomain` | [`virtualdomain`]: a libvirt domain, live migration, every libvirt call bounded |
//! | `exportfs` | [`exportfs`]: one NFS export (client, directories), monitored from etab |
//!
//! # One binary per agent, and the multicall tool
//! Every agent has its own executable, `ocfrs-<Type>` (`src/bin/ocfrs-<Type>.rs`, three lines
//! calling [`ocf::run`]), installed as `/usr/lib/ocfrs/ocfrs-<Type>` and hard-linked as
//! `/usr/lib/ocf/resource.d/<provider>/<Type>`: the linker keeps only what that agent
//! reaches, so its start-up (relocated pointer pages, code pages touched) pays for nothing
//! another agent needs, and adding an agent or a dependency cannot slow the others
//! (bench/README.md, "Start-up cost against the floor": a Dummy probe 1.43× the floor of
//! `fn main() {}` as part of one binary of all agents, 1.24× alone).
//!
//! All agents are also compiled into one executable, `ocfrs-agents`: the file name it was run
//! by (`argv[0]`) picks the agent, matched exactly (`IPaddr` never runs `IPaddr2`), with
//! rgmanager's `.sh` suffix removed. Run by its own name it takes the type as first argument:
//! `ocfrs-agents Dummy monitor`, and answers `--list` and `--generate metadata|man DIR`
//! (`make install` and `make metadata` use it; so do the test suite and the cluster harness,
//! through hard links named after the agents). Both run the same library code.
//!
//! The constraint that keeps them cheap: **the agents link only libc.** An agent that needs a
//! C library (libvirt for VirtualDomain, for instance) must not add it, because the
//! multicall binary would map it at every start; such an agent talks to the service through
//! its command-line tool or socket protocol. A test (`tests/sdk/multicall.rs`) checks every
//! binary's dynamic dependencies.

//! # What a daemon agent uses from the SDK
//! An agent for a service daemon (sshd, apache, mysql, ...) writes only its domain logic;
//! the rest is in `ocf-sdk`, so no agent copies another's code ([`sshd`] is the reference):
//!
//! | need | SDK piece |
//! |---|---|
//! | run a tool (`sshd -t`, `apachectl -t`, `mysqladmin`) with a deadline, argv only | [`ocf::process::Cmd`] (`run`, `run_ok`, `run_bounded`) |
//! | run as a user/group by name, supplementary groups, umask, rlimits, private environment | [`ocf::process::Account::lookup`], `Cmd::account`, `Cmd::umask`, `Cmd::rlimit`, `Cmd::env_clear` |
//! | start the daemon, foreground or self-daemonizing, and wait until it is ready (pid file, TCP/Unix socket, banner, predicate); a death during start reported with its log's last lines | [`ocf::daemon::Daemon`], [`ocf::daemon::Ready`] |
//! | record and check the process (pid + start time, reused pids are stale) | [`ocf::process::Pidfile`], [`ocf::daemon::status`] |
//! | stop with per-agent graceful signals, then SIGKILL inside the budget, children and double forks included | [`ocf::daemon::stop`], [`ocf::process::Escalation`], [`ocf::process::stop_family`] |
//! | signal lists from parameters (`TERM KILL`) | [`ocf::process::parse_signals`] |
//! | monitor probes without forking | [`ocf::daemon::read_banner`], [`ocf::daemon::tcp_accepts`], [`ocf::daemon::unix_accepts`] |
//! | secrets (passwords) kept out of debug output and argv; 0600 client options files removed after the action | [`ocf::secret::Secret`], [`ocf::secret::OptionsFile`], `Cmd::stdin`, `Cmd::env_secret` |
//! | node attributes, promotion scores | [`ocf::cluster::NodeAttributes`], [`ocf::cluster::set_promotion_score`] |
//! | systemd present or not, `systemctl`, drop-ins | [`ocf::systemd`] |
//! | per-instance files under `/run/ocfrs/<type>` | [`ocf::files::instance_file`], [`ocf::cluster::state_dir`] |

pub mod apache;
pub mod dummy;
pub mod exportfs;
pub mod filesystem;
pub mod ipaddr;
pub mod mysql;
pub mod nfsserver;
pub mod sshd;
pub mod stateful;
pub mod virtualdomain;
pub mod vserver;

/// Every agent in the multicall binary.
pub const AGENTS: &[ocf::Entry] = &[
    ocf::entry::<dummy::Dummy>(),
    ocf::entry::<stateful::Stateful>(),
    ocf::entry::<filesystem::Filesystem>(),
    ocf::entry::<ipaddr::IPaddr2>(),
    ocf::entry::<ipaddr::legacy::IPaddr>(),
    ocf::entry::<apache::Apache>(),
    ocf::entry::<mysql::Mysql>(),
    ocf::entry::<nfsserver::Nfsserver>(),
    ocf::entry::<sshd::Sshd>(),
    ocf::entry::<vserver::VServer>(),
    ocf::entry::<virtualdomain::VirtualDomain>(),
    ocf::entry::<exportfs::Exportfs>(),
];

#[cfg(test)]
mod tests {
    /// Every registered agent's declaration passes the SDK's checks (one test for all, so an
    /// agent added to [`super::AGENTS`] is covered without a test of its own).
    #[test]
    fn every_declaration_is_sound() {
        assert!(!super::AGENTS.is_empty());
        for e in super::AGENTS {
            ocf::testing::check_declaration(e.meta);
        }
    }
}
