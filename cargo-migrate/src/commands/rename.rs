//! `cargo migrate rename REV SUMMARY`: a new slug and `message` header line;
//! the id prefix, and so the id, stays.

use super::{display, single, Context};
use crate::cli::RenameArgs;
use anyhow::{bail, Context as _, Result};
use migrate_runtime::chain::{file_name, set_header};

pub fn run(cx: &Context, args: RenameArgs) -> Result<()> {
    let (package, graph) = cx.chain()?;
    let revision = graph.revision(single(graph, &args.rev)?);
    let old = revision.location.path.clone();
    let new = package.config.folder.join(file_name(&revision.id, &args.summary, revision.language));
    // A new message with the same slug (other capitals, say) rewrites the
    // message line in place.
    let same_file = old == new;
    if same_file && revision.message == args.summary {
        bail!("{} already has that name and message", display(&old));
    }
    let target = package.file(&new);
    if !same_file && target.exists() {
        bail!("{} already exists", display(&new));
    }
    let text = std::fs::read_to_string(package.file(&old))
        .with_context(|| format!("cannot read {}", display(&old)))?;
    // The new file is written whole before the old one goes, so a failure
    // leaves one of the two complete.
    std::fs::write(&target, set_header(&text, revision.language, "message", &args.summary))
        .with_context(|| format!("cannot write {}", display(&new)))?;
    if !same_file {
        std::fs::remove_file(package.file(&old))
            .with_context(|| format!("cannot remove {}", display(&old)))?;
    }
    let view = serde_json::json!({ "id": revision.id, "from": display(&old), "to": display(&new), "message": args.summary });
    cx.report(&format!("renamed {} -> {}\n", display(&old), display(&new)), &view)
}
