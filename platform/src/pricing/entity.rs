macro_rules! entity {
    ($name:ident, $table:literal, { $($(#[$attr:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        pub mod $name {
            use sea_orm::entity::prelude::*;

            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
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

entity!(enabled_product, "enabled_products", {
    #[sea_orm(primary_key, auto_increment = false)]
    product_id: String,
    enabled_at: DateTimeUtc,
});

entity!(price_class, "price_classes", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: String,
    name: String,
    currency: String,
    is_default: bool,
    created_at: DateTimeUtc,
});

entity!(class_price, "class_prices", {
    #[sea_orm(primary_key, auto_increment = false)]
    class_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    product_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    action: String,
    #[sea_orm(primary_key, auto_increment = false)]
    period_months: i32,
    amount_minor: i64,
});

entity!(customer_price, "customer_prices", {
    #[sea_orm(primary_key, auto_increment = false)]
    customer_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    product_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    action: String,
    #[sea_orm(primary_key, auto_increment = false)]
    period_months: i32,
    currency: String,
    amount_minor: i64,
});
