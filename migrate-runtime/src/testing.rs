//! The walk-versions harness and the other checks a test suite runs on a
//! chain: the Rust answer to oslo.db's `WalkVersionsMixin` and
//! pytest-alembic's built-in tests.
//!
//! ```
//! # let text = "-- revision: a1b2c3d4e5f6\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n-- migrate:downgrade\nDROP TABLE t;\n";
//! # let revision = migrate_runtime::parse::parse_revision("migrations/a1b2c3d4e5f6_.sql".as_ref(), text).unwrap();
//! # let graph = migrate_runtime::Graph::build(vec![revision]).unwrap();
//! use migrate_runtime::testing::WalkVersions;
//! let report = WalkVersions::new(&graph)
//!     .before_upgrade("a1b2", |db| db.execute("SELECT 1"))
//!     .after_upgrade("a1b2", |db| db.execute("INSERT INTO t VALUES (1)"))
//!     .run_sqlite()?;
//! assert_eq!((report.revisions, report.upgraded, report.downgraded), (1, 2, 2));
//! # Ok::<(), migrate_runtime::testing::WalkError>(())
//! ```

use crate::apply::Options;
use crate::error::{ApplyError, TargetError};
use crate::graph::{Graph, Rev};
use crate::revision::{Dialect, Revision, Section};
use crate::schema::{changed_objects, diff_entries, undo, Difference, Schema};
use crate::script::{downgrade_step, upgrade_step};
use crate::split::split_statements;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// A database as the harness and data hooks see it, whatever the driver.
pub trait TestDatabase {
    fn dialect(&self) -> Dialect;
    /// Runs one or more statements.
    fn execute(&mut self, sql: &str) -> Result<(), String>;
    /// The rows of a query, every value as text (`None` for NULL).
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, String>;
    /// The schema, without the history table.
    fn schema(&mut self, history_table: &str) -> Result<Schema, String>;

    /// A cheap digest per object (`table user`, `view v`, …): equal digests
    /// mean equal objects; different ones may still describe the same
    /// object. The walk compares these first and re-reads only what differs.
    fn object_fingerprints(&mut self, history_table: &str) -> Result<BTreeMap<String, String>, String> {
        Ok(self.schema(history_table)?.object_digests())
    }

    /// The schema of only the objects named (as in [`TestDatabase::object_fingerprints`]).
    fn schema_of(&mut self, history_table: &str, objects: &[String]) -> Result<Schema, String> {
        Ok(self.schema(history_table)?.only(objects))
    }
}

/// A data hook: inserts rows before an upgrade, checks them after.
pub type Hook<'a> = Box<dyn FnMut(&mut dyn TestDatabase) -> Result<(), String> + 'a>;

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    BeforeUpgrade,
    AfterUpgrade,
    AfterDowngrade,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::BeforeUpgrade => "before its upgrade",
            Stage::AfterUpgrade => "after its upgrade",
            Stage::AfterDowngrade => "after its downgrade",
        })
    }
}

/// Why a walk failed. Every variant names the revision.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("hook for `{prefix}`: {error}")]
    UnknownHookRevision { prefix: String, error: TargetError },
    #[error("{0}")]
    Target(#[from] TargetError),
    #[error("upgrade of revision `{revision}` failed: {error}")]
    Upgrade { revision: String, error: Box<ApplyError> },
    #[error("downgrade of revision `{revision}` failed: {error}")]
    Downgrade { revision: String, error: Box<ApplyError> },
    #[error("{}", mismatch_message(revision, *stage, differences))]
    Mismatch { revision: String, stage: Comparison, differences: Vec<Difference> },
    #[error("hook {stage} of revision `{revision}` failed: {message}")]
    Hook { revision: String, stage: Stage, message: String },
    #[error("after downgrading to base, these are left: {}", left.join(", "))]
    LeftOver { left: Vec<String> },
    #[error("database error: {0}")]
    Database(String),
}

