//! The rules about operations that lock, rewrite or scan tables in
//! production, or break the application version still running during a
//! deploy (M101–M402), read from sqlparser's syntax tree.
//!
//! sqlparser was chosen over `pg_query` (the PostgreSQL server's own parser
//! as a library) because it is pure Rust: `pg_query` compiles the server's C
//! parser and runs bindgen, which needs libclang on every machine that
//! builds a crate using `embed_migrations!`. sqlparser reads both dialects;
//! the few statements it does not take (`CLUSTER`, `DO`, `REINDEX`, SQLite
//! `PRAGMA … = OFF`) are skipped by these rules or read from tokens.

use super::known::Schema;
use super::rules::{self, Rule};
use super::transaction::{tokens, Token};
use super::{place, Report};
use crate::model::revision::{Dialect, Revision, Section};
use crate::sql::split::split_statements;
use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnDef, ColumnOption, DataType, Expr, Ident, ObjectName,
    ObjectNamePart, ObjectType, RenameTableNameKind, Set, Spanned, Statement, TableConstraint, Value,
};
use sqlparser::dialect::{PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Span;

/// Functions whose default PostgreSQL must compute per row, rewriting the
/// table (`now()` and `current_timestamp` are stable: computed once).
const VOLATILE: &[&str] = &[
    "clock_timestamp",
    "random",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "timeofday",
    "nextval",
    "txid_current",
    "uuidv4",
    "uuidv7",
];

/// Reports the dangerous operations of one upgrade section, and follows
/// what it creates, alters and drops in `schema`.
pub(crate) fn lint(
    revision: &Revision,
    section: &Section,
    sql: &str,
    dialect: Dialect,
    schema: &mut Schema,
    report: &mut Report<'_>,
) {
    let statements = split_statements(sql);
    let parsed: Vec<(usize, &str, Option<Statement>)> = statements
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| (s.sql_offset(), s.sql(), parse(s.sql(), dialect)))
        .collect();
    let rebuilt = rebuilt_tables(&parsed);
    let mut cx =
        Context { revision, section, sql, dialect, schema, report, offset: 0, dropped: Vec::new(), rebuilt };
    for (offset, text, statement) in &parsed {
        cx.offset = *offset;
        match statement {
            Some(statement) => cx.statement(statement),
            None => cx.unparsed(text),
        }
    }
}

/// Tables the section drops and then gives their name back to another
/// (`DROP TABLE t; ALTER TABLE new_t RENAME TO t`): rebuilt, not gone.
fn rebuilt_tables(parsed: &[(usize, &str, Option<Statement>)]) -> Vec<String> {
    let mut dropped = Vec::new();
    let mut rebuilt = Vec::new();
    for statement in parsed.iter().filter_map(|(_, _, s)| s.as_ref()) {
        match statement {
            Statement::Drop { object_type: ObjectType::Table, names, .. } => {
                dropped.extend(names.iter().map(name))
            }
            Statement::AlterTable(alter) => {
                for operation in &alter.operations {
                    if let AlterTableOperation::RenameTable {
                        table_name: RenameTableNameKind::To(new) | RenameTableNameKind::As(new),
                    } = operation
                    {
                        rebuilt.extend(dropped.iter().filter(|d| **d == name(new)).cloned());
                    }
                }
            }
            _ => {}
        }
    }
    rebuilt
}

fn parse(sql: &str, dialect: Dialect) -> Option<Statement> {
    let parsed = match dialect {
        Dialect::Postgres => Parser::new(&PostgreSqlDialect {}),
        Dialect::Sqlite => Parser::new(&SQLiteDialect {}),
    };
    // The recursion limit turns a deeply nested statement into an error
    // (the statement is then skipped), never a stack overflow: 24 levels
    // fit a 2 MiB thread stack even in a debug build, and no schema change
    // nests expressions that deep.
    let mut statements = parsed.with_recursion_limit(24).try_with_sql(sql).ok()?.parse_statements().ok()?;
    (statements.len() == 1).then(|| statements.remove(0))
}

struct Context<'a, 'r> {
    revision: &'a Revision,
    section: &'a Section,
    /// The section's SQL.
    sql: &'a str,
    dialect: Dialect,
    schema: &'a mut Schema,
    report: &'a mut Report<'r>,
    /// Where the statement being read starts in the section.
    offset: usize,
    /// Tables this section dropped so far.
    dropped: Vec<String>,
    /// Tables this section rebuilds (see [`rebuilt_tables`]).
    rebuilt: Vec<String>,
}

