//! Payments and dunning in the reseller console (issue 9): receivables (Y1), bank
//! statement import with the review list (Y6), debit runs with their pain.008
//! files (Y7), dunning runs with preview and letters (D1-D4), payment settings, and
//! the actions on a customer's overview (record a payment, return a debit, waive
//! or add charges, court order, letter text).

use super::billing::{flash_errors, fmt_amount, pdf_response, xml_response};
use super::{Can, EditBilling, ViewCustomers, page};
use crate::app::AppState;
use crate::auth::csrf;
use crate::billing::{self, BillingError, invoice};
use crate::customers::customer;
use crate::http::{FormData, flash, internal, redirect};
use crate::payments::{self, PaymentInput, bank_import, camt, dunning, sepa};
use chrono::Utc;
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Multipart, Path};
use poem::{Request, Response, Route, get, handler, post};
use relabel_tenants::TenantTx;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

pub fn routes() -> Route {
    Route::new()
        .at("/", get(overview))
        .at("/settings", get(settings_form).post(settings_save))
        .at("/levels", post(levels_save))
        .at("/rates", post(rate_save))
        .at("/import", post(import))
        .at("/lines/:id", post(resolve_line))
        .at("/debit-runs", post(debit_run))
        .at("/debit-runs/:id/xml", get(debit_xml))
        .at("/dunning", post(dunning_run))
        .at("/letters/:id/pdf", get(letter_pdf))
        .at("/letters/:id/text", post(letter_text))
        .at("/items/:id/adjust", post(adjust))
        .at("/items/:id/court-order", post(court_order))
        .at("/debit-items/:id/return", post(return_debit))
        .at("/customers/:id", post(record))
        .at("/refunds/:id", post(refund))
}

/// Commits and flashes `ok` on success; field errors and refusals go back to the
/// page as a flash, nothing written.
pub(crate) async fn finish<T>(
    session: &Session,
    p: &crate::http::Page<'_>,
    tx: TenantTx,
    result: Result<T, BillingError>,
    ok: String,
    back: &str,
) -> poem::Result<Response> {
    match result {
        Ok(_) => {
            tx.commit().await.map_err(internal)?;
            flash(session, "success", ok);
        }
        Err(BillingError::Invalid(e)) => flash_errors(session, p, &e),
        Err(BillingError::Refused(why)) => flash(session, "error", why.to_owned()),
        Err(BillingError::NotFound) => return Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
        Err(e) => return Err(internal(e)),
    }
    Ok(redirect(back))
}

