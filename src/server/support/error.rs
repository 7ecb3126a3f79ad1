//! The one error type of the storage layer.

/// What can go wrong in the storage layer. Messages say what to check.
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
    /// A user with this name already exists.
    #[error("a user named `{0}` already exists")]
    UserExists(String),
    /// No user has this name.
    #[error("no user named `{0}`")]
    NoSuchUser(String),
    /// The username is not acceptable.
    #[error("invalid username: {0}")]
    InvalidUsername(&'static str),
    /// The password is not acceptable.
    #[error("invalid password: {0}")]
    InvalidPassword(&'static str),
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
