//! The history table: one row per applied revision of each package. The
//! applied set is the truth; the current revisions are derived from it.
//!
//! The SQL here is shared by the live engines and the offline script, so a
//! script printed with `--sql` records exactly what a live run would. So is
//! the text of the progress marks ([`ProgressMark`]) that `transaction:
//! none` revisions leave in their rows while they run or after they fail.

// The engine helpers here serve the drivers: a build without one (what
// `migrate-macros` and build scripts compile) leaves them unused.
#![cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]

use crate::apply::RepairMark;
use crate::model::error::ChainError;
use crate::model::revision::{Dialect, Revision, Section, TransactionMode};
use crate::model::Direction;
use crate::sql::split::{split_statements, Statement};
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppliedRevision {
    pub revision: String,
    /// Parent ids, so a revision unknown to the code can still be placed.
    pub parents: Vec<String>,
    /// `depends-on` as written (`rev` or `package:rev`), so other packages
    /// can tell what must not be reverted under them.
    pub depends_on: Vec<String>,
    /// Checksum of the upgrade SQL that ran (empty when stamped).
    pub checksum: String,
    pub message: String,
    /// The downgrade SQL, so a binary that never shipped this revision can
    /// still revert it. `None`: irreversible.
    pub downgrade_sql: Option<String>,
    pub transactional: bool,
    pub applied_at: String,
    pub execution_ms: Option<i64>,
    /// Set while a `transaction: none` revision runs, and left set when it
    /// fails: a [`ProgressMark`] as text (`failed at statement 3 of 5 (line
    /// 9)`). Kept as stored, so a mark this version cannot parse is still
    /// shown as it is.
    pub dirty: Option<String>,
}

impl AppliedRevision {
    /// The row a revision gets when applied (or stamped) for `dialect`.
    pub fn for_revision(revision: &Revision, dialect: Dialect) -> Result<AppliedRevision, ChainError> {
        // A Rust revision's downgrade is code, which a binary that never
        // compiled it cannot run: for such a binary it is irreversible.
        let sql_downgrade = revision.downgrade_for(dialect).filter(|_| !revision.is_rust());
        let downgrade = sql_downgrade.map(Section::sql).transpose()?;
        Ok(AppliedRevision {
            revision: revision.id.clone(),
            parents: revision.parents.clone(),
            depends_on: revision.depends_on.iter().map(ToString::to_string).collect(),
            checksum: revision.upgrade_for(dialect).map(|s| s.checksum.clone()).unwrap_or_default(),
            message: revision.message.clone(),
            downgrade_sql: downgrade.map(Cow::into_owned),
            transactional: revision.transaction == TransactionMode::Single,
            applied_at: String::new(),
            execution_ms: None,
            dirty: None,
        })
    }
}

/// The progress of a `transaction: none` revision, as its row's `dirty`
/// column records it while its statements run one by one, and keeps it when
/// one fails or the process dies. Rows in users' databases hold these
/// strings, so [`Display`](fmt::Display) must keep writing exactly them:
///
/// ```text
/// at statement 0 of 3                        row written, nothing run yet
/// at statement 2 of 3 (line 14)              statement 2 is running
/// failed at statement 2 of 3 (line 14)       statement 2 failed
/// downgrade at statement 0 of 2              the same for a downgrade
/// downgrade failed at statement 1 of 2 (line 9)
/// ```
///
/// ```
/// use migrate_runtime::{apply::{MarkState, ProgressMark}, Direction};
/// let mark: ProgressMark = "failed at statement 2 of 3 (line 14)".parse()?;
/// assert_eq!(mark.state, MarkState::Failed);
/// assert_eq!(mark.to_string(), "failed at statement 2 of 3 (line 14)");
/// assert_eq!(ProgressMark::before_first(Direction::Downgrade, 2).to_string(), "downgrade at statement 0 of 2");
/// # Ok::<(), migrate_runtime::apply::NotAProgressMark>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressMark {
    pub direction: Direction,
    pub state: MarkState,
    /// 1-based; 0 before the first statement runs.
    pub statement: usize,
    /// How many statements the section runs.
    pub of: usize,
    /// The file line the statement starts on; `None` before the first.
    pub line: Option<usize>,
}

/// Whether the statement a [`ProgressMark`] names is running or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkState {
    /// A migrator may still be running it, or died while it did.
    Running,
    /// It failed; the migrator that ran it gave up.
    Failed,
}

