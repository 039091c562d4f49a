//! End customers of a reseller and their master data (C5, A1, Y3, Y4).
//!
//! Every change goes through [`CustomerInput`]: fields left `None` keep their value,
//! so the customer center, the console and the API share one validation.

pub mod entity;
pub mod fields;
pub mod list;
pub mod privacy;
pub mod sessions;

pub use entity::{customer, settings};
pub use list::{CustomerPage, ListQuery, list};

use crate::audit::{self, Change};
use crate::auth::{Email, Password, hash_password};
use crate::checks;
use crate::validation::{FieldErrors, parse_name};
use chrono::{NaiveDate, Utc};
use fields::*;
use relabel_tenants::TenantTx;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, Set};

/// Submitted customer fields. `None` = not submitted (keep the current value);
/// `Some("")` = clear an optional field.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct CustomerInput {
    pub kind: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub vat_id: Option<String>,
    /// Buyer reference / Leitweg-ID (EN 16931 BT-10), printed and in the XML.
    pub buyer_reference: Option<String>,
    pub language: Option<String>,
    pub newsletter: Option<Vec<String>>,
    // Bank data and mandate.
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub account_holder: Option<String>,
    pub mandate_signed_on: Option<String>,
    // Billing data: staff with billing rights only.
    pub currency: Option<String>,
    pub billing_type: Option<String>,
    pub debit_status: Option<String>,
    pub credit_limit: Option<String>,
    pub billing_interval: Option<String>,
    pub payment_method: Option<String>,
    pub dunning_type: Option<String>,
    pub invoice_delivery: Option<String>,
    pub excluded_from_invoicing: Option<bool>,
}

