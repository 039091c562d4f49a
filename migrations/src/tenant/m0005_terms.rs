use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Settings {
    Table,
    TaxCountry,
    VatRateBp,
    ShowGross,
    PaymentTermDays,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    DiscountBp,
    SkontoBp,
    SkontoDays,
    PaymentTermDays,
}

#[derive(DeriveIden)]
enum ProductDiscounts {
    Table,
    CustomerId,
    ProductId,
    DiscountBp,
}

fn int(name: impl IntoIden, default: i32) -> ColumnDef {
    ColumnDef::new(name)
        .integer()
        .not_null()
        .default(default)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // VAT (P7) and the default payment term: the seller's country and standard
        // rate, and whether the storefront shows gross (consumers) or net prices.
        for col in [
            ColumnDef::new(Settings::TaxCountry)
                .string_len(2)
                .not_null()
                .default("DE")
                .to_owned(),
            int(Settings::VatRateBp, 1900),
            ColumnDef::new(Settings::ShowGross)
                .boolean()
                .not_null()
                .default(true)
                .to_owned(),
            int(Settings::PaymentTermDays, 14),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Settings::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        // Discount, cash discount (Skonto) and payment term per customer (P6);
        // a payment term of 0 means "the reseller's default".
        for col in [
            int(Customers::DiscountBp, 0),
            int(Customers::SkontoBp, 0),
            int(Customers::SkontoDays, 0),
            int(Customers::PaymentTermDays, 0),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Customers::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        // Discount per customer and product (a service type), on top of the
        // customer's own discount; billing takes the larger of the two.
        manager
            .create_table(
                Table::create()
                    .table(ProductDiscounts::Table)
                    .col(
                        ColumnDef::new(ProductDiscounts::CustomerId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ProductDiscounts::ProductId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(int(ProductDiscounts::DiscountBp, 0))
                    .primary_key(
                        Index::create()
                            .col(ProductDiscounts::CustomerId)
                            .col(ProductDiscounts::ProductId),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProductDiscounts::Table).to_owned())
            .await
    }
}
