//! Online payments through the reseller's own Stripe account (Y2, C7).
//!
//! Customers pay an open invoice or top up their balance in a Stripe Checkout
//! Session created with the reseller's secret key; success and cancel pages are
//! the reseller's. Stripe's callback arrives at `/hooks/stripe/{tenant}`: the
//! `Stripe-Signature` header is checked with the reseller's signing secret
//! (HMAC-SHA256 over `{t}.{body}`, at most five minutes old), the event is booked
//! once by its id (`stripe_events`, in the same transaction as the payment), and
//! an event made for another reseller (metadata) is refused. Keys are sealed at
//! rest.

use super::{PaymentInput, payment, stripe_event};
use crate::app::AppState;
use crate::billing::{self, BillingError, billing_settings};
use chrono::Utc;
use hmac::{Hmac, Mac};
use relabel_tenants::TenantTx;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::Value;
use sha2::Sha256;

/// How old a signed webhook may be.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing or malformed Stripe-Signature header")]
    Malformed,
    #[error("timestamp outside the tolerance")]
    Expired,
    #[error("no signature matches")]
    Mismatch,
}

/// The `v1` signature of `body` signed at `t` with `secret`, as Stripe makes it.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a `Stripe-Signature` header (`t=...,v1=...[,v1=...]`) against `body`.
pub fn verify(header: &str, body: &[u8], secret: &str, now: i64) -> Result<(), SignatureError> {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(v.to_owned()),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if sigs.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - t).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Expired);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    for s in sigs {
        let Ok(bytes) = hex::decode(&s) else { continue };
        // Constant time.
        if mac.clone().verify_slice(&bytes).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

/// The reseller's Stripe keys, opened.
pub struct Keys {
    pub publishable: String,
    pub secret: String,
    pub webhook_secret: String,
}

pub fn keys(state: &AppState, s: &billing_settings::Model) -> Option<Keys> {
    Some(Keys {
        publishable: s.stripe_publishable.clone(),
        secret: state.sealer.open(s.stripe_secret.as_deref()?)?,
        webhook_secret: state.sealer.open(s.stripe_webhook_secret.as_deref()?)?,
    })
}

/// Saves the reseller's keys (a blank secret keeps the stored one). The keys'
/// shapes are checked; bad input changes nothing.
pub async fn save_keys(
    state: &AppState,
    tx: &TenantTx,
    publishable: &str,
    secret: &str,
    webhook_secret: &str,
) -> Result<(), BillingError> {
    let mut e = crate::validation::FieldErrors::default();
    let publishable = publishable.trim();
    let secret = secret.trim();
    let webhook_secret = webhook_secret.trim();
    let shape = |v: &str, prefixes: &[&str]| {
        v.is_empty()
            || (prefixes.iter().any(|p| v.starts_with(p))
                && v.len() <= 255
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    };
    if !shape(publishable, &["pk_test_", "pk_live_"]) {
        e.add("stripe_publishable", "err.stripe_key");
    }
    if !shape(secret, &["sk_test_", "sk_live_", "rk_test_", "rk_live_"]) {
        e.add("stripe_secret", "err.stripe_key");
    }
    if !shape(webhook_secret, &["whsec_"]) {
        e.add("stripe_webhook_secret", "err.stripe_key");
    }
    e.into_result()?;
    let mut m = billing_settings::ActiveModel {
        id: Set(1),
        stripe_publishable: Set(publishable.to_owned()),
        ..Default::default()
    };
    if !secret.is_empty() {
        m.stripe_secret = Set(Some(state.sealer.seal(secret)));
    }
    if !webhook_secret.is_empty() {
        m.stripe_webhook_secret = Set(Some(state.sealer.seal(webhook_secret)));
    }
    m.update(tx.conn()).await?;
    Ok(())
}

/// What became of a webhook.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    Booked(String),
    /// Seen before: nothing changes.
    Duplicate,
    /// An event this integration does not book (acknowledged).
    Ignored,
}

fn text(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().map(str::to_owned)
}

/// Applies a verified event in `tx`: a paid Checkout Session books the payment
/// (on the invoice it was for, else on the balance). Refused when the event names
/// another reseller.
pub async fn apply(tx: &TenantTx, tenant_id: &str, event: &Value) -> Result<Applied, BillingError> {
    let id = text(event, &["id"]).ok_or(BillingError::Refused("event without id"))?;
    let kind = text(event, &["type"]).unwrap_or_default();
    // Recorded first: a second delivery (even a concurrent one) stops here.
    let inserted = stripe_event::Entity::insert(stripe_event::ActiveModel {
        id: Set(id.chars().take(255).collect()),
        kind: Set(kind.clone()),
        created_at: Set(Utc::now()),
    })
    .on_conflict_do_nothing_on([stripe_event::Column::Id])
    .exec_without_returning(tx.conn())
    .await?;
    if !matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0) {
        return Ok(Applied::Duplicate);
    }
    let obj = &event["data"]["object"];
    if kind == "charge.refunded" {
        return refunded(tx, &id, obj).await;
    }
    let paid = match kind.as_str() {
        "checkout.session.completed" => text(obj, &["payment_status"]).as_deref() == Some("paid"),
        "checkout.session.async_payment_succeeded" => true,
        _ => false,
    };
    if !paid {
        return Ok(Applied::Ignored);
    }
    let meta = &obj["metadata"];
    if text(meta, &["tenant"]).as_deref() != Some(tenant_id) {
        return Err(BillingError::Refused("event for another account"));
    }
    let customer_id = text(meta, &["customer_id"]).unwrap_or_default();
    let amount = obj["amount_total"].as_i64().unwrap_or(0);
    let currency = text(obj, &["currency"]).unwrap_or_default().to_uppercase();
    let intent = text(obj, &["payment_intent"]).unwrap_or_else(|| id.clone());
    let external_id = format!("stripe:{intent}");
    // The same payment under another event (Stripe sends both the session's
    // completion and, for some methods, its async success): booked once.
    if payment::Entity::find()
        .filter(payment::Column::ExternalId.eq(external_id.as_str()))
        .one(tx.conn())
        .await?
        .is_some()
    {
        return Ok(Applied::Duplicate);
    }
    // Money that arrived is booked: for an invoice paid meanwhile (a second tab,
    // a transfer first) it lands on the customer's balance as an over-payment,
    // which staff refund from the console. Refusing it would make Stripe retry
    // for days and leave the money unbooked.
    let invoice = text(meta, &["invoice_id"]).unwrap_or_default();
    let still_open = !invoice.is_empty()
        && super::open_item(tx, &customer_id, &invoice)
            .await?
            .is_some();
    let reference = if still_open || invoice.is_empty() {
        format!("Stripe {intent}")
    } else {
        let number = billing::invoice::Entity::find_by_id(invoice.clone())
            .one(tx.conn())
            .await?
            .map_or(invoice.clone(), |i| i.number);
        format!("Stripe {intent}, over-payment: {number} was already paid")
    };
    let method = paid_with(&kind, obj);
    let p = super::record(
        tx,
        &PaymentInput {
            customer_id,
            amount: billing::money::decimal(amount),
            currency,
            method: method.into(),
            reference,
            invoice_id: if still_open { invoice } else { String::new() },
            external_id: Some(external_id),
            ..Default::default()
        },
        "stripe",
    )
    .await?;
    Ok(Applied::Booked(p.id))
}