impl CustomerInput {
    /// Whether this input touches billing data (bank, mandate, billing settings).
    pub fn touches_billing(&self) -> bool {
        self.iban.is_some()
            || self.bic.is_some()
            || self.account_holder.is_some()
            || self.mandate_signed_on.is_some()
            || self.currency.is_some()
            || self.billing_type.is_some()
            || self.debit_status.is_some()
            || self.credit_limit.is_some()
            || self.billing_interval.is_some()
            || self.payment_method.is_some()
            || self.dunning_type.is_some()
            || self.invoice_delivery.is_some()
            || self.excluded_from_invoicing.is_some()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("no such customer")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbErr),
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// The fields that make up [`display_name`], which emails greet with.
fn mailed_name(field: &str) -> bool {
    matches!(field, "first_name" | "last_name")
}

/// Applies `input` onto `m` and checks the whole record. Field errors name the field.
fn apply(m: &mut customer::Model, input: &CustomerInput, errors: &mut FieldErrors) {
    let mut name = |field: &str, value: &Option<String>, target: &mut String| {
        if let Some(v) = value {
            // Names are mailed (greetings): a link or line break in one would
            // speak in the shop's voice.
            if mailed_name(field) && relabel_themes::has_link_or_break(v.trim()) {
                errors.add(field, "err.name_link");
                return;
            }
            // The street is an address line (the form allows 200 characters),
            // the rest are names.
            let (parsed, too_long) = match field {
                "street" => (crate::validation::parse_line(v, 200), "err.street_length"),
                _ => (parse_name(v), "err.name_length"),
            };
            match parsed {
                Some(v) => *target = v,
                None => errors.add(
                    field,
                    if v.trim().is_empty() {
                        "err.required"
                    } else {
                        too_long
                    },
                ),
            }
        }
    };
    name("first_name", &input.first_name, &mut m.first_name);
    name("last_name", &input.last_name, &mut m.last_name);
    name("street", &input.street, &mut m.street);
    name("city", &input.city, &mut m.city);
    let mut choice =
        |field: &str, value: &Option<String>, choices: Choices, target: &mut String| {
            if let Some(v) = value {
                if is_choice(choices, v.trim()) {
                    *target = v.trim().to_owned();
                } else {
                    errors.add(field, "err.choice");
                }
            }
        };
    choice("kind", &input.kind, KINDS, &mut m.kind);
    choice("language", &input.language, LANGUAGES, &mut m.language);
    choice("currency", &input.currency, CURRENCIES, &mut m.currency);
    choice(
        "billing_type",
        &input.billing_type,
        BILLING_TYPES,
        &mut m.billing_type,
    );
    choice(
        "debit_status",
        &input.debit_status,
        DEBIT_STATUSES,
        &mut m.debit_status,
    );
    choice(
        "billing_interval",
        &input.billing_interval,
        BILLING_INTERVALS,
        &mut m.billing_interval,
    );
    choice(
        "payment_method",
        &input.payment_method,
        PAYMENT_METHODS,
        &mut m.payment_method,
    );
    choice(
        "dunning_type",
        &input.dunning_type,
        DUNNING_TYPES,
        &mut m.dunning_type,
    );
    choice(
        "invoice_delivery",
        &input.invoice_delivery,
        INVOICE_DELIVERIES,
        &mut m.invoice_delivery,
    );
    if let Some(v) = &input.company
        && relabel_themes::has_link_or_break(v.trim())
    {
        errors.add("company", "err.name_link");
    } else if let Some(v) = &input.company {
        m.company = match opt(v) {
            Some(c) if parse_name(&c).is_none() => {
                errors.add("company", "err.name_length");
                None
            }
            c => c,
        };
    }
    if m.kind == "company" && m.company.is_none() {
        errors.add("company", "err.company_required");
    }
    if let Some(v) = &input.country {
        let c = v.trim().to_uppercase();
        if checks::is_country(&c) {
            m.country = c;
        } else {
            errors.add("country", "err.country");
        }
    }
    // The postal code is checked against the (possibly new) country.
    let postal = input
        .postal_code
        .clone()
        .unwrap_or_else(|| m.postal_code.clone());
    if input.postal_code.is_some() || input.country.is_some() {
        match checks::postal_code(&m.country, &postal) {
            Some(p) => m.postal_code = p,
            None => errors.add(
                "postal_code",
                if postal.trim().is_empty() {
                    "err.required"
                } else {
                    "err.postal_code"
                },
            ),
        }
    }
    if let Some(v) = &input.phone {
        m.phone = match opt(v) {
            None => None,
            Some(p) => checks::phone(&p).or_else(|| {
                errors.add("phone", "err.phone");
                None
            }),
        };
    }
    if let Some(v) = &input.email {
        match Email::parse(v) {
            Some(e) => m.email = e.as_str().to_lowercase(),
            None => errors.add("email", "err.email"),
        }
    }
    if let Some(v) = &input.vat_id {
        m.vat_id = match opt(v) {
            None => None,
            Some(id) => checks::vat_id(&id).or_else(|| {
                errors.add("vat_id", "err.vat_id");
                None
            }),
        };
    }
    if let Some(v) = &input.buyer_reference {
        m.buyer_reference = match opt(v) {
            None => None,
            Some(r) => crate::checks::buyer_reference(&r)
                .map_err(|code| errors.add("buyer_reference", code))
                .ok(),
        };
    }
    if let Some(list) = &input.newsletter {
        let mut chosen: Vec<&str> = Vec::new();
        for v in list {
            if is_choice(NEWSLETTER_CATEGORIES, v) {
                chosen.push(v);
            } else {
                errors.add("newsletter", "err.choice");
            }
        }
        chosen.sort_unstable();
        chosen.dedup();
        m.newsletter = chosen.join(",");
    }
    if let Some(v) = &input.iban {
        m.iban = match opt(v) {
            None => None,
            Some(i) => checks::iban(&i).or_else(|| {
                errors.add("iban", "err.iban");
                None
            }),
        };
    }
    if let Some(v) = &input.bic {
        m.bic = match opt(v) {
            None => None,
            Some(b) => checks::bic(&b).or_else(|| {
                errors.add("bic", "err.bic");
                None
            }),
        };
    }
    if let Some(v) = &input.account_holder {
        m.account_holder = match opt(v) {
            Some(h) if parse_name(&h).is_none() => {
                errors.add("account_holder", "err.name_length");
                None
            }
            h => h,
        };
    }
    if let Some(v) = &input.mandate_signed_on {
        m.mandate_signed_on = match opt(v) {
            None => None,
            Some(d) => NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .ok()
                .filter(|d| *d <= Utc::now().date_naive())
                .or_else(|| {
                    errors.add("mandate_signed_on", "err.date");
                    None
                }),
        };
    }
    if let Some(v) = &input.credit_limit {
        m.credit_limit_minor = match opt(v) {
            None => None,
            Some(a) => parse_amount(&a).or_else(|| {
                errors.add("credit_limit", "err.amount");
                None
            }),
        };
    }
    if let Some(b) = input.excluded_from_invoicing {
        m.excluded_from_invoicing = b;
    }
    // A mandate exists once IBAN, holder and signature date are all there.
    let has_mandate =
        m.iban.is_some() && m.account_holder.is_some() && m.mandate_signed_on.is_some();
    if has_mandate && m.mandate_reference.is_none() {
        m.mandate_reference = Some(mandate_reference(m));
    }
    if m.billing_type == "DEBIT" && !has_mandate {
        errors.add("billing_type", "err.mandate_required");
    }
    if m.debit_status == "ACTIVE" && !has_mandate {
        errors.add("debit_status", "err.debit_active_needs_mandate");
    }
}

/// Reads the tenant's settings (one row, created by the migration).
pub async fn settings(tx: &TenantTx) -> Result<settings::Model, DbErr> {
    settings::Entity::find_by_id(1)
        .one(tx.conn())
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("tenant settings".into()))
}

