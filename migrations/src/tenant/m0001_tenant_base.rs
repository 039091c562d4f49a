use crate::{id_pk, text, text_null, ts, ts_null};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Staff {
    Table,
    Id,
    Email,
    PasswordHash,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
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
enum Assets {
    Table,
    Id,
    Kind,
    ContentType,
    Bytes,
    Sha256,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    Actor,
    Action,
    Target,
    Before,
    After,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Reseller staff accounts (the owner first; more roles come with accounts).
        manager
            .create_table(
                Table::create()
                    .table(Staff::Table)
                    .col(id_pk(Staff::Id))
                    .col(
                        ColumnDef::new(Staff::Email)
                            .string_len(254)
                            .not_null()
                            .unique_key(),
                    )
                    .col(text(Staff::PasswordHash))
                    .col(ColumnDef::new(Staff::Role).string_len(16).not_null())
                    .col(ts(Staff::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // The reseller's API keys, hashed; `prefix` is the lookup handle shown in lists.
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(id_pk(ApiKeys::Id))
                    .col(text(ApiKeys::Name))
                    .col(
                        ColumnDef::new(ApiKeys::Prefix)
                            .string_len(32)
                            .not_null()
                            .unique_key(),
                    )
                    .col(text(ApiKeys::SecretHash))
                    .col(text(ApiKeys::Scopes))
                    .col(text(ApiKeys::CreatedBy))
                    .col(ts(ApiKeys::CreatedAt))
                    .col(ts_null(ApiKeys::RevokedAt))
                    .to_owned(),
            )
            .await?;
        // Uploaded files (logo now, more later), kept in the database so that app
        // nodes stay stateless.
        manager
            .create_table(
                Table::create()
                    .table(Assets::Table)
                    .col(id_pk(Assets::Id))
                    .col(ColumnDef::new(Assets::Kind).string_len(32).not_null())
                    .col(
                        ColumnDef::new(Assets::ContentType)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Assets::Bytes).blob().not_null())
                    .col(ColumnDef::new(Assets::Sha256).string_len(64).not_null())
                    .col(ts(Assets::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // Every change made by the reseller's staff (T7).
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(id_pk(AuditLog::Id))
                    .col(ts(AuditLog::At))
                    .col(text(AuditLog::Actor))
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
