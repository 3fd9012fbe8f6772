//! Applying on SQLite: upgrade, downgrade, stamp, current, repair and offline
//! SQL, run by the built binary against real database files that the tests
//! then open with rusqlite to see what was really written.

use crate::support::sqlite::{history, open, schema, tables};
use crate::support::{Fixture, Run};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

const DEMO_BASE: &str = "cf0f5b45967a";
const DEMO_HEAD: &str = "20f04b9598da";
const DEMO_HEAD_FILE: &str = "migrations/20f04b9598da_update_to_flask_diamond_0_2_0.sql";

const ROLE: &str = "table role(id, name, description)";
const ROLES_USERS: &str = "table roles_users(user_id, role_id)";
const USER_AT_BASE: &str = "table user(id, email, password, active, confirmed_at)";
const USER_AT_HEAD: &str = "table user(id, email, password, active, confirmed_at, current_login_at, current_login_ip, last_login_at, last_login_ip, login_count)";

/// A copy of a fixture and the SQLite file its commands migrate, always
/// named with `--database-url`.
struct Project {
    fixture: Fixture,
    db: PathBuf,
}

impl Project {
    fn new(fixture: &str) -> Project {
        let fixture = Fixture::copy(fixture);
        let db = fixture.path().join("app.sqlite3");
        Project { fixture, db }
    }

    fn url(&self) -> String {
        format!("sqlite:{}", self.db.display())
    }

    /// `cargo migrate <args> --database-url sqlite:<db>`.
    fn run(&self, args: &[&str]) -> Run {
        let url = self.url();
        let mut args = args.to_vec();
        args.extend(["--database-url", &url]);
        self.fixture.run(&args)
    }

    /// Runs `line` (split on whitespace) and checks the schema and the
    /// history after it.
    #[track_caller]
    fn step(&self, line: &str, schema: &[&str], history: &[&str]) {
        let args: Vec<&str> = line.split_whitespace().collect();
        self.run(&args).ok();
        assert_eq!(self.schema(), sorted(schema), "schema after `{line}`");
        assert_eq!(self.history(), history, "history after `{line}`");
    }

    fn schema(&self) -> Vec<String> {
        schema(&self.db)
    }

    fn tables(&self) -> Vec<String> {
        tables(&self.db)
    }

    fn history(&self) -> Vec<String> {
        history(&self.db, "migrate_history")
    }

    fn write(&self, relative: &str, text: &str) {
        self.fixture.write(relative, text);
    }

    fn read(&self, relative: &str) -> String {
        self.fixture.read(relative)
    }

    fn sql(&self, sql: &str) {
        Connection::open(&self.db).and_then(|c| c.execute_batch(sql)).expect("run SQL on the database");
    }

    /// The `dirty` mark of each history row, by revision.
    fn dirty(&self) -> Vec<(String, Option<String>)> {
        let conn = open(&self.db);
        let mut statement =
            conn.prepare("SELECT revision, dirty FROM migrate_history ORDER BY rowid").expect("prepare");
        let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("query");
        rows.collect::<Result<_, _>>().expect("rows")
    }

    /// The `dirty` mark of `revision`, `None` when it has no row or no mark
    /// (or the database is busy).
    fn dirty_or_none(&self, revision: &str) -> Option<String> {
        let conn = Connection::open_with_flags(&self.db, OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
        conn.query_row("SELECT dirty FROM migrate_history WHERE revision = ?1", [revision], |r| r.get(0))
            .ok()
            .flatten()
    }
}

/// Everything in `sqlite_master`, SQL text included.
fn master(db: &Path) -> Vec<[Option<String>; 4]> {
    let conn = open(db);
    let mut statement = conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
        .expect("prepare");
    let rows = statement.query_map([], |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?])).expect("query");
    rows.collect::<Result<_, _>>().expect("rows")
}

/// The history rows without the columns that depend on when and how fast
/// they were written.
fn history_rows(db: &Path) -> Vec<Vec<Option<String>>> {
    let conn = open(db);
    let mut statement = conn
        .prepare(
            "SELECT package, revision, parents, checksum, message, downgrade_sql, \
             CAST(transactional AS TEXT), dirty FROM migrate_history ORDER BY rowid",
        )
        .expect("prepare");
    let rows =
        statement.query_map([], |r| (0..8).map(|i| r.get(i)).collect::<Result<Vec<_>, _>>()).expect("query");
    rows.collect::<Result<_, _>>().expect("rows")
}

fn sorted(lines: &[&str]) -> Vec<String> {
    let mut lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    lines.sort();
    lines
}

