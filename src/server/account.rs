//! A signed-in person changing their own password (SPEC §4 `/account/password`): the current
//! password is asked again (through the same throttled check as a sign-in), the new one must be
//! typed twice, and every other session of the account ends. This session stays signed in.

use super::{
    admin::{Actor, Admin},
    admission::{SignInDecision, SignInGuard},
    backend::AuthSession,
    error::StoreError,
    gate::SessionGate,
    session_start::SessionError,
    sessions::ClientInfo,
};

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
    /// The two new passwords differ.
    Mismatch,
    /// The new password is not acceptable (the reason says why).
    Unacceptable(&'static str),
}

/// The typed passwords of a change.
#[derive(Debug, Clone, Copy)]
pub struct PasswordForm<'a> {
    /// The current password.
    pub current: &'a str,
    /// The new password.
    pub new: &'a str,
    /// The new password again.
    pub confirm: &'a str,
}

/// Changes the signed-in user's password; see the module documentation. Audited
/// `password_changed` (and `revoked` for each other session).
///
/// # Errors
/// [`SessionError`] when storage fails (nothing is reported as changed then).
pub async fn change_own_password(
    auth: &mut AuthSession,
    guard: &SignInGuard,
    admin: &Admin,
    gate: &SessionGate,
    current_session: &str,
    form: PasswordForm<'_>,
    client: &ClientInfo,
) -> Result<PasswordChange, SessionError> {
    let Some(user) = auth.user.clone() else {
        return Ok(PasswordChange::WrongPassword);
    };
    if form.new != form.confirm {
        return Ok(PasswordChange::Mismatch);
    }
    match guard.sign_in(&user.username, form.current, client).await? {
        SignInDecision::Accepted(_) => {}
        SignInDecision::Rejected => return Ok(PasswordChange::WrongPassword),
        SignInDecision::Throttled {
            retry_after_secs, ..
        } => return Ok(PasswordChange::Throttled { retry_after_secs }),
        SignInDecision::Busy { retry_after_secs } => {
            return Ok(PasswordChange::Busy { retry_after_secs })
        }
    }
    let actor = Actor {
        id: Some(user.id),
        client: client.clone(),
    };
    let changed = match admin.set_password(&actor, &user.username, form.new).await {
        Ok(changed) => changed,
        Err(StoreError::InvalidPassword(why)) => return Ok(PasswordChange::Unacceptable(why)),
        Err(err) => return Err(err.into()),
    };
    let others_ended = gate
        .password_changed_except(user.id, current_session, client)
        .await?;
    // This session now carries the new password's auth hash, so it stays signed in.
    auth.login(&changed).await?;
    Ok(PasswordChange::Changed { others_ended })
}
