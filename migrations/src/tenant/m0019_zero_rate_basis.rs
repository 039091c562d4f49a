//! What a 0 % line is under VAT (EN 16931 BT-118): zero-rated (`Z`), exempt
//! (`E`, e.g. a small business under § 19 UStG, with the reason printed and
//! sent as BT-120) or outside the scope of VAT (`O`). The reseller chooses on
//! the tax page; existing shops keep zero-rated.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Settings {
    Table,
    ZeroRate,
    ExemptionReason,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ColumnDef::new(Settings::ZeroRate)
                .string()
                .not_null()
                .default("zero")
                .to_owned(),
            ColumnDef::new(Settings::ExemptionReason)
                .string()
                .not_null()
                .default("")
                .to_owned(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Settings::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
