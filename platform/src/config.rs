//! Layered configuration: built-in defaults < TOML file < `RELABEL_*` environment.
//! `DATABASE_URL` and `REDIS_URL` are read as well (the conventional names).

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub bind: String,
    /// Embedded backend: where `shared.db` and the tenant files live.
    pub data_dir: PathBuf,
    /// `postgres://...`; absent = embedded SQLite.
    pub database_url: Option<String>,
    /// `redis://...`; absent = in-process sessions and caches.
    pub redis_url: Option<String>,
    /// Prefix for every Redis key of this deployment.
    pub redis_prefix: String,
    /// Hostname of the platform itself (operator console, operator API).
    pub platform_host: String,
    /// Seconds a resolved hostname is cached.
    pub resolver_ttl_secs: u64,
    /// Tenants migrated in parallel by `relabel migrate`.
    pub migrate_concurrency: usize,
    /// Postgres pool size.
    pub db_max_connections: u32,
    /// Mark cookies `Secure` (set when served behind TLS).
    pub secure_cookies: bool,
    /// Largest logo upload in bytes.
    pub max_logo_bytes: usize,
    /// Largest request body in bytes (JSON, forms); larger ones are refused
    /// with 413 before anything reads them.
    pub max_body_bytes: usize,
    /// Largest `multipart/form-data` body in bytes (uploads: logos, bank
    /// statements, catalog files), each handler bounding its own fields.
    pub max_upload_bytes: usize,
    /// `pretty` or `json`.
    pub log_format: String,
    /// `smtp://host:port`, `smtp://host:port?tls=required` or `smtps://user:pass@host`;
    /// absent = mail is kept in each reseller's outbox (shown in the console).
    pub smtp_url: Option<String>,
    /// Longest wait for one registry's availability answer, in milliseconds
    /// (default 8000: a slow registry answers in 3 s; the search page shows
    /// every registry's answer as it arrives, so a slow one holds up no other).
    pub registry_timeout_ms: u64,
    /// Per registry operator: `[registries.denic] timeout_ms = 5000,
    /// connections = 2` (operators as `registry_of` names them: verisign,
    /// denic, eurid, pir, identity-digital, …).
    #[serde(default)]
    pub registries: std::collections::BTreeMap<String, crate::domains::registrar::RegistryLimits>,
    /// Seconds an availability answer is reused (per reseller).
    pub availability_cache_secs: u64,
    /// Latency and faults of the built-in test registry.
    #[serde(default)]
    pub dev_registry: crate::domains::devregistry::DevRegistryConfig,
    /// The registry over EPP; absent = the built-in test registry, in-process.
    pub epp: Option<crate::domains::epp::EppConfig>,
    /// Aftermarket listings: a CSV file path or an `http(s)://` URL
    /// (`name,price,currency,seller_ref`).
    pub aftermarket_feed: Option<String>,
    /// Zones: nameservers, template defaults and where zones are served.
    #[serde(default)]
    pub dns: DnsConfig,
    /// The job runner.
    #[serde(default)]
    pub jobs: JobsConfig,
    /// How wrong passwords, codes and API keys are throttled.
    #[serde(default)]
    pub throttle: crate::ratelimit::ThrottleConfig,
    /// The nameserver (`IP:PORT`) asked when a reseller proves a custom
    /// domain; unset = the system's resolver.
    pub dns_resolver: Option<String>,
    /// `ADDRESS:PORT` of the metrics listener (`/metrics`); unset = none.
    pub metrics_bind: Option<String>,
    /// After SIGTERM, how long in-flight requests and running jobs may take.
    pub shutdown_grace_secs: u64,
    /// Seconds a client has to send a request's head (request line and
    /// headers), from its first byte; slower clients are disconnected.
    pub header_timeout_secs: u64,
    /// Seconds a keep-alive connection may wait for its next request.
    pub idle_timeout_secs: u64,
    /// This node's name on the leases of the jobs it runs (unset: host name and
    /// HTTP port). A restarted node takes back its own leases at once, so two
    /// processes that run jobs must not share one.
    pub node_id: Option<String>,
    /// Seconds a request body may take to arrive, plus one per 64 KiB that
    /// arrived; slower bodies get 408.
    pub body_timeout_secs: u64,
    /// Days a deleted reseller's data is kept before the daily schedule purges
    /// it (schema and shared rows; the audit log stays).
    pub tenant_retention_days: u32,
    /// What `serve` runs: `all` (HTTP, jobs and schedules), `web` (HTTP only)
    /// or `worker` (jobs and schedules, HTTP only for `/healthz`, `/readyz`).
    pub role: String,
    /// Job runner loops per process (each takes one job at a time).
    pub job_workers: usize,
    /// Parking providers by name (`sedo`, `namedrive`): their HTTP API.
    #[serde(default)]
    pub parking: std::collections::BTreeMap<String, ParkingProvider>,
    /// The Postfix virtual alias map email forwards are written to; default
    /// `<data_dir>/mail/virtual`.
    pub mail_virtual_map: Option<PathBuf>,
    /// GeoIP range table (`first_ip,last_ip,CC` lines) for the risk check.
    pub geoip_csv: Option<PathBuf>,
    /// Key that seals secrets at rest (resellers' Stripe keys): 32 bytes, hex.
    /// Default: `<data_dir>/secret.key`, created once. Every node of a
    /// deployment needs the same key.
    pub secret_key: Option<String>,
    /// Stripe's API (a local peer in tests).
    pub stripe_api_url: String,
    /// Peers inside the network that outbound calls to URLs resellers set
    /// (credit bureau, SMS, print-mail, parking, aftermarket feed) may reach
    /// all the same: addresses or CIDR ranges, separated by commas
    /// (`crate::outbound`). Unset = public addresses only.
    pub outbound_allow: Option<String>,
    /// Outbound calls may use plain `http://` (default: `https://` only).
    pub outbound_allow_http: bool,
    /// Reverse proxies in front of relabel whose `X-Forwarded-For` is
    /// believed: addresses or CIDR ranges, separated by commas
    /// (`crate::http::client`). Unset = the peer is the client.
    pub trusted_proxies: Option<String>,
    /// The port visitors reach relabel on, when not the scheme's own (80 or
    /// 443): links in mails carry it. `serve --demo` sets the bind port.
    pub public_port: Option<u16>,
    /// Seconds a customer's credit-bureau score is reused at checkout before
    /// the bureau is asked (and paid) again.
    pub bureau_cache_secs: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct DnsConfig {
    /// Authoritative nameservers of customer zones (delegated at registration).
    pub nameservers: Vec<String>,
    /// SOA mailbox.
    pub hostmaster: String,
    /// Where `@` and `www` point in a new zone (the platform's web server).
    pub web_ipv4: String,
    pub web_ipv6: Option<String>,
    /// MX of a new zone.
    pub mail_host: String,
    /// Zone files (when no PowerDNS is configured); default `<data_dir>/zones`.
    pub zone_dir: Option<PathBuf>,
    /// PowerDNS Authoritative API, e.g. `http://127.0.0.1:8081`.
    pub powerdns_url: Option<String>,
    pub powerdns_api_key: String,
    pub powerdns_server: String,
    /// Kind of the zones created at PowerDNS: `Native` (replicated by the
    /// database, the default) or `Master` (secondaries get a NOTIFY after every
    /// change; PowerDNS needs `primary=yes`).
    pub powerdns_zone_kind: String,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            nameservers: vec!["ns1.relabel-dns.net".into(), "ns2.relabel-dns.net".into()],
            hostmaster: "hostmaster@relabel-dns.net".into(),
            web_ipv4: "192.0.2.80".into(),
            web_ipv6: None,
            mail_host: "mx.relabel-dns.net".into(),
            zone_dir: None,
            powerdns_url: None,
            powerdns_api_key: String::new(),
            powerdns_server: "localhost".into(),
            powerdns_zone_kind: "Native".into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ParkingProvider {
    pub url: String,
    pub api_key: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct JobsConfig {
    /// Run jobs in this process (`serve`).
    pub enabled: bool,
    /// Pause between passes when the queue was empty, in milliseconds.
    pub poll_ms: u64,
    /// Wait after a failed attempt, doubled per further attempt, in seconds.
    pub backoff_secs: i64,
    pub max_attempts: i32,
    /// How often a pending transfer is asked about, in seconds.
    pub transfer_poll_secs: i64,
    /// How long a claimed job is reserved for its worker; a worker killed mid-job
    /// leaves it to be taken again after this, in seconds.
    pub lease_secs: i64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            poll_ms: 1000,
            backoff_secs: 30,
            max_attempts: 8,
            transfer_poll_secs: 300,
            lease_secs: 300,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not a source: the message already says it, once.
    #[error("configuration: {0}")]
    Load(config::ConfigError),
    #[error("configuration: {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl From<config::ConfigError> for ConfigError {
    fn from(e: config::ConfigError) -> Self {
        Self::Load(e)
    }
}

/// `url` parses, has one of `schemes` and a host.
fn url_with_host(url: &str, schemes: &[&str]) -> Result<(), String> {
    let expected = || format!("expected a {}:// URL with a host", schemes.join(":// or "));
    let parsed = reqwest::Url::parse(url).map_err(|_| expected())?;
    if !schemes.contains(&parsed.scheme()) || parsed.host_str().is_none_or(str::is_empty) {
        return Err(expected());
    }
    Ok(())
}

/// `path` is a readable PEM file with at least one certificate.
fn pem_certificates(path: &std::path::Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    Ok(())
}

impl Config {
    /// The scheme of every public link: `https` when cookies are secure (the
    /// deployment is behind TLS), else `http`.
    pub fn public_scheme(&self) -> &'static str {
        if self.secure_cookies { "https" } else { "http" }
    }

    /// The public origin of `host` (`scheme://host[:port]`), with the configured
    /// scheme and public port: every link relabel gives out (mails, webhook
    /// addresses, mailings) is built from it, never from a request's port.
    pub fn public_origin(&self, host: &str) -> String {
        let scheme = self.public_scheme();
        let port = self
            .public_port
            .filter(|p| !matches!((scheme, p), ("https", 443) | ("http", 80)))
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        format!("{scheme}://{host}{port}")
    }

    /// What outbound calls to peers resellers chose may reach.
    pub fn outbound_policy(&self) -> crate::outbound::Policy {
        crate::outbound::Policy {
            allow_http: self.outbound_allow_http,
            allow: self
                .outbound_allow
                .as_deref()
                .map(|list| crate::outbound::Policy::parse_allow(list).unwrap_or_default())
                .unwrap_or_default(),
        }
    }

    /// Loads defaults, then `file` (if given), then the environment, and
    /// validates the result.
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let (config, _) = Self::load_from(file, std::env::vars())?;
        config.validate()?;
        Ok(config)
    }

    /// Like [`Self::load`], with `vars` standing in for the environment, and
    /// not validated (the caller decides: `check-config` lists every problem,
    /// the other commands stop at the first). Also
    /// returns what was set but is no setting (a misspelt `RELABEL_...`
    /// variable or file key), which relabel would otherwise ignore silently.
    pub fn load_from(
        file: Option<&std::path::Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Self, Vec<String>), ConfigError> {
        let mut env = config::Map::new();
        let mut plain = std::collections::HashMap::new();
        for (name, value) in vars {
            if name.starts_with("RELABEL_") && !COMMAND_VARS.contains(&name.as_str()) {
                env.insert(name, value);
            } else if name == "DATABASE_URL" || name == "REDIS_URL" {
                plain.insert(name, value);
            }
        }
        let nonempty = |name: &str| plain.get(name).filter(|v| !v.trim().is_empty()).cloned();
        let mut builder = config::Config::builder()
            .set_default("bind", "127.0.0.1:8080")?
            .set_default("data_dir", "./data")?
            .set_default("redis_prefix", "relabel")?
            .set_default("platform_host", "localhost")?
            .set_default("stripe_api_url", "https://api.stripe.com")?
            .set_default("resolver_ttl_secs", 60)?
            .set_default("migrate_concurrency", 8)?
            .set_default("db_max_connections", 20)?
            .set_default("secure_cookies", false)?
            .set_default("outbound_allow_http", false)?
            .set_default("bureau_cache_secs", 30 * 86_400)?
            .set_default("max_logo_bytes", 512 * 1024)?
            .set_default("max_body_bytes", 1024 * 1024)?
            .set_default("max_upload_bytes", 20 * 1024 * 1024)?
            .set_default("log_format", "pretty")?
            .set_default("role", "all")?
            .set_default("shutdown_grace_secs", 30)?
            .set_default("header_timeout_secs", 15)?
            .set_default("idle_timeout_secs", 60)?
            .set_default("body_timeout_secs", 30)?
            .set_default("tenant_retention_days", 30)?
            .set_default("job_workers", 1)?
            .set_default("registry_timeout_ms", 8000)?
            .set_default("availability_cache_secs", 60)?;
        if let Some(file) = file {
            builder = builder.add_source(config::File::from(file).format(config::FileFormat::Toml));
        }
        builder = builder
            // `RELABEL_DB_MAX_CONNECTIONS` sets `db_max_connections`; nested keys
            // take a double underscore: `RELABEL_DNS__POWERDNS_URL`.
            .add_source(
                config::Environment::with_prefix("RELABEL")
                    .prefix_separator("_")
                    .separator("__")
                    .try_parsing(true)
                    .source(Some(env)),
            )
            .set_override_option("database_url", nonempty("DATABASE_URL"))?
            .set_override_option("redis_url", nonempty("REDIS_URL"))?;
        let mut unknown = Vec::new();
        let config: Config = serde_ignored::deserialize(builder.build()?, |path| {
            let key = path.to_string();
            unknown.push(format!(
                "{key} (RELABEL_{})",
                key.to_uppercase().replace('.', "__")
            ));
        })?;
        unknown.sort();
        Ok((config, unknown))
    }

    /// The first of [`Self::problems`], if any.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.problems().into_iter().next() {
            Some((field, message)) => Err(ConfigError::Invalid { field, message }),
            None => Ok(()),
        }
    }

    /// Every setting that cannot work, each once, with what is expected: values
    /// out of range, malformed addresses and URLs, files that cannot be read.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut found = Vec::new();
        let mut invalid = |field: &'static str, message: &str| {
            found.push((field, message.to_owned()));
        };
        if self.bind.parse::<SocketAddr>().is_err() {
            invalid("bind", "expected ADDRESS:PORT, e.g. 127.0.0.1:8080");
        }
        if let Some(url) = &self.database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            invalid(
                "database_url",
                "expected a postgres:// URL (leave it unset for the embedded SQLite backend)",
            );
        }
        if let Some(url) = &self.redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            invalid("redis_url", "expected a redis:// URL");
        }
        if self.platform_host.is_empty() || self.platform_host.contains([':', '/', ' ']) {
            invalid(
                "platform_host",
                "expected a bare hostname like admin.example.com",
            );
        }
        if self.redis_prefix.is_empty() || self.redis_prefix.contains(char::is_whitespace) {
            invalid("redis_prefix", "must be a non-empty word");
        }
        if !(1..=256).contains(&self.migrate_concurrency) {
            invalid("migrate_concurrency", "must be between 1 and 256");
        }
        if !(1..=1000).contains(&self.db_max_connections) {
            invalid("db_max_connections", "must be between 1 and 1000");
        }
        if !(1024..=10 * 1024 * 1024).contains(&self.max_logo_bytes) {
            invalid("max_logo_bytes", "must be between 1 KiB and 10 MiB");
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.max_body_bytes) {
            invalid("max_body_bytes", "must be between 1 KiB and 64 MiB");
        }
        if self.max_upload_bytes < self.max_body_bytes.max(self.max_logo_bytes)
            || self.max_upload_bytes > 1024 * 1024 * 1024
        {
            invalid(
                "max_upload_bytes",
                "must be at least max_body_bytes and max_logo_bytes, and at most 1 GiB",
            );
        }
        if let Some(url) = &self.smtp_url
            && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
        {
            invalid("smtp_url", "expected smtp:// or smtps://");
        }
        if !(50..=60_000).contains(&self.registry_timeout_ms) {
            invalid("registry_timeout_ms", "must be between 50 and 60000");
        }
        for (name, l) in &self.registries {
            if l.timeout_ms.is_some_and(|t| !(50..=60_000).contains(&t)) {
                invalid(
                    "registries",
                    &format!("{name}.timeout_ms must be between 50 and 60000"),
                );
            }
            if l.connections.is_some_and(|c| !(1..=64).contains(&c)) {
                invalid(
                    "registries",
                    &format!("{name}.connections must be between 1 and 64"),
                );
            }
        }
        if self.availability_cache_secs > 3600 {
            invalid("availability_cache_secs", "must be at most 3600");
        }
        if !matches!(self.log_format.as_str(), "pretty" | "json") {
            invalid("log_format", "must be pretty or json");
        }
        if self.dns.nameservers.len() < 2 {
            invalid("dns.nameservers", "needs at least two nameservers");
        }
        if self.dns.web_ipv4.parse::<std::net::Ipv4Addr>().is_err() {
            invalid("dns.web_ipv4", "expected an IPv4 address");
        }
        if let Some(url) = &self.dns.powerdns_url
            && !url.starts_with("http")
        {
            invalid("dns.powerdns_url", "expected an http(s):// URL");
        }
        if !["Native", "Master"].contains(&self.dns.powerdns_zone_kind.as_str()) {
            invalid("dns.powerdns_zone_kind", "expected Native or Master");
        }
        if let Some(r) = &self.dns_resolver
            && r.parse::<SocketAddr>().is_err()
        {
            invalid("dns_resolver", "expected IP:PORT, e.g. 127.0.0.1:53");
        }
        if let Some(b) = &self.metrics_bind
            && b.parse::<SocketAddr>().is_err()
        {
            invalid("metrics_bind", "expected ADDRESS:PORT, e.g. 0.0.0.0:9464");
        }
        if !(1..=3650).contains(&self.tenant_retention_days) {
            invalid("tenant_retention_days", "must be between 1 and 3650");
        }
        if !(1..=3600).contains(&self.shutdown_grace_secs) {
            invalid("shutdown_grace_secs", "must be between 1 and 3600");
        }
        if let Some(list) = &self.outbound_allow
            && let Err(e) = crate::outbound::Policy::parse_allow(list)
        {
            invalid("outbound_allow", &e);
        }
        if let Some(list) = &self.trusted_proxies
            && let Err(e) = crate::outbound::Policy::parse_allow(list)
        {
            invalid("trusted_proxies", &e);
        }
        if !(1..=600).contains(&self.header_timeout_secs) {
            invalid("header_timeout_secs", "must be between 1 and 600");
        }
        if !(1..=3600).contains(&self.idle_timeout_secs) {
            invalid("idle_timeout_secs", "must be between 1 and 3600");
        }
        if !(1..=600).contains(&self.body_timeout_secs) {
            invalid("body_timeout_secs", "must be between 1 and 600");
        }
        if !["all", "web", "worker"].contains(&self.role.as_str()) {
            invalid("role", "expected all, web or worker");
        }
        if !(1..=64).contains(&self.job_workers) {
            invalid("job_workers", "must be between 1 and 64");
        }
        if !(10..=60_000).contains(&self.jobs.poll_ms) {
            invalid("jobs.poll_ms", "must be between 10 and 60000");
        }
        if !(1..=86_400).contains(&self.jobs.lease_secs) {
            invalid("jobs.lease_secs", "must be between 1 and 86400");
        }
        if !(1..=100).contains(&self.jobs.max_attempts) {
            invalid("jobs.max_attempts", "must be between 1 and 100");
        }
        if let Err((field, message)) = self.throttle.validate() {
            invalid(field, message);
        }
        for (field, url, schemes) in [
            (
                "stripe_api_url",
                Some(self.stripe_api_url.as_str()),
                &["https", "http"][..],
            ),
            (
                "aftermarket_feed",
                self.aftermarket_feed.as_deref(),
                &["https", "http"][..],
            ),
            (
                "dns.powerdns_url",
                self.dns.powerdns_url.as_deref(),
                &["https", "http"][..],
            ),
        ] {
            if let Some(url) = url
                && let Err(e) = url_with_host(url, schemes)
            {
                invalid(field, &e);
            }
        }
        for (name, p) in &self.parking {
            if let Err(e) = url_with_host(&p.url, &["https", "http"]) {
                invalid("parking", &format!("{name}: {e}"));
            }
        }
        if let Some(epp) = &self.epp {
            if epp.host.trim().is_empty() || epp.host.contains(['/', ' ', ':']) {
                invalid(
                    "epp.host",
                    "expected a bare hostname like epp.registry.example",
                );
            }
            if epp.client_id.trim().is_empty() || epp.password.is_empty() {
                invalid("epp", "client_id and password must be set");
            }
            if let Some(ca) = &epp.ca_file
                && let Err(e) = pem_certificates(ca)
            {
                invalid("epp.ca_file", &e);
            }
            if !(1..=64).contains(&epp.connections) {
                invalid("epp.connections", "must be between 1 and 64");
            }
        }
        if let Some(file) = &self.geoip_csv
            && let Err(e) = std::fs::File::open(file)
        {
            invalid("geoip_csv", &format!("cannot read {}: {e}", file.display()));
        }
        if let Some(key) = &self.secret_key
            && hex::decode(key.trim()).map_or(true, |k| k.len() != 32)
        {
            invalid("secret_key", "expected 64 hex digits (32 bytes)");
        }
        found
    }

    pub fn tenancy(&self) -> relabel_tenants::TenancyConfig {
        relabel_tenants::TenancyConfig {
            database_url: self.database_url.clone(),
            redis_url: self.redis_url.clone(),
            redis_prefix: self.redis_prefix.clone(),
            data_dir: self.data_dir.clone(),
            resolver_ttl: std::time::Duration::from_secs(self.resolver_ttl_secs),
            max_connections: self.db_max_connections,
        }
    }

    /// How long slow clients may take (see `http::slow_clients`).
    pub fn client_timeouts(&self) -> crate::http::Timeouts {
        crate::http::Timeouts {
            header: std::time::Duration::from_secs(self.header_timeout_secs),
            idle: std::time::Duration::from_secs(self.idle_timeout_secs),
        }
    }

    /// This node's name on job leases: `node_id`, else host name and HTTP port.
    pub fn node_id(&self) -> String {
        if let Some(id) = self.node_id.as_deref().filter(|id| !id.trim().is_empty()) {
            return id.trim().to_owned();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        let port = self.bind.rsplit(':').next().unwrap_or_default();
        format!("{host}:{port}")
    }

    pub fn backend_name(&self) -> &'static str {
        if self.database_url.is_some() {
            "postgres"
        } else {
            "sqlite (embedded)"
        }
    }
}

