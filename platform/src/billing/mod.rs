//! Billing (B1-B12): the ledger, gapless invoices and credit notes, billing runs,
//! documents (PDF, EN 16931 XML) and exports.
//!
//! - **Ledger**: every change of a customer's balance is an immutable entry in
//!   `ledger_entries` (signed, in the customer's favour). `accounts.balance_minor` is
//!   a cache updated in the same transaction; [`reconcile`] recomputes it from entries.
//! - **Open items** are invoices whose `settled_minor` is below their gross amount.
//!   Unapplied credit (balance + open amounts) settles the oldest items first, after
//!   every posting ([`settle`]): a credit balance is used automatically (B8).
//! - **Numbers** come from `number_ranges`, incremented inside the issuing
//!   transaction: a rolled-back issue leaves no gap, two issues never share a number.
//! - **Immutability**: no code path updates an issued document's lines or amounts;
//!   only `settled_minor`/`status` (open items), `delivered_at` and the rendered
//!   files (written once) change. Corrections are credit notes ([`credit_note`]).

pub mod cancel;
pub mod datev;
pub mod document;
pub mod einvoice;
pub mod entity;
pub mod money;
pub mod platform;
pub mod printmail;
pub mod run;

use crate::customers::customer;
use crate::orders::account;
use crate::tax::{self, Treatment};
use chrono::{DateTime, Datelike, Duration, SubsecRound, Utc};
pub use entity::{
    billing_run, billing_settings, invoice, invoice_line, ledger_entry, number_range,
};
use relabel_tenants::TenantTx;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use serde::{Deserialize, Serialize};

/// Data-change topic of invoices and the ledger (console lists, caches).
pub const TOPIC: &str = "billing";

pub const LEDGER_KINDS: &[&str] = &[
    "invoice",
    "credit_note",
    "payment",
    "deposit",
    "fee",
    "refund",
    "write_off",
    "correction",
    // Skonto taken at payment (P6, Y6).
    "cash_discount",
    // A collected direct debit the bank took back (Y7).
    "return_debit",
    // Default interest charged by dunning (D2).
    "interest",
];

impl invoice::Model {
    /// What is still open on the item: the gross amount and the charges added
    /// since (fees, interest) less what was paid, credited or settled.
    pub fn open_minor(&self) -> i64 {
        if self.kind == "credit_note" {
            return 0;
        }
        self.gross_minor + self.fees_minor + self.interest_minor - self.settled_minor
    }

    /// What the item comes to with its charges.
    pub fn total_minor(&self) -> i64 {
        self.gross_minor + self.fees_minor + self.interest_minor
    }
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error("invalid input")]
    Invalid(crate::validation::FieldErrors),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Refused(&'static str),
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl From<crate::validation::FieldErrors> for BillingError {
    fn from(e: crate::validation::FieldErrors) -> Self {
        Self::Invalid(e)
    }
}

/// The tenant's legal data and billing rules (one row).
pub async fn settings(tx: &TenantTx) -> Result<billing_settings::Model, DbErr> {
    billing_settings::Entity::find_by_id(1)
        .one(tx.conn())
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("billing_settings".into()))
}

/// The seller as printed on a document: the letterhead and legal data (T3, B2).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub country: String,
    pub vat_id: String,
    #[serde(default)]
    pub tax_number: String,
    #[serde(default)]
    pub register: String,
    #[serde(default)]
    pub director: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub bank_name: String,
    #[serde(default)]
    pub iban: String,
    #[serde(default)]
    pub bic: String,
    /// Buyer: customer number; seller: empty.
    #[serde(default)]
    pub number: String,
    /// Buyer: XRechnung buyer reference (Leitweg-ID).
    #[serde(default)]
    pub reference: String,
    #[serde(default)]
    pub language: String,
    #[serde(default)]
    pub footer: String,
    /// Buyer of an invoice collected by SEPA direct debit: the pre-notification
    /// fixed at issue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debit: Option<DebitNotice>,
    /// Seller of a document with exempt (E) or outside-the-scope (O) lines: why
    /// no VAT is charged (BT-120), fixed at issue.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub exemption_reason: String,
}

/// What the SEPA rulebook asks a creditor to tell the debtor before a
/// collection: amount (the document's), date, mandate, creditor id and the
/// account, masked.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DebitNotice {
    pub mandate_reference: String,
    pub creditor_id: String,
    pub iban_masked: String,
    /// YYYY-MM-DD
    pub collect_on: String,
}

/// An IBAN with all but its country, check digits and last four characters
/// hidden (`DE89 **** **** **** **30 00` style, spaces omitted).
pub fn mask_iban(iban: &str) -> String {
    let compact: String = iban.chars().filter(|c| !c.is_whitespace()).collect();
    let n = compact.chars().count();
    compact
        .chars()
        .enumerate()
        .map(|(i, c)| if i < 4 || i + 4 >= n { c } else { '*' })
        .collect()
}

/// The pre-notification for an invoice to `c` issued `at`, when `c` pays by
/// an active SEPA mandate and the reseller has a creditor id: collected
/// `debit_delay_days` after issue by a file due `debit_lead_days` later.
pub fn debit_notice(
    s: &billing_settings::Model,
    c: &customer::Model,
    at: DateTime<Utc>,
) -> Option<DebitNotice> {
    let active = c.billing_type == "DEBIT" && c.debit_status == "ACTIVE";
    let (Some(mandate), Some(iban)) = (&c.mandate_reference, &c.iban) else {
        return None;
    };
    if !active || s.creditor_id.is_empty() {
        return None;
    }
    let days = i64::from(s.debit_delay_days) + i64::from(std::cmp::Ord::max(s.debit_lead_days, 1));
    Some(DebitNotice {
        mandate_reference: mandate.clone(),
        creditor_id: s.creditor_id.clone(),
        iban_masked: mask_iban(iban),
        collect_on: (at + Duration::days(days)).date_naive().to_string(),
    })
}

pub fn seller_party(s: &billing_settings::Model, brand_name: &str) -> Party {
    Party {
        name: if s.legal_name.is_empty() {
            brand_name.to_owned()
        } else {
            s.legal_name.clone()
        },
        street: s.street.clone(),
        postal_code: s.postal_code.clone(),
        city: s.city.clone(),
        country: s.country.clone(),
        vat_id: s.vat_id.clone(),
        tax_number: s.tax_number.clone(),
        register: s.register.clone(),
        director: s.director.clone(),
        email: s.email.clone(),
        phone: s.phone.clone(),
        bank_name: s.bank_name.clone(),
        iban: s.iban.clone(),
        bic: s.bic.clone(),
        footer: s.footer.clone().unwrap_or_default(),
        ..Default::default()
    }
}

