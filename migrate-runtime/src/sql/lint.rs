//! Statements that cannot run inside a transaction, found in revisions that
//! run in one.
//!
//! A revision runs in one transaction with its history row unless its header
//! says `transaction: none`. Some statements refuse that: PostgreSQL's
//! `CREATE INDEX CONCURRENTLY` and friends, `VACUUM` (both databases),
//! `CREATE DATABASE`, `ALTER SYSTEM`; a new enum value (`ALTER TYPE … ADD
//! VALUE`) cannot be used before its transaction commits; and `COMMIT` or
//! `BEGIN` in the SQL would end or nest the engine's own transaction;
//! SQLite's `PRAGMA foreign_keys` is a no-op there (unless it is the first
//! statement, `= OFF`, which the engine runs before the transaction). Each
//! would fail at apply time, or worse, half-apply. This module finds them
//! beforehand, for `cargo migrate check` and `embed_migrations!`: a pure
//! function of parsed revisions, every finding at once, each with its file,
//! line and fix.
//!
//! ```
//! use migrate_runtime::{chain::parse_revision, sql::lint};
//! let text = "-- revision: a1b2c3d4e5f6\n-- migrate:upgrade\nCREATE INDEX CONCURRENTLY i ON t (c);\n";
//! let revision = parse_revision("migrations/a1b2c3d4e5f6_.sql".as_ref(), text).unwrap();
//! let findings = lint::check(&[revision]).unwrap_err();
//! assert!(findings.to_string().starts_with("migrations/a1b2c3d4e5f6_.sql:3: `CREATE INDEX CONCURRENTLY` cannot run inside a transaction"));
//! assert!(findings.to_string().contains("add `-- transaction: none`"));
//! ```

use crate::model::location::Location;
use crate::model::revision::{Revision, Section, TransactionMode};
use crate::sql::pragmas::disables_foreign_keys;
use crate::sql::split::split_statements;
use std::fmt;

/// One statement that cannot run where its revision runs it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {problem}; revision `{revision}` runs in a transaction: {fix}")]
pub struct Finding {
    /// The statement's first line.
    pub at: Location,
    pub revision: String,
    /// What is wrong, e.g. "`VACUUM` cannot run inside a transaction".
    pub problem: String,
    /// What to do about it.
    pub fix: &'static str,
}

/// Every finding of one check, in file and line order. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Findings(pub Vec<Finding>);

impl fmt::Display for Findings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::model::error::write_lines(f, &self.0)
    }
}

impl std::error::Error for Findings {}

const NO_TRANSACTION: &str = "add `-- transaction: none` to its header so it runs statement by statement";
const FIRST_STATEMENT: &str = "to rebuild tables other tables reference, make `PRAGMA foreign_keys = OFF;` the section's first statement: cargo-migrate then turns foreign keys off before the transaction, checks them (`PRAGMA foreign_key_check`) before it commits, and turns them back on";
const REMOVE: &str = "remove it (the engine commits each revision together with its history row), or add `-- transaction: none` to manage transactions yourself";

/// Checks revisions (a package's chain, in any order) and reports every
/// finding, or `Ok` when there is none.
pub fn check(revisions: &[Revision]) -> Result<(), Findings> {
    let mut findings: Vec<Finding> = revisions.iter().flat_map(lint_revision).collect();
    if findings.is_empty() {
        return Ok(());
    }
    findings.sort_by(|a, b| a.at.cmp(&b.at));
    Err(Findings(findings))
}

/// The findings of one revision: none for a `transaction: none` one.
/// Downgrade sections run in a transaction too and are checked as well.
pub fn lint_revision(revision: &Revision) -> Vec<Finding> {
    if revision.transaction == TransactionMode::None {
        return Vec::new();
    }
    let downgrade = revision.downgrade.iter().flatten();
    revision.upgrade.iter().chain(downgrade).flat_map(|section| lint_section(revision, section)).collect()
}

