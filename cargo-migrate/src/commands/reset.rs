//! `cargo migrate reset`: rebuild a development database (Flask-Diamond's
//! `make db`, sqlx's and diesel's `database reset`): drop what the package
//! owns (the whole file for SQLite; for PostgreSQL the objects of the
//! schemas the package owns, `schemas` in its settings) and upgrade to
//! head, from a snapshot when there is one. What goes is printed first.
//! Refused on a server elsewhere, or a database whose history records
//! another package, unless `--force`.

use super::Context;
use crate::cli::ResetArgs;
use crate::db;
use crate::project::Package;
use anyhow::{bail, Result};
use migrate_runtime::database::{self as admin, Database, DatabaseUrl};
use migrate_runtime::Direction;

pub fn run(cx: &Context, args: ResetArgs) -> Result<()> {
    let (package, graph) = cx.chain()?;
    let url = db::url(cx, package)?;
    if let Some(database) = db::open_read_only(&url)? {
        refuse_unless_forced(&database, package, &url, args.force)?;
        announce(cx, &database, package, &url)?;
        drop(database);
        empty(package, &url)?;
    }
    super::upgrade::run_package(cx, package, graph, "heads", &args.apply, Direction::Upgrade)
}

/// A database elsewhere, or one another package shares, is not this
/// command's to empty unless `--force` says so.
fn refuse_unless_forced(
    database: &Database,
    package: &Package,
    url: &DatabaseUrl,
    force: bool,
) -> Result<()> {
    if force {
        return Ok(());
    }
    if !admin::is_local(database)? {
        bail!("{url} is not on this machine: `reset` drops objects, so it only empties local databases (pass --force if this one is yours to empty)");
    }
    let others: Vec<String> = database
        .packages(&package.config.history_table)?
        .into_iter()
        .filter(|name| *name != package.name)
        .collect();
    if !others.is_empty() {
        bail!(
            "the history of {url} also records package {}: `reset` would drop their objects too (reset each package's own database, or pass --force)",
            others.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}

/// Prints what is about to be dropped.
fn announce(cx: &Context, database: &Database, package: &Package, url: &DatabaseUrl) -> Result<()> {
    let objects = admin::owned_objects(database, &package.config.schemas)?;
    let what = match url {
        DatabaseUrl::SqliteFile(path) => format!("deleting {} with", path.display()),
        _ => format!("emptying schema {} of {url}:", package.config.schemas.join(", ")),
    };
    let list: String = objects.iter().map(|object| format!("  drop {object}\n")).collect();
    cx.tell(&format!("reset: {what} {} objects\n{list}", objects.len()));
    Ok(())
}

fn empty(package: &Package, url: &DatabaseUrl) -> Result<()> {
    if let DatabaseUrl::SqliteFile(path) = url {
        admin::remove_sqlite_file(path)?;
        return Ok(());
    }
    let database = db::open(url)?;
    admin::empty_schemas(&database, &package.config.schemas)?;
    admin::forget_package(&database, &package.config.history_table, &package.name)?;
    Ok(())
}
