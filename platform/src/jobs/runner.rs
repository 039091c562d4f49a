//! Runs due jobs (V1, issue 7 part): claims one job at a time with a lease,
//! hands it to the handler for its kind, and records the outcome. A failed
//! attempt is retried with exponential backoff until the attempt limit, then the
//! job is `dead` with the last error. A worker that dies mid-job (kill -9) leaves
//! the job `running` with an expired lease; the next claim takes it again. A
//! node that restarts takes its own running jobs back at once, tenant by
//! tenant on its first pass: each lease names its node, and a job this node
//! leased before it started cannot still be running here.
//! Kinds without a handler stay queued (nothing pretends to have run them).

use super::entity;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use relabel_tenants::{Tenancy, Tenant, TenantTx};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use std::collections::HashMap;
use std::sync::Arc;

/// Why an attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Try again later (peer down, timeout).
    #[error("{0}")]
    Retry(String),
    /// Will never work (bad payload, refused for good): dead at once.
    #[error("{0}")]
    Fatal(String),
    /// Not a failure: ask again after the wait (a pending transfer); the attempt
    /// is not counted.
    #[error("{1}")]
    Wait(Duration, String),
}

#[async_trait]
pub trait Handler: Send + Sync {
    async fn run(&self, tenant: &Tenant, job: &entity::Model) -> Result<(), JobError>;
}

#[derive(Clone)]
pub struct Runner {
    tenancy: Tenancy,
    handlers: Arc<HashMap<&'static str, Arc<dyn Handler>>>,
    pub max_attempts: i32,
    /// Wait after the first failure; doubled per further attempt.
    pub backoff: Duration,
    /// How long a claimed job is reserved for its worker.
    pub lease: Duration,
    /// Jobs queued once per period and tenant (`kind`, period). The idempotency
    /// key is the period's number, so several nodes queue one job between them.
    pub periodic: Vec<(&'static str, Duration)>,
    /// This node's name on its leases (`RELABEL_NODE_ID`; by default host name
    /// and HTTP port, the same after a restart).
    pub node: String,
    /// When this runner came up: a lease of this node from before is dead.
    started: DateTime<Utc>,
}

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub done: usize,
    pub retried: usize,
    pub dead: usize,
}

impl Runner {
    pub fn new(tenancy: Tenancy, handlers: HashMap<&'static str, Arc<dyn Handler>>) -> Self {
        Self {
            tenancy,
            handlers: Arc::new(handlers),
            max_attempts: 8,
            backoff: Duration::seconds(30),
            lease: Duration::minutes(5),
            periodic: Vec::new(),
            node: "local".into(),
            started: Utc::now(),
        }
    }

    /// Makes this node's running jobs from before it started due at once: it
    /// crashed or was killed while they ran. Returns how many.
    pub async fn reclaim(&self, tenant: &Tenant) -> anyhow::Result<u64> {
        use entity::Column as J;
        let tx = self.tenancy.begin(tenant).await?;
        let now = Utc::now();
        let r = entity::Entity::update_many()
            .col_expr(J::RunAfter, Expr::val(now))
            .filter(Expr::cust("status IN ('queued', 'running')"))
            .filter(J::Status.eq("running"))
            .filter(J::LockedBy.eq(self.node.as_str()))
            .filter(J::UpdatedAt.lt(self.started))
            .filter(J::RunAfter.gt(now))
            .exec(tx.conn())
            .await?;
        tx.commit().await?;
        if r.rows_affected > 0 {
            tracing::info!(tenant = %tenant.id, jobs = r.rows_affected, "took back the jobs this node was running when it stopped");
        }
        Ok(r.rows_affected)
    }

    /// Claims the next due job of a kind this runner handles: queued and due, or
    /// running with an expired lease, marked running with RETURNING. On SQLite one
    /// UPDATE of the first due row, so the transaction starts with its write (it
    /// waits for the writer lock instead of failing a read-then-write); on
    /// Postgres a `FOR UPDATE SKIP LOCKED` read first, so workers pass each other.
    /// Two workers never hold the same job.
    /// Claims one job that was due at `due_by` (a pass's start, so a job
    /// retried with a short backoff waits for the next pass).
    async fn claim(
        &self,
        tx: &TenantTx,
        due_by: DateTime<Utc>,
    ) -> Result<Option<entity::Model>, DbErr> {
        use entity::Column as J;
        use sea_orm::sea_query::{LockBehavior, LockType, Order, Query};
        let now = Utc::now();
        let kinds: Vec<&str> = self.handlers.keys().copied().collect();
        let due = Condition::all()
            .add(J::Kind.is_in(kinds))
            .add(J::RunAfter.lte(due_by))
            // Literal, not bound: the planner must see that this is the
            // predicate of the partial index `jobs_pending` to use it.
            .add(Expr::cust("status IN ('queued', 'running')"));
        let claim = entity::Entity::update_many()
            .col_expr(J::Status, Expr::val("running"))
            .col_expr(J::Attempts, Expr::col(J::Attempts).add(1))
            .col_expr(J::RunAfter, Expr::val(now + self.lease))
            .col_expr(J::UpdatedAt, Expr::val(now))
            .col_expr(J::LockedBy, Expr::val(self.node.as_str()))
            .filter(due.clone());
        let taken = if tx.conn().get_database_backend() == sea_orm::DbBackend::Postgres {
            // A locking read that skips rows other workers are claiming.
            let Some(id) = entity::Entity::find()
                .select_only()
                .column(J::Id)
                .filter(due)
                .order_by_asc(J::RunAfter)
                .limit(1)
                .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                .into_tuple::<String>()
                .one(tx.conn())
                .await?
            else {
                return Ok(None);
            };
            claim
                .filter(J::Id.eq(id))
                .exec_with_returning(tx.conn())
                .await?
        } else {
            let mut next = Query::select();
            next.column(J::Id)
                .from(entity::Entity)
                .cond_where(due)
                .order_by(J::RunAfter, Order::Asc)
                .limit(1);
            claim
                .filter(J::Id.in_subquery(next))
                .exec_with_returning(tx.conn())
                .await?
        };
        Ok(taken.into_iter().next())
    }

