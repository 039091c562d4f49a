//! Accounts on hosting-pool servers (V7), one per service entry.

use crate::{id_pk, text, text_null, ts};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum HostingAccounts {
    Table,
    Id,
    ServiceId,
    CustomerId,
    ServerId,
    Username,
    Plan,
    Status,
    PendingPassword,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(HostingAccounts::Table)
                    .col(id_pk(HostingAccounts::Id))
                    .col(
                        ColumnDef::new(HostingAccounts::ServiceId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(HostingAccounts::CustomerId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(HostingAccounts::ServerId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(HostingAccounts::Username)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(text(HostingAccounts::Plan))
                    // creating | active | suspended | terminated
                    .col(
                        ColumnDef::new(HostingAccounts::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    // Shown once in the customer center, then cleared.
                    .col(text_null(HostingAccounts::PendingPassword))
                    .col(ts(HostingAccounts::CreatedAt))
                    .col(ts(HostingAccounts::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("hosting_accounts_service")
                    .table(HostingAccounts::Table)
                    .col(HostingAccounts::ServiceId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(HostingAccounts::Table).to_owned())
            .await
    }
}
