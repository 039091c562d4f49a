pub mod customer {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "customers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub number: String,
        pub kind: String,
        pub first_name: String,
        pub last_name: String,
        pub company: Option<String>,
        pub street: String,
        pub postal_code: String,
        pub city: String,
        pub country: String,
        pub phone: Option<String>,
        pub email: String,
        pub email_verified_at: Option<DateTimeUtc>,
        pub password_hash: Option<String>,
        pub vat_id: Option<String>,
        pub language: String,
        pub currency: String,
        pub price_class_id: Option<String>,
        pub billing_type: String,
        pub debit_status: String,
        pub iban: Option<String>,
        pub bic: Option<String>,
        pub account_holder: Option<String>,
        pub mandate_reference: Option<String>,
        pub mandate_signed_on: Option<Date>,
        pub credit_limit_minor: Option<i64>,
        pub billing_interval: String,
        pub payment_method: String,
        pub dunning_type: String,
        pub invoice_delivery: String,
        pub newsletter: String,
        pub excluded_from_invoicing: bool,
        pub locked_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// Discount on every sale, in basis points (P6).
        pub discount_bp: i32,
        /// Cash discount (Skonto) in basis points when paid within `skonto_days`.
        pub skonto_bp: i32,
        pub skonto_days: i32,
        /// Days until an invoice is due; 0 = the reseller's default.
        pub payment_term_days: i32,
        /// E-invoice with every invoice: none | zugferd | xrechnung.
        pub einvoice: String,
        /// XRechnung buyer reference (Leitweg-ID) of public buyers.
        pub buyer_reference: Option<String>,
        /// Services suspended by the last dunning level (D1) since then; cleared on payment.
        pub suspended_at: Option<DateTimeUtc>,
        /// The credit bureau's last score (0-1000) and when it was asked (Y5).
        pub credit_score: Option<i32>,
        pub scored_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod settings {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "settings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub customer_number_prefix: String,
        pub next_customer_number: i64,
        pub currency: String,
        pub default_credit_limit_minor: i64,
        pub require_staff_totp: bool,
        pub mail_from_name: Option<String>,
        pub mail_from_address: Option<String>,
        pub tax_country: String,
        pub vat_rate_bp: i32,
        /// What a 0 % line is: `zero` (zero-rated, Z), `exempt` (E, with the
        /// reason) or `outside` (outside the scope of VAT, O).
        pub zero_rate: String,
        /// Printed on and sent with invoices holding exempt or outside lines.
        pub exemption_reason: String,
        pub show_gross: bool,
        pub payment_term_days: i32,
        pub next_order_number: i64,
        pub next_case_number: i64,
        /// `auto` | `manual`: how an order that passes the checks is accepted (O14).
        pub order_activation: String,
        /// Origins allowed to embed the signup widget, comma separated.
        pub widget_origins: String,
        /// SMS gateway for activation codes (`https://...`, JSON POST); none = off.
        pub sms_url: Option<String>,
        /// JSON list of DNS records for new zones (none = default template).
        pub dns_template: Option<String>,
        /// Analytics on framed forwarding and parking pages (V6).
        pub matomo_url: Option<String>,
        pub matomo_site_id: Option<String>,
        pub ga_id: Option<String>,
        /// Credit bureau for scores at checkout (JSON POST); none = off.
        pub bureau_url: Option<String>,
        /// Orders from this gross amount on are scored (0 = every new customer only).
        pub bureau_threshold_minor: i64,
        /// Credit limit by score, "score:limit" bands ("0:0, 400:100.00"); empty = off (Y5).
        pub score_limits: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod product_discount {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "product_discounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub customer_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub product_id: String,
        pub discount_bp: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
