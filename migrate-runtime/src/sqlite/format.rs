//! The history table's format on SQLite (see `apply::format`): found from
//! the companion table, else from the table's columns; upgraded inside the
//! caller's `BEGIN IMMEDIATE` transaction, so no other migrator sees a
//! half-upgraded table and a failure leaves the old one as it was.

use super::{database, table_exists};
use crate::apply::format::{self, Found};
use crate::apply::history;
use crate::apply::Options;
use crate::model::error::ApplyError;
use crate::model::revision::Dialect;
use rusqlite::{Connection, OptionalExtension};

/// The format to read the history table with; `None` without a table.
/// Refuses one written by a newer release. Only reads.
pub(super) fn readable(conn: &Connection, options: &Options) -> Result<Option<u32>, ApplyError> {
    let Some(found) = found(conn, options)? else { return Ok(None) };
    found.check(&options.history_table)?;
    Ok(Some(found.number))
}

/// Creates the history table with its format record, or brings an
/// existing one to the current format.
pub(super) fn create_or_upgrade(tx: &Connection, options: &Options) -> Result<(), ApplyError> {
    let table = &options.history_table;
    match found(tx, options)? {
        None => {
            let sql = history::create_table_sql(Dialect::Sqlite, table) + ";\n" + &format::record_sql(table);
            tx.execute_batch(&sql).map_err(database)
        }
        Some(found) => upgrade(tx, options, &found),
    }
}

/// Brings an existing history table to the current format; without one,
/// does nothing.
pub(super) fn upgrade_existing(tx: &Connection, options: &Options) -> Result<(), ApplyError> {
    match found(tx, options)? {
        Some(found) => upgrade(tx, options, &found),
        None => Ok(()),
    }
}

fn upgrade(tx: &Connection, options: &Options, found: &Found) -> Result<(), ApplyError> {
    found.check(&options.history_table)?;
    if !found.needs_upgrade() {
        return Ok(());
    }
    tx.execute_batch(&format::upgrade_sql(Dialect::Sqlite, &options.history_table, found)).map_err(database)
}

fn found(conn: &Connection, options: &Options) -> Result<Option<Found>, ApplyError> {
    let table = &options.history_table;
    if !table_exists(conn, table)? {
        return Ok(None);
    }
    if table_exists(conn, &format::format_table(table))? {
        let record = conn
            .query_row(&format::select_sql(table), [], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .optional()
            .map_err(database)?;
        if let Some((number, written_by)) = record {
            // A number no release writes (negative, huge) is as unknown as
            // a newer one.
            return Ok(Some(Found::recorded(u32::try_from(number).unwrap_or(u32::MAX), written_by)));
        }
    }
    let sql = "SELECT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE name = 'depends_on')";
    let has_depends_on = conn.query_row(sql, [table], |r| r.get(0)).map_err(database)?;
    Ok(Some(Found::by_columns(has_depends_on)))
}
