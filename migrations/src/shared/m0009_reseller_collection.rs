//! Two levels (T5): the operator collects from resellers like a reseller from its
//! customers; the last dunning step pauses the reseller's storefront ordering.

use crate::{add_column, ts_null};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ResellerAccounts {
    Table,
    OrderingSuspendedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        add_column(
            m,
            ResellerAccounts::Table,
            ts_null(ResellerAccounts::OrderingSuspendedAt),
        )
        .await
    }
}
