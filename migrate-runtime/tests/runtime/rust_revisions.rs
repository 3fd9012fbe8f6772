//! Rust revisions (`<id>_<slug>.rs`) as the chain sees them: the header in
//! `//` comments read by the one parser, the code's checksum, their place in
//! the graph next to SQL revisions, the cached loader, and the refusals of
//! everything that would run or print them from files read at run time.

use crate::trim_indent;
use migrate_runtime::apply::{upgrade_script, Options};
use migrate_runtime::chain::{parse_revision, Loader};
use migrate_runtime::model::{ApplyError, Language, TransactionMode};
use migrate_runtime::{load_graph, Revision, SqliteMigrator};

const PATH: &str = "migrations/b2c3d4e5f6a7_split_names.rs";

/// A Rust revision revising `a1b2c3d4e5f6`, with both functions.
const SPLIT: &str = r#"
    // revision: b2c3d4e5f6a7
    // revises: a1b2c3d4e5f6
    // message: split names
    // created: 2026-11-30T04:00:00Z
    // branch: data
    // transaction: none

    //! Free comments in the header are not part of the code.

    use migrate_runtime::data::{DataError, Handle};

    pub async fn upgrade(db: &mut Handle<'_>) -> Result<(), DataError> {
        let _ = db;
        Ok(())
    }

    pub async fn downgrade(db: &mut Handle<'_>) -> Result<(), DataError> {
        let _ = db;
        Ok(())
    }
"#;

const BASE: &str = "-- revision: a1b2c3d4e5f6\n-- message: people\n\n-- migrate:upgrade\nCREATE TABLE people (name TEXT);\n\n-- migrate:downgrade\nDROP TABLE people;\n";

fn parse(text: &str) -> Revision {
    parse_revision(PATH.as_ref(), &trim_indent(text)).unwrap_or_else(|e| panic!("should parse:\n{e}"))
}

fn errors(text: &str) -> String {
    match parse_revision(PATH.as_ref(), &trim_indent(text)) {
        Ok(revision) => panic!("should not parse, got {revision:#?}"),
        Err(errors) => errors.to_string(),
    }
}

#[test]
fn the_header_is_read_from_line_comments() {
    let revision = parse(SPLIT);
    assert_eq!(revision.language, Language::Rust);
    assert_eq!(revision.id, "b2c3d4e5f6a7");
    assert_eq!(revision.parents, ["a1b2c3d4e5f6"]);
    assert_eq!(revision.message, "split names");
    assert_eq!(revision.branches, ["data"]);
    assert_eq!(revision.transaction, TransactionMode::None);
    assert_eq!(revision.location.to_string(), format!("{PATH}:1"));
    let code = &revision.upgrade[0];
    assert_eq!(code.first_line, 10, "the code starts at its first line that is not a comment");
    assert!(code.sql().expect("in memory").starts_with("use migrate_runtime::data"));
    assert_eq!(revision.downgrade.as_deref(), Some(&revision.upgrade[..]));
}

#[test]
fn the_checksum_is_the_codes() {
    let checksum = |text: &str| parse(text).upgrade[0].checksum.clone();
    let original = checksum(SPLIT);
    assert_eq!(original, checksum(&SPLIT.replace("split names", "another message")));
    assert_eq!(original, checksum(&trim_indent(SPLIT).replace('\n', "\r\n")), "line endings");
    assert_ne!(original, checksum(&SPLIT.replace("let _ = db;", "let _db = db;")));
}

#[test]
fn without_a_downgrade_function_it_is_irreversible() {
    let revision = parse(&SPLIT.replace("pub async fn downgrade", "async fn helper"));
    assert!(revision.downgrade.is_none());
    // Indented, it is not the revision's function but a method's.
    let revision = parse(&SPLIT.replace("pub async fn downgrade", "    fn downgrade"));
    assert!(revision.downgrade.is_none());
}

#[test]
fn header_and_code_errors_name_the_file_and_line() {
    let broken = SPLIT
        .replace("// revises: a1b2c3d4e5f6", "// revises: not-an-id")
        .replace("// branch: data", "// colour: red");
    assert_eq!(
        errors(&broken),
        format!(
            "{PATH}:2: invalid revision id `not-an-id`: `-` is reserved for target expressions such as `label@head`, `abc+2`, `a:b`\n\
             {PATH}:5: unknown header key `colour` (known keys: revision, revises, message, created, depends-on, branch, transaction)"
        )
    );
    let no_upgrade = SPLIT.replace("pub async fn upgrade", "pub async fn up");
    assert!(errors(&no_upgrade).starts_with(&format!("{PATH}: a Rust revision needs an `upgrade` function")));
    let other_id = parse_revision("migrations/ffffffffffff_x.rs".as_ref(), &trim_indent(SPLIT)).unwrap_err();
    assert!(other_id.to_string().contains("rename the file to `b2c3d4e5f6a7_<slug>.rs`"), "{other_id}");
}

