//! Billing in the reseller console (issue 8): billing runs with preview and
//! progress, invoices and credit notes (list, detail, PDF/XML, storno), the
//! customer overview with ledger, statement, individual invoices and manual
//! entries, the exports, and the legal data and billing rules.

use super::{Can, EditBilling, ViewCustomers, page};
use crate::app::AppState;
use crate::audit::{self, Change};
use crate::auth::csrf;
use crate::billing::{self, BillingError, billing_settings, datev, invoice, money, run};
use crate::http::store::account::client_ip;
use crate::http::{FormData, flash, internal, redirect};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path, Query};
use poem::{IntoResponse, Request, Response, Route, get, handler, post};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

pub fn routes() -> Route {
    Route::new()
        .at("/", get(overview).post(start_run))
        .at("/settings", get(settings_form).post(settings_save))
        .at("/export.csv", get(export_csv))
        .at("/datev.csv", get(export_datev))
        .at("/reconcile", get(reconcile))
        .at("/platform/:id/pdf", get(platform_pdf))
        .at("/platform/pay", post(platform_pay))
}

/// The reseller pays the platform (T5): an open platform invoice or a top-up of
/// its platform balance, through the operator's Stripe account. Booked when the
/// operator's webhook (`/hooks/stripe/{books}`) confirms it.
#[handler]
async fn platform_pay(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    form: FormData,
) -> poem::Result<Response> {
    use crate::payments::stripe::{self, PayRefusal};
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let books = state.tenancy.platform_books().await.map_err(internal)?;
    let btx = state.tenancy.begin(&books).await.map_err(internal)?;
    let me = crate::customers::customer::Entity::find_by_id(user.tenant.id.to_string())
        .one(btx.conn())
        .await
        .map_err(internal)?;
    drop(btx);
    let base = crate::http::store::billing::base_url(state, req, &user.tenant.name);
    let refusal = match me {
        None => PayRefusal::NotFound,
        Some(me) => {
            let asked = stripe::PayRequest {
                invoice_id: form.get("invoice"),
                amount: form.get("amount"),
                invoice_label: p.t("invoices.invoice").to_owned(),
                topup_label: p.t("billing.platform_topup_item").to_owned(),
                success_url: format!("{base}/console/billing?paid=1"),
                cancel_url: format!("{base}/console/billing"),
            };
            match stripe::pay_link(state, &books, &me, &asked)
                .await
                .map_err(internal)?
            {
                Ok(url) => return Ok(crate::http::store::billing::see_other(&url)),
                Err(r) => r,
            }
        }
    };
    let key = match refusal {
        PayRefusal::NotFound => "err.open_item",
        PayRefusal::Unavailable => "billing.platform_pay_unavailable",
        PayRefusal::Amount => "err.amount",
        PayRefusal::ProviderDown => "billing.platform_pay_down",
    };
    flash(session, "error", p.t(key));
    Ok(redirect("/console/billing"))
}

/// A platform invoice to this reseller (T5), only its own.
#[handler]
async fn platform_pdf(
    Data(state): Data<&AppState>,
    user: Can<ViewCustomers>,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    let books = state.tenancy.platform_books().await.map_err(internal)?;
    match billing::document::files(state, &books, &id)
        .await
        .map_err(internal)?
    {
        Some((inv, pdf, _)) if inv.customer_id == user.tenant.id.as_str() => {
            Ok(pdf_response(&inv.number, pdf))
        }
        _ => Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
    }
}

pub fn invoice_routes() -> Route {
    Route::new()
        .at("/", get(invoices))
        .at("/:id", get(invoice_page))
        .at("/:id/pdf", get(invoice_pdf))
        .at("/:id/xml", get(invoice_xml))
        .at("/:id/credit", post(credit))
}

pub(crate) fn fmt_amount(minor: i64, currency: &str) -> String {
    format!("{} {currency}", money::german(minor))
}

/// Documents as rows; an open invoice with a SEPA collection pending (see
/// `payments::sepa::pending`) shows "collection pending" with its date and
/// offers no other way to pay.
pub(crate) fn doc_rows(
    docs: &[invoice::Model],
    pending: &HashMap<String, NaiveDate>,
) -> Vec<Value> {
    docs.iter().map(|d| doc_row(d, pending)).collect()
}

/// The state a document shows: `collection_pending` while its direct debit
/// waits for the collection date, else its status.
fn shown_status(status: &str, collect_on: Option<NaiveDate>) -> &str {
    if collect_on.is_some() {
        "collection_pending"
    } else {
        status
    }
}