#[test]
fn upgrade_to_a_middle_revision_and_head_then_downgrade_by_step_to_a_revision_and_to_base() {
    let demo = Project::new("demo");
    let at_base = [ROLE, ROLES_USERS, USER_AT_BASE];
    let at_head = [ROLE, ROLES_USERS, USER_AT_HEAD];
    demo.step("upgrade cf0f5b45967a", &at_base, &[DEMO_BASE]);
    demo.step("upgrade", &at_head, &[DEMO_BASE, DEMO_HEAD]);
    demo.step("upgrade head", &at_head, &[DEMO_BASE, DEMO_HEAD]);
    demo.step("downgrade -1", &at_base, &[DEMO_BASE]);
    demo.step("upgrade head", &at_head, &[DEMO_BASE, DEMO_HEAD]);
    demo.step("downgrade cf0f", &at_base, &[DEMO_BASE]);
    demo.step("upgrade +1", &at_head, &[DEMO_BASE, DEMO_HEAD]);
    demo.step("downgrade base", &[], &[]);
    assert_eq!(demo.tables(), ["migrate_history", "migrate_history_format"]);
}

#[test]
fn upgrade_and_downgrade_one_branch_of_a_branched_chain() {
    let branched = Project::new("branched");
    let account = "table account(id, name, email)";
    let feature =
        [account, "table invoice(id, account_id, total_cents)", "index invoice_account_id on invoice"];
    let both = [&feature[..], &["table audit_log(id, happened_at, what)"]].concat();
    let trunk = ["a904daedca23", "0e44a632c354"];
    let with_feature = [&trunk[..], &["5c1ae7dbdef5", "698149cafb6b"]].concat();
    let with_both = [&with_feature[..], &["4c491eae91c5"]].concat();
    let merged = [&with_both[..], &["461bceb9192d"]].concat();

    branched.step("upgrade 0e44a632c354", &[account], &trunk);
    // The `feature` branch only: the audit-log branch stays out.
    branched.step("upgrade feature@+2", &feature, &with_feature);
    branched.step("upgrade 4c491eae91c5", &both, &with_both);
    branched.step("upgrade head", &both, &merged);
    branched.step("downgrade -1", &both, &with_both);
    // Down to the tip of `feature`: nothing above it is applied, and the
    // audit-log branch beside it is not below it, so nothing is reverted.
    branched.step("downgrade 698149cafb6b", &both, &with_both);
    // Down to the trunk: both branches descend from it.
    branched.step("downgrade 0e44", &[account], &trunk);
    // And up the other branch alone, by id.
    let audit_log_only = [&trunk[..], &["4c491eae91c5"]].concat();
    branched.step(
        "upgrade 4c491eae91c5",
        &[account, "table audit_log(id, happened_at, what)"],
        &audit_log_only,
    );
    branched.step("downgrade base", &[], &[]);
}

#[test]
fn stamp_writes_history_rows_only_and_runs_no_sql() {
    let demo = Project::new("demo");
    demo.step("stamp head", &[], &[DEMO_BASE, DEMO_HEAD]);
    assert_eq!(
        demo.tables(),
        ["migrate_history", "migrate_history_format"],
        "stamp creates the history table and nothing else"
    );
    // Stamping below what is recorded forgets rows: only when asked to.
    let refused = demo.run(&["stamp", "cf0f5b45967a"]).fails();
    assert!(refused.contains("would forget 1 revision recorded as applied (20f04b9598da)"), "{refused}");
    assert_eq!(demo.history(), [DEMO_BASE, DEMO_HEAD], "a refused stamp changes nothing");
    demo.step("stamp cf0f5b45967a --allow-down", &[], &[DEMO_BASE]);
    demo.step("stamp base --allow-down", &[], &[]);
    assert_eq!(demo.tables(), ["migrate_history", "migrate_history_format"]);

    // Stamping a database the schema was loaded into by other means.
    let branched = Project::new("branched");
    branched.sql("CREATE TABLE account (id INTEGER PRIMARY KEY, name TEXT NOT NULL);");
    branched.step("stamp a904", &["table account(id, name)"], &["a904daedca23"]);
    branched.step(
        "upgrade 0e44a632c354",
        &["table account(id, name, email)"],
        &["a904daedca23", "0e44a632c354"],
    );
}

#[test]
fn current_lists_the_pending_revisions_in_apply_order() {
    let demo = Project::new("demo");
    let out = demo.run(&["current"]).ok();
    assert!(
        out.ends_with("pending cf0f5b45967a, create user and role tables\npending 20f04b9598da, update to flask-diamond 0.2.0\n"),
        "{out}"
    );
    demo.run(&["upgrade", "+1"]).ok();
    let json = demo.run(&["current", "--format", "json"]).json();
    assert_eq!(json["pending"], serde_json::json!(["20f04b9598da"]));
    demo.run(&["upgrade"]).ok();
    let out = demo.run(&["current"]).ok();
    assert!(!out.contains("pending"), "{out}");
    assert_eq!(demo.run(&["current", "--format", "json"]).json()["pending"], serde_json::json!([]));
}

