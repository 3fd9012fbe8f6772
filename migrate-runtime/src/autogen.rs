//! Autogenerate: the SQL that turns one [`Schema`] into another, for
//! `cargo migrate new --autogenerate`. Pure: two models in, statements out.
//!
//! Both directions are planned by the same function, so a revision's
//! downgrade is the upgrade from the desired schema back to the head. Tables
//! are created referenced-first and dropped in the reverse order, so foreign
//! keys never dangle. On SQLite, changes `ALTER TABLE` cannot express use the
//! documented table rebuild (new table, copy the common columns, drop,
//! rename, recreate indexes); views and triggers are dropped before any
//! table change and recreated after it, so none refers to a missing table
//! mid-way. On PostgreSQL, the views a change touches are dropped first and
//! recreated last, in dependency order; enum types are created before the
//! tables and dropped after them, and sequences not owned by a column come
//! and go on their own. Renames happen only when asked for, never guessed.

use crate::revision::Dialect;
use crate::schema::{Column, Difference, Index, Schema, Table};
use std::collections::BTreeMap;

/// The statements of both directions, and what could not be written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Statements ending in `;`, some preceded by a `-- WARNING:` line.
    pub upgrade: Vec<String>,
    pub downgrade: Vec<String>,
    /// One line per data-losing upgrade step: `drops data: table t`.
    pub warnings: Vec<String>,
    /// Differences no statement was written for, which the user writes by
    /// hand: triggers on PostgreSQL, enum labels removed or reordered (or
    /// appended and used in the same revision), expression indexes, constraint changes on an existing PostgreSQL
    /// table, and on SQLite the rebuild of a table another table's foreign
    /// key references (with foreign keys enforced, dropping the old table
    /// inside the revision's transaction fails or cascades).
    pub unsupported: Vec<Difference>,
}

impl Changes {
    /// Whether nothing differs at all.
    pub fn is_empty(&self) -> bool {
        self.upgrade.is_empty() && self.downgrade.is_empty() && self.unsupported.is_empty()
    }
}

/// The changes from `from` to `to` in `dialect`. `renames` pairs old and
/// new names: `old_table`/`new_table` for a table, `table.old`/`table.new`
/// for a column of the table named `table` in `to`.
///
/// ```
/// use migrate_runtime::autogen::generate;
/// use migrate_runtime::schema::{Column, Schema, Table};
/// use migrate_runtime::Dialect;
/// let mut to = Schema::default();
/// let id = Column { name: "id".into(), data_type: "integer".into(), nullable: false, default: None };
/// to.tables.insert("t".into(), Table { columns: vec![id], ..Table::default() });
/// let changes = generate(&Schema::default(), &to, Dialect::Sqlite, &[]);
/// assert_eq!(changes.upgrade, ["CREATE TABLE \"t\" (\n    \"id\" integer NOT NULL\n);"]);
/// assert_eq!(changes.downgrade, ["-- WARNING: drops data: table t\nDROP TABLE \"t\";"]);
/// ```
pub fn generate(from: &Schema, to: &Schema, dialect: Dialect, renames: &[(String, String)]) -> Changes {
    let up = Plan::make(from, to, dialect, renames, Direction::Upgrade);
    let down = Plan::make(to, from, dialect, &reverse(from, to, renames), Direction::Downgrade);
    Changes { upgrade: up.out, downgrade: down.out, warnings: up.warnings, unsupported: up.unsupported }
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

/// Which way a plan goes: only a downgrade takes enum labels away, as the
/// undoing of `ALTER TYPE … ADD VALUE`, which PostgreSQL cannot revert.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Upgrade,
    Downgrade,
}

