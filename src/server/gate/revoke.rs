//! The owner's view of their sessions: listing them, and signing some or all of them out.

use super::{
    super::{
        error::StoreError,
        sessions::{ClientInfo, Ending, Everyone},
    },
    SessionGate,
};
use crate::event::EndReason;
use crate::server::storage::listings::Listing;

/// The most distinct sessions one revocation may name (a person has a few devices; an
/// administrator signing a user out everywhere uses another call).
pub const MAX_REVOKE_IDS: usize = 100;

/// How many sessions "sign out everyone" ends per statement (and marks as ending at once).
pub const EVERYONE_BATCH: usize = 500;

/// What a revocation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// This many sessions were ended.
    Ended(usize),
    /// An id was not a live session of the owner; nothing changed.
    NotFound,
    /// No id was given; nothing changed.
    NothingNamed,
    /// More than [`MAX_REVOKE_IDS`] distinct ids were named; nothing changed.
    TooMany {
        /// The most that may be named at once.
        max: usize,
    },
}

/// The distinct ids of `ids` (first occurrence kept, empty ones dropped), or `None` when more
/// than `max` remain. Stops reading at the first id beyond `max`, however many were sent.
pub fn distinct_ids(ids: &[String], max: usize) -> Option<Vec<&str>> {
    let mut seen = std::collections::HashSet::new();
    let mut distinct = Vec::new();
    for id in ids.iter().filter(|id| !id.is_empty()) {
        if seen.insert(id.as_str()) {
            if distinct.len() == max {
                return None;
            }
            distinct.push(id.as_str());
        }
    }
    Some(distinct)
}

impl SessionGate {
    /// The owner's live sessions (expired ones left out), newest first; `current` marks the
    /// requesting session. Served from the account's kept list while nothing changed
    /// ([`crate::server::storage::listings`]); read from the database otherwise.
    pub async fn devices_of(
        &self,
        user_id: i64,
        current: Option<&str>,
    ) -> Result<Vec<crate::dto::DeviceSession>, StoreError> {
        let listings = self.inner.sessions.listings();
        let listing = match listings.get(user_id) {
            Some(listing) => listing,
            None => {
                let ticket = listings.ticket();
                let Some(account) = self.inner.sessions.account_of(user_id).await? else {
                    return Ok(Vec::new());
                };
                let rows = self.inner.sessions.active_for_user(user_id).await?;
                listings.keep(user_id, account, rows, ticket)
            }
        };
        Ok(self.devices_in(&listing, current))
    }

    /// What [`SessionGate::devices_of`] answers, when the owner's list is kept in memory: no
    /// waiting, so a page can render it in one pass. `None` when the list would have to be
    /// read from the database (nobody listed it lately, or something changed since).
    pub fn kept_devices_of(
        &self,
        user_id: i64,
        current: Option<&str>,
    ) -> Option<Vec<crate::dto::DeviceSession>> {
        let listing = self.inner.sessions.listings().get(user_id)?;
        Some(self.devices_in(&listing, current))
    }

    /// The live, still good sessions of a kept list, as their owner sees them.
    fn devices_in(
        &self,
        listing: &Listing,
        current: Option<&str>,
    ) -> Vec<crate::dto::DeviceSession> {
        let now = self.inner.clock.now();
        let account = &listing.account;
        listing
            .rows
            .iter()
            // A session its account's credential change left behind is no longer good.
            .filter(|row| account.refuses(row.credential_epoch).is_none())
            .filter(|row| {
                let times = row.times();
                self.inner
                    .limits
                    .for_session(super::SessionClass {
                        kind: row.kind,
                        remember: row.remember,
                        admin: account.admin,
                    })
                    .expiry(times, now)
                    .is_none()
            })
            .map(|row| crate::server::devices::device_session(row, current))
            .collect()
    }

