//! Fuzz target: the SQL statement splitter. For any text, the pieces join
//! back to it exactly (`join(split(s)) == s`), each piece starts where the
//! previous one ended, every piece but the last ends with its `;`, and a
//! piece's SQL is a slice of it with no leading whitespace.

#![no_main]

use libfuzzer_sys::fuzz_target;
use migrate_runtime::sql::split_statements;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let statements = split_statements(&text);
    let joined: String = statements.iter().map(|s| s.text).collect();
    assert_eq!(joined, text);
    let mut offset = 0;
    for (i, statement) in statements.iter().enumerate() {
        assert_eq!(statement.offset, offset);
        assert!(!statement.text.is_empty());
        assert!(i + 1 == statements.len() || statement.text.ends_with(';'));
        let sql = statement.sql();
        assert_eq!(statement.is_empty(), sql.is_empty());
        assert!(!sql.starts_with(char::is_whitespace) || sql.starts_with(|c: char| !c.is_ascii()));
        assert!(statement.line >= 1);
        offset += statement.text.len();
    }
});