/// Which two snapshots a mismatch compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// After a downgrade against before the upgrade.
    Downgrade,
    /// After the snake walk's second upgrade against after the first.
    Reupgrade,
}

fn mismatch_message(revision: &str, stage: Comparison, differences: &[Difference]) -> String {
    let (now, then) = match stage {
        Comparison::Downgrade => (format!("after downgrade of {revision}"), "before its upgrade"),
        Comparison::Reupgrade => (format!("after upgrading {revision} again"), "after its first upgrade"),
    };
    let lines: Vec<String> = differences
        .iter()
        .map(|d| match (&d.before, &d.after) {
            (None, _) => format!("{}: present {now}, absent {then}", d.object),
            (Some(before), None) => format!("{}: absent {now}, present {then} ({before})", d.object),
            (Some(before), Some(after)) => format!("{}: `{after}` {now}, `{before}` {then}", d.object),
        })
        .collect();
    lines.join("\n")
}

/// What a walk did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalkReport {
    /// Revisions walked.
    pub revisions: usize,
    /// Upgrades run (the snake walk runs each twice).
    pub upgraded: usize,
    pub downgraded: usize,
    /// The irreversible revision the final downgrade stopped at, if any.
    pub stopped_at_irreversible: Option<String>,
}

/// The walk-versions harness: from an empty database, every revision up,
/// (snake walk) down and up again, then all the way down, the schema
/// compared at every step and data hooks run around each revision.
pub struct WalkVersions<'a> {
    graph: &'a Graph,
    options: Options,
    snake: bool,
    downgrade: bool,
    stop_at: Option<String>,
    min_downgrade: Option<String>,
    hooks: Vec<(String, Stage, Hook<'a>)>,
}

impl<'a> WalkVersions<'a> {
    pub fn new(graph: &'a Graph) -> WalkVersions<'a> {
        WalkVersions {
            graph,
            options: Options::new("walk"),
            snake: true,
            downgrade: true,
            stop_at: None,
            min_downgrade: None,
            hooks: Vec::new(),
        }
    }

    /// History-table name and package for the walk's history rows.
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// Upgrade straight through, without the down-and-up at each step.
    pub fn without_snake(mut self) -> Self {
        self.snake = false;
        self
    }

    /// Never downgrade (for chains that are not meant to be reversible).
    pub fn without_downgrade(mut self) -> Self {
        self.downgrade = false;
        self
    }

    /// Walk only up to `target` and its ancestors.
    pub fn stop_at(mut self, target: &str) -> Self {
        self.stop_at = Some(target.to_string());
        self
    }

    /// The final downgrade stops once `target` is the newest revision left.
    pub fn min_downgrade(mut self, target: &str) -> Self {
        self.min_downgrade = Some(target.to_string());
        self
    }

    /// `_pre_upgrade_<rev>`: runs before revision `rev` (id or unique prefix)
    /// is applied. Hooks run on the first upgrade of the snake walk only, as
    /// in oslo.db: insert the data a revision must keep here, not in the
    /// previous revision's `after_upgrade`, whose own down-and-up drops it.
    pub fn before_upgrade(
        self,
        rev: &str,
        hook: impl FnMut(&mut dyn TestDatabase) -> Result<(), String> + 'a,
    ) -> Self {
        self.hook(rev, Stage::BeforeUpgrade, Box::new(hook))
    }

    /// `_check_<rev>`: runs after revision `rev` is applied.
    pub fn after_upgrade(
        self,
        rev: &str,
        hook: impl FnMut(&mut dyn TestDatabase) -> Result<(), String> + 'a,
    ) -> Self {
        self.hook(rev, Stage::AfterUpgrade, Box::new(hook))
    }

    /// `_post_downgrade_<rev>`: runs after revision `rev` is reverted.
    pub fn after_downgrade(
        self,
        rev: &str,
        hook: impl FnMut(&mut dyn TestDatabase) -> Result<(), String> + 'a,
    ) -> Self {
        self.hook(rev, Stage::AfterDowngrade, Box::new(hook))
    }

    fn hook(mut self, rev: &str, stage: Stage, hook: Hook<'a>) -> Self {
        self.hooks.push((rev.to_string(), stage, hook));
        self
    }

    /// Walks an in-memory SQLite database.
    #[cfg(feature = "sqlite")]
    pub fn run_sqlite(self) -> Result<WalkReport, WalkError> {
        let mut conn =
            rusqlite::Connection::open_in_memory().map_err(|e| WalkError::Database(e.to_string()))?;
        self.run(&mut conn)
    }

    /// Walks `db`, which should be empty.
    pub fn run(mut self, db: &mut dyn TestDatabase) -> Result<WalkReport, WalkError> {
        let hooks = self.resolve_hooks()?;
        let revs = self.revisions_to_walk()?;
        let history = crate::history::create_table_sql(db.dialect(), &self.options.history_table);
        db.execute(&history).map_err(WalkError::Database)?;
        let floor = match &self.min_downgrade {
            Some(target) => Some(self.graph.resolve_id(target)?),
            None => None,
        };
        let report = WalkReport { revisions: revs.len(), ..WalkReport::default() };
        let mut walk = Walk { graph: self.graph, options: &self.options, db, hooks, report };
        walk.up_and_down(&revs, self.snake, self.downgrade.then_some(floor))?;
        Ok(walk.report)
    }

    fn resolve_hooks(&mut self) -> Result<HashMap<(Rev, Stage), Vec<Hook<'a>>>, WalkError> {
        let mut resolved: HashMap<(Rev, Stage), Vec<Hook<'a>>> = HashMap::new();
        for (prefix, stage, hook) in self.hooks.drain(..) {
            let rev = self
                .graph
                .resolve_id(&prefix)
                .map_err(|error| WalkError::UnknownHookRevision { prefix: prefix.clone(), error })?;
            resolved.entry((rev, stage)).or_default().push(hook);
        }
        Ok(resolved)
    }

