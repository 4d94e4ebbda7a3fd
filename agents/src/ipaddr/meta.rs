//! The declarations of `IPaddr2` and of its legacy face `IPaddr`: parameters and actions.
//!
//! Parameter names and defaults are those of resource-agents 4.12 (Debian 12) plus the ones
//! HEAD added (`proto`, `check_link_status`), so existing CIBs validate unchanged. Booleans the
//! reference typed as `string` (`run_arping`, `nodad`, `noprefixroute`) are typed `boolean`
//! here; they accept the same values.

use ocf::meta::{Action, Agent, Param};

// ---------------------------------------------------------------------------------------
// IPaddr2
// ---------------------------------------------------------------------------------------

/// The address.
pub const IP: Param = Param::string("ip")
    .required()
    .unique()
    .short("IPv4 or IPv6 address")
    .long(
        "The virtual address to manage: IPv4 in dotted-quad notation (192.0.2.10) or IPv6 \
         in colon-hexadecimal notation (2001:db8::10). IPv6 addresses are compared in their \
         canonical form, so any spelling of the same address is the same resource.",
    );

/// The base interface.
pub const NIC: Param = Param::string("nic")
    .short("Network interface")
    .long(
        "The base interface the address is added to. Empty: the interface is taken from the \
         routing table (the longest-prefix route of the main table that covers the address, \
         as findif does). The legacy form nic:label is accepted and sets the label. A \
         link-local IPv6 address needs nic. The interface should carry a static address of \
         the subnet that is not managed by the cluster, or net.ipv4.conf.<nic>.promote_secondaries=1 \
         should be set.",
    );

/// The prefix length.
pub const CIDR_NETMASK: Param = Param::string("cidr_netmask").short("CIDR netmask").long(
    "Prefix length of the address (24, not 255.255.255.0; a dotted-quad IPv4 netmask is \
         converted with a warning). Empty: taken from the route that selected the interface. \
         1..32 for IPv4, 1..128 for IPv6.",
);

/// Old name of cidr_netmask.
pub const NETMASK: Param = Param::string("netmask")
    .deprecated_by("cidr_netmask", "netmask was renamed cidr_netmask")
    .advanced()
    .short("CIDR netmask (old name)")
    .long("Old name of cidr_netmask, still honoured when cidr_netmask is not set.");

/// The broadcast address.
pub const BROADCAST: Param = Param::string("broadcast").short("Broadcast address").long(
    "IPv4 broadcast address of the address. '+' sets the host bits of the prefix \
         (192.0.2.255 for 192.0.2.10/24), '-' clears them. Empty: '+' for prefixes up to /30, \
         none for /31 and /32. Ignored for IPv6.",
);

/// Route protocol filter for interface discovery.
pub const PROTO: Param = Param::string("proto")
    .advanced()
    .short("Route protocol for interface discovery")
    .long(
        "When nic or cidr_netmask are discovered from the routing table, only consider routes \
         of this protocol (a name such as kernel, static, dhcp, or a number 0-255).",
    );

/// Address label.
pub const IFLABEL: Param = Param::string("iflabel").short("Interface label").long(
    "Label for the address, shown as <nic>:<iflabel> by 'ip addr'. The whole label, \
         interface name and colon included, is at most 15 characters. A label given in nic \
         (nic:label) takes precedence. IPv4 only (the kernel has no IPv6 labels).",
);

/// LVS direct routing support.
pub const LVS_SUPPORT: Param = Param::boolean("lvs_support")
    .default("false")
    .short("Enable support for LVS DR")
    .long(
        "LVS direct-routing support (IPv4): on start, a copy of the address as /32 on the \
         loopback interface is removed (and remembered); on stop it is put back, so this node \
         keeps serving the address locally without answering ARP for it. Not with clones.",
    );

/// IPv6 address label for LVS.
pub const LVS_IPV6_ADDRLABEL: Param = Param::boolean("lvs_ipv6_addrlabel")
    .default("false")
    .short("Enable adding IPv6 address label")
    .long(
        "IPv6: add an address-selection label (RFC 6724 policy table, 'ip addrlabel') for the \
         address, so traffic leaving the interface does not pick it as source address. Needed \
         for LVS-DR health checks to real servers. Rejected for IPv4. The default, false, is \
         that of resource-agents 4.12 (Debian 12), the version this agent replaces; newer \
         resource-agents default to true.",
    );