/// A stored `dirty` value that is not a [`ProgressMark`] this version
/// writes: edited by hand, or written by another version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a progress mark such as `at statement 2 of 3 (line 14)`")]
pub struct NotAProgressMark(pub String);

impl ProgressMark {
    /// The mark a row gets before the first of `of` statements runs
    /// (every statement of the section).
    pub fn before_first(direction: Direction, of: usize) -> ProgressMark {
        ProgressMark { direction, state: MarkState::Running, statement: 0, of, line: None }
    }

    /// This mark once its statement failed.
    pub fn failed(self) -> ProgressMark {
        ProgressMark { state: MarkState::Failed, ..self }
    }

    /// Whether a live migrator may still be moving the mark, as opposed to
    /// one a failure left behind.
    pub fn in_progress(&self) -> bool {
        self.state == MarkState::Running
    }

    /// [`ProgressMark::in_progress`] for a `dirty` value as stored. One that
    /// does not parse counts as failed: no migrator of this version wrote it,
    /// so none of them is moving it, and a run refuses at once (naming the
    /// stored text) rather than wait on a lock for a run that may not exist.
    /// Refusing is the safe side: no run goes past a mark, and a refused run
    /// can be retried.
    pub fn stored_in_progress(stored: &str) -> bool {
        stored.parse::<ProgressMark>().is_ok_and(|mark| mark.in_progress())
    }
}

impl fmt::Display for ProgressMark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.direction == Direction::Downgrade {
            f.write_str("downgrade ")?;
        }
        if self.state == MarkState::Failed {
            f.write_str("failed ")?;
        }
        write!(f, "at statement {} of {}", self.statement, self.of)?;
        match self.line {
            Some(line) => write!(f, " (line {line})"),
            None => Ok(()),
        }
    }
}

impl FromStr for ProgressMark {
    type Err = NotAProgressMark;

    /// Reads back exactly what [`Display`](fmt::Display) writes: a text
    /// that would not print the same again (`+2`, `02`, extra spaces) is not
    /// a mark, so a parsed mark always stands for the stored text.
    fn from_str(text: &str) -> Result<ProgressMark, NotAProgressMark> {
        parse_mark(text)
            .filter(|mark| mark.to_string() == text)
            .ok_or_else(|| NotAProgressMark(text.to_string()))
    }
}

fn parse_mark(text: &str) -> Option<ProgressMark> {
    let (direction, rest) = match text.strip_prefix("downgrade ") {
        Some(rest) => (Direction::Downgrade, rest),
        None => (Direction::Upgrade, text),
    };
    let (state, rest) = match rest.strip_prefix("failed ") {
        Some(rest) => (MarkState::Failed, rest),
        None => (MarkState::Running, rest),
    };
    let (statement, rest) = rest.strip_prefix("at statement ")?.split_once(" of ")?;
    let (of, line) = match rest.split_once(" (line ") {
        Some((of, line)) => (of, Some(line.strip_suffix(')')?.parse().ok()?)),
        None => (rest, None),
    };
    Some(ProgressMark { direction, state, statement: statement.parse().ok()?, of: of.parse().ok()?, line })
}

/// The statements of a `transaction: none` section, each with the mark its
/// row carries while it runs (its line counted in the file, not the
/// section).
/// Whether a `transaction: none` statement that failed at `mark` left
/// nothing of its revision behind, so the engine forgets the attempt (an
/// upgrade's row is deleted, a downgrade's mark cleared) instead of marking
/// the revision partially applied: it was the section's first statement,
/// and each statement runs as its own transaction, which a failure rolls
/// back. Not PostgreSQL's `CONCURRENTLY` index builds, drops and reindexes:
/// a failed one can leave an invalid index behind.
pub(crate) fn failed_before_any_change(mark: &ProgressMark, sql: &str) -> bool {
    let concurrently =
        crate::sql::split::solid_tokens(sql).any(|(_, t)| t.eq_ignore_ascii_case("CONCURRENTLY"));
    mark.statement == 1 && !concurrently
}

pub(crate) fn marked_statements<'s>(
    direction: Direction,
    section: &Section,
    sql: &'s str,
) -> Vec<(ProgressMark, Statement<'s>)> {
    let statements: Vec<_> = split_statements(sql).into_iter().filter(|s| !s.is_empty()).collect();
    let of = statements.len();
    let mark = |k: usize, statement: &Statement<'_>| ProgressMark {
        direction,
        state: MarkState::Running,
        statement: k + 1,
        of,
        line: Some(section.first_line + statement.line - 1),
    };
    statements.into_iter().enumerate().map(|(k, statement)| (mark(k, &statement), statement)).collect()
}

