//! Payment tables of a tenant schema (migration m0011).

use crate::orders::entity::entity;

entity!(payment, "payments", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    customer_id: String,
    /// transfer | sepa_debit | card | paypal | cash | other
    method: String,
    /// Booked, in the account's currency.
    amount_minor: i64,
    currency: String,
    /// As paid, before conversion at `rate`.
    original_minor: i64,
    original_currency: String,
    rate: String,
    reference: Option<String>,
    /// Bank entry, Stripe event or debit item: booked once.
    external_id: Option<String>,
    /// The item the payment was meant for (matched or chosen).
    invoice_id: Option<String>,
    /// Cash discount taken with this payment.
    skonto_minor: i64,
    /// Paid back (Stripe refunds).
    refunded_minor: i64,
    booked_at: DateTimeUtc,
    note: Option<String>,
    actor: String,
    created_at: DateTimeUtc,
});

entity!(bank_import, "bank_imports", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    file_name: String,
    statement_id: String,
    lines: i32,
    booked: i32,
    review: i32,
    errors: i32,
    actor: String,
    created_at: DateTimeUtc,
});

entity!(bank_line, "bank_lines", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    import_id: String,
    position: i32,
    entry_ref: String,
    booked_on: Option<String>,
    amount_minor: i64,
    currency: String,
    /// credit (money in) | debit (money out: return debits)
    direction: String,
    reference: String,
    counterparty: String,
    iban: String,
    return_reason: Option<String>,
    /// booked | review | error | ignored | returned
    status: String,
    customer_id: Option<String>,
    invoice_id: Option<String>,
    payment_id: Option<String>,
    error: Option<String>,
});

entity!(debit_run, "debit_runs", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    status: String,
    collect_on: DateTimeUtc,
    /// 08 | 02
    version: String,
    message_id: String,
    items: i32,
    total_minor: i64,
    currency: String,
    #[serde(skip)]
    xml: String,
    actor: String,
    created_at: DateTimeUtc,
});

entity!(debit_item, "debit_items", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    run_id: String,
    invoice_id: String,
    customer_id: String,
    amount_minor: i64,
    mandate_reference: String,
    mandate_signed_on: String,
    /// FRST | RCUR
    sequence: String,
    end_to_end_id: String,
    /// collected | returned
    status: String,
    payment_id: Option<String>,
    return_reason: Option<String>,
    returned_at: Option<DateTimeUtc>,
});

entity!(dunning_level, "dunning_levels", {
    #[sea_orm(primary_key, auto_increment = false)]
    level: i32,
    label: String,
    /// Days after the due date.
    days: i32,
    fee_minor: i64,
    /// Default interest is charged from this level on.
    interest: bool,
    /// The customer's services are suspended at this level.
    suspend: bool,
});

entity!(base_rate, "base_rates", {
    #[sea_orm(primary_key, auto_increment = false)]
    valid_from: String,
    rate_bp: i32,
});

entity!(dunning_run, "dunning_runs", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    letters: i32,
    items: i32,
    fees_minor: i64,
    interest_minor: i64,
    actor: String,
    created_at: DateTimeUtc,
});

entity!(dunning_letter, "dunning_letters", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    run_id: String,
    customer_id: String,
    level: i32,
    day: String,
    /// JSON list of the items: id, number, due, open_minor, level.
    items: String,
    fee_minor: i64,
    interest_minor: i64,
    total_minor: i64,
    currency: String,
    /// Text staff added to the letter (D3).
    text: Option<String>,
    /// Rendered when delivered (attached to the mail).
    #[serde(skip)]
    pdf: Option<Vec<u8>>,
    delivered_at: Option<DateTimeUtc>,
    created_at: DateTimeUtc,
});

entity!(stripe_event, "stripe_events", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    kind: String,
    created_at: DateTimeUtc,
});
