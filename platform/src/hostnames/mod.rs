//! Custom domains (T2): a reseller claims a hostname in its console and proves
//! control with a DNS record: a TXT record `_relabel-challenge.<host>` holding
//! `relabel-verify=<token>`, or a CNAME from the hostname to the platform host.
//! Only a proven hostname enters the registry: before that it is not served and
//! `/tls/ask` refuses it a certificate. Claims live in `shared.custom_domains`;
//! several resellers may claim a name, the first to prove it gets it.

use crate::audit::{self, Change};
use crate::resellers::parse_host_field;
use crate::validation::FieldErrors;
use chrono::Utc;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use relabel_tenants::{Tenancy, TenancyError, Tenant};
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};
use std::net::SocketAddr;
use std::time::Duration;

pub mod custom_domain {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(schema_name = "shared", table_name = "custom_domains")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub hostname: String,
        pub tenant_id: String,
        pub token: String,
        /// `pending` until proven, then `verified`.
        pub status: String,
        pub created_at: DateTimeUtc,
        pub checked_at: Option<DateTimeUtc>,
        pub verified_at: Option<DateTimeUtc>,
        pub last_error: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Open claims a reseller may have at once.
pub const MAX_CLAIMS: usize = 20;

/// Where the TXT record of a claim goes.
pub fn challenge_name(host: &str) -> String {
    format!("_relabel-challenge.{host}")
}

/// What the TXT record of a claim must hold.
pub fn challenge_value(token: &str) -> String {
    format!("relabel-verify={token}")
}

#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Tenancy(#[from] TenancyError),
}

/// The claims of `tenant`, newest first.
pub async fn claims(
    tenancy: &Tenancy,
    tenant: &Tenant,
) -> Result<Vec<custom_domain::Model>, DbErr> {
    custom_domain::Entity::find()
        .filter(custom_domain::Column::TenantId.eq(tenant.id.as_str()))
        .order_by_desc(custom_domain::Column::CreatedAt)
        .all(tenancy.backend().shared())
        .await
}

async fn claim_of(
    tenancy: &Tenancy,
    tenant: &Tenant,
    id: &str,
) -> Result<custom_domain::Model, ClaimError> {
    custom_domain::Entity::find_by_id(id.to_owned())
        .filter(custom_domain::Column::TenantId.eq(tenant.id.as_str()))
        .one(tenancy.backend().shared())
        .await?
        .ok_or(ClaimError::NotFound)
}

/// Claims `raw` for `tenant`: a hostname outside the platform's own domain
/// that no shop uses yet. Returns the claim with the token to publish.
pub async fn claim(
    tenancy: &Tenancy,
    tenant: &Tenant,
    platform_host: &str,
    actor: &str,
    raw: &str,
) -> Result<custom_domain::Model, ClaimError> {
    let mut errors = FieldErrors::default();
    let host = parse_host_field(raw, &mut errors).ok_or(ClaimError::Invalid(errors))?;
    let name = host.as_str();
    let invalid = |code: &str| ClaimError::Invalid(FieldErrors::single("hostname", code));
    if name == platform_host || name.ends_with(&format!(".{platform_host}")) {
        return Err(invalid("err.hostname_platform"));
    }
    if tenancy.resolve(name).await?.is_some() {
        return Err(invalid("err.hostname_taken"));
    }
    let mine = claims(tenancy, tenant).await?;
    if mine.iter().any(|c| c.hostname == name) {
        return Err(invalid("err.hostname_claimed"));
    }
    if mine.iter().filter(|c| c.status == "pending").count() >= MAX_CLAIMS {
        return Err(invalid("err.hostname_claims"));
    }
    let shared = tenancy.backend().shared();
    let row = custom_domain::ActiveModel {
        id: Set(uuid::Uuid::now_v7().simple().to_string()),
        hostname: Set(name.to_owned()),
        tenant_id: Set(tenant.id.to_string()),
        token: Set(hex::encode(rand::random::<[u8; 16]>())),
        status: Set("pending".into()),
        created_at: Set(Utc::now()),
        checked_at: Set(None),
        verified_at: Set(None),
        last_error: Set(None),
    }
    .insert(shared)
    .await?;
    audit::record_operator(
        shared,
        Some(tenant.id.as_str()),
        Change::new(actor, "hostname.claim", name),
    )
    .await?;
    Ok(row)
}

