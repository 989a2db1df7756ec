//! A local Stripe stand-in (axum on 127.0.0.1:0): records every request and answers
//! Stripe-shaped JSON for the endpoints the store calls — coupons, Checkout Sessions and their
//! line items, PaymentIntents and refunds — plus helpers to complete a session and to sign
//! webhook deliveries as Stripe does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use swag_store::config::Settings;
use swag_store::integrations::stripe::StripeSettings;
use swag_store::integrations::Secret;

use super::{spawn_with, test_settings, TestApp};

/// The key the app is given; the stand-in refuses any other.
pub const SECRET_KEY: &str = "sk_test_standin_0123456789";
/// The webhook signing secret the app is given.
pub const WEBHOOK_SECRET: &str = "whsec_standin_0123456789";
const NOW: i64 = 1_700_000_000;

/// One request the app made to the stand-in.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub idempotency_key: Option<String>,
    /// The form-encoded body, decoded, in order.
    pub form: Vec<(String, String)>,
}

impl Recorded {
    /// The value of a form field such as `line_items[0][quantity]`.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value sent under a key, e.g. `shipping_address_collection[allowed_countries]`
    /// (indexed or not).
    pub fn values(&self, key_prefix: &str) -> Vec<&str> {
        self.form
            .iter()
            .filter(|(k, _)| k == key_prefix || k.starts_with(&format!("{key_prefix}[")))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Who paid and where it ships, as Checkout collects it.
#[derive(Debug, Clone)]
pub struct Customer {
    pub email: &'static str,
    pub name: &'static str,
    pub phone: &'static str,
    pub line1: &'static str,
    pub line2: &'static str,
    pub city: &'static str,
    pub state: &'static str,
    pub postal_code: &'static str,
    pub country: &'static str,
}

/// A customer whose every detail is distinctive, so that a leak is easy to spot.
pub const ADA: Customer = Customer {
    email: "ada.lovelace@example.com",
    name: "Ada Lovelace",
    phone: "+15555550123",
    line1: "12 Analytical Engine Way",
    line2: "Apt 1843",
    city: "Babbageville",
    state: "CA",
    postal_code: "94016",
    country: "US",
};

#[derive(Default)]
struct Inner {
    requests: Vec<Recorded>,
    sessions: HashMap<String, Value>,
    line_items: HashMap<String, Vec<Value>>,
    coupons: HashMap<String, i64>,
    next_id: u64,
}

/// The running stand-in.
#[derive(Clone)]
pub struct StripeStandIn {
    /// `http://127.0.0.1:{port}` (no trailing slash).
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl StripeStandIn {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let router = Router::new()
            .route("/v1/coupons", post(create_coupon))
            .route("/v1/checkout/sessions", post(create_session))
            .route("/v1/checkout/sessions/{id}", get(retrieve_session))
            .route(
                "/v1/checkout/sessions/{id}/line_items",
                get(list_line_items),
            )
            .route("/v1/payment_intents/{id}", get(retrieve_payment_intent))
            .route("/v1/refunds", post(create_refund))
            .fallback(not_found)
            .layer(axum::middleware::from_fn_with_state(inner.clone(), record))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Stripe stand-in");
        let url = format!(
            "http://{}",
            listener.local_addr().expect("stand-in address")
        );
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, inner }
    }

    /// Settings that point the app at this stand-in.
    pub fn settings(&self) -> StripeSettings {
        StripeSettings {
            secret_key: Some(Secret::new(SECRET_KEY)),
            webhook_secret: Some(Secret::new(WEBHOOK_SECRET)),
            api_base: format!("{}/", self.url),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().expect("stand-in state")
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// The requests to `method path`.
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path == path)
            .collect()
    }

    /// A session as the stand-in now holds it.
    pub fn session(&self, id: &str) -> Option<Value> {
        self.lock().sessions.get(id).cloned()
    }

    /// Stores a session (and its line items) created elsewhere, e.g. by another deployment.
    pub fn insert_session(&self, session: Value, line_items: Vec<Value>) {
        let id = session["id"].as_str().expect("session id").to_owned();
        let mut inner = self.lock();
        inner.line_items.insert(id.clone(), line_items);
        inner.sessions.insert(id, session);
    }

    /// Marks a session paid by `customer`, as Stripe does when Checkout completes; returns it.
    pub fn complete_session(&self, id: &str, customer: &Customer) -> Value {
        let mut inner = self.lock();
        inner.next_id += 1;
        let payment_intent = format!("pi_test_{}", inner.next_id);
        let session = inner.sessions.get_mut(id).expect("a session to complete");
        let address = json!({
            "line1": customer.line1, "line2": customer.line2, "city": customer.city,
            "state": customer.state, "postal_code": customer.postal_code,
            "country": customer.country,
        });
        session["status"] = json!("complete");
        session["payment_status"] = json!("paid");
        session["payment_intent"] = json!(payment_intent);
        session["customer_details"] = json!({
            "email": customer.email, "name": customer.name, "phone": customer.phone,
            "address": address, "tax_exempt": "none", "tax_ids": [],
        });
        session["collected_information"] = json!({
            "shipping_details": {"name": customer.name, "address": address},
        });
        session.clone()
    }
}

/// A `checkout.session.completed` event carrying `session`.
pub fn completed_event(session: &Value) -> String {
    json!({
        "id": format!("evt_{}", session["id"].as_str().unwrap_or_default()),
        "object": "event",
        "type": "checkout.session.completed",
        "api_version": "2025-03-31.basil",
        "created": NOW,
        "livemode": false,
        "data": {"object": session},
    })
    .to_string()
}

/// A `Stripe-Signature` header for `payload` signed at `timestamp` with `secret`.
pub fn signature(payload: &str, secret: &str, timestamp: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp}.{payload}").as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex_encode(&mac.finalize().into_bytes())
    )
}