pub fn buyer_party(c: &customer::Model) -> Party {
    let person = format!("{} {}", c.first_name, c.last_name)
        .trim()
        .to_owned();
    Party {
        name: c
            .company
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or(person),
        street: c.street.clone(),
        postal_code: c.postal_code.clone(),
        city: c.city.clone(),
        country: c.country.clone(),
        vat_id: c.vat_id.clone().unwrap_or_default(),
        email: c.email.clone(),
        number: c.number.clone(),
        reference: c.buyer_reference.clone().unwrap_or_default(),
        language: c.language.clone(),
        ..Default::default()
    }
}

/// The VAT treatment of `c` under the reseller's tax settings (P7).
pub async fn treatment_of(tx: &TenantTx, c: &customer::Model) -> Result<Treatment, DbErr> {
    let s = crate::customers::settings(tx).await?;
    Ok(treatment_with(&s, c))
}

fn treatment_with(s: &crate::customers::settings::Model, c: &customer::Model) -> Treatment {
    tax::treatment(
        tax::Seller {
            country: &s.tax_country,
            rate_bp: u32::try_from(s.vat_rate_bp).unwrap_or(0),
        },
        crate::customers::tax_buyer(c),
    )
}

/// Renders a number from a pattern: `{YYYY}`, `{YY}`, `{MM}` and `{seq}` or
/// `{seq:06}` (zero padded to 6).
pub fn format_number(pattern: &str, at: DateTime<Utc>, seq: i64) -> String {
    let mut out = pattern
        .replace("{YYYY}", &format!("{:04}", at.year()))
        .replace("{YY}", &format!("{:02}", at.year() % 100))
        .replace("{MM}", &format!("{:02}", at.month()));
    while let Some(start) = out.find("{seq") {
        let Some(len) = out[start..].find('}') else {
            break;
        };
        let spec = &out[start + 4..start + len];
        let width = spec
            .strip_prefix(':')
            .and_then(|w| w.parse::<usize>().ok())
            .unwrap_or(0);
        out.replace_range(start..=start + len, &format!("{seq:0width$}"));
    }
    out
}

/// Checks a number pattern: it needs a `{seq}` and at most 40 characters.
pub fn valid_pattern(pattern: &str) -> bool {
    let p = pattern.trim();
    !p.is_empty()
        && p.len() <= 40
        && p.contains("{seq")
        && format_number(p, Utc::now(), 1)
            .chars()
            .all(|c| c.is_ascii_graphic())
}

/// The counter name of a pattern at a date: a pattern with `{YYYY}` restarts
/// every year, one with `{MM}` every month.
fn range_name(kind: &str, pattern: &str, at: DateTime<Utc>) -> String {
    let mut name = kind.to_owned();
    if pattern.contains("{YYYY}") || pattern.contains("{YY}") {
        name.push_str(&format!(":{}", at.year()));
    }
    if pattern.contains("{MM}") {
        name.push_str(&format!("-{:02}", at.month()));
    }
    name
}

/// Takes the next number of `kind` inside the caller's transaction: the row is
/// locked until commit, so numbers are gapless and never shared.
pub async fn allocate_number(
    tx: &TenantTx,
    kind: &str,
    pattern: &str,
    at: DateTime<Utc>,
) -> Result<String, DbErr> {
    let mut numbers = allocate_numbers(tx, kind, pattern, at, 1).await?;
    numbers
        .pop()
        .ok_or_else(|| DbErr::RecordNotFound(kind.to_owned()))
}

/// Takes the next `count` numbers of `kind` in one statement (a billing run issues
/// a batch of invoices at once), in order.
pub async fn allocate_numbers(
    tx: &TenantTx,
    kind: &str,
    pattern: &str,
    at: DateTime<Utc>,
    count: usize,
) -> Result<Vec<String>, DbErr> {
    use number_range::Column as N;
    let n = i64::try_from(count).unwrap_or(i64::MAX);
    let name = range_name(kind, pattern, at);
    let stmt = Query::insert()
        .into_table(number_range::Entity)
        .columns([N::Name, N::Next])
        .values_panic([name.clone().into(), (n + 1).into()])
        .on_conflict(
            OnConflict::column(N::Name)
                .value(N::Next, Expr::col((number_range::Entity, N::Next)).add(n))
                .to_owned(),
        )
        .returning_col(N::Next)
        .to_owned();
    let conn = tx.conn();
    let row = conn
        .query_one(&stmt)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(name.clone()))?;
    let next: i64 = row.try_get("", "next")?;
    Ok((next - n..next)
        .map(|seq| format_number(pattern, at, seq))
        .collect())
}

/// Writes one ledger entry and moves the cached balance with it.
#[allow(clippy::too_many_arguments)]
pub async fn post(
    tx: &TenantTx,
    customer_id: &str,
    kind: &str,
    amount_minor: i64,
    currency: &str,
    document: Option<(&str, &str)>,
    note: Option<&str>,
    actor: &str,
) -> Result<ledger_entry::Model, DbErr> {
    let entry = ledger_entry::Model {
        id: new_id(),
        customer_id: customer_id.to_owned(),
        kind: kind.to_owned(),
        amount_minor,
        currency: currency.to_owned(),
        document_id: document.map(|d| d.0.to_owned()),
        reference: document.map(|d| d.1.to_owned()),
        note: note.map(str::to_owned),
        actor: actor.to_owned(),
        created_at: Utc::now(),
    };
    post_many(tx, std::slice::from_ref(&entry)).await?;
    Ok(entry)
}

