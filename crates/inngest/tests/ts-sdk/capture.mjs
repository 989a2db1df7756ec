// Drives conformance-server.mjs (the official TS SDK) with signed requests and
// records the exact wire behaviour into CAPTURES.md (+ captures.json).
//
//   node capture.mjs [--out CAPTURES.md] [--json captures.json]
//
// Starts its own stand-in for INNGEST_BASE_URL (stand-in.mjs) and its own copy
// of the server on a free port; both are stopped at the end.

import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import canonicalize from "canonicalize";
import { startStandIn } from "./stand-in.mjs";
import { signBody, verifySignature } from "./sign.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const argOf = (flag, dflt) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : dflt;
};
const OUT = argOf("--out", path.join(here, "CAPTURES.md"));
const OUT_JSON = argOf("--json", path.join(here, "captures.json"));

// inngest-rs / inngest-ex test key (public test vector).
const KEY =
  "signkey-test-8ee2262a15e8d3c42d6a840db7af3de2aab08ef632b32a37a687f24b34dba3ff";
const WRONG_KEY =
  "signkey-test-0000000000000000000000000000000000000000000000000000000000000000";
const RUN_ID = "01JCONFORMANCERUN000000000";
const sha1 = (s) => crypto.createHash("sha1").update(s).digest("hex");
const H = Object.fromEntries(
  [
    "first", "first:1", "second", "left", "right", "fast", "slow", "boom",
    "fatal-step", "nap", "until", "wait-approval", "call-hello", "wait-signal",
    "send-followup", "summarize", "only",
  ].map((s) => [s, sha1(s)]),
);

// ---------------------------------------------------------------- processes
const standIn = await startStandIn();
const child = spawn(process.execPath, [path.join(here, "conformance-server.mjs")], {
  env: {
    ...Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith("INNGEST_")),
    ),
    PORT: "0",
    INNGEST_SIGNING_KEY: KEY,
    INNGEST_BASE_URL: standIn.url,
  },
  stdio: ["ignore", "pipe", "pipe"],
});
let serverStderr = "";
child.stderr.on("data", (d) => (serverStderr += d));
const port = await new Promise((resolve, reject) => {
  let buf = "";
  child.stdout.on("data", (d) => {
    buf += d;
    const nl = buf.indexOf("\n");
    if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)).port);
  });
  child.once("exit", (c) => reject(new Error(`server exited ${c}: ${serverStderr}`)));
});
const ORIGIN = `http://127.0.0.1:${port}`;
const BASE = `${ORIGIN}/api/inngest`;

// ---------------------------------------------------------------- helpers
const captures = [];
let section = "";

const KEEP_HEADERS = [
  "x-inngest-sdk",
  "x-inngest-req-version",
  "x-inngest-no-retry",
  "retry-after",
  "content-type",
  "x-inngest-sync-kind",
  "x-inngest-framework",
  "x-inngest-platform",
  "x-inngest-signature",
];
const NOISE_HEADERS = new Set([
  "date", "connection", "keep-alive", "transfer-encoding", "content-length",
]);

async function send({ title, method, query = "", body, headers = {}, sign = KEY, note, reqSummary }) {
  const raw = body === undefined ? undefined : typeof body === "string" ? body : canonicalize(body);
  const h = { ...headers };
  if (raw !== undefined) h["content-type"] = "application/json";
  if (sign) h["x-inngest-signature"] = signBody(sign, raw ?? "");
  const standInBefore = standIn.requests.length;
  const res = await fetch(`${BASE}${query}`, { method, headers: h, body: raw });
  const text = await res.text();
  await new Promise((r) => setTimeout(r, 50));
  const all = Object.fromEntries(res.headers);
  const sig = all["x-inngest-signature"];
  const cap = {
    section,
    title,
    note,
    request: {
      method,
      url: `/api/inngest${query}`,
      headers: Object.fromEntries(
        Object.entries(h).filter(([k]) => k !== "content-type"),
      ),
      summary: reqSummary,
      body: raw,
    },
    response: {
      status: res.status,
      headers: Object.fromEntries(KEEP_HEADERS.filter((k) => k in all).map((k) => [k, all[k]])),
      otherHeaders: Object.fromEntries(
        Object.entries(all).filter(([k]) => !KEEP_HEADERS.includes(k) && !NOISE_HEADERS.has(k)),
      ),
      responseSignatureVerifies: sig ? verifySignature(KEY, text, sig) : null,
      body: text,
    },
    standIn: standIn.requests.slice(standInBefore),
  };
  captures.push(cap);
  return cap;
}

