//! The same commands against a real PostgreSQL server: a throw-away one
//! started from the local binaries, or `MIGRATE_TEST_POSTGRES_URL`. With
//! `CI` set a missing server fails the tests instead of skipping them.

use crate::support::pg::{database, history, schema, server_version, sql};
use crate::support::{finish, Fixture};
use migrate_runtime::testing::database_url;

#[test]
fn upgrade_downgrade_stamp_and_current_on_postgres() {
    let Some(url) = database() else { return };
    let demo = Fixture::copy("demo");
    let run = |args: &[&str]| demo.run(&[args, &["--database-url", &url]].concat());
    let current = run(&["current"]).ok();
    assert!(current.contains("current <base>"), "{current}");
    assert!(sql(&url, "SELECT to_regclass('migrate_history') IS NULL")[0][0] == "t", "current never writes");

    run(&["upgrade", "cf0f"]).ok();
    assert_eq!(history(&url), ["cf0f5b45967a"]);
    run(&["upgrade"]).ok();
    assert_eq!(history(&url), ["cf0f5b45967a", "20f04b9598da"]);
    assert!(schema(&url).contains(&"user.login_count integer YES".to_string()), "{:?}", schema(&url));
    let current = run(&["current", "--format", "json"]).json();
    assert_eq!(current["current"][0], "20f04b9598da");
    assert_eq!(current["at_head"], true);

    run(&["downgrade", "-1"]).ok();
    assert!(!schema(&url).iter().any(|c| c.contains("login_count")));
    run(&["downgrade", "base"]).ok();
    assert!(schema(&url).is_empty(), "{:?}", schema(&url));
    assert!(history(&url).is_empty());

    run(&["stamp", "head"]).ok();
    assert_eq!(history(&url).len(), 2);
    assert!(schema(&url).is_empty(), "stamp runs no SQL");
    let refused = run(&["stamp", "base"]).fails();
    assert!(refused.contains("would forget 2 revisions"), "{refused}");
    assert_eq!(history(&url).len(), 2, "a refused stamp changes nothing");
    run(&["stamp", "base", "--allow-down"]).ok();
    assert!(history(&url).is_empty());
}

#[test]
fn a_failing_revision_rolls_back_alone_and_names_file_and_line() {
    let Some(url) = database() else { return };
    let demo = Fixture::copy("demo");
    demo.write(
        "migrations/aaaaaaaaaaaa_breaks.sql",
        "-- revision: aaaaaaaaaaaa\n-- revises: 20f04b9598da\n-- message: breaks\n\n-- migrate:upgrade\nCREATE TABLE first (id INT);\nCREATE TABLE second (id INT);\nINSERT INTO nowhere VALUES (1);\nCREATE TABLE fourth (id INT);\n\n-- migrate:downgrade\nDROP TABLE second;\nDROP TABLE first;\n",
    );
    let stderr = demo.run(&["upgrade", "--database-url", &url]).fails();
    assert!(
        stderr.contains("migrations/aaaaaaaaaaaa_breaks.sql:8: revision `aaaaaaaaaaaa` failed"),
        "{stderr}"
    );
    assert!(stderr.contains("relation \"nowhere\" does not exist"), "{stderr}");
    assert_eq!(history(&url), ["cf0f5b45967a", "20f04b9598da"], "earlier revisions of the run stay");
    assert!(!schema(&url).iter().any(|c| c.starts_with("first.") || c.starts_with("second.")));
}