/// Allocates the next customer number inside `tx` (row lock until commit).
async fn next_number(tx: &TenantTx) -> Result<String, DbErr> {
    settings::Entity::update_many()
        .col_expr(
            settings::Column::NextCustomerNumber,
            Expr::col(settings::Column::NextCustomerNumber).add(1),
        )
        .filter(settings::Column::Id.eq(1))
        .exec(tx.conn())
        .await?;
    let s = settings(tx).await?;
    Ok(format!(
        "{}{}",
        s.customer_number_prefix,
        s.next_customer_number - 1
    ))
}

/// The customer as a buyer for the VAT rule (P7): businesses are `company`.
pub fn tax_buyer(c: &customer::Model) -> crate::tax::Buyer<'_> {
    crate::tax::Buyer {
        country: &c.country,
        is_company: c.kind == "company",
        vat_id: c.vat_id.as_deref(),
    }
}

/// A customer record with defaults (bulk loads in benchmarks build on it).
pub fn blank(number: String, currency: String) -> customer::Model {
    let now = Utc::now();
    customer::Model {
        id: uuid::Uuid::now_v7().simple().to_string(),
        number,
        kind: "person".into(),
        first_name: String::new(),
        last_name: String::new(),
        company: None,
        street: String::new(),
        postal_code: String::new(),
        city: String::new(),
        country: "DE".into(),
        phone: None,
        email: String::new(),
        email_verified_at: None,
        password_hash: None,
        vat_id: None,
        language: "de".into(),
        currency,
        price_class_id: None,
        billing_type: "BANKTRANSFER".into(),
        debit_status: "INACTIVE".into(),
        iban: None,
        bic: None,
        account_holder: None,
        mandate_reference: None,
        mandate_signed_on: None,
        credit_limit_minor: None,
        billing_interval: "monthly".into(),
        payment_method: "bank_transfer".into(),
        dunning_type: "standard".into(),
        invoice_delivery: "email".into(),
        newsletter: String::new(),
        excluded_from_invoicing: false,
        locked_at: None,
        created_at: now,
        updated_at: now,
        discount_bp: 0,
        skonto_bp: 0,
        skonto_days: 0,
        payment_term_days: 0,
        einvoice: "zugferd".into(),
        buyer_reference: None,
        suspended_at: None,
        credit_score: None,
        scored_at: None,
    }
}