/// What makes a sequence come and go with a column rather than on its own.
enum Owner {
    /// A `serial` column: its default is `nextval('sequence'::regclass)`.
    Serial { table: String, column: Column },
    /// A `GENERATED … AS IDENTITY` column, recognised by PostgreSQL's name
    /// for its sequence (`table_column_seq`) on an integer column that is
    /// not null and has no default; the model cannot tell `ALWAYS` from
    /// `BY DEFAULT`, and `BY DEFAULT` is written.
    Identity { table: String, column: String },
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
    unsupported: Vec<Difference>,
    /// `ALTER TYPE … ADD VALUE` statements written, with type and label.
    added_labels: Vec<(String, String, String)>,
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
            unsupported: Vec::new(),
            added_labels: Vec::new(),
        };
        plan.renames(renames);
        match dialect {
            Dialect::Sqlite => {
                plan.create_tables();
                plan.alter_tables();
                plan.drop_tables();
                plan.sqlite_views_and_triggers();
                plan.unsupported_objects(&["enum ", "sequence "]);
            }
            Dialect::Postgres => plan.postgres(from, renames),
        }
        plan
    }

    /// Enums and sequences around the table changes, views around all of it.
    fn postgres(&mut self, from: &Schema, renames: &[(String, String)]) {
        let rebuilt = self.create_enums();
        let later = self.create_sequences();
        self.create_tables();
        self.alter_tables();
        self.drop_tables();
        self.out.extend(later);
        for name in &rebuilt {
            self.rebuild_enum(name);
        }
        self.drop_sequences();
        self.drop_enums();
        let mut touched: Vec<String> = renames
            .iter()
            .map(|(old, _)| column_rename(old).map_or(old.as_str(), |(table, _)| table).to_string())
            .collect();
        for (name, table) in &from.tables {
            let columns = self.to.tables.get(name).map(|t| &t.columns);
            let retyped = table.columns.iter().any(|c| rebuilt.iter().any(|e| is_type(&c.data_type, e)));
            if columns != Some(&table.columns) || retyped {
                touched.push(name.clone());
            }
        }
        self.postgres_views(&touched);
        self.unused_new_labels();
        self.unsupported_objects(&["trigger "]);
    }

    /// `CREATE TYPE` and appended labels; returns the enums whose labels a
    /// downgrade takes away, rebuilt after the table changes.
    fn create_enums(&mut self) -> Vec<String> {
        let mut rebuilt = Vec::new();
        for (name, labels) in &self.to.enums {
            match self.from.enums.get(name) {
                None => self.out.push(create_enum(name, labels)),
                Some(old) if old == labels => {}
                Some(old) if labels.starts_with(old) => {
                    for label in &labels[old.len()..] {
                        let statement = format!("ALTER TYPE {} ADD VALUE {};", quote(name), literal(label));
                        self.added_labels.push((name.clone(), label.clone(), statement.clone()));
                        self.out.push(statement);
                    }
                }
                Some(old) if self.direction == Direction::Downgrade && old.starts_with(labels) => {
                    rebuilt.push(name.clone());
                }
                Some(old) => self.unsupported.push(Difference {
                    object: format!("enum {name}: labels removed or reordered (only appending is generated)"),
                    before: Some(old.join(", ")),
                    after: Some(labels.join(", ")),
                }),
            }
        }
        rebuilt
    }

    /// The type made anew without the labels a downgrade takes away: the
    /// old one renamed, the new one created, every column cast through
    /// text (failing while a row holds a removed label), the old dropped.
    fn rebuild_enum(&mut self, name: &str) {
        let columns: Vec<(&String, &Column)> = self
            .to
            .tables
            .iter()
            .flat_map(|(table, t)| t.columns.iter().map(move |c| (table, c)))
            .filter(|(_, c)| {
                let element = c.data_type.strip_suffix("[]").unwrap_or(&c.data_type);
                is_type(element, name)
            })
            .collect();
        if columns.iter().any(|(_, c)| !is_type(&c.data_type, name)) {
            let labels =
                (self.from.enums.get(name).map(|l| l.join(", ")), Some(self.to.enums[name].join(", ")));
            let object = format!("enum {name}: labels taken away from a type an array column uses");
            self.unsupported.push(Difference { object, before: labels.0, after: labels.1 });
            return;
        }
        let old = format!("_migrate_old_{name}");
        self.out.push(format!("ALTER TYPE {} RENAME TO {};", quote(name), quote(&old)));
        self.out.push(create_enum(name, &self.to.enums[name]));
        for (table, column) in columns {
            let alter = format!("ALTER TABLE {} ALTER COLUMN {}", quote(table), quote(&column.name));
            if column.default.is_some() {
                self.out.push(format!("{alter} DROP DEFAULT;"));
            }
            let name = quote(name);
            self.out.push(format!("{alter} TYPE {name} USING {}::text::{name};", quote(&column.name)));
            if let Some(default) = &column.default {
                self.out.push(format!("{alter} SET DEFAULT {default};"));
            }
        }
        self.out.push(format!("DROP TYPE {};", quote(&old)));
    }

    fn drop_enums(&mut self) {
        for name in self.from.enums.keys().filter(|n| !self.to.enums.contains_key(*n)) {
            self.out.push(format!("DROP TYPE {};", quote(name)));
        }
    }

    /// An `ADD VALUE` whose label a later statement of the same revision
    /// uses is refused by PostgreSQL (and flagged by the lint): it is left
    /// out and reported instead.
    fn unused_new_labels(&mut self) {
        for (name, label, statement) in std::mem::take(&mut self.added_labels) {
            let Some(at) = self.out.iter().position(|s| *s == statement) else { continue };
            if self.out[at + 1..].iter().any(|s| s.contains(&literal(&label))) {
                self.out.remove(at);
                self.unsupported.push(Difference {
                    object: format!(
                        "enum {name}: label {label} is used in the same revision, which PostgreSQL refuses before `ALTER TYPE … ADD VALUE` commits; add it in a revision of its own"
                    ),
                    before: None,
                    after: None,
                });
            }
        }
    }

    /// New sequences not owned by a column, and those of `serial` columns
    /// (created before their table); returns what ties sequences to their
    /// columns, to run after the table changes.
    fn create_sequences(&mut self) -> Vec<String> {
        let mut later = Vec::new();
        for name in self.to.sequences.iter().filter(|s| !self.from.sequences.contains(s)) {
            match owner(self.to, name) {
                None => self.out.push(format!("CREATE SEQUENCE {};", quote(name))),
                Some(Owner::Serial { table, column }) => {
                    let integer = ["smallint", "integer", "bigint"].contains(&column.data_type.as_str());
                    let kind = if integer { format!(" AS {}", column.data_type) } else { String::new() };
                    self.out.push(format!("CREATE SEQUENCE {}{kind};", quote(name)));
                    let (table, column) = (quote(&table), quote(&column.name));
                    later.push(format!("ALTER SEQUENCE {} OWNED BY {table}.{column};", quote(name)));
                }
                Some(Owner::Identity { table, column }) => {
                    if self.from.tables.get(&table).is_some_and(|t| has_column(t, &column)) {
                        later.push(format!(
                            "ALTER TABLE {} ALTER COLUMN {} ADD GENERATED BY DEFAULT AS IDENTITY;",
                            quote(&table),
                            quote(&column)
                        ));
                    }
                }
            }
        }
        later
    }

    /// Old sequences: those owned by a column that is gone went with it.
    fn drop_sequences(&mut self) {
        for name in self.from.sequences.iter().filter(|s| !self.to.sequences.contains(s)) {
            let kept =
                |table: &str, column: &str| self.to.tables.get(table).is_some_and(|t| has_column(t, column));
            let statement = match owner(&self.from, name) {
                Some(Owner::Serial { table, column }) if !kept(&table, &column.name) => continue,
                Some(Owner::Identity { table, column }) if !kept(&table, &column) => continue,
                Some(Owner::Identity { table, column }) => {
                    format!("ALTER TABLE {} ALTER COLUMN {} DROP IDENTITY;", quote(&table), quote(&column))
                }
                _ => format!("DROP SEQUENCE {};", quote(name)),
            };
            self.out.push(statement);
        }
    }

    /// Views that changed, went, or read a `touched` table (or such a view)
    /// are dropped before everything, dependents first; new and dropped ones
    /// are created after everything, dependencies first.
    fn postgres_views(&mut self, touched: &[String]) {
        let (old, new) = (&self.from.views, &self.to.views);
        let mut dropped: Vec<String> = old
            .iter()
            .filter(|(n, d)| new.get(*n) != Some(d) || touched.iter().any(|t| mentions(d, t)))
            .map(|(n, _)| n.clone())
            .collect();
        while let Some(name) = old
            .iter()
            .find(|(n, d)| !dropped.contains(n) && dropped.iter().any(|v| mentions(d, v)))
            .map(|(n, _)| n.clone())
        {
            dropped.push(name);
        }
        let created: Vec<String> =
            new.keys().filter(|n| !old.contains_key(*n) || dropped.contains(n)).cloned().collect();
        let mut before: Vec<String> =
            view_order(old, &dropped).iter().rev().map(|n| format!("DROP VIEW {};", quote(n))).collect();
        let after = view_order(new, &created)
            .into_iter()
            .map(|n| format!("CREATE VIEW {} AS {};", quote(&n), new[&n]));
        before.append(&mut self.out);
        before.extend(after);
        self.out = before;
    }

    fn renames(&mut self, renames: &[(String, String)]) {
        for (old, new) in renames.iter().filter(|(old, _)| column_rename(old).is_none()) {
            if !self.to.tables.contains_key(new) || self.from.tables.contains_key(new) {
                continue;
            }
            let Some(table) = self.from.tables.remove(old) else { continue };
            self.from.tables.insert(new.clone(), table);
            for table in self.from.tables.values_mut() {
                table
                    .foreign_keys
                    .iter_mut()
                    .filter(|k| &k.references == old)
                    .for_each(|k| k.references = new.clone());
            }
            self.out.push(format!("ALTER TABLE {} RENAME TO {};", quote(old), quote(new)));
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
        table.columns.iter_mut().for_each(|c| rename(&mut c.name));
        table.primary_key.iter_mut().for_each(rename);
        table.uniques.iter_mut().flatten().for_each(rename);
        table.indexes.values_mut().flat_map(|i| i.columns.iter_mut()).for_each(rename);
        table.foreign_keys.iter_mut().flat_map(|k| k.columns.iter_mut()).for_each(rename);
        for table_name in self.from.tables.keys().cloned().collect::<Vec<_>>() {
            let keys = &mut self.from.tables.get_mut(&table_name).expect("listed").foreign_keys;
            keys.iter_mut()
                .filter(|k| k.references == name)
                .flat_map(|k| k.referenced_columns.iter_mut())
                .for_each(rename);
        }
        self.out.push(format!("ALTER TABLE {} RENAME COLUMN {} TO {};", quote(name), quote(old), quote(new)));
    }

    /// New tables, each before the tables whose foreign keys reference it.
    fn create_tables(&mut self) {
        let new: Vec<&String> =
            self.to.tables.keys().filter(|n| !self.from.tables.contains_key(*n)).collect();
        for name in creation_order(self.to, &new) {
            let table = &self.to.tables[&name];
            let column_text = |c: &Column| self.column_text(&name, c);
            self.out.push(create_table(&name, &name, table, &column_text));
            for (index_name, index) in &table.indexes {
                self.create_index(&name, index_name, index);
            }
        }
    }

    /// Old tables, each after the tables whose foreign keys reference it.
    fn drop_tables(&mut self) {
        let gone: Vec<&String> =
            self.from.tables.keys().filter(|n| !self.to.tables.contains_key(*n)).collect();
        let mut order = creation_order(&self.from, &gone);
        order.reverse();
        for name in order {
            self.losing(&format!("table {name}"), format!("DROP TABLE {};", quote(&name)));
        }
    }

    fn alter_tables(&mut self) {
        let common: Vec<String> =
            self.from.tables.keys().filter(|n| self.to.tables.contains_key(*n)).cloned().collect();
        for name in common {
            let (old, new) = (self.from.tables[&name].clone(), &self.to.tables[&name]);
            if old == *new {
                continue;
            }
            match self.dialect {
                Dialect::Sqlite if needs_rebuild(&old, new) && self.referenced(&name) => {
                    self.unsupported.extend(table_differences(&name, &old, new));
                }
                Dialect::Sqlite if needs_rebuild(&old, new) => self.rebuild(&name, &old, new),
                Dialect::Sqlite => self.alter_in_place(&name, &old, new),
                Dialect::Postgres => {
                    self.unsupported_constraints(&name, &old, new);
                    self.alter_in_place(&name, &old, new);
                }
            }
        }
    }

    /// Whether another table's foreign key references `name`: SQLite then
    /// cannot rebuild it inside a transaction while foreign keys are
    /// enforced, as dropping the old table deletes (or orphans) the rows
    /// that reference it.
    fn referenced(&self, name: &str) -> bool {
        let others = self.from.tables.iter().filter(|(n, _)| *n != name);
        others.flat_map(|(_, t)| &t.foreign_keys).any(|k| k.references == name)
    }

    /// Indexes, added and dropped columns, and on PostgreSQL changed ones.
    fn alter_in_place(&mut self, name: &str, old: &Table, new: &Table) {
        for (index_name, index) in &old.indexes {
            if new.indexes.get(index_name) != Some(index) {
                self.out.push(format!("DROP INDEX {};", quote(index_name)));
            }
        }
        for column in new.columns.iter().filter(|c| !has_column(old, &c.name)) {
            let column = self.column_text(name, column);
            self.out.push(format!("ALTER TABLE {} ADD COLUMN {column};", quote(name)));
        }
        for column in old.columns.iter().filter(|c| !has_column(new, &c.name)) {
            let statement = format!("ALTER TABLE {} DROP COLUMN {};", quote(name), quote(&column.name));
            self.losing(&format!("column {name}.{}", column.name), statement);
        }
        for before in &old.columns {
            if let Some(after) = new.columns.iter().find(|c| c.name == before.name) {
                self.alter_column(name, before, after);
            }
        }
        for (index_name, index) in &new.indexes {
            if old.indexes.get(index_name) != Some(index) {
                self.create_index(name, index_name, index);
            }
        }
    }

    /// PostgreSQL's `ALTER COLUMN`: type, then default, then nullability
    /// (nulls set to the new default first, as a SQLite rebuild copies them).
    fn alter_column(&mut self, table: &str, before: &Column, after: &Column) {
        let alter = format!("ALTER TABLE {} ALTER COLUMN {}", quote(table), quote(&after.name));
        if before.data_type != after.data_type {
            let statement = format!("{alter} TYPE {1} USING {0}::{1};", quote(&after.name), after.data_type);
            self.type_change(table, before, after, statement);
        }
        if before.default != after.default {
            self.out.push(match &after.default {
                Some(default) => format!("{alter} SET DEFAULT {default};"),
                None => format!("{alter} DROP DEFAULT;"),
            });
        }
        if before.nullable != after.nullable {
            if let (false, Some(default)) = (after.nullable, &after.default) {
                let column = quote(&after.name);
                let fill =
                    format!("UPDATE {} SET {column} = {default} WHERE {column} IS NULL;", quote(table));
                self.out.push(fill);
            }
            let set = if after.nullable { "DROP NOT NULL" } else { "SET NOT NULL" };
            self.out.push(format!("{alter} {set};"));
        }
    }

    fn type_change(&mut self, table: &str, before: &Column, after: &Column, statement: String) {
        if narrows(&before.data_type, &after.data_type) {
            let what = format!(
                "column {table}.{} narrows from {} to {}",
                after.name, before.data_type, after.data_type
            );
            self.losing(&what, statement);
        } else {
            self.out.push(statement);
        }
    }

    /// SQLite's twelve-step procedure, the steps that fit a transaction:
    /// new table, copy the common columns, drop, rename, indexes.
    fn rebuild(&mut self, name: &str, old: &Table, new: &Table) {
        let scratch = format!("_migrate_new_{name}");
        let mut losses: Vec<String> = old
            .columns
            .iter()
            .filter(|c| !has_column(new, &c.name))
            .map(|c| format!("column {name}.{}", c.name))
            .collect();
        for before in &old.columns {
            let after = new.columns.iter().find(|c| c.name == before.name);
            if let Some(after) = after.filter(|a| narrows(&before.data_type, &a.data_type)) {
                losses.push(format!(
                    "column {name}.{} narrows from {} to {}",
                    after.name, before.data_type, after.data_type
                ));
            }
        }
        let mut create = String::new();
        for what in losses {
            create += &format!("-- WARNING: drops data: {what}\n");
            self.warn(&what);
        }
        self.out.push(create + &create_table(&scratch, name, new, &column_sql));
        let (targets, sources): (Vec<String>, Vec<String>) = new
            .columns
            .iter()
            .filter_map(|after| Some((after, old.columns.iter().find(|c| c.name == after.name)?)))
            .map(|(after, before)| (quote(&after.name), copy_expression(before, after)))
            .unzip();
        if !targets.is_empty() {
            self.out.push(format!(
                "INSERT INTO {} ({}) SELECT {} FROM {};",
                quote(&scratch),
                targets.join(", "),
                sources.join(", "),
                quote(name)
            ));
        }
        self.out.push(format!("DROP TABLE {};", quote(name)));
        self.out.push(format!("ALTER TABLE {} RENAME TO {};", quote(&scratch), quote(name)));
        for (index_name, index) in &new.indexes {
            self.create_index(name, index_name, index);
        }
    }

    fn create_index(&mut self, table: &str, name: &str, index: &Index) {
        if index.columns.iter().any(|c| c == "<expression>") {
            self.unsupported.push(Difference {
                object: format!("table {table}: index {name}"),
                before: None,
                after: Some(index.describe()),
            });
            return;
        }
        let unique = if index.unique { "UNIQUE " } else { "" };
        let mut statement = format!(
            "CREATE {unique}INDEX {} ON {} ({})",
            quote(name),
            quote(table),
            quoted_list(&index.columns)
        );
        if let Some(predicate) = &index.predicate {
            statement += &format!(" WHERE {predicate}");
        }
        self.out.push(statement + ";");
    }

    /// Views and triggers: when any table statement was written, all of
    /// the old ones are dropped first and all the new ones created last.
    fn sqlite_views_and_triggers(&mut self) {
        let everything = !self.out.is_empty();
        let (from, to) = (&self.from, self.to);
        let mut before = Vec::new();
        let mut after = Vec::new();
        for (kind, old, new) in [("VIEW", &from.views, &to.views), ("TRIGGER", &from.triggers, &to.triggers)]
        {
            for (name, definition) in old {
                if everything || new.get(name) != Some(definition) {
                    before.push(format!("DROP {kind} {};", quote(name)));
                }
            }
            for (name, definition) in new {
                if everything || old.get(name) != Some(definition) {
                    after.push(format!("{definition};"));
                }
            }
        }
        before.append(&mut self.out);
        before.append(&mut after);
        self.out = before;
    }

    /// Differences of objects whose entries start with one of `kinds`.
    fn unsupported_objects(&mut self, kinds: &[&str]) {
        let differences = self.from.diff(self.to);
        let wanted = differences.into_iter().filter(|d| kinds.iter().any(|k| d.object.starts_with(k)));
        self.unsupported.extend(wanted);
    }

    /// Keys, uniques, checks and foreign keys of an existing PostgreSQL
    /// table: the model has no constraint names to drop them by.
    fn unsupported_constraints(&mut self, name: &str, old: &Table, new: &Table) {
        let strip = |t: &Table| Table { columns: Vec::new(), indexes: Default::default(), ..t.clone() };
        self.unsupported.extend(table_differences(name, &strip(old), &strip(new)));
    }

    /// A column of `table` in the desired schema as written in SQL, an
    /// identity column with its `GENERATED` clause.
    fn column_text(&self, table: &str, column: &Column) -> String {
        let sequence = format!("{table}_{}_seq", column.name);
        match owner(self.to, &sequence) {
            Some(Owner::Identity { .. }) => column_sql(column) + " GENERATED BY DEFAULT AS IDENTITY",
            _ => column_sql(column),
        }
    }

    /// A statement that loses data, marked in the file and warned about.
    fn losing(&mut self, what: &str, statement: String) {
        self.warn(what);
        self.out.push(format!("-- WARNING: drops data: {what}\n{statement}"));
    }

    fn warn(&mut self, what: &str) {
        self.warnings.push(format!("drops data: {what}"));
    }
}

