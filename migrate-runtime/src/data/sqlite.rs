//! The [`Handle`](super::Handle) on SQLite: rusqlite calls, parameters
//! `$1`, `$2`… bound by name (SQLite numbers named parameters in the order
//! they first appear, which need not be theirs).

use super::{database_error, DataError, Handle, Inner, Row, Value};
use crate::apply::Interrupt;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, Statement};
use std::sync::Arc;

impl<'a> Handle<'a> {
    /// A handle on `conn`, inside the transaction the engine opened.
    /// `interrupt` stops it before its next call once requested.
    pub(crate) fn on_sqlite(conn: &'a Connection, interrupt: &Interrupt) -> Handle<'a> {
        Handle { inner: Inner::Sqlite(conn), interrupt: interrupt.clone() }
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Integer(v) => ValueRef::Integer(*v),
            Value::Real(v) => ValueRef::Real(*v),
            Value::Text(v) => ValueRef::Text(v.as_bytes()),
            Value::Blob(v) => ValueRef::Blob(v),
        }))
    }
}

fn bind(statement: &mut Statement<'_>, sql: &str, params: &[Value]) -> Result<(), DataError> {
    for (i, value) in params.iter().enumerate() {
        let name = format!("${}", i + 1);
        let index = statement.parameter_index(&name).map_err(|e| database_error(sql, e))?;
        let index = index.ok_or_else(|| DataError::Database {
            sql: sql.to_string(),
            message: format!("{} parameters given, but the statement has no `{name}`", params.len()),
        })?;
        statement.raw_bind_parameter(index, value).map_err(|e| database_error(sql, e))?;
    }
    Ok(())
}

pub(super) fn execute(conn: &Connection, sql: &str, params: &[Value]) -> Result<u64, DataError> {
    let mut statement = conn.prepare_cached(sql).map_err(|e| database_error(sql, e))?;
    bind(&mut statement, sql, params)?;
    statement.raw_execute().map(|n| n as u64).map_err(|e| database_error(sql, e))
}

pub(super) fn execute_many(conn: &Connection, sql: &str, rows: &[Vec<Value>]) -> Result<u64, DataError> {
    rows.iter().map(|params| execute(conn, sql, params)).sum()
}

pub(super) fn query(conn: &Connection, sql: &str, params: &[Value]) -> Result<Vec<Row>, DataError> {
    let mut statement = conn.prepare_cached(sql).map_err(|e| database_error(sql, e))?;
    bind(&mut statement, sql, params)?;
    let columns: Arc<[String]> = statement.column_names().into_iter().map(str::to_string).collect();
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| database_error(sql, e))? {
        let values = (0..columns.len())
            .map(|i| row.get_ref(i).map(value_of).map_err(|e| database_error(sql, e)))
            .collect::<Result<_, _>>()?;
        out.push(Row { columns: columns.clone(), values });
    }
    Ok(out)
}

fn value_of(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(v) => Value::Integer(v),
        ValueRef::Real(v) => Value::Real(v),
        ValueRef::Text(v) => Value::Text(String::from_utf8_lossy(v).into_owned()),
        ValueRef::Blob(v) => Value::Blob(v.to_vec()),
    }
}