/// Writes ledger entries and moves each account's cached balance by their sum,
/// creating missing accounts, in one statement per 500 accounts. Returns each
/// account's unapplied credit afterwards: balance plus what is still open on its
/// invoices (positive when there is credit to settle open items with).
pub async fn post_many(
    tx: &TenantTx,
    entries: &[ledger_entry::Model],
) -> Result<Vec<(String, i64)>, DbErr> {
    use account::Column as A;
    use std::collections::BTreeMap;
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    crate::bulk::insert::<ledger_entry::Entity>(tx, entries, None).await?;
    let mut sums: BTreeMap<&str, (i64, &str)> = BTreeMap::new();
    for e in entries {
        sums.entry(&e.customer_id).or_insert((0, &e.currency)).0 += e.amount_minor;
    }
    let sums: Vec<(&str, (i64, &str))> = sums.into_iter().collect();
    // What is open on the account's invoices, after this statement's postings.
    let open = Expr::cust(
        "(SELECT CAST(COALESCE(SUM(i.gross_minor + i.fees_minor + i.interest_minor - i.settled_minor), 0) AS BIGINT) \
         FROM invoices i WHERE i.customer_id = accounts.customer_id AND i.kind = 'invoice' AND i.status = 'open')",
    );
    let mut credit = Vec::with_capacity(sums.len());
    for chunk in sums.chunks(500) {
        let mut upsert = Query::insert();
        upsert.into_table(account::Entity).columns([
            A::CustomerId,
            A::Currency,
            A::BalanceMinor,
            A::ReservedMinor,
            A::UpdatedAt,
        ]);
        for (id, (sum, currency)) in chunk {
            upsert.values_panic([
                (*id).into(),
                (*currency).into(),
                (*sum).into(),
                0i64.into(),
                now.into(),
            ]);
        }
        upsert
            .on_conflict(
                OnConflict::column(A::CustomerId)
                    .value(
                        A::BalanceMinor,
                        Expr::col((account::Entity, A::BalanceMinor)).add(Expr::col((
                            sea_orm::sea_query::Alias::new("excluded"),
                            A::BalanceMinor,
                        ))),
                    )
                    .value(A::UpdatedAt, Expr::val(now))
                    .to_owned(),
            )
            .returning(Query::returning().exprs([
                Expr::col(A::CustomerId),
                Expr::col(A::BalanceMinor),
                open.clone(),
            ]));
        for row in tx.conn().query_all(&upsert).await? {
            let id: String = row.try_get_by_index(0)?;
            let balance: i64 = row.try_get_by_index(1)?;
            let open: i64 = row.try_get_by_index(2)?;
            if tx.tenant_id().as_str() == relabel_tenants::PLATFORM_BOOKS_ID {
                // The operator's books (T5): each reseller's platform balance, which
                // the ordering credit check reads, follows its account here.
                crate::orders::wholesale::mirror_balance(tx.platform().await?, &id, balance)
                    .await?;
            }
            credit.push((id, balance + open));
        }
    }
    tx.touch(TOPIC);
    Ok(credit)
}

/// Takes the customer's account row first: as the first statement of a billing
/// transaction it is a write, so SQLite takes its write lock before anything is
/// read (no stale read snapshot to upgrade later), and Postgres serialises
/// postings per customer.
pub async fn lock_account(tx: &TenantTx, customer_id: &str) -> Result<(), DbErr> {
    take_accounts(tx, &[customer_id]).await?;
    Ok(())
}

/// Holds the accounts of a batch of customers (see [`lock_account`]) and returns
/// them as held: one statement.
pub async fn take_accounts(
    tx: &TenantTx,
    customer_ids: &[&str],
) -> Result<Vec<account::Model>, DbErr> {
    account::Entity::update_many()
        .col_expr(account::Column::UpdatedAt, Expr::val(Utc::now()))
        .filter(account::Column::CustomerId.is_in(customer_ids.iter().copied()))
        .exec_with_returning(tx.conn())
        .await
}

/// Open invoices of a customer, oldest first.
pub async fn open_items(tx: &TenantTx, customer_id: &str) -> Result<Vec<invoice::Model>, DbErr> {
    invoice::Entity::find()
        .filter(invoice::Column::CustomerId.eq(customer_id))
        .filter(invoice::Column::Kind.eq("invoice"))
        .filter(invoice::Column::Status.eq("open"))
        .order_by_asc(invoice::Column::IssuedAt)
        .order_by_asc(invoice::Column::Number)
        .all(tx.conn())
        .await
}

/// Applies unapplied credit (balance + open amounts) to open items, oldest first.
/// Returns the amount applied.
pub async fn settle(tx: &TenantTx, customer_id: &str) -> Result<i64, DbErr> {
    let balance = account::Entity::find_by_id(customer_id.to_owned())
        .one(tx.conn())
        .await?
        .map(|a| a.balance_minor)
        .unwrap_or(0);
    let items = open_items(tx, customer_id).await?;
    let open: i64 = items.iter().map(invoice::Model::open_minor).sum();
    let mut credit = balance + open;
    let mut applied = 0;
    for item in items {
        if credit <= 0 {
            break;
        }
        let take = std::cmp::min(credit, item.open_minor());
        let settled = item.settled_minor + take;
        invoice::ActiveModel {
            id: Set(item.id.clone()),
            settled_minor: Set(settled),
            status: Set(if settled >= item.total_minor() {
                "paid".into()
            } else {
                "open".into()
            }),
            ..Default::default()
        }
        .update(tx.conn())
        .await?;
        credit -= take;
        applied += take;
    }
    // Paid up: a dunning suspension ends (one read when there is none).
    crate::payments::suspension::release_if_paid(tx, customer_id).await?;
    Ok(applied)
}

/// Unapplied credit of `customer_ids` (balance plus what is open on their
/// invoices), two reads for the lot.
async fn credit_of(tx: &TenantTx, customer_ids: &[&str]) -> Result<Vec<(String, i64)>, DbErr> {
    use sea_orm::QuerySelect;
    use std::collections::HashMap;
    let mut credit: HashMap<String, i64> = HashMap::new();
    for chunk in customer_ids.chunks(500) {
        credit.extend(
            account::Entity::find()
                .select_only()
                .column(account::Column::CustomerId)
                .column(account::Column::BalanceMinor)
                .filter(account::Column::CustomerId.is_in(chunk.iter().copied()))
                .into_tuple::<(String, i64)>()
                .all(tx.conn())
                .await?,
        );
        let open: Vec<(String, i64, i64, i64, i64)> = invoice::Entity::find()
            .select_only()
            .column(invoice::Column::CustomerId)
            .column(invoice::Column::GrossMinor)
            .column(invoice::Column::FeesMinor)
            .column(invoice::Column::InterestMinor)
            .column(invoice::Column::SettledMinor)
            .filter(invoice::Column::CustomerId.is_in(chunk.iter().copied()))
            .filter(invoice::Column::Kind.eq("invoice"))
            .filter(invoice::Column::Status.eq("open"))
            .into_tuple()
            .all(tx.conn())
            .await?;
        for (id, gross, fees, interest, settled) in open {
            *credit.entry(id).or_default() += gross + fees + interest - settled;
        }
    }
    Ok(credit.into_iter().collect())
}

