//! Applying revisions to PostgreSQL through tokio-postgres.
//!
//! A run reads the history and plans without a lock. Each transactional
//! revision then runs in a transaction that takes the migration lock
//! (`pg_try_advisory_xact_lock`, polled, so a waiting migrator holds no
//! transaction open that another's `CREATE INDEX CONCURRENTLY` would wait
//! for), checks under it that the history is as planned (else the run plans
//! again), and sends the revision as one batch: the text `--sql` prints
//! from its `SET LOCAL lock_timeout` on. The lock ends with the transaction,
//! so a pooler that moves the session between server connections (PgBouncer
//! in transaction mode) cannot strand it; queries with parameters use
//! unnamed statements for the same reason. A `transaction: none` revision,
//! whose statements are transactions of their own, holds a session lock.

// The walk's change log and fingerprints.
#[cfg(feature = "testing")]
pub(crate) mod changes;
mod code;
pub(crate) mod connect;
mod format;
pub(crate) mod introspect;
pub(crate) mod tls;

pub use introspect::{introspect, introspect_schemas};

use crate::apply::format::CURRENT_FORMAT;
use crate::apply::fresh::{self, fresh_start};
use crate::apply::history::{self, AppliedRevision, OtherPackageRevision, ProgressMark};
use crate::apply::plan::{ensure_empty_or_baseline, State};
use crate::apply::progress::{Counter, Waiting};
use crate::apply::script::{downgrade_step_under_lock, lock_timeout_sql, upgrade_step_under_lock};
use crate::apply::sync::{self, SyncError, SyncPlan};
use crate::apply::{
    count_statements, ensure_transactional, interrupted, statement_error, statement_location,
    stop_if_interrupted, Action, Direction, Options, RepairMark, Snapshots, Step, TransactionScope,
};
use crate::chain::graph::Graph;
use crate::model::error::{ApplyError, DatabaseError};
use crate::model::revision::{Dialect, Revision, Section, TransactionMode};
use crate::sql::split::split_statements;
use std::time::{Duration, Instant};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, SimpleQueryMessage};

const DIALECT: Dialect = Dialect::Postgres;
const POLL: Duration = Duration::from_millis(100);

/// Applies one package's revisions to a PostgreSQL database.
///
/// ```no_run
/// # async fn run(graph: &migrate_runtime::Graph) -> Result<(), Box<dyn std::error::Error>> {
/// use migrate_runtime::{apply::Options, postgres::PostgresMigrator};
/// let (client, connection) = tokio_postgres::connect("postgres://app@localhost/app", tokio_postgres::NoTls).await?;
/// tokio::spawn(connection);
/// let options = Options::new("app");
/// let steps = PostgresMigrator::new(&client, graph, &options).upgrade("head", &mut |step| {
///     println!("applied {} in {:?}", step.revision, step.elapsed);
/// }).await?;
/// # Ok(()) }
/// ```
pub struct PostgresMigrator<'a> {
    client: &'a Client,
    graph: &'a Graph,
    options: &'a Options,
}

