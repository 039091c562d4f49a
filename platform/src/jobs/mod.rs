//! The durable job queue (ARCHITECTURE "Jobs"): a job is a row written in the same
//! transaction as the business change that needs it, so an accepted order and its
//! provisioning work commit together or not at all. Each job has an idempotency
//! key; enqueuing the same key twice keeps the first job.

use chrono::Utc;
use relabel_tenants::TenantTx;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "jobs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub kind: String,
        pub reference: String,
        pub idempotency_key: String,
        pub payload: String,
        /// queued | running | done | dead | cancelled
        pub status: String,
        pub attempts: i32,
        pub run_after: DateTimeUtc,
        pub last_error: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// The node holding a running job's lease (see `Runner::node`).
        pub locked_by: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod runner;

pub use entity::Model as Job;

/// A job to write: `kind` names the work (`domain.register`), `reference` what it
/// is about (shown to staff), `key` makes it unique.
pub struct NewJob<'a> {
    pub kind: &'a str,
    pub reference: &'a str,
    pub key: &'a str,
    pub payload: serde_json::Value,
    /// Not before (a pre-registration waits for general availability); now if none.
    pub run_after: Option<chrono::DateTime<Utc>>,
}

/// Writes a job in the caller's transaction; a second job with the same key is
/// ignored.
pub async fn enqueue(tx: &TenantTx, job: NewJob<'_>) -> Result<(), DbErr> {
    enqueue_many(tx, [job]).await
}

/// Writes jobs in the caller's transaction with one statement (see [`crate::bulk`]);
/// jobs whose key exists are ignored.
pub async fn enqueue_many<'a>(
    tx: &TenantTx,
    jobs: impl IntoIterator<Item = NewJob<'a>>,
) -> Result<(), DbErr> {
    let now = Utc::now();
    let rows: Vec<entity::Model> = jobs
        .into_iter()
        .map(|job| entity::Model {
            id: uuid::Uuid::now_v7().simple().to_string(),
            kind: job.kind.to_owned(),
            reference: job.reference.to_owned(),
            idempotency_key: job.key.to_owned(),
            payload: job.payload.to_string(),
            status: "queued".into(),
            attempts: 0,
            run_after: job.run_after.unwrap_or(now),
            last_error: None,
            created_at: now,
            updated_at: now,
            locked_by: None,
        })
        .collect();
    crate::bulk::insert::<entity::Entity>(tx, &rows, Some(entity::Column::IdempotencyKey)).await
}

/// Jobs whose idempotency key starts with `prefix` (e.g. all jobs of one order).
pub async fn with_key_prefix(tx: &TenantTx, prefix: &str) -> Result<Vec<Job>, DbErr> {
    entity::Entity::find()
        .filter(entity::Column::IdempotencyKey.starts_with(prefix))
        .order_by_asc(entity::Column::IdempotencyKey)
        .all(tx.conn())
        .await
}

/// Queued jobs that are due now (the queue depth).
pub async fn due_count(tx: &TenantTx) -> Result<i64, DbErr> {
    use sea_orm::PaginatorTrait;
    let n = entity::Entity::find()
        .filter(entity::Column::Status.eq("queued"))
        .filter(entity::Column::RunAfter.lte(Utc::now()))
        .count(tx.conn())
        .await?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Jobs for the console, newest first; `status` filters (`dead` = technical tickets).
pub async fn list(tx: &TenantTx, status: Option<&str>, limit: u64) -> Result<Vec<Job>, DbErr> {
    use sea_orm::QuerySelect;
    let mut q = entity::Entity::find().order_by_desc(entity::Column::CreatedAt);
    if let Some(s) = status.filter(|s| !s.is_empty()) {
        q = q.filter(entity::Column::Status.eq(s));
    }
    q.limit(limit).all(tx.conn()).await
}

/// Puts a dead or cancelled job back in the queue with fresh attempts (staff).
/// Returns false when the job is not in such a state.
pub async fn get(tx: &TenantTx, id: &str) -> Result<Option<Job>, DbErr> {
    entity::Entity::find_by_id(id.to_owned())
        .one(tx.conn())
        .await
}

pub async fn rerun(tx: &TenantTx, id: &str) -> Result<bool, DbErr> {
    use sea_orm::sea_query::Expr;
    let now = Utc::now();
    let r = entity::Entity::update_many()
        .col_expr(entity::Column::Status, Expr::val("queued"))
        .col_expr(entity::Column::Attempts, Expr::val(0))
        .col_expr(entity::Column::RunAfter, Expr::val(now))
        .col_expr(entity::Column::UpdatedAt, Expr::val(now))
        .filter(entity::Column::Id.eq(id))
        .filter(entity::Column::Status.is_in(["dead", "cancelled"]))
        .exec(tx.conn())
        .await?;
    Ok(r.rows_affected == 1)
}

/// Cancels a job that has not run yet or is dead (staff). A running job cannot
/// be cancelled: its worker holds it.
pub async fn cancel(tx: &TenantTx, id: &str) -> Result<bool, DbErr> {
    use sea_orm::sea_query::Expr;
    let r = entity::Entity::update_many()
        .col_expr(entity::Column::Status, Expr::val("cancelled"))
        .col_expr(entity::Column::UpdatedAt, Expr::val(Utc::now()))
        .filter(entity::Column::Id.eq(id))
        .filter(entity::Column::Status.is_in(["queued", "dead"]))
        .exec(tx.conn())
        .await?;
    Ok(r.rows_affected == 1)
}
