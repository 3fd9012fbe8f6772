//! Fresh databases in one step: `upgrade --transaction all` on SQLite and
//! PostgreSQL, run by the built binary against real databases.

use crate::support::sqlite::{open, query_strings, schema, tables};
use crate::support::{pg, Fixture};
use std::path::{Path, PathBuf};

const DEMO_BASE: &str = "cf0f5b45967a";
const DEMO_HEAD: &str = "20f04b9598da";

/// A third demo revision whose third statement fails (line 9).
const FAILING: &str = "-- revision: aaaaaaaaaaaa\n-- revises: 20f04b9598da\n-- message: breaks\n\n\
                       -- migrate:upgrade\nCREATE TABLE one (id INTEGER);\nCREATE TABLE two (id INTEGER);\n\
                       -- the next statement fails\nINSERT INTO nowhere VALUES (1);\nCREATE TABLE four (id INTEGER);\n\n\
                       -- migrate:downgrade\nDROP TABLE two;\nDROP TABLE one;\n";
const FAILING_FILE: &str = "migrations/aaaaaaaaaaaa_breaks.sql";

/// A third demo revision that must run outside a transaction.
const OUTSIDE: &str = "-- revision: bbbbbbbbbbbb\n-- revises: 20f04b9598da\n-- message: outside\n-- transaction: none\n\n\
                       -- migrate:upgrade\nCREATE TABLE outside (id INTEGER);\n\n-- migrate:downgrade\nDROP TABLE outside;\n";
const OUTSIDE_FILE: &str = "migrations/bbbbbbbbbbbb_outside.sql";

fn sqlite_url(db: &Path) -> String {
    format!("sqlite:{}", db.display())
}

/// A fixture copy and its SQLite file.
fn project(name: &str) -> (Fixture, PathBuf) {
    let fixture = Fixture::copy(name);
    let db = fixture.path().join("app.sqlite3");
    (fixture, db)
}

/// The history rows without the columns that depend on when and how fast
/// they were written.
fn sqlite_history_rows(db: &Path) -> Vec<String> {
    query_strings(
        &open(db),
        "SELECT package || '|' || revision || '|' || parents || '|' || depends_on || '|' || checksum || '|' || \
         message || '|' || coalesce(downgrade_sql, 'NULL') || '|' || transactional || '|' || \
         coalesce(dirty, 'NULL') || '|' || typeof(execution_ms) FROM migrate_history ORDER BY rowid",
    )
}

/// Every column of every table: name, declared type, nullability, default
/// and key position.
fn sqlite_columns(db: &Path) -> Vec<String> {
    query_strings(
        &open(db),
        "SELECT m.name || '.' || c.name || ' ' || lower(c.type) || ' ' || c.\"notnull\" || ' ' || \
         coalesce(c.dflt_value, '') || ' ' || c.pk FROM sqlite_master m, pragma_table_info(m.name) c \
         WHERE m.type = 'table' ORDER BY 1",
    )
}

fn sqlite_master(db: &Path) -> Vec<String> {
    query_strings(
        &open(db),
        "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY 1",
    )
}

#[test]
fn upgrade_in_one_transaction_leaves_the_schema_and_history_rows_of_a_per_revision_run_on_sqlite() {
    let (each, each_db) = project("demo");
    each.run(&["upgrade", "--database-url", &sqlite_url(&each_db)]).ok();
    let (all, all_db) = project("demo");
    let out = all.run(&["upgrade", "--transaction", "all", "--database-url", &sqlite_url(&all_db)]).ok();
    assert!(out.contains(DEMO_BASE) && out.contains(DEMO_HEAD), "each revision is reported: {out}");
    assert_eq!(sqlite_master(&all_db), sqlite_master(&each_db));
    assert_eq!(sqlite_history_rows(&all_db), sqlite_history_rows(&each_db));
    assert_eq!(sqlite_history_rows(&all_db).len(), 2);
    // A second run has nothing to do, in either mode.
    let again = all.run(&["upgrade", "--transaction", "all", "--database-url", &sqlite_url(&all_db)]).ok();
    assert!(again.contains("nothing to do"), "{again}");
}

