//! What changed in a SQLite schema since the walk last looked.
//!
//! An authorizer on the connection (SQLite calls it for every statement
//! it prepares) logs the tables, views and triggers each statement
//! creates or drops; a step then reads from `sqlite_schema` (type, name,
//! table, SQL) only the rows of those objects. Where the log cannot tell
//! (an `ALTER TABLE`, which may rewrite the text of every object naming a
//! renamed table or column; a rollback; `PRAGMA writable_schema`; a
//! virtual table; another connection's commit, seen by `data_version`),
//! the step reads the table whole and compares each row with the copy
//! kept from the last read.
//!
//! SQLite keeps every object's definition as text there, and rewrites the
//! text of the tables, views and triggers that name a table or column
//! another statement renamed, so a row that reads the same describes the
//! same object. Only the objects whose rows changed get a new fingerprint,
//! and the walk introspects only those.

use crate::testing::Fingerprints;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization, TransactionOperation};
use rusqlite::Connection;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// The rows of `sqlite_schema` as last read, by name, and the log of what
/// statements touched since.
#[derive(Default)]
pub(crate) struct Seen {
    rows: HashMap<String, Row>,
    /// Which read last saw a row: rows a read did not see are gone.
    read: u64,
    /// `None` until the first update installs the authorizer.
    log: Option<Arc<Mutex<Log>>>,
    /// `PRAGMA data_version` at the last update: it changes when another
    /// connection commits, which the authorizer does not see.
    data_version: i64,
}

/// What the authorizer saw since the last update.
#[derive(Default)]
struct Log {
    /// Tables and views created or dropped, the tables of indexes created
    /// or dropped, and triggers created or dropped, lower-cased (SQLite's
    /// names are case-insensitive in ASCII).
    names: BTreeSet<String>,
    /// A statement whose effect on the schema the names cannot tell.
    everything: bool,
    /// The walk's fingerprints are gone: log nothing more.
    closed: bool,
}

impl Drop for Seen {
    /// The authorizer stays on the connection (another one may replace
    /// it); it stops logging once no walk reads its log.
    fn drop(&mut self) {
        if let Some(log) = &self.log {
            log.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
        }
    }
}

impl Log {
    fn record(&mut self, context: &AuthContext<'_>) {
        if self.closed {
            return;
        }
        let main = context.database_name.is_none_or(|d| d.eq_ignore_ascii_case("main"));
        match context.action {
            AuthAction::CreateTable { table_name: name }
            | AuthAction::DropTable { table_name: name }
            | AuthAction::CreateIndex { table_name: name, .. }
            | AuthAction::DropIndex { table_name: name, .. }
            | AuthAction::CreateView { view_name: name }
            | AuthAction::DropView { view_name: name }
            | AuthAction::CreateTrigger { trigger_name: name, .. }
            | AuthAction::DropTrigger { trigger_name: name, .. }
                if main =>
            {
                self.names.insert(name.to_ascii_lowercase());
            }
            AuthAction::AlterTable { .. }
            | AuthAction::CreateVtable { .. }
            | AuthAction::DropVtable { .. }
            | AuthAction::Unknown { .. }
            | AuthAction::Transaction { operation: TransactionOperation::Rollback }
            | AuthAction::Savepoint { operation: TransactionOperation::Rollback, .. } => {
                self.everything = true
            }
            AuthAction::Pragma { pragma_name, .. } if pragma_name.eq_ignore_ascii_case("writable_schema") => {
                self.everything = true
            }
            _ => {}
        }
    }
}

struct Row {
    kind: String,
    table: String,
    sql: String,
    read: u64,
}

impl Row {
    /// The walk object the row describes: `table t` for `t` and its indexes.
    fn object(&self, name: &str) -> String {
        match self.kind.as_str() {
            "index" => format!("table {}", self.table),
            kind => format!("{kind} {name}"),
        }
    }

