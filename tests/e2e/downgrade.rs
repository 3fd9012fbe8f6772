//! Downgrades on graphs with several bases and branches, run by the built
//! binary on SQLite and PostgreSQL alike: a downgrade reverts what descends
//! from its target and nothing else, so the tables of an unrelated base or
//! branch survive it (the `two_bases` fixture: `users` = 1a00, `audit` =
//! 2a00 -> 2b00).

use crate::support::{pg, sqlite, Fixture, Run};

const USERS: &str = "1a0000000000";
const AUDIT: &str = "2a0000000000";
const ACTOR: &str = "2b0000000000";

/// What a scenario needs of one database: run a command against it, and
/// read its user columns (`table.column`, sorted) and history rows.
struct Database<'a> {
    run: &'a dyn Fn(&[&str]) -> Run,
    columns: &'a dyn Fn() -> Vec<String>,
    history: &'a dyn Fn() -> Vec<String>,
}

impl Database<'_> {
    /// Runs `line` and checks which tables and columns are left.
    #[track_caller]
    fn step(&self, line: &str, columns: &[&str]) {
        (self.run)(&line.split_whitespace().collect::<Vec<_>>()).ok();
        assert_eq!((self.columns)(), columns, "columns after `{line}`");
    }
}

const ALL: [&str; 5] = ["audit_log.actor", "audit_log.id", "audit_log.what", "users.id", "users.name"];
const AUDIT_ONLY: [&str; 3] = ["audit_log.actor", "audit_log.id", "audit_log.what"];
const WITHOUT_ACTOR: [&str; 4] = ["audit_log.id", "audit_log.what", "users.id", "users.name"];

fn two_bases(db: &Database<'_>) {
    db.step("upgrade heads", &ALL);
    // The data loss: this used to revert the `users` base too.
    db.step(&format!("downgrade {AUDIT}"), &WITHOUT_ACTOR);
    let mut history = (db.history)();
    history.sort();
    assert_eq!(history, [USERS, AUDIT], "only {ACTOR} is reverted");

    db.step("upgrade heads", &ALL);
    db.step("downgrade audit@base", &["users.id", "users.name"]);
    db.step("upgrade heads", &ALL);
    db.step("downgrade users@base", &AUDIT_ONLY);
    db.step("upgrade heads", &ALL);
    db.step("downgrade audit@-1", &WITHOUT_ACTOR);
    db.step("upgrade heads", &ALL);
    db.step(&format!("downgrade {ACTOR}-1"), &WITHOUT_ACTOR);

    // `-1` from two current revisions would have to pick one: refused.
    let refused = (db.run)(&["downgrade", "-1"]).fails();
    assert!(refused.contains("the database is at several revisions"), "{refused}");
    assert!(refused.contains(&format!("e.g. `{USERS}-1`")), "{refused}");
    assert_eq!((db.columns)(), WITHOUT_ACTOR, "a refused downgrade changes nothing");

    db.step("downgrade base", &[]);
    assert!((db.history)().is_empty());
}

#[test]
fn downgrades_leave_unrelated_bases_on_sqlite() {
    let fixture = Fixture::copy("two_bases");
    let file = fixture.path().join("app.sqlite3");
    let url = format!("sqlite:{}", file.display());
    let run = |args: &[&str]| fixture.run(&[args, &["--database-url", &url]].concat());
    let columns = || {
        let conn = sqlite::open(&file);
        let tables = sqlite::tables(&file).into_iter().filter(|t| !t.starts_with("migrate_history"));
        let mut columns: Vec<String> = tables
            .flat_map(|t| sqlite::columns(&conn, &t).into_iter().map(move |c| format!("{t}.{c}")))
            .collect();
        columns.sort();
        columns
    };
    let history = || sqlite::history(&file, "migrate_history");
    two_bases(&Database { run: &run, columns: &columns, history: &history });
}

#[test]
fn downgrades_leave_unrelated_bases_on_postgres() {
    let Some(url) = pg::database() else { return };
    let fixture = Fixture::copy_as_postgres("two_bases");
    let run = |args: &[&str]| fixture.run(&[args, &["--database-url", &url]].concat());
    let columns = || {
        let rows = pg::sql(
            &url,
            "SELECT table_name || '.' || column_name FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT IN ('migrate_history', 'migrate_history_format') ORDER BY 1",
        );
        rows.into_iter().map(|row| row[0].clone()).collect()
    };
    let history = || pg::history(&url);
    two_bases(&Database { run: &run, columns: &columns, history: &history });
}

#[test]
fn offline_downgrade_sql_reverts_the_same_revisions() {
    let fixture = Fixture::copy("two_bases");
    let script = fixture.run(&["downgrade", "--sql", &format!("heads:{AUDIT}")]).ok();
    assert!(script.contains("ALTER TABLE audit_log DROP COLUMN actor;"), "{script}");
    assert!(!script.contains("DROP TABLE users"), "the users base is not below {AUDIT}:\n{script}");
    let script = fixture.run(&["downgrade", "--sql", "heads:users@base"]).ok();
    assert!(script.contains("DROP TABLE users;"), "{script}");
    assert!(!script.contains("audit_log"), "{script}");
    // Refused as the live downgrade refuses it, not an empty script.
    let refused = fixture.run(&["downgrade", "--sql", "heads:heads"]).fails();
    assert!(refused.contains("`heads` needs one head but the chain has several"), "{refused}");
}
