//! One revision: its header, its SQL sections, and where it came from.
//!
//! Parsing lives in [`crate::chain::parse`]; this module holds the data and the
//! small rules about it (valid ids, dialect selection).

use crate::model::checksum::{normalise_line_endings, sql_checksum};
use crate::model::error::{ApplyError, ChainError, IdError, LabelError};
use crate::model::location::Location;
use crate::model::Direction;
use std::borrow::Cow;
use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A SQL dialect a section can be written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Dialect {
    type Err = ();
    fn from_str(s: &str) -> Result<Dialect, ()> {
        match s {
            "sqlite" => Ok(Dialect::Sqlite),
            "postgres" | "postgresql" => Ok(Dialect::Postgres),
            _ => Err(()),
        }
    }
}

/// Whether a revision runs inside one transaction with its history row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransactionMode {
    /// The default: SQL and history row commit or roll back together.
    #[default]
    Single,
    /// `transaction: none`: statement by statement, for SQL such as
    /// `CREATE INDEX CONCURRENTLY` that cannot run in a transaction.
    None,
}

/// What a revision file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// `<id>_<slug>.sql`: `-- key: value` header, `-- migrate:` sections.
    #[default]
    Sql,
    /// `<id>_<slug>.rs`: `// key: value` header, then Rust code with an
    /// `upgrade` function (and optionally `downgrade`). Its one section
    /// holds the code after the header: its checksum is the revision's, and
    /// there is no SQL to run, print or keep for it.
    Rust,
}

impl Language {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Language::Sql => "sql",
            Language::Rust => "rs",
        }
    }

    /// What starts a header line: `--` in SQL, `//` in Rust.
    pub fn comment(self) -> &'static str {
        match self {
            Language::Sql => "--",
            Language::Rust => "//",
        }
    }
}

/// A revision another one must follow without being its parent, possibly in
/// another package (`pkg:rev`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Dependency {
    /// `None` for a revision of the same package.
    pub package: Option<String>,
    pub id: String,
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.package {
            Some(package) => write!(f, "{package}:{}", self.id),
            None => f.write_str(&self.id),
        }
    }
}

/// The SQL of one `-- migrate:upgrade` or `-- migrate:downgrade` section.
/// Serialisable for the loader's cache of parsed revisions. Sections are
/// equal when their SQL is (same checksum), wherever it is held.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Section {
    /// `None` for the generic section, used by every dialect without its own.
    pub dialect: Option<Dialect>,
    /// Line of the file on which the SQL starts, to map statement errors back.
    pub first_line: usize,
    /// [`crate::model::checksum::sql_checksum`] of the SQL.
    pub checksum: String,
    body: Body,
}

impl PartialEq for Section {
    fn eq(&self, other: &Section) -> bool {
        (self.dialect, self.first_line, &self.checksum) == (other.dialect, other.first_line, &other.checksum)
    }
}

impl Eq for Section {}

/// Where a section's SQL is. The loader keeps only the place in the file:
/// a command that does not run or show SQL (`heads`, `history`, `current`,
/// an `upgrade` at head) holds none, whatever the revisions' size, and the
/// loader's cache stores none.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Body {
    Text(Cow<'static, str>),
    /// Bytes `start..end` of the file at `path`: with their line endings
    /// made `\n` when read again, they are the SQL.
    File {
        path: PathBuf,
        start: u64,
        end: u64,
    },
}

impl Section {
    /// A section of SQL held in memory, normalised and trimmed by the caller
    /// (as the parser and the code generator do).
    pub fn new(dialect: Option<Dialect>, first_line: usize, sql: impl Into<Cow<'static, str>>) -> Section {
        let sql = sql.into();
        Section { dialect, first_line, checksum: sql_checksum(&sql), body: Body::Text(sql) }
    }

    /// A section of SQL whose checksum is known (the code generator's).
    pub(crate) fn with_checksum(
        dialect: Option<Dialect>,
        first_line: usize,
        checksum: String,
        sql: impl Into<Cow<'static, str>>,
    ) -> Section {
        Section { dialect, first_line, checksum, body: Body::Text(sql.into()) }
    }

    /// A section whose SQL stays in its file, at bytes `range` of `path`;
    /// `checksum` is that SQL's, computed while the file was read.
    pub(crate) fn stays_in_file(
        dialect: Option<Dialect>,
        first_line: usize,
        checksum: String,
        path: &Path,
        range: Range<u64>,
    ) -> Section {
        let body = Body::File { path: path.to_path_buf(), start: range.start, end: range.end };
        Section { dialect, first_line, checksum, body }
    }

