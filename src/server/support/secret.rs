//! Hashing of bearer secrets (session ids, API tokens) before they touch the database.

use sha2::{Digest, Sha256};

/// The SHA-256 of `secret` as 64 lowercase hex digits.
///
/// Only this hash is stored, so a leaked database row cannot be replayed as a cookie or token.
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    // Every request with a session hashes its id: the digits are written by table into one
    // buffer (hex's `encode` builds the string a character at a time).
    let mut digits = [0u8; 64];
    match hex::encode_to_slice(digest, &mut digits).map(|()| String::from_utf8(digits.to_vec())) {
        Ok(Ok(hex)) => hex,
        _ => hex::encode(digest),
    }
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
