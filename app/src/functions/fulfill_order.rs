//! `fulfill-order`: turns a placed order into a paid, reserved, confirmed and recorded one, one
//! durable step at a time; when a run fails for good, its failure handler records the order for
//! ops ("NEEDS ATTENTION…"), gives back the stock it held (exactly once), refunds the payment
//! and alerts Slack. Step outputs, logs and realtime messages carry no customer data.

use std::fmt::Display;
use std::future::Future;

use chrono::{SecondsFormat, Utc};
use inngest::{Context, Error, Event, Function, FunctionFailed, FunctionOpts, Trigger};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use swag_domain::discount::{self, DiscountError};
use swag_domain::inventory::{self, InventoryError, ReserveLine, ReserveOutcome, StockMove};
use swag_domain::order::OrderStatus;
use swag_domain::orders::{
    self, Customer, FailedOrderRecord, NewOrder, NewOrderItem, RecordedOrder, ShipTo,
};
use swag_domain::timeline::StepStatus;

use super::payments::{PaymentError, RefundReceipt, SUCCEEDED};
use super::{FunctionDeps, Service};
use crate::events::{
    CustomerDetails, InventoryChanged, LineItem, OrderDiscount, OrderPlaced, INVENTORY_CHANGED,
    ORDER_PLACED,
};
use crate::integrations::email::{ConfirmationLine, OrderConfirmation};
use crate::integrations::sheets::OrderRow;
use crate::integrations::slack::{self, SlackMessage};
use crate::progress::Progress;

/// The function id.
pub const FUNCTION_ID: &str = "fulfill-order";
/// Attempts after the first, per step.
const RETRIES: u32 = 3;
/// Who the ledger names for stock moved by fulfilment.
const LEDGER_ACTOR: &str = "fulfill-order";
/// Failure reasons are cut to this many characters in notes, statuses and alerts.
const REASON_MAX_CHARS: usize = 500;

/// Step ids; the order timeline shows them by these names.
pub mod step {
    pub const CAPTURE_PAYMENT: &str = "capture-payment";
    pub const RECORD_DISCOUNT_REDEMPTION: &str = "record-discount-redemption";
    pub const RESERVE_INVENTORY: &str = "reserve-inventory";
    pub const SEND_INVENTORY_CHANGED: &str = "send-inventory-changed";
    pub const SEND_CONFIRMATION: &str = "send-confirmation";
    pub const RECORD_ORDER: &str = "record-order";
    pub const RECORD_TO_SHEET: &str = "record-to-sheet";
    pub const PUBLISH_ORDER_STATUS: &str = "publish-order-status";
    pub const CHECK_EXISTING_ORDER: &str = "check-existing-order";
    pub const RECORD_FAILED_ORDER: &str = "record-failed-order";
    pub const RELEASE_INVENTORY: &str = "release-inventory";
    pub const SEND_INVENTORY_RELEASED: &str = "send-inventory-released";
    pub const REFUND_PAYMENT: &str = "refund-payment";
    pub const NOTE_REFUND: &str = "note-refund";
    pub const PUBLISH_FAILED_STATUS: &str = "publish-failed-status";
    pub const SEND_OPS_ALERT: &str = "send-ops-alert";
}

/// The function and its failure handler, triggered only by orders of this deployment.
pub fn function(deps: FunctionDeps) -> Function {
    // A JSON string is a valid CEL string literal, escapes included.
    let origin = Value::from(deps.app_origin.as_str());
    let opts = FunctionOpts::new(FUNCTION_ID)
        .name("Fulfill order")
        .trigger(Trigger::event(ORDER_PLACED).with_if(format!("event.data.appOrigin == {origin}")))
        .retries(RETRIES);
    let on_failure = deps.clone();
    Function::new(opts, move |ctx: Context<OrderPlaced>| {
        fulfill(ctx, deps.clone())
    })
    // The options are constants of this file; only a code change can make them invalid.
    .expect("fulfill-order's options are valid")
    .on_failure(move |ctx: Context<FunctionFailed<FailedOrderEvent>>| {
        compensate(ctx, on_failure.clone())
    })
}

