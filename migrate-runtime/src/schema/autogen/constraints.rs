//! Constraints of existing PostgreSQL tables: primary keys, uniques, checks
//! and foreign keys, dropped by the names introspection read and added with
//! `ALTER TABLE … ADD`. Foreign keys that go are dropped before anything
//! else and new ones added after everything else, so none is ever without
//! the table or key it references; one that stays while a key it may rely
//! on goes is dropped before and added again after.

use super::*;

/// The constraint statements of one direction.
#[derive(Debug, Default)]
pub(super) struct ConstraintSteps {
    /// Before the table changes: foreign keys, then the other constraints.
    pub before: Vec<String>,
    /// After the table changes: keys, uniques and checks, then foreign keys.
    pub after: Vec<String>,
}

/// A constraint and the name of its table.
type Placed<'s> = (&'s str, Constraint<'s>);

impl Plan<'_> {
    /// The statements for the constraints of existing tables that change;
    /// one to drop whose name the starting schema lacks is reported instead
    /// (and not added again either).
    pub(super) fn constraint_steps(&mut self) -> ConstraintSteps {
        let (from, to) = (&self.from, self.to);
        let (drops, adds) = changed_constraints(from, to);
        let (mut steps, mut unnamed) = (ConstraintSteps::default(), Vec::new());
        for (table, constraint) in &drops {
            match from.tables[*table].constraint_names.get(&constraint.object()) {
                Some(name) => steps.before.push(drop_sql(table, name)),
                None => unnamed.push((*table, *constraint)),
            }
        }
        let taken = TakenNames::of(from, to, &drops);
        let addable = adds.iter().filter(|(t, c)| !unnamed.iter().any(|u| same_object(u, t, c)));
        let upgrade = self.direction == Direction::Upgrade;
        for (table, constraint) in addable {
            let name = to.tables[*table].constraint_names.get(&constraint.object());
            let name = name.filter(|n| !taken.holds(table, constraint, n));
            // The safe form needs the name to validate by; without one the
            // plain `ADD` stays, and the lint marks it.
            match name {
                Some(name) if upgrade && concurrent::validated_later(constraint) => {
                    let (add, validate) = concurrent::not_valid(table, name, constraint);
                    steps.after.push(add);
                    self.validations.push(validate);
                }
                _ => steps.after.push(add_sql(table, name, constraint)),
            }
        }
        let unsupported: Vec<Difference> = unnamed.iter().map(|u| nameless(to, u)).collect();
        self.unsupported.extend(unsupported);
        steps
    }
}

/// The constraints to drop, foreign keys first, and to add, foreign keys
/// last.
fn changed_constraints<'s>(from: &'s Schema, to: &'s Schema) -> (Vec<Placed<'s>>, Vec<Placed<'s>>) {
    let (mut drops, mut adds) = (Vec::new(), Vec::new());
    for name in from.tables.keys().filter(|n| to.tables.contains_key(*n)) {
        table_changes(from, to, name, &mut drops, &mut adds);
    }
    drops.extend(dangling(from, to));
    drops.sort_by_key(|(_, c)| !matches!(c, Constraint::ForeignKey(_)));
    adds.sort_by_key(|(_, c)| matches!(c, Constraint::ForeignKey(_)));
    (drops, adds)
}

/// `ALTER TABLE "t" DROP CONSTRAINT "name";`
pub(super) fn drop_sql(table: &str, name: &str) -> String {
    format!("ALTER TABLE {} DROP CONSTRAINT {};", quote_object(table), quote(name))
}

/// `ALTER TABLE "t" ADD [CONSTRAINT "name"] UNIQUE ("a");`, PostgreSQL
/// choosing a name when `name` is `None`.
pub(super) fn add_sql(table: &str, name: Option<&str>, constraint: &Constraint) -> String {
    format!("ALTER TABLE {} ADD {};", quote_object(table), named_constraint_sql(name, constraint))
}

/// Every name `schema` gives a relation or constraint: a new table's
/// constraint takes the desired schema's name only when it is none of
/// these, as the objects of `schema` may still exist when it is created.
pub(super) fn names_in_use(schema: &Schema) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = relation_names(schema).cloned().collect();
    for table in schema.tables.values() {
        let constraints = table.constraints();
        let named = constraints.iter().filter_map(|c| table.constraint_names.get(&c.object()));
        names.extend(named.map(Into::into));
    }
    names
}

/// The tables, indexes, views and sequences of `schema`: names an
/// index-backed constraint (primary key, unique) must not take.
fn relation_names(schema: &Schema) -> impl Iterator<Item = &String> {
    let indexes = schema.tables.values().flat_map(|t| t.indexes.keys());
    schema.tables.keys().chain(schema.views.keys()).chain(&schema.sequences).chain(indexes)
}