/// The failing statement is named from the server's reply, never by
/// running the revision again: a sequence (outside any transaction) counts
/// how often the revision ran. Both ways the server can say where: an error
/// with a position (an unknown type) and one without (division by zero).
#[test]
fn a_failing_revision_runs_once_and_its_statement_is_named_from_the_reply() {
    let Some(url) = database() else { return };
    let demo = Fixture::copy("demo");
    sql(&url, "CREATE SEQUENCE runs");
    let cases = [
        ("SELECT 1 / (SELECT count(*) FROM pg_class WHERE false);", "division by zero", 9),
        ("CREATE TABLE third (id no_such_type);", "type \"no_such_type\" does not exist", 9),
    ];
    for (round, (failing, message, line)) in cases.into_iter().enumerate() {
        demo.write(
            "migrations/aaaaaaaaaaaa_breaks.sql",
            &format!(
                "-- revision: aaaaaaaaaaaa\n-- revises: 20f04b9598da\n-- message: breaks\n\n-- migrate:upgrade\n\
                 CREATE TABLE first (id INT);\n-- a comment; with a semicolon\nSELECT nextval('runs');\n{failing}\n\
                 CREATE TABLE fourth (id INT);\n\n-- migrate:downgrade\nDROP TABLE first;\n"
            ),
        );
        let stderr = demo.run(&["upgrade", "--database-url", &url]).fails();
        let at = format!("migrations/aaaaaaaaaaaa_breaks.sql:{line}: revision `aaaaaaaaaaaa` failed");
        assert!(stderr.contains(&at), "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
        let runs = sql(&url, "SELECT last_value FROM runs")[0][0].clone();
        assert_eq!(runs, (round + 1).to_string(), "the revision ran once per attempt");
    }
}

/// The first statement of a `transaction: none` downgrade fails: nothing
/// was reverted, so the revision stays applied with no mark and the next
/// run is not refused as "partially applied". A failed `CREATE INDEX
/// CONCURRENTLY` first statement keeps its mark: it can leave an invalid
/// index behind.
#[test]
fn a_no_transaction_revision_whose_first_statement_fails_is_not_partially_applied_on_postgres() {
    let Some(url) = database() else { return };
    let demo = Fixture::copy("demo");
    let revision = "-- revision: abababababab\n-- revises: 20f04b9598da\n-- message: one statement\n-- transaction: none\n\n\
                    -- migrate:upgrade\n{up}\n\n-- migrate:downgrade\nDROP TABLE nowhere;\n";
    let file = "migrations/abababababab_one_statement.sql";
    demo.write(file, &revision.replace("{up}", "CREATE TABLE t (id INT);"));
    demo.run(&["upgrade", "--database-url", &url]).ok();
    let stderr = demo.run(&["downgrade", "-1", "--database-url", &url]).fails();
    assert!(stderr.contains(&format!("{file}:10: revision `abababababab` failed")), "{stderr}");
    let stderr = demo.run(&["downgrade", "-1", "--database-url", &url]).fails();
    assert!(!stderr.contains("partially applied"), "{stderr}");
    let marks = sql(
        &url,
        "SELECT revision, coalesce(dirty, 'none') FROM migrate_history WHERE revision = 'abababababab'",
    );
    assert_eq!(marks, [vec!["abababababab".to_string(), "none".to_string()]]);
    demo.run(&["stamp", "--database-url", &url, "20f04b9598da", "--allow-down"]).ok();
    sql(&url, "DROP TABLE t");
    demo.write(file, &revision.replace("{up}", "CREATE INDEX CONCURRENTLY t_id ON nowhere (id);"));
    demo.run(&["upgrade", "--database-url", &url]).fails();
    let stderr = demo.run(&["upgrade", "--database-url", &url]).fails();
    assert!(stderr.contains("partially applied (failed at statement 1 of 1 (line 7))"), "{stderr}");
}

#[test]
fn a_failing_no_transaction_revision_is_marked_dirty_until_repaired() {
    let Some(url) = database() else { return };
    let demo = Fixture::copy("demo");
    let revision = "-- revision: bbbbbbbbbbbb\n-- revises: 20f04b9598da\n-- message: concurrent indexes\n-- transaction: none\n\n-- migrate:upgrade\nCREATE INDEX CONCURRENTLY user_login ON \"user\" (login_count);\nCREATE INDEX CONCURRENTLY role_name ON nowhere (name);\n\n-- migrate:downgrade\nDROP INDEX IF EXISTS role_name;\nDROP INDEX user_login;\n";
    demo.write("migrations/bbbbbbbbbbbb_concurrent_indexes.sql", revision);
    let stderr = demo.run(&["upgrade", "--database-url", &url]).fails();
    assert!(stderr.contains("migrations/bbbbbbbbbbbb_concurrent_indexes.sql:8"), "{stderr}");
    let stderr = demo.run(&["upgrade", "--database-url", &url]).fails();
    assert!(stderr.contains("partially applied (failed at statement 2 of 2 (line 8))"), "{stderr}");
    assert!(stderr.contains("cargo migrate repair"), "{stderr}");
    demo.run(&["repair", "--database-url", &url, "--mark", "reverted"]).ok();
    sql(&url, "DROP INDEX user_login");
    demo.write("migrations/bbbbbbbbbbbb_concurrent_indexes.sql", &revision.replace("ON nowhere", "ON role"));
    demo.run(&["upgrade", "--database-url", &url]).ok();
    let valid = sql(&url, "SELECT bool_and(indisvalid) FROM pg_index WHERE indexrelid::regclass::text IN ('user_login', 'role_name')");
    assert_eq!(valid[0][0], "t", "both concurrent indexes built and valid");
}

/// Sends `signal` (`INT`, `TERM`) to a running migrator.
fn send_signal(child: &std::process::Child, signal: &str) {
    let status = std::process::Command::new("kill").args(["-s", signal, &child.id().to_string()]).status();
    assert!(status.expect("run kill").success(), "kill -s {signal}");
}

/// Waits until the database `url` runs a statement containing `text`.
fn wait_for_query(url: &str, text: &str) -> bool {
    let sql_text = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' \
         AND query LIKE '%{text}%' AND pid <> pg_backend_pid()"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if sql(url, &sql_text)[0][0] != "0" {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

/// Ctrl-C (SIGINT) or SIGTERM while a revision runs: the statement is
/// cancelled, the revision rolls back, the lock is released, the process
/// says so and exits 128 + the signal. Inside a `transaction: none`
/// revision it says where it stopped and how to settle it.
#[test]
fn a_signal_stops_the_run_at_a_safe_point_and_says_what_happened() {
    let Some(url) = database() else { return };
    let demo = Fixture::copy("demo");
    demo.run(&["upgrade", "--database-url", &url]).ok();
    let header = "-- revision: aaaaaaaaaaaa\n-- revises: 20f04b9598da\n-- message: slow\n";
    let body = "\n-- migrate:upgrade\nCREATE TABLE slow (id INT);\nSELECT pg_sleep(60);\nCREATE TABLE after (id INT);\n\n\
                -- migrate:downgrade\nDROP TABLE IF EXISTS after;\nDROP TABLE slow;\n";
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        demo.write("migrations/aaaaaaaaaaaa_slow.sql", &format!("{header}{body}"));
        let child = demo.spawn(&["upgrade", "--database-url", &url]);
        assert!(wait_for_query(&url, "pg_sleep"), "the revision never started");
        send_signal(&child, signal);
        let run = finish(child);
        assert_eq!(run.code, code, "{run:?}");
        assert!(run.stderr.contains("stopping at a safe point"), "{}", run.stderr);
        assert!(
            run.stderr.contains("interrupted: revision `aaaaaaaaaaaa` was rolled back"),
            "{}",
            run.stderr
        );
        assert_eq!(history(&url), ["cf0f5b45967a", "20f04b9598da"]);
        assert!(!schema(&url).iter().any(|c| c.starts_with("slow.")), "rolled back");
        let locks = "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
                     WHERE l.locktype = 'advisory' AND d.datname = current_database()";
        assert_eq!(sql(&url, locks)[0][0], "0", "the migration lock is released");
    }

    demo.write("migrations/aaaaaaaaaaaa_slow.sql", &format!("{header}-- transaction: none\n{body}"));
    let child = demo.spawn(&["upgrade", "--database-url", &url]);
    assert!(wait_for_query(&url, "pg_sleep"), "the revision never started");
    send_signal(&child, "TERM");
    let run = finish(child);
    assert_eq!(run.code, 143, "{run:?}");
    assert!(
        run.stderr.contains("aaaaaaaaaaaa_slow.sql:8: interrupted inside revision `aaaaaaaaaaaa`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("cargo migrate repair"), "{}", run.stderr);
    assert!(schema(&url).iter().any(|c| c.starts_with("slow.")), "the statement before stays");
}

/// `walk`, `check`, `diff` and autogenerate build scratch databases; an
/// ordinary role (no CREATEDB) cannot, so a throw-away server stands in
/// and the tool says so.
#[test]
fn scratch_databases_for_a_role_without_createdb_are_on_a_throwaway_server() {
    let Some(url) = database() else { return };
    let role = format!("plain_{}", std::process::id());
    sql(&url, &format!("CREATE ROLE {role} LOGIN"));
    assert!(url.starts_with("postgres://postgres@"), "{url}");
    let plain = url.replacen("postgres://postgres@", &format!("postgres://{role}@"), 1);
    let demo = Fixture::copy_as_postgres("demo");
    let run = demo.run(&["walk", "--database-url", &plain]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains(&format!("role `{role}` cannot create databases on")), "{}", run.stderr);
    assert!(run.stderr.contains("throw-away PostgreSQL server instead"), "{}", run.stderr);
}

/// The guard each revision's transaction runs under the migration lock
/// refuses what another migrator's work made wrong: here a script that
/// reverts the base revision while its child is still applied (as a
/// concurrent `downgrade base` would after another run re-applied the
/// child). Without the check the base would go and leave the child orphaned.
#[test]
fn a_revision_whose_child_is_applied_is_never_reverted_by_the_guarded_batch() {
    let Some(url) = database() else { return };
    let demo = Fixture::copy("demo");
    demo.run(&["upgrade", "--database-url", &url]).ok();
    let script = demo.run(&["downgrade", "--sql", "cf0f5b45967a:base", "--dialect", "postgres"]).ok();
    assert!(script.contains("DROP TABLE"), "{script}");
    let (client, runtime) = {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let client = runtime.block_on(async {
            let (client, connection) =
                tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
            tokio::spawn(connection);
            client
        });
        (client, runtime)
    };
    let error = runtime.block_on(client.batch_execute(&script)).expect_err("the guard refuses");
    assert_eq!(error.code().map(|c| c.code()), Some("MG001"), "{error:?}");
    assert_eq!(history(&url), ["cf0f5b45967a", "20f04b9598da"], "nothing reverted");
}

#[test]
fn drift_stops_the_run_unless_allowed() {
    let Some(url) = database() else { return };
    let demo = Fixture::copy("demo");
    demo.run(&["upgrade", "--database-url", &url]).ok();
    let path = "migrations/20f04b9598da_update_to_flask_diamond_0_2_0.sql";
    demo.write(path, &demo.read(path).replace("login_count INTEGER", "login_count BIGINT"));
    let stderr = demo.run(&["upgrade", "--database-url", &url]).fails();
    assert!(stderr.contains("revision `20f04b9598da` changed after it was applied"), "{stderr}");
    demo.run(&["upgrade", "--database-url", &url, "--allow-drift"]).ok();
    demo.write(
        path,
        &demo.read(path).replace("login_count BIGINT", "login_count INTEGER").replace('\n', "\r\n"),
    );
    demo.run(&["upgrade", "--database-url", &url]).ok();
}

#[test]
fn offline_sql_run_by_postgres_gives_the_live_schema() {
    let (Some(live), Some(offline)) = (database(), database()) else { return };
    let branched = Fixture::copy("branched");
    branched.run(&["upgrade", "--database-url", &live]).ok();
    let script = branched.run(&["upgrade", "--sql", "--dialect", "postgres"]).ok();
    sql(&offline, &script);
    assert_eq!(schema(&offline), schema(&live));
    assert_eq!(history(&offline), history(&live));
    let ms = sql(&offline, "SELECT count(*) FROM migrate_history WHERE execution_ms IS NULL");
    assert_eq!(ms[0][0], "0", "the offline script records execution times too");
    let down = branched.run(&["downgrade", "--sql", "head:base", "--dialect", "postgres"]).ok();
    sql(&offline, &down);
    assert!(schema(&offline).is_empty());
}

#[test]
fn a_held_lock_times_out_naming_its_holder_and_changes_nothing() {
    let Some(url) = database() else { return };
    let demo = Fixture::copy("demo");
    let key = migrate_runtime::postgres::lock_key("migrate_history");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let holder = runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        client.execute("SET application_name = 'lock-holder'", &[]).await.expect("name");
        client.query_one("SELECT pg_advisory_lock($1)", &[&key]).await.expect("lock");
        client
    });
    let stderr = demo.run(&["upgrade", "--database-url", &url, "--lock-timeout", "1"]).fails();
    assert!(
        stderr.contains(&format!("advisory lock {key} on the history table `migrate_history`")),
        "{stderr}"
    );
    assert!(stderr.contains("application `lock-holder`"), "{stderr}");
    assert!(sql(&url, "SELECT to_regclass('migrate_history') IS NULL")[0][0] == "t", "nothing changed");
    drop(holder);
    drop(runtime);
    demo.run(&["upgrade", "--database-url", &url]).ok();
}

/// A session in an open transaction that has read a table makes an
/// `ALTER TABLE` on it wait (and every later query on the table queue
/// behind that): the statement lock timeout rolls the revision back and
/// names the session; `--retries` waits it out.
#[test]
fn a_statement_waiting_on_a_table_lock_times_out_naming_the_session() {
    let Some(url) = database() else { return };
    let demo = Fixture::copy("demo");
    demo.run(&["upgrade", "--database-url", &url]).ok();
    demo.write(
        "migrations/aaaaaaaaaaaa_nickname.sql",
        "-- revision: aaaaaaaaaaaa\n-- revises: 20f04b9598da\n-- message: nickname\n\n-- migrate:upgrade\n\
         ALTER TABLE \"user\" ADD COLUMN nickname TEXT;\n\n-- migrate:downgrade\nALTER TABLE \"user\" DROP COLUMN nickname;\n",
    );
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let holder = runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        client
            .batch_execute("SET application_name = 'report-job'; BEGIN; SELECT count(*) FROM \"user\";")
            .await
            .expect("hold");
        client
    });
    let stderr = demo.run(&["upgrade", "--database-url", &url, "--statement-lock-timeout", "0.5"]).fails();
    assert!(stderr.contains("aaaaaaaaaaaa_nickname.sql:6: revision `aaaaaaaaaaaa` rolled back"), "{stderr}");
    assert!(stderr.contains("waited more than 500 ms for a lock"), "{stderr}");
    assert!(stderr.contains("application `report-job`"), "{stderr}");
    assert!(stderr.contains("idle in transaction"), "{stderr}");
    assert!(stderr.contains("user (AccessShareLock)"), "{stderr}");
    assert!(stderr.contains("--retries N"), "{stderr}");
    assert_eq!(history(&url), ["cf0f5b45967a", "20f04b9598da"]);

    let script = demo.run(&["upgrade", "--sql", "--dialect", "postgres"]).ok();
    assert!(script.contains("SELECT pg_advisory_xact_lock("), "{script}");
    assert!(script.contains("SET LOCAL lock_timeout = '5000ms';\nDO $migrate0$"), "{script}");

    let waiter =
        demo.spawn(&["upgrade", "--database-url", &url, "--statement-lock-timeout", "0.5", "--retries", "4"]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    runtime.block_on(holder.batch_execute("COMMIT")).expect("release");
    let out = finish(waiter).ok();
    assert!(out.contains("applied  aaaaaaaaaaaa"), "{out}");
    assert!(schema(&url).contains(&"user.nickname text YES".to_string()), "{:?}", schema(&url));
}

