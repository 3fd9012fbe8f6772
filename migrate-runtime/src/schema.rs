//! One comparable model of a database schema, filled by introspection of
//! SQLite ([`crate::introspect_sqlite`]) or PostgreSQL
//! ([`crate::introspect_postgres`]), and the diff of two models.
//!
//! The walk-versions harness compares snapshots with it, and autogenerate
//! diffs a head schema against a desired one: one model, one diff.

use std::collections::BTreeMap;
use std::fmt;

/// A schema: tables with their parts, views, triggers, sequences, enums.
/// Names are as the database reports them; the history table is left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Schema {
    pub tables: BTreeMap<String, Table>,
    /// View name to its normalised definition.
    pub views: BTreeMap<String, String>,
    /// Trigger name to its normalised definition.
    pub triggers: BTreeMap<String, String>,
    pub sequences: Vec<String>,
    /// Enum type name to its labels, in order.
    pub enums: BTreeMap<String, Vec<String>>,
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
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Column {
    pub name: String,
    /// Lower-case type as declared (SQLite) or reported (PostgreSQL).
    pub data_type: String,
    pub nullable: bool,
    pub default: Option<String>,
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
            && self.sequences.is_empty()
            && self.enums.is_empty()
    }

    /// Every object as `name → description`, the form diffs compare.
    ///
    /// ```
    /// use migrate_runtime::schema::{Column, Schema, Table};
    /// let mut schema = Schema::default();
    /// let column = Column { name: "id".into(), data_type: "integer".into(), nullable: false, default: None };
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
        for name in &self.sequences {
            entries.insert(format!("sequence {name}"), "sequence".to_string());
        }
        for (name, labels) in &self.enums {
            entries.insert(format!("enum {name}"), labels.join(", "));
        }
        entries
    }

    /// Only the objects named in `objects` (`table user`, `view v`, …).
    pub fn only(&self, objects: &[String]) -> Schema {
        let wanted = |kind: &str, name: &str| objects.iter().any(|o| o.strip_prefix(kind) == Some(name));
        Schema {
            tables: self
                .tables
                .iter()
                .filter(|(n, _)| wanted("table ", n))
                .map(|(n, t)| (n.clone(), t.clone()))
                .collect(),
            views: self
                .views
                .iter()
                .filter(|(n, _)| wanted("view ", n))
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
            triggers: self
                .triggers
                .iter()
                .filter(|(n, _)| wanted("trigger ", n))
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
            sequences: self.sequences.iter().filter(|n| wanted("sequence ", n)).cloned().collect(),
            enums: self
                .enums
                .iter()
                .filter(|(n, _)| wanted("enum ", n))
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
        }
    }

    /// Replaces the objects named in `objects` with those of `with`: what a
    /// walk does after re-reading only what a revision changed.
    pub fn replace(&mut self, objects: &[String], with: Schema) {
        let gone = |kind: &str, name: &str| objects.iter().any(|o| o.strip_prefix(kind) == Some(name));
        self.tables.retain(|n, _| !gone("table ", n));
        self.views.retain(|n, _| !gone("view ", n));
        self.triggers.retain(|n, _| !gone("trigger ", n));
        self.sequences.retain(|n| !gone("sequence ", n));
        self.enums.retain(|n, _| !gone("enum ", n));
        self.tables.extend(with.tables);
        self.views.extend(with.views);
        self.triggers.extend(with.triggers);
        self.sequences.extend(with.sequences);
        self.sequences.sort();
        self.enums.extend(with.enums);
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
        if !self.primary_key.is_empty() {
            entries.insert(format!("{prefix}: primary key"), format!("({})", self.primary_key.join(", ")));
        }
        for (name, index) in &self.indexes {
            entries.insert(format!("{prefix}: index {name}"), index.describe());
        }
        for columns in &self.uniques {
            entries.insert(format!("{prefix}: unique ({})", columns.join(", ")), "unique".to_string());
        }
        for key in &self.foreign_keys {
            let object = format!(
                "{prefix}: foreign key ({}) references {} ({})",
                key.columns.join(", "),
                key.references,
                key.referenced_columns.join(", ")
            );
            entries.insert(object, format!("on delete {}, on update {}", key.on_delete, key.on_update));
        }
        for check in &self.checks {
            entries.insert(format!("{prefix}: check ({check})"), "check".to_string());
        }
    }
}

impl Column {
    /// `integer not null default 0`.
    pub fn describe(&self) -> String {
        let mut text = self.data_type.clone();
        if !self.nullable {
            text += " not null";
        }
        if let Some(default) = &self.default {
            text += &format!(" default {default}");
        }
        text
    }
}

impl Index {
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

/// SQL text with runs of white space folded to one space, and spaces next
/// to brackets and commas dropped, so formatting never reads as a change.
///
/// ```
/// assert_eq!(migrate_runtime::schema::normalise_sql("SELECT  a ,b\n FROM ( t )"), "SELECT a,b FROM (t)");
/// ```
pub fn normalise_sql(sql: &str) -> String {
    let folded = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(folded.len());
    let chars: Vec<char> = folded.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let previous = out.chars().last();
        let around_punctuation = matches!(next, Some(')' | ',')) || matches!(previous, Some('(' | ','));
        if c == ' ' && around_punctuation {
            continue;
        }
        out.push(c);
    }
    out.trim_end_matches(';').trim().to_string()
}
