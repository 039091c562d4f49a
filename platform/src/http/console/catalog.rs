//! The reseller's catalog (P2): which of the operator's TLDs and products it sells,
//! and its tax settings (P7).

use super::{Can, ManagePricing, StaffUser, page};
use crate::app::AppState;
use crate::auth::csrf;
use crate::catalog::{self, product};
use crate::customers::{self, CustomerError, fields::format_amount, fields::format_percent};
use crate::http::{FormData, flash, internal, redirect};
use crate::pricing;
use crate::tax::{self, TaxInput};
use crate::validation::FieldErrors;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Query};
use poem::{Request, Response, handler};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use std::collections::BTreeSet;

#[derive(serde::Deserialize, Default)]
pub struct Filter {
    /// A TLD group (`top10`, `europe`, `gtld`, `new-gtld`) or a product kind.
    #[serde(default)]
    group: String,
}

const GROUPS: &[&str] = &["top10", "europe", "gtld", "new-gtld"];

fn shown(p: &product::Model, tld_groups: Option<&str>, group: &str) -> bool {
    match group {
        "" => true,
        g if GROUPS.contains(&g) => tld_groups.is_some_and(|gs| gs.split(',').any(|x| x == g)),
        "products" => p.kind != "domain",
        _ => false,
    }
}