#[test]
fn eight_processes_upgrading_one_postgres_database_apply_each_revision_once() {
    let Some(base) = database() else { return };
    let demo = Fixture::copy("demo");
    for round in 0..5 {
        let name = format!("stampede_{}_{round}", std::process::id());
        sql(&base, &format!("CREATE DATABASE {name}"));
        let url = database_url(&base, &name);
        let children: Vec<_> = (0..8).map(|_| demo.spawn(&["upgrade", "--database-url", &url])).collect();
        for child in children {
            let run = finish(child);
            assert_eq!(run.code, 0, "round {round}: {}", run.stderr);
        }
        assert_eq!(history(&url), ["cf0f5b45967a", "20f04b9598da"], "round {round}");
    }
}

#[test]
fn the_advisory_lock_is_released_when_a_run_fails() {
    use migrate_runtime::{load_graph, Options, PostgresMigrator};
    let Some(url) = database() else { return };
    let demo = Fixture::copy("demo");
    demo.write(
        "migrations/aaaaaaaaaaaa_breaks.sql",
        "-- revision: aaaaaaaaaaaa\n-- revises: 20f04b9598da\n-- message: breaks\n\n-- migrate:upgrade\nSELECT * FROM nowhere;\n",
    );
    let graph = load_graph(demo.path(), "migrations".as_ref()).expect("chain");
    let options = Options::new("demo");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        let migrator = PostgresMigrator::new(&client, &graph, &options);
        let error = migrator.upgrade("head", &mut |_| {}).await.expect_err("the third revision fails");
        assert!(error.to_string().contains("relation \"nowhere\" does not exist"), "{error}");
        let held = client
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
                &[],
            )
            .await
            .expect("pg_locks");
        assert_eq!(held.get::<_, i64>(0), 0, "the session still holds the migration lock after an error");
        // The same session can go on at once: nothing waits for a lock.
        let steps = migrator.downgrade("base", &mut |_| {}).await.expect("downgrade after the failure");
        assert_eq!(steps.len(), 2);
    });
}

