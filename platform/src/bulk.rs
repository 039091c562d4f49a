//! Many rows of one table in one statement.
//!
//! Each tenant has its own schema, so PostgreSQL analyses and plans a prepared
//! statement afresh whenever it runs in another schema than last time on that
//! connection. For an `INSERT ... VALUES` of many rows that costs in proportion
//! to the rows, since every parameter is analysed. On PostgreSQL the rows go
//! instead as one JSON parameter that `json_populate_recordset` expands into the
//! table's own row type, which is analysed and planned in the same short time
//! whatever the number of rows. SQLite plans on its own file and gets batched
//! `VALUES`.

use relabel_tenants::TenantTx;
use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, EntityTrait, IdenStatic, IntoActiveModel, Iterable,
    Statement,
};

/// Rows per statement: SQLite binds each value (at most 32,766 per statement).
fn per_statement<E: EntityTrait>() -> usize {
    let columns = E::Column::iter().count().max(1);
    (30_000 / columns).max(1)
}

/// Inserts `rows` into `E`'s table in the transaction's schema. With `skip` a
/// row whose value in that unique column already exists is left out (`ON
/// CONFLICT DO NOTHING`), as for jobs with an idempotency key.
pub async fn insert<E>(
    tx: &TenantTx,
    rows: &[E::Model],
    skip: Option<E::Column>,
) -> Result<(), DbErr>
where
    E: EntityTrait,
    E::Model: serde::Serialize + IntoActiveModel<E::ActiveModel> + Clone,
{
    let conn = tx.conn();
    if conn.get_database_backend() != DbBackend::Postgres {
        for chunk in rows.chunks(per_statement::<E>()) {
            let insert = E::insert_many(
                chunk
                    .iter()
                    .cloned()
                    .map(IntoActiveModel::into_active_model),
            );
            match skip {
                Some(c) => {
                    insert
                        .on_conflict_do_nothing_on([c])
                        .exec_without_returning(conn)
                        .await?;
                }
                None => {
                    insert.exec_without_returning(conn).await?;
                }
            }
        }
        return Ok(());
    }
    let table = E::default().table_name().to_owned();
    let columns = E::Column::iter()
        .map(|c| format!("\"{}\"", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let conflict = skip
        .map(|c| format!(" ON CONFLICT (\"{}\") DO NOTHING", c.as_str()))
        .unwrap_or_default();
    let sql = format!(
        "INSERT INTO \"{table}\" ({columns}) SELECT {columns} \
         FROM json_populate_recordset(NULL::\"{table}\", $1::json){conflict}"
    );
    for chunk in rows.chunks(5_000) {
        let json = serde_json::to_string(chunk).map_err(|e| DbErr::Custom(e.to_string()))?;
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql.clone(),
            [json.into()],
        ))
        .await?;
    }
    Ok(())
}
