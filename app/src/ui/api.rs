//! The store's JSON API as the checkout page calls it from the browser:
//! `POST /api/discounts/validate` and `POST /api/checkout`.

use std::fmt;

use gloo_net::http::Request;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::cart::CartLine;

/// A cart line as the API takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutItem {
    pub product_id: String,
    pub variant_id: String,
    pub quantity: i64,
    pub size: String,
    pub color: String,
}

impl From<&CartLine> for CheckoutItem {
    fn from(line: &CartLine) -> Self {
        Self {
            product_id: line.product_id.clone(),
            variant_id: line.variant_id.clone(),
            quantity: line.quantity,
            size: line.size.clone(),
            color: line.color.clone(),
        }
    }
}

/// A valid code applied to the cart.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscountQuote {
    pub discount: Discount,
    pub total_after_discount_cents: i64,
}

/// What a code takes off.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discount {
    pub code: String,
    pub label: String,
    pub discount_cents: i64,
}

/// A Stripe Checkout session to send the shopper to, for a new order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutSession {
    pub url: String,
    pub order_id: String,
}

/// Why a call did not give an answer to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The request did not reach the store.
    Unreachable,
    /// The store said no, and why (its `{error}`).
    Refused(String),
    /// The store answered with something else.
    Unexpected(u16),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreachable => {
                f.write_str("Could not reach the store. Check your connection and try again.")
            }
            Self::Refused(reason) => f.write_str(reason),
            Self::Unexpected(status) => write!(
                f,
                "The store could not handle that right now (HTTP {status}). Try again shortly."
            ),
        }
    }
}

#[derive(Serialize)]
struct ValidateRequest<'a> {
    code: &'a str,
    items: Vec<CheckoutItem>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckoutRequest<'a> {
    items: Vec<CheckoutItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    discount_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

/// Checks `code` against the cart.
pub async fn validate_discount(code: &str, lines: &[CartLine]) -> Result<DiscountQuote, ApiError> {
    let body = ValidateRequest {
        code,
        items: lines.iter().map(CheckoutItem::from).collect(),
    };
    post("/api/discounts/validate", &body).await
}

/// Opens a Stripe Checkout session for the cart.
pub async fn create_checkout_session(
    lines: &[CartLine],
    discount_code: Option<&str>,
) -> Result<CheckoutSession, ApiError> {
    let body = CheckoutRequest {
        items: lines.iter().map(CheckoutItem::from).collect(),
        discount_code,
    };
    post("/api/checkout", &body).await
}

async fn post<T: DeserializeOwned>(path: &str, body: &impl Serialize) -> Result<T, ApiError> {
    let response = Request::post(path)
        .json(body)
        .map_err(|_| ApiError::Unexpected(0))?
        .send()
        .await
        .map_err(|_| ApiError::Unreachable)?;
    let status = response.status();
    if response.ok() {
        return response
            .json::<T>()
            .await
            .map_err(|_| ApiError::Unexpected(status));
    }
    match response.json::<ErrorBody>().await {
        Ok(body) => Err(ApiError::Refused(body.error)),
        Err(_) => Err(ApiError::Unexpected(status)),
    }
}
