//! The declaration of `VirtualDomain`: parameters and actions, nothing else.

use ocf::meta::{Action, Agent, Param};

/// The domain's XML.
pub const CONFIG: Param = Param::string("config")
    .required()
    .unique()
    .primary()
    .short("Domain XML file")
    .long(
        "Absolute path of the libvirt domain XML (as written by 'virsh dumpxml'). The domain's \
         name is its <name> element; its <uuid>, when present, identifies the emulator process \
         when libvirtd does not answer. A file that is missing or unreadable on this node \
         (e.g. on shared storage not mounted here) is 5: a probe then reports 7 and a stop 0. \
         A file without <name>, or not well-formed XML, is 5 as well (it may be a half \
         synchronised copy).",
    );

/// The libvirt connection URI.
pub const HYPERVISOR: Param = Param::string("hypervisor").short("Hypervisor URI").long(
    "libvirt connection URI, e.g. qemu:///system. Empty: virsh's default URI \
         ('virsh uri', LIBVIRT_DEFAULT_URI or the libvirt configuration).",
);

/// Always destroy.
pub const FORCE_STOP: Param = Param::boolean("force_stop")
    .default("false")
    .short("Always force the domain off")
    .long(
        "true: stop is 'virsh destroy' at once (no graceful shutdown). Cannot be combined with \
         snapshot (6).",
    );

/// Transport in the derived target URI.
pub const MIGRATION_TRANSPORT: Param = Param::string("migration_transport")
    .short("Transport for the target's libvirtd")
    .long(
        "Transport inserted into the target URI when it is derived from hypervisor: \
         qemu:///system with transport 'ssh' and target node 'n2' gives qemu+ssh://n2/system. \
         Empty: none (libvirt's default, TLS for a remote qemu URI).",
    );

/// User in the derived target URI.
pub const MIGRATION_USER: Param = Param::string("migration_user")
    .short("User for the target's libvirtd")
    .long(
        "User put in the derived target URI (user@node), e.g. for the ssh transport. Ignored \
         when remoteuri is set.",
    );

/// Maximum downtime.
pub const MIGRATION_DOWNTIME: Param = Param::integer("migration_downtime")
    .default("0")
    .range(0, i64::MAX)
    .short("Maximum downtime of a live migration (ms)")
    .long(
        "Maximum tolerable downtime in milliseconds while the domain's last pages are copied \
         (virsh migrate --downtime, set as the migration starts). 0: libvirt's default.",
    );

/// Bandwidth limit.
pub const MIGRATION_SPEED: Param = Param::integer("migration_speed")
    .default("0")
    .range(0, i64::MAX)
    .short("Bandwidth limit of a live migration (MiB/s)")
    .long("Migration bandwidth in MiB/s (virsh migrate --bandwidth). 0: unlimited.");

/// Suffix for a dedicated migration network.
pub const MIGRATION_NETWORK_SUFFIX: Param = Param::string("migration_network_suffix")
    .short("Suffix of the migration network's host names")
    .long(
        "Appended to the target node's short host name to address it over a dedicated \
         migration network: node 'n2.example.com' with suffix '-mig' is reached as \
         'n2-mig.example.com', both for its libvirtd and for the migration data stream.",
    );

/// Explicit migration URI.
pub const MIGRATEURI: Param = Param::string("migrateuri")
    .short("Migration data URI")
    .long(
        "URI of the migration data stream (virsh migrate's migrateuri); %n is replaced by the \
         target node's name. Empty: tcp:<target><suffix>:<migrateport> for QEMU, taken from \
         --migrateuri=... in migrate_options when given there.",
    );

/// Extra `virsh migrate` options.
pub const MIGRATE_OPTIONS: Param = Param::string("migrate_options")
    .short("Extra virsh migrate options")
    .long(
        "Extra options of 'virsh migrate', separated by white space, e.g. '--compressed \
         --auto-converge'. Each word becomes one argument (no shell); --migrateuri=URI is taken \
         out and used as migrateuri.",
    );

/// Port of the migration data stream.
pub const MIGRATEPORT: Param = Param::integer("migrateport")
    .default("0")
    .range(0, 65535)
    .short("Port of the migration data stream")
    .long(
        "TCP port of the derived tcp: migration URI. 0: a port from 49152-49215 chosen from \
         the domain's name (the same on every node, so a firewall rule can allow it).",
    );

/// The target's libvirt URI.
pub const REMOTEURI: Param = Param::string("remoteuri").short("Target libvirt URI").long(
    "The target libvirtd's URI for migrate_to; %n is replaced by the target node's name. \
         Empty: derived from hypervisor, migration_transport, migration_user and \
         migration_network_suffix.",
);