/// What differs between two versions of table `name`.
fn table_differences(name: &str, old: &Table, new: &Table) -> Vec<Difference> {
    let one = |t: &Table| Schema { tables: [(name.to_string(), t.clone())].into(), ..Schema::default() };
    one(old).diff(&one(new))
}

/// Whether SQLite's `ALTER TABLE` cannot turn `old` into `new`.
fn needs_rebuild(old: &Table, new: &Table) -> bool {
    let sorted = |t: &Table| {
        let (mut uniques, mut keys, mut checks) =
            (t.uniques.clone(), t.foreign_keys.clone(), t.checks.clone());
        uniques.sort();
        keys.sort();
        checks.sort();
        (t.primary_key.clone(), uniques, keys, checks)
    };
    let changed = old.columns.iter().any(|c| new.columns.iter().any(|n| n.name == c.name && n != c));
    let added_badly = new.columns.iter().any(|c| !has_column(old, &c.name) && !addable(c));
    let dropped_badly =
        old.columns.iter().any(|c| !has_column(new, &c.name) && constrained(old, new, &c.name));
    sorted(old) != sorted(new) || changed || added_badly || dropped_badly
}

/// Whether `ALTER TABLE … ADD COLUMN` accepts the column: a constant
/// default, and one that is not null when the column is `NOT NULL`.
fn addable(column: &Column) -> bool {
    match column.default.as_deref().map(str::trim) {
        None => column.nullable,
        Some(default) => {
            let lower = default.to_ascii_lowercase();
            let constant = default.starts_with(['\'', '-', '+', '.'])
                || default.starts_with(|c: char| c.is_ascii_digit())
                || lower.starts_with("x'")
                || ["true", "false"].contains(&lower.as_str());
            constant || (lower == "null" && column.nullable)
        }
    }
}

