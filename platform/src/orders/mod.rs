//! Orders (O1-O14): a cart's lines checked against the registry rules and priced by
//! the resolver, a risk check, and the exact credit check (O13) inside the order
//! transaction. An order that passes is accepted at once (numbered, its items
//! queued as provisioning jobs); otherwise it goes to the clearing center under a
//! gapless case number (Vorgangsnummer) that the customer sees.

pub mod cart;
pub mod entity;
pub mod hooks;
pub mod risk;
pub mod wholesale;

use crate::audit::{self, Change};
use crate::catalog::tld;
use crate::coupons;
use crate::customers::{self, customer, settings};
use crate::domains::rules;
use crate::jobs::{self, NewJob};
use crate::pricing::{PriceBooks, Pricer, book::vat_of};
use crate::validation::FieldErrors;
use chrono::{Duration, Utc};
pub use entity::{
    account, cart_item, clearing_case, operator_case, order, order_event, order_item,
    reseller_account,
};
use relabel_tenants::TenantTx;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

/// Data-change topic of orders and cases (console lists).
pub const TOPIC: &str = "orders";

/// Domain actions a cart can hold: `preregister` for upcoming TLDs (kept until
/// general availability), `sunrise` with an SMD file during sunrise.
pub const DOMAIN_ACTIONS: &[&str] = &["register", "transfer", "preregister", "sunrise", "restore"];
/// Billing periods (months) a hosting, email or other product can be ordered for.
pub const PRODUCT_PERIODS: &[i32] = &[1, 12];

/// One wanted thing: a domain (`product_id` is the TLD's product) or a product.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Line {
    pub product_id: String,
    pub domain: Option<String>,
    /// `register` | `transfer` for domains, `order` for other products.
    pub action: String,
    pub period_months: i32,
    pub auth_code: Option<String>,
    /// The reseller's trustee service stands in as admin contact (`.de` for
    /// holders without a German address).
    #[serde(default)]
    pub trustee: bool,
    /// The SMD file of a sunrise registration.
    #[serde(default)]
    pub smd: Option<String>,
    /// The holder (one of the customer's contacts); none = the customer.
    #[serde(default)]
    pub contact_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("not found")]
    NotFound,
    /// The clearing case was decided already.
    #[error("case already decided")]
    Decided,
    /// Approval without override when the credit still does not cover the order.
    #[error("credit limit exceeded")]
    OverLimit { available_minor: i64 },
    /// The case waits for the operator (the reseller's platform credit).
    #[error("decided by the platform operator")]
    Platform,
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl From<FieldErrors> for OrderError {
    fn from(e: FieldErrors) -> Self {
        OrderError::Invalid(e)
    }
}

/// A checked and priced line.
#[derive(Clone, Debug)]
pub struct Priced {
    pub line: Line,
    pub currency: String,
    pub net_minor: i64,
    pub discount_minor: i64,
    pub vat_minor: i64,
    pub gross_minor: i64,
    /// The reseller's cost at the platform (catalog wholesale price).
    pub wholesale_minor: i64,
}

/// The charges a line makes, as (catalog action, period) pairs.
fn charges(line: &Line) -> Vec<(&str, i32)> {
    if line.domain.is_some() {
        // Pre-registrations and sunrise registrations cost a registration.
        let action = match line.action.as_str() {
            "preregister" | "sunrise" => "register",
            a => a,
        };
        vec![(action, line.period_months)]
    } else {
        let fee = if line.period_months == 12 {
            "yearly_fee"
        } else {
            "monthly_fee"
        };
        vec![("setup", 0), (fee, line.period_months)]
    }
}

/// The price of `action` for `period` months: the catalog's own price for that
/// period, else a multi-year domain term priced as that many single years.
pub(crate) fn quote_for(
    pricer: &Pricer,
    product_id: &str,
    action: &str,
    period: i32,
) -> Option<crate::pricing::Quote> {
    if let Some(q) = pricer.quote(product_id, action, period) {
        return Some(q);
    }
    if period <= 12 || period % 12 != 0 {
        return None;
    }
    let years = i64::from(period / 12);
    let mut q = pricer.quote(product_id, action, 12)?;
    q.net_minor *= years;
    q.vat_minor = vat_of(q.net_minor, pricer.treatment());
    q.gross_minor = q.net_minor + q.vat_minor;
    q.wholesale_minor = q.wholesale_minor.map(|w| w * years);
    q.period_months = period;
    Some(q)
}

