//! The declaration of `Filesystem`: parameters and actions, nothing else. Names and defaults
//! are those of resource-agents 4.12 (plus term_signals/kill_signals/signal_delay from later
//! versions), so existing CIBs keep working.

use ocf::meta::{Action, Agent, Param};

/// What to mount.
pub const DEVICE: Param = Param::string("device")
    .required()
    .short("block device")
    .long(
        "What to mount: a block device path (/dev/sdb1, /dev/disk/by-uuid/...), a filesystem \
         identity (UUID=..., LABEL=..., -U uuid, -L label, --uuid=..., --label=..., also \
         PARTUUID=/PARTLABEL= where udev links exist), an NFS export (server:/path), a CIFS \
         share (//server/share), the source directory of a bind mount, or the source name of \
         a virtual filesystem such as tmpfs. UUID and LABEL are resolved through \
         /dev/disk/by-uuid and /dev/disk/by-label, or by reading the superblocks of the \
         block devices (ext2/3/4, xfs, btrfs) when udev made no links.",
    );

/// Where to mount it.
pub const DIRECTORY: Param = Param::string("directory")
    .required()
    .short("mount point")
    .long(
        "The mount point, an absolute path. Trailing slashes are removed and symbolic links \
         resolved. Created (with its parents) on start when missing. \"/\" is refused.",
    );

/// Filesystem type.
pub const FSTYPE: Param = Param::string("fstype").short("filesystem type").long(
    "The filesystem type (ext4, xfs, nfs, nfs4, cifs, gfs2, ocfs2, tmpfs, ...; \"none\" for a \
         bind mount). Empty lets mount(8) detect it. The resource agent API marks it required; \
         like the shell agent, an empty value is accepted.",
);

/// Mount options.
pub const OPTIONS: Param = Param::string("options").short("options").long(
    "Options given to mount as with -o (comma-separated). For a bind mount, give \"bind\" \
         here and fstype \"none\"; \"bind,ro\" is applied with a read-only remount, as the kernel \
         requires.",
);

/// Where the depth-20 status file lives.
pub const STATUSFILE_PREFIX: Param = Param::string("statusfile_prefix")
    .default(".Filesystem_status/")
    .short("status file prefix")
    .long(
        "Prefix, relative to the mount point, of the status file written and read by the \
         OCF_CHECK_LEVEL=20 monitor: <directory>/<prefix><instance>[_<clone>]_<node>. The \
         default keeps the status files in a separate directory. Empty means the default.",
    );

/// When to run fsck.
pub const RUN_FSCK: Param = Param::select("run_fsck", &["auto", "force", "no"])
    .default("auto")
    .short("run_fsck")
    .long(
        "Whether start runs \"fsck -p\" on a block device before mounting it: \"auto\" only for \
         filesystem types that are neither journaled nor network, cluster or virtual ones \
         (ext2, btrfs or an empty fstype, as in the shell agent), \"force\" always, \"no\" \
         never. An fsck exit code of 4 or more fails the start.",
    );

/// Stop with a short budget.
pub const FAST_STOP: Param = Param::boolean("fast_stop")
    .default("no")
    .short("fast stop")
    .long(
        "When true, stop spends at most 6 seconds per mount on unmounting (terminating and \
         killing users included) instead of the whole stop timeout. Leave it false and give \
         the stop operation a suitable timeout when the filesystem users cannot be controlled.",
    );

/// Allow clones of local filesystems.
pub const FORCE_CLONES: Param = Param::boolean("force_clones")
    .default("false")
    .short("allow running as a clone, regardless of filesystem type")
    .long(
        "Cloning a resource of a filesystem type that is not cluster-aware (ext4, xfs, ...) is \
         refused (exit 6) because mounting one shared device on several nodes corrupts it. \
         Set this to true for setups where each node mounts its own local device (for \
         example under glusterfs). Only if you know what you are doing.",
    );