impl Context<'_, '_> {
    fn found(&mut self, span: Span, rule: &'static Rule, message: String) {
        let start = span.start;
        let (line, column) =
            place(self.section, self.sql, self.offset, start.line as usize, start.column as usize);
        (self.report)(self.revision.location.at_line(line), column, rule, message);
    }

    /// A finding about the whole statement, at its first character (a
    /// statement's span in the tree starts at its first named part).
    fn found_here(&mut self, rule: &'static Rule, message: String) {
        let (line, column) = place(self.section, self.sql, self.offset, 1, 1);
        (self.report)(self.revision.location.at_line(line), column, rule, message);
    }

    fn existed(&self, table: &str) -> bool {
        self.schema.existed_before(table, &self.revision.id)
    }

    fn statement(&mut self, statement: &Statement) {
        match statement {
            Statement::CreateTable(create) => {
                let table = name(&create.name);
                for column in &create.columns {
                    self.new_column_type(column);
                }
                self.primary_key(&create.columns, &create.constraints);
                let columns =
                    create.columns.iter().map(|c| (ident(&c.name), type_name(&c.data_type))).collect();
                self.schema.create_table(table, &self.revision.id, columns);
            }
            Statement::CreateIndex(index) if !index.concurrently => {
                let table = name(&index.table_name);
                if self.existed(&table) {
                    let message = format!("`CREATE INDEX` on `{table}`, which exists before this revision, blocks its writes while it builds");
                    self.found_here(&rules::INDEX_NOT_CONCURRENT, message);
                }
            }
            Statement::AlterTable(alter) => {
                let table = name(&alter.name);
                for operation in &alter.operations {
                    self.alter(&table, operation);
                }
            }
            Statement::Drop { object_type: ObjectType::Table, names, .. } => {
                for dropped in names {
                    let table = name(dropped);
                    if self.existed(&table) && !self.rebuilt.contains(&table) {
                        self.found(dropped.span(), &rules::DROP_TABLE, format!("drops table `{table}`"));
                    }
                    self.schema.drop_table(&table);
                    self.dropped.push(table);
                }
            }
            Statement::Truncate(truncate) => {
                let names: Vec<String> = truncate.table_names.iter().map(|t| name(&t.name)).collect();
                self.found_here(&rules::TRUNCATE, format!("`TRUNCATE {}`", names.join(", ")));
            }
            Statement::Lock(_) => self.found_here(
                &rules::LOCK_TABLE,
                "`LOCK TABLE` holds its lock until the revision commits".into(),
            ),
            Statement::Vacuum(vacuum) if vacuum.full => {
                self.found_here(&rules::TABLE_REWRITE, "`VACUUM FULL` rewrites the table".into())
            }
            Statement::Set(Set::SingleAssignment { variable, values, .. })
                if name(variable) == "lock_timeout" && values.iter().all(is_zero) =>
            {
                let message = "sets `lock_timeout` to 0: statements wait for their locks forever".to_string();
                self.found_here(&rules::LOCK_TIMEOUT_DISABLED, message);
            }
            _ => {}
        }
    }

    /// Statements sqlparser does not read, looked at by their words.
    fn unparsed(&mut self, sql: &str) {
        let words: Vec<Token> = tokens(sql);
        if words.first().and_then(Token::word) == Some("CLUSTER") {
            self.found_here(&rules::TABLE_REWRITE, "`CLUSTER` rewrites the table".to_string());
        }
    }

