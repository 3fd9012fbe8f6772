//! Applying revisions to SQLite through rusqlite.
//!
//! Each revision runs in its own `BEGIN IMMEDIATE` transaction with its
//! history row. `IMMEDIATE` takes SQLite's write lock up front (waiting up to
//! the lock timeout), and the history is re-read inside it whenever another
//! connection committed since (`PRAGMA data_version`), so processes racing on
//! one file apply every revision exactly once, and the first run on an empty
//! file creates the history table without a race.

// What changed in a schema between two steps of the walk.
#[cfg(feature = "testing")]
pub(crate) mod changes;
pub(crate) mod introspect;

pub use introspect::introspect;
pub(crate) mod verify;

mod foreign_keys;
mod format;
mod writable;

use crate::apply::fresh::{self, fresh_start};
use crate::apply::history::{self, AppliedRevision, OtherPackageRevision, ProgressMark};
use crate::apply::plan::{ensure_empty_or_baseline, State};
use crate::apply::progress::{Counter, Waiting};
use crate::apply::sync::{self, SyncError, SyncPlan};
use crate::apply::{
    count_statements, ensure_transactional, interrupted, run_section, statement_error, stop_if_interrupted,
    Action, Direction, Options, RepairMark, Snapshots, Step, TransactionScope,
};
use crate::chain::graph::{Graph, Rev};
use crate::data::{self, Handle};
use crate::model::error::{ApplyError, DatabaseError};
use crate::model::revision::{Dialect, Revision, Section, TransactionMode};
use foreign_keys::{checked, dangling_rows, wants_them_off, without_new_dangling_rows, ForeignKeys};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

const DIALECT: Dialect = Dialect::Sqlite;

/// Applies one package's revisions to a SQLite connection.
///
/// ```
/// # let text = "-- revision: a1b2c3d4e5f6\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n-- migrate:downgrade\nDROP TABLE t;\n";
/// # let revision = migrate_runtime::chain::parse_revision("migrations/a1b2c3d4e5f6_.sql".as_ref(), text).unwrap();
/// # let graph = migrate_runtime::Graph::build(vec![revision]).unwrap();
/// use migrate_runtime::{apply::Options, sqlite::SqliteMigrator};
/// let conn = rusqlite::Connection::open_in_memory()?;
/// let options = Options::new("demo");
/// let steps = SqliteMigrator::new(&conn, &graph, &options).upgrade("head", &mut |_| {})?;
/// assert_eq!(steps[0].revision, "a1b2c3d4e5f6");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SqliteMigrator<'a> {
    conn: &'a Connection,
    graph: &'a Graph,
    options: &'a Options,
}

