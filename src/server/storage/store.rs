//! The tower-sessions store: session data in the `sessions` table, keyed by the id's hash.
//!
//! Unlike an upsert-based store, this one never brings an ended session back: `save` updates
//! only live rows, `load` ignores ended rows and unknown ids (creating nothing), and `delete`
//! ends the row instead of removing it.

use crate::server::{
    audit::record_on,
    clock::SharedClock,
    db::Database,
    gate::{SessionClass, SessionGate},
    secret::hash_secret,
    sessions::{end_on, Ending, SessionMeta, META_KEY},
    AuditLog, NewAuditEntry,
};
use crate::{
    clock::UnixMillis,
    device_history::{is_new_device, DeviceHistory},
    event::{AuditEvent, EndReason, SessionKind},
    policy::SessionTimes,
    session_limit::{self, LimitDecision, LiveSession, SessionLimit, StoreRefusal},
};
use async_trait::async_trait;
use sqlx::Row;
use std::collections::HashMap;
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, SessionStore},
};

/// The longest a loaded record is served from memory. Ended sessions never reach `load` (the
/// session gate strips their cookie first); live data changes through `save` here, or
/// elsewhere, which [`crate::server::changes`] reports ([`SqlSessionStore::forget`]). The limit is
/// only a backstop.
const RECORD_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1_800);
/// A record nobody loaded in this long is dropped from memory.
const RECORD_CACHE_IDLE: std::time::Duration = std::time::Duration::from_secs(600);

/// The refusal a failed `Session::save` (or store `create`) was, if it was one: the session
/// limit, or an account that changed after its password was checked.
pub fn refusal_of(err: &tower_sessions::session::Error) -> Option<StoreRefusal> {
    match err {
        tower_sessions::session::Error::Store(session_store::Error::Backend(message)) => {
            StoreRefusal::from_message(message)
        }
        _ => None,
    }
}

/// The key in the session data that asks the store to give the session `id_hash` (the value)
/// the record's new id in place; see [`SqlSessionStore::prepare_cycle`].
pub const CYCLED_FROM_KEY: &str = "auto_logout.cycled_from";

/// The detail of a `login` audit entry whose sign-in came from a new device
/// ([`crate::device_history`]).
pub const NEW_DEVICE_DETAIL: &str = "new device";

/// The most id cycles under way at once in one process (each lasts one request).
const MAX_PENDING_CYCLES: usize = 10_000;

/// The per-user session limit, enforced where new sessions are stored.
#[derive(Clone)]
struct Admission {
    limit: SessionLimit,
    gate: SessionGate,
    audit: AuditLog,
}

/// A [`SessionStore`] over our own `sessions` table, storing only SHA-256 hashes of ids.
#[derive(Clone)]
pub struct SqlSessionStore {
    inner: std::sync::Arc<StoreInner>,
}

/// What [`SqlSessionStore`] shares between its clones (tower-sessions clones it per request).
struct StoreInner {
    db: Database,
    clock: SharedClock,
    records: moka::sync::Cache<String, Record>,
    admission: Option<Admission>,
    /// Id hashes whose next `delete` is the first half of an id cycle (not an end).
    cycling: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// Why storing a new session failed.
enum CreateError {
    /// The random id is taken (practically never); try another.
    Collision,
    /// The session limit refused it.
    Refused,
    /// The account changed (password, disabled) since the sign-in checked its password.
    AccountChanged,
    /// The session being cycled has ended meanwhile: it is not brought back.
    Ended,
    /// Anything else.
    Other(String),
}

impl From<sqlx::Error> for CreateError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::Database(e) if e.is_unique_violation() => CreateError::Collision,
            other => CreateError::Other(other.to_string()),
        }
    }
}

impl From<crate::server::StoreError> for CreateError {
    fn from(err: crate::server::StoreError) -> Self {
        match err {
            crate::server::StoreError::Database(e) => e.into(),
            other => CreateError::Other(other.to_string()),
        }
    }
}