/// The record as the audit log stores it (no password hash).
fn snapshot(m: &customer::Model) -> serde_json::Value {
    serde_json::json!({
        "number": m.number, "kind": m.kind, "first_name": m.first_name, "last_name": m.last_name,
        "company": m.company, "street": m.street, "postal_code": m.postal_code, "city": m.city,
        "country": m.country, "phone": m.phone, "email": m.email, "vat_id": m.vat_id,
        "buyer_reference": m.buyer_reference, "language": m.language, "currency": m.currency, "billing_type": m.billing_type,
        "debit_status": m.debit_status, "iban": m.iban, "bic": m.bic, "account_holder": m.account_holder,
        "mandate_reference": m.mandate_reference, "mandate_signed_on": m.mandate_signed_on,
        "credit_limit_minor": m.credit_limit_minor, "billing_interval": m.billing_interval,
        "payment_method": m.payment_method, "dunning_type": m.dunning_type,
        "invoice_delivery": m.invoice_delivery, "newsletter": m.newsletter,
        "excluded_from_invoicing": m.excluded_from_invoicing, "locked": m.locked_at.is_some(),
    })
}

fn map_unique(e: DbErr) -> CustomerError {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(msg)) if msg.contains("email") => {
            CustomerError::Invalid(FieldErrors::single("email", "err.email_taken"))
        }
        _ => CustomerError::Db(e),
    }
}

async fn ensure_email_free(
    tx: &TenantTx,
    email: &str,
    except: Option<&str>,
) -> Result<(), CustomerError> {
    let mut q = customer::Entity::find().filter(customer::Column::Email.eq(email));
    if let Some(id) = except {
        q = q.filter(customer::Column::Id.ne(id));
    }
    match q.one(tx.conn()).await? {
        Some(_) => Err(CustomerError::Invalid(FieldErrors::single(
            "email",
            "err.email_taken",
        ))),
        None => Ok(()),
    }
}

/// Who makes a change, for the audit log.
pub struct Actor<'a> {
    pub name: &'a str,
    pub ip: Option<&'a str>,
}

/// Creates a customer. Required: names, address, country, email. `password` is set
/// for storefront signups; staff-created customers set theirs through a reset link.
pub async fn create(
    tx: &TenantTx,
    actor: &Actor<'_>,
    input: &CustomerInput,
    password: Option<&Password>,
) -> Result<customer::Model, CustomerError> {
    create_with(tx, actor, input, password, true).await
}

/// Marks a number that is not assigned yet (see [`create_self_service`]).
const PROVISIONAL: char = '~';

/// A customer who signed up on the storefront (signup, checkout, widget): the
/// customer number is assigned with the first accepted order (O14), so signups
/// that never order, or whose orders are rejected, leave no gaps in the numbers.
pub async fn create_self_service(
    tx: &TenantTx,
    actor: &Actor<'_>,
    input: &CustomerInput,
    password: Option<&Password>,
) -> Result<customer::Model, CustomerError> {
    create_with(tx, actor, input, password, false).await
}

/// The SEPA mandate reference: from the customer number, or (before it is
/// assigned) from the customer id; only characters SEPA allows.
fn mandate_reference(m: &customer::Model) -> String {
    match number_of(m) {
        Some(n) => format!("MR-{n}"),
        None => format!("MR-{}", m.id[m.id.len() - 16..].to_uppercase()),
    }
}

/// How a customer appears as the actor in the audit log: `customer:<number>`, or
/// `customer:<email>` before the number is assigned.
pub fn actor_name(m: &customer::Model) -> String {
    format!("customer:{}", number_of(m).unwrap_or(&m.email))
}

/// The customer number, unless it is still to be assigned.
pub fn number_of(m: &customer::Model) -> Option<&str> {
    (!m.number.starts_with(PROVISIONAL)).then_some(m.number.as_str())
}

