//! The storefront on each reseller host, rendered with the `themes` crate.

pub mod account;
pub mod billing;
pub mod domains;
pub mod newsletter;
pub mod page;
pub mod shop;
pub mod widget;

use super::{internal, lang_of, tenant_of};
use crate::app::AppState;
use crate::customers::fields::format_amount;
use crate::tax::Treatment;
use chrono::Datelike;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{IntoResponse, Request, Response, Route, get, handler};
use relabel_tenants::Tenant;
use relabel_themes::{Brand, Lang, LangLink, StorePage};
use std::sync::Arc;

pub fn routes() -> Route {
    Route::new()
        .at("/", get(home))
        .at("/assets/:id", get(asset))
        .at("/prices", get(prices))
        .at("/_store/store.css", get(store_css))
        .at("/_store/search.js", get(search_js))
        .at("/_store/consent.js", get(consent_js))
        .at("/_store/widget-frame.js", get(widget_frame_js))
        .at("/_store/theme-classic.css", get(theme_css))
        .at("/_store/theme-studio.css", get(theme_css))
        .at("/legal/:slug", get(legal))
}

/// The common part of every storefront page: brand, look, language, this year.
pub fn store_page<'a>(
    state: &AppState,
    brand: &'a Brand,
    look: &'a relabel_themes::Look,
    lang: Lang,
) -> StorePage<'a> {
    StorePage {
        brand,
        look,
        lang,
        lang_links: LangLink::all(lang),
        year: chrono::Utc::now().year(),
        test_registry: state.dev_registry.is_some(),
    }
}

/// The look loaded for this request (see `HostDispatch`), else the default.
pub fn look_of(req: &Request) -> Arc<crate::appearance::Loaded> {
    req.extensions()
        .get::<Arc<crate::appearance::Loaded>>()
        .cloned()
        .unwrap_or_else(|| {
            Arc::new(crate::appearance::Loaded {
                look: relabel_themes::Look::default(),
                custom: None,
                legal: Default::default(),
                revision: 0,
            })
        })
}

#[handler]
fn theme_css(req: &Request) -> Response {
    let path = req.uri().path();
    relabel_themes::THEME_CSS
        .iter()
        .find(|(id, _)| path == format!("/_store/theme-{id}.css"))
        .map(|(_, body)| css(body))
        .unwrap_or_else(|| StatusCode::NOT_FOUND.into_response())
}

#[handler]
fn consent_js() -> Response {
    script(relabel_themes::CONSENT_JS)
}