/// The run's output: what happened, PII-free.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentSummary {
    pub order_id: String,
    pub status: OrderStatus,
    pub payment: String,
    pub discount_code: Option<String>,
    pub reserved: Vec<StockMove>,
    pub confirmation_sent: bool,
    pub recorded_to_sheet: bool,
}

/// `capture-payment`'s output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentOutcome {
    /// `mocked` (no PaymentIntent) or `succeeded`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<String>,
}

/// `record-discount-redemption`'s output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedemptionOutcome {
    pub code: String,
    pub amount_cents: i64,
    /// False when this checkout session had already redeemed the code.
    pub newly_recorded: bool,
}

/// Outcome of a step that never fails the run (email, sheet, Slack).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SideEffect {
    /// Whether the message or row went out.
    pub sent: bool,
    /// Why not, when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The provider's id or range, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl SideEffect {
    fn done(reference: Option<String>) -> Self {
        Self {
            sent: true,
            reason: None,
            reference,
        }
    }

    fn not_done(reason: impl Into<String>) -> Self {
        Self {
            sent: false,
            reason: Some(reason.into()),
            reference: None,
        }
    }
}

async fn fulfill(
    ctx: Context<OrderPlaced>,
    deps: FunctionDeps,
) -> Result<FulfillmentSummary, Error> {
    let order = &ctx.event.data;
    let id = order.order_id.as_str();
    let progress = Progress::new(deps.db.clone(), deps.realtime.clone());
    let track = Tracker {
        progress: &progress,
        order_id: id,
    };

    let payment: PaymentOutcome = ctx
        .step
        .run(step::CAPTURE_PAYMENT, || {
            track.run(step::CAPTURE_PAYMENT, capture_payment(&deps, order))
        })
        .await?;
    if let Some(discount) = &order.discount {
        let _redeemed: RedemptionOutcome = ctx
            .step
            .run(step::RECORD_DISCOUNT_REDEMPTION, || {
                track.run(
                    step::RECORD_DISCOUNT_REDEMPTION,
                    redeem_discount(&deps, order, discount),
                )
            })
            .await?;
    }
    let reserved: ReserveOutcome = ctx
        .step
        .run(step::RESERVE_INVENTORY, || {
            track.run(step::RESERVE_INVENTORY, reserve_inventory(&deps, order))
        })
        .await?;
    let changed = InventoryChanged {
        app_origin: deps.app_origin.clone(),
        source: FUNCTION_ID.to_owned(),
        reason: "order reserved".to_owned(),
        order_id: Some(id.to_owned()),
        batch_id: Some(inventory::reservation_batch(id)),
        variant_ids: reserved
            .moves
            .iter()
            .map(|m| m.variant_id.clone())
            .collect(),
        ..Default::default()
    };
    ctx.step
        .send_event(
            step::SEND_INVENTORY_CHANGED,
            vec![Event::new(INVENTORY_CHANGED, changed)
                .with_id(format!("inventory-changed-order-{id}"))],
        )
        .await?;
    let confirmation: SideEffect = ctx
        .step
        .run(step::SEND_CONFIRMATION, || {
            track.run(step::SEND_CONFIRMATION, async {
                Ok(send_confirmation(&deps, order).await)
            })
        })
        .await?;
    let recorded: RecordedOrder = ctx
        .step
        .run(step::RECORD_ORDER, || {
            track.run(step::RECORD_ORDER, record_order(&deps, order))
        })
        .await?;
    // The sheet mirrors the database: its step is retried, and if it still fails the order
    // stands and the failure is logged.
    let sheet: SideEffect = match ctx
        .step
        .run(step::RECORD_TO_SHEET, || {
            track.run(
                step::RECORD_TO_SHEET,
                record_to_sheet(&deps, order, &recorded),
            )
        })
        .await
    {
        Ok(outcome) => outcome,
        Err(error) if error.is_step_failure() => {
            tracing::error!(order_id = id, error = %error.message(), "order not recorded to the sheet");
            SideEffect::not_done(error.message())
        }
        Err(error) => return Err(error),
    };
    ctx.step
        .run(step::PUBLISH_ORDER_STATUS, || async {
            let detail = json!({
                "items": order.line_items.iter().map(|l| l.quantity).sum::<i64>(),
                "totalCents": order.amount_total,
                "currency": order.currency,
            });
            progress
                .status(id, recorded.status.as_str(), Some(detail))
                .await
                .map_err(transient)
        })
        .await?;

    Ok(FulfillmentSummary {
        order_id: id.to_owned(),
        status: recorded.status,
        payment: payment.status,
        discount_code: order.discount.as_ref().map(|d| d.code.clone()),
        reserved: reserved.moves,
        confirmation_sent: confirmation.sent,
        recorded_to_sheet: sheet.sent,
    })
}