impl<'a> PostgresMigrator<'a> {
    pub fn new(client: &'a Client, graph: &'a Graph, options: &'a Options) -> PostgresMigrator<'a> {
        PostgresMigrator { client, graph, options }
    }

    /// The applied revisions. Writes nothing, takes no lock: a database
    /// without a history table has applied nothing.
    pub async fn applied(&self) -> Result<Vec<AppliedRevision>, ApplyError> {
        Ok(read_all(self.client, self.options).await?.0)
    }

    /// Applies revisions up to `target` (`head`, `heads`, an id, `+2`, …).
    pub async fn upgrade(
        &self,
        target: &str,
        on_step: &mut dyn FnMut(&Step),
    ) -> Result<Vec<Step>, ApplyError> {
        // Most start-ups have nothing to do: find that out with one read,
        // without waiting for the lock another migrator may hold for minutes.
        let (rows, others) = read_rows(self.client, self.options, Read::Planning).await?;
        let state = State::new(self.graph, rows).with_other_packages(&self.options.package, others);
        // Anything else, errors included, is decided under the lock: from
        // outside, a `transaction: none` revision that another migrator is
        // running looks partially applied.
        if state
            .plan_from_start(Direction::Upgrade, target, &mut None, self.options, DIALECT)
            .is_ok_and(|revs| revs.is_empty())
        {
            return Ok(Vec::new());
        }
        let run = self.run(target, Direction::Upgrade, on_step).await;
        run.map_err(|error| interrupted(self.graph, self.options, error))
    }

    /// Reverts revisions down to `target` (`-1`, `base`, an id, …).
    pub async fn downgrade(
        &self,
        target: &str,
        on_step: &mut dyn FnMut(&Step),
    ) -> Result<Vec<Step>, ApplyError> {
        let run = self.run(target, Direction::Downgrade, on_step).await;
        run.map_err(|error| interrupted(self.graph, self.options, error))
    }

    /// Records `target` and its ancestors as applied without running SQL,
    /// and forgets the applied revisions above it (what a downgrade to it
    /// would revert) only when `allow_unstamp` says so; rows of other
    /// branches stay. Clears partial-application marks.
    pub async fn stamp(&self, target: &str) -> Result<Vec<Step>, ApplyError> {
        self.prepare(Direction::Downgrade).await?;
        self.in_transaction(self.stamp_locked(target)).await
    }

    /// Runs `plan` (a [`SyncPlan`]) in one transaction holding
    /// the migration lock, with the package's sync mark, creating the
    /// history table when there is none.
    pub async fn sync(&self, plan: &SyncPlan, source: &str) -> Result<(), SyncError> {
        self.prepare(Direction::Downgrade).await?;
        self.begin_with_lock().await?;
        let result = self.sync_locked(plan, source).await;
        if result.is_err() {
            let _ = self.client.batch_execute("ROLLBACK").await;
            return result;
        }
        self.client.batch_execute("COMMIT").await.map_err(database)?;
        Ok(())
    }

    async fn sync_locked(&self, plan: &SyncPlan, source: &str) -> Result<(), SyncError> {
        for statement in plan.runnable() {
            self.client.batch_execute(statement).await.map_err(|error| SyncError::Statement {
                statement: sync::one_line(statement),
                message: describe(&error),
            })?;
        }
        let mark = sync::mark_sql(DIALECT, &self.options.history_table, &self.options.package, source, None);
        self.client.batch_execute(&mark).await.map_err(database)?;
        Ok(())
    }

    /// Settles revisions left partially applied; returns them with the
    /// progress they had recorded.
    pub async fn repair(&self, mark: RepairMark) -> Result<Vec<(String, String)>, ApplyError> {
        self.in_transaction(self.repair_locked(mark)).await
    }

    /// Opens a transaction holding the migration lock: a lock that ends
    /// with the transaction, so a pooler that hands the session's next
    /// statement to another server connection cannot strand it. Taken by
    /// polling, each try its own short transaction: a migrator that waits
    /// holds no transaction open, so another's `CREATE INDEX CONCURRENTLY`
    /// (which waits for every open transaction) never waits for it.
    async fn begin_with_lock(&self) -> Result<(), ApplyError> {
        let deadline = deadline(self.options.lock_timeout);
        let try_lock = history::try_transaction_lock_sql(&self.options.lock_name());
        let mut waiting = Waiting::new(&self.options.progress);
        loop {
            let messages = match self.client.simple_query(&try_lock).await {
                Ok(messages) => messages,
                Err(error) => {
                    let _ = self.client.batch_execute("ROLLBACK").await;
                    return Err(database(error));
                }
            };
            let held =
                messages.iter().any(|m| matches!(m, SimpleQueryMessage::Row(row) if row.get(0) == Some("t")));
            if held && self.options.interrupt.is_requested() {
                // Asked to stop while waiting: start nothing.
                let _ = self.client.batch_execute("ROLLBACK").await;
                return Err(ApplyError::Interrupted { revision: None });
            }
            if held {
                return Ok(());
            }
            self.client.batch_execute("ROLLBACK").await.map_err(database)?;
            stop_if_interrupted(self.options)?;
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Err(self.lock_timeout().await);
            }
            if waiting.due() {
                waiting.tell(&self.holder(lock_key(&self.options.lock_name())).await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Runs `body` under the advisory lock and releases it whatever happens.
    async fn locked<T, F: std::future::Future<Output = Result<T, ApplyError>>>(
        &self,
        body: impl FnOnce() -> F,
    ) -> Result<T, ApplyError> {
        let key = lock_key(&self.options.lock_name());
        self.acquire(key).await?;
        let result = body().await;
        let released = self.client.query_typed("SELECT pg_advisory_unlock($1)", &[(&key, Type::INT8)]).await;
        match (result, released) {
            (Ok(value), Ok(_)) => Ok(value),
            (Ok(_), Err(error)) => Err(database(error)),
            // The body's error is the one worth reporting; the lock goes
            // with the session anyway if the connection is broken.
            (Err(error), _) => Err(error),
        }
    }

    async fn acquire(&self, key: i64) -> Result<(), ApplyError> {
        let deadline = deadline(self.options.lock_timeout);
        let mut waiting = Waiting::new(&self.options.progress);
        loop {
            let rows = self
                .client
                .query_typed("SELECT pg_try_advisory_lock($1)", &[(&key, Type::INT8)])
                .await
                .map_err(database)?;
            if rows.first().is_some_and(|row| row.get::<_, bool>(0)) {
                return Ok(());
            }
            stop_if_interrupted(self.options)?;
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Err(ApplyError::LockTimeout {
                    seconds: self.options.lock_timeout.as_secs(),
                    holder: self.holder(key).await,
                });
            }
            if waiting.due() {
                waiting.tell(&self.holder(key).await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Who holds the lock, for the timeout message. Advisory locks belong
    /// to a database: a migrator of another database on the server holds
    /// the same key without being in the way.
    async fn holder(&self, key: i64) -> String {
        let sql = "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.client_addr::text, 'local'), \
                   coalesce(to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS'), '?') \
                   FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                   WHERE l.locktype = 'advisory' AND l.granted \
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                   AND ((l.classid::bigint << 32) | l.objid::bigint) = $1 LIMIT 1";
        let what = format!("advisory lock {key} on the history table `{}`", self.options.history_table);
        match self.client.query_typed(sql, &[(&key, Type::INT8)]).await.map(|rows| rows.into_iter().next()) {
            Ok(Some(row)) => format!(
                "{what} is held by backend pid {} (application `{}`, client {}, connected since {})",
                row.get::<_, i32>(0),
                row.get::<_, String>(1),
                row.get::<_, String>(2),
                row.get::<_, String>(3)
            ),
            _ => format!("{what} is held by another session"),
        }
    }

    async fn state(&self) -> Result<State<'a>, ApplyError> {
        let (rows, others) = read_all(self.client, self.options).await?;
        Ok(State::new(self.graph, rows).with_other_packages(&self.options.package, others))
    }

    /// Plans from the history, then applies revision after revision, each
    /// in a transaction that takes the migration lock and checks the
    /// history is still as planned: when another migrator got there first,
    /// plans again (from where the run started, for relative targets).
    async fn run(
        &self,
        target: &str,
        direction: Direction,
        on_step: &mut dyn FnMut(&Step),
    ) -> Result<Vec<Step>, ApplyError> {
        self.prepare(direction).await?;
        let mut steps = Vec::new();
        if direction == Direction::Upgrade {
            if let Some(done) = self.in_transaction(self.start_from_snapshot(target)).await? {
                on_step(&done);
                steps.push(done);
            }
        }
        if self.options.transaction == TransactionScope::All {
            steps.extend(self.run_as_one(target, direction, on_step).await?);
            return Ok(steps);
        }
        let mut start = None;
        let mut raced: Option<String> = None;
        let mut counter = Counter::default();
        'plan: loop {
            let state = self.state().await?;
            let plan = match state.plan_from_start(direction, target, &mut start, self.options, DIALECT) {
                Err(ApplyError::Dirty { progress, .. }) if ProgressMark::stored_in_progress(&progress) => {
                    // Another migrator may be running that `transaction:
                    // none` revision, holding the session lock: plan once
                    // it is done, under that lock, where a mark still in
                    // progress is one a crashed run left.
                    // A transaction lock waits for that session lock too,
                    // and cannot outlive its transaction on a pooler.
                    let state = self.in_transaction(self.state()).await?;
                    state.plan_from_start(direction, target, &mut start, self.options, DIALECT)?;
                    continue 'plan;
                }
                plan => plan?,
            };
            let planned = plan.len();
            for (i, rev) in plan.into_iter().enumerate() {
                stop_if_interrupted(self.options)?;
                let revision = state.graph().revision(rev);
                counter.start(&self.options.progress, revision, direction, planned - i);
                let Some(done) = self.run_one(revision, direction).await? else {
                    // Planned again, the same revision must not come first
                    // again: the planner and the guard would disagree
                    // forever.
                    if raced.replace(revision.id.clone()).as_deref() == Some(revision.id.as_str()) {
                        return Err(ApplyError::NotDue { revision: revision.id.clone() });
                    }
                    continue 'plan;
                };
                raced = None;
                on_step(&done);
                steps.push(done);
            }
            return Ok(steps);
        }
    }

    /// A database with no history and no tables starts from the chain's
    /// newest snapshot below the target: its SQL as one batch, then the
    /// history rows of the revisions it stands for, in the caller's
    /// transaction (which holds the migration lock). The snapshot is
    /// looked at (and a stale one refused) only for such a database.
    async fn start_from_snapshot(&self, target: &str) -> Result<Option<Step>, ApplyError> {
        let options = self.options;
        if options.snapshots == Snapshots::Ignore || self.graph.snapshots().is_empty() {
            return Ok(None);
        }
        if !read_all(self.client, options).await?.0.is_empty() || !self.user_tables().await?.is_empty() {
            return Ok(None);
        }
        let Some(start) = fresh_start(self.graph, options, DIALECT, target)? else { return Ok(None) };
        let started = Instant::now();
        if let Err(failure) = run_counting(self.client, &start.snapshot.sql).await {
            let statements: Vec<_> = fresh::statements(start.snapshot).collect();
            let failed = failure.error_offset(&start.snapshot.sql).map_or(failure.completed, |offset| {
                statements.iter().rposition(|s| s.offset <= offset).unwrap_or(0)
            });
            return Err(match statements.get(failed) {
                Some(statement) => {
                    fresh::statement_error(start.snapshot, statement, &describe(&failure.error))
                }
                None => database(failure.error),
            });
        }
        let table = &options.history_table;
        let insert = history::insert_rows_sql(DIALECT, table, &options.package, &start.rows);
        self.client.batch_execute(&insert).await.map_err(database)?;
        Ok(Some(Step::finished(self.graph.revision(start.revision), Action::Snapshot, started)))
    }

    /// The tables of the database other than the history table and its
    /// format record.
    async fn user_tables(&self) -> Result<Vec<String>, ApplyError> {
        let table = &self.options.history_table;
        let names = self.tables_in_scope().await?;
        Ok(names.into_iter().filter(|name| name != table && *name != format!("{table}_format")).collect())
    }

    /// The database's tables, or with a schema per tenant that schema's
    /// (named without it): what a first run must find empty.
    async fn tables_in_scope(&self) -> Result<Vec<String>, ApplyError> {
        let rows = match &self.options.schema {
            None => self.client.query_typed(USER_TABLES, &[]).await,
            Some(schema) => self.client.query_typed(SCHEMA_TABLES, &[(schema, Type::TEXT)]).await,
        };
        Ok(rows.map_err(database)?.iter().map(|row| row.get::<_, String>(0)).collect())
    }

    /// [`TransactionScope::All`]: one transaction holding the migration
    /// lock plans the run and runs all of it, history rows included; a
    /// failure rolls it all back. Planned under the lock, the history
    /// cannot change under the run, so no revision needs the guard; a mark
    /// still in progress there is one a crashed run left. Steps are
    /// reported once the transaction committed.
    async fn run_as_one(
        &self,
        target: &str,
        direction: Direction,
        on_step: &mut dyn FnMut(&Step),
    ) -> Result<Vec<Step>, ApplyError> {
        self.begin_with_lock().await?;
        let planned = self.plan_as_one(target, direction).await;
        let steps = match planned {
            Ok(revisions) => self
                .run_all(&revisions, direction)
                .await
                .map_err(|cause| ApplyError::RunRolledBack { cause: Box::new(cause) }),
            Err(error) => Err(error),
        };
        let steps = match steps {
            Ok(steps) => steps,
            Err(error) => {
                let _ = self.client.batch_execute("ROLLBACK").await;
                return Err(error);
            }
        };
        self.client.batch_execute("COMMIT").await.map_err(database)?;
        steps.iter().for_each(&mut *on_step);
        Ok(steps)
    }

    /// The revisions of a one-transaction run (stand-ins for revisions the
    /// code lacks included), refused when one is `transaction: none`.
    async fn plan_as_one(&self, target: &str, direction: Direction) -> Result<Vec<Revision>, ApplyError> {
        let state = self.state().await?;
        let plan = state.plan_from_start(direction, target, &mut None, self.options, DIALECT)?;
        // Each read from its file once, for the section and its history row.
        let revisions = plan
            .iter()
            .map(|&rev| Ok(state.graph().revision(rev).loaded(direction)?.into_owned()))
            .collect::<Result<Vec<Revision>, ApplyError>>()?;
        ensure_transactional(&revisions)?;
        if let Some(timeout) = lock_timeout_sql(DIALECT, self.options) {
            let set = format!("SET LOCAL lock_timeout = '{timeout}'");
            self.client.batch_execute(&set).await.map_err(database)?;
        }
        Ok(revisions)
    }

    /// Runs each revision in the open transaction: its section as one
    /// batch (a failure named from the server's reply, as [`Self::send`]
    /// does), then its history row with the time the section took.
    async fn run_all(&self, revisions: &[Revision], direction: Direction) -> Result<Vec<Step>, ApplyError> {
        let mut steps = Vec::with_capacity(revisions.len());
        let mut counter = Counter::default();
        for (i, revision) in revisions.iter().enumerate() {
            stop_if_interrupted(self.options)?;
            counter.start(&self.options.progress, revision, direction, revisions.len() - i);
            let started = Instant::now();
            if revision.is_rust() {
                let function = crate::data::function(revision, direction)?;
                let mut handle = crate::data::Handle::on_postgres(self.client, &self.options.interrupt);
                let ran = crate::data::run(function, &mut handle).await;
                ran.map_err(|error| crate::data::failed(revision, direction, error))?;
            } else {
                self.run_section_in_run(revision, direction).await?;
            }
            let table = &self.options.history_table;
            let history = match direction {
                Direction::Upgrade => {
                    let mut row = AppliedRevision::for_revision(revision, DIALECT)?;
                    row.execution_ms = Some(started.elapsed().as_millis() as i64);
                    history::insert_sql(DIALECT, table, &self.options.package, &row)
                }
                Direction::Downgrade => history::delete_sql(table, &self.options.package, &revision.id),
            };
            self.client.batch_execute(&history).await.map_err(database)?;
            steps.push(Step::finished(revision, direction, started));
        }
        Ok(steps)
    }

    /// A SQL revision's section inside a one-transaction run.
    async fn run_section_in_run(&self, revision: &Revision, direction: Direction) -> Result<(), ApplyError> {
        let section = match direction {
            Direction::Upgrade => revision.upgrade_section(DIALECT)?,
            Direction::Downgrade => revision.downgrade_section(DIALECT)?,
        };
        let sql = section.sql()?;
        let ran = if sql.trim().is_empty() { Ok(()) } else { run_counting(self.client, &sql).await };
        match ran {
            Ok(()) => Ok(()),
            Err(failure) => Err(self.failed_in_run(revision, section, failure, direction).await),
        }
    }

    /// The error for a section that failed inside a one-transaction run.
    async fn failed_in_run(
        &self,
        revision: &Revision,
        section: &Section,
        failure: BatchFailure,
        direction: Direction,
    ) -> ApplyError {
        if let Some(reason) = session_end(&failure.error) {
            return ApplyError::SessionEnded { revision: revision.id.clone(), direction, reason };
        }
        let lock_timeout = is_lock_timeout(&failure.error);
        let error = match section.sql() {
            Ok(sql) => failure.locate(revision, section, &sql),
            Err(error) => error.into(),
        };
        if lock_timeout {
            // The aborted transaction answers no query: end it first (the
            // blockers are still there after).
            let _ = self.client.batch_execute("ROLLBACK").await;
            return self.name_blockers(error).await;
        }
        error
    }

    /// Upgrades or reverts one revision with its history row, whatever
    /// else is applied: the one way a revision runs, for `upgrade`,
    /// `downgrade` and the walk harness alike. The history must be as a
    /// planner would have it (the revision due, its parents applied).
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) async fn run_revision(
        &self,
        revision: &Revision,
        direction: Direction,
    ) -> Result<Step, ApplyError> {
        // The walk creates the history table once, before its first step.
        self.run_one(revision, direction)
            .await?
            .ok_or_else(|| ApplyError::NotDue { revision: revision.id.clone() })
    }

    /// One revision; `None` when the history changed under the run.
    async fn run_one(&self, revision: &Revision, direction: Direction) -> Result<Option<Step>, ApplyError> {
        // Read once: the batch, its history row and a failure's location
        // all read the step's SQL.
        let loaded = revision.loaded(direction)?;
        let revision = loaded.as_ref();
        if revision.transaction == TransactionMode::None {
            return self.locked(|| self.outside_transaction(revision, direction)).await;
        }
        if revision.is_rust() {
            return self.run_code(revision, direction).await;
        }
        let batch = match direction {
            Direction::Upgrade => upgrade_step_under_lock(revision, self.options)?,
            Direction::Downgrade => downgrade_step_under_lock(revision, self.options)?,
        };
        self.send_retrying(revision, &batch, direction).await
    }

    /// A `transaction: none` revision, under the session lock (its
    /// statements are separate transactions), if the history still wants it.
    async fn outside_transaction(
        &self,
        revision: &Revision,
        direction: Direction,
    ) -> Result<Option<Step>, ApplyError> {
        // The same guard a transactional revision's batch runs, here on its
        // own (a `DO` block needs no transaction), under the session lock.
        let guard =
            history::guard_sql(&self.options.history_table, &self.options.package, revision, direction);
        if let Err(error) = self.client.batch_execute(&guard).await {
            if is_history_changed(&error) {
                return Ok(None);
            }
            return Err(database(error));
        }
        match direction {
            _ if revision.is_rust() => self.code_outside_transaction(revision, direction).await.map(Some),
            Direction::Upgrade => self.apply_outside_transaction(revision).await.map(Some),
            Direction::Downgrade => self.revert_outside_transaction(revision).await.map(Some),
        }
    }

    /// Creates the history table under the migration lock (two first runs
    /// at once would race on `CREATE TABLE IF NOT EXISTS`), or brings it to
    /// the current format there, refusing, for an upgrade, a database that
    /// has tables but no history table yet unless the run says `baseline`.
    /// Extensions' tables (PostGIS's `spatial_ref_sys`) and system schemas
    /// do not count.
    async fn prepare(&self, direction: Direction) -> Result<(), ApplyError> {
        let table = &self.options.history_table;
        self.in_transaction(async {
            if let Some(found) = format::found(self.client, table).await? {
                return format::upgrade(self.client, table, &found).await;
            }
            if direction == Direction::Upgrade {
                let existing = self.tables_in_scope().await?;
                ensure_empty_or_baseline(&existing, self.options)?;
            }
            format::create(self.client, table).await
        })
        .await
    }

    /// Runs `body` in a transaction holding the migration lock, committed
    /// after it and rolled back on error.
    async fn in_transaction<T>(
        &self,
        body: impl std::future::Future<Output = Result<T, ApplyError>>,
    ) -> Result<T, ApplyError> {
        self.begin_with_lock().await?;
        let value = match body.await {
            Ok(value) => value,
            Err(error) => {
                let _ = self.client.batch_execute("ROLLBACK").await;
                return Err(error);
            }
        };
        self.client.batch_execute("COMMIT").await.map_err(database)?;
        Ok(value)
    }

    /// The error for a migration lock that stayed taken.
    async fn lock_timeout(&self) -> ApplyError {
        let key = lock_key(&self.options.lock_name());
        ApplyError::LockTimeout {
            seconds: self.options.lock_timeout.as_secs(),
            holder: self.holder(key).await,
        }
    }

    /// Sends one revision's batch. On failure the transaction is rolled
    /// back and the failing statement is named from what the server said,
    /// never by running anything again (a replay would take the revision's
    /// locks a second time and double a slow failure).
    /// `None` when the history changed since the run planned (the batch's
    /// guard); the run then plans again.
    async fn send(
        &self,
        revision: &Revision,
        batch: &str,
        direction: Direction,
    ) -> Result<Option<Step>, ApplyError> {
        let started = Instant::now();
        self.begin_with_lock().await?;
        let Err(failure) = run_counting(self.client, batch).await else {
            return Ok(Some(Step::finished(revision, direction, started)));
        };
        if let Some(reason) = session_end(&failure.error) {
            // The server rolled the transaction back as the session ended;
            // a `ROLLBACK` now would only fail with "connection closed" and
            // hide why.
            return Err(ApplyError::SessionEnded { revision: revision.id.clone(), direction, reason });
        }
        self.client.batch_execute("ROLLBACK").await.map_err(database)?;
        if is_history_changed(&failure.error) {
            return Ok(None);
        }
        let section = match direction {
            Direction::Upgrade => revision.upgrade_section(DIALECT)?,
            // Never irreversible here: `downgrade_step` built the batch.
            _ => revision.downgrade_section(DIALECT)?,
        };
        let lock_timeout = is_lock_timeout(&failure.error);
        let error = failure.locate(revision, section, batch);
        if lock_timeout {
            return Err(self.name_blockers(error).await);
        }
        Err(error)
    }

    /// [`Self::send`], tried again after a pause (1 s, doubling, at most
    /// 30 s) while a statement times out on a lock and retries are left:
    /// the revision was rolled back, so a new attempt starts clean.
    async fn send_retrying(
        &self,
        revision: &Revision,
        batch: &str,
        direction: Direction,
    ) -> Result<Option<Step>, ApplyError> {
        let mut pause = Duration::from_secs(1);
        for _ in 0..self.options.lock_retries {
            match self.send(revision, batch, direction).await {
                Err(ApplyError::StatementLockTimeout { .. }) => tokio::time::sleep(pause).await,
                done => return done,
            }
            stop_if_interrupted(self.options)?;
            pause = (pause * 2).min(Duration::from_secs(30));
        }
        self.send(revision, batch, direction).await
    }

    /// Turns a statement's lock timeout into an error naming the sessions
    /// that hold locks on the relations the statement names: they are
    /// still there after our statement gave up (a long transaction, an
    /// `idle in transaction` session), and they are what the operator
    /// needs to find.
    async fn name_blockers(&self, error: ApplyError) -> ApplyError {
        let ApplyError::Statement { at, revision, statement, .. } = error else { return error };
        let names = relation_names(&statement);
        let blockers = match self.client.query_typed(BLOCKERS, &[(&names, Type::TEXT_ARRAY)]).await {
            Ok(rows) if !rows.is_empty() => rows.iter().map(describe_blocker).collect::<Vec<_>>().join("; "),
            _ => "another session holds a lock on a table it uses".to_string(),
        };
        let waited_ms = self.options.statement_lock_timeout.as_millis() as u64;
        ApplyError::StatementLockTimeout { at, revision, statement, waited_ms, blockers }
    }

    /// A `transaction: none` revision: a history row with a progress mark
    /// first, then each statement on its own, the mark moving before each.
    async fn apply_outside_transaction(&self, revision: &Revision) -> Result<Step, ApplyError> {
        let started = Instant::now();
        let section = revision.upgrade_section(DIALECT)?;
        let sql = section.sql()?;
        let mut row = AppliedRevision::for_revision(revision, DIALECT)?;
        let first = ProgressMark::before_first(Direction::Upgrade, count_statements(&sql));
        row.dirty = Some(first.to_string());
        row.execution_ms = Some(0);
        let insert = history::insert_sql(DIALECT, &self.options.history_table, &self.options.package, &row);
        self.client.batch_execute(&insert).await.map_err(database)?;
        self.run_statements(revision, section, &sql, Direction::Upgrade).await?;
        let ms = started.elapsed().as_millis() as i64;
        self.set_mark(revision, None, Some(ms)).await?;
        Ok(Step::finished(revision, Direction::Upgrade, started))
    }

    /// A `transaction: none` revision's downgrade, statement by statement
    /// too (a multi-statement batch is one implicit transaction, which
    /// `DROP INDEX CONCURRENTLY` refuses), its row marked until deleted.
    async fn revert_outside_transaction(&self, revision: &Revision) -> Result<Step, ApplyError> {
        let started = Instant::now();
        let section = revision.downgrade_section(DIALECT)?;
        let sql = section.sql()?;
        let first = ProgressMark::before_first(Direction::Downgrade, count_statements(&sql));
        self.set_mark(revision, Some(&first), None).await?;
        self.run_statements(revision, section, &sql, Direction::Downgrade).await?;
        let delete = history::delete_sql(&self.options.history_table, &self.options.package, &revision.id);
        self.client.batch_execute(&delete).await.map_err(database)?;
        Ok(Step::finished(revision, Direction::Downgrade, started))
    }

    /// Runs a section's statements one by one, each its own transaction,
    /// moving the revision's progress mark before each and leaving it
    /// failed when one fails.
    async fn run_statements(
        &self,
        revision: &Revision,
        section: &Section,
        sql: &str,
        direction: Direction,
    ) -> Result<(), ApplyError> {
        // Outside a transaction `SET LOCAL` would not last: the session's
        // setting holds for this revision's statements, then goes back.
        let lock_timeout = lock_timeout_sql(DIALECT, self.options);
        if let Some(timeout) = &lock_timeout {
            self.client.batch_execute(&format!("SET lock_timeout = '{timeout}'")).await.map_err(database)?;
        }
        let ran = self.run_marked(revision, section, sql, direction).await;
        // A session that ended has no setting to reset, and the reset's
        // "connection closed" would hide why it ended.
        if lock_timeout.is_some() && !matches!(ran, Err(ApplyError::SessionEndedPartway { .. })) {
            self.client.batch_execute("RESET lock_timeout").await.map_err(database)?;
        }
        ran
    }

    async fn run_marked(
        &self,
        revision: &Revision,
        section: &Section,
        sql: &str,
        direction: Direction,
    ) -> Result<(), ApplyError> {
        for (mark, statement) in history::marked_statements(direction, section, sql) {
            self.set_mark(revision, Some(&mark), None).await?;
            if let Err(error) = self.client.batch_execute(statement.text).await {
                if let Some(reason) = session_end(&error) {
                    // No session is left to move the mark: it stays where
                    // it was, on this statement.
                    return Err(ApplyError::SessionEndedPartway {
                        at: statement_location(revision, section, statement.line),
                        revision: revision.id.clone(),
                        reason,
                        progress: mark.to_string(),
                    });
                }
                // An interrupted run keeps its mark: the CLI names the
                // statement it stopped at and points to `repair`.
                let interrupted = self.options.interrupt.is_requested();
                if history::failed_before_any_change(&mark, statement.sql()) && !interrupted {
                    self.forget_attempt(revision, direction).await?;
                } else {
                    self.set_mark(revision, Some(&mark.failed()), None).await?;
                }
                let failed =
                    statement_error(revision, section, statement.line, statement.sql(), &describe(&error));
                if is_lock_timeout(&error) {
                    return Err(self.name_blockers(failed).await);
                }
                return Err(failed);
            }
        }
        Ok(())
    }

    /// Undoes the bookkeeping of a `transaction: none` revision none of
    /// whose statements took effect: an upgrade's history row goes, a
    /// downgrade's mark is cleared (the revision stays applied).
    async fn forget_attempt(&self, revision: &Revision, direction: Direction) -> Result<(), ApplyError> {
        match direction {
            Direction::Upgrade => {
                let delete =
                    history::delete_sql(&self.options.history_table, &self.options.package, &revision.id);
                self.client.batch_execute(&delete).await.map_err(database)
            }
            Direction::Downgrade => self.set_mark(revision, None, None).await,
        }
    }

    /// Writes the revision's progress mark (`None` clears it) and, when
    /// given, its execution time.
    async fn set_mark(
        &self,
        revision: &Revision,
        mark: Option<&ProgressMark>,
        ms: Option<i64>,
    ) -> Result<(), ApplyError> {
        let sql = history::mark_sql(DIALECT, &self.options.history_table);
        let dirty = mark.map(ToString::to_string);
        let params: [(&(dyn tokio_postgres::types::ToSql + Sync), Type); 4] = [
            (&self.options.package, Type::TEXT),
            (&revision.id, Type::TEXT),
            (&dirty, Type::TEXT),
            (&ms, Type::INT8),
        ];
        self.client.query_typed(&sql, &params).await.map_err(database).map(drop)
    }

    async fn stamp_locked(&self, target: &str) -> Result<Vec<Step>, ApplyError> {
        let state = self.state().await?;
        let (add, remove) = state.stamp_plan(target, &state.resolve(target)?, self.options)?;
        let table = &self.options.history_table;
        let mut batch = String::new();
        let mut steps = Vec::new();
        for rev in remove {
            let revision = state.graph().revision(rev);
            batch += &format!("{};\n", history::delete_sql(table, &self.options.package, &revision.id));
            steps.push(Step::finished(revision, Action::Unstamp, Instant::now()));
        }
        for rev in add {
            let revision = state.graph().revision(rev);
            let mut row = AppliedRevision::for_revision(revision, DIALECT)?;
            row.execution_ms = Some(0);
            batch += &format!("{};\n", history::insert_sql(DIALECT, table, &self.options.package, &row));
            steps.push(Step::finished(revision, Action::Stamp, Instant::now()));
        }
        batch += &history::clear_marks_sql(table, &self.options.package);
        batch += &format!(";\n{}", sync::forget_sql(table, &self.options.package));
        self.client.batch_execute(&batch).await.map_err(database)?;
        Ok(steps)
    }

    async fn repair_locked(&self, mark: RepairMark) -> Result<Vec<(String, String)>, ApplyError> {
        let table = &self.options.history_table;
        if let Some(found) = format::found(self.client, table).await? {
            format::upgrade(self.client, table, &found).await?;
        }
        let dirty: Vec<(String, String)> = read_all(self.client, self.options)
            .await?
            .0
            .into_iter()
            .filter_map(|row| Some((row.revision, row.dirty?)))
            .collect();
        let sql = history::repair_sql(DIALECT, &self.options.history_table, mark);
        for (revision, _) in &dirty {
            let params = [
                (&self.options.package as &(dyn tokio_postgres::types::ToSql + Sync), Type::TEXT),
                (revision, Type::TEXT),
            ];
            self.client.query_typed(&sql, &params).await.map_err(database)?;
        }
        Ok(dirty)
    }
}

/// Sessions other than ours holding granted locks on relations named in
/// `$1`, with what an operator needs to find them.
const BLOCKERS: &str =
    "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.client_addr::text, 'local'), \
     coalesce(a.state, '?'), coalesce(to_char(a.xact_start, 'YYYY-MM-DD HH24:MI:SS'), '?'), \
     left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 80), \
     string_agg(DISTINCT c.relname || ' (' || l.mode || ')', ', ') \
     FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid JOIN pg_class c ON c.oid = l.relation \
     WHERE l.granted AND l.locktype = 'relation' AND l.pid <> pg_backend_pid() AND c.relname = ANY($1) \
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
     GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 5";

fn describe_blocker(row: &tokio_postgres::Row) -> String {
    format!(
        "backend pid {} (application `{}`, client {}, {} since {}, last query `{}`) holds {}",
        row.get::<_, i32>(0),
        row.get::<_, String>(1),
        row.get::<_, String>(2),
        row.get::<_, String>(3),
        row.get::<_, String>(4),
        row.get::<_, String>(5),
        row.get::<_, String>(6),
    )
}

/// The words of `statement` that may name a relation, as PostgreSQL
/// stores them: unquoted words folded to lower case, quoted ones as
/// written, a schema prefix dropped. Keywords come along; they match no
/// locked relation.
fn relation_names(statement: &str) -> Vec<String> {
    statement
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '"' || c == '.'))
        .filter_map(|word| word.rsplit('.').next())
        .filter(|word| !word.is_empty())
        .map(|word| match word.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
            Some(quoted) => quoted.to_string(),
            None => word.trim_matches('"').to_lowercase(),
        })
        .collect()
}

/// When waiting for the migration lock gives up: never for a timeout of
/// zero, which waits forever, as the `--sql` script's `lock_timeout` of
/// `0ms` does.
fn deadline(lock_timeout: Duration) -> Option<Instant> {
    (!lock_timeout.is_zero()).then(|| Instant::now() + lock_timeout)
}

/// Whether `error` is a [`history::guard_sql`] finding the history changed.
fn is_history_changed(error: &tokio_postgres::Error) -> bool {
    error.code().is_some_and(|code| code.code() == history::HISTORY_CHANGED)
}

/// The server's reason when `error` means the session is gone (a
/// terminated backend, a server shut down or restarted, a lost
/// connection): its message and SQLSTATE when it sent one, a `FATAL` or
/// `PANIC` error, else the driver's words.
fn session_end(error: &tokio_postgres::Error) -> Option<String> {
    if let Some(db) = error.as_db_error() {
        let fatal = matches!(db.severity(), "FATAL" | "PANIC");
        return fatal.then(|| format!("{} (SQLSTATE {})", describe(error), db.code().code()));
    }
    let io = std::error::Error::source(error).is_some_and(|cause| cause.is::<std::io::Error>());
    (error.is_closed() || io).then(|| format!("{} (the server sent no reason)", describe(error)))
}

fn is_lock_timeout(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::LOCK_NOT_AVAILABLE)
}

