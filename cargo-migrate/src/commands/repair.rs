//! `cargo migrate repair`: explain and settle revisions a failed or killed
//! `transaction: none` run left partially applied.

use super::Context;
use crate::cli::{RepairArgs, RepairMarkArg};
use crate::db;
use crate::output::{paint, print, ID};
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
        if dirty.is_empty() {
            print("nothing to repair: no revision is partially applied\n");
            return Ok(());
        }
        for (revision, progress) in dirty {
            print(&format!("{} was partially applied: {progress}\n", paint(ID, revision)));
        }
        print("\nFinish or undo its statements by hand, then run `cargo migrate repair --mark applied` or `--mark reverted`.\n");
        return Ok(());
    };
    let database = db::open(&url)?;
    let (mark, word) = match mark {
        RepairMarkArg::Applied => (RepairMark::Applied, "applied"),
        RepairMarkArg::Reverted => (RepairMark::Reverted, "reverted"),
    };
    let settled = database.repair(graph, &options, mark)?;
    if settled.is_empty() {
        print("nothing to repair: no revision is partially applied\n");
    }
    for (revision, progress) in settled {
        print(&format!("repaired {} (was {progress}): marked {word}\n", paint(ID, &revision)));
    }
    Ok(())
}