/// Publishes a step's running/complete/failed around its work. Called inside the step, so it
/// reports each attempt once. Progress is best effort: a timeline hiccup must not fail (and so
/// repeat) the step's side effects.
#[derive(Clone, Copy)]
struct Tracker<'a> {
    progress: &'a Progress,
    order_id: &'a str,
}

impl Tracker<'_> {
    async fn run<T: Serialize>(
        self,
        step: &str,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        self.report(step, StepStatus::Running, None).await;
        let result = work.await;
        match &result {
            Ok(output) => {
                let detail = serde_json::to_value(output).ok();
                self.report(step, StepStatus::Complete, detail).await;
            }
            Err(error) => {
                let detail = json!({ "error": truncated(error.message()) });
                self.report(step, StepStatus::Failed, Some(detail)).await;
            }
        }
        result
    }

    async fn report(self, step: &str, status: StepStatus, detail: Option<Value>) {
        if let Err(error) = self
            .progress
            .step(self.order_id, step, status, detail)
            .await
        {
            tracing::warn!(order_id = self.order_id, step, %error, "step progress not recorded");
        }
    }
}

/// An error retrying cannot fix.
fn permanent(error: impl Display) -> Error {
    Error::non_retriable(error.to_string())
}

/// An error worth retrying.
fn transient(error: impl Display) -> Error {
    Error::new(error.to_string())
}

fn payment_error(error: PaymentError) -> Error {
    match error {
        PaymentError::Refused(_) => permanent(error),
        PaymentError::Unavailable(_) => transient(error),
    }
}

fn payment_intent(id: &Option<String>) -> Option<&str> {
    id.as_deref().map(str::trim).filter(|id| !id.is_empty())
}

async fn capture_payment(
    deps: &FunctionDeps,
    order: &OrderPlaced,
) -> Result<PaymentOutcome, Error> {
    let Some(intent) = payment_intent(&order.stripe_payment_intent_id) else {
        return Ok(PaymentOutcome {
            status: "mocked".to_owned(),
            payment_intent: None,
        });
    };
    let gateway = deps.payments.as_ref().ok_or_else(|| {
        permanent("the order has a PaymentIntent but STRIPE_SECRET_KEY is not set")
    })?;
    let status = gateway
        .retrieve_payment_intent_status(intent)
        .await
        .map_err(payment_error)?;
    if status != SUCCEEDED {
        return Err(permanent(format!(
            "payment {intent} has not succeeded (status {status})"
        )));
    }
    Ok(PaymentOutcome {
        status,
        payment_intent: Some(intent.to_owned()),
    })
}

