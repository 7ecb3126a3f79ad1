//! The sessions table as the product sees it: who is signed in where, and ending sessions.

use crate::limits::{ClassRow, Takes};
use crate::server::{
    audit::{record_on, NewAuditEntry},
    db::{Database, DbKind},
    error::StoreError,
    filters::FilteredQuery,
};
use crate::{
    clock::UnixMillis,
    event::{EndReason, SessionKind},
    last_tab::{TabPresence, TabSignal},
    policy::SessionTimes,
};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::net::IpAddr;

/// The key under which [`SessionMeta`] lives in the session data.
pub const META_KEY: &str = "auto_logout.meta";

/// Where a request comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// Client IP (socket peer, or X-Forwarded-For from a trusted proxy). Kept as an address,
    /// written as text only where it is stored; stored session data whose IP is not an
    /// address reads as `None`.
    #[serde(default, deserialize_with = "lenient_ip")]
    pub ip: Option<IpAddr>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The IP as stored in the database and the audit log (`None` when unknown).
    pub fn ip_text(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
}

/// An IP address from stored data, or `None` for anything that is not one (rather than
/// failing to read the whole record).
fn lenient_ip<'de, D: serde::Deserializer<'de>>(reader: D) -> Result<Option<IpAddr>, D::Error> {
    let text = Option::<String>::deserialize(reader)?;
    Ok(text.and_then(|text| text.parse().ok()))
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
    /// The account's credential epoch when its password was checked ([`crate::server::User`]): the
    /// session is stored only while the account still has it and is not disabled.
    #[serde(default)]
    pub credential_epoch: i64,
    /// The device it signed in from ([`crate::server::devices::device_key`]); the store
    /// remembers it for the account and marks the session when it is new
    /// ([`crate::device_history`]).
    #[serde(default)]
    pub device: Option<String>,
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
    /// It signed in from a device its account had never used ([`crate::device_history`]).
    #[serde(default)]
    pub new_device: bool,
    /// The last thing its tabs said (`end_with_last_tab`); `None` if they never spoke.
    #[serde(default)]
    pub tabs: Option<TabPresence>,
}

impl SessionRow {
    /// The times the policy looks at, as the database holds them.
    pub fn times(&self) -> SessionTimes {
        SessionTimes {
            created_at: UnixMillis(self.created_at),
            last_activity_at: UnixMillis(self.last_seen_at),
            tabs: self.tabs,
        }
    }
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
                           credential_epoch, new_device, tabs_signal, tabs_at";

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
        new_device: row.try_get::<i64, _>("new_device")? != 0,
        tabs: tabs_of(row)?,
    })
}

/// The tab presence stored in `row`'s `tabs_signal` and `tabs_at` (an unknown signal, which
/// no version writes, reads as none: the rule leaves the session alone).
pub(crate) fn tabs_of(row: &sqlx::any::AnyRow) -> Result<Option<TabPresence>, sqlx::Error> {
    let signal: Option<String> = row.try_get("tabs_signal")?;
    let at: Option<i64> = row.try_get("tabs_at")?;
    Ok(signal
        .and_then(|s| s.parse::<TabSignal>().ok())
        .zip(at)
        .map(|(signal, at)| TabPresence {
            signal,
            at: UnixMillis(at),
        }))
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

/// Which sessions "sign out everyone" ends: every live one, but those of administrators when
/// `except_admins`, and those of the account `except_user` (the acting administrator's own).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Everyone {
    /// Keep administrators' sessions.
    pub except_admins: bool,
    /// Keep this account's sessions.
    pub except_user: Option<i64>,
}

/// Queries and changes on the sessions table.
#[derive(Debug, Clone)]
pub struct Sessions {
    db: Database,
}

impl Sessions {
    /// The device lists kept in memory, to be told of changes ([`super::listings`]).
    pub fn listings(&self) -> &super::listings::Listings {
        self.db.listings()
    }
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
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

