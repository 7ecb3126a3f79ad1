//! Why an account operation was refused: the request's fault (a taken name, an unknown
//! account, a name or password that breaks the rules), told to the person. Storage failures
//! are another type (`server::StoreError`); a handler maps a refusal to its answer and never
//! looks inside a storage failure.

/// Why an account could not be created or changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountRefusal {
    /// A user with this name already exists.
    #[error("a user named `{0}` already exists")]
    Exists(String),
    /// No user has this name.
    #[error("no user named `{0}`")]
    NoSuchUser(String),
    /// The username is not acceptable (why).
    #[error("invalid username: {0}")]
    InvalidUsername(&'static str),
    /// The password is not acceptable (why).
    #[error("invalid password: {0}")]
    InvalidPassword(&'static str),
}
