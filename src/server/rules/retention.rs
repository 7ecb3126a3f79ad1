//! Keeping no more of a person than needed: once `ip_retention` has passed, an ended session
//! or an audit row keeps only the network of its IP addresses
//! ([`crate::privacy::truncate_ip`]) and the parsed device of its user agent
//! ([`crate::server::devices::device_only`]); the audit log's own `audit_retention` later
//! deletes whole rows. Live sessions keep everything: the person sees them on `/sessions`.
//!
//! Work is bounded: rows are read and written [`TRIM_BATCH`] at a time, one statement each,
//! with a pause as long as the write between batches (at most [`MAX_PAUSE`]), so that a first
//! run over years of history never holds the database for long.

use crate::{
    clock::UnixMillis,
    privacy::{truncate_ip, IpRetention},
    server::{
        devices::device_only,
        error::StoreError,
        storage::retention::{ClientDetails, RetentionStore},
    },
};
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

/// Rows read and written per statement.
pub const TRIM_BATCH: usize = 1_000;

/// The longest pause between two batches.
pub const MAX_PAUSE: Duration = Duration::from_millis(20);

/// The most distinct user agents one run remembers the device of.
const DEVICE_CACHE: usize = 10_000;

/// The devices of user agents seen in this run: a log holds few distinct user agents, and
/// parsing one costs far more than the row's write.
#[derive(Default)]
struct Devices(HashMap<String, Option<String>>);

impl Devices {
    fn of(&mut self, user_agent: Option<String>) -> Option<String> {
        let ua = user_agent?;
        if let Some(device) = self.0.get(&ua) {
            return device.clone();
        }
        let device = device_only(Some(&ua));
        if self.0.len() >= DEVICE_CACHE {
            self.0.clear();
        }
        self.0.insert(ua, device.clone());
        device
    }
}

/// What one run trimmed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trimmed {
    /// Ended sessions whose details were trimmed.
    pub sessions: u64,
    /// Audit rows whose details were trimmed.
    pub audit_rows: u64,
}

/// The detail of a `suspended` audit row names both user agents; what is kept of it.
const SUSPENDED_PREFIX: &str = "presented by another user agent";

/// Trims client details past the retention (see the module documentation).
#[derive(Debug, Clone)]
pub struct Retention {
    store: RetentionStore,
    retention: IpRetention,
}

impl Retention {
    /// Trimming over `store`, for rows older than `retention` (zero: never).
    pub fn new(store: RetentionStore, retention: IpRetention) -> Self {
        Self { store, retention }
    }

    /// Trims every row that is past the retention at `now`, batch by batch, until none is
    /// left; returns how many were trimmed.
    ///
    /// # Errors
    /// Database errors (the batches already written stay trimmed).
    pub async fn trim(&self, now: UnixMillis) -> Result<Trimmed, StoreError> {
        let Some(before) = self.retention.trim_before(now) else {
            return Ok(Trimmed::default());
        };
        let mut done = Trimmed::default();
        let mut devices = Devices::default();
        loop {
            let batch = self.store.untrimmed_sessions(before, TRIM_BATCH).await?;
            let full = batch.len() >= TRIM_BATCH;
            let trimmed: Vec<_> = batch
                .into_iter()
                .map(|row| trim(row, &mut devices))
                .collect();
            let started = Instant::now();
            done.sessions += self.store.write_sessions(&trimmed).await?;
            if !full {
                break;
            }
            pause(started).await;
        }
        loop {
            let batch = self.store.untrimmed_audit(before, TRIM_BATCH).await?;
            let full = batch.len() >= TRIM_BATCH;
            let trimmed: Vec<_> = batch
                .into_iter()
                .map(|row| trim(row, &mut devices))
                .collect();
            let started = Instant::now();
            done.audit_rows += self.store.write_audit(&trimmed).await?;
            if !full {
                break;
            }
            pause(started).await;
        }
        Ok(done)
    }
}

/// As long a pause as the write that started at `started` took, at most [`MAX_PAUSE`]:
/// requests waiting for the database get at least half of the time.
async fn pause(started: Instant) {
    tokio::time::sleep(started.elapsed().min(MAX_PAUSE)).await;
}

fn trim_ip(ip: Option<String>) -> Option<String> {
    ip.and_then(|ip| truncate_ip(&ip).stored(&ip))
}

/// What a row keeps: the networks of its addresses, the device of its user agent, and its
/// detail (an audit row's; sessions carry none here) without the user agents a `suspended`
/// entry quotes.
fn trim<K>(row: ClientDetails<K>, devices: &mut Devices) -> ClientDetails<K> {
    let detail = row.detail.map(|detail| {
        if detail.starts_with(SUSPENDED_PREFIX) {
            format!("{SUSPENDED_PREFIX} (the user agents were removed after ip_retention)")
        } else {
            detail
        }
    });
    ClientDetails {
        key: row.key,
        ip: trim_ip(row.ip),
        last_ip: trim_ip(row.last_ip),
        user_agent: devices.of(row.user_agent),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

    #[test]
    fn a_trimmed_row_keeps_networks_and_the_device() {
        let devices = &mut Devices::default();
        let row = trim(
            ClientDetails {
                key: 7,
                ip: Some("203.0.113.77".into()),
                last_ip: None,
                user_agent: Some(CHROME.into()),
                detail: Some(format!(
                    "presented by another user agent: signed in with {CHROME:?}, now \"curl/8\""
                )),
            },
            devices,
        );
        assert_eq!(row.ip.as_deref(), Some("203.0.113.0/24"));
        assert_eq!(
            row.user_agent.as_deref(),
            Some("device only: Chrome; Linux; desktop")
        );
        let detail = row.detail.unwrap();
        assert!(
            !detail.contains("Chrome") && !detail.contains("curl"),
            "{detail}"
        );

        let session = trim(
            ClientDetails {
                key: "abc".to_owned(),
                ip: Some("2001:db8:1:2::3".into()),
                last_ip: Some("garbage".into()),
                user_agent: None,
                detail: None,
            },
            devices,
        );
        assert_eq!(session.ip.as_deref(), Some("2001:db8:1::/48"));
        assert_eq!(session.last_ip, None);
        assert_eq!(session.user_agent, None);
        // Trimming again changes nothing.
        assert_eq!(trim(session.clone(), devices), session);
    }
}
