//! Who may sign in: the credential check behind every sign-in form and API, with throttling
//! (SPEC §6), bounded password hashing, and the audit of every failure. One function with a
//! typed result; callers only map it to HTTP.

use super::{
    audit::{AuditLog, NewAuditEntry},
    clock::SharedClock,
    error::StoreError,
    login_attempts::LoginAttempts,
    sessions::ClientInfo,
    users::{PasswordCheck, User, Users},
};
use crate::{
    event::AuditEvent,
    throttle::{self, ThrottleDecision, ThrottlePolicy},
    UnixMillis,
};

/// The outcome of one sign-in attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInDecision {
    /// The username and password are right: start a session for this user.
    Accepted(User),
    /// Wrong password or unknown user (never says which); audited `login_failed`.
    Rejected,
    /// Refused unchecked after too many failures; audited `login_throttled`.
    Throttled {
        /// When an attempt will be allowed again.
        until: UnixMillis,
        /// Whole seconds to wait, for `Retry-After`.
        retry_after_secs: u64,
    },
    /// Too many password checks are under way; nothing was checked or counted.
    Busy {
        /// Whole seconds to wait, for `Retry-After`.
        retry_after_secs: u64,
    },
}

/// Checks sign-in attempts. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SignInGuard {
    users: Users,
    attempts: LoginAttempts,
    audit: AuditLog,
    policy: ThrottlePolicy,
    clock: SharedClock,
}

impl SignInGuard {
    /// A guard over these accounts, counting attempts in `attempts` under `policy`.
    pub fn new(
        users: Users,
        attempts: LoginAttempts,
        audit: AuditLog,
        policy: ThrottlePolicy,
        clock: SharedClock,
    ) -> Self {
        Self {
            users,
            attempts,
            audit,
            policy,
            clock,
        }
    }

    /// The throttle policy in force.
    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// Decides one sign-in attempt for `username` with `password` from `client`.
    ///
    /// The throttle is consulted before the password is checked, and a throttled attempt is
    /// refused even with the right password. A success clears the username's failures.
    /// The audit log gets the typed username only when such a user exists.
    ///
    /// # Errors
    /// Database errors (callers answer 503; nothing was decided).
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<SignInDecision, StoreError> {
        let now = self.clock.now();
        let keys = self.attempts.keys(username, client.ip.as_deref());
        let attempt = self.attempts.begin(&keys, now).await?;
        let result = self
            .decide(username, password, client, now, &keys, attempt)
            .await;
        let keep_as_failure = matches!(result, Ok(SignInDecision::Rejected));
        if !keep_as_failure {
            self.attempts.withdraw(attempt).await?;
        }
        result
    }

    async fn decide(
        &self,
        username: &str,
        password: &str,
        client: &ClientInfo,
        now: UnixMillis,
        keys: &super::login_attempts::AttemptKeys,
        attempt: i64,
    ) -> Result<SignInDecision, StoreError> {
        if self.policy.is_enabled() {
            let recent = self
                .attempts
                .recent(
                    keys,
                    self.policy.window_start(now),
                    attempt,
                    self.policy.max_per_user,
                    self.policy.max_per_ip,
                )
                .await?;
            let decision = throttle::decide(&self.policy, &recent.user, &recent.ip, now);
            if let ThrottleDecision::Throttled { scope, until } = decision {
                let retry_after_secs = decision.retry_after_secs(now).unwrap_or(1);
                let known = self.users.find_by_username(username).await?;
                tracing::warn!(
                    scope = scope.as_str(),
                    retry_after_secs,
                    "sign-in throttled"
                );
                self.audit
                    .record(NewAuditEntry {
                        user_id: known.as_ref().map(|u| u.id),
                        username: known.map(|u| u.username),
                        ip: client.ip.clone(),
                        user_agent: client.user_agent.clone(),
                        detail: Some(format!(
                            "too many failed sign-ins for this {}; next attempt allowed in {retry_after_secs} s",
                            scope.as_str()
                        )),
                        ..NewAuditEntry::new(AuditEvent::LoginThrottled, now)
                    })
                    .await?;
                return Ok(SignInDecision::Throttled {
                    until,
                    retry_after_secs,
                });
            }
        }
        let check = match self.users.check(username, password).await {
            Ok(check) => check,
            Err(StoreError::Busy { retry_after_secs }) => {
                return Ok(SignInDecision::Busy { retry_after_secs })
            }
            Err(other) => return Err(other),
        };
        match check {
            PasswordCheck::Correct(user) => {
                self.attempts.clear_user(keys).await?;
                Ok(SignInDecision::Accepted(user))
            }
            PasswordCheck::Wrong(user) => {
                self.record_failure(Some(&user), client, now).await?;
                Ok(SignInDecision::Rejected)
            }
            PasswordCheck::NoSuchUser => {
                self.record_failure(None, client, now).await?;
                Ok(SignInDecision::Rejected)
            }
        }
    }

    async fn record_failure(
        &self,
        user: Option<&User>,
        client: &ClientInfo,
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        self.audit
            .record(NewAuditEntry {
                user_id: user.map(|u| u.id),
                username: user.map(|u| u.username.clone()),
                ip: client.ip.clone(),
                user_agent: client.user_agent.clone(),
                ..NewAuditEntry::new(AuditEvent::LoginFailed, now)
            })
            .await
    }

    /// Deletes attempts that no longer count in any window; returns how many.
    pub async fn prune(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        self.attempts.prune(self.policy.window_start(now)).await
    }
}
