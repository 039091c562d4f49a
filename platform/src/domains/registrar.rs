//! The registrar adapter (O1, V2). [`Registrar::check`] has EPP `<domain:check>`
//! semantics: many names of one registry in one call, one answer per name.
//! [`Registries`] routes names to their registry, checks every registry in
//! parallel with its own timeout, and caches answers briefly per tenant.
//!
//! The trait covers the registry operations provisioning needs (RFC 5731-5733:
//! domains, contacts, hosts; RFC 3915 restore). [`super::epp::EppRegistrar`]
//! implements it over EPP/TLS; the built-in test registry
//! ([`super::devregistry`]) answers it on loopback.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// One name's answer, as EPP gives it: `avail="1"` or `"0"` with a reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// ASCII (punycode) name as sent.
    pub name: String,
    pub available: bool,
    pub reason: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistrarError {
    /// An EPP error result (2302 object exists, 2400 command failed, ...).
    #[error("registry answered {code}: {message}")]
    Result { code: u16, message: String },
    #[error("registry unreachable: {0}")]
    Transport(String),
}

impl RegistrarError {
    /// The EPP result code, if the registry answered.
    pub fn code(&self) -> Option<u16> {
        match self {
            Self::Result { code, .. } => Some(*code),
            Self::Transport(_) => None,
        }
    }

    /// Worth trying again later: transport trouble or a registry-side failure
    /// (2400, 25xx), not a refusal of the request itself.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Result { code, .. } => *code == 2400 || *code >= 2500,
        }
    }
}

/// A domain as the registry reports it (`<domain:infData>`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DomainInfo {
    pub name: String,
    pub statuses: Vec<String>,
    pub registrant: Option<String>,
    pub nameservers: Vec<String>,
    /// Sponsoring registrar (`clID`).
    pub sponsor: String,
    pub created: Option<DateTime<Utc>>,
    pub expires: Option<DateTime<Utc>>,
    /// Only shown to the sponsor (or with the right AuthCode).
    pub auth_code: Option<String>,
}

/// State of a transfer (`<domain:trnData>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferInfo {
    /// pending | clientApproved | serverApproved | clientRejected | ...
    pub status: String,
    pub requested_by: String,
    pub losing: String,
    pub act_by: DateTime<Utc>,
    pub expires: Option<DateTime<Utc>>,
}

/// A contact object to create at the registry (RFC 5732).
#[derive(Clone, Debug)]
pub struct RegistryContact {
    pub id: String,
    pub name: String,
    pub organization: Option<String>,
    pub street: String,
    pub city: String,
    pub postal_code: String,
    /// ISO 3166 alpha-2.
    pub country: String,
    pub email: String,
    pub phone: Option<String>,
}

/// A `<domain:create>`.
#[derive(Clone, Debug)]
pub struct NewDomain<'a> {
    pub name: &'a str,
    pub years: u32,
    pub registrant: &'a str,
    pub nameservers: &'a [String],
    pub auth_code: &'a str,
}