#[test]
fn current_does_not_create_a_missing_database_file() {
    let demo = Project::new("demo");
    let out = demo.run(&["current"]).ok();
    assert!(out.contains("current <base> (no revision applied)"), "{out}");
    let json = demo.run(&["current", "--format", "json"]).json();
    assert_eq!(json["current"], serde_json::json!([]));
    assert!(!demo.db.exists(), "current created {}", demo.db.display());

    // Nor the folder of the default database, nor the file in it.
    let out = demo.fixture.run(&["current"]).ok();
    assert!(out.contains("no revision applied"), "{out}");
    demo.fixture.run(&["repair"]).ok();
    let default = demo.fixture.path().join("target/migrate");
    assert!(!default.exists(), "current created {}", default.display());

    let nested = demo.fixture.path().join("deep/er/app.sqlite3");
    let url = format!("sqlite:{}", nested.display());
    demo.fixture.run(&["current", "--database-url", &url]).ok();
    assert!(!demo.fixture.path().join("deep").exists(), "current created a folder");
}

#[test]
fn current_does_not_create_the_history_table() {
    let demo = Project::new("demo");
    demo.sql("CREATE TABLE t (id INTEGER); INSERT INTO t VALUES (1);");
    let before = std::fs::read(&demo.db).expect("read database");
    let out = demo.run(&["current"]).ok();
    assert!(out.contains("no revision applied"), "{out}");
    demo.run(&["current", "--verbose"]).ok();
    demo.run(&["current", "--format", "json"]).json();
    demo.run(&["repair"]).ok();
    assert_eq!(demo.tables(), ["t"]);
    assert!(std::fs::read(&demo.db).expect("read database") == before, "the file changed");
}

/// A revision after the demo head whose third statement (on line 9) fails.
const FAILING: &str = "\
-- revision: aaaaaaaaaaaa
-- revises: 20f04b9598da
-- message: five statements{transaction}

-- migrate:upgrade
CREATE TABLE one (id INTEGER);
ALTER TABLE \"user\" ADD COLUMN nickname TEXT;
-- the next statement fails
INSERT INTO nowhere (id)
VALUES (1);
CREATE TABLE four (id INTEGER);
CREATE TABLE five (id INTEGER);

-- migrate:downgrade
DROP TABLE five;
DROP TABLE four;
ALTER TABLE \"user\" DROP COLUMN nickname;
DROP TABLE one;
";
const FAILING_FILE: &str = "migrations/aaaaaaaaaaaa_five_statements.sql";

#[test]
fn a_failing_revision_is_rolled_back_alone_and_named_by_file_and_line() {
    let demo = Project::new("demo");
    demo.write(FAILING_FILE, &FAILING.replace("{transaction}", ""));
    let err = demo.run(&["upgrade"]).fails();
    assert!(err.contains("migrations/aaaaaaaaaaaa_five_statements.sql:9: "), "{err}");
    assert!(err.contains("revision `aaaaaaaaaaaa` failed: no such table: nowhere"), "{err}");
    assert!(err.contains("in statement: INSERT INTO nowhere (id) VALUES (1)"), "{err}");
    // The two revisions before it in the same run stay committed; nothing
    // of the failing one is left, not even its ALTER TABLE.
    assert_eq!(demo.schema(), sorted(&[ROLE, ROLES_USERS, USER_AT_HEAD]));
    assert_eq!(demo.history(), [DEMO_BASE, DEMO_HEAD]);
    assert!(demo.dirty().iter().all(|(_, dirty)| dirty.is_none()), "{:?}", demo.dirty());
    // Fixed, it applies.
    demo.write(FAILING_FILE, &FAILING.replace("{transaction}", "").replace("nowhere", "one"));
    demo.run(&["upgrade"]).ok();
    assert_eq!(demo.history(), [DEMO_BASE, DEMO_HEAD, "aaaaaaaaaaaa"]);
    assert!(demo.tables().contains(&"five".to_string()));
}

/// A `transaction: none` revision whose first statement fails changed
/// nothing (a statement is its own transaction): no "partially applied"
/// mark is left, up or down, and the next run needs no `repair`.
#[test]
fn a_no_transaction_revision_whose_first_statement_fails_is_not_partially_applied() {
    let demo = Project::new("demo");
    let revision = "-- revision: abababababab\n-- revises: 20f04b9598da\n-- message: one statement\n-- transaction: none\n\n\
                    -- migrate:upgrade\nCREATE TABLE {table} (id INTEGER);\n\n-- migrate:downgrade\nDROP TABLE {drop};\n";
    let file = "migrations/abababababab_one_statement.sql";
    demo.write(file, &revision.replace("{table}", "\"user\"").replace("{drop}", "t"));
    let err = demo.run(&["upgrade"]).fails();
    assert!(err.contains(&format!("{file}:7: revision `abababababab` failed")), "{err}");
    assert_eq!(demo.history(), [DEMO_BASE, DEMO_HEAD], "the attempt leaves no row");
    assert!(!demo.run(&["current"]).ok().contains("partially applied"));
    demo.write(file, &revision.replace("{table}", "t").replace("{drop}", "nowhere"));
    demo.run(&["upgrade"]).ok();
    let err = demo.run(&["downgrade", "-1"]).fails();
    assert!(err.contains(&format!("{file}:10: revision `abababababab` failed")), "{err}");
    assert!(!err.contains("partially applied"), "{err}");
    assert_eq!(demo.dirty_or_none("abababababab"), None, "still applied, not marked");
    assert_eq!(demo.history(), [DEMO_BASE, DEMO_HEAD, "abababababab"]);
    let out = demo.run(&["current"]).ok();
    assert!(out.contains("current abababababab") && !out.contains("partially applied"), "{out}");
    demo.write(file, &revision.replace("{table}", "t").replace("{drop}", "t"));
    demo.run(&["downgrade", "-1"]).ok();
    assert_eq!(demo.history(), [DEMO_BASE, DEMO_HEAD]);
}