/// The version check on a real server: the version read as the session
/// starts is the server's, it is one the tests run on, so no warning is
/// printed. (Refusals and warnings for other versions are unit tests of
/// `database::versions`, the function this path calls.)
#[test]
fn the_server_version_is_read_on_connect_and_a_tested_one_gives_no_warning() {
    let Some(url) = database() else { return };
    let connection = migrate_runtime::database::PostgresConnection::connect(&url).expect("connect");
    assert_eq!(connection.server_version(), server_version(&url));
    let support = migrate_runtime::database::check_postgres_version(connection.server_version());
    assert_eq!(support, Ok(migrate_runtime::database::PostgresSupport::Tested));
    let run = Fixture::copy_as_postgres("demo").run(&["current", "--database-url", &url]);
    assert!(!run.stderr.contains("PostgreSQL"), "{}", run.stderr);
    run.ok();
}

/// A package that owns schema `app` besides `public` says so (`schemas =
/// ["public", "app"]`): `diff` and `check` then read `app` too, its objects
/// named `app.…`; without the setting only `public` is read.
#[test]
fn the_schemas_a_package_owns_are_configurable_and_compared() {
    let Some(url) = database() else { return };
    let demo = Fixture::copy_as_postgres("demo");
    std::fs::remove_file(demo.path().join("schema.sql")).expect("no schema.sql to compare");
    demo.write(
        "migrations/acacacacacac_audit_schema.sql",
        "-- revision: acacacacacac\n-- revises: 20f04b9598da\n-- message: audit schema\n\n-- migrate:upgrade\n\
         CREATE SCHEMA app;\nCREATE TABLE app.audit (id INT PRIMARY KEY, note TEXT);\nCREATE INDEX audit_note ON app.audit (note);\n\n\
         -- migrate:downgrade\nDROP SCHEMA app CASCADE;\n",
    );
    demo.run(&["upgrade", "--database-url", &url]).ok();
    sql(&url, "ALTER TABLE app.audit DROP COLUMN note");
    assert_eq!(
        demo.run(&["diff", "--database-url", &url]).ok(),
        "no differences\n",
        "public alone by default"
    );
    let manifest = demo.read("Cargo.toml");
    demo.write(
        "Cargo.toml",
        &manifest
            .replace("dialect = \"postgres\"", "dialect = \"postgres\"\nschemas = [\"public\", \"app\"]"),
    );
    let run = demo.run(&["diff", "--database-url", &url]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stdout,
        "table app.audit: column note: in the head, not in the database (text)\ntable app.audit: index audit_note: in the head, not in the database ((note))\n"
    );
    let stderr = demo.run(&["check", "--database-url", &url]).fails();
    assert!(
        stderr.contains("schema: table app.audit: column note: in the head, not in the database (text)"),
        "{stderr}"
    );
    sql(&url, "ALTER TABLE app.audit ADD COLUMN note TEXT; CREATE INDEX audit_note ON app.audit (note)");
    assert_eq!(demo.run(&["diff", "--database-url", &url]).ok(), "no differences\n");
    demo.run(&["check", "--database-url", &url]).ok();
}

