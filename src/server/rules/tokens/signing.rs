//! The keys JWT access tokens are signed and verified with: the algorithms offered
//! ([`JwtAlgorithm`]), one key ([`SigningKey`]: its id, its algorithm, both halves, when it
//! retires) and the set a server holds ([`KeySet`]: several keys verify, one signs).
//!
//! Every key is made from 32 secret bytes: an HMAC secret (HS256), an Ed25519 seed (EdDSA) or
//! a P-256 scalar (ES256). Those bytes are either random (and then stored in the database) or
//! derived from the root secret and the key's id, so that a copy of the database alone holds
//! no signing key (SPEC §6). A key's algorithm is fixed with it: a token is checked only
//! against the algorithm of the key its `kid` names, so an HS256 token "signed" with an EdDSA
//! key's public bytes, or one saying `alg: none`, is refused.

use super::jwt::JwtError;
use crate::{clock::UnixMillis, server::keys::SecretKey};
use jsonwebtoken::{
    jwk::{Jwk, JwkSet, PublicKeyUse},
    Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{de::DeserializeOwned, Serialize};
use std::{fmt, str::FromStr, sync::Arc};

/// A signing algorithm offered for JWT access tokens (SPEC §3 `jwt_algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256: one shared secret signs and verifies; nothing is published. The default.
    #[default]
    Hs256,
    /// Ed25519 signatures: the public keys are published at `/.well-known/jwks.json`.
    EdDsa,
    /// ECDSA on P-256 with SHA-256: the public keys are published at
    /// `/.well-known/jwks.json`.
    Es256,
}

/// A `jwt_algorithm` that is none of those offered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown JWT algorithm `{0}`: expected HS256, EdDSA or ES256")]
pub struct UnknownAlgorithm(pub String);

impl JwtAlgorithm {
    /// Every algorithm offered.
    pub const ALL: [JwtAlgorithm; 3] = [Self::Hs256, Self::EdDsa, Self::Es256];

    /// Its name in a token's `alg` header and in configuration: `HS256`, `EdDSA`, `ES256`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
        }
    }

    /// Whether its verifying keys are public (and so published in the JWKS).
    pub fn is_asymmetric(self) -> bool {
        !matches!(self, Self::Hs256)
    }

    fn jsonwebtoken(self) -> Algorithm {
        match self {
            Self::Hs256 => Algorithm::HS256,
            Self::EdDsa => Algorithm::EdDSA,
            Self::Es256 => Algorithm::ES256,
        }
    }
}

impl fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JwtAlgorithm {
    type Err = UnknownAlgorithm;

    /// `HS256`, `EdDSA` or `ES256`, in any case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| UnknownAlgorithm(text.to_owned()))
    }
}

/// Why a key could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key's bytes do not make a key of its algorithm (a truncated or edited row).
    #[error("the {algorithm} key `{kid}` is unusable: {reason}")]
    Unusable {
        /// The key's id.
        kid: String,
        /// Its algorithm.
        algorithm: JwtAlgorithm,
        /// What is wrong.
        reason: String,
    },
}

/// PKCS#8 v1 framing of a raw Ed25519 seed (RFC 8410): 16 bytes, then the 32-byte seed.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// PKCS#8 framing of a raw P-256 scalar (RFC 5208 around RFC 5915, no public key): 35 bytes,
/// then the 32-byte scalar.
const P256_PKCS8_PREFIX: [u8; 35] = [
    0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25, 0x02, 0x01,
    0x01, 0x04, 0x20,
];

/// How many candidates a derivation tries before giving up: a random 256-bit string is no
/// P-256 scalar about once in 2^32, so the second candidate all but always serves.
const DERIVATION_TRIES: u32 = 8;