#[handler]
async fn overview(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ViewCustomers>,
) -> poem::Result<Response> {
    let now = Utc::now();
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let receivables = payments::receivables(&tx, now).await.map_err(internal)?;
    let bank = bank_view(&tx).await.map_err(internal)?;
    let settings = billing::settings(&tx).await.map_err(internal)?;
    let debit_preview = sepa::candidates(&tx, &settings, now)
        .await
        .map_err(internal)?;
    let debit_runs = sepa::runs(&tx).await.map_err(internal)?;
    let dunning_preview = dunning::plan(&tx, now).await.map_err(internal)?;
    let dunning_runs = dunning::runs(&tx).await.map_err(internal)?;
    drop(tx);
    let chart_max = receivables
        .iter()
        .flat_map(|r| {
            r.overdue_minor
                .iter()
                .copied()
                .chain([r.not_due_minor, r.collection_pending_minor])
        })
        .max()
        .unwrap_or(0)
        .max(1);
    let bar = |v: i64| v * 100 / chart_max;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    p.render(
        "console/payments.html",
        "title.payments",
        "payments",
        json!({
            "receivables": receivables.iter().map(|r| json!({
                "currency": r.currency, "items": r.items,
                "open": fmt_amount(r.open_minor, &r.currency),
                "collected": fmt_amount(r.collected_month_minor, &r.currency),
                "buckets": [
                    {"label": p.t("payments.collection_pending"), "amount": fmt_amount(r.collection_pending_minor, &r.currency), "pct": bar(r.collection_pending_minor), "tone": "ok"},
                    {"label": p.t("payments.not_due"), "amount": fmt_amount(r.not_due_minor, &r.currency), "pct": bar(r.not_due_minor), "tone": "ok"},
                    {"label": p.t("payments.overdue_30"), "amount": fmt_amount(r.overdue_minor[0], &r.currency), "pct": bar(r.overdue_minor[0]), "tone": "warn"},
                    {"label": p.t("payments.overdue_60"), "amount": fmt_amount(r.overdue_minor[1], &r.currency), "pct": bar(r.overdue_minor[1]), "tone": "warn"},
                    {"label": p.t("payments.overdue_90"), "amount": fmt_amount(r.overdue_minor[2], &r.currency), "pct": bar(r.overdue_minor[2]), "tone": "bad"},
                    {"label": p.t("payments.overdue_more"), "amount": fmt_amount(r.overdue_minor[3], &r.currency), "pct": bar(r.overdue_minor[3]), "tone": "bad"},
                ],
            })).collect::<Vec<_>>(),
            "review": bank["review"],
            "imports": bank["imports"],
            "debit_ready": sepa::valid_creditor_id(&settings.creditor_id) && !settings.iban.is_empty(),
            "debit_preview": debit_preview.iter().map(|(c, _)| json!({
                "number": c.number, "customer": format!("{} {}", c.customer_number, c.name),
                "customer_id": c.customer_id, "amount": fmt_amount(c.amount_minor, "EUR"), "sequence": c.sequence,
            })).collect::<Vec<_>>(),
            "debit_runs": debit_runs.iter().map(|r| json!({
                "id": r.id, "at": r.created_at.format("%Y-%m-%d %H:%M").to_string(),
                "collect_on": r.collect_on.format("%Y-%m-%d").to_string(), "items": r.items,
                "total": fmt_amount(r.total_minor, &r.currency), "version": r.version, "message_id": r.message_id,
            })).collect::<Vec<_>>(),
            "dunning_preview": dunning_preview.iter().map(|l| json!({
                "customer": format!("{} {}", l.customer_number, l.name), "customer_id": l.customer_id,
                "level": l.level, "label": l.label, "items": l.steps.iter().map(|s| s.number.clone()).collect::<Vec<_>>(),
                "fee": fmt_amount(l.fee_minor, &l.currency), "interest": fmt_amount(l.interest_minor, &l.currency),
                "total": fmt_amount(l.total_minor, &l.currency), "suspend": l.suspend,
            })).collect::<Vec<_>>(),
            "dunning_runs": dunning_runs.iter().take(20).map(|r| json!({
                "at": r.created_at.format("%Y-%m-%d %H:%M").to_string(), "letters": r.letters, "items": r.items,
                "fees": fmt_amount(r.fees_minor, "EUR"), "interest": fmt_amount(r.interest_minor, "EUR"), "actor": r.actor,
            })).collect::<Vec<_>>(),
        }),
    )
}

/// The largest statement file accepted.
const MAX_STATEMENT_BYTES: u64 = 16 * 1024 * 1024;

#[handler]
async fn import(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    multipart: Multipart,
) -> poem::Result<Response> {
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    import_statement(
        session,
        &p,
        tx,
        multipart,
        &user.member.email,
        "/console/payments",
    )
    .await
}

/// Reads a CAMT upload (its csrf field and the file) and imports it into the
/// books of `tx` (a reseller's or the operator's); the flash tells the counts.
pub(crate) async fn import_statement(
    session: &Session,
    p: &crate::http::Page<'_>,
    tx: TenantTx,
    mut multipart: Multipart,
    actor: &str,
    back: &str,
) -> poem::Result<Response> {
    let mut token = None;
    let mut name = String::new();
    let mut file = Vec::new();
    while let Some(field) = multipart.next_field().await? {
        match field.name() {
            Some("csrf") => token = Some(field.text().await?),
            Some("file") => {
                name = field.file_name().unwrap_or("statement.xml").to_owned();
                let mut reader = field.into_async_read().take(MAX_STATEMENT_BYTES + 1);
                reader.read_to_end(&mut file).await.map_err(internal)?;
            }
            _ => {}
        }
    }
    csrf::verify(session, token.as_deref())?;
    let text = match String::from_utf8(file) {
        Ok(t) if (t.len() as u64) <= MAX_STATEMENT_BYTES && !t.trim().is_empty() => t,
        _ => {
            flash(session, "error", format!("file: {}", p.t("err.camt_xml")));
            return Ok(redirect(back));
        }
    };
    let result = camt::import(&tx, &name, &text, actor).await;
    let ok = match &result {
        Ok(i) => {
            let duplicates = camt::duplicates_of(&tx, &i.id).await.map_err(internal)?;
            let mut ok = format!(
                "{} {} · {} {} · {} {} · {} {}",
                p.t("payments.imported"),
                i.lines,
                p.t("payments.booked"),
                i.booked,
                p.t("payments.to_review"),
                i.review,
                p.t("payments.line_errors"),
                i.errors
            );
            if duplicates > 0 {
                ok.push_str(&format!(" · {} {duplicates}", p.t("payments.duplicates")));
            }
            ok
        }
        Err(_) => String::new(),
    };
    finish(session, p, tx, result, ok, back).await
}

