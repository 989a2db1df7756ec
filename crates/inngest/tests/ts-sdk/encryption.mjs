// Encryption interop CLI backed by the real @inngest/middleware-encryption (v2).
//
//   node encryption.mjs encrypt <key> <json>
//       -> {"__ENCRYPTED__":true,"__STRATEGY__":"inngest/libsodium","data":"<base64>"}
//   node encryption.mjs decrypt <json-envelope> <key> [fallback keys...]
//       -> the plaintext JSON (compact)
//   node encryption.mjs encrypt-event <key> <event-data-json>
//       -> the event data exactly as the middleware sends it (field `encrypted` encrypted)
//   node encryption.mjs decrypt-event <event-data-json> <key> [fallback keys...]
//       -> the event data as a function sees it (every top-level envelope decrypted)
//   node encryption.mjs selftest
//       -> checks the package's published fixtures + round trips; exit 1 on failure
//
// What is "real" here:
// * encrypt/decrypt use the package's exported LibSodiumEncryptionService
//   (`@inngest/middleware-encryption/strategies/libSodium`) for the ciphertext;
//   the envelope is built from the package's own exported markers
//   (EncryptionService.ENCRYPTION_MARKER / STRATEGY_MARKER + service.identifier),
//   the same three keys in the same order as the middleware's internal
//   `encryptValue`. Envelope detection uses the exported isEncryptedValue /
//   isV0EncryptedValue. Legacy v0 envelopes (no __STRATEGY__) are decrypted with
//   the exported AESEncryptionService, as the middleware's legacy path does.
// * encrypt-event runs the actual middleware: an Inngest client with
//   encryptionMiddleware({key}) sends the event to an in-process stand-in of the
//   event API, and the `data` of the event that arrives is printed.
// * decrypt-event mirrors the middleware's transformFunctionInput (which is only
//   reachable inside a function execution): every top-level field of `data`
//   that is an envelope is decrypted, others are left alone.

import http from "node:http";
import { pathToFileURL } from "node:url";
import {
  EncryptionService,
  encryptionMiddleware,
  isEncryptedValue,
  isV0EncryptedValue,
} from "@inngest/middleware-encryption";
import { LibSodiumEncryptionService } from "@inngest/middleware-encryption/strategies/libSodium";
import { AESEncryptionService } from "@inngest/middleware-encryption/strategies/aes";

const usage = `usage:
  node encryption.mjs encrypt <key> <json>
  node encryption.mjs decrypt <json-envelope> <key> [fallback keys...]
  node encryption.mjs encrypt-event <key> <event-data-json>
  node encryption.mjs decrypt-event <event-data-json> <key> [fallback keys...]
  node encryption.mjs selftest`;

export async function encrypt(key, value) {
  const service = new LibSodiumEncryptionService([key]);
  return {
    [EncryptionService.ENCRYPTION_MARKER]: true,
    [EncryptionService.STRATEGY_MARKER]: service.identifier,
    data: await service.encrypt(value),
  };
}

export async function decrypt(envelope, keys) {
  if (isEncryptedValue(envelope)) {
    // Like the middleware: any __STRATEGY__ value goes to the configured
    // (libsodium) service; the identifier is not checked.
    return new LibSodiumEncryptionService(keys).decrypt(envelope.data);
  }
  if (isV0EncryptedValue(envelope)) {
    return new AESEncryptionService(keys).decrypt(envelope.data);
  }
  return envelope; // not an envelope: passed through, as the middleware does
}

export async function decryptEventData(data, keys) {
  const out = {};
  for (const k of Object.keys(data)) out[k] = await decrypt(data[k], keys);
  return out;
}

/** Encrypt event data by really sending it through the middleware. */
export async function encryptEventViaMiddleware(key, data) {
  const { Inngest } = await import("inngest");
  let received;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      received = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ ids: received.map((_, i) => `evt-${i + 1}`), status: 200 }));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const quiet = { info() {}, warn() {}, error() {}, debug() {} };
  try {
    const client = new Inngest({
      id: "encryption-cli",
      isDev: false,
      eventKey: "encryption-cli-key",
      baseUrl: `http://127.0.0.1:${server.address().port}`,
      middleware: [encryptionMiddleware({ key })],
      logger: quiet,
      internalLogger: quiet,
    });
    await client.send({ name: "encryption-cli/event", data });
  } finally {
    server.close();
  }
  if (!Array.isArray(received) || received.length !== 1) {
    throw new Error(`unexpected event API payload: ${JSON.stringify(received)}`);
  }
  return received[0].data;
}

