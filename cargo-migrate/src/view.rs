//! How a revision reads in the terminal and in JSON. One place, so
//! `history`, `heads`, `branches` and `show` agree.

use crate::output::{paint, BOLD, ID, TAG};
use migrate_runtime::chain::{Graph, Rev};
use migrate_runtime::model::{ChainError, Revision, TransactionMode};
use serde::Serialize;
use std::borrow::Cow;

/// A revision as `--format json` prints it.
#[derive(Debug, Serialize)]
pub struct RevisionView<'a> {
    pub id: &'a str,
    pub parents: &'a [String],
    pub children: Vec<String>,
    pub depends_on: Vec<String>,
    pub message: &'a str,
    pub created: Option<&'a str>,
    pub branches: &'a [String],
    pub path: String,
    pub transaction: TransactionMode,
    pub is_head: bool,
    pub is_base: bool,
    pub is_merge_point: bool,
    pub is_branch_point: bool,
    pub reversible: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<SqlView<'a>>,
}

/// The SQL sections, for `show`.
#[derive(Debug, Serialize)]
pub struct SqlView<'a> {
    pub upgrade: Vec<SectionView<'a>>,
    pub downgrade: Option<Vec<SectionView<'a>>>,
}

#[derive(Debug, Serialize)]
pub struct SectionView<'a> {
    pub dialect: Option<&'static str>,
    pub line: usize,
    pub checksum: &'a str,
    pub sql: Cow<'a, str>,
}

impl<'a> RevisionView<'a> {
    pub fn new(graph: &'a Graph, rev: Rev) -> RevisionView<'a> {
        let revision = graph.revision(rev);
        RevisionView {
            id: &revision.id,
            parents: &revision.parents,
            children: graph.ids(graph.children(rev)),
            depends_on: revision.depends_on.iter().map(ToString::to_string).collect(),
            message: &revision.message,
            created: revision.created.as_deref(),
            branches: &revision.branches,
            path: revision.location.path.to_string_lossy().replace('\\', "/"),
            transaction: revision.transaction,
            is_head: graph.children(rev).is_empty(),
            is_base: revision.is_base(),
            is_merge_point: revision.is_merge(),
            is_branch_point: graph.children(rev).len() > 1,
            reversible: revision.downgrade.is_some(),
            sql: None,
        }
    }

    /// With the sections' SQL, read from the revision's file.
    pub fn with_sql(mut self, revision: &'a Revision) -> Result<RevisionView<'a>, ChainError> {
        let sections = |list: &'a [migrate_runtime::model::Section]| {
            list.iter()
                .map(|s| {
                    Ok(SectionView {
                        dialect: s.dialect.map(|d| d.as_str()),
                        line: s.first_line,
                        checksum: &s.checksum,
                        sql: s.sql()?,
                    })
                })
                .collect::<Result<Vec<_>, ChainError>>()
        };
        self.sql = Some(SqlView {
            upgrade: sections(&revision.upgrade)?,
            downgrade: revision.downgrade.as_deref().map(sections).transpose()?,
        });
        Ok(self)
    }

    /// `(head) (mergepoint) (branch: feature)` style tags.
    fn tags(&self) -> String {
        let mut tags = Vec::new();
        if self.is_head {
            tags.push("head".to_string());
        }
        if self.is_branch_point {
            tags.push("branchpoint".to_string());
        }
        if self.is_merge_point {
            tags.push("mergepoint".to_string());
        }
        tags.extend(self.branches.iter().map(|b| format!("branch: {b}")));
        tags.iter().map(|t| format!(" {}", paint(TAG, &format!("({t})")))).collect()
    }

    /// One line, Alembic style: `parent -> id (head), message`.
    pub fn line(&self) -> String {
        let parents = match self.parents {
            [] => "<base>".to_string(),
            [one] => paint(ID, one),
            many => format!("({})", many.iter().map(|p| paint(ID, p)).collect::<Vec<_>>().join(", ")),
        };
        format!("{parents} -> {}{}, {}\n", paint(ID, self.id), self.tags(), self.message)
    }

    /// Every detail, one per line, then the message indented.
    pub fn block(&self) -> String {
        let mut out = format!("{} {}{}\n", paint(BOLD, "Rev:"), paint(ID, self.id), self.tags());
        let field = |out: &mut String, name: &str, value: &str| *out += &format!("{name}: {value}\n");
        match self.parents {
            [] => field(&mut out, "Parent", "<base>"),
            [one] => field(&mut out, "Parent", one),
            many => field(&mut out, "Merges", &many.join(", ")),
        }
        if self.is_branch_point {
            field(&mut out, "Branches into", &self.children.join(", "));
        }
        if !self.depends_on.is_empty() {
            field(&mut out, "Depends on", &self.depends_on.join(", "));
        }
        field(&mut out, "Path", &self.path);
        if let Some(created) = self.created {
            field(&mut out, "Created", created);
        }
        if self.transaction == TransactionMode::None {
            field(&mut out, "Transaction", "none");
        }
        if !self.reversible {
            field(&mut out, "Downgrade", "none (irreversible)");
        }
        out + &format!("\n    {}\n\n", self.message)
    }

    /// The block followed by the SQL sections.
    pub fn full(&self) -> String {
        let mut out = self.block();
        let Some(sql) = &self.sql else { return out };
        let sections = sql.upgrade.iter().map(|s| ("upgrade", s));
        let downgrades = sql.downgrade.iter().flatten().map(|s| ("downgrade", s));
        for (kind, section) in sections.chain(downgrades) {
            let dialect = section.dialect.map(|d| format!(" {d}")).unwrap_or_default();
            out += &paint(TAG, &format!("-- migrate:{kind}{dialect}\n"));
            out += &section.sql;
            out += "\n\n";
        }
        out
    }
}
