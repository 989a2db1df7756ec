//! What fulfilment needs from the payment provider — a PaymentIntent's status and an idempotent
//! full refund — as a trait, implemented by the Stripe client.

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::integrations::stripe::{Stripe, StripeError};

/// Why the provider could not answer. Messages carry no customer data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The provider refused the request; asking again will not help.
    #[error("the payment provider refused: {0}")]
    Refused(String),
    /// The provider could not be reached or had a hiccup; try again later.
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
}

/// A refund the provider accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundReceipt {
    pub refund_id: String,
    /// The provider's refund status (`pending`, `succeeded`, …) when it gave one.
    pub status: Option<String>,
}

/// The provider's status name for a successful payment.
pub const SUCCEEDED: &str = "succeeded";

/// The payment operations fulfilment uses.
pub trait PaymentGateway: Send + Sync {
    /// The PaymentIntent's status name (`succeeded`, `processing`, `requires_payment_method`, …).
    fn retrieve_payment_intent_status<'a>(
        &'a self,
        payment_intent: &'a str,
    ) -> BoxFuture<'a, Result<String, PaymentError>>;

    /// Refunds `payment_intent` in full for `order_id`; the same `idempotency_key` refunds at
    /// most once.
    fn refund<'a>(
        &'a self,
        order_id: &'a str,
        payment_intent: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<RefundReceipt, PaymentError>>;
}

impl From<StripeError> for PaymentError {
    fn from(error: StripeError) -> Self {
        match &error {
            StripeError::Api { status, .. } if *status != 429 && *status < 500 => {
                PaymentError::Refused(error.to_string())
            }
            StripeError::Config(_) => PaymentError::Refused(error.to_string()),
            _ => PaymentError::Unavailable(error.to_string()),
        }
    }
}

impl PaymentGateway for Stripe {
    fn retrieve_payment_intent_status<'a>(
        &'a self,
        payment_intent: &'a str,
    ) -> BoxFuture<'a, Result<String, PaymentError>> {
        Box::pin(async move {
            let intent = self.payment_intent(payment_intent).await?;
            Ok(intent.status.as_str().to_owned())
        })
    }

    fn refund<'a>(
        &'a self,
        order_id: &'a str,
        payment_intent: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<RefundReceipt, PaymentError>> {
        Box::pin(async move {
            tracing::info!(order_id, payment_intent, "refunding the order's payment");
            let refund = self.refund_payment(payment_intent, idempotency_key).await?;
            Ok(RefundReceipt {
                refund_id: refund.id.as_str().to_owned(),
                status: refund.status,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_are_refusals_and_the_rest_is_unavailability() {
        let api = |status| StripeError::Api {
            status,
            message: "m".into(),
        };
        assert!(matches!(
            PaymentError::from(api(400)),
            PaymentError::Refused(_)
        ));
        assert!(matches!(
            PaymentError::from(api(429)),
            PaymentError::Unavailable(_)
        ));
        assert!(matches!(
            PaymentError::from(api(503)),
            PaymentError::Unavailable(_)
        ));
        assert!(matches!(
            PaymentError::from(StripeError::Transport("reset".into())),
            PaymentError::Unavailable(_)
        ));
    }
}
