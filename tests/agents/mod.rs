//! One module per agent, against real parts.
mod apache;
mod filesystem;
mod ipaddr;
mod sshd;
