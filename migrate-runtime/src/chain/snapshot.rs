//! Snapshots: the schema at a revision as plain DDL, so a database with no
//! history can be created in one step instead of replaying every revision
//! before it (Ptah's populate step, Flyway's baseline migrations).
//!
//! A snapshot lives in the migrations folder's `snapshots/` sub-folder as
//! `<revision id>.sql`, outside the revision files' namespace, so the
//! revision loader never mistakes it for one. Its header names the
//! revision, the dialect, and the checksum of the chain up to it: every
//! ancestor's id and upgrade checksum, in apply order. A snapshot whose
//! chain changed since it was written is refused, naming the file: its
//! schema may no longer be what the revisions build. Pure: `(path, text)`
//! in, values out; `chain::load` reads the files.

use crate::chain::graph::{Graph, Rev};
use crate::model::location::Location;
use crate::model::revision::Dialect;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The sub-folder of the migrations folder that holds snapshots.
pub const SNAPSHOTS_FOLDER: &str = "snapshots";

/// The schema at one revision, as SQL of the package's dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The revision whose schema this is; it and its ancestors are
    /// recorded as applied when the snapshot is.
    pub revision: String,
    pub dialect: Dialect,
    /// [`chain_checksum`] of the chain up to `revision` when written.
    pub chain_checksum: String,
    /// The DDL, after the header.
    pub sql: String,
    /// The file, relative to the package, and the line `sql` starts on.
    pub location: Location,
}

/// Why a snapshot file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case", prefix = "snapshot-")]
pub enum SnapshotError {
    #[error("{at}: not a snapshot: {reason}")]
    Malformed { at: Location, reason: String },
    #[error("{at}: snapshot of revision `{revision}`, which the migrations folder does not have")]
    UnknownRevision { at: Location, revision: String },
    #[error("{at}: snapshot for {found}, but the package's dialect is {expected}")]
    WrongDialect { at: Location, found: Dialect, expected: Dialect },
    #[error("{at}: the revisions up to `{revision}` changed since this snapshot was written (chain checksum {} recorded, {} now), so its schema may not be theirs", short(recorded), short(current))]
    ChainChanged { at: Location, revision: String, recorded: String, current: String },
}

fn short(checksum: &str) -> &str {
    checksum.get(..12).unwrap_or(checksum)
}

/// Where the snapshot of `revision` is written, relative to the package:
/// `<migrations>/snapshots/<revision>.sql`.
pub fn snapshot_path(migrations: &Path, revision: &str) -> PathBuf {
    migrations.join(SNAPSHOTS_FOLDER).join(format!("{revision}.sql"))
}

/// The SHA-256 of the chain up to `rev`: each ancestor's (and its own) id
/// and upgrade checksum for `dialect`, one per line, in apply order. Any
/// edit, addition or removal among them changes it.
pub fn chain_checksum(graph: &Graph, rev: Rev, dialect: Dialect) -> String {
    let mut hash = Sha256::new();
    for ancestor in graph.ancestors(&[rev]).iter() {
        let revision = graph.revision(ancestor);
        let checksum = revision.upgrade_for(dialect).map_or("", |section| section.checksum.as_str());
        hash.update(format!("{} {checksum}\n", revision.id));
    }
    hash.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The text of a snapshot file: the header, then `statements`.
pub fn snapshot_text(graph: &Graph, rev: Rev, dialect: Dialect, statements: &[String]) -> String {
    let revision = graph.revision(rev);
    let mut text = format!(
        "-- snapshot: {}\n-- dialect: {dialect}\n-- chain-checksum: {}\n\
         -- The schema at revision {} ({}), written by `cargo migrate snapshot`:\n\
         -- a database with no history is created from it in one step. Do not edit;\n\
         -- write it again after changing a revision up to it.\n\n",
        revision.id,
        chain_checksum(graph, rev, dialect),
        revision.id,
        revision.message.split_whitespace().collect::<Vec<_>>().join(" "),
    );
    for statement in statements {
        text += statement;
        text += "\n";
    }
    text
}

/// Parses a snapshot file: `-- key: value` header lines (`snapshot`,
/// `dialect`, `chain-checksum`), then the SQL.
pub fn parse_snapshot(path: &Path, text: &str) -> Result<Snapshot, SnapshotError> {
    let text = crate::model::checksum::normalise(text);
    let malformed =
        |reason: &str| SnapshotError::Malformed { at: Location::file(path), reason: reason.into() };
    let (mut revision, mut dialect, mut checksum) = (None, None, None);
    let mut first_sql_line = 1;
    for (number, line) in text.lines().enumerate() {
        let Some(comment) = line.strip_prefix("--") else { break };
        first_sql_line = number + 2;
        match comment.trim().split_once(':').map(|(key, value)| (key.trim(), value.trim())) {
            Some(("snapshot", value)) => revision = Some(value.to_string()),
            Some(("dialect", value)) => {
                dialect = Some(value.parse().map_err(|_| malformed("unknown dialect"))?)
            }
            Some(("chain-checksum", value)) => checksum = Some(value.to_string()),
            _ => {}
        }
    }
    let sql: String = text.lines().skip(first_sql_line - 1).flat_map(|line| [line, "\n"]).collect();
    Ok(Snapshot {
        revision: revision.ok_or_else(|| malformed("no `-- snapshot: <revision>` header"))?,
        dialect: dialect.ok_or_else(|| malformed("no `-- dialect:` header"))?,
        chain_checksum: checksum.ok_or_else(|| malformed("no `-- chain-checksum:` header"))?,
        sql,
        location: Location::line(path, first_sql_line),
    })
}

impl SnapshotError {
    /// A stable name for the kind of problem (`snapshot-chain-changed`), as
    /// [`ChainError::code`](crate::ChainError::code).
    pub fn code(&self) -> &'static str {
        self.into()
    }

    /// The snapshot file it concerns.
    pub fn location(&self) -> &Location {
        match self {
            SnapshotError::Malformed { at, .. }
            | SnapshotError::UnknownRevision { at, .. }
            | SnapshotError::WrongDialect { at, .. }
            | SnapshotError::ChainChanged { at, .. } => at,
        }
    }
}