/// The review list and the last imports of a set of books, for the page.
pub(crate) async fn bank_view(tx: &TenantTx) -> Result<Value, sea_orm::DbErr> {
    let review = camt::review_lines(tx).await?;
    let imports = bank_import::Entity::find()
        .order_by_desc(bank_import::Column::CreatedAt)
        .limit(10)
        .all(tx.conn())
        .await?;
    Ok(json!({
        "review": review.iter().map(|l| json!({
            "id": l.id, "booked_on": l.booked_on, "amount": fmt_amount(l.amount_minor, &l.currency),
            "reference": l.reference, "counterparty": l.counterparty, "iban": l.iban, "error": l.error,
            "foreign": l.error.as_deref().is_some_and(|e| e.contains("rate")),
        })).collect::<Vec<_>>(),
        "imports": imports.iter().map(|i| json!({
            "file": i.file_name, "statement": i.statement_id, "lines": i.lines, "booked": i.booked,
            "review": i.review, "errors": i.errors, "at": i.created_at.format("%Y-%m-%d %H:%M").to_string(),
        })).collect::<Vec<_>>(),
    }))
}

/// A customer by number (what staff type), else by id.
async fn customer_by(tx: &TenantTx, key: &str) -> Result<Option<customer::Model>, BillingError> {
    let key = key.trim();
    if key.is_empty() {
        return Ok(None);
    }
    Ok(customer::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(customer::Column::Number.eq(key))
                .add(customer::Column::Id.eq(key)),
        )
        .one(tx.conn())
        .await?)
}

/// An invoice id from its number (or id), of `customer_id`; empty stays empty.
async fn invoice_by(tx: &TenantTx, customer_id: &str, key: &str) -> Result<String, BillingError> {
    let key = key.trim();
    if key.is_empty() {
        return Ok(String::new());
    }
    Ok(invoice::Entity::find()
        .filter(invoice::Column::CustomerId.eq(customer_id))
        .filter(
            sea_orm::Condition::any()
                .add(invoice::Column::Number.eq(key))
                .add(invoice::Column::Id.eq(key)),
        )
        .one(tx.conn())
        .await?
        .map(|i| i.id)
        // An unknown number is reported on the field by `record`.
        .unwrap_or_else(|| key.to_owned()))
}

#[handler]
async fn resolve_line(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    resolve_statement_line(
        session,
        &p,
        tx,
        &id,
        &form,
        &user.member.email,
        "/console/payments",
    )
    .await
}

/// Books a reviewed statement line to the customer (by number) and invoice
/// staff typed, or ignores it, in the books of `tx`.
pub(crate) async fn resolve_statement_line(
    session: &Session,
    p: &crate::http::Page<'_>,
    tx: TenantTx,
    id: &str,
    form: &FormData,
    actor: &str,
    back: &str,
) -> poem::Result<Response> {
    let ignore = form.get("action") == "ignore";
    let result = async {
        let (cid, iid) = if ignore {
            (String::new(), String::new())
        } else {
            let c = customer_by(&tx, form.get("customer"))
                .await?
                .ok_or_else(|| {
                    BillingError::Invalid(crate::validation::FieldErrors::single(
                        "customer",
                        "err.customer_unknown",
                    ))
                })?;
            let iid = invoice_by(&tx, &c.id, form.get("invoice")).await?;
            (c.id, iid)
        };
        camt::resolve_line(&tx, id, &cid, &iid, form.get("rate"), actor).await
    }
    .await;
    let ok = p.t(if ignore {
        "payments.line_ignored"
    } else {
        "payments.line_booked"
    });
    finish(session, p, tx, result, ok.to_owned(), back).await
}

