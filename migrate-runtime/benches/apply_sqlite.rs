//! Benchmark: applying 1,000 revisions (a table and an index each) to a
//! SQLite file, against a floor measured in the same run: the same SQL
//! through rusqlite directly, one transaction and one history insert per
//! revision. Also the no-op start-up at head against a bare
//! connect-and-select. Figures are ratios, since the machines are noisy.
//!
//! Run: `cargo bench -p migrate-runtime --bench apply_sqlite [-- REVISIONS ROUNDS]`

use migrate_runtime::apply::Options;
use migrate_runtime::sqlite::SqliteMigrator;
use migrate_runtime::Graph;
use rusqlite::Connection;
use std::path::Path;
use std::time::{Duration, Instant};

mod support;
use support::report;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let graph = support::chain(count, migrate_runtime::Dialect::Sqlite);
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut floor = Vec::new();
    let mut ours = Vec::new();
    for round in 0..rounds {
        // Alternate the order so neither side always runs on a warmer disk.
        let a = dir.path().join(format!("floor{round}.db"));
        let b = dir.path().join(format!("ours{round}.db"));
        if round % 2 == 0 {
            floor.push(run_floor(&graph, &a));
            ours.push(run_ours(&graph, &b));
        } else {
            ours.push(run_ours(&graph, &b));
            floor.push(run_floor(&graph, &a));
        }
    }
    report(&format!("apply {count} revisions"), &floor, &ours);
    let db = dir.path().join("ours0.db");
    let bare: Vec<Duration> = (0..200).map(|_| bare_connect(&db)).collect();
    let noop: Vec<Duration> = (0..200).map(|_| noop_startup(&graph, &db)).collect();
    report("no-op start-up at head vs connect-and-select", &bare, &noop);
}

/// The same SQL and one history row per revision, straight through rusqlite.
fn run_floor(graph: &Graph, path: &Path) -> Duration {
    let mut conn = Connection::open(path).expect("open");
    let started = Instant::now();
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS floor_history (package TEXT NOT NULL, revision TEXT NOT NULL, checksum TEXT NOT NULL, PRIMARY KEY (package, revision))",
    )
    .expect("history table");
    for revision in graph.revisions() {
        let tx = conn.transaction().expect("begin");
        tx.execute_batch(&revision.upgrade[0].sql().expect("readable")).expect("sql");
        tx.execute(
            "INSERT INTO floor_history (package, revision, checksum) VALUES ('bench', ?1, ?2)",
            [&revision.id, &revision.upgrade[0].checksum],
        )
        .expect("insert");
        tx.commit().expect("commit");
    }
    started.elapsed()
}

fn run_ours(graph: &Graph, path: &Path) -> Duration {
    let conn = Connection::open(path).expect("open");
    let options = Options::new("bench");
    let started = Instant::now();
    let steps = SqliteMigrator::new(&conn, graph, &options).upgrade("head", &mut |_| {}).expect("upgrade");
    assert_eq!(steps.len(), graph.len());
    started.elapsed()
}

fn bare_connect(path: &Path) -> Duration {
    let started = Instant::now();
    let conn = Connection::open(path).expect("open");
    let one: i64 = conn.query_row("SELECT 1", [], |r| r.get(0)).expect("select");
    assert_eq!(one, 1);
    started.elapsed()
}

fn noop_startup(graph: &Graph, path: &Path) -> Duration {
    let started = Instant::now();
    let conn = Connection::open(path).expect("open");
    let options = Options::new("bench");
    let steps = SqliteMigrator::new(&conn, graph, &options).upgrade("head", &mut |_| {}).expect("upgrade");
    assert!(steps.is_empty());
    started.elapsed()
}
