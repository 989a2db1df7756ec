//! The executor's schema migrations. Run them with [`Migrator`] or add [`migrations`] to the
//! app's own migrator so that one `up` creates every table.

mod m20260101_000001_create_tables;

use sea_orm_migration::sea_query::IntoIden;
use sea_orm_migration::{MigrationTrait, MigratorTrait};

/// Migrates the executor's tables (all prefixed `inngest_`).
pub struct Migrator;

/// The executor's migrations, in order, for inclusion in an app's migrator.
pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![Box::new(m20260101_000001_create_tables::Migration)]
}

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        migrations()
    }

    fn migration_table_name() -> sea_orm_migration::sea_orm::DynIden {
        sea_orm_migration::sea_query::Alias::new("inngest_seaql_migrations").into_iden()
    }
}
