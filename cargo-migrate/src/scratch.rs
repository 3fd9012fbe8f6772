//! Scratch databases for the commands that build schemas to compare or walk
//! (`new --autogenerate`, `check`, `diff`, `walk`): in-memory SQLite, or
//! temporary PostgreSQL databases on `--database-url`'s server or on a
//! throw-away one, dropped afterwards (also when a step fails). The head
//! schema and `schema.sql`'s schema are each built in their own database and
//! read back with the walk's introspection.

use crate::db::{self, Database};
use crate::project::Package;
use anyhow::{bail, Context as _, Result};
use migrate_runtime::introspect_sqlite::introspect;
use migrate_runtime::pg_server::ThrowawayServer;
use migrate_runtime::schema::Schema;
use migrate_runtime::split::split_statements;
use migrate_runtime::testing::{database_url, PostgresTestDatabase, SqliteTemplate, TestDatabase};
use migrate_runtime::url::{redact, DatabaseUrl};
use migrate_runtime::{Dialect, Graph};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where a command builds schemas: in memory, or on a PostgreSQL server.
pub enum Scratch {
    Sqlite,
    Postgres(PostgresScratch),
}

impl Scratch {
    /// Scratch databases of `dialect`; for PostgreSQL on the server of
    /// `database_url` when given, else on a throw-away server.
    pub fn new(dialect: Dialect, database_url: Option<&str>) -> Result<Scratch> {
        match dialect {
            Dialect::Sqlite => Ok(Scratch::Sqlite),
            Dialect::Postgres => PostgresScratch::start(database_url).map(Scratch::Postgres),
        }
    }

    /// The schema after applying the whole chain to an empty database.
    pub fn head_schema(&self, package: &Package, graph: &Graph) -> Result<Schema> {
        let context = || format!("cannot build the head schema of package `{}`", package.name);
        let options = db::options(package);
        match self {
            Scratch::Sqlite => {
                let template = SqliteTemplate::new(graph, &options).with_context(context)?;
                let conn = template.database().with_context(context)?;
                introspect(&conn, &options.history_table).with_context(context)
            }
            Scratch::Postgres(server) => {
                let scratch = server.database("head")?;
                let database = scratch.open()?;
                database.upgrade(graph, &options, "heads", &mut |_| {}).with_context(context)?;
                database.schema(&options.history_table).with_context(context)
            }
        }
    }

    /// The schema `sql` (the package's `schema.sql`) builds.
    pub fn desired_schema(&self, package: &Package, sql: &str) -> Result<Schema> {
        let file = package.config.schema.display();
        let history_table = &package.config.history_table;
        match self {
            Scratch::Sqlite => {
                let conn = rusqlite::Connection::open_in_memory()?;
                conn.execute_batch(sql).with_context(|| format!("{file} does not run on SQLite"))?;
                introspect(&conn, history_table).with_context(|| format!("cannot read the schema of {file}"))
            }
            Scratch::Postgres(server) => {
                let scratch = server.database("desired")?;
                let database = scratch.open()?;
                database.execute(sql).with_context(|| format!("{file} does not run on PostgreSQL"))?;
                database.schema(history_table).with_context(|| format!("cannot read the schema of {file}"))
            }
        }
    }
}

/// The text of the package's `schema.sql`; `None` when the file is missing
/// or holds no statement.
pub fn desired_sql(package: &Package) -> Result<Option<String>> {
    let path = package.file(&package.config.schema);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(split_statements(&text).iter().any(|s| !s.is_empty()).then_some(text))
}

/// A PostgreSQL server for temporary databases: `--database-url`'s, or a
/// throw-away one that lives as long as this value.
pub struct PostgresScratch {
    _server: Option<ThrowawayServer>,
    base: String,
}

impl PostgresScratch {
    /// The server of `database_url` (which must be a PostgreSQL URL), else a
    /// new throw-away server.
    pub fn start(database_url: Option<&str>) -> Result<PostgresScratch> {
        match database_url {
            Some(url) => match DatabaseUrl::parse(url).map_err(anyhow::Error::msg)? {
                DatabaseUrl::Postgres(base) => Ok(PostgresScratch { _server: None, base }),
                other => bail!("the package's dialect is postgres but --database-url is {other}"),
            },
            None => {
                let server =
                    ThrowawayServer::start().context("cannot start a throw-away PostgreSQL server")?;
                let base = server.url();
                Ok(PostgresScratch { _server: Some(server), base })
            }
        }
    }

    /// A new empty database named `migrate_<purpose>_<pid>_<n>`, dropped
    /// with the returned value.
    pub fn database(&self, purpose: &str) -> Result<ScratchDatabase<'_>> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let name = format!("migrate_{purpose}_{}_{n}", std::process::id());
        let mut admin = PostgresTestDatabase::connect(&self.base).map_err(anyhow::Error::msg)?;
        admin.execute(&format!("CREATE DATABASE {name}")).map_err(|e| {
            anyhow::anyhow!("cannot create a temporary database on {}: {e}", redact(&self.base))
        })?;
        let url = database_url(&self.base, &name);
        Ok(ScratchDatabase { admin, name, url, _server: self })
    }

    /// `PostgreSQL (temporary database NAME on URL)`, the URL redacted.
    pub fn describe(&self, database: &ScratchDatabase) -> String {
        format!("PostgreSQL (temporary database {} on {})", database.name, redact(&self.base))
    }
}

/// A temporary database, dropped on drop. Connections to it must be closed
/// first (declare them after this value).
pub struct ScratchDatabase<'s> {
    admin: PostgresTestDatabase,
    name: String,
    url: String,
    _server: &'s PostgresScratch,
}

impl ScratchDatabase<'_> {
    /// Its URL (holds the server's password, if any: never print it).
    pub fn url(&self) -> &str {
        &self.url
    }

    fn open(&self) -> Result<Database> {
        db::open(&DatabaseUrl::Postgres(self.url.clone()))
    }
}

impl Drop for ScratchDatabase<'_> {
    fn drop(&mut self) {
        // PostgreSQL waits a few seconds for closing sessions to end.
        let _ = self.admin.execute(&format!("DROP DATABASE IF EXISTS {}", self.name));
    }
}