    /// Signs out the owner's sessions `ids` (audit `revoked`, actor = `actor_id`).
    ///
    /// All or nothing: if any id is not a live session of `owner` (another user's, ended,
    /// unknown), nothing changes and the answer is [`RevokeOutcome::NotFound`]. An empty list
    /// changes nothing either. An id named twice counts once; more than [`MAX_REVOKE_IDS`]
    /// distinct ids are refused before any database work ([`RevokeOutcome::TooMany`]).
    pub async fn revoke(
        &self,
        owner: i64,
        ids: &[String],
        actor_id: i64,
        client: &ClientInfo,
    ) -> Result<RevokeOutcome, StoreError> {
        let Some(ids) = distinct_ids(ids, MAX_REVOKE_IDS) else {
            return Ok(RevokeOutcome::TooMany {
                max: MAX_REVOKE_IDS,
            });
        };
        if ids.is_empty() {
            return Ok(RevokeOutcome::NothingNamed);
        }
        let live: std::collections::HashSet<String> = self
            .inner
            .sessions
            .active_for_user(owner)
            .await?
            .into_iter()
            .map(|row| row.id_hash)
            .collect();
        if !ids.iter().all(|id| live.contains(*id)) {
            return Ok(RevokeOutcome::NotFound);
        }
        let mut ended = 0;
        for id in ids {
            if self.revoke_one(id, Some(actor_id), None, client).await? {
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
        self.revoke_all(owner, keep, Some(actor_id), None, client)
            .await
    }

    /// Signs out every live session of `owner` (audit `revoked` with `detail`; `actor_id` is
    /// who did it, `None` for the server's command line).
    pub async fn revoke_everywhere(
        &self,
        owner: i64,
        actor_id: Option<i64>,
        detail: &str,
        client: &ClientInfo,
    ) -> Result<usize, StoreError> {
        self.revoke_all(owner, None, actor_id, Some(detail), client)
            .await
    }

    /// Signs out the one session `id_hash`, whoever owns it (audit `revoked` with `detail`,
    /// `actor_id` as for [`SessionGate::revoke_everywhere`]). `false` when it was not live.
    pub async fn revoke_any(
        &self,
        id_hash: &str,
        actor_id: Option<i64>,
        detail: &str,
        client: &ClientInfo,
    ) -> Result<bool, StoreError> {
        self.revoke_one(id_hash, actor_id, Some(detail), client)
            .await
    }

    /// Ends every session [`Everyone`] takes that is live and signed in by now, as `revoked` by
    /// `actor_id` with `detail`, in batches of [`EVERYONE_BATCH`] (each marked as ending here
    /// first, so that no request slips through on a cached copy; other instances learn of each
    /// end from the change log).
    /// No audit entry per session: the caller records one for all. Returns how many ended,
    /// and the database error that stopped it early, if one did (the batches before it stay
    /// ended, and are counted).
    pub async fn end_everyone(
        &self,
        everyone: &Everyone,
        actor_id: Option<i64>,
        detail: &str,
    ) -> (usize, Result<(), StoreError>) {
        let at = self.inner.clock.now();
        let mut ended = 0;
        loop {
            // Every session signed in by now, whatever its id meanwhile (an id cycle keeps the
            // sign-in time); a sign-in after this moment is someone signing in again.
            let batch = match self
                .inner
                .sessions
                .everyone_batch(everyone, at, EVERYONE_BATCH)
                .await
            {
                Ok(batch) => batch,
                Err(err) => return (ended, Err(err)),
            };
            if batch.is_empty() {
                break;
            }
            let guard = self.begin_ending(&batch, EndReason::Revoked);
            match self
                .inner
                .sessions
                .end_batch_revoked(&batch, at, actor_id, detail)
                .await
            {
                Ok(n) => {
                    guard.committed();
                    crate::server::telemetry::sessions_ended(EndReason::Revoked, n as u64);
                    ended += n;
                    // Each live session found is ended now (or was, by someone else): the
                    // next batch holds others. None ended would mean none can be: stop.
                    if n == 0 {
                        break;
                    }
                }
                Err(err) => {
                    guard.failed();
                    return (ended, Err(err));
                }
            }
        }
        (ended, Ok(()))
    }

    /// Signs out every live session of `user` after a password change (audit `revoked` with
    /// the detail "password changed", actor = the user): a new password signs out everywhere
    /// the old one was known (SPEC §6).
    pub async fn password_changed(&self, user: i64) -> Result<usize, StoreError> {
        self.revoke_all(
            user,
            None,
            Some(user),
            Some("password changed"),
            &ClientInfo::default(),
        )
        .await
    }

    /// Signs out every live session of `user` but `keep` after the user changed their own
    /// password (audit `revoked`, detail "password changed", actor = the user).
    pub async fn password_changed_except(
        &self,
        user: i64,
        keep: &str,
        client: &ClientInfo,
    ) -> Result<usize, StoreError> {
        self.revoke_all(
            user,
            Some(keep),
            Some(user),
            Some("password changed"),
            client,
        )
        .await
    }

    async fn revoke_all(
        &self,
        owner: i64,
        keep: Option<&str>,
        actor_id: Option<i64>,
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
        actor_id: Option<i64>,
        detail: Option<&str>,
        client: &ClientInfo,
    ) -> Result<bool, StoreError> {
        self.end_session(
            id_hash,
            Ending {
                reason: EndReason::Revoked,
                at: self.inner.clock.now(),
                actor_id,
                detail: detail.map(str::to_owned),
                client: client.clone(),
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn repeated_ids_count_once_and_too_many_are_refused() {
        assert_eq!(
            distinct_ids(&ids(&["a", "b", "a", "", "b"]), 2),
            Some(vec!["a", "b"])
        );
        assert_eq!(distinct_ids(&ids(&["a", "b", "c"]), 2), None);
        let repeated = vec!["x".to_owned(); 100_000];
        assert_eq!(distinct_ids(&repeated, MAX_REVOKE_IDS), Some(vec!["x"]));
        assert_eq!(distinct_ids(&[], MAX_REVOKE_IDS), Some(vec![]));
    }
}
