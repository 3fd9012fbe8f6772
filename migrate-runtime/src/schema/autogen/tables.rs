//! Tables, columns and indexes: creation and removal in dependency order,
//! changes in place where `ALTER TABLE` can, and SQLite's table rebuild
//! where it cannot.

use super::postgres::serial_sequence;
use super::*;

impl Plan<'_> {
    /// New tables, each before the tables whose foreign keys reference it.
    pub(super) fn create_tables(&mut self) {
        let new: Vec<&String> =
            self.to.tables.keys().filter(|n| !self.from.tables.contains_key(*n)).collect();
        let order = creation_order(self.to, &new);
        let names_in_use = names_in_use(&self.from);
        for (at, name) in order.iter().enumerate() {
            let mut table = self.to.tables[name].clone();
            if self.dialect == Dialect::Postgres {
                self.postpone_foreign_keys(name, &mut table, &order[..at]);
            }
            self.out.push(create_table(name, &table, &names_in_use));
            for (index_name, index) in &table.indexes {
                self.create_index(name, index_name, index);
            }
        }
    }

    /// Takes out of new `table` the foreign keys PostgreSQL would refuse
    /// in `CREATE TABLE`: those to a table not `created` yet (a cycle) or to
    /// a key an existing table gets only in this revision. They are added
    /// after everything else.
    fn postpone_foreign_keys(&mut self, name: &str, table: &mut Table, created: &[String]) {
        let ready = |key: &ForeignKey| {
            key.references == name || created.contains(&key.references) || key_kept(&self.from, self.to, key)
        };
        let (now, later): (Vec<ForeignKey>, Vec<ForeignKey>) =
            std::mem::take(&mut table.foreign_keys).into_iter().partition(ready);
        for key in &later {
            let constraint = Constraint::ForeignKey(key);
            let label = table.constraint_names.get(&constraint.object());
            self.late_foreign_keys.push(add_sql(name, label, &constraint));
        }
        table.foreign_keys = now;
    }

    /// Old tables, each after the tables whose foreign keys reference it.
    pub(super) fn drop_tables(&mut self) {
        for name in drop_order(&self.from, self.to) {
            self.losing(&format!("table {name}"), format!("DROP TABLE {};", quote_object(&name)));
        }
    }

    /// Tables in both schemas, referenced ones first: a SQLite rebuild copies
    /// rows into a table whose foreign keys are checked against the key its
    /// referenced table may only get from its own rebuild.
    pub(super) fn alter_tables(&mut self) {
        let common: Vec<&String> =
            self.from.tables.keys().filter(|n| self.to.tables.contains_key(*n)).collect();
        for name in creation_order(self.to, &common) {
            let (old, new) = (self.from.tables[&name].clone(), &self.to.tables[&name]);
            if old == *new {
                continue;
            }
            match self.dialect {
                Dialect::Sqlite if needs_rebuild(&old, new) => {
                    let own_key = new.foreign_keys.iter().any(|k| k.references == name);
                    self.foreign_keys_off |= self.referenced(&name) || own_key;
                    self.rebuild(&name, &old, new);
                }
                Dialect::Sqlite => self.alter_in_place(&name, &old, new),
                // Constraints have their own steps around the table changes.
                Dialect::Postgres => self.alter_in_place(&name, &old, new),
            }
        }
    }

    /// Whether a foreign key of the starting schema (its own included)
    /// references table `name` (the rebuilt table's new keys count too):
    /// with foreign keys enforced, dropping the old table in a rebuild
    /// deletes its rows first, which cascades to or fails on the rows that
    /// reference them.
    pub(super) fn referenced(&self, name: &str) -> bool {
        self.from.tables.values().flat_map(|t| &t.foreign_keys).any(|k| k.references == name)
    }

    /// Indexes, added and dropped columns, and on PostgreSQL changed ones.
    /// A column that becomes generated, or generated otherwise, is dropped
    /// and added again (see [`regenerated`]), and so are the indexes on it.
    pub(super) fn alter_in_place(&mut self, name: &str, old: &Table, new: &Table) {
        let regenerated = regenerated(old, new);
        let on_regenerated = |index: &Index| {
            let on = |c: &Column| {
                index.columns.contains(&c.name) || index.expressions().any(|t| mentions(t, &c.name))
            };
            regenerated.iter().any(|c| on(c))
        };
        let rebuilt_index = |index_name: &String, index: &Index| {
            old.indexes.get(index_name) != new.indexes.get(index_name) || on_regenerated(index)
        };
        for (index_name, index) in &old.indexes {
            if rebuilt_index(index_name, index) {
                self.out.push(format!("DROP INDEX {};", quote_beside(name, index_name)));
            }
        }
        let dropped = old.columns.iter().filter(|c| !has_column(new, &c.name));
        for column in
            dropped.chain(regenerated.iter().filter_map(|c| old.columns.iter().find(|b| b.name == c.name)))
        {
            let statement = format!("ALTER TABLE {} DROP COLUMN {};", quote(name), quote(&column.name));
            match column.generated {
                // Its values come from the other columns.
                Some(_) => self.out.push(statement),
                None if has_column(new, &column.name) => {
                    self.losing(&becomes_generated(name, column), statement)
                }
                None => self.losing(&format!("column {name}.{}", column.name), statement),
            }
        }
        let added = new.columns.iter().filter(|c| !has_column(old, &c.name));
        for column in added.chain(regenerated.iter().copied()) {
            let statement = format!("ALTER TABLE {} ADD COLUMN {};", quote(name), column_sql(column));
            match unfilled(column) {
                true => self.failing_on_rows(&unfilled_warning(name, column), statement),
                false => self.out.push(statement),
            }
        }
        for before in &old.columns {
            let after = new.columns.iter().find(|c| c.name == before.name);
            if let Some(after) = after.filter(|a| !regenerated.iter().any(|r| r.name == a.name)) {
                self.alter_column(name, before, after);
            }
        }
        for (index_name, index) in &new.indexes {
            if rebuilt_index(index_name, index) {
                self.create_index(name, index_name, index);
            }
        }
    }

    /// PostgreSQL's `ALTER COLUMN`: type, then default, then nullability,
    /// inside the identity changes, as an identity column takes no default
    /// and stays not null.
    pub(super) fn alter_column(&mut self, table: &str, before: &Column, after: &Column) {
        let alter = format!("ALTER TABLE {} ALTER COLUMN {}", quote(table), quote(&after.name));
        if before.identity.is_some() && after.identity.is_none() {
            self.out.push(format!("{alter} DROP IDENTITY;"));
        }
        if before.generated.is_some() && after.generated.is_none() {
            // The computed values stay, as plain ones.
            self.out.push(format!("{alter} DROP EXPRESSION;"));
        }
        if before.data_type != after.data_type || before.collation != after.collation {
            let collation = match &after.collation {
                Some(collation) => format!(" COLLATE {collation}"),
                None if before.collation.is_some() => " COLLATE \"default\"".to_string(),
                None => String::new(),
            };
            let (column, ty) = (quote(&after.name), &after.data_type);
            let statement = format!("{alter} TYPE {ty}{collation} USING {column}::{ty};");
            self.type_change(table, before, after, statement);
        }
        // A serial column turning into an identity one or back: its own
        // sequence goes before the identity's is made, or comes after the
        // identity's is gone (they share the name `table_column_seq`).
        let to_serial = before.identity.and(serial_sequence(after));
        if let Some(sequence) = &to_serial {
            self.out.push(format!("CREATE SEQUENCE {} AS {};", quote_object(sequence), after.data_type));
        }
        if before.default != after.default {
            self.out.push(match &after.default {
                Some(default) => format!("{alter} SET DEFAULT {default};"),
                None => format!("{alter} DROP DEFAULT;"),
            });
        }
        if let Some(sequence) = after.identity.and(serial_sequence(before)) {
            self.out.push(format!("DROP SEQUENCE {};", quote_object(&sequence)));
        }
        if before.nullable != after.nullable {
            self.nullability_change(table, after, &alter);
        }
        if let Some(sequence) = &to_serial {
            let column = format!("{}.{}", quote(table), quote(&after.name));
            self.out.push(format!("ALTER SEQUENCE {} OWNED BY {column};", quote(sequence)));
            self.out.push(sequence_past_rows(table, &after.name));
        }
        match (before.identity, after.identity) {
            (None, Some(new)) => {
                self.out.push(format!("{alter} ADD GENERATED {} AS IDENTITY;", new.sql()));
                self.out.push(sequence_past_rows(table, &after.name));
            }
            (Some(old), Some(new)) if old != new => {
                self.out.push(format!("{alter} SET GENERATED {};", new.sql()))
            }
            _ => {}
        }
    }

    /// `SET NOT NULL`, nulls set to the new default first (as a SQLite
    /// rebuild copies them), or `DROP NOT NULL`.
    fn nullability_change(&mut self, table: &str, after: &Column, alter: &str) {
        if let (false, Some(default)) = (after.nullable, &after.default) {
            let column = quote(&after.name);
            self.out
                .push(format!("UPDATE {} SET {column} = {default} WHERE {column} IS NULL;", quote(table)));
        }
        let set = if after.nullable { "DROP NOT NULL" } else { "SET NOT NULL" };
        self.out.push(format!("{alter} {set};"));
    }

    pub(super) fn type_change(&mut self, table: &str, before: &Column, after: &Column, statement: String) {
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
    pub(super) fn rebuild(&mut self, name: &str, old: &Table, new: &Table) {
        let scratch = format!("_migrate_new_{name}");
        let mut create = String::new();
        for what in rebuild_losses(name, old, new) {
            create += &format!("-- WARNING: drops data: {what}\n");
            self.warn(&what);
        }
        // The copy of the rows gives a new `NOT NULL` column nothing to hold.
        for column in new.columns.iter().filter(|c| !has_column(old, &c.name) && unfilled(c)) {
            let what = unfilled_warning(name, column);
            create += &format!("-- WARNING: {FAILS_ON_ROWS}: {what}\n");
            self.caution(&what);
        }
        self.out.push(create + &create_table(&scratch, new, &BTreeSet::new()));
        self.out.extend(copy_rows(name, &scratch, old, new));
        if [old, new].iter().all(|t| t.options.iter().any(|o| o == "autoincrement")) {
            // Keep the high-water mark, so ids of deleted rows stay unused.
            self.out.push(format!("DELETE FROM sqlite_sequence WHERE name = {};", literal(&scratch)));
            self.out.push(format!(
                "INSERT INTO sqlite_sequence (name, seq) SELECT {}, seq FROM sqlite_sequence WHERE name = {};",
                literal(&scratch),
                literal(name)
            ));
        }
        self.out.push(format!("DROP TABLE {};", quote(name)));
        self.out.push(format!("ALTER TABLE {} RENAME TO {};", quote(&scratch), quote(name)));
        for (index_name, index) in &new.indexes {
            self.create_index(name, index_name, index);
        }
    }

    pub(super) fn create_index(&mut self, table: &str, name: &str, index: &Index) {
        if index.columns.iter().any(|c| c == "<expression>") {
            // Introspection could not read the expression back.
            self.unsupported.push(Difference {
                object: format!("table {table}: index {name}"),
                before: None,
                after: Some(index.describe()),
            });
            return;
        }
        self.out.push(index_sql(table, name, index, ""));
    }

    /// Views and triggers: when any table statement was written, all of
    /// the old ones are dropped first and all the new ones created last.
    pub(super) fn sqlite_views_and_triggers(&mut self) {
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
}

/// Moves the new identity or serial sequence of a column past the values its
/// rows already hold, so the next insert does not collide with them (on an
/// empty table `max` is null and the strict `setval` does nothing).
fn sequence_past_rows(table: &str, column: &str) -> String {
    let sequence = format!("pg_get_serial_sequence({}, {})", literal(&quote(table)), literal(column));
    format!("SELECT setval({sequence}, max({})) FROM {};", quote(column), quote(table))
}

/// The columns of `new` that become generated, or generated otherwise, than
/// in `old`: PostgreSQL cannot alter an expression, so they are dropped and
/// added again, with the indexes and constraints on them.
pub(super) fn regenerated<'t>(old: &Table, new: &'t Table) -> Vec<&'t Column> {
    let changed = |c: &&Column| old.columns.iter().any(|b| b.name == c.name && b.generated != c.generated);
    new.columns.iter().filter(|c| c.generated.is_some()).filter(changed).collect()
}