#[handler]
async fn debit_run(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    form: FormData,
) -> poem::Result<Response> {
    run_action(
        state,
        session,
        req,
        &user,
        &form,
        Action::DebitRun,
        "/console/payments",
    )
    .await
}

#[handler]
async fn debit_xml(
    Data(state): Data<&AppState>,
    user: Can<ViewCustomers>,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let run = payments::debit_run::Entity::find_by_id(id)
        .one(tx.conn())
        .await
        .map_err(internal)?
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    Ok(xml_response(
        &format!("{}.pain.008.001.{}.xml", run.message_id, run.version),
        run.xml,
    ))
}

#[handler]
async fn dunning_run(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    form: FormData,
) -> poem::Result<Response> {
    run_action(
        state,
        session,
        req,
        &user,
        &form,
        Action::DunningRun,
        "/console/payments",
    )
    .await
}

#[handler]
async fn letter_pdf(
    Data(state): Data<&AppState>,
    user: Can<ViewCustomers>,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    match dunning::letter_pdf(state, &user.tenant, &id)
        .await
        .map_err(internal)?
    {
        Some((l, pdf)) => Ok(pdf_response(&format!("dunning-{}", l.day), pdf)),
        None => Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
    }
}

/// The customer a letter, item or debit belongs to, for the way back.
fn back_to(customer_id: &str) -> String {
    format!("/console/customers/{customer_id}/account")
}

#[handler]
async fn letter_text(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let letter = payments::dunning_letter::Entity::find_by_id(id.clone())
        .one(tx.conn())
        .await
        .map_err(internal)?
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    let result = dunning::letter_text(&tx, &id, form.get("text"), &user.member.email).await;
    let ok = p.t("payments.letter_resent").to_owned();
    finish(session, &p, tx, result, ok, &back_to(&letter.customer_id)).await
}

async fn item_of(tx: &TenantTx, id: &str) -> poem::Result<invoice::Model> {
    invoice::Entity::find_by_id(id.to_owned())
        .filter(invoice::Column::Kind.eq("invoice"))
        .one(tx.conn())
        .await
        .map_err(internal)?
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))
}

#[handler]
async fn adjust(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let inv = item_of(&tx, &id).await?;
    let result = dunning::adjust(
        &tx,
        &id,
        form.get("kind"),
        form.get("amount"),
        form.get("reason"),
        &user.member.email,
    )
    .await;
    let ok = format!("{} {}", p.t("payments.adjusted"), inv.number);
    finish(session, &p, tx, result, ok, &back_to(&inv.customer_id)).await
}

#[handler]
async fn court_order(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let inv = item_of(&tx, &id).await?;
    let result = dunning::court_order(&tx, &id, &user.member.email).await;
    let ok = format!("{} {}", p.t("payments.court_marked"), inv.number);
    finish(session, &p, tx, result, ok, &back_to(&inv.customer_id)).await
}

#[handler]
async fn return_debit(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let item = payments::debit_item::Entity::find_by_id(id)
        .one(tx.conn())
        .await
        .map_err(internal)?
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    let result = payments::return_debit(
        &tx,
        &item.end_to_end_id,
        form.get("reason"),
        &user.member.email,
    )
    .await;
    let ok = p.t("payments.returned").to_owned();
    finish(session, &p, tx, result, ok, &back_to(&item.customer_id)).await
}

/// Staff record a payment on the customer overview (Y6).
#[handler]
async fn record(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let invoice_id = invoice_by(&tx, &id, form.get("invoice"))
        .await
        .map_err(internal)?;
    let result = payments::record(
        &tx,
        &PaymentInput {
            customer_id: id.clone(),
            amount: form.get("amount").into(),
            currency: form.get("currency").into(),
            rate: form.get("rate").into(),
            method: form.get("method").into(),
            reference: form.get("reference").into(),
            invoice_id,
            booked_on: form.get("booked_on").into(),
            note: form.get("note").into(),
            external_id: None,
        },
        &user.member.email,
    )
    .await;
    let ok = match &result {
        Ok(pay) => format!(
            "{} {}",
            p.t("payments.recorded"),
            fmt_amount(pay.amount_minor, &pay.currency)
        ),
        Err(_) => String::new(),
    };
    finish(session, &p, tx, result, ok, &back_to(&id)).await
}

