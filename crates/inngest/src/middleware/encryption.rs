//! End-to-end encryption interoperable with `@inngest/middleware-encryption` v2.
//!
//! Envelope `{"__ENCRYPTED__": true, "__STRATEGY__": "inngest/libsodium", "data": <base64>}` where
//! `data` is `nonce[24] ‖ MAC[16] ‖ ciphertext` of the compact JSON, sealed with XSalsa20-Poly1305
//! under BLAKE2b-256 of the trimmed key. Decryption tries the key, then each fallback key, and
//! also opens the legacy v0 envelope (CryptoJS AES passphrase format, no strategy marker).

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use crypto_secretbox::aead::{Aead, AeadCore, KeyInit, OsRng};
use crypto_secretbox::XSalsa20Poly1305;
use md5::Md5;
use serde_json::{json, Map, Value};

use super::Middleware;
use crate::Error;

/// `__ENCRYPTED__`.
pub const ENCRYPTION_MARKER: &str = "__ENCRYPTED__";
/// `__STRATEGY__`.
pub const STRATEGY_MARKER: &str = "__STRATEGY__";
/// The libsodium strategy's identifier.
pub const LIBSODIUM_STRATEGY: &str = "inngest/libsodium";
/// The event data field that is encrypted on send.
pub const ENCRYPTED_EVENT_FIELD: &str = "encrypted";

const NONCE_LEN: usize = 24;

/// Why a value could not be encrypted or decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncryptionError {
    #[error("no encryption key given")]
    /// The key is empty.
    MissingKey,
    #[error("encrypted value is not valid base64")]
    /// The envelope's `data` is not base64.
    Base64,
    #[error("no key could decrypt the value")]
    /// No configured key opens the envelope.
    Undecryptable,
    #[error("decrypted value is not JSON")]
    /// The plaintext is not JSON.
    NotJson,
    #[error("unsupported encryption strategy `{0}`")]
    /// The envelope names a strategy this crate does not implement.
    UnsupportedStrategy(String),
}

/// The libsodium-compatible cipher with its fallback keys.
#[derive(Clone)]
pub struct Encryptor {
    ciphers: Vec<XSalsa20Poly1305>,
    passphrases: Vec<String>,
}

impl std::fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Encryptor({} keys)", self.ciphers.len())
    }
}

impl Encryptor {
    /// Encrypts with `key`; decrypts with `key` then each of `fallback_keys`.
    pub fn new(key: &str, fallback_keys: &[&str]) -> Result<Self, EncryptionError> {
        let passphrases: Vec<String> = std::iter::once(key)
            .chain(fallback_keys.iter().copied())
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .collect();
        if key.trim().is_empty() {
            return Err(EncryptionError::MissingKey);
        }
        let ciphers = passphrases
            .iter()
            .map(|k| {
                let digest = Blake2b::<U32>::digest(k.as_bytes());
                XSalsa20Poly1305::new_from_slice(&digest).expect("BLAKE2b-256 yields a 32-byte key")
            })
            .collect();
        Ok(Self {
            ciphers,
            passphrases,
        })
    }

    /// Seals `value` into an envelope.
    pub fn encrypt(&self, value: &Value) -> Value {
        let plaintext = serde_json::to_vec(value).expect("a JSON value serializes");
        let nonce = XSalsa20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self.ciphers[0]
            .encrypt(&nonce, plaintext.as_slice())
            .expect("secretbox encryption does not fail");
        let mut combined = Vec::with_capacity(NONCE_LEN + sealed.len());
        combined.extend_from_slice(&nonce);
        combined.extend_from_slice(&sealed);
        json!({
            ENCRYPTION_MARKER: true,
            STRATEGY_MARKER: LIBSODIUM_STRATEGY,
            "data": BASE64.encode(combined),
        })
    }

    /// Opens an envelope (libsodium, or the legacy AES one when it has no strategy marker).
    pub fn decrypt(&self, envelope: &Value) -> Result<Value, EncryptionError> {
        let data = envelope
            .get("data")
            .and_then(Value::as_str)
            .ok_or(EncryptionError::Base64)?;
        match envelope.get(STRATEGY_MARKER).and_then(Value::as_str) {
            Some(LIBSODIUM_STRATEGY) | Some("libsodium") => self.decrypt_libsodium(data),
            None => self.decrypt_legacy_aes(data),
            Some(other) => Err(EncryptionError::UnsupportedStrategy(other.to_owned())),
        }
    }

