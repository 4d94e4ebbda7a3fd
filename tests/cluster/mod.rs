//! Scenario tests on a real multi-node Pacemaker + Corosync cluster ([`harness`]).
//!
//! One file per scenario; each test brings up its own cluster (cases inside a test share it
//! and [`harness::Cluster::reset`] between them), and a process-wide lock runs the cluster
//! tests one at a time. Each test's documentation says whether it relies on
//! `stonith-enabled=false` or runs with the harness's fence device (`fence_ocfc`).
pub mod harness;

mod demo;
mod failover_domains;
mod faults;
mod fencing;
mod floating_ip;
mod follow_crashed_node;
mod group;
mod lamp;
mod monitor_faults;
mod mysql_replication;
mod recovery;
mod sampler;
mod scale;
mod soak;
mod ssh_group;
mod switch_provider;
mod vms;
mod web;
mod writer;

// Seed policies (issue 20): ServiceGuard, MSCS, rgmanager import.
mod mscs;
mod policy_common;
mod rgmanager_import;
mod rgmanager_restarts;
mod serviceguard;
mod subnets;
mod vserver;
