//! A customer's price class and per-product overrides in the console (P4, A1).

use super::{Can, EditBilling, StaffUser, ViewCustomers, page};
use crate::app::AppState;
use crate::auth::csrf;
use crate::catalog::product;
use crate::customers::{self, fields};
use crate::http::store::page::choices;
use crate::http::{FormData, flash, internal, redirect};
use crate::pricing::{self, BelowCost, PriceInput, PricingError};
use crate::staff::Perm;
use crate::terms::{self, TermsError, TermsInput};
use crate::validation::FieldErrors;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, handler};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// What to show for one product after a failed or warned save.
#[derive(Default)]
struct Feedback {
    /// A product whose override card to show although it has no override yet.
    open: Option<String>,
    /// Errors and values of the terms forms (`terms` or `discount`).
    terms: Option<(FieldErrors, Value)>,
    product: String,
    errors: Option<FieldErrors>,
    warnings: Vec<BelowCost>,
    submitted: Option<(String, BTreeMap<String, String>)>,
}

async fn render(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &StaffUser,
    id: &str,
    feedback: Feedback,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let customer = customers::get(&tx, id)
        .await
        .map_err(|_| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    let classes = pricing::classes(&tx).await.map_err(internal)?;
    let class = pricing::class_of(&tx, Some(&customer))
        .await
        .map_err(internal)?;
    let enabled = pricing::enabled(&tx).await.map_err(internal)?;
    let class_rows = match &class {
        Some(c) => pricing::class_prices(&tx, &c.id).await.map_err(internal)?,
        None => vec![],
    };
    let overrides = pricing::overrides(&tx, &customer.id)
        .await
        .map_err(internal)?;
    let discounts = crate::terms::product_discounts(&tx, &customer.id)
        .await
        .map_err(internal)?;
    let default_term = customers::settings(&tx)
        .await
        .map_err(internal)?
        .payment_term_days;
    let names: BTreeMap<String, String> = product::Entity::find()
        .all(tx.conn())
        .await
        .map_err(internal)?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    drop(tx);
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let lang = p.lang.code();
    let mut by_product: BTreeMap<String, Vec<&pricing::entity::class_price::Model>> =
        BTreeMap::new();
    for r in class_rows
        .iter()
        .filter(|r| enabled.contains(&r.product_id))
    {
        by_product.entry(r.product_id.clone()).or_default().push(r);
    }
    let class_currency = class
        .as_ref()
        .map(|c| c.currency.clone())
        .unwrap_or_else(|| "EUR".into());
    // Cards for products with an override, the one just submitted, and the one the
    // reseller picked to add; every other product is offered in the picker.
    let open = |pid: &str| {
        overrides.iter().any(|o| o.product_id == pid)
            || feedback.product == pid
            || feedback.open.as_deref() == Some(pid)
    };
    let addable: Vec<Value> = by_product
        .keys()
        .filter(|pid| !open(pid))
        .map(|pid| json!({ "value": pid, "label": names.get(pid).cloned().unwrap_or_else(|| pid.clone()) }))
        .collect();
    let products: Vec<Value> = by_product
        .iter()
        .filter(|(pid, _)| open(pid))
        .map(|(pid, rows)| {
            let own: Vec<_> = overrides.iter().filter(|o| &o.product_id == pid).collect();
            let fb = (feedback.product == *pid).then_some(&feedback);
            let errors = fb.and_then(|f| f.errors.as_ref()).map(|e| e.translated(lang)).unwrap_or_default();
            let submitted = fb.and_then(|f| f.submitted.as_ref());
            let rows: Vec<Value> = rows
                .iter()
                .map(|r| {
                    let key = format!("price.{}.{}", r.action, r.period_months);
                    let value = submitted
                        .and_then(|(_, v)| v.get(&key).cloned())
                        .or_else(|| own.iter().find(|o| o.action == r.action && o.period_months == r.period_months).map(|o| fields::format_amount(o.amount_minor)))
                        .unwrap_or_else(|| fields::format_amount(r.amount_minor));
                    json!({ "action": r.action, "period_months": r.period_months, "class_price": fields::format_amount(r.amount_minor), "value": value, "error": errors.get(&key) })
                })
                .collect();
            let currency = submitted.map(|(c, _)| c.clone()).or_else(|| own.first().map(|o| o.currency.clone())).unwrap_or_else(|| class_currency.clone());
            json!({
                "id": pid, "name": names.get(pid).cloned().unwrap_or_else(|| pid.clone()),
                "has_override": !own.is_empty(), "currency": currency, "rows": rows,
                "errors": { "currency": errors.get("currency") },
                "error": errors.get("product"),
                "warnings": fb.map(|f| serde_json::to_value(&f.warnings).unwrap_or_default()),
            })
        })
        .collect();
    let pct = |bp: i32| fields::format_percent(i64::from(bp));
    let (terms_errors, terms_values) = match &feedback.terms {
        Some((e, v)) => (e.translated(lang), v.clone()),
        None => (
            BTreeMap::new(),
            json!({
                "discount": pct(customer.discount_bp), "skonto": pct(customer.skonto_bp),
                "skonto_days": customer.skonto_days,
                "payment_term_days": if customer.payment_term_days > 0 { customer.payment_term_days.to_string() } else { String::new() },
            }),
        ),
    };
    let product_discounts: Vec<Value> = discounts
        .iter()
        .map(|d| json!({ "product_id": d.product_id, "name": names.get(&d.product_id).cloned().unwrap_or_else(|| d.product_id.clone()), "discount": pct(d.discount_bp) }))
        .collect();
    let product_options: Vec<Value> = names
        .iter()
        .filter(|(id, _)| enabled.contains(*id))
        .map(|(id, name)| json!({ "value": id, "label": name }))
        .collect();
    let classes: Vec<Value> = classes.iter().map(|c| json!({ "id": c.id, "name": c.name, "currency": c.currency, "is_default": c.is_default })).collect();
    let status = if feedback.errors.is_some()
        || feedback.terms.as_ref().is_some_and(|(e, _)| !e.is_empty())
    {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    p.render_status(
        status,
        "console/customer_prices.html",
        "title.customer_prices",
        "customers",
        json!({
            "customer": { "id": customer.id, "number": customer.number, "price_class_id": customer.price_class_id },
            "classes": classes,
            "products": products,
            "currencies": choices(lang, fields::CURRENCIES),
            "can_edit_billing": user.member.role.can(Perm::EditBilling),
            "terms": terms_values, "terms_errors": terms_errors, "default_term": default_term,
            "product_discounts": product_discounts, "product_options": product_options,
            "addable": addable,
        }),
    )
}

#[handler]
pub async fn show(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ViewCustomers>,
    Path(id): Path<String>,
    Query(q): Query<OpenProduct>,
) -> poem::Result<Response> {
    let feedback = Feedback {
        open: q.product,
        ..Default::default()
    };
    render(state, session, req, &user, &id, feedback).await
}

#[derive(serde::Deserialize)]
pub struct OpenProduct {
    product: Option<String>,
}

#[handler]
pub async fn set_class(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let customer = customers::get(&tx, &id)
        .await
        .map_err(|_| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    let class = Some(form.get("price_class_id")).filter(|c| !c.is_empty());
    match pricing::assign_class(&tx, &user.member.email, &customer, class).await {
        Ok(()) => tx.commit().await.map_err(internal)?,
        Err(PricingError::Invalid(e)) => {
            drop(tx);
            return render(
                state,
                session,
                req,
                &user,
                &id,
                Feedback {
                    errors: Some(e),
                    ..Default::default()
                },
            )
            .await;
        }
        Err(e) => return Err(internal(e)),
    }
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    flash(session, "success", p.t("flash.prices_saved"));
    Ok(redirect(&format!("/console/customers/{id}/prices")))
}

#[handler]
pub async fn set_override(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    Path((id, product_id)): Path<(String, String)>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let customer = customers::get(&tx, &id)
        .await
        .map_err(|_| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    let mut submitted = BTreeMap::new();
    let mut rows: Vec<PriceInput> = Vec::new();
    for (key, value) in form.pairs() {
        if let Some(rest) = key.strip_prefix("price.")
            && let Some((action, period)) = rest.rsplit_once('.')
            && let Ok(period) = period.parse::<i32>()
        {
            submitted.insert(key.to_owned(), value.to_owned());
            rows.push((action.to_owned(), period, value.to_owned()));
        }
    }
    let currency = form.get("currency").to_owned();
    let result = if form.get("copy_class") == "1" {
        pricing::copy_class_to_override(&tx, &user.member.email, &customer, &product_id)
            .await
            .map(|_| vec![])
    } else {
        pricing::set_override(
            &tx,
            &user.member.email,
            &customer,
            &product_id,
            &currency,
            &rows,
        )
        .await
    };
    match result {
        Ok(warnings) => {
            tx.commit().await.map_err(internal)?;
            if warnings.is_empty() {
                let p = page(state, session, req, &user.tenant, Some(&user.member));
                flash(session, "success", p.t("flash.prices_saved"));
                Ok(redirect(&format!("/console/customers/{id}/prices")))
            } else {
                render(
                    state,
                    session,
                    req,
                    &user,
                    &id,
                    Feedback {
                        product: product_id,
                        warnings,
                        ..Default::default()
                    },
                )
                .await
            }
        }
        Err(PricingError::Invalid(errors)) => {
            drop(tx);
            let feedback = Feedback {
                product: product_id,
                errors: Some(errors),
                submitted: Some((currency, submitted)),
                ..Default::default()
            };
            render(state, session, req, &user, &id, feedback).await
        }
        Err(PricingError::NotFound) => Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
        Err(e) => Err(internal(e)),
    }
}

/// Commits a terms change and returns to the page, or shows the errors with what
/// was typed (nothing written).
#[allow(clippy::too_many_arguments)]
async fn finish_terms(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &StaffUser,
    id: &str,
    tx: relabel_tenants::TenantTx,
    result: Result<(), TermsError>,
    values: Value,
) -> poem::Result<Response> {
    match result {
        Ok(()) => {
            tx.commit().await.map_err(internal)?;
            let p = page(state, session, req, &user.tenant, Some(&user.member));
            flash(session, "success", p.t("flash.terms_saved"));
            Ok(redirect(&format!("/console/customers/{id}/prices")))
        }
        Err(TermsError::Invalid(errors)) => {
            drop(tx);
            let feedback = Feedback {
                terms: Some((errors, values)),
                ..Default::default()
            };
            render(state, session, req, user, id, feedback).await
        }
        Err(e) => Err(internal(e)),
    }
}

#[handler]
pub async fn set_terms(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let customer = customers::get(&tx, &id)
        .await
        .map_err(|_| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    let input = TermsInput {
        discount: form.get("discount").to_owned(),
        skonto: form.get("skonto").to_owned(),
        skonto_days: form.get("skonto_days").to_owned(),
        payment_term_days: form.get("payment_term_days").to_owned(),
    };
    let result = terms::set_customer_terms(&tx, &user.member.email, &customer, &input)
        .await
        .map(|_| ());
    let values = json!({ "discount": input.discount, "skonto": input.skonto, "skonto_days": input.skonto_days, "payment_term_days": input.payment_term_days });
    finish_terms(state, session, req, &user, &id, tx, result, values).await
}

#[handler]
pub async fn set_discount(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let customer = customers::get(&tx, &id)
        .await
        .map_err(|_| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    let result = terms::set_product_discount(
        &tx,
        &user.member.email,
        &customer,
        form.get("product_id"),
        form.get("discount"),
    )
    .await;
    let mut values = json!({
        "discount": fields::format_percent(i64::from(customer.discount_bp)),
        "skonto": fields::format_percent(i64::from(customer.skonto_bp)),
        "skonto_days": customer.skonto_days,
        "payment_term_days": customer.payment_term_days,
    });
    values["product_id"] = json!(form.get("product_id"));
    values["product_discount"] = json!(form.get("discount"));
    finish_terms(state, session, req, &user, &id, tx, result, values).await
}

#[handler]
pub async fn remove_override(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    Path((id, product_id)): Path<(String, String)>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let customer = customers::get(&tx, &id)
        .await
        .map_err(|_| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    match pricing::remove_override(&tx, &user.member.email, &customer, &product_id).await {
        Ok(()) => tx.commit().await.map_err(internal)?,
        Err(PricingError::NotFound) => return Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
        Err(e) => return Err(internal(e)),
    }
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    flash(session, "success", p.t("flash.prices_saved"));
    Ok(redirect(&format!("/console/customers/{id}/prices")))
}