#[test]
fn a_failure_rolls_back_the_whole_one_transaction_run_and_names_file_and_line_on_sqlite() {
    let (demo, db) = project("demo");
    demo.write(FAILING_FILE, FAILING);
    let err = demo.run(&["upgrade", "--transaction", "all", "--database-url", &sqlite_url(&db)]).fails();
    assert!(err.contains("all of it was rolled back"), "{err}");
    assert!(err.contains("migrations/aaaaaaaaaaaa_breaks.sql:9: revision `aaaaaaaaaaaa` failed"), "{err}");
    assert!(err.contains("no such table: nowhere"), "{err}");
    // Not even the history table or the revisions before it stay.
    assert_eq!(tables(&db), Vec::<String>::new());
    // Per revision, the two before it commit.
    demo.run(&["upgrade", "--database-url", &sqlite_url(&db)]).fails();
    assert_eq!(
        query_strings(&open(&db), "SELECT revision FROM migrate_history ORDER BY rowid"),
        [DEMO_BASE, DEMO_HEAD]
    );
}

#[test]
fn one_transaction_is_refused_naming_each_transaction_none_revision_on_sqlite() {
    let (demo, db) = project("demo");
    demo.write(OUTSIDE_FILE, OUTSIDE);
    let err = demo.run(&["upgrade", "--transaction", "all", "--database-url", &sqlite_url(&db)]).fails();
    assert!(
        err.contains("the run cannot be one transaction: migrations/bbbbbbbbbbbb_outside.sql:1: revision `bbbbbbbbbbbb` is `transaction: none`"),
        "{err}"
    );
    assert!(err.contains("run without `--transaction all`"), "{err}");
    assert!(schema(&db).is_empty(), "nothing ran: {:?}", schema(&db));
    // Up to the revision before it, one transaction is fine.
    demo.run(&["upgrade", DEMO_HEAD, "--transaction", "all", "--database-url", &sqlite_url(&db)]).ok();
    demo.run(&["upgrade", "--database-url", &sqlite_url(&db)]).ok();
    assert!(tables(&db).contains(&"outside".to_string()));
}

#[test]
fn a_downgrade_in_one_transaction_reverts_every_revision_or_none_on_sqlite() {
    let (demo, db) = project("demo");
    let url = sqlite_url(&db);
    demo.run(&["upgrade", "--database-url", &url]).ok();
    demo.run(&["downgrade", "base", "--transaction", "all", "--database-url", &url]).ok();
    assert!(schema(&db).is_empty(), "{:?}", schema(&db));
    assert!(sqlite_history_rows(&db).is_empty());
}

/// The history rows on PostgreSQL without the columns that depend on when
/// and how fast they were written.
fn pg_history_rows(url: &str) -> Vec<Vec<String>> {
    pg::sql(
        url,
        "SELECT package, revision, parents, depends_on, checksum, message, coalesce(downgrade_sql, 'NULL'), \
         transactional::text, coalesce(dirty, 'NULL'), (execution_ms IS NOT NULL)::text \
         FROM migrate_history ORDER BY applied_at",
    )
}

