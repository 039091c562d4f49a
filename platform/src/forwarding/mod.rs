//! Web and email forwarding (V5) and parking (V6) per domain.
//!
//! Web forwards are served by the platform itself: a host pointed at the
//! platform (the zone's A record is set to the platform's web address when we
//! serve the zone) is looked up in `shared.forward_hosts` and answered with a
//! 301/302 redirect or a framed page carrying the reseller's analytics snippet
//! (Matomo/Piwik or Google Analytics). Email forwards are written through the
//! [`MailForwarding`] adapter; the implementation here maintains a Postfix
//! `virtual` alias map. Parking goes through the [`Parking`] adapter: the
//! provider answers with nameservers to delegate to or a URL to forward to.

use crate::orders::entity::entity;
use crate::validation::FieldErrors;
use async_trait::async_trait;
use relabel_tenants::TenantTx;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use std::path::PathBuf;

entity!(web_forward, "web_forwards", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    domain_id: String,
    host: String,
    target: String,
    mode: String,
    title: Option<String>,
});
entity!(mail_forward, "mail_forwards", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    domain_id: String,
    local_part: String,
    target: String,
});

pub mod forward_host {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(schema_name = "shared", table_name = "forward_hosts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub host: String,
        pub tenant_id: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub const WEB_MODES: &[&str] = &["301", "302", "frame"];
pub const PARKING_PROVIDERS: &[&str] = &["sedo", "namedrive"];

/// A web forward as entered: `host` relative to the domain (`@`, `www`, `shop`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WebForward {
    pub host: String,
    pub target: String,
    pub mode: String,
    pub title: Option<String>,
}

/// An email forward: `local_part@domain` (`*` = every other address) to `target`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MailForward {
    pub local_part: String,
    pub target: String,
}

fn valid_label(l: &str) -> bool {
    !l.is_empty()
        && l.len() <= 63
        && !l.starts_with('-')
        && !l.ends_with('-')
        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The full host name of a forward, or `None` if `host` is not a name inside
/// `domain`.
pub fn full_host(domain: &str, host: &str) -> Option<String> {
    let h = host.trim().trim_end_matches('.').to_ascii_lowercase();
    if h.is_empty() || h == "@" || h == domain {
        return Some(domain.to_owned());
    }
    let rel = h.strip_suffix(&format!(".{domain}")).unwrap_or(&h);
    rel.split('.')
        .all(valid_label)
        .then(|| format!("{rel}.{domain}"))
        .filter(|f| f.len() <= 253)
}

/// Checks web forwards; errors name `web.N.host|target|mode|title`.
pub fn check_web(domain: &str, list: &[WebForward]) -> Result<Vec<WebForward>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut out: Vec<WebForward> = Vec::new();
    for (i, f) in list.iter().enumerate() {
        let field = |x: &str| format!("web.{i}.{x}");
        let Some(host) = full_host(domain, &f.host) else {
            errors.add(&field("host"), "err.fwd_host");
            continue;
        };
        if out.iter().any(|o| o.host == host) {
            errors.add(&field("host"), "err.fwd_duplicate");
            continue;
        }
        let target = f.target.trim();
        let url_ok = reqwest::Url::parse(target).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some_and(|h| h != host && !h.is_empty())
        });
        if !url_ok || target.len() > 2000 {
            errors.add(&field("target"), "err.fwd_target");
        }
        if !WEB_MODES.contains(&f.mode.as_str()) {
            errors.add(&field("mode"), "err.fwd_mode");
        }
        let title = f
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if title.as_ref().is_some_and(|t| t.chars().count() > 200) {
            errors.add(&field("title"), "err.fwd_title");
        }
        out.push(WebForward {
            host,
            target: target.to_owned(),
            mode: f.mode.clone(),
            title,
        });
    }
    errors.into_result().map(|_| out)
}