pub(crate) fn doc_row(d: &invoice::Model, pending: &HashMap<String, NaiveDate>) -> Value {
    let collect_on = crate::payments::sepa::shown_collection(pending, &d.id, &d.status);
    let status = shown_status(&d.status, collect_on);
    json!({
        "id": d.id, "kind": d.kind, "number": d.number, "status": status,
        "collect_on": collect_on.map(|d| d.to_string()),
        "issued": d.issued_at.format("%Y-%m-%d").to_string(),
        "due": d.due_at.format("%Y-%m-%d").to_string(),
        "net": fmt_amount(d.net_minor, &d.currency), "vat": fmt_amount(d.vat_minor, &d.currency),
        "gross": fmt_amount(d.gross_minor, &d.currency),
        "open": fmt_amount(d.open_minor(), &d.currency),
        "is_open": d.kind == "invoice" && d.status == "open" && collect_on.is_none(),
        "refers_to": d.refers_to_number, "refers_to_id": d.refers_to_id,
        "einvoice": d.einvoice, "delivery": d.delivery,
        "delivered": d.delivered_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()),
        "customer_id": d.customer_id,
        "level": d.dunning_level,
        "fees": (d.fees_minor > 0).then(|| fmt_amount(d.fees_minor, &d.currency)),
        "interest": (d.interest_minor > 0).then(|| fmt_amount(d.interest_minor, &d.currency)),
        "court": d.court_order_at.map(|t| t.format("%Y-%m-%d").to_string()),
    })
}

fn parse_day(s: Option<&str>) -> Option<DateTime<Utc>> {
    let d = NaiveDate::parse_from_str(s?.trim(), "%Y-%m-%d").ok()?;
    Utc.from_local_datetime(&d.and_hms_opt(0, 0, 0)?).single()
}

#[derive(Deserialize)]
pub struct OverviewQuery {
    /// Preview a run due by this day (inclusive).
    preview: Option<String>,
    /// Back from paying the platform through Stripe.
    paid: Option<String>,
}

#[handler]
async fn overview(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ViewCustomers>,
    Query(q): Query<OverviewQuery>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let runs = run::runs(&tx, 20).await.map_err(internal)?;
    drop(tx);
    let (platform_invoices, platform_pending) =
        billing::platform::invoices(state, Some(user.tenant.id.as_str()))
            .await
            .map_err(internal)?;
    let platform_account = crate::orders::wholesale::account(
        state.tenancy.backend().shared(),
        user.tenant.id.as_str(),
    )
    .await
    .map_err(internal)?;
    let running = runs
        .iter()
        .any(|r| r.status == "queued" || r.status == "running");
    let due_by = q
        .preview
        .as_deref()
        .and_then(|d| parse_day(Some(d)))
        .map(|d| d + chrono::Duration::days(1) - chrono::Duration::seconds(1));
    let preview = match due_by {
        Some(due) => Some(
            run::preview(state, &user.tenant, due)
                .await
                .map_err(internal)?,
        ),
        None => None,
    };
    let today = Utc::now().format("%Y-%m-%d").to_string();
    let month_start = Utc::now().format("%Y-%m-01").to_string();
    page(state, session, req, &user.tenant, Some(&user.member)).render(
        "console/billing.html",
        "title.billing",
        "billing",
        json!({
            "runs": runs.iter().map(|r| json!({
                "id": r.id, "status": r.status, "due_by": r.due_by.format("%Y-%m-%d").to_string(),
                "done": r.customers_done, "total": r.customers_total, "invoices": r.invoices_count,
                "net": money::german(r.net_minor), "gross": money::german(r.gross_minor),
                "pct": if r.customers_total > 0 { r.customers_done * 100 / r.customers_total } else { 0 },
                "error": r.error, "actor": r.actor,
                "created": r.created_at.format("%Y-%m-%d %H:%M").to_string(),
                "finished": r.finished_at.map(|t| t.format("%H:%M:%S").to_string()),
            })).collect::<Vec<_>>(),
            "running": running,
            "preview": preview.as_ref().map(|p| json!({
                "due_by": p.due_by.format("%Y-%m-%d").to_string(),
                "invoices": p.invoices, "lines": p.lines,
                "totals": p.totals.iter().map(|(c, (n, g))| json!({"currency": c, "net": fmt_amount(*n, c), "gross": fmt_amount(*g, c)})).collect::<Vec<_>>(),
                "customers": p.customers.iter().map(|c| json!({
                    "id": c.customer_id, "number": c.customer_number, "name": c.name,
                    "lines": c.lines, "invoices": c.invoices,
                    "net": fmt_amount(c.net_minor, &c.currency), "gross": fmt_amount(c.gross_minor, &c.currency),
                    "refused": c.refused,
                })).collect::<Vec<_>>(),
            })),
            "preview_day": q.preview.unwrap_or_else(|| today.clone()),
            "today": today, "month_start": month_start,
            "platform_invoices": doc_rows(&platform_invoices, &platform_pending),
            "platform_account": platform_account.as_ref().map(|a| json!({
                "balance": fmt_amount(a.balance_minor, &a.currency),
                "limit": fmt_amount(a.credit_limit_minor, &a.currency),
                "reserved": fmt_amount(a.reserved_minor, &a.currency),
                "available": fmt_amount(a.balance_minor + a.credit_limit_minor - a.reserved_minor, &a.currency),
                "paused": a.ordering_suspended_at.map(|t| t.format("%Y-%m-%d").to_string()),
            })),
            "paid": q.paid.is_some(),
        }),
    )
}

