//! The safe forms of PostgreSQL changes to tables that exist before the
//! revision, which cannot be written in the revision's own transaction:
//! an index built `CONCURRENTLY` (refused inside a transaction block), and
//! the `VALIDATE CONSTRAINT` of a foreign key or check added `NOT VALID`
//! (it must commit after the `ADD`, or the scan happens under the `ADD`'s
//! lock after all). Both go into a follow-up revision with `transaction:
//! none`, which `cargo migrate new --autogenerate` writes after the first.
//!
//! The first revision is planned towards the desired schema without the
//! new indexes (see [`without`]), so its downgrade does not drop what the
//! follow-up's downgrade already dropped. Only new indexes are deferred: a
//! changed one is dropped and made again in the first revision (its old
//! definition may name a column the revision drops), and the lint marks
//! it there.

use super::*;

/// A new index of a table both schemas have: table name, index name, index.
pub(super) type Deferred<'s> = (&'s str, &'s str, &'s Index);

/// The indexes `to` adds to tables `from` already has, in name order.
/// An index whose expression introspection could not read is left to the
/// first revision, which reports it.
pub(super) fn new_indexes<'s>(from: &Schema, to: &'s Schema) -> Vec<Deferred<'s>> {
    let mut found = Vec::new();
    for (table_name, table) in &to.tables {
        let Some(before) = from.tables.get(table_name) else { continue };
        for (index_name, index) in &table.indexes {
            let readable = !index.columns.iter().any(|c| c == "<expression>");
            if readable && !before.indexes.contains_key(index_name) {
                found.push((table_name.as_str(), index_name.as_str(), index));
            }
        }
    }
    found
}

/// `to` without the `deferred` indexes: what the first revision makes.
pub(super) fn without(to: &Schema, deferred: &[Deferred<'_>]) -> Schema {
    let mut mid = to.clone();
    for (table, index, _) in deferred {
        if let Some(table) = mid.tables.get_mut(*table) {
            table.indexes.remove(*index);
        }
    }
    mid
}

/// The follow-up's upgrade: each index built concurrently, then each
/// validation.
pub(super) fn upgrade(deferred: &[Deferred<'_>], validations: Vec<String>) -> Vec<String> {
    let indexes = deferred.iter().map(|(table, name, index)| index_sql(table, name, index, "CONCURRENTLY "));
    indexes.chain(validations).collect()
}

/// The follow-up's downgrade: each index dropped concurrently, last built
/// first. A validation has nothing to undo: the first revision's downgrade
/// drops the constraint.
pub(super) fn downgrade(deferred: &[Deferred<'_>]) -> Vec<String> {
    let drops = deferred.iter().rev();
    drops.map(|(table, name, _)| format!("DROP INDEX CONCURRENTLY {};", quote_beside(table, name))).collect()
}

/// Whether a constraint added to an existing PostgreSQL table is added
/// `NOT VALID` and validated in the follow-up: a foreign key or a check
/// with a name to validate it by.
pub(super) fn validated_later(constraint: &Constraint) -> bool {
    matches!(constraint, Constraint::ForeignKey(_) | Constraint::Check(_))
}

/// `ALTER TABLE "t" ADD … NOT VALID;` and its `VALIDATE CONSTRAINT`.
pub(super) fn not_valid(table: &str, name: &str, constraint: &Constraint) -> (String, String) {
    let add = add_sql(table, Some(name), constraint);
    let add = format!("{} NOT VALID;", add.trim_end_matches(';'));
    let validate = format!("ALTER TABLE {} VALIDATE CONSTRAINT {};", quote_object(table), quote(name));
    (add, validate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(tables: &[(&str, &[&str])]) -> Schema {
        let mut schema = Schema::default();
        for (name, indexes) in tables {
            let columns = vec![Column::new("id", "bigint"), Column::new("name", "text")];
            let mut table = Table { columns, ..Table::default() };
            for column in *indexes {
                let index = Index { columns: vec![column.to_string()], unique: false, predicate: None };
                table.indexes.insert(format!("{name}_{column}"), index);
            }
            schema.tables.insert(name.to_string(), table);
        }
        schema
    }

    #[test]
    fn an_index_on_an_existing_table_is_built_concurrently_in_the_follow_up() {
        let before = schema(&[("item", &[])]);
        let after = schema(&[("item", &["name"]), ("tag", &["name"])]);
        let changes = generate(&before, &after, Dialect::Postgres, &[]);
        // The new table's index is made with it, in the first revision.
        let first = changes.upgrade.join("\n");
        assert!(first.contains("CREATE INDEX \"tag_name\" ON \"tag\""), "{first}");
        assert!(!first.contains("item_name"), "{first}");
        assert!(!changes.downgrade.join("\n").contains("item_name"), "{:?}", changes.downgrade);
        assert_eq!(changes.follow_up, ["CREATE INDEX CONCURRENTLY \"item_name\" ON \"item\" (\"name\");"]);
        assert_eq!(changes.follow_up_downgrade, ["DROP INDEX CONCURRENTLY \"item_name\";"]);
        // SQLite has no such form: today's output.
        let sqlite = generate(&before, &after, Dialect::Sqlite, &[]);
        assert!(sqlite.follow_up.is_empty());
        assert!(sqlite.upgrade.join("\n").contains("CREATE INDEX \"item_name\" ON \"item\""));
    }

    #[test]
    fn a_changed_index_stays_in_the_first_revision() {
        let before = schema(&[("item", &["name"])]);
        let mut after = before.clone();
        after.tables.get_mut("item").unwrap().indexes.get_mut("item_name").unwrap().unique = true;
        let changes = generate(&before, &after, Dialect::Postgres, &[]);
        assert!(changes.follow_up.is_empty());
        assert!(changes.upgrade.join("\n").contains("CREATE UNIQUE INDEX \"item_name\""));
    }
}
