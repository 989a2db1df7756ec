//! Inventory document import, free of HTTP: [`parse`] turns a pasted or uploaded document
//! (CSV, TSV, semicolon-separated, or email/manifest text) into rows matched to the catalog,
//! [`review`] checks them against the catalog's variants and plans the stock changes, and
//! [`apply`] writes the plan through the inventory ledger exactly once per batch.

pub mod apply;
pub mod catalog_index;
pub mod parse;
pub mod review;
pub mod runs;

use serde::{Deserialize, Serialize};

/// What an import does to stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// A shipment arrived: quantities are added.
    #[default]
    ReceiveShipment,
    /// A physical count: quantities replace the stock.
    AuditCount,
}

impl ImportMode {
    /// The ledger mode of this import's changes.
    pub fn ledger_mode(self) -> crate::inventory::LedgerMode {
        match self {
            Self::ReceiveShipment => crate::inventory::LedgerMode::ReceiveShipment,
            Self::AuditCount => crate::inventory::LedgerMode::AuditCount,
        }
    }

    /// Reads `receive_shipment` or `audit_count`.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "receive_shipment" => Some(Self::ReceiveShipment),
            "audit_count" => Some(Self::AuditCount),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        self.ledger_mode().as_str()
    }
}
