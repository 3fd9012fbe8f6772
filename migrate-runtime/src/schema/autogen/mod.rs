//! Autogenerate: the SQL that turns one [`Schema`] into another, for
//! `cargo migrate new --autogenerate`. Pure: two models in, statements out.
//!
//! Both directions are planned by the same function, so a revision's
//! downgrade is the upgrade from the desired schema back to the head. Tables
//! are created referenced-first and dropped in the reverse order, so foreign
//! keys never dangle. On SQLite, changes `ALTER TABLE` cannot express use the
//! documented table rebuild (new table, copy the common columns, drop,
//! rename, recreate indexes; with foreign keys off around the transaction
//! and checked before it commits when a foreign key references the table,
//! its own new ones included,
//! through a leading `PRAGMA foreign_keys = OFF`); views and triggers are
//! dropped before any table change and recreated after it, so none refers
//! to a missing table mid-way. On PostgreSQL, the triggers and views a
//! change touches are dropped first and recreated last, views in dependency
//! order; enum types are created before the tables and dropped after them,
//! sequences not owned by a column come and go on their own, and functions
//! are created after the table changes (before them when a table calls one)
//! and dropped once nothing uses them (`autogen/functions.rs`). Constraints
//! of existing PostgreSQL tables are dropped by the names introspection read
//! (foreign keys first) before the table changes and added after them
//! (foreign keys last), so no foreign key is ever without the key it
//! references. Renames happen only when asked for, never guessed.

mod concurrent;
mod constraints;
mod functions;
mod postgres;
mod tables;

use constraints::*;
use tables::*;

use crate::model::revision::Dialect;
use crate::schema::{Column, Constraint, Difference, ForeignKey, Index, Schema, Table};
use std::collections::{BTreeMap, BTreeSet};

/// The statements of both directions, and what could not be written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Statements ending in `;`, some preceded by a `-- WARNING:` line.
    pub upgrade: Vec<String>,
    pub downgrade: Vec<String>,
    /// One line per data-losing upgrade step: `drops data: table t`.
    pub warnings: Vec<String>,
    /// One line per upgrade step that fails on a table with rows (a `NOT
    /// NULL` column with nothing to hold): `fails on a table with rows:
    /// column t.c is NOT NULL without a default: …`. Loses nothing: the
    /// revision rolls back.
    pub cautions: Vec<String>,
    /// Differences no statement was written for, which the user writes by
    /// hand: enum labels removed or reordered (or appended and used in the
    /// same revision, or taken away from a type an array column uses), a
    /// PostgreSQL constraint to drop whose name the model lacks (a schema
    /// not read from a database), a function whose return type or argument
    /// names change while a table calls it, a trigger whose table its
    /// definition does not name, and an index expression introspection
    /// could not read back.
    pub unsupported: Vec<Difference>,
    /// What the downgrade could not write beyond the upgrade's own gaps
    /// (the same objects, seen from the other side, are not repeated).
    pub unsupported_downgrade: Vec<Difference>,
    /// PostgreSQL: statements for a follow-up revision with `transaction:
    /// none`, after this one: `CREATE INDEX CONCURRENTLY` for each index
    /// added to a table that exists before the revision, then `VALIDATE
    /// CONSTRAINT` for each foreign key or check this one adds `NOT VALID`
    /// to such a table (see `autogen/concurrent.rs`). Empty on SQLite.
    pub follow_up: Vec<String>,
    /// The follow-up's downgrade: `DROP INDEX CONCURRENTLY` for each index.
    pub follow_up_downgrade: Vec<String>,
}

impl Changes {
    /// Whether nothing differs at all.
    pub fn is_empty(&self) -> bool {
        self.upgrade.is_empty()
            && self.downgrade.is_empty()
            && self.follow_up.is_empty()
            && self.unsupported.is_empty()
            && self.unsupported_downgrade.is_empty()
    }
}