#[handler]
async fn settings_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let mut ctx = settings_view(state, &tx, user.tenant.id.as_str())
        .await
        .map_err(internal)?;
    drop(tx);
    ctx["base"] = json!("/console/payments");
    page(state, session, req, &user.tenant, Some(&user.member)).render(
        "console/payment_settings.html",
        "title.payment_settings",
        "payments",
        ctx,
    )
}

#[handler]
async fn settings_save(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    form: FormData,
) -> poem::Result<Response> {
    let back = "/console/payments/settings";
    run_action(state, session, req, &user, &form, Action::Settings, back).await
}

/// What the customer overview shows of payments (A10): payments, debit items,
/// dunning letters.
pub(super) async fn customer_view(
    tx: &TenantTx,
    customer_id: &str,
) -> Result<serde_json::Value, sea_orm::DbErr> {
    let pays = payments::of_customer(tx, customer_id).await?;
    let debits = payments::debit_item::Entity::find()
        .filter(payments::debit_item::Column::CustomerId.eq(customer_id))
        .order_by_desc(payments::debit_item::Column::EndToEndId)
        .all(tx.conn())
        .await?;
    let letters = dunning::letters_of(tx, customer_id).await?;
    Ok(json!({
        "payments": pays.iter().map(|x| json!({
            "at": x.booked_at.format("%Y-%m-%d").to_string(), "method": x.method,
            "amount": fmt_amount(x.amount_minor, &x.currency),
            "original": (x.original_currency != x.currency).then(|| format!("{} @ {}", fmt_amount(x.original_minor, &x.original_currency), x.rate)),
            "skonto": (x.skonto_minor > 0).then(|| fmt_amount(x.skonto_minor, &x.currency)),
            "reference": x.reference, "actor": x.actor, "id": x.id,
            "refundable": x.external_id.as_deref().is_some_and(|e| e.starts_with("stripe:")) && x.refunded_minor < x.amount_minor,
            "refunded": (x.refunded_minor > 0).then(|| fmt_amount(x.refunded_minor, &x.currency)),
        })).collect::<Vec<_>>(),
        "debits": debits.iter().map(|d| json!({
            "id": d.id, "e2e": d.end_to_end_id, "amount": fmt_amount(d.amount_minor, "EUR"),
            "sequence": d.sequence, "status": d.status, "reason": d.return_reason,
        })).collect::<Vec<_>>(),
        "letters": letters.iter().map(|l| json!({
            "id": l.id, "day": l.day, "level": l.level, "total": fmt_amount(l.total_minor, &l.currency),
            "fee": fmt_amount(l.fee_minor, &l.currency), "interest": fmt_amount(l.interest_minor, &l.currency),
            "text": l.text, "delivered": l.delivered_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()),
        })).collect::<Vec<_>>(),
        "methods": payments::METHODS,
        "reasons": payments::RETURN_REASONS,
        "today": Utc::now().format("%Y-%m-%d").to_string(),
    }))
}

/// Refunds a Stripe payment (all or part) from the customer overview.
#[handler]
async fn refund(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let pay = payments::payment::Entity::find_by_id(id.clone())
        .one(tx.conn())
        .await
        .map_err(internal)?
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    let result =
        payments::stripe::refund(state, &tx, &id, form.get("amount"), &user.member.email).await;
    let ok = p.t("payments.refunded").to_owned();
    finish(session, &p, tx, result, ok, &back_to(&pay.customer_id)).await
}

#[handler]
async fn levels_save(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    form: FormData,
) -> poem::Result<Response> {
    let back = "/console/payments/settings";
    run_action(state, session, req, &user, &form, Action::Levels, back).await
}

#[handler]
async fn rate_save(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    form: FormData,
) -> poem::Result<Response> {
    let back = "/console/payments/settings";
    run_action(state, session, req, &user, &form, Action::Rate, back).await
}

async fn run_action(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &super::StaffUser,
    form: &FormData,
    action: Action,
    back: &str,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let tx = state
        .tenancy
        .begin_write(&user.tenant)
        .await
        .map_err(internal)?;
    let (result, ok) = act(state, &tx, &p, form, action, &user.member.email).await;
    finish(session, &p, tx, result, ok, back).await
}