    fn decrypt_libsodium(&self, data: &str) -> Result<Value, EncryptionError> {
        let combined = BASE64.decode(data).map_err(|_| EncryptionError::Base64)?;
        if combined.len() < NONCE_LEN + 16 {
            return Err(EncryptionError::Undecryptable);
        }
        let (nonce, sealed) = combined.split_at(NONCE_LEN);
        let plaintext = self
            .ciphers
            .iter()
            .find_map(|cipher| cipher.decrypt(nonce.into(), sealed).ok())
            .ok_or(EncryptionError::Undecryptable)?;
        serde_json::from_slice(&plaintext).map_err(|_| EncryptionError::NotJson)
    }

    /// CryptoJS passphrase AES: `Salted__` ‖ salt[8] ‖ AES-256-CBC ciphertext, key and IV from
    /// OpenSSL's EVP_BytesToKey with MD5 and one iteration.
    fn decrypt_legacy_aes(&self, data: &str) -> Result<Value, EncryptionError> {
        let raw = BASE64.decode(data).map_err(|_| EncryptionError::Base64)?;
        let body = raw
            .strip_prefix(b"Salted__")
            .ok_or(EncryptionError::Undecryptable)?;
        if body.len() < 8 + 16 {
            return Err(EncryptionError::Undecryptable);
        }
        let (salt, ciphertext) = body.split_at(8);
        for passphrase in &self.passphrases {
            let (key, iv) = evp_bytes_to_key(passphrase.as_bytes(), salt);
            let decryptor = cbc::Decryptor::<aes::Aes256>::new(&key.into(), &iv.into());
            let mut buffer = ciphertext.to_vec();
            if let Ok(plain) = decryptor.decrypt_padded_mut::<Pkcs7>(&mut buffer) {
                if let Ok(value) = serde_json::from_slice(plain) {
                    return Ok(value);
                }
            }
        }
        Err(EncryptionError::Undecryptable)
    }
}

fn evp_bytes_to_key(passphrase: &[u8], salt: &[u8]) -> ([u8; 32], [u8; 16]) {
    let mut derived = Vec::with_capacity(48);
    let mut previous: Vec<u8> = Vec::new();
    while derived.len() < 48 {
        let mut hasher = Md5::new();
        hasher.update(&previous);
        hasher.update(passphrase);
        hasher.update(salt);
        previous = hasher.finalize().to_vec();
        derived.extend_from_slice(&previous);
    }
    let mut key = [0u8; 32];
    let mut iv = [0u8; 16];
    key.copy_from_slice(&derived[..32]);
    iv.copy_from_slice(&derived[32..48]);
    (key, iv)
}

/// Whether `value` is an encryption envelope.
pub fn is_encrypted(value: &Value) -> bool {
    let Some(map) = value.as_object() else {
        return false;
    };
    map.get(ENCRYPTION_MARKER) == Some(&Value::Bool(true))
        && map.get("data").is_some_and(Value::is_string)
        && map.get(STRATEGY_MARKER).is_none_or(Value::is_string)
}

/// Encrypts `event.data.encrypted` on send, every step output but null, and the function output;
/// decrypts any top-level `data.<field>` envelope of incoming events and memoized step data.
#[derive(Debug, Clone)]
pub struct EncryptionMiddleware {
    encryptor: Encryptor,
}

impl EncryptionMiddleware {
    /// With `key` and optional fallback keys for rotation.
    pub fn new(key: &str, fallback_keys: &[&str]) -> Result<Self, EncryptionError> {
        Ok(Self {
            encryptor: Encryptor::new(key, fallback_keys)?,
        })
    }

    /// The underlying cipher.
    pub fn encryptor(&self) -> &Encryptor {
        &self.encryptor
    }

    fn decrypt_event(&self, event: &mut Value) -> Result<(), Error> {
        let Some(data) = event.get_mut("data").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        decrypt_fields(&self.encryptor, data)
    }

    fn encrypt_unless_null(&self, value: &mut Value) {
        if !value.is_null() && !is_encrypted(value) {
            *value = self.encryptor.encrypt(value);
        }
    }
}

fn decrypt_fields(encryptor: &Encryptor, data: &mut Map<String, Value>) -> Result<(), Error> {
    for field in data.values_mut() {
        if is_encrypted(field) {
            *field = encryptor.decrypt(field)?;
        }
    }
    Ok(())
}

impl Middleware for EncryptionMiddleware {
    fn transform_input(&self, event: &mut Value, events: &mut [Value]) -> Result<(), Error> {
        self.decrypt_event(event)?;
        events.iter_mut().try_for_each(|e| self.decrypt_event(e))
    }