fn lint_section(revision: &Revision, section: &Section) -> Vec<Finding> {
    let statements: Vec<(usize, Vec<Token>)> = split_statements(&section.sql)
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| (section.first_line + s.line - 1, tokens(s.sql())))
        .collect();
    let mut findings = Vec::new();
    for (index, (line, tokens)) in statements.iter().enumerate() {
        let finding = |problem: String, fix| Finding {
            at: revision.location.at_line(*line),
            revision: revision.id.clone(),
            problem,
            fix,
        };
        if let Some(what) = non_transactional(tokens) {
            findings.push(finding(format!("`{what}` cannot run inside a transaction"), NO_TRANSACTION));
        } else if let Some(what) = transaction_control(tokens) {
            findings.push(finding(format!("`{what}` would end or nest the revision's transaction"), REMOVE));
        } else if foreign_keys_pragma(tokens) && !(index == 0 && disables_foreign_keys(section)) {
            let problem = "`PRAGMA foreign_keys` has no effect inside the revision's transaction".to_string();
            findings.push(finding(problem, FIRST_STATEMENT));
        } else if let Some((kind, value)) = new_enum_value(tokens) {
            let later =
                statements[index + 1..].iter().find(|(_, later)| later.contains(&Token::Str(value.clone())));
            if let Some((use_line, _)) = later {
                let problem = format!(
                    "`ALTER TYPE {kind} ADD VALUE '{value}'` is used on line {use_line} before it is committed, which PostgreSQL refuses (unsafe use of new value)"
                );
                findings.push(finding(problem, NO_TRANSACTION));
            }
        }
    }
    findings
}

/// The statement's name when it is one that refuses a transaction block.
fn non_transactional(tokens: &[Token]) -> Option<String> {
    let words: Vec<&str> = tokens.iter().filter_map(Token::word).collect();
    let has = |word: &str| words.contains(&word);
    match words.as_slice() {
        ["CREATE", "INDEX", "CONCURRENTLY", ..] | ["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY", ..] => {
            Some("CREATE INDEX CONCURRENTLY")
        }
        ["DROP", "INDEX", "CONCURRENTLY", ..] => Some("DROP INDEX CONCURRENTLY"),
        ["REINDEX", ..] if has("CONCURRENTLY") => Some("REINDEX CONCURRENTLY"),
        ["REINDEX", ..] if has("DATABASE") || has("SYSTEM") => Some("REINDEX DATABASE"),
        ["VACUUM", ..] => Some("VACUUM"),
        [verb @ ("CREATE" | "DROP"), object @ ("DATABASE" | "TABLESPACE"), ..] => {
            return Some(format!("{verb} {object}"))
        }
        ["ALTER", "SYSTEM", ..] => Some("ALTER SYSTEM"),
        ["ALTER", "TABLE", ..] if has("DETACH") && has("PARTITION") && has("CONCURRENTLY") => {
            Some("ALTER TABLE … DETACH PARTITION … CONCURRENTLY")
        }
        _ => None,
    }
    .map(str::to_string)
}

/// `PRAGMA foreign_keys` and `PRAGMA foreign_keys = …`.
fn foreign_keys_pragma(tokens: &[Token]) -> bool {
    matches!(tokens, [first, second, ..] if first.word() == Some("PRAGMA") && second.word() == Some("FOREIGN_KEYS"))
}

/// `BEGIN`, `COMMIT` and the like at the top level of a revision.
fn transaction_control(tokens: &[Token]) -> Option<&'static str> {
    match tokens.iter().filter_map(Token::word).collect::<Vec<_>>().as_slice() {
        ["BEGIN", ..] => Some("BEGIN"),
        ["START", "TRANSACTION", ..] => Some("START TRANSACTION"),
        ["COMMIT", ..] | ["END", ..] => Some("COMMIT"),
        ["ROLLBACK", rest @ ..] if !rest.contains(&"TO") => Some("ROLLBACK"),
        _ => None,
    }
}

/// `ALTER TYPE name ADD VALUE [IF NOT EXISTS] 'value' …`: the type's name
/// as written and the new value.
fn new_enum_value(tokens: &[Token]) -> Option<(String, String)> {
    let [Token::Word(alter), Token::Word(kind), rest @ ..] = tokens else { return None };
    if alter != "ALTER" || kind != "TYPE" {
        return None;
    }
    let add =
        rest.windows(2).position(|w| w[0] == Token::word_of("ADD") && w[1] == Token::word_of("VALUE"))?;
    let name: Vec<String> = rest[..add].iter().map(Token::text).collect();
    let value = rest[add + 2..].iter().find_map(|t| match t {
        Token::Str(value) => Some(value.clone()),
        _ => None,
    })?;
    Some((name.join(""), value))
}

