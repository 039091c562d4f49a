//! Billing (B1-B12): the ledger, invoices and credit notes with their lines, gapless
//! number ranges, billing runs, the reseller's legal data and billing rules, and the
//! customer's e-invoice choice. The operator's own books (T5) run the same tables.

use crate::{add_column, id_pk, idx, money, short, text, text_null, ts, ts_null};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LedgerEntries {
    Table,
    Id,
    CustomerId,
    Kind,
    AmountMinor,
    Currency,
    DocumentId,
    Reference,
    Note,
    Actor,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Invoices {
    Table,
    Id,
    Kind,
    Number,
    CustomerId,
    Status,
    IssuedAt,
    DueAt,
    PeriodStart,
    PeriodEnd,
    Currency,
    NetMinor,
    VatMinor,
    GrossMinor,
    SettledMinor,
    TaxTreatment,
    SkontoBp,
    SkontoUntil,
    RefersToId,
    RefersToNumber,
    BillingRunId,
    OrderId,
    Einvoice,
    Delivery,
    DeliveredAt,
    Buyer,
    Seller,
    Note,
    Pdf,
    Xml,
    CreatedBy,
}

#[derive(DeriveIden)]
enum InvoiceLines {
    Table,
    Id,
    InvoiceId,
    Position,
    ServiceId,
    OrderItemId,
    ProductId,
    Description,
    PeriodStart,
    PeriodEnd,
    QuantityMilli,
    Unit,
    UnitNetMinor,
    NetMinor,
    VatRateBp,
    VatCategory,
}

#[derive(DeriveIden)]
enum NumberRanges {
    Table,
    Name,
    Next,
}

#[derive(DeriveIden)]
enum BillingRuns {
    Table,
    Id,
    Status,
    DueBy,
    CustomersTotal,
    CustomersDone,
    InvoicesCount,
    NetMinor,
    GrossMinor,
    Error,
    Actor,
    CreatedAt,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum BillingSettings {
    Table,
    Id,
    LegalName,
    Street,
    PostalCode,
    City,
    Country,
    VatId,
    TaxNumber,
    Register,
    Director,
    Email,
    Phone,
    BankName,
    Iban,
    Bic,
    InvoicePattern,
    CreditNotePattern,
    InvoiceOnCompletion,
    CollectiveMonthly,
    ProrataCredit,
    RenewalWarningDays,
    Footer,
    PrintMailUrl,
    DatevConsultant,
    DatevClient,
    RevenueAccount,
    ReceivablesAccount,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Einvoice,
    BuyerReference,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    DocumentId,
}

fn flag(name: impl IntoIden, on: bool) -> ColumnDef {
    ColumnDef::new(name)
        .boolean()
        .not_null()
        .default(on)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(LedgerEntries::Table)
                .col(id_pk(LedgerEntries::Id))
                .col(
                    ColumnDef::new(LedgerEntries::CustomerId)
                        .string_len(40)
                        .not_null(),
                )
                // invoice | credit_note | payment | deposit | fee | refund | write_off | correction
                .col(
                    ColumnDef::new(LedgerEntries::Kind)
                        .string_len(16)
                        .not_null(),
                )
                // Signed, in the customer's favour: a payment is +, an invoice -.
                .col(money(LedgerEntries::AmountMinor))
                .col(
                    ColumnDef::new(LedgerEntries::Currency)
                        .string_len(3)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(LedgerEntries::DocumentId)
                        .string_len(40)
                        .null(),
                )
                .col(text_null(LedgerEntries::Reference))
                .col(text_null(LedgerEntries::Note))
                .col(text(LedgerEntries::Actor))
                .col(ts(LedgerEntries::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            LedgerEntries::Table,
            "ledger_customer",
            &["customer_id", "id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Invoices::Table)
                .col(id_pk(Invoices::Id))
                // invoice | credit_note
                .col(ColumnDef::new(Invoices::Kind).string_len(16).not_null())
                .col(ColumnDef::new(Invoices::Number).string_len(64).not_null())
                .col(
                    ColumnDef::new(Invoices::CustomerId)
                        .string_len(40)
                        .not_null(),
                )
                // open | paid | cancelled (fully credited)
                .col(ColumnDef::new(Invoices::Status).string_len(16).not_null())
                .col(ts(Invoices::IssuedAt))
                .col(ts(Invoices::DueAt))
                .col(ts_null(Invoices::PeriodStart))
                .col(ts_null(Invoices::PeriodEnd))
                .col(ColumnDef::new(Invoices::Currency).string_len(3).not_null())
                .col(money(Invoices::NetMinor))
                .col(money(Invoices::VatMinor))
                .col(money(Invoices::GrossMinor))
                .col(money(Invoices::SettledMinor))
                // vat | reverse_charge | export
                .col(short(Invoices::TaxTreatment, "vat"))
                .col(
                    ColumnDef::new(Invoices::SkontoBp)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(ts_null(Invoices::SkontoUntil))
                .col(ColumnDef::new(Invoices::RefersToId).string_len(40).null())
                .col(
                    ColumnDef::new(Invoices::RefersToNumber)
                        .string_len(64)
                        .null(),
                )
                .col(ColumnDef::new(Invoices::BillingRunId).string_len(40).null())
                .col(ColumnDef::new(Invoices::OrderId).string_len(40).null())
                // none | zugferd | xrechnung
                .col(short(Invoices::Einvoice, "none"))
                // email | postal
                .col(short(Invoices::Delivery, "email"))
                .col(ts_null(Invoices::DeliveredAt))
                // Snapshots (JSON) of buyer and seller as they were at issue.
                .col(text(Invoices::Buyer))
                .col(text(Invoices::Seller))
                .col(text_null(Invoices::Note))
                .col(ColumnDef::new(Invoices::Pdf).blob().null())
                .col(text_null(Invoices::Xml))
                .col(text(Invoices::CreatedBy))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(Invoices::Table, "invoices_number", &["number"], true))
            .await?;
        m.create_index(idx(
            Invoices::Table,
            "invoices_customer",
            &["customer_id", "issued_at"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(InvoiceLines::Table)
                .col(id_pk(InvoiceLines::Id))
                .col(
                    ColumnDef::new(InvoiceLines::InvoiceId)
                        .string_len(40)
                        .not_null(),
                )
                .col(ColumnDef::new(InvoiceLines::Position).integer().not_null())
                .col(
                    ColumnDef::new(InvoiceLines::ServiceId)
                        .string_len(40)
                        .null(),
                )
                .col(
                    ColumnDef::new(InvoiceLines::OrderItemId)
                        .string_len(40)
                        .null(),
                )
                .col(
                    ColumnDef::new(InvoiceLines::ProductId)
                        .string_len(64)
                        .null(),
                )
                .col(text(InvoiceLines::Description))
                .col(ts_null(InvoiceLines::PeriodStart))
                .col(ts_null(InvoiceLines::PeriodEnd))
                .col(
                    ColumnDef::new(InvoiceLines::QuantityMilli)
                        .big_integer()
                        .not_null(),
                )
                // UN/ECE rec. 20 unit code: C62 piece, MON month, ANN year, HUR hour
                .col(short(InvoiceLines::Unit, "C62"))
                .col(money(InvoiceLines::UnitNetMinor))
                .col(money(InvoiceLines::NetMinor))
                .col(ColumnDef::new(InvoiceLines::VatRateBp).integer().not_null())
                // EN 16931 VAT category: S standard, AE reverse charge, G export, Z zero
                .col(short(InvoiceLines::VatCategory, "S"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            InvoiceLines::Table,
            "invoice_lines_invoice",
            &["invoice_id", "position"],
            true,
        ))
        .await?;
        // A service period and an order item are billed once, whatever runs twice.
        m.create_index(idx(
            InvoiceLines::Table,
            "invoice_lines_period",
            &["service_id", "period_start"],
            true,
        ))
        .await?;
        m.create_index(idx(
            InvoiceLines::Table,
            "invoice_lines_order_item",
            &["order_item_id"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(NumberRanges::Table)
                .col(
                    ColumnDef::new(NumberRanges::Name)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(NumberRanges::Next).big_integer().not_null())
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(BillingRuns::Table)
                .col(id_pk(BillingRuns::Id))
                // queued | running | done | failed
                .col(
                    ColumnDef::new(BillingRuns::Status)
                        .string_len(16)
                        .not_null(),
                )
                .col(ts(BillingRuns::DueBy))
                .col(
                    ColumnDef::new(BillingRuns::CustomersTotal)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(
                    ColumnDef::new(BillingRuns::CustomersDone)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(
                    ColumnDef::new(BillingRuns::InvoicesCount)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(money(BillingRuns::NetMinor))
                .col(money(BillingRuns::GrossMinor))
                .col(text_null(BillingRuns::Error))
                .col(text(BillingRuns::Actor))
                .col(ts(BillingRuns::CreatedAt))
                .col(ts_null(BillingRuns::StartedAt))
                .col(ts_null(BillingRuns::FinishedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(BillingSettings::Table)
                .col(
                    ColumnDef::new(BillingSettings::Id)
                        .integer()
                        .not_null()
                        .primary_key(),
                )
                .col(short(BillingSettings::LegalName, ""))
                .col(short(BillingSettings::Street, ""))
                .col(short(BillingSettings::PostalCode, ""))
                .col(short(BillingSettings::City, ""))
                .col(short(BillingSettings::Country, "DE"))
                .col(short(BillingSettings::VatId, ""))
                .col(short(BillingSettings::TaxNumber, ""))
                .col(short(BillingSettings::Register, ""))
                .col(short(BillingSettings::Director, ""))
                .col(short(BillingSettings::Email, ""))
                .col(short(BillingSettings::Phone, ""))
                .col(short(BillingSettings::BankName, ""))
                .col(short(BillingSettings::Iban, ""))
                .col(short(BillingSettings::Bic, ""))
                .col(short(BillingSettings::InvoicePattern, "RE-{YYYY}-{seq:06}"))
                .col(short(
                    BillingSettings::CreditNotePattern,
                    "GS-{YYYY}-{seq:06}",
                ))
                .col(flag(BillingSettings::InvoiceOnCompletion, true))
                .col(flag(BillingSettings::CollectiveMonthly, true))
                .col(flag(BillingSettings::ProrataCredit, false))
                .col(short(BillingSettings::RenewalWarningDays, "30,14,3"))
                .col(text_null(BillingSettings::Footer))
                .col(text_null(BillingSettings::PrintMailUrl))
                .col(short(BillingSettings::DatevConsultant, "1001"))
                .col(short(BillingSettings::DatevClient, "1"))
                .col(short(BillingSettings::RevenueAccount, "8400"))
                .col(short(BillingSettings::ReceivablesAccount, "1400"))
                .to_owned(),
        )
        .await?;
        m.exec_stmt(
            Query::insert()
                .into_table(BillingSettings::Table)
                .columns([BillingSettings::Id])
                .values_panic([1.into()])
                .to_owned(),
        )
        .await?;

        // none | zugferd | xrechnung
        add_column(m, Customers::Table, short(Customers::Einvoice, "zugferd")).await?;
        // XRechnung BT-10 (Leitweg-ID of public buyers), free text otherwise.
        add_column(m, Customers::Table, text_null(Customers::BuyerReference)).await?;
        add_column(
            m,
            Outbox::Table,
            ColumnDef::new(Outbox::DocumentId)
                .string_len(40)
                .null()
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