#[handler]
async fn start_run(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let Some(day) = parse_day(form.opt("due_by")) else {
        flash(session, "error", p.t("err.date"));
        return Ok(redirect("/console/billing"));
    };
    let due = day + chrono::Duration::days(1) - chrono::Duration::seconds(1);
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    match run::start(&tx, due, &user.member.email).await {
        Ok(r) => {
            audit::record_tenant(
                &tx,
                Change::new(&user.member.email, "billing.run", &r.id)
                    .entity("billing_run", &r.id)
                    .ip(Some(&client_ip(req)))
                    .after(json!({ "due_by": r.due_by })),
            )
            .await
            .map_err(internal)?;
            tx.commit().await.map_err(internal)?;
            flash(session, "success", p.t("flash.billing_run_started"));
        }
        Err(BillingError::Refused(_)) => {
            drop(tx);
            flash(session, "error", p.t("err.billing_run_busy"));
        }
        Err(e) => return Err(internal(e)),
    }
    Ok(redirect("/console/billing"))
}

#[derive(Deserialize)]
pub struct InvoiceQuery {
    q: Option<String>,
    kind: Option<String>,
    status: Option<String>,
}

#[handler]
async fn invoices(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ViewCustomers>,
    Query(q): Query<InvoiceQuery>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let mut find = invoice::Entity::find().select_only().columns([
        invoice::Column::Id,
        invoice::Column::Kind,
        invoice::Column::Number,
        invoice::Column::CustomerId,
        invoice::Column::Status,
        invoice::Column::IssuedAt,
        invoice::Column::DueAt,
        invoice::Column::Currency,
        invoice::Column::GrossMinor,
        invoice::Column::SettledMinor,
        invoice::Column::RefersToNumber,
    ]);
    let search = q.q.clone().unwrap_or_default();
    if !search.trim().is_empty() {
        find = find.filter(invoice::Column::Number.contains(search.trim()));
    }
    if let Some(k) = q
        .kind
        .as_deref()
        .filter(|k| ["invoice", "credit_note"].contains(k))
    {
        find = find.filter(invoice::Column::Kind.eq(k));
    }
    if let Some(s) = q
        .status
        .as_deref()
        .filter(|s| ["open", "paid", "cancelled"].contains(s))
    {
        find = find.filter(invoice::Column::Status.eq(s));
    }
    type Row = (
        String,
        String,
        String,
        String,
        String,
        DateTime<Utc>,
        DateTime<Utc>,
        String,
        i64,
        i64,
        Option<String>,
    );
    let rows: Vec<Row> = find
        .order_by_desc(invoice::Column::IssuedAt)
        .order_by_desc(invoice::Column::Number)
        .limit(500)
        .into_tuple()
        .all(tx.conn())
        .await
        .map_err(internal)?;
    let people: std::collections::HashMap<String, (String, String)> =
        crate::customers::customer::Entity::find()
            .filter(
                crate::customers::customer::Column::Id
                    .is_in(rows.iter().map(|r| r.3.clone()).collect::<Vec<_>>()),
            )
            .all(tx.conn())
            .await
            .map_err(internal)?
            .into_iter()
            .map(|c| {
                let name = crate::customers::display_name(&c);
                (c.id, (c.number, name))
            })
            .collect();
    let pending = crate::payments::sepa::pending(&tx)
        .await
        .map_err(internal)?;
    drop(tx);
    let list: Vec<Value> = rows
        .into_iter()
        .map(|(id, kind, number, cid, status, issued, due, cur, gross, settled, refers)| {
            let who = people.get(&cid).cloned().unwrap_or_default();
            let collect_on = crate::payments::sepa::shown_collection(&pending, &id, &status);
            let status = shown_status(&status, collect_on);
            json!({
                "id": id, "kind": kind, "number": number, "customer_id": cid,
                "customer_number": who.0, "customer": who.1, "status": status,
                "collect_on": collect_on.map(|d| d.to_string()),
                "issued": issued.format("%Y-%m-%d").to_string(), "due": due.format("%Y-%m-%d").to_string(),
                "gross": fmt_amount(gross, &cur), "open": fmt_amount(gross - settled, &cur),
                "refers_to": refers,
            })
        })
        .collect();
    page(state, session, req, &user.tenant, Some(&user.member)).render(
        "console/invoices.html",
        "title.invoices",
        "billing",
        json!({ "invoices": list, "q": search, "kind": q.kind, "status": q.status }),
    )
}

