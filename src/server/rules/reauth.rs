//! Proving one's password again for sensitive actions (SPEC §6, §7 `POST /api/v1/auth/reauth`):
//! the session remembers the moment of the last proof (its sign-in, or a re-authentication),
//! and [`crate::reauth::proof`] says whether a sensitive action may go ahead.
//!
//! A re-authentication is a password check like a sign-in's: the same throttle (a wrong
//! password counts as a failed sign-in of the session's username, audited `login_failed`),
//! the same bounded hashing. A right one renews the moment and is audited `reauthenticated`.
//!
//! The password of an account the engine adopted from an application (see
//! [`crate::server::adopt`]) is the application's: the engine checks it with the
//! [`AppPasswordCheck`] the application gave ([`crate::server::EngineBuilder::app_password_check`]).
//! Without one, such accounts are never asked again (the engine cannot check their
//! password), and the window applies to the engine's own accounts only.

use crate::server::{
    admission::{Admission, SignInDecision},
    audit::NewAuditEntry,
    clock::SharedClock,
    error::StoreError,
    gate::ActiveSession,
    sessions::{ClientInfo, Sessions},
    users::{PasswordCheck, Users},
};
use crate::{
    event::AuditEvent,
    reauth::{proof, Proof},
    UnixMillis,
};
use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

/// An application's own password check for its accounts: `(id, password)` to whether the
/// password is right, or an error the engine reports as a storage failure. `id` is the
/// application's own id of the account (its `AuthUser::id`, as text): the engine's username of
/// an adopted account may differ from the application's (a name taken twice is told apart).
pub type AppPasswordCheck = Arc<
    dyn Fn(String, String) -> Pin<Box<dyn Future<Output = Result<bool, String>> + Send>>
        + Send
        + Sync,
>;

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
#[derive(Clone)]
pub struct Reauth {
    window: Option<Duration>,
    sessions: Sessions,
    users: Users,
    admission: Admission,
    clock: SharedClock,
    app_check: Option<AppPasswordCheck>,
}

impl std::fmt::Debug for Reauth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reauth")
            .field("window", &self.window)
            .field("app_check", &self.app_check.is_some())
            .finish_non_exhaustive()
    }
}

impl Reauth {
    /// The window `window` (zero: off) over these parts.
    pub fn new(
        window: Duration,
        sessions: Sessions,
        users: Users,
        admission: Admission,
        clock: SharedClock,
    ) -> Self {
        Self {
            window: Some(window).filter(|w| !w.is_zero()),
            sessions,
            users,
            admission,
            clock,
            app_check: None,
        }
    }

    /// This window, checking the passwords of adopted accounts with `check`.
    pub fn with_app_check(mut self, check: AppPasswordCheck) -> Self {
        self.app_check = Some(check);
        self
    }

    /// Whether the account `user_id` is an application's whose password the engine cannot
    /// check (adopted, and no [`AppPasswordCheck`] given).
    async fn uncheckable(&self, user_id: i64) -> Result<bool, StoreError> {
        if self.app_check.is_some() {
            return Ok(false);
        }
        Ok(self
            .users
            .get(user_id)
            .await?
            .is_some_and(|user| user.is_external()))
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
        let Some((user_id, proven_at)) = self.sessions.proven_at(id_hash).await? else {
            return Ok(Proof::Required);
        };
        if self.uncheckable(user_id).await? {
            return Ok(Proof::NotRequired);
        }
        Ok(proof(self.window, proven_at, self.clock.now()))
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
        let local = self.users.get(session.user_id).await?;
        let app_id = match (&self.app_check, &local) {
            (Some(_), Some(local)) if local.is_external() => {
                self.users.external_id_of(local.id).await?
            }
            _ => None,
        };
        let decision = match (&self.app_check, local, app_id) {
            (Some(check), Some(local), Some(app_id)) => {
                let check = check.clone();
                let password = password.to_owned();
                self.admission
                    .sign_in_checked(session.username, client, |permit| async move {
                        let right = check(app_id, password)
                            .await
                            .map_err(StoreError::Application)?;
                        drop(permit);
                        Ok(if right {
                            PasswordCheck::Correct(local)
                        } else {
                            PasswordCheck::Wrong(local)
                        })
                    })
                    .await?
            }
            _ => {
                self.admission
                    .sign_in(session.username, password, client)
                    .await?
            }
        };
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
            ip: client.ip_text(),
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