    fn revisions_to_walk(&self) -> Result<Vec<Rev>, WalkError> {
        let Some(target) = &self.stop_at else { return Ok((0..self.graph.len()).collect()) };
        let wanted = self.graph.ancestors(&crate::target::resolve(self.graph, target, &[])?);
        Ok((0..self.graph.len()).filter(|&r| wanted[r]).collect())
    }
}

/// The state of one walk.
struct Walk<'w, 'a> {
    graph: &'w Graph,
    options: &'w Options,
    db: &'w mut dyn TestDatabase,
    hooks: HashMap<(Rev, Stage), Vec<Hook<'a>>>,
    report: WalkReport,
}

/// Per-object fingerprints, as [`TestDatabase::object_fingerprints`] gives them.
type Fingerprints = BTreeMap<String, String>;

/// What the final downgrade needs of each revision: a digest of the
/// fingerprints from before its upgrade, and what its upgrade changed.
/// Keeping changes instead of snapshots keeps a long walk's memory small.
struct Step {
    rev: Rev,
    digest_before: String,
    changes: Vec<Difference>,
}

impl Walk<'_, '_> {
    /// Upgrades every revision in `revs` (in the snake walk each also down
    /// and up again), then, with `downgrade`, all the way down. Each step
    /// re-reads only the objects whose fingerprints changed, so a walk costs
    /// about the same per revision on a long chain as on a short one.
    fn up_and_down(
        &mut self,
        revs: &[Rev],
        snake: bool,
        downgrade: Option<Option<Rev>>,
    ) -> Result<(), WalkError> {
        let mut current = self.schema()?;
        let mut fingerprints = self.fingerprints()?;
        let mut steps = Vec::with_capacity(revs.len());
        for &rev in revs {
            let (after, changes) =
                self.step_up(rev, &mut current, &fingerprints, snake && downgrade.is_some())?;
            steps.push(Step { rev, digest_before: digest(&fingerprints), changes });
            fingerprints = after;
        }
        match downgrade {
            Some(floor) => self.all_the_way_down(&steps, current.entries(), floor),
            None => Ok(()),
        }
    }

