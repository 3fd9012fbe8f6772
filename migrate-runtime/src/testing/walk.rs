//! The walk-versions harness: every revision up, down and up again, the
//! schema compared at each step by fingerprints first, data hooks around
//! each revision. By default a defect does not end the walk: it is kept,
//! the database is rebuilt to where the walk was, and the walk goes on, so
//! one run lists every defect of a chain.

use super::database::TestDatabase;
use super::fingerprints::{Changes, Fingerprints};
use super::report;
use crate::apply::{Direction, Options};
use crate::chain::graph::{Graph, Rev};
use crate::model::error::{ApplyError, DatabaseError, TargetError};
use crate::model::location::Location;
use crate::model::revision::Revision;
use crate::schema::{diff_entries, undo, Difference, Schema};
use std::collections::{BTreeMap, HashMap, HashSet};
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
///
/// `Downgrade`, `Reupgrade`, `Mismatch`, `Hook`, `LeftOver`, `Snapshot`
/// and `SnapshotMismatch` are defects of the chain, which a walk that goes on ([`WalkVersions::fail_fast`] not
/// called) gathers into `Defects`; the others end the walk at once.
#[derive(Debug, thiserror::Error, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case", prefix = "walk-")]
pub enum WalkError {
    #[error("hook for `{prefix}`: {error}")]
    UnknownHookRevision { prefix: String, error: TargetError },
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A revision's first upgrade failed: the revisions after it cannot be
    /// walked, so this ends the walk.
    #[error("upgrade of revision `{revision}` failed: {error}")]
    Upgrade { revision: String, error: Box<ApplyError> },
    #[error("downgrade of revision `{revision}` failed: {error}")]
    Downgrade { revision: String, error: Box<ApplyError> },
    /// The upgrade failed when run again after a downgrade that gave back
    /// the schema: the downgrade left something else behind (rows, a
    /// sequence's position, an object outside the compared schema).
    #[error("upgrading revision `{revision}` again after its downgrade failed: {error}")]
    Reupgrade { revision: String, error: Box<ApplyError> },
    /// `at` is the section that ran last: the downgrade's, or the upgrade's
    /// when run again.
    #[error("{}", report::mismatch(at, revision, *stage, differences))]
    Mismatch { revision: String, at: Location, stage: Comparison, differences: Vec<Difference> },
    #[error("hook {stage} of revision `{revision}` failed: {error}")]
    Hook { revision: String, stage: Stage, error: HookError },
    #[error("after downgrading to base, these are left: {}", left.join(", "))]
    LeftOver { left: Vec<String> },
    #[error("database error: {0}")]
    Database(DatabaseError),
    /// Every defect of a walk that went on after the first, in the order
    /// found (never empty).
    #[error("{}", report::defects(.0))]
    Defects(Vec<WalkError>),
    /// The database could not be rebuilt to go on after a defect; the
    /// defects found so far come first.
    #[error("{}\ncannot go on after that: rebuilding the database failed: {error}", report::defects(found))]
    Rebuild { found: Vec<WalkError>, error: Box<WalkError> },
    /// [`Options::interrupt`] asked the walk to stop, and it did.
    #[error("interrupted: the walk stopped at revision `{revision}`")]
    Interrupted { revision: String },
    /// [`WalkVersions::check_incremental_reads`]: after revision
    /// `revision` ran, reading only what may have changed missed objects
    /// a full read shows changed, or the snapshot kept step by step
    /// differs from a full read. A fault of the walk, not of the chain.
    #[error("after revision `{revision}` the walk's incremental read differs from a full read: {}", objects.join(", "))]
    IncrementalRead { revision: String, objects: Vec<String> },
    /// A snapshot of the chain ([`Snapshot`](crate::chain::Snapshot)) the walk
    /// cannot prove: written for another chain (stale, or of a revision
    /// the folder lacks), or one of its statements fails. A defect.
    #[error("{0}")]
    Snapshot(Box<ApplyError>),
    /// The schema a snapshot creates in an empty database differs from
    /// the one replaying the revisions up to its own builds. A defect;
    /// `at` is the snapshot's file.
    #[error("{}", report::snapshot_mismatch(at, revision, differences))]
    SnapshotMismatch { revision: String, at: Location, differences: Vec<Difference> },
}