/// Checks one line against the catalog, the registry rules and the buyer's prices.
/// Errors name fields under `prefix` (`items.2.domain`). Returns the normalized line
/// (domain as its Unicode form) and its net price before discounts.
pub fn check_line(
    pricer: &Pricer,
    tlds: &HashMap<String, tld::Model>,
    line: &Line,
    prefix: &str,
    errors: &mut FieldErrors,
) -> Option<(Line, String, i64, i64)> {
    let field = |f: &str| format!("{prefix}{f}");
    let mut line = line.clone();
    if let Some(domain) = line.domain.clone() {
        let tld_name = domain
            .trim()
            .trim_end_matches('.')
            .rsplit_once('.')
            .map(|(_, t)| t.to_lowercase());
        let Some(rules) = tld_name.as_deref().and_then(|t| tlds.get(t)) else {
            errors.add(&field("domain"), "err.domain_tld_unknown");
            return None;
        };
        let name = match rules::check_name(&domain, rules) {
            Ok(n) => n,
            Err(code) => {
                errors.add(&field("domain"), code);
                return None;
            }
        };
        line.domain = Some(name.unicode());
        line.product_id = pricer
            .book()
            .domains()
            .iter()
            .find(|(t, _)| *t == rules.name)
            .map(|(_, p)| p.clone())
            .unwrap_or_default();
        if !DOMAIN_ACTIONS.contains(&line.action.as_str()) {
            errors.add(&field("action"), "err.choice");
            return None;
        }
        if let Err(code) = rules::check_period(line.period_months, rules) {
            errors.add(&field("period"), code);
            return None;
        }
        // The TLD's launch phase decides what a registration is.
        match (rules.phase.as_str(), line.action.as_str()) {
            // A restore is of a domain in redemption: checked in `place`.
            (_, "restore") => {}
            ("upcoming", "register" | "preregister") => line.action = "preregister".into(),
            ("upcoming", _) => {
                errors.add(&field("action"), "err.domain_not_yet_available");
                return None;
            }
            ("sunrise", "register" | "sunrise") => {
                line.action = "sunrise".into();
                let Some(text) = line.smd.as_deref().filter(|t| !t.trim().is_empty()) else {
                    errors.add(&field("smd"), "err.smd_required");
                    return None;
                };
                let checked = crate::domains::smd::parse(text)
                    .and_then(|smd| crate::domains::smd::check(&smd, &name.label, Utc::now()));
                if let Err(code) = checked {
                    errors.add(&field("smd"), code);
                    return None;
                }
            }
            ("sunrise", _) => {
                errors.add(&field("action"), "err.domain_sunrise_only");
                return None;
            }
            (_, "preregister" | "sunrise") => line.action = "register".into(),
            _ => {}
        }
        if line.action != "sunrise" {
            line.smd = None;
        }
        if line.action == "transfer" {
            let code = line.auth_code.clone().unwrap_or_default();
            if let Err(c) = rules::check_auth_code(&code, rules) {
                errors.add(&field("auth_code"), c);
                return None;
            }
            line.auth_code = Some(code.trim().to_owned()).filter(|c| !c.is_empty());
        } else {
            line.auth_code = None;
        }
    } else {
        line.action = "order".into();
        line.auth_code = None;
        line.trustee = false;
        line.smd = None;
        line.contact_id = None;
        if !PRODUCT_PERIODS.contains(&line.period_months) {
            errors.add(&field("period"), "err.choice");
            return None;
        }
    }
    let mut currency = None;
    let mut net = 0;
    let mut wholesale = 0;
    for (action, period) in charges(&line) {
        match quote_for(pricer, &line.product_id, action, period) {
            Some(q) => {
                if currency.get_or_insert_with(|| q.currency.clone()) != &q.currency {
                    errors.add(&field("product"), "err.order_mixed_currency");
                    return None;
                }
                net += q.net_minor;
                wholesale += q.wholesale_minor.unwrap_or(0);
            }
            None => {
                errors.add(
                    &field(if line.domain.is_some() {
                        "domain"
                    } else {
                        "product"
                    }),
                    "err.order_not_for_sale",
                );
                return None;
            }
        }
    }
    Some((line, currency.unwrap_or_default(), net, wholesale))
}

/// Everything a checkout needs besides the transaction.
pub struct Checkout<'a> {
    pub customer_id: &'a str,
    pub cart_id: &'a str,
    pub lines: &'a [Line],
    pub coupon: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub ip_country: Option<String>,
    /// The credit bureau's score, when the reseller asked one (see [`hooks`]).
    pub bureau_score: Option<i32>,
    /// Who places it (customer email, staff email, `api:<key>`), for the history.
    pub actor: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Accepted {
        number: String,
    },
    Clearing {
        case_number: String,
        reason: String,
    },
    /// SMS activation: the customer confirms with the code sent to their phone.
    AwaitingCode,
}

#[derive(Clone, Debug)]
pub struct Placed {
    pub order: order::Model,
    pub outcome: Outcome,
    pub risk: risk::Assessment,
    /// The activation code to send by SMS after commit (SMS activation only).
    pub sms: Option<(String, String)>,
}

/// What the account can still take: balance + limit - reserved.
pub fn available(acc: &account::Model, limit_minor: i64) -> i64 {
    acc.balance_minor + limit_minor - acc.reserved_minor
}

/// The customer's credit limit: their own, else the reseller's default.
pub fn credit_limit(c: &customer::Model, s: &settings::Model) -> i64 {
    c.credit_limit_minor.unwrap_or(s.default_credit_limit_minor)
}

/// Creates the customer's account row if missing. As the first statement of an
/// order transaction it is a write, which on SQLite takes the write lock before
/// anything is read (so no later write can fail on a stale snapshot).
async fn ensure_account(tx: &TenantTx, customer_id: &str) -> Result<(), DbErr> {
    use account::Column as A;
    let insert = Query::insert()
        .into_table(account::Entity)
        .columns([
            A::CustomerId,
            A::Currency,
            A::BalanceMinor,
            A::ReservedMinor,
            A::UpdatedAt,
        ])
        .select_from(
            Query::select()
                .column(customer::Column::Id)
                .column(customer::Column::Currency)
                .expr(Expr::val(0i64))
                .expr(Expr::val(0i64))
                .expr(Expr::val(Utc::now()))
                .from(customer::Entity)
                .and_where(customer::Column::Id.eq(customer_id))
                .to_owned(),
        )
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .on_conflict(OnConflict::column(A::CustomerId).do_nothing().to_owned())
        .to_owned();
    tx.conn().execute(&insert).await?;
    Ok(())
}

/// Reserves `amount` on the account if it fits (or unconditionally with
/// `override_limit`). One conditional UPDATE: concurrent orders of one customer
/// are serialized on the account row and each sees the others' reservations.
async fn reserve(
    tx: &TenantTx,
    customer_id: &str,
    limit_minor: i64,
    amount: i64,
    override_limit: bool,
) -> Result<bool, DbErr> {
    use account::Column as A;
    let mut q = account::Entity::update_many()
        .col_expr(A::ReservedMinor, Expr::col(A::ReservedMinor).add(amount))
        .col_expr(A::UpdatedAt, Expr::val(Utc::now()))
        .filter(A::CustomerId.eq(customer_id));
    if !override_limit {
        q = q.filter(
            Expr::col(A::BalanceMinor)
                .add(limit_minor)
                .sub(Expr::col(A::ReservedMinor))
                .gte(amount),
        );
    }
    Ok(q.exec(tx.conn()).await?.rows_affected == 1)
}