const event = (name, data = {}) => ({
  id: `01JEVT${name.replace(/[^a-z]/gi, "").toUpperCase().padEnd(20, "0").slice(0, 20)}`,
  name,
  data,
  ts: 1700000000000,
  user: {},
  v: "2021-12-11.1",
});

function callBody(fn, { ev, events, steps = {}, stack, attempt = 0, maxAttempts = 4, stepId = "step", die = false } = {}) {
  const e = ev ?? event(`test/${fn}`);
  const st = stack ?? Object.keys(steps);
  return {
    event: e,
    events: events ?? [e],
    steps,
    version: 2,
    use_api: false,
    ctx: {
      fn_id: `00000000-0000-0000-0000-${sha1(fn).slice(0, 12)}`,
      run_id: RUN_ID,
      env: "",
      step_id: stepId,
      attempt,
      max_attempts: maxAttempts,
      stack: { stack: st, current: st.length },
      disable_immediate_execution: die,
      use_api: false,
    },
  };
}

const label = (hash) => Object.entries(H).find(([, v]) => v === hash)?.[0] ?? hash;

async function call(fn, title, opts = {}) {
  const stepId = opts.stepId ?? "step";
  const body = callBody(fn, opts);
  const memo = Object.entries(body.steps).map(([k, v]) => `${label(k)}=${JSON.stringify(v)}`);
  const summary = [
    `stepId=${stepId === "step" ? "step" : `<${label(stepId)}>`}`,
    `attempt=${body.ctx.attempt}/${body.ctx.max_attempts}`,
    `stack=[${body.ctx.stack.stack.map(label).join(", ")}]`,
    memo.length ? `steps: ${memo.join("; ")}` : "steps: {}",
    body.ctx.disable_immediate_execution ? "disable_immediate_execution=true" : null,
    opts.events && opts.events.length > 1 ? `events: ${opts.events.length}` : null,
    body.event.name !== `test/${fn}` ? `event: ${body.event.name}` : null,
  ].filter(Boolean).join(", ");
  return send({
    title,
    method: "POST",
    query: `?fnId=conformance-${opts.fnSuffix ? fn + opts.fnSuffix : fn}&stepId=${stepId}`,
    body,
    reqSummary: summary,
    note: opts.note,
  });
}

