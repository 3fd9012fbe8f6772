//! The walk-versions harness on real revision sets: each failure it must
//! catch, with its exact message, and clean chains that must pass, on
//! in-memory SQLite and on a throw-away PostgreSQL database.

use migrate_runtime::chain::load_graph;
use migrate_runtime::testing::{HookError, TestDatabase, WalkError, WalkVersions};
use migrate_runtime::DatabaseError;
use migrate_runtime::Graph;
use std::path::Path;

fn fixture(path: &str) -> Graph {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(path);
    load_graph(&root, "migrations".as_ref()).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Inserts a user, as `_pre_upgrade_<rev>` would.
fn insert_user(db: &mut dyn TestDatabase) -> Result<(), DatabaseError> {
    db.execute("INSERT INTO \"user\" (id, email) VALUES (1, 'ada@example.com')")
}

/// Checks the user is still there, as `_check_<rev>` would.
fn user_survived(db: &mut dyn TestDatabase) -> Result<(), HookError> {
    let rows = db.query("SELECT email FROM \"user\" WHERE id = 1")?;
    match rows.as_slice() {
        [row] if row[0].as_deref() == Some("ada@example.com") => Ok(()),
        _ => Err(format!("user 1 is gone: {rows:?}").into()),
    }
}

fn sqlite_error(walk: WalkVersions<'_>) -> String {
    walk.run_sqlite().expect_err("the walk must fail").to_string()
}

#[test]
fn a_downgrade_that_forgets_a_column_is_named() {
    let graph = fixture("walk/forgets_column");
    assert_eq!(
        sqlite_error(WalkVersions::new(&graph)),
        "migrations/20f04b9598da_add_login_count.sql:11: the downgrade of revision `20f04b9598da` does not give back the schema from before its upgrade\n\
         \x20 table user: column login_count: present after downgrade of 20f04b9598da, absent before its upgrade\n\
         \x20   --- before its upgrade\n\
         \x20   +++ after downgrade of 20f04b9598da\n\
         \x20   @@ -0,0 +1 @@\n\
         \x20   +integer"
    );
}

#[test]
fn a_downgrade_that_forgets_an_index_is_named() {
    let graph = fixture("walk/forgets_index");
    assert_eq!(
        sqlite_error(WalkVersions::new(&graph)),
        "migrations/3c3c3c3c3c3c_index_emails.sql:10: the downgrade of revision `3c3c3c3c3c3c` does not give back the schema from before its upgrade\n\
         \x20 table user: index user_email: present after downgrade of 3c3c3c3c3c3c, absent before its upgrade\n\
         \x20   --- before its upgrade\n\
         \x20   +++ after downgrade of 3c3c3c3c3c3c\n\
         \x20   @@ -0,0 +1 @@\n\
         \x20   +unique (email)"
    );
}

/// The first line of each defect a walk that goes on reports.
fn defect_headlines(error: &WalkError) -> Vec<String> {
    let WalkError::Defects(defects) = error else { panic!("expected several defects: {error}") };
    defects.iter().map(|d| d.to_string().lines().next().unwrap_or_default().to_string()).collect()
}

const SEVERAL_DEFECTS: [&str; 3] = [
    "migrations/2b2b2b2b2b2b_add_login_count.sql:10: the downgrade of revision `2b2b2b2b2b2b` does not give back the schema from before its upgrade",
    "migrations/3c3c3c3c3c3c_widen_the_emails_view.sql:11: the downgrade of revision `3c3c3c3c3c3c` does not give back the schema from before its upgrade",
    "migrations/5e5e5e5e5e5e_index_emails.sql:10: the downgrade of revision `5e5e5e5e5e5e` does not give back the schema from before its upgrade",
];

/// Three defective downgrades, each found once (the final downgrade does
/// not report them again), the walk going on after each from a rebuilt
/// database: the sound revisions between them are no findings, and the
/// view's two definitions come as a diff marking the changed line.
#[test]
fn a_walk_goes_on_after_each_defect_and_reports_them_all() {
    let graph = fixture("walk/several_defects");
    let error = WalkVersions::new(&graph).run_sqlite().expect_err("three defects");
    assert_eq!(defect_headlines(&error), SEVERAL_DEFECTS);
    let text = error.to_string();
    assert!(text.starts_with("3 defects, in the order the walk met them:\n"), "{text}");
    assert!(
        text.contains("\n    +++ after downgrade of 2b2b2b2b2b2b\n    @@ -0,0 +1 @@\n    +integer\n"),
        "{text}"
    );
    assert!(
        text.contains("\n  view emails: differs after downgrade of 3c3c3c3c3c3c from before its upgrade\n"),
        "{text}"
    );
    assert!(text.contains("\n    -CREATE VIEW emails AS SELECT email FROM \"user\"\n"), "{text}");
    assert!(
        text.contains("\n    +CREATE VIEW emails AS SELECT email FROM \"user\" WHERE login_count > 1\n"),
        "{text}"
    );
    let first = WalkVersions::new(&graph).fail_fast().run_sqlite().expect_err("a defect");
    assert!(matches!(first, WalkError::Mismatch { .. }), "{first}");
    assert!(first.to_string().starts_with(SEVERAL_DEFECTS[0]), "{first}");
}

#[test]
fn an_upgrade_that_fails_on_hook_data_names_file_and_line() {
    let graph = fixture("walk/not_null_without_default");
    let message = sqlite_error(WalkVersions::new(&graph).before_upgrade("4d4d", insert_user));
    assert_eq!(
        message,
        "upgrade of revision `4d4d4d4d4d4d` failed: migrations/4d4d4d4d4d4d_require_a_name.sql:7: revision `4d4d4d4d4d4d` failed: Cannot add a NOT NULL column with default value NULL\n  in statement: ALTER TABLE \"user\" ADD COLUMN name VARCHAR(80) NOT NULL"
    );
}

#[test]
fn a_downgrade_that_loses_hook_data_is_named() {
    let graph = fixture("walk/downgrade_loses_data");
    let walk = WalkVersions::new(&graph)
        .before_upgrade("5e5e", insert_user)
        .after_upgrade("5e5e", user_survived)
        .after_downgrade("5e5e", user_survived);
    assert_eq!(
        sqlite_error(walk),
        "hook after its downgrade of revision `5e5e5e5e5e5e` failed: user 1 is gone: []"
    );
}

#[test]
fn hooks_on_unknown_revisions_are_errors() {
    let graph = fixture("demo");
    let error = WalkVersions::new(&graph)
        .after_upgrade("ffff", |_| Ok::<_, HookError>(()))
        .run_sqlite()
        .expect_err("unknown");
    assert!(matches!(error, WalkError::UnknownHookRevision { .. }), "{error}");
    assert_eq!(error.to_string(), "hook for `ffff`: no revision matches `ffff`");
}

#[test]
fn clean_chains_pass_on_sqlite() {
    for path in ["demo", "branched", "workspace/accounts"] {
        let graph = fixture(path);
        let report = WalkVersions::new(&graph).run_sqlite().unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(report.revisions, graph.len(), "{path}");
        assert_eq!(report.downgraded, 2 * graph.len(), "{path}: down in the snake walk and again at the end");
    }
}

#[test]
fn the_demo_keeps_its_users_through_the_login_fields_revision() {
    let graph = fixture("demo");
    let report = WalkVersions::new(&graph)
        .before_upgrade("20f0", insert_user)
        .after_upgrade("20f0", |db| {
            user_survived(db)?;
            let rows = db.query("SELECT login_count FROM \"user\" WHERE id = 1")?;
            (rows == [vec![None]])
                .then_some(())
                .ok_or_else(|| HookError::from(format!("login_count should start NULL: {rows:?}")))
        })
        .after_downgrade("20f0", user_survived)
        .run_sqlite()
        .expect("walk");
    assert_eq!(report.revisions, 2);
}

#[test]
fn an_irreversible_revision_stops_the_final_downgrade_and_is_reported() {
    let graph = fixture("walk/forgets_index");
    let mut revisions = graph.revisions().to_vec();
    revisions[1].downgrade = None;
    let graph = Graph::build(revisions).expect("chain");
    let report = WalkVersions::new(&graph).run_sqlite().expect("an irreversible revision is not a failure");
    assert_eq!(report.stopped_at_irreversible.as_deref(), Some("3c3c3c3c3c3c"));
}

#[test]
fn stop_at_and_min_downgrade_bound_the_walk() {
    let graph = fixture("branched");
    let first = graph.revisions()[0].id.clone();
    let report = WalkVersions::new(&graph).stop_at(&first).run_sqlite().expect("walk");
    assert_eq!(report.revisions, 1);
    let report = WalkVersions::new(&graph).without_snake().min_downgrade(&first).run_sqlite().expect("walk");
    assert_eq!(report.downgraded, graph.len() - 1, "everything above the floor is reverted, the floor stays");
}

/// One revision of a test chain: `up` and `down` are its sections.
fn revision(id: &str, parent: &str, up: &str, down: &str) -> migrate_runtime::Revision {
    let text = format!(
        "-- revision: {id}\n-- revises: {parent}\n-- message: {id}\n\n-- migrate:upgrade\n{up}\n\n-- migrate:downgrade\n{down}\n"
    );
    migrate_runtime::chain::parse_revision(format!("migrations/{id}_.sql").as_ref(), &text).expect("revision")
}

/// A chain whose third revision renames a table another table's foreign
/// key references, and whose fourth changes the referencing table.
/// `rename_down` is the third revision's downgrade. The second revision
/// changes neither table, so the referencing table's fingerprint has been
/// read after its snake walk and only a changed fingerprint makes the walk
/// read it again.
fn rename_chain(rename_down: &str) -> Graph {
    Graph::build(vec![
        revision(
            "a1a1a1a1a1a1",
            "",
            "CREATE TABLE parent (id INTEGER PRIMARY KEY);\n\
             CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id));",
            "DROP TABLE child;\nDROP TABLE parent;",
        ),
        revision("b2b2b2b2b2b2", "a1a1a1a1a1a1", "CREATE TABLE other (id INTEGER);", "DROP TABLE other;"),
        revision(
            "c3c3c3c3c3c3",
            "b2b2b2b2b2b2",
            "ALTER TABLE parent RENAME TO guardian;\nALTER TABLE guardian RENAME COLUMN id TO guardian_id;",
            rename_down,
        ),
        revision(
            "d4d4d4d4d4d4",
            "c3c3c3c3c3c3",
            "ALTER TABLE child ADD COLUMN note TEXT;",
            "ALTER TABLE child DROP COLUMN note;",
        ),
    ])
    .expect("chain")
}

const RENAME_BACK: &str =
    "ALTER TABLE guardian RENAME COLUMN guardian_id TO id;\nALTER TABLE guardian RENAME TO parent;";
/// Renames the table back but leaves its key column renamed.
const RENAME_BACK_FORGETTING_THE_COLUMN: &str = "ALTER TABLE guardian RENAME TO parent;";

#[test]
fn renaming_a_referenced_table_is_no_defect_on_sqlite_and_a_broken_downgrade_still_is() {
    let report = WalkVersions::new(&rename_chain(RENAME_BACK)).run_sqlite().expect("a correct chain walks");
    assert_eq!(report.revisions, 4);
    let message = sqlite_error(WalkVersions::new(&rename_chain(RENAME_BACK_FORGETTING_THE_COLUMN)));
    assert!(
        message.contains("table parent: column guardian_id: present after downgrade of c3c3c3c3c3c3"),
        "{message}"
    );
}

/// A chain that renames a referenced table and a column, drops an index,
/// creates and changes a view, changes a foreign key (SQLite: the table
/// rebuild) and adds a trigger. (Renaming a table a view or trigger names
/// and back leaves its name quoted in their SQL: a real difference.) On
/// SQLite also what the walk's authorizer must log right: names in
/// another case than created, a dropped table taking its trigger with it,
/// a table created and rolled back to a savepoint.
fn incremental_chain_sqlite() -> Graph {
    let steps = [
        (
            "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);\n\
             CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id));\n\
             CREATE INDEX child_parent ON child (parent_id);",
            "DROP TABLE child;\nDROP TABLE parent;",
        ),
        (
            // Table options, which a step reads from the SQL it kept: a
            // name with brackets, keywords in a comment and as a name.
            "CREATE TABLE \"opts (a)\" (k TEXT PRIMARY KEY, v INTEGER) STRICT, WITHOUT ROWID;\n\
             CREATE TABLE plain (id INTEGER, \"strict\" TEXT) /* STRICT, WITHOUT ROWID */;",
            "DROP TABLE plain;\nDROP TABLE \"opts (a)\";",
        ),
        ("ALTER TABLE parent RENAME TO guardian;", "ALTER TABLE guardian RENAME TO parent;"),
        (
            "ALTER TABLE guardian RENAME COLUMN name TO title;",
            "ALTER TABLE guardian RENAME COLUMN title TO name;",
        ),
        ("DROP INDEX child_parent;", "CREATE INDEX child_parent ON child (parent_id);"),
        ("CREATE VIEW named AS SELECT id, title FROM guardian;", "DROP VIEW named;"),
        (
            "DROP VIEW named;\nCREATE VIEW named AS SELECT id, title FROM guardian WHERE id > 0;",
            "DROP VIEW named;\nCREATE VIEW named AS SELECT id, title FROM guardian;",
        ),
        (
            "CREATE TABLE child_new (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES guardian (id) ON DELETE CASCADE);\n\
             INSERT INTO child_new SELECT id, parent_id FROM child;\nDROP TABLE child;\nALTER TABLE child_new RENAME TO child;",
            "CREATE TABLE child_old (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES guardian (id));\n\
             INSERT INTO child_old SELECT id, parent_id FROM child;\nDROP TABLE child;\nALTER TABLE child_old RENAME TO child;",
        ),
        (
            "CREATE TRIGGER keep AFTER UPDATE ON guardian BEGIN UPDATE child SET parent_id = NEW.id WHERE parent_id = OLD.id; END;",
            "DROP TRIGGER keep;",
        ),
        ("CREATE INDEX Guardian_Title ON GUARDIAN (title);", "DROP INDEX GUARDIAN_TITLE;"),
        (
            "CREATE TABLE audit (id INTEGER PRIMARY KEY);\n\
             CREATE TRIGGER audit_note AFTER INSERT ON audit BEGIN SELECT 1; END;",
            "DROP TABLE Audit;",
        ),
        (
            "SAVEPOINT attempt;\nCREATE TABLE abandoned (id INTEGER);\nROLLBACK TO attempt;\nRELEASE attempt;\n\
             CREATE TABLE \"Kept\" (id INTEGER);",
            "DROP TABLE kept;",
        ),
    ];
    chain(&steps)
}

/// A linear chain of `(upgrade, downgrade)` sections, ids `000000000001`…
fn chain(steps: &[(&str, &str)]) -> Graph {
    let id = |i: usize| format!("{i:012x}");
    let revisions = steps.iter().enumerate().map(|(i, (up, down))| {
        let parent = if i == 0 { String::new() } else { id(i) };
        revision(&id(i + 1), &parent, up, down)
    });
    Graph::build(revisions.collect()).expect("chain")
}

/// Reading only what each step may have changed gives what a full read
/// gives, after every step, renames and rebuilt tables included.
#[test]
fn incremental_reads_equal_full_reads_after_every_step_on_sqlite() {
    let graph = incremental_chain_sqlite();
    let report =
        WalkVersions::new(&graph).check_incremental_reads().run_sqlite().expect("incremental = full");
    assert_eq!(report.revisions, graph.len());
}

/// A step reads back the rows of `sqlite_schema` it touched by rowid:
/// rows whose rowid a drop freed and a create took again (the newest
/// table's, and one in a gap an earlier drop left below it), and rows
/// `VACUUM` numbered again, are read as a full read reads them.
#[test]
fn reused_and_renumbered_schema_rows_are_read_as_a_full_read_on_sqlite() {
    let vacuum = "-- revision: 000000000005\n-- revises: 000000000004\n-- message: vacuum\n\
         -- transaction: none\n\n-- migrate:upgrade\nDROP TABLE a;\nVACUUM;\nCREATE TABLE e (id INTEGER);\n\n\
         -- migrate:downgrade\nDROP TABLE e;\nVACUUM;\nCREATE TABLE a (id INTEGER);\n";
    let steps = [
        (
            "CREATE TABLE a (id INTEGER);\nCREATE TABLE b (id INTEGER);\nCREATE TABLE c (id INTEGER);",
            "DROP TABLE c;\nDROP TABLE b;\nDROP TABLE a;",
        ),
        ("DROP TABLE b;", "CREATE TABLE b (id INTEGER);"),
        (
            "DROP TABLE c;\nCREATE TABLE d (id INTEGER, note TEXT);",
            "DROP TABLE d;\nCREATE TABLE c (id INTEGER);",
        ),
        ("CREATE INDEX d_note ON d (note);", "DROP INDEX d_note;"),
    ];
    let mut revisions = chain(&steps).revisions().to_vec();
    revisions.push(
        migrate_runtime::chain::parse_revision("migrations/000000000005_.sql".as_ref(), vacuum)
            .expect("revision"),
    );
    revisions.push(revision("000000000006", "000000000005", "CREATE TABLE f (id INTEGER);", "DROP TABLE f;"));
    let graph = Graph::build(revisions).expect("chain");
    let report =
        WalkVersions::new(&graph).check_incremental_reads().run_sqlite().expect("incremental = full");
    assert_eq!(report.revisions, 6);
}

/// SQLite keeps triggers' names apart from tables': a trigger named as its
/// table is an object of its own to the walk's reads, through steps the
/// authorizer's log tells (the trigger dropped, one named in another case
/// created) and one it cannot (an `ALTER TABLE`, after which the step
/// compares every row of `sqlite_schema`).
#[test]
fn a_trigger_named_as_its_table_is_read_apart_from_it_on_sqlite() {
    let twin = "CREATE TRIGGER twin AFTER INSERT ON twin BEGIN SELECT 1; END;";
    let created = format!("CREATE TABLE twin (id INTEGER PRIMARY KEY);\n{twin}");
    let steps = [
        (created.as_str(), "DROP TABLE twin;"),
        ("ALTER TABLE twin ADD COLUMN note TEXT;", "ALTER TABLE twin DROP COLUMN note;"),
        ("DROP TRIGGER twin;", twin),
        ("CREATE TRIGGER Twin AFTER DELETE ON twin BEGIN SELECT 2; END;", "DROP TRIGGER TWIN;"),
    ];
    let report =
        WalkVersions::new(&chain(&steps)).check_incremental_reads().run_sqlite().expect("incremental = full");
    assert_eq!(report.revisions, 4);
    let forgetful = [(created.as_str(), "DROP TABLE twin;"), ("DROP TRIGGER twin;", "SELECT 1;")];
    let message = WalkVersions::new(&chain(&forgetful))
        .check_incremental_reads()
        .run_sqlite()
        .expect_err("the trigger is not put back")
        .to_string();
    assert!(
        message.contains("trigger twin: absent after downgrade of 000000000002, present before its upgrade"),
        "{message}"
    );
}

/// Rebuilding after a defect starts the reads over: the checked walk finds
/// exactly the defects the plain walk does.
#[test]
fn a_checked_walk_goes_on_after_defects_with_the_same_findings() {
    let graph = fixture("walk/several_defects");
    let error = WalkVersions::new(&graph).check_incremental_reads().run_sqlite().expect_err("three defects");
    assert_eq!(defect_headlines(&error), SEVERAL_DEFECTS);
}

/// `graph` with a snapshot of its revision `id` whose SQL is `sql`, as
/// `cargo migrate snapshot` writes one (for `dialect`).
fn with_snapshot(graph: Graph, id: &str, dialect: migrate_runtime::Dialect, sql: &[&str]) -> Graph {
    use migrate_runtime::chain::{parse_snapshot, snapshot_path, snapshot_text};
    let rev = graph.find(id).expect("the snapshot's revision");
    let statements: Vec<String> = sql.iter().map(|s| s.to_string()).collect();
    let text = snapshot_text(&graph, rev, dialect, &statements);
    let snapshot = parse_snapshot(&snapshot_path("migrations".as_ref(), id), &text).expect("snapshot");
    graph.with_snapshots(vec![snapshot])
}

/// Two revisions; snapshots are taken at the first.
fn snapshot_chain() -> Graph {
    chain(&[
        ("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL);", "DROP TABLE t;"),
        ("CREATE INDEX t_name ON t (name);", "DROP INDEX t_name;"),
    ])
}

/// The walk proves a snapshot as `check` does: one giving the replayed
/// schema passes; one that disagrees is a defect naming its file, the
/// object and a diff, after the chain's own defects, and the walk goes on.
#[test]
fn the_walk_proves_snapshots_on_sqlite() {
    use migrate_runtime::Dialect::Sqlite;
    let right = ["CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"];
    let graph = with_snapshot(snapshot_chain(), "000000000001", Sqlite, &right);
    let report =
        WalkVersions::new(&graph).check_incremental_reads().run_sqlite().expect("the snapshot agrees");
    assert_eq!(report.revisions, 2);
    let wrong = ["CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);"];
    let graph = with_snapshot(snapshot_chain(), "000000000001", Sqlite, &wrong);
    assert_eq!(
        sqlite_error(WalkVersions::new(&graph)),
        "migrations/snapshots/000000000001.sql: the snapshot's schema differs from the one the revisions up to `000000000001` build (write it again with `cargo migrate snapshot 000000000001`)\n\
         \x20 table t: column name: differs in the snapshot from replayed\n\
         \x20   --- replayed\n\
         \x20   +++ in the snapshot\n\
         \x20   @@ -1 +1 @@\n\
         \x20   -text not null\n\
         \x20   +text"
    );
    let broken =
        ["CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL);", "CREATE INDEX x ON nowhere (a);"];
    let graph = with_snapshot(snapshot_chain(), "000000000001", Sqlite, &broken);
    let message = sqlite_error(WalkVersions::new(&graph));
    assert!(
        message.starts_with(
            "migrations/snapshots/000000000001.sql:9: the snapshot of revision `000000000001` failed"
        ),
        "{message}"
    );
}

/// A snapshot's defect comes with the chain's own, in one run.
#[test]
fn a_wrong_snapshot_is_one_more_defect_of_a_walk_that_goes_on() {
    let graph = fixture("walk/several_defects");
    let head = graph.revisions().last().expect("a revision").id.clone();
    let graph = with_snapshot(
        graph,
        &head,
        migrate_runtime::Dialect::Sqlite,
        &["CREATE TABLE nothing_else (id INTEGER);"],
    );
    let error = WalkVersions::new(&graph).run_sqlite().expect_err("four defects");
    let headlines = defect_headlines(&error);
    assert_eq!(headlines[..3], SEVERAL_DEFECTS);
    assert!(
        headlines[3].starts_with(&format!("migrations/snapshots/{head}.sql: the snapshot's schema differs")),
        "{headlines:?}"
    );
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use migrate_runtime::testing::{database_url, PostgresConnection};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh database, or `None` outside CI when no server can be had.
    fn database() -> Option<PostgresConnection> {
        let base = migrate_runtime::testing::test_server().expect("a PostgreSQL server for the tests")?;
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("walk_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        PostgresConnection::connect(&base)
            .expect("connect")
            .execute(&format!("CREATE DATABASE {name}"))
            .expect("create");
        Some(PostgresConnection::connect(&database_url(&base, &name)).expect("connect"))
    }

    #[test]
    fn clean_chains_pass_on_postgres() {
        for path in ["demo", "branched", "workspace/accounts"] {
            let Some(mut db) = database() else { return };
            let graph = fixture(path);
            let report = WalkVersions::new(&graph).run(&mut db).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(report.revisions, graph.len());
        }
    }

    /// The referencing table's fingerprint must change when the table its
    /// foreign key names is renamed, or the walk compares with a stale
    /// foreign key target and reports a defect that is not there.
    #[test]
    fn renaming_a_referenced_table_is_no_defect_on_postgres_and_a_broken_downgrade_still_is() {
        let Some(mut db) = database() else { return };
        let report =
            WalkVersions::new(&rename_chain(RENAME_BACK)).run(&mut db).expect("a correct chain walks");
        assert_eq!(report.revisions, 4);
        let Some(mut db) = database() else { return };
        let message = WalkVersions::new(&rename_chain(RENAME_BACK_FORGETTING_THE_COLUMN))
            .run(&mut db)
            .expect_err("the key column stays renamed")
            .to_string();
        assert!(
            message.contains("table parent: column guardian_id: present after downgrade of c3c3c3c3c3c3"),
            "{message}"
        );
    }

    /// The PostgreSQL chain: renames of a referenced table, a column, a
    /// trigger's function, a column's type and a default's sequence; an
    /// index dropped; a view replaced; a foreign key changed in place; an
    /// index built and dropped `CONCURRENTLY` outside a transaction.
    fn incremental_chain_postgres() -> Graph {
        let steps = [
            (
                "CREATE TYPE mood AS ENUM ('ok');\nCREATE SEQUENCE counter;\n\
                 CREATE TABLE parent (id integer PRIMARY KEY, name text);\n\
                 CREATE TABLE child (id integer PRIMARY KEY, parent_id integer REFERENCES parent (id), \
                   feeling mood, n bigint DEFAULT nextval('counter'));\n\
                 CREATE INDEX child_parent ON child (parent_id);\n\
                 CREATE VIEW named AS SELECT id, name FROM parent;\n\
                 CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;\n\
                 CREATE TRIGGER parent_touch BEFORE UPDATE ON parent FOR EACH ROW EXECUTE FUNCTION touch();",
                "DROP VIEW named;\nDROP TABLE child;\nDROP TABLE parent;\nDROP FUNCTION touch();\n\
                 DROP SEQUENCE counter;\nDROP TYPE mood;",
            ),
            ("ALTER TABLE parent RENAME TO guardian;", "ALTER TABLE guardian RENAME TO parent;"),
            (
                "ALTER TABLE guardian RENAME COLUMN name TO title;",
                "ALTER TABLE guardian RENAME COLUMN title TO name;",
            ),
            ("DROP INDEX child_parent;", "CREATE INDEX child_parent ON child (parent_id);"),
            (
                "CREATE OR REPLACE VIEW named AS SELECT id, title AS name FROM guardian WHERE id > 0;",
                "CREATE OR REPLACE VIEW named AS SELECT id, title AS name FROM guardian;",
            ),
            (
                "ALTER TABLE child DROP CONSTRAINT child_parent_id_fkey, ADD CONSTRAINT child_parent_id_fkey \
                 FOREIGN KEY (parent_id) REFERENCES guardian (id) ON DELETE CASCADE;",
                "ALTER TABLE child DROP CONSTRAINT child_parent_id_fkey, ADD CONSTRAINT child_parent_id_fkey \
                 FOREIGN KEY (parent_id) REFERENCES guardian (id);",
            ),
            ("ALTER FUNCTION touch() RENAME TO touched;", "ALTER FUNCTION touched() RENAME TO touch;"),
            ("ALTER TYPE mood RENAME TO feeling;", "ALTER TYPE feeling RENAME TO mood;"),
            ("ALTER SEQUENCE counter RENAME TO tally;", "ALTER SEQUENCE tally RENAME TO counter;"),
            ("DROP VIEW named;", "CREATE VIEW named AS SELECT id, title AS name FROM guardian WHERE id > 0;"),
        ];
        let mut graph = chain(&steps).revisions().to_vec();
        let text = "-- revision: 00000000000b\n-- revises: 00000000000a\n-- message: concurrently\n\
             -- transaction: none\n\n-- migrate:upgrade\nCREATE INDEX CONCURRENTLY child_feeling ON child (feeling);\n\n\
             -- migrate:downgrade\nDROP INDEX CONCURRENTLY child_feeling;\n";
        let path = "migrations/00000000000b_.sql";
        graph.push(migrate_runtime::chain::parse_revision(path.as_ref(), text).expect("revision"));
        Graph::build(graph).expect("chain")
    }

    #[test]
    fn incremental_reads_equal_full_reads_after_every_step_on_postgres() {
        let Some(mut db) = database() else { return };
        let graph = incremental_chain_postgres();
        let report =
            WalkVersions::new(&graph).check_incremental_reads().run(&mut db).expect("incremental = full");
        assert_eq!(report.revisions, graph.len());
        let left = db.query("SELECT count(*) FROM pg_event_trigger").expect("event triggers");
        assert_eq!(left, [vec![Some("0".to_string())]], "the walk removes its event triggers");
    }

    /// The walk's reads set the `search_path` to the package's first
    /// schema for what the catalogue renders, and put the session's own
    /// back after each, also where the restore is sent together with the
    /// read's last queries: every revision (and the hooks) runs under the
    /// setting the session had.
    #[test]
    fn the_walk_leaves_the_session_search_path_as_it_found_it_on_postgres() {
        let Some(mut db) = database() else { return };
        db.execute("SET search_path = public, pg_temp").expect("a search_path of the session's own");
        let as_set = |db: &mut dyn TestDatabase| -> Result<(), HookError> {
            let path = db.query("SHOW search_path")?;
            match path.as_slice() {
                [row] if row[0].as_deref() == Some("public, pg_temp") => Ok(()),
                _ => Err(format!("the search_path is {path:?}").into()),
            }
        };
        let graph = incremental_chain_postgres();
        let mut walk = WalkVersions::new(&graph).check_incremental_reads();
        for revision in graph.revisions() {
            walk = walk.before_upgrade(&revision.id, as_set).after_downgrade(&revision.id, as_set);
        }
        walk.run(&mut db).expect("every revision runs under the session's search_path");
        as_set(&mut db).expect("the walk leaves it as it was");
    }

    /// A role that may not create event triggers (a user's server under
    /// `walk --database-url`) reads everything at every step: as strict.
    #[test]
    fn a_role_without_event_triggers_reads_everything_and_is_as_strict() {
        let as_plain_role = |db: &mut PostgresConnection| {
            db.execute(
                "DO $$BEGIN CREATE ROLE migrate_walk_plain NOSUPERUSER; \
                 EXCEPTION WHEN duplicate_object THEN NULL; END$$; \
                 GRANT ALL ON SCHEMA public TO migrate_walk_plain; SET ROLE migrate_walk_plain",
            )
            .expect("a plain role")
        };
        let Some(mut db) = database() else { return };
        as_plain_role(&mut db);
        let report = WalkVersions::new(&rename_chain(RENAME_BACK))
            .check_incremental_reads()
            .run(&mut db)
            .expect("a correct chain walks");
        assert_eq!(report.revisions, 4);
        let Some(mut db) = database() else { return };
        as_plain_role(&mut db);
        let message = WalkVersions::new(&rename_chain(RENAME_BACK_FORGETTING_THE_COLUMN))
            .check_incremental_reads()
            .run(&mut db)
            .expect_err("the key column stays renamed")
            .to_string();
        assert!(
            message.contains("table parent: column guardian_id: present after downgrade of c3c3c3c3c3c3"),
            "{message}"
        );
    }

    #[test]
    fn a_checked_walk_goes_on_after_defects_with_the_same_findings_on_postgres() {
        let Some(mut db) = database() else { return };
        let graph = fixture("walk/several_defects");
        let error =
            WalkVersions::new(&graph).check_incremental_reads().run(&mut db).expect_err("three defects");
        assert_eq!(defect_headlines(&error), SEVERAL_DEFECTS);
    }

    #[test]
    fn a_walk_goes_on_after_each_defect_on_postgres() {
        let Some(mut db) = database() else { return };
        let graph = fixture("walk/several_defects");
        let error = WalkVersions::new(&graph).run(&mut db).expect_err("three defects");
        assert_eq!(defect_headlines(&error), SEVERAL_DEFECTS);
    }

    /// The walk proves a snapshot on PostgreSQL too: a right one passes,
    /// a wrong one is named with its file and the object that differs.
    #[test]
    fn the_walk_proves_snapshots_on_postgres() {
        use migrate_runtime::Dialect::Postgres;
        let Some(mut db) = database() else { return };
        let right = ["CREATE TABLE \"t\" (\n    \"id\" integer NOT NULL,\n    \"name\" text NOT NULL,\n    PRIMARY KEY (\"id\")\n);"];
        let graph = with_snapshot(snapshot_chain(), "000000000001", Postgres, &right);
        let report = WalkVersions::new(&graph).run(&mut db).expect("the snapshot agrees");
        assert_eq!(report.revisions, 2);
        let tables = db.query("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").expect("tables");
        assert_eq!(tables, [vec![Some("0".to_string())]], "the proof leaves the database empty");
        let Some(mut db) = database() else { return };
        let wrong = ["CREATE TABLE t (id integer PRIMARY KEY, name text NOT NULL, extra integer);"];
        let graph = with_snapshot(snapshot_chain(), "000000000001", Postgres, &wrong);
        let error =
            WalkVersions::new(&graph).run(&mut db).expect_err("the snapshot has a column more").to_string();
        assert!(
            error.starts_with("migrations/snapshots/000000000001.sql: the snapshot's schema differs"),
            "{error}"
        );
        assert!(
            error.contains("\n  table t: column extra: present in the snapshot, absent replayed\n"),
            "{error}"
        );
    }

    /// A package with two schemas, `public` (first) and `auth`: a foreign
    /// key and a view across them, an index, a function and a trigger in
    /// `auth`, and a rename there that the key in `public` follows.
    /// `index_down` is the index revision's downgrade.
    fn two_schema_chain(index_down: &str) -> Graph {
        chain(&[
            (
                "CREATE SCHEMA auth;\n\
                 CREATE TABLE auth.users (id integer PRIMARY KEY, email text NOT NULL);\n\
                 CREATE TABLE orders (id integer PRIMARY KEY, user_id integer REFERENCES auth.users (id));\n\
                 CREATE VIEW order_emails AS SELECT o.id, u.email FROM orders o JOIN auth.users u ON u.id = o.user_id;",
                "DROP VIEW order_emails;\nDROP TABLE orders;\nDROP TABLE auth.users;\nDROP SCHEMA auth;",
            ),
            ("CREATE INDEX users_email ON auth.users (email);", index_down),
            (
                "CREATE FUNCTION auth.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;\n\
                 CREATE TRIGGER users_touch BEFORE UPDATE ON auth.users FOR EACH ROW EXECUTE FUNCTION auth.touch();",
                "DROP TRIGGER users_touch ON auth.users;\nDROP FUNCTION auth.touch();",
            ),
            ("ALTER TABLE auth.users RENAME TO accounts;", "ALTER TABLE auth.accounts RENAME TO users;"),
            ("ALTER TABLE orders ADD COLUMN note text;", "ALTER TABLE orders DROP COLUMN note;"),
        ])
    }

    fn two_schemas() -> Vec<String> {
        vec!["public".to_string(), "auth".to_string()]
    }

    /// The walk compares every configured schema: a downgrade that
    /// forgets an index in the second one is found, the corrected chain
    /// passes, and reading only what each step changed equals full reads
    /// across both schemas.
    #[test]
    fn the_walk_compares_every_configured_schema_on_postgres() {
        let Some(db) = database() else { return };
        let mut db = db.with_schemas(&two_schemas());
        let report = WalkVersions::new(&two_schema_chain("DROP INDEX auth.users_email;"))
            .check_incremental_reads()
            .run(&mut db)
            .expect("the corrected chain walks");
        assert_eq!(report.revisions, 5);
        let Some(db) = database() else { return };
        let mut db = db.with_schemas(&two_schemas());
        let error = WalkVersions::new(&two_schema_chain("SELECT 1;"))
            .check_incremental_reads()
            .run(&mut db)
            .expect_err("the index stays")
            .to_string();
        assert!(error.starts_with("migrations/000000000002_.sql:"), "{error}");
        assert_eq!(
            error.lines().nth(1).map(str::trim),
            Some("table auth.users: index users_email: present after downgrade of 000000000002, absent before its upgrade"),
            "{error}"
        );
    }

    /// A chain whose second revision re-indents a PL/pgSQL function's body
    /// (and changes a comment in it) and whose downgrade puts back a copy
    /// indented another way again: PostgreSQL keeps each body as written,
    /// yet nothing differs that PostgreSQL runs, so nothing is a finding.
    /// A downgrade that changes a string literal in the body still is.
    fn reindented_function_chain(down_literal: &str) -> Graph {
        let function = |indent: &str, comment: &str, literal: &str| {
            format!(
                "CREATE OR REPLACE FUNCTION greet(who text) RETURNS text LANGUAGE plpgsql AS $body$\n\
                 {indent}BEGIN\n{indent}{indent}-- {comment}\n{indent}{indent}RETURN '{literal}' || who;\n{indent}END;\n$body$;"
            )
        };
        Graph::build(vec![
            revision(
                "a1a1a1a1a1a1",
                "",
                &function("  ", "say hello", "hello  "),
                "DROP FUNCTION greet(text);",
            ),
            revision(
                "b2b2b2b2b2b2",
                "a1a1a1a1a1a1",
                &function("\t", "greet them", "hello  "),
                &function("        ", "restored", down_literal),
            ),
        ])
        .expect("chain")
    }

    #[test]
    fn function_bodies_differing_only_in_indentation_are_no_defect_on_postgres() {
        let Some(mut db) = database() else { return };
        let report = WalkVersions::new(&reindented_function_chain("hello  "))
            .run(&mut db)
            .expect("only white space and comments differ");
        assert_eq!(report.revisions, 2);
        let Some(mut db) = database() else { return };
        let error = WalkVersions::new(&reindented_function_chain("hello "))
            .run(&mut db)
            .expect_err("a string literal differs")
            .to_string();
        assert!(error.contains("function greet(text): differs after downgrade of b2b2b2b2b2b2"), "{error}");
        assert!(error.contains("\n    -    RETURN 'hello  ' || who;\n"), "{error}");
        assert!(error.contains("\n    +                RETURN 'hello ' || who;\n"), "{error}");
    }

    #[test]
    fn forgotten_column_index_and_function_are_named_on_postgres() {
        let cases = [
            ("walk/forgets_column", "table user: column login_count: present after downgrade of 20f04b9598da, absent before its upgrade"),
            ("walk/forgets_index", "table user: index user_email: present after downgrade of 3c3c3c3c3c3c, absent before its upgrade"),
            ("walk/forgets_function", "function greeting(text): present after downgrade of 6f6f6f6f6f6f, absent before its upgrade"),
        ];
        for (path, expected) in cases {
            let Some(mut db) = database() else { return };
            let graph = fixture(path);
            let error = WalkVersions::new(&graph).run(&mut db).expect_err(path).to_string();
            assert!(error.starts_with("migrations/"), "{error}");
            assert_eq!(error.lines().nth(1).map(str::trim), Some(expected), "{error}");
        }
    }
}

#[test]
fn sqlite_template_copies_are_at_head_and_independent() {
    use migrate_runtime::{apply::Options, testing::SqliteTemplate};
    let graph = fixture("demo");
    let template = SqliteTemplate::new(&graph, &Options::new("demo")).expect("template");
    let (mut first, mut second) = (template.database().expect("copy"), template.database().expect("copy"));
    insert_user(&mut first).expect("insert");
    assert!(user_survived(&mut first).is_ok());
    assert!(user_survived(&mut second).is_err(), "copies share nothing");
    let history = second.query("SELECT revision FROM migrate_history ORDER BY revision").expect("history");
    assert_eq!(history, [vec![Some("20f04b9598da".to_string())], vec![Some("cf0f5b45967a".to_string())]]);
}

/// The one-line use in a user's test suite.
mod one_line {
    migrate_runtime::walk_versions_test!("../fixtures/demo/migrations");
}

/// A package says its dialect; its chain is walked on that one only. A
/// `STRICT` table is SQLite's alone, an enum and `BIGSERIAL` PostgreSQL's.
mod sqlite_package {
    migrate_runtime::walk_versions_test!("../fixtures/walk/sqlite_only/migrations");
}

mod postgres_package {
    migrate_runtime::walk_versions_test!("../fixtures/walk/postgres_only/migrations", dialect = "postgres");
}

/// A package owning `public` and `auth` says so, and both are compared.
mod two_schema_package {
    migrate_runtime::walk_versions_test!(
        "../fixtures/walk/two_schemas/migrations",
        dialect = "postgres",
        schemas = ["public", "auth"]
    );
}

mod portable_package {
    migrate_runtime::walk_versions_test!("../fixtures/demo/migrations", dialects = ["sqlite", "postgres"]);
}

/// Under `CI` with no PostgreSQL installed (`MIGRATE_TEST_POSTGRES_BIN`
/// pointed at an empty folder), the walk tests of a SQLite package pass,
/// and those of a PostgreSQL package fail naming what is missing. Runs
/// this test binary again, on those modules only, in that environment.
#[test]
fn ci_without_postgres_fails_only_packages_that_need_it() {
    let empty = tempfile::tempdir().expect("empty folder");
    let run = |filter: &str| {
        let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([filter, "--test-threads=1"])
            .env("CI", "1")
            .env(migrate_runtime::testing::BIN_DIR_VAR, empty.path())
            .env_remove(migrate_runtime::testing::TEST_URL_VAR)
            .output()
            .expect("run the test binary");
        let text =
            format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.success(), text)
    };
    let (passed, out) = run("walk::sqlite_package::");
    assert!(passed, "{out}");
    assert!(out.contains("test walk::sqlite_package::walk_versions_sqlite ... ok"), "{out}");
    assert!(out.contains("1 passed"), "only the SQLite walk runs: {out}");
    let (passed, out) = run("walk::postgres_package::");
    assert!(!passed, "{out}");
    assert!(out.contains("no PostgreSQL server binaries found"), "{out}");
}