pub async fn account(tx: &TenantTx, customer_id: &str) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find_by_id(customer_id.to_owned())
        .one(tx.conn())
        .await
}

/// Advances one of the settings counters and returns the value it had: gapless,
/// because a rolled-back transaction rolls the counter back too.
async fn next_counter(tx: &TenantTx, col: settings::Column) -> Result<i64, DbErr> {
    settings::Entity::update_many()
        .col_expr(col, Expr::col(col).add(1))
        .filter(settings::Column::Id.eq(1))
        .exec(tx.conn())
        .await?;
    let s = customers::settings(tx).await?;
    Ok(match col {
        settings::Column::NextOrderNumber => s.next_order_number,
        _ => s.next_case_number,
    } - 1)
}

fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

async fn event(
    tx: &TenantTx,
    order_id: &str,
    status: &str,
    actor: &str,
    note: Option<&str>,
) -> Result<(), DbErr> {
    order_event::ActiveModel {
        id: Set(new_id()),
        order_id: Set(order_id.to_owned()),
        status: Set(status.to_owned()),
        actor: Set(actor.to_owned()),
        note: Set(note.map(str::to_owned)),
        at: Set(Utc::now()),
    }
    .insert(tx.conn())
    .await?;
    Ok(())
}

pub async fn tld_rules(tx: &TenantTx) -> Result<HashMap<String, tld::Model>, DbErr> {
    Ok(crate::catalog::tlds(tx.conn())
        .await?
        .into_iter()
        .map(|t| (t.name.clone(), t))
        .collect())
}

/// Checks and prices `lines` for `customer`, applying `coupon` (already redeemed).
pub fn price_lines(
    pricer: &Pricer,
    tlds: &HashMap<String, tld::Model>,
    lines: &[Line],
    coupon: Option<&coupons::entity::coupon::Model>,
) -> Result<Vec<Priced>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut priced = Vec::new();
    let mut currency: Option<String> = None;
    if lines.is_empty() {
        errors.add("items", "err.order_empty");
    }
    let mut seen = std::collections::HashSet::new();
    for (i, line) in lines.iter().enumerate() {
        let prefix = format!("items.{i}.");
        let Some((line, cur, net, wholesale)) =
            check_line(pricer, tlds, line, &prefix, &mut errors)
        else {
            continue;
        };
        if let Some(d) = &line.domain
            && !seen.insert(d.clone())
        {
            errors.add(&format!("{prefix}domain"), "err.order_duplicate_domain");
            continue;
        }
        if currency.get_or_insert_with(|| cur.clone()) != &cur {
            errors.add(&format!("{prefix}product"), "err.order_mixed_currency");
            continue;
        }
        let discount = coupon
            .map(|c| {
                charges(&line)
                    .into_iter()
                    .filter(|(a, _)| coupons::applies_to(c, &line.product_id, a))
                    .filter_map(|(a, p)| quote_for(pricer, &line.product_id, a, p))
                    .map(|q| coupons::discount(c, q.net_minor, &cur))
                    .sum::<i64>()
            })
            .unwrap_or(0);
        let discount = std::cmp::min(discount, net);
        let net_after = net - discount;
        let vat = vat_of(net_after, pricer.treatment());
        priced.push(Priced {
            line,
            currency: cur,
            net_minor: net_after,
            discount_minor: discount,
            vat_minor: vat,
            gross_minor: net_after + vat,
            wholesale_minor: wholesale,
        });
    }
    if coupon.is_some() && errors.is_empty() && priced.iter().all(|p| p.discount_minor == 0) {
        errors.add("coupon", "err.coupon_not_applicable");
    }
    errors.into_result().map(|()| priced)
}

