//! The built-in test registry (V2): its storage and the rules of a real registry,
//! answered over EPP by [`server`]. It keeps domains, contacts and host objects per
//! sponsoring registrar (client id), with realistic result codes: 1000 done,
//! 1001 pending (transfers, delete into redemption), 1300/1301 poll queue,
//! 2005 name syntax, 2202 wrong AuthCode, 2302 object exists,
//! 2201 authorization error, 2303 not found, 2304 status prohibits, 2306 policy,
//! 2400 failed (injected). Latency, hanging and failing registries are configured
//! per registry operator ([`DevRegistryConfig`]). With a state file, everything it
//! registered survives a restart.
//!
//! Like a real registry it refuses names a registry would (RFC 1035 / RFC 5891
//! syntax and the TLD's minimum length: 2005), queues service messages per
//! registrar (`<poll>`: the losing registrar hears of a transfer request, both
//! sides of its outcome) and answers a wrong login with 2501 (authentication
//! error, server closing connection, RFC 5730).

pub mod server;

use super::registrar::registry_of;
use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Mutex;

/// Faults the test registry injects, per registry operator, and its accounts.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct DevRegistryConfig {
    /// Run the built-in test registry when no `[epp]` registry is configured
    /// (`serve --demo` turns it on). Off by default, so that a production
    /// deployment never "registers" domains at a registry that does not exist.
    pub enabled: bool,
    /// Delay of every answer, in milliseconds.
    pub latency_ms: u64,
    /// Registries that never answer (to exercise the timeout).
    pub hang: Vec<String>,
    /// Registries that answer with EPP 2400 "command failed".
    pub fail: Vec<String>,
    /// Seconds until a requested transfer is approved by the registry when the
    /// losing registrar does nothing (real registries: 5 days).
    pub transfer_auto_approve_secs: i64,
    /// Days a deleted domain stays restorable (redemption grace period).
    pub redemption_days: i64,
    /// Registrar accounts: client id -> password.
    pub accounts: BTreeMap<String, String>,
    /// Where objects are kept between runs (JSON); in memory when absent.
    pub state_file: Option<PathBuf>,
}

impl Default for DevRegistryConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            latency_ms: 0,
            hang: Vec::new(),
            fail: Vec::new(),
            transfer_auto_approve_secs: 5 * 86_400,
            redemption_days: 30,
            accounts: BTreeMap::from([
                (DEV_CLIENT.to_owned(), DEV_PASSWORD.to_owned()),
                (OTHER_CLIENT.to_owned(), "other-dev-2026".to_owned()),
            ]),
            state_file: None,
        }
    }
}

/// The platform's account at the test registry.
pub const DEV_CLIENT: &str = "relabel";
pub const DEV_PASSWORD: &str = "relabel-dev-2026";
/// Another registrar: sponsor of the pre-registered names, and the gaining side
/// of outgoing transfers in tests.
pub const OTHER_CLIENT: &str = "other-registrar";
/// AuthCode of every pre-registered name (documented for transfer tests and demo).
pub const PRE_REGISTERED_AUTH: &str = "Xfer-2026!";

/// Labels registered in every TLD of the test registry from the start, so a
/// search shows taken names and suggestions.
const PRE_REGISTERED: &[&str] = &[
    "example", "test", "google", "amazon", "shop", "mail", "web", "news", "bank", "hotel",
    "berlin", "hamburg", "muenchen", "müller", "taken", "relabel", "domain", "cloud",
];

/// Labels a registry withholds (EPP reason "reserved").
const RESERVED: &[&str] = &["nic", "whois", "www"];

/// An EPP result that is not plain success.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub code: u16,
    pub message: String,
}

fn fault(code: u16, message: impl Into<String>) -> Fault {
    Fault {
        code,
        message: message.into(),
    }
}

