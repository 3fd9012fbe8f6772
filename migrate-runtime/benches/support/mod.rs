//! What the benchmarks share: the chain they apply and the
//! medians-and-ratio report.

use migrate_runtime::chain::parse_revision;
use migrate_runtime::{Dialect, Graph};
use std::time::Duration;

/// A linear chain of `count` revisions, each creating a table and an index
/// (types spelled for `dialect`), with a downgrade dropping the table.
#[allow(dead_code)] // each bench uses what it needs
pub fn chain(count: usize, dialect: Dialect) -> Graph {
    let (id_type, time_type) = match dialect {
        Dialect::Sqlite => ("INTEGER", "TEXT"),
        Dialect::Postgres => ("BIGINT", "TIMESTAMPTZ"),
    };
    let revisions = (0..count)
        .map(|i| {
            let id = format!("{i:012x}");
            let parent = if i == 0 { String::new() } else { format!("{:012x}", i - 1) };
            let text = format!(
                "-- revision: {id}\n-- revises: {parent}\n-- message: table {i}\n\n-- migrate:upgrade\nCREATE TABLE t{i} (id {id_type} PRIMARY KEY, name TEXT NOT NULL, created_at {time_type});\nCREATE INDEX t{i}_name ON t{i} (name);\n\n-- migrate:downgrade\nDROP TABLE t{i};\n"
            );
            parse_revision(format!("migrations/{id}_table.sql").as_ref(), &text).expect("valid revision")
        })
        .collect();
    Graph::build(revisions).expect("valid chain")
}

#[allow(dead_code)]
/// Prints the medians of a baseline and a measurement and their ratio.
pub fn report(what: &str, baseline: &[Duration], measured: &[Duration]) {
    let median = |d: &[Duration]| {
        let mut d = d.to_vec();
        d.sort();
        d[d.len() / 2]
    };
    let (b, m) = (median(baseline), median(measured));
    println!(
        "{what}: baseline {:.2} ms, cargo-migrate {:.2} ms, ratio {:.3}x (medians of {} rounds)",
        b.as_secs_f64() * 1e3,
        m.as_secs_f64() * 1e3,
        m.as_secs_f64() / b.as_secs_f64(),
        baseline.len()
    );
}
