//! Provisioning (V1-V8): what an accepted order becomes. Domains with their
//! lifecycle and the history of registry operations, DNS records of the zones we
//! serve, and service entries (product, period, price, next billing date) that
//! billing bills. The job handlers in [`handler`] do the work at the registry and
//! the DNS server; this module keeps the tenant's records of it.

pub mod handler;
pub mod ops;

use crate::dns::Record;
use crate::orders::entity::entity;
use chrono::{DateTime, Months, Utc};
use relabel_tenants::TenantTx;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

entity!(domain, "domains", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    customer_id: String,
    order_id: Option<String>,
    /// ASCII (punycode) name.
    name: String,
    /// pending | pending_transfer | active | expiring | grace | redemption | deleted
    /// | transferred_out | failed
    status: String,
    registry_contact: Option<String>,
    expires_at: Option<DateTimeUtc>,
    auth_code: Option<String>,
    auth_code_at: Option<DateTimeUtc>,
    transfer_lock: bool,
    /// JSON list of the delegated nameservers.
    nameservers: String,
    own_nameservers: bool,
    created_at: DateTimeUtc,
    updated_at: DateTimeUtc,
    /// sedo | namedrive while parked.
    parking_provider: Option<String>,
});
entity!(domain_op, "domain_ops", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    domain_id: String,
    op: String,
    result_code: Option<i32>,
    message: String,
    actor: String,
    at: DateTimeUtc,
});
entity!(service, "services", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    customer_id: String,
    product_id: String,
    order_id: Option<String>,
    order_item_id: Option<String>,
    domain_id: Option<String>,
    kind: String,
    label: String,
    period_months: i32,
    price_source: String,
    net_minor: i64,
    currency: String,
    quantity: i32,
    started_at: DateTimeUtc,
    next_billing_at: DateTimeUtc,
    ends_at: Option<DateTimeUtc>,
    cancellation: String,
    status: String,
    created_at: DateTimeUtc,
    updated_at: DateTimeUtc,
    /// Raised when a billed period is credited to be billed again (see
    /// `billing::CreditedPeriods`); part of an invoice line's key.
    generation: i32,
});
entity!(dns_record, "dns_records", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    domain_id: String,
    name: String,
    rtype: String,
    content: String,
    ttl: i32,
    priority: Option<i32>,
});

/// Data-change topic of domains and services (console lists).
pub const TOPIC: &str = "domains";

/// Domain states in lifecycle order (B12): shown in lists and filters.
pub const STATES: &[&str] = &[
    "pending",
    "pending_transfer",
    "active",
    "expiring",
    "grace",
    "redemption",
    "deleted",
    "transferred_out",
    "failed",
];

fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// The lifecycle state a domain is in at `now`, from its expiry: `expiring` in the
/// last 30 days, `grace` for `grace_days` after expiry (renewal still normal),
/// then `redemption` (restore possible, expensive) for `redemption_days` (the
/// TLD's restore period), then `deleted`.
pub fn lifecycle_state(
    status: &str,
    expires_at: Option<DateTime<Utc>>,
    grace_days: i64,
    redemption_days: i64,
    now: DateTime<Utc>,
) -> &'static str {
    let settled = match status {
        "active" | "expiring" | "grace" | "redemption" => None,
        other => STATES.iter().find(|s| **s == other).copied(),
    };
    if let Some(s) = settled {
        return s;
    }
    let Some(exp) = expires_at else {
        return "active";
    };
    if now < exp - chrono::Duration::days(30) {
        "active"
    } else if now < exp {
        "expiring"
    } else if now < exp + chrono::Duration::days(grace_days) {
        "grace"
    } else if now < exp + chrono::Duration::days(grace_days + redemption_days) {
        "redemption"
    } else {
        "deleted"
    }
}

/// Records one registry operation in the domain's history.
pub async fn record_op(
    tx: &TenantTx,
    domain_id: &str,
    op: &str,
    result_code: Option<u16>,
    message: &str,
    actor: &str,
) -> Result<(), DbErr> {
    domain_op::ActiveModel {
        id: Set(new_id()),
        domain_id: Set(domain_id.to_owned()),
        op: Set(op.to_owned()),
        result_code: Set(result_code.map(i32::from)),
        message: Set(message.chars().take(2000).collect()),
        actor: Set(actor.to_owned()),
        at: Set(Utc::now()),
    }
    .insert(tx.conn())
    .await?;
    Ok(())
}

pub async fn by_name(tx: &TenantTx, name: &str) -> Result<Option<domain::Model>, DbErr> {
    domain::Entity::find()
        .filter(domain::Column::Name.eq(name))
        .one(tx.conn())
        .await
}

/// A customer's own domain, or none (other customers' domains are not found).
pub async fn for_customer(
    tx: &TenantTx,
    customer_id: &str,
    name: &str,
) -> Result<Option<domain::Model>, DbErr> {
    domain::Entity::find()
        .filter(domain::Column::Name.eq(name))
        .filter(domain::Column::CustomerId.eq(customer_id))
        .one(tx.conn())
        .await
}

