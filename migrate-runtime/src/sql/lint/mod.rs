//! The lint: statements that fail inside their revision's transaction, and
//! operations that take production down (long locks, table rewrites,
//! scans under lock) or break the application version still running during
//! a deploy. A pure function of parsed revisions, every finding at once,
//! each with its file, line, column, stable code and the safe way to write
//! it. `cargo migrate check`, `embed_migrations!` and build scripts run
//! it, each with the package's settings.
//!
//! Two readers, chosen per rule (see ARCHITECTURE.md, "The lint"):
//! - the statement splitter's tokens, for what only needs words and works
//!   on statements no parser takes (`transaction.rs`);
//! - sqlparser's syntax tree, for rules that need structure: which table an
//!   index is on, a column's default, a constraint's `NOT VALID`
//!   (`operations.rs`). A statement sqlparser cannot read is skipped by
//!   these rules, never reported as a false finding.
//!
//! Rules know the schema before each statement: the chain's upgrade
//! sections are followed in apply order, so an index or constraint on a
//! table created earlier in the same revision is not flagged.
//!
//! Severities come from the catalogue ([`RULES`]) and may be changed per package
//! (`[package.metadata.migrate.lint]`, see [`Settings::configure`]); a
//! revision may allow rules with a reason (`-- lint: allow M101 "why"`).
//!
//! ```
//! use migrate_runtime::{chain::parse_revision, sql::lint};
//! let text = "-- revision: a1b2c3d4e5f6\n-- migrate:upgrade\nCREATE INDEX CONCURRENTLY i ON t (c);\n";
//! let revision = parse_revision("migrations/a1b2c3d4e5f6_.sql".as_ref(), text).unwrap();
//! let findings = lint::check(&[revision], &lint::Settings::default()).unwrap_err();
//! assert!(findings.to_string().starts_with("migrations/a1b2c3d4e5f6_.sql:3:1: M001 `CREATE INDEX CONCURRENTLY` cannot run inside a transaction"));
//! assert!(findings.to_string().contains("add `-- transaction: none`"));
//! ```

mod known;
mod operations;
pub(crate) mod rules;
mod transaction;

use crate::model::location::Location;
use crate::model::revision::{Dialect, Revision, Section};
use std::collections::BTreeMap;
use std::fmt;

pub use rules::{find as find_rule, Applies, Rule, Severity, ALL as RULES};

/// One statement that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The statement's (or the offending part's) line.
    pub at: Location,
    /// 1-based column on that line.
    pub column: usize,
    pub revision: String,
    pub rule: &'static Rule,
    /// The rule's severity after the package's settings.
    pub severity: Severity,
    /// What is wrong here, e.g. "`VACUUM` cannot run inside a transaction".
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {} {}: {}", self.at, self.column, self.rule.code, self.message, self.rule.fix)
    }
}

impl std::error::Error for Finding {}

/// Every finding of one check, in file, line and column order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Findings(pub Vec<Finding>);

impl Findings {
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.0.iter().filter(|f| f.severity == Severity::Error)
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// Drops the findings on `deployed` revisions of `graph` (what `check`
    /// and `embed_migrations!` do by default with the package's `shipped`
    /// revision and its ancestors): a revision that already ran cannot be
    /// made safer by editing it.
    pub fn drop_deployed(&mut self, graph: &crate::chain::Graph, deployed: &crate::chain::RevSet) {
        self.0.retain(|f| graph.find(&f.revision).is_none_or(|rev| !deployed.contains(rev)));
    }
}

impl fmt::Display for Findings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::model::error::write_lines(f, &self.0)
    }
}

impl std::error::Error for Findings {}

/// What the lint checks for: the package's dialect (rules about the other
/// database are left out; with `None`, only the statements that fail
/// inside a transaction are looked for, in every section) and each rule's
/// severity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub dialect: Option<Dialect>,
    /// By rule code; rules not named keep their default.
    severities: BTreeMap<&'static str, Severity>,
}

/// A `[package.metadata.migrate.lint]` entry that names no rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[package.metadata.migrate.lint]: `{key}` is not a lint rule (codes such as `M101` or names such as `index-not-concurrent`; `cargo migrate check --rules` lists them)")]
pub struct UnknownRule {
    pub key: String,
}

impl Settings {
    pub fn for_dialect(dialect: Dialect) -> Settings {
        Settings { dialect: Some(dialect), severities: BTreeMap::new() }
    }

    /// Applies `[package.metadata.migrate.lint]` entries in order (a later
    /// one wins for the same rule): rule code or name to `"error"`,
    /// `"warning"` or `"off"`.
    pub fn configure(mut self, levels: &[(String, Severity)]) -> Result<Settings, UnknownRule> {
        for (key, severity) in levels {
            let rule = rules::find(key).ok_or_else(|| UnknownRule { key: key.clone() })?;
            self.severities.insert(rule.code, *severity);
        }
        Ok(self)
    }

    pub fn severity(&self, rule: &Rule) -> Severity {
        self.severities.get(rule.code).copied().unwrap_or(rule.severity)
    }
}

