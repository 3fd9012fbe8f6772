//! Which database a command talks to: `--database-url`, else
//! `DATABASE_URL`, else a SQLite file under the workspace's
//! `target/migrate/`. The handle itself is the library's
//! [`migrate_runtime::database::Database`]. Messages only ever show the
//! redacted URL.

use crate::commands::Context;
use crate::project::Package;
use anyhow::Result;
use migrate_runtime::apply::Options;
use migrate_runtime::database::DatabaseUrl;
use migrate_runtime::database::{Connector, Database};

/// The URL for `package`'s database.
pub fn url(cx: &Context, package: &Package) -> Result<DatabaseUrl> {
    match &cx.global.database_url {
        Some(url) => Ok(DatabaseUrl::parse(url)?),
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
    Ok(connector().open(url)?)
}

/// Opens the database for reading; `None` when the SQLite file does not
/// exist (nothing applied), so read commands never create it.
pub fn open_read_only(url: &DatabaseUrl) -> Result<Option<Database>> {
    Ok(connector().open_read_only(url)?)
}

/// Why the server ended a session reaches the connection, not the query
/// that then fails with "connection closed": print it as it happens.
fn connector() -> Connector {
    Connector::default().on_connection_end(|reason| {
        crate::output::print_error(&anyhow::anyhow!("the database ended the connection: {reason}"))
    })
}
