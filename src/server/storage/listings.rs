//! The live sessions of recently listed accounts, kept in memory so that a device list (the
//! sessions page, `GET /api/v1/sessions`) is served without reading the database each time.
//!
//! A kept list is only as good as the news of changes, so every change to the sessions table
//! that this process makes or hears of is told here, before anyone can see it elsewhere:
//! - [`Listings::changed`] when the account is known (a sign-in, activity or an address
//!   written, a session of a cached account ended, the account itself changed);
//! - [`Listings::changed_everyone`] when it is not (a session ended by id alone, a change read
//!   from the change log, the retention trimming addresses), which drops every kept list.
//!
//! A list read from the database is kept only if no change at all was told while it was being
//! read ([`Listings::ticket`], [`Listings::keep`]): it may be older than that change.
//!
//! Other writers reach the lists through the change log ([`super::changes`]): sign-ins
//! (`session_added`), ends, account changes; on PostgreSQL also activity, which SQLite does not
//! announce (several instances share PostgreSQL, not SQLite). [`LISTING_TTL`] bounds what a
//! writer that tells nobody can leave behind.

use super::sessions::{AccountState, SessionRow};
use std::hash::Hash;
use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};
use std::time::Duration;

/// The most accounts whose lists are kept.
pub const LISTINGS_CAPACITY: u64 = 10_000;
/// A list nobody asked for in this long is dropped.
pub const LISTING_IDLE: Duration = Duration::from_secs(600);
/// A list is read again after this long whatever happened: a change that reached no one (a
/// writer outside the server that logs nothing, such as a hand-written SQL statement) shows
/// within it.
pub const LISTING_TTL: Duration = Duration::from_secs(60);

/// One account's live sessions as the database held them, with the account.
#[derive(Debug)]
pub struct Listing {
    /// The account (its role chooses the limits; its credential epoch which sessions are good).
    pub account: AccountState,
    /// Its sessions that had not ended, newest first.
    pub rows: Vec<SessionRow>,
    /// The value of [`Listings`]' "everyone" count this list was read under.
    everyone: u64,
}

/// Proof of when a read from the database began: see [`Listings::keep`].
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct Ticket {
    changes: u64,
    everyone: u64,
}

/// The kept lists, shared by every clone of the database handle. Cheap to clone.
#[derive(Clone)]
pub struct Listings(Arc<Inner>);

struct Inner {
    lists: moka::sync::Cache<i64, Arc<Listing>>,
    /// Counts every change told.
    changes: AtomicU64,
    /// Counts the changes that dropped every list.
    everyone: AtomicU64,
}

impl std::fmt::Debug for Listings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listings")
            .field("changes", &self.0.changes.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Default for Listings {
    fn default() -> Self {
        Self(Arc::new(Inner {
            lists: moka::sync::Cache::builder()
                .max_capacity(LISTINGS_CAPACITY)
                .time_to_idle(LISTING_IDLE)
                .time_to_live(LISTING_TTL)
                .build(),
            changes: AtomicU64::new(0),
            everyone: AtomicU64::new(0),
        }))
    }
}

impl Listings {
    /// The kept list of `user_id`, if it is still good.
    pub fn get(&self, user_id: i64) -> Option<Arc<Listing>> {
        self.0
            .lists
            .get(&user_id)
            .filter(|list| list.everyone == self.0.everyone.load(Ordering::SeqCst))
    }

    /// Take one before reading a list from the database, and give it to [`Listings::keep`].
    pub fn ticket(&self) -> Ticket {
        Ticket {
            everyone: self.0.everyone.load(Ordering::SeqCst),
            changes: self.0.changes.load(Ordering::SeqCst),
        }
    }

    /// Keeps the list of `user_id` read since `ticket` was taken, unless a change was told
    /// meanwhile; returns it either way.
    pub fn keep(
        &self,
        user_id: i64,
        account: AccountState,
        rows: Vec<SessionRow>,
        ticket: Ticket,
    ) -> Arc<Listing> {
        let list = Arc::new(Listing {
            account,
            rows,
            everyone: ticket.everyone,
        });
        self.keep_in(&self.0.lists, user_id, list.clone(), ticket);
        list
    }

    /// Whether no change at all was told since `ticket` was taken: anything read from the
    /// sessions or their accounts under it is still what the database holds.
    pub fn unchanged_since(&self, ticket: Ticket) -> bool {
        self.0.changes.load(Ordering::SeqCst) == ticket.changes
    }

    /// Puts `value`, read since `ticket` was taken, in `cache` unless a change was told
    /// meanwhile, including one told while it was being put there.
    fn keep_in<K, V>(&self, cache: &moka::sync::Cache<K, V>, key: K, value: V, ticket: Ticket)
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        if self.unchanged_since(ticket) {
            cache.insert(key.clone(), value);
            // A change told between the test and the insert must not be missed.
            if !self.unchanged_since(ticket) {
                cache.invalidate(&key);
            }
        }
    }

    /// The sessions or the account of `user_id` changed (told after the change is committed).
    pub fn changed(&self, user_id: i64) {
        self.0.changes.fetch_add(1, Ordering::SeqCst);
        self.0.lists.invalidate(&user_id);
    }

    /// Sessions of accounts not known here changed: no kept list is good any more.
    pub fn changed_everyone(&self) {
        self.0.changes.fetch_add(1, Ordering::SeqCst);
        self.0.everyone.fetch_add(1, Ordering::SeqCst);
    }
}