#[async_trait]
pub trait Registrar: Send + Sync {
    /// Our registrar id at the registry (`clID` of the domains we sponsor).
    fn client_id(&self) -> &str;
    /// Checks `names` (ASCII, all of this registry). Answers may come in any order.
    async fn check(&self, registry: &str, names: &[String]) -> Result<Vec<Check>, RegistrarError>;
    async fn create_contact(&self, contact: &RegistryContact) -> Result<(), RegistrarError>;
    /// Registers a domain; returns the registry's expiry date.
    async fn create(&self, domain: &NewDomain<'_>)
    -> Result<Option<DateTime<Utc>>, RegistrarError>;
    async fn info(&self, name: &str, auth_code: Option<&str>)
    -> Result<DomainInfo, RegistrarError>;
    /// Renews from `current_expiry`; returns the new expiry.
    async fn renew(
        &self,
        name: &str,
        current_expiry: NaiveDate,
        years: u32,
    ) -> Result<Option<DateTime<Utc>>, RegistrarError>;
    /// Deletes (into the redemption period where the registry has one).
    async fn delete(&self, name: &str) -> Result<(), RegistrarError>;
    /// Restores a deleted domain from redemption (RGP).
    async fn restore(&self, name: &str) -> Result<(), RegistrarError>;
    async fn transfer_request(
        &self,
        name: &str,
        auth_code: &str,
        years: u32,
    ) -> Result<TransferInfo, RegistrarError>;
    async fn transfer_query(&self, name: &str) -> Result<TransferInfo, RegistrarError>;
    /// The losing registrar's answer to a transfer away from it.
    async fn transfer_answer(
        &self,
        name: &str,
        approve: bool,
    ) -> Result<TransferInfo, RegistrarError>;
    /// Owner change: a new registrant contact.
    async fn update_registrant(&self, name: &str, contact_id: &str) -> Result<(), RegistrarError>;
    /// Sets the delegation to exactly `nameservers` (host objects created as needed).
    async fn set_nameservers(
        &self,
        name: &str,
        nameservers: &[String],
    ) -> Result<(), RegistrarError>;
    /// Creates a host object, with glue addresses when inside one of our domains.
    async fn create_host(&self, host: &str, addresses: &[IpAddr]) -> Result<(), RegistrarError>;
    async fn update_host(
        &self,
        host: &str,
        add: &[IpAddr],
        remove: &[IpAddr],
    ) -> Result<(), RegistrarError>;
    async fn set_auth_code(&self, name: &str, auth_code: &str) -> Result<(), RegistrarError>;
    /// `clientTransferProhibited` on or off.
    async fn set_transfer_lock(&self, name: &str, locked: bool) -> Result<(), RegistrarError>;
}

/// The registrar when none is configured: neither `[epp]` nor the built-in
/// test registry (which outside `--demo` starts only when the operator asks
/// for it, `RELABEL_DEV_REGISTRY__ENABLED=true`). Every call fails as a
/// transport error, so no domain is ever "registered" by accident, and
/// registrations wait in the job queue until a registry is configured.
pub struct NoRegistry;

impl NoRegistry {
    fn refuse<T>() -> Result<T, RegistrarError> {
        Err(RegistrarError::Transport(
            "no registry is configured".into(),
        ))
    }
}

#[async_trait]
impl Registrar for NoRegistry {
    fn client_id(&self) -> &str {
        ""
    }
    async fn check(&self, _: &str, _: &[String]) -> Result<Vec<Check>, RegistrarError> {
        Self::refuse()
    }
    async fn create_contact(&self, _: &RegistryContact) -> Result<(), RegistrarError> {
        Self::refuse()
    }
    async fn create(&self, _: &NewDomain<'_>) -> Result<Option<DateTime<Utc>>, RegistrarError> {
        Self::refuse()
    }
    async fn info(&self, _: &str, _: Option<&str>) -> Result<DomainInfo, RegistrarError> {
        Self::refuse()
    }
    async fn renew(
        &self,
        _: &str,
        _: NaiveDate,
        _: u32,
    ) -> Result<Option<DateTime<Utc>>, RegistrarError> {
        Self::refuse()
    }
    async fn delete(&self, _: &str) -> Result<(), RegistrarError> {
        Self::refuse()
    }
    async fn restore(&self, _: &str) -> Result<(), RegistrarError> {
        Self::refuse()
    }
    async fn transfer_request(
        &self,
        _: &str,
        _: &str,
        _: u32,
    ) -> Result<TransferInfo, RegistrarError> {
        Self::refuse()
    }
    async fn transfer_query(&self, _: &str) -> Result<TransferInfo, RegistrarError> {
        Self::refuse()
    }
    async fn transfer_answer(&self, _: &str, _: bool) -> Result<TransferInfo, RegistrarError> {
        Self::refuse()
    }
    async fn update_registrant(&self, _: &str, _: &str) -> Result<(), RegistrarError> {
        Self::refuse()
    }
    async fn set_nameservers(&self, _: &str, _: &[String]) -> Result<(), RegistrarError> {
        Self::refuse()
    }
    async fn create_host(&self, _: &str, _: &[IpAddr]) -> Result<(), RegistrarError> {
        Self::refuse()
    }
    async fn update_host(&self, _: &str, _: &[IpAddr], _: &[IpAddr]) -> Result<(), RegistrarError> {
        Self::refuse()
    }
    async fn set_auth_code(&self, _: &str, _: &str) -> Result<(), RegistrarError> {
        Self::refuse()
    }
    async fn set_transfer_lock(&self, _: &str, _: bool) -> Result<(), RegistrarError> {
        Self::refuse()
    }
}

/// The registry operator that runs `tld`: names of one operator go in one check.
pub fn registry_of(tld: &str) -> &str {
    match tld {
        "com" | "net" | "name" | "cc" | "tv" => "verisign",
        "org" => "pir",
        "de" => "denic",
        "eu" => "eurid",
        "info" | "mobi" | "pro" | "io" | "digital" | "agency" => "identity-digital",
        "biz" | "co" | "club" => "godaddy-registry",
        "online" | "store" | "site" | "tech" => "radix",
        "app" | "dev" => "google-registry",
        "uk" => "nominet",
        "ch" | "li" => "switch",
        "berlin" | "hamburg" | "bayern" => "core",
        other => other,
    }
}

/// Settings of one registry operator (`[registries.<operator>]`, e.g.
/// `[registries.denic]`); unset values take `registry_timeout_ms` and
/// `registry_connections`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistryLimits {
    /// Longest wait for one availability answer, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// EPP sessions kept for its checks: a search asks every registry at once,
    /// so one slow registry never waits behind another.
    pub connections: Option<usize>,
}

