//! Refresh tokens with rotation: each is good for one refresh, which hands out the next; a
//! token presented a second time means it was copied, and its session is ended by the caller.

use crate::clock::UnixMillis;
use crate::server::{db::Database, error::StoreError, secret::hash_secret};
use rand::RngCore;
use sqlx::Row;

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// It was unused: it is used now, and `token` is the next one for the same session.
    Rotated {
        /// The session it belongs to (public id).
        session_id: String,
        /// The new refresh token.
        token: String,
    },
    /// It had been used before: someone holds a copy. End the session.
    Reused {
        /// The session it belongs to (public id).
        session_id: String,
    },
    /// Its session has ended: nothing is used or issued.
    Ended,
    /// No such token.
    Unknown,
}

/// The refresh tokens table. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RefreshTokens {
    db: Database,
}

/// A new random token: 256 bits, hex.
fn fresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl RefreshTokens {
    /// The table in `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// A new refresh token for the session `session_id` (only its hash is stored), recording
    /// `access_hash`, the SHA-256 of the `jti` of the access token issued with it.
    ///
    /// # Errors
    /// Database errors.
    pub async fn issue(
        &self,
        session_id: &str,
        access_hash: &str,
        now: UnixMillis,
    ) -> Result<String, StoreError> {
        let token = fresh_token();
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_hash, access_hash, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(hash_secret(&token))
        .bind(session_id)
        .bind(access_hash)
        .bind(now.as_millis())
        .execute(self.db.pool())
        .await?;
        Ok(token)
    }

    /// Deletes the refresh tokens of sessions that have ended (used ones are kept while their
    /// session lives: they are how a reuse is recognised). Returns how many went.
    ///
    /// # Errors
    /// Database errors.
    pub async fn prune(&self) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "DELETE FROM refresh_tokens WHERE session_hash IN \
             (SELECT id_hash FROM sessions WHERE ended_at IS NOT NULL)",
        )
        .execute(self.db.pool())
        .await?
        .rows_affected())
    }

    /// Whether an access token with the `jti` whose SHA-256 is `access_hash` was issued for
    /// the session `session_id` (see [`super::jwt`]).
    ///
    /// # Errors
    /// Database errors.
    pub async fn is_issued(&self, session_id: &str, access_hash: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "SELECT 1 AS found FROM refresh_tokens WHERE access_hash = $1 AND session_hash = $2",
        )
        .bind(access_hash)
        .bind(session_id)
        .fetch_optional(self.db.pool())
        .await?
        .is_some())
    }

    /// Uses `token` once: the first presentation rotates it, any later one is a reuse. The
    /// next token records `next_access_hash` (the access token issued with it).
    /// Concurrent presentations of one token rotate it exactly once.
    ///
    /// # Errors
    /// Database errors (nothing is used then).
    pub async fn rotate(
        &self,
        token: &str,
        next_access_hash: &str,
        now: UnixMillis,
    ) -> Result<Rotation, StoreError> {
        let hash = hash_secret(token);
        let mut tx = self.db.pool().begin().await?;
        let row = sqlx::query(
            "SELECT r.session_hash, s.ended_at, s.id_hash AS live_id FROM refresh_tokens r \
             LEFT JOIN sessions s ON s.id_hash = r.session_hash WHERE r.token_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(Rotation::Unknown);
        };
        let session_id: String = row.try_get("session_hash")?;
        let ended = row.try_get::<Option<i64>, _>("ended_at")?.is_some()
            || row.try_get::<Option<String>, _>("live_id")?.is_none();
        if ended {
            tx.rollback().await?;
            return Ok(Rotation::Ended);
        }
        let used = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
        )
        .bind(now.as_millis())
        .bind(&hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if used == 0 {
            tx.rollback().await?;
            return Ok(Rotation::Reused { session_id });
        }
        let next = fresh_token();
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_hash, access_hash, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(hash_secret(&next))
        .bind(&session_id)
        .bind(next_access_hash)
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Rotation::Rotated {
            session_id,
            token: next,
        })
    }
}
