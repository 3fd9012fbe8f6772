//! `cargo migrate history [-r A:B] [--verbose]`: revisions, newest first.
//! A relative end (`-r -1:`) steps from the database's current revisions,
//! read without writing, as in Alembic.

use super::{current, Context};
use crate::cli::HistoryArgs;
use crate::output::{print, print_json};
use crate::project::Package;
use crate::view::RevisionView;
use anyhow::Result;
use migrate_runtime::chain::target::{is_relative, range, split_range};
use migrate_runtime::chain::{Graph, Rev};

pub fn run(cx: &Context, args: HistoryArgs) -> Result<()> {
    let (package, graph) = cx.chain()?;
    let mut revs = match &args.rev_range {
        Some(text) => in_range(cx, package, graph, text)?,
        None => graph.revs().collect(),
    };
    revs.reverse();
    let views: Vec<RevisionView> = revs.iter().map(|&r| RevisionView::new(graph, r)).collect();
    if cx.json() {
        return print_json(&views);
    }
    let render = if cx.global.verbose { RevisionView::block } else { RevisionView::line };
    print(&views.iter().map(render).collect::<String>());
    Ok(())
}

/// `A:B`, both ends included, in apply order; `A:` runs to the heads and
/// `:B` from the bases. A reversed or unrelated range is an error.
fn in_range(cx: &Context, package: &Package, graph: &Graph, text: &str) -> Result<Vec<Rev>> {
    let relative = split_range(text).is_some_and(|(a, b)| is_relative(a) || is_relative(b));
    let current = if relative { current::revisions(cx, package, graph)? } else { Vec::new() };
    let range = range(graph, text, &current)?;
    let upto = graph.ancestors(&range.to.tips);
    Ok(match range.from.as_slice() {
        [] => upto.iter().collect(),
        from => {
            let after = graph.descendants(from);
            upto.iter().filter(|&r| after.contains(r)).collect()
        }
    })
}