/// What the availability page shows for one name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Available,
    Taken,
    /// The registry did not answer in time or failed: "unknown, try again".
    Unknown,
}

/// Routes checks to registries: parallel, one timeout per registry, short cache.
#[derive(Clone)]
pub struct Registries {
    registrar: Arc<dyn Registrar>,
    timeout: Duration,
    /// Per registry operator, where set.
    timeouts: Arc<HashMap<String, Duration>>,
    /// (tenant, ascii name) -> available. Only real answers are cached; none when
    /// the configured lifetime is zero.
    cache: Option<moka::sync::Cache<(String, String), bool>>,
}

impl Registries {
    pub fn new(registrar: Arc<dyn Registrar>, timeout: Duration, cache_ttl: Duration) -> Self {
        Self {
            registrar,
            timeout,
            timeouts: Arc::default(),
            cache: (!cache_ttl.is_zero()).then(|| {
                moka::sync::Cache::builder()
                    .max_capacity(200_000)
                    .time_to_live(cache_ttl)
                    .build()
            }),
        }
    }

    /// Timeouts of single registry operators (the rest keep the default).
    pub fn with_limits(mut self, limits: &BTreeMap<String, RegistryLimits>) -> Self {
        self.timeouts = Arc::new(
            limits
                .iter()
                .filter_map(|(r, l)| Some((r.clone(), Duration::from_millis(l.timeout_ms?))))
                .collect(),
        );
        self
    }

    /// How long a check at `registry` may take.
    pub fn timeout_for(&self, registry: &str) -> Duration {
        self.timeouts.get(registry).copied().unwrap_or(self.timeout)
    }

    pub fn registrar(&self) -> &Arc<dyn Registrar> {
        &self.registrar
    }

    /// Forgets cached answers for `name` (after a registration or delete).
    pub fn forget(&self, tenant: &str, ascii_name: &str) {
        if let Some(c) = &self.cache {
            c.invalidate(&(tenant.to_owned(), ascii_name.to_owned()));
        }
    }

    /// Checks ASCII `names` for `tenant`. Calls `each` with every registry's
    /// answers as soon as they arrive (for streaming pages), and returns all.
    pub async fn check_streaming(
        &self,
        tenant: &str,
        names: &[String],
        mut each: impl FnMut(&[(String, Availability)]),
    ) -> HashMap<String, Availability> {
        let mut out = HashMap::new();
        let mut by_registry: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let mut cached = Vec::new();
        for name in names {
            if let Some(hit) = self
                .cache
                .as_ref()
                .and_then(|c| c.get(&(tenant.to_owned(), name.clone())))
            {
                cached.push((name.clone(), avail(hit)));
                continue;
            }
            let tld = name.rsplit('.').next().unwrap_or_default();
            by_registry
                .entry(registry_of(tld))
                .or_default()
                .push(name.clone());
        }
        if !cached.is_empty() {
            each(&cached);
            out.extend(cached);
        }
        let mut pending = futures::stream::FuturesUnordered::new();
        for (registry, batch) in by_registry {
            let registrar = self.registrar.clone();
            let timeout = self.timeout_for(registry);
            pending.push(async move {
                let answer = tokio::time::timeout(timeout, registrar.check(registry, &batch)).await;
                (registry, batch, answer)
            });
        }
        use futures::StreamExt;
        while let Some((registry, batch, answer)) = pending.next().await {
            let rows: Vec<(String, Availability)> = match answer {
                Ok(Ok(checks)) => {
                    let got: HashMap<String, bool> =
                        checks.into_iter().map(|c| (c.name, c.available)).collect();
                    batch
                        .into_iter()
                        .map(|n| match got.get(&n) {
                            Some(&a) => {
                                if let Some(c) = &self.cache {
                                    c.insert((tenant.to_owned(), n.clone()), a);
                                }
                                (n, avail(a))
                            }
                            None => (n, Availability::Unknown),
                        })
                        .collect()
                }
                Ok(Err(e)) => {
                    tracing::warn!(registry, error = %e, "availability check failed");
                    unknown(batch)
                }
                Err(_) => {
                    tracing::warn!(registry, "availability check timed out");
                    unknown(batch)
                }
            };
            each(&rows);
            out.extend(rows);
        }
        out
    }

