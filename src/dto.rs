//! Data exchanged between the server and the browser (and the JSON API).

use serde::{Deserialize, Serialize};

/// What is left of a session, in whole seconds (rounded up; `0` means it has ended).
///
/// The names follow django-auto-logout's `seconds_until_idle_end` / `seconds_until_session_end`.
/// `None` means that limit is disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStatus {
    /// Seconds until the idle limit ends the session unless there is activity.
    pub seconds_until_idle_end: Option<u64>,
    /// Seconds until the absolute limit ends the session, whatever the activity.
    pub seconds_until_session_end: Option<u64>,
    /// Seconds before the first limit at which the warning appears.
    pub warn_before: u64,
}

/// The signed-in person as the pages show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    /// The account's username.
    pub username: String,
    /// Whether the account may use the admin console.
    pub is_admin: bool,
}
