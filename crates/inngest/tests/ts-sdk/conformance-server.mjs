// Differential-test server: the official TypeScript SDK (npm `inngest` 4.x)
// serving a fixed set of functions on http://127.0.0.1:$PORT/api/inngest.
//
// Env:
//   PORT                 port to listen on (0 = pick a free one; default 0)
//   INNGEST_SIGNING_KEY  signing key (required; cloud mode verifies signatures)
//   INNGEST_BASE_URL     API + event API origin (the Rust test's local stand-in)
//
// Once listening it prints exactly one stdout line: {"port": <n>}
// Everything else the SDK logs goes to stderr (see `logger` below).
//
// The functions mirror the ones the Rust crate's differential test defines.
// Client: id "conformance", cloud mode, checkpointing OFF, so that it answers
// with the classic 200/206 shape (reference §9) rather than RunComplete ops.

import http from "node:http";
import {
  Inngest,
  NonRetriableError,
  RetryAfterError,
  referenceFunction,
  openai,
} from "inngest";
import { serve } from "inngest/node";

const signingKey = process.env.INNGEST_SIGNING_KEY;
if (!signingKey) {
  process.stderr.write("INNGEST_SIGNING_KEY is required\n");
  process.exit(2);
}
const baseUrl = process.env.INNGEST_BASE_URL || "http://127.0.0.1:9";

// All SDK logging goes to stderr so stdout carries only the port line.
const toStderr =
  (level) =>
  (...args) =>
    process.stderr.write(
      `[${level}] ${args
        .map((a) => (typeof a === "string" ? a : safeJson(a)))
        .join(" ")}\n`,
    );
function safeJson(v) {
  try {
    return v instanceof Error ? `${v.name}: ${v.message}` : JSON.stringify(v);
  } catch {
    return String(v);
  }
}
const logger = {
  info: toStderr("info"),
  warn: toStderr("warn"),
  error: toStderr("error"),
  debug: () => {},
};

export const inngest = new Inngest({
  id: "conformance",
  isDev: false,
  signingKey,
  eventKey: "test-event-key",
  baseUrl,
  checkpointing: false,
  logger,
  internalLogger: logger,
});

const ev = (id) => [{ event: `test/${id}` }];

const hello = inngest.createFunction(
  { id: "hello", triggers: ev("hello") },
  async ({ event }) => ({ greeting: "hello " + event.data.name }),
);

const sequence = inngest.createFunction(
  { id: "sequence", triggers: ev("sequence") },
  async ({ step }) => {
    const a = await step.run("first", () => 1);
    const b = await step.run("second", () => a + 1);
    const c = await step.run("first", () => 10); // repeated id -> "first:1"
    return { a, b, c };
  },
);

const sleeper = inngest.createFunction(
  { id: "sleeper", triggers: ev("sleeper") },
  async ({ step }) => {
    await step.sleep("nap", "2s");
    await step.sleepUntil("until", "2030-01-01T00:00:00Z");
    return "woke";
  },
);

const waiter = inngest.createFunction(
  { id: "waiter", triggers: ev("waiter") },
  async ({ step }) => {
    const got = await step.waitForEvent("wait-approval", {
      event: "test/approved",
      timeout: "1h",
      if: "async.data.id == event.data.id",
    });
    return { approved: got !== null };
  },
);

const invoker = inngest.createFunction(
  { id: "invoker", triggers: ev("invoker") },
  async ({ step }) => {
    const r = await step.invoke("call-hello", {
      // No appId: the SDK joins client.id + "-" + functionId = conformance-hello
      function: referenceFunction({ functionId: "hello" }),
      data: { name: "inv" },
      timeout: "1m",
    });
    return { r };
  },
);

const parallel = inngest.createFunction(
  { id: "parallel", triggers: ev("parallel") },
  async ({ step }) => {
    const [x, y] = await Promise.all([
      step.run("left", () => "L"),
      step.run("right", () => "R"),
    ]);
    return x + y;
  },
);

// Race: group.parallel({ mode: "race" }, ...) tags every step created inside
// the callback with opts.parallelMode = "race".
const racer = inngest.createFunction(
  { id: "racer", triggers: ev("racer") },
  async ({ step, group }) => {
    const winner = await group.parallel({ mode: "race" }, async () =>
      Promise.race([step.run("fast", () => "F"), step.run("slow", () => "S")]),
    );
    return winner;
  },
);

