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
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

/// How long a cached session is trusted before it is re-read from the database.
pub const REVALIDATE_MILLIS: i64 = 500;
/// The longest activity-write window, whatever the idle limit.
pub const MAX_WRITE_WINDOW: Duration = Duration::from_secs(5);
/// The most sessions the gate keeps in memory; beyond it the least used are re-read on demand.
pub const CACHE_CAPACITY: u64 = 100_000;
/// A cached session nobody asked for in this long is dropped from memory.
pub const CACHE_IDLE: Duration = Duration::from_secs(600);
/// How long this instance remembers that it ended a session: far longer than any check in
/// flight, after which the ended row in the database says the same.
pub const ENDED_MARK_TTL: Duration = Duration::from_secs(120);

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

/// What a revocation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// This many sessions were ended.
    Ended(usize),
    /// An id was not a live session of the owner; nothing changed.
    NotFound,
    /// No id was given; nothing changed.
    NothingNamed,
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
    user_agent: Option<String>,
    last_ip: Option<String>,
    times: SessionTimes,
    written_activity: UnixMillis,
    read_at: UnixMillis,
}

/// What this instance knows of a session it is ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndMark {
    /// An end is being written (by the guard holding this token): serve only from the
    /// database, never cache it as live.
    Pending(u64),
    /// The end is committed: refuse it, even to a check that read the row just before.
    Committed(EndReason),
}

/// Tokens telling apart the guards of concurrent ends of one session.
static NEXT_GUARD: AtomicU64 = AtomicU64::new(1);

struct Inner {
    sessions: Sessions,
    limits: Limits,
    bind_user_agent: bool,
    clock: SharedClock,
    /// Live sessions, bounded in number and dropped when unused.
    cache: moka::sync::Cache<String, Entry>,
    /// Sessions this instance is ending or has ended (bounded, expiring).
    end_marks: moka::sync::Cache<String, EndMark>,
    activity_writes: AtomicU64,
}

/// Marks sessions as being ended while their end is written. Say how it went:
/// [`EndingGuard::committed`] (this instance refuses them from now on) or
/// [`EndingGuard::failed`] (the marks go; nothing reports them as ended). A guard dropped
/// without either (its request was abandoned mid-write) leaves its marks pending: checks then
/// read those sessions from the database until the marks expire, which is always right.
#[must_use = "say whether the end was committed or failed"]
pub struct EndingGuard {
    gate: SessionGate,
    ids: Vec<String>,
    reason: EndReason,
    token: u64,
}

impl EndingGuard {
    /// The ends are committed: this instance refuses these sessions from now on.
    pub fn committed(self) {
        for id in &self.ids {
            self.gate
                .inner
                .end_marks
                .insert(id.clone(), EndMark::Committed(self.reason));
            self.gate.forget(id);
        }
    }

