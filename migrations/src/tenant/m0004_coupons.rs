use crate::{id_pk, text, ts, ts_null};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Coupons {
    Table,
    Id,
    Code,
    Kind,
    Value,
    Currency,
    ValidFrom,
    ValidUntil,
    MaxTotal,
    MaxPerCustomer,
    Products,
    Actions,
    FirstOrderOnly,
    UsedCount,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CouponRedemptions {
    Table,
    Id,
    CouponId,
    CustomerId,
    Reference,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Coupons (P5). `used_count` is advanced with a conditional UPDATE so the
        // total limit holds under concurrent orders.
        manager
            .create_table(
                Table::create()
                    .table(Coupons::Table)
                    .col(id_pk(Coupons::Id))
                    .col(
                        ColumnDef::new(Coupons::Code)
                            .string_len(32)
                            .not_null()
                            .unique_key(),
                    )
                    // "percent" (value in basis points) or "absolute" (value in minor units).
                    .col(ColumnDef::new(Coupons::Kind).string_len(10).not_null())
                    .col(ColumnDef::new(Coupons::Value).big_integer().not_null())
                    .col(ColumnDef::new(Coupons::Currency).string_len(3).null())
                    .col(ts(Coupons::ValidFrom))
                    .col(ts_null(Coupons::ValidUntil))
                    .col(ColumnDef::new(Coupons::MaxTotal).integer().null())
                    .col(ColumnDef::new(Coupons::MaxPerCustomer).integer().null())
                    // Comma-separated product ids / actions; empty = all.
                    .col(text(Coupons::Products))
                    .col(text(Coupons::Actions))
                    .col(ColumnDef::new(Coupons::FirstOrderOnly).boolean().not_null())
                    .col(
                        ColumnDef::new(Coupons::UsedCount)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ts(Coupons::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CouponRedemptions::Table)
                    .col(id_pk(CouponRedemptions::Id))
                    .col(
                        ColumnDef::new(CouponRedemptions::CouponId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CouponRedemptions::CustomerId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(text(CouponRedemptions::Reference))
                    .col(ts(CouponRedemptions::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("coupon_redemptions_coupon_customer_idx")
                    .table(CouponRedemptions::Table)
                    .col(CouponRedemptions::CouponId)
                    .col(CouponRedemptions::CustomerId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
