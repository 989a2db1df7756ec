// Signing helpers for driving an Inngest SDK endpoint by hand (reference §4).
//
//   node sign.mjs sign <signing-key> <body> [unix-seconds]  -> t=<ts>&s=<hex>
//   node sign.mjs bearer <signing-key>                       -> signkey-<env>-<sha256 hex>
//   node sign.mjs verify <signing-key> <body> <header>       -> ok | mismatch (exit 1)
//
// Also importable: signBody, hashSigningKey, verifySignature.

import crypto from "node:crypto";
import { pathToFileURL } from "node:url";

const PREFIX = /^signkey-\w+-/;

/** HMAC key = UTF-8 bytes of the signing key with `signkey-<env>-` stripped (hex NOT decoded). */
export function hmacHex(signingKey, body, ts) {
  const key = Buffer.from(signingKey.replace(PREFIX, ""), "utf8");
  return crypto
    .createHmac("sha256", key)
    .update(Buffer.concat([Buffer.from(body, "utf8"), Buffer.from(String(ts), "utf8")]))
    .digest("hex");
}

/** Value for the `X-Inngest-Signature` header. */
export function signBody(signingKey, body, ts = Math.floor(Date.now() / 1000)) {
  return `t=${ts}&s=${hmacHex(signingKey, body, ts)}`;
}

/** Bearer token for API calls: prefix + hex(SHA-256(hex-decoded key)). */
export function hashSigningKey(signingKey) {
  const prefix = signingKey.match(PREFIX)?.[0] ?? "";
  const raw = Buffer.from(signingKey.replace(PREFIX, ""), "hex");
  return prefix + crypto.createHash("sha256").update(raw).digest("hex");
}

/** Check a `t=..&s=..` header against a body (no freshness check). */
export function verifySignature(signingKey, body, header) {
  const params = new URLSearchParams(header);
  const t = params.get("t");
  const s = params.get("s");
  if (!t || !s) return false;
  const want = Buffer.from(hmacHex(signingKey, body, t), "hex");
  const got = Buffer.from(s, "hex");
  return want.length === got.length && crypto.timingSafeEqual(want, got);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [cmd, key, ...rest] = process.argv.slice(2);
  if (cmd === "sign" && key && rest.length >= 1) {
    console.log(signBody(key, rest[0], rest[1] ?? Math.floor(Date.now() / 1000)));
  } else if (cmd === "bearer" && key) {
    console.log(hashSigningKey(key));
  } else if (cmd === "verify" && key && rest.length === 2) {
    const ok = verifySignature(key, rest[0], rest[1]);
    console.log(ok ? "ok" : "mismatch");
    process.exit(ok ? 0 : 1);
  } else {
    console.error(
      "usage: sign.mjs sign <key> <body> [ts] | bearer <key> | verify <key> <body> <header>",
    );
    process.exit(2);
  }
}