    fn alter(&mut self, table: &str, operation: &AlterTableOperation) {
        let existed = self.existed(table);
        match operation {
            AlterTableOperation::AddColumn { column_def, .. } => {
                if existed {
                    self.added_column(table, column_def);
                }
                self.new_column_type(column_def);
                self.schema.set_column(table, ident(&column_def.name), type_name(&column_def.data_type));
            }
            AlterTableOperation::AddConstraint { constraint, not_valid } => {
                self.added_constraint(table, constraint, *not_valid, existed)
            }
            AlterTableOperation::ValidateConstraint { name } => self.schema.validate(table, &ident(name)),
            AlterTableOperation::AlterColumn { column_name, op } => {
                self.altered_column(table, column_name, op, existed)
            }
            AlterTableOperation::DropColumn { column_names, .. } => {
                for column in column_names {
                    let column_name = ident(column);
                    if existed {
                        self.found(
                            column.span,
                            &rules::DROP_COLUMN,
                            format!("drops column `{table}.{column_name}`"),
                        );
                        if self.dialect == Dialect::Sqlite {
                            let message =
                                format!("drops column `{table}.{column_name}`, rewriting `{table}`");
                            self.found(column.span, &rules::SQLITE_DROP_COLUMN, message);
                        }
                    }
                    self.schema.drop_column(table, &column_name);
                }
            }
            AlterTableOperation::RenameColumn { old_column_name, new_column_name } => {
                let (old, new) = (ident(old_column_name), ident(new_column_name));
                if existed {
                    let message = format!("renames column `{table}.{old}` to `{new}`");
                    self.found(old_column_name.span, &rules::RENAME_COLUMN, message);
                }
                self.schema.rename_column(table, &old, new);
            }
            AlterTableOperation::RenameTable { table_name } => {
                let new = match table_name {
                    RenameTableNameKind::To(new) | RenameTableNameKind::As(new) => name(new),
                };
                self.renamed_table(table, new, existed);
            }
            _ => {}
        }
    }

    fn renamed_table(&mut self, table: &str, new: String, existed: bool) {
        // SQLite's way to change a table: create `new_t`, copy, drop `t`,
        // rename `new_t` to `t`. The drop and rename are one rebuild.
        if self.rebuilt.contains(&new) && self.dropped.contains(&new) && !existed {
            if self.dialect == Dialect::Sqlite {
                let message = format!("rebuilds table `{new}` (copied into `{table}`, renamed back)");
                self.found_here(&rules::SQLITE_TABLE_REBUILD, message);
            }
        } else if existed {
            self.found_here(&rules::RENAME_TABLE, format!("renames table `{table}` to `{new}`"));
        }
        self.schema.rename_table(table, new);
    }

    fn added_column(&mut self, table: &str, column: &ColumnDef) {
        let column_name = ident(&column.name);
        let has = |wanted: fn(&ColumnOption) -> bool| column.options.iter().any(|o| wanted(&o.option));
        let default = column.options.iter().find_map(|o| match &o.option {
            ColumnOption::Default(expr) => Some(expr),
            _ => None,
        });
        let generated = has(|o| matches!(o, ColumnOption::Generated { .. } | ColumnOption::Identity(_)));
        let serial = is_serial(&column.data_type);
        if has(|o| matches!(o, ColumnOption::NotNull)) && default.is_none() && !generated && !serial {
            let message = format!("adds `{table}.{column_name}` as `NOT NULL` without a default");
            self.found(column.name.span, &rules::NOT_NULL_WITHOUT_DEFAULT, message);
        }
        if let Some(function) = default.and_then(volatile_call) {
            if self.dialect == Dialect::Postgres {
                let message =
                    format!("adds `{table}.{column_name}` with the volatile default `{function}()`");
                self.found(column.name.span, &rules::VOLATILE_DEFAULT, message);
            }
        }
    }

    fn added_constraint(
        &mut self,
        table: &str,
        constraint: &TableConstraint,
        not_valid: bool,
        existed: bool,
    ) {
        match constraint {
            TableConstraint::ForeignKey(_) if existed && !not_valid => {
                let message = format!("adds a foreign key to `{table}` without `NOT VALID`");
                self.found(constraint.span(), &rules::CONSTRAINT_NOT_VALID, message);
            }
            TableConstraint::Check(check) => {
                if existed && !not_valid {
                    let message = format!("adds a check constraint to `{table}` without `NOT VALID`");
                    self.found(constraint.span(), &rules::CONSTRAINT_NOT_VALID, message);
                }
                if let (Some(name), Expr::IsNotNull(column)) = (&check.name, check.expr.as_ref()) {
                    if let Expr::Identifier(column) = column.as_ref() {
                        self.schema.add_not_null_check(table, ident(name), ident(column), !not_valid);
                    }
                }
            }
            TableConstraint::Unique(_) | TableConstraint::PrimaryKey(_) if existed => {
                let message =
                    format!("adds a unique or primary key constraint to `{table}`, building its index");
                self.found(constraint.span(), &rules::UNIQUE_BUILDS_INDEX, message);
            }
            _ => {}
        }
    }

