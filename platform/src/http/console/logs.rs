//! The change log (A11, T7) and the mail outbox of a reseller.

use super::{Can, StaffUser, ViewAudit, ViewOutbox, page};
use crate::app::AppState;
use crate::audit::tenant_log;
use crate::http::internal;
use poem::session::Session;
use poem::web::Data;
use poem::{Request, Response, handler};
use serde_json::{Value, json};

/// Field-level differences between two JSON snapshots.
fn diff(before: Option<&str>, after: Option<&str>) -> Vec<Value> {
    let parse = |s: Option<&str>| {
        s.and_then(|s| serde_json::from_str::<Value>(s).ok())
            .unwrap_or(Value::Null)
    };
    let (b, a) = (parse(before), parse(after));
    match (&b, &a) {
        (Value::Object(bm), Value::Object(am)) => {
            let mut keys: Vec<&String> = bm.keys().chain(am.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .filter(|k| bm.get(*k) != am.get(*k))
                .map(|k| json!({ "field": k, "before": show(bm.get(k)), "after": show(am.get(k)) }))
                .collect()
        }
        (Value::Null, Value::Null) => vec![],
        _ => vec![json!({ "field": "", "before": show(Some(&b)), "after": show(Some(&a)) })],
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

pub fn render(
    state: &AppState,
    session: &Session,
    req: &Request,
    user: &StaffUser,
    subject: Option<String>,
    back_url: Option<String>,
    entries: &[tenant_log::Model],
) -> poem::Result<Response> {
    let rows: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "at": e.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                "actor": e.actor, "action": e.action, "entity": e.entity, "entity_id": e.entity_id, "ip": e.ip,
                "changes": diff(e.before.as_deref(), e.after.as_deref()),
            })
        })
        .collect();
    page(state, session, req, &user.tenant, Some(&user.member)).render(
        "console/change_log.html",
        "title.change_log",
        "audit",
        json!({ "subject": subject, "back_url": back_url, "entries": rows }),
    )
}

#[handler]
pub async fn audit(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ViewAudit>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let entries = crate::audit::entity_log(&tx, None, 200)
        .await
        .map_err(internal)?;
    drop(tx);
    render(state, session, req, &user, None, None, &entries)
}

#[handler]
pub async fn outbox(
    Data(state): Data<&AppState>,
    session: &Session,
    req: &Request,
    user: Can<ViewOutbox>,
) -> poem::Result<Response> {
    let tx = state.tenancy.begin(&user.tenant).await.map_err(internal)?;
    let messages = crate::mail::recent(&tx, 100).await.map_err(internal)?;
    let owner = user.member.role == crate::staff::Role::Owner;
    let mut rows = Vec::with_capacity(messages.len());
    for m in &messages {
        let body = secrets_hidden(&tx, &m.text_body, owner && m.status == "stored")
            .await
            .map_err(internal)?;
        rows.push(json!({
            "id": m.id, "to": m.to_addr, "from": m.from_addr, "subject": m.subject, "status": m.status,
            "created_at": m.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            "sent_at": m.sent_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
            "body": body,
        }));
    }
    drop(tx);
    page(state, session, req, &user.tenant, Some(&user.member)).render(
        "console/outbox.html",
        "title.outbox",
        "outbox",
        json!({ "messages": rows }),
    )
}

/// A mail's text as staff may see it in the outbox. Links that carry a secret
/// (sign-up verification, password reset, email change, staff invitation:
/// `token=...`; newsletter confirmation and unsubscription) would let whoever
/// reads them act as the recipient, so the secret is shown only to the owner,
/// only for a message that was kept here rather than delivered (no SMTP), and
/// only while the link still works. Everyone else sees the link without it.
pub(crate) async fn secrets_hidden(
    tx: &relabel_tenants::TenantTx,
    body: &str,
    may_show: bool,
) -> Result<String, sea_orm::DbErr> {
    const HIDDEN: &str = "[hidden]";
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    loop {
        // The earliest secret-bearing spot in what is left.
        let next = ["token=", "/newsletter/confirm/", "/newsletter/unsubscribe/"]
            .iter()
            .filter_map(|m| rest.find(m).map(|at| (at + m.len(), *m)))
            .min_by_key(|(at, _)| *at);
        let Some((start, marker)) = next else {
            out.push_str(rest);
            return Ok(out);
        };
        out.push_str(&rest[..start]);
        let len = rest[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(rest.len() - start);
        let secret = &rest[start..start + len];
        let live = marker == "token=" && may_show && crate::tokens::is_live(tx, secret).await?;
        let newsletter_owner = marker != "token=" && may_show;
        out.push_str(if live || newsletter_owner || secret.is_empty() {
            secret
        } else {
            HIDDEN
        });
        rest = &rest[start + len..];
    }
}
