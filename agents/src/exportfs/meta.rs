//! The declaration of `exportfs`: parameters and actions, nothing else.
//!
//! Names, defaults and meanings are resource-agents' (`ocf:heartbeat:exportfs`, with `fsid`
//! optional as in resource-agents 4.13 and later).

use ocf::meta::{Action, Agent, Param};

/// The client specification.
pub const CLIENTSPEC: Param = Param::string("clientspec")
    .required()
    .short("Client ACL.")
    .long(
        "The client allowed to mount the directories, in exports(5) syntax: a host name, an \
         IPv4 address or subnet (192.0.2.0/24 or 192.0.2.0/255.255.255.0), an IPv6 address \
         or subnet ([2001:db8::1], [2001:db8::]/64; the brackets may be left out), a \
         wildcard (*.example.com), a netgroup (@trusted), or * for everybody. One client per \
         resource: to export to several subnets, create one resource per subnet (a \
         space-separated list is refused with 6). Several resources may export the same \
         directory to different clients: each one starts, stops and is monitored on its own.",
    );

/// Export options.
pub const OPTIONS: Param = Param::string("options").short("Export options.").long(
    "The export options passed to exportfs -o for every directory (rw,sync,no_root_squash \
     ...). An fsid= here is replaced by the fsid parameter when that is set.",
);

/// The directories.
pub const DIRECTORY: Param = Param::string("directory")
    .required()
    .inherit("Filesystem%directory")
    .short("The directory or directories to export.")
    .long(
        "The directory to export, or several separated by blanks (each exported with the same \
         client and options). A directory whose name contains blanks is written in double \
         quotes (\"/srv/my share\") or with \\040 for each blank, as in /etc/exports. \
         Symbolic links are resolved at start: the real directory is exported and \
         monitored, and stop unexports what start exported even if the link has changed \
         since.\n\nUnder rgmanager, an exportfs placed below a Filesystem resource inherits \
         that resource's directory (its mount point) when this parameter is not set (the \
         rgmanager meta-data says inherit=\"Filesystem%directory\").",
    );

/// The fsid.
pub const FSID: Param = Param::string("fsid")
    .short("Unique fsid within cluster or starting fsid for multiple exports.")
    .long(
        "The fsid of the export: an integer, a UUID or root (fsid=0, the NFSv4 pseudo-root). \
         It overrides an fsid= in options. With several directories it must be an integer: \
         the directories get fsid, fsid+1, ... in order. Optional (as in resource-agents \
         4.13 and later): without it the kernel derives the file handle from the filesystem \
         (its UUID), which is stable for block-device filesystems; tmpfs and others need \
         one. Not unique: exports of one directory to different clients share its fsid.",
    );

/// Release NLM locks on stop.
pub const UNLOCK_ON_STOP: Param = Param::boolean("unlock_on_stop")
    .default("1")
    .short("Unlock filesystem on stop?")
    .long(
        "On stop, write the directory to /proc/fs/nfsd/unlock_filesystem, which releases the \
         NFS locks held on its filesystem, so that the filesystem can be unmounted and the \
         clients reclaim their locks on the node that takes over. Skipped (and logged) while \
         another export of the same filesystem stays active on this node: their clients \
         would lose their locks too.",
    );

/// Wait for the NFSv4 lease time on stop.
pub const WAIT_FOR_LEASETIME_ON_STOP: Param = Param::boolean("wait_for_leasetime_on_stop")
    .default("0")
    .short("Ensure NFSv4 connections are released on stop?")
    .long(
        "On stop, wait for the NFSv4 lease time (/proc/fs/nfsd/nfsv4leasetime) plus 2 \
         seconds, so that NFSv4 clients' leases have expired before the filesystem moves. \
         The wait is cut short (with a warning) when the stop timeout would not allow it: \
         give stop a timeout above the lease time.",
    );

/// rmtab backup file.
pub const RMTAB_BACKUP: Param = Param::string("rmtab_backup")
    .default(".rmtab")
    .short("Location of the rmtab backup, relative to directory.")
    .long(
        "A file, relative to each exported directory, that keeps this export's lines of \
         /var/lib/nfs/rmtab (the NFSv3 clients that mounted it): refreshed by monitor and \
         stop, merged back into rmtab at start on the node that takes over, so that showmount \
         and NFSv3 clients over TCP see the same list after a failover. The merge holds the \
         rmtab lock that mountd and exportfs use, so resources starting at once lose no \
         line. none disables it.",
    );

/// The declaration.
pub const AGENT: Agent = Agent::new("exportfs", "1.0")
    .short("Manages NFS exports")
    .long(
        "Exports one or more directories over NFS to one client specification through \
         exportfs(8). It does not manage the NFS server (see nfsserver).\n\n\
         start runs exportfs -o OPTIONS CLIENT:DIRECTORY for each directory and checks that \
         the export is in /var/lib/nfs/etab, the export table exportfs writes and mountd \
         serves to the kernel; it then merges the rmtab backup. monitor reads that table \
         (no exportfs run, no screen output parsed): each directory must be exported to \
         exactly this client (IPv6 addresses compared as addresses, * as the world, names \
         without regard to case). A resource that was not started since boot is not \
         running, even if a stale etab says so. stop refreshes the rmtab backup, runs \
         exportfs -u for each directory, releases the locks (unlock_on_stop), optionally \
         waits for the NFSv4 lease time, and flushes the kernel's export cache until it no \
         longer holds the export, all within the stop timeout.\n\n\
         Exit codes: 6 for a configuration that is wrong everywhere (two clients in \
         clientspec, a comma in fsid, several directories with a non-integer fsid); 5 when \
         exportfs is not installed or a directory to export does not exist on this node \
         (start, validate-all); stop of an export that does not exist is 0, a probe 7.",
    )
    .params(&[
        CLIENTSPEC,
        OPTIONS,
        DIRECTORY,
        FSID,
        UNLOCK_ON_STOP,
        WAIT_FOR_LEASETIME_ON_STOP,
        RMTAB_BACKUP,
    ])
    .actions(&[
        Action::start(40),
        Action::stop(120),
        Action::monitor(20, 10),
        Action::meta_data(5),
        Action::validate_all(30),
    ])
    .examples(&[
        "pcs resource create nfs-export ocf:ocfrs:exportfs clientspec=192.0.2.0/24 directory=/srv/nfs/export options=rw,sync,no_root_squash fsid=1 --group nfs",
        "crm configure primitive nfs-export ocf:ocfrs:exportfs params clientspec='[2001:db8::]/64' directory='\"/srv/nfs/my share\"' fsid=2 op monitor interval=10s",
    ]);
