//! NFS: agents against a real kernel NFS server, in one QEMU guest shared by every case
//! (`guest.rs` explains the fixture and how a family adds its cases).
mod bench;
mod corpus;
mod exportfs;
mod filesystem;
mod group;
pub mod guest;
mod nfsserver;

/// Every family's cases, in the order the guest runs them.
pub const FAMILIES: &[&[guest::Case]] = &[
    guest::CASES,
    nfsserver::CASES,
    exportfs::CASES,
    filesystem::CASES,
    corpus::CASES,
    bench::CASES,
    group::CASES,
];
