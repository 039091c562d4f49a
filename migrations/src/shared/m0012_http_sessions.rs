//! Browser sessions in the database when no Redis is configured (the embedded
//! default), so that a restart signs nobody out. The key is a hash of the
//! session cookie, never the cookie itself; `expires_at` is in Unix seconds.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum HttpSessions {
    Table,
    Id,
    Data,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(HttpSessions::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(HttpSessions::Id)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(HttpSessions::Data).text().not_null())
                    .col(
                        ColumnDef::new(HttpSessions::ExpiresAt)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("http_sessions_expires_at")
                    .table(HttpSessions::Table)
                    .col(HttpSessions::ExpiresAt)
                    .to_owned(),
            )
            .await
    }
}