/// Places an order inside `tx` (which must not have read anything yet: see
/// [`ensure_account`]). On `Err` the caller drops the transaction and nothing is
/// written.
pub async fn place(
    tx: &TenantTx,
    books: &PriceBooks,
    c: Checkout<'_>,
) -> Result<Placed, OrderError> {
    ensure_account(tx, c.customer_id).await?;
    wholesale::ensure(tx.platform().await?, tx.tenant_id().as_str()).await?;
    // The operator's last dunning step (T5) pauses ordering until paid.
    if wholesale::ordering_suspended(tx.platform().await?, tx.tenant_id().as_str()).await? {
        return Err(FieldErrors::single("order", "err.ordering_paused").into());
    }
    let customer = customers::get(tx, c.customer_id)
        .await
        .map_err(|_| OrderError::NotFound)?;
    let s = customers::settings(tx).await?;
    // A fresh bureau score sets the credit limit by the reseller's rule (Y5)
    // before the credit check below reads it.
    let customer = match c.bureau_score {
        Some(score) => {
            let actor = customers::Actor {
                name: c.actor,
                ip: None,
            };
            customers::apply_score(tx, &actor, customer, score, &s)
                .await
                .map_err(|e| match e {
                    customers::CustomerError::Db(e) => OrderError::Db(e),
                    _ => OrderError::NotFound,
                })?
        }
        None => customer,
    };
    let is_first = order::Entity::find()
        .filter(order::Column::CustomerId.eq(&customer.id))
        .filter(order::Column::Status.eq("accepted"))
        .count(tx.conn())
        .await?
        == 0;
    let order_id = new_id();
    let coupon = match c.coupon.map(str::trim).filter(|v| !v.is_empty()) {
        Some(code) => match coupons::redeem(tx, code, &customer.id, is_first, &order_id).await? {
            Ok(coupon) => Some(coupon),
            Err(refusal) => {
                return Err(FieldErrors::single("coupon", refusal.code()).into());
            }
        },
        None => None,
    };
    let pricer = books.pricer(tx, Some(&customer)).await?;
    let tlds = tld_rules(tx).await?;
    let priced = price_lines(&pricer, &tlds, c.lines, coupon.as_ref())?;
    // Residency rules with the holder (the chosen contact, else the customer) as
    // registrant and admin contact (O5).
    let mut errors = FieldErrors::default();
    let mut holders: Vec<String> = Vec::with_capacity(priced.len());
    for (i, p) in priced.iter().enumerate() {
        let country = match &p.line.contact_id {
            Some(id) => match crate::contacts::get_for(tx, &customer.id, id).await? {
                Some(contact) => contact.country,
                None => {
                    errors.add(&format!("items.{i}.contact"), "err.contact_unknown");
                    customer.country.clone()
                }
            },
            None => customer.country.clone(),
        };
        holders.push(country);
    }
    for (i, p) in priced.iter().enumerate() {
        let Some(holder_country) = holders.get(i) else {
            continue;
        };
        let rules = p
            .line
            .domain
            .as_deref()
            .and_then(|d| d.rsplit_once('.'))
            .and_then(|(_, t)| tlds.get(t));
        if let Some(rules) = rules
            && let Err(code) =
                rules::check_residency(rules, holder_country, holder_country, p.line.trustee)
        {
            errors.add(&format!("items.{i}.domain"), code);
        }
    }
    // A restore (B12) is of the customer's own domain in its redemption period.
    for (i, p) in priced.iter().enumerate() {
        if p.line.action != "restore" {
            continue;
        }
        let ascii = p
            .line
            .domain
            .as_deref()
            .map(|d| idna::domain_to_ascii(d).unwrap_or_default())
            .unwrap_or_default();
        let own = crate::provisioning::by_name(tx, &ascii)
            .await?
            .filter(|d| d.customer_id == customer.id && d.status == "redemption");
        if own.is_none() {
            errors.add(&format!("items.{i}.domain"), "err.restore_not_possible");
        }
    }
    errors.into_result()?;
    let currency = priced[0].currency.clone();
    let (net, vat, gross, discount) = priced.iter().fold((0, 0, 0, 0), |a, p| {
        (
            a.0 + p.net_minor,
            a.1 + p.vat_minor,
            a.2 + p.gross_minor,
            a.3 + p.discount_minor,
        )
    });
    let wholesale_total: i64 = priced.iter().map(|p| p.wholesale_minor).sum();

    let since = Utc::now() - Duration::hours(1);
    let recent_orders = order::Entity::find()
        .filter(order::Column::CustomerId.eq(&customer.id))
        .filter(order::Column::CreatedAt.gte(since))
        .count(tx.conn())
        .await?;
    let facts = risk::Facts {
        email: customer.email.clone(),
        address_country: customer.country.clone(),
        ip_country: c.ip_country.clone(),
        new_customer: is_first && customer.created_at > Utc::now() - Duration::days(30),
        gross_minor: gross,
        domains: priced.iter().filter(|p| p.line.domain.is_some()).count(),
        recent_orders,
        bureau_score: c.bureau_score,
    };
    let assessment = risk::assess(&facts);

    let limit = credit_limit(&customer, &s);
    let now = Utc::now();
    let mut model = order::Model {
        id: order_id.clone(),
        number: None,
        customer_id: customer.id.clone(),
        cart_id: c.cart_id.to_owned(),
        status: "received".into(),
        currency,
        net_minor: net,
        vat_minor: vat,
        gross_minor: gross,
        reserved_minor: 0,
        coupon_code: coupon.as_ref().map(|c| c.code.clone()),
        discount_minor: discount,
        risk_score: assessment.score,
        risk_reasons: Some(assessment.reasons.join(",")).filter(|r| !r.is_empty()),
        ip: c.ip.map(str::to_owned),
        activation_code_hash: None,
        activation_expires_at: None,
        wholesale_minor: wholesale_total,
        wholesale_reserved_minor: 0,
        created_at: now,
        updated_at: now,
    };
    order::ActiveModel::from(model.clone())
        .reset_all()
        .insert(tx.conn())
        .await?;
    for (i, p) in priced.iter().enumerate() {
        order_item::ActiveModel {
            id: Set(new_id()),
            order_id: Set(order_id.clone()),
            position: Set(i as i32 + 1),
            product_id: Set(p.line.product_id.clone()),
            domain: Set(p.line.domain.clone()),
            action: Set(p.line.action.clone()),
            period_months: Set(p.line.period_months),
            net_minor: Set(p.net_minor),
            vat_minor: Set(p.vat_minor),
            gross_minor: Set(p.gross_minor),
            smd: Set(p.line.smd.clone()),
            contact_id: Set(p.line.contact_id.clone()),
            status: Set("pending".into()),
            error: Set(None),
            auth_code: Set(p.line.auth_code.clone()),
        }
        .insert(tx.conn())
        .await?;
    }
    event(tx, &order_id, "received", c.actor, None).await?;

    // Risk first: a risky order reserves nothing until someone has looked at it.
    let reason = if assessment.needs_review() {
        Some("risk")
    } else if !reserve(tx, &customer.id, limit, gross, false).await? {
        Some("credit_limit")
    } else if s.order_activation == "manual" {
        // Reserved, waiting for a person.
        model.reserved_minor = gross;
        Some("manual")
    } else if s.order_activation == "sms"
        && (s.sms_url.is_none()
            || customer
                .phone
                .as_deref()
                .and_then(hooks::sms_number)
                .is_none())
    {
        // SMS activation without a gateway or a mobile number: a person decides.
        model.reserved_minor = gross;
        Some("manual")
    } else {
        model.reserved_minor = gross;
        None
    };
    // One level up: the reseller's own credit at the platform (T5).
    let reason = match reason {
        None | Some("manual") => {
            if wholesale::reserve(tx, wholesale_total, false).await? {
                model.wholesale_reserved_minor = wholesale_total;
                reason
            } else {
                Some("reseller_limit")
            }
        }
        other => other,
    };
    let mut sms = None;
    let outcome = match reason {
        None if s.order_activation == "sms" => {
            let code = hooks::new_code();
            model.status = "awaiting_code".into();
            model.activation_code_hash = Some(hooks::hash_code(&model.id, &code));
            model.activation_expires_at = Some(Utc::now() + Duration::minutes(30));
            order::ActiveModel {
                id: Set(model.id.clone()),
                status: Set(model.status.clone()),
                reserved_minor: Set(model.reserved_minor),
                activation_code_hash: Set(model.activation_code_hash.clone()),
                activation_expires_at: Set(model.activation_expires_at),
                ..Default::default()
            }
            .update(tx.conn())
            .await?;
            event(tx, &model.id, "awaiting_code", c.actor, None).await?;
            let phone = customer.phone.as_deref().and_then(hooks::sms_number);
            sms = phone.map(|p| (p, code));
            Outcome::AwaitingCode
        }
        None => {
            let number = accept(tx, &mut model, c.actor, None).await?;
            Outcome::Accepted { number }
        }
        Some(reason) => {
            let case_number = open_case(tx, &mut model, reason, c.actor).await?;
            Outcome::Clearing {
                case_number,
                reason: reason.to_owned(),
            }
        }
    };
    audit::record_tenant(
        tx,
        Change::new(c.actor, "order.place", &order_id)
            .entity("order", &order_id)
            .ip(c.ip)
            .after(serde_json::json!({
                "outcome": &outcome, "gross_minor": gross, "currency": &model.currency,
                "risk": &assessment,
            })),
    )
    .await?;
    tx.touch(TOPIC);
    Ok(Placed {
        order: model,
        outcome,
        risk: assessment,
        sms,
    })
}