/// Settles the open items of the accounts with unapplied credit, as
/// [`post_many`] returns it: [`settle`] for the few that have any.
async fn settle_credit(tx: &TenantTx, credit: &[(String, i64)]) -> Result<(), DbErr> {
    for (id, c) in credit {
        if *c > 0 {
            settle(tx, id).await?;
        }
    }
    Ok(())
}

/// One line of a document to issue.
#[derive(Clone, Debug, Default)]
pub struct LineDraft {
    pub service_id: Option<String>,
    pub order_item_id: Option<String>,
    pub product_id: Option<String>,
    pub description: String,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    pub quantity_milli: i64,
    pub unit: String,
    pub unit_net_minor: i64,
    pub vat_rate_bp: i32,
    pub vat_category: String,
    /// The service's generation (see `CreditedPeriods`).
    pub generation: i32,
}

impl LineDraft {
    pub fn net_minor(&self) -> i64 {
        money::line_net(self.quantity_milli, self.unit_net_minor)
    }
}

/// A document to issue for one customer.
#[derive(Clone, Debug)]
pub struct Draft {
    /// invoice | credit_note
    pub kind: &'static str,
    pub currency: String,
    pub lines: Vec<LineDraft>,
    pub note: Option<String>,
    pub refers_to: Option<invoice::Model>,
    pub billing_run_id: Option<String>,
    pub order_id: Option<String>,
    pub issued_at: DateTime<Utc>,
}

pub fn tax_note(treatment: &str, lang: &str) -> Option<&'static str> {
    let de = lang == "de";
    match treatment {
        "reverse_charge" => Some(if de {
            "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge, Art. 196 MwStSystRL)."
        } else {
            "Reverse charge: VAT to be accounted for by the recipient (Art. 196 VAT Directive)."
        }),
        "export" => Some(if de {
            "Nicht im Inland steuerbare Leistung (Leistungsort im Drittland)."
        } else {
            "Not subject to German VAT: place of supply outside the EU."
        }),
        _ => None,
    }
}

fn treatment_name(t: Treatment) -> &'static str {
    match t {
        Treatment::Vat { .. } => "vat",
        Treatment::ReverseCharge => "reverse_charge",
        Treatment::Export => "export",
    }
}

/// The tenant's billing rules and shop settings, read once for a batch.
pub struct Rules {
    pub billing: billing_settings::Model,
    pub shop: crate::customers::settings::Model,
}

impl Rules {
    pub async fn load(tx: &TenantTx) -> Result<Self, DbErr> {
        Ok(Self {
            billing: settings(tx).await?,
            shop: crate::customers::settings(tx).await?,
        })
    }
}

/// Issues one document: see [`issue_many`].
pub async fn issue(
    tx: &TenantTx,
    c: &customer::Model,
    brand_name: &str,
    draft: Draft,
    actor: &str,
) -> Result<invoice::Model, BillingError> {
    let rules = Rules::load(tx).await?;
    let mut issued = issue_many(tx, &rules, brand_name, vec![(c, draft)], actor).await?;
    issued.pop().ok_or(BillingError::Refused("no lines"))
}

