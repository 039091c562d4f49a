//! One reseller's complete data as a file, and back (T1): `relabel tenant
//! export ID --out FILE` and `relabel tenant import FILE`.
//!
//! The file is JSON Lines, the same on both backends, so a reseller moves from
//! the embedded SQLite default to PostgreSQL (or between deployments):
//!
//! ```text
//! {"format":"relabel-tenant","version":1,"tenant_id":"…","migrations":[…],"sealed":[…]}
//! {"scope":"shared","table":"tenants","columns":[["id","text"],…]}
//! ["…", …]                      one line per row, values in column order
//! {"scope":"tenant","table":"customers","columns":[…]}
//! …
//! ```
//!
//! Shared tables carry only the reseller's rows (its registry row, hostnames,
//! platform account, cases, custom domains, forward hosts, audit entries); tenant
//! tables carry everything but the migration bookkeeping. Values are canonical
//! per column kind: integers and booleans as JSON, text as strings, bytes in
//! base64, dates and timestamps in ISO 8601 (timestamps in UTC with
//! microseconds).
//!
//! Import creates the schema, applies exactly the migrations the export was
//! made at, empties what they seeded, loads the rows, then applies the newer
//! migrations of this deployment. The id, the schema name and the hostnames stay;
//! an id or a hostname that is already taken refuses the import and writes
//! nothing. Columns sealed with the deployment key are written opened (the file
//! is as sensitive as the database) and sealed again with the target's key.

use crate::backend::{Backend, BackendKind, Store};
use crate::{Tenancy, TenancyError, Tenant, TenantId};
use base64::Engine;
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use relabel_migrations::TenantMigrator;
use relabel_migrations::sea_orm_migration::MigratorTrait;
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryResult, Statement,
    TransactionTrait, Value,
};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::io::{BufRead, Write};

/// Format name and version in the first line.
pub const FORMAT: &str = "relabel-tenant";
pub const VERSION: u32 = 1;

/// Shared tables holding a reseller's rows, with the column naming it.
const SHARED: &[(&str, &str)] = &[
    ("tenants", "id"),
    ("hostnames", "tenant_id"),
    ("reseller_accounts", "tenant_id"),
    ("operator_cases", "tenant_id"),
    ("custom_domains", "tenant_id"),
    ("forward_hosts", "tenant_id"),
    ("audit_log", "tenant_id"),
];

/// The tenant migrator's bookkeeping: rebuilt by the import, never copied.
const MIGRATIONS_TABLE: &str = "tenant_migrations";

/// Rows per INSERT on import.
const BATCH: usize = 200;

/// How a column's values are read, written and bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Int,
    BigInt,
    Bool,
    Text,
    Bytes,
    Date,
    Timestamp,
    TimestampTz,
}

impl Kind {
    /// From the type the database reports (PostgreSQL's `data_type`, SQLite's
    /// declared type as sea-query writes it).
    fn of(declared: &str) -> Self {
        let t = declared.to_ascii_lowercase();
        if t.contains("timestamp") || t.contains("datetime") {
            if t.contains("without") {
                Kind::Timestamp
            } else if t.contains("time zone") || t.contains("timezone") || t.contains("tz") {
                Kind::TimestampTz
            } else {
                Kind::Timestamp
            }
        } else if t.contains("date") {
            Kind::Date
        } else if t.contains("bool") {
            Kind::Bool
        } else if t.contains("bigint") || t.contains("big_integer") || t == "int8" {
            Kind::BigInt
        } else if t.contains("int") {
            Kind::Int
        } else if t.contains("blob") || t.contains("bytea") || t.contains("binary") {
            Kind::Bytes
        } else {
            Kind::Text
        }
    }
}

/// The first line of an export.
#[derive(Debug, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub tenant_id: String,
    /// The tenant migrations applied when the export was made, in order.
    pub migrations: Vec<String>,
    /// `table.column` values written opened (see [`Secrets`]).
    pub sealed: Vec<String>,
    pub exported_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
struct TableHeader {
    scope: Scope,
    table: String,
    columns: Vec<(String, Kind)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Scope {
    Shared,
    Tenant,
}

/// Opens and seals values sealed with the deployment's key.
pub trait Secrets {
    fn open(&self, sealed: &str) -> Option<String>;
    fn seal(&self, plain: &str) -> String;
}

/// What an export or import moved.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub tables: usize,
    pub rows: usize,
}

