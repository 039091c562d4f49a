//! The one-click unsubscribe address of a mailing (RFC 8058), sent as the
//! `List-Unsubscribe` header with `List-Unsubscribe-Post`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    ListUnsubscribe,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .add_column(ColumnDef::new(Outbox::ListUnsubscribe).string().null())
                    .to_owned(),
            )
            .await
    }
}