    /// The SQL. A section of a loaded file is read from the file here, and
    /// refused when it no longer has the checksum it had when the chain was
    /// loaded: what runs is always what was planned and checked.
    pub fn sql(&self) -> Result<Cow<'_, str>, ChainError> {
        let (path, start, end) = match &self.body {
            Body::Text(sql) => return Ok(Cow::Borrowed(sql)),
            Body::File { path, start, end } => (path, *start, *end),
        };
        let at = || Location::file(path).at_line(self.first_line);
        let unreadable = |e: std::io::Error| ChainError::Unreadable { at: at(), reason: e.to_string() };
        let mut file = std::fs::File::open(path).map_err(unreadable)?;
        file.seek(SeekFrom::Start(start)).map_err(unreadable)?;
        let mut bytes = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0));
        file.take(end - start).read_to_end(&mut bytes).map_err(unreadable)?;
        let sql = String::from_utf8(bytes).ok().map(|text| normalise_line_endings(&text).into_owned());
        match sql {
            Some(sql) if sql_checksum(&sql) == self.checksum => Ok(Cow::Owned(sql)),
            _ => Err(ChainError::ChangedWhileRunning { at: at() }),
        }
    }

    /// This section with its SQL in memory (read and checked once).
    pub fn loaded(&self) -> Result<Section, ChainError> {
        let sql = self.sql()?.into_owned();
        Ok(Section::with_checksum(self.dialect, self.first_line, self.checksum.clone(), sql))
    }

    fn in_file(&self) -> bool {
        matches!(self.body, Body::File { .. })
    }

    /// Whether the section has no SQL at all.
    pub fn is_empty(&self) -> bool {
        match &self.body {
            Body::Text(sql) => sql.is_empty(),
            Body::File { start, end, .. } => start == end,
        }
    }
}

/// One parsed revision file (serialisable for the loader's cache).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Revision {
    pub id: String,
    /// Parent ids (`revises`): empty for a base, several for a merge point.
    pub parents: Vec<String>,
    pub depends_on: Vec<Dependency>,
    pub message: String,
    /// RFC 3339 creation time, as written in the header.
    pub created: Option<String>,
    /// Branch labels (`branch`).
    pub branches: Vec<String>,
    pub transaction: TransactionMode,
    /// SQL, or Rust whose functions an embedded chain registers.
    pub language: Language,
    pub upgrade: Vec<Section>,
    /// `None`: no downgrade section, the revision is irreversible.
    pub downgrade: Option<Vec<Section>>,
    /// The file, at its `-- revision:` line.
    pub location: Location,
    /// Line of the `revises` header, for errors about parents.
    pub parents_line: Option<usize>,
    /// Line of the `depends-on` header, for errors about dependencies.
    pub depends_on_line: Option<usize>,
    /// The `-- lint: allow …` header: rules this revision knowingly breaks.
    pub lint_allow: Option<LintAllow>,
    /// A Rust revision's functions, when its chain was compiled in
    /// (`embed_migrations!`); `None` for SQL and for files read at run time.
    #[serde(skip)]
    pub code: Option<crate::data::RustCode>,
}

/// A revision's `-- lint: allow M101, M105 "why"` header, as written: the
/// lint checks the codes and that a reason is given (a suppression without
/// one is a finding of its own, not a parse error, so the chain still runs).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LintAllow {
    /// Rule codes or names, as written.
    pub rules: Vec<String>,
    /// The quoted reason, `None` when missing or blank.
    pub reason: Option<String>,
    pub line: usize,
}

impl Revision {
    /// The upgrade SQL for `dialect`: its own section, else the generic one.
    pub fn upgrade_for(&self, dialect: Dialect) -> Option<&Section> {
        select(&self.upgrade, dialect)
    }

    /// The downgrade SQL for `dialect`; `None` when it is irreversible there.
    pub fn downgrade_for(&self, dialect: Dialect) -> Option<&Section> {
        select(self.downgrade.as_deref()?, dialect)
    }

    /// The upgrade SQL a revision runs on `dialect`, or why it has none.
    /// A Rust revision has none: its code runs only where it was compiled
    /// in, never read from its file as SQL.
    pub fn upgrade_section(&self, dialect: Dialect) -> Result<&Section, ApplyError> {
        self.refuse_rust()?;
        self.upgrade_for(dialect).ok_or_else(|| ApplyError::NoUpgrade {
            at: self.location.clone(),
            revision: self.id.clone(),
            dialect,
        })
    }

    /// The downgrade SQL a revision runs on `dialect`, or
    /// [`ApplyError::Irreversible`]: the one answer the planner, both
    /// engines and offline scripts give when asked to revert it.
    pub fn downgrade_section(&self, dialect: Dialect) -> Result<&Section, ApplyError> {
        self.refuse_rust()?;
        self.downgrade_for(dialect).ok_or_else(|| self.irreversible())
    }

    fn irreversible(&self) -> ApplyError {
        ApplyError::Irreversible { at: self.location.clone(), revision: self.id.clone() }
    }

