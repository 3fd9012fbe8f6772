//! Chains embedded into this very test binary: the generated code is tested
//! by compiling it. Each must give back, through `Migrations::graph`, the
//! graph the library loads from the same folder, and must apply to SQLite
//! with no file read at run time.

use migrate_macros::embed_migrations;
use migrate_runtime::apply::Options;
use migrate_runtime::chain::load_graph;
use migrate_runtime::embed::Migrations;
use migrate_runtime::model::sql_checksum;
use migrate_runtime::sqlite::SqliteMigrator;
use migrate_runtime::{Graph, Revision};
use std::path::Path;

static DEMO: Migrations = embed_migrations!("../fixtures/demo/migrations");
static BRANCHED: Migrations = embed_migrations!("../fixtures/branched/migrations");
static ACCOUNTS: Migrations = embed_migrations!("../fixtures/workspace/accounts/migrations");
// Depends on `accounts:72bb946d57f2`, which this package cannot see: the
// macro checks its syntax only.
static BILLING: Migrations = embed_migrations!("../fixtures/workspace/billing/migrations");
// CRLF and a BOM, quotes and backslashes, dialect sections, `transaction:
// none`, a branch label, same-package `depends-on`, an irreversible
// revision, an empty downgrade, and two heads.
static EDGE_CASES: Migrations = embed_migrations!("tests/macros/edge_cases/migrations", verify = "sqlite");
static EMPTY: Migrations = embed_migrations!("tests/macros/edge_cases/empty");

/// The embedded chain equals the loaded one, but for the `revises` and
/// `depends-on` line numbers, which are not embedded.
fn check(embedded: &Migrations, folder: &str) {
    let loaded = load_graph(Path::new(env!("CARGO_MANIFEST_DIR")), folder.as_ref())
        .unwrap_or_else(|e| panic!("{folder} does not load:\n{e}"));
    let graph = embedded.graph().expect("an embedded chain is valid");
    let without_lines = |graph: &Graph| -> Vec<Revision> {
        let strip = |r: &Revision| Revision { parents_line: None, depends_on_line: None, ..r.clone() };
        graph.revisions().iter().map(strip).collect()
    };
    assert_eq!(without_lines(&graph), without_lines(&loaded), "{folder}");
    assert_eq!(embedded.ids().collect::<Vec<_>>(), loaded.ids(&loaded.revs().collect::<Vec<_>>()));
    assert_eq!(embedded.package, "migrate-macros");
}

#[test]
fn embedded_chains_equal_the_loaded_ones() {
    check(&DEMO, "../fixtures/demo/migrations");
    check(&BRANCHED, "../fixtures/branched/migrations");
    check(&ACCOUNTS, "../fixtures/workspace/accounts/migrations");
    check(&BILLING, "../fixtures/workspace/billing/migrations");
    check(&EDGE_CASES, "tests/macros/edge_cases/migrations");
    assert!(EMPTY.is_empty() && EMPTY.graph().unwrap().is_empty());
}

#[test]
fn sql_is_embedded_normalised_with_its_checksum() {
    let crlf = &EDGE_CASES.revisions[0];
    assert_eq!(crlf.message, r#"it's "quoted", with a \ backslash and café"#);
    let sql = crlf.upgrade[0].sql;
    assert!(sql.starts_with("CREATE TABLE note (\n") && !sql.contains('\r'), "{sql:?}");
    assert!(sql.contains(r#"'it''s \ "café"'"#), "{sql:?}");
    for revision in EDGE_CASES.revisions.iter().chain(DEMO.revisions) {
        for section in revision.upgrade.iter().chain(revision.downgrade.unwrap_or_default()) {
            assert_eq!(section.checksum, sql_checksum(section.sql), "{}", revision.path);
        }
    }
    assert_eq!(crlf.path, "tests/macros/edge_cases/migrations/0a0a0a0a0a0a_crlf_bom_and_quotes.sql");
}

#[test]
fn a_branched_chain_embeds_and_applies_every_head() {
    let graph = EDGE_CASES.graph().unwrap();
    assert_eq!(graph.ids(&graph.heads()), ["3d3d3d3d3d3d", "2c2c2c2c2c2c"]);
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let options = Options::new(EDGE_CASES.package);
    let migrator = SqliteMigrator::new(&conn, &graph, &options);
    let error = migrator.upgrade("head", &mut |_| {}).unwrap_err().to_string();
    assert!(error.contains("needs one head but the chain has several"), "{error}");
    let steps = migrator.upgrade("heads", &mut |_| {}).unwrap();
    assert_eq!(steps.len(), 4);
    let view: i64 = conn.query_row("SELECT count(*) FROM short_note", [], |r| r.get(0)).unwrap();
    assert_eq!(view, 1);
}

#[test]
fn the_demo_chain_migrates_an_empty_database_from_the_binary_alone() {
    let graph = DEMO.graph().unwrap();
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let options = Options::new("demo");
    let steps = SqliteMigrator::new(&conn, &graph, &options).upgrade("head", &mut |_| {}).unwrap();
    let applied: Vec<&str> = steps.iter().map(|s| s.revision.as_str()).collect();
    assert_eq!(applied, ["cf0f5b45967a", "20f04b9598da"]);
    conn.execute("INSERT INTO \"user\" (email, login_count) VALUES ('a@b.c', 1)", []).unwrap();
    let again = SqliteMigrator::new(&conn, &graph, &options).upgrade("head", &mut |_| {}).unwrap();
    assert!(again.is_empty());
}
