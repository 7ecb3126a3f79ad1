//! JWT access tokens: `sub`, `sid`, `jti`, `iat`, `exp`, signed with one of the server's keys
//! and naming it in the `kid` header (see [`super::signing`]). A JWT only says which session
//! it speaks for; whether that session is still live is the gate's question on every request.
//!
//! A signature alone is not enough: `sid` is the session's public id, stored as it is, and a
//! signing key may be recoverable from a copy of the database. Each token therefore carries a
//! random `jti` (128 bits) of which the database holds only the SHA-256, beside the refresh
//! token it was issued with ([`super::RefreshTokens::is_issued`]); a token whose `jti` was
//! never issued for its `sid` is refused, however well signed.
//!
//! # Keys that rotate
//! Several keys verify while one signs (SPEC §7). They live in the `jwt_keys` table, shared by
//! every instance on the database: [`JwtKeys::rotate`] (the command line's `server keys
//! rotate`) adds a signing key and retires the previous one one token lifetime later, when
//! every token it signed has expired; from then on its tokens are refused. Each instance reads
//! the set again when the change log says it changed (within a second), at most once a second
//! when a token names a key it does not know, and every [`PERIODIC_RELOAD`] whatever happens;
//! so a token naming a random `kid` costs no database read beyond the first of each second.
//! With a configured `jwt_secret` the only key is that fixed HMAC secret (kid
//! [`FIXED_SECRET_KID`]), and there is nothing to rotate.
//!
//! A mobile client sends the same token with every request until it refreshes it, so the
//! tokens verified here are remembered (bounded in number, each for at most a token's lifetime
//! after it was first seen): the signature and JSON of a token seen before are not checked again, which was
//! a tenth of such a request's cost. Only tokens that verified are remembered; a token is
//! found only by its exact text; its `exp` is read against the injected clock, and its key's
//! retirement, each time.

use super::{
    refresh::RefreshTokens,
    signing::{JwtAlgorithm, KeyError, KeySet, SigningKey},
};
use crate::{
    clock::UnixMillis,
    server::{
        db::Database,
        error::StoreError,
        jwt_keys::{self, JwtKeyRow, Replaced, RetiredKey},
        keys::SecretKey,
        secret::hash_secret,
    },
};
use jsonwebtoken::jwk::JwkSet;
use serde::{Deserialize, Serialize};
use std::{
    sync::{
        atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering},
        Arc, RwLock,
    },
    time::Duration,
};

/// The most verified tokens remembered at once; beyond it the least used are verified again.
pub const VERIFIED_CAPACITY: u64 = 10_000;

/// The `kid` of the one key made from a configured `jwt_secret`.
pub const FIXED_SECRET_KID: &str = "jwt_secret";

/// The least time between two reads of the key set prompted by a token naming an unknown key
/// (or by the periodic read): an attacker sending random `kid`s costs one read a second.
pub const MIN_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// How often the key set is read again even when no change was announced (a safety net).
pub const PERIODIC_RELOAD: Duration = Duration::from_secs(60);

/// The longest `kid` looked up; a longer one is refused unread.
const MAX_KID_LEN: usize = 128;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The account id.
    pub sub: String,
    /// The public id of the server session (SHA-256 hex of its secret).
    pub sid: String,
    /// This token's own random id (128 bits, hex); only its SHA-256 is stored.
    pub jti: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
}

/// Why a JWT was refused, or could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not a JWT of this server: malformed, no `kid`, another algorithm than its key's
    /// (`none` included), a wrong signature, or claims missing.
    #[error("the token is not valid")]
    Invalid,
    /// Its `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// Its `kid` names no key this server has.
    #[error("the token names a signing key this server does not know")]
    UnknownKey,
    /// Its key has retired: every token it signed is refused from then on.
    #[error("the token was signed with a retired key")]
    RetiredKey,
    /// The signing key is unusable (an empty secret, or signing failed).
    #[error("the JWT signing key is unusable")]
    Key,
    /// No key may sign: the database's signing key is derived from a `secret_key` this server
    /// does not have (or it was stored while this one has a `secret_key`).
    #[error(
        "no usable JWT signing key: configure the same `secret_key` (or none) on every \
         instance, or run `server keys rotate`"
    )]
    NoSigningKey,
    /// Whether the token was issued could not be looked up (the database is unavailable).
    #[error("the token could not be checked: the database is unavailable")]
    Unavailable,
}

/// Why the keys could not be loaded or rotated.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// The only key is the configured `jwt_secret`.
    #[error(
        "JWTs are signed with the configured `jwt_secret`, which the server cannot rotate: \
         change `jwt_secret` on every instance instead, or unset it to let the server keep \
         (and rotate) its own keys"
    )]
    FixedSecret,
    /// The database could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A new key could not be made.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Other writers kept adding signing keys at the same time.
    #[error(
        "other rotations of the JWT keys ran at the same time; nothing was changed: try again"
    )]
    Raced,
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRotation {
    /// The new signing key's id.
    pub kid: String,
    /// Its algorithm.
    pub algorithm: JwtAlgorithm,
    /// The keys that signed before (normally one): they verify until their `retire_at`.
    pub retiring: Vec<RetiredKey>,
}

/// A fresh random token id: 128 bits, hex.
pub fn fresh_jti() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether a token with `exp` (seconds) has expired at `now`: from the second `exp` on.
pub fn is_expired(exp: i64, now: UnixMillis) -> bool {
    now.as_millis() >= exp.saturating_mul(1000)
}

