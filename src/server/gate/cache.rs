//! The in-process copy of a live session, and reading it from the database.

use super::{super::error::StoreError, end_reason_of, SessionGate, Verdict};
use crate::{clock::UnixMillis, policy::SessionTimes};

/// What the gate keeps of a live session between database reads.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) user_id: i64,
    pub(super) username: String,
    pub(super) remember: bool,
    pub(super) kind: crate::SessionKind,
    pub(super) admin: bool,
    pub(super) user_agent: Option<String>,
    pub(super) last_ip: Option<String>,
    pub(super) times: SessionTimes,
    pub(super) written_activity: UnixMillis,
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
}

impl SessionGate {
    /// Reads the session `id_hash` from the database, keeping activity that only the cache has
    /// seen; the verdict instead when it is not live.
    pub(super) async fn load(&self, id_hash: &str) -> Result<Result<Entry, Verdict>, StoreError> {
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
        let (username, admin) = self
            .inner
            .sessions
            .account_of(user_id)
            .await?
            .unwrap_or_default();
        let cached = self.inner.cache.get(id_hash);
        let db_activity = UnixMillis(row.last_seen_at);
        let last_activity = cached
            .as_ref()
            .map_or(db_activity, |c| c.times.last_activity_at.max(db_activity));
        Ok(Ok(Entry {
            user_id,
            username,
            remember: row.remember,
            kind: row.kind,
            admin,
            user_agent: row.user_agent.clone(),
            last_ip: row.last_ip.clone(),
            times: SessionTimes {
                created_at: UnixMillis(row.created_at),
                last_activity_at: last_activity,
            },
            written_activity: cached.map_or(db_activity, |c| c.written_activity.max(db_activity)),
        }))
    }
}
