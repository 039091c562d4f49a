//! Application state, router assembly, startup and shutdown.

use crate::auth::session_store::SessionStore;
use crate::config::Config;
use crate::dns::provider::{DnsProvider, PowerDns, ZoneFiles, ZoneHead};
use crate::domains::aftermarket::{Aftermarket, CsvFeed, NoAftermarket, Source as FeedSource};
use crate::domains::devregistry::{self, Embedded};
use crate::domains::epp::EppRegistrar;
use crate::domains::registrar::{Registrar, Registries};
use crate::http::{self, HostDispatch, api, console, operator, store};
use crate::jobs::runner::{Handler, Runner};
use crate::orders::risk::GeoIp;
use crate::provisioning::handler::{self, Provisioner};
use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::middleware::{CatchPanic, CookieJarManager, SetHeader};
use poem::session::{CookieConfig, ServerSession};
use poem::web::cookie::SameSite;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, Server, get, handler};
use relabel_admin_ui::AdminUi;
use relabel_tenants::Tenancy;
use relabel_themes::Themes;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub tenancy: Tenancy,
    pub themes: Arc<Themes>,
    pub ui: Arc<AdminUi>,
    pub pages: store::PageCache,
    pub mailer: crate::mail::Mailer,
    pub limiter: crate::ratelimit::Limiter,
    /// Every credential check goes through it (see `ratelimit::throttle`).
    pub throttle: crate::ratelimit::CredentialThrottle,
    pub prices: crate::pricing::PriceBooks,
    /// Each storefront's look and published templates.
    pub looks: crate::appearance::Looks,
    /// Availability checks through the registrar adapter.
    pub registries: Registries,
    /// The built-in test registry, when no registry is configured (`epp`).
    pub dev_registry: Option<Arc<Embedded>>,
    pub aftermarket: Arc<dyn Aftermarket>,
    /// Where customer zones are served.
    pub dns: Arc<dyn DnsProvider>,
    /// Hosting, email and site-builder panels of the pool servers.
    pub panel: Arc<dyn crate::hosting::panel::HostingPanel>,
    /// Where email forwards are written.
    pub mail_forwarding: Arc<dyn crate::forwarding::MailForwarding>,
    /// Parking providers.
    pub parking: Arc<dyn crate::forwarding::Parking>,
    pub geoip: Arc<Option<GeoIp>>,
    /// Seals secrets at rest (resellers' Stripe keys).
    pub sealer: crate::secrets::Sealer,
    /// The client for peers at URLs resellers set (never inside the network).
    pub outbound: crate::outbound::Outbound,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
}

