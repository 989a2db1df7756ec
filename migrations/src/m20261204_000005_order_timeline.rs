//! The order timeline: every step status and order status published for an order, so a page
//! opened mid-run (or the admin tracker) can show what already happened before going live.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OrderTimeline {
    Table,
    Id,
    OrderId,
    Kind,
    Name,
    Status,
    Detail,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OrderTimeline::Table)
                    .col(
                        ColumnDef::new(OrderTimeline::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(OrderTimeline::OrderId).string().not_null())
                    .col(ColumnDef::new(OrderTimeline::Kind).string().not_null())
                    .col(ColumnDef::new(OrderTimeline::Name).string().not_null())
                    .col(ColumnDef::new(OrderTimeline::Status).string().not_null())
                    .col(ColumnDef::new(OrderTimeline::Detail).json().null())
                    .col(
                        ColumnDef::new(OrderTimeline::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .check(Expr::col(OrderTimeline::Kind).is_in(["step", "status"]))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_order_timeline_order")
                    .table(OrderTimeline::Table)
                    .col(OrderTimeline::OrderId)
                    .col(OrderTimeline::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OrderTimeline::Table).to_owned())
            .await
    }
}