/// A token that verified: its claims and the key that signed it.
#[derive(Debug)]
struct VerifiedToken {
    claims: Claims,
    kid: Box<str>,
}

/// Tokens that verified, by their text (see the module documentation).
type Verified = moka::sync::Cache<Box<str>, Arc<VerifiedToken>, crate::server::CacheHasher>;

/// Where the keys come from.
#[derive(Debug)]
enum Source {
    /// A fixed set (a configured `jwt_secret`, or keys handed in): never read again.
    Fixed,
    /// The `jwt_keys` table; keys derived from `root` when there is one.
    Database {
        db: Database,
        root: Option<SecretKey>,
        algorithm: JwtAlgorithm,
    },
}

/// The key set and what keeps it current; shared by every clone.
#[derive(Debug)]
struct KeyState {
    set: RwLock<Arc<KeySet>>,
    source: Source,
    /// A change of the table was announced: read it at the next use.
    stale: AtomicBool,
    /// When the set was last read successfully, and last tried (ms).
    last_load: AtomicI64,
    last_attempt: AtomicI64,
    /// How many times the table was read.
    loads: AtomicU64,
    /// One read at a time.
    reloading: tokio::sync::Mutex<()>,
}

/// Signs and checks access tokens with the server's keys (see the module documentation).
/// Clones share the keys and the tokens verified so far.
#[derive(Clone)]
pub struct JwtKeys {
    state: Arc<KeyState>,
    ttl: Duration,
    verified: Verified,
    issued: Option<RefreshTokens>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("ttl", &self.ttl)
            .field(
                "keys",
                &self
                    .current()
                    .keys()
                    .map(|k| k.kid().to_owned())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl JwtKeys {
    fn with_state(set: KeySet, source: Source, ttl: Duration) -> Self {
        Self {
            state: Arc::new(KeyState {
                set: RwLock::new(Arc::new(set)),
                source,
                stale: AtomicBool::new(false),
                last_load: AtomicI64::new(i64::MIN),
                last_attempt: AtomicI64::new(i64::MIN),
                loads: AtomicU64::new(0),
                reloading: tokio::sync::Mutex::new(()),
            }),
            ttl,
            verified: moka::sync::Cache::builder()
                .max_capacity(VERIFIED_CAPACITY)
                // No token outlives its ttl (nor is remembered beyond a day: moka refuses
                // lifetimes of centuries); its `exp` is read on every use regardless.
                .time_to_live(ttl.min(Duration::from_secs(86_400)))
                .build_with_hasher(crate::server::CacheHasher::default()),
            issued: None,
        }
    }

    /// One fixed HS256 key from the HMAC `secret` (a configured `jwt_secret`), named
    /// [`FIXED_SECRET_KID`]; tokens live `ttl`. It cannot be rotated.
    ///
    /// # Errors
    /// [`JwtError::Key`] for an unusable (empty) secret.
    pub fn new(secret: &[u8], ttl: Duration) -> Result<Self, JwtError> {
        let key = SigningKey::hmac(FIXED_SECRET_KID, secret).map_err(|_| JwtError::Key)?;
        Ok(Self::with_state(KeySet::new(vec![key]), Source::Fixed, ttl))
    }

    /// A fixed set of `keys` (the newest without a `retire_at` signs); tokens live `ttl`.
    /// Nothing is read from a database, and it cannot be rotated.
    pub fn from_keys(keys: Vec<SigningKey>, ttl: Duration) -> Self {
        Self::with_state(KeySet::new(keys), Source::Fixed, ttl)
    }

    /// The keys of the `jwt_keys` table in `db`, derived from `root` when there is one (the
    /// database then holds no key), stored in the table otherwise. When the table has no
    /// signing key of `algorithm` this server can use, one is added (a rotation: the previous
    /// signing key retires one `ttl` after `now`). Tokens live `ttl`.
    ///
    /// # Errors
    /// [`RotateError`]: the database failed, or no key could be made.
    pub async fn open(
        db: Database,
        root: Option<SecretKey>,
        algorithm: JwtAlgorithm,
        ttl: Duration,
        now: UnixMillis,
    ) -> Result<Self, RotateError> {
        Self::open_with(db, root, algorithm, ttl, now, true).await
    }

    /// [`JwtKeys::open`], adding a signing key only when `provision` says so: a process that
    /// signs no token (the command line) must not rotate the keys of the running servers
    /// because its own configuration differs from theirs.
    ///
    /// # Errors
    /// As [`JwtKeys::open`].
    pub async fn open_with(
        db: Database,
        root: Option<SecretKey>,
        algorithm: JwtAlgorithm,
        ttl: Duration,
        now: UnixMillis,
        provision: bool,
    ) -> Result<Self, RotateError> {
        let keys = Self::with_state(
            KeySet::default(),
            Source::Database {
                db,
                root,
                algorithm,
            },
            ttl,
        );
        keys.reload(now).await?;
        let usable = keys
            .current()
            .designated_signer()
            .is_some_and(|key| key.algorithm() == algorithm);
        if !usable && provision {
            match keys.rotate(now).await {
                Ok(rotation) => tracing::info!(
                    kid = %rotation.kid, %algorithm, "added a JWT signing key"
                ),
                // Another instance added one at the same moment: use it.
                Err(RotateError::Raced) => keys.reload(now).await?,
                Err(err) => return Err(err),
            }
        }
        Ok(keys)
    }

    /// These keys, accepting only tokens whose `jti` `issued` recorded for their `sid` (see
    /// the module documentation). Without it any well-signed token is accepted: tests only.
    pub fn with_registry(mut self, issued: RefreshTokens) -> Self {
        self.issued = Some(issued);
        self
    }

    /// How long a token lives.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The algorithm of the keys this server adds (HS256 for a fixed `jwt_secret`).
    pub fn algorithm(&self) -> JwtAlgorithm {
        match &self.state.source {
            Source::Database { algorithm, .. } => *algorithm,
            Source::Fixed => self
                .current()
                .designated_signer()
                .map_or(JwtAlgorithm::Hs256, |key| key.algorithm()),
        }
    }

    /// The keys as last read.
    pub fn current(&self) -> Arc<KeySet> {
        self.state
            .set
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// `read` applied to the keys as last read, under the lock (nothing is cloned).
    fn with_current<T>(&self, read: impl FnOnce(&KeySet) -> T) -> T {
        read(
            &self
                .state
                .set
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// How many times the key table was read (for tests and metrics).
    pub fn loads(&self) -> u64 {
        self.state.loads.load(Ordering::Relaxed)
    }

    /// Has the key table read again at the next use (another writer changed it).
    pub fn mark_stale(&self) {
        if matches!(self.state.source, Source::Database { .. }) {
            self.state.stale.store(true, Ordering::Release);
        }
    }

    /// Reads the key table now (fixed keys: nothing to read).
    ///
    /// # Errors
    /// Database errors; the keys read before stay in use.
    pub async fn reload(&self, now: UnixMillis) -> Result<(), StoreError> {
        let Source::Database { db, root, .. } = &self.state.source else {
            return Ok(());
        };
        self.state.loads.fetch_add(1, Ordering::Relaxed);
        let rows = jwt_keys::list(db).await?;
        let set = KeySet::new(
            rows.into_iter()
                .filter_map(|row| usable_key(row, root.as_ref()))
                .collect(),
        );
        *self
            .state
            .set
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(set);
        self.state
            .last_load
            .store(now.as_millis(), Ordering::Release);
        Ok(())
    }

    /// Reads the key table again when it is due (see the module documentation); `true` when
    /// the set may have changed since the caller looked. `unknown_key`: a token named a key
    /// the set lacks.
    async fn refresh(&self, now: UnixMillis, unknown_key: bool) -> bool {
        if !matches!(self.state.source, Source::Database { .. }) {
            return false;
        }
        let now_ms = now.as_millis();
        let since = |at: &AtomicI64| now_ms.saturating_sub(at.load(Ordering::Acquire));
        // Read before it is cleared: every request passes here, and a plain load keeps the
        // flag's cache line shared between cores.
        let stale = self.state.stale.load(Ordering::Acquire)
            && self.state.stale.swap(false, Ordering::AcqRel);
        let may_retry = since(&self.state.last_attempt) >= millis(MIN_RELOAD_INTERVAL);
        let periodic = since(&self.state.last_load) >= millis(PERIODIC_RELOAD);
        if !(stale || (may_retry && (unknown_key || periodic))) {
            return false;
        }
        let _one_at_a_time = self.state.reloading.lock().await;
        if !stale && since(&self.state.last_attempt) < millis(MIN_RELOAD_INTERVAL) {
            // Read while this caller waited.
            return true;
        }
        self.state.last_attempt.store(now_ms, Ordering::Release);
        match self.reload(now).await {
            Ok(()) => true,
            Err(err) => {
                tracing::warn!(error = %err, "reading the JWT keys failed; keeping those read before");
                false
            }
        }
    }

    /// Adds a new signing key of this server's algorithm (derived from the root secret, or
    /// random and stored) and retires the previous one one `ttl` after `now`, when every
    /// token it signed has expired; keys retired before `now` are deleted. Every instance on
    /// the database reads the change within about a second.
    ///
    /// # Errors
    /// [`RotateError::FixedSecret`] with a configured `jwt_secret`; [`RotateError::Store`]
    /// when the database fails (nothing changed); [`RotateError::Raced`] when other rotations
    /// kept winning.
    pub async fn rotate(&self, now: UnixMillis) -> Result<KeyRotation, RotateError> {
        let Source::Database {
            db,
            root,
            algorithm,
        } = &self.state.source
        else {
            return Err(RotateError::FixedSecret);
        };
        let algorithm = *algorithm;
        let retire_at = now.plus(self.ttl);
        for _ in 0..3 {
            let (kid, material) = match root {
                Some(root) => {
                    let kid = super::signing::fresh_kid();
                    // Made once here so that a kid whose key cannot be made is never stored.
                    SigningKey::derive(root, &kid, algorithm, None)?;
                    (kid, None)
                }
                None => {
                    let (key, material) = SigningKey::generate(algorithm);
                    (key.kid().to_owned(), Some(hex::encode(material.as_bytes())))
                }
            };
            let row = JwtKeyRow {
                kid: kid.clone(),
                algorithm: algorithm.as_str().to_owned(),
                material,
                created_at: now,
                retire_at: None,
            };
            match jwt_keys::replace_signing_key(db, &row, retire_at, now).await? {
                Replaced::Done(retiring) => {
                    self.reload(now).await?;
                    return Ok(KeyRotation {
                        kid,
                        algorithm,
                        retiring,
                    });
                }
                Replaced::Raced => continue,
            }
        }
        Err(RotateError::Raced)
    }

    /// The JWK Set of the public keys that verify at `now` (SPEC §7 `/.well-known/jwks.json`):
    /// empty with HS256 keys, whose secret is never published.
    pub async fn jwks(&self, now: UnixMillis) -> JwkSet {
        self.refresh(now, false).await;
        self.current().jwks(now)
    }

    /// A token for `user_id` speaking for the session `sid`, with the random id `jti` (from
    /// [`fresh_jti`], its hash recorded by the caller), issued at `now`, signed with the
    /// current signing key and naming it in `kid`.
    ///
    /// # Errors
    /// [`JwtError::NoSigningKey`] when no key may sign; [`JwtError::Key`] if signing fails.
    pub async fn issue(
        &self,
        user_id: i64,
        sid: &str,
        jti: &str,
        now: UnixMillis,
    ) -> Result<String, JwtError> {
        self.refresh(now, false).await;
        let mut set = self.current();
        if set.signer(now).is_none() && self.refresh(now, true).await {
            set = self.current();
        }
        let key = set.signer(now).ok_or(JwtError::NoSigningKey)?;
        let iat = now.as_millis().div_euclid(1000);
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX);
        key.sign(&Claims {
            sub: user_id.to_string(),
            sid: sid.to_owned(),
            jti: jti.to_owned(),
            iat,
            exp: iat.saturating_add(ttl),
        })
    }

    /// The key named `kid` that verifies at `now`.
    async fn verifying_key(&self, kid: &str, now: UnixMillis) -> Result<Arc<SigningKey>, JwtError> {
        let mut found = self.current().find(kid).cloned();
        if found.is_none() && self.refresh(now, true).await {
            found = self.current().find(kid).cloned();
        }
        match found {
            Some(key) if key.is_retired(now) => Err(JwtError::RetiredKey),
            Some(key) => Ok(key),
            None => Err(JwtError::UnknownKey),
        }
    }

    /// The claims of `token` if one of this server's keys that has not retired signed it with
    /// its own algorithm and named it in `kid`, this server issued it (its `jti` is recorded
    /// for its `sid`) and it has not expired at `now`.
    ///
    /// # Errors
    /// [`JwtError`] saying why not.
    pub async fn verify(&self, token: &str, now: UnixMillis) -> Result<Claims, JwtError> {
        self.refresh(now, false).await;
        let verified = match self.verified.get(token) {
            Some(verified) => {
                // The usual case, checked under the lock without taking the key out.
                let known =
                    self.with_current(|set| set.find(&verified.kid).map(|key| key.is_retired(now)));
                match known {
                    Some(false) => {}
                    Some(true) => return Err(JwtError::RetiredKey),
                    // Gone from the set (retired and deleted, or another root secret).
                    None => {
                        self.verifying_key(&verified.kid, now).await?;
                    }
                }
                verified
            }
            None => {
                let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Invalid)?;
                let kid = header
                    .kid
                    .filter(|kid| !kid.is_empty() && kid.len() <= MAX_KID_LEN)
                    .ok_or(JwtError::Invalid)?;
                let key = self.verifying_key(&kid, now).await?;
                let claims: Claims = key.verify(token)?;
                if is_expired(claims.exp, now) {
                    return Err(JwtError::Expired);
                }
                if let Some(issued) = &self.issued {
                    let known = issued
                        .is_issued(&claims.sid, &hash_secret(&claims.jti))
                        .await
                        .map_err(|_| JwtError::Unavailable)?;
                    if !known {
                        return Err(JwtError::Invalid);
                    }
                }
                let verified = Arc::new(VerifiedToken {
                    claims,
                    kid: kid.into(),
                });
                self.verified.insert(token.into(), verified.clone());
                verified
            }
        };
        if is_expired(verified.claims.exp, now) {
            return Err(JwtError::Expired);
        }
        Ok(verified.claims.clone())
    }
}

/// The key a stored row makes for this server, if any: derived when there is a root secret
/// (a row holding a key is then not trusted: the database alone must not mint tokens), from
/// the row's own bytes when there is not. Unusable rows are skipped with a warning.
fn usable_key(row: JwtKeyRow, root: Option<&SecretKey>) -> Option<SigningKey> {
    let skip = |why: &str| {
        tracing::warn!(kid = %row.kid, "JWT key skipped: {why}");
        None
    };
    let Ok(algorithm) = row.algorithm.parse::<JwtAlgorithm>() else {
        return skip("unknown algorithm");
    };
    let made = match (root, &row.material) {
        (Some(root), None) => SigningKey::derive(root, &row.kid, algorithm, row.retire_at),
        (None, Some(material)) => match hex::decode(material) {
            Ok(bytes) => SigningKey::new(
                row.kid.clone(),
                algorithm,
                &SecretKey::from_bytes(bytes),
                row.retire_at,
            ),
            Err(_) => return skip("its stored key is not hex"),
        },
        (Some(_), Some(_)) => {
            return skip("it is stored in the database, and with `secret_key` only keys derived from it are trusted")
        }
        (None, None) => {
            return skip("it is derived from a `secret_key` this server does not have")
        }
    };
    match made {
        Ok(key) => Some(key),
        Err(err) => skip(&err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    const NOW: UnixMillis = UnixMillis(1_800_000_000_000);
    const TTL: Duration = Duration::from_secs(300);

    fn keys() -> JwtKeys {
        JwtKeys::new(&[7; 32], TTL).unwrap()
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    }

    fn after(secs: i64) -> UnixMillis {
        UnixMillis(NOW.as_millis() + secs * 1000)
    }

    /// A key of `algorithm` named `kid`, made from `seed` repeated (the same on every call).
    fn key(
        kid: &str,
        algorithm: JwtAlgorithm,
        seed: u8,
        retire_at: Option<UnixMillis>,
    ) -> SigningKey {
        SigningKey::new(
            kid,
            algorithm,
            &SecretKey::from_bytes(vec![seed; 32]),
            retire_at,
        )
        .unwrap()
    }

    fn claims() -> Claims {
        Claims {
            sub: "42".into(),
            sid: "abc".into(),
            jti: fresh_jti(),
            iat: NOW.as_millis() / 1000,
            exp: NOW.as_millis() / 1000 + 300,
        }
    }

    /// `claims` under this header (as JSON), signed with HMAC-SHA256 over `secret`.
    fn hs256_with_header(header: &str, claims: &Claims, secret: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(serde_json::to_string(claims).unwrap())
        );
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
        mac.update(message.as_bytes());
        format!(
            "{message}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn a_token_verifies_until_its_exp() {
        block_on(async {
            let token = keys().issue(42, "abc", &fresh_jti(), NOW).await.unwrap();
            let claims = keys().verify(&token, NOW).await.unwrap();
            assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("42", "abc"));
            assert_eq!(claims.jti.len(), 32);
            assert_eq!(claims.exp - claims.iat, 300);
            let late = UnixMillis(NOW.as_millis() + 299_999);
            assert!(keys().verify(&token, late).await.is_ok());
            assert_eq!(
                keys().verify(&token, after(300)).await,
                Err(JwtError::Expired)
            );
        });
    }

    #[test]
    fn a_remembered_token_still_expires_and_a_changed_one_is_verified_again() {
        block_on(async {
            let keys = keys();
            let token = keys.issue(42, "abc", &fresh_jti(), NOW).await.unwrap();
            assert!(keys.verify(&token, NOW).await.is_ok());
            // Remembered now; its `exp` is still read against the clock.
            assert_eq!(
                keys.verify(&token, after(300)).await,
                Err(JwtError::Expired)
            );
            assert!(
                keys.clone().verify(&token, NOW).await.is_ok(),
                "clones share it"
            );
            // One character of the signature changed: not the remembered token.
            let at = token.rfind('.').unwrap() + 1;
            let changed = if &token[at..=at] == "A" { "B" } else { "A" };
            let forged = format!("{}{changed}{}", &token[..at], &token[at + 1..]);
            assert_eq!(keys.verify(&forged, NOW).await, Err(JwtError::Invalid));
            // A token that has expired when first seen is not remembered as valid.
            let old = keys
                .issue(7, "old", &fresh_jti(), UnixMillis(0))
                .await
                .unwrap();
            assert_eq!(keys.verify(&old, NOW).await, Err(JwtError::Expired));
            assert_eq!(keys.verify(&old, UnixMillis(0)).await.unwrap().sid, "old");
        });
    }

    #[test]
    fn tokens_name_their_key_in_kid() {
        block_on(async {
            let token = keys().issue(42, "abc", &fresh_jti(), NOW).await.unwrap();
            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!(header.kid.as_deref(), Some(FIXED_SECRET_KID));
            assert_eq!(header.alg, Algorithm::HS256);
            for (alg, name) in [
                (JwtAlgorithm::EdDsa, Algorithm::EdDSA),
                (JwtAlgorithm::Es256, Algorithm::ES256),
            ] {
                let keys = JwtKeys::from_keys(vec![key("k-1", alg, 3, None)], TTL);
                let token = keys.issue(42, "abc", &fresh_jti(), NOW).await.unwrap();
                let header = jsonwebtoken::decode_header(&token).unwrap();
                assert_eq!((header.kid.as_deref(), header.alg), (Some("k-1"), name));
                assert_eq!(keys.verify(&token, NOW).await.unwrap().sub, "42", "{alg}");
            }
        });
    }

    #[test]
    fn a_token_without_a_jti_or_a_kid_is_refused() {
        #[derive(Serialize)]
        struct Old {
            sub: String,
            sid: String,
            iat: i64,
            exp: i64,
        }
        let old = Old {
            sub: "42".into(),
            sid: "abc".into(),
            iat: 0,
            exp: i64::MAX / 2000,
        };
        let secret = EncodingKey::from_secret(&[7; 32]).unwrap();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(FIXED_SECRET_KID.into());
        let no_jti = jsonwebtoken::encode(&header, &old, &secret).unwrap();
        assert_eq!(
            block_on(keys().verify(&no_jti, NOW)),
            Err(JwtError::Invalid)
        );
        // Earlier versions' tokens: the right key, but no `kid`.
        let no_kid =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims(), &secret).unwrap();
        assert_eq!(
            block_on(keys().verify(&no_kid, NOW)),
            Err(JwtError::Invalid)
        );
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k".repeat(MAX_KID_LEN + 1));
        let long_kid = jsonwebtoken::encode(&header, &claims(), &secret).unwrap();
        assert_eq!(
            block_on(keys().verify(&long_kid, NOW)),
            Err(JwtError::Invalid)
        );
    }

    #[test]
    fn another_key_algorithm_or_none_is_refused() {
        block_on(another_key_algorithm_or_none_is_refused_async());
    }

    async fn another_key_algorithm_or_none_is_refused_async() {
        let token = keys().issue(42, "abc", &fresh_jti(), NOW).await.unwrap();
        let other = JwtKeys::new(&[8; 32], TTL).unwrap();
        assert_eq!(
            other.verify(&token, NOW).await,
            Err(JwtError::Invalid),
            "signature"
        );
        let payload = token.split('.').nth(1).unwrap();
        for header in [
            r#"{"alg":"none","typ":"JWT","kid":"jwt_secret"}"#,
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"alg":"HS512","typ":"JWT","kid":"jwt_secret"}"#,
        ] {
            let forged = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(header));
            assert_eq!(
                keys().verify(&forged, NOW).await,
                Err(JwtError::Invalid),
                "{header}"
            );
        }
        let mut header = Header::new(Algorithm::HS512);
        header.kid = Some(FIXED_SECRET_KID.into());
        let hs512 = jsonwebtoken::encode(
            &header,
            &claims(),
            &EncodingKey::from_secret(&[7; 32]).unwrap(),
        )
        .unwrap();
        assert_eq!(
            keys().verify(&hs512, NOW).await,
            Err(JwtError::Invalid),
            "right key, HS512"
        );
        assert_eq!(keys().verify("a.b.c", NOW).await, Err(JwtError::Invalid));
        assert_eq!(keys().verify("", NOW).await, Err(JwtError::Invalid));
    }

    /// The classic confusion: an HS256 token whose HMAC key is the public key of an EdDSA
    /// key (its raw bytes, or its JWK as published), naming that key.
    #[test]
    fn an_hs256_token_keyed_with_a_public_key_is_refused() {
        block_on(async {
            for alg in [JwtAlgorithm::EdDsa, JwtAlgorithm::Es256] {
                let signing = key("pub-1", alg, 5, None);
                let jwk = signing.public_jwk().unwrap().clone();
                let keys = JwtKeys::from_keys(vec![signing], TTL);
                let json = serde_json::to_value(&jwk).unwrap();
                let x = URL_SAFE_NO_PAD.decode(json["x"].as_str().unwrap()).unwrap();
                let header = r#"{"alg":"HS256","typ":"JWT","kid":"pub-1"}"#;
                for secret in [x, serde_json::to_vec(&jwk).unwrap()] {
                    let forged = hs256_with_header(header, &claims(), &secret);
                    assert_eq!(
                        keys.verify(&forged, NOW).await,
                        Err(JwtError::Invalid),
                        "{alg}"
                    );
                }
                let none = format!(
                    "{}.{}.",
                    URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"pub-1"}"#),
                    URL_SAFE_NO_PAD.encode(serde_json::to_string(&claims()).unwrap())
                );
                assert_eq!(
                    keys.verify(&none, NOW).await,
                    Err(JwtError::Invalid),
                    "{alg} none"
                );
                // And its genuine token passes.
                let token = keys.issue(42, "abc", &fresh_jti(), NOW).await.unwrap();
                assert!(keys.verify(&token, NOW).await.is_ok());
            }
        });
    }