/// The changes from `from` to `to` in `dialect`. `renames` pairs old and
/// new names: `old_table`/`new_table` for a table, `table.old`/`table.new`
/// for a column of the table named `table` in `to`.
///
/// ```
/// use migrate_runtime::schema::generate;
/// use migrate_runtime::schema::{Column, Schema, Table};
/// use migrate_runtime::Dialect;
/// let mut to = Schema::default();
/// let id = Column { nullable: false, ..Column::new("id", "integer") };
/// to.tables.insert("t".into(), Table { columns: vec![id], ..Table::default() });
/// let changes = generate(&Schema::default(), &to, Dialect::Sqlite, &[]);
/// assert_eq!(changes.upgrade, ["CREATE TABLE \"t\" (\n    \"id\" integer NOT NULL\n);"]);
/// assert_eq!(changes.downgrade, ["-- WARNING: drops data: table t\nDROP TABLE \"t\";"]);
/// ```
pub fn generate(from: &Schema, to: &Schema, dialect: Dialect, renames: &[(String, String)]) -> Changes {
    let deferred = match dialect {
        Dialect::Postgres => concurrent::new_indexes(from, to),
        Dialect::Sqlite => Vec::new(),
    };
    // The first revision goes to `mid`: the desired schema less the indexes
    // the follow-up builds concurrently.
    let mid = concurrent::without(to, &deferred);
    let mut up = Plan::make(from, &mid, dialect, renames, Direction::Upgrade);
    let down = Plan::make(&mid, from, dialect, &reverse(from, &mid, renames), Direction::Downgrade);
    let seen = |d: &Difference| up.unsupported.iter().any(|u| u.object == d.object);
    let unsupported_downgrade = down.unsupported.iter().filter(|d| !seen(d)).cloned().collect();
    let validations = std::mem::take(&mut up.validations);
    Changes {
        upgrade: up.out,
        downgrade: down.out,
        warnings: up.warnings,
        cautions: up.cautions,
        unsupported: up.unsupported,
        unsupported_downgrade,
        follow_up: concurrent::upgrade(&deferred, validations),
        follow_up_downgrade: concurrent::downgrade(&deferred),
    }
}

/// The renames of the way back. A column's table is named as in `to` of
/// that direction, i.e. by its old name when the table was renamed too.
fn reverse(from: &Schema, to: &Schema, renames: &[(String, String)]) -> Vec<(String, String)> {
    let old_table = |table: &str| {
        let renamed =
            renames.iter().find(|(old, new)| new == table && from.tables.contains_key(old.as_str()));
        renamed.map_or(table.to_string(), |(old, _)| old.clone())
    };
    renames
        .iter()
        .map(|(old, new)| match (column_rename(old), column_rename(new)) {
            (Some((_, old_column)), Some((table, new_column))) if to.tables.contains_key(table) => {
                let table = old_table(table);
                (format!("{table}.{new_column}"), format!("{table}.{old_column}"))
            }
            _ => (new.clone(), old.clone()),
        })
        .collect()
}

fn column_rename(name: &str) -> Option<(&str, &str)> {
    name.split_once('.')
}

// Which way a plan goes matters: only a downgrade takes enum labels away,
// as the undoing of `ALTER TYPE … ADD VALUE`, which PostgreSQL cannot revert.
use crate::model::Direction;

/// The `serial` column a sequence comes and goes with: its default is
/// `nextval('sequence'::regclass)`. (An identity column's sequence is not in
/// the model: the column's `GENERATED … AS IDENTITY` makes and drops it.)
struct Owner {
    table: String,
    column: Column,
}

/// One direction being planned.
struct Plan<'a> {
    dialect: Dialect,
    direction: Direction,
    /// The starting schema, with asked-for renames already applied.
    from: Schema,
    to: &'a Schema,
    out: Vec<String>,
    warnings: Vec<String>,
    cautions: Vec<String>,
    unsupported: Vec<Difference>,
    /// `ALTER TYPE … ADD VALUE` statements written, with type and label.
    added_labels: Vec<(String, String, String)>,
    /// Whether a SQLite rebuild needs foreign keys off (see
    /// [`crate::sql::pragmas::disables_foreign_keys`]).
    foreign_keys_off: bool,
    /// `ADD FOREIGN KEY` of new PostgreSQL tables whose referenced table or
    /// key does not exist yet when they are created; run last.
    late_foreign_keys: Vec<String>,
    /// `VALIDATE CONSTRAINT` of the constraints added `NOT VALID`, for the
    /// follow-up revision ([`Changes::follow_up`]).
    validations: Vec<String>,
}

