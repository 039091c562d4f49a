//! Data-subject rights of one end customer (GDPR Art. 15, 20 and 17).
//!
//! **Export**: everything the reseller's schema holds about the customer, as
//! one JSON document: the customer record and every row that names them
//! (contacts, orders, services, domains, invoices, payments, ledger, letters,
//! sessions, subscriptions, …), secrets withheld. Documents (PDFs) are left out
//! of the JSON; they stay downloadable in the customer center.
//!
//! **Erasure**: the person's data is removed or overwritten, while what the
//! law requires the reseller to keep stays: invoices, credit notes, payments and
//! ledger entries (German §147 AO / §257 HGB: 10 years), with the buyer's
//! address as it was printed on them, and orders as the commercial letters
//! behind them. Refused while the customer still has active services or open
//! items: those are a contract still running (Art. 17(3)(b), (e)); and while
//! the reseller holds a credit balance of theirs, which must be refunded (or
//! booked out) first, since afterwards nobody could be paid.
//!
//! The change log keeps who did what and when, but its records of the person
//! are overwritten: names, addresses, phone, email, bank details and the
//! addresses they signed in from, in every entry about the customer and every
//! entry they made before they had a number.

use super::customer;
use crate::audit::Change;
use chrono::Utc;
use relabel_tenants::{Tenancy, TenantTx};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Statement};
use serde_json::{Value, json};

/// Columns never handed out: secrets of the account, not data about the person.
const WITHHELD: &[&str] = &["password_hash", "token_hash", "secret", "totp_secret"];

