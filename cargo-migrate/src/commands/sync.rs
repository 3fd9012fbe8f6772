//! `cargo migrate sync [--dry-run] [--accept-data-loss]`: bring a
//! development database straight to `schema.sql`, no revision (Camelot's
//! first approach, Prisma's `db push`). The statements are autogenerate's,
//! from the live schema to the one `schema.sql` builds in a scratch
//! database; each is printed, with the data-loss warnings, before anything
//! runs. The library runs them in one transaction and marks the database
//! as synced (`migrate_runtime::apply::sync`). Refused on a server
//! elsewhere unless `--force`, as `reset` is.

use super::{display, Context};
use crate::cli::SyncArgs;
use crate::db;
use crate::output::print_warning;
use crate::project::Package;
use crate::scratch;
use anyhow::{bail, Result};
use migrate_runtime::apply::{DataLoss, SyncError, SyncPlan};
use migrate_runtime::database::{self as admin, Database, DatabaseUrl};
use migrate_runtime::schema::Schema;
use serde::Serialize;

pub fn run(cx: &Context, args: SyncArgs) -> Result<()> {
    let (package, _) = cx.chain()?;
    let url = db::url(cx, package)?;
    let schema_file = display(&package.config.schema);
    let database = match args.dry_run {
        true => db::open_read_only(&url)?,
        false => Some(db::open(&url)?),
    };
    if let Some(database) = &database {
        ensure_local(database, &url, args.force)?;
    }
    let dialect = database.as_ref().map_or(url.dialect(), Database::dialect);
    let (desired, schemas) = scratch::first_schema_desired(package, dialect, cx.global.database_url())?;
    let options = db::options(package);
    let plan = match &database {
        Some(database) => database.plan_sync(&desired, &options, &schemas)?,
        // A SQLite file a dry run did not create is an empty database.
        None => SyncPlan::new(&Schema::default(), &desired, dialect),
    };
    let view = |changed| SyncView {
        database: url.to_string(),
        schema: schema_file.clone(),
        statements: &plan.statements,
        losses: &plan.losses,
        changed,
    };
    if plan.is_empty() {
        return cx.report(&format!("database {url} already matches {schema_file}\n"), &view(false));
    }
    announce(cx, &plan, &url, &schema_file);
    let Some(database) = database.filter(|_| !args.dry_run) else {
        return cx.report("dry run: nothing was changed\n", &view(false));
    };
    let data_loss = if args.accept_data_loss { DataLoss::Accept } else { DataLoss::Refuse };
    database.sync(&plan, &options, data_loss, &schema_file).map_err(|error| refused(error, package))?;
    let text = format!(
        "synced database {url} to {schema_file}: `upgrade` refuses it from now on; `cargo migrate reset` rebuilds it from the revisions, `cargo migrate stamp REV` records a revision its schema matches\n"
    );
    cx.report(&text, &view(true))
}

/// What `--format json` prints (docs/json.md, `sync`).
#[derive(Serialize)]
struct SyncView<'a> {
    database: String,
    schema: String,
    statements: &'a [String],
    losses: &'a [String],
    /// Whether the statements ran (not a dry run, nothing refused).
    changed: bool,
}

/// A database elsewhere is not this command's to change unless `--force`
/// says so: a sync leaves no revision behind to deploy or revert.
fn ensure_local(database: &Database, url: &DatabaseUrl, force: bool) -> Result<()> {
    if force || admin::is_local(database)? {
        return Ok(());
    }
    bail!("{url} is not on this machine: `sync` changes a schema without a revision, so it only changes local databases (pass --force if this one is yours to change)")
}

/// The warnings, then each statement (on stderr with `--format json`).
fn announce(cx: &Context, plan: &SyncPlan, url: &DatabaseUrl, schema_file: &str) {
    plan.losses.iter().for_each(|loss| print_warning(loss));
    let statements = match plan.statements.len() {
        1 => "1 statement".to_string(),
        n => format!("{n} statements"),
    };
    cx.tell(&format!("sync: database {url} to {schema_file}, {statements}:\n"));
    cx.tell(&plan.statements.iter().map(|s| format!("{s}\n")).collect::<String>());
}

/// The library's refusal, with the flag that overrides it.
fn refused(error: SyncError, package: &Package) -> anyhow::Error {
    match error {
        SyncError::DataLoss { .. } => {
            anyhow::anyhow!("{error}\nnothing was changed: pass --accept-data-loss to run these statements")
        }
        SyncError::Unsupported { .. } => anyhow::anyhow!(
            "{error}\nnothing was changed: write a revision for these by hand (package `{}`)",
            package.name
        ),
        other => other.into(),
    }
}