#[test]
fn a_failing_no_transaction_revision_stays_dirty_until_repaired_as_reverted() {
    let demo = Project::new("demo");
    demo.write(FAILING_FILE, &FAILING.replace("{transaction}", "\n-- transaction: none"));
    let err = demo.run(&["upgrade"]).fails();
    assert!(err.contains("migrations/aaaaaaaaaaaa_five_statements.sql:10: "), "{err}");
    // Statement by statement: the two before the failure stay.
    let user_with_nickname = USER_AT_HEAD.replace(')', ", nickname)");
    let half_done = ["table one(id)", ROLE, ROLES_USERS, &user_with_nickname];
    assert_eq!(demo.schema(), sorted(&half_done));
    let mark = "failed at statement 3 of 5";
    match demo.dirty().as_slice() {
        [_, _, (revision, Some(dirty))] => {
            assert_eq!(revision, "aaaaaaaaaaaa");
            assert!(dirty.starts_with(mark), "{dirty}");
        }
        other => panic!("expected a dirty row for aaaaaaaaaaaa: {other:?}"),
    }

    let err = demo.run(&["upgrade"]).fails();
    assert!(
        err.contains("revision `aaaaaaaaaaaa` was partially applied (failed at statement 3 of 5"),
        "{err}"
    );
    assert!(err.contains("cargo migrate repair"), "{err}");
    let err = demo.run(&["downgrade", "-1"]).fails();
    assert!(err.contains("cargo migrate repair"), "{err}");
    let out = demo.run(&["current"]).ok();
    assert!(out.contains("warning: revision `aaaaaaaaaaaa` was partially applied"), "{out}");
    assert!(out.contains(&format!("current aaaaaaaaaaaa (partially applied: {mark} (line 10)),")), "{out}");
    let out = demo.run(&["repair"]).ok();
    assert!(out.contains(&format!("aaaaaaaaaaaa was partially applied: {mark}")), "{out}");
    assert!(out.contains("--mark applied") && out.contains("--mark reverted"), "{out}");
    assert_eq!(demo.history().len(), 3, "repair without --mark only explains");

    // Undo by hand what ran, settle the row, fix the file, go on.
    demo.sql("DROP TABLE one; ALTER TABLE \"user\" DROP COLUMN nickname;");
    let out = demo.run(&["repair", "--mark", "reverted"]).ok();
    assert!(out.contains("repaired aaaaaaaaaaaa"), "{out}");
    assert_eq!(demo.history(), [DEMO_BASE, DEMO_HEAD]);
    demo.write(
        FAILING_FILE,
        &FAILING.replace("{transaction}", "\n-- transaction: none").replace("nowhere", "one"),
    );
    demo.run(&["upgrade"]).ok();
    assert_eq!(demo.history(), [DEMO_BASE, DEMO_HEAD, "aaaaaaaaaaaa"]);
    assert!(demo.dirty().iter().all(|(_, dirty)| dirty.is_none()), "{:?}", demo.dirty());
    let done = ["table five(id)", "table four(id)", "table one(id)", ROLE, ROLES_USERS, &user_with_nickname];
    assert_eq!(demo.schema(), sorted(&done));
}

#[test]
fn a_failing_no_transaction_revision_repaired_as_applied_counts_as_applied() {
    let demo = Project::new("demo");
    demo.write(FAILING_FILE, &FAILING.replace("{transaction}", "\n-- transaction: none"));
    demo.run(&["upgrade"]).fails();
    // Finish by hand what was left.
    demo.sql("CREATE TABLE four (id INTEGER); CREATE TABLE five (id INTEGER);");
    let out = demo.run(&["repair", "--mark", "applied"]).ok();
    assert!(out.contains("repaired aaaaaaaaaaaa") && out.contains("marked applied"), "{out}");
    assert!(demo.dirty().iter().all(|(_, dirty)| dirty.is_none()), "{:?}", demo.dirty());
    assert!(demo.run(&["upgrade"]).ok().contains("nothing to do"));
    demo.step("downgrade -1", &[ROLE, ROLES_USERS, USER_AT_HEAD], &[DEMO_BASE, DEMO_HEAD]);
}

/// A revision after the demo head, to see whether a run goes on.
const EXTRA: &str = "\
-- revision: bbbbbbbbbbbb
-- revises: 20f04b9598da
-- message: extra

-- migrate:upgrade
CREATE TABLE extra (id INTEGER);

