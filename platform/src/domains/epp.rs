//! The registrar adapter over EPP (RFC 5730-5734) with `instant-epp`: TLS with
//! rustls (ring), login with the configured credentials, a small pool of logged-in
//! sessions, keep-alive `<hello>`s on idle sessions, and a fresh session when one
//! broke (reconnect). A session whose answer never came (dropped future, timeout)
//! is discarded, never reused with a stale answer in flight.

use super::registrar::{
    Check, DomainInfo, NewDomain, Registrar, RegistrarError, RegistryContact, TransferInfo,
};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use instant_epp::EppClient;
use instant_epp::client::RustlsConnector;
use instant_epp::common::NoExtension;
use instant_epp::contact::{Address, ContactCreate, Country, InfoType, PostalInfo, Voice};
use instant_epp::domain::update::{DomainAdd, DomainChangeInfo, DomainRemove};
use instant_epp::domain::{
    DomainAuthInfo, DomainCheck, DomainContact, DomainCreate, DomainDelete, DomainInfo as EppInfo,
    DomainRenew, DomainTransfer, DomainUpdate, HostInfo, HostObj, NameServers, Period,
    PeriodLength, Status,
};
use instant_epp::extensions::rgp::request::{RgpRestoreRequest, Update as RgpUpdate};
use instant_epp::host::update::{HostAdd, HostRemove};
use instant_epp::host::{HostCreate, HostUpdate};
use instant_epp::login::Login;
use instant_epp::request::{Command, Transaction};
use instant_epp::response::Response;
use rustls::pki_types::CertificateDer;
use std::borrow::Cow;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::Semaphore;

const RGP_NS: &str = "urn:ietf:params:xml:ns:rgp-1.0";

/// Where and how to reach the registry.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
pub struct EppConfig {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    pub password: String,
    /// PEM certificate(s) to trust instead of the system's roots (a registry's
    /// OT&E environment, the test registry).
    pub ca_file: Option<PathBuf>,
    /// Sessions for registrations and changes; checks keep this many per
    /// registry operator besides (see `[registries.*]` for single operators).
    #[serde(default = "default_connections")]
    pub connections: usize,
    /// Seconds between `<hello>`s on idle sessions.
    #[serde(default = "default_keepalive")]
    pub keepalive_secs: u64,
    /// Limit of one network operation, in milliseconds.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

fn default_connections() -> usize {
    4
}
fn default_keepalive() -> u64 {
    300
}
fn default_timeout() -> u64 {
    30_000
}

type Session = EppClient<RustlsConnector>;

struct Inner {
    server: (String, u16),
    client_id: String,
    password: String,
    tls: Option<Arc<rustls::ClientConfig>>,
    timeout: Duration,
    idle: Mutex<Vec<Session>>,
    permits: Semaphore,
    /// Sessions per registry operator for checks (`connections` each unless
    /// its limits say otherwise): a search asks every registry at once.
    per_registry: Mutex<std::collections::HashMap<String, Arc<Semaphore>>>,
    connections: usize,
    limits: std::sync::RwLock<std::collections::BTreeMap<String, super::registrar::RegistryLimits>>,
}

#[derive(Clone)]
pub struct EppRegistrar {
    inner: Arc<Inner>,
}

static TRID: AtomicU64 = AtomicU64::new(1);

fn trid() -> String {
    format!(
        "rl-{}-{}",
        std::process::id(),
        TRID.fetch_add(1, Ordering::Relaxed)
    )
}

fn map_err(e: instant_epp::Error) -> RegistrarError {
    match e {
        instant_epp::Error::Command(status) => RegistrarError::Result {
            code: status.result.code as u16,
            message: status.result.message.clone(),
        },
        other => RegistrarError::Transport(other.to_string()),
    }
}

/// Existing objects are fine where the operation is "make sure it exists".
fn exists_ok(r: Result<(), RegistrarError>) -> Result<(), RegistrarError> {
    match r {
        Err(e) if e.code() == Some(2302) => Ok(()),
        other => other,
    }
}

impl EppRegistrar {
    /// A registrar from configuration; reads `ca_file` if given.
    pub fn from_config(cfg: &EppConfig) -> anyhow::Result<Self> {
        let trusted = match &cfg.ca_file {
            Some(path) => {
                use rustls::pki_types::pem::PemObject;
                let certs = CertificateDer::pem_file_iter(path)?.collect::<Result<Vec<_>, _>>()?;
                anyhow::ensure!(!certs.is_empty(), "epp.ca_file: no certificate in {path:?}");
                Some(certs)
            }
            None => None,
        };
        Self::new(cfg, trusted)
    }

