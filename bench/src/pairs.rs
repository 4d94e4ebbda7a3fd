//! What is compared: one line per agent pair, one line per tester case.
//!
//! Adding an agent to the benchmark is one [`Pair`] below: our type name (as listed by
//! `ocfrs-agents --list`), the path of its resource-agents counterpart, the fixture it needs
//! (see [`crate::fixture`]: a new kind of kernel object is one more `Fixture` variant) and its
//! parameters. Parameter values are templates: `{dir}` is the benchmark's scratch directory,
//! `{side}` is `ours` or `shell`, and each fixture adds its own variables (`{ip}`, `{nic}`,
//! `{dev}`, `{mnt}`). Both sides get the same parameters but their own instance, so both
//! resources can run at once and their monitors can be interleaved run by run.

use crate::fixture::Fixture;

/// One of our agents and the shell agent it replaces.
pub struct Pair {
    /// Our agent type, as `ocfrs-agents --list` prints it.
    pub agent: &'static str,
    /// The resource-agents counterpart, relative to `/usr/lib/ocf/resource.d/`.
    pub shell: &'static str,
    /// Kernel objects the pair needs (created before, removed after).
    pub fixture: Fixture,
    /// `OCF_RESKEY_<name>` values (templates).
    pub params: &'static [(&'static str, &'static str)],
}

/// Every pair, in the order they are measured.
pub const PAIRS: &[Pair] = &[
    Pair {
        agent: "Dummy",
        shell: "heartbeat/Dummy",
        fixture: Fixture::None,
        params: &[("state", "{dir}/dummy-{side}.state")],
    },
    Pair {
        agent: "IPaddr2",
        shell: "heartbeat/IPaddr2",
        fixture: Fixture::Netns,
        params: &[("ip", "{ip}"), ("cidr_netmask", "24"), ("nic", "{nic}")],
    },
    Pair {
        agent: "Filesystem",
        shell: "heartbeat/Filesystem",
        fixture: Fixture::LoopExt4,
        params: &[
            ("device", "{dev}"),
            ("directory", "{mnt}"),
            ("fstype", "ext4"),
        ],
    },
    Pair {
        agent: "apache",
        shell: "heartbeat/apache",
        fixture: Fixture::Apache,
        // No envfiles on either side (both would source Debian's envvars, which this
        // private configuration does not use): the status page is found in the config.
        params: &[
            ("configfile", "{conf}"),
            ("httpd", "/usr/sbin/apache2"),
            ("envfiles", ""),
        ],
    },
    Pair {
        agent: "mysql",
        shell: "heartbeat/mysql",
        fixture: Fixture::MariaDb,
        params: MYSQL,
    },
    // The same, monitored at depth 10 (a query on test_table): reported as
    // "mysql (OCF_CHECK_LEVEL=10)".
    Pair {
        agent: "mysql",
        shell: "heartbeat/mysql",
        fixture: Fixture::MariaDb,
        params: MYSQL_DEPTH_10,
    },
    Pair {
        agent: "sshd",
        // No shell sshd agent exists: people run sshd under `anything` (agents.md 3.10),
        // with the parameters of SHELL_PARAMS below.
        shell: "heartbeat/anything",
        fixture: Fixture::Sshd,
        params: &[
            ("config", "{sshd_config}"),
            ("listen_address", "127.0.0.1"),
            ("port", "{port}"),
            ("host_key_dir", "{host_keys}"),
            ("pidfile", "{dir}/sshd-{side}.pid"),
        ],
    },
    // Opt-in (OPT_IN). Utilization off on both sides: with the default (on), the shell
    // agent also runs crm_resource three times per monitor, ours only when a value changed;
    // force_stop on both: the idle guest ignores ACPI, so a graceful stop would time out.
    Pair {
        agent: "VirtualDomain",
        shell: "heartbeat/VirtualDomain",
        fixture: Fixture::Libvirt,
        params: &[
            ("config", "{config}"),
            ("hypervisor", "{uri}"),
            ("force_stop", "true"),
            ("autoset_utilization_cpu", "false"),
            ("autoset_utilization_host_memory", "false"),
            ("autoset_utilization_hv_memory", "false"),
        ],
    },
];

