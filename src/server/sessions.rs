//! The sessions table as the product sees it: who is signed in where, and ending sessions.

use super::{
    audit::{record_on, NewAuditEntry},
    db::{Database, DbKind},
    error::StoreError,
    filters::FilteredQuery,
};
use crate::{
    clock::UnixMillis,
    event::{EndReason, SessionKind},
};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// The key under which [`SessionMeta`] lives in the session data.
pub const META_KEY: &str = "auto_logout.meta";

/// Where a request comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// Client IP (socket peer, or X-Forwarded-For from a trusted proxy).
    pub ip: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

/// Facts fixed at sign-in, kept in the session data and copied into the row's columns by the
/// store when the session is first written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMeta {
    /// The signed-in account.
    pub user_id: i64,
    /// Its username (for the audit log).
    #[serde(default)]
    pub username: String,
    /// A browser or an API client.
    pub kind: SessionKind,
    /// Whether "Remember me" was ticked.
    pub remember: bool,
    /// The sign-in time.
    pub created_at: UnixMillis,
    /// Where the sign-in came from.
    pub client: ClientInfo,
    /// The account's credential epoch when its password was checked ([`super::User`]): the
    /// session is stored only while the account still has it and is not disabled.
    #[serde(default)]
    pub credential_epoch: i64,
}

/// One row of the sessions table (without the session data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    /// SHA-256 hex of the session id.
    pub id_hash: String,
    /// The account, if signed in.
    pub user_id: Option<i64>,
    /// A browser or an API client.
    pub kind: SessionKind,
    /// "Remember me".
    pub remember: bool,
    /// Sign-in time, ms.
    pub created_at: i64,
    /// Last activity, ms.
    pub last_seen_at: i64,
    /// IP at sign-in.
    pub ip: Option<String>,
    /// Most recent IP.
    pub last_ip: Option<String>,
    /// User agent at sign-in.
    pub user_agent: Option<String>,
    /// When it ended, if it has.
    pub ended_at: Option<i64>,
    /// Why it ended.
    pub end_reason: Option<String>,
    /// Who ended it (for `revoked`).
    pub ended_by: Option<i64>,
    /// Extra detail (e.g. why it was suspended).
    pub detail: Option<String>,
    /// The account's credential epoch when the session was made (or its password last
    /// changed by this session's own person): the session is good only while they agree.
    #[serde(default)]
    pub credential_epoch: i64,
}

/// What the gate needs of a session's account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountState {
    /// The username.
    pub username: String,
    /// An administrator (the administrators' limits apply).
    pub admin: bool,
    /// Disabled: none of its sessions is good.
    pub disabled: bool,
    /// Its credential epoch (see [`SessionRow::credential_epoch`]).
    pub credential_epoch: i64,
}

impl AccountState {
    /// Why a session of this account made under `session_epoch` is no longer good, if it is
    /// not: the account is disabled, or its password changed since.
    pub fn refuses(&self, session_epoch: i64) -> Option<&'static str> {
        if self.disabled {
            Some("the account was disabled")
        } else if session_epoch != self.credential_epoch {
            Some("password changed")
        } else {
            None
        }
    }
}

const ROW_COLUMNS: &str = "id_hash, user_id, kind, remember, created_at, last_seen_at, ip, \
                           last_ip, user_agent, ended_at, end_reason, ended_by, detail, \
                           credential_epoch";

fn row_from(row: &sqlx::any::AnyRow) -> Result<SessionRow, sqlx::Error> {
    Ok(SessionRow {
        id_hash: row.try_get("id_hash")?,
        user_id: row.try_get("user_id")?,
        kind: SessionKind::from_stored(row.try_get::<&str, _>("kind")?),
        remember: row.try_get::<i64, _>("remember")? != 0,
        created_at: row.try_get("created_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
        ip: row.try_get("ip")?,
        last_ip: row.try_get("last_ip")?,
        user_agent: row.try_get("user_agent")?,
        ended_at: row.try_get("ended_at")?,
        end_reason: row.try_get("end_reason")?,
        ended_by: row.try_get("ended_by")?,
        detail: row.try_get("detail")?,
        credential_epoch: row.try_get("credential_epoch")?,
    })
}

/// How a session is ended.
#[derive(Debug, Clone)]
pub struct Ending {
    /// Why.
    pub reason: EndReason,
    /// When (for timeouts: the moment the limit passed).
    pub at: UnixMillis,
    /// Who did it (for `revoked`).
    pub actor_id: Option<i64>,
    /// Extra detail for the row and the audit entry.
    pub detail: Option<String>,
    /// The request that ended it, for the audit entry.
    pub client: ClientInfo,
}

/// Queries and changes on the sessions table.
#[derive(Debug, Clone)]
pub struct Sessions {
    db: Database,
}

/// A session as the administrators' list reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionListing {
    /// The row.
    pub row: SessionRow,
    /// Its account's username.
    pub username: Option<String>,
    /// The username of who ended it, if an account did.
    pub ended_by_user: Option<String>,
}

