//! Which database a command talks to, and one handle over both drivers:
//! `--database-url`, else `DATABASE_URL`, else a SQLite file under the
//! workspace's `target/migrate/`. Messages only ever show the redacted URL.

use crate::commands::Context;
use crate::project::Package;
use anyhow::{Context as _, Result};
use migrate_runtime::apply::{Options, RepairMark, Step};
use migrate_runtime::history::AppliedRevision;
use migrate_runtime::postgres::PostgresMigrator;
use migrate_runtime::schema::Schema;
use migrate_runtime::sqlite::SqliteMigrator;
use migrate_runtime::url::DatabaseUrl;
use migrate_runtime::{introspect_postgres, introspect_sqlite};
use migrate_runtime::{ApplyError, Dialect, Graph};
use rusqlite::{Connection, OpenFlags};

/// An open database of either kind.
pub enum Database {
    Sqlite(Connection),
    Postgres { runtime: tokio::runtime::Runtime, client: tokio_postgres::Client },
}

/// The URL for `package`'s database.
pub fn url(cx: &Context, package: &Package) -> Result<DatabaseUrl> {
    match &cx.global.database_url {
        Some(url) => DatabaseUrl::parse(url).map_err(anyhow::Error::msg),
        None => {
            let file = cx.project.target_dir.join("migrate").join(format!("{}.sqlite3", package.name));
            Ok(DatabaseUrl::SqliteFile(file))
        }
    }
}

/// Apply options from the package's settings.
pub fn options(package: &Package) -> Options {
    Options { history_table: package.config.history_table.clone(), ..Options::new(&package.name) }
}

/// Opens the database for writing, creating a SQLite file and its folder.
pub fn open(url: &DatabaseUrl) -> Result<Database> {
    match url {
        DatabaseUrl::SqliteFile(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            Ok(Database::Sqlite(Connection::open(path).with_context(|| format!("cannot open {url}"))?))
        }
        DatabaseUrl::SqliteMemory => Ok(Database::Sqlite(Connection::open_in_memory()?)),
        DatabaseUrl::Postgres(text) => connect_postgres(url, text),
    }
}

/// Opens the database for reading; `None` when the SQLite file does not
/// exist (nothing applied), so read commands never create it.
pub fn open_read_only(url: &DatabaseUrl) -> Result<Option<Database>> {
    match url {
        DatabaseUrl::SqliteFile(path) if !path.exists() => Ok(None),
        DatabaseUrl::SqliteFile(path) => {
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn =
                Connection::open_with_flags(path, flags).with_context(|| format!("cannot open {url}"))?;
            Ok(Some(Database::Sqlite(conn)))
        }
        other => open(other).map(Some),
    }
}

fn connect_postgres(url: &DatabaseUrl, text: &str) -> Result<Database> {
    // The driver's messages never quote the connection string; ours quote
    // only the redacted URL.
    let mut config: tokio_postgres::Config =
        text.parse().map_err(|e| anyhow::anyhow!("invalid database URL {url}: {e}"))?;
    config.application_name("cargo-migrate");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (client, connection) = runtime
        .block_on(config.connect(tokio_postgres::NoTls))
        .map_err(|e| anyhow::anyhow!("cannot connect to {url}: {}", describe(&e)))?;
    // Why the session ended (the server closed it, the network failed)
    // reaches the connection, not the query that then fails with
    // "connection closed": show it.
    runtime.spawn(async move {
        if let Err(error) = connection.await {
            crate::output::print_error(&anyhow::anyhow!(
                "the database ended the connection: {}",
                describe(&error)
            ));
        }
    });
    // PostgreSQL notices a vanished client only when it next reads from it,
    // so a migrator killed during a long statement would keep its session,
    // its transaction and the migration lock until that statement ends. With
    // this check (PostgreSQL 14 and newer; older servers refuse the setting,
    // which changes nothing else) the server cancels the statement within a
    // second, rolls back and frees the lock for the next migrator.
    let _ = runtime.block_on(client.batch_execute("SET client_connection_check_interval = 1000"));
    Ok(Database::Postgres { runtime, client })
}

/// The server's own words for an error (`password authentication failed
/// for user "app"`), where the driver's `Display` says only "db error".
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => match std::error::Error::source(error) {
            Some(cause) => format!("{error}: {cause}"),
            None => error.to_string(),
        },
    }
}

impl Database {
    pub fn dialect(&self) -> Dialect {
        match self {
            Database::Sqlite(_) => Dialect::Sqlite,
            Database::Postgres { .. } => Dialect::Postgres,
        }
    }

    /// Runs `sql` (several statements) outside any transaction of ours.
    pub fn execute(&self, sql: &str) -> Result<()> {
        match self {
            Database::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            Database::Postgres { runtime, client } => {
                runtime.block_on(client.batch_execute(sql)).map_err(|e| anyhow::anyhow!(describe(&e)))
            }
        }
    }

    /// The live schema, without the history table. Only reads.
    pub fn schema(&self, history_table: &str) -> Result<Schema> {
        match self {
            Database::Sqlite(conn) => Ok(introspect_sqlite::introspect(conn, history_table)?),
            Database::Postgres { runtime, client } => runtime
                .block_on(introspect_postgres::introspect(client, history_table))
                .map_err(|e| anyhow::anyhow!(describe(&e))),
        }
    }

    pub fn applied(&self, graph: &Graph, options: &Options) -> Result<Vec<AppliedRevision>, ApplyError> {
        match self {
            Database::Sqlite(conn) => SqliteMigrator::new(conn, graph, options).applied(),
            Database::Postgres { runtime, client } => {
                runtime.block_on(PostgresMigrator::new(client, graph, options).applied())
            }
        }
    }

    pub fn upgrade(
        &self,
        graph: &Graph,
        options: &Options,
        target: &str,
        on_step: &mut dyn FnMut(&Step),
    ) -> Result<Vec<Step>, ApplyError> {
        match self {
            Database::Sqlite(conn) => SqliteMigrator::new(conn, graph, options).upgrade(target, on_step),
            Database::Postgres { runtime, client } => {
                runtime.block_on(PostgresMigrator::new(client, graph, options).upgrade(target, on_step))
            }
        }
    }

    pub fn downgrade(
        &self,
        graph: &Graph,
        options: &Options,
        target: &str,
        on_step: &mut dyn FnMut(&Step),
    ) -> Result<Vec<Step>, ApplyError> {
        match self {
            Database::Sqlite(conn) => SqliteMigrator::new(conn, graph, options).downgrade(target, on_step),
            Database::Postgres { runtime, client } => {
                runtime.block_on(PostgresMigrator::new(client, graph, options).downgrade(target, on_step))
            }
        }
    }

    pub fn stamp(&self, graph: &Graph, options: &Options, target: &str) -> Result<Vec<Step>, ApplyError> {
        match self {
            Database::Sqlite(conn) => SqliteMigrator::new(conn, graph, options).stamp(target),
            Database::Postgres { runtime, client } => {
                runtime.block_on(PostgresMigrator::new(client, graph, options).stamp(target))
            }
        }
    }

    pub fn repair(
        &self,
        graph: &Graph,
        options: &Options,
        mark: RepairMark,
    ) -> Result<Vec<(String, String)>, ApplyError> {
        match self {
            Database::Sqlite(conn) => SqliteMigrator::new(conn, graph, options).repair(mark),
            Database::Postgres { runtime, client } => {
                runtime.block_on(PostgresMigrator::new(client, graph, options).repair(mark))
            }
        }
    }
}
