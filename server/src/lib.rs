//! The auto-logout server: configuration, command line, router assembly and start-up.
//! `main.rs` only parses the command line and calls into here.

pub mod cli;
pub mod config;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod web;
