//! The walk-versions harness: every revision up, down and up again, the
//! schema compared at each step by fingerprints first, data hooks around
//! each revision.

use super::database::TestDatabase;
use crate::apply::{Direction, Options};
use crate::chain::graph::{Graph, Rev};
use crate::model::error::{ApplyError, DatabaseError, TargetError};
use crate::model::revision::Revision;
use crate::schema::{changed_objects, diff_entries, undo, Difference, Schema};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// A data hook: inserts rows before an upgrade, checks them after.
pub type Hook<'a> = Box<dyn FnMut(&mut dyn TestDatabase) -> Result<(), HookError> + 'a>;

/// Whatever a hook failed with: a [`TestDatabase`] error, a `String`, any
/// error a hook takes with `?`.
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

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
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("upgrade of revision `{revision}` failed: {error}")]
    Upgrade { revision: String, error: Box<ApplyError> },
    #[error("downgrade of revision `{revision}` failed: {error}")]
    Downgrade { revision: String, error: Box<ApplyError> },
    #[error("{}", mismatch_message(revision, *stage, differences))]
    Mismatch { revision: String, stage: Comparison, differences: Vec<Difference> },
    #[error("hook {stage} of revision `{revision}` failed: {error}")]
    Hook { revision: String, stage: Stage, error: HookError },
    #[error("after downgrading to base, these are left: {}", left.join(", "))]
    LeftOver { left: Vec<String> },
    #[error("database error: {0}")]
    Database(DatabaseError),
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
    pub fn before_upgrade<E: Into<HookError>>(
        self,
        rev: &str,
        hook: impl FnMut(&mut dyn TestDatabase) -> Result<(), E> + 'a,
    ) -> Self {
        self.hook(rev, Stage::BeforeUpgrade, hook)
    }

    /// `_check_<rev>`: runs after revision `rev` is applied.
    pub fn after_upgrade<E: Into<HookError>>(
        self,
        rev: &str,
        hook: impl FnMut(&mut dyn TestDatabase) -> Result<(), E> + 'a,
    ) -> Self {
        self.hook(rev, Stage::AfterUpgrade, hook)
    }

    /// `_post_downgrade_<rev>`: runs after revision `rev` is reverted.
    pub fn after_downgrade<E: Into<HookError>>(
        self,
        rev: &str,
        hook: impl FnMut(&mut dyn TestDatabase) -> Result<(), E> + 'a,
    ) -> Self {
        self.hook(rev, Stage::AfterDowngrade, hook)
    }

    /// Registers `hook`, its error boxed: a hook may fail with a
    /// [`TestDatabase`] error, a `String` or any other error.
    fn hook<E: Into<HookError>>(
        mut self,
        rev: &str,
        stage: Stage,
        mut hook: impl FnMut(&mut dyn TestDatabase) -> Result<(), E> + 'a,
    ) -> Self {
        let boxed: Hook<'a> = Box::new(move |db| hook(db).map_err(Into::into));
        self.hooks.push((rev.to_string(), stage, boxed));
        self
    }

    /// Walks an in-memory SQLite database.
    #[cfg(feature = "sqlite")]
    pub fn run_sqlite(self) -> Result<WalkReport, WalkError> {
        let mut conn = rusqlite::Connection::open_in_memory().map_err(|e| WalkError::Database(e.into()))?;
        self.run(&mut conn)
    }

    /// Walks `db`, which should be empty.
    pub fn run(mut self, db: &mut dyn TestDatabase) -> Result<WalkReport, WalkError> {
        let hooks = self.resolve_hooks()?;
        let revs = self.revisions_to_walk()?;
        let history = crate::apply::history::create_table_sql(db.dialect(), &self.options.history_table);
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
        let Some(target) = &self.stop_at else { return Ok(self.graph.revs().collect()) };
        let wanted = self.graph.ancestors(&crate::chain::target::resolve(self.graph, target, &[])?);
        Ok(wanted.iter().collect())
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
        let ran = self.db.run_revision(self.graph, revision, Direction::Upgrade, self.options);
        ran.map_err(|error| WalkError::Upgrade { revision: revision.id.clone(), error: Box::new(error) })?;
        self.report.upgraded += 1;
        Ok(())
    }

    fn downgrade(&mut self, revision: &Revision) -> Result<(), WalkError> {
        let ran = self.db.run_revision(self.graph, revision, Direction::Downgrade, self.options);
        ran.map_err(|error| WalkError::Downgrade { revision: revision.id.clone(), error: Box::new(error) })?;
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
            hook(self.db).map_err(|error| WalkError::Hook {
                revision: self.graph.revision(rev).id.clone(),
                stage,
                error,
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
    crate::model::checksum::sql_checksum(&text)
}
