//! The Rust floor of the benchmark: a program that does nothing, built by the same `cargo build
//! --release` (same profile, same `.cargo/config.toml` flags) as the agents, so the cost of
//! its exec is what any Rust binary of this build pays before running a line of its own.
//! The benchmark reports each agent's probe and monitor CPU as a multiple of it.
fn main() {}
