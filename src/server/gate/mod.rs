//! The gate every request with a session passes: limits checked against the policy, expired
//! sessions ended (with the moment the limit passed), activity recorded — coalesced so that a
//! busy session costs at most one database write per small window, and never one per request.
//!
//! Sessions are read from an in-process cache, which stays valid until something changes the
//! session: one ended on this instance is forgotten at once; changes made elsewhere (another
//! instance, the command line) arrive through [`super::changes`]. A cached session that looks
//! expired is re-read before it is ended, so activity seen only elsewhere is never missed.
//!
//! The parts: the per-request check (here), the cached session (`cache`), "ended here"
//! marks (`ending`), the owner's
//! listing and revocation (`revoke`) and the background sweep (`sweep`).

mod cache;
mod ending;
mod revoke;
mod sweep;
#[cfg(test)]
mod tests;

pub use ending::EndingGuard;
pub use revoke::{RevokeOutcome, EVERYONE_BATCH, MAX_REVOKE_IDS};
pub use sweep::{SWEEP_READ_BATCH, SWEEP_WRITE_BATCH};

use super::{
    clock::SharedClock,
    error::StoreError,
    sessions::{ClientInfo, Ending, SessionRow, Sessions},
};
use crate::{
    clock::UnixMillis,
    dto::SessionStatus,
    event::{EndReason, SessionKind},
    last_tab::{TabPresence, TabSignal},
    policy::{Deadlines, TimeoutPolicy},
};
use cache::Entry;
use ending::{end_marks, EndMark};
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

/// The longest activity-write window, whatever the idle limit.
pub const MAX_WRITE_WINDOW: Duration = Duration::from_secs(5);
/// The most sessions the gate keeps in memory; beyond it the least used are re-read on demand.
pub const CACHE_CAPACITY: u64 = 100_000;
/// A cached session nobody asked for in this long is dropped from memory.
pub const CACHE_IDLE: Duration = Duration::from_secs(600);
/// How long this instance remembers that it ended a session: far longer than any check in
/// flight, after which the ended row in the database says the same.
pub const ENDED_MARK_TTL: Duration = Duration::from_secs(120);

pub use crate::limits::{Limits, SessionClass};

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
    /// A browser (cookie) or an API client (bearer token or JWT).
    pub kind: SessionKind,
    /// What is left.
    pub status: SessionStatus,
    /// When the limits fall.
    pub deadlines: Deadlines,
    /// The moment of the check, for computing what is left.
    pub checked_at: UnixMillis,
    /// The idle limit of this session's class (None: disabled).
    pub idle_limit: Option<std::time::Duration>,
    /// The session ends when no tab of the site is open (`end_with_last_tab`): the pages
    /// that show it say when their tabs come and go ([`SessionGate::hear_tabs`]).
    pub ends_with_last_tab: bool,
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
            idle_limit_ms: self
                .idle_limit
                .map(|limit| i64::try_from(limit.as_millis()).unwrap_or(i64::MAX)),
            scheduled: self.deadlines.scheduled,
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

struct Inner {
    sessions: Sessions,
    limits: Limits,
    bind_user_agent: bool,
    clock: SharedClock,
    /// Live sessions, bounded in number and dropped when unused.
    cache: moka::sync::Cache<String, Arc<Entry>, super::CacheHasher>,
    /// Sessions this instance is ending or has ended (bounded, expiring).
    end_marks: moka::sync::Cache<String, EndMark, super::CacheHasher>,
    activity_writes: AtomicU64,
    loads: AtomicU64,
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
                    .support_invalidation_closures()
                    .build_with_hasher(super::CacheHasher::default()),
                end_marks: end_marks(),
                activity_writes: AtomicU64::new(0),
                loads: AtomicU64::new(0),
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

    /// How many times this gate read a session from the database (for tests and metrics).
    pub fn loads(&self) -> u64 {
        self.inner.loads.load(Ordering::Relaxed)
    }

