//! Billing tables of a tenant schema (migration m0010).

use crate::orders::entity::entity;

entity!(ledger_entry, "ledger_entries", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    customer_id: String,
    /// invoice | credit_note | payment | deposit | fee | refund | write_off | correction
    kind: String,
    /// Signed, in the customer's favour: an invoice is negative, a payment positive.
    amount_minor: i64,
    currency: String,
    document_id: Option<String>,
    reference: Option<String>,
    note: Option<String>,
    actor: String,
    created_at: DateTimeUtc,
});

entity!(invoice, "invoices", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    /// invoice | credit_note
    kind: String,
    number: String,
    customer_id: String,
    /// open | paid | cancelled
    status: String,
    issued_at: DateTimeUtc,
    due_at: DateTimeUtc,
    period_start: Option<DateTimeUtc>,
    period_end: Option<DateTimeUtc>,
    currency: String,
    net_minor: i64,
    vat_minor: i64,
    gross_minor: i64,
    /// Paid, credited or settled from the balance.
    settled_minor: i64,
    /// vat | reverse_charge | export
    tax_treatment: String,
    skonto_bp: i32,
    skonto_until: Option<DateTimeUtc>,
    refers_to_id: Option<String>,
    refers_to_number: Option<String>,
    billing_run_id: Option<String>,
    order_id: Option<String>,
    /// none | zugferd | xrechnung
    einvoice: String,
    /// email | postal
    delivery: String,
    delivered_at: Option<DateTimeUtc>,
    /// JSON snapshot of the buyer at issue.
    buyer: String,
    /// JSON snapshot of the seller's legal data at issue.
    seller: String,
    note: Option<String>,
    #[serde(skip)]
    pdf: Option<Vec<u8>>,
    #[serde(skip)]
    xml: Option<String>,
    created_by: String,
    /// Open-item charges added after issue: return-debit and dunning fees.
    fees_minor: i64,
    /// Default interest charged by dunning (D2).
    interest_minor: i64,
    /// 0 none, 1 reminder, 2 first notice, ... (D1).
    dunning_level: i32,
    dunned_at: Option<DateTimeUtc>,
    /// A court dunning order was requested (D4).
    court_order_at: Option<DateTimeUtc>,
});

entity!(invoice_line, "invoice_lines", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    invoice_id: String,
    position: i32,
    service_id: Option<String>,
    order_item_id: Option<String>,
    product_id: Option<String>,
    description: String,
    period_start: Option<DateTimeUtc>,
    period_end: Option<DateTimeUtc>,
    quantity_milli: i64,
    unit: String,
    unit_net_minor: i64,
    net_minor: i64,
    vat_rate_bp: i32,
    vat_category: String,
    /// The service's generation when the period was billed (see m0018).
    generation: i32,
});

entity!(number_range, "number_ranges", {
    #[sea_orm(primary_key, auto_increment = false)]
    name: String,
    next: i64,
});

entity!(billing_run, "billing_runs", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    /// queued | running | done | failed
    status: String,
    due_by: DateTimeUtc,
    customers_total: i32,
    customers_done: i32,
    invoices_count: i32,
    net_minor: i64,
    gross_minor: i64,
    error: Option<String>,
    actor: String,
    created_at: DateTimeUtc,
    started_at: Option<DateTimeUtc>,
    finished_at: Option<DateTimeUtc>,
});

entity!(billing_settings, "billing_settings", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: i32,
    legal_name: String,
    street: String,
    postal_code: String,
    city: String,
    country: String,
    vat_id: String,
    tax_number: String,
    register: String,
    director: String,
    email: String,
    phone: String,
    bank_name: String,
    iban: String,
    bic: String,
    invoice_pattern: String,
    credit_note_pattern: String,
    invoice_on_completion: bool,
    collective_monthly: bool,
    prorata_credit: bool,
    renewal_warning_days: String,
    footer: Option<String>,
    print_mail_url: Option<String>,
    datev_consultant: String,
    datev_client: String,
    revenue_account: String,
    receivables_account: String,
    /// SEPA creditor identifier (Gläubiger-ID) for direct debits.
    creditor_id: String,
    /// A debit run collects invoices this many days after their date (Y7).
    debit_delay_days: i32,
    /// Collection date: this many days after the run.
    debit_lead_days: i32,
    /// Charged on a return debit (D2).
    return_fee_minor: i64,
    /// pain.008 version: 08 (current) or 02 (older banks).
    sepa_version: String,
    /// The daily schedule runs a debit run.
    auto_debit: bool,
    /// The daily schedule runs dunning.
    auto_dunning: bool,
    /// The reseller's own Stripe account (Y2): publishable key in clear, secret
    /// and webhook signing keys sealed (`secrets::Sealer`).
    stripe_publishable: String,
    #[serde(skip)]
    stripe_secret: Option<String>,
    #[serde(skip)]
    stripe_webhook_secret: Option<String>,
});
