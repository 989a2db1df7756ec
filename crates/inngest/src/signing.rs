//! Request and response signatures (`X-Inngest-Signature`) and the hashed bearer token.
//!
//! The HMAC key is the UTF-8 text of the signing key after its `signkey-<env>-` prefix (the hex is
//! not decoded); the message is the body bytes followed by the decimal unix-seconds timestamp. The
//! bearer token sent to the Inngest API is the prefix plus hex SHA-256 of the hex-decoded key.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// How far a request timestamp may be from now, in either direction.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 5 * 60;

/// A signing key as issued by Inngest (`signkey-<env>-<hex>`). Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(String);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Inngest-Signature header")]
    /// No signature header.
    Missing,
    #[error("malformed X-Inngest-Signature header")]
    /// Not `t=<secs>&s=<hex>`.
    Malformed,
    #[error("signature timestamp is more than 5 minutes away from now")]
    /// Too old or too far in the future.
    Expired,
    #[error("signature does not match the signing key")]
    /// Signed with another key, or the body changed.
    Mismatch,
}

impl SigningKey {
    /// Wraps a signing key; surrounding whitespace is ignored.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into().trim().to_owned())
    }

    /// The `signkey-<env>-` prefix, when the key has one.
    fn prefix(&self) -> &str {
        let key = self.0.as_str();
        let Some(rest) = key.strip_prefix("signkey-") else {
            return "";
        };
        let env_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if env_len > 0 && rest[env_len..].starts_with('-') {
            &key[.."signkey-".len() + env_len + 1]
        } else {
            ""
        }
    }

    /// The secret part used as the HMAC key.
    fn secret(&self) -> &str {
        &self.0[self.prefix().len()..]
    }

    fn mac(&self, body: &[u8], timestamp: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(self.secret().as_bytes())
            .expect("HMAC-SHA256 accepts keys of any length");
        mac.update(body);
        mac.update(timestamp.to_string().as_bytes());
        mac
    }

    /// The `X-Inngest-Signature` value for `body` at `timestamp` (unix seconds).
    pub fn sign(&self, body: &[u8], timestamp: i64) -> String {
        let digest = self.mac(body, timestamp).finalize().into_bytes();
        format!("t={timestamp}&s={}", crate::hex::encode(digest))
    }

    /// Checks a signature header against `body`, in constant time, rejecting timestamps more than
    /// five minutes in the past or the future.
    pub fn verify(&self, header: &str, body: &[u8], now: i64) -> Result<(), SignatureError> {
        let parsed = ParsedSignature::parse(header)?;
        if (now - parsed.timestamp).abs() > SIGNATURE_TOLERANCE_SECS {
            return Err(SignatureError::Expired);
        }
        let expected = self.mac(body, parsed.timestamp).finalize().into_bytes();
        if bool::from(expected.as_slice().ct_eq(&parsed.digest)) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }

    /// The bearer token for API calls: the key's prefix plus hex SHA-256 of the hex-decoded secret
    /// (of the raw secret when it is not hex).
    pub fn hashed(&self) -> String {
        let secret = self.secret();
        let digest = match hex::decode(secret) {
            Ok(bytes) => Sha256::digest(bytes),
            Err(_) => Sha256::digest(secret.as_bytes()),
        };
        format!("{}{}", self.prefix(), crate::hex::encode(digest))
    }
}

/// A parsed `t=<secs>&s=<hex>` header.
struct ParsedSignature {
    timestamp: i64,
    digest: Vec<u8>,
}

impl ParsedSignature {
    fn parse(header: &str) -> Result<Self, SignatureError> {
        let header = header.trim();
        if header.is_empty() {
            return Err(SignatureError::Missing);
        }
        let (mut timestamp, mut digest) = (None, None);
        for pair in header.split('&') {
            match pair.split_once('=') {
                Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
                Some(("s", value)) => digest = hex::decode(value).ok(),
                _ => {}
            }
        }
        match (timestamp, digest) {
            (Some(timestamp), Some(digest)) => Ok(Self { timestamp, digest }),
            _ => Err(SignatureError::Malformed),
        }
    }
}