/// Checks email forwards; errors name `mail.N.local_part|target`.
pub fn check_mail(domain: &str, list: &[MailForward]) -> Result<Vec<MailForward>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut out: Vec<MailForward> = Vec::new();
    for (i, f) in list.iter().enumerate() {
        let field = |x: &str| format!("mail.{i}.{x}");
        let local = f.local_part.trim().to_ascii_lowercase();
        let local_ok = local == "*"
            || ((1..=64).contains(&local.len())
                && !local.starts_with('.')
                && !local.ends_with('.')
                && !local.contains("..")
                && local
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b)));
        if !local_ok {
            errors.add(&field("local_part"), "err.fwd_local");
            continue;
        }
        if out.iter().any(|o| o.local_part == local) {
            errors.add(&field("local_part"), "err.fwd_duplicate");
            continue;
        }
        let target = f.target.trim().to_ascii_lowercase();
        let source = format!("{local}@{domain}");
        let target_ok = crate::auth::Email::parse(&target).is_some() && target != source;
        if !target_ok {
            errors.add(&field("target"), "err.fwd_mail_target");
        }
        out.push(MailForward {
            local_part: local,
            target,
        });
    }
    if out.len() > 100 {
        errors.add("mail", "err.fwd_too_many");
    }
    errors.into_result().map(|_| out)
}

fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

pub async fn web_forwards(
    tx: &TenantTx,
    domain_id: &str,
) -> Result<Vec<web_forward::Model>, DbErr> {
    web_forward::Entity::find()
        .filter(web_forward::Column::DomainId.eq(domain_id))
        .all(tx.conn())
        .await
}

pub async fn mail_forwards(
    tx: &TenantTx,
    domain_id: &str,
) -> Result<Vec<mail_forward::Model>, DbErr> {
    mail_forward::Entity::find()
        .filter(mail_forward::Column::DomainId.eq(domain_id))
        .all(tx.conn())
        .await
}

/// Hosts already served for another reseller (a host can forward for one only).
pub async fn hosts_taken_elsewhere(
    shared: &impl ConnectionTrait,
    tenant_id: &str,
    hosts: &[String],
) -> Result<Vec<String>, DbErr> {
    Ok(forward_host::Entity::find()
        .filter(forward_host::Column::Host.is_in(hosts.to_vec()))
        .filter(forward_host::Column::TenantId.ne(tenant_id))
        .all(shared)
        .await?
        .into_iter()
        .map(|h| h.host)
        .collect())
}

/// Replaces a domain's web forwards (checked) and the platform's host index.
pub async fn save_web(
    tx: &TenantTx,
    shared: &impl ConnectionTrait,
    tenant_id: &str,
    domain_id: &str,
    list: &[WebForward],
) -> Result<(), DbErr> {
    let old = web_forwards(tx, domain_id).await?;
    web_forward::Entity::delete_many()
        .filter(web_forward::Column::DomainId.eq(domain_id))
        .exec(tx.conn())
        .await?;
    for f in list {
        web_forward::Entity::insert(web_forward::ActiveModel {
            id: Set(new_id()),
            domain_id: Set(domain_id.to_owned()),
            host: Set(f.host.clone()),
            target: Set(f.target.clone()),
            mode: Set(f.mode.clone()),
            title: Set(f.title.clone()),
        })
        .exec(tx.conn())
        .await?;
    }
    let gone: Vec<String> = old
        .into_iter()
        .map(|o| o.host)
        .filter(|h| !list.iter().any(|f| &f.host == h))
        .collect();
    if !gone.is_empty() {
        forward_host::Entity::delete_many()
            .filter(forward_host::Column::Host.is_in(gone))
            .filter(forward_host::Column::TenantId.eq(tenant_id))
            .exec(shared)
            .await?;
    }
    for f in list {
        let exists = forward_host::Entity::find_by_id(f.host.clone())
            .one(shared)
            .await?
            .is_some();
        if !exists {
            forward_host::Entity::insert(forward_host::ActiveModel {
                host: Set(f.host.clone()),
                tenant_id: Set(tenant_id.to_owned()),
                created_at: Set(chrono::Utc::now()),
            })
            .exec(shared)
            .await?;
        }
    }
    Ok(())
}

pub async fn save_mail(tx: &TenantTx, domain_id: &str, list: &[MailForward]) -> Result<(), DbErr> {
    mail_forward::Entity::delete_many()
        .filter(mail_forward::Column::DomainId.eq(domain_id))
        .exec(tx.conn())
        .await?;
    for f in list {
        mail_forward::Entity::insert(mail_forward::ActiveModel {
            id: Set(new_id()),
            domain_id: Set(domain_id.to_owned()),
            local_part: Set(f.local_part.clone()),
            target: Set(f.target.clone()),
        })
        .exec(tx.conn())
        .await?;
    }
    Ok(())
}

