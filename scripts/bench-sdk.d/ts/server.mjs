// Benchmark server for the official Inngest TypeScript SDK (npm `inngest`, pinned in
// package.json / package-lock.json). Used by scripts/bench-sdk.
//
// App `bench`, function `steps` (wire id `bench-steps`), trigger `bench/steps`: reads
// n = event.data.n and runs step.run(`step-${i}`) for i in 0..=n, each returning i.
// Checkpointing is off so an execution request answers 206 with one StepRun op (the Go
// SDK's shape) instead of running everything inline and reporting through the API.
//
// Env: PORT (default 0 = any free port). Cloud mode (INNGEST_DEV must be unset) with
// INNGEST_SIGNING_KEY, so every request's X-Inngest-Signature is verified.
// Prints {"port":N} on stdout once listening on 127.0.0.1.
import http from "node:http";
import { Inngest } from "inngest";
import { serve } from "inngest/node";

if (process.env.INNGEST_DEV && process.env.INNGEST_DEV !== "0") {
  console.error("server.mjs: unset INNGEST_DEV, the benchmark runs the SDK in cloud mode");
  process.exit(2);
}
if (!process.env.INNGEST_SIGNING_KEY) {
  console.error("server.mjs: INNGEST_SIGNING_KEY is required (cloud mode verifies signatures)");
  process.exit(2);
}

const inngest = new Inngest({
  id: "bench",
  isDev: false,
  checkpointing: false,
  logger: { info() {}, warn() {}, error: console.error, debug() {} },
});

const steps = inngest.createFunction(
  { id: "steps", triggers: [{ event: "bench/steps" }], checkpointing: false },
  async ({ event, step }) => {
    const n = Number(event.data.n);
    let last = 0;
    for (let i = 0; i <= n; i++) {
      last = await step.run(`step-${i}`, () => i);
    }
    return last;
  },
);

const handler = serve({ client: inngest, functions: [steps], servePath: "/api/inngest" });

const server = http.createServer((req, res) => {
  if (req.url === "/api/inngest" || req.url.startsWith("/api/inngest?")) {
    return handler(req, res);
  }
  res.statusCode = 404;
  res.end("not found\n");
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
