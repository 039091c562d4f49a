//! The registrar adapter (O1, V2). [`Registrar::check`] has EPP `<domain:check>`
//! semantics: many names of one registry in one call, one answer per name.
//! [`Registries`] routes names to their registry, checks every registry in
//! parallel with its own timeout, and caches answers briefly per tenant.
//!
//! [`DevRegistry`] is the built-in test registry's storage and rules, used by the
//! demo and the tests; it answers in-process with configurable latency and faults.
//! (Its EPP-over-TLS front end and the EPP client belong to the provisioning work.)

use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
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
    /// An EPP error result (2400 command failed, 2500 session ended, ...).
    #[error("registry answered {code}: {message}")]
    Result { code: u16, message: String },
    #[error("registry unreachable: {0}")]
    Transport(String),
}

#[async_trait]
pub trait Registrar: Send + Sync {
    /// Checks `names` (ASCII, all of this registry). Answers may come in any order.
    async fn check(&self, registry: &str, names: &[String]) -> Result<Vec<Check>, RegistrarError>;
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
    /// (tenant, ascii name) -> available. Only real answers are cached; none when
    /// the configured lifetime is zero.
    cache: Option<moka::sync::Cache<(String, String), bool>>,
}

impl Registries {
    pub fn new(registrar: Arc<dyn Registrar>, timeout: Duration, cache_ttl: Duration) -> Self {
        Self {
            registrar,
            timeout,
            cache: (!cache_ttl.is_zero()).then(|| {
                moka::sync::Cache::builder()
                    .max_capacity(200_000)
                    .time_to_live(cache_ttl)
                    .build()
            }),
        }
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
            let timeout = self.timeout;
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

/// Faults the test registry injects, per registry operator.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct DevRegistryConfig {
    /// Delay of every answer, in milliseconds.
    pub latency_ms: u64,
    /// Registries that never answer (to exercise the timeout).
    pub hang: Vec<String>,
    /// Registries that answer with EPP 2400 "command failed".
    pub fail: Vec<String>,
}

/// Labels registered in every TLD of the test registry from the start, so a
/// search shows taken names and suggestions.
const PRE_REGISTERED: &[&str] = &[
    "example", "test", "google", "amazon", "shop", "mail", "web", "news", "bank", "hotel",
    "berlin", "hamburg", "muenchen", "müller", "taken", "relabel", "domain", "cloud",
];

/// Labels a registry withholds (EPP reason "reserved").
const RESERVED: &[&str] = &["nic", "whois", "www"];

/// The test registry's storage and check rules.
pub struct DevRegistry {
    names: Mutex<HashSet<String>>,
    config: DevRegistryConfig,
}

impl DevRegistry {
    pub fn new(config: DevRegistryConfig) -> Self {
        Self {
            names: Mutex::new(HashSet::new()),
            config,
        }
    }

    /// Records a registration (the provisioning side calls this through EPP).
    pub fn register(&self, ascii_name: &str) -> bool {
        self.names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(ascii_name.to_ascii_lowercase())
    }

    fn taken(&self, ascii_name: &str) -> Option<&'static str> {
        let label = ascii_name.split('.').next().unwrap_or_default();
        let unicode = idna::domain_to_unicode(label).0;
        if RESERVED.contains(&label) {
            return Some("reserved");
        }
        if PRE_REGISTERED.contains(&label)
            || PRE_REGISTERED.contains(&unicode.as_str())
            || self
                .names
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(ascii_name)
        {
            return Some("in use");
        }
        None
    }
}

#[async_trait]
impl Registrar for DevRegistry {
    async fn check(&self, registry: &str, names: &[String]) -> Result<Vec<Check>, RegistrarError> {
        if self.config.hang.iter().any(|r| r == registry) {
            std::future::pending::<()>().await;
        }
        if self.config.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.config.latency_ms)).await;
        }
        if self.config.fail.iter().any(|r| r == registry) {
            return Err(RegistrarError::Result {
                code: 2400,
                message: "Command failed".into(),
            });
        }
        Ok(names
            .iter()
            .map(|n| {
                let n = n.to_ascii_lowercase();
                let reason = self.taken(&n);
                Check {
                    available: reason.is_none(),
                    reason: reason.map(str::to_owned),
                    name: n,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn a_hanging_registry_costs_one_timeout_and_answers_unknown() {
        let dev = DevRegistry::new(DevRegistryConfig {
            latency_ms: 20,
            hang: vec!["denic".into()],
            fail: vec!["eurid".into()],
        });
        let r = Registries::new(
            Arc::new(dev),
            Duration::from_millis(300),
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
        assert!(start.elapsed() < Duration::from_millis(600));
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

    #[tokio::test]
    async fn registrations_and_reserved_names() {
        let dev = DevRegistry::new(DevRegistryConfig::default());
        assert!(dev.register("mine.de"));
        let got = dev
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
