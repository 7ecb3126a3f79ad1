//! Signing in and out, changing one's password, and following an application's accounts.

use super::*;

/// The outcome of [`Engine::sign_in`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// Signed in: the session is stored and the response carries its new cookie.
    Started(User),
    /// Wrong username or password, or the account changed while it was checked; audited.
    /// Never says which.
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
    /// The person is at the session limit and new sessions are refused (audited).
    LimitReached,
}

impl Engine {
    /// What keeps the engine's rows for an application's accounts in step (see
    /// [`crate::server::adopt`]).
    pub fn account_follower(&self) -> AccountFollower {
        AccountFollower::new(
            self.0.users.clone(),
            self.0.gate.clone(),
            self.0.audit.clone(),
        )
    }

    /// Brings the engine's row for the application's account `user` up to date at once
    /// (see [`AccountFollower::follow`]): call it when the application changes a password or
    /// disables an account, to end its sessions without waiting for its next request.
    ///
    /// # Errors
    /// Storage errors; nothing ended then.
    pub async fn account_changed<U: Account>(&self, user: &U) -> Result<ExternalSync, StoreError> {
        self.account_follower().follow(user).await
    }

    /// [`Engine::sign_in`] for an application that keeps its own users: `credentials` are
    /// checked by the application's backend (throttled by `username` and the client's address,
    /// bounded like the engine's own password checks, audited), and a session is started for
    /// the account it names.
    ///
    /// # Errors
    /// [`SessionError`] when storage or the application's backend fails: nobody is signed in.
    pub async fn sign_in_with<B>(
        &self,
        auth: &mut axum_login::AuthSession<Adopted<B>>,
        username: String,
        credentials: B::Credentials,
        remember: bool,
        client: &ClientInfo,
    ) -> Result<SignIn, SessionError>
    where
        B: AuthnBackend,
        B::User: Account,
    {
        let backend = auth.backend.inner().clone();
        let mut checked: Option<B::User> = None;
        let found = &mut checked;
        let decision = self
            .0
            .sign_in
            .sign_in_checked(&username, client, |permit| async {
                let user = backend
                    .authenticate(credentials)
                    .await
                    .map_err(|e| StoreError::Application(e.to_string()))?;
                drop(permit);
                Ok(match user {
                    Some(user) => {
                        let local = self.account_changed(&user).await?.user().clone();
                        *found = Some(user);
                        PasswordCheck::Correct(local)
                    }
                    None => match self.0.users.find_by_username(&username).await? {
                        Some(local) if local.is_external() => PasswordCheck::Wrong(local),
                        _ => PasswordCheck::NoSuchUser,
                    },
                })
            })
            .await?;
        let (local, user) = match (self.decided(decision), checked) {
            (ControlFlow::Continue(local), Some(user)) => (local, user),
            (ControlFlow::Continue(_), None) => return Ok(SignIn::Rejected),
            (ControlFlow::Break(refused), _) => return Ok(refused),
        };
        self.start(auth, &local, &user, remember, client).await
    }

    /// The accepted account of `decision` to go on with, or what to answer instead.
    fn decided(&self, decision: SignInDecision) -> ControlFlow<SignIn, User> {
        match decision {
            SignInDecision::Accepted(user) => ControlFlow::Continue(user),
            SignInDecision::Rejected => ControlFlow::Break(SignIn::Rejected),
            SignInDecision::Throttled {
                scope,
                until,
                retry_after_secs,
            } => ControlFlow::Break(SignIn::Throttled {
                scope,
                until,
                retry_after_secs,
            }),
            SignInDecision::Busy { retry_after_secs } => {
                ControlFlow::Break(SignIn::Busy { retry_after_secs })
            }
        }
    }

    /// Starts the session of an accepted sign-in of `local` (axum-login remembers `login_as`).
    async fn start<B: AuthnBackend>(
        &self,
        auth: &mut axum_login::AuthSession<B>,
        local: &User,
        login_as: &B::User,
        remember: bool,
        client: &ClientInfo,
    ) -> Result<SignIn, SessionError> {
        Ok(
            match session_start::start_session_as(
                auth,
                &self.0.gate,
                local,
                login_as,
                remember,
                client,
            )
            .await?
            {
                SessionStart::Started => SignIn::Started(local.clone()),
                SessionStart::LimitReached => SignIn::LimitReached,
                SessionStart::AccountChanged => SignIn::Rejected,
            },
        )
    }

    /// Checks `username` and `password` (throttled, bounded, audited) and, when they are
    /// right, starts a session on `auth` with a fresh id ("Remember me" with `remember`).
    ///
    /// # Errors
    /// [`SessionError`] when storage fails: nobody is signed in, answer 503.
    pub async fn sign_in(
        &self,
        auth: &mut AuthSession,
        username: &str,
        password: &str,
        remember: bool,
        client: &ClientInfo,
    ) -> Result<SignIn, SessionError> {
        let decision = self.0.sign_in.sign_in(username, password, client).await?;
        match self.decided(decision) {
            ControlFlow::Continue(user) => self.start(auth, &user, &user, remember, client).await,
            ControlFlow::Break(refused) => Ok(refused),
        }
    }

    /// Changes the signed-in person's own password, a sensitive action: it checks the current
    /// one (throttled like a sign-in), or, when none is given, that the session proved it
    /// within the re-authentication window; see [`crate::server::account`]. Audited `password_changed` (and `revoked` for
    /// each other session); this session stays signed in under a new id.
    ///
    /// # Errors
    /// [`SessionError`] when storage fails (nothing is reported as changed then).
    pub async fn change_own_password(
        &self,
        auth: &mut AuthSession,
        form: PasswordForm<'_>,
        client: &ClientInfo,
    ) -> Result<PasswordChange, SessionError> {
        let services = AccountServices {
            reauth: &self.0.reauth,
            admin: &self.0.admin,
            gate: &self.0.gate,
            store: &self.0.store,
        };
        account::change_own_password(auth, services, form, client).await
    }

    /// Ends the caller's session (audited `logout`) and signs it out; `Ok(false)` when nobody
    /// was signed in.
    ///
    /// # Errors
    /// [`SessionError`] when the end could not be recorded; the session stays as it was.
    pub async fn sign_out<B: AuthnBackend>(
        &self,
        auth: &mut axum_login::AuthSession<B>,
        client: &ClientInfo,
    ) -> Result<bool, SessionError> {
        session_start::sign_out(auth, &self.0.gate, client).await
    }
}