impl WalkError {
    /// A stable name for the kind of defect (`walk-mismatch`,
    /// `walk-downgrade`), as [`ChainError::code`](crate::ChainError::code).
    pub fn code(&self) -> &'static str {
        self.into()
    }

    /// The file (and line) it concerns, when it concerns one: the section
    /// that ran last for a mismatch, the failing statement's for a failed
    /// step, the snapshot's file for a snapshot.
    pub fn location(&self) -> Option<&Location> {
        match self {
            WalkError::Mismatch { at, .. } | WalkError::SnapshotMismatch { at, .. } => Some(at),
            WalkError::Upgrade { error, .. }
            | WalkError::Downgrade { error, .. }
            | WalkError::Reupgrade { error, .. }
            | WalkError::Snapshot(error) => error.location(),
            _ => None,
        }
    }

    /// The defects it holds, one by one: itself, or each of a walk that
    /// went on (with those found before a rebuild failed, then that).
    pub fn defects(&self) -> Vec<&WalkError> {
        match self {
            WalkError::Defects(found) => found.iter().collect(),
            WalkError::Rebuild { found, error } => found.iter().chain([&**error]).collect(),
            other => vec![other],
        }
    }
}

/// Which two snapshots a mismatch compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// After a downgrade against before the upgrade.
    Downgrade,
    /// After the snake walk's second upgrade against after the first.
    Reupgrade,
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
    after_defect: AfterDefect,
    reads: Reads,
}

/// How the walk knows the schema at each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reads {
    /// Only what may have changed.
    Incremental,
    /// Only what may have changed, each read checked against a full read.
    Checked,
}

