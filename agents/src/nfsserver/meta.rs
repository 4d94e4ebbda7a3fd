//! The declaration of `nfsserver`: parameters and actions, nothing else.

use ocf::meta::{Action, Agent, Param};

/// How the server's daemons are run.
pub const NFS_MODE: Param = Param::select("nfs_mode", &["auto", "systemd", "direct", "init"])
    .default("auto")
    .short("How the NFS server is run")
    .long(
        "auto: through systemd's units when systemd is PID 1, otherwise through nfs_init_script \
         when that is set, otherwise directly. systemd: systemctl start/stop of rpcbind, \
         rpc-statd, nfs-idmapd, nfs-mountd and nfs-server (nfs-kernel-server on older \
         systems). direct: the agent runs rpcbind, rpc.statd, rpc.mountd, nfsdcld (when \
         installed) and rpc.idmapd itself, each with a deadline and a readiness check, and the \
         kernel server through /proc/fs/nfsd and rpc.nfsd (no systemd needed: containers, \
         minimal nodes). init: the init script's start/stop, checked the same way. The mode \
         used is named in every exit reason.",
    );

/// The init script (drop-in name).
pub const NFS_INIT_SCRIPT: Param = Param::string("nfs_init_script")
    .short("Init script for the NFS server")
    .long(
        "The init script used in mode init (with nfs_mode=auto: when systemd is not PID 1 and \
         this is set). The reference agent autodetects /etc/init.d/nfsserver, nfs or \
         nfs-kernel-server; this agent runs the server directly instead unless it is named \
         here, because Debian's script leaves the kernel threads serving after stop.",
    );

/// NFSv4 only.
pub const NFSV4_ONLY: Param = Param::boolean("nfsv4_only")
    .default("false")
    .short("Serve NFSv4 only")
    .long(
        "Run the server without NFSv2/v3: no rpcbind, rpc.statd or NLM locking; rpc.mountd \
         still runs (it answers the kernel's export upcalls) without registering v3.",
    );

/// No sm-notify.
pub const NFS_NO_NOTIFY: Param = Param::boolean("nfs_no_notify")
    .default("false")
    .short("Do not send NSM reboot notifications")
    .long("Do not run sm-notify after start (NFSv3 clients then do not reclaim their locks).");

/// sm-notify in the foreground.
pub const NFS_NOTIFY_FOREGROUND: Param = Param::boolean("nfs_notify_foreground")
    .default("false")
    .short("Run sm-notify in the foreground")
    .long(
        "Run sm-notify -d: start waits for the notifications to be sent (bounded by the start \
         timeout; what remains is left to a background sm-notify).",
    );

/// sm-notify retry time.
pub const NFS_SMNOTIFY_RETRY_TIME: Param = Param::integer("nfs_smnotify_retry_time")
    .range(0, 100_000)
    .short("sm-notify retry time (minutes)")
    .long("How long sm-notify keeps retrying unreachable clients (sm-notify -m); empty: its default, 15 minutes.");

/// Server scope.
pub const NFS_SERVER_SCOPE: Param = Param::string("nfs_server_scope")
    .short("NFSv4 server scope")
    .long(
        "The RFC 8881 server scope: nfsd is started in a UTS namespace whose host name is this \
         value, so that every node of the cluster presents the same scope and NFSv4 clients \
         reclaim their opens and locks after a failover. A host name: letters, digits, '.', \
         '-', at most 64 characters.",
    );

/// Floating addresses to notify from.
pub const NFS_IP: Param = Param::string("nfs_ip")
    .short("Floating addresses of the service")
    .long(
        "Comma-separated addresses the clients use (the service group's IPaddr2): sm-notify \
         runs once per address (sm-notify -v ADDRESS) so that NFSv3 clients reclaim locks \
         from the name they mounted.",
    );

/// Shared information directory.
pub const NFS_SHARED_INFODIR: Param = Param::string("nfs_shared_infodir")
    .short("Shared /var/lib/nfs")
    .long(
        "A directory on the group's shared filesystem, bind-mounted over /var/lib/nfs on start \
         (its statd/sm, statd/sm.bak, v4recovery and nfsdcld trees created) and unmounted on \
         stop, so that client state (NSM monitor list, NFSv4 recovery records) moves with the \
         service. A stop that cannot release it fails (1) naming the processes that hold it.",
    );

