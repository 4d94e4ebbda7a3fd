//! The integration suite: one test binary (one link step), modules per area.
mod common;
mod sdk;
