//! API clients (SPEC §7): sessions of kind `api`, signed in for an opaque bearer token or for a
//! JWT access token with a rotating refresh token. Both are server sessions like any other:
//! the same limits machinery (with the API limits), user-agent binding, audit, listing and
//! revocation. Only SHA-256 hashes of tokens are stored.

pub mod bearer;
pub mod jwt;
pub mod refresh;
pub mod signing;

pub use bearer::{credential_of, Credential};
pub use jsonwebtoken::jwk::JwkSet;
pub use jwt::{Claims, JwtError, JwtKeys, KeyRotation, RotateError};
pub use refresh::{RefreshTokens, Rotation};
pub use signing::{JwtAlgorithm, KeySet, SigningKey, UnknownAlgorithm};

use crate::server::{
    admission::{Admission, SignInDecision},
    error::StoreError,
    gate::{SessionGate, Verdict},
    secret::hash_secret,
    session_start::SessionError,
    sessions::{ClientInfo, Ending, SessionMeta, META_KEY},
    store::{refusal_of, SqlSessionStore},
    users::User,
};
use crate::{
    cookies::remember_cookie_expiry, dto::SessionStatus, event::EndReason, limits::SessionClass,
    policy::SessionTimes, session_limit::StoreRefusal, SessionKind,
};
use std::collections::HashMap;
use tower_sessions::{
    session::{Id, Record},
    SessionStore,
};

/// What an API client asks for when it signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// An opaque bearer token (the session's secret itself).
    Token,
    /// A JWT access token and a refresh token.
    Jwt,
}

/// The credentials handed to a client that signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issued {
    /// For [`Grant::Token`].
    Token {
        /// The bearer token: 128 random bits; only its SHA-256 is stored.
        token: String,
    },
    /// For [`Grant::Jwt`].
    Jwt {
        /// The signed access token.
        access_token: String,
        /// The single-use refresh token.
        refresh_token: String,
    },
}

/// The outcome of an API sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiSignIn {
    /// A session of kind `api` was started.
    Started {
        /// Its public id.
        session_id: String,
        /// What the client authenticates with from now on.
        issued: Issued,
        /// What is left of it.
        status: SessionStatus,
    },
    /// Wrong username or password (never says which); audited `login_failed`.
    Rejected,
    /// Throttled (429); audited `login_throttled`.
    Throttled {
        /// Whole seconds to wait.
        retry_after_secs: u64,
    },
    /// Too many password checks under way (503).
    Busy {
        /// Whole seconds to wait.
        retry_after_secs: u64,
    },
    /// `max_sessions_per_user` with `deny_new` refused it (audited).
    LimitReached,
}

/// The outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiRefresh {
    /// A new access token and the next refresh token.
    Refreshed {
        /// The session.
        session_id: String,
        /// The new access token.
        access_token: String,
        /// The next refresh token (the one presented is used up).
        refresh_token: String,
        /// What is left of the session.
        status: SessionStatus,
    },
    /// The token was used before: the session has been ended (audit `revoked`, detail
    /// "refresh token reused").
    Reused,
    /// Unknown token, or its session has ended.
    Refused,
}

/// What storing a new API session did.
enum Created {
    /// Stored; the session's secret.
    Stored(String),
    /// The session limit refused it.
    LimitReached,
    /// The account changed since its password was checked.
    AccountChanged,
}

/// API sign-in, refresh and sign-out. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ApiAuth {
    sign_in: Admission,
    store: SqlSessionStore,
    gate: SessionGate,
    refresh: RefreshTokens,
    jwt: JwtKeys,
}

impl ApiAuth {
    /// API sign-in over these parts: `store` must apply the same session limit as the
    /// browser's.
    pub fn new(
        sign_in: Admission,
        store: SqlSessionStore,
        gate: SessionGate,
        refresh: RefreshTokens,
        jwt: JwtKeys,
    ) -> Self {
        Self {
            sign_in,
            store,
            gate,
            refresh,
            jwt,
        }
    }

    /// The JWT keys (the session layer checks access tokens with them).
    pub fn jwt(&self) -> &JwtKeys {
        &self.jwt
    }

    /// Signs in `username` for an API client: the same throttled, bounded password check as
    /// the sign-in page, then a session of kind `api` with the API limits, audited `login`.
    ///
    /// # Errors
    /// [`SessionError`] when storage fails (the caller answers 503; nothing was issued).
    #[tracing::instrument(name = "api.sign_in", skip_all, fields(?grant))]
    pub async fn sign_in(
        &self,
        grant: Grant,
        username: &str,
        password: &str,
        remember: bool,
        client: &ClientInfo,
    ) -> Result<ApiSignIn, SessionError> {
        let user = match self.sign_in.sign_in(username, password, client).await? {
            SignInDecision::Accepted(user) => user,
            SignInDecision::Rejected => return Ok(ApiSignIn::Rejected),
            SignInDecision::Throttled {
                retry_after_secs, ..
            } => return Ok(ApiSignIn::Throttled { retry_after_secs }),
            SignInDecision::Busy { retry_after_secs } => {
                return Ok(ApiSignIn::Busy { retry_after_secs })
            }
        };
        let secret = match self.create_session(&user, remember, client).await? {
            Created::Stored(secret) => secret,
            Created::LimitReached => return Ok(ApiSignIn::LimitReached),
            // The password changed or the account was disabled during this sign-in.
            Created::AccountChanged => return Ok(ApiSignIn::Rejected),
        };
        let session_id = hash_secret(&secret);
        let now = self.gate.clock().now();
        let issued = match grant {
            Grant::Token => Issued::Token { token: secret },
            Grant::Jwt => {
                let jti = jwt::fresh_jti();
                // Signed first: when no key may sign, no refresh token is stored.
                let access_token = self.access_token(user.id, &session_id, &jti).await?;
                Issued::Jwt {
                    refresh_token: self
                        .refresh
                        .issue(&session_id, &hash_secret(&jti), now)
                        .await?,
                    access_token,
                }
            }
        };
        let policy = &self.gate.limits().api;
        let times = SessionTimes::started_at(now);
        Ok(ApiSignIn::Started {
            session_id,
            issued,
            status: policy.status(times, now),
        })
    }