    /// Upgrades `rev` (and, in the snake walk, down and up again), bringing
    /// `current` up to date; returns the fingerprints after it and what it
    /// changed.
    fn step_up(
        &mut self,
        rev: Rev,
        current: &mut Schema,
        before: &Fingerprints,
        snake: bool,
    ) -> Result<(Fingerprints, Vec<Difference>), WalkError> {
        let revision = self.graph.revision(rev);
        self.run_hooks(rev, Stage::BeforeUpgrade)?;
        self.upgrade(revision)?;
        self.run_hooks(rev, Stage::AfterUpgrade)?;
        let after = self.fingerprints()?;
        let changed = changed_objects(before, &after);
        let changed_after = self.schema_of(&changed)?;
        let changes = current.only(&changed).diff(&changed_after);
        let reversible = snake && revision.downgrade_for(self.db.dialect()).is_some();
        if reversible {
            self.downgrade(revision)?;
            self.expect(revision, Comparison::Downgrade, before, current)?;
            self.run_hooks(rev, Stage::AfterDowngrade)?;
        }
        current.replace(&changed, changed_after);
        if reversible {
            self.upgrade(revision)?;
            self.expect(revision, Comparison::Reupgrade, &after, current)?;
        }
        Ok((after, changes))
    }

    fn all_the_way_down(
        &mut self,
        steps: &[Step],
        mut expected: BTreeMap<String, String>,
        floor: Option<Rev>,
    ) -> Result<(), WalkError> {
        for step in steps.iter().rev() {
            if Some(step.rev) == floor {
                return Ok(());
            }
            let revision = self.graph.revision(step.rev);
            if revision.downgrade_for(self.db.dialect()).is_none() {
                self.report.stopped_at_irreversible = Some(revision.id.clone());
                return Ok(());
            }
            self.downgrade(revision)?;
            undo(&mut expected, &step.changes);
            if digest(&self.fingerprints()?) != step.digest_before {
                let differences = diff_entries(&expected, &self.schema()?.entries());
                self.fail_on(revision, Comparison::Downgrade, differences)?;
            }
            self.run_hooks(step.rev, Stage::AfterDowngrade)?;
        }
        let left: Vec<String> = self.schema()?.entries().into_keys().collect();
        if left.is_empty() || floor.is_some() {
            Ok(())
        } else {
            Err(WalkError::LeftOver { left })
        }
    }

    fn upgrade(&mut self, revision: &Revision) -> Result<(), WalkError> {
        let dialect = self.db.dialect();
        let fail = |error| WalkError::Upgrade { revision: revision.id.clone(), error: Box::new(error) };
        let script = upgrade_step(revision, dialect, self.options).map_err(fail)?;
        let section = crate::plan::upgrade_section(revision, dialect).map_err(fail)?;
        run_step(self.db, revision, section, &script).map_err(fail)?;
        self.report.upgraded += 1;
        Ok(())
    }

    fn downgrade(&mut self, revision: &Revision) -> Result<(), WalkError> {
        let dialect = self.db.dialect();
        let fail = |error| WalkError::Downgrade { revision: revision.id.clone(), error: Box::new(error) };
        let script = downgrade_step(revision, dialect, self.options).map_err(fail)?;
        let Some(section) = revision.downgrade_for(dialect) else { return Ok(()) };
        run_step(self.db, revision, section, &script).map_err(fail)?;
        self.report.downgraded += 1;
        Ok(())
    }

    /// Compares the database with the state `expected` (whose fingerprints
    /// are `fingerprints`), re-reading only objects whose fingerprints differ.
    fn expect(
        &mut self,
        revision: &Revision,
        stage: Comparison,
        fingerprints: &Fingerprints,
        expected: &Schema,
    ) -> Result<(), WalkError> {
        let now = self.fingerprints()?;
        if now == *fingerprints {
            return Ok(());
        }
        let differing = changed_objects(fingerprints, &now);
        let actual = self.schema_of(&differing)?;
        self.fail_on(revision, stage, expected.only(&differing).diff(&actual))
    }

