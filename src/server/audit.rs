//! The audit log: every sign-in, sign-out and failed attempt, with who, where and when.

use super::{db::Database, error::StoreError, filters::FilteredQuery};
use crate::{clock::UnixMillis, event::AuditEvent};

use sqlx::AnyConnection;

/// An event to record.
#[derive(Debug, Clone, Default)]
pub struct NewAuditEntry {
    /// What happened (`None` is not allowed; see [`NewAuditEntry::new`]).
    pub event: Option<AuditEvent>,
    /// When it happened (for timeouts: the moment the limit passed).
    pub at: UnixMillis,
    /// The account concerned, when known.
    pub user_id: Option<i64>,
    /// The username, also for unknown users in `login_failed` (truncated to 64 characters).
    pub username: Option<String>,
    /// The session's id hash.
    pub session_hash: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
    /// Client user agent (truncated to 512 characters).
    pub user_agent: Option<String>,
    /// Who caused it, for `revoked`.
    pub actor_id: Option<i64>,
    /// Free text, e.g. why a session was suspended.
    pub detail: Option<String>,
}

impl NewAuditEntry {
    /// An entry for `event` at `at`; fill in the rest with struct update syntax.
    pub fn new(event: AuditEvent, at: UnixMillis) -> Self {
        Self {
            event: Some(event),
            at,
            ..Self::default()
        }
    }
}

pub use crate::dto::AuditEntry;

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this username.
    pub username: Option<String>,
    /// Only this event.
    pub event: Option<AuditEvent>,
    /// Only at or after this time.
    pub since: Option<UnixMillis>,
    /// Only at or before this time.
    pub until: Option<UnixMillis>,
    /// Only entries older than this one (the cursor of the next page).
    pub before_id: Option<i64>,
    /// At most this many, newest first (default 200).
    pub limit: Option<i64>,
}

/// The audit log table.
#[derive(Debug, Clone)]
pub struct AuditLog {
    db: Database,
}

/// `value` cut to `max` characters, without control characters (PostgreSQL refuses NUL in
/// text, and nobody wants a terminal escape in the admin console).
fn clean(value: Option<String>, max: usize) -> Option<String> {
    value.map(|v| v.chars().filter(|c| !c.is_control()).take(max).collect())
}

/// Writes `entry` on `conn` (so it can share a transaction with the change it records).
pub async fn record_on(conn: &mut AnyConnection, entry: NewAuditEntry) -> Result<(), StoreError> {
    let event = entry.event.unwrap_or(AuditEvent::Login);
    sqlx::query(
        "INSERT INTO audit_log (event, at, user_id, username, session_hash, ip, user_agent, actor_id, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(event.as_str())
    .bind(entry.at.as_millis())
    .bind(entry.user_id)
    .bind(clean(entry.username, 64))
    .bind(entry.session_hash)
    .bind(clean(entry.ip, 64))
    .bind(clean(entry.user_agent, 512))
    .bind(entry.actor_id)
    .bind(clean(entry.detail, 512))
    .execute(conn)
    .await?;
    Ok(())
}

impl AuditLog {
    /// The audit log stored in `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Records one event.
    pub async fn record(&self, entry: NewAuditEntry) -> Result<(), StoreError> {
        let mut conn = self.db.pool().acquire().await?;
        record_on(&mut conn, entry).await
    }

    /// Entries matching `filter`, newest first.
    pub async fn list(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        // Only the filters in use become predicates, so that the planner can use the
        // (username, id), (event, id) and primary-key indexes on a large log.
        let mut query = FilteredQuery::new(
            "SELECT id, event, at, user_id, username, session_hash, ip, user_agent, actor_id, \
             detail FROM audit_log WHERE 1 = 1",
        );
        if let Some(username) = &filter.username {
            query.push(" AND username = ").bind(username.clone());
        }
        if let Some(event) = filter.event {
            query.push(" AND event = ").bind(event.as_str());
        }
        if let Some(since) = filter.since {
            query.push(" AND at >= ").bind(since.as_millis());
        }
        if let Some(until) = filter.until {
            query.push(" AND at <= ").bind(until.as_millis());
        }
        if let Some(before) = filter.before_id {
            query.push(" AND id < ").bind(before);
        }
        query
            .push(" ORDER BY id DESC LIMIT ")
            .bind(filter.limit.unwrap_or(200).clamp(1, 10_000));
        let (sql, arguments) = query.finish();
        Ok(sqlx::query_as_with::<_, AuditEntry, _>(&sql, arguments)
            .fetch_all(self.db.pool())
            .await?)
    }
}
