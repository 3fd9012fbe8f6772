//! The revision-file parser: `(path, text)` in, [`Revision`] or every
//! problem found out.
//!
//! A file is a header of `-- key: value` lines, then sections opened by
//! `-- migrate:upgrade` or `-- migrate:downgrade`, each optionally followed by
//! a dialect (`-- migrate:upgrade postgres`).
//!
//! A Rust revision (`.rs`) goes through the same parser: its header is
//! `// key: value` lines, and its first line that is neither blank nor a
//! `//` comment starts its one section, the code, which runs to the end of
//! the file. The code's checksum is computed like SQL's, so editing the
//! code of an applied revision is drift and editing its message is not.

use crate::model::checksum::{hex, normalise};
use crate::model::error::{ChainError, ChainErrors};
use crate::model::location::Location;
use crate::model::revision::{
    validate_id, validate_label, Dependency, Dialect, Language, LintAllow, Revision, Section, TransactionMode,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

mod lines;

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
    let text = normalise(text);
    let Some(mut parser) = Parser::new(path) else { return Err(not_a_revision_file(path)) };
    let mut offset = 0;
    for line in text.split('\n') {
        parser.line(line, offset);
        offset += line.len() as u64 + 1;
    }
    let sql = |body: &BodyBuilder| text[usize_of(body.start)..usize_of(body.end)].to_string();
    parser.finish(|body| Section::with_checksum(body.dialect, body.first_line(), body.checksum(), sql(body)))
}

/// Parses the revision file at `path` (named `shown` in the result and in
/// errors) as it is read, line by line: however large the file, only a
/// line and the header are held, and its sections stay in the file
/// ([`Section::sql`] reads them when they run). At most `limit` bytes are
/// read, even from a file that grows meanwhile.
pub(crate) fn parse_file(shown: &Path, path: &Path, limit: u64) -> Result<Revision, ChainErrors> {
    let Some(mut parser) = Parser::new(shown) else { return Err(not_a_revision_file(shown)) };
    let at = || Location::file(shown);
    let unreadable = |e: std::io::Error| ChainError::Unreadable { at: at(), reason: e.to_string() };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, file.take(limit + 1));
    let read = lines::for_each(&mut reader, |line, offset| parser.line(line, offset));
    match read {
        Ok(size) if size > limit => Err(ChainError::TooLarge { at: at(), size, limit }.into()),
        Ok(_) => parser.finish(|body| {
            Section::stays_in_file(
                body.dialect,
                body.first_line(),
                body.checksum(),
                path,
                body.start..body.end,
            )
        }),
        Err(lines::Error::Io(e)) => Err(unreadable(e).into()),
        Err(lines::Error::NotUtf8 { line }) => {
            Err(ChainError::Unreadable { at: at().at_line(line), reason: "not UTF-8 text".to_string() }
                .into())
        }
    }
}

fn not_a_revision_file(path: &Path) -> ChainErrors {
    // A stray `notes.txt` is one finding, not four: its text is not parsed.
    ChainErrors(vec![ChainError::NotARevisionFile { at: Location::file(path) }])
}

fn usize_of(offset: u64) -> usize {
    usize::try_from(offset).unwrap_or(usize::MAX)
}

/// The id part of a revision file name (`3f2a9c1b7d4e_add.sql` or
/// `3f2a9c1b7d4e_split.rs` → `3f2a9c1b7d4e`), or `None` when the name is
/// not that of a revision file.
pub fn file_id(file_name: &str) -> Option<&str> {
    file_id_and_language(file_name).map(|(id, _)| id)
}

/// What a revision file of this name is written in, or `None` when the
/// name is not that of a revision file.
pub fn file_language(file_name: &str) -> Option<Language> {
    file_id_and_language(file_name).map(|(_, language)| language)
}

