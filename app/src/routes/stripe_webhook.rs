//! `POST /api/webhooks/stripe`: verifies Stripe's signature and turns a completed Checkout
//! Session of this deployment into one `store/order.placed` event (its id is derived from the
//! session, so a redelivered webhook places no second order).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use inngest::{Event, SendError};
use serde::Deserialize;
use serde_json::{json, Value};
use swag_domain::ids::is_order_id;

use crate::events::{
    order_placed_id, CustomerDetails, LineItem, OrderDiscount, OrderPlaced, Shipping, ORDER_PLACED,
};
use crate::integrations::stripe::{
    verify_signature, CheckoutSession, CheckoutSessionItem, SignatureError, StripeError,
};
use crate::state::AppState;

/// The only event type the store acts on.
const CHECKOUT_COMPLETED: &str = "checkout.session.completed";

/// Why a delivery was refused; answered as `{error}`. Stripe redelivers on 5xx.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET is not set)")]
    WebhooksNotConfigured,
    #[error("Payments are not configured (STRIPE_SECRET_KEY is not set)")]
    PaymentsNotConfigured,
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("the event is not a Stripe event: {0}")]
    Payload(#[from] serde_json::Error),
    #[error("could not read the checkout session from Stripe: {0}")]
    Stripe(#[from] StripeError),
    #[error("could not send {ORDER_PLACED}: {0}")]
    Send(#[from] SendError),
}

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        let status = match &self {
            WebhookError::Signature(_) | WebhookError::Payload(_) => StatusCode::BAD_REQUEST,
            WebhookError::WebhooksNotConfigured | WebhookError::PaymentsNotConfigured => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            WebhookError::Stripe(_) => StatusCode::BAD_GATEWAY,
            WebhookError::Send(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "stripe webhook failed");
        } else {
            tracing::warn!(error = %self, "stripe webhook refused");
        }
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// The parts of an event read before anything is fetched from Stripe.
#[derive(Debug, Deserialize)]
struct WebhookEvent {
    #[serde(rename = "type")]
    kind: String,
    data: WebhookData,
}

#[derive(Debug, Deserialize)]
struct WebhookData {
    object: Value,
}

#[derive(Debug, Deserialize)]
struct SessionRef {
    id: String,
    #[serde(default)]
    metadata: Option<HashMap<String, String>>,
}

pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, WebhookError> {
    let secret = state
        .payments
        .webhook_secret()
        .ok_or(WebhookError::WebhooksNotConfigured)?;
    let header = headers
        .get("stripe-signature")
        .map(|value| value.to_str().unwrap_or_default());
    verify_signature(&body, header, secret, chrono::Utc::now().timestamp())?;
    let event: WebhookEvent = serde_json::from_slice(&body)?;
    if event.kind != CHECKOUT_COMPLETED {
        return Ok(received(None));
    }
    let delivered: SessionRef = serde_json::from_value(event.data.object)?;
    // Deployments sharing one Stripe account all receive every session; each handles its own.
    if app_origin(delivered.metadata.as_ref()) != Some(state.public_url.as_str()) {
        tracing::info!(session_id = %delivered.id, "ignoring a checkout session of another origin");
        return Ok(received(Some("foreign appOrigin")));
    }
    let stripe = state
        .payments
        .api()
        .ok_or(WebhookError::PaymentsNotConfigured)?;
    // Build the order from what Stripe says now, not from the delivered copy.
    let session = stripe.checkout_session(&delivered.id).await?;
    let metadata = session.metadata.clone().unwrap_or_default();
    if app_origin(Some(&metadata)) != Some(state.public_url.as_str()) {
        tracing::info!(session_id = %delivered.id, "ignoring a checkout session of another origin");
        return Ok(received(Some("foreign appOrigin")));
    }
    let Some(order_id) = metadata.get("orderId").filter(|id| is_order_id(id)) else {
        tracing::warn!(session_id = %delivered.id, "checkout session without a store order id");
        return Ok(received(Some("no orderId")));
    };
    let items = stripe.checkout_line_items(&delivered.id).await?;
    let order = order_placed(&session, items, &state.public_url, order_id);
    let event = Event::new(ORDER_PLACED, order).with_id(order_placed_id(session.id.as_str()));
    state.durable.client().send_one(&event).await?;
    tracing::info!(%order_id, session_id = %delivered.id, "order placed");
    Ok(received(None))
}

fn received(ignored: Option<&str>) -> Json<Value> {
    match ignored {
        Some(reason) => Json(json!({ "received": true, "ignored": reason })),
        None => Json(json!({ "received": true })),
    }
}

fn app_origin(metadata: Option<&HashMap<String, String>>) -> Option<&str> {
    metadata
        .and_then(|m| m.get("appOrigin"))
        .map(String::as_str)
}

/// The event data for a completed session; customer details go only into `encrypted`.
fn order_placed(
    session: &CheckoutSession,
    items: Vec<CheckoutSessionItem>,
    app_origin: &str,
    order_id: &str,
) -> OrderPlaced {
    let metadata = session.metadata.clone().unwrap_or_default();
    let details = session.customer_details.as_ref();
    let shipping = session
        .collected_information
        .as_ref()
        .and_then(|info| info.shipping_details.as_ref());
    let email = details
        .and_then(|d| d.email.clone())
        .or_else(|| session.customer_email.clone())
        .unwrap_or_default();
    // Guest checkouts may finish without a billing name: fall back to the shipping name, then
    // the email's local part.
    let name = details
        .and_then(|d| d.name.clone())
        .filter(|name| !name.trim().is_empty())
        .or_else(|| shipping.map(|s| s.name.clone()))
        .or_else(|| email.split('@').next().map(str::to_owned))
        .unwrap_or_default();
    let shipping = match shipping {
        Some(s) => Shipping {
            name: s.name.clone(),
            line1: s.address.line1.clone().unwrap_or_default(),
            line2: s.address.line2.clone().unwrap_or_default(),
            city: s.address.city.clone().unwrap_or_default(),
            state: s.address.state.clone().unwrap_or_default(),
            postal_code: s.address.postal_code.clone().unwrap_or_default(),
            country: s.address.country.clone().unwrap_or_default(),
        },
        None => Shipping {
            name: name.clone(),
            ..Shipping::default()
        },
    };
    let discount = metadata
        .get("discountCode")
        .filter(|code| !code.is_empty())
        .map(|code| OrderDiscount {
            code: code.clone(),
            amount_cents: session
                .total_details
                .as_ref()
                .map(|totals| totals.amount_discount)
                .filter(|cents| *cents > 0)
                .or_else(|| {
                    metadata
                        .get("discountAmountCents")
                        .and_then(|cents| cents.parse().ok())
                })
                .unwrap_or_default(),
        });
    OrderPlaced {
        app_origin: app_origin.to_owned(),
        order_id: order_id.to_owned(),
        stripe_session_id: session.id.to_string(),
        stripe_payment_intent_id: session
            .payment_intent
            .as_ref()
            .map(|pi| pi.id().to_string()),
        encrypted: CustomerDetails {
            customer_email: email,
            customer_name: name,
            customer_phone: details.and_then(|d| d.phone.clone()).unwrap_or_default(),
            shipping,
        },
        amount_total: session.amount_total.unwrap_or_default(),
        currency: session
            .currency
            .as_ref()
            .map_or_else(|| "usd".to_owned(), ToString::to_string),
        discount,
        line_items: items.into_iter().map(line_item).collect(),
        metadata: json!(metadata),
    }
}

/// A purchased line, identified by the product metadata written at checkout.
fn line_item(item: CheckoutSessionItem) -> LineItem {
    let price = item.price.as_ref();
    let product = price.and_then(|p| p.product.as_object());
    let meta = |key: &str| {
        product
            .and_then(|p| p.metadata.get(key))
            .filter(|value| !value.is_empty())
            .cloned()
    };
    let description = item.description.clone().unwrap_or_default();
    LineItem {
        quantity: item
            .quantity
            .and_then(|q| i64::try_from(q).ok())
            .unwrap_or_default(),
        amount_total: item.amount_total,
        price_id: price.map(|p| p.id.to_string()),
        product_id: meta("productId")
            .or_else(|| price.map(|p| p.product.id().to_string()))
            .unwrap_or_default(),
        product_name: product.map_or_else(|| description.clone(), |p| p.name.clone()),
        sku: meta("sku").unwrap_or_default(),
        variant_id: meta("variantId").unwrap_or_default(),
        size: meta("size").unwrap_or_default(),
        color: meta("color").unwrap_or_default(),
        description,
    }
}