/// Pairs measured only when `--only` names them (bench/run.sh --virt): their fixture needs
/// more than the default run installs, and takes minutes.
pub const OPT_IN: &[&str] = &["VirtualDomain"];

/// Parameters of the shell side where its agent is not a drop-in counterpart (other
/// parameter names): `(our agent type, the shell agent's parameters)`, templates as above.
pub const SHELL_PARAMS: &[(&str, &[(&str, &str)])] = &[(
    "sshd",
    &[
        ("binfile", "/usr/sbin/sshd"),
        (
            "cmdline_options",
            "-D -f {sshd_config} -o PidFile=none -o ListenAddress=127.0.0.1:{port} -o HostKey={host_key}",
        ),
        ("pidfile", "{dir}/sshd-{side}.pid"),
    ],
)];

/// The parameter templates of one side of `pair`.
pub fn params_of(pair: &Pair, side: crate::Side) -> &'static [(&'static str, &'static str)] {
    match side {
        crate::Side::Shell => SHELL_PARAMS
            .iter()
            .find(|(a, _)| *a == pair.agent)
            .map_or(pair.params, |(_, p)| p),
        crate::Side::Ours => pair.params,
    }
}

const MYSQL: &[(&str, &str)] = &[
    ("config", "{myd}/my.cnf"),
    ("datadir", "{myd}/data"),
    ("pid", "{myd}/run/mysqld.pid"),
    ("socket", "{myd}/run/mysqld.sock"),
    ("log", "{myd}/error.log"),
    ("binary", "/usr/bin/mysqld_safe"),
    ("client_binary", "/usr/bin/mariadb"),
];

const MYSQL_DEPTH_10: &[(&str, &str)] = &[
    ("config", "{myd}/my.cnf"),
    ("datadir", "{myd}/data"),
    ("pid", "{myd}/run/mysqld.pid"),
    ("socket", "{myd}/run/mysqld.sock"),
    ("log", "{myd}/error.log"),
    ("binary", "/usr/bin/mysqld_safe"),
    ("client_binary", "/usr/bin/mariadb"),
    ("OCF_CHECK_LEVEL", "10"),
];

/// The name a pair is reported under: its agent, plus the check level when it sets one.
pub fn label(p: &Pair) -> String {
    match p.params.iter().find(|(k, _)| *k == "OCF_CHECK_LEVEL") {
        Some((_, v)) => format!("{} (OCF_CHECK_LEVEL={v})", p.agent),
        None => p.agent.to_string(),
    }
}

/// A full tester run compared between our tester and `/usr/sbin/ocf-tester`, on one
/// implementation of a pair (same parameters as the pair, fixture set up).
pub struct TesterCase {
    /// The pair whose parameters and fixture are used.
    pub pair: &'static str,
    /// Which implementation of the pair the testers check.
    pub target: crate::Side,
}

/// Every tester case.
pub const TESTER_CASES: &[TesterCase] = &[
    TesterCase {
        pair: "Dummy",
        target: crate::Side::Ours,
    },
    TesterCase {
        pair: "Dummy",
        target: crate::Side::Shell,
    },
    TesterCase {
        pair: "IPaddr2",
        target: crate::Side::Ours,
    },
    TesterCase {
        pair: "IPaddr2",
        target: crate::Side::Shell,
    },
    TesterCase {
        pair: "Filesystem",
        target: crate::Side::Ours,
    },
    TesterCase {
        pair: "Filesystem",
        target: crate::Side::Shell,
    },
    TesterCase {
        pair: "apache",
        target: crate::Side::Ours,
    },
    TesterCase {
        pair: "apache",
        target: crate::Side::Shell,
    },
];