/// `name` as a quoted SQL identifier: a hostile table name stays a name.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as a SQL string literal.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `CREATE TABLE IF NOT EXISTS` for the history table.
pub fn create_table_sql(dialect: Dialect, table: &str) -> String {
    let (timestamp, now, flag) = match dialect {
        Dialect::Sqlite => ("TEXT", "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))", "INTEGER"),
        Dialect::Postgres => ("TIMESTAMPTZ", "clock_timestamp()", "BOOLEAN"),
    };
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n    package TEXT NOT NULL,\n    revision TEXT NOT NULL,\n    parents TEXT NOT NULL,\n    depends_on TEXT NOT NULL DEFAULT '',\n    checksum TEXT NOT NULL,\n    message TEXT NOT NULL,\n    downgrade_sql TEXT,\n    transactional {flag} NOT NULL,\n    applied_at {timestamp} NOT NULL DEFAULT {now},\n    execution_ms BIGINT,\n    dirty TEXT,\n    PRIMARY KEY (package, revision)\n)",
        quote_ident(table)
    )
}

/// The columns written on insert, in the order of [`insert_values`].
pub(crate) const INSERT_COLUMNS: &str =
    "package, revision, parents, depends_on, checksum, message, downgrade_sql, transactional, execution_ms, dirty";

/// An `INSERT` of `row` with literal values, for offline scripts and for
/// batching a revision's SQL and its history row into one round trip.
pub(crate) fn insert_sql(dialect: Dialect, table: &str, package: &str, row: &AppliedRevision) -> String {
    insert_rows_sql(dialect, table, package, std::slice::from_ref(row))
}

/// One `INSERT` of every row in `rows` (which must not be empty): a
/// snapshot records a row per revision it stands for, and one statement
/// is parsed and planned once where a thousand would be a thousand times.
pub(crate) fn insert_rows_sql(
    dialect: Dialect,
    table: &str,
    package: &str,
    rows: &[AppliedRevision],
) -> String {
    let values: Vec<String> =
        rows.iter().map(|row| format!("({})", insert_values(dialect, package, row))).collect();
    format!("INSERT INTO {} ({INSERT_COLUMNS}) VALUES {}", quote_ident(table), values.join(",\n"))
}

fn insert_values(dialect: Dialect, package: &str, row: &AppliedRevision) -> String {
    let optional = |value: &Option<String>| value.as_deref().map_or("NULL".to_string(), quote_literal);
    let flag = match (dialect, row.transactional) {
        (Dialect::Postgres, true) => "TRUE",
        (Dialect::Postgres, false) => "FALSE",
        (Dialect::Sqlite, true) => "1",
        (Dialect::Sqlite, false) => "0",
    };
    let ms = match (row.execution_ms, dialect) {
        (Some(ms), _) => ms.to_string(),
        // PostgreSQL can time the revision itself: its transaction started
        // with the revision's first statement.
        (None, Dialect::Postgres) => {
            "(extract(epoch FROM clock_timestamp() - transaction_timestamp()) * 1000)::bigint".to_string()
        }
        (None, Dialect::Sqlite) => "NULL".to_string(),
    };
    [
        quote_literal(package),
        quote_literal(&row.revision),
        quote_literal(&row.parents.join(",")),
        quote_literal(&row.depends_on.join(",")),
        quote_literal(&row.checksum),
        quote_literal(&row.message),
        optional(&row.downgrade_sql),
        flag.to_string(),
        ms,
        optional(&row.dirty),
    ]
    .join(", ")
}

/// The `UPDATE` that moves a revision's progress mark (`dirty`) and, when
/// given, its execution time: parameters package, revision, mark, ms.
pub(crate) fn mark_sql(dialect: Dialect, table: &str) -> String {
    let [package, revision, dirty, ms] = match dialect {
        Dialect::Sqlite => ["?1", "?2", "?3", "?4"],
        Dialect::Postgres => ["$1", "$2", "$3", "$4"],
    };
    format!(
        "UPDATE {} SET dirty = {dirty}, execution_ms = coalesce({ms}, execution_ms) WHERE package = {package} AND revision = {revision}",
        quote_ident(table)
    )
}

