//! Changes to one active domain, shared by the customer center and the API:
//! DNS records, AuthCode with transfer release (C9), transfer lock, nameservers
//! (ours or the customer's own with glue, V7) and owner change. Registry calls
//! happen first; the tenant's record changes only when the registry said yes,
//! and every attempt is in the domain's history.

use super::{domain, record_op};
use crate::app::AppState;
use crate::dns::{self, Record};
use crate::domains::registrar::{RegistrarError, RegistryContact};
use crate::validation::FieldErrors;
use chrono::Utc;
use relabel_tenants::Tenant;
use sea_orm::{ActiveModelTrait, DbErr, Set};
use std::net::IpAddr;

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// The domain is not active (or uses own nameservers for DNS edits).
    #[error("not possible in this state")]
    State,
    #[error("registry: {0}")]
    Registry(RegistrarError),
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("database: {0}")]
    Tenancy(#[from] relabel_tenants::TenancyError),
}

fn active(d: &domain::Model) -> Result<(), OpError> {
    if d.status == "active" {
        Ok(())
    } else {
        Err(OpError::State)
    }
}

/// One registry operation for the history: what, the detail kept on success, who.
struct Attempt<'a> {
    op: &'a str,
    detail: &'a str,
    actor: &'a str,
}

/// Records the registry's answer and, on success, applies `change` to the
/// domain row, in one transaction.
async fn settle(
    state: &AppState,
    tenant: &Tenant,
    d: &domain::Model,
    attempt: Attempt<'_>,
    result: Result<(), RegistrarError>,
    change: domain::ActiveModel,
) -> Result<(), OpError> {
    let Attempt { op, detail, actor } = attempt;
    let tx = state.tenancy.begin(tenant).await?;
    match &result {
        Ok(()) => {
            record_op(&tx, &d.id, op, Some(1000), detail, actor).await?;
            let mut change = change;
            change.id = Set(d.id.clone());
            change.updated_at = Set(Utc::now());
            change.update(tx.conn()).await?;
            tx.touch(super::TOPIC);
        }
        Err(e) => record_op(&tx, &d.id, op, e.code(), &e.to_string(), actor).await?,
    }
    tx.commit().await?;
    result.map_err(OpError::Registry)
}

/// Checks and saves the zone's records, and queues publishing them.
pub async fn save_records(
    state: &AppState,
    tenant: &Tenant,
    d: &domain::Model,
    records: &[Record],
    actor: &str,
) -> Result<Vec<Record>, OpError> {
    active(d)?;
    if d.own_nameservers {
        return Err(OpError::State);
    }
    let records = dns::check(&d.name, records).map_err(OpError::Invalid)?;
    let tx = state.tenancy.begin(tenant).await?;
    super::set_records(&tx, &d.id, &records).await?;
    record_op(
        &tx,
        &d.id,
        "records",
        None,
        &format!("{} records saved", records.len()),
        actor,
    )
    .await?;
    super::handler::queue_zone_push(&tx, d).await?;
    tx.commit().await?;
    Ok(records)
}

/// A new AuthCode at the registry, and the transfer lock lifted: the domain
/// can move. Returns the code.
pub async fn request_auth_code(
    state: &AppState,
    tenant: &Tenant,
    d: &domain::Model,
    actor: &str,
) -> Result<String, OpError> {
    active(d)?;
    let registrar = state.registries.registrar();
    let code = super::handler::random_auth_code();
    let result = match registrar.set_auth_code(&d.name, &code).await {
        Ok(()) if d.transfer_lock => registrar.set_transfer_lock(&d.name, false).await,
        other => other,
    };
    let change = domain::ActiveModel {
        auth_code: Set(Some(code.clone())),
        auth_code_at: Set(Some(Utc::now())),
        transfer_lock: Set(false),
        ..Default::default()
    };
    settle(
        state,
        tenant,
        d,
        Attempt {
            op: "authcode",
            detail: "AuthCode set, transfer lock off",
            actor,
        },
        result,
        change,
    )
    .await?;
    Ok(code)
}

pub async fn set_transfer_lock(
    state: &AppState,
    tenant: &Tenant,
    d: &domain::Model,
    locked: bool,
    actor: &str,
) -> Result<(), OpError> {
    active(d)?;
    let result = state
        .registries
        .registrar()
        .set_transfer_lock(&d.name, locked)
        .await;
    let op = if locked { "lock_on" } else { "lock_off" };
    let change = domain::ActiveModel {
        transfer_lock: Set(locked),
        ..Default::default()
    };
    settle(
        state,
        tenant,
        d,
        Attempt {
            op,
            detail: "ok",
            actor,
        },
        result,
        change,
    )
    .await
}

