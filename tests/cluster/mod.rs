//! Scenario tests on a real multi-node Pacemaker + Corosync cluster ([`harness`]).
//!
//! One file per scenario; each test brings up its own cluster (cases inside a test share it
//! and [`harness::Cluster::reset`] between them), and a process-wide lock runs the cluster
//! tests one at a time. None of them has a fence device: they all rely on
//! `stonith-enabled=false` (see each test's documentation).
pub mod harness;

mod failover_domains;
mod faults;
mod floating_ip;
mod group;
mod monitor_faults;
mod recovery;
mod sampler;
