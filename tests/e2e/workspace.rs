//! Several packages with their own chains in one workspace.

use crate::support::Fixture;

#[test]
fn check_validates_every_package_and_cross_package_dependencies() {
    let ws = Fixture::copy("workspace");
    let out = ws.run(&["check"]).ok();
    assert!(out.contains("ok: package `accounts`: 2 revisions"), "{out}");
    assert!(out.contains("ok: package `billing`: 2 revisions"), "{out}");
}

#[test]
fn the_package_is_chosen_by_flag_or_by_folder() {
    let ws = Fixture::copy("workspace");
    let err = ws.run(&["history"]).fails();
    assert!(
        err.contains("several packages have migrations (`accounts`, `billing`): choose one with `-p`"),
        "{err}"
    );
    let accounts = ws.run(&["history", "-p", "accounts"]).ok();
    let inside = ws.run_in(&ws.path().join("accounts"), &["history"]).ok();
    assert_eq!(accounts, inside);
    let deep = ws.path().join("accounts/migrations");
    assert_eq!(ws.run_in(&deep, &["history"]).ok(), accounts);
    let err = ws.run(&["history", "-p", "nope"]).fails();
    assert!(err.contains("no package `nope` in this workspace (packages: `accounts`, `billing`)"), "{err}");
}

#[test]
fn new_depends_on_another_package_by_prefix() {
    let ws = Fixture::copy("workspace");
    let accounts = ws.graph("accounts");
    let base = accounts.revisions()[0].id.clone();
    ws.run(&[
        "new",
        "-p",
        "billing",
        "-m",
        "invoices need users",
        "--depends-on",
        &format!("accounts:{}", &base[..5]),
    ])
    .ok();
    let billing = ws.graph("billing");
    let new = billing.revisions().iter().find(|r| r.message == "invoices need users").expect("new revision");
    assert_eq!(new.depends_on[0].to_string(), format!("accounts:{base}"));
    ws.run(&["check"]).ok();
}

#[test]
fn a_dependency_on_a_missing_revision_of_another_package_fails_check() {
    let ws = Fixture::copy("workspace");
    let billing = ws.graph("billing");
    let plain =
        billing.revisions().iter().find(|r| r.depends_on.is_empty()).expect("a revision without depends-on");
    let path = ws.path().join("billing").join(&plain.location.path);
    let text = std::fs::read_to_string(&path).expect("read");
    let text = text.replacen("-- message:", "-- depends-on: accounts:ffffffffffff\n-- message:", 1);
    std::fs::write(&path, text).expect("write");
    let err = ws.run(&["check"]).fails();
    assert!(err.contains("depends on `accounts:ffffffffffff`, which is not a known revision"), "{err}");
}

#[test]
fn a_database_url_in_the_environment_does_not_break_check_in_a_workspace() {
    let ws = Fixture::copy("workspace");
    let db = ws.path().join("app.sqlite3");
    let url = format!("sqlite:{}", db.display());
    let run = ws.run_with_env(&[("DATABASE_URL", url.as_str())], &["check"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("note: the database was not checked"), "{}", run.stderr);
    assert!(!db.exists(), "check never creates the database");
    ws.run(&["upgrade", "-p", "accounts", "--database-url", &url]).ok();
    ws.run(&["check", "-p", "accounts", "--database-url", &url]).ok();
}

/// Two packages recorded in one database's history: `diff -p accounts` and
/// `check -p accounts` compare it with the combined head of both (billing's
/// table is no difference of accounts'), and each difference names the
/// package whose revisions made the object, or none.
#[test]
fn check_and_diff_on_a_shared_database_compare_with_every_recorded_package_and_name_owners() {
    let ws = Fixture::copy("workspace");
    let db = ws.path().join("shared.sqlite3");
    let url = format!("sqlite:{}", db.display());
    ws.run(&["upgrade", "--workspace", "--database-url", &url]).ok();
    for package in ["accounts", "billing"] {
        assert_eq!(ws.run(&["diff", "-p", package, "--database-url", &url]).ok(), "no differences\n");
        ws.run(&["check", "-p", package, "--database-url", &url]).ok();
    }
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute_batch(
        "ALTER TABLE account DROP COLUMN email; ALTER TABLE invoice DROP COLUMN paid_at; CREATE TABLE stray (id INTEGER);",
    )
    .expect("change the schema by hand");
    drop(conn);
    let run = ws.run(&["diff", "-p", "accounts", "--database-url", &url]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stdout,
        "table account: column email: in the head, not in the database (text) (package `accounts`)\n\
         table invoice: column paid_at: in the head, not in the database (timestamp) (package `billing`)\n\
         table stray: in the database, not in the head (table) (in no package's head)\n\
         table stray: column id: in the database, not in the head (integer) (in no package's head)\n"
    );
    assert!(
        run.stderr
            .contains("differs from the combined head schema of packages `accounts`, `billing` in 4 objects"),
        "{}",
        run.stderr
    );
    let json = ws.run(&["diff", "-p", "billing", "--database-url", &url, "--format", "json"]).stdout;
    let json: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(json["differences"][1]["object"], "table invoice: column paid_at");
    assert_eq!(json["differences"][1]["package"], "billing");
    let err = ws.run(&["check", "-p", "billing", "--database-url", &url]).fails();
    assert!(err.contains("schema: table account: column email: in the head, not in the database (text) (package `accounts`)"), "{err}");
}
