//! Refresh tokens with rotation: each is good for one refresh, which hands out the next; a
//! token presented again after [`DEFAULT_REUSE_GRACE`] (`refresh_reuse_grace`) means it was
//! copied, and its session is ended by the caller.
//!
//! Mobile clients send requests in parallel, so two refreshes with the same token are often
//! just a race. Within the grace both get the *same* successor: the successor (and the `jti`
//! of the access token issued with it) is derived from the presented token under a server key,
//! so the second presentation can be answered again although only hashes are stored. Nothing
//! in the database alone yields a successor: it needs the presented token, which is stored only
//! as its SHA-256.

use crate::clock::UnixMillis;
use crate::server::{db::Database, error::StoreError, keys::SecretKey, secret::hash_secret};
use rand::RngCore;
use sqlx::Row;
use std::time::Duration;

/// How long after its first use a refresh token may be presented again and get the same
/// successor, unless said otherwise (SPEC §3 `refresh_reuse_grace`).
pub const DEFAULT_REUSE_GRACE: Duration = Duration::from_secs(10);

/// What a second presentation of a used refresh token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Within the grace after its first use: a client's parallel requests. Answer it again.
    Overlap,
    /// After the grace: a copy. End the session.
    Theft,
}

/// Whether presenting again, at `now`, a token first used at `used_at` is an overlap or a
/// theft, with `grace` (zero: every repeat is a theft). The first use's own millisecond
/// through `used_at + grace` inclusive is an overlap.
pub fn repeat_of(used_at: UnixMillis, now: UnixMillis, grace: Duration) -> Repeat {
    let grace = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
    if grace > 0 && now.as_millis() <= used_at.as_millis().saturating_add(grace) {
        Repeat::Overlap
    } else {
        Repeat::Theft
    }
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// It was unused (it is used now), or used within the grace: `token` is the next one for
    /// the same session, and `jti` the id of the access token to issue with it.
    Rotated {
        /// The session it belongs to (public id).
        session_id: String,
        /// The next refresh token (the same for every presentation within the grace).
        token: String,
        /// The `jti` of the access token that goes with it (its hash is recorded).
        jti: String,
        /// Whether this was a repeat within the grace rather than the first use.
        repeat: bool,
    },
    /// It had been used before the grace: someone holds a copy. End the session.
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
    successors: SecretKey,
    grace: Duration,
}

