//! Orders and the clearing center in the reseller console (O9, O10).

use super::{Can, DecideClearing, StaffUser, ViewOrders, page};
use crate::app::AppState;
use crate::auth::csrf;
use crate::customers::fields::format_amount;
use crate::customers::{self, customer};
use crate::http::store::account::client_ip;
use crate::http::store::shop::status_mail;
use crate::http::{FormData, flash, internal, redirect};
use crate::orders::{self, Decision, OrderError, OrderFilter, Outcome, order};
use crate::staff::Perm;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, handler};
use relabel_tenants::TenantTx;
use serde_json::{Value, json};
use std::collections::HashMap;

fn money(minor: i64, currency: &str) -> String {
    format!("{} {currency}", format_amount(minor))
}

fn order_row(o: &order::Model, c: Option<&customer::Model>) -> Value {
    json!({
        "id": o.id, "number": o.number, "status": o.status, "cart_id": o.cart_id,
        "customer_id": o.customer_id,
        "customer": c.map(|c| json!({ "id": c.id, "number": customers::number_of(c).unwrap_or("—"), "name": customers::display_name(c), "email": c.email })),
        "net": money(o.net_minor, &o.currency), "vat": money(o.vat_minor, &o.currency),
        "gross": money(o.gross_minor, &o.currency),
        "discount": (o.discount_minor > 0).then(|| money(o.discount_minor, &o.currency)),
        "coupon": o.coupon_code, "risk_score": o.risk_score,
        "risk_reasons": o.risk_reasons.as_deref().unwrap_or_default().split(',').filter(|r| !r.is_empty()).collect::<Vec<_>>(),
        "created_at": o.created_at.format("%Y-%m-%d %H:%M").to_string(),
    })
}

async fn customers_of(
    tx: &TenantTx,
    ids: impl Iterator<Item = String>,
) -> Result<HashMap<String, customer::Model>, sea_orm::DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let ids: Vec<String> = ids.collect();
    Ok(customer::Entity::find()
        .filter(customer::Column::Id.is_in(ids))
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect())
}

#[handler]
pub async fn orders_list(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ViewOrders>,
    Query(f): Query<OrderFilter>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let found = orders::list(&tx, &f, 200).await.map_err(internal)?;
    let people = customers_of(&tx, found.iter().map(|o| o.customer_id.clone()))
        .await
        .map_err(internal)?;
    // A cart id typed into the search shows that cart, ordered or not.
    let cart = match f
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| q.len() == 12 && q.starts_with('c'))
    {
        Some(id) => match orders::cart::find(&tx, id).await.map_err(internal)? {
            Some(c) => {
                let items = orders::cart::items(&tx, &c.id).await.map_err(internal)?;
                let owner = match &c.customer_id {
                    Some(id) => customers::get(&tx, id).await.ok(),
                    None => None,
                };
                Some(json!({
                    "id": c.id, "coupon": c.coupon_code,
                    "updated_at": c.updated_at.format("%Y-%m-%d %H:%M").to_string(),
                    "customer": owner.map(|o| json!({ "id": o.id, "number": o.number, "name": customers::display_name(&o) })),
                    "items": items.iter().map(|i| json!({ "name": i.domain.clone().unwrap_or_else(|| i.product_id.clone()), "action": i.action, "period_months": i.period_months })).collect::<Vec<_>>(),
                }))
            }
            None => None,
        },
        None => None,
    };
    drop(tx);
    let rows: Vec<Value> = found
        .iter()
        .map(|o| order_row(o, people.get(&o.customer_id)))
        .collect();
    page(state, session, req, &user.tenant, Some(&user.member)).render(
        "console/orders.html",
        "title.orders",
        "orders",
        json!({ "orders": rows, "filter": { "status": f.status, "q": f.q }, "cart": cart }),
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
    let Some(o) = orders::get(&tx, &id).await.map_err(internal)? else {
        return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
    };
    let data = order_data(state, &tx, &o).await.map_err(internal)?;
    drop(tx);
    page(state, session, req, &user.tenant, Some(&user.member)).render(
        "console/order.html",
        "title.order",
        "orders",
        data,
    )
}

