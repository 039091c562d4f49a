use crate::{id_pk, text, text_null, ts, ts_null};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Settings {
    Table,
    Id,
    CustomerNumberPrefix,
    NextCustomerNumber,
    Currency,
    DefaultCreditLimitMinor,
    RequireStaffTotp,
    MailFromName,
    MailFromAddress,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    Number,
    Kind,
    FirstName,
    LastName,
    Company,
    Street,
    PostalCode,
    City,
    Country,
    Phone,
    Email,
    EmailVerifiedAt,
    PasswordHash,
    VatId,
    Language,
    Currency,
    PriceClassId,
    BillingType,
    DebitStatus,
    Iban,
    Bic,
    AccountHolder,
    MandateReference,
    MandateSignedOn,
    CreditLimitMinor,
    BillingInterval,
    PaymentMethod,
    DunningType,
    InvoiceDelivery,
    Newsletter,
    ExcludedFromInvoicing,
    LockedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CustomerSessions {
    Table,
    Id,
    CustomerId,
    UserAgent,
    Ip,
    CreatedAt,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum Tokens {
    Table,
    Id,
    Purpose,
    Subject,
    TokenHash,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    ToAddr,
    FromAddr,
    Subject,
    TextBody,
    Status,
    Attempts,
    LastError,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum Staff {
    Table,
    Name,
    TotpSecret,
    TotpEnabledAt,
    RecoveryCodes,
    LockedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Entity,
    EntityId,
    Ip,
}

fn bool_col(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name)
        .boolean()
        .not_null()
        .default(false)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One row of per-tenant settings, including the customer number counter that
        // is advanced under the row lock inside the creating transaction.
        manager
            .create_table(
                Table::create()
                    .table(Settings::Table)
                    .col(
                        ColumnDef::new(Settings::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Settings::CustomerNumberPrefix)
                            .string_len(12)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Settings::NextCustomerNumber)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Settings::Currency).string_len(3).not_null())
                    // Money in minor units (cents): exact on both backends.
                    .col(
                        ColumnDef::new(Settings::DefaultCreditLimitMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .col(bool_col(Settings::RequireStaffTotp))
                    .col(text_null(Settings::MailFromName))
                    .col(text_null(Settings::MailFromAddress))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Settings::Table)
                    .columns([
                        Settings::Id,
                        Settings::CustomerNumberPrefix,
                        Settings::NextCustomerNumber,
                        Settings::Currency,
                        Settings::DefaultCreditLimitMinor,
                        Settings::RequireStaffTotp,
                    ])
                    .values_panic([
                        1.into(),
                        "K".into(),
                        10001i64.into(),
                        "EUR".into(),
                        50000i64.into(),
                        false.into(),
                    ])
                    .to_owned(),
            )
            .await?;

        // End customers with their master data (C5, A1, Y3, Y4).
        manager
            .create_table(
                Table::create()
                    .table(Customers::Table)
                    .col(id_pk(Customers::Id))
                    .col(
                        ColumnDef::new(Customers::Number)
                            .string_len(24)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Customers::Kind).string_len(10).not_null())
                    .col(text(Customers::FirstName))
                    .col(text(Customers::LastName))
                    .col(text_null(Customers::Company))
                    .col(text(Customers::Street))
                    .col(
                        ColumnDef::new(Customers::PostalCode)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(text(Customers::City))
                    .col(ColumnDef::new(Customers::Country).string_len(2).not_null())
                    .col(ColumnDef::new(Customers::Phone).string_len(20).null())
                    .col(
                        ColumnDef::new(Customers::Email)
                            .string_len(254)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ts_null(Customers::EmailVerifiedAt))
                    .col(text_null(Customers::PasswordHash))
                    .col(ColumnDef::new(Customers::VatId).string_len(20).null())
                    .col(ColumnDef::new(Customers::Language).string_len(2).not_null())
                    .col(ColumnDef::new(Customers::Currency).string_len(3).not_null())
                    // Price classes arrive with the pricing work; nullable reference.
                    .col(
                        ColumnDef::new(Customers::PriceClassId)
                            .string_len(40)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Customers::BillingType)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Customers::DebitStatus)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Customers::Iban).string_len(34).null())
                    .col(ColumnDef::new(Customers::Bic).string_len(11).null())
                    .col(text_null(Customers::AccountHolder))
                    .col(
                        ColumnDef::new(Customers::MandateReference)
                            .string_len(35)
                            .null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Customers::MandateSignedOn).date().null())
                    // Per-customer credit limit in minor units; NULL = tenant default.
                    .col(
                        ColumnDef::new(Customers::CreditLimitMinor)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Customers::BillingInterval)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Customers::PaymentMethod)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Customers::DunningType)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Customers::InvoiceDelivery)
                            .string_len(8)
                            .not_null(),
                    )
                    .col(text(Customers::Newsletter))
                    .col(bool_col(Customers::ExcludedFromInvoicing))
                    .col(ts_null(Customers::LockedAt))
                    .col(ts(Customers::CreatedAt))
                    .col(ts(Customers::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("customers_last_name_idx")
                    .table(Customers::Table)
                    .col(Customers::LastName)
                    .to_owned(),
            )
            .await?;

        // Signed-in customer sessions, so a customer can list and end them.
        manager
            .create_table(
                Table::create()
                    .table(CustomerSessions::Table)
                    .col(id_pk(CustomerSessions::Id))
                    .col(
                        ColumnDef::new(CustomerSessions::CustomerId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(text(CustomerSessions::UserAgent))
                    .col(
                        ColumnDef::new(CustomerSessions::Ip)
                            .string_len(45)
                            .not_null(),
                    )
                    .col(ts(CustomerSessions::CreatedAt))
                    .col(ts(CustomerSessions::LastSeenAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("customer_sessions_customer_idx")
                    .table(CustomerSessions::Table)
                    .col(CustomerSessions::CustomerId)
                    .to_owned(),
            )
            .await?;

        // Single-use, expiring tokens (email verification, password reset, staff
        // invitations); only a hash of the token is stored.
        manager
            .create_table(
                Table::create()
                    .table(Tokens::Table)
                    .col(id_pk(Tokens::Id))
                    .col(ColumnDef::new(Tokens::Purpose).string_len(16).not_null())
                    .col(text(Tokens::Subject))
                    .col(
                        ColumnDef::new(Tokens::TokenHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ts(Tokens::ExpiresAt))
                    .col(ts_null(Tokens::UsedAt))
                    .col(ts(Tokens::CreatedAt))
                    .to_owned(),
            )
            .await?;

        // Outgoing mail, written in the transaction that causes it; a sender delivers
        // it over SMTP, or (embedded default) it stays here for the console to show.
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(id_pk(Outbox::Id))
                    .col(text(Outbox::ToAddr))
                    .col(text(Outbox::FromAddr))
                    .col(text(Outbox::Subject))
                    .col(text(Outbox::TextBody))
                    .col(ColumnDef::new(Outbox::Status).string_len(10).not_null())
                    .col(
                        ColumnDef::new(Outbox::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(text_null(Outbox::LastError))
                    .col(ts(Outbox::CreatedAt))
                    .col(ts_null(Outbox::SentAt))
                    .to_owned(),
            )
            .await?;

        // Staff: display name, TOTP second factor, recovery codes (hashed), lock.
        for col in [
            text_null(Staff::Name),
            text_null(Staff::TotpSecret),
            ts_null(Staff::TotpEnabledAt),
            text_null(Staff::RecoveryCodes),
            ts_null(Staff::LockedAt),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Staff::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        // Audit entries name the entity they are about, and the client's IP.
        for col in [
            text_null(AuditLog::Entity),
            text_null(AuditLog::EntityId),
            text_null(AuditLog::Ip),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditLog::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