/// Confirms an order awaiting its SMS code. Like [`place`], the transaction must
/// not have read anything before. Errors are for field `code`.
pub async fn activate(
    tx: &TenantTx,
    customer_id: &str,
    order_id: &str,
    code: &str,
) -> Result<order::Model, OrderError> {
    // Write first: take the order (only while it waits and the code is right).
    let hash = hooks::hash_code(order_id, code);
    let now = Utc::now();
    let taken = order::Entity::update_many()
        .col_expr(
            order::Column::ActivationCodeHash,
            Expr::val(Option::<String>::None),
        )
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::CustomerId.eq(customer_id))
        .filter(order::Column::Status.eq("awaiting_code"))
        .filter(order::Column::ActivationCodeHash.eq(hash))
        .filter(order::Column::ActivationExpiresAt.gt(now))
        .exec(tx.conn())
        .await?;
    let mut model = for_customer(tx, customer_id, order_id)
        .await?
        .ok_or(OrderError::NotFound)?;
    if taken.rows_affected != 1 {
        let code = if model.status != "awaiting_code" {
            "err.code_used"
        } else if model.activation_expires_at.is_some_and(|e| e <= now) {
            "err.code_expired"
        } else {
            "err.code_wrong"
        };
        return Err(FieldErrors::single("code", code).into());
    }
    let actor = format!("customer:{customer_id}");
    accept(tx, &mut model, &actor, Some("sms code")).await?;
    audit::record_tenant(
        tx,
        Change::new(&actor, "order.activate", &model.id).entity("order", &model.id),
    )
    .await?;
    tx.touch(TOPIC);
    Ok(model)
}

/// A fresh activation code for an order still waiting (the old one stops working).
pub async fn renew_code(
    tx: &TenantTx,
    customer_id: &str,
    order_id: &str,
) -> Result<Option<(String, String)>, OrderError> {
    let code = hooks::new_code();
    let updated = order::Entity::update_many()
        .col_expr(
            order::Column::ActivationCodeHash,
            Expr::val(Some(hooks::hash_code(order_id, &code))),
        )
        .col_expr(
            order::Column::ActivationExpiresAt,
            Expr::val(Some(Utc::now() + Duration::minutes(30))),
        )
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::CustomerId.eq(customer_id))
        .filter(order::Column::Status.eq("awaiting_code"))
        .exec(tx.conn())
        .await?;
    if updated.rows_affected != 1 {
        return Ok(None);
    }
    let customer = customers::get(tx, customer_id)
        .await
        .map_err(|_| OrderError::NotFound)?;
    Ok(customer
        .phone
        .as_deref()
        .and_then(hooks::sms_number)
        .map(|p| (p, code)))
}

/// Numbers the order, marks it accepted and queues one provisioning job per item,
/// all in the caller's transaction.
async fn accept(
    tx: &TenantTx,
    model: &mut order::Model,
    actor: &str,
    note: Option<&str>,
) -> Result<String, DbErr> {
    // A storefront signup gets its customer number with its first accepted order.
    let customer = customers::get(tx, &model.customer_id)
        .await
        .map_err(|_| DbErr::RecordNotFound(model.customer_id.clone()))?;
    customers::assign_number(tx, &customer).await?;
    let n = next_counter(tx, settings::Column::NextOrderNumber).await?;
    let number = format!("A-{n:06}");
    model.number = Some(number.clone());
    model.status = "accepted".into();
    model.updated_at = Utc::now();
    order::ActiveModel {
        id: Set(model.id.clone()),
        number: Set(model.number.clone()),
        status: Set(model.status.clone()),
        reserved_minor: Set(model.reserved_minor),
        wholesale_reserved_minor: Set(model.wholesale_reserved_minor),
        updated_at: Set(model.updated_at),
        ..Default::default()
    }
    .update(tx.conn())
    .await?;
    let tlds = tld_rules(tx).await?;
    for item in items(tx, &model.id).await? {
        let kind = match (item.domain.is_some(), item.action.as_str()) {
            (true, "transfer") => "domain.transfer",
            (true, "restore") => crate::provisioning::handler::RESTORE,
            (true, "preregister") => "domain.preregister",
            (true, "sunrise") => "domain.sunrise",
            (true, _) => "domain.register",
            (false, _) => "service.create",
        };
        // A pre-registration waits for general availability.
        let run_after = match item.action.as_str() {
            "preregister" => item
                .domain
                .as_deref()
                .and_then(|d| d.rsplit_once('.'))
                .and_then(|(_, t)| tlds.get(t))
                .and_then(|t| t.ga_at),
            _ => None,
        };
        jobs::enqueue(
            tx,
            NewJob {
                kind,
                reference: item.domain.as_deref().unwrap_or(&item.product_id),
                key: &format!("order:{}:{}", model.id, item.position),
                payload: serde_json::json!({
                    "order_id": model.id, "order_number": number, "customer_id": model.customer_id,
                    "item_id": item.id, "product_id": item.product_id, "domain": item.domain,
                    "action": item.action, "period_months": item.period_months,
                    "smd": item.smd.as_deref().and_then(|s| crate::domains::smd::parse(s).ok()).map(|s| s.encoded),
                    "contact_id": item.contact_id,
                }),
                run_after,
            },
        )
        .await?;
    }
    event(tx, &model.id, "accepted", actor, note).await?;
    Ok(number)
}