/// A package folder with the SQL base and the Rust revision on it.
fn package() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).expect("migrations");
    std::fs::write(migrations.join("a1b2c3d4e5f6_people.sql"), BASE).expect("base");
    std::fs::write(migrations.join("b2c3d4e5f6a7_split_names.rs"), trim_indent(SPLIT)).expect("rust");
    dir
}

#[test]
fn a_folder_mixing_sql_and_rust_loads_into_one_graph() {
    let dir = package();
    let graph = load_graph(dir.path(), "migrations".as_ref()).expect("graph");
    let ids: Vec<&str> = graph.revisions().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["a1b2c3d4e5f6", "b2c3d4e5f6a7"]);
    assert_eq!(graph.ids(&graph.heads()), ["b2c3d4e5f6a7"]);
    let loaded = &graph.revisions()[1];
    assert_eq!(loaded, &parse_revision(PATH.as_ref(), &trim_indent(SPLIT)).expect("parses"));
    assert_eq!(loaded.upgrade[0].sql().expect("readable"), parse(SPLIT).upgrade[0].sql().expect("in memory"));
    let cache = dir.path().join("cache.bin");
    let cached = Loader::new(dir.path(), "migrations".as_ref()).cache(&cache).load().expect("graph");
    assert_eq!(cached.revisions(), graph.revisions());
}

