//! Discount codes (single-use by default), their redemptions, and hashed API tokens.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DiscountCodes {
    Table,
    Code,
    Label,
    DiscountType,
    AmountOffCents,
    /// Hundredths of a percent (12.5 % = 1250), exact where the original used numeric(5,2).
    PercentOffBps,
    MaxRedemptions,
    TimesRedeemed,
    Active,
    StripeCouponId,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DiscountRedemptions {
    Table,
    StripeSessionId,
    Code,
    OrderId,
    AmountCents,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    Name,
    TokenHash,
    TokenPrefix,
    ActorEmail,
    Active,
    LastUsedAt,
    CreatedBy,
    CreatedAt,
    RevokedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let amount_off = Expr::col(DiscountCodes::DiscountType)
            .eq("amount_off")
            .and(Expr::col(DiscountCodes::AmountOffCents).gt(0))
            .and(Expr::col(DiscountCodes::PercentOffBps).is_null());
        let percent_off = Expr::col(DiscountCodes::DiscountType)
            .eq("percent_off")
            .and(Expr::col(DiscountCodes::PercentOffBps).gt(0))
            .and(Expr::col(DiscountCodes::PercentOffBps).lte(10_000))
            .and(Expr::col(DiscountCodes::AmountOffCents).is_null());
        manager
            .create_table(
                Table::create()
                    .table(DiscountCodes::Table)
                    .col(
                        ColumnDef::new(DiscountCodes::Code)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(DiscountCodes::Label).string().not_null())
                    .col(
                        ColumnDef::new(DiscountCodes::DiscountType)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DiscountCodes::AmountOffCents)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(DiscountCodes::PercentOffBps)
                            .integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(DiscountCodes::MaxRedemptions)
                            .integer()
                            .not_null()
                            .default(1),
                    )
                    .col(
                        ColumnDef::new(DiscountCodes::TimesRedeemed)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(DiscountCodes::Active)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(
                        ColumnDef::new(DiscountCodes::StripeCouponId)
                            .string()
                            .null(),
                    )
                    .col(ColumnDef::new(DiscountCodes::CreatedBy).string().not_null())
                    .col(
                        ColumnDef::new(DiscountCodes::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DiscountCodes::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .check(amount_off.or(percent_off))
                    .check(Expr::col(DiscountCodes::TimesRedeemed).gte(0))
                    .check(
                        Expr::col(DiscountCodes::TimesRedeemed)
                            .lte(Expr::col(DiscountCodes::MaxRedemptions)),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DiscountRedemptions::Table)
                    .col(
                        ColumnDef::new(DiscountRedemptions::StripeSessionId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(DiscountRedemptions::Code)
                            .string()
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(DiscountRedemptions::OrderId)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DiscountRedemptions::AmountCents)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DiscountRedemptions::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DiscountRedemptions::Table, DiscountRedemptions::Code)
                            .to(DiscountCodes::Table, DiscountCodes::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(
                        ColumnDef::new(ApiTokens::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ApiTokens::Name).string().not_null())
                    .col(
                        ColumnDef::new(ApiTokens::TokenHash)
                            .string()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(ApiTokens::TokenPrefix).string().not_null())
                    .col(ColumnDef::new(ApiTokens::ActorEmail).string().not_null())
                    .col(
                        ColumnDef::new(ApiTokens::Active)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(
                        ColumnDef::new(ApiTokens::LastUsedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(ApiTokens::CreatedBy).string().not_null())
                    .col(
                        ColumnDef::new(ApiTokens::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ApiTokens::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ApiTokens::Table.into_iden(),
            DiscountRedemptions::Table.into_iden(),
            DiscountCodes::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