/// What autogenerate says of a statement that fails on a table with rows.
pub(super) const FAILS_ON_ROWS: &str = "fails on a table with rows";

/// Whether a new column has nothing to hold in the rows a table already
/// has: `NOT NULL` with no default, not generated, not an identity.
fn unfilled(column: &Column) -> bool {
    !column.nullable && column.default.is_none() && column.generated.is_none() && column.identity.is_none()
}

fn unfilled_warning(table: &str, column: &Column) -> String {
    format!(
        "column {table}.{} is NOT NULL without a default: give it a default, or add it nullable, fill it, and set NOT NULL in a later revision",
        column.name
    )
}

/// What rebuilding table `name` from `old` to `new` loses: dropped
/// columns, narrowed types, values a generated column replaces. Types
/// narrow by SQLite's rules, the only dialect rebuilt: its lengths are
/// not enforced, so only a change of type affinity can change a value.
fn rebuild_losses(name: &str, old: &Table, new: &Table) -> Vec<String> {
    let mut losses: Vec<String> = old
        .columns
        .iter()
        .filter(|c| !has_column(new, &c.name))
        .map(|c| format!("column {name}.{}", c.name))
        .collect();
    for before in &old.columns {
        let Some(after) = new.columns.iter().find(|c| c.name == before.name) else { continue };
        if sqlite_narrows(&before.data_type, &after.data_type) {
            losses.push(format!(
                "column {name}.{} narrows from {} to {}",
                after.name, before.data_type, after.data_type
            ));
        }
        if before.generated.is_none() && after.generated.is_some() {
            losses.push(becomes_generated(name, after));
        }
    }
    losses
}

