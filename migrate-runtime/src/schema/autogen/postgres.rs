//! PostgreSQL's own objects: enum types (created before the tables that use
//! them, rebuilt to undo an added label, with the checks and indexes that
//! compare with its labels dropped and made again around it), sequences not owned by a column,
//! and views dropped and recreated in dependency order around changes; the
//! order of all PostgreSQL steps.

use super::*;
use std::collections::BTreeSet;

impl Plan<'_> {
    /// Enums, sequences, functions and constraints around the table
    /// changes, views around all of it, triggers around the views.
    pub(super) fn postgres(&mut self, from: &Schema, renames: &[(String, String)]) {
        let rebuilt = self.create_enums();
        let later = self.create_sequences();
        let functions = self.function_steps();
        self.out.extend(functions.before);
        let constraints = self.constraint_steps();
        self.out.extend(constraints.before);
        self.create_tables();
        self.alter_tables();
        self.drop_tables();
        self.out.extend(later);
        self.out.extend(constraints.after);
        self.out.append(&mut self.late_foreign_keys);
        for name in &rebuilt {
            self.rebuild_enum(name);
        }
        self.out.extend(functions.after);
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
        touched.extend(functions.dropped);
        let views = self.postgres_views(&touched);
        touched.extend(views);
        self.postgres_triggers(&touched);
        self.extensions();
        self.schemas();
        self.unused_new_labels();
    }

    /// New extensions before everything, as types and functions come with
    /// them; old ones after everything.
    fn extensions(&mut self) {
        let (from, to) = (&self.from.extensions, &self.to.extensions);
        let created = to.iter().filter(|e| !from.contains(e));
        let created: Vec<String> =
            created.map(|e| format!("CREATE EXTENSION IF NOT EXISTS {};", extension_in_schema(e))).collect();
        self.out.splice(0..0, created);
        for name in from.iter().filter(|e| !to.contains(e)) {
            self.out.push(format!("DROP EXTENSION {};", quote(local_name(name))));
        }
    }

    /// `CREATE SCHEMA` first for each schema other than the first that
    /// only `to` has objects in, `DROP SCHEMA` last for each only `from`
    /// has objects in: a revision that brings a package's first objects
    /// of a schema makes it, and its downgrade takes it away. Without
    /// `CASCADE`, so a schema that holds anything else is refused, not
    /// emptied.
    fn schemas(&mut self) {
        let (from, to) = (schema_names(&self.from), schema_names(self.to));
        let created = to.difference(&from).map(|s| format!("CREATE SCHEMA IF NOT EXISTS {};", quote(s)));
        self.out.splice(0..0, created.collect::<Vec<_>>());
        for schema in from.difference(&to) {
            self.out.push(format!("DROP SCHEMA IF EXISTS {};", quote(schema)));
        }
    }

    /// `CREATE TYPE` and appended labels; returns the enums whose labels a
    /// downgrade takes away, rebuilt after the table changes.
    pub(super) fn create_enums(&mut self) -> Vec<String> {
        let mut rebuilt = Vec::new();
        for (name, labels) in &self.to.enums {
            match self.from.enums.get(name) {
                None => self.out.push(create_enum(name, labels)),
                Some(old) if old == labels => {}
                Some(old) if labels.starts_with(old) => {
                    for label in &labels[old.len()..] {
                        let statement =
                            format!("ALTER TYPE {} ADD VALUE {};", quote_object(name), literal(label));
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
    pub(super) fn rebuild_enum(&mut self, name: &str) {
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
        let comparing = self.comparing_with(&columns);
        self.out.extend(comparing.iter().map(|d| d.drop.clone()));
        let old_local = format!("_migrate_old_{}", local_name(name));
        let old = quote_beside(name, &old_local);
        self.out.push(format!("ALTER TYPE {} RENAME TO {};", quote_object(name), quote(&old_local)));
        self.out.push(create_enum(name, &self.to.enums[name]));
        for (table, column) in columns {
            let alter = format!("ALTER TABLE {} ALTER COLUMN {}", quote_object(table), quote(&column.name));
            if column.default.is_some() {
                self.out.push(format!("{alter} DROP DEFAULT;"));
            }
            let name = quote_object(name);
            self.out.push(format!("{alter} TYPE {name} USING {}::text::{name};", quote(&column.name)));
            if let Some(default) = &column.default {
                self.out.push(format!("{alter} SET DEFAULT {default};"));
            }
        }
        self.out.push(format!("DROP TYPE {old};"));
        self.out.extend(comparing.into_iter().map(|d| d.create));
    }

    /// Checks and indexes (partial, or on an expression) that mention one
    /// of `columns`: their enum literals are typed with the old type, which
    /// `ALTER COLUMN … TYPE` cannot compare with the new one, so they are
    /// dropped before and made again after.
    fn comparing_with(&mut self, columns: &[(&String, &Column)]) -> Vec<Dependent> {
        let mut found = Vec::new();
        let tables: BTreeSet<&String> = columns.iter().map(|(table, _)| *table).collect();
        for table_name in tables {
            let table = &self.to.tables[table_name];
            let mentioned =
                |text: &str| columns.iter().any(|(t, c)| *t == table_name && mentions(text, &c.name));
            for check in table.checks.iter().filter(|c| mentioned(c)) {
                let constraint = Constraint::Check(check);
                let Some(name) = table.constraint_names.get(&constraint.object()) else { continue };
                found.push(Dependent {
                    drop: drop_sql(table_name, name),
                    create: add_sql(table_name, Some(name), &constraint),
                });
            }
            for (index_name, index) in &table.indexes {
                if index.expressions().any(mentioned) {
                    let before = self.out.len();
                    self.create_index(table_name, index_name, index);
                    let create = self.out.drain(before..).collect();
                    let drop = format!("DROP INDEX {};", quote_beside(table_name, index_name));
                    found.push(Dependent { drop, create });
                }
            }
        }
        found
    }

    pub(super) fn drop_enums(&mut self) {
        for name in self.from.enums.keys().filter(|n| !self.to.enums.contains_key(*n)) {
            self.out.push(format!("DROP TYPE {};", quote_object(name)));
        }
    }

    /// An `ADD VALUE` whose label a later statement of the same revision
    /// uses is refused by PostgreSQL (and flagged by the lint): it is left
    /// out and reported instead.
    pub(super) fn unused_new_labels(&mut self) {
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
    pub(super) fn create_sequences(&mut self) -> Vec<String> {
        let mut later = Vec::new();
        for name in self.to.sequences.iter().filter(|s| !self.from.sequences.contains(s)) {
            match owner(self.to, name) {
                Some(owner) if owner.switches_identity(&self.from) => {}
                None => self.out.push(format!("CREATE SEQUENCE {};", quote_object(name))),
                Some(Owner { table, column }) => {
                    let integer = ["smallint", "integer", "bigint"].contains(&column.data_type.as_str());
                    let kind = if integer { format!(" AS {}", column.data_type) } else { String::new() };
                    self.out.push(format!("CREATE SEQUENCE {}{kind};", quote_object(name)));
                    let (table, column) = (quote_object(&table), quote(&column.name));
                    later.push(format!("ALTER SEQUENCE {} OWNED BY {table}.{column};", quote_object(name)));
                }
            }
        }
        later
    }

    /// Old sequences: those owned by a column that is gone went with it.
    pub(super) fn drop_sequences(&mut self) {
        for name in self.from.sequences.iter().filter(|s| !self.to.sequences.contains(s)) {
            let kept =
                |table: &str, column: &str| self.to.tables.get(table).is_some_and(|t| has_column(t, column));
            match owner(&self.from, name) {
                Some(Owner { table, column }) if !kept(&table, &column.name) => continue,
                Some(owner) if owner.switches_identity(self.to) => continue,
                _ => self.out.push(format!("DROP SEQUENCE {};", quote_object(name))),
            }
        }
    }

    /// Views that changed, went, or read a `touched` table (or such a view)
    /// are dropped before everything, dependents first; new and dropped ones
    /// are created after everything, dependencies first. Returns the
    /// dropped ones, whose triggers go with them.
    pub(super) fn postgres_views(&mut self, touched: &[String]) -> Vec<String> {
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
        let mut before: Vec<String> = view_order(old, &dropped)
            .iter()
            .rev()
            .map(|n| format!("DROP VIEW {};", quote_object(n)))
            .collect();
        let after = view_order(new, &created)
            .into_iter()
            .map(|n| format!("CREATE VIEW {} AS {};", quote_object(&n), new[&n]));
        before.append(&mut self.out);
        before.extend(after);
        self.out = before;
        dropped
    }
}

/// An object dropped before an enum's rebuild and made again after it.
pub(super) struct Dependent {
    drop: String,
    create: String,
}

impl Owner {
    /// Whether the column is an identity one in `other`: its serial sequence
    /// is then made or dropped with the column's change (`alter_column`).
    pub(super) fn switches_identity(&self, other: &Schema) -> bool {
        let column =
            other.tables.get(&self.table).and_then(|t| t.columns.iter().find(|c| c.name == self.column.name));
        column.is_some_and(|c| c.identity.is_some())
    }
}

/// The sequence a serial column's default draws from:
/// `nextval('"t_id_seq"'::regclass)` → `t_id_seq`.
pub(super) fn serial_sequence(column: &Column) -> Option<String> {
    let default = column.default.as_deref()?;
    let (_, rest) = default.split_once("nextval('")?;
    let (name, _) = rest.split_once("'::regclass")?;
    let name = name.replace("''", "'");
    Some(match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => name,
    })
}

/// The serial column of `schema` that sequence `name` belongs to, if any.
pub(super) fn owner(schema: &Schema, name: &str) -> Option<Owner> {
    if !schema.sequences.iter().any(|s| s == name) {
        return None;
    }
    let uses = [format!("'{name}'::regclass"), format!("'{}'::regclass", quote(name))];
    let draws = |c: &&Column| c.default.as_ref().is_some_and(|d| uses.iter().any(|u| d.contains(u.as_str())));
    schema.tables.iter().find_map(|(table, t)| {
        let column = t.columns.iter().find(draws)?;
        Some(Owner { table: table.clone(), column: column.clone() })
    })
}

/// `CREATE TYPE "name" AS ENUM ('a', 'b');`
pub(super) fn create_enum(name: &str, labels: &[String]) -> String {
    let labels: Vec<String> = labels.iter().map(|l| literal(l)).collect();
    format!("CREATE TYPE {} AS ENUM ({});", quote_object(name), labels.join(", "))
}

/// Whether a column's reported type is the enum `name` (not an array of it).
pub(super) fn is_type(data_type: &str, name: &str) -> bool {
    data_type == name || data_type == quote(name) || data_type == quote_object(name)
}

/// Views in the order they can be created: a view after the views of
/// `names` it reads; cycles broken by name order.
pub(super) fn view_order(views: &BTreeMap<String, String>, names: &[String]) -> Vec<String> {
    let mut left: Vec<&String> = names.iter().collect();
    let mut order = Vec::new();
    while !left.is_empty() {
        let waits = |name: &String| left.iter().any(|other| *other != name && mentions(&views[name], other));
        let at = left.iter().position(|n| !waits(n)).unwrap_or(0);
        order.push(left.remove(at).clone());
    }
    order
}

/// The schemas other than the first that `schema`'s objects are in.
fn schema_names(schema: &Schema) -> BTreeSet<String> {
    let names = schema.tables.keys().chain(schema.views.keys()).chain(schema.enums.keys());
    let names = names.chain(&schema.sequences).chain(&schema.extensions).map(String::as_str);
    // A function's key is `name(types)`, and a type may be qualified.
    let functions =
        schema.functions.keys().map(|key| key.split_once('(').map_or(key.as_str(), |(name, _)| name));
    names.chain(functions).filter_map(schema_of).map(str::to_string).collect()
}

/// `"ext"`, or `"ext" SCHEMA "auth"` for an extension the model names
/// `auth.ext` (`CREATE EXTENSION` takes the schema apart).
fn extension_in_schema(name: &str) -> String {
    match schema_of(name) {
        Some(schema) => format!("{} SCHEMA {}", quote(local_name(name)), quote(schema)),
        None => quote(name),
    }
}