async fn load(
    state: &AppState,
    tenant: &crate::http::CurrentTenant,
    id: &str,
) -> poem::Result<(invoice::Model, Vec<billing::invoice_line::Model>)> {
    let tx = state.tenancy.begin(tenant).await.map_err(internal)?;
    let Some(inv) = invoice::Entity::find_by_id(id.to_owned())
        .one(tx.conn())
        .await
        .map_err(internal)?
    else {
        return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
    };
    let lines = billing::lines(&tx, id).await.map_err(internal)?;
    Ok((inv, lines))
}

pub(crate) fn line_rows(lines: &[billing::invoice_line::Model], currency: &str) -> Vec<Value> {
    lines
        .iter()
        .map(|l| {
            json!({
                "position": l.position, "description": l.description,
                "period": match (l.period_start, l.period_end) {
                    (Some(s), Some(e)) => Some(format!("{} – {}", s.format("%Y-%m-%d"), (e - chrono::Duration::days(1)).format("%Y-%m-%d"))),
                    _ => None,
                },
                "quantity": money::quantity(l.quantity_milli),
                "unit_price": fmt_amount(l.unit_net_minor, currency),
                "vat": format!("{} % {}", money::percent(l.vat_rate_bp), l.vat_category),
                "net": fmt_amount(l.net_minor, currency),
                "net_plain": money::decimal(l.net_minor),
                "recurring": l.service_id.is_some() && l.period_start.is_some(),
            })
        })
        .collect()
}

#[handler]
async fn invoice_page(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ViewCustomers>,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    let (inv, lines) = load(state, &user.tenant, &id).await?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let credits = invoice::Entity::find()
        .filter(invoice::Column::RefersToId.eq(&inv.id))
        .all(tx.conn())
        .await
        .map_err(internal)?;
    let customer = crate::customers::get(&tx, &inv.customer_id).await.ok();
    let pending = crate::payments::sepa::pending(&tx)
        .await
        .map_err(internal)?;
    drop(tx);
    let credited: i64 = credits.iter().map(|c| c.gross_minor).sum();
    page(state, session, req, &user.tenant, Some(&user.member)).render(
        "console/invoice.html",
        "title.invoices",
        "billing",
        json!({
            "doc": doc_row(&inv, &pending),
            "lines": line_rows(&lines, &inv.currency),
            "credits": doc_rows(&credits, &pending),
            "can_credit": inv.kind == "invoice" && credited < inv.gross_minor,
            "customer": customer.map(|c| json!({"id": c.id, "name": crate::customers::display_name(&c), "number": c.number})),
            "note": inv.note,
            "tax_note": billing::tax_note(&inv.tax_treatment, "en"),
            "errors": {},
        }),
    )
}

pub(crate) fn pdf_response(number: &str, pdf: Vec<u8>) -> Response {
    pdf.with_content_type("application/pdf")
        .with_header(
            "content-disposition",
            format!("inline; filename=\"{number}.pdf\""),
        )
        .with_header("cache-control", "private, no-store")
        .into_response()
}

pub(crate) fn xml_response(name: &str, xml: String) -> Response {
    download(xml.into_bytes(), "application/xml; charset=utf-8", name)
}

/// A document's PDF of `tenant` (404 when there is none).
pub(crate) async fn document_pdf(
    state: &AppState,
    tenant: &relabel_tenants::Tenant,
    id: &str,
) -> poem::Result<Response> {
    match billing::document::files(state, tenant, id)
        .await
        .map_err(internal)?
    {
        Some((inv, pdf, _)) => Ok(pdf_response(&inv.number, pdf)),
        None => Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
    }
}

/// A document's e-invoice XML of `tenant` (404 when the customer gets none).
pub(crate) async fn document_xml(
    state: &AppState,
    tenant: &relabel_tenants::Tenant,
    id: &str,
) -> poem::Result<Response> {
    match billing::document::files(state, tenant, id)
        .await
        .map_err(internal)?
    {
        Some((inv, _, Some(xml))) => Ok(xml_response(&billing::einvoice::download_name(&inv), xml)),
        _ => Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
    }
}

#[handler]
async fn invoice_pdf(
    Data(state): Data<&AppState>,
    user: Can<ViewCustomers>,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    document_pdf(state, &user.tenant, &id).await
}