/// Looks the claim's records up in DNS; `resolver` is `IP:PORT` of the
/// nameserver to ask, or none for the system's resolver.
pub async fn check(
    tenancy: &Tenancy,
    tenant: &Tenant,
    platform_host: &str,
    resolver: Option<&str>,
    actor: &str,
    id: &str,
) -> Result<custom_domain::Model, ClaimError> {
    let claim = claim_of(tenancy, tenant, id).await?;
    if claim.status == "verified" {
        return Ok(claim);
    }
    let proof = match dns(resolver) {
        Ok(dns) => prove(&dns, &claim, platform_host).await,
        Err(e) => Err(format!("no DNS resolver: {e}")),
    };
    let shared = tenancy.backend().shared();
    let mut row: custom_domain::ActiveModel = claim.clone().into();
    row.checked_at = Set(Some(Utc::now()));
    match proof {
        Ok(how) => {
            let host = relabel_tenants::Hostname::parse(&claim.hostname)
                .map_err(|_| ClaimError::NotFound)?;
            match tenancy.add_host(&tenant.id, &host).await {
                Ok(_) => {
                    row.status = Set("verified".into());
                    row.verified_at = Set(Some(Utc::now()));
                    row.last_error = Set(None);
                    audit::record_operator(
                        shared,
                        Some(tenant.id.as_str()),
                        Change::new(actor, "hostname.verify", &claim.hostname)
                            .after(serde_json::json!({ "proof": how })),
                    )
                    .await?;
                }
                Err(TenancyError::HostnameTaken(_)) => {
                    row.last_error = Set(Some("taken".into()));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(why) => row.last_error = Set(Some(why)),
    }
    Ok(row.update(shared).await?)
}

/// Withdraws a claim; a verified hostname stops being served.
pub async fn remove(
    tenancy: &Tenancy,
    tenant: &Tenant,
    actor: &str,
    id: &str,
) -> Result<(), ClaimError> {
    let claim = claim_of(tenancy, tenant, id).await?;
    if claim.status == "verified"
        && let Ok(host) = relabel_tenants::Hostname::parse(&claim.hostname)
        && tenant.hostnames.contains(&claim.hostname)
    {
        tenancy.remove_host(&tenant.id, &host).await?;
    }
    let shared = tenancy.backend().shared();
    custom_domain::Entity::delete_by_id(claim.id.clone())
        .exec(shared)
        .await?;
    audit::record_operator(
        shared,
        Some(tenant.id.as_str()),
        Change::new(actor, "hostname.unclaim", &claim.hostname),
    )
    .await?;
    Ok(())
}

fn dns(resolver: Option<&str>) -> Result<TokioResolver, String> {
    let mut options = ResolverOpts::default();
    // A record just published must count: never answer from a cache.
    options.cache_size = 0;
    options.timeout = Duration::from_secs(3);
    options.attempts = 2;
    let builder = match resolver {
        Some(addr) => {
            let addr: SocketAddr = addr.parse().map_err(|_| format!("{addr}: not IP:PORT"))?;
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            let server = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
            Resolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![server]),
                TokioRuntimeProvider::default(),
            )
        }
        None => Resolver::builder_tokio().map_err(|e| e.to_string())?,
    };
    builder
        .with_options(options)
        .build()
        .map_err(|e| e.to_string())
}

/// `Ok("txt" | "cname")` when the claim is proven, else what was found.
async fn prove(
    dns: &TokioResolver,
    claim: &custom_domain::Model,
    platform_host: &str,
) -> Result<&'static str, String> {
    let expected = challenge_value(&claim.token);
    let name = format!("{}.", challenge_name(&claim.hostname));
    if let Ok(found) = dns.lookup(name.as_str(), RecordType::TXT).await {
        let matches = found.answers().iter().any(|r| match &r.data {
            RData::TXT(txt) => {
                let text: Vec<u8> = txt
                    .txt_data
                    .iter()
                    .flat_map(|s| s.iter().copied())
                    .collect();
                String::from_utf8_lossy(&text).trim() == expected
            }
            _ => false,
        });
        if matches {
            return Ok("txt");
        }
    }
    let host = format!("{}.", claim.hostname);
    if let Ok(found) = dns.lookup(host.as_str(), RecordType::CNAME).await {
        let target = found.answers().iter().find_map(|r| match &r.data {
            RData::CNAME(c) => Some(c.0.to_ascii().trim_end_matches('.').to_ascii_lowercase()),
            _ => None,
        });
        if target.as_deref() == Some(platform_host) {
            return Ok("cname");
        }
    }
    Err(format!(
        "no TXT record {} with \"{expected}\" and no CNAME to {platform_host}",
        challenge_name(&claim.hostname)
    ))
}