/// Inserts the row of a new session on `conn`.
/// Remembers `device` for the account `user_id` (first seen `now`); whether the sign-in is
/// from a new device ([`crate::device_history`]).
async fn remember_device(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    device: &str,
    now: UnixMillis,
) -> Result<bool, sqlx::Error> {
    let account_had_devices = sqlx::query("SELECT 1 FROM known_devices WHERE user_id = $1 LIMIT 1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    let first_time = sqlx::query(
        "INSERT INTO known_devices (user_id, device, first_seen) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, device) DO NOTHING",
    )
    .bind(user_id)
    .bind(device)
    .bind(now.as_millis())
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    Ok(is_new_device(DeviceHistory {
        account_had_devices,
        seen_before: !first_time,
    }))
}

async fn insert_row(
    conn: &mut sqlx::AnyConnection,
    record: &Record,
    meta: Option<&SessionMeta>,
    new_device: bool,
    data: &str,
    now: UnixMillis,
) -> Result<(), sqlx::Error> {
    let created_at = meta.map_or(now, |m| m.created_at);
    // The sign-in's IP is the session's first and its last.
    let ip = meta.and_then(|m| m.client.ip_text());
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, kind, data, remember, created_at, \
         last_seen_at, expires_at, ip, last_ip, user_agent, credential_epoch, new_device) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id_hash(&record.id))
    .bind(meta.map(|m| m.user_id))
    .bind(meta.map_or(SessionKind::Browser, |m| m.kind).as_str())
    .bind(data)
    .bind(i64::from(meta.is_some_and(|m| m.remember)))
    .bind(created_at.as_millis())
    .bind(now.as_millis())
    .bind(millis(record.expiry_date))
    .bind(ip.clone())
    .bind(ip)
    .bind(meta.and_then(|m| m.client.user_agent.clone()))
    .bind(meta.map_or(0, |m| m.credential_epoch))
    .bind(i64::from(new_device))
    .execute(conn)
    .await?;
    Ok(())
}

impl std::fmt::Debug for SqlSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlSessionStore").finish_non_exhaustive()
    }
}

impl SqlSessionStore {
    /// A store writing to `db`, reading the time from `clock`.
    pub fn new(db: Database, clock: SharedClock) -> Self {
        Self::build(db, clock, None)
    }

    fn build(db: Database, clock: SharedClock, admission: Option<Admission>) -> Self {
        Self {
            inner: std::sync::Arc::new(StoreInner {
                db,
                clock,
                records: moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(RECORD_CACHE_TTL)
                    .time_to_idle(RECORD_CACHE_IDLE)
                    .build(),
                admission,
                cycling: std::sync::Mutex::default(),
            }),
        }
    }

    /// Drops the cached record of the session `id_hash` (it ended, or its data changed
    /// elsewhere).
    pub fn forget(&self, id_hash: &str) {
        self.inner.records.invalidate(id_hash);
    }

    /// Drops every cached record.
    pub fn forget_all(&self) {
        self.inner.records.invalidate_all();
    }

    /// Enforces `limit` on every new signed-in session, in the database: one user's
    /// admissions are serialised by a lock on their account row (PostgreSQL) or the write
    /// lock (SQLite), so several server instances on one database cannot both admit past the
    /// limit. Sessions ended to make room go through `gate` (never served again here) and are
    /// audited `session_limit`; a refused sign-in is audited in `audit` and its save fails
    /// with [`StoreRefusal::SessionLimit`] (see [`refusal_of`]).
    ///
    /// Every new signed-in session is stored together with its `login` audit entry, limit or
    /// not: a sign-in either fully happened or did not.
    pub fn with_session_limit(
        self,
        limit: SessionLimit,
        gate: SessionGate,
        audit: AuditLog,
    ) -> Self {
        Self::build(
            self.inner.db.clone(),
            self.inner.clock.clone(),
            Some(Admission { limit, gate, audit }),
        )
    }

