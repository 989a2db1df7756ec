//! `POST /api/checkout`: prices the cart (stock checked) and its discount, mints the order id and
//! opens a Stripe Checkout Session. Nothing is written to the database until Stripe reports
//! the payment.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use swag_domain::cart::{self, CartError, CartLineInput};
use swag_domain::discount::{self, DiscountError};
use swag_domain::ids::new_order_id;

use crate::integrations::stripe::{NewCheckout, StripeError};
use crate::state::AppState;

/// The cart as the browser sends it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutRequest {
    items: Vec<CartLineInput>,
    #[serde(default)]
    discount_code: Option<String>,
}

/// Where to send the customer to pay.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutResponse {
    url: String,
    order_id: String,
}

/// Why a cart could not be priced or checked out; answered as `{error}`.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("{0}")]
    Body(String),
    #[error(transparent)]
    Cart(#[from] CartError),
    #[error(transparent)]
    Discount(#[from] DiscountError),
    #[error("Payments are not configured (STRIPE_SECRET_KEY is not set)")]
    PaymentsNotConfigured,
    #[error("could not open a Stripe checkout: {0}")]
    Stripe(#[from] StripeError),
}

impl IntoResponse for CheckoutError {
    fn into_response(self) -> Response {
        let status = match &self {
            CheckoutError::Cart(CartError::Database(_))
            | CheckoutError::Discount(DiscountError::Database(_)) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            CheckoutError::Body(_) | CheckoutError::Cart(_) | CheckoutError::Discount(_) => {
                StatusCode::BAD_REQUEST
            }
            CheckoutError::PaymentsNotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            CheckoutError::Stripe(_) => StatusCode::BAD_GATEWAY,
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "checkout failed");
        }
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

impl From<JsonRejection> for CheckoutError {
    fn from(rejection: JsonRejection) -> Self {
        CheckoutError::Body(rejection.body_text())
    }
}

/// A discount code field counts as absent when blank.
pub(crate) fn entered_code(code: Option<&str>) -> Option<&str> {
    code.map(str::trim).filter(|code| !code.is_empty())
}

pub async fn checkout(
    State(state): State<AppState>,
    body: Result<Json<CheckoutRequest>, JsonRejection>,
) -> Result<Json<CheckoutResponse>, CheckoutError> {
    let Json(request) = body?;
    let stripe = state
        .payments
        .api()
        .ok_or(CheckoutError::PaymentsNotConfigured)?;
    let cart = cart::price(&state.db, &request.items).await?;
    let discount = match entered_code(request.discount_code.as_deref()) {
        Some(code) => Some(discount::apply(&state.db, code, cart.subtotal_cents).await?),
        None => None,
    };
    let order_id = new_order_id();
    let session = stripe
        .create_checkout_session(&NewCheckout {
            order_id: &order_id,
            app_origin: &state.public_url,
            cart: &cart,
            discount: discount.as_ref(),
        })
        .await?;
    tracing::info!(%order_id, session_id = %session.session_id, "checkout session opened");
    Ok(Json(CheckoutResponse {
        url: session.url,
        order_id,
    }))
}