async fn render(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &StaffUser,
    group: &str,
    errors: &FieldErrors,
) -> poem::Result<Response> {
    let db = state.tenancy.backend().shared();
    let overview = catalog::overview(db).await.map_err(internal)?;
    let tlds = catalog::tlds(db).await.map_err(internal)?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let enabled = pricing::enabled(&tx).await.map_err(internal)?;
    let book = state.prices.book(&tx).await.map_err(internal)?;
    drop(tx);
    let default_class = book.class_for(None).cloned();
    let anon = pricing::Pricer::anonymous(book);
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let groups: Vec<Value> = GROUPS
        .iter()
        .map(|g| json!({ "value": g, "label": p.t(&format!("group.{g}")) }))
        .collect();
    let rows: Vec<Value> = overview
        .iter()
        .filter(|(p, _)| p.active)
        .filter_map(|(prod, prices)| {
            let t = prod
                .tld
                .as_deref()
                .and_then(|n| tlds.iter().find(|t| t.name == n));
            if !shown(prod, t.map(|t| t.groups.as_str()), group) {
                return None;
            }
            // The first price of the product (register for domains) stands for it.
            let first = prices.first()?;
            let sell = anon.quote(&prod.id, &first.action, first.period_months);
            Some(json!({
                "id": prod.id, "name": prod.name, "kind": prod.kind,
                "groups": t.map(|t| t.groups.replace(',', ", ")),
                "enabled": enabled.contains(&prod.id),
                "action_label": p.t(&format!("action.{}", first.action)),
                "kind_label": p.t(&format!("kind.{}", prod.kind)),
                "period_months": first.period_months,
                "cost": format!("{} {}", format_amount(first.amount_minor), first.currency),
                "sell": sell.map(|q| format!("{} {}", format_amount(q.net_minor), q.currency)),
            }))
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let errors = errors.translated(p.lang.code());
    p.render_status(
        status,
        "console/catalog.html",
        "title.reseller_catalog",
        "pricing",
        json!({
            "rows": rows, "group": group, "groups": groups, "errors": errors,
            "enabled_count": enabled.len(),
            "default_class": default_class.map(|c| c.name),
        }),
    )
}

#[handler]
pub async fn show(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManagePricing>,
    Query(filter): Query<Filter>,
) -> poem::Result<Response> {
    render(
        state,
        session,
        req,
        &user,
        &filter.group,
        &FieldErrors::default(),
    )
    .await
}

/// Saves the checkboxes of the products shown on the page (a filtered page leaves
/// the others as they are).
#[handler]
pub async fn save(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManagePricing>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let offered: BTreeSet<String> = product::Entity::find()
        .all(state.tenancy.backend().shared())
        .await
        .map_err(internal)?
        .into_iter()
        .filter(|p| p.active)
        .map(|p| p.id)
        .collect();
    let shown: BTreeSet<String> = form.all("shown").into_iter().collect();
    let checked: BTreeSet<String> = form.all("enabled").into_iter().collect();
    let group = form.get("group").to_owned();
    if !shown.is_subset(&offered) || !checked.is_subset(&shown) {
        let errors = FieldErrors::single("enabled", "err.not_offered");
        return render(state, session, req, &user, &group, &errors).await;
    }
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let before = pricing::enabled(&tx).await.map_err(internal)?;
    let on: Vec<String> = checked.difference(&before).cloned().collect();
    let off: Vec<String> = shown
        .difference(&checked)
        .filter(|id| before.contains(*id))
        .cloned()
        .collect();
    pricing::enable(&tx, &on).await.map_err(internal)?;
    for id in &off {
        pricing::disable(&tx, id).await.map_err(internal)?;
    }
    if !on.is_empty() || !off.is_empty() {
        crate::audit::record_tenant(
            &tx,
            crate::audit::Change::new(&user.member.email, "catalog.enablement", "catalog")
                .after(json!({ "enabled": on, "disabled": off })),
        )
        .await
        .map_err(internal)?;
    }
    tx.commit().await.map_err(internal)?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    flash(session, "success", p.t("flash.catalog_saved"));
    let query = if group.is_empty() || !(GROUPS.contains(&group.as_str()) || group == "products") {
        String::new()
    } else {
        format!("?group={group}")
    };
    Ok(redirect(&format!("/console/catalog{query}")))
}

fn render_tax(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &StaffUser,
    values: Value,
    errors: &FieldErrors,
) -> poem::Result<Response> {
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let lang = p.lang.code();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let countries: Vec<Value> = crate::checks::country_options(lang)
        .into_iter()
        .map(|(code, name)| json!({ "value": code, "label": name }))
        .collect();
    p.render_status(
        status,
        "console/tax.html",
        "title.tax",
        "pricing",
        json!({ "values": values, "errors": errors.translated(lang), "countries": countries }),
    )
}

#[handler]
pub async fn tax_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManagePricing>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let s = customers::settings(&tx).await.map_err(internal)?;
    drop(tx);
    let values = json!({
        "tax_country": s.tax_country, "vat_rate": format_percent(i64::from(s.vat_rate_bp)),
        "show_gross": s.show_gross, "payment_term_days": s.payment_term_days,
        "zero_rate": s.zero_rate, "exemption_reason": s.exemption_reason,
    });
    render_tax(state, session, req, &user, values, &FieldErrors::default())
}

#[handler]
pub async fn tax_save(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ManagePricing>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let input = TaxInput {
        country: form.get("tax_country").to_owned(),
        vat_rate: form.get("vat_rate").to_owned(),
        show_gross: form.get("show_gross") == "1",
        payment_term_days: form.get("payment_term_days").to_owned(),
        zero_rate: form.get("zero_rate").to_owned(),
        exemption_reason: form.get("exemption_reason").to_owned(),
    };
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    match tax::update_settings(&tx, &user.member.email, &input).await {
        Ok(()) => tx.commit().await.map_err(internal)?,
        Err(CustomerError::Invalid(errors)) => {
            drop(tx);
            let values = json!({
                "tax_country": input.country, "vat_rate": input.vat_rate,
                "show_gross": input.show_gross, "payment_term_days": input.payment_term_days,
                "zero_rate": input.zero_rate, "exemption_reason": input.exemption_reason,
            });
            return render_tax(state, session, req, &user, values, &errors);
        }
        Err(e) => return Err(internal(e)),
    }
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    flash(session, "success", p.t("flash.settings_saved"));
    Ok(redirect("/console/tax"))
}