fn file_id_and_language(file_name: &str) -> Option<(&str, Language)> {
    let (stem, language) = match file_name.strip_suffix(".sql") {
        Some(stem) => (stem, Language::Sql),
        None => (file_name.strip_suffix(".rs")?, Language::Rust),
    };
    let id = stem.split('_').next().unwrap_or(stem);
    (!id.is_empty()).then_some((id, language))
}

struct HeaderLine {
    line: usize,
    key: String,
    value: String,
}

struct RawSection {
    kind: SectionKind,
    line: usize,
    body: BodyBuilder,
    /// The marker was reported as invalid: the body is swallowed (so it is
    /// not mistaken for header lines or for the previous section's SQL) and
    /// then dropped.
    invalid: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SectionKind {
    Upgrade,
    Downgrade,
    Unknown,
}

impl SectionKind {
    fn as_str(self) -> &'static str {
        match self {
            SectionKind::Upgrade => "upgrade",
            SectionKind::Downgrade => "downgrade",
            SectionKind::Unknown => "unknown",
        }
    }
}

/// A section's body as its lines go by: where its SQL starts and ends in
/// the file, and the SQL's checksum, computed without keeping the SQL.
/// The SQL is the body without its leading blank lines and its trailing
/// white space.
struct BodyBuilder {
    dialect: Option<Dialect>,
    /// Line of the marker.
    marker_line: usize,
    leading_blank: usize,
    /// Offset of the first line that is not blank, once seen.
    started: bool,
    start: u64,
    /// Offset just after the last character that is not white space.
    end: u64,
    hasher: Sha256,
    /// White space after the last hashed character: hashed only if more
    /// SQL follows it, since the SQL's trailing white space is not part of it.
    pending: String,
}

impl BodyBuilder {
    fn new(dialect: Option<Dialect>, marker_line: usize) -> BodyBuilder {
        BodyBuilder {
            dialect,
            marker_line,
            leading_blank: 0,
            started: false,
            start: 0,
            end: 0,
            hasher: Sha256::new(),
            pending: String::new(),
        }
    }

    fn line(&mut self, line: &str, offset: u64) {
        let content = line.trim_end();
        if !self.started {
            if content.is_empty() {
                self.leading_blank += 1;
                return;
            }
            self.started = true;
            (self.start, self.end) = (offset, offset);
        }
        if !content.is_empty() {
            // The checksum of SQL drops a leading byte-order mark (see
            // `sql_checksum`), even one that starts a section.
            let first = self.end == self.start;
            let hashed = if first { content.strip_prefix('\u{feff}').unwrap_or(content) } else { content };
            self.hasher.update(self.pending.as_bytes());
            self.pending.clear();
            self.hasher.update(hashed.as_bytes());
            self.end = offset + content.len() as u64;
        }
        self.pending.push_str(&line[content.len()..]);
        self.pending.push('\n');
    }

    /// The file's line on which the SQL starts; for an empty section, the
    /// line after its marker (not past the end of the file).
    fn first_line(&self) -> usize {
        let skipped = if self.started { self.leading_blank } else { 0 };
        self.marker_line + 1 + skipped
    }

    fn checksum(&self) -> String {
        hex(&self.hasher.clone().finalize())
    }
}

struct Parser {
    file: Location,
    language: Language,
    /// A Rust revision's top-level `fn upgrade` and `fn downgrade` seen.
    upgrade_function: bool,
    downgrade_function: bool,
    errors: Vec<ChainError>,
    file_prefix: String,
    header: Vec<HeaderLine>,
    sections: Vec<RawSection>,
    reported_stray_sql: bool,
    /// Number of the line being read.
    number: usize,
}

