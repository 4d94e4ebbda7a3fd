//! NFS: agents against a real kernel NFS server, in one QEMU guest shared by every case
//! (`guest.rs` explains the fixture and how a family adds its cases).
mod corpus;
mod exportfs;
mod group;
pub mod guest;
mod nfsserver;

/// Every family's cases, in the order the guest runs them.
pub const FAMILIES: &[&[guest::Case]] = &[
    guest::CASES,
    nfsserver::CASES,
    exportfs::CASES,
    corpus::CASES,
    group::CASES,
];
