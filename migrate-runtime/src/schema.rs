//! One comparable model of a database schema, filled by introspection of
//! SQLite ([`crate::introspect_sqlite`]) or PostgreSQL
//! ([`crate::introspect_postgres`]), and the diff of two models.
//!
//! The walk-versions harness compares snapshots with it, and autogenerate
//! diffs a head schema against a desired one: one model, one diff.

use std::collections::BTreeMap;
use std::fmt;

/// A schema: tables with their parts, views, triggers, functions,
/// sequences, enums. Names are as the database reports them; the history
/// table is left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Schema {
    pub tables: BTreeMap<String, Table>,
    /// View name to its normalised definition.
    pub views: BTreeMap<String, String>,
    /// Trigger to its normalised definition, runnable as SQL: the table it
    /// is on is named without the current schema. Keyed by name on SQLite,
    /// by `name on table` on PostgreSQL, where names are per table.
    pub triggers: BTreeMap<String, String>,
    /// PostgreSQL function or procedure, as `name(argument types)`
    /// (`add(integer, integer)`), to its normalised `CREATE OR REPLACE …`
    /// definition, named without the current schema.
    pub functions: BTreeMap<String, String>,
    /// The `functions` as the database prints them, for autogenerate to
    /// write; never compared (see [`Sources`]).
    #[serde(skip)]
    pub function_sources: Sources,
    pub sequences: Vec<String>,
    /// Enum type name to its labels, in order.
    pub enums: BTreeMap<String, Vec<String>>,
    /// PostgreSQL extensions installed in the schema, sorted.
    pub extensions: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Table {
    /// In declaration order.
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    /// Index name to index, for indexes created by `CREATE INDEX`.
    pub indexes: BTreeMap<String, Index>,
    /// Column lists of unique constraints.
    pub uniques: Vec<Vec<String>>,
    pub foreign_keys: Vec<ForeignKey>,
    /// Normalised check expressions.
    pub checks: Vec<String>,
    /// What PostgreSQL calls the constraints above; never compared.
    #[serde(skip)]
    pub constraint_names: ConstraintNames,
    /// SQLite's table options, sorted: `autoincrement` (on its integer
    /// primary key), `strict`, `without rowid`.
    pub options: Vec<String>,
}

/// Text that rides along with the model, keyed like a part of it, and is
/// never compared: every `Uncompared` equals every other, so two schemas
/// that differ only here are equal, as their [`Schema::entries`] are.
#[derive(Debug, Clone, Default)]
pub struct Uncompared(BTreeMap<String, String>);

impl PartialEq for Uncompared {
    fn eq(&self, _: &Uncompared) -> bool {
        true
    }
}

impl Eq for Uncompared {}

impl Uncompared {
    /// The text kept for `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn insert(&mut self, key: String, text: String) {
        self.0.insert(key, text);
    }

    pub(crate) fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.0.retain(|key, _| keep(key));
    }

    pub(crate) fn extend(&mut self, other: Uncompared) {
        self.0.extend(other.0);
    }
}

impl FromIterator<(String, String)> for Uncompared {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Uncompared {
        Uncompared(pairs.into_iter().collect())
    }
}

/// The names of a table's constraints, keyed by [`Constraint::object`]
/// (`primary key`, `unique (a, b)`, `check (a > 0)`, …): what autogenerate
/// drops a PostgreSQL constraint by. A name says nothing about what the
/// schema is. SQLite introspection leaves it empty (its changes rebuild the
/// table).
pub type ConstraintNames = Uncompared;

/// Definitions as the database prints them, keyed like the normalised ones
/// they ride along with. A function's body is text in the function's own
/// language, whose line breaks can matter (a `--` comment ends at one, and
/// Python's indentation is syntax): [`normalise_sql`] keeps a quoted body
/// as it is, but drops the comments and folds the white space around it.
/// The model compares the normalised text and keeps this one to write out.
pub type Sources = Uncompared;

