//! What the rest stands on: the clock, storage errors, password hashing, secrets' hashes and
//! telemetry.

pub mod clock;
pub mod error;
pub mod password;
pub mod secret;
pub mod telemetry;
