//! Benchmark: applying 1,000 revisions (a table and an index each) to
//! PostgreSQL, against a floor measured in the same run: the same SQL
//! through tokio-postgres directly, one transaction and one history insert
//! per revision, sent as one batch each (the cheapest a hand-written loop
//! can be). Also the no-op start-up at head against a bare
//! connect-and-select. Uses `MIGRATE_TEST_POSTGRES_URL`, else a throw-away
//! server from the local PostgreSQL binaries.
//!
//! Run: `cargo bench -p migrate-runtime --bench apply_postgres [-- REVISIONS ROUNDS]`

use migrate_runtime::apply::Options;
use migrate_runtime::postgres::PostgresMigrator;
use migrate_runtime::testing::ThrowawayServer;
use migrate_runtime::Graph;
use std::time::{Duration, Instant};

mod support;
use support::report;
use tokio_postgres::{Client, NoTls};

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let (_server, base) = match std::env::var("MIGRATE_TEST_POSTGRES_URL") {
        Ok(url) => (None, url),
        Err(_) => {
            let server = ThrowawayServer::start().expect("a PostgreSQL server");
            let url = server.url();
            (Some(server), url)
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(run(&base, count, rounds));
}

async fn run(base: &str, count: usize, rounds: usize) {
    let graph = support::chain(count, migrate_runtime::Dialect::Postgres);
    let admin = connect(base).await;
    let (mut floor, mut ours) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for name in [format!("floor{round}"), format!("ours{round}")] {
            admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).await.expect("drop");
            admin.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create");
        }
        let (a, b) = (url_for(base, &format!("floor{round}")), url_for(base, &format!("ours{round}")));
        // Alternate the order so neither side always runs second.
        if round % 2 == 0 {
            floor.push(run_floor(&graph, &a).await);
            ours.push(run_ours(&graph, &b).await);
        } else {
            ours.push(run_ours(&graph, &b).await);
            floor.push(run_floor(&graph, &a).await);
        }
    }
    report(&format!("apply {count} revisions"), &floor, &ours);
    let db = url_for(base, "ours0");
    let mut bare = Vec::new();
    let mut noop = Vec::new();
    for _ in 0..100 {
        bare.push(bare_connect(&db).await);
        noop.push(noop_startup(&graph, &db).await);
    }
    report("no-op start-up at head vs connect-and-select", &bare, &noop);
}

async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

fn url_for(base: &str, name: &str) -> String {
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..].find('/').map_or(base.len(), |i| authority + i);
    format!("{}/{name}", &base[..path])
}

/// The same SQL and one history row per revision, one batch each.
async fn run_floor(graph: &Graph, url: &str) -> Duration {
    let client = connect(url).await;
    let started = Instant::now();
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS floor_history (package TEXT NOT NULL, revision TEXT NOT NULL, checksum TEXT NOT NULL, PRIMARY KEY (package, revision))")
        .await
        .expect("history table");
    for revision in graph.revisions() {
        let section = &revision.upgrade[0];
        let batch = format!(
            "BEGIN;\n{}\nINSERT INTO floor_history VALUES ('bench', '{}', '{}');\nCOMMIT;",
            // Ids and checksums are hexadecimal: nothing to escape.
            section.sql().expect("readable"),
            revision.id,
            section.checksum
        );
        client.batch_execute(&batch).await.expect("revision");
    }
    started.elapsed()
}

async fn run_ours(graph: &Graph, url: &str) -> Duration {
    let client = connect(url).await;
    let options = Options::new("bench");
    let started = Instant::now();
    let steps =
        PostgresMigrator::new(&client, graph, &options).upgrade("head", &mut |_| {}).await.expect("upgrade");
    assert_eq!(steps.len(), graph.len());
    started.elapsed()
}

async fn bare_connect(url: &str) -> Duration {
    let started = Instant::now();
    let client = connect(url).await;
    let row = client.query_one("SELECT 1", &[]).await.expect("select");
    assert_eq!(row.get::<_, i32>(0), 1);
    started.elapsed()
}

async fn noop_startup(graph: &Graph, url: &str) -> Duration {
    let started = Instant::now();
    let client = connect(url).await;
    let options = Options::new("bench");
    let steps =
        PostgresMigrator::new(&client, graph, &options).upgrade("head", &mut |_| {}).await.expect("upgrade");
    assert!(steps.is_empty());
    started.elapsed()
}