/// The label value.
pub const LVS_IPV6_ADDRLABEL_VALUE: Param = Param::integer("lvs_ipv6_addrlabel_value")
    .default("99")
    .range(0, 4_294_967_294)
    .short("IPv6 address label value")
    .long("Label value used by lvs_ipv6_addrlabel; it should be unused in the policy table.");

/// Cluster-IP MAC.
pub const MAC: Param = Param::string("mac")
    .advanced()
    .short("Cluster IP MAC address (unsupported mode)")
    .long(
        "Multicast MAC address of the cluster-IP (globally-unique clone) mode. That mode is \
         not supported by this agent and is refused at validation; the parameter is accepted \
         so existing configurations parse.",
    );

/// Cluster-IP hash (4.12).
pub const CLUSTERIP_HASH: Param = Param::string("clusterip_hash")
    .default("sourceip-sourceport")
    .advanced()
    .short("Cluster IP hashing function (unsupported mode)")
    .long(
        "Hash mode of the cluster-IP mode (sourceip, sourceip-sourceport, \
         sourceip-sourceport-destport). That mode is refused by this agent; accepted so \
         existing configurations parse.",
    );

/// Clone address uniquification.
pub const UNIQUE_CLONE_ADDRESS: Param = Param::boolean("unique_clone_address")
    .default("false")
    .short("Create a unique address for cloned instances")
    .long(
        "IPv4, globally-unique clones only: add the clone instance number to the last octet \
         of ip, so each instance manages its own address.",
    );

/// Interval between announcements.
pub const ARP_INTERVAL: Param = Param::integer("arp_interval")
    .default("200")
    .range(1, 3_600_000)
    .short("ARP/NA packet interval in ms")
    .long(
        "Milliseconds between two unsolicited ARP (IPv4) or neighbour advertisement (IPv6) \
         packets. Honoured by the built-in sender (unlike most external ones). The whole \
         series is bounded by the action's time budget.",
    );

/// Announcements on start.
pub const ARP_COUNT: Param = Param::integer("arp_count")
    .default("5")
    .range(1, 100_000)
    .short("ARP/NA packet count sent during initialization")
    .long(
        "Number of unsolicited ARP (IPv4) or NA (IPv6) packets sent when the address is started.",
    );

/// Announcements on every monitor.
pub const ARP_COUNT_REFRESH: Param = Param::integer("arp_count_refresh")
    .default("0")
    .range(0, 100_000)
    .short("ARP packet count sent during monitoring")
    .long(
        "Unsolicited ARP (IPv4) or NA (IPv6) packets sent by every successful recurring \
         monitor, to heal neighbour caches left stale by a split brain. 0: none.",
    );

/// Background sending.
pub const ARP_BG: Param = Param::boolean("arp_bg")
    .short("ARP/NA from background")
    .long(
        "Whether start sends its ARP (IPv4) or NA (IPv6) packets from the background, so \
         start returns at once. Empty: true for IPv4, false for IPv6. The background sender \
         is a detached child of the agent that stops after arp_count packets or when the \
         start's timeout would have expired, and stop ends it, so it never announces an \
         address that has been removed. External arp_sender programs always run in the \
         foreground.",
    );

/// ARP sender selection.
pub const ARP_SENDER: Param = Param::select(
    "arp_sender",
    &[
        "builtin",
        "send_arp",
        "iputils_arping",
        "libnet_arping",
        "ipoibarping",
    ],
)
.default("builtin")
.short("ARP sender")
.long(
    "IPv4: what sends the gratuitous ARPs. builtin (default): the agent itself, over a \
     packet socket, honouring arp_count and arp_interval and the time budget. For existing \
     configurations the external programs remain selectable: send_arp ($HA_BIN/send_arp), \
     iputils_arping and libnet_arping (arping from PATH), ipoibarping; they run with a \
     deadline, in the foreground.",
);

/// Options for the sender.
pub const SEND_ARP_OPTS: Param = Param::string("send_arp_opts")
    .short("Options for ARP sender")
    .long(
        "IPv4: extra options. For an external sender they are passed as separate arguments \
         (split on white space, never through a shell). The built-in sender understands -A \
         (announce with ARP REPLY instead of ARP REQUEST, for switches that ignore \
         gratuitous requests) and -U (ARP REQUEST, the default).",
    );

/// Route cache flush.
pub const FLUSH_ROUTES: Param = Param::boolean("flush_routes")
    .default("false")
    .short("Flush kernel routing table on stop")
    .long(
        "Flush the kernel's route cache after the address is removed, so local applications \
         stop using it at once.",
    );

