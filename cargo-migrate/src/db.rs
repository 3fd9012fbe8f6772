//! Which database a command talks to: `--database-url`, else
//! `DATABASE_URL` (from the environment, else from `.env`), else for a
//! PostgreSQL package the libpq `PG*` variables, else for a SQLite package
//! the workspace's file under `target/migrate/`. The handle itself is the
//! library's [`migrate_runtime::database::Database`]. Messages only ever
//! show the redacted URL.

use crate::commands::Context;
use crate::project::Package;
use anyhow::{bail, Result};
use migrate_runtime::apply::Options;
use migrate_runtime::database::DatabaseUrl;
use migrate_runtime::database::{Connector, Database};
use migrate_runtime::Dialect;

/// The URL for `package`'s database.
pub fn url(cx: &Context, package: &Package) -> Result<DatabaseUrl> {
    // `DATABASE_URL=` (set but empty) means unset, as it does for libpq's
    // variables and sqlx.
    if let Some(url) = cx.global.database_url().filter(|url| !url.trim().is_empty()) {
        return Ok(DatabaseUrl::parse(url)?);
    }
    if package.config.dialect == Dialect::Postgres {
        return postgres_from_environment(package);
    }
    match &cx.project.default_database {
        Some(file) => Ok(DatabaseUrl::SqliteFile(file.clone())),
        None => bail!(
            "no database given: pass `--database-url URL` or set DATABASE_URL (standalone mode has no default database)"
        ),
    }
}

/// A PostgreSQL package never falls back to a SQLite file (its revisions
/// would fail there with SQLite's syntax errors): the libpq variables name
/// the server, or the user must.
fn postgres_from_environment(package: &Package) -> Result<DatabaseUrl> {
    const SERVER_VARIABLES: [&str; 2] = ["PGHOST", "PGDATABASE"];
    if SERVER_VARIABLES.iter().any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty())) {
        return Ok(DatabaseUrl::parse("postgresql://")?);
    }
    bail!(
        "package `{}` is written for PostgreSQL (dialect = \"postgres\") and no database is given: pass \
         `--database-url postgres://USER@HOST/DB`, set DATABASE_URL (in the environment or in .env), or set \
         PGHOST/PGDATABASE",
        package.name
    )
}

/// Apply options from the package's settings.
pub fn options(package: &Package) -> Options {
    Options { history_table: package.config.history_table.clone(), ..Options::new(&package.name) }
}

/// Opens the database for writing, creating a SQLite file and its folder.
pub fn open(url: &DatabaseUrl) -> Result<Database> {
    Ok(connector().open(url)?)
}

/// Opens the database for reading; `None` when the SQLite file does not
/// exist (nothing applied), so read commands never create it.
pub fn open_read_only(url: &DatabaseUrl) -> Result<Option<Database>> {
    Ok(connector().open_read_only(url)?)
}

/// Why the server ended a session reaches the connection, not the query
/// that then fails with "connection closed": print it as it happens.
pub fn connector() -> Connector {
    Connector::default()
        .on_connection_end(|reason| {
            crate::output::print_error(&anyhow::anyhow!("the database ended the connection: {reason}"))
        })
        .on_warning(crate::output::print_warning)
}