/// A nameserver the customer entered, with glue addresses when it lies inside
/// the domain itself.
#[derive(Debug, PartialEq)]
pub struct OwnNameserver {
    pub host: String,
    pub addresses: Vec<IpAddr>,
}

/// Checks own nameservers (V7): 2 to 6 distinct host names; glue (IPv4/IPv6)
/// required inside the domain and refused outside it. `entries` are (host,
/// addresses separated by commas or spaces). Errors name `ns.N.host`/`ns.N.ip`.
pub fn check_nameservers(
    domain: &str,
    entries: &[(String, String)],
) -> Result<Vec<OwnNameserver>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut out: Vec<OwnNameserver> = Vec::new();
    for (i, (host, ips)) in entries.iter().enumerate() {
        let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() && ips.trim().is_empty() {
            continue;
        }
        let valid = host.len() <= 253
            && host.contains('.')
            && host.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !valid {
            errors.add(&format!("ns.{i}.host"), "err.ns_host");
            continue;
        }
        if out.iter().any(|n| n.host == host) {
            errors.add(&format!("ns.{i}.host"), "err.ns_duplicate");
            continue;
        }
        let inside = host.ends_with(&format!(".{domain}"));
        let mut addresses = Vec::new();
        for ip in ips
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match ip.parse::<IpAddr>() {
                Ok(a) if !(a.is_loopback() || a.is_unspecified() || a.is_multicast()) => {
                    addresses.push(a)
                }
                _ => errors.add(&format!("ns.{i}.ip"), "err.ns_ip"),
            }
        }
        if inside && addresses.is_empty() {
            errors.add(&format!("ns.{i}.ip"), "err.ns_glue_required");
        }
        if !inside && !addresses.is_empty() {
            errors.add(&format!("ns.{i}.ip"), "err.ns_glue_outside");
        }
        out.push(OwnNameserver { host, addresses });
    }
    if errors.is_empty() && !(2..=6).contains(&out.len()) {
        errors.add("ns.0.host", "err.ns_count");
    }
    errors.into_result().map(|_| out)
}

/// Delegates to `own` nameservers (host objects with glue created or updated at
/// the registry), or back to ours when `own` is `None`. Returns the delegation.
pub async fn set_nameservers(
    state: &AppState,
    tenant: &Tenant,
    d: &domain::Model,
    own: Option<Vec<OwnNameserver>>,
    actor: &str,
) -> Result<Vec<String>, OpError> {
    active(d)?;
    let registrar = state.registries.registrar();
    let is_own = own.is_some();
    let entries: Vec<(String, Vec<IpAddr>)> = match own {
        None => state
            .config
            .dns
            .nameservers
            .iter()
            .map(|h| (h.clone(), Vec::new()))
            .collect(),
        Some(list) => {
            for ns in list.iter().filter(|n| !n.addresses.is_empty()) {
                let r = match registrar.create_host(&ns.host, &ns.addresses).await {
                    Err(e) if e.code() == Some(2302) => {
                        registrar.update_host(&ns.host, &ns.addresses, &[]).await
                    }
                    other => other,
                };
                if let Err(e) = r {
                    let tx = state.tenancy.begin(tenant).await?;
                    record_op(&tx, &d.id, "host", e.code(), &e.to_string(), actor).await?;
                    tx.commit().await?;
                    return Err(OpError::Registry(e));
                }
            }
            list.into_iter().map(|n| (n.host, n.addresses)).collect()
        }
    };
    let hosts: Vec<String> = entries.iter().map(|(h, _)| h.clone()).collect();
    let result = registrar.set_nameservers(&d.name, &hosts).await;
    let change = domain::ActiveModel {
        nameservers: Set(super::stored_nameservers(&entries)),
        own_nameservers: Set(is_own),
        ..Default::default()
    };
    settle(
        state,
        tenant,
        d,
        Attempt {
            op: "nameservers",
            detail: &hosts.join(" "),
            actor,
        },
        result,
        change,
    )
    .await?;
    Ok(hosts)
}

