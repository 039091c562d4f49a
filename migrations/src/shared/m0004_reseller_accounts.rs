use crate::{id_pk, text_null, ts, ts_null};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ResellerAccounts {
    Table,
    TenantId,
    Currency,
    BalanceMinor,
    ReservedMinor,
    CreditLimitMinor,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OperatorCases {
    Table,
    Id,
    TenantId,
    OrderId,
    CaseId,
    CaseNumber,
    AmountMinor,
    Currency,
    Status,
    Note,
    CreatedAt,
    DecidedAt,
    DecidedBy,
}

fn money(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name)
        .big_integer()
        .not_null()
        .default(0)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A reseller's wholesale account at the platform (T5): the same credit
        // check as a customer's, one level up.
        manager
            .create_table(
                Table::create()
                    .table(ResellerAccounts::Table)
                    .col(
                        ColumnDef::new(ResellerAccounts::TenantId)
                            .string_len(40)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ResellerAccounts::Currency)
                            .string_len(3)
                            .not_null(),
                    )
                    .col(money(ResellerAccounts::BalanceMinor))
                    .col(money(ResellerAccounts::ReservedMinor))
                    .col(money(ResellerAccounts::CreditLimitMinor))
                    .col(ts(ResellerAccounts::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // Orders a reseller over its own limit sends to the operator's clearing.
        manager
            .create_table(
                Table::create()
                    .table(OperatorCases::Table)
                    .col(id_pk(OperatorCases::Id))
                    .col(
                        ColumnDef::new(OperatorCases::TenantId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OperatorCases::OrderId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OperatorCases::CaseId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OperatorCases::CaseNumber)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(money(OperatorCases::AmountMinor))
                    .col(
                        ColumnDef::new(OperatorCases::Currency)
                            .string_len(3)
                            .not_null(),
                    )
                    // open | approved | rejected
                    .col(
                        ColumnDef::new(OperatorCases::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(text_null(OperatorCases::Note))
                    .col(ts(OperatorCases::CreatedAt))
                    .col(ts_null(OperatorCases::DecidedAt))
                    .col(
                        ColumnDef::new(OperatorCases::DecidedBy)
                            .string_len(254)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("operator_cases_status")
                    .table(OperatorCases::Table)
                    .col(OperatorCases::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OperatorCases::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ResellerAccounts::Table).to_owned())
            .await
    }
}