-- migrate:downgrade
DROP TABLE extra;
";

#[test]
fn editing_an_applied_revision_is_drift_that_stops_upgrade_unless_allowed() {
    let demo = Project::new("demo");
    demo.run(&["upgrade"]).ok();
    let edited = demo.read(DEMO_HEAD_FILE).replace("login_count INTEGER", "login_count BIGINT");
    demo.write(DEMO_HEAD_FILE, &edited);
    demo.write("migrations/bbbbbbbbbbbb_extra.sql", EXTRA);

    let err = demo.run(&["upgrade"]).fails();
    assert!(
        err.contains(&format!("{DEMO_HEAD_FILE}:7: revision `20f04b9598da` changed after it was applied")),
        "{err}"
    );
    assert!(err.contains("--allow-drift"), "{err}");
    assert_eq!(demo.history(), [DEMO_BASE, DEMO_HEAD], "nothing applied");
    let out = demo.run(&["current"]).ok();
    assert!(out.contains("warning: migrations/20f04b9598da_"), "{out}");

    demo.run(&["upgrade", "--allow-drift"]).ok();
    assert_eq!(demo.history(), [DEMO_BASE, DEMO_HEAD, "bbbbbbbbbbbb"]);
    assert!(demo.tables().contains(&"extra".to_string()));
    // Once: the recorded checksum stays, and the hint says so.
    let again = demo.run(&["upgrade"]).fails();
    assert!(again.contains("changed after it was applied"), "{again}");
    assert!(again.contains("`--allow-drift` goes on this once"), "{again}");

    // Accepting the edit: the row takes the file's checksum, nothing runs.
    assert!(again.contains("`cargo migrate stamp --update-checksum REV`"), "{again}");
    let accepted = demo.run(&["stamp", "--update-checksum", "20f0"]).ok();
    assert!(accepted.contains("accepted the edit of 20f04b9598da"), "{accepted}");
    assert_eq!(demo.history(), [DEMO_BASE, DEMO_HEAD, "bbbbbbbbbbbb"], "no row added or removed");
    assert!(demo.run(&["upgrade"]).ok().contains("nothing to do"));
    assert!(!demo.run(&["current"]).ok().contains("warning"), "no drift left");
    // The downgrade SQL kept in the row is the file's now too.
    let kept = rusqlite::Connection::open(&demo.db)
        .unwrap()
        .query_row("SELECT downgrade_sql FROM migrate_history WHERE revision = '20f04b9598da'", [], |r| {
            r.get::<_, String>(0)
        })
        .unwrap();
    assert!(kept.contains("DROP COLUMN login_count"), "{kept}");
    // Nothing edited: nothing to accept, said as an error.
    let none = demo.run(&["stamp", "--update-checksum", "cf0f"]).fails();
    assert!(none.contains("cf0f5b45967a was not edited since applied"), "{none}");
}

#[test]
fn crlf_line_endings_and_a_utf8_bom_are_not_drift() {
    for (name, change) in
        [("crlf", crlf as fn(&str) -> String), ("bom", bom), ("crlf+bom", |t: &str| bom(&crlf(t)))]
    {
        let demo = Project::new("demo");
        demo.run(&["upgrade"]).ok();
        for file in [DEMO_HEAD_FILE, "migrations/cf0f5b45967a_create_user_and_role_tables.sql"] {
            demo.write(file, &change(&demo.read(file)));
        }
        demo.write("migrations/bbbbbbbbbbbb_extra.sql", &change(EXTRA));
        let out = demo.run(&["current"]).ok();
        assert!(!out.contains("warning"), "{name}: {out}");
        demo.run(&["upgrade"]).ok();
        assert_eq!(demo.history(), [DEMO_BASE, DEMO_HEAD, "bbbbbbbbbbbb"], "{name}");
        demo.step("downgrade base", &[], &[]);
    }
}

fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}

fn bom(text: &str) -> String {
    format!("\u{feff}{text}")
}

#[test]
fn a_database_ahead_of_the_code_refuses_upgrade_and_reverts_with_the_stored_sql() {
    for target in ["-1", DEMO_BASE] {
        let demo = Project::new("demo");
        demo.run(&["upgrade"]).ok();
        std::fs::remove_file(demo.fixture.path().join(DEMO_HEAD_FILE)).expect("remove head file");

        let err = demo.run(&["upgrade"]).fails();
        assert!(err.contains("the database is ahead of this code"), "{err}");
        assert!(err.contains("20f04b9598da"), "{err}");
        assert!(!err.contains("No such file") && !err.contains("not found"), "{err}");
        let out = demo.run(&["current"]).ok();
        assert!(out.contains("warning: the database is ahead of this code"), "{out}");

        let out = demo.run(&["downgrade", target]).ok();
        assert!(out.contains("reverted 20f04b9598da"), "downgrade {target}: {out}");
        assert_eq!(demo.schema(), sorted(&[ROLE, ROLES_USERS, USER_AT_BASE]), "downgrade {target}");
        assert_eq!(demo.history(), [DEMO_BASE], "downgrade {target}");
        let out = demo.run(&["current"]).ok();
        assert!(!out.contains("warning"), "{out}");
    }
}

