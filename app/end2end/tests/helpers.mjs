// What the browser checks share: polling until the page shows something, reading it, and the
// problems a test does not expect.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";

export const HYDRATION_TIMEOUT_MS = 30_000;
export const LIVE_TIMEOUT_MS = 30_000;
const RESULTS_DIR = new URL("../test-results/", import.meta.url).pathname;

export function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through scripts/e2e`);
  return value;
}

/** Polls `read` until `accept(value)` holds; fails with `what` and the last value otherwise. */
export async function eventually(read, accept, what, timeoutMs = LIVE_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await read();
    if (accept(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`${what} (last seen: ${JSON.stringify(last)})`);
}

export const text = (locator) => async () => ((await locator.count()) ? locator.first().textContent() : null);
export const attribute = (locator, name) => async () =>
  (await locator.count()) ? locator.first().getAttribute(name) : null;

/** Problems other than the ones a test expects. Closing a live stream (leaving or reloading a
 * page) aborts its request; that is not an error. */
export function unexpected(problems, expected = []) {
  return problems.filter(
    (problem) =>
      !/request failed: \S*\/api\/realtime\/\S* \(net::ERR_ABORTED\)/.test(problem) &&
      !expected.some((pattern) => pattern.test(problem)),
  );
}

export async function screenshot(page, name) {
  await mkdir(RESULTS_DIR, { recursive: true });
  await page.screenshot({ path: join(RESULTS_DIR, `${name}.png`), fullPage: true });
}
