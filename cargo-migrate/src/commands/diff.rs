//! `cargo migrate diff`: what differs between the live database and the
//! schema at the chain's head (built in a scratch database of the same
//! kind), one `schema::Difference` per line. Only reads that database.

use super::Context;
use crate::db;
use crate::output::{print, print_json};
use crate::project::Package;
use crate::scratch;
use anyhow::{bail, Result};
use migrate_runtime::database::Database;
use migrate_runtime::schema::{Difference, Schema};
use migrate_runtime::Graph;

pub fn run(cx: &Context) -> Result<()> {
    let (package, graph) = cx.chain()?;
    let url = db::url(cx, package)?;
    let differences = match db::open_read_only(&url)? {
        Some(database) => live_differences(cx, package, graph, &database)?,
        // A SQLite file that does not exist yet is an empty database.
        None => Schema::default().diff(&scratch::head_schema(
            &scratch::scratch(url.dialect(), None)?,
            package,
            graph,
        )?),
    };
    if cx.json() {
        print_json(&differences)?;
    } else if differences.is_empty() {
        print("no differences\n");
    } else {
        print(&differences.iter().map(|d| format!("{d}\n")).collect::<String>());
    }
    match differences.len() {
        0 => Ok(()),
        1 => bail!("database {url} differs from the head schema of package `{}` in 1 object", package.name),
        n => {
            bail!("database {url} differs from the head schema of package `{}` in {n} objects", package.name)
        }
    }
}

/// From `database`'s schema (history table left out) to the head schema,
/// built on a scratch database of the same kind (for PostgreSQL on the same
/// server).
pub fn live_differences(
    cx: &Context,
    package: &Package,
    graph: &Graph,
    database: &Database,
) -> Result<Vec<Difference>> {
    let live = database.schema(&package.config.history_table)?;
    let scratch = scratch::scratch(database.dialect(), cx.global.database_url.as_deref())?;
    let head = scratch::head_schema(&scratch, package, graph)?;
    Ok(live.diff(&head))
}
