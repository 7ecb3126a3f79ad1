//! JWT access tokens: HMAC-SHA256 over `sub`, `sid`, `jti`, `iat`, `exp`, with the algorithm
//! fixed by the server. A JWT only says which session it speaks for; whether that session is
//! still live is the gate's question on every request.
//!
//! A signature alone is not enough: `sid` is the session's public id, stored as it is, and a
//! signing key may be recoverable from a copy of the database. Each token therefore carries a
//! random `jti` (128 bits) of which the database holds only the SHA-256, beside the refresh
//! token it was issued with ([`super::RefreshTokens::is_issued`]); a token whose `jti` was
//! never issued for its `sid` is refused, however well signed.
//!
//! A mobile client sends the same token with every request until it refreshes it, so the
//! tokens verified here are remembered (bounded in number, each for at most a token's lifetime
//! after it was first seen): the signature and JSON of a token seen before are not checked again, which was
//! a tenth of such a request's cost. Only tokens that verified are remembered; a token is
//! found only by its exact text; its `exp` is still read against the injected clock each time.

use super::refresh::RefreshTokens;
use crate::{clock::UnixMillis, server::secret::hash_secret};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::{sync::Arc, time::Duration};

/// The most verified tokens remembered at once; beyond it the least used are verified again.
pub const VERIFIED_CAPACITY: u64 = 10_000;

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

/// Why a JWT was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not a JWT of this server: malformed, another algorithm (`none` included), a wrong
    /// signature, or claims missing.
    #[error("the token is not valid")]
    Invalid,
    /// Its `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// The signing key is unusable (empty).
    #[error("the JWT signing key is unusable")]
    Key,
    /// Whether the token was issued could not be looked up (the database is unreachable).
    #[error("the token could not be checked: the database is unavailable")]
    Unavailable,
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

/// Tokens that verified, by their text (see the module documentation).
type Verified = moka::sync::Cache<Box<str>, Arc<Claims>, crate::server::CacheHasher>;