/// What to do with processes keeping the mount busy.
pub const FORCE_UNMOUNT: Param = Param::string("force_unmount")
    .default("true")
    .short("Kill processes before unmount")
    .long(
        "What stop does when the mount is busy: \"true\" or \"safe\" signal the processes \
         using this very mount (current or root directory, executable, open files or memory \
         maps on it, found in /proc and matched by mount id), first with term_signals, then \
         with kill_signals; \"false\" signals nothing and only retries. Both \"true\" and \
         \"safe\" use the same non-blocking /proc scan and never touch a process that uses the \
         filesystem only through another mount (see the agent's documentation). The \
         modifiers of newer resource-agents may follow, comma-separated (\"safe,nomove\"): \
         xargs, ps and their no- forms change nothing here, move is not implemented (a \
         warning; the unmount happens in place).",
    );

/// Graceful-phase signals.
pub const TERM_SIGNALS: Param = Param::string("term_signals")
    .default("TERM")
    .short("Signals for the graceful termination phase of stop")
    .long(
        "Signals (names such as TERM or SIGTERM, or numbers; whitespace-separated) sent to the \
         processes using the mount during the first half of the stop budget.",
    );

/// Forceful-phase signals.
pub const KILL_SIGNALS: Param = Param::string("kill_signals")
    .default("KILL")
    .short("Signals for the forceful phase of stop")
    .long(
        "Signals (names or numbers, whitespace-separated) sent to the processes still using the \
         mount during the second half of the stop budget.",
    );

/// Pause after signalling.
pub const SIGNAL_DELAY: Param = Param::integer("signal_delay")
    .default("1")
    .range(0, 3600)
    .short("Seconds to wait after signalling before retrying the unmount")
    .long(
        "How many seconds stop waits for signalled processes to exit before it retries the \
         unmount (less when they exit sooner; never past the stop budget).",
    );

/// The declaration.
pub const AGENT: Agent = Agent::new("Filesystem", "1.1")
    .short("Manages filesystem mounts")
    .long(
        "Mounts a filesystem on start and unmounts it on stop, for block devices on shared \
         storage, NFS and CIFS exports, bind mounts and virtual filesystems. Mount state is \
         read from /proc/self/mountinfo, so a depth-0 monitor starts no process.\n\n\
         OCF_CHECK_LEVEL 10 reads the first 4 KiB of the device with O_DIRECT (nothing to do \
         for non-block filesystems). OCF_CHECK_LEVEL 20 writes the instance name to a status \
         file inside the filesystem (O_DIRECT and O_SYNC for block devices, O_SYNC otherwise), \
         then stats and reads it back; the status file must be writable by root, which NFS \
         exports with root_squash prevent.\n\n\
         Stop unmounts the filesystems mounted below the mount point, other mounts of the same \
         block device, then the mount point itself; busy mounts are freed by signalling their \
         users as force_unmount, term_signals, kill_signals and signal_delay say, always within \
         the stop timeout.",
    )
    .params(&[
        DEVICE,
        DIRECTORY,
        FSTYPE,
        OPTIONS,
        STATUSFILE_PREFIX,
        RUN_FSCK,
        FAST_STOP,
        FORCE_CLONES,
        FORCE_UNMOUNT,
        TERM_SIGNALS,
        KILL_SIGNALS,
        SIGNAL_DELAY,
    ])
    .actions(&[
        Action::start(60),
        Action::stop(60),
        Action::monitor(40, 20),
        Action::monitor(40, 60).depth(10),
        Action::monitor(40, 120).depth(20),
        Action::validate_all(5),
        Action::meta_data(5),
    ])
    .examples(&[
        "pcs resource create fs1 ocf:ocfrs:Filesystem device=/dev/disk/by-label/data directory=/srv/data fstype=xfs op monitor interval=20s",
        "crm configure primitive fs1 ocf:ocfrs:Filesystem params device=UUID=0b7c... directory=/srv/data fstype=ext4 op monitor interval=60s OCF_CHECK_LEVEL=20",
    ]);