/// What a package owning `public` and `auth` adds to the demo's head:
/// objects of every kind in `auth`, a foreign key from `public` into it,
/// a view in `auth` joining both, a column of an `auth` type.
const TWO_SCHEMAS_SQL: &str = "\nCREATE SCHEMA auth;\n\
CREATE TYPE auth.level AS ENUM ('low', 'high');\n\
CREATE SEQUENCE auth.tickets;\n\
CREATE TABLE auth.account (id integer PRIMARY KEY, email text NOT NULL UNIQUE, level auth.level DEFAULT 'low');\n\
CREATE INDEX account_level ON auth.account (level) WHERE level = 'high';\n\
CREATE TABLE orders (id integer PRIMARY KEY, account_id integer NOT NULL REFERENCES auth.account (id) ON DELETE CASCADE, \
note text CHECK (length(note) < 100));\n\
CREATE VIEW auth.order_emails AS SELECT o.id, a.email FROM orders o JOIN auth.account a ON a.id = o.account_id;\n\
CREATE FUNCTION auth.normal(e text) RETURNS text LANGUAGE sql AS $$ SELECT lower(e) $$;\n\
CREATE FUNCTION auth.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;\n\
CREATE TRIGGER account_touch BEFORE UPDATE ON auth.account FOR EACH ROW EXECUTE FUNCTION auth.touch();\n";

