//! Reads a SQLite database's schema into [`Schema`], through the
//! `pragma_*` table-valued functions, so table names are parameters and
//! never spliced into SQL.

use crate::schema::{normalise_sql, Column, ForeignKey, Index, Schema, Table};
use crate::sql::split::solid_tokens;
use rusqlite::Connection;
#[cfg(feature = "testing")]
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// The schema of `conn`'s main database, leaving out `history_table`, its
/// format record (`<history_table>_format`) and SQLite's own `sqlite_*` tables. A fixed number of queries whatever the
/// number of tables: each `pragma_*` function is joined to `sqlite_master`.
pub fn introspect(conn: &Connection, history_table: &str) -> rusqlite::Result<Schema> {
    introspect_objects(conn, history_table, None)
}

/// Like [`introspect`], for only the tables, views and triggers named in
/// `names` (all of them when `None`).
pub(crate) fn introspect_objects(
    conn: &Connection,
    history_table: &str,
    names: Option<&[String]>,
) -> rusqlite::Result<Schema> {
    let filter = names.map(json_array);
    let params = rusqlite::params![history_table, filter];
    let mut objects = conn.prepare_cached(&format!(
        "SELECT m.type, m.name, m.sql FROM sqlite_master m WHERE {OWN} ORDER BY m.name"
    ))?;
    let rows =
        objects.query_map(params, |r| Ok(ObjectRow { kind: r.get(0)?, name: r.get(1)?, sql: r.get(2)? }))?;
    let mut schema = Schema::default();
    let index_sql = objects_of(rows.collect::<rusqlite::Result<Vec<_>>>()?, &mut schema);
    columns(conn, TABLES, params, &mut schema)?;
    table_options(conn, &filter, &mut schema)?;
    indexes(conn, TABLES, params, &index_sql, &mut schema)?;
    foreign_keys(conn, TABLES, params, &mut schema)?;
    Ok(schema)
}

/// A row of `sqlite_schema`: an object's type, name and SQL.
pub(crate) struct ObjectRow {
    pub(crate) kind: String,
    pub(crate) name: String,
    pub(crate) sql: String,
}

/// The schema of the objects whose `sqlite_schema` rows are `rows`, as
/// [`introspect_objects`] reads it, without reading those rows again: the
/// walk kept them. Neither is `sqlite_schema` scanned for the tables, nor
/// `pragma_table_list` (which lists every table to find one) asked for
/// their options: they are read from the tables' SQL.
#[cfg(feature = "testing")]
pub(crate) fn introspect_rows(conn: &Connection, rows: Vec<ObjectRow>) -> rusqlite::Result<Schema> {
    let tables: Vec<String> = rows.iter().filter(|r| r.kind == "table").map(|r| r.name.clone()).collect();
    let options: Vec<(String, Vec<String>)> =
        rows.iter().filter(|r| r.kind == "table").map(|r| (r.name.clone(), options_in_sql(&r.sql))).collect();
    let listed = json_array(&tables);
    let params = rusqlite::params![rusqlite::types::Null, listed];
    let mut schema = Schema::default();
    let index_sql = objects_of(rows, &mut schema);
    columns(conn, LISTED_TABLES, params, &mut schema)?;
    for (table, options) in options {
        schema.tables.get_mut(&table).into_iter().for_each(|t| t.options.extend(options.clone()));
    }
    indexes(conn, LISTED_TABLES, params, &index_sql, &mut schema)?;
    foreign_keys(conn, LISTED_TABLES, params, &mut schema)?;
    Ok(schema)
}

/// Puts the tables, views and triggers of `rows` into `schema`; the SQL
/// of the indexes, by name.
fn objects_of(rows: Vec<ObjectRow>, schema: &mut Schema) -> HashMap<String, String> {
    let mut index_sql = HashMap::new();
    for ObjectRow { kind, name, sql } in rows {
        match kind.as_str() {
            "table" => {
                schema.tables.insert(name, Table { checks: checks(&sql), ..Table::default() });
            }
            "view" => {
                schema.views.insert(name, normalise_sql(&sql));
            }
            "trigger" => {
                schema.triggers.insert(name, normalise_sql(&sql));
            }
            "index" => {
                index_sql.insert(name, sql);
            }
            _ => {}
        }
    }
    index_sql
}