/// The copy of the rows into the rebuilt table `scratch`: every column both
/// versions have, but the generated ones, which compute themselves.
fn copy_rows(name: &str, scratch: &str, old: &Table, new: &Table) -> Option<String> {
    let (targets, sources): (Vec<String>, Vec<String>) = new
        .columns
        .iter()
        .filter(|after| after.generated.is_none())
        .filter_map(|after| Some((after, old.columns.iter().find(|c| c.name == after.name)?)))
        .map(|(after, before)| (quote(&after.name), copy_expression(before, after)))
        .unzip();
    (!targets.is_empty()).then(|| {
        format!(
            "INSERT INTO {} ({}) SELECT {} FROM {};",
            quote(scratch),
            targets.join(", "),
            sources.join(", "),
            quote(name)
        )
    })
}

/// What a plain column that becomes generated loses: its own values.
fn becomes_generated(table: &str, column: &Column) -> String {
    format!("column {table}.{} becomes generated", column.name)
}

/// An index key part as written: a column name quoted, an expression (kept
/// in parentheses by introspection) as it is.
fn key_part(part: &str) -> String {
    if is_expression(part) {
        part.to_string()
    } else {
        quote(part)
    }
}

fn is_expression(part: &str) -> bool {
    part.starts_with('(')
}

