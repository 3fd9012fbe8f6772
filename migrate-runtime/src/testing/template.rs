//! Test databases already at head, copied from a template migrated once.

#[cfg(feature = "postgres")]
use super::database::{database_url, TestDatabase};
#[cfg(feature = "postgres")]
use crate::database::{ConnectError, PostgresConnection};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::model::error::ApplyError;
#[cfg(feature = "postgres")]
use crate::model::error::DatabaseError;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::{apply::Options, chain::graph::Graph};

/// Test databases already at head, copied from a template migrated once:
/// a test suite then pays for the chain once, not once per test.
///
/// ```
/// # let text = "-- revision: a1b2c3d4e5f6\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n";
/// # let revision = migrate_runtime::chain::parse_revision("migrations/a1b2c3d4e5f6_.sql".as_ref(), text).unwrap();
/// # let graph = migrate_runtime::Graph::build(vec![revision]).unwrap();
/// use migrate_runtime::{apply::Options, testing::SqliteTemplate};
/// let template = SqliteTemplate::new(&graph, &Options::new("app"))?;
/// let conn = template.database()?; // a fresh in-memory copy at head
/// conn.execute("INSERT INTO t VALUES (1)", [])?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "sqlite")]
pub struct SqliteTemplate {
    template: rusqlite::Connection,
}

#[cfg(feature = "sqlite")]
impl SqliteTemplate {
    /// Migrates an in-memory database to head.
    pub fn new(graph: &Graph, options: &Options) -> Result<SqliteTemplate, ApplyError> {
        let template = rusqlite::Connection::open_in_memory().map_err(|e| ApplyError::Database(e.into()))?;
        crate::sqlite::SqliteMigrator::new(&template, graph, options).upgrade("heads", &mut |_| {})?;
        Ok(SqliteTemplate { template })
    }

    /// A new in-memory database with the template's schema, data and
    /// history, copied with SQLite's backup API.
    pub fn database(&self) -> rusqlite::Result<rusqlite::Connection> {
        let mut copy = rusqlite::Connection::open_in_memory()?;
        // One step of every page: an in-memory source is never busy.
        rusqlite::backup::Backup::new(&self.template, &mut copy)?.step(-1)?;
        Ok(copy)
    }
}

/// PostgreSQL databases at head, made with `CREATE DATABASE … TEMPLATE`
/// from a template migrated once.
///
/// The template's name is derived from the chain's checksums, so later runs
/// against the same server reuse it; it is built under a temporary name and
/// renamed when complete, so an interrupted run never leaves a half-migrated
/// template behind.
#[cfg(feature = "postgres")]
pub struct PostgresTemplate {
    server: String,
    template: String,
}

/// Why a [`PostgresTemplate`], or a database from it, could not be made:
/// each prints as the error it wraps.
#[cfg(feature = "postgres")]
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Database(#[from] DatabaseError),
    #[error(transparent)]
    Migrate(#[from] ApplyError),
}

#[cfg(feature = "postgres")]
impl PostgresTemplate {
    /// Finds or builds the template on the server of `server_url` (whose
    /// own database is used only to run `CREATE DATABASE`).
    pub fn new(
        server_url: &str,
        graph: &Graph,
        options: &Options,
    ) -> Result<PostgresTemplate, TemplateError> {
        let template = format!("migrate_template_{}", chain_fingerprint(graph, &options.package));
        let mut admin = PostgresConnection::connect(server_url)?;
        let exists = admin.query(&format!("SELECT 1 FROM pg_database WHERE datname = '{template}'"))?;
        if exists.is_empty() {
            let building = format!("{template}_{}", std::process::id());
            admin.execute(&format!("DROP DATABASE IF EXISTS {building}"))?;
            admin.execute(&format!("CREATE DATABASE {building}"))?;
            let db = PostgresConnection::connect(&database_url(server_url, &building))?;
            let migrated = db.block_on(
                crate::postgres::PostgresMigrator::new(db.client(), graph, options)
                    .upgrade("heads", &mut |_| {}),
            );
            drop(db);
            migrated?;
            // Another process may have finished the same template first.
            if admin.execute(&format!("ALTER DATABASE {building} RENAME TO {template}")).is_err() {
                admin.execute(&format!("DROP DATABASE {building}"))?;
            }
        }
        Ok(PostgresTemplate { server: server_url.to_string(), template })
    }

    /// Creates database `name` from the template and returns its URL.
    pub fn database(&self, name: &str) -> Result<String, TemplateError> {
        let mut admin = PostgresConnection::connect(&self.server)?;
        let name = crate::apply::history::quote_ident(name);
        admin.execute(&format!("CREATE DATABASE {name} TEMPLATE {}", self.template))?;
        Ok(database_url(&self.server, name.trim_matches('"')))
    }
}

/// The first 16 hex digits of a hash over the package and every revision's
/// id and upgrade checksums: a new or edited revision gives a new template.
#[cfg(feature = "postgres")]
pub(super) fn chain_fingerprint(graph: &Graph, package: &str) -> String {
    let mut text = package.to_string();
    for revision in graph.revisions() {
        text += &revision.id;
        revision.upgrade.iter().for_each(|section| text += &section.checksum);
    }
    crate::model::checksum::sql_checksum(&text)[..16].to_string()
}