/// One key: its id, its algorithm, both halves, and when it retires. `Debug` prints no
/// secret.
pub struct SigningKey {
    kid: String,
    algorithm: JwtAlgorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    public: Option<Jwk>,
    retire_at: Option<UnixMillis>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("retire_at", &self.retire_at)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// The key `kid` of `algorithm` made from its 32 secret bytes (an HMAC secret, an
    /// Ed25519 seed or a P-256 scalar), verifying until `retire_at` (`None`: it signs).
    ///
    /// # Errors
    /// [`KeyError::Unusable`] when the bytes make no key of that algorithm (not 32 bytes, or
    /// no P-256 scalar).
    pub fn new(
        kid: impl Into<String>,
        algorithm: JwtAlgorithm,
        material: &SecretKey,
        retire_at: Option<UnixMillis>,
    ) -> Result<Self, KeyError> {
        let kid = kid.into();
        let unusable = |reason: String| KeyError::Unusable {
            kid: kid.clone(),
            algorithm,
            reason,
        };
        let bytes = material.as_bytes();
        if bytes.len() != 32 {
            return Err(unusable(format!("{} bytes instead of 32", bytes.len())));
        }
        let alg = algorithm.jsonwebtoken();
        let (encoding, decoding, public) = match algorithm {
            JwtAlgorithm::Hs256 => (
                EncodingKey::from_secret(bytes).map_err(|e| unusable(e.to_string()))?,
                DecodingKey::from_secret(bytes).map_err(|e| unusable(e.to_string()))?,
                None,
            ),
            JwtAlgorithm::EdDsa | JwtAlgorithm::Es256 => {
                let prefix: &[u8] = if algorithm == JwtAlgorithm::EdDsa {
                    &ED25519_PKCS8_PREFIX
                } else {
                    &P256_PKCS8_PREFIX
                };
                let der = [prefix, bytes].concat();
                let encoding = if algorithm == JwtAlgorithm::EdDsa {
                    EncodingKey::from_ed_der(&der)
                } else {
                    EncodingKey::from_ec_der(&der)
                };
                // The public half, computed from the private one (this also checks it).
                let mut jwk =
                    Jwk::from_encoding_key(&encoding, alg).map_err(|e| unusable(e.to_string()))?;
                jwk.common.key_id = Some(kid.clone());
                jwk.common.public_key_use = Some(PublicKeyUse::Signature);
                let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| unusable(e.to_string()))?;
                (encoding, decoding, Some(jwk))
            }
        };
        Ok(Self {
            kid,
            algorithm,
            encoding,
            decoding,
            validation: validation(alg),
            public,
            retire_at,
        })
    }

    /// An HS256 key `kid` from an HMAC `secret` of any length (a configured `jwt_secret`),
    /// which signs and never retires.
    ///
    /// # Errors
    /// [`KeyError::Unusable`] for an empty secret.
    pub fn hmac(kid: impl Into<String>, secret: &[u8]) -> Result<Self, KeyError> {
        let kid = kid.into();
        let unusable = |reason: &str| KeyError::Unusable {
            kid: kid.clone(),
            algorithm: JwtAlgorithm::Hs256,
            reason: reason.to_owned(),
        };
        if secret.is_empty() {
            return Err(unusable("the secret is empty"));
        }
        Ok(Self {
            encoding: EncodingKey::from_secret(secret).map_err(|e| unusable(&e.to_string()))?,
            decoding: DecodingKey::from_secret(secret).map_err(|e| unusable(&e.to_string()))?,
            validation: validation(Algorithm::HS256),
            kid,
            algorithm: JwtAlgorithm::Hs256,
            public: None,
            retire_at: None,
        })
    }

    /// A new key of `algorithm` with a random id and random bytes (returned, to be stored).
    pub fn generate(algorithm: JwtAlgorithm) -> (Self, SecretKey) {
        let kid = fresh_kid();
        loop {
            let material = SecretKey::from_bytes(random_bytes().to_vec());
            // Only P-256 refuses some bytes (about once in 2^32): draw again.
            if let Ok(key) = Self::new(kid.clone(), algorithm, &material, None) {
                return (key, material);
            }
        }
    }

    /// The key `kid` of `algorithm` derived from the root secret `root` (the same on every
    /// instance that has it), verifying until `retire_at`.
    ///
    /// # Errors
    /// [`KeyError::Unusable`] in the (astronomically unlikely) case that no candidate makes
    /// a key.
    pub fn derive(
        root: &SecretKey,
        kid: &str,
        algorithm: JwtAlgorithm,
        retire_at: Option<UnixMillis>,
    ) -> Result<Self, KeyError> {
        let mut last = None;
        for attempt in 0..DERIVATION_TRIES {
            let name = match attempt {
                0 => format!("jwt_key:{kid}"),
                n => format!("jwt_key:{kid}:{n}"),
            };
            match Self::new(kid, algorithm, &root.derive(&name), retire_at) {
                Ok(key) => return Ok(key),
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(|| KeyError::Unusable {
            kid: kid.to_owned(),
            algorithm,
            reason: "no candidate made a key".to_owned(),
        }))
    }

    /// Its id, as tokens name it in their `kid` header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Its algorithm, the only one its tokens may carry.
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.algorithm
    }

    /// When it stops verifying; `None` while it is the signing key.
    pub fn retire_at(&self) -> Option<UnixMillis> {
        self.retire_at
    }

    /// Whether it is retired at `now` (from `retire_at` on): its tokens are refused.
    pub fn is_retired(&self, now: UnixMillis) -> bool {
        self.retire_at.is_some_and(|at| now >= at)
    }

    /// Its public half as a JWK (`kid`, `alg`, `use: sig`); `None` for an HMAC key, whose
    /// secret is never published.
    pub fn public_jwk(&self) -> Option<&Jwk> {
        self.public.as_ref()
    }

    /// `claims` signed with this key, its `kid` in the header.
    ///
    /// # Errors
    /// [`JwtError::Key`] when signing fails.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, JwtError> {
        let mut header = Header::new(self.algorithm.jsonwebtoken());
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|_| JwtError::Key)
    }

    /// The claims of `token` if this key signed it with its own algorithm (`exp` is the
    /// caller's to check).
    ///
    /// # Errors
    /// [`JwtError::Invalid`]: another algorithm, a wrong signature, malformed claims.
    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<T, JwtError> {
        jsonwebtoken::decode::<T>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| JwtError::Invalid)
    }
}