    #[test]
    fn several_keys_verify_while_the_newest_signs_and_a_retired_one_is_refused() {
        block_on(async {
            let retiring = Some(after(100));
            let before = JwtKeys::from_keys(vec![key("old", JwtAlgorithm::EdDsa, 1, None)], TTL);
            let old_token = before.issue(42, "abc", &fresh_jti(), NOW).await.unwrap();
            let keys = JwtKeys::from_keys(
                vec![
                    key("old", JwtAlgorithm::EdDsa, 1, retiring),
                    key("new", JwtAlgorithm::EdDsa, 2, None),
                ],
                TTL,
            );
            let new_token = keys.issue(42, "abc", &fresh_jti(), NOW).await.unwrap();
            let kid = |token: &str| jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
            assert_eq!(
                (kid(&old_token), kid(&new_token)),
                ("old".into(), "new".into())
            );
            assert!(keys.verify(&old_token, NOW).await.is_ok(), "remembered now");
            assert!(keys.verify(&new_token, NOW).await.is_ok());
            assert!(keys.verify(&old_token, after(99)).await.is_ok());
            // Retired: refused, remembered or not, though its own `exp` has not passed.
            assert_eq!(
                keys.verify(&old_token, after(100)).await,
                Err(JwtError::RetiredKey)
            );
            let fresh = JwtKeys::from_keys(
                vec![
                    key("old", JwtAlgorithm::EdDsa, 1, retiring),
                    key("new", JwtAlgorithm::EdDsa, 2, None),
                ],
                TTL,
            );
            assert_eq!(
                fresh.verify(&old_token, after(100)).await,
                Err(JwtError::RetiredKey)
            );
            assert!(fresh.verify(&new_token, after(100)).await.is_ok());
            let kids: Vec<_> = fresh
                .jwks(after(100))
                .await
                .keys
                .into_iter()
                .map(|k| k.common.key_id.unwrap())
                .collect();
            assert_eq!(kids, ["new"], "a retired key is no longer published");
        });
    }