async fn open_case(
    tx: &TenantTx,
    model: &mut order::Model,
    reason: &str,
    actor: &str,
) -> Result<String, DbErr> {
    let n = next_counter(tx, settings::Column::NextCaseNumber).await?;
    let number = format!("V-{n:06}");
    clearing_case::ActiveModel {
        id: Set(new_id()),
        number: Set(number.clone()),
        order_id: Set(model.id.clone()),
        reason: Set(reason.to_owned()),
        status: Set("open".into()),
        note: Set(None),
        created_at: Set(Utc::now()),
        decided_at: Set(None),
        decided_by: Set(None),
    }
    .insert(tx.conn())
    .await?;
    model.status = "review".into();
    order::ActiveModel {
        id: Set(model.id.clone()),
        status: Set(model.status.clone()),
        reserved_minor: Set(model.reserved_minor),
        wholesale_reserved_minor: Set(model.wholesale_reserved_minor),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(tx.conn())
    .await?;
    event(tx, &model.id, "review", actor, Some(reason)).await?;
    if reason == "reseller_limit" {
        let case = clearing_case::Entity::find()
            .filter(clearing_case::Column::Number.eq(&number))
            .one(tx.conn())
            .await?
            .ok_or_else(|| DbErr::RecordNotFound(number.clone()))?;
        wholesale::open_case(tx, model, &case).await?;
    }
    Ok(number)
}

pub async fn items(tx: &TenantTx, order_id: &str) -> Result<Vec<order_item::Model>, DbErr> {
    order_item::Entity::find()
        .filter(order_item::Column::OrderId.eq(order_id))
        .order_by_asc(order_item::Column::Position)
        .all(tx.conn())
        .await
}

pub async fn events(tx: &TenantTx, order_id: &str) -> Result<Vec<order_event::Model>, DbErr> {
    order_event::Entity::find()
        .filter(order_event::Column::OrderId.eq(order_id))
        .order_by_asc(order_event::Column::At)
        .order_by_asc(order_event::Column::Id)
        .all(tx.conn())
        .await
}

pub async fn get(tx: &TenantTx, id: &str) -> Result<Option<order::Model>, DbErr> {
    order::Entity::find_by_id(id.to_owned())
        .one(tx.conn())
        .await
}

pub async fn case_of(tx: &TenantTx, order_id: &str) -> Result<Option<clearing_case::Model>, DbErr> {
    clearing_case::Entity::find()
        .filter(clearing_case::Column::OrderId.eq(order_id))
        .order_by_desc(clearing_case::Column::CreatedAt)
        .one(tx.conn())
        .await
}

/// The newest clearing case of each of `order_ids` that has one, by order id.
pub async fn cases_of(
    tx: &TenantTx,
    order_ids: &[&str],
) -> Result<std::collections::HashMap<String, clearing_case::Model>, DbErr> {
    let mut out = std::collections::HashMap::new();
    if order_ids.is_empty() {
        return Ok(out);
    }
    let cases = clearing_case::Entity::find()
        .filter(clearing_case::Column::OrderId.is_in(order_ids.iter().copied()))
        .order_by_asc(clearing_case::Column::CreatedAt)
        .all(tx.conn())
        .await?;
    for c in cases {
        // Oldest first: a newer case of the same order replaces an older one.
        out.insert(c.order_id.clone(), c);
    }
    Ok(out)
}

pub async fn case(tx: &TenantTx, id: &str) -> Result<Option<clearing_case::Model>, DbErr> {
    clearing_case::Entity::find_by_id(id.to_owned())
        .one(tx.conn())
        .await
}

/// Filters of the order list.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct OrderFilter {
    pub status: Option<String>,
    pub customer_id: Option<String>,
    /// Order number, cart id or part of either.
    pub q: Option<String>,
}

pub async fn list(tx: &TenantTx, f: &OrderFilter, limit: u64) -> Result<Vec<order::Model>, DbErr> {
    let mut q = order::Entity::find().order_by_desc(order::Column::CreatedAt);
    if let Some(s) = f.status.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(order::Column::Status.eq(s));
    }
    if let Some(c) = f.customer_id.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(order::Column::CustomerId.eq(c));
    }
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        q = q.filter(
            sea_orm::Condition::any()
                .add(order::Column::Number.contains(text))
                .add(order::Column::CartId.contains(text.to_lowercase())),
        );
    }
    q.limit(limit).all(tx.conn()).await
}

/// Open cases first, oldest first; then decided ones, newest first.
pub async fn cases(tx: &TenantTx, open_only: bool) -> Result<Vec<clearing_case::Model>, DbErr> {
    let mut q = clearing_case::Entity::find();
    if open_only {
        q = q
            .filter(clearing_case::Column::Status.is_in(["open", "waiting"]))
            .order_by_asc(clearing_case::Column::CreatedAt);
    } else {
        q = q.order_by_desc(clearing_case::Column::CreatedAt).limit(200);
    }
    q.all(tx.conn()).await
}

/// A staff decision on a clearing case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Re-runs the credit check; `override_limit` accepts beyond the limit
    /// (only for staff with the billing role: the caller checks).
    Approve {
        override_limit: bool,
    },
    Reject,
    /// Asks the customer (the note is mailed); the case stays open.
    AskCustomer,
}

