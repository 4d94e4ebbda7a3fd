//! One module per agent, against real parts.
mod filesystem;
mod ipaddr;
mod sshd;
