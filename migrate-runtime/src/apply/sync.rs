//! Syncing a development database straight to a desired schema, without a
//! revision (`cargo migrate sync`; Camelot's first approach, Prisma's `db
//! push`): the statements come from the one autogenerate engine
//! ([`crate::schema::generate`], from the live schema to the desired one),
//! data loss is refused unless accepted, and the database is marked as
//! synced so later runs of revisions refuse it.
//!
//! The mark is a row of the history table, under the package, with a
//! revision no revision file can have ([`SYNC_MARK`]: ids are ASCII letters
//! and digits). It needs no new column or table, so the history table's
//! format stays as it is; a release that knows nothing of syncing reads
//! the row as an applied revision its files do not have and refuses to
//! upgrade ("the database is ahead of this code"), which is the safe side.
//! This release splits the row off when it reads the history
//! ([`crate::apply::State::synced`]): `upgrade` and `downgrade` refuse a
//! synced database ([`ApplyError::Synced`]); `stamp` deletes the row, and
//! `reset` drops it with everything else.

use crate::apply::history::{self, AppliedRevision};
use crate::model::error::ApplyError;
use crate::model::revision::Dialect;
use crate::schema::{generate, Difference, Schema};

/// The `revision` of the history row that marks a synced database.
pub const SYNC_MARK: &str = "(synced)";

/// What syncing a database to a desired schema runs, and what it would lose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPlan {
    /// Statements ending in `;`, in order; a data-losing one preceded by a
    /// `-- WARNING: drops data:` line.
    pub statements: Vec<String>,
    /// One line per data-losing step (`drops data: column user.age`).
    pub losses: Vec<String>,
    /// Differences no statement could be written for.
    pub unsupported: Vec<Difference>,
}

/// Whether a sync may run statements that lose data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataLoss {
    /// Refuse the whole sync, naming each loss ([`SyncError::DataLoss`]).
    Refuse,
    /// Run them (`--accept-data-loss`).
    Accept,
}

/// What a synced database's mark records.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SyncMark {
    /// When it was last synced (UTC, as the history table stores times).
    pub synced_at: String,
    /// What it was synced to (`schema.sql`).
    pub source: String,
}

/// Why a sync did not run, or stopped (and was rolled back).
#[derive(Debug, thiserror::Error, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case", prefix = "sync-")]
pub enum SyncError {
    #[error("syncing would lose data:\n{}", losses.iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n"))]
    DataLoss { losses: Vec<String> },
    #[error("syncing cannot write statements for:\n{}", differences.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n"))]
    Unsupported { differences: Vec<Difference> },
    #[error("the sync was rolled back: statement `{statement}` failed: {message}")]
    Statement { statement: String, message: String },
    #[error("the sync was rolled back: it left rows breaking a foreign key: {}", violations.join("; "))]
    ForeignKeyCheck { violations: Vec<String> },
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

impl SyncError {
    /// A stable name for the kind of failure (`sync-data-loss`), as
    /// [`ChainError::code`](crate::ChainError::code); an engine's error
    /// gives its own.
    pub fn code(&self) -> &'static str {
        match self {
            SyncError::Apply(error) => error.code(),
            other => other.into(),
        }
    }
}

impl SyncPlan {
    /// The plan from `live` to `desired`: the upgrade autogenerate would
    /// write for a revision between them.
    ///
    /// ```
    /// use migrate_runtime::apply::SyncPlan;
    /// use migrate_runtime::schema::{Column, Schema, Table};
    /// let mut desired = Schema::default();
    /// desired.tables.insert("t".into(), Table { columns: vec![Column::new("id", "integer")], ..Table::default() });
    /// let plan = SyncPlan::new(&Schema::default(), &desired, migrate_runtime::Dialect::Sqlite);
    /// assert_eq!(plan.statements.len(), 1);
    /// assert!(plan.losses.is_empty());
    /// let back = SyncPlan::new(&desired, &Schema::default(), migrate_runtime::Dialect::Sqlite);
    /// assert_eq!(back.losses, ["drops data: table t"]);
    /// ```
    pub fn new(live: &Schema, desired: &Schema, dialect: Dialect) -> SyncPlan {
        let changes = generate(live, desired, dialect, &[]);
        SyncPlan { statements: changes.upgrade, losses: changes.warnings, unsupported: changes.unsupported }
    }

