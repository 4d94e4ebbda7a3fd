//! The multicall binary: `argv[0]`'s file name selects the agent (see the crate docs).
fn main() -> std::process::ExitCode {
    ocf::multicall(ocfrs_agents::AGENTS)
}