    /// A registrar trusting exactly `trusted` (or the platform's roots if `None`).
    pub fn new(
        cfg: &EppConfig,
        trusted: Option<Vec<CertificateDer<'static>>>,
    ) -> anyhow::Result<Self> {
        let tls = match trusted {
            Some(certs) => {
                let mut roots = rustls::RootCertStore::empty();
                for c in certs {
                    roots.add(c)?;
                }
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                Some(Arc::new(
                    rustls::ClientConfig::builder_with_provider(provider)
                        .with_safe_default_protocol_versions()?
                        .with_root_certificates(roots)
                        .with_no_client_auth(),
                ))
            }
            None => None,
        };
        let inner = Arc::new(Inner {
            server: (cfg.host.clone(), cfg.port),
            client_id: cfg.client_id.clone(),
            password: cfg.password.clone(),
            tls,
            timeout: Duration::from_millis(cfg.timeout_ms.max(100)),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(cfg.connections.max(1)),
            per_registry: Mutex::default(),
            connections: cfg.connections.max(1),
            limits: Default::default(),
        });
        if cfg.keepalive_secs > 0 && tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(keepalive(
                Arc::downgrade(&inner),
                Duration::from_secs(cfg.keepalive_secs),
            ));
        }
        Ok(Self { inner })
    }

    async fn connect(&self) -> Result<Session, RegistrarError> {
        let i = &self.inner;
        let builder = RustlsConnector::builder(i.server.clone())
            .map_err(|e| RegistrarError::Transport(e.to_string()))?;
        let connector = match &i.tls {
            Some(config) => builder.build_with_config(config.clone()),
            None => builder
                .build()
                .map_err(|e| RegistrarError::Transport(e.to_string()))?,
        };
        let mut session = EppClient::new(connector, "registry".into(), i.timeout)
            .await
            .map_err(map_err)?;
        let login = Login::new(&i.client_id, &i.password, None, Some(&[RGP_NS]));
        session.transact(&login, &trid()).await.map_err(map_err)?;
        Ok(session)
    }