// ---------------------------------------------------------------- scenarios
section = "Introspection, sync, trust probe, auth";
await send({ title: "GET introspection, unsigned", method: "GET", sign: null });
await send({ title: "GET introspection, signed (signature over empty body)", method: "GET" });
await send({ title: "GET introspection, signed with the wrong key", method: "GET", sign: WRONG_KEY });
await send({
  title: "PUT in-band sync (x-inngest-sync-kind: in_band, signed {url})",
  method: "PUT",
  body: { url: BASE },
  headers: { "x-inngest-sync-kind": "in_band", "x-inngest-server-kind": "cloud" },
});
await send({
  title: "PUT in-band sync, unsigned",
  method: "PUT",
  body: { url: BASE },
  headers: { "x-inngest-sync-kind": "in_band" },
  sign: null,
});
await send({
  title: "PUT out-of-band sync (no sync-kind header, body {url}, X-Inngest-Server-Kind: cloud, unsigned)",
  method: "PUT",
  body: { url: BASE },
  headers: { "x-inngest-server-kind": "cloud" },
  sign: null,
});
await send({
  title: "PUT out-of-band sync, empty body, no headers",
  method: "PUT",
  sign: null,
});
await send({
  title: "PUT out-of-band sync, SIGNED body {url}, X-Inngest-Server-Kind: cloud",
  method: "PUT",
  body: { url: BASE },
  headers: { "x-inngest-server-kind": "cloud" },
  note: "Same as above but signed: with a valid signature the SDK keeps its X-Inngest-* headers and signs the reply.",
});
standIn.setRegisterReply(500, { error: "register failed (stand-in)" });
await send({
  title: "PUT out-of-band sync, /fn/register answers HTTP 500 {error} (no status field)",
  method: "PUT",
  body: { url: BASE },
  headers: { "x-inngest-server-kind": "cloud" },
  note: "The TS SDK takes the reply status from the register response BODY's `status` field (default 200), not from the HTTP status.",
});
standIn.setRegisterReply(500, { status: 500, error: "register failed (stand-in)" });
await send({
  title: "PUT out-of-band sync, /fn/register answers HTTP 500 {status:500,error}",
  method: "PUT",
  body: { url: BASE },
  headers: { "x-inngest-server-kind": "cloud" },
});
standIn.setRegisterReply(401, "unauthorized");
await send({
  title: "PUT out-of-band sync, /fn/register answers HTTP 401 with a non-JSON body",
  method: "PUT",
  body: { url: BASE },
  headers: { "x-inngest-server-kind": "cloud" },
});
standIn.setRegisterReply(null);
await send({
  title: "POST ?probe=trust, signed, body {}",
  method: "POST",
  query: "?probe=trust",
  body: {},
});
await send({
  title: "POST ?probe=trust, unsigned, body {}",
  method: "POST",
  query: "?probe=trust",
  body: {},
  sign: null,
});
await send({ title: "POST ?probe=trust, signed, empty body", method: "POST", query: "?probe=trust" });
await send({ title: "POST ?probe=trust, unsigned, empty body", method: "POST", query: "?probe=trust", sign: null });
await send({ title: "POST ?probe=trust, wrong key, body {}", method: "POST", query: "?probe=trust", body: {}, sign: WRONG_KEY });
await send({
  title: "POST execute, unsigned",
  method: "POST",
  query: "?fnId=conformance-hello&stepId=step",
  body: callBody("hello", { ev: event("test/hello", { name: "world" }) }),
  sign: null,
});
{
  const raw = canonicalize(callBody("hello", { ev: event("test/hello", { name: "world" }) }));
  const old = Math.floor(Date.now() / 1000) - 600;
  await send({
    title: "POST execute, expired signature (t = now - 600)",
    method: "POST",
    query: "?fnId=conformance-hello&stepId=step",
    body: raw,
    headers: { "x-inngest-signature": signBody(KEY, raw, old) },
    sign: null,
  });
}
await send({
  title: "POST execute, body NOT canonical (keys unsorted) but correctly signed over those bytes",
  method: "POST",
  query: "?fnId=conformance-hello&stepId=step",
  body: JSON.stringify({
    version: 2,
    event: event("test/hello", { name: "world" }),
    ...(({ version, event: _e, ...rest }) => rest)(callBody("hello", { ev: event("test/hello", { name: "world" }) })),
  }),
  note: "The TS SDK JSON-parses the body and re-canonicalises it (JCS) before computing the HMAC.",
});
await send({
  title: "POST execute, unknown fnId",
  method: "POST",
  query: "?fnId=conformance-nope&stepId=step",
  body: callBody("nope"),
});
await send({
  title: "POST execute, event name not among the function's triggers",
  method: "POST",
  query: "?fnId=conformance-sequence&stepId=step",
  body: callBody("sequence", { ev: event("test/hello", { name: "x" }) }),
});
await send({ title: "DELETE (other method)", method: "DELETE", sign: null });

section = "hello";
await call("hello", "first call", { ev: event("test/hello", { name: "world" }) });

section = "sequence";
await call("sequence", "first call");
await call("sequence", "'first' memoized", { steps: { [H.first]: { data: 1 } } });
await call("sequence", "'first','second' memoized", {
  steps: { [H.first]: { data: 1 }, [H.second]: { data: 2 } },
});
await call("sequence", "all three memoized", {
  steps: { [H.first]: { data: 1 }, [H.second]: { data: 2 }, [H["first:1"]]: { data: 10 } },
});

section = "sleeper";
await call("sleeper", "first call");
await call("sleeper", "'nap' memoized as null", { steps: { [H.nap]: null } });
await call("sleeper", "'nap','until' memoized as null", { steps: { [H.nap]: null, [H.until]: null } });

section = "waiter";
const wev = event("test/waiter", { id: "abc" });
await call("waiter", "first call", { ev: wev });
await call("waiter", "memoized null (timeout)", { ev: wev, steps: { [H["wait-approval"]]: null } });
await call("waiter", "memoized as the matching event", {
  ev: wev,
  steps: { [H["wait-approval"]]: event("test/approved", { id: "abc" }) },
});
await call("waiter", "memoized as {data: <event>}", {
  ev: wev,
  steps: { [H["wait-approval"]]: { data: event("test/approved", { id: "abc" }) } },
});

