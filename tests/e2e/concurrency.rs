//! Several OS processes of the built binary upgrading one SQLite file at
//! once: every run succeeds and every revision is applied exactly once.

use crate::support::{finish, Fixture};
use std::path::Path;

const PROCESSES: usize = 8;
const ROUNDS: usize = 5;
const REVISIONS: usize = 12;

/// A chain whose every revision creates a table and bumps a counter, so a
/// revision applied twice shows as a count above 1.
fn counting_chain(fixture: &Fixture) {
    let folder = fixture.path().join("migrations");
    std::fs::remove_dir_all(&folder).expect("clear migrations");
    std::fs::create_dir(&folder).expect("migrations");
    for i in 0..REVISIONS {
        let id = format!("c0ffee{i:06}");
        let parent = if i == 0 { String::new() } else { format!("c0ffee{:06}", i - 1) };
        let setup =
            if i == 0 { "CREATE TABLE applied (revision TEXT NOT NULL, n INTEGER NOT NULL);\n" } else { "" };
        let text = format!(
            "-- revision: {id}\n-- revises: {parent}\n-- message: step {i}\n\n-- migrate:upgrade\n{setup}CREATE TABLE t{i} (id INTEGER PRIMARY KEY);\nINSERT INTO applied VALUES ('{id}', 1);\n\n-- migrate:downgrade\nDROP TABLE t{i};\n"
        );
        std::fs::write(folder.join(format!("{id}_step.sql")), text).expect("write revision");
    }
}

fn stampede(fixture: &Fixture, db: &Path) {
    let url = format!("sqlite:{}", db.display());
    let children: Vec<_> =
        (0..PROCESSES).map(|_| fixture.spawn(&["upgrade", "--database-url", &url])).collect();
    for child in children {
        let run = finish(child);
        assert_eq!(run.code, 0, "a migrator failed: {}", run.stderr);
    }
    let conn = rusqlite::Connection::open(db).expect("open");
    let counts: Vec<(String, i64)> = conn
        .prepare("SELECT revision, count(*) FROM applied GROUP BY revision ORDER BY revision")
        .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .expect("read counts");
    assert_eq!(counts.len(), REVISIONS, "every revision applied: {counts:?}");
    assert!(counts.iter().all(|(_, n)| *n == 1), "a revision ran twice: {counts:?}");
    let rows: i64 =
        conn.query_row("SELECT count(*) FROM migrate_history", [], |r| r.get(0)).expect("history");
    assert_eq!(rows, REVISIONS as i64);
}

#[test]
fn eight_processes_on_a_cold_sqlite_file_apply_each_revision_once() {
    let fixture = Fixture::copy("demo");
    counting_chain(&fixture);
    for round in 0..ROUNDS {
        stampede(&fixture, &fixture.path().join(format!("cold{round}.db")));
    }
}

#[test]
fn eight_processes_on_a_wal_sqlite_file_apply_each_revision_once() {
    let fixture = Fixture::copy("demo");
    counting_chain(&fixture);
    for round in 0..ROUNDS {
        let db = fixture.path().join(format!("wal{round}.db"));
        let conn = rusqlite::Connection::open(&db).expect("create");
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).expect("wal");
        assert_eq!(mode, "wal");
        drop(conn);
        stampede(&fixture, &db);
    }
}