/// Verifies against the primary key, then the fallback key; returns the key that matched so that
/// the response can be signed with it.
pub fn verify_with_fallback<'k>(
    header: Option<&str>,
    body: &[u8],
    now: i64,
    primary: &'k SigningKey,
    fallback: Option<&'k SigningKey>,
) -> Result<&'k SigningKey, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    match primary.verify(header, body, now) {
        Ok(()) => Ok(primary),
        Err(SignatureError::Mismatch) => match fallback {
            Some(fallback) => fallback.verify(header, body, now).map(|()| fallback),
            None => Err(SignatureError::Mismatch),
        },
        Err(other) => Err(other),
    }
}

/// Hex SHA-256 of a raw event key, as shown by authenticated introspection.
pub fn hash_event_key(event_key: &str) -> String {
    crate::hex::encode(Sha256::digest(event_key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "signkey-test-8ee2262a15e8d3c42d6a840db7af3de2aab08ef632b32a37a687f24b34dba3ff";
    const SIGNATURE: &str =
        "t=1689920619&s=31df77f5b1b029de4bfce3a77e0517aa4ce0f5e2195a6467fc126a489ca2330b";
    // The body of the inngest-rs vector, serialized with sorted keys as that test does.
    const BODY: &str = r#"{"ctx":{"fn_id":"local-testing-local-cron","run_id":"01GQ3HTEZ01M7R8Z9PR1DMHDN1","step_id":"step"},"event":{"data":{},"id":"","name":"inngest/scheduled.timer","ts":1674082830001,"user":{},"v":"1"},"events":[{"data":{},"id":"","name":"inngest/scheduled.timer","ts":1674082830001,"user":{},"v":"1"}],"steps":{},"use_api":false}"#;
    const T: i64 = 1689920619;

    #[test]
    fn signs_the_reference_vector() {
        assert_eq!(SigningKey::new(KEY).sign(BODY.as_bytes(), T), SIGNATURE);
    }

    #[test]
    fn hashes_the_reference_bearer_vector() {
        assert_eq!(
            SigningKey::new(KEY).hashed(),
            "signkey-test-e4bf4a2e7f55c7eb954b6e72f8f69628fbc409fe7da6d0f6958770987dcf0e02"
        );
    }

    #[test]
    fn verifies_within_the_window_in_both_directions() {
        let key = SigningKey::new(KEY);
        assert_eq!(key.verify(SIGNATURE, BODY.as_bytes(), T + 300), Ok(()));
        assert_eq!(key.verify(SIGNATURE, BODY.as_bytes(), T - 300), Ok(()));
        assert_eq!(
            key.verify(SIGNATURE, BODY.as_bytes(), T + 301),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            key.verify(SIGNATURE, BODY.as_bytes(), T - 301),
            Err(SignatureError::Expired)
        );
    }

    #[test]
    fn rejects_tampering_and_garbage() {
        let key = SigningKey::new(KEY);
        let tampered = BODY.replace("local-cron", "local-cron2");
        assert_eq!(
            key.verify(SIGNATURE, tampered.as_bytes(), T),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            key.verify("10", BODY.as_bytes(), T),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            key.verify("", BODY.as_bytes(), T),
            Err(SignatureError::Missing)
        );
        let hello = format!("{SIGNATURE}hello");
        assert_eq!(
            key.verify(&hello, BODY.as_bytes(), T),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn falls_back_to_the_second_key() {
        let primary = SigningKey::new("signkey-prod-00");
        let fallback = SigningKey::new(KEY);
        let used = verify_with_fallback(
            Some(SIGNATURE),
            BODY.as_bytes(),
            T,
            &primary,
            Some(&fallback),
        );
        assert_eq!(used, Ok(&fallback));
        let none = verify_with_fallback(Some(SIGNATURE), BODY.as_bytes(), T, &primary, None);
        assert_eq!(none, Err(SignatureError::Mismatch));
        let missing = verify_with_fallback(None, BODY.as_bytes(), T, &fallback, None);
        assert_eq!(missing, Err(SignatureError::Missing));
    }

    #[test]
    fn debug_hides_the_secret() {
        assert_eq!(format!("{:?}", SigningKey::new(KEY)), "SigningKey(***)");
    }
}
