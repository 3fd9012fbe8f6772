//! Reads a SQLite database's schema into [`Schema`], through the
//! `pragma_*` table-valued functions, so table names are parameters and
//! never spliced into SQL.

use crate::schema::{normalise_sql, Column, ForeignKey, Index, Schema, Table};
use rusqlite::{Connection, OptionalExtension};
use std::collections::BTreeMap;

/// The schema of `conn`'s main database, leaving out `history_table` and
/// SQLite's own `sqlite_*` tables.
pub fn introspect(conn: &Connection, history_table: &str) -> rusqlite::Result<Schema> {
    let mut schema = Schema::default();
    let mut objects = conn.prepare(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND sql IS NOT NULL ORDER BY name",
    )?;
    let rows = objects
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
    for row in rows {
        let (kind, name, sql) = row?;
        match kind.as_str() {
            "table" if name != history_table => {
                let table = table(conn, &name, &sql)?;
                schema.tables.insert(name, table);
            }
            "view" => {
                schema.views.insert(name, normalise_sql(&sql));
            }
            "trigger" => {
                schema.triggers.insert(name, normalise_sql(&sql));
            }
            _ => {}
        }
    }
    Ok(schema)
}

fn table(conn: &Connection, name: &str, sql: &str) -> rusqlite::Result<Table> {
    let mut table = Table { checks: checks(sql), ..Table::default() };
    let mut pk: Vec<(i64, String)> = Vec::new();
    let mut columns = conn.prepare(
        "SELECT name, lower(type), \"notnull\", dflt_value, pk FROM pragma_table_xinfo(?1) WHERE hidden IN (0, 2, 3) ORDER BY cid",
    )?;
    let rows = columns.query_map([name], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, bool>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    for row in rows {
        let (column, data_type, not_null, default, pk_position) = row?;
        if pk_position > 0 {
            pk.push((pk_position, column.clone()));
        }
        table.columns.push(Column { name: column, data_type, nullable: !not_null, default });
    }
    pk.sort();
    table.primary_key = pk.into_iter().map(|(_, column)| column).collect();
    indexes(conn, name, &mut table)?;
    table.foreign_keys = foreign_keys(conn, name)?;
    Ok(table)
}

fn indexes(conn: &Connection, table_name: &str, table: &mut Table) -> rusqlite::Result<()> {
    let mut list =
        conn.prepare("SELECT name, \"unique\", origin FROM pragma_index_list(?1) ORDER BY name")?;
    let rows = list.query_map([table_name], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?, r.get::<_, String>(2)?))
    })?;
    for row in rows {
        let (name, unique, origin) = row?;
        let columns = index_columns(conn, &name)?;
        match origin.as_str() {
            "u" => table.uniques.push(columns),
            "c" => {
                let predicate = index_sql(conn, &name)?.and_then(|sql| predicate(&sql));
                table.indexes.insert(name, Index { columns, unique, predicate });
            }
            _ => {} // "pk": the primary key, reported as such
        }
    }
    table.uniques.sort();
    Ok(())
}

fn index_columns(conn: &Connection, index: &str) -> rusqlite::Result<Vec<String>> {
    let mut info =
        conn.prepare("SELECT coalesce(name, '<expression>') FROM pragma_index_info(?1) ORDER BY seqno")?;
    let columns = info.query_map([index], |r| r.get(0))?.collect();
    columns
}

fn index_sql(conn: &Connection, index: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1", [index], |r| r.get(0))
        .optional()
        .map(Option::flatten)
}

fn foreign_keys(conn: &Connection, table: &str) -> rusqlite::Result<Vec<ForeignKey>> {
    let mut list = conn.prepare(
        "SELECT id, \"table\", \"from\", coalesce(\"to\", ''), lower(on_delete), lower(on_update) FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
    )?;
    let rows = list.query_map([table], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
        ))
    })?;
    let mut keys: BTreeMap<i64, ForeignKey> = BTreeMap::new();
    for row in rows {
        let (id, references, from, to, on_delete, on_update) = row?;
        let key = keys.entry(id).or_insert_with(|| ForeignKey {
            columns: Vec::new(),
            references,
            referenced_columns: Vec::new(),
            on_delete,
            on_update,
        });
        key.columns.push(from);
        if !to.is_empty() {
            key.referenced_columns.push(to);
        }
    }
    let mut keys: Vec<ForeignKey> = keys.into_values().collect();
    keys.sort();
    Ok(keys)
}

