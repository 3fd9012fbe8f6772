//! A revision chain compiled into the program, so an application migrates
//! its database at start-up with no revision files on disk.
//!
//! [`Migrations`] is plain `'static` data, written by the one code generator
//! ([`crate::embed::codegen`]) for `embed_migrations!` and for build scripts
//! ([`crate::embed`]). It holds what the parser produced, not the files: the
//! SQL of each section already split out and normalised, its checksum, and
//! the file's path for messages, so nothing is parsed again at run time.
//! [`Migrations::graph`] turns it back into the [`Graph`] every driver takes.

use crate::chain::graph::Graph;
use crate::chain::snapshot::Snapshot;
use crate::model::error::ChainErrors;
use crate::model::location::Location;
use crate::model::revision::{Dependency, Dialect, Language, Revision, Section, TransactionMode};

/// One package's revision chain, embedded at compile time.
///
/// Built by `migrate_macros::embed_migrations!()` or by including the file a
/// build script wrote with [`crate::embed`]; the fields are public so the
/// generated code can build it in a `static`, and so a program can list
/// what it carries.
///
/// ```ignore
/// static MIGRATIONS: Migrations = migrate_macros::embed_migrations!();
///
/// let graph = MIGRATIONS.graph()?;
/// let options = MIGRATIONS.options();
/// SqliteMigrator::new(&conn, &graph, &options).upgrade("heads", &mut |_| {})?;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrations {
    /// The package whose folder was embedded (its `CARGO_PKG_NAME`): the key
    /// of its rows in the history table, as `cargo migrate` writes them.
    pub package: &'static str,
    /// The history table the package's settings name (`history-table` in
    /// `[package.metadata.migrate]`, read at compile time).
    pub history_table: &'static str,
    /// Every revision, in apply order.
    pub revisions: &'static [EmbeddedRevision],
    /// The folder's snapshots (`snapshots/<revision>.sql`), by revision id.
    pub snapshots: &'static [EmbeddedSnapshot],
}

/// A snapshot of a [`Migrations`] chain, as [`crate::chain::parse_snapshot`]
/// read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedSnapshot {
    pub revision: &'static str,
    pub dialect: Dialect,
    pub chain_checksum: &'static str,
    pub sql: &'static str,
    /// The file, relative to its package, and the line `sql` starts on.
    pub path: &'static str,
    pub line: usize,
}

impl EmbeddedSnapshot {
    pub fn to_snapshot(&self) -> Snapshot {
        Snapshot {
            revision: self.revision.to_string(),
            dialect: self.dialect,
            chain_checksum: self.chain_checksum.to_string(),
            sql: self.sql.to_string(),
            location: Location::line(self.path, self.line),
        }
    }
}

/// One revision of a [`Migrations`] chain: the parsed header and sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedRevision {
    pub id: &'static str,
    pub parents: &'static [&'static str],
    pub depends_on: &'static [EmbeddedDependency],
    pub message: &'static str,
    pub created: Option<&'static str>,
    pub branches: &'static [&'static str],
    pub transaction: TransactionMode,
    /// [`Language::Rust`]: `upgrade` (and `downgrade`) hold the code's
    /// checksum, for drift; the code itself is compiled into the program.
    pub language: Language,
    pub upgrade: &'static [EmbeddedSection],
    /// `None`: the revision is irreversible.
    pub downgrade: Option<&'static [EmbeddedSection]>,
    /// The file, relative to its package (`migrations/3f2a9c1b7d4e_x.sql`),
    /// so errors at run time name it as the CLI does.
    pub path: &'static str,
    /// Line of the `-- revision:` header.
    pub line: usize,
    /// A Rust revision's functions, compiled in with the chain.
    pub code: Option<crate::data::RustCode>,
}

/// A `depends-on` entry: `package` is `None` for the same package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedDependency {
    pub package: Option<&'static str>,
    pub id: &'static str,
}

/// One upgrade or downgrade section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedSection {
    /// `None` for the generic section.
    pub dialect: Option<Dialect>,
    /// The SQL as the parser left it (LF line endings, blank edges trimmed).
    pub sql: &'static str,
    /// Line of the file on which `sql` starts.
    pub first_line: usize,
    /// [`crate::model::checksum::sql_checksum`] of `sql`, computed at compile time.
    pub checksum: &'static str,
}

impl Migrations {
    /// The options a run of this chain starts from: its package and its
    /// history table, so the rows are those `cargo migrate` reads and
    /// writes for the package (a program that built `Options::new` itself
    /// would use the default table whatever the settings say).
    pub fn options(&self) -> crate::apply::Options {
        crate::apply::Options {
            history_table: self.history_table.to_string(),
            ..crate::apply::Options::new(self.package)
        }
    }