/// A batch that failed after `completed` of its statements had run.
struct BatchFailure {
    completed: usize,
    error: tokio_postgres::Error,
}

/// Runs `batch` as one simple query, counting the statements the server
/// reports complete before an error: with the error's position, when the
/// server gives one, that names the statement that failed.
async fn run_counting(client: &Client, batch: &str) -> Result<(), BatchFailure> {
    use futures_util::StreamExt;
    let mut completed = 0;
    let stream = client.simple_query_raw(batch).await.map_err(|error| BatchFailure { completed, error })?;
    let mut stream = std::pin::pin!(stream);
    while let Some(message) = stream.next().await {
        match message {
            Ok(SimpleQueryMessage::CommandComplete(_)) => completed += 1,
            Ok(_) => {}
            Err(error) => return Err(BatchFailure { completed, error }),
        }
    }
    Ok(())
}

impl BatchFailure {
    /// The error naming the statement of `section` (inside `batch`) that
    /// failed; a failure outside the section (the history row, `COMMIT`)
    /// is the database's error as it is.
    fn locate(self, revision: &Revision, section: &Section, batch: &str) -> ApplyError {
        if self.error.as_db_error().is_none() {
            // The connection, not a statement, failed.
            return database(self.error);
        }
        let in_batch: Vec<_> = split_statements(batch).into_iter().filter(|s| !s.is_empty()).collect();
        let failed = match self.error_offset(batch) {
            Some(offset) => in_batch.iter().rposition(|s| s.offset <= offset),
            None => Some(self.completed),
        };
        // The section is in the batch as written; its statements are the
        // batch's from the first that starts inside it.
        let sql = match section.sql() {
            Ok(sql) => sql,
            Err(error) => return error.into(),
        };
        let start = batch.find(sql.as_ref()).filter(|_| !sql.trim().is_empty());
        let first = start.and_then(|start| in_batch.iter().position(|s| s.sql_offset() >= start));
        let in_section: Vec<_> = split_statements(&sql).into_iter().filter(|s| !s.is_empty()).collect();
        let statement =
            failed.zip(first).and_then(|(failed, first)| in_section.get(failed.checked_sub(first)?));
        match statement {
            Some(statement) => {
                statement_error(revision, section, statement.line, statement.sql(), &describe(&self.error))
            }
            None => database(self.error),
        }
    }