/// Gives a self-service customer their number (in the order's transaction).
pub async fn assign_number(tx: &TenantTx, m: &customer::Model) -> Result<Option<String>, DbErr> {
    if number_of(m).is_some() {
        return Ok(None);
    }
    let number = next_number(tx).await?;
    customer::Entity::update_many()
        .col_expr(customer::Column::Number, Expr::val(number.clone()))
        .filter(customer::Column::Id.eq(&m.id))
        .exec(tx.conn())
        .await?;
    audit::record_tenant(
        tx,
        Change::new("system", "customer.number", &number).entity("customer", &m.id),
    )
    .await?;
    Ok(Some(number))
}

async fn create_with(
    tx: &TenantTx,
    actor: &Actor<'_>,
    input: &CustomerInput,
    password: Option<&Password>,
    numbered: bool,
) -> Result<customer::Model, CustomerError> {
    let s = settings(tx).await?;
    let mut m = blank(String::new(), s.currency.clone());
    let mut errors = FieldErrors::default();
    for (field, value) in [
        ("first_name", &input.first_name),
        ("last_name", &input.last_name),
        ("street", &input.street),
        ("postal_code", &input.postal_code),
        ("city", &input.city),
        ("country", &input.country),
        ("email", &input.email),
    ] {
        if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
            errors.add(field, "err.required");
        }
    }
    m.number = "pending".into();
    apply(&mut m, input, &mut errors);
    errors.into_result().map_err(CustomerError::Invalid)?;
    // Hashed before the address is looked up, so a registered address takes as
    // long to refuse as a new one takes to accept (no enumeration by timing).
    m.password_hash = password.map(hash_password);
    ensure_email_free(tx, &m.email, None).await?;
    m.number = if numbered {
        next_number(tx).await?
    } else {
        format!("{PROVISIONAL}{}", &m.id[m.id.len() - 16..])
    };
    if m.mandate_reference.is_some() {
        m.mandate_reference = Some(mandate_reference(&m));
    }
    let mut active: customer::ActiveModel = m.clone().into();
    active = active.reset_all();
    let saved = active.insert(tx.conn()).await.map_err(map_unique)?;
    audit::record_tenant(
        tx,
        Change::new(actor.name, "customer.create", &saved.number)
            .entity("customer", &saved.id)
            .ip(actor.ip)
            .after(snapshot(&saved)),
    )
    .await?;
    Ok(saved)
}

pub async fn get(tx: &TenantTx, id: &str) -> Result<customer::Model, CustomerError> {
    customer::Entity::find_by_id(id.to_owned())
        .one(tx.conn())
        .await?
        .ok_or(CustomerError::NotFound)
}

pub async fn find_by_email(tx: &TenantTx, email: &str) -> Result<Option<customer::Model>, DbErr> {
    let Some(e) = Email::parse(email) else {
        return Ok(None);
    };
    customer::Entity::find()
        .filter(customer::Column::Email.eq(e.as_str().to_lowercase()))
        .one(tx.conn())
        .await
}

/// Records a credit bureau score (Y5) and, when the reseller has a rule, sets
/// the customer's credit limit from it (audited as `customer.score`).
pub async fn apply_score(
    tx: &TenantTx,
    actor: &Actor<'_>,
    before: customer::Model,
    score: i32,
    s: &settings::Model,
) -> Result<customer::Model, CustomerError> {
    let mut m = before.clone();
    m.credit_score = Some(score);
    m.scored_at = Some(Utc::now());
    let bands = crate::orders::hooks::parse_score_limits(&s.score_limits).unwrap_or_default();
    if let Some(limit) = crate::orders::hooks::limit_for_score(&bands, score) {
        m.credit_limit_minor = Some(limit);
    }
    save(tx, actor, "customer.score", before, m).await
}

/// Applies a change; nothing is written when any field is invalid.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor<'_>,
    id: &str,
    input: &CustomerInput,
) -> Result<customer::Model, CustomerError> {
    let before = get(tx, id).await?;
    let mut m = before.clone();
    let mut errors = FieldErrors::default();
    apply(&mut m, input, &mut errors);
    errors.into_result().map_err(CustomerError::Invalid)?;
    if m.email != before.email {
        ensure_email_free(tx, &m.email, Some(id)).await?;
        m.email_verified_at = None;
    }
    save(tx, actor, "customer.update", before, m).await
}