/// A `Stripe-Signature` header for `payload`, signed now with the app's webhook secret.
pub fn signed_now(payload: &str) -> String {
    signature(payload, WEBHOOK_SECRET, chrono::Utc::now().timestamp())
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The store, talking to a fresh stand-in.
pub async fn spawn_app_with_stripe() -> (TestApp, StripeStandIn) {
    spawn_app_with_stripe_and(|_| {}).await
}

/// The store, talking to a fresh stand-in, with `adjust` applied to its settings.
pub async fn spawn_app_with_stripe_and(
    adjust: impl FnOnce(&mut Settings),
) -> (TestApp, StripeStandIn) {
    let stripe = StripeStandIn::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(&dir).await;
    settings.stripe = stripe.settings();
    adjust(&mut settings);
    (spawn_with(settings, dir).await, stripe)
}

type Shared = State<Arc<Mutex<Inner>>>;

fn stripe_error(status: StatusCode, message: &str, code: &str) -> Response {
    let body =
        json!({"error": {"type": "invalid_request_error", "message": message, "code": code}});
    (status, Json(body)).into_response()
}

/// Records the request, then refuses it unless it carries the test secret key.
async fn record(State(inner): Shared, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "unreadable body",
            "parameter_invalid",
        );
    };
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let recorded = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        authorization: header("authorization"),
        idempotency_key: header("idempotency-key"),
        form: url::form_urlencoded::parse(&body).into_owned().collect(),
    };
    let authorized = recorded.authorization.as_deref() == Some(&format!("Bearer {SECRET_KEY}"));
    inner
        .lock()
        .expect("stand-in state")
        .requests
        .push(recorded);
    if !authorized {
        return stripe_error(
            StatusCode::UNAUTHORIZED,
            "Invalid API Key provided",
            "api_key_invalid",
        );
    }
    next.run(Request::from_parts(parts, Body::from(body))).await
}

fn form_map(form: &[(String, String)]) -> HashMap<&str, &str> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn not_found(uri: Uri) -> Response {
    stripe_error(
        StatusCode::NOT_FOUND,
        &format!("Unrecognized request URL (GET: {})", uri.path()),
        "resource_missing",
    )
}

async fn create_coupon(State(inner): Shared, body: axum::body::Bytes) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let fields = form_map(&form);
    let amount_off: i64 = fields
        .get("amount_off")
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    let mut inner = inner.lock().expect("stand-in state");
    inner.next_id += 1;
    let id = format!("co_test_{}", inner.next_id);
    inner.coupons.insert(id.clone(), amount_off);
    Json(json!({
        "id": id, "object": "coupon", "amount_off": amount_off,
        "currency": fields.get("currency"), "duration": fields.get("duration"),
        "max_redemptions": fields.get("max_redemptions").and_then(|v| v.parse::<i64>().ok()),
        "name": fields.get("name"), "created": NOW, "livemode": false,
        "times_redeemed": 0, "valid": true, "metadata": {},
    }))
    .into_response()
}

/// Groups `prefix[k]=v` fields into a JSON object of `k: v`.
fn nested(fields: &HashMap<&str, &str>, prefix: &str) -> Map<String, Value> {
    fields
        .iter()
        .filter_map(|(k, v)| {
            let key = k
                .strip_prefix(prefix)?
                .strip_prefix('[')?
                .strip_suffix(']')?;
            (!key.contains('[')).then(|| (key.to_owned(), json!(v)))
        })
        .collect()
}

