//! What every handler can reach: storage, the clock and the configuration.

use crate::config::Config;
use auto_logout::server::{
    telemetry::LiveSessionGauges, Admin, ApiAuth, AuditLog, Database, SessionGate, Sessions,
    SharedClock, SignInGuard, SqlSessionStore, Users,
};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::web::assets::Bundle;
use std::sync::Arc;

/// Shared state of one running server: one count to clone (axum clones the state for every
/// request of every handler).
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// The state holding `shared`.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What every handler can reach.
#[derive(Debug)]
pub struct Shared {
    /// The database.
    pub db: Database,
    /// Accounts.
    pub users: Users,
    /// The sessions table.
    pub sessions: Sessions,
    /// The audit log.
    pub audit: AuditLog,
    /// Limits, activity and expiry of live sessions.
    pub gate: SessionGate,
    /// The one clock.
    pub clock: SharedClock,
    /// Settings.
    pub config: Arc<Config>,
    /// Leptos' own settings (site root, output name).
    pub leptos_options: LeptosOptions,
    /// The client bundle and its content-hashed names.
    pub bundle: Bundle,
    /// Who may sign in: password checks, throttling, bounded hashing.
    pub sign_in: SignInGuard,
    /// The session store (only hashes of ids; the session limit applied on create).
    pub store: SqlSessionStore,
    /// API clients: bearer tokens, JWTs and refresh tokens.
    pub api: ApiAuth,
    /// What administrators may do.
    pub admin: Admin,
    /// The live-session gauges of `/metrics` (counted at most once per few seconds).
    pub live_sessions: LiveSessionGauges,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
