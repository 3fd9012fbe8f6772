//! The rule catalogue: every rule's stable code, name, default severity,
//! the dialects it concerns, why it matters and the safe way to write it.
//! Codes never change meaning; a retired rule keeps its code unused.

use crate::model::revision::Dialect;

/// How a finding counts: an error fails `check` and the build, a warning
/// is printed, `off` drops the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Off,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Off => "off",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Which databases a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    Both,
    Only(Dialect),
}

impl Applies {
    pub fn to(self, dialect: Dialect) -> bool {
        match self {
            Applies::Both => true,
            Applies::Only(only) => only == dialect,
        }
    }
}

/// One rule of the lint.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// `M101`: what suppressions, settings and JSON output use.
    pub code: &'static str,
    /// `index-not-concurrent`: the same, readable.
    pub name: &'static str,
    pub severity: Severity,
    pub applies: Applies,
    /// Why it takes production down (or breaks the running application).
    pub why: &'static str,
    /// The safe way to write it.
    pub fix: &'static str,
}

const PG: Applies = Applies::Only(Dialect::Postgres);
const SQLITE: Applies = Applies::Only(Dialect::Sqlite);

macro_rules! rules {
    ($($id:ident = $code:literal $name:literal $severity:ident $applies:expr, why $why:literal, fix $fix:literal;)*) => {
        $(pub const $id: Rule = Rule {
            code: $code, name: $name, severity: Severity::$severity, applies: $applies, why: $why, fix: $fix,
        };)*
        /// Every rule, by code.
        pub const ALL: &[&Rule] = &[$(&$id),*];
    };
}

