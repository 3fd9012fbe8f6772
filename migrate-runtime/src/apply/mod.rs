//! What every driver shares when it applies revisions: the options, the
//! report of each step, and running a section statement by statement so a
//! failure names its file and line.

// The engine helpers here serve the drivers: a build without one (what
// `migrate-macros` and build scripts compile) leaves them unused.
#![cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]

pub(crate) mod format;
pub(crate) mod fresh;
pub(crate) mod history;
pub(crate) mod interrupt;
pub(crate) mod plan;
pub(crate) mod progress;
pub(crate) mod script;
pub(crate) mod sync;

pub use format::CURRENT_FORMAT;
pub use fresh::FROM_SNAPSHOT_MS;
pub use history::{
    create_table_sql, AppliedRevision, MarkState, NotAProgressMark, OtherPackageRevision, ProgressMark,
};
pub use interrupt::Interrupt;
pub use plan::State;
pub use progress::{Event, Progress};
pub use script::{downgrade_script, downgrade_step, upgrade_script, upgrade_step};
pub use sync::{DataLoss, SyncError, SyncMark, SyncPlan, SYNC_MARK};

use crate::model::error::ApplyError;
use crate::model::location::Location;
use crate::model::revision::{Revision, Section};
use crate::sql::split::split_statements;
use std::time::Duration;

/// Settings of an apply run.
///
/// ```
/// let options = migrate_runtime::apply::Options::new("demo");
/// assert_eq!(options.history_table, "migrate_history");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The package whose chain this is; history rows are keyed by it.
    pub package: String,
    pub history_table: String,
    /// Go on when an applied revision's SQL changed since (drift).
    pub allow_drift: bool,
    /// How long to wait for another migrator's lock before giving up.
    pub lock_timeout: Duration,
    /// How long one statement of a revision may wait for a table lock on
    /// PostgreSQL (`lock_timeout`, set for each revision; a revision may
    /// set its own with `SET LOCAL lock_timeout`). A DDL statement that
    /// queues behind a long transaction blocks every query on its table
    /// meanwhile: failing fast is the safe default. Zero waits forever.
    pub statement_lock_timeout: Duration,
    /// How many times a revision whose statement timed out on a lock is
    /// tried again (with a growing pause) before the run fails.
    pub lock_retries: u32,
    /// Stops the run when requested (see [`Interrupt`]); never, by default.
    pub interrupt: Interrupt,
    /// Upgrade a database that holds tables but has no history table yet,
    /// applying every revision from base on top of them. Without it such a
    /// first run is refused.
    pub baseline: bool,
    /// Let `stamp` remove rows of revisions above its target (they were
    /// reverted by hand); without it such a stamp is refused.
    pub allow_unstamp: bool,
    /// How many transactions a run takes: one per revision (the default),
    /// or one for the whole run.
    pub transaction: TransactionScope,
    /// Whether a database with no history starts from the chain's newest
    /// snapshot below the target (the default) or replays every revision.
    pub snapshots: Snapshots,
    /// Where the run says that a revision starts, or that it waits for a
    /// lock; nowhere by default.
    pub progress: Progress,
    /// PostgreSQL, schema per tenant: the one schema this run owns. The
    /// connection's `search_path` must name it first (see
    /// [`Connector::search_path`](crate::database::Connector::search_path)),
    /// so the history table and the revisions' unqualified objects live
    /// there; the migration lock is this schema's own, so tenants of one
    /// database migrate side by side; and a first run judges emptiness by
    /// this schema's tables alone. `None` (the default): the database's.
    pub schema: Option<String>,
    /// What an offline script does with a Rust revision, whose code it
    /// cannot print: refuse (the default) or write a comment in its place.
    pub script_rust: ScriptRust,
}