/// A digest per object (`table t`, `view v`, `trigger x`) of the text SQLite
/// keeps for it and its indexes: the walk re-reads only objects whose
/// digest changed.
#[cfg(feature = "testing")]
pub(crate) fn object_fingerprints(
    conn: &Connection,
    history_table: &str,
) -> rusqlite::Result<BTreeMap<String, String>> {
    // No ORDER BY: the map sorts, and sorting the rows was a tenth of a
    // long walk's time.
    let sql = "SELECT m.type, m.name, m.tbl_name, m.sql FROM sqlite_master m \
         WHERE lower(substr(m.name, 1, 7)) <> 'sqlite_' AND m.sql IS NOT NULL AND m.name <> ?1 AND m.tbl_name <> ?1";
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query([history_table])?;
    // Each row's SHA-256, XORed into its object's: no text is copied or
    // sorted (both showed in a long walk's profile), and the result does
    // not depend on the order SQLite lists the rows in.
    let mut digests: BTreeMap<String, [u8; 32]> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let (kind, name) = (r.get_ref(0)?.as_str()?, r.get_ref(1)?.as_str()?);
        let object = match kind {
            "index" => format!("table {}", r.get_ref(2)?.as_str()?),
            _ => format!("{kind} {name}"),
        };
        let mut hasher = Sha256::new();
        for part in [kind, name, r.get_ref(3)?.as_str()?] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        let digest = digests.entry(object).or_insert([0; 32]);
        digest.iter_mut().zip(hasher.finalize()).for_each(|(a, b)| *a ^= b);
    }
    Ok(digests.into_iter().map(|(object, digest)| (object, crate::model::checksum::hex(&digest))).collect())
}

/// `["a","b"]`, for `json_each`.
pub(crate) fn json_array(names: &[String]) -> String {
    let quoted: Vec<String> =
        names.iter().map(|n| format!("\"{}\"", n.replace('\\', "\\\\").replace('"', "\\\""))).collect();
    format!("[{}]", quoted.join(","))
}

/// The user's objects: not SQLite's own, not the history table (`?1`) or its
/// format record, nor their indexes.
const OWN: &str = "m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND m.sql IS NOT NULL AND m.tbl_name NOT IN (?1, ?1 || '_format') \
     AND (?2 IS NULL OR m.name IN (SELECT value FROM json_each(?2)) OR m.tbl_name IN (SELECT value FROM json_each(?2)))";

/// The tables to read (`m.name`), for joining with a `pragma_*` function:
/// every table of the schema, or the tables among the names the filter
/// `?2` lists (which may name views or gone objects too). A filtered read names its tables
/// directly, never scanning `sqlite_master`: the walk reads a table or
/// two at each step of a chain of a thousand.
const TABLES: &str = "(SELECT m.name FROM sqlite_master m WHERE ?2 IS NULL AND m.type = 'table' \
     AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND m.name NOT IN (?1, ?1 || '_format') \
     UNION ALL SELECT t.name FROM json_each(?2) j JOIN pragma_table_list(j.value) t \
       WHERE t.schema = 'main' AND t.type = 'table') m";

/// The tables to read when the caller lists exactly those (`?2`, a JSON
/// array).
#[cfg(feature = "testing")]
const LISTED_TABLES: &str = "(SELECT value AS name FROM json_each(?2)) m";

