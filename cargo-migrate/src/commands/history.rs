//! `cargo migrate history [-r A:B] [--verbose]`: revisions, newest first.

use super::Context;
use crate::cli::HistoryArgs;
use crate::output::{print, print_json};
use crate::view::RevisionView;
use anyhow::{Context as _, Result};
use migrate_runtime::graph::{Graph, Rev};
use migrate_runtime::target::{resolve, split_range};

pub fn run(cx: &Context, args: HistoryArgs) -> Result<()> {
    let (_, graph) = cx.chain()?;
    let mut revs = match &args.rev_range {
        Some(range) => in_range(&graph, range)?,
        None => (0..graph.len()).collect(),
    };
    revs.reverse();
    let views: Vec<RevisionView> = revs.iter().map(|&r| RevisionView::new(&graph, r)).collect();
    if cx.json() {
        return print_json(&views);
    }
    let render = if args.verbose { RevisionView::block } else { RevisionView::line };
    print(&views.iter().map(render).collect::<String>());
    Ok(())
}

/// `A:B`, both ends included, in apply order; `A:` runs to the heads and
/// `:B` from the bases.
fn in_range(graph: &Graph, range: &str) -> Result<Vec<Rev>> {
    let (from, to) = split_range(range).with_context(|| format!("`{range}` is not a range `A:B`"))?;
    let to = if to.is_empty() { graph.heads() } else { resolve(graph, to, &[])? };
    let upto = graph.ancestors(&to);
    let after = match from {
        "" | "base" => vec![true; graph.len()],
        from => graph.descendants(&resolve(graph, from, &[])?),
    };
    Ok((0..graph.len()).filter(|&r| upto[r] && after[r]).collect())
}