    pub async fn check(&self, tenant: &str, names: &[String]) -> HashMap<String, Availability> {
        self.check_streaming(tenant, names, |_| {}).await
    }
}

fn avail(a: bool) -> Availability {
    if a {
        Availability::Available
    } else {
        Availability::Taken
    }
}

fn unknown(batch: Vec<String>) -> Vec<(String, Availability)> {
    batch
        .into_iter()
        .map(|n| (n, Availability::Unknown))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domains::devregistry::{DevRegistryConfig, embedded};
    use std::time::Instant;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn a_hanging_registry_costs_one_timeout_and_answers_unknown() {
        let dev = embedded(DevRegistryConfig {
            latency_ms: 20,
            hang: vec!["denic".into()],
            fail: vec!["eurid".into()],
            ..Default::default()
        })
        .await
        .unwrap();
        let r = Registries::new(
            Arc::new(dev.registrar.clone()),
            Duration::from_millis(400),
            Duration::from_secs(60),
        );
        let start = Instant::now();
        let mut batches = 0;
        let got = r
            .check_streaming(
                "t1",
                &names(&[
                    "free-name.com",
                    "google.com",
                    "free-name.de",
                    "free-name.eu",
                ]),
                |_| batches += 1,
            )
            .await;
        assert!(start.elapsed() < Duration::from_millis(1500));
        assert_eq!(batches, 3, "one answer per registry");
        assert_eq!(got["free-name.com"], Availability::Available);
        assert_eq!(got["google.com"], Availability::Taken);
        assert_eq!(got["free-name.de"], Availability::Unknown);
        assert_eq!(got["free-name.eu"], Availability::Unknown);
        // Answers are cached per tenant; unknowns are not.
        let start = Instant::now();
        let again = r.check("t1", &names(&["free-name.com"])).await;
        assert_eq!(again["free-name.com"], Availability::Available);
        assert!(start.elapsed() < Duration::from_millis(15));
    }

    /// Every TLD of the demo catalog, at a registry answering in 3 s: each
    /// registry is asked at once on sessions of its own, so all answer within
    /// twice the latency; a registry whose own timeout is shorter answers
    /// "unknown" (try again) for its TLDs only, and does not hold up the rest.
    #[tokio::test]
    async fn every_tld_answers_within_twice_a_slow_registrys_latency() {
        let dev = embedded(DevRegistryConfig {
            latency_ms: 3000,
            ..Default::default()
        })
        .await
        .unwrap();
        let limits = BTreeMap::from([(
            "denic".to_owned(),
            RegistryLimits {
                timeout_ms: Some(1000),
                connections: Some(1),
            },
        )]);
        dev.registrar.set_registry_limits(&limits);
        let r = Registries::new(
            Arc::new(dev.registrar.clone()),
            Duration::from_millis(8000),
            Duration::ZERO,
        )
        .with_limits(&limits);
        let all: Vec<String> = crate::catalog::seed::TLDS
            .iter()
            .map(|t| format!("quick-brown-fox.{}", t.0))
            .collect();
        assert!(all.len() >= 40, "{}", all.len());
        let start = Instant::now();
        let mut first = None;
        let got = r
            .check_streaming("t1", &all, |_| {
                first.get_or_insert(start.elapsed());
            })
            .await;
        let took = start.elapsed();
        assert!(took < Duration::from_millis(6000), "{took:?}");
        // The short-timeout registry came first, as "unknown", not last.
        assert!(first.unwrap() < Duration::from_millis(2000), "{first:?}");
        for name in &all {
            let want = if name.ends_with(".de") {
                Availability::Unknown
            } else {
                Availability::Available
            };
            assert_eq!(got[name], want, "{name}");
        }
    }

    #[tokio::test]
    async fn registrations_and_reserved_names_over_epp() {
        let dev = embedded(DevRegistryConfig::default()).await.unwrap();
        assert!(dev.registry.register("mine.de"));
        let got = dev
            .registrar
            .check(
                "denic",
                &names(&["mine.de", "nic.de", "xn--mller-kva.de", "free.de"]),
            )
            .await
            .unwrap();
        let avail: Vec<bool> = got.iter().map(|c| c.available).collect();
        assert_eq!(avail, [false, false, false, true]);
        assert_eq!(got[1].reason.as_deref(), Some("reserved"));
    }
}