#[test]
fn upgrade_in_one_transaction_on_postgres_matches_a_per_revision_run_and_rolls_back_whole() {
    let (Some(each), Some(all)) = (pg::database(), pg::database()) else { return };
    let demo = Fixture::copy_as_postgres("demo");
    demo.run(&["upgrade", "--database-url", &each]).ok();
    demo.run(&["upgrade", "--transaction", "all", "--database-url", &all]).ok();
    assert_eq!(pg::schema(&all), pg::schema(&each));
    assert_eq!(pg_history_rows(&all), pg_history_rows(&each));
    assert_eq!(pg::history(&all), [DEMO_BASE, DEMO_HEAD]);

    let Some(failing) = pg::database() else { return };
    demo.write(FAILING_FILE, FAILING);
    let err = demo.run(&["upgrade", "--transaction", "all", "--database-url", &failing]).fails();
    assert!(err.contains("all of it was rolled back"), "{err}");
    assert!(err.contains("migrations/aaaaaaaaaaaa_breaks.sql:9: revision `aaaaaaaaaaaa` failed"), "{err}");
    assert!(err.contains("relation \"nowhere\" does not exist"), "{err}");
    assert!(pg::history(&failing).is_empty(), "the whole run rolled back");
    assert!(pg::schema(&failing).is_empty(), "{:?}", pg::schema(&failing));

    demo.write(FAILING_FILE, &FAILING.replace("INSERT INTO nowhere VALUES (1);", "SELECT 1;"));
    demo.write(OUTSIDE_FILE, &OUTSIDE.replace("20f04b9598da", "aaaaaaaaaaaa"));
    let err = demo.run(&["upgrade", "--transaction", "all", "--database-url", &failing]).fails();
    assert!(
        err.contains("migrations/bbbbbbbbbbbb_outside.sql:1: revision `bbbbbbbbbbbb` is `transaction: none`"),
        "{err}"
    );
    assert!(pg::history(&failing).is_empty(), "a refused run runs nothing");
    demo.run(&["upgrade", "aaaaaaaaaaaa", "--transaction", "all", "--database-url", &failing]).ok();
    assert_eq!(pg::history(&failing), [DEMO_BASE, DEMO_HEAD, "aaaaaaaaaaaa"]);
    demo.run(&["downgrade", "base", "--transaction", "all", "--database-url", &failing]).ok();
    assert!(pg::history(&failing).is_empty());
}

/// A revision after the demo's head: a table and an index.
const AFTER: &str = "-- revision: cccccccccccc\n-- revises: 20f04b9598da\n-- message: audit\n\n\
                     -- migrate:upgrade\nCREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT NOT NULL);\n\
                     CREATE INDEX audit_what ON audit (what);\n\n-- migrate:downgrade\nDROP TABLE audit;\n";
const AFTER_FILE: &str = "migrations/cccccccccccc_audit.sql";

/// Adds [`AFTER`] (its key of type `key`) and its tables to `schema.sql`.
fn add_audit(fixture: &Fixture, key: &str) {
    let revision = AFTER.replace("INTEGER PRIMARY KEY", key);
    fixture.write(AFTER_FILE, &revision);
    let upgrade =
        revision.split("-- migrate:upgrade\n").nth(1).and_then(|s| s.split("\n\n").next()).expect("sql");
    fixture.write("schema.sql", &format!("{}\n{upgrade}\n", fixture.read("schema.sql")));
}
const SNAPSHOT_FILE: &str = "migrations/snapshots/20f04b9598da.sql";

#[test]
fn a_fresh_sqlite_database_from_a_snapshot_has_the_schema_and_history_replaying_gives() {
    let (demo, db) = project("demo");
    let wrote = demo.run(&["snapshot"]).ok();
    assert!(wrote.contains(&format!("wrote {SNAPSHOT_FILE}")), "{wrote}");
    let snapshot = demo.read(SNAPSHOT_FILE);
    assert!(
        snapshot.starts_with("-- snapshot: 20f04b9598da\n-- dialect: sqlite\n-- chain-checksum: "),
        "{snapshot}"
    );
    add_audit(&demo, "INTEGER PRIMARY KEY");
    // The loader does not take the snapshot for a revision, and it agrees.
    let checked = demo.run(&["check"]).ok();
    assert!(checked.contains("3 revisions"), "{checked}");

    let out = demo.run(&["upgrade", "--database-url", &sqlite_url(&db)]).ok();
    assert!(out.contains("snapshot 20f04b9598da"), "{out}");
    assert!(out.contains("cccccccccccc"), "the rest is applied after it: {out}");
    let (replay, replay_db) = project("demo");
    add_audit(&replay, "INTEGER PRIMARY KEY");
    replay.run(&["upgrade", "--database-url", &sqlite_url(&replay_db)]).ok();
    // The same schema (names, columns, indexes; the model `diff` reads
    // finds nothing either way), not the same text: the snapshot writes
    // its own DDL.
    assert_eq!(schema(&db), schema(&replay_db));
    assert_eq!(sqlite_columns(&db), sqlite_columns(&replay_db));
    for url in [sqlite_url(&db), sqlite_url(&replay_db)] {
        demo.run(&["diff", "--database-url", &url]).ok();
    }
    assert_eq!(sqlite_history_rows(&db), sqlite_history_rows(&replay_db));
    let marks = query_strings(
        &open(&db),
        "SELECT revision || ' ' || execution_ms FROM migrate_history ORDER BY rowid",
    );
    assert_eq!(
        marks[..2],
        [format!("{DEMO_BASE} -1"), format!("{DEMO_HEAD} -1")],
        "marked as from the snapshot"
    );
    let current = demo.run(&["current", "--verbose", "--database-url", &sqlite_url(&db)]).ok();
    assert!(current.contains("from a snapshot"), "{current}");

    // A database with history ignores snapshots: from the base revision,
    // the snapshot's own revision is replayed.
    demo.run(&["downgrade", DEMO_BASE, "--database-url", &sqlite_url(&db)]).ok();
    let again = demo.run(&["upgrade", "--database-url", &sqlite_url(&db)]).ok();
    assert!(!again.contains("snapshot") && again.contains(DEMO_HEAD), "{again}");
    assert_eq!(schema(&db), schema(&replay_db));
}

