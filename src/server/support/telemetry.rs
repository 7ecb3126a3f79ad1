//! What the engine counts, through the `metrics` facade (the server exports it as Prometheus
//! text at `/metrics`; without a recorder installed, counting costs nothing). Names and labels
//! are defined here once.

use crate::server::{error::StoreError, sessions::Sessions};
use crate::{event::EndReason, SessionKind};
use sha2::{Digest, Sha256};
use std::{
    fmt,
    net::IpAddr,
    sync::Arc,
    time::{Duration, Instant},
};

/// Sign-in attempts by outcome: `success` (a session was stored), `failed`, `throttled`,
/// `busy` (no password-hashing slot).
pub const SIGN_INS: &str = "auto_logout_sign_ins_total";
/// Sessions ended, by `reason` (`logout`, `idle_timeout`, `absolute_timeout`, `revoked`,
/// `suspended`, `session_limit`).
pub const SESSION_ENDS: &str = "auto_logout_session_ends_total";
/// Live sessions by `kind` (`browser`, `api`), counted when the metrics are read, at most once
/// per [`LiveSessionGauges::DEFAULT_MAX_AGE`] (see [`LiveSessionGauges`]).
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

/// The secret that `/metrics` asks for (`metrics_token`): kept only as its SHA-256 digest,
/// never printed (its `Debug` says `[redacted]`).
#[derive(Clone)]
pub struct MetricsToken {
    digest: [u8; 32],
}

impl MetricsToken {
    /// The token `secret` (surrounding white space ignored); `None` when it is empty, which
    /// means "no token configured".
    pub fn new(secret: &str) -> Option<Self> {
        let secret = secret.trim();
        (!secret.is_empty()).then(|| Self {
            digest: Sha256::digest(secret.as_bytes()).into(),
        })
    }

    /// Whether `presented` is this token. Both are compared as SHA-256 digests, every byte
    /// looked at whatever the first difference, so the time taken says nothing about the
    /// token.
    pub fn matches(&self, presented: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        presented
            .iter()
            .zip(self.digest.iter())
            .fold(0u8, |differs, (a, b)| differs | (a ^ b))
            == 0
    }
}

impl fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsToken([redacted])")
    }
}

/// Who may read `/metrics` ([`metrics_access`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAccess {
    /// The configured token was presented, or none is configured and the client is on this
    /// machine.
    Allowed,
    /// A token is configured and the request did not present it (`Authorization: Bearer
    /// <token>`): 401 with `WWW-Authenticate: Bearer`.
    Unauthorized,
    /// No token is configured and the client is not on this machine (a loopback address):
    /// refused.
    LoopbackOnly,
}

/// Whether a request may read `/metrics` (SPEC §3 `metrics_token`): with a `token`
/// configured, only a request whose `authorization` header is `Bearer <token>` (scheme in any
/// letter case); without one, only a client whose IP is a loopback address. `client_ip` must
/// be the client as the session layer computes it (the socket peer, or `X-Forwarded-For` only
/// from a trusted proxy), so that a request a local proxy forwards for a distant client does
/// not count as local; `None` (unknown) is not local.
pub fn metrics_access(
    token: Option<&MetricsToken>,
    authorization: Option<&[u8]>,
    client_ip: Option<IpAddr>,
) -> MetricsAccess {
    match token {
        Some(token) => {
            let presented = authorization
                .and_then(|value| std::str::from_utf8(value).ok())
                .and_then(|value| value.trim().split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, presented)| presented.trim());
            if presented.is_some_and(|presented| token.matches(presented)) {
                MetricsAccess::Allowed
            } else {
                MetricsAccess::Unauthorized
            }
        }
        None if client_ip.is_some_and(|ip| ip.to_canonical().is_loopback()) => {
            MetricsAccess::Allowed
        }
        None => MetricsAccess::LoopbackOnly,
    }
}

