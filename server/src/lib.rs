//! The auto-logout server: configuration, command line, router assembly and start-up.
//! `main.rs` only parses the command line and calls into here.

// The views' types nest deeply (the countdown island inside the page); computing their layout
// for the server's test build needs more than the default 128 levels.
#![recursion_limit = "256"]

pub mod cli;
pub mod config;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod web;
