//! The declaration of `apache`: parameters and actions, nothing else. Names, defaults and
//! meanings are those of resource-agents' apache agent, so a CIB switches by changing the
//! provider.

use ocf::meta::{Action, Agent, Param};

/// The main configuration file.
pub const CONFIGFILE: Param = Param::string("configfile")
    .unique()
    .short("configuration file path")
    .long(
        "The full pathname of the Apache configuration file. When empty, the first that \
         exists of /etc/apache2/httpd.conf (SUSE), /etc/apache2/apache2.conf (Debian) and \
         /etc/httpd/conf/httpd.conf (RHEL). It is read (with its Include and IncludeOptional \
         files) for ServerRoot, PidFile, Listen, Port and the location of the server-status \
         handler on every action.",
    );

/// The server binary.
pub const HTTPD: Param = Param::string("httpd")
    .default("/usr/sbin/httpd")
    .short("httpd binary path")
    .long(
        "The full pathname of the httpd binary. When it is missing or not executable, the \
         first executable of /sbin/httpd2, /usr/sbin/httpd2, /usr/sbin/apache2, /sbin/httpd, \
         /usr/sbin/httpd, /usr/sbin/apache is used.",
    );

/// Port for the local URL.
pub const PORT: Param = Param::integer("port")
    .range(1, 65535)
    .short("httpd port")
    .long(
        "The port the server listens on, used to build the local status URL when the \
         configuration has no Listen directive (then Port from the configuration, then 80).",
    );

/// The status URL.
pub const STATUSURL: Param = Param::string("statusurl").short("url name").long(
    "The URL the depth-0 monitor fetches (http:// or https://). Default: the local address \
         (the first Listen, else localhost and the port) followed by the location of the \
         server-status handler in the configuration, else \"/\". The request is made in \
         process, without following redirects; for https:// the certificate must chain to a CA \
         in SSL_CERT_FILE or the system bundle and name the URL's host.",
);

/// What the status page must contain.
pub const TESTREGEX: Param = Param::string("testregex")
    .default("</ *html *>")
    .short("monitor regular expression")
    .long(
        "A regular expression (POSIX extended syntax, matched case-insensitively) that the \
         status page must contain for the depth-0 monitor to succeed.",
    );

/// The HTTP client (accepted for compatibility).
pub const CLIENT: Param = Param::string("client").short("http client").long(
    "Accepted for compatibility with the shell agent, which runs curl or wget. This agent \
         makes its requests itself and ignores the value.",
);

/// Depth-10 URL.
pub const TESTURL: Param = Param::string("testurl").short("test url").long(
    "The URL the depth-10 monitor (OCF_CHECK_LEVEL=10) fetches; a URL starting with / is \
         relative to the local address.",
);

/// Depth-10 regex.
pub const TESTREGEX10: Param = Param::string("testregex10")
    .short("extended monitor regular expression")
    .long(
        "The regular expression (POSIX extended, case-insensitive) the page at testurl must \
         contain in the depth-10 monitor.",
    );

/// Depth-10 test file.
pub const TESTCONFFILE: Param = Param::string("testconffile")
    .short("test configuration file")
    .long(
        "A file of test blocks for the depth-10 monitor, replacing testurl and testregex10: \
         \"test NAME\", then \"url URL\", \"match REGEX\" and optionally \"user\", \
         \"password\", \"client\" (ignored), \"client_opts\" (of curl's options, -k/--insecure \
         and --cacert FILE are honoured), ended by \"end\".",
    );

/// Which test block.
pub const TESTNAME: Param = Param::string("testname")
    .short("test name")
    .long("The name of the test block in testconffile to run; the first block when empty.");

/// Extra server arguments.
pub const OPTIONS: Param = Param::string("options").short("command line options").long(
    "Extra arguments for the httpd binary at start, split at whitespace (for example \
         \"-DSSL -DEXTRA\").",
);

/// Shell files with the server's environment.
pub const ENVFILES: Param = Param::string("envfiles")
    .default("/etc/apache2/envvars")
    .short("environment settings files")
    .long(
        "Whitespace-separated files of environment settings (shell syntax) read before \
         anything else: the variables they export are used to expand ${NAME} in the \
         configuration and are passed to the server. Missing files are skipped; empty for \
         none.",
    );

/// Prefer IPv6 for the local URL.
pub const USE_IPV6: Param = Param::boolean("use_ipv6")
    .default("false")
    .short("use ipv6 with http clients")
    .long(
        "Try the IPv6 addresses of the status URL's host first (localhost is then ::1). Also \
         implied by a status URL containing \"::\".",
    );

/// The declaration.
pub const AGENT: Agent = Agent::new("apache", "1.1")
    .short("Manages an Apache Web server instance")
    .long(
        "Starts, stops and monitors one Apache httpd instance (Debian apache2, RHEL/SUSE \
         httpd, or any build that takes -f and -c).\n\n\
         Start runs the binary with -DSTATUS, the options and -f the configuration file (and \
         -c \"PidFile /var/run/<binary>-<instance>.pid\" when the configuration names none), \
         then waits, within the start timeout, until the status check succeeds. A start that \
         fails stops what it started and reports apache's own error line (a configuration \
         syntax error is exit code 6).\n\n\
         Monitor checks the process named by the PidFile, then fetches the status URL in \
         process (no curl or wget) and looks for testregex in the answer; with nothing \
         configured (no statusurl, testregex, testurl, testregex10 or testconffile) it falls \
         back to a HEAD request of the local index page, where any answer below 500 means \
         alive. OCF_CHECK_LEVEL=10 adds the testurl/testregex10 or testconffile check.\n\n\
         Stop sends SIGWINCH (graceful stop) to the processes of this instance (the main \
         process's session and its children; other apache instances are not touched) and \
         waits up to half the stop timeout, then SIGTERM (at most 10 s), then SIGKILL, all \
         within the stop timeout. Make the server-status page accessible from localhost only.",
    )
    .params(&[
        CONFIGFILE,
        HTTPD,
        PORT,
        STATUSURL,
        TESTREGEX,
        CLIENT,
        TESTURL,
        TESTREGEX10,
        TESTCONFFILE,
        TESTNAME,
        OPTIONS,
        ENVFILES,
        USE_IPV6,
    ])
    .actions(&[
        Action::start(40),
        Action::stop(60),
        Action::monitor(20, 10),
        Action::monitor(20, 60).depth(10),
        Action::meta_data(5),
        Action::validate_all(5),
    ])
    .examples(&[
        "pcs resource create web ocf:ocfrs:apache configfile=/etc/apache2/apache2.conf statusurl=http://127.0.0.1/server-status op monitor interval=10s",
        "crm configure primitive web ocf:ocfrs:apache params configfile=/etc/httpd/conf/httpd.conf op monitor interval=10s timeout=20s",
    ]);