/// Applies `decision` to the case `case_id`. Like [`place`], the transaction must
/// not have read anything before.
pub async fn decide(
    tx: &TenantTx,
    case_id: &str,
    decision: Decision,
    actor: &str,
    ip: Option<&str>,
    note: Option<&str>,
) -> Result<(clearing_case::Model, order::Model), OrderError> {
    // Write first (see ensure_account): mark the case as being decided.
    let claimed = clearing_case::Entity::update_many()
        .col_expr(
            clearing_case::Column::DecidedBy,
            Expr::val(actor.to_owned()),
        )
        .filter(clearing_case::Column::Id.eq(case_id))
        .filter(clearing_case::Column::Status.is_in(["open", "waiting"]))
        .exec(tx.conn())
        .await?;
    let case = case(tx, case_id).await?.ok_or(OrderError::NotFound)?;
    if claimed.rows_affected != 1 {
        return Err(OrderError::Decided);
    }
    if case.reason == "reseller_limit" {
        // Waits for the operator (the reseller's own platform credit).
        return Err(OrderError::Platform);
    }
    let mut model = get(tx, &case.order_id).await?.ok_or(OrderError::NotFound)?;
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    let before = case.status.clone();
    let status = match decision {
        Decision::Approve { override_limit } => {
            if model.reserved_minor == 0 {
                let customer = customers::get(tx, &model.customer_id)
                    .await
                    .map_err(|_| OrderError::NotFound)?;
                let s = customers::settings(tx).await?;
                let limit = credit_limit(&customer, &s);
                ensure_account(tx, &customer.id).await?;
                if !reserve(tx, &customer.id, limit, model.gross_minor, override_limit).await? {
                    let acc = account(tx, &customer.id)
                        .await?
                        .ok_or(OrderError::NotFound)?;
                    return Err(OrderError::OverLimit {
                        available_minor: available(&acc, limit),
                    });
                }
                model.reserved_minor = model.gross_minor;
            }
            if model.wholesale_reserved_minor == 0 && model.wholesale_minor > 0 {
                wholesale::ensure(tx.platform().await?, tx.tenant_id().as_str()).await?;
                if !wholesale::reserve(tx, model.wholesale_minor, false).await? {
                    // The reseller's own credit is exhausted: the operator decides.
                    return escalate(tx, case, model, actor).await;
                }
                model.wholesale_reserved_minor = model.wholesale_minor;
            }
            let note = match (override_limit, note) {
                (true, Some(n)) => Some(format!("override: {n}")),
                (true, None) => Some("override".to_owned()),
                (false, n) => n.map(str::to_owned),
            };
            accept(tx, &mut model, actor, note.as_deref()).await?;
            "approved"
        }
        Decision::Reject => {
            model.status = "rejected".into();
            // A reservation held for a manual activation is released.
            reject_order(tx, &mut model, actor, note).await?;
            "rejected"
        }
        Decision::AskCustomer => {
            event(tx, &model.id, "review", actor, note).await?;
            "waiting"
        }
    };
    let decided = status != "waiting";
    let updated = clearing_case::ActiveModel {
        id: Set(case.id.clone()),
        status: Set(status.to_owned()),
        note: Set(note.map(str::to_owned).or(case.note.clone())),
        decided_at: Set(decided.then(Utc::now)),
        decided_by: Set(decided.then(|| actor.to_owned())),
        ..Default::default()
    }
    .update(tx.conn())
    .await?;
    audit::record_tenant(
        tx,
        Change::new(actor, &format!("clearing.{status}"), &case.number)
            .entity("clearing_case", &case.id)
            .ip(ip)
            .before(serde_json::json!({ "status": before }))
            .after(serde_json::json!({
                "status": status, "note": note, "order": &model.number,
                "override": matches!(decision, Decision::Approve { override_limit: true }),
            })),
    )
    .await?;
    tx.touch(TOPIC);
    Ok((updated, model))
}

