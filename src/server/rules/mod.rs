//! The use cases, one path each with a typed result and its audit: who may sign in, starting
//! and ending a session, changing a password, administration, applications' own accounts,
//! devices, re-authentication, and API tokens.

pub mod account;
pub mod account_activity;
pub mod admin;
pub mod admission;
pub mod adopt;
pub mod devices;
pub mod reauth;
pub mod retention;
pub mod session_start;
pub mod signed_in;
pub mod throttle_view;
pub mod tokens;
