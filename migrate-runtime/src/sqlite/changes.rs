//! What changed in a SQLite schema since the walk last looked.
//!
//! An authorizer on the connection (SQLite calls it for every statement
//! it prepares) logs the tables, views and triggers each statement
//! creates or drops; a step then reads from `sqlite_schema` (type, name,
//! table, SQL) only the rows of those objects, by rowid, and the walk
//! introspects them from the rows kept. Where the log cannot tell
//! (an `ALTER TABLE`, which may rewrite the text of every object naming a
//! renamed table or column; a rollback; `VACUUM`, which numbers the rows
//! again; `PRAGMA writable_schema`; a virtual table; another
//! connection's commit, seen by `data_version`),
//! the step reads the table whole and compares each row with the copy
//! kept from the last read.
//!
//! SQLite keeps every object's definition as text there, and rewrites the
//! text of the tables, views and triggers that name a table or column
//! another statement renamed, so a row that reads the same describes the
//! same object. Only the objects whose rows changed get a new fingerprint,
//! and the walk introspects only those.

use super::introspect::ObjectRow;
use crate::testing::Fingerprints;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization, TransactionOperation};
use rusqlite::Connection;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// The rows of `sqlite_schema` as last read, and the log of what
/// statements touched since.
#[derive(Default)]
pub(crate) struct Seen {
    rows: Rows,
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

impl Seen {
    /// The `sqlite_schema` rows of `objects` as the last update read them,
    /// or `None` when one of them has none kept.
    #[cfg(feature = "testing")]
    pub(crate) fn rows_of(&self, objects: &[String]) -> Option<Vec<ObjectRow>> {
        let mut found = Vec::new();
        for object in objects {
            let before = found.len();
            found.extend(self.rows.of_object(object).map(|(key, row)| ObjectRow {
                kind: row.kind.clone(),
                name: key.name.clone(),
                sql: row.sql.clone(),
            }));
            if found.len() == before {
                return None;
            }
        }
        Some(found)
    }
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
            | AuthAction::Attach { .. }
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
    /// Where the row is in `sqlite_schema`: a step reads its rows back
    /// by rowid, a seek, where a name needs a scan of every row.
    rowid: i64,
}

/// A row's identity in `sqlite_schema`: its name, and whether it is a
/// trigger. SQLite keeps triggers' names apart from those of tables,
/// views and indexes, so a trigger may be named as its table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    trigger: bool,
    name: String,
}

impl Key {
    fn of(kind: &str, name: &str) -> Key {
        Key { trigger: kind == "trigger", name: name.to_string() }
    }
}

impl Row {
    /// The walk object the row, named `name`, describes: `table t` for `t`
    /// and its indexes.
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

    /// The names, in ASCII lower case as the log keeps them, by which a
    /// logged name finds this row: every row of table or view `n` (its
    /// own, its indexes', its triggers') has `n` as its table, and a
    /// trigger is logged by its own name too.
    fn logged_as(&self, key: &Key) -> Vec<String> {
        let mut names = vec![self.table.to_ascii_lowercase()];
        if key.trigger {
            names.push(key.name.to_ascii_lowercase());
        }
        names
    }
}

/// The rows kept from the last reads, indexed by the names the log finds
/// them by: a step looks up the few rows of the objects it touched
/// instead of asking every row (a scan of every kept row at every step
/// was an eighth of a 1,000-revision walk).
#[derive(Default)]
struct Rows {
    rows: HashMap<Key, Row>,
    /// [`Row::logged_as`] → the keys of the rows found by that name.
    by_logged_name: HashMap<String, HashSet<Key>>,
    by_rowid: BTreeMap<i64, Key>,
}

impl Rows {
    /// Keeps `row`, returning the one it replaces.
    fn insert(&mut self, key: Key, row: Row) -> Option<Row> {
        let old = self.remove(&key);
        for name in row.logged_as(&key) {
            self.by_logged_name.entry(name).or_default().insert(key.clone());
        }
        self.by_rowid.insert(row.rowid, key.clone());
        self.rows.insert(key, row);
        old
    }

    fn remove(&mut self, key: &Key) -> Option<Row> {
        let row = self.rows.remove(key)?;
        for name in row.logged_as(key) {
            let Some(keys) = self.by_logged_name.get_mut(&name) else { continue };
            keys.remove(key);
            if keys.is_empty() {
                self.by_logged_name.remove(&name);
            }
        }
        // A full read may have given the rowid to a new row already.
        if self.by_rowid.get(&row.rowid) == Some(key) {
            self.by_rowid.remove(&row.rowid);
        }
        Some(row)
    }

    /// Removes and returns the rows of the objects the log `names`.
    fn take_logged(&mut self, names: &BTreeSet<String>) -> Vec<(Key, Row)> {
        let keys: HashSet<Key> =
            names.iter().filter_map(|name| self.by_logged_name.get(name)).flatten().cloned().collect();
        keys.into_iter().filter_map(|key| Some((key.clone(), self.remove(&key)?))).collect()
    }