    /// Sessions of single registry operators for checks (`[registries.*]`).
    pub fn set_registry_limits(
        &self,
        limits: &std::collections::BTreeMap<String, super::registrar::RegistryLimits>,
    ) {
        *self.inner.limits.write().unwrap_or_else(|e| e.into_inner()) = limits.clone();
        self.inner
            .per_registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn permits_for(&self, registry: &str) -> Arc<Semaphore> {
        let n = self
            .inner
            .limits
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(registry)
            .and_then(|l| l.connections)
            .unwrap_or(self.inner.connections)
            .max(1);
        self.inner
            .per_registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(registry.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(n)))
            .clone()
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Session>> {
        self.inner.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends one command on a pooled session. A session that answered (success or
    /// EPP error) goes back to the pool; a broken one is dropped, and a command
    /// that failed on a reused session is tried once more on a fresh one.
    async fn run<Cmd>(
        &self,
        cmd: &Cmd,
    ) -> Result<Response<Cmd::Response, NoExtension>, RegistrarError>
    where
        Cmd: Transaction<NoExtension> + Command + Sync,
        Cmd::Response: Send,
    {
        self.run_with(&self.inner.permits, cmd).await
    }

    /// [`Self::run`] within the sessions `permits` allows.
    async fn run_with<Cmd>(
        &self,
        permits: &Semaphore,
        cmd: &Cmd,
    ) -> Result<Response<Cmd::Response, NoExtension>, RegistrarError>
    where
        Cmd: Transaction<NoExtension> + Command + Sync,
        Cmd::Response: Send,
    {
        let _permit = permits
            .acquire()
            .await
            .map_err(|e| RegistrarError::Transport(e.to_string()))?;
        let pooled = self.idle().pop();
        let reused = pooled.is_some();
        let mut session = match pooled {
            Some(s) => s,
            None => self.connect().await?,
        };
        let mut answer = session.transact(cmd, &trid()).await;
        if reused && matches!(answer, Err(ref e) if !matches!(e, instant_epp::Error::Command(_))) {
            session = self.connect().await?;
            answer = session.transact(cmd, &trid()).await;
        }
        match answer {
            Ok(r) => {
                self.idle().push(session);
                Ok(r)
            }
            Err(e @ instant_epp::Error::Command(_)) => {
                self.idle().push(session);
                Err(map_err(e))
            }
            Err(e) => Err(map_err(e)),
        }
    }

    /// Like [`Self::run`] for a command with the RGP restore extension.
    async fn run_restore(&self, cmd: &DomainUpdate<'_>) -> Result<(), RegistrarError> {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|e| RegistrarError::Transport(e.to_string()))?;
        let pooled = self.idle().pop();
        let mut session = match pooled {
            Some(s) => s,
            None => self.connect().await?,
        };
        let ext = RgpUpdate {
            data: RgpRestoreRequest::default(),
        };
        match session.transact((cmd, &ext), &trid()).await {
            Ok(_) => {
                self.idle().push(session);
                Ok(())
            }
            Err(e @ instant_epp::Error::Command(_)) => {
                self.idle().push(session);
                Err(map_err(e))
            }
            Err(e) => Err(map_err(e)),
        }
    }

    /// Makes sure host objects exist for names outside our domains.
    async fn ensure_hosts(&self, hosts: &[String]) -> Result<(), RegistrarError> {
        for h in hosts {
            let cmd = HostCreate::new(h, None);
            match self.run(&cmd).await {
                Ok(_) => {}
                // Exists already, or inside a domain (then it needs glue: created
                // by `create_host` with addresses).
                Err(e) if matches!(e.code(), Some(2302)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn update(&self, cmd: &DomainUpdate<'_>) -> Result<(), RegistrarError> {
        self.run(cmd).await.map(|_| ())
    }
}

async fn keepalive(inner: Weak<Inner>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let sessions: Vec<Session> =
            std::mem::take(&mut *inner.idle.lock().unwrap_or_else(|e| e.into_inner()));
        let mut alive = Vec::new();
        for mut s in sessions {
            if s.hello().await.is_ok() {
                alive.push(s);
            }
        }
        inner
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(alive);
    }
}

fn period(years: u32) -> Result<Period, RegistrarError> {
    let len = u8::try_from(years)
        .ok()
        .and_then(|y| PeriodLength::new(y).ok())
        .ok_or_else(|| RegistrarError::Result {
            code: 2004,
            message: format!("period {years} out of range"),
        })?;
    Ok(Period::Years(len))
}

fn host_objs(names: &[String]) -> Vec<HostInfo<'_>> {
    names
        .iter()
        .map(|n| {
            HostInfo::Obj(HostObj {
                name: Cow::Borrowed(n.as_str()),
            })
        })
        .collect()
}

fn transfer_info(t: &instant_epp::domain::transfer::TransferData) -> TransferInfo {
    TransferInfo {
        status: t.transfer_status.clone(),
        requested_by: t.requester_id.clone(),
        losing: t.ack_id.clone(),
        act_by: t.ack_by,
        expires: t.expiring_at,
    }
}

fn missing(what: &str) -> RegistrarError {
    RegistrarError::Transport(format!("registry answer without {what}"))
}

#[async_trait]
impl Registrar for EppRegistrar {
    fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    async fn check(&self, registry: &str, names: &[String]) -> Result<Vec<Check>, RegistrarError> {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let permits = self.permits_for(registry);
        let rsp = self
            .run_with(&permits, &DomainCheck { domains: &refs })
            .await?;
        let data = rsp.res_data().ok_or_else(|| missing("chkData"))?;
        Ok(data
            .list
            .iter()
            .map(|cd| Check {
                name: cd.name.value.to_ascii_lowercase(),
                available: cd.name.available,
                reason: cd.reason.as_ref().map(|r| r.value.clone()),
            })
            .collect())
    }

    async fn create_contact(&self, c: &RegistryContact) -> Result<(), RegistrarError> {
        let country: Country = c.country.parse().map_err(|_| RegistrarError::Result {
            code: 2005,
            message: format!("country {} unknown", c.country),
        })?;
        let address = Address::new(
            &[c.street.as_str()],
            &c.city,
            None,
            Some(&c.postal_code),
            country,
        );
        let postal = PostalInfo::new(
            InfoType::International,
            &c.name,
            c.organization.as_deref(),
            address,
        );
        let auth = format!("C{}", uuid::Uuid::now_v7().simple());
        let cmd = ContactCreate::new(
            &c.id,
            &c.email,
            postal,
            c.phone.as_deref().map(Voice::new),
            &auth,
        );
        exists_ok(self.run(&cmd).await.map(|_| ()))
    }

    async fn create(&self, d: &NewDomain<'_>) -> Result<Option<DateTime<Utc>>, RegistrarError> {
        self.ensure_hosts(d.nameservers).await?;
        let hosts = host_objs(d.nameservers);
        let contacts = [
            DomainContact {
                contact_type: "admin".into(),
                id: d.registrant.into(),
            },
            DomainContact {
                contact_type: "tech".into(),
                id: d.registrant.into(),
            },
        ];
        let cmd = DomainCreate::new(
            d.name,
            period(d.years)?,
            (!hosts.is_empty()).then_some(hosts.as_slice()),
            Some(d.registrant),
            d.auth_code,
            Some(&contacts),
        );
        let rsp = self.run(&cmd).await?;
        Ok(rsp.res_data().and_then(|c| c.expiring_at))
    }

    async fn info(
        &self,
        name: &str,
        auth_code: Option<&str>,
    ) -> Result<DomainInfo, RegistrarError> {
        let rsp = self.run(&EppInfo::new(name, auth_code)).await?;
        let d = rsp.res_data().ok_or_else(|| missing("infData"))?;
        Ok(DomainInfo {
            name: d.name.to_ascii_lowercase(),
            statuses: d
                .statuses
                .iter()
                .flatten()
                .map(|s| s.as_str().to_owned())
                .collect(),
            registrant: d.registrant.clone(),
            nameservers: d
                .ns
                .iter()
                .flat_map(|ns| ns.ns.iter())
                .map(|h| match h {
                    HostInfo::Obj(o) => o.name.to_string(),
                    HostInfo::Attr(a) => a.name.to_string(),
                })
                .collect(),
            sponsor: d.client_id.clone(),
            created: d.created_at,
            expires: d.expiring_at,
            auth_code: d.auth_info.as_ref().map(|a| a.password.to_string()),
        })
    }

    async fn renew(
        &self,
        name: &str,
        current_expiry: NaiveDate,
        years: u32,
    ) -> Result<Option<DateTime<Utc>>, RegistrarError> {
        let rsp = self
            .run(&DomainRenew::new(name, current_expiry, period(years)?))
            .await?;
        Ok(rsp.res_data().and_then(|r| r.expiring_at))
    }

    async fn delete(&self, name: &str) -> Result<(), RegistrarError> {
        self.run(&DomainDelete::new(name)).await.map(|_| ())
    }

    async fn restore(&self, name: &str) -> Result<(), RegistrarError> {
        let mut cmd = DomainUpdate::new(name);
        cmd.info(DomainChangeInfo {
            registrant: None,
            auth_info: None,
        });
        self.run_restore(&cmd).await
    }

    async fn transfer_request(
        &self,
        name: &str,
        auth_code: &str,
        years: u32,
    ) -> Result<TransferInfo, RegistrarError> {
        let rsp = self
            .run(&DomainTransfer::new(name, Some(period(years)?), auth_code))
            .await?;
        rsp.res_data()
            .map(transfer_info)
            .ok_or_else(|| missing("trnData"))
    }

    async fn transfer_query(&self, name: &str) -> Result<TransferInfo, RegistrarError> {
        let rsp = self.run(&DomainTransfer::query(name, "")).await?;
        rsp.res_data()
            .map(transfer_info)
            .ok_or_else(|| missing("trnData"))
    }

    async fn transfer_answer(
        &self,
        name: &str,
        approve: bool,
    ) -> Result<TransferInfo, RegistrarError> {
        let cmd = if approve {
            DomainTransfer::approve(name)
        } else {
            DomainTransfer::reject(name)
        };
        let rsp = self.run(&cmd).await?;
        rsp.res_data()
            .map(transfer_info)
            .ok_or_else(|| missing("trnData"))
    }

    async fn update_registrant(&self, name: &str, contact_id: &str) -> Result<(), RegistrarError> {
        let mut cmd = DomainUpdate::new(name);
        cmd.info(DomainChangeInfo {
            registrant: Some(contact_id),
            auth_info: None,
        });
        self.update(&cmd).await
    }

    async fn set_nameservers(
        &self,
        name: &str,
        nameservers: &[String],
    ) -> Result<(), RegistrarError> {
        let current = self.info(name, None).await?.nameservers;
        let add: Vec<String> = nameservers
            .iter()
            .filter(|n| !current.contains(n))
            .cloned()
            .collect();
        let remove: Vec<String> = current
            .iter()
            .filter(|n| !nameservers.contains(n))
            .cloned()
            .collect();
        if add.is_empty() && remove.is_empty() {
            return Ok(());
        }
        self.ensure_hosts(&add).await?;
        let add_hosts = host_objs(&add);
        let remove_hosts = host_objs(&remove);
        let mut cmd = DomainUpdate::new(name);
        if !add.is_empty() {
            cmd.add(DomainAdd {
                ns: Some(NameServers {
                    ns: Cow::Borrowed(&add_hosts),
                }),
                contacts: None,
                statuses: None,
            });
        }
        if !remove.is_empty() {
            cmd.remove(DomainRemove {
                ns: Some(NameServers {
                    ns: Cow::Borrowed(&remove_hosts),
                }),
                contacts: None,
                statuses: None,
            });
        }
        self.update(&cmd).await
    }

    async fn create_host(&self, host: &str, addresses: &[IpAddr]) -> Result<(), RegistrarError> {
        let cmd = HostCreate::new(host, (!addresses.is_empty()).then_some(addresses));
        self.run(&cmd).await.map(|_| ())
    }

    async fn update_host(
        &self,
        host: &str,
        add: &[IpAddr],
        remove: &[IpAddr],
    ) -> Result<(), RegistrarError> {
        let mut cmd = HostUpdate::new(host);
        if !add.is_empty() {
            cmd.add(HostAdd {
                addresses: Some(add),
                statuses: None,
            });
        }
        if !remove.is_empty() {
            cmd.remove(HostRemove {
                addresses: Some(remove),
                statuses: None,
            });
        }
        self.run(&cmd).await.map(|_| ())
    }

    async fn set_auth_code(&self, name: &str, auth_code: &str) -> Result<(), RegistrarError> {
        let mut cmd = DomainUpdate::new(name);
        cmd.info(DomainChangeInfo {
            registrant: None,
            auth_info: Some(DomainAuthInfo::new(auth_code)),
        });
        self.update(&cmd).await
    }

    async fn set_transfer_lock(&self, name: &str, locked: bool) -> Result<(), RegistrarError> {
        let status = [Status::ClientTransferProhibited];
        let mut cmd = DomainUpdate::new(name);
        if locked {
            cmd.add(DomainAdd {
                ns: None,
                contacts: None,
                statuses: Some(&status),
            });
        } else {
            cmd.remove(DomainRemove {
                ns: None,
                contacts: None,
                statuses: Some(&status),
            });
        }
        self.update(&cmd).await
    }
}