#[test]
fn a_snapshot_that_disagrees_with_its_revisions_fails_check_and_a_stale_one_is_refused_on_sqlite() {
    let (demo, db) = project("demo");
    demo.run(&["snapshot", DEMO_HEAD]).ok();
    let snapshot = demo.read(SNAPSHOT_FILE);
    demo.write(SNAPSHOT_FILE, &snapshot.replace("\"login_count\" integer", "\"login_count\" text"));
    let err = demo.run(&["check"]).fails();
    assert!(err.contains("migrations/snapshots/20f04b9598da.sql: the snapshot's schema differs"), "{err}");
    assert!(err.contains("table user: column login_count: changed from integer to text"), "{err}");
    // The walk proves it too: a defect naming the file and the object.
    let err = demo.run(&["walk"]).fails();
    assert!(err.contains("migrations/snapshots/20f04b9598da.sql: the snapshot's schema differs"), "{err}");
    assert!(err.contains("table user: column login_count: differs in the snapshot from replayed"), "{err}");

    demo.write(SNAPSHOT_FILE, &snapshot);
    demo.run(&["check"]).ok();
    demo.run(&["walk"]).ok();
    let base = "migrations/cf0f5b45967a_create_user_and_role_tables.sql";
    demo.write(base, &demo.read(base).replacen("CREATE TABLE role (", "CREATE TABLE role  (", 1));
    let err = demo.run(&["check"]).fails();
    assert!(
        err.contains("migrations/snapshots/20f04b9598da.sql: the revisions up to `20f04b9598da` changed"),
        "{err}"
    );
    assert!(err.contains("cargo migrate snapshot 20f04b9598da"), "{err}");
    let err = demo.run(&["upgrade", "--database-url", &sqlite_url(&db)]).fails();
    assert!(
        err.contains("migrations/snapshots/20f04b9598da.sql: the revisions up to `20f04b9598da` changed"),
        "{err}"
    );
    assert!(err.contains("cargo migrate snapshot 20f04b9598da"), "{err}");
    assert!(!db.exists() || schema(&db).is_empty(), "nothing was applied");
}

