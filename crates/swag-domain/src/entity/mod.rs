//! sea-orm entities of the store tables (the schema itself is in the `migration` crate).

pub mod api_token;
pub mod discount_code;
pub mod discount_redemption;
pub mod import_run;
pub mod inventory_adjustment;
pub mod low_stock_notification;
pub mod order;
pub mod order_item;
pub mod order_reservation;
pub mod order_timeline;
pub mod product;
pub mod product_image;
pub mod product_variant;
