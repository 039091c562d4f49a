//! Tables of orders, carts, customer accounts and the clearing center.

macro_rules! entity {
    ($name:ident, $table:literal, { $($(#[$attr:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        pub mod $name {
            use sea_orm::entity::prelude::*;

            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
            #[sea_orm(table_name = $table)]
            pub struct Model {
                $($(#[$attr])* pub $field: $ty,)*
            }

            #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
            pub enum Relation {}

            impl ActiveModelBehavior for ActiveModel {}
        }
    };
}
pub(crate) use entity;

entity!(account, "accounts", {
    #[sea_orm(primary_key, auto_increment = false)]
    customer_id: String,
    currency: String,
    balance_minor: i64,
    reserved_minor: i64,
    updated_at: DateTimeUtc,
});

entity!(order, "orders", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    number: Option<String>,
    customer_id: String,
    cart_id: String,
    status: String,
    currency: String,
    net_minor: i64,
    vat_minor: i64,
    gross_minor: i64,
    reserved_minor: i64,
    coupon_code: Option<String>,
    discount_minor: i64,
    risk_score: i32,
    risk_reasons: Option<String>,
    ip: Option<String>,
    activation_code_hash: Option<String>,
    activation_expires_at: Option<DateTimeUtc>,
    wholesale_minor: i64,
    wholesale_reserved_minor: i64,
    created_at: DateTimeUtc,
    updated_at: DateTimeUtc,
});

entity!(order_item, "order_items", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    order_id: String,
    position: i32,
    product_id: String,
    domain: Option<String>,
    action: String,
    period_months: i32,
    net_minor: i64,
    vat_minor: i64,
    gross_minor: i64,
    smd: Option<String>,
    contact_id: Option<String>,
    /// pending | done | failed (provisioning)
    status: String,
    error: Option<String>,
    /// Transfer AuthCode, kept for the provisioning job only.
    auth_code: Option<String>,
});

entity!(order_event, "order_events", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    order_id: String,
    status: String,
    actor: String,
    note: Option<String>,
    at: DateTimeUtc,
});

entity!(clearing_case, "clearing_cases", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    number: String,
    order_id: String,
    reason: String,
    status: String,
    note: Option<String>,
    created_at: DateTimeUtc,
    decided_at: Option<DateTimeUtc>,
    decided_by: Option<String>,
});

entity!(cart, "carts", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    customer_id: Option<String>,
    coupon_code: Option<String>,
    created_at: DateTimeUtc,
    updated_at: DateTimeUtc,
});

entity!(cart_item, "cart_items", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    cart_id: String,
    product_id: String,
    domain: Option<String>,
    action: String,
    period_months: i32,
    auth_code: Option<String>,
    trustee: bool,
    smd: Option<String>,
    contact_id: Option<String>,
    created_at: DateTimeUtc,
});

/// Platform-level tables in the `shared` schema.
macro_rules! shared_entity {
    ($name:ident, $table:literal, { $($(#[$attr:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        pub mod $name {
            use sea_orm::entity::prelude::*;

            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
            #[sea_orm(schema_name = "shared", table_name = $table)]
            pub struct Model {
                $($(#[$attr])* pub $field: $ty,)*
            }

            #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
            pub enum Relation {}

            impl ActiveModelBehavior for ActiveModel {}
        }
    };
}

shared_entity!(reseller_account, "reseller_accounts", {
    #[sea_orm(primary_key, auto_increment = false)]
    tenant_id: String,
    currency: String,
    balance_minor: i64,
    reserved_minor: i64,
    credit_limit_minor: i64,
    updated_at: DateTimeUtc,
    /// Set by the operator's last dunning level: the storefront takes no orders.
    ordering_suspended_at: Option<DateTimeUtc>,
});

shared_entity!(operator_case, "operator_cases", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    tenant_id: String,
    order_id: String,
    case_id: String,
    case_number: String,
    amount_minor: i64,
    currency: String,
    status: String,
    note: Option<String>,
    created_at: DateTimeUtc,
    decided_at: Option<DateTimeUtc>,
    decided_by: Option<String>,
});