    #[test]
    fn an_unknown_kid_is_refused() {
        block_on(async {
            let keys = JwtKeys::from_keys(vec![key("known", JwtAlgorithm::EdDsa, 1, None)], TTL);
            let stranger =
                JwtKeys::from_keys(vec![key("stranger", JwtAlgorithm::EdDsa, 9, None)], TTL);
            let token = stranger.issue(42, "abc", &fresh_jti(), NOW).await.unwrap();
            assert_eq!(keys.verify(&token, NOW).await, Err(JwtError::UnknownKey));
            // Naming a known key without its signature: a wrong signature.
            let impostor =
                JwtKeys::from_keys(vec![key("known", JwtAlgorithm::EdDsa, 9, None)], TTL);
            let token = impostor.issue(42, "abc", &fresh_jti(), NOW).await.unwrap();
            assert_eq!(keys.verify(&token, NOW).await, Err(JwtError::Invalid));
        });
    }

    /// What another service does with the published keys alone: it verifies our tokens.
    #[test]
    fn the_published_keys_verify_the_tokens_without_any_secret() {
        block_on(async {
            for alg in [JwtAlgorithm::EdDsa, JwtAlgorithm::Es256] {
                let keys = JwtKeys::from_keys(vec![key("pub", alg, 4, None)], TTL);
                let token = keys.issue(42, "abc", &fresh_jti(), NOW).await.unwrap();
                let published = serde_json::to_string(&keys.jwks(NOW).await).unwrap();
                let set: JwkSet = serde_json::from_str(&published).unwrap();
                let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
                let jwk = set.find(&kid).expect("the token's key is published");
                let mut validation = jsonwebtoken::Validation::new(match alg {
                    JwtAlgorithm::EdDsa => Algorithm::EdDSA,
                    _ => Algorithm::ES256,
                });
                validation.validate_exp = false;
                let decoded = jsonwebtoken::decode::<Claims>(
                    &token,
                    &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
                    &validation,
                )
                .unwrap();
                assert_eq!(decoded.claims.sid, "abc", "{alg}");
            }
            // HS256: nothing is published.
            assert!(keys().jwks(NOW).await.keys.is_empty());
        });
    }

