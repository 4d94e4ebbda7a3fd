//! The IPaddr agent alone: one binary per agent keeps every agent's start-up at its own size
//! (bench/README.md, "Start-up cost against the floor"); `ocfrs-agents` is the multicall tool.
fn main() -> std::process::ExitCode {
    ocf::run::<ocfrs_agents::ipaddr::legacy::IPaddr>()
}