await call("waiter", "memoized as {error}", {
  ev: wev,
  steps: { [H["wait-approval"]]: { error: { name: "Error", message: "wait failed", stack: "" } } },
});

section = "invoker";
await call("invoker", "first call");
await call("invoker", "memoized {data}", {
  steps: { [H["call-hello"]]: { data: { greeting: "hello inv" } } },
});
await call("invoker", "memoized {error}", {
  steps: {
    [H["call-hello"]]: { error: { name: "Error", message: "invoked function failed", stack: "" } },
  },
});
await call("invoker", "memoized null", { steps: { [H["call-hello"]]: null } });

section = "parallel";
await call("parallel", "first call");
await call("parallel", "planned-step callback stepId=<left>", {
  stepId: H.left,
  die: true,
});
await call("parallel", "planned-step callback stepId=<right>, left memoized", {
  stepId: H.right,
  steps: { [H.left]: { data: "L" } },
  die: true,
});
await call("parallel", "both memoized", {
  steps: { [H.left]: { data: "L" }, [H.right]: { data: "R" } },
  die: true,
});
await call("parallel", "both memoized, stack order right,left", {
  steps: { [H.left]: { data: "L" }, [H.right]: { data: "R" } },
  stack: [H.right, H.left],
  die: true,
});

section = "racer";
await call("racer", "first call");
await call("racer", "planned-step callback stepId=<fast>", { stepId: H.fast, die: true });
await call("racer", "'fast' memoized", { steps: { [H.fast]: { data: "F" } }, die: true });
await call("racer", "'slow' memoized only", { steps: { [H.slow]: { data: "S" } }, die: true });
await call("racer", "both memoized (stack fast, slow)", {
  steps: { [H.fast]: { data: "F" }, [H.slow]: { data: "S" } },
  die: true,
});

section = "flaky (retries: 2 → max_attempts 3)";
await call("flaky", "attempt 0 of 3", { maxAttempts: 3 });
await call("flaky", "attempt 1 of 3", { attempt: 1, maxAttempts: 3 });
await call("flaky", "attempt 2 of 3 (last)", { attempt: 2, maxAttempts: 3 });
await call("flaky", "'boom' memoized as {error}", {
  maxAttempts: 3,
  steps: { [H.boom]: { error: { name: "Error", message: "kaboom", stack: "Error: kaboom" } } },
});
await call("flaky", "planned-step callback stepId=<boom>, attempt 0", {
  stepId: H.boom,
  maxAttempts: 3,
});

section = "fatal";
await call("fatal", "first call (attempt 0)");
await call("fatal", "'fatal-step' memoized as {error} (NonRetriableError)", {
  steps: {
    [H["fatal-step"]]: {
      error: { name: "NonRetriableError", message: "no way", stack: "NonRetriableError: no way" },
    },
  },
});

section = "body-error";
await call("body-error", "first call");

section = "retry-later";
await call("retry-later", "first call");
await call("retry-later", "last attempt (3 of 4)", { attempt: 3 });

section = "plain-error";
await call("plain-error", "first call (attempt 0)");
await call("plain-error", "last attempt (3 of 4)", { attempt: 3 });

section = "signal";
await call("signal", "first call");
await call("signal", "memoized null (timeout)", { steps: { [H["wait-signal"]]: null } });
await call("signal", "memoized {data:{signal,data}}", {
  steps: { [H["wait-signal"]]: { data: { signal: "sig-123", data: { ok: 1 } } } },
});

section = "sender";
await call("sender", "first call", {
  note: "step.sendEvent runs inline: the SDK POSTs to {INNGEST_BASE_URL}/e/test-event-key (see stand-in request).",
});
await call("sender", "memoized {data:{ids}}", {
  steps: { [H["send-followup"]]: { data: { ids: ["evt-1"] } } },
});

section = "ai";
await call("ai", "first call");
await call("ai", "memoized {data}", {
  steps: {
    [H.summarize]: {
      data: { choices: [{ message: { role: "assistant", content: "summary" } }] },
    },
  },
});

