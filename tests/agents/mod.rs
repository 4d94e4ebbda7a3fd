//! One module per agent, against real parts.
pub(crate) mod apache;
mod filesystem;
mod ipaddr;
mod mysql;
mod sshd;
mod virtualdomain;
pub(crate) mod vserver; // the cluster scenario reuses its guest layout and stand-in