pub async fn customer_domains(
    tx: &TenantTx,
    customer_id: &str,
) -> Result<Vec<domain::Model>, DbErr> {
    domain::Entity::find()
        .filter(domain::Column::CustomerId.eq(customer_id))
        .order_by_asc(domain::Column::Name)
        .all(tx.conn())
        .await
}

/// Staff list: search by name part, filter by status, soonest expiry first.
pub async fn search(
    tx: &TenantTx,
    q: &str,
    status: Option<&str>,
    expires_before: Option<DateTime<Utc>>,
    limit: u64,
) -> Result<(Vec<domain::Model>, u64), DbErr> {
    let mut cond = Condition::all();
    let q = q.trim().to_ascii_lowercase();
    if !q.is_empty() {
        cond = cond.add(domain::Column::Name.contains(&q));
    }
    if let Some(s) = status.filter(|s| STATES.contains(s)) {
        cond = cond.add(domain::Column::Status.eq(s));
    }
    if let Some(t) = expires_before {
        cond = cond.add(domain::Column::ExpiresAt.lte(t));
    }
    let query = domain::Entity::find().filter(cond);
    let total = query.clone().count(tx.conn()).await?;
    let rows = query
        .order_by_asc(domain::Column::ExpiresAt)
        .order_by_asc(domain::Column::Name)
        .limit(limit)
        .all(tx.conn())
        .await?;
    Ok((rows, total))
}

pub async fn ops(tx: &TenantTx, domain_id: &str) -> Result<Vec<domain_op::Model>, DbErr> {
    domain_op::Entity::find()
        .filter(domain_op::Column::DomainId.eq(domain_id))
        .order_by_desc(domain_op::Column::At)
        .all(tx.conn())
        .await
}

pub async fn records(tx: &TenantTx, domain_id: &str) -> Result<Vec<Record>, DbErr> {
    Ok(dns_record::Entity::find()
        .filter(dns_record::Column::DomainId.eq(domain_id))
        .order_by_asc(dns_record::Column::Name)
        .order_by_asc(dns_record::Column::Rtype)
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|r| Record {
            name: r.name,
            rtype: r.rtype,
            ttl: u32::try_from(r.ttl).unwrap_or(3600),
            priority: r.priority.and_then(|p| u16::try_from(p).ok()),
            content: r.content,
        })
        .collect())
}

/// Replaces the zone's records (already checked by [`crate::dns::check`]).
pub async fn set_records(tx: &TenantTx, domain_id: &str, records: &[Record]) -> Result<(), DbErr> {
    dns_record::Entity::delete_many()
        .filter(dns_record::Column::DomainId.eq(domain_id))
        .exec(tx.conn())
        .await?;
    for r in records {
        dns_record::ActiveModel {
            id: Set(new_id()),
            domain_id: Set(domain_id.to_owned()),
            name: Set(r.name.clone()),
            rtype: Set(r.rtype.clone()),
            content: Set(r.content.clone()),
            ttl: Set(i32::try_from(r.ttl).unwrap_or(3600)),
            priority: Set(r.priority.map(i32::from)),
        }
        .insert(tx.conn())
        .await?;
    }
    tx.touch(TOPIC);
    Ok(())
}

/// The records of a new zone: the tenant's template (settings) or the default
/// web and mail records. `@` as a record's content stands for the zone itself.
pub fn template(zone: &str, custom: Option<&str>, dns: &crate::config::DnsConfig) -> Vec<Record> {
    if let Some(list) = custom.and_then(|t| serde_json::from_str::<Vec<Record>>(t).ok()) {
        return list
            .into_iter()
            .map(|mut r| {
                if r.content == "@" {
                    r.content = zone.to_owned();
                }
                r
            })
            .collect();
    }
    let rec = |name: &str, rtype: &str, priority: Option<u16>, content: &str| Record {
        name: name.into(),
        rtype: rtype.into(),
        ttl: 3600,
        priority,
        content: content.into(),
    };
    let mut out = vec![
        rec("@", "A", None, &dns.web_ipv4),
        rec("www", "CNAME", None, zone),
        rec("@", "MX", Some(10), &dns.mail_host),
    ];
    if let Some(v6) = &dns.web_ipv6 {
        out.insert(1, rec("@", "AAAA", None, v6));
    }
    out
}