/// The live-session gauges ([`ACTIVE_SESSIONS`]), counted from the sessions table when the
/// metrics are read, but at most once per `max_age` however often they are read: reads in
/// between show the last count, and reads that arrive while a count runs wait for that one
/// count instead of starting their own. A scrape (or a flood of them) thus costs the database
/// at most one count per `max_age`. Cheap to clone; clones share the last count.
#[derive(Debug, Clone)]
pub struct LiveSessionGauges {
    sessions: Sessions,
    max_age: Duration,
    counted_at: Arc<tokio::sync::Mutex<Option<Instant>>>,
}

impl LiveSessionGauges {
    /// How old a count may be before a read of the metrics counts again.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(15);

    /// Gauges counted from `sessions`, at most once per `max_age`.
    pub fn new(sessions: Sessions, max_age: Duration) -> Self {
        Self {
            sessions,
            max_age,
            counted_at: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }

    /// Sets the gauges from a new count unless the last one (or the last attempt) is younger
    /// than `max_age`. Returns whether it counted now.
    ///
    /// # Errors
    /// The count's [`StoreError`]; the gauges keep their last values, and the next count is
    /// tried only after `max_age` (a failing database is not asked once per read either).
    pub async fn refresh(&self) -> Result<bool, StoreError> {
        let mut counted_at = self.counted_at.lock().await;
        if counted_at.is_some_and(|at| at.elapsed() < self.max_age) {
            return Ok(false);
        }
        *counted_at = Some(Instant::now());
        let counts = self.sessions.count_active_by_kind().await?;
        for kind in [SessionKind::Browser, SessionKind::Api] {
            let n = counts
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or(0, |(_, n)| *n);
            active_sessions(kind, n);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn with_a_token_only_the_token_gets_in() {
        let token = MetricsToken::new("s3cret-metrics-token").unwrap();
        let access = |auth: Option<&str>| {
            metrics_access(Some(&token), auth.map(str::as_bytes), ip("127.0.0.1"))
        };
        assert_eq!(
            access(Some("Bearer s3cret-metrics-token")),
            MetricsAccess::Allowed
        );
        assert_eq!(
            access(Some("bearer  s3cret-metrics-token ")),
            MetricsAccess::Allowed
        );
        for wrong in [
            None,
            Some(""),
            Some("Bearer"),
            Some("Bearer "),
            Some("Bearer s3cret-metrics-toke"),
            Some("Bearer s3cret-metrics-token2"),
            Some("Basic s3cret-metrics-token"),
            Some("Token s3cret-metrics-token"),
            Some("s3cret-metrics-token"),
        ] {
            assert_eq!(access(wrong), MetricsAccess::Unauthorized, "{wrong:?}");
        }
        // Not even a loopback client without it.
        assert_eq!(
            metrics_access(Some(&token), None, ip("::1")),
            MetricsAccess::Unauthorized
        );
    }

    #[test]
    fn without_a_token_only_loopback_clients_get_in() {
        for local in ["127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(
                metrics_access(None, None, ip(local)),
                MetricsAccess::Allowed,
                "{local}"
            );
        }
        for distant in [
            "203.0.113.9",
            "10.0.0.1",
            "::ffff:203.0.113.9",
            "2001:db8::1",
        ] {
            assert_eq!(
                metrics_access(None, Some(b"Bearer x"), ip(distant)),
                MetricsAccess::LoopbackOnly,
                "{distant}"
            );
        }
        assert_eq!(
            metrics_access(None, None, None),
            MetricsAccess::LoopbackOnly
        );
    }

    #[test]
    fn an_empty_token_is_no_token_and_none_is_printed() {
        assert!(MetricsToken::new("").is_none());
        assert!(MetricsToken::new("  ").is_none());
        let token = MetricsToken::new("do-not-print-me").unwrap();
        assert_eq!(format!("{token:?}"), "MetricsToken([redacted])");
        assert!(token.matches("do-not-print-me") && !token.matches("do-not-print-m"));
    }
}