async fn redeem_discount(
    deps: &FunctionDeps,
    order: &OrderPlaced,
    discount: &OrderDiscount,
) -> Result<RedemptionOutcome, Error> {
    let redemption = discount::redeem(
        &deps.db,
        &discount.code,
        &order.stripe_session_id,
        &order.order_id,
        discount.amount_cents,
    )
    .await
    .map_err(|error| match error {
        DiscountError::Database(_) => transient(error),
        _ => permanent(error),
    })?;
    Ok(RedemptionOutcome {
        code: redemption.code,
        amount_cents: redemption.amount_cents,
        newly_recorded: redemption.newly_recorded,
    })
}

/// The event's lines as order items; a quantity outside 1..=i32::MAX is refused for good.
fn order_items(lines: &[LineItem]) -> Result<Vec<NewOrderItem>, Error> {
    lines
        .iter()
        .map(|line| {
            let quantity = i32::try_from(line.quantity)
                .ok()
                .filter(|q| *q >= 1)
                .ok_or_else(|| {
                    permanent(format!(
                        "line {} has an invalid quantity {}",
                        line.variant_id, line.quantity
                    ))
                })?;
            Ok(NewOrderItem {
                product_id: line.product_id.clone(),
                variant_id: line.variant_id.clone(),
                sku: line.sku.clone(),
                name: line.product_name.clone(),
                size: line.size.clone(),
                color: line.color.clone(),
                quantity,
                amount_total: line.amount_total,
            })
        })
        .collect()
}

async fn reserve_inventory(
    deps: &FunctionDeps,
    order: &OrderPlaced,
) -> Result<ReserveOutcome, Error> {
    let items = order_items(&order.line_items)?;
    if items.is_empty() {
        return Err(permanent("the order has no line items"));
    }
    let lines: Vec<ReserveLine> = items
        .iter()
        .map(|item| ReserveLine {
            variant_id: item.variant_id.clone(),
            quantity: item.quantity,
        })
        .collect();
    inventory::reserve_for_order(&deps.db, &order.order_id, &lines, LEDGER_ACTOR)
        .await
        .map_err(|error| match error {
            InventoryError::Database(_) => transient(error),
            _ => permanent(error),
        })
}

fn line_label(line: &LineItem) -> String {
    let variant: Vec<&str> = [line.size.as_str(), line.color.as_str()]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect();
    if variant.is_empty() {
        line.product_name.clone()
    } else {
        format!("{} ({})", line.product_name, variant.join(" / "))
    }
}

/// Never fails: a confirmation that cannot be sent is reported, not retried into a failed order.
async fn send_confirmation(deps: &FunctionDeps, order: &OrderPlaced) -> SideEffect {
    let id = order.order_id.as_str();
    let client = match &deps.email {
        Service::Ready(client) => client,
        Service::Off { reason } => {
            tracing::info!(order_id = id, %reason, "confirmation email skipped");
            return SideEffect::not_done(reason.clone());
        }
    };
    let to = order.encrypted.customer_email.trim();
    if to.is_empty() {
        tracing::info!(
            order_id = id,
            "confirmation email skipped: no customer email"
        );
        return SideEffect::not_done("the order has no customer email");
    }
    let email = OrderConfirmation {
        order_id: id.to_owned(),
        lines: order
            .line_items
            .iter()
            .map(|line| ConfirmationLine {
                name: line_label(line),
                quantity: line.quantity,
            })
            .collect(),
        total_cents: order.amount_total,
        currency: order.currency.clone(),
        order_url: format!("{}/orders/{id}", deps.app_origin),
    }
    .to_email(to);
    match client
        .send(&email, &format!("order-confirmation/{id}"))
        .await
    {
        Ok(sent) => SideEffect::done(sent.id),
        Err(error) => {
            tracing::warn!(order_id = id, %error, "confirmation email not sent");
            SideEffect::not_done(error.to_string())
        }
    }
}

/// The order facts both handlers record, with customer details when they are readable.
struct OrderFacts<'a> {
    order_id: &'a str,
    stripe_session_id: &'a str,
    customer: Option<&'a CustomerDetails>,
    amount_total: i64,
    currency: &'a str,
    discount: Option<&'a OrderDiscount>,
}