fn bad(line: usize, what: impl std::fmt::Display) -> TenancyError {
    TenancyError::Config(format!("export file, line {line}: {what}"))
}

impl Tenancy {
    /// Writes reseller `id` (deleted ones too, until purged) to `out`, from one
    /// consistent snapshot. `sealed` names the `table.column`s sealed with the
    /// deployment key.
    pub async fn export(
        &self,
        id: &TenantId,
        out: &mut impl Write,
        sealed: &[&str],
        secrets: &dyn Secrets,
    ) -> Result<Summary, TenancyError> {
        let backend = self.backend();
        let schema = id.schema_name();
        // Asked first: a purged reseller has no schema (or file) to open.
        if !tenant_exists(backend.shared(), id).await? {
            return Err(TenancyError::NotFound(id.to_string()));
        }
        let txn = backend.begin_snapshot(&schema).await?;
        let migrations = applied_migrations(&txn).await?;
        let header = Header {
            format: FORMAT.into(),
            version: VERSION,
            tenant_id: id.to_string(),
            migrations,
            sealed: sealed.iter().map(|s| (*s).to_owned()).collect(),
            exported_at: Utc::now(),
        };
        let mut summary = Summary::default();
        write_line(out, &header)?;
        for (table, column) in SHARED {
            let columns = backend.columns(&txn, Scope::Shared, table).await?;
            let rows = select_rows(
                &txn,
                &format!("shared.{table}"),
                &columns,
                Some((column, id.as_str())),
            )
            .await?;
            summary.add(out, Scope::Shared, table, columns, rows, &[], secrets)?;
        }
        for table in backend.tenant_tables(&txn, &schema).await? {
            let columns = backend.columns(&txn, Scope::Tenant, &table).await?;
            let rows = select_rows(&txn, &quote(&table), &columns, None).await?;
            let opened: Vec<&str> = sealed
                .iter()
                .filter_map(|s| s.strip_prefix(&format!("{table}.")))
                .collect();
            summary.add(out, Scope::Tenant, &table, columns, rows, &opened, secrets)?;
        }
        out.flush()?;
        Ok(summary)
    }