/// A new random token: 256 bits, hex.
fn fresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl RefreshTokens {
    /// The table in `db`; successors are derived under `key` (a server key, kept or derived
    /// like the others), and a repeat within `grace` of a first use gets the same one.
    pub fn new(db: Database, key: &SecretKey, grace: Duration) -> Self {
        Self {
            db,
            successors: key.derive("refresh token successor"),
            grace,
        }
    }

    /// The successor of `token` and the `jti` of the access token issued with it: 256 and 128
    /// bits derived from the presented token, the same on every instance.
    fn successor_of(&self, token: &str) -> (String, String) {
        let next = self.successors.mac_hex(&[b"next", token.as_bytes()]);
        let jti = self.successors.mac_hex(&[b"jti", token.as_bytes()]);
        (next, jti[..32].to_owned())
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

    /// Uses `token`: the first presentation rotates it, a repeat within the grace gets the
    /// same successor again, any later one is a reuse. The successor records the hash of the
    /// `jti` it returns. Concurrent presentations of one token store one successor.
    ///
    /// # Errors
    /// Database errors (nothing is used then).
    pub async fn rotate(&self, token: &str, now: UnixMillis) -> Result<Rotation, StoreError> {
        let hash = hash_secret(token);
        let mut tx = self.db.pool().begin().await?;
        // The write comes first: it takes SQLite's write lock at once (waiting its turn),
        // where a read first would have to upgrade its lock and fail under a race; on
        // PostgreSQL it locks the row, and a racing presentation waits for this one.
        let used = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
        )
        .bind(now.as_millis())
        .bind(&hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let row = sqlx::query(
            "SELECT r.session_hash, r.used_at, s.ended_at, s.id_hash AS live_id \
             FROM refresh_tokens r LEFT JOIN sessions s ON s.id_hash = r.session_hash \
             WHERE r.token_hash = $1",
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
        let (next, jti) = self.successor_of(token);
        if used == 0 {
            // Used before (by a racing request that has committed by now): when?
            let used_at = row.try_get::<Option<i64>, _>("used_at")?;
            tx.rollback().await?;
            let used_at = UnixMillis(used_at.unwrap_or(i64::MIN));
            return Ok(match repeat_of(used_at, now, self.grace) {
                Repeat::Overlap => Rotation::Rotated {
                    session_id,
                    token: next,
                    jti,
                    repeat: true,
                },
                Repeat::Theft => Rotation::Reused { session_id },
            });
        }
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_hash, access_hash, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(hash_secret(&next))
        .bind(&session_id)
        .bind(hash_secret(&jti))
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Rotation::Rotated {
            session_id,
            token: next,
            jti,
            repeat: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: UnixMillis = UnixMillis(1_800_000_000_000);

    fn later(ms: i64) -> UnixMillis {
        UnixMillis(AT.as_millis() + ms)
    }

    #[test]
    fn a_repeat_within_the_grace_is_an_overlap_and_after_it_a_theft() {
        let grace = Duration::from_secs(10);
        assert_eq!(repeat_of(AT, AT, grace), Repeat::Overlap);
        assert_eq!(repeat_of(AT, later(10_000), grace), Repeat::Overlap);
        assert_eq!(repeat_of(AT, later(10_001), grace), Repeat::Theft);
        assert_eq!(repeat_of(AT, AT, Duration::ZERO), Repeat::Theft, "no grace");
        assert_eq!(
            repeat_of(UnixMillis(i64::MIN), AT, grace),
            Repeat::Theft,
            "a use of unknown time"
        );
        assert_eq!(
            repeat_of(AT, later(-5), grace),
            Repeat::Overlap,
            "another instance's clock a little ahead"
        );
    }

    /// A table over a fresh SQLite database holding one live session `s1`.
    async fn table(grace: Duration) -> (RefreshTokens, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/refresh.db?mode=rwc", dir.path().display());
        let db = Database::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        sqlx::query(
            "INSERT INTO sessions (id_hash, kind, data, created_at, last_seen_at, expires_at) \
             VALUES ('s1', 'api', '{}', $1, $1, $2)",
        )
        .bind(AT.as_millis())
        .bind(AT.as_millis() + 86_400_000)
        .execute(db.pool())
        .await
        .unwrap();
        let key = SecretKey::from_bytes(vec![9; 32]);
        (RefreshTokens::new(db, &key, grace), dir)
    }

    fn successor(rotation: &Rotation) -> (&str, &str) {
        match rotation {
            Rotation::Rotated { token, jti, .. } => (token, jti),
            other => panic!("not rotated: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_repeat_within_the_grace_gets_the_same_successor_and_a_later_one_is_a_reuse() {
        let (tokens, _dir) = table(Duration::from_secs(10)).await;
        let first = tokens.issue("s1", "access", AT).await.unwrap();
        let once = tokens.rotate(&first, AT).await.unwrap();
        let again = tokens.rotate(&first, later(10_000)).await.unwrap();
        assert_eq!(successor(&once), successor(&again));
        assert!(matches!(again, Rotation::Rotated { repeat: true, .. }));
        let (next, jti) = successor(&once);
        assert_ne!(next, first);
        assert_eq!((next.len(), jti.len()), (64, 32));
        assert!(tokens.is_issued("s1", &hash_secret(jti)).await.unwrap());
        // The successor works once, as any token.
        let next = next.to_owned();
        assert!(matches!(
            tokens.rotate(&next, later(1)).await.unwrap(),
            Rotation::Rotated { repeat: false, .. }
        ));
        assert_eq!(
            tokens.rotate(&first, later(10_001)).await.unwrap(),
            Rotation::Reused {
                session_id: "s1".into()
            }
        );
        assert_eq!(
            tokens.rotate("no such token", AT).await.unwrap(),
            Rotation::Unknown
        );
    }

    #[tokio::test]
    async fn without_a_grace_every_repeat_is_a_reuse() {
        let (tokens, _dir) = table(Duration::ZERO).await;
        let first = tokens.issue("s1", "access", AT).await.unwrap();
        successor(&tokens.rotate(&first, AT).await.unwrap());
        assert!(matches!(
            tokens.rotate(&first, AT).await.unwrap(),
            Rotation::Reused { .. }
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parallel_presentations_all_get_one_successor() {
        let (tokens, _dir) = table(Duration::from_secs(10)).await;
        let first = tokens.issue("s1", "access", AT).await.unwrap();
        let racers: Vec<_> = (0..8)
            .map(|_| {
                let (tokens, first) = (tokens.clone(), first.clone());
                tokio::spawn(async move { tokens.rotate(&first, AT).await.unwrap() })
            })
            .collect();
        let mut outcomes = Vec::new();
        for racer in racers {
            outcomes.push(racer.await.unwrap());
        }
        let firsts = outcomes
            .iter()
            .filter(|r| matches!(r, Rotation::Rotated { repeat: false, .. }))
            .count();
        assert_eq!(
            firsts, 1,
            "exactly one presentation rotated it: {outcomes:?}"
        );
        let expected = successor(&outcomes[0]);
        assert!(outcomes.iter().all(|r| successor(r) == expected));
        let stored: i64 = sqlx::query("SELECT COUNT(*) AS n FROM refresh_tokens")
            .fetch_one(tokens.db.pool())
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
        assert_eq!(stored, 2, "the presented token and one successor");
    }

    #[tokio::test]
    async fn successors_depend_on_the_key() {
        let (tokens, _dir) = table(Duration::from_secs(10)).await;
        let other = RefreshTokens::new(
            tokens.db.clone(),
            &SecretKey::from_bytes(vec![8; 32]),
            Duration::from_secs(10),
        );
        assert_ne!(tokens.successor_of("t"), other.successor_of("t"));
        assert_ne!(tokens.successor_of("t"), tokens.successor_of("u"));
    }
}