impl OrderFacts<'_> {
    fn new_order(&self, items: Vec<NewOrderItem>) -> NewOrder {
        let (customer, ship_to) = match self.customer {
            Some(details) => {
                let shipping = &details.shipping;
                let address = if shipping.line2.trim().is_empty() {
                    shipping.line1.clone()
                } else {
                    format!("{}, {}", shipping.line1, shipping.line2)
                };
                (
                    Customer {
                        email: details.customer_email.clone(),
                        name: details.customer_name.clone(),
                        phone: details.customer_phone.clone(),
                    },
                    ShipTo {
                        address,
                        city: shipping.city.clone(),
                        state: shipping.state.clone(),
                        zip: shipping.postal_code.clone(),
                        country: shipping.country.clone(),
                    },
                )
            }
            None => (Customer::default(), ShipTo::default()),
        };
        NewOrder {
            order_id: self.order_id.to_owned(),
            customer,
            ship_to,
            total_cents: self.amount_total,
            currency: self.currency.to_owned(),
            stripe_session_id: Some(self.stripe_session_id.trim())
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            discount_code: self.discount.map(|d| d.code.clone()),
            discount_amount_cents: self.discount.map_or(0, |d| d.amount_cents),
            items,
        }
    }
}

fn placed_facts(order: &OrderPlaced) -> OrderFacts<'_> {
    OrderFacts {
        order_id: &order.order_id,
        stripe_session_id: &order.stripe_session_id,
        customer: Some(&order.encrypted),
        amount_total: order.amount_total,
        currency: &order.currency,
        discount: order.discount.as_ref(),
    }
}

async fn record_order(deps: &FunctionDeps, order: &OrderPlaced) -> Result<RecordedOrder, Error> {
    let new = placed_facts(order).new_order(order_items(&order.line_items)?);
    orders::record_order(&deps.db, &new).await.map_err(|error| {
        if error.is_permanent() {
            permanent(error)
        } else {
            transient(error)
        }
    })
}

async fn record_to_sheet(
    deps: &FunctionDeps,
    order: &OrderPlaced,
    recorded: &RecordedOrder,
) -> Result<SideEffect, Error> {
    let sheet = match &deps.orders_sheet {
        Service::Ready(sheet) => sheet,
        Service::Off { reason } => {
            tracing::info!(order_id = %order.order_id, %reason, "sheet row skipped");
            return Ok(SideEffect::not_done(reason.clone()));
        }
    };
    let new = placed_facts(order).new_order(order_items(&order.line_items)?);
    let row = OrderRow {
        order_id: new.order_id.clone(),
        created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        email: new.customer.email.clone(),
        name: new.customer.name.clone(),
        items: orders::items_label(&new.items),
        total_cents: new.total_cents,
        currency: new.currency.to_ascii_uppercase(),
        ship_address: new.ship_to.address.clone(),
        ship_city: new.ship_to.city.clone(),
        ship_state: new.ship_to.state.clone(),
        ship_zip: new.ship_to.zip.clone(),
        ship_country: new.ship_to.country.clone(),
        phone: new.customer.phone.clone(),
        status: recorded.status.as_str().to_owned(),
        tracking: String::new(),
        notes: String::new(),
        discount_code: new.discount_code.clone().unwrap_or_default(),
        discount_amount_cents: new.discount_amount_cents,
    };
    let appended = sheet.append_order(&row).await.map_err(transient)?;
    Ok(SideEffect::done(appended.updated_range))
}

