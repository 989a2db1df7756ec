//! Stripe: Checkout Sessions (with a single-use coupon for a discount), PaymentIntents and
//! refunds through async-stripe, and verification of signed webhook deliveries.

use std::collections::HashMap;
use std::time::Duration;

use ::stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeRequest};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionDiscounts, CreateCheckoutSessionLineItems,
    CreateCheckoutSessionLineItemsPriceData, CreateCheckoutSessionPhoneNumberCollection,
    CreateCheckoutSessionShippingAddressCollection,
    CreateCheckoutSessionShippingAddressCollectionAllowedCountries as Country,
    ListLineItemsCheckoutSession, ProductData, RetrieveCheckoutSession,
};
use stripe_core::payment_intent::RetrievePaymentIntent;
use stripe_core::refund::CreateRefund;
use stripe_product::coupon::CreateCoupon;
use stripe_shared::{CheckoutSessionMode, CouponDuration};
use stripe_types::Currency;
use swag_domain::cart::{PricedCart, PricedLine};
use swag_domain::catalog::size_label;
use swag_domain::discount::AppliedDiscount;

use super::Secret;
use crate::config::ConfigError;

pub use stripe_shared::{CheckoutSession, CheckoutSessionItem, PaymentIntent, Refund};

/// Stripe's API, unless `STRIPE_API_BASE` says otherwise.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com/";
/// How old (or how far in the future) a webhook signature's timestamp may be.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;
/// Stripe caps coupon names at 40 characters.
const COUPON_NAME_MAX_CHARS: usize = 40;
/// Stripe returns at most 100 line items per page.
const LINE_ITEMS_PAGE: i64 = 100;
/// How long one Stripe request may take before the caller gets an error (no default otherwise).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET` and `STRIPE_API_BASE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeSettings {
    /// Without it, checkout answers 503.
    pub secret_key: Option<Secret>,
    /// Without it, webhooks answer 503.
    pub webhook_secret: Option<Secret>,
    /// Ends with `/`; the client appends `v1/…`.
    pub api_base: String,
}

impl Default for StripeSettings {
    fn default() -> Self {
        Self {
            secret_key: None,
            webhook_secret: None,
            api_base: DEFAULT_API_BASE.to_owned(),
        }
    }
}

impl StripeSettings {
    /// Reads the Stripe variables through `get` (which treats empty values as unset).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let secret_key = get("STRIPE_SECRET_KEY").map(|key| key.trim().to_owned());
        if let Some(key) = &secret_key {
            let looks_like_a_key = (key.starts_with("sk_") || key.starts_with("rk_"))
                && key.bytes().all(|b| b.is_ascii_graphic());
            if !looks_like_a_key {
                return Err(ConfigError::Invalid {
                    key: "STRIPE_SECRET_KEY",
                    value: "[redacted]".to_owned(),
                    reason: "expected a Stripe secret key (sk_live_…, sk_test_… or rk_…)",
                });
            }
        }
        let api_base = match get("STRIPE_API_BASE") {
            Some(value) => parse_api_base(value)?,
            None => DEFAULT_API_BASE.to_owned(),
        };
        Ok(Self {
            secret_key: secret_key.map(Secret::new),
            webhook_secret: get("STRIPE_WEBHOOK_SECRET").map(|s| Secret::new(s.trim())),
            api_base,
        })
    }
}

fn parse_api_base(value: String) -> Result<String, ConfigError> {
    let parsed = url::Url::parse(value.trim()).ok().filter(|url| {
        matches!(url.scheme(), "http" | "https")
            && url.has_host()
            && url.query().is_none()
            && url.fragment().is_none()
    });
    match parsed {
        Some(url) => Ok(format!("{}/", url.as_str().trim_end_matches('/'))),
        None => Err(ConfigError::Invalid {
            key: "STRIPE_API_BASE",
            value,
            reason: "expected an http(s) URL such as https://api.stripe.com",
        }),
    }
}

/// Why a Stripe call failed.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    #[error("Stripe answered {status}: {message}")]
    Api { status: u16, message: String },
    #[error("could not reach Stripe: {0}")]
    Transport(String),
    #[error("could not read Stripe's answer: {0}")]
    Response(String),
    #[error("the Stripe client is misconfigured: {0}")]
    Config(String),
    #[error("Stripe did not return a checkout URL")]
    NoCheckoutUrl,
}

impl StripeError {
    /// Whether Stripe said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, StripeError::Api { status: 404, .. })
    }
}