    /// How many sessions are cached (approximate; for tests and metrics).
    pub fn cached_sessions(&self) -> u64 {
        self.inner.cache.run_pending_tasks();
        self.inner.cache.entry_count()
    }

    /// Drops a session from the cache (it ended, or its data changed), and the kept device
    /// list of its account (of every account, when it was not cached).
    pub fn forget(&self, id_hash: &str) {
        let listings = self.inner.sessions.listings();
        match self.inner.cache.remove(id_hash) {
            Some(entry) => listings.changed(entry.user_id),
            None => listings.changed_everyone(),
        }
    }

    /// Drops a session that turned out not to be live from the cache (the change that ended
    /// it reaches the device lists on its own way).
    pub(super) fn drop_cached(&self, id_hash: &str) {
        self.inner.cache.invalidate(id_hash);
    }

    /// Drops every cached session of the account `user_id` (it changed), and its device list.
    pub fn forget_user(&self, user_id: i64) {
        // Only fails when closures are not supported, which `new` turns on.
        let _ = self
            .inner
            .cache
            .invalidate_entries_if(move |_, entry| entry.user_id == user_id);
        self.inner.sessions.listings().changed(user_id);
    }

    /// A session of the account `user_id` was added elsewhere (another instance, the command
    /// line): drops its kept device list.
    pub fn sessions_added(&self, user_id: i64) {
        self.inner.sessions.listings().changed(user_id);
    }

    /// Drops every cached session and device list.
    pub fn forget_all(&self) {
        self.inner.cache.invalidate_all();
        self.inner.sessions.listings().changed_everyone();
    }

    /// Takes in activity another instance wrote for the session `id_hash` at `at`, so that
    /// this instance shows the same idle deadline (and the same "last seen").
    pub fn note_activity(&self, id_hash: &str, at: UnixMillis) {
        let listings = self.inner.sessions.listings();
        match self.inner.cache.get(id_hash) {
            Some(entry) => {
                entry.note_activity(at);
                listings.changed(entry.user_id);
            }
            None => listings.changed_everyone(),
        }
    }

