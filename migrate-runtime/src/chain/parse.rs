//! The revision-file parser: `(path, text)` in, [`Revision`] or every
//! problem found out.
//!
//! A file is a header of `-- key: value` lines, then sections opened by
//! `-- migrate:upgrade` or `-- migrate:downgrade`, each optionally followed by
//! a dialect (`-- migrate:upgrade postgres`).

use crate::model::checksum::{normalise, sql_checksum};
use crate::model::error::{ChainError, ChainErrors};
use crate::model::location::Location;
use crate::model::revision::{
    validate_id, validate_label, Dependency, Dialect, LintAllow, Revision, Section, TransactionMode,
};
use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

const KNOWN_KEYS: [&str; 8] =
    ["revision", "revises", "message", "created", "depends-on", "branch", "transaction", "lint"];

/// Parses one revision file. `path` is only used to name the file in the
/// result and in errors, and to check the id against the file name.
///
/// ```
/// use migrate_runtime::chain::parse_revision;
/// let text = "-- revision: 3f2a9c1b7d4e\n-- message: create users\n\n\
///             -- migrate:upgrade\nCREATE TABLE users (id INTEGER);\n\n\
///             -- migrate:downgrade\nDROP TABLE users;\n";
/// let revision = parse_revision("migrations/3f2a9c1b7d4e_create_users.sql".as_ref(), text).unwrap();
/// assert_eq!(revision.id, "3f2a9c1b7d4e");
/// assert!(revision.is_base());
/// assert_eq!(revision.upgrade[0].first_line, 5);
/// ```
pub fn parse_revision(path: &Path, text: &str) -> Result<Revision, ChainErrors> {
    let mut parser = Parser { file: Location::file(path), errors: Vec::new() };
    // A stray `notes.txt` is one finding, not four: its text is not parsed.
    let Some(file_prefix) = parser.file_prefix(path) else { return Err(ChainErrors(parser.errors)) };
    let text = normalise(text);
    let (header, sections) = parser.split(&text);
    let revision = parser.revision(header, sections, &file_prefix, &text);
    match revision {
        Some(revision) if parser.errors.is_empty() => Ok(revision),
        _ => {
            parser.errors.sort_by(|a, b| a.location().cmp(b.location()));
            Err(ChainErrors(parser.errors))
        }
    }
}

/// The id part of a revision file name (`3f2a9c1b7d4e_add.sql` →
/// `3f2a9c1b7d4e`), or `None` when the name is not that of a revision file.
pub fn file_id(file_name: &str) -> Option<&str> {
    let stem = file_name.strip_suffix(".sql")?;
    let id = stem.split('_').next().unwrap_or(stem);
    (!id.is_empty()).then_some(id)
}

struct HeaderLine<'a> {
    line: usize,
    key: &'a str,
    value: &'a str,
}

struct RawSection<'a> {
    kind: &'a str,
    dialect: Option<Dialect>,
    line: usize,
    /// The lines after the marker, as one byte range of the file's text (not
    /// a list of lines: a 50 MB section would need millions of them).
    body: Range<usize>,
    /// The marker was reported as invalid: the body is swallowed (so it is
    /// not mistaken for header lines or for the previous section's SQL) and
    /// then dropped.
    invalid: bool,
}

struct Parser {
    file: Location,
    errors: Vec<ChainError>,
}

impl Parser {
    fn error(&mut self, error: ChainError) {
        self.errors.push(error);
    }