/// The advisory-lock key migrators of a history table agree on: stable
/// across versions and machines, so an operator can see who holds it in
/// `pg_locks`.
pub(crate) fn lock_key(table: &str) -> i64 {
    let digest = crate::model::checksum::sql_checksum(&format!("cargo-migrate lock {table}"));
    // 15 hex digits always fit in an i64.
    i64::from_str_radix(&digest[..15], 16).unwrap_or_default()
}

/// The SQLSTATE of a [`guard_sql`] that found the history changed.
pub(crate) const HISTORY_CHANGED: &str = "MG001";

/// The migration lock in a script's revision transaction, held until the
/// transaction ends (so no session can keep it by mistake, and a pooler
/// that moves sessions between server connections cannot leak it), waited
/// for up to `wait`. The live engine polls for the same lock instead
/// ([`try_transaction_lock_sql`]).
pub(crate) fn transaction_lock_sql(table: &str, wait: std::time::Duration) -> String {
    format!(
        "SET LOCAL lock_timeout = '{}ms';\nSELECT pg_advisory_xact_lock({});\n",
        crate::apply::timeout_ms(wait),
        lock_key(table)
    )
}

/// A transaction opened with one try for the migration lock: returns one
/// row, `t` when the lock is now held until the transaction ends.
// Only the PostgreSQL engine sends these.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn try_transaction_lock_sql(table: &str) -> String {
    format!("BEGIN; SELECT pg_try_advisory_xact_lock({})", lock_key(table))
}

/// A statement that fails with [`HISTORY_CHANGED`] unless the history is
/// as the run planned for `revision`: for an upgrade, not applied yet with
/// its parents and every revision it depends on applied; for a downgrade,
/// still applied with nothing applied that has it as a parent or depends on
/// it (in this package or another). Run under the transaction's lock, it
/// makes a revision that another migrator applied or reverted meanwhile a
/// signal to plan again, never a second application or an orphan.
pub(crate) fn guard_sql(table: &str, package: &str, revision: &Revision, direction: Direction) -> String {
    let table = quote_ident(table);
    let row = |package: &str, id: &str| {
        format!(
            "SELECT 1 FROM {table} WHERE package = {} AND revision = {}",
            quote_literal(package),
            quote_literal(id)
        )
    };
    let changed = match direction {
        Direction::Upgrade => {
            let needed = revision.parents.iter().map(|id| (package, id.as_str())).chain(
                revision.depends_on.iter().map(|d| (d.package.as_deref().unwrap_or(package), d.id.as_str())),
            );
            let missing = needed.map(|(package, id)| format!(" OR NOT EXISTS ({})", row(package, id)));
            format!("EXISTS ({}){}", row(package, &revision.id), missing.collect::<String>())
        }
        Direction::Downgrade => {
            // A list column holds ids joined by commas: an exact match of
            // `,id,` in `,list,` (not LIKE, whose `_` would match anything).
            let listed = |column: &str, id: &str| {
                format!("position({} IN ',' || {column} || ',') > 0", quote_literal(&format!(",{id},")))
            };
            let id = &revision.id;
            format!(
                "NOT EXISTS ({}) OR EXISTS (SELECT 1 FROM {table} WHERE package = {} AND ({} OR {})) \
                 OR EXISTS (SELECT 1 FROM {table} WHERE package <> {} AND {})",
                row(package, id),
                quote_literal(package),
                listed("parents", id),
                listed("depends_on", id),
                quote_literal(package),
                listed("depends_on", &format!("{package}:{id}")),
            )
        }
    };
    let message =
        quote_literal(&format!("the history changed since this run planned revision {}", revision.id));
    let body = format!(
        "BEGIN IF {changed} THEN RAISE EXCEPTION USING MESSAGE = {message}, ERRCODE = '{HISTORY_CHANGED}'; END IF; END"
    );
    let tag = dollar_tag(&body);
    format!("DO {tag}{body}{tag};\n")
}

/// A dollar-quote tag that does not occur in `body`, so nothing a name or
/// an id holds can end the quoted body early.
fn dollar_tag(body: &str) -> String {
    (0..).map(|n| format!("$migrate{n}$")).find(|tag| !body.contains(tag)).unwrap_or_default()
}

/// The `DELETE` of one revision's row.
pub(crate) fn delete_sql(table: &str, package: &str, revision: &str) -> String {
    format!(
        "DELETE FROM {} WHERE package = {} AND revision = {}",
        quote_ident(table),
        quote_literal(package),
        quote_literal(revision)
    )
}