    #[tracing::instrument(name = "db.session_create", skip_all)]
    async fn insert(
        &self,
        record: &Record,
        meta: Option<&SessionMeta>,
        data: &str,
    ) -> Result<(), CreateError> {
        let now = self.inner.clock.now();
        let Some(meta) = meta else {
            let mut conn = self.inner.db.pool().acquire().await?;
            insert_row(&mut conn, record, None, false, data, now).await?;
            return Ok(());
        };
        let mut tx = self.inner.db.pool().begin().await?;
        // The first statement writes: it waits for any other admission or credential change of
        // this account (row lock on PostgreSQL, the write lock on SQLite), then stores nothing
        // unless the account still has the credential epoch the password was checked under
        // and is not disabled. A password change or disable that committed first wins; one
        // that commits later sees this session when it ends the account's sessions.
        let unchanged = sqlx::query(
            "UPDATE users SET credential_epoch = credential_epoch \
             WHERE id = $1 AND credential_epoch = $2 AND disabled_at IS NULL",
        )
        .bind(meta.user_id)
        .bind(meta.credential_epoch)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !unchanged {
            tx.rollback().await?;
            self.record_account_changed(meta, now).await?;
            return Err(CreateError::AccountChanged);
        }
        let mut guard = None;
        if let Some(admission) = self.inner.admission.as_ref().filter(|a| a.limit.max > 0) {
            match self.admit(admission, &mut tx, meta, now).await? {
                LimitDecision::Deny { active } => {
                    tx.rollback().await?;
                    self.record_refusal(admission, meta, active, now).await?;
                    return Err(CreateError::Refused);
                }
                LimitDecision::Admit { end } => {
                    guard = Some((
                        admission.gate.begin_ending(&end, EndReason::SessionLimit),
                        end,
                        admission.limit.max,
                    ));
                }
            }
        }
        let written = async {
            if let Some((_, end, max)) = &guard {
                for id in end {
                    end_on(
                        &mut tx,
                        id,
                        Ending {
                            reason: EndReason::SessionLimit,
                            at: now,
                            actor_id: None,
                            detail: Some(format!(
                                "ended to make room for a new sign-in (limit {max})"
                            )),
                            client: meta.client.clone(),
                        },
                    )
                    .await?;
                }
            }
            let new_device = match &meta.device {
                Some(device) => remember_device(&mut tx, meta.user_id, device, now).await?,
                None => false,
            };
            insert_row(&mut tx, record, Some(meta), new_device, data, now).await?;
            // The sign-in and its audit entry commit together: no session without its `login`.
            record_on(
                &mut tx,
                NewAuditEntry {
                    user_id: Some(meta.user_id),
                    username: Some(meta.username.clone()).filter(|u| !u.is_empty()),
                    session_hash: Some(id_hash(&record.id)),
                    ip: meta.client.ip_text(),
                    user_agent: meta.client.user_agent.clone(),
                    detail: new_device.then(|| NEW_DEVICE_DETAIL.to_owned()),
                    ..NewAuditEntry::new(AuditEvent::Login, now)
                },
            )
            .await?;
            tx.commit().await?;
            Ok::<(), CreateError>(())
        }
        .await;
        if written.is_ok() {
            self.inner.db.listings().changed(meta.user_id);
            crate::server::telemetry::sign_in(crate::server::telemetry::SignInOutcome::Success);
        }
        match (written, guard) {
            (Ok(()), Some((guard, end, _))) => {
                guard.committed();
                crate::server::telemetry::sessions_ended(EndReason::SessionLimit, end.len() as u64);
            }
            (Err(err), Some((guard, ..))) => {
                guard.failed();
                return Err(err);
            }
            (result, None) => result?,
        }
        Ok(())
    }

    /// Waits for any other admission of this user, then decides the session limit on `tx`.
    async fn admit(
        &self,
        admission: &Admission,
        tx: &mut sqlx::AnyConnection,
        meta: &SessionMeta,
        now: UnixMillis,
    ) -> Result<LimitDecision, CreateError> {
        // `insert` has locked the account row: other admissions of this user wait for this one.
        let admin = sqlx::query("SELECT is_admin FROM users WHERE id = $1")
            .bind(meta.user_id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.try_get::<i64, _>("is_admin"))
            .transpose()?
            .is_some_and(|flag| flag != 0);
        let rows = sqlx::query(
            "SELECT id_hash, kind, created_at, last_seen_at, remember, tabs_signal, tabs_at \
             FROM sessions \
             WHERE user_id = $1 AND ended_at IS NULL",
        )
        .bind(meta.user_id)
        .fetch_all(&mut *tx)
        .await?;
        let limits = admission.gate.limits();
        let mut live = Vec::with_capacity(rows.len());
        for row in &rows {
            let times = SessionTimes {
                created_at: UnixMillis(row.try_get("created_at")?),
                last_activity_at: UnixMillis(row.try_get("last_seen_at")?),
                tabs: crate::server::sessions::tabs_of(row)?,
            };
            let remember = row.try_get::<i64, _>("remember")? != 0;
            let kind = SessionKind::from_stored(row.try_get::<&str, _>("kind")?);
            if limits
                .for_session(SessionClass {
                    kind,
                    remember,
                    admin,
                })
                .expiry(times, now)
                .is_none()
            {
                live.push(LiveSession {
                    id: row.try_get("id_hash")?,
                    created_at: times.created_at,
                });
            }
        }
        Ok(session_limit::admit(&admission.limit, &live))
    }

