//! The server side of the engine: storage, the axum-login backend, the tower-sessions store,
//! the audit log, and the tower layer that enforces the rules on every request. It knows
//! nothing of Leptos or of the application's routes.

pub mod account;
pub mod admin;
pub mod admission;
pub mod adopt;
pub mod audit;
pub mod backend;
pub mod changes;
pub mod clock;
pub mod csrf;
pub mod db;
pub mod devices;
pub mod engine;
pub mod error;
pub mod filters;
pub mod gate;
pub mod handlers;
pub mod keys;
pub mod layer;
pub mod login_attempts;
pub mod password;
pub mod secret;
pub mod session_start;
pub mod sessions;
pub mod store;
pub mod telemetry;
pub mod throttle_view;
pub mod tokens;
pub mod users;

pub use admin::{Actor, Admin};
pub use admission::{SignInDecision, SignInGuard};
pub use adopt::{Account, AccountInfo, AdoptError, Adopted};
pub use audit::{AuditEntry, AuditLog, NewAuditEntry};
pub use backend::{AuthSession, Backend, Credentials};
pub use changes::{Caches, ChangeFollower};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use db::Database;
pub use engine::{Background, Engine, EngineBuilder, EngineError, EngineLayers, SignIn};
pub use error::StoreError;
pub use gate::{
    ActiveSession, Activity, EndingGuard, Limits, RevokeOutcome, SessionClass, SessionEnded,
    SessionGate, Verdict,
};
pub use handlers::{AdoptedSession, AutoLogout};
pub use keys::SecretKey;
pub use layer::{CurrentSession, PassiveRule, SessionLayer};
pub use login_attempts::LoginAttempts;
pub use password::HashLimiter;
pub use session_start::{sign_out, start_session, SessionError, SessionStart};
pub use sessions::{ClientInfo, SessionMeta, SessionRow, SessionSearch, Sessions};
pub use store::SqlSessionStore;
pub use tokens::{ApiAuth, ApiRefresh, ApiSignIn, Grant, Issued, JwtKeys, RefreshTokens};
pub use users::{User, Users};

/// How the caches every request looks into hash their keys (session id hashes, JWTs): SipHash,
/// the default, is several times slower on such keys. Seeded per process, so keys cannot be
/// chosen to collide.
pub(crate) type CacheHasher = foldhash::fast::RandomState;
