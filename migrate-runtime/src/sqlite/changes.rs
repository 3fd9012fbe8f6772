//! What changed in a SQLite schema since the walk last looked: the rows of
//! `sqlite_schema` (type, name, table, SQL), read whole at every step and
//! compared with the copy kept from the last read.
//!
//! SQLite keeps every object's definition as text there, and rewrites the
//! text of the tables, views and triggers that name a table or column
//! another statement renamed, so a row that reads the same describes the
//! same object. Reading that table is cheap (no statement is parsed, no
//! pragma runs); only the objects whose rows changed get a new fingerprint,
//! and the walk introspects only those.

use crate::testing::Fingerprints;
use rusqlite::Connection;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The rows of `sqlite_schema` as last read, by name.
#[derive(Default)]
pub(crate) struct Seen {
    rows: HashMap<String, Row>,
    /// Which read last saw a row: rows a read did not see are gone.
    read: u64,
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
}

/// Brings `fingerprints` up to date with `conn`'s main schema.
pub(crate) fn update(
    conn: &Connection,
    history_table: &str,
    fingerprints: &mut Fingerprints,
) -> rusqlite::Result<()> {
    let touched = touched_objects(conn, history_table, &mut fingerprints.sqlite)?;
    if touched.is_empty() {
        return Ok(());
    }
    let mut digests = digests_of(&fingerprints.sqlite, &touched);
    for object in touched {
        let digest = digests.remove(&object);
        fingerprints.set(&object, digest);
    }
    Ok(())
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
        let (kind, name, table) = (r.get_ref(0)?.as_str()?, r.get_ref(1)?.as_str()?, r.get_ref(2)?.as_str()?);
        let Some(sql) = r.get_ref(3)?.as_str_or_null()? else { continue };
        // The history table, its format record and SQLite's own tables
        // are not the schema (as in introspection).
        if table == history_table || table == format_table || is_internal(name) {
            continue;
        }
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

/// SQLite's own objects: `sqlite_` in any case.
fn is_internal(name: &str) -> bool {
    name.get(..7).is_some_and(|prefix| prefix.eq_ignore_ascii_case("sqlite_"))
}

/// The digest of each of `objects` that exists: its rows' type, name and
/// SQL, in name order.
fn digests_of(seen: &Seen, objects: &BTreeSet<String>) -> HashMap<String, String> {
    let mut rows: BTreeMap<&str, Vec<(&str, &Row)>> = BTreeMap::new();
    for (name, row) in &seen.rows {
        if let Some(object) = objects.iter().find(|object| row.describes(name, object)) {
            rows.entry(object.as_str()).or_default().push((name.as_str(), row));
        }
    }
    rows.into_iter()
        .map(|(object, mut rows)| {
            rows.sort_by_key(|(name, _)| *name);
            let mut hasher = Sha256::new();
            for (name, row) in rows {
                for part in [row.kind.as_str(), name, row.sql.as_str()] {
                    hasher.update(part.as_bytes());
                    hasher.update([0]);
                }
            }
            (object.to_string(), crate::model::checksum::hex(&hasher.finalize()))
        })
        .collect()
}
