//! The storage layer's failures, and the error of account operations (a refusal, or a
//! failure).

pub use crate::accounts::AccountRefusal;

/// What can go wrong in the storage layer: infrastructure failures, never a refusal of what
/// was asked (see [`AccountRefusal`]). Messages say what to check.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is neither `sqlite://` nor `postgres://`.
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the schema migrations failed.
    #[error("could not apply database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// An account went away while it was being changed.
    #[error("the account `{0}` was removed while it was being changed")]
    Vanished(String),
    /// Hashing or checking a password failed inside the hashing library.
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    /// Stored session data could not be read back.
    #[error("stored session data is corrupt: {0}")]
    Corrupt(String),
    /// Too many password checks are running and waiting already; try again shortly.
    #[error("the server is busy checking other sign-ins; try again in {retry_after_secs} s")]
    Busy {
        /// How long the client should wait before trying again.
        retry_after_secs: u64,
    },
    /// The application's own account check (its axum-login backend) failed.
    #[error("the application's account check failed: {0}")]
    Application(String),
    /// A blocking task (password hashing) was cancelled or panicked.
    #[error("background task failed: {0}")]
    Task(String),
}

/// An account operation that did not happen: refused (tell the person), or storage failed
/// (answer 503).
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Refused: the request's fault.
    #[error(transparent)]
    Refused(#[from] AccountRefusal),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AccountError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}