/// A legal page (imprint, privacy, terms, withdrawal) the reseller wrote.
#[handler]
fn legal(req: &Request, Path(slug): Path<String>) -> poem::Result<Response> {
    let tenant = tenant_of(req)?;
    let loaded = look_of(req);
    let (Some(text), Some((_, key))) = (
        loaded.legal.get(&slug),
        relabel_themes::LEGAL_PAGES.iter().find(|(s, _)| *s == slug),
    ) else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let lang = lang_of(req);
    let paragraphs: Vec<&str> = text
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let brand = brand(&tenant);
    let state = req.data::<AppState>().ok_or_else(|| internal("no state"))?;
    let page = store_page(state, &brand, &loaded.look, lang);
    let ctx = serde_json::json!({
        "title": relabel_themes::t(lang, key),
        "paragraphs": paragraphs,
    });
    let html = state
        .themes
        .render_page("legal.html", &page, &ctx, loaded.custom.as_ref())
        .map_err(internal)?;
    Ok(Response::builder()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

pub fn brand(t: &Tenant) -> Brand {
    Brand {
        name: t.name.clone(),
        primary_color: t.brand.primary_color.clone(),
        accent_color: t.brand.accent_color.clone(),
        logo_url: t
            .brand
            .logo_asset_id
            .as_ref()
            .map(|id| format!("/assets/{id}")),
    }
}

fn html(status: StatusCode, body: String) -> Response {
    Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// Rendered storefront home pages, keyed by everything the template sees (brand,
/// language, year), so an entry can never be stale: a changed brand is a new key.
/// The tenant id is part of the key, so one reseller's page can never be served
/// for another.
pub type PageCache = moka::sync::Cache<HomeKey, bytes::Bytes>;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HomeKey {
    tenant: String,
    look: u64,
    brand: (String, String, String, Option<String>),
    lang: &'static str,
    year: i32,
}

pub fn page_cache() -> PageCache {
    moka::sync::Cache::builder()
        .weigher(|_k: &HomeKey, v: &bytes::Bytes| v.len().try_into().unwrap_or(u32::MAX))
        .max_capacity(64 * 1024 * 1024)
        .build()
}

#[handler]
fn home(Data(state): Data<&AppState>, req: &Request) -> poem::Result<Response> {
    let tenant = tenant_of(req)?;
    let lang = lang_of(req);
    let brand = brand(&tenant);
    let loaded = look_of(req);
    let page = store_page(state, &brand, &loaded.look, lang);
    let year = page.year;
    let key = HomeKey {
        tenant: tenant.id.to_string(),
        look: loaded.revision,
        brand: (
            brand.name.clone(),
            brand.primary_color.clone(),
            brand.accent_color.clone(),
            brand.logo_url.clone(),
        ),
        lang: lang.code(),
        year,
    };
    let body = match state.pages.get(&key) {
        Some(body) => body,
        None => {
            let body = bytes::Bytes::from(
                state
                    .themes
                    .render_home(&page, loaded.custom.as_ref())
                    .map_err(internal)?,
            );
            state.pages.insert(key, body.clone());
            body
        }
    };
    Ok(Response::builder()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

pub fn suspended_page(state: &AppState, tenant: &Tenant, lang: Lang) -> Response {
    let mut resp = html(
        StatusCode::SERVICE_UNAVAILABLE,
        state.themes.render_suspended(&brand(tenant), lang),
    );
    resp.headers_mut()
        .insert("Retry-After", poem::http::HeaderValue::from_static("3600"));
    resp
}

/// Uploaded assets (logos). Ids are random UUIDs; content is immutable per id.
#[handler]
async fn asset(
    Data(state): Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    let tenant = tenant_of(req)?;
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(StatusCode::NOT_FOUND.into_response());
    }
    let tx = state.tenancy.begin(&tenant).await.map_err(internal)?;
    let found = crate::branding::load_asset(&tx, &id)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(match found {
        Some(a) => Response::builder()
            .content_type(a.content_type)
            .header("Cache-Control", "public, max-age=31536000, immutable")
            .header("X-Content-Type-Options", "nosniff")
            .body(a.bytes),
        None => StatusCode::NOT_FOUND.into_response(),
    })
}

#[handler]
fn search_js() -> Response {
    script(relabel_themes::SEARCH_JS)
}

#[handler]
fn widget_frame_js() -> Response {
    script(relabel_themes::WIDGET_FRAME_JS)
}

fn script(body: &'static str) -> Response {
    Response::builder()
        .content_type("text/javascript; charset=utf-8")
        .header("Cache-Control", "public, max-age=3600")
        .body(body)
}

#[handler]
fn store_css() -> Response {
    css(relabel_themes::STORE_CSS)
}

pub fn css(body: &'static str) -> Response {
    Response::builder()
        .content_type("text/css; charset=utf-8")
        .header("Cache-Control", "public, max-age=3600")
        .body(body)
}

/// The public price list: per enabled TLD, register / transfer / renew for one year,
/// at the signed-in customer's prices (class or override) or the default class.
#[handler]
async fn prices(
    Data(state): Data<&AppState>,
    session: &poem::session::Session,
    req: &Request,
) -> poem::Result<Response> {
    let tenant = tenant_of(req)?;
    let tx = state.tenancy.begin(&tenant).await.map_err(internal)?;
    let customer = match account::signed_in_customer_id(session, &tenant) {
        Some(id) => crate::customers::get(&tx, &id).await.ok(),
        None => None,
    };
    let pricer = state
        .prices
        .pricer(&tx, customer.as_ref())
        .await
        .map_err(internal)?;
    drop(tx);
    let list = crate::pricing::price_list(&pricer);
    let currency = list
        .first()
        .map(|r| r.currency.clone())
        .unwrap_or_else(|| "EUR".into());
    let cell = |v: Option<i64>| v.map(format_amount).unwrap_or_else(|| "–".into());
    let rows: Vec<serde_json::Value> = list
        .iter()
        .map(|r| serde_json::json!({ "tld": r.tld, "register": cell(r.register), "transfer": cell(r.transfer), "renew": cell(r.renew) }))
        .collect();
    let vat_note = match pricer.treatment() {
        Treatment::ReverseCharge => "reverse_charge",
        Treatment::Export => "export",
        Treatment::Vat { .. } if pricer.book().tax.show_gross => "gross",
        Treatment::Vat { .. } => "net",
    };
    let rate = crate::customers::fields::format_percent(i64::from(pricer.book().tax.rate_bp));
    let ctx = page::StoreCtx {
        state,
        session,
        req,
        tenant,
        customer: customer.as_ref(),
    };
    ctx.render(
        StatusCode::OK,
        "prices.html",
        serde_json::json!({ "rows": rows, "currency": currency, "vat_note": vat_note, "vat_rate": rate }),
    )
}
