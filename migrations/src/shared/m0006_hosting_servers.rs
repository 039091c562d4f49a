//! Server pools for hosting, email and site-builder products (V7), managed by
//! the operator: each server has a capacity and the API endpoint of its panel.

use crate::{id_pk, text, ts};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum HostingServers {
    Table,
    Id,
    ProductId,
    Name,
    Capacity,
    Used,
    ApiUrl,
    ApiToken,
    Active,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(HostingServers::Table)
                    .col(id_pk(HostingServers::Id))
                    .col(
                        ColumnDef::new(HostingServers::ProductId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(HostingServers::Name)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(HostingServers::Capacity)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(HostingServers::Used)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(text(HostingServers::ApiUrl))
                    .col(text(HostingServers::ApiToken))
                    .col(
                        ColumnDef::new(HostingServers::Active)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(ts(HostingServers::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("hosting_servers_product")
                    .table(HostingServers::Table)
                    .col(HostingServers::ProductId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(HostingServers::Table).to_owned())
            .await
    }
}