/// Whether SQLite's `ALTER TABLE` cannot turn `old` into `new`.
pub(super) fn needs_rebuild(old: &Table, new: &Table) -> bool {
    let sorted = |t: &Table| {
        let (mut uniques, mut keys, mut checks) =
            (t.uniques.clone(), t.foreign_keys.clone(), t.checks.clone());
        uniques.sort();
        keys.sort();
        checks.sort();
        (t.primary_key.clone(), uniques, keys, checks, t.options.clone())
    };
    let changed = old.columns.iter().any(|c| new.columns.iter().any(|n| n.name == c.name && n != c));
    let added_badly = new.columns.iter().any(|c| !has_column(old, &c.name) && !addable(c));
    let dropped_badly =
        old.columns.iter().any(|c| !has_column(new, &c.name) && constrained(old, new, &c.name));
    sorted(old) != sorted(new) || changed || added_badly || dropped_badly
}

/// Whether `ALTER TABLE … ADD COLUMN` accepts the column: a constant
/// default, and one that is not null when the column is `NOT NULL`.
pub(super) fn addable(column: &Column) -> bool {
    if let Some(generated) = &column.generated {
        return !generated.ends_with("STORED");
    }
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
pub(super) fn constrained(old: &Table, new: &Table, column: &str) -> bool {
    let named = |columns: &[String]| columns.iter().any(|c| c == column);
    let on_index = |i: &Index| named(&i.columns) || i.expressions().any(|text| mentions(text, column));
    let kept_index = old.indexes.iter().any(|(n, i)| new.indexes.get(n) == Some(i) && on_index(i));
    named(&old.primary_key)
        || old.uniques.iter().any(|u| named(u))
        || old.foreign_keys.iter().any(|k| named(&k.columns))
        || old.checks.iter().any(|c| mentions(c, column))
        || kept_index
}

/// Whether `word` appears in `text` as a whole word (case-insensitive).
pub(super) fn mentions(text: &str, word: &str) -> bool {
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
pub(super) fn copy_expression(before: &Column, after: &Column) -> String {
    match &after.default {
        Some(default) if before.nullable && !after.nullable => {
            format!("coalesce({}, {default})", quote(&before.name))
        }
        _ => quote(&before.name),
    }
}

/// [`narrows`] for SQLite, which enforces no length and stores a value
/// by its column's type affinity: a change may alter a value only when the
/// affinity changes to a numeric one (text `'1.50'` into a `NUMERIC`
/// column becomes the number 1.5) or from `REAL` to `INTEGER`. `text` to
/// `varchar(100)`, or `int` to `smallint`, keeps every value.
pub(super) fn sqlite_narrows(old: &str, new: &str) -> bool {
    use Affinity::*;
    match (affinity(old), affinity(new)) {
        (a, b) if a == b => false,
        (_, Text | Blob) => false,
        (Integer, Real | Numeric) => false,
        _ => true,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Affinity {
    Integer,
    Text,
    Blob,
    Real,
    Numeric,
}

/// SQLite's rules, in their order (section 3.1 of "Datatypes In SQLite").
fn affinity(declared: &str) -> Affinity {
    let upper = declared.to_ascii_uppercase();
    if upper.contains("INT") {
        Affinity::Integer
    } else if ["CHAR", "CLOB", "TEXT"].iter().any(|t| upper.contains(t)) {
        Affinity::Text
    } else if upper.contains("BLOB") || upper.trim().is_empty() {
        Affinity::Blob
    } else if ["REAL", "FLOA", "DOUB"].iter().any(|t| upper.contains(t)) {
        Affinity::Real
    } else {
        Affinity::Numeric
    }
}

/// Whether changing a column's type from `old` to `new` may lose data:
/// anything but a longer length, no length, `text`, or a larger integer.
pub(super) fn narrows(old: &str, new: &str) -> bool {
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

/// The tables of `from` that `to` lacks, in the order they can be dropped:
/// a table after those whose foreign keys reference it.
pub(super) fn drop_order(from: &Schema, to: &Schema) -> Vec<String> {
    let gone: Vec<&String> = from.tables.keys().filter(|n| !to.tables.contains_key(*n)).collect();
    let mut order = creation_order(from, &gone);
    order.reverse();
    order
}

/// Names in the order they can be created: a table after the tables of
/// `names` it references; cycles broken by name order.
pub(super) fn creation_order(schema: &Schema, names: &[&String]) -> Vec<String> {
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

pub(super) fn has_column(table: &Table, name: &str) -> bool {
    table.columns.iter().any(|c| c.name == name)
}

/// `CREATE [UNIQUE] INDEX {how}"name" ON "table" (…) [WHERE …];`, where
/// `how` is "" or `"CONCURRENTLY "`.
pub(super) fn index_sql(table: &str, name: &str, index: &Index, how: &str) -> String {
    let unique = if index.unique { "UNIQUE " } else { "" };
    let parts: Vec<String> = index.columns.iter().map(|part| key_part(part)).collect();
    let mut statement = format!(
        "CREATE {unique}INDEX {how}{} ON {} ({})",
        quote(name),
        quote_object(table),
        parts.join(", ")
    );
    if let Some(predicate) = &index.predicate {
        statement += &format!(" WHERE {predicate}");
    }
    statement + ";"
}
