//! Server-wide secret keys. With a root secret configured (`secret_key`, kept outside the
//! database like Django's `SECRET_KEY`), each key is derived from it by name, so that a copy of
//! the database alone cannot sign a JWT, forge a session's auth hash or reveal a draft key.
//! Without one, each key is generated once and kept in the database, so that every instance on
//! one database uses the same ones and a restart keeps them (sessions stay signed in).
//! The keys that sign JWTs follow the same rule, but there may be several of them, so they
//! have their own table (see [`super::jwt_keys`]).

use crate::server::{clock::SharedClock, db::Database, error::StoreError};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use sqlx::Row;
use std::fmt;

/// The key that derives sessions' auth hashes and hides typed usernames in the throttle table.
pub const SERVER_KEY: &str = "server_hmac";

/// A 256-bit secret. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(Vec<u8>);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

impl SecretKey {
    /// A key from raw bytes (tests, configuration).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The raw key (to hand to another primitive, e.g. the JWT signer).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// HMAC-SHA256 of `parts` (each length-prefixed, so that `("ab","c")` and `("a","bc")`
    /// differ) under this key.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// [`SecretKey::mac`] as lowercase hex.
    pub fn mac_hex(&self, parts: &[&[u8]]) -> String {
        hex::encode(self.mac(parts))
    }

    /// The key named `name` derived from this root secret (HMAC-SHA256 of the name).
    pub fn derive(&self, name: &str) -> Self {
        Self(self.mac(&[b"auto-logout key", name.as_bytes()]).to_vec())
    }

    /// The key `name`: derived from `root` when a root secret is configured (nothing is read
    /// from or written to the database then), else [`SecretKey::load_or_create`].
    ///
    /// # Errors
    /// As [`SecretKey::load_or_create`].
    pub async fn resolve(
        db: &Database,
        root: Option<&SecretKey>,
        name: &str,
        clock: &SharedClock,
    ) -> Result<Self, StoreError> {
        match root {
            Some(root) => Ok(root.derive(name)),
            None => Self::load_or_create(db, name, clock).await,
        }
    }

    /// Loads the key `name`, generating and storing a random one first when there is none.
    /// Instances racing to create it all end up with the one stored first.
    ///
    /// # Errors
    /// Database errors, or [`StoreError::Corrupt`] when the stored key is not hex.
    pub async fn load_or_create(
        db: &Database,
        name: &str,
        clock: &SharedClock,
    ) -> Result<Self, StoreError> {
        let mut fresh = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut fresh);
        sqlx::query(
            "INSERT INTO server_keys (name, value, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(hex::encode(fresh))
        .bind(clock.now().as_millis())
        .execute(db.pool())
        .await?;
        let row = sqlx::query("SELECT value FROM server_keys WHERE name = $1")
            .bind(name)
            .fetch_one(db.pool())
            .await?;
        let value: String = row.try_get("value")?;
        hex::decode(value)
            .map(Self)
            .map_err(|e| StoreError::Corrupt(format!("server key `{name}`: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_depend_on_key_and_on_part_boundaries() {
        let a = SecretKey::from_bytes(vec![1; 32]);
        let b = SecretKey::from_bytes(vec![2; 32]);
        assert_ne!(a.mac(&[b"x"]), b.mac(&[b"x"]));
        assert_ne!(a.mac(&[b"ab", b"c"]), a.mac(&[b"a", b"bc"]));
        assert_eq!(a.mac_hex(&[b"x"]).len(), 64);
        assert!(!format!("{a:?}").contains('1'));
    }

    #[test]
    fn derived_keys_differ_by_name_and_root() {
        let root = SecretKey::from_bytes(b"an operator's secret of some length".to_vec());
        let other = SecretKey::from_bytes(b"another operator's secret, as long".to_vec());
        assert_eq!(root.derive(SERVER_KEY), root.derive(SERVER_KEY));
        assert_ne!(root.derive(SERVER_KEY), root.derive("jwt_key:k1"));
        assert_ne!(root.derive(SERVER_KEY), other.derive(SERVER_KEY));
        assert_eq!(root.derive(SERVER_KEY).as_bytes().len(), 32);
        assert_ne!(root.derive(SERVER_KEY).as_bytes(), root.as_bytes());
    }
}
