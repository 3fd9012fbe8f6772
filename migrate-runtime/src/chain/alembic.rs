//! Importing an Alembic project (`import --from alembic`): its revisions are
//! Python, so the caller runs Alembic's own offline mode (`alembic upgrade
//! A:B --sql`, `alembic downgrade B:A --sql`) for each revision and hands
//! the output here with what Alembic's script directory says of the
//! revision (id, `down_revision`, branch labels, `depends_on`, message).
//! Pure: text in, revision files out, as [`crate::chain::import`] does for
//! the SQL tools.
//!
//! Ids stay Alembic's, so the graph keeps its shape: `down_revision`
//! becomes `revises` (a merge stays a merge), `branch_labels` become
//! `branch` labels (those `label@head` can name), `depends_on` becomes `depends-on`. Alembic's own
//! bookkeeping in the output (its `alembic_version` table, the
//! transaction statements) is left out, and only the section Alembic marks
//! `-- Running upgrade … -> ID` (or `-- Running downgrade ID -> …`) is kept:
//! a range through a merge also runs the other branch's revisions.

use crate::chain::import::{AdoptError, HistoryRow, ImportError, ImportErrors, Imported};
use crate::chain::parse::parse_revision;
use crate::chain::scaffold::NewRevision;
use crate::model::location::Location;
use crate::model::revision::{validate_id, validate_label, Dependency};
use crate::model::Direction;
use crate::sql::split::split_statements;
use std::path::{Path, PathBuf};

/// The history table Alembic keeps: one row per head it is at.
pub const ALEMBIC_VERSION_TABLE: &str = "alembic_version";

/// One Alembic revision, as its script directory and offline mode give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlembicRevision {
    pub id: String,
    /// `down_revision`: none for a base, several for a merge.
    pub parents: Vec<String>,
    pub depends_on: Vec<String>,
    /// The labels the revision's file declares (not those it inherits).
    pub branch_labels: Vec<String>,
    /// The first paragraph of its docstring.
    pub message: String,
    /// Its `.py` file, for messages.
    pub path: PathBuf,
    /// What `alembic upgrade PARENT:ID --sql` printed.
    pub upgrade_output: String,
    /// What `alembic downgrade ID:PARENT --sql` printed; `None` when it
    /// failed (a `downgrade()` that raises).
    pub downgrade_output: Option<String>,
}

/// The SQL of revision `id`'s own section of Alembic's offline output for
/// `direction`, without Alembic's bookkeeping.
///
/// ```
/// use migrate_runtime::chain::alembic_section;
/// use migrate_runtime::Direction;
/// let output = "BEGIN;\n\nCREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL);\n\n\
///               -- Running upgrade  -> a1\n\nCREATE TABLE users (id INTEGER);\n\n\
///               INSERT INTO alembic_version (version_num) VALUES ('a1');\n\nCOMMIT;\n";
/// assert_eq!(alembic_section(output, "a1", Direction::Upgrade), "CREATE TABLE users (id INTEGER);");
/// ```
pub fn alembic_section(output: &str, id: &str, direction: Direction) -> String {
    let mut body = String::new();
    let mut inside = false;
    for line in output.lines() {
        if let Some(step) = line.strip_prefix("-- Running ") {
            inside = is_step_of(step, id, direction);
            continue;
        }
        if inside {
            // Alembic ends the lines of a `CREATE TABLE` with a space.
            body.push_str(line.trim_end());
            body.push('\n');
        }
    }
    let statements = split_statements(&body);
    let kept = statements.iter().filter(|s| !s.is_empty() && !is_bookkeeping(s.sql()));
    kept.map(|s| s.text.trim().to_string()).collect::<Vec<_>>().join("\n\n")
}

