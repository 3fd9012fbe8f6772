//! `cargo migrate new --autogenerate` and the `schema.sql` side of `check`:
//! the demo fixture without its last revision, rebuilt from `schema.sql`.

use crate::support::pg::{database, sql};
use crate::support::Fixture;

const LOGIN_COLUMNS: [&str; 5] = [
    "ALTER TABLE \"user\" ADD COLUMN \"current_login_at\" timestamp;",
    "ALTER TABLE \"user\" ADD COLUMN \"current_login_ip\" varchar(255);",
    "ALTER TABLE \"user\" ADD COLUMN \"last_login_at\" timestamp;",
    "ALTER TABLE \"user\" ADD COLUMN \"last_login_ip\" varchar(255);",
    "ALTER TABLE \"user\" ADD COLUMN \"login_count\" integer;",
];

#[test]
fn autogenerate_writes_the_login_columns_and_check_agrees() {
    let demo = Fixture::copy("demo");
    std::fs::remove_file(demo.path().join("migrations/20f04b9598da_update_to_flask_diamond_0_2_0.sql"))
        .expect("remove the head revision");
    let message = demo.run(&["check"]).fails();
    assert!(message.contains("schema.sql differs from the head schema"), "{message}");
    assert!(message.contains("table user: column login_count: added (integer)"), "{message}");

    let out = demo.run(&["new", "-m", "x", "--autogenerate"]).ok();
    assert!(out.starts_with("created migrations/") && out.contains("_x.sql"), "{out}");
    assert_eq!(out.matches("warning: ").count(), 0, "adding columns loses nothing: {out}");
    let name = demo.files("migrations").into_iter().find(|f| f.ends_with("_x.sql")).expect("new file");
    let text = demo.read(&format!("migrations/{name}"));
    let (upgrade, downgrade) = text.split_once("-- migrate:downgrade").expect("two sections");
    for statement in LOGIN_COLUMNS {
        assert!(upgrade.contains(statement), "{statement} missing from\n{text}");
    }
    assert_eq!(downgrade.matches("-- WARNING: drops data: column user.").count(), 5, "{text}");
    assert_eq!(downgrade.matches("DROP COLUMN").count(), 5, "{text}");

    demo.run(&["upgrade"]).ok();
    assert!(demo.run(&["check"]).ok().contains("ok: package `demo`: 2 revisions"));
    demo.run(&["walk"]).ok();
    let again = demo.run(&["new", "-m", "y", "--autogenerate"]).ok();
    assert_eq!(again, "no changes: the head of package `demo` matches schema.sql\n");
    assert_eq!(demo.files("migrations").len(), 2, "no file for an empty diff");
}

#[test]
fn autogenerate_rebuilds_a_sqlite_table_and_warns_about_lost_data() {
    let demo = Fixture::copy("demo");
    let schema = demo.read("schema.sql").replace(
        "    role_id INTEGER REFERENCES role (id)\n",
        "    granted_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP\n",
    );
    demo.write("schema.sql", &schema);
    let out = demo.run(&["new", "-m", "drop role", "--autogenerate"]).ok();
    assert!(out.contains("\nwarning: drops data: column roles_users.role_id\n"), "{out}");
    // The rebuild copies the table under SQLite's write lock: the lint's
    // finding is marked above the statement and printed.
    assert!(out.ends_with("\nwarning: M401 rebuilds table `roles_users` (copied into `_migrate_new_roles_users`, renamed back): keep rebuilds for tables known to be small, or run them when writers are stopped\n"), "{out}");
    let name =
        demo.files("migrations").into_iter().find(|f| f.ends_with("_drop_role.sql")).expect("new file");
    let text = demo.read(&format!("migrations/{name}"));
    assert!(
        text.contains(
            "-- WARNING: drops data: column roles_users.role_id\nCREATE TABLE \"_migrate_new_roles_users\""
        ),
        "{text}"
    );
    assert!(text.contains("\n-- lint M401: rebuilds table `roles_users`"), "{text}");
    demo.run(&["upgrade"]).ok();
    demo.run(&["check"]).ok();
    demo.run(&["walk"]).ok();
}