/// The constraints of table `name` (in both schemas) that go and that come;
/// a changed one does both. A foreign key that stays goes and comes again
/// when a key of its referenced table that it may rely on goes.
fn table_changes<'s>(
    from: &'s Schema,
    to: &'s Schema,
    name: &'s str,
    drops: &mut Vec<Placed<'s>>,
    adds: &mut Vec<Placed<'s>>,
) {
    let (old, new) = (from.tables[name].constraints(), to.tables[name].constraints());
    let regenerated = regenerated(&from.tables[name], &to.tables[name]);
    for constraint in &old {
        let stays = new.contains(constraint);
        let relies = matches!(constraint, Constraint::ForeignKey(key) if key_dropped(from, to, key));
        // Dropping the column drops it; it is added again after.
        let on_regenerated = regenerated.iter().any(|c| on_column(constraint, &c.name));
        if !stays || relies || on_regenerated {
            drops.push((name, *constraint));
        }
        if stays && (relies || on_regenerated) {
            adds.push((name, *constraint));
        }
    }
    adds.extend(new.iter().filter(|c| !old.contains(c)).map(|c| (name, *c)));
}

/// Whether `constraint` involves column `column`.
fn on_column(constraint: &Constraint, column: &str) -> bool {
    let named = |columns: &[String]| columns.iter().any(|c| c == column);
    match constraint {
        Constraint::PrimaryKey(columns) | Constraint::Unique(columns) => named(columns),
        Constraint::ForeignKey(key) => named(&key.columns),
        Constraint::Check(expression) => mentions(expression, column),
    }
}

/// Foreign keys of dropped tables that would stop a key or table from
/// going before their own table does: those to a key of a remaining table
/// that goes, and those to a table dropped earlier (tables that reference
/// each other).
fn dangling<'s>(from: &'s Schema, to: &Schema) -> Vec<Placed<'s>> {
    let order = drop_order(from, to);
    let position = |name: &str| order.iter().position(|n| n == name);
    let mut found = Vec::new();
    for (name, table) in &from.tables {
        let Some(at) = position(name) else { continue };
        for key in &table.foreign_keys {
            let earlier = position(&key.references).is_some_and(|other| other < at);
            let key_goes = to.tables.contains_key(&key.references) && key_dropped(from, to, key);
            if earlier || key_goes {
                found.push((name.as_str(), Constraint::ForeignKey(key)));
            }
        }
    }
    found
}

fn same_object(placed: &Placed, table: &str, constraint: &Constraint) -> bool {
    placed.0 == table && placed.1.object() == constraint.object()
}

/// What is reported for a constraint that cannot be dropped by name.
fn nameless(to: &Schema, (table, constraint): &Placed) -> Difference {
    let object = constraint.object();
    let now = to.tables.get(*table).and_then(|t| t.constraints().into_iter().find(|c| c.object() == object));
    Difference {
        object: format!("table {table}: {object} (no constraint name to drop it by)"),
        before: Some(constraint.describe()),
        after: now.map(|c| c.describe()),
    }
}

/// The names an added constraint must not take, as they are still in use
/// when it is added. Indexes, tables, views and sequences that go are
/// counted too (an added constraint then gets PostgreSQL's name for it,
/// which the model does not compare).
struct TakenNames<'s> {
    /// Constraints that stay, by table: a name is unique within a table.
    constraints: BTreeSet<(&'s str, &'s str)>,
    /// What a primary key's or unique's index would clash with: every
    /// relation of the schema, and the keys and uniques that stay.
    relations: BTreeSet<&'s str>,
}