impl<'a> Plan<'a> {
    fn make(
        from: &Schema,
        to: &'a Schema,
        dialect: Dialect,
        renames: &[(String, String)],
        direction: Direction,
    ) -> Plan<'a> {
        let mut plan = Plan {
            dialect,
            direction,
            from: from.clone(),
            to,
            out: Vec::new(),
            warnings: Vec::new(),
            cautions: Vec::new(),
            unsupported: Vec::new(),
            added_labels: Vec::new(),
            foreign_keys_off: false,
            late_foreign_keys: Vec::new(),
            validations: Vec::new(),
        };
        plan.renames(renames);
        match dialect {
            Dialect::Sqlite => {
                plan.create_tables();
                plan.alter_tables();
                plan.drop_tables();
                plan.sqlite_views_and_triggers();
                plan.unsupported_objects(&["enum ", "sequence ", "function "]);
                if plan.foreign_keys_off {
                    plan.out.insert(0, "PRAGMA foreign_keys = OFF;".to_string());
                }
            }
            Dialect::Postgres => plan.postgres(from, renames),
        }
        plan
    }

    fn renames(&mut self, renames: &[(String, String)]) {
        for (old, new) in renames.iter().filter(|(old, _)| column_rename(old).is_none()) {
            if !self.to.tables.contains_key(new) || self.from.tables.contains_key(new) {
                continue;
            }
            let Some(table) = self.from.tables.remove(old) else { continue };
            self.from.tables.insert(new.clone(), table);
            for table in self.from.tables.values_mut() {
                keeping_names(table, |table| {
                    let keys = table.foreign_keys.iter_mut().filter(|k| &k.references == old);
                    keys.for_each(|k| k.references = new.clone());
                });
            }
            self.out.push(format!("ALTER TABLE {} RENAME TO {};", quote_object(old), quote(local_name(new))));
        }
        for (old, new) in renames {
            let (Some((table, old)), Some((_, new))) = (column_rename(old), column_rename(new)) else {
                continue;
            };
            self.rename_column(table, old, new);
        }
    }

    fn rename_column(&mut self, name: &str, old: &str, new: &str) {
        let wanted = self.to.tables.get(name).is_some_and(|t| has_column(t, new) && !has_column(t, old));
        let Some(table) = self.from.tables.get_mut(name).filter(|t| has_column(t, old) && wanted) else {
            return;
        };
        let rename = |c: &mut String| {
            if c == old {
                *c = new.to_string();
            }
        };
        keeping_names(table, |table| {
            table.columns.iter_mut().for_each(|c| rename(&mut c.name));
            table.primary_key.iter_mut().for_each(rename);
            table.uniques.iter_mut().flatten().for_each(rename);
            table.indexes.values_mut().flat_map(|i| i.columns.iter_mut()).for_each(rename);
            table.foreign_keys.iter_mut().flat_map(|k| k.columns.iter_mut()).for_each(rename);
        });
        for table in self.from.tables.values_mut() {
            keeping_names(table, |table| {
                let keys = table.foreign_keys.iter_mut().filter(|k| k.references == name);
                keys.flat_map(|k| k.referenced_columns.iter_mut()).for_each(rename);
            });
        }
        let table = quote_object(name);
        self.out.push(format!("ALTER TABLE {table} RENAME COLUMN {} TO {};", quote(old), quote(new)));
    }

    /// Differences of objects whose entries start with one of `kinds`.
    fn unsupported_objects(&mut self, kinds: &[&str]) {
        let differences = self.from.diff(self.to);
        let wanted = differences.into_iter().filter(|d| kinds.iter().any(|k| d.object.starts_with(k)));
        self.unsupported.extend(wanted);
    }

    /// A statement that loses data, marked in the file and warned about.
    fn losing(&mut self, what: &str, statement: String) {
        self.warn(what);
        self.out.push(format!("-- WARNING: drops data: {what}\n{statement}"));
    }

    fn warn(&mut self, what: &str) {
        self.warnings.push(format!("drops data: {what}"));
    }

    /// A statement that fails on a table with rows, marked in the file and
    /// warned about.
    fn failing_on_rows(&mut self, what: &str, statement: String) {
        self.caution(what);
        self.out.push(format!("-- WARNING: {}: {what}\n{statement}", tables::FAILS_ON_ROWS));
    }

    fn caution(&mut self, what: &str) {
        self.cautions.push(format!("{}: {what}", tables::FAILS_ON_ROWS));
    }
}

