//! Encryption interop both ways with the real npm `@inngest/middleware-encryption` package
//! (driven through tests/ts-sdk/encryption.mjs; `npm ci` there first — scripts/test does).

use std::path::PathBuf;
use std::process::Command;

use inngest::middleware::encryption::{
    is_encrypted, Encryptor, LIBSODIUM_STRATEGY, STRATEGY_MARKER,
};
use inngest::EncryptionMiddleware;
use inngest::Middleware;
use serde_json::{json, Value};

fn harness() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ts-sdk");
    assert!(
        dir.join("node_modules/@inngest/middleware-encryption")
            .exists(),
        "run `npm ci` in {} (scripts/test does it)",
        dir.display()
    );
    dir
}

fn node(args: &[&str]) -> Value {
    let dir = harness();
    let output = Command::new("node")
        .arg("encryption.mjs")
        .args(args)
        .current_dir(&dir)
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "node {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("node prints JSON")
}

#[test]
fn rust_envelopes_open_in_the_npm_package() {
    let plain = json!({"email": "ada@example.com", "nested": {"n": [1, 2, 3]}, "emoji": "✓"});
    let envelope = Encryptor::new("shared-key", &[]).unwrap().encrypt(&plain);
    assert_eq!(envelope[STRATEGY_MARKER], json!(LIBSODIUM_STRATEGY));
    let opened = node(&["decrypt", &envelope.to_string(), "shared-key"]);
    assert_eq!(opened, plain);
    let with_fallback = node(&["decrypt", &envelope.to_string(), "new-key", "shared-key"]);
    assert_eq!(with_fallback, plain, "the package tries fallback keys too");
}

#[test]
fn npm_envelopes_open_in_rust() {
    let plain = json!({"userId": "usr_1", "plan": "pro", "amount": 12.5});
    let envelope = node(&["encrypt", "shared-key", &plain.to_string()]);
    assert!(is_encrypted(&envelope));
    assert_eq!(
        Encryptor::new("shared-key", &[])
            .unwrap()
            .decrypt(&envelope)
            .unwrap(),
        plain
    );
    let rotated = Encryptor::new("next-key", &["shared-key"]).unwrap();
    assert_eq!(rotated.decrypt(&envelope).unwrap(), plain);
    assert!(Encryptor::new("other", &[])
        .unwrap()
        .decrypt(&envelope)
        .is_err());
}

#[test]
fn event_data_encrypted_by_the_npm_middleware_is_decrypted_by_ours_and_back() {
    let data = json!({"public": 1, "encrypted": {"email": "a@b.c", "phone": "555"}});
    let sent_by_js = node(&["encrypt-event", "k", &data.to_string()]);
    assert_eq!(sent_by_js["public"], json!(1));
    assert!(is_encrypted(&sent_by_js["encrypted"]));
    let middleware = EncryptionMiddleware::new("k", &[]).unwrap();
    let mut event = json!({"name": "x/y", "data": sent_by_js});
    middleware.transform_input(&mut event, &mut []).unwrap();
    assert_eq!(event["data"], data);

    let mut ours = json!({"name": "x/y", "data": data.clone()});
    middleware.transform_send_event(&mut ours).unwrap();
    let seen_by_js = node(&["decrypt-event", &ours["data"].to_string(), "k"]);
    assert_eq!(seen_by_js, data);
}
