//! Benchmark: autogenerate on a 500-table schema (`new --autogenerate` on a
//! SQLite package). The head is a chain of 500 revisions, each creating a
//! table and an index; the desired schema declares the same 500 tables with
//! 50 changed: added columns, new indexes, and a column type change, which
//! SQLite can only make by rebuilding the table. Times, separately and as
//! medians of several runs: building both scratch schemas in in-memory
//! SQLite (the chain through the migrator, `schema.sql` as one batch),
//! introspecting them, and `autogen::generate`. Each run also applies the
//! generated upgrade to the head and checks it reaches the desired schema.
//!
//! Run: `cargo bench -p migrate-runtime --bench autogen [-- TABLES [RUNS]]`

use migrate_runtime::apply::Options;
use migrate_runtime::schema::{generate, Changes};
use migrate_runtime::sqlite::introspect;
use migrate_runtime::testing::SqliteTemplate;
use migrate_runtime::Dialect;
use rusqlite::Connection;
use std::time::{Duration, Instant};

mod support;

const HISTORY: &str = "migrate_history";

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let tables = args.first().copied().unwrap_or(500);
    let runs = args.get(1).copied().unwrap_or(5);
    let graph = support::chain(tables, Dialect::Sqlite);
    let desired_sql = desired(tables);
    let mut times: [Vec<Duration>; 4] = Default::default();
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        let template = SqliteTemplate::new(&graph, &Options::new("bench")).expect("head");
        let head_db = template.database().expect("copy");
        let desired_db = Connection::open_in_memory().expect("memory");
        desired_db.execute_batch(&desired_sql).expect("schema.sql");
        times[0].push(started.elapsed());

        let started = Instant::now();
        let head = introspect(&head_db, HISTORY).expect("introspect head");
        let desired = introspect(&desired_db, HISTORY).expect("introspect desired");
        times[1].push(started.elapsed());

        let started = Instant::now();
        let changes = generate(&head, &desired, Dialect::Sqlite, &[]);
        times[2].push(started.elapsed());

        let started = Instant::now();
        head_db.execute_batch(&changes.upgrade.join("\n")).expect("generated upgrade runs");
        times[3].push(started.elapsed());
        let reached = introspect(&head_db, HISTORY).expect("introspect upgraded");
        assert_eq!(reached.diff(&desired), Vec::new(), "the generated upgrade reaches schema.sql");
        last = Some(changes);
    }
    report(tables, runs, &times, &last.expect("at least one run"));
}

/// `schema.sql`: the chain's tables, every tenth one changed in turn by an
/// added column, a new index, or a type change (a SQLite rebuild).
fn desired(tables: usize) -> String {
    let mut sql = String::new();
    for i in 0..tables {
        let change = (i % 10 == 0).then_some((i / 10) % 3);
        let created_at = if change == Some(2) { "INTEGER" } else { "TEXT" };
        let note = if change == Some(0) { ", note TEXT" } else { "" };
        sql += &format!(
            "CREATE TABLE t{i} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at {created_at}{note});\nCREATE INDEX t{i}_name ON t{i} (name);\n"
        );
        if change == Some(1) {
            sql += &format!("CREATE INDEX t{i}_created ON t{i} (created_at);\n");
        }
    }
    sql
}

fn report(tables: usize, runs: usize, times: &[Vec<Duration>; 4], changes: &Changes) {
    let changed = tables.div_ceil(10);
    println!(
        "autogenerate, {tables} tables ({changed} changed), SQLite in memory, median of {runs} runs: {} upgrade statements, {} downgrade, {} warnings, {} not generated",
        changes.upgrade.len(),
        changes.downgrade.len(),
        changes.warnings.len(),
        changes.unsupported.len()
    );
    let labels = [
        "build both scratch schemas",
        "introspect both",
        "autogen::generate",
        "apply the generated upgrade (check)",
    ];
    for (label, samples) in labels.iter().zip(times) {
        println!("  {label:<38} {:>9.2} ms", median(samples).as_secs_f64() * 1000.0);
    }
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}
