//! Development housekeeping on a whole database: creating and dropping it
//! (`cargo migrate database create|drop`, as sqlx-cli and diesel do), and
//! emptying what a package owns before it is built again (`cargo migrate
//! reset`, Flask-Diamond's `make db`). Callers show [`owned_objects`]
//! before anything goes and refuse a server elsewhere ([`is_local`])
//! unless told. No driver crate is named here: every database is reached
//! through [`Database`].

use crate::apply::history::{quote_ident, quote_literal};
use crate::database::url::{database_name, redact, with_database_name, DatabaseUrl};
use crate::database::{ConnectError, Connector, Database};
use crate::model::error::ApplyError;
use std::path::{Path, PathBuf};

/// Why a database could not be created, dropped or emptied.
#[derive(Debug, thiserror::Error, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum AdminError {
    #[error("{url} names no database (give it in the URL's path or as `dbname`)")]
    NoDatabaseName { url: String },
    #[error(transparent)]
    Url(#[from] crate::database::url::UrlError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error("cannot remove {}: {reason}", path.display())]
    Remove { path: PathBuf, reason: String },
}

impl AdminError {
    /// A stable name for the kind of failure (`no-database-name`), as
    /// [`ChainError::code`](crate::ChainError::code); a wrapped error gives
    /// its own.
    pub fn code(&self) -> &'static str {
        match self {
            AdminError::Url(error) => error.code(),
            AdminError::Connect(error) => error.code(),
            AdminError::Apply(error) => error.code(),
            other => other.into(),
        }
    }
}

/// Whether the database is on this machine: a SQLite file always; a
/// PostgreSQL server reached over a Unix socket or a loopback address, as
/// the server itself reports the address it was reached on.
pub fn is_local(database: &Database) -> Result<bool, ApplyError> {
    if database.dialect() == crate::Dialect::Sqlite {
        return Ok(true);
    }
    let rows = database.query_rows("SELECT inet_server_addr()::text")?;
    let address = rows.into_iter().next().and_then(|row| row.into_iter().next().flatten());
    Ok(is_local_address(address.as_deref()))
}

/// Whether the address a server says it was reached on (`inet_server_addr`:
/// NULL over a Unix socket, else `127.0.0.1/32`, `::1/128`, …) is this
/// machine's loopback.
fn is_local_address(address: Option<&str>) -> bool {
    address.is_none_or(|address| {
        let host = address.split('/').next().unwrap_or_default();
        host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    })
}

/// What emptying drops, one line each (`table public.user`): on SQLite
/// every table, view, index and trigger of the file; on PostgreSQL the
/// relations, types and functions of `schemas`.
pub fn owned_objects(database: &Database, schemas: &[String]) -> Result<Vec<String>, ApplyError> {
    let sql = match database.dialect() {
        crate::Dialect::Sqlite => "SELECT type || ' ' || name FROM sqlite_master \
                                   WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name"
            .to_string(),
        crate::Dialect::Postgres => postgres_objects_sql(schemas),
    };
    Ok(database.query_rows(&sql)?.into_iter().filter_map(|row| row.into_iter().next().flatten()).collect())
}

fn postgres_objects_sql(schemas: &[String]) -> String {
    let names = schemas.iter().map(|s| quote_literal(s)).collect::<Vec<_>>().join(", ");
    format!(
        "SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' \
         WHEN 'f' THEN 'foreign table' ELSE 'table' END || ' ' || n.nspname || '.' || c.relname \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname IN ({names}) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') \
         AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))) \
         UNION ALL SELECT 'type ' || n.nspname || '.' || t.typname FROM pg_type t \
         JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname IN ({names}) AND t.typtype IN ('e', 'd', 'c') \
         AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid) \
         UNION ALL SELECT 'function ' || n.nspname || '.' || p.proname FROM pg_proc p \
         JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname IN ({names}) ORDER BY 1"
    )
}

/// Drops every object of PostgreSQL `schemas` (each dropped with
/// everything in it and created again, empty, owned by the current role),
/// in one transaction.
pub fn empty_schemas(database: &Database, schemas: &[String]) -> Result<(), ApplyError> {
    let mut sql = "BEGIN;\n".to_string();
    for schema in schemas {
        let name = quote_ident(schema);
        sql += &format!("DROP SCHEMA IF EXISTS {name} CASCADE;\nCREATE SCHEMA {name};\n");
    }
    sql += "COMMIT;";
    database.execute(&sql)
}

