//! What a section's leading pragma asks of the engine that runs it.
//!
//! `PRAGMA foreign_keys = OFF` is a no-op inside a transaction, yet SQLite's
//! table rebuild of a table other tables reference needs it; so the SQLite
//! engine (and the offline script) honour it when it leads a section:
//! foreign keys off before the revision's transaction, `PRAGMA
//! foreign_key_check` before its commit, and enforcement back on after it.

use crate::model::revision::{Revision, TransactionMode};
use crate::sql::split::solid_tokens;

/// Whether a section's SQL, `sql`, starts with `PRAGMA foreign_keys = OFF`.
pub fn disables_foreign_keys(sql: &str) -> bool {
    // Asked for every revision an engine applies: read only the first few
    // tokens, not the whole section.
    let mut tokens = solid_tokens(sql).map(|(_, token)| token).skip_while(|t| *t == ";");
    let first: Vec<&str> = tokens.by_ref().take(4).collect();
    let off = |value: &str| ["off", "0", "false", "no", "'off'", "\"off\""].contains(&value);
    let pragma = matches!(first.as_slice(), [pragma, name, "=", value]
        if pragma.eq_ignore_ascii_case("pragma")
            && name.eq_ignore_ascii_case("foreign_keys")
            && off(&value.to_ascii_lowercase()));
    pragma && tokens.next().is_none_or(|t| t == ";")
}

/// Whether SQLite runs a section of `revision` whose SQL is `sql` with
/// foreign keys off: it asks for it (`disables_foreign_keys`) and runs in
/// a transaction (a `transaction: none` revision runs the pragma itself).
pub fn turns_foreign_keys_off(revision: &Revision, sql: &str) -> bool {
    revision.transaction == TransactionMode::Single && disables_foreign_keys(sql)
}

#[cfg(test)]
mod tests {
    use super::disables_foreign_keys;

    #[test]
    fn only_a_leading_pragma_disables_foreign_keys() {
        assert!(disables_foreign_keys("-- rebuild p\npragma Foreign_Keys=off;\nDROP TABLE p;"));
        assert!(!disables_foreign_keys("DROP TABLE p; PRAGMA foreign_keys = OFF;"));
        assert!(!disables_foreign_keys("PRAGMA foreign_keys = OFF DROP TABLE p;"));
    }
}