/// One of a table's primary key, unique constraints, foreign keys and checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint<'t> {
    PrimaryKey(&'t [String]),
    Unique(&'t [String]),
    ForeignKey(&'t ForeignKey),
    Check(&'t str),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Column {
    pub name: String,
    /// Lower-case type as declared (SQLite) or reported (PostgreSQL).
    pub data_type: String,
    pub nullable: bool,
    pub default: Option<String>,
    /// How a PostgreSQL identity column fills itself; `None` otherwise.
    pub identity: Option<Identity>,
    /// A collation other than the type's default, as SQL writes it:
    /// `nocase` (SQLite), `"C"` (PostgreSQL).
    pub collation: Option<String>,
    /// A generated column's expression and kind: `(a + b) STORED`.
    pub generated: Option<String>,
}

/// `GENERATED ALWAYS AS IDENTITY` or `GENERATED BY DEFAULT AS IDENTITY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    Always,
    ByDefault,
}

impl Identity {
    /// `ALWAYS` or `BY DEFAULT`, as SQL writes it after `GENERATED`.
    pub fn sql(self) -> &'static str {
        match self {
            Identity::Always => "ALWAYS",
            Identity::ByDefault => "BY DEFAULT",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Index {
    pub columns: Vec<String>,
    pub unique: bool,
    /// The `WHERE` of a partial index, normalised.
    pub predicate: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub references: String,
    pub referenced_columns: Vec<String>,
    pub on_delete: String,
    pub on_update: String,
}

/// One object that differs between two schemas.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    /// What it is: `table user: column login_count`.
    pub object: String,
    /// How it is in the first schema; `None` when absent there.
    pub before: Option<String>,
    /// How it is in the second schema; `None` when absent there.
    pub after: Option<String>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.before, &self.after) {
            (None, Some(after)) => write!(f, "{}: added ({after})", self.object),
            (Some(before), None) => write!(f, "{}: removed (was {before})", self.object),
            (Some(before), Some(after)) => write!(f, "{}: changed from {before} to {after}", self.object),
            (None, None) => write!(f, "{}", self.object),
        }
    }
}

impl Schema {
    /// Whether the schema has no objects at all.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
            && self.views.is_empty()
            && self.triggers.is_empty()
            && self.functions.is_empty()
            && self.sequences.is_empty()
            && self.enums.is_empty()
            && self.extensions.is_empty()
    }

    /// The definition of function `key` to run: as the database printed it,
    /// or for a model built without sources, the normalised one.
    pub fn function_source(&self, key: &str) -> Option<&str> {
        self.function_sources.get(key).or_else(|| self.functions.get(key).map(String::as_str))
    }

    /// Every object as `name → description`, the form diffs compare.
    ///
    /// ```
    /// use migrate_runtime::schema::{Column, Schema, Table};
    /// let mut schema = Schema::default();
    /// let column = Column { nullable: false, ..Column::new("id", "integer") };
    /// schema.tables.insert("user".into(), Table { columns: vec![column], ..Table::default() });
    /// assert_eq!(schema.entries()["table user: column id"], "integer not null");
    /// ```
    pub fn entries(&self) -> BTreeMap<String, String> {
        let mut entries = BTreeMap::new();
        for (name, table) in &self.tables {
            entries.insert(format!("table {name}"), "table".to_string());
            table.entries(&format!("table {name}"), &mut entries);
        }
        for (name, definition) in &self.views {
            entries.insert(format!("view {name}"), definition.clone());
        }
        for (name, definition) in &self.triggers {
            entries.insert(format!("trigger {name}"), definition.clone());
        }
        for (name, definition) in &self.functions {
            entries.insert(format!("function {name}"), definition.clone());
        }
        for name in &self.sequences {
            entries.insert(format!("sequence {name}"), "sequence".to_string());
        }
        for (name, labels) in &self.enums {
            entries.insert(format!("enum {name}"), labels.join(", "));
        }
        for name in &self.extensions {
            entries.insert(format!("extension {name}"), "extension".to_string());
        }
        entries
    }

    /// Only the objects named in `objects` (`table user`, `view v`, …).
    pub fn only(&self, objects: &[String]) -> Schema {
        let wanted = |kind: &str, name: &str| objects.iter().any(|o| o.strip_prefix(kind) == Some(name));
        let pick = |kind: &str, names: &[String]| names.iter().filter(|n| wanted(kind, n)).cloned().collect();
        let mut function_sources = self.function_sources.clone();
        function_sources.retain(|n| wanted("function ", n));
        Schema {
            tables: picked(&self.tables, |n| wanted("table ", n)),
            views: picked(&self.views, |n| wanted("view ", n)),
            triggers: picked(&self.triggers, |n| wanted("trigger ", n)),
            functions: picked(&self.functions, |n| wanted("function ", n)),
            function_sources,
            sequences: pick("sequence ", &self.sequences),
            enums: picked(&self.enums, |n| wanted("enum ", n)),
            extensions: pick("extension ", &self.extensions),
        }
    }

    /// Replaces the objects named in `objects` with those of `with`: what a
    /// walk does after re-reading only what a revision changed.
    pub fn replace(&mut self, objects: &[String], with: Schema) {
        let gone = |kind: &str, name: &str| objects.iter().any(|o| o.strip_prefix(kind) == Some(name));
        self.tables.retain(|n, _| !gone("table ", n));
        self.views.retain(|n, _| !gone("view ", n));
        self.triggers.retain(|n, _| !gone("trigger ", n));
        self.functions.retain(|n, _| !gone("function ", n));
        self.function_sources.retain(|n| !gone("function ", n));
        self.sequences.retain(|n| !gone("sequence ", n));
        self.enums.retain(|n, _| !gone("enum ", n));
        self.extensions.retain(|n| !gone("extension ", n));
        self.tables.extend(with.tables);
        self.views.extend(with.views);
        self.triggers.extend(with.triggers);
        self.functions.extend(with.functions);
        self.function_sources.extend(with.function_sources);
        self.sequences.extend(with.sequences);
        self.sequences.sort();
        self.enums.extend(with.enums);
        self.extensions.extend(with.extensions);
        self.extensions.sort();
    }

    /// A digest per object of its entries: the generic form of the cheap
    /// per-object fingerprints drivers compute in the database.
    pub fn object_digests(&self) -> BTreeMap<String, String> {
        let mut texts: BTreeMap<String, String> = BTreeMap::new();
        for (entry, description) in self.entries() {
            let object = entry.split(": ").next().unwrap_or(&entry).to_string();
            let text = texts.entry(object).or_default();
            text.push_str(&format!("{entry} = {description}\n"));
        }
        texts.into_iter().map(|(object, text)| (object, crate::checksum::sql_checksum(&text))).collect()
    }

    /// What differs from `self` to `other`, object by object, in name order.
    pub fn diff(&self, other: &Schema) -> Vec<Difference> {
        diff_entries(&self.entries(), &other.entries())
    }
}