    /// Loads an export written by [`Tenancy::export`] (of this or another
    /// deployment) as a new reseller with the same id and hostnames.
    pub async fn import(
        &self,
        input: impl BufRead,
        secrets: &dyn Secrets,
    ) -> Result<(Tenant, Summary), TenancyError> {
        let mut lines = input.lines().enumerate();
        let Some((_, first)) = lines.next() else {
            return Err(bad(1, "empty file"));
        };
        let header: Header = serde_json::from_str(&first?).map_err(|e| bad(1, e))?;
        if header.format != FORMAT || header.version != VERSION {
            return Err(bad(
                1,
                format!("not a {FORMAT} export of version {VERSION}"),
            ));
        }
        let id = TenantId::parse(&header.tenant_id).ok_or_else(|| bad(1, "bad tenant_id"))?;
        let known: Vec<String> = TenantMigrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        if header.migrations.len() > known.len()
            || header.migrations[..] != known[..header.migrations.len()]
        {
            return Err(TenancyError::Config(
                "the export was made by a newer or different relabel: upgrade this deployment first"
                    .into(),
            ));
        }
        let backend = self.backend();
        let schema = id.schema_name();
        if tenant_exists(backend.shared(), &id).await? {
            return Err(TenancyError::Config(format!(
                "a reseller with id {id} exists in this deployment"
            )));
        }
        // The tables, read whole before anything is written.
        let mut tables: Vec<(TableHeader, Vec<Vec<Json>>)> = Vec::new();
        for (n, line) in lines {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            if line.starts_with('{') {
                let h: TableHeader = serde_json::from_str(&line).map_err(|e| bad(n + 1, e))?;
                tables.push((h, Vec::new()));
            } else {
                let row: Vec<Json> = serde_json::from_str(&line).map_err(|e| bad(n + 1, e))?;
                let Some((h, rows)) = tables.last_mut() else {
                    return Err(bad(n + 1, "a row before any table"));
                };
                if row.len() != h.columns.len() {
                    return Err(bad(
                        n + 1,
                        format!("{} values for {} columns", row.len(), h.columns.len()),
                    ));
                }
                rows.push(row);
            }
        }
        for (h, rows) in &tables {
            if h.scope == Scope::Shared && h.table == "hostnames" {
                let at = h.columns.iter().position(|(c, _)| c == "hostname");
                for row in rows {
                    if let Some(host) = at.and_then(|i| row[i].as_str())
                        && crate::entity::hostname::Entity::find_by_id(host.to_owned())
                            .one(backend.shared())
                            .await?
                            .is_some()
                    {
                        return Err(TenancyError::HostnameTaken(host.to_owned()));
                    }
                }
            }
        }
        let steps = u32::try_from(header.migrations.len()).unwrap_or(u32::MAX);
        let txn = backend.begin_schema(&schema, true).await?;
        let loaded = async {
            if steps > 0 {
                TenantMigrator::up(&txn, Some(steps)).await?;
            }
            let mut summary = Summary::default();
            // What the migrations seeded gives way to the reseller's own rows.
            for table in backend.tenant_tables(&txn, &schema).await? {
                txn.execute_unprepared(&format!("DELETE FROM {}", quote(&table)))
                    .await?;
            }
            for (h, rows) in tables.iter().filter(|(h, _)| h.scope == Scope::Tenant) {
                let opened: Vec<&str> = header
                    .sealed
                    .iter()
                    .filter_map(|s| s.strip_prefix(&format!("{}.", h.table)))
                    .collect();
                insert_rows(&txn, &h.table, None, h, rows, &opened, secrets).await?;
                summary.tables += 1;
                summary.rows += rows.len();
            }
            TenantMigrator::up(&txn, None).await?;
            backend.grant_tenant_role(&txn, &schema).await?;
            Ok::<_, TenancyError>(summary)
        }
        .await;
        let mut summary = match loaded {
            Ok(s) => s,
            Err(e) => {
                drop(txn);
                backend.discard_sqlite_tenant(&schema).await;
                return Err(e);
            }
        };
        let shared_rows = tables.iter().filter(|(h, _)| h.scope == Scope::Shared);
        match backend.kind() {
            BackendKind::Postgres => {
                // One transaction: the reseller appears whole or not at all.
                for (h, rows) in shared_rows {
                    insert_rows(&txn, &h.table, Some("shared"), h, rows, &[], secrets).await?;
                    summary.tables += 1;
                    summary.rows += rows.len();
                }
                txn.commit().await?;
            }
            BackendKind::Sqlite => {
                // Two files: the tenant file first; if the registry rows fail,
                // the file is removed again.
                txn.commit().await?;
                let shared = backend.shared().begin().await?;
                let mut done = Ok(());
                for (h, rows) in shared_rows {
                    done =
                        insert_rows(&shared, &h.table, Some("shared"), h, rows, &[], secrets).await;
                    if done.is_err() {
                        break;
                    }
                    summary.tables += 1;
                    summary.rows += rows.len();
                }
                let committed = match done {
                    Ok(()) => shared.commit().await.map_err(TenancyError::from),
                    Err(e) => Err(e),
                };
                if let Err(e) = committed {
                    backend.discard_sqlite_tenant(&schema).await;
                    return Err(e);
                }
            }
        }
        self.changed().await;
        let tenant = self.get(&id).await?;
        Ok((tenant, summary))
    }
}

/// Rows by table, each an object of its columns.
pub type RowsByTable = std::collections::BTreeMap<String, Vec<serde_json::Map<String, Json>>>;

impl Tenancy {
    /// Every row of the tenant's tables whose text `column` equals `value`
    /// (tables without it are skipped), byte columns left out: what a
    /// data-subject export gathers about one customer.
    pub async fn rows_where(
        &self,
        tx: &crate::TenantTx,
        column: &str,
        value: &str,
    ) -> Result<RowsByTable, TenancyError> {
        let backend = self.backend();
        let schema = tx.tenant_id().schema_name();
        let mut out = RowsByTable::new();
        for table in backend.tenant_tables(tx.conn(), &schema).await? {
            let columns: Vec<(String, Kind)> = backend
                .columns(tx.conn(), Scope::Tenant, &table)
                .await?
                .into_iter()
                .filter(|(_, k)| *k != Kind::Bytes)
                .collect();
            // Only text columns hold ids, addresses and names compared here.
            if !columns.iter().any(|(c, k)| c == column && *k == Kind::Text) {
                continue;
            }
            let rows =
                select_rows(tx.conn(), &quote(&table), &columns, Some((column, value))).await?;
            if rows.is_empty() {
                continue;
            }
            out.insert(
                table,
                rows.into_iter()
                    .map(|r| columns.iter().map(|(c, _)| c.clone()).zip(r).collect())
                    .collect(),
            );
        }
        Ok(out)
    }
}