/// Whether `step` (`upgrade A, B -> ID`, `downgrade ID -> A`) is revision
/// `id`'s in `direction`.
fn is_step_of(step: &str, id: &str, direction: Direction) -> bool {
    let (verb, ids) = match direction {
        Direction::Upgrade => ("upgrade ", 1),
        _ => ("downgrade ", 0),
    };
    let Some(arrow) = step.strip_prefix(verb) else { return false };
    let side = arrow.split("->").nth(ids).unwrap_or_default();
    side.split(',').any(|one| one.trim() == id)
}

/// Alembic's own statements: its version table and the transactions it
/// wraps each step in (a revision file gets its own).
fn is_bookkeeping(sql: &str) -> bool {
    let words: Vec<String> = sql.split_whitespace().take(3).map(str::to_ascii_uppercase).collect();
    let transaction = matches!(words.first().map(String::as_str), Some("BEGIN" | "COMMIT" | "START"));
    transaction || sql.to_ascii_lowercase().contains(ALEMBIC_VERSION_TABLE)
}

/// The revision files of an Alembic project, in the order given (bases
/// first). A downgrade that failed, or printed nothing for an upgrade that
/// did something, makes the revision irreversible (no downgrade section);
/// both empty (a plain merge) is an empty downgrade: nothing to undo.
pub fn import_alembic(revisions: &[AlembicRevision]) -> Result<Vec<Imported>, ImportErrors> {
    let (imported, errors): (Vec<_>, Vec<_>) = revisions.iter().map(alembic_file).partition(Result::is_ok);
    if errors.is_empty() {
        return Ok(imported.into_iter().flatten().collect());
    }
    Err(ImportErrors(errors.into_iter().filter_map(Result::err).collect()))
}

fn alembic_file(revision: &AlembicRevision) -> Result<Imported, ImportError> {
    let at = Location::file(&revision.path);
    validate_id(&revision.id).map_err(|e| ImportError::InvalidId {
        at: at.clone(),
        version: revision.id.clone(),
        reason: e.to_string(),
    })?;
    let upgrade = alembic_section(&revision.upgrade_output, &revision.id, Direction::Upgrade);
    let downgrade = revision
        .downgrade_output
        .as_deref()
        .map(|output| alembic_section(output, &revision.id, Direction::Downgrade))
        .filter(|down| !down.is_empty() || upgrade.is_empty());
    let new = NewRevision {
        id: revision.id.clone(),
        parents: revision.parents.clone(),
        depends_on: revision
            .depends_on
            .iter()
            .map(|id| Dependency { package: None, id: id.clone() })
            .collect(),
        message: revision.message.trim().to_string(),
        created: "1970-01-01T00:00:00Z".to_string(),
        branches: simple_labels(&revision.branch_labels),
        upgrade,
        downgrade: downgrade.clone().unwrap_or_default(),
        ..NewRevision::default()
    };
    let file_name = new.file_name();
    let text = if downgrade.is_some() {
        new.render()
    } else {
        crate::chain::import::without_downgrade(new.render())
    };
    parse_revision(Path::new(&file_name), &text)
        .map_err(|e| ImportError::Unparsable { at, reason: e.to_string().replace('\n', "; ") })?;
    Ok(Imported {
        version: revision.id.clone(),
        id: revision.id.clone(),
        from: vec![revision.path.clone()],
        file_name,
        text,
        checksums: Vec::new(),
    })
}

/// The branch labels `label@head` can name: Alembic allows more
/// (`release-1`), which are left out (the caller says so).
pub fn simple_labels(labels: &[String]) -> Vec<String> {
    labels.iter().filter(|label| validate_label(label).is_ok()).cloned().collect()
}

/// The query for Alembic's history: one row per head it is at.
pub fn alembic_history_sql() -> String {
    format!("SELECT version_num FROM {ALEMBIC_VERSION_TABLE} ORDER BY version_num")
}

