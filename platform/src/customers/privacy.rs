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
//! items: those are a contract still running (Art. 17(3)(b), (e)).

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