/// Duplicate address check.
pub const RUN_ARPING: Param = Param::boolean("run_arping")
    .default("false")
    .short("Run arping for IPv4 collision detection check")
    .long(
        "IPv4: before adding the address, probe the link for another holder (ARP probes as \
         in RFC 5227, sent by the agent); start fails with exit 1 if one answers.",
    );

/// IPv6 nodad.
pub const NODAD: Param = Param::boolean("nodad")
    .default("false")
    .short("Use nodad flag")
    .long("IPv6: add the address without duplicate address detection.");

/// noprefixroute.
pub const NOPREFIXROUTE: Param = Param::boolean("noprefixroute")
    .default("false")
    .short("Use noprefixroute flag")
    .long("Do not create the prefix route for the address.");

/// IPv6 preferred lifetime.
pub const PREFERRED_LFT: Param = Param::string("preferred_lft")
    .default("forever")
    .short("IPv6 preferred lifetime")
    .long(
        "IPv6: preferred lifetime of the address in seconds, or forever. 0 keeps the address \
         from being chosen as source address. Empty is invalid.",
    );

/// Network namespace.
pub const NETWORK_NAMESPACE: Param = Param::string("network_namespace")
    .short("Network namespace to use")
    .long(
        "Manage the address inside this named network namespace (/run/netns/NAME, as \
         created by 'ip netns add'). The agent enters it itself (setns); the interface must \
         be in that namespace.",
    );

/// Link state check.
pub const CHECK_LINK_STATUS: Param = Param::boolean("check_link_status")
    .default("true")
    .short("Consider the resource failed if the interface is down")
    .long(
        "When true, an address whose interface is administratively down or has no carrier \
         (operational state DOWN or LOWERLAYERDOWN) counts as not running: monitor returns 7 \
         so the cluster recovers it, and start refuses (exit 5) an address already present \
         on a down interface.",
    );

/// The IPaddr2 declaration.
pub const IPADDR2: Agent = Agent::new("IPaddr2", "1.1")
    .short("Manages virtual IPv4 and IPv6 addresses (Linux specific version)")
    .long(
        "Adds a virtual IPv4 or IPv6 address to an interface on start and removes it on \
         stop, through netlink (no 'ip' command is run). The interface, prefix length and \
         broadcast address can be discovered from the routing table. After adding, \
         neighbours are told of the move with gratuitous ARP (IPv4) or unsolicited neighbour \
         advertisements (IPv6) sent by the agent itself; IPv6 duplicate address detection is \
         awaited and a collision fails start. Monitor and probe start no process. \
         Drop-in for resource-agents' IPaddr2 (same parameters); the cluster-IP \
         (globally-unique clone) mode is not supported and is refused at validation.",
    )
    .params(&[
        IP,
        NIC,
        CIDR_NETMASK,
        NETMASK,
        BROADCAST,
        PROTO,
        IFLABEL,
        LVS_SUPPORT,
        LVS_IPV6_ADDRLABEL,
        LVS_IPV6_ADDRLABEL_VALUE,
        MAC,
        CLUSTERIP_HASH,
        UNIQUE_CLONE_ADDRESS,
        ARP_INTERVAL,
        ARP_COUNT,
        ARP_COUNT_REFRESH,
        ARP_BG,
        ARP_SENDER,
        SEND_ARP_OPTS,
        FLUSH_ROUTES,
        RUN_ARPING,
        NODAD,
        NOPREFIXROUTE,
        PREFERRED_LFT,
        NETWORK_NAMESPACE,
        CHECK_LINK_STATUS,
    ])
    .actions(&[
        Action::start(20),
        Action::stop(20),
        Action::monitor(20, 10),
        Action::meta_data(5),
        Action::validate_all(20),
    ])
    .examples(&[
        "pcs resource create vip ocf:ocfrs:IPaddr2 ip=192.0.2.10 cidr_netmask=24 op monitor interval=10s",
        "crm configure primitive vip6 ocf:ocfrs:IPaddr2 params ip=2001:db8::10 nic=eth0 op monitor interval=10s",
    ]);

// ---------------------------------------------------------------------------------------
// IPaddr (legacy names)
// ---------------------------------------------------------------------------------------

/// The address (IPaddr).
pub const L_IP: Param = Param::string("ip")
    .required()
    .unique()
    .short("IPv4 or IPv6 address")
    .long("The virtual address to manage, IPv4 dotted quad (IPv6 is accepted as well).");

