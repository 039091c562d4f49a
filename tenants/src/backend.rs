use crate::tx::Platform;
use crate::{TenancyConfig, TenancyError, Tenant, TenantTx};
use relabel_migrations::sea_orm_migration::MigratorTrait;
use relabel_migrations::{SharedMigrator, TenantMigrator};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, SqlxPostgresConnector,
    SqlxSqliteConnector, Statement, TransactionTrait,
};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// The schema every pooled Postgres connection starts in. It stays empty, so a
/// query that escaped its tenant scope fails instead of reading another's rows.
pub const NO_TENANT_SCHEMA: &str = "relabel_no_tenant";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

/// Where tenant data lives. Cheap to clone.
#[derive(Clone)]
pub struct Backend {
    pub(crate) store: Store,
    redis: Option<redis::aio::ConnectionManager>,
    redis_client: Option<redis::Client>,
    redis_prefix: String,
}

#[derive(Clone)]
pub(crate) enum Store {
    Postgres {
        db: DatabaseConnection,
    },
    Sqlite {
        data_dir: PathBuf,
        shared: DatabaseConnection,
        tenants: moka::future::Cache<String, DatabaseConnection>,
    },
}

impl Backend {
    pub async fn connect(config: &TenancyConfig) -> Result<Self, TenancyError> {
        let store = match &config.database_url {
            Some(url) => connect_postgres(url, config.max_connections).await?,
            None => connect_sqlite(&config.data_dir).await?,
        };
        let (redis, redis_client) = match &config.redis_url {
            Some(url) => {
                let client = redis::Client::open(url.as_str())?;
                let manager = client.get_connection_manager().await?;
                (Some(manager), Some(client))
            }
            None => (None, None),
        };
        Ok(Self {
            store,
            redis,
            redis_client,
            redis_prefix: config.redis_prefix.clone(),
        })
    }

    pub fn kind(&self) -> BackendKind {
        match self.store {
            Store::Postgres { .. } => BackendKind::Postgres,
            Store::Sqlite { .. } => BackendKind::Sqlite,
        }
    }

    /// A connection for the `shared` schema only. Unqualified (tenant) tables are
    /// not reachable through it on either backend.
    pub fn shared(&self) -> &DatabaseConnection {
        match &self.store {
            Store::Postgres { db } => db,
            Store::Sqlite { shared, .. } => shared,
        }
    }

    pub fn redis(&self) -> Option<&redis::aio::ConnectionManager> {
        self.redis.as_ref()
    }

    pub fn redis_client(&self) -> Option<&redis::Client> {
        self.redis_client.as_ref()
    }

    pub fn redis_prefix(&self) -> String {
        self.redis_prefix.clone()
    }

    pub async fn ping(&self) -> Result<(), TenancyError> {
        self.shared().execute_unprepared("SELECT 1").await?;
        if let Some(redis) = &self.redis {
            let mut conn = redis.clone();
            let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        }
        Ok(())
    }

    pub(crate) async fn migrate_shared(&self) -> Result<(), TenancyError> {
        match &self.store {
            Store::Postgres { db } => {
                db.execute_unprepared(&format!(
                    "CREATE SCHEMA IF NOT EXISTS shared; CREATE SCHEMA IF NOT EXISTS {NO_TENANT_SCHEMA}"
                ))
                .await?;
                let txn = db.begin().await?;
                // One node migrates at a time; the others wait and then find nothing to do.
                txn.execute_unprepared("SELECT pg_advisory_xact_lock(7400001)")
                    .await?;
                set_search_path(&txn, "shared").await?;
                SharedMigrator::up(&txn, None).await?;
                txn.execute_unprepared(&tenant_roles_setup()).await?;
                txn.commit().await?;
            }
            Store::Sqlite { data_dir, .. } => {
                migrate_shared_sqlite(&data_dir.join("shared.db")).await?
            }
        }
        Ok(())
    }

    /// Opens a transaction in `tenant`'s schema. Within [`crate::writing`]
    /// (a request that may change something) it is [`Self::begin_tenant_write`].
    pub(crate) async fn begin_tenant(&self, tenant: &Tenant) -> Result<TenantTx, TenancyError> {
        if crate::writes() {
            return self.begin_tenant_write(tenant).await;
        }
        self.begin_tenant_read(tenant).await
    }