    fn altered_column(&mut self, table: &str, column: &Ident, op: &AlterColumnOperation, existed: bool) {
        let column_name = ident(column);
        match op {
            AlterColumnOperation::SetNotNull
                if existed && !self.schema.has_validated_not_null(table, &column_name) =>
            {
                let message = format!("sets `{table}.{column_name}` `NOT NULL` without a validated check");
                self.found(column.span, &rules::SET_NOT_NULL, message);
            }
            AlterColumnOperation::SetDataType { data_type, .. } => {
                let new = type_name(data_type);
                if existed {
                    let old = self.schema.column_type(table, &column_name).map(str::to_string);
                    self.type_change(table, column, old.as_deref(), &new);
                }
                self.schema.set_column(table, column_name, new);
            }
            _ => {}
        }
    }

    fn type_change(&mut self, table: &str, column: &Ident, old: Option<&str>, new: &str) {
        let column_name = ident(column);
        let (old_length, new_length) = (old.and_then(varchar_length), varchar_length(new));
        let narrowing = match (old, old_length, new_length) {
            (_, Some(old), Some(new)) => new < old,
            (Some("text"), None, Some(_)) => true,
            _ => false,
        };
        let free = new == "text"
            || matches!(new, "varchar" | "character varying")
            || matches!((old_length, new_length), (Some(old), Some(new)) if new >= old);
        let from = old.map_or(String::new(), |old| format!(" from `{old}`"));
        if narrowing {
            let message = format!("narrows `{table}.{column_name}`{from} to `{new}`");
            self.found(column.span, &rules::VARCHAR_NARROWING, message);
        } else if !free {
            let message = format!("changes the type of `{table}.{column_name}`{from} to `{new}`");
            self.found(column.span, &rules::TYPE_REWRITE, message);
        }
    }

    fn new_column_type(&mut self, column: &ColumnDef) {
        if self.dialect == Dialect::Postgres && is_serial(&column.data_type) {
            let message = format!("`{}` is `{}`", ident(&column.name), type_name(&column.data_type));
            self.found(column.name.span, &rules::PREFER_IDENTITY, message);
        }
    }

    fn primary_key(&mut self, columns: &[ColumnDef], constraints: &[TableConstraint]) {
        if self.dialect != Dialect::Postgres {
            return;
        }
        let inline = columns
            .iter()
            .filter(|c| c.options.iter().any(|o| matches!(o.option, ColumnOption::PrimaryKey(_))));
        let declared: Vec<&ColumnDef> = constraints
            .iter()
            .filter_map(|c| match c {
                TableConstraint::PrimaryKey(key) if key.columns.len() == 1 => {
                    Some(key.columns[0].to_string())
                }
                _ => None,
            })
            .filter_map(|wanted| columns.iter().find(|c| ident(&c.name) == unquote(&wanted)))
            .collect();
        for column in inline.chain(declared) {
            let kind = type_name(&column.data_type);
            if matches!(
                kind.as_str(),
                "int" | "integer" | "int4" | "serial" | "serial4" | "smallint" | "int2" | "smallserial"
            ) {
                let message = format!("primary key `{}` is `{kind}`", ident(&column.name));
                self.found(column.name.span, &rules::INT_PRIMARY_KEY, message);
            }
        }
    }
}

/// A table's name as the database folds it: the last part (the schema is
/// left out: a chain rarely uses two of the same name), lower-cased unless
/// quoted.
fn name(object: &ObjectName) -> String {
    match object.0.last() {
        Some(ObjectNamePart::Identifier(part)) => ident(part),
        _ => object.to_string(),
    }
}

fn ident(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

fn unquote(text: &str) -> String {
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(quoted) => quoted.to_string(),
        None => text.to_lowercase(),
    }
}

fn type_name(data_type: &DataType) -> String {
    data_type.to_string().to_lowercase()
}

fn is_serial(data_type: &DataType) -> bool {
    matches!(
        type_name(data_type).as_str(),
        "serial" | "bigserial" | "smallserial" | "serial4" | "serial8" | "serial2"
    )
}

/// `n` of `varchar(n)` / `character varying(n)`.
fn varchar_length(kind: &str) -> Option<u64> {
    let inner = kind.strip_prefix("varchar(").or_else(|| kind.strip_prefix("character varying("))?;
    inner.strip_suffix(')')?.trim().parse().ok()
}

