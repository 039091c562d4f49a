//! Newsletters (A12): the reseller's categories, subscriptions with double
//! opt-in, and mailings to a category sent through the job queue.
//!
//! A subscription is `pending` until the link mailed to the address is opened
//! (`/newsletter/confirm/{token}`), then `confirmed`; every mailing carries the
//! subscription's own unsubscribe link (`/newsletter/unsubscribe/{token}`). A
//! customer who ticks a category in the customer center goes through the same
//! opt-in. A mailing is written to the outbox in batches, each batch with the
//! mailing's cursor in one transaction, so a crashed send resumes where it
//! stopped and nobody gets a mailing twice.

use crate::app::AppState;
use crate::audit::{self, Change};
use crate::jobs::runner::{Handler, JobError};
use crate::jobs::{self, NewJob};
use crate::mail::Mail;
use crate::orders::entity::entity;
use crate::validation::FieldErrors;
use chrono::Utc;
use relabel_tenants::{Tenant, TenantTx};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;

entity!(category, "newsletter_categories", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    name: String,
    description: String,
    active: bool,
    created_at: DateTimeUtc,
});

entity!(subscription, "newsletter_subscriptions", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    category_id: String,
    email: String,
    customer_id: Option<String>,
    /// pending | confirmed | unsubscribed
    status: String,
    token: String,
    lang: String,
    created_at: DateTimeUtc,
    confirmed_at: Option<DateTimeUtc>,
    unsubscribed_at: Option<DateTimeUtc>,
});

entity!(mailing, "newsletter_mailings", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    category_id: String,
    subject: String,
    body: String,
    /// queued | sending | sent
    status: String,
    recipients: i32,
    sent: i32,
    /// The last subscription written to.
    cursor: String,
    actor: String,
    created_at: DateTimeUtc,
    sent_at: Option<DateTimeUtc>,
});

/// The job kind that writes a mailing to the outbox.
pub const SEND: &str = "newsletter.send";

/// Recipients written per transaction.
const BATCH: u64 = 200;

fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

fn new_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 24];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// The reseller's categories, oldest first; `active_only` for the public forms.
pub async fn categories(tx: &TenantTx, active_only: bool) -> Result<Vec<category::Model>, DbErr> {
    let mut q = category::Entity::find().order_by_asc(category::Column::CreatedAt);
    if active_only {
        q = q.filter(category::Column::Active.eq(true));
    }
    q.all(tx.conn()).await
}

/// Confirmed subscribers per category id.
pub async fn counts(tx: &TenantTx) -> Result<std::collections::HashMap<String, i64>, DbErr> {
    let rows: Vec<(String, i64)> = subscription::Entity::find()
        .select_only()
        .column(subscription::Column::CategoryId)
        .column_as(subscription::Column::Id.count(), "n")
        .filter(subscription::Column::Status.eq("confirmed"))
        .group_by(subscription::Column::CategoryId)
        .into_tuple()
        .all(tx.conn())
        .await?;
    Ok(rows.into_iter().collect())
}

/// A new category (name 1-100 characters, description up to 500).
pub async fn create_category(
    tx: &TenantTx,
    name: &str,
    description: &str,
    actor: &str,
) -> Result<category::Model, Result<FieldErrors, DbErr>> {
    let e = check_category(name, description);
    if !e.is_empty() {
        return Err(Ok(e));
    }
    let name = name.trim();
    let c = category::ActiveModel {
        id: Set(new_id()),
        name: Set(name.to_owned()),
        description: Set(description.trim().to_owned()),
        active: Set(true),
        created_at: Set(Utc::now()),
    }
    .insert(tx.conn())
    .await
    .map_err(Err)?;
    audit::record_tenant(
        tx,
        Change::new(actor, "newsletter.category", &c.name)
            .entity("newsletter_category", &c.id)
            .after(&c),
    )
    .await
    .map_err(Err)?;
    Ok(c)
}

