//! What the engine counts, through the `metrics` facade (the server exports it as Prometheus
//! text at `/metrics`; without a recorder installed, counting costs nothing). Names and labels
//! are defined here once.

use crate::{event::EndReason, SessionKind};

/// Sign-in attempts by outcome: `success` (a session was stored), `failed`, `throttled`,
/// `busy` (no password-hashing slot).
pub const SIGN_INS: &str = "auto_logout_sign_ins_total";
/// Sessions ended, by `reason` (`logout`, `idle_timeout`, `absolute_timeout`, `revoked`,
/// `suspended`, `session_limit`).
pub const SESSION_ENDS: &str = "auto_logout_session_ends_total";
/// Live sessions by `kind` (`browser`, `api`), set when the metrics are read.
pub const ACTIVE_SESSIONS: &str = "auto_logout_active_sessions";
/// Database statements executed.
pub const DB_QUERIES: &str = "auto_logout_db_queries_total";
/// Request latency in seconds, by `route` (the matched route template) and `method`.
pub const REQUEST_DURATION: &str = "auto_logout_http_request_duration_seconds";

/// How a sign-in attempt ended, for [`SIGN_INS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInOutcome {
    /// A session was stored.
    Success,
    /// Wrong credentials (or a disabled account).
    Failed,
    /// Refused by the throttle.
    Throttled,
    /// No password-hashing slot came free.
    Busy,
}

impl SignInOutcome {
    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            SignInOutcome::Success => "success",
            SignInOutcome::Failed => "failed",
            SignInOutcome::Throttled => "throttled",
            SignInOutcome::Busy => "busy",
        }
    }
}

/// Counts one sign-in attempt that ended as `outcome`.
pub fn sign_in(outcome: SignInOutcome) {
    metrics::counter!(SIGN_INS, "outcome" => outcome.as_str()).increment(1);
}

/// Counts `n` sessions ended for `reason` (after the end was committed).
pub fn sessions_ended(reason: EndReason, n: u64) {
    if n > 0 {
        metrics::counter!(SESSION_ENDS, "reason" => reason.as_str()).increment(n);
    }
}

/// Sets the number of live sessions of `kind`.
pub fn active_sessions(kind: SessionKind, n: i64) {
    metrics::gauge!(ACTIVE_SESSIONS, "kind" => kind.as_str()).set(n as f64);
}

/// Counts one database statement.
pub fn db_query() {
    metrics::counter!(DB_QUERIES).increment(1);
}
