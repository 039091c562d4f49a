//! Provisioning and other background jobs in the console (O15): the queue with
//! its states; dead jobs are the technical tickets, with the peer's last answer,
//! to be re-run or cancelled (audited).

use super::{Can, EditCustomers, ViewOrders, page};
use crate::app::AppState;
use crate::audit::{self, Change};
use crate::auth::csrf;
use crate::http::store::account::client_ip;
use crate::http::{FormData, flash, internal, redirect};
use poem::http::StatusCode;
use poem::session::Session;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, handler};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
pub struct JobQuery {
    status: Option<String>,
}

#[handler]
pub async fn list(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ViewOrders>,
    Query(q): Query<JobQuery>,
) -> poem::Result<Response> {
    let status = q
        .status
        .filter(|s| ["queued", "running", "done", "dead", "cancelled"].contains(&s.as_str()));
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let all = crate::jobs::list(&tx, status.as_deref(), 300)
        .await
        .map_err(internal)?;
    drop(tx);
    let rows: Vec<Value> = all
        .iter()
        .map(|j| {
            json!({
                "id": j.id, "kind": j.kind, "reference": j.reference, "status": j.status,
                "attempts": j.attempts, "last_error": j.last_error,
                "run_after": j.run_after.format("%Y-%m-%d %H:%M").to_string(),
                "created_at": j.created_at.format("%Y-%m-%d %H:%M").to_string(),
            })
        })
        .collect();
    page(state, session, req, &user.tenant, Some(&user.member)).render(
        "console/jobs.html",
        "title.jobs",
        "jobs",
        json!({ "jobs": rows, "filter": status }),
    )
}

#[handler]
pub async fn act(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<EditCustomers>,
    Path((id, action)): Path<(String, String)>,
    form: FormData,
) -> poem::Result<Response> {
    csrf::verify(session, form.opt("csrf"))?;
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let changed = match action.as_str() {
        "rerun" => crate::jobs::rerun(&tx, &id).await,
        "cancel" => crate::jobs::cancel(&tx, &id).await,
        _ => return Err(poem::Error::from_status(StatusCode::NOT_FOUND)),
    }
    .map_err(internal)?;
    let p = page(state, session, req, &user.tenant, Some(&user.member));
    if changed {
        audit::record_tenant(
            &tx,
            Change::new(&user.member.email, &format!("job.{action}"), &id)
                .entity("job", &id)
                .ip(Some(&client_ip(req))),
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        flash(
            session,
            "success",
            p.t(if action == "rerun" {
                "flash.job_rerun"
            } else {
                "flash.job_cancelled"
            }),
        );
    } else {
        drop(tx);
        flash(session, "error", p.t("err.job_state"));
    }
    Ok(redirect("/console/jobs"))
}