/// Renames a category or changes its description.
pub async fn update_category(
    tx: &TenantTx,
    id: &str,
    name: &str,
    description: &str,
    actor: &str,
) -> Result<bool, Result<FieldErrors, DbErr>> {
    let e = check_category(name, description);
    if !e.is_empty() {
        return Err(Ok(e));
    }
    let Some(before) = category::Entity::find_by_id(id.to_owned())
        .one(tx.conn())
        .await
        .map_err(Err)?
    else {
        return Ok(false);
    };
    let mut a: category::ActiveModel = before.clone().into();
    a.name = Set(name.trim().to_owned());
    a.description = Set(description.trim().to_owned());
    let after = a.update(tx.conn()).await.map_err(Err)?;
    audit::record_tenant(
        tx,
        Change::new(actor, "newsletter.category", &after.name)
            .entity("newsletter_category", &after.id)
            .before(&before)
            .after(&after),
    )
    .await
    .map_err(Err)?;
    Ok(true)
}

fn check_category(name: &str, description: &str) -> FieldErrors {
    let mut e = FieldErrors::default();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        e.add("name", "err.category_name");
    }
    if description.trim().chars().count() > 500 {
        e.add("description", "err.too_long");
    }
    e
}

/// Switches a category on or off for new subscriptions and mailings.
pub async fn set_active(tx: &TenantTx, id: &str, active: bool) -> Result<bool, DbErr> {
    Ok(category::Entity::update_many()
        .col_expr(category::Column::Active, Expr::val(active))
        .filter(category::Column::Id.eq(id))
        .exec(tx.conn())
        .await?
        .rows_affected
        == 1)
}

/// What a subscribe request leaves: the subscriptions waiting for the opt-in
/// link (new, or asked again), and those already confirmed.
#[derive(Debug, Default)]
pub struct Subscribed {
    pub pending: Vec<(subscription::Model, category::Model)>,
    pub already: usize,
}

/// Subscribes `email` to active categories: new or unsubscribed ones become
/// pending with a fresh token, confirmed ones stay. Field errors name `email` or
/// `categories`; nothing is written then.
pub async fn subscribe(
    tx: &TenantTx,
    email: &str,
    category_ids: &[String],
    customer_id: Option<&str>,
    lang: &str,
) -> Result<Subscribed, Result<FieldErrors, DbErr>> {
    let mut e = FieldErrors::default();
    let email = crate::auth::Email::parse(email).map(|m| m.as_str().to_lowercase());
    if email.is_none() {
        e.add("email", "err.email");
    }
    let active = categories(tx, true).await.map_err(Err)?;
    let chosen: Vec<&category::Model> = active
        .iter()
        .filter(|c| category_ids.contains(&c.id))
        .collect();
    if chosen.is_empty() || chosen.len() != category_ids.len() {
        e.add("categories", "err.newsletter_categories");
    }
    let Some(email) = email.filter(|_| e.is_empty()) else {
        return Err(Ok(e));
    };
    let now = Utc::now();
    let mut out = Subscribed::default();
    for c in chosen {
        let existing = subscription::Entity::find()
            .filter(subscription::Column::CategoryId.eq(&c.id))
            .filter(subscription::Column::Email.eq(&email))
            .one(tx.conn())
            .await
            .map_err(Err)?;
        let sub = match existing {
            Some(s) if s.status == "confirmed" => {
                out.already += 1;
                continue;
            }
            Some(s) => {
                let mut a: subscription::ActiveModel = s.into();
                a.status = Set("pending".into());
                a.token = Set(new_token());
                a.lang = Set(lang.to_owned());
                a.unsubscribed_at = Set(None);
                if let Some(id) = customer_id {
                    a.customer_id = Set(Some(id.to_owned()));
                }
                a.update(tx.conn()).await.map_err(Err)?
            }
            None => subscription::ActiveModel {
                id: Set(new_id()),
                category_id: Set(c.id.clone()),
                email: Set(email.clone()),
                customer_id: Set(customer_id.map(str::to_owned)),
                status: Set("pending".into()),
                token: Set(new_token()),
                lang: Set(lang.to_owned()),
                created_at: Set(now),
                confirmed_at: Set(None),
                unsubscribed_at: Set(None),
            }
            .insert(tx.conn())
            .await
            .map_err(Err)?,
        };
        out.pending.push((sub, c.clone()));
    }
    Ok(out)
}

