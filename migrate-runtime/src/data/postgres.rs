//! The [`Handle`](super::Handle) on PostgreSQL: tokio-postgres calls. A
//! [`Value`] is sent as the type the server expects for its parameter (an
//! integer as `int2`, `int4` or `int8`, say), so one value fits any
//! column; columns are read back by their type.

use super::{database_error, DataError, Handle, Inner, Row, Value};
use crate::apply::Interrupt;
use bytes::BytesMut;
use std::error::Error;
use std::sync::Arc;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::Client;

impl<'a> Handle<'a> {
    /// A handle on `client`, inside the transaction the engine opened.
    /// `interrupt` stops it before its next call once requested.
    pub(crate) fn on_postgres(client: &'a Client, interrupt: &Interrupt) -> Handle<'a> {
        Handle { inner: Inner::Postgres(client), interrupt: interrupt.clone() }
    }
}

type BoxError = Box<dyn Error + Sync + Send>;

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(v) => integer(*v, ty, out),
            Value::Real(v) => match *ty {
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Value::Text(v) => v.as_str().to_sql(ty, out),
            Value::Blob(v) => v.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Which Rust type a value is sent as is decided per parameter
        // above; the server's reply names a value that fits none.
        true
    }

    to_sql_checked!();
}

fn integer(v: i64, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        Type::INT2 => i16::try_from(v)?.to_sql(ty, out),
        Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
        Type::BOOL => (v != 0).to_sql(ty, out),
        Type::FLOAT8 => (v as f64).to_sql(ty, out),
        _ => v.to_sql(ty, out),
    }
}

fn params(values: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

pub(super) async fn execute(client: &Client, sql: &str, values: &[Value]) -> Result<u64, DataError> {
    client.execute(sql, &params(values)).await.map_err(|e| database_error(sql, e))
}

pub(super) async fn execute_many(client: &Client, sql: &str, rows: &[Vec<Value>]) -> Result<u64, DataError> {
    let statement = client.prepare(sql).await.map_err(|e| database_error(sql, e))?;
    let mut changed = 0;
    for values in rows {
        changed += client.execute(&statement, &params(values)).await.map_err(|e| database_error(sql, e))?;
    }
    Ok(changed)
}

pub(super) async fn query(client: &Client, sql: &str, values: &[Value]) -> Result<Vec<Row>, DataError> {
    let rows = client.query(sql, &params(values)).await.map_err(|e| database_error(sql, e))?;
    let Some(first) = rows.first() else { return Ok(Vec::new()) };
    let columns: Arc<[String]> = first.columns().iter().map(|c| c.name().to_string()).collect();
    rows.iter()
        .map(|row| {
            let values = (0..columns.len()).map(|i| value_of(row, i)).collect::<Result<_, _>>()?;
            Ok(Row { columns: columns.clone(), values })
        })
        .collect()
}

/// Column `i` of `row` as a [`Value`], by its type.
fn value_of(row: &tokio_postgres::Row, i: usize) -> Result<Value, DataError> {
    let column = &row.columns()[i];
    let failed = |e: tokio_postgres::Error| DataError::Column {
        column: column.name().to_string(),
        reason: e.to_string(),
    };
    let value = match *column.type_() {
        Type::INT2 => row.try_get::<_, Option<i16>>(i).map_err(failed)?.map(|v| Value::Integer(v.into())),
        Type::INT4 => row.try_get::<_, Option<i32>>(i).map_err(failed)?.map(|v| Value::Integer(v.into())),
        Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(failed)?.map(Value::Integer),
        Type::BOOL => row.try_get::<_, Option<bool>>(i).map_err(failed)?.map(|v| Value::Integer(v.into())),
        Type::FLOAT4 => row.try_get::<_, Option<f32>>(i).map_err(failed)?.map(|v| Value::Real(v.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i).map_err(failed)?.map(Value::Real),
        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i).map_err(failed)?.map(Value::Blob),
        _ => row.try_get::<_, Option<String>>(i).map_err(|_| DataError::Column {
            column: column.name().to_string(),
            reason: format!(
                "type {} is not read by the handle: cast it to text in the query, or use `Handle::postgres()`",
                column.type_()
            ),
        })?.map(Value::Text),
    };
    Ok(value.unwrap_or(Value::Null))
}