async fn save(
    tx: &TenantTx,
    actor: &Actor<'_>,
    action: &str,
    before: customer::Model,
    mut after: customer::Model,
) -> Result<customer::Model, CustomerError> {
    if before == after {
        return Ok(after);
    }
    after.updated_at = Utc::now();
    let mut active: customer::ActiveModel = after.clone().into();
    active = active.reset_all();
    let saved = active.update(tx.conn()).await.map_err(map_unique)?;
    audit::record_tenant(
        tx,
        Change::new(actor.name, action, &saved.number)
            .entity("customer", &saved.id)
            .ip(actor.ip)
            .before(snapshot(&before))
            .after(snapshot(&saved)),
    )
    .await?;
    Ok(saved)
}

/// Locks (no login, no orders, all sessions ended) or unlocks a customer.
pub async fn set_locked(
    tx: &TenantTx,
    actor: &Actor<'_>,
    id: &str,
    locked: bool,
) -> Result<customer::Model, CustomerError> {
    let before = get(tx, id).await?;
    let mut m = before.clone();
    m.locked_at = if locked {
        before.locked_at.or(Some(Utc::now()))
    } else {
        None
    };
    let saved = save(
        tx,
        actor,
        if locked {
            "customer.lock"
        } else {
            "customer.unlock"
        },
        before,
        m,
    )
    .await?;
    // A locked customer is signed out everywhere at once.
    if locked {
        sessions::close_all(tx, &saved.id).await?;
    }
    Ok(saved)
}

/// Marks the email as verified (from the link in the verification mail).
pub async fn mark_verified(tx: &TenantTx, id: &str) -> Result<customer::Model, CustomerError> {
    let before = get(tx, id).await?;
    let mut m = before.clone();
    m.email_verified_at = before.email_verified_at.or(Some(Utc::now()));
    save(
        tx,
        &Actor {
            name: &actor_name(&before),
            ip: None,
        },
        "customer.verify_email",
        before,
        m,
    )
    .await
}

pub async fn set_password(
    tx: &TenantTx,
    actor: &Actor<'_>,
    id: &str,
    password: &Password,
) -> Result<(), CustomerError> {
    let before = get(tx, id).await?;
    let mut active: customer::ActiveModel = before.clone().into();
    active.password_hash = Set(Some(hash_password(password)));
    active.updated_at = Set(Utc::now());
    active.update(tx.conn()).await?;
    // A reset link mailed before dies with the password it would reset.
    crate::tokens::revoke(tx, crate::tokens::Purpose::ResetPassword, id).await?;
    audit::record_tenant(
        tx,
        Change::new(actor.name, "customer.password", &before.number)
            .entity("customer", &before.id)
            .ip(actor.ip),
    )
    .await?;
    Ok(())
}

/// Display name: company for companies, else first and last name.
pub fn display_name(m: &customer::Model) -> String {
    match (&m.kind[..], &m.company) {
        ("company", Some(c)) => c.clone(),
        _ => format!("{} {}", m.first_name, m.last_name),
    }
}

/// Requires (or not) a second factor for every staff member of the tenant.
pub async fn set_require_staff_totp(
    tx: &TenantTx,
    actor: &str,
    ip: Option<&str>,
    required: bool,
) -> Result<(), DbErr> {
    let before = settings(tx).await?;
    let mut a: settings::ActiveModel = before.clone().into();
    a.require_staff_totp = Set(required);
    a.update(tx.conn()).await?;
    audit::record_tenant(
        tx,
        Change::new(actor, "settings.require_staff_totp", "settings")
            .ip(ip)
            .before(before.require_staff_totp)
            .after(required),
    )
    .await
}

