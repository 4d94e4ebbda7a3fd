//! The declaration of `Stateful`: the promotable example agent.

use ocf::meta::{Action, Agent, Param, Role};

/// Where the role is recorded.
pub const STATE: Param = Param::string("state")
    .unique_group("state")
    .short("State file")
    .long(
        "Location of the file that records the role (unpromoted or promoted). Empty or unset: \
         /run/ocfrs/Stateful/<instance>.state (OCFRS_RUN_DIR replaces /run/ocfrs).",
    );

/// Seconds notify sleeps.
pub const NOTIFY_DELAY: Param = Param::integer("notify_delay")
    .default("0")
    .range(0, 3600)
    .reloadable()
    .short("Seconds the notify action sleeps")
    .long("The notify action sleeps for this many seconds (bounded by its time budget), to test slow notifications.");

/// The declaration.
pub const AGENT: Agent = Agent::new("Stateful", "1.1")
    .short("Example promotable resource agent")
    .long(
        "Stateful is the ocfrs example of a promotable (multi-state) agent: it records its role \
         in a state file, reports 8 from monitor when promoted and 0 when unpromoted, and keeps \
         its promotion score in the cluster (crm_attribute --promotion) when run by Pacemaker \
         as a promotable clone. Use it as a template and to test promotable-clone configurations.",
    )
    .params(&[STATE, NOTIFY_DELAY])
    .actions(&[
        Action::start(20),
        Action::stop(20),
        Action::monitor(20, 10).role(Role::Promoted),
        Action::monitor(20, 11).role(Role::Unpromoted),
        Action::promote(10),
        Action::demote(10),
        Action::notify(5),
        Action::reload_agent(10),
        Action::meta_data(5),
        Action::validate_all(20),
    ])
    .examples(&["pcs resource create st ocf:ocfrs:Stateful promotable notify=true"]);