impl AppState {
    /// Connects the backend (applying shared migrations) and loads templates.
    pub async fn new(config: Config) -> anyhow::Result<Self> {
        let tenancy = Tenancy::connect(&config.tenancy()).await?;
        let mailer = crate::mail::Mailer::new(config.smtp_url.as_deref())?;
        let limiter = crate::ratelimit::Limiter::new(
            tenancy.backend().redis().cloned(),
            &config.redis_prefix,
        );
        let throttle = crate::ratelimit::CredentialThrottle::new(
            config.throttle.clone(),
            tenancy.backend().redis().cloned(),
            &config.redis_prefix,
        );
        let (registrar, dev_registry): (Arc<dyn Registrar>, _) = match &config.epp {
            Some(epp) => {
                let epp = EppRegistrar::from_config(epp)?;
                epp.set_registry_limits(&config.registries);
                (Arc::new(epp), None)
            }
            None if config.dev_registry.enabled => {
                tracing::warn!(
                    "the built-in test registry is on: domains are not really registered"
                );
                let dev = Arc::new(devregistry::embedded(config.dev_registry.clone()).await?);
                dev.registrar.set_registry_limits(&config.registries);
                (Arc::new(dev.registrar.clone()), Some(dev))
            }
            None => {
                tracing::warn!(
                    "no registry is configured ([epp]): domain checks and registrations wait"
                );
                (Arc::new(crate::domains::registrar::NoRegistry), None)
            }
        };
        let registries = Registries::new(
            registrar,
            Duration::from_millis(config.registry_timeout_ms),
            Duration::from_secs(config.availability_cache_secs),
        )
        .with_limits(&config.registries);
        let outbound = crate::outbound::Outbound::new(config.outbound_policy());
        let aftermarket: Arc<dyn Aftermarket> = match &config.aftermarket_feed {
            Some(feed) if feed.starts_with("http://") || feed.starts_with("https://") => {
                Arc::new(CsvFeed::new(
                    FeedSource::Url(feed.clone(), outbound.clone()),
                    Duration::from_secs(900),
                ))
            }
            Some(path) => Arc::new(CsvFeed::new(
                FeedSource::File(path.into()),
                Duration::from_secs(300),
            )),
            None => Arc::new(NoAftermarket),
        };
        let dns: Arc<dyn DnsProvider> = match &config.dns.powerdns_url {
            Some(url) => Arc::new(PowerDns::new(
                url,
                &config.dns.powerdns_api_key,
                &config.dns.powerdns_server,
                &config.dns.powerdns_zone_kind,
            )),
            None => Arc::new(ZoneFiles {
                dir: config
                    .dns
                    .zone_dir
                    .clone()
                    .unwrap_or_else(|| config.data_dir.join("zones")),
            }),
        };
        let geoip = match &config.geoip_csv {
            Some(path) => Some(GeoIp::load(path)?),
            None => None,
        };
        let sealer = crate::secrets::Sealer::load(config.secret_key.as_deref(), &config.data_dir)?;
        Ok(Self {
            sealer: sealer.clone(),
            registries,
            dev_registry,
            aftermarket,
            dns,
            panel: Arc::new(crate::hosting::panel::HttpPanel::new(sealer.clone())),
            mail_forwarding: Arc::new(crate::forwarding::PostfixVirtualMap::new(
                config
                    .mail_virtual_map
                    .clone()
                    .unwrap_or_else(|| config.data_dir.join("mail").join("virtual")),
            )),
            parking: Arc::new(crate::forwarding::HttpParking::new(
                config.parking.clone(),
                outbound.clone(),
            )),
            outbound,
            trusted_proxies: Arc::new(
                config
                    .trusted_proxies
                    .as_deref()
                    .map(|l| crate::outbound::Policy::parse_allow(l).unwrap_or_default())
                    .unwrap_or_default(),
            ),
            geoip: Arc::new(geoip),
            mailer,
            limiter,
            throttle,
            prices: crate::pricing::PriceBooks::new(&tenancy),
            looks: crate::appearance::Looks::new(&tenancy),
            config: Arc::new(config),
            tenancy,
            themes: Arc::new(Themes::new()),
            ui: Arc::new(AdminUi::new()),
            pages: store::page_cache(),
        })
    }

    /// The storefront look of `tenant` (cached; loaded in its own read
    /// transaction on a miss).
    pub async fn look(
        &self,
        tenant: &relabel_tenants::Tenant,
    ) -> anyhow::Result<Arc<crate::appearance::Loaded>> {
        if let Some(found) = self.looks.cached(tenant) {
            return Ok(found);
        }
        let tx = self.tenancy.begin_read(tenant).await?;
        Ok(self.looks.get(&tx, &self.themes).await?)
    }

    /// SOA/NS part of every customer zone.
    pub fn zone_head(&self) -> ZoneHead {
        ZoneHead {
            nameservers: self.config.dns.nameservers.clone(),
            hostmaster: self.config.dns.hostmaster.clone(),
        }
    }

    /// The job runner with every handler of this application.
    pub fn runner(&self) -> Runner {
        let provisioner: Arc<dyn Handler> = Arc::new(Provisioner {
            state: self.clone(),
        });
        let billing: Arc<dyn Handler> = Arc::new(crate::billing::run::BillingHandler {
            state: self.clone(),
        });
        let newsletter: Arc<dyn Handler> = Arc::new(crate::newsletter::NewsletterHandler {
            state: self.clone(),
        });
        let handlers = handler::KINDS
            .iter()
            .map(|k| (*k, provisioner.clone()))
            .chain(
                crate::billing::run::KINDS
                    .iter()
                    .map(|k| (*k, billing.clone())),
            )
            .chain(std::iter::once((crate::newsletter::SEND, newsletter)))
            .chain(std::iter::once((
                crate::orders::hooks::SCORE,
                Arc::new(crate::orders::hooks::ScoreHandler {
                    state: self.clone(),
                }) as Arc<dyn Handler>,
            )))
            .collect();
        let mut runner = Runner::new(self.tenancy.clone(), handlers);
        runner.backoff = chrono::Duration::seconds(self.config.jobs.backoff_secs.max(1));
        runner.max_attempts = self.config.jobs.max_attempts;
        runner.lease = chrono::Duration::seconds(self.config.jobs.lease_secs);
        runner.node = self.config.node_id();
        runner.periodic = vec![
            ("domains.lifecycle", chrono::Duration::hours(1)),
            (crate::billing::run::SCHEDULE, chrono::Duration::days(1)),
        ];
        runner
    }

