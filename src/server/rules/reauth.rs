//! Proving one's password again for sensitive actions (SPEC §6, §7 `POST /api/v1/auth/reauth`):
//! the session remembers the moment of the last proof (its sign-in, or a re-authentication),
//! and [`crate::reauth::proof`] says whether a sensitive action may go ahead.
//!
//! A re-authentication is a password check like a sign-in's: the same throttle (a wrong
//! password counts as a failed sign-in of the session's username, audited `login_failed`),
//! the same bounded hashing. A right one renews the moment and is audited `reauthenticated`.

use crate::server::{
    admission::{Admission, SignInDecision},
    audit::NewAuditEntry,
    clock::SharedClock,
    error::StoreError,
    gate::ActiveSession,
    sessions::{ClientInfo, Sessions},
};
use crate::{
    event::AuditEvent,
    reauth::{proof, Proof},
    UnixMillis,
};
use std::time::Duration;

/// What a re-authentication did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reauthentication {
    /// The password was right: sensitive actions are allowed until `until` (`None`: the window
    /// is off).
    Renewed {
        /// When the password will be asked again.
        until: Option<UnixMillis>,
    },
    /// The password was wrong (counted like a failed sign-in); audited `login_failed`.
    Rejected,
    /// Too many failures: refused unchecked; audited `login_throttled`.
    Throttled {
        /// Whole seconds to wait, for `Retry-After`.
        retry_after_secs: u64,
    },
    /// Every password-hashing slot is busy; nothing was checked or counted.
    Busy {
        /// Whole seconds to wait, for `Retry-After`.
        retry_after_secs: u64,
    },
    /// The session ended meanwhile: nothing was renewed.
    Ended,
}

/// Whose password a re-authentication checks: a live session and its person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prover<'a> {
    /// The session's public id (SHA-256 hex of its secret).
    pub id_hash: &'a str,
    /// Its account.
    pub user_id: i64,
    /// The account's username (the throttle counts failures by it).
    pub username: &'a str,
}

impl<'a> From<&'a ActiveSession> for Prover<'a> {
    fn from(session: &'a ActiveSession) -> Self {
        Self {
            id_hash: &session.id_hash,
            user_id: session.user_id,
            username: &session.username,
        }
    }
}

/// The re-authentication window of one engine. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Reauth {
    window: Option<Duration>,
    sessions: Sessions,
    admission: Admission,
    clock: SharedClock,
}

impl Reauth {
    /// The window `window` (zero: off) over these parts.
    pub fn new(
        window: Duration,
        sessions: Sessions,
        admission: Admission,
        clock: SharedClock,
    ) -> Self {
        Self {
            window: Some(window).filter(|w| !w.is_zero()),
            sessions,
            admission,
            clock,
        }
    }

    /// The window (`None`: off).
    pub fn window(&self) -> Option<Duration> {
        self.window
    }

    /// Whether the session `id_hash` may perform a sensitive action now. An ended session is
    /// [`Proof::Required`] (it may do nothing).
    ///
    /// # Errors
    /// Database errors: callers must refuse the action.
    pub async fn check(&self, id_hash: &str) -> Result<Proof, StoreError> {
        if self.window.is_none() {
            return Ok(Proof::NotRequired);
        }
        Ok(match self.sessions.proven_at(id_hash).await? {
            Some(proven_at) => proof(self.window, proven_at, self.clock.now()),
            None => Proof::Required,
        })
    }

    /// Checks `password` for the person of `session` (throttled and bounded like a sign-in)
    /// and, when it is right, renews the session's proof (audit `reauthenticated`).
    ///
    /// # Errors
    /// Database errors: nothing was renewed.
    pub async fn reauthenticate(
        &self,
        session: Prover<'_>,
        password: &str,
        client: &ClientInfo,
    ) -> Result<Reauthentication, StoreError> {
        let decision = self
            .admission
            .sign_in(session.username, password, client)
            .await?;
        let user = match decision {
            SignInDecision::Accepted(user) => user,
            SignInDecision::Rejected => return Ok(Reauthentication::Rejected),
            SignInDecision::Throttled {
                retry_after_secs, ..
            } => return Ok(Reauthentication::Throttled { retry_after_secs }),
            SignInDecision::Busy { retry_after_secs } => {
                return Ok(Reauthentication::Busy { retry_after_secs })
            }
        };
        // The username now names another account (renamed meanwhile): not this person's.
        if user.id != session.user_id {
            return Ok(Reauthentication::Rejected);
        }
        self.renew(session, client).await
    }

    /// Records a proof made at this moment by other means (an application's own password
    /// check): audit `reauthenticated`.
    ///
    /// # Errors
    /// Database errors: nothing was renewed.
    pub async fn renew(
        &self,
        session: Prover<'_>,
        client: &ClientInfo,
    ) -> Result<Reauthentication, StoreError> {
        let now = self.clock.now();
        let entry = NewAuditEntry {
            user_id: Some(session.user_id),
            username: Some(session.username.to_owned()),
            session_hash: Some(session.id_hash.to_owned()),
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            ..NewAuditEntry::new(AuditEvent::Reauthenticated, now)
        };
        if !self
            .sessions
            .record_proof(session.id_hash, now, entry)
            .await?
        {
            return Ok(Reauthentication::Ended);
        }
        Ok(Reauthentication::Renewed {
            until: match proof(self.window, now, now) {
                Proof::Recent { until } => Some(until),
                Proof::Required | Proof::NotRequired => None,
            },
        })
    }
}