#[test]
fn a_fresh_postgres_database_from_a_snapshot_has_the_schema_and_history_replaying_gives() {
    let (Some(fresh), Some(replayed)) = (pg::database(), pg::database()) else { return };
    let demo = Fixture::copy_as_postgres("demo");
    add_audit(&demo, "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY");
    demo.run(&["upgrade", "--database-url", &replayed]).ok();
    demo.run(&["snapshot", "--database-url", &replayed]).ok();
    let snapshot = demo.read("migrations/snapshots/cccccccccccc.sql");
    assert!(snapshot.contains("-- dialect: postgres"), "{snapshot}");
    demo.run(&["check", "--database-url", &replayed]).ok();

    let out = demo.run(&["upgrade", "--database-url", &fresh]).ok();
    assert!(out.contains("snapshot cccccccccccc"), "{out}");
    assert_eq!(pg::schema(&fresh), pg::schema(&replayed));
    let history = |url: &str| {
        pg::sql(
            url,
            "SELECT package, revision, parents, depends_on, checksum, message, coalesce(downgrade_sql, 'NULL'), \
             transactional::text, coalesce(dirty, 'NULL') FROM migrate_history ORDER BY revision",
        )
    };
    assert_eq!(history(&fresh), history(&replayed));
    let marks = pg::sql(&fresh, "SELECT DISTINCT execution_ms::text FROM migrate_history");
    assert_eq!(marks, [["-1"]]);

    // A snapshot that disagrees fails `check`, naming the difference.
    demo.write(
        "migrations/snapshots/cccccccccccc.sql",
        &snapshot.replace("\"what\" text NOT NULL", "\"what\" text"),
    );
    let err = demo.run(&["check", "--database-url", &replayed]).fails();
    assert!(err.contains("migrations/snapshots/cccccccccccc.sql: the snapshot's schema differs"), "{err}");
    assert!(err.contains("audit") && err.contains("what"), "{err}");
    let err = demo.run(&["walk", "--database-url", &replayed]).fails();
    assert!(err.contains("migrations/snapshots/cccccccccccc.sql: the snapshot's schema differs"), "{err}");
    assert!(err.contains("table audit: column what: differs in the snapshot from replayed"), "{err}");
    demo.write("migrations/snapshots/cccccccccccc.sql", &snapshot);
    demo.run(&["walk", "--database-url", &replayed]).ok();
}

#[test]
fn reset_deletes_the_sqlite_file_says_what_goes_and_rebuilds_it_from_the_snapshot() {
    let (demo, db) = project("demo");
    let url = sqlite_url(&db);
    demo.run(&["upgrade", "--database-url", &url]).ok();
    rusqlite::Connection::open(&db)
        .and_then(|c| c.execute_batch("CREATE TABLE notes (x TEXT);"))
        .expect("notes");
    demo.run(&["snapshot"]).ok();
    let out = demo.run(&["reset", "--database-url", &url]).ok();
    assert!(out.contains(&format!("reset: deleting {} with", db.display())), "{out}");
    assert!(out.contains("  drop table notes\n") && out.contains("  drop table user\n"), "{out}");
    assert!(out.contains("snapshot 20f04b9598da"), "rebuilt from the snapshot: {out}");
    assert!(!tables(&db).contains(&"notes".to_string()), "{:?}", tables(&db));
    assert_eq!(
        query_strings(&open(&db), "SELECT revision FROM migrate_history ORDER BY rowid"),
        [DEMO_BASE, DEMO_HEAD]
    );
    // A missing file is simply built.
    std::fs::remove_file(&db).expect("remove");
    demo.run(&["reset", "--database-url", &url]).ok();
    assert!(tables(&db).contains(&"role".to_string()));
}

#[test]
fn reset_refuses_a_database_whose_history_records_another_package_unless_forced() {
    let (demo, db) = project("demo");
    let url = sqlite_url(&db);
    demo.run(&["upgrade", "--database-url", &url]).ok();
    let other = "INSERT INTO migrate_history (package, revision, parents, checksum, message, transactional) \
                 VALUES ('billing', 'abcdefabcdef', '', 'x', 'invoices', 1); CREATE TABLE invoice (id INTEGER);";
    rusqlite::Connection::open(&db).and_then(|c| c.execute_batch(other)).expect("other package");
    let err = demo.run(&["reset", "--database-url", &url]).fails();
    assert!(err.contains("also records package `billing`"), "{err}");
    assert!(tables(&db).contains(&"invoice".to_string()), "a refused reset drops nothing");
    demo.run(&["reset", "--force", "--database-url", &url]).ok();
    assert!(!tables(&db).contains(&"invoice".to_string()));
}

#[test]
fn database_create_and_drop_a_sqlite_file() {
    let (demo, db) = project("demo");
    let url = sqlite_url(&db);
    assert!(demo.run(&["database", "create", "--database-url", &url]).ok().contains("created"));
    assert!(db.exists());
    assert!(demo.run(&["database", "create", "--database-url", &url]).ok().contains("already exists"));
    demo.run(&["upgrade", "--database-url", &url]).ok();
    assert!(demo.run(&["database", "drop", "--database-url", &url]).ok().contains("dropped"));
    assert!(!db.exists());
    assert!(demo.run(&["database", "drop", "--database-url", &url]).ok().contains("does not exist"));
}