fn columns(
    conn: &Connection,
    tables: &str,
    params: impl rusqlite::Params,
    schema: &mut Schema,
) -> rusqlite::Result<()> {
    let sql = format!(
        "SELECT m.name, c.name, lower(c.type), c.\"notnull\", c.dflt_value, c.pk, c.hidden, \
         CASE WHEN c.hidden IN (2, 3) THEN (SELECT t.sql FROM sqlite_master t WHERE t.type = 'table' AND t.name = m.name) END \
         FROM {tables} JOIN pragma_table_xinfo(m.name) c WHERE c.hidden IN (0, 2, 3) ORDER BY m.name, c.cid"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let mut rows = statement.query(params)?;
    let mut keys: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let table: String = r.get(0)?;
        let name: String = r.get(1)?;
        let (collation, autoincrement) = collation_and_autoincrement(conn, &table, &name)?;
        if let Some(table) = schema.tables.get_mut(&table).filter(|_| autoincrement) {
            table.options.push("autoincrement".into());
        }
        // 2 and 3: a virtual and a stored generated column.
        let kind = match r.get::<_, i64>(6)? {
            2 => Some("VIRTUAL"),
            3 => Some("STORED"),
            _ => None,
        };
        let sql: Option<String> = r.get(7)?;
        let generated = kind.and_then(|kind| {
            let expression = generation_expression(sql.as_deref()?, &name)?;
            Some(format!("({expression}) {kind}"))
        });
        let column = Column {
            name,
            data_type: r.get(2)?,
            nullable: !r.get::<_, bool>(3)?,
            default: r.get(4)?,
            identity: None,
            collation,
            generated,
        };
        let pk: i64 = r.get(5)?;
        if pk > 0 {
            keys.entry(table.clone()).or_default().push((pk, column.name.clone()));
        }
        if let Some(table) = schema.tables.get_mut(&table) {
            table.columns.push(column);
        }
    }
    for (table, mut key) in keys {
        key.sort();
        if let Some(table) = schema.tables.get_mut(&table) {
            table.primary_key = key.into_iter().map(|(_, column)| column).collect();
        }
    }
    Ok(())
}

/// A column's collation when it is not the default `BINARY`, and whether
/// it is an `AUTOINCREMENT` key: SQLite's catalogue pragmas tell neither,
/// its column metadata both.
fn collation_and_autoincrement(
    conn: &Connection,
    table: &str,
    column: &str,
) -> rusqlite::Result<(Option<String>, bool)> {
    let (_, collation, _, _, autoincrement) = conn.column_metadata(None, table, column)?;
    let collation = collation.map(|c| c.to_string_lossy().to_lowercase()).filter(|c| c != "binary");
    Ok((collation, autoincrement))
}

/// `STRICT` and `WITHOUT ROWID`, from `pragma_table_list`, for the tables
/// `filter` names (a JSON array, each looked up by name; all when `None`).
fn table_options(conn: &Connection, filter: &Option<String>, schema: &mut Schema) -> rusqlite::Result<()> {
    let mut statement = conn.prepare_cached(
        "SELECT name, wr, strict FROM pragma_table_list WHERE ?1 IS NULL AND schema = 'main' AND type = 'table' \
         UNION ALL SELECT t.name, t.wr, t.strict FROM json_each(?1) j JOIN pragma_table_list(j.value) t \
         WHERE t.schema = 'main' AND t.type = 'table'",
    )?;
    let mut rows = statement.query([filter])?;
    while let Some(r) = rows.next()? {
        let Some(table) = schema.tables.get_mut(r.get_ref(0)?.as_str()?) else { continue };
        for (flag, option) in [(r.get::<_, bool>(2)?, "strict"), (r.get::<_, bool>(1)?, "without rowid")] {
            if flag {
                table.options.push(option.to_string());
            }
        }
    }
    Ok(())
}

/// `STRICT` and `WITHOUT ROWID` as written after a `CREATE TABLE`'s
/// column list, in the order [`table_options`] gives them.
#[cfg(feature = "testing")]
fn options_in_sql(sql: &str) -> Vec<String> {
    let Some((open, _)) = solid_tokens(sql).find(|(_, token)| *token == "(") else { return Vec::new() };
    let Some(len) = balanced(&sql[open..]) else { return Vec::new() };
    let tail: Vec<&str> = solid_tokens(&sql[open + len..]).map(|(_, token)| token).collect();
    let has = |word: &str| tail.iter().any(|token| token.eq_ignore_ascii_case(word));
    [(has("STRICT"), "strict"), (has("ROWID"), "without rowid")]
        .into_iter()
        .filter(|(set, _)| *set)
        .map(|(_, option)| option.to_string())
        .collect()
}