/// Applies `change`, which renames columns or tables, to `table`: each
/// constraint keeps its name under its new [`Constraint::object`].
fn keeping_names(table: &mut Table, change: impl FnOnce(&mut Table)) {
    let names: Vec<Option<String>> = table
        .constraints()
        .iter()
        .map(|c| table.constraint_names.get(&c.object()).map(String::from))
        .collect();
    change(table);
    let objects: Vec<String> = table.constraints().iter().map(Constraint::object).collect();
    let renamed = objects.into_iter().zip(names).filter_map(|(object, name)| Some((object, name?)));
    table.constraint_names = renamed.collect();
}

/// `CREATE TABLE "name" (…)` for `table`. A foreign key to the table itself
/// names it by `table`'s final name, so after a rebuild's rename it still
/// points at it.
fn create_table(name: &str, table: &Table, names_in_use: &BTreeSet<String>) -> String {
    let has = |option: &str| table.options.iter().any(|o| o == option);
    // SQLite takes `AUTOINCREMENT` only on the column of a one-column key.
    let autoincrement = match table.primary_key.as_slice() {
        [key] if has("autoincrement") => Some(key.as_str()),
        _ => None,
    };
    let mut parts: Vec<String> = table
        .columns
        .iter()
        .map(|c| match autoincrement {
            Some(key) if key == c.name => column_sql(c) + " PRIMARY KEY AUTOINCREMENT",
            _ => column_sql(c),
        })
        .collect();
    for constraint in table.constraints() {
        if autoincrement.is_some() && matches!(constraint, Constraint::PrimaryKey(_)) {
            continue;
        }
        let label = table.constraint_names.get(&constraint.object()).filter(|n| !names_in_use.contains(*n));
        parts.push(named_constraint_sql(label, &constraint));
    }
    let options: Vec<String> =
        table.options.iter().filter(|o| *o != "autoincrement").map(|o| o.to_uppercase()).collect();
    let options = if options.is_empty() { String::new() } else { format!(" {}", options.join(", ")) };
    format!("CREATE TABLE {} (\n    {}\n){options};", quote_object(name), parts.join(",\n    "))
}

/// `CONSTRAINT "name" UNIQUE ("a")`, or without a name for the database
/// to choose.
fn named_constraint_sql(name: Option<&str>, constraint: &Constraint) -> String {
    let label = name.map(|n| format!("CONSTRAINT {} ", quote(n))).unwrap_or_default();
    label + &constraint_sql(constraint)
}

/// A constraint as `CREATE TABLE` and `ALTER TABLE … ADD` write it.
fn constraint_sql(constraint: &Constraint) -> String {
    match constraint {
        Constraint::PrimaryKey(columns) => format!("PRIMARY KEY ({})", quoted_list(columns)),
        Constraint::Unique(columns) => format!("UNIQUE ({})", quoted_list(columns)),
        Constraint::ForeignKey(key) => foreign_key_sql(key),
        Constraint::Check(expression) => format!("CHECK ({expression})"),
    }
}

