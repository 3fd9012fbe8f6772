//! The rules about statements that fail inside the revision's transaction
//! (M001–M004), read from the statement splitter's tokens: they need only
//! words, and must also work on statements no SQL parser takes (`VACUUM`,
//! `REINDEX`, `PRAGMA`, `DO`).
//!
//! A revision runs in one transaction with its history row unless its header
//! says `transaction: none`. Some statements refuse that: PostgreSQL's
//! `CREATE INDEX CONCURRENTLY` and friends, `VACUUM` (both databases),
//! `CREATE DATABASE`, `ALTER SYSTEM`; a new enum value (`ALTER TYPE … ADD
//! VALUE`) cannot be used before its transaction commits; and `COMMIT` or
//! `BEGIN` in the SQL would end or nest the engine's own transaction;
//! SQLite's `PRAGMA foreign_keys` is a no-op there (unless it is the first
//! statement, `= OFF`, which the engine runs before the transaction).

use super::rules::{self, Rule};
use super::{place, Report};
use crate::model::revision::{Revision, Section, TransactionMode};
use crate::sql::pragmas::disables_foreign_keys;
use crate::sql::split::split_statements;

/// Reports the section's statements that cannot run in its revision's
/// transaction: none for a `transaction: none` revision.
pub(crate) fn lint(revision: &Revision, section: &Section, sql: &str, report: &mut Report<'_>) {
    if revision.transaction == TransactionMode::None {
        return;
    }
    let statements: Vec<(usize, usize, Vec<Token>)> = split_statements(sql)
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (line, column) = place(section, sql, s.sql_offset(), 1, 1);
            (line, column, tokens(s.sql()))
        })
        .collect();
    for (index, (line, column, tokens)) in statements.iter().enumerate() {
        let mut found = |rule: &'static Rule, message: String| {
            report(revision.location.at_line(*line), *column, rule, message);
        };
        if let Some(what) = non_transactional(tokens) {
            found(
                &rules::NO_TRANSACTION,
                format!("`{what}` cannot run inside a transaction; revision `{}` runs in one", revision.id),
            );
        } else if let Some(what) = transaction_control(tokens) {
            found(
                &rules::TRANSACTION_CONTROL,
                format!("`{what}` would end or nest the revision's transaction"),
            );
        } else if foreign_keys_pragma(tokens) && !(index == 0 && disables_foreign_keys(sql)) {
            found(
                &rules::FOREIGN_KEYS_PRAGMA,
                "`PRAGMA foreign_keys` has no effect inside the revision's transaction".to_string(),
            );
        } else if let Some((kind, value)) = new_enum_value(tokens) {
            // Another `ADD VALUE` of the same label (to another type) is not
            // a use of this one.
            let later = statements[index + 1..].iter().find(|(_, _, later)| {
                new_enum_value(later).is_none() && later.contains(&Token::Str(value.clone()))
            });
            if let Some((use_line, _, _)) = later {
                found(
                    &rules::ENUM_VALUE_USED,
                    format!("`ALTER TYPE {kind} ADD VALUE '{value}'` is used on line {use_line} before it is committed, which PostgreSQL refuses (unsafe use of new value)"),
                );
            }
        }
    }
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
pub(crate) enum Token {
    Word(String),
    Str(String),
    Ident(String),
    Punct(char),
}

impl Token {
    pub(crate) fn word(&self) -> Option<&str> {
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
pub(crate) fn tokens(sql: &str) -> Vec<Token> {
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
    use crate::sql::lint::{check, Settings};

    /// Lints one revision whose upgrade section is `upgrade` (starting on
    /// line 4) and returns the findings, one per line.
    fn check_upgrade(header: &str, upgrade: &str) -> String {
        let text = format!("-- revision: a1b2c3d4e5f6\n{header}\n-- migrate:upgrade\n{upgrade}\n");
        let revision = parse_revision("m/a1b2c3d4e5f6_.sql".as_ref(), &text).expect("parses");
        check(&[revision], &Settings::default()).err().map(|f| f.to_string()).unwrap_or_default()
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
            "m/a1b2c3d4e5f6_.sql:6:1: M001 `VACUUM` cannot run inside a transaction; revision `a1b2c3d4e5f6` runs in one: add `-- transaction: none` to its header so it runs statement by statement"
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
            found.starts_with(
                "m/a1b2c3d4e5f6_.sql:4:1: M004 `ALTER TYPE mood ADD VALUE 'meh'` is used on line 5"
            ),
            "{found}"
        );
        assert!(found.contains("add `-- transaction: none`"), "{found}");
        // Added but not used before the commit: fine since PostgreSQL 12.
        clean("ALTER TYPE mood ADD VALUE 'meh';\nUPDATE person SET mood = 'ok';");
        clean("ALTER TYPE public.\"Mood\" ADD VALUE 'x'; ALTER TYPE public.\"Mood\" ADD VALUE 'y';");
        // The same label added to two types is two additions, not a use.
        clean("ALTER TYPE a ADD VALUE 'archived';\nALTER TYPE b ADD VALUE 'archived';");
    }

    #[test]
    fn downgrade_sections_are_checked_and_findings_come_in_file_order() {
        let b = "-- revision: b00000000000\n-- migrate:upgrade\nVACUUM;\n-- migrate:downgrade\nDROP INDEX CONCURRENTLY i;\n";
        let a = "-- revision: a00000000000\n-- migrate:upgrade postgres\nSELECT 1;\nVACUUM;\n";
        let revisions: Vec<Revision> = [("m/b00000000000_.sql", b), ("m/a00000000000_.sql", a)]
            .iter()
            .map(|(path, text)| parse_revision(path.as_ref(), text).unwrap())
            .collect();
        let findings = check(&revisions, &Settings::default()).unwrap_err();
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