/// The payment method of a paid session, as far as the event tells: the
/// session lists the methods it allowed, not the one used. Of card, PayPal and
/// SEPA only SEPA debits pay later (`async_payment_succeeded`); a session that
/// allowed several immediate methods books `other` (the reference keeps the
/// PaymentIntent for a look in Stripe's dashboard).
fn paid_with(kind: &str, session: &Value) -> &'static str {
    if kind == "checkout.session.async_payment_succeeded" {
        return "sepa_debit";
    }
    let allowed: Vec<&str> = session["payment_method_types"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match allowed.as_slice() {
        ["card"] => "card",
        ["paypal"] => "paypal",
        ["sepa_debit"] => "sepa_debit",
        _ => "other",
    }
}

/// A refund made in Stripe's dashboard (`charge.refunded`): books what Stripe has
/// refunded of the payment beyond what is booked already (refunds from the
/// console are booked when made, so their event adds nothing). A charge this
/// reseller has no payment for is ignored.
async fn refunded(tx: &TenantTx, event_id: &str, charge: &Value) -> Result<Applied, BillingError> {
    let Some(intent) = text(charge, &["payment_intent"]) else {
        return Ok(Applied::Ignored);
    };
    let external = format!("stripe:{intent}");
    let find = || {
        payment::Entity::find()
            .filter(payment::Column::ExternalId.eq(external.as_str()))
            .one(tx.conn())
    };
    let Some(p) = find().await? else {
        return Ok(Applied::Ignored);
    };
    // Held before reading what is booked: a console refund in flight (which
    // holds the account while it calls Stripe) is counted once.
    billing::lock_account(tx, &p.customer_id).await?;
    let p = find().await?.ok_or(BillingError::NotFound)?;
    let total = charge["amount_refunded"].as_i64().unwrap_or(0);
    let more = std::cmp::min(total, p.amount_minor) - p.refunded_minor;
    if more <= 0 {
        return Ok(Applied::Ignored);
    }
    let refund_id = charge["refunds"]["data"][0]["id"]
        .as_str()
        .map_or_else(|| event_id.to_owned(), str::to_owned);
    book_refund(tx, &p.id, more, &refund_id, "stripe").await?;
    Ok(Applied::Booked(p.id))
}

