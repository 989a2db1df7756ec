// The store in a real browser: pages arrive server-rendered, the wasm client hydrates them, a
// shopper fills a cart that survives a reload and reaches checkout, and an order placed through
// the event API shows up live — step by step on its order page, on /admin, and in the stock on
// the home page — without reloading. Nothing may log an error.
//
// Needs SWAG_STORE_BIN (the built server) and SITE_ROOT (the built site dir); scripts/e2e sets
// both after building. CHROMIUM overrides /usr/bin/chromium.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchBrowser, recordProblems } from "./browser.mjs";
import {
  attribute,
  eventually,
  HYDRATION_TIMEOUT_MS,
  requiredEnv,
  screenshot,
  text,
  unexpected,
} from "./helpers.mjs";
import { startServer } from "./server.mjs";

const FULFILMENT_FUNCTION = "inngest-swag-store-fulfill-order";
const ORDER_ID = "ord_e2etest1";

/** Opens `path` and waits until its live stream is connected. */
async function openLive(path) {
  const page = await browser.context.newPage();
  const problems = recordProblems(page);
  const streaming = page.waitForResponse((r) => new URL(r.url()).pathname.startsWith("/api/realtime/"), {
    timeout: HYDRATION_TIMEOUT_MS,
  });
  const response = await page.goto(`${server.url}${path}`);
  assert.equal(response.status(), 200, `${path} answers 200`);
  await streaming;
  // Cleared by any reload or full navigation.
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  return { page, problems };
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

test("the home page is server-rendered with stock badges and loads the client bundle", async () => {
  const page = await browser.context.newPage();
  const problems = recordProblems(page);
  const bundleResponses = [];
  page.on("response", (response) => {
    if (new URL(response.url()).pathname.startsWith("/pkg/")) bundleResponses.push(response);
  });

  // Registered before navigating: a fast client (the release build) subscribes before `goto`
  // returns.
  const subscribed = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/realtime/admin", {
    timeout: HYDRATION_TIMEOUT_MS,
  });
  const response = await page.goto(`${server.url}/`);

  // What the server sent, before any script ran.
  assert.equal(response.status(), 200);
  const html = await response.text();
  assert.match(html, /<h1>Swag that ships through durable functions\.<\/h1>/);
  assert.match(html, /data-testid="stock-durable-tee"[^>]*>120 IN STOCK</);
  assert.match(html, /href="\/products\/retry-socks"/);
  assert.match(html, /<script type="module"/);
  assert.match(html, /href="\/pkg\/swag-store-[0-9a-f]{16}\.js"/);
  assert.match(html, /href="\/pkg\/swag-store-[0-9a-f]{16}_bg\.wasm"/);
  assert.equal(await page.title(), "Home · Inngest Swag Store");

  // The bundle came from /pkg with its content type and a long cache lifetime, and the client
  // started: the grid subscribes to live stock.
  await subscribed;
  const wasm = bundleResponses.find((r) => r.url().endsWith("_bg.wasm"));
  assert.ok(wasm, `the page fetched a wasm module (saw ${bundleResponses.map((r) => r.url())})`);
  assert.equal(await wasm.headerValue("content-type"), "application/wasm");
  assert.match((await wasm.headerValue("cache-control")) ?? "", /max-age=31536000, immutable/);

  await screenshot(page, "home");
  assert.deepEqual(unexpected(problems), [], "no console errors, exceptions or failed requests");
  await page.close();
});

