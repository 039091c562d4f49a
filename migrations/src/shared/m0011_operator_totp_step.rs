//! The time step of an operator's last accepted TOTP code: a code is refused when
//! its step is not later, so a code seen once (over a shoulder, in a proxy log)
//! cannot be used again within its 90-second window. In the database rather than
//! in memory so that every node refuses the replay.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Operators {
    Table,
    TotpLastStep,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Operators::Table)
                    .add_column(ColumnDef::new(Operators::TotpLastStep).big_integer().null())
                    .to_owned(),
            )
            .await
    }
}
