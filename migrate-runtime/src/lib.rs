//! Schema revisions for Rust projects: the library behind `cargo migrate`,
//! `embed_migrations!` and applications that migrate at start-up.
//!
//! The layers, each a folder, from the bottom up (ARCHITECTURE.md draws
//! them):
//!
//! - [`model`]: a revision, its location and checksum, the errors;
//! - [`chain`]: revision files parsed and loaded, the graph, targets,
//!   workspaces, configuration, scaffolding;
//! - [`sql`]: the statement splitter and the lint;
//! - [`apply`]: what every engine shares: options, the planner, the
//!   history-table protocol, offline scripts;
//! - [`data`]: what a Rust revision's functions receive (the handle over
//!   both drivers) and how engines run them;
//! - [`schema`]: the schema model, its diff and autogenerate;
//! - [`embed`]: chains compiled into the application (the macro's code
//!   generator and the build-script API);
//! - [`runner`]: the package's runner binary, which runs an embedded chain
//!   with Rust revisions for `cargo migrate` (its protocol is driver-free);
//! - the drivers, behind features: [`sqlite`] (`sqlite`), [`postgres`]
//!   (`postgres`), and [`database`], one blocking handle over both;
//! - `testing` (feature `testing`): the walk-versions harness, template and
//!   scratch databases, the throw-away PostgreSQL server.
//!
//! Everything up to [`embed`] is driver-free and builds with
//! `default-features = false` (what `migrate-macros` and build scripts use).
//! The items most applications need are re-exported here.

pub mod apply;
pub mod chain;
pub mod data;
pub mod database;
pub mod embed;
pub mod model;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod runner;
pub mod schema;
pub mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

pub use apply::{Direction, Options, Step};
pub use chain::{load_graph, Graph};
pub use database::DatabaseUrl;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use database::{connect, Database};
pub use embed::Migrations;
pub use model::{
    ApplyError, ChainError, ChainErrors, DatabaseError, Dialect, Location, Revision, TargetError,
};
#[cfg(feature = "postgres")]
pub use postgres::PostgresMigrator;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteMigrator;

/// The SQLite driver this crate is built with: use it through this path
/// (`migrate_runtime::rusqlite::Connection`) so the connection an
/// application opens is the type [`SqliteMigrator`] takes, whatever
/// `rusqlite` version the application's other dependencies pull in.
#[cfg(feature = "sqlite")]
pub use rusqlite;
/// The PostgreSQL driver this crate is built with (see [`rusqlite`]).
#[cfg(feature = "postgres")]
pub use tokio_postgres;
