//! The SQL of `ip_retention`: finding ended sessions and audit rows whose client details are
//! still whole, and writing back what is kept of them. Which details are kept is decided by
//! [`crate::server::rules::retention`]; rows written here are marked `privacy_trimmed` and
//! never read again by it.

use super::{
    db::{Database, DbKind},
    sessions::values_rows,
};
use crate::clock::UnixMillis;
use crate::server::error::StoreError;
use sqlx::Row;

/// The client details of one row, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientDetails<K> {
    /// The row's key: a session's id hash, or an audit row's id.
    pub key: K,
    /// The address it signed in from (sessions) or the request came from (audit).
    pub ip: Option<String>,
    /// A session's most recent address (`None` for audit rows).
    pub last_ip: Option<String>,
    /// The user agent.
    pub user_agent: Option<String>,
    /// The audit row's detail (`None` for sessions).
    pub detail: Option<String>,
}

/// The ended sessions and audit rows that still hold whole client details.
#[derive(Debug, Clone)]
pub struct RetentionStore {
    db: Database,
}

impl RetentionStore {
    /// The store over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// `table`, read through the partial index of its untrimmed rows. SQLite, without
    /// statistics, would otherwise walk the time index from the oldest row and step over
    /// every row already trimmed: quadratic over a first run (minutes for a million rows).
    fn untrimmed(&self, table: &str, index: &str) -> String {
        match self.db.kind() {
            DbKind::Sqlite => format!("{table} INDEXED BY {index}"),
            DbKind::Postgres => table.to_owned(),
        }
    }

    /// Up to `limit` sessions that ended before `before` and are not trimmed yet.
    pub async fn untrimmed_sessions(
        &self,
        before: UnixMillis,
        limit: usize,
    ) -> Result<Vec<ClientDetails<String>>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT id_hash, ip, last_ip, user_agent FROM {} \
             WHERE privacy_trimmed = 0 AND ended_at IS NOT NULL AND ended_at < $1 LIMIT {limit}",
            self.untrimmed("sessions", "sessions_untrimmed")
        ))
        .bind(before.as_millis())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ClientDetails {
                    key: row.try_get("id_hash")?,
                    ip: row.try_get("ip")?,
                    last_ip: row.try_get("last_ip")?,
                    user_agent: row.try_get("user_agent")?,
                    detail: None,
                })
            })
            .collect()
    }

    /// Writes `trimmed` (from [`RetentionStore::untrimmed_sessions`]) back in one statement and
    /// marks the rows trimmed. Returns how many rows were written.
    pub async fn write_sessions(
        &self,
        trimmed: &[ClientDetails<String>],
    ) -> Result<u64, StoreError> {
        if trimmed.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "UPDATE sessions SET ip = v.column2, last_ip = v.column3, user_agent = v.column4, \
             privacy_trimmed = 1 FROM (VALUES {}) AS v WHERE sessions.id_hash = v.column1",
            values_rows(trimmed.len(), &["TEXT", "TEXT", "TEXT", "TEXT"])
        );
        let mut update = sqlx::query(&sql);
        for row in trimmed {
            update = update
                .bind(row.key.as_str())
                .bind(row.ip.as_deref())
                .bind(row.last_ip.as_deref())
                .bind(row.user_agent.as_deref());
        }
        let written = update.execute(self.db.pool()).await?.rows_affected();
        if written > 0 {
            // Live sessions' addresses may be among them: no kept device list shows them.
            self.db.listings().changed_everyone();
        }
        Ok(written)
    }

    /// Up to `limit` audit rows written before `before` that are not trimmed yet.
    pub async fn untrimmed_audit(
        &self,
        before: UnixMillis,
        limit: usize,
    ) -> Result<Vec<ClientDetails<i64>>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT id, ip, user_agent, detail FROM {} \
             WHERE privacy_trimmed = 0 AND at < $1 LIMIT {limit}",
            self.untrimmed("audit_log", "audit_log_untrimmed")
        ))
        .bind(before.as_millis())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ClientDetails {
                    key: row.try_get("id")?,
                    ip: row.try_get("ip")?,
                    last_ip: None,
                    user_agent: row.try_get("user_agent")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }

    /// Writes `trimmed` (from [`RetentionStore::untrimmed_audit`]) back in one statement and
    /// marks the rows trimmed. Returns how many rows were written.
    pub async fn write_audit(&self, trimmed: &[ClientDetails<i64>]) -> Result<u64, StoreError> {
        if trimmed.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "UPDATE audit_log SET ip = v.column2, user_agent = v.column3, detail = v.column4, \
             privacy_trimmed = 1 FROM (VALUES {}) AS v WHERE audit_log.id = v.column1",
            values_rows(trimmed.len(), &["BIGINT", "TEXT", "TEXT", "TEXT"])
        );
        let mut update = sqlx::query(&sql);
        for row in trimmed {
            update = update
                .bind(row.key)
                .bind(row.ip.as_deref())
                .bind(row.user_agent.as_deref())
                .bind(row.detail.as_deref());
        }
        Ok(update.execute(self.db.pool()).await?.rows_affected())
    }
}
