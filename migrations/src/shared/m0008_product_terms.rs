//! Contract terms of a product (C8): the notice period before a billing period
//! ends and the minimum term from the start of the service.

use crate::add_column;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Products {
    Table,
    NoticeDays,
    MinTermMonths,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        add_column(
            m,
            Products::Table,
            ColumnDef::new(Products::NoticeDays)
                .integer()
                .not_null()
                .default(30)
                .to_owned(),
        )
        .await?;
        add_column(
            m,
            Products::Table,
            ColumnDef::new(Products::MinTermMonths)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
        )
        .await
    }
}
