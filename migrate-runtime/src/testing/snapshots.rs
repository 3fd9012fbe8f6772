//! The walk's proof of a chain's snapshots ([`crate::chain::snapshot`]):
//! each one, run in the emptied walk database, must give the schema that
//! replaying the revisions up to its own gives, as `check` proves it. A
//! snapshot that differs, is stale or does not run is a defect of the
//! chain, reported with its file, and the proof goes on to the next one.
//!
//! The replayed schema is the one the walk kept when it passed through
//! exactly the snapshot's ancestors (a linear chain always does); on a
//! branched chain whose other branch came first, the ancestors are
//! upgraded again in the emptied database.

use super::database::TestDatabase;
use super::walk::WalkError;
use crate::apply::{fresh, Direction, Options};
use crate::chain::graph::{Graph, Rev};
use crate::chain::snapshot::Snapshot;
use crate::schema::Schema;
use std::collections::HashMap;

/// The findings of every snapshot of `graph` in `db`'s dialect whose
/// revision is among `walked`, taking the schemas kept in `replayed`.
/// `db` is emptied for each and left empty; an `Err` ends the walk (the
/// database failed, not the chain).
pub(super) fn prove(
    db: &mut dyn TestDatabase,
    graph: &Graph,
    options: &Options,
    walked: &[Rev],
    mut replayed: HashMap<Rev, Schema>,
) -> Result<Vec<WalkError>, WalkError> {
    let dialect = db.dialect();
    let mut findings = Vec::new();
    let snapshots = graph.snapshots().iter().filter(|snapshot| snapshot.dialect == dialect);
    let mut proved = false;
    for snapshot in snapshots {
        let rev = match snapshot.verify(graph, dialect) {
            Ok(rev) => rev,
            Err(error) => {
                findings.push(WalkError::Snapshot(Box::new(error.into())));
                continue;
            }
        };
        if !walked.contains(&rev) {
            continue;
        }
        stop_if_interrupted(options, snapshot)?;
        proved = true;
        let expected = match replayed.remove(&rev) {
            Some(schema) => schema,
            None => replay(db, graph, options, rev)?,
        };
        findings.extend(compare(db, options, snapshot, &expected)?);
    }
    if proved {
        db.reset().map_err(WalkError::Database)?;
    }
    Ok(findings)
}

/// Whether the chain has a snapshot of `rev` in `dialect`.
pub(super) fn has_snapshot(graph: &Graph, rev: Rev, dialect: crate::Dialect) -> bool {
    graph.snapshots().iter().any(|s| s.dialect == dialect && graph.find(&s.revision) == Some(rev))
}

/// The snapshot's schema against `expected`: the defect, if any.
fn compare(
    db: &mut dyn TestDatabase,
    options: &Options,
    snapshot: &Snapshot,
    expected: &Schema,
) -> Result<Option<WalkError>, WalkError> {
    db.reset().map_err(WalkError::Database)?;
    for statement in fresh::statements(snapshot) {
        if let Err(error) = db.execute(statement.text) {
            let error = fresh::statement_error(snapshot, &statement, &error);
            return Ok(Some(WalkError::Snapshot(Box::new(error))));
        }
    }
    let written = db.schema(&options.history_table).map_err(WalkError::Database)?;
    let differences = expected.diff(&written);
    if differences.is_empty() {
        return Ok(None);
    }
    let (revision, at) = (snapshot.revision.clone(), snapshot.file());
    Ok(Some(WalkError::SnapshotMismatch { revision, at, differences }))
}

/// The schema of `rev` and its ancestors upgraded in the emptied `db`.
fn replay(
    db: &mut dyn TestDatabase,
    graph: &Graph,
    options: &Options,
    rev: Rev,
) -> Result<Schema, WalkError> {
    db.reset().map_err(WalkError::Database)?;
    let history = crate::apply::history::create_table_sql(db.dialect(), &options.history_table);
    db.execute(&history).map_err(WalkError::Database)?;
    for ancestor in graph.ancestors(&[rev]).iter() {
        let revision = graph.revision(ancestor);
        db.run_revision(graph, revision, Direction::Upgrade, options)
            .map_err(|error| WalkError::Upgrade { revision: revision.id.clone(), error: Box::new(error) })?;
    }
    db.schema(&options.history_table).map_err(WalkError::Database)
}

fn stop_if_interrupted(options: &Options, snapshot: &Snapshot) -> Result<(), WalkError> {
    match options.interrupt.is_requested() {
        true => Err(WalkError::Interrupted { revision: snapshot.revision.clone() }),
        false => Ok(()),
    }
}