impl<'a> SqliteMigrator<'a> {
    pub fn new(conn: &'a Connection, graph: &'a Graph, options: &'a Options) -> SqliteMigrator<'a> {
        SqliteMigrator { conn, graph, options }
    }

    /// The applied revisions. Writes nothing: a database without a history
    /// table has applied nothing.
    pub fn applied(&self) -> Result<Vec<AppliedRevision>, ApplyError> {
        self.wait_for_writers()?;
        read_rows(self.conn, self.options).map_err(|error| busy_named(self.conn, error, self.options))
    }

    /// Every access waits out another connection's write lock (up to the
    /// lock timeout) instead of failing with `SQLITE_BUSY`: in rollback-journal
    /// mode even a plain read is refused while another process commits.
    fn wait_for_writers(&self) -> Result<(), ApplyError> {
        self.conn.busy_timeout(busy_wait(self.options.lock_timeout)).map_err(database)
    }

    /// Applies revisions up to `target` (`head`, `heads`, an id, `+2`, …).
    pub fn upgrade(&self, target: &str, on_step: &mut dyn FnMut(&Step)) -> Result<Vec<Step>, ApplyError> {
        self.interruptible(|| self.run_steps(target, Direction::Upgrade, on_step))
    }

    /// Reverts revisions down to `target` (`-1`, `base`, an id, …).
    pub fn downgrade(&self, target: &str, on_step: &mut dyn FnMut(&Step)) -> Result<Vec<Step>, ApplyError> {
        self.interruptible(|| self.run_steps(target, Direction::Downgrade, on_step))
    }

    /// Runs `body` so that the options' interrupt stops the statement in
    /// progress (SQLite's `sqlite3_interrupt`), and says so in its error.
    fn interruptible(
        &self,
        body: impl FnOnce() -> Result<Vec<Step>, ApplyError>,
    ) -> Result<Vec<Step>, ApplyError> {
        let handle = self.conn.get_interrupt_handle();
        self.options.interrupt.cancelling_with(move || handle.interrupt(), body).map_err(|error| {
            interrupted(self.graph, self.options, busy_named(self.conn, error, self.options))
        })
    }

    /// Records `target` and its ancestors as applied without running SQL,
    /// and forgets the applied revisions above it (what a downgrade to it
    /// would revert) only when `allow_unstamp` says so; rows of other
    /// branches stay. Clears partial-application marks.
    pub fn stamp(&self, target: &str) -> Result<Vec<Step>, ApplyError> {
        self.stamp_writable(target).map_err(|error| busy_named(self.conn, error, self.options))
    }

    fn stamp_writable(&self, target: &str) -> Result<Vec<Step>, ApplyError> {
        let options = self.options;
        writable::ensure_writable(self.conn)?;
        self.wait_for_writers()?;
        let _progress = self.settle_progress()?;
        let tx = begin(self.conn, options)?;
        format::create_or_upgrade(&tx, options)?;
        let state = State::new(self.graph, read_rows(&tx, options)?);
        let (add, remove) = state.stamp_plan(target, &state.resolve(target)?, options)?;
        let mut steps = Vec::new();
        for rev in remove {
            let id = &state.graph().revision(rev).id;
            tx.execute_batch(&history::delete_sql(&options.history_table, &options.package, id))
                .map_err(database)?;
            steps.push(Step::finished(state.graph().revision(rev), Action::Unstamp, Instant::now()));
        }
        for rev in add {
            let row = AppliedRevision::for_revision(state.graph().revision(rev), DIALECT)?;
            insert_row(&tx, options, &row)?;
            steps.push(Step::finished(state.graph().revision(rev), Action::Stamp, Instant::now()));
        }
        tx.execute_batch(&history::clear_marks_sql(&options.history_table, &options.package))
            .map_err(database)?;
        tx.execute_batch(&sync::forget_sql(&options.history_table, &options.package)).map_err(database)?;
        tx.commit().map_err(database)?;
        Ok(steps)
    }

    /// Runs `plan` (a [`SyncPlan`]) in one `BEGIN IMMEDIATE`
    /// transaction with the package's sync mark, creating the history
    /// table when there is none. A plan that rebuilds a referenced table
    /// runs with foreign keys off and fails, rolled back, if it leaves rows
    /// breaking one that did not before.
    pub fn sync(&self, plan: &SyncPlan, source: &str) -> Result<(), SyncError> {
        writable::ensure_writable(self.conn)?;
        self.wait_for_writers()?;
        let mut foreign_keys = ForeignKeys::read(self.conn)?;
        foreign_keys.must_switch(plan.turns_foreign_keys_off());
        foreign_keys.apply()?;
        let started = Instant::now();
        let tx = begin(self.conn, self.options)?;
        format::create_or_upgrade(&tx, self.options)?;
        let before = dangling_rows(&tx)?;
        for statement in plan.runnable() {
            tx.execute_batch(statement).map_err(|error| SyncError::Statement {
                statement: sync::one_line(statement),
                message: error.to_string(),
            })?;
        }
        let violations: Vec<String> =
            dangling_rows(&tx)?.into_iter().filter(|v| !before.contains(v)).collect();
        if !violations.is_empty() {
            return Err(SyncError::ForeignKeyCheck { violations });
        }
        let ms = i64::try_from(started.elapsed().as_millis()).ok();
        let mark = sync::mark_sql(DIALECT, &self.options.history_table, &self.options.package, source, ms);
        tx.execute_batch(&mark).map_err(database)?;
        tx.commit().map_err(database)?;
        Ok(())
    }

    /// Settles revisions left partially applied; returns them with the
    /// progress they had recorded.
    pub fn repair(&self, mark: RepairMark) -> Result<Vec<(String, String)>, ApplyError> {
        self.repair_writable(mark).map_err(|error| busy_named(self.conn, error, self.options))
    }

    fn repair_writable(&self, mark: RepairMark) -> Result<Vec<(String, String)>, ApplyError> {
        writable::ensure_writable(self.conn)?;
        self.wait_for_writers()?;
        let options = self.options;
        let _progress = self.settle_progress()?;
        let tx = begin(self.conn, options)?;
        format::upgrade_existing(&tx, options)?;
        let dirty: Vec<(String, String)> =
            read_rows(&tx, options)?.into_iter().filter_map(|row| Some((row.revision, row.dirty?))).collect();
        let sql = history::repair_sql(DIALECT, &options.history_table, mark);
        for (revision, _) in &dirty {
            tx.execute(&sql, params![options.package, revision]).map_err(database)?;
        }
        tx.commit().map_err(database)?;
        Ok(dirty)
    }

    /// A progress mark that a live migrator is still moving is not for
    /// `stamp` or `repair` to settle: when there is a mark, wait for any
    /// such migrator (as PostgreSQL waits for the advisory lock) and hold
    /// its lock meanwhile.
    fn settle_progress(&self) -> Result<Option<Connection>, ApplyError> {
        if read_rows(self.conn, self.options)?.iter().all(|row| row.dirty.is_none()) {
            return Ok(None);
        }
        hold_progress_lock(self.conn, self.options.lock_timeout)
    }

    /// One revision per transaction until the target is reached. The plan
    /// is made once and made again only when another connection committed.
    fn run_steps(
        &self,
        target: &str,
        direction: Direction,
        on_step: &mut dyn FnMut(&Step),
    ) -> Result<Vec<Step>, ApplyError> {
        self.wait_for_writers()?;
        // Most start-ups have nothing to do: find that out with a plain read,
        // without taking the write lock other processes would wait for.
        // Anything else, errors included, is decided under the lock: a
        // `transaction: none` revision in progress elsewhere looks like a
        // partial application from outside.
        let state = read_state(self.conn, self.graph, self.options)?;
        if state
            .plan_from_start(direction, target, &mut None, self.options, DIALECT)
            .is_ok_and(|revs| revs.is_empty())
        {
            return Ok(Vec::new());
        }
        writable::ensure_writable(self.conn)?;
        let mut run = Run {
            target,
            direction,
            start: None,
            plan: None,
            steps: Vec::new(),
            counter: Counter::default(),
        };
        if direction == Direction::Upgrade {
            if let Some(done) = self.start_from_snapshot(target)? {
                on_step(&done);
                run.steps.push(done);
            }
        }
        if self.options.transaction == TransactionScope::All {
            return self.run_as_one(run, on_step);
        }
        let mut foreign_keys = ForeignKeys::read(self.conn)?;
        loop {
            foreign_keys.apply()?;
            let tx = begin(self.conn, self.options)?;
            let version = data_version(&tx)?;
            if run.plan.as_ref().is_none_or(|(seen, _)| *seen != version) {
                match self.plan_under_lock(&tx, &mut run, &mut foreign_keys, on_step)? {
                    Planned::Revisions(revs) => run.plan = Some((version, revs)),
                    Planned::Again => continue,
                    Planned::Finished => {
                        tx.commit().map_err(database)?;
                        return Ok(run.steps);
                    }
                }
            }
            let Some(&rev) = run.plan.as_ref().and_then(|(_, revs)| revs.front()) else {
                tx.commit().map_err(database)?;
                return Ok(run.steps);
            };
            // Read once here: the steps below read its SQL several times.
            let loaded = self.graph.revision(rev).loaded(direction)?;
            let revision = loaded.as_ref();
            // The pragma cannot change inside a transaction: end this one
            // (it wrote nothing but, at most, the history table) and begin
            // again with foreign keys as the revision wants them.
            if foreign_keys.must_switch(wants_them_off(revision, direction)) {
                tx.commit().map_err(database)?;
                continue;
            }
            stop_if_interrupted(self.options)?;
            // The plan still holds this revision, at its front.
            let remaining = run.plan.as_ref().map_or(1, |(_, revs)| revs.len());
            run.plan.as_mut().map(|(_, revs)| revs.pop_front());
            run.counter.start(&self.options.progress, revision, direction, remaining);
            let done = run_one(self.conn, tx, revision, direction, self.options)?;
            on_step(&done);
            run.steps.push(done);
        }
    }

    /// [`TransactionScope::All`]: plans under the write lock and runs the
    /// whole plan in that one transaction, history rows included. With
    /// foreign keys off for one revision, all run so and the transaction
    /// is checked as a whole, as stand-ins are. Steps are reported once
    /// the transaction committed: before, none of them is applied.
    fn run_as_one(&self, mut run: Run<'_>, on_step: &mut dyn FnMut(&Step)) -> Result<Vec<Step>, ApplyError> {
        let mut foreign_keys = ForeignKeys::read(self.conn)?;
        loop {
            foreign_keys.apply()?;
            let tx = begin(self.conn, self.options)?;
            let revs = match self.plan_under_lock(&tx, &mut run, &mut foreign_keys, on_step)? {
                Planned::Revisions(revs) => revs,
                Planned::Again => continue,
                Planned::Finished => {
                    tx.commit().map_err(database)?;
                    return Ok(run.steps);
                }
            };
            let revisions: Vec<&Revision> = revs.iter().map(|&rev| self.graph.revision(rev)).collect();
            ensure_transactional(revisions.iter().copied())?;
            if foreign_keys.must_switch(revisions.iter().any(|r| wants_them_off(r, run.direction))) {
                tx.commit().map_err(database)?;
                continue;
            }
            let steps = self
                .run_all(&tx, &revisions, run.direction, foreign_keys.off())
                .map_err(|cause| ApplyError::RunRolledBack { cause: Box::new(cause) })?;
            tx.commit().map_err(database)?;
            steps.iter().for_each(&mut *on_step);
            run.steps.extend(steps);
            return Ok(run.steps);
        }
    }

    /// A database with no history and no tables starts from the chain's
    /// newest snapshot below the target: its SQL and the history rows of
    /// the revisions it stands for, in one transaction. Decided under the
    /// write lock, so of racing first runs one applies it and the others
    /// find its history; the snapshot is looked at (and a stale one
    /// refused) only for such a database.
    fn start_from_snapshot(&self, target: &str) -> Result<Option<Step>, ApplyError> {
        let options = self.options;
        if options.snapshots == Snapshots::Ignore || self.graph.snapshots().is_empty() {
            return Ok(None);
        }
        let tx = begin(self.conn, options)?;
        if !read_rows(&tx, options)?.is_empty() || !user_tables(&tx, options)?.is_empty() {
            return Ok(None);
        }
        let Some(start) = fresh_start(self.graph, options, DIALECT, target)? else { return Ok(None) };
        let started = Instant::now();
        format::create_or_upgrade(&tx, options)?;
        for statement in fresh::statements(start.snapshot) {
            tx.execute_batch(statement.text)
                .map_err(|error| fresh::statement_error(start.snapshot, &statement, &error))?;
        }
        start.rows.iter().try_for_each(|row| insert_row(&tx, options, row))?;
        tx.commit().map_err(database)?;
        Ok(Some(Step::finished(self.graph.revision(start.revision), Action::Snapshot, started)))
    }

    /// Runs `revisions` in the caller's transaction, each with its history
    /// row; with `keys_off`, fails if the whole leaves rows breaking a
    /// foreign key that did not before.
    fn run_all(
        &self,
        tx: &Connection,
        revisions: &[&Revision],
        direction: Direction,
        keys_off: bool,
    ) -> Result<Vec<Step>, ApplyError> {
        let mut counter = Counter::default();
        let mut run = || {
            revisions
                .iter()
                .enumerate()
                .map(|(i, revision)| {
                    stop_if_interrupted(self.options)?;
                    counter.start(&self.options.progress, revision, direction, revisions.len() - i);
                    // Read once: a step reads its SQL several times.
                    let loaded = revision.loaded(direction)?;
                    match direction {
                        Direction::Upgrade => apply_in(tx, &loaded, self.options),
                        Direction::Downgrade => revert_revision(tx, &loaded, self.options),
                    }
                })
                .collect()
        };
        match revisions.first().filter(|_| keys_off) {
            Some(first) => without_new_dangling_rows(tx, first, first.location.clone(), run),
            None => run(),
        }
    }

    /// Plans (again) under the write lock: creates the history table, waits
    /// for a revision another migrator has in progress, and reverts
    /// stand-ins (revisions the code does not have) right here, since they
    /// live only in the state's graph.
    fn plan_under_lock(
        &self,
        tx: &Transaction<'_>,
        run: &mut Run<'_>,
        foreign_keys: &mut ForeignKeys,
        on_step: &mut dyn FnMut(&Step),
    ) -> Result<Planned, ApplyError> {
        let options = self.options;
        if run.direction == Direction::Upgrade && !table_exists(tx, &options.history_table)? {
            ensure_empty_or_baseline(&user_tables(tx, options)?, options)?;
        }
        format::create_or_upgrade(tx, options)?;
        let state = read_state(tx, self.graph, options)?;
        let revs = match state.plan_from_start(run.direction, run.target, &mut run.start, options, DIALECT) {
            Err(ApplyError::Dirty { revision, progress }) if ProgressMark::stored_in_progress(&progress) => {
                // Another migrator may be running it right now: wait for
                // that one to finish (outside this transaction), then look
                // again.
                tx.execute_batch("ROLLBACK").map_err(database)?;
                if !wait_for_progress(self.conn, options)? {
                    return Err(ApplyError::Dirty { revision, progress });
                }
                run.plan = None;
                return Ok(Planned::Again);
            }
            revs => revs?,
        };
        if state.unknown().is_empty() {
            return Ok(Planned::Revisions(revs.into_iter().collect()));
        }
        let wanted = revs.iter().any(|&rev| wants_them_off(state.graph().revision(rev), run.direction));
        if foreign_keys.must_switch(wanted) {
            return Ok(Planned::Again);
        }
        let keys_off = foreign_keys.off();
        revert_stand_ins(tx, &state, &revs, keys_off, options, &mut |done| {
            on_step(&done);
            run.steps.push(done);
        })?;
        Ok(Planned::Finished)
    }
}

/// Where a run stands: what it was asked, where it started (by id, for
/// relative targets), its plan with the data version it was made at, and
/// the steps done.
struct Run<'t> {
    target: &'t str,
    direction: Direction,
    start: Option<Vec<String>>,
    plan: Option<(i64, VecDeque<Rev>)>,
    steps: Vec<Step>,
    counter: Counter,
}

