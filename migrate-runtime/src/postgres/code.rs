//! Rust revisions on PostgreSQL: the revision's function awaited inside
//! the engine's own future, on the transaction the engine opened with the
//! migration lock, between the history guard and the history row, as a SQL
//! revision's section is sent between them in one batch.

use super::{database, is_history_changed, PostgresMigrator, DIALECT};
use crate::apply::history::{self, AppliedRevision, ProgressMark};
use crate::apply::{timeout_ms, Step};
use crate::data::{self, Handle};
use crate::model::error::ApplyError;
use crate::model::revision::Revision;
use crate::model::Direction;
use std::time::Instant;

impl PostgresMigrator<'_> {
    /// Runs the revision's function in its own transaction with its
    /// history row; `None` when the history changed since the run planned.
    pub(super) async fn run_code(
        &self,
        revision: &Revision,
        direction: Direction,
    ) -> Result<Option<Step>, ApplyError> {
        let function = data::function(revision, direction)?;
        let started = Instant::now();
        self.begin_with_lock().await?;
        let opening = format!(
            "SET LOCAL lock_timeout = '{}ms';\n{}",
            timeout_ms(self.options.statement_lock_timeout),
            history::guard_sql(&self.options.history_table, &self.options.package, revision, direction)
        );
        if let Err(error) = self.client.batch_execute(&opening).await {
            let _ = self.client.batch_execute("ROLLBACK").await;
            return if is_history_changed(&error) { Ok(None) } else { Err(database(error)) };
        }
        let mut handle = Handle::on_postgres(self.client, &self.options.interrupt);
        if let Err(error) = data::run(function, &mut handle).await {
            // The code's error may have aborted the transaction already:
            // either way nothing of it stays.
            let _ = self.client.batch_execute("ROLLBACK").await;
            return Err(data::failed(revision, direction, error));
        }
        let closing = format!("{};\nCOMMIT;", self.history_sql(revision, direction, started)?);
        if let Err(error) = self.client.batch_execute(&closing).await {
            let _ = self.client.batch_execute("ROLLBACK").await;
            return Err(database(error));
        }
        Ok(Some(Step::finished(revision, direction, started)))
    }

    /// A `transaction: none` Rust revision, as a SQL one with one
    /// statement: its row marked, the code run outside any transaction,
    /// the mark left failed when it fails (what it did stays).
    pub(super) async fn code_outside_transaction(
        &self,
        revision: &Revision,
        direction: Direction,
    ) -> Result<Step, ApplyError> {
        let function = data::function(revision, direction)?;
        let started = Instant::now();
        let running = ProgressMark { statement: 1, ..ProgressMark::before_first(direction, 1) };
        match direction {
            Direction::Upgrade => {
                let mut row = AppliedRevision::for_revision(revision, DIALECT)?;
                row.dirty = Some(running.to_string());
                row.execution_ms = Some(0);
                let insert =
                    history::insert_sql(DIALECT, &self.options.history_table, &self.options.package, &row);
                self.client.batch_execute(&insert).await.map_err(database)?;
            }
            Direction::Downgrade => self.set_mark(revision, Some(&running), None).await?,
        }
        let mut handle = Handle::on_postgres(self.client, &self.options.interrupt);
        if let Err(error) = data::run(function, &mut handle).await {
            // A failed statement of the code left no transaction open; one
            // the code began and left is ended, so the mark can be written.
            let _ = self.client.batch_execute("ROLLBACK").await;
            self.set_mark(revision, Some(&running.failed()), None).await?;
            return Err(data::failed(revision, direction, error));
        }
        match direction {
            Direction::Upgrade => {
                self.set_mark(revision, None, Some(started.elapsed().as_millis() as i64)).await?;
            }
            Direction::Downgrade => {
                let delete =
                    history::delete_sql(&self.options.history_table, &self.options.package, &revision.id);
                self.client.batch_execute(&delete).await.map_err(database)?;
            }
        }
        Ok(Step::finished(revision, direction, started))
    }

    /// The history row's insertion (with the time the code took) or deletion.
    fn history_sql(
        &self,
        revision: &Revision,
        direction: Direction,
        started: Instant,
    ) -> Result<String, ApplyError> {
        let table = &self.options.history_table;
        Ok(match direction {
            Direction::Upgrade => {
                let mut row = AppliedRevision::for_revision(revision, DIALECT)?;
                row.execution_ms = Some(started.elapsed().as_millis() as i64);
                history::insert_sql(DIALECT, table, &self.options.package, &row)
            }
            Direction::Downgrade => history::delete_sql(table, &self.options.package, &revision.id),
        })
    }
}