/// Rows about the customer that erasure deletes (they serve no retention duty).
const DELETED: &[&str] = &[
    "contacts",
    "customer_sessions",
    "carts",
    "newsletter_subscriptions",
];

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error("no such customer")]
    NotFound,
    /// A message key: why erasure must wait.
    #[error("{0}")]
    Refused(&'static str),
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Tenancy(#[from] relabel_tenants::TenancyError),
}

/// The customer's data as one JSON document (Art. 15, 20).
pub async fn export(
    tenancy: &Tenancy,
    tx: &TenantTx,
    customer_id: &str,
) -> Result<Value, PrivacyError> {
    let Some(c) = customer::Entity::find_by_id(customer_id.to_owned())
        .one(tx.conn())
        .await?
    else {
        return Err(PrivacyError::NotFound);
    };
    let mut tables = tenancy.rows_where(tx, "customer_id", customer_id).await?;
    if let Some(me) = tenancy
        .rows_where(tx, "id", customer_id)
        .await?
        .remove("customers")
    {
        tables.insert("customers".into(), me);
    }
    // Mail sent to them (by address: the outbox has no customer column).
    if let Some(mails) = tenancy
        .rows_where(tx, "to_addr", &c.email)
        .await?
        .remove("outbox")
    {
        tables.insert("outbox".into(), mails);
    }
    for rows in tables.values_mut() {
        for row in rows {
            for w in WITHHELD {
                row.remove(*w);
            }
        }
    }
    Ok(json!({
        "customer_id": customer_id,
        "number": c.number,
        "exported_at": Utc::now(),
        "note": "Documents (invoice and letter PDFs) are downloadable in the customer center.",
        "data": tables,
    }))
}

/// What erasure did.
#[derive(Debug, serde::Serialize)]
pub struct Erased {
    pub customer_id: String,
    /// Rows deleted per table.
    pub deleted: Vec<(String, u64)>,
}

/// Erases the customer's personal data (Art. 17), keeping what the law requires;
/// audited. Their account can no longer sign in.
pub async fn erase(tx: &TenantTx, customer_id: &str, actor: &str) -> Result<Erased, PrivacyError> {
    use crate::billing::invoice;
    use crate::provisioning::service;
    let Some(c) = customer::Entity::find_by_id(customer_id.to_owned())
        .one(tx.conn())
        .await?
    else {
        return Err(PrivacyError::NotFound);
    };
    let active = service::Entity::find()
        .filter(service::Column::CustomerId.eq(customer_id))
        .filter(service::Column::Status.eq("active"))
        .one(tx.conn())
        .await?;
    if active.is_some() {
        return Err(PrivacyError::Refused("err.erase_active_services"));
    }
    let open = invoice::Entity::find()
        .filter(invoice::Column::CustomerId.eq(customer_id))
        .filter(invoice::Column::Status.eq("open"))
        .one(tx.conn())
        .await?;
    if open.is_some() {
        return Err(PrivacyError::Refused("err.erase_open_items"));
    }
    let credit = crate::orders::account::Entity::find_by_id(customer_id.to_owned())
        .one(tx.conn())
        .await?
        .map_or(0, |a| a.balance_minor);
    if credit > 0 {
        return Err(PrivacyError::Refused("err.erase_credit_balance"));
    }
    let backend = tx.conn().get_database_backend();
    let p = if backend == sea_orm::DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let mut deleted = Vec::new();
    for table in DELETED {
        let r = tx
            .conn()
            .execute_raw(Statement::from_sql_and_values(
                backend,
                format!("DELETE FROM {table} WHERE customer_id = {p}"),
                [customer_id.into()],
            ))
            .await?;
        deleted.push(((*table).to_owned(), r.rows_affected()));
    }
    let mails = crate::mail::entity::Entity::delete_many()
        .filter(crate::mail::entity::Column::ToAddr.eq(c.email.as_str()))
        .exec(tx.conn())
        .await?;
    deleted.push(("outbox".into(), mails.rows_affected));
    let now = Utc::now();
    let none = || Expr::val(Option::<String>::None);
    customer::Entity::update_many()
        .col_expr(customer::Column::FirstName, Expr::val(""))
        .col_expr(customer::Column::LastName, Expr::val("(erased)"))
        .col_expr(customer::Column::Company, none())
        .col_expr(customer::Column::Street, Expr::val(""))
        .col_expr(customer::Column::PostalCode, Expr::val(""))
        .col_expr(customer::Column::City, Expr::val(""))
        .col_expr(customer::Column::Phone, none())
        .col_expr(
            customer::Column::Email,
            Expr::val(format!("erased-{customer_id}@erased.invalid")),
        )
        .col_expr(
            customer::Column::EmailVerifiedAt,
            Expr::val(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(customer::Column::PasswordHash, none())
        .col_expr(customer::Column::VatId, none())
        .col_expr(customer::Column::Iban, none())
        .col_expr(customer::Column::Bic, none())
        .col_expr(customer::Column::AccountHolder, none())
        .col_expr(customer::Column::MandateReference, none())
        .col_expr(
            customer::Column::MandateSignedOn,
            Expr::val(Option::<chrono::NaiveDate>::None),
        )
        .col_expr(customer::Column::BuyerReference, none())
        .col_expr(customer::Column::Newsletter, Expr::val("none"))
        .col_expr(customer::Column::BillingType, Expr::val("BANKTRANSFER"))
        .col_expr(customer::Column::DebitStatus, Expr::val("INACTIVE"))
        .col_expr(customer::Column::LockedAt, Expr::val(Some(now)))
        .col_expr(customer::Column::UpdatedAt, Expr::val(now))
        .filter(customer::Column::Id.eq(customer_id))
        .exec(tx.conn())
        .await?;
    let scrubbed = erase_from_change_log(tx, &c).await?;
    deleted.push(("change_log (overwritten)".into(), scrubbed));
    let erased = Erased {
        customer_id: customer_id.to_owned(),
        deleted,
    };
    crate::audit::record_tenant(
        tx,
        Change::new(actor, "customer.erase", customer_id)
            .entity("customer", customer_id)
            .after(&erased),
    )
    .await?;
    Ok(erased)
}

/// Fields of the change log's snapshots that describe the person.
const PERSONAL: &[&str] = &[
    "first_name",
    "last_name",
    "company",
    "street",
    "postal_code",
    "city",
    "phone",
    "email",
    "vat_id",
    "iban",
    "bic",
    "account_holder",
    "mandate_reference",
    "buyer_reference",
];

const ERASED: &str = "(erased)";

/// Overwrites the person in the change log: the personal fields of every
/// snapshot of the customer, their address where it names an entry's actor or
/// target, and the client addresses. Returns how many entries changed.
async fn erase_from_change_log(tx: &TenantTx, c: &customer::Model) -> Result<u64, DbErr> {
    use crate::audit::tenant_log;
    use sea_orm::{ActiveModelTrait, Condition, Set};
    let by_address = format!("customer:{}", c.email);
    let entries = tenant_log::Entity::find()
        .filter(
            Condition::any()
                .add(tenant_log::Column::EntityId.eq(c.id.as_str()))
                .add(tenant_log::Column::Actor.eq(by_address.as_str()))
                .add(tenant_log::Column::Target.eq(c.email.as_str())),
        )
        .all(tx.conn())
        .await?;
    let mut changed = 0;
    for e in entries {
        let scrub = |text: &Option<String>| {
            text.as_deref()
                .map(|t| match serde_json::from_str::<Value>(t) {
                    Ok(mut v) => {
                        scrub_personal(&mut v);
                        v.to_string()
                    }
                    Err(_) => t.replace(c.email.as_str(), ERASED),
                })
        };
        let entry = tenant_log::ActiveModel {
            id: Set(e.id.clone()),
            actor: Set(e.actor.replace(c.email.as_str(), ERASED)),
            target: Set(e.target.replace(c.email.as_str(), ERASED)),
            before: Set(scrub(&e.before)),
            after: Set(scrub(&e.after)),
            ip: Set(None),
            ..Default::default()
        };
        entry.update(tx.conn()).await?;
        changed += 1;
    }
    Ok(changed)
}

/// Replaces every non-empty personal field, at any depth, with "(erased)".
fn scrub_personal(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                let blank = value.is_null() || value.as_str().is_some_and(str::is_empty);
                if PERSONAL.contains(&key.as_str()) && !blank {
                    *value = Value::String(ERASED.into());
                } else {
                    scrub_personal(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub_personal),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn personal_fields_are_overwritten_at_any_depth_and_the_rest_stays() {
        let mut v = serde_json::json!({
            "number": "K-1", "first_name": "Erika", "phone": null, "company": "",
            "lines": [{ "email": "e@x.de", "amount": 5 }],
        });
        super::scrub_personal(&mut v);
        assert_eq!(
            v,
            serde_json::json!({
                "number": "K-1", "first_name": "(erased)", "phone": null, "company": "",
                "lines": [{ "email": "(erased)", "amount": 5 }],
            })
        );
    }
}
