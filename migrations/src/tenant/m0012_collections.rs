//! The rest of payments and dunning: services suspended by the last dunning level
//! (D1) until paid, credit scores that set the credit limit by the reseller's rule
//! (Y5), and newsletters with categories, double opt-in and mailings (A12).

use crate::{add_column, id_pk, idx, int, short, text, text_null, ts, ts_null};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Customers {
    Table,
    SuspendedAt,
    CreditScore,
    ScoredAt,
}

#[derive(DeriveIden)]
enum Settings {
    Table,
    ScoreLimits,
}

#[derive(DeriveIden)]
enum NewsletterCategories {
    Table,
    Id,
    Name,
    Description,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum NewsletterSubscriptions {
    Table,
    Id,
    CategoryId,
    Email,
    CustomerId,
    Status,
    Token,
    Lang,
    CreatedAt,
    ConfirmedAt,
    UnsubscribedAt,
}

#[derive(DeriveIden)]
enum NewsletterMailings {
    Table,
    Id,
    CategoryId,
    Subject,
    Body,
    Status,
    Recipients,
    Sent,
    Cursor,
    Actor,
    CreatedAt,
    SentAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        add_column(m, Customers::Table, ts_null(Customers::SuspendedAt)).await?;
        add_column(
            m,
            Customers::Table,
            ColumnDef::new(Customers::CreditScore)
                .integer()
                .null()
                .to_owned(),
        )
        .await?;
        add_column(m, Customers::Table, ts_null(Customers::ScoredAt)).await?;
        // "score:limit" bands, e.g. "0:0, 400:100.00, 700:500.00"; empty = off.
        add_column(
            m,
            Settings::Table,
            ColumnDef::new(Settings::ScoreLimits)
                .text()
                .not_null()
                .default("")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(NewsletterCategories::Table)
                .col(id_pk(NewsletterCategories::Id))
                .col(text(NewsletterCategories::Name))
                .col(text(NewsletterCategories::Description))
                .col(
                    ColumnDef::new(NewsletterCategories::Active)
                        .boolean()
                        .not_null()
                        .default(true),
                )
                .col(ts(NewsletterCategories::CreatedAt))
                .to_owned(),
        )
        .await?;
        // The three topics customers could tick before (their ids are the values
        // kept in `customers.newsletter`); the reseller renames or adds more.
        let mut seed = Query::insert();
        seed.into_table(NewsletterCategories::Table).columns([
            NewsletterCategories::Id,
            NewsletterCategories::Name,
            NewsletterCategories::Description,
            NewsletterCategories::Active,
            NewsletterCategories::CreatedAt,
        ]);
        for (k, (id, name, description)) in (0i64..).zip([
            (
                "product_news",
                "Produktneuigkeiten",
                "Neue Produkte und Funktionen",
            ),
            ("offers", "Angebote", "Rabatte und Aktionen"),
            ("maintenance", "Wartung", "Geplante Wartungen und Störungen"),
        ]) {
            seed.values_panic([
                id.into(),
                name.into(),
                description.into(),
                true.into(),
                sea_orm_migration::sea_orm::prelude::ChronoDateTimeUtc::from_timestamp(
                    1_767_225_600 + k,
                    0,
                )
                .unwrap_or_default()
                .into(),
            ]);
        }
        m.exec_stmt(seed).await?;
        m.create_table(
            Table::create()
                .table(NewsletterSubscriptions::Table)
                .col(id_pk(NewsletterSubscriptions::Id))
                .col(
                    ColumnDef::new(NewsletterSubscriptions::CategoryId)
                        .string_len(40)
                        .not_null(),
                )
                .col(text(NewsletterSubscriptions::Email))
                .col(text_null(NewsletterSubscriptions::CustomerId))
                .col(short(NewsletterSubscriptions::Status, "pending"))
                .col(
                    ColumnDef::new(NewsletterSubscriptions::Token)
                        .string_len(64)
                        .not_null(),
                )
                .col(short(NewsletterSubscriptions::Lang, "de"))
                .col(ts(NewsletterSubscriptions::CreatedAt))
                .col(ts_null(NewsletterSubscriptions::ConfirmedAt))
                .col(ts_null(NewsletterSubscriptions::UnsubscribedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            NewsletterSubscriptions::Table,
            "newsletter_subscriptions_email",
            &["category_id", "email"],
            true,
        ))
        .await?;
        m.create_index(idx(
            NewsletterSubscriptions::Table,
            "newsletter_subscriptions_token",
            &["token"],
            true,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(NewsletterMailings::Table)
                .col(id_pk(NewsletterMailings::Id))
                .col(
                    ColumnDef::new(NewsletterMailings::CategoryId)
                        .string_len(40)
                        .not_null(),
                )
                .col(text(NewsletterMailings::Subject))
                .col(text(NewsletterMailings::Body))
                .col(short(NewsletterMailings::Status, "queued"))
                .col(int(NewsletterMailings::Recipients, 0))
                .col(int(NewsletterMailings::Sent, 0))
                // The last subscription written to: a resumed send goes on from here.
                .col(
                    ColumnDef::new(NewsletterMailings::Cursor)
                        .string_len(40)
                        .not_null()
                        .default(""),
                )
                .col(text(NewsletterMailings::Actor))
                .col(ts(NewsletterMailings::CreatedAt))
                .col(ts_null(NewsletterMailings::SentAt))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