    /// A deferred transaction (see [`crate::Tenancy::begin_read`]).
    pub(crate) async fn begin_tenant_read(
        &self,
        tenant: &Tenant,
    ) -> Result<TenantTx, TenancyError> {
        let txn = self.begin_scoped(&tenant.schema).await?;
        Ok(TenantTx::new(txn, tenant.id.clone(), self.platform()))
    }

    /// Opens a transaction in `tenant`'s schema whose first statement takes the
    /// write lock on SQLite (a no-op delete), waiting for another writer through
    /// the busy timeout. A deferred transaction that reads first cannot upgrade
    /// to a write once another connection has committed (`SQLITE_BUSY_SNAPSHOT`,
    /// which no busy timeout waits out). Only the tenant's own file is locked,
    /// not the attached shared one. On PostgreSQL it is a plain transaction.
    pub(crate) async fn begin_tenant_write(
        &self,
        tenant: &Tenant,
    ) -> Result<TenantTx, TenancyError> {
        let txn = self.begin_scoped(&tenant.schema).await?;
        if matches!(self.store, Store::Sqlite { .. }) {
            txn.execute_unprepared("DELETE FROM main.tenant_migrations WHERE 0")
                .await?;
        }
        Ok(TenantTx::new(txn, tenant.id.clone(), self.platform()))
    }

    /// Where a tenant transaction writes its rows of the platform tables.
    pub(crate) fn platform(&self) -> Platform {
        match &self.store {
            Store::Postgres { .. } => Platform::Same,
            Store::Sqlite { shared, .. } => Platform::shared(shared.clone()),
        }
    }

