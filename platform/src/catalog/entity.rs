pub mod tld {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(schema_name = "shared", table_name = "tlds")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub groups: String,
        pub idn: bool,
        pub min_length: i32,
        pub max_length: i32,
        pub periods: String,
        pub transfer_auth_code: bool,
        pub restore_grace_days: i32,
        pub residency: Option<String>,
        pub created_at: DateTimeUtc,
        /// `upcoming` | `sunrise` | `ga` (O4).
        pub phase: String,
        /// General availability, for upcoming and sunrise TLDs.
        pub ga_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod product {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(schema_name = "shared", table_name = "products")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub kind: String,
        pub name: String,
        pub tld: Option<String>,
        pub active: bool,
        pub created_at: DateTimeUtc,
        /// Days before the end of a billing period a cancellation must arrive (C8).
        pub notice_days: i32,
        /// Minimum contract term from the start of a service, in months.
        pub min_term_months: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod wholesale_price {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(schema_name = "shared", table_name = "wholesale_prices")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub product_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub action: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub period_months: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub currency: String,
        pub amount_minor: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