/// The first volatile function the default calls.
fn volatile_call(default: &Expr) -> Option<String> {
    let words = tokens(&default.to_string());
    words.windows(2).find_map(|pair| match pair {
        [Token::Word(word), Token::Punct('(')] => {
            let function = word.to_lowercase();
            VOLATILE.contains(&function.as_str()).then_some(function)
        }
        _ => None,
    })
}

fn is_zero(value: &Expr) -> bool {
    let text = match value {
        Expr::Value(value) => match &value.value {
            Value::Number(number, _) => number.clone(),
            Value::SingleQuotedString(text) => text.clone(),
            _ => return false,
        },
        _ => return false,
    };
    matches!(text.trim(), "0" | "0s" | "0ms" | "0min")
}

#[cfg(test)]
mod tests {
    use crate::chain::parse::parse_revision;
    use crate::model::revision::{Dialect, Revision};
    use crate::sql::lint::{check, Settings};

    /// A chain of two revisions: `a1…` creates `existing (id, name)`, then
    /// `b2…`'s upgrade is `sql` (starting on line 3). Returns `code line:col`
    /// of every finding.
    fn lint(dialect: Dialect, sql: &str) -> Vec<String> {
        lint_with(dialect, "", sql)
    }

    fn lint_with(dialect: Dialect, header: &str, sql: &str) -> Vec<String> {
        let first = "-- revision: a10000000000\n-- migrate:upgrade\nCREATE TABLE existing (id bigint PRIMARY KEY, name varchar(20), note text, n int);\n";
        let second = format!(
            "-- revision: b20000000000\n-- revises: a10000000000\n{header}-- migrate:upgrade\n{sql}\n"
        );
        let revisions: Vec<Revision> =
            [("m/a10000000000_.sql", first.to_string()), ("m/b20000000000_.sql", second)]
                .iter()
                .map(|(path, text)| parse_revision(path.as_ref(), text).expect("parses"))
                .collect();
        let findings = match check(&revisions, &Settings::for_dialect(dialect)) {
            Ok(findings) | Err(findings) => findings,
        };
        findings
            .0
            .iter()
            .map(|f| format!("{} {}:{}", f.rule.code, f.at.line.unwrap_or(0), f.column))
            .collect()
    }

    fn codes(dialect: Dialect, sql: &str) -> Vec<String> {
        lint(dialect, sql).into_iter().map(|f| f.split(' ').next().unwrap_or_default().to_string()).collect()
    }

    #[track_caller]
    fn trips(dialect: Dialect, sql: &str, code: &str, safe: &str) {
        let found = codes(dialect, sql);
        assert!(found.contains(&code.to_string()), "{sql:?} should trip {code}, found {found:?}");
        let found = codes(dialect, safe);
        assert!(!found.contains(&code.to_string()), "{safe:?} should not trip {code}, found {found:?}");
    }

    const PG: Dialect = Dialect::Postgres;
    const LITE: Dialect = Dialect::Sqlite;

