//! A signed-in person changing their own account (SPEC §4 `/account`, `/account/password`).
//!
//! - The display name and email are checked by [`crate::profile::parse_profile`] and stored;
//!   every instance drops its cached copy of the account (the change log), so the greeting
//!   changes at once.
//! - A password change is the most sensitive action: it always needs the current password,
//!   proved through the same throttled check as a sign-in (and, being right, it renews the
//!   re-authentication window, [`crate::server::reauth`]). It wants the new one typed twice, and ends every other
//!   session of the account. This session stays signed in.

use crate::profile::{parse_profile, Profile, ProfileError};
use crate::server::{
    admin::{run_to_the_end, Actor, Admin},
    backend::AuthSession,
    error::{AccountError, AccountRefusal, StoreError},
    gate::SessionGate,
    password::check_new_password,
    reauth::{Prover, Reauth, Reauthentication},
    session_start::{cycle_session_id, SessionError},
    sessions::ClientInfo,
    store::{id_hash, SqlSessionStore},
    users::Users,
};

/// What saving one's display name and email did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileUpdate {
    /// Stored; this is what the account now says.
    Saved(Profile),
    /// Not stored: the form says why.
    Rejected(ProfileError),
    /// Nobody is signed in on this request (the session ended meanwhile).
    NotSignedIn,
}

/// The typed profile form.
#[derive(Debug, Clone, Copy)]
pub struct ProfileForm<'a> {
    /// The display name as typed.
    pub display_name: &'a str,
    /// The email address as typed.
    pub email: &'a str,
}

/// Checks and stores the signed-in person's display name and email; see the module
/// documentation.
///
/// # Errors
/// [`StoreError`] when storage fails (nothing is reported as saved then).
pub async fn update_own_profile(
    auth: &AuthSession,
    users: &Users,
    form: ProfileForm<'_>,
) -> Result<ProfileUpdate, StoreError> {
    let Some(user) = auth.user.as_ref() else {
        return Ok(ProfileUpdate::NotSignedIn);
    };
    let profile = match parse_profile(form.display_name, form.email) {
        Ok(profile) => profile,
        Err(error) => return Ok(ProfileUpdate::Rejected(error)),
    };
    match users.set_profile(user.id, &profile).await {
        Ok(()) => Ok(ProfileUpdate::Saved(profile)),
        Err(AccountError::Refused(_)) => Ok(ProfileUpdate::NotSignedIn),
        Err(AccountError::Store(err)) => Err(err),
    }
}

/// What a password change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordChange {
    /// Changed; this many other sessions ended.
    Changed {
        /// Other sessions signed out.
        others_ended: usize,
    },
    /// The current password is wrong (counted like a failed sign-in).
    WrongPassword,
    /// Too many failed attempts: wait.
    Throttled {
        /// Whole seconds to wait.
        retry_after_secs: u64,
    },
    /// Every password-hashing slot is busy: try again shortly.
    Busy {
        /// Whole seconds to wait.
        retry_after_secs: u64,
    },
    /// No current password was given: ask for it (a password change always asks, whatever
    /// the re-authentication window).
    ReauthRequired,
    /// The two new passwords differ.
    Mismatch,
    /// The new password is not acceptable (the reason says why).
    Unacceptable(&'static str),
}

/// The typed passwords of a change.
#[derive(Debug, Clone, Copy)]
pub struct PasswordForm<'a> {
    /// The current password (always needed; a right one also renews the session's
    /// re-authentication window).
    pub current: &'a str,
    /// The new password.
    pub new: &'a str,
    /// The new password again.
    pub confirm: &'a str,
}

/// The parts a password change works with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AccountServices<'a> {
    /// Checks the current password (throttled like a sign-in) and the re-authentication
    /// window.
    pub(crate) reauth: &'a Reauth,
    /// Stores the new password and audits it.
    pub admin: &'a Admin,
    /// Ends the other sessions.
    pub gate: &'a SessionGate,
    /// Gives this session its new id.
    pub store: &'a SqlSessionStore,
}

/// Changes the signed-in user's password; see the module documentation. Audited
/// `password_changed` (and `revoked` for each other session). This session stays signed in
/// under a new id (the response carries its cookie); the old id is refused from now on.
///
/// # Errors
/// [`SessionError`] when storage fails (nothing is reported as changed then).
pub(crate) async fn change_own_password(
    auth: &mut AuthSession,
    services: AccountServices<'_>,
    form: PasswordForm<'_>,
    client: &ClientInfo,
) -> Result<PasswordChange, SessionError> {
    let AccountServices {
        reauth,
        admin,
        gate,
        store,
    } = services;
    let (Some(user), Some(_)) = (auth.user.clone(), auth.session.id()) else {
        return Ok(PasswordChange::WrongPassword);
    };
    if form.new != form.confirm {
        return Ok(PasswordChange::Mismatch);
    }
    if let Err(AccountRefusal::InvalidPassword(why)) = check_new_password(form.new) {
        return Ok(PasswordChange::Unacceptable(why));
    }
    let Some(session) = auth.session.id().map(|id| id_hash(&id)) else {
        return Ok(PasswordChange::WrongPassword);
    };
    // Always asked, whatever the window: a session copied within minutes of its sign-in must
    // not be enough to take the account over.
    if form.current.is_empty() {
        return Ok(PasswordChange::ReauthRequired);
    }
    {
        let prover = Prover {
            id_hash: &session,
            user_id: user.id,
            username: &user.username,
        };
        match reauth.reauthenticate(prover, form.current, client).await? {
            Reauthentication::Renewed { .. } => {}
            Reauthentication::Rejected | Reauthentication::Ended => {
                return Ok(PasswordChange::WrongPassword)
            }
            Reauthentication::Throttled { retry_after_secs } => {
                return Ok(PasswordChange::Throttled { retry_after_secs })
            }
            Reauthentication::Busy { retry_after_secs } => {
                return Ok(PasswordChange::Busy { retry_after_secs })
            }
        }
    }
    let actor = Actor {
        id: Some(user.id),
        client: client.clone(),
    };
    // This session first moves to a new id: a copy of the old cookie is worth nothing from
    // here on (and if the request goes no further, the person signs in again).
    cycle_session_id(auth, store, gate).await?;
    let Some(current) = auth.session.id().map(|id| id_hash(&id)) else {
        return Err(SessionError::Store(StoreError::Corrupt(
            "the session has no id after cycling it".into(),
        )));
    };
    // The new password and this session's move to the new credential epoch commit together:
    // from then on every other session of the account is refused, ended below or not.
    let changed = match admin
        .set_password_keeping(&actor, &user.username, form.new, Some(&current))
        .await
    {
        Ok(changed) => changed,
        Err(AccountError::Refused(AccountRefusal::InvalidPassword(why))) => {
            return Ok(PasswordChange::Unacceptable(why))
        }
        // The account went away meanwhile: nothing changed.
        Err(AccountError::Refused(_)) => {
            return Err(StoreError::Vanished(user.username.clone()).into())
        }
        Err(AccountError::Store(err)) => return Err(err.into()),
    };
    let (gate_for_others, user_id, client_for_others) = (gate.clone(), user.id, client.clone());
    let others_ended = run_to_the_end(async move {
        gate_for_others
            .password_changed_except(user_id, &current, &client_for_others)
            .await
    })
    .await?;
    // This session now carries the new password's auth hash, so it stays signed in.
    auth.login(&changed).await?;
    Ok(PasswordChange::Changed { others_ended })
}
