//! The declaration of `Dummy`: parameters and actions, nothing else.

use ocf::meta::{Action, Agent, Param};

/// Where the state file lives.
pub const STATE: Param = Param::string("state").unique().short("State file").long(
    "Location of the state file that records the resource as started. \
         Empty or unset: /run/ocfrs/Dummy/<instance>.state (OCFRS_RUN_DIR replaces /run/ocfrs).",
);

/// A value with no effect, changeable without restart (demonstrates reload-agent).
pub const FAKE: Param = Param::string("fake")
    .default("dummy")
    .reloadable()
    .short("Fake attribute that can be changed to cause a reload")
    .long("Fake attribute that can be changed to cause an agent reload (reload-agent) instead of a restart.");

/// Seconds every start, stop and monitor takes (bounded by the action's budget).
pub const OP_SLEEP: Param = Param::integer("op_sleep")
    .default("0")
    .range(0, 86_400)
    .advanced()
    .short("Seconds each operation sleeps")
    .long(
        "Number of seconds start, stop and monitor sleep before doing their work, to simulate \
         a slow service. The sleep never outlasts the action's time budget: an action that \
         runs out of time fails with an exit reason before the cluster's timeout.",
    );

/// Fail start on the node with this name.
pub const FAIL_START_ON: Param = Param::string("fail_start_on")
    .advanced()
    .short("Fail start on this node")
    .long("Start fails with a generic error on the node with this name (for failover tests).");

/// Run a real process and monitor it.
pub const DAEMON: Param = Param::boolean("daemon")
    .default("false")
    .short("Manage a real process")
    .long(
        "When true, start launches a long-running process (sleep infinity) in its own session \
         and records its pid and start time in the state file; monitor fails when that process \
         is gone, stop terminates it (TERM, then KILL within the stop budget). Lets tests kill \
         the managed process and watch the cluster recover it.",
    );

/// The declaration.
pub const AGENT: Agent = Agent::new("Dummy", "1.1")
    .short("Example stateless resource agent")
    .long(
        "Dummy is the ocfrs example agent and SDK tutorial. It records \"started\" in a state \
         file and optionally manages a real process, implementing every common action: \
         start, stop, monitor, reload-agent (for the reloadable parameter fake), reload, \
         migrate_to/migrate_from, notify and validate-all. Use it to test cluster \
         configurations and tools.",
    )
    .params(&[STATE, FAKE, OP_SLEEP, FAIL_START_ON, DAEMON])
    .actions(&[
        Action::start(20),
        Action::stop(20),
        Action::monitor(20, 10),
        Action::reload(20),
        Action::reload_agent(20),
        Action::migrate_to(20),
        Action::migrate_from(20),
        Action::notify(20),
        Action::meta_data(5),
        Action::validate_all(20),
    ])
    .examples(&[
        "pcs resource create d1 ocf:ocfrs:Dummy op monitor interval=10s",
        "crm configure primitive d1 ocf:ocfrs:Dummy params daemon=true op monitor interval=5s",
    ]);
