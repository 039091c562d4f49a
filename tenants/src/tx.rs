use crate::TenantId;
use sea_orm::{DatabaseTransaction, DbErr};
use std::ops::Deref;

/// One transaction in one tenant's schema: the only handle through which handlers
/// and domain functions reach tenant data. On Postgres its `search_path` is the
/// tenant's schema (set with `set_config(..., true)`, so it ends with the
/// transaction); on SQLite it runs on the tenant's own file.
pub struct TenantTx {
    txn: DatabaseTransaction,
    tenant: TenantId,
}

impl TenantTx {
    pub(crate) fn new(txn: DatabaseTransaction, tenant: TenantId) -> Self {
        Self { txn, tenant }
    }

    pub fn tenant_id(&self) -> &TenantId {
        &self.tenant
    }

    pub fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
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
