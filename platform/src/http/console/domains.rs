//! Domains in the reseller console (issue 7): the list searched by name, status
//! and expiry; one domain with its customer, services, DNS records and the
//! history of registry operations.

use super::{Can, ViewOrders, page};
use crate::app::AppState;
use crate::http::internal;
use crate::provisioning::{self, STATES, domain};
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, handler};
use sea_orm::EntityTrait;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
pub struct DomainQuery {
    q: Option<String>,
    status: Option<String>,
    /// Expiring within this many days.
    days: Option<i64>,
}

fn row(d: &domain::Model) -> Value {
    json!({
        "id": d.id, "name": d.name, "display": idna::domain_to_unicode(&d.name).0,
        "status": d.status, "customer_id": d.customer_id,
        "expires": d.expires_at.map(|e| e.format("%Y-%m-%d").to_string()),
        "transfer_lock": d.transfer_lock, "own_nameservers": d.own_nameservers,
        "nameservers": provisioning::nameservers_of(d),
    })
}

#[handler]
pub async fn list(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ViewOrders>,
    Query(q): Query<DomainQuery>,
) -> poem::Result<Response> {
    let status = q.status.filter(|s| STATES.contains(&s.as_str()));
    let days = q.days.filter(|d| (1..=3650).contains(d));
    let before = days.map(|d| chrono::Utc::now() + chrono::Duration::days(d));
    let search = q.q.unwrap_or_default();
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let (rows, total) = provisioning::search(&tx, &search, status.as_deref(), before, 500)
        .await
        .map_err(internal)?;
    drop(tx);
    page(state, session, req, &user.tenant, Some(&user.member)).render(
        "console/domains.html",
        "title.domains",
        "domains",
        json!({
            "domains": rows.iter().map(row).collect::<Vec<_>>(), "total": total,
            "q": search, "status": status, "days": days, "states": STATES,
        }),
    )
}

#[handler]
pub async fn detail(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ViewOrders>,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let Some(d) = domain::Entity::find_by_id(id)
        .one(tx.conn())
        .await
        .map_err(internal)?
    else {
        return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
    };
    let customer = crate::customers::get(&tx, &d.customer_id).await.ok();
    let ops = provisioning::ops(&tx, &d.id).await.map_err(internal)?;
    let records = provisioning::records(&tx, &d.id).await.map_err(internal)?;
    let services: Vec<_> = provisioning::customer_services(&tx, &d.customer_id)
        .await
        .map_err(internal)?
        .into_iter()
        .filter(|s| s.domain_id.as_deref() == Some(d.id.as_str()))
        .collect();
    drop(tx);
    page(state, session, req, &user.tenant, Some(&user.member)).render(
        "console/domain.html",
        "title.domains",
        "domains",
        json!({
            "domain": row(&d),
            "customer": customer.map(|c| json!({"id": c.id, "name": crate::customers::display_name(&c), "number": crate::customers::number_of(&c)})),
            "ops": ops.iter().map(|o| json!({"op": o.op, "code": o.result_code, "outcome": provisioning::outcome(o.result_code), "message": o.message, "actor": o.actor, "at": o.at.format("%Y-%m-%d %H:%M:%S").to_string()})).collect::<Vec<_>>(),
            "records": records,
            "services": services,
        }),
    )
}