/// `FOREIGN KEY ("a") REFERENCES "t" ("id") ON DELETE CASCADE`.
fn foreign_key_sql(key: &ForeignKey) -> String {
    let mut text =
        format!("FOREIGN KEY ({}) REFERENCES {}", quoted_list(&key.columns), quote_relation(&key.references));
    if !key.referenced_columns.is_empty() {
        text += &format!(" ({})", quoted_list(&key.referenced_columns));
    }
    for (event, action) in [("DELETE", &key.on_delete), ("UPDATE", &key.on_update)] {
        if !action.is_empty() && action != "no action" {
            text += &format!(" ON {event} {}", action.to_uppercase());
        }
    }
    text
}

/// `"name" type NOT NULL DEFAULT x`, or `… GENERATED ALWAYS AS IDENTITY`.
fn column_sql(column: &Column) -> String {
    let mut text = quote(&column.name);
    if !column.data_type.is_empty() {
        text += &format!(" {}", column.data_type);
    }
    if let Some(collation) = &column.collation {
        text += &format!(" COLLATE {collation}");
    }
    if !column.nullable {
        text += " NOT NULL";
    }
    if let Some(default) = &column.default {
        text += &format!(" DEFAULT {default}");
    }
    if let Some(generated) = &column.generated {
        text += &format!(" GENERATED ALWAYS AS {generated}");
    }
    if let Some(identity) = column.identity {
        text += &format!(" GENERATED {} AS IDENTITY", identity.sql());
    }
    text
}

/// A string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// An identifier in double quotes, which both dialects accept.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// An object's name as the model holds it, in double quotes: `"t"`, or
/// `"auth"."t"` for one of a PostgreSQL schema other than the package's
/// first, which the model names `auth.t` ([`Schema::merge_qualified`]).
/// Autogenerate writes names qualified only there: the first schema's
/// objects keep the plain names every revision of a one-schema package
/// writes, and run in the session's `search_path` as they always did. (So
/// a name whose own text holds a dot reads as qualified.)
fn quote_object(name: &str) -> String {
    match name.split_once('.') {
        Some((schema, local)) => format!("{}.{}", quote(schema), quote(local)),
        None => quote(name),
    }
}

/// `name`, which lives in the schema of object `owner` (an index of
/// table `owner`), quoted and qualified as `owner` is.
fn quote_beside(owner: &str, name: &str) -> String {
    match schema_of(owner) {
        Some(schema) => format!("{}.{}", quote(schema), quote(name)),
        None => quote(name),
    }
}

/// `auth` of `auth.t`; `None` for an object of the first schema.
fn schema_of(name: &str) -> Option<&str> {
    name.split_once('.').map(|(schema, _)| schema)
}

/// `t` of `auth.t`: the name `RENAME TO` takes, in the object's schema.
fn local_name(name: &str) -> &str {
    name.split_once('.').map_or(name, |(_, local)| local)
}

/// A referenced table as the model holds it, in double quotes: SQLite's
/// introspection gives the plain name (`user`), PostgreSQL's the
/// catalogue's `regclass` text, already quoted where the name needs it
/// (`"user"`) and schema-qualified outside the schema read
/// (`billing.invoice`). Each dot-separated part is quoted unless it
/// already is, so neither form is quoted twice.
fn quote_relation(name: &str) -> String {
    let mut parts = Vec::new();
    let (mut part, mut quoted) = (String::new(), false);
    for c in name.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => {
                parts.push(std::mem::take(&mut part));
                continue;
            }
            _ => {}
        }
        part.push(c);
    }
    parts.push(part);
    let one = |part: &String| {
        if part.len() > 1 && part.starts_with('"') && part.ends_with('"') {
            part.clone()
        } else {
            quote(part)
        }
    };
    parts.iter().map(one).collect::<Vec<_>>().join(".")
}