#[test]
fn autogenerate_rebuilds_a_referenced_sqlite_table_with_foreign_keys_off_and_keeps_every_row() {
    let demo = Fixture::copy("demo");
    demo.run(&["upgrade"]).ok();
    let db = demo.path().join("target/migrate/demo.sqlite3");
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute_batch(
        "INSERT INTO role (id, name) VALUES (1, 'admin');
         INSERT INTO \"user\" (id, email, login_count) VALUES (1, 'a@x', 3);
         INSERT INTO roles_users VALUES (1, 1);",
    )
    .expect("rows");
    let schema = demo.read("schema.sql").replace("    login_count INTEGER\n", "    login_count BIGINT\n");
    demo.write("schema.sql", &schema);
    let out = demo.run(&["new", "-m", "wider", "--autogenerate"]).ok();
    assert!(!out.contains("drops data"), "widening loses nothing: {out}");
    assert!(out.contains("warning: M401 rebuilds table `user`"), "the copy holds the write lock: {out}");
    let name = demo.files("migrations").into_iter().find(|f| f.ends_with("_wider.sql")).expect("new file");
    let text = demo.read(&format!("migrations/{name}"));
    assert!(
        text.contains("-- migrate:upgrade\nPRAGMA foreign_keys = OFF;\nCREATE TABLE \"_migrate_new_user\""),
        "{text}"
    );

    demo.run(&["upgrade"]).ok();
    let rows = |sql: &str| crate::support::sqlite::query_strings(&conn, sql);
    assert_eq!(rows("SELECT user_id || ':' || role_id FROM roles_users"), ["1:1"]);
    assert_eq!(rows("SELECT CAST(login_count AS TEXT) FROM \"user\""), ["3"]);
    demo.run(&["check"]).ok();
    demo.run(&["downgrade", "-1"]).ok();
    assert_eq!(rows("SELECT user_id || ':' || role_id FROM roles_users"), ["1:1"]);
    demo.run(&["walk"]).ok();
}

#[test]
fn autogenerate_names_what_it_cannot_write() {
    let Some(url) = database() else { return };
    let demo = Fixture::copy_as_postgres("demo");
    let run = |args: &[&str]| demo.run(&[args, &["--database-url", &url]].concat());
    let schema = demo.read("schema.sql");
    demo.write("schema.sql", &format!("{schema}CREATE TYPE mood AS ENUM ('sad', 'ok');\n"));
    run(&["new", "-m", "mood", "--autogenerate"]).ok();
    demo.write("schema.sql", &format!("{schema}CREATE TYPE mood AS ENUM ('ok', 'sad');\n"));
    let out = run(&["new", "-m", "reorder", "--autogenerate"]).ok();
    let expected = "warning: not generated, write by hand: enum mood: labels removed or reordered (only appending is generated): changed from sad, ok to ok, sad\n";
    assert!(out.ends_with(expected), "{out}");
    let name = demo.files("migrations").into_iter().find(|f| f.ends_with("_reorder.sql")).expect("new file");
    assert!(demo
        .read(&format!("migrations/{name}"))
        .contains("\n-- not generated, write by hand: enum mood: labels removed or reordered"));
}

#[test]
fn check_and_diff_compare_a_live_sqlite_database() {
    let demo = Fixture::copy("demo");
    let db = demo.path().join("live.sqlite3");
    let url = format!("sqlite:{}", db.display());
    let run = |args: &[&str]| demo.run(&[args, &["--database-url", &url]].concat());
    let missing = run(&["diff"]);
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(
        missing.stdout.contains("table user: column login_count: in the head, not in the database (integer)"),
        "{missing:?}"
    );
    assert!(!db.exists(), "diff never creates the database");
    assert!(run(&["check"]).fails().contains("does not exist"));

    run(&["upgrade"]).ok();
    assert!(run(&["check"]).ok().contains("ok: package `demo`: 2 revisions"));
    assert_eq!(run(&["diff"]).ok(), "no differences\n");
    assert_eq!(run(&["diff", "--format", "json"]).json()["differences"], serde_json::json!([]));

    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("ALTER TABLE role ADD COLUMN extra INTEGER")
        .unwrap();
    let head = "migrations/20f04b9598da_update_to_flask_diamond_0_2_0.sql";
    demo.write(head, &demo.read(head).replace("login_count INTEGER;", "login_count INTEGER; -- edited"));
    let message = run(&["check"]).fails();
    assert!(message.contains("database sqlite:"), "{message}");
    assert!(message.contains("20f04b9598da"), "drift: {message}");
    assert!(
        message.contains("\n  schema: table role: column extra: in the database, not in the head (integer)"),
        "{message}"
    );
    let out = run(&["diff"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "table role: column extra: in the database, not in the head (integer)\n");
    assert!(
        out.stderr.contains("differs from the head schema of package `demo` in 1 object"),
        "{}",
        out.stderr
    );
    let json = run(&["diff", "--format", "json"]).stdout;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["differences"][0]["object"], "table role: column extra");
    assert_eq!(json["differences"][0]["after"], serde_json::Value::Null);
    assert_eq!(json["error"]["code"], "schema-differs", "{json}");
    assert!(demo.run(&["check"]).ok().contains("ok:"), "without a URL, no live checks");
}