    fn fail_on(
        &self,
        revision: &Revision,
        stage: Comparison,
        differences: Vec<Difference>,
    ) -> Result<(), WalkError> {
        if differences.is_empty() {
            return Ok(());
        }
        Err(WalkError::Mismatch { revision: revision.id.clone(), stage, differences })
    }

    fn run_hooks(&mut self, rev: Rev, stage: Stage) -> Result<(), WalkError> {
        let Some(hooks) = self.hooks.get_mut(&(rev, stage)) else { return Ok(()) };
        for hook in hooks {
            hook(self.db).map_err(|message| WalkError::Hook {
                revision: self.graph.revision(rev).id.clone(),
                stage,
                message,
            })?;
        }
        Ok(())
    }

    fn schema(&mut self) -> Result<Schema, WalkError> {
        self.db.schema(&self.options.history_table).map_err(WalkError::Database)
    }

    fn schema_of(&mut self, objects: &[String]) -> Result<Schema, WalkError> {
        if objects.is_empty() {
            return Ok(Schema::default());
        }
        self.db.schema_of(&self.options.history_table, objects).map_err(WalkError::Database)
    }

    fn fingerprints(&mut self) -> Result<Fingerprints, WalkError> {
        self.db.object_fingerprints(&self.options.history_table).map_err(WalkError::Database)
    }
}

/// One digest of a whole fingerprint map, kept per revision for the final
/// downgrade.
fn digest(fingerprints: &Fingerprints) -> String {
    let text: String = fingerprints.iter().map(|(object, digest)| format!("{object}={digest}\n")).collect();
    crate::checksum::sql_checksum(&text)
}

/// Runs one revision's script; on failure rolls back and replays its
/// statements one by one, in a transaction rolled back too, to name the
/// statement and line that failed.
fn run_step(
    db: &mut dyn TestDatabase,
    revision: &Revision,
    section: &Section,
    script: &str,
) -> Result<(), ApplyError> {
    let Err(message) = db.execute(script) else { return Ok(()) };
    let _ = db.execute("ROLLBACK");
    let _ = db.execute("BEGIN");
    let mut found = None;
    for statement in split_statements(&section.sql).into_iter().filter(|s| !s.is_empty()) {
        if let Err(error) = db.execute(statement.text) {
            found = Some(crate::apply::statement_error(
                revision,
                section,
                statement.line,
                statement.sql(),
                &error,
            ));
            break;
        }
    }
    let _ = db.execute("ROLLBACK");
    // No statement of the section fails alone: the history row did.
    Err(found.unwrap_or(ApplyError::Database(message)))
}

/// `table user` → `user`: the names drivers filter introspection by.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn object_names(objects: &[String]) -> Vec<String> {
    objects.iter().map(|o| o.split_once(' ').map_or(o.as_str(), |(_, name)| name).to_string()).collect()
}

/// pytest-alembic's `test_single_head_revision`.
pub fn check_single_head(graph: &Graph) -> Result<(), TargetError> {
    crate::target::resolve(graph, "head", &[]).map(drop)
}

/// pytest-alembic's `test_upgrade`: every revision applies, from empty.
pub fn check_upgrade(graph: &Graph, db: &mut dyn TestDatabase) -> Result<(), WalkError> {
    WalkVersions::new(graph).without_snake().without_downgrade().run(db).map(drop)
}

/// Every revision has a downgrade for `dialect`, except those listed as
/// irreversible on purpose. Returns the revisions that lack one.
pub fn check_downgrades_exist(
    graph: &Graph,
    dialect: Dialect,
    irreversible: &[&str],
) -> Result<(), Vec<String>> {
    let missing: Vec<String> = graph
        .revisions()
        .iter()
        .filter(|r| r.downgrade_for(dialect).is_none() && !irreversible.iter().any(|id| r.id.starts_with(id)))
        .map(|r| format!("{}: revision `{}` has no downgrade section", r.location, r.id))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing)
    }
}

