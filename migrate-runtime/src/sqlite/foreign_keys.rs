//! Foreign keys around a revision that asks for them off: SQLite's table
//! rebuild of a table other tables reference (steps 1, 10 and 12 of its
//! documented procedure). `PRAGMA foreign_keys` is a no-op inside a
//! transaction, so the engine switches it between transactions, checks what
//! the revision left before it commits, and puts the connection's setting
//! back when the run ends.

use super::{database, DIALECT};
use crate::model::error::ApplyError;
use crate::model::location::Location;
use crate::model::revision::{Revision, Section};
use crate::model::Direction;
use crate::sql::pragmas::turns_foreign_keys_off;
use rusqlite::Connection;

/// The connection's enforcement as it was when a run began, switched off for
/// the transactions of revisions that ask for it and put back when the run
/// ends, whatever way it ends.
pub(super) struct ForeignKeys<'c> {
    conn: &'c Connection,
    enforced_at_start: bool,
    off: bool,
}

impl<'c> ForeignKeys<'c> {
    pub(super) fn read(conn: &'c Connection) -> Result<ForeignKeys<'c>, ApplyError> {
        Ok(ForeignKeys { conn, enforced_at_start: enforced(conn)?, off: false })
    }

    /// Sets enforcement for the next transaction. Read back each time, as a
    /// `transaction: none` revision may have run the pragma itself.
    pub(super) fn apply(&self) -> Result<(), ApplyError> {
        set(self.conn, self.enforced_at_start && !self.off)
    }

    /// Whether the current transaction must end, so the next one runs with
    /// foreign keys off (`wanted`) or back on; remembers the wish.
    pub(super) fn must_switch(&mut self, wanted: bool) -> bool {
        let switch = self.enforced_at_start && wanted != self.off;
        self.off = wanted;
        switch
    }

    /// Whether this run turned them off for the current transaction.
    pub(super) fn off(&self) -> bool {
        self.enforced_at_start && self.off
    }
}

impl Drop for ForeignKeys<'_> {
    fn drop(&mut self) {
        // Best effort: after a failed revision the pragma runs outside any
        // transaction, and a connection that cannot run it is broken anyway.
        let _ = set(self.conn, self.enforced_at_start);
    }
}

/// Whether the section a step runs turns foreign keys off (see
/// [`turns_foreign_keys_off`]).
pub(super) fn wants_them_off(revision: &Revision, direction: Direction) -> bool {
    let section = match direction {
        Direction::Upgrade => revision.upgrade_for(DIALECT),
        _ => revision.downgrade_for(DIALECT),
    };
    // A Rust revision's section is its code, not SQL to scan.
    section.is_some_and(|section| !revision.is_rust() && section_turns_them_off(revision, section))
}

/// [`turns_foreign_keys_off`] for a section. One that cannot be read does
/// not: running it reports why it cannot be read.
fn section_turns_them_off(revision: &Revision, section: &Section) -> bool {
    section.sql().is_ok_and(|sql| turns_foreign_keys_off(revision, &sql))
}

/// Runs `work`, a section's SQL, and when the section turns foreign keys
/// off, fails if it left rows breaking one that did not break one before
/// (rows that already dangled are not the revision's doing).
pub(super) fn checked<T>(
    tx: &Connection,
    revision: &Revision,
    section: &Section,
    work: impl FnOnce() -> Result<T, ApplyError>,
) -> Result<T, ApplyError> {
    if !section_turns_them_off(revision, section) {
        return work();
    }
    without_new_dangling_rows(tx, revision, revision.location.at_line(section.first_line), work)
}

/// Runs `work` and fails if rows break a foreign key afterwards that did
/// not before, naming `revision` at `at`.
pub(super) fn without_new_dangling_rows<T>(
    tx: &Connection,
    revision: &Revision,
    at: Location,
    work: impl FnOnce() -> Result<T, ApplyError>,
) -> Result<T, ApplyError> {
    let before = dangling_rows(tx)?;
    let done = work()?;
    let violations: Vec<String> = dangling_rows(tx)?.into_iter().filter(|v| !before.contains(v)).collect();
    if violations.is_empty() {
        return Ok(done);
    }
    Err(ApplyError::ForeignKeyCheck { at, revision: revision.id.clone(), violations })
}

/// `table c row 20 references a missing row of p`, one per row
/// `PRAGMA foreign_key_check` finds.
pub(super) fn dangling_rows(tx: &Connection) -> Result<Vec<String>, ApplyError> {
    let mut statement = tx.prepare("PRAGMA foreign_key_check").map_err(database)?;
    let rows = statement
        .query_map([], |row| {
            let (table, rowid, parent): (String, Option<i64>, String) =
                (row.get(0)?, row.get(1)?, row.get(2)?);
            let row = rowid.map_or("a row".to_string(), |id| format!("row {id}"));
            Ok(format!("table {table} {row} references a missing row of {parent}"))
        })
        .map_err(database)?;
    rows.collect::<Result<_, _>>().map_err(database)
}

fn set(conn: &Connection, enforce: bool) -> Result<(), ApplyError> {
    if enforced(conn)? != enforce {
        conn.pragma_update(None, "foreign_keys", enforce).map_err(database)?;
    }
    Ok(())
}

fn enforced(conn: &Connection) -> Result<bool, ApplyError> {
    conn.pragma_query_value(None, "foreign_keys", |row| row.get(0)).map_err(database)
}