    /// The session of one area, its cookie sent only to that area's paths:
    /// the consoles' cookies (`SameSite=Strict`, path `/console` or
    /// `/operator`) never reach a storefront page on the same origin, and no
    /// other site can make a browser send them.
    fn sessions(
        &self,
        cookie: &str,
        path: &str,
        same_site: SameSite,
    ) -> ServerSession<SessionStore> {
        let config = CookieConfig::default()
            .name(cookie)
            .path(path)
            .secure(self.config.secure_cookies)
            .http_only(true)
            .same_site(same_site)
            .max_age(Duration::from_secs(12 * 3600));
        let store = SessionStore::new(
            self.tenancy.backend().redis().cloned(),
            &self.config.redis_prefix,
            self.tenancy.backend().shared().clone(),
        );
        ServerSession::new(config, store)
    }
}

/// The whole HTTP application.
pub fn router(state: &AppState) -> impl Endpoint<Output = Response> + use<> {
    let platform = Route::new()
        .at("/", get(to_operator))
        .at("/widget-demo", get(widget_demo))
        .at("/_admin/admin.css", get(admin_css))
        .nest("/hooks", http::hooks::routes())
        .nest(
            "/api/v1",
            api::routes(state.clone()).data(api::PlatformHost),
        )
        .nest(
            "/operator",
            operator::routes()
                .with(state.sessions("relabel_op", "/operator", SameSite::Strict))
                .around(html_errors),
        )
        .data(state.clone());
    let tenant = Route::new()
        // Storefront and customer center share one session (one cookie, one store).
        .nest(
            "/",
            Route::new()
                .nest(
                    "/account",
                    store::billing::routes(store::domains::routes(store::shop::account_routes(
                        store::account::routes(),
                    ))),
                )
                .nest(
                    "/",
                    store::newsletter::routes(store::widget::routes(store::shop::routes(
                        store::routes(),
                    ))),
                )
                .with(state.sessions("relabel_store", "/", SameSite::Lax))
                .around(html_errors),
        )
        .at("/_admin/admin.css", get(admin_css))
        .nest("/api/v1", api::routes(state.clone()))
        .nest(
            "/console",
            console::routes()
                .with(state.sessions("relabel_console", "/console", SameSite::Strict))
                .around(html_errors),
        )
        .data(state.clone());
    crate::metrics::Track(http::BodyLimit {
        inner: HostDispatch {
            state: state.clone(),
            platform,
            tenant,
        },
        body: state.config.max_body_bytes,
        upload: state.config.max_upload_bytes,
        body_timeout: std::time::Duration::from_secs(state.config.body_timeout_secs),
    })
    .with(CookieJarManager::new())
    .with(
        SetHeader::new()
            .overriding("X-Content-Type-Options", "nosniff")
            .overriding("Referrer-Policy", "same-origin"),
    )
    .with(CatchPanic::new())
    .map_to_response()
}

#[handler]
fn to_operator() -> Response {
    http::redirect("/operator")
}

/// A page on the platform host (another origin than any shop) with a shop's
/// signup widget embedded, as a reseller's own website would have it.
#[handler]
fn widget_demo(req: &Request) -> Response {
    let port = req
        .header("host")
        .and_then(|h| h.rsplit_once(':'))
        .map(|(_, p)| format!(":{p}"))
        .unwrap_or_default();
    let shop = req
        .uri()
        .query()
        .and_then(|q| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .ok()?
                .into_iter()
                .find(|(k, _)| k == "shop")
                .map(|(_, v)| v)
        })
        .filter(|s| {
            let host = s.rsplit_once(':').map(|(h, _)| h).unwrap_or(s);
            relabel_tenants::Hostname::parse(host).is_ok() || host.ends_with(".localhost")
        })
        .unwrap_or_else(|| format!("alpha.localhost{port}"));
    let body = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Example Agency – our hosting partner</title>
<style>body{{font-family:Georgia,serif;margin:0;background:#f4efe6;color:#2d2a26}}header{{background:#2d2a26;color:#f4efe6;padding:1.5rem 2rem}}main{{display:grid;grid-template-columns:1fr minmax(18rem,34rem);gap:2rem;padding:2rem;max-width:72rem;margin:auto}}@media(max-width:50rem){{main{{grid-template-columns:1fr}}}}</style>
</head><body><header><h1>Example Agency</h1><p>Web design from Berlin – this page lives on another origin than the shop.</p></header>
<main><section><h2>Your domain and hosting through us</h2><p>Sign up with our hosting partner right here: the form on the right is the shop's signup widget, embedded with one script tag:</p>
<pre>&lt;script src="//{shop}/widget.js"&gt;&lt;/script&gt;</pre></section>
<section><script src="//{shop}/widget.js" data-title="Sign up with our hosting partner"></script></section></main></body></html>"#
    );
    Response::builder()
        .content_type("text/html; charset=utf-8")
        .body(body)
}

