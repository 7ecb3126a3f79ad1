//! The gate every request with a session passes: limits checked against the policy, expired
//! sessions ended (with the moment the limit passed), activity recorded — coalesced so that a
//! busy session costs at most one database write per small window, and never one per request.
//!
//! Sessions are read from an in-process cache. An entry is re-read from the database when it
//! is older than [`REVALIDATE_MILLIS`], so a session ended by another server instance is
//! refused here within that time; one ended on this instance is forgotten at once.

use super::{
    clock::SharedClock,
    error::StoreError,
    sessions::{ClientInfo, Ending, SessionRow, Sessions},
};
use crate::{
    clock::UnixMillis,
    dto::SessionStatus,
    event::EndReason,
    policy::{Deadlines, SessionTimes, TimeoutPolicy},
};
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

/// How long a cached session is trusted before it is re-read from the database.
pub const REVALIDATE_MILLIS: i64 = 1_000;
/// The longest activity-write window, whatever the idle limit.
pub const MAX_WRITE_WINDOW: Duration = Duration::from_secs(5);

/// The limits of ordinary and of "Remember me" sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Ordinary sessions.
    pub normal: TimeoutPolicy,
    /// "Remember me" sessions.
    pub remember: TimeoutPolicy,
}

impl Limits {
    /// The policy for a session.
    pub fn for_session(&self, remember: bool) -> &TimeoutPolicy {
        if remember {
            &self.remember
        } else {
            &self.normal
        }
    }
}

/// How long activity may go unwritten: 1% of the idle limit, at most [`MAX_WRITE_WINDOW`].
/// A session whose cache entry is lost can therefore look idle at most that much early.
pub fn write_window(policy: &TimeoutPolicy) -> i64 {
    let window = policy
        .idle
        .map_or(MAX_WRITE_WINDOW, |idle| (idle / 100).min(MAX_WRITE_WINDOW));
    i64::try_from(window.as_millis()).unwrap_or(i64::MAX)
}

/// Whether a request counts as activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// A request by the person: moves the idle deadline.
    Active,
    /// A status read, a static asset, a poller: never moves it.
    Passive,
}

/// A live session as the request handlers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSession {
    /// SHA-256 hex of the session id (the public session id).
    pub id_hash: String,
    /// The signed-in account.
    pub user_id: i64,
    /// Its username.
    pub username: String,
    /// What is left.
    pub status: SessionStatus,
    /// When the limits fall.
    pub deadlines: Deadlines,
    /// The moment of the check, for computing what is left.
    pub checked_at: UnixMillis,
}

impl ActiveSession {
    /// The countdown's view of this session at the moment of the check.
    pub fn countdown(&self) -> crate::dto::CountdownState {
        crate::dto::CountdownState::Active {
            idle_ms: self
                .deadlines
                .idle_end
                .map(|d| self.checked_at.millis_until(d)),
            session_ms: self
                .deadlines
                .session_end
                .map(|d| self.checked_at.millis_until(d)),
        }
    }
}

/// Put on a request whose session ended (now or earlier), so that pages and the countdown
/// can say why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionEnded(pub EndReason);

/// What the gate decided about a request's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No such live session (never issued, or not signed in): the request is anonymous.
    Unknown,
    /// The session has ended, now or before; the request is anonymous.
    Ended(EndReason),
    /// The session is live.
    Active(ActiveSession),
}

#[derive(Debug, Clone)]
struct Entry {
    user_id: i64,
    username: String,
    remember: bool,
    times: SessionTimes,
    written_activity: UnixMillis,
    read_at: UnixMillis,
}

struct Inner {
    sessions: Sessions,
    limits: Limits,
    clock: SharedClock,
    cache: Mutex<HashMap<String, Entry>>,
    activity_writes: AtomicU64,
}

