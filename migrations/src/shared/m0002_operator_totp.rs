use crate::{text_null, ts_null};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Operators {
    Table,
    TotpSecret,
    TotpEnabledAt,
    RecoveryCodes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The operator console requires a TOTP second factor (RFC 6238).
        for col in [
            text_null(Operators::TotpSecret),
            ts_null(Operators::TotpEnabledAt),
            text_null(Operators::RecoveryCodes),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Operators::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