impl<'s> TakenNames<'s> {
    fn of(from: &'s Schema, to: &Schema, drops: &[Placed]) -> TakenNames<'s> {
        let mut taken = TakenNames { constraints: BTreeSet::new(), relations: BTreeSet::new() };
        for (name, table) in from.tables.iter().filter(|(n, _)| to.tables.contains_key(*n)) {
            for constraint in table.constraints() {
                let dropped = drops.iter().any(|(t, d)| t == name && *d == constraint);
                let Some(label) = table.constraint_names.get(&constraint.object()) else { continue };
                if !dropped {
                    taken.constraints.insert((name, label));
                    if matches!(constraint, Constraint::PrimaryKey(_) | Constraint::Unique(_)) {
                        taken.relations.insert(label);
                    }
                }
            }
        }
        taken.relations.extend(relation_names(from).map(String::as_str));
        taken
    }

    fn holds(&self, table: &str, constraint: &Constraint, name: &str) -> bool {
        let keyed = matches!(constraint, Constraint::PrimaryKey(_) | Constraint::Unique(_));
        self.constraints.contains(&(table, name)) || (keyed && self.relations.contains(name))
    }
}

/// Whether `from` has a key over the columns `key` references that `to`
/// does not keep: the foreign key may rely on it, and PostgreSQL refuses
/// to drop it while the foreign key exists.
pub(super) fn key_dropped(from: &Schema, to: &Schema, key: &ForeignKey) -> bool {
    referenced_keys(from, to, key).contains(&false)
}

/// Whether `from` has a key over the columns `key` references that `to`
/// keeps: a new foreign key can rely on it from the start.
pub(super) fn key_kept(from: &Schema, to: &Schema, key: &ForeignKey) -> bool {
    referenced_keys(from, to, key).contains(&true)
}

/// For each key of `from` over the columns `key` references, whether `to`
/// has it unchanged.
fn referenced_keys(from: &Schema, to: &Schema, key: &ForeignKey) -> Vec<bool> {
    let Some(old) = from.tables.get(&key.references) else { return Vec::new() };
    let new = to.tables.get(&key.references).map(referable).unwrap_or_default();
    let columns = column_set(&key.referenced_columns);
    let matching = referable(old).into_iter().filter(|(_, set)| *set == columns);
    matching.map(|(text, _)| new.iter().any(|(t, _)| *t == text)).collect()
}

/// The keys a foreign key can reference in `table` (primary key, uniques,
/// unique indexes without a predicate), each as a text that changes when
/// the key does, with its set of columns.
fn referable(table: &Table) -> Vec<(String, BTreeSet<&str>)> {
    let mut keys = Vec::new();
    for constraint in table.constraints() {
        if let Constraint::PrimaryKey(columns) | Constraint::Unique(columns) = constraint {
            keys.push((format!("{} {}", constraint.object(), constraint.describe()), column_set(columns)));
        }
    }
    let indexes = table.indexes.iter().filter(|(_, i)| i.unique && i.predicate.is_none());
    keys.extend(
        indexes
            .map(|(name, index)| (format!("index {name} {}", index.describe()), column_set(&index.columns))),
    );
    keys
}

fn column_set(columns: &[String]) -> BTreeSet<&str> {
    columns.iter().map(String::as_str).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ConstraintNames;

    fn column(name: &str) -> Column {
        Column::new(name, "text")
    }

    /// Table `p` and table `child`, which with `keyed` has a foreign key to
    /// `p`'s unique `code`, under PostgreSQL's usual names.
    fn schema(child: &str, keyed: bool) -> Schema {
        let mut p = Table { columns: vec![column("code")], ..Table::default() };
        let mut c = Table { columns: vec![column("p_code")], ..Table::default() };
        if keyed {
            p.uniques = vec![vec!["code".into()]];
            p.constraint_names = [("unique (code)".into(), "p_code_key".into())].into_iter().collect();
            c.foreign_keys = vec![ForeignKey {
                columns: vec!["p_code".into()],
                references: "p".into(),
                referenced_columns: vec!["code".into()],
                on_delete: "cascade".into(),
                on_update: "no action".into(),
            }];
            let object = "foreign key (p_code) references p (code)".to_string();
            c.constraint_names = [(object, format!("{child}_p_code_fkey"))].into_iter().collect();
        }
        Schema { tables: [("p".into(), p), (child.into(), c)].into(), ..Schema::default() }
    }

    #[test]
    fn a_foreign_key_comes_after_the_unique_it_references_and_goes_before_it() {
        // Table names on both sides of `p`, so name order is right for one
        // direction only.
        for child in ["c", "z"] {
            let changes = generate(&schema(child, false), &schema(child, true), Dialect::Postgres, &[]);
            // Added `NOT VALID`, validated in the follow-up revision.
            let add_key = format!(
                "ALTER TABLE \"{child}\" ADD CONSTRAINT \"{child}_p_code_fkey\" FOREIGN KEY (\"p_code\") REFERENCES \"p\" (\"code\") ON DELETE CASCADE NOT VALID;"
            );
            let add_unique = "ALTER TABLE \"p\" ADD CONSTRAINT \"p_code_key\" UNIQUE (\"code\");";
            assert_eq!(changes.upgrade, [add_unique, &add_key]);
            let validate = format!("ALTER TABLE \"{child}\" VALIDATE CONSTRAINT \"{child}_p_code_fkey\";");
            assert_eq!(changes.follow_up, [validate]);
            assert!(changes.follow_up_downgrade.is_empty());
            let drop_key = format!("ALTER TABLE \"{child}\" DROP CONSTRAINT \"{child}_p_code_fkey\";");
            let drop_unique = "ALTER TABLE \"p\" DROP CONSTRAINT \"p_code_key\";";
            assert_eq!(changes.downgrade, [&drop_key, drop_unique]);
        }
    }

    #[test]
    fn a_constraint_without_a_name_is_reported_not_dropped() {
        let mut start = schema("c", true);
        start.tables.values_mut().for_each(|t| t.constraint_names = ConstraintNames::default());
        let changes = generate(&start, &schema("c", false), Dialect::Postgres, &[]);
        assert!(changes.upgrade.is_empty(), "{:?}", changes.upgrade);
        let unsupported: Vec<String> = changes.unsupported.iter().map(ToString::to_string).collect();
        assert_eq!(
            unsupported,
            [
                "table c: foreign key (p_code) references p (code) (no constraint name to drop it by): removed (was on delete cascade, on update no action)",
                "table p: unique (code) (no constraint name to drop it by): removed (was unique)",
            ]
        );
    }
}