/// Prints the script of `args` (an offline command) and runs it on `db`.
fn run_script(fixture: &Fixture, args: &[&str], db: &Path) -> String {
    let script = fixture.run(args).ok();
    Connection::open(db)
        .and_then(|c| c.execute_batch(&script))
        .unwrap_or_else(|e| panic!("{args:?}: the script does not run: {e}\n{script}"));
    script
}

#[test]
fn offline_upgrade_scripts_build_what_a_live_upgrade_builds() {
    for fixture in ["demo", "branched"] {
        let live = Project::new(fixture);
        live.run(&["upgrade", "heads"]).ok();
        let scripts =
            [&["upgrade", "--sql"][..], &["upgrade", "base:head", "--sql"], &["upgrade", "heads", "--sql"]];
        for (i, args) in scripts.into_iter().enumerate() {
            let db = live.fixture.path().join(format!("offline-{i}.sqlite3"));
            run_script(&live.fixture, args, &db);
            assert_eq!(master(&db), master(&live.db), "{fixture} {args:?}: sqlite_master");
            assert_eq!(history_rows(&db), history_rows(&live.db), "{fixture} {args:?}: history");
        }
    }
}

#[test]
fn an_offline_upgrade_script_from_a_revision_continues_a_live_database() {
    let demo = Project::new("demo");
    demo.run(&["upgrade", DEMO_BASE]).ok();
    let script = run_script(&demo.fixture, &["upgrade", "cf0f:head", "--sql"], &demo.db);
    assert!(!script.contains("CREATE TABLE role"), "{script}");
    let live = Project::new("demo");
    live.run(&["upgrade"]).ok();
    assert_eq!(master(&demo.db), master(&live.db));
    assert_eq!(history_rows(&demo.db), history_rows(&live.db));
    // The live engine takes over where the script left off.
    demo.step("downgrade -1", &[ROLE, ROLES_USERS, USER_AT_BASE], &[DEMO_BASE]);
}

#[test]
fn an_offline_downgrade_script_brings_the_database_back_to_empty() {
    for fixture in ["demo", "branched"] {
        let project = Project::new(fixture);
        let db = project.fixture.path().join("offline.sqlite3");
        run_script(&project.fixture, &["upgrade", "--sql"], &db);
        let script = run_script(&project.fixture, &["downgrade", "head:base", "--sql"], &db);
        assert!(script.contains("DELETE FROM \"migrate_history\""), "{script}");
        assert_eq!(tables(&db), ["migrate_history", "migrate_history_format"], "{fixture}");
        assert!(history(&db, "migrate_history").is_empty(), "{fixture}");
        // A live database brought down by the script is empty too.
        project.run(&["upgrade"]).ok();
        run_script(&project.fixture, &["downgrade", "head:base", "--sql"], &project.db);
        assert_eq!(project.tables(), ["migrate_history", "migrate_history_format"], "{fixture}");
        assert!(project.history().is_empty(), "{fixture}");
    }
}

#[test]
fn offline_downgrade_needs_a_range() {
    let demo = Project::new("demo");
    for target in ["-1", "base", "cf0f"] {
        let err = demo.fixture.run(&["downgrade", target, "--sql"]).fails();
        assert!(
            err.contains("`downgrade --sql` needs a range `FROM:TO`, such as `head:base`"),
            "{target}: {err}"
        );
    }
    assert!(!demo.db.exists());
}

#[test]
fn a_hostile_history_table_name_is_quoted_and_drops_nothing() {
    let hostile = "x\"; DROP TABLE y; --";
    let demo = Project::new("demo");
    let manifest = demo
        .read("Cargo.toml")
        .replace("dialect = \"sqlite\"", "dialect = \"sqlite\"\nhistory-table = 'x\"; DROP TABLE y; --'");
    demo.write("Cargo.toml", &manifest);
    demo.sql("CREATE TABLE y (id INTEGER); INSERT INTO y VALUES (42);");
    let format_table = format!("{hostile}_format");
    let tables_at = |with: &[&str]| sorted(&[&["y", hostile, &format_table][..], with].concat());

    // `y` is there before any history table: a first upgrade needs `--baseline`.
    demo.run(&["upgrade", "--baseline"]).ok();
    assert_eq!(demo.tables(), tables_at(&["role", "roles_users", "user"]));
    assert_eq!(history(&demo.db, hostile), [DEMO_BASE, DEMO_HEAD]);
    assert!(demo.run(&["current"]).ok().contains("current 20f04b9598da (head)"));
    demo.run(&["downgrade", "-1"]).ok();
    assert_eq!(history(&demo.db, hostile), [DEMO_BASE]);
    demo.run(&["downgrade", "base"]).ok();
    assert_eq!(demo.tables(), tables_at(&[]));
    demo.run(&["stamp", "head"]).ok();
    assert_eq!(history(&demo.db, hostile), [DEMO_BASE, DEMO_HEAD]);
    demo.run(&["repair", "--mark", "applied"]).ok();
    demo.run(&["stamp", "base", "--allow-down"]).ok();
    assert!(history(&demo.db, hostile).is_empty());
    assert_eq!(demo.tables(), tables_at(&[]));

    let offline = demo.fixture.path().join("offline.sqlite3");
    Connection::open(&offline)
        .and_then(|c| c.execute_batch("CREATE TABLE y (id INTEGER);"))
        .expect("create y");
    let script = run_script(&demo.fixture, &["upgrade", "--sql"], &offline);
    assert!(script.contains("\"x\"\"; DROP TABLE y; --\""), "{script}");
    run_script(&demo.fixture, &["downgrade", "head:base", "--sql"], &offline);
    assert_eq!(tables(&offline), tables_at(&[]));
    let y: i64 = open(&demo.db).query_row("SELECT id FROM y", [], |r| r.get(0)).expect("y survives");
    assert_eq!(y, 42);
}

