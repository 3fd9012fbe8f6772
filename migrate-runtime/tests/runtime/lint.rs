//! The lint on real chains: the fixtures' working chains and a generated
//! 200-revision chain written the safe way raise no finding (no false
//! positives), on the dialect each is for; the unsafe way of writing the
//! same generated chain trips each rule it should, once per revision.

use migrate_runtime::chain::load_graph;
use migrate_runtime::sql::lint::{self, Settings};
use migrate_runtime::Dialect;
use std::path::Path;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures"))
}

/// `(package root, dialect)` of every fixture chain meant to work.
fn working_chains() -> Vec<(std::path::PathBuf, Dialect)> {
    let mut chains = Vec::new();
    for name in [
        "app",
        "branched",
        "demo",
        "embed",
        "two_bases",
        "workspace/accounts",
        "walk/postgres_only",
        "walk/sqlite_only",
    ] {
        let root = fixtures().join(name);
        let dialect = if name.contains("postgres") { Dialect::Postgres } else { Dialect::Sqlite };
        chains.push((root, dialect));
    }
    chains
}

#[test]
fn the_fixtures_working_chains_raise_nothing() {
    for (root, dialect) in working_chains() {
        let graph =
            load_graph(&root, "migrations".as_ref()).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
        let found = lint::check(graph.revisions(), &Settings::for_dialect(dialect));
        let found = match found {
            Ok(findings) | Err(findings) => findings,
        };
        // `bigserial` in the PostgreSQL walk fixture is a true M301
        // (identity is preferred), a warning; nothing else may be found.
        let unexpected: Vec<String> =
            found.0.iter().filter(|f| f.rule.code != "M301").map(|f| f.to_string()).collect();
        assert!(unexpected.is_empty(), "{} ({dialect}): {unexpected:#?}", root.display());
        assert!(!found.has_errors());
    }
}

/// A chain of `n` revisions: the first creates table `t0`, each next one
/// creates `t{i}` and changes `t{i-1}`, written `safe`ly or not.
fn generated(n: usize, dialect: Dialect, safe: bool) -> Vec<migrate_runtime::Revision> {
    let id = |i: usize| format!("{i:012x}");
    (0..n)
        .map(|i| {
            let parent = if i == 0 { String::new() } else { id(i - 1) };
            let key = if dialect == Dialect::Postgres { "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY" } else { "INTEGER PRIMARY KEY" };
            let mut sql = format!("CREATE TABLE t{i} (id {key}, name text, parent bigint);\nCREATE INDEX t{i}_name ON t{i} (name);\n");
            if i > 0 {
                let p = i - 1;
                sql += &match (dialect, safe) {
                    (Dialect::Postgres, true) => format!(
                        "ALTER TABLE t{p} ADD COLUMN note text;\nALTER TABLE t{p} ADD CONSTRAINT t{p}_parent FOREIGN KEY (parent) REFERENCES t{i} (id) NOT VALID;\nALTER TABLE t{p} ADD COLUMN seen timestamptz DEFAULT now();\n"
                    ),
                    (Dialect::Postgres, false) => format!(
                        "ALTER TABLE t{p} ADD COLUMN note text NOT NULL;\nALTER TABLE t{p} ADD CONSTRAINT t{p}_parent FOREIGN KEY (parent) REFERENCES t{i} (id);\nALTER TABLE t{p} ADD COLUMN seen timestamptz DEFAULT clock_timestamp();\n"
                    ),
                    (Dialect::Sqlite, true) => format!("ALTER TABLE t{p} ADD COLUMN note text NOT NULL DEFAULT '';\n"),
                    (Dialect::Sqlite, false) => format!("ALTER TABLE t{p} ADD COLUMN note text NOT NULL;\n"),
                };
            }
            let text = format!(
                "-- revision: {}\n-- revises: {parent}\n-- message: step {i}\n\n-- migrate:upgrade\n{sql}\n-- migrate:downgrade\nDROP TABLE t{i};\n",
                id(i)
            );
            migrate_runtime::chain::parse_revision(format!("migrations/{}_.sql", id(i)).as_ref(), &text).expect("parses")
        })
        .collect()
}

fn codes(revisions: &[migrate_runtime::Revision], dialect: Dialect) -> Vec<&'static str> {
    match lint::check(revisions, &Settings::for_dialect(dialect)) {
        Ok(findings) | Err(findings) => findings.0.iter().map(|f| f.rule.code).collect(),
    }
}

#[test]
fn a_generated_200_revision_chain_written_safely_raises_nothing() {
    for dialect in [Dialect::Postgres, Dialect::Sqlite] {
        assert_eq!(codes(&generated(200, dialect, true), dialect), Vec::<&str>::new(), "{dialect}");
    }
}

#[test]
fn the_same_chain_written_unsafely_trips_each_rule_once_per_revision() {
    let found = codes(&generated(200, Dialect::Postgres, false), Dialect::Postgres);
    for code in ["M102", "M105", "M103"] {
        assert_eq!(found.iter().filter(|c| **c == code).count(), 199, "{code} in {found:?}");
    }
    assert_eq!(found.len(), 3 * 199, "nothing else: the indexes are on tables created in the same revision");
    let found = codes(&generated(200, Dialect::Sqlite, false), Dialect::Sqlite);
    assert_eq!(found, vec!["M102"; 199]);
}