/// The tenant serving web forwarding for `host`, if any.
pub async fn tenant_for_host(
    shared: &impl ConnectionTrait,
    host: &str,
) -> Result<Option<String>, DbErr> {
    Ok(forward_host::Entity::find_by_id(host.to_owned())
        .one(shared)
        .await?
        .map(|h| h.tenant_id))
}

pub async fn forward_for_host(
    tx: &TenantTx,
    host: &str,
) -> Result<Option<web_forward::Model>, DbErr> {
    web_forward::Entity::find()
        .filter(web_forward::Column::Host.eq(host))
        .one(tx.conn())
        .await
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The reseller's analytics snippet (V6), or nothing. Values are validated when
/// saved and escaped here.
pub fn analytics_snippet(s: &crate::customers::settings::Model) -> String {
    let mut out = String::new();
    if let (Some(url), Some(site)) = (&s.matomo_url, &s.matomo_site_id) {
        let url = url.trim_end_matches('/');
        out.push_str(&format!(
            "<script>var _paq=window._paq=window._paq||[];_paq.push(['trackPageView']);_paq.push(['enableLinkTracking']);(function(){{var u=\"{}/\";_paq.push(['setTrackerUrl',u+'matomo.php']);_paq.push(['setSiteId','{}']);var d=document,g=d.createElement('script'),s=d.getElementsByTagName('script')[0];g.async=true;g.src=u+'matomo.js';s.parentNode.insertBefore(g,s);}})();</script>",
            html_escape(url),
            html_escape(site)
        ));
    }
    if let Some(ga) = &s.ga_id {
        let ga = html_escape(ga);
        out.push_str(&format!(
            "<script async src=\"https://www.googletagmanager.com/gtag/js?id={ga}\"></script><script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments);}}gtag('js',new Date());gtag('config','{ga}');</script>"
        ));
    }
    out
}

/// The framed page of a `frame` forward: the target fills the window; the title
/// and analytics are the forwarding domain's.
pub fn frame_page(f: &web_forward::Model, analytics: &str) -> String {
    let title = html_escape(f.title.as_deref().unwrap_or(&f.host));
    let target = html_escape(&f.target);
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title><style>html,body,iframe{{margin:0;padding:0;border:0;width:100%;height:100%;overflow:hidden}}</style>{analytics}</head><body><iframe src=\"{target}\" title=\"{title}\"></iframe><noscript><p><a href=\"{target}\">{target}</a></p></noscript></body></html>"
    )
}

/// The answer for a request to a forwarded `host`, if some reseller forwards it.
pub async fn serve(state: &crate::AppState, host: &str) -> anyhow::Result<Option<poem::Response>> {
    let shared = state.tenancy.backend().shared();
    let Some(tenant_id) = tenant_for_host(shared, host).await? else {
        return Ok(None);
    };
    let Some(id) = relabel_tenants::TenantId::parse(&tenant_id) else {
        return Ok(None);
    };
    let tenant = state.tenancy.get(&id).await?;
    if tenant.status != relabel_tenants::TenantStatus::Active {
        return Ok(None);
    }
    let tx = state.tenancy.begin(&tenant).await?;
    let Some(f) = forward_for_host(&tx, host).await? else {
        return Ok(None);
    };
    let settings = crate::customers::settings(&tx).await?;
    drop(tx);
    let resp = match f.mode.as_str() {
        "301" | "302" => poem::Response::builder()
            .status(if f.mode == "301" {
                poem::http::StatusCode::MOVED_PERMANENTLY
            } else {
                poem::http::StatusCode::FOUND
            })
            .header("Location", f.target.as_str())
            .finish(),
        _ => poem::Response::builder()
            .content_type("text/html; charset=utf-8")
            .body(frame_page(&f, &analytics_snippet(&settings))),
    };
    Ok(Some(resp))
}

// ---- email forwarding adapter ------------------------------------------------

#[async_trait]
pub trait MailForwarding: Send + Sync {
    /// Sets all forwards of `domain` (replacing the previous ones).
    async fn set_domain(&self, domain: &str, forwards: &[MailForward]) -> Result<(), String>;
}

