//! Writing revision files: new revisions, merges, new slugs and new parents.
//! Functions here return text and names; the caller writes the files.

use crate::checksum::new_revision_id;
use crate::revision::{Dependency, TransactionMode};
use std::time::SystemTime;

/// What a new revision file says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRevision {
    pub id: String,
    pub parents: Vec<String>,
    pub depends_on: Vec<Dependency>,
    pub message: String,
    pub created: String,
    pub branches: Vec<String>,
    pub transaction: TransactionMode,
}

impl NewRevision {
    /// A revision on `parents` with a fresh id and the current time.
    pub fn new(parents: Vec<String>, message: &str) -> NewRevision {
        let created = now();
        NewRevision {
            id: new_revision_id(&parents, message, &created),
            parents,
            message: message.trim().to_string(),
            created,
            ..NewRevision::default()
        }
    }

    /// `<id>_<slug>.sql`.
    pub fn file_name(&self) -> String {
        file_name(&self.id, &self.message)
    }

    /// The file's text: the header and empty sections to fill in.
    ///
    /// ```
    /// use migrate_runtime::scaffold::NewRevision;
    /// let new = NewRevision::new(vec![], "create users");
    /// let parsed = migrate_runtime::parse::parse_revision(new.file_name().as_ref(), &new.render()).unwrap();
    /// assert_eq!(parsed.id, new.id);
    /// assert_eq!(parsed.message, "create users");
    /// ```
    pub fn render(&self) -> String {
        let mut text = format!("-- revision: {}\n-- revises: {}\n", self.id, self.parents.join(", "));
        if !self.depends_on.is_empty() {
            let list: Vec<String> = self.depends_on.iter().map(ToString::to_string).collect();
            text += &format!("-- depends-on: {}\n", list.join(", "));
        }
        if !self.branches.is_empty() {
            text += &format!("-- branch: {}\n", self.branches.join(", "));
        }
        text += &format!("-- message: {}\n-- created: {}\n", one_line(&self.message), self.created);
        if self.transaction == TransactionMode::None {
            text += "-- transaction: none\n";
        }
        let upgrade_hint =
            if self.parents.len() > 1 { "-- a merge point: usually nothing to do\n" } else { "" };
        text + &format!("\n-- migrate:upgrade\n{upgrade_hint}\n-- migrate:downgrade\n\n")
    }
}

/// The current UTC time as RFC 3339 with seconds, e.g. `2026-11-22T20:00:00Z`.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// `<id>_<slug>.sql` for a message.
pub fn file_name(id: &str, message: &str) -> String {
    format!("{id}_{}.sql", slug(message))
}

/// A file-name-safe summary of a message: lower-case ASCII letters and
/// digits, other runs folded to `_`, at most 40 characters.
///
/// ```
/// assert_eq!(migrate_runtime::scaffold::slug("Add login fields!"), "add_login_fields");
/// assert_eq!(migrate_runtime::scaffold::slug("  "), "");
/// ```
pub fn slug(message: &str) -> String {
    let mut slug = String::new();
    for c in message.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('_') {
            slug.push('_');
        }
    }
    let mut slug: String = slug.chars().take(40).collect();
    while slug.ends_with('_') {
        slug.pop();
    }
    slug
}

/// Returns `text` with its `-- revises:` header set to `parents`, keeping
/// every other byte. A file without the header gets one after `-- revision:`.
pub fn set_parents(text: &str, parents: &[String]) -> String {
    let line = format!("-- revises: {}", parents.join(", "));
    let mut out = String::with_capacity(text.len() + line.len());
    let mut replaced = false;
    let mut in_header = true;
    for piece in text.split_inclusive('\n') {
        let content = piece.trim_end_matches(['\n', '\r']);
        let ending = &piece[content.len()..];
        let key = header_key(content);
        in_header &= !content.trim_start().starts_with("-- migrate:");
        if in_header && key == Some("revises") && !replaced {
            out += &line;
            out += ending;
            replaced = true;
            continue;
        }
        out += piece;
        if in_header && key == Some("revision") && !replaced && !text.contains("\n-- revises:") {
            out += &line;
            out += if ending.is_empty() { "\n" } else { ending };
            replaced = true;
        }
    }
    out
}

fn header_key(line: &str) -> Option<&str> {
    let (key, _) = line.trim().strip_prefix("--")?.split_once(':')?;
    Some(key.trim())
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_parents_replaces_only_the_header_line() {
        let text = "-- revision: bbbb\r\n-- revises: aaaa\r\n-- message: m\r\n\r\n-- migrate:upgrade\r\n-- revises: not a header\r\n";
        let out = set_parents(text, &["cccc".to_string()]);
        assert_eq!(out, text.replacen("-- revises: aaaa", "-- revises: cccc", 1));
    }

    #[test]
    fn set_parents_adds_a_missing_header() {
        let out = set_parents("-- revision: bbbb\n-- migrate:upgrade\n", &["a1".into(), "b2".into()]);
        assert_eq!(out, "-- revision: bbbb\n-- revises: a1, b2\n-- migrate:upgrade\n");
    }

    #[test]
    fn slugs_are_short_and_safe() {
        assert_eq!(slug("update to flask-diamond 0.2.0"), "update_to_flask_diamond_0_2_0");
        assert_eq!(slug("ÄÖ only"), "only");
        assert_eq!(slug(&"x".repeat(100)).len(), 40);
    }
}