section = "configured";
const cev = event("test/configured", { ok: true, k: "k1", id: "i1", p: 0 });
await call("configured", "first call", { ev: cev, maxAttempts: 6 });
await call("configured", "'only' memoized", {
  ev: cev,
  maxAttempts: 6,
  steps: { [H.only]: { data: "ok" } },
});
await call("configured", "cron trigger (inngest/scheduled.timer)", {
  ev: event("inngest/scheduled.timer", { cron: "TZ=Europe/Paris 0 9 * * *" }),
  maxAttempts: 6,
});
await call("configured", "onFailure handler conformance-configured-failure", {
  fnSuffix: "-failure",
  ev: event("inngest/function.failed", {
    function_id: "conformance-configured",
    run_id: RUN_ID,
    error: { name: "Error", message: "boom", stack: "Error: boom" },
    event: cev,
  }),
});

section = "batched";
const bevs = [1, 2, 3].map((n) => ({ ...event("test/batched", { n }), id: `01JEVTBATCH${n}`.padEnd(26, "0") }));
await call("batched", "3 events", { ev: bevs[0], events: bevs });

section = "debounced";
await call("debounced", "first call");

section = "singleton-fn";
await call("singleton-fn", "first call");

// ------------------------------------------------ encryption middleware on the wire
// A second, in-process app (NOT part of conformance-server.mjs) with
// encryptionMiddleware({key: "enc-key"}) to confirm what gets encrypted.
{
  const { Inngest, referenceFunction } = await import("inngest");
  const { serve } = await import("inngest/node");
  const { encryptionMiddleware } = await import("@inngest/middleware-encryption");
  const { decrypt } = await import("./encryption.mjs");
  const http = await import("node:http");
  const quiet = { info() {}, warn() {}, error() {}, debug() {} };
  const enc = new Inngest({
    id: "enc",
    isDev: false,
    signingKey: KEY,
    eventKey: "test-event-key",
    baseUrl: standIn.url,
    checkpointing: false,
    logger: quiet,
    internalLogger: quiet,
    middleware: [encryptionMiddleware({ key: "enc-key" })],
  });
  const fns = [
    enc.createFunction({ id: "steps", triggers: [{ event: "test/enc" }] }, async ({ step, event }) => {
      const a = await step.run("obj", () => ({ secret: event.data.encrypted }));
      const b = await step.run("nothing", () => null);
      const c = await step.run("str", () => "plain string");
      return { a, b, c };
    }),
    enc.createFunction({ id: "null-out", triggers: [{ event: "test/enc" }] }, async () => null),
    enc.createFunction({ id: "send", triggers: [{ event: "test/enc" }] }, async ({ step }) =>
      step.sendEvent("send-enc", { name: "test/followup", data: { public: 1, encrypted: { s: "x" } } }),
    ),
    enc.createFunction({ id: "invoke", triggers: [{ event: "test/enc" }] }, async ({ step }) =>
      step.invoke("inv", { function: referenceFunction({ functionId: "null-out" }), data: { public: 1, encrypted: { s: "x" } } }),
    ),
  ];
  const h = serve({ client: enc, functions: fns });
  const srv = http.createServer((req, res) => h(req, res));
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const encBase = `http://127.0.0.1:${srv.address().port}/api/inngest`;
  const encEnvelope = {
    __ENCRYPTED__: true,
    __STRATEGY__: "inngest/libsodium",
    data: (await (await import("./encryption.mjs")).encrypt("enc-key", { card: "4242" })).data,
  };
  const ev = event("test/enc", { public: "p", encrypted: encEnvelope });
  const encCall = async (fn, title, steps = {}) => {
    const body = canonicalize({ ...callBody(fn, { ev, steps }), ctx: { ...callBody(fn, { ev, steps }).ctx } });
    const before = standIn.requests.length;
    const r = await fetch(`${encBase}?fnId=enc-${fn}&stepId=step`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-inngest-signature": signBody(KEY, body) },
      body,
    });
    const text = await r.text();
    await new Promise((res) => setTimeout(res, 50));
    let decrypted = null;
    try {
      const parsed = JSON.parse(text);
      const unwrap = async (v) => (v && typeof v === "object" && "__ENCRYPTED__" in v ? await decrypt(v, ["enc-key"]) : v);
      decrypted = Array.isArray(parsed)
        ? await Promise.all(parsed.map(async (op) => ({ id: label(op.id), op: op.op, data: await unwrap(op.data), opts: op.opts })))
        : await unwrap(parsed);
    } catch {}
    captures.push({
      section: "encryption middleware (separate in-process app `enc`, key \"enc-key\")",
      title,
      note: "Event data carries `encrypted` as a libsodium envelope of {\"card\":\"4242\"}; `decrypted view` = the response with envelopes opened by encryption.mjs.",
      request: { method: "POST", url: `/api/inngest?fnId=enc-${fn}&stepId=step`, headers: { "x-inngest-signature": "(signed)" }, summary: `steps: ${Object.keys(steps).map(label).join(", ") || "{}"}`, body },
      response: {
        status: r.status,
        headers: Object.fromEntries(["x-inngest-sdk", "x-inngest-no-retry", "content-type"].filter((k) => r.headers.get(k) !== null).map((k) => [k, r.headers.get(k)])),
        otherHeaders: {},
        responseSignatureVerifies: null,
        body: text,
        decrypted,
      },
      standIn: standIn.requests.slice(before),
    });
  };
  for (const id of ["obj", "nothing", "str", "send-enc", "inv"]) H[id] = sha1(id);
  await encCall("steps", "first call: step 'obj' returns {secret: event.data.encrypted}");
  const objOut = JSON.parse(captures.at(-1).response.body)[0].data;
  await encCall("steps", "'obj' memoized (as the envelope the SDK returned)", { [H.obj]: { data: objOut } });
  await encCall("steps", "'obj','nothing' memoized", { [H.obj]: { data: objOut }, [H.nothing]: { data: null } });
  await encCall("steps", "all memoized (function output)", {
    [H.obj]: { data: objOut },
    [H.nothing]: { data: null },
    [H.str]: { data: (await (await import("./encryption.mjs")).encrypt("enc-key", "plain string")) },
  });
  await encCall("null-out", "function returning null");
  await encCall("send", "step.sendEvent with data.encrypted");
  await encCall("invoke", "step.invoke with data.encrypted");
  await new Promise((r) => srv.close(r));
}