impl Snapshot {
    /// The file, for messages.
    pub fn file(&self) -> Location {
        Location::file(self.location.path())
    }

    /// The revision of `graph` this snapshot stands for, once its dialect
    /// and chain checksum are checked against the chain.
    pub fn verify(&self, graph: &Graph, dialect: Dialect) -> Result<Rev, SnapshotError> {
        let at = self.file();
        if self.dialect != dialect {
            return Err(SnapshotError::WrongDialect { at, found: self.dialect, expected: dialect });
        }
        let Some(rev) = graph.find(&self.revision) else {
            return Err(SnapshotError::UnknownRevision { at, revision: self.revision.clone() });
        };
        let current = chain_checksum(graph, rev, dialect);
        if current != self.chain_checksum {
            let (revision, recorded) = (self.revision.clone(), self.chain_checksum.clone());
            return Err(SnapshotError::ChainChanged { at, revision, recorded, current });
        }
        Ok(rev)
    }
}

/// The snapshot a database with no history starts from on its way to
/// `targets`: the newest (last in apply order) whose revision and ancestors
/// all lie below the targets. Only that one is verified: one a run does
/// not reach does not stop it (`check` verifies them all).
pub fn newest_below<'g>(
    graph: &'g Graph,
    dialect: Dialect,
    targets: &[Rev],
) -> Result<Option<(&'g Snapshot, Rev)>, SnapshotError> {
    let below = graph.ancestors(targets);
    let reachable = graph
        .snapshots()
        .iter()
        .filter(|snapshot| snapshot.dialect == dialect)
        .filter_map(|snapshot| Some((snapshot, graph.find(&snapshot.revision)?)))
        .filter(|(_, rev)| below.contains(*rev));
    match reachable.max_by_key(|(_, rev)| *rev) {
        Some((snapshot, _)) => Ok(Some((snapshot, snapshot.verify(graph, dialect)?))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::parse::parse_revision;

    fn graph() -> Graph {
        let revision = |id: &str, parent: &str| {
            let text = format!(
                "-- revision: {id}\n-- revises: {parent}\n-- message: m {id}\n\n-- migrate:upgrade\nCREATE TABLE t_{id} (id INTEGER);\n"
            );
            parse_revision(format!("migrations/{id}_.sql").as_ref(), &text).expect("parses")
        };
        Graph::build(vec![revision("aaaaaaaaaaaa", ""), revision("bbbbbbbbbbbb", "aaaaaaaaaaaa")])
            .expect("graph")
    }

    #[test]
    fn a_written_snapshot_parses_back_and_verifies() {
        let graph = graph();
        let rev = graph.find("bbbbbbbbbbbb").expect("rev");
        let text = snapshot_text(&graph, rev, Dialect::Sqlite, &["CREATE TABLE x (id INTEGER);".to_string()]);
        let path = snapshot_path(Path::new("migrations"), "bbbbbbbbbbbb");
        let snapshot = parse_snapshot(&path, &text).expect("parses");
        assert_eq!(snapshot.revision, "bbbbbbbbbbbb");
        assert_eq!(snapshot.sql.trim(), "CREATE TABLE x (id INTEGER);");
        assert_eq!(snapshot.location.to_string(), "migrations/snapshots/bbbbbbbbbbbb.sql:7");
        assert_eq!(snapshot.verify(&graph, Dialect::Sqlite), Ok(rev));
        let graph = graph.with_snapshots(vec![snapshot]);
        let head = graph.find("bbbbbbbbbbbb").expect("rev");
        let base = graph.find("aaaaaaaaaaaa").expect("rev");
        assert_eq!(newest_below(&graph, Dialect::Sqlite, &[head]).expect("ok").map(|(_, r)| r), Some(head));
        assert_eq!(newest_below(&graph, Dialect::Sqlite, &[base]).expect("ok"), None);
        assert_eq!(newest_below(&graph, Dialect::Postgres, &[head]).expect("ok"), None);
    }

    #[test]
    fn a_changed_chain_or_another_dialect_is_named_with_the_file() {
        let graph = graph();
        let rev = graph.find("bbbbbbbbbbbb").expect("rev");
        let text = snapshot_text(&graph, rev, Dialect::Sqlite, &[])
            .replace("-- chain-checksum: ", "-- chain-checksum: 0");
        let snapshot =
            parse_snapshot(Path::new("migrations/snapshots/bbbbbbbbbbbb.sql"), &text).expect("parses");
        let error = snapshot.verify(&graph, Dialect::Sqlite).expect_err("changed").to_string();
        assert!(
            error.starts_with(
                "migrations/snapshots/bbbbbbbbbbbb.sql: the revisions up to `bbbbbbbbbbbb` changed"
            ),
            "{error}"
        );
        let error = snapshot.verify(&graph, Dialect::Postgres).expect_err("dialect").to_string();
        assert!(error.contains("snapshot for sqlite, but the package's dialect is postgres"), "{error}");
        let error =
            parse_snapshot(Path::new("x.sql"), "CREATE TABLE t (id INTEGER);\n").expect_err("no header");
        assert_eq!(error.to_string(), "x.sql: not a snapshot: no `-- snapshot: <revision>` header");
    }
}
