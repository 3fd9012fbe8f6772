//! Benchmark: the walk-versions harness over 100 and 1,000 revisions (a
//! table and an index each), on in-memory SQLite and on PostgreSQL, with
//! where the time goes: running the revisions' SQL (measured alone, the
//! same up-down-up-then-down sequence without snapshots) versus taking and
//! comparing schema snapshots (the rest).
//!
//! Run: `cargo bench -p migrate-runtime --bench walk [-- SIZES...]`

use migrate_runtime::apply::Options;
use migrate_runtime::apply::{downgrade_step, upgrade_step};
use migrate_runtime::testing::{database_url, PostgresConnection, TestDatabase, WalkVersions};
use migrate_runtime::{Dialect, Graph};
use std::time::{Duration, Instant};

mod support;

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![100, 1000] } else { sizes };
    let server = std::env::var("MIGRATE_TEST_POSTGRES_URL").ok();
    let throwaway = match &server {
        Some(_) => None,
        None => migrate_runtime::testing::ThrowawayServer::start().ok(),
    };
    let base = server.or_else(|| throwaway.as_ref().map(|s| s.url()));
    for &n in &sizes {
        // Types every dialect accepts, so both databases walk the same chain.
        let graph = support::chain(n, Dialect::Sqlite);
        let sqlite = || rusqlite::Connection::open_in_memory().expect("memory");
        report("SQLite (in memory)", n, measure(&graph, &mut sqlite(), &mut sqlite()));
        if let Some(base) = &base {
            let (mut a, mut b) = (fresh(base, &format!("walk_a_{n}")), fresh(base, &format!("walk_b_{n}")));
            report("PostgreSQL", n, measure(&graph, &mut a, &mut b));
        }
    }
}

fn fresh(base: &str, name: &str) -> PostgresConnection {
    let mut admin = PostgresConnection::connect(base).expect("connect");
    admin.execute(&format!("DROP DATABASE IF EXISTS {name}")).expect("drop");
    admin.execute(&format!("CREATE DATABASE {name}")).expect("create");
    PostgresConnection::connect(&database_url(base, name)).expect("connect")
}

/// (whole walk, the same SQL sequence alone)
fn measure(
    graph: &Graph,
    walk_db: &mut dyn TestDatabase,
    sql_db: &mut dyn TestDatabase,
) -> (Duration, Duration) {
    let started = Instant::now();
    let report = WalkVersions::new(graph).run(walk_db).expect("walk");
    let walk = started.elapsed();
    assert_eq!(report.revisions, graph.len());
    let options = Options::new("walk");
    let dialect = sql_db.dialect();
    let started = Instant::now();
    sql_db.execute(&migrate_runtime::apply::create_table_sql(dialect, "migrate_history")).expect("history");
    for revision in graph.revisions() {
        let (up, down) = (step_up(revision, dialect, &options), step_down(revision, dialect, &options));
        for script in [&up, &down, &up] {
            sql_db.execute(script).expect("step");
        }
    }
    for revision in graph.revisions().iter().rev() {
        sql_db.execute(&step_down(revision, dialect, &options)).expect("down");
    }
    (walk, started.elapsed())
}

fn step_up(revision: &migrate_runtime::Revision, dialect: Dialect, options: &Options) -> String {
    upgrade_step(revision, dialect, options).expect("up")
}

fn step_down(revision: &migrate_runtime::Revision, dialect: Dialect, options: &Options) -> String {
    downgrade_step(revision, dialect, options).expect("down")
}

fn report(database: &str, n: usize, (walk, sql): (Duration, Duration)) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "walk of {n} revisions on {database}: {:.0} ms; running the SQL {:.0} ms ({:.0}%), snapshots and comparisons {:.0} ms ({:.0}%)",
        ms(walk),
        ms(sql),
        100.0 * ms(sql) / ms(walk),
        ms(walk.saturating_sub(sql)),
        100.0 * ms(walk.saturating_sub(sql)) / ms(walk)
    );
}