/// Indexes, their SQL (`sql`, by name: for predicates and expressions)
/// taken from the objects query rather than looked up per index.
fn indexes(
    conn: &Connection,
    tables: &str,
    params: impl rusqlite::Params,
    sql: &HashMap<String, String>,
    schema: &mut Schema,
) -> rusqlite::Result<()> {
    let query = format!(
        "SELECT m.name, il.name, il.\"unique\", il.origin, coalesce(ii.name, '<expression>') \
         FROM {tables} JOIN pragma_index_list(m.name) il JOIN pragma_index_info(il.name) ii \
         ORDER BY m.name, il.name, ii.seqno"
    );
    let mut statement = conn.prepare_cached(&query)?;
    let mut rows = statement.query(params)?;
    let mut uniques: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let (table, name, unique, origin, column): (String, String, bool, String, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
        let Some(entry) = schema.tables.get_mut(&table) else { continue };
        match origin.as_str() {
            "u" => uniques.entry((table, name)).or_default().push(column),
            "c" => {
                let sql = sql.get(&name).cloned();
                let index = entry.indexes.entry(name).or_insert_with(|| Index {
                    columns: Vec::new(),
                    unique,
                    predicate: sql.as_deref().and_then(predicate),
                });
                let column = match sql.as_deref().map(key_parts) {
                    Some(parts) if column == "<expression>" => {
                        parts.get(index.columns.len()).map_or(column, |part| format!("({part})"))
                    }
                    _ => column,
                };
                index.columns.push(column);
            }
            _ => {} // "pk": the primary key, reported as such
        }
    }
    for ((table, _), columns) in uniques {
        if let Some(table) = schema.tables.get_mut(&table) {
            table.uniques.push(columns);
        }
    }
    schema.tables.values_mut().for_each(|t| t.uniques.sort());
    Ok(())
}

fn foreign_keys(
    conn: &Connection,
    tables: &str,
    params: impl rusqlite::Params,
    schema: &mut Schema,
) -> rusqlite::Result<()> {
    let sql = format!(
        "SELECT m.name, fk.id, fk.\"table\", fk.\"from\", coalesce(fk.\"to\", ''), lower(fk.on_delete), lower(fk.on_update) \
         FROM {tables} JOIN pragma_foreign_key_list(m.name) fk ORDER BY m.name, fk.id, fk.seq"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let mut rows = statement.query(params)?;
    let mut keys: BTreeMap<(String, i64), ForeignKey> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let key = keys.entry((r.get(0)?, r.get(1)?)).or_insert_with(|| ForeignKey {
            columns: Vec::new(),
            references: String::new(),
            referenced_columns: Vec::new(),
            on_delete: String::new(),
            on_update: String::new(),
        });
        key.references = r.get(2)?;
        key.columns.push(r.get(3)?);
        let to: String = r.get(4)?;
        if !to.is_empty() {
            key.referenced_columns.push(to);
        }
        key.on_delete = r.get(5)?;
        key.on_update = r.get(6)?;
    }
    for ((table, _), key) in keys {
        if let Some(table) = schema.tables.get_mut(&table) {
            table.foreign_keys.push(key);
        }
    }
    schema.tables.values_mut().for_each(|t| t.foreign_keys.sort());
    Ok(())
}

/// The `WHERE` clause of a `CREATE INDEX`, if it has one.
fn predicate(sql: &str) -> Option<String> {
    let at = find_keyword(sql, "WHERE")?;
    Some(normalise_sql(&sql[at + "WHERE".len()..]))
}

/// The `AS (…)` expression of generated column `column` in a `CREATE
/// TABLE`, normalised: SQLite's catalogue says which columns are generated,
/// not how.
fn generation_expression(sql: &str, column: &str) -> Option<String> {
    let open = sql.find('(')?;
    let body = &sql[open + 1..open + balanced(&sql[open..])? - 1];
    let definition = top_level_parts(body).into_iter().find(|part| names(part, column))?;
    let after_as = &definition[find_keyword(definition, "AS")? + 2..];
    let start = after_as.find('(')?;
    let len = balanced(&after_as[start..])?;
    Some(normalise_sql(&after_as[start + 1..start + len - 1]))
}

/// Whether a column definition starts with the name `column`, quoted or not.
fn names(definition: &str, column: &str) -> bool {
    let Some((_, first)) = solid_tokens(definition).next() else { return false };
    let unquoted = match first.as_bytes().first() {
        Some(b'"' | b'`' | b'[') => &first[1..first.len().saturating_sub(1).max(1)],
        _ => first,
    };
    unquoted.eq_ignore_ascii_case(column)
}