// Published fixtures (inngest-js packages/middleware-encryption/src/middleware.test.ts,
// "cross-version compatibility"), key "test-fixture-key".
const FIXTURES = [
  {
    name: "libsodium envelope",
    envelope: {
      __ENCRYPTED__: true,
      __STRATEGY__: "inngest/libsodium",
      data: "pSiSWo5S7sref48gdYmMkyJW9UmqFMDbmmVULbtmKFRHlWIoa52qb7CINe3cXmT5X8bvLfsg20S+6qLTzAMK7GPrcSPdYcFYI3IiYGY=",
    },
    plaintext: { hello: "world", nested: { num: 42 } },
  },
  {
    name: "libsodium event field",
    envelope: {
      __ENCRYPTED__: true,
      __STRATEGY__: "inngest/libsodium",
      data: "q3FWFqO1qIEXK/u9ullLh+rJbxVrHWJ+6VZAsGjc6cWdnP28KSb6Z0NqN+nDyAHZXPfIpN4OXS4+8+1ZI4wMvkaWlOo/VrzYXwYltV7w1/Q=",
    },
    plaintext: { userId: "usr_123", plan: "enterprise" },
  },
  {
    name: "legacy v0 (AES) envelope",
    envelope: {
      __ENCRYPTED__: true,
      data: "U2FsdGVkX1/2ji5c3rSBYndk4+QMtYtyP9fB1lwFVqIq7F9nqMz47d1A/W9qGA9F",
    },
    plaintext: { secret: "v0-data", count: 99 },
  },
];

async function selftest() {
  let ok = true;
  const check = (name, cond) => {
    process.stdout.write(`${cond ? "ok  " : "FAIL"} ${name}\n`);
    ok &&= cond;
  };
  for (const f of FIXTURES) {
    const got = await decrypt(f.envelope, ["test-fixture-key"]);
    check(`fixture: ${f.name}`, JSON.stringify(got) === JSON.stringify(f.plaintext));
    const viaFallback = await decrypt(f.envelope, ["wrong-key", "test-fixture-key"]);
    check(`fixture via fallback key: ${f.name}`, JSON.stringify(viaFallback) === JSON.stringify(f.plaintext));
  }
  const value = { a: [1, "two", null], b: { c: true } };
  const env = await encrypt(" k1 ", value);
  check("envelope keys/order", JSON.stringify(Object.keys(env)) === '["__ENCRYPTED__","__STRATEGY__","data"]');
  check("key is trimmed", JSON.stringify(await decrypt(env, ["k1"])) === JSON.stringify(value));
  const raw = Buffer.from(env.data, "base64");
  check("data = nonce(24)+mac(16)+ciphertext", raw.length === 24 + 16 + Buffer.byteLength(JSON.stringify(value)));
  let failed = false;
  try {
    await decrypt(env, ["other"]);
  } catch {
    failed = true;
  }
  check("wrong key fails", failed);
  const ev = await encryptEventViaMiddleware("k1", { public: 1, encrypted: { s: "x" }, other: { s: "y" } });
  check("event: only `encrypted` is enveloped", isEncryptedValue(ev.encrypted) && ev.public === 1 && ev.other.s === "y");
  check("event: field order kept", JSON.stringify(Object.keys(ev)) === '["public","encrypted","other"]');
  check("event: round trip", JSON.stringify(await decryptEventData(ev, ["k1"])) === JSON.stringify({ public: 1, encrypted: { s: "x" }, other: { s: "y" } }));
  const noField = await encryptEventViaMiddleware("k1", { a: 1 });
  check("event without `encrypted` unchanged", JSON.stringify(noField) === '{"a":1}');
  process.exit(ok ? 0 : 1);
}

const parse = (s, what) => {
  try {
    return JSON.parse(s);
  } catch (e) {
    process.stderr.write(`invalid JSON for ${what}: ${e.message}\n`);
    process.exit(2);
  }
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [cmd, ...rest] = process.argv.slice(2);
  try {
    switch (cmd) {
      case "encrypt": {
        if (rest.length !== 2) throw new Error(usage);
        console.log(JSON.stringify(await encrypt(rest[0], parse(rest[1], "<json>"))));
        break;
      }
      case "decrypt": {
        if (rest.length < 2) throw new Error(usage);
        const envelope = parse(rest[0], "<json-envelope>");
        if (!isEncryptedValue(envelope) && !isV0EncryptedValue(envelope)) {
          throw new Error("not an encryption envelope");
        }
        console.log(JSON.stringify(await decrypt(envelope, rest.slice(1))));
        break;
      }
      case "encrypt-event": {
        if (rest.length !== 2) throw new Error(usage);
        console.log(JSON.stringify(await encryptEventViaMiddleware(rest[0], parse(rest[1], "<event-data-json>"))));
        break;
      }
      case "decrypt-event": {
        if (rest.length < 2) throw new Error(usage);
        console.log(JSON.stringify(await decryptEventData(parse(rest[0], "<event-data-json>"), rest.slice(1))));
        break;
      }
      case "selftest":
        await selftest();
        break;
      default:
        throw new Error(usage);
    }
  } catch (e) {
    process.stderr.write(`${e && e.message ? e.message : e}\n`);
    process.exit(1);
  }
}