/// What the checks look at: words (upper-cased), string literals (their
/// value) and quoted identifiers, with comments and other strings left out.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Str(String),
    Ident(String),
    Punct(char),
}

impl Token {
    fn word(&self) -> Option<&str> {
        match self {
            Token::Word(word) => Some(word),
            _ => None,
        }
    }

    fn word_of(word: &str) -> Token {
        Token::Word(word.to_string())
    }

    fn text(&self) -> String {
        match self {
            Token::Word(word) => word.to_lowercase(),
            Token::Str(value) => format!("'{value}'"),
            Token::Ident(name) => format!("\"{name}\""),
            Token::Punct(c) => c.to_string(),
        }
    }
}

/// The statement's tokens as the checks see them, read by the statement
/// splitter's lexer (`split::solid_tokens`): comments left out, a string or
/// quoted name one token, a dollar-quoted body not looked into.
fn tokens(sql: &str) -> Vec<Token> {
    crate::sql::split::solid_tokens(sql).filter_map(|(_, text)| token(text)).collect()
}

fn token(text: &str) -> Option<Token> {
    let first = text.chars().next()?;
    Some(match first {
        '\'' => Token::Str(unquoted(text, '\'')),
        '"' => Token::Ident(unquoted(text, '"')),
        'e' | 'E' if text[1..].starts_with('\'') => Token::Str(unquoted(&text[1..], '\'')),
        '$' => return None,
        c if c.is_alphanumeric() || c == '_' => Token::Word(text.to_uppercase()),
        c => Token::Punct(c),
    })
}