    /// Begins a tenant transaction: in `schema` and, on Postgres, as the tenant's
    /// role (see [`tenant_roles_setup`]), set with the search_path in one statement.
    async fn begin_scoped(&self, schema: &str) -> Result<DatabaseTransaction, TenancyError> {
        match &self.store {
            Store::Postgres { db } => {
                if !is_tenant_schema(schema) {
                    return Err(TenancyError::Config(format!(
                        "not a tenant schema name: {schema:?}"
                    )));
                }
                let txn = db.begin().await?;
                txn.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT set_config('search_path', $1, true), set_config('role', $2, true)",
                    [format!("{schema},shared").into(), schema.into()],
                ))
                .await?;
                Ok(txn)
            }
            Store::Sqlite { .. } => self.begin_schema(schema, false).await,
        }
    }

    /// Switches a transaction of `schema` to the tenant's role (Postgres).
    pub(crate) async fn enter_role(
        &self,
        txn: &DatabaseTransaction,
        schema: &str,
    ) -> Result<(), TenancyError> {
        if self.kind() == BackendKind::Postgres {
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config('role', $1, true)",
                [schema.into()],
            ))
            .await?;
        }
        Ok(())
    }

    /// Begins a transaction whose unqualified names resolve to `schema`.
    /// `create` makes the schema (or file) first; used when provisioning.
    pub(crate) async fn begin_schema(
        &self,
        schema: &str,
        create: bool,
    ) -> Result<DatabaseTransaction, TenancyError> {
        // The name goes into SQL as an identifier: refuse anything but `t_[a-z0-9_]`.
        if !is_tenant_schema(schema) {
            return Err(TenancyError::Config(format!(
                "not a tenant schema name: {schema:?}"
            )));
        }
        match &self.store {
            Store::Postgres { db } => {
                let txn = db.begin().await?;
                if create {
                    // `schema` is generated (`t_<hex>`), never user input.
                    txn.execute_unprepared(&format!("CREATE SCHEMA {schema}"))
                        .await?;
                }
                set_search_path(&txn, &format!("{schema},shared")).await?;
                Ok(txn)
            }
            Store::Sqlite { .. } => {
                let db = self.sqlite_tenant(schema, create).await?;
                Ok(db.begin().await?)
            }
        }
    }

    /// Like [`Self::begin_schema`], creating the schema (or file) when missing.
    pub(crate) async fn begin_schema_ensured(
        &self,
        schema: &str,
    ) -> Result<DatabaseTransaction, TenancyError> {
        if !is_tenant_schema(schema) {
            return Err(TenancyError::Config(format!(
                "not a tenant schema name: {schema:?}"
            )));
        }
        match &self.store {
            Store::Postgres { db } => {
                let txn = db.begin().await?;
                txn.execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                    .await?;
                set_search_path(&txn, &format!("{schema},shared")).await?;
                Ok(txn)
            }
            Store::Sqlite { .. } => {
                let db = self.sqlite_tenant(schema, true).await?;
                Ok(db.begin().await?)
            }
        }
    }

    /// SQLite: a transaction on one tenant's file with `shared` attached read-only
    /// and no authorizer, for the operator's reads across both (export). Its own
    /// connection, closed with the transaction.
    pub(crate) async fn begin_sqlite_operator_view(
        &self,
        schema: &str,
    ) -> Result<DatabaseTransaction, TenancyError> {
        let Store::Sqlite { data_dir, .. } = &self.store else {
            unreachable!("begin_sqlite_operator_view on Postgres");
        };
        if !is_tenant_schema(schema) {
            return Err(TenancyError::Config(format!(
                "not a tenant schema name: {schema:?}"
            )));
        }
        let path = data_dir.join("tenants").join(format!("{schema}.db"));
        let shared = data_dir.join("shared.db");
        let db = open_sqlite(&path, false, Some((&shared, Attach::Operator)), 1).await?;
        Ok(db.begin().await?)
    }

    async fn sqlite_tenant(
        &self,
        schema: &str,
        create: bool,
    ) -> Result<DatabaseConnection, TenancyError> {
        let Store::Sqlite {
            data_dir, tenants, ..
        } = &self.store
        else {
            unreachable!("sqlite_tenant on Postgres");
        };
        let path = data_dir.join("tenants").join(format!("{schema}.db"));
        let shared = data_dir.join("shared.db");
        tenants
            .try_get_with(schema.to_owned(), async move {
                open_sqlite(&path, create, Some((&shared, Attach::ReadOnly)), 4).await
            })
            .await
            .map_err(|e| TenancyError::Config(e.to_string()))
    }

    /// Forgets the pooled connection of a tenant (SQLite), e.g. after deleting it.
    pub(crate) async fn evict(&self, schema: &str) {
        if let Store::Sqlite { tenants, .. } = &self.store {
            tenants.invalidate(schema).await;
        }
    }

    /// Runs the tenant migrator in `schema`, inside one transaction.
    /// Returns how many migrations were applied.
    pub(crate) async fn migrate_tenant(
        &self,
        txn: &DatabaseTransaction,
        schema: &str,
    ) -> Result<usize, TenancyError> {
        if self.kind() == BackendKind::Postgres {
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock(hashtext($1))",
                [schema.into()],
            ))
            .await?;
        }
        let pending = TenantMigrator::get_pending_migrations(txn).await?.len();
        if pending > 0 {
            TenantMigrator::up(txn, None).await?;
        }
        if self.kind() == BackendKind::Postgres && (pending > 0 || !role_ready(txn, schema).await?)
        {
            self.grant_tenant_role(txn, schema).await?;
        }
        Ok(pending)
    }

    /// Creates `schema`'s role if missing and gives it its schema and tables (see
    /// [`tenant_roles_setup`]). Run after every migration of the schema, as the
    /// login role (which owns the tables); the tables of a migration are covered
    /// by the grant after it.
    pub(crate) async fn grant_tenant_role(
        &self,
        txn: &DatabaseTransaction,
        schema: &str,
    ) -> Result<(), TenancyError> {
        if self.kind() != BackendKind::Postgres {
            return Ok(());
        }
        if !is_tenant_schema(schema) {
            return Err(TenancyError::Config(format!(
                "not a tenant schema name: {schema:?}"
            )));
        }
        // `schema` is generated (`t_<hex>`) and checked above: safe as an identifier.
        txn.execute_unprepared(&format!(
            "DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{schema}') THEN
                    BEGIN
                        CREATE ROLE {schema} NOLOGIN;
                    EXCEPTION WHEN duplicate_object OR unique_violation THEN
                        NULL; -- made at the same moment by another database of the cluster
                    END;
                END IF;
                IF NOT pg_has_role(current_user, '{schema}', 'MEMBER') THEN
                    EXECUTE format('GRANT {schema} TO %I', current_user);
                END IF;
                IF NOT pg_has_role('{schema}', '{TENANT_GROUP}', 'MEMBER') THEN
                    GRANT {TENANT_GROUP} TO {schema};
                END IF;
            END $$;
            GRANT USAGE, CREATE ON SCHEMA {schema} TO {schema};
            GRANT ALL ON ALL TABLES IN SCHEMA {schema} TO {schema};
            GRANT ALL ON ALL SEQUENCES IN SCHEMA {schema} TO {schema};"
        ))
        .await?;
        Ok(())
    }

    /// Deletes the SQLite file of a tenant whose creation did not complete.
    pub(crate) async fn discard_sqlite_tenant(&self, schema: &str) {
        if let Store::Sqlite { data_dir, .. } = &self.store {
            self.evict(schema).await;
            let base = data_dir.join("tenants").join(format!("{schema}.db"));
            for suffix in ["", "-wal", "-shm"] {
                let mut p = base.clone().into_os_string();
                p.push(suffix);
                let _ = tokio::fs::remove_file(PathBuf::from(p)).await;
            }
        }
    }
}

