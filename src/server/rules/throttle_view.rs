//! What one server instance remembers of the throttle, so that a flood of throttled sign-in
//! attempts costs almost nothing (SPEC §6):
//!
//! - [`ThrottleView`]: which usernames, addresses and networks the database found throttled,
//!   and until when. An attempt under one of them is refused from memory, before it takes a
//!   place among the password checks, reads the database or writes anything. The database
//!   stays the source of truth: an instance that has not seen a refusal yet asks it, and then
//!   remembers.
//! - [`ThrottleAudit`]: the `login_throttled` audit rows, at most one per username or address
//!   per minute, with the number of refused attempts it stands for (`repeat_count`). The first
//!   refusal of a minute writes the row; later ones only count in memory until
//!   [`ThrottleAudit::take_counts`] hands them to the periodic flush.
//!
//! Both are bounded in memory whatever the number of clients.

use crate::{clock::UnixMillis, throttle::ThrottleScope};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

/// The most throttled keys remembered at once (beyond it, the least recently used are asked
/// of the database again).
pub const VIEW_CAPACITY: u64 = 100_000;
/// The most (key, minute) audit rows counted in memory at once; refusals beyond it are
/// counted under one shared row for "other clients" of that minute.
pub const AUDIT_CAPACITY: usize = 10_000;
/// The key of the shared audit row used when [`AUDIT_CAPACITY`] is reached.
pub const OVERFLOW_KEY: &str = "*";

/// A throttled key: the username tag, the client address or its network.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ThrottledKey {
    /// Which count it is.
    pub scope: ThrottleScope,
    /// The key of that count (see [`crate::server::login_attempts::AttemptKeys`]).
    pub key: String,
}

impl ThrottledKey {
    /// The key's text with its scope in front: the same text under two scopes is two keys.
    pub fn cache_key(&self) -> String {
        format!("{}:{}", self.scope.as_str(), self.key)
    }
}

/// Throttled keys and when they are free again. Cheap to clone; clones share.
#[derive(Clone)]
pub struct ThrottleView {
    until: moka::sync::Cache<String, UnixMillis, crate::server::CacheHasher>,
}

impl std::fmt::Debug for ThrottleView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThrottleView")
            .field("entries", &self.until.entry_count())
            .finish()
    }
}

impl ThrottleView {
    /// An empty view whose entries are forgotten at the latest after `window` (the throttle's
    /// window: no refusal lasts longer).
    pub fn new(window: Duration) -> Self {
        Self {
            until: moka::sync::Cache::builder()
                .max_capacity(VIEW_CAPACITY)
                .time_to_live(window.clamp(Duration::from_secs(1), Duration::from_secs(86_400)))
                .build_with_hasher(crate::server::CacheHasher::default()),
        }
    }

    /// Remembers that `key` is throttled until `until`.
    pub fn remember(&self, key: &ThrottledKey, until: UnixMillis) {
        self.until.insert(key.cache_key(), until);
    }

    /// The first of `keys` still throttled at `now`, with the moment it is free again.
    pub fn throttled<'a>(
        &self,
        keys: impl IntoIterator<Item = &'a ThrottledKey>,
        now: UnixMillis,
    ) -> Option<(ThrottleScope, UnixMillis)> {
        keys.into_iter().find_map(|key| {
            let cache_key = key.cache_key();
            match self.until.get(&cache_key) {
                Some(until) if until > now => Some((key.scope, until)),
                Some(_) => {
                    self.until.invalidate(&cache_key);
                    None
                }
                None => None,
            }
        })
    }
}

/// What a refused attempt must do about the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditSlot {
    /// The first refusal of this key in this minute: write a row, then hand its id to
    /// [`ThrottleAudit::written`].
    Write {
        /// The key the row counts under ([`OVERFLOW_KEY`] when memory is full).
        key: String,
        /// The minute (ms since the epoch divided by 60,000).
        minute: i64,
    },
    /// Counted in memory under a row already written (or being written).
    Counted,
}

/// One (key, minute) row of the audit log being counted.
#[derive(Debug, Default)]
struct Counted {
    row: Option<i64>,
    pending: u64,
}

/// Counts throttled refusals per key and minute (see the module documentation). Cheap to
/// clone; clones share.
#[derive(Debug, Clone, Default)]
pub struct ThrottleAudit {
    rows: Arc<Mutex<HashMap<(String, i64), Counted>>>,
}

impl ThrottleAudit {
    /// Counts one refusal of `key` at `now`; says whether a row must be written.
    pub fn refused(&self, key: &str, now: UnixMillis) -> AuditSlot {
        let minute = now.as_millis().div_euclid(60_000);
        let mut rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        let mut slot = (key.to_owned(), minute);
        if !rows.contains_key(&slot) && rows.len() >= AUDIT_CAPACITY {
            slot.0 = OVERFLOW_KEY.to_owned();
        }
        match rows.get_mut(&slot) {
            Some(counted) => {
                counted.pending += 1;
                AuditSlot::Counted
            }
            None => {
                rows.insert(slot.clone(), Counted::default());
                AuditSlot::Write {
                    key: slot.0,
                    minute,
                }
            }
        }
    }