/// Owner change: the contact becomes the registrant at the registry.
pub async fn change_owner(
    state: &AppState,
    tenant: &Tenant,
    d: &domain::Model,
    contact_id: &str,
    actor: &str,
) -> Result<String, OpError> {
    active(d)?;
    let tx = state.tenancy.begin(tenant).await?;
    let Some(c) = crate::contacts::get_for(&tx, &d.customer_id, contact_id).await? else {
        return Err(OpError::Invalid(FieldErrors::single(
            "contact_id",
            "err.contact_unknown",
        )));
    };
    drop(tx);
    let key = format!("{}:{}", tenant.id, c.id);
    let id = super::handler::registry_contact_id(&key);
    let contact = RegistryContact {
        id: id.clone(),
        name: format!("{} {}", c.first_name, c.last_name),
        organization: c.organization,
        street: c.street,
        city: c.city,
        postal_code: c.postal_code,
        country: c.country,
        email: c.email,
        phone: c.phone,
    };
    let registrar = state.registries.registrar();
    let result = match registrar.create_contact(&contact).await {
        Ok(()) => registrar.update_registrant(&d.name, &id).await,
        Err(e) => Err(e),
    };
    let change = domain::ActiveModel {
        registry_contact: Set(Some(id.clone())),
        ..Default::default()
    };
    settle(
        state,
        tenant,
        d,
        Attempt {
            op: "owner_change",
            detail: &format!("registrant {id}"),
            actor,
        },
        result,
        change,
    )
    .await?;
    Ok(id)
}

/// Web forwards (V5): saved with the platform's host index; when we serve the
/// zone, each forwarded host gets an A record to the platform's web address
/// (replacing its A/AAAA/CNAME), published by a job.
pub async fn set_web_forwards(
    state: &AppState,
    tenant: &Tenant,
    d: &domain::Model,
    list: &[crate::forwarding::WebForward],
    actor: &str,
) -> Result<Vec<crate::forwarding::WebForward>, OpError> {
    use crate::forwarding;
    active(d)?;
    let list = forwarding::check_web(&d.name, list).map_err(OpError::Invalid)?;
    let shared = state.tenancy.backend().shared();
    let hosts: Vec<String> = list.iter().map(|f| f.host.clone()).collect();
    let taken = forwarding::hosts_taken_elsewhere(shared, tenant.id.as_str(), &hosts).await?;
    if let Some(h) = taken.first() {
        let i = hosts.iter().position(|x| x == h).unwrap_or(0);
        return Err(OpError::Invalid(FieldErrors::single(
            &format!("web.{i}.host"),
            "err.fwd_duplicate",
        )));
    }
    let tx = state.tenancy.begin(tenant).await?;
    forwarding::save_web(&tx, shared, tenant.id.as_str(), &d.id, &list).await?;
    if !d.own_nameservers {
        let mut records = super::records(&tx, &d.id).await?;
        for f in &list {
            let rel = if f.host == d.name {
                "@".to_owned()
            } else {
                f.host.trim_end_matches(&format!(".{}", d.name)).to_owned()
            };
            records
                .retain(|r| !(r.name == rel && matches!(r.rtype.as_str(), "A" | "AAAA" | "CNAME")));
            records.push(Record {
                name: rel,
                rtype: "A".into(),
                ttl: 3600,
                priority: None,
                content: state.config.dns.web_ipv4.clone(),
            });
        }
        super::set_records(&tx, &d.id, &records).await?;
        super::handler::queue_zone_push(&tx, d).await?;
    }
    record_op(
        &tx,
        &d.id,
        "web_forwards",
        None,
        &format!("{} forwards", list.len()),
        actor,
    )
    .await?;
    tx.commit().await?;
    Ok(list)
}

/// Email forwards (V5): saved, then written to the mail system by a job.
pub async fn set_mail_forwards(
    state: &AppState,
    tenant: &Tenant,
    d: &domain::Model,
    list: &[crate::forwarding::MailForward],
    actor: &str,
) -> Result<Vec<crate::forwarding::MailForward>, OpError> {
    active(d)?;
    let list = crate::forwarding::check_mail(&d.name, list).map_err(OpError::Invalid)?;
    let tx = state.tenancy.begin(tenant).await?;
    crate::forwarding::save_mail(&tx, &d.id, &list).await?;
    crate::jobs::enqueue(
        &tx,
        crate::jobs::NewJob {
            kind: "mail.forwards",
            reference: &d.name,
            key: &format!("mailfwd:{}:{}", d.id, uuid::Uuid::now_v7().simple()),
            payload: serde_json::json!({ "domain_id": d.id }),
            run_after: None,
        },
    )
    .await?;
    record_op(
        &tx,
        &d.id,
        "mail_forwards",
        None,
        &format!("{} forwards", list.len()),
        actor,
    )
    .await?;
    tx.commit().await?;
    Ok(list)
}

