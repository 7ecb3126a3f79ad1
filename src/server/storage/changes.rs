//! Keeping cached sessions and accounts true without re-reading them: every session end, change
//! of session data, change of an account and change of the JWT signing keys is logged in the
//! `changes` table by database triggers (whoever wrote it: this server, another instance, the command line), and each server
//! applies those changes to its caches.
//!
//! - PostgreSQL announces each change (`NOTIFY auto_logout_changes`) and every instance
//!   listens, so a change reaches all of them within milliseconds; activity is announced too.
//!   The log is read every [`LOG_SAFETY_NET`] as a safety net, and every [`LOG_POLL`] while the
//!   listener is down (every cache is cleared when it drops and when it reconnects:
//!   announcements may be lost meanwhile).
//!
//! When the log cannot be read, every cache is cleared: nothing cached is trusted while changes
//! may go unseen, so requests read the database (and fail closed if it is gone).
//! - SQLite cannot announce: the log is read every [`LOG_POLL`].
//!
//! Within one process a change needs neither: whoever ends a session or changes an account here
//! updates the caches directly. Either way the cost is per change, not per open tab.

use crate::clock::UnixMillis;
use crate::server::{
    db::{Database, DbKind},
    error::StoreError,
    gate::SessionGate,
    store::SqlSessionStore,
    tokens::JwtKeys,
    users::Users,
};
use sqlx::Row;
use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

/// The PostgreSQL channel the triggers announce changes on.
pub const CHANNEL: &str = "auto_logout_changes";
/// How often the log is read when changes are not announced (SQLite, or PostgreSQL while its
/// listener is down).
pub const LOG_POLL: Duration = Duration::from_millis(250);
/// How often the log is read as a safety net while PostgreSQL's announcements arrive (a failed
/// read clears every cache, so this is also how soon a lost database is noticed).
pub const LOG_SAFETY_NET: Duration = Duration::from_secs(10);
/// How long a hole in the log's numbering is waited for: a transaction that took a number may
/// commit after later ones (PostgreSQL); one that rolled back leaves the hole for good.
pub const GAP_WAIT_MILLIS: i64 = 10_000;
/// The most holes remembered at once (more are given up on: they are rollbacks).
const MAX_GAPS: usize = 1_000;
/// The most log rows read at once.
const LOG_BATCH: i64 = 5_000;
/// Log rows older than this are pruned.
pub const LOG_KEEP_MILLIS: i64 = 600_000;

/// One change that cached copies must apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The session ended or its data changed: drop every cached copy of it.
    Session(String),
    /// The account changed (password, status, role, name) or was deleted: drop every cached
    /// copy of it and of its sessions.
    User(i64),
    /// A session of the account was added (a sign-in): drop its kept device list.
    SessionAdded(i64),
    /// The JWT signing keys changed (a rotation): read the key set again. Names the key.
    JwtKeys(String),
    /// Activity was written for a live session (announced on PostgreSQL only, not logged).
    Activity {
        /// SHA-256 hex of the session id.
        id_hash: String,
        /// The activity time written.
        last_seen_at: UnixMillis,
    },
}

/// A change that could not be read (a newer server's format, or a hand-written row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeParseError {
    /// The kind is none of `session`, `user`, `session_added`, `jwt_keys`, `activity`.
    #[error("unknown change kind {0:?}")]
    UnknownKind(String),
    /// The key or a number is malformed.
    #[error("malformed change {0:?}")]
    Malformed(String),
}

impl Change {
    /// The change of a log row: `kind` and `key` as the triggers write them.
    ///
    /// # Errors
    /// [`ChangeParseError`] for an unknown kind or a malformed key.
    pub fn from_log(kind: &str, key: &str) -> Result<Self, ChangeParseError> {
        let malformed = || ChangeParseError::Malformed(format!("{kind}:{key}"));
        match kind {
            "session" if !key.is_empty() => Ok(Self::Session(key.to_owned())),
            "jwt_keys" if !key.is_empty() => Ok(Self::JwtKeys(key.to_owned())),
            "user" => key.parse().map(Self::User).map_err(|_| malformed()),
            "session_added" => key.parse().map(Self::SessionAdded).map_err(|_| malformed()),
            "session" | "jwt_keys" => Err(malformed()),
            other => Err(ChangeParseError::UnknownKind(other.to_owned())),
        }
    }
}

