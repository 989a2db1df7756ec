//! The swag store's domain, free of HTTP and UI: the catalog and its seed, carts and pricing,
//! discount codes, the order status machine and timeline, API tokens, and the inventory ledger — the only
//! code that changes stock.

pub mod cart;
pub mod catalog;
pub mod catalog_reset;
pub mod discount;
pub mod entity;
pub mod ids;
pub mod inventory;
pub mod inventory_import;
pub mod low_stock;
pub mod order;
pub mod orders;
pub mod timeline;
pub mod tokens;
