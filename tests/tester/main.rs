//! Integration tests of `ocf-tester` against real agents and Debian's reference tools.
//!
//! * `compat`: the legacy profile's verdicts equal `/usr/sbin/ocf-tester`'s step for step on
//!   Debian's shell agents (Dummy, Stateful, IPaddr2 in a network namespace, Filesystem on a
//!   loop device) and on the broken fixtures; our own Dummy passes every profile;
//! * `broken`: each deliberately broken fixture (tests/tester/fixtures/agent.sh) is caught
//!   with a clear message, hangs included;
//! * `ocft_files`: Debian's ocft configs run with our tester give the results `ocft` gives;
//! * `corpus`: Debian's agents (Dummy, Stateful, IPaddr2, Filesystem, apache on apache2,
//!   mysql on MariaDB) get the default profile's expected verdicts; warnings and --strict;
//! * `output`: the JSON and JUnit reports validate against their schemas;
//! * `via_pacemaker`: --via-pacemaker on Debian's Dummy and ours.
//!
//! Root-only tests are marked `#[cfg_attr(not(feature = "root-tests"), ignore = ...)]`;
//! `tests/run.sh test` enables the feature.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod broken;
mod common;
mod compat;
mod corpus;
mod ocft_files;
mod output;
mod params_file;
mod via_pacemaker;