    #[test]
    fn each_postgres_rule_trips_and_its_safe_rewrite_does_not() {
        trips(
            PG,
            "CREATE INDEX i ON existing (name);",
            "M101",
            "CREATE INDEX CONCURRENTLY i ON existing (name);",
        );
        trips(
            PG,
            "ALTER TABLE existing ADD COLUMN c int NOT NULL;",
            "M102",
            "ALTER TABLE existing ADD COLUMN c int NOT NULL DEFAULT 0;",
        );
        trips(
            PG,
            "ALTER TABLE existing ADD COLUMN c timestamptz DEFAULT clock_timestamp();",
            "M103",
            "ALTER TABLE existing ADD COLUMN c timestamptz DEFAULT now();",
        );
        trips(
            PG,
            "ALTER TABLE existing ALTER COLUMN n TYPE bigint;",
            "M104",
            "ALTER TABLE existing ALTER COLUMN name TYPE varchar(40);",
        );
        trips(
            PG,
            "ALTER TABLE existing ADD CONSTRAINT fk FOREIGN KEY (n) REFERENCES existing (id);",
            "M105",
            "ALTER TABLE existing ADD CONSTRAINT fk FOREIGN KEY (n) REFERENCES existing (id) NOT VALID;",
        );
        trips(
            PG,
            "ALTER TABLE existing ADD CONSTRAINT ck CHECK (n > 0);",
            "M105",
            "ALTER TABLE existing ADD CONSTRAINT ck CHECK (n > 0) NOT VALID;",
        );
        trips(
            PG,
            "ALTER TABLE existing ALTER COLUMN note SET NOT NULL;",
            "M106",
            "ALTER TABLE existing ADD CONSTRAINT note_nn CHECK (note IS NOT NULL) NOT VALID;",
        );
        trips(PG, "TRUNCATE existing;", "M107", "DELETE FROM existing WHERE id < 1000;");
        trips(PG, "LOCK TABLE existing IN ACCESS EXCLUSIVE MODE;", "M108", "SELECT 1;");
        trips(PG, "VACUUM FULL existing;", "M109", "VACUUM existing;");
        trips(PG, "CLUSTER existing USING existing_pkey;", "M109", "ANALYZE existing;");
        trips(
            PG,
            "ALTER TABLE existing ADD CONSTRAINT u UNIQUE (name);",
            "M110",
            "ALTER TABLE existing ADD CONSTRAINT u UNIQUE USING INDEX existing_name_key;",
        );
        trips(
            PG,
            "ALTER TABLE existing DROP COLUMN note;",
            "M201",
            "ALTER TABLE existing ADD COLUMN other text;",
        );
        trips(PG, "DROP TABLE existing;", "M202", "CREATE TABLE scratch (id bigint); DROP TABLE scratch;");
        trips(
            PG,
            "ALTER TABLE existing RENAME COLUMN note TO remark;",
            "M203",
            "ALTER TABLE existing ADD COLUMN remark text;",
        );
        trips(
            PG,
            "ALTER TABLE existing RENAME TO renamed;",
            "M204",
            "CREATE VIEW renamed AS SELECT * FROM existing;",
        );
        trips(
            PG,
            "CREATE TABLE t (id bigserial PRIMARY KEY);",
            "M301",
            "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
        );
        trips(
            PG,
            "ALTER TABLE existing ALTER COLUMN name TYPE varchar(10);",
            "M302",
            "ALTER TABLE existing ADD CONSTRAINT name_len CHECK (length(name) <= 10) NOT VALID;",
        );
        trips(
            PG,
            "ALTER TABLE existing ALTER COLUMN note TYPE varchar(10);",
            "M302",
            "ALTER TABLE existing ALTER COLUMN note TYPE text;",
        );
        trips(
            PG,
            "CREATE TABLE t (id integer PRIMARY KEY);",
            "M303",
            "CREATE TABLE t (id bigint PRIMARY KEY);",
        );
        trips(
            PG,
            "CREATE TABLE t (id int, PRIMARY KEY (id));",
            "M303",
            "CREATE TABLE t (id bigint, PRIMARY KEY (id));",
        );
        trips(PG, "SET lock_timeout = 0;", "M304", "SET lock_timeout = '5s';");
    }

    #[test]
    fn a_validated_not_null_check_makes_set_not_null_safe() {
        let first = "ALTER TABLE existing ADD CONSTRAINT note_nn CHECK (note IS NOT NULL) NOT VALID;\nALTER TABLE existing VALIDATE CONSTRAINT note_nn;\nALTER TABLE existing ALTER COLUMN note SET NOT NULL;";
        assert!(!codes(PG, first).contains(&"M106".to_string()), "{:?}", codes(PG, first));
        let unvalidated = "ALTER TABLE existing ADD CONSTRAINT note_nn CHECK (note IS NOT NULL) NOT VALID;\nALTER TABLE existing ALTER COLUMN note SET NOT NULL;";
        assert!(codes(PG, unvalidated).contains(&"M106".to_string()));
    }

    #[test]
    fn a_table_created_in_the_same_revision_trips_no_lock_rule() {
        let sql =
            "CREATE TABLE fresh (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text, n bigint);\n\
                   CREATE INDEX fresh_name ON fresh (name);\n\
                   ALTER TABLE fresh ADD CONSTRAINT fk FOREIGN KEY (n) REFERENCES existing (id);\n\
                   ALTER TABLE fresh ADD COLUMN c int NOT NULL;\n\
                   ALTER TABLE fresh ALTER COLUMN name SET NOT NULL;\n\
                   ALTER TABLE fresh ADD CONSTRAINT u UNIQUE (name);\n\
                   ALTER TABLE fresh ALTER COLUMN n TYPE numeric;";
        assert_eq!(lint(PG, sql), Vec::<String>::new());
    }