/// One PostgreSQL announcement: a logged change with its log number, or activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// The log row's number (`None` for activity, which is not logged).
    pub seq: Option<i64>,
    /// What changed.
    pub change: Change,
}

impl Announcement {
    /// Reads a payload: `session:<seq>:<id_hash>`, `user:<seq>:<id>`,
    /// `session_added:<seq>:<user id>`, `jwt_keys:<seq>:<kid>`
    /// or `activity:<id_hash>:<last_seen_at>`.
    ///
    /// # Errors
    /// [`ChangeParseError`] for anything else.
    pub fn parse(payload: &str) -> Result<Self, ChangeParseError> {
        let malformed = || ChangeParseError::Malformed(payload.to_owned());
        let (kind, rest) = payload.split_once(':').ok_or_else(malformed)?;
        let (first, second) = rest.split_once(':').ok_or_else(malformed)?;
        if kind == "activity" {
            let at = second.parse().map_err(|_| malformed())?;
            if first.is_empty() {
                return Err(malformed());
            }
            return Ok(Self {
                seq: None,
                change: Change::Activity {
                    id_hash: first.to_owned(),
                    last_seen_at: UnixMillis(at),
                },
            });
        }
        let seq = first.parse().map_err(|_| malformed())?;
        Ok(Self {
            seq: Some(seq),
            change: Change::from_log(kind, second)?,
        })
    }
}

/// Which log rows have been applied: every number up to `last`, except the holes that may
/// still be filled by transactions committing late. Each row is applied once.
#[derive(Debug, Clone, Default)]
pub struct LogCursor {
    last: i64,
    /// Missing numbers below `last`, with when they were noticed.
    gaps: BTreeMap<i64, UnixMillis>,
}

impl LogCursor {
    /// A cursor that has seen everything up to `last`.
    pub fn starting_after(last: i64) -> Self {
        Self {
            last,
            gaps: BTreeMap::new(),
        }
    }

    /// Read rows numbered above this.
    pub fn floor(&self) -> i64 {
        self.gaps.keys().next().map_or(self.last, |first| first - 1)
    }

    /// Records row `seq` seen at `now`; `true` when it is new and must be applied.
    pub fn accept(&mut self, seq: i64, now: UnixMillis) -> bool {
        if seq > self.last {
            let missing = (self.last + 1)..seq;
            if missing.end - missing.start <= (MAX_GAPS - self.gaps.len().min(MAX_GAPS)) as i64 {
                for hole in missing {
                    self.gaps.insert(hole, now);
                }
            }
            self.last = seq;
            true
        } else {
            self.gaps.remove(&seq).is_some()
        }
    }

    /// Gives up on holes older than [`GAP_WAIT_MILLIS`] at `now` (rolled-back numbers).
    pub fn expire(&mut self, now: UnixMillis) {
        self.gaps
            .retain(|_, noticed| now.as_millis() - noticed.as_millis() < GAP_WAIT_MILLIS);
    }
}

/// The caches a change reaches.
#[derive(Debug, Clone)]
pub struct Caches {
    gate: SessionGate,
    store: SqlSessionStore,
    users: Users,
    jwt: Option<JwtKeys>,
}

impl Caches {
    /// The gate's sessions, the store's records and the accounts.
    pub fn new(gate: SessionGate, store: SqlSessionStore, users: Users) -> Self {
        Self {
            gate,
            store,
            users,
            jwt: None,
        }
    }

    /// These caches and the JWT key set `keys`, read again when the keys change.
    pub fn with_jwt(mut self, keys: JwtKeys) -> Self {
        self.jwt = Some(keys);
        self
    }

    /// Applies `change` to every cache.
    pub fn apply(&self, change: &Change) {
        match change {
            Change::Session(id_hash) => {
                self.gate.forget(id_hash);
                self.store.forget(id_hash);
            }
            Change::User(id) => {
                self.users.forget(*id);
                self.gate.forget_user(*id);
            }
            Change::SessionAdded(id) => self.gate.sessions_added(*id),
            Change::JwtKeys(_) => {
                if let Some(jwt) = &self.jwt {
                    jwt.mark_stale();
                }
            }
            Change::Activity {
                id_hash,
                last_seen_at,
            } => self.gate.note_activity(id_hash, *last_seen_at),
        }
    }

