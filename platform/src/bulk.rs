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
use sea_orm::sea_query::Value;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, IdenStatic, IntoActiveModel,
    Iterable, Statement,
};
use serde_json::Value as Json;

/// Rows per statement: SQLite binds each value (at most 32,766 per statement).
fn per_statement<E: EntityTrait>() -> usize {
    let columns = E::Column::iter().count().max(1);
    (30_000 / columns).max(1)
}

/// A column value as `json_populate_recordset` reads it into the column's type:
/// timestamps to the microsecond as the driver binds them, bytes in bytea's hex
/// form, decimals as text. `None` for a kind of value it does not carry.
fn json_of(value: Value) -> Option<Json> {
    use chrono::{SecondsFormat, SubsecRound};
    Some(match value {
        Value::Bool(v) => v.map_or(Json::Null, Json::Bool),
        Value::TinyInt(v) => v.map_or(Json::Null, Json::from),
        Value::SmallInt(v) => v.map_or(Json::Null, Json::from),
        Value::Int(v) => v.map_or(Json::Null, Json::from),
        Value::BigInt(v) => v.map_or(Json::Null, Json::from),
        Value::String(v) => v.map_or(Json::Null, Json::String),
        Value::Bytes(v) => v.map_or(Json::Null, |bytes| {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            Json::String(format!("\\x{hex}"))
        }),
        Value::ChronoDateTimeUtc(v) => v.map_or(Json::Null, |t| {
            Json::String(
                t.trunc_subsecs(6)
                    .to_rfc3339_opts(SecondsFormat::Micros, true),
            )
        }),
        Value::Json(v) => v.map_or(Json::Null, |j| *j),
        Value::Decimal(v) => v.map_or(Json::Null, |d| Json::String(d.to_string())),
        _ => return None,
    })
}

/// `rows` as one JSON array of objects keyed by column name, from the values the
/// entity writes (not its serde form, which may skip or rename fields). `None`
/// when a value is of a kind [`json_of`] does not carry.
fn json_rows<E>(rows: &[E::Model]) -> Option<String>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel> + Clone,
{
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let am = row.clone().into_active_model();
        let mut object = serde_json::Map::new();
        for c in E::Column::iter() {
            if let Some(v) = am.get(c).into_value() {
                object.insert(c.as_str().to_owned(), json_of(v)?);
            }
        }
        out.push(Json::Object(object));
    }
    serde_json::to_string(&out).ok()
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
    E::Model: IntoActiveModel<E::ActiveModel> + Clone,
{
    let conn = tx.conn();
    let postgres = conn.get_database_backend() == DbBackend::Postgres;
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
    for chunk in rows.chunks(if postgres {
        5_000
    } else {
        per_statement::<E>()
    }) {
        if postgres && let Some(json) = json_rows::<E>(chunk) {
            conn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql.clone(),
                [json.into()],
            ))
            .await?;
            continue;
        }
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn values_go_into_json_as_postgres_reads_them() {
        let t = chrono::Utc
            .with_ymd_and_hms(2026, 12, 1, 10, 0, 0)
            .unwrap()
            .checked_add_signed(chrono::Duration::nanoseconds(123_456_789))
            .unwrap();
        assert_eq!(
            json_of(Value::ChronoDateTimeUtc(Some(t))),
            Some(Json::String("2026-12-01T10:00:00.123456Z".into()))
        );
        assert_eq!(
            json_of(Value::Bytes(Some(vec![0, 0x5c, 0xff]))),
            Some(Json::String("\\x005cff".into()))
        );
        assert_eq!(json_of(Value::Bytes(None)), Some(Json::Null));
        assert_eq!(
            json_of(Value::BigInt(Some(i64::MAX))),
            Some(Json::from(i64::MAX))
        );
        assert_eq!(json_of(Value::Float(Some(1.5))), None);
    }

    #[test]
    fn the_billing_rows_go_as_json() {
        use crate::billing::{invoice_line, ledger_entry};
        let at = chrono::Utc::now();
        let job = crate::jobs::entity::Model {
            id: "j".into(),
            kind: "k".into(),
            reference: "r".into(),
            idempotency_key: "key".into(),
            payload: "{}".into(),
            status: "queued".into(),
            attempts: 0,
            run_after: at,
            last_error: None,
            created_at: at,
            updated_at: at,
            locked_by: None,
        };
        let json = json_rows::<crate::jobs::entity::Entity>(&[job]).unwrap();
        assert!(json.contains(r#""idempotency_key":"key""#), "{json}");
        assert!(json.contains(r#""last_error":null"#), "{json}");
        let entry = ledger_entry::Model {
            id: "e".into(),
            customer_id: "c".into(),
            kind: "invoice".into(),
            amount_minor: -119,
            currency: "EUR".into(),
            document_id: Some("d".into()),
            reference: None,
            note: None,
            actor: "a".into(),
            created_at: at,
        };
        assert!(json_rows::<ledger_entry::Entity>(&[entry]).is_some());
        let line = invoice_line::Model {
            id: "l".into(),
            invoice_id: "i".into(),
            position: 1,
            service_id: None,
            order_item_id: None,
            product_id: None,
            description: "Hosting".into(),
            period_start: Some(at),
            period_end: None,
            quantity_milli: 1000,
            unit: "MON".into(),
            unit_net_minor: 599,
            net_minor: 599,
            vat_rate_bp: 1900,
            vat_category: "S".into(),
            generation: 0,
        };
        assert!(json_rows::<invoice_line::Entity>(&[line]).is_some());
    }
}
