//! A service period credited in full may be billed again (the storno corrected
//! the invoice; the service still ran). Lines were unique per service and
//! period start, which kept a second run from billing a period twice, and kept
//! a credited period from ever being billed again. Now they are unique per
//! service, period start and the service's `generation`, which a credit that
//! re-bills its period raises: runs that race still bill a period once per
//! generation.

use crate::idx;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Services {
    Table,
    Generation,
}

#[derive(DeriveIden)]
enum InvoiceLines {
    Table,
    Generation,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Services::Table)
                .add_column(
                    ColumnDef::new(Services::Generation)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(InvoiceLines::Table)
                .add_column(
                    ColumnDef::new(InvoiceLines::Generation)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("invoice_lines_period")
                .table(InvoiceLines::Table)
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            InvoiceLines::Table,
            "invoice_lines_period",
            &["service_id", "period_start", "generation"],
            true,
        ))
        .await
    }
}
