//! `cargo migrate heads`: the revisions nothing revises yet.

use super::Context;
use crate::output::{print, print_json};
use crate::view::RevisionView;
use anyhow::Result;

pub fn run(cx: &Context) -> Result<()> {
    let (_, graph) = cx.chain()?;
    let views: Vec<RevisionView> = graph.heads().into_iter().map(|r| RevisionView::new(graph, r)).collect();
    if cx.json() {
        return print_json(&views);
    }
    let render = if cx.global.verbose { RevisionView::block } else { RevisionView::line };
    print(&views.iter().map(render).collect::<String>());
    Ok(())
}