/// The opt-in link: a pending subscription becomes confirmed. Returns the
/// subscription and its category, or none for an unknown token.
pub async fn confirm(
    tx: &TenantTx,
    token: &str,
) -> Result<Option<(subscription::Model, category::Model)>, DbErr> {
    by_token(tx, token, "confirmed").await
}

/// The token of a subscription's unsubscribe link: its id and a keyed hash of
/// it, so the link leaves and cannot confirm (the opt-in token is never in a
/// mailing), and works for ever without being stored.
pub fn unsubscribe_token(sealer: &crate::secrets::Sealer, s: &subscription::Model) -> String {
    format!("{}.{}", s.id, unsubscribe_mac(sealer, &s.id))
}

fn unsubscribe_mac(sealer: &crate::secrets::Sealer, id: &str) -> String {
    let mac = sealer.keyed_hash(&format!("newsletter-unsubscribe:{id}"));
    mac.trim_start_matches("k1:").chars().take(32).collect()
}

/// The unsubscribe link of a subscription, on the shop at `base`.
pub fn unsubscribe_link(state: &AppState, base: &str, s: &subscription::Model) -> String {
    format!(
        "{base}/newsletter/unsubscribe/{}",
        unsubscribe_token(&state.sealer, s)
    )
}

/// The unsubscribe link (or a mail client's one-click POST to it): the
/// subscription becomes unsubscribed. Links of mailings sent before the
/// separate token still carry the opt-in token and still leave.
pub async fn unsubscribe(
    tx: &TenantTx,
    sealer: &crate::secrets::Sealer,
    token: &str,
) -> Result<Option<(subscription::Model, category::Model)>, DbErr> {
    let Some((id, mac)) = token.split_once('.') else {
        return by_token(tx, token, "unsubscribed").await;
    };
    let expected = unsubscribe_mac(sealer, id);
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        mac.as_bytes(),
        expected.as_bytes(),
    )) {
        return Ok(None);
    }
    let Some(s) = subscription::Entity::find_by_id(id.to_owned())
        .one(tx.conn())
        .await?
    else {
        return Ok(None);
    };
    by_token(tx, &s.token, "unsubscribed").await
}

async fn by_token(
    tx: &TenantTx,
    token: &str,
    status: &str,
) -> Result<Option<(subscription::Model, category::Model)>, DbErr> {
    if token.len() != 48 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(s) = subscription::Entity::find()
        .filter(subscription::Column::Token.eq(token))
        .one(tx.conn())
        .await?
    else {
        return Ok(None);
    };
    let Some(c) = category::Entity::find_by_id(s.category_id.clone())
        .one(tx.conn())
        .await?
    else {
        return Ok(None);
    };
    // Confirming an unsubscribed address needs a new opt-in.
    if status == "confirmed" && s.status == "unsubscribed" {
        return Ok(Some((s, c)));
    }
    if s.status == status {
        return Ok(Some((s, c)));
    }
    let now = Utc::now();
    let mut a: subscription::ActiveModel = s.into();
    a.status = Set(status.to_owned());
    if status == "confirmed" {
        a.confirmed_at = Set(Some(now));
    } else {
        a.unsubscribed_at = Set(Some(now));
    }
    Ok(Some((a.update(tx.conn()).await?, c)))
}

