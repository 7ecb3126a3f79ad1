//! The `jwt_keys` table: which keys sign and verify JWT access tokens, and when each retires.
//! The table says which keys exist; the key itself is stored only when no root secret is
//! configured (see [`JwtKeyRow::material`]). Turning a row into a usable key is the token
//! rules' business ([`crate::server::tokens::signing`]).

use crate::{
    clock::UnixMillis,
    server::{db::Database, error::StoreError},
};
use sqlx::Row;

/// One stored key.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtKeyRow {
    /// The key's id, as tokens name it in their `kid` header.
    pub kid: String,
    /// The algorithm it signs with (`HS256`, `EdDSA`, `ES256`), fixed for its life.
    pub algorithm: String,
    /// The key itself, hex; `None` when it is derived from the root secret and the kid.
    pub material: Option<String>,
    /// When it was added.
    pub created_at: UnixMillis,
    /// When it stops verifying; `None` for the signing key.
    pub retire_at: Option<UnixMillis>,
}

impl std::fmt::Debug for JwtKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeyRow")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("material", &self.material.as_ref().map(|_| "[redacted]"))
            .field("created_at", &self.created_at)
            .field("retire_at", &self.retire_at)
            .finish()
    }
}

/// A key that a rotation retired: its id and when it stops verifying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredKey {
    /// The key's id.
    pub kid: String,
    /// When its tokens stop being accepted.
    pub retire_at: UnixMillis,
}

/// What a rotation changed in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replaced {
    /// The new key signs now; these keys (the former signing key, normally one) retire.
    Done(Vec<RetiredKey>),
    /// Another writer added a signing key at the same time; nothing was changed.
    Raced,
}

/// Every stored key, oldest first.
///
/// # Errors
/// Database errors.
pub async fn list(db: &Database) -> Result<Vec<JwtKeyRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT kid, algorithm, material, created_at, retire_at FROM jwt_keys \
         ORDER BY created_at, kid",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(JwtKeyRow {
                kid: row.try_get("kid")?,
                algorithm: row.try_get("algorithm")?,
                material: row.try_get("material")?,
                created_at: UnixMillis(row.try_get("created_at")?),
                retire_at: row.try_get::<Option<i64>, _>("retire_at")?.map(UnixMillis),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Makes `new` the signing key in one transaction: the current signing key retires at
/// `retire_at`, keys whose retirement passed before `now` are deleted, and `new` is added
/// (its `retire_at` is ignored: it signs). Two writers racing: one of them gets
/// [`Replaced::Raced`] and changes nothing.
///
/// # Errors
/// Database errors (nothing is changed then).
pub async fn replace_signing_key(
    db: &Database,
    new: &JwtKeyRow,
    retire_at: UnixMillis,
    now: UnixMillis,
) -> Result<Replaced, StoreError> {
    let mut tx = db.pool().begin().await?;
    let retiring =
        sqlx::query("UPDATE jwt_keys SET retire_at = $1 WHERE retire_at IS NULL RETURNING kid")
            .bind(retire_at.as_millis())
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>("kid"))
            .collect::<Result<Vec<_>, _>>()?;
    sqlx::query("DELETE FROM jwt_keys WHERE retire_at <= $1")
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO jwt_keys (kid, algorithm, material, created_at, retire_at) \
         VALUES ($1, $2, $3, $4, NULL)",
    )
    .bind(&new.kid)
    .bind(&new.algorithm)
    .bind(new.material.clone())
    .bind(new.created_at.as_millis())
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        // Another writer's signing key was added meanwhile (PostgreSQL: after this
        // transaction's update read the table).
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            tx.rollback().await?;
            return Ok(Replaced::Raced);
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    Ok(Replaced::Done(
        retiring
            .into_iter()
            .map(|kid| RetiredKey { kid, retire_at })
            .collect(),
    ))
}