    #[test]
    fn findings_point_at_line_and_column() {
        // `b2…`'s upgrade starts on line 4 of its file.
        let found = lint(PG, "SELECT 1;\n  CREATE INDEX i ON existing (name);\nALTER TABLE existing\n    ADD COLUMN c int NOT NULL;");
        assert_eq!(found, ["M101 5:3", "M102 7:16"]);
    }

    #[test]
    fn sqlite_rules_and_a_rebuild_is_not_a_drop() {
        trips(
            LITE,
            "ALTER TABLE existing ADD COLUMN c int NOT NULL;",
            "M102",
            "ALTER TABLE existing ADD COLUMN c int NOT NULL DEFAULT 0;",
        );
        trips(LITE, "ALTER TABLE existing DROP COLUMN note;", "M402", "SELECT 1;");
        let rebuild = "CREATE TABLE new_existing (id INTEGER PRIMARY KEY, name TEXT);\n\
                       INSERT INTO new_existing SELECT id, name FROM existing;\n\
                       DROP TABLE existing;\n\
                       ALTER TABLE new_existing RENAME TO existing;";
        assert_eq!(codes(LITE, rebuild), ["M401"]);
        // The PostgreSQL-only rules stay quiet on SQLite.
        assert_eq!(
            codes(LITE, "CREATE INDEX i ON existing (name); TRUNCATE existing;"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn suppressions_need_a_reason_and_a_known_rule() {
        let sql = "CREATE INDEX i ON existing (name);";
        let allowed =
            lint_with(PG, "-- lint: allow M101 \"existing is empty until the feature ships\"\n", sql);
        assert_eq!(allowed, Vec::<String>::new());
        let by_name = lint_with(PG, "-- lint: allow index-not-concurrent \"small table\"\n", sql);
        assert_eq!(by_name, Vec::<String>::new());
        let no_reason = lint_with(PG, "-- lint: allow M101\n", sql);
        assert_eq!(no_reason, ["M000 3:1"], "the suppression is the finding, the rule stays allowed");
        let unknown = lint_with(PG, "-- lint: allow M999 \"why\"\n", sql);
        assert_eq!(unknown, ["M000 3:1", "M101 5:1"]);
    }

    #[test]
    fn severities_can_be_changed_per_package() {
        let first = "-- revision: a10000000000\n-- migrate:upgrade\nCREATE TABLE t (id serial PRIMARY KEY);\nCREATE INDEX i ON u (c);\n";
        let revision = parse_revision("m/a10000000000_.sql".as_ref(), first).expect("parses");
        let levels = [
            ("M301".to_string(), crate::sql::lint::Severity::Off),
            ("index-not-concurrent".to_string(), crate::sql::lint::Severity::Warning),
        ];
        let settings = Settings::for_dialect(PG).configure(&levels).expect("known rules");
        let found = check(std::slice::from_ref(&revision), &settings).expect("no error left");
        let codes: Vec<_> = found.0.iter().map(|f| (f.rule.code, f.severity.as_str())).collect();
        assert_eq!(codes, [("M303", "warning"), ("M101", "warning")]);
        let unknown = [("M998".to_string(), crate::sql::lint::Severity::Off)];
        assert!(Settings::for_dialect(PG)
            .configure(&unknown)
            .unwrap_err()
            .to_string()
            .contains("`M998` is not a lint rule"));
        // The workspace's entries come first and the package's last: the
        // package's wins whichever way each names the rule.
        let both = [
            ("prefer-identity".to_string(), crate::sql::lint::Severity::Off),
            ("M301".to_string(), crate::sql::lint::Severity::Error),
        ];
        let settings = Settings::for_dialect(PG).configure(&both).expect("known rules");
        assert_eq!(settings.severity(&super::rules::PREFER_IDENTITY), crate::sql::lint::Severity::Error);
    }

    #[test]
    fn statements_the_parser_cannot_read_are_skipped() {
        let sql = "DO $$ BEGIN PERFORM 1; END $$;\nCREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql;\nSELECT 1;";
        assert_eq!(lint(PG, sql), Vec::<String>::new());
        // Nesting far past the parser's recursion limit is skipped, on the
        // test thread's 2 MiB stack, in a debug build.
        for nested in [
            format!("SELECT {}1{};", "(".repeat(5000), ")".repeat(5000)),
            format!("CREATE TABLE t (c int CHECK ({}c{} > 0));", "(".repeat(500), ")".repeat(500)),
        ] {
            assert_eq!(lint(PG, &nested), Vec::<String>::new());
        }
    }
}
