//! The operator's clearing (T5): orders a reseller's own platform credit does not
//! cover, and every reseller's platform account with its credit limit.

use super::{OperatorUser, page};
use crate::app::AppState;
use crate::auth::csrf;
use crate::customers::fields::{format_amount, parse_amount};
use crate::http::{FormData, flash, internal, redirect};
use crate::orders::{self, OrderError, Outcome, wholesale};
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};
use relabel_tenants::TenantId;
use serde_json::{Value, json};
use std::collections::HashMap;

fn money(minor: i64, currency: &str) -> String {
    format!("{} {currency}", format_amount(minor))
}

async fn render(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &OperatorUser,
    status: StatusCode,
    error: Option<String>,
) -> poem::Result<Response> {
    let shared = state.tenancy.backend().shared();
    let tenants = state.tenancy.list().await.map_err(internal)?;
    let names: HashMap<String, String> = tenants
        .iter()
        .map(|t| (t.id.to_string(), t.name.clone()))
        .collect();
    let accounts = wholesale::accounts(shared).await.map_err(internal)?;
    let by_tenant: HashMap<&str, &orders::reseller_account::Model> =
        accounts.iter().map(|a| (a.tenant_id.as_str(), a)).collect();
    let cases: Vec<Value> = wholesale::open_cases(shared)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|c| {
            let acc = by_tenant.get(c.tenant_id.as_str());
            json!({
                "id": c.id, "reseller": names.get(&c.tenant_id), "case_number": c.case_number,
                "amount": money(c.amount_minor, &c.currency),
                "available": acc.map(|a| money(a.balance_minor + a.credit_limit_minor - a.reserved_minor, &a.currency)),
                "created_at": c.created_at.format("%Y-%m-%d %H:%M").to_string(),
            })
        })
        .collect();
    let rows: Vec<Value> = tenants
        .iter()
        .map(|t| {
            let a = by_tenant.get(t.id.as_str());
            json!({
                "tenant_id": t.id.to_string(), "name": t.name,
                "limit": a.map(|a| format_amount(a.credit_limit_minor)).unwrap_or_else(|| format_amount(wholesale::DEFAULT_LIMIT_MINOR)),
                "balance": a.map(|a| money(a.balance_minor, &a.currency)).unwrap_or_else(|| money(0, "EUR")),
                "reserved": a.map(|a| money(a.reserved_minor, &a.currency)).unwrap_or_else(|| money(0, "EUR")),
                "available": a.map(|a| money(a.balance_minor + a.credit_limit_minor - a.reserved_minor, &a.currency))
                    .unwrap_or_else(|| money(wholesale::DEFAULT_LIMIT_MINOR, "EUR")),
            })
        })
        .collect();
    page(state, session, req, Some(&user.0)).render_status(
        status,
        "operator/clearing.html",
        "title.operator_clearing",
        "clearing",
        json!({ "cases": cases, "accounts": rows, "error": error }),
    )
}

#[handler]
pub async fn show(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
) -> poem::Result<Response> {
    render(state, session, req, &user, StatusCode::OK, None).await
}

#[handler]
pub async fn decide(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let approve = match form.get("decision") {
        "approve" => true,
        "reject" => false,
        _ => return Err(poem::Error::from_status(StatusCode::BAD_REQUEST)),
    };
    let op = wholesale::operator_case(state.tenancy.backend().shared(), &id)
        .await
        .map_err(internal)?
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    let tid = TenantId::parse(&op.tenant_id)
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    let tenant = state.tenancy.get(&tid).await.map_err(internal)?;
    let note = form.opt("note").map(str::trim).filter(|n| !n.is_empty());
    let actor = format!("operator:{}", user.0.email);
    let tx = state.tenancy.begin(&tenant).await.map_err(internal)?;
    let (case, order) = match orders::decide_platform(&tx, &id, approve, &actor, note).await {
        Ok(v) => v,
        Err(OrderError::Decided) => {
            drop(tx);
            let p = page(state, session, req, Some(&user.0));
            return render(
                state,
                session,
                req,
                &user,
                StatusCode::CONFLICT,
                Some(p.t("err.case_decided").to_owned()),
            )
            .await;
        }
        Err(OrderError::NotFound) => return Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
        Err(e) => return Err(internal(e)),
    };
    let customer = crate::customers::get(&tx, &order.customer_id)
        .await
        .map_err(internal)?;
    let outcome = match &order.number {
        Some(n) => Outcome::Accepted { number: n.clone() },
        None => Outcome::Clearing {
            case_number: case.number.clone(),
            reason: case.reason.clone(),
        },
    };
    crate::http::store::shop::status_mail(state, &tx, &tenant, &customer, &order, &outcome, None)
        .await?;
    tx.commit().await.map_err(internal)?;
    state.mailer.kick(&state.tenancy, &tenant);
    let p = page(state, session, req, Some(&user.0));
    let key = if approve {
        "flash.case_approved"
    } else {
        "flash.case_rejected"
    };
    flash(session, "success", p.t(key).replace("{case}", &case.number));
    Ok(redirect("/operator/clearing"))
}

#[handler]
pub async fn set_limit(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    Path(tenant_id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let tid = TenantId::parse(&tenant_id)
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    let tenant = state.tenancy.get(&tid).await.map_err(internal)?;
    let p = page(state, session, req, Some(&user.0));
    let Some(limit) = parse_amount(form.get("limit")) else {
        return render(
            state,
            session,
            req,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(format!("{}: {}", tenant.name, p.t("err.amount"))),
        )
        .await;
    };
    let shared = state.tenancy.backend().shared();
    let before = wholesale::account(shared, tenant.id.as_str())
        .await
        .map_err(internal)?;
    wholesale::set_limit(shared, tenant.id.as_str(), limit)
        .await
        .map_err(internal)?;
    crate::audit::record_operator(
        shared,
        Some(tenant.id.as_str()),
        crate::audit::Change::new(&user.0.email, "reseller.credit_limit", &tenant.name)
            .entity("tenant", tenant.id.as_str())
            .before(json!({ "limit_minor": before.map(|b| b.credit_limit_minor) }))
            .after(json!({ "limit_minor": limit })),
    )
    .await
    .map_err(internal)?;
    flash(
        session,
        "success",
        p.t("flash.limit_saved").replace("{name}", &tenant.name),
    );
    Ok(redirect("/operator/clearing"))
}