    /// Drops everything cached (changes may have been missed); the JWT keys are read again
    /// at their next use.
    pub fn clear(&self) {
        self.gate.forget_all();
        self.store.forget_all();
        self.users.forget_all();
        if let Some(jwt) = &self.jwt {
            jwt.mark_stale();
        }
    }
}

/// Applies the changes other writers make to this server's caches, for as long as it runs.
#[derive(Debug, Clone)]
pub struct ChangeFollower {
    db: Database,
    caches: Caches,
    cursor: Arc<Mutex<LogCursor>>,
    listening: Arc<AtomicBool>,
}

impl ChangeFollower {
    /// Follows the changes logged in `db` from now on, applying them to `caches`.
    ///
    /// # Errors
    /// Database errors reading where the log stands.
    pub async fn start(db: Database, caches: Caches) -> Result<Self, StoreError> {
        let last: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS last FROM changes")
            .fetch_one(db.pool())
            .await?
            .try_get("last")?;
        Ok(Self {
            db,
            caches,
            cursor: Arc::new(Mutex::new(LogCursor::starting_after(last))),
            listening: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Runs the log reader and, on PostgreSQL, the listener, in this one task (dropping it
    /// stops both); never returns.
    pub async fn run(self) {
        if self.db.kind() == DbKind::Postgres {
            tokio::join!(self.clone().listen(), self.read_log_forever());
        } else {
            self.read_log_forever().await;
        }
    }

    /// Applies log rows not yet applied; how many.
    ///
    /// # Errors
    /// Database errors.
    pub async fn read_log_once(&self) -> Result<usize, StoreError> {
        let mut applied = 0;
        loop {
            let floor = self.lock_cursor().floor();
            let rows = sqlx::query(
                "SELECT seq, kind, key FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(floor)
            .bind(LOG_BATCH)
            .fetch_all(self.db.pool())
            .await?;
            let now = self.caches.gate.clock().now();
            let full = rows.len() as i64 == LOG_BATCH;
            for row in rows {
                let seq: i64 = row.try_get("seq")?;
                let kind: String = row.try_get("kind")?;
                let key: String = row.try_get("key")?;
                if self.lock_cursor().accept(seq, now) {
                    applied += 1;
                    self.apply_logged(&kind, &key);
                }
            }
            self.lock_cursor().expire(now);
            if !full {
                return Ok(applied);
            }
        }
    }

    fn apply_logged(&self, kind: &str, key: &str) {
        match Change::from_log(kind, key) {
            Ok(change) => self.caches.apply(&change),
            Err(err) => {
                // Something this server does not know changed: forget everything, to be safe.
                tracing::warn!(error = %err, "unreadable change in the log; clearing caches");
                self.caches.clear();
            }
        }
    }

    fn lock_cursor(&self) -> std::sync::MutexGuard<'_, LogCursor> {
        self.cursor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn read_log_forever(self) {
        loop {
            let pause = if self.listening.load(Ordering::Relaxed) {
                LOG_SAFETY_NET
            } else {
                LOG_POLL
            };
            tokio::time::sleep(pause).await;
            if let Err(err) = self.read_log_once().await {
                // Changes may be going unseen: trust nothing cached until the log is read again
                // (every request reads the database meanwhile, and fails if it is gone).
                tracing::warn!(error = %err, "reading the change log failed; clearing caches");
                self.caches.clear();
            }
        }
    }

    /// PostgreSQL: applies announcements as they come; reconnects (clearing every cache, as
    /// announcements may have been lost meanwhile) when the connection drops.
    async fn listen(self) {
        let mut pause = Duration::from_millis(100);
        loop {
            match self.listen_once().await {
                Ok(()) => pause = Duration::from_millis(100),
                Err(err) => {
                    tracing::warn!(error = %err, retry_in = ?pause, "change listener failed");
                    pause = (pause * 2).min(Duration::from_secs(10));
                }
            }
            // Announcements may be lost until it reconnects: trust nothing cached meanwhile.
            self.listening.store(false, Ordering::Relaxed);
            self.caches.clear();
            tokio::time::sleep(pause).await;
        }
    }

    /// Listens until the connection is lost.
    async fn listen_once(&self) -> Result<(), sqlx::Error> {
        let mut listener = sqlx::postgres::PgListener::connect(self.db.url()).await?;
        listener.listen(CHANNEL).await?;
        // Whatever changed while nobody listened: drop it all, then catch up on the log.
        self.caches.clear();
        self.listening.store(true, Ordering::Relaxed);
        if let Err(err) = self.read_log_once().await {
            tracing::warn!(error = %err, "reading the change log failed");
        }
        while let Some(notification) = listener.try_recv().await? {
            match Announcement::parse(notification.payload()) {
                Ok(Announcement { seq, change }) => {
                    let now = self.caches.gate.clock().now();
                    let new = seq.is_none_or(|seq| self.lock_cursor().accept(seq, now));
                    if new {
                        self.caches.apply(&change);
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "unreadable change announcement; clearing caches");
                    self.caches.clear();
                }
            }
        }
        // `None`: the connection was lost.
        Ok(())
    }
}

/// Deletes log rows older than [`LOG_KEEP_MILLIS`] before `now`; how many.
///
/// # Errors
/// Database errors.
pub async fn prune(db: &Database, now: UnixMillis) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM changes WHERE at < $1")
        .bind(now.as_millis() - LOG_KEEP_MILLIS)
        .execute(db.pool())
        .await?
        .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_are_read() {
        assert_eq!(
            Announcement::parse("session:7:abc").unwrap(),
            Announcement {
                seq: Some(7),
                change: Change::Session("abc".into())
            }
        );
        assert_eq!(
            Announcement::parse("user:8:42").unwrap().change,
            Change::User(42)
        );
        assert_eq!(
            Announcement::parse("jwt_keys:9:0a1b2c3d4e5f6071").unwrap(),
            Announcement {
                seq: Some(9),
                change: Change::JwtKeys("0a1b2c3d4e5f6071".into())
            }
        );
        assert_eq!(
            Announcement::parse("activity:abc:1700000000000").unwrap(),
            Announcement {
                seq: None,
                change: Change::Activity {
                    id_hash: "abc".into(),
                    last_seen_at: UnixMillis(1_700_000_000_000)
                }
            }
        );
    }

    #[test]
    fn malformed_announcements_are_errors_not_panics() {
        for bad in [
            "",
            "session",
            "session:x:abc",
            "session:1:",
            "user:1:bob",
            "jwt_keys:1:",
            "activity::5",
            "activity:abc:soon",
            "party:1:x",
        ] {
            assert!(Announcement::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(
            Announcement::parse("party:1:x").unwrap_err(),
            ChangeParseError::UnknownKind("party".into())
        );
    }

    #[test]
    fn each_row_is_applied_once_in_order() {
        let now = UnixMillis(1_000);
        let mut cursor = LogCursor::starting_after(10);
        assert!(!cursor.accept(9, now), "before the start");
        assert!(cursor.accept(11, now));
        assert!(!cursor.accept(11, now), "again");
        assert_eq!(cursor.floor(), 11);
    }

    #[test]
    fn a_late_commit_fills_its_hole_and_is_applied() {
        let now = UnixMillis(1_000);
        let mut cursor = LogCursor::starting_after(10);
        assert!(cursor.accept(13, now));
        // 11 and 12 may still commit: they are read again.
        assert_eq!(cursor.floor(), 10);
        assert!(cursor.accept(12, now));
        assert!(!cursor.accept(12, now));
        assert_eq!(cursor.floor(), 10);
        assert!(cursor.accept(11, now));
        assert_eq!(cursor.floor(), 13);
    }

    #[test]
    fn holes_are_given_up_after_the_wait() {
        let mut cursor = LogCursor::starting_after(0);
        assert!(cursor.accept(3, UnixMillis(0)));
        cursor.expire(UnixMillis(GAP_WAIT_MILLIS - 1));
        assert_eq!(cursor.floor(), 0);
        cursor.expire(UnixMillis(GAP_WAIT_MILLIS));
        assert_eq!(cursor.floor(), 3);
        assert!(!cursor.accept(1, UnixMillis(GAP_WAIT_MILLIS)));
    }

    #[test]
    fn a_huge_jump_remembers_no_holes() {
        let mut cursor = LogCursor::starting_after(0);
        assert!(cursor.accept(1_000_000, UnixMillis(0)));
        assert_eq!(cursor.floor(), 1_000_000);
    }
}