#[test]
fn autogenerate_check_and_diff_on_postgres() {
    let Some(url) = database() else { return };
    let demo = Fixture::copy_as_postgres("demo");
    std::fs::remove_file(demo.path().join("migrations/20f04b9598da_update_to_flask_diamond_0_2_0.sql"))
        .expect("remove the head revision");
    let run = |args: &[&str]| demo.run(&[args, &["--database-url", &url]].concat());
    let message = run(&["check"]).fails();
    assert!(message.contains("schema.sql differs from the head schema"), "{message}");
    assert!(message.contains("table user: column login_count: added (integer)"), "{message}");

    let out = run(&["new", "-m", "x", "--autogenerate"]).ok();
    assert!(out.starts_with("created migrations/") && out.contains("_x.sql"), "{out}");
    assert_eq!(out.matches("warning: ").count(), 0, "adding columns loses nothing: {out}");
    let name = demo.files("migrations").into_iter().find(|f| f.ends_with("_x.sql")).expect("new file");
    let text = demo.read(&format!("migrations/{name}"));
    let (upgrade, downgrade) = text.split_once("-- migrate:downgrade").expect("two sections");
    for column in PG_LOGIN_COLUMNS {
        let statement = format!("ALTER TABLE \"user\" ADD COLUMN {column};");
        assert!(upgrade.contains(&statement), "{statement} missing from\n{text}");
    }
    assert_eq!(downgrade.matches("DROP COLUMN").count(), 5, "{text}");

    run(&["upgrade"]).ok();
    assert!(run(&["check"]).ok().contains("ok: package `demo`: 2 revisions"));
    assert_eq!(run(&["diff"]).ok(), "no differences\n");
    let again = run(&["new", "-m", "y", "--autogenerate"]).ok();
    assert_eq!(again, "no changes: the head of package `demo` matches schema.sql\n");
    run(&["walk"]).ok();

    sql(&url, "ALTER TABLE role ADD COLUMN extra integer");
    let message = run(&["check"]).fails();
    assert!(
        message.contains("\n  schema: table role: column extra: in the database, not in the head (integer)"),
        "{message}"
    );
    let out = run(&["diff"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, "table role: column extra: in the database, not in the head (integer)\n")
    );
    // Line 4, after a `pg_dump`-style preamble and a `COMMENT ON` that is
    // left out: the line is still the file's.
    demo.write(
        "schema.sql",
        "SET client_encoding = 'UTF8';\nCOMMENT ON SCHEMA public\n  IS 'x';\nCREATE TABLE broken (id nosuchtype);\n",
    );
    let message = run(&["check"]).fails();
    assert!(message.contains("schema.sql:4: does not run on PostgreSQL"), "{message}");
    assert!(message.contains("type \"nosuchtype\" does not exist"), "{message}");
    let left = sql(
        &url,
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'migrate\\_head\\_%' OR datname LIKE 'migrate\\_desired\\_%'",
    );
    assert_eq!(left[0][0], "0", "the temporary databases are dropped, also after an error");
}

/// The five login columns as PostgreSQL reports their types.
const PG_LOGIN_COLUMNS: [&str; 5] = [
    "\"current_login_at\" timestamp without time zone",
    "\"current_login_ip\" character varying(255)",
    "\"last_login_at\" timestamp without time zone",
    "\"last_login_ip\" character varying(255)",
    "\"login_count\" integer",
];

/// PostgreSQL objects of every kind autogenerate compares, with a comment
/// and a grant, on top of the demo's head.
const NOTES_REVISION: &str = "-- revision: 5a5a5a5a5a5a\n-- revises: 20f04b9598da\n-- message: notes\n\n\
-- migrate:upgrade\n\
CREATE TYPE mood AS ENUM ('happy', 'sad');\n\
CREATE TABLE note (\n    id SERIAL PRIMARY KEY,\n    user_id INTEGER NOT NULL REFERENCES \"user\" (id) ON DELETE CASCADE,\n    \
mood mood NOT NULL DEFAULT 'happy',\n    body TEXT CHECK (length(body) < 1000)\n);\n\
CREATE INDEX note_user ON note (user_id) WHERE body IS NOT NULL;\n\
CREATE VIEW happy_note AS SELECT n.id, u.email FROM note n JOIN \"user\" u ON u.id = n.user_id WHERE n.mood = 'happy';\n\
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.body := coalesce(NEW.body, ''); RETURN NEW; END $$;\n\
CREATE TRIGGER note_touch BEFORE INSERT ON note FOR EACH ROW EXECUTE FUNCTION touch();\n\
COMMENT ON TABLE note IS 'notes; one per line';\n\
GRANT SELECT ON note TO PUBLIC;\n\n\
-- migrate:downgrade\n\
DROP TRIGGER note_touch ON note;\nDROP FUNCTION touch();\nDROP VIEW happy_note;\nDROP TABLE note;\nDROP TYPE mood;\n";