/// rpc_pipefs mount point.
pub const RPCPIPEFS_DIR: Param = Param::string("rpcpipefs_dir")
    .default("/var/lib/nfs/rpc_pipefs")
    .short("rpc_pipefs mount point")
    .long(
        "Where rpc_pipefs is mounted (rpc.idmapd, nfsdcld and rpc.gssd talk to the kernel \
         through it). Under /var/lib/nfs it is unmounted before the shared infodir is bound \
         over it and mounted again on top.",
    );

/// nfsd threads.
pub const NFSD_THREADS: Param = Param::integer("nfsd_threads")
    .default("8")
    .range(1, 4096)
    .short("nfsd kernel threads")
    .long("Number of nfsd threads in direct mode (rpc.nfsd N).");

/// mountd port.
pub const MOUNTD_PORT: Param = Param::integer("mountd_port")
    .range(0, 65535)
    .short("rpc.mountd port")
    .long("Fixed port for rpc.mountd in direct mode (-p); empty: chosen by the system.");

/// statd port.
pub const STATD_PORT: Param = Param::integer("statd_port")
    .range(0, 65535)
    .short("rpc.statd port")
    .long("Fixed listening port for rpc.statd in direct mode (-p).");

/// statd outgoing port.
pub const STATD_OUTGOING_PORT: Param = Param::integer("statd_outgoing_port")
    .range(0, 65535)
    .short("rpc.statd outgoing port")
    .long("Fixed source port of rpc.statd and sm-notify in direct mode (-o / -p).");

/// lockd ports.
pub const LOCKD_TCP_PORT: Param = Param::integer("lockd_tcp_port")
    .range(0, 65535)
    .short("lockd TCP port")
    .long(
        "Fixed lockd TCP port, written to /proc/sys/fs/nfs/nlm_tcpport before start (direct mode).",
    );

/// lockd UDP port.
pub const LOCKD_UDP_PORT: Param = Param::integer("lockd_udp_port")
    .range(0, 65535)
    .short("lockd UDP port")
    .long(
        "Fixed lockd UDP port, written to /proc/sys/fs/nfs/nlm_udpport before start (direct mode).",
    );

/// The declaration.
pub const AGENT: Agent = Agent::new("nfsserver", "1.1")
    .short("Kernel NFS server")
    .long(
        "Manages the Linux kernel NFS server of a node (one per node, usually in a group with \
         its Filesystem, exportfs resources and floating address). Drop-in for \
         ocf:heartbeat:nfsserver (same parameters and defaults), with a direct mode for nodes \
         without systemd.\n\n\
         monitor: nfsd has threads (/proc/fs/nfsd/threads), rpc.mountd and rpc.statd run and \
         are registered with rpcbind (asked over the rpcbind protocol, in process, bounded), \
         rpc_pipefs and the shared infodir are mounted; 7 when the server is down, 1 naming the \
         missing part when it is partly up. stop: rpc.nfsd 0 and the kernel threads at 0, \
         rpc.statd, rpc.mountd, nfsdcld, fsidd, rpc.idmapd and sm-notify gone, rpc_pipefs and \
         the shared infodir unmounted; what still holds /var/lib/nfs is named in the exit \
         reason (1) before the stop timeout.",
    )
    .params(&[
        NFS_MODE,
        NFS_INIT_SCRIPT,
        NFSV4_ONLY,
        NFS_NO_NOTIFY,
        NFS_NOTIFY_FOREGROUND,
        NFS_SMNOTIFY_RETRY_TIME,
        NFS_SERVER_SCOPE,
        NFS_IP,
        NFS_SHARED_INFODIR,
        RPCPIPEFS_DIR,
        NFSD_THREADS,
        MOUNTD_PORT,
        STATD_PORT,
        STATD_OUTGOING_PORT,
        LOCKD_TCP_PORT,
        LOCKD_UDP_PORT,
    ])
    .actions(&[
        Action::start(40),
        Action::stop(20),
        Action::monitor(20, 10),
        Action::meta_data(5),
        Action::validate_all(30),
    ])
    .examples(&[
        "pcs resource create nfs-daemon ocf:ocfrs:nfsserver nfs_shared_infodir=/srv/nfs/nfsinfo nfs_ip=192.0.2.50 nfs_server_scope=nfs-ha --group nfsgroup",
        "crm configure primitive nfs-daemon ocf:ocfrs:nfsserver params nfs_shared_infodir=/srv/nfs/nfsinfo nfs_ip=192.0.2.50 op monitor interval=10s",
    ]);
