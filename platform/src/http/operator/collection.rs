//! The operator collects from resellers (T5) the way a reseller collects from
//! its customers, with the same code on the operator's books: payments entered
//! against platform invoices, SEPA direct debits from resellers with a mandate,
//! Stripe (keys and webhook of the books), dunning with fees and interest whose
//! last level pauses the reseller's storefront ordering until paid.

use super::{OperatorUser, page};
use crate::app::AppState;
use crate::auth::csrf;
use crate::billing::{self, BillingError};
use crate::customers::{self, Actor, CustomerError, CustomerInput};
use crate::http::console::billing::fmt_amount;
use crate::http::console::payments::{Action, act};
use crate::http::{FormData, internal};
use crate::payments::{self, dunning, sepa};
use chrono::Utc;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path};
use poem::{Request, Response, Route, get, handler, post};
use relabel_tenants::{Tenant, TenantTx};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};

pub fn routes() -> Route {
    Route::new()
        .at("/settings", post(settings_save))
        .at("/legal", get(legal_form).post(legal_save))
        .at("/levels", post(levels_save))
        .at("/rates", post(rate_save))
        .at("/debit-runs", post(debit_run))
        .at("/debit-runs/:id/xml", get(debit_xml))
        .at("/dunning", post(dunning_run))
        .at("/letters/:id/pdf", get(letter_pdf))
        .at("/resellers/:id/payment", post(record))
        .at("/resellers/:id/mandate", post(mandate))
        .at("/import", post(import))
        .at("/lines/:id", post(resolve_line))
        .at("/returns", post(return_debit))
}

const BACK: &str = "/operator/billing";

async fn books(state: &AppState) -> poem::Result<(Tenant, TenantTx)> {
    let t = state.tenancy.platform_books().await.map_err(internal)?;
    let tx = state.tenancy.begin(&t).await.map_err(internal)?;
    Ok((t, tx))
}

/// What the billing page shows of collection: settings, the dunning preview,
/// debit runs and letters, each reseller's open amount and mandate.
pub async fn view(state: &AppState) -> anyhow::Result<Value> {
    let t = state.tenancy.platform_books().await?;
    let tx = state.tenancy.begin(&t).await?;
    let mut settings =
        crate::http::console::payments::settings_view(state, &tx, t.id.as_str()).await?;
    settings["base"] = json!("/operator/billing/collection");
    let preview = dunning::plan(&tx, Utc::now()).await?;
    let runs = sepa::runs(&tx).await?;
    let letters = payments::dunning_letter::Entity::find()
        .order_by_desc(payments::dunning_letter::Column::CreatedAt)
        .limit(50)
        .all(tx.conn())
        .await?;
    let resellers: Vec<customers::customer::Model> =
        customers::customer::Entity::find().all(tx.conn()).await?;
    // Open per reseller: one read of every open platform invoice.
    let mut open: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    for inv in billing::invoice::Entity::find()
        .filter(billing::invoice::Column::Kind.eq("invoice"))
        .filter(billing::invoice::Column::Status.eq("open"))
        .all(tx.conn())
        .await?
    {
        *open.entry(inv.customer_id.clone()).or_default() += inv.open_minor();
    }
    let bank = crate::http::console::payments::bank_view(&tx).await?;
    let collected = payments::debit_item::Entity::find()
        .filter(
            payments::debit_item::Column::Status
                .is_in([payments::sepa::PENDING, payments::sepa::COLLECTED]),
        )
        .order_by_desc(payments::debit_item::Column::Id)
        .limit(50)
        .all(tx.conn())
        .await?;
    Ok(json!({
        "bank": bank,
        "return_reasons": payments::RETURN_REASONS,
        "collected": collected.iter().map(|d| json!({
            "end_to_end_id": d.end_to_end_id,
            "reseller": resellers.iter().find(|c| c.id == d.customer_id).map(customers::display_name),
            "amount": fmt_amount(d.amount_minor, "EUR"),
        })).collect::<Vec<_>>(),
        "settings": settings,
        "preview": preview.iter().map(|l| json!({
            "reseller": l.name, "level": l.level, "label": l.label, "items": l.steps.len(),
            "fee": fmt_amount(l.fee_minor, &l.currency), "interest": fmt_amount(l.interest_minor, &l.currency),
            "total": fmt_amount(l.total_minor, &l.currency), "suspend": l.suspend,
        })).collect::<Vec<_>>(),
        "debit_runs": runs.iter().map(|r| json!({
            "id": r.id, "collect_on": r.collect_on.to_string(), "items": r.items,
            "total": fmt_amount(r.total_minor, &r.currency), "version": r.version,
        })).collect::<Vec<_>>(),
        "letters": letters.iter().map(|l| json!({
            "id": l.id, "day": l.day, "level": l.level,
            "reseller": resellers.iter().find(|c| c.id == l.customer_id).map(customers::display_name),
            "total": fmt_amount(l.total_minor, &l.currency),
        })).collect::<Vec<_>>(),
        "resellers": resellers.iter().map(|c| json!({
            "id": c.id, "number": c.number, "name": customers::display_name(c),
            "open": fmt_amount(open.get(&c.id).copied().unwrap_or(0), &c.currency),
            "debit": c.billing_type == "DEBIT" && c.debit_status == "ACTIVE",
            "iban": c.iban, "mandate": c.mandate_reference,
            "suspended": c.suspended_at.map(|t| t.format("%Y-%m-%d").to_string()),
        })).collect::<Vec<_>>(),
    }))
}

