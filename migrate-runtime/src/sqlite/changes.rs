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
    /// The walk object the row describes: `table t` for `t` and its indexes.
    object: String,
    sql: String,
    read: u64,
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
/// read, `seen` brought up to date.
fn touched_objects(
    conn: &Connection,
    history_table: &str,
    seen: &mut Seen,
) -> rusqlite::Result<BTreeSet<String>> {
    // The history table, its format record and SQLite's own tables are
    // not the schema (as in introspection).
    let sql = "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE sql IS NOT NULL \
         AND lower(substr(name, 1, 7)) <> 'sqlite_' AND tbl_name NOT IN (?1, ?1 || '_format')";
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query([history_table])?;
    seen.read += 1;
    let mut touched = BTreeSet::new();
    while let Some(r) = rows.next()? {
        let (kind, name, table, sql) = (
            r.get_ref(0)?.as_str()?,
            r.get_ref(1)?.as_str()?,
            r.get_ref(2)?.as_str()?,
            r.get_ref(3)?.as_str()?,
        );
        let object = match kind {
            "index" => format!("table {table}"),
            _ => format!("{kind} {name}"),
        };
        match seen.rows.get_mut(name) {
            Some(row) if row.kind == kind && row.object == object && row.sql == sql => row.read = seen.read,
            _ => {
                let row = Row { kind: kind.to_string(), object, sql: sql.to_string(), read: seen.read };
                let old = seen.rows.insert(name.to_string(), row);
                touched.extend(old.map(|old| old.object));
                touched.insert(seen.rows[name].object.clone());
            }
        }
    }
    let read = seen.read;
    seen.rows.retain(|_, row| {
        let kept = row.read == read;
        if !kept {
            touched.insert(row.object.clone());
        }
        kept
    });
    Ok(touched)
}

/// The digest of each of `objects` that exists: its rows' type, name and
/// SQL, in name order.
fn digests_of(seen: &Seen, objects: &BTreeSet<String>) -> HashMap<String, String> {
    let mut rows: BTreeMap<&str, Vec<(&str, &Row)>> = BTreeMap::new();
    for (name, row) in &seen.rows {
        if objects.contains(&row.object) {
            rows.entry(row.object.as_str()).or_default().push((name.as_str(), row));
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