/// What planning under the lock decided.
enum Planned {
    /// Run these, one transaction each.
    Revisions(VecDeque<Rev>),
    /// Begin a new transaction and plan again.
    Again,
    /// Done in this transaction: commit it.
    Finished,
}

/// The history rows, this package's and the others', over the graph. The
/// table's format is looked up once for both reads: this runs on every
/// start-up.
fn read_state<'g>(conn: &Connection, graph: &'g Graph, options: &Options) -> Result<State<'g>, ApplyError> {
    let Some(format) = format::readable(conn, options)? else { return Ok(State::new(graph, Vec::new())) };
    Ok(State::new(graph, rows_in(conn, options, format)?)
        .with_other_packages(&options.package, other_packages_in(conn, options, format)?))
}

/// Applies or reverts one revision in a transaction of its own, as
/// `upgrade` and `downgrade` do: the walk's way to run a Rust revision,
/// whose compiled function no `--sql` text can hold.
#[cfg(feature = "testing")]
pub(crate) fn run_revision(
    conn: &Connection,
    revision: &Revision,
    direction: Direction,
    options: &Options,
) -> Result<Step, ApplyError> {
    let tx = begin(conn, options)?;
    run_one(conn, tx, revision, direction, options)
}

/// Applies or reverts one revision, committing `tx` as it goes.
fn run_one(
    conn: &Connection,
    tx: Transaction<'_>,
    revision: &Revision,
    direction: Direction,
    options: &Options,
) -> Result<Step, ApplyError> {
    match direction {
        Direction::Upgrade => apply_revision(conn, tx, revision, options),
        Direction::Downgrade if revision.transaction == TransactionMode::None && revision.is_rust() => {
            code_outside_transaction(conn, tx, revision, options, Direction::Downgrade)
        }
        Direction::Downgrade if revision.transaction == TransactionMode::None => {
            revert_outside_transaction(conn, tx, revision, options)
        }
        Direction::Downgrade => {
            let done = revert_revision(&tx, revision, options)?;
            tx.commit().map_err(database)?;
            Ok(done)
        }
    }
}