/// What [`upgrade_script`]/[`downgrade_script`] do with a Rust revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScriptRust {
    /// [`ApplyError::RustInScript`], naming every Rust revision of the plan.
    #[default]
    Refuse,
    /// A comment naming the revision in place of its code, with its history
    /// row written as a live run writes it, so the script records every
    /// revision of the plan; the Rust revisions' code must then run from the
    /// package's runner.
    Comment,
}

/// Whether a run on a database with no history (and no tables) may start
/// from a snapshot ([`crate::chain::Snapshot`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Snapshots {
    /// The newest snapshot at or below the target, in one transaction that
    /// records it and every revision below it as applied; then the rest.
    #[default]
    Use,
    /// Every revision runs: what `check` compares a snapshot with.
    Ignore,
}

/// How many transactions an `upgrade` or `downgrade` run takes.
///
/// ```
/// use migrate_runtime::apply::{Options, TransactionScope};
/// let mut options = Options::new("demo");
/// options.transaction = TransactionScope::All;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransactionScope {
    /// Each revision commits with its history row, so a failure keeps the
    /// revisions before it: the safe default, and the only way a
    /// `transaction: none` revision can run.
    #[default]
    PerRevision,
    /// The whole run is one transaction, history rows included: a fresh
    /// database gets every revision or none, and saves a commit per
    /// revision. Refused, before anything runs, when a revision of the
    /// plan is `transaction: none` ([`ApplyError::TransactionNone`]); a
    /// failure rolls back the whole run ([`ApplyError::RunRolledBack`]).
    All,
}

impl Options {
    pub fn new(package: &str) -> Options {
        Options {
            package: package.to_string(),
            history_table: "migrate_history".to_string(),
            allow_drift: false,
            lock_timeout: Duration::from_secs(60),
            statement_lock_timeout: Duration::from_secs(5),
            lock_retries: 0,
            interrupt: Interrupt::default(),
            baseline: false,
            allow_unstamp: false,
            transaction: TransactionScope::PerRevision,
            snapshots: Snapshots::Use,
            progress: Progress::default(),
            schema: None,
            script_rust: ScriptRust::Refuse,
        }
    }

    /// The name the migration lock's key is made from: the history table,
    /// or `schema.table` for a schema per tenant (so an existing
    /// database's key never changes).
    pub(crate) fn lock_name(&self) -> std::borrow::Cow<'_, str> {
        match &self.schema {
            Some(schema) => format!("{schema}.{}", self.history_table).into(),
            None => self.history_table.as_str().into(),
        }
    }
}

pub use crate::model::Direction;

/// What a step did to one revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Upgrade,
    /// A snapshot applied: the step names its revision, which with every
    /// revision below it is recorded as applied.
    Snapshot,
    Downgrade,
    Stamp,
    Unstamp,
    /// An applied revision's edit accepted: its history row takes the
    /// file's checksum ([`Database::accept_edits`](crate::Database::accept_edits)).
    Accept,
}

impl From<Direction> for Action {
    fn from(direction: Direction) -> Action {
        match direction {
            Direction::Upgrade => Action::Upgrade,
            Direction::Downgrade => Action::Downgrade,
        }
    }
}

/// How `repair` settles a partially applied `transaction: none` revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepairMark {
    /// The rest was finished by hand: keep the row, clear the mark.
    Applied,
    /// What ran was undone by hand: drop the row.
    Reverted,
}

/// One revision applied, reverted or stamped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    pub revision: String,
    pub message: String,
    /// `direction` in JSON, as the field was first named.
    #[serde(rename = "direction")]
    pub action: Action,
    pub elapsed: Duration,
}

impl Step {
    /// The step for `revision`, which started at `started` and just ended.
    pub(crate) fn finished(
        revision: &Revision,
        action: impl Into<Action>,
        started: std::time::Instant,
    ) -> Step {
        Step {
            revision: revision.id.clone(),
            message: revision.message.clone(),
            action: action.into(),
            elapsed: started.elapsed(),
        }
    }
}