    /// The byte offset in `batch` of the error's position (PostgreSQL
    /// counts characters from 1), when the server reports one.
    fn error_offset(&self, batch: &str) -> Option<usize> {
        let position = self.error.as_db_error()?.position()?;
        let tokio_postgres::error::ErrorPosition::Original(character) = position else { return None };
        let character = (*character as usize).checked_sub(1)?;
        batch.char_indices().nth(character).map(|(offset, _)| offset)
    }
}

/// Tables, views and foreign tables outside the system schemas that no
/// extension owns, `schema.name` unless in `public`.
const USER_TABLES: &str = "SELECT CASE WHEN n.nspname = 'public' THEN c.relname::text \
     ELSE n.nspname || '.' || c.relname END FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname <> 'information_schema' \
     AND n.nspname NOT LIKE 'pg\\_%' AND NOT EXISTS (SELECT 1 FROM pg_depend d \
     WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') ORDER BY 1";

/// [`USER_TABLES`] of one schema (`$1`), for a schema per tenant.
const SCHEMA_TABLES: &str = "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = $1 AND NOT EXISTS (SELECT 1 FROM pg_depend d \
     WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') ORDER BY 1";

/// The advisory-lock key migrators of a history table agree on: stable
/// across versions and machines, so an operator can see who holds it in
/// `pg_locks`.
pub fn lock_key(table: &str) -> i64 {
    history::lock_key(table)
}

