//! The database connection: SQLite (embedded default) or PostgreSQL, chosen by URL.

use crate::server::error::StoreError;
use crate::username::username_key;
use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    AnyPool, Executor, Row,
};
use std::{str::FromStr, time::Duration};

/// Which database engine a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    /// An SQLite file (or memory) database.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A pool of connections plus the engine behind it. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: AnyPool,
    kind: DbKind,
    /// Where it is, for connections outside the pool (PostgreSQL's change listener).
    url: std::sync::Arc<str>,
    /// The device lists kept in memory, told of every change to the sessions table made or
    /// heard of through this handle.
    listings: super::listings::Listings,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("kind", &self.kind)
            .field("url", &redact_url(&self.url))
            .finish_non_exhaustive()
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Database {
    /// Connects to `url` (`sqlite://…` or `postgres://…`).
    ///
    /// SQLite connections use WAL journaling, a 5 s busy timeout and foreign keys, so concurrent
    /// requests wait for each other instead of failing with "database is locked". PostgreSQL
    /// connections wait at most 5 s for a lock and 30 s for a statement.
    ///
    /// # Errors
    /// [`StoreError::UnsupportedUrl`] for another scheme, [`StoreError::Database`] when the
    /// database cannot be opened.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let kind = if url.starts_with("sqlite:") {
            DbKind::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            DbKind::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        if kind == DbKind::Sqlite {
            create_sqlite_parent_dir(url);
        }
        let options = AnyConnectOptions::from_str(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if kind == DbKind::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if kind == DbKind::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                             PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                        )
                        .await?;
                    } else {
                        // Bounded work per request: no statement waits on a lock for more
                        // than 5 s or runs for more than 30 s (it fails, and the request
                        // answers 503, instead of hanging).
                        conn.execute("SET lock_timeout = '5s'; SET statement_timeout = '30s';")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            kind,
            url: url.into(),
            listings: super::listings::Listings::default(),
        })
    }

    /// Applies the migrations under `migrations/<engine>/` that are not yet applied, then
    /// gives accounts made before usernames were compared by their NFKC case-folded form their
    /// key ([`fill_username_keys`]; look-alike pairs are logged as warnings).
    ///
    /// # Errors
    /// [`StoreError::Migrate`] when a migration fails or the recorded ones differ from ours;
    /// database errors.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.kind {
            DbKind::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            DbKind::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        fill_username_keys(self).await?;
        Ok(())
    }

    /// The connection pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The URL it was opened with (holding any password: never log it unredacted).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The device lists kept in memory ([`super::listings`]).
    pub fn listings(&self) -> &super::listings::Listings {
        &self.listings
    }

    /// The engine behind the pool.
    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// Closes every connection; waits for those in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `url` with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Creates the folder of an SQLite file so that `sqlite://data/x.db?mode=rwc` works on a
/// fresh clone.
fn create_sqlite_parent_dir(url: &str) {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path.starts_with(':') {
        return;
    }
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            let _ = std::fs::create_dir_all(parent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://bob:hunter2@db/x"),
            "postgres://bob:***@db/x"
        );
        assert_eq!(redact_url("sqlite://data/a.db"), "sqlite://data/a.db");
    }

    #[tokio::test]
    async fn other_schemes_are_refused_with_a_hint() {
        let err = Database::connect("mysql://x").await.unwrap_err();
        assert!(err.to_string().contains("sqlite://"));
    }
}

/// What [`fill_username_keys`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsernameKeyFill {
    /// Accounts that got their key.
    pub filled: u64,
    /// Accounts that could not: `(this account's name, the name of the account that has the
    /// same key)`. They still sign in, by their exact name only, until one is renamed.
    pub collisions: Vec<(String, String)>,
}

/// Gives every account made before usernames were compared by [`crate::username::username_key`] its key, so
/// that sign-in finds it by any case or width of its name. An account whose key another
/// account already holds (two old accounts `frank` and `FRANK`) keeps no key and is reported;
/// both accounts keep working. Idempotent; cheap once done.
///
/// # Errors
/// Database errors.
pub async fn fill_username_keys(db: &Database) -> Result<UsernameKeyFill, StoreError> {
    let rows = sqlx::query("SELECT id, username FROM users WHERE username_key IS NULL ORDER BY id")
        .fetch_all(db.pool())
        .await?;
    let mut fill = UsernameKeyFill::default();
    for row in rows {
        let id: i64 = row.try_get("id")?;
        let username: String = row.try_get("username")?;
        let key = username_key(&username);
        match sqlx::query(
            "UPDATE users SET username_key = $1 WHERE id = $2 AND username_key IS NULL",
        )
        .bind(&key)
        .bind(id)
        .execute(db.pool())
        .await
        {
            Ok(done) => fill.filled += done.rows_affected(),
            // Another account has the key (an older one, or one another instance just filled).
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                let holder = sqlx::query("SELECT username FROM users WHERE username_key = $1")
                    .bind(&key)
                    .fetch_one(db.pool())
                    .await?;
                fill.collisions
                    .push((username, holder.try_get("username")?));
            }
            Err(e) => return Err(e.into()),
        }
    }
    for (name, other) in &fill.collisions {
        tracing::warn!(
            account = %name,
            same_as = %other,
            "two accounts have usernames that differ only in case, width or normalisation; \
             `{name}` signs in by its exact name only until one of them is renamed"
        );
    }
    Ok(fill)
}