/// Everything the order and case pages show about one order.
async fn order_data(
    state: &AppState,
    tx: &TenantTx,
    o: &order::Model,
) -> Result<Value, sea_orm::DbErr> {
    let c = customers::get(tx, &o.customer_id).await.ok();
    let items = orders::items(tx, &o.id).await?;
    let events = orders::events(tx, &o.id).await?;
    let jobs = crate::jobs::with_key_prefix(tx, &format!("order:{}:", o.id)).await?;
    let case = orders::case_of(tx, &o.id).await?;
    let book = state.prices.book(tx).await?;
    let items: Vec<Value> = items
        .iter()
        .map(|i| {
            let job = jobs
                .iter()
                .find(|j| j.idempotency_key == format!("order:{}:{}", o.id, i.position));
            json!({
                "position": i.position,
                "name": i.domain.clone().unwrap_or_else(|| book.product_name(&i.product_id).unwrap_or(&i.product_id).to_owned()),
                "product_id": i.product_id, "action": i.action, "period_months": i.period_months,
                "net": money(i.net_minor, &o.currency), "gross": money(i.gross_minor, &o.currency),
                "job": job.map(|j| json!({ "kind": j.kind, "status": j.status, "attempts": j.attempts })),
            })
        })
        .collect();
    let events: Vec<Value> = events
        .iter()
        .map(|e| json!({ "status": e.status, "actor": e.actor, "note": e.note, "at": e.at.format("%Y-%m-%d %H:%M:%S").to_string() }))
        .collect();
    let mut overview = Value::Null;
    if let Some(c) = &c {
        let s = customers::settings(tx).await?;
        let limit = orders::credit_limit(c, &s);
        let acc = orders::account(tx, &c.id).await?;
        let (balance, reserved) = acc
            .as_ref()
            .map(|a| (a.balance_minor, a.reserved_minor))
            .unwrap_or((0, 0));
        let all = orders::list(
            tx,
            &OrderFilter {
                customer_id: Some(c.id.clone()),
                ..Default::default()
            },
            1000,
        )
        .await?;
        overview = json!({
            "id": c.id, "number": customers::number_of(c).unwrap_or("—"), "name": customers::display_name(c), "email": c.email,
            "country": c.country, "since": c.created_at.format("%Y-%m-%d").to_string(),
            "verified": c.email_verified_at.is_some(),
            "limit": money(limit, &c.currency), "balance": money(balance, &c.currency),
            "reserved": money(reserved, &c.currency),
            "available": money(balance + limit - reserved, &c.currency),
            "orders_accepted": all.iter().filter(|o| o.status == "accepted").count(),
            "orders_total": all.len(),
        });
    }
    Ok(json!({
        "order": order_row(o, c.as_ref()), "items": items, "events": events, "customer": overview,
        "case": case.map(|k| json!({ "id": k.id, "number": k.number, "reason": k.reason, "status": k.status, "note": k.note, "decided_by": k.decided_by })),
    }))
}

#[handler]
pub async fn clearing(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ViewOrders>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let open = orders::cases(&tx, true).await.map_err(internal)?;
    let decided = orders::cases(&tx, false)
        .await
        .map_err(internal)?
        .into_iter()
        .filter(|c| !matches!(c.status.as_str(), "open" | "waiting"))
        .take(50)
        .collect::<Vec<_>>();
    let mut rows = Vec::new();
    for (list, is_open) in [(&open, true), (&decided, false)] {
        for k in list {
            let o = orders::get(&tx, &k.order_id).await.map_err(internal)?;
            let c = match &o {
                Some(o) => customers::get(&tx, &o.customer_id).await.ok(),
                None => None,
            };
            rows.push(json!({
                "open": is_open, "id": k.id, "number": k.number, "reason": k.reason, "status": k.status,
                "created_at": k.created_at.format("%Y-%m-%d %H:%M").to_string(),
                "decided_by": k.decided_by,
                "order": o.as_ref().map(|o| order_row(o, c.as_ref())),
            }));
        }
    }
    drop(tx);
    page(state, session, req, &user.tenant, Some(&user.member)).render(
        "console/clearing.html",
        "title.clearing",
        "clearing",
        json!({ "cases": rows, "open_count": open.len() }),
    )
}