async fn create_session(State(inner): Shared, body: axum::body::Bytes) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let fields = form_map(&form);
    let mut inner = inner.lock().expect("stand-in state");
    inner.next_id += 1;
    let id = format!("cs_test_{}", inner.next_id);
    let mut items = Vec::new();
    for index in 0.. {
        let line = format!("line_items[{index}]");
        let Some(quantity) = fields
            .get(format!("{line}[quantity]").as_str())
            .and_then(|q| q.parse::<i64>().ok())
        else {
            break;
        };
        let field = |name: &str| {
            fields
                .get(format!("{line}{name}").as_str())
                .copied()
                .unwrap_or_default()
        };
        let unit: i64 = field("[price_data][unit_amount]")
            .parse()
            .unwrap_or_default();
        let name = field("[price_data][product_data][name]");
        let product = json!({
            "id": format!("prod_test_{}_{index}", inner.next_id), "object": "product",
            "active": false, "created": NOW, "images": [], "livemode": false,
            "marketing_features": [], "name": name, "type": "service", "updated": NOW,
            "description": field("[price_data][product_data][description]"),
            "metadata": nested(&fields, &format!("{line}[price_data][product_data][metadata]")),
        });
        items.push(json!({
            "id": format!("li_test_{}_{index}", inner.next_id), "object": "item",
            "amount_discount": 0, "amount_subtotal": unit * quantity, "amount_tax": 0,
            "amount_total": unit * quantity, "currency": "usd", "description": name,
            "quantity": quantity,
            "price": {
                "id": format!("price_test_{}_{index}", inner.next_id), "object": "price",
                "active": false, "billing_scheme": "per_unit", "created": NOW,
                "currency": "usd", "livemode": false, "metadata": {}, "product": product,
                "type": "one_time", "unit_amount": unit,
            },
        }));
    }
    let subtotal: i64 = items
        .iter()
        .filter_map(|i| i["amount_subtotal"].as_i64())
        .sum();
    let discount = fields
        .get("discounts[0][coupon]")
        .and_then(|coupon| inner.coupons.get(*coupon))
        .copied()
        .unwrap_or_default()
        .min(subtotal);
    let session = json!({
        "id": id, "object": "checkout.session", "mode": "payment", "livemode": false,
        "created": NOW, "expires_at": NOW + 86_400, "currency": "usd",
        "amount_subtotal": subtotal, "amount_total": subtotal - discount,
        "automatic_tax": {"enabled": false, "liability": null, "status": null},
        "custom_fields": [],
        "custom_text": {"after_submit": null, "shipping_address": null, "submit": null,
                        "terms_of_service_acceptance": null},
        "metadata": nested(&fields, "metadata"),
        "payment_method_types": ["card"], "payment_status": "unpaid", "status": "open",
        "shipping_options": [], "payment_intent": null,
        "success_url": fields.get("success_url"), "cancel_url": fields.get("cancel_url"),
        "total_details": {"amount_discount": discount, "amount_shipping": 0, "amount_tax": 0},
        "url": format!("https://checkout.stripe.test/c/pay/{id}"),
    });
    inner.sessions.insert(id.clone(), session.clone());
    inner.line_items.insert(id, items);
    Json(session).into_response()
}

async fn retrieve_session(State(inner): Shared, Path(id): Path<String>) -> Response {
    match inner.lock().expect("stand-in state").sessions.get(&id) {
        Some(session) => Json(session.clone()).into_response(),
        None => stripe_error(
            StatusCode::NOT_FOUND,
            &format!("No such checkout.session: '{id}'"),
            "resource_missing",
        ),
    }
}

async fn list_line_items(
    State(inner): Shared,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let inner = inner.lock().expect("stand-in state");
    let Some(items) = inner.line_items.get(&id) else {
        return stripe_error(
            StatusCode::NOT_FOUND,
            &format!("No such checkout.session: '{id}'"),
            "resource_missing",
        );
    };
    // Products are ids unless the request expands them, as on Stripe.
    let expanded = query.unwrap_or_default().contains("data.price.product");
    let data: Vec<Value> = items
        .iter()
        .cloned()
        .map(|mut item| {
            if !expanded {
                item["price"]["product"] = item["price"]["product"]["id"].clone();
            }
            item
        })
        .collect();
    Json(json!({
        "object": "list", "data": data, "has_more": false,
        "url": format!("/v1/checkout/sessions/{id}/line_items"),
    }))
    .into_response()
}

async fn retrieve_payment_intent(Path(id): Path<String>) -> Response {
    Json(json!({
        "id": id, "object": "payment_intent", "amount": 3200, "amount_capturable": 0,
        "amount_received": 3200, "capture_method": "automatic",
        "confirmation_method": "automatic", "created": NOW, "currency": "usd",
        "livemode": false, "metadata": {}, "payment_method_types": ["card"],
        "status": "succeeded",
    }))
    .into_response()
}

async fn create_refund(State(inner): Shared, body: axum::body::Bytes) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let fields = form_map(&form);
    let mut inner = inner.lock().expect("stand-in state");
    inner.next_id += 1;
    Json(json!({
        "id": format!("re_test_{}", inner.next_id), "object": "refund", "amount": 3200,
        "created": NOW, "currency": "usd", "status": "succeeded",
        "payment_intent": fields.get("payment_intent"), "metadata": {},
    }))
    .into_response()
}
