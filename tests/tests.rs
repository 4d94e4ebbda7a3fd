//! The integration suite: one test binary (one link step), one module per area.
//!
//! * `sdk/`: the foundation seen from outside: meta-data against every schema, install
//!   layout, Debian's shell ocf-tester and Pacemaker's crm_resource on the example agent,
//!   malformed input for every parameter;
//! * `agents/`: one file per agent, against real parts;
//! * `cluster/`: a real multi-node Pacemaker cluster in namespaces and the scenarios run on it.
//!
//! The tester's own suite is `tests/tester/` (test target `tester` of the ocf-tester package,
//! so that Cargo builds and names its binary).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed setup should fail loudly

mod agents;
mod cluster;
mod common;
mod nfs;
mod sdk;