/// With `schemas = ["public", "auth"]`, autogenerate reads both: a
/// The demo for PostgreSQL, owning schemas `public` and `auth`.
fn two_schema_demo() -> Fixture {
    let demo = Fixture::copy_as_postgres("demo");
    let manifest = demo.read("Cargo.toml");
    demo.write(
        "Cargo.toml",
        &manifest
            .replace("dialect = \"postgres\"", "dialect = \"postgres\"\nschemas = [\"public\", \"auth\"]"),
    );
    demo
}

/// `schema.sql` with objects in `auth` and references across the two
/// gives a revision that creates the schema, names `auth`'s objects
/// qualified, upgrades to "no changes", and walks (its downgrade drops the
/// schema again).
#[test]
fn autogenerate_and_the_walk_cover_every_configured_schema() {
    let Some(url) = database() else { return };
    let demo = two_schema_demo();
    let schema = demo.read("schema.sql");
    demo.write("schema.sql", &(schema + TWO_SCHEMAS_SQL));
    let run = |args: &[&str]| demo.run(&[args, &["--database-url", &url]].concat());
    let message = run(&["check"]).fails();
    assert!(message.contains("table auth.account: added"), "{message}");

    let out = run(&["new", "-m", "auth", "--autogenerate"]).ok();
    assert!(out.starts_with("created migrations/"), "{out}");
    let name = demo.files("migrations").into_iter().find(|f| f.ends_with("_auth.sql")).expect("new file");
    let text = demo.read(&format!("migrations/{name}"));
    let (upgrade, downgrade) = text.split_once("-- migrate:downgrade").expect("two sections");
    for statement in [
        "CREATE SCHEMA IF NOT EXISTS \"auth\";",
        "CREATE TYPE \"auth\".\"level\" AS ENUM ('low', 'high');",
        "CREATE TABLE \"auth\".\"account\" (",
        "CREATE INDEX \"account_level\" ON \"auth\".\"account\" (\"level\") WHERE",
        "CREATE VIEW \"auth\".\"order_emails\" AS",
        "REFERENCES \"auth\".\"account\" (\"id\") ON DELETE CASCADE",
    ] {
        assert!(upgrade.contains(statement), "{statement} missing from\n{text}");
    }
    assert!(
        upgrade.find("CREATE SCHEMA").expect("schema") < upgrade.find("CREATE TYPE").expect("type"),
        "{text}"
    );
    assert!(downgrade.trim_end().ends_with("DROP SCHEMA IF EXISTS \"auth\";"), "{text}");
    assert!(downgrade.contains("DROP TABLE \"auth\".\"account\";"), "{text}");

    run(&["upgrade"]).ok();
    assert!(run(&["check"]).ok().contains("ok: package `demo`"));
    assert_eq!(run(&["diff"]).ok(), "no differences\n");
    let again = run(&["new", "-m", "y", "--autogenerate"]).ok();
    assert_eq!(again, "no changes: the head of package `demo` matches schema.sql\n");
    let walked = run(&["walk"]).ok();
    assert!(walked.contains("walked 3 revisions"), "{walked}");

    // Back to base and up again: the downgrade took the schema away.
    run(&["downgrade", "base"]).ok();
    let left = sql(&url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'auth'");
    assert_eq!(left[0][0], "0", "the downgrade drops schema auth");
    run(&["upgrade"]).ok();
    assert_eq!(run(&["diff"]).ok(), "no differences\n");
}

/// `cargo migrate walk` on a package owning `public` and `auth`: a
/// downgrade that forgets an index in `auth` is named, with the object in
/// its schema, and the corrected chain passes.
#[test]
fn the_walk_finds_a_defect_in_the_second_schema() {
    let Some(url) = database() else { return };
    let demo = two_schema_demo();
    for file in demo.files("migrations") {
        std::fs::remove_file(demo.path().join("migrations").join(file)).expect("remove the demo's revisions");
    }
    let two = crate::support::fixtures_dir().join("walk/two_schemas/migrations");
    for entry in std::fs::read_dir(&two).expect("fixture") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        demo.write(&format!("migrations/{name}"), &std::fs::read_to_string(&path).expect("read"));
    }
    let index = "migrations/b2c2d2e2f2a2_index_emails.sql";
    let correct = demo.read(index);
    demo.write(index, &correct.replace("DROP INDEX auth.users_email;", "SELECT 1;"));
    let err = demo.run(&["walk", "--database-url", &url]).fails();
    assert!(
        err.contains("migrations/b2c2d2e2f2a2_index_emails.sql:10: the downgrade of revision `b2c2d2e2f2a2` does not give back the schema"),
        "{err}"
    );
    assert!(
        err.contains("table auth.users: index users_email: present after downgrade of b2c2d2e2f2a2, absent before its upgrade"),
        "{err}"
    );
    demo.write(index, &correct);
    let out = demo.run(&["walk", "--database-url", &url]).ok();
    assert!(out.contains("walked 2 revisions"), "{out}");
}