    fn file_prefix(&mut self, path: &Path) -> Option<String> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let id = file_id(name).map(str::to_owned);
        if id.is_none() {
            self.error(ChainError::NotARevisionFile { at: self.file.clone() });
        }
        id
    }

    /// Splits the text into header lines and raw sections.
    fn split<'a>(&mut self, text: &'a str) -> (Vec<HeaderLine<'a>>, Vec<RawSection<'a>>) {
        let mut header = Vec::new();
        let mut sections: Vec<RawSection<'a>> = Vec::new();
        let mut reported_stray_sql = false;
        let mut offset = 0;
        for (index, line) in text.split('\n').enumerate() {
            let number = index + 1;
            let start = offset;
            offset += line.len() + 1;
            if let Some(marker) = section_marker(line) {
                let mut section = self.section_start(marker, number);
                let body_start = offset.min(text.len());
                section.body = body_start..body_start;
                sections.push(section);
                continue;
            }
            if let Some(section) = sections.last_mut() {
                section.body.end = start + line.len();
                continue;
            }
            match self.header_line(line, number) {
                Some(Ok(entry)) => header.push(entry),
                Some(Err(())) if !reported_stray_sql => {
                    reported_stray_sql = true;
                    self.error(ChainError::SqlBeforeSection { at: self.file.at_line(number) });
                }
                _ => {}
            }
        }
        (header, sections)
    }

    /// `None` for blank lines and free comments, `Err` for SQL.
    fn header_line<'a>(&mut self, line: &'a str, number: usize) -> Option<Result<HeaderLine<'a>, ()>> {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return None;
        }
        let Some(comment) = trimmed.strip_prefix("--") else {
            return Some(Err(()));
        };
        let comment = comment.trim();
        match comment.split_once(':') {
            Some((key, value)) if is_key_like(key) => {
                Some(Ok(HeaderLine { line: number, key: key.trim(), value: value.trim() }))
            }
            _ => {
                let first_word = comment.split_whitespace().next().unwrap_or_default();
                if KNOWN_KEYS.contains(&first_word) {
                    let at = self.file.at_line(number);
                    self.error(ChainError::MalformedHeader { at, text: trimmed.to_string() });
                }
                None
            }
        }
    }

    fn section_start<'a>(&mut self, marker: &'a str, line: usize) -> RawSection<'a> {
        let mut words = marker.split_whitespace();
        let kind = words.next().unwrap_or_default();
        let mut section = RawSection { kind, dialect: None, line, body: 0..0, invalid: true };
        if kind != "upgrade" && kind != "downgrade" {
            self.error(ChainError::UnknownSection {
                at: self.file.at_line(line),
                name: marker.trim().to_string(),
            });
            return section;
        }
        if let Some(word) = words.next() {
            match word.parse::<Dialect>() {
                Ok(dialect) => section.dialect = Some(dialect),
                Err(()) => {
                    let at = self.file.at_line(line);
                    self.error(ChainError::UnknownDialect { at, dialect: word.to_string() });
                    return section;
                }
            }
        }
        section.invalid = false;
        section
    }

    fn revision(
        &mut self,
        header: Vec<HeaderLine<'_>>,
        sections: Vec<RawSection<'_>>,
        file_prefix: &str,
        text: &str,
    ) -> Option<Revision> {
        let header = self.header_map(header);
        let id = self.revision_id(&header, file_prefix);
        let (upgrade, downgrade) = self.sections(text, sections);
        let mut revision = Revision {
            id: id.clone().unwrap_or_default(),
            parents: Vec::new(),
            depends_on: Vec::new(),
            message: header.get("message").map(|h| h.value.to_string()).unwrap_or_default(),
            created: None,
            branches: Vec::new(),
            transaction: TransactionMode::Single,
            upgrade,
            downgrade,
            location: self.file.clone(),
            parents_line: header.get("revises").map(|h| h.line),
            depends_on_line: header.get("depends-on").map(|h| h.line),
            lint_allow: None,
        };
        if let Some(line) = header.get("revision") {
            revision.location = self.file.at_line(line.line);
        }
        // Checked even when the id is unusable, so every finding is reported.
        self.header_values(&header, &mut revision);
        id.map(|_| revision)
    }

    fn header_map<'a>(&mut self, lines: Vec<HeaderLine<'a>>) -> HashMap<&'a str, HeaderLine<'a>> {
        let mut map: HashMap<&str, HeaderLine> = HashMap::new();
        for entry in lines {
            let at = self.file.at_line(entry.line);
            if !KNOWN_KEYS.contains(&entry.key) {
                self.error(ChainError::UnknownHeaderKey { at, key: entry.key.to_string() });
            } else if let Some(first) = map.get(entry.key) {
                let first_line = first.line;
                self.error(ChainError::DuplicateHeaderKey { at, key: entry.key.to_string(), first_line });
            } else {
                map.insert(entry.key, entry);
            }
        }
        map
    }

    fn revision_id(&mut self, header: &HashMap<&str, HeaderLine<'_>>, file_prefix: &str) -> Option<String> {
        let Some(entry) = header.get("revision") else {
            self.error(ChainError::MissingRevisionHeader { at: self.file.clone() });
            return None;
        };
        let at = self.file.at_line(entry.line);
        let id = entry.value.to_string();
        if let Err(reason) = validate_id(&id) {
            self.error(ChainError::InvalidId { at, id, reason });
            return None;
        }
        if file_prefix != id {
            let file_prefix = file_prefix.to_string();
            self.error(ChainError::IdMismatch { at, header_id: id.clone(), file_prefix });
        }
        Some(id)
    }

    fn header_values(&mut self, header: &HashMap<&str, HeaderLine<'_>>, revision: &mut Revision) {
        if let Some(entry) = header.get("revises") {
            revision.parents = self.id_list(entry);
        }
        if let Some(entry) = header.get("depends-on") {
            revision.depends_on = self.dependencies(entry);
        }
        if let Some(entry) = header.get("branch") {
            revision.branches = self.labels(entry);
        }
        if let Some(entry) = header.get("created") {
            if humantime::parse_rfc3339_weak(entry.value).is_err() {
                self.invalid_value(entry, "an RFC 3339 time such as `2026-11-22T20:00:00Z`");
            }
            revision.created = Some(entry.value.to_string());
        }
        if let Some(entry) = header.get("lint") {
            revision.lint_allow = self.lint_allow(entry);
        }
        if let Some(entry) = header.get("transaction") {
            match entry.value {
                "none" => revision.transaction = TransactionMode::None,
                "single" => revision.transaction = TransactionMode::Single,
                _ => self.invalid_value(entry, "`none` or `single`"),
            }
        }
    }

    /// `allow M101, index-not-concurrent "why"`: the rules and the reason;
    /// whether they exist and the reason is given is the lint's to say.
    fn lint_allow(&mut self, entry: &HeaderLine<'_>) -> Option<LintAllow> {
        let expected = "`allow CODE[, CODE…] \"why\"`, such as `allow M101 \"the table is empty here\"`";
        let Some(rest) =
            entry.value.strip_prefix("allow").filter(|rest| rest.starts_with(char::is_whitespace))
        else {
            self.invalid_value(entry, expected);
            return None;
        };
        let (rules, reason) = match rest.split_once('"') {
            Some((rules, quoted)) => match quoted.split_once('"') {
                Some((reason, after)) if after.trim().is_empty() => (rules, Some(reason.trim())),
                // Text after the reason, or no closing quote: malformed.
                _ => {
                    self.invalid_value(entry, expected);
                    return None;
                }
            },
            None => (rest, None),
        };
        let rules: Vec<String> =
            rules.split([',', ' ', '\t']).filter(|rule| !rule.is_empty()).map(str::to_string).collect();
        if rules.is_empty() {
            self.invalid_value(entry, expected);
            return None;
        }
        let reason = reason.filter(|r| !r.is_empty()).map(str::to_string);
        Some(LintAllow { rules, reason, line: entry.line })
    }

    fn invalid_value(&mut self, entry: &HeaderLine<'_>, expected: &str) {
        self.invalid_item(entry, entry.value, expected);
    }

    /// One bad item of a list value: the message quotes the item, not the list.
    fn invalid_item(&mut self, entry: &HeaderLine<'_>, item: &str, expected: &str) {
        self.error(ChainError::InvalidHeaderValue {
            at: self.file.at_line(entry.line),
            key: entry.key.to_string(),
            value: item.to_string(),
            expected: expected.to_string(),
        });
    }

    fn id_list(&mut self, entry: &HeaderLine<'_>) -> Vec<String> {
        let mut ids = Vec::new();
        for id in list(entry.value) {
            match validate_id(id) {
                Ok(()) => ids.push(id.to_string()),
                Err(reason) => {
                    let at = self.file.at_line(entry.line);
                    self.error(ChainError::InvalidId { at, id: id.to_string(), reason });
                }
            }
        }
        ids
    }

    fn dependencies(&mut self, entry: &HeaderLine<'_>) -> Vec<Dependency> {
        let mut dependencies = Vec::new();
        for item in list(entry.value) {
            let (package, id) = match item.split_once(':') {
                Some((package, id)) => (Some(package.trim().to_string()), id.trim()),
                None => (None, item),
            };
            if package.as_deref() == Some("") {
                self.invalid_item(entry, item, "`rev` or `package:rev`");
                continue;
            }
            match validate_id(id) {
                Ok(()) => dependencies.push(Dependency { package, id: id.to_string() }),
                Err(reason) => {
                    let at = self.file.at_line(entry.line);
                    self.error(ChainError::InvalidId { at, id: id.to_string(), reason });
                }
            }
        }
        dependencies
    }

    fn labels(&mut self, entry: &HeaderLine<'_>) -> Vec<String> {
        let mut labels = Vec::new();
        for label in list(entry.value) {
            match validate_label(label) {
                Ok(()) => labels.push(label.to_string()),
                // `validate_label`'s reason is a sentence; this reads after "expected".
                Err(_) => self.invalid_item(entry, label, "a label of ASCII letters, digits, `_` and `.`"),
            }
        }
        labels
    }

    fn sections(&mut self, text: &str, raw: Vec<RawSection<'_>>) -> (Vec<Section>, Option<Vec<Section>>) {
        let mut upgrade = Vec::new();
        let mut downgrade: Option<Vec<Section>> = None;
        let mut seen: HashMap<(&str, Option<Dialect>), usize> = HashMap::new();
        // `-- migrate:upgrade mysql` was reported already: no second error
        // saying the upgrade is missing.
        let attempted_upgrade = raw.iter().any(|s| s.invalid && s.kind == "upgrade");
        for section in raw.into_iter().filter(|s| !s.invalid) {
            let key = (section.kind, section.dialect);
            if let Some(&first_line) = seen.get(&key) {
                let name = match section.dialect {
                    Some(dialect) => format!("{} {dialect}", section.kind),
                    None => section.kind.to_string(),
                };
                let at = self.file.at_line(section.line);
                self.error(ChainError::DuplicateSection { at, section: name, first_line });
                continue;
            }
            seen.insert(key, section.line);
            let built = build_section(text, &section);
            match section.kind {
                "upgrade" => upgrade.push(built),
                _ => downgrade.get_or_insert_with(Vec::new).push(built),
            }
        }
        if upgrade.is_empty() && !attempted_upgrade {
            self.error(ChainError::MissingUpgrade { at: self.file.clone() });
        }
        (upgrade, downgrade)
    }
}

fn build_section(text: &str, raw: &RawSection<'_>) -> Section {
    let body = &text[raw.body.clone()];
    // An empty section "starts" on the line after its marker, not past the end.
    let mut leading_blank = 0;
    let mut skipped = 0;
    for line in body.split('\n') {
        if !line.trim().is_empty() {
            break;
        }
        leading_blank += 1;
        skipped += line.len() + 1;
    }
    let sql = match body.get(skipped..) {
        Some(rest) => rest.trim_end().to_string(),
        None => {
            leading_blank = 0;
            String::new()
        }
    };
    Section {
        dialect: raw.dialect,
        checksum: sql_checksum(&sql),
        first_line: raw.line + 1 + leading_blank,
        sql,
    }
}

/// The text after `-- migrate:` when `line` opens a section.
fn section_marker(line: &str) -> Option<&str> {
    line.trim_start().strip_prefix("--")?.trim_start().strip_prefix("migrate:")
}

fn is_key_like(key: &str) -> bool {
    let key = key.trim();
    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|item| !item.is_empty())
}
