//! The background sweep: ends sessions whose limit passed while no request came, with the
//! moment the limit passed.

use super::{
    super::{error::StoreError, sessions::ClientInfo},
    SessionClass, SessionGate,
};
use crate::{clock::UnixMillis, policy::SessionTimes};
use std::time::Duration;

impl SessionGate {
    /// Ends every session whose limit passed while nobody was looking, recording the moment
    /// the limit passed (not the sweep's time). Activity still only in the cache counts.
    /// Returns how many sessions were ended.
    #[tracing::instrument(name = "session.sweep", skip_all)]
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
                (before(limits.api.idle), before(limits.api.absolute)),
                (before(limits.admin.idle), before(limits.admin.absolute)),
            )
            .await?;
        let mut ended = 0;
        for (row, admin) in candidates {
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
            let policy = limits.for_session(SessionClass {
                kind: row.kind,
                remember: row.remember,
                admin,
            });
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
