//! What every handler can reach: the engine, the configuration and Leptos' options.

use crate::config::Config;
use auto_logout::server::{telemetry::LiveSessionGauges, Engine};
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

/// What every handler can reach: the engine, the configuration and what the pages need.
#[derive(Debug)]
pub struct Shared {
    /// The session engine: storage, rules, sign-in, tokens, administration.
    pub engine: Engine,
    /// Settings.
    pub config: Arc<Config>,
    /// Leptos' own settings (site root, output name).
    pub leptos_options: LeptosOptions,
    /// The client bundle and its content-hashed names.
    pub bundle: Bundle,
    /// The live-session gauges of `/metrics` (counted at most once per few seconds).
    pub live_sessions: LiveSessionGauges,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
