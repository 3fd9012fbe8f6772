//! `cargo migrate import`: sqlx, diesel and refinery folders converted into
//! revision files and applied, and `--adopt` on databases those tools left
//! (their history tables written here as each tool writes them), on SQLite
//! and PostgreSQL.

use crate::support::sqlite::{query_strings, tables};
use crate::support::{pg, Fixture};
use sha2::{Digest, Sha384};
use std::path::{Path, PathBuf};

/// A copy of `fixtures/import` and the SQLite file its tests use.
fn project() -> (Fixture, PathBuf) {
    let fixture = Fixture::copy("import");
    let db = fixture.path().join("app.sqlite3");
    (fixture, db)
}

fn url(db: &Path) -> String {
    format!("sqlite:{}", db.display())
}

/// The imported folder's file names.
fn revision_files(fixture: &Fixture) -> Vec<String> {
    fixture.files("migrations")
}

/// Runs `statements` on a SQLite file, creating it.
fn sqlite_exec(db: &Path, statements: &str) {
    rusqlite::Connection::open(db).expect("open").execute_batch(statements).expect("statements run");
}

/// A revision after `parent`, as a user adds one once the project is adopted.
fn add_revision(fixture: &Fixture, parent: &str) {
    fixture.write(
        "migrations/ffff_add_tags.sql",
        &format!(
            "-- revision: ffff\n-- revises: {parent}\n-- message: add tags\n\n-- migrate:upgrade\n\
             CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT);\n\n-- migrate:downgrade\nDROP TABLE tags;\n"
        ),
    );
}

