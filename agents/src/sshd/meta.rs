//! The declaration of `sshd`: parameters and actions, nothing else.

use ocf::meta::{Action, Agent, Param};

/// The sshd binary.
pub const SSHD: Param = Param::string("sshd")
    .default("/usr/sbin/sshd")
    .short("sshd binary")
    .long("Full path of the OpenSSH server binary.");

/// The configuration file.
pub const CONFIG: Param = Param::string("config")
    .default("/etc/ssh/sshd_config")
    .short("sshd configuration file")
    .long(
        "The sshd_config file (sshd -f). It may be the host's own: this instance adds its \
         listen address, host keys and PidFile on the command line. ListenAddress and HostKey \
         are cumulative in sshd: addresses and keys named in this file are used too (command \
         line first).",
    );

/// The address to listen on.
pub const LISTEN_ADDRESS: Param = Param::string("listen_address")
    .primary()
    .short("Address to listen on")
    .long(
        "IPv4 or IPv6 address this sshd listens on, usually the service group's floating \
         address (passed as -o ListenAddress=ADDRESS:PORT). Required unless the configuration \
         file has a ListenAddress line; then the first one is probed by monitor and start.",
    );

/// The port.
pub const PORT: Param = Param::integer("port")
    .default("22")
    .range(1, 65535)
    .short("TCP port")
    .long("The TCP port on listen_address.");

/// The pid file.
pub const PIDFILE: Param = Param::string("pidfile").unique().short("Pid file").long(
    "Where the agent records the listener's pid and start time. Empty: \
         /run/ocfrs/sshd/<instance>.pid. sshd itself is run with PidFile=none: the agent owns \
         the pid (sshd -D).",
);

/// Host keys on shared storage.
pub const HOST_KEY_DIR: Param = Param::string("host_key_dir")
    .short("Directory of host keys")
    .long(
        "A directory holding this service's host keys (ssh_host_*_key), for instance on the \
         group's shared filesystem, so that clients see the same host key after a failover. \
         Every key found is passed as -o HostKey=...; none found is an error (5).",
    );

/// Extra options.
pub const OPTIONS: Param = Param::string("options").short("Extra sshd options").long(
    "Extra sshd_config options for this instance, as -o Key=Value words (\"-o \
         MaxStartups=10 -o LogLevel=VERBOSE\", or \"MaxStartups=10 LogLevel=VERBOSE\"). \
         Values with spaces are quoted with '...' or \"...\". Only -o options are accepted, \
         never a shell: each becomes one argument of sshd.",
);

/// End open sessions on stop.
pub const KILL_SESSIONS: Param = Param::boolean("kill_sessions")
    .default("false")
    .short("End open sessions on stop")
    .long(
        "false: stop ends the listener only; sessions already open survive (as systemd's \
         KillMode=process does for the host's sshd). true: stop ends every session this \
         listener started too (TERM, then KILL within the stop budget).",
    );

/// The declaration.
pub const AGENT: Agent = Agent::new("sshd", "1.1")
    .short("OpenSSH server on a service address")
    .long(
        "Runs an OpenSSH server of its own for a service group, next to the host's sshd: it \
         listens on the group's address (listen_address, port) and can use host keys from \
         shared storage (host_key_dir), so clients log in through the floating address and \
         see the same host key after failover.\n\n\
         validate-all runs sshd -t with exactly the arguments start uses (a configuration \
         error is 6 with sshd's message; a missing binary, configuration or host key is 5). \
         start runs sshd -D (the agent owns the pid) and returns once the address accepts \
         connections and sends the SSH-2.0- banner. monitor depth 0 checks the listener \
         process (pid and start time); depth 10 connects and reads the banner. stop ends the \
         listener only, unless kill_sessions=true.\n\n\
         sshd logs to syslog (facility AUTH) as the host's sshd does.",
    )
    .params(&[
        SSHD,
        CONFIG,
        LISTEN_ADDRESS,
        PORT,
        PIDFILE,
        HOST_KEY_DIR,
        OPTIONS,
        KILL_SESSIONS,
    ])
    .actions(&[
        Action::start(20),
        Action::stop(20),
        Action::monitor(20, 10),
        Action::monitor(20, 60).depth(10),
        Action::meta_data(5),
        Action::validate_all(20),
    ])
    .examples(&[
        "pcs resource create ssh-ha ocf:ocfrs:sshd listen_address=192.0.2.100 host_key_dir=/srv/ha/ssh --group g1",
        "crm configure primitive ssh-ha ocf:ocfrs:sshd params listen_address=192.0.2.100 host_key_dir=/srv/ha/ssh op monitor interval=10s",
    ]);