/// `RELABEL_` variables that are options of single commands, not settings.
const COMMAND_VARS: &[&str] = &[
    "RELABEL_CONFIG",
    "RELABEL_OWNER_PASSWORD",
    "RELABEL_OPERATOR_PASSWORD",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Config {
        Config {
            bind: "127.0.0.1:8080".into(),
            data_dir: "./data".into(),
            database_url: None,
            redis_url: None,
            redis_prefix: "relabel".into(),
            platform_host: "localhost".into(),
            resolver_ttl_secs: 60,
            migrate_concurrency: 8,
            db_max_connections: 20,
            secure_cookies: false,
            max_logo_bytes: 524_288,
            max_body_bytes: 1_048_576,
            max_upload_bytes: 20_971_520,
            log_format: "pretty".into(),
            smtp_url: None,
            registry_timeout_ms: 8000,
            registries: Default::default(),
            availability_cache_secs: 60,
            dev_registry: Default::default(),
            epp: None,
            dns: Default::default(),
            jobs: Default::default(),
            throttle: Default::default(),
            role: "all".into(),
            dns_resolver: None,
            metrics_bind: None,
            shutdown_grace_secs: 30,
            header_timeout_secs: 15,
            idle_timeout_secs: 60,
            body_timeout_secs: 30,
            node_id: None,
            tenant_retention_days: 30,
            job_workers: 1,
            parking: Default::default(),
            mail_virtual_map: None,
            aftermarket_feed: None,
            geoip_csv: None,
            secret_key: None,
            stripe_api_url: "https://api.stripe.com".into(),
            outbound_allow: None,
            outbound_allow_http: false,
            trusted_proxies: None,
            public_port: None,
            bureau_cache_secs: 30 * 86_400,
        }
    }

    #[test]
    fn invalid_values_are_named() {
        assert!(base().validate().is_ok());
        type Change = Box<dyn Fn(&mut Config)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|c| c.bind = "8080".into()), "bind"),
            (
                Box::new(|c| c.database_url = Some("mysql://x".into())),
                "database_url",
            ),
            (
                Box::new(|c| c.redis_url = Some("http://x".into())),
                "redis_url",
            ),
            (
                Box::new(|c| c.platform_host = "a b".into()),
                "platform_host",
            ),
            (
                Box::new(|c| c.migrate_concurrency = 0),
                "migrate_concurrency",
            ),
            (Box::new(|c| c.log_format = "xml".into()), "log_format"),
            (Box::new(|c| c.max_body_bytes = 10), "max_body_bytes"),
            (
                Box::new(|c| c.header_timeout_secs = 0),
                "header_timeout_secs",
            ),
            (
                Box::new(|c| c.max_upload_bytes = c.max_body_bytes - 1),
                "max_upload_bytes",
            ),
        ];
        for (change, field) in cases {
            let mut c = base();
            change(&mut c);
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains(field), "{err}");
        }
    }

    #[test]
    fn file_layer_is_read() {
        let dir =
            std::env::temp_dir().join(format!("relabel-config-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("relabel.toml");
        std::fs::write(
            &file,
            "platform_host = \"admin.example.com\"\nmigrate_concurrency = 3\n",
        )
        .unwrap();
        let c = Config::load(Some(&file)).unwrap();
        assert_eq!(c.platform_host, "admin.example.com");
        assert_eq!(c.migrate_concurrency, 3);
        std::fs::write(&file, "migrate_concurrency = 0\n").unwrap();
        let err = Config::load(Some(&file)).unwrap_err().to_string();
        assert!(err.contains("migrate_concurrency"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
