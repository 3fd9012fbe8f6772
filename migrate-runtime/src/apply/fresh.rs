//! Starting a database with no history from a snapshot: which snapshot, the
//! history rows it records, and the error for one of its statements. The
//! engines run it in one transaction before the rest of the run.

use crate::apply::history::AppliedRevision;
use crate::apply::{Options, Snapshots};
use crate::chain::graph::{Graph, Rev};
use crate::chain::snapshot::{newest_below, Snapshot};
use crate::chain::target;
use crate::model::error::ApplyError;
use crate::model::revision::Dialect;
use crate::sql::split::{split_statements, Statement};

/// What a history row's `execution_ms` holds for a revision recorded from
/// a snapshot: it was not run on its own, so it took no time of its own.
/// No run writes a negative time, so the value marks the row without a
/// column of its own (the history table's format stays as it is).
pub const FROM_SNAPSHOT_MS: i64 = -1;

/// The snapshot a run to `target` starts from and the rows it records:
/// its revision and every ancestor, in apply order, marked
/// [`FROM_SNAPSHOT_MS`].
pub(crate) struct FreshStart<'g> {
    pub(crate) snapshot: &'g Snapshot,
    pub(crate) revision: Rev,
    pub(crate) rows: Vec<AppliedRevision>,
}

/// The fresh start of a run to `target`, if the options allow one and a
/// snapshot lies below the target (verified against the chain). The caller
/// decides that the database has no history and no tables.
pub(crate) fn fresh_start<'g>(
    graph: &'g Graph,
    options: &Options,
    dialect: Dialect,
    target: &str,
) -> Result<Option<FreshStart<'g>>, ApplyError> {
    if options.snapshots == Snapshots::Ignore || graph.snapshots().is_empty() {
        return Ok(None);
    }
    let tips = target::parse(graph, target, &[])?.tips;
    let Some((snapshot, revision)) = newest_below(graph, dialect, &tips)? else { return Ok(None) };
    let rows = graph
        .ancestors(&[revision])
        .iter()
        .map(|rev| {
            let row = AppliedRevision::for_revision(graph.revision(rev), dialect)?;
            Ok(AppliedRevision { execution_ms: Some(FROM_SNAPSHOT_MS), ..row })
        })
        .collect::<Result<_, ApplyError>>()?;
    Ok(Some(FreshStart { snapshot, revision, rows }))
}

/// The snapshot's statements, each with its line in the file.
pub(crate) fn statements(snapshot: &Snapshot) -> impl Iterator<Item = Statement<'_>> {
    split_statements(&snapshot.sql).into_iter().filter(|statement| !statement.is_empty())
}

/// The error for a snapshot statement that failed.
pub(crate) fn statement_error(
    snapshot: &Snapshot,
    statement: &Statement<'_>,
    error: &dyn std::fmt::Display,
) -> ApplyError {
    let first = snapshot.location.line.unwrap_or(1);
    ApplyError::SnapshotStatement {
        at: snapshot.location.at_line(first + statement.line.saturating_sub(1)),
        revision: snapshot.revision.clone(),
        statement: statement.sql().split_whitespace().collect::<Vec<_>>().join(" "),
        message: error.to_string(),
    }
}
