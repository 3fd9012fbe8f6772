//! `cargo migrate stamp TARGET`: record revisions as applied without running
//! their SQL; forgetting rows above the target needs `--allow-down`
//! (`stamp base --allow-down` forgets them all).

use super::{current, Context};
use crate::cli::StampArgs;
use crate::db;
use crate::output::{paint, print, ID};
use anyhow::Result;
use migrate_runtime::apply::{Action, Options};

pub fn run(cx: &Context, args: StampArgs) -> Result<()> {
    let (package, graph) = cx.chain()?;
    let url = db::url(cx, package)?;
    let database = db::open(&url)?;
    let options = Options { allow_unstamp: args.allow_down, ..db::options(package) };
    let steps = database.stamp(graph, &options, &args.target)?;
    if !cx.json() {
        print(&format!("database {url}\n"));
        for step in &steps {
            let verb = if step.action == Action::Stamp { "stamped  " } else { "unstamped" };
            print(&format!("{verb} {}  {}\n", paint(ID, &step.revision), step.message));
        }
    }
    current::show(cx, package, graph, database.dialect(), &database.applied(graph, &options)?, Some(&steps))
}
