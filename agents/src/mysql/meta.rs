//! The declaration of `mysql`: parameters and actions, nothing else. Names, defaults and
//! meanings are those of resource-agents 4.12 on Linux (Debian 12), so an existing CIB keeps
//! working when only the provider changes. Differences: the two passwords are declared
//! secret (never logged, never in an exit reason, never on a command line); the boolean-like
//! `replication_require_ssl` and the numeric `replication_port` are typed.

use ocf::meta::{Action, Agent, Param, Role};

/// The server launcher.
pub const BINARY: Param = Param::string("binary")
    .default("/usr/bin/mysqld_safe")
    .short("MySQL server binary")
    .long(
        "The program that starts the server: mysqld_safe (the default, which restarts a \
         crashed server and runs it as user), or the server itself (mariadbd, mysqld). It is \
         run with --defaults-file, --pid-file, --socket, --datadir, --log-error, the \
         additional parameters and, for a promotable clone, --read-only --skip-slave-start \
         (a replica is never writable before promotion).",
    );

/// The client program (kept for drop-in compatibility; see the long description).
pub const CLIENT_BINARY: Param = Param::string("client_binary")
    .default("mysql")
    .short("MySQL client binary")
    .long(
        "The MySQL client. This agent talks to the server over the MySQL protocol in process \
         (Unix socket), so it never runs the client and never puts a password on a command \
         line; the parameter is accepted so existing configurations keep working, and \
         validate-all still reports a missing client as the shell agent does.",
    );

/// `--defaults-file`.
pub const CONFIG: Param = Param::string("config")
    .default("/etc/mysql/my.cnf")
    .short("MySQL config")
    .long("The server's configuration file, given as --defaults-file. It must exist.");

/// The data directory.
pub const DATADIR: Param = Param::string("datadir")
    .default("/var/lib/mysql")
    .short("MySQL datadir")
    .long(
        "Directory containing the databases, given as --datadir. It must exist and be \
         writable by user; with enable_creation it is initialised when it holds no database.",
    );

/// Run-as user.
pub const USER: Param = Param::string("user")
    .default("mysql")
    .short("MySQL user")
    .long("User the server runs as; owner of the log, pid and socket directories it creates.");

/// Run-as group.
pub const GROUP: Param = Param::string("group")
    .default("mysql")
    .short("MySQL group")
    .long("Group of the server (for the log file and the directories it creates).");

/// `--log-error`.
pub const LOG: Param = Param::string("log")
    .default("/var/log/mysql/error.log")
    .short("MySQL log file")
    .long("The server's error log, given as --log-error; created 0640 owned by user:group.");

/// `--pid-file`.
pub const PID: Param = Param::string("pid")
    .default("/var/run/mysqld/mysqld.pid")
    .short("MySQL pid file")
    .long("The server's pid file, given as --pid-file. Its directory is created when missing.");

/// `--socket`.
pub const SOCKET: Param = Param::string("socket")
    .default("/var/run/mysqld/mysqld.sock")
    .short("MySQL socket")
    .long(
        "The server's Unix socket, given as --socket; every query of the agent goes through \
         it. Its directory is created when missing.",
    );

/// Table read by the depth-10 monitor.
pub const TEST_TABLE: Param = Param::string("test_table")
    .default("mysql.user")
    .short("MySQL test table")
    .long(
        "Table read by the depth-10 monitor (SELECT COUNT(*) FROM it), in database.table \
         notation. Empty disables the query.",
    );

/// Test account.
pub const TEST_USER: Param = Param::string("test_user")
    .default("root")
    .short("MySQL test user")
    .long("Account of the depth-10 monitor; needs SELECT on test_table.");

/// Its password.
pub const TEST_PASSWD: Param = Param::string("test_passwd")
    .default("")
    .secret()
    .short("MySQL test user password")
    .long(
        "Password of test_user. Sent to the server only inside the protocol's authentication \
         exchange: never on a command line, in an environment, a log or an exit reason.",
    );

/// Initialise an empty datadir.
pub const ENABLE_CREATION: Param = Param::boolean("enable_creation")
    .default("0")
    .short("Create the database if it does not exist")
    .long(
        "When the datadir holds no database (no mysql/ directory), start initialises it once \
         (mariadb-install-db, mysql_install_db, or mysqld --initialize-insecure), as user. A \
         datadir that holds anything else is never initialised over.",
    );

/// Extra server arguments.
pub const ADDITIONAL_PARAMETERS: Param = Param::string("additional_parameters")
    .default("")
    .short("Additional parameters to pass to mysqld")
    .long(
        "Additional arguments for the server (for example --skip-external-locking \
         --port=3307), split on blanks; single and double quotes group words. Never \
         interpreted by a shell.",
    );

/// Replication account.
pub const REPLICATION_USER: Param = Param::string("replication_user")
    .default("root")
    .short("MySQL replication user")
    .long(
        "Account used for replication (the replica connects to the source with it) and by \
         the agent for read_only, replica control and status. Needs SUPER (or READ_ONLY ADMIN \
         and REPLICA MONITOR), REPLICATION SLAVE, REPLICATION CLIENT, PROCESS and RELOAD on \
         every node. Mandatory for a promotable clone.",
    );

/// Its password.
pub const REPLICATION_PASSWD: Param = Param::string("replication_passwd")
    .default("")
    .secret()
    .short("MySQL replication user password")
    .long(
        "Password of replication_user. Sent only over the local Unix socket (authentication \
         and CHANGE MASTER TO / CHANGE REPLICATION SOURCE TO): never on a command line, in an \
         environment, a log or an exit reason.",
    );

