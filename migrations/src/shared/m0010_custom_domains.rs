//! Custom domains (T2): a reseller claims a hostname, proves control with a DNS
//! TXT record or a CNAME to the platform host, and only then is the hostname
//! added to `hostnames` (served, and allowed a TLS certificate).

use crate::{id_pk, idx, short, text, text_null, ts, ts_null};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CustomDomains {
    Table,
    Id,
    Hostname,
    TenantId,
    Token,
    Status,
    CreatedAt,
    CheckedAt,
    VerifiedAt,
    LastError,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CustomDomains::Table)
                .col(id_pk(CustomDomains::Id))
                .col(
                    ColumnDef::new(CustomDomains::Hostname)
                        .string_len(253)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(CustomDomains::TenantId)
                        .string_len(32)
                        .not_null(),
                )
                .col(text(CustomDomains::Token))
                .col(short(CustomDomains::Status, "pending"))
                .col(ts(CustomDomains::CreatedAt))
                .col(ts_null(CustomDomains::CheckedAt))
                .col(ts_null(CustomDomains::VerifiedAt))
                .col(text_null(CustomDomains::LastError))
                .to_owned(),
        )
        .await?;
        // Several resellers may claim a name; the one that proves it gets it.
        m.create_index(idx(
            CustomDomains::Table,
            "custom_domains_claim",
            &["hostname", "tenant_id"],
            true,
        ))
        .await
    }
}
