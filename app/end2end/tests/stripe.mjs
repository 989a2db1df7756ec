// A local Stripe stand-in for the browser walk (node:http on 127.0.0.1, port picked by the OS):
// answers the API calls the store makes (coupons, Checkout Sessions and their line items,
// PaymentIntents, refunds) with the same Stripe-shaped JSON as the Rust tests' stand-in
// (app/tests/support/stripe.rs), and hosts a checkout page per session. Paying there marks the
// session paid, delivers `checkout.session.completed` to the store's webhook signed as Stripe
// signs (`t=…,v1=` HMAC-SHA256 of `{t}.{payload}` with the webhook secret), and then sends the
// browser to the session's success_url, as Checkout does.
import { createHmac } from "node:crypto";
import { createServer } from "node:http";

/** The key the store is given; every other key is refused. */
export const SECRET_KEY = "sk_test_e2e_standin_0123456789";
/** The secret webhook deliveries are signed with. */
export const WEBHOOK_SECRET = "whsec_e2e_standin_0123456789";
const NOW = 1_700_000_000;

/** Who pays on the hosted page, as Checkout collects it. */
export const SHOPPER = {
  email: "grace.hopper@example.com",
  name: "Grace Hopper",
  phone: "+15555550199",
  address: {
    line1: "1 Compiler Court",
    line2: "",
    city: "Arlington",
    state: "VA",
    postal_code: "22201",
    country: "US",
  },
};

/** A `Stripe-Signature` header for `payload`, signed at `timestamp` (unix seconds). */
export function signature(payload, secret, timestamp) {
  const v1 = createHmac("sha256", secret).update(`${timestamp}.${payload}`).digest("hex");
  return `t=${timestamp},v1=${v1}`;
}

/**
 * Starts the stand-in. `webhookUrl` is set once the store is up (the store needs the
 * stand-in's URL to start). `requests` lists every API call as `{method, path, form}`;
 * `deliveries` every webhook delivery as `{sessionId, status, body}`.
 */