async fn render_case(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &StaffUser,
    id: &str,
    status: StatusCode,
    error: Option<String>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let Some(k) = orders::case(&tx, id).await.map_err(internal)? else {
        return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
    };
    let Some(o) = orders::get(&tx, &k.order_id).await.map_err(internal)? else {
        return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
    };
    let mut data = order_data(state, &tx, &o).await.map_err(internal)?;
    drop(tx);
    data["can_decide"] = json!(user.member.role.can(Perm::DecideClearing));
    data["can_override"] = json!(user.member.role.can(Perm::OverrideCredit));
    data["error"] = json!(error);
    page(state, session, req, &user.tenant, Some(&user.member)).render_status(
        status,
        "console/case.html",
        "title.case",
        "clearing",
        data,
    )
}

#[handler]
pub async fn case_page(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ViewOrders>,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    render_case(state, session, req, &user, &id, StatusCode::OK, None).await
}

#[handler]
pub async fn decide(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<DecideClearing>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let override_limit = form.get("override") == "1";
    if override_limit && !user.member.role.can(Perm::OverrideCredit) {
        return Err(poem::Error::from_status(StatusCode::FORBIDDEN));
    }
    let decision = match form.get("decision") {
        "approve" => Decision::Approve { override_limit },
        "reject" => Decision::Reject,
        "ask" => Decision::AskCustomer,
        _ => return Err(poem::Error::from_status(StatusCode::BAD_REQUEST)),
    };
    let note = form.opt("note").map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 2000) {
        return render_case(
            state,
            session,
            req,
            &user,
            &id,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(p.t("err.too_long").to_owned()),
        )
        .await;
    }
    if matches!(decision, Decision::AskCustomer) && note.is_none() {
        return render_case(
            state,
            session,
            req,
            &user,
            &id,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(p.t("err.note_required").to_owned()),
        )
        .await;
    }
    let ip = client_ip(req);
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let decided = orders::decide(&tx, &id, decision, &user.member.email, Some(&ip), note).await;
    let (case, order) = match decided {
        Ok(v) => v,
        Err(e) => {
            drop(tx);
            let msg = match e {
                OrderError::NotFound => {
                    return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
                }
                OrderError::Decided => p.t("err.case_decided").to_owned(),
                OrderError::Platform => p.t("err.case_platform").to_owned(),
                OrderError::OverLimit { available_minor } => p
                    .t("err.over_limit")
                    .replace("{available}", &format_amount(available_minor)),
                other => return Err(internal(other)),
            };
            return render_case(
                state,
                session,
                req,
                &user,
                &id,
                StatusCode::CONFLICT,
                Some(msg),
            )
            .await;
        }
    };
    let customer = customers::get(&tx, &order.customer_id)
        .await
        .map_err(internal)?;
    let outcome = match &order.number {
        Some(n) => Outcome::Accepted { number: n.clone() },
        None => Outcome::Clearing {
            case_number: case.number.clone(),
            reason: case.reason.clone(),
        },
    };
    status_mail(state, &tx, &user.tenant, &customer, &order, &outcome, note).await?;
    tx.commit().await.map_err(internal)?;
    state.mailer.kick(&state.tenancy, &user.tenant);
    let key = match case.status.as_str() {
        "approved" => "flash.case_approved",
        "rejected" => "flash.case_rejected",
        _ if case.reason == "reseller_limit" => "flash.case_escalated",
        _ => "flash.case_asked",
    };
    flash(session, "success", p.t(key).replace("{case}", &case.number));
    Ok(redirect("/console/clearing"))
}
