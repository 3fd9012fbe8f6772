//! Fleets: one package's revisions on many databases in one run, `-j N` at
//! a time, each database's failure isolated and reported, a final table,
//! exit 1 if any failed, and one JSON document listing them all.

use crate::json::conforms;
use crate::support::pg::{self, database as pg_database};
use crate::support::sqlite::history;
use crate::support::Fixture;
use serde_json::Value;

const HEAD: &str = "20f04b9598da";

/// 50 SQLite files in a list, the 17th not a database at all.
fn sqlite_fleet(demo: &Fixture) -> (String, Vec<std::path::PathBuf>) {
    let files: Vec<_> = (1..=50).map(|i| demo.path().join(format!("tenant_{i:02}.sqlite3"))).collect();
    std::fs::write(&files[16], "this is not a database, it is a text file that happens to be here\n")
        .unwrap();
    let mut list = String::from("# one database per tenant\n\n");
    list += &files.iter().map(|f| format!("sqlite:{}\n", f.display())).collect::<String>();
    demo.write("tenants.txt", &list);
    (demo.path().join("tenants.txt").display().to_string(), files)
}

#[test]
fn fifty_sqlite_databases_upgrade_in_parallel_and_one_failure_is_isolated() {
    let demo = Fixture::copy("demo");
    let (list, files) = sqlite_fleet(&demo);
    let run = demo.run(&["upgrade", "--database-urls", &list, "-j", "4"]);
    let (stdout, stderr) = (run.stdout.clone(), run.stderr.clone());
    let error = run.fails();
    assert!(error.contains("1 of 50 databases failed"), "{error}");
    // A line per database as it ended, then the table.
    assert_eq!(stderr.lines().filter(|l| l.starts_with('[') && l.contains("/50] ")).count(), 50, "{stderr}");
    let broken = format!("sqlite:{}", files[16].display());
    let row = stdout.lines().find(|l| l.starts_with(&broken)).unwrap_or_else(|| panic!("{stdout}"));
    assert!(row.contains("FAILED") && row.contains("not a database"), "{row}");
    assert!(stdout.contains("50 databases: 49 ok, 1 failed"), "{stdout}");
    for (i, file) in files.iter().enumerate().filter(|(i, _)| *i != 16) {
        assert_eq!(
            history(file, "migrate_history").last().map(String::as_str),
            Some(HEAD),
            "tenant {}",
            i + 1
        );
    }

    // The same fleet read as JSON: one document, every database listed.
    let run = demo.run(&["current", "--database-urls", &list, "--format", "json"]);
    let document: Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    run.fails();
    assert_eq!((document["ok"].as_u64(), document["failed"].as_u64()), (Some(49), Some(1)), "{document}");
    conforms(&document, "fleet");
    let databases = document["databases"].as_array().expect("databases");
    assert_eq!(databases.len(), 50);
    databases.iter().for_each(|database| conforms(database, "database"));
    assert_eq!(databases[0]["to"], serde_json::json!([HEAD]));
    assert_eq!(databases[16]["result"], "failed");
    assert!(databases[16]["error"]["message"].as_str().is_some_and(|m| m.contains("not a database")));
    assert_eq!(document["error"]["code"], "fleet-failed", "{document}");

    // Down again, sequentially this time, the broken one still isolated.
    demo.run(&["downgrade", "base", "--database-urls", &list]).fails();
    assert!(history(&files[0], "migrate_history").is_empty());
}

#[test]
fn a_fleet_list_names_a_bad_line_by_file_and_line_and_runs_nothing() {
    let demo = Fixture::copy("demo");
    let good = demo.path().join("a.sqlite3");
    demo.write("list.txt", &format!("sqlite:{}\nmysql://root:hunter2@db/app\n", good.display()));
    let list = demo.path().join("list.txt").display().to_string();
    let error = demo.run(&["upgrade", "--database-urls", &list]).fails();
    assert!(error.contains("list.txt:2: unsupported database URL"), "{error}");
    assert!(!error.contains("hunter2"), "a password is never printed: {error}");
    assert!(!good.exists(), "nothing ran");
    // Several URLs where a command takes one.
    let error =
        demo.run(&["history", "--database-url", "sqlite:a.db", "--database-url", "sqlite:b.db"]).fails();
    assert!(error.contains("only `upgrade`, `downgrade` and `current` run on several databases"), "{error}");
}