/// Which sessions an administrator lists.
#[derive(Debug, Clone, Default)]
pub struct SessionSearch {
    /// `Some(true)`: live only; `Some(false)`: ended only.
    pub active: Option<bool>,
    /// Only this account's.
    pub username: Option<String>,
    /// Only this kind.
    pub kind: Option<SessionKind>,
    /// Only sessions listed after this one, newest first: its `(created_at, id_hash)`.
    pub after: Option<(i64, String)>,
    /// At most this many (1 to 500).
    pub limit: i64,
}

impl Sessions {
    /// Sessions matching `search`, newest first, each with its account's username.
    pub async fn search(&self, search: &SessionSearch) -> Result<Vec<SessionListing>, StoreError> {
        let columns = ROW_COLUMNS
            .split(", ")
            .map(|c| format!("s.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        // Only the filters in use become predicates (indexes: created_at, user_id).
        let mut query = FilteredQuery::new(format!(
            "SELECT {columns}, u.username AS username, e.username AS ended_by_user \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             LEFT JOIN users e ON e.id = s.ended_by WHERE 1 = 1"
        ));
        match search.active {
            Some(true) => query.push(" AND s.ended_at IS NULL"),
            Some(false) => query.push(" AND s.ended_at IS NOT NULL"),
            None => &mut query,
        };
        if let Some(username) = &search.username {
            query.push(" AND u.username = ").bind(username.clone());
        }
        if let Some(kind) = search.kind {
            query.push(" AND s.kind = ").bind(kind.as_str());
        }
        if let Some((at, id)) = &search.after {
            query
                .push(" AND (s.created_at < ")
                .bind(*at)
                .push(" OR (s.created_at = ")
                .bind(*at)
                .push(" AND s.id_hash < ")
                .bind(id.clone())
                .push("))");
        }
        query
            .push(" ORDER BY s.created_at DESC, s.id_hash DESC LIMIT ")
            .bind(search.limit.clamp(1, 500));
        let (sql, arguments) = query.finish();
        let rows = sqlx::query_with(&sql, arguments)
            .fetch_all(self.db.pool())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(SessionListing {
                    row: row_from(row)?,
                    username: row.try_get("username")?,
                    ended_by_user: row.try_get("ended_by_user")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// The sessions stored in `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// The row with this id hash, ended or not.
    pub async fn find(&self, id_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ROW_COLUMNS} FROM sessions WHERE id_hash = $1"
        ))
        .bind(id_hash)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.as_ref().map(row_from).transpose()?)
    }

    /// The user's sessions that have not ended, newest first.
    pub async fn active_for_user(&self, user_id: i64) -> Result<Vec<SessionRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ROW_COLUMNS} FROM sessions WHERE user_id = $1 AND ended_at IS NULL \
             ORDER BY created_at DESC"
        ))
        .bind(user_id)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.iter().map(row_from).collect::<Result<_, _>>()?)
    }

    /// Ends the session `id_hash` if it is still live, and records the audit event in the same
    /// transaction. Returns `false` (and records nothing) when it had already ended or never
    /// existed: ending is final and happens once.
    #[tracing::instrument(name = "db.session_end", skip_all)]
    pub async fn end(&self, id_hash: &str, ending: Ending) -> Result<bool, StoreError> {
        let mut tx = self.db.pool().begin().await?;
        let ended = end_on(&mut tx, id_hash, ending).await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// Ends the sessions of `batch` (id, reason, the moment its limit passed) that are still
    /// live, and records an audit event for each, in one transaction of two statements however
    /// large the batch (the sweep's mass expiries). Returns how many ended; on an error nothing
    /// of the batch is written.
    #[tracing::instrument(name = "db.session_end_expired", skip_all, fields(n = batch.len()))]
    pub async fn end_expired(
        &self,
        batch: &[(String, EndReason, UnixMillis)],
    ) -> Result<usize, StoreError> {
        if batch.is_empty() {
            return Ok(0);
        }
        let mut tx = self.db.pool().begin().await?;
        // `VALUES` columns are column1, column2… on both databases.
        let sql = format!(
            "UPDATE sessions SET ended_at = v.column2, end_reason = v.column3 \
             FROM (VALUES {}) AS v \
             WHERE sessions.id_hash = v.column1 AND sessions.ended_at IS NULL \
             RETURNING sessions.id_hash AS id_hash, sessions.user_id AS user_id",
            values_rows(batch.len(), &["TEXT", "BIGINT", "TEXT"])
        );
        let mut update = sqlx::query(&sql);
        for (id_hash, reason, at) in batch {
            update = update
                .bind(id_hash.as_str())
                .bind(at.as_millis())
                .bind(reason.as_str());
        }
        let ended = update.fetch_all(&mut *tx).await?;
        if !ended.is_empty() {
            let sql = format!(
                "INSERT INTO audit_log (event, at, user_id, username, session_hash) \
                 SELECT v.column1, v.column2, v.column3, u.username, v.column4 \
                 FROM (VALUES {}) AS v LEFT JOIN users u ON u.id = v.column3",
                values_rows(ended.len(), &["TEXT", "BIGINT", "BIGINT", "TEXT"])
            );
            let by_id: std::collections::HashMap<&str, (EndReason, UnixMillis)> = batch
                .iter()
                .map(|(id, reason, at)| (id.as_str(), (*reason, *at)))
                .collect();
            let mut insert = sqlx::query(&sql);
            for row in &ended {
                let id_hash: String = row.try_get("id_hash")?;
                let (reason, at) = by_id[id_hash.as_str()];
                insert = insert
                    .bind(reason.audit_event().as_str())
                    .bind(at.as_millis())
                    .bind(row.try_get::<Option<i64>, _>("user_id")?)
                    .bind(id_hash);
            }
            insert.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(ended.len())
    }

    /// Records activity at `at` (and the client's IP as the last IP) on a live session.
    /// Returns `false` when the session has ended meanwhile: nothing is written then.
    pub async fn touch(
        &self,
        id_hash: &str,
        at: UnixMillis,
        ip: Option<&str>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE sessions SET last_seen_at = $1, last_ip = COALESCE($2, last_ip) \
             WHERE id_hash = $3 AND ended_at IS NULL AND last_seen_at <= $1",
        )
        .bind(at.as_millis())
        .bind(ip)
        .bind(id_hash)
        .execute(self.db.pool())
        .await?;
        if result.rows_affected() == 1 {
            return Ok(true);
        }
        // Either ended, or another instance recorded later activity already.
        Ok(self
            .find(id_hash)
            .await?
            .is_some_and(|row| row.ended_at.is_none()))
    }

    /// Records `ip` as the last IP of a live session, without touching its activity time.
    pub async fn set_last_ip(&self, id_hash: &str, ip: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_ip = $1 WHERE id_hash = $2 AND ended_at IS NULL")
            .bind(ip)
            .bind(id_hash)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Live signed-in sessions past a limit by the database's times: for ordinary browser
    /// sessions last activity at or before `normal.0` or sign-in at or before `normal.1`, for
    /// "Remember me" sessions the same with `remember`, for API sessions with `api`. The
    /// candidates for the expiry sweep (at most `limit` a call; every one returned is past its
    /// own limit, so a full batch cannot starve the rest).
    pub async fn expiry_candidates(
        &self,
        normal: (i64, i64),
        remember: (i64, i64),
        api: (i64, i64),
        admin: (i64, i64),
        limit: usize,
    ) -> Result<Vec<(SessionRow, bool)>, StoreError> {
        let columns = ROW_COLUMNS
            .split(", ")
            .map(|c| format!("s.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        // One arm per class and limit, each an index range (`sessions_live_last_seen`,
        // `sessions_live_signed_in`, and `users_admins` for administrators), each at most
        // `limit` rows: the cost follows the sessions past a limit, not the live ones.
        // `CROSS JOIN` keeps SQLite's join order (candidates first, then their rows); on
        // PostgreSQL it is an ordinary join.
        // SQLite's planner, seeing half the live sessions match `kind` and `remember`, walks
        // every live session instead (134 ms against 2 ms on 200,000): it is told the index.
        let index_of = |column: &str| {
            let index = if column == "last_seen_at" {
                "sessions_live_last_seen"
            } else {
                "sessions_live_signed_in"
            };
            match self.db.kind() {
                DbKind::Sqlite => format!(" INDEXED BY {index}"),
                DbKind::Postgres => String::new(),
            }
        };
        let arm = |remember: &str, column: &str, param: usize| {
            format!(
                "SELECT * FROM (SELECT s.id_hash FROM sessions s{} \
                 JOIN users u ON u.id = s.user_id \
                 WHERE s.ended_at IS NULL AND s.kind = 'browser' AND s.remember {remember} \
                 AND s.{column} <= ${param} AND u.is_admin = 0 LIMIT {limit}) AS a{param}",
                index_of(column)
            )
        };
        let api_arm = |column: &str, param: usize| {
            format!(
                "SELECT * FROM (SELECT id_hash FROM sessions{} WHERE ended_at IS NULL \
                 AND kind = 'api' AND remember IN (0, 1) AND {column} <= ${param} \
                 LIMIT {limit}) AS a{param}",
                index_of(column)
            )
        };
        let arms = [
            arm("= 0", "last_seen_at", 1),
            arm("= 0", "created_at", 2),
            arm("= 1", "last_seen_at", 3),
            arm("= 1", "created_at", 4),
            api_arm("last_seen_at", 5),
            api_arm("created_at", 6),
            format!(
                "SELECT * FROM (SELECT s.id_hash FROM users u CROSS JOIN sessions s \
                 WHERE s.user_id = u.id AND u.is_admin <> 0 AND s.ended_at IS NULL \
                 AND s.kind = 'browser' \
                 AND (s.last_seen_at <= $7 OR s.created_at <= $8) LIMIT {limit}) AS a7"
            ),
        ]
        .join(" UNION ");
        let rows = sqlx::query(&format!(
            "SELECT {columns}, u.is_admin AS is_admin \
             FROM ({arms}) AS c CROSS JOIN sessions s CROSS JOIN users u \
             WHERE s.id_hash = c.id_hash AND u.id = s.user_id AND s.ended_at IS NULL \
             AND ((s.kind <> 'api' AND u.is_admin = 0 AND s.remember = 0 \
                   AND (s.last_seen_at <= $1 OR s.created_at <= $2)) \
               OR (s.kind <> 'api' AND u.is_admin = 0 AND s.remember <> 0 \
                   AND (s.last_seen_at <= $3 OR s.created_at <= $4)) \
               OR (s.kind = 'api' AND (s.last_seen_at <= $5 OR s.created_at <= $6)) \
               OR (s.kind <> 'api' AND u.is_admin <> 0 \
                   AND (s.last_seen_at <= $7 OR s.created_at <= $8))) \
             LIMIT {limit}"
        ))
        .bind(normal.0)
        .bind(normal.1)
        .bind(remember.0)
        .bind(remember.1)
        .bind(api.0)
        .bind(api.1)
        .bind(admin.0)
        .bind(admin.1)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| Ok((row_from(row)?, row.try_get::<i64, _>("is_admin")? != 0)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// What the gate needs of account `user_id`, if it exists.
    pub async fn account_of(&self, user_id: i64) -> Result<Option<AccountState>, StoreError> {
        let row = sqlx::query(
            "SELECT username, is_admin, disabled_at, credential_epoch FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row
            .map(|r| {
                Ok::<_, sqlx::Error>(AccountState {
                    username: r.try_get("username")?,
                    admin: r.try_get::<i64, _>("is_admin")? != 0,
                    disabled: r.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
                    credential_epoch: r.try_get("credential_epoch")?,
                })
            })
            .transpose()?)
    }

    /// Live signed-in sessions by kind.
    pub async fn count_active_by_kind(&self) -> Result<Vec<(SessionKind, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, COUNT(*) AS n FROM sessions \
             WHERE ended_at IS NULL AND user_id IS NOT NULL GROUP BY kind",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    SessionKind::from_stored(row.try_get::<&str, _>("kind")?),
                    row.try_get("n")?,
                ))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// How many rows the sessions table holds (ended or not).
    pub async fn count_all(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM sessions")
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get("n")?)
    }
}

/// Ends the session `id_hash` on `conn` (inside the caller's transaction) if it is still live,
/// and records its audit event there too. Returns `false`, changing nothing, when it had
/// already ended or never existed.
pub async fn end_on(
    conn: &mut sqlx::AnyConnection,
    id_hash: &str,
    ending: Ending,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "UPDATE sessions SET ended_at = $1, end_reason = $2, ended_by = $3, detail = $4 \
         WHERE id_hash = $5 AND ended_at IS NULL RETURNING user_id",
    )
    .bind(ending.at.as_millis())
    .bind(ending.reason.as_str())
    .bind(ending.actor_id)
    .bind(ending.detail.clone())
    .bind(id_hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let user_id: Option<i64> = row.try_get("user_id")?;
    let username: Option<String> = match user_id {
        Some(id) => sqlx::query("SELECT username FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get("username"))
            .transpose()?,
        None => None,
    };
    record_on(
        conn,
        NewAuditEntry {
            user_id,
            username,
            session_hash: Some(id_hash.to_owned()),
            ip: ending.client.ip,
            user_agent: ending.client.user_agent,
            actor_id: ending.actor_id,
            detail: ending.detail,
            ..NewAuditEntry::new(ending.reason.audit_event(), ending.at)
        },
    )
    .await?;
    Ok(true)
}

/// `rows` rows of `VALUES` placeholders, each value cast to its column's type (PostgreSQL
/// cannot infer a parameter's type inside `VALUES`): `(CAST($1 AS TEXT), …), (…)`.
fn values_rows(rows: usize, types: &[&str]) -> String {
    let mut next = 0;
    (0..rows)
        .map(|_| {
            let row = types
                .iter()
                .map(|ty| {
                    next += 1;
                    format!("CAST(${next} AS {ty})")
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("({row})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}
