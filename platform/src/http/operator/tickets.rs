//! Technical tickets for the operator (O15): dead jobs of every reseller with the
//! peer's last answer, so platform-wide registry or DNS trouble is seen at once.

use super::{OperatorUser, page};
use crate::app::AppState;
use crate::http::internal;
use poem::session::Session;
use poem::web::Data;
use poem::{Request, Response, handler};
use serde_json::{Value, json};

#[handler]
pub async fn list(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: OperatorUser,
) -> poem::Result<Response> {
    let mut rows: Vec<Value> = Vec::new();
    for t in state.tenancy.list().await.map_err(internal)? {
        let tx = state.tenancy.begin(&t).await.map_err(internal)?;
        for j in crate::jobs::list(&tx, Some("dead"), 100)
            .await
            .map_err(internal)?
        {
            rows.push(json!({
                "reseller": t.name, "kind": j.kind, "reference": j.reference,
                "attempts": j.attempts, "last_error": j.last_error,
                "at": j.updated_at.format("%Y-%m-%d %H:%M").to_string(),
            }));
        }
    }
    rows.sort_by(|a, b| b["at"].as_str().cmp(&a["at"].as_str()));
    page(state, session, req, Some(&user.0)).render(
        "operator/tickets.html",
        "title.tickets",
        "tickets",
        json!({ "tickets": rows }),
    )
}
