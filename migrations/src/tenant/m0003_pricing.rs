use crate::{id_pk, ts};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EnabledProducts {
    Table,
    ProductId,
    EnabledAt,
}

#[derive(DeriveIden)]
enum PriceClasses {
    Table,
    Id,
    Name,
    Currency,
    IsDefault,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ClassPrices {
    Table,
    ClassId,
    ProductId,
    Action,
    PeriodMonths,
    AmountMinor,
}

#[derive(DeriveIden)]
enum CustomerPrices {
    Table,
    CustomerId,
    ProductId,
    Action,
    PeriodMonths,
    Currency,
    AmountMinor,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Which of the operator's products this reseller sells (A4).
        manager
            .create_table(
                Table::create()
                    .table(EnabledProducts::Table)
                    .col(
                        ColumnDef::new(EnabledProducts::ProductId)
                            .string_len(40)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ts(EnabledProducts::EnabledAt))
                    .to_owned(),
            )
            .await?;
        // Price classes ("Customers A/B/C"); one is the default (P2).
        manager
            .create_table(
                Table::create()
                    .table(PriceClasses::Table)
                    .col(id_pk(PriceClasses::Id))
                    .col(
                        ColumnDef::new(PriceClasses::Name)
                            .string_len(100)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(PriceClasses::Currency)
                            .string_len(3)
                            .not_null(),
                    )
                    .col(ColumnDef::new(PriceClasses::IsDefault).boolean().not_null())
                    .col(ts(PriceClasses::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // A class's sell prices: product x action x period, in the class's currency (P3).
        manager
            .create_table(
                Table::create()
                    .table(ClassPrices::Table)
                    .col(
                        ColumnDef::new(ClassPrices::ClassId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ClassPrices::ProductId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ClassPrices::Action)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ClassPrices::PeriodMonths)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ClassPrices::AmountMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ClassPrices::ClassId)
                            .col(ClassPrices::ProductId)
                            .col(ClassPrices::Action)
                            .col(ClassPrices::PeriodMonths),
                    )
                    .to_owned(),
            )
            .await?;
        // Per-customer overrides on top of the class; always a complete set per product (P4).
        manager
            .create_table(
                Table::create()
                    .table(CustomerPrices::Table)
                    .col(
                        ColumnDef::new(CustomerPrices::CustomerId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CustomerPrices::ProductId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CustomerPrices::Action)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CustomerPrices::PeriodMonths)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CustomerPrices::Currency)
                            .string_len(3)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CustomerPrices::AmountMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(CustomerPrices::CustomerId)
                            .col(CustomerPrices::ProductId)
                            .col(CustomerPrices::Action)
                            .col(CustomerPrices::PeriodMonths),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
