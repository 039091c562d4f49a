//! Provisioning (issue 7): domains with their registry operations, DNS records,
//! service entries (what billing bills), and the state of each order item.

use crate::{add_column, id_pk, text, text_null, ts, ts_null};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OrderItems {
    Table,
    Status,
    Error,
    AuthCode,
}

#[derive(DeriveIden)]
enum Domains {
    Table,
    Id,
    CustomerId,
    OrderId,
    Name,
    Status,
    RegistryContact,
    ExpiresAt,
    AuthCode,
    AuthCodeAt,
    TransferLock,
    Nameservers,
    OwnNameservers,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DomainOps {
    Table,
    Id,
    DomainId,
    Op,
    ResultCode,
    Message,
    Actor,
    At,
}

#[derive(DeriveIden)]
enum Services {
    Table,
    Id,
    CustomerId,
    ProductId,
    OrderId,
    OrderItemId,
    DomainId,
    Kind,
    Label,
    PeriodMonths,
    PriceSource,
    NetMinor,
    Currency,
    Quantity,
    StartedAt,
    NextBillingAt,
    EndsAt,
    Cancellation,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DnsRecords {
    Table,
    Id,
    DomainId,
    Name,
    Rtype,
    Content,
    Ttl,
    Priority,
}

#[derive(DeriveIden)]
enum Settings {
    Table,
    DnsTemplate,
}

async fn index(
    m: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    col: impl IntoIden,
    unique: bool,
) -> Result<(), DbErr> {
    let mut i = Index::create();
    i.name(name).table(table).col(col);
    if unique {
        i.unique();
    }
    m.create_index(i.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // pending | done | failed
        add_column(
            manager,
            OrderItems::Table,
            ColumnDef::new(OrderItems::Status)
                .string_len(16)
                .not_null()
                .default("pending")
                .to_owned(),
        )
        .await?;
        add_column(manager, OrderItems::Table, text_null(OrderItems::Error)).await?;
        add_column(manager, OrderItems::Table, text_null(OrderItems::AuthCode)).await?;
        // JSON list of records applied to every new zone; default template if null.
        add_column(manager, Settings::Table, text_null(Settings::DnsTemplate)).await?;

        manager
            .create_table(
                Table::create()
                    .table(Domains::Table)
                    .col(id_pk(Domains::Id))
                    .col(
                        ColumnDef::new(Domains::CustomerId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Domains::OrderId).string_len(40).null())
                    .col(ColumnDef::new(Domains::Name).string_len(255).not_null())
                    // pending | pending_transfer | active | expiring | grace | redemption
                    // | deleted | transferred_out | failed
                    .col(ColumnDef::new(Domains::Status).string_len(24).not_null())
                    .col(text_null(Domains::RegistryContact))
                    .col(ts_null(Domains::ExpiresAt))
                    .col(text_null(Domains::AuthCode))
                    .col(ts_null(Domains::AuthCodeAt))
                    .col(
                        ColumnDef::new(Domains::TransferLock)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(
                        ColumnDef::new(Domains::Nameservers)
                            .text()
                            .not_null()
                            .default("[]"),
                    )
                    .col(
                        ColumnDef::new(Domains::OwnNameservers)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ts(Domains::CreatedAt))
                    .col(ts(Domains::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        index(manager, "domains_name", Domains::Table, Domains::Name, true).await?;
        index(
            manager,
            "domains_customer",
            Domains::Table,
            Domains::CustomerId,
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(DomainOps::Table)
                    .col(id_pk(DomainOps::Id))
                    .col(
                        ColumnDef::new(DomainOps::DomainId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(ColumnDef::new(DomainOps::Op).string_len(32).not_null())
                    .col(ColumnDef::new(DomainOps::ResultCode).integer().null())
                    .col(text(DomainOps::Message))
                    .col(text(DomainOps::Actor))
                    .col(ts(DomainOps::At))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "domain_ops_domain",
            DomainOps::Table,
            DomainOps::DomainId,
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Services::Table)
                    .col(id_pk(Services::Id))
                    .col(
                        ColumnDef::new(Services::CustomerId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Services::ProductId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Services::OrderId).string_len(40).null())
                    .col(ColumnDef::new(Services::OrderItemId).string_len(40).null())
                    .col(ColumnDef::new(Services::DomainId).string_len(40).null())
                    // domain | hosting | email | sitebuilder | other
                    .col(ColumnDef::new(Services::Kind).string_len(16).not_null())
                    .col(text(Services::Label))
                    .col(ColumnDef::new(Services::PeriodMonths).integer().not_null())
                    // class:<id> | override | coupon:<code> | list
                    .col(text(Services::PriceSource))
                    .col(ColumnDef::new(Services::NetMinor).big_integer().not_null())
                    .col(ColumnDef::new(Services::Currency).string_len(3).not_null())
                    .col(
                        ColumnDef::new(Services::Quantity)
                            .integer()
                            .not_null()
                            .default(1),
                    )
                    .col(ts(Services::StartedAt))
                    .col(ts(Services::NextBillingAt))
                    .col(ts_null(Services::EndsAt))
                    // none | requested | cancelled
                    .col(
                        ColumnDef::new(Services::Cancellation)
                            .string_len(16)
                            .not_null()
                            .default("none"),
                    )
                    // active | suspended | terminated
                    .col(ColumnDef::new(Services::Status).string_len(16).not_null())
                    .col(ts(Services::CreatedAt))
                    .col(ts(Services::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "services_item",
            Services::Table,
            Services::OrderItemId,
            true,
        )
        .await?;
        index(
            manager,
            "services_customer",
            Services::Table,
            Services::CustomerId,
            false,
        )
        .await?;
        index(
            manager,
            "services_billing",
            Services::Table,
            Services::NextBillingAt,
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(DnsRecords::Table)
                    .col(id_pk(DnsRecords::Id))
                    .col(
                        ColumnDef::new(DnsRecords::DomainId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(ColumnDef::new(DnsRecords::Name).string_len(255).not_null())
                    .col(ColumnDef::new(DnsRecords::Rtype).string_len(8).not_null())
                    .col(text(DnsRecords::Content))
                    .col(ColumnDef::new(DnsRecords::Ttl).integer().not_null())
                    .col(ColumnDef::new(DnsRecords::Priority).integer().null())
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "dns_records_domain",
            DnsRecords::Table,
            DnsRecords::DomainId,
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            DnsRecords::Table.into_iden(),
            Services::Table.into_iden(),
            DomainOps::Table.into_iden(),
            Domains::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
