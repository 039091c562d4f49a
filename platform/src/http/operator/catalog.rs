//! The wholesale catalog in the operator console, and its CSV export.

use super::{OperatorUser, page};
use crate::app::AppState;
use crate::catalog;
use crate::customers::fields::format_amount;
use crate::http::internal;
use poem::session::Session;
use poem::web::Data;
use poem::{Request, Response, handler};
use serde_json::{Value, json};

fn period(months: i32) -> String {
    match months {
        0 => "once".into(),
        1 => "1 mo".into(),
        m if m % 12 == 0 => format!("{} yr", m / 12),
        m => format!("{m} mo"),
    }
}

#[handler]
pub async fn show(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
) -> poem::Result<Response> {
    let db = state.tenancy.backend().shared();
    let tlds = catalog::tlds(db).await.map_err(internal)?;
    let overview = catalog::overview(db).await.map_err(internal)?;
    let yearly = |tld: &str, action: &str| -> String {
        overview
            .iter()
            .find(|(p, _)| p.tld.as_deref() == Some(tld))
            .and_then(|(_, prices)| {
                prices
                    .iter()
                    .find(|w| w.action == action && w.period_months == 12)
            })
            .map(|w| format_amount(w.amount_minor))
            .unwrap_or_else(|| "—".into())
    };
    let tld_rows: Vec<Value> = tlds
        .iter()
        .map(|t| {
            json!({
                "name": t.name, "groups": t.groups, "periods": t.periods, "idn": t.idn,
                "min_length": t.min_length, "max_length": t.max_length,
                "transfer_auth_code": t.transfer_auth_code, "residency": t.residency,
                "register": yearly(&t.name, "register"), "renew": yearly(&t.name, "renew"),
                "transfer": yearly(&t.name, "transfer"), "restore": yearly(&t.name, "restore"),
            })
        })
        .collect();
    let products: Vec<Value> = overview
        .iter()
        .filter(|(p, _)| p.tld.is_none())
        .map(|(p, prices)| {
            let prices: Vec<Value> = prices
                .iter()
                .map(|w| json!({ "action": w.action, "period": period(w.period_months), "amount": format_amount(w.amount_minor), "currency": w.currency }))
                .collect();
            json!({ "id": p.id, "name": p.name, "kind": p.kind, "prices": prices })
        })
        .collect();
    page(state, session, req, Some(&user.0)).render(
        "operator/catalog.html",
        "title.catalog",
        "catalog",
        json!({ "tlds": tld_rows, "products": products }),
    )
}

#[handler]
pub async fn csv(Data(state): Data<&AppState>, _user: OperatorUser) -> poem::Result<Response> {
    let body = catalog::export_csv(state.tenancy.backend().shared())
        .await
        .map_err(internal)?;
    Ok(Response::builder()
        .content_type("text/csv; charset=utf-8")
        .header(
            "Content-Disposition",
            "attachment; filename=\"relabel-catalog.csv\"",
        )
        .body(body))
}