/// Monitor scripts.
pub const MONITOR_SCRIPTS: Param = Param::string("monitor_scripts")
    .short("Extra monitor commands")
    .long(
        "Absolute paths of executables, separated by white space, run one after the other \
         after the domain was found running (monitor and the end of start and migrate_from). \
         Each is run without a shell or arguments, with a deadline inside the action's budget; \
         a non-zero exit, or no answer in time, fails the monitor (1) with the script's \
         output as reason.",
    );

/// Set the `cpu` utilization.
pub const AUTOSET_UTILIZATION_CPU: Param = Param::boolean("autoset_utilization_cpu")
    .default("true")
    .short("Set the cpu utilization")
    .long(
        "Set the resource's 'cpu' utilization attribute to the domain's number of vCPUs \
         (<vcpu> of the XML), through crm_resource, when the value changed (not on every \
         monitor).",
    );

/// Set the `host_memory` utilization.
pub const AUTOSET_UTILIZATION_HOST_MEMORY: Param =
    Param::boolean("autoset_utilization_host_memory")
        .default("true")
        .short("Set the host_memory utilization")
        .long(
            "Set the resource's 'host_memory' utilization attribute to the domain's memory in \
             MiB (<memory> of the XML), when the value changed.",
        );

/// Set the `hv_memory` utilization.
pub const AUTOSET_UTILIZATION_HV_MEMORY: Param = Param::boolean("autoset_utilization_hv_memory")
    .default("true")
    .short("Set the hv_memory utilization")
    .long(
        "Set the resource's 'hv_memory' utilization attribute to the domain's memory in MiB, \
         when the value changed.",
    );

/// Delete the `cpu` utilization.
pub const UNSET_UTILIZATION_CPU: Param = Param::boolean("unset_utilization_cpu")
    .default("false")
    .short("Delete the cpu utilization")
    .long("Delete the resource's 'cpu' utilization attribute (wins over autoset).");

/// Delete the `host_memory` utilization.
pub const UNSET_UTILIZATION_HOST_MEMORY: Param = Param::boolean("unset_utilization_host_memory")
    .default("false")
    .short("Delete the host_memory utilization")
    .long("Delete the resource's 'host_memory' utilization attribute (wins over autoset).");

/// Delete the `hv_memory` utilization.
pub const UNSET_UTILIZATION_HV_MEMORY: Param = Param::boolean("unset_utilization_hv_memory")
    .default("false")
    .short("Delete the hv_memory utilization")
    .long("Delete the resource's 'hv_memory' utilization attribute (wins over autoset).");

/// Save the live definition back into `config`.
pub const SAVE_CONFIG_ON_STOP: Param = Param::boolean("save_config_on_stop")
    .default("false")
    .short("Save the domain's XML into config")
    .long(
        "Before stop and migrate_to, write the domain's current definition ('virsh dumpxml \
         --migratable') into config (through a temporary file and rename: never a half \
         written config), so changes made at run time survive.",
    );

/// Save and push with csync2.
pub const SYNC_CONFIG_ON_STOP: Param = Param::boolean("sync_config_on_stop")
    .default("false")
    .short("Save and csync2 the domain's XML")
    .long(
        "As save_config_on_stop, then 'csync2 -x config' to copy it to the other nodes. \
         csync2 missing: start is 5; a domain that runs is still monitored, and stopped with \
         its XML saved here and a warning that it was not synchronised.",
    );

/// Snapshot directory.
pub const SNAPSHOT: Param = Param::string("snapshot")
    .short("Directory for the domain's saved state")
    .long(
        "Stop saves the running domain's memory state into <snapshot>/<name>.state ('virsh \
         save') instead of shutting it down; start restores it ('virsh restore') and removes \
         the file, so the guest continues where it was. A failed save falls back to a normal \
         stop. Cannot be combined with force_stop (6).",
    );

/// Backing file.
pub const BACKINGFILE: Param = Param::string("backingfile")
    .short("qcow2 backing file")
    .long(
        "A qcow2 image used as backing file: start creates <config without extension>.qcow2 \
         on top of it ('qemu-img create -f qcow2 -F qcow2 -b backingfile') when that overlay is \
         missing (or always, with stateless), and the domain's XML must use that overlay as \
         its disk. qemu-img missing: start is 5.",
    );

/// Recreate the overlay on every start.
pub const STATELESS: Param = Param::boolean("stateless")
    .default("false")
    .short("Fresh overlay on every start")
    .long("With backingfile: recreate the overlay at every start (6 without backingfile).");

/// Directories copied into a stateless guest.
pub const COPYINDIRS: Param = Param::string("copyindirs")
    .short("Directories copied into a stateless guest")
    .long(
        "With stateless: directories (white space separated) copied into the guest's root \
         with virt-copy-in ('virt-copy-in -a <overlay> dirs... /') once the overlay is \
         created, before the domain boots. virt-copy-in missing: start is 5 (a domain that \
         runs is still monitored and stopped).",
    );