/// A Postfix `virtual` alias map (`virtual_alias_maps = texthash:/path`, or
/// `hash:` after `postmap`): one line `address target` per forward, `@domain
/// target` for the catch-all; each domain's lines are replaced as a block.
pub struct PostfixVirtualMap {
    pub path: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl PostfixVirtualMap {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: tokio::sync::Mutex::new(()),
        }
    }
}

#[async_trait]
impl MailForwarding for PostfixVirtualMap {
    async fn set_domain(&self, domain: &str, forwards: &[MailForward]) -> Result<(), String> {
        let _guard = self.lock.lock().await;
        let current = match tokio::fs::read_to_string(&self.path).await {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e.to_string()),
        };
        let suffix = format!("@{domain}");
        let mut out: String = current
            .lines()
            .filter(|l| {
                let key = l.split_whitespace().next().unwrap_or_default();
                !key.ends_with(&suffix)
            })
            .filter(|l| !l.trim().is_empty())
            .map(|l| format!("{l}\n"))
            .collect();
        if out.is_empty() {
            out.push_str("# Postfix virtual alias map, written by relabel. Do not edit.\n");
        }
        for f in forwards {
            let key = if f.local_part == "*" {
                suffix.clone()
            } else {
                format!("{}{suffix}", f.local_part)
            };
            out.push_str(&format!("{key} {}\n", f.target));
        }
        if let Some(dir) = self.path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| e.to_string())?;
        }
        let tmp = self.path.with_extension("tmp");
        tokio::fs::write(&tmp, out)
            .await
            .map_err(|e| e.to_string())?;
        tokio::fs::rename(&tmp, &self.path)
            .await
            .map_err(|e| e.to_string())
    }
}

// ---- parking adapter ---------------------------------------------------------

/// What a parking provider wants: our delegation to its nameservers, or a
/// forward of the domain to its landing page.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct ParkingTarget {
    #[serde(default)]
    pub nameservers: Vec<String>,
    pub forward_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ParkingError {
    #[error("parking provider unavailable: {0}")]
    Unavailable(String),
    #[error("parking provider refused: {0}")]
    Refused(String),
    #[error("parking provider {0} is not configured")]
    NotConfigured(String),
}

#[async_trait]
pub trait Parking: Send + Sync {
    async fn park(&self, provider: &str, domain: &str) -> Result<ParkingTarget, ParkingError>;
    async fn unpark(&self, provider: &str, domain: &str) -> Result<(), ParkingError>;
}

/// Parking providers over HTTP: `POST {url}/domains {"domain"}` answers
/// `{"nameservers": [...]}` or `{"forward_url": "..."}`; `DELETE
/// {url}/domains/{domain}` ends parking. `Authorization: Bearer <api_key>`.
pub struct HttpParking {
    providers: std::collections::BTreeMap<String, crate::config::ParkingProvider>,
    http: crate::outbound::Outbound,
}

impl HttpParking {
    pub fn new(
        providers: std::collections::BTreeMap<String, crate::config::ParkingProvider>,
        http: crate::outbound::Outbound,
    ) -> Self {
        Self { providers, http }
    }

    fn provider(&self, name: &str) -> Result<&crate::config::ParkingProvider, ParkingError> {
        self.providers
            .get(name)
            .ok_or_else(|| ParkingError::NotConfigured(name.to_owned()))
    }
}

/// A failed call as the parking error it is: the provider's trouble (worth a
/// retry) or a refusal. The provider's own words are not passed on.
fn classify(e: crate::outbound::OutboundError) -> ParkingError {
    use crate::outbound::OutboundError;
    match e {
        OutboundError::Status(s) if s >= 500 => ParkingError::Unavailable(e.to_string()),
        OutboundError::Timeout | OutboundError::Unreachable => {
            ParkingError::Unavailable(e.to_string())
        }
        e => ParkingError::Refused(e.to_string()),
    }
}

