//! The foundation, seen from outside (installed binaries, real validators, real tools).
mod bad_input;
mod concurrency;
mod features;
mod generated;
mod host_faults;
mod install;
mod logging;
mod man;
mod metadata;
mod multicall;
mod package;
mod secrets;
mod shell_tester;
mod switch_check;
mod template;
