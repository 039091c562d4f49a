//! Tenancy for relabel: the registry of resellers and their hostnames, resolving a
//! request's `Host` to its reseller, and [`TenantTx`], the only way to reach a
//! reseller's data.
//!
//! Two backends sit behind one API (see [`Backend`]):
//! - embedded: SQLite, `shared.db` plus one file per tenant, `shared.db` ATTACHed as
//!   `shared` to every tenant connection;
//! - production: PostgreSQL, schema `shared` plus one schema `t_<id>` per tenant,
//!   and Redis for cross-node cache invalidation.

mod archive;
mod backend;
mod changes;
pub mod entity;
mod error;
mod hostname;
mod id;
mod migrate;
mod registry;
mod resolver;
mod sqlite_guard;
mod tx;

pub use archive::{Header as ArchiveHeader, RowsByTable, Secrets, Summary as ArchiveSummary};
pub use backend::{Backend, BackendKind};
pub use changes::{Change, Changes};
pub use error::TenancyError;
pub use hostname::{Hostname, HostnameError, normalize_host_header};
pub use id::TenantId;
pub use migrate::{MigrationReport, TenantMigration};
pub use registry::{Brand, NewTenant, PLATFORM_BOOKS_ID, PendingTenant, Tenant, TenantStatus};
pub use resolver::Resolver;
pub use tx::TenantTx;

use std::sync::Arc;
use std::time::Duration;

/// How to reach the backend.
#[derive(Clone, Debug)]
pub struct TenancyConfig {
    /// `postgres://...`; `None` selects the embedded SQLite backend under `data_dir`.
    pub database_url: Option<String>,
    /// `redis://...`; used for cache invalidation across nodes.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel of this deployment.
    pub redis_prefix: String,
    pub data_dir: std::path::PathBuf,
    /// How long a resolved hostname is trusted without asking the database.
    pub resolver_ttl: Duration,
    /// Connections in the Postgres pool.
    pub max_connections: u32,
}

/// The tenancy layer: backend, registry and resolver together.
#[derive(Clone)]
pub struct Tenancy {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    resolver: Resolver,
    changes: Changes,
}

impl Tenancy {
    /// Connects to the backend and applies the shared migrations, so the registry is
    /// usable right away. Tenant schemas are migrated by [`Tenancy::migrate_all`].
    pub async fn connect(config: &TenancyConfig) -> Result<Self, TenancyError> {
        let backend = Backend::connect(config).await?;
        backend.migrate_shared().await?;
        let resolver = Resolver::new(config.resolver_ttl);
        let changes = Changes::new(
            backend
                .redis()
                .map(|r| (r.clone(), config.redis_prefix.clone())),
        );
        if let Some(client) = backend.redis_client() {
            resolver.listen(client.clone(), config.redis_prefix.clone());
            changes.listen(client.clone(), config.redis_prefix.clone());
        }
        Ok(Self {
            inner: Arc::new(Inner {
                backend,
                resolver,
                changes,
            }),
        })
    }

    pub fn backend(&self) -> &Backend {
        &self.inner.backend
    }

    pub fn resolver(&self) -> &Resolver {
        &self.inner.resolver
    }

    /// Resolves a raw `Host` header (any case, optional port, optional trailing dot).
    pub async fn resolve(&self, host: &str) -> Result<Option<Arc<Tenant>>, TenancyError> {
        self.resolve_cached(host).await
    }

    /// Opens a transaction scoped to `tenant`'s schema (within [`writing`], one
    /// that takes SQLite's write lock first, like [`Self::begin_write`]).
    pub async fn begin(&self, tenant: &Tenant) -> Result<TenantTx, TenancyError> {
        Ok(self
            .inner
            .backend
            .begin_tenant(tenant)
            .await?
            .with_changes(self.inner.changes.clone()))
    }

    /// Opens a transaction that only reads: never the write lock, even within
    /// [`writing`], so a read nested in a change (a cache filled on a miss)
    /// does not wait for the lock its own task holds. It must not write.
    pub async fn begin_read(&self, tenant: &Tenant) -> Result<TenantTx, TenancyError> {
        Ok(self
            .inner
            .backend
            .begin_tenant_read(tenant)
            .await?
            .with_changes(self.inner.changes.clone()))
    }

    /// Opens a transaction for a read-then-write sequence: on SQLite it takes
    /// the tenant's write lock before the first read, so the later write cannot
    /// fail on a stale snapshot. Hold at most one per tenant and task.
    pub async fn begin_write(&self, tenant: &Tenant) -> Result<TenantTx, TenancyError> {
        Ok(self
            .inner
            .backend
            .begin_tenant_write(tenant)
            .await?
            .with_changes(self.inner.changes.clone()))
    }

    /// Change notices of tenant data (see [`Changes`]).
    pub fn changes(&self) -> &Changes {
        &self.inner.changes
    }

    /// Drops cached resolutions here and, through Redis, on every other node.
    pub async fn changed(&self) {
        self.inner.resolver.invalidate_all();
        if let Some(redis) = self.inner.backend.redis() {
            resolver::publish_change(redis, &self.inner.backend.redis_prefix()).await;
        }
    }

    /// Checks that the database (and Redis, when configured) answer.
    pub async fn ping(&self) -> Result<(), TenancyError> {
        self.inner.backend.ping().await
    }
}

tokio::task_local! {
    static WRITES: bool;
}

/// Runs `f` as work that may write (an HTTP request other than GET or HEAD):
/// every [`Tenancy::begin`] in it takes SQLite's write lock up front, as
/// [`Tenancy::begin_write`] does. In WAL mode a deferred transaction that read
/// first fails at its first write once another connection wrote
/// (`SQLITE_BUSY`, `SQLITE_BUSY_SNAPSHOT`), and no busy timeout waits that out:
/// 50 concurrent clients saw 24 to 39 answers of 500 "database is locked".
/// Inside, one task must not hold two transactions of one reseller at once.
/// PostgreSQL is unaffected.
pub async fn writing<F: std::future::Future>(f: F) -> F::Output {
    WRITES.scope(true, f).await
}

/// Whether the current task runs within [`writing`].
pub(crate) fn writes() -> bool {
    WRITES.try_with(|w| *w).unwrap_or(false)
}
