//! History tables of earlier formats (`fixtures/history-formats/`) read by
//! `current` without a write and upgraded in place by `upgrade`; one of a
//! newer format refused by both, unchanged.

use crate::support::pg::{self, database};
use crate::support::{fixtures_dir, sqlite, Fixture};
use std::path::Path;

const BASE: &str = "cf0f5b45967a";
const HEAD: &str = "20f04b9598da";

fn fixture_sql(name: &str) -> String {
    let path = fixtures_dir().join("history-formats").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A SQLite file made by `fixtures/history-formats/<name>`.
fn sqlite_database(demo: &Fixture, name: &str) -> std::path::PathBuf {
    let db = demo.path().join(format!("{name}.db"));
    rusqlite::Connection::open(&db).and_then(|c| c.execute_batch(&fixture_sql(name))).expect("fixture SQL");
    db
}

/// Everything SQLite keeps about the history tables: their definitions and
/// every row, each column as text.
fn sqlite_history(db: &Path) -> Vec<String> {
    let conn = sqlite::open(db);
    let mut lines = sqlite::query_strings(
        &conn,
        "SELECT sql FROM sqlite_master WHERE name LIKE 'migrate\\_history%' ESCAPE '\\' ORDER BY name",
    );
    for table in sqlite::query_strings(
        &conn,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'migrate\\_history%' ESCAPE '\\' ORDER BY name",
    ) {
        let columns = sqlite::columns(&conn, &table);
        let row = columns.iter().map(|c| format!("coalesce(quote(\"{c}\"), 'NULL')")).collect::<Vec<_>>();
        let sql = format!("SELECT {} FROM \"{table}\" ORDER BY 1", row.join(" || '|' || "));
        lines.extend(sqlite::query_strings(&conn, &sql));
    }
    lines
}

/// Everything PostgreSQL keeps about the history tables: columns with types
/// and defaults, and every row as text.
fn postgres_history(url: &str) -> Vec<String> {
    let columns = pg::sql(
        url,
        "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || coalesce(column_default, '') \
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name LIKE 'migrate\\_history%' \
         ORDER BY table_name, ordinal_position",
    );
    let mut lines: Vec<String> = columns.into_iter().map(|r| r[0].clone()).collect();
    lines.extend(
        pg::sql(url, "SELECT t::text FROM migrate_history t ORDER BY 1").into_iter().map(|r| r[0].clone()),
    );
    if lines.iter().any(|l| l.starts_with("migrate_history_format.")) {
        let rows = pg::sql(url, "SELECT t::text FROM migrate_history_format t ORDER BY 1");
        lines.extend(rows.into_iter().map(|r| r[0].clone()));
    }
    lines
}

/// `current` and `history` read the table without changing a byte of the
/// file; `upgrade` records the current format, adds what the format
/// lacked and applies the revision left.
#[test]
fn every_earlier_history_format_is_read_unchanged_and_upgraded_in_place_on_sqlite() {
    for name in ["format-0.sqlite.sql", "format-1.sqlite.sql"] {
        let demo = Fixture::copy("demo");
        let db = sqlite_database(&demo, name);
        let url = format!("sqlite:{}", db.display());
        let run = |args: &[&str]| demo.run(&[args, &["--database-url", &url]].concat());
        let before = (std::fs::read(&db).expect("read"), sqlite_history(&db));
        let current = run(&["current"]).ok();
        assert!(current.contains(BASE) && current.contains(&format!("pending {HEAD}")), "{name}: {current}");
        run(&["history"]).ok();
        assert!(before == (std::fs::read(&db).expect("read"), sqlite_history(&db)), "{name}: a read wrote");

        run(&["upgrade"]).ok();
        let conn = sqlite::open(&db);
        assert_eq!(
            sqlite::query_strings(&conn, "SELECT CAST(format AS TEXT) FROM migrate_history_format"),
            ["1"],
            "{name}"
        );
        assert!(sqlite::columns(&conn, "migrate_history").contains(&"depends_on".to_string()), "{name}");
        assert_eq!(sqlite::history(&db, "migrate_history"), [BASE, "b1b1b1b1b1b1", HEAD], "{name}");
        let current = run(&["current"]).ok();
        assert!(
            current.contains(&format!("current {HEAD}")) && !current.contains("pending"),
            "{name}: {current}"
        );
    }
}

#[test]
fn every_earlier_history_format_is_read_unchanged_and_upgraded_in_place_on_postgres() {
    for name in ["format-0.postgres.sql", "format-1.postgres.sql"] {
        let Some(url) = database() else { return };
        pg::sql(&url, &fixture_sql(name));
        let demo = Fixture::copy_as_postgres("demo");
        let run = |args: &[&str]| demo.run(&[args, &["--database-url", &url]].concat());
        let before = postgres_history(&url);
        let current = run(&["current"]).ok();
        assert!(current.contains(BASE) && current.contains(&format!("pending {HEAD}")), "{name}: {current}");
        run(&["history"]).ok();
        assert_eq!(postgres_history(&url), before, "{name}: a read wrote");

        run(&["upgrade"]).ok();
        assert_eq!(pg::sql(&url, "SELECT format FROM migrate_history_format"), [["1"]], "{name}");
        let layout = postgres_history(&url);
        assert!(
            layout.iter().any(|l| l.starts_with("migrate_history.depends_on text")),
            "{name}: {layout:?}"
        );
        assert!(layout
            .contains(&"migrate_history.applied_at timestamp with time zone clock_timestamp()".to_string()));
        assert_eq!(pg::history(&url), [BASE, "b1b1b1b1b1b1", HEAD], "{name}");
        let current = run(&["current"]).ok();
        assert!(
            current.contains(&format!("current {HEAD}")) && !current.contains("pending"),
            "{name}: {current}"
        );
    }
}

const NEWER: &str = "UPDATE migrate_history_format SET format = 2, written_by = 'migrate-runtime 9.9.9'";

fn assert_refused_as_newer(stderr: &str) {
    assert!(
        stderr.contains(
            "the history table `migrate_history` is in format 2 (written by migrate-runtime 9.9.9), newer than \
             format 1, the newest migrate-runtime"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("run this command with the cargo-migrate that wrote it, or a newer one"),
        "{stderr}"
    );
}

#[test]
fn a_newer_history_format_is_refused_by_upgrade_and_current_and_left_unchanged_on_sqlite() {
    let demo = Fixture::copy("demo");
    let db = demo.path().join("newer.db");
    let url = format!("sqlite:{}", db.display());
    let run = |args: &[&str]| demo.run(&[args, &["--database-url", &url]].concat());
    run(&["upgrade", BASE]).ok();
    rusqlite::Connection::open(&db).and_then(|c| c.execute_batch(NEWER)).expect("make it newer");
    let before = (std::fs::read(&db).expect("read"), sqlite_history(&db));
    for command in ["upgrade", "current", "stamp", "repair"] {
        let args: &[&str] = if command == "stamp" { &["stamp", "head"] } else { &[command] };
        assert_refused_as_newer(&run(args).fails());
    }
    assert!(before == (std::fs::read(&db).expect("read"), sqlite_history(&db)), "a refused run wrote");
}

#[test]
fn a_newer_history_format_is_refused_by_upgrade_and_current_and_left_unchanged_on_postgres() {
    let Some(url) = database() else { return };
    let demo = Fixture::copy_as_postgres("demo");
    let run = |args: &[&str]| demo.run(&[args, &["--database-url", &url]].concat());
    run(&["upgrade", BASE]).ok();
    pg::sql(&url, NEWER);
    let before = (postgres_history(&url), pg::schema(&url));
    for command in ["upgrade", "current", "stamp", "repair"] {
        let args: &[&str] = if command == "stamp" { &["stamp", "head"] } else { &[command] };
        assert_refused_as_newer(&run(args).fails());
    }
    assert_eq!((postgres_history(&url), pg::schema(&url)), before, "a refused run wrote");
}