/// Parking (V6): the provider's nameservers are delegated at the registry, or
/// its landing page becomes a framed web forward of the domain and `www`.
/// `None` ends parking and returns to our nameservers.
pub async fn set_parking(
    state: &AppState,
    tenant: &Tenant,
    d: &domain::Model,
    provider: Option<&str>,
    actor: &str,
) -> Result<(), OpError> {
    use crate::forwarding::{PARKING_PROVIDERS, ParkingError, WebForward};
    active(d)?;
    let parking_err = |e: ParkingError| match e {
        ParkingError::Unavailable(m) => OpError::Registry(RegistrarError::Transport(m)),
        other => OpError::Registry(RegistrarError::Result {
            code: 2400,
            message: other.to_string(),
        }),
    };
    let Some(provider) = provider else {
        if let Some(old) = &d.parking_provider {
            state
                .parking
                .unpark(old, &d.name)
                .await
                .map_err(parking_err)?;
        }
        set_nameservers(state, tenant, d, None, actor).await?;
        return set_parking_provider(state, tenant, d, None, actor).await;
    };
    if !PARKING_PROVIDERS.contains(&provider) {
        return Err(OpError::Invalid(FieldErrors::single(
            "provider",
            "err.parking_provider",
        )));
    }
    let target = state
        .parking
        .park(provider, &d.name)
        .await
        .map_err(parking_err)?;
    if !target.nameservers.is_empty() {
        let own = target
            .nameservers
            .iter()
            .map(|n| OwnNameserver {
                host: n.trim_end_matches('.').to_ascii_lowercase(),
                addresses: Vec::new(),
            })
            .collect();
        set_nameservers(state, tenant, d, Some(own), actor).await?;
    } else if let Some(url) = &target.forward_url {
        let forwards: Vec<WebForward> = ["@", "www"]
            .iter()
            .map(|h| WebForward {
                host: (*h).into(),
                target: url.clone(),
                mode: "frame".into(),
                title: Some(d.name.clone()),
            })
            .collect();
        set_web_forwards(state, tenant, d, &forwards, actor).await?;
    }
    set_parking_provider(state, tenant, d, Some(provider), actor).await
}

async fn set_parking_provider(
    state: &AppState,
    tenant: &Tenant,
    d: &domain::Model,
    provider: Option<&str>,
    actor: &str,
) -> Result<(), OpError> {
    let tx = state.tenancy.begin(tenant).await?;
    domain::ActiveModel {
        id: Set(d.id.clone()),
        parking_provider: Set(provider.map(str::to_owned)),
        ..Default::default()
    }
    .update(tx.conn())
    .await?;
    record_op(
        &tx,
        &d.id,
        "parking",
        None,
        provider.unwrap_or("off"),
        actor,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(host: &str, ip: &str) -> (String, String) {
        (host.into(), ip.into())
    }

    fn fields(r: Result<Vec<OwnNameserver>, FieldErrors>) -> Vec<String> {
        r.unwrap_err()
            .iter()
            .map(|e| format!("{}:{}", e.field, e.code))
            .collect()
    }

    #[test]
    fn own_nameservers_need_glue_exactly_inside_the_domain() {
        let ok = check_nameservers(
            "beispiel.de",
            &[
                e("ns1.beispiel.de", "192.0.2.1, 2001:db8::1"),
                e("ns.extern.net", ""),
            ],
        )
        .unwrap();
        assert_eq!(ok[0].addresses.len(), 2);
        assert!(ok[1].addresses.is_empty());
        assert_eq!(
            fields(check_nameservers(
                "beispiel.de",
                &[e("ns1.beispiel.de", ""), e("ns.extern.net", "192.0.2.9")]
            )),
            [
                "ns.0.ip:err.ns_glue_required",
                "ns.1.ip:err.ns_glue_outside"
            ]
        );
        assert_eq!(
            fields(check_nameservers(
                "beispiel.de",
                &[e("not a host", ""), e("ns.extern.net", "")]
            )),
            ["ns.0.host:err.ns_host"]
        );
        assert_eq!(
            fields(check_nameservers("beispiel.de", &[e("ns.extern.net", "")])),
            ["ns.0.host:err.ns_count"]
        );
        assert_eq!(
            fields(check_nameservers(
                "beispiel.de",
                &[e("ns1.beispiel.de", "127.0.0.1"), e("ns.extern.net", "")]
            )),
            ["ns.0.ip:err.ns_ip"]
        );
    }
}
