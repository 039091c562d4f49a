//! Price classes in the console (P2, P3): the list with create, default and delete,
//! and the matrix editor of one class (every enabled product x action x period).

use super::{Can, ManagePricing, StaffUser, page};
use crate::app::AppState;
use crate::auth::csrf;
use crate::catalog;
use crate::customers::fields::{self, format_amount};
use crate::http::store::page::choices;
use crate::http::{FormData, flash, internal, redirect};
use crate::pricing::{self, BelowCost, PriceInput, PricingError};
use crate::validation::FieldErrors;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, handler};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

fn status_of(errors: &FieldErrors) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

async fn render_list(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &StaffUser,
    values: Value,
    errors: &FieldErrors,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let classes = pricing::classes(&tx).await.map_err(internal)?;
    let usage = pricing::class_usage(&tx).await.map_err(internal)?;
    let customers_total = crate::customers::list::count(&tx).await.map_err(internal)?;
    drop(tx);
    let assigned: i64 = usage.values().sum();
    let rows: Vec<Value> = classes
        .iter()
        .map(|c| {
            let own = usage.get(&c.id).copied().unwrap_or(0);
            json!({
                "id": c.id, "name": c.name, "currency": c.currency, "is_default": c.is_default,
                // Customers without a class of their own are priced by the default class.
                "customers": own + if c.is_default { customers_total - assigned } else { 0 },
            })
        })
        .collect();
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let lang = p.lang.code();
    p.render_status(
        status_of(errors),
        "console/price_classes.html",
        "title.price_classes",
        "pricing",
        json!({
            "classes": rows, "values": values, "errors": errors.translated(lang),
            "currencies": choices(lang, fields::CURRENCIES),
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
    render_list(
        state,
        session,
        req,
        &user,
        json!({ "currency": "EUR" }),
        &FieldErrors::default(),
    )
    .await
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
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let made = pricing::create_class(
        &tx,
        &user.member.email,
        form.get("name"),
        form.get("currency"),
        form.get("is_default") == "1",
    )
    .await;
    match made {
        Ok(class) => {
            tx.commit().await.map_err(internal)?;
            let p = page(state, session, req, &user.tenant, Some(&user.member));
            flash(session, "success", p.t("flash.class_created"));
            Ok(redirect(&format!("/console/price-classes/{}", class.id)))
        }
        Err(PricingError::Invalid(errors)) => {
            drop(tx);
            let values = json!({ "name": form.get("name"), "currency": form.get("currency"), "is_default": form.get("is_default") == "1" });
            render_list(state, session, req, &user, values, &errors).await
        }
        Err(e) => Err(internal(e)),
    }
}

/// Runs a class change and returns to the list, with the refusal shown there.
async fn class_action(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &StaffUser,
    form: &FormData,
    ok_flash: &str,
    action: impl AsyncFnOnce(&relabel_tenants::TenantTx) -> Result<(), PricingError>,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    match action(&tx).await {
        Ok(()) => {
            tx.commit().await.map_err(internal)?;
            let p = page(state, session, req, &user.tenant, Some(&user.member));
            flash(session, "success", p.t(ok_flash));
            Ok(redirect("/console/price-classes"))
        }
        Err(PricingError::Invalid(errors)) => {
            drop(tx);
            render_list(
                state,
                session,
                req,
                user,
                json!({ "currency": "EUR" }),
                &errors,
            )
            .await
        }
        Err(PricingError::NotFound) => Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
        Err(e) => Err(internal(e)),
    }
}

#[handler]
pub async fn make_default(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManagePricing>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    let actor = user.member.email.clone();
    class_action(
        state,
        session,
        req,
        &user,
        &form,
        "flash.class_default",
        async |tx| pricing::set_default_class(tx, &actor, &id).await,
    )
    .await
}

#[handler]
pub async fn delete(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManagePricing>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    let actor = user.member.email.clone();
    class_action(
        state,
        session,
        req,
        &user,
        &form,
        "flash.class_deleted",
        async |tx| pricing::delete_class(tx, &actor, &id).await,
    )
    .await
}

#[derive(serde::Deserialize, Default)]
pub struct MatrixFilter {
    /// `domain` (default) or `products`.
    #[serde(default)]
    kind: String,
}

/// What the matrix shows after a failed or warned save.
#[derive(Default)]
struct Feedback {
    errors: FieldErrors,
    warnings: Vec<(String, BelowCost)>,
    submitted: Option<BTreeMap<String, String>>,
}

async fn render_matrix(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &StaffUser,
    id: &str,
    kind: &str,
    feedback: Feedback,
) -> poem::Result<Response> {
    let domains = kind != "products";
    let overview = catalog::overview(state.tenancy.backend().shared())
        .await
        .map_err(internal)?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let class = pricing::classes(&tx)
        .await
        .map_err(internal)?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    let enabled = pricing::enabled(&tx).await.map_err(internal)?;
    let prices = pricing::class_prices(&tx, id).await.map_err(internal)?;
    drop(tx);
    let have: BTreeMap<(&str, &str, i32), i64> = prices
        .iter()
        .map(|r| {
            (
                (r.product_id.as_str(), r.action.as_str(), r.period_months),
                r.amount_minor,
            )
        })
        .collect();
    let products: Vec<_> = overview
        .iter()
        .filter(|(p, _)| p.active && enabled.contains(&p.id) && (p.kind == "domain") == domains)
        .collect();
    // Columns: every (action, period) any shown product is sold in, in catalog order.
    let mut columns: Vec<(String, i32)> = Vec::new();
    for (_, ws) in &products {
        for w in ws {
            let col = (w.action.clone(), w.period_months);
            if !columns.contains(&col) {
                columns.push(col);
            }
        }
    }
    columns.sort_by_key(|(a, m)| {
        (
            catalog::ACTIONS.iter().position(|x| x == a).unwrap_or(99),
            *m,
        )
    });
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let lang = p.lang.code();
    let errors = feedback.errors.translated(lang);
    let rows: Vec<Value> = products
        .iter()
        .map(|(prod, ws)| {
            let complete = ws
                .iter()
                .all(|w| have.contains_key(&(prod.id.as_str(), w.action.as_str(), w.period_months)));
            let cells: Vec<Value> = columns
                .iter()
                .map(|(action, period)| {
                    let Some(cost) = ws.iter().find(|w| &w.action == action && w.period_months == *period) else {
                        return json!(null);
                    };
                    let name = format!("p.{}.{}.{}", prod.id, action, period);
                    let value = match &feedback.submitted {
                        Some(s) => s.get(&name).cloned().unwrap_or_default(),
                        None => have
                            .get(&(prod.id.as_str(), action.as_str(), *period))
                            .map(|v| format_amount(*v))
                            .unwrap_or_default(),
                    };
                    let cost = (cost.currency == class.currency).then(|| format_amount(cost.amount_minor));
                    json!({ "name": name, "value": value, "cost": cost, "error": errors.get(&name) })
                })
                .collect();
            json!({ "id": prod.id, "name": prod.name, "complete": complete, "cells": cells })
        })
        .collect();
    let columns: Vec<Value> = columns
        .iter()
        .map(|(a, m)| json!({ "action": a, "label": p.t(&format!("action.{a}")), "period_months": m }))
        .collect();
    let names: BTreeMap<&str, &str> = overview
        .iter()
        .map(|(p, _)| (p.id.as_str(), p.name.as_str()))
        .collect();
    let warnings: Vec<Value> = feedback
        .warnings
        .iter()
        .map(|(product, w)| json!({ "product": names.get(product.as_str()).copied().unwrap_or(product.as_str()), "action_label": p.t(&format!("action.{}", w.action)), "period_months": w.period_months, "price": w.price, "cost": w.cost }))
        .collect();
    p.render_status(
        status_of(&feedback.errors),
        "console/price_class.html",
        "title.price_class",
        "pricing",
        json!({
            "class": { "id": class.id, "name": class.name, "currency": class.currency, "is_default": class.is_default },
            "kind": if domains { "domain" } else { "products" },
            "columns": columns, "rows": rows, "warnings": warnings,
            "error_count": feedback.errors.iter().count(),
        }),
    )
}

#[handler]
pub async fn matrix(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManagePricing>,
    Path(id): Path<String>,
    Query(filter): Query<MatrixFilter>,
) -> poem::Result<Response> {
    render_matrix(
        state,
        session,
        req,
        &user,
        &id,
        &filter.kind,
        Feedback::default(),
    )
    .await
}

/// Saves every product row of the matrix in one transaction: a row left entirely
/// empty keeps the product out of this class; any error saves nothing.
#[handler]
pub async fn save_matrix(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManagePricing>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let kind = form.get("kind").to_owned();
    let mut submitted = BTreeMap::new();
    let mut by_product: BTreeMap<String, Vec<PriceInput>> = BTreeMap::new();
    for (key, value) in form.pairs() {
        let Some(rest) = key.strip_prefix("p.") else {
            continue;
        };
        let mut parts = rest.rsplitn(3, '.');
        let (Some(period), Some(action), Some(product)) =
            (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Ok(period) = period.parse::<i32>() else {
            continue;
        };
        submitted.insert(key.to_owned(), value.to_owned());
        by_product.entry(product.to_owned()).or_default().push((
            action.to_owned(),
            period,
            value.to_owned(),
        ));
    }
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let enabled = pricing::enabled(&tx).await.map_err(internal)?;
    let mut errors = FieldErrors::default();
    let mut warnings = Vec::new();
    let mut cleared = BTreeSet::new();
    for (product, rows) in &by_product {
        if !enabled.contains(product) {
            errors.add(&format!("p.{product}"), "err.not_offered");
            continue;
        }
        if rows.iter().all(|(_, _, v)| v.trim().is_empty()) {
            cleared.insert(product.clone());
            continue;
        }
        match pricing::set_class_prices(&tx, &user.member.email, &id, product, rows).await {
            Ok(below) => warnings.extend(below.into_iter().map(|w| (product.clone(), w))),
            Err(PricingError::Invalid(e)) => {
                for err in e.iter() {
                    let rest = err.field.strip_prefix("price.").unwrap_or(&err.field);
                    errors.add(&format!("p.{product}.{rest}"), &err.code);
                }
            }
            Err(PricingError::NotFound) => {
                return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
            }
            Err(e) => return Err(internal(e)),
        }
    }
    for product in &cleared {
        pricing::clear_class_prices(&tx, &user.member.email, &id, product)
            .await
            .map_err(internal)?;
    }
    if !errors.is_empty() {
        drop(tx);
        let feedback = Feedback {
            errors,
            warnings: vec![],
            submitted: Some(submitted),
        };
        return render_matrix(state, session, req, &user, &id, &kind, feedback).await;
    }
    tx.commit().await.map_err(internal)?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    flash(session, "success", p.t("flash.prices_saved"));
    if warnings.is_empty() {
        let query = if kind == "products" {
            "?kind=products"
        } else {
            ""
        };
        return Ok(redirect(&format!("/console/price-classes/{id}{query}")));
    }
    let feedback = Feedback {
        warnings,
        ..Default::default()
    };
    render_matrix(state, session, req, &user, &id, &kind, feedback).await
}