#[test]
fn twenty_postgres_databases_upgrade_and_one_failure_is_isolated() {
    let Some(first) = pg_database() else { return };
    let mut urls = vec![first];
    urls.extend((1..20).map(|_| pg_database().expect("a database")));
    // The seventh already has a `role` table the first revision creates.
    pg::sql(&urls[6], "CREATE TABLE role (id integer)");
    let demo = Fixture::copy_as_postgres("demo");
    let mut args = vec!["upgrade", "-j", "4"];
    for url in &urls {
        args.extend(["--database-url", url.as_str()]);
    }
    args.extend(["--format", "json"]);
    let run = demo.run(&args);
    let document: Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    run.fails();
    assert_eq!((document["ok"].as_u64(), document["failed"].as_u64()), (Some(19), Some(1)), "{document}");
    assert_eq!(document["databases"][6]["result"], "failed");
    for (i, url) in urls.iter().enumerate() {
        match i {
            6 => assert_eq!(
                pg::sql(url, "SELECT to_regclass('public.\"user\"') IS NULL")[0][0],
                "t",
                "as it was"
            ),
            _ => assert_eq!(pg::history(url).last().map(String::as_str), Some(HEAD), "database {i}"),
        }
    }
}

#[test]
fn twenty_tenant_schemas_of_one_database_each_get_their_own_history() {
    let Some(url) = pg_database() else { return };
    let schemas: Vec<String> = (1..=20).map(|i| format!("tenant_{i:02}")).collect();
    // The seventh tenant already has a `role` table the first revision creates.
    pg::sql(&url, "CREATE SCHEMA tenant_07; CREATE TABLE tenant_07.role (id integer)");
    let demo = Fixture::copy_as_postgres("demo");
    let list = schemas.join(",");
    let run = demo.run(&["upgrade", "--database-url", &url, "--schemas", &list, "-j", "4"]);
    let stdout = run.stdout.clone();
    let error = run.fails();
    assert!(error.contains("1 of 20 databases failed"), "{error}");
    assert!(stdout.contains("(schema tenant_07)") && stdout.contains("FAILED"), "{stdout}");
    let history = |schema: &str| -> Vec<String> {
        pg::sql(&url, &format!("SELECT revision FROM {schema}.migrate_history ORDER BY applied_at, revision"))
            .into_iter()
            .map(|row| row[0].clone())
            .collect()
    };
    for schema in schemas.iter().filter(|s| *s != "tenant_07") {
        assert_eq!(history(schema).last().map(String::as_str), Some(HEAD), "{schema}");
        let user = pg::sql(&url, &format!("SELECT to_regclass('{schema}.\"user\"') IS NOT NULL"));
        assert_eq!(user[0][0], "t", "{schema} has its own tables");
    }
    let public = pg::sql(
        &url,
        "SELECT to_regclass('public.\"user\"') IS NULL AND to_regclass('public.migrate_history') IS NULL",
    );
    assert_eq!(public[0][0], "t", "nothing in public");
    assert_eq!(
        pg::sql(&url, "SELECT to_regclass('tenant_07.\"user\"') IS NULL")[0][0],
        "t",
        "tenant_07 as it was"
    );

    // Read back as one document: each schema at head but the failed one.
    let run = demo.run(&["current", "--database-url", &url, "--schemas", &list, "--format", "json"]);
    let document: Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    run.ok();
    let at_head =
        document["databases"].as_array().unwrap().iter().filter(|d| d["to"] == serde_json::json!([HEAD]));
    assert_eq!(at_head.count(), 19, "{document}");
    // `--schemas` is PostgreSQL's.
    let error = Fixture::copy("demo").run(&["upgrade", "--schemas", "a,b"]).fails();
    assert!(error.contains("`--schemas` is for PostgreSQL"), "{error}");
}
