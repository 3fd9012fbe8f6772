//! Schema revisions for Rust projects: the library behind `cargo migrate`,
//! `embed_migrations!` and applications that migrate at start-up.
//!
//! The driver-free modules (parsing, the graph, targets, scaffolding) build
//! with `default-features = false`; the SQLite engine sits behind the
//! `sqlite` feature.

pub mod apply;
pub mod autogen;
pub mod build;
pub mod checksum;
pub mod codegen;
pub mod config;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod database;
pub mod embedded;
pub mod error;
pub mod graph;
pub mod history;
#[cfg(feature = "postgres")]
pub mod introspect_postgres;
#[cfg(feature = "sqlite")]
pub mod introspect_sqlite;
pub mod lint;
pub mod load;
pub mod location;
pub mod parse;
#[cfg(feature = "postgres")]
pub mod pg_server;
pub mod plan;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod revision;
pub mod scaffold;
pub mod schema;
pub mod script;
pub mod split;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod target;
pub mod testing;
pub mod url;
pub mod workspace;

pub use embedded::Migrations;
pub use error::{ApplyError, ChainError, ChainErrors, TargetError};
pub use graph::Graph;
pub use location::Location;
pub use revision::{Dialect, Revision};
