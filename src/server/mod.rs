//! The server side of the engine: storage, the axum-login backend, the tower-sessions store,
//! the audit log, and the tower layer that enforces the rules on every request. It knows
//! nothing of Leptos or of the application's routes.
//!
//! The folders follow the layers: [`storage`] (every table and its SQL), [`rules`] (the use
//! cases), [`gate`] (what a request's session is worth, the cache and the sweep), [`layer`]
//! (the tower layer), [`support`] (clock, errors, hashing, telemetry); [`engine`] is the front
//! door that wires them, [`handlers`] what an application's handlers take and give back.

pub mod backend;
pub mod engine;
pub mod gate;
pub mod handlers;
pub mod layer;
pub mod rules;
pub mod storage;
pub mod support;

// The modules under their old paths (`server::users`, `server::store`, ...).
pub use layer::csrf;
pub use rules::{
    account, admin, admission, adopt, devices, reauth, session_start, signed_in, throttle_view,
    tokens,
};
pub use storage::{
    audit, changes, db, filters, jwt_keys, keys, login_attempts, sessions, store, users,
};
pub use support::{clock, error, password, secret, telemetry};

pub use admin::{Actor, Admin, SignOutAll};
pub use admission::{Admission, SignInDecision};
pub use adopt::{Account, AccountInfo, AdoptError, Adopted};
pub use audit::{AuditEntry, AuditLog, NewAuditEntry};
pub use backend::{AuthSession, Backend, Credentials};
pub use changes::{Caches, ChangeFollower};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use db::Database;
pub use engine::{Background, Engine, EngineBuilder, EngineError, EngineLayers, SignIn};
pub use error::{AccountError, AccountRefusal, StoreError};
pub use gate::{
    ActiveSession, Activity, EndingGuard, Limits, RevokeOutcome, SessionClass, SessionEnded,
    SessionGate, Verdict,
};
pub use handlers::{AdoptedSession, AutoLogout};
pub use keys::SecretKey;
pub use layer::{CurrentSession, PassiveRule, SessionLayer};
pub use login_attempts::LoginAttempts;
pub use password::HashLimiter;
pub use reauth::{Reauth, Reauthentication};
pub use session_start::{sign_out, start_session, SessionError, SessionStart};
pub use sessions::{ClientInfo, SessionMeta, SessionRow, SessionSearch, Sessions};
pub use signed_in::SignedInUser;
pub use store::SqlSessionStore;
pub use tokens::{
    ApiAuth, ApiRefresh, ApiSignIn, Grant, Issued, JwtAlgorithm, JwtKeys, KeyRotation,
    RefreshTokens, RotateError,
};
pub use users::{User, Users};

/// How the caches every request looks into hash their keys (session id hashes, JWTs): SipHash,
/// the default, is several times slower on such keys. Seeded per process, so keys cannot be
/// chosen to collide.
pub(crate) type CacheHasher = foldhash::fast::RandomState;
