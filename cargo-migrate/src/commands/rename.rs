//! `cargo migrate rename REV SUMMARY`: a new slug; the id prefix stays.

use super::{display, single, Context};
use crate::cli::RenameArgs;
use crate::output::print;
use anyhow::{bail, Context as _, Result};
use migrate_runtime::chain::file_name;

pub fn run(cx: &Context, args: RenameArgs) -> Result<()> {
    let (package, graph) = cx.chain()?;
    let revision = graph.revision(single(graph, &args.rev)?);
    let old = revision.location.path.clone();
    let new = package.config.folder.join(file_name(&revision.id, &args.summary));
    if old == new {
        bail!("{} already has that name", display(&old));
    }
    let target = package.file(&new);
    if target.exists() {
        bail!("{} already exists", display(&new));
    }
    std::fs::rename(package.file(&old), &target)
        .with_context(|| format!("cannot rename {} to {}", display(&old), display(&new)))?;
    print(&format!("renamed {} -> {}\n", display(&old), display(&new)));
    Ok(())
}