/// Books a refund Stripe made for `payment_id` (up to what is left of it): a
/// `refund` ledger entry and the payment's refunded amount.
pub async fn book_refund(
    tx: &TenantTx,
    payment_id: &str,
    amount_minor: i64,
    refund_id: &str,
    actor: &str,
) -> Result<(), BillingError> {
    let p = payment::Entity::find_by_id(payment_id.to_owned())
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)?;
    billing::lock_account(tx, &p.customer_id).await?;
    let moved = payment::Entity::update_many()
        .col_expr(
            payment::Column::RefundedMinor,
            Expr::col(payment::Column::RefundedMinor).add(amount_minor),
        )
        .filter(payment::Column::Id.eq(&p.id))
        .filter(
            Expr::col(payment::Column::RefundedMinor)
                .add(amount_minor)
                .lte(Expr::col(payment::Column::AmountMinor)),
        )
        .exec(tx.conn())
        .await?;
    if moved.rows_affected == 0 {
        return Err(BillingError::Refused("more than is left of the payment"));
    }
    billing::post(
        tx,
        &p.customer_id,
        "refund",
        -amount_minor,
        &p.currency,
        None,
        Some(&format!("Stripe {refund_id}")),
        actor,
    )
    .await?;
    Ok(())
}

/// The Stripe API of one reseller's account (a local peer in tests).
pub fn client(state: &AppState, secret: &str) -> Result<::stripe::Client, BillingError> {
    ::stripe::ClientBuilder::new(secret)
        .url(state.config.stripe_api_url.clone())
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .map_err(|_| BillingError::Refused("the Stripe client could not be set up"))
}

/// What a Checkout Session is for.
pub struct Checkout<'a> {
    pub tenant_id: &'a str,
    pub customer: &'a crate::customers::customer::Model,
    /// The invoice paid, or none for a top-up of the balance.
    pub invoice: Option<&'a crate::billing::invoice::Model>,
    pub amount_minor: i64,
    pub description: String,
    pub success_url: String,
    pub cancel_url: String,
}

