//! What the agent knows about each filesystem type: one table instead of a list per question.

/// The properties of one filesystem type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsType {
    /// The type name as `-t` and mountinfo give it.
    pub name: &'static str,
    /// Lives on a block device (a device node to check, read at depth 10, flush, release).
    pub block: bool,
    /// A network filesystem: mounted through its helper, `MNT_FORCE` when killing, lazily
    /// detached when even that blocks.
    pub network: bool,
    /// A block filesystem made to be mounted by several nodes (and several times on one).
    pub cluster: bool,
    /// May run as a clone (network, cluster or virtual).
    pub clone_safe: bool,
    /// `run_fsck=auto` checks it (types with a journal or no fsck of their own do not).
    pub fsck: bool,
    /// Journaled local filesystems: a read-only mount as a clone is still refused (a
    /// read-only mount replays the journal).
    pub journaled: bool,
    /// mount(8) must mount it (a helper or a daemon does the work).
    pub helper: bool,
    /// The kernel filesystem that must be in `/proc/filesystems` (or loaded) for it; empty
    /// for a type the table does not list (then the type's own name, see [`kernel_fs`]).
    pub kernel: &'static str,
}

const fn t(name: &'static str) -> FsType {
    FsType {
        name,
        block: true,
        network: false,
        cluster: false,
        clone_safe: false,
        fsck: true,
        journaled: false,
        helper: false,
        kernel: name,
    }
}

/// Local journaled block filesystems (no fsck at start unless forced).
const fn journaled(name: &'static str) -> FsType {
    FsType {
        fsck: false,
        journaled: true,
        ..t(name)
    }
}

/// Network filesystems, mounted through mount(8) and its helper.
const fn network(name: &'static str, kernel: &'static str) -> FsType {
    FsType {
        block: false,
        network: true,
        clone_safe: true,
        fsck: false,
        helper: true,
        kernel,
        ..t(name)
    }
}

/// Filesystems without a block device that the kernel mounts itself.
const fn virt(name: &'static str) -> FsType {
    FsType {
        block: false,
        clone_safe: true,
        fsck: false,
        ..t(name)
    }
}

/// Every type the agent treats specially; any other is a local block filesystem that `auto`
/// checks with fsck ([`fs_type`]).
pub const TYPES: &[FsType] = &[
    journaled("ext4"),
    journaled("ext4dev"),
    journaled("ext3"),
    journaled("reiserfs"),
    journaled("reiser4"),
    journaled("xfs"),
    journaled("jfs"),
    FsType {
        fsck: false,
        ..t("nss")
    },
    FsType {
        fsck: false,
        ..t("vfat")
    },
    FsType {
        fsck: false,
        ..t("fat")
    },
    FsType {
        cluster: true,
        clone_safe: true,
        fsck: false,
        ..t("gfs2")
    },
    FsType {
        cluster: true,
        clone_safe: true,
        fsck: false,
        ..t("ocfs2")
    },
    network("nfs", "nfs"),
    network("nfs4", "nfs4"),
    network("aznfs", "nfs4"),
    network("efs", "nfs4"),
    network("cifs", "cifs"),
    network("smbfs", "smbfs"),
    network("glusterfs", "fuse"),
    network("ceph", "ceph"),
    virt("tmpfs"),
    virt("overlay"),
    virt("overlayfs"),
    FsType {
        helper: true,
        ..virt("none")
    },
    FsType {
        helper: true,
        ..virt("lustre")
    },
    FsType {
        helper: true,
        ..virt("cvfs")
    },
    FsType {
        helper: true,
        clone_safe: false,
        kernel: "fuse",
        ..virt("rozofs")
    },
    FsType {
        helper: true,
        clone_safe: false,
        ..virt("zfs")
    },
];

/// The properties of `name`: from [`TYPES`]; `fuse` and `fuse.*` are FUSE filesystems
/// (no block device, mounted through mount(8), forced and lazily detached when hung); any
/// other name, the empty one included, a local block filesystem.
pub fn fs_type(name: &str) -> FsType {
    if let Some(t) = TYPES.iter().find(|t| t.name == name) {
        return *t;
    }
    if name == "fuse" || name.starts_with("fuse.") {
        return FsType {
            block: false,
            fsck: false,
            helper: true,
            kernel: "fuse",
            ..t("fuse")
        };
    }
    FsType {
        name: "",
        kernel: "",
        ..t("")
    }
}

/// The kernel filesystem `name` needs (`fuse` for `fuse.sshfs`, `nfs4` for `efs`, ...).
pub fn kernel_fs(name: &str) -> &str {
    match fs_type(name).kernel {
        "" => name,
        k => k,
    }
}

/// Whether the type is FUSE (`fuse`, `fuse.*`, or a FUSE-based type such as glusterfs).
pub fn is_fuse(name: &str) -> bool {
    kernel_fs(name) == "fuse"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table says what the shell agent's lists said (kept here as the reference).
    #[test]
    fn table_matches_the_shell_agent_lists() {
        // As the shell agent wrote them: space-separated lists.
        let words = |s: &'static str| s.split_whitespace().collect::<Vec<_>>();
        let non_block = words(
            "nfs4 nfs aznfs efs smbfs cifs none glusterfs ceph tmpfs overlay overlayfs rozofs zfs \
             cvfs lustre",
        );
        let clone_safe = words(
            "nfs4 nfs aznfs efs smbfs cifs none gfs2 glusterfs ceph ocfs2 overlay overlayfs tmpfs \
             cvfs lustre",
        );
        let no_fsck = words(
            "ext4 ext4dev ext3 reiserfs reiser4 nss xfs jfs vfat fat nfs4 nfs aznfs efs cifs \
             smbfs ocfs2 gfs2 none lustre glusterfs ceph tmpfs overlay overlayfs rozofs zfs cvfs",
        );
        let network = words("nfs nfs4 aznfs efs cifs smbfs glusterfs ceph");
        let mut names: Vec<&str> = TYPES.iter().map(|t| t.name).collect();
        names.extend(["ext2", "btrfs", "fuse.sshfs"]);
        for n in names {
            let t = fs_type(n);
            let fuse = n.starts_with("fuse");
            assert_eq!(t.block, !non_block.contains(&n) && !fuse, "{n}");
            assert_eq!(t.clone_safe, clone_safe.contains(&n), "{n}");
            assert_eq!(t.fsck, !no_fsck.contains(&n) && !fuse, "{n}");
            assert_eq!(t.network, network.contains(&n), "{n}");
            assert_eq!(t.cluster, ["gfs2", "ocfs2"].contains(&n), "{n}");
        }
        assert!(is_fuse("fuse.bindfs") && is_fuse("glusterfs") && !is_fuse("ext4"));
        assert_eq!(fs_type("efs").kernel, "nfs4");
        assert_eq!(kernel_fs("ext2"), "ext2");
        assert_eq!(kernel_fs("fuse.sshfs"), "fuse");
    }
}
