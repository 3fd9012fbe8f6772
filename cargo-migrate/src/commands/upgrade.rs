//! `cargo migrate upgrade [TARGET] [--sql]` and `downgrade TARGET [--sql]`.

use super::{current, Context};
use crate::cli::ApplyOptions;
use crate::db;
use crate::output::{paint, print, ID};
use anyhow::{bail, Context as _, Result};
use migrate_runtime::apply::Step;
use migrate_runtime::apply::{downgrade_script, upgrade_script};
use migrate_runtime::chain::target::{parse, range, range_down, split_range, Range};
use migrate_runtime::{Direction, Graph};

/// How messages name the run.
fn noun(direction: Direction) -> &'static str {
    match direction {
        Direction::Upgrade => "the upgrade",
        Direction::Downgrade => "the downgrade",
    }
}

pub fn run(cx: &Context, target: &str, args: ApplyOptions, direction: Direction) -> Result<()> {
    let (package, graph) = cx.chain()?;
    let mut options = db::options(package);
    if args.sql {
        let dialect = args.dialect.map_or(package.config.dialect, Into::into);
        return offline(&graph, &options, dialect, target, direction);
    }
    if args.baseline && direction == Direction::Downgrade {
        bail!("`--baseline` is for `upgrade`: it lets a first upgrade run on a database that already has tables");
    }
    options.allow_drift = args.allow_drift;
    options.baseline = args.baseline;
    options.lock_timeout = std::time::Duration::from_secs(args.lock_timeout);
    let url = db::url(cx, package)?;
    let database = db::open(&url)?;
    if !cx.json() {
        print(&format!("database {url}\n"));
    }
    let mut report = |step: &Step| {
        if !cx.json() {
            let verb = if direction == Direction::Upgrade { "applied " } else { "reverted" };
            let ms = step.elapsed.as_secs_f64() * 1000.0;
            print(&format!("{verb} {}  {}  ({ms:.1} ms)\n", paint(ID, &step.revision), step.message));
        }
    };
    let steps = match direction {
        Direction::Upgrade => database.upgrade(&graph, &options, target, &mut report),
        Direction::Downgrade => database.downgrade(&graph, &options, target, &mut report),
    }
    .with_context(|| format!("{} of package `{}` stopped", noun(direction), package.name))?;
    if steps.is_empty() && !cx.json() {
        print("nothing to do\n");
    }
    current::show(cx, &graph, database.dialect(), &database.applied(&graph, &options)?)
}

/// Prints the script for `A:B` (or `base:TARGET` for an upgrade); a
/// reversed or unrelated range is an error naming both ends.
fn offline(
    graph: &Graph,
    options: &migrate_runtime::apply::Options,
    dialect: migrate_runtime::Dialect,
    target: &str,
    direction: Direction,
) -> Result<()> {
    let script = match direction {
        Direction::Upgrade => {
            let range = upgrade_range(graph, target)?;
            upgrade_script(graph, dialect, options, &range.from, &range.to.tips)?
        }
        Direction::Downgrade => {
            let range = downgrade_range(graph, target)?;
            let lower = split_range(target).map_or("", |(_, to)| to);
            let lower = if lower.is_empty() { "base" } else { lower };
            downgrade_script(graph, dialect, options, &range.from, &range.to, lower)?
        }
    };
    print(&script);
    Ok(())
}

/// `A:B`, or `base:TARGET` for a plain target.
fn upgrade_range(graph: &Graph, target: &str) -> Result<Range> {
    match split_range(target) {
        Some(_) => Ok(range(graph, target, &[])?),
        None => Ok(Range { from: Vec::new(), to: parse(graph, target, &[])? }),
    }
}

/// `A:B` only: offline, there is no database to start from.
fn downgrade_range(graph: &Graph, target: &str) -> Result<Range> {
    if split_range(target).is_none() {
        bail!("`downgrade --sql` needs a range `FROM:TO`, such as `head:base`: there is no database to start from");
    }
    Ok(range_down(graph, target, &[])?)
}