test("a shopper picks a size, keeps the cart across a reload and reaches checkout", async () => {
  const page = await browser.context.newPage();
  const problems = recordProblems(page);
  await page.goto(`${server.url}/`);

  await page.locator('a[href="/products/durable-tee"]').first().click();
  await page.waitForURL(`${server.url}/products/durable-tee`);
  const inventory = page.getByTestId("live-inventory");
  await eventually(text(inventory), (t) => t?.includes("LIVE INVENTORY · 120 AVAILABLE"), "live inventory shown");

  // ADD TO CART enables once the client has hydrated the page.
  const addToCart = page.getByRole("button", { name: "ADD TO CART" });
  await addToCart.click({ trial: true, timeout: HYDRATION_TIMEOUT_MS });
  const large = page.locator('button[data-size="L"]');
  await large.click();
  await eventually(attribute(large, "aria-pressed"), (v) => v === "true", "L is selected");
  await page.getByRole("button", { name: "Increase quantity" }).click();
  assert.equal(await page.getByTestId("quantity").textContent(), "2");
  await addToCart.click();
  await eventually(text(page.getByTestId("cart-count")), (t) => t === "2", "the header counts 2 items");
  assert.equal(await page.getByTestId("added").textContent(), "Added 2 × Durable Tee (L) to your cart.");
  await screenshot(page, "product");

  await page.reload();
  await eventually(text(page.getByTestId("cart-count")), (t) => t === "2", "the cart survived the reload");

  await page.locator("a.cart-link").click();
  await page.waitForURL(`${server.url}/checkout`);
  const line = page.locator('[data-testid="cart-line"][data-variant="durable-tee-l-black"]');
  await eventually(text(line.getByTestId("line-quantity")), (t) => t === "2", "checkout lists 2 × L");

  await page.locator("#discount-code").fill("nope123");
  await page.getByRole("button", { name: "APPLY" }).click();
  const discountError = await eventually(
    text(page.getByTestId("discount-error")),
    (t) => Boolean(t),
    "an unknown code is refused with a reason",
  );
  assert.match(discountError, /NOPE123 does not exist/);
  assert.equal(await page.getByTestId("applied-code").count(), 0, "no code applied");

  // An accepted code (the store's answer stood in for: no codes exist in a fresh store) shows
  // its amount, and changing the cart drops it.
  await page.route("**/api/discounts/validate", (route) =>
    route.fulfill({
      json: {
        discount: {
          code: "SAVE10",
          label: "10% off",
          type: "percent_off",
          discountCents: 640,
          amountOffCents: null,
          percentOff: 10,
        },
        subtotalCents: 6400,
        totalAfterDiscountCents: 5760,
      },
    }),
  );
  await page.locator("#discount-code").fill("save10");
  await page.getByRole("button", { name: "APPLY" }).click();
  await eventually(text(page.getByTestId("applied-code")), (t) => t === "SAVE10 · 10% off", "the code applies");
  assert.match(await page.locator(".totals").textContent(), /\$57\.60/);
  await page.unroute("**/api/discounts/validate");
  await line.getByRole("button", { name: "Increase quantity" }).click();
  await eventually(text(line.getByTestId("line-quantity")), (t) => t === "3", "the line goes to 3");
  await eventually(
    () => page.getByTestId("applied-code").count(),
    (n) => n === 0,
    "a changed cart drops the applied code",
  );

  // Without Stripe keys the store says so instead of leaving the page.
  await page.getByRole("button", { name: "CREATE STRIPE SESSION" }).click();
  const checkoutError = await eventually(
    text(page.getByTestId("checkout-error")),
    (t) => Boolean(t),
    "checkout explains why no session was created",
  );
  assert.match(checkoutError, /Payments are not configured/);
  assert.equal(new URL(page.url()).pathname, "/checkout");
  await screenshot(page, "checkout");

  // The refused code (400) and the missing payment set-up (503) are expected answers.
  const expected = [/\/api\/discounts\/validate/, /\/api\/checkout/];
  assert.deepEqual(unexpected(problems, expected), [], "no console errors, exceptions or failed requests");
  await page.close();
});

