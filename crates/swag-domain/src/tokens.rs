//! API tokens for agents: `swag_` + base64url of 32 random bytes, stored only as a SHA-256 hash
//! with a short display prefix; compared in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A freshly minted token: the secret is shown once, only the hash is stored.
pub struct MintedToken {
    /// The bearer secret to hand to the agent.
    pub secret: String,
    /// Hex SHA-256 of the secret (stored).
    pub hash: String,
    /// The first 12 characters plus `...` (stored, for display).
    pub prefix: String,
}

impl std::fmt::Debug for MintedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedToken")
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Mints a token.
pub fn mint() -> MintedToken {
    let bytes: [u8; 32] = rand::random();
    let secret = format!("swag_{}", URL_SAFE_NO_PAD.encode(bytes));
    MintedToken {
        hash: hash(&secret),
        prefix: display_prefix(&secret),
        secret,
    }
}

/// Hex SHA-256 of a token.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The first 12 characters followed by `...`.
pub fn display_prefix(secret: &str) -> String {
    let head: String = secret.chars().take(12).collect();
    format!("{head}...")
}

/// Constant-time comparison of a presented token with a configured one.
pub fn matches(presented: &str, expected: &str) -> bool {
    let (a, b) = (
        Sha256::digest(presented.as_bytes()),
        Sha256::digest(expected.as_bytes()),
    );
    bool::from(a.ct_eq(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_hash_and_hide() {
        let token = mint();
        assert!(token.secret.starts_with("swag_"));
        assert_eq!(token.secret.len(), 5 + 43);
        assert_eq!(token.hash, hash(&token.secret));
        assert_eq!(token.prefix, format!("{}...", &token.secret[..12]));
        assert!(!format!("{token:?}").contains(&token.secret));
        assert!(matches(&token.secret, &token.secret));
        assert!(!matches(&token.secret, "swag_other"));
    }
}
