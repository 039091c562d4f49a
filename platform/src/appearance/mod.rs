//! How a reseller's storefront looks (T3, A6, V6) and the reseller's own
//! templates (B10).
//!
//! The look (theme, font, favicon, custom CSS, legal texts, analytics) is one
//! row per tenant. Templates are kept as numbered versions per name; at most
//! one version per name is published. Publishing renders the template with
//! sample data inside the sandbox first (fuel, recursion and output limits, no
//! loader), so a broken version is never published; rolling back publishes an
//! older version again. What the storefront renders with is cached per tenant
//! and dropped on every node when the look or a template changes.

use crate::audit::{self, Change};
use crate::branding::{sniff_image, store_asset};
use crate::validation::FieldErrors;
use chrono::Utc;
use relabel_tenants::{Tenancy, TenantTx};
use relabel_themes::{
    Analytics, Custom, EDITABLE, LEGAL_PAGES, Look, StorePage, TemplateError, Themes, is_font,
    is_google_id, is_matomo_site, is_matomo_url, is_theme,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub mod entity;
use entity::{appearance, published_template, template_version};

/// Change topic: the look or a published template.
pub const TOPIC: &str = "appearance";
const ROW: &str = "store";
/// Longest custom stylesheet, legal text and template source.
pub const MAX_CSS: usize = 20_000;
pub const MAX_LEGAL: usize = 60_000;
pub const MAX_TEMPLATE: usize = 100_000;

/// What a storefront page of one tenant is rendered with.
#[derive(Debug)]
pub struct Loaded {
    pub look: Look,
    /// The published templates compiled over the built-in ones.
    pub custom: Option<Custom>,
    /// Legal page texts by slug (only those with text).
    pub legal: HashMap<String, String>,
    /// Changes whenever this is reloaded, for caches of rendered pages.
    pub revision: u64,
}

/// The legal pages `row` has text for: `(slug, text)`.
fn legal_pages(row: &appearance::Model) -> impl Iterator<Item = (&'static str, &str)> {
    LEGAL_PAGES
        .iter()
        .map(|(slug, _)| (*slug, legal_text(row, slug)))
        .filter(|(_, text)| !text.trim().is_empty())
}

fn look_of(row: &appearance::Model) -> Look {
    let legal = legal_pages(row).map(|(slug, _)| slug.to_owned()).collect();
    let analytics = match row.analytics_kind.as_str() {
        "matomo" => Some(Analytics::Matomo {
            url: row.matomo_url.clone(),
            site_id: row.matomo_site_id.clone(),
        }),
        "google" => Some(Analytics::Google {
            id: row.google_id.clone(),
        }),
        _ => None,
    };
    Look {
        theme: row.theme.clone(),
        font: row.font.clone(),
        favicon_url: row
            .favicon_asset_id
            .as_ref()
            .map(|id| format!("/assets/{id}")),
        custom_css: row.custom_css.clone(),
        legal,
        analytics,
    }
}

fn legal_text<'a>(row: &'a appearance::Model, slug: &str) -> &'a str {
    match slug {
        "imprint" => &row.imprint,
        "privacy" => &row.privacy,
        "terms" => &row.terms,
        "withdrawal" => &row.withdrawal,
        _ => "",
    }
}

fn default_row() -> appearance::Model {
    appearance::Model {
        id: ROW.into(),
        theme: "classic".into(),
        font: "system".into(),
        favicon_asset_id: None,
        custom_css: String::new(),
        imprint: String::new(),
        privacy: String::new(),
        terms: String::new(),
        withdrawal: String::new(),
        analytics_kind: String::new(),
        matomo_url: String::new(),
        matomo_site_id: String::new(),
        google_id: String::new(),
        updated_at: Utc::now(),
    }
}

/// The tenant's look settings (defaults when never saved).
pub async fn settings(tx: &TenantTx) -> Result<appearance::Model, DbErr> {
    Ok(saved(tx).await?.unwrap_or_else(default_row))
}

async fn saved(tx: &TenantTx) -> Result<Option<appearance::Model>, DbErr> {
    appearance::Entity::find_by_id(ROW.to_owned())
        .one(tx.conn())
        .await
}

