//! Domains, services and provisioning jobs in the REST API (issue 7), scoped to
//! the API key's reseller: list and read domains, DNS records, nameservers (ours
//! or own with glue), AuthCode with transfer release, transfer lock, owner
//! change; service entries; jobs with re-run and cancel (technical tickets).

use super::customers::{actor_name, raw_id};
use super::tenant::authorize;
use super::{ApiError, ApiKeyAuth};
use crate::app::AppState;
use crate::dns::Record;
use crate::http::CurrentTenant;
use crate::provisioning::ops::{self, OpError};
use crate::provisioning::{self, domain, service};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

#[derive(Tags)]
enum Tag {
    /// Domains, DNS, services and provisioning jobs.
    Domains,
}

pub struct DomainsApi;

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DomainOut {
    /// ASCII (punycode) name; also the id in paths.
    pub name: String,
    /// Unicode name.
    pub display: String,
    /// `pending`, `pending_transfer`, `active`, `expiring`, `grace`, `redemption`,
    /// `deleted`, `transferred_out` or `failed`.
    pub status: String,
    pub customer_id: String,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub transfer_lock: bool,
    pub own_nameservers: bool,
    pub nameservers: Vec<String>,
}

fn domain_out(d: &domain::Model) -> DomainOut {
    DomainOut {
        name: d.name.clone(),
        display: idna::domain_to_unicode(&d.name).0,
        status: d.status.clone(),
        customer_id: format!("cus_{}", d.customer_id),
        expires_at: d.expires_at,
        transfer_lock: d.transfer_lock,
        own_nameservers: d.own_nameservers,
        nameservers: provisioning::nameservers_of(d),
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RecordIo {
    /// Relative to the zone: `@`, `www`, `_sip._tcp`.
    pub name: String,
    /// A, AAAA, CNAME, MX, TXT, SRV or CAA.
    #[oai(rename = "type")]
    pub rtype: String,
    /// 60 to 86400 seconds.
    #[oai(default = "default_ttl")]
    pub ttl: u32,
    /// MX and SRV.
    pub priority: Option<u16>,
    pub content: String,
}

fn default_ttl() -> u32 {
    3600
}

impl From<Record> for RecordIo {
    fn from(r: Record) -> Self {
        Self {
            name: r.name,
            rtype: r.rtype,
            ttl: r.ttl,
            priority: r.priority,
            content: r.content,
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NameserverIn {
    pub host: String,
    /// Glue addresses, required exactly for hosts inside the domain.
    #[oai(default)]
    pub addresses: Vec<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NameserversIn {
    /// Own nameservers (2 to 6); empty = back to the reseller's nameservers.
    #[oai(default)]
    pub nameservers: Vec<NameserverIn>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LockIn {
    pub locked: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AuthCodeOut {
    /// Give it to the gaining provider; the transfer lock is off now.
    pub auth_code: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OwnerIn {
    /// One of the domain customer's contacts.
    pub contact_id: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OwnerOut {
    /// The registrant contact at the registry.
    pub registry_contact: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ServiceOut {
    pub id: String,
    pub customer_id: String,
    pub product_id: String,
    /// `domain`, `hosting`, `email`, ...
    pub kind: String,
    pub label: String,
    pub domain: Option<String>,
    pub period_months: i32,
    /// Net price per period in minor units, and where it came from.
    pub net_minor: i64,
    pub currency: String,
    pub price_source: String,
    pub quantity: i32,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub next_billing_at: chrono::DateTime<chrono::Utc>,
    pub ends_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `none`, `requested` or `cancelled`.
    pub cancellation: String,
    /// `active`, `suspended` or `terminated`.
    pub status: String,
}

fn service_out(s: service::Model, domains: &[domain::Model]) -> ServiceOut {
    ServiceOut {
        domain: s
            .domain_id
            .as_ref()
            .and_then(|id| domains.iter().find(|d| &d.id == id))
            .map(|d| d.name.clone()),
        id: format!("svc_{}", s.id),
        customer_id: format!("cus_{}", s.customer_id),
        product_id: s.product_id,
        kind: s.kind,
        label: s.label,
        period_months: s.period_months,
        net_minor: s.net_minor,
        currency: s.currency,
        price_source: s.price_source,
        quantity: s.quantity,
        started_at: s.started_at,
        next_billing_at: s.next_billing_at,
        ends_at: s.ends_at,
        cancellation: s.cancellation,
        status: s.status,
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct JobOut {
    pub id: String,
    /// `domain.register`, `domain.transfer`, `service.create`, `dns.update`, ...
    pub kind: String,
    pub reference: String,
    /// `queued`, `running`, `done`, `dead` (a technical ticket) or `cancelled`.
    pub status: String,
    pub attempts: i32,
    pub run_after: chrono::DateTime<chrono::Utc>,
    /// The peer's last answer.
    pub last_error: Option<String>,
}

impl From<crate::jobs::Job> for JobOut {
    fn from(j: crate::jobs::Job) -> Self {
        Self {
            id: j.id,
            kind: j.kind,
            reference: j.reference,
            status: j.status,
            attempts: j.attempts,
            run_after: j.run_after,
            last_error: j.last_error,
        }
    }
}

fn op_error(e: OpError) -> ApiError {
    match e {
        OpError::Invalid(errors) => ApiError::invalid(&errors),
        OpError::State => ApiError::conflict(
            "domain_state",
            "Not possible in the domain's current state.",
        ),
        OpError::Registry(e) if e.is_transient() => ApiError::conflict(
            "registry_unavailable",
            format!("The registry could not be reached; nothing was changed. ({e})"),
        ),
        OpError::Registry(e) => ApiError::conflict(
            "registry_refused",
            format!("The registry refused the change; nothing was changed. ({e})"),
        ),
        e @ (OpError::Db(_) | OpError::Tenancy(_)) => ApiError::internal(e),
    }
}

async fn find(
    state: &AppState,
    tenant: &CurrentTenant,
    name: &str,
) -> Result<domain::Model, ApiError> {
    let tx = state
        .tenancy
        .begin(tenant)
        .await
        .map_err(ApiError::internal)?;
    provisioning::by_name(&tx, &name.trim().to_ascii_lowercase())
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("Domain"))
}

#[OpenApi(tag = "Tag::Domains")]
impl DomainsApi {
    /// Domains, soonest expiry first: search by name part, filter by status and customer.
    #[oai(path = "/domains", method = "get", operation_id = "listDomains")]
    async fn list_domains(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        q: Query<Option<String>>,
        status: Query<Option<String>>,
        customer_id: Query<Option<String>>,
    ) -> Result<Json<Vec<DomainOut>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "domains:read").await?;
        let customer = customer_id.0.as_deref().map(raw_id).transpose()?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let (rows, _) = provisioning::search(
            &tx,
            q.0.as_deref().unwrap_or_default(),
            status.0.as_deref(),
            None,
            1000,
        )
        .await
        .map_err(ApiError::internal)?;
        Ok(Json(
            rows.iter()
                .filter(|d| customer.is_none_or(|c| d.customer_id == c))
                .map(domain_out)
                .collect(),
        ))
    }

    #[oai(path = "/domains/:name", method = "get", operation_id = "getDomain")]
    async fn get_domain(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        name: Path<String>,
    ) -> Result<Json<DomainOut>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "domains:read").await?;
        Ok(Json(domain_out(&find(&state, &tenant, &name).await?)))
    }

    #[oai(
        path = "/domains/:name/records",
        method = "get",
        operation_id = "getDnsRecords"
    )]
    async fn get_records(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        name: Path<String>,
    ) -> Result<Json<Vec<RecordIo>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "domains:read").await?;
        let d = find(&state, &tenant, &name).await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let records = provisioning::records(&tx, &d.id)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(records.into_iter().map(RecordIo::from).collect()))
    }

    /// Replaces the zone's records (SOA and NS are kept); published by a job.
    #[oai(
        path = "/domains/:name/records",
        method = "put",
        operation_id = "setDnsRecords"
    )]
    async fn set_records(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        name: Path<String>,
        body: Json<Vec<RecordIo>>,
    ) -> Result<Json<Vec<RecordIo>>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "domains:write").await?;
        let d = find(&state, &tenant, &name).await?;
        let records: Vec<Record> = body
            .0
            .into_iter()
            .map(|r| Record {
                name: r.name,
                rtype: r.rtype,
                ttl: r.ttl,
                priority: r.priority,
                content: r.content,
            })
            .collect();
        let saved = ops::save_records(&state, &tenant, &d, &records, &actor_name(&key))
            .await
            .map_err(op_error)?;
        Ok(Json(saved.into_iter().map(RecordIo::from).collect()))
    }

    /// Own nameservers (with glue inside the domain), or an empty list for ours.
    #[oai(
        path = "/domains/:name/nameservers",
        method = "put",
        operation_id = "setNameservers"
    )]
    async fn set_nameservers(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        name: Path<String>,
        body: Json<NameserversIn>,
    ) -> Result<Json<DomainOut>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "domains:write").await?;
        let d = find(&state, &tenant, &name).await?;
        let own = if body.0.nameservers.is_empty() {
            None
        } else {
            let entries: Vec<(String, String)> = body
                .0
                .nameservers
                .into_iter()
                .map(|n| (n.host, n.addresses.join(",")))
                .collect();
            Some(ops::check_nameservers(&d.name, &entries).map_err(|e| ApiError::invalid(&e))?)
        };
        ops::set_nameservers(&state, &tenant, &d, own, &actor_name(&key))
            .await
            .map_err(op_error)?;
        Ok(Json(domain_out(&find(&state, &tenant, &name).await?)))
    }

    /// A new AuthCode for a transfer away; lifts the transfer lock (C9).
    #[oai(
        path = "/domains/:name/authcode",
        method = "post",
        operation_id = "requestAuthCode"
    )]
    async fn auth_code(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        name: Path<String>,
    ) -> Result<Json<AuthCodeOut>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "domains:write").await?;
        let d = find(&state, &tenant, &name).await?;
        let code = ops::request_auth_code(&state, &tenant, &d, &actor_name(&key))
            .await
            .map_err(op_error)?;
        Ok(Json(AuthCodeOut { auth_code: code }))
    }

    #[oai(
        path = "/domains/:name/transfer-lock",
        method = "put",
        operation_id = "setTransferLock"
    )]
    async fn transfer_lock(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        name: Path<String>,
        body: Json<LockIn>,
    ) -> Result<Json<DomainOut>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "domains:write").await?;
        let d = find(&state, &tenant, &name).await?;
        ops::set_transfer_lock(&state, &tenant, &d, body.0.locked, &actor_name(&key))
            .await
            .map_err(op_error)?;
        Ok(Json(domain_out(&find(&state, &tenant, &name).await?)))
    }

    /// Owner change: the contact becomes the registrant.
    #[oai(
        path = "/domains/:name/owner",
        method = "put",
        operation_id = "changeOwner"
    )]
    async fn owner(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        name: Path<String>,
        body: Json<OwnerIn>,
    ) -> Result<Json<OwnerOut>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "domains:write").await?;
        let d = find(&state, &tenant, &name).await?;
        let id = ops::change_owner(&state, &tenant, &d, &body.0.contact_id, &actor_name(&key))
            .await
            .map_err(op_error)?;
        Ok(Json(OwnerOut {
            registry_contact: id,
        }))
    }

    /// Service entries (what billing bills), optionally of one customer.
    #[oai(path = "/services", method = "get", operation_id = "listServices")]
    async fn services(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        customer_id: Query<String>,
    ) -> Result<Json<Vec<ServiceOut>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "orders:read").await?;
        let customer = raw_id(&customer_id.0)?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let domains = provisioning::customer_domains(&tx, customer)
            .await
            .map_err(ApiError::internal)?;
        let list = provisioning::customer_services(&tx, customer)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(
            list.into_iter().map(|s| service_out(s, &domains)).collect(),
        ))
    }

    /// Provisioning and other jobs; `status=dead` lists the technical tickets.
    #[oai(path = "/jobs", method = "get", operation_id = "listJobs")]
    async fn jobs(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        status: Query<Option<String>>,
    ) -> Result<Json<Vec<JobOut>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "orders:read").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let list = crate::jobs::list(&tx, status.0.as_deref(), 500)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(list.into_iter().map(JobOut::from).collect()))
    }

    /// `rerun` a dead or cancelled job, or `cancel` a queued or dead one.
    #[oai(path = "/jobs/:id/:action", method = "post", operation_id = "actOnJob")]
    async fn job_action(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
        action: Path<String>,
    ) -> Result<Json<JobOut>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "orders:write").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let changed = match action.0.as_str() {
            "rerun" => crate::jobs::rerun(&tx, &id.0).await,
            "cancel" => crate::jobs::cancel(&tx, &id.0).await,
            _ => return Err(ApiError::not_found("Action")),
        }
        .map_err(ApiError::internal)?;
        if !changed {
            return Err(ApiError::conflict(
                "job_state",
                "Not possible in the job's current state (or no such job).",
            ));
        }
        crate::audit::record_tenant(
            &tx,
            crate::audit::Change::new(&actor_name(&key), &format!("job.{}", action.0), &id.0)
                .entity("job", &id.0),
        )
        .await
        .map_err(ApiError::internal)?;
        let job = crate::jobs::get(&tx, &id.0)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("Job"))?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(Json(job.into()))
    }
}