    /// [`ApplyError::Irreversible`] unless the revision can be reverted on
    /// `dialect`: a SQL downgrade section, or a Rust `downgrade` function.
    pub fn ensure_reversible(&self, dialect: Dialect) -> Result<(), ApplyError> {
        self.downgrade_for(dialect).map(drop).ok_or_else(|| self.irreversible())
    }

    /// This revision with the SQL a step in `direction` reads in memory,
    /// for an engine that reads it several times while it runs the step:
    /// each section is read from its file once, and checked. An upgrade
    /// reads the downgrade sections too (the history row keeps them); a
    /// downgrade reads only those.
    pub fn loaded(&self, direction: Direction) -> Result<Cow<'_, Revision>, ChainError> {
        let upgrade_in_file = direction == Direction::Upgrade && self.upgrade.iter().any(Section::in_file);
        if !upgrade_in_file && !self.downgrade.iter().flatten().any(Section::in_file) {
            return Ok(Cow::Borrowed(self));
        }
        let load = |sections: &[Section]| sections.iter().map(Section::loaded).collect::<Result<Vec<_>, _>>();
        let upgrade = if upgrade_in_file { load(&self.upgrade)? } else { self.upgrade.clone() };
        Ok(Cow::Owned(Revision {
            upgrade,
            downgrade: self.downgrade.as_deref().map(load).transpose()?,
            ..self.clone()
        }))
    }

    pub fn is_rust(&self) -> bool {
        self.language == Language::Rust
    }

    /// [`ApplyError::RustNotCompiledIn`] for a Rust revision whose code is
    /// not in this program (read from its file at run time).
    pub fn refuse_uncompiled(&self) -> Result<(), ApplyError> {
        if self.is_rust() && self.code.is_none() {
            return Err(ApplyError::RustNotCompiledIn {
                at: self.location.clone(),
                revision: self.id.clone(),
            });
        }
        Ok(())
    }

    /// [`ApplyError::RustNotCompiledIn`] for a Rust revision: the one
    /// answer every path that would run or print a revision's SQL gives.
    pub fn refuse_rust(&self) -> Result<(), ApplyError> {
        if self.is_rust() {
            return Err(ApplyError::RustNotCompiledIn {
                at: self.location.clone(),
                revision: self.id.clone(),
            });
        }
        Ok(())
    }

    pub fn is_base(&self) -> bool {
        self.parents.is_empty()
    }

    pub fn is_merge(&self) -> bool {
        self.parents.len() > 1
    }

    /// The location of the `revises` header, or of the file when absent.
    pub fn parents_location(&self) -> Location {
        line_or_file(&self.location, self.parents_line)
    }

    /// The location of the `depends-on` header, or of the file when absent.
    pub fn depends_on_location(&self) -> Location {
        line_or_file(&self.location, self.depends_on_line)
    }
}

fn line_or_file(location: &Location, line: Option<usize>) -> Location {
    match line {
        Some(line) => location.at_line(line),
        None => location.clone(),
    }
}

fn select(sections: &[Section], dialect: Dialect) -> Option<&Section> {
    sections
        .iter()
        .find(|s| s.dialect == Some(dialect))
        .or_else(|| sections.iter().find(|s| s.dialect.is_none()))
}

/// Characters a target expression gives meaning to, so ids may not use them.
const TARGET_SYNTAX: [char; 4] = ['@', '-', '+', ':'];

/// Checks that `id` can name a revision: 1 to 64 ASCII letters and digits.
/// `_` separates the id from the slug in file names, and `@ - + :` are
/// target syntax (`label@head`, `abc+2`, `a:b`).
///
/// ```
/// use migrate_runtime::model::IdError;
/// use migrate_runtime::model::validate_id;
/// assert!(validate_id("3f2a9c1b7d4e").is_ok());
/// assert_eq!(validate_id("ab-cd"), Err(IdError::TargetSyntax { character: '-' }));
/// assert!(validate_id("ab-cd").unwrap_err().to_string().contains("`-`"));
/// ```
pub fn validate_id(id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty);
    }
    if id.len() > 64 {
        return Err(IdError::TooLong { length: id.len() });
    }
    if let Some(character) = id.chars().find(|c| TARGET_SYNTAX.contains(c)) {
        return Err(IdError::TargetSyntax { character });
    }
    if let Some(character) = id.chars().find(|c| !c.is_ascii_alphanumeric()) {
        return Err(IdError::NotAlphanumeric { character });
    }
    if ["head", "heads", "base"].contains(&id) {
        return Err(IdError::ReservedName { name: id.to_string() });
    }
    Ok(())
}

/// A branch label must be usable in `label@head`.
pub fn validate_label(label: &str) -> Result<(), LabelError> {
    let ok = !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(LabelError)
    }
}
