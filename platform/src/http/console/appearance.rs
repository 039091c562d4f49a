//! The storefront's look and the reseller's own templates (T3, A6, B10, V6).

use super::{Can, ManageBranding, page};
use crate::app::AppState;
use crate::appearance::{self, LookInput, TemplateChangeError};
use crate::auth::csrf;
use crate::http::store::brand;
use crate::http::{flash, internal, redirect};
use crate::validation::FieldErrors;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Multipart, Query};
use poem::{Request, Response, Route, get, handler, post};
use relabel_themes::{EDITABLE, FONTS, LEGAL_PAGES, StorePage, THEMES};
use serde_json::{Value, json};

pub fn routes() -> Route {
    Route::new()
        .at("/", get(show).post(save))
        .at("/templates", get(templates))
        .at("/template", get(edit).post(save_template))
        .at("/template/publish", post(publish))
        .at("/template/builtin", post(builtin))
}

fn choices(lang: &str) -> Value {
    let t = |key: String| relabel_admin_ui::t(lang, &key);
    json!({
        "themes": THEMES.iter().map(|(id, label)| json!({"id": id, "label": label, "hint": t(format!("appearance.theme_{id}"))})).collect::<Vec<_>>(),
        "fonts": FONTS.iter().map(|(id, label, stack)| json!({"id": id, "label": label, "stack": stack})).collect::<Vec<_>>(),
        "legal": LEGAL_PAGES.iter().map(|(slug, _)| json!({"slug": slug, "label": t(format!("appearance.legal_{slug}"))})).collect::<Vec<_>>(),
    })
}

fn render_look(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &Can<ManageBranding>,
    values: Value,
    errors: &FieldErrors,
) -> poem::Result<Response> {
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    p.render_status(
        status,
        "console/appearance.html",
        "title.appearance",
        "appearance",
        json!({ "values": values, "errors": errors.translated(p.lang.code()), "choices": choices(p.lang.code()) }),
    )
}

fn look_values(m: &appearance::entity::appearance::Model) -> Value {
    json!({
        "theme": m.theme, "font": m.font, "custom_css": m.custom_css,
        "imprint": m.imprint, "privacy": m.privacy, "terms": m.terms, "withdrawal": m.withdrawal,
        "analytics_kind": m.analytics_kind, "matomo_url": m.matomo_url,
        "matomo_site_id": m.matomo_site_id, "google_id": m.google_id,
        "favicon_url": m.favicon_asset_id.as_ref().map(|id| format!("/assets/{id}")),
    })
}

#[handler]
pub async fn show(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageBranding>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let row = appearance::settings(&tx).await.map_err(internal)?;
    drop(tx);
    render_look(
        state,
        session,
        req,
        &user,
        look_values(&row),
        &FieldErrors::default(),
    )
}

#[handler]
pub async fn save(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageBranding>,
    multipart: Multipart,
) -> poem::Result<Response> {
    let max = state.config.max_logo_bytes;
    let (fields, favicon) =
        crate::http::read_multipart(multipart, appearance::MAX_LEGAL, "favicon", max).await?;
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    csrf::verify(session, fields.get("csrf").map(String::as_str))?;
    let input = LookInput {
        theme: get("theme"),
        font: get("font"),
        custom_css: get("custom_css"),
        imprint: get("imprint"),
        privacy: get("privacy"),
        terms: get("terms"),
        withdrawal: get("withdrawal"),
        analytics_kind: get("analytics_kind"),
        matomo_url: get("matomo_url"),
        matomo_site_id: get("matomo_site_id"),
        google_id: get("google_id"),
        favicon,
        remove_favicon: !get("remove_favicon").is_empty(),
    };
    let mut values = json!({});
    for k in [
        "theme",
        "font",
        "custom_css",
        "imprint",
        "privacy",
        "terms",
        "withdrawal",
        "analytics_kind",
        "matomo_url",
        "matomo_site_id",
        "google_id",
    ] {
        values[k] = json!(get(k));
    }
    match appearance::validate(input, max) {
        Ok(valid) => {
            let tx = state
                .tenancy
                .begin_write(&user.tenant)
                .await
                .map_err(internal)?;
            appearance::save(
                &tx,
                &user.member.email,
                Some(&crate::http::store::account::client_ip(req)),
                valid,
            )
            .await
            .map_err(internal)?;
            tx.commit().await.map_err(internal)?;
            let p = page(state, session, req, &user.tenant, Some(&user.member));
            flash(session, "success", p.t("flash.appearance_saved"));
            Ok(redirect("/console/appearance"))
        }
        Err(errors) => render_look(state, session, req, &user, values, &errors),
    }
}