    async fn access_token(
        &self,
        user_id: i64,
        session_id: &str,
        jti: &str,
    ) -> Result<String, SessionError> {
        self.jwt
            .issue(user_id, session_id, jti, self.gate.clock().now())
            .await
            .map_err(|e| SessionError::Store(StoreError::Corrupt(e.to_string())))
    }

    /// Stores a new `api` session for `user` (session limit, the account re-check and `login`
    /// audit in one transaction).
    async fn create_session(
        &self,
        user: &User,
        remember: bool,
        client: &ClientInfo,
    ) -> Result<Created, SessionError> {
        let now = self.gate.clock().now();
        let meta = SessionMeta {
            user_id: user.id,
            username: user.username.clone(),
            kind: SessionKind::Api,
            remember,
            created_at: now,
            client: client.clone(),
            credential_epoch: user.credential_epoch,
            device: Some(crate::server::devices::device_key(
                client.user_agent.as_deref(),
            )),
        };
        let meta = serde_json::to_value(&meta)
            .map_err(|e| SessionError::Store(StoreError::Corrupt(e.to_string())))?;
        let class = SessionClass {
            kind: SessionKind::Api,
            remember,
            admin: user.is_admin,
        };
        let mut record = Record {
            id: Id::default(),
            data: HashMap::from([(META_KEY.to_owned(), meta)]),
            expiry_date: remember_cookie_expiry(
                now,
                self.gate.limits().for_session(class).absolute,
            ),
        };
        match self.store.create(&mut record).await {
            Ok(()) => Ok(Created::Stored(record.id.to_string())),
            Err(err) => {
                let err = tower_sessions::session::Error::Store(err);
                match refusal_of(&err) {
                    Some(StoreRefusal::SessionLimit) => Ok(Created::LimitReached),
                    Some(StoreRefusal::AccountChanged) => Ok(Created::AccountChanged),
                    None => Err(err.into()),
                }
            }
        }
    }

    /// Uses `refresh_token` once for a new access token (a request of the session: activity).
    /// Presented again within `refresh_reuse_grace` of its first use (a client's parallel
    /// requests), it gets the same next refresh token and an access token with the same `jti`;
    /// presented again later, it ends its session.
    ///
    /// # Errors
    /// [`SessionError`] when storage fails.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<ApiRefresh, SessionError> {
        let now = self.gate.clock().now();
        let rotation = self.refresh.rotate(refresh_token, now).await?;
        let (session_id, next, jti) = match rotation {
            Rotation::Unknown | Rotation::Ended => return Ok(ApiRefresh::Refused),
            Rotation::Reused { session_id } => {
                self.gate
                    .end_session(
                        &session_id,
                        Ending {
                            reason: EndReason::Revoked,
                            at: now,
                            actor_id: None,
                            detail: Some("refresh token reused".to_owned()),
                            client: client.clone(),
                        },
                    )
                    .await?;
                return Ok(ApiRefresh::Reused);
            }
            Rotation::Rotated {
                session_id,
                token,
                jti,
                ..
            } => (session_id, token, jti),
        };
        let active = match self
            .gate
            .check(&session_id, crate::server::gate::Activity::Active, client)
            .await?
        {
            Verdict::Active(active) if active.kind == SessionKind::Api => active,
            _ => return Ok(ApiRefresh::Refused),
        };
        Ok(ApiRefresh::Refreshed {
            access_token: self.access_token(active.user_id, &session_id, &jti).await?,
            session_id,
            refresh_token: next,
            status: active.status,
        })
    }

    /// Deletes the refresh tokens of ended sessions (see [`RefreshTokens::prune`]).
    ///
    /// # Errors
    /// Database errors.
    pub async fn prune(&self) -> Result<u64, StoreError> {
        self.refresh.prune().await
    }

    /// Ends the API session `session_id` (audit `logout`).
    ///
    /// # Errors
    /// [`StoreError`]: the session is still live.
    pub async fn sign_out(&self, session_id: &str, client: &ClientInfo) -> Result<(), StoreError> {
        self.gate
            .end_session(
                session_id,
                Ending {
                    reason: EndReason::Logout,
                    at: self.gate.clock().now(),
                    actor_id: None,
                    detail: None,
                    client: client.clone(),
                },
            )
            .await
            .map(|_| ())
    }
}
