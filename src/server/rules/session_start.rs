//! Starting a session once a sign-in is accepted, and ending the caller's own session: the
//! two steps every sign-in and sign-out endpoint shares, in one place.

use axum_login::AuthnBackend;

use crate::server::{
    backend::AuthSession,
    error::StoreError,
    gate::SessionGate,
    sessions::{ClientInfo, Ending, SessionMeta, META_KEY},
    store::{id_hash, refusal_of, SqlSessionStore, CYCLED_FROM_KEY},
    users::User,
};
use crate::{
    cookies::remember_cookie_expiry, event::EndReason, limits::SessionClass,
    session_limit::StoreRefusal, SessionKind,
};

/// What starting a session did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStart {
    /// The session is stored; the response carries its new cookie.
    Started,
    /// `max_sessions_per_user` with `deny_new` refused it (audited); nobody is signed in.
    LimitReached,
    /// The account's password changed or it was disabled after the password was checked
    /// (audited `login_failed`); nobody is signed in. Answer as a failed sign-in.
    AccountChanged,
}

/// Why a session could not be started or ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The session could not be written or read.
    #[error("the session could not be saved: {0}")]
    Session(#[from] tower_sessions::session::Error),
    /// axum-login could not record the sign-in or sign-out (its message).
    #[error("the sign-in could not be recorded: {0}")]
    Login(String),
}

impl<B: AuthnBackend> From<axum_login::Error<B>> for SessionError {
    fn from(err: axum_login::Error<B>) -> Self {
        Self::Login(err.to_string())
    }
}

/// Signs `user` in on `auth` after an accepted sign-in (see
/// [`crate::server::Admission::sign_in`]): ends a session the request already had (one sign-in, one
/// session), always issues a new id (no fixation), makes the cookie persistent for "Remember
/// me" (as long as that session's absolute limit), and stores the session, which applies the
/// per-user session limit and audits `login` in one transaction.
///
/// # Errors
/// [`SessionError`]: nobody is signed in and the caller answers 503.
pub async fn start_session(
    auth: &mut AuthSession,
    gate: &SessionGate,
    user: &User,
    remember: bool,
    client: &ClientInfo,
) -> Result<SessionStart, SessionError> {
    start_session_as(auth, gate, user, user, remember, client).await
}

/// [`start_session`] for an application's own axum-login backend `B`: `login_as` is the
/// application's user (what axum-login remembers in the session), `user` the engine's account
/// for it (see [`crate::server::adopt`]).
///
/// # Errors
/// As [`start_session`].
pub async fn start_session_as<B: AuthnBackend>(
    auth: &mut axum_login::AuthSession<B>,
    gate: &SessionGate,
    user: &User,
    login_as: &B::User,
    remember: bool,
    client: &ClientInfo,
) -> Result<SessionStart, SessionError> {
    let now = gate.clock().now();
    if auth.user.is_some() {
        if let Some(old) = auth.session.id() {
            gate.end_session(
                &id_hash(&old),
                Ending {
                    reason: EndReason::Logout,
                    at: now,
                    actor_id: None,
                    detail: Some("replaced by a new sign-in".into()),
                    client: client.clone(),
                },
            )
            .await?;
        }
    }
    if remember {
        // As long as this session's own absolute limit (an administrator's is theirs).
        let class = SessionClass {
            kind: SessionKind::Browser,
            remember: true,
            admin: user.is_admin,
        };
        let until = remember_cookie_expiry(now, gate.limits().for_session(class).absolute);
        auth.session
            .set_expiry(Some(tower_sessions::Expiry::AtDateTime(until)));
    }
    // axum-login cycles the id only for anonymous sessions; every sign-in gets a new one.
    auth.session.cycle_id().await?;
    let meta = SessionMeta {
        user_id: user.id,
        username: user.username.clone(),
        kind: SessionKind::Browser,
        remember,
        created_at: now,
        client: client.clone(),
        credential_epoch: user.credential_epoch,
        device: Some(crate::server::devices::device_key(
            client.user_agent.as_deref(),
        )),
    };
    auth.session.insert(META_KEY, &meta).await?;
    auth.login(login_as).await?;
    if let Err(err) = auth.session.save().await {
        auth.session.clear().await;
        return match refusal_of(&err) {
            Some(StoreRefusal::SessionLimit) => Ok(SessionStart::LimitReached),
            Some(StoreRefusal::AccountChanged) => Ok(SessionStart::AccountChanged),
            None => Err(err.into()),
        };
    }
    Ok(SessionStart::Started)
}

/// Gives the request's signed-in session a new id for a credential change (TRAPS: "id not
/// cycled"), keeping everything else: the same row, device, sign-in time and limits. The old
/// id is refused at once, here and (through the change log) on every instance; the response
/// carries the new cookie. Does nothing for a request without a session. Call it before the
/// change is stored: when it fails, the session keeps its id and nothing has changed yet.
///
/// # Errors
/// [`SessionError`] when the new id could not be stored, or the session ended meanwhile (it is
/// not brought back); the caller answers 503 or sends the person to sign in.
pub async fn cycle_session_id(
    auth: &mut AuthSession,
    store: &SqlSessionStore,
    gate: &SessionGate,
) -> Result<(), SessionError> {
    let Some(old) = auth.session.id() else {
        return Ok(());
    };
    let old_hash = id_hash(&old);
    store.prepare_cycle(&old_hash)?;
    // However this ends (the request may be dropped at any await), the mark goes.
    let _prepared = PreparedCycle {
        store,
        id_hash: &old_hash,
    };
    auth.session.insert(CYCLED_FROM_KEY, &old_hash).await?;
    let cycled = async {
        auth.session.cycle_id().await?;
        auth.session.save().await
    }
    .await;
    // Whatever happened, the gate serves the old id from the database again (the store's
    // own copy went with its `delete`).
    gate.forget(&old_hash);
    if let Err(err) = cycled {
        auth.session.clear().await;
        return Err(err.into());
    }
    Ok(())
}

/// Forgets a prepared id cycle when dropped (see [`SqlSessionStore::prepare_cycle`]): the
/// store's `create` has used it by then, or it never will.
struct PreparedCycle<'a> {
    store: &'a SqlSessionStore,
    id_hash: &'a str,
}

impl Drop for PreparedCycle<'_> {
    fn drop(&mut self) {
        self.store.take_prepared_cycle(self.id_hash);
    }
}

/// Ends the request's own session (audited `logout`, final) and signs `auth` out. Returns
/// whether somebody was signed in. When the end cannot be recorded the error comes back and
/// the session stays as it was: nothing claims a sign-out that did not happen.
///
/// # Errors
/// [`SessionError`]: the caller answers 503 and keeps the cookie.
pub async fn sign_out<B: AuthnBackend>(
    auth: &mut axum_login::AuthSession<B>,
    gate: &SessionGate,
    client: &ClientInfo,
) -> Result<bool, SessionError> {
    let signed_in = auth.user.is_some();
    if let (true, Some(id)) = (signed_in, auth.session.id()) {
        gate.end_session(
            &id_hash(&id),
            Ending {
                reason: EndReason::Logout,
                at: gate.clock().now(),
                actor_id: None,
                detail: None,
                client: client.clone(),
            },
        )
        .await?;
    }
    auth.logout().await?;
    Ok(signed_in)
}
