//! The history table's format on PostgreSQL (see `apply::format`): found
//! from the companion table, else from the catalogue; upgraded inside the
//! caller's transaction, which holds the migration lock, so two migrators
//! never upgrade at once and a failure leaves the old table as it was.

use super::database;
use crate::apply::format::{self, Found};
use crate::apply::history;
use crate::model::error::ApplyError;
use crate::model::revision::Dialect;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, SimpleQueryMessage};

/// Whether the history table `$1` and its format record `$2` exist where
/// `CREATE TABLE` puts them, and whether the history table has the
/// `depends_on` column. A catalogue query, not `to_regclass`: that looks
/// names up in the backend's caches without taking a lock, and a pooled
/// backend that waited for our lock while another migrator created the
/// table can still hold "no such table" there.
const LAYOUT: &str = "WITH t AS (SELECT c.oid, c.relname FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relname IN ($1, $2)) \
     SELECT EXISTS (SELECT 1 FROM t WHERE relname = $1), EXISTS (SELECT 1 FROM t WHERE relname = $2), \
     EXISTS (SELECT 1 FROM pg_attribute a JOIN t ON t.oid = a.attrelid \
     WHERE t.relname = $1 AND a.attname = 'depends_on' AND NOT a.attisdropped)";

/// The history table's format; `None` without a table. Only reads.
pub(super) async fn found(client: &Client, table: &str) -> Result<Option<Found>, ApplyError> {
    let format_table = format::format_table(table);
    let params =
        [(&table as &(dyn tokio_postgres::types::ToSql + Sync), Type::NAME), (&format_table, Type::NAME)];
    let rows = client.query_typed(LAYOUT, &params).await.map_err(database)?;
    let Some(row) = rows.first() else { return Ok(None) };
    let (history, record, has_depends_on): (bool, bool, bool) = (row.get(0), row.get(1), row.get(2));
    if !history {
        return Ok(None);
    }
    if record {
        let messages = client.simple_query(&format::select_sql(table)).await.map_err(database)?;
        if let Some(found) = record_in(&messages) {
            return Ok(Some(found));
        }
    }
    Ok(Some(Found::by_columns(has_depends_on)))
}

/// The format record among `messages`, the reply to
/// [`format::select_sql`] (first, when a query sent more).
pub(super) fn record_in(messages: &[SimpleQueryMessage]) -> Option<Found> {
    let row = messages.iter().take_while(|m| !matches!(m, SimpleQueryMessage::CommandComplete(_))).find_map(
        |m| match m {
            SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        },
    )?;
    // A number no release writes (negative, huge) is as unknown as a
    // newer one.
    let number = row.get(0).and_then(|n| n.parse().ok()).unwrap_or(u32::MAX);
    Some(Found::recorded(number, row.get(1).unwrap_or_default().to_string()))
}

/// Creates the history table with this release's format record.
pub(super) async fn create(client: &Client, table: &str) -> Result<(), ApplyError> {
    let sql = history::create_table_sql(Dialect::Postgres, table) + ";\n" + &format::record_sql(table);
    client.batch_execute(&sql).await.map_err(database)
}

/// Brings an existing history table to the current format, refusing one
/// a newer release wrote.
pub(super) async fn upgrade(client: &Client, table: &str, found: &Found) -> Result<(), ApplyError> {
    found.check(table)?;
    if !found.needs_upgrade() {
        return Ok(());
    }
    client.batch_execute(&format::upgrade_sql(Dialect::Postgres, table, found)).await.map_err(database)
}