#[handler]
async fn invoice_xml(
    Data(state): Data<&AppState>,
    user: Can<ViewCustomers>,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    document_xml(state, &user.tenant, &id).await
}

#[handler]
async fn credit(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    // Partial: `amount.N` per line position (net, empty = not credited); a full
    // storno when `mode=full`.
    let mut partial = Vec::new();
    let mut errors = crate::validation::FieldErrors::default();
    if form.get("mode") != "full" {
        for (k, v) in form.pairs() {
            let Some(pos) = k
                .strip_prefix("amount.")
                .and_then(|p| p.parse::<i32>().ok())
            else {
                continue;
            };
            if v.trim().is_empty() {
                continue;
            }
            match crate::customers::fields::parse_amount(v) {
                Some(a) => partial.push((pos, Some(a))),
                None => errors.add(&format!("lines.{pos}.amount"), "err.amount"),
            }
        }
        if partial.is_empty() && errors.is_empty() {
            errors.add("lines", "err.credit_lines");
        }
    }
    let periods = billing::CreditedPeriods::parse(form.get("periods"));
    if periods.is_none() {
        errors.add("periods", "err.choice");
    }
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let result = match errors.into_result() {
        Err(e) => Err(BillingError::Invalid(e)),
        Ok(()) => {
            billing::credit_note(
                &tx,
                &user.tenant.name,
                &id,
                &partial,
                form.opt("reason").map(str::to_owned),
                periods.unwrap_or_default(),
                &user.member.email,
            )
            .await
        }
    };
    let ctx = Issued {
        session,
        req,
        p: &p,
        actor: &user.member.email,
        action: "invoice.credit",
        entity: ("invoice", &id),
        flash_key: "flash.credit_note",
        back: &format!("/console/invoices/{id}"),
    };
    ctx.finish(tx, result).await
}

/// What the handlers that issue a document share: audit, commit and a flash on
/// success; field errors or a refusal as a flash on the page they came from.
struct Issued<'a> {
    session: &'a Session,
    req: &'a Request,
    p: &'a crate::http::Page<'a>,
    actor: &'a str,
    action: &'a str,
    entity: (&'a str, &'a str),
    flash_key: &'a str,
    back: &'a str,
}

impl Issued<'_> {
    async fn finish(
        &self,
        tx: relabel_tenants::TenantTx,
        result: Result<invoice::Model, BillingError>,
    ) -> poem::Result<Response> {
        match result {
            Ok(doc) => {
                audit::record_tenant(
                    &tx,
                    Change::new(self.actor, self.action, &doc.number)
                        .entity(self.entity.0, self.entity.1)
                        .ip(Some(&client_ip(self.req)))
                        .after(json!({ "number": doc.number, "gross_minor": doc.gross_minor })),
                )
                .await
                .map_err(internal)?;
                tx.commit().await.map_err(internal)?;
                flash(
                    self.session,
                    "success",
                    format!("{} {}", self.p.t(self.flash_key), doc.number),
                );
                Ok(redirect(&format!("/console/invoices/{}", doc.id)))
            }
            Err(BillingError::Invalid(e)) => {
                drop(tx);
                flash_errors(self.session, self.p, &e);
                Ok(redirect(self.back))
            }
            Err(BillingError::NotFound) => Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
            Err(BillingError::Refused(_)) => {
                drop(tx);
                flash(self.session, "error", self.p.t("err.credit_exceeds"));
                Ok(redirect(self.back))
            }
            Err(e) => Err(internal(e)),
        }
    }
}