#[handler]
pub async fn templates(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageBranding>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let published = appearance::published(&tx).await.map_err(internal)?;
    let all = appearance::all_versions(&tx).await.map_err(internal)?;
    drop(tx);
    let mut rows = Vec::new();
    for name in EDITABLE {
        let versions = all.get(*name).map(Vec::as_slice).unwrap_or_default();
        let live = published
            .get(*name)
            .and_then(|p| versions.iter().find(|v| v.id == p.version_id));
        rows.push(json!({
            "name": name,
            "kind": if name.starts_with("emails/") { "templates.kind_email" } else if name.starts_with("documents/") { "templates.kind_document" } else { "templates.kind_page" },
            "versions": versions.len(),
            "published": live.map(|v| json!({"version": v.version, "at": v.published_at})),
        }));
    }
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    for row in &mut rows {
        row["kind"] = json!(p.t(row["kind"].as_str().unwrap_or_default()));
    }
    p.render(
        "console/templates.html",
        "title.templates",
        "appearance",
        json!({ "templates": rows }),
    )
}

#[derive(serde::Deserialize)]
pub struct EditQuery {
    name: String,
    version: Option<String>,
}

/// What a preview renders `user`'s shop with: its brand, look and the
/// staff member's language.
struct Preview {
    brand: relabel_themes::Brand,
    loaded: std::sync::Arc<appearance::Loaded>,
    lang: relabel_themes::Lang,
    test_registry: bool,
}

impl Preview {
    async fn of(state: &AppState, user: &Can<ManageBranding>, req: &Request) -> poem::Result<Self> {
        Ok(Self {
            loaded: state.look(&user.tenant).await.map_err(internal)?,
            brand: brand(&user.tenant),
            lang: crate::http::lang_of(req),
            test_registry: state.dev_registry.is_some(),
        })
    }

