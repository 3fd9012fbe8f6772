//! `cargo migrate sync` on SQLite and PostgreSQL, run by the built binary
//! against real databases: from empty, after `schema.sql` changed, a dry
//! run, data loss refused then accepted, and the mark that makes `upgrade`
//! refuse until `reset` or `stamp`.

use crate::support::sqlite::{open, query_strings, tables};
use crate::support::{pg, Fixture};

const DEMO_BASE: &str = "cf0f5b45967a";
const DEMO_HEAD: &str = "20f04b9598da";

/// A copy of the demo, its SQLite file (not created yet) and its URL.
fn project() -> (Fixture, std::path::PathBuf, String) {
    let demo = Fixture::copy("demo");
    let db = demo.path().join("app.sqlite3");
    let url = format!("sqlite:{}", db.display());
    (demo, db, url)
}

/// `role` with one more column.
fn add_nickname(demo: &Fixture) {
    let schema = demo.read("schema.sql");
    let edited = schema
        .replace("description VARCHAR(255)\n);", "description VARCHAR(255),\n    nickname VARCHAR(40)\n);");
    assert_ne!(schema, edited, "the demo's schema.sql declares role.description last");
    demo.write("schema.sql", &edited);
}

/// `role` without its `description` column.
fn drop_description(demo: &Fixture) {
    let schema = demo.read("schema.sql");
    let edited = schema.replace(",\n    description VARCHAR(255)", "");
    assert_ne!(schema, edited, "the demo's schema.sql declares role.description");
    demo.write("schema.sql", &edited);
}

/// Runs `sql` on the SQLite file (the support's `open` is read-only).
fn write(db: &std::path::Path, sql: &str) {
    rusqlite::Connection::open(db).and_then(|c| c.execute_batch(sql)).expect(sql);
}

fn role_columns(db: &std::path::Path) -> Vec<String> {
    query_strings(&open(db), "SELECT name FROM pragma_table_info('role') ORDER BY cid")
}

fn history(db: &std::path::Path) -> Vec<String> {
    query_strings(&open(db), "SELECT revision FROM migrate_history ORDER BY rowid")
}

#[test]
fn sync_builds_an_empty_sqlite_database_then_adds_a_column_and_a_dry_run_changes_nothing() {
    let (demo, db, url) = project();
    let dry = demo.run(&["sync", "--dry-run", "--database-url", &url]).ok();
    assert!(dry.contains("CREATE TABLE \"role\"") && dry.contains("dry run: nothing was changed"), "{dry}");
    assert!(!db.exists(), "a dry run creates no file");

    let out = demo.run(&["sync", "--database-url", &url]).ok();
    assert!(out.contains("3 statements") && out.contains("CREATE TABLE \"roles_users\""), "{out}");
    assert_eq!(tables(&db), ["migrate_history", "migrate_history_format", "role", "roles_users", "user"]);
    assert_eq!(history(&db), ["(synced)"]);
    let again = demo.run(&["sync", "--database-url", &url]).ok();
    assert!(again.contains("already matches schema.sql"), "{again}");

    write(&db, "INSERT INTO role (id, name) VALUES (1, 'admin')");
    add_nickname(&demo);
    let dry = demo.run(&["sync", "--dry-run", "--database-url", &url]).ok();
    assert!(dry.contains("ALTER TABLE \"role\" ADD COLUMN \"nickname\" varchar(40);"), "{dry}");
    assert_eq!(role_columns(&db), ["id", "name", "description"], "a dry run changes nothing");
    let out = demo.run(&["sync", "--database-url", &url]).ok();
    assert!(out.contains("1 statement:\nALTER TABLE \"role\" ADD COLUMN \"nickname\""), "{out}");
    assert_eq!(role_columns(&db), ["id", "name", "description", "nickname"]);
    assert_eq!(query_strings(&open(&db), "SELECT name FROM role"), ["admin"], "rows are kept");
}

#[test]
fn sync_refuses_data_loss_on_sqlite_naming_it_until_accepted() {
    let (demo, db, url) = project();
    demo.run(&["sync", "--database-url", &url]).ok();
    write(&db, "INSERT INTO role (id, name, description) VALUES (1, 'a', 'kept')");
    drop_description(&demo);
    let run = demo.run(&["sync", "--database-url", &url]);
    assert!(run.stdout.contains("-- WARNING: drops data: column role.description"), "{}", run.stdout);
    let err = run.fails();
    assert!(err.contains("warning: drops data: column role.description"), "{err}");
    assert!(err.contains("syncing would lose data:\n  drops data: column role.description"), "{err}");
    assert!(err.contains("--accept-data-loss"), "{err}");
    assert_eq!(query_strings(&open(&db), "SELECT description FROM role"), ["kept"], "nothing was changed");

    demo.run(&["sync", "--accept-data-loss", "--database-url", &url]).ok();
    assert_eq!(role_columns(&db), ["id", "name"]);
    assert_eq!(history(&db), ["(synced)"]);
}

