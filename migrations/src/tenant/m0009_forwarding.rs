//! Web and email forwarding per domain (V5), parking (V6) and the analytics
//! snippet of framed and parking pages.

use crate::{add_column, id_pk, text, text_null};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebForwards {
    Table,
    Id,
    DomainId,
    Host,
    Target,
    Mode,
    Title,
}

#[derive(DeriveIden)]
enum MailForwards {
    Table,
    Id,
    DomainId,
    LocalPart,
    Target,
}

#[derive(DeriveIden)]
enum Domains {
    Table,
    ParkingProvider,
}

#[derive(DeriveIden)]
enum Settings {
    Table,
    MatomoUrl,
    MatomoSiteId,
    GaId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebForwards::Table)
                    .col(id_pk(WebForwards::Id))
                    .col(
                        ColumnDef::new(WebForwards::DomainId)
                            .string_len(40)
                            .not_null(),
                    )
                    // The full host name (`www.example.de`).
                    .col(ColumnDef::new(WebForwards::Host).string_len(255).not_null())
                    .col(text(WebForwards::Target))
                    // 301 | 302 | frame
                    .col(ColumnDef::new(WebForwards::Mode).string_len(8).not_null())
                    .col(text_null(WebForwards::Title))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("web_forwards_host")
                    .table(WebForwards::Table)
                    .col(WebForwards::Host)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MailForwards::Table)
                    .col(id_pk(MailForwards::Id))
                    .col(
                        ColumnDef::new(MailForwards::DomainId)
                            .string_len(40)
                            .not_null(),
                    )
                    // `info`, or `*` for everything else.
                    .col(
                        ColumnDef::new(MailForwards::LocalPart)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(text(MailForwards::Target))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("mail_forwards_address")
                    .table(MailForwards::Table)
                    .col(MailForwards::DomainId)
                    .col(MailForwards::LocalPart)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // sedo | namedrive while parked.
        add_column(manager, Domains::Table, text_null(Domains::ParkingProvider)).await?;
        for col in [Settings::MatomoUrl, Settings::MatomoSiteId, Settings::GaId] {
            add_column(manager, Settings::Table, text_null(col)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            MailForwards::Table.into_iden(),
            WebForwards::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
