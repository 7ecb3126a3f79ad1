//! The engine's background work: following changes, sweeping, flushing and pruning.

use super::*;

/// What one application of the retention did ([`Engine::apply_retention`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Audit rows deleted past `audit_retention`.
    pub deleted_audit_rows: u64,
    /// Ended sessions and audit rows trimmed past `ip_retention`.
    pub trimmed: Trimmed,
}

/// The engine's background tasks; dropping this stops them.
#[derive(Debug)]
pub struct Background(Vec<JoinHandle<()>>);

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

impl Engine {
    /// Starts the background work on the current runtime (what [`EngineBuilder::build`] does
    /// unless told [`EngineBuilder::background`]`(false)`): the change follower (changes made
    /// by other instances and the command line reach this one's caches), the expiry sweep
    /// (every second), the writing of throttled attempts' counts (every 5 seconds) and, every
    /// minute, the pruning of old sign-in attempts, of refresh tokens of ended sessions, of the
    /// change log and of audit rows past `audit_retention`, and the trimming of client details
    /// past `ip_retention` ([`Engine::apply_retention`]). Dropping the handle stops it all.
    pub fn spawn_background(&self) -> Background {
        let mut tasks = vec![self.follow_changes()];
        tasks.append(&mut self.spawn_sweeps().0);
        Background(tasks)
    }

    /// Only the change follower of [`Engine::spawn_background`].
    pub fn follow_changes(&self) -> JoinHandle<()> {
        tokio::spawn(self.0.follower.clone().run())
    }

    /// [`Engine::spawn_background`] without the change follower.
    pub fn spawn_sweeps(&self) -> Background {
        let sweep = tokio::spawn(self.0.gate.clone().sweep_forever(Duration::from_secs(1)));
        let counts = self.0.sign_in.clone();
        let flush = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                if let Err(err) = counts.flush_throttle_audit().await {
                    tracing::warn!(error = %err, "writing throttled attempts' counts failed");
                }
            }
        });
        // Not a clone of the engine: the engine's own background work must not keep it alive.
        let parts = Arc::downgrade(&self.0);
        let prune = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                let Some(parts) = parts.upgrade() else { return };
                Engine(parts).prune_once().await;
            }
        });
        Background(vec![sweep, flush, prune])
    }

    /// Applies `audit_retention` and `ip_retention` now: audit rows past the first are
    /// deleted, client details of ended sessions and audit rows past the second are trimmed
    /// ([`crate::server::rules::retention`]), in bounded batches until none is left. The
    /// background work does this every minute; the command line's `server retention` once.
    ///
    /// # Errors
    /// Database errors (the batches already done stay done).
    pub async fn apply_retention(&self) -> Result<RetentionReport, StoreError> {
        let parts = &self.0;
        let now = parts.clock.now();
        let deleted_audit_rows = if parts.audit_retention.is_zero() {
            0
        } else {
            parts.audit.prune(now.minus(parts.audit_retention)).await?
        };
        let trimmed = parts.retention.trim(now).await?;
        Ok(RetentionReport {
            deleted_audit_rows,
            trimmed,
        })
    }

    /// One round of the minute's pruning (see [`Engine::spawn_background`]); failures are
    /// logged and retried next round.
    pub async fn prune_once(&self) {
        let parts = &self.0;
        let now = parts.clock.now();
        match self.apply_retention().await {
            Ok(report) if report == RetentionReport::default() => {}
            Ok(report) => tracing::info!(
                deleted_audit_rows = report.deleted_audit_rows,
                trimmed_sessions = report.trimmed.sessions,
                trimmed_audit_rows = report.trimmed.audit_rows,
                "applied audit_retention and ip_retention"
            ),
            Err(err) => tracing::warn!(error = %err, "applying the retention failed"),
        }
        if let Err(err) = parts.sign_in.prune().await {
            tracing::warn!(error = %err, "pruning old sign-in attempts failed");
        }
        if let Err(err) = parts.api.prune().await {
            tracing::warn!(error = %err, "pruning refresh tokens of ended sessions failed");
        }
        if let Err(err) = changes::prune(&parts.db, now).await {
            tracing::warn!(error = %err, "pruning the change log failed");
        }
    }
}
