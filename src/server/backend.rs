//! The axum-login backend: credentials in, users out; all password logic lives in [`Users`].

use super::{
    error::StoreError,
    users::{User, Users},
};
use axum_login::{AuthUser, AuthnBackend, UserId};
use std::fmt;

impl AuthUser for User {
    type Id = i64;

    fn id(&self) -> i64 {
        self.id
    }

    /// A keyed hash of the password hash: changing the password invalidates every session
    /// made before, and a leaked session row reveals nothing about the password.
    fn session_auth_hash(&self) -> &[u8] {
        &self.auth_hash
    }
}

/// A username and password as typed on the sign-in form. `Debug` hides the password.
#[derive(Clone, serde::Deserialize)]
pub struct Credentials {
    /// The username.
    pub username: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Authenticates against the users table.
#[derive(Debug, Clone)]
pub struct Backend {
    users: Users,
}

impl Backend {
    /// A backend over `users`.
    pub fn new(users: Users) -> Self {
        Self { users }
    }

    /// The accounts behind this backend.
    pub fn users(&self) -> &Users {
        &self.users
    }
}

/// axum-login's session handle with our backend.
pub type AuthSession = axum_login::AuthSession<Backend>;

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Credentials;
    type Error = StoreError;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<User>, StoreError> {
        self.users.verify(&creds.username, &creds.password).await
    }

    async fn get_user(&self, user_id: &UserId<Self>) -> Result<Option<User>, StoreError> {
        self.users.get_enabled(*user_id).await
    }
}
