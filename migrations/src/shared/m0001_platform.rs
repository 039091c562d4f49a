use crate::{id_pk, text, text_null, ts, ts_null};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Name,
    Status,
    SchemaName,
    PrimaryColor,
    AccentColor,
    LogoAssetId,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Hostnames {
    Table,
    Hostname,
    TenantId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Operators {
    Table,
    Id,
    Email,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OperatorApiKeys {
    Table,
    Id,
    Name,
    Prefix,
    SecretHash,
    Scopes,
    CreatedBy,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    Actor,
    TenantId,
    Action,
    Target,
    Before,
    After,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The resellers. `schema_name` is generated from the id (`t_<id>`), never from
        // user input; branding lives here because every storefront request needs it
        // and the resolver caches this row together with the hostname.
        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .col(id_pk(Tenants::Id))
                    .col(text(Tenants::Name))
                    .col(ColumnDef::new(Tenants::Status).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Tenants::SchemaName)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Tenants::PrimaryColor)
                            .string_len(7)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Tenants::AccentColor)
                            .string_len(7)
                            .not_null(),
                    )
                    .col(text_null(Tenants::LogoAssetId))
                    .col(ts(Tenants::CreatedAt))
                    .col(ts(Tenants::UpdatedAt))
                    // Set when deleted: the schema is kept for the retention period.
                    .col(ts_null(Tenants::DeletedAt))
                    .to_owned(),
            )
            .await?;
        // Every hostname maps to exactly one tenant: the primary key makes that a
        // database guarantee, not an application check.
        manager
            .create_table(
                Table::create()
                    .table(Hostnames::Table)
                    .col(
                        ColumnDef::new(Hostnames::Hostname)
                            .string_len(253)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Hostnames::TenantId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(ts(Hostnames::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("hostnames_tenant_idx")
                    .table(Hostnames::Table)
                    .col(Hostnames::TenantId)
                    .to_owned(),
            )
            .await?;
        // Operator accounts of the platform itself.
        manager
            .create_table(
                Table::create()
                    .table(Operators::Table)
                    .col(id_pk(Operators::Id))
                    .col(
                        ColumnDef::new(Operators::Email)
                            .string_len(254)
                            .not_null()
                            .unique_key(),
                    )
                    .col(text(Operators::PasswordHash))
                    .col(ts(Operators::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // Operator API keys: only a hash of the secret is stored; `prefix` finds the row.
        manager
            .create_table(
                Table::create()
                    .table(OperatorApiKeys::Table)
                    .col(id_pk(OperatorApiKeys::Id))
                    .col(text(OperatorApiKeys::Name))
                    .col(
                        ColumnDef::new(OperatorApiKeys::Prefix)
                            .string_len(32)
                            .not_null()
                            .unique_key(),
                    )
                    .col(text(OperatorApiKeys::SecretHash))
                    .col(text(OperatorApiKeys::Scopes))
                    .col(text(OperatorApiKeys::CreatedBy))
                    .col(ts(OperatorApiKeys::CreatedAt))
                    .col(ts_null(OperatorApiKeys::RevokedAt))
                    .to_owned(),
            )
            .await?;
        // Changes made by operators (who, when, what, before/after).
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(id_pk(AuditLog::Id))
                    .col(ts(AuditLog::At))
                    .col(text(AuditLog::Actor))
                    .col(text_null(AuditLog::TenantId))
                    .col(text(AuditLog::Action))
                    .col(text(AuditLog::Target))
                    .col(text_null(AuditLog::Before))
                    .col(text_null(AuditLog::After))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
