//! The history table: one row per applied revision of each package. The
//! applied set is the truth; the current revisions are derived from it.
//!
//! The SQL here is shared by the live engines and the offline script, so a
//! script printed with `--sql` records exactly what a live run would.

use crate::apply::RepairMark;
use crate::revision::{Dialect, Revision, TransactionMode};

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
    /// fails: `statement 3 of 5`.
    pub dirty: Option<String>,
}

impl AppliedRevision {
    /// The row a revision gets when applied (or stamped) for `dialect`.
    pub fn for_revision(revision: &Revision, dialect: Dialect) -> AppliedRevision {
        AppliedRevision {
            revision: revision.id.clone(),
            parents: revision.parents.clone(),
            depends_on: revision.depends_on.iter().map(ToString::to_string).collect(),
            checksum: revision.upgrade_for(dialect).map(|s| s.checksum.clone()).unwrap_or_default(),
            message: revision.message.clone(),
            downgrade_sql: revision.downgrade_for(dialect).map(|s| s.sql.clone()),
            transactional: revision.transaction == TransactionMode::Single,
            applied_at: String::new(),
            execution_ms: None,
            dirty: None,
        }
    }
}

/// `name` as a quoted SQL identifier: a hostile table name stays a name.
///
/// ```
/// assert_eq!(migrate_runtime::history::quote_ident(r#"x"; DROP"#), r#""x""; DROP""#);
/// ```
pub fn quote_ident(name: &str) -> String {
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
pub const INSERT_COLUMNS: &str =
    "package, revision, parents, depends_on, checksum, message, downgrade_sql, transactional, execution_ms, dirty";

/// An `INSERT` of `row` with literal values, for offline scripts and for
/// batching a revision's SQL and its history row into one round trip.
pub fn insert_sql(dialect: Dialect, table: &str, package: &str, row: &AppliedRevision) -> String {
    format!(
        "INSERT INTO {} ({INSERT_COLUMNS}) VALUES ({})",
        quote_ident(table),
        insert_values(dialect, package, row)
    )
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
pub fn mark_sql(dialect: Dialect, table: &str) -> String {
    let [package, revision, dirty, ms] = match dialect {
        Dialect::Sqlite => ["?1", "?2", "?3", "?4"],
        Dialect::Postgres => ["$1", "$2", "$3", "$4"],
    };
    format!(
        "UPDATE {} SET dirty = {dirty}, execution_ms = coalesce({ms}, execution_ms) WHERE package = {package} AND revision = {revision}",
        quote_ident(table)
    )
}

/// The `DELETE` of one revision's row.
pub fn delete_sql(table: &str, package: &str, revision: &str) -> String {
    format!(
        "DELETE FROM {} WHERE package = {} AND revision = {}",
        quote_ident(table),
        quote_literal(package),
        quote_literal(revision)
    )
}

/// The `UPDATE` that ends a `stamp`: every progress mark of `package`
/// cleared, with literal values so it can end a batch.
pub fn clear_marks_sql(table: &str, package: &str) -> String {
    format!("UPDATE {} SET dirty = NULL WHERE package = {}", quote_ident(table), quote_literal(package))
}

/// What `repair` runs on each revision left with a progress mark:
/// parameters package, revision. `Applied` keeps the row and clears its
/// mark, `Reverted` deletes the row.
pub fn repair_sql(dialect: Dialect, table: &str, mark: RepairMark) -> String {
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
pub fn select_sql(dialect: Dialect, table: &str) -> String {
    let applied_at = match dialect {
        Dialect::Sqlite => "applied_at",
        Dialect::Postgres => "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
    };
    let placeholder = match dialect {
        Dialect::Sqlite => "?1",
        Dialect::Postgres => "$1",
    };
    format!(
        "SELECT revision, parents, depends_on, checksum, message, downgrade_sql, transactional, {applied_at}, execution_ms, dirty FROM {} WHERE package = {placeholder} ORDER BY applied_at, revision",
        quote_ident(table)
    )
}

/// The `SELECT` of every row of every package, with literal values only, so
/// it can go as one unprepared query: one round trip to read the state.
pub fn select_all_sql(dialect: Dialect, table: &str) -> String {
    let applied_at = match dialect {
        Dialect::Sqlite => "applied_at",
        Dialect::Postgres => "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
    };
    format!(
        "SELECT package, revision, parents, depends_on, checksum, message, downgrade_sql, transactional, {applied_at}, execution_ms, dirty FROM {} ORDER BY applied_at, revision",
        quote_ident(table)
    )
}

/// Like [`select_all_sql`], with only what planning needs (the other
/// columns come back empty) and no sort: the one read of a start-up that
/// has nothing to do, so it moves no downgrade SQL and formats no times.
pub fn select_for_planning_sql(table: &str) -> String {
    format!(
        "SELECT package, revision, parents, depends_on, checksum, '', NULL, transactional, '', NULL, dirty FROM {}",
        quote_ident(table)
    )
}

/// The `SELECT` of other packages' revisions and their dependencies.
pub fn select_others_sql(dialect: Dialect, table: &str) -> String {
    let placeholder = if dialect == Dialect::Sqlite { "?1" } else { "$1" };
    format!("SELECT package, revision, depends_on FROM {} WHERE package <> {placeholder}", quote_ident(table))
}

/// A revision another package has applied, with what it depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherPackageRevision {
    pub package: String,
    pub revision: String,
    pub depends_on: Vec<String>,
}

/// Splits a stored comma list (`parents`, `depends_on`).
pub fn parse_parents(stored: &str) -> Vec<String> {
    stored.split(',').filter(|p| !p.is_empty()).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