/// Creates PostgreSQL schema `schema` unless it exists: a new tenant's,
/// before its first upgrade (see [`Connector::search_path`](crate::database::Connector::search_path)).
pub fn create_schema(database: &Database, schema: &str) -> Result<(), ApplyError> {
    database.execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(schema)))
}

/// Deletes `package`'s rows from history table `table`, if it has any: a
/// history table outside the emptied schemas would otherwise still say the
/// dropped revisions are applied.
pub fn forget_package(database: &Database, table: &str, package: &str) -> Result<(), ApplyError> {
    if !database.packages(table)?.iter().any(|name| name == package) {
        return Ok(());
    }
    database.execute(&format!(
        "DELETE FROM {} WHERE package = {}",
        quote_ident(table),
        quote_literal(package)
    ))
}

/// Removes a SQLite database file with its journal, WAL, shared-memory and
/// progress-lock files; returns the ones that were there.
pub fn remove_sqlite_file(path: &Path) -> Result<Vec<PathBuf>, AdminError> {
    let companions = ["", "-journal", "-wal", "-shm", "-migrate-lock"];
    let mut removed = Vec::new();
    for suffix in companions {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = PathBuf::from(name);
        match std::fs::remove_file(&file) {
            Ok(()) => removed.push(file),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(AdminError::Remove { path: file, reason: error.to_string() }),
        }
    }
    Ok(removed)
}

/// Creates the database `url` names: a SQLite file (opening creates it),
/// or a PostgreSQL database, from the server's `postgres` database.
/// `false` when it already existed.
pub fn create_database(connector: Connector, url: &DatabaseUrl) -> Result<bool, AdminError> {
    let DatabaseUrl::Postgres(postgres) = url else {
        let existed = matches!(url, DatabaseUrl::SqliteFile(path) if path.exists());
        connector.open(url)?;
        return Ok(!existed);
    };
    let (admin, name) = maintenance(connector, postgres.text())?;
    if exists(&admin, &name)? {
        return Ok(false);
    }
    admin.execute(&format!("CREATE DATABASE {}", quote_ident(&name)))?;
    Ok(true)
}

/// Drops the database `url` names: a SQLite file and its companions, or a
/// PostgreSQL database (`WITH (FORCE)` ends its other sessions first).
/// `false` when there was none.
pub fn drop_database(connector: Connector, url: &DatabaseUrl) -> Result<bool, AdminError> {
    match url {
        DatabaseUrl::SqliteFile(path) => Ok(!remove_sqlite_file(path)?.is_empty()),
        DatabaseUrl::SqliteMemory => Ok(false),
        DatabaseUrl::Postgres(postgres) => {
            let (admin, name) = maintenance(connector, postgres.text())?;
            if !exists(&admin, &name)? {
                return Ok(false);
            }
            admin.execute(&format!("DROP DATABASE {} WITH (FORCE)", quote_ident(&name)))?;
            Ok(true)
        }
    }
}

/// A session on the server's `postgres` database, and the name of the
/// database `url` names.
fn maintenance(connector: Connector, url: &str) -> Result<(Database, String), AdminError> {
    let name = database_name(url).ok_or_else(|| AdminError::NoDatabaseName { url: redact(url) })?;
    let admin_url = DatabaseUrl::parse(&with_database_name(url, "postgres"))?;
    Ok((connector.open(&admin_url)?, name))
}

fn exists(admin: &Database, name: &str) -> Result<bool, ApplyError> {
    let sql = format!("SELECT 1 FROM pg_database WHERE datname = {}", quote_literal(name));
    Ok(!admin.query_rows(&sql)?.is_empty())
}

#[cfg(test)]
mod tests {
    use super::is_local_address;

    #[test]
    fn a_unix_socket_and_loopback_are_local_and_any_other_address_is_not() {
        for local in [None, Some("127.0.0.1/32"), Some("127.1.2.3/32"), Some("::1/128")] {
            assert!(is_local_address(local), "{local:?}");
        }
        for elsewhere in [Some("192.0.2.2/32"), Some("10.0.0.5/32"), Some("fd00::2/128"), Some("garbage")] {
            assert!(!is_local_address(elsewhere), "{elsewhere:?}");
        }
    }
}
