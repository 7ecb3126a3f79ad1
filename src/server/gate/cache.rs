//! The in-process copy of a live session, and reading it from the database.
//!
//! A cached entry is shared (`Arc`) and updated in place: a request that records activity
//! changes the entry every other request sees, instead of building a new one and putting it
//! back into the cache.

use super::{super::error::StoreError, end_reason_of, SessionGate, Verdict};
use crate::{
    clock::UnixMillis,
    last_tab::{LastTabRule, TabPresence},
    policy::SessionTimes,
};
use std::{
    net::IpAddr,
    sync::{Arc, Mutex, MutexGuard},
};

/// What the gate keeps of a live session between database reads.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) user_id: i64,
    pub(super) username: String,
    pub(super) remember: bool,
    pub(super) kind: crate::SessionKind,
    pub(super) admin: bool,
    pub(super) user_agent: Option<String>,
    /// What requests change; held only for a few instructions, never across an `.await`.
    state: Mutex<EntryState>,
}

/// The part of a cached session that requests change.
#[derive(Debug)]
struct EntryState {
    /// The IP address last recorded in the database.
    last_ip: Option<IpAddr>,
    /// When it started and when it was last active (as far as this instance knows).
    times: SessionTimes,
    /// The activity the database holds.
    written_activity: UnixMillis,
    /// The activity a write in flight is recording (not yet in the database).
    writing: Option<UnixMillis>,
    /// What the database holds of the tabs' presence (`times.tabs` may be newer).
    written_tabs: Option<TabPresence>,
}

/// A claim on the activity write of a session: taken by the one request that writes, so that
/// concurrent requests of the same session do not each write (and wait) too. Say how it went:
/// [`Entry::written`] or [`Entry::release`].
#[derive(Debug, Clone, Copy)]
pub(super) struct WriteClaim {
    /// The activity being written.
    at: UnixMillis,
}

impl Entry {
    /// Which limits apply.
    pub(super) fn class(&self) -> super::SessionClass {
        super::SessionClass {
            kind: self.kind,
            remember: self.remember,
            admin: self.admin,
        }
    }

    fn state(&self) -> MutexGuard<'_, EntryState> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The session's times now.
    pub(super) fn times(&self) -> SessionTimes {
        self.state().times
    }

    /// Whether `ip` is known and differs from the recorded one.
    pub(super) fn ip_differs(&self, ip: Option<IpAddr>) -> bool {
        ip.is_some() && self.state().last_ip != ip
    }

    /// Records `ip` as the one the database holds.
    pub(super) fn set_ip(&self, ip: Option<IpAddr>) {
        self.state().last_ip = ip;
    }

    /// Takes in what the session's tabs said (`heard`) and returns the presence to write to
    /// the database when `rule` says a write is due ([`LastTabRule::write_due`]).
    pub(super) fn hear_tabs(&self, heard: TabPresence, rule: &LastTabRule) -> Option<TabPresence> {
        let mut state = self.state();
        let presence = state.times.tabs.map_or(heard, |known| known.then(heard));
        state.times.tabs = Some(presence);
        (state.written_tabs != Some(presence) && rule.write_due(state.written_tabs, presence))
            .then_some(presence)
    }

    /// `presence` is in the database.
    pub(super) fn tabs_written(&self, presence: TabPresence) {
        let mut state = self.state();
        state.written_tabs = TabPresence::merge(state.written_tabs, Some(presence));
    }

    /// Takes in activity seen elsewhere (already written there) at `at`.
    pub(super) fn note_activity(&self, at: UnixMillis) {
        let mut state = self.state();
        state.times = state.times.touched(at);
        state.written_activity = state.written_activity.max(at);
    }

    /// Records activity at `now` and returns the times after it, plus the claim on the
    /// database write when one is due: `force` (the IP changed), or `window` milliseconds
    /// passed since the activity written or being written. No claim while another request's
    /// write is in flight within the window, so at most one request per window writes. A claim
    /// whose request was abandoned mid-write only delays the next write to the next window.
    pub(super) fn touch(
        &self,
        now: UnixMillis,
        window: i64,
        force: bool,
    ) -> (SessionTimes, Option<WriteClaim>) {
        let mut state = self.state();
        state.times = state.times.touched(now);
        let covered = state
            .writing
            .map_or(state.written_activity, |w| w.max(state.written_activity));
        let due = force || now.as_millis() - covered.as_millis() >= window;
        let claim = due.then(|| {
            state.writing = Some(state.writing.map_or(now, |w| w.max(now)));
            WriteClaim { at: now }
        });
        (state.times, claim)
    }

    /// The claimed write is in the database.
    pub(super) fn written(&self, claim: WriteClaim) {
        let mut state = self.state();
        state.written_activity = state.written_activity.max(claim.at);
        if state.writing == Some(claim.at) {
            state.writing = None;
        }
    }

    /// The claimed write failed: the next request writes instead.
    pub(super) fn release(&self, claim: WriteClaim) {
        let mut state = self.state();
        if state.writing == Some(claim.at) {
            state.writing = None;
        }
    }
}