/// The order in an `inngest/function.failed` event. Customer details stay sealed when
/// encryption is on (the SDK opens only a trigger's own `encrypted` field), so they are read
/// when plain and otherwise left out of the failed-order row.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedOrderEvent {
    pub order_id: String,
    pub stripe_session_id: String,
    #[serde(default)]
    pub stripe_payment_intent_id: Option<String>,
    #[serde(default)]
    pub encrypted: Value,
    pub amount_total: i64,
    pub currency: String,
    #[serde(default)]
    pub discount: Option<OrderDiscount>,
    pub line_items: Vec<LineItem>,
}

/// `check-existing-order`'s output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExistingOrder {
    pub exists: bool,
    pub status: Option<OrderStatus>,
}

/// `refund-payment`'s output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundOutcome {
    /// `refunded`, `skipped` or `failed`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<RefundReceipt>,
}

impl RefundOutcome {
    fn skipped(reason: impl Into<String>) -> Self {
        Self {
            status: "skipped".to_owned(),
            reason: Some(reason.into()),
            receipt: None,
        }
    }
}

/// The failure handler's output, PII-free.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompensationSummary {
    pub order_id: String,
    pub recorded: FailedOrderRecord,
    /// Units given back by this handler (zero when nothing was held or it was already released).
    pub released_units: i64,
    pub release_error: Option<String>,
    pub refund: RefundOutcome,
    pub ops_alerted: bool,
}

async fn compensate(
    ctx: Context<FunctionFailed<FailedOrderEvent>>,
    deps: FunctionDeps,
) -> Result<CompensationSummary, Error> {
    let failed = &ctx.event.data;
    let order = &failed.event.data;
    let id = order.order_id.as_str();
    let reason = truncated(&failed.error.message);
    let progress = Progress::new(deps.db.clone(), deps.realtime.clone());
    let track = Tracker {
        progress: &progress,
        order_id: id,
    };

    let existing: ExistingOrder = ctx
        .step
        .run(step::CHECK_EXISTING_ORDER, || {
            track.run(step::CHECK_EXISTING_ORDER, async {
                let status = orders::status_of(&deps.db, id).await.map_err(transient)?;
                Ok(ExistingOrder {
                    exists: status.is_some(),
                    status,
                })
            })
        })
        .await?;
    let recorded: FailedOrderRecord = ctx
        .step
        .run(step::RECORD_FAILED_ORDER, || {
            track.run(
                step::RECORD_FAILED_ORDER,
                record_failed_order(&deps, order, &reason),
            )
        })
        .await?;
    let released: Result<Vec<StockMove>, Error> = ctx
        .step
        .run(step::RELEASE_INVENTORY, || {
            track.run(step::RELEASE_INVENTORY, async {
                inventory::release_for_order(&deps.db, id, "fulfilment failed", LEDGER_ACTOR)
                    .await
                    .map_err(transient)
            })
        })
        .await;
    let released = match released {
        Ok(moves) => Ok(moves),
        Err(error) if error.is_step_failure() => Err(error.message().to_owned()),
        Err(error) => return Err(error),
    };
    if let Ok(moves) = &released {
        if !moves.is_empty() {
            let changed = InventoryChanged {
                app_origin: deps.app_origin.clone(),
                source: FUNCTION_ID.to_owned(),
                reason: "order failed; reservation released".to_owned(),
                order_id: Some(id.to_owned()),
                batch_id: Some(format!("rel_{id}")),
                variant_ids: moves.iter().map(|m| m.variant_id.clone()).collect(),
                ..Default::default()
            };
            ctx.step
                .send_event(
                    step::SEND_INVENTORY_RELEASED,
                    vec![Event::new(INVENTORY_CHANGED, changed)
                        .with_id(format!("inventory-changed-release-{id}"))],
                )
                .await?;
        }
    }
    let refund = match ctx
        .step
        .run(step::REFUND_PAYMENT, || {
            track.run(step::REFUND_PAYMENT, refund_payment(&deps, order))
        })
        .await
    {
        Ok(refund) => refund,
        Err(error) if error.is_step_failure() => RefundOutcome {
            status: "failed".to_owned(),
            reason: Some(error.message().to_owned()),
            receipt: None,
        },
        Err(error) => return Err(error),
    };
    if let Some(receipt) = &refund.receipt {
        ctx.step
            .run(step::NOTE_REFUND, || {
                track.run(step::NOTE_REFUND, async {
                    let note = format!("Refunded automatically ({}).", receipt.refund_id);
                    orders::add_note(&deps.db, id, &note)
                        .await
                        .map_err(transient)
                })
            })
            .await?;
    }
    let released_units: i64 = released
        .as_ref()
        .map(|moves| moves.iter().map(|m| i64::from(m.change)).sum())
        .unwrap_or(0);
    ctx.step
        .run(step::PUBLISH_FAILED_STATUS, || async {
            let detail = json!({
                "reason": reason,
                "releasedUnits": released_units,
                "refund": refund.status,
            });
            progress
                .status(id, "failed", Some(detail))
                .await
                .map_err(transient)
        })
        .await?;
    let alert = OpsAlert {
        order,
        reason: &reason,
        existing: &existing,
        released: &released,
        released_units,
        refund: &refund,
        run_id: &failed.run_id,
        app_origin: &deps.app_origin,
    }
    .message();
    let alerted = match ctx
        .step
        .run(step::SEND_OPS_ALERT, || {
            track.run(step::SEND_OPS_ALERT, send_ops_alert(&deps, id, &alert))
        })
        .await
    {
        Ok(outcome) => outcome,
        Err(error) if error.is_step_failure() => {
            tracing::error!(order_id = id, error = %error.message(), "ops alert not sent");
            SideEffect::not_done(error.message())
        }
        Err(error) => return Err(error),
    };

    Ok(CompensationSummary {
        order_id: id.to_owned(),
        recorded,
        released_units,
        release_error: released.err(),
        refund,
        ops_alerted: alerted.sent,
    })
}