/// The published templates: `(name, source)`.
pub async fn published_sources(tx: &TenantTx) -> Result<Vec<(String, String)>, DbErr> {
    let published = published_template::Entity::find().all(tx.conn()).await?;
    let ids: Vec<String> = published.iter().map(|p| p.version_id.clone()).collect();
    let versions = template_version::Entity::find()
        .filter(template_version::Column::Id.is_in(ids))
        .all(tx.conn())
        .await?;
    Ok(versions.into_iter().map(|v| (v.name, v.source)).collect())
}

async fn load(tx: &TenantTx, themes: &Themes, revision: u64) -> Result<Loaded, DbErr> {
    let row = settings(tx).await?;
    let sources = published_sources(tx).await?;
    let custom = if sources.is_empty() {
        None
    } else {
        // Published versions compiled when they were published; should a new
        // release's built-in templates no longer fit them, the shop falls
        // back to the built-in ones rather than failing.
        match themes.customize(&sources) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(tenant = %tx.tenant_id(), error = %e, "published templates do not compile; serving the built-in ones");
                None
            }
        }
    };
    let legal = legal_pages(&row)
        .map(|(slug, text)| (slug.to_owned(), text.to_owned()))
        .collect();
    Ok(Loaded {
        look: look_of(&row),
        custom,
        legal,
        revision,
    })
}

/// Per-tenant cache of [`Loaded`], dropped on every node by changes to
/// [`TOPIC`] (through Redis when configured).
#[derive(Clone)]
pub struct Looks {
    cache: moka::sync::Cache<String, Arc<Loaded>>,
    epoch: Arc<AtomicU64>,
}

impl Looks {
    pub fn new(tenancy: &Tenancy) -> Self {
        let looks = Self {
            cache: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(600))
                .build(),
            epoch: Arc::new(AtomicU64::new(1)),
        };
        let listener = looks.clone();
        tenancy.changes().subscribe(move |change| {
            if !change.concerns(TOPIC) {
                return;
            }
            listener.epoch.fetch_add(1, Ordering::SeqCst);
            match &change.tenant {
                Some(t) => listener.cache.invalidate(t.as_str()),
                None => listener.cache.invalidate_all(),
            }
        });
        looks
    }

    /// The cached look of `tenant`, if any.
    pub fn cached(&self, tenant: &relabel_tenants::Tenant) -> Option<Arc<Loaded>> {
        self.cache.get(tenant.id.as_str())
    }

    /// What the tenant's storefront renders with.
    pub async fn get(&self, tx: &TenantTx, themes: &Themes) -> Result<Arc<Loaded>, DbErr> {
        let key = tx.tenant_id().as_str();
        if !tx.has_touched(TOPIC)
            && let Some(found) = self.cache.get(key)
        {
            return Ok(found);
        }
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        let loaded = Arc::new(load(tx, themes, epoch).await?);
        // Loaded across an invalidation: use it once, do not cache it.
        if !tx.has_touched(TOPIC) && self.epoch.load(Ordering::SeqCst) == epoch {
            self.cache.insert(key.to_owned(), loaded.clone());
        }
        Ok(loaded)
    }
}

/// What a reseller submitted on the look page.
#[derive(Default)]
pub struct LookInput {
    pub theme: String,
    pub font: String,
    pub custom_css: String,
    pub imprint: String,
    pub privacy: String,
    pub terms: String,
    pub withdrawal: String,
    pub analytics_kind: String,
    pub matomo_url: String,
    pub matomo_site_id: String,
    pub google_id: String,
    pub favicon: Option<Vec<u8>>,
    pub remove_favicon: bool,
}

