//! Invoices and payments in the customer center (B3, C6): balance, open items,
//! every document with its PDF and e-invoice XML, the statement of account, and
//! cancelling a service with its notice period (C8). Only the signed-in
//! customer's own documents and services: another id answers 404.

use super::account::CustomerUser;
use super::page::StoreCtx;
use crate::app::AppState;
use crate::auth::csrf;
use crate::billing::{self, BillingError};
use crate::http::console::billing::{doc_rows, document_pdf, document_xml, pdf_response};
use crate::http::{FormData, flash, internal, redirect};
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path};
use poem::{Request, Response, Route, get, handler, post};
use sea_orm::EntityTrait;
use serde_json::json;

pub fn routes(r: Route) -> Route {
    r.at("/invoices", get(invoices_page))
        .at("/invoices/:id/pdf", get(invoice_pdf))
        .at("/invoices/:id/xml", get(invoice_xml))
        .at("/statement.pdf", get(statement_pdf))
        .at("/services/:id/cancel", post(cancel))
        .at("/pay", post(pay))
        .at("/pay/success", get(pay_done))
        .at("/pay/cancel", get(pay_done))
}

/// Pays an open invoice, or tops up the balance, through the reseller's Stripe
/// account (Y2, C7): a Checkout Session, then Stripe's page. The payment is booked
/// when Stripe's signed webhook confirms it.
#[handler]
async fn pay(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
    form: FormData,
) -> poem::Result<Response> {
    use crate::payments::stripe::{self, PayRefusal};
    csrf::verify(session, form.opt("csrf"))?;
    let lang = crate::http::lang_of(req);
    let t = |k: &str| relabel_themes::t(lang, k).to_owned();
    let base = base_url(state, req, &user.tenant.name);
    let asked = stripe::PayRequest {
        invoice_id: form.get("invoice"),
        amount: form.get("amount"),
        invoice_label: t("invoices.invoice"),
        topup_label: t("pay.topup_item"),
        success_url: format!("{base}/account/pay/success"),
        cancel_url: format!("{base}/account/pay/cancel"),
    };
    let refusal = match stripe::pay_link(state, &user.tenant, &user.customer, &asked)
        .await
        .map_err(internal)?
    {
        Ok(url) => return Ok(see_other(&url)),
        Err(r) => r,
    };
    let key = match refusal {
        PayRefusal::NotFound => return Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
        PayRefusal::Unavailable => "pay.unavailable",
        PayRefusal::Amount => "pay.amount_invalid",
        PayRefusal::ProviderDown => "pay.provider_down",
    };
    flash(session, "error", t(key));
    Ok(redirect("/account/invoices"))
}

/// This request's own origin (`scheme://host`), for return addresses.
pub fn base_url(state: &AppState, req: &Request, fallback_host: &str) -> String {
    let host = req.header("host").unwrap_or(fallback_host);
    format!("{}://{host}", state.config.public_scheme())
}

/// A 303 to an outside address (Stripe's page).
pub fn see_other(url: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header("location", url)
        .finish()
}

#[handler]
async fn pay_done(session: &Session, req: &Request, _user: CustomerUser) -> Response {
    let lang = crate::http::lang_of(req);
    let (kind, key) = if req.uri().path().ends_with("/success") {
        ("success", "pay.thanks")
    } else {
        ("error", "pay.cancelled")
    };
    flash(session, kind, relabel_themes::t(lang, key).to_owned());
    redirect("/account/invoices")
}

#[handler]
async fn invoices_page(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let docs = billing::documents(&tx, &user.customer.id)
        .await
        .map_err(internal)?;
    let entries = billing::ledger(&tx, &user.customer.id)
        .await
        .map_err(internal)?;
    let acc = crate::orders::account::Entity::find_by_id(user.customer.id.clone())
        .one(tx.conn())
        .await
        .map_err(internal)?;
    let settings = billing::settings(&tx).await.map_err(internal)?;
    let pending = crate::payments::sepa::pending(&tx)
        .await
        .map_err(internal)?;
    drop(tx);
    let cur = &user.customer.currency;
    let open: i64 = docs
        .iter()
        .filter(|d| d.kind == "invoice" && d.status == "open")
        .map(billing::invoice::Model::open_minor)
        .sum();
    let payments: Vec<_> = entries
        .iter()
        .filter(|e| !["invoice", "credit_note"].contains(&e.kind.as_str()))
        .map(|e| {
            json!({
                "kind": e.kind, "at": e.created_at.format("%Y-%m-%d").to_string(),
                "amount": crate::http::console::billing::fmt_amount(e.amount_minor, &e.currency),
                "note": e.note,
            })
        })
        .collect();
    let ctx = StoreCtx {
        state,
        session,
        req,
        tenant: user.tenant.clone(),
        customer: Some(&user.customer),
    };
    ctx.render(
        StatusCode::OK,
        "account/invoices.html",
        json!({
            "documents": doc_rows(&docs, &pending),
            "online": crate::payments::stripe::keys(state, &settings).is_some(),
            "payments": payments,
            "balance": crate::http::console::billing::fmt_amount(acc.map(|a| a.balance_minor).unwrap_or(0), cur),
            "open": crate::http::console::billing::fmt_amount(open, cur),
        }),
    )
}

async fn own(state: &AppState, user: &CustomerUser, id: &str) -> poem::Result<()> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    billing::document_of(&tx, &user.customer.id, id)
        .await
        .map_err(internal)?
        .map(|_| ())
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))
}

#[handler]
async fn invoice_pdf(
    Data(state): Data<&AppState>,
    user: CustomerUser,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    own(state, &user, &id).await?;
    document_pdf(state, &user.tenant, &id).await
}

#[handler]
async fn invoice_xml(
    Data(state): Data<&AppState>,
    user: CustomerUser,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    own(state, &user, &id).await?;
    document_xml(state, &user.tenant, &id).await
}

#[handler]
async fn statement_pdf(Data(state): Data<&AppState>, user: CustomerUser) -> poem::Result<Response> {
    let pdf = billing::document::statement(state, &user.tenant, &user.customer.id)
        .await
        .map_err(internal)?
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
    Ok(pdf_response("statement", pdf))
}

#[handler]
async fn cancel(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: CustomerUser,
    Path(id): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let lang = crate::http::lang_of(req);
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let result = billing::cancel::cancel(
        &tx,
        state.tenancy.backend().shared(),
        &user.tenant.name,
        &id,
        Some(&user.customer.id),
        false,
        &format!("customer:{}", user.customer.number),
    )
    .await;
    let t = |k: &str| relabel_themes::t(lang, k).to_owned();
    match result {
        Ok(c) => {
            crate::audit::record_tenant(
                &tx,
                crate::audit::Change::new(&user.customer.email, "service.cancel", &id)
                    .entity("service", &id)
                    .after(json!({ "ends_at": c.ends_at })),
            )
            .await
            .map_err(internal)?;
            tx.commit().await.map_err(internal)?;
            flash(
                session,
                "success",
                relabel_themes::t_args(
                    lang,
                    "cancel.done",
                    &[("date", &c.ends_at.format("%Y-%m-%d").to_string())],
                ),
            );
        }
        Err(BillingError::NotFound) => return Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
        Err(BillingError::Refused(_)) => {
            drop(tx);
            flash(session, "error", t("cancel.refused"));
        }
        Err(e) => return Err(internal(e)),
    }
    Ok(redirect("/account/domains"))
}
