//! The provisioning jobs an accepted order queues (`domain.register`,
//! `domain.sunrise`, `domain.preregister`, `domain.transfer`, `service.create`).
//! Every step is safe to repeat: a retried register that finds the name already
//! registered with our registrant takes it as done (the registry counts one
//! create), the zone is written whole, the service entry is unique per item, and
//! the item is finished once. Registry refusals fail the item cleanly (its
//! reservation released); registry or DNS outages are retried with backoff and
//! end as technical tickets (dead jobs) for staff.

use super::{domain, record_op};
use crate::AppState;
use crate::domains::registrar::{NewDomain, RegistrarError, RegistryContact};
use crate::jobs::Job;
use crate::jobs::runner::{Handler, JobError};
use crate::orders::{self, order_item};
use async_trait::async_trait;
use chrono::Utc;
use relabel_tenants::{Tenant, TenantTx};
use sea_orm::{ActiveModelTrait, DbErr, EntityTrait, Set};
use sha2::Digest;

/// Job kinds this handler runs.
pub const KINDS: &[&str] = &[
    "domain.register",
    "domain.sunrise",
    "domain.preregister",
    "domain.transfer",
    "service.create",
    "dns.update",
    "mail.forwards",
    "domains.lifecycle",
    RENEW,
    RESTORE,
    TERMINATE,
    ZONE_REMOVE,
];

/// Closes the panel account of an ended pool service (hosting, email, site
/// builder) and gives its place on the server back.
pub const TERMINATE: &str = "service.terminate";

/// Removes the zone of a domain that left us (deleted or transferred out).
pub const ZONE_REMOVE: &str = "dns.remove";

/// Queues closing the panel accounts of `services` that just ended, in the
/// caller's transaction (one job per service; repeated calls are no-ops).
pub async fn queue_terminations(
    tx: &TenantTx,
    services: &[super::service::Model],
) -> Result<(), DbErr> {
    for s in services
        .iter()
        .filter(|s| crate::hosting::POOL_KINDS.contains(&s.kind.as_str()))
    {
        crate::jobs::enqueue(
            tx,
            crate::jobs::NewJob {
                kind: TERMINATE,
                reference: &s.label,
                key: &format!("terminate:{}", s.id),
                payload: serde_json::json!({ "service_id": s.id }),
                run_after: None,
            },
        )
        .await?;
    }
    Ok(())
}

/// Restores a domain from redemption (RGP) for its order item (B12).
pub const RESTORE: &str = "domain.restore";

/// A billed domain renewal (queued by the billing run in the invoice's
/// transaction): renews at the registry once per billed period.
pub const RENEW: &str = "domain.renew";

/// Queues writing the domain's zone to the DNS server, in the caller's
/// transaction (the records are already saved there). One job per change; each
/// writes the zone as it is when it runs, so order does not matter.
pub async fn queue_zone_push(tx: &TenantTx, d: &domain::Model) -> Result<(), DbErr> {
    crate::jobs::enqueue(
        tx,
        crate::jobs::NewJob {
            kind: "dns.update",
            reference: &d.name,
            key: &format!("dns:{}:{}", d.id, uuid::Uuid::now_v7().simple()),
            payload: serde_json::json!({ "domain_id": d.id }),
            run_after: None,
        },
    )
    .await
}

const ACTOR: &str = "provisioning";

#[derive(serde::Deserialize)]
struct ItemJob {
    item_id: String,
    customer_id: String,
}

pub struct Provisioner {
    pub state: AppState,
}

fn db(e: DbErr) -> JobError {
    JobError::Retry(format!("database: {e}"))
}

/// Why the registry said no, for the item and the customer.
fn refusal(e: &RegistrarError) -> String {
    match e.code() {
        Some(2302) => "the name is already registered".into(),
        Some(2201 | 2202) => "the registry refused the authorization (AuthCode)".into(),
        Some(2304) => "the domain's status does not allow this (e.g. transfer lock)".into(),
        Some(2303) => "the registry does not know the domain".into(),
        _ => e.to_string(),
    }
}