/// Writes the service entry of an order item once (unique per item): the first
/// period is paid with the order, so the next billing date is one period on.
#[allow(clippy::too_many_arguments)]
pub async fn ensure_service(
    tx: &TenantTx,
    item: &crate::orders::order_item::Model,
    customer_id: &str,
    currency: &str,
    kind: &str,
    label: &str,
    domain_id: Option<&str>,
) -> Result<service::Model, DbErr> {
    if let Some(s) = service::Entity::find()
        .filter(service::Column::OrderItemId.eq(&item.id))
        .one(tx.conn())
        .await?
    {
        return Ok(s);
    }
    let now = Utc::now();
    let months = u32::try_from(item.period_months.max(1)).unwrap_or(12);
    let model = service::ActiveModel {
        id: Set(new_id()),
        customer_id: Set(customer_id.to_owned()),
        product_id: Set(item.product_id.clone()),
        order_id: Set(Some(item.order_id.clone())),
        order_item_id: Set(Some(item.id.clone())),
        domain_id: Set(domain_id.map(str::to_owned)),
        kind: Set(kind.to_owned()),
        label: Set(label.to_owned()),
        period_months: Set(item.period_months.max(1)),
        price_source: Set("order".into()),
        net_minor: Set(item.net_minor),
        currency: Set(currency.to_owned()),
        quantity: Set(1),
        started_at: Set(now),
        next_billing_at: Set(now.checked_add_months(Months::new(months)).unwrap_or(now)),
        ends_at: Set(None),
        cancellation: Set("none".into()),
        status: Set("active".into()),
        created_at: Set(now),
        updated_at: Set(now),
        generation: Set(0),
    }
    .insert(tx.conn())
    .await?;
    tx.touch(TOPIC);
    Ok(model)
}

pub async fn customer_services(
    tx: &TenantTx,
    customer_id: &str,
) -> Result<Vec<service::Model>, DbErr> {
    service::Entity::find()
        .filter(service::Column::CustomerId.eq(customer_id))
        .order_by_asc(service::Column::NextBillingAt)
        .all(tx.conn())
        .await
}

/// How a registry operation ended, for people: `done` (1000-1999 but 1001),
/// `pending` (1001: accepted, the registry acts later), `refused` (2000+), or
/// none where no registry answered (the message says what happened).
pub fn outcome(code: Option<i32>) -> Option<&'static str> {
    match code? {
        1001 => Some("pending"),
        1000..=1999 => Some("done"),
        _ => Some("refused"),
    }
}

/// The operations the history names (`domain_op.<op>` in both languages).
pub const OPS: &[&str] = &[
    "create",
    "contact_create",
    "lock_on",
    "lock_off",
    "authcode",
    "nameservers",
    "host",
    "owner_change",
    "renew",
    "restore",
    "deleted",
    "lifecycle",
    "transfer_request",
    "transfer_query",
    "transfer_completed",
    "transferred_out",
    "zone",
    "records",
    "web_forwards",
    "mail_forwards",
    "parking",
];

/// One delegation entry as stored: a host name, or (own nameservers inside
/// the domain) a host with the glue addresses sent to the registry.
#[derive(serde::Deserialize, serde::Serialize)]
#[serde(untagged)]
enum StoredNameserver {
    Host(String),
    Glue { host: String, glue: Vec<String> },
}

fn stored(d: &domain::Model) -> Vec<StoredNameserver> {
    serde_json::from_str(&d.nameservers).unwrap_or_default()
}

/// The delegation as stored from (host, glue addresses) pairs.
pub fn stored_nameservers(list: &[(String, Vec<std::net::IpAddr>)]) -> String {
    let entries: Vec<StoredNameserver> = list
        .iter()
        .map(|(host, glue)| match glue.is_empty() {
            true => StoredNameserver::Host(host.clone()),
            false => StoredNameserver::Glue {
                host: host.clone(),
                glue: glue.iter().map(ToString::to_string).collect(),
            },
        })
        .collect();
    serde_json::to_string(&entries).unwrap_or_default()
}

/// The nameservers the domain is delegated to, in order.
pub fn nameservers_of(d: &domain::Model) -> Vec<String> {
    stored(d)
        .into_iter()
        .map(|s| match s {
            StoredNameserver::Host(h) | StoredNameserver::Glue { host: h, .. } => h,
        })
        .collect()
}

/// The glue addresses of each nameserver, in the same order (empty where the
/// host has none).
pub fn glue_of(d: &domain::Model) -> Vec<Vec<String>> {
    stored(d)
        .into_iter()
        .map(|s| match s {
            StoredNameserver::Host(_) => Vec::new(),
            StoredNameserver::Glue { glue, .. } => glue,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_follows_the_expiry() {
        let now = Utc::now();
        let days = chrono::Duration::days;
        let at = |d| lifecycle_state("active", Some(now + d), 30, 30, now);
        assert_eq!(at(days(200)), "active");
        assert_eq!(at(days(10)), "expiring");
        assert_eq!(at(days(-5)), "grace");
        assert_eq!(at(days(-45)), "redemption");
        assert_eq!(at(days(-90)), "deleted");
        assert_eq!(
            lifecycle_state("pending_transfer", None, 30, 30, now),
            "pending_transfer"
        );
        assert_eq!(
            lifecycle_state("transferred_out", Some(now), 30, 30, now),
            "transferred_out"
        );
    }
}