rules! {
    SUPPRESSION = "M000" "suppression" Error Applies::Both,
        why "a `-- lint: allow` must name known rules and say why, so the next reader knows the danger was weighed",
        fix "write `-- lint: allow M101 \"the table is empty when this runs\"`";
    NO_TRANSACTION = "M001" "no-transaction-statement" Error Applies::Both,
        why "the database refuses the statement inside a transaction block, so the revision fails when it runs",
        fix "add `-- transaction: none` to its header so it runs statement by statement";
    TRANSACTION_CONTROL = "M002" "transaction-control" Error Applies::Both,
        why "it would end or nest the transaction the engine runs the revision and its history row in",
        fix "remove it (the engine commits each revision together with its history row), or add `-- transaction: none` to manage transactions yourself";
    FOREIGN_KEYS_PRAGMA = "M003" "foreign-keys-pragma" Error SQLITE,
        why "`PRAGMA foreign_keys` has no effect inside a transaction",
        fix "to rebuild tables other tables reference, make `PRAGMA foreign_keys = OFF;` the section's first statement: cargo-migrate then turns foreign keys off before the transaction, checks them (`PRAGMA foreign_key_check`) before it commits, and turns them back on";
    ENUM_VALUE_USED = "M004" "enum-value-used" Error PG,
        why "PostgreSQL refuses to use an enum value added in the same transaction (unsafe use of new value)",
        fix "add `-- transaction: none` to its header, or use the value in a later revision";
    UNREADABLE = "M005" "unreadable-section" Error Applies::Both,
        why "a section the lint cannot read is a section it cannot vouch for: the file went or changed while the command ran",
        fix "run the command again once the file is saved";
    INDEX_NOT_CONCURRENT = "M101" "index-not-concurrent" Error PG,
        why "`CREATE INDEX` blocks every write to the table until the index is built",
        fix "`CREATE INDEX CONCURRENTLY` in a revision with `-- transaction: none` (one index per revision, so a failure leaves one invalid index to drop)";
    NOT_NULL_WITHOUT_DEFAULT = "M102" "not-null-without-default" Error Applies::Both,
        why "adding a `NOT NULL` column without a default fails on any table that has rows",
        fix "add the column nullable, backfill it, then make it `NOT NULL` (or give it a constant default)";
    VOLATILE_DEFAULT = "M103" "volatile-default" Error PG,
        why "a volatile default (`clock_timestamp()`, `random()`, `gen_random_uuid()`…) makes PostgreSQL rewrite the whole table under an `ACCESS EXCLUSIVE` lock, even on PostgreSQL 11 and later",
        fix "add the column without a default (or with a constant one), set the default in a second statement, and backfill existing rows in batches";
    TYPE_REWRITE = "M104" "column-type-rewrite" Error PG,
        why "changing a column's type rewrites the table and its indexes under an `ACCESS EXCLUSIVE` lock",
        fix "add a new column of the new type, backfill it, switch the application over, then drop the old column (only `varchar(n)` to a longer `varchar` or to `text` is free)";
    CONSTRAINT_NOT_VALID = "M105" "constraint-without-not-valid" Error PG,
        why "adding a foreign key or check constraint scans the whole table while holding a lock that blocks writes (a foreign key locks the referenced table too)",
        fix "`ADD CONSTRAINT … NOT VALID` in one revision, then `ALTER TABLE … VALIDATE CONSTRAINT …` in a later one";
    SET_NOT_NULL = "M106" "set-not-null" Error PG,
        why "`SET NOT NULL` scans the whole table under an `ACCESS EXCLUSIVE` lock",
        fix "add `CHECK (col IS NOT NULL) NOT VALID`, validate it in a later revision, then `SET NOT NULL` (PostgreSQL 12+ skips the scan) and drop the check";
    TRUNCATE = "M107" "truncate" Error PG,
        why "`TRUNCATE` takes an `ACCESS EXCLUSIVE` lock and deletes every row, and cannot be undone by a downgrade",
        fix "delete rows in batches with `DELETE … WHERE`, or drop the table in a revision of its own once nothing uses it";
    LOCK_TABLE = "M108" "lock-table" Error PG,
        why "an explicit `LOCK TABLE` holds its lock until the revision commits, blocking the application",
        fix "remove it: each statement takes the lock it needs, and the engine's `lock_timeout` bounds the wait";
    TABLE_REWRITE = "M109" "table-rewrite" Error PG,
        why "`VACUUM FULL` and `CLUSTER` rewrite the table under an `ACCESS EXCLUSIVE` lock for as long as the copy takes",
        fix "run them in a maintenance window outside migrations, or use `pg_repack`";
    UNIQUE_BUILDS_INDEX = "M110" "constraint-builds-index" Error PG,
        why "adding a `UNIQUE` or `PRIMARY KEY` constraint builds its index while blocking writes",
        fix "`CREATE UNIQUE INDEX CONCURRENTLY` in a `transaction: none` revision, then `ADD CONSTRAINT … UNIQUE USING INDEX …` (or `PRIMARY KEY USING INDEX`)";
    DROP_COLUMN = "M201" "drop-column" Warning Applies::Both,
        why "the version of the application still running during the deploy reads the column and fails",
        fix "stop using the column in the application first (deploy that), then drop it in a later revision";
    DROP_TABLE = "M202" "drop-table" Warning Applies::Both,
        why "the version of the application still running during the deploy reads the table and fails, and the data is gone",
        fix "stop using the table in the application first (deploy that), then drop it in a later revision";
    RENAME_COLUMN = "M203" "rename-column" Warning Applies::Both,
        why "the running application still uses the old name and fails until the new version is deployed",
        fix "add the new column, write both, backfill, move reads, then drop the old one (or add a view with the old name)";
    RENAME_TABLE = "M204" "rename-table" Warning Applies::Both,
        why "the running application still uses the old name and fails until the new version is deployed",
        fix "create the new table (or a view named like the old one) and move the application over before dropping the old name";
    PREFER_IDENTITY = "M301" "prefer-identity" Warning PG,
        why "`serial` columns own a sequence with its own privileges and dump behaviour; identity columns are the SQL standard and PostgreSQL's recommendation",
        fix "`bigint GENERATED ALWAYS AS IDENTITY` (or `BY DEFAULT`)";
    VARCHAR_NARROWING = "M302" "varchar-narrowing" Error PG,
        why "narrowing a `varchar` rewrites the table under an `ACCESS EXCLUSIVE` lock and fails on the first longer value",
        fix "add a `CHECK (length(col) <= n) NOT VALID` constraint and validate it in a later revision";
    INT_PRIMARY_KEY = "M303" "int-primary-key" Warning PG,
        why "a 32-bit primary key runs out at 2,147,483,647 rows, and widening it later rewrites the table",
        fix "`bigint` (or `bigint GENERATED ALWAYS AS IDENTITY`)";
    LOCK_TIMEOUT_DISABLED = "M304" "lock-timeout-disabled" Warning PG,
        why "with `lock_timeout` 0 a statement waiting for a lock waits forever while every other query on the table queues behind it",
        fix "leave the engine's statement lock timeout on (`--statement-lock-timeout`), or set a bounded `lock_timeout`";
    SQLITE_TABLE_REBUILD = "M401" "sqlite-table-rebuild" Warning SQLITE,
        why "rebuilding a table (create, copy, drop, rename) copies every row while holding the database's write lock: every other writer waits",
        fix "keep rebuilds for tables known to be small, or run them when writers are stopped";
    SQLITE_DROP_COLUMN = "M402" "sqlite-drop-column" Warning SQLITE,
        why "`ALTER TABLE … DROP COLUMN` rewrites the whole table while holding the database's write lock",
        fix "leave the column unused, or drop it when writers are stopped";
}

/// The rule with this code (`M101`) or name (`index-not-concurrent`).
pub fn find(code_or_name: &str) -> Option<&'static Rule> {
    ALL.iter().copied().find(|rule| rule.code.eq_ignore_ascii_case(code_or_name) || rule.name == code_or_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_well_formed() {
        let mut codes: Vec<&str> = ALL.iter().map(|r| r.code).collect();
        let mut names: Vec<&str> = ALL.iter().map(|r| r.name).collect();
        codes.sort_unstable();
        names.sort_unstable();
        codes.dedup();
        names.dedup();
        assert_eq!((codes.len(), names.len()), (ALL.len(), ALL.len()));
        for rule in ALL {
            assert!(rule.code.len() == 4 && rule.code.starts_with('M'), "{}", rule.code);
            assert!(rule.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{}", rule.name);
        }
        assert_eq!(find("m101"), Some(&INDEX_NOT_CONCURRENT));
        assert_eq!(find("drop-column"), Some(&DROP_COLUMN));
    }
}