    fn iter(&self) -> impl Iterator<Item = (&Key, &Row)> {
        self.rows.iter()
    }

    /// The largest rowid kept, 0 when none is.
    fn last_rowid(&self) -> i64 {
        self.by_rowid.last_key_value().map_or(0, |(rowid, _)| *rowid)
    }

    /// The rows of `object` (`table t`: its own and its indexes').
    fn of_object<'r>(&'r self, object: &'r str) -> impl Iterator<Item = (&'r Key, &'r Row)> + 'r {
        let name = object.split_once(' ').map_or(object, |(_, name)| name).to_ascii_lowercase();
        let keys = self.by_logged_name.get(&name).into_iter().flatten();
        keys.filter_map(|key| self.rows.get_key_value(key)).filter(move |(k, r)| r.describes(&k.name, object))
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
            let described = seen.rows.iter().filter(|(k, r)| touched.iter().any(|o| r.describes(&k.name, o)));
            let digests = digests_of(described);
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
///
/// Rows are read by rowid: those kept for the names logged (dropped,
/// changed, or still as they were), and every row after the last one kept
/// for the others. SQLite gives a new row the rowid after the largest in
/// the table, and the only rows a step can have deleted are those of the
/// names it logged, so every row it added comes after the rows it did not
/// touch. (`VACUUM` numbers the rows again; its `ATTACH` makes the step
/// read everything.) A seek per row, where `sqlite_schema`, which has no
/// index, took a scan of every row for a name: a sixth of a long walk.
fn logged_objects(
    conn: &Connection,
    history_table: &str,
    seen: &mut Seen,
    names: &BTreeSet<String>,
) -> rusqlite::Result<(BTreeSet<String>, HashMap<String, String>)> {
    let taken = seen.rows.take_logged(names);
    let rowids: Vec<String> = taken.iter().map(|(_, row)| row.rowid.to_string()).collect();
    let mut touched: BTreeSet<String> = taken.into_iter().map(|(key, row)| row.object(&key.name)).collect();
    let format_table = crate::apply::format::format_table(history_table);
    let mut statement = conn.prepare_cached(
        "SELECT type, name, tbl_name, sql, rowid FROM sqlite_schema \
         WHERE rowid > ?1 OR rowid IN (SELECT value FROM json_each(?2))",
    )?;
    let mut rows =
        statement.query(rusqlite::params![seen.rows.last_rowid(), format!("[{}]", rowids.join(","))])?;
    let mut fresh = Vec::new();
    while let Some(r) = rows.next()? {
        let Some((kind, name, table, sql)) = schema_row(r, history_table, &format_table)? else { continue };
        let row = Row {
            kind: kind.to_string(),
            table: table.to_string(),
            sql: sql.to_string(),
            read: seen.read,
            rowid: r.get(4)?,
        };
        touched.insert(row.object(name));
        fresh.push((Key::of(kind, name), row));
    }
    // Every row of each object touched is among the fresh ones: a table's
    // and its indexes' share its name as their table.
    let digests = digests_of(fresh.iter().map(|(key, row)| (key, row)));
    for (key, row) in fresh {
        seen.rows.insert(key, row);
    }
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
    let mut statement = conn.prepare_cached("SELECT type, name, tbl_name, sql, rowid FROM sqlite_schema")?;
    let mut rows = statement.query([])?;
    seen.read += 1;
    let mut touched = BTreeSet::new();
    while let Some(r) = rows.next()? {
        let Some((kind, name, table, sql)) = schema_row(r, history_table, &format_table)? else { continue };
        let (key, rowid) = (Key::of(kind, name), r.get(4)?);
        match seen.rows.rows.get_mut(&key) {
            Some(row) if row.kind == kind && row.table == table && row.sql == sql && row.rowid == rowid => {
                row.read = seen.read
            }
            _ => {
                let row = Row {
                    kind: kind.to_string(),
                    table: table.to_string(),
                    sql: sql.to_string(),
                    read: seen.read,
                    rowid,
                };
                touched.insert(row.object(name));
                let old = seen.rows.insert(key, row);
                touched.extend(old.map(|old| old.object(name)));
            }
        }
    }
    let read = seen.read;
    let gone: Vec<Key> =
        seen.rows.iter().filter(|(_, row)| row.read != read).map(|(k, _)| k.clone()).collect();
    for key in gone {
        touched.extend(seen.rows.remove(&key).map(|row| row.object(&key.name)));
    }
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
fn digests_of<'r>(rows: impl Iterator<Item = (&'r Key, &'r Row)>) -> HashMap<String, String> {
    let mut by_object: BTreeMap<String, Vec<(&str, &Row)>> = BTreeMap::new();
    for (key, row) in rows {
        by_object.entry(row.object(&key.name)).or_default().push((key.name.as_str(), row));
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
