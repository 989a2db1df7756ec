//! `GET /orders/confirmation?ord=&session_id=`: where Stripe sends the customer after paying.
//! Unlocks the order page (cookie `order_unlock_{orderId}`) only when the Checkout Session,
//! fetched from Stripe, belongs to that order; then redirects to `/orders/{orderId}`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use swag_domain::ids::is_order_id;

use crate::state::AppState;

/// How long the order page stays unlocked.
const UNLOCK_MAX_AGE_SECS: u64 = 30 * 24 * 60 * 60;

/// The success URL's query; either part may be missing or forged.
#[derive(Debug, Default, Deserialize)]
pub struct Confirmation {
    #[serde(default)]
    ord: Option<String>,
    #[serde(default)]
    session_id: Option<String>,
}

/// The cookie that lets this browser see the order's unmasked details.
pub fn unlock_cookie_name(order_id: &str) -> String {
    format!("order_unlock_{order_id}")
}

pub async fn confirm(
    State(state): State<AppState>,
    query: Result<Query<Confirmation>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(query)| query).unwrap_or_default();
    // Only a well-formed order id goes into a path and a cookie name.
    let Some(order_id) = query.ord.filter(|id| is_order_id(id)) else {
        return Redirect::to("/").into_response();
    };
    let redirect = Redirect::to(&format!("/orders/{order_id}"));
    let session_id = query.session_id.unwrap_or_default();
    if session_id.is_empty() {
        return redirect.into_response();
    }
    let Some(stripe) = state.payments.api() else {
        tracing::warn!(%order_id, "cannot confirm an order: STRIPE_SECRET_KEY is not set");
        return redirect.into_response();
    };
    let session = match stripe.checkout_session(&session_id).await {
        Ok(session) => session,
        Err(error) => {
            tracing::warn!(%order_id, %error, "could not retrieve the checkout session");
            return redirect.into_response();
        }
    };
    let belongs_to_order = session
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.get("orderId"))
        .is_some_and(|id| *id == order_id);
    if !belongs_to_order {
        tracing::warn!(%order_id, "checkout session belongs to another order");
        return redirect.into_response();
    }
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{}=1; Path=/; Max-Age={UNLOCK_MAX_AGE_SECS}; HttpOnly; SameSite=Lax{secure}",
        unlock_cookie_name(&order_id)
    );
    ([(SET_COOKIE, cookie)], redirect).into_response()
}
