//! The history table's format: which layout of the table a database holds.
//! It is recorded in a one-row companion table, `<history>_format`, whose
//! own layout never changes, so every release can read it whatever a newer
//! one did to the history table. A table an older release wrote is upgraded
//! in place, in the transaction of the first writing command; one a newer
//! release wrote is refused and never rewritten.
//!
//! | format | layout | recorded |
//! |---|---|---|
//! | 0 | the first release's: no `depends_on` column; PostgreSQL's `applied_at` defaults to `now()` | never: found by its columns |
//! | 1 | `depends_on` added, `applied_at` defaults to `clock_timestamp()` | from this release on; found by its columns where an earlier release wrote it |
//!
//! A table without the record is read by its columns, so tables written
//! before the record existed keep working; the record is written by the
//! first writing command. `--sql` scripts, which cannot know what the
//! database holds, record the format only where none is recorded and the
//! table has the current layout.

use crate::apply::history::{quote_ident, quote_literal};
use crate::model::error::ApplyError;
use crate::model::revision::Dialect;

/// The format this release reads and writes.
pub const CURRENT_FORMAT: u32 = 1;

/// What wrote a format record: this library and its version.
const WRITTEN_BY: &str = concat!("migrate-runtime ", env!("CARGO_PKG_VERSION"));

/// The format of an existing history table, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub number: u32,
    /// What the record says wrote it; `None` when there is no record.
    pub written_by: Option<String>,
}

impl Found {
    /// A table without a format record, known by whether it has the
    /// `depends_on` column.
    pub fn by_columns(has_depends_on: bool) -> Found {
        Found { number: u32::from(has_depends_on), written_by: None }
    }

    /// A format record's row.
    pub fn recorded(number: u32, written_by: String) -> Found {
        Found { number, written_by: Some(written_by) }
    }

    /// Whether a writing command has something to do before it writes:
    /// an older layout, or a current one without its record.
    pub fn needs_upgrade(&self) -> bool {
        self.number < CURRENT_FORMAT || self.written_by.is_none()
    }

    /// Refuses a format newer than this release knows: its columns may
    /// mean something this release would get wrong.
    pub fn check(&self, table: &str) -> Result<(), ApplyError> {
        if self.number <= CURRENT_FORMAT {
            return Ok(());
        }
        Err(ApplyError::NewerHistoryFormat {
            table: table.to_string(),
            found: self.number,
            written_by: self.written_by.clone().unwrap_or_else(|| "an unknown release".to_string()),
            supported: CURRENT_FORMAT,
            ours: WRITTEN_BY,
        })
    }
}

/// The companion table's name.
pub(crate) fn format_table(table: &str) -> String {
    format!("{table}_format")
}

/// Reads the format record: at most one row, `format` and `written_by`.
pub(crate) fn select_sql(table: &str) -> String {
    format!(
        "SELECT format, written_by FROM {} ORDER BY format DESC LIMIT 1",
        quote_ident(&format_table(table))
    )
}

/// The companion table with this release's record, replacing any other:
/// what a new history table gets, and the last step of an upgrade.
pub(crate) fn record_sql(table: &str) -> String {
    let format_table = quote_ident(&format_table(table));
    format!(
        "{};\nDELETE FROM {format_table};\n\
         INSERT INTO {format_table} (format, written_by) VALUES ({CURRENT_FORMAT}, {});\n",
        create_sql(table),
        quote_literal(WRITTEN_BY)
    )
}

/// What an offline script records after its `CREATE TABLE IF NOT EXISTS`
/// of the history table: this release's format, only when no format is
/// recorded yet and the table has the current layout (its newest column).
/// A script cannot know what the database holds: so it never marks an
/// older table current (the next live writing command upgrades that), nor
/// touches a newer one's record.
pub(crate) fn record_if_missing_sql(dialect: Dialect, table: &str) -> String {
    let format_table = quote_ident(&format_table(table));
    let has_column = match dialect {
        Dialect::Sqlite => {
            format!("SELECT 1 FROM pragma_table_info({}) WHERE name = 'depends_on'", quote_literal(table))
        }
        Dialect::Postgres => format!(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name = {} AND column_name = 'depends_on'",
            quote_literal(table)
        ),
    };
    format!(
        "{};\nINSERT INTO {format_table} (format, written_by) SELECT {CURRENT_FORMAT}, {} \
         WHERE NOT EXISTS (SELECT 1 FROM {format_table}) AND EXISTS ({has_column})",
        create_sql(table),
        quote_literal(WRITTEN_BY)
    )
}

fn create_sql(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (format INTEGER NOT NULL, written_by TEXT NOT NULL)",
        quote_ident(&format_table(table))
    )
}

/// The statements that take a history table from `found` to the current
/// format, record included; the caller runs them in one transaction.
pub(crate) fn upgrade_sql(dialect: Dialect, table: &str, found: &Found) -> String {
    let history = quote_ident(table);
    let mut sql = String::new();
    if found.number < 1 {
        sql += &format!("ALTER TABLE {history} ADD COLUMN depends_on TEXT NOT NULL DEFAULT '';\n");
        if dialect == Dialect::Postgres {
            // `now()` gave every row a revision transaction wrote the same
            // time; rows are read in `applied_at` order.
            sql += &format!("ALTER TABLE {history} ALTER COLUMN applied_at SET DEFAULT clock_timestamp();\n");
        }
    }
    sql + &record_sql(table)
}

/// The expression reading the `depends_on` column in a table of format
/// `number`: format 0 has none, so nothing depends on anything.
pub(crate) fn depends_on_column(number: u32) -> &'static str {
    if number == 0 {
        "''"
    } else {
        "depends_on"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_newer_formats_are_refused() {
        assert!(Found::by_columns(false).check("h").is_ok());
        assert!(Found::recorded(CURRENT_FORMAT, "x".into()).check("h").is_ok());
        let newer = Found::recorded(CURRENT_FORMAT + 1, "migrate-runtime 9.0.0".into()).check("h");
        let message = newer.unwrap_err().to_string();
        assert!(message.contains("format 2") && message.contains("format 1"), "{message}");
        assert!(message.contains("migrate-runtime 9.0.0"), "{message}");
    }

    #[test]
    fn upgrades_add_what_each_format_lacks() {
        let from_zero = upgrade_sql(Dialect::Postgres, "h", &Found::by_columns(false));
        assert!(from_zero.contains("ADD COLUMN depends_on") && from_zero.contains("clock_timestamp()"));
        let unrecorded = upgrade_sql(Dialect::Sqlite, "h", &Found::by_columns(true));
        assert!(!unrecorded.contains("ALTER TABLE"), "{unrecorded}");
        assert!(unrecorded.contains("INSERT INTO \"h_format\""), "{unrecorded}");
        assert!(Found::by_columns(true).needs_upgrade());
        assert!(!Found::recorded(CURRENT_FORMAT, String::new()).needs_upgrade());
    }
}
