// The store in a real browser: the home page arrives server-rendered, the wasm client hydrates
// it (the quantity stepper starts responding to clicks), and nothing logs an error.
//
// Needs SWAG_STORE_BIN (the built server) and SITE_ROOT (the built site dir); scripts/e2e sets
// both after building. CHROMIUM overrides /usr/bin/chromium.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { launchBrowser, recordProblems } from "./browser.mjs";
import { startServer } from "./server.mjs";

const HYDRATION_TIMEOUT_MS = 30_000;
const RESULTS_DIR = new URL("../test-results/", import.meta.url).pathname;

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through scripts/e2e`);
  return value;
}

let server;
let browser;

before(async () => {
  server = await startServer({
    binary: requiredEnv("SWAG_STORE_BIN"),
    siteRoot: requiredEnv("SITE_ROOT"),
  });
  browser = await launchBrowser(process.env.CHROMIUM ?? "/usr/bin/chromium");
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("home page is server-rendered, hydrates, and logs no errors", async () => {
  const page = await browser.context.newPage();
  const problems = recordProblems(page);
  const bundleResponses = [];
  page.on("response", (response) => {
    if (new URL(response.url()).pathname.startsWith("/pkg/")) bundleResponses.push(response);
  });

  const response = await page.goto(`${server.url}/`);

  // What the server sent, before any script ran.
  assert.equal(response.status(), 200);
  const html = await response.text();
  assert.match(html, /<h1>Swag that ships through durable functions\.<\/h1>/);
  assert.match(html, /<script type="module"/);
  assert.match(html, /href="\/pkg\/swag-store-[0-9a-f]{16}\.js"/);
  assert.match(html, /href="\/pkg\/swag-store-[0-9a-f]{16}_bg\.wasm"/);
  assert.match(html, /<output data-testid="quantity"[^>]*>1<\/output>/);
  assert.match(html, /<button[^>]*aria-label="Increase quantity"[^>]*disabled/);
  assert.equal(await page.title(), "Home · Inngest Swag Store");

  // Hydration: the buttons enable only once the wasm client runs.
  const quantity = page.getByTestId("quantity");
  const increase = page.getByRole("button", { name: "Increase quantity" });
  const decrease = page.getByRole("button", { name: "Decrease quantity" });
  await increase.click({ timeout: HYDRATION_TIMEOUT_MS });
  await increase.click();
  assert.equal(await quantity.textContent(), "3");
  await decrease.click();
  assert.equal(await quantity.textContent(), "2");
  await decrease.click();
  assert.equal(await quantity.textContent(), "1");
  assert.equal(await decrease.isDisabled(), true, "− is disabled at the minimum");

  // The bundle came from /pkg with its content type and a long cache lifetime.
  const wasm = bundleResponses.find((r) => r.url().endsWith("_bg.wasm"));
  assert.ok(wasm, `the page fetched a wasm module (saw ${bundleResponses.map((r) => r.url())})`);
  assert.equal(await wasm.headerValue("content-type"), "application/wasm");
  assert.match((await wasm.headerValue("cache-control")) ?? "", /max-age=31536000, immutable/);

  await mkdir(RESULTS_DIR, { recursive: true });
  await page.screenshot({ path: join(RESULTS_DIR, "home.png"), fullPage: true });

  assert.deepEqual(problems, [], "no console errors, exceptions or failed requests");
});