    /// Whether the database already has the desired schema.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty() && self.unsupported.is_empty()
    }

    /// Refuses a plan with differences it cannot write, or (unless
    /// accepted) one that loses data. Nothing has run when it refuses.
    pub fn ensure_runnable(&self, data_loss: DataLoss) -> Result<(), SyncError> {
        if !self.unsupported.is_empty() {
            return Err(SyncError::Unsupported { differences: self.unsupported.clone() });
        }
        if data_loss == DataLoss::Refuse && !self.losses.is_empty() {
            return Err(SyncError::DataLoss { losses: self.losses.clone() });
        }
        Ok(())
    }

    /// Whether the plan turns SQLite's foreign keys off (a table rebuild of
    /// a referenced table), which only works between transactions.
    pub(crate) fn turns_foreign_keys_off(&self) -> bool {
        self.statements.first().is_some_and(|s| s.trim().eq_ignore_ascii_case("PRAGMA foreign_keys = OFF;"))
    }

    /// The statements as a driver runs them: SQLite's `PRAGMA foreign_keys`
    /// is left out (it is switched around the transaction instead).
    pub(crate) fn runnable(&self) -> impl Iterator<Item = &String> {
        self.statements.iter().skip(usize::from(self.turns_foreign_keys_off()))
    }
}

/// The history row marking `package`'s database as synced to `source`.
fn mark_row(source: &str, execution_ms: Option<i64>) -> AppliedRevision {
    AppliedRevision {
        revision: SYNC_MARK.to_string(),
        parents: Vec::new(),
        depends_on: Vec::new(),
        checksum: String::new(),
        message: format!("synced to {source}"),
        downgrade_sql: None,
        transactional: true,
        applied_at: String::new(),
        execution_ms,
        dirty: None,
    }
}

/// The statements that replace `package`'s mark with a new one, run in the
/// sync's transaction.
pub(crate) fn mark_sql(
    dialect: Dialect,
    table: &str,
    package: &str,
    source: &str,
    ms: Option<i64>,
) -> String {
    format!(
        "{};\n{};\n",
        forget_sql(table, package),
        history::insert_sql(dialect, table, package, &mark_row(source, ms))
    )
}

/// The `DELETE` of `package`'s mark: what `stamp` runs.
pub(crate) fn forget_sql(table: &str, package: &str) -> String {
    history::delete_sql(table, package, SYNC_MARK)
}

/// Splits the mark off a package's history rows.
pub(crate) fn split_mark(rows: Vec<AppliedRevision>) -> (Vec<AppliedRevision>, Option<SyncMark>) {
    let mut mark = None;
    let rows = rows
        .into_iter()
        .filter_map(|row| {
            if row.revision != SYNC_MARK {
                return Some(row);
            }
            let source = row.message.strip_prefix("synced to ").unwrap_or(&row.message).to_string();
            mark = Some(SyncMark { synced_at: row.applied_at, source });
            None
        })
        .collect();
    (rows, mark)
}

/// A statement on one line, for an error.
pub(crate) fn one_line(statement: &str) -> String {
    let code = statement.lines().filter(|l| !l.trim_start().starts_with("--"));
    code.flat_map(str::split_whitespace).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_is_no_revision_id_and_is_split_off() {
        assert!(crate::model::revision::validate_id(SYNC_MARK).is_err());
        let mark =
            AppliedRevision { applied_at: "2026-01-01T00:00:00.000Z".into(), ..mark_row("schema.sql", None) };
        let kept = AppliedRevision { revision: "a1".into(), ..mark.clone() };
        let (rows, found) = split_mark(vec![kept.clone(), mark]);
        assert_eq!(rows, [kept]);
        assert_eq!(
            found,
            Some(SyncMark { synced_at: "2026-01-01T00:00:00.000Z".into(), source: "schema.sql".into() })
        );
    }

    #[test]
    fn a_warning_line_is_left_out_of_the_statement_named_in_an_error() {
        assert_eq!(one_line("-- WARNING: drops data: table t\nDROP TABLE\n  \"t\";"), "DROP TABLE \"t\";");
    }
}