/// The entries of `map` whose names `wanted` keeps.
fn picked<V: Clone>(map: &BTreeMap<String, V>, wanted: impl Fn(&str) -> bool) -> BTreeMap<String, V> {
    map.iter().filter(|(name, _)| wanted(name)).map(|(n, v)| (n.clone(), v.clone())).collect()
}

/// What differs between two [`Schema::entries`] maps, in name order.
pub fn diff_entries(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<Difference> {
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| before.get(*name) != after.get(*name))
        .map(|name| Difference {
            object: name.clone(),
            before: before.get(name).cloned(),
            after: after.get(name).cloned(),
        })
        .collect()
}

/// Objects whose digests differ between two fingerprint maps.
pub fn changed_objects(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    let mut objects: Vec<String> =
        before.keys().chain(after.keys()).filter(|o| before.get(*o) != after.get(*o)).cloned().collect();
    objects.sort();
    objects.dedup();
    objects
}

/// Turns `entries` of the newer schema back into those of the older one.
pub fn undo(entries: &mut BTreeMap<String, String>, differences: &[Difference]) {
    for difference in differences {
        match &difference.before {
            Some(before) => entries.insert(difference.object.clone(), before.clone()),
            None => entries.remove(&difference.object),
        };
    }
}

impl Table {
    fn entries(&self, prefix: &str, entries: &mut BTreeMap<String, String>) {
        // Column order is not compared, as in Alembic's autogenerate: a
        // rebuilt table may order its columns differently and mean the same.
        for column in &self.columns {
            entries.insert(format!("{prefix}: column {}", column.name), column.describe());
        }
        if !self.options.is_empty() {
            entries.insert(format!("{prefix}: options"), self.options.join(", "));
        }
        for (name, index) in &self.indexes {
            entries.insert(format!("{prefix}: index {name}"), index.describe());
        }
        for constraint in self.constraints() {
            entries.insert(format!("{prefix}: {}", constraint.object()), constraint.describe());
        }
    }

