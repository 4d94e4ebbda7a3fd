//! The foundation, seen from outside (installed binaries, real validators, real tools).
mod bad_input;
mod features;
mod generated;
mod hung;
mod install;
mod journal;
mod logging;
mod man;
mod metadata;
mod multicall;
mod package;
mod readme_quickstart;
mod shell_tester;
mod switch_check;
mod template;
