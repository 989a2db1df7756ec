//! Creates every executor table and its indexes.

use sea_orm_migration::prelude::*;

/// The first migration.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20260101_000001_inngest_executor_create_tables"
    }
}

fn col(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
}

fn text(name: &str) -> ColumnDef {
    col(name).text().not_null().to_owned()
}

fn text_null(name: &str) -> ColumnDef {
    col(name).text().null().to_owned()
}

fn key(name: &str) -> ColumnDef {
    col(name).string_len(191).not_null().to_owned()
}

fn key_null(name: &str) -> ColumnDef {
    col(name).string_len(191).null().to_owned()
}

fn ms(name: &str) -> ColumnDef {
    col(name).big_integer().not_null().to_owned()
}

fn ms_null(name: &str) -> ColumnDef {
    col(name).big_integer().null().to_owned()
}

fn int(name: &str) -> ColumnDef {
    col(name).integer().not_null().to_owned()
}

fn table(name: &str, columns: Vec<ColumnDef>, primary: &[&str]) -> TableCreateStatement {
    let mut create = Table::create();
    create.table(Alias::new(name)).if_not_exists();
    for mut column in columns {
        create.col(&mut column);
    }
    let mut pk = Index::create();
    for column in primary {
        pk.col(Alias::new(*column));
    }
    create.primary_key(&mut pk);
    create.to_owned()
}

fn index(table: &str, name: &str, columns: &[&str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(Alias::new(table)).if_not_exists();
    for column in columns {
        index.col(Alias::new(*column));
    }
    index.to_owned()
}

fn tables() -> Vec<TableCreateStatement> {
    vec![
        table(
            "inngest_apps",
            vec![key("id"), text("url"), text("sdk"), ms("synced_at")],
            &["id"],
        ),
        table(
            "inngest_functions",
            vec![
                key("id"),
                key("app_id"),
                text("name"),
                text("config"),
                ms("updated_at"),
            ],
            &["id"],
        ),
        table(
            "inngest_events",
            vec![
                key("id"),
                key("name"),
                text("payload"),
                ms("ts"),
                ms("received_at"),
            ],
            &["id"],
        ),
        table(
            "inngest_runs",
            vec![
                key("id"),
                key("function_id"),
                key("status"),
                text("event"),
                text("events"),
                text_null("output"),
                text_null("error"),
                int("max_attempts"),
                col("disable_immediate").boolean().not_null().to_owned(),
                int("next_seq"),
                text("concurrency"),
                key_null("parent_run_id"),
                key_null("parent_step"),
                ms("created_at"),
                ms_null("started_at"),
                ms_null("ended_at"),
                ms("updated_at"),
            ],
            &["id"],
        ),
        table(
            "inngest_run_steps",
            vec![
                key("run_id"),
                key("hash"),
                text("name"),
                key("op"),
                key("status"),
                col("seq").integer().null().to_owned(),
                text_null("memo"),
                text_null("opts"),
                text_null("error"),
                int("attempts"),
                ms("started_at"),
                ms_null("ended_at"),
            ],
            &["run_id", "hash"],
        ),
        table(
            "inngest_queue",
            vec![
                key("id"),
                key("kind"),
                key_null("run_id"),
                key("step_id"),
                int("attempt"),
                text("payload"),
                ms("run_at"),
                ms_null("lease_until"),
                key_null("lease_token"),
                key_null("dedup_key").unique_key().to_owned(),
                key_null("blocked_on"),
                ms("created_at"),
            ],
            &["id"],
        ),
        table(
            "inngest_waits",
            vec![
                key("id"),
                key("run_id"),
                key("step_hash"),
                key("kind"),
                key("target"),
                text_null("expression"),
                text("event"),
                key_null("timeout_item"),
                ms("expires_at"),
            ],
            &["id"],
        ),
        table(
            "inngest_idempotency_keys",
            vec![key("key"), key("run_id"), ms("expires_at")],
            &["key"],
        ),
        table(
            "inngest_concurrency_leases",
            vec![key("scope"), int("slot"), key("run_id"), ms("acquired_at")],
            &["scope", "slot"],
        ),
        table(
            "inngest_buffers",
            vec![
                key("id"),
                key("function_id"),
                key("kind"),
                text("events"),
                ms("first_at"),
                ms("fire_at"),
            ],
            &["id"],
        ),
        table(
            "inngest_rate_limit_hits",
            vec![key("id"), key("scope"), ms("at")],
            &["id"],
        ),
    ]
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index("inngest_functions", "inngest_functions_app", &["app_id"]),
        index("inngest_events", "inngest_events_name", &["name"]),
        index(
            "inngest_runs",
            "inngest_runs_function_status",
            &["function_id", "status"],
        ),
        index("inngest_runs", "inngest_runs_created", &["created_at"]),
        index("inngest_queue", "inngest_queue_due", &["run_at"]),
        index("inngest_queue", "inngest_queue_run", &["run_id"]),
        index("inngest_queue", "inngest_queue_lease", &["lease_token"]),
        index("inngest_queue", "inngest_queue_blocked", &["blocked_on"]),
        index("inngest_waits", "inngest_waits_target", &["kind", "target"]),
        index("inngest_waits", "inngest_waits_run", &["run_id"]),
        index(
            "inngest_concurrency_leases",
            "inngest_concurrency_leases_run",
            &["run_id"],
        ),
        index(
            "inngest_rate_limit_hits",
            "inngest_rate_limit_hits_scope",
            &["scope", "at"],
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables().iter().rev() {
            if let Some(name) = table.get_table_name() {
                manager
                    .drop_table(Table::drop().table(name.clone()).if_exists().to_owned())
                    .await?;
            }
        }
        Ok(())
    }
}