#[async_trait]
impl Parking for HttpParking {
    async fn park(&self, provider: &str, domain: &str) -> Result<ParkingTarget, ParkingError> {
        let p = self.provider(provider)?;
        let req = self
            .http
            .request(
                reqwest::Method::POST,
                &format!("{}/domains", p.url.trim_end_matches('/')),
            )
            .map_err(classify)?
            .bearer_auth(&p.api_key)
            .json(&serde_json::json!({ "domain": domain }));
        let answer = self.http.send_json(req).await.map_err(classify)?;
        let target: ParkingTarget = serde_json::from_value(answer)
            .map_err(|_| ParkingError::Refused("the provider's answer is not understood".into()))?;
        if target.nameservers.is_empty() && target.forward_url.is_none() {
            return Err(ParkingError::Refused(
                "answer has neither nameservers nor forward_url".into(),
            ));
        }
        Ok(target)
    }

    async fn unpark(&self, provider: &str, domain: &str) -> Result<(), ParkingError> {
        let p = self.provider(provider)?;
        let req = self
            .http
            .request(
                reqwest::Method::DELETE,
                &format!("{}/domains/{domain}", p.url.trim_end_matches('/')),
            )
            .map_err(classify)?
            .bearer_auth(&p.api_key);
        match self.http.send(req).await {
            Ok(_) | Err(crate::outbound::OutboundError::Status(404)) => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_forwards_are_checked() {
        let f = |host: &str, target: &str, mode: &str| WebForward {
            host: host.into(),
            target: target.into(),
            mode: mode.into(),
            title: None,
        };
        let ok = check_web(
            "beispiel.de",
            &[
                f("@", "https://www.example.com/", "301"),
                f("shop", "https://shop.example.com", "frame"),
            ],
        )
        .unwrap();
        assert_eq!(ok[0].host, "beispiel.de");
        assert_eq!(ok[1].host, "shop.beispiel.de");
        let errs: Vec<String> = check_web(
            "beispiel.de",
            &[
                f("bad host!", "https://x.example", "301"),
                f("www", "ftp://x.example", "303"),
                f("@", "https://beispiel.de/", "302"),
            ],
        )
        .unwrap_err()
        .iter()
        .map(|e| format!("{}:{}", e.field, e.code))
        .collect();
        assert_eq!(
            errs,
            [
                "web.0.host:err.fwd_host",
                "web.1.target:err.fwd_target",
                "web.1.mode:err.fwd_mode",
                "web.2.target:err.fwd_target"
            ]
        );
    }

    #[test]
    fn mail_forwards_are_checked() {
        let m = |l: &str, t: &str| MailForward {
            local_part: l.into(),
            target: t.into(),
        };
        assert!(
            check_mail(
                "beispiel.de",
                &[m("info", "a@example.com"), m("*", "b@example.com")]
            )
            .is_ok()
        );
        let errs: Vec<String> = check_mail(
            "beispiel.de",
            &[
                m("in fo", "a@example.com"),
                m("x", "info@beispiel.de"),
                m("x", "not-an-address"),
            ],
        )
        .unwrap_err()
        .iter()
        .map(|e| format!("{}:{}", e.field, e.code))
        .collect();
        assert_eq!(
            errs,
            [
                "mail.0.local_part:err.fwd_local",
                "mail.2.local_part:err.fwd_duplicate"
            ]
        );
        let self_loop = check_mail("beispiel.de", &[m("info", "info@beispiel.de")]).unwrap_err();
        assert_eq!(self_loop.iter().next().unwrap().code, "err.fwd_mail_target");
    }

    #[tokio::test]
    async fn the_postfix_map_replaces_one_domains_block() {
        let dir =
            std::env::temp_dir().join(format!("relabel-virtual-{}", uuid::Uuid::now_v7().simple()));
        let map = PostfixVirtualMap::new(dir.join("virtual"));
        let m = |l: &str, t: &str| MailForward {
            local_part: l.into(),
            target: t.into(),
        };
        map.set_domain(
            "a.de",
            &[m("info", "x@example.com"), m("*", "y@example.com")],
        )
        .await
        .unwrap();
        map.set_domain("b.de", &[m("kontakt", "z@example.com")])
            .await
            .unwrap();
        map.set_domain("a.de", &[m("sales", "s@example.com")])
            .await
            .unwrap();
        let text = std::fs::read_to_string(dir.join("virtual")).unwrap();
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            ["kontakt@b.de z@example.com", "sales@a.de s@example.com"]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
