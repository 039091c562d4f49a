use crate::TenantId;
use crate::changes::{Change, Changes};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};
use std::collections::BTreeSet;
use std::ops::Deref;
use std::sync::Mutex;

/// One transaction in one tenant's schema: the only handle through which handlers
/// and domain functions reach tenant data. On Postgres its `search_path` is the
/// tenant's schema (set with `set_config(..., true)`, so it ends with the
/// transaction); on SQLite it runs on the tenant's own file.
///
/// Domain functions mark what they changed with [`TenantTx::touch`]; the topics are
/// published after a successful commit, so caches drop exactly what went stale.
///
/// The database enforces the scope too: on Postgres the transaction runs as the
/// tenant's own role, on SQLite `shared` is attached read-only. The reseller's rows
/// in the platform's tables (its wholesale account, its clearing cases) are
/// written through [`TenantTx::platform`].
pub struct TenantTx {
    txn: DatabaseTransaction,
    tenant: TenantId,
    touched: Mutex<BTreeSet<&'static str>>,
    changes: Option<Changes>,
    platform: Platform,
}

/// Where [`TenantTx::platform`] writes.
pub(crate) enum Platform {
    /// Postgres: the same transaction; row-level security keeps the tenant's
    /// role to its own rows of the platform tables.
    Same,
    /// SQLite: a transaction of the shared pool, begun on first use and
    /// committed right after the tenant's (two files never commit atomically,
    /// not even in one connection).
    Shared {
        db: DatabaseConnection,
        txn: tokio::sync::OnceCell<DatabaseTransaction>,
    },
}

impl Platform {
    pub(crate) fn shared(db: DatabaseConnection) -> Self {
        Self::Shared {
            db,
            txn: tokio::sync::OnceCell::new(),
        }
    }
}

impl TenantTx {
    pub(crate) fn new(txn: DatabaseTransaction, tenant: TenantId, platform: Platform) -> Self {
        Self {
            txn,
            tenant,
            touched: Mutex::default(),
            changes: None,
            platform,
        }
    }

    pub(crate) fn with_changes(mut self, changes: Changes) -> Self {
        self.changes = Some(changes);
        self
    }

    pub fn tenant_id(&self) -> &TenantId {
        &self.tenant
    }

    pub fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// The transaction for the platform tables a reseller's own work changes
    /// (`shared.reseller_accounts`, `shared.operator_cases`): it commits and rolls
    /// back with this one. Read those tables through it too, so a read sees the
    /// writes before it.
    pub async fn platform(&self) -> Result<&DatabaseTransaction, DbErr> {
        match &self.platform {
            Platform::Same => Ok(&self.txn),
            Platform::Shared { db, txn } => txn.get_or_try_init(|| db.begin()).await,
        }
    }

    /// Records that this transaction changed data under `topic`.
    pub fn touch(&self, topic: &'static str) {
        self.touched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(topic);
    }

    /// Whether this transaction changed data under `topic` (not yet committed).
    pub fn has_touched(&self, topic: &str) -> bool {
        self.touched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(topic)
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        let touched = std::mem::take(&mut *self.touched.lock().unwrap_or_else(|e| e.into_inner()));
        self.txn.commit().await?;
        if let Platform::Shared { txn, .. } = self.platform
            && let Some(txn) = txn.into_inner()
        {
            txn.commit().await?;
        }
        if let Some(changes) = self.changes {
            for topic in touched {
                changes
                    .publish(Change {
                        tenant: Some(self.tenant.clone()),
                        topic: topic.to_owned(),
                    })
                    .await;
            }
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        if let Platform::Shared { txn, .. } = self.platform
            && let Some(txn) = txn.into_inner()
        {
            txn.rollback().await?;
        }
        self.txn.rollback().await
    }
}

impl Deref for TenantTx {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}
