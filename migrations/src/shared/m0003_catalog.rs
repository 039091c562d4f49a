use crate::{id_pk, text, ts};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tlds {
    Table,
    Name,
    Groups,
    Idn,
    MinLength,
    MaxLength,
    Periods,
    TransferAuthCode,
    RestoreGraceDays,
    Residency,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    Kind,
    Name,
    Tld,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WholesalePrices {
    Table,
    ProductId,
    Action,
    PeriodMonths,
    Currency,
    AmountMinor,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // TLDs and their registry rules (used by search, ordering and provisioning).
        manager
            .create_table(
                Table::create()
                    .table(Tlds::Table)
                    .col(
                        ColumnDef::new(Tlds::Name)
                            .string_len(63)
                            .not_null()
                            .primary_key(),
                    )
                    // Comma-separated: top10, europe, gtld, new-gtld.
                    .col(text(Tlds::Groups))
                    .col(ColumnDef::new(Tlds::Idn).boolean().not_null())
                    .col(ColumnDef::new(Tlds::MinLength).integer().not_null())
                    .col(ColumnDef::new(Tlds::MaxLength).integer().not_null())
                    // Comma-separated registration periods in years.
                    .col(text(Tlds::Periods))
                    .col(ColumnDef::new(Tlds::TransferAuthCode).boolean().not_null())
                    .col(ColumnDef::new(Tlds::RestoreGraceDays).integer().not_null())
                    // e.g. "eu" (EU/EEA residents), "de-admin" (German admin address); NULL = none.
                    .col(ColumnDef::new(Tlds::Residency).string_len(32).null())
                    .col(ts(Tlds::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // Everything the operator sells at wholesale: one product per TLD, plus
        // hosting, email, site builder, SSL and service contracts.
        manager
            .create_table(
                Table::create()
                    .table(Products::Table)
                    .col(id_pk(Products::Id))
                    .col(ColumnDef::new(Products::Kind).string_len(16).not_null())
                    .col(text(Products::Name))
                    .col(
                        ColumnDef::new(Products::Tld)
                            .string_len(63)
                            .null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Products::Active).boolean().not_null())
                    .col(ts(Products::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // Wholesale price per product x action x period x currency, in minor units.
        manager
            .create_table(
                Table::create()
                    .table(WholesalePrices::Table)
                    .col(
                        ColumnDef::new(WholesalePrices::ProductId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WholesalePrices::Action)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WholesalePrices::PeriodMonths)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WholesalePrices::Currency)
                            .string_len(3)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WholesalePrices::AmountMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(WholesalePrices::ProductId)
                            .col(WholesalePrices::Action)
                            .col(WholesalePrices::PeriodMonths)
                            .col(WholesalePrices::Currency),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
