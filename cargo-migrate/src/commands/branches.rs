//! `cargo migrate branches`: each branch point and the revisions leaving it.

use super::Context;
use crate::cli::ListArgs;
use crate::output::{print, print_json};
use crate::view::RevisionView;
use anyhow::Result;

pub fn run(cx: &Context, args: ListArgs) -> Result<()> {
    let (_, graph) = cx.chain()?;
    let points = graph.branch_points();
    if cx.json() {
        let views: Vec<RevisionView> = points.iter().map(|&r| RevisionView::new(&graph, r)).collect();
        return print_json(&views);
    }
    let mut out = String::new();
    for point in points {
        let view = RevisionView::new(&graph, point);
        out += &if args.verbose { view.block() } else { view.line() };
        for &child in graph.children(point) {
            out += &format!("    -> {}", RevisionView::new(&graph, child).line());
        }
    }
    print(&out);
    Ok(())
}