    /// Runs due jobs of one tenant until none is left; returns what happened.
    pub async fn run_due(&self, tenant: &Tenant) -> anyhow::Result<Pass> {
        let mut pass = Pass::default();
        let started = Utc::now();
        loop {
            let tx = self.tenancy.begin(tenant).await?;
            let Some(job) = self.claim(&tx, started).await? else {
                return Ok(pass);
            };
            tx.commit().await?;
            let Some(handler) = self.handlers.get(job.kind.as_str()) else {
                return Ok(pass);
            };
            let outcome = handler.run(tenant, &job).await;
            let now = Utc::now();
            let mut uncount = false;
            let (status, run_after, error) = match &outcome {
                Ok(()) => ("done", now, None),
                Err(JobError::Wait(wait, why)) => {
                    uncount = true;
                    ("queued", now + *wait, Some(why.clone()))
                }
                Err(JobError::Fatal(e)) => ("dead", now, Some(e.clone())),
                Err(JobError::Retry(e)) if job.attempts >= self.max_attempts => {
                    ("dead", now, Some(e.clone()))
                }
                Err(JobError::Retry(e)) => {
                    let doublings = std::cmp::min(u32::try_from(job.attempts - 1).unwrap_or(0), 16);
                    let wait = self.backoff * 2i32.pow(doublings);
                    ("queued", now + wait, Some(e.clone()))
                }
            };
            match status {
                "done" => pass.done += 1,
                "dead" => pass.dead += 1,
                _ => pass.retried += 1,
            }
            crate::metrics::job(
                &job.kind,
                if status == "queued" {
                    "retried"
                } else {
                    status
                },
            );
            let tx = self.tenancy.begin(tenant).await?;
            let attempts = if uncount {
                Expr::col(entity::Column::Attempts).sub(1)
            } else {
                Expr::col(entity::Column::Attempts)
            };
            entity::Entity::update_many()
                .col_expr(entity::Column::Attempts, attempts)
                .col_expr(entity::Column::Status, Expr::val(status))
                .col_expr(entity::Column::RunAfter, Expr::val(run_after))
                .col_expr(entity::Column::LastError, Expr::val(error))
                .col_expr(entity::Column::UpdatedAt, Expr::val(now))
                .filter(entity::Column::Id.eq(&job.id))
                .filter(entity::Column::Status.eq("running"))
                .exec(tx.conn())
                .await?;
            tx.commit().await?;
        }
    }
}

impl Runner {
    /// Queues this period's periodic jobs of `tenant` (once per node and period;
    /// the key makes it once overall).
    pub async fn queue_periodic(
        &self,
        tenant: &Tenant,
        queued: &mut HashMap<(String, &'static str), i64>,
    ) -> anyhow::Result<()> {
        let now = Utc::now().timestamp();
        for (kind, period) in &self.periodic {
            let slot = now / std::cmp::max(period.num_seconds(), 1);
            let k = (tenant.id.to_string(), *kind);
            if queued.get(&k) == Some(&slot) {
                continue;
            }
            let tx = self.tenancy.begin(tenant).await?;
            super::enqueue(
                &tx,
                super::NewJob {
                    kind,
                    reference: "periodic",
                    key: &format!("{kind}:{slot}"),
                    payload: serde_json::json!({}),
                    run_after: None,
                },
            )
            .await?;
            tx.commit().await?;
            queued.insert(k, slot);
        }
        Ok(())
    }

    /// Runs every tenant's due jobs in a loop until `stop` turns true; a pass that
    /// found nothing waits `idle` before the next. Jobs in flight finish first.
    pub fn spawn(
        self,
        idle: std::time::Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut queued_slots: HashMap<(String, &'static str), i64> = HashMap::new();
            // Tenants whose jobs from before this node started were taken back.
            let mut reclaimed = std::collections::HashSet::new();
            // The operator's books (T5) run their jobs like a reseller's.
            let books = match self.tenancy.platform_books().await {
                Ok(b) => Some(b),
                Err(e) => {
                    tracing::warn!(error = %e, "platform books unavailable");
                    None
                }
            };
            loop {
                if *stop.borrow() {
                    return;
                }
                let mut busy = false;
                match self.tenancy.list().await {
                    Ok(mut tenants) => {
                        tenants.extend(books.clone());
                        for t in &tenants {
                            if !reclaimed.contains(&t.id) {
                                match self.reclaim(t).await {
                                    Ok(_) => {
                                        reclaimed.insert(t.id.clone());
                                    }
                                    Err(e) => {
                                        tracing::warn!(tenant = %t.id, error = %e, "taking back this node's jobs failed")
                                    }
                                }
                            }
                            if let Err(e) = self.queue_periodic(t, &mut queued_slots).await {
                                tracing::warn!(tenant = %t.id, error = %e, "queuing periodic jobs failed");
                            }
                            match self.run_due(t).await {
                                Ok(pass) => busy |= pass != Pass::default(),
                                Err(e) => {
                                    tracing::warn!(tenant = %t.id, error = %e, "job pass failed")
                                }
                            }
                            if *stop.borrow() {
                                return;
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "listing tenants for jobs failed"),
                }
                if !busy {
                    tokio::select! {
                        _ = tokio::time::sleep(idle) => {}
                        _ = stop.changed() => {}
                    }
                }
            }
        })
    }
}