    /// The row written for the refusal that got [`AuditSlot::Write`]; `None` when writing it
    /// failed (the next refusal of that key and minute writes one).
    pub fn written(&self, key: &str, minute: i64, row: Option<i64>) {
        let mut rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = (key.to_owned(), minute);
        match row {
            Some(id) => {
                if let Some(counted) = rows.get_mut(&slot) {
                    counted.row = Some(id);
                }
            }
            None => {
                rows.remove(&slot);
            }
        }
    }

    /// The refusals counted since the last call, per written row (`(row id, count)`); rows of
    /// minutes before `now`'s are forgotten once handed out.
    pub fn take_counts(&self, now: UnixMillis) -> Vec<(i64, u64)> {
        let minute = now.as_millis().div_euclid(60_000);
        let mut rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        let mut counts = Vec::new();
        rows.retain(|(_, at), counted| {
            if let (Some(row), true) = (counted.row, counted.pending > 0) {
                counts.push((row, counted.pending));
                counted.pending = 0;
            }
            // A row still being written keeps its entry until its id is known.
            *at >= minute || counted.row.is_none()
        });
        counts
    }

    /// Refusals counted in memory and not yet handed out.
    pub fn pending(&self) -> u64 {
        let rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        rows.values().map(|c| c.pending).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMillis = UnixMillis(1_800_000_000_000);

    fn key(scope: ThrottleScope, key: &str) -> ThrottledKey {
        ThrottledKey {
            scope,
            key: key.into(),
        }
    }

    #[test]
    fn a_remembered_key_is_throttled_until_its_time() {
        let view = ThrottleView::new(Duration::from_secs(900));
        let ip = key(ThrottleScope::ClientIp, "203.0.113.7");
        let user = key(ThrottleScope::Username, "abcd1234");
        assert_eq!(view.throttled([&user, &ip], NOW), None);
        view.remember(&ip, NOW.plus(Duration::from_secs(60)));
        assert_eq!(
            view.throttled([&user, &ip], NOW),
            Some((ThrottleScope::ClientIp, NOW.plus(Duration::from_secs(60))))
        );
        assert_eq!(
            view.throttled([&user, &ip], NOW.plus(Duration::from_secs(60))),
            None
        );
        // The same text under another scope is another key.
        assert_eq!(
            view.throttled([&key(ThrottleScope::Username, "203.0.113.7")], NOW),
            None
        );
    }

    #[test]
    fn one_row_per_key_and_minute_with_a_count() {
        let audit = ThrottleAudit::default();
        let minute = NOW.as_millis().div_euclid(60_000);
        assert_eq!(
            audit.refused("ip", NOW),
            AuditSlot::Write {
                key: "ip".into(),
                minute
            }
        );
        for _ in 0..99 {
            assert_eq!(audit.refused("ip", NOW), AuditSlot::Counted);
        }
        // Not written yet: nothing to flush, nothing lost.
        assert!(audit.take_counts(NOW).is_empty());
        audit.written("ip", minute, Some(7));
        assert_eq!(audit.take_counts(NOW), vec![(7, 99)]);
        assert!(audit.take_counts(NOW).is_empty());
        // The next minute writes a new row.
        let later = NOW.plus(Duration::from_secs(60));
        assert!(matches!(
            audit.refused("ip", later),
            AuditSlot::Write { .. }
        ));
    }

    #[test]
    fn memory_is_bounded_and_the_rest_share_one_row() {
        let audit = ThrottleAudit::default();
        for i in 0..AUDIT_CAPACITY {
            assert!(matches!(
                audit.refused(&i.to_string(), NOW),
                AuditSlot::Write { .. }
            ));
        }
        assert_eq!(
            audit.refused("one more", NOW),
            AuditSlot::Write {
                key: OVERFLOW_KEY.into(),
                minute: NOW.as_millis().div_euclid(60_000)
            }
        );
        assert_eq!(audit.refused("and another", NOW), AuditSlot::Counted);
        assert_eq!(audit.rows.lock().unwrap().len(), AUDIT_CAPACITY + 1);
    }

    #[test]
    fn a_failed_write_is_retried_by_the_next_refusal() {
        let audit = ThrottleAudit::default();
        let minute = NOW.as_millis().div_euclid(60_000);
        assert!(matches!(audit.refused("u", NOW), AuditSlot::Write { .. }));
        audit.written("u", minute, None);
        assert!(matches!(audit.refused("u", NOW), AuditSlot::Write { .. }));
    }
}