fn not_found(what: &str) -> Fault {
    fault(2303, format!("Object does not exist: {what}"))
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Domain {
    pub name: String,
    pub roid: String,
    /// Sponsoring registrar.
    pub client: String,
    pub registrant: String,
    pub nameservers: Vec<String>,
    pub statuses: BTreeSet<String>,
    pub auth: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub transfer: Option<Transfer>,
    /// Set while the domain is deleted but restorable.
    pub redemption_until: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Transfer {
    /// pending | clientApproved | clientRejected | serverApproved | clientCancelled
    pub status: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub losing: String,
    pub act_by: DateTime<Utc>,
    pub years: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Contact {
    pub id: String,
    pub client: String,
    pub name: String,
    pub email: String,
    pub country: String,
    #[serde(default = "Utc::now")]
    pub created: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Host {
    pub name: String,
    pub client: String,
    pub addresses: Vec<IpAddr>,
    #[serde(default = "Utc::now")]
    pub created: DateTime<Utc>,
}

/// A service message waiting in a registrar's poll queue (RFC 5730 2.9.2.3).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Message {
    pub id: u64,
    pub at: DateTime<Utc>,
    pub text: String,
    /// The transfer it is about: the domain and the transfer as it then stood.
    pub transfer: Option<(Domain, Transfer)>,
}

#[derive(Default, Serialize, Deserialize)]
struct State {
    domains: BTreeMap<String, Domain>,
    contacts: BTreeMap<String, Contact>,
    hosts: BTreeMap<String, Host>,
    /// Successful creates per name (tests check a name was registered once).
    creates: BTreeMap<String, u32>,
    next_roid: u64,
    /// Poll queues per registrar (client id), oldest first.
    #[serde(default)]
    messages: BTreeMap<String, Vec<Message>>,
    #[serde(default)]
    next_message: u64,
}

impl State {
    /// Queues a message about transfer `t` of `d` for `client`.
    fn tell(&mut self, client: &str, text: &str, d: &Domain, t: &Transfer) {
        self.next_message += 1;
        let m = Message {
            id: self.next_message,
            at: Utc::now(),
            text: text.to_owned(),
            transfer: Some((d.clone(), t.clone())),
        };
        self.messages.entry(client.to_owned()).or_default().push(m);
    }
}

/// The shortest second-level label a TLD allows (most: one character; EURid
/// registers two or more).
fn min_label(tld: &str) -> usize {
    match tld {
        "eu" => 2,
        _ => 1,
    }
}

/// Whether `name` is a name this registry registers, by RFC 1035 and RFC 5891
/// (IDNA 2008) and the TLD's rules: exactly `label.tld` in ASCII, no trailing
/// dot; a label of 1 to 63 letters, digits and hyphens, with no hyphen at
/// either end and none in the 3rd and 4th place unless it is an `xn--` A-label
/// that decodes; at most 253 characters; a TLD of letters (or an A-label); and
/// the TLD's minimum label length.
pub fn valid_name(name: &str) -> bool {
    let Some((label, tld)) = name.split_once('.') else {
        return false;
    };
    let ldh = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let a_label_ok = |l: &str| match l.get(2..4) {
        Some("--") => l
            .strip_prefix("xn--")
            .and_then(idna::punycode::decode_to_string)
            .is_some_and(|u| !u.is_empty() && !u.is_ascii()),
        _ => true,
    };
    let tld_ok = tld.starts_with("xn--") && ldh(tld) && a_label_ok(tld)
        || (2..=63).contains(&tld.len()) && tld.bytes().all(|b| b.is_ascii_lowercase());
    name.len() <= 253
        && ldh(label)
        && a_label_ok(label)
        && tld_ok
        && label.chars().count() >= min_label(tld)
}

/// Changes of one `<domain:update>`.
#[derive(Debug, Default)]
pub struct DomainUpdate {
    pub add_ns: Vec<String>,
    pub remove_ns: Vec<String>,
    pub add_status: Vec<String>,
    pub remove_status: Vec<String>,
    pub registrant: Option<String>,
    pub auth: Option<String>,
}

/// One name's check answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub name: String,
    pub reason: Option<&'static str>,
}

/// Statuses a registrar may set itself (RFC 5731 client* statuses).
const CLIENT_STATUSES: &[&str] = &[
    "clientTransferProhibited",
    "clientDeleteProhibited",
    "clientUpdateProhibited",
    "clientRenewProhibited",
    "clientHold",
];

pub struct DevRegistry {
    state: Mutex<State>,
    pub config: DevRegistryConfig,
}

impl DevRegistry {
    pub fn new(config: DevRegistryConfig) -> Self {
        let state = config
            .state_file
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Self {
            state: Mutex::new(state),
            config,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the state and writes the state file after a change.
    fn change<T>(&self, f: impl FnOnce(&mut State) -> Result<T, Fault>) -> Result<T, Fault> {
        let mut state = self.state();
        let out = f(&mut state)?;
        if let Some(path) = &self.config.state_file {
            let json = serde_json::to_vec(&*state).unwrap_or_default();
            let tmp = path.with_extension("tmp");
            if std::fs::write(&tmp, json)
                .and_then(|_| std::fs::rename(&tmp, path))
                .is_err()
            {
                tracing::warn!(path = %path.display(), "test registry state not saved");
            }
        }
        Ok(out)
    }

    /// Takes the oldest message waiting for `client`, without removing it, and
    /// how many wait.
    pub fn poll(&self, client: &str) -> (Option<Message>, usize) {
        let state = self.state();
        let queue = state.messages.get(client);
        (
            queue.and_then(|q| q.first().cloned()),
            queue.map_or(0, Vec::len),
        )
    }

    /// Acknowledges message `id` of `client`: how many are left, or 2303.
    pub fn ack(&self, client: &str, id: u64) -> Result<usize, Fault> {
        self.change(|s| {
            let queue = s.messages.entry(client.to_owned()).or_default();
            let before = queue.len();
            queue.retain(|m| m.id != id);
            if queue.len() == before {
                return Err(fault(2303, format!("Object does not exist: message {id}")));
            }
            Ok(queue.len())
        })
    }

    /// `<contact:info>`: the sponsor sees its contact; others get 2201.
    pub fn contact_info(&self, client: &str, id: &str) -> Result<Contact, Fault> {
        let state = self.state();
        let c = state.contacts.get(id).ok_or_else(|| not_found(id))?;
        if c.client != client {
            return Err(fault(2201, "Authorization error"));
        }
        Ok(c.clone())
    }

    /// Whether contact `id` exists (`<contact:check>`).
    pub fn contact_exists(&self, id: &str) -> bool {
        self.state().contacts.contains_key(id)
    }

    /// `<host:info>`: public to every registrar (RFC 5732), with whether a
    /// domain uses it.
    pub fn host_info(&self, name: &str) -> Result<(Host, bool), Fault> {
        let state = self.state();
        let h = state.hosts.get(name).ok_or_else(|| not_found(name))?;
        let linked = state
            .domains
            .values()
            .any(|d| d.nameservers.iter().any(|n| n == name));
        Ok((h.clone(), linked))
    }

    /// Whether `client`/`password` is an account of this registry.
    pub fn login(&self, client: &str, password: &str) -> bool {
        self.config
            .accounts
            .get(client)
            .is_some_and(|pw| pw == password)
    }

    /// The configured faults for the registry of `name`: `Err` = answer 2400,
    /// `Ok(true)` = never answer.
    pub fn faults_for(&self, name: &str) -> Result<bool, Fault> {
        let registry = registry_of(name.rsplit('.').next().unwrap_or_default());
        if self.config.hang.iter().any(|r| r == registry) {
            return Ok(true);
        }
        if self.config.fail.iter().any(|r| r == registry) {
            return Err(fault(2400, "Command failed"));
        }
        Ok(false)
    }

    /// How often `name` was created here (a retried register must not create twice).
    pub fn create_count(&self, name: &str) -> u32 {
        self.state().creates.get(name).copied().unwrap_or(0)
    }

    /// A copy of a domain object, as the registry holds it.
    pub fn domain(&self, name: &str) -> Option<Domain> {
        let mut state = self.state();
        settle(&mut state, name, self.config.redemption_days);
        state.domains.get(name).cloned()
    }

    /// Records a registration by another registrar (tests, demo data).
    pub fn register(&self, ascii_name: &str) -> bool {
        let name = ascii_name.to_ascii_lowercase();
        self.change(|s| {
            if s.domains.contains_key(&name) {
                return Ok(false);
            }
            let now = Utc::now();
            let d = new_domain(s, &name, OTHER_CLIENT, "other-holder", now, 1);
            s.domains.insert(name.clone(), d);
            Ok(true)
        })
        .unwrap_or(false)
    }

    pub fn check(&self, names: &[String]) -> Vec<Checked> {
        let state = self.state();
        names
            .iter()
            .map(|n| {
                let n = n.to_ascii_lowercase();
                Checked {
                    reason: if valid_name(&n) {
                        taken(&state, &n)
                    } else {
                        Some("invalid domain name")
                    },
                    name: n,
                }
            })
            .collect()
    }

    pub fn contact_create(&self, client: &str, c: Contact) -> Result<DateTime<Utc>, Fault> {
        self.change(|s| {
            if s.contacts.contains_key(&c.id) {
                return Err(fault(2302, format!("Object exists: {}", c.id)));
            }
            if c.name.trim().is_empty() || c.email.trim().is_empty() || c.country.len() != 2 {
                return Err(fault(2306, "Parameter value policy error: contact data"));
            }
            s.contacts.insert(
                c.id.clone(),
                Contact {
                    client: client.to_owned(),
                    ..c
                },
            );
            Ok(Utc::now())
        })
    }

    pub fn create(
        &self,
        client: &str,
        name: &str,
        years: u32,
        registrant: &str,
        nameservers: &[String],
        auth: &str,
    ) -> Result<Domain, Fault> {
        let redemption_days = self.config.redemption_days;
        self.change(|s| {
            settle(s, name, redemption_days);
            if let Some(reason) = taken(s, name) {
                return Err(fault(2302, format!("Object exists: {name} ({reason})")));
            }
            if !(1..=10).contains(&years) {
                return Err(fault(2306, "Parameter value policy error: period"));
            }
            let Some(contact) = s.contacts.get(registrant) else {
                return Err(not_found(registrant));
            };
            if contact.client != client {
                return Err(fault(2201, "Authorization error: registrant contact"));
            }
            for ns in nameservers {
                if !s.hosts.contains_key(ns) {
                    return Err(not_found(ns));
                }
            }
            let now = Utc::now();
            let mut d = new_domain(s, name, client, registrant, now, years);
            d.nameservers = nameservers.to_vec();
            d.auth = auth.to_owned();
            s.domains.insert(name.to_owned(), d.clone());
            *s.creates.entry(name.to_owned()).or_default() += 1;
            Ok(d)
        })
    }

    /// `<domain:info>`: the sponsor, or anyone with the AuthCode, sees everything;
    /// others see the public part (no AuthCode).
    pub fn info(&self, client: &str, name: &str, auth: Option<&str>) -> Result<Domain, Fault> {
        let mut state = self.state();
        settle(&mut state, name, self.config.redemption_days);
        let d = state.domains.get(name).ok_or_else(|| not_found(name))?;
        let mut d = d.clone();
        if d.client != client && auth != Some(d.auth.as_str()) {
            d.auth = String::new();
        }
        Ok(d)
    }

    pub fn renew(
        &self,
        client: &str,
        name: &str,
        current: NaiveDate,
        years: u32,
    ) -> Result<DateTime<Utc>, Fault> {
        self.change(|s| {
            let d = sponsored(s, client, name)?;
            if d.expires.date_naive() != current {
                return Err(fault(2306, "Parameter value policy error: curExpDate"));
            }
            if d.statuses.contains("clientRenewProhibited") || d.redemption_until.is_some() {
                return Err(fault(2304, "Object status prohibits operation"));
            }
            if !(1..=10).contains(&years) {
                return Err(fault(2306, "Parameter value policy error: period"));
            }
            d.expires = add_years(d.expires, years);
            d.updated = Utc::now();
            Ok(d.expires)
        })
    }

    /// Deletes into the redemption period (EPP 1001: pending delete).
    pub fn delete(&self, client: &str, name: &str) -> Result<(), Fault> {
        let days = self.config.redemption_days;
        self.change(|s| {
            let d = sponsored(s, client, name)?;
            if d.statuses.contains("clientDeleteProhibited") || d.redemption_until.is_some() {
                return Err(fault(2304, "Object status prohibits operation"));
            }
            d.redemption_until = Some(Utc::now() + Duration::days(days));
            d.statuses = BTreeSet::from(["pendingDelete".to_owned()]);
            Ok(())
        })
    }

    /// RGP restore of a domain in redemption.
    pub fn restore(&self, client: &str, name: &str) -> Result<(), Fault> {
        let days = self.config.redemption_days;
        self.change(|s| {
            settle(s, name, days);
            let d = sponsored(s, client, name)?;
            if d.redemption_until.is_none() {
                return Err(fault(
                    2304,
                    "Object status prohibits operation: not in redemption",
                ));
            }
            d.redemption_until = None;
            d.statuses = BTreeSet::from(["ok".to_owned()]);
            d.updated = Utc::now();
            Ok(())
        })
    }

    pub fn update(&self, client: &str, name: &str, u: DomainUpdate) -> Result<(), Fault> {
        self.change(|s| {
            for ns in &u.add_ns {
                if !s.hosts.contains_key(ns) {
                    return Err(not_found(ns));
                }
            }
            if let Some(r) = &u.registrant {
                match s.contacts.get(r) {
                    None => return Err(not_found(r)),
                    Some(c) if c.client != client => {
                        return Err(fault(2201, "Authorization error: registrant contact"));
                    }
                    Some(_) => {}
                }
            }
            for st in u.add_status.iter().chain(&u.remove_status) {
                if !CLIENT_STATUSES.contains(&st.as_str()) {
                    return Err(fault(2306, format!("Parameter value policy error: {st}")));
                }
            }
            let d = sponsored(s, client, name)?;
            let updating_prohibited = d.statuses.contains("clientUpdateProhibited")
                && !u
                    .remove_status
                    .iter()
                    .any(|x| x == "clientUpdateProhibited");
            if updating_prohibited || d.redemption_until.is_some() {
                return Err(fault(2304, "Object status prohibits operation"));
            }
            d.nameservers.retain(|n| !u.remove_ns.contains(n));
            for ns in u.add_ns {
                if !d.nameservers.contains(&ns) {
                    d.nameservers.push(ns);
                }
            }
            if d.nameservers.len() > 13 {
                return Err(fault(
                    2306,
                    "Parameter value policy error: too many nameservers",
                ));
            }
            for st in u.remove_status {
                d.statuses.remove(&st);
            }
            for st in u.add_status {
                d.statuses.remove("ok");
                d.statuses.insert(st);
            }
            if d.statuses.is_empty() {
                d.statuses.insert("ok".to_owned());
            }
            if let Some(r) = u.registrant {
                d.registrant = r;
            }
            if let Some(a) = u.auth {
                if a.len() < 6 {
                    return Err(fault(2306, "Parameter value policy error: authInfo"));
                }
                d.auth = a;
            }
            d.updated = Utc::now();
            Ok(())
        })
    }

    /// `<transfer op="request">` by the gaining registrar: 1001, pending.
    pub fn transfer_request(
        &self,
        client: &str,
        name: &str,
        auth: &str,
        years: u32,
    ) -> Result<Transfer, Fault> {
        let auto = Duration::seconds(self.config.transfer_auto_approve_secs);
        let days = self.config.redemption_days;
        self.change(|s| {
            settle(s, name, days);
            let d = s.domains.get_mut(name).ok_or_else(|| not_found(name))?;
            if d.client == client {
                return Err(fault(
                    2106,
                    "Object is not eligible for transfer: already sponsored",
                ));
            }
            if d.auth != auth {
                return Err(fault(2202, "Invalid authorization information"));
            }
            if d.statuses.contains("clientTransferProhibited") || d.redemption_until.is_some() {
                return Err(fault(2304, "Object status prohibits operation"));
            }
            if d.transfer.as_ref().is_some_and(|t| t.status == "pending") {
                return Err(fault(2300, "Object pending transfer"));
            }
            let now = Utc::now();
            let t = Transfer {
                status: "pending".into(),
                requested_by: client.to_owned(),
                requested_at: now,
                losing: d.client.clone(),
                act_by: now + auto,
                years,
            };
            d.statuses.insert("pendingTransfer".into());
            d.transfer = Some(t.clone());
            let d = d.clone();
            s.tell(&t.losing, "Transfer requested.", &d, &t);
            Ok(t)
        })
    }

    /// `<transfer op="query">`: the gaining or losing registrar.
    pub fn transfer_query(&self, client: &str, name: &str) -> Result<(Domain, Transfer), Fault> {
        let days = self.config.redemption_days;
        self.change(|s| {
            settle(s, name, days);
            let d = s.domains.get(name).ok_or_else(|| not_found(name))?;
            let t = d
                .transfer
                .clone()
                .ok_or_else(|| fault(2301, "Object not pending transfer"))?;
            if client != t.requested_by && client != t.losing {
                return Err(fault(2201, "Authorization error"));
            }
            Ok((d.clone(), t))
        })
    }

    /// `<transfer op="approve|reject">` by the losing registrar (the sponsor).
    pub fn transfer_answer(
        &self,
        client: &str,
        name: &str,
        approve: bool,
    ) -> Result<Transfer, Fault> {
        let days = self.config.redemption_days;
        self.change(|s| {
            settle(s, name, days);
            let d = sponsored(s, client, name)?;
            let t = d
                .transfer
                .as_mut()
                .filter(|t| t.status == "pending")
                .ok_or_else(|| fault(2301, "Object not pending transfer"))?;
            let t = if approve {
                t.status = "clientApproved".into();
                let t = t.clone();
                complete_transfer(d, &t);
                t
            } else {
                t.status = "clientRejected".into();
                let t = t.clone();
                d.statuses.remove("pendingTransfer");
                t
            };
            let d = d.clone();
            let text = if approve {
                "Transfer approved."
            } else {
                "Transfer rejected."
            };
            s.tell(&t.requested_by, text, &d, &t);
            Ok(t)
        })
    }

    pub fn host_create(
        &self,
        client: &str,
        name: &str,
        addresses: &[IpAddr],
    ) -> Result<DateTime<Utc>, Fault> {
        self.change(|s| {
            if s.hosts.contains_key(name) {
                return Err(fault(2302, format!("Object exists: {name}")));
            }
            check_glue(s, client, name, addresses)?;
            s.hosts.insert(
                name.to_owned(),
                Host {
                    name: name.to_owned(),
                    client: client.to_owned(),
                    addresses: addresses.to_vec(),
                    created: Utc::now(),
                },
            );
            Ok(Utc::now())
        })
    }

    pub fn host_update(
        &self,
        client: &str,
        name: &str,
        add: &[IpAddr],
        remove: &[IpAddr],
    ) -> Result<(), Fault> {
        self.change(|s| {
            let h = s.hosts.get(name).ok_or_else(|| not_found(name))?;
            if h.client != client {
                return Err(fault(2201, "Authorization error"));
            }
            let mut addrs = h.addresses.clone();
            addrs.retain(|a| !remove.contains(a));
            for a in add {
                if !addrs.contains(a) {
                    addrs.push(*a);
                }
            }
            check_glue(s, client, name, &addrs)?;
            if let Some(h) = s.hosts.get_mut(name) {
                h.addresses = addrs;
            }
            Ok(())
        })
    }

    pub fn host(&self, name: &str) -> Option<Host> {
        self.state().hosts.get(name).cloned()
    }
}

/// Glue rules (RFC 5732): a host inside a domain of this registry needs addresses
/// and that domain must be the client's; a host outside must have none.
fn check_glue(s: &State, client: &str, name: &str, addresses: &[IpAddr]) -> Result<(), Fault> {
    let parent = name.split_once('.').map(|(_, p)| p).unwrap_or_default();
    match s.domains.get(parent) {
        Some(d) => {
            if d.client != client {
                return Err(fault(2201, "Authorization error: superordinate domain"));
            }
            if addresses.is_empty() {
                return Err(fault(2003, "Required parameter missing: host address"));
            }
        }
        None if !addresses.is_empty() => {
            return Err(fault(
                2306,
                "Parameter value policy error: glue outside the registry",
            ));
        }
        None => {}
    }
    Ok(())
}

fn new_domain(
    s: &mut State,
    name: &str,
    client: &str,
    registrant: &str,
    now: DateTime<Utc>,
    years: u32,
) -> Domain {
    s.next_roid += 1;
    Domain {
        name: name.to_owned(),
        roid: format!("D{}-RELABEL", s.next_roid),
        client: client.to_owned(),
        registrant: registrant.to_owned(),
        nameservers: Vec::new(),
        statuses: BTreeSet::from(["ok".to_owned()]),
        auth: PRE_REGISTERED_AUTH.to_owned(),
        created: now,
        updated: now,
        expires: add_years(now, years),
        transfer: None,
        redemption_until: None,
    }
}

fn add_years(t: DateTime<Utc>, years: u32) -> DateTime<Utc> {
    t.checked_add_months(Months::new(12 * years)).unwrap_or(t)
}

fn sponsored<'a>(s: &'a mut State, client: &str, name: &str) -> Result<&'a mut Domain, Fault> {
    let d = s.domains.get_mut(name).ok_or_else(|| not_found(name))?;
    if d.client != client {
        return Err(fault(
            2201,
            "Authorization error: not the sponsoring registrar",
        ));
    }
    Ok(d)
}

fn complete_transfer(d: &mut Domain, t: &Transfer) {
    d.client = t.requested_by.clone();
    d.expires = add_years(d.expires, t.years.max(1));
    d.statuses.remove("pendingTransfer");
    d.statuses.remove("clientTransferProhibited");
    d.updated = Utc::now();
}

/// Time-driven changes: a transfer nobody answered is approved by the server, a
/// redemption period that ran out purges the domain.
fn settle(s: &mut State, name: &str, _redemption_days: i64) {
    let now = Utc::now();
    let purge = s
        .domains
        .get(name)
        .and_then(|d| d.redemption_until)
        .is_some_and(|until| until <= now);
    if purge {
        s.domains.remove(name);
        return;
    }
    if let Some(d) = s.domains.get_mut(name) {
        let due = d
            .transfer
            .as_ref()
            .filter(|t| t.status == "pending" && t.act_by <= now)
            .cloned();
        if let Some(mut t) = due {
            t.status = "serverApproved".into();
            complete_transfer(d, &t);
            d.transfer = Some(t.clone());
            let d = d.clone();
            s.tell(&t.losing, "Transfer auto-approved by the registry.", &d, &t);
            s.tell(
                &t.requested_by,
                "Transfer auto-approved by the registry.",
                &d,
                &t,
            );
        }
    }
}

fn taken(s: &State, ascii_name: &str) -> Option<&'static str> {
    let label = ascii_name.split('.').next().unwrap_or_default();
    if RESERVED.contains(&label) {
        return Some("reserved");
    }
    if s.domains.contains_key(ascii_name) || pre_registered(ascii_name) {
        return Some("in use");
    }
    None
}

fn pre_registered(ascii_name: &str) -> bool {
    let label = ascii_name.split('.').next().unwrap_or_default();
    let unicode = idna::domain_to_unicode(label).0;
    PRE_REGISTERED.contains(&label) || PRE_REGISTERED.contains(&unicode.as_str())
}

impl DevRegistry {
    /// Makes a pre-registered name a real object (sponsored by the other
    /// registrar) the first time a command touches it.
    pub fn materialize(&self, name: &str) {
        if !pre_registered(name) {
            return;
        }
        let mut s = self.state();
        if !s.domains.contains_key(name) {
            let now = Utc::now();
            let d = new_domain(&mut s, name, OTHER_CLIENT, "other-holder", now, 1);
            s.domains.insert(name.to_owned(), d);
        }
    }
}

/// The test registry running in this process: storage, EPP listener on
/// loopback, and an EPP client logged in as the platform.
pub struct Embedded {
    pub registry: std::sync::Arc<DevRegistry>,
    pub server: server::Running,
    pub identity: server::Identity,
    pub registrar: super::epp::EppRegistrar,
}

/// Starts the test registry on a free loopback port and connects to it over EPP.
pub async fn embedded(config: DevRegistryConfig) -> anyhow::Result<Embedded> {
    let registry = std::sync::Arc::new(DevRegistry::new(config));
    let identity = server::Identity::generate()?;
    let server = server::start(
        registry.clone(),
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        &identity,
    )
    .await?;
    let registrar = super::epp::EppRegistrar::new(
        &super::epp::EppConfig {
            host: "localhost".into(),
            port: server.addr.port(),
            client_id: DEV_CLIENT.into(),
            password: DEV_PASSWORD.into(),
            ca_file: None,
            connections: 8,
            keepalive_secs: 300,
            timeout_ms: 30_000,
        },
        Some(vec![server.cert.clone()]),
    )?;
    Ok(Embedded {
        registry,
        server,
        identity,
        registrar,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(reg: &DevRegistry, client: &str, id: &str) {
        reg.contact_create(
            client,
            Contact {
                id: id.into(),
                client: String::new(),
                name: "Erika Muster".into(),
                email: "erika@example.de".into(),
                country: "DE".into(),
                created: Utc::now(),
            },
        )
        .unwrap();
    }

    #[test]
    fn names_follow_rfc_1035_5891_and_the_tlds_rules() {
        for ok in [
            "a.de",
            "xn--bcher-kva.de",
            "ab.eu",
            "a-b.com",
            "1.de",
            "x.xn--p1ai",
        ] {
            assert!(valid_name(ok), "{ok}");
        }
        let long = format!("{}.com", "a".repeat(64));
        for bad in [
            "bad_name!.com",
            "-lead.com",
            "trail-.com",
            long.as_str(),
            "nodot",
            "x.com.",
            "ab--cd.com",
            "xn--.com",
            "xn--zz.com",
            "a.eu",
            "Upper.com",
            "a.b.com",
            "a.c0m",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn create_twice_is_2302_and_counted_once() {
        let reg = DevRegistry::new(DevRegistryConfig::default());
        contact(&reg, DEV_CLIENT, "c1");
        reg.create(DEV_CLIENT, "neu.de", 1, "c1", &[], "Abc123!x")
            .unwrap();
        let again = reg.create(DEV_CLIENT, "neu.de", 1, "c1", &[], "Abc123!x");
        assert_eq!(again.unwrap_err().code, 2302);
        assert_eq!(reg.create_count("neu.de"), 1);
        // Unknown registrant, foreign contact.
        assert_eq!(
            reg.create(DEV_CLIENT, "zwei.de", 1, "nope", &[], "Abc123!x")
                .unwrap_err()
                .code,
            2303
        );
        contact(&reg, OTHER_CLIENT, "c2");
        assert_eq!(
            reg.create(DEV_CLIENT, "zwei.de", 1, "c2", &[], "Abc123!x")
                .unwrap_err()
                .code,
            2201
        );
    }

    #[test]
    fn transfer_needs_the_auth_code_and_is_pending_until_approved() {
        let reg = DevRegistry::new(DevRegistryConfig::default());
        reg.materialize("example.de");
        let bad = reg.transfer_request(DEV_CLIENT, "example.de", "wrong1", 1);
        assert_eq!(bad.unwrap_err().code, 2202);
        let t = reg
            .transfer_request(DEV_CLIENT, "example.de", PRE_REGISTERED_AUTH, 1)
            .unwrap();
        assert_eq!(t.status, "pending");
        assert_eq!(reg.domain("example.de").unwrap().client, OTHER_CLIENT);
        reg.transfer_answer(OTHER_CLIENT, "example.de", true)
            .unwrap();
        assert_eq!(reg.domain("example.de").unwrap().client, DEV_CLIENT);
    }

    #[test]
    fn delete_goes_to_redemption_and_restore_brings_it_back() {
        let reg = DevRegistry::new(DevRegistryConfig::default());
        contact(&reg, DEV_CLIENT, "c1");
        reg.create(DEV_CLIENT, "weg.de", 1, "c1", &[], "Abc123!x")
            .unwrap();
        reg.delete(DEV_CLIENT, "weg.de").unwrap();
        assert!(
            reg.domain("weg.de")
                .unwrap()
                .statuses
                .contains("pendingDelete")
        );
        assert_eq!(
            reg.create(DEV_CLIENT, "weg.de", 1, "c1", &[], "Abc123!x")
                .unwrap_err()
                .code,
            2302
        );
        reg.restore(DEV_CLIENT, "weg.de").unwrap();
        assert!(reg.domain("weg.de").unwrap().statuses.contains("ok"));
    }

    #[test]
    fn glue_only_inside_own_domains() {
        let reg = DevRegistry::new(DevRegistryConfig::default());
        contact(&reg, DEV_CLIENT, "c1");
        reg.create(DEV_CLIENT, "eigen.de", 1, "c1", &[], "Abc123!x")
            .unwrap();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            reg.host_create(DEV_CLIENT, "ns1.eigen.de", &[])
                .unwrap_err()
                .code,
            2003
        );
        reg.host_create(DEV_CLIENT, "ns1.eigen.de", &[ip]).unwrap();
        assert_eq!(
            reg.host_create(DEV_CLIENT, "ns1.fremd.net", &[ip])
                .unwrap_err()
                .code,
            2306
        );
        reg.host_create(DEV_CLIENT, "ns1.fremd.net", &[]).unwrap();
        reg.update(
            DEV_CLIENT,
            "eigen.de",
            DomainUpdate {
                add_ns: vec!["ns1.eigen.de".into(), "ns1.fremd.net".into()],
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(reg.domain("eigen.de").unwrap().nameservers.len(), 2);
    }
}
