//! Rendering console pages: the context every admin-ui template expects
//! (language, brand, user, CSRF token, flash messages) plus the page's own data.

use crate::app::AppState;
use crate::auth::csrf;
use poem::session::Session;
use poem::{Response, http::StatusCode};
use relabel_themes::Lang;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Flash {
    pub kind: String,
    pub message: String,
}

/// Queues a message for the next rendered page of this session.
pub fn flash(session: &Session, kind: &str, message: impl Into<String>) {
    let mut all: Vec<Flash> = session.get("flash").unwrap_or_default();
    all.push(Flash {
        kind: kind.to_owned(),
        message: message.into(),
    });
    session.set("flash", all);
}

pub struct Page<'a> {
    pub state: &'a AppState,
    pub session: &'a Session,
    pub lang: Lang,
    /// "operator" or "console".
    pub area: &'static str,
    pub brand: Value,
    pub user: Option<String>,
    /// Console navigation entries the user may use (empty for the operator console).
    pub perms: Vec<&'static str>,
}

impl Page<'_> {
    pub fn t(&self, key: &str) -> &'static str {
        relabel_admin_ui::t(self.lang.code(), key)
    }

    pub fn render(
        &self,
        template: &str,
        title_key: &str,
        nav: &str,
        data: Value,
    ) -> poem::Result<Response> {
        self.render_status(StatusCode::OK, template, title_key, nav, data)
    }

    pub fn render_status(
        &self,
        status: StatusCode,
        template: &str,
        title_key: &str,
        nav: &str,
        data: Value,
    ) -> poem::Result<Response> {
        let flashes: Vec<Flash> = self.session.get("flash").unwrap_or_default();
        if !flashes.is_empty() {
            self.session.remove("flash");
        }
        let lang_switch: Vec<Value> = Lang::ALL
            .iter()
            .map(|l| {
                json!({
                    "code": l.code(),
                    "label": l.native_name(),
                    "url": format!("?lang={}", l.code()),
                    "active": *l == self.lang,
                })
            })
            .collect();
        let mut ctx = json!({
            "lang": self.lang.code(),
            "title": self.t(title_key),
            "area": self.area,
            "brand": self.brand,
            "user": self.user.as_ref().map(|email| json!({ "email": email })),
            "csrf": csrf::token(self.session),
            "flash": flashes,
            "nav": nav,
            "lang_switch": lang_switch,
            "test_registry": self.state.dev_registry.is_some(),
            "perms": self.perms,
            "values": {},
            "errors": {},
        });
        if let (Some(base), Value::Object(extra)) = (ctx.as_object_mut(), data) {
            base.extend(extra);
        }
        let html = self
            .state
            .ui
            .render(template, &ctx)
            .map_err(super::internal)?;
        Ok(Response::builder()
            .status(status)
            .content_type("text/html; charset=utf-8")
            .header("Cache-Control", "no-store")
            .header("X-Frame-Options", "DENY")
            .body(html))
    }
}

/// The platform's own brand for the operator console.
pub fn platform_brand() -> Value {
    json!({ "name": "relabel operator", "primary_color": "#1f3a5f", "accent_color": "#e07a1f", "logo_url": null })
}

/// A reseller's brand as the consoles and storefront show it.
pub fn tenant_brand(t: &relabel_tenants::Tenant) -> Value {
    json!({
        "name": t.name,
        "primary_color": t.brand.primary_color,
        "accent_color": t.brand.accent_color,
        "logo_url": t.brand.logo_asset_id.as_ref().map(|id| format!("/assets/{id}")),
    })
}