/// Whether dropping `column` would break an index, key or check that stays.
fn constrained(old: &Table, new: &Table, column: &str) -> bool {
    let named = |columns: &[String]| columns.iter().any(|c| c == column);
    let kept_index = old.indexes.iter().any(|(n, i)| new.indexes.get(n) == Some(i) && named(&i.columns));
    named(&old.primary_key)
        || old.uniques.iter().any(|u| named(u))
        || old.foreign_keys.iter().any(|k| named(&k.columns))
        || old.checks.iter().any(|c| mentions(c, column))
        || kept_index
}

/// Whether `word` appears in `text` as a whole word (case-insensitive).
fn mentions(text: &str, word: &str) -> bool {
    let text = text.to_ascii_lowercase();
    let word = word.to_ascii_lowercase();
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(&word).any(|(at, _)| {
        let before = text[..at].chars().next_back().is_none_or(|c| !is_word(c));
        let after = text[at + word.len()..].chars().next().is_none_or(|c| !is_word(c));
        before && after
    })
}

/// What a rebuild copies into a column: the old value, or the new default
/// where the column becomes `NOT NULL` and the old value is null.
fn copy_expression(before: &Column, after: &Column) -> String {
    match &after.default {
        Some(default) if before.nullable && !after.nullable => {
            format!("coalesce({}, {default})", quote(&before.name))
        }
        _ => quote(&before.name),
    }
}

