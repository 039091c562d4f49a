//! Payments (Y1-Y7): payments with their conversion and allocation, bank statement
//! imports (CAMT.053) with their lines for review, SEPA direct-debit runs and their
//! items (return debits), open-item charges and dunning state on invoices, and the
//! reseller's creditor data.

use crate::{add_column, id_pk, idx, int, money, short, text, text_null, ts, ts_null};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    CustomerId,
    Method,
    AmountMinor,
    Currency,
    OriginalMinor,
    OriginalCurrency,
    Rate,
    Reference,
    ExternalId,
    InvoiceId,
    SkontoMinor,
    RefundedMinor,
    BookedAt,
    Note,
    Actor,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BankImports {
    Table,
    Id,
    FileName,
    StatementId,
    Lines,
    Booked,
    Review,
    Errors,
    Actor,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BankLines {
    Table,
    Id,
    ImportId,
    Position,
    EntryRef,
    BookedOn,
    AmountMinor,
    Currency,
    Direction,
    Reference,
    Counterparty,
    Iban,
    ReturnReason,
    Status,
    CustomerId,
    InvoiceId,
    PaymentId,
    Error,
}

#[derive(DeriveIden)]
enum DebitRuns {
    Table,
    Id,
    Status,
    CollectOn,
    Version,
    MessageId,
    Items,
    TotalMinor,
    Currency,
    Xml,
    Actor,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DebitItems {
    Table,
    Id,
    RunId,
    InvoiceId,
    CustomerId,
    AmountMinor,
    MandateReference,
    MandateSignedOn,
    Sequence,
    EndToEndId,
    Status,
    PaymentId,
    ReturnReason,
    ReturnedAt,
}

#[derive(DeriveIden)]
enum DunningLevels {
    Table,
    Level,
    Label,
    Days,
    FeeMinor,
    Interest,
    Suspend,
}

#[derive(DeriveIden)]
enum BaseRates {
    Table,
    ValidFrom,
    RateBp,
}

#[derive(DeriveIden)]
enum DunningRuns {
    Table,
    Id,
    Letters,
    Items,
    FeesMinor,
    InterestMinor,
    Actor,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DunningLetters {
    Table,
    Id,
    RunId,
    CustomerId,
    Level,
    Day,
    Items,
    FeeMinor,
    InterestMinor,
    TotalMinor,
    Currency,
    Text,
    Pdf,
    DeliveredAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Invoices {
    Table,
    FeesMinor,
    InterestMinor,
    DunningLevel,
    DunnedAt,
    CourtOrderAt,
}

#[derive(DeriveIden)]
enum BillingSettings {
    Table,
    CreditorId,
    DebitDelayDays,
    DebitLeadDays,
    ReturnFeeMinor,
    SepaVersion,
    AutoDebit,
    AutoDunning,
    StripePublishable,
    StripeSecret,
    StripeWebhookSecret,
}

#[derive(DeriveIden)]
enum StripeEvents {
    Table,
    Id,
    Kind,
    CreatedAt,
}

fn text_default(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name)
        .text()
        .not_null()
        .default("")
        .to_owned()
}

fn id_col(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).string_len(40).not_null().to_owned()
}

fn id_null(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).string_len(40).null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Payments::Table)
                .col(id_pk(Payments::Id))
                .col(id_col(Payments::CustomerId))
                // transfer | sepa_debit | card | paypal | cash | other
                .col(short(Payments::Method, "transfer"))
                // Booked in the account's currency ...
                .col(money(Payments::AmountMinor))
                .col(ColumnDef::new(Payments::Currency).string_len(3).not_null())
                // ... from what was paid, at the recorded rate (1 unit = rate account units).
                .col(money(Payments::OriginalMinor))
                .col(
                    ColumnDef::new(Payments::OriginalCurrency)
                        .string_len(3)
                        .not_null(),
                )
                .col(short(Payments::Rate, "1"))
                .col(text_null(Payments::Reference))
                // Bank entry, Stripe event or debit item: a payment is booked once.
                .col(ColumnDef::new(Payments::ExternalId).string_len(160).null())
                .col(id_null(Payments::InvoiceId))
                .col(money(Payments::SkontoMinor))
                .col(money(Payments::RefundedMinor))
                .col(ts(Payments::BookedAt))
                .col(text_null(Payments::Note))
                .col(text(Payments::Actor))
                .col(ts(Payments::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            Payments::Table,
            "payments_external",
            &["external_id"],
            true,
        ))
        .await?;
        m.create_index(idx(
            Payments::Table,
            "payments_customer",
            &["customer_id", "booked_at"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(BankImports::Table)
                .col(id_pk(BankImports::Id))
                .col(text(BankImports::FileName))
                .col(text(BankImports::StatementId))
                .col(int(BankImports::Lines, 0))
                .col(int(BankImports::Booked, 0))
                .col(int(BankImports::Review, 0))
                .col(int(BankImports::Errors, 0))
                .col(text(BankImports::Actor))
                .col(ts(BankImports::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(BankLines::Table)
                .col(id_pk(BankLines::Id))
                .col(id_col(BankLines::ImportId))
                .col(int(BankLines::Position, 0))
                .col(text(BankLines::EntryRef))
                .col(text_null(BankLines::BookedOn))
                .col(money(BankLines::AmountMinor))
                .col(short(BankLines::Currency, ""))
                // credit (money in) | debit (money out: return debits)
                .col(short(BankLines::Direction, "credit"))
                .col(text(BankLines::Reference))
                .col(text(BankLines::Counterparty))
                .col(text(BankLines::Iban))
                .col(ColumnDef::new(BankLines::ReturnReason).string_len(8).null())
                // booked | review | error | ignored | returned
                .col(short(BankLines::Status, "review"))
                .col(id_null(BankLines::CustomerId))
                .col(id_null(BankLines::InvoiceId))
                .col(id_null(BankLines::PaymentId))
                .col(text_null(BankLines::Error))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            BankLines::Table,
            "bank_lines_import",
            &["import_id", "position"],
            true,
        ))
        .await?;
        m.create_index(idx(
            BankLines::Table,
            "bank_lines_status",
            &["status"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(DebitRuns::Table)
                .col(id_pk(DebitRuns::Id))
                // submitted | cancelled
                .col(short(DebitRuns::Status, "submitted"))
                .col(ts(DebitRuns::CollectOn))
                // 08 (pain.008.001.08) | 02 (pain.008.001.02)
                .col(short(DebitRuns::Version, "08"))
                .col(text(DebitRuns::MessageId))
                .col(int(DebitRuns::Items, 0))
                .col(money(DebitRuns::TotalMinor))
                .col(short(DebitRuns::Currency, "EUR"))
                .col(text(DebitRuns::Xml))
                .col(text(DebitRuns::Actor))
                .col(ts(DebitRuns::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(DebitItems::Table)
                .col(id_pk(DebitItems::Id))
                .col(id_col(DebitItems::RunId))
                .col(id_col(DebitItems::InvoiceId))
                .col(id_col(DebitItems::CustomerId))
                .col(money(DebitItems::AmountMinor))
                .col(text(DebitItems::MandateReference))
                .col(text(DebitItems::MandateSignedOn))
                // FRST | RCUR
                .col(short(DebitItems::Sequence, "RCUR"))
                .col(text(DebitItems::EndToEndId))
                // collected | returned
                .col(short(DebitItems::Status, "collected"))
                .col(id_null(DebitItems::PaymentId))
                .col(
                    ColumnDef::new(DebitItems::ReturnReason)
                        .string_len(8)
                        .null(),
                )
                .col(ts_null(DebitItems::ReturnedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            DebitItems::Table,
            "debit_items_run",
            &["run_id"],
            false,
        ))
        .await?;
        m.create_index(idx(
            DebitItems::Table,
            "debit_items_invoice",
            &["invoice_id", "status"],
            false,
        ))
        .await?;
        m.create_index(idx(
            DebitItems::Table,
            "debit_items_e2e",
            &["end_to_end_id"],
            true,
        ))
        .await?;

        // Open-item state beside `settled_minor`: charges added after issue
        // (return-debit and dunning fees, default interest) and the dunning level.
        add_column(m, Invoices::Table, money(Invoices::FeesMinor)).await?;
        add_column(m, Invoices::Table, money(Invoices::InterestMinor)).await?;
        add_column(m, Invoices::Table, int(Invoices::DunningLevel, 0)).await?;
        add_column(m, Invoices::Table, ts_null(Invoices::DunnedAt)).await?;
        add_column(m, Invoices::Table, ts_null(Invoices::CourtOrderAt)).await?;

        add_column(
            m,
            BillingSettings::Table,
            short(BillingSettings::CreditorId, ""),
        )
        .await?;
        add_column(
            m,
            BillingSettings::Table,
            int(BillingSettings::DebitDelayDays, 3),
        )
        .await?;
        add_column(
            m,
            BillingSettings::Table,
            int(BillingSettings::DebitLeadDays, 2),
        )
        .await?;
        add_column(
            m,
            BillingSettings::Table,
            ColumnDef::new(BillingSettings::ReturnFeeMinor)
                .big_integer()
                .not_null()
                .default(500)
                .to_owned(),
        )
        .await?;
        add_column(
            m,
            BillingSettings::Table,
            short(BillingSettings::SepaVersion, "08"),
        )
        .await?;

        // Dunning (D1, D2): the reseller's levels, the statutory base rate table,
        // runs and their letters (one per customer and day).
        m.create_table(
            Table::create()
                .table(DunningLevels::Table)
                .col(
                    ColumnDef::new(DunningLevels::Level)
                        .integer()
                        .not_null()
                        .primary_key(),
                )
                .col(text(DunningLevels::Label))
                // Days after the due date.
                .col(int(DunningLevels::Days, 0))
                .col(money(DunningLevels::FeeMinor))
                .col(
                    ColumnDef::new(DunningLevels::Interest)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(
                    ColumnDef::new(DunningLevels::Suspend)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .to_owned(),
        )
        .await?;
        let mut levels = Query::insert();
        levels.into_table(DunningLevels::Table).columns([
            DunningLevels::Level,
            DunningLevels::Label,
            DunningLevels::Days,
            DunningLevels::FeeMinor,
            DunningLevels::Interest,
            DunningLevels::Suspend,
        ]);
        for (level, label, days, fee, interest, suspend) in [
            (1, "Payment reminder", 7, 0i64, false, false),
            (2, "First notice", 21, 500, true, false),
            (3, "Second notice", 35, 1000, true, false),
            (4, "Final notice", 49, 1500, true, true),
        ] {
            levels.values_panic([
                level.into(),
                label.into(),
                days.into(),
                fee.into(),
                interest.into(),
                suspend.into(),
            ]);
        }
        m.exec_stmt(levels).await?;

        m.create_table(
            Table::create()
                .table(BaseRates::Table)
                .col(
                    ColumnDef::new(BaseRates::ValidFrom)
                        .string_len(10)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(BaseRates::RateBp).integer().not_null())
                .to_owned(),
        )
        .await?;
        // The Bundesbank's base rate (§ 247 BGB), in basis points.
        let mut rates = Query::insert();
        rates
            .into_table(BaseRates::Table)
            .columns([BaseRates::ValidFrom, BaseRates::RateBp]);
        for (from, bp) in [
            ("2023-01-01", 162),
            ("2023-07-01", 312),
            ("2024-01-01", 362),
            ("2024-07-01", 337),
            ("2025-01-01", 227),
            ("2025-07-01", 127),
        ] {
            rates.values_panic([from.into(), bp.into()]);
        }
        m.exec_stmt(rates).await?;

        m.create_table(
            Table::create()
                .table(DunningRuns::Table)
                .col(id_pk(DunningRuns::Id))
                .col(int(DunningRuns::Letters, 0))
                .col(int(DunningRuns::Items, 0))
                .col(money(DunningRuns::FeesMinor))
                .col(money(DunningRuns::InterestMinor))
                .col(text(DunningRuns::Actor))
                .col(ts(DunningRuns::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(DunningLetters::Table)
                .col(id_pk(DunningLetters::Id))
                .col(id_col(DunningLetters::RunId))
                .col(id_col(DunningLetters::CustomerId))
                .col(int(DunningLetters::Level, 1))
                .col(
                    ColumnDef::new(DunningLetters::Day)
                        .string_len(10)
                        .not_null(),
                )
                // JSON: [{invoice_id, number, due, level, open_minor, interest_minor}]
                .col(text(DunningLetters::Items))
                .col(money(DunningLetters::FeeMinor))
                .col(money(DunningLetters::InterestMinor))
                .col(money(DunningLetters::TotalMinor))
                .col(short(DunningLetters::Currency, "EUR"))
                .col(text_null(DunningLetters::Text))
                .col(ColumnDef::new(DunningLetters::Pdf).blob().null())
                .col(ts_null(DunningLetters::DeliveredAt))
                .col(ts(DunningLetters::CreatedAt))
                .to_owned(),
        )
        .await?;
        // Debit and dunning runs by the daily schedule, when the reseller wants them.
        for col in [BillingSettings::AutoDebit, BillingSettings::AutoDunning] {
            add_column(
                m,
                BillingSettings::Table,
                ColumnDef::new(col)
                    .boolean()
                    .not_null()
                    .default(false)
                    .to_owned(),
            )
            .await?;
        }
        // Stripe (Y2): the reseller's own account; secret keys sealed at rest.
        add_column(
            m,
            BillingSettings::Table,
            text_default(BillingSettings::StripePublishable),
        )
        .await?;
        add_column(
            m,
            BillingSettings::Table,
            text_null(BillingSettings::StripeSecret),
        )
        .await?;
        add_column(
            m,
            BillingSettings::Table,
            text_null(BillingSettings::StripeWebhookSecret),
        )
        .await?;
        // Webhook events applied, by Stripe's event id: each is booked once.
        m.create_table(
            Table::create()
                .table(StripeEvents::Table)
                .col(
                    ColumnDef::new(StripeEvents::Id)
                        .string_len(255)
                        .not_null()
                        .primary_key(),
                )
                .col(text(StripeEvents::Kind))
                .col(ts(StripeEvents::CreatedAt))
                .to_owned(),
        )
        .await?;

        // One letter per customer and day, however often the run goes.
        m.create_index(idx(
            DunningLetters::Table,
            "dunning_letters_day",
            &["customer_id", "day"],
            true,
        ))
        .await?;
        Ok(())
    }
}