    #[test]
    fn a_fixed_secret_cannot_rotate() {
        block_on(async {
            let err = keys().rotate(NOW).await.unwrap_err();
            assert!(matches!(err, RotateError::FixedSecret));
            assert!(err.to_string().contains("jwt_secret"), "{err}");
            assert_eq!(JwtKeys::new(&[], TTL).unwrap_err(), JwtError::Key);
        });
    }

    /// A fresh SQLite database, migrated.
    async fn database() -> (Database, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::connect(&format!(
            "sqlite://{}/keys.db?mode=rwc",
            dir.path().display()
        ))
        .await
        .unwrap();
        db.migrate().await.unwrap();
        (db, dir)
    }

    async fn open(
        db: &Database,
        root: Option<&SecretKey>,
        alg: JwtAlgorithm,
        now: UnixMillis,
    ) -> JwtKeys {
        JwtKeys::open(db.clone(), root.cloned(), alg, TTL, now)
            .await
            .unwrap()
    }

    #[test]
    fn rotation_adds_a_signing_key_and_retires_the_old_one_after_the_ttl() {
        block_on(async {
            let (db, _dir) = database().await;
            let keys = open(&db, None, JwtAlgorithm::EdDsa, NOW).await;
            let first = keys.current().designated_signer().unwrap().kid().to_owned();
            let stored = jwt_keys::list(&db).await.unwrap();
            assert_eq!(stored.len(), 1);
            assert!(
                stored[0].material.is_some(),
                "no root secret: the key is stored"
            );
            let old_token = keys.issue(42, "abc", &fresh_jti(), NOW).await.unwrap();

            let rotation = keys.rotate(after(10)).await.unwrap();
            assert_ne!(rotation.kid, first);
            assert_eq!(rotation.algorithm, JwtAlgorithm::EdDsa);
            assert_eq!(
                rotation.retiring,
                [RetiredKey {
                    kid: first.clone(),
                    retire_at: after(310)
                }]
            );
            let new_token = keys
                .issue(42, "abc", &fresh_jti(), after(10))
                .await
                .unwrap();
            assert_eq!(
                jsonwebtoken::decode_header(&new_token).unwrap().kid,
                Some(rotation.kid.clone())
            );
            assert_eq!(keys.jwks(after(10)).await.keys.len(), 2, "both verify");
            assert!(keys.verify(&old_token, after(299)).await.is_ok());
            assert_eq!(
                keys.verify(&old_token, after(300)).await,
                Err(JwtError::Expired)
            );
            // A token the old key signed just before the rotation lives to the retirement.
            let late = JwtKeys::from_keys(
                vec![keys
                    .current()
                    .find(&first)
                    .map(|k| {
                        SigningKey::new(
                            k.kid(),
                            k.algorithm(),
                            &SecretKey::from_bytes(
                                hex::decode(stored[0].material.clone().unwrap()).unwrap(),
                            ),
                            None,
                        )
                        .unwrap()
                    })
                    .unwrap()],
                TTL,
            );
            let last_old = late
                .issue(42, "abc", &fresh_jti(), after(10))
                .await
                .unwrap();
            assert!(keys.verify(&last_old, after(309)).await.is_ok());
            assert_eq!(
                keys.verify(&last_old, after(310)).await,
                Err(JwtError::RetiredKey)
            );
            assert_eq!(keys.jwks(after(310)).await.keys.len(), 1);
            // The next rotation deletes the key that retired.
            let next = keys.rotate(after(400)).await.unwrap();
            assert_eq!(next.retiring[0].kid, rotation.kid);
            let kids: Vec<_> = jwt_keys::list(&db)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.kid)
                .collect();
            assert_eq!(kids, [rotation.kid, next.kid]);
        });
    }

    #[test]
    fn with_a_root_secret_the_database_holds_no_key() {
        block_on(async {
            let (db, _dir) = database().await;
            let root =
                SecretKey::from_bytes(b"an operator's root secret, 32 chars or more".to_vec());
            let a = open(&db, Some(&root), JwtAlgorithm::Es256, NOW).await;
            a.rotate(NOW).await.unwrap();
            let rows = jwt_keys::list(&db).await.unwrap();
            assert_eq!(rows.len(), 2);
            assert!(rows.iter().all(|row| row.material.is_none()), "{rows:?}");
            let token = a.issue(42, "abc", &fresh_jti(), NOW).await.unwrap();
            // Another instance with the same root derives the same keys.
            let b = open(&db, Some(&root), JwtAlgorithm::Es256, NOW).await;
            assert!(b.verify(&token, NOW).await.is_ok());
            assert_eq!(a.jwks(NOW).await, b.jwks(NOW).await);
            // Another root derives other keys: the token does not verify.
            let other =
                SecretKey::from_bytes(b"a different root secret, 32 chars or more".to_vec());
            let c = open(&db, Some(&other), JwtAlgorithm::Es256, NOW).await;
            assert_eq!(c.verify(&token, NOW).await, Err(JwtError::Invalid));
            // A key stored in the table is not trusted with a root secret: the database
            // alone must not mint tokens.
            let (planted, material) = SigningKey::generate(JwtAlgorithm::Es256);
            sqlx::query("UPDATE jwt_keys SET retire_at = $1 WHERE retire_at IS NULL")
                .bind(after(1).as_millis())
                .execute(db.pool())
                .await
                .unwrap();
            sqlx::query("INSERT INTO jwt_keys (kid, algorithm, material, created_at) VALUES ($1, 'ES256', $2, $3)")
                .bind(planted.kid())
                .bind(hex::encode(material.as_bytes()))
                .bind(NOW.as_millis())
                .execute(db.pool())
                .await
                .unwrap();
            let minted = JwtKeys::from_keys(vec![planted], TTL)
                .issue(42, "abc", &fresh_jti(), NOW)
                .await
                .unwrap();
            a.reload(NOW).await.unwrap();
            assert_eq!(a.verify(&minted, NOW).await, Err(JwtError::UnknownKey));
        });
    }

    #[test]
    fn another_instances_rotation_is_read_when_announced_or_once_a_second_for_unknown_kids() {
        block_on(async {
            let (db, _dir) = database().await;
            let a = open(&db, None, JwtAlgorithm::EdDsa, NOW).await;
            let b = open(&db, None, JwtAlgorithm::EdDsa, NOW).await;
            let loads = b.loads();
            // Random kids: the first makes B read the table, the next ones in that second do not.
            for i in 0..50 {
                let stranger = JwtKeys::from_keys(
                    vec![key(&format!("random-{i}"), JwtAlgorithm::EdDsa, 9, None)],
                    TTL,
                );
                let token = stranger.issue(42, "abc", &fresh_jti(), NOW).await.unwrap();
                assert_eq!(b.verify(&token, NOW).await, Err(JwtError::UnknownKey));
            }
            assert_eq!(b.loads(), loads + 1, "one read for fifty unknown kids");
            // A rotates; B does not know the new key yet, and may not read again this second.
            a.rotate(NOW).await.unwrap();
            let token = a.issue(42, "abc", &fresh_jti(), NOW).await.unwrap();
            assert_eq!(b.verify(&token, NOW).await, Err(JwtError::UnknownKey));
            // The change log's announcement makes B read the table at its next use.
            b.mark_stale();
            assert!(b.verify(&token, NOW).await.is_ok());
            assert_eq!(b.loads(), loads + 2);
            // Without an announcement, an unknown kid is looked up a second later.
            a.rotate(NOW).await.unwrap();
            let token = a.issue(42, "abc", &fresh_jti(), NOW).await.unwrap();
            assert_eq!(b.verify(&token, NOW).await, Err(JwtError::UnknownKey));
            assert!(b.verify(&token, after(1)).await.is_ok());
            // And B signs with the new key once it has read it.
            let signed = b.issue(42, "abc", &fresh_jti(), after(1)).await.unwrap();
            assert_eq!(
                jsonwebtoken::decode_header(&signed).unwrap().kid,
                jsonwebtoken::decode_header(&token).unwrap().kid
            );
            // The table is read every minute whatever happens, and not more often.
            let loads = b.loads();
            b.verify(&token, after(30)).await.unwrap();
            assert_eq!(b.loads(), loads);
            b.verify(&token, after(62)).await.unwrap();
            assert_eq!(b.loads(), loads + 1);
        });
    }

    #[test]
    fn a_change_of_algorithm_adds_a_key_and_unusable_rows_are_skipped() {
        block_on(async {
            let (db, _dir) = database().await;
            let hs = open(&db, None, JwtAlgorithm::Hs256, NOW).await;
            let token = hs.issue(42, "abc", &fresh_jti(), NOW).await.unwrap();
            assert!(
                hs.jwks(NOW).await.keys.is_empty(),
                "HMAC keys are never published"
            );
            // Restarted with EdDSA: a new signing key; the HS256 one verifies until it retires.
            let ed = open(&db, None, JwtAlgorithm::EdDsa, after(5)).await;
            assert_eq!(
                ed.current().designated_signer().unwrap().algorithm(),
                JwtAlgorithm::EdDsa
            );
            assert!(ed.verify(&token, after(5)).await.is_ok());
            assert_eq!(ed.jwks(after(5)).await.keys.len(), 1);
            // Rows this server cannot use are skipped, not fatal.
            for (kid, alg, material) in [
                ("rsa", "RS256", "00"),
                ("bad", "EdDSA", "zz"),
                ("short", "ES256", "0102"),
            ] {
                sqlx::query("INSERT INTO jwt_keys (kid, algorithm, material, created_at, retire_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(kid)
                    .bind(alg)
                    .bind(material)
                    .bind(NOW.as_millis())
                    .bind(after(1000).as_millis())
                    .execute(db.pool())
                    .await
                    .unwrap();
            }
            ed.reload(after(5)).await.unwrap();
            assert_eq!(ed.current().keys().count(), 2);
            assert!(ed.verify(&token, after(5)).await.is_ok());
        });
    }
}
