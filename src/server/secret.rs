//! Hashing of bearer secrets (session ids, API tokens) before they touch the database.

use sha2::{Digest, Sha256};

/// The SHA-256 of `secret` as 64 lowercase hex digits.
///
/// Only this hash is stored, so a leaked database row cannot be replayed as a cookie or token.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