/// How many statements a section runs: the `n` of progress marks such as
/// `at statement 2 of n`.
pub(crate) fn count_statements(sql: &str) -> usize {
    split_statements(sql).iter().filter(|s| !s.is_empty()).count()
}

/// Runs `section` statement by statement through `execute`, turning a
/// failure into an error that names the file, line and statement.
#[cfg(feature = "sqlite")]
pub(crate) fn run_section<E: std::fmt::Display>(
    revision: &Revision,
    section: &Section,
    mut execute: impl FnMut(&str) -> Result<(), E>,
) -> Result<(), ApplyError> {
    for statement in split_statements(&section.sql()?) {
        if statement.is_empty() {
            continue;
        }
        if let Err(error) = execute(statement.text) {
            return Err(statement_error(revision, section, statement.line, statement.sql(), &error));
        }
    }
    Ok(())
}

/// The error for a statement that failed at `line` of `section`.
pub(crate) fn statement_error(
    revision: &Revision,
    section: &Section,
    line: usize,
    sql: &str,
    error: &dyn std::fmt::Display,
) -> ApplyError {
    ApplyError::Statement {
        at: statement_location(revision, section, line),
        revision: revision.id.clone(),
        statement: one_line(sql),
        message: error.to_string(),
    }
}

pub(crate) fn statement_location(revision: &Revision, section: &Section, line: usize) -> Location {
    revision.location.at_line(section.first_line + line.saturating_sub(1))
}

/// A statement on one line, shortened for a message.
fn one_line(sql: &str) -> String {
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

/// What `error` means when the run was asked to stop: the cancelled
/// statement's revision rolled back, or, outside a transaction, stopped
/// part-way. Unchanged when nobody asked.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn interrupted(
    graph: &crate::chain::graph::Graph,
    options: &Options,
    error: ApplyError,
) -> ApplyError {
    if !options.interrupt.is_requested() {
        return error;
    }
    match error {
        // A Rust revision stopped by the interrupt, as a statement is.
        ApplyError::Statement { at, revision, .. } | ApplyError::RustFailed { at, revision, .. } => {
            let mode = graph.find(&revision).map(|rev| graph.revision(rev).transaction);
            if mode == Some(crate::model::revision::TransactionMode::None) {
                return ApplyError::InterruptedPartway { at, revision };
            }
            ApplyError::Interrupted { revision: Some(revision) }
        }
        // The cause inside says what stopped; the message says all of the
        // run was rolled back, which is what happened.
        ApplyError::Interrupted { .. }
        | ApplyError::InterruptedPartway { .. }
        | ApplyError::RunRolledBack { .. } => error,
        _ => ApplyError::Interrupted { revision: None },
    }
}

/// A timeout in the whole milliseconds PostgreSQL's `lock_timeout` and
/// SQLite's busy timeout take, where 0 means wait forever: zero stays 0,
/// anything else is rounded up to at least 1 ms, so a sub-millisecond
/// timeout never turns into "wait forever".
pub(crate) fn timeout_ms(timeout: Duration) -> u128 {
    if timeout.is_zero() {
        return 0;
    }
    timeout.as_micros().div_ceil(1000).max(1)
}

/// Refuses a one-transaction run whose plan holds `transaction: none`
/// revisions, naming every one of them, before anything runs.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn ensure_transactional<'r>(
    revisions: impl IntoIterator<Item = &'r Revision>,
) -> Result<(), ApplyError> {
    let outside: Vec<_> = revisions
        .into_iter()
        .filter(|revision| revision.transaction == crate::model::revision::TransactionMode::None)
        .map(|revision| (revision.id.clone(), revision.location.clone()))
        .collect();
    if outside.is_empty() {
        return Ok(());
    }
    Err(ApplyError::TransactionNone { revisions: outside })
}

/// Stops a run between revisions once an interrupt was requested.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn stop_if_interrupted(options: &Options) -> Result<(), ApplyError> {
    if options.interrupt.is_requested() {
        return Err(ApplyError::Interrupted { revision: None });
    }
    Ok(())
}
