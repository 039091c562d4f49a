use crate::TenantId;
use crate::changes::{Change, Changes};
use sea_orm::{DatabaseTransaction, DbErr};
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
pub struct TenantTx {
    txn: DatabaseTransaction,
    tenant: TenantId,
    touched: Mutex<BTreeSet<&'static str>>,
    changes: Option<Changes>,
}

impl TenantTx {
    pub(crate) fn new(txn: DatabaseTransaction, tenant: TenantId) -> Self {
        Self {
            txn,
            tenant,
            touched: Mutex::default(),
            changes: None,
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
        self.txn.rollback().await
    }
}

impl Deref for TenantTx {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}