/// The `UPDATE` that accepts an edit of an applied revision: its row takes
/// the file's checksum and downgrade SQL, if it still records `recorded`
/// (another run that accepted it first changes nothing).
pub(crate) fn accept_edit_sql(table: &str, package: &str, recorded: &str, row: &AppliedRevision) -> String {
    let downgrade = row.downgrade_sql.as_deref().map_or("NULL".to_string(), quote_literal);
    format!(
        "UPDATE {} SET checksum = {}, downgrade_sql = {downgrade} WHERE package = {} AND revision = {} AND checksum = {}",
        quote_ident(table),
        quote_literal(&row.checksum),
        quote_literal(package),
        quote_literal(&row.revision),
        quote_literal(recorded)
    )
}

/// The `UPDATE` that ends a `stamp`: every progress mark of `package`
/// cleared, with literal values so it can end a batch.
pub(crate) fn clear_marks_sql(table: &str, package: &str) -> String {
    format!("UPDATE {} SET dirty = NULL WHERE package = {}", quote_ident(table), quote_literal(package))
}

/// What `repair` runs on each revision left with a progress mark:
/// parameters package, revision. `Applied` keeps the row and clears its
/// mark, `Reverted` deletes the row.
pub(crate) fn repair_sql(dialect: Dialect, table: &str, mark: RepairMark) -> String {
    let (package, revision) = match dialect {
        Dialect::Sqlite => ("?1", "?2"),
        Dialect::Postgres => ("$1", "$2"),
    };
    let table = quote_ident(table);
    let filter = format!("WHERE package = {package} AND revision = {revision}");
    match mark {
        RepairMark::Applied => format!("UPDATE {table} SET dirty = NULL {filter}"),
        RepairMark::Reverted => format!("DELETE FROM {table} {filter}"),
    }
}

/// The `SELECT` that reads a package's rows.
#[cfg(feature = "sqlite")]
pub(crate) fn select_sql(dialect: Dialect, table: &str, format: u32) -> String {
    let applied_at = match dialect {
        Dialect::Sqlite => "applied_at",
        Dialect::Postgres => "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
    };
    let placeholder = match dialect {
        Dialect::Sqlite => "?1",
        Dialect::Postgres => "$1",
    };
    format!(
        "SELECT revision, parents, {}, checksum, message, downgrade_sql, transactional, {applied_at}, execution_ms, dirty FROM {} WHERE package = {placeholder} ORDER BY applied_at, revision",
        crate::apply::format::depends_on_column(format),
        quote_ident(table)
    )
}

/// The `SELECT` of every row of every package, with literal values only, so
/// it can go as one unprepared query: one round trip to read the state.
#[cfg(feature = "postgres")]
pub(crate) fn select_all_sql(dialect: Dialect, table: &str, format: u32) -> String {
    let applied_at = match dialect {
        Dialect::Sqlite => "applied_at",
        Dialect::Postgres => "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
    };
    format!(
        "SELECT package, revision, parents, {}, checksum, message, downgrade_sql, transactional, {applied_at}, execution_ms, dirty FROM {} ORDER BY applied_at, revision",
        crate::apply::format::depends_on_column(format),
        quote_ident(table)
    )
}

/// Like [`select_all_sql`], with only what planning needs (the other
/// columns come back empty) and no sort: the one read of a start-up that
/// has nothing to do, so it moves no downgrade SQL and formats no times.
#[cfg(feature = "postgres")]
pub(crate) fn select_for_planning_sql(table: &str, format: u32) -> String {
    format!(
        "SELECT package, revision, parents, {}, checksum, '', NULL, transactional, '', NULL, dirty FROM {}",
        crate::apply::format::depends_on_column(format),
        quote_ident(table)
    )
}

/// The packages with rows in the history table, sorted: those sharing
/// its database.
pub(crate) fn packages_sql(table: &str) -> String {
    format!("SELECT DISTINCT package FROM {} ORDER BY 1", quote_ident(table))
}

/// The `SELECT` of other packages' revisions and their dependencies.
#[cfg(feature = "sqlite")]
pub(crate) fn select_others_sql(dialect: Dialect, table: &str, format: u32) -> String {
    let placeholder = if dialect == Dialect::Sqlite { "?1" } else { "$1" };
    let depends_on = crate::apply::format::depends_on_column(format);
    format!(
        "SELECT package, revision, {depends_on} FROM {} WHERE package <> {placeholder}",
        quote_ident(table)
    )
}

/// A revision another package has applied, with what it depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherPackageRevision {
    pub package: String,
    pub revision: String,
    pub depends_on: Vec<String>,
}