    fn transform_memoized(&self, data: &mut Value) -> Result<(), Error> {
        if is_encrypted(data) {
            *data = self.encryptor.decrypt(data)?;
        }
        Ok(())
    }

    fn transform_step_output(&self, _step_id: &str, output: &mut Value) -> Result<(), Error> {
        self.encrypt_unless_null(output);
        Ok(())
    }

    fn transform_output(&self, output: &mut Value) -> Result<(), Error> {
        self.encrypt_unless_null(output);
        Ok(())
    }

    fn transform_send_event(&self, event: &mut Value) -> Result<(), Error> {
        if let Some(field) = event
            .get_mut("data")
            .and_then(|d| d.get_mut(ENCRYPTED_EVENT_FIELD))
        {
            if !is_encrypted(field) {
                *field = self.encryptor.encrypt(field);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE_KEY: &str = "test-fixture-key";

    #[test]
    fn decrypts_the_js_libsodium_fixtures() {
        let enc = Encryptor::new(FIXTURE_KEY, &[]).unwrap();
        let envelope = json!({ ENCRYPTION_MARKER: true, STRATEGY_MARKER: LIBSODIUM_STRATEGY,
            "data": "pSiSWo5S7sref48gdYmMkyJW9UmqFMDbmmVULbtmKFRHlWIoa52qb7CINe3cXmT5X8bvLfsg20S+6qLTzAMK7GPrcSPdYcFYI3IiYGY=" });
        assert_eq!(
            enc.decrypt(&envelope).unwrap(),
            json!({"hello": "world", "nested": {"num": 42}})
        );
        let event = json!({ ENCRYPTION_MARKER: true, STRATEGY_MARKER: LIBSODIUM_STRATEGY,
            "data": "q3FWFqO1qIEXK/u9ullLh+rJbxVrHWJ+6VZAsGjc6cWdnP28KSb6Z0NqN+nDyAHZXPfIpN4OXS4+8+1ZI4wMvkaWlOo/VrzYXwYltV7w1/Q=" });
        assert_eq!(
            enc.decrypt(&event).unwrap(),
            json!({"userId": "usr_123", "plan": "enterprise"})
        );
    }

    #[test]
    fn decrypts_the_js_legacy_aes_fixture() {
        let enc = Encryptor::new(FIXTURE_KEY, &[]).unwrap();
        let envelope = json!({ ENCRYPTION_MARKER: true,
            "data": "U2FsdGVkX1/2ji5c3rSBYndk4+QMtYtyP9fB1lwFVqIq7F9nqMz47d1A/W9qGA9F" });
        assert_eq!(
            enc.decrypt(&envelope).unwrap(),
            json!({"secret": "v0-data", "count": 99})
        );
    }

    #[test]
    fn round_trips_and_uses_fallback_keys() {
        let old = Encryptor::new("old-key", &[]).unwrap();
        let sealed = old.encrypt(&json!({"a": 1}));
        assert!(is_encrypted(&sealed));
        let rotated = Encryptor::new("new-key", &["old-key"]).unwrap();
        assert_eq!(rotated.decrypt(&sealed).unwrap(), json!({"a": 1}));
        let stranger = Encryptor::new("other", &[]).unwrap();
        assert_eq!(
            stranger.decrypt(&sealed),
            Err(EncryptionError::Undecryptable)
        );
    }

    #[test]
    fn middleware_encrypts_sends_and_outputs_but_not_null() {
        let mw = EncryptionMiddleware::new("k", &[]).unwrap();
        let mut event =
            json!({"name": "x", "data": {"public": 1, "encrypted": {"email": "a@b.c"}}});
        mw.transform_send_event(&mut event).unwrap();
        assert!(is_encrypted(&event["data"]["encrypted"]));
        assert_eq!(event["data"]["public"], json!(1));
        let mut events = [event.clone()];
        mw.transform_input(&mut event, &mut events).unwrap();
        assert_eq!(event["data"]["encrypted"], json!({"email": "a@b.c"}));
        assert_eq!(events[0]["data"]["encrypted"], json!({"email": "a@b.c"}));
        let mut null = Value::Null;
        mw.transform_step_output("s", &mut null).unwrap();
        assert!(null.is_null());
        let mut out = json!(0);
        mw.transform_output(&mut out).unwrap();
        assert!(is_encrypted(&out));
        mw.transform_memoized(&mut out).unwrap();
        assert_eq!(out, json!(0));
    }
}