#[test]
fn upgrade_and_downgrade_refuse_a_synced_sqlite_database_until_reset_or_stamp() {
    let (demo, db, url) = project();
    demo.run(&["sync", "--database-url", &url]).ok();
    let err = demo.run(&["upgrade", "--database-url", &url]).fails();
    assert!(err.contains("the database was synced to schema.sql at"), "{err}");
    assert!(err.contains("`cargo migrate reset`") && err.contains("`cargo migrate stamp REV`"), "{err}");
    let err = demo.run(&["downgrade", "base", "--database-url", &url]).fails();
    assert!(err.contains("was synced to schema.sql"), "{err}");
    let current = demo.run(&["current", "--database-url", &url]);
    assert!(current.stderr.contains("was synced to schema.sql"), "{}", current.stderr);
    assert_eq!(history(&db), ["(synced)"], "refused runs record nothing");

    demo.run(&["reset", "--database-url", &url]).ok();
    assert_eq!(history(&db), [DEMO_BASE, DEMO_HEAD]);
    demo.run(&["upgrade", "--database-url", &url]).ok();

    // The schema matches the head: stamping it clears the mark too.
    demo.run(&["sync", "--database-url", &url]).ok();
    add_nickname(&demo);
    demo.run(&["sync", "--database-url", &url]).ok();
    assert_eq!(history(&db), [DEMO_BASE, DEMO_HEAD, "(synced)"]);
    demo.run(&["stamp", "head", "--database-url", &url]).ok();
    assert_eq!(history(&db), [DEMO_BASE, DEMO_HEAD]);
    assert!(demo.run(&["upgrade", "--database-url", &url]).ok().contains("nothing to do"));
}

#[test]
fn check_compares_a_synced_sqlite_database_with_schema_sql() {
    let (demo, db, url) = project();
    demo.run(&["sync", "--database-url", &url]).ok();
    let run = demo.run(&["check", "--database-url", &url]);
    assert!(run.stderr.contains("was synced to schema.sql at"), "{}", run.stderr);
    run.ok();
    write(&db, "CREATE TABLE notes (x TEXT)");
    let err = demo.run(&["check", "--database-url", &url]).fails();
    assert!(err.contains("differs from schema.sql (run `cargo migrate sync` again)"), "{err}");
    assert!(err.contains("notes"), "{err}");
}

#[test]
fn sync_on_postgres_from_empty_adds_a_column_refuses_data_loss_and_blocks_upgrade_until_reset() {
    let Some(url) = pg::database() else { return };
    let demo = Fixture::copy_as_postgres("demo");
    let dry = demo.run(&["sync", "--dry-run", "--database-url", &url]).ok();
    assert!(dry.contains("CREATE TABLE \"role\""), "{dry}");
    assert!(pg::schema(&url).is_empty(), "a dry run changes nothing: {:?}", pg::schema(&url));
    demo.run(&["sync", "--database-url", &url]).ok();
    assert!(pg::schema(&url).iter().any(|c| c.starts_with("user.login_count")), "{:?}", pg::schema(&url));
    assert_eq!(pg::history(&url), ["(synced)"]);
    let run = demo.run(&["check", "--database-url", &url]);
    assert!(run.stderr.contains("was synced to schema.sql at"), "{}", run.stderr);
    run.ok();

    pg::sql(&url, "INSERT INTO role (id, name, description) VALUES (1, 'a', 'kept')");
    add_nickname(&demo);
    let out = demo.run(&["sync", "--database-url", &url]).ok();
    assert!(out.contains("ALTER TABLE \"role\" ADD COLUMN \"nickname\""), "{out}");
    assert!(pg::schema(&url).iter().any(|c| c.starts_with("role.nickname")), "{:?}", pg::schema(&url));

    drop_description(&demo);
    let err = demo.run(&["sync", "--database-url", &url]).fails();
    assert!(err.contains("drops data: column role.description"), "{err}");
    assert_eq!(pg::sql(&url, "SELECT description FROM role"), [["kept"]], "nothing was changed");
    demo.run(&["sync", "--accept-data-loss", "--database-url", &url]).ok();
    assert!(!pg::schema(&url).iter().any(|c| c.starts_with("role.description")), "{:?}", pg::schema(&url));

    let err = demo.run(&["upgrade", "--database-url", &url]).fails();
    assert!(err.contains("was synced to schema.sql") && err.contains("`cargo migrate reset`"), "{err}");
    demo.run(&["reset", "--database-url", &url]).ok();
    assert_eq!(pg::history(&url), [DEMO_BASE, DEMO_HEAD]);
    assert!(demo.run(&["upgrade", "--database-url", &url]).ok().contains("nothing to do"));
}

#[test]
fn sync_refuses_a_postgres_server_reached_off_loopback_unless_forced() {
    let demo = Fixture::copy_as_postgres("demo");
    let Some((_server, local, url)) = crate::fresh::off_loopback_server(&demo) else { return };
    let err = demo.run(&["sync", "--database-url", &url]).fails();
    assert!(err.contains("is not on this machine") && err.contains("--force"), "{err}");
    assert!(pg::schema(&local).is_empty(), "a refused sync changes nothing");
    demo.run(&["sync", "--force", "--database-url", &url]).ok();
    assert_eq!(pg::history(&local), ["(synced)"]);
}

#[test]
fn sync_with_format_json_prints_the_documented_document() {
    let (demo, db, url) = project();
    let run = demo.run(&["sync", "--dry-run", "--database-url", &url, "--format", "json"]);
    let dry = run.json();
    crate::json::conforms(&dry, "sync");
    assert_eq!(dry["synced"], false, "{dry}");
    assert_eq!(dry["statements"].as_array().map(Vec::len), Some(3), "{dry}");
    let synced = demo.run(&["sync", "--database-url", &url, "--format", "json"]).json();
    crate::json::conforms(&synced, "sync");
    assert_eq!(synced["synced"], true, "{synced}");
    assert_eq!(history(&db), ["(synced)"]);
}
