//! A chain's SQL run up and down on a fresh in-memory SQLite database, for
//! `embed_migrations!(verify = "sqlite")` and the build-script API: every
//! revision up in apply order, then down in reverse order until the first
//! irreversible one. Only the SQL runs (no history table), statement by
//! statement, so an error names the file, line and statement.

use crate::apply::run_section;
use crate::model::Revision;
use crate::{ApplyError, Dialect, Graph};

/// Which part of the run failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leg {
    Open,
    Up,
    Down,
}

pub(crate) fn run_up_and_down(graph: &Graph) -> Result<(), (Leg, Box<ApplyError>)> {
    let conn = rusqlite::Connection::open_in_memory()
        .map_err(|e| (Leg::Open, Box::new(ApplyError::Database(e.into()))))?;
    let run = |sql: &str| conn.execute_batch(sql).map_err(sqlite_message);
    // A Rust revision's code is not compiled yet while its chain is being
    // embedded: the SQL is verified up to the first one.
    let sql_prefix = graph.revisions().iter().position(Revision::is_rust).unwrap_or(graph.len());
    let verified = &graph.revisions()[..sql_prefix];
    for revision in verified {
        let section = revision.upgrade_section(Dialect::Sqlite).map_err(|e| (Leg::Up, Box::new(e)))?;
        run_section(revision, section, run).map_err(|e| (Leg::Up, Box::new(e)))?;
    }
    for revision in verified.iter().rev() {
        let Some(section) = revision.downgrade_for(Dialect::Sqlite) else { break };
        run_section(revision, section, run).map_err(|e| (Leg::Down, Box::new(e)))?;
    }
    Ok(())
}

/// SQLite's own message: rusqlite's display repeats the statement, which
/// the error already shows on a line of its own.
fn sqlite_message(error: rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqlInputError { msg, .. } => msg,
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg,
        other => other.to_string(),
    }
}