/// Commits on success; field errors and refusals go back as a flash.
async fn finish<T>(
    session: &Session,
    p: &crate::http::Page<'_>,
    tx: TenantTx,
    result: Result<T, BillingError>,
    ok: String,
) -> poem::Result<Response> {
    crate::http::console::payments::finish(session, p, tx, result, ok, BACK).await
}

#[handler]
async fn settings_save(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    form: FormData,
) -> poem::Result<Response> {
    run_action(state, session, req, &user, &form, Action::Settings).await
}

#[handler]
async fn debit_run(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    form: FormData,
) -> poem::Result<Response> {
    run_action(state, session, req, &user, &form, Action::DebitRun).await
}

#[handler]
async fn debit_xml(
    Data(state): Data<&AppState>,
    _user: OperatorUser,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    let (_, tx) = books(state).await?;
    let run = payments::debit_run::Entity::find_by_id(id)
        .one(tx.conn())
        .await
        .map_err(internal)?
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    Ok(crate::http::console::billing::xml_response(
        &format!("{}.pain.008.001.{}.xml", run.message_id, run.version),
        run.xml,
    ))
}

#[handler]
async fn dunning_run(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    form: FormData,
) -> poem::Result<Response> {
    run_action(state, session, req, &user, &form, Action::DunningRun).await
}

#[handler]
async fn letter_pdf(
    Data(state): Data<&AppState>,
    _user: OperatorUser,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    let t = state.tenancy.platform_books().await.map_err(internal)?;
    match dunning::letter_pdf(state, &t, &id)
        .await
        .map_err(internal)?
    {
        Some((l, pdf)) => Ok(crate::http::console::billing::pdf_response(
            &format!("dunning-{}", l.day),
            pdf,
        )),
        None => Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
    }
}

/// A payment from a reseller (bank transfer, cash, ...), allocated like a
/// customer's: the named or referenced platform invoice, then the oldest.
#[handler]
async fn record(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, Some(&user.0));
    let (_, tx) = books(state).await?;
    let input = payments::PaymentInput {
        customer_id: id,
        amount: form.get("amount").to_owned(),
        method: form.get("method").to_owned(),
        currency: String::new(),
        rate: String::new(),
        booked_on: form.get("booked_on").to_owned(),
        reference: form.get("reference").to_owned(),
        invoice_id: String::new(),
        note: String::new(),
        external_id: None,
    };
    let result = payments::record(&tx, &input, &user.0.email).await;
    let ok = p.t("payments.recorded").to_owned();
    finish(session, &p, tx, result, ok).await
}

/// A reseller's SEPA mandate for collection by direct debit (billing type DEBIT,
/// active once complete), checked like a customer's.
#[handler]
async fn mandate(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, Some(&user.0));
    let (_, tx) = books(state).await?;
    let Ok(reseller) = customers::get(&tx, &id).await else {
        return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
    };
    let debit = !form.get("iban").trim().is_empty();
    // The account holder is the reseller's company unless named otherwise.
    let holder = match form.get("account_holder").trim() {
        "" if debit => customers::display_name(&reseller),
        h => h.to_owned(),
    };
    let input = CustomerInput {
        iban: Some(form.get("iban").to_owned()),
        bic: Some(form.get("bic").to_owned()),
        account_holder: Some(holder),
        mandate_signed_on: Some(form.get("mandate_signed_on").to_owned()),
        billing_type: Some(if debit { "DEBIT" } else { "BANKTRANSFER" }.to_owned()),
        debit_status: Some(if debit { "ACTIVE" } else { "INACTIVE" }.to_owned()),
        ..Default::default()
    };
    let actor = Actor {
        name: &user.0.email,
        ip: None,
    };
    let result = match customers::update(&tx, &actor, &id, &input).await {
        Ok(c) => Ok(c),
        Err(CustomerError::Invalid(e)) => Err(BillingError::Invalid(e)),
        Err(CustomerError::NotFound) => Err(BillingError::NotFound),
        Err(e) => return Err(internal(e)),
    };
    let ok = p.t("flash.settings_saved").to_owned();
    finish(session, &p, tx, result, ok).await
}