/// The group role of every tenant role (Postgres): what all tenants may do in
/// `shared` is granted to it once, not to each of thousands of tenant roles.
pub const TENANT_GROUP: &str = "relabel_tenant";

/// The reference tables of `shared` that tenant code reads.
pub(crate) const SHARED_REFERENCE: &[&str] = &["tlds", "products", "wholesale_prices"];

/// The platform tables a tenant writes its own rows of, in its own transaction
/// (ordering reserves on its wholesale account and files operator cases
/// atomically with the order); row-level security keeps it to its own rows.
const SHARED_OWN_ROWS: &[&str] = &["reseller_accounts", "operator_cases"];

/// Postgres, second fence: every tenant transaction runs as the tenant's role
/// (`t_<id>`, named like its schema, NOLOGIN, a member of [`TENANT_GROUP`]). It can
/// use its own schema, read the reference tables and reach its own rows of the
/// wholesale accounts and operator cases; not operators, API keys, the registry
/// or any other tenant's schema. The operator's books (`t_000...`) keep every
/// reseller's account, so they reach all rows. Idempotent, run after the shared
/// migrations under their lock.
fn tenant_roles_setup() -> String {
    let books = format!("t_{}", crate::PLATFORM_BOOKS_ID);
    let mut sql = format!(
        "DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{TENANT_GROUP}') THEN
                BEGIN
                    CREATE ROLE {TENANT_GROUP} NOLOGIN;
                EXCEPTION WHEN duplicate_object OR unique_violation THEN
                    NULL;
                END;
            END IF;
        END $$;
        GRANT USAGE ON SCHEMA shared TO {TENANT_GROUP};"
    );
    for table in SHARED_REFERENCE {
        sql.push_str(&format!(
            "GRANT SELECT ON shared.{table} TO {TENANT_GROUP};"
        ));
    }
    for table in SHARED_OWN_ROWS {
        sql.push_str(&format!(
            "GRANT SELECT, INSERT, UPDATE ON shared.{table} TO {TENANT_GROUP};
            ALTER TABLE shared.{table} ENABLE ROW LEVEL SECURITY;
            DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'shared'
                        AND tablename = '{table}' AND policyname = 'own_rows') THEN
                    CREATE POLICY own_rows ON shared.{table} TO {TENANT_GROUP}
                        USING ('t_' || tenant_id = current_user OR current_user = '{books}');
                END IF;
            END $$;"
        ));
    }
    sql
}

/// Whether `schema`'s role exists and has its schema (a tenant made before roles).
async fn role_ready(txn: &DatabaseTransaction, schema: &str) -> Result<bool, sea_orm::DbErr> {
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)
                THEN has_schema_privilege($1, $1, 'CREATE') ELSE false END",
            [schema.into()],
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get_by_index(0)?,
        None => false,
    })
}

pub(crate) fn is_tenant_schema(schema: &str) -> bool {
    schema.len() <= 62
        && schema.starts_with("t_")
        && schema.len() > 2
        && schema[2..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

pub(crate) async fn set_search_path(
    txn: &DatabaseTransaction,
    path: &str,
) -> Result<(), sea_orm::DbErr> {
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT set_config('search_path', $1, true)",
        [path.into()],
    ))
    .await?;
    Ok(())
}

async fn connect_postgres(url: &str, max_connections: u32) -> Result<Store, TenancyError> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| TenancyError::Config(format!("DATABASE_URL: {e}")))?
        .options([("search_path", NO_TENANT_SCHEMA)]);
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(|e| TenancyError::Config(format!("cannot connect to DATABASE_URL: {e}")))?;
    Ok(Store::Postgres {
        db: SqlxPostgresConnector::from_sqlx_postgres_pool(pool),
    })
}

