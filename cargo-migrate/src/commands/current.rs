//! `cargo migrate current`: where the database is. Never writes, not even
//! the history table.

use super::fleet::Job;
use super::Context;
use crate::cli::CurrentArgs;
use crate::db;
use crate::errors::Problem;
use crate::output::{paint, print, ID, TAG};
use crate::project::Package;
use anyhow::Result;
use migrate_runtime::apply::State;
use migrate_runtime::apply::{Action, AppliedRevision, Step};
use migrate_runtime::chain::Rev;
use migrate_runtime::{Dialect, Graph};
use serde::Serialize;

#[derive(Serialize)]
struct CurrentView<'a> {
    package: &'a str,
    database: String,
    current: Vec<String>,
    at_head: bool,
    applied: &'a [AppliedRevision],
    /// The code's revisions not applied, in apply order.
    pending: Vec<String>,
    problems: Vec<Problem>,
    /// What `upgrade`, `downgrade` and `stamp` did, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    steps: Option<Vec<StepView<'a>>>,
}

/// A revision applied, reverted or stamped, for `--format json`.
#[derive(Serialize)]
pub struct StepView<'a> {
    pub revision: &'a str,
    pub message: &'a str,
    /// `upgrade`, `snapshot`, `downgrade`, `stamp` or `unstamp`.
    pub action: Action,
    pub elapsed_ms: f64,
}

impl<'a> StepView<'a> {
    pub fn new(step: &'a Step) -> StepView<'a> {
        StepView {
            revision: &step.revision,
            message: &step.message,
            action: step.action,
            elapsed_ms: step.elapsed.as_secs_f64() * 1000.0,
        }
    }
}

pub fn run(cx: &Context, args: CurrentArgs) -> Result<()> {
    if let Some(fleet) = super::fleet::targets(cx, &args.fleet)? {
        if args.workspace {
            anyhow::bail!("a fleet runs one package's revisions: choose it with `-p`, not `--workspace`");
        }
        let (package, graph) = cx.chain()?;
        return super::fleet::run(cx, package, graph, fleet, Job::Read, "heads", &db::options(package));
    }
    if args.workspace {
        let packages = super::workspace_order(cx)?;
        return packages
            .iter()
            .try_for_each(|(package, graph)| current(cx, package, graph, cx.global.verbose));
    }
    let (package, graph) = cx.chain()?;
    current(cx, package, graph, cx.global.verbose)
}

fn current(cx: &Context, package: &Package, graph: &Graph, verbose: bool) -> Result<()> {
    let url = db::url(cx, package)?;
    let (rows, dialect) = match db::open_read_only(&url)? {
        Some(database) => {
            warn_if_synced(&database, package)?;
            (database.applied(graph, &db::options(package))?, database.dialect())
        }
        None => (Vec::new(), url.dialect()),
    };
    if !cx.json() {
        print(&format!("database {url}\n"));
    }
    if verbose && !cx.json() {
        for row in &rows {
            let ms = match row.execution_ms {
                Some(migrate_runtime::apply::FROM_SNAPSHOT_MS) => ", from a snapshot".to_string(),
                // The history records the time its SQL took, in whole
                // milliseconds; `upgrade`'s line also counts the commit
                // (on SQLite, the write to disk), so the two differ.
                Some(0) => ", its SQL took under 1 ms".to_string(),
                Some(ms) => format!(", its SQL took {ms} ms"),
                None => String::new(),
            };
            print(&format!(
                "  {} applied {}{ms}: {}\n",
                paint(ID, &row.revision),
                row.applied_at,
                row.message
            ));
        }
    }
    show(cx, package, graph, dialect, &rows, None)
}

/// The database's current revisions that the code has, read without
/// writing: none when its SQLite file does not exist yet. (The state's own
/// graph may hold stand-ins for revisions the code lacks; its indices are
/// not the code graph's, so revisions travel back by id.)
pub fn revisions(cx: &Context, package: &Package, graph: &Graph) -> Result<Vec<Rev>> {
    let Some(database) = db::open_read_only(&db::url(cx, package)?)? else { return Ok(Vec::new()) };
    let rows = database.applied(graph, &db::options(package))?;
    let state = State::new(graph, rows);
    let ids = state.graph().ids(&state.current());
    Ok(ids.iter().filter_map(|id| graph.find(id)).collect())
}

/// Prints the current revisions and anything wrong with them.
pub fn show(
    cx: &Context,
    package: &Package,
    graph: &Graph,
    dialect: Dialect,
    rows: &[AppliedRevision],
    steps: Option<&[Step]>,
) -> Result<()> {
    let state = State::new(graph, rows.to_vec());
    let current = state.current();
    // The code's heads, by id: the state's graph may also hold stand-ins.
    let heads = graph.ids(&graph.heads());
    let is_head = |rev: Rev| heads.contains(&state.graph().revision(rev).id);
    let at_head = !current.is_empty() && current.iter().all(|&r| is_head(r));
    let mut problems: Vec<Problem> = state.ensure_clean().err().iter().map(Problem::with_hint).collect();
    problems.extend(state.ensure_not_ahead().err().as_ref().map(Problem::with_hint));
    problems.extend(state.drift(dialect).iter().map(Problem::with_hint));
    let pending = super::diff::pending(graph, rows);
    if cx.json() {
        return cx.document(&CurrentView {
            pending: pending.iter().map(|r| r.id.clone()).collect(),
            package: &package.name,
            database: db::url(cx, package)?.to_string(),
            current: state.graph().ids(&current),
            at_head,
            applied: rows,
            problems,
            steps: steps.map(|steps| steps.iter().map(StepView::new).collect()),
        });
    }
    let mut out = String::new();
    if current.is_empty() {
        out += "current <base> (no revision applied)\n";
    }
    for &rev in &current {
        let revision = state.graph().revision(rev);
        let tag = match state.row(rev).and_then(|row| row.dirty.as_deref()) {
            Some(progress) => format!(" {}", paint(TAG, &format!("(partially applied: {progress})"))),
            None if is_head(rev) => format!(" {}", paint(TAG, "(head)")),
            None => String::new(),
        };
        out += &format!("current {}{tag}, {}\n", paint(ID, &revision.id), revision.message);
    }
    // What `upgrade heads` would apply, as sqlx's `migrate info` and
    // Alembic's `history --indicate-current` show it.
    for revision in &pending {
        out += &format!("pending {}, {}\n", paint(ID, &revision.id), revision.message);
    }
    for problem in problems {
        out += &format!("warning: {}\n", problem.message);
    }
    print(&out);
    Ok(())
}

/// A synced database's history says nothing of its schema: say so, with
/// the way back to revisions.
pub fn warn_if_synced(database: &migrate_runtime::Database, package: &Package) -> Result<()> {
    if let Some(mark) = database.synced(&db::options(package))? {
        let error = migrate_runtime::ApplyError::Synced { synced_at: mark.synced_at, schema: mark.source };
        crate::output::print_warning(&crate::hint::with_hint(&error));
    }
    Ok(())
}
