//! `cargo migrate rebase REV [--onto REV]`: re-parent a revision (and so the
//! branch it starts) onto another head. After merging two git branches that
//! each added a revision, this turns two heads back into one line without a
//! merge revision.

use super::{single, Context};
use crate::cli::RebaseArgs;
use anyhow::{bail, Context as _, Result};
use migrate_runtime::chain::parse_revision;
use migrate_runtime::chain::set_parents;
use migrate_runtime::chain::{Graph, Rev};
use migrate_runtime::model::Revision;

pub fn run(cx: &Context, args: RebaseArgs) -> Result<()> {
    let (package, graph) = cx.chain()?;
    let rev = single(graph, &args.rev)?;
    let onto = match &args.onto {
        Some(text) => single(graph, text)?,
        None => other_head(graph, rev)?,
    };
    let ids = graph.ids(&[rev, onto]);
    if graph.descendants(&[rev]).contains(onto) {
        bail!("cannot rebase `{}` onto `{}`: it comes after `{}`", ids[0], ids[1], ids[0]);
    }
    if graph.parents(rev) == [onto] {
        bail!("`{}` already revises `{}`", ids[0], ids[1]);
    }
    let revision = graph.revision(rev);
    let path = package.file(&revision.location.path);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let new_text = set_parents(&text, revision.language, &ids[1..]);
    // Validate the whole chain as it would be before touching the file
    // (`Graph::build` orders revisions itself, so where this one goes in the
    // list does not matter).
    let mut revisions: Vec<Revision> =
        graph.revs().filter(|&r| r != rev).map(|r| graph.revision(r).clone()).collect();
    revisions.push(parse_revision(&revision.location.path, &new_text)?);
    Graph::build(revisions)?;
    std::fs::write(&path, new_text).with_context(|| format!("cannot write {}", path.display()))?;
    let was = if revision.parents.is_empty() { "<base>".to_string() } else { revision.parents.join(", ") };
    let view = serde_json::json!({ "id": ids[0], "parents": [ids[1]], "was": revision.parents });
    cx.report(&format!("rebased {}: now revises {} (was {was})\n", ids[0], ids[1]), &view)
}

/// The one head outside `rev`'s own branch.
fn other_head(graph: &Graph, rev: Rev) -> Result<Rev> {
    let own = graph.descendants(&[rev]);
    let others: Vec<Rev> = graph.heads().into_iter().filter(|&h| !own.contains(h)).collect();
    match others.as_slice() {
        [one] => Ok(*one),
        [] => bail!("there is no other head to rebase `{}` onto", graph.revision(rev).id),
        several => bail!("several other heads ({}): choose one with `--onto`", graph.ids(several).join(", ")),
    }
}
