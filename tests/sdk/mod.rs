//! The foundation, seen from outside (installed binaries, real validators, real tools).
mod bad_input;
mod features;
mod install;
mod metadata;
mod multicall;
mod shell_tester;
