//! What a database has applied, and what to run to reach a target: pure
//! functions of the graph and the history rows, shared by every driver and
//! by offline SQL.
//!
//! Revisions the database has applied but the files do not know (a newer
//! binary applied them) join the graph as stand-ins built from their
//! history rows, so they can be shown and reverted like any other.

use crate::apply::history::{AppliedRevision, OtherPackageRevision};
use crate::apply::sync::{split_mark, SyncMark};
use crate::apply::{Direction, Options};
use crate::chain::graph::{Graph, Rev};
use crate::chain::target::{self, Target};
use crate::model::error::ApplyError;
use crate::model::location::Location;
use crate::model::revision::{Dependency, Dialect, Revision, Section};
use std::borrow::Cow;
use std::collections::HashMap;

/// A database's applied revisions laid over the graph.
#[derive(Debug, Clone)]
pub struct State<'g> {
    graph: Cow<'g, Graph>,
    rows: Vec<Option<AppliedRevision>>,
    unknown: Vec<Rev>,
    /// This package's name and what other packages applied in the same
    /// database, for cross-package `depends-on`.
    package: String,
    others: Vec<OtherPackageRevision>,
    /// The mark `sync` left, split off the rows (see `apply::sync`).
    synced: Option<SyncMark>,
}

impl<'g> State<'g> {
    pub fn new(code: &'g Graph, rows: Vec<AppliedRevision>) -> State<'g> {
        let (rows, synced) = split_mark(rows);
        let unknown_rows: Vec<&AppliedRevision> =
            rows.iter().filter(|r| code.find(&r.revision).is_none()).collect();
        let graph = if unknown_rows.is_empty() {
            Cow::Borrowed(code)
        } else {
            Cow::Owned(with_stand_ins(code, &unknown_rows))
        };
        let mut by_rev = vec![None; graph.len()];
        let mut unknown = Vec::new();
        for row in rows {
            if let Some(rev) = graph.find(&row.revision) {
                if code.find(&row.revision).is_none() {
                    unknown.push(rev);
                }
                by_rev[rev.index()] = Some(row);
            }
        }
        State { graph, rows: by_rev, unknown, package: String::new(), others: Vec::new(), synced }
    }

    /// Adds what other packages applied to the same database, so plans
    /// respect `depends-on: package:rev` both ways.
    pub fn with_other_packages(mut self, package: &str, others: Vec<OtherPackageRevision>) -> State<'g> {
        self.package = package.to_string();
        self.others = others;
        self
    }

