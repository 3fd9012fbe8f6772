//! `cargo migrate show REV`: one revision with its SQL.

use super::{single, Context};
use crate::cli::ShowArgs;
use crate::output::{print, print_json};
use crate::view::RevisionView;
use anyhow::Result;

pub fn run(cx: &Context, args: ShowArgs) -> Result<()> {
    let (_, graph) = cx.chain()?;
    let rev = single(graph, &args.rev)?;
    let view = RevisionView::new(graph, rev).with_sql(graph.revision(rev))?;
    if cx.json() {
        return print_json(&view);
    }
    print(&view.full());
    Ok(())
}