/// The embedded backend's directory, readable by relabel's user only (0700):
/// it holds every reseller's data and the key that seals their secrets.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(dir)?;
        // Made before this rule (or by hand): closed now.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    #[cfg(not(unix))]
    builder.create(dir)?;
    Ok(())
}

/// A database file readable by relabel's user only (0600). SQLite creates
/// its `-wal` and `-shm` files with the permissions of the database file.
fn private_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                for suffix in ["", "-wal", "-shm"] {
                    let file = PathBuf::from(format!("{}{suffix}", path.display()));
                    if file.exists() {
                        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

async fn connect_sqlite(data_dir: &Path) -> Result<Store, TenancyError> {
    private_dir(data_dir)?;
    private_dir(&data_dir.join("tenants"))?;
    // shared.db must exist and be migrated before anything ATTACHes it: a connection
    // that attached it earlier would not see tables created later.
    let shared_path = data_dir.join("shared.db");
    migrate_shared_sqlite(&shared_path).await?;
    // The shared pool's main database is an empty in-memory one: only `shared.` is real.
    let shared = open_sqlite(
        Path::new(":memory:"),
        true,
        Some((&shared_path, Attach::ReadWrite)),
        4,
    )
    .await?;
    Ok(Store::Sqlite {
        data_dir: data_dir.to_owned(),
        shared,
        tenants: moka::future::Cache::builder()
            .max_capacity(512)
            .time_to_idle(Duration::from_secs(600))
            .build(),
    })
}

async fn migrate_shared_sqlite(path: &Path) -> Result<(), TenancyError> {
    let db = open_sqlite(path, true, None, 1).await?;
    SharedMigrator::up(&db, None).await?;
    db.close().await?;
    Ok(())
}

/// How a connection ATTACHes `shared.db`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Attach {
    /// The shared pool: the one writer of the shared tables.
    ReadWrite,
    /// A tenant's pool: reads the reference tables; a write to `shared` (or a
    /// bug that aims at another reseller's rows there) fails in SQLite itself,
    /// and SQLite's authorizer refuses the rest of `shared` and any further
    /// ATTACH ([`crate::sqlite_guard`]).
    ReadOnly,
    /// The operator's view of one reseller (export): `shared` read-only, without
    /// the authorizer. A one-off connection, never one of a tenant's pool.
    Operator,
}

async fn open_sqlite(
    path: &Path,
    create: bool,
    attach_shared: Option<(&Path, Attach)>,
    max_connections: u32,
) -> Result<DatabaseConnection, TenancyError> {
    let in_memory = path == Path::new(":memory:");
    if create && !in_memory {
        private_file(path)?;
    }
    let options = if in_memory {
        // A private in-memory database per connection (not sqlx's shared-cache one).
        SqliteConnectOptions::new()
    } else {
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
    }
    .busy_timeout(Duration::from_secs(10))
    .foreign_keys(true);
    let shared = attach_shared.map(|(p, mode)| match mode {
        Attach::ReadWrite => (p.to_string_lossy().into_owned(), mode),
        // sqlx opens every connection with SQLITE_OPEN_URI, so ATTACH takes a URI.
        Attach::ReadOnly | Attach::Operator => (format!("file:{}?mode=ro", uri_path(p)), mode),
    });
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .after_connect(move |conn, _meta| {
            let shared = shared.clone();
            Box::pin(async move {
                if let Some((shared, mode)) = shared {
                    sea_orm::sqlx::query("ATTACH DATABASE ? AS shared")
                        .bind(shared)
                        .execute(&mut *conn)
                        .await?;
                    match mode {
                        Attach::ReadWrite => {
                            sea_orm::sqlx::query("PRAGMA shared.journal_mode = WAL")
                                .execute(&mut *conn)
                                .await?;
                        }
                        Attach::ReadOnly => {
                            crate::sqlite_guard::install(&mut conn.lock_handle().await?)
                        }
                        Attach::Operator => {}
                    }
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(db_err)?;
    Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
}

/// `path` as the path part of an SQLite `file:` URI: the characters the URI
/// syntax gives a meaning to are percent-encoded.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn db_err(e: sea_orm::sqlx::Error) -> TenancyError {
    TenancyError::Db(sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(
        e.into(),
    )))
}
