//! Which database a command talks to, and opening it: `--database-url`,
//! else `DATABASE_URL`, else a SQLite file under the workspace's
//! `target/migrate/`. Messages only ever show the redacted URL.

use crate::commands::Context;
use crate::project::Package;
use anyhow::{bail, Context as _, Result};
use migrate_runtime::apply::Options;
use migrate_runtime::url::DatabaseUrl;
use rusqlite::{Connection, OpenFlags};

/// The URL for `package`'s database.
pub fn url(cx: &Context, package: &Package) -> Result<DatabaseUrl> {
    match &cx.global.database_url {
        Some(url) => DatabaseUrl::parse(url).map_err(anyhow::Error::msg),
        None => Ok(DatabaseUrl::SqliteFile(
            cx.project.target_dir.join("migrate").join(format!("{}.sqlite3", package.name)),
        )),
    }
}

/// Apply options from the package's settings.
pub fn options(package: &Package) -> Options {
    Options { history_table: package.config.history_table.clone(), ..Options::new(&package.name) }
}

/// Opens the database for writing, creating a SQLite file and its folder.
pub fn open(url: &DatabaseUrl) -> Result<Connection> {
    match url {
        DatabaseUrl::SqliteFile(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            Connection::open(path).with_context(|| format!("cannot open {url}"))
        }
        DatabaseUrl::SqliteMemory => Ok(Connection::open_in_memory()?),
        DatabaseUrl::Postgres(_) => bail!("{url}: PostgreSQL is not supported by this build yet"),
    }
}

/// Opens the database read-only; `None` when the SQLite file does not exist
/// (nothing applied), so read commands never create it.
pub fn open_read_only(url: &DatabaseUrl) -> Result<Option<Connection>> {
    match url {
        DatabaseUrl::SqliteFile(path) if !path.exists() => Ok(None),
        DatabaseUrl::SqliteFile(path) => {
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            Ok(Some(Connection::open_with_flags(path, flags).with_context(|| format!("cannot open {url}"))?))
        }
        other => open(other).map(Some),
    }
}
