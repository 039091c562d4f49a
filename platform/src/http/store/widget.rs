//! The signup widget (W1): a script a reseller puts on its own website, which
//! embeds `/widget` from the shop's host in an iframe. Only origins the reseller
//! allow-lists may frame it (`frame-ancestors`) or call its JSON endpoint (CORS).
//!
//! The forms inside the frame submit to the top window (`target="_top"`), so the
//! signup response is a first-party page on the shop's host: the search for the
//! domain the visitor typed (or the shop's "check your mail" page), signed in
//! only once the address is confirmed, as with the shop's own signup. Session cookies do not reach a cross-site frame, so CSRF is
//! checked by origin: the POST must carry an `Origin` (or `Referer`) of the shop's
//! own host, which a form on another site cannot forge.

use super::account;
use super::page::StoreCtx;
use crate::app::AppState;
use crate::customers;
use crate::http::{CurrentTenant, FormData, internal, redirect, tenant_of};
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Query};
use poem::{Request, Response, Route, get, handler, post};
use serde::Deserialize;
use serde_json::json;

pub fn routes(r: Route) -> Route {
    r.at("/widget.js", get(script))
        .at("/widget", get(frame))
        .at("/widget/signup", post(signup))
        .at("/widget/availability", get(availability))
}

const SCRIPT: &str = r#"(function () {
  "use strict";
  var s = document.currentScript;
  var base = new URL(s.src).origin;
  var f = document.createElement("iframe");
  f.src = base + "/widget" + (s.dataset.lang ? "?lang=" + encodeURIComponent(s.dataset.lang) : "");
  f.title = s.dataset.title || "Sign up";
  f.style.cssText = "width:100%;max-width:34rem;border:0;min-height:40rem;display:block";
  s.parentNode.insertBefore(f, s.nextSibling);
  window.addEventListener("message", function (e) {
    if (e.origin === base && e.data && typeof e.data.relabelHeight === "number") {
      f.style.height = Math.min(e.data.relabelHeight + 8, 4000) + "px";
    }
  });
})();
"#;

#[handler]
fn script() -> Response {
    Response::builder()
        .content_type("text/javascript; charset=utf-8")
        .header("Cache-Control", "public, max-age=3600")
        .header("Access-Control-Allow-Origin", "*")
        .body(SCRIPT)
}

async fn origins(state: &AppState, tenant: &CurrentTenant) -> poem::Result<Vec<String>> {
    let tx = state.tenancy.begin(tenant).await.map_err(internal)?;
    let s = customers::settings(&tx).await.map_err(internal)?;
    drop(tx);
    Ok(s.widget_origins
        .split(',')
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect())
}

/// The frame. Without allow-listed origins nobody may embed it.
#[handler]
async fn frame(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
) -> poem::Result<Response> {
    let tenant = tenant_of(req)?;
    let allowed = origins(state, &tenant).await?;
    let lang = crate::http::lang_of(req).code();
    let ctx = StoreCtx {
        state,
        session,
        req,
        tenant,
        customer: None,
    };
    let mut resp = ctx.render(
        StatusCode::OK,
        "widget.html",
        json!({ "values": { "kind": "person", "country": "DE", "language": lang } }),
    )?;
    let ancestors = if allowed.is_empty() {
        "'none'".to_owned()
    } else {
        allowed.join(" ")
    };
    let headers = resp.headers_mut();
    headers.remove("X-Frame-Options");
    headers.insert(
        "Content-Security-Policy",
        format!("frame-ancestors {ancestors}")
            .parse()
            .map_err(internal)?,
    );
    Ok(resp)
}

/// `host[:port]` of an `Origin` or `Referer` value.
fn authority(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

/// The POST came from a page of this very host (the widget frame).
fn same_origin(req: &Request) -> bool {
    let Some(host) = req.header("host") else {
        return false;
    };
    let from = req.header("origin").or_else(|| req.header("referer"));
    from.and_then(authority)
        .is_some_and(|a| a.eq_ignore_ascii_case(host))
}

#[handler]
async fn signup(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    form: FormData,
) -> poem::Result<Response> {
    if !same_origin(req) {
        return Err(poem::Error::from_string(
            "The form did not come from this shop. Open the shop and sign up there.",
            StatusCode::FORBIDDEN,
        ));
    }
    // Now a first-party page on the shop's host: the shop's own signup, so a
    // registered address answers exactly as a new one does.
    let c = StoreCtx {
        state,
        session,
        req,
        tenant: tenant_of(req)?,
        customer: None,
    };
    if let Some(refused) = account::register(&c, &form, "widget").await? {
        return Ok(refused);
    }
    let domain = form.get("domain").trim();
    if domain.is_empty() {
        return c.message(
            StatusCode::OK,
            "acct.verify_sent.heading",
            "acct.verify_sent.text",
            None,
        );
    }
    // On to the domain the visitor came for, with word of the mail.
    crate::http::flash(session, "info", c.t("acct.verify_sent.text"));
    Ok(redirect(&format!(
        "/search?q={}",
        serde_urlencoded::to_string([("", domain)])
            .unwrap_or_default()
            .trim_start_matches('=')
    )))
}

#[derive(Deserialize)]
struct AvailabilityQuery {
    q: Option<String>,
}

/// Availability as JSON for the reseller's own website (CORS for allow-listed
/// origins only).
#[handler]
async fn availability(
    Data(state): Data<&AppState>,
    req: &Request,
    Query(q): Query<AvailabilityQuery>,
) -> poem::Result<Response> {
    let tenant = tenant_of(req)?;
    let allowed = origins(state, &tenant).await?;
    let origin = req.header("origin").map(str::to_ascii_lowercase);
    let cors = match &origin {
        Some(o) if allowed.iter().any(|a| a == o) => Some(o.clone()),
        Some(_) => {
            return Ok(Response::builder()
                .status(StatusCode::FORBIDDEN)
                .header("Vary", "Origin")
                .body("origin not allowed"));
        }
        None => None,
    };
    let tx = state.tenancy.begin(&tenant).await.map_err(internal)?;
    let pricer = state.prices.pricer(&tx, None).await.map_err(internal)?;
    let tlds = crate::orders::tld_rules(&tx).await.map_err(internal)?;
    drop(tx);
    let body = match crate::domains::search::parse_query(q.q.as_deref().unwrap_or_default(), &tlds)
    {
        Err(code) => json!({ "error": { "field": "q", "code": code.trim_start_matches("err.") } }),
        Ok(query) => {
            let rows = crate::domains::search::rows(&pricer, &tlds, &query, Some("top10"));
            let names: Vec<String> = rows
                .iter()
                .filter(|r| r.checkable())
                .map(|r| r.ascii.clone())
                .collect();
            let got = state.registries.check(tenant.id.as_str(), &names).await;
            json!({ "results": rows.iter().map(|r| json!({
                "domain": r.name,
                "status": got.get(&r.ascii),
                "price": r.price_minor.map(crate::customers::fields::format_amount),
                "currency": r.currency,
            })).collect::<Vec<_>>() })
        }
    };
    let mut b = Response::builder()
        .content_type("application/json")
        .header("Vary", "Origin");
    if let Some(o) = cors {
        b = b.header("Access-Control-Allow-Origin", o);
    }
    Ok(b.body(body.to_string()))
}