/// Issues documents inside `tx`, in order: numbers from the kind's range, the
/// lines, one ledger entry each, credit notes settling their original, unapplied
/// credit settling open items, and a delivery job each. A batch of a billing run
/// is written with a few statements whatever its size.
pub async fn issue_many(
    tx: &TenantTx,
    rules: &Rules,
    brand_name: &str,
    drafts: Vec<(&customer::Model, Draft)>,
    actor: &str,
) -> Result<Vec<invoice::Model>, BillingError> {
    if drafts.iter().any(|(_, d)| d.lines.is_empty()) {
        return Err(BillingError::Refused("no lines"));
    }
    let s = &rules.billing;
    let seller = serde_json::to_string(&seller_party(s, brand_name)).unwrap_or_default();
    // Numbers: one allocation per range, handed out in the drafts' order.
    let mut numbers: Vec<String> = Vec::with_capacity(drafts.len());
    let mut k = 0;
    while k < drafts.len() {
        let (kind, at) = (drafts[k].1.kind, drafts[k].1.issued_at);
        let pattern = if kind == "credit_note" {
            &s.credit_note_pattern
        } else {
            &s.invoice_pattern
        };
        let range = range_name(kind, pattern, at);
        let n = drafts[k..]
            .iter()
            .take_while(|(_, d)| range_name(d.kind, pattern, d.issued_at) == range)
            .count();
        numbers.extend(allocate_numbers(tx, kind, pattern, at, n).await?);
        k += n;
    }
    let mut invoices = Vec::with_capacity(drafts.len());
    let mut rows = Vec::new();
    let mut entries = Vec::with_capacity(drafts.len());
    let mut credits = Vec::new();
    let zero = crate::tax::zero_category(&rules.shop.zero_rate);
    for ((c, mut draft), number) in drafts.into_iter().zip(numbers) {
        let treatment = treatment_with(&rules.shop, c);
        // A 0 % line under VAT is what the seller says it is (Z, E or O); a
        // credit note keeps its invoice's categories and reason.
        if draft.kind == "invoice" {
            for l in &mut draft.lines {
                if l.vat_category == "Z" {
                    l.vat_category = zero.into();
                }
            }
        }
        let exempt = draft
            .lines
            .iter()
            .find(|l| ["E", "O"].contains(&l.vat_category.as_str()))
            .map(|l| l.vat_category.clone());
        let seller = match exempt {
            None => seller.clone(),
            Some(category) => {
                let earlier = draft
                    .refers_to
                    .as_ref()
                    .and_then(|r| serde_json::from_str::<Party>(&r.seller).ok())
                    .map(|p| p.exemption_reason)
                    .filter(|r| !r.is_empty());
                let mut p = seller_party(s, brand_name);
                p.exemption_reason = earlier
                    .or_else(|| {
                        crate::tax::exemption_reason(&category, &rules.shop.exemption_reason)
                    })
                    .unwrap_or_default();
                serde_json::to_string(&p).unwrap_or_default()
            }
        };
        // Payment terms and Skonto from the customer's settings (P6).
        let term_days = if c.payment_term_days > 0 {
            c.payment_term_days
        } else {
            rules.shop.payment_term_days
        };
        // The database keeps microseconds: the returned model says what it keeps.
        let at = draft.issued_at.trunc_subsecs(6);
        let t = money::totals(
            draft
                .lines
                .iter()
                .map(|l| (l.net_minor(), l.vat_category.as_str(), l.vat_rate_bp)),
        );
        let id = new_id();
        let is_invoice = draft.kind == "invoice";
        invoices.push(invoice::Model {
            id: id.clone(),
            kind: draft.kind.to_owned(),
            number: number.clone(),
            customer_id: c.id.clone(),
            status: if is_invoice { "open" } else { "paid" }.into(),
            issued_at: at,
            due_at: at + Duration::days(i64::from(term_days)),
            period_start: draft.lines.iter().filter_map(|l| l.period_start).min(),
            period_end: draft.lines.iter().filter_map(|l| l.period_end).max(),
            currency: draft.currency.clone(),
            net_minor: t.net_minor,
            vat_minor: t.vat_minor,
            gross_minor: t.gross_minor,
            settled_minor: if is_invoice { 0 } else { t.gross_minor },
            tax_treatment: treatment_name(treatment).into(),
            skonto_bp: if is_invoice { c.skonto_bp } else { 0 },
            skonto_until: (is_invoice && c.skonto_bp > 0)
                .then(|| at + Duration::days(i64::from(c.skonto_days))),
            refers_to_id: draft.refers_to.as_ref().map(|r| r.id.clone()),
            refers_to_number: draft.refers_to.as_ref().map(|r| r.number.clone()),
            billing_run_id: draft.billing_run_id.clone(),
            order_id: draft.order_id.clone(),
            einvoice: c.einvoice.clone(),
            delivery: c.invoice_delivery.clone(),
            delivered_at: None,
            buyer: serde_json::to_string(&Party {
                debit: is_invoice.then(|| debit_notice(s, c, at)).flatten(),
                ..buyer_party(c)
            })
            .unwrap_or_default(),
            seller,
            note: draft.note.clone(),
            pdf: None,
            xml: None,
            created_by: actor.to_owned(),
            fees_minor: 0,
            interest_minor: 0,
            dunning_level: 0,
            dunned_at: None,
            court_order_at: None,
        });
        rows.extend(
            draft
                .lines
                .into_iter()
                .enumerate()
                .map(|(i, l)| invoice_line::Model {
                    id: new_id(),
                    invoice_id: id.clone(),
                    position: i32::try_from(i + 1).unwrap_or(i32::MAX),
                    net_minor: l.net_minor(),
                    service_id: l.service_id,
                    order_item_id: l.order_item_id,
                    product_id: l.product_id,
                    description: l.description,
                    period_start: l.period_start,
                    period_end: l.period_end,
                    quantity_milli: l.quantity_milli,
                    unit: l.unit,
                    unit_net_minor: l.unit_net_minor,
                    vat_rate_bp: l.vat_rate_bp,
                    vat_category: l.vat_category,
                    generation: l.generation,
                }),
        );
        entries.push(ledger_entry::Model {
            id: new_id(),
            customer_id: c.id.clone(),
            kind: draft.kind.to_owned(),
            amount_minor: if is_invoice {
                -t.gross_minor
            } else {
                t.gross_minor
            },
            currency: draft.currency.clone(),
            document_id: Some(id.clone()),
            reference: Some(number),
            note: None,
            actor: actor.to_owned(),
            created_at: at,
        });
        if let Some(original) = draft.refers_to {
            credits.push((original, t.gross_minor));
        }
    }
    crate::bulk::insert::<invoice::Entity>(tx, &invoices, None).await?;
    crate::bulk::insert::<invoice_line::Entity>(tx, &rows, None).await?;
    let credit = post_many(tx, &entries).await?;
    let credited = !credits.is_empty();
    for (original, gross) in credits {
        settle_credited(tx, &original, gross).await?;
    }
    if credited {
        // A credit note settled its original above: what is open changed since
        // the postings, so the accounts' credit is read again.
        let mut customers: Vec<&str> = invoices.iter().map(|i| i.customer_id.as_str()).collect();
        customers.sort_unstable();
        customers.dedup();
        settle_credit(tx, &credit_of(tx, &customers).await?).await?;
    } else {
        settle_credit(tx, &credit).await?;
    }
    let keys: Vec<String> = invoices
        .iter()
        .map(|i| format!("deliver:{}", i.id))
        .collect();
    crate::jobs::enqueue_many(
        tx,
        invoices
            .iter()
            .zip(&keys)
            .map(|(i, key)| crate::jobs::NewJob {
                kind: document::DELIVER,
                reference: &i.number,
                key,
                payload: serde_json::json!({ "invoice_id": i.id }),
                run_after: None,
            }),
    )
    .await?;
    tx.touch(TOPIC);
    Ok(invoices)
}

/// A credit note of `gross` settles what is still open on its original first;
/// the original is cancelled once credited in full, or paid once settled.
async fn settle_credited(
    tx: &TenantTx,
    original: &invoice::Model,
    gross: i64,
) -> Result<(), DbErr> {
    let open = original.gross_minor - original.settled_minor;
    let take = std::cmp::min(open, gross);
    if take > 0 {
        invoice::Entity::update_many()
            .col_expr(
                invoice::Column::SettledMinor,
                Expr::col(invoice::Column::SettledMinor).add(take),
            )
            .filter(invoice::Column::Id.eq(&original.id))
            .exec(tx.conn())
            .await?;
    }
    let credited = credited_total(tx, &original.id).await?;
    let status = if credited >= original.gross_minor {
        "cancelled"
    } else if original.settled_minor + take >= original.gross_minor {
        "paid"
    } else {
        return Ok(());
    };
    invoice::Entity::update_many()
        .col_expr(invoice::Column::Status, Expr::val(status))
        .filter(invoice::Column::Id.eq(&original.id))
        .exec(tx.conn())
        .await?;
    Ok(())
}

/// Gross of every credit note on `invoice_id`.
pub async fn credited_total(tx: &TenantTx, invoice_id: &str) -> Result<i64, DbErr> {
    Ok(invoice::Entity::find()
        .filter(invoice::Column::RefersToId.eq(invoice_id))
        .filter(invoice::Column::Kind.eq("credit_note"))
        .all(tx.conn())
        .await?
        .iter()
        .map(|c| c.gross_minor)
        .sum())
}

