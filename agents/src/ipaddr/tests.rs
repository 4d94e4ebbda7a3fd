//! Unit tests of the parsing and discovery logic (no host access). The real-parts tests
//! (namespaces, veth, packet capture) are in tests/agents/ipaddr.rs.

use super::*;
use ocf::net::{LinkKind, OperState};
use ocf::testing::{check_declaration, Run};

#[test]
fn declarations_are_sound() {
    check_declaration(&meta::IPADDR2);
    check_declaration(&meta::IPADDR);
}