/// Offline SQL can be generated for every step, up and down.
pub fn check_offline_sql(graph: &Graph, dialect: Dialect, options: &Options) -> Result<(), ApplyError> {
    for revision in graph.revisions() {
        upgrade_step(revision, dialect, options)?;
        if revision.downgrade_for(dialect).is_some() {
            downgrade_step(revision, dialect, options)?;
        }
    }
    Ok(())
}

#[cfg(feature = "sqlite")]
impl TestDatabase for rusqlite::Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str) -> Result<(), String> {
        self.execute_batch(sql).map_err(|e| e.to_string())
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
        let mut statement = self.prepare(sql).map_err(|e| e.to_string())?;
        let width = statement.column_count();
        let rows = statement
            .query_map([], |row| {
                (0..width)
                    .map(|i| {
                        let value: rusqlite::types::Value = row.get(i)?;
                        Ok(match value {
                            rusqlite::types::Value::Null => None,
                            rusqlite::types::Value::Integer(i) => Some(i.to_string()),
                            rusqlite::types::Value::Real(f) => Some(f.to_string()),
                            rusqlite::types::Value::Text(t) => Some(t),
                            rusqlite::types::Value::Blob(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                        })
                    })
                    .collect()
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }

    fn schema(&mut self, history_table: &str) -> Result<Schema, String> {
        crate::introspect_sqlite::introspect(self, history_table).map_err(|e| e.to_string())
    }

    fn object_fingerprints(&mut self, history_table: &str) -> Result<BTreeMap<String, String>, String> {
        crate::introspect_sqlite::object_fingerprints(self, history_table).map_err(|e| e.to_string())
    }

    fn schema_of(&mut self, history_table: &str, objects: &[String]) -> Result<Schema, String> {
        crate::introspect_sqlite::introspect_objects(self, history_table, Some(&object_names(objects)))
            .map_err(|e| e.to_string())
    }
}

/// A PostgreSQL connection driven synchronously, for the harness and hooks.
#[cfg(feature = "postgres")]
pub struct PostgresTestDatabase {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

#[cfg(feature = "postgres")]
impl PostgresTestDatabase {
    /// Connects to `url` (no TLS).
    pub fn connect(url: &str) -> Result<PostgresTestDatabase, String> {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        let (client, connection) = runtime
            .block_on(tokio_postgres::connect(url, tokio_postgres::NoTls))
            .map_err(|e| format!("cannot connect to {}: {e}", crate::url::redact(url)))?;
        runtime.spawn(connection);
        Ok(PostgresTestDatabase { runtime, client })
    }
}

#[cfg(feature = "postgres")]
impl TestDatabase for PostgresTestDatabase {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str) -> Result<(), String> {
        self.runtime.block_on(self.client.batch_execute(sql)).map_err(|e| describe(&e))
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
        let messages = self.runtime.block_on(self.client.simple_query(sql)).map_err(|e| describe(&e))?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => {
                    Some((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .collect())
    }

    fn schema(&mut self, history_table: &str) -> Result<Schema, String> {
        self.runtime
            .block_on(crate::introspect_postgres::introspect(&self.client, history_table))
            .map_err(|e| describe(&e))
    }

    fn object_fingerprints(&mut self, history_table: &str) -> Result<BTreeMap<String, String>, String> {
        self.runtime
            .block_on(crate::introspect_postgres::object_fingerprints(&self.client, history_table))
            .map_err(|e| describe(&e))
    }

    fn schema_of(&mut self, history_table: &str, objects: &[String]) -> Result<Schema, String> {
        let names = object_names(objects);
        self.runtime
            .block_on(crate::introspect_postgres::introspect_objects(
                &self.client,
                history_table,
                Some(&names),
            ))
            .map_err(|e| describe(&e))
    }
}

#[cfg(feature = "postgres")]
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => db.message().to_string(),
        None => error.to_string(),
    }
}

/// Test databases already at head, copied from a template migrated once:
/// a test suite then pays for the chain once, not once per test.
///
/// ```
/// # let text = "-- revision: a1b2c3d4e5f6\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n";
/// # let revision = migrate_runtime::parse::parse_revision("migrations/a1b2c3d4e5f6_.sql".as_ref(), text).unwrap();
/// # let graph = migrate_runtime::Graph::build(vec![revision]).unwrap();
/// use migrate_runtime::{apply::Options, testing::SqliteTemplate};
/// let template = SqliteTemplate::new(&graph, &Options::new("app"))?;
/// let conn = template.database()?; // a fresh in-memory copy at head
/// conn.execute("INSERT INTO t VALUES (1)", [])?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "sqlite")]
pub struct SqliteTemplate {
    template: rusqlite::Connection,
}

#[cfg(feature = "sqlite")]
impl SqliteTemplate {
    /// Migrates an in-memory database to head.
    pub fn new(graph: &Graph, options: &Options) -> Result<SqliteTemplate, ApplyError> {
        let template =
            rusqlite::Connection::open_in_memory().map_err(|e| ApplyError::Database(e.to_string()))?;
        crate::sqlite::SqliteMigrator::new(&template, graph, options).upgrade("heads", &mut |_| {})?;
        Ok(SqliteTemplate { template })
    }

    /// A new in-memory database with the template's schema, data and
    /// history, copied with SQLite's backup API.
    pub fn database(&self) -> rusqlite::Result<rusqlite::Connection> {
        let mut copy = rusqlite::Connection::open_in_memory()?;
        // One step of every page: an in-memory source is never busy.
        rusqlite::backup::Backup::new(&self.template, &mut copy)?.step(-1)?;
        Ok(copy)
    }
}

/// PostgreSQL databases at head, made with `CREATE DATABASE … TEMPLATE`
/// from a template migrated once.
///
/// The template's name is derived from the chain's checksums, so later runs
/// against the same server reuse it; it is built under a temporary name and
/// renamed when complete, so an interrupted run never leaves a half-migrated
/// template behind.
#[cfg(feature = "postgres")]
pub struct PostgresTemplate {
    server: String,
    template: String,
}

#[cfg(feature = "postgres")]
impl PostgresTemplate {
    /// Finds or builds the template on the server of `server_url` (whose
    /// own database is used only to run `CREATE DATABASE`).
    pub fn new(server_url: &str, graph: &Graph, options: &Options) -> Result<PostgresTemplate, String> {
        let template = format!("migrate_template_{}", chain_fingerprint(graph, &options.package));
        let mut admin = PostgresTestDatabase::connect(server_url)?;
        let exists = admin.query(&format!("SELECT 1 FROM pg_database WHERE datname = '{template}'"))?;
        if exists.is_empty() {
            let building = format!("{template}_{}", std::process::id());
            admin.execute(&format!("DROP DATABASE IF EXISTS {building}"))?;
            admin.execute(&format!("CREATE DATABASE {building}"))?;
            let db = PostgresTestDatabase::connect(&database_url(server_url, &building))?;
            let migrated = db.runtime.block_on(
                crate::postgres::PostgresMigrator::new(&db.client, graph, options)
                    .upgrade("heads", &mut |_| {}),
            );
            drop(db);
            migrated.map_err(|e| e.to_string())?;
            // Another process may have finished the same template first.
            if admin.execute(&format!("ALTER DATABASE {building} RENAME TO {template}")).is_err() {
                admin.execute(&format!("DROP DATABASE {building}"))?;
            }
        }
        Ok(PostgresTemplate { server: server_url.to_string(), template })
    }

    /// Creates database `name` from the template and returns its URL.
    pub fn database(&self, name: &str) -> Result<String, String> {
        let mut admin = PostgresTestDatabase::connect(&self.server)?;
        let name = crate::history::quote_ident(name);
        admin.execute(&format!("CREATE DATABASE {name} TEMPLATE {}", self.template))?;
        Ok(database_url(&self.server, name.trim_matches('"')))
    }
}

/// The first 16 hex digits of a hash over the package and every revision's
/// id and upgrade checksums: a new or edited revision gives a new template.
#[cfg(feature = "postgres")]
fn chain_fingerprint(graph: &Graph, package: &str) -> String {
    let mut text = package.to_string();
    for revision in graph.revisions() {
        text += &revision.id;
        revision.upgrade.iter().for_each(|section| text += &section.checksum);
    }
    crate::checksum::sql_checksum(&text)[..16].to_string()
}

/// `url` pointing at database `name` instead.
#[cfg(feature = "postgres")]
pub fn database_url(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(base, query)| (base, Some(query)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..].find('/').map_or(base.len(), |i| authority + i);
    match query {
        Some(query) => format!("{}/{name}?{query}", &base[..path]),
        None => format!("{}/{name}", &base[..path]),
    }
}

/// Loads the chain in `folder` (relative paths in messages) and walks it on
/// in-memory SQLite: what [`walk_versions_test!`](crate::walk_versions_test)
/// runs.
#[cfg(feature = "sqlite")]
pub fn walk_sqlite_folder(package_root: &std::path::Path, folder: &str) -> Result<WalkReport, String> {
    let graph = crate::load::load_graph(package_root, folder.as_ref()).map_err(|e| e.to_string())?;
    WalkVersions::new(&graph).run_sqlite().map_err(|e| e.to_string())
}

/// Walks the chain on a fresh database of the test PostgreSQL server
/// ([`crate::pg_server::test_server`]); `Ok(None)` when no server can be
/// had and `CI` is not set. Without the `postgres` feature, always `Ok(None)`.
pub fn walk_postgres_folder(
    package_root: &std::path::Path,
    folder: &str,
) -> Result<Option<WalkReport>, String> {
    #[cfg(feature = "postgres")]
    {
        let graph = crate::load::load_graph(package_root, folder.as_ref()).map_err(|e| e.to_string())?;
        let Some(server) = crate::pg_server::test_server().map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let name = format!("walk_{}_{}", std::process::id(), chain_fingerprint(&graph, "walk"));
        let mut admin = PostgresTestDatabase::connect(&server)?;
        admin.execute(&format!("DROP DATABASE IF EXISTS {name}"))?;
        admin.execute(&format!("CREATE DATABASE {name}"))?;
        let mut db = PostgresTestDatabase::connect(&database_url(&server, &name))?;
        let report = WalkVersions::new(&graph).run(&mut db).map_err(|e| e.to_string());
        drop(db);
        let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {name}"));
        report.map(Some)
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = (package_root, folder);
        Ok(None)
    }
}

/// `#[test]` functions that walk a package's chain: on in-memory SQLite,
/// and on PostgreSQL when a server can be had (always under `CI`).
///
/// ```ignore
/// // tests/migrations.rs
/// migrate_runtime::walk_versions_test!();              // the `migrations` folder
/// migrate_runtime::walk_versions_test!("db/revisions"); // or another one
/// ```
#[macro_export]
macro_rules! walk_versions_test {
    () => {
        $crate::walk_versions_test!("migrations");
    };
    ($folder:literal) => {
        #[test]
        fn walk_versions_sqlite() {
            let root = ::std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            if let Err(error) = $crate::testing::walk_sqlite_folder(root, $folder) {
                panic!("walk-versions on SQLite failed:\n{error}");
            }
        }

        #[test]
        fn walk_versions_postgres() {
            let root = ::std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            match $crate::testing::walk_postgres_folder(root, $folder) {
                Ok(Some(_)) => {}
                Ok(None) => eprintln!("walk-versions on PostgreSQL skipped: no server here"),
                Err(error) => panic!("walk-versions on PostgreSQL failed:\n{error}"),
            }
        }
    };
}
