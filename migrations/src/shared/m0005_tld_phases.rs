use crate::ts_null;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tlds {
    Table,
    Phase,
    GaAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Launch phase of a TLD (O4): `upcoming` (pre-registration, kept until
        // general availability at `ga_at`), `sunrise` (trademark holders with an
        // SMD) or `ga`.
        manager
            .alter_table(
                Table::alter()
                    .table(Tlds::Table)
                    .add_column(
                        ColumnDef::new(Tlds::Phase)
                            .string_len(16)
                            .not_null()
                            .default("ga")
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Tlds::Table)
                    .add_column(ts_null(Tlds::GaAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [Tlds::GaAt, Tlds::Phase] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tlds::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
