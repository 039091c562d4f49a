use crate::{id_pk, text, text_null, ts, ts_null};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    CustomerId,
    Currency,
    BalanceMinor,
    ReservedMinor,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    Number,
    CustomerId,
    CartId,
    Status,
    Currency,
    NetMinor,
    VatMinor,
    GrossMinor,
    ReservedMinor,
    CouponCode,
    DiscountMinor,
    RiskScore,
    RiskReasons,
    Ip,
    ActivationCodeHash,
    ActivationExpiresAt,
    WholesaleMinor,
    WholesaleReservedMinor,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrderItems {
    Table,
    Id,
    OrderId,
    Position,
    ProductId,
    Domain,
    Action,
    PeriodMonths,
    NetMinor,
    VatMinor,
    GrossMinor,
    Smd,
    ContactId,
}

#[derive(DeriveIden)]
enum OrderEvents {
    Table,
    Id,
    OrderId,
    Status,
    Actor,
    Note,
    At,
}

#[derive(DeriveIden)]
enum ClearingCases {
    Table,
    Id,
    Number,
    OrderId,
    Reason,
    Status,
    Note,
    CreatedAt,
    DecidedAt,
    DecidedBy,
}

#[derive(DeriveIden)]
enum Settings {
    Table,
    NextOrderNumber,
    NextCaseNumber,
    OrderActivation,
    WidgetOrigins,
    SmsUrl,
    BureauUrl,
    BureauThresholdMinor,
}

#[derive(DeriveIden)]
enum Carts {
    Table,
    Id,
    CustomerId,
    CouponCode,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CartItems {
    Table,
    Id,
    CartId,
    ProductId,
    Domain,
    Action,
    PeriodMonths,
    AuthCode,
    Trustee,
    Smd,
    ContactId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
    CustomerId,
    FirstName,
    LastName,
    Organization,
    Street,
    PostalCode,
    City,
    Country,
    Email,
    Phone,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    Kind,
    Reference,
    IdempotencyKey,
    Payload,
    Status,
    Attempts,
    RunAfter,
    LastError,
    CreatedAt,
    UpdatedAt,
}

fn money(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name)
        .big_integer()
        .not_null()
        .default(0)
        .to_owned()
}