/// What a walk does once it found a defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterDefect {
    /// Keep it, rebuild the database to where the walk was, go on.
    GoOn,
    /// Return it.
    Stop,
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
            after_defect: AfterDefect::GoOn,
            reads: Reads::Incremental,
        }
    }

    /// Checks the walk itself: after every step, the objects a full read
    /// shows changed must be among those the walk's cheaper read of what
    /// may have changed reported, and the schema the walk keeps step by
    /// step must equal a full read ([`WalkError::IncrementalRead`]
    /// otherwise). A full read per step makes a long walk slow; this is
    /// for testing the walk and for doubting it.
    pub fn check_incremental_reads(mut self) -> Self {
        self.reads = Reads::Checked;
        self
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

    /// Stop at the first defect and return it. Without this the walk goes
    /// on after each defect from a database rebuilt to where it was (the
    /// revisions walked so far upgraded on an emptied database, their
    /// `before_upgrade` and `after_upgrade` hooks run again) and returns
    /// every defect at the end as [`WalkError::Defects`].
    pub fn fail_fast(mut self) -> Self {
        self.after_defect = AfterDefect::Stop;
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

    /// Walks `db`, which must be a database made for the walk and empty:
    /// after a defect the walk empties it ([`TestDatabase::reset`]) and
    /// rebuilds it. When the chain has snapshots of `db`'s dialect, the
    /// walk then proves each against the schema it replayed up to the
    /// snapshot's revision, in `db` emptied again (and leaves it empty);
    /// a snapshot that disagrees is a defect like the others.
    pub fn run(mut self, db: &mut dyn TestDatabase) -> Result<WalkReport, WalkError> {
        let hooks = self.resolve_hooks()?;
        let revs = self.revisions_to_walk()?;
        let floor = match &self.min_downgrade {
            Some(target) => Some(self.graph.resolve_id(target)?),
            None => None,
        };
        let report = WalkReport { revisions: revs.len(), ..WalkReport::default() };
        let mut walk = Walk {
            graph: self.graph,
            options: &self.options,
            db,
            hooks,
            report,
            after_defect: self.after_defect,
            steps: Vec::with_capacity(revs.len()),
            defects: Vec::new(),
            broken: HashSet::new(),
            fingerprints: Fingerprints::default(),
            reads: self.reads,
            last_full: None,
            last_revision: String::new(),
            replayed: HashMap::new(),
        };
        walk.create_history()?;
        let walked = walk.up_and_down(&revs, self.snake, self.downgrade.then_some(floor));
        walk.stop_logging();
        walked?;
        walk.prove_snapshots(&revs)?;
        walk.finish()
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
    after_defect: AfterDefect,
    /// One per revision upgraded so far, in walk order.
    steps: Vec<Step>,
    defects: Vec<WalkError>,
    /// Revisions whose downgrade was found defective: the final downgrade
    /// does not run them again (it would report the same defect) but
    /// rebuilds the database below them.
    broken: HashSet<Rev>,
    /// The fingerprints of the database as it is now.
    fingerprints: Fingerprints,
    reads: Reads,
    /// [`Reads::Checked`]: the full read at the last update.
    last_full: Option<BTreeMap<String, String>>,
    /// The revision that ran last, for [`WalkError::IncrementalRead`].
    last_revision: String,
    /// The schema replayed up to each revision that has a snapshot, kept
    /// when the walk passed through exactly its ancestors.
    replayed: HashMap<Rev, Schema>,
}

/// What the final downgrade needs of each revision: a digest of the
/// fingerprints from before its upgrade, and what its upgrade changed.
/// Keeping changes instead of snapshots keeps a long walk's memory small.
struct Step {
    rev: Rev,
    digest_before: [u8; 32],
    changes: Vec<Difference>,
}

impl Walk<'_, '_> {
    /// Upgrades every revision in `revs` (in the snake walk each also down
    /// and up again), then, with `downgrade`, all the way down. Each step
    /// reads only the objects that may have changed
    /// ([`TestDatabase::update_fingerprints`]) and re-reads only those whose
    /// fingerprints changed, so a walk costs about the same per revision on
    /// a long chain as on a short one.
    fn up_and_down(
        &mut self,
        revs: &[Rev],
        snake: bool,
        downgrade: Option<Option<Rev>>,
    ) -> Result<(), WalkError> {
        let mut current = self.schema()?;
        self.update()?;
        for &rev in revs {
            self.step_up(rev, &mut current, snake && downgrade.is_some())?;
        }
        match downgrade {
            Some(floor) => self.all_the_way_down(current.entries(), floor),
            None => Ok(()),
        }
    }

    /// Upgrades `rev` (and, in the snake walk, down and up again), bringing
    /// `current` up to date and recording its step.
    fn step_up(&mut self, rev: Rev, current: &mut Schema, snake: bool) -> Result<(), WalkError> {
        let revision = self.graph.revision(rev);
        self.stop_if_interrupted(revision)?;
        let digest_before = self.fingerprints.digest();
        if let Err(defect) = self.run_hooks(rev, Stage::BeforeUpgrade) {
            self.found(defect)?;
        }
        self.upgrade(revision)?;
        if let Err(defect) = self.run_hooks(rev, Stage::AfterUpgrade) {
            self.found(defect)?;
        }
        let up = self.update()?;
        let changed = sorted_objects(&up);
        let changed_after = self.schema_of(&changed)?;
        let changes = current.only(&changed).diff(&changed_after);
        self.steps.push(Step { rev, digest_before, changes });
        let reversible = snake && revision.downgrade_for(self.db.dialect()).is_some();
        let (mut defect, down) = match reversible {
            true => self.down(rev, &up, current)?,
            false => (None, Changes::new()),
        };
        current.replace(&changed, changed_after);
        if reversible && defect.is_none() {
            defect = self.up_again(revision, &down, current)?;
        }
        self.keep_for_snapshot(rev, current);
        match defect {
            None => self.check_snapshot(current),
            Some(defect) => {
                self.broken.insert(rev);
                self.found(defect)?;
                self.rebuild(self.steps.len())
            }
        }
    }

    /// The snake walk's downgrade of `revision` and its comparison with the
    /// state before its upgrade, whose changes were `up`: the defect found,
    /// if any, and what the downgrade changed.
    fn down(
        &mut self,
        rev: Rev,
        up: &Changes,
        expected: &Schema,
    ) -> Result<(Option<WalkError>, Changes), WalkError> {
        let revision = self.graph.revision(rev);
        if let Err(defect) = self.downgrade(revision) {
            return Ok((Some(defect), Changes::new()));
        }
        let at = self.section_start(revision, Direction::Downgrade);
        let down = self.update()?;
        if let Some(defect) = self.expect(revision, at, Comparison::Downgrade, &[up, &down], expected)? {
            return Ok((Some(defect), down));
        }
        Ok((self.run_hooks(rev, Stage::AfterDowngrade).err(), down))
    }

    /// The snake walk's second upgrade of `revision` and its comparison
    /// with the state after its first, which the downgrade's changes
    /// `down` left: the defect found, if any.
    fn up_again(
        &mut self,
        revision: &Revision,
        down: &Changes,
        expected: &Schema,
    ) -> Result<Option<WalkError>, WalkError> {
        self.last_revision.clone_from(&revision.id);
        let ran = self.db.run_revision(self.graph, revision, Direction::Upgrade, self.options);
        if let Err(error) = ran {
            self.stop_if_interrupted(revision)?;
            return Ok(Some(WalkError::Reupgrade { revision: revision.id.clone(), error: Box::new(error) }));
        }
        self.report.upgraded += 1;
        let at = self.section_start(revision, Direction::Upgrade);
        let again = self.update()?;
        self.expect(revision, at, Comparison::Reupgrade, &[down, &again], expected)
    }

    fn all_the_way_down(
        &mut self,
        mut expected: BTreeMap<String, String>,
        floor: Option<Rev>,
    ) -> Result<(), WalkError> {
        for k in (0..self.steps.len()).rev() {
            let rev = self.steps[k].rev;
            if Some(rev) == floor {
                return Ok(());
            }
            let revision = self.graph.revision(rev);
            self.stop_if_interrupted(revision)?;
            if revision.downgrade_for(self.db.dialect()).is_none() {
                self.report.stopped_at_irreversible = Some(revision.id.clone());
                return Ok(());
            }
            undo(&mut expected, &self.steps[k].changes);
            if let Some(defect) = self.final_downgrade(k, &expected)? {
                self.found(defect)?;
                self.rebuild(k)?;
            }
        }
        let left: Vec<String> = self.schema()?.entries().into_keys().collect();
        if !left.is_empty() && floor.is_none() {
            self.found(WalkError::LeftOver { left })?;
        }
        Ok(())
    }

    /// The final downgrade of step `k`, compared with `expected`: the
    /// defect found, if any. A revision already found broken is not run
    /// again, and counts as a defect without a second report.
    ///
    /// The database matched the expected schema before (the step above
    /// was compared, or rebuilt), so only two kinds of objects can differ
    /// now: those the downgrade changed, and those the upgrade of step `k`
    /// changed (which `expected` gives back); only those are read.
    fn final_downgrade(
        &mut self,
        k: usize,
        expected: &BTreeMap<String, String>,
    ) -> Result<Option<WalkError>, WalkError> {
        let rev = self.steps[k].rev;
        if self.broken.contains(&rev) {
            self.rebuild(k)?;
            return Ok(None);
        }
        let revision = self.graph.revision(rev);
        if let Err(defect) = self.downgrade(revision) {
            return Ok(Some(defect));
        }
        let down = self.update()?;
        if self.fingerprints.digest() != self.steps[k].digest_before {
            let mut objects: Vec<String> = sorted_objects(&down);
            objects.extend(self.steps[k].changes.iter().map(|d| object_of(&d.object).to_string()));
            objects.sort();
            objects.dedup();
            let actual = self.schema_of(&objects)?.entries();
            let differences = diff_entries(&entries_of(expected, &objects), &actual);
            if !differences.is_empty() {
                let at = self.section_start(revision, Direction::Downgrade);
                let (revision, stage) = (revision.id.clone(), Comparison::Downgrade);
                return Ok(Some(WalkError::Mismatch { revision, at, stage, differences }));
            }
        }
        Ok(self.run_hooks(rev, Stage::AfterDowngrade).err())
    }

    /// Keeps `current`, the schema replayed up to `rev`, for proving a
    /// snapshot of `rev`, when the walk upgraded exactly its ancestors so
    /// far (a branch walked before it would be in `current` too).
    fn keep_for_snapshot(&mut self, rev: Rev, current: &Schema) {
        if !super::snapshots::has_snapshot(self.graph, rev, self.db.dialect()) {
            return;
        }
        let ancestors = self.graph.ancestors(&[rev]);
        let only_ancestors = self.steps.iter().all(|step| ancestors.contains(step.rev));
        if only_ancestors && self.steps.len() == ancestors.iter().count() {
            self.replayed.insert(rev, current.clone());
        }
    }

    /// Proves the chain's snapshots (see [`super::snapshots`]), each
    /// finding a defect.
    fn prove_snapshots(&mut self, walked: &[Rev]) -> Result<(), WalkError> {
        let replayed = std::mem::take(&mut self.replayed);
        for finding in super::snapshots::prove(self.db, self.graph, self.options, walked, replayed)? {
            self.found(finding)?;
        }
        Ok(())
    }

    /// Keeps `defect` when the walk goes on after defects, else returns it.
    fn found(&mut self, defect: WalkError) -> Result<(), WalkError> {
        match self.after_defect {
            AfterDefect::Stop => Err(defect),
            AfterDefect::GoOn => {
                self.defects.push(defect);
                Ok(())
            }
        }
    }

    /// The report, or every defect found.
    fn finish(mut self) -> Result<WalkReport, WalkError> {
        match self.defects.len() {
            0 => Ok(self.report),
            _ => Err(WalkError::Defects(std::mem::take(&mut self.defects))),
        }
    }

    /// Removes what the database's driver installed to tell what changed
    /// (PostgreSQL's event triggers), so the database is left as the walk
    /// got it. A failure changes nothing the walk found.
    fn stop_logging(&mut self) {
        #[cfg(feature = "postgres")]
        if self.fingerprints.postgres.installed() {
            let _ = self.db.execute(crate::postgres::changes::UNINSTALL);
        }
    }

    /// Empties the database and upgrades the first `n` steps' revisions
    /// again, with their `before_upgrade` and `after_upgrade` hooks, so the
    /// walk goes on after a defect from the state it expects rather than
    /// from whatever the defective step left. A rebuilt database has new
    /// catalogue rows, so each step's digest is taken again on the way.
    fn rebuild(&mut self, n: usize) -> Result<(), WalkError> {
        self.rebuild_steps(n).map_err(|error| WalkError::Rebuild {
            found: std::mem::take(&mut self.defects),
            error: Box::new(error),
        })
    }

    fn rebuild_steps(&mut self, n: usize) -> Result<(), WalkError> {
        self.db.reset().map_err(WalkError::Database)?;
        // What the driver remembered describes the database before it was
        // emptied: the next update reads everything.
        self.fingerprints = Fingerprints::default();
        self.last_full = None;
        self.create_history()?;
        self.update()?;
        for k in 0..n {
            self.steps[k].digest_before = self.fingerprints.digest();
            let rev = self.steps[k].rev;
            let revision = self.graph.revision(rev);
            self.stop_if_interrupted(revision)?;
            self.run_hooks(rev, Stage::BeforeUpgrade)?;
            self.last_revision.clone_from(&revision.id);
            let ran = self.db.run_revision(self.graph, revision, Direction::Upgrade, self.options);
            ran.map_err(|error| WalkError::Upgrade {
                revision: revision.id.clone(),
                error: Box::new(error),
            })?;
            self.run_hooks(rev, Stage::AfterUpgrade)?;
            self.update()?;
        }
        Ok(())
    }

    fn create_history(&mut self) -> Result<(), WalkError> {
        let history = crate::apply::history::create_table_sql(self.db.dialect(), &self.options.history_table);
        self.db.execute(&history).map_err(WalkError::Database)
    }

    fn upgrade(&mut self, revision: &Revision) -> Result<(), WalkError> {
        self.last_revision.clone_from(&revision.id);
        let ran = self.db.run_revision(self.graph, revision, Direction::Upgrade, self.options);
        if let Err(error) = ran {
            self.stop_if_interrupted(revision)?;
            return Err(WalkError::Upgrade { revision: revision.id.clone(), error: Box::new(error) });
        }
        self.report.upgraded += 1;
        Ok(())
    }

    /// A failed downgrade is a defect; an interrupted one ends the walk.
    fn downgrade(&mut self, revision: &Revision) -> Result<(), WalkError> {
        self.last_revision.clone_from(&revision.id);
        let ran = self.db.run_revision(self.graph, revision, Direction::Downgrade, self.options);
        if let Err(error) = ran {
            self.stop_if_interrupted(revision)?;
            return Err(WalkError::Downgrade { revision: revision.id.clone(), error: Box::new(error) });
        }
        self.report.downgraded += 1;
        Ok(())
    }

    /// Ends the walk once [`Options::interrupt`] was requested: checked
    /// before each revision, and after a failure, which may be the
    /// cancelled statement.
    fn stop_if_interrupted(&self, revision: &Revision) -> Result<(), WalkError> {
        match self.options.interrupt.is_requested() {
            true => Err(WalkError::Interrupted { revision: revision.id.clone() }),
            false => Ok(()),
        }
    }

    /// Where the section that just ran starts in its file.
    fn section_start(&self, revision: &Revision, direction: Direction) -> Location {
        let dialect = self.db.dialect();
        let section = match direction {
            Direction::Upgrade => revision.upgrade_for(dialect),
            Direction::Downgrade => revision.downgrade_for(dialect),
        };
        section.map_or_else(|| revision.location.clone(), |s| revision.location.at_line(s.first_line))
    }

    /// Compares the database with the state `expected`, from before the
    /// updates that made `changes` (oldest first), re-reading only the
    /// objects whose fingerprints differ from then: the mismatch, if any.
    fn expect(
        &mut self,
        revision: &Revision,
        at: Location,
        stage: Comparison,
        changes: &[&Changes],
        expected: &Schema,
    ) -> Result<Option<WalkError>, WalkError> {
        let differing = self.fingerprints.differing(changes);
        if differing.is_empty() {
            return Ok(None);
        }
        let actual = self.schema_of(&differing)?;
        let differences = expected.only(&differing).diff(&actual);
        if differences.is_empty() {
            return Ok(None);
        }
        Ok(Some(WalkError::Mismatch { revision: revision.id.clone(), at, stage, differences }))
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

    /// The schema of `objects`, read only for those that exist now: an
    /// object without a fingerprint is gone (the update that took it
    /// found none of its rows), so reading it would find nothing, and
    /// half the walk's comparisons are of a dropped table.
    fn schema_of(&mut self, objects: &[String]) -> Result<Schema, WalkError> {
        let present: Vec<String> =
            objects.iter().filter(|o| self.fingerprints.get(o).is_some()).cloned().collect();
        if present.is_empty() {
            return Ok(Schema::default());
        }
        self.db
            .schema_of(&self.options.history_table, &present, &mut self.fingerprints)
            .map_err(WalkError::Database)
    }

    /// Brings the fingerprints up to date: what changed since the last
    /// update.
    fn update(&mut self) -> Result<Changes, WalkError> {
        let history = &self.options.history_table;
        self.db.update_fingerprints(history, &mut self.fingerprints).map_err(WalkError::Database)?;
        let changes = self.fingerprints.take_changes();
        self.check_update(&changes)?;
        Ok(changes)
    }

    /// [`Reads::Checked`]: every object a full read shows changed since
    /// the last update is among `changes`.
    fn check_update(&mut self, changes: &Changes) -> Result<(), WalkError> {
        if self.reads != Reads::Checked {
            return Ok(());
        }
        let full = self.schema()?.entries();
        let missed: Vec<String> = match &self.last_full {
            Some(last) => changed_in(last, &full).into_iter().filter(|o| !changes.contains_key(o)).collect(),
            None => Vec::new(),
        };
        self.last_full = Some(full);
        match missed.is_empty() {
            true => Ok(()),
            false => {
                Err(WalkError::IncrementalRead { revision: self.last_revision.clone(), objects: missed })
            }
        }
    }

    /// [`Reads::Checked`]: the schema kept step by step equals a full read.
    fn check_snapshot(&mut self, current: &Schema) -> Result<(), WalkError> {
        if self.reads != Reads::Checked {
            return Ok(());
        }
        let differences = current.diff(&self.schema()?);
        if differences.is_empty() {
            return Ok(());
        }
        let objects = differences.iter().map(|d| d.to_string()).collect();
        Err(WalkError::IncrementalRead { revision: self.last_revision.clone(), objects })
    }
}

/// The objects of `changes`, in name order.
fn sorted_objects(changes: &Changes) -> Vec<String> {
    let mut objects: Vec<String> = changes.keys().cloned().collect();
    objects.sort();
    objects
}

/// `table t` of the entry `table t: column c`.
fn object_of(entry: &str) -> &str {
    entry.split_once(": ").map_or(entry, |(object, _)| object)
}

/// The entries of `objects` only (each sorted list's entries are a range).
fn entries_of(entries: &BTreeMap<String, String>, objects: &[String]) -> BTreeMap<String, String> {
    let mut picked = BTreeMap::new();
    for object in objects {
        // `table t2` sorts between `table t` and `table t: column c`.
        let prefixed =
            entries.range(object.clone()..).take_while(|(entry, _)| entry.starts_with(object.as_str()));
        let of_object = prefixed.filter(|(entry, _)| object_of(entry) == object);
        picked.extend(of_object.map(|(k, v)| (k.clone(), v.clone())));
    }
    picked
}

/// The objects whose entries differ between two full reads.
fn changed_in(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    let mut objects: Vec<String> =
        diff_entries(before, after).into_iter().map(|d| object_of(&d.object).to_string()).collect();
    objects.sort();
    objects.dedup();
    objects
}