/// The interface (IPaddr, default eth0).
pub const L_NIC: Param = Param::string("nic")
    .default("eth0")
    .short("Network interface")
    .long(
        "The base interface the address is added to. As in the reference agent the default \
         eth0 is really used; set nic to the empty string to discover the interface from \
         the routing table.",
    );

/// Netmask (IPaddr).
pub const L_CIDR_NETMASK: Param = Param::string("cidr_netmask")
    .short("Netmask")
    .long("Prefix length (24) or dotted-quad netmask (255.255.255.0). Empty: from the route.");

/// Broadcast (IPaddr).
pub const L_BROADCAST: Param = Param::string("broadcast")
    .short("Broadcast address")
    .long("IPv4 broadcast address; '+'/'-' as in IPaddr2. Empty: computed.");

/// Label (IPaddr).
pub const L_IFLABEL: Param = Param::string("iflabel").short("Interface label").long(
    "Label for the address (<nic>:<iflabel>, at most 15 characters). The reference agent \
         declared it without using it; here it sets the address label.",
);

/// LVS (IPaddr).
pub const L_LVS_SUPPORT: Param = Param::boolean("lvs_support")
    .default("false")
    .short("Enable support for LVS DR")
    .long("As IPaddr2's lvs_support.");

/// Script run after adding.
pub const L_LOCAL_START_SCRIPT: Param = Param::string("local_start_script")
    .short("Script called when the IP is added")
    .long(
        "Absolute path of an executable run (no shell, no arguments, within the time budget) \
         after the address is added. A failing script fails start.",
    );

/// Script run before removing.
pub const L_LOCAL_STOP_SCRIPT: Param = Param::string("local_stop_script")
    .short("Script called when the IP is released")
    .long(
        "Absolute path of an executable run (no shell, no arguments, within the time budget) \
         after the address is removed. Its failure is logged, stop still succeeds.",
    );

/// ARP interval (IPaddr).
pub const L_ARP_INTERVAL_MS: Param = Param::integer("ARP_INTERVAL_MS")
    .default("500")
    .range(1, 3_600_000)
    .short("Milliseconds between gratuitous ARPs")
    .long("Milliseconds between two gratuitous ARPs (IPaddr2's arp_interval).");

/// ARP count (IPaddr).
pub const L_ARP_REPEAT: Param = Param::integer("ARP_REPEAT")
    .default("10")
    .range(1, 100_000)
    .short("How many gratuitous ARPs to send out when bringing up a new address")
    .long("Number of gratuitous ARPs (IPaddr2's arp_count).");

/// ARP background (IPaddr).
pub const L_ARP_BACKGROUND: Param = Param::boolean("ARP_BACKGROUND")
    .default("yes")
    .short("Whether to send the ARPs in the background")
    .long("Send the gratuitous ARPs from a bounded background child (IPaddr2's arp_bg).");

/// ARP netmask (IPaddr).
pub const L_ARP_NETMASK: Param = Param::string("ARP_NETMASK")
    .default("ffffffffffff")
    .advanced()
    .short("Netmask for ARP - in nonstandard hexadecimal format")
    .long("Accepted for compatibility and unused: the built-in sender needs no such value.");

/// The IPaddr declaration.
pub const IPADDR: Agent = Agent::new("IPaddr", "1.1")
    .short("Manages virtual IPv4 addresses (portable version)")
    .long(
        "Legacy face of IPaddr2 with the parameter names of resource-agents' IPaddr \
         (ARP_REPEAT, ARP_INTERVAL_MS, local_start_script, ...) and its nic=eth0 default. The \
         same engine adds and removes the address through netlink and announces it with \
         gratuitous ARPs sent by the agent.",
    )
    .params(&[
        L_IP,
        L_NIC,
        L_CIDR_NETMASK,
        L_BROADCAST,
        L_IFLABEL,
        L_LVS_SUPPORT,
        L_LOCAL_STOP_SCRIPT,
        L_LOCAL_START_SCRIPT,
        L_ARP_INTERVAL_MS,
        L_ARP_REPEAT,
        L_ARP_BACKGROUND,
        L_ARP_NETMASK,
    ])
    .actions(&[
        Action::start(20),
        Action::stop(20),
        Action::monitor(20, 5),
        Action::monitor(20, 60).depth(10),
        Action::meta_data(5),
        Action::validate_all(20),
    ])
    .examples(&[
        "pcs resource create vip ocf:ocfrs:IPaddr ip=192.0.2.10 nic=eth1 op monitor interval=5s",
    ]);