    /// Whether this row, named `name`, describes `object` (no allocation:
    /// every row is asked about every object that changed).
    fn describes(&self, name: &str, object: &str) -> bool {
        let Some((kind, object_name)) = object.split_once(' ') else { return false };
        match self.kind.as_str() {
            "index" => kind == "table" && self.table == object_name,
            own => own == kind && name == object_name,
        }
    }

    /// Whether the row is one of an object named in the log: every row of
    /// table or view `n` (its own, its indexes', its triggers') has `n` as
    /// its table, and a trigger is named by its own name too.
    fn logged(&self, name: &str, names: &BTreeSet<String>) -> bool {
        let named = |n: &str| names.iter().any(|logged| logged.eq_ignore_ascii_case(n));
        named(&self.table) || (self.kind == "trigger" && named(name))
    }
}

/// Brings `fingerprints` up to date with `conn`'s main schema.
pub(crate) fn update(
    conn: &Connection,
    history_table: &str,
    fingerprints: &mut Fingerprints,
) -> rusqlite::Result<()> {
    let seen = &mut fingerprints.sqlite;
    let touched = match logged_names(conn, seen)? {
        Some(names) if names.is_empty() => return Ok(()),
        Some(names) => logged_objects(conn, history_table, seen, &names)?,
        None => {
            let touched = touched_objects(conn, history_table, seen)?;
            let digests =
                digests_of(seen.rows.iter().filter(|(n, r)| touched.iter().any(|o| r.describes(n, o))));
            (touched, digests)
        }
    };
    let (objects, mut digests) = touched;
    for object in objects {
        let digest = digests.remove(&object);
        fingerprints.set(&object, digest);
    }
    Ok(())
}

/// The names the authorizer logged since the last update, the log
/// emptied; `None` when the step must read everything (the first update
/// installs the authorizer and reads everything).
fn logged_names(conn: &Connection, seen: &mut Seen) -> rusqlite::Result<Option<BTreeSet<String>>> {
    let data_version: i64 = conn.prepare_cached("PRAGMA data_version")?.query_row([], |r| r.get(0))?;
    let moved = std::mem::replace(&mut seen.data_version, data_version) != data_version;
    let Some(log) = &seen.log else {
        let log = Arc::new(Mutex::new(Log::default()));
        let logger = Arc::clone(&log);
        conn.authorizer(Some(move |context: AuthContext<'_>| {
            logger.lock().unwrap_or_else(|e| e.into_inner()).record(&context);
            Authorization::Allow
        }));
        seen.log = Some(log);
        return Ok(None);
    };
    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
    let everything = std::mem::take(&mut log.everything) || moved;
    let names = std::mem::take(&mut log.names);
    Ok((!everything).then_some(names))
}

/// The objects of the rows of the objects the log `names`, before and
/// now, with the digest of each that exists; `seen` brought up to date.
/// Only those rows are read (`sqlite_schema` has no index, so SQLite
/// still scans it, but returns only them).
fn logged_objects(
    conn: &Connection,
    history_table: &str,
    seen: &mut Seen,
    names: &BTreeSet<String>,
) -> rusqlite::Result<(BTreeSet<String>, HashMap<String, String>)> {
    let mut touched = BTreeSet::new();
    seen.rows.retain(|name, row| {
        let logged = row.logged(name, names);
        if logged {
            touched.insert(row.object(name));
        }
        !logged
    });
    let format_table = crate::apply::format::format_table(history_table);
    let mut statement = conn.prepare_cached(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema \
         WHERE lower(tbl_name) IN (SELECT value FROM json_each(?1)) \
         OR (type = 'trigger' AND lower(name) IN (SELECT value FROM json_each(?1)))",
    )?;
    let filter = super::introspect::json_array(&names.iter().cloned().collect::<Vec<_>>());
    let mut rows = statement.query([filter])?;
    let mut fresh = Vec::new();
    while let Some(r) = rows.next()? {
        let Some((kind, name, table, sql)) = schema_row(r, history_table, &format_table)? else { continue };
        let row =
            Row { kind: kind.to_string(), table: table.to_string(), sql: sql.to_string(), read: seen.read };
        touched.insert(row.object(name));
        fresh.push((name.to_string(), row));
    }
    // Every row of each object touched is among the fresh ones: a table's
    // and its indexes' share its name as their table.
    let digests = digests_of(fresh.iter().map(|(name, row)| (name, row)));
    seen.rows.extend(fresh);
    Ok((touched, digests))
}

