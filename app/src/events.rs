//! The store's events: names and typed payloads, shared by whoever sends them (the Stripe
//! webhook, the agent API) and the functions they trigger. PII travels only inside
//! `encrypted`, which the encryption middleware seals when `INNGEST_ENCRYPTION_KEY` is set.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A paid (or free) order to fulfil.
pub const ORDER_PLACED: &str = "store/order.placed";
/// Stock changed somewhere.
pub const INVENTORY_CHANGED: &str = "store/inventory.changed";

/// `store/order.placed` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPlaced {
    /// The deployment that created the order; functions ignore other origins.
    pub app_origin: String,
    pub order_id: String,
    pub stripe_session_id: String,
    #[serde(default)]
    pub stripe_payment_intent_id: Option<String>,
    /// Customer PII; encrypted on the wire.
    pub encrypted: CustomerDetails,
    pub amount_total: i64,
    pub currency: String,
    #[serde(default)]
    pub discount: Option<OrderDiscount>,
    pub line_items: Vec<LineItem>,
    #[serde(default)]
    pub metadata: Value,
}

/// Who ordered and where it ships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerDetails {
    pub customer_email: String,
    pub customer_name: String,
    #[serde(default)]
    pub customer_phone: String,
    pub shipping: Shipping,
}

/// A shipping address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shipping {
    pub name: String,
    pub line1: String,
    #[serde(default)]
    pub line2: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
}

/// A discount applied at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderDiscount {
    pub code: String,
    pub amount_cents: i64,
}

/// One purchased line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    pub description: String,
    pub quantity: i64,
    pub amount_total: i64,
    #[serde(default)]
    pub price_id: Option<String>,
    pub product_id: String,
    pub product_name: String,
    pub sku: String,
    pub variant_id: String,
    pub size: String,
    pub color: String,
}

/// `store/inventory.changed` data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryChanged {
    pub app_origin: String,
    pub source: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_run_id: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_email: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variant_ids: Vec<String>,
}

/// The event id of an order placed from a Stripe checkout session (replays dedupe on it).
pub fn order_placed_id(stripe_session_id: &str) -> String {
    format!("order-placed-{stripe_session_id}")
}

/// An admin uploaded or pasted an inventory document.
pub const INVENTORY_DOCUMENT_IMPORT_REQUESTED: &str = "admin/inventory.document_import.requested";
/// An admin asked to import the inventory Google Sheet.
pub const INVENTORY_IMPORT_REQUESTED: &str = "admin/inventory.import.requested";

/// `admin/inventory.document_import.requested` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryDocumentImportRequested {
    pub app_origin: String,
    pub actor_email: String,
    pub source_name: String,
    pub content_type: String,
    pub document_text: String,
    /// `receive_shipment` (the default) or `audit_count`.
    #[serde(default)]
    pub mode: swag_domain::inventory_import::ImportMode,
}

/// `admin/inventory.import.requested` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryImportRequested {
    pub app_origin: String,
    #[serde(default)]
    pub actor_email: String,
    /// `audit_count` (the default: a sheet holds counts) or `receive_shipment`.
    #[serde(default = "audit_count")]
    pub mode: swag_domain::inventory_import::ImportMode,
}

fn audit_count() -> swag_domain::inventory_import::ImportMode {
    swag_domain::inventory_import::ImportMode::AuditCount
}

/// The event id of a document import: the same text in the same mode imports once.
pub fn document_import_id(mode: swag_domain::inventory_import::ImportMode, text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{}\n{text}", mode.as_str()).as_bytes());
    format!("inventory-document-import-{}", hex::encode(digest))
}