test("an order placed through the event API shows up live on its page, on /admin and in stock", async () => {
  await server.waitForLog(/functions synced with the embedded executor/);
  const order = await openLive(`/orders/${ORDER_ID}`);
  const admin = await openLive("/admin");
  const home = await openLive("/");
  const headline = order.page.getByTestId("order-headline");
  assert.equal(await headline.textContent(), "Received");
  const cardStates = async () =>
    order.page.locator("ol.steps > li").evaluateAll((cards) => cards.map((c) => `${c.dataset.step}:${c.dataset.state}`));
  assert.ok((await cardStates()).every((s) => s.endsWith(":pending")), "every step starts pending");

  const sent = await fetch(`${server.url}/_inngest/e/local`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(orderPlacedEvent()),
  });
  assert.equal(sent.status, 200, `the executor accepted the event: ${await sent.text()}`);
  const run = await fulfilmentRun();

  const finalStates = await eventually(
    cardStates,
    (states) => states.length >= 5 && states.every((s) => s.endsWith(":complete")),
    `every step card turns complete (run ${run.id})`,
  ).catch(async (error) => {
    const details = await (await fetch(`${server.url}/_inngest/runs/${run.id}`)).text();
    throw new Error(`${error.message}\nrun: ${details}`);
  });
  assert.deepEqual(finalStates.slice(0, 5), [
    "capture-payment:complete",
    "reserve-inventory:complete",
    "send-confirmation:complete",
    "record-order:complete",
    "record-to-sheet:complete",
  ]);
  await eventually(text(order.page.getByTestId("order-email")), (t) => t === "e***@example.com", "the email, masked");
  assert.equal(await order.page.getByText("E2E Shopper").count(), 0, "the name stays hidden");
  assert.match(await order.page.getByTestId("order-log").textContent(), /step\.record-order → complete/);

  const tracked = admin.page.getByTestId(`tracked-${ORDER_ID}`);
  await eventually(
    attribute(tracked.locator('[data-step="record-order"]'), "data-state"),
    (state) => state === "complete",
    "the order appears on /admin with its steps",
  );
  assert.equal(await admin.page.getByText("e2e@example.com").count(), 0, "/admin shows no email");
  await eventually(
    text(home.page.getByTestId("stock-durable-tee")),
    (t) => t === "119 IN STOCK",
    "the home page's stock follows the reservation",
  );

  for (const { page } of [order, admin, home]) {
    assert.equal(await page.evaluate(() => window.__sameDocument), true, `${page.url()} never reloaded`);
  }
  await screenshot(order.page, "order");
  await screenshot(admin.page, "admin");
  for (const { page, problems } of [order, admin, home]) {
    assert.deepEqual(unexpected(problems), [], `no console errors, exceptions or failed requests on ${page.url()}`);
    await page.close();
  }
});

/** A paid order for one Durable Tee (M), as the Stripe webhook would send it (app/src/events.rs). */
function orderPlacedEvent() {
  return {
    name: "store/order.placed",
    id: `order-placed-cs_test_${ORDER_ID}`,
    data: {
      appOrigin: server.url,
      orderId: ORDER_ID,
      stripeSessionId: `cs_test_${ORDER_ID}`,
      stripePaymentIntentId: null,
      encrypted: {
        customerEmail: "e2e@example.com",
        customerName: "E2E Shopper",
        customerPhone: "",
        shipping: {
          name: "E2E Shopper",
          line1: "1 Test Street",
          line2: "",
          city: "Testville",
          state: "CA",
          postalCode: "94000",
          country: "US",
        },
      },
      amountTotal: 3200,
      currency: "usd",
      discount: null,
      lineItems: [
        {
          description: "Durable Tee",
          quantity: 1,
          amountTotal: 3200,
          priceId: null,
          productId: "durable-tee",
          productName: "Durable Tee",
          sku: "TEE-M",
          variantId: "durable-tee-m-black",
          size: "M",
          color: "black",
        },
      ],
      metadata: {},
    },
  };
}

/** The fulfilment run the event started; fails clearly when no such function is served. */
async function fulfilmentRun() {
  const deadline = Date.now() + 15_000;
  let seen = [];
  while (Date.now() < deadline) {
    seen = await (await fetch(`${server.url}/_inngest/runs?limit=50`)).json();
    const run = seen.find((r) => r.function_id === FULFILMENT_FUNCTION && r.event_name === "store/order.placed");
    if (run) return run;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(
    `the fulfilment function ${FULFILMENT_FUNCTION} is not served: store/order.placed started no run of it ` +
      `within 15 s (runs: ${JSON.stringify(seen.map((r) => r.function_id))}). ` +
      "Register it in app/src/functions/mod.rs.",
  );
}