async fn record_failed_order(
    deps: &FunctionDeps,
    order: &FailedOrderEvent,
    reason: &str,
) -> Result<FailedOrderRecord, Error> {
    let customer = serde_json::from_value::<CustomerDetails>(order.encrypted.clone()).ok();
    let facts = OrderFacts {
        order_id: &order.order_id,
        stripe_session_id: &order.stripe_session_id,
        customer: customer.as_ref(),
        amount_total: order.amount_total,
        currency: &order.currency,
        discount: order.discount.as_ref(),
    };
    // Lines the schema would refuse are left off: this row is for ops to follow up on.
    let items = order
        .line_items
        .iter()
        .filter_map(|line| order_items(std::slice::from_ref(line)).ok())
        .flatten()
        .collect();
    let note = format!(
        "NEEDS ATTENTION: fulfilment failed — {reason}. Stock held for the order is released and \
         a captured payment refunded automatically; check the refund and contact the customer."
    );
    orders::record_failed_order(&deps.db, &facts.new_order(items), &note)
        .await
        .map_err(|error| {
            if error.is_permanent() {
                permanent(error)
            } else {
                transient(error)
            }
        })
}

async fn refund_payment(
    deps: &FunctionDeps,
    order: &FailedOrderEvent,
) -> Result<RefundOutcome, Error> {
    let Some(intent) = payment_intent(&order.stripe_payment_intent_id) else {
        return Ok(RefundOutcome::skipped("no payment was taken (mocked)"));
    };
    let Some(gateway) = &deps.payments else {
        return Ok(RefundOutcome::skipped(
            "STRIPE_SECRET_KEY is not set; refund by hand",
        ));
    };
    let status = gateway
        .retrieve_payment_intent_status(intent)
        .await
        .map_err(payment_error)?;
    if status != SUCCEEDED {
        return Ok(RefundOutcome::skipped(format!(
            "the payment was not captured (status {status})"
        )));
    }
    // The order id as idempotency key: however often this runs, Stripe refunds once.
    let receipt = gateway
        .refund(&order.order_id, intent, &order.order_id)
        .await
        .map_err(payment_error)?;
    Ok(RefundOutcome {
        status: "refunded".to_owned(),
        reason: None,
        receipt: Some(receipt),
    })
}