/// Creates a Checkout Session on the reseller's account; returns its page URL.
pub async fn checkout(client: &::stripe::Client, c: &Checkout<'_>) -> Result<String, BillingError> {
    use stripe_checkout::CheckoutSessionMode;
    use stripe_checkout::checkout_session::{
        CreateCheckoutSession, CreateCheckoutSessionLineItems,
        CreateCheckoutSessionLineItemsPriceData, ProductData,
    };
    let currency = match c.customer.currency.as_str() {
        "CHF" => stripe_types::Currency::CHF,
        "GBP" => stripe_types::Currency::GBP,
        "USD" => stripe_types::Currency::USD,
        _ => stripe_types::Currency::EUR,
    };
    let mut price = CreateCheckoutSessionLineItemsPriceData::new(currency);
    price.unit_amount = Some(c.amount_minor);
    price.product_data = Some(ProductData::new(c.description.clone()));
    let mut item = CreateCheckoutSessionLineItems::new();
    item.price_data = Some(price);
    item.quantity = Some(1);
    let mut metadata = std::collections::HashMap::new();
    metadata.insert("tenant".to_owned(), c.tenant_id.to_owned());
    metadata.insert("customer_id".to_owned(), c.customer.id.clone());
    if let Some(inv) = c.invoice {
        metadata.insert("invoice_id".to_owned(), inv.id.clone());
    }
    let session = CreateCheckoutSession::new()
        .mode(CheckoutSessionMode::Payment)
        .line_items(vec![item])
        .success_url(c.success_url.clone())
        .cancel_url(c.cancel_url.clone())
        .client_reference_id(c.customer.number.clone())
        .customer_email(c.customer.email.clone())
        .metadata(metadata)
        .send(client)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "stripe checkout failed");
            BillingError::Refused("the payment provider did not answer; please try again")
        })?;
    session.url.ok_or(BillingError::Refused(
        "the payment provider gave no payment page",
    ))
}

/// Refunds `amount_minor` of a card/PayPal payment at Stripe and books it.
pub async fn refund(
    state: &AppState,
    tx: &TenantTx,
    payment_id: &str,
    amount: &str,
    actor: &str,
) -> Result<(), BillingError> {
    let amount_minor = crate::customers::fields::parse_amount(amount)
        .filter(|a| *a > 0)
        .ok_or_else(|| crate::validation::FieldErrors::single("amount", "err.amount"))?;
    let p = payment::Entity::find_by_id(payment_id.to_owned())
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)?;
    let Some(intent) = p
        .external_id
        .as_deref()
        .and_then(|e| e.strip_prefix("stripe:"))
    else {
        return Err(BillingError::Refused(
            "only Stripe payments are refunded here",
        ));
    };
    if p.refunded_minor + amount_minor > p.amount_minor {
        return Err(crate::validation::FieldErrors::single("amount", "err.refund_too_much").into());
    }
    // Held across the call to Stripe, so its `charge.refunded` event, should it
    // arrive first, waits and then finds this refund booked.
    billing::lock_account(tx, &p.customer_id).await?;
    let settings = billing::settings(tx).await?;
    let keys = keys(state, &settings).ok_or(BillingError::Refused("Stripe is not set up"))?;
    let c = client(state, &keys.secret)?;
    let r = stripe_core::refund::CreateRefund::new()
        .payment_intent(intent.to_owned())
        .amount(amount_minor)
        .send(&c)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "stripe refund failed");
            BillingError::Refused("the payment provider refused the refund")
        })?;
    book_refund(tx, &p.id, amount_minor, r.id.as_str(), actor).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_method_is_booked_only_as_far_as_the_event_tells() {
        let session = |types: Value| serde_json::json!({ "payment_method_types": types });
        let done = "checkout.session.completed";
        assert_eq!(
            paid_with(done, &session(serde_json::json!(["card"]))),
            "card"
        );
        assert_eq!(
            paid_with(done, &session(serde_json::json!(["paypal"]))),
            "paypal"
        );
        assert_eq!(
            paid_with(done, &session(serde_json::json!(["card", "paypal"]))),
            "other"
        );
        assert_eq!(paid_with(done, &session(Value::Null)), "other");
        assert_eq!(
            paid_with(
                "checkout.session.async_payment_succeeded",
                &session(serde_json::json!(["card", "sepa_debit"]))
            ),
            "sepa_debit"
        );
    }

    #[test]
    fn signatures_follow_stripes_scheme() {
        let body = br#"{"id":"evt_1","type":"checkout.session.completed"}"#;
        let secret = "whsec_test";
        let t = 1_700_000_000;
        let header = format!("t={t},v1={}", sign(secret, t, body));
        assert_eq!(verify(&header, body, secret, t + 10), Ok(()));
        // Another valid-looking signature beside the right one is fine.
        let two = format!("t={t},v1=00ff,v1={}", sign(secret, t, body));
        assert_eq!(verify(&two, body, secret, t), Ok(()));
        assert_eq!(
            verify(&header, body, "whsec_other", t),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&header, b"{}", secret, t),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&header, body, secret, t + TOLERANCE_SECS + 1),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            verify("v1=abc", body, secret, t),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify("t=1", body, secret, 1),
            Err(SignatureError::Malformed)
        );
    }
}