/// `text` split at the commas outside brackets and quotes.
fn top_level_parts(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (at, token) in solid_tokens(text) {
        match token {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            "," if depth == 0 => {
                parts.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The key parts of a `CREATE INDEX … ON t (a, lower(b) DESC)`, normalised
/// and without `ASC`/`DESC`: SQLite's catalogue names the columns of an
/// index but not its expressions, so those are read from the SQL.
fn key_parts(sql: &str) -> Vec<String> {
    let Some(on) = find_keyword(sql, "ON") else { return Vec::new() };
    let Some(open) = sql[on..].find('(').map(|at| on + at) else { return Vec::new() };
    let Some(len) = balanced(&sql[open..]) else { return Vec::new() };
    let list = &sql[open + 1..open + len - 1];
    top_level_parts(list).into_iter().map(|part| unwrapped(without_order(&normalise_sql(part)))).collect()
}

/// `((a + 1))` → `a + 1`, so an expression reads the same however many
/// parentheses it was written with.
fn unwrapped(mut part: String) -> String {
    while part.starts_with('(') && balanced(&part) == Some(part.len()) {
        part = part[1..part.len() - 1].trim().to_string();
    }
    part
}

/// `lower(b) DESC` → `lower(b)`.
fn without_order(part: &str) -> String {
    let lower = part.to_ascii_lowercase();
    let cut =
        [" asc", " desc"].iter().find(|o| lower.ends_with(*o)).map_or(part.len(), |o| part.len() - o.len());
    part[..cut].to_string()
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

/// Byte offset of `keyword` as a whole word outside quotes and comments,
/// case-insensitive.
fn find_keyword(sql: &str, keyword: &str) -> Option<usize> {
    solid_tokens(sql).find(|(_, token)| token.eq_ignore_ascii_case(keyword)).map(|(at, _)| at)
}

/// Length of the parenthesised group `text` starts with, quotes respected.
fn balanced(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (at, token) in solid_tokens(text) {
        match token {
            "(" => depth += 1,
            ")" => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(at + 1);
                }
            }
            _ if depth == 0 => return None,
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
    fn names_with_non_ascii_letters_do_not_hide_expressions() {
        let schema = schema_of(
            "CREATE TABLE größe (maß TEXT, zwei TEXT AS (maß || 'ß'));
             CREATE INDEX größe_maß ON größe (lower(maß));",
        );
        let table = &schema.tables["größe"];
        assert_eq!(table.columns[1].describe(), "text generated always as (maß || 'ß') VIRTUAL");
        assert_eq!(table.indexes["größe_maß"].describe(), "((lower(maß)))");
    }

    #[test]
    fn generated_columns_are_read_with_their_expression_and_kind() {
        let schema = schema_of(
            "CREATE TABLE t (a TEXT, \"the b\" INT, [c,d] INT GENERATED ALWAYS AS (coalesce(\"the b\", (1 + 2))) VIRTUAL,
                 e TEXT AS (a || ',') STORED, \"as\" INT AS (length(a)));",
        );
        let described: Vec<String> = schema.tables["t"].columns.iter().map(|c| c.describe()).collect();
        assert_eq!(
            described,
            [
                "text",
                "int",
                "int generated always as (coalesce(\"the b\",(1 + 2))) VIRTUAL",
                "text generated always as (a || ',') STORED",
                "int generated always as (length(a)) VIRTUAL",
            ]
        );
    }

    #[test]
    fn collations_and_table_options_are_read() {
        let schema = schema_of(
            "CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT COLLATE NOCASE, code TEXT COLLATE BINARY) STRICT;
             CREATE TABLE b (k TEXT PRIMARY KEY) WITHOUT ROWID;",
        );
        let a = &schema.tables["a"];
        assert_eq!(a.options, ["autoincrement", "strict"]);
        assert_eq!(a.columns[1].describe(), "text collate nocase");
        assert_eq!(a.columns[2].describe(), "text", "BINARY is the default");
        assert_eq!(schema.tables["b"].options, ["without rowid"]);
        assert_eq!(schema.entries()["table b: options"], "without rowid");
    }

    #[test]
    fn index_expressions_are_read_from_the_sql_however_they_were_written() {
        let schema = schema_of(
            "CREATE TABLE t (a TEXT, \"b,c\" TEXT);
             CREATE INDEX t_mixed ON t (a, ((length(a) + 1)) DESC, lower(\"b,c\") COLLATE nocase, substr(a, 1, 2)) WHERE a <> ',';",
        );
        assert_eq!(
            schema.tables["t"].indexes["t_mixed"].describe(),
            "(a, (length(a) + 1), (lower(\"b,c\") COLLATE nocase), (substr(a,1,2))) where a <> ','"
        );
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