pub async fn lines(tx: &TenantTx, invoice_id: &str) -> Result<Vec<invoice_line::Model>, DbErr> {
    invoice_line::Entity::find()
        .filter(invoice_line::Column::InvoiceId.eq(invoice_id))
        .order_by_asc(invoice_line::Column::Position)
        .all(tx.conn())
        .await
}

/// What becomes of a recurring service's period when its invoice line is
/// credited in full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CreditedPeriods {
    /// The next run bills the period again: the storno corrects the invoice,
    /// the service still ran (the default).
    #[default]
    BillAgain,
    /// The period is given away: billing goes on after it.
    GiveAway,
}

impl CreditedPeriods {
    /// `bill_again` (or empty) or `give_away`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "" | "bill_again" => Some(Self::BillAgain),
            "give_away" => Some(Self::GiveAway),
            _ => None,
        }
    }
}

/// A credit note (storno) for an invoice: all of it (`positions` empty) or the
/// given line positions, each credited in full or for `amounts` (net, minor) when
/// given. Credits beyond what is left on the invoice are refused. A recurring
/// service's period credited in full is billed again by the next run, or given
/// away, as `periods` says (only while it is the service's latest billed
/// period; a partial amount is a price correction and never re-bills).
pub async fn credit_note(
    tx: &TenantTx,
    brand_name: &str,
    invoice_id: &str,
    partial: &[(i32, Option<i64>)],
    reason: Option<String>,
    periods: CreditedPeriods,
    actor: &str,
) -> Result<invoice::Model, BillingError> {
    use crate::validation::FieldErrors;
    // A write first (see `lock_account`): the invoice's customer is not known
    // yet, so mark the invoice row itself (a no-op update).
    invoice::Entity::update_many()
        .col_expr(invoice::Column::Status, Expr::col(invoice::Column::Status))
        .filter(invoice::Column::Id.eq(invoice_id))
        .exec(tx.conn())
        .await?;
    let original = invoice::Entity::find_by_id(invoice_id.to_owned())
        .one(tx.conn())
        .await?
        .filter(|i| i.kind == "invoice")
        .ok_or(BillingError::NotFound)?;
    let c = customer::Entity::find_by_id(original.customer_id.clone())
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)?;
    let already = credited_total(tx, &original.id).await?;
    if already >= original.gross_minor {
        return Err(BillingError::Refused("already credited in full"));
    }
    let mut errors = FieldErrors::default();
    let mut drafts = Vec::new();
    // Services whose period is credited in full: (service, start, end).
    let mut whole_periods = Vec::new();
    for l in lines(tx, &original.id).await? {
        let wanted = if partial.is_empty() {
            Some(None)
        } else {
            partial
                .iter()
                .find(|(p, _)| *p == l.position)
                .map(|(_, a)| *a)
        };
        let Some(amount) = wanted else { continue };
        if (amount.is_none() || amount == Some(l.net_minor))
            && let (Some(sid), Some(start), Some(end)) =
                (&l.service_id, l.period_start, l.period_end)
        {
            whole_periods.push((sid.clone(), start, end));
        }
        let (quantity_milli, unit_net_minor) = match amount {
            None => (l.quantity_milli, l.unit_net_minor),
            Some(a) if a <= 0 || a > l.net_minor => {
                errors.add(&format!("lines.{}.amount", l.position), "err.credit_amount");
                continue;
            }
            Some(a) => (1000, a),
        };
        drafts.push(LineDraft {
            product_id: l.product_id.clone(),
            description: format!("{} ({})", l.description, original.number),
            period_start: l.period_start,
            period_end: l.period_end,
            quantity_milli,
            unit: l.unit.clone(),
            unit_net_minor,
            vat_rate_bp: l.vat_rate_bp,
            vat_category: l.vat_category.clone(),
            ..Default::default()
        });
    }
    if drafts.is_empty() && errors.is_empty() {
        errors.add("lines", "err.credit_lines");
    }
    errors.into_result()?;
    let t = money::totals(
        drafts
            .iter()
            .map(|l| (l.net_minor(), l.vat_category.as_str(), l.vat_rate_bp)),
    );
    if already + t.gross_minor > original.gross_minor {
        let mut e = FieldErrors::default();
        e.add("lines", "err.credit_exceeds");
        return Err(e.into());
    }
    let note = reason
        .map(|r| r.trim().chars().take(500).collect::<String>())
        .filter(|r| !r.is_empty());
    let cn = issue(
        tx,
        &c,
        brand_name,
        Draft {
            kind: "credit_note",
            currency: original.currency.clone(),
            lines: drafts,
            note,
            refers_to: Some(original),
            billing_run_id: None,
            order_id: None,
            issued_at: Utc::now(),
        },
        actor,
    )
    .await?;
    if periods == CreditedPeriods::BillAgain {
        use crate::provisioning::service;
        // Newest first: each step back sets up the one before it.
        whole_periods.sort_by_key(|p| std::cmp::Reverse(p.1));
        for (service_id, start, end) in whole_periods {
            // Back to the period's start, if nothing after it was billed since;
            // a new generation, so the period's line can be written again.
            service::Entity::update_many()
                .col_expr(service::Column::NextBillingAt, Expr::val(start))
                .col_expr(
                    service::Column::Generation,
                    Expr::col(service::Column::Generation).add(1),
                )
                .col_expr(service::Column::UpdatedAt, Expr::val(Utc::now()))
                .filter(service::Column::Id.eq(service_id))
                .filter(service::Column::NextBillingAt.eq(end))
                .filter(service::Column::Status.eq("active"))
                .exec(tx.conn())
                .await?;
        }
    }
    Ok(cn)
}

/// A customer whose cached balance disagrees with the sum of their entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub customer_id: String,
    pub cached_minor: i64,
    pub ledger_minor: i64,
}

