//! How two function definitions are compared. PostgreSQL keeps a
//! function's body (`pg_proc.prosrc`) exactly as it was written, and
//! `pg_get_functiondef` gives it back that way, so a body re-indented by a
//! later revision, or by a downgrade that restores it from a copy, reads as
//! another text although PostgreSQL runs it the same. The model keeps the
//! body as written (autogenerate writes it back, and Python's indentation is
//! syntax); only the comparison folds it.

use super::normalise_sql;
use crate::sql::split::solid_tokens;
use std::borrow::Cow;

/// The languages whose bodies are SQL text, so white space and comments
/// between their tokens mean nothing. Any other language (`plpython3u`,
/// `plperl`, `c`…) is compared as written.
const SQL_LANGUAGES: [&str; 2] = ["sql", "plpgsql"];

/// Whether two normalised `CREATE OR REPLACE FUNCTION …` definitions are
/// the same function: equal, or equal once a SQL or PL/pgSQL body has its
/// runs of white space and its comments folded as [`normalise_sql`] folds
/// the rest of the text, its string literals (and nested dollar quotes)
/// kept as they are.
pub(crate) fn same_function(a: &str, b: &str) -> bool {
    a == b || comparable_function(a) == comparable_function(b)
}

/// `definition` with a SQL or PL/pgSQL dollar-quoted body folded; any
/// other definition as it is.
pub(crate) fn comparable_function(definition: &str) -> Cow<'_, str> {
    let tokens: Vec<(usize, &str)> = solid_tokens(definition).collect();
    let language = tokens.windows(2).find(|pair| pair[0].1.eq_ignore_ascii_case("LANGUAGE"));
    let language = language.map(|pair| pair[1].1.trim_matches(['\'', '"']).to_ascii_lowercase());
    if !language.is_some_and(|l| SQL_LANGUAGES.contains(&l.as_str())) {
        return Cow::Borrowed(definition);
    }
    let body =
        tokens.windows(2).find(|pair| pair[0].1.eq_ignore_ascii_case("AS") && is_dollar_quoted(pair[1].1));
    let Some(&[_, (start, text)]) = body else { return Cow::Borrowed(definition) };
    let tag = &text[..text[1..].find('$').map_or(1, |at| at + 2)];
    let inside = &text[tag.len()..text.len() - tag.len()];
    let end = start + text.len();
    Cow::Owned(format!("{}{tag}{}{tag}{}", &definition[..start], normalise_sql(inside), &definition[end..]))
}

/// `$tag$…$tag$` (or `$$…$$`), as the lexer gives a dollar-quoted string.
fn is_dollar_quoted(token: &str) -> bool {
    let Some(close) = token.get(1..).and_then(|rest| rest.find('$')) else { return false };
    let tag = &token[..close + 2];
    token.starts_with('$') && token.len() >= 2 * tag.len() && token.ends_with(tag)
}

#[cfg(test)]
mod tests {
    use super::{comparable_function, same_function};

    const HEADER: &str =
        "CREATE OR REPLACE FUNCTION f(a integer) RETURNS integer LANGUAGE plpgsql AS $function$";

    #[test]
    fn a_plpgsql_body_differing_only_in_indentation_and_comments_is_the_same() {
        let a = format!("{HEADER}\nBEGIN\n  RETURN a + 1; -- one more\nEND;\n$function$");
        let b = format!("{HEADER}\n    BEGIN\n\tRETURN a   +   1;\n    END;$function$");
        assert!(same_function(&a, &b), "{}\n{}", comparable_function(&a), comparable_function(&b));
        assert_eq!(comparable_function(&a), format!("{HEADER}BEGIN RETURN a + 1; END$function$"));
    }

    #[test]
    fn string_literals_in_a_body_and_other_languages_keep_their_blanks() {
        let a = format!("{HEADER}BEGIN RETURN length('a  b'); END$function$");
        let b = format!("{HEADER}BEGIN RETURN length('a b'); END$function$");
        assert!(!same_function(&a, &b));
        let python = |body: &str| {
            format!("CREATE OR REPLACE FUNCTION p() RETURNS integer LANGUAGE plpython3u AS $function${body}$function$")
        };
        assert!(!same_function(
            &python("\nif x:\n  return 1\nreturn 2"),
            &python("\nif x:\n  return 1\n  return 2")
        ));
    }

    #[test]
    fn a_body_change_is_still_a_change() {
        let a = format!("{HEADER}BEGIN RETURN a + 1; END$function$");
        let b = format!("{HEADER}BEGIN RETURN a + 2; END$function$");
        assert!(!same_function(&a, &b));
        let sql = "CREATE OR REPLACE FUNCTION g() RETURNS integer LANGUAGE sql AS $$ SELECT  1 $$";
        assert_eq!(
            comparable_function(sql),
            "CREATE OR REPLACE FUNCTION g() RETURNS integer LANGUAGE sql AS $$SELECT 1$$"
        );
    }
}