    /// Audits a sign-in whose session was not stored because its account changed meanwhile.
    async fn record_account_changed(
        &self,
        meta: &SessionMeta,
        now: UnixMillis,
    ) -> Result<(), CreateError> {
        AuditLog::new(self.inner.db.clone())
            .record(NewAuditEntry {
                user_id: Some(meta.user_id),
                username: Some(meta.username.clone()).filter(|u| !u.is_empty()),
                ip: meta.client.ip_text(),
                user_agent: meta.client.user_agent.clone(),
                detail: Some(
                    "the password was changed or the account disabled during the sign-in"
                        .to_owned(),
                ),
                ..NewAuditEntry::new(AuditEvent::LoginFailed, now)
            })
            .await?;
        Ok(())
    }

    /// Marks the session `id_hash` for an id cycle: the store's next `delete` of it does not
    /// end it, and the `create` that follows (with [`CYCLED_FROM_KEY`] in its data) moves the
    /// row to the new id in place. Used by [`crate::server::session_start::cycle_session_id`].
    ///
    /// # Errors
    /// [`StoreError::Busy`](crate::server::StoreError::Busy) when too many cycles are under way.
    pub fn prepare_cycle(&self, id_hash: &str) -> Result<(), crate::server::StoreError> {
        let mut cycling = self
            .inner
            .cycling
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cycling.len() >= MAX_PENDING_CYCLES {
            return Err(crate::server::StoreError::Busy {
                retry_after_secs: 1,
            });
        }
        cycling.insert(id_hash.to_owned());
        Ok(())
    }

    /// Forgets a cycle prepared for `id_hash` (used, or given up); whether one was prepared.
    pub fn take_prepared_cycle(&self, id_hash: &str) -> bool {
        self.inner
            .cycling
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id_hash)
    }

    /// Whether a cycle is prepared for `id_hash`.
    fn is_cycling(&self, id_hash: &str) -> bool {
        self.inner
            .cycling
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(id_hash)
    }

    /// The second half of an id cycle: the live row of `old_hash` takes the record's id and
    /// data. Nothing is stored when that session has ended meanwhile.
    async fn cycle(&self, old_hash: &str, record: &Record, data: &str) -> Result<(), CreateError> {
        let done = sqlx::query(
            "UPDATE sessions SET id_hash = $1, data = $2, expires_at = $3 \
             WHERE id_hash = $4 AND ended_at IS NULL",
        )
        .bind(id_hash(&record.id))
        .bind(data)
        .bind(millis(record.expiry_date))
        .bind(old_hash)
        .execute(self.inner.db.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(CreateError::Ended);
        }
        // The account's list names the session by its id hash, which changed.
        self.inner.db.listings().changed_everyone();
        Ok(())
    }

    async fn record_refusal(
        &self,
        admission: &Admission,
        meta: &SessionMeta,
        active: usize,
        now: UnixMillis,
    ) -> Result<(), CreateError> {
        let max = admission.limit.max;
        admission
            .audit
            .record(NewAuditEntry {
                user_id: Some(meta.user_id),
                username: Some(meta.username.clone()).filter(|u| !u.is_empty()),
                ip: meta.client.ip_text(),
                user_agent: meta.client.user_agent.clone(),
                detail: Some(format!(
                    "sign-in refused: {active} active sessions (limit {max})"
                )),
                ..NewAuditEntry::new(AuditEvent::SessionLimit, now)
            })
            .await?;
        Ok(())
    }
}

