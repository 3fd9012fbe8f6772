//! `cargo migrate merge -m MSG REV...`: a revision whose parents are several
//! heads, joining their branches.

use super::new::{checked_new_id, Created};
use super::{display, write_new_file, Context};
use crate::cli::MergeArgs;
use anyhow::{bail, Result};
use migrate_runtime::chain::target::resolve;
use migrate_runtime::chain::NewRevision;
use migrate_runtime::chain::Rev;

pub fn run(cx: &Context, args: MergeArgs) -> Result<()> {
    let (package, graph) = cx.chain()?;
    let mut revs: Vec<Rev> = Vec::new();
    for text in &args.revs {
        revs.extend(resolve(graph, text, &[])?);
    }
    revs.sort_unstable();
    revs.dedup();
    if revs.len() < 2 {
        bail!("a merge needs at least two revisions; got {}", graph.ids(&revs).join(", "));
    }
    for &rev in &revs {
        let below = graph.ancestors(&[rev]);
        if let Some(&ancestor) = revs.iter().find(|&&other| other != rev && below.contains(other)) {
            let ids = graph.ids(&[ancestor, rev]);
            bail!(
                "`{}` is already an ancestor of `{}`: merge only revisions on different branches",
                ids[0],
                ids[1]
            );
        }
    }
    let mut new = NewRevision::new(graph.ids(&revs), &args.message);
    if let Some(id) = args.rev_id {
        new.id = checked_new_id(graph, id)?;
    }
    let path = write_new_file(package, &new.file_name(), &new.render())?;
    let text = format!(
        "created merge {} of {} in package `{}`\n",
        display(&path),
        new.parents.join(", "),
        package.name
    );
    cx.report(&text, &Created::revision(&package.name, &path, &new, ""))
}
