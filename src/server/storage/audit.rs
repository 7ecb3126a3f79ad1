//! The audit log: every sign-in, sign-out and failed attempt, with who, where and when.

use crate::server::{db::Database, error::StoreError, filters::FilteredQuery};
use crate::{account_activity::ActivityCursor, clock::UnixMillis, event::AuditEvent};

use sqlx::{AnyConnection, Row};

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

/// The statement that writes one entry.
const INSERT_ENTRY: &str = "INSERT INTO audit_log \
    (event, at, user_id, username, session_hash, ip, user_agent, actor_id, detail) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// `query` with the values of `entry` bound in [`INSERT_ENTRY`]'s order.
fn bind_entry<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    entry: NewAuditEntry,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let event = entry.event.unwrap_or(AuditEvent::Login);
    query
        .bind(event.as_str())
        .bind(entry.at.as_millis())
        .bind(entry.user_id)
        .bind(clean(entry.username, 64))
        .bind(entry.session_hash)
        .bind(clean(entry.ip, 64))
        .bind(clean(entry.user_agent, 512))
        .bind(entry.actor_id)
        .bind(clean(entry.detail, 512))
}

/// Writes `entry` on `conn` (so it can share a transaction with the change it records).
pub async fn record_on(conn: &mut AnyConnection, entry: NewAuditEntry) -> Result<(), StoreError> {
    bind_entry(sqlx::query(INSERT_ENTRY), entry)
        .execute(conn)
        .await?;
    Ok(())
}

/// The most rows one pruning statement deletes (see [`AuditLog::prune`]).
pub const PRUNE_BATCH: i64 = 5_000;

impl AuditLog {
    /// Records one event standing for `count` occurrences (e.g. the sessions one "sign out
    /// everyone" ended), shown as the entry's count.
    ///
    /// # Errors
    /// Database errors (nothing was recorded).
    pub async fn record_counted(&self, entry: NewAuditEntry, count: i64) -> Result<(), StoreError> {
        let sql = INSERT_ENTRY
            .replace("detail)", "detail, repeat_count)")
            .replace("$9)", "$9, $10)");
        bind_entry(sqlx::query(&sql), entry)
            .bind(count)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// The audit log stored in `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Records one event.
    ///
    /// # Errors
    /// Database errors (nothing was recorded).
    pub async fn record(&self, entry: NewAuditEntry) -> Result<(), StoreError> {
        let mut conn = self.db.pool().acquire().await?;
        record_on(&mut conn, entry).await
    }

    /// Records one event; returns its row id.
    ///
    /// # Errors
    /// Database errors (nothing was recorded).
    pub async fn record_returning_id(&self, entry: NewAuditEntry) -> Result<i64, StoreError> {
        let sql = format!("{INSERT_ENTRY} RETURNING id");
        let row = bind_entry(sqlx::query(&sql), entry)
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get("id")?)
    }

    /// Adds `count` to the number of events row `id` stands for (`repeat_count`: refused
    /// attempts counted under one `login_throttled` row).
    ///
    /// # Errors
    /// Database errors.
    pub async fn add_repeats(&self, id: i64, count: u64) -> Result<(), StoreError> {
        sqlx::query("UPDATE audit_log SET repeat_count = repeat_count + $1 WHERE id = $2")
            .bind(i64::try_from(count).unwrap_or(i64::MAX))
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Deletes the entries recorded before `before`, at most [`PRUNE_BATCH`] at a time (oldest
    /// first), until none is left; returns how many went. Each batch is its own statement, so
    /// a large backlog never holds the log for long.
    ///
    /// # Errors
    /// Database errors (the batches already deleted stay deleted).
    pub async fn prune(&self, before: UnixMillis) -> Result<u64, StoreError> {
        let mut deleted = 0;
        loop {
            let done = sqlx::query(
                "DELETE FROM audit_log WHERE id IN \
                 (SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2)",
            )
            .bind(before.as_millis())
            .bind(PRUNE_BATCH)
            .execute(self.db.pool())
            .await?
            .rows_affected();
            deleted += done;
            if done < u64::try_from(PRUNE_BATCH).unwrap_or(u64::MAX) {
                return Ok(deleted);
            }
            tokio::task::yield_now().await;
        }
    }

    /// Up to `limit` entries of the account `user_id` whose event is one of `events`, newest
    /// first (by time, then id), older than `before` when given: one page of a person's own
    /// activity. Reads through the (user_id, at) index.
    pub async fn of_account(
        &self,
        user_id: i64,
        events: &[AuditEvent],
        before: Option<ActivityCursor>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        // The names are the engine's own constants, never input.
        let names = events
            .iter()
            .map(|event| format!("'{}'", event.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut sql = format!(
            "SELECT id, event, at, user_id, username, session_hash, ip, user_agent, actor_id, \
             detail, repeat_count FROM audit_log WHERE user_id = $1 AND event IN ({names})"
        );
        if before.is_some() {
            sql.push_str(" AND (at < $2 OR (at = $2 AND id < $3))");
        }
        sql.push_str(&format!(" ORDER BY at DESC, id DESC LIMIT {limit}"));
        let mut query = sqlx::query_as::<_, AuditEntry>(&sql).bind(user_id);
        if let Some(cursor) = before {
            query = query.bind(cursor.at).bind(cursor.id);
        }
        Ok(query.fetch_all(self.db.pool()).await?)
    }

    /// Entries matching `filter`, newest first.
    pub async fn list(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        // Only the filters in use become predicates, so that the planner can use the
        // (username, id), (event, id) and primary-key indexes on a large log.
        let mut query = FilteredQuery::new(
            "SELECT id, event, at, user_id, username, session_hash, ip, user_agent, actor_id, \
             detail, repeat_count FROM audit_log WHERE 1 = 1",
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