/// Reverts `revs` of `state`'s graph, stand-ins for revisions the code
/// does not have, in one transaction. With foreign keys off for one of
/// them, all run so, and the whole transaction is checked.
fn revert_stand_ins(
    tx: &Connection,
    state: &State<'_>,
    revs: &[Rev],
    keys_off: bool,
    options: &Options,
    done: &mut dyn FnMut(Step),
) -> Result<(), ApplyError> {
    let mut revert_all = || {
        revs.iter().try_for_each(|&rev| {
            done(revert_revision(tx, state.graph().revision(rev), options)?);
            Ok(())
        })
    };
    match revs.first().filter(|_| keys_off) {
        Some(&first) => {
            let first = state.graph().revision(first);
            without_new_dangling_rows(tx, first, first.location.clone(), revert_all)
        }
        None => revert_all(),
    }
}

fn apply_revision(
    conn: &Connection,
    tx: Transaction<'_>,
    revision: &Revision,
    options: &Options,
) -> Result<Step, ApplyError> {
    if revision.transaction == TransactionMode::None && revision.is_rust() {
        return code_outside_transaction(conn, tx, revision, options, Direction::Upgrade);
    }
    if revision.transaction == TransactionMode::None {
        let section = revision.upgrade_section(DIALECT)?;
        let row = AppliedRevision::for_revision(revision, DIALECT)?;
        return apply_outside_transaction(conn, tx, revision, section, row, options);
    }
    let done = apply_in(&tx, revision, options)?;
    tx.commit().map_err(database)?;
    Ok(done)
}