/// A `pg_dump -s` of a database the chain built is that chain's head
/// schema, though its preamble empties the `search_path` and it qualifies,
/// owns, comments and grants.
#[test]
fn a_pg_dump_of_the_head_as_schema_sql_has_no_changes() {
    let Some(url) = database() else { return };
    let demo = Fixture::copy_as_postgres("demo");
    demo.write("migrations/5a5a5a5a5a5a_notes.sql", NOTES_REVISION);
    let run = |args: &[&str]| demo.run(&[args, &["--database-url", &url]].concat());
    run(&["upgrade"]).ok();
    // The server's own folder, else the system's client (pg_dump dumps
    // older servers too; the npm server packages ship without it).
    let pg_dump = migrate_runtime::testing::postgres_bin_dir()
        .map(|dir| dir.join("pg_dump"))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| std::path::PathBuf::from("pg_dump"));
    let dump = std::process::Command::new(&pg_dump)
        .args(["--schema-only", "--dbname", &url])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", pg_dump.display()));
    let stderr = String::from_utf8_lossy(&dump.stderr);
    if stderr.contains("server version mismatch") {
        eprintln!("skipped: no pg_dump as new as the server here ({stderr})");
        return;
    }
    assert!(dump.status.success(), "pg_dump: {stderr}");
    let dump = String::from_utf8(dump.stdout).expect("UTF-8 dump");
    for part in
        ["set_config('search_path', '', false)", "OWNER TO", "COMMENT ON TABLE public.note", "GRANT SELECT"]
    {
        assert!(dump.contains(part), "the dump has {part}:\n{dump}");
    }
    demo.write("schema.sql", &dump);

    let out = run(&["check"]).ok();
    assert!(out.contains("ok: package `demo`: 3 revisions"), "{out}");
    let out = run(&["new", "-m", "y", "--autogenerate"]).ok();
    assert_eq!(out, "no changes: the head of package `demo` matches schema.sql\n");
    assert_eq!(demo.files("migrations").len(), 3, "no file for an empty diff");
}

/// A database that is only behind its head is said to be behind (a
/// warning; `check` passes), not listed as schema differences, or the
/// differences come with that note (`diff`); a partially applied revision
/// fails `check`, named.
#[test]
fn check_and_diff_say_when_a_database_is_behind_or_partially_applied() {
    let demo = Fixture::copy("demo");
    let db = demo.path().join("live.sqlite3");
    let url = format!("sqlite:{}", db.display());
    let run = |args: &[&str]| demo.run(&[args, &["--database-url", &url]].concat());
    run(&["upgrade", "cf0f5b45967a"]).ok();
    let check = run(&["check"]);
    assert_eq!(check.code, 0, "a database behind its head is no fault: {check:?}");
    let warning = "warning: the database is 1 revision behind the head (pending 20f04b9598da)";
    assert!(check.stderr.contains(warning), "{check:?}");
    assert!(
        !check.stderr.contains("schema: "),
        "no schema differences for a database only behind: {check:?}"
    );
    let diff = run(&["diff"]);
    assert!(diff.stderr.contains("warning: the database is 1 revision behind the head"), "{diff:?}");
    assert!(diff.stdout.contains("in the head, not in the database"), "{diff:?}");
    run(&["upgrade"]).ok();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("UPDATE migrate_history SET dirty = 'failed at statement 1 of 2 (line 7)'")
        .unwrap();
    let check = run(&["check"]).fails();
    assert!(check.contains("partially applied"), "{check}");
}

/// A `schema.sql` that SQLite refuses is named with the line of the
/// statement that failed, for `check` and for autogenerate alike.
#[test]
fn a_schema_sql_error_names_its_line() {
    let demo = Fixture::copy("demo");
    demo.write(
        "schema.sql",
        "CREATE TABLE a (id INTEGER);\n\n-- a comment\nCREATE TABLE b (id INTEGER,, x);\n",
    );
    for args in [&["check"][..], &["new", "-m", "x", "--autogenerate"]] {
        let message = demo.run(args).fails();
        assert!(message.contains("schema.sql:4: does not run on SQLite"), "{args:?}: {message}");
    }
}