// ---------------------------------------------------------------- shutdown
child.kill("SIGTERM");
await new Promise((r) => child.once("exit", r));
await standIn.close();

// ---------------------------------------------------------------- render
const subst = (s) =>
  typeof s === "string"
    ? s
        .split(`127.0.0.1:${port}`).join("127.0.0.1:<PORT>")
        .split(`127.0.0.1:${standIn.port}`).join("127.0.0.1:<STANDIN>")
        .split(here).join("<ts-sdk>")
    : s;
const deep = (v) => JSON.parse(subst(JSON.stringify(v)));
const clean = captures.map(deep);

fs.writeFileSync(
  OUT_JSON,
  JSON.stringify(
    { sdk: "inngest@" + JSON.parse(fs.readFileSync(path.join(here, "node_modules/inngest/package.json"))).version, signingKey: KEY, captures: clean },
    null,
    2,
  ) + "\n",
);

const fence = (lang, s) => {
  const ticks = s.includes("```") ? "````" : "```";
  return `${ticks}${lang}\n${s}\n${ticks}`;
};
// Readable form: one top-level key (or array element) per line; long arrays of
// objects (functions, ops) one element per line.
const pretty = (s) => {
  let v;
  try {
    v = JSON.parse(s);
  } catch {
    return null;
  }
  const line = (x) =>
    Array.isArray(x) && x.length > 1 && x.every((e) => e && typeof e === "object")
      ? "[\n" + x.map((e) => "    " + JSON.stringify(e)).join(",\n") + "\n  ]"
      : JSON.stringify(x);
  if (Array.isArray(v)) return "[\n" + v.map((e) => "  " + JSON.stringify(e)).join(",\n") + "\n]";
  if (v && typeof v === "object")
    return "{\n" + Object.entries(v).map(([k, x]) => `  ${JSON.stringify(k)}: ${line(x)}`).join(",\n") + "\n}";
  return null;
};
const hdrTable = (h) =>
  Object.entries(h)
    .map(([k, v]) => `| \`${k}\` | \`${v}\` |`)
    .join("\n");

