//! The store's migrations, run on start: the store tables of the feature baseline plus the
//! embedded executor's own tables.

mod m20261204_000001_catalog;
mod m20261204_000002_orders;
mod m20261204_000003_inventory;
mod m20261204_000004_discounts_and_tokens;
mod m20261204_000005_order_timeline;

pub use sea_orm_migration::prelude::*;

/// Every migration of the app, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations: Vec<Box<dyn MigrationTrait>> = vec![
            Box::new(m20261204_000001_catalog::Migration),
            Box::new(m20261204_000002_orders::Migration),
            Box::new(m20261204_000003_inventory::Migration),
            Box::new(m20261204_000004_discounts_and_tokens::Migration),
            Box::new(m20261204_000005_order_timeline::Migration),
        ];
        migrations.extend(inngest_executor::migrations::Migrator::migrations());
        migrations
    }
}