pub struct ValidLook {
    input: LookInput,
    favicon: Option<(Vec<u8>, &'static str)>,
}

pub fn validate(mut input: LookInput, max_icon_bytes: usize) -> Result<ValidLook, FieldErrors> {
    let mut errors = FieldErrors::default();
    if !is_theme(&input.theme) {
        errors.add("theme", "err.choice");
    }
    if !is_font(&input.font) {
        errors.add("font", "err.choice");
    }
    if input.custom_css.len() > MAX_CSS {
        errors.add("custom_css", "err.text_too_long");
    }
    for (field, text) in [
        ("imprint", &input.imprint),
        ("privacy", &input.privacy),
        ("terms", &input.terms),
        ("withdrawal", &input.withdrawal),
    ] {
        if text.len() > MAX_LEGAL {
            errors.add(field, "err.text_too_long");
        }
    }
    input.matomo_url = input.matomo_url.trim().to_owned();
    input.matomo_site_id = input.matomo_site_id.trim().to_owned();
    input.google_id = input.google_id.trim().to_owned();
    match input.analytics_kind.as_str() {
        "" => {}
        "matomo" => {
            if !is_matomo_url(&input.matomo_url) {
                errors.add("matomo_url", "err.matomo_url");
            }
            if !is_matomo_site(&input.matomo_site_id) {
                errors.add("matomo_site_id", "err.matomo_site");
            }
        }
        "google" => {
            if !is_google_id(&input.google_id) {
                errors.add("google_id", "err.google_id");
            }
        }
        _ => errors.add("analytics_kind", "err.choice"),
    }
    let favicon = match input.favicon.take() {
        Some(bytes) if bytes.len() > max_icon_bytes => {
            errors.add("favicon", "err.logo_size");
            None
        }
        Some(bytes) => match sniff_image(&bytes) {
            Some(ct) => Some((bytes, ct)),
            None => {
                errors.add("favicon", "err.logo_type");
                None
            }
        },
        None => None,
    };
    errors.into_result()?;
    Ok(ValidLook { input, favicon })
}

/// Saves the look (audited) and drops the cached look on every node.
pub async fn save(
    tx: &TenantTx,
    actor: &str,
    ip: Option<&str>,
    valid: ValidLook,
) -> Result<appearance::Model, DbErr> {
    let stored = saved(tx).await?;
    let exists = stored.is_some();
    let before = stored.unwrap_or_else(default_row);
    let favicon_asset_id = match (&valid.favicon, valid.input.remove_favicon) {
        (Some((bytes, ct)), _) => Some(store_asset(tx, "favicon", bytes, ct).await?),
        (None, true) => None,
        (None, false) => before.favicon_asset_id.clone(),
    };
    let i = valid.input;
    let row = appearance::Model {
        id: ROW.into(),
        theme: i.theme,
        font: i.font,
        favicon_asset_id,
        custom_css: i.custom_css,
        imprint: i.imprint,
        privacy: i.privacy,
        terms: i.terms,
        withdrawal: i.withdrawal,
        analytics_kind: i.analytics_kind,
        matomo_url: i.matomo_url,
        matomo_site_id: i.matomo_site_id,
        google_id: i.google_id,
        updated_at: Utc::now(),
    };
    let mut active: appearance::ActiveModel = row.clone().into();
    active = active.reset_all();
    if exists {
        active.update(tx.conn()).await?;
    } else {
        active.insert(tx.conn()).await?;
    }
    audit::record_tenant(
        tx,
        Change::new(actor, "appearance.update", "appearance")
            .ip(ip)
            .before(summary(&before))
            .after(summary(&row)),
    )
    .await?;
    tx.touch(TOPIC);
    Ok(row)
}

fn summary(r: &appearance::Model) -> serde_json::Value {
    serde_json::json!({
        "theme": r.theme, "font": r.font, "favicon": r.favicon_asset_id,
        "custom_css_bytes": r.custom_css.len(),
        "legal": legal_pages(r).map(|(slug, _)| slug).collect::<Vec<_>>(),
        "analytics": r.analytics_kind, "matomo_url": r.matomo_url, "matomo_site_id": r.matomo_site_id, "google_id": r.google_id,
    })
}

/// Versions of every template, by name, newest first.
pub async fn all_versions(
    tx: &TenantTx,
) -> Result<HashMap<String, Vec<template_version::Model>>, DbErr> {
    let mut by_name: HashMap<String, Vec<template_version::Model>> = HashMap::new();
    for v in template_version::Entity::find()
        .order_by_desc(template_version::Column::Version)
        .all(tx.conn())
        .await?
    {
        by_name.entry(v.name.clone()).or_default().push(v);
    }
    Ok(by_name)
}

/// Versions of template `name`, newest first.
pub async fn versions(tx: &TenantTx, name: &str) -> Result<Vec<template_version::Model>, DbErr> {
    template_version::Entity::find()
        .filter(template_version::Column::Name.eq(name))
        .order_by_desc(template_version::Column::Version)
        .all(tx.conn())
        .await
}

/// The published version of each template that has one.
pub async fn published(tx: &TenantTx) -> Result<HashMap<String, published_template::Model>, DbErr> {
    Ok(published_template::Entity::find()
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|p| (p.name.clone(), p))
        .collect())
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateChangeError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Template(TemplateError),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Saves `source` as the next version of `name` (a draft until published).
pub async fn save_draft(
    tx: &TenantTx,
    name: &str,
    source: &str,
    actor: &str,
) -> Result<template_version::Model, TemplateChangeError> {
    let mut errors = FieldErrors::default();
    if !EDITABLE.contains(&name) {
        errors.add("name", "err.choice");
    }
    if source.len() > MAX_TEMPLATE {
        errors.add("source", "err.text_too_long");
    }
    if source.trim().is_empty() {
        errors.add("source", "err.required");
    }
    errors.into_result().map_err(TemplateChangeError::Invalid)?;
    let last = template_version::Entity::find()
        .filter(template_version::Column::Name.eq(name))
        .order_by_desc(template_version::Column::Version)
        .one(tx.conn())
        .await?
        .map(|v| v.version);
    let model = template_version::ActiveModel {
        id: Set(uuid::Uuid::now_v7().simple().to_string()),
        name: Set(name.to_owned()),
        version: Set(last.unwrap_or(0) + 1),
        source: Set(source.to_owned()),
        created_by: Set(actor.to_owned()),
        created_at: Set(Utc::now()),
        published_at: Set(None),
    }
    .insert(tx.conn())
    .await?;
    Ok(model)
}

/// Renders version `version` of a template (with the other published
/// templates) in the sandbox: the page or email text, or the error.
pub async fn preview(
    tx: &TenantTx,
    themes: &Themes,
    page: &StorePage<'_>,
    version: &template_version::Model,
) -> Result<Result<String, TemplateError>, DbErr> {
    let mut sources: Vec<(String, String)> = published_sources(tx)
        .await?
        .into_iter()
        .filter(|(n, _)| *n != version.name)
        .collect();
    sources.push((version.name.clone(), version.source.clone()));
    Ok(themes
        .customize(&sources)
        .and_then(|custom| themes.preview(&custom, &version.name, page)))
}

/// Finds a version of this tenant's templates by id.
pub async fn version(
    tx: &TenantTx,
    id: &str,
) -> Result<template_version::Model, TemplateChangeError> {
    template_version::Entity::find_by_id(id.to_owned())
        .one(tx.conn())
        .await?
        .ok_or(TemplateChangeError::NotFound)
}

/// Publishes a version (a new one, or an older one to roll back) once it
/// renders in the sandbox; audited.
pub async fn publish(
    tx: &TenantTx,
    themes: &Themes,
    page: &StorePage<'_>,
    version_id: &str,
    actor: &str,
    ip: Option<&str>,
) -> Result<template_version::Model, TemplateChangeError> {
    let v = version(tx, version_id).await?;
    preview(tx, themes, page, &v)
        .await?
        .map_err(TemplateChangeError::Template)?;
    let before = published_template::Entity::find_by_id(v.name.clone())
        .one(tx.conn())
        .await?;
    let now = Utc::now();
    let row = published_template::ActiveModel {
        name: Set(v.name.clone()),
        version_id: Set(v.id.clone()),
        published_by: Set(actor.to_owned()),
        published_at: Set(now),
    };
    if before.is_some() {
        row.update(tx.conn()).await?;
    } else {
        row.insert(tx.conn()).await?;
    }
    let mut m: template_version::ActiveModel = v.clone().into();
    m.published_at = Set(Some(now));
    let v = m.update(tx.conn()).await?;
    audit::record_tenant(
        tx,
        Change::new(actor, "template.publish", &v.name)
            .ip(ip)
            .before(serde_json::json!({ "version_id": before.map(|b| b.version_id) }))
            .after(serde_json::json!({ "version_id": v.id, "version": v.version })),
    )
    .await?;
    tx.touch(TOPIC);
    Ok(v)
}

/// Goes back to the built-in template (the versions stay); audited.
pub async fn use_builtin(
    tx: &TenantTx,
    name: &str,
    actor: &str,
    ip: Option<&str>,
) -> Result<(), DbErr> {
    let gone = published_template::Entity::delete_by_id(name.to_owned())
        .exec(tx.conn())
        .await?;
    if gone.rows_affected > 0 {
        audit::record_tenant(tx, Change::new(actor, "template.builtin", name).ip(ip)).await?;
        tx.touch(TOPIC);
    }
    Ok(())
}