/// Signs and checks access tokens with one HMAC key. Clones share the tokens verified so far.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
    verified: Verified,
    issued: Option<RefreshTokens>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Keys from the HMAC `secret`; tokens live `ttl`.
    ///
    /// # Errors
    /// [`JwtError::Key`] for an unusable (empty) secret.
    pub fn new(secret: &[u8], ttl: Duration) -> Result<Self, JwtError> {
        let mut validation = Validation::new(Algorithm::HS256);
        // `exp` is checked against the injected clock below, not the system clock.
        validation.validate_exp = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(Self {
            encoding: EncodingKey::from_secret(secret).map_err(|_| JwtError::Key)?,
            decoding: DecodingKey::from_secret(secret).map_err(|_| JwtError::Key)?,
            validation,
            ttl,
            verified: moka::sync::Cache::builder()
                .max_capacity(VERIFIED_CAPACITY)
                // No token outlives its ttl (nor is remembered beyond a day: moka refuses
                // lifetimes of centuries); its `exp` is read on every use regardless.
                .time_to_live(ttl.min(Duration::from_secs(86_400)))
                .build_with_hasher(crate::server::CacheHasher::default()),
            issued: None,
        })
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

    /// A token for `user_id` speaking for the session `sid`, with the random id `jti` (from
    /// [`fresh_jti`], its hash recorded by the caller), issued at `now`.
    ///
    /// # Errors
    /// [`JwtError::Invalid`] if signing fails (it does not with an HMAC key).
    pub fn issue(
        &self,
        user_id: i64,
        sid: &str,
        jti: &str,
        now: UnixMillis,
    ) -> Result<String, JwtError> {
        let iat = now.as_millis().div_euclid(1000);
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            sub: user_id.to_string(),
            sid: sid.to_owned(),
            jti: jti.to_owned(),
            iat,
            exp: iat.saturating_add(ttl),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| JwtError::Invalid)
    }

    /// The claims of `token` if this server signed it with its algorithm, issued it (its
    /// `jti` is recorded for its `sid`) and it has not expired at `now`.
    ///
    /// # Errors
    /// [`JwtError`] saying why not.
    pub async fn verify(&self, token: &str, now: UnixMillis) -> Result<Claims, JwtError> {
        let claims = match self.verified.get(token) {
            Some(claims) => claims,
            None => {
                let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
                    .map_err(|_| JwtError::Invalid)?;
                let claims = Arc::new(data.claims);
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
                self.verified.insert(token.into(), claims.clone());
                claims
            }
        };
        if is_expired(claims.exp, now) {
            return Err(JwtError::Expired);
        }
        Ok(Claims::clone(&claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

    const NOW: UnixMillis = UnixMillis(1_800_000_000_000);

    fn keys() -> JwtKeys {
        JwtKeys::new(&[7; 32], Duration::from_secs(300)).unwrap()
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn a_token_verifies_until_its_exp() {
        block_on(async {
            let token = keys().issue(42, "abc", &fresh_jti(), NOW).unwrap();
            let claims = keys().verify(&token, NOW).await.unwrap();
            assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("42", "abc"));
            assert_eq!(claims.jti.len(), 32);
            assert_eq!(claims.exp - claims.iat, 300);
            let late = UnixMillis(NOW.as_millis() + 299_999);
            assert!(keys().verify(&token, late).await.is_ok());
            let expired = UnixMillis(NOW.as_millis() + 300_000);
            assert_eq!(keys().verify(&token, expired).await, Err(JwtError::Expired));
        });
    }

    #[test]
    fn a_remembered_token_still_expires_and_a_changed_one_is_verified_again() {
        block_on(async {
            let keys = keys();
            let token = keys.issue(42, "abc", &fresh_jti(), NOW).unwrap();
            assert!(keys.verify(&token, NOW).await.is_ok());
            // Remembered now; its `exp` is still read against the clock.
            let expired = UnixMillis(NOW.as_millis() + 300_000);
            assert_eq!(keys.verify(&token, expired).await, Err(JwtError::Expired));
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
            let old = keys.issue(7, "old", &fresh_jti(), UnixMillis(0)).unwrap();
            assert_eq!(keys.verify(&old, NOW).await, Err(JwtError::Expired));
            assert_eq!(keys.verify(&old, UnixMillis(0)).await.unwrap().sid, "old");
        });
    }

    #[test]
    fn a_token_without_a_jti_is_refused() {
        #[derive(Serialize)]
        struct Old {
            sub: String,
            sid: String,
            iat: i64,
            exp: i64,
        }
        let old = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Old {
                sub: "42".into(),
                sid: "abc".into(),
                iat: 0,
                exp: i64::MAX / 2000,
            },
            &EncodingKey::from_secret(&[7; 32]).unwrap(),
        )
        .unwrap();
        assert_eq!(block_on(keys().verify(&old, NOW)), Err(JwtError::Invalid));
    }

    #[test]
    fn another_key_algorithm_or_none_is_refused() {
        block_on(another_key_algorithm_or_none_is_refused_async());
    }

    async fn another_key_algorithm_or_none_is_refused_async() {
        let token = keys().issue(42, "abc", &fresh_jti(), NOW).unwrap();
        let other = JwtKeys::new(&[8; 32], Duration::from_secs(300)).unwrap();
        assert_eq!(
            other.verify(&token, NOW).await,
            Err(JwtError::Invalid),
            "signature"
        );
        let payload = token.split('.').nth(1).unwrap();
        for header in [
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"alg":"HS512","typ":"JWT"}"#,
        ] {
            let forged = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(header));
            assert_eq!(
                keys().verify(&forged, NOW).await,
                Err(JwtError::Invalid),
                "{header}"
            );
        }
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &Claims {
                sub: "42".into(),
                sid: "abc".into(),
                jti: fresh_jti(),
                iat: 0,
                exp: i64::MAX / 2000,
            },
            &EncodingKey::from_secret(&[7; 32]).unwrap(),
        )
        .unwrap();
        assert_eq!(
            keys().verify(&hs512, NOW).await,
            Err(JwtError::Invalid),
            "right key, HS512"
        );
        assert_eq!(keys().verify("a.b.c", NOW).await, Err(JwtError::Invalid));
    }
}
