//! What stop unmounts, and in which order.

use super::config::Config;
use super::types::fs_type;
use ocf::mount::{Mount, MountTable};
use std::path::Path;

/// What stop unmounts, top-most first: mounts below the mount point, other mounts of the same
/// block device (unless this is a bind resource or a cluster filesystem), and the stack at the
/// mount point down to ours.
pub fn unmount_targets(cfg: &Config, table: &MountTable, mp: &Path, ours: &Mount) -> Vec<Mount> {
    let stack = table.at(mp);
    let pos = stack.iter().position(|m| m.id == ours.id).unwrap_or(0);
    let mut ids: Vec<u32> = stack[pos..].iter().map(|m| m.id).collect();
    ids.extend(table.below(mp).iter().map(|m| m.id));
    // A cluster filesystem may be mounted here by several resources on purpose.
    if cfg.is_block() && !fs_type(&cfg.fstype).cluster {
        ids.extend(table.of_device(ours.dev()).iter().map(|m| m.id));
    }
    table
        .mounts
        .iter()
        .rev()
        .filter(|m| ids.contains(&m.id))
        .cloned()
        .collect()
}