/// `'it''s'` → `it's`; an unterminated one runs to the end.
fn unquoted(text: &str, quote: char) -> String {
    let inner = text.strip_prefix(quote).unwrap_or(text);
    let inner = inner.strip_suffix(quote).unwrap_or(inner);
    inner.replace(&format!("{quote}{quote}"), &quote.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::parse::parse_revision;

    /// Lints one revision whose upgrade section is `upgrade` (starting on
    /// line 4) and returns the findings, one per line.
    fn check_upgrade(header: &str, upgrade: &str) -> String {
        let text = format!("-- revision: a1b2c3d4e5f6\n{header}\n-- migrate:upgrade\n{upgrade}\n");
        let revision = parse_revision("m/a1b2c3d4e5f6_.sql".as_ref(), &text).expect("parses");
        check(&[revision]).err().map(|f| f.to_string()).unwrap_or_default()
    }

    #[track_caller]
    fn flagged(upgrade: &str, expected: &str) {
        let found = check_upgrade("-- message: m", upgrade);
        assert!(found.contains(expected), "{upgrade:?} should be flagged with {expected:?}, got {found:?}");
        assert!(found.starts_with("m/a1b2c3d4e5f6_.sql:"), "{found}");
        let none = check_upgrade("-- transaction: none", upgrade);
        assert_eq!(none, "", "a `transaction: none` revision is not flagged");
    }

    #[track_caller]
    fn clean(upgrade: &str) {
        assert_eq!(check_upgrade("-- message: m", upgrade), "", "{upgrade:?} should not be flagged");
    }

    #[test]
    fn statements_that_refuse_a_transaction_are_flagged_with_file_line_and_fix() {
        flagged("CREATE INDEX CONCURRENTLY i ON t (c);", "`CREATE INDEX CONCURRENTLY` cannot run");
        flagged("create unique index concurrently if not exists i on t (c);", "CREATE INDEX CONCURRENTLY");
        flagged("DROP INDEX CONCURRENTLY IF EXISTS i;", "`DROP INDEX CONCURRENTLY`");
        flagged("REINDEX INDEX CONCURRENTLY i;", "`REINDEX CONCURRENTLY`");
        flagged("REINDEX (VERBOSE, CONCURRENTLY) TABLE t;", "`REINDEX CONCURRENTLY`");
        flagged("REINDEX DATABASE app;", "`REINDEX DATABASE`");
        flagged("VACUUM;", "`VACUUM` cannot run inside a transaction");
        flagged("vacuum (analyze) t;", "`VACUUM`");
        flagged("CREATE DATABASE other;", "CREATE DATABASE");
        flagged("DROP DATABASE IF EXISTS other;", "DROP DATABASE");
        flagged("ALTER SYSTEM SET work_mem = '64MB';", "`ALTER SYSTEM`");
        flagged("ALTER TABLE m DETACH PARTITION m_2020 CONCURRENTLY;", "DETACH PARTITION");
        flagged("COMMIT;", "`COMMIT` would end or nest");
        flagged("BEGIN; SELECT 1;", "`BEGIN`");
        flagged("ROLLBACK;", "`ROLLBACK`");
        flagged("DROP TABLE p;\nPRAGMA foreign_keys = OFF;", "`PRAGMA foreign_keys` has no effect");
        flagged(
            "PRAGMA foreign_keys = ON;",
            "make `PRAGMA foreign_keys = OFF;` the section's first statement",
        );
    }

    #[test]
    fn foreign_keys_off_as_the_first_statement_is_honoured() {
        clean("-- rebuild p\nPRAGMA foreign_keys = OFF;\nDROP TABLE p;");
        clean("pragma foreign_keys=0;");
    }

    #[test]
    fn the_message_names_line_problem_and_fix() {
        let found = check_upgrade("-- message: m", "CREATE TABLE t (c INT);\n\nVACUUM;");
        assert_eq!(
            found,
            "m/a1b2c3d4e5f6_.sql:6: `VACUUM` cannot run inside a transaction; revision `a1b2c3d4e5f6` runs in a transaction: add `-- transaction: none` to its header so it runs statement by statement"
        );
    }

    #[test]
    fn look_alikes_are_not_flagged() {
        clean("CREATE INDEX i ON t (c);");
        clean("CREATE TABLE concurrently (vacuum INT);");
        clean("-- VACUUM;\n/* CREATE INDEX CONCURRENTLY */ SELECT 'VACUUM; COMMIT';");
        clean("CREATE FUNCTION f() RETURNS void AS $$ BEGIN COMMIT; END $$ LANGUAGE plpgsql;");
        clean("CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;");
        clean("SAVEPOINT a; ROLLBACK TO SAVEPOINT a; RELEASE a;");
        clean("REINDEX TABLE t;");
        clean("SELECT \"VACUUM\" FROM t;");
    }

    #[test]
    fn a_new_enum_value_used_in_the_same_revision_is_flagged() {
        let sql =
            "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh' AFTER 'ok';\nUPDATE person SET mood = 'meh';";
        let found = check_upgrade("-- message: m", sql);
        assert!(
            found.starts_with("m/a1b2c3d4e5f6_.sql:4: `ALTER TYPE mood ADD VALUE 'meh'` is used on line 5"),
            "{found}"
        );
        assert!(found.contains("add `-- transaction: none`"), "{found}");
        // Added but not used before the commit: fine since PostgreSQL 12.
        clean("ALTER TYPE mood ADD VALUE 'meh';\nUPDATE person SET mood = 'ok';");
        clean("ALTER TYPE public.\"Mood\" ADD VALUE 'x'; ALTER TYPE public.\"Mood\" ADD VALUE 'y';");
    }

    #[test]
    fn downgrade_sections_are_checked_and_findings_come_in_file_order() {
        let b = "-- revision: b00000000000\n-- migrate:upgrade\nVACUUM;\n-- migrate:downgrade\nDROP INDEX CONCURRENTLY i;\n";
        let a = "-- revision: a00000000000\n-- migrate:upgrade postgres\nSELECT 1;\nVACUUM;\n";
        let revisions: Vec<Revision> = [("m/b00000000000_.sql", b), ("m/a00000000000_.sql", a)]
            .iter()
            .map(|(path, text)| parse_revision(path.as_ref(), text).unwrap())
            .collect();
        let findings = check(&revisions).unwrap_err();
        let at: Vec<String> = findings.0.iter().map(|f| f.at.to_string()).collect();
        assert_eq!(at, ["m/a00000000000_.sql:4", "m/b00000000000_.sql:3", "m/b00000000000_.sql:5"]);
    }

    #[test]
    fn odd_input_never_panics() {
        for sql in [
            "'",
            "\"",
            "$",
            "$a",
            "$$",
            "$1$",
            "/*",
            "/* /* */",
            "--",
            "é$é$",
            "ALTER TYPE",
            "ALTER TYPE x ADD VALUE",
        ] {
            let _ = tokens(sql);
            let _ = check_upgrade("-- message: m", sql);
        }
    }
}