/// The Slack message about a failed order: ids, amounts and outcomes, no customer data.
struct OpsAlert<'a> {
    order: &'a FailedOrderEvent,
    reason: &'a str,
    existing: &'a ExistingOrder,
    released: &'a Result<Vec<StockMove>, String>,
    released_units: i64,
    refund: &'a RefundOutcome,
    run_id: &'a str,
    app_origin: &'a str,
}

impl OpsAlert<'_> {
    fn message(&self) -> SlackMessage {
        let id = &self.order.order_id;
        let stock = match self.released {
            Ok(moves) if moves.is_empty() => "nothing was held".to_owned(),
            Ok(moves) => format!(
                "{} unit(s) released ({})",
                self.released_units,
                moves
                    .iter()
                    .map(|m| format!("{} +{}", m.sku, m.change))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Err(error) => format!("RELEASE FAILED — {error}"),
        };
        let refund = match (&self.refund.receipt, &self.refund.reason) {
            (Some(receipt), _) => format!("refunded ({})", receipt.refund_id),
            (None, Some(reason)) => format!("{} — {reason}", self.refund.status),
            (None, None) => self.refund.status.clone(),
        };
        let row = match self.existing.status {
            Some(status) => format!("order row was {status}; now cancelled"),
            None => "order row created as cancelled".to_owned(),
        };
        let total = format!(
            "{}.{:02} {}",
            self.order.amount_total / 100,
            (self.order.amount_total % 100).abs(),
            self.order.currency.to_ascii_uppercase()
        );
        SlackMessage {
            text: format!(
                "NEEDS ATTENTION: order {id} failed — {}. Stock: {stock}. Refund: {refund}.",
                self.reason
            ),
            blocks: vec![
                slack::section(format!(
                    "*Order `{id}` needs attention*\nFulfilment failed: {}",
                    self.reason
                )),
                slack::section(format!(
                    "• Stock: {stock}\n• Refund: {refund}\n• Total: {total}\n• {row}"
                )),
                slack::context(format!(
                    "{FUNCTION_ID} run {} · {}",
                    self.run_id, self.app_origin
                )),
            ],
        }
    }
}

async fn send_ops_alert(
    deps: &FunctionDeps,
    order_id: &str,
    message: &SlackMessage,
) -> Result<SideEffect, Error> {
    match &deps.ops_alerts {
        Service::Ready(webhook) => {
            webhook.post(message).await.map_err(transient)?;
            Ok(SideEffect::done(None))
        }
        Service::Off { reason } => {
            tracing::warn!(order_id, %reason, "ops alert skipped; the failed order needs attention");
            Ok(SideEffect::not_done(reason.clone()))
        }
    }
}

fn truncated(message: &str) -> String {
    match message.char_indices().nth(REASON_MAX_CHARS) {
        Some((end, _)) => format!("{}…", &message[..end]),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_reasons_are_cut() {
        assert_eq!(truncated("short"), "short");
        let long = "é".repeat(REASON_MAX_CHARS + 10);
        assert_eq!(truncated(&long).chars().count(), REASON_MAX_CHARS + 1);
    }

    #[test]
    fn invalid_quantities_are_refused_for_good() {
        let line = LineItem {
            description: "Tee".into(),
            quantity: 0,
            amount_total: 0,
            price_id: None,
            product_id: "p".into(),
            product_name: "Tee".into(),
            sku: "T".into(),
            variant_id: "v".into(),
            size: "M".into(),
            color: String::new(),
        };
        let error = order_items(std::slice::from_ref(&line)).expect_err("zero units");
        assert!(!error.is_retriable());
        assert_eq!(line_label(&line), "Tee (M)");
    }
}