/// Marks the order rejected and releases what it held (customer and wholesale).
async fn reject_order(
    tx: &TenantTx,
    model: &mut order::Model,
    actor: &str,
    note: Option<&str>,
) -> Result<(), DbErr> {
    model.status = "rejected".into();
    if model.reserved_minor > 0 {
        release(tx, &model.customer_id, model.reserved_minor).await?;
        model.reserved_minor = 0;
    }
    if model.wholesale_reserved_minor > 0 {
        wholesale::release(tx, model.wholesale_reserved_minor).await?;
        model.wholesale_reserved_minor = 0;
    }
    order::ActiveModel {
        id: Set(model.id.clone()),
        status: Set(model.status.clone()),
        reserved_minor: Set(0),
        wholesale_reserved_minor: Set(0),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(tx.conn())
    .await?;
    event(tx, &model.id, "rejected", actor, note).await
}

/// Hands an approved case to the operator because the reseller's platform credit
/// does not cover the order's cost; the case stays open.
async fn escalate(
    tx: &TenantTx,
    case: clearing_case::Model,
    model: order::Model,
    actor: &str,
) -> Result<(clearing_case::Model, order::Model), OrderError> {
    let updated = clearing_case::ActiveModel {
        id: Set(case.id.clone()),
        reason: Set("reseller_limit".into()),
        decided_by: Set(None),
        ..Default::default()
    }
    .update(tx.conn())
    .await?;
    order::ActiveModel {
        id: Set(model.id.clone()),
        reserved_minor: Set(model.reserved_minor),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(tx.conn())
    .await?;
    event(tx, &model.id, "review", actor, Some("reseller_limit")).await?;
    wholesale::open_case(tx, &model, &updated).await?;
    tx.touch(TOPIC);
    Ok((updated, model))
}

/// The operator's decision on an order a reseller's platform credit does not
/// cover: approve (reserving beyond the reseller's limit) or reject. Runs in the
/// reseller's transaction; like [`place`], nothing may be read before.
pub async fn decide_platform(
    tx: &TenantTx,
    operator_case_id: &str,
    approve: bool,
    actor: &str,
    note: Option<&str>,
) -> Result<(clearing_case::Model, order::Model), OrderError> {
    let status = if approve { "approved" } else { "rejected" };
    let claimed = operator_case::Entity::update_many()
        .col_expr(operator_case::Column::Status, Expr::val(status))
        .col_expr(
            operator_case::Column::DecidedAt,
            Expr::val(Some(Utc::now())),
        )
        .col_expr(
            operator_case::Column::DecidedBy,
            Expr::val(Some(actor.to_owned())),
        )
        .col_expr(
            operator_case::Column::Note,
            Expr::val(note.map(str::to_owned)),
        )
        .filter(operator_case::Column::Id.eq(operator_case_id))
        .filter(operator_case::Column::TenantId.eq(tx.tenant_id().as_str()))
        .filter(operator_case::Column::Status.eq("open"))
        .exec(tx.platform().await?)
        .await?;
    let op = wholesale::operator_case(tx.platform().await?, operator_case_id)
        .await?
        .filter(|c| c.tenant_id == tx.tenant_id().as_str())
        .ok_or(OrderError::NotFound)?;
    if claimed.rows_affected != 1 {
        return Err(OrderError::Decided);
    }
    let case = case(tx, &op.case_id).await?.ok_or(OrderError::NotFound)?;
    let mut model = get(tx, &op.order_id).await?.ok_or(OrderError::NotFound)?;
    if approve {
        if model.wholesale_reserved_minor == 0 {
            wholesale::reserve(tx, model.wholesale_minor, true).await?;
            model.wholesale_reserved_minor = model.wholesale_minor;
        }
        if model.reserved_minor == 0 {
            // Held for the customer at placement; a case escalated on approval
            // reserved it then.
            let customer = customers::get(tx, &model.customer_id)
                .await
                .map_err(|_| OrderError::NotFound)?;
            let s = customers::settings(tx).await?;
            ensure_account(tx, &customer.id).await?;
            reserve(
                tx,
                &customer.id,
                credit_limit(&customer, &s),
                model.gross_minor,
                true,
            )
            .await?;
            model.reserved_minor = model.gross_minor;
        }
        accept(tx, &mut model, actor, Some("platform credit")).await?;
    } else {
        reject_order(tx, &mut model, actor, note).await?;
    }
    let updated = clearing_case::ActiveModel {
        id: Set(case.id.clone()),
        status: Set(status.to_owned()),
        note: Set(note.map(str::to_owned).or(case.note.clone())),
        decided_at: Set(Some(Utc::now())),
        decided_by: Set(Some(actor.to_owned())),
        ..Default::default()
    }
    .update(tx.conn())
    .await?;
    audit::record_tenant(
        tx,
        Change::new(actor, &format!("clearing.platform_{status}"), &case.number)
            .entity("clearing_case", &case.id)
            .after(serde_json::json!({ "order": &model.number, "wholesale_minor": model.wholesale_minor, "note": note })),
    )
    .await?;
    tx.touch(TOPIC);
    Ok((updated, model))
}

pub(crate) async fn release(tx: &TenantTx, customer_id: &str, amount: i64) -> Result<(), DbErr> {
    use account::Column as A;
    account::Entity::update_many()
        .col_expr(A::ReservedMinor, Expr::col(A::ReservedMinor).sub(amount))
        .filter(A::CustomerId.eq(customer_id))
        .exec(tx.conn())
        .await?;
    Ok(())
}

/// The case and order for a customer-facing status page: only the customer's own.
pub async fn for_customer(
    tx: &TenantTx,
    customer_id: &str,
    order_id: &str,
) -> Result<Option<order::Model>, DbErr> {
    order::Entity::find_by_id(order_id.to_owned())
        .filter(order::Column::CustomerId.eq(customer_id))
        .one(tx.conn())
        .await
}

/// Records the provisioning result of one item: `Err(reason)` marks it failed and
/// releases what it held of the customer's credit. When no item is pending any
/// more the order is `completed`; that order is returned (for the status mail).
/// Idempotent: an item that is no longer pending is left alone.
pub async fn item_finished(
    tx: &TenantTx,
    item_id: &str,
    result: Result<(), &str>,
    actor: &str,
) -> Result<Option<order::Model>, DbErr> {
    use order_item::Column as I;
    let status = if result.is_ok() { "done" } else { "failed" };
    let changed = order_item::Entity::update_many()
        .col_expr(I::Status, Expr::val(status))
        .col_expr(I::Error, Expr::val(result.err().map(str::to_owned)))
        .filter(I::Id.eq(item_id))
        .filter(I::Status.eq("pending"))
        .exec(tx.conn())
        .await?;
    if changed.rows_affected != 1 {
        return Ok(None);
    }
    let item = order_item::Entity::find_by_id(item_id.to_owned())
        .one(tx.conn())
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(item_id.to_owned()))?;
    let Some(mut model) = order::Entity::find_by_id(item.order_id.clone())
        .one(tx.conn())
        .await?
    else {
        return Ok(None);
    };
    if let Err(reason) = result {
        let held = std::cmp::min(item.gross_minor, model.reserved_minor);
        if held > 0 {
            release(tx, &model.customer_id, held).await?;
            model.reserved_minor -= held;
        }
        let what = item.domain.as_deref().unwrap_or(&item.product_id);
        event(
            tx,
            &model.id,
            "item_failed",
            actor,
            Some(&format!("{what}: {reason}")),
        )
        .await?;
    }
    let pending = order_item::Entity::find()
        .filter(I::OrderId.eq(&model.id))
        .filter(I::Status.eq("pending"))
        .count(tx.conn())
        .await?;
    let completes = pending == 0 && model.status == "accepted";
    if completes {
        model.status = "completed".into();
        crate::billing::run::order_completed(tx, &model).await?;
    }
    model.updated_at = Utc::now();
    order::ActiveModel {
        id: Set(model.id.clone()),
        status: Set(model.status.clone()),
        reserved_minor: Set(model.reserved_minor),
        updated_at: Set(model.updated_at),
        ..Default::default()
    }
    .update(tx.conn())
    .await?;
    tx.touch(TOPIC);
    if completes {
        event(tx, &model.id, "completed", actor, None).await?;
        return Ok(Some(model));
    }
    Ok(None)
}
