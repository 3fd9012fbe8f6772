//! `cargo migrate upgrade [TARGET] [--sql]` and `downgrade TARGET [--sql]`.

use super::current::{self, StepView};
use super::fleet::{Fleet, Job};
use super::Context;
use crate::cli::{ApplyOptions, FleetArgs, TransactionArg};
use crate::db;
use crate::output::print;
use crate::progress::RunView;
use crate::project::Package;
use crate::runner::Run;
use anyhow::{bail, Result};
use migrate_runtime::apply::{downgrade_script, upgrade_script};
use migrate_runtime::apply::{Options, ScriptRust, Step};
use migrate_runtime::chain::target::{parse, range, range_down, split_range, Range};
use migrate_runtime::{Direction, Graph};

/// How messages name the run.
fn noun(direction: Direction) -> &'static str {
    match direction {
        Direction::Upgrade => "the upgrade",
        Direction::Downgrade => "the downgrade",
    }
}

/// Which databases a run goes to.
pub enum Scope {
    /// The package's database.
    One,
    /// Every package of the workspace, each into its database.
    Workspace,
    /// The package's revisions on each of many databases.
    Fleet(Fleet),
}

impl Scope {
    pub fn new(cx: &Context, workspace: bool, fleet: &FleetArgs) -> Result<Scope> {
        match (workspace, super::fleet::targets(cx, fleet)?) {
            (true, Some(_)) => {
                bail!("a fleet runs one package's revisions: choose it with `-p`, not `--workspace`")
            }
            (true, None) => Ok(Scope::Workspace),
            (false, Some(fleet)) => Ok(Scope::Fleet(fleet)),
            (false, None) => Ok(Scope::One),
        }
    }
}

pub fn run(cx: &Context, target: &str, scope: Scope, args: ApplyOptions, direction: Direction) -> Result<()> {
    let fleet = match scope {
        Scope::Workspace => return run_workspace(cx, target, &args, direction),
        Scope::Fleet(fleet) => Some(fleet),
        Scope::One => None,
    };
    let (package, graph) = cx.chain()?;
    if let Some(fleet) = fleet {
        if args.sql {
            bail!("`--sql` prints one script and runs nothing: leave out the fleet's databases");
        }
        let mut options = options(package, &args)?;
        options.interrupt = crate::signals::watch();
        return super::fleet::run(cx, package, graph, fleet, Job::Apply(direction), target, &options);
    }
    if args.sql && args.transaction == TransactionArg::All {
        bail!("`--transaction all` is for a live run: `--sql` prints each revision in its own transaction, which a DBA may wrap in one");
    }
    if args.sql {
        let dialect = args.dialect.map_or(package.config.dialect, Into::into);
        return offline(graph, &options(package, &args)?, dialect, target, direction);
    }
    run_package(cx, package, graph, target, &args, direction)
}

/// Every package with migrations, in the order their revisions depend on
/// each other's (dependents first for a downgrade), each to `head`/`heads`
/// or `base`: revision ids and relative steps belong to one package.
fn run_workspace(cx: &Context, target: &str, args: &ApplyOptions, direction: Direction) -> Result<()> {
    let allowed: &[&str] = match direction {
        Direction::Upgrade => &["head", "heads"],
        Direction::Downgrade => &["base"],
    };
    if !allowed.contains(&target) {
        bail!(
            "`--workspace` takes {} as its target: `{target}` names revisions of one package (choose it with `-p`)",
            allowed.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(" or ")
        );
    }
    if args.sql {
        bail!("`--workspace` applies to a database; print one package's script with `-p NAME --sql`");
    }
    let mut packages = super::workspace_order(cx)?;
    if direction == Direction::Downgrade {
        packages.reverse();
    }
    for (package, graph) in &packages {
        if !cx.json() {
            print(&format!("package {}\n", package.name));
        }
        run_package(cx, package, graph, target, args, direction)?;
    }
    Ok(())
}

/// The run's options: the package's settings and the flags, the same for a
/// live run and its `--sql` script, whose lock timeouts are those the live
/// run would use.
fn options(package: &Package, args: &ApplyOptions) -> Result<Options> {
    let mut options = db::options(package);
    options.allow_drift = args.allow_drift;
    options.baseline = args.baseline;
    options.lock_timeout = std::time::Duration::from_secs(args.lock_timeout);
    options.statement_lock_timeout = seconds(args.statement_lock_timeout, "--statement-lock-timeout")?;
    options.lock_retries = args.retries;
    options.transaction = args.transaction.into();
    if args.rust_as_comment {
        options.script_rust = ScriptRust::Comment;
    }
    Ok(options)
}

pub fn run_package(
    cx: &Context,
    package: &Package,
    graph: &Graph,
    target: &str,
    args: &ApplyOptions,
    direction: Direction,
) -> Result<()> {
    let mut options = options(package, args)?;
    options.interrupt = crate::signals::watch();
    let view = RunView::new(cx, direction);
    options.progress = view.progress();
    let url = db::url(cx, package)?;
    let database = db::open(&url)?;
    if !cx.json() && !cx.global.quiet {
        print(&format!("database {url}\n"));
    }
    let mut done: Vec<Step> = Vec::new();
    let mut report = |step: &Step| {
        view.finished(step);
        done.push(step.clone());
    };
    let run = Run { package, graph, url: &url, options: &options, target, direction };
    if let Err(error) = crate::runner::apply(&cx.global, &run, &database, &mut report) {
        // What committed before the failure, for the error's JSON document.
        cx.document(&Finished { package: &package.name, steps: done.iter().map(StepView::new).collect() })?;
        return Err(error.context(format!("{} of package `{}` stopped", noun(direction), package.name)));
    }
    view.end();
    if cx.global.quiet && !cx.json() {
        return Ok(());
    }
    current::show(cx, package, graph, database.dialect(), &database.applied(graph, &options)?, Some(&done))
}

/// The steps of a package's run that failed part-way.
#[derive(serde::Serialize)]
struct Finished<'a> {
    package: &'a str,
    steps: Vec<StepView<'a>>,
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

/// A non-negative number of seconds from the command line.
fn seconds(value: f64, flag: &str) -> Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(value)
        .map_err(|_| anyhow::anyhow!("{flag} {value}: expected a number of seconds, 0 or more"))
}