    /// The primary key, uniques, foreign keys and checks, in that order.
    pub fn constraints(&self) -> Vec<Constraint<'_>> {
        let key = (!self.primary_key.is_empty()).then_some(Constraint::PrimaryKey(&self.primary_key));
        let uniques = self.uniques.iter().map(|u| Constraint::Unique(u));
        let foreign_keys = self.foreign_keys.iter().map(Constraint::ForeignKey);
        let checks = self.checks.iter().map(|c| Constraint::Check(c));
        key.into_iter().chain(uniques).chain(foreign_keys).chain(checks).collect()
    }
}

impl Constraint<'_> {
    /// What it is, its entry's object without the table: `primary key`,
    /// `unique (a, b)`, `foreign key (a) references t (id)`, `check (a > 0)`.
    pub fn object(&self) -> String {
        match self {
            Constraint::PrimaryKey(_) => "primary key".to_string(),
            Constraint::Unique(columns) => format!("unique ({})", columns.join(", ")),
            Constraint::ForeignKey(key) => format!(
                "foreign key ({}) references {} ({})",
                key.columns.join(", "),
                key.references,
                key.referenced_columns.join(", ")
            ),
            Constraint::Check(expression) => format!("check ({expression})"),
        }
    }

    /// How it is, its entry's description: the primary key's columns, a
    /// foreign key's actions.
    pub fn describe(&self) -> String {
        match self {
            Constraint::PrimaryKey(columns) => format!("({})", columns.join(", ")),
            Constraint::Unique(_) => "unique".to_string(),
            Constraint::ForeignKey(key) => {
                format!("on delete {}, on update {}", key.on_delete, key.on_update)
            }
            Constraint::Check(_) => "check".to_string(),
        }
    }
}

impl Column {
    /// A nullable column with no default and nothing else, to build models
    /// by hand: `Column { nullable: false, ..Column::new("id", "integer") }`.
    pub fn new(name: &str, data_type: &str) -> Column {
        Column {
            name: name.to_string(),
            data_type: data_type.to_string(),
            nullable: true,
            default: None,
            identity: None,
            collation: None,
            generated: None,
        }
    }

    /// `integer not null default 0`, `bigint not null generated always as identity`.
    pub fn describe(&self) -> String {
        let mut text = self.data_type.clone();
        if let Some(collation) = &self.collation {
            text += &format!(" collate {collation}");
        }
        if let Some(generated) = &self.generated {
            text += &format!(" generated always as {generated}");
        }
        if !self.nullable {
            text += " not null";
        }
        if let Some(default) = &self.default {
            text += &format!(" default {default}");
        }
        if let Some(identity) = self.identity {
            text += &format!(" generated {} as identity", identity.sql().to_lowercase());
        }
        text
    }
}

impl Index {
    /// The SQL the index computes beyond plain columns: its expression key
    /// parts (kept in parentheses) and its `WHERE`.
    pub fn expressions(&self) -> impl Iterator<Item = &str> {
        let parts = self.columns.iter().filter(|part| part.starts_with('('));
        parts.chain(&self.predicate).map(String::as_str)
    }

    /// `unique (email) where active`.
    pub fn describe(&self) -> String {
        let mut text = format!("({})", self.columns.join(", "));
        if self.unique {
            text = format!("unique {text}");
        }
        if let Some(predicate) = &self.predicate {
            text += &format!(" where {predicate}");
        }
        text
    }
}

/// SQL text with runs of white space and comments folded to one space, and
/// spaces next to brackets and commas dropped, so formatting never reads as
/// a change. Strings and quoted names are kept as they are: the text is
/// also what autogenerate writes back for views and triggers.
///
/// ```
/// use migrate_runtime::schema::normalise_sql;
/// assert_eq!(normalise_sql("SELECT  a ,b -- why\n FROM ( t )"), "SELECT a,b FROM (t)");
/// assert_eq!(normalise_sql("SELECT 'a,  b' AS \"x ( y\""), "SELECT 'a,  b' AS \"x ( y\"");
/// ```
pub fn normalise_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut space = false;
    for (blank, text) in crate::split::tokens(sql) {
        if blank {
            space = !out.is_empty();
            continue;
        }
        if space && !text.starts_with([')', ',']) && !out.ends_with(['(', ',']) {
            out.push(' ');
        }
        space = false;
        out.push_str(text);
    }
    out.trim_end_matches(';').trim_end().to_string()
}
