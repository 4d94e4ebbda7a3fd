//! One module per agent, against real parts.

mod ipaddr;