/// What the settings partial shows: SEPA and Stripe values, the levels and the
/// base rates of `tx`'s books (a reseller's or the operator's).
pub(crate) async fn settings_view(
    state: &AppState,
    tx: &TenantTx,
    tenant_id: &str,
) -> Result<Value, sea_orm::DbErr> {
    let s = billing::settings(tx).await?;
    let levels = dunning::levels(tx).await?;
    let rates = payments::base_rate::Entity::find()
        .order_by_desc(payments::base_rate::Column::ValidFrom)
        .all(tx.conn())
        .await?;
    Ok(json!({
        "stripe": {
            "publishable": s.stripe_publishable,
            "secret_set": s.stripe_secret.is_some(),
            "webhook_set": s.stripe_webhook_secret.is_some(),
            "webhook_url": format!("{}/hooks/stripe/{tenant_id}", state.config.public_origin(&state.config.platform_host)),
        },
        "values": {
            "creditor_id": s.creditor_id, "debit_delay_days": s.debit_delay_days,
            "debit_lead_days": s.debit_lead_days, "return_fee": billing::money::decimal(s.return_fee_minor),
            "sepa_version": s.sepa_version,
            "auto_debit": s.auto_debit, "auto_dunning": s.auto_dunning,
        },
        "levels": levels.iter().map(|l| json!({
            "level": l.level, "label": l.label, "days": l.days, "fee": billing::money::decimal(l.fee_minor),
            "interest": l.interest, "suspend": l.suspend,
        })).collect::<Vec<_>>(),
        "rates": rates.iter().map(|r| json!({"from": r.valid_from, "rate": billing::money::percent(r.rate_bp)})).collect::<Vec<_>>(),
    }))
}

/// What staff do to one set of books: a reseller's, or the operator's (T5).
#[derive(Clone, Copy)]
pub(crate) enum Action {
    /// SEPA and Stripe settings.
    Settings,
    /// The dunning levels (`days_N`, `fee_N`, `interest_N`, `suspend_N`).
    Levels,
    /// A base rate (`valid_from`, `rate`).
    Rate,
    DebitRun,
    DunningRun,
}

/// Runs `action` in `tx`; returns its outcome and the message on success.
pub(crate) async fn act(
    state: &AppState,
    tx: &TenantTx,
    p: &crate::http::Page<'_>,
    form: &FormData,
    action: Action,
    actor: &str,
) -> (Result<(), BillingError>, String) {
    let saved = || p.t("flash.settings_saved").to_owned();
    match action {
        Action::Settings => {
            let input = form
                .pairs()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let result = match payments::save_settings(tx, &input).await {
                Ok(_) => {
                    payments::stripe::save_keys(
                        state,
                        tx,
                        form.get("stripe_publishable"),
                        form.get("stripe_secret"),
                        form.get("stripe_webhook_secret"),
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            (result, saved())
        }
        Action::Levels => {
            let input = match dunning::levels(tx).await {
                Ok(levels) => levels
                    .iter()
                    .map(|l| dunning::LevelInput {
                        level: l.level,
                        days: form.get(&format!("days_{}", l.level)).to_owned(),
                        fee: form.get(&format!("fee_{}", l.level)).to_owned(),
                        interest: !form.get(&format!("interest_{}", l.level)).is_empty(),
                        suspend: !form.get(&format!("suspend_{}", l.level)).is_empty(),
                    })
                    .collect::<Vec<_>>(),
                Err(e) => return (Err(e.into()), String::new()),
            };
            (dunning::save_levels(tx, &input, actor).await, saved())
        }
        Action::Rate => (
            dunning::save_rate(tx, form.get("valid_from"), form.get("rate"), actor).await,
            saved(),
        ),
        Action::DebitRun => match sepa::run(tx, Utc::now(), actor).await {
            Ok(r) => (
                Ok(()),
                format!(
                    "{} {} · {}",
                    p.t("payments.debit_done"),
                    r.items,
                    fmt_amount(r.total_minor, &r.currency)
                ),
            ),
            Err(e) => (Err(e), String::new()),
        },
        Action::DunningRun => match dunning::run(tx, Utc::now(), actor).await {
            Ok(r) => (
                Ok(()),
                format!("{} {}", p.t("payments.dunning_done"), r.letters),
            ),
            Err(e) => (Err(e), String::new()),
        },
    }
}
