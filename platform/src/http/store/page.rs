//! Rendering storefront pages of the customer center with the tenant's theme.

use crate::app::AppState;
use crate::auth::csrf;
use crate::customers::{self, customer, fields};
use crate::http::{CurrentTenant, Flash, internal, lang_of};
use poem::http::StatusCode;
use poem::session::Session;
use poem::{Request, Response};
use serde_json::{Value, json};

pub struct StoreCtx<'a> {
    pub state: &'a AppState,
    pub session: &'a Session,
    pub req: &'a Request,
    pub tenant: CurrentTenant,
    pub customer: Option<&'a customer::Model>,
}

pub fn choices(lang: &str, items: fields::Choices) -> Vec<Value> {
    items
        .iter()
        .map(|(v, k)| json!({ "value": v, "label": relabel_admin_ui::t(lang, k) }))
        .collect()
}

/// The select options every account form may use.
pub fn options(lang: &str) -> Value {
    let countries: Vec<Value> = crate::checks::country_options(lang)
        .into_iter()
        .map(|(c, n)| json!({ "code": c, "name": n }))
        .collect();
    json!({
        "countries": countries,
        "languages": choices(lang, fields::LANGUAGES),
        "kinds": choices(lang, fields::KINDS),
        "newsletter_categories": choices(lang, fields::NEWSLETTER_CATEGORIES),
    })
}

impl StoreCtx<'_> {
    pub fn lang(&self) -> relabel_themes::Lang {
        lang_of(self.req)
    }

    pub fn t(&self, key: &str) -> &'static str {
        relabel_admin_ui::t(self.lang().code(), key)
    }

    pub fn render(
        &self,
        status: StatusCode,
        template: &str,
        data: Value,
    ) -> poem::Result<Response> {
        let lang = self.lang();
        let flashes: Vec<Flash> = self.session.get("flash").unwrap_or_default();
        if !flashes.is_empty() {
            self.session.remove("flash");
        }
        let mut ctx = json!({
            "csrf": csrf::token(self.session),
            "flash": flashes,
            "customer": self.customer.map(|c| json!({ "number": customers::number_of(c), "name": customers::display_name(c), "email": c.email })),
            "values": {},
            "errors": {},
            "options": options(lang.code()),
        });
        if let (Some(base), Value::Object(extra)) = (ctx.as_object_mut(), data) {
            base.extend(extra);
        }
        let brand = super::brand(&self.tenant);
        let loaded = super::look_of(self.req);
        let page = super::store_page(self.state, &brand, &loaded.look, lang);
        let html = self
            .state
            .themes
            .render_page(template, &page, &ctx, loaded.custom.as_ref())
            .map_err(internal)?;
        Ok(Response::builder()
            .status(status)
            .content_type("text/html; charset=utf-8")
            .header("Cache-Control", "no-store")
            .header("X-Frame-Options", "DENY")
            .body(html))
    }

    /// The answer to a link whose token is unknown, expired or used.
    pub fn link_invalid(&self, next: Option<(&str, &str)>) -> poem::Result<Response> {
        self.message(
            StatusCode::BAD_REQUEST,
            "acct.link_invalid.heading",
            "acct.link_invalid.text",
            next,
        )
    }

    /// A page with a heading, a sentence and an optional link.
    pub fn message(
        &self,
        status: StatusCode,
        heading: &str,
        message: &str,
        link: Option<(&str, &str)>,
    ) -> poem::Result<Response> {
        let link = link.map(|(href, label)| json!({ "href": href, "label": self.t(label) }));
        self.render(
            status,
            "account/message.html",
            json!({ "heading": self.t(heading), "message": self.t(message), "link": link }),
        )
    }
}