#[test]
fn passwords_in_database_urls_are_never_printed() {
    let demo = Fixture::copy("demo");
    let urls = [
        "postgres://app:s3cret@127.0.0.1:1/db",
        "postgresql://app:s3cret@127.0.0.1:1/db?sslmode=disable",
        "postgres://app@127.0.0.1:1/db?password=s3cret",
        "mysql://u:s3cret@h/db",
    ];
    let commands: [&[&str]; 11] = [
        &["upgrade"],
        &["upgrade", "head", "--allow-drift"],
        &["downgrade", "-1"],
        &["downgrade", "base"],
        &["stamp", "head"],
        &["current"],
        &["current", "--verbose", "--format", "json"],
        &["repair"],
        &["repair", "--mark", "applied"],
        &["upgrade", "--sql"],
        &["current", "--format", "xml"],
    ];
    for url in urls {
        for command in commands {
            let flag = demo.run(&[command, &["--database-url", url][..]].concat());
            let env = demo.run_with_env(&[("DATABASE_URL", url)], command);
            for (how, run) in [("--database-url", flag), ("DATABASE_URL", env)] {
                let shown = format!("{}{}", run.stdout, run.stderr);
                assert!(
                    !shown.contains("s3cret"),
                    "{command:?} with {how}={url} printed the password:\n{shown}"
                );
                assert!(!shown.contains("panicked"), "{command:?} with {how}={url}:\n{shown}");
            }
        }
    }
    let err = demo.run(&["upgrade", "--database-url", urls[0]]).fails();
    assert!(err.contains("postgres://app:***@127.0.0.1:1/db"), "{err}");
    let err = demo.run(&["current", "--database-url", urls[3]]).fails();
    assert!(err.contains("unsupported database URL `mysql://u:***@h/db`"), "{err}");
    let help = demo.run_with_env(&[("DATABASE_URL", urls[0])], &["upgrade", "--help"]).ok();
    assert!(!help.contains("s3cret"), "{help}");
}

#[test]
fn a_password_with_an_unescaped_slash_or_question_mark_is_not_printed() {
    let demo = Fixture::copy("demo");
    for url in ["postgres://app:s3/cret@127.0.0.1:1/db", "postgres://app:s3?cret@127.0.0.1:1/db"] {
        for command in [&["upgrade"][..], &["current"]] {
            let run = demo.run(&[command, &["--database-url", url][..]].concat());
            let shown = format!("{}{}", run.stdout, run.stderr);
            assert!(!shown.contains("cret"), "{command:?} with {url} printed the password:\n{shown}");
        }
    }
}

#[test]
fn stamp_settles_a_dirty_revision() {
    for (target, history) in
        [("head", &[DEMO_BASE, DEMO_HEAD, "aaaaaaaaaaaa"][..]), (DEMO_HEAD, &[DEMO_BASE, DEMO_HEAD])]
    {
        let demo = Project::new("demo");
        demo.write(FAILING_FILE, &FAILING.replace("{transaction}", "\n-- transaction: none"));
        demo.run(&["upgrade"]).fails();
        demo.run(&["stamp", target, "--allow-down"]).ok();
        assert_eq!(demo.history(), history, "stamp {target}");
        assert!(demo.dirty().iter().all(|(_, dirty)| dirty.is_none()), "stamp {target}: {:?}", demo.dirty());
        let out = demo.run(&["current"]).ok();
        assert!(!out.contains("warning"), "stamp {target}: {out}");
    }
}

#[test]
fn upgrade_without_a_url_migrates_the_sqlite_file_under_target_migrate() {
    if std::env::var_os("CARGO_TARGET_DIR").is_some() || std::env::var_os("CARGO_BUILD_TARGET_DIR").is_some()
    {
        eprintln!("skipped: a target-dir override moves the default database out of the fixture");
        return;
    }
    let demo = Fixture::copy("demo");
    let out = demo.run(&["upgrade"]).ok();
    let db = demo.path().join("target/migrate/demo.sqlite3");
    assert!(out.contains(&format!("database sqlite:{}", db.display())), "{out}");
    assert_eq!(history(&db, "migrate_history"), [DEMO_BASE, DEMO_HEAD]);
    assert_eq!(schema(&db), sorted(&[ROLE, ROLES_USERS, USER_AT_HEAD]));
    assert!(demo.run(&["current"]).ok().contains("current 20f04b9598da (head)"));
}

