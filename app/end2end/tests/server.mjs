// Starts the built store server on a port the OS picks, with a fresh SQLite database, and
// stops it again. `env` adds or overrides variables (e.g. Stripe pointed at a stand-in).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const READY = /listening on (http:\/\/127\.0\.0\.1:\d+)/;
const STARTUP_TIMEOUT_MS = 30_000;

/**
 * Runs `binary` (the swag-store server) against `siteRoot`; resolves once it logs its URL.
 * `waitForLog(pattern)` resolves once the server's output (from the start) matches `pattern`.
 * @returns {Promise<{ url: string, stop: () => Promise<void>, waitForLog: (pattern: RegExp, timeoutMs?: number) => Promise<string> }>}
 */
export function startServer({ binary, siteRoot, env = {} }) {
  // Every run starts from the seed catalog and no orders.
  const dataDir = mkdtempSync(join(tmpdir(), "swag-store-e2e-"));
  const child = spawn(binary, [], {
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${join(dataDir, "store.db")}?mode=rwc`,
      HOST: "127.0.0.1",
      PORT: "0",
      APP_URL: "",
      SITE_ROOT: siteRoot,
      // Hermetic: the embedded executor, and no payments (checkout answers 503).
      INNGEST_DEV: "",
      INNGEST_EVENT_KEY: "",
      STRIPE_SECRET_KEY: "",
      NO_COLOR: "1",
      RUST_LOG: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const stopped = new Promise((resolve) => child.once("exit", resolve)).then(() =>
    rmSync(dataDir, { recursive: true, force: true }),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
    }
    await stopped;
  };

  const waitForLog = async (pattern, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = log.match(pattern);
      if (found) return found[0];
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the server did not log ${pattern} within ${timeoutMs} ms:\n${log}`);
  };

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`server did not report its URL within ${STARTUP_TIMEOUT_MS} ms:\n${log}`));
    }, STARTUP_TIMEOUT_MS);
    const onOutput = (chunk) => {
      log += chunk;
      const ready = log.match(READY);
      if (ready) {
        clearTimeout(timer);
        resolve({ url: ready[1], stop, waitForLog });
      }
    };
    child.stdout.setEncoding("utf8").on("data", onOutput);
    child.stderr.setEncoding("utf8").on("data", onOutput);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${binary}: ${error.message}`));
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${signal ?? code}) before it was ready:\n${log}`));
    });
  });
}
