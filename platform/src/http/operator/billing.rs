//! The operator's billing of resellers (T5): the platform run on demand, every
//! platform invoice with its PDF, and the resellers' platform accounts.

use super::{OperatorUser, page};
use crate::app::AppState;
use crate::audit::{self, Change};
use crate::auth::csrf;
use crate::billing;
use crate::http::console::billing::{doc_row, pdf_response};
use crate::http::{FormData, flash, internal, redirect};
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};
use serde_json::json;

#[handler]
pub async fn show(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
) -> poem::Result<Response> {
    let (docs, pending) = billing::platform::invoices(state, None)
        .await
        .map_err(internal)?;
    let names: std::collections::HashMap<String, String> = state
        .tenancy
        .list()
        .await
        .map_err(internal)?
        .into_iter()
        .map(|t| (t.id.to_string(), t.name))
        .collect();
    let accounts = crate::orders::wholesale::accounts(state.tenancy.backend().shared())
        .await
        .map_err(internal)?;
    let collection = super::collection::view(state).await.map_err(internal)?;
    page(state, session, req, Some(&user.0)).render(
        "operator/billing.html",
        "title.platform_billing",
        "billing",
        json!({
            "invoices": docs.iter().map(|d| {
                let mut v = doc_row(d, &pending);
                v["reseller"] = json!(names.get(&d.customer_id).cloned().unwrap_or_default());
                v
            }).collect::<Vec<_>>(),
            "accounts": accounts.iter().map(|a| json!({
                "reseller": names.get(&a.tenant_id).cloned().unwrap_or_default(),
                "balance": crate::http::console::billing::fmt_amount(a.balance_minor, &a.currency),
                "reserved": crate::http::console::billing::fmt_amount(a.reserved_minor, &a.currency),
                "limit": crate::http::console::billing::fmt_amount(a.credit_limit_minor, &a.currency),
                "paused": a.ordering_suspended_at.map(|t| t.format("%Y-%m-%d").to_string()),
            })).collect::<Vec<_>>(),
            "collection": collection,
        }),
    )
}

#[handler]
pub async fn run(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let done = billing::platform::run(state, &user.0.email)
        .await
        .map_err(internal)?;
    audit::record_operator(
        state.tenancy.backend().shared(),
        None,
        Change::new(&user.0.email, "platform.billing_run", "platform")
            .after(json!({ "invoices": done.invoices, "gross_minor": done.gross_minor })),
    )
    .await
    .map_err(internal)?;
    let p = page(state, session, req, Some(&user.0));
    flash(
        session,
        "success",
        format!("{} {}", p.t("flash.platform_run"), done.invoices.len()),
    );
    Ok(redirect("/operator/billing"))
}

#[handler]
pub async fn pdf(
    Data(state): Data<&AppState>,
    _user: OperatorUser,
    Path(id): Path<String>,
) -> poem::Result<Response> {
    let books = state.tenancy.platform_books().await.map_err(internal)?;
    match billing::document::files(state, &books, &id)
        .await
        .map_err(internal)?
    {
        Some((inv, pdf, _)) => Ok(pdf_response(&inv.number, pdf)),
        None => Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
    }
}