    /// The chain as a [`Graph`], for [`crate::sqlite::SqliteMigrator`] and
    /// every other consumer of graphs.
    ///
    /// The chain was validated when it was embedded, so this fails only for
    /// a hand-made value; it is validated again because it is cheap (a few
    /// milliseconds for 10,000 revisions) and keeps [`Graph`]'s invariants
    /// in one place. Errors name files and revision lines, not the lines of
    /// `revises` or `depends-on`, which are not embedded.
    pub fn graph(&self) -> Result<Graph, ChainErrors> {
        let graph = Graph::build(self.revisions.iter().map(EmbeddedRevision::to_revision).collect())?;
        Ok(graph.with_snapshots(self.snapshots.iter().map(EmbeddedSnapshot::to_snapshot).collect()))
    }

    /// Revision ids, in apply order.
    pub fn ids(&self) -> impl Iterator<Item = &'static str> {
        self.revisions.iter().map(|r| r.id)
    }

    pub fn len(&self) -> usize {
        self.revisions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.revisions.is_empty()
    }
}

impl EmbeddedRevision {
    /// The [`Revision`] the parser produced for this file, minus the line
    /// numbers of the `revises` and `depends-on` headers.
    pub fn to_revision(&self) -> Revision {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Revision {
            id: self.id.to_string(),
            parents: strings(self.parents),
            depends_on: self.depends_on.iter().map(EmbeddedDependency::to_dependency).collect(),
            message: self.message.to_string(),
            created: self.created.map(str::to_string),
            branches: strings(self.branches),
            transaction: self.transaction,
            language: self.language,
            upgrade: sections(self.upgrade),
            downgrade: self.downgrade.map(sections),
            location: Location::line(self.path, self.line),
            parents_line: None,
            depends_on_line: None,
            lint_allow: None,
            code: self.code,
        }
    }
}

impl EmbeddedDependency {
    pub fn to_dependency(&self) -> Dependency {
        Dependency { package: self.package.map(str::to_string), id: self.id.to_string() }
    }
}

impl EmbeddedSection {
    pub fn to_section(&self) -> Section {
        Section::with_checksum(self.dialect, self.first_line, self.checksum.to_string(), self.sql)
    }
}

fn sections(embedded: &[EmbeddedSection]) -> Vec<Section> {
    embedded.iter().map(EmbeddedSection::to_section).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    static CHAIN: Migrations = Migrations {
        package: "demo",
        history_table: "demo_history",
        revisions: &[
            EmbeddedRevision {
                id: "a1",
                parents: &[],
                depends_on: &[],
                message: "create t",
                created: Some("2026-01-01T00:00:00Z"),
                branches: &[],
                transaction: TransactionMode::Single,
                language: Language::Sql,
                upgrade: &[EmbeddedSection {
                    dialect: None,
                    sql: "CREATE TABLE t (id INTEGER);",
                    first_line: 4,
                    checksum: "c0ffee",
                }],
                downgrade: None,
                path: "migrations/a1_create_t.sql",
                line: 1,
                code: None,
            },
            EmbeddedRevision {
                id: "b2",
                parents: &["a1"],
                depends_on: &[EmbeddedDependency { package: Some("accounts"), id: "ff00" }],
                message: "",
                created: None,
                branches: &["feature"],
                transaction: TransactionMode::None,
                language: Language::Sql,
                upgrade: &[],
                downgrade: Some(&[]),
                path: "migrations/b2_.sql",
                line: 2,
                code: None,
            },
        ],
        snapshots: &[EmbeddedSnapshot {
            revision: "a1",
            dialect: Dialect::Sqlite,
            chain_checksum: "c0ffee",
            sql: "CREATE TABLE t (id INTEGER);\n",
            path: "migrations/snapshots/a1.sql",
            line: 4,
        }],
    };

    #[test]
    fn a_chain_s_options_name_its_package_and_history_table() {
        let options = CHAIN.options();
        assert_eq!((options.package.as_str(), options.history_table.as_str()), ("demo", "demo_history"));
    }

    #[test]
    fn a_static_chain_becomes_a_graph() {
        let graph = CHAIN.graph().unwrap();
        assert_eq!(CHAIN.ids().collect::<Vec<_>>(), ["a1", "b2"]);
        assert_eq!(graph.ids(&graph.heads()), ["b2"]);
        let b2 = graph.revision(graph.find("b2").unwrap());
        assert_eq!(b2.location.to_string(), "migrations/b2_.sql:2");
        assert_eq!(b2.depends_on[0].to_string(), "accounts:ff00");
        assert_eq!((b2.transaction, b2.downgrade.as_deref()), (TransactionMode::None, Some(&[][..])));
        assert_eq!(graph.revision(graph.find("a1").unwrap()).upgrade[0].first_line, 4);
        assert_eq!(graph.snapshots()[0].location.to_string(), "migrations/snapshots/a1.sql:4");
    }

    #[test]
    fn a_hand_made_chain_is_validated() {
        let broken = Migrations { revisions: &CHAIN.revisions[1..], ..CHAIN };
        let errors = broken.graph().unwrap_err();
        assert_eq!(
            errors.to_string(),
            "migrations/b2_.sql:2: revision `b2` revises `a1`, which is not a revision of this package"
        );
    }
}