/// The objects whose rows were added, removed or changed since the last
/// read, `seen` brought up to date. The rows are filtered here, not in SQL,
/// and a row that reads as before costs no allocation: this runs at every
/// step over every row.
fn touched_objects(
    conn: &Connection,
    history_table: &str,
    seen: &mut Seen,
) -> rusqlite::Result<BTreeSet<String>> {
    let format_table = crate::apply::format::format_table(history_table);
    let mut statement = conn.prepare_cached("SELECT type, name, tbl_name, sql FROM sqlite_schema")?;
    let mut rows = statement.query([])?;
    seen.read += 1;
    let mut touched = BTreeSet::new();
    while let Some(r) = rows.next()? {
        let Some((kind, name, table, sql)) = schema_row(r, history_table, &format_table)? else { continue };
        match seen.rows.get_mut(name) {
            Some(row) if row.kind == kind && row.table == table && row.sql == sql => row.read = seen.read,
            _ => {
                let row = Row {
                    kind: kind.to_string(),
                    table: table.to_string(),
                    sql: sql.to_string(),
                    read: seen.read,
                };
                touched.insert(row.object(name));
                let old = seen.rows.insert(name.to_string(), row);
                touched.extend(old.map(|old| old.object(name)));
            }
        }
    }
    let read = seen.read;
    seen.rows.retain(|name, row| {
        let kept = row.read == read;
        if !kept {
            touched.insert(row.object(name));
        }
        kept
    });
    Ok(touched)
}

/// A row of `sqlite_schema` (type, name, table, SQL) read as text without
/// copying, or `None` for a row that is not the schema: the history table,
/// its format record and SQLite's own objects (as in introspection), and
/// rows without SQL (SQLite's automatic indexes).
fn schema_row<'r>(
    r: &'r rusqlite::Row<'_>,
    history_table: &str,
    format_table: &str,
) -> rusqlite::Result<Option<(&'r str, &'r str, &'r str, &'r str)>> {
    let (kind, name, table) = (r.get_ref(0)?.as_str()?, r.get_ref(1)?.as_str()?, r.get_ref(2)?.as_str()?);
    let Some(sql) = r.get_ref(3)?.as_str_or_null()? else { return Ok(None) };
    match table == history_table || table == format_table || is_internal(name) {
        true => Ok(None),
        false => Ok(Some((kind, name, table, sql))),
    }
}

/// SQLite's own objects: `sqlite_` in any case.
fn is_internal(name: &str) -> bool {
    name.get(..7).is_some_and(|prefix| prefix.eq_ignore_ascii_case("sqlite_"))
}

/// The digest of each object `rows` describe: its rows' type, name and
/// SQL, in name order.
fn digests_of<'r>(rows: impl Iterator<Item = (&'r String, &'r Row)>) -> HashMap<String, String> {
    let mut by_object: BTreeMap<String, Vec<(&str, &Row)>> = BTreeMap::new();
    for (name, row) in rows {
        by_object.entry(row.object(name)).or_default().push((name.as_str(), row));
    }
    by_object
        .into_iter()
        .map(|(object, mut rows)| {
            rows.sort_by_key(|(name, _)| *name);
            let mut hasher = Sha256::new();
            for (name, row) in rows {
                for part in [row.kind.as_str(), name, row.sql.as_str()] {
                    hasher.update(part.as_bytes());
                    hasher.update([0]);
                }
            }
            (object, crate::model::checksum::hex(&hasher.finalize()))
        })
        .collect()
}
