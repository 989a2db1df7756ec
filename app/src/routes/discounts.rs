//! `POST /api/discounts/validate`: what a code takes off a cart, without redeeming it.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use swag_domain::cart::{self, CartLineInput};
use swag_domain::discount::{self, AppliedDiscount, DiscountError};

use super::checkout::{entered_code, CheckoutError};
use crate::state::AppState;

/// A code and the cart it would apply to.
#[derive(Debug, Deserialize)]
pub struct ValidateRequest {
    #[serde(default)]
    code: Option<String>,
    items: Vec<CartLineInput>,
}

/// The applied code and the totals before and after it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateResponse {
    discount: AppliedDiscount,
    subtotal_cents: i64,
    total_after_discount_cents: i64,
}

pub async fn validate(
    State(state): State<AppState>,
    body: Result<Json<ValidateRequest>, JsonRejection>,
) -> Result<Json<ValidateResponse>, CheckoutError> {
    let Json(request) = body?;
    let code = entered_code(request.code.as_deref()).ok_or(DiscountError::InvalidFormat)?;
    let cart = cart::price(&state.db, &request.items).await?;
    let discount = discount::apply(&state.db, code, cart.subtotal_cents).await?;
    Ok(Json(ValidateResponse {
        total_after_discount_cents: cart.subtotal_cents - discount.discount_cents,
        subtotal_cents: cart.subtotal_cents,
        discount,
    }))
}
