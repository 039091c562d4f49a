//! Billing in the REST API (issue 8): invoices and credit notes (list, get, PDF,
//! e-invoice XML), credit notes on an invoice, the ledger of a customer, and
//! billing runs (start, status). Scoped to the key's reseller.

use super::customers::{actor_name, raw_id};
use super::tenant::authorize;
use super::{ApiError, ApiKeyAuth};
use crate::app::AppState;
use crate::billing::{self, BillingError, invoice, run};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Attachment, AttachmentType, Json};
use poem_openapi::{Object, OpenApi, Tags};

#[derive(Tags)]
enum Tag {
    /// Invoices, credit notes, ledger and billing runs.
    Billing,
}

pub struct BillingApi;

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LineOut {
    pub position: i32,
    pub description: String,
    pub period_start: Option<chrono::DateTime<chrono::Utc>>,
    pub period_end: Option<chrono::DateTime<chrono::Utc>>,
    /// Decimal, e.g. `1` or `1.5`.
    pub quantity: String,
    /// UN/ECE rec. 20 unit code.
    pub unit: String,
    pub unit_net_minor: i64,
    pub net_minor: i64,
    pub vat_rate_bp: i32,
    /// EN 16931 VAT category: S, Z, AE (reverse charge), G (export).
    pub vat_category: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DocumentOut {
    /// `inv_` + id.
    pub id: String,
    /// `invoice` or `credit_note`.
    pub kind: String,
    pub number: String,
    pub customer_id: String,
    /// `open`, `paid` or `cancelled`.
    pub status: String,
    pub issued_at: chrono::DateTime<chrono::Utc>,
    pub due_at: chrono::DateTime<chrono::Utc>,
    pub currency: String,
    pub net_minor: i64,
    pub vat_minor: i64,
    pub gross_minor: i64,
    pub open_minor: i64,
    /// `vat`, `reverse_charge` or `export`.
    pub tax_treatment: String,
    /// For credit notes: the invoice's number.
    pub refers_to: Option<String>,
    /// `none`, `zugferd` or `xrechnung`.
    pub einvoice: String,
    pub delivered_at: Option<chrono::DateTime<chrono::Utc>>,
    /// While a SEPA direct debit of the open invoice is pending: the day it is
    /// collected (the invoice stays `open` until then, and is not dunned).
    pub collect_on: Option<chrono::NaiveDate>,
    pub lines: Option<Vec<LineOut>>,
}

fn doc_out(
    d: &invoice::Model,
    lines: Option<Vec<billing::invoice_line::Model>>,
    pending: &std::collections::HashMap<String, chrono::NaiveDate>,
) -> DocumentOut {
    DocumentOut {
        id: format!("inv_{}", d.id),
        kind: d.kind.clone(),
        number: d.number.clone(),
        customer_id: format!("cus_{}", d.customer_id),
        status: d.status.clone(),
        issued_at: d.issued_at,
        due_at: d.due_at,
        currency: d.currency.clone(),
        net_minor: d.net_minor,
        vat_minor: d.vat_minor,
        gross_minor: d.gross_minor,
        open_minor: if d.kind == "invoice" {
            d.open_minor()
        } else {
            0
        },
        tax_treatment: d.tax_treatment.clone(),
        refers_to: d.refers_to_number.clone(),
        einvoice: d.einvoice.clone(),
        delivered_at: d.delivered_at,
        collect_on: crate::payments::sepa::shown_collection(pending, &d.id, &d.status),
        lines: lines.map(|ls| {
            ls.into_iter()
                .map(|l| LineOut {
                    position: l.position,
                    description: l.description,
                    period_start: l.period_start,
                    period_end: l.period_end,
                    quantity: billing::money::quantity(l.quantity_milli),
                    unit: l.unit,
                    unit_net_minor: l.unit_net_minor,
                    net_minor: l.net_minor,
                    vat_rate_bp: l.vat_rate_bp,
                    vat_category: l.vat_category,
                })
                .collect()
        }),
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LedgerEntryOut {
    pub id: String,
    /// invoice, credit_note, payment, deposit, fee, refund, write_off, correction.
    pub kind: String,
    /// Signed, in the customer's favour.
    pub amount_minor: i64,
    pub currency: String,
    pub reference: Option<String>,
    pub note: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LedgerOut {
    pub customer_id: String,
    pub balance_minor: i64,
    pub entries: Vec<LedgerEntryOut>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CreditLineIn {
    pub position: i32,
    /// Net amount to credit in minor units; absent = the whole line.
    pub amount_minor: Option<i64>,
}

/// What becomes of a recurring service's period whose line is credited in full.
#[derive(poem_openapi::Enum, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum CreditedPeriodsIn {
    /// The next billing run bills the period again (the service still ran).
    #[default]
    BillAgain,
    /// The period is given away; billing goes on after it.
    GiveAway,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CreditIn {
    /// Lines to credit; empty or absent = the whole invoice (storno).
    #[oai(default)]
    pub lines: Vec<CreditLineIn>,
    pub reason: Option<String>,
    /// For recurring services' periods credited in full (default `bill_again`).
    #[oai(default)]
    pub periods: CreditedPeriodsIn,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RunIn {
    /// Bill everything due up to this instant (default: now).
    pub due_by: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RunOut {
    pub id: String,
    /// queued, running, done or failed.
    pub status: String,
    pub due_by: chrono::DateTime<chrono::Utc>,
    pub customers_total: i32,
    pub customers_done: i32,
    pub invoices: i32,
    pub net_minor: i64,
    pub gross_minor: i64,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn run_out(r: &billing::billing_run::Model) -> RunOut {
    RunOut {
        id: format!("run_{}", r.id),
        status: r.status.clone(),
        due_by: r.due_by,
        customers_total: r.customers_total,
        customers_done: r.customers_done,
        invoices: r.invoices_count,
        net_minor: r.net_minor,
        gross_minor: r.gross_minor,
        finished_at: r.finished_at,
    }
}

fn doc_id(id: &str) -> Result<&str, ApiError> {
    id.strip_prefix("inv_")
        .filter(|r| r.len() == 32 && r.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| ApiError::not_found("Document"))
}

pub(super) fn billing_error(e: BillingError) -> ApiError {
    match e {
        BillingError::Invalid(f) => ApiError::invalid(&f),
        BillingError::NotFound => ApiError::not_found("Document"),
        BillingError::Refused(why) => ApiError::conflict("refused", why),
        BillingError::Db(e) => ApiError::internal(e),
    }
}

#[OpenApi(tag = "Tag::Billing")]
impl BillingApi {
    /// Invoices and credit notes, newest first (at most 500), filtered by
    /// customer, kind and status.
    #[oai(path = "/invoices", method = "get", operation_id = "listInvoices")]
    async fn list(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        customer_id: Query<Option<String>>,
        kind: Query<Option<String>>,
        status: Query<Option<String>>,
    ) -> Result<Json<Vec<DocumentOut>>, ApiError> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
        let (tenant, _) = authorize(&state, req, &auth, "invoices:read").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let mut q = invoice::Entity::find();
        if let Some(c) = customer_id.0.as_deref() {
            q = q.filter(invoice::Column::CustomerId.eq(raw_id(c)?));
        }
        if let Some(k) = kind.0 {
            q = q.filter(invoice::Column::Kind.eq(k));
        }
        if let Some(s) = status.0 {
            q = q.filter(invoice::Column::Status.eq(s));
        }
        let docs = q
            .order_by_desc(invoice::Column::IssuedAt)
            .order_by_desc(invoice::Column::Number)
            .limit(500)
            .all(tx.conn())
            .await
            .map_err(ApiError::internal)?;
        let pending = crate::payments::sepa::pending(&tx)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(
            docs.iter().map(|d| doc_out(d, None, &pending)).collect(),
        ))
    }

    /// One invoice or credit note with its lines.
    #[oai(path = "/invoices/:id", method = "get", operation_id = "getInvoice")]
    async fn get(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Json<DocumentOut>, ApiError> {
        use sea_orm::EntityTrait;
        let (tenant, _) = authorize(&state, req, &auth, "invoices:read").await?;
        let id = doc_id(&id)?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let d = invoice::Entity::find_by_id(id.to_owned())
            .one(tx.conn())
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("Document"))?;
        let lines = billing::lines(&tx, id).await.map_err(ApiError::internal)?;
        let pending = crate::payments::sepa::pending(&tx)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(doc_out(&d, Some(lines), &pending)))
    }

    /// The document as PDF/A-3 (with the e-invoice XML embedded for Factur-X).
    #[oai(
        path = "/invoices/:id/pdf",
        method = "get",
        operation_id = "getInvoicePdf"
    )]
    async fn pdf(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Attachment<Vec<u8>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "invoices:read").await?;
        let id = doc_id(&id)?;
        let (d, pdf, _) = billing::document::files(&state, &tenant, id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("Document"))?;
        Ok(Attachment::new(pdf)
            .filename(format!("{}.pdf", d.number))
            .attachment_type(AttachmentType::Inline))
    }

    /// The EN 16931 XML (CII) of the document (404 when the customer gets none).
    #[oai(
        path = "/invoices/:id/xml",
        method = "get",
        operation_id = "getInvoiceXml"
    )]
    async fn xml(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<super::XmlFile, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "invoices:read").await?;
        let id = doc_id(&id)?;
        match billing::document::files(&state, &tenant, id)
            .await
            .map_err(ApiError::internal)?
        {
            Some((d, _, Some(xml))) => Ok(super::XmlFile::new(
                xml,
                &billing::einvoice::download_name(&d),
            )),
            _ => Err(ApiError::not_found("E-invoice")),
        }
    }

    /// A credit note on an invoice: whole (storno) or per line; own gapless numbers.
    #[oai(
        path = "/invoices/:id/credit-notes",
        method = "post",
        operation_id = "createCreditNote"
    )]
    async fn credit(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
        body: Json<CreditIn>,
    ) -> Result<Json<DocumentOut>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "billing:write").await?;
        let id = doc_id(&id)?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let partial: Vec<(i32, Option<i64>)> = body
            .lines
            .iter()
            .map(|l| (l.position, l.amount_minor))
            .collect();
        let cn = billing::credit_note(
            &tx,
            &tenant.name,
            id,
            &partial,
            body.0.reason.clone(),
            match body.0.periods {
                CreditedPeriodsIn::BillAgain => billing::CreditedPeriods::BillAgain,
                CreditedPeriodsIn::GiveAway => billing::CreditedPeriods::GiveAway,
            },
            &actor_name(&key),
        )
        .await
        .map_err(billing_error)?;
        crate::audit::record_tenant(
            &tx,
            crate::audit::Change::new(&actor_name(&key), "invoice.credit", &cn.number)
                .entity("invoice", id),
        )
        .await
        .map_err(ApiError::internal)?;
        let lines = billing::lines(&tx, &cn.id)
            .await
            .map_err(ApiError::internal)?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(Json(doc_out(&cn, Some(lines), &Default::default())))
    }

    /// The ledger of a customer, newest first, with the balance.
    #[oai(
        path = "/customers/:id/ledger",
        method = "get",
        operation_id = "getLedger"
    )]
    async fn ledger(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Json<LedgerOut>, ApiError> {
        use sea_orm::EntityTrait;
        let (tenant, _) = authorize(&state, req, &auth, "invoices:read").await?;
        let cid = raw_id(&id)?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        crate::customers::get(&tx, cid)
            .await
            .map_err(|_| ApiError::not_found("Customer"))?;
        let entries = billing::ledger(&tx, cid)
            .await
            .map_err(ApiError::internal)?;
        let balance = crate::orders::account::Entity::find_by_id(cid.to_owned())
            .one(tx.conn())
            .await
            .map_err(ApiError::internal)?
            .map(|a| a.balance_minor)
            .unwrap_or(0);
        Ok(Json(LedgerOut {
            customer_id: format!("cus_{cid}"),
            balance_minor: balance,
            entries: entries
                .into_iter()
                .map(|e| LedgerEntryOut {
                    id: e.id,
                    kind: e.kind,
                    amount_minor: e.amount_minor,
                    currency: e.currency,
                    reference: e.reference,
                    note: e.note,
                    created_at: e.created_at,
                })
                .collect(),
        }))
    }

    /// Starts a billing run (409 while another one is in progress).
    #[oai(
        path = "/billing-runs",
        method = "post",
        operation_id = "startBillingRun"
    )]
    async fn start(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        body: Json<RunIn>,
    ) -> Result<Json<RunOut>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "billing:write").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let due = body.due_by.unwrap_or_else(chrono::Utc::now);
        let r = run::start(&tx, due, &actor_name(&key))
            .await
            .map_err(billing_error)?;
        crate::audit::record_tenant(
            &tx,
            crate::audit::Change::new(&actor_name(&key), "billing.run", &r.id)
                .entity("billing_run", &r.id),
        )
        .await
        .map_err(ApiError::internal)?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(Json(run_out(&r)))
    }

    /// Billing runs, newest first.
    #[oai(
        path = "/billing-runs",
        method = "get",
        operation_id = "listBillingRuns"
    )]
    async fn runs(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
    ) -> Result<Json<Vec<RunOut>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "invoices:read").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let runs = run::runs(&tx, 50).await.map_err(ApiError::internal)?;
        Ok(Json(runs.iter().map(run_out).collect()))
    }

    /// One billing run with its progress.
    #[oai(
        path = "/billing-runs/:id",
        method = "get",
        operation_id = "getBillingRun"
    )]
    async fn run(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Json<RunOut>, ApiError> {
        use sea_orm::EntityTrait;
        let (tenant, _) = authorize(&state, req, &auth, "invoices:read").await?;
        let raw = id
            .strip_prefix("run_")
            .ok_or_else(|| ApiError::not_found("Billing run"))?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let r = billing::billing_run::Entity::find_by_id(raw.to_owned())
            .one(tx.conn())
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("Billing run"))?;
        Ok(Json(run_out(&r)))
    }
}