/// Runs a transactional revision's upgrade and inserts its history row,
/// inside the caller's transaction.
fn apply_in(tx: &Connection, revision: &Revision, options: &Options) -> Result<Step, ApplyError> {
    let started = Instant::now();
    let mut row = AppliedRevision::for_revision(revision, DIALECT)?;
    if revision.is_rust() {
        run_code(tx, revision, Direction::Upgrade, options)?;
    } else {
        let section = revision.upgrade_section(DIALECT)?;
        checked(tx, revision, section, || run_section(revision, section, |sql| tx.execute_batch(sql)))?;
    }
    row.execution_ms = Some(started.elapsed().as_millis() as i64);
    insert_row(tx, options, &row)?;
    Ok(Step::finished(revision, Direction::Upgrade, started))
}

/// A `transaction: none` revision: the history row is written first with a
/// progress mark, then each statement runs on its own, the mark moving
/// before each one. A crash or failure leaves the mark, which later runs
/// refuse to go past.
fn apply_outside_transaction(
    conn: &Connection,
    tx: Transaction<'_>,
    revision: &Revision,
    section: &Section,
    mut row: AppliedRevision,
    options: &Options,
) -> Result<Step, ApplyError> {
    let started = Instant::now();
    let sql = section.sql()?;
    let first = ProgressMark::before_first(Direction::Upgrade, count_statements(&sql));
    row.dirty = Some(first.to_string());
    insert_row(&tx, options, &row)?;
    let _progress = hold_progress_lock(conn, options.lock_timeout)?;
    tx.commit().map_err(database)?;
    run_statements(conn, revision, section, &sql, options, Direction::Upgrade)?;
    set_mark(conn, revision, options, None, Some(started.elapsed().as_millis() as i64))?;
    Ok(Step::finished(revision, Direction::Upgrade, started))
}

