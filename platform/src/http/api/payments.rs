//! Payments in the REST API (issue 9): payments of a customer (list, record),
//! open items with their dunning state, debit runs with their pain.008 files and
//! return debits, dunning runs and letters. Scoped to the key's reseller.

use super::billing::billing_error;
use super::customers::{actor_name, raw_id};
use super::tenant::authorize;
use super::{ApiError, ApiKeyAuth};
use crate::app::AppState;
use crate::billing::invoice;
use crate::payments::{self, PaymentInput, dunning, sepa};
use chrono::{DateTime, Utc};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Attachment, AttachmentType, Json};
use poem_openapi::{Object, OpenApi, Tags};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

#[derive(Tags)]
enum Tag {
    /// Payments, open items, direct debits and dunning.
    Payments,
}

pub struct PaymentsApi;

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PaymentIn {
    /// As paid, decimal, e.g. `119.00`.
    pub amount: String,
    /// As paid; default the account's currency.
    pub currency: Option<String>,
    /// Account currency per unit paid (needed when the currencies differ).
    pub rate: Option<String>,
    /// `transfer` (default), `sepa_debit`, `card`, `paypal`, `cash`, `other`.
    pub method: Option<String>,
    /// Bank reference; an invoice number in it allocates the payment.
    pub reference: Option<String>,
    /// The item paid (`inv_...`); default: named in the reference, else oldest first.
    pub invoice_id: Option<String>,
    /// `YYYY-MM-DD`, default today.
    pub booked_on: Option<String>,
    /// Your id of the payment: a second payment with it is refused (409).
    pub external_id: Option<String>,
    pub note: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PaymentOut {
    pub id: String,
    pub customer_id: String,
    pub method: String,
    pub amount_minor: i64,
    pub currency: String,
    pub original_minor: i64,
    pub original_currency: String,
    pub rate: String,
    pub invoice_id: Option<String>,
    pub skonto_minor: i64,
    pub reference: Option<String>,
    pub booked_at: DateTime<Utc>,
}

fn payment_out(p: &payments::payment::Model) -> PaymentOut {
    PaymentOut {
        id: format!("pay_{}", p.id),
        customer_id: format!("cus_{}", p.customer_id),
        method: p.method.clone(),
        amount_minor: p.amount_minor,
        currency: p.currency.clone(),
        original_minor: p.original_minor,
        original_currency: p.original_currency.clone(),
        rate: p.rate.clone(),
        invoice_id: p.invoice_id.as_ref().map(|i| format!("inv_{i}")),
        skonto_minor: p.skonto_minor,
        reference: p.reference.clone(),
        booked_at: p.booked_at,
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OpenItemOut {
    pub id: String,
    pub number: String,
    pub customer_id: String,
    pub due_at: DateTime<Utc>,
    pub currency: String,
    pub gross_minor: i64,
    pub fees_minor: i64,
    pub interest_minor: i64,
    pub open_minor: i64,
    /// 0 none, 1 reminder, 2 first notice, 3 second notice, 4 final notice.
    pub dunning_level: i32,
    pub dunned_at: Option<DateTime<Utc>>,
    pub court_order_at: Option<DateTime<Utc>>,
}

fn open_item_out(i: &invoice::Model) -> OpenItemOut {
    OpenItemOut {
        id: format!("inv_{}", i.id),
        number: i.number.clone(),
        customer_id: format!("cus_{}", i.customer_id),
        due_at: i.due_at,
        currency: i.currency.clone(),
        gross_minor: i.gross_minor,
        fees_minor: i.fees_minor,
        interest_minor: i.interest_minor,
        open_minor: i.open_minor(),
        dunning_level: i.dunning_level,
        dunned_at: i.dunned_at,
        court_order_at: i.court_order_at,
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DebitRunOut {
    pub id: String,
    pub collect_on: DateTime<Utc>,
    /// pain.008.001.`version`.
    pub version: String,
    pub message_id: String,
    pub items: i32,
    pub total_minor: i64,
    pub created_at: DateTime<Utc>,
}

fn debit_out(r: &payments::debit_run::Model) -> DebitRunOut {
    DebitRunOut {
        id: r.id.clone(),
        collect_on: r.collect_on,
        version: r.version.clone(),
        message_id: r.message_id.clone(),
        items: r.items,
        total_minor: r.total_minor,
        created_at: r.created_at,
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ReturnIn {
    /// ISO 20022 return reason code, e.g. `AM04`, `MD06`.
    pub reason: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DunningRunOut {
    pub id: String,
    pub letters: i32,
    pub items: i32,
    pub fees_minor: i64,
    pub interest_minor: i64,
    pub created_at: DateTime<Utc>,
}

fn dunning_out(r: &payments::dunning_run::Model) -> DunningRunOut {
    DunningRunOut {
        id: r.id.clone(),
        letters: r.letters,
        items: r.items,
        fees_minor: r.fees_minor,
        interest_minor: r.interest_minor,
        created_at: r.created_at,
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LetterOut {
    pub id: String,
    pub customer_id: String,
    pub level: i32,
    pub day: String,
    pub fee_minor: i64,
    pub interest_minor: i64,
    pub total_minor: i64,
    pub delivered_at: Option<DateTime<Utc>>,
}

#[OpenApi(tag = "Tag::Payments")]
impl PaymentsApi {
    /// Payments of a customer, newest first.
    #[oai(
        path = "/customers/:id/payments",
        method = "get",
        operation_id = "listPayments"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Json<Vec<PaymentOut>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "payments:read").await?;
        let cid = raw_id(&id)?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        crate::customers::get(&tx, cid)
            .await
            .map_err(|_| ApiError::not_found("Customer"))?;
        let list = payments::of_customer(&tx, cid)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(list.iter().map(payment_out).collect()))
    }

    /// Records a payment: allocated to the named item (or the one in the
    /// reference) with its Skonto, the rest to the oldest items, any excess on the
    /// balance.
    #[oai(
        path = "/customers/:id/payments",
        method = "post",
        operation_id = "recordPayment"
    )]
    async fn record(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
        body: Json<PaymentIn>,
    ) -> Result<Json<PaymentOut>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "payments:write").await?;
        let cid = raw_id(&id)?;
        let b = body.0;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let p = payments::record(
            &tx,
            &PaymentInput {
                customer_id: cid.to_owned(),
                amount: b.amount,
                currency: b.currency.unwrap_or_default(),
                rate: b.rate.unwrap_or_default(),
                method: b.method.unwrap_or_default(),
                reference: b.reference.unwrap_or_default(),
                invoice_id: b
                    .invoice_id
                    .map(|i| i.trim_start_matches("inv_").to_owned())
                    .unwrap_or_default(),
                booked_on: b.booked_on.unwrap_or_default(),
                note: b.note.unwrap_or_default(),
                external_id: b.external_id.map(|e| format!("api:{e}")),
            },
            &actor_name(&key),
        )
        .await
        .map_err(|e| match e {
            crate::billing::BillingError::NotFound => ApiError::not_found("Customer"),
            e => billing_error(e),
        })?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(Json(payment_out(&p)))
    }

    /// Open items (at most 1000, oldest due first) with their charges and dunning
    /// state, optionally of one customer.
    #[oai(path = "/open-items", method = "get", operation_id = "listOpenItems")]
    async fn open_items(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        customer_id: Query<Option<String>>,
    ) -> Result<Json<Vec<OpenItemOut>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "payments:read").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let mut q = invoice::Entity::find()
            .filter(invoice::Column::Kind.eq("invoice"))
            .filter(invoice::Column::Status.eq("open"));
        if let Some(c) = customer_id.0.as_deref() {
            q = q.filter(invoice::Column::CustomerId.eq(raw_id(c)?));
        }
        let items = q
            .order_by_asc(invoice::Column::DueAt)
            .limit(1000)
            .all(tx.conn())
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(items.iter().map(open_item_out).collect()))
    }

    /// Debit runs, newest first.
    #[oai(path = "/debit-runs", method = "get", operation_id = "listDebitRuns")]
    async fn debit_runs(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
    ) -> Result<Json<Vec<DebitRunOut>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "payments:read").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let runs = sepa::runs(&tx).await.map_err(ApiError::internal)?;
        Ok(Json(runs.iter().map(debit_out).collect()))
    }

    /// Runs a direct debit run now (409 when there is nothing to collect or the
    /// creditor data is missing).
    #[oai(path = "/debit-runs", method = "post", operation_id = "startDebitRun")]
    async fn debit_run(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
    ) -> Result<Json<DebitRunOut>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "payments:write").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let r = sepa::run(&tx, Utc::now(), &actor_name(&key))
            .await
            .map_err(billing_error)?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(Json(debit_out(&r)))
    }

    /// The run's SEPA file (pain.008).
    #[oai(
        path = "/debit-runs/:id/xml",
        method = "get",
        operation_id = "getDebitRunXml"
    )]
    async fn debit_xml(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<super::XmlFile, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "payments:read").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let r = payments::debit_run::Entity::find_by_id(id.0)
            .one(tx.conn())
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("Debit run"))?;
        Ok(super::XmlFile::new(
            r.xml,
            &format!("{}.pain.008.001.{}.xml", r.message_id, r.version),
        ))
    }

    /// Books a return debit for a collection (by its end-to-end id): the item is
    /// open again with the return fee, the debit status follows the reason.
    #[oai(
        path = "/debit-items/:end_to_end_id/return",
        method = "post",
        operation_id = "returnDebit"
    )]
    async fn return_debit(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        end_to_end_id: Path<String>,
        body: Json<ReturnIn>,
    ) -> Result<Json<OpenItemOut>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "payments:write").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let item = payments::return_debit(&tx, &end_to_end_id, &body.reason, &actor_name(&key))
            .await
            .map_err(|e| match e {
                crate::billing::BillingError::NotFound => ApiError::not_found("Debit item"),
                e => billing_error(e),
            })?;
        let i = invoice::Entity::find_by_id(item.invoice_id)
            .one(tx.conn())
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("Document"))?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(Json(open_item_out(&i)))
    }

    /// Dunning runs, newest first.
    #[oai(
        path = "/dunning-runs",
        method = "get",
        operation_id = "listDunningRuns"
    )]
    async fn dunning_runs(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
    ) -> Result<Json<Vec<DunningRunOut>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "payments:read").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let runs = dunning::runs(&tx).await.map_err(ApiError::internal)?;
        Ok(Json(runs.iter().map(dunning_out).collect()))
    }

    /// Runs dunning now: letters are written and sent; a second run the same day
    /// writes nothing.
    #[oai(
        path = "/dunning-runs",
        method = "post",
        operation_id = "startDunningRun"
    )]
    async fn dunning_run(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
    ) -> Result<Json<DunningRunOut>, ApiError> {
        let (tenant, key) = authorize(&state, req, &auth, "payments:write").await?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        let r = dunning::run(&tx, Utc::now(), &actor_name(&key))
            .await
            .map_err(billing_error)?;
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(Json(dunning_out(&r)))
    }

    /// Dunning letters of a customer, newest first.
    #[oai(
        path = "/customers/:id/dunning-letters",
        method = "get",
        operation_id = "listDunningLetters"
    )]
    async fn letters(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Json<Vec<LetterOut>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "payments:read").await?;
        let cid = raw_id(&id)?;
        let tx = state
            .tenancy
            .begin(&tenant)
            .await
            .map_err(ApiError::internal)?;
        crate::customers::get(&tx, cid)
            .await
            .map_err(|_| ApiError::not_found("Customer"))?;
        let list = dunning::letters_of(&tx, cid)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(
            list.iter()
                .map(|l| LetterOut {
                    id: l.id.clone(),
                    customer_id: format!("cus_{}", l.customer_id),
                    level: l.level,
                    day: l.day.clone(),
                    fee_minor: l.fee_minor,
                    interest_minor: l.interest_minor,
                    total_minor: l.total_minor,
                    delivered_at: l.delivered_at,
                })
                .collect(),
        ))
    }

    /// A dunning letter as PDF.
    #[oai(
        path = "/dunning-letters/:id/pdf",
        method = "get",
        operation_id = "getDunningLetterPdf"
    )]
    async fn letter_pdf(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ApiKeyAuth,
        id: Path<String>,
    ) -> Result<Attachment<Vec<u8>>, ApiError> {
        let (tenant, _) = authorize(&state, req, &auth, "payments:read").await?;
        let (l, pdf) = dunning::letter_pdf(&state, &tenant, &id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("Dunning letter"))?;
        Ok(Attachment::new(pdf)
            .filename(format!("dunning-{}.pdf", l.day))
            .attachment_type(AttachmentType::Inline))
    }
}
