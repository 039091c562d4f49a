//! Coupons in the console (P5): the list with usage and state, create, end.

use super::{Can, ManagePricing, StaffUser, page};
use crate::app::AppState;
use crate::auth::csrf;
use crate::coupons::{self, CouponError, CouponInput};
use crate::customers::fields::{self, format_amount, format_percent};
use crate::http::store::page::choices;
use crate::http::{FormData, flash, internal, redirect};
use crate::validation::FieldErrors;
use chrono::{DateTime, NaiveDate, Utc};
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};
use serde_json::{Value, json};

async fn render(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &StaffUser,
    values: Value,
    errors: &FieldErrors,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let all = coupons::list(&tx).await.map_err(internal)?;
    drop(tx);
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let now = Utc::now();
    let day = |d: Option<DateTime<Utc>>| d.map(|d| d.format("%Y-%m-%d").to_string());
    let rows: Vec<Value> = all
        .iter()
        .map(|c| {
            let value = match c.kind.as_str() {
                "percent" => format!("{} %", format_percent(c.value)),
                _ => format!("{} {}", format_amount(c.value), c.currency.as_deref().unwrap_or("")),
            };
            let scope: Vec<String> = c
                .products
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|p| p.strip_prefix("domain-").map(|t| format!(".{t}")).unwrap_or_else(|| p.to_owned()))
                .collect();
            json!({
                "id": c.id, "code": c.code, "value": value, "state": coupons::state(c, now),
                "state_label": p.t(&format!("coupon_state.{}", coupons::state(c, now))),
                "from": day(Some(c.valid_from)),
                // Stored as the exclusive end; shown as the last valid day.
                "until": day(c.valid_until.map(|u| u - chrono::Duration::seconds(1))),
                "used": c.used_count, "max_total": c.max_total, "max_per_customer": c.max_per_customer,
                "products": scope.join(", "), "actions": c.actions.replace(',', ", "),
                "first_order_only": c.first_order_only,
            })
        })
        .collect();
    let lang = p.lang.code();
    let actions: Vec<Value> = [
        "register",
        "transfer",
        "renew",
        "setup",
        "monthly_fee",
        "yearly_fee",
    ]
    .iter()
    .map(|a| json!({ "value": a, "label": p.t(&format!("action.{a}")) }))
    .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    p.render_status(
        status,
        "console/coupons.html",
        "title.coupons",
        "pricing",
        json!({
            "coupons": rows, "values": values, "errors": errors.translated(lang),
            "currencies": choices(lang, fields::CURRENCIES),
            "actions": actions,
        }),
    )
}

#[handler]
pub async fn list(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManagePricing>,
) -> poem::Result<Response> {
    let values = json!({ "kind": "percent", "currency": "EUR", "actions": [] });
    render(state, session, req, &user, values, &FieldErrors::default()).await
}

/// `YYYY-MM-DD` as the start of that day (UTC); `end` gives the start of the next
/// day, so "until 2026-12-31" includes the 31st.
fn parse_day(
    errors: &mut FieldErrors,
    field: &str,
    input: &str,
    until: bool,
) -> Option<DateTime<Utc>> {
    let input = input.trim();
    if input.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(input, "%Y-%m-%d") {
        Ok(d) => {
            let d = if until { d.succ_opt().unwrap_or(d) } else { d };
            d.and_hms_opt(0, 0, 0).map(|t| t.and_utc())
        }
        Err(_) => {
            errors.add(field, "err.date");
            None
        }
    }
}

fn parse_limit(errors: &mut FieldErrors, field: &str, input: &str) -> Option<i32> {
    let input = input.trim();
    if input.is_empty() {
        return None;
    }
    match input.parse::<i32>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Some(n),
        _ => {
            errors.add(field, "err.limit");
            None
        }
    }
}

#[handler]
pub async fn create(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManagePricing>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let mut errors = FieldErrors::default();
    let kind = form.get("kind").to_owned();
    let input = CouponInput {
        code: form.get("code").to_owned(),
        value: form.get("value").to_owned(),
        currency: Some(form.get("currency").to_owned()).filter(|c| !c.is_empty()),
        valid_from: parse_day(&mut errors, "valid_from", form.get("valid_from"), false),
        valid_until: parse_day(&mut errors, "valid_until", form.get("valid_until"), true),
        max_total: parse_limit(&mut errors, "max_total", form.get("max_total")),
        max_per_customer: parse_limit(
            &mut errors,
            "max_per_customer",
            form.get("max_per_customer"),
        ),
        products: coupons::parse_scope(form.get("products")),
        actions: form.all("actions"),
        first_order_only: form.get("first_order_only") == "1",
        kind,
    };
    let values = json!({
        "code": form.get("code"), "kind": input.kind, "value": input.value, "currency": form.get("currency"),
        "valid_from": form.get("valid_from"), "valid_until": form.get("valid_until"),
        "max_total": form.get("max_total"), "max_per_customer": form.get("max_per_customer"),
        "products": form.get("products"), "actions": input.actions, "first_order_only": input.first_order_only,
    });
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    match coupons::create_checked(&tx, &user.member.email, input, errors).await {
        Ok(_) => {
            tx.commit().await.map_err(internal)?;
            let p = page(state, session, req, &user.tenant, Some(&user.member));
            flash(session, "success", p.t("flash.coupon_created"));
            Ok(redirect("/console/coupons"))
        }
        Err(CouponError::Invalid(errors)) => {
            drop(tx);
            render(state, session, req, &user, values, &errors).await
        }
        Err(e) => Err(internal(e)),
    }
}

#[handler]
pub async fn end(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManagePricing>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    coupons::end(&tx, &user.member.email, &id)
        .await
        .map_err(internal)?
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    tx.commit().await.map_err(internal)?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    flash(session, "success", p.t("flash.coupon_ended"));
    Ok(redirect("/console/coupons"))
}