/// A `transaction: none` revision's downgrade, statement by statement too,
/// its row marked until it is deleted at the end.
fn revert_outside_transaction(
    conn: &Connection,
    tx: Transaction<'_>,
    revision: &Revision,
    options: &Options,
) -> Result<Step, ApplyError> {
    let started = Instant::now();
    let section = revision.downgrade_section(DIALECT)?;
    let sql = section.sql()?;
    let first = ProgressMark::before_first(Direction::Downgrade, count_statements(&sql));
    set_mark(&tx, revision, options, Some(&first), None)?;
    let _progress = hold_progress_lock(conn, options.lock_timeout)?;
    tx.commit().map_err(database)?;
    run_statements(conn, revision, section, &sql, options, Direction::Downgrade)?;
    let delete = history::delete_sql(&options.history_table, &options.package, &revision.id);
    conn.execute_batch(&delete).map_err(database)?;
    Ok(Step::finished(revision, Direction::Downgrade, started))
}

/// Runs a Rust revision's function for `direction` on `conn`: inside the
/// caller's transaction, or outside any for `transaction: none`.
fn run_code(
    conn: &Connection,
    revision: &Revision,
    direction: Direction,
    options: &Options,
) -> Result<(), ApplyError> {
    let function = data::function(revision, direction)?;
    let mut handle = Handle::on_sqlite(conn, &options.interrupt);
    data::block_on(data::run(function, &mut handle)).map_err(|error| data::failed(revision, direction, error))
}

/// A `transaction: none` Rust revision, as a SQL one with one statement:
/// its row marked before the code runs outside any transaction, the mark
/// left failed when the code fails (what it did is not rolled back).
fn code_outside_transaction(
    conn: &Connection,
    tx: Transaction<'_>,
    revision: &Revision,
    options: &Options,
    direction: Direction,
) -> Result<Step, ApplyError> {
    let started = Instant::now();
    let first = ProgressMark::before_first(direction, 1);
    match direction {
        Direction::Upgrade => {
            let mut row = AppliedRevision::for_revision(revision, DIALECT)?;
            row.dirty = Some(first.to_string());
            insert_row(&tx, options, &row)?;
        }
        Direction::Downgrade => set_mark(&tx, revision, options, Some(&first), None)?,
    }
    let _progress = hold_progress_lock(conn, options.lock_timeout)?;
    tx.commit().map_err(database)?;
    let running = ProgressMark { statement: 1, ..first };
    set_mark(conn, revision, options, Some(&running), None)?;
    if let Err(error) = run_code(conn, revision, direction, options) {
        set_mark(conn, revision, options, Some(&running.failed()), None)?;
        return Err(error);
    }
    match direction {
        Direction::Upgrade => {
            set_mark(conn, revision, options, None, Some(started.elapsed().as_millis() as i64))?
        }
        Direction::Downgrade => conn
            .execute_batch(&history::delete_sql(&options.history_table, &options.package, &revision.id))
            .map_err(database)?,
    }
    Ok(Step::finished(revision, direction, started))
}

/// Runs a section's statements one by one outside any transaction, moving
/// the revision's progress mark before each and leaving it failed when one
/// fails.
fn run_statements(
    conn: &Connection,
    revision: &Revision,
    section: &Section,
    sql: &str,
    options: &Options,
    direction: Direction,
) -> Result<(), ApplyError> {
    for (mark, statement) in history::marked_statements(direction, section, sql) {
        set_mark(conn, revision, options, Some(&mark), None)?;
        if let Err(error) = conn.execute_batch(statement.text) {
            // An interrupted run keeps its mark, as on PostgreSQL.
            let interrupted = options.interrupt.is_requested();
            if history::failed_before_any_change(&mark, statement.sql()) && !interrupted {
                forget_attempt(conn, revision, options, direction)?;
            } else {
                set_mark(conn, revision, options, Some(&mark.failed()), None)?;
            }
            return Err(statement_error(revision, section, statement.line, statement.sql(), &error));
        }
    }
    Ok(())
}

/// Undoes the bookkeeping of a `transaction: none` revision none of whose
/// statements took effect: an upgrade's history row goes, a downgrade's
/// mark is cleared (the revision stays applied).
fn forget_attempt(
    conn: &Connection,
    revision: &Revision,
    options: &Options,
    direction: Direction,
) -> Result<(), ApplyError> {
    match direction {
        Direction::Upgrade => {
            let delete = history::delete_sql(&options.history_table, &options.package, &revision.id);
            conn.execute_batch(&delete).map_err(database)
        }
        Direction::Downgrade => set_mark(conn, revision, options, None, None),
    }
}

/// Writes the revision's progress mark (`None` clears it) and, when given,
/// its execution time.
fn set_mark(
    conn: &Connection,
    revision: &Revision,
    options: &Options,
    mark: Option<&ProgressMark>,
    ms: Option<i64>,
) -> Result<(), ApplyError> {
    let sql = history::mark_sql(DIALECT, &options.history_table);
    let dirty = mark.map(ToString::to_string);
    conn.execute(&sql, params![options.package, revision.id, dirty, ms]).map_err(database).map(drop)
}