impl From<::stripe::StripeError> for StripeError {
    fn from(error: ::stripe::StripeError) -> Self {
        use ::stripe::StripeError as E;
        match error {
            E::Stripe(errors, status) => StripeError::Api {
                status,
                message: errors
                    .message
                    .unwrap_or_else(|| errors.type_.as_str().to_owned()),
            },
            E::JSONDeserialize(message) => StripeError::Response(message),
            E::ClientError(message) => StripeError::Transport(message),
            E::Timeout => StripeError::Transport("timed out".to_owned()),
            E::ConfigError(message) => StripeError::Config(message),
        }
    }
}

/// What the store needs from Stripe: the API (when `STRIPE_SECRET_KEY` is set) and the secret
/// that signs webhook deliveries (when `STRIPE_WEBHOOK_SECRET` is set).
#[derive(Debug, Clone)]
pub struct Payments {
    api: Option<Stripe>,
    webhook_secret: Option<Secret>,
}

impl Payments {
    pub fn from_settings(settings: &StripeSettings) -> Result<Self, StripeError> {
        let api = settings
            .secret_key
            .as_ref()
            .map(|key| Stripe::new(key, &settings.api_base))
            .transpose()?;
        Ok(Self {
            api,
            webhook_secret: settings.webhook_secret.clone(),
        })
    }

    /// The API client, unless `STRIPE_SECRET_KEY` is unset.
    pub fn api(&self) -> Option<&Stripe> {
        self.api.as_ref()
    }

    /// The webhook signing secret, unless `STRIPE_WEBHOOK_SECRET` is unset.
    pub fn webhook_secret(&self) -> Option<&Secret> {
        self.webhook_secret.as_ref()
    }
}

/// A checkout to open for a priced cart.
#[derive(Debug, Clone, Copy)]
pub struct NewCheckout<'a> {
    pub order_id: &'a str,
    /// Where customers return to, and the `appOrigin` stamped on the session.
    pub app_origin: &'a str,
    pub cart: &'a PricedCart,
    pub discount: Option<&'a AppliedDiscount>,
}

/// An open Checkout Session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCheckout {
    pub session_id: String,
    /// Where to send the customer to pay.
    pub url: String,
}

/// The Stripe API client.
#[derive(Clone)]
pub struct Stripe {
    client: Client,
    api_base: String,
}

impl std::fmt::Debug for Stripe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stripe")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

impl Stripe {
    /// A client for `api_base` (which ends with `/`), authenticating with `secret_key`.
    pub fn new(secret_key: &Secret, api_base: &str) -> Result<Self, StripeError> {
        let client = ClientBuilder::new(secret_key.expose())
            .url(api_base)
            .app_info("inngest-swag-store", None, None)
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(Self {
            client,
            api_base: api_base.to_owned(),
        })
    }