impl Summary {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        out: &mut impl Write,
        scope: Scope,
        table: &str,
        columns: Vec<(String, Kind)>,
        mut rows: Vec<Vec<Json>>,
        opened: &[&str],
        secrets: &dyn Secrets,
    ) -> Result<(), TenancyError> {
        for (i, (name, _)) in columns.iter().enumerate() {
            if opened.contains(&name.as_str()) {
                for row in &mut rows {
                    if let Some(s) = row[i].as_str() {
                        row[i] = secrets.open(s).map_or(Json::Null, Json::String);
                    }
                }
            }
        }
        write_line(
            out,
            &TableHeader {
                scope,
                table: table.to_owned(),
                columns,
            },
        )?;
        for row in &rows {
            write_line(out, row)?;
        }
        self.tables += 1;
        self.rows += rows.len();
        Ok(())
    }
}

/// Whether the registry has a row for `id` (deleted ones included).
async fn tenant_exists(db: &impl ConnectionTrait, id: &TenantId) -> Result<bool, TenancyError> {
    let rows = select_rows(
        db,
        "shared.tenants",
        &[("id".into(), Kind::Text)],
        Some(("id", id.as_str())),
    )
    .await?;
    Ok(!rows.is_empty())
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> Result<(), TenancyError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| TenancyError::Config(e.to_string()))?;
    out.write_all(b"\n")?;
    Ok(())
}

/// A table name as an SQL identifier (our names are `[a-z0-9_]`).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', ""))
}

async fn applied_migrations(db: &impl ConnectionTrait) -> Result<Vec<String>, TenancyError> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT version FROM {} ORDER BY version",
                quote(MIGRATIONS_TABLE)
            ),
        ))
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.try_get_by_index::<String>(0).ok())
        .collect())
}

/// Rows of `from` (optionally `WHERE column = value`) as canonical JSON values.
async fn select_rows(
    db: &impl ConnectionTrait,
    from: &str,
    columns: &[(String, Kind)],
    filter: Option<(&str, &str)>,
) -> Result<Vec<Vec<Json>>, TenancyError> {
    let backend = db.get_database_backend();
    let list: Vec<String> = columns.iter().map(|(c, _)| quote(c)).collect();
    let mut sql = format!("SELECT {} FROM {from}", list.join(", "));
    let mut values = Vec::new();
    if let Some((column, value)) = filter {
        let p = if backend == DbBackend::Postgres {
            "$1"
        } else {
            "?"
        };
        sql.push_str(&format!(" WHERE {} = {p}", quote(column)));
        values.push(Value::from(value));
    }
    sql.push_str(" ORDER BY 1");
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    rows.iter()
        .map(|r| {
            columns
                .iter()
                .enumerate()
                .map(|(i, (_, kind))| read(r, i, *kind, backend))
                .collect()
        })
        .collect()
}

fn read(r: &QueryResult, i: usize, kind: Kind, backend: DbBackend) -> Result<Json, TenancyError> {
    fn get<T: sea_orm::TryGetable>(r: &QueryResult, i: usize) -> Result<Option<T>, TenancyError> {
        Ok(r.try_get_by_index::<Option<T>>(i)?)
    }
    let json = match kind {
        Kind::Int if backend == DbBackend::Postgres => get::<i32>(r, i)?.map(Json::from),
        Kind::Int | Kind::BigInt => get::<i64>(r, i)?.map(Json::from),
        Kind::Bool => get::<bool>(r, i)?.map(Json::from),
        Kind::Text => get::<String>(r, i)?.map(Json::from),
        Kind::Bytes => get::<Vec<u8>>(r, i)?
            .map(|b| Json::from(base64::engine::general_purpose::STANDARD.encode(b))),
        Kind::Date => get::<NaiveDate>(r, i)?.map(|d| Json::from(d.to_string())),
        Kind::Timestamp => get::<NaiveDateTime>(r, i)?
            .map(|d| Json::from(d.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())),
        Kind::TimestampTz => get::<DateTime<Utc>>(r, i)?
            .map(|d| Json::from(d.to_rfc3339_opts(SecondsFormat::Micros, true))),
    };
    Ok(json.unwrap_or(Json::Null))
}