/// Recomputes every balance from the ledger; returns the accounts that disagree.
pub async fn reconcile(tx: &TenantTx) -> Result<Vec<Mismatch>, DbErr> {
    use std::collections::HashMap;
    let mut sums: HashMap<String, i64> = HashMap::new();
    let entries: Vec<(String, i64)> = ledger_entry::Entity::find()
        .select_only()
        .column(ledger_entry::Column::CustomerId)
        .column(ledger_entry::Column::AmountMinor)
        .into_tuple()
        .all(tx.conn())
        .await?;
    for (c, a) in entries {
        *sums.entry(c).or_default() += a;
    }
    let mut out = Vec::new();
    for a in account::Entity::find().all(tx.conn()).await? {
        let ledger = sums.remove(&a.customer_id).unwrap_or(0);
        if ledger != a.balance_minor {
            out.push(Mismatch {
                customer_id: a.customer_id,
                cached_minor: a.balance_minor,
                ledger_minor: ledger,
            });
        }
    }
    for (customer_id, ledger) in sums {
        out.push(Mismatch {
            customer_id,
            cached_minor: 0,
            ledger_minor: ledger,
        });
    }
    Ok(out)
}

use sea_orm::QuerySelect;

/// The ledger of one customer, newest first.
pub async fn ledger(tx: &TenantTx, customer_id: &str) -> Result<Vec<ledger_entry::Model>, DbErr> {
    ledger_entry::Entity::find()
        .filter(ledger_entry::Column::CustomerId.eq(customer_id))
        .order_by_desc(ledger_entry::Column::Id)
        .all(tx.conn())
        .await
}

/// Documents of one customer, newest first.
pub async fn documents(tx: &TenantTx, customer_id: &str) -> Result<Vec<invoice::Model>, DbErr> {
    invoice::Entity::find()
        .filter(invoice::Column::CustomerId.eq(customer_id))
        .order_by_desc(invoice::Column::IssuedAt)
        .order_by_desc(invoice::Column::Number)
        .all(tx.conn())
        .await
}

/// One document of a customer (None when it belongs to someone else).
pub async fn document_of(
    tx: &TenantTx,
    customer_id: &str,
    id: &str,
) -> Result<Option<invoice::Model>, DbErr> {
    Ok(invoice::Entity::find_by_id(id.to_owned())
        .one(tx.conn())
        .await?
        .filter(|i| i.customer_id == customer_id))
}

/// A manual ledger posting by staff (deposit, fee, correction, write-off, refund):
/// the amount is signed in the customer's favour; settles open items after.
pub async fn manual_entry(
    tx: &TenantTx,
    customer_id: &str,
    kind: &str,
    amount: &str,
    note: &str,
    actor: &str,
) -> Result<ledger_entry::Model, BillingError> {
    use crate::validation::FieldErrors;
    let mut errors = FieldErrors::default();
    if ![
        "deposit",
        "payment",
        "fee",
        "refund",
        "write_off",
        "correction",
    ]
    .contains(&kind)
    {
        errors.add("kind", "err.choice");
    }
    let parsed = crate::customers::fields::parse_signed_amount(amount);
    match parsed {
        None | Some(0) => errors.add("amount", "err.amount"),
        Some(a) if a < 0 && ["deposit", "payment", "write_off"].contains(&kind) => {
            errors.add("amount", "err.amount_negative")
        }
        Some(a) if a > 0 && ["fee", "refund"].contains(&kind) => {
            errors.add("amount", "err.amount_must_be_negative")
        }
        _ => {}
    }
    let note = note.trim();
    if note.is_empty() {
        errors.add("note", "err.required");
    }
    errors.into_result()?;
    let c = customer::Entity::find_by_id(customer_id.to_owned())
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)?;
    let entry = post(
        tx,
        customer_id,
        kind,
        parsed.unwrap_or(0),
        &c.currency,
        None,
        Some(&note.chars().take(500).collect::<String>()),
        actor,
    )
    .await?;
    settle(tx, customer_id).await?;
    Ok(entry)
}

/// One line of an individual invoice as typed by staff (B7).
#[derive(Clone, Debug, Default)]
pub struct OneOffLine {
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    /// VAT rate in percent; ignored for reverse-charge and export customers.
    pub vat_rate: String,
}

/// Parses a quantity like `1`, `1.5` or `0,25` into thousandths (0 < q <= 1e6).
pub fn parse_quantity(input: &str) -> Option<i64> {
    let s = input.trim().replace(',', ".");
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    if whole.is_empty() || frac.len() > 3 || whole.len() > 7 {
        return None;
    }
    if !whole
        .bytes()
        .chain(frac.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let q = whole.parse::<i64>().ok()? * 1000 + format!("{frac:0<3}").parse::<i64>().ok()?;
    (q > 0 && q <= 1_000_000_000).then_some(q)
}

/// An individual invoice for work that is no service entry, e.g. support (B7).
pub async fn one_off(
    tx: &TenantTx,
    brand_name: &str,
    customer_id: &str,
    input: &[OneOffLine],
    note: &str,
    actor: &str,
) -> Result<invoice::Model, BillingError> {
    use crate::validation::FieldErrors;
    lock_account(tx, customer_id).await?;
    let c = customer::Entity::find_by_id(customer_id.to_owned())
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)?;
    let treatment = treatment_of(tx, &c).await?;
    let outside = crate::customers::settings(tx).await?.zero_rate == "outside";
    let mut errors = FieldErrors::default();
    let mut lines = Vec::new();
    let (mut zero_at, mut taxed) = (None, false);
    for (i, l) in input.iter().enumerate() {
        let blank = l.description.trim().is_empty()
            && l.quantity.trim().is_empty()
            && l.unit_price.trim().is_empty();
        if blank {
            continue;
        }
        let f = |name: &str| format!("lines.{i}.{name}");
        let description = l.description.trim();
        if description.is_empty() || description.chars().count() > 200 {
            errors.add(&f("description"), "err.required");
        }
        let quantity = parse_quantity(&l.quantity);
        if quantity.is_none() {
            errors.add(&f("quantity"), "err.quantity");
        }
        let price = crate::customers::fields::parse_amount(&l.unit_price);
        if price.is_none() {
            errors.add(
                &f("unit_price"),
                crate::customers::fields::amount_error(&l.unit_price),
            );
        }
        let rate = crate::terms::parse_percent(&l.vat_rate).filter(|r| *r <= 2700);
        if rate.is_none() {
            errors.add(&f("vat_rate"), "err.vat_rate");
        }
        let (category, rate_bp) = match treatment {
            Treatment::Vat { .. } => {
                let r = rate.unwrap_or(0);
                (if r > 0 { "S" } else { "Z" }, r)
            }
            other => money::category(other),
        };
        if category == "Z" {
            zero_at.get_or_insert(i);
        } else {
            taxed = true;
        }
        lines.push(LineDraft {
            description: description.to_owned(),
            quantity_milli: quantity.unwrap_or(0),
            unit: "C62".into(),
            unit_net_minor: price.unwrap_or(0),
            vat_rate_bp: rate_bp,
            vat_category: category.into(),
            ..Default::default()
        });
    }
    if lines.is_empty() && errors.is_empty() {
        errors.add("lines.0.description", "err.required");
    }
    // EN 16931 (BR-O-11): lines outside the scope of VAT go on an invoice of
    // their own.
    if let (true, Some(i), true) = (outside, zero_at, taxed) {
        errors.add(&format!("lines.{i}.vat_rate"), "err.outside_mixed");
    }
    errors.into_result()?;
    let note = note.trim();
    issue(
        tx,
        &c,
        brand_name,
        Draft {
            kind: "invoice",
            currency: c.currency.clone(),
            lines,
            note: (!note.is_empty()).then(|| note.chars().take(500).collect()),
            refers_to: None,
            billing_run_id: None,
            order_id: None,
            issued_at: Utc::now(),
        },
        actor,
    )
    .await
}