/// Reads of the sessions and their accounts other than one account's list (the
/// administrators' pages), each kept until any change at all is told to its [`Listings`],
/// and for [`LISTING_TTL`] at most. Cheap to clone.
#[derive(Clone)]
pub struct KeptReads<K, V> {
    listings: Listings,
    reads: moka::sync::Cache<K, (Ticket, Arc<V>)>,
}

impl<K, V> std::fmt::Debug for KeptReads<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeptReads")
            .field("listings", &self.listings)
            .finish_non_exhaustive()
    }
}

impl<K, V> KeptReads<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    /// At most `capacity` reads, good while `listings` is told of no change.
    pub fn new(listings: Listings, capacity: u64) -> Self {
        Self {
            listings,
            reads: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(LISTING_TTL)
                .build(),
        }
    }

    /// Take one before reading from the database, and give it to [`KeptReads::keep`].
    pub fn ticket(&self) -> Ticket {
        self.listings.ticket()
    }

    /// The kept read of `key`, while nothing changed since it was read.
    pub fn get(&self, key: &K) -> Option<Arc<V>> {
        let (ticket, value) = self.reads.get(key)?;
        if self.listings.unchanged_since(ticket) {
            Some(value)
        } else {
            self.reads.invalidate(key);
            None
        }
    }

    /// Keeps `value`, the read of `key` since `ticket` was taken, unless a change was told
    /// meanwhile; returns it either way.
    pub fn keep(&self, key: K, value: V, ticket: Ticket) -> Arc<V> {
        let value = Arc::new(value);
        self.listings
            .keep_in(&self.reads, key, (ticket, value.clone()), ticket);
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> AccountState {
        AccountState::default()
    }

    #[test]
    fn a_kept_list_lasts_until_its_account_or_everyone_changes() {
        let listings = Listings::default();
        let ticket = listings.ticket();
        listings.keep(1, account(), Vec::new(), ticket);
        let ticket = listings.ticket();
        listings.keep(2, account(), Vec::new(), ticket);
        assert!(listings.get(1).is_some());
        listings.changed(1);
        assert!(listings.get(1).is_none());
        assert!(listings.get(2).is_some());
        listings.changed_everyone();
        assert!(listings.get(2).is_none());
    }

    #[test]
    fn a_list_read_while_something_changed_is_not_kept() {
        let listings = Listings::default();
        let ticket = listings.ticket();
        listings.changed(7);
        let list = listings.keep(1, account(), Vec::new(), ticket);
        assert!(list.rows.is_empty());
        assert!(listings.get(1).is_none());
        let ticket = listings.ticket();
        listings.changed_everyone();
        listings.keep(1, account(), Vec::new(), ticket);
        assert!(listings.get(1).is_none());
    }

    #[test]
    fn any_change_told_ends_what_a_ticket_read() {
        let listings = Listings::default();
        let ticket = listings.ticket();
        assert!(listings.unchanged_since(ticket));
        listings.changed(3);
        assert!(!listings.unchanged_since(ticket));
        let ticket = listings.ticket();
        listings.changed_everyone();
        assert!(!listings.unchanged_since(ticket));
    }

    #[test]
    fn a_kept_read_lasts_until_any_change_is_told() {
        let listings = Listings::default();
        let reads = KeptReads::<&str, u32>::new(listings.clone(), 8);
        let ticket = reads.ticket();
        assert_eq!(*reads.keep("a", 1, ticket), 1);
        assert_eq!(reads.get(&"a").as_deref(), Some(&1));
        listings.changed(3);
        assert_eq!(
            reads.get(&"a"),
            None,
            "another account's change ends it too"
        );
        let ticket = reads.ticket();
        reads.keep("b", 2, ticket);
        listings.changed_everyone();
        assert_eq!(reads.get(&"b"), None);
    }

    #[test]
    fn a_read_made_while_something_changed_is_not_kept() {
        let listings = Listings::default();
        let reads = KeptReads::<&str, u32>::new(listings.clone(), 8);
        let ticket = reads.ticket();
        listings.changed(7);
        assert_eq!(*reads.keep("a", 1, ticket), 1, "returned all the same");
        assert_eq!(reads.get(&"a"), None);
    }
}
