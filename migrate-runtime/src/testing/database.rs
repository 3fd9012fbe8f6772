//! The database the harness and data hooks talk to: the [`TestDatabase`]
//! trait and its SQLite and PostgreSQL implementations.

use crate::model::error::DatabaseError;
use crate::schema::Schema;
use crate::Dialect;
use std::collections::BTreeMap;

/// A database as the harness and data hooks see it, whatever the driver.
/// Errors are the driver's, in the words this crate prints them with.
pub trait TestDatabase {
    fn dialect(&self) -> Dialect;
    /// Runs one or more statements.
    fn execute(&mut self, sql: &str) -> Result<(), DatabaseError>;
    /// The rows of a query, every value as text (`None` for NULL).
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DatabaseError>;
    /// The schema, without the history table.
    fn schema(&mut self, history_table: &str) -> Result<Schema, DatabaseError>;

    /// A cheap digest per object (`table user`, `view v`, …): equal digests
    /// mean equal objects; different ones may still describe the same
    /// object. The walk compares these first and re-reads only what differs.
    fn object_fingerprints(
        &mut self,
        history_table: &str,
    ) -> Result<BTreeMap<String, String>, DatabaseError> {
        Ok(self.schema(history_table)?.object_digests())
    }

    /// The schema of only the objects named (as in [`TestDatabase::object_fingerprints`]).
    fn schema_of(&mut self, history_table: &str, objects: &[String]) -> Result<Schema, DatabaseError> {
        Ok(self.schema(history_table)?.only(objects))
    }
}

/// `table user` → `user`: the names drivers filter introspection by.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn object_names(objects: &[String]) -> Vec<String> {
    objects.iter().map(|o| o.split_once(' ').map_or(o.as_str(), |(_, name)| name).to_string()).collect()
}

#[cfg(feature = "sqlite")]
impl TestDatabase for rusqlite::Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str) -> Result<(), DatabaseError> {
        self.execute_batch(sql).map_err(DatabaseError::from)
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DatabaseError> {
        let mut statement = self.prepare(sql)?;
        let width = statement.column_count();
        let rows = statement.query_map([], |row| {
            (0..width)
                .map(|i| {
                    let value: rusqlite::types::Value = row.get(i)?;
                    Ok(match value {
                        rusqlite::types::Value::Null => None,
                        rusqlite::types::Value::Integer(i) => Some(i.to_string()),
                        rusqlite::types::Value::Real(f) => Some(f.to_string()),
                        rusqlite::types::Value::Text(t) => Some(t),
                        rusqlite::types::Value::Blob(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                    })
                })
                .collect()
        })?;
        rows.collect::<Result<_, _>>().map_err(DatabaseError::from)
    }

    fn schema(&mut self, history_table: &str) -> Result<Schema, DatabaseError> {
        crate::sqlite::introspect::introspect(self, history_table).map_err(DatabaseError::from)
    }

    fn object_fingerprints(
        &mut self,
        history_table: &str,
    ) -> Result<BTreeMap<String, String>, DatabaseError> {
        crate::sqlite::introspect::object_fingerprints(self, history_table).map_err(DatabaseError::from)
    }

    fn schema_of(&mut self, history_table: &str, objects: &[String]) -> Result<Schema, DatabaseError> {
        crate::sqlite::introspect::introspect_objects(self, history_table, Some(&object_names(objects)))
            .map_err(DatabaseError::from)
    }
}

#[cfg(feature = "postgres")]
impl TestDatabase for crate::database::PostgresConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str) -> Result<(), DatabaseError> {
        self.block_on(self.client().batch_execute(sql)).map_err(DatabaseError::from)
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DatabaseError> {
        let messages = self.block_on(self.client().simple_query(sql)).map_err(DatabaseError::from)?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => {
                    Some((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .collect())
    }

    fn schema(&mut self, history_table: &str) -> Result<Schema, DatabaseError> {
        self.block_on(crate::postgres::introspect::introspect(self.client(), history_table))
            .map_err(DatabaseError::from)
    }

    fn object_fingerprints(
        &mut self,
        history_table: &str,
    ) -> Result<BTreeMap<String, String>, DatabaseError> {
        self.block_on(crate::postgres::introspect::object_fingerprints(self.client(), history_table))
            .map_err(DatabaseError::from)
    }

    fn schema_of(&mut self, history_table: &str, objects: &[String]) -> Result<Schema, DatabaseError> {
        let names = object_names(objects);
        self.block_on(crate::postgres::introspect::introspect_objects(
            self.client(),
            history_table,
            Some(&names),
        ))
        .map_err(DatabaseError::from)
    }
}

/// `url` pointing at database `name` instead. A `key=value` string gets a
/// `dbname` pair at its end, which wins over an earlier one.
#[cfg(feature = "postgres")]
pub fn database_url(url: &str, name: &str) -> String {
    if !url.contains("://") {
        return format!("{url} dbname={}", crate::database::libpq::quote(name));
    }
    let (base, query) = url.split_once('?').map_or((url, None), |(base, query)| (base, Some(query)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..].find('/').map_or(base.len(), |i| authority + i);
    match query {
        Some(query) => format!("{}/{name}?{query}", &base[..path]),
        None => format!("{}/{name}", &base[..path]),
    }
}