/// Splits a stored comma list (`parents`, `depends_on`).
pub(crate) fn parse_parents(stored: &str) -> Vec<String> {
    stored.split(',').filter(|p| !p.is_empty()).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hostile_name_stays_a_name() {
        assert_eq!(super::quote_ident(r#"x"; DROP"#), r#""x""; DROP""#);
    }

    use super::*;
    use Direction::{Downgrade, Upgrade};
    use MarkState::{Failed, Running};

    fn mark(
        direction: Direction,
        state: MarkState,
        statement: usize,
        of: usize,
        line: Option<usize>,
    ) -> ProgressMark {
        ProgressMark { direction, state, statement, of, line }
    }

    #[test]
    fn every_shape_prints_and_parses_back() {
        for direction in [Upgrade, Downgrade] {
            for state in [Running, Failed] {
                for (statement, of, line) in
                    [(0, 3, None), (2, 3, Some(14)), (12, 120, Some(1)), (0, 0, None)]
                {
                    let mark = mark(direction, state, statement, of, line);
                    assert_eq!(mark.to_string().parse(), Ok(mark), "{mark}");
                }
            }
        }
    }

    /// The strings rows in existing databases hold, and the e2e tests read.
    #[test]
    fn parses_the_marks_engines_write() {
        let check = |text: &str, expected: ProgressMark| {
            assert_eq!(text.parse(), Ok(expected), "{text}");
            assert_eq!(expected.to_string(), text);
        };
        check("at statement 0 of 3", mark(Upgrade, Running, 0, 3, None));
        check("at statement 2 of 3 (line 14)", mark(Upgrade, Running, 2, 3, Some(14)));
        check("failed at statement 2 of 3 (line 14)", mark(Upgrade, Failed, 2, 3, Some(14)));
        check("downgrade at statement 0 of 2", mark(Downgrade, Running, 0, 2, None));
        check("downgrade at statement 1 of 2 (line 9)", mark(Downgrade, Running, 1, 2, Some(9)));
        check("downgrade failed at statement 2 of 2 (line 11)", mark(Downgrade, Failed, 2, 2, Some(11)));
    }

    #[test]
    fn other_text_is_not_a_mark_and_not_in_progress() {
        for text in [
            "",
            "statement 3 of 5",
            "at statement 2 of 3 (line 14",
            "at statement +2 of 3",
            "at statement 02 of 3",
            "at statement 2 of 3 ",
            "failed downgrade at statement 1 of 2",
            "downgrade downgrade at statement 1 of 2",
            "fixed by hand",
        ] {
            assert_eq!(text.parse::<ProgressMark>(), Err(NotAProgressMark(text.to_string())));
            assert!(!ProgressMark::stored_in_progress(text), "{text}");
        }
    }

    #[test]
    fn only_running_marks_are_in_progress() {
        assert!(ProgressMark::stored_in_progress("at statement 0 of 3"));
        assert!(ProgressMark::stored_in_progress("downgrade at statement 2 of 3 (line 14)"));
        assert!(!ProgressMark::stored_in_progress("failed at statement 2 of 3 (line 14)"));
        assert!(!ProgressMark::stored_in_progress("downgrade failed at statement 2 of 3 (line 14)"));
    }

    #[test]
    fn marks_count_statements_and_file_lines() {
        let sql = "CREATE INDEX a ON t (x);\n\n-- why\nCREATE INDEX b\n  ON t (y);\n";
        let section = Section::new(None, 7, sql.to_string());
        let marks: Vec<String> =
            marked_statements(Downgrade, &section, sql).iter().map(|(mark, _)| mark.to_string()).collect();
        assert_eq!(
            marks,
            ["downgrade at statement 1 of 2 (line 7)", "downgrade at statement 2 of 2 (line 10)"]
        );
    }

    #[test]
    fn stamp_and_repair_sql() {
        assert_eq!(clear_marks_sql("h", "a'b"), "UPDATE \"h\" SET dirty = NULL WHERE package = 'a''b'");
        assert_eq!(
            repair_sql(Dialect::Sqlite, "h", RepairMark::Applied),
            "UPDATE \"h\" SET dirty = NULL WHERE package = ?1 AND revision = ?2"
        );
        assert_eq!(
            repair_sql(Dialect::Postgres, "h", RepairMark::Reverted),
            "DELETE FROM \"h\" WHERE package = $1 AND revision = $2"
        );
    }
}
