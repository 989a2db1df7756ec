//! `X-Inngest-Signature` for request bodies, as the executor computes it.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Strips `^signkey-\w+-` (`\w` = ASCII word characters) from a signing key; the rest is
/// used as the HMAC key as UTF-8 bytes (the hex is not decoded).
pub fn normalize_key(key: &str) -> &str {
    if let Some(rest) = key.strip_prefix("signkey-") {
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end > 0 && rest[end..].starts_with('-') {
            return &rest[end + 1..];
        }
    }
    key
}

/// `t=<t>&s=<hex HMAC-SHA256(key, body ++ decimal t)>`.
pub fn signature(key: &str, body: &[u8], t: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(normalize_key(key).as_bytes())
        .expect("HMAC takes keys of any size");
    mac.update(body);
    mac.update(t.to_string().as_bytes());
    format!("t={t}&s={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "signkey-test-8ee2262a15e8d3c42d6a840db7af3de2aab08ef632b32a37a687f24b34dba3ff";

    #[test]
    fn strips_prefix() {
        assert_eq!(normalize_key(KEY), &KEY[13..]);
        assert_eq!(normalize_key("signkey-prod-abc"), "abc");
        assert_eq!(normalize_key("abc"), "abc");
        assert_eq!(normalize_key("signkey--abc"), "signkey--abc");
    }

    /// The vector from inngest-rs `inngest/src/signature.rs` (body = serde_json's compact,
    /// key-sorted rendering of that test's request).
    #[test]
    fn inngest_rs_vector() {
        let evt = r#"{"data":{},"id":"","name":"inngest/scheduled.timer","ts":1674082830001,"user":{},"v":"1"}"#;
        let body = format!(
            r#"{{"ctx":{{"fn_id":"local-testing-local-cron","run_id":"01GQ3HTEZ01M7R8Z9PR1DMHDN1","step_id":"step"}},"event":{evt},"events":[{evt}],"steps":{{}},"use_api":false}}"#
        );
        assert_eq!(
            signature(KEY, body.as_bytes(), 1689920619),
            "t=1689920619&s=31df77f5b1b029de4bfce3a77e0517aa4ce0f5e2195a6467fc126a489ca2330b"
        );
    }
}