/// The checks of a token signed with `alg`: that algorithm only, `exp` and `sub` required
/// (`exp` is compared with the injected clock by the caller, not the system clock).
fn validation(alg: Algorithm) -> Validation {
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub"]);
    validation
}

/// A fresh key id: 64 random bits, hex (ids are public; they only need to differ).
pub fn fresh_kid() -> String {
    hex::encode(&random_bytes()[..8])
}

fn random_bytes() -> [u8; 32] {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// The keys a server holds: several verify (each until it retires), one signs.
#[derive(Debug, Default, Clone)]
pub struct KeySet {
    /// Oldest first.
    keys: Vec<Arc<SigningKey>>,
}

impl KeySet {
    /// A set of these keys; the signing key is the newest without a `retire_at`.
    pub fn new(keys: Vec<SigningKey>) -> Self {
        Self {
            keys: keys.into_iter().map(Arc::new).collect(),
        }
    }

    /// The key named `kid`, retired or not.
    pub fn find(&self, kid: &str) -> Option<&Arc<SigningKey>> {
        self.keys.iter().find(|key| key.kid == kid)
    }

    /// The key to sign with at `now`: the newest without a `retire_at`, else (while a
    /// rotation made elsewhere is not read yet) the newest not yet retired.
    pub fn signer(&self, now: UnixMillis) -> Option<&Arc<SigningKey>> {
        self.keys
            .iter()
            .rev()
            .find(|key| key.retire_at.is_none())
            .or_else(|| self.keys.iter().rev().find(|key| !key.is_retired(now)))
    }

    /// The key meant to sign (no `retire_at`), if there is one.
    pub fn designated_signer(&self) -> Option<&Arc<SigningKey>> {
        self.keys.iter().rev().find(|key| key.retire_at.is_none())
    }

    /// Every key, oldest first.
    pub fn keys(&self) -> impl Iterator<Item = &Arc<SigningKey>> {
        self.keys.iter()
    }

    /// The JWK Set of the public keys that verify at `now` (HMAC keys are never published).
    pub fn jwks(&self, now: UnixMillis) -> JwkSet {
        JwkSet {
            keys: self
                .keys
                .iter()
                .filter(|key| !key.is_retired(now))
                .filter_map(|key| key.public.clone())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms_read_their_names_in_any_case_and_refuse_others() {
        for alg in JwtAlgorithm::ALL {
            assert_eq!(alg.as_str().parse::<JwtAlgorithm>(), Ok(alg));
            assert_eq!(alg.as_str().to_lowercase().parse::<JwtAlgorithm>(), Ok(alg));
        }
        for bad in ["", "none", "RS256", "HS512", "ed25519"] {
            let err = bad.parse::<JwtAlgorithm>().unwrap_err();
            assert!(err.to_string().contains("HS256, EdDSA or ES256"), "{err}");
        }
        assert_eq!(JwtAlgorithm::default(), JwtAlgorithm::Hs256);
        assert!(!JwtAlgorithm::Hs256.is_asymmetric() && JwtAlgorithm::EdDsa.is_asymmetric());
    }

    #[test]
    fn every_algorithm_makes_keys_and_only_asymmetric_ones_are_public() {
        for alg in JwtAlgorithm::ALL {
            let (key, material) = SigningKey::generate(alg);
            assert_eq!(material.as_bytes().len(), 32);
            assert_eq!(key.kid().len(), 16);
            let again = SigningKey::new(key.kid(), alg, &material, None).unwrap();
            assert_eq!(again.public_jwk(), key.public_jwk(), "{alg}");
            match key.public_jwk() {
                Some(jwk) => {
                    assert!(alg.is_asymmetric());
                    let json = serde_json::to_value(jwk).unwrap();
                    assert_eq!(json["kid"], key.kid());
                    assert_eq!(json["alg"], alg.as_str());
                    assert_eq!(json["use"], "sig");
                    assert!(json.get("d").is_none(), "no private part: {json}");
                }
                None => assert_eq!(alg, JwtAlgorithm::Hs256),
            }
        }
    }

    #[test]
    fn derived_keys_are_the_same_for_the_same_root_and_kid_only() {
        let root = SecretKey::from_bytes(b"an operator's root secret of some length".to_vec());
        let other = SecretKey::from_bytes(b"another operator's root secret, as long".to_vec());
        for alg in [JwtAlgorithm::EdDsa, JwtAlgorithm::Es256] {
            let a = SigningKey::derive(&root, "k1", alg, None).unwrap();
            let b = SigningKey::derive(&root, "k1", alg, None).unwrap();
            assert_eq!(
                a.public_jwk().unwrap().algorithm,
                b.public_jwk().unwrap().algorithm
            );
            let c = SigningKey::derive(&root, "k2", alg, None).unwrap();
            assert_ne!(
                a.public_jwk().unwrap().algorithm,
                c.public_jwk().unwrap().algorithm
            );
            let d = SigningKey::derive(&other, "k1", alg, None).unwrap();
            assert_ne!(
                a.public_jwk().unwrap().algorithm,
                d.public_jwk().unwrap().algorithm
            );
        }
    }

    #[test]
    fn bad_material_is_an_error_not_a_panic() {
        for alg in JwtAlgorithm::ALL {
            let short = SecretKey::from_bytes(vec![1; 7]);
            assert!(matches!(
                SigningKey::new("k", alg, &short, None),
                Err(KeyError::Unusable { .. })
            ));
        }
        // Above the order of P-256: no scalar.
        let too_big = SecretKey::from_bytes(vec![0xff; 32]);
        let err = SigningKey::new("k", JwtAlgorithm::Es256, &too_big, None).unwrap_err();
        assert!(err.to_string().contains("ES256 key `k`"), "{err}");
        let zero = SecretKey::from_bytes(vec![0; 32]);
        assert!(SigningKey::new("k", JwtAlgorithm::Es256, &zero, None).is_err());
    }

    #[test]
    fn the_signer_is_the_newest_unretired_key_and_retired_keys_are_not_published() {
        let at = |ms| Some(UnixMillis(ms));
        let key = |kid: &str, retire_at| {
            let material = SecretKey::from_bytes(vec![kid.as_bytes()[0]; 32]);
            SigningKey::new(kid, JwtAlgorithm::EdDsa, &material, retire_at).unwrap()
        };
        let set = KeySet::new(vec![key("a", at(100)), key("b", None), key("c", at(200))]);
        assert_eq!(set.signer(UnixMillis(0)).unwrap().kid(), "b");
        assert_eq!(set.designated_signer().unwrap().kid(), "b");
        let kids = |now| -> Vec<String> {
            set.jwks(UnixMillis(now))
                .keys
                .iter()
                .map(|k| k.common.key_id.clone().unwrap())
                .collect()
        };
        assert_eq!(kids(99), ["a", "b", "c"]);
        assert_eq!(kids(100), ["b", "c"]);
        // No designated signer (a rotation elsewhere not read yet): the newest unretired.
        let set = KeySet::new(vec![key("a", at(100)), key("c", at(200))]);
        assert_eq!(set.signer(UnixMillis(150)).unwrap().kid(), "c");
        assert!(set.signer(UnixMillis(200)).is_none());
    }
}