fn short(name: impl IntoIden, len: u32) -> ColumnDef {
    ColumnDef::new(name).string_len(len).not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One account per customer: the balance (kept by the ledger) and the sum
        // reserved by accepted orders not yet invoiced. The credit check is one
        // conditional UPDATE of this row (O13).
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(
                        ColumnDef::new(Accounts::CustomerId)
                            .string_len(40)
                            .not_null()
                            .primary_key(),
                    )
                    .col(short(Accounts::Currency, 3))
                    .col(money(Accounts::BalanceMinor))
                    .col(money(Accounts::ReservedMinor))
                    .col(ts(Accounts::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .col(id_pk(Orders::Id))
                    // Assigned on acceptance, gapless.
                    .col(
                        ColumnDef::new(Orders::Number)
                            .string_len(32)
                            .null()
                            .unique_key(),
                    )
                    .col(short(Orders::CustomerId, 40))
                    .col(short(Orders::CartId, 40))
                    // received | review | accepted | rejected
                    .col(short(Orders::Status, 16))
                    .col(short(Orders::Currency, 3))
                    .col(money(Orders::NetMinor))
                    .col(money(Orders::VatMinor))
                    .col(money(Orders::GrossMinor))
                    .col(money(Orders::ReservedMinor))
                    .col(ColumnDef::new(Orders::CouponCode).string_len(32).null())
                    .col(money(Orders::DiscountMinor))
                    .col(
                        ColumnDef::new(Orders::RiskScore)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(text_null(Orders::RiskReasons))
                    .col(ColumnDef::new(Orders::Ip).string_len(45).null())
                    // SMS activation (O14): the code's hash and its end.
                    .col(
                        ColumnDef::new(Orders::ActivationCodeHash)
                            .string_len(64)
                            .null(),
                    )
                    .col(ts_null(Orders::ActivationExpiresAt))
                    // The reseller's cost, reserved on its platform account (T5).
                    .col(money(Orders::WholesaleMinor))
                    .col(money(Orders::WholesaleReservedMinor))
                    .col(ts(Orders::CreatedAt))
                    .col(ts(Orders::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("orders_customer")
                    .table(Orders::Table)
                    .col(Orders::CustomerId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrderItems::Table)
                    .col(id_pk(OrderItems::Id))
                    .col(short(OrderItems::OrderId, 40))
                    .col(ColumnDef::new(OrderItems::Position).integer().not_null())
                    .col(short(OrderItems::ProductId, 64))
                    .col(ColumnDef::new(OrderItems::Domain).string_len(253).null())
                    .col(short(OrderItems::Action, 16))
                    .col(
                        ColumnDef::new(OrderItems::PeriodMonths)
                            .integer()
                            .not_null(),
                    )
                    .col(money(OrderItems::NetMinor))
                    .col(money(OrderItems::VatMinor))
                    .col(money(OrderItems::GrossMinor))
                    .col(text_null(OrderItems::Smd))
                    .col(ColumnDef::new(OrderItems::ContactId).string_len(40).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("order_items_order")
                    .table(OrderItems::Table)
                    .col(OrderItems::OrderId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrderEvents::Table)
                    .col(id_pk(OrderEvents::Id))
                    .col(short(OrderEvents::OrderId, 40))
                    .col(short(OrderEvents::Status, 16))
                    .col(short(OrderEvents::Actor, 254))
                    .col(text_null(OrderEvents::Note))
                    .col(ts(OrderEvents::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("order_events_order")
                    .table(OrderEvents::Table)
                    .col(OrderEvents::OrderId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ClearingCases::Table)
                    .col(id_pk(ClearingCases::Id))
                    // The case number (Vorgangsnummer) the customer sees, gapless.
                    .col(
                        ColumnDef::new(ClearingCases::Number)
                            .string_len(32)
                            .not_null()
                            .unique_key(),
                    )
                    .col(short(ClearingCases::OrderId, 40))
                    // credit_limit | risk | manual
                    .col(short(ClearingCases::Reason, 16))
                    // open | waiting | approved | rejected
                    .col(short(ClearingCases::Status, 16))
                    .col(text_null(ClearingCases::Note))
                    .col(ts(ClearingCases::CreatedAt))
                    .col(ts_null(ClearingCases::DecidedAt))
                    .col(
                        ColumnDef::new(ClearingCases::DecidedBy)
                            .string_len(254)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // A cart lives until its order is placed; its id is shown to the customer
        // and searchable by staff.
        manager
            .create_table(
                Table::create()
                    .table(Carts::Table)
                    .col(id_pk(Carts::Id))
                    .col(ColumnDef::new(Carts::CustomerId).string_len(40).null())
                    .col(ColumnDef::new(Carts::CouponCode).string_len(32).null())
                    .col(ts(Carts::CreatedAt))
                    .col(ts(Carts::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CartItems::Table)
                    .col(id_pk(CartItems::Id))
                    .col(short(CartItems::CartId, 40))
                    .col(short(CartItems::ProductId, 64))
                    .col(ColumnDef::new(CartItems::Domain).string_len(253).null())
                    .col(short(CartItems::Action, 16))
                    .col(ColumnDef::new(CartItems::PeriodMonths).integer().not_null())
                    .col(ColumnDef::new(CartItems::AuthCode).string_len(64).null())
                    // The reseller's trustee service as admin contact (.de).
                    .col(
                        ColumnDef::new(CartItems::Trustee)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    // The SMD file of a sunrise registration.
                    .col(text_null(CartItems::Smd))
                    // The domain's holder when not the customer.
                    .col(ColumnDef::new(CartItems::ContactId).string_len(40).null())
                    .col(ts(CartItems::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("cart_items_cart")
                    .table(CartItems::Table)
                    .col(CartItems::CartId)
                    .to_owned(),
            )
            .await?;
        // Domain holders a customer keeps besides themselves.
        manager
            .create_table(
                Table::create()
                    .table(Contacts::Table)
                    .col(id_pk(Contacts::Id))
                    .col(short(Contacts::CustomerId, 40))
                    .col(short(Contacts::FirstName, 100))
                    .col(short(Contacts::LastName, 100))
                    .col(
                        ColumnDef::new(Contacts::Organization)
                            .string_len(100)
                            .null(),
                    )
                    .col(short(Contacts::Street, 100))
                    .col(short(Contacts::PostalCode, 20))
                    .col(short(Contacts::City, 100))
                    .col(short(Contacts::Country, 2))
                    .col(short(Contacts::Email, 254))
                    .col(ColumnDef::new(Contacts::Phone).string_len(30).null())
                    .col(ts(Contacts::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("contacts_customer")
                    .table(Contacts::Table)
                    .col(Contacts::CustomerId)
                    .to_owned(),
            )
            .await?;
        // The durable job queue: written in the business transaction, run by workers.
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .col(id_pk(Jobs::Id))
                    .col(short(Jobs::Kind, 32))
                    // What the job is about (an order number, a domain).
                    .col(short(Jobs::Reference, 253))
                    .col(
                        ColumnDef::new(Jobs::IdempotencyKey)
                            .string_len(128)
                            .not_null()
                            .unique_key(),
                    )
                    .col(text(Jobs::Payload))
                    // queued | running | done | dead | cancelled
                    .col(short(Jobs::Status, 16))
                    .col(
                        ColumnDef::new(Jobs::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ts(Jobs::RunAfter))
                    .col(text_null(Jobs::LastError))
                    .col(ts(Jobs::CreatedAt))
                    .col(ts(Jobs::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("jobs_due")
                    .table(Jobs::Table)
                    .col(Jobs::Status)
                    .col(Jobs::RunAfter)
                    .to_owned(),
            )
            .await?;
        // auto | sms | manual (O14)
        manager
            .alter_table(
                Table::alter()
                    .table(Settings::Table)
                    .add_column(
                        ColumnDef::new(Settings::OrderActivation)
                            .string_len(16)
                            .not_null()
                            .default("auto")
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        // Origins allowed to embed the signup widget, comma separated (W1).
        manager
            .alter_table(
                Table::alter()
                    .table(Settings::Table)
                    .add_column(
                        ColumnDef::new(Settings::WidgetOrigins)
                            .text()
                            .not_null()
                            .default("")
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        // Optional per-reseller hooks: SMS gateway (activation codes) and credit
        // bureau (scores at checkout above a threshold).
        for col in [Settings::SmsUrl, Settings::BureauUrl] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Settings::Table)
                        .add_column(ColumnDef::new(col).text().null().to_owned())
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Settings::Table)
                    .add_column(
                        ColumnDef::new(Settings::BureauThresholdMinor)
                            .big_integer()
                            .not_null()
                            .default(0)
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        for col in [Settings::NextOrderNumber, Settings::NextCaseNumber] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Settings::Table)
                        .add_column(
                            ColumnDef::new(col)
                                .big_integer()
                                .not_null()
                                .default(1)
                                .to_owned(),
                        )
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Contacts::Table.into_iden(),
            Jobs::Table.into_iden(),
            CartItems::Table.into_iden(),
            Carts::Table.into_iden(),
            ClearingCases::Table.into_iden(),
            OrderEvents::Table.into_iden(),
            OrderItems::Table.into_iden(),
            Orders::Table.into_iden(),
            Accounts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
