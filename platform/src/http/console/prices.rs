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
use crate::validation::FieldErrors;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// What to show for one product after a failed or warned save.
#[derive(Default)]
struct Feedback {
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
    let products: Vec<Value> = by_product
        .iter()
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
    let classes: Vec<Value> = classes.iter().map(|c| json!({ "id": c.id, "name": c.name, "currency": c.currency, "is_default": c.is_default })).collect();
    let status = if feedback.errors.is_some() {
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
) -> poem::Result<Response> {
    render(state, session, req, &user, &id, Feedback::default()).await
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
