//! HTTP surfaces, by audience. The [`HostDispatch`] endpoint sends each request to
//! the platform routes (operator console, operator API) or, resolved by `Host`, to
//! the reseller routes (storefront, reseller console, reseller API).

pub mod api;
mod body_limit;
pub mod client;
pub mod console;
pub mod csp;
mod form;
pub mod health;
pub mod hooks;
mod keys;
mod local_path;
pub mod operator;
mod page;
mod slow_clients;
pub mod store;
mod throttled;

pub use body_limit::BodyLimit;
pub use form::{FormData, read_multipart};
pub use local_path::same_site_path;
pub use page::{Flash, Page, flash, platform_brand, tenant_brand};
pub use slow_clients::{Deadlines, Timeouts};

use crate::app::AppState;
use poem::http::{Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use relabel_tenants::{TenantStatus, normalize_host_header};
use relabel_themes::Lang;
use std::sync::Arc;

/// The request's reseller, put into the request extensions by [`HostDispatch`].
pub type CurrentTenant = Arc<relabel_tenants::Tenant>;

pub struct HostDispatch<P, T> {
    pub state: AppState,
    pub platform: P,
    pub tenant: T,
}

/// The language of this request: `?lang=` (remembered in a cookie), the `lang`
/// cookie, then `Accept-Language`.
fn request_lang(req: &Request) -> (Lang, bool) {
    let from_query = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")))
        .and_then(Lang::parse);
    if let Some(lang) = from_query {
        return (lang, true);
    }
    let from_cookie = req
        .cookie()
        .get("lang")
        .and_then(|c| Lang::parse(c.value_str()));
    let lang = from_cookie.unwrap_or_else(|| {
        Lang::from_accept_language(req.header(header::ACCEPT_LANGUAGE).unwrap_or_default())
    });
    (lang, false)
}

/// `GET /tls/ask?domain=HOST`: 200 when HOST is served here (the platform host
/// or a hostname of a reseller that is not deleted), else 404. Only hostnames the
/// operator added or a reseller proved are in the registry, so nobody can make
/// the proxy fetch certificates for arbitrary names.
async fn tls_ask(state: &AppState, req: &Request) -> Response {
    let domain = req
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .find_map(|kv| kv.strip_prefix("domain="))
        .unwrap_or_default();
    let Some(host) = normalize_host_header(domain).filter(|h| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    }) else {
        return (StatusCode::BAD_REQUEST, "domain: not a hostname").into_response();
    };
    if host == state.config.platform_host {
        return (StatusCode::OK, "ok").into_response();
    }
    match state.tenancy.resolve(&host).await {
        Ok(Some(t)) if t.status != TenantStatus::Deleted => (StatusCode::OK, "ok").into_response(),
        Ok(_) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "tls ask: resolving failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// A link into `tenant`'s shop or console for a mail (`path` with its
/// query): on the host the request came to when that is one of the reseller's
/// own hostnames, else its first, with the configured scheme and public port.
/// Nothing of the link comes from the request but a hostname the reseller owns:
/// a forged `Host` port cannot send a reset link elsewhere.
pub fn link_for_mail(
    state: &AppState,
    tenant: &relabel_tenants::Tenant,
    req: &Request,
    path: &str,
) -> String {
    let asked = req
        .header(header::HOST)
        .and_then(relabel_tenants::normalize_host_header);
    let host = asked
        .filter(|h| tenant.hostnames.iter().any(|own| own == h))
        .or_else(|| tenant.hostnames.first().cloned())
        .unwrap_or_default();
    format!("{}{path}", state.config.public_origin(&host))
}

pub fn lang_of(req: &Request) -> Lang {
    req.extensions().get::<Lang>().copied().unwrap_or(Lang::En)
}

impl<P: Endpoint, T: Endpoint> Endpoint for HostDispatch<P, T> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        client::note(&mut req, &self.state.trusted_proxies);
        let (lang, remember) = request_lang(&req);
        req.extensions_mut().insert(lang);
        let path = req.uri().path();
        let mut resp = if path == "/healthz" || path == "/readyz" {
            health::respond(&self.state, path).await
        } else if path == "/tls/ask" {
            // Caddy's on-demand TLS asks on any Host whether to get a certificate.
            tls_ask(&self.state, &req).await
        } else if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
            self.route(req, lang).await?
        } else {
            // May change something: SQLite transactions take the write lock
            // first (see `relabel_tenants::writing`).
            relabel_tenants::writing(self.route(req, lang)).await?
        };
        if remember {
            let cookie = format!(
                "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
                lang.code()
            );
            if let Ok(v) = cookie.parse() {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        Ok(resp)
    }
}

impl<P: Endpoint, T: Endpoint> HostDispatch<P, T> {
    async fn route(&self, mut req: Request, lang: Lang) -> poem::Result<Response> {
        let raw_host = req
            .header(header::HOST)
            .map(str::to_owned)
            .or_else(|| req.uri().host().map(str::to_owned))
            .unwrap_or_default();
        let host = normalize_host_header(&raw_host);
        let path = req.uri().path().to_owned();
        if host.as_deref() == Some(self.state.config.platform_host.as_str()) {
            let mut resp = self
                .platform
                .call(req)
                .await
                .map(IntoResponse::into_response)
                .unwrap_or_else(|e| e.into_response());
            // The widget demo stands for a reseller's own website, with the
            // shop's widget script from another origin: not a platform page.
            if path != "/widget-demo" {
                csp::apply(&mut resp, admin_area(&path));
            }
            return Ok(resp);
        }
        let tenant = match self.state.tenancy.resolve(&raw_host).await {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "resolving host failed");
                return Ok(StatusCode::SERVICE_UNAVAILABLE.into_response());
            }
        };
        // The API answers in its own shape on every host, known or not.
        if path.starts_with("/api/") {
            let refused = match &tenant {
                None => Some((
                    StatusCode::NOT_FOUND,
                    "unknown_host",
                    "No reseller answers at this host.",
                )),
                Some(t) if t.status == TenantStatus::Deleted => Some((
                    StatusCode::NOT_FOUND,
                    "unknown_host",
                    "No reseller answers at this host.",
                )),
                Some(t) if t.status == TenantStatus::Suspended => Some((
                    StatusCode::SERVICE_UNAVAILABLE,
                    "reseller_suspended",
                    "This reseller is suspended.",
                )),
                Some(_) => None,
            };
            if let Some((status, code, message)) = refused {
                return Ok(api::error::json_error(status, code, message));
            }
        }
        match tenant {
            None => Ok(self.forward_or_not_found(host.as_deref(), lang).await),
            Some(t) if t.status == TenantStatus::Suspended => {
                let mut resp = store::suspended_page(&self.state, &t, lang);
                csp::apply(&mut resp, csp::Area::Admin);
                Ok(resp)
            }
            Some(t) if t.status == TenantStatus::Deleted => Ok(self.not_found(lang)),
            Some(t) => {
                tracing::Span::current().record("tenant", t.id.as_str());
                // Storefront pages render with the shop's look (cached per tenant).
                let store_page = !["/console", "/api/", "/hooks/", "/_store/", "/assets/"]
                    .iter()
                    .any(|p| path.starts_with(p));
                let mut look = None;
                if store_page {
                    match self.state.look(&t).await {
                        Ok(loaded) => {
                            look = Some(loaded.clone());
                            req.extensions_mut().insert(loaded);
                        }
                        Err(e) => tracing::error!(error = %e, "loading the storefront look failed"),
                    }
                }
                let consented = csp::consented(&req);
                req.extensions_mut().insert::<CurrentTenant>(t);
                let mut resp = self
                    .tenant
                    .call(req)
                    .await
                    .map(IntoResponse::into_response)
                    .unwrap_or_else(|e| e.into_response());
                let area = if store_page {
                    csp::Area::Store {
                        analytics: look.as_ref().and_then(|l| l.look.analytics.as_ref()),
                        consented,
                    }
                } else {
                    admin_area(&path)
                };
                csp::apply(&mut resp, area);
                Ok(resp)
            }
        }
    }

    /// A host that is no shop: a customer's domain pointed at the platform for web
    /// forwarding (V5) is redirected or framed; anything else is 404.
    async fn forward_or_not_found(&self, host: Option<&str>, lang: Lang) -> Response {
        let Some(host) = host else {
            return self.not_found(lang);
        };
        match crate::forwarding::serve(&self.state, host).await {
            Ok(Some(resp)) => resp,
            Ok(None) => self.not_found(lang),
            Err(e) => {
                tracing::error!(error = %e, host, "web forwarding failed");
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            }
        }
    }

    fn not_found(&self, lang: Lang) -> Response {
        let mut resp = Response::builder()
            .status(StatusCode::NOT_FOUND)
            .content_type("text/html; charset=utf-8")
            .body(self.state.themes.render_not_found(lang));
        csp::apply(&mut resp, csp::Area::Admin);
        resp
    }
}

/// The policy of a page that is not a storefront page: the API's own
/// documentation (Swagger UI) may run its inline script, nothing else may.
fn admin_area(path: &str) -> csp::Area<'static> {
    if path.starts_with("/api/") && !path.starts_with("/api/v1/openapi.json") {
        csp::Area::ApiDocs
    } else {
        csp::Area::Admin
    }
}

/// Takes the current tenant out of the request (present on reseller routes only).
pub fn tenant_of(req: &Request) -> poem::Result<CurrentTenant> {
    req.extensions()
        .get::<CurrentTenant>()
        .cloned()
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))
}

/// Logs an unexpected error with a request id and returns an opaque 500.
pub fn internal(e: impl std::fmt::Display) -> poem::Error {
    // The id the request's log lines and `X-Request-Id` carry, so a customer's
    // report leads straight to the log.
    let request_id = crate::metrics::request_id();
    tracing::error!(%request_id, error = %e, "internal error");
    poem::Error::from_string(
        format!("Something went wrong on our side. Request id: {request_id}"),
        StatusCode::INTERNAL_SERVER_ERROR,
    )
}

pub fn redirect(to: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, to)
        .finish()
}