#[handler]
fn admin_css() -> Response {
    store::css(relabel_admin_ui::ADMIN_CSS)
}

/// Turns error responses of the HTML surfaces into pages in the admin-ui style.
async fn html_errors<E: Endpoint>(ep: Arc<E>, req: Request) -> poem::Result<Response> {
    let lang = http::lang_of(&req);
    let tenant = req.extensions().get::<http::CurrentTenant>().cloned();
    let state = req.data::<AppState>().cloned();
    let resp = match ep.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    };
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error())
        || status == StatusCode::UNPROCESSABLE_ENTITY
        || status == StatusCode::UNAUTHORIZED
    {
        return Ok(resp);
    }
    if resp
        .content_type()
        .is_some_and(|c| c.starts_with("text/html"))
    {
        return Ok(resp);
    }
    let Some(state) = state else { return Ok(resp) };
    let message = resp.into_body().into_string().await.unwrap_or_default();
    let key = match status {
        StatusCode::BAD_REQUEST => "error.bad_request",
        StatusCode::FORBIDDEN => "error.forbidden",
        StatusCode::NOT_FOUND => "error.not_found",
        StatusCode::TOO_MANY_REQUESTS => "error.too_many_requests",
        s if s.is_server_error() => "error.server",
        _ => "error.generic",
    };
    let message = if message.trim().is_empty() {
        relabel_admin_ui::t(lang.code(), key).to_owned()
    } else {
        message
    };
    let brand = match &tenant {
        Some(t) => http::tenant_brand(t),
        None => http::platform_brand(),
    };
    let ctx = serde_json::json!({
        "lang": lang.code(),
        "title": relabel_admin_ui::t(lang.code(), "title.error"),
        "area": if tenant.is_some() { "console" } else { "operator" },
        "brand": brand,
        "user": null,
        "csrf": "",
        "flash": [],
        "nav": "",
        "lang_switch": [],
        "status": status.as_u16(),
        "message": message,
        "request_id": null,
    });
    let html = state.ui.render("error.html", &ctx).unwrap_or(message);
    Ok(Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub handle: tokio::task::JoinHandle<std::io::Result<()>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish (up to the grace
    /// period, `shutdown_grace_secs`), then returns.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = self.handle.await;
    }
}

/// Binds `bind` (port 0 picks a free port) and serves until shut down.
pub async fn spawn(state: AppState, bind: &str) -> anyhow::Result<Running> {
    let app = router(&state);
    serve_on(bind, app.boxed(), &state.config).await
}

/// The metrics listener: Prometheus text at `/metrics`, nothing else.
pub async fn spawn_metrics(state: AppState, bind: &str) -> anyhow::Result<Running> {
    #[poem::handler]
    async fn metrics(poem::web::Data(state): poem::web::Data<&AppState>) -> Response {
        Response::builder()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(crate::metrics::render(state).await)
    }
    let config = state.config.clone();
    let app = poem::Route::new()
        .at("/metrics", poem::get(metrics))
        .data(state);
    serve_on(bind, app.boxed(), &config).await
}

/// A worker's listener: only `/healthz` and `/readyz`, for probes.
pub async fn spawn_health(state: AppState, bind: &str) -> anyhow::Result<Running> {
    #[poem::handler]
    async fn probe(
        req: &poem::Request,
        poem::web::Data(state): poem::web::Data<&AppState>,
    ) -> Response {
        crate::http::health::respond(state, req.uri().path()).await
    }
    let app = poem::Route::new()
        .at("/healthz", poem::get(probe))
        .at("/readyz", poem::get(probe))
        .data(state.clone());
    serve_on(bind, app.boxed(), &state.config).await
}

async fn serve_on(
    bind: &str,
    app: poem::endpoint::BoxEndpoint<'static>,
    config: &crate::Config,
) -> anyhow::Result<Running> {
    let grace_secs = config.shutdown_grace_secs;
    let acceptor = http::Deadlines {
        inner: TcpListener::bind(bind.to_owned()).into_acceptor().await?,
        timeouts: config.client_timeouts(),
    };
    let addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .ok_or_else(|| anyhow::anyhow!("listener has no socket address"))?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(
                app,
                async {
                    let _ = rx.await;
                },
                Some(Duration::from_secs(grace_secs)),
            )
            .await
    });
    Ok(Running {
        addr,
        handle,
        shutdown: Some(tx),
    })
}