/// The revisions to stamp for what `alembic_version` (`rows`, from
/// [`alembic_history_sql`]) shows: each head Alembic is at, which with its
/// ancestors is what it applied. A head the project does not have is
/// refused.
pub fn alembic_adoption(imported: &[Imported], rows: &[HistoryRow]) -> Result<Vec<String>, AdoptError> {
    let heads = rows.iter().filter_map(|row| row.first().cloned().flatten());
    heads
        .map(|head| match imported.iter().find(|one| one.id == head) {
            Some(one) => Ok(one.id.clone()),
            None => Err(AdoptError::UnknownVersion { table: ALEMBIC_VERSION_TABLE, version: head }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MERGE_OUTPUT: &str = "-- Running upgrade a1 -> c3\n\nCREATE TABLE emails (id INTEGER);\n\n\
        UPDATE alembic_version SET version_num='c3' WHERE alembic_version.version_num = 'a1';\n\n\
        -- Running upgrade b2, c3 -> d4\n\nCREATE TABLE audit (id INTEGER);\n\n\
        DELETE FROM alembic_version WHERE alembic_version.version_num = 'b2';\n";

    fn revision(id: &str, parents: &[&str], up: &str, down: Option<&str>) -> AlembicRevision {
        AlembicRevision {
            id: id.to_string(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
            depends_on: Vec::new(),
            branch_labels: Vec::new(),
            message: format!("revision {id}"),
            path: PathBuf::from(format!("versions/{id}_x.py")),
            upgrade_output: format!("-- Running upgrade  -> {id}\n\n{up}\n"),
            downgrade_output: down.map(|d| format!("-- Running downgrade {id} -> \n\n{d}\n")),
        }
    }

    #[test]
    fn only_the_revisions_own_section_is_kept_through_a_merge() {
        assert_eq!(
            alembic_section(MERGE_OUTPUT, "d4", Direction::Upgrade),
            "CREATE TABLE audit (id INTEGER);"
        );
        assert_eq!(
            alembic_section(MERGE_OUTPUT, "c3", Direction::Upgrade),
            "CREATE TABLE emails (id INTEGER);"
        );
        assert_eq!(alembic_section(MERGE_OUTPUT, "a1", Direction::Upgrade), "");
    }

    #[test]
    fn a_failed_or_empty_downgrade_is_irreversible_and_an_empty_merge_is_not() {
        let files = import_alembic(&[
            revision("a1", &[], "CREATE TABLE t (id INTEGER);", Some("")),
            revision("b2", &["a1"], "CREATE TABLE u (id INTEGER);", None),
            revision("c3", &["a1", "b2"], "", Some("")),
        ])
        .expect("imports");
        assert!(!files[0].text.contains("-- migrate:downgrade"), "{}", files[0].text);
        assert!(!files[1].text.contains("-- migrate:downgrade"), "{}", files[1].text);
        assert!(files[2].text.contains("-- migrate:downgrade"), "{}", files[2].text);
        assert!(files[2].text.contains("-- revises: a1, b2"), "{}", files[2].text);
    }

    #[test]
    fn only_labels_label_at_head_can_name_are_kept() {
        let labelled = AlembicRevision {
            branch_labels: vec!["email".into(), "release-1".into()],
            ..revision("a1", &[], "SELECT 1;", Some("SELECT 2;"))
        };
        let files = import_alembic(&[labelled]).expect("imports");
        assert!(files[0].text.contains("-- branch: email\n"), "{}", files[0].text);
        assert!(!files[0].text.contains("release-1"), "{}", files[0].text);
    }

    #[test]
    fn adoption_stamps_each_head_and_refuses_one_the_project_lacks() {
        let files = import_alembic(&[revision("a1", &[], "SELECT 1;", Some("SELECT 2;"))]).expect("imports");
        assert_eq!(alembic_adoption(&files, &[vec![Some("a1".into())]]), Ok(vec!["a1".to_string()]));
        let error = alembic_adoption(&files, &[vec![Some("ff".into())]]).unwrap_err();
        assert!(error.to_string().contains("alembic_version lists version ff"), "{error}");
    }
}