/// Graceful shutdown method.
pub const SHUTDOWN_MODE: Param = Param::string("shutdown_mode")
    .short("virsh shutdown --mode")
    .long(
        "Methods for the graceful shutdown, as 'virsh shutdown --mode' takes them: \
         acpi, agent, initctl, signal, paravirt, comma separated. Empty: libvirt's choice. \
         (The shell agent declares this parameter but never applies it.)",
    );

/// Start pools and networks first.
pub const START_RESOURCES: Param = Param::boolean("start_resources")
    .default("false")
    .short("Start the domain's networks and storage pools")
    .long(
        "Before start (and before migrate_to, on the target) start the libvirt networks \
         (<interface type='network'>) and storage pools (<disk type='volume'>) the domain uses, \
         when they are not active.",
    );

/// The declaration.
pub const AGENT: Agent = Agent::new("VirtualDomain", "1.1")
    .short("libvirt virtual domain, with live migration")
    .long(
        "Manages one libvirt virtual domain (QEMU/KVM, or any hypervisor libvirt drives) \
         described by an XML file, through virsh with a deadline on every call: a hung libvirtd \
         never holds an action beyond its budget.\n\n\
         start creates the domain from config ('virsh create': a transient domain, nothing \
         stays defined on the node) and waits until it runs. stop shuts it down ('virsh \
         shutdown', with shutdown_mode) and, when it is still running with a sixth of the \
         budget left, or at once with force_stop, destroys it; when libvirtd does not answer, \
         the domain's emulator process is ended directly (SIGTERM, then SIGKILL), so a stop \
         never fails only because libvirtd hangs. monitor asks 'virsh domstate'; when libvirtd \
         does not answer within a third of the budget, it looks for the domain's emulator \
         process in /proc, matched by the domain's exact name and its UUID (never a substring \
         of another domain's name).\n\n\
         migrate_to and migrate_from are the two halves of a Pacemaker live migration \
         (allow-migrate=true; CRM_meta_migrate_target names the target): migrate_to runs \
         'virsh migrate --live' to the target's libvirtd with migration_speed and \
         migration_downtime; when it fails or runs out of time, the migration job is aborted, \
         the domain keeps running on the source and the exit reason carries libvirt's message. \
         migrate_from waits, inside its budget, for the domain to run on the target.\n\n\
         A domain of the same name persistently defined on the node is never undefined by \
         this agent (the shell agent silently does so, losing that definition): start then \
         fails with 5 and says so, because starting the transient domain would conflict with \
         it; undefine it, or remove it from the node, to let the cluster manage the domain.\n\n\
         Utilization attributes (cpu, host_memory, hv_memory) are written through crm_resource \
         only when their value changed since this node last wrote them.",
    )
    .params(&[
        CONFIG,
        HYPERVISOR,
        FORCE_STOP,
        MIGRATION_TRANSPORT,
        MIGRATION_USER,
        MIGRATION_DOWNTIME,
        MIGRATION_SPEED,
        MIGRATION_NETWORK_SUFFIX,
        MIGRATEURI,
        MIGRATE_OPTIONS,
        MIGRATEPORT,
        REMOTEURI,
        MONITOR_SCRIPTS,
        AUTOSET_UTILIZATION_CPU,
        AUTOSET_UTILIZATION_HOST_MEMORY,
        AUTOSET_UTILIZATION_HV_MEMORY,
        UNSET_UTILIZATION_CPU,
        UNSET_UTILIZATION_HOST_MEMORY,
        UNSET_UTILIZATION_HV_MEMORY,
        SAVE_CONFIG_ON_STOP,
        SYNC_CONFIG_ON_STOP,
        SNAPSHOT,
        BACKINGFILE,
        STATELESS,
        COPYINDIRS,
        SHUTDOWN_MODE,
        START_RESOURCES,
    ])
    .actions(&[
        Action::start(90),
        Action::stop(90),
        Action::new("status", 30),
        Action::monitor(30, 10),
        Action::migrate_from(60),
        Action::migrate_to(120),
        Action::meta_data(5),
        Action::validate_all(5),
    ])
    .examples(&[
        "pcs resource create vm1 ocf:ocfrs:VirtualDomain config=/etc/libvirt/ha/vm1.xml hypervisor=qemu:///system migration_transport=ssh meta allow-migrate=true op monitor interval=10s",
        "crm configure primitive vm1 ocf:ocfrs:VirtualDomain params config=/etc/libvirt/ha/vm1.xml hypervisor=qemu:///system migration_transport=tcp migration_speed=100 migration_downtime=300 meta allow-migrate=true op monitor interval=10s",
    ]);
