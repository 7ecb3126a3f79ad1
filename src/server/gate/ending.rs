//! "Ended here" marks: while an end is being written, and for a while after it committed, this
//! instance never serves the session from its cache, nor caches it as live again.

use super::{SessionGate, ENDED_MARK_TTL};
use crate::event::EndReason;
use std::sync::atomic::{AtomicU64, Ordering};

/// What this instance knows of a session it is ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EndMark {
    /// An end is being written (by the guard holding this token): serve only from the
    /// database, never cache it as live.
    Pending(u64),
    /// The end is committed: refuse it, even to a check that read the row just before.
    Committed(EndReason),
}

/// Tokens telling apart the guards of concurrent ends of one session.
static NEXT_GUARD: AtomicU64 = AtomicU64::new(1);

/// The bounded, expiring store of end marks.
pub(super) fn end_marks() -> moka::sync::Cache<String, EndMark, crate::server::CacheHasher> {
    moka::sync::Cache::builder()
        .max_capacity(super::CACHE_CAPACITY)
        .time_to_live(ENDED_MARK_TTL)
        .build_with_hasher(crate::server::CacheHasher::default())
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
    /// The accounts of the sessions that were cached (their device lists change).
    accounts: Vec<i64>,
    /// Some session was not cached: its account is not known here.
    unknown_account: bool,
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
            self.gate.drop_cached(id);
        }
        let listings = self.gate.inner.sessions.listings();
        if self.unknown_account {
            listings.changed_everyone();
        }
        for account in &self.accounts {
            listings.changed(*account);
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

impl SessionGate {
    /// Marks `ids` as being ended with `reason` before the end is written: until the guard is
    /// committed or dropped, checks read these sessions from the database and never cache them.
    pub fn begin_ending(&self, ids: &[String], reason: EndReason) -> EndingGuard {
        let token = NEXT_GUARD.fetch_add(1, Ordering::Relaxed);
        let (mut accounts, mut unknown_account) = (Vec::new(), false);
        for id in ids {
            self.inner
                .end_marks
                .entry(id.clone())
                .and_compute_with(|mark| match mark.map(|m| m.into_value()) {
                    // A committed end stays committed.
                    Some(EndMark::Committed(_)) => moka::ops::compute::Op::Nop,
                    _ => moka::ops::compute::Op::Put(EndMark::Pending(token)),
                });
            match self.inner.cache.remove(id) {
                Some(entry) => accounts.push(entry.user_id),
                None => unknown_account = true,
            }
        }
        EndingGuard {
            gate: self.clone(),
            ids: ids.to_vec(),
            accounts,
            unknown_account,
            reason,
            token,
        }
    }

    /// The mark of `id_hash`, if this instance is ending or has ended it. Nearly every check
    /// finds none: `contains_key` answers that without recording a read.
    pub(super) fn end_mark(&self, id_hash: &str) -> Option<EndMark> {
        if !self.inner.end_marks.contains_key(id_hash) {
            return None;
        }
        self.inner.end_marks.get(id_hash)
    }
}