/// The customer overview (A10): documents, ledger, open items, services, orders.
#[handler]
pub(super) async fn customer_account(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ViewCustomers>,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let Ok(c) = crate::customers::get(&tx, &id).await else {
        return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
    };
    let docs = billing::documents(&tx, &id).await.map_err(internal)?;
    let pending = crate::payments::sepa::pending(&tx)
        .await
        .map_err(internal)?;
    let entries = billing::ledger(&tx, &id).await.map_err(internal)?;
    let services = crate::provisioning::customer_services(&tx, &id)
        .await
        .map_err(internal)?;
    let orders = crate::orders::order::Entity::find()
        .filter(crate::orders::order::Column::CustomerId.eq(&id))
        .order_by_desc(crate::orders::order::Column::CreatedAt)
        .all(tx.conn())
        .await
        .map_err(internal)?;
    let acc = crate::orders::account::Entity::find_by_id(id.clone())
        .one(tx.conn())
        .await
        .map_err(internal)?;
    let s = crate::customers::settings(&tx).await.map_err(internal)?;
    let pay = super::payments::customer_view(&tx, &id)
        .await
        .map_err(internal)?;
    let topics = crate::newsletter::categories(&tx, false)
        .await
        .map_err(internal)?;
    let subscriptions: Vec<Value> = crate::newsletter::of_email(&tx, &c.email)
        .await
        .map_err(internal)?
        .iter()
        .map(|sub| {
            json!({
                "topic": topics.iter().find(|k| k.id == sub.category_id).map(|k| k.name.clone()),
                "status": sub.status,
                "since": sub.confirmed_at.unwrap_or(sub.created_at).format("%Y-%m-%d").to_string(),
            })
        })
        .collect();
    // What the next run bills per period, priced by the run's own function.
    let pricer = state.prices.pricer(&tx, Some(&c)).await.map_err(internal)?;
    let product_discounts = crate::terms::product_discounts(&tx, &id)
        .await
        .map_err(internal)?;
    let billed = |s: &crate::provisioning::service::Model| {
        let product = product_discounts
            .iter()
            .find(|d| d.product_id == s.product_id)
            .map_or(0, |d| d.discount_bp);
        billing::run::period_net(&pricer, &c, product, s).0
    };
    drop(tx);
    let cur = c.currency.clone();
    let balance = acc.as_ref().map(|a| a.balance_minor).unwrap_or(0);
    let reserved = acc.as_ref().map(|a| a.reserved_minor).unwrap_or(0);
    let limit = crate::orders::credit_limit(&c, &s);
    let open: i64 = docs
        .iter()
        .filter(|d| d.kind == "invoice" && d.status == "open")
        .map(billing::invoice::Model::open_minor)
        .sum();
    page(state, session, req, &user.tenant, Some(&user.member)).render(
        "console/customer_account.html",
        "title.customer_account",
        "customers",
        json!({
            "customer": {"id": c.id, "number": c.number, "name": crate::customers::display_name(&c), "email": c.email,
                "excluded": c.excluded_from_invoicing, "einvoice": c.einvoice, "delivery": c.invoice_delivery,
                "suspended": c.suspended_at.map(|t| t.format("%Y-%m-%d").to_string()),
                "score": c.credit_score,
                "scored": c.scored_at.map(|t| t.format("%Y-%m-%d").to_string())},
            "subscriptions": subscriptions,
            "balance": fmt_amount(balance, &cur), "reserved": fmt_amount(reserved, &cur),
            "limit": fmt_amount(limit, &cur), "open": fmt_amount(open, &cur),
            "available": fmt_amount(balance + limit - reserved, &cur),
            "documents": doc_rows(&docs, &pending),
            "entries": entries.iter().map(|e| json!({
                "kind": e.kind, "amount": fmt_amount(e.amount_minor, &e.currency), "positive": e.amount_minor >= 0,
                "reference": e.reference, "document_id": e.document_id, "note": e.note, "actor": e.actor,
                "at": e.created_at.format("%Y-%m-%d %H:%M").to_string(),
            })).collect::<Vec<_>>(),
            "services": services.iter().map(|s| json!({
                "id": s.id, "cancellation": s.cancellation,
                "label": s.label, "kind": s.kind, "status": s.status, "period": s.period_months,
                "net": fmt_amount(billed(s), &s.currency), "next": s.next_billing_at.format("%Y-%m-%d").to_string(),
                "ends": s.ends_at.map(|e| e.format("%Y-%m-%d").to_string()), "domain_id": s.domain_id,
            })).collect::<Vec<_>>(),
            "orders": orders.iter().map(|o| json!({
                "id": o.id, "number": o.number, "status": o.status,
                "gross": fmt_amount(o.gross_minor, &o.currency), "at": o.created_at.format("%Y-%m-%d").to_string(),
            })).collect::<Vec<_>>(),
            "entry_kinds": ["deposit", "payment", "fee", "refund", "write_off", "correction"],
            "pay": pay,
            "values": {}, "errors": {},
        }),
    )
}

#[handler]
pub(super) async fn statement(
    Data(state): Data<&AppState>,
    user: Can<ViewCustomers>,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    match billing::document::statement(state, &user.tenant, &id)
        .await
        .map_err(internal)?
    {
        Some(pdf) => Ok(pdf_response("statement", pdf)),
        None => Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
    }
}

pub(super) fn flash_errors(
    session: &Session,
    p: &crate::http::Page<'_>,
    e: &crate::validation::FieldErrors,
) {
    let msgs: Vec<String> = e
        .translated(p.lang.code())
        .into_iter()
        .map(|(f, m)| format!("{f}: {m}"))
        .collect();
    flash(session, "error", msgs.join(" · "));
}