/// Runs a revision's downgrade and deletes its row, inside the caller's
/// transaction.
fn revert_revision(tx: &Connection, revision: &Revision, options: &Options) -> Result<Step, ApplyError> {
    let started = Instant::now();
    if revision.is_rust() {
        run_code(tx, revision, Direction::Downgrade, options)?;
    } else {
        let section = revision.downgrade_section(DIALECT)?;
        checked(tx, revision, section, || run_section(revision, section, |sql| tx.execute_batch(sql)))?;
    }
    tx.execute_batch(&history::delete_sql(&options.history_table, &options.package, &revision.id))
        .map_err(database)?;
    Ok(Step::finished(revision, Direction::Downgrade, started))
}

/// The lock a migrator holds while it runs a `transaction: none` revision
/// outside SQLite's write lock: an exclusive transaction on the file
/// `<database>-migrate-lock` next to the database. The operating system
/// drops it when the process dies, so other migrators can tell a revision
/// in progress (wait) from one a killed process left behind (refuse at
/// once). `None` for an in-memory database, which no other process sees.
///
/// Waits up to `wait`: the previous holder may be between clearing its mark
/// and letting go. (`stamp` and `repair` take this lock before the write
/// lock, a migrator applying a revision after it; should both meet, which
/// takes another package settling a mark at that very moment, one of them
/// times out.)
fn hold_progress_lock(conn: &Connection, wait: Duration) -> Result<Option<Connection>, ApplyError> {
    let Some(path) = progress_lock_path(conn) else { return Ok(None) };
    let lock = Connection::open(&path).map_err(database)?;
    lock.busy_timeout(busy_wait(wait)).map_err(database)?;
    lock.execute_batch("BEGIN EXCLUSIVE").map_err(|error| progress_locked(&path, wait, error))?;
    Ok(Some(lock))
}

/// The error for a progress lock that stayed taken past `wait`.
fn progress_locked(path: &str, wait: Duration, error: rusqlite::Error) -> ApplyError {
    if error.sqlite_error_code() != Some(ErrorCode::DatabaseBusy) {
        return database(error);
    }
    ApplyError::LockTimeout {
        seconds: wait.as_secs(),
        holder: format!(
            "another migrator holds `{path}` while it runs or settles a `transaction: none` revision"
        ),
    }
}

/// Waits until no migrator holds the progress lock: `true` once the one
/// that held it is done, `false` when nobody held it (the progress mark is
/// stale: whoever left it is gone), an error when it stays held past the
/// lock timeout.
fn wait_for_progress(conn: &Connection, options: &Options) -> Result<bool, ApplyError> {
    let Some(path) = progress_lock_path(conn) else { return Ok(false) };
    let lock = Connection::open(&path).map_err(database)?;
    // rusqlite waits 5 s by default: this first try must not wait at all.
    lock.busy_timeout(Duration::ZERO).map_err(database)?;
    if lock.execute_batch("BEGIN EXCLUSIVE").is_ok() {
        return Ok(false);
    }
    lock.busy_timeout(busy_wait(options.lock_timeout)).map_err(database)?;
    lock.execute_batch("BEGIN EXCLUSIVE").map_err(|e| progress_locked(&path, options.lock_timeout, e))?;
    Ok(true)
}

fn progress_lock_path(conn: &Connection) -> Option<String> {
    conn.path().filter(|path| !path.is_empty()).map(|path| format!("{path}-migrate-lock"))
}

