//! How the storefront looks (T3, A6, V6): theme, font, favicon, custom CSS, legal
//! pages, analytics; and the reseller's own templates (B10) with every version
//! kept, one published per name, rolled back by publishing an older one.

use crate::{id_pk, idx, int, short, text, text_null, ts, ts_null};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Appearance {
    Table,
    Id,
    Theme,
    Font,
    FaviconAssetId,
    CustomCss,
    Imprint,
    Privacy,
    Terms,
    Withdrawal,
    AnalyticsKind,
    MatomoUrl,
    MatomoSiteId,
    GoogleId,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TemplateVersions {
    Table,
    Id,
    Name,
    Version,
    Source,
    CreatedBy,
    CreatedAt,
    PublishedAt,
}

#[derive(DeriveIden)]
enum PublishedTemplates {
    Table,
    Name,
    VersionId,
    PublishedBy,
    PublishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Appearance::Table)
                .col(id_pk(Appearance::Id))
                .col(short(Appearance::Theme, "classic"))
                .col(short(Appearance::Font, "system"))
                .col(text_null(Appearance::FaviconAssetId))
                .col(text(Appearance::CustomCss).default("").to_owned())
                .col(text(Appearance::Imprint).default("").to_owned())
                .col(text(Appearance::Privacy).default("").to_owned())
                .col(text(Appearance::Terms).default("").to_owned())
                .col(text(Appearance::Withdrawal).default("").to_owned())
                .col(short(Appearance::AnalyticsKind, ""))
                .col(text(Appearance::MatomoUrl).default("").to_owned())
                .col(text(Appearance::MatomoSiteId).default("").to_owned())
                .col(text(Appearance::GoogleId).default("").to_owned())
                .col(ts(Appearance::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(TemplateVersions::Table)
                .col(id_pk(TemplateVersions::Id))
                .col(text(TemplateVersions::Name))
                .col(int(TemplateVersions::Version, 1))
                .col(text(TemplateVersions::Source))
                .col(text(TemplateVersions::CreatedBy))
                .col(ts(TemplateVersions::CreatedAt))
                .col(ts_null(TemplateVersions::PublishedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(idx(
            TemplateVersions::Table,
            "template_versions_name",
            &["name", "version"],
            true,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(PublishedTemplates::Table)
                .col(
                    ColumnDef::new(PublishedTemplates::Name)
                        .string_len(80)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(PublishedTemplates::VersionId)
                        .string_len(40)
                        .not_null(),
                )
                .col(text(PublishedTemplates::PublishedBy))
                .col(ts(PublishedTemplates::PublishedAt))
                .to_owned(),
        )
        .await
    }
}
