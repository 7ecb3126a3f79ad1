//! The tower-sessions store: session data in the `sessions` table, keyed by the id's hash.
//!
//! Unlike an upsert-based store, this one never brings an ended session back: `save` updates
//! only live rows, `load` ignores ended rows and unknown ids (creating nothing), and `delete`
//! ends the row instead of removing it.

use super::{
    clock::SharedClock,
    db::Database,
    secret::hash_secret,
    sessions::{SessionMeta, META_KEY},
};
use crate::event::EndReason;
use async_trait::async_trait;
use sqlx::Row;
use std::collections::HashMap;
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, SessionStore},
};

/// How long a loaded record is served from memory. Ended sessions never reach `load` (the
/// session gate strips their cookie first), so this only saves re-reading live data, which
/// changes only through `save` and `create` on this same store.
const RECORD_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// A [`SessionStore`] over our own `sessions` table, storing only SHA-256 hashes of ids.
#[derive(Clone)]
pub struct SqlSessionStore {
    db: Database,
    clock: SharedClock,
    records: moka::sync::Cache<String, Record>,
}

impl std::fmt::Debug for SqlSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlSessionStore").finish_non_exhaustive()
    }
}

impl SqlSessionStore {
    /// A store writing to `db`, reading the time from `clock`.
    pub fn new(db: Database, clock: SharedClock) -> Self {
        Self {
            db,
            clock,
            records: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(RECORD_CACHE_TTL)
                .build(),
        }
    }
}

/// The database key of a session id: the SHA-256 of its cookie form.
pub fn id_hash(id: &Id) -> String {
    hash_secret(&id.to_string())
}

fn backend(err: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

fn millis(date: OffsetDateTime) -> i64 {
    i64::try_from(date.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

#[async_trait]
impl SessionStore for SqlSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let now = self.clock.now();
        let meta: Option<SessionMeta> = record
            .data
            .get(META_KEY)
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        let data = serde_json::to_string(&record.data).map_err(backend)?;
        // A fresh random 128-bit id collides practically never; retry a few times if it does.
        for _ in 0..4 {
            self.records.invalidate(&id_hash(&record.id));
            let created_at = meta.as_ref().map_or(now, |m| m.created_at);
            let result = sqlx::query(
                "INSERT INTO sessions (id_hash, user_id, kind, data, remember, created_at, \
                 last_seen_at, expires_at, ip, last_ip, user_agent) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(id_hash(&record.id))
            .bind(meta.as_ref().map(|m| m.user_id))
            .bind(
                meta.as_ref()
                    .map_or("browser".to_owned(), |m| m.kind.clone()),
            )
            .bind(&data)
            .bind(i64::from(meta.as_ref().is_some_and(|m| m.remember)))
            .bind(created_at.as_millis())
            .bind(now.as_millis())
            .bind(millis(record.expiry_date))
            .bind(meta.as_ref().and_then(|m| m.client.ip.clone()))
            .bind(meta.as_ref().and_then(|m| m.client.ip.clone()))
            .bind(meta.as_ref().and_then(|m| m.client.user_agent.clone()))
            .execute(self.db.pool())
            .await;
            match result {
                Ok(_) => return Ok(()),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    record.id = Id::default();
                }
                Err(e) => return Err(backend(e)),
            }
        }
        Err(backend("could not find a free session id"))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.records.invalidate(&id_hash(&record.id));
        let data = serde_json::to_string(&record.data).map_err(backend)?;
        // Only live rows: a session ended while this request was in flight stays ended.
        sqlx::query(
            "UPDATE sessions SET data = $1, expires_at = $2 WHERE id_hash = $3 AND ended_at IS NULL",
        )
        .bind(&data)
        .bind(millis(record.expiry_date))
        .bind(id_hash(&record.id))
        .execute(self.db.pool())
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let key = id_hash(session_id);
        if let Some(record) = self.records.get(&key) {
            return Ok(Some(record));
        }
        let row = sqlx::query(
            "SELECT data, expires_at FROM sessions WHERE id_hash = $1 AND ended_at IS NULL",
        )
        .bind(id_hash(session_id))
        .fetch_optional(self.db.pool())
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let data: String = row.try_get("data").map_err(backend)?;
        let expires_at: i64 = row.try_get("expires_at").map_err(backend)?;
        let data: HashMap<String, serde_json::Value> =
            serde_json::from_str(&data).map_err(backend)?;
        let expiry_date =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(expires_at) * 1_000_000)
                .map_err(backend)?;
        // No check of `expires_at` here: the session gate (idle and absolute limits, ordinary
        // or "Remember me") decides when a session ends, and ends it with an audit entry;
        // tower-sessions' own date (two weeks for browser-session cookies) must not end one
        // silently.
        let record = Record {
            id: *session_id,
            data,
            expiry_date,
        };
        self.records.insert(key, record.clone());
        Ok(Some(record))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        self.records.invalidate(&id_hash(session_id));
        // Ending (not removing) keeps the row for the sessions list and makes the end final.
        // Handlers end sessions with their true reason and an audit entry before this runs;
        // this is the fallback for ends that tower-sessions starts itself.
        sqlx::query(
            "UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE id_hash = $3 AND ended_at IS NULL",
        )
        .bind(self.clock.now().as_millis())
        .bind(EndReason::Logout.as_str())
        .bind(id_hash(session_id))
        .execute(self.db.pool())
        .await
        .map_err(backend)?;
        Ok(())
    }
}