    /// The ends failed: withdraws this guard's marks (never another guard's, never a
    /// committed end).
    pub fn failed(self) {
        for id in &self.ids {
            self.gate
                .inner
                .end_marks
                .entry(id.clone())
                .and_compute_with(|mark| match mark.map(|m| m.into_value()) {
                    Some(EndMark::Pending(token)) if token == self.token => {
                        moka::ops::compute::Op::Remove
                    }
                    _ => moka::ops::compute::Op::Nop,
                });
        }
    }
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

/// Why an ended row ended (`logout` for anything unrecognised).
fn end_reason_of(row: &SessionRow) -> EndReason {
    row.end_reason
        .as_deref()
        .and_then(EndReason::from_stored)
        .unwrap_or(EndReason::Logout)
}

impl SessionGate {
    /// A gate over `sessions` with these limits and clock. With `bind_user_agent`, a session
    /// presented by another user agent than the one it signed in with is suspended.
    pub fn new(
        sessions: Sessions,
        limits: Limits,
        bind_user_agent: bool,
        clock: SharedClock,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                sessions,
                limits,
                bind_user_agent,
                clock,
                cache: moka::sync::Cache::builder()
                    .max_capacity(CACHE_CAPACITY)
                    .time_to_idle(CACHE_IDLE)
                    .build(),
                end_marks: moka::sync::Cache::builder()
                    .max_capacity(CACHE_CAPACITY)
                    .time_to_live(ENDED_MARK_TTL)
                    .build(),
                activity_writes: AtomicU64::new(0),
            }),
        }
    }

    /// The clock every decision reads.
    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// How many activity writes this gate has made (for tests and metrics).
    pub fn activity_writes(&self) -> u64 {
        self.inner.activity_writes.load(Ordering::Relaxed)
    }

    /// How many sessions are cached (approximate; for tests and metrics).
    pub fn cached_sessions(&self) -> u64 {
        self.inner.cache.run_pending_tasks();
        self.inner.cache.entry_count()
    }

    /// Drops a session from the cache (after ending it on this instance).
    pub fn forget(&self, id_hash: &str) {
        self.inner.cache.invalidate(id_hash);
    }

    /// Marks `ids` as being ended with `reason` before the end is written: until the guard is
    /// committed or dropped, checks read these sessions from the database and never cache them.
    pub fn begin_ending(&self, ids: &[String], reason: EndReason) -> EndingGuard {
        let token = NEXT_GUARD.fetch_add(1, Ordering::Relaxed);
        for id in ids {
            self.inner
                .end_marks
                .entry(id.clone())
                .and_compute_with(|mark| match mark.map(|m| m.into_value()) {
                    // A committed end stays committed.
                    Some(EndMark::Committed(_)) => moka::ops::compute::Op::Nop,
                    _ => moka::ops::compute::Op::Put(EndMark::Pending(token)),
                });
            self.forget(id);
        }
        EndingGuard {
            gate: self.clone(),
            ids: ids.to_vec(),
            reason,
            token,
        }
    }

    /// Ends the session `id_hash` (audited, final). Nothing reports it as ended before the end
    /// is committed; once it is, this instance never serves it again. When the database write
    /// fails the error is returned and no trace of the attempt remains.
    /// Returns `false` when it had already ended.
    ///
    /// # Errors
    /// Database errors: the session is still live and callers must say the end failed.
    pub async fn end_session(&self, id_hash: &str, ending: Ending) -> Result<bool, StoreError> {
        let guard = self.begin_ending(&[id_hash.to_owned()], ending.reason);
        match self.inner.sessions.end(id_hash, ending).await {
            Ok(ended) => {
                guard.committed();
                Ok(ended)
            }
            Err(err) => {
                guard.failed();
                Err(err)
            }
        }
    }

    fn end_mark(&self, id_hash: &str) -> Option<EndMark> {
        self.inner.end_marks.get(id_hash)
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
        let cached = self.inner.cache.get(id_hash);
        let db_activity = UnixMillis(row.last_seen_at);
        let last_activity = cached
            .as_ref()
            .map_or(db_activity, |c| c.times.last_activity_at.max(db_activity));
        Ok(Ok(Entry {
            user_id,
            username,
            remember: row.remember,
            user_agent: row.user_agent.clone(),
            last_ip: row.last_ip.clone(),
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
        let cached = if self.end_mark(id_hash).is_some() {
            None
        } else {
            self.inner
                .cache
                .get(id_hash)
                .filter(|e| now.as_millis() - e.read_at.as_millis() < REVALIDATE_MILLIS)
        };
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
        if self.inner.bind_user_agent && client.user_agent != entry.user_agent {
            let detail = format!(
                "presented by another user agent: signed in with {:?}, now {:?}",
                entry.user_agent.as_deref().unwrap_or(""),
                client.user_agent.as_deref().unwrap_or("")
            );
            self.end_session(
                id_hash,
                Ending {
                    reason: EndReason::Suspended,
                    at: now,
                    actor_id: None,
                    detail: Some(detail),
                    client: client.clone(),
                },
            )
            .await?;
            return Ok(Verdict::Ended(EndReason::Suspended));
        }
        let ip_changed = client.ip.is_some() && client.ip != entry.last_ip;
        if ip_changed && activity == Activity::Passive {
            // A changed IP is recorded even when the request is not activity.
            if let Some(ip) = client.ip.as_deref() {
                self.inner.sessions.set_last_ip(id_hash, ip).await?;
            }
            entry.last_ip = client.ip.clone();
        }
        if activity == Activity::Active {
            entry.times = entry.times.touched(now);
            let due = ip_changed
                || now.as_millis() - entry.written_activity.as_millis() >= write_window(&policy);
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
                entry.last_ip = client.ip.clone();
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
        match self.end_mark(id_hash) {
            // Ended on this instance while this check ran: do not serve it.
            Some(EndMark::Committed(reason)) => return Ok(Verdict::Ended(reason)),
            // Being ended: serve what the database said, but never cache it as live.
            Some(EndMark::Pending(_)) => {}
            None => self.inner.cache.insert(id_hash.to_owned(), entry),
        }
        Ok(Verdict::Active(active))
    }

    async fn end(
        &self,
        id_hash: &str,
        reason: EndReason,
        at: UnixMillis,
        client: &ClientInfo,
    ) -> Result<bool, StoreError> {
        self.end_session(
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

    /// The owner's live sessions (expired ones left out), newest first; `current` marks the
    /// requesting session.
    pub async fn devices_of(
        &self,
        user_id: i64,
        current: Option<&str>,
    ) -> Result<Vec<crate::dto::DeviceSession>, StoreError> {
        let now = self.inner.clock.now();
        let rows = self.inner.sessions.active_for_user(user_id).await?;
        Ok(rows
            .iter()
            .filter(|row| {
                let times = SessionTimes {
                    created_at: UnixMillis(row.created_at),
                    last_activity_at: UnixMillis(row.last_seen_at),
                };
                self.inner
                    .limits
                    .for_session(row.remember)
                    .expiry(times, now)
                    .is_none()
            })
            .map(|row| super::devices::device_session(row, current))
            .collect())
    }

    /// Signs out the owner's sessions `ids` (audit `revoked`, actor = `actor_id`).
    ///
    /// All or nothing: if any id is not a live session of `owner` (another user's, ended,
    /// unknown), nothing changes and the answer is [`RevokeOutcome::NotFound`]. An empty list
    /// changes nothing either.
    pub async fn revoke(
        &self,
        owner: i64,
        ids: &[String],
        actor_id: i64,
        client: &ClientInfo,
    ) -> Result<RevokeOutcome, StoreError> {
        if ids.is_empty() {
            return Ok(RevokeOutcome::NothingNamed);
        }
        let live: Vec<String> = self
            .inner
            .sessions
            .active_for_user(owner)
            .await?
            .into_iter()
            .map(|row| row.id_hash)
            .collect();
        if !ids.iter().all(|id| live.contains(id)) {
            return Ok(RevokeOutcome::NotFound);
        }
        let mut ended = 0;
        for id in ids {
            if self.revoke_one(id, actor_id, None, client).await? {
                ended += 1;
            }
        }
        Ok(RevokeOutcome::Ended(ended))
    }

    /// Signs out every live session of `owner` except `keep` (audit `revoked`).
    pub async fn revoke_all_except(
        &self,
        owner: i64,
        keep: Option<&str>,
        actor_id: i64,
        client: &ClientInfo,
    ) -> Result<usize, StoreError> {
        self.revoke_all(owner, keep, actor_id, None, client).await
    }

    /// Signs out every live session of `user` after a password change (audit `revoked` with
    /// the detail "password changed", actor = the user): a new password signs out everywhere
    /// the old one was known (SPEC §6).
    pub async fn password_changed(&self, user: i64) -> Result<usize, StoreError> {
        self.revoke_all(
            user,
            None,
            user,
            Some("password changed"),
            &ClientInfo::default(),
        )
        .await
    }

    async fn revoke_all(
        &self,
        owner: i64,
        keep: Option<&str>,
        actor_id: i64,
        detail: Option<&str>,
        client: &ClientInfo,
    ) -> Result<usize, StoreError> {
        let mut ended = 0;
        for row in self.inner.sessions.active_for_user(owner).await? {
            if Some(row.id_hash.as_str()) != keep
                && self
                    .revoke_one(&row.id_hash, actor_id, detail, client)
                    .await?
            {
                ended += 1;
            }
        }
        Ok(ended)
    }

    async fn revoke_one(
        &self,
        id_hash: &str,
        actor_id: i64,
        detail: Option<&str>,
        client: &ClientInfo,
    ) -> Result<bool, StoreError> {
        self.end_session(
            id_hash,
            Ending {
                reason: EndReason::Revoked,
                at: self.inner.clock.now(),
                actor_id: Some(actor_id),
                detail: detail.map(str::to_owned),
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
        // A limit that is off never makes a session a candidate.
        let before = |limit: Option<Duration>| -> i64 {
            limit.map_or(i64::MIN, |d| {
                now.as_millis()
                    .saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            })
        };
        let candidates = self
            .inner
            .sessions
            .expiry_candidates(
                (before(limits.normal.idle), before(limits.normal.absolute)),
                (
                    before(limits.remember.idle),
                    before(limits.remember.absolute),
                ),
            )
            .await?;
        let mut ended = 0;
        for row in candidates {
            let cached_activity = self
                .inner
                .cache
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
