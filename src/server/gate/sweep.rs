//! The background sweep: ends sessions whose limit passed while no request came, with the
//! moment the limit passed.

use super::{
    super::{error::StoreError, sessions::ClassCutoff},
    SessionClass, SessionGate,
};
use crate::{clock::UnixMillis, event::EndReason, last_tab::TabPresence, limits::CLASS_TABLE};
use std::time::Duration;

/// Candidates the sweep reads per query.
pub const SWEEP_READ_BATCH: usize = 1_000;

/// Sessions the sweep ends per transaction: short enough that requests waiting for the write
/// lock wait a few milliseconds at most.
pub const SWEEP_WRITE_BATCH: usize = 50;

/// The longest pause between two of the sweep's write transactions.
const SWEEP_MAX_PAUSE: Duration = Duration::from_millis(20);

impl SessionGate {
    /// Ends every session whose limit passed while nobody was looking, recording the moment
    /// the limit passed (not the sweep's time). Activity still only in the cache counts.
    /// Returns how many sessions were ended.
    ///
    /// Work is bounded and shared: candidates are read [`SWEEP_READ_BATCH`] at a time and
    /// ended [`SWEEP_WRITE_BATCH`] per transaction, pausing between transactions, so that a
    /// mass expiry (100,000 sessions whose limit passed at once) neither holds the database's
    /// write lock for long nor holds every row in memory.
    #[tracing::instrument(name = "session.sweep", skip_all)]
    pub async fn sweep_once(&self) -> Result<usize, StoreError> {
        let now = self.inner.clock.now();
        let limits = &self.inner.limits;
        // A limit that is off never makes a session a candidate.
        let before = |limit: Option<Duration>| -> i64 {
            limit.map_or(i64::MIN, |d| {
                now.as_millis()
                    .saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            })
        };
        let tabs_before = |class| {
            limits
                .of(class)
                .last_tab
                .map_or((i64::MIN, i64::MIN), |rule| {
                    let (closed, visible) = rule.ended_if_heard_before(now);
                    (closed.as_millis(), visible.as_millis())
                })
        };
        let mut ended = 0;
        loop {
            // One cut-off per class of the class table: the query follows the table.
            let cutoffs: Vec<ClassCutoff> = CLASS_TABLE
                .iter()
                .map(|row| {
                    let (tabs_closed_before, tabs_visible_before) = tabs_before(row.class);
                    ClassCutoff {
                        row: *row,
                        idle_before: before(limits.of(row.class).idle),
                        // The absolute limit or a scheduled cut-off, whichever finds more.
                        absolute_before: limits
                            .of(row.class)
                            .signed_in_too_early(now)
                            .map_or(i64::MIN, UnixMillis::as_millis),
                        tabs_closed_before,
                        tabs_visible_before,
                    }
                })
                .collect();
            let candidates = self
                .inner
                .sessions
                .expiry_candidates(&cutoffs, SWEEP_READ_BATCH)
                .await?;
            let full_batch = candidates.len() >= SWEEP_READ_BATCH;
            let due: Vec<(String, EndReason, UnixMillis)> = candidates
                .into_iter()
                .filter_map(|(row, admin)| {
                    // What only the cache has seen (activity, tabs) counts too.
                    let mut times = row.times();
                    if let Some(cached) = self.inner.cache.get(&row.id_hash).map(|e| e.times()) {
                        times.last_activity_at =
                            times.last_activity_at.max(cached.last_activity_at);
                        times.tabs = TabPresence::merge(times.tabs, cached.tabs);
                    }
                    let policy = limits.for_session(SessionClass {
                        kind: row.kind,
                        remember: row.remember,
                        admin,
                    });
                    policy
                        .expiry(times, now)
                        .map(|(reason, at)| (row.id_hash, reason, at))
                })
                .collect();
            for batch in due.chunks(SWEEP_WRITE_BATCH) {
                let started = std::time::Instant::now();
                ended += self.end_expired(batch).await?;
                // As long a pause as the write took: requests waiting for the database's write
                // lock (SQLite has one) get at least half of the time.
                tokio::time::sleep(started.elapsed().min(SWEEP_MAX_PAUSE)).await;
            }
            // A batch with nothing due is sessions kept alive by activity this instance has
            // not written yet; the next sweep sees them with it.
            if !full_batch || due.is_empty() {
                return Ok(ended);
            }
        }
    }

    /// Ends `batch` (session, reason, when its limit passed) in one transaction, marked as
    /// being ended until it commits. Returns how many were still live.
    async fn end_expired(
        &self,
        batch: &[(String, EndReason, UnixMillis)],
    ) -> Result<usize, StoreError> {
        // One guard per reason (a guard marks its sessions with one reason).
        let mut reasons: Vec<EndReason> = batch.iter().map(|(_, reason, _)| *reason).collect();
        reasons.sort_by_key(|reason| reason.as_str());
        reasons.dedup();
        let guards: Vec<_> = reasons
            .into_iter()
            .map(|reason| {
                let ids: Vec<String> = batch
                    .iter()
                    .filter(|(_, r, _)| *r == reason)
                    .map(|(id, _, _)| id.clone())
                    .collect();
                let count = ids.len() as u64;
                (reason, count, self.begin_ending(&ids, reason))
            })
            .collect();
        match self.inner.sessions.end_expired(batch).await {
            Ok(ended) => {
                for (reason, count, guard) in guards {
                    guard.committed();
                    crate::server::telemetry::sessions_ended(reason, count);
                }
                Ok(ended)
            }
            Err(err) => {
                for (_, _, guard) in guards {
                    guard.failed();
                }
                Err(err)
            }
        }
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