/// `BEGIN IMMEDIATE`: SQLite's write lock, waited for up to the lock
/// timeout. Transactions are opened on a shared connection so a
/// `transaction: none` revision can commit its claim and go on.
///
/// When a [`Progress`](crate::apply::Progress) listens, the wait is taken
/// in slices so that it can be told who is in the way (SQLite names no
/// holder: another connection to the file).
fn begin<'c>(conn: &'c Connection, options: &Options) -> Result<Transaction<'c>, ApplyError> {
    let whole = busy_wait(options.lock_timeout);
    let mut waiting = Waiting::new(&options.progress);
    let started = Instant::now();
    loop {
        let left = whole.saturating_sub(started.elapsed());
        let slice = waiting.until_due().map_or(left, |due| due.min(left));
        conn.busy_timeout(slice.max(Duration::from_millis(1))).map_err(database)?;
        match Transaction::new_unchecked(conn, TransactionBehavior::Immediate) {
            Ok(tx) => return Ok(tx),
            Err(error) if is_busy(&error) && slice < left => {
                waiting.tell(&format!(
                    "another connection holds the write lock of `{}`",
                    conn.path().unwrap_or(":memory:")
                ));
            }
            Err(error) => return Err(busy_named(conn, database(error), options)),
        }
    }
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(error.sqlite_error_code(), Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

fn insert_row(conn: &Connection, options: &Options, row: &AppliedRevision) -> Result<(), ApplyError> {
    let sql = format!(
        "INSERT INTO {} ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        history::quote_ident(&options.history_table),
        history::INSERT_COLUMNS
    );
    let params = params![
        options.package,
        row.revision,
        row.parents.join(","),
        row.depends_on.join(","),
        row.checksum,
        row.message,
        row.downgrade_sql,
        row.transactional,
        row.execution_ms,
        row.dirty
    ];
    conn.prepare_cached(&sql).and_then(|mut s| s.execute(params)).map_err(database)?;
    Ok(())
}

fn read_rows(conn: &Connection, options: &Options) -> Result<Vec<AppliedRevision>, ApplyError> {
    match format::readable(conn, options)? {
        Some(format) => rows_in(conn, options, format),
        None => Ok(Vec::new()),
    }
}

/// This package's rows of a history table in `format`.
fn rows_in(conn: &Connection, options: &Options, format: u32) -> Result<Vec<AppliedRevision>, ApplyError> {
    let mut statement =
        conn.prepare(&history::select_sql(DIALECT, &options.history_table, format)).map_err(database)?;
    let rows = statement
        .query_map([&options.package], |r| {
            Ok(AppliedRevision {
                revision: r.get(0)?,
                parents: history::parse_parents(&r.get::<_, String>(1)?),
                depends_on: history::parse_parents(&r.get::<_, String>(2)?),
                checksum: r.get(3)?,
                message: r.get(4)?,
                downgrade_sql: r.get(5)?,
                transactional: r.get(6)?,
                applied_at: r.get(7)?,
                execution_ms: r.get(8)?,
                dirty: r.get(9)?,
            })
        })
        .map_err(database)?;
    rows.collect::<Result<_, _>>().map_err(database)
}

/// The other packages' rows of a history table in `format`.
fn other_packages_in(
    conn: &Connection,
    options: &Options,
    format: u32,
) -> Result<Vec<OtherPackageRevision>, ApplyError> {
    let sql = history::select_others_sql(DIALECT, &options.history_table, format);
    let mut statement = conn.prepare(&sql).map_err(database)?;
    let rows = statement
        .query_map([&options.package], |r| {
            Ok(OtherPackageRevision {
                package: r.get(0)?,
                revision: r.get(1)?,
                depends_on: history::parse_parents(&r.get::<_, String>(2)?),
            })
        })
        .map_err(database)?;
    rows.collect::<Result<_, _>>().map_err(database)
}

fn table_exists(conn: &Connection, name: &str) -> Result<bool, ApplyError> {
    let sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1";
    let found: Option<i64> = conn.query_row(sql, [name], |r| r.get(0)).optional().map_err(database)?;
    Ok(found.is_some())
}

/// The tables and views of a database other than the history table, its
/// format record and SQLite's own.
fn user_tables(conn: &Connection, options: &Options) -> Result<Vec<String>, ApplyError> {
    let sql = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') \
               AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> ?1 AND name <> ?1 || '_format' ORDER BY name";
    let mut statement = conn.prepare(sql).map_err(database)?;
    let names = statement.query_map([&options.history_table], |r| r.get(0)).map_err(database)?;
    names.collect::<Result<_, _>>().map_err(database)
}

/// SQLite's busy timeout for a lock timeout: zero waits forever (as on
/// PostgreSQL and in `--sql` scripts), where SQLite's zero would not wait
/// at all; anything else at least a millisecond, SQLite's unit, so a
/// shorter one does not become "no wait" either.
fn busy_wait(timeout: Duration) -> Duration {
    // The longest wait SQLite takes (a C int of milliseconds), 24 days.
    const FOREVER: Duration = Duration::from_millis(i32::MAX as u64);
    match crate::apply::timeout_ms(timeout) {
        0 => FOREVER,
        ms => Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX)).min(FOREVER),
    }
}

fn data_version(conn: &Connection) -> Result<i64, ApplyError> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0)).map_err(database)
}

fn database(error: rusqlite::Error) -> ApplyError {
    ApplyError::Database(error.into())
}

/// rusqlite's `Display` is how every SQLite error this crate reports reads.
impl From<rusqlite::Error> for DatabaseError {
    fn from(error: rusqlite::Error) -> DatabaseError {
        DatabaseError::new(error.to_string(), error)
    }
}

/// A driver error saying another connection held the database's lock past
/// the busy timeout (SQLite's own words, "database is locked", name neither
/// the file nor the timeout) as [`ApplyError::SqliteBusy`]; any other error
/// as it is.
fn busy_named(conn: &Connection, error: ApplyError, options: &Options) -> ApplyError {
    let ApplyError::Database(driver) = &error else { return error };
    let code = driver.driver().downcast_ref::<rusqlite::Error>().and_then(rusqlite::Error::sqlite_error_code);
    if !matches!(code, Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)) {
        return error;
    }
    let path = conn.path().filter(|path| !path.is_empty()).unwrap_or(":memory:").to_string();
    ApplyError::SqliteBusy { path, seconds: options.lock_timeout.as_secs() }
}