#[test]
fn reset_and_database_create_drop_on_postgres() {
    let Some(url) = pg::database() else { return };
    let demo = Fixture::copy_as_postgres("demo");
    demo.run(&["upgrade", "--database-url", &url]).ok();
    pg::sql(&url, "CREATE TABLE notes (x text); CREATE TYPE mood AS ENUM ('ok')");
    let out = demo.run(&["reset", "--database-url", &url]).ok();
    assert!(out.contains("emptying schema public of"), "{out}");
    assert!(
        out.contains("  drop table public.notes\n") && out.contains("  drop type public.mood\n"),
        "{out}"
    );
    assert!(!pg::schema(&url).iter().any(|c| c.starts_with("notes.")), "{:?}", pg::schema(&url));
    assert!(pg::schema(&url).iter().any(|c| c.starts_with("user.login_count")));
    assert_eq!(pg::history(&url), [DEMO_BASE, DEMO_HEAD]);

    let fresh = format!("{}_made", url);
    let made = demo.run(&["database", "create", "--database-url", &fresh]).ok();
    assert!(made.contains("created"), "{made}");
    demo.run(&["upgrade", "--database-url", &fresh]).ok();
    assert_eq!(pg::history(&fresh), [DEMO_BASE, DEMO_HEAD]);
    assert!(demo.run(&["database", "drop", "--database-url", &fresh]).ok().contains("dropped"));
    assert!(demo.run(&["database", "drop", "--database-url", &fresh]).ok().contains("does not exist"));
}

/// This machine's address on its network (not loopback), if it has one.
fn network_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // Connecting a UDP socket sends nothing: it only picks the route.
    socket.connect("192.0.2.1:9").ok()?;
    Some(socket.local_addr().ok()?.ip()).filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
}

/// A throw-away server that also listens on this machine's network
/// address, with a database `app` made over loopback, and that database's
/// URLs over loopback and over the network address; `None` (said) where
/// the machine has no such address or no server binaries.
pub fn off_loopback_server(
    demo: &Fixture,
) -> Option<(migrate_runtime::testing::ThrowawayServer, String, String)> {
    let Some(address) = network_address() else {
        eprintln!("skipped: this machine has no network address besides loopback");
        return None;
    };
    if migrate_runtime::testing::postgres_bin_dir().is_none() {
        eprintln!("skipped: no PostgreSQL server binaries here");
        return None;
    }
    let server = migrate_runtime::testing::ThrowawayServer::builder()
        .also_listen_on(&address.to_string())
        .hba_rule(&format!("host all all {address}/32 trust"))
        .start()
        .expect("a server on the network address");
    // Created over loopback with the tool itself: the version matrix's
    // server packages have no `createdb`.
    let local = format!("postgres://postgres@127.0.0.1:{}/app", server.port());
    demo.run(&["database", "create", "--database-url", &local]).ok();
    let url = format!("postgres://postgres@{address}:{}/app", server.port());
    Some((server, local, url))
}

#[test]
fn reset_and_database_drop_refuse_a_postgres_server_reached_off_loopback_unless_forced() {
    let demo = Fixture::copy_as_postgres("demo");
    let Some((_server, _, url)) = off_loopback_server(&demo) else { return };
    demo.run(&["upgrade", "--database-url", &url]).ok();
    let err = demo.run(&["reset", "--database-url", &url]).fails();
    assert!(err.contains("is not on this machine"), "{err}");
    assert_eq!(pg::history(&url), [DEMO_BASE, DEMO_HEAD], "a refused reset drops nothing");
    let err = demo.run(&["database", "drop", "--database-url", &url]).fails();
    assert!(err.contains("is not on this machine"), "{err}");
    demo.run(&["reset", "--force", "--database-url", &url]).ok();
    assert_eq!(pg::history(&url), [DEMO_BASE, DEMO_HEAD]);
}