fn quoted_list(names: &[String]) -> String {
    names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_referenced_table_is_quoted_once_in_either_form() {
        assert_eq!(quote_relation("user"), r#""user""#);
        assert_eq!(quote_relation(r#""user""#), r#""user""#);
        assert_eq!(quote_relation("billing.invoice"), r#""billing"."invoice""#);
        assert_eq!(quote_relation(r#"billing."Odd.Name""#), r#""billing"."Odd.Name""#);
    }

    #[test]
    fn narrowing_is_judged_by_type_and_length() {
        let cases = [
            ("varchar(255)", "varchar(80)", true),
            ("varchar(80)", "varchar(255)", false),
            ("varchar(80)", "varchar", false),
            ("varchar", "varchar(80)", true),
            ("varchar(80)", "text", false),
            ("integer", "bigint", false),
            ("bigint", "integer", true),
            ("integer", "varchar(10)", true),
            ("numeric(10,2)", "numeric(10,1)", true),
        ];
        for (old, new, expected) in cases {
            assert_eq!(narrows(old, new), expected, "{old} -> {new}");
        }
    }

    #[test]
    fn sqlite_narrows_only_when_the_affinity_may_change_a_value() {
        let cases = [
            ("text", "varchar(100)", false),
            ("varchar(255)", "varchar(10)", false),
            ("integer", "smallint", false),
            ("int", "real", false),
            ("text", "integer", true),
            ("text", "numeric", true),
            ("real", "integer", true),
            ("blob", "text", false),
            ("numeric", "text", false),
        ];
        for (old, new, expected) in cases {
            assert_eq!(tables::sqlite_narrows(old, new), expected, "{old} -> {new}");
        }
    }

    /// A `NOT NULL` column with nothing to fill the existing rows fails on
    /// a table with rows, in place (PostgreSQL) and through a rebuild
    /// (SQLite): autogenerate says so in the file and in its warnings. A
    /// default, or a nullable column, passes quietly.
    #[test]
    fn a_not_null_column_without_a_default_is_marked_as_failing_on_rows() {
        let table = |columns: Vec<Column>| Table { columns, ..Table::default() };
        let mut before = Schema::default();
        before.tables.insert("account".into(), table(vec![Column::new("id", "integer")]));
        let mut after = before.clone();
        let mut email = Column::new("email", "text");
        email.nullable = false;
        after.tables.get_mut("account").unwrap().columns.push(email.clone());
        for dialect in [Dialect::Postgres, Dialect::Sqlite] {
            let changes = generate(&before, &after, dialect, &[]);
            let warning = "fails on a table with rows: column account.email is NOT NULL without a default";
            assert!(
                changes.cautions.iter().any(|w| w.starts_with(warning)),
                "{dialect:?}: {:?}",
                changes.cautions
            );
            assert!(
                changes.upgrade.join("\n").contains("-- WARNING: fails on a table with rows"),
                "{dialect:?}"
            );
        }
        email.default = Some("''".into());
        after.tables.get_mut("account").unwrap().columns[1] = email;
        for dialect in [Dialect::Postgres, Dialect::Sqlite] {
            assert_eq!(generate(&before, &after, dialect, &[]).cautions, Vec::<String>::new(), "{dialect:?}");
        }
    }

    #[test]
    fn only_constant_defaults_can_be_added_in_place() {
        let column = |nullable, default: Option<&str>| Column {
            nullable,
            default: default.map(Into::into),
            ..Column::new("c", "integer")
        };
        assert!(addable(&column(true, None)));
        assert!(!addable(&column(false, None)));
        assert!(addable(&column(false, Some("0"))));
        assert!(addable(&column(false, Some("'x'"))));
        assert!(!addable(&column(true, Some("CURRENT_TIMESTAMP"))));
        assert!(!addable(&column(true, Some("(1 + 2)"))));
        assert!(!addable(&column(false, Some("NULL"))));
    }

    #[test]
    fn words_are_found_whole() {
        assert!(mentions("length(email) > 3", "email"));
        assert!(!mentions("length(emails) > 3", "email"));
        assert!(mentions("Age >= 0", "age"));
    }
}