    /// Opens a Checkout Session for `checkout`: one line per cart line (its product metadata
    /// names the variant), the discount as a single-use coupon, US/CA shipping and phone
    /// collection, and the order id and origin in the session's metadata.
    pub async fn create_checkout_session(
        &self,
        checkout: &NewCheckout<'_>,
    ) -> Result<OpenCheckout, StripeError> {
        let NewCheckout {
            order_id,
            app_origin,
            cart,
            discount,
        } = *checkout;
        let metadata = HashMap::from([
            ("orderId".to_owned(), order_id.to_owned()),
            ("appOrigin".to_owned(), app_origin.to_owned()),
            (
                "discountCode".to_owned(),
                discount.map(|d| d.code.clone()).unwrap_or_default(),
            ),
            (
                "discountAmountCents".to_owned(),
                discount
                    .map(|d| d.discount_cents.to_string())
                    .unwrap_or_default(),
            ),
        ]);
        let mut request = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Payment)
            .line_items(cart.lines.iter().map(line_item).collect::<Vec<_>>())
            .metadata(metadata)
            .success_url(format!(
                "{app_origin}/orders/confirmation?ord={order_id}&session_id={{CHECKOUT_SESSION_ID}}"
            ))
            .cancel_url(format!("{app_origin}/checkout"))
            .shipping_address_collection(CreateCheckoutSessionShippingAddressCollection::new(vec![
                Country::Us,
                Country::Ca,
            ]))
            .phone_number_collection(CreateCheckoutSessionPhoneNumberCollection::new(true));
        if let Some(discount) = discount {
            let coupon = self.create_single_use_coupon(order_id, discount).await?;
            request = request.discounts(vec![CreateCheckoutSessionDiscounts {
                coupon: Some(coupon),
                promotion_code: None,
            }]);
        }
        let session = request.send(&self.client).await?;
        let url = session.url.ok_or(StripeError::NoCheckoutUrl)?;
        Ok(OpenCheckout {
            session_id: session.id.to_string(),
            url,
        })
    }

    /// A coupon worth exactly the discount the store computed, usable once, on this order only.
    async fn create_single_use_coupon(
        &self,
        order_id: &str,
        discount: &AppliedDiscount,
    ) -> Result<String, StripeError> {
        let label = if discount.label.trim().is_empty() {
            &discount.code
        } else {
            &discount.label
        };
        let coupon = CreateCoupon::new()
            .amount_off(discount.discount_cents)
            .currency(Currency::USD)
            .duration(CouponDuration::Once)
            .max_redemptions(1)
            .name(
                label
                    .chars()
                    .take(COUPON_NAME_MAX_CHARS)
                    .collect::<String>(),
            )
            .metadata(HashMap::from([
                ("discountCode".to_owned(), discount.code.clone()),
                ("orderId".to_owned(), order_id.to_owned()),
            ]))
            .send(&self.client)
            .await?;
        Ok(coupon.id.to_string())
    }

    /// A Checkout Session by id.
    pub async fn checkout_session(&self, session_id: &str) -> Result<CheckoutSession, StripeError> {
        Ok(RetrieveCheckoutSession::new(session_id)
            .send(&self.client)
            .await?)
    }

    /// Every line item of a Checkout Session, each with its price and product (and so the
    /// product metadata written at checkout).
    pub async fn checkout_line_items(
        &self,
        session_id: &str,
    ) -> Result<Vec<CheckoutSessionItem>, StripeError> {
        let mut items: Vec<CheckoutSessionItem> = Vec::new();
        loop {
            let mut request = ListLineItemsCheckoutSession::new(session_id)
                .limit(LINE_ITEMS_PAGE)
                .expand(vec!["data.price.product".to_owned()]);
            if let Some(last) = items.last() {
                request = request.starting_after(last.id.as_str());
            }
            let page = request.send(&self.client).await?;
            let has_more = page.has_more && !page.data.is_empty();
            items.extend(page.data);
            if !has_more {
                return Ok(items);
            }
        }
    }

    /// A PaymentIntent by id.
    pub async fn payment_intent(
        &self,
        payment_intent_id: &str,
    ) -> Result<PaymentIntent, StripeError> {
        Ok(RetrievePaymentIntent::new(payment_intent_id)
            .send(&self.client)
            .await?)
    }

    /// Refunds a PaymentIntent in full. Stripe performs a request with the same
    /// `idempotency_key` once, so a retried refund is not paid out twice.
    pub async fn refund_payment(
        &self,
        payment_intent_id: &str,
        idempotency_key: &str,
    ) -> Result<Refund, StripeError> {
        let key = IdempotencyKey::new(idempotency_key)
            .map_err(|error| StripeError::Config(error.to_string()))?;
        Ok(CreateRefund::new()
            .payment_intent(payment_intent_id)
            .customize()
            .request_strategy(RequestStrategy::Idempotent(key))
            .send(&self.client)
            .await?)
    }
}

fn line_item(line: &PricedLine) -> CreateCheckoutSessionLineItems {
    let mut product = ProductData::new(line.product_name.clone());
    let mut description = Vec::new();
    if line.size != "ONE_SIZE" {
        description.push(format!("Size: {}", size_label(&line.size)));
    }
    if !line.color.is_empty() {
        description.push(format!("Color: {}", line.color));
    }
    if !description.is_empty() {
        product.description = Some(description.join(" · "));
    }
    product.metadata = Some(HashMap::from([
        ("productId".to_owned(), line.product_id.clone()),
        ("sku".to_owned(), line.sku.clone()),
        ("variantId".to_owned(), line.variant_id.clone()),
        ("size".to_owned(), line.size.clone()),
        ("color".to_owned(), line.color.clone()),
    ]));
    let mut price = CreateCheckoutSessionLineItemsPriceData::new(Currency::USD);
    price.product_data = Some(product);
    price.unit_amount = Some(line.unit_cents);
    let mut item = CreateCheckoutSessionLineItems::new();
    item.price_data = Some(price);
    item.quantity = Some(line.quantity.unsigned_abs());
    item
}

/// Why a webhook delivery's `Stripe-Signature` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing Stripe-Signature header")]
    Missing,
    #[error("malformed Stripe-Signature header (expected t=…,v1=…)")]
    Malformed,
    #[error("the Stripe-Signature timestamp is more than {SIGNATURE_TOLERANCE_SECS} s from now")]
    Stale,
    #[error("no Stripe-Signature matches the payload")]
    Mismatch,
}