let md = "";
let cur = null;
const seenBodies = new Map();
// Long bodies that were already shown once are referenced instead of repeated.
const bodyBlock = (body, where) => {
  if (body.length > 2000) {
    const first = seenBodies.get(body);
    if (first) return `body: identical to ${first}\n`;
    seenBodies.set(body, where);
  }
  let out = "body (exact):\n\n" + fence("json", body) + "\n";
  const p = pretty(body);
  if (p && body.length > 160 && p !== body) out += "\n<details><summary>pretty</summary>\n\n" + fence("json", p) + "\n\n</details>\n";
  return out;
};
for (const c of clean) {
  if (c.section !== cur) {
    cur = c.section;
    md += `\n## ${cur}\n`;
  }
  md += `\n### ${cur === c.title ? "" : ""}${c.title}\n\n`;
  const rq = c.request;
  md += `**Request:** \`${rq.method} ${rq.url}\``;
  const rqh = Object.entries(rq.headers)
    .map(([k, v]) => (k === "x-inngest-signature" ? `${k}: (signed)` : `${k}: ${v}`));
  if (rqh.length) md += ` — headers: ${rqh.join("; ")}`;
  md += "\n";
  if (rq.summary) md += `\n${rq.summary}\n`;
  if (rq.body !== undefined && !rq.summary) md += `\nbody: \`${rq.body.length > 300 ? rq.body.slice(0, 300) + "…" : rq.body}\`\n`;
  if (c.note) md += `\n> ${c.note}\n`;
  const rs = c.response;
  md += `\n**Response: ${rs.status}**`;
  if (rs.responseSignatureVerifies !== null) {
    md += ` (response signature ${rs.responseSignatureVerifies ? "verifies" : "DOES NOT verify"} against the exact body with the signing key)`;
  }
  md += "\n\n| header | value |\n|---|---|\n" + hdrTable(rs.headers) + "\n";
  const other = Object.keys(rs.otherHeaders);
  if (other.length) md += `\nother headers: ${other.map((k) => `\`${k}: ${rs.otherHeaders[k]}\``).join(", ")}\n`;
  md += "\n" + bodyBlock(rs.body, `the response body of «${c.title}»`);
  if (rs.decrypted !== undefined && rs.body.includes("__ENCRYPTED__")) {
    md += "\ndecrypted view:\n\n" + fence("json", JSON.stringify(rs.decrypted)) + "\n";
  }
  for (const r of c.standIn) {
    md += `\n**→ SDK request to the stand-in:** \`${r.method} ${r.url}\`\n\n`;
    const hh = Object.entries(r.headers).filter(([k]) => !["host", "connection", "content-length", "accept-encoding", "accept-language", "sec-fetch-mode", "accept"].includes(k));
    md += "| header | value |\n|---|---|\n" + hh.map(([k, v]) => `| \`${k}\` | \`${v}\` |`).join("\n") + "\n\n";
    md += bodyBlock(r.body, `the ${r.url.split("?")[0]} body under «${c.title}»`);
  }
}

const header = `# Wire captures: official TypeScript SDK (inngest@${JSON.parse(fs.readFileSync(path.join(here, "node_modules/inngest/package.json"))).version})

Generated by \`node capture.mjs\` (do not hand-edit; re-run to refresh). Server: \`conformance-server.mjs\`
(client id \`conformance\`, cloud mode, \`checkpointing: false\`, event key \`test-event-key\`,
\`INNGEST_BASE_URL\` = a local stand-in (\`stand-in.mjs\`)). Signing key: the public inngest-rs test
vector \`${KEY}\`.

Notation: \`127.0.0.1:<PORT>\` = the TS server, \`127.0.0.1:<STANDIN>\` = the stand-in,
\`<ts-sdk>\` = this directory (in stack traces). Request bodies are JCS-canonical JSON (as the
executor sends them) and signed with \`t=now\`. Every call uses run id \`${RUN_ID}\`, events with
\`ts: 1700000000000\`; \`stack\` lists the memoized step hashes in the order shown. Step-id hashes
(SHA-1 hex) used below:

${Object.entries(H).map(([k, v]) => `- \`${k}\` → \`${v}\``).join("\n")}

Time-dependent values (\`x-inngest-signature\`, \`server-timing\`, stack traces) differ per run.
Machine-readable copy: \`captures.json\`. How to drive the server (JCS bodies, signed GET, probe body): \`README.md\`.
`;

fs.writeFileSync(OUT, header + md);
process.stderr.write(`wrote ${OUT} and ${OUT_JSON} (${captures.length} captures)\n`);
if (process.env.CAPTURE_SERVER_STDERR) fs.writeFileSync(process.env.CAPTURE_SERVER_STDERR, serverStderr);