/// The revisions package `package` has recorded in `db`, in the order written.
fn package_history(db: &Path, package: &str) -> Vec<String> {
    if !db.exists() || !tables(db).iter().any(|t| t == "migrate_history") {
        return Vec::new();
    }
    let conn = open(db);
    let mut statement = conn
        .prepare("SELECT revision FROM migrate_history WHERE package = ?1 ORDER BY rowid")
        .expect("prepare");
    let rows = statement.query_map([package], |r| r.get(0)).expect("query");
    rows.collect::<Result<_, _>>().expect("rows")
}

const ACCOUNTS: [&str; 2] = ["72bb946d57f2", "eb4c1a7dec1c"];
const BILLING: [&str; 2] = ["e76c27bc0083", "41112f6946ae"];

#[test]
fn packages_migrate_one_database_independently() {
    let ws = Project::new("workspace");
    ws.run(&["upgrade", "-p", "accounts"]).ok();
    ws.run(&["upgrade", "-p", "billing"]).ok();
    assert_eq!(package_history(&ws.db, "accounts"), ACCOUNTS);
    assert_eq!(package_history(&ws.db, "billing"), BILLING);
    assert!(ws.run(&["current", "-p", "accounts"]).ok().contains("current eb4c1a7dec1c (head)"));
    ws.run(&["downgrade", "base", "-p", "billing"]).ok();
    assert_eq!(package_history(&ws.db, "accounts"), ACCOUNTS);
    assert!(package_history(&ws.db, "billing").is_empty());
    assert_eq!(ws.tables(), ["account", "migrate_history", "migrate_history_format"]);
}

#[test]
fn a_cross_package_dependency_is_refused_until_its_package_is_upgraded() {
    let ws = Project::new("workspace");
    let stderr = ws.run(&["upgrade", "-p", "billing"]).fails();
    assert!(
        stderr.contains("depends on `accounts:72bb946d57f2`, which this database has not applied")
            && stderr.contains("cargo migrate upgrade -p accounts"),
        "the refusal names the dependency and the fix: {stderr}"
    );
    assert!(package_history(&ws.db, "billing").is_empty(), "nothing of billing was applied");
    ws.run(&["upgrade", "-p", "accounts"]).ok();
    ws.run(&["upgrade", "-p", "billing"]).ok();
    assert_eq!(package_history(&ws.db, "billing"), BILLING);
}

#[test]
fn reverting_a_revision_another_package_depends_on_is_refused() {
    let ws = Project::new("workspace");
    ws.run(&["upgrade", "-p", "accounts"]).ok();
    ws.run(&["upgrade", "-p", "billing"]).ok();
    let run = ws.run(&["downgrade", "base", "-p", "accounts"]);
    assert!(
        package_history(&ws.db, "accounts").contains(&ACCOUNTS[0].to_string()),
        "accounts:{} reverted under billing's {}\n{run:?}",
        ACCOUNTS[0],
        BILLING[0]
    );
}

#[test]
fn a_no_transaction_revision_killed_midway_stays_marked_at_the_statement_it_reached() {
    let demo = Project::new("demo");
    demo.run(&["upgrade"]).ok();
    let endless = "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c)";
    demo.write(
        "migrations/dddddddddddd_killed.sql",
        &format!(
            "-- revision: dddddddddddd\n-- revises: 20f04b9598da\n-- message: killed\n-- transaction: none\n\n\
             -- migrate:upgrade\nCREATE TABLE first (id INTEGER);\n{endless};\nCREATE TABLE third (id INTEGER);\n\n\
             -- migrate:downgrade\nDROP TABLE third;\nDROP TABLE first;\n"
        ),
    );
    let url = demo.url();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
        .args(["migrate", "upgrade", "--database-url", &url])
        .current_dir(demo.fixture.path())
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start cargo-migrate");
    let mark = (0..600).find_map(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let dirty = demo.dirty_or_none("dddddddddddd");
        dirty.filter(|d| d.starts_with("at statement 2 of 3"))
    });
    child.kill().expect("kill cargo-migrate");
    child.wait().expect("wait for cargo-migrate");
    let mark = mark.expect("the run never reached statement 2");
    assert!(mark.contains("(line 8)"), "{mark}");

    let err = demo.run(&["upgrade"]).fails();
    assert!(err.contains("revision `dddddddddddd` was partially applied (at statement 2 of 3"), "{err}");
    assert!(err.contains("cargo migrate repair"), "{err}");
    assert!(demo.tables().contains(&"first".to_string()) && !demo.tables().contains(&"third".to_string()));
}