/// Whether changing a column's type from `old` to `new` may lose data:
/// anything but a longer length, no length, `text`, or a larger integer.
fn narrows(old: &str, new: &str) -> bool {
    fn split(ty: &str) -> (&str, Vec<u64>) {
        let (base, args) = ty.split_once('(').unwrap_or((ty, ""));
        let args = args.trim_end_matches(')').split(',').filter_map(|a| a.trim().parse().ok()).collect();
        (base.trim(), args)
    }
    const INTEGERS: [&[&str]; 3] = [&["smallint", "int2"], &["integer", "int", "int4"], &["bigint", "int8"]];
    let rank = |base: &str| INTEGERS.iter().position(|names| names.contains(&base));
    let ((old_base, old_args), (new_base, new_args)) = (split(old), split(new));
    if old == new || new_base == "text" {
        return false;
    }
    if let (Some(a), Some(b)) = (rank(old_base), rank(new_base)) {
        return b < a;
    }
    if old_base != new_base {
        return true;
    }
    !new_args.is_empty() && (old_args.is_empty() || new_args.iter().zip(&old_args).any(|(n, o)| n < o))
}

/// `CREATE TABLE "name" (…)` for `table`; foreign keys to `own` (the
/// table's final name) keep pointing at it after a rebuild's rename.
fn create_table(name: &str, own: &str, table: &Table, column_text: &dyn Fn(&Column) -> String) -> String {
    let mut parts: Vec<String> = table.columns.iter().map(column_text).collect();
    if !table.primary_key.is_empty() {
        parts.push(format!("PRIMARY KEY ({})", quoted_list(&table.primary_key)));
    }
    parts.extend(table.uniques.iter().map(|u| format!("UNIQUE ({})", quoted_list(u))));
    for key in &table.foreign_keys {
        let references = if key.references == own { own } else { &key.references };
        let mut text =
            format!("FOREIGN KEY ({}) REFERENCES {}", quoted_list(&key.columns), quote(references));
        if !key.referenced_columns.is_empty() {
            text += &format!(" ({})", quoted_list(&key.referenced_columns));
        }
        for (event, action) in [("DELETE", &key.on_delete), ("UPDATE", &key.on_update)] {
            if !action.is_empty() && action != "no action" {
                text += &format!(" ON {event} {}", action.to_uppercase());
            }
        }
        parts.push(text);
    }
    parts.extend(table.checks.iter().map(|c| format!("CHECK ({c})")));
    format!("CREATE TABLE {} (\n    {}\n);", quote(name), parts.join(",\n    "))
}