/// Subscriptions of one customer (their own or their address's), for the
/// customer center.
pub async fn of_email(tx: &TenantTx, email: &str) -> Result<Vec<subscription::Model>, DbErr> {
    subscription::Entity::find()
        .filter(subscription::Column::Email.eq(email.to_lowercase()))
        .all(tx.conn())
        .await
}

/// The opt-in mail: one link per category asked for.
pub async fn queue_opt_in(
    state: &AppState,
    tx: &TenantTx,
    tenant: &Tenant,
    base: &str,
    lang: relabel_themes::Lang,
    pending: &[(subscription::Model, category::Model)],
) -> anyhow::Result<()> {
    let Some((first, _)) = pending.first() else {
        return Ok(());
    };
    let links: Vec<_> = pending
        .iter()
        .map(|(s, c)| json!({ "name": c.name, "link": format!("{base}/newsletter/confirm/{}", s.token) }))
        .collect();
    let look = state.looks.get(tx, &state.themes).await?;
    let (subject, body) = state.themes.render_email(
        "newsletter_opt_in",
        lang,
        &json!({ "brand_name": tenant.name, "categories": links }),
        look.custom.as_ref(),
    )?;
    let from = crate::mail::sender(tx, tenant).await?;
    state
        .mailer
        .queue(
            tx,
            Mail {
                to: first.email.clone(),
                from,
                subject,
                body,
            },
        )
        .await?;
    Ok(())
}

/// Queues a mailing to a category's confirmed subscribers; `base` is the shop's
/// address for the links (the host staff work on, else the shop's first one).
pub async fn start_mailing(
    tx: &TenantTx,
    category_id: &str,
    subject: &str,
    body: &str,
    actor: &str,
    base: Option<&str>,
) -> Result<mailing::Model, Result<FieldErrors, DbErr>> {
    let mut e = FieldErrors::default();
    let cat = category::Entity::find_by_id(category_id.to_owned())
        .one(tx.conn())
        .await
        .map_err(Err)?
        .filter(|c| c.active);
    if cat.is_none() {
        e.add("category_id", "err.choice");
    }
    let subject = subject.trim();
    if subject.is_empty() || subject.chars().count() > 200 || subject.contains(['\r', '\n']) {
        e.add("subject", "err.subject");
    }
    if body.trim().is_empty() || body.chars().count() > 50_000 {
        e.add("body", "err.body");
    }
    if !e.is_empty() {
        return Err(Ok(e));
    }
    let recipients = subscription::Entity::find()
        .filter(subscription::Column::CategoryId.eq(category_id))
        .filter(subscription::Column::Status.eq("confirmed"))
        .count(tx.conn())
        .await
        .map_err(Err)?;
    let m = mailing::ActiveModel {
        id: Set(new_id()),
        category_id: Set(category_id.to_owned()),
        subject: Set(subject.to_owned()),
        body: Set(body.trim_end().to_owned()),
        status: Set("queued".into()),
        recipients: Set(i32::try_from(recipients).unwrap_or(i32::MAX)),
        sent: Set(0),
        cursor: Set(String::new()),
        actor: Set(actor.to_owned()),
        created_at: Set(Utc::now()),
        sent_at: Set(None),
    }
    .insert(tx.conn())
    .await
    .map_err(Err)?;
    jobs::enqueue(
        tx,
        NewJob {
            kind: SEND,
            reference: &m.id,
            key: &format!("newsletter:{}", m.id),
            payload: json!({ "mailing_id": m.id, "base": base }),
            run_after: None,
        },
    )
    .await
    .map_err(Err)?;
    audit::record_tenant(
        tx,
        Change::new(actor, "newsletter.mailing", &m.subject)
            .entity("newsletter_mailing", &m.id)
            .after(json!({ "category_id": category_id, "recipients": recipients })),
    )
    .await
    .map_err(Err)?;
    Ok(m)
}