/// sqlx's checksum of a file: SHA-384 of its bytes, as hex.
fn sqlx_checksum(fixture: &Fixture, file: &str) -> String {
    Sha384::digest(fixture.read(file).as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn sqlx_simple_files_import_and_upgrade() {
    let (fixture, db) = project();
    let out = fixture.run(&["import", "--from", "sqlx", "sqlx"]).ok();
    assert!(
        out.contains(
            "created migrations/20240101120000_create_users.sql  (from sqlx/20240101120000_create_users.sql)"
        ),
        "{out}"
    );
    assert_eq!(
        revision_files(&fixture),
        ["20240101120000_create_users.sql", "20240102120000_index_users.sql"]
    );
    let first = fixture.read("migrations/20240101120000_create_users.sql");
    assert!(
        first.contains("-- revises:\n") && !first.contains("-- migrate:downgrade"),
        "irreversible: {first}"
    );
    let second = fixture.read("migrations/20240102120000_index_users.sql");
    assert!(second.contains("-- revises: 20240101120000\n"), "{second}");
    assert!(second.contains("-- transaction: none\n") && !second.contains("no-transaction"), "{second}");
    fixture.run(&["upgrade", "--database-url", &url(&db)]).ok();
    assert!(tables(&db).contains(&"users".to_string()));
    // The same import again writes nothing.
    let again = fixture.run(&["import", "--from", "sqlx", "sqlx"]).ok();
    assert!(again.contains("already holds these revisions: nothing written"), "{again}");
}

#[test]
fn sqlx_up_and_down_pairs_keep_their_down_sql() {
    let (fixture, db) = project();
    fixture.run(&["import", "--from", "sqlx", "sqlx-pairs"]).ok();
    assert_eq!(revision_files(&fixture), ["0001_create_users.sql", "0002_add_posts.sql"]);
    let second = fixture.read("migrations/0002_add_posts.sql");
    assert!(second.contains("-- migrate:downgrade\nDROP TABLE posts;\n"), "{second}");
    fixture.run(&["upgrade", "--database-url", &url(&db)]).ok();
    assert!(tables(&db).contains(&"posts".to_string()));
    fixture.run(&["downgrade", "base", "--database-url", &url(&db)]).ok();
    assert!(!tables(&db).contains(&"users".to_string()));
}

#[test]
fn a_folder_holding_other_revisions_is_refused() {
    let (fixture, _) = project();
    fixture.run(&["import", "--from", "sqlx", "sqlx-pairs"]).ok();
    let err = fixture.run(&["import", "--from", "refinery", "refinery"]).fails();
    assert!(
        err.contains("migrations already holds revision files (such as migrations/0001_create_users.sql)"),
        "{err}"
    );
}

#[test]
fn diesel_folders_import_with_metadata() {
    let (fixture, db) = project();
    fixture.run(&["import", "--from", "diesel", "diesel"]).ok();
    assert_eq!(revision_files(&fixture), ["20240101120000_create_users.sql", "20240102120000_add_posts.sql"]);
    let second = fixture.read("migrations/20240102120000_add_posts.sql");
    assert!(second.contains("-- transaction: none\n"), "run_in_transaction = false: {second}");
    assert!(second.contains("-- created: 2024-01-02T12:00:00Z\n"), "{second}");
    assert!(second.contains("-- migrate:downgrade\nDROP TABLE posts;\n"), "{second}");
    fixture.run(&["upgrade", "--database-url", &url(&db)]).ok();
    assert!(tables(&db).contains(&"posts".to_string()));
}

#[test]
fn refinery_files_import_and_unversioned_ones_are_refused() {
    let (fixture, db) = project();
    fixture.write("refinery/U3__refresh.sql", "SELECT 1;\n");
    let err = fixture.run(&["import", "--from", "refinery", "refinery"]).fails();
    assert!(err.contains("refinery/U3__refresh.sql: refinery's unversioned migrations"), "{err}");
    assert!(!fixture.path().join("migrations").exists(), "nothing written");
    std::fs::remove_file(fixture.path().join("refinery/U3__refresh.sql")).expect("remove");
    fixture.run(&["import", "--from", "refinery", "refinery"]).ok();
    assert!(
        !fixture.read("migrations/0001_create_users.sql").contains("-- migrate:downgrade"),
        "irreversible"
    );
    fixture.run(&["upgrade", "--database-url", &url(&db)]).ok();
    assert!(tables(&db).contains(&"posts".to_string()));
}

#[test]
fn the_package_migrations_folder_is_not_a_source() {
    let (fixture, _) = project();
    std::fs::rename(fixture.path().join("sqlx"), fixture.path().join("migrations")).expect("rename");
    let err = fixture.run(&["import", "--from", "sqlx"]).fails();
    assert!(err.contains("migrations is package `imported`'s migrations folder"), "{err}");
    assert!(err.contains("`git mv migrations migrations.sqlx`"), "{err}");
}

#[test]
fn adoption_without_the_tools_history_table_is_refused() {
    let (fixture, db) = project();
    sqlite_exec(&db, USERS);
    let err =
        fixture.run(&["import", "--from", "sqlx", "sqlx", "--adopt", "--database-url", &url(&db)]).fails();
    assert!(err.contains("cannot read sqlx's history table `_sqlx_migrations`"), "{err}");
}

#[test]
fn source_files_that_are_not_migrations_are_named() {
    let (fixture, _) = project();
    fixture.write("sqlx/notes.txt", "not SQL\n");
    let err = fixture.run(&["import", "--from", "sqlx", "sqlx"]).fails();
    assert!(err.contains("sqlx/notes.txt: not a sqlx migration file"), "{err}");
}

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);";
const POSTS: &str =
    "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id), body TEXT);";

/// `_sqlx_migrations` as sqlx's SQLite driver creates it, with both
/// migrations of `sqlx-pairs` applied.
fn sqlx_sqlite_database(fixture: &Fixture, db: &Path, first_checksum: &str) {
    let second = sqlx_checksum(fixture, "sqlx-pairs/2_add_posts.up.sql");
    sqlite_exec(
        db,
        &format!(
            "{USERS}\n{POSTS}\nCREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, \
             execution_time BIGINT NOT NULL);\n\
             INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES \
             (1, 'create users', TRUE, X'{first_checksum}', 1), (2, 'add posts', TRUE, X'{second}', 1);"
        ),
    );
}

#[test]
fn an_adopted_sqlx_database_needs_no_upgrade_and_takes_new_revisions() {
    let (fixture, db) = project();
    let first = sqlx_checksum(&fixture, "sqlx-pairs/1_create_users.up.sql");
    sqlx_sqlite_database(&fixture, &db, &first);
    let out =
        fixture.run(&["import", "--from", "sqlx", "sqlx-pairs", "--adopt", "--database-url", &url(&db)]).ok();
    assert!(out.contains("_sqlx_migrations: 2 applied, each file checked against sqlx's checksum"), "{out}");
    assert!(out.contains("stamped 0001") && out.contains("stamped 0002"), "{out}");
    let upgrade = fixture.run(&["upgrade", "--database-url", &url(&db)]).ok();
    assert!(upgrade.contains("nothing to do"), "{upgrade}");
    add_revision(&fixture, "0002");
    fixture.run(&["upgrade", "--database-url", &url(&db)]).ok();
    assert!(tables(&db).contains(&"tags".to_string()));
    let history = query_strings(
        &crate::support::sqlite::open(&db),
        "SELECT revision FROM migrate_history ORDER BY revision",
    );
    assert_eq!(history, ["0001", "0002", "ffff"]);
}

#[test]
fn a_changed_sqlx_file_is_not_adopted() {
    let (fixture, db) = project();
    sqlx_sqlite_database(&fixture, &db, &"00".repeat(48));
    let err = fixture
        .run(&["import", "--from", "sqlx", "sqlx-pairs", "--adopt", "--database-url", &url(&db)])
        .fails();
    assert!(
        err.contains("sqlx-pairs/1_create_users.up.sql: the file differs from the one sqlx applied"),
        "{err}"
    );
    assert!(!fixture.path().join("migrations").exists(), "refused before anything is written");
}

#[test]
fn adoption_refuses_versions_the_folder_lacks() {
    let (fixture, db) = project();
    sqlite_exec(
        &db,
        "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, \
         run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);\n\
         INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101120000'), ('20250101000000');",
    );
    let err = fixture
        .run(&["import", "--from", "diesel", "diesel", "--adopt", "--database-url", &url(&db)])
        .fails();
    assert!(
        err.contains(
            "__diesel_schema_migrations lists version 20250101000000, which the folder does not have"
        ),
        "{err}"
    );
}

#[test]
fn an_adopted_diesel_database_at_its_first_migration_upgrades_the_rest() {
    let (fixture, db) = project();
    sqlite_exec(
        &db,
        &format!(
            "{USERS}\nCREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, \
             run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);\n\
             INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101120000');"
        ),
    );
    let out =
        fixture.run(&["import", "--from", "diesel", "diesel", "--adopt", "--database-url", &url(&db)]).ok();
    assert!(out.contains("1 applied; diesel keeps no checksums, so the contents were not verified"), "{out}");
    let upgrade = fixture.run(&["upgrade", "--database-url", &url(&db)]).ok();
    assert!(upgrade.contains("20240102120000"), "the second one applies: {upgrade}");
    assert!(tables(&db).contains(&"posts".to_string()));
}

/// `refinery_schema_history` as refinery's rusqlite driver creates it,
/// with both migrations of `refinery/` applied and `checksums` recorded.
fn refinery_sqlite_database(db: &Path, checksums: [&str; 2]) {
    let [first, second] = checksums;
    sqlite_exec(
        db,
        &format!(
            "{USERS}\n{POSTS}\nCREATE TABLE refinery_schema_history (version INTEGER PRIMARY KEY, name VARCHAR(255), \
             applied_on VARCHAR(255), checksum VARCHAR(255));\n\
             INSERT INTO refinery_schema_history VALUES (1, 'create_users', '2024-01-01T00:00:00Z', '{first}'), \
             (2, 'add_posts', '2024-01-01T00:00:00Z', '{second}');"
        ),
    );
}

/// What refinery records for the two files of `refinery/`: its SipHash-1-3
/// of name, `i32` version and SQL, in decimal (checked with a separate
/// SipHash-1-3 written in Python over the same bytes).
const REFINERY_CHECKSUMS: [&str; 2] = ["18435496531957181202", "4257580721246369015"];

#[test]
fn an_adopted_refinery_database_needs_no_upgrade() {
    let (fixture, db) = project();
    refinery_sqlite_database(&db, REFINERY_CHECKSUMS);
    let out = fixture
        .run(&["import", "--from", "refinery", "refinery", "--adopt", "--database-url", &url(&db)])
        .ok();
    assert!(out.contains("2 applied, each file checked against refinery's checksum"), "{out}");
    assert!(fixture.run(&["upgrade", "--database-url", &url(&db)]).ok().contains("nothing to do"));
    add_revision(&fixture, "0002");
    fixture.run(&["upgrade", "--database-url", &url(&db)]).ok();
    assert!(tables(&db).contains(&"tags".to_string()));
}

#[test]
fn a_changed_refinery_file_is_not_adopted() {
    let (fixture, db) = project();
    refinery_sqlite_database(&db, ["1234", REFINERY_CHECKSUMS[1]]);
    let err = fixture
        .run(&["import", "--from", "refinery", "refinery", "--adopt", "--database-url", &url(&db)])
        .fails();
    let expected = format!(
        "refinery/V1__create_users.sql: the file differs from the one refinery applied (checksum 1234 recorded, {} now)",
        REFINERY_CHECKSUMS[0]
    );
    assert!(err.contains(&expected), "{err}");
}

#[test]
fn an_adopted_sqlx_database_on_postgres_needs_no_upgrade_and_takes_new_revisions() {
    let Some(database) = pg::database() else { return };
    let fixture = Fixture::copy_as_postgres("import");
    let first = sqlx_checksum(&fixture, "sqlx-pairs/1_create_users.up.sql");
    let second = sqlx_checksum(&fixture, "sqlx-pairs/2_add_posts.up.sql");
    pg::sql(
        &database,
        &format!(
            "{USERS}\n{POSTS}\nCREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, \
             execution_time BIGINT NOT NULL);\n\
             INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES \
             (1, 'create users', TRUE, decode('{first}', 'hex'), 1), (2, 'add posts', TRUE, decode('{second}', 'hex'), 1);"
        ),
    );
    let out =
        fixture.run(&["import", "--from", "sqlx", "sqlx-pairs", "--adopt", "--database-url", &database]).ok();
    assert!(out.contains("2 applied, each file checked against sqlx's checksum"), "{out}");
    assert!(fixture.run(&["upgrade", "--database-url", &database]).ok().contains("nothing to do"));
    add_revision(&fixture, "0002");
    fixture.run(&["upgrade", "--database-url", &database]).ok();
    assert_eq!(pg::history(&database).last().map(String::as_str), Some("ffff"));
}

#[test]
fn an_adopted_diesel_database_on_postgres_needs_no_upgrade() {
    let Some(database) = pg::database() else { return };
    let fixture = Fixture::copy_as_postgres("import");
    pg::sql(
        &database,
        &format!(
            "{USERS}\n{POSTS}\nCREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, \
             run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);\n\
             INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101120000'), ('20240102120000');"
        ),
    );
    fixture.run(&["import", "--from", "diesel", "diesel", "--adopt", "--database-url", &database]).ok();
    assert!(fixture.run(&["upgrade", "--database-url", &database]).ok().contains("nothing to do"));
}

#[test]
fn an_adopted_refinery_database_on_postgres_is_verified_and_needs_no_upgrade() {
    let Some(database) = pg::database() else { return };
    let fixture = Fixture::copy_as_postgres("import");
    let [first, second] = REFINERY_CHECKSUMS;
    pg::sql(
        &database,
        &format!(
            "{USERS}\n{POSTS}\nCREATE TABLE refinery_schema_history (version INT4 PRIMARY KEY, name VARCHAR(255), \
             applied_on VARCHAR(255), checksum VARCHAR(255));\n\
             INSERT INTO refinery_schema_history VALUES (1, 'create_users', '2024-01-01T00:00:00Z', '{first}'), \
             (2, 'add_posts', '2024-01-01T00:00:00Z', '{second}');"
        ),
    );
    let out = fixture
        .run(&["import", "--from", "refinery", "refinery", "--adopt", "--database-url", &database])
        .ok();
    assert!(out.contains("2 applied, each file checked against refinery's checksum"), "{out}");
    assert!(fixture.run(&["upgrade", "--database-url", &database]).ok().contains("nothing to do"));
}

/// Runs Alembic itself (`python3 -m alembic ARGS`) in the fixture's Alembic
/// project, as a team on Alembic would; returns what it printed.
fn alembic(fixture: &Fixture, args: &[&str]) -> String {
    let output = std::process::Command::new("python3")
        .args(["-m", "alembic"])
        .args(args)
        .current_dir(fixture.path().join("alembic"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run python3 (Alembic is installed by .ci/run: `python3 -m pip install alembic`)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "alembic {args:?} failed: {stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const ALEMBIC_BASE: &str = "a1b2c3d4e5f6";
const ALEMBIC_MERGE: &str = "d4e5f6a7b8c9";

#[test]
fn an_alembic_project_imports_with_its_graph_and_upgrades_on_sqlite() {
    let (fixture, db) = project();
    let out = fixture.run(&["import", "--from", "alembic", "alembic"]).ok();
    assert!(out.contains("importing 4 alembic migration(s) from alembic"), "{out}");
    assert!(
        out.contains(
            "created migrations/d4e5f6a7b8c9_merge_posts_and_email.sql  (from alembic/versions/d4e5f6a7b8c9_merge_posts_and_email.py)"
        ),
        "{out}"
    );
    let base = fixture.read("migrations/a1b2c3d4e5f6_create_users.sql");
    assert!(base.contains("CREATE TABLE users (") && !base.contains("alembic_version"), "{base}");
    assert!(base.contains("-- migrate:downgrade\nDROP TABLE users;"), "{base}");
    let email = fixture.read("migrations/c3d4e5f6a7b8_add_user_email.sql");
    assert!(
        email.contains("-- revises: a1b2c3d4e5f6\n-- branch: email\n-- message: add user email"),
        "{email}"
    );
    assert!(email.contains("DROP INDEX ix_emails_address;\n\nDROP TABLE emails;"), "{email}");
    assert!(!email.contains("CREATE TABLE posts"), "only its own section: {email}");
    let merge = fixture.read("migrations/d4e5f6a7b8c9_merge_posts_and_email.sql");
    assert!(
        merge.contains("-- revises: b2c3d4e5f6a7, c3d4e5f6a7b8\n-- message: merge posts and email"),
        "{merge}"
    );
    assert!(merge.contains("CREATE TABLE audit") && !merge.contains("CREATE TABLE emails"), "{merge}");
    assert!(
        !merge.contains("-- migrate:downgrade"),
        "a downgrade that writes nothing is irreversible: {merge}"
    );

    fixture.run(&["upgrade", "--database-url", &url(&db)]).ok();
    for table in ["audit", "emails", "posts", "users"] {
        assert!(tables(&db).contains(&table.to_string()), "{table}: {:?}", tables(&db));
    }
    let err = fixture.run(&["downgrade", "base", "--database-url", &url(&db)]).fails();
    assert!(err.contains("revision `d4e5f6a7b8c9` has no downgrade section"), "{err}");
    fixture.run(&["downgrade", "b2c3d4e5f6a7", "--database-url", &url(&db)]).fails();
    let again = fixture.run(&["import", "--from", "alembic", "alembic"]).ok();
    assert!(again.contains("already holds these revisions"), "the same files again: {again}");
}

#[test]
fn an_alembic_applied_sqlite_database_is_adopted_and_takes_new_revisions() {
    let (fixture, db) = project();
    alembic(&fixture, &["-x", &format!("url=sqlite:///{}", db.display()), "upgrade", "head"]);
    let query = |sql| query_strings(&crate::support::sqlite::open(&db), sql);
    assert_eq!(query("SELECT version_num FROM alembic_version"), [ALEMBIC_MERGE]);
    let out =
        fixture.run(&["import", "--from", "alembic", "alembic", "--adopt", "--database-url", &url(&db)]).ok();
    assert!(out.contains("alembic_version: at d4e5f6a7b8c9"), "{out}");
    assert!(
        out.contains(&format!("stamped {ALEMBIC_BASE}")) && out.contains("stamped d4e5f6a7b8c9"),
        "{out}"
    );
    let upgrade = fixture.run(&["upgrade", "--database-url", &url(&db)]).ok();
    assert!(upgrade.contains("nothing to do"), "{upgrade}");
    add_revision(&fixture, ALEMBIC_MERGE);
    fixture.run(&["upgrade", "--database-url", &url(&db)]).ok();
    assert!(tables(&db).contains(&"tags".to_string()));
    assert_eq!(query("SELECT CAST(count(*) AS TEXT) FROM migrate_history"), ["5"]);
}

#[test]
fn an_alembic_applied_postgres_database_is_adopted_and_takes_new_revisions() {
    let Some(url) = pg::database() else { return };
    let fixture = Fixture::copy_as_postgres("import");
    // No Python PostgreSQL driver is installed: Alembic writes its script
    // for PostgreSQL offline, and the server runs it, `alembic_version`
    // included, as `alembic upgrade head` would have.
    let script = alembic(&fixture, &["-x", "url=postgresql://", "upgrade", "head", "--sql"]);
    pg::sql(&url, &script);
    assert_eq!(pg::sql(&url, "SELECT version_num FROM alembic_version"), [[ALEMBIC_MERGE]]);
    let out =
        fixture.run(&["import", "--from", "alembic", "alembic", "--adopt", "--database-url", &url]).ok();
    assert!(out.contains("stamped d4e5f6a7b8c9"), "{out}");
    assert!(fixture.read("migrations/a1b2c3d4e5f6_create_users.sql").contains("SERIAL"), "PostgreSQL's SQL");
    let upgrade = fixture.run(&["upgrade", "--database-url", &url]).ok();
    assert!(upgrade.contains("nothing to do"), "{upgrade}");
    add_revision(&fixture, ALEMBIC_MERGE);
    fixture.run(&["upgrade", "--database-url", &url]).ok();
    assert_eq!(pg::history(&url).len(), 5);
    assert!(pg::schema(&url).iter().any(|c| c.starts_with("tags.name")), "{:?}", pg::schema(&url));
}

#[test]
fn without_alembic_import_says_how_to_install_it_and_writes_nothing() {
    let (fixture, _) = project();
    let err = fixture
        .run_with_env(&[("PYTHON", "/nonexistent/python3")], &["import", "--from", "alembic", "alembic"])
        .fails();
    assert!(err.contains("Alembic is not installed (cannot run `/nonexistent/python3`"), "{err}");
    assert!(err.contains("`python3 -m pip install alembic`") && err.contains("nothing was written"), "{err}");
    // An interpreter without the module, as Python reports it.
    let python = fixture.path().join("python-without-alembic");
    fixture.write(
        "python-without-alembic",
        "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'alembic'\" >&2\nexit 1\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).expect("executable");
    let python = python.display().to_string();
    let err =
        fixture.run_with_env(&[("PYTHON", &python)], &["import", "--from", "alembic", "alembic"]).fails();
    assert!(
        err.contains("Alembic is not installed (ModuleNotFoundError: No module named 'alembic')"),
        "{err}"
    );
    assert!(err.contains(&format!("`{python} -m pip install alembic`")), "{err}");
    assert!(!fixture.path().join("migrations").exists(), "nothing written");
}
