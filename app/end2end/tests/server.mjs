// Starts the built store server on a port the OS picks and stops it again.
import { spawn } from "node:child_process";

const READY = /listening on (http:\/\/127\.0\.0\.1:\d+)/;
const STARTUP_TIMEOUT_MS = 30_000;

/**
 * Runs `binary` (the swag-store server) against `siteRoot`; resolves once it logs its URL.
 * @returns {Promise<{ url: string, stop: () => Promise<void> }>}
 */
export function startServer({ binary, siteRoot }) {
  const child = spawn(binary, [], {
    env: {
      ...process.env,
      HOST: "127.0.0.1",
      PORT: "0",
      APP_URL: "",
      SITE_ROOT: siteRoot,
      NO_COLOR: "1",
      RUST_LOG: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const stopped = new Promise((resolve) => child.once("exit", resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
    }
    await stopped;
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
        resolve({ url: ready[1], stop });
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