#[handler]
async fn levels_save(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    form: FormData,
) -> poem::Result<Response> {
    run_action(state, session, req, &user, &form, Action::Levels).await
}

#[handler]
async fn rate_save(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    form: FormData,
) -> poem::Result<Response> {
    run_action(state, session, req, &user, &form, Action::Rate).await
}

const LEGAL: &str = "/operator/billing/collection/legal";

/// The operator's legal data on platform invoices and letters, and the bank
/// account direct debits from resellers are collected to (the reseller's form).
#[handler]
async fn legal_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
) -> poem::Result<Response> {
    let (_, tx) = books(state).await?;
    let s = billing::settings(&tx).await.map_err(internal)?;
    drop(tx);
    page(state, session, req, Some(&user.0)).render(
        "console/billing_settings.html",
        "title.billing_settings",
        "billing",
        json!({
            "values": crate::http::console::billing::settings_values(&s),
            "errors": {}, "action": LEGAL,
        }),
    )
}

#[handler]
async fn legal_save(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, Some(&user.0));
    let input = crate::http::console::billing::settings_input(&form);
    let (_, tx) = books(state).await?;
    let before = billing::settings(&tx).await.map_err(internal)?;
    match billing::save_settings(&tx, &input, state.outbound.policy()).await {
        Ok(after) => {
            use crate::http::console::billing::settings_values;
            crate::audit::record_tenant(
                &tx,
                crate::audit::Change::new(&user.0.email, "billing.settings", "platform")
                    .before(settings_values(&before))
                    .after(settings_values(&after)),
            )
            .await
            .map_err(internal)?;
            tx.commit().await.map_err(internal)?;
            crate::http::flash(session, "success", p.t("flash.billing_saved"));
            Ok(crate::http::redirect(LEGAL))
        }
        Err(BillingError::Invalid(e)) => {
            drop(tx);
            p.render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "console/billing_settings.html",
                "title.billing_settings",
                "billing",
                json!({ "values": input, "errors": e.translated(p.lang.code()), "action": LEGAL }),
            )
        }
        Err(e) => Err(internal(e)),
    }
}

async fn run_action(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &OperatorUser,
    form: &FormData,
    action: Action,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, Some(&user.0));
    let (_, tx) = books(state).await?;
    let (result, ok) = act(state, &tx, &p, form, action, &user.0.email).await;
    finish(session, &p, tx, result, ok).await
}

/// A bank statement (CAMT.053) of the operator's account: resellers' transfers
/// matched to platform invoices, return debits booked, the rest to review.
#[handler]
async fn import(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    multipart: poem::web::Multipart,
) -> poem::Result<Response> {
    let p = page(state, session, req, Some(&user.0));
    let (_, tx) = books(state).await?;
    crate::http::console::payments::import_statement(
        session,
        &p,
        tx,
        multipart,
        &user.0.email,
        BACK,
    )
    .await
}

#[handler]
async fn resolve_line(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, Some(&user.0));
    let (_, tx) = books(state).await?;
    crate::http::console::payments::resolve_statement_line(
        session,
        &p,
        tx,
        &id,
        &form,
        &user.0.email,
        BACK,
    )
    .await
}

/// A reseller's direct debit came back (R-transaction): the item reopens with
/// the return fee, the mandate's status follows the reason code.
#[handler]
async fn return_debit(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, Some(&user.0));
    let (_, tx) = books(state).await?;
    let result = payments::return_debit(
        &tx,
        form.get("end_to_end_id"),
        form.get("reason"),
        &user.0.email,
    )
    .await;
    let ok = p.t("payments.returned").to_owned();
    finish(session, &p, tx, result, ok).await
}
