//! The projects under `fixtures/`: every `broken/<kind>` gives exactly its
//! `expected.txt`; the good projects load clean, with the shape
//! `fixtures/README.md` promises and well-formed file names; and their SQL
//! walks up and down on SQLite.
//!
//! `UPDATE_EXPECT=1` rewrites the `expected.txt` files from the library's
//! output: review the diff by eye.

use crate::{ids, revs, trim_indent};
use migrate_runtime::chain::slug;
use migrate_runtime::chain::target::resolve;
use migrate_runtime::chain::Rev;
use migrate_runtime::chain::{combine, PackageChain};
use migrate_runtime::chain::{load_graph, read_folder};
use migrate_runtime::Graph;
use std::fs;
use std::path::{Path, PathBuf};

/// Every folder of `fixtures/broken`, so removing one fails a test.
const BROKEN: [&str; 17] = [
    "bad_created",
    "cycle",
    "duplicate_id",
    "duplicate_section",
    "id_mismatch",
    "invalid_id",
    "malformed_header",
    "missing_upgrade",
    "not_a_revision_file",
    "self_reference",
    "several_heads",
    "sql_before_section",
    "unknown_dependency",
    "unknown_dialect",
    "unknown_header_key",
    "unknown_package",
    "unknown_parent",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// What the library says about a package folder: its chain errors, else its
/// cross-package errors, else why `head` does not resolve.
fn diagnose(package: &Path) -> String {
    let graph = match load_graph(package, "migrations".as_ref()) {
        Ok(graph) => graph,
        Err(errors) => return format!("{errors}\n"),
    };
    let name = package_name(package);
    if let Err(errors) = combine(&[PackageChain { package: &name, dir: Path::new("."), graph: &graph }]) {
        return format!("{errors}\n");
    }
    match resolve(&graph, "head", &[]) {
        Ok(_) => "no error\n".to_string(),
        Err(error) => format!("{error}\n"),
    }
}

fn package_name(package: &Path) -> String {
    let manifest = fs::read_to_string(package.join("Cargo.toml")).unwrap();
    let name = manifest.lines().find_map(|line| line.strip_prefix("name = \"")?.strip_suffix('"'));
    name.unwrap_or_else(|| panic!("no package name in {}", package.display())).to_string()
}

#[test]
fn every_broken_fixture_gives_its_expected_errors() {
    let broken = fixtures().join("broken");
    let mut kinds: Vec<String> = fs::read_dir(&broken)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kinds.sort();
    assert_eq!(kinds, BROKEN);
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = String::new();
    for kind in BROKEN {
        let actual = diagnose(&broken.join(kind));
        assert_eq!(actual.lines().count(), 1, "broken/{kind} should have exactly one problem:\n{actual}");
        let path = broken.join(kind).join("expected.txt");
        if update {
            fs::write(&path, &actual).unwrap();
        }
        let expected = fs::read_to_string(&path).unwrap_or_default();
        if actual != expected {
            failures += &format!("\nbroken/{kind}\n  expected: {expected}  actual:   {actual}");
        }
    }
    assert!(failures.is_empty(), "{failures}\n(UPDATE_EXPECT=1 rewrites expected.txt; review the diff)");
}

fn load(package: &str) -> Graph {
    load_graph(&fixtures().join(package), "migrations".as_ref()).unwrap_or_else(|e| panic!("{package}:\n{e}"))
}

/// Order, heads and branch points of a graph.
fn check_shape(graph: &Graph, expected: &str) {
    let all: Vec<Rev> = graph.revs().collect();
    let actual = format!(
        "order: {}\nheads: {}\nbranch points: {}\n",
        ids(graph, &all),
        ids(graph, &graph.heads()),
        ids(graph, &graph.branch_points())
    );
    assert_eq!(actual, trim_indent(expected));
}

#[test]
fn demo_loads_clean() {
    let graph = load("demo");
    check_shape(&graph, "order: cf0f5b45967a 20f04b9598da\nheads: 20f04b9598da\nbranch points: \n");
    assert_eq!(graph.revision(revs(&graph, "20f04b9598da")[0]).message, "update to flask-diamond 0.2.0");
    assert_eq!(ids(&graph, &resolve(&graph, "head-1", &[]).unwrap()), "cf0f5b45967a");
}

#[test]
fn branched_loads_clean() {
    let graph = load("branched");
    check_shape(
        &graph,
        "
        order: a904daedca23 0e44a632c354 5c1ae7dbdef5 4c491eae91c5 698149cafb6b 461bceb9192d
        heads: 461bceb9192d
        branch points: 0e44a632c354
        ",
    );
    let merge = graph.find("461bceb9192d").unwrap();
    // Parents are listed in apply order.
    assert_eq!(ids(&graph, graph.parents(merge)), "4c491eae91c5 698149cafb6b");
    assert_eq!(ids(&graph, &graph.labelled("feature")), "5c1ae7dbdef5");
    let point = revs(&graph, "0e44a632c354");
    assert_eq!(ids(&graph, &resolve(&graph, "feature@+1", &point).unwrap()), "5c1ae7dbdef5");
    assert_eq!(ids(&graph, &resolve(&graph, "feature@head", &[]).unwrap()), "461bceb9192d");
    assert!(resolve(&graph, "+1", &point).is_err());
}

#[test]
fn workspace_loads_clean_and_combines() {
    let accounts = load("workspace/accounts");
    let billing = load("workspace/billing");
    let chains = [
        PackageChain { package: "accounts", dir: Path::new("accounts"), graph: &accounts },
        PackageChain { package: "billing", dir: Path::new("billing"), graph: &billing },
    ];
    let combined = combine(&chains).unwrap_or_else(|e| panic!("{e}"));
    check_shape(
        &combined,
        "
        order: accounts:72bb946d57f2 billing:e76c27bc0083 accounts:eb4c1a7dec1c billing:41112f6946ae
        heads: accounts:eb4c1a7dec1c billing:41112f6946ae
        branch points: 
        ",
    );
}

#[test]
fn good_fixture_files_are_named_after_their_id_and_message() {
    for package in ["demo", "branched", "workspace/accounts", "workspace/billing"] {
        let root = fixtures().join(package);
        let graph = load(package);
        let files = read_folder(&root, "migrations".as_ref()).unwrap();
        assert_eq!(files.len(), graph.len(), "{package}");
        for revision in graph.revisions() {
            let id = &revision.id;
            assert!(
                id.len() == 12 && id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
                "{package}: {id}"
            );
            let name = format!("migrations/{id}_{}.sql", slug(&revision.message));
            assert_eq!(revision.location.path.to_string_lossy(), name, "{package}");
            assert!(revision.created.is_some() && revision.downgrade.is_some(), "{package}: {id}");
        }
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    //! The good fixtures' SQL on an in-memory SQLite database: a snake walk
    //! (up, down, up again per revision) whose downgrades restore the schema
    //! exactly, down to an empty database.

    use super::{fixtures, load};
    use migrate_runtime::chain::Rev;
    use migrate_runtime::chain::{combine, PackageChain};
    use migrate_runtime::{Dialect, Graph};
    use rusqlite::Connection;

    /// Tables with their columns, and indexes, one line each.
    fn schema(db: &Connection) -> String {
        let sql = "SELECT m.type, m.name, p.name, p.type, p.\"notnull\", p.pk \
                   FROM sqlite_master m LEFT JOIN pragma_table_info(m.name) p ON m.type = 'table' \
                   ORDER BY m.name, p.cid";
        let mut statement = db.prepare(sql).unwrap();
        let rows = statement.query_map([], |row| {
            let column: Option<String> = row.get(2)?;
            let detail = match column {
                Some(column) => {
                    format!(
                        "{column} {} notnull={} pk={}",
                        row.get::<_, String>(3)?,
                        row.get::<_, i64>(4)?,
                        row.get::<_, i64>(5)?
                    )
                }
                None => String::new(),
            };
            Ok(format!("{} {} {detail}\n", row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        });
        rows.unwrap().map(Result::unwrap).collect()
    }

    fn run(db: &Connection, graph: &Graph, rev: Rev, direction: &str) {
        let revision = graph.revision(rev);
        let section = match direction {
            "up" => revision.upgrade_for(Dialect::Sqlite),
            _ => revision.downgrade_for(Dialect::Sqlite),
        };
        let sql = section.unwrap_or_else(|| panic!("{}: no {direction} SQL", revision.location));
        db.execute_batch(&sql.sql().expect("readable"))
            .unwrap_or_else(|e| panic!("{} {direction}: {e}", revision.location));
    }

    /// Walks `graph` in apply order and back; returns the schema at head.
    fn walk(graph: &Graph) -> String {
        let db = Connection::open_in_memory().unwrap();
        for rev in graph.revs() {
            let before = schema(&db);
            run(&db, graph, rev, "up");
            let after = schema(&db);
            run(&db, graph, rev, "down");
            assert_eq!(
                schema(&db),
                before,
                "{}: the downgrade does not restore the schema",
                graph.revision(rev).id
            );
            run(&db, graph, rev, "up");
            assert_eq!(schema(&db), after, "{}: upgrading again differs", graph.revision(rev).id);
        }
        let head = schema(&db);
        for rev in graph.revs().rev() {
            run(&db, graph, rev, "down");
        }
        assert_eq!(schema(&db), "", "downgrading to base leaves objects behind");
        head
    }

    #[test]
    fn demo_walks_and_matches_its_schema_file() {
        let head = walk(&load("demo"));
        let desired = Connection::open_in_memory().unwrap();
        desired.execute_batch(&std::fs::read_to_string(fixtures().join("demo/schema.sql")).unwrap()).unwrap();
        assert_eq!(head, schema(&desired));
        assert!(head.contains("table user login_count INTEGER notnull=0 pk=0"), "{head}");
    }

    #[test]
    fn branched_walks() {
        walk(&load("branched"));
    }

    #[test]
    fn workspace_walks_in_combined_order() {
        let (accounts, billing) = (load("workspace/accounts"), load("workspace/billing"));
        let chains = [
            PackageChain { package: "accounts", dir: std::path::Path::new("accounts"), graph: &accounts },
            PackageChain { package: "billing", dir: std::path::Path::new("billing"), graph: &billing },
        ];
        walk(&combine(&chains).unwrap());
    }
}