/// `"name" type NOT NULL DEFAULT x`.
fn column_sql(column: &Column) -> String {
    let mut text = quote(&column.name);
    if !column.data_type.is_empty() {
        text += &format!(" {}", column.data_type);
    }
    if !column.nullable {
        text += " NOT NULL";
    }
    if let Some(default) = &column.default {
        text += &format!(" DEFAULT {default}");
    }
    text
}

/// Names in the order they can be created: a table after the tables of
/// `names` it references; cycles broken by name order.
fn creation_order(schema: &Schema, names: &[&String]) -> Vec<String> {
    let mut left: Vec<&String> = names.to_vec();
    let mut order: Vec<String> = Vec::new();
    while !left.is_empty() {
        let waits = |name: &String| {
            let keys = &schema.tables[name].foreign_keys;
            keys.iter().any(|k| &k.references != name && left.contains(&&k.references))
        };
        let at = left.iter().position(|n| !waits(n)).unwrap_or(0);
        order.push(left.remove(at).clone());
    }
    order
}

/// What owns sequence `name` in `schema`, if a column does.
fn owner(schema: &Schema, name: &str) -> Option<Owner> {
    if !schema.sequences.iter().any(|s| s == name) {
        return None;
    }
    let uses = [format!("'{name}'::regclass"), format!("'{}'::regclass", quote(name))];
    for (table, t) in &schema.tables {
        let serial = t
            .columns
            .iter()
            .find(|c| c.default.as_ref().is_some_and(|d| uses.iter().any(|u| d.contains(u.as_str()))));
        if let Some(column) = serial {
            return Some(Owner::Serial { table: table.clone(), column: column.clone() });
        }
        let identity = t.columns.iter().find(|c| {
            let integer = ["smallint", "integer", "bigint"].contains(&c.data_type.as_str());
            integer && !c.nullable && c.default.is_none() && format!("{table}_{}_seq", c.name) == name
        });
        if let Some(column) = identity {
            return Some(Owner::Identity { table: table.clone(), column: column.name.clone() });
        }
    }
    None
}

