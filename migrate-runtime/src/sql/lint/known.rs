//! What the lint knows of the schema before a statement: the tables the
//! chain has created so far and by which revision, their columns' types,
//! and their `CHECK (col IS NOT NULL)` constraints. Followed statement by
//! statement through the upgrade sections in apply order, so "a table
//! created in the same revision" (empty, nobody uses it yet) is told apart
//! from one that existed. A table the chain never created (made before the
//! first revision, or by SQL the parser cannot read) counts as existing:
//! the safe guess for the rules that ask.

use std::collections::HashMap;

#[derive(Debug, Default)]
pub(crate) struct Schema {
    tables: HashMap<String, Table>,
}

#[derive(Debug, Default)]
struct Table {
    created_by: String,
    /// Column name to its type as written, lower-cased (`varchar(20)`).
    columns: HashMap<String, String>,
    /// Constraint name to (column, validated).
    not_null_checks: HashMap<String, (String, bool)>,
}

impl Schema {
    /// Whether `table` existed before `revision` ran (unknown tables did).
    pub(crate) fn existed_before(&self, table: &str, revision: &str) -> bool {
        self.tables.get(table).is_none_or(|t| t.created_by != revision)
    }

    pub(crate) fn column_type(&self, table: &str, column: &str) -> Option<&str> {
        self.tables.get(table)?.columns.get(column).map(String::as_str)
    }

    pub(crate) fn create_table(&mut self, table: String, revision: &str, columns: Vec<(String, String)>) {
        let columns = columns.into_iter().collect();
        self.tables.insert(table, Table { created_by: revision.to_string(), columns, ..Table::default() });
    }

    pub(crate) fn drop_table(&mut self, table: &str) {
        self.tables.remove(table);
    }

    pub(crate) fn rename_table(&mut self, from: &str, to: String) {
        if let Some(table) = self.tables.remove(from) {
            self.tables.insert(to, table);
        }
    }

    pub(crate) fn set_column(&mut self, table: &str, column: String, kind: String) {
        if let Some(table) = self.tables.get_mut(table) {
            table.columns.insert(column, kind);
        }
    }

    pub(crate) fn drop_column(&mut self, table: &str, column: &str) {
        if let Some(table) = self.tables.get_mut(table) {
            table.columns.remove(column);
        }
    }

    pub(crate) fn rename_column(&mut self, table: &str, from: &str, to: String) {
        if let Some(table) = self.tables.get_mut(table) {
            if let Some(kind) = table.columns.remove(from) {
                table.columns.insert(to, kind);
            }
        }
    }

    /// Records `CHECK (column IS NOT NULL)` named `name`; an unknown table
    /// is entered so that its checks are remembered too.
    pub(crate) fn add_not_null_check(&mut self, table: &str, name: String, column: String, validated: bool) {
        let entry = self.tables.entry(table.to_string()).or_default();
        entry.not_null_checks.insert(name, (column, validated));
    }

    pub(crate) fn validate(&mut self, table: &str, name: &str) {
        if let Some((_, validated)) = self.tables.get_mut(table).and_then(|t| t.not_null_checks.get_mut(name))
        {
            *validated = true;
        }
    }

    /// A validated `CHECK (column IS NOT NULL)` lets PostgreSQL 12+ set
    /// `NOT NULL` without scanning the table.
    pub(crate) fn has_validated_not_null(&self, table: &str, column: &str) -> bool {
        self.tables
            .get(table)
            .is_some_and(|t| t.not_null_checks.values().any(|(c, validated)| c == column && *validated))
    }
}
