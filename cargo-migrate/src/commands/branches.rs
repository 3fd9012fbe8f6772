//! `cargo migrate branches`: where the chain divides. The bases, when there
//! are several (each starts a chain of its own), then each branch point and
//! the revisions leaving it.

use super::Context;
use crate::output::{print, print_json};
use crate::view::RevisionView;
use anyhow::Result;
use migrate_runtime::chain::{Graph, Rev};
use serde::Serialize;

/// `--format json`: every base (one or several) and every branch point.
#[derive(Serialize)]
struct BranchesView<'a> {
    bases: Vec<RevisionView<'a>>,
    branch_points: Vec<RevisionView<'a>>,
}

pub fn run(cx: &Context) -> Result<()> {
    let (_, graph) = cx.chain()?;
    let (bases, points) = (graph.bases(), graph.branch_points());
    if cx.json() {
        let views = |revs: &[Rev]| revs.iter().map(|&r| RevisionView::new(graph, r)).collect();
        return print_json(&BranchesView { bases: views(&bases), branch_points: views(&points) });
    }
    let render = |rev: Rev| {
        let view = RevisionView::new(graph, rev);
        if cx.global.verbose {
            view.block()
        } else {
            view.line()
        }
    };
    let mut out = String::new();
    if bases.len() > 1 {
        out += "bases:\n";
        out.extend(bases.iter().map(|&base| render(base)));
        if !points.is_empty() {
            out += "branch points:\n";
        }
    }
    for point in points {
        out += &render(point);
        out += &children(graph, point);
    }
    print(&out);
    Ok(())
}

/// `    -> child` lines under a branch point.
fn children(graph: &Graph, point: Rev) -> String {
    graph.children(point).iter().map(|&c| format!("    -> {}", RevisionView::new(graph, c).line())).collect()
}