/// The `WHERE` clause of a `CREATE INDEX`, if it has one.
fn predicate(sql: &str) -> Option<String> {
    let at = find_keyword(sql, "WHERE")?;
    Some(normalise_sql(&sql[at + "WHERE".len()..]))
}

/// The expressions of every `CHECK (…)` in a `CREATE TABLE`, normalised.
/// SQLite keeps no catalogue of them, so they are read from the SQL.
fn checks(sql: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = sql;
    while let Some(at) = find_keyword(rest, "CHECK") {
        let after = &rest[at + "CHECK".len()..];
        let Some(open) = after.find('(') else { break };
        let Some(len) = balanced(&after[open..]) else { break };
        found.push(normalise_sql(&after[open + 1..open + len - 1]));
        rest = &after[open + len..];
    }
    found.sort();
    found
}

/// Byte offset of `keyword` as a whole word outside quotes, case-insensitive.
fn find_keyword(sql: &str, keyword: &str) -> Option<usize> {
    let bytes = sql.as_bytes();
    let mut quote: Option<u8> = None;
    for i in 0..bytes.len() {
        match (quote, bytes[i]) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b @ (b'\'' | b'"' | b'`')) => quote = Some(b),
            (None, b'[') => quote = Some(b']'),
            (None, _) => {
                let word = sql.get(i..i + keyword.len())?;
                let before_ok = i == 0 || !is_word(bytes[i - 1]);
                let after_ok = bytes.get(i + keyword.len()).is_none_or(|&b| !is_word(b));
                if before_ok && after_ok && word.eq_ignore_ascii_case(keyword) {
                    return Some(i);
                }
            }
        }
    }
    None
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Length of the parenthesised group `text` starts with, quotes respected.
fn balanced(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of(sql: &str) -> Schema {
        let conn = Connection::open_in_memory().expect("memory");
        conn.execute_batch(sql).expect("schema");
        introspect(&conn, "migrate_history").expect("introspect")
    }

    #[test]
    fn reads_every_kind_of_object() {
        let schema = schema_of(
            "CREATE TABLE role (id INTEGER PRIMARY KEY, name TEXT UNIQUE);
             CREATE TABLE \"user\" (id INTEGER NOT NULL, email VARCHAR(255) NOT NULL DEFAULT '', role_id INTEGER REFERENCES role (id) ON DELETE CASCADE,
                 age INT CHECK (age >= 0), PRIMARY KEY (id), CHECK ( length(email) > 3 ));
             CREATE UNIQUE INDEX user_email ON \"user\" (email) WHERE email <> '';
             CREATE VIEW adults AS SELECT *   FROM \"user\" WHERE age >= 18;
             CREATE TRIGGER t AFTER INSERT ON role BEGIN SELECT 1; END;
             CREATE TABLE migrate_history (x);",
        );
        let entries = schema.entries();
        let expected = [
            ("table user: column email", "varchar(255) not null default ''"),
            ("table user: primary key", "(id)"),
            ("table user: index user_email", "unique (email) where email <> ''"),
            (
                "table user: foreign key (role_id) references role (id)",
                "on delete cascade, on update no action",
            ),
            ("table user: check (age >= 0)", "check"),
            ("table user: check (length(email) > 3)", "check"),
            ("table role: unique (name)", "unique"),
            ("view adults", "CREATE VIEW adults AS SELECT * FROM \"user\" WHERE age >= 18"),
            ("trigger t", "CREATE TRIGGER t AFTER INSERT ON role BEGIN SELECT 1; END"),
        ];
        for (object, description) in expected {
            assert_eq!(
                entries.get(object).map(String::as_str),
                Some(description),
                "{object} in {entries:#?}"
            );
        }
        assert!(!schema.tables.contains_key("migrate_history"), "the history table is left out");
    }

    #[test]
    fn differences_read_as_sentences() {
        let before = schema_of("CREATE TABLE t (a INTEGER, b TEXT); CREATE INDEX t_b ON t (b);");
        let after = schema_of("CREATE TABLE t (a INTEGER NOT NULL);");
        let lines: Vec<String> = before.diff(&after).iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "table t: column a: changed from integer to integer not null",
                "table t: column b: removed (was text)",
                "table t: index t_b: removed (was (b))",
            ]
        );
    }
}