    /// Ends the session `id_hash` (audited, final). Nothing reports it as ended before the end
    /// is committed; once it is, this instance never serves it again. When the database write
    /// fails the error is returned and no trace of the attempt remains.
    /// Returns `false` when it had already ended.
    ///
    /// # Errors
    /// Database errors: the session is still live and callers must say the end failed.
    #[tracing::instrument(name = "session.end", skip_all, fields(reason = %ending.reason))]
    pub async fn end_session(&self, id_hash: &str, ending: Ending) -> Result<bool, StoreError> {
        let reason = ending.reason;
        let guard = self.begin_ending(&[id_hash.to_owned()], reason);
        match self.inner.sessions.end(id_hash, ending).await {
            Ok(ended) => {
                guard.committed();
                crate::server::telemetry::sessions_ended(reason, u64::from(ended));
                Ok(ended)
            }
            Err(err) => {
                guard.failed();
                Err(err)
            }
        }
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
    #[tracing::instrument(name = "session.check", level = "debug", skip_all, fields(?activity))]
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
            self.inner.cache.get(id_hash)
        };
        let from_cache = cached.is_some();
        // Whether the entry was read from the database by this check (then it is cached).
        let mut reloaded = !from_cache;
        let mut entry = match cached {
            Some(entry) => entry,
            None => match self.load(id_hash, client).await? {
                Ok(entry) => entry,
                Err(verdict) => {
                    self.drop_cached(id_hash);
                    return Ok(verdict);
                }
            },
        };
        let mut policy = self.inner.limits.for_session(entry.class());
        let mut expired = policy.expiry(entry.times(), now);
        if from_cache && expired.is_some() {
            // Before ending it, make sure: activity written elsewhere may not have reached
            // this cache yet.
            entry = match self.load(id_hash, client).await? {
                Ok(entry) => entry,
                Err(verdict) => {
                    self.drop_cached(id_hash);
                    return Ok(verdict);
                }
            };
            policy = self.inner.limits.for_session(entry.class());
            expired = policy.expiry(entry.times(), now);
            reloaded = true;
        }
        if let Some((reason, at)) = expired {
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
        let ip = client.ip;
        let ip_changed = entry.ip_differs(ip);
        if ip_changed && activity == Activity::Passive {
            // A changed IP is recorded even when the request is not activity.
            if let Some(ip) = ip {
                self.inner.sessions.set_last_ip(id_hash, ip).await?;
                self.inner.sessions.listings().changed(entry.user_id);
            }
            entry.set_ip(ip);
        }
        // A cached entry is updated in place; only one read from the database is cached anew.
        let times = match activity {
            Activity::Passive => entry.times(),
            Activity::Active => {
                let (times, claim) = entry.touch(now, write_window(policy), ip_changed);
                if let Some(claim) = claim {
                    self.inner.activity_writes.fetch_add(1, Ordering::Relaxed);
                    let live = match self.inner.sessions.touch(id_hash, now, ip).await {
                        Ok(live) => live,
                        Err(err) => {
                            entry.release(claim);
                            return Err(err);
                        }
                    };
                    if !live {
                        entry.release(claim);
                        self.drop_cached(id_hash);
                        return Ok(match self.inner.sessions.find(id_hash).await? {
                            Some(row) => Verdict::Ended(end_reason_of(&row)),
                            None => Verdict::Unknown,
                        });
                    }
                    entry.written(claim);
                    entry.set_ip(ip);
                    self.inner.sessions.listings().changed(entry.user_id);
                }
                times
            }
        };
        let deadlines = policy.deadlines(times);
        let active = ActiveSession {
            id_hash: id_hash.to_owned(),
            user_id: entry.user_id,
            username: entry.username.clone(),
            kind: entry.kind,
            status: policy.status_of(&deadlines, now),
            deadlines,
            checked_at: now,
            idle_limit: policy.idle,
            ends_with_last_tab: policy.last_tab.is_some(),
        };
        match self.end_mark(id_hash) {
            // Ended on this instance while this check ran: do not serve it.
            Some(EndMark::Committed(reason)) => return Ok(Verdict::Ended(reason)),
            // Being ended: serve what the database said, but never cache it as live.
            Some(EndMark::Pending(_)) => {}
            None if reloaded => self.inner.cache.insert(id_hash.to_owned(), entry),
            None => {}
        }
        Ok(Verdict::Active(active))
    }

    /// Takes in what a tab of the live session `id_hash` said about itself at this moment
    /// (`end_with_last_tab`, see [`crate::last_tab`]); call it after [`SessionGate::check`]
    /// admitted the request. Writes to the database only when the rule says a write is due (a
    /// new signal, or a visible tab once a grace), so that a page's beat every few seconds
    /// costs no write. Returns whether the rule applies to the session (the signal was heard).
    ///
    /// # Errors
    /// Database errors; what was heard is kept in memory and written with the next signal.
    pub async fn hear_tabs(&self, id_hash: &str, signal: TabSignal) -> Result<bool, StoreError> {
        let Some(entry) = self.inner.cache.get(id_hash) else {
            // Being ended, or not checked by this instance: nothing to hear.
            return Ok(false);
        };
        let Some(rule) = self.inner.limits.for_session(entry.class()).last_tab else {
            return Ok(false);
        };
        let heard = TabPresence {
            signal,
            at: self.inner.clock.now(),
        };
        if let Some(presence) = entry.hear_tabs(heard, &rule) {
            if self.inner.sessions.set_tabs(id_hash, presence).await? {
                entry.tabs_written(presence);
                self.inner.sessions.listings().changed(entry.user_id);
            } else {
                self.drop_cached(id_hash);
            }
        }
        Ok(true)
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
}