/// Why a payment could not be started (each has its message for the payer).
#[derive(Debug, PartialEq, Eq)]
pub enum PayRefusal {
    /// The payee has no Stripe keys.
    Unavailable,
    /// A top-up outside 1.00 to 10,000.00.
    Amount,
    /// Not an open item of this customer.
    NotFound,
    /// Stripe did not answer.
    ProviderDown,
}

/// What a payer asks to pay: an open item (by id) or, without one, a top-up of
/// `amount`, with the texts and return addresses of the page it came from.
pub struct PayRequest<'a> {
    pub invoice_id: &'a str,
    pub amount: &'a str,
    /// Item text for an invoice (followed by its number) and for a top-up
    /// (followed by the customer number).
    pub invoice_label: String,
    pub topup_label: String,
    pub success_url: String,
    pub cancel_url: String,
}

/// Starts a Checkout Session for `customer` of `tenant` (a reseller, or the
/// operator's books when a reseller pays the platform): only the customer's own
/// open items, top-ups within bounds. Returns Stripe's page address.
pub async fn pay_link(
    state: &AppState,
    tenant: &relabel_tenants::Tenant,
    customer: &crate::customers::customer::Model,
    r: &PayRequest<'_>,
) -> anyhow::Result<Result<String, PayRefusal>> {
    let tx = state.tenancy.begin(tenant).await?;
    let settings = crate::billing::settings(&tx).await?;
    let Some(keys) = keys(state, &settings) else {
        return Ok(Err(PayRefusal::Unavailable));
    };
    let invoice_id = r.invoice_id.trim();
    let (invoice, amount) = if invoice_id.is_empty() {
        match crate::customers::fields::parse_amount(r.amount) {
            Some(a) if (100..=1_000_000).contains(&a) => (None, a),
            _ => return Ok(Err(PayRefusal::Amount)),
        }
    } else {
        let Some(inv) = crate::billing::open_items(&tx, &customer.id)
            .await?
            .into_iter()
            .find(|i| i.id == invoice_id)
        else {
            return Ok(Err(PayRefusal::NotFound));
        };
        let open = inv.open_minor();
        (Some(inv), open)
    };
    drop(tx);
    let description = match &invoice {
        Some(inv) => format!("{} {}", r.invoice_label, inv.number),
        None => format!("{} {}", r.topup_label, customer.number),
    };
    let client = client(state, &keys.secret)?;
    let session = Checkout {
        tenant_id: tenant.id.as_str(),
        customer,
        invoice: invoice.as_ref(),
        amount_minor: amount,
        description,
        success_url: r.success_url.clone(),
        cancel_url: r.cancel_url.clone(),
    };
    Ok(checkout(&client, &session)
        .await
        .map_err(|_| PayRefusal::ProviderDown))
}
