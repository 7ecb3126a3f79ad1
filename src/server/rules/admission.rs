//! Who may sign in: the credential check behind every sign-in form and API, with throttling
//! (SPEC §6), bounded password hashing, and the audit of every failure. One function with a
//! typed result; callers only map it to HTTP.

use crate::server::{
    audit::{AuditLog, NewAuditEntry},
    clock::SharedClock,
    error::StoreError,
    login_attempts::{AttemptKeys, LoginAttempts},
    password::HashPermit,
    sessions::ClientInfo,
    throttle_view::{AuditSlot, ThrottleAudit, ThrottleView, ThrottledKey},
    users::{PasswordCheck, User, Users},
};
use crate::{
    event::AuditEvent,
    throttle::{self, ThrottleDecision, ThrottlePolicy, ThrottleScope},
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
        /// Which count is over its limit.
        scope: ThrottleScope,
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

/// Checks sign-in attempts. Cheap to clone; clones share what they remember of the throttle.
#[derive(Debug, Clone)]
pub struct Admission {
    users: Users,
    attempts: LoginAttempts,
    audit: AuditLog,
    policy: ThrottlePolicy,
    clock: SharedClock,
    view: ThrottleView,
    throttle_audit: ThrottleAudit,
}

/// The keys of `keys` the throttle may remember as throttled (no network for IPv4).
fn throttled_keys(keys: &AttemptKeys) -> Vec<ThrottledKey> {
    [
        ThrottleScope::Username,
        ThrottleScope::ClientIp,
        ThrottleScope::ClientNetwork,
    ]
    .into_iter()
    .filter_map(|scope| key_of(keys, scope))
    .collect()
}

/// The key of `keys` that `scope` counts by; `None` for the network of an IPv4 client.
fn key_of(keys: &AttemptKeys, scope: ThrottleScope) -> Option<ThrottledKey> {
    let key = match scope {
        ThrottleScope::Username => keys.user.clone(),
        ThrottleScope::ClientIp => keys.ip.clone(),
        ThrottleScope::ClientNetwork => keys.net.clone()?,
    };
    Some(ThrottledKey { scope, key })
}

impl Admission {
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
            view: ThrottleView::new(policy.window),
            policy,
            clock,
            throttle_audit: ThrottleAudit::default(),
        }
    }

    /// The throttle policy in force.
    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// Decides one sign-in attempt for `username` with `password` from `client`.
    ///
    /// The throttle is consulted before the password is checked, and a throttled attempt is
    /// refused even with the right password. A username, address or network this instance
    /// already found throttled is refused from memory, before it takes a place among the
    /// password checks or touches the database; the audit log gets one `login_throttled` row
    /// per username or address per minute, counting the refusals it stands for. A wrong
    /// password is counted as a failure as soon as it is known (before anything else can
    /// fail), and so is any password for a disabled account, right or wrong (the throttle must
    /// not tell which was right); a success clears the username's failures. The audit log gets
    /// the typed username only when such a user exists.
    ///
    /// # Errors
    /// Database errors (callers answer 503; no session was started).
    #[tracing::instrument(name = "sign_in.check", skip_all)]
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<SignInDecision, StoreError> {
        let users = self.users.clone();
        self.sign_in_checked(username, client, |permit| async move {
            users.check_admitted(permit, username, password).await
        })
        .await
    }

    /// [`Admission::sign_in`] with the credential check done by `check` (an application's
    /// own, see [`crate::server::adopt`]): it runs holding a place among the password checks, only
    /// when the throttle allows the attempt, and says whether the credentials were right for
    /// which of the engine's accounts.
    ///
    /// # Errors
    /// As [`Admission::sign_in`], and `check`'s.
    pub async fn sign_in_checked<F, Fut>(
        &self,
        username: &str,
        client: &ClientInfo,
        check: F,
    ) -> Result<SignInDecision, StoreError>
    where
        F: FnOnce(HashPermit) -> Fut,
        Fut: std::future::Future<Output = Result<PasswordCheck, StoreError>>,
    {
        use crate::server::telemetry::{sign_in, SignInOutcome};
        // The decision, in a block of its own so that every way out of it is counted below.
        let decision: Result<SignInDecision, StoreError> = async {
            let now = self.clock.now();
            let keys = self.attempts.keys(username, client.ip);
            // Known to be throttled: refused from memory, before anything costs.
            if self.policy.is_enabled() {
                if let Some((scope, until)) = self.view.throttled(&throttled_keys(&keys), now) {
                    let throttled = throttled_decision(scope, until, now);
                    self.record_throttled(username, &keys, client, now, &throttled)
                        .await?;
                    return Ok(throttled);
                }
            }
            // A place among the password checks next: when there is none, the answer costs
            // nothing, not even a database write.
            let permit = match self.users.hashing().try_admit() {
                Ok(permit) => permit,
                Err(StoreError::Busy { retry_after_secs }) => {
                    return Ok(SignInDecision::Busy { retry_after_secs })
                }
                Err(other) => return Err(other),
            };
            // Already throttled by recorded failures: refuse without writing an attempt.
            if let Some(throttled) = self.throttle(&keys, None, now).await? {
                self.record_throttled(username, &keys, client, now, &throttled)
                    .await?;
                return Ok(throttled);
            }
            // Record the attempt, then look again: attempts racing this one now see each other.
            let attempt = self.attempts.begin(&keys, now).await?;
            let throttled = match self.throttle(&keys, Some(attempt), now).await {
                Ok(throttled) => throttled,
                Err(err) => {
                    let _ = self.attempts.withdraw(attempt).await;
                    return Err(err);
                }
            };
            if let Some(throttled) = throttled {
                self.attempts.withdraw(attempt).await?;
                self.record_throttled(username, &keys, client, now, &throttled)
                    .await?;
                return Ok(throttled);
            }
            let check = match check(permit).await {
                Ok(check) => check,
                Err(err) => {
                    let _ = self.attempts.withdraw(attempt).await;
                    return match err {
                        StoreError::Busy { retry_after_secs } => {
                            Ok(SignInDecision::Busy { retry_after_secs })
                        }
                        other => Err(other),
                    };
                }
            };
            match check {
                // A disabled account is refused like a wrong password (no hint), and counted like
                // one whether the password was right or not: if only wrong ones counted, the
                // moment the throttle starts would tell a guesser which password was right.
                PasswordCheck::Correct(user) if user.disabled => {
                    self.attempts.mark_failed(attempt).await?;
                    self.audit
                        .record(NewAuditEntry {
                            user_id: Some(user.id),
                            username: Some(user.username.clone()),
                            ip: client.ip_text(),
                            user_agent: client.user_agent.clone(),
                            detail: Some("the account is disabled".to_owned()),
                            ..NewAuditEntry::new(AuditEvent::LoginFailed, now)
                        })
                        .await?;
                    Ok(SignInDecision::Rejected)
                }
                PasswordCheck::Correct(user) => {
                    self.attempts.withdraw(attempt).await?;
                    self.attempts.clear_user(&keys).await?;
                    Ok(SignInDecision::Accepted(user))
                }
                PasswordCheck::Wrong(user) => {
                    self.attempts.mark_failed(attempt).await?;
                    self.record_failure(Some(&user), client, now).await?;
                    Ok(SignInDecision::Rejected)
                }
                PasswordCheck::NoSuchUser => {
                    self.attempts.mark_failed(attempt).await?;
                    self.record_failure(None, client, now).await?;
                    Ok(SignInDecision::Rejected)
                }
            }
        }
        .await;
        match &decision {
            Ok(SignInDecision::Rejected) => sign_in(SignInOutcome::Failed),
            Ok(SignInDecision::Throttled { .. }) => sign_in(SignInOutcome::Throttled),
            Ok(SignInDecision::Busy { .. }) => sign_in(SignInOutcome::Busy),
            // Counted as a success once its session is stored.
            Ok(SignInDecision::Accepted(_)) | Err(_) => {}
        }
        decision
    }

    /// The throttle's answer for an attempt (the recorded one `attempt`, which does not count
    /// against itself, or one not yet recorded): `Some` refusal, or `None` to go on.
    async fn throttle(
        &self,
        keys: &AttemptKeys,
        attempt: Option<i64>,
        now: UnixMillis,
    ) -> Result<Option<SignInDecision>, StoreError> {
        if !self.policy.is_enabled() {
            return Ok(None);
        }
        let recent = self
            .attempts
            .recent(
                keys,
                self.policy.window_start(now),
                attempt.unwrap_or(0),
                self.policy.max_per_user,
                self.policy.max_per_ip,
            )
            .await?;
        let decision =
            throttle::decide_with_network(&self.policy, &recent.user, &recent.ip, &recent.net, now);
        Ok(match decision {
            ThrottleDecision::Allow => None,
            ThrottleDecision::Throttled { scope, until } => {
                // Failures keep a key throttled until `until`: from now on this instance
                // refuses it from memory. A wait of a few seconds only (attempts still being
                // checked) may end sooner, when those attempts succeed: not remembered.
                if let Some(key) =
                    key_of(keys, scope).filter(|_| until > now.plus(throttle::PENDING_WAIT))
                {
                    self.view.remember(&key, until);
                }
                let throttled = throttled_decision(scope, until, now);
                if let SignInDecision::Throttled {
                    retry_after_secs, ..
                } = throttled
                {
                    tracing::warn!(
                        scope = scope.as_str(),
                        retry_after_secs,
                        "sign-in throttled"
                    );
                }
                Some(throttled)
            }
        })
    }

    /// Audits a throttled attempt: the first of its minute for its username or address
    /// writes a `login_throttled` row; the others are counted in memory and added to that row
    /// by [`Admission::flush_throttle_audit`].
    async fn record_throttled(
        &self,
        username: &str,
        keys: &AttemptKeys,
        client: &ClientInfo,
        now: UnixMillis,
        throttled: &SignInDecision,
    ) -> Result<(), StoreError> {
        let SignInDecision::Throttled {
            scope,
            retry_after_secs,
            ..
        } = throttled
        else {
            return Ok(());
        };
        // A scope only ever throttles a key it has (no network count without a network).
        let slot_key = key_of(keys, *scope).map_or_else(String::new, |k| k.cache_key());
        let AuditSlot::Write { key, minute } = self.throttle_audit.refused(&slot_key, now) else {
            return Ok(());
        };
        // If this request is dropped before the row is written, the slot is given back (the
        // next refusal of that key and minute writes it), not left waiting for an id forever.
        let mut slot = SlotGuard {
            audit: &self.throttle_audit,
            key: &key,
            minute,
            row: None,
        };
        let written = async {
            // Only an existing user is named; what was typed otherwise is never stored.
            let known = self.users.find_by_username(username).await?;
            self.audit
                .record_returning_id(NewAuditEntry {
                    user_id: known.as_ref().map(|u| u.id),
                    username: known.map(|u| u.username),
                    ip: client.ip_text(),
                    user_agent: client.user_agent.clone(),
                    detail: Some(format!(
                        "too many recent sign-in attempts for this {}; next attempt allowed in {retry_after_secs} s",
                        scope.as_str()
                    )),
                    ..NewAuditEntry::new(AuditEvent::LoginThrottled, now)
                })
                .await
        }
        .await;
        slot.row = written.as_ref().ok().copied();
        drop(slot);
        written.map(|_| ())
    }

    /// Adds the throttled attempts counted in memory to their audit rows (`repeat_count`);
    /// returns how many were added. Run it every few seconds.
    ///
    /// # Errors
    /// Database errors; the counts not yet written are lost (their rows keep what they had).
    pub async fn flush_throttle_audit(&self) -> Result<u64, StoreError> {
        let mut added = 0;
        for (row, count) in self.throttle_audit.take_counts(self.clock.now()) {
            self.audit.add_repeats(row, count).await?;
            added += count;
        }
        Ok(added)
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
                ip: client.ip_text(),
                user_agent: client.user_agent.clone(),
                ..NewAuditEntry::new(AuditEvent::LoginFailed, now)
            })
            .await
    }

    /// Deletes attempts that no longer count in any window; returns how many.
    ///
    /// # Errors
    /// Database errors.
    pub async fn prune(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        self.attempts.prune(self.policy.window_start(now)).await
    }
}

/// Says what became of an audit slot when dropped: the row written, or none (given back).
struct SlotGuard<'a> {
    audit: &'a ThrottleAudit,
    key: &'a str,
    minute: i64,
    row: Option<i64>,
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        self.audit.written(self.key, self.minute, self.row);
    }
}

/// The refusal of an attempt throttled by `scope` until `until`, seen at `now`.
fn throttled_decision(scope: ThrottleScope, until: UnixMillis, now: UnixMillis) -> SignInDecision {
    let retry_after_secs = ThrottleDecision::Throttled { scope, until }
        .retry_after_secs(now)
        .unwrap_or(1);
    SignInDecision::Throttled {
        scope,
        until,
        retry_after_secs,
    }
}