impl SessionGate {
    /// Reads the session `id_hash` from the database, keeping activity that only the cache has
    /// seen; the verdict instead when it is not live.
    pub(super) async fn load(
        &self,
        id_hash: &str,
        client: &crate::server::sessions::ClientInfo,
    ) -> Result<Result<Arc<Entry>, Verdict>, StoreError> {
        self.inner
            .loads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some(row) = self.inner.sessions.find(id_hash).await? else {
            return Ok(Err(Verdict::Unknown));
        };
        if row.ended_at.is_some() {
            return Ok(Err(Verdict::Ended(end_reason_of(&row))));
        }
        let Some(user_id) = row.user_id else {
            return Ok(Err(Verdict::Unknown));
        };
        let Some(account) = self.inner.sessions.account_of(user_id).await? else {
            return Ok(Err(Verdict::Unknown));
        };
        // Made before the account's password changed, or the account is disabled: whatever
        // happened to the change's own ending of the sessions, this one ends now.
        if let Some(why) = account.refuses(row.credential_epoch) {
            self.end_session(
                id_hash,
                crate::server::sessions::Ending {
                    reason: crate::event::EndReason::Revoked,
                    at: self.inner.clock.now(),
                    actor_id: None,
                    detail: Some(why.to_owned()),
                    client: client.clone(),
                },
            )
            .await?;
            return Ok(Err(Verdict::Ended(crate::event::EndReason::Revoked)));
        }
        let (username, admin) = (account.username, account.admin);
        // What the cache has seen: its last activity and what it knows to be written.
        let cached = self.inner.cache.get(id_hash).map(|c| {
            let state = c.state();
            (
                state.times.last_activity_at,
                state.written_activity,
                state.times.tabs,
            )
        });
        let db_activity = UnixMillis(row.last_seen_at);
        Ok(Ok(Arc::new(Entry {
            user_id,
            username,
            remember: row.remember,
            kind: row.kind,
            admin,
            user_agent: row.user_agent.clone(),
            state: Mutex::new(EntryState {
                // What the database holds: an address (or a trimmed network, which any
                // address differs from).
                last_ip: row.last_ip.as_deref().and_then(|ip| ip.parse().ok()),
                times: SessionTimes {
                    created_at: UnixMillis(row.created_at),
                    last_activity_at: cached.map_or(db_activity, |c| c.0.max(db_activity)),
                    tabs: TabPresence::merge(row.tabs, cached.and_then(|c| c.2)),
                },
                // Only what is in the database: a write in flight on the old entry may fail.
                written_activity: cached.map_or(db_activity, |c| c.1.max(db_activity)),
                writing: None,
                written_tabs: row.tabs,
            }),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_written_at(ms: i64) -> Entry {
        Entry {
            user_id: 1,
            username: "alice".into(),
            remember: false,
            kind: crate::SessionKind::Browser,
            admin: false,
            user_agent: None,
            state: Mutex::new(EntryState {
                last_ip: Some([10, 0, 0, 1].into()),
                times: SessionTimes {
                    created_at: UnixMillis(0),
                    last_activity_at: UnixMillis(ms),
                    tabs: None,
                },
                written_activity: UnixMillis(ms),
                writing: None,
                written_tabs: None,
            }),
        }
    }

    #[test]
    fn only_one_request_per_window_claims_the_activity_write() {
        let entry = entry_written_at(0);
        let (times, first) = entry.touch(UnixMillis(5_000), 5_000, false);
        assert_eq!(times.last_activity_at, UnixMillis(5_000));
        assert!(first.is_some(), "the window passed: a write is due");
        // Requests arriving while that write is in flight see it as written.
        let (times, second) = entry.touch(UnixMillis(5_001), 5_000, false);
        assert!(
            second.is_none(),
            "one write per window, not one per request"
        );
        assert_eq!(times.last_activity_at, UnixMillis(5_001));
        // A changed IP is written at once.
        assert!(entry.touch(UnixMillis(5_002), 5_000, true).1.is_some());
    }

    #[test]
    fn a_written_claim_counts_as_written_for_the_next_window() {
        let entry = entry_written_at(0);
        let claim = entry.touch(UnixMillis(5_000), 5_000, false).1.unwrap();
        entry.written(claim);
        assert!(entry.touch(UnixMillis(9_999), 5_000, false).1.is_none());
        assert!(entry.touch(UnixMillis(10_000), 5_000, false).1.is_some());
    }

    #[test]
    fn a_failed_write_gives_the_claim_back() {
        let entry = entry_written_at(0);
        let claim = entry.touch(UnixMillis(6_000), 5_000, false).1.unwrap();
        entry.release(claim);
        assert!(
            entry.touch(UnixMillis(6_001), 5_000, false).1.is_some(),
            "the next request writes instead"
        );
    }

    #[test]
    fn activity_never_runs_backwards_and_ips_are_compared() {
        let entry = entry_written_at(10_000);
        entry.note_activity(UnixMillis(9_000));
        assert_eq!(entry.times().last_activity_at, UnixMillis(10_000));
        assert!(!entry.ip_differs(None), "an unknown IP is no change");
        assert!(!entry.ip_differs(Some([10, 0, 0, 1].into())));
        assert!(entry.ip_differs(Some([10, 0, 0, 2].into())));
        entry.set_ip(Some([10, 0, 0, 2].into()));
        assert!(!entry.ip_differs(Some([10, 0, 0, 2].into())));
    }
}
