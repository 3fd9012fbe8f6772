//! `cargo migrate stamp TARGET`: record revisions as applied without running
//! their SQL; forgetting rows above the target needs `--allow-down`
//! (`stamp base --allow-down` forgets them all).

use super::{current, Context};
use crate::cli::StampArgs;
use crate::db;
use crate::output::{paint, print, ID};
use anyhow::{bail, Result};
use migrate_runtime::apply::{Action, Options, Step};
use migrate_runtime::chain::target;
use migrate_runtime::database::Database;
use migrate_runtime::Graph;

pub fn run(cx: &Context, args: StampArgs) -> Result<()> {
    let (package, graph) = cx.chain()?;
    let url = db::url(cx, package)?;
    let database = db::open(&url)?;
    let options = Options { allow_unstamp: args.allow_down, ..db::options(package) };
    let steps = match args.update_checksum {
        true => accept(graph, &database, &options, &args.target)?,
        false => database.stamp(graph, &options, &args.target)?,
    };
    if !cx.json() && !cx.global.quiet {
        print(&format!("database {url}\n"));
        for step in &steps {
            let verb = match step.action {
                Action::Stamp => "stamped  ",
                Action::Accept => "accepted the edit of",
                _ => "unstamped",
            };
            print(&format!("{verb} {}  {}\n", paint(ID, &step.revision), step.message));
        }
    }
    current::show(cx, package, graph, database.dialect(), &database.applied(graph, &options)?, Some(&steps))
}

/// `--update-checksum`: the edits of TARGET's revisions accepted; none
/// edited is an error, so a typo cannot pass for an accepted edit.
fn accept(graph: &Graph, database: &Database, options: &Options, target: &str) -> Result<Vec<Step>> {
    let revs = target::resolve(graph, target, &[])?;
    let ids = graph.ids(&revs);
    let wanted: Vec<&str> = ids.iter().map(String::as_str).collect();
    let steps = database.accept_edits(graph, options, &wanted)?;
    if steps.is_empty() {
        bail!(
            "{} {} not edited since applied (or not applied): nothing to accept",
            ids.join(", "),
            if ids.len() == 1 { "was" } else { "were" }
        );
    }
    Ok(steps)
}
