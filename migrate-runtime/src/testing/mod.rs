//! The walk-versions harness and the other checks a test suite runs on a
//! chain: the Rust answer to oslo.db's `WalkVersionsMixin` and
//! pytest-alembic's built-in tests.
//!
//! ```
//! # let text = "-- revision: a1b2c3d4e5f6\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n-- migrate:downgrade\nDROP TABLE t;\n";
//! # let revision = migrate_runtime::chain::parse_revision("migrations/a1b2c3d4e5f6_.sql".as_ref(), text).unwrap();
//! # let graph = migrate_runtime::Graph::build(vec![revision]).unwrap();
//! use migrate_runtime::testing::WalkVersions;
//! let report = WalkVersions::new(&graph)
//!     .before_upgrade("a1b2", |db| db.execute("SELECT 1"))
//!     .after_upgrade("a1b2", |db| db.execute("INSERT INTO t VALUES (1)"))
//!     .run_sqlite()?;
//! assert_eq!((report.revisions, report.upgraded, report.downgraded), (1, 2, 2));
//! # Ok::<(), migrate_runtime::testing::WalkError>(())
//! ```

mod database;
mod fingerprints;
// Scratch databases are in-memory SQLite or temporary PostgreSQL ones.
mod report;
#[cfg(all(feature = "sqlite", feature = "postgres"))]
mod scratch;
#[cfg(feature = "postgres")]
mod server;
mod snapshots;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod template;
mod walk;

#[cfg(feature = "postgres")]
pub use crate::database::PostgresConnection;
#[cfg(feature = "postgres")]
pub use database::database_url;
pub use database::TestDatabase;
pub use fingerprints::Fingerprints;
#[cfg(all(feature = "sqlite", feature = "postgres"))]
pub use scratch::{product, PostgresScratch, Scratch, ScratchDatabase, ScratchError};
#[cfg(feature = "postgres")]
pub use server::{
    postgres_bin_dir, test_server, ServerBuilder, ServerError, ThrowawayServer, BIN_DIR_VAR, TEST_URL_VAR,
};
#[cfg(feature = "sqlite")]
pub use template::SqliteTemplate;
#[cfg(feature = "postgres")]
pub use template::{PostgresTemplate, TemplateError};
pub use walk::{Comparison, Hook, HookError, Stage, WalkError, WalkReport, WalkVersions};

use crate::apply::script::{downgrade_step, upgrade_step};
use crate::apply::Options;
use crate::chain::graph::Graph;
use crate::model::error::{ApplyError, ChainErrors, DatabaseError, TargetError};
use crate::model::revision::Dialect;

/// pytest-alembic's `test_single_head_revision`.
pub fn check_single_head(graph: &Graph) -> Result<(), TargetError> {
    crate::chain::target::resolve(graph, "head", &[]).map(drop)
}

/// pytest-alembic's `test_upgrade`: every revision applies, from empty.
pub fn check_upgrade(graph: &Graph, db: &mut dyn TestDatabase) -> Result<(), WalkError> {
    WalkVersions::new(graph).without_snake().without_downgrade().run(db).map(drop)
}

/// Every revision has a downgrade for `dialect`, except those listed as
/// irreversible on purpose. Returns the revisions that lack one.
pub fn check_downgrades_exist(
    graph: &Graph,
    dialect: Dialect,
    irreversible: &[&str],
) -> Result<(), Vec<String>> {
    let missing: Vec<String> = graph
        .revisions()
        .iter()
        .filter(|r| r.downgrade_for(dialect).is_none() && !irreversible.iter().any(|id| r.id.starts_with(id)))
        .map(|r| format!("{}: revision `{}` has no downgrade section", r.location, r.id))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing)
    }
}

/// Offline SQL can be generated for every step, up and down.
pub fn check_offline_sql(graph: &Graph, dialect: Dialect, options: &Options) -> Result<(), ApplyError> {
    for revision in graph.revisions() {
        upgrade_step(revision, dialect, options)?;
        if revision.downgrade_for(dialect).is_some() {
            downgrade_step(revision, dialect, options)?;
        }
    }
    Ok(())
}