impl Provisioner {
    /// Renews a domain whose renewal was billed. A retried renewal that finds the
    /// expiry already moved past the billed one takes it as done.
    async fn renew(&self, tenant: &Tenant, job: &Job) -> Result<(), JobError> {
        #[derive(serde::Deserialize)]
        struct Renew {
            domain_id: String,
            years: u32,
        }
        let p: Renew = serde_json::from_str(&job.payload)
            .map_err(|e| JobError::Fatal(format!("payload: {e}")))?;
        let tx = self.begin(tenant).await?;
        let d = domain::Entity::find_by_id(p.domain_id.clone())
            .one(tx.conn())
            .await
            .map_err(db)?
            .ok_or_else(|| JobError::Fatal(format!("domain {} not found", p.domain_id)))?;
        tx.commit().await.map_err(db)?;
        let Some(expiry) = d.expires_at else {
            return Err(JobError::Fatal(format!("{} has no expiry date", d.name)));
        };
        let registrar = self.state.registries.registrar().clone();
        let info = registrar
            .info(&d.name, None)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        let current = info.expires.unwrap_or(expiry);
        let new_expiry = if current > expiry {
            // Renewed before this attempt (the answer was lost): done.
            Some(current)
        } else {
            match registrar
                .renew(&d.name, current.date_naive(), p.years)
                .await
            {
                Ok(exp) => exp,
                Err(e) if e.is_transient() => return Err(JobError::Retry(e.to_string())),
                Err(e) => return Err(JobError::Fatal(refusal(&e))),
            }
        };
        let tx = self.begin(tenant).await?;
        let exp = new_expiry.unwrap_or(current);
        domain::ActiveModel {
            id: Set(d.id.clone()),
            expires_at: Set(Some(exp)),
            status: Set("active".into()),
            updated_at: Set(Utc::now()),
            ..Default::default()
        }
        .update(tx.conn())
        .await
        .map_err(db)?;
        record_op(
            &tx,
            &d.id,
            "renew",
            Some(1000),
            &format!("renewed until {}", exp.date_naive()),
            ACTOR,
        )
        .await
        .map_err(db)?;
        tx.touch(super::TOPIC);
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    /// Restores the item's domain at the registry; the domain is active again
    /// with the registry's expiry and its service billed from there on.
    async fn restore(&self, tenant: &Tenant, item: order_item::Model) -> Result<(), JobError> {
        let name = item
            .domain
            .as_deref()
            .map(|d| idna::domain_to_ascii(d).unwrap_or_default())
            .unwrap_or_default();
        let tx = self.begin(tenant).await?;
        let d = super::by_name(&tx, &name)
            .await
            .map_err(db)?
            .ok_or_else(|| JobError::Fatal(format!("domain {name} not found")))?;
        tx.commit().await.map_err(db)?;
        let registrar = self.state.registries.registrar().clone();
        let restored = match registrar.restore(&d.name).await {
            Ok(()) => Ok(()),
            // Restored before this attempt (its answer was lost): done.
            Err(e) if e.code() == Some(2304) => match registrar.info(&d.name, None).await {
                Ok(info) if !info.statuses.iter().any(|s| s == "pendingDelete") => Ok(()),
                _ => Err(e),
            },
            Err(e) => Err(e),
        };
        // The new expiry from the registry, asked before the transaction opens:
        // no registry call while a connection is held.
        let expiry = match &restored {
            Ok(()) => registrar
                .info(&d.name, None)
                .await
                .ok()
                .and_then(|i| i.expires)
                .or(d.expires_at),
            Err(_) => None,
        };
        let tx = self.begin(tenant).await?;
        match restored {
            Ok(()) => {
                domain::ActiveModel {
                    id: Set(d.id.clone()),
                    status: Set("active".into()),
                    expires_at: Set(expiry),
                    updated_at: Set(Utc::now()),
                    ..Default::default()
                }
                .update(tx.conn())
                .await
                .map_err(db)?;
                if let Some(exp) = expiry {
                    use sea_orm::{ColumnTrait, QueryFilter};
                    super::service::Entity::update_many()
                        .col_expr(
                            super::service::Column::NextBillingAt,
                            sea_orm::sea_query::Expr::val(exp),
                        )
                        .col_expr(
                            super::service::Column::Status,
                            sea_orm::sea_query::Expr::val("active"),
                        )
                        .filter(super::service::Column::DomainId.eq(&d.id))
                        .exec(tx.conn())
                        .await
                        .map_err(db)?;
                }
                record_op(
                    &tx,
                    &d.id,
                    "restore",
                    Some(1000),
                    "restored from redemption",
                    ACTOR,
                )
                .await
                .map_err(db)?;
                orders::item_finished(&tx, &item.id, Ok(()), ACTOR)
                    .await
                    .map_err(db)?;
            }
            Err(e) if e.is_transient() => return Err(JobError::Retry(e.to_string())),
            Err(e) => {
                let why = refusal(&e);
                orders::item_finished(&tx, &item.id, Err(&why), ACTOR)
                    .await
                    .map_err(db)?;
            }
        }
        tx.touch(super::TOPIC);
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn begin(&self, tenant: &Tenant) -> Result<TenantTx, JobError> {
        self.state
            .tenancy
            .begin(tenant)
            .await
            .map_err(|e| JobError::Retry(format!("database: {e}")))
    }

    /// Our registry contact for the item's holder: the chosen contact or the
    /// customer. Its id is derived from tenant and holder, so retries reuse it.
    async fn holder(
        &self,
        tx: &TenantTx,
        tenant: &Tenant,
        item: &order_item::Model,
        customer_id: &str,
    ) -> Result<RegistryContact, JobError> {
        let key = format!(
            "{}:{}",
            tenant.id,
            item.contact_id.as_deref().unwrap_or(customer_id)
        );
        let id = format!(
            "rl{}",
            &hex::encode(sha2::Sha256::digest(key.as_bytes()))[..14]
        );
        if let Some(cid) = &item.contact_id
            && let Some(c) = crate::contacts::get_for(tx, customer_id, cid)
                .await
                .map_err(db)?
        {
            return Ok(RegistryContact {
                id,
                name: format!("{} {}", c.first_name, c.last_name),
                organization: c.organization,
                street: c.street,
                city: c.city,
                postal_code: c.postal_code,
                country: c.country,
                email: c.email,
                phone: c.phone,
            });
        }
        let c = crate::customers::get(tx, customer_id)
            .await
            .map_err(|e| JobError::Fatal(format!("customer {customer_id}: {e}")))?;
        Ok(RegistryContact {
            id,
            name: format!("{} {}", c.first_name, c.last_name),
            organization: c.company,
            street: c.street,
            city: c.city,
            postal_code: c.postal_code,
            country: c.country,
            email: c.email,
            phone: c.phone,
        })
    }

    /// The domain row of this item, created pending on the first attempt.
    async fn domain_row(
        &self,
        tx: &TenantTx,
        item: &order_item::Model,
        customer_id: &str,
        name: &str,
        status: &str,
    ) -> Result<domain::Model, JobError> {
        if let Some(d) = super::by_name(tx, name).await.map_err(db)? {
            if d.customer_id != customer_id {
                return Err(JobError::Fatal(format!(
                    "{name} belongs to another customer of this reseller"
                )));
            }
            return Ok(d);
        }
        let now = Utc::now();
        domain::ActiveModel {
            id: Set(uuid::Uuid::now_v7().simple().to_string()),
            customer_id: Set(customer_id.to_owned()),
            order_id: Set(Some(item.order_id.clone())),
            name: Set(name.to_owned()),
            status: Set(status.to_owned()),
            registry_contact: Set(None),
            expires_at: Set(None),
            auth_code: Set(None),
            auth_code_at: Set(None),
            transfer_lock: Set(false),
            nameservers: Set("[]".into()),
            own_nameservers: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
            parking_provider: Set(None),
        }
        .insert(tx.conn())
        .await
        .map_err(db)
    }

    /// Writes one registry operation in its own transaction (kept even when the
    /// job fails afterwards).
    async fn log(
        &self,
        tenant: &Tenant,
        domain_id: &str,
        op: &str,
        r: &Result<(), &RegistrarError>,
    ) -> Result<(), JobError> {
        let (code, msg) = match r {
            Ok(()) => (Some(1000), "ok".to_owned()),
            Err(e) => (e.code(), e.to_string()),
        };
        let tx = self.begin(tenant).await?;
        record_op(&tx, domain_id, op, code, &msg, ACTOR)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    /// Fails the item for good (refused by the registry), releasing its credit.
    async fn fail_item(
        &self,
        tenant: &Tenant,
        item: &order_item::Model,
        domain_id: Option<&str>,
        reason: &str,
    ) -> Result<(), JobError> {
        let tx = self.begin(tenant).await?;
        if let Some(id) = domain_id {
            domain::ActiveModel {
                id: Set(id.to_owned()),
                status: Set("failed".into()),
                updated_at: Set(Utc::now()),
                ..Default::default()
            }
            .update(tx.conn())
            .await
            .map_err(db)?;
        }
        let completed = orders::item_finished(&tx, &item.id, Err(reason), ACTOR)
            .await
            .map_err(db)?;
        self.completion_mail(&tx, tenant, completed).await?;
        tx.commit().await.map_err(db)?;
        self.state.mailer.kick(&self.state.tenancy, tenant);
        Ok(())
    }

    async fn completion_mail(
        &self,
        tx: &TenantTx,
        tenant: &Tenant,
        completed: Option<orders::order::Model>,
    ) -> Result<(), JobError> {
        let Some(order) = completed else {
            return Ok(());
        };
        let customer = crate::customers::get(tx, &order.customer_id)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        let items = orders::items(tx, &order.id).await.map_err(db)?;
        let failed: Vec<String> = items
            .iter()
            .filter(|i| i.status == "failed")
            .map(|i| {
                format!(
                    "{}: {}",
                    i.domain.as_deref().unwrap_or(&i.product_id),
                    i.error.as_deref().unwrap_or_default()
                )
            })
            .collect();
        let note = (!failed.is_empty()).then(|| failed.join("\n"));
        crate::http::store::shop::status_mail(
            &self.state,
            tx,
            tenant,
            &customer,
            &order,
            &crate::orders::Outcome::Accepted {
                number: order.number.clone().unwrap_or_default(),
            },
            note.as_deref(),
        )
        .await
        .map_err(|e| JobError::Retry(format!("status mail: {e}")))
    }

    /// Zone from the template, service entry, domain active, item done: one
    /// transaction after the registry said yes.
    async fn activate(
        &self,
        tenant: &Tenant,
        item: &order_item::Model,
        customer_id: &str,
        d: &domain::Model,
        expires: Option<chrono::DateTime<Utc>>,
        contact: &str,
    ) -> Result<(), JobError> {
        // Read what the zone needs, let the connection go, write the zone to
        // the DNS server, then record it: no DNS call while a connection is held.
        let tx = self.begin(tenant).await?;
        let settings = crate::customers::settings(&tx).await.map_err(db)?;
        let mut records = super::records(&tx, &d.id).await.map_err(db)?;
        drop(tx);
        if records.is_empty() {
            records = super::template(
                &d.name,
                settings.dns_template.as_deref(),
                &self.state.config.dns,
            );
        }
        let head = self.state.zone_head();
        self.state
            .dns
            .put_zone(&d.name, &head, &records)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        // The registry holds the transfer lock and the console shows what it
        // holds: set at registration (clientTransferProhibited); when the
        // registry refuses, its own status says whether the lock is on.
        let registrar = self.state.registries.registrar().clone();
        let lock = registrar.set_transfer_lock(&d.name, true).await;
        let locked = match &lock {
            Ok(()) => true,
            Err(_) => registrar
                .info(&d.name, None)
                .await
                .is_ok_and(|i| i.statuses.iter().any(|s| s == "clientTransferProhibited")),
        };
        self.log(tenant, &d.id, "lock_on", &lock.as_ref().map(|_| ()))
            .await?;
        let tx = self.begin(tenant).await?;
        super::set_records(&tx, &d.id, &records).await.map_err(db)?;
        domain::ActiveModel {
            id: Set(d.id.clone()),
            status: Set("active".into()),
            expires_at: Set(expires.or(d.expires_at)),
            registry_contact: Set(Some(contact.to_owned())),
            nameservers: Set(super::stored_nameservers(
                &head
                    .nameservers
                    .iter()
                    .map(|h| (h.clone(), Vec::new()))
                    .collect::<Vec<_>>(),
            )),
            transfer_lock: Set(locked),
            updated_at: Set(Utc::now()),
            ..Default::default()
        }
        .update(tx.conn())
        .await
        .map_err(db)?;
        record_op(
            &tx,
            &d.id,
            "zone",
            None,
            "zone created from the template",
            ACTOR,
        )
        .await
        .map_err(db)?;
        let currency = self.order_currency(&tx, item).await?;
        super::ensure_service(
            &tx,
            item,
            customer_id,
            &currency,
            "domain",
            &d.name,
            Some(&d.id),
        )
        .await
        .map_err(db)?;
        let completed = orders::item_finished(&tx, &item.id, Ok(()), ACTOR)
            .await
            .map_err(db)?;
        self.completion_mail(&tx, tenant, completed).await?;
        tx.commit().await.map_err(db)?;
        self.state.registries.forget(tenant.id.as_str(), &d.name);
        self.state.mailer.kick(&self.state.tenancy, tenant);
        Ok(())
    }

    async fn order_currency(
        &self,
        tx: &TenantTx,
        item: &order_item::Model,
    ) -> Result<String, JobError> {
        Ok(orders::order::Entity::find_by_id(item.order_id.clone())
            .one(tx.conn())
            .await
            .map_err(db)?
            .map(|o| o.currency)
            .unwrap_or_else(|| "EUR".into()))
    }

    async fn register(
        &self,
        tenant: &Tenant,
        item: order_item::Model,
        customer_id: &str,
    ) -> Result<(), JobError> {
        let name = item
            .domain
            .clone()
            .ok_or_else(|| JobError::Fatal("item without a domain".into()))?;
        let tx = self.begin(tenant).await?;
        let d = self
            .domain_row(&tx, &item, customer_id, &name, "pending")
            .await?;
        let contact = self.holder(&tx, tenant, &item, customer_id).await?;
        tx.commit().await.map_err(db)?;
        let registrar = self.state.registries.registrar().clone();

        let r = registrar.create_contact(&contact).await;
        if let Err(e) = &r {
            self.log(tenant, &d.id, "contact_create", &Err(e)).await?;
            return match e.is_transient() {
                true => Err(JobError::Retry(e.to_string())),
                false => {
                    self.fail_item(tenant, &item, Some(&d.id), &refusal(e))
                        .await
                }
            };
        }
        let ns = self.state.config.dns.nameservers.clone();
        let auth = random_auth_code();
        let years = u32::try_from(item.period_months / 12).unwrap_or(1).max(1);
        let created = registrar
            .create(&NewDomain {
                name: &name,
                years,
                registrant: &contact.id,
                nameservers: &ns,
                auth_code: &auth,
            })
            .await;
        let expires = match created {
            Ok(exp) => {
                self.log(tenant, &d.id, "create", &Ok(())).await?;
                exp
            }
            Err(e) if e.code() == Some(2302) => {
                // A retry after a lost answer: ours if the registrant is our contact.
                match registrar.info(&name, None).await {
                    Ok(info) if info.registrant.as_deref() == Some(contact.id.as_str()) => {
                        self.log(tenant, &d.id, "create", &Ok(())).await?;
                        info.expires
                    }
                    Ok(_) => {
                        self.log(tenant, &d.id, "create", &Err(&e)).await?;
                        return self
                            .fail_item(tenant, &item, Some(&d.id), &refusal(&e))
                            .await;
                    }
                    Err(ie) => return Err(JobError::Retry(ie.to_string())),
                }
            }
            Err(e) => {
                self.log(tenant, &d.id, "create", &Err(&e)).await?;
                return match e.is_transient() {
                    true => Err(JobError::Retry(e.to_string())),
                    false => {
                        self.fail_item(tenant, &item, Some(&d.id), &refusal(&e))
                            .await
                    }
                };
            }
        };
        self.activate(tenant, &item, customer_id, &d, expires, &contact.id)
            .await
    }

    async fn transfer(
        &self,
        tenant: &Tenant,
        item: order_item::Model,
        customer_id: &str,
    ) -> Result<(), JobError> {
        let name = item
            .domain
            .clone()
            .ok_or_else(|| JobError::Fatal("item without a domain".into()))?;
        let tx = self.begin(tenant).await?;
        let d = self
            .domain_row(&tx, &item, customer_id, &name, "pending_transfer")
            .await?;
        let requested = super::ops(&tx, &d.id)
            .await
            .map_err(db)?
            .iter()
            .any(|o| o.op == "transfer_request" && o.result_code.is_some_and(|c| c < 2000));
        let contact = self.holder(&tx, tenant, &item, customer_id).await?;
        tx.commit().await.map_err(db)?;
        let registrar = self.state.registries.registrar().clone();
        if !requested {
            let years = u32::try_from(item.period_months / 12).unwrap_or(1).max(1);
            let auth = item.auth_code.clone().unwrap_or_default();
            match registrar.transfer_request(&name, &auth, years).await {
                Ok(_) => self.log(tenant, &d.id, "transfer_request", &Ok(())).await?,
                Err(e) if e.code() == Some(2106) => {
                    // Already ours: a retry after the request went through.
                }
                Err(e) => {
                    self.log(tenant, &d.id, "transfer_request", &Err(&e))
                        .await?;
                    return match e.is_transient() {
                        true => Err(JobError::Retry(e.to_string())),
                        false => {
                            self.fail_item(tenant, &item, Some(&d.id), &refusal(&e))
                                .await
                        }
                    };
                }
            }
        }
        let t = match registrar.transfer_query(&name).await {
            Ok(t) => t,
            Err(e) if e.is_transient() => return Err(JobError::Retry(e.to_string())),
            Err(e) => {
                self.log(tenant, &d.id, "transfer_query", &Err(&e)).await?;
                return self
                    .fail_item(tenant, &item, Some(&d.id), &refusal(&e))
                    .await;
            }
        };
        match t.status.as_str() {
            "pending" => Err(JobError::Wait(
                chrono::Duration::seconds(self.state.config.jobs.transfer_poll_secs),
                format!(
                    "transfer pending, the losing registrar may act until {}",
                    t.act_by
                ),
            )),
            "clientApproved" | "serverApproved" => {
                self.log(tenant, &d.id, "transfer_completed", &Ok(()))
                    .await?;
                // Our own contact becomes the holder's record at the registry.
                if registrar.create_contact(&contact).await.is_ok() {
                    let r = registrar.update_registrant(&name, &contact.id).await;
                    self.log(tenant, &d.id, "owner_change", &r.as_ref().map(|_| ()))
                        .await?;
                }
                let ns = self.state.config.dns.nameservers.clone();
                let r = registrar.set_nameservers(&name, &ns).await;
                self.log(tenant, &d.id, "nameservers", &r.as_ref().map(|_| ()))
                    .await?;
                self.activate(tenant, &item, customer_id, &d, t.expires, &contact.id)
                    .await
            }
            other => {
                let e = format!("transfer {other} by the losing registrar");
                let tx = self.begin(tenant).await?;
                record_op(&tx, &d.id, "transfer_query", None, &e, ACTOR)
                    .await
                    .map_err(db)?;
                tx.commit().await.map_err(db)?;
                self.fail_item(tenant, &item, Some(&d.id), &e).await
            }
        }
    }

    async fn service(
        &self,
        tenant: &Tenant,
        item: order_item::Model,
        customer_id: &str,
    ) -> Result<(), JobError> {
        let tx = self.begin(tenant).await?;
        let product = crate::catalog::entity::product::Entity::find_by_id(item.product_id.clone())
            .one(tx.conn())
            .await
            .map_err(db)?
            .ok_or_else(|| JobError::Fatal(format!("unknown product {}", item.product_id)))?;
        let currency = self.order_currency(&tx, &item).await?;
        let svc = super::ensure_service(
            &tx,
            &item,
            customer_id,
            &currency,
            &product.kind,
            &product.name,
            None,
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        if crate::hosting::POOL_KINDS.contains(&product.kind.as_str())
            && let Err(reason) = self.pool_account(tenant, &svc, &product.id).await?
        {
            let tx = self.begin(tenant).await?;
            super::service::ActiveModel {
                id: Set(svc.id.clone()),
                status: Set("terminated".into()),
                ends_at: Set(Some(Utc::now())),
                ..Default::default()
            }
            .update(tx.conn())
            .await
            .map_err(db)?;
            tx.commit().await.map_err(db)?;
            return self.fail_item(tenant, &item, None, &reason).await;
        }
        let tx = self.begin(tenant).await?;
        let completed = orders::item_finished(&tx, &item.id, Ok(()), ACTOR)
            .await
            .map_err(db)?;
        self.completion_mail(&tx, tenant, completed).await?;
        tx.commit().await.map_err(db)?;
        self.state.mailer.kick(&self.state.tenancy, tenant);
        Ok(())
    }

    /// The service's account on a pool server (V7): a place reserved on a random
    /// server with room, the account row written before the panel is called (so a
    /// retry reuses server, user name and password), then the panel's create; an
    /// account the panel already has is ours from an earlier attempt. `Ok(Err)` is
    /// a refusal that fails the item.
    async fn pool_account(
        &self,
        tenant: &Tenant,
        svc: &super::service::Model,
        product_id: &str,
    ) -> Result<Result<(), String>, JobError> {
        use crate::hosting::{self, panel::NewAccount, panel::PanelError};
        let shared = self.state.tenancy.backend().shared();
        let tx = self.begin(tenant).await?;
        let existing = hosting::account_of_service(&tx, &svc.id)
            .await
            .map_err(db)?;
        let account = match existing {
            Some(a) if a.status != "creating" => return Ok(Ok(())),
            Some(a) => a,
            None => {
                let Some(server) = hosting::reserve(shared, product_id).await.map_err(db)? else {
                    return Err(JobError::Retry(format!(
                        "no server with free capacity in the pool of {product_id}"
                    )));
                };
                let now = Utc::now();
                let inserted = hosting::account::ActiveModel {
                    id: Set(uuid::Uuid::now_v7().simple().to_string()),
                    service_id: Set(svc.id.clone()),
                    customer_id: Set(svc.customer_id.clone()),
                    server_id: Set(server.id.clone()),
                    username: Set(hosting::username_for(&svc.id)),
                    plan: Set(product_id.to_owned()),
                    status: Set("creating".into()),
                    pending_password: Set(Some(hosting::new_password())),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(tx.conn())
                .await;
                match inserted {
                    Ok(a) => a,
                    Err(e) => {
                        hosting::release(shared, &server.id).await.map_err(db)?;
                        return Err(db(e));
                    }
                }
            }
        };
        tx.commit().await.map_err(db)?;
        let server = hosting::server_by_id(shared, &account.server_id)
            .await
            .map_err(db)?
            .ok_or_else(|| JobError::Fatal(format!("server {} is gone", account.server_id)))?;
        let password = account.pending_password.clone().unwrap_or_default();
        let created = self
            .state
            .panel
            .create(
                &server,
                &NewAccount {
                    username: &account.username,
                    password: &password,
                    plan: &account.plan,
                    domain: None,
                },
            )
            .await;
        match created {
            Ok(()) | Err(PanelError::Exists) => {
                let tx = self.begin(tenant).await?;
                hosting::set_status(&tx, &account.id, "active")
                    .await
                    .map_err(db)?;
                tx.commit().await.map_err(db)?;
                Ok(Ok(()))
            }
            Err(PanelError::Unavailable(e)) => Err(JobError::Retry(e)),
            Err(e) => {
                let tx = self.begin(tenant).await?;
                hosting::set_status(&tx, &account.id, "terminated")
                    .await
                    .map_err(db)?;
                tx.commit().await.map_err(db)?;
                hosting::release(shared, &server.id).await.map_err(db)?;
                Ok(Err(format!("the hosting panel refused the account: {e}")))
            }
        }
    }
}

impl Provisioner {
    /// The hourly sweep (B12 without billing): every domain's state follows its
    /// expiry (expiring, grace, redemption, deleted); a domain whose AuthCode was
    /// handed out and that another registrar now sponsors is `transferred_out`,
    /// its service ended.
    async fn lifecycle(&self, tenant: &Tenant) -> Result<(), JobError> {
        use sea_orm::{ColumnTrait, QueryFilter};
        let now = Utc::now();
        let tx = self.begin(tenant).await?;
        let domains = domain::Entity::find()
            .filter(domain::Column::Status.is_in(["active", "expiring", "grace", "redemption"]))
            .all(tx.conn())
            .await
            .map_err(db)?;
        let tlds = orders::tld_rules(&tx).await.map_err(db)?;
        drop(tx);
        let registrar = self.state.registries.registrar().clone();
        for d in domains {
            let tld = d.name.rsplit('.').next().unwrap_or_default();
            let redemption = tlds
                .get(tld)
                .map(|t| i64::from(t.restore_grace_days))
                .unwrap_or(30);
            let mut next = super::lifecycle_state(&d.status, d.expires_at, 30, redemption, now);
            let mut note = format!("{} -> {next}", d.status);
            if d.auth_code_at.is_some() && next != "deleted" {
                match registrar.info(&d.name, None).await {
                    Ok(info) if info.sponsor != registrar.client_id() => {
                        next = "transferred_out";
                        note = format!("now sponsored by {}", info.sponsor);
                    }
                    Ok(_) => {}
                    Err(e) if e.is_transient() => return Err(JobError::Retry(e.to_string())),
                    Err(_) => {}
                }
            }
            if next == d.status {
                continue;
            }
            let tx = self.begin(tenant).await?;
            domain::ActiveModel {
                id: Set(d.id.clone()),
                status: Set(next.to_owned()),
                updated_at: Set(now),
                ..Default::default()
            }
            .update(tx.conn())
            .await
            .map_err(db)?;
            record_op(&tx, &d.id, "lifecycle", None, &note, ACTOR)
                .await
                .map_err(db)?;
            if matches!(next, "transferred_out" | "deleted") {
                let ending = super::service::Entity::find()
                    .filter(super::service::Column::DomainId.eq(&d.id))
                    .filter(super::service::Column::Status.ne("terminated"))
                    .all(tx.conn())
                    .await
                    .map_err(db)?;
                queue_terminations(&tx, &ending).await.map_err(db)?;
                // Our nameservers no longer answer for it.
                crate::jobs::enqueue(
                    &tx,
                    crate::jobs::NewJob {
                        kind: ZONE_REMOVE,
                        reference: &d.name,
                        key: &format!("dns-remove:{}", d.id),
                        payload: serde_json::json!({ "domain_id": d.id }),
                        run_after: None,
                    },
                )
                .await
                .map_err(db)?;
                super::service::Entity::update_many()
                    .col_expr(
                        super::service::Column::Status,
                        sea_orm::sea_query::Expr::val("terminated"),
                    )
                    .col_expr(
                        super::service::Column::EndsAt,
                        sea_orm::sea_query::Expr::val(Some(now)),
                    )
                    .filter(super::service::Column::DomainId.eq(&d.id))
                    .filter(super::service::Column::Status.ne("terminated"))
                    .exec(tx.conn())
                    .await
                    .map_err(db)?;
            }
            tx.touch(super::TOPIC);
            tx.commit().await.map_err(db)?;
        }
        Ok(())
    }

    /// The domain a `{"domain_id"}` job is about, with the open transaction.
    async fn domain_of_job(
        &self,
        tenant: &Tenant,
        job: &Job,
    ) -> Result<(TenantTx, domain::Model), JobError> {
        #[derive(serde::Deserialize)]
        struct P {
            domain_id: String,
        }
        let p: P = serde_json::from_str(&job.payload)
            .map_err(|e| JobError::Fatal(format!("payload: {e}")))?;
        let tx = self.begin(tenant).await?;
        match domain::Entity::find_by_id(p.domain_id.clone())
            .one(tx.conn())
            .await
            .map_err(db)?
        {
            Some(d) => Ok((tx, d)),
            None => Err(JobError::Fatal(format!("domain {} not found", p.domain_id))),
        }
    }

    async fn push_mail_forwards(&self, tenant: &Tenant, job: &Job) -> Result<(), JobError> {
        let (tx, d) = self.domain_of_job(tenant, job).await?;
        let list: Vec<crate::forwarding::MailForward> =
            crate::forwarding::mail_forwards(&tx, &d.id)
                .await
                .map_err(db)?
                .into_iter()
                .map(|m| crate::forwarding::MailForward {
                    local_part: m.local_part,
                    target: m.target,
                })
                .collect();
        drop(tx);
        self.state
            .mail_forwarding
            .set_domain(&d.name, &list)
            .await
            .map_err(JobError::Retry)
    }

    async fn push_zone(&self, tenant: &Tenant, job: &Job) -> Result<(), JobError> {
        let (tx, d) = self.domain_of_job(tenant, job).await?;
        let records = super::records(&tx, &d.id).await.map_err(db)?;
        drop(tx);
        self.state
            .dns
            .put_zone(&d.name, &self.state.zone_head(), &records)
            .await
            .map_err(dns_error)
    }

    /// The `service.terminate` job: the panel deletes the account (one it no
    /// longer knows counts as deleted), then the account is marked terminated
    /// and its place released, once.
    async fn terminate(&self, tenant: &Tenant, job: &Job) -> Result<(), JobError> {
        use crate::hosting::{self, panel::PanelError};
        use sea_orm::{ColumnTrait, QueryFilter};
        #[derive(serde::Deserialize)]
        struct P {
            service_id: String,
        }
        let p: P = serde_json::from_str(&job.payload)
            .map_err(|e| JobError::Fatal(format!("payload: {e}")))?;
        let tx = self.begin(tenant).await?;
        let account = hosting::account_of_service(&tx, &p.service_id)
            .await
            .map_err(db)?;
        drop(tx);
        let Some(account) = account.filter(|a| a.status != "terminated") else {
            return Ok(());
        };
        let shared = self.state.tenancy.backend().shared();
        let server = hosting::server_by_id(shared, &account.server_id)
            .await
            .map_err(db)?
            .ok_or_else(|| JobError::Fatal(format!("server {} is gone", account.server_id)))?;
        match self.state.panel.terminate(&server, &account.username).await {
            Ok(()) | Err(PanelError::NotFound) => {}
            Err(PanelError::Unavailable(e)) => return Err(JobError::Retry(e)),
            Err(e) => {
                return Err(JobError::Fatal(format!(
                    "the hosting panel refused to terminate {}: {e}",
                    account.username
                )));
            }
        }
        let tx = self.begin(tenant).await?;
        let marked = hosting::account::Entity::update_many()
            .col_expr(
                hosting::account::Column::Status,
                sea_orm::sea_query::Expr::val("terminated"),
            )
            .col_expr(
                hosting::account::Column::UpdatedAt,
                sea_orm::sea_query::Expr::val(Utc::now()),
            )
            .filter(hosting::account::Column::Id.eq(&account.id))
            .filter(hosting::account::Column::Status.ne("terminated"))
            .exec(tx.conn())
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        // A crash between the two leaks a place rather than freeing one twice.
        if marked.rows_affected == 1 {
            hosting::release(shared, &server.id).await.map_err(db)?;
        }
        Ok(())
    }
}

fn dns_error(e: crate::dns::provider::DnsError) -> JobError {
    match e {
        crate::dns::provider::DnsError::Unavailable(m) => JobError::Retry(m),
        crate::dns::provider::DnsError::Refused(m) => JobError::Fatal(m),
    }
}

/// Our registry contact id for a holder key (`tenant:contact-or-customer`):
/// stable, so a retried job or a repeated owner change reuses the object.
pub fn registry_contact_id(key: &str) -> String {
    format!(
        "rl{}",
        &hex::encode(sha2::Sha256::digest(key.as_bytes()))[..14]
    )
}

/// A registry AuthCode: 16 characters with letters, digits and a sign.
pub fn random_auth_code() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let body: String = (0..13)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect();
    format!(
        "{body}-{}{}",
        rng.random_range(2..10),
        rng.random_range(2..10)
    )
}

#[async_trait]
impl Handler for Provisioner {
    async fn run(&self, tenant: &Tenant, job: &Job) -> Result<(), JobError> {
        if job.kind == "dns.update" {
            return self.push_zone(tenant, job).await;
        }
        if job.kind == "mail.forwards" {
            return self.push_mail_forwards(tenant, job).await;
        }
        if job.kind == "domains.lifecycle" {
            return self.lifecycle(tenant).await;
        }
        if job.kind == RENEW {
            return self.renew(tenant, job).await;
        }
        if job.kind == TERMINATE {
            return self.terminate(tenant, job).await;
        }
        if job.kind == ZONE_REMOVE {
            let (tx, d) = self.domain_of_job(tenant, job).await?;
            drop(tx);
            return self.state.dns.delete_zone(&d.name).await.map_err(dns_error);
        }
        let p: ItemJob = serde_json::from_str(&job.payload)
            .map_err(|e| JobError::Fatal(format!("payload: {e}")))?;
        let tx = self.begin(tenant).await?;
        let item = order_item::Entity::find_by_id(p.item_id.clone())
            .one(tx.conn())
            .await
            .map_err(db)?
            .ok_or_else(|| JobError::Fatal(format!("order item {} not found", p.item_id)))?;
        tx.commit().await.map_err(db)?;
        if item.status != "pending" {
            return Ok(());
        }
        match job.kind.as_str() {
            "domain.register" | "domain.sunrise" | "domain.preregister" => {
                self.register(tenant, item, &p.customer_id).await
            }
            "domain.transfer" => self.transfer(tenant, item, &p.customer_id).await,
            RESTORE => self.restore(tenant, item).await,
            "service.create" => self.service(tenant, item, &p.customer_id).await,
            other => Err(JobError::Fatal(format!("unknown job kind {other}"))),
        }
    }
}
