//! The SQLite engine honours a leading `PRAGMA foreign_keys = OFF`: the
//! table-rebuild procedure for a table other tables reference runs with
//! foreign keys off, is checked before it commits, and leaves the
//! connection's enforcement as it found it.

use migrate_runtime::apply::upgrade_script;
use migrate_runtime::apply::Options;
use migrate_runtime::chain::parse_revision;
use migrate_runtime::sqlite::SqliteMigrator;
use migrate_runtime::{ApplyError, Dialect, Graph};
use rusqlite::Connection;

const PARENT: &str = "-- revision: aaaa00000001
-- message: parent and children
-- migrate:upgrade
CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id) ON DELETE CASCADE);
INSERT INTO p VALUES (1, 'a'), (2, NULL);
INSERT INTO c VALUES (10, 1), (20, 2);
-- migrate:downgrade
DROP TABLE c;
DROP TABLE p;
";

/// Makes `p.name` not null by rebuilding `p`, as autogenerate writes it.
const REBUILD: &str = "-- revision: bbbb00000002
-- revises: aaaa00000001
-- message: name not null
-- migrate:upgrade
PRAGMA foreign_keys = OFF;
CREATE TABLE _migrate_new_p (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');
INSERT INTO _migrate_new_p (id, name) SELECT id, coalesce(name, '') FROM p;
DROP TABLE p;
ALTER TABLE _migrate_new_p RENAME TO p;
-- migrate:downgrade
PRAGMA foreign_keys = OFF;
CREATE TABLE _migrate_new_p (id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO _migrate_new_p (id, name) SELECT id, name FROM p;
DROP TABLE p;
ALTER TABLE _migrate_new_p RENAME TO p;
";

/// Rebuilds `p` without the row `c` row 20 references.
const DANGLING: &str = "-- revision: cccc00000003
-- revises: bbbb00000002
-- message: loses a parent
-- migrate:upgrade
PRAGMA foreign_keys = OFF;
CREATE TABLE _migrate_new_p (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');
INSERT INTO _migrate_new_p (id, name) SELECT id, name FROM p WHERE id = 1;
DROP TABLE p;
ALTER TABLE _migrate_new_p RENAME TO p;
-- migrate:downgrade
SELECT 1;
";

fn graph(texts: &[&str]) -> Graph {
    let revisions = texts
        .iter()
        .map(|text| {
            let id = &text[13..25];
            parse_revision(format!("migrations/{id}_.sql").as_ref(), text).expect("parses")
        })
        .collect();
    Graph::build(revisions).expect("a valid chain")
}

fn strings(conn: &Connection, sql: &str) -> Vec<String> {
    let mut statement = conn.prepare(sql).expect("prepare");
    let rows = statement.query_map([], |row| row.get::<_, rusqlite::types::Value>(0)).expect("query");
    rows.map(|value| format!("{:?}", value.expect("row"))).collect()
}

fn enforced(conn: &Connection) -> bool {
    conn.pragma_query_value(None, "foreign_keys", |row| row.get(0)).expect("pragma")
}

#[test]
fn a_referenced_table_is_rebuilt_with_foreign_keys_off_and_its_children_keep_their_rows() {
    let conn = Connection::open_in_memory().expect("memory");
    assert!(enforced(&conn), "the bundled SQLite enforces foreign keys by default");
    let (graph, options) = (graph(&[PARENT, REBUILD]), Options::new("app"));
    let migrator = SqliteMigrator::new(&conn, &graph, &options);
    migrator.upgrade("head", &mut |_| {}).expect("upgrade");
    assert_eq!(strings(&conn, "SELECT id FROM c ORDER BY id"), ["Integer(10)", "Integer(20)"]);
    assert_eq!(strings(&conn, "SELECT name FROM p ORDER BY id"), ["Text(\"a\")", "Text(\"\")"]);
    assert!(enforced(&conn), "enforcement is back on after the run");
    let refused = conn.execute("INSERT INTO c VALUES (30, 99)", []);
    assert!(refused.is_err(), "the rebuilt parent is still enforced: {refused:?}");

    migrator.downgrade("-1", &mut |_| {}).expect("downgrade");
    assert_eq!(strings(&conn, "SELECT id FROM c ORDER BY id"), ["Integer(10)", "Integer(20)"]);
    assert!(enforced(&conn));
}

#[test]
fn a_rebuild_that_leaves_dangling_rows_is_rolled_back_and_named() {
    let conn = Connection::open_in_memory().expect("memory");
    let (graph, options) = (graph(&[PARENT, REBUILD, DANGLING]), Options::new("app"));
    let error = SqliteMigrator::new(&conn, &graph, &options).upgrade("head", &mut |_| {}).unwrap_err();
    assert!(matches!(error, ApplyError::ForeignKeyCheck { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "migrations/cccc00000003_.sql:5: revision `cccc00000003` turns foreign keys off but leaves rows that break them, so it was rolled back: table c row 20 references a missing row of p"
    );
    assert_eq!(strings(&conn, "SELECT id FROM p ORDER BY id"), ["Integer(1)", "Integer(2)"]);
    let applied = strings(&conn, "SELECT revision FROM migrate_history ORDER BY revision");
    assert_eq!(applied, ["Text(\"aaaa00000001\")", "Text(\"bbbb00000002\")"]);
    assert!(enforced(&conn), "enforcement is back on after the failure");
}

#[test]
fn rows_that_dangled_before_are_not_the_rebuild_s_doing() {
    let conn = Connection::open_in_memory().expect("memory");
    let (graph, options) = (graph(&[PARENT, REBUILD]), Options::new("app"));
    let migrator = SqliteMigrator::new(&conn, &graph, &options);
    migrator.upgrade("aaaa00000001", &mut |_| {}).expect("first revision");
    conn.execute_batch("PRAGMA foreign_keys = OFF; INSERT INTO c VALUES (30, 99); PRAGMA foreign_keys = ON;")
        .expect("a row that already dangles");
    migrator.upgrade("head", &mut |_| {}).expect("the rebuild is not blamed for row 30");
    assert_eq!(strings(&conn, "SELECT id FROM c ORDER BY id"), ["Integer(10)", "Integer(20)", "Integer(30)"]);
}

#[test]
fn a_connection_without_enforcement_is_left_without() {
    let conn = Connection::open_in_memory().expect("memory");
    conn.pragma_update(None, "foreign_keys", false).expect("pragma");
    let (graph, options) = (graph(&[PARENT, REBUILD]), Options::new("app"));
    SqliteMigrator::new(&conn, &graph, &options).upgrade("head", &mut |_| {}).expect("upgrade");
    assert!(!enforced(&conn));
}

#[test]
fn the_offline_script_turns_foreign_keys_off_around_the_transaction_and_checks_them() {
    let (graph, options) = (graph(&[PARENT, REBUILD]), Options::new("app"));
    let script = upgrade_script(&graph, Dialect::Sqlite, &options, &[], &graph.heads()).expect("script");
    let step =
        &script[script.find("-- Running upgrade aaaa00000001 -> bbbb00000002").expect("second step")..];
    let lines: Vec<&str> = step.lines().collect();
    assert_eq!(lines[2..5], ["PRAGMA foreign_keys = OFF;", "BEGIN;", "PRAGMA foreign_keys = OFF;"]);
    assert!(lines[lines.len() - 4].starts_with("INSERT INTO _migrate_foreign_key_check"), "{step}");
    assert_eq!(lines[lines.len() - 2..], ["COMMIT;", "PRAGMA foreign_keys = ON;"]);

    let conn = Connection::open_in_memory().expect("memory");
    conn.execute_batch(&script).expect("the script runs");
    assert_eq!(strings(&conn, "SELECT id FROM c ORDER BY id"), ["Integer(10)", "Integer(20)"]);
    assert!(enforced(&conn));
}

#[test]
fn the_offline_script_stops_at_a_rebuild_that_leaves_dangling_rows() {
    let (graph, options) = (graph(&[PARENT, REBUILD, DANGLING]), Options::new("app"));
    let script = upgrade_script(&graph, Dialect::Sqlite, &options, &[], &graph.heads()).expect("script");
    let conn = Connection::open_in_memory().expect("memory");
    let error = conn.execute_batch(&script).unwrap_err().to_string();
    assert!(error.contains("CHECK constraint failed: violations = 0"), "{error}");
    conn.execute_batch("ROLLBACK; PRAGMA foreign_keys = ON;").expect("as a script runner would");
    assert_eq!(strings(&conn, "SELECT id FROM p ORDER BY id"), ["Integer(1)", "Integer(2)"]);
}
