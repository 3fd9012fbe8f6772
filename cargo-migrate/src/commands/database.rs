//! `cargo migrate database create|drop`: the database the package's URL
//! names, as sqlx-cli's `database create`/`drop` do: a SQLite file, or a
//! PostgreSQL database created from (and dropped through) the server's
//! `postgres` database. `drop` refuses a server elsewhere unless `--force`.

use super::Context;
use crate::cli::{DatabaseArgs, DatabaseCommand};
use crate::db;
use anyhow::{bail, Result};
use migrate_runtime::database::{self as admin, DatabaseUrl};

pub fn run(cx: &Context, args: DatabaseArgs) -> Result<()> {
    let package = cx.project.select(cx.global.package.as_deref())?;
    let url = db::url(cx, package)?;
    let outcome = match args.command {
        DatabaseCommand::Create => match admin::create_database(db::connector(), &url)? {
            true => "created",
            false => "already exists",
        },
        DatabaseCommand::Drop { force } => {
            refuse_elsewhere(&url, force)?;
            match admin::drop_database(db::connector(), &url)? {
                true => "dropped",
                false => "does not exist",
            }
        }
    };
    let view = serde_json::json!({ "database": url.to_string(), "outcome": outcome });
    cx.report(&format!("{url}: {outcome}\n"), &view)
}

/// A PostgreSQL server elsewhere is refused unless forced; the check asks
/// the server where it was reached (a database that does not exist yet is
/// not there to ask, nor to drop).
fn refuse_elsewhere(url: &DatabaseUrl, force: bool) -> Result<()> {
    if force || !matches!(url, DatabaseUrl::Postgres(_)) {
        return Ok(());
    }
    let Ok(database) = db::open(url) else { return Ok(()) };
    if !admin::is_local(&database)? {
        bail!("{url} is not on this machine: `database drop` only drops local databases (pass --force if this one is yours to drop)");
    }
    Ok(())
}