/// A canonical JSON value as a value to bind for a column of `kind`.
fn bind(v: &Json, kind: Kind) -> Result<Value, String> {
    let wrong = || format!("{v} is not a {kind:?} value");
    let text = || v.as_str().ok_or_else(wrong);
    Ok(match (kind, v.is_null()) {
        (Kind::Int, true) => Value::Int(None),
        (Kind::BigInt, true) => Value::BigInt(None),
        (Kind::Bool, true) => Value::Bool(None),
        (Kind::Text, true) => Value::String(None),
        (Kind::Bytes, true) => Value::Bytes(None),
        (Kind::Date, true) => Value::ChronoDate(None),
        (Kind::Timestamp, true) => Value::ChronoDateTime(None),
        (Kind::TimestampTz, true) => Value::ChronoDateTimeUtc(None),
        (Kind::Int, false) => Value::Int(Some(
            v.as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(wrong)?,
        )),
        (Kind::BigInt, false) => Value::BigInt(Some(v.as_i64().ok_or_else(wrong)?)),
        (Kind::Bool, false) => Value::Bool(Some(match v {
            Json::Bool(b) => *b,
            Json::Number(n) => n.as_i64() != Some(0),
            _ => return Err(wrong()),
        })),
        (Kind::Text, false) => Value::String(Some(text()?.to_owned())),
        (Kind::Bytes, false) => Value::Bytes(Some(
            base64::engine::general_purpose::STANDARD
                .decode(text()?)
                .map_err(|_| wrong())?,
        )),
        (Kind::Date, false) => Value::ChronoDate(Some(text()?.parse().map_err(|_| wrong())?)),
        (Kind::Timestamp, false) => Value::ChronoDateTime(Some(
            NaiveDateTime::parse_from_str(text()?, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| wrong())?,
        )),
        (Kind::TimestampTz, false) => Value::ChronoDateTimeUtc(Some(
            DateTime::parse_from_rfc3339(text()?)
                .map_err(|_| wrong())?
                .with_timezone(&Utc),
        )),
    })
}

/// Inserts `rows` into `table`, in the columns this deployment has (a column
/// the export lacks takes its default; one this deployment lacks is refused).
async fn insert_rows(
    db: &impl ConnectionTrait,
    table: &str,
    schema: Option<&str>,
    h: &TableHeader,
    rows: &[Vec<Json>],
    sealed: &[&str],
    secrets: &dyn Secrets,
) -> Result<(), TenancyError> {
    if rows.is_empty() {
        return Ok(());
    }
    let target: Vec<(String, Kind)> = Backend::columns_of(db, schema, table).await?;
    if target.is_empty() {
        return Err(TenancyError::Config(format!(
            "no table {table} in this deployment"
        )));
    }
    let mut kinds = Vec::with_capacity(h.columns.len());
    for (name, _) in &h.columns {
        let Some((_, kind)) = target.iter().find(|(n, _)| n == name) else {
            return Err(TenancyError::Config(format!(
                "column {table}.{name} of the export does not exist here"
            )));
        };
        kinds.push(*kind);
    }
    for chunk in rows.chunks(BATCH) {
        let mut q = Query::insert();
        match schema {
            Some(s) => q.into_table((Alias::new(s), Alias::new(table))),
            None => q.into_table(Alias::new(table)),
        };
        q.columns(h.columns.iter().map(|(c, _)| Alias::new(c)));
        if table == "audit_log" {
            // Kept when a reseller is purged: a re-import finds its old entries.
            q.on_conflict(
                sea_orm::sea_query::OnConflict::new()
                    .do_nothing()
                    .to_owned(),
            );
        }
        for row in chunk {
            let mut values = Vec::with_capacity(row.len());
            for (i, v) in row.iter().enumerate() {
                let name = h.columns[i].0.as_str();
                let v = match (sealed.contains(&name), v.as_str()) {
                    (true, Some(plain)) => Json::String(secrets.seal(plain)),
                    _ => v.clone(),
                };
                let bound = bind(&v, kinds[i])
                    .map_err(|e| TenancyError::Config(format!("{table}.{name}: {e}")))?;
                values.push(bound.into());
            }
            q.values(values)
                .map_err(|e| TenancyError::Config(e.to_string()))?;
        }
        db.execute(&q).await?;
    }
    Ok(())
}