/// Every history row: this package's rows, and the other packages'
/// revisions with their dependencies. A missing table means nothing is
/// applied.
async fn read_all(
    client: &Client,
    options: &Options,
) -> Result<(Vec<AppliedRevision>, Vec<OtherPackageRevision>), ApplyError> {
    read_rows(client, options, Read::All).await
}

/// Which columns a read of the history takes.
#[derive(Clone, Copy)]
enum Read {
    /// Every column ([`history::select_all_sql`]).
    All,
    /// What planning needs ([`history::select_for_planning_sql`]).
    Planning,
}

impl Read {
    fn sql(self, table: &str, format: u32) -> String {
        match self {
            Read::All => history::select_all_sql(DIALECT, table, format),
            Read::Planning => history::select_for_planning_sql(table, format),
        }
    }
}

/// The history rows, with the format record, in one unprepared query (one
/// round trip, which is all a start-up with nothing to do costs) when the
/// table is in the current format. Any other table (older, unrecorded,
/// missing, newer) is looked at in the catalogue and read as its format
/// says, or refused when a newer release wrote it.
async fn read_rows(
    client: &Client,
    options: &Options,
    read: Read,
) -> Result<(Vec<AppliedRevision>, Vec<OtherPackageRevision>), ApplyError> {
    let table = &options.history_table;
    let current = crate::apply::format::select_sql(table) + ";\n" + &read.sql(table, CURRENT_FORMAT);
    let undefined = [SqlState::UNDEFINED_TABLE, SqlState::UNDEFINED_COLUMN];
    match client.simple_query(&current).await {
        Ok(messages) => match format::record_in(&messages) {
            Some(found) if found.number != CURRENT_FORMAT => {
                found.check(table)?;
            }
            _ => return Ok(parse_rows(options, after_first_reply(messages))),
        },
        Err(error) if error.code().is_some_and(|code| undefined.contains(code)) => {}
        Err(error) => return Err(database(error)),
    }
    let Some(found) = format::found(client, table).await? else { return Ok((Vec::new(), Vec::new())) };
    found.check(table)?;
    let messages = client.simple_query(&read.sql(table, found.number)).await.map_err(database)?;
    Ok(parse_rows(options, messages))
}