/// Source port.
pub const REPLICATION_PORT: Param = Param::integer("replication_port")
    .default("3306")
    .range(1, 65535)
    .short("MySQL replication port")
    .long("The TCP port the source (promoted instance) listens on, for replicas to connect to.");

/// Require TLS for the replication account.
pub const REPLICATION_REQUIRE_SSL: Param = Param::boolean("replication_require_ssl")
    .default("false")
    .short("MySQL replication require ssl")
    .long(
        "The replication account requires TLS (REQUIRE SSL). The agent's own connections go \
         over the local Unix socket, which MariaDB and MySQL count as a secure transport; \
         replicas connect with MASTER_SSL=1 when this is set or the three \
         replication_master_ssl_* files are given.",
    );

/// CA for replication.
pub const REPLICATION_MASTER_SSL_CA: Param = Param::string("replication_master_ssl_ca")
    .default("")
    .short("MySQL replication SSL CA certificate")
    .long("CA certificate the replica uses to check the source (MASTER_SSL_CA).");

/// Client certificate for replication.
pub const REPLICATION_MASTER_SSL_CERT: Param = Param::string("replication_master_ssl_cert")
    .default("")
    .short("MySQL replication SSL certificate")
    .long("Certificate the replica presents to the source (MASTER_SSL_CERT).");

/// Client key for replication.
pub const REPLICATION_MASTER_SSL_KEY: Param = Param::string("replication_master_ssl_key")
    .default("")
    .short("MySQL replication SSL certificate key")
    .long("Key of replication_master_ssl_cert (MASTER_SSL_KEY).");

/// Lag tolerated.
pub const MAX_SLAVE_LAG: Param = Param::integer("max_slave_lag")
    .default("3600")
    .range(1, 31_536_000)
    .short("Maximum time (seconds) a MySQL slave is allowed to lag behind a master")
    .long(
        "Seconds a replica may lag behind its source. A replica lagging more, or whose IO or \
         SQL thread is broken, has its reader attribute set to 0 and loses its promotion \
         score, so it is never promoted over a healthy replica; with evict_outdated_slaves \
         its monitor fails instead.",
    );

/// Stop lagging replicas.
pub const EVICT_OUTDATED_SLAVES: Param = Param::boolean("evict_outdated_slaves")
    .default("false")
    .short("Determines whether to shut down badly lagging slaves")
    .long(
        "When true, the monitor of a replica more than max_slave_lag seconds behind fails \
         with 5 (not installed here), so the cluster stops it on this node.",
    );

/// Node attribute telling readers where to go.
pub const READER_ATTRIBUTE: Param = Param::string("reader_attribute")
    .default("readable")
    .unique()
    .short("Sets the node attribute that determines whether a node is usable for clients to read from.")
    .long(
        "Node attribute (lifetime reboot) the agent keeps at 1 where reads may go (the source, \
         and replicas that replicate and are within max_slave_lag) and 0 elsewhere. Only used \
         by a promotable clone.",
    );

/// The declaration.
pub const AGENT: Agent = Agent::new("mysql", "1.1")
    .short("Manages a MySQL or MariaDB database instance")
    .long(
        "Manages a MySQL or MariaDB server: a standalone instance, a clone with replication \
         managed elsewhere, or a promotable clone with asynchronous replication managed by the \
         agent (GTID on MariaDB, binary log file and position otherwise; the replication \
         statements follow the server version: CHANGE MASTER TO / SHOW SLAVE STATUS on MariaDB \
         and MySQL before 8.0.22, CHANGE REPLICATION SOURCE TO / SHOW REPLICA STATUS after). \
         A promotable clone needs notify=true. The source publishes host|binlog file|position \
         in the cluster property <instance>_REPL_INFO; a replica connects to the node named \
         there, or to the address in the node attribute <instance>_mysql_master_IP of the \
         source node when set.\n\nEvery action ends within its timeout: start waits until \
         the socket answers a query, stop sends TERM and then KILL to every process of the \
         instance (mysqld_safe and the server). The agent talks to the server over the MySQL \
         protocol in process: no client program, no password on any command line.",
    )
    .params(&[
        BINARY,
        CLIENT_BINARY,
        CONFIG,
        DATADIR,
        USER,
        GROUP,
        LOG,
        PID,
        SOCKET,
        TEST_TABLE,
        TEST_USER,
        TEST_PASSWD,
        ENABLE_CREATION,
        ADDITIONAL_PARAMETERS,
        REPLICATION_USER,
        REPLICATION_PASSWD,
        REPLICATION_PORT,
        REPLICATION_REQUIRE_SSL,
        REPLICATION_MASTER_SSL_CA,
        REPLICATION_MASTER_SSL_CERT,
        REPLICATION_MASTER_SSL_KEY,
        MAX_SLAVE_LAG,
        EVICT_OUTDATED_SLAVES,
        READER_ATTRIBUTE,
    ])
    .actions(&[
        Action::start(120),
        Action::stop(120),
        Action::new("status", 60),
        Action::monitor(30, 20),
        Action::monitor(30, 60).depth(10),
        Action::monitor(30, 10).role(Role::Promoted),
        Action::monitor(30, 30).role(Role::Unpromoted),
        Action::promote(120),
        Action::demote(120),
        Action::notify(90),
        Action::validate_all(5),
        Action::meta_data(5),
    ])
    .examples(&[
        "pcs resource create db ocf:ocfrs:mysql config=/etc/mysql/my.cnf \
         op monitor interval=20s OCF_CHECK_LEVEL=10",
        "pcs resource create db ocf:ocfrs:mysql replication_user=repl \
         replication_passwd=secret promotable notify=true",
    ]);