/// Lints revisions (a package's chain, in apply order, as
/// [`Graph::revisions`](crate::chain::Graph::revisions) gives them) and
/// returns every finding not turned off or allowed: `Ok` with the
/// warnings when there is no error, `Err` with every finding otherwise.
pub fn check<'r>(
    revisions: impl IntoIterator<Item = &'r Revision>,
    settings: &Settings,
) -> Result<Findings, Findings> {
    let mut schema = known::Schema::default();
    let mut findings: Vec<Finding> =
        revisions.into_iter().flat_map(|revision| lint_revision(revision, settings, &mut schema)).collect();
    findings.sort_by(|a, b| (&a.at, a.column).cmp(&(&b.at, b.column)));
    let findings = Findings(findings);
    if findings.has_errors() {
        Err(findings)
    } else {
        Ok(findings)
    }
}

/// One revision's findings, after its allowances; `schema` follows its
/// upgrade so later revisions know what it created.
fn lint_revision(revision: &Revision, settings: &Settings, schema: &mut known::Schema) -> Vec<Finding> {
    let mut found = Vec::new();
    // With the package's database known, only the sections that run there;
    // without it, every section. A Rust revision's section is its code, not
    // SQL: only its header (its allowances) is checked.
    let sections: Vec<&Section> = match settings.dialect {
        _ if revision.is_rust() => Vec::new(),
        Some(dialect) => {
            revision.upgrade_for(dialect).into_iter().chain(revision.downgrade_for(dialect)).collect()
        }
        None => revision.upgrade.iter().chain(revision.downgrade.iter().flatten()).collect(),
    };
    for section in sections {
        let sql = match section.sql() {
            Ok(sql) => sql,
            Err(error) => {
                let at = revision.location.at_line(section.first_line);
                found.push(finding(revision, at, 1, &rules::UNREADABLE, error.to_string()));
                continue;
            }
        };
        let dialect = section.dialect.or(settings.dialect);
        transaction::lint(revision, section, &sql, &mut |at, column, rule, message| {
            if dialect.is_none_or(|dialect| rule.applies.to(dialect)) {
                found.push(finding(revision, at, column, rule, message));
            }
        });
    }
    // Operations are judged for the package's database only: the same
    // statement is harmless on one and an outage on the other.
    if let Some(dialect) = settings.dialect.filter(|_| !revision.is_rust()) {
        let section = revision.upgrade_for(dialect);
        // An unreadable section was reported above.
        if let Some((section, Ok(sql))) = section.map(|section| (section, section.sql())) {
            operations::lint(revision, section, &sql, dialect, schema, &mut |at, column, rule, message| {
                if rule.applies.to(dialect) {
                    found.push(finding(revision, at, column, rule, message));
                }
            });
        }
    }
    let allowed = allowances(revision, &mut found);
    found
        .into_iter()
        .filter(|f| f.rule == &rules::SUPPRESSION || !allowed.contains(&f.rule.code))
        .map(|f| Finding { severity: settings.severity(f.rule), ..f })
        .filter(|f| f.severity != Severity::Off)
        .collect()
}

fn finding(
    revision: &Revision,
    at: Location,
    column: usize,
    rule: &'static Rule,
    message: String,
) -> Finding {
    Finding { at, column, revision: revision.id.clone(), rule, severity: rule.severity, message }
}

/// Where the rules report: the place, the rule and what is wrong there.
pub(crate) type Report<'a> = dyn FnMut(Location, usize, &'static Rule, String) + 'a;

/// The codes the revision's `-- lint: allow` names, adding a finding for
/// an unknown rule or a missing reason.
fn allowances(revision: &Revision, found: &mut Vec<Finding>) -> Vec<&'static str> {
    let Some(allow) = &revision.lint_allow else { return Vec::new() };
    let at = revision.location.at_line(allow.line);
    let mut problem = |message: String| {
        found.push(finding(revision, at.clone(), 1, &rules::SUPPRESSION, message));
    };
    if allow.reason.is_none() {
        problem(format!("`-- lint: allow {}` gives no reason", allow.rules.join(", ")));
    }
    let mut codes = Vec::new();
    for name in &allow.rules {
        match rules::find(name) {
            Some(rule) => codes.push(rule.code),
            None => problem(format!("`-- lint: allow` names `{name}`, which is not a lint rule")),
        }
    }
    codes
}

/// The place of a statement (or of a part of it) in the revision file:
/// `section`, whose SQL is `sql`, holds the statement at byte `offset`; `line` and `column`
/// (1-based) are within the statement.
pub(crate) fn place(
    section: &Section,
    sql: &str,
    offset: usize,
    line: usize,
    column: usize,
) -> (usize, usize) {
    let before = &sql[..offset.min(sql.len())];
    let start_line = section.first_line + before.matches('\n').count();
    // Characters, as sqlparser counts columns, not bytes.
    let start_column = before[before.rfind('\n').map_or(0, |i| i + 1)..].chars().count() + 1;
    match line {
        0 | 1 => (start_line, start_column + column.saturating_sub(1)),
        _ => (start_line + line - 1, column.max(1)),
    }
}