/// What the settings page changes.
pub struct SettingsChange {
    pub customer_number_prefix: String,
    pub default_credit_limit_minor: i64,
    pub currency: String,
    pub mail_from_name: Option<String>,
    pub mail_from_address: Option<String>,
    /// `auto` or `manual` (O14).
    pub order_activation: String,
    /// Normalized origins (`https://www.example.com`), see [`parse_origins`].
    pub widget_origins: Vec<String>,
    pub sms_url: Option<String>,
    pub bureau_url: Option<String>,
    pub bureau_threshold_minor: i64,
    /// Credit limit by score (Y5), normalised `score:limit` bands.
    pub score_limits: String,
    /// DNS records of new zones (JSON of `dns::Record`); none = the default.
    pub dns_template: Option<String>,
    /// Analytics on framed forwarding and parking pages (V6).
    pub matomo_url: Option<String>,
    pub matomo_site_id: Option<String>,
    pub ga_id: Option<String>,
}

/// Origins for the widget allow-list, one per line or comma separated:
/// `scheme://host[:port]`, http or https, no path. Returns the normalized list or
/// the field error code.
pub fn parse_origins(input: &str) -> Result<Vec<String>, &'static str> {
    let mut out = Vec::new();
    for raw in input
        .split([',', '\n', '\r', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let lower = raw.trim_end_matches('/').to_ascii_lowercase();
        let (scheme, rest) = lower.split_once("://").ok_or("err.origin")?;
        if !matches!(scheme, "http" | "https")
            || rest.is_empty()
            || rest.contains(['/', '?', '#', '@'])
        {
            return Err("err.origin");
        }
        let host = match rest.rsplit_once(':') {
            Some((h, port)) if port.parse::<u16>().is_ok() => h,
            Some(_) => return Err("err.origin"),
            None => rest,
        };
        if relabel_tenants::Hostname::parse(host).is_err() && host != "localhost" {
            return Err("err.origin");
        }
        if !out.contains(&lower) {
            out.push(lower);
        }
    }
    if out.len() > 20 {
        return Err("err.origin_count");
    }
    Ok(out)
}

pub async fn update_settings(
    tx: &TenantTx,
    actor: &str,
    ip: Option<&str>,
    change: SettingsChange,
) -> Result<(), DbErr> {
    let before = settings(tx).await?;
    let mut a: settings::ActiveModel = before.clone().into();
    a.customer_number_prefix = Set(change.customer_number_prefix);
    a.default_credit_limit_minor = Set(change.default_credit_limit_minor);
    a.currency = Set(change.currency);
    a.mail_from_name = Set(change.mail_from_name);
    a.mail_from_address = Set(change.mail_from_address);
    a.order_activation = Set(change.order_activation);
    a.widget_origins = Set(change.widget_origins.join(","));
    a.sms_url = Set(change.sms_url);
    a.bureau_url = Set(change.bureau_url);
    a.bureau_threshold_minor = Set(change.bureau_threshold_minor);
    a.score_limits = Set(change.score_limits);
    a.dns_template = Set(change.dns_template);
    a.matomo_url = Set(change.matomo_url);
    a.matomo_site_id = Set(change.matomo_site_id);
    a.ga_id = Set(change.ga_id);
    let after = a.update(tx.conn()).await?;
    let snap = |s: &settings::Model| {
        serde_json::json!({
            "customer_number_prefix": s.customer_number_prefix, "default_credit_limit_minor": s.default_credit_limit_minor,
            "currency": s.currency, "mail_from_name": s.mail_from_name, "mail_from_address": s.mail_from_address,
            "order_activation": s.order_activation, "widget_origins": s.widget_origins,
            "sms_url": s.sms_url, "bureau_url": s.bureau_url, "bureau_threshold_minor": s.bureau_threshold_minor, "score_limits": s.score_limits,
            "dns_template": s.dns_template, "matomo_url": s.matomo_url, "matomo_site_id": s.matomo_site_id, "ga_id": s.ga_id,
        })
    };
    audit::record_tenant(
        tx,
        Change::new(actor, "settings.update", "settings")
            .ip(ip)
            .before(snap(&before))
            .after(snap(&after)),
    )
    .await
}
