//! Which reseller serves web forwarding for a host pointed at the platform (V5):
//! the platform looks the Host header up here before answering 404.

use crate::ts;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ForwardHosts {
    Table,
    Host,
    TenantId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ForwardHosts::Table)
                    .col(
                        ColumnDef::new(ForwardHosts::Host)
                            .string_len(255)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ForwardHosts::TenantId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ts(ForwardHosts::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ForwardHosts::Table).to_owned())
            .await
    }
}