impl Backend {
    /// A read-only transaction on one snapshot of the tenant's schema and the
    /// shared one.
    pub(crate) async fn begin_snapshot(
        &self,
        schema: &str,
    ) -> Result<DatabaseTransaction, TenancyError> {
        match &self.store {
            Store::Postgres { db } => {
                let txn = db
                    .begin_with_config(
                        Some(sea_orm::IsolationLevel::RepeatableRead),
                        Some(sea_orm::AccessMode::ReadOnly),
                    )
                    .await?;
                crate::backend::set_search_path(&txn, &format!("{schema},shared")).await?;
                Ok(txn)
            }
            Store::Sqlite { .. } => self.begin_sqlite_operator_view(schema).await,
        }
    }

    /// The tenant's tables, without the migration bookkeeping.
    async fn tenant_tables(
        &self,
        db: &impl ConnectionTrait,
        schema: &str,
    ) -> Result<Vec<String>, TenancyError> {
        let stmt = match self.kind() {
            BackendKind::Postgres => Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1",
                [schema.into()],
            ),
            BackendKind::Sqlite => Statement::from_string(
                DbBackend::Sqlite,
                "SELECT name FROM main.sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' ORDER BY 1",
            ),
        };
        Ok(db
            .query_all_raw(stmt)
            .await?
            .iter()
            .filter_map(|r| r.try_get_by_index::<String>(0).ok())
            .filter(|t| t != MIGRATIONS_TABLE)
            .collect())
    }

    async fn columns(
        &self,
        db: &impl ConnectionTrait,
        scope: Scope,
        table: &str,
    ) -> Result<Vec<(String, Kind)>, TenancyError> {
        Self::columns_of(db, (scope == Scope::Shared).then_some("shared"), table).await
    }

    /// Columns of `table` in `schema` (`None`: the tenant's), in table order.
    async fn columns_of(
        db: &impl ConnectionTrait,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Vec<(String, Kind)>, TenancyError> {
        let stmt = match db.get_database_backend() {
            DbBackend::Postgres => Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = COALESCE($1, current_schema()) AND table_name = $2 \
                 ORDER BY ordinal_position",
                [schema.map(str::to_owned).into(), table.into()],
            ),
            _ => Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT name, type FROM pragma_table_info(?, ?) ORDER BY cid",
                [table.into(), schema.unwrap_or("main").into()],
            ),
        };
        Ok(db
            .query_all_raw(stmt)
            .await?
            .iter()
            .filter_map(|r| {
                let name = r.try_get_by_index::<String>(0).ok()?;
                let declared = r.try_get_by_index::<String>(1).unwrap_or_default();
                Some((name, Kind::of(&declared)))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_declared_types_of_both_backends() {
        for (declared, kind) in [
            ("timestamp with time zone", Kind::TimestampTz),
            ("timestamp_with_timezone_text", Kind::TimestampTz),
            ("timestamp without time zone", Kind::Timestamp),
            ("timestamp_text", Kind::Timestamp),
            ("date", Kind::Date),
            ("date_text", Kind::Date),
            ("boolean", Kind::Bool),
            ("bigint", Kind::BigInt),
            ("integer", Kind::Int),
            ("bytea", Kind::Bytes),
            ("blob", Kind::Bytes),
            ("character varying", Kind::Text),
            ("varchar(40)", Kind::Text),
            ("text", Kind::Text),
        ] {
            assert_eq!(Kind::of(declared), kind, "{declared}");
        }
    }

    #[test]
    fn values_bind_by_kind_and_bad_ones_name_the_problem() {
        assert_eq!(bind(&Json::from(5), Kind::Int), Ok(Value::Int(Some(5))));
        assert_eq!(
            bind(&Json::from("AAE="), Kind::Bytes),
            Ok(Value::Bytes(Some(vec![0, 1])))
        );
        assert!(bind(&Json::from("2026-13-01"), Kind::Date).is_err());
        assert!(bind(&Json::from(i64::MAX), Kind::Int).is_err());
        assert_eq!(
            bind(
                &Json::from("2026-12-01T04:00:00.000001Z"),
                Kind::TimestampTz
            ),
            Ok(Value::ChronoDateTimeUtc(Some(
                DateTime::parse_from_rfc3339("2026-12-01T04:00:00.000001Z")
                    .unwrap()
                    .with_timezone(&Utc)
            )))
        );
        assert_eq!(bind(&Json::Null, Kind::Text), Ok(Value::String(None)));
    }
}