/// Validates and stores the reseller's legal data and billing rules. `input`
/// holds every field as typed (checkboxes: `on` or empty).
pub async fn save_settings(
    tx: &TenantTx,
    input: &std::collections::BTreeMap<String, String>,
    outbound: &crate::outbound::Policy,
) -> Result<billing_settings::Model, BillingError> {
    use crate::checks;
    use crate::validation::FieldErrors;
    let get = |k: &str| {
        input
            .get(k)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut e = FieldErrors::default();
    for (k, v) in input {
        if k != "footer" && v.chars().count() > 64 {
            e.add(k, "err.too_long");
        }
    }
    let country = get("country").to_uppercase();
    if !checks::is_country(&country) {
        e.add("country", "err.country");
    }
    let vat_id = get("vat_id");
    let vat_id = if vat_id.is_empty() {
        String::new()
    } else {
        checks::vat_id(&vat_id).unwrap_or_else(|| {
            e.add("vat_id", "err.vat_id");
            vat_id.clone()
        })
    };
    let iban = get("iban");
    let iban = if iban.is_empty() {
        String::new()
    } else {
        checks::iban(&iban).unwrap_or_else(|| {
            e.add("iban", "err.iban");
            iban.clone()
        })
    };
    let bic = get("bic");
    let bic = if bic.is_empty() {
        String::new()
    } else {
        checks::bic(&bic).unwrap_or_else(|| {
            e.add("bic", "err.bic");
            bic.clone()
        })
    };
    let email = get("email");
    if !email.is_empty() && crate::auth::Email::parse(&email).is_none() {
        e.add("email", "err.email");
    }
    if get("legal_name").is_empty() {
        e.add("legal_name", "err.required");
    }
    for k in ["invoice_pattern", "credit_note_pattern"] {
        if !valid_pattern(&get(k)) {
            e.add(k, "err.number_pattern");
        }
    }
    if get("invoice_pattern")
        .replace("{YYYY}", "")
        .replace("{YY}", "")
        .replace("{MM}", "")
        == get("credit_note_pattern")
            .replace("{YYYY}", "")
            .replace("{YY}", "")
            .replace("{MM}", "")
    {
        e.add("credit_note_pattern", "err.number_pattern_same");
    }
    let days: Option<Vec<i64>> = get("renewal_warning_days")
        .split(',')
        .filter(|d| !d.trim().is_empty())
        .map(|d| {
            d.trim()
                .parse::<i64>()
                .ok()
                .filter(|d| (1..=365).contains(d))
        })
        .collect();
    let days = match days {
        Some(mut d) if d.len() <= 6 => {
            d.sort_unstable_by(|a, b| b.cmp(a));
            d.dedup();
            d.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        }
        _ => {
            e.add("renewal_warning_days", "err.days_list");
            String::new()
        }
    };
    let url = get("print_mail_url");
    let scheme_ok = url.is_empty() || url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.contains(char::is_whitespace) {
        e.add("print_mail_url", "err.url");
    } else if !url.is_empty() && outbound.check_str(&url).is_err() {
        // Only a peer the outbound client may reach (`crate::outbound`).
        e.add("print_mail_url", "err.url_unreachable");
    }
    let digits = |k: &str, min: usize, max: usize, e: &mut FieldErrors| {
        let v = get(k);
        if v.len() < min || v.len() > max || !v.bytes().all(|b| b.is_ascii_digit()) {
            e.add(k, "err.digits");
        }
    };
    digits("datev_consultant", 4, 7, &mut e);
    digits("datev_client", 1, 5, &mut e);
    digits("revenue_account", 4, 8, &mut e);
    digits("receivables_account", 4, 8, &mut e);
    e.into_result()?;
    let on = |k: &str| !get(k).is_empty();
    let footer = get("footer");
    let m = billing_settings::ActiveModel {
        id: Set(1),
        legal_name: Set(get("legal_name")),
        street: Set(get("street")),
        postal_code: Set(get("postal_code")),
        city: Set(get("city")),
        country: Set(country),
        vat_id: Set(vat_id),
        tax_number: Set(get("tax_number")),
        register: Set(get("register")),
        director: Set(get("director")),
        email: Set(email),
        phone: Set(get("phone")),
        bank_name: Set(get("bank_name")),
        iban: Set(iban),
        bic: Set(bic),
        invoice_pattern: Set(get("invoice_pattern")),
        credit_note_pattern: Set(get("credit_note_pattern")),
        invoice_on_completion: Set(on("invoice_on_completion")),
        collective_monthly: Set(on("collective_monthly")),
        prorata_credit: Set(on("prorata_credit")),
        renewal_warning_days: Set(days),
        footer: Set((!footer.is_empty()).then(|| footer.chars().take(500).collect())),
        print_mail_url: Set((!url.is_empty()).then_some(url)),
        datev_consultant: Set(get("datev_consultant")),
        datev_client: Set(get("datev_client")),
        revenue_account: Set(get("revenue_account")),
        receivables_account: Set(get("receivables_account")),
        // The direct-debit settings have their own form (`payments::save_settings`).
        ..Default::default()
    }
    .update(tx.conn())
    .await?;
    Ok(m)
}