/// The database key of a session id: the SHA-256 of its cookie form.
///
/// A request hashes its session id twice, in the session layer's check and in the store's
/// load, one after the other on one thread: the last id hashed on each thread is remembered,
/// so the second is a comparison, not another digest.
pub fn id_hash(id: &Id) -> String {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(Id, String)>> =
            const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((seen, hash)) if seen == id => hash.clone(),
            _ => {
                let hash = hash_secret(&id.to_string());
                *last = Some((*id, hash.clone()));
                hash
            }
        }
    })
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
        if let Some(old) = record.data.remove(CYCLED_FROM_KEY) {
            let old = old.as_str().unwrap_or_default().to_owned();
            let data = serde_json::to_string(&record.data).map_err(backend)?;
            let cycled = if self.take_prepared_cycle(&old) {
                self.inner.records.invalidate(&old);
                let mut result = Err(CreateError::Collision);
                for _ in 0..4 {
                    result = self.cycle(&old, record, &data).await;
                    if !matches!(result, Err(CreateError::Collision)) {
                        break;
                    }
                    record.id = Id::default();
                }
                result
            } else {
                Err(CreateError::Ended)
            };
            return match cycled {
                Ok(()) => Ok(()),
                Err(CreateError::Ended) => Err(backend("the session has ended")),
                Err(_) => Err(backend("the session id could not be cycled")),
            };
        }
        let meta: Option<SessionMeta> = record
            .data
            .get(META_KEY)
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        let data = serde_json::to_string(&record.data).map_err(backend)?;
        // A fresh random 128-bit id collides practically never; retry a few times if it does.
        for _ in 0..4 {
            self.inner.records.invalidate(&id_hash(&record.id));
            match self.insert(record, meta.as_ref(), &data).await {
                Ok(()) => return Ok(()),
                Err(CreateError::Collision) => record.id = Id::default(),
                Err(CreateError::Refused) => {
                    return Err(backend(StoreRefusal::SessionLimit.message()))
                }
                Err(CreateError::AccountChanged) => {
                    return Err(backend(StoreRefusal::AccountChanged.message()))
                }
                Err(CreateError::Ended) => return Err(backend("the session has ended")),
                Err(CreateError::Other(e)) => return Err(backend(e)),
            }
        }
        Err(backend("could not find a free session id"))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.inner.records.invalidate(&id_hash(&record.id));
        let data = serde_json::to_string(&record.data).map_err(backend)?;
        // Only live rows: a session ended while this request was in flight stays ended.
        sqlx::query(
            "UPDATE sessions SET data = $1, expires_at = $2 WHERE id_hash = $3 AND ended_at IS NULL",
        )
        .bind(&data)
        .bind(millis(record.expiry_date))
        .bind(id_hash(&record.id))
        .execute(self.inner.db.pool())
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let key = id_hash(session_id);
        if let Some(record) = self.inner.records.get(&key) {
            return Ok(Some(record));
        }
        let row = sqlx::query(
            "SELECT data, expires_at FROM sessions WHERE id_hash = $1 AND ended_at IS NULL",
        )
        .bind(&key)
        .fetch_optional(self.inner.db.pool())
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
        self.inner.records.insert(key, record.clone());
        Ok(Some(record))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        let hash = id_hash(session_id);
        self.inner.records.invalidate(&hash);
        // The first half of an id cycle: the row lives on under the new id (see `create`).
        if self.is_cycling(&hash) {
            return Ok(());
        }
        // Ending (not removing) keeps the row for the sessions list and makes the end final.
        // Handlers end sessions with their true reason and an audit entry before this runs;
        // this is the fallback for ends that tower-sessions or axum-login start themselves
        // (a session whose account's password changed), audited like any other end.
        let mut tx = self.inner.db.pool().begin().await.map_err(backend)?;
        end_on(
            &mut tx,
            &hash,
            Ending {
                reason: EndReason::Logout,
                at: self.inner.clock.now(),
                actor_id: None,
                detail: Some("ended by the session framework".to_owned()),
                client: crate::server::sessions::ClientInfo::default(),
            },
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        self.inner.db.listings().changed_everyone();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_id_hash_is_the_digest_of_that_id() {
        let (first, second) = (Id(1), Id(-7));
        let digest = |id: Id| hash_secret(&id.to_string());
        for id in [first, first, second, first, second, second] {
            assert_eq!(id_hash(&id), digest(id));
        }
        assert_ne!(id_hash(&first), id_hash(&second));
    }
}