/// Checks a `Stripe-Signature` header (`t=…,v1=…[,v1=…]`) against the raw `payload`: some `v1`
/// must be the HMAC-SHA256 of `{t}.{payload}` under `secret` (compared in constant time), and
/// `t` must be within [`SIGNATURE_TOLERANCE_SECS`] of `now_secs`.
pub fn verify_signature(
    payload: &[u8],
    header: Option<&str>,
    secret: &Secret,
    now_secs: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed)?,
                );
            }
            // Not hex cannot match; skip it like any other scheme.
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now_secs.abs_diff(timestamp) > SIGNATURE_TOLERANCE_SECS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let mut expected = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .map_err(|_| SignatureError::Mismatch)?;
    expected.update(timestamp.to_string().as_bytes());
    expected.update(b".");
    expected.update(payload);
    let matches = signatures
        .iter()
        .any(|signature| expected.clone().verify_slice(signature).is_ok());
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const PAYLOAD: &[u8] = br#"{"id":"evt_1","type":"checkout.session.completed"}"#;
    const T: i64 = 1_700_000_000;
    /// HMAC-SHA256 of `1700000000.{PAYLOAD}` under SECRET, computed independently (Python hmac).
    const V1: &str = "a13d4b1f9003bc2fb6c06224e878b6056185eaa50d40e1e7dc05517f8af41d7b";

    fn sign(t: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(PAYLOAD);
        hex::encode(mac.finalize().into_bytes())
    }

    fn verify(header: Option<&str>, now: i64) -> Result<(), SignatureError> {
        verify_signature(PAYLOAD, header, &Secret::new(SECRET), now)
    }

    #[test]
    fn matches_an_independently_computed_signature() {
        assert_eq!(sign(T), V1);
        assert_eq!(verify(Some(&format!("t={T},v1={V1}")), T), Ok(()));
    }

    #[test]
    fn accepts_any_matching_v1_among_several_and_ignores_other_schemes() {
        let header = format!("t={T},v0=abc,v1={},v1={}", "00".repeat(32), sign(T));
        assert_eq!(verify(Some(&header), T + 10), Ok(()));
    }

    #[test]
    fn refuses_missing_malformed_stale_and_wrong_signatures() {
        assert_eq!(verify(None, T), Err(SignatureError::Missing));
        assert_eq!(verify(Some("garbage"), T), Err(SignatureError::Malformed));
        assert_eq!(
            verify(Some(&format!("v1={}", sign(T))), T),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some(&format!("t={T}")), T),
            Err(SignatureError::Malformed)
        );
        let signed = format!("t={T},v1={}", sign(T));
        assert_eq!(verify(Some(&signed), T + 301), Err(SignatureError::Stale));
        assert_eq!(verify(Some(&signed), T - 301), Err(SignatureError::Stale));
        assert_eq!(verify(Some(&signed), T + 300), Ok(()));
        let wrong = format!("t={T},v1={}", sign(T + 1));
        assert_eq!(verify(Some(&wrong), T), Err(SignatureError::Mismatch));
        let other_secret = verify_signature(PAYLOAD, Some(&signed), &Secret::new("whsec_other"), T);
        assert_eq!(other_secret, Err(SignatureError::Mismatch));
    }

    #[test]
    fn settings_default_to_stripe_and_normalise_the_base_url() {
        let settings = StripeSettings::from_lookup(|_| None).unwrap();
        assert_eq!(settings, StripeSettings::default());
        let settings = StripeSettings::from_lookup(|key| match key {
            "STRIPE_API_BASE" => Some("http://127.0.0.1:4010".to_owned()),
            "STRIPE_SECRET_KEY" => Some("sk_test_abc".to_owned()),
            _ => None,
        })
        .unwrap();
        assert_eq!(settings.api_base, "http://127.0.0.1:4010/");
        assert_eq!(settings.secret_key, Some(Secret::new("sk_test_abc")));
    }

    #[test]
    fn settings_refuse_a_bad_key_without_echoing_it() {
        let error = StripeSettings::from_lookup(|key| {
            (key == "STRIPE_SECRET_KEY").then(|| "pk_live_oops".to_owned())
        })
        .unwrap_err();
        assert!(!error.to_string().contains("pk_live_oops"), "{error}");
        let error = StripeSettings::from_lookup(|key| {
            (key == "STRIPE_API_BASE").then(|| "api.stripe.com".to_owned())
        })
        .unwrap_err();
        assert!(error.to_string().starts_with("STRIPE_API_BASE="));
    }

    #[test]
    fn settings_debug_output_hides_the_secrets() {
        let settings = StripeSettings {
            secret_key: Some(Secret::new("sk_test_hidden")),
            webhook_secret: Some(Secret::new("whsec_hidden")),
            api_base: DEFAULT_API_BASE.to_owned(),
        };
        let debug = format!("{settings:?}");
        assert!(!debug.contains("hidden"), "{debug}");
    }
}
