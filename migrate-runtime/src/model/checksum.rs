//! Checksums of revision SQL and generation of new revision ids.
//!
//! A checksum must not change when a file is checked out on Windows or saved
//! by an editor that adds a byte-order mark, so the text is normalised first:
//! a leading UTF-8 BOM is dropped and CRLF or lone CR line endings become LF.

use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// The SHA-256 of `sql` after line-ending and BOM normalisation, as 64 hex
/// digits.
///
/// ```
/// use migrate_runtime::model::sql_checksum;
/// assert_eq!(sql_checksum("SELECT 1;\r\n"), sql_checksum("\u{feff}SELECT 1;\n"));
/// assert_ne!(sql_checksum("SELECT 1;"), sql_checksum("SELECT  1;"));
/// ```
pub fn sql_checksum(sql: &str) -> String {
    hex(&Sha256::digest(normalise(sql).as_bytes()))
}

/// Drops a leading BOM and turns every line ending into `\n`. Borrows when
/// there is nothing to change (the usual case), so a large revision file is
/// not copied once more just to be hashed or parsed.
pub(crate) fn normalise(text: &str) -> Cow<'_, str> {
    normalise_line_endings(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// Turns every line ending into `\n`, borrowing when there is none else.
pub(crate) fn normalise_line_endings(text: &str) -> Cow<'_, str> {
    if !text.contains('\r') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
}

/// A new 12-hex-digit revision id: the SHA-256 of the parents, the message,
/// the creation time and a random nonce, so two developers creating a
/// revision on the same parent at the same second still get different ids.
pub(crate) fn new_revision_id(parents: &[String], message: &str, created: &str) -> String {
    let mut nonce = [0u8; 16];
    // Without OS randomness the time-based inputs still make a usable id;
    // the nonce only guards against same-second collisions.
    let _ = getrandom::fill(&mut nonce);
    let mut hasher = Sha256::new();
    for part in [parents.join(",").as_str(), message, created] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.update(nonce);
    hex(&hasher.finalize())[..12].to_string()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_and_bom_do_not_change_the_checksum() {
        let unix = sql_checksum("CREATE TABLE t (id INT);\nDROP TABLE t;\n");
        assert_eq!(unix, sql_checksum("CREATE TABLE t (id INT);\r\nDROP TABLE t;\r\n"));
        assert_eq!(unix, sql_checksum("CREATE TABLE t (id INT);\rDROP TABLE t;\r"));
        assert_eq!(unix, sql_checksum("\u{feff}CREATE TABLE t (id INT);\nDROP TABLE t;\n"));
    }

    #[test]
    fn content_changes_change_the_checksum() {
        let base = sql_checksum("CREATE TABLE t (id INT);");
        assert_ne!(base, sql_checksum("CREATE TABLE t (id  INT);"));
        assert_ne!(base, sql_checksum("CREATE TABLE u (id INT);"));
        assert_eq!(base.len(), 64);
    }

    #[test]
    fn new_ids_are_twelve_hex_digits_and_differ() {
        let a = new_revision_id(&[], "m", "2026-11-22T20:00:00Z");
        let b = new_revision_id(&[], "m", "2026-11-22T20:00:00Z");
        assert_eq!(a.len(), 12);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }
}
