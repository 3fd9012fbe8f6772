//! `cargo migrate repair`: explain and settle revisions a failed or killed
//! `transaction: none` run left partially applied.

use super::Context;
use crate::cli::{RepairArgs, RepairMarkArg};
use crate::db;
use crate::output::{paint, ID};
use anyhow::Result;
use migrate_runtime::apply::RepairMark;

pub fn run(cx: &Context, args: RepairArgs) -> Result<()> {
    let (package, graph) = cx.chain()?;
    let url = db::url(cx, package)?;
    let options = db::options(package);
    let Some(mark) = args.mark else {
        let rows = match db::open_read_only(&url)? {
            Some(database) => database.applied(graph, &options)?,
            None => Vec::new(),
        };
        let dirty: Vec<_> = rows.iter().filter_map(|r| Some((&r.revision, r.dirty.as_ref()?))).collect();
        let view = serde_json::json!({
            "dirty": dirty.iter().map(|(revision, progress)| serde_json::json!({ "revision": revision, "progress": progress })).collect::<Vec<_>>(),
        });
        let mut text: String = dirty
            .iter()
            .map(|(revision, progress)| {
                format!("{} was partially applied: {progress}\n", paint(ID, revision))
            })
            .collect();
        text += match dirty.is_empty() {
            true => "nothing to repair: no revision is partially applied\n",
            false => "\nFinish or undo its statements by hand, then run `cargo migrate repair --mark applied` or `--mark reverted`.\n",
        };
        return cx.report(&text, &view);
    };
    let database = db::open(&url)?;
    let (mark, word) = match mark {
        RepairMarkArg::Applied => (RepairMark::Applied, "applied"),
        RepairMarkArg::Reverted => (RepairMark::Reverted, "reverted"),
    };
    let settled = database.repair(graph, &options, mark)?;
    let mut text: String = settled
        .iter()
        .map(|(revision, progress)| {
            format!("repaired {} (was {progress}): marked {word}\n", paint(ID, revision))
        })
        .collect();
    if settled.is_empty() {
        text += "nothing to repair: no revision is partially applied\n";
    }
    let repaired: Vec<_> = settled
        .iter()
        .map(|(revision, progress)| serde_json::json!({ "revision": revision, "was": progress, "marked": word }))
        .collect();
    cx.report(&text, &serde_json::json!({ "repaired": repaired }))
}