    fn page(&self) -> StorePage<'_> {
        StorePage {
            brand: &self.brand,
            look: &self.loaded.look,
            lang: self.lang,
            lang_links: relabel_themes::LangLink::all(self.lang),
            year: chrono::Datelike::year(&chrono::Utc::now()),
            test_registry: self.test_registry,
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_editor(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &Can<ManageBranding>,
    name: &str,
    version: Option<appearance::entity::template_version::Model>,
    source: Option<String>,
    error: Option<String>,
) -> poem::Result<Response> {
    // The shop's look first: it reads in a transaction of its own.
    let shop = Preview::of(state, user, req).await?;
    let page_ctx = shop.page();
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let versions = appearance::versions(&tx, name).await.map_err(internal)?;
    let published = appearance::published(&tx).await.map_err(internal)?;
    let live = published.get(name).map(|p| p.version_id.clone());
    let mut preview = None;
    let mut error = error;
    if let Some(v) = &version {
        match appearance::preview(&tx, &state.themes, &page_ctx, v)
            .await
            .map_err(internal)?
        {
            Ok(out) => preview = Some(out),
            Err(e) => error = Some(e.to_string()),
        }
    }
    drop(tx);
    let current = live
        .as_ref()
        .and_then(|id| versions.iter().find(|v| &v.id == id));
    let source = source
        .or_else(|| version.as_ref().map(|v| v.source.clone()))
        .or_else(|| current.map(|v| v.source.clone()))
        .or_else(|| relabel_themes::builtin_source(name).map(str::to_owned))
        .unwrap_or_default();
    let rows: Vec<Value> = versions
        .iter()
        .map(|v| {
            json!({
                "id": v.id, "version": v.version, "created_by": v.created_by,
                "created_at": v.created_at.format("%Y-%m-%d %H:%M").to_string(),
                "published_at": v.published_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()),
                "live": live.as_deref() == Some(v.id.as_str()),
            })
        })
        .collect();
    let placeholders: Vec<Value> = relabel_themes::placeholders(name)
        .iter()
        .map(|(k, d)| json!({ "name": k, "text": d }))
        .collect();
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    p.render_status(
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        "console/template_edit.html",
        "title.templates",
        "appearance",
        json!({
            "name": name,
            // Emails and document texts preview as text, not as a page.
            "email": name.starts_with("emails/") || name.starts_with("documents/"),
            "source": source,
            "version": version.as_ref().map(|v| json!({"id": v.id, "version": v.version, "live": live.as_deref() == Some(v.id.as_str())})),
            "preview": preview,
            "error": error,
            "versions": rows,
            "live": current.map(|v| v.version),
            "placeholders": placeholders,
        }),
    )
}

#[handler]
pub async fn edit(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageBranding>,
    Query(q): Query<EditQuery>,
) -> poem::Result<Response> {
    if !EDITABLE.contains(&q.name.as_str()) {
        return Ok(StatusCode::NOT_FOUND.into());
    }
    let version = match &q.version {
        Some(id) => {
            let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
            match appearance::version(&tx, id).await {
                Ok(v) if v.name == q.name => Some(v),
                Ok(_) | Err(TemplateChangeError::NotFound) => {
                    return Ok(StatusCode::NOT_FOUND.into());
                }
                Err(e) => return Err(internal(e)),
            }
        }
        None => None,
    };
    render_editor(state, session, req, &user, &q.name, version, None, None).await
}

/// Saves the source as a new version and shows its preview; with
/// `action=publish` it is published at once when the preview renders.
#[handler]
pub async fn save_template(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageBranding>,
    multipart: Multipart,
) -> poem::Result<Response> {
    let (fields, _) =
        crate::http::read_multipart(multipart, appearance::MAX_TEMPLATE, "", 0).await?;
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    csrf::verify(session, fields.get("csrf").map(String::as_str))?;
    let name = get("name");
    if !EDITABLE.contains(&name.as_str()) {
        return Ok(StatusCode::NOT_FOUND.into());
    }
    let source = get("source").replace("\r\n", "\n");
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    // The shop's look before the transaction: it may read in one of its own.
    let shop = Preview::of(state, &user, req).await?;
    let tx = state
        .tenancy
        .begin_write(&user.tenant)
        .await
        .map_err(internal)?;
    let draft = match appearance::save_draft(&tx, &name, &source, &user.member.email).await {
        Ok(v) => v,
        Err(TemplateChangeError::Invalid(errors)) => {
            drop(tx);
            let message = errors
                .translated(p.lang.code())
                .values()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            return render_editor(
                state,
                session,
                req,
                &user,
                &name,
                None,
                Some(source),
                Some(message),
            )
            .await;
        }
        Err(e) => return Err(internal(e)),
    };
    let mut target = format!(
        "/console/appearance/template?name={}&version={}",
        name, draft.id
    );
    if get("action") == "publish" {
        let page_ctx = shop.page();
        let ip = crate::http::store::account::client_ip(req);
        match appearance::publish(
            &tx,
            &state.themes,
            &page_ctx,
            &draft.id,
            &user.member.email,
            Some(&ip),
        )
        .await
        {
            Ok(_) => {
                flash(session, "success", p.t("flash.template_published"));
                target = format!("/console/appearance/template?name={}", name);
            }
            Err(TemplateChangeError::Template(_)) => {
                // The draft is kept; its preview shows the error.
                flash(session, "error", p.t("err.template_not_published"));
            }
            Err(e) => return Err(internal(e)),
        }
    }
    tx.commit().await.map_err(internal)?;
    Ok(redirect(&target))
}

/// Publishes an existing version: the way back to an earlier one.
#[handler]
pub async fn publish(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageBranding>,
    form: crate::http::FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let shop = Preview::of(state, &user, req).await?;
    let page_ctx = shop.page();
    let ip = crate::http::store::account::client_ip(req);
    let tx = state
        .tenancy
        .begin_write(&user.tenant)
        .await
        .map_err(internal)?;
    let done = appearance::publish(
        &tx,
        &state.themes,
        &page_ctx,
        form.get("version_id"),
        &user.member.email,
        Some(&ip),
    )
    .await;
    match done {
        Ok(v) => {
            tx.commit().await.map_err(internal)?;
            flash(session, "success", p.t("flash.template_published"));
            Ok(redirect(&format!(
                "/console/appearance/template?name={}",
                v.name
            )))
        }
        Err(TemplateChangeError::NotFound) => Ok(StatusCode::NOT_FOUND.into()),
        Err(TemplateChangeError::Template(e)) => {
            flash(
                session,
                "error",
                format!("{}: {e}", p.t("err.template_not_published")),
            );
            Ok(redirect("/console/appearance/templates"))
        }
        Err(e) => Err(internal(e)),
    }
}

/// Goes back to the built-in template.
#[handler]
pub async fn builtin(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManageBranding>,
    form: crate::http::FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let name = form.get("name");
    if !EDITABLE.contains(&name) {
        return Ok(StatusCode::NOT_FOUND.into());
    }
    let ip = crate::http::store::account::client_ip(req);
    let tx = state
        .tenancy
        .begin_write(&user.tenant)
        .await
        .map_err(internal)?;
    appearance::use_builtin(&tx, name, &user.member.email, Some(&ip))
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    flash(session, "success", p.t("flash.template_builtin"));
    Ok(redirect(&format!(
        "/console/appearance/template?name={}",
        name
    )))
}