/// The replies after the first statement's.
fn after_first_reply(messages: Vec<SimpleQueryMessage>) -> Vec<SimpleQueryMessage> {
    let first_end = messages.iter().position(|m| matches!(m, SimpleQueryMessage::CommandComplete(_)));
    messages.into_iter().skip(first_end.map_or(0, |end| end + 1)).collect()
}

/// The history rows among `messages`, split into this package's and the
/// others'.
fn parse_rows(
    options: &Options,
    messages: Vec<SimpleQueryMessage>,
) -> (Vec<AppliedRevision>, Vec<OtherPackageRevision>) {
    let (mut rows, mut others) = (Vec::new(), Vec::new());
    for message in messages {
        let SimpleQueryMessage::Row(row) = message else { continue };
        let text = |i: usize| row.get(i).unwrap_or_default().to_string();
        if text(0) != options.package {
            others.push(OtherPackageRevision {
                package: text(0),
                revision: text(1),
                depends_on: history::parse_parents(&text(3)),
            });
            continue;
        }
        rows.push(AppliedRevision {
            revision: text(1),
            parents: history::parse_parents(&text(2)),
            depends_on: history::parse_parents(&text(3)),
            checksum: text(4),
            message: text(5),
            downgrade_sql: row.get(6).map(str::to_string),
            transactional: text(7) == "t",
            applied_at: text(8),
            execution_ms: row.get(9).and_then(|ms| ms.parse().ok()),
            dirty: row.get(10).map(str::to_string),
        });
    }
    (rows, others)
}

/// The server's message with its detail and hint, not the driver's
/// generic "db error".
/// The server's own words for an error (`password authentication failed
/// for user "app"`, with its detail and hint), where the driver's `Display`
/// says only "db error"; for other errors, the driver's words and their
/// cause. Every PostgreSQL error this crate reports goes through here.
pub fn describe(error: &tokio_postgres::Error) -> String {
    let Some(db) = error.as_db_error() else {
        return match std::error::Error::source(error) {
            Some(cause) => format!("{error}: {cause}"),
            None => error.to_string(),
        };
    };
    let mut text = db.message().to_string();
    if let Some(detail) = db.detail() {
        text += &format!(" ({detail})");
    }
    if let Some(hint) = db.hint() {
        text += &format!("; hint: {hint}");
    }
    text
}

/// [`describe`]'s words, with the driver's error kept.
impl From<tokio_postgres::Error> for DatabaseError {
    fn from(error: tokio_postgres::Error) -> DatabaseError {
        DatabaseError::new(describe(&error), error)
    }
}

fn database(error: tokio_postgres::Error) -> ApplyError {
    ApplyError::Database(error.into())
}
