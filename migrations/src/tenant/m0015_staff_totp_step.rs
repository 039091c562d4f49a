//! The time step of a staff member's last accepted TOTP code: a code is refused
//! when its step is not later, so a code seen once cannot be used again within
//! its window. In the database so that every node refuses the replay.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Staff {
    Table,
    TotpLastStep,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Staff::Table)
                    .add_column(ColumnDef::new(Staff::TotpLastStep).big_integer().null())
                    .to_owned(),
            )
            .await
    }
}
