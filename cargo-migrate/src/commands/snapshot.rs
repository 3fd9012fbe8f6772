//! `cargo migrate snapshot [REV]`: writes the schema at REV (default: the
//! head) as `<migrations>/snapshots/<REV>.sql`, the snapshot a database
//! with no history starts from. The schema is built by replaying the chain
//! in a scratch database and written back through the schema model, as
//! autogenerate writes a revision.

use super::Context;
use crate::cli::SnapshotArgs;
use crate::db;
use crate::scratch;
use anyhow::{bail, Context as _, Result};
use migrate_runtime::chain::{snapshot_path, snapshot_text, target, Rev};
use migrate_runtime::schema::{generate, Schema};
use migrate_runtime::Graph;

pub fn run(cx: &Context, args: SnapshotArgs) -> Result<()> {
    let (package, graph) = cx.chain()?;
    let rev = one_revision(graph, &args.target)?;
    let id = &graph.revision(rev).id;
    let dialect = package.config.dialect;
    let scratch = scratch::scratch(dialect, cx.global.database_url(), &package.config.schemas)?;
    let schema = scratch.schema_at(graph, &db::options(package), id).with_context(|| {
        format!("cannot build the schema at revision `{id}` of package `{}`", package.name)
    })?;
    let changes = generate(&Schema::default(), &schema, dialect, &[]);
    if !changes.unsupported.is_empty() {
        let lines: String = changes.unsupported.iter().map(|d| format!("\n  {d}")).collect();
        bail!(
            "the schema at revision `{id}` holds what a snapshot cannot write, so none was written:{lines}"
        );
    }
    let relative = snapshot_path(&package.config.folder, id);
    let path = package.file(&relative);
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).with_context(|| format!("cannot create {}", folder.display()))?;
    }
    let text = snapshot_text(graph, rev, dialect, &changes.upgrade);
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    let below = graph.ancestors(&[rev]).iter().count();
    let text = format!(
        "wrote {}: the schema at {id} ({below} revisions; a database with no history starts from it)\n",
        relative.display()
    );
    let view = serde_json::json!({ "package": package.name, "revision": id, "path": super::display(&relative), "revisions": below });
    cx.report(&text, &view)
}

/// The one revision `text` names; `heads` with several heads names none.
fn one_revision(graph: &Graph, text: &str) -> Result<Rev> {
    match target::parse(graph, text, &[])?.tips.as_slice() {
        [rev] => Ok(*rev),
        [] => bail!("`{text}` names no revision: a snapshot is the schema at one revision"),
        tips => bail!(
            "`{text}` names {} revisions ({}): a snapshot is the schema at one revision; name one",
            tips.len(),
            graph.ids(tips).join(", ")
        ),
    }
}
