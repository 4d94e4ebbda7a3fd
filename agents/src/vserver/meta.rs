//! The declaration of `VServer`: parameters and actions, nothing else.

use ocf::meta::{Action, Agent, Param};

/// The guest's name.
pub const VSERVER: Param = Param::string("vserver")
    .required()
    .unique()
    .primary()
    .short("Guest name")
    .long(
        "Name of the Linux-VServer guest: its configuration directory is \
         <config_root>/<vserver> (/etc/vservers/<vserver> by default). Letters, digits, \
         '.', '_' and '-', starting with a letter or digit.",
    );

/// The util-vserver `vserver` command.
pub const VSERVER_BIN: Param = Param::string("vserver_bin")
    .default("/usr/sbin/vserver")
    .short("util-vserver's vserver command")
    .long(
        "Full path of util-vserver's vserver command. The agent runs it as \
         'vserver <config_root>/<vserver> start|stop|status' (util-vserver accepts the \
         configuration directory in place of the name), with argv only and a deadline.",
    );

/// Where guest configuration directories live.
pub const CONFIG_ROOT: Param = Param::string("config_root")
    .default("/etc/vservers")
    .advanced()
    .short("Directory of guest configurations")
    .long(
        "The directory holding the guests' configuration directories (util-vserver's \
         /etc/vservers). It may be, or point into, the shared filesystem the guests live on: \
         where it is not mounted, the guest cannot run, so a probe reports 'not running' and \
         a stop succeeds.",
    );

/// The declaration.
pub const AGENT: Agent = Agent::new("VServer", "1.1")
    .short("Linux-VServer guest (util-vserver)")
    .long(
        "Starts, monitors and stops one Linux-VServer guest through util-vserver's vserver \
         command.\n\n\
         start runs 'vserver DIR start' (nothing when the guest already runs) and returns once \
         'vserver DIR status' reports it running. monitor runs 'vserver DIR status': exit 0 is \
         running, 3 is stopped, anything else (or no answer within the budget) is a failure \
         with the command's message. ('vserver DIR running' is not used: it exits 1 both for a \
         stopped guest and for a broken installation.)\n\n\
         stop runs 'vserver DIR stop' with part of the budget, then ends every process still \
         belonging to the guest (SIGTERM, then SIGKILL before the budget ends), even when \
         util-vserver's stop hangs or fails: the processes whose /proc/<pid>/status says \
         'VxID: <context>' (Linux-VServer kernels; the context is read from DIR/run, or from \
         DIR/context for a static one) and every process whose root directory is the guest's \
         root (DIR/vdir), which is where util-vserver confines a guest.\n\n\
         validate-all: a malformed name or a relative config_root is 6; a missing vserver \
         command or configuration directory is 5 (e.g. the shared /vservers filesystem is not \
         mounted on this node), an unreadable one 4; there, a probe reports 7 and a stop 0.",
    )
    .params(&[VSERVER, VSERVER_BIN, CONFIG_ROOT])
    .actions(&[
        Action::start(60),
        Action::stop(60),
        Action::monitor(20, 30),
        Action::meta_data(5),
        Action::validate_all(20),
    ])
    .examples(&[
        "pcs resource create vs1 ocf:ocfrs:VServer vserver=guest1 op monitor interval=30s",
        "crm configure primitive vs1 ocf:ocfrs:VServer params vserver=guest1 vserver_bin=/usr/sbin/vserver op monitor interval=30s",
    ]);