impl Parser {
    /// A parser for the file at `path`, or `None` when its name is not a
    /// revision file's.
    fn new(path: &Path) -> Option<Parser> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let (file_prefix, language) = file_id_and_language(name)?;
        Some(Parser {
            file: Location::file(path),
            language,
            upgrade_function: false,
            downgrade_function: false,
            errors: Vec::new(),
            file_prefix: file_prefix.to_string(),
            header: Vec::new(),
            sections: Vec::new(),
            reported_stray_sql: false,
            number: 0,
        })
    }

    fn error(&mut self, error: ChainError) {
        self.errors.push(error);
    }

    /// Takes the next line (without its line ending), which starts at
    /// byte `offset` of the file.
    fn line(&mut self, line: &str, offset: u64) {
        self.number += 1;
        let number = self.number;
        if let Some(marker) = section_marker(line).filter(|_| self.language == Language::Sql) {
            let section = self.section_start(marker, number);
            self.sections.push(section);
            return;
        }
        if let Some(section) = self.sections.last_mut() {
            section.body.line(line, offset);
            self.rust_line(line);
            return;
        }
        match self.header_line(line, number) {
            Some(Ok(entry)) => self.header.push(entry),
            Some(Err(())) if self.language == Language::Rust => self.rust_code_start(line, offset, number),
            Some(Err(())) if !self.reported_stray_sql => {
                self.reported_stray_sql = true;
                self.error(ChainError::SqlBeforeSection { at: self.file.at_line(number) });
            }
            _ => {}
        }
    }

    /// The first line of a Rust revision's code opens its one section.
    fn rust_code_start(&mut self, line: &str, offset: u64, number: usize) {
        // The "marker" is the line before, so the code starts on this one.
        let mut body = BodyBuilder::new(None, number - 1);
        body.line(line, offset);
        self.sections.push(RawSection { kind: SectionKind::Upgrade, line: number, body, invalid: false });
        self.rust_line(line);
    }

    /// Notes the functions a line of Rust code defines at the top level
    /// (not indented, as rustfmt writes items): whether they exist at all is
    /// known from the text; their signatures are the compiler's to check
    /// when the revision is embedded.
    fn rust_line(&mut self, line: &str) {
        if self.language != Language::Rust {
            return;
        }
        match top_level_function(line) {
            Some("upgrade") => self.upgrade_function = true,
            Some("downgrade") => self.downgrade_function = true,
            _ => {}
        }
    }

    /// The revision, or every problem found, once every line was read;
    /// `section` makes a section of each finished body.
    fn finish(mut self, section: impl Fn(&BodyBuilder) -> Section) -> Result<Revision, ChainErrors> {
        let header = std::mem::take(&mut self.header);
        let sections = std::mem::take(&mut self.sections);
        let revision = self.revision(&header, sections, section);
        match revision {
            Some(revision) if self.errors.is_empty() => Ok(revision),
            _ => {
                self.errors.sort_by(|a, b| a.location().cmp(b.location()));
                Err(ChainErrors(self.errors))
            }
        }
    }

    /// `None` for blank lines and free comments, `Err` for SQL.
    fn header_line(&mut self, line: &str, number: usize) -> Option<Result<HeaderLine, ()>> {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return None;
        }
        let Some(comment) = trimmed.strip_prefix(self.language.comment()) else {
            return Some(Err(()));
        };
        let comment = comment.trim();
        match comment.split_once(':') {
            Some((key, value)) if is_key_like(key) => Some(Ok(HeaderLine {
                line: number,
                key: key.trim().to_string(),
                value: value.trim().to_string(),
            })),
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

    fn section_start(&mut self, marker: &str, line: usize) -> RawSection {
        let mut words = marker.split_whitespace();
        let kind = match words.next().unwrap_or_default() {
            "upgrade" => SectionKind::Upgrade,
            "downgrade" => SectionKind::Downgrade,
            _ => SectionKind::Unknown,
        };
        let mut section = RawSection { kind, line, body: BodyBuilder::new(None, line), invalid: true };
        if kind == SectionKind::Unknown {
            self.error(ChainError::UnknownSection {
                at: self.file.at_line(line),
                name: marker.trim().to_string(),
            });
            return section;
        }
        if let Some(word) = words.next() {
            match word.parse::<Dialect>() {
                Ok(dialect) => section.body.dialect = Some(dialect),
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
        header: &[HeaderLine],
        sections: Vec<RawSection>,
        section: impl Fn(&BodyBuilder) -> Section,
    ) -> Option<Revision> {
        let header = self.header_map(header);
        let id = self.revision_id(&header);
        let (upgrade, downgrade) = self.sections(sections, section);
        let mut revision = Revision {
            id: id.clone().unwrap_or_default(),
            parents: Vec::new(),
            depends_on: Vec::new(),
            message: header.get("message").map(|h| h.value.clone()).unwrap_or_default(),
            created: None,
            branches: Vec::new(),
            transaction: TransactionMode::Single,
            language: self.language,
            upgrade,
            downgrade,
            location: self.file.clone(),
            parents_line: header.get("revises").map(|h| h.line),
            depends_on_line: header.get("depends-on").map(|h| h.line),
            lint_allow: None,
            code: None,
        };
        if let Some(line) = header.get("revision") {
            revision.location = self.file.at_line(line.line);
        }
        // Checked even when the id is unusable, so every finding is reported.
        self.header_values(&header, &mut revision);
        id.map(|_| revision)
    }

    fn header_map<'a>(&mut self, lines: &'a [HeaderLine]) -> HashMap<&'a str, &'a HeaderLine> {
        let mut map: HashMap<&str, &HeaderLine> = HashMap::new();
        for entry in lines {
            let at = self.file.at_line(entry.line);
            if !KNOWN_KEYS.contains(&entry.key.as_str()) {
                self.error(ChainError::UnknownHeaderKey { at, key: entry.key.to_string() });
            } else if let Some(first) = map.get(entry.key.as_str()) {
                let first_line = first.line;
                self.error(ChainError::DuplicateHeaderKey { at, key: entry.key.to_string(), first_line });
            } else {
                map.insert(&entry.key, entry);
            }
        }
        map
    }

    fn revision_id(&mut self, header: &HashMap<&str, &HeaderLine>) -> Option<String> {
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
        if self.file_prefix != id {
            let file_prefix = self.file_prefix.clone();
            let extension = self.language.extension();
            self.error(ChainError::IdMismatch { at, header_id: id.clone(), file_prefix, extension });
        }
        Some(id)
    }

    fn header_values(&mut self, header: &HashMap<&str, &HeaderLine>, revision: &mut Revision) {
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
            if humantime::parse_rfc3339_weak(&entry.value).is_err() {
                self.invalid_value(entry, "an RFC 3339 time such as `2026-11-22T20:00:00Z`");
            }
            revision.created = Some(entry.value.clone());
        }
        if let Some(entry) = header.get("lint") {
            revision.lint_allow = self.lint_allow(entry);
        }
        if let Some(entry) = header.get("transaction") {
            match entry.value.as_str() {
                "none" => revision.transaction = TransactionMode::None,
                "single" => revision.transaction = TransactionMode::Single,
                _ => self.invalid_value(entry, "`none` or `single`"),
            }
        }
    }

    /// `allow M101, index-not-concurrent "why"`: the rules and the reason;
    /// whether they exist and the reason is given is the lint's to say.
    fn lint_allow(&mut self, entry: &HeaderLine) -> Option<LintAllow> {
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

    fn invalid_value(&mut self, entry: &HeaderLine, expected: &str) {
        self.invalid_item(entry, &entry.value, expected);
    }

    /// One bad item of a list value: the message quotes the item, not the list.
    fn invalid_item(&mut self, entry: &HeaderLine, item: &str, expected: &str) {
        self.error(ChainError::InvalidHeaderValue {
            at: self.file.at_line(entry.line),
            key: entry.key.to_string(),
            value: item.to_string(),
            expected: expected.to_string(),
        });
    }

    fn id_list(&mut self, entry: &HeaderLine) -> Vec<String> {
        let mut ids = Vec::new();
        for id in list(&entry.value) {
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

    fn dependencies(&mut self, entry: &HeaderLine) -> Vec<Dependency> {
        let mut dependencies = Vec::new();
        for item in list(&entry.value) {
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

    fn labels(&mut self, entry: &HeaderLine) -> Vec<String> {
        let mut labels = Vec::new();
        for label in list(&entry.value) {
            match validate_label(label) {
                Ok(()) => labels.push(label.to_string()),
                // `validate_label`'s reason is a sentence; this reads after "expected".
                Err(_) => self.invalid_item(entry, label, "a label of ASCII letters, digits, `_` and `.`"),
            }
        }
        labels
    }

    fn sections(
        &mut self,
        raw: Vec<RawSection>,
        section: impl Fn(&BodyBuilder) -> Section,
    ) -> (Vec<Section>, Option<Vec<Section>>) {
        if self.language == Language::Rust {
            return self.rust_sections(raw, section);
        }
        let mut upgrade = Vec::new();
        let mut downgrade: Option<Vec<Section>> = None;
        let mut seen: HashMap<(SectionKind, Option<Dialect>), usize> = HashMap::new();
        // `-- migrate:upgrade mysql` was reported already: no second error
        // saying the upgrade is missing.
        let attempted_upgrade = raw.iter().any(|s| s.invalid && s.kind == SectionKind::Upgrade);
        for raw in raw.into_iter().filter(|s| !s.invalid) {
            let key = (raw.kind, raw.body.dialect);
            if let Some(&first_line) = seen.get(&key) {
                let name = match raw.body.dialect {
                    Some(dialect) => format!("{} {dialect}", raw.kind.as_str()),
                    None => raw.kind.as_str().to_string(),
                };
                let at = self.file.at_line(raw.line);
                self.error(ChainError::DuplicateSection { at, section: name, first_line });
                continue;
            }
            seen.insert(key, raw.line);
            let built = section(&raw.body);
            match raw.kind {
                SectionKind::Upgrade => upgrade.push(built),
                _ => downgrade.get_or_insert_with(Vec::new).push(built),
            }
        }
        if upgrade.is_empty() && !attempted_upgrade {
            self.error(ChainError::MissingUpgrade { at: self.file.clone() });
        }
        (upgrade, downgrade)
    }
}

impl Parser {
    /// A Rust revision's code as its upgrade, and as its downgrade when it
    /// has a `downgrade` function (without one it is irreversible, as a SQL
    /// revision without a downgrade section is).
    fn rust_sections(
        &mut self,
        raw: Vec<RawSection>,
        section: impl Fn(&BodyBuilder) -> Section,
    ) -> (Vec<Section>, Option<Vec<Section>>) {
        if !self.upgrade_function {
            self.error(ChainError::MissingUpgradeFunction { at: self.file.clone() });
        }
        let code: Vec<Section> = raw.iter().map(|raw| section(&raw.body)).collect();
        let downgrade = self.downgrade_function.then(|| code.clone());
        (code, downgrade)
    }
}

/// The name of the function `line` starts to define at the top level of a
/// Rust file (`pub async fn upgrade(` → `upgrade`).
fn top_level_function(line: &str) -> Option<&str> {
    let mut rest = line;
    for visibility in ["pub(crate) ", "pub(super) ", "pub "] {
        if let Some(after) = rest.strip_prefix(visibility) {
            rest = after.trim_start();
            break;
        }
    }
    if let Some(after) = rest.strip_prefix("async ") {
        rest = after.trim_start();
    }
    let name = rest.strip_prefix("fn ")?.trim_start();
    let end = name.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(name.len());
    Some(&name[..end])
}

/// The text after `-- migrate:` when `line` opens a section.
pub(crate) fn section_marker(line: &str) -> Option<&str> {
    line.trim_start().strip_prefix("--")?.trim_start().strip_prefix("migrate:")
}

fn is_key_like(key: &str) -> bool {
    let key = key.trim();
    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|item| !item.is_empty())
}
