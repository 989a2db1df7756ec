//! The server's non-page HTTP routes: one file per route or route group.

pub mod assets;
pub mod checkout;
pub mod confirmation;
pub mod discounts;
pub mod health;
pub mod inventory_import;
pub mod inventory_reset;
pub mod product_images;
pub mod stripe_webhook;
