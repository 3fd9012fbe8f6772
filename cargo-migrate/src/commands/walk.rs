//! `cargo migrate walk`: the walk-versions check against a scratch
//! database: in-memory SQLite, or for PostgreSQL packages a temporary
//! database on `--database-url`'s server or on a throw-away server. The
//! walk goes on after a defect and lists them all, unless `--fail-fast`;
//! Ctrl-C or SIGTERM stops it at the next statement, and the temporary
//! database is dropped however the walk ends.

use super::Context;
use crate::cli::WalkArgs;
use crate::output::print;
use crate::scratch;
use anyhow::{Context as _, Result};
use migrate_runtime::testing::{
    check_downgrades_exist, check_offline_sql, check_single_head, WalkReport, WalkVersions,
};
use migrate_runtime::{Dialect, Graph};

pub fn run(cx: &Context, args: WalkArgs) -> Result<()> {
    let (package, graph) = cx.chain()?;
    let mut options = crate::db::options(package);
    options.interrupt = crate::signals::watch();
    let dialect = args.dialect.map_or(package.config.dialect, Into::into);
    if dialect == Dialect::Sqlite {
        refuse_a_postgres_url(cx, &package.name)?;
    }
    let mut walk = WalkVersions::new(graph).options(options.clone());
    if args.fail_fast {
        walk = walk.fail_fast();
    }
    if args.no_snake {
        walk = walk.without_snake();
    }
    if args.no_downgrade {
        walk = walk.without_downgrade();
    }
    if let Some(target) = &args.stop_at {
        walk = walk.stop_at(target);
    }
    if let Some(target) = &args.min_downgrade {
        walk = walk.min_downgrade(target);
    }
    let (report, place) = match dialect {
        Dialect::Sqlite => (walk.run_sqlite().map_err(anyhow::Error::from), "in-memory SQLite".to_string()),
        Dialect::Postgres => on_postgres(cx, walk)?,
    };
    let report =
        report.with_context(|| format!("the walk of package `{}` on {place} failed", package.name))?;
    check_offline_sql(graph, dialect, &options)?;
    print(&summary(graph, &report, &package.name, &place, dialect));
    Ok(())
}

/// A SQLite walk runs in memory: a PostgreSQL URL given on the command
/// line would otherwise be ignored in silence, the user believing the walk
/// ran there. One that only comes from `DATABASE_URL` (set for other tools
/// or packages) gets a note.
fn refuse_a_postgres_url(cx: &Context, package: &str) -> Result<()> {
    let Some(url) = cx.global.database_url().filter(|url| !url.trim().is_empty()) else {
        return Ok(());
    };
    if migrate_runtime::DatabaseUrl::parse(url).map(|u| u.dialect()).ok() != Some(Dialect::Postgres) {
        return Ok(());
    }
    if std::env::var("DATABASE_URL").ok().as_deref() == Some(url) {
        eprintln!("note: DATABASE_URL names a PostgreSQL server, not used: package `{package}` is walked on in-memory SQLite (`--dialect postgres` walks it on that server)");
        return Ok(());
    }
    anyhow::bail!(
        "package `{package}` is walked on in-memory SQLite (its dialect), so `--database-url` naming a PostgreSQL server would not be used: pass `--dialect postgres` to walk it there, or leave the URL out"
    )
}

fn summary(graph: &Graph, report: &WalkReport, package: &str, place: &str, dialect: Dialect) -> String {
    let mut out = format!(
        "walked {} revisions of package `{package}` on {place}: {} upgrades, {} downgrades, the schema compared at every step\n",
        report.revisions, report.upgraded, report.downgraded
    );
    if let Some(id) = &report.stopped_at_irreversible {
        out += &format!("note: the final downgrade stopped at irreversible revision {id}\n");
    }
    if let Err(missing) = check_downgrades_exist(graph, dialect, &[]) {
        missing.iter().for_each(|line| out += &format!("note: {line} (irreversible)\n"));
    }
    if let Err(error) = check_single_head(graph) {
        out += &format!("warning: {error}\n");
    }
    out + "ok\n"
}

/// A temporary database on the `--database-url` server, else on a
/// throw-away server; dropped afterwards.
fn on_postgres(cx: &Context, walk: WalkVersions<'_>) -> Result<(Result<WalkReport>, String)> {
    let server = scratch::postgres_server(cx.global.database_url())?;
    let scratch = server.database("walk")?;
    // A first signal ends the walk and `scratch`'s drop removes the
    // database; a second one exits at once, so it drops it itself.
    let _quit = crate::signals::on_quit(scratch.dropper());
    let result = scratch
        .connect()
        .map_err(anyhow::Error::from)
        .and_then(|mut db| walk.run(&mut db).map_err(anyhow::Error::from));
    Ok((result, server.describe(&scratch)))
}