#[handler]
pub(super) async fn one_off(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let lines: Vec<billing::OneOffLine> = (0..5)
        .map(|i| billing::OneOffLine {
            description: form.get(&format!("lines.{i}.description")).to_owned(),
            quantity: form.get(&format!("lines.{i}.quantity")).to_owned(),
            unit_price: form.get(&format!("lines.{i}.unit_price")).to_owned(),
            vat_rate: form.get(&format!("lines.{i}.vat_rate")).to_owned(),
        })
        .collect();
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let back = format!("/console/customers/{id}/account");
    let result = billing::one_off(
        &tx,
        &user.tenant.name,
        &id,
        &lines,
        form.get("note"),
        &user.member.email,
    )
    .await;
    let ctx = Issued {
        session,
        req,
        p: &p,
        actor: &user.member.email,
        action: "invoice.individual",
        entity: ("customer", &id),
        flash_key: "flash.invoice_issued",
        back: &back,
    };
    ctx.finish(tx, result).await
}

#[handler]
pub(super) async fn ledger_entry(
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
    let back = format!("/console/customers/{id}/account");
    match billing::manual_entry(
        &tx,
        &id,
        form.get("kind"),
        form.get("amount"),
        form.get("note"),
        &user.member.email,
    )
    .await
    {
        Ok(e) => {
            audit::record_tenant(
                &tx,
                Change::new(&user.member.email, "ledger.entry", &e.id)
                    .entity("customer", &id)
                    .ip(Some(&client_ip(req)))
                    .after(
                        json!({ "kind": e.kind, "amount_minor": e.amount_minor, "note": e.note }),
                    ),
            )
            .await
            .map_err(internal)?;
            tx.commit().await.map_err(internal)?;
            flash(session, "success", p.t("flash.ledger_entry"));
        }
        Err(BillingError::Invalid(e)) => {
            drop(tx);
            flash_errors(session, &p, &e);
        }
        Err(BillingError::NotFound) => return Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
        Err(e) => return Err(internal(e)),
    }
    Ok(redirect(&back))
}

/// Staff cancel a service (C8): at the earliest end by notice and term, or at
/// once (`immediate=on`) with the reseller's pro-rata rule. Audited.
#[handler]
pub(super) async fn cancel_service(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    Path((id, service_id)): Path<(String, String)>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let immediate = form.opt("immediate").is_some();
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let back = format!("/console/customers/{id}/account");
    match billing::cancel::cancel(
        &tx,
        state.tenancy.backend().shared(),
        &user.tenant.name,
        &service_id,
        Some(&id),
        immediate,
        &user.member.email,
    )
    .await
    {
        Ok(c) => {
            audit::record_tenant(
                &tx,
                Change::new(&user.member.email, "service.cancel", &service_id)
                    .entity("customer", &id)
                    .ip(Some(&client_ip(req)))
                    .after(json!({ "ends_at": c.ends_at, "immediate": immediate, "credit_note": c.credit_note })),
            )
            .await
            .map_err(internal)?;
            tx.commit().await.map_err(internal)?;
            flash(
                session,
                "success",
                format!(
                    "{} {}",
                    p.t("flash.service_cancelled"),
                    c.ends_at.format("%Y-%m-%d")
                ),
            );
        }
        Err(BillingError::NotFound) => return Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
        Err(BillingError::Refused(_)) => {
            drop(tx);
            flash(session, "error", p.t("err.service_cancelled"));
        }
        Err(e) => return Err(internal(e)),
    }
    Ok(redirect(&back))
}

#[derive(Deserialize)]
pub struct ExportQuery {
    from: Option<String>,
    to: Option<String>,
}

fn period(q: &ExportQuery) -> Option<datev::Period> {
    let from = parse_day(q.from.as_deref())?;
    let to = parse_day(q.to.as_deref())? + chrono::Duration::days(1);
    (from < to && to - from <= chrono::Duration::days(400)).then_some(datev::Period { from, to })
}

/// A private download of `bytes` saved as `name`.
pub(crate) fn download(bytes: Vec<u8>, content_type: &str, name: &str) -> Response {
    bytes
        .with_content_type(content_type)
        .with_header(
            "content-disposition",
            format!("attachment; filename=\"{}\"", name.replace('"', "")),
        )
        .with_header("cache-control", "private, no-store")
        .into_response()
}