    /// The account of the live session `id_hash` and when its person last proved their
    /// password: the last re-authentication, else the sign-in. `None` when no such session is
    /// live (or it has no account).
    pub async fn proven_at(&self, id_hash: &str) -> Result<Option<(i64, UnixMillis)>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, COALESCE(reauth_at, created_at) AS proven_at FROM sessions \
             WHERE id_hash = $1 AND ended_at IS NULL AND user_id IS NOT NULL",
        )
        .bind(id_hash)
        .fetch_optional(self.db.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some((
            row.try_get("user_id")?,
            UnixMillis(row.try_get("proven_at")?),
        )))
    }

    /// Records that the person of the live session `id_hash` proved their password at `at`, and
    /// audits `reauthenticated` (with `entry`'s user and client) in the same transaction.
    /// `false`, recording nothing, when the session is no longer live.
    pub async fn record_proof(
        &self,
        id_hash: &str,
        at: UnixMillis,
        entry: NewAuditEntry,
    ) -> Result<bool, StoreError> {
        let mut tx = self.db.pool().begin().await?;
        let updated = sqlx::query(
            "UPDATE sessions SET reauth_at = $1 WHERE id_hash = $2 AND ended_at IS NULL",
        )
        .bind(at.as_millis())
        .bind(id_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        record_on(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Up to `limit` live sessions signed in at or before `signed_in_by` that [`Everyone`]
    /// takes, in no particular order: ending each batch before asking for the next walks them
    /// all, each query finding live sessions through the index of live ones (a cursor over
    /// ids sorted them all again for every batch: 61 s for 100,000 on PostgreSQL).
    pub async fn everyone_batch(
        &self,
        everyone: &Everyone,
        signed_in_by: UnixMillis,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let mut sql = String::from(
            "SELECT s.id_hash FROM sessions s LEFT JOIN users u ON u.id = s.user_id \
             WHERE s.ended_at IS NULL AND s.created_at <= $1",
        );
        if everyone.except_admins {
            sql.push_str(" AND (u.is_admin IS NULL OR u.is_admin = 0)");
        }
        if everyone.except_user.is_some() {
            sql.push_str(" AND (s.user_id IS NULL OR s.user_id <> $2)");
        }
        sql.push_str(&format!(" LIMIT {limit}"));
        let mut query = sqlx::query(&sql).bind(signed_in_by.as_millis());
        if let Some(user) = everyone.except_user {
            query = query.bind(user);
        }
        let rows = query.fetch_all(self.db.pool()).await?;
        Ok(rows
            .iter()
            .map(|row| row.try_get("id_hash"))
            .collect::<Result<_, _>>()?)
    }

    /// Ends the live sessions among `ids` as `revoked` by `actor_id` with `detail`, at `at`,
    /// without an audit entry each (the caller records one for all). Returns how many ended.
    pub async fn end_batch_revoked(
        &self,
        ids: &[String],
        at: UnixMillis,
        actor_id: Option<i64>,
        detail: &str,
    ) -> Result<usize, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let list = (0..ids.len())
            .map(|i| format!("${}", i + 5))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE sessions SET ended_at = $1, end_reason = $2, ended_by = $3, detail = $4 \
             WHERE ended_at IS NULL AND id_hash IN ({list})"
        );
        let mut update = sqlx::query(&sql)
            .bind(at.as_millis())
            .bind(EndReason::Revoked.as_str())
            .bind(actor_id)
            .bind(detail);
        for id in ids {
            update = update.bind(id.as_str());
        }
        let ended = update.execute(self.db.pool()).await?.rows_affected();
        Ok(usize::try_from(ended).unwrap_or(usize::MAX))
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
        ip: Option<IpAddr>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE sessions SET last_seen_at = $1, last_ip = COALESCE($2, last_ip) \
             WHERE id_hash = $3 AND ended_at IS NULL AND last_seen_at <= $1",
        )
        .bind(at.as_millis())
        .bind(ip.map(|ip| ip.to_string()))
        .bind(id_hash)
        .execute(self.db.pool())
        .await?;
        // Not written: either ended, or another instance recorded later activity already.
        self.updated_or_live(result.rows_affected(), id_hash).await
    }

    /// Records what a live session's tabs said. Returns `false` when the session has ended.
    pub async fn set_tabs(&self, id_hash: &str, presence: TabPresence) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE sessions SET tabs_signal = $1, tabs_at = $2 \
             WHERE id_hash = $3 AND ended_at IS NULL AND (tabs_at IS NULL OR tabs_at <= $2)",
        )
        .bind(presence.signal.as_str())
        .bind(presence.at.as_millis())
        .bind(id_hash)
        .execute(self.db.pool())
        .await?;
        // Not written: either ended, or another instance heard the tabs later already.
        self.updated_or_live(result.rows_affected(), id_hash).await
    }

    /// Whether a guarded update of the live session `id_hash` that changed `rows` rows leaves
    /// it live: it did (one row), or it changed nothing because the database already held
    /// something later, and the session has not ended.
    async fn updated_or_live(&self, rows: u64, id_hash: &str) -> Result<bool, StoreError> {
        if rows == 1 {
            return Ok(true);
        }
        Ok(self
            .find(id_hash)
            .await?
            .is_some_and(|row| row.ended_at.is_none()))
    }

    /// Records `ip` as the last IP of a live session, without touching its activity time.
    pub async fn set_last_ip(&self, id_hash: &str, ip: IpAddr) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_ip = $1 WHERE id_hash = $2 AND ended_at IS NULL")
            .bind(ip.to_string())
            .bind(id_hash)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// The candidates for the expiry sweep: live sessions of each class of [`crate::limits::CLASS_TABLE`]
    /// that are past one of that class's cut-offs (one [`ClassCutoff`] per class): last
    /// activity at or before `idle_before`, sign-in at or before `absolute_before`, or tabs
    /// that closed at or before `tabs_closed_before` or were last visible at or before
    /// `tabs_visible_before`; with whether the account is an administrator. At most `limit` a
    /// call; every one returned is past its own class's limit, so a full batch cannot starve
    /// the rest. The query is derived from the table: a new class, or a class taking other
    /// sessions, needs no SQL written here.
    pub async fn expiry_candidates(
        &self,
        cutoffs: &[ClassCutoff],
        limit: usize,
    ) -> Result<Vec<(SessionRow, bool)>, StoreError> {
        let columns = ROW_COLUMNS
            .split(", ")
            .map(|c| format!("s.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let arms = cutoffs
            .iter()
            .enumerate()
            .flat_map(|(i, cutoff)| {
                sweep_arms(&cutoff.row, CUTOFF_PARAMS * i + 1, limit, self.db.kind())
            })
            .collect::<Vec<_>>()
            .join(" UNION ");
        let due = cutoffs
            .iter()
            .enumerate()
            .map(|(i, cutoff)| {
                format!(
                    "({} AND {})",
                    class_predicate(&cutoff.row),
                    past_a_cutoff(CUTOFF_PARAMS * i + 1)
                )
            })
            .collect::<Vec<_>>()
            .join(" OR ");
        let sql = format!(
            "SELECT {columns}, u.is_admin AS is_admin \
             FROM ({arms}) AS c CROSS JOIN sessions s CROSS JOIN users u \
             WHERE s.id_hash = c.id_hash AND u.id = s.user_id AND s.ended_at IS NULL \
             AND ({due}) LIMIT {limit}"
        );
        let mut query = sqlx::query(&sql);
        for cutoff in cutoffs {
            query = query
                .bind(cutoff.idle_before)
                .bind(cutoff.absolute_before)
                .bind(cutoff.tabs_closed_before)
                .bind(cutoff.tabs_visible_before);
        }
        let rows = query.fetch_all(self.db.pool()).await?;
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
            ip: ending.client.ip_text(),
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
pub(crate) fn values_rows(rows: usize, types: &[&str]) -> String {
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

/// One class's cut-offs for [`Sessions::expiry_candidates`]: a session of `row`'s class is due
/// when its last activity is at or before `idle_before`, its sign-in at or before
/// `absolute_before`, or its tabs closed at or before `tabs_closed_before` or were last heard
/// visible at or before `tabs_visible_before` (`i64::MIN` for a limit that is off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassCutoff {
    /// The class and the sessions it takes.
    pub row: ClassRow,
    /// The latest last activity that is past the idle limit.
    pub idle_before: i64,
    /// The latest sign-in that is past the absolute limit.
    pub absolute_before: i64,
    /// The latest close of the last tab that is past `last_tab_grace`.
    pub tabs_closed_before: i64,
    /// The latest word from a visible tab that is past the silence a tab may keep.
    pub tabs_visible_before: i64,
}

/// How many query parameters one [`ClassCutoff`] takes, in the order of its fields.
const CUTOFF_PARAMS: usize = 4;

/// The SQL condition on `s` that a session is past one of the cut-offs bound from `$first`
/// (idle, absolute, tabs closed, tabs visible).
fn past_a_cutoff(first: usize) -> String {
    let (idle, absolute, closed, visible) = (first, first + 1, first + 2, first + 3);
    format!(
        "(s.last_seen_at <= ${idle} OR s.created_at <= ${absolute} \
         OR (s.tabs_signal = 'closed' AND s.tabs_at <= ${closed}) \
         OR (s.tabs_signal = 'visible' AND s.tabs_at <= ${visible}))"
    )
}

/// The SQL condition on `s` (sessions) and `u` (their users) of the sessions `row` takes.
fn class_predicate(row: &ClassRow) -> String {
    let mut terms = vec!["1 = 1".to_owned()];
    if let Takes::Only(kind) = row.kind {
        terms.push(format!("s.kind = '{}'", kind.as_str()));
    }
    if let Takes::Only(remember) = row.remember {
        terms.push(format!("s.remember = {}", i64::from(remember)));
    }
    match row.admin {
        Takes::Only(true) => terms.push("u.is_admin <> 0".to_owned()),
        Takes::Only(false) => terms.push("u.is_admin = 0".to_owned()),
        Takes::Any => {}
    }
    terms.join(" AND ")
}

/// The sweep's index-range queries for one class (parameters from `$first`: idle, absolute,
/// tabs closed, tabs visible), each at most `limit` rows: the cost follows the sessions past a
/// limit, not the live ones. Sessions are walked by `sessions_live_last_seen`,
/// `sessions_live_signed_in` (kind, remember, time) and `sessions_live_tabs` (kind, remember,
/// signal, time), one query per limit; a class of administrators only is walked from
/// `users_admins` instead (administrators are few). `CROSS JOIN` keeps SQLite's join order;
/// SQLite's planner, seeing half the live sessions match `kind` and `remember`, would walk
/// every live session (134 ms against 2 ms on 200,000): it is told the index.
fn sweep_arms(row: &ClassRow, first: usize, limit: usize, db: DbKind) -> Vec<String> {
    let (idle, absolute, closed, visible) = (first, first + 1, first + 2, first + 3);
    let predicate = class_predicate(row);
    let alias = |n: usize| format!("a{n}");
    if row.admin == Takes::Only(true) {
        return vec![format!(
            "SELECT * FROM (SELECT s.id_hash FROM users u CROSS JOIN sessions s \
             WHERE s.user_id = u.id AND s.ended_at IS NULL AND {predicate} \
             AND {} LIMIT {limit}) AS {}",
            past_a_cutoff(first),
            alias(idle)
        )];
    }
    // Every value of a fact the index leads with is named, so that the range is used.
    let remember = match row.remember {
        Takes::Any => " AND s.remember IN (0, 1)",
        Takes::Only(_) => "",
    };
    let join = match row.admin {
        Takes::Only(_) => " JOIN users u ON u.id = s.user_id",
        Takes::Any => "",
    };
    [
        ("s.last_seen_at", "", "sessions_live_last_seen", idle),
        ("s.created_at", "", "sessions_live_signed_in", absolute),
        (
            "s.tabs_at",
            " AND s.tabs_signal = 'closed'",
            "sessions_live_tabs",
            closed,
        ),
        (
            "s.tabs_at",
            " AND s.tabs_signal = 'visible'",
            "sessions_live_tabs",
            visible,
        ),
    ]
    .into_iter()
    .map(|(column, signal, index, param)| {
        let indexed = match db {
            DbKind::Sqlite => format!(" INDEXED BY {index}"),
            DbKind::Postgres => String::new(),
        };
        format!(
            "SELECT * FROM (SELECT s.id_hash FROM sessions s{indexed}{join} \
                 WHERE s.ended_at IS NULL AND {predicate}{remember}{signal} AND {column} <= ${param} \
                 LIMIT {limit}) AS {}",
            alias(param)
        )
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_stored_as_before_and_a_stored_ip_that_is_no_address_reads_as_unknown() {
        let client = ClientInfo {
            ip: Some("2001:db8::7".parse().unwrap()),
            user_agent: Some("curl/8".into()),
        };
        let stored = serde_json::to_value(&client).unwrap();
        assert_eq!(
            stored,
            serde_json::json!({ "ip": "2001:db8::7", "user_agent": "curl/8" })
        );
        assert_eq!(
            serde_json::from_value::<ClientInfo>(stored).unwrap(),
            client
        );
        for stored in [
            serde_json::json!({ "ip": "203.0.113.0/24", "user_agent": null }),
            serde_json::json!({ "ip": null, "user_agent": null }),
            serde_json::json!({ "user_agent": null }),
        ] {
            assert_eq!(
                serde_json::from_value::<ClientInfo>(stored).unwrap(),
                ClientInfo::default()
            );
        }
        assert_eq!(client.ip_text().as_deref(), Some("2001:db8::7"));
    }
}