/// `CREATE TYPE "name" AS ENUM ('a', 'b');`
fn create_enum(name: &str, labels: &[String]) -> String {
    let labels: Vec<String> = labels.iter().map(|l| literal(l)).collect();
    format!("CREATE TYPE {} AS ENUM ({});", quote(name), labels.join(", "))
}

/// Whether a column's reported type is the enum `name` (not an array of it).
fn is_type(data_type: &str, name: &str) -> bool {
    data_type == name || data_type == quote(name)
}

/// Views in the order they can be created: a view after the views of
/// `names` it reads; cycles broken by name order.
fn view_order(views: &BTreeMap<String, String>, names: &[String]) -> Vec<String> {
    let mut left: Vec<&String> = names.iter().collect();
    let mut order = Vec::new();
    while !left.is_empty() {
        let waits = |name: &String| left.iter().any(|other| *other != name && mentions(&views[name], other));
        let at = left.iter().position(|n| !waits(n)).unwrap_or(0);
        order.push(left.remove(at).clone());
    }
    order
}

/// A string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn has_column(table: &Table, name: &str) -> bool {
    table.columns.iter().any(|c| c.name == name)
}

/// An identifier in double quotes, which both dialects accept.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn quoted_list(names: &[String]) -> String {
    names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn only_constant_defaults_can_be_added_in_place() {
        let column = |nullable, default: Option<&str>| Column {
            name: "c".into(),
            data_type: "integer".into(),
            nullable,
            default: default.map(Into::into),
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
