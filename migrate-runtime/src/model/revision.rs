//! One revision: its header, its SQL sections, and where it came from.
//!
//! Parsing lives in [`crate::chain::parse`]; this module holds the data and the
//! small rules about it (valid ids, dialect selection).

use crate::model::error::{ApplyError, IdError, LabelError};
use crate::model::location::Location;
use std::fmt;
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
/// Serialisable for the loader's cache of parsed revisions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Section {
    /// `None` for the generic section, used by every dialect without its own.
    pub dialect: Option<Dialect>,
    /// The SQL, normalised (LF line endings), surrounding blank lines trimmed.
    pub sql: String,
    /// Line of the file on which `sql` starts, to map statement errors back.
    pub first_line: usize,
    /// [`crate::model::checksum::sql_checksum`] of `sql`.
    pub checksum: String,
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
    pub fn upgrade_section(&self, dialect: Dialect) -> Result<&Section, ApplyError> {
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
        self.downgrade_for(dialect)
            .ok_or_else(|| ApplyError::Irreversible { at: self.location.clone(), revision: self.id.clone() })
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
