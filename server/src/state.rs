//! What every handler can reach: storage, the clock and the configuration.

use crate::config::Config;
use auto_logout::server::{AuditLog, Database, SessionGate, Sessions, SharedClock, Users};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// Shared state of one running server. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
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
    /// One lock per user, held while a sign-in counts and creates sessions.
    pub sign_in_locks: UserLocks,
}

/// Per-user async locks (entries are dropped when nobody holds or waits for them).
#[derive(Clone, Debug, Default)]
pub struct UserLocks(
    Arc<std::sync::Mutex<std::collections::HashMap<i64, Arc<tokio::sync::Mutex<()>>>>>,
);

impl UserLocks {
    /// Waits for, then holds, the lock of `user_id` until the guard is dropped.
    pub async fn lock(&self, user_id: i64) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
            map.retain(|_, l| Arc::strong_count(l) > 1);
            map.entry(user_id).or_default().clone()
        };
        lock.lock_owned().await
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