/// Checks sessions against the limits and records activity. Cheap to clone.
#[derive(Clone)]
pub struct SessionGate {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SessionGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionGate")
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

fn end_reason_of(row: &SessionRow) -> EndReason {
    match row.end_reason.as_deref() {
        Some("idle_timeout") => EndReason::IdleTimeout,
        Some("absolute_timeout") => EndReason::AbsoluteTimeout,
        Some("revoked") => EndReason::Revoked,
        Some("suspended") => EndReason::Suspended,
        Some("session_limit") => EndReason::SessionLimit,
        _ => EndReason::Logout,
    }
}

impl SessionGate {
    /// A gate over `sessions` with these limits and clock.
    pub fn new(sessions: Sessions, limits: Limits, clock: SharedClock) -> Self {
        Self {
            inner: Arc::new(Inner {
                sessions,
                limits,
                clock,
                cache: Mutex::new(HashMap::new()),
                activity_writes: AtomicU64::new(0),
            }),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// How many activity writes this gate has made (for tests and metrics).
    pub fn activity_writes(&self) -> u64 {
        self.inner.activity_writes.load(Ordering::Relaxed)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.inner
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Drops a session from the cache (after ending it on this instance).
    pub fn forget(&self, id_hash: &str) {
        self.cache().remove(id_hash);
    }

    async fn load(
        &self,
        id_hash: &str,
        now: UnixMillis,
    ) -> Result<Result<Entry, Verdict>, StoreError> {
        let Some(row) = self.inner.sessions.find(id_hash).await? else {
            return Ok(Err(Verdict::Unknown));
        };
        if row.ended_at.is_some() {
            return Ok(Err(Verdict::Ended(end_reason_of(&row))));
        }
        let Some(user_id) = row.user_id else {
            return Ok(Err(Verdict::Unknown));
        };
        let username = self
            .inner
            .sessions
            .username_of(user_id)
            .await?
            .unwrap_or_default();
        let cached = self.cache().get(id_hash).cloned();
        let db_activity = UnixMillis(row.last_seen_at);
        let last_activity = cached
            .as_ref()
            .map_or(db_activity, |c| c.times.last_activity_at.max(db_activity));
        Ok(Ok(Entry {
            user_id,
            username,
            remember: row.remember,
            times: SessionTimes {
                created_at: UnixMillis(row.created_at),
                last_activity_at: last_activity,
            },
            written_activity: cached.map_or(db_activity, |c| c.written_activity.max(db_activity)),
            read_at: now,
        }))
    }

    /// Checks the session `id_hash` for a request from `client`.
    ///
    /// An expired session is ended here (audit time = the moment its limit passed) and the
    /// verdict is [`Verdict::Ended`]. A live one gets its activity recorded unless `activity`
    /// is passive.
    ///
    /// # Errors
    /// Database errors: callers must fail closed (refuse the request), never treat it as
    /// anonymous-but-allowed.
    pub async fn check(
        &self,
        id_hash: &str,
        activity: Activity,
        client: &ClientInfo,
    ) -> Result<Verdict, StoreError> {
        let now = self.inner.clock.now();
        let cached = self
            .cache()
            .get(id_hash)
            .filter(|e| now.as_millis() - e.read_at.as_millis() < REVALIDATE_MILLIS)
            .cloned();
        let mut entry = match cached {
            Some(entry) => entry,
            None => match self.load(id_hash, now).await? {
                Ok(entry) => entry,
                Err(verdict) => {
                    self.forget(id_hash);
                    return Ok(verdict);
                }
            },
        };
        let policy = *self.inner.limits.for_session(entry.remember);
        if let Some((reason, at)) = policy.expiry(entry.times, now) {
            self.end(id_hash, reason, at, client).await?;
            return Ok(Verdict::Ended(reason));
        }
        if activity == Activity::Active {
            entry.times = entry.times.touched(now);
            let due = now.as_millis() - entry.written_activity.as_millis() >= write_window(&policy);
            if due {
                self.inner.activity_writes.fetch_add(1, Ordering::Relaxed);
                let live = self
                    .inner
                    .sessions
                    .touch(id_hash, now, client.ip.as_deref())
                    .await?;
                if !live {
                    self.forget(id_hash);
                    return Ok(match self.inner.sessions.find(id_hash).await? {
                        Some(row) => Verdict::Ended(end_reason_of(&row)),
                        None => Verdict::Unknown,
                    });
                }
                entry.written_activity = now;
            }
        }
        let active = ActiveSession {
            id_hash: id_hash.to_owned(),
            user_id: entry.user_id,
            username: entry.username.clone(),
            status: policy.status(entry.times, now),
            deadlines: policy.deadlines(entry.times),
            checked_at: now,
        };
        self.cache().insert(id_hash.to_owned(), entry);
        Ok(Verdict::Active(active))
    }

    async fn end(
        &self,
        id_hash: &str,
        reason: EndReason,
        at: UnixMillis,
        client: &ClientInfo,
    ) -> Result<bool, StoreError> {
        self.forget(id_hash);
        self.inner
            .sessions
            .end(
                id_hash,
                Ending {
                    reason,
                    at,
                    actor_id: None,
                    detail: None,
                    client: client.clone(),
                },
            )
            .await
    }

    /// Ends every session whose limit passed while nobody was looking, recording the moment
    /// the limit passed (not the sweep's time). Activity still only in the cache counts.
    /// Returns how many sessions were ended.
    pub async fn sweep_once(&self) -> Result<usize, StoreError> {
        let now = self.inner.clock.now();
        let limits = self.inner.limits;
        let threshold = |a: Option<Duration>, b: Option<Duration>| -> i64 {
            match (a, b) {
                (None, None) => i64::MIN,
                (x, y) => {
                    let shortest = x.into_iter().chain(y).min().unwrap_or_default();
                    now.as_millis()
                        .saturating_sub(i64::try_from(shortest.as_millis()).unwrap_or(i64::MAX))
                }
            }
        };
        let idle_before = threshold(limits.normal.idle, limits.remember.idle);
        let created_before = threshold(limits.normal.absolute, limits.remember.absolute);
        let candidates = self
            .inner
            .sessions
            .expiry_candidates(idle_before, created_before)
            .await?;
        let mut ended = 0;
        for row in candidates {
            let cached_activity = self
                .cache()
                .get(&row.id_hash)
                .map(|e| e.times.last_activity_at);
            let times = SessionTimes {
                created_at: UnixMillis(row.created_at),
                last_activity_at: cached_activity.map_or(UnixMillis(row.last_seen_at), |c| {
                    c.max(UnixMillis(row.last_seen_at))
                }),
            };
            let policy = limits.for_session(row.remember);
            if let Some((reason, at)) = policy.expiry(times, now) {
                if self
                    .end(&row.id_hash, reason, at, &ClientInfo::default())
                    .await?
                {
                    ended += 1;
                }
            }
        }
        Ok(ended)
    }

    /// Runs [`SessionGate::sweep_once`] every `every`, forever; errors are logged and retried
    /// with a growing pause (up to a minute), never ending the loop.
    pub async fn sweep_forever(self, every: Duration) {
        let mut pause = every;
        loop {
            tokio::time::sleep(pause).await;
            match self.sweep_once().await {
                Ok(n) => {
                    if n > 0 {
                        tracing::info!(ended = n, "expiry sweep ended sessions");
                    }
                    pause = every;
                }
                Err(err) => {
                    pause = (pause * 2).min(Duration::from_secs(60));
                    tracing::warn!(error = %err, retry_in = ?pause, "expiry sweep failed");
                }
            }
        }
    }
}