#[handler]
async fn export_csv(
    Data(state): Data<&AppState>,
    user: Can<ViewCustomers>,
    Query(q): Query<ExportQuery>,
) -> poem::Result<Response> {
    let Some(p) = period(&q) else {
        return Err(poem::Error::from_string(
            "from/to: a period of at most 400 days (YYYY-MM-DD)",
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    };
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let bytes = datev::csv(&tx, &p).await.map_err(internal)?;
    Ok(download(
        bytes,
        "text/csv; charset=utf-8",
        &format!(
            "billing-{}-{}.csv",
            p.from.format("%Y%m%d"),
            p.to.format("%Y%m%d")
        ),
    ))
}

#[handler]
async fn export_datev(
    Data(state): Data<&AppState>,
    user: Can<ViewCustomers>,
    Query(q): Query<ExportQuery>,
) -> poem::Result<Response> {
    let Some(p) = period(&q) else {
        return Err(poem::Error::from_string(
            "from/to: a period of at most 400 days (YYYY-MM-DD)",
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    };
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let s = billing::settings(&tx).await.map_err(internal)?;
    let bytes = datev::extf(&tx, &s, &p, Utc::now())
        .await
        .map_err(internal)?;
    Ok(download(
        bytes,
        "text/csv; charset=windows-1252",
        &format!("EXTF_Buchungsstapel_{}.csv", p.from.format("%Y%m")),
    ))
}

#[handler]
async fn reconcile(
    Data(state): Data<&AppState>,
    user: Can<ViewCustomers>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let mismatches = billing::reconcile(&tx).await.map_err(internal)?;
    Ok(
        poem::web::Json(json!({ "ok": mismatches.is_empty(), "mismatches": mismatches }))
            .into_response(),
    )
}

const TEXT_FIELDS: &[&str] = &[
    "legal_name",
    "street",
    "postal_code",
    "city",
    "country",
    "vat_id",
    "tax_number",
    "register",
    "director",
    "email",
    "phone",
    "bank_name",
    "iban",
    "bic",
    "invoice_pattern",
    "credit_note_pattern",
    "renewal_warning_days",
    "footer",
    "print_mail_url",
    "datev_consultant",
    "datev_client",
    "revenue_account",
    "receivables_account",
];

pub(crate) fn settings_values(s: &billing_settings::Model) -> Value {
    json!({
        "legal_name": s.legal_name, "street": s.street, "postal_code": s.postal_code, "city": s.city,
        "country": s.country, "vat_id": s.vat_id, "tax_number": s.tax_number, "register": s.register,
        "director": s.director, "email": s.email, "phone": s.phone, "bank_name": s.bank_name,
        "iban": s.iban, "bic": s.bic, "invoice_pattern": s.invoice_pattern,
        "credit_note_pattern": s.credit_note_pattern, "renewal_warning_days": s.renewal_warning_days,
        "footer": s.footer, "print_mail_url": s.print_mail_url,
        "datev_consultant": s.datev_consultant, "datev_client": s.datev_client,
        "revenue_account": s.revenue_account, "receivables_account": s.receivables_account,
        "invoice_on_completion": s.invoice_on_completion, "collective_monthly": s.collective_monthly,
        "prorata_credit": s.prorata_credit,
    })
}

#[handler]
async fn settings_form(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let s = billing::settings(&tx).await.map_err(internal)?;
    drop(tx);
    page(state, session, req, &user.tenant, Some(&user.member)).render(
        "console/billing_settings.html",
        "title.billing_settings",
        "billing",
        json!({ "values": settings_values(&s), "errors": {}, "action": "/console/billing/settings" }),
    )
}

/// The legal data and rules form as submitted (text fields trimmed, checkboxes
/// as "on" or empty).
pub(crate) fn settings_input(form: &FormData) -> std::collections::BTreeMap<String, String> {
    TEXT_FIELDS
        .iter()
        .map(|f| ((*f).to_owned(), form.get(f).trim().to_owned()))
        .chain(
            [
                "invoice_on_completion",
                "collective_monthly",
                "prorata_credit",
            ]
            .iter()
            .map(|f| {
                (
                    (*f).to_owned(),
                    form.opt(f).map(|_| "on".to_owned()).unwrap_or_default(),
                )
            }),
        )
        .collect()
}

#[handler]
async fn settings_save(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditBilling>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    let input = settings_input(&form);
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let before = billing::settings(&tx).await.map_err(internal)?;
    match billing::save_settings(&tx, &input, state.outbound.policy()).await {
        Ok(after) => {
            audit::record_tenant(
                &tx,
                Change::new(&user.member.email, "billing.settings", "billing")
                    .ip(Some(&client_ip(req)))
                    .before(settings_values(&before))
                    .after(settings_values(&after)),
            )
            .await
            .map_err(internal)?;
            tx.commit().await.map_err(internal)?;
            flash(session, "success", p.t("flash.billing_saved"));
            Ok(redirect("/console/billing/settings"))
        }
        Err(BillingError::Invalid(e)) => {
            drop(tx);
            p.render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "console/billing_settings.html",
                "title.billing_settings",
                "billing",
                json!({ "values": input, "errors": e.translated(p.lang.code()), "action": "/console/billing/settings" }),
            )
        }
        Err(e) => Err(internal(e)),
    }
}