    /// The code's graph plus stand-ins for unknown applied revisions.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    pub fn row(&self, rev: Rev) -> Option<&AppliedRevision> {
        self.rows[rev.index()].as_ref()
    }

    pub(crate) fn is_applied(&self, rev: Rev) -> bool {
        self.rows[rev.index()].is_some()
    }

    /// Applied revisions no applied revision follows, as a child or through
    /// `depends-on`: where the database is (Alembic's version table).
    pub fn current(&self) -> Vec<Rev> {
        let followed = |r: Rev| {
            self.graph.children(r).iter().chain(self.graph.dependents(r)).any(|&c| self.is_applied(c))
        };
        self.graph.revs().filter(|&r| self.is_applied(r) && !followed(r)).collect()
    }

    /// Applied revisions the files do not have.
    pub fn unknown(&self) -> &[Rev] {
        &self.unknown
    }

    /// Resolves a target, relative ones against [`State::current`].
    pub fn resolve(&self, text: &str) -> Result<Target, ApplyError> {
        Ok(target::parse(&self.graph, text, &self.current())?)
    }

    /// Resolves a target, relative ones against the revisions `start`
    /// names (where a run began): a run that plans again after another
    /// process committed still steps from where it started, on this state's
    /// graph, whose indices may differ from the first one's.
    pub fn resolve_from(&self, text: &str, start: &[String]) -> Result<Target, ApplyError> {
        let start: Vec<Rev> = start.iter().filter_map(|id| self.graph.find(id)).collect();
        Ok(target::parse(&self.graph, text, &start)?)
    }

    /// The ids of [`State::current`], for [`State::resolve_from`].
    pub fn current_ids(&self) -> Vec<String> {
        self.graph.ids(&self.current())
    }

    /// When the database was synced to a desired schema rather than
    /// upgraded (`apply::sync`): its history no longer says what it holds.
    pub fn synced(&self) -> Option<&SyncMark> {
        self.synced.as_ref()
    }

    /// Refuses to run revisions on a synced database.
    pub fn ensure_not_synced(&self) -> Result<(), ApplyError> {
        match &self.synced {
            Some(mark) => {
                Err(ApplyError::Synced { synced_at: mark.synced_at.clone(), schema: mark.source.clone() })
            }
            None => Ok(()),
        }
    }

    /// Refuses to go on past a revision left partially applied.
    pub fn ensure_clean(&self) -> Result<(), ApplyError> {
        match self.rows.iter().flatten().find(|row| row.dirty.is_some()) {
            Some(row) => Err(ApplyError::Dirty {
                revision: row.revision.clone(),
                progress: row.dirty.clone().unwrap_or_default(),
            }),
            None => Ok(()),
        }
    }

    /// Refuses to upgrade a database that has revisions the code lacks.
    pub fn ensure_not_ahead(&self) -> Result<(), ApplyError> {
        if self.unknown.is_empty() {
            return Ok(());
        }
        Err(ApplyError::DatabaseAhead { revisions: self.graph.ids(&self.unknown) })
    }

    /// Applied revisions whose upgrade SQL changed since.
    pub fn drift(&self, dialect: Dialect) -> Vec<ApplyError> {
        let mut found = Vec::new();
        for (rev, row) in self.graph.revs().zip(&self.rows) {
            let Some(row) = row else { continue };
            let revision = self.graph.revision(rev);
            let Some(section) = revision.upgrade_for(dialect) else { continue };
            // A stamped row records no checksum: nothing ran to compare.
            if !row.checksum.is_empty() && row.checksum != section.checksum && !self.unknown.contains(&rev) {
                found.push(ApplyError::Drift {
                    at: section_location(revision, section),
                    revision: revision.id.clone(),
                    recorded: row.checksum.clone(),
                    current: section.checksum.clone(),
                });
            }
        }
        found
    }

    /// [`State::plan`] for `target_text`, a relative target stepping from
    /// where the run started (`start`, recorded by id on the first call),
    /// so a plan made again mid-run, after another migrator's work, cannot
    /// move it. Both engines plan through here.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn plan_from_start(
        &self,
        direction: Direction,
        target_text: &str,
        start: &mut Option<Vec<String>>,
        options: &Options,
        dialect: Dialect,
    ) -> Result<Vec<Rev>, ApplyError> {
        let start = start.get_or_insert_with(|| self.current_ids());
        self.plan(direction, target_text, &self.resolve_from(target_text, start)?, options, dialect)
    }

    /// Checks that a run may go on (not synced, no dirty mark, no drift unless allowed,
    /// not ahead of the code for an upgrade) and lists the revisions to run,
    /// in order, to reach `target`, resolved by the caller from
    /// `target_text`.
    pub fn plan(
        &self,
        direction: Direction,
        target_text: &str,
        target: &Target,
        options: &Options,
        dialect: Dialect,
    ) -> Result<Vec<Rev>, ApplyError> {
        self.ensure_not_synced()?;
        self.ensure_clean()?;
        if !options.allow_drift {
            if let Some(drift) = self.drift(dialect).into_iter().next() {
                return Err(drift);
            }
        }
        target.check_direction(target_text, direction, &self.graph)?;
        let plan = match direction {
            Direction::Upgrade => {
                self.ensure_not_ahead()?;
                let plan = self.upgrade_plan(&target.tips);
                self.ensure_dependencies_applied(&plan)?;
                plan
            }
            _ => self.downgrade_plan(target_text, target, dialect)?,
        };
        self.ensure_runnable(&plan)?;
        Ok(plan)
    }

    /// Refuses a plan with a Rust revision whose code is not in this
    /// program (a chain read from its files) before anything runs.
    fn ensure_runnable(&self, plan: &[Rev]) -> Result<(), ApplyError> {
        plan.iter().try_for_each(|&rev| self.graph.revision(rev).refuse_uncompiled())
    }

    /// Revisions to apply, in order, to reach `target`.
    pub(crate) fn upgrade_plan(&self, target: &[Rev]) -> Vec<Rev> {
        self.graph.ancestors(target).iter().filter(|&r| !self.is_applied(r)).collect()
    }

    /// Refuses a plan that would apply a revision before another package's
    /// revision it depends on.
    pub(crate) fn ensure_dependencies_applied(&self, plan: &[Rev]) -> Result<(), ApplyError> {
        for &rev in plan {
            let revision = self.graph.revision(rev);
            for dependency in &revision.depends_on {
                let Some(package) = dependency.package.as_deref().filter(|p| *p != self.package) else {
                    continue;
                };
                let applied = self.others.iter().any(|o| o.package == package && o.revision == dependency.id);
                if !applied {
                    return Err(ApplyError::MissingDependency {
                        at: revision.depends_on_location(),
                        revision: revision.id.clone(),
                        dependency: dependency.to_string(),
                        package: package.to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Revisions to revert, in order, to come down to `target`: the applied
    /// revisions that descend from it, and nothing else. A revision on an
    /// unrelated branch or base stays, whatever the apply order says.
    pub(crate) fn downgrade_plan(
        &self,
        target_text: &str,
        target: &Target,
        dialect: Dialect,
    ) -> Result<Vec<Rev>, ApplyError> {
        let plan = self.revert_set(target_text, target)?;
        if plan.is_empty() {
            self.ensure_at(target_text, target)?;
        }
        for &rev in &plan {
            let revision = self.graph.revision(rev);
            revision.ensure_reversible(dialect)?;
            let dependents = self.dependents_elsewhere(&revision.id);
            if !dependents.is_empty() {
                return Err(ApplyError::NeededByOtherPackage {
                    at: revision.location.clone(),
                    revision: revision.id.clone(),
                    dependents,
                });
            }
        }
        Ok(plan)
    }

    /// With nothing to revert, the database must be at `target`: past it
    /// yet with nothing on its line above it, what it is past is a sibling
    /// branch or a dependant, which a downgrade to here would have to leave.
    fn ensure_at(&self, target_text: &str, target: &Target) -> Result<(), ApplyError> {
        let current = self.current();
        if target.tips.iter().all(|t| current.contains(t)) {
            return Ok(());
        }
        Err(ApplyError::NothingAbove { target: target_text.to_string(), current: self.graph.ids(&current) })
    }

    /// The applied revisions that descend from `target`'s downgrade roots,
    /// newest first; `target` itself must be applied.
    fn revert_set(&self, target_text: &str, target: &Target) -> Result<Vec<Rev>, ApplyError> {
        if target.tips.iter().any(|&r| !self.is_applied(r)) {
            return Err(ApplyError::NotBelow { target: target_text.to_string() });
        }
        let revert = self.graph.descendants(&target.downgrade_roots(&self.graph)?);
        Ok(revert.iter().rev().filter(|&r| self.is_applied(r)).collect())
    }

    /// `package:rev` of other packages' applied revisions that depend on
    /// this package's revision `id`.
    fn dependents_elsewhere(&self, id: &str) -> Vec<String> {
        let qualified = format!("{}:{id}", self.package);
        self.others
            .iter()
            .filter(|o| o.depends_on.contains(&qualified))
            .map(|o| format!("{}:{}", o.package, o.revision))
            .collect()
    }

    /// The rows `stamp target` adds and removes, without running SQL: what
    /// an upgrade to `target` would apply and a downgrade to it would
    /// revert. Removing rows hides applied changes from every later run, so
    /// it needs [`Options::allow_unstamp`].
    pub fn stamp_plan(
        &self,
        target_text: &str,
        target: &Target,
        options: &Options,
    ) -> Result<(Vec<Rev>, Vec<Rev>), ApplyError> {
        let add = self.upgrade_plan(&target.tips);
        // A target not applied yet is above or beside what is: nothing
        // applied is below it to forget.
        let applied = target.tips.iter().all(|&r| self.is_applied(r));
        let remove = if applied { self.revert_set(target_text, target)? } else { Vec::new() };
        if !remove.is_empty() && !options.allow_unstamp {
            return Err(ApplyError::StampBelow {
                target: target_text.to_string(),
                revisions: self.graph.ids(&remove),
            });
        }
        Ok((add, remove))
    }
}

/// Refuses a first upgrade of a database that already holds tables
/// (`existing`, found while its history table is missing) unless the run
/// says `baseline`: such a database was built by other means, and applying
/// the chain from base on top of it is a decision, not a default. Drivers
/// call this under their lock, just before they create the history table.
pub fn ensure_empty_or_baseline(existing: &[String], options: &Options) -> Result<(), ApplyError> {
    if existing.is_empty() || options.baseline {
        return Ok(());
    }
    Err(ApplyError::NotEmpty { table: options.history_table.clone(), objects: existing.to_vec() })
}

/// Where a section's SQL starts in its file.
pub(crate) fn section_location(revision: &Revision, section: &Section) -> Location {
    revision.location.at_line(section.first_line)
}

fn with_stand_ins(code: &Graph, unknown: &[&AppliedRevision]) -> Graph {
    let known: HashMap<&str, ()> = code
        .revisions()
        .iter()
        .map(|r| (r.id.as_str(), ()))
        .chain(unknown.iter().map(|r| (r.revision.as_str(), ())))
        .collect();
    let mut revisions = code.revisions().to_vec();
    revisions.extend(unknown.iter().map(|row| stand_in(row, &known)));
    // The stand-ins come from rows the database accepted; should they still
    // not fit (a corrupted table), show the code's graph alone.
    Graph::build(revisions).unwrap_or_else(|_| code.clone())
}

/// A stored `depends-on` entry (`rev` or `package:rev`); a same-package one
/// only when the revision is known, as the graph requires.
fn stand_in_dependency(stored: &str, known: &HashMap<&str, ()>) -> Option<Dependency> {
    match stored.split_once(':') {
        Some((package, id)) => Some(Dependency { package: Some(package.to_string()), id: id.to_string() }),
        None => known.contains_key(stored).then(|| Dependency { package: None, id: stored.to_string() }),
    }
}

fn stand_in(row: &AppliedRevision, known: &HashMap<&str, ()>) -> Revision {
    let section = |sql: &str| Section::new(None, 1, sql.to_string());
    Revision {
        id: row.revision.clone(),
        parents: row.parents.iter().filter(|p| known.contains_key(p.as_str())).cloned().collect(),
        // Kept, so what depends on a revision is reverted with it even when
        // the code no longer has the dependant.
        depends_on: row.depends_on.iter().filter_map(|d| stand_in_dependency(d, known)).collect(),
        message: row.message.clone(),
        created: Some(row.applied_at.clone()),
        branches: Vec::new(),
        transaction: Default::default(),
        // What the row keeps to revert it is SQL, whatever the file was.
        language: Default::default(),
        upgrade: Vec::new(),
        downgrade: row.downgrade_sql.as_deref().map(|sql| vec![section(sql)]),
        location: Location::file(format!("<history table: {}>", row.revision)),
        parents_line: None,
        depends_on_line: None,
        lint_allow: None,
        code: None,
    }
}

#[cfg(test)]
mod tests {
    use super::ensure_empty_or_baseline;
    use crate::apply::Options;

    #[test]
    fn a_database_with_tables_needs_baseline() {
        let mut options = Options::new("app");
        assert!(ensure_empty_or_baseline(&[], &options).is_ok());
        let error = ensure_empty_or_baseline(&["user".to_string()], &options).unwrap_err();
        assert!(error.to_string().contains("no history table `migrate_history`"));
        options.baseline = true;
        assert!(ensure_empty_or_baseline(&["user".to_string()], &options).is_ok());
    }
}