export async function startStripe() {
  const sessions = new Map();
  const lineItems = new Map();
  const coupons = new Map();
  const requests = [];
  const deliveries = [];
  let nextId = 0;
  let webhookUrl = null;
  // While set, PaymentIntent look-ups wait for it (the test decides when payment "captures").
  let paymentsHeld = null;

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => reply(res, 500, { error: { message: String(error) } }));
  });

  async function handle(req, res) {
    const url = new URL(req.url, "http://stand-in");
    const body = await readBody(req);
    const form = new URLSearchParams(body);
    const path = url.pathname;

    // The hosted checkout, as a browser sees it.
    if (path === "/favicon.ico") return void res.writeHead(204).end();
    let match = path.match(/^\/c\/pay\/([^/]+)$/);
    if (match && req.method === "GET") return checkoutPage(res, match[1]);
    match = path.match(/^\/c\/pay\/([^/]+)\/confirm$/);
    if (match && req.method === "POST") return pay(res, match[1]);

    // The API, as the store calls it.
    requests.push({ method: req.method, path, query: url.search, form: [...form] });
    if (req.headers.authorization !== `Bearer ${SECRET_KEY}`) {
      return stripeError(res, 401, "Invalid API Key provided", "api_key_invalid");
    }
    if (req.method === "POST" && path === "/v1/coupons") return createCoupon(res, form);
    if (req.method === "POST" && path === "/v1/checkout/sessions") return createSession(res, form);
    if (req.method === "POST" && path === "/v1/refunds") return createRefund(res, form);
    if (req.method === "GET") {
      if ((match = path.match(/^\/v1\/checkout\/sessions\/([^/]+)$/))) return retrieveSession(res, match[1]);
      if ((match = path.match(/^\/v1\/checkout\/sessions\/([^/]+)\/line_items$/))) {
        return listLineItems(res, match[1], url.searchParams);
      }
      if ((match = path.match(/^\/v1\/payment_intents\/([^/]+)$/))) {
        await paymentsHeld?.promise;
        return retrievePaymentIntent(res, match[1]);
      }
    }
    return stripeError(res, 404, `Unrecognized request URL (${req.method}: ${path})`, "resource_missing");
  }

  function createCoupon(res, form) {
    const id = `co_test_${++nextId}`;
    const amountOff = Number(form.get("amount_off") ?? 0);
    coupons.set(id, amountOff);
    reply(res, 200, {
      id,
      object: "coupon",
      amount_off: amountOff,
      currency: form.get("currency"),
      duration: form.get("duration"),
      max_redemptions: form.has("max_redemptions") ? Number(form.get("max_redemptions")) : null,
      name: form.get("name"),
      created: NOW,
      livemode: false,
      times_redeemed: 0,
      valid: true,
      metadata: {},
    });
  }

  function createSession(res, form) {
    const n = ++nextId;
    const id = `cs_test_${n}`;
    const items = [];
    for (let index = 0; form.has(`line_items[${index}][quantity]`); index++) {
      const field = (name) => form.get(`line_items[${index}]${name}`) ?? "";
      const quantity = Number(field("[quantity]"));
      const unit = Number(field("[price_data][unit_amount]"));
      const name = field("[price_data][product_data][name]");
      items.push({
        id: `li_test_${n}_${index}`,
        object: "item",
        amount_discount: 0,
        amount_subtotal: unit * quantity,
        amount_tax: 0,
        amount_total: unit * quantity,
        currency: "usd",
        description: name,
        quantity,
        price: {
          id: `price_test_${n}_${index}`,
          object: "price",
          active: false,
          billing_scheme: "per_unit",
          created: NOW,
          currency: "usd",
          livemode: false,
          metadata: {},
          type: "one_time",
          unit_amount: unit,
          product: {
            id: `prod_test_${n}_${index}`,
            object: "product",
            active: false,
            created: NOW,
            images: [],
            livemode: false,
            marketing_features: [],
            name,
            type: "service",
            updated: NOW,
            description: field("[price_data][product_data][description]"),
            metadata: nested(form, `line_items[${index}][price_data][product_data][metadata]`),
          },
        },
      });
    }
    const subtotal = items.reduce((sum, item) => sum + item.amount_subtotal, 0);
    const discount = Math.min(coupons.get(form.get("discounts[0][coupon]")) ?? 0, subtotal);
    const session = {
      id,
      object: "checkout.session",
      mode: "payment",
      livemode: false,
      created: NOW,
      expires_at: NOW + 86_400,
      currency: "usd",
      amount_subtotal: subtotal,
      amount_total: subtotal - discount,
      automatic_tax: { enabled: false, liability: null, status: null },
      custom_fields: [],
      custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
      metadata: nested(form, "metadata"),
      payment_method_types: ["card"],
      payment_status: "unpaid",
      status: "open",
      shipping_options: [],
      payment_intent: null,
      success_url: form.get("success_url"),
      cancel_url: form.get("cancel_url"),
      total_details: { amount_discount: discount, amount_shipping: 0, amount_tax: 0 },
      url: `${stand.url}/c/pay/${id}`,
    };
    sessions.set(id, session);
    lineItems.set(id, items);
    reply(res, 200, session);
  }

  function retrieveSession(res, id) {
    const session = sessions.get(id);
    if (!session) return stripeError(res, 404, `No such checkout.session: '${id}'`, "resource_missing");
    reply(res, 200, session);
  }

  function listLineItems(res, id, query) {
    const items = lineItems.get(id);
    if (!items) return stripeError(res, 404, `No such checkout.session: '${id}'`, "resource_missing");
    // Products are ids unless the request expands them, as on Stripe.
    const expanded = query.getAll("expand[]").concat(query.getAll("expand[0]")).includes("data.price.product");
    const data = items.map((item) =>
      expanded ? item : { ...item, price: { ...item.price, product: item.price.product.id } },
    );
    reply(res, 200, { object: "list", data, has_more: false, url: `/v1/checkout/sessions/${id}/line_items` });
  }

  function retrievePaymentIntent(res, id) {
    reply(res, 200, {
      id,
      object: "payment_intent",
      amount: 3200,
      amount_capturable: 0,
      amount_received: 3200,
      capture_method: "automatic",
      confirmation_method: "automatic",
      created: NOW,
      currency: "usd",
      livemode: false,
      metadata: {},
      payment_method_types: ["card"],
      status: "succeeded",
    });
  }

  function createRefund(res, form) {
    reply(res, 200, {
      id: `re_test_${++nextId}`,
      object: "refund",
      amount: 3200,
      created: NOW,
      currency: "usd",
      status: "succeeded",
      payment_intent: form.get("payment_intent"),
      metadata: {},
    });
  }

  function checkoutPage(res, id) {
    const session = sessions.get(id);
    if (!session) return void res.writeHead(404, { "content-type": "text/plain" }).end("no such session");
    const total = (session.amount_total / 100).toFixed(2);
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stripe stand-in checkout</title></head>
<body><h1>Pay $${total}</h1><p data-testid="session">${id}</p>
<form method="post" action="/c/pay/${id}/confirm"><button type="submit">Pay</button></form>
</body></html>`);
  }

  /** Marks the session paid, delivers the webhook, then returns the browser to the store. */
  async function pay(res, id) {
    const session = sessions.get(id);
    if (!session) return void res.writeHead(404, { "content-type": "text/plain" }).end("no such session");
    if (!webhookUrl) throw new Error("the stand-in does not know the store's webhook URL yet");
    Object.assign(session, {
      status: "complete",
      payment_status: "paid",
      payment_intent: `pi_test_${++nextId}`,
      customer_details: {
        email: SHOPPER.email,
        name: SHOPPER.name,
        phone: SHOPPER.phone,
        address: SHOPPER.address,
        tax_exempt: "none",
        tax_ids: [],
      },
      collected_information: { shipping_details: { name: SHOPPER.name, address: SHOPPER.address } },
    });
    const payload = JSON.stringify({
      id: `evt_${id}`,
      object: "event",
      type: "checkout.session.completed",
      api_version: "2025-03-31.basil",
      created: NOW,
      livemode: false,
      data: { object: session },
    });
    const delivered = await fetch(webhookUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "stripe-signature": signature(payload, WEBHOOK_SECRET, Math.floor(Date.now() / 1000)),
      },
      body: payload,
    });
    const answer = await delivered.text();
    deliveries.push({ sessionId: id, status: delivered.status, body: answer });
    if (!delivered.ok) {
      res.writeHead(502, { "content-type": "text/plain" }).end(`the store refused the webhook: ${answer}`);
      return;
    }
    res.writeHead(303, { location: session.success_url.replace("{CHECKOUT_SESSION_ID}", id) }).end();
  }

  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const stand = {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    deliveries,
    session: (id) => sessions.get(id),
    setWebhookUrl: (url) => {
      webhookUrl = url;
    },
    /** Holds PaymentIntent look-ups until `releasePayments()`. */
    holdPayments: () => {
      let release;
      const promise = new Promise((resolve) => (release = resolve));
      paymentsHeld = { promise, release };
    },
    releasePayments: () => {
      paymentsHeld?.release();
      paymentsHeld = null;
    },
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
  return stand;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}

/** Groups `prefix[k]=v` fields into `{k: v}`. */
function nested(form, prefix) {
  const object = {};
  for (const [key, value] of form) {
    if (!key.startsWith(`${prefix}[`) || !key.endsWith("]")) continue;
    const inner = key.slice(prefix.length + 1, -1);
    if (!inner.includes("[")) object[inner] = value;
  }
  return object;
}

function reply(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function stripeError(res, status, message, code) {
  reply(res, status, { error: { type: "invalid_request_error", message, code } });
}