/// Autogenerate on tables that exist before the revision writes the safe
/// forms: the new index in a follow-up revision with `transaction: none`,
/// built and dropped `CONCURRENTLY`; the new foreign key and check `NOT
/// VALID`, validated in that follow-up. Both files pass `check`'s lint
/// and apply, walk, downgrade and upgrade again.
#[test]
fn autogenerate_writes_the_safe_forms_for_existing_tables() {
    let Some(url) = database() else { return };
    let demo = Fixture::copy_as_postgres("demo");
    let run = |args: &[&str]| demo.run(&[args, &["--database-url", &url]].concat());
    run(&["upgrade"]).ok();
    // The check first: the foreign key's line then also ends `"user"`.
    let schema = demo
        .read("schema.sql")
        .replace(
            "    role_id INTEGER REFERENCES role (id)\n);",
            "    role_id INTEGER REFERENCES role (id),\n    CHECK (user_id > 0)\n);",
        )
        .replace(
            "    login_count INTEGER\n",
            "    login_count INTEGER,\n    role_id INTEGER REFERENCES role (id)\n",
        );
    demo.write("schema.sql", &(schema + "\nCREATE INDEX role_description ON role (description);\n"));

    let out = run(&["new", "-m", "safe", "--autogenerate", "--format", "json"]).ok();
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    let first = demo.read(json["created"].as_str().expect("first file"));
    let second = demo.read(json["follow_up"]["created"].as_str().expect("follow-up file"));
    assert!(second.contains(&format!("-- revises: {}", json["id"].as_str().unwrap())), "{second}");
    assert!(second.contains("-- transaction: none"), "{second}");
    for statement in [
        "ALTER TABLE \"user\" ADD CONSTRAINT \"user_role_id_fkey\" FOREIGN KEY (\"role_id\") REFERENCES \"role\" (\"id\") NOT VALID;",
        "ALTER TABLE \"roles_users\" ADD CONSTRAINT \"roles_users_user_id_check\" CHECK (user_id > 0) NOT VALID;",
    ] {
        assert!(first.contains(statement), "{statement} missing from\n{first}");
    }
    assert!(!first.contains("INDEX"), "{first}");
    for statement in [
        "CREATE INDEX CONCURRENTLY \"role_description\" ON \"role\" (\"description\");",
        "ALTER TABLE \"user\" VALIDATE CONSTRAINT \"user_role_id_fkey\";",
        "ALTER TABLE \"roles_users\" VALIDATE CONSTRAINT \"roles_users_user_id_check\";",
        "-- migrate:downgrade\nDROP INDEX CONCURRENTLY \"role_description\";",
    ] {
        assert!(second.contains(statement), "{statement} missing from\n{second}");
    }
    assert!(!first.contains("-- lint") && !second.contains("-- lint"), "{first}\n{second}");

    // The lint has nothing to say, and the head is the desired schema.
    let checked = run(&["check"]).ok();
    assert!(checked.contains("ok: package `demo`"), "{checked}");
    run(&["upgrade"]).ok();
    assert_eq!(run(&["diff"]).ok(), "no differences\n");
    let valid = sql(&url, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated");
    assert_eq!(valid[0][0], "0", "every constraint validated");
    assert!(run(&["walk"]).ok().contains("walked 4 revisions"));
    run(&["downgrade", "20f04b9598da"]).ok();
    let index = sql(&url, "SELECT count(*) FROM pg_indexes WHERE indexname = 'role_description'");
    assert_eq!(index[0][0], "0");
    run(&["upgrade"]).ok();
    assert_eq!(run(&["diff"]).ok(), "no differences\n");

    // An index alone: one revision, the concurrent one itself.
    let schema = demo.read("schema.sql");
    demo.write("schema.sql", &(schema + "CREATE INDEX user_login_count ON \"user\" (login_count);\n"));
    let out = run(&["new", "-m", "index", "--autogenerate"]).ok();
    assert_eq!(out.matches("created ").count(), 1, "{out}");
    let name = demo.files("migrations").into_iter().find(|f| f.ends_with("_index.sql")).expect("new file");
    let text = demo.read(&format!("migrations/{name}"));
    assert!(text.contains("-- transaction: none"), "{text}");
    assert!(text.contains("CREATE INDEX CONCURRENTLY \"user_login_count\""), "{text}");
    assert!(run(&["check"]).ok().contains("ok: package `demo`"));
    run(&["upgrade"]).ok();
    assert_eq!(run(&["diff"]).ok(), "no differences\n");
}

/// What has no safe form autogenerate can write (a `NOT NULL` column to
/// backfill, a type change that rewrites, a dropped or renamed column) is written as
/// asked and marked with the lint's code and fix at the statement: `check`
/// then reports exactly the marked statements, and the revision still
/// applies and walks.
#[test]
fn autogenerate_marks_what_needs_a_backfill_or_a_deploy_in_steps() {
    let Some(url) = database() else { return };
    let demo = Fixture::copy_as_postgres("demo");
    let run = |args: &[&str]| demo.run(&[args, &["--database-url", &url]].concat());
    let schema = demo
        .read("schema.sql")
        .replace("    login_count INTEGER\n", "    login_count BIGINT,\n    nickname TEXT NOT NULL\n")
        .replace("    last_login_ip VARCHAR(255),\n", "")
        .replace("    password VARCHAR(255),\n", "    secret VARCHAR(255),\n");
    demo.write("schema.sql", &schema);
    let out = run(&["new", "-m", "marked", "--autogenerate", "--rename", "user.password:user.secret"]).ok();
    let name = demo.files("migrations").into_iter().find(|f| f.ends_with("_marked.sql")).expect("new file");
    let text = demo.read(&format!("migrations/{name}"));
    assert_eq!(demo.files("migrations").len(), 3, "no follow-up: {out}");
    // Each comment's code at the line of the statement below it.
    let mut marked: Vec<(usize, String)> = text
        .lines()
        .enumerate()
        .filter_map(|(i, line)| Some((i + 2, line.strip_prefix("-- lint ")?.split(':').next()?.to_string())))
        .collect();
    marked.sort();
    let codes: Vec<&str> = marked.iter().map(|(_, code)| code.as_str()).collect();
    assert_eq!(codes.len(), 4, "{text}");
    for code in ["M102", "M104", "M201", "M203"] {
        assert!(codes.contains(&code), "{code} not marked in\n{text}");
    }

    let stderr = run(&["check"]).fails();
    let prefix = format!("migrations/{name}:");
    let mut reported: Vec<(usize, String)> = stderr
        .lines()
        .filter_map(|line| line.split_once(&prefix))
        .filter_map(|(_, rest)| {
            let (line, rest) = rest.split_once(':')?;
            let code = rest.split_once(": ")?.1.split(' ').next()?;
            Some((line.parse().ok()?, code.to_string()))
        })
        .collect();
    reported.sort();
    assert_eq!(reported, marked, "{stderr}\n{text}");

    run(&["upgrade"]).ok();
    assert_eq!(run(&["diff"]).ok(), "no differences\n");
    run(&["downgrade", "-1"]).ok();
    run(&["upgrade"]).ok();
    assert!(run(&["walk"]).ok().contains("walked 3 revisions"));
}
