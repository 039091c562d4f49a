//! Which node holds a running job's lease. A node that restarts after a crash
//! takes back its own jobs at once (none of them can still be running), instead
//! of waiting out their leases; another node's jobs still wait for theirs.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Jobs {
    Table,
    LockedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Jobs::Table)
                    .add_column(ColumnDef::new(Jobs::LockedBy).string().null())
                    .to_owned(),
            )
            .await
    }
}
