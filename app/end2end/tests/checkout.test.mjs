// The whole purchase in a real browser, with Stripe played by a local stand-in (stripe.mjs):
// a shopper browses, picks a size, adds to cart, clicks CREATE STRIPE SESSION, pays on the
// stand-in's hosted page (which delivers the signed checkout.session.completed webhook and
// returns the browser to the store), lands on the confirmation, which verifies the session at
// "Stripe" and opens the order page unlocked; the fulfilment run then turns every step card
// complete live while /admin, open since before the purchase, shows the order appear. Nothing
// may log an error.
//
// Needs SWAG_STORE_BIN and SITE_ROOT, as storefront.test.mjs.
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
import { SECRET_KEY, SHOPPER, startStripe, WEBHOOK_SECRET } from "./stripe.mjs";

const STEPS = ["capture-payment", "reserve-inventory", "send-confirmation", "record-order", "record-to-sheet"];

let stripe;
let server;
let browser;

before(async () => {
  stripe = await startStripe();
  server = await startServer({
    binary: requiredEnv("SWAG_STORE_BIN"),
    siteRoot: requiredEnv("SITE_ROOT"),
    env: {
      STRIPE_SECRET_KEY: SECRET_KEY,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_BASE: stripe.url,
    },
  });
  stripe.setWebhookUrl(`${server.url}/api/webhooks/stripe`);
  browser = await launchBrowser(process.env.CHROMIUM ?? "/usr/bin/chromium");
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await stripe?.stop();
});

test("a shopper pays through Stripe Checkout and watches the order fulfil live", async () => {
  await server.waitForLog(/functions synced with the embedded executor/);

  // /admin is open before anything is bought.
  const admin = await browser.context.newPage();
  const adminProblems = recordProblems(admin);
  const adminStreaming = admin.waitForResponse((r) => new URL(r.url()).pathname.startsWith("/api/realtime/"), {
    timeout: HYDRATION_TIMEOUT_MS,
  });
  await admin.goto(`${server.url}/admin`);
  await adminStreaming;
  await admin.evaluate(() => {
    window.__sameDocument = true;
  });

  // Browse, pick a size, add to cart.
  const page = await browser.context.newPage();
  const problems = recordProblems(page);
  await page.goto(`${server.url}/`);
  await page.locator('a[href="/products/durable-tee"]').first().click();
  await page.waitForURL(`${server.url}/products/durable-tee`);
  const addToCart = page.getByRole("button", { name: "ADD TO CART" });
  await addToCart.click({ trial: true, timeout: HYDRATION_TIMEOUT_MS });
  const medium = page.locator('button[data-size="M"]');
  await medium.click();
  await eventually(attribute(medium, "aria-pressed"), (v) => v === "true", "M is selected");
  await addToCart.click();
  await eventually(text(page.getByTestId("cart-count")), (t) => t === "1", "the header counts 1 item");

  // Checkout opens a session at "Stripe" and sends the browser to its hosted page.
  await page.locator("a.cart-link").click();
  await page.waitForURL(`${server.url}/checkout`);
  const line = page.locator('[data-testid="cart-line"][data-variant="durable-tee-m-black"]');
  await eventually(text(line.getByTestId("line-quantity")), (t) => t === "1", "checkout lists 1 × M");
  await page.getByRole("button", { name: "CREATE STRIPE SESSION" }).click();
  await page.waitForURL(new RegExp(`^${stripe.url}/c/pay/cs_test_\\d+$`));
  const sessionId = new URL(page.url()).pathname.split("/").pop();
  const created = stripe.requests.filter((r) => r.method === "POST" && r.path === "/v1/checkout/sessions");
  assert.equal(created.length, 1, "one Checkout Session was created");
  const form = new Map(created[0].form);
  assert.equal(form.get("line_items[0][quantity]"), "1");
  assert.equal(form.get("line_items[0][price_data][product_data][metadata][variantId]"), "durable-tee-m-black");
  assert.equal(form.get("metadata[appOrigin]"), server.url);
  const orderId = form.get("metadata[orderId]");
  assert.match(orderId, /^ord_[0-9a-z]{8}$/);
  assert.equal(
    form.get("success_url"),
    `${server.url}/orders/confirmation?ord=${orderId}&session_id={CHECKOUT_SESSION_ID}`,
  );
  await screenshot(page, "stripe-checkout");

  // Paying delivers the webhook; the run waits at capture-payment until the test lets
  // "Stripe" answer, so the order page is seen before any step completes.
  stripe.holdPayments();
  const orderStreaming = page.waitForResponse(
    (r) => new URL(r.url()).pathname === `/api/realtime/order:${orderId}`,
    { timeout: HYDRATION_TIMEOUT_MS },
  );
  await page.getByRole("button", { name: "Pay" }).click();
  await page.waitForURL(`${server.url}/orders/${orderId}`);
  assert.deepEqual(
    stripe.deliveries.map((d) => [d.sessionId, d.status]),
    [[sessionId, 200]],
    "the signed webhook was accepted",
  );
  const retrieved = stripe.requests.filter((r) => r.method === "GET" && r.path === `/v1/checkout/sessions/${sessionId}`);
  assert.ok(retrieved.length >= 2, "the webhook and the confirmation both verified the session at Stripe");
  await orderStreaming;
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  const cardStates = async () =>
    page.locator("ol.steps > li").evaluateAll((cards) => cards.map((c) => `${c.dataset.step}:${c.dataset.state}`));
  const before = await cardStates();
  assert.ok(
    before.length >= STEPS.length && before.every((s) => !s.endsWith(":complete")),
    `no step is complete while payment is held: ${before}`,
  );

  stripe.releasePayments();
  const finalStates = await eventually(
    cardStates,
    (states) => states.length >= STEPS.length && states.every((s) => s.endsWith(":complete")),
    "every step card turns complete",
  );
  assert.deepEqual(
    finalStates.slice(0, STEPS.length),
    STEPS.map((step) => `${step}:complete`),
  );
  assert.ok(
    stripe.requests.some((r) => r.method === "GET" && r.path.startsWith("/v1/payment_intents/pi_test_")),
    "capture-payment checked the PaymentIntent at Stripe",
  );

  // This browser paid: the confirmation's cookie shows the name and email unmasked.
  await eventually(text(page.getByTestId("order-email")), (t) => t === SHOPPER.email, "the email, unmasked");
  assert.equal(await page.getByTestId("order-name").textContent(), SHOPPER.name);
  const cookies = await browser.context.cookies(server.url);
  const unlock = cookies.find((c) => c.name === `order_unlock_${orderId}`);
  assert.ok(unlock?.httpOnly, "the unlock cookie is set, HttpOnly");
  await eventually(text(page.getByTestId("cart-count")), (t) => t === null || t === "0", "the cart is emptied");

  // /admin showed the order appear, without a reload, and no customer details.
  await eventually(
    attribute(admin.getByTestId(`tracked-${orderId}`).locator('[data-step="record-order"]'), "data-state"),
    (state) => state === "complete",
    "the order appears on /admin with its steps",
  );
  assert.equal(await admin.getByText(SHOPPER.email).count(), 0, "/admin shows no email");

  for (const p of [page, admin]) {
    assert.equal(await p.evaluate(() => window.__sameDocument), true, `${p.url()} never reloaded`);
  }
  await screenshot(page, "paid-order");
  await screenshot(admin, "paid-admin");
  assert.deepEqual(unexpected(problems), [], "no console errors, exceptions or failed requests while buying");
  assert.deepEqual(unexpected(adminProblems), [], "no console errors, exceptions or failed requests on /admin");
  await page.close();
  await admin.close();
});