pub async fn mailings(tx: &TenantTx) -> Result<Vec<mailing::Model>, DbErr> {
    mailing::Entity::find()
        .order_by_desc(mailing::Column::CreatedAt)
        .limit(50)
        .all(tx.conn())
        .await
}

/// The text of one mailing to one subscriber, with their unsubscribe link.
pub fn mailing_text(
    state: &AppState,
    tenant: &Tenant,
    m: &mailing::Model,
    s: &subscription::Model,
    base: &str,
    custom: Option<&relabel_themes::Custom>,
) -> anyhow::Result<(String, String)> {
    let lang = relabel_themes::Lang::parse(&s.lang).unwrap_or(relabel_themes::Lang::De);
    Ok(state.themes.render_email(
        "newsletter",
        lang,
        &json!({
            "brand_name": tenant.name, "subject": m.subject, "body": m.body,
            "unsubscribe": unsubscribe_link(state, base, s),
        }),
        custom,
    )?)
}

/// The shop's own address for links in mailings sent by the job (no request).
pub fn shop_base(state: &AppState, tenant: &Tenant) -> String {
    let host = tenant
        .hostnames
        .first()
        .cloned()
        .unwrap_or_else(|| "localhost".into());
    state.config.public_origin(&host)
}

/// Writes a mailing to the outbox, one batch per transaction with its cursor.
pub async fn send(
    state: &AppState,
    tenant: &Tenant,
    mailing_id: &str,
    base: Option<&str>,
) -> anyhow::Result<()> {
    let base = base.map_or_else(|| shop_base(state, tenant), str::to_owned);
    loop {
        let tx = state.tenancy.begin(tenant).await?;
        let Some(m) = mailing::Entity::find_by_id(mailing_id.to_owned())
            .one(tx.conn())
            .await?
        else {
            return Ok(());
        };
        if m.status == "sent" {
            return Ok(());
        }
        let batch = subscription::Entity::find()
            .filter(subscription::Column::CategoryId.eq(&m.category_id))
            .filter(subscription::Column::Status.eq("confirmed"))
            .filter(subscription::Column::Id.gt(&m.cursor))
            .order_by_asc(subscription::Column::Id)
            .limit(BATCH)
            .all(tx.conn())
            .await?;
        let mut a: mailing::ActiveModel = m.clone().into();
        let Some(last) = batch.last() else {
            a.status = Set("sent".into());
            a.sent_at = Set(Some(Utc::now()));
            a.update(tx.conn()).await?;
            tx.commit().await?;
            return Ok(());
        };
        let from = crate::mail::sender(&tx, tenant).await?;
        let look = state.looks.get(&tx, &state.themes).await?;
        for s in &batch {
            let (subject, body) = mailing_text(state, tenant, &m, s, &base, look.custom.as_ref())?;
            state
                .mailer
                .queue_list_mail(
                    &tx,
                    Mail {
                        to: s.email.clone(),
                        from: from.clone(),
                        subject,
                        body,
                    },
                    &unsubscribe_link(state, &base, s),
                )
                .await?;
        }
        a.status = Set("sending".into());
        a.cursor = Set(last.id.clone());
        a.sent = Set(m.sent + i32::try_from(batch.len()).unwrap_or(0));
        a.update(tx.conn()).await?;
        tx.commit().await?;
        state.mailer.kick(&state.tenancy, tenant);
    }
}

pub struct NewsletterHandler {
    pub state: AppState,
}

#[async_trait::async_trait]
impl Handler for NewsletterHandler {
    async fn run(&self, tenant: &Tenant, job: &jobs::entity::Model) -> Result<(), JobError> {
        let payload: serde_json::Value =
            serde_json::from_str(&job.payload).unwrap_or(serde_json::Value::Null);
        let id = payload["mailing_id"].as_str().unwrap_or_default();
        send(&self.state, tenant, id, payload["base"].as_str())
            .await
            .map_err(|e| JobError::Retry(e.to_string()))
    }
}