const flaky = inngest.createFunction(
  { id: "flaky", retries: 2, triggers: ev("flaky") },
  async ({ step }) => {
    await step.run("boom", () => {
      throw new Error("kaboom");
    });
  },
);

const fatal = inngest.createFunction(
  { id: "fatal", triggers: ev("fatal") },
  async ({ step }) => {
    await step.run("fatal-step", () => {
      throw new NonRetriableError("no way");
    });
  },
);

const bodyError = inngest.createFunction(
  { id: "body-error", triggers: ev("body-error") },
  async () => {
    throw new NonRetriableError("bad input");
  },
);

const retryLater = inngest.createFunction(
  { id: "retry-later", triggers: ev("retry-later") },
  async () => {
    // 30 seconds, given as a time string (number = ms, Date also allowed)
    throw new RetryAfterError("slow down", "30s");
  },
);

const plainError = inngest.createFunction(
  { id: "plain-error", triggers: ev("plain-error") },
  async () => {
    throw new Error("plain");
  },
);

const signal = inngest.createFunction(
  { id: "signal", triggers: ev("signal") },
  async ({ step }) => {
    // `onConflict` is required by the TS types; "replace" is the non-failing one.
    return await step.waitForSignal("wait-signal", {
      signal: "sig-123",
      timeout: "10m",
      onConflict: "replace",
    });
  },
);

const sender = inngest.createFunction(
  { id: "sender", triggers: ev("sender") },
  async ({ step }) => {
    return await step.sendEvent("send-followup", {
      name: "test/followup",
      data: { n: 1 },
    });
  },
);

const ai = inngest.createFunction(
  { id: "ai", triggers: ev("ai") },
  async ({ step }) => {
    return await step.ai.infer("summarize", {
      model: openai({ model: "gpt-4o-mini", apiKey: "sk-test" }),
      body: { messages: [{ role: "user", content: "hi" }] },
    });
  },
);

const configured = inngest.createFunction(
  {
    id: "configured",
    triggers: [
      { event: "test/configured", if: "event.data.ok == true" },
      { cron: "TZ=Europe/Paris 0 9 * * *" },
    ],
    retries: 5,
    concurrency: [{ limit: 1, key: "event.data.k" }],
    throttle: { limit: 10, period: "1m", key: "event.data.k", burst: 2 },
    rateLimit: { limit: 100, period: "1h", key: "event.data.k" },
    idempotency: "event.data.id",
    priority: { run: "event.data.p" },
    cancelOn: [
      {
        event: "test/cancel",
        if: "async.data.id == event.data.id",
        timeout: "1h",
      },
    ],
    timeouts: { start: "1m", finish: "1h" },
    onFailure: async () => "compensated",
  },
  async ({ step }) => {
    return await step.run("only", () => "ok");
  },
);

const batched = inngest.createFunction(
  {
    id: "batched",
    triggers: [{ event: "test/batched" }],
    batchEvents: { maxSize: 10, timeout: "5s" },
  },
  async ({ events }) => events.length,
);

const debounced = inngest.createFunction(
  {
    id: "debounced",
    triggers: ev("debounced"),
    debounce: { period: "5s", key: "event.data.k", timeout: "1m" },
  },
  async () => "ok",
);

const singletonFn = inngest.createFunction(
  {
    id: "singleton-fn",
    triggers: ev("singleton-fn"),
    singleton: { key: "event.data.k", mode: "skip" },
  },
  async () => "ok",
);

export const functions = [
  hello,
  sequence,
  sleeper,
  waiter,
  invoker,
  parallel,
  racer,
  flaky,
  fatal,
  bodyError,
  retryLater,
  plainError,
  signal,
  sender,
  ai,
  configured,
  batched,
  debounced,
  singletonFn,
];

const handler = serve({ client: inngest, functions });

const server = http.createServer((req, res) => {
  const path = (req.url || "").split("?")[0];
  if (path === "/api/inngest") {
    return handler(req, res);
  }
  res.statusCode = 404;
  res.setHeader("Content-Type", "text/plain");
  res.end("not found");
});

const port = Number.parseInt(process.env.PORT || "0", 10) || 0;
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`{"port": ${server.address().port}}\n`);
});

const shutdown = () => server.close(() => process.exit(0));
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