#[test]
fn files_read_at_run_time_never_run_rust_revisions() {
    let dir = package();
    let graph = load_graph(dir.path(), "migrations".as_ref()).expect("graph");
    let conn = rusqlite::Connection::open_in_memory().expect("database");
    let options = Options::new("app");
    let error =
        SqliteMigrator::new(&conn, &graph, &options).upgrade("head", &mut |_| {}).expect_err("refused");
    assert!(matches!(error, ApplyError::RustNotCompiledIn { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("{PATH}:1: revision `b2c3d4e5f6a7` is a Rust revision: it runs only from a chain compiled in with `embed_migrations!()` (the package's runner), not from files read at run time")
    );
    // Refused before anything ran: not even the SQL base before it.
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema WHERE name = 'people'", [], |row| row.get(0))
        .expect("count");
    assert_eq!(tables, 0);
    // Up to the revision before it, the chain runs.
    let steps = SqliteMigrator::new(&conn, &graph, &options).upgrade("a1b2", &mut |_| {}).expect("upgrade");
    assert_eq!(steps.len(), 1);
}

#[test]
fn offline_sql_names_the_rust_revisions_it_cannot_print() {
    let dir = package();
    let graph = load_graph(dir.path(), "migrations".as_ref()).expect("graph");
    let options = Options::new("app");
    let error = upgrade_script(&graph, migrate_runtime::Dialect::Sqlite, &options, &[], &graph.heads())
        .expect_err("refused");
    assert_eq!(
        error.to_string(),
        format!("--sql cannot print Rust revisions, whose code runs only in the program: {PATH}; run them live, or print the script up to the revision before them")
    );
    let base = graph.find("a1b2c3d4e5f6").expect("base");
    assert!(upgrade_script(&graph, migrate_runtime::Dialect::Sqlite, &options, &[], &[base]).is_ok());
}

/// Compiled in: a chain as `embed_migrations!` generates it, written by
/// hand, whose second revision is Rust code using the handle.
mod embedded {
    use migrate_runtime::apply::Options;
    use migrate_runtime::data::{DataError, DataFuture, Handle, RustCode, Value};
    use migrate_runtime::embed::{EmbeddedRevision, EmbeddedSection, Migrations};
    use migrate_runtime::model::{ApplyError, Language, TransactionMode};
    use migrate_runtime::SqliteMigrator;

    async fn double(db: &mut Handle<'_>) -> Result<(), DataError> {
        for row in db.query("SELECT a FROM t WHERE a >= $1 ORDER BY a", &[Value::from(0)]).await? {
            let a: i64 = row.get("a")?;
            if a == 13 {
                return Err(DataError::new("13 is unlucky"));
            }
            let label: Option<String> = row.get("a").map(|a: i64| Some(format!("#{a}")))?;
            db.execute(
                "UPDATE t SET b = $1, c = $2 WHERE a = $3",
                &[Value::from(a * 2), label.into(), a.into()],
            )
            .await?;
        }
        Ok(())
    }

    async fn undouble(db: &mut Handle<'_>) -> Result<(), DataError> {
        db.batch("UPDATE t SET b = NULL; UPDATE t SET c = NULL").await
    }

    fn up<'a, 'b>(db: &'a mut Handle<'b>) -> DataFuture<'a> {
        Box::pin(double(db))
    }

    fn down<'a, 'b>(db: &'a mut Handle<'b>) -> DataFuture<'a> {
        Box::pin(undouble(db))
    }

    const fn section(sql: &'static str, checksum: &'static str) -> EmbeddedSection {
        EmbeddedSection { dialect: None, sql, first_line: 5, checksum }
    }

    pub static CHAIN: Migrations = Migrations {
        package: "rust_chain",
        history_table: "migrate_history",
        revisions: &[
            EmbeddedRevision {
                id: "a1",
                parents: &[],
                depends_on: &[],
                message: "t",
                created: None,
                branches: &[],
                transaction: TransactionMode::Single,
                language: Language::Sql,
                upgrade: &[section(
                    "CREATE TABLE t (a INTEGER, b INTEGER, c TEXT); INSERT INTO t (a) VALUES (1), (2), (3);",
                    "c1",
                )],
                downgrade: Some(&[section("DROP TABLE t;", "c2")]),
                path: "migrations/a1_t.sql",
                line: 1,
                code: None,
            },
            EmbeddedRevision {
                id: "b2",
                parents: &["a1"],
                depends_on: &[],
                message: "double",
                created: None,
                branches: &[],
                transaction: TransactionMode::Single,
                language: Language::Rust,
                upgrade: &[section("", "c3")],
                downgrade: Some(&[section("", "c3")]),
                path: "migrations/b2_double.rs",
                line: 1,
                code: Some(RustCode { upgrade: up, downgrade: Some(down) }),
            },
        ],
        snapshots: &[],
    };

    fn rows(conn: &rusqlite::Connection) -> Vec<(i64, Option<i64>, Option<String>)> {
        let mut statement = conn.prepare("SELECT a, b, c FROM t ORDER BY a").expect("query");
        let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?))).expect("rows");
        rows.collect::<Result<_, _>>().expect("rows")
    }

    #[test]
    fn the_handle_runs_in_the_engine_and_an_error_rolls_the_revision_back() {
        let graph = CHAIN.graph().expect("graph");
        let options = Options::new(CHAIN.package);
        let conn = rusqlite::Connection::open_in_memory().expect("database");
        let migrator = SqliteMigrator::new(&conn, &graph, &options);
        migrator.upgrade("heads", &mut |_| {}).expect("upgrade");
        assert_eq!(rows(&conn)[2], (3, Some(6), Some("#3".to_string())));
        migrator.downgrade("a1", &mut |_| {}).expect("downgrade");
        assert_eq!(rows(&conn)[2], (3, None, None));

        conn.execute_batch("INSERT INTO t (a) VALUES (13)").expect("insert");
        let error = migrator.upgrade("heads", &mut |_| {}).expect_err("13");
        assert!(matches!(error, ApplyError::RustFailed { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            "migrations/b2_double.rs:1: Rust revision `b2` failed in its upgrade: 13 is unlucky"
        );
        assert!(rows(&conn).iter().all(|(_, b, c)| b.is_none() && c.is_none()), "rows 1 to 3 rolled back");
        let applied = migrator.applied().expect("history");
        assert_eq!(applied.iter().map(|r| r.revision.as_str()).collect::<Vec<_>>(), ["a1"]);
    }

    #[test]
    fn the_walk_runs_rust_revisions_up_down_and_up() {
        let report = migrate_runtime::testing::walk_sqlite_embedded(&CHAIN).expect("walk on SQLite");
        assert_eq!((report.revisions, report.upgraded, report.downgraded), (2, 4, 4), "{report:?}");
        match migrate_runtime::testing::walk_postgres_embedded(&CHAIN) {
            Ok(Some(report)) => assert_eq!((report.revisions, report.downgraded), (2, 4), "{report:?}"),
            Ok(None) => assert!(std::env::var_os("CI").is_none(), "no PostgreSQL server under CI"),
            Err(error) => panic!("walk on PostgreSQL: {error}"),
        }
    }
}
