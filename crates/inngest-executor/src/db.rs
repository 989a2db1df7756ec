//! Opening a database with settings that suit the executor: SQLite in WAL mode with one
//! writer connection, or a Postgres pool (optionally in a given schema).

use std::time::Duration;

use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;

use crate::migrations::Migrator;

/// Connects to `url` (`sqlite://path?mode=rwc`, `sqlite::memory:`, `postgres://…`).
///
/// SQLite gets WAL journaling, `synchronous=NORMAL`, a busy timeout and a single pooled
/// connection, so that writers queue in-process instead of failing with `SQLITE_BUSY`.
pub async fn connect(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    connect_with_schema(url, None).await
}

/// Like [`connect`], with Postgres confined to `schema` (its `search_path`).
pub async fn connect_with_schema(
    url: &str,
    schema: Option<&str>,
) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(30));
    if url.starts_with("sqlite") {
        options
            .max_connections(1)
            .min_connections(1)
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(30))
            });
    } else {
        options.max_connections(16);
        if let Some(schema) = schema {
            options.set_schema_search_path(schema.to_owned());
        }
    }
    Database::connect(options).await
}

/// Connects and runs the executor's migrations.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let db = connect(url).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}