/// Why [`walk_sqlite_folder`] or [`walk_postgres_folder`] failed: each
/// prints as the error it wraps.
#[derive(Debug, thiserror::Error)]
pub enum WalkFolderError {
    #[error(transparent)]
    Load(#[from] ChainErrors),
    #[cfg(feature = "postgres")]
    #[error(transparent)]
    Server(#[from] server::ServerError),
    #[cfg(feature = "postgres")]
    #[error(transparent)]
    Connect(#[from] crate::database::ConnectError),
    #[error(transparent)]
    Database(#[from] DatabaseError),
    #[error(transparent)]
    Walk(#[from] WalkError),
}

/// Loads the chain in `folder` (relative paths in messages) and walks it on
/// in-memory SQLite: what [`walk_versions_test!`](crate::walk_versions_test)
/// runs.
#[cfg(feature = "sqlite")]
pub fn walk_sqlite_folder(
    package_root: &std::path::Path,
    folder: &str,
) -> Result<WalkReport, WalkFolderError> {
    let graph = crate::chain::load::load_graph(package_root, folder.as_ref())?;
    Ok(WalkVersions::new(&graph).run_sqlite()?)
}

/// Walks the chain on a fresh database of the test PostgreSQL server
/// ([`crate::testing::server::test_server`]), comparing schema `public`;
/// `Ok(None)` when no server can be had and `CI` is not set. Without the
/// `postgres` feature, always `Ok(None)`.
pub fn walk_postgres_folder(
    package_root: &std::path::Path,
    folder: &str,
) -> Result<Option<WalkReport>, WalkFolderError> {
    walk_postgres_folder_in(package_root, folder, &["public"])
}

/// [`walk_postgres_folder`] comparing `schemas`, the package's
/// `schemas` setting (the first the one its revisions create unqualified
/// objects in): what `walk_versions_test!(dialect = "postgres", schemas
/// = [...])` runs.
pub fn walk_postgres_folder_in(
    package_root: &std::path::Path,
    folder: &str,
    schemas: &[&str],
) -> Result<Option<WalkReport>, WalkFolderError> {
    #[cfg(feature = "postgres")]
    {
        let graph = crate::chain::load::load_graph(package_root, folder.as_ref())?;
        let schemas: Vec<String> = schemas.iter().map(|s| s.to_string()).collect();
        walk_postgres_graph(&graph, &schemas)
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = (package_root, folder, schemas);
        Ok(None)
    }
}

/// Walks an embedded chain on in-memory SQLite, its Rust revisions
/// included: what `walk_versions_test!(embedded = CHAIN)` runs.
#[cfg(feature = "sqlite")]
pub fn walk_sqlite_embedded(chain: &crate::embed::Migrations) -> Result<WalkReport, WalkFolderError> {
    Ok(WalkVersions::new(&chain.graph()?).run_sqlite()?)
}

/// Walks an embedded chain as [`walk_postgres_folder`] walks a folder.
pub fn walk_postgres_embedded(
    chain: &crate::embed::Migrations,
) -> Result<Option<WalkReport>, WalkFolderError> {
    #[cfg(feature = "postgres")]
    {
        walk_postgres_graph(&chain.graph()?, &["public".to_string()])
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = chain;
        Ok(None)
    }
}

/// Walks `graph` on a fresh database of the test PostgreSQL server,
/// comparing `schemas`.
#[cfg(feature = "postgres")]
fn walk_postgres_graph(graph: &Graph, schemas: &[String]) -> Result<Option<WalkReport>, WalkFolderError> {
    let Some(server) = crate::testing::server::test_server()? else {
        return Ok(None);
    };
    let name = format!("walk_{}_{}", std::process::id(), template::chain_fingerprint(graph, "walk"));
    let mut admin = PostgresConnection::connect(&server)?;
    admin.execute(&format!("DROP DATABASE IF EXISTS {name}"))?;
    admin.execute(&format!("CREATE DATABASE {name}"))?;
    let mut db = PostgresConnection::connect(&database_url(&server, &name))?.with_schemas(schemas);
    let report = WalkVersions::new(graph).run(&mut db);
    drop(db);
    let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {name}"));
    Ok(Some(report?))
}

/// `#[test]` functions that walk a package's chain on the dialect it is
/// written for: in-memory SQLite by default (the default `dialect` of
/// `[package.metadata.migrate]`), PostgreSQL with `dialect = "postgres"`,
/// both with `dialects = ["sqlite", "postgres"]`. The macro cannot read
/// `Cargo.toml` (only `cargo-migrate` knows cargo), so a PostgreSQL package
/// says so here, as it does in its manifest.
///
/// The walk goes on after a defect, so a failing test lists every
/// defective revision of the chain, each with its file, line and diff.
///
/// The PostgreSQL test uses [`test_server`](crate::testing::test_server): without PostgreSQL binaries it
/// is skipped, except under `CI`, where it fails. A SQLite-only package
/// never needs PostgreSQL, in CI or not.
///
/// ```ignore
/// // tests/migrations.rs
/// migrate_runtime::walk_versions_test!();                      // `migrations`, SQLite
/// migrate_runtime::walk_versions_test!(embedded = MIGRATIONS);  // the compiled chain, Rust revisions too
/// migrate_runtime::walk_versions_test!(dialect = "postgres");  // a PostgreSQL package
/// migrate_runtime::walk_versions_test!(dialects = ["sqlite", "postgres"]); // SQL for both
/// migrate_runtime::walk_versions_test!("db/revisions", dialect = "postgres"); // another folder
/// // A package whose `schemas = ["public", "auth"]`: both are compared.
/// migrate_runtime::walk_versions_test!(dialect = "postgres", schemas = ["public", "auth"]);
/// ```
#[macro_export]
macro_rules! walk_versions_test {
    () => {
        $crate::walk_versions_test!("migrations", dialect = "sqlite");
    };
    (dialect = $dialect:tt) => {
        $crate::walk_versions_test!("migrations", dialect = $dialect);
    };
    (dialect = "postgres", schemas = [$($schema:literal),+ $(,)?]) => {
        $crate::walk_versions_test!("migrations", dialect = "postgres", schemas = [$($schema),+]);
    };
    (dialects = [$($dialect:tt),+ $(,)?]) => {
        $crate::walk_versions_test!("migrations", dialects = [$($dialect),+]);
    };
    ($folder:literal) => {
        $crate::walk_versions_test!($folder, dialect = "sqlite");
    };
    ($folder:literal, dialects = [$($dialect:tt),+ $(,)?]) => {
        $($crate::walk_versions_test!($folder, dialect = $dialect);)+
    };
    (embedded = $chain:path) => {
        $crate::walk_versions_test!(embedded = $chain, dialect = "sqlite");
    };
    (embedded = $chain:path, dialect = "sqlite") => {
        #[test]
        fn walk_versions_sqlite() {
            if let Err(error) = $crate::testing::walk_sqlite_embedded(&$chain) {
                panic!("walk-versions on SQLite failed:\n{error}");
            }
        }
    };
    (embedded = $chain:path, dialect = "postgres") => {
        #[test]
        fn walk_versions_postgres() {
            match $crate::testing::walk_postgres_embedded(&$chain) {
                Ok(Some(_)) => {}
                Ok(None) => eprintln!("walk-versions on PostgreSQL skipped: no server here (CI would fail)"),
                Err(error) => panic!("walk-versions on PostgreSQL failed:\n{error}"),
            }
        }
    };
    ($folder:literal, dialect = "sqlite") => {
        #[test]
        fn walk_versions_sqlite() {
            let root = ::std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            if let Err(error) = $crate::testing::walk_sqlite_folder(root, $folder) {
                panic!("walk-versions on SQLite failed:\n{error}");
            }
        }
    };
    ($folder:literal, dialect = "postgres") => {
        $crate::walk_versions_test!($folder, dialect = "postgres", schemas = ["public"]);
    };
    ($folder:literal, dialect = "postgres", schemas = [$($schema:literal),+ $(,)?]) => {
        #[test]
        fn walk_versions_postgres() {
            let root = ::std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            match $crate::testing::walk_postgres_folder_in(root, $folder, &[$($schema),+]) {
                Ok(Some(_)) => {}
                Ok(None) => eprintln!("walk-versions on PostgreSQL skipped: no server here (CI would fail)"),
                Err(error) => panic!("walk-versions on PostgreSQL failed:\n{error}"),
            }
        }
    };
    ($($other:tt)*) => {
        ::core::compile_error!(
            "walk_versions_test!: expected `()`, `(\"folder\")`, then optionally `dialect = \"sqlite\"`, \
             `dialect = \"postgres\"` (with `schemas = [\"public\", …]`) or `dialects = [\"sqlite\", \"postgres\"]`"
        );
    };
}
