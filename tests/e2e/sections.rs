//! Where a section ends: its last statement may lack a `;` and be followed
//! by a comment that has one. Live runs and `--sql` scripts must still end
//! that statement before the history row's, on SQLite and on PostgreSQL.

use crate::support::pg::{database, history, sql};
use crate::support::{sqlite, Fixture};
use rusqlite::Connection;

const DEMO_BASE: &str = "cf0f5b45967a";
const DEMO_HEAD: &str = "20f04b9598da";
const NOTE: &str = "7a7a7a7a7a7a";

/// A revision on the demo's head whose sections end in an unterminated
/// statement followed by a comment ending in `;`.
const UNTERMINATED: &str = "-- revision: 7a7a7a7a7a7a\n-- revises: 20f04b9598da\n-- message: add notes\n\n\
     -- migrate:upgrade\nCREATE TABLE note (id INTEGER)\n-- notes come later; see the design;\n\n\
     -- migrate:downgrade\nDROP TABLE note\n-- gone;\n";

fn demo_with_unterminated_sections() -> Fixture {
    let demo = Fixture::copy("demo");
    demo.write("migrations/7a7a7a7a7a7a_add_notes.sql", UNTERMINATED);
    demo
}

#[test]
fn an_unterminated_last_statement_before_a_comment_with_a_semicolon_runs_on_sqlite_live_and_offline() {
    let demo = demo_with_unterminated_sections();
    let db = demo.path().join("live.sqlite3");
    let url = format!("sqlite:{}", db.display());
    demo.run(&["upgrade", "--database-url", &url]).ok();
    assert!(sqlite::tables(&db).contains(&"note".to_string()), "{:?}", sqlite::tables(&db));
    assert_eq!(sqlite::history(&db, "migrate_history"), [DEMO_BASE, DEMO_HEAD, NOTE]);
    demo.run(&["downgrade", "-1", "--database-url", &url]).ok();
    assert!(!sqlite::tables(&db).contains(&"note".to_string()));

    let offline = demo.path().join("offline.sqlite3");
    let run = |args: &[&str]| {
        let script = demo.run(args).ok();
        Connection::open(&offline)
            .and_then(|c| c.execute_batch(&script))
            .unwrap_or_else(|e| panic!("{args:?}: the script does not run: {e}\n{script}"));
    };
    run(&["upgrade", "--sql"]);
    assert!(sqlite::tables(&offline).contains(&"note".to_string()));
    assert_eq!(sqlite::history(&offline, "migrate_history"), [DEMO_BASE, DEMO_HEAD, NOTE]);
    run(&["downgrade", "7a7a:20f0", "--sql"]);
    assert!(!sqlite::tables(&offline).contains(&"note".to_string()));
    assert_eq!(sqlite::history(&offline, "migrate_history"), [DEMO_BASE, DEMO_HEAD]);
}

#[test]
fn an_unterminated_last_statement_before_a_comment_with_a_semicolon_runs_on_postgres_live_and_offline() {
    let (Some(live), Some(offline)) = (database(), database()) else { return };
    let demo = demo_with_unterminated_sections();
    let has_note = |url: &str| sql(url, "SELECT to_regclass('note') IS NOT NULL")[0][0] == "t";
    demo.run(&["upgrade", "--database-url", &live]).ok();
    assert!(has_note(&live));
    assert_eq!(history(&live), [DEMO_BASE, DEMO_HEAD, NOTE]);
    demo.run(&["downgrade", "-1", "--database-url", &live]).ok();
    assert!(!has_note(&live));

    sql(&offline, &demo.run(&["upgrade", "--sql", "--dialect", "postgres"]).ok());
    assert!(has_note(&offline));
    assert_eq!(history(&offline), [DEMO_BASE, DEMO_HEAD, NOTE]);
    sql(&offline, &demo.run(&["downgrade", "7a7a:20f0", "--sql", "--dialect", "postgres"]).ok());
    assert!(!has_note(&offline));
    assert_eq!(history(&offline), [DEMO_BASE, DEMO_HEAD]);
}
