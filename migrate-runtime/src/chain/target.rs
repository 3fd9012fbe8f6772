//! Target expressions, as Alembic users write them, resolved on a [`Graph`].
//!
//! | target | meaning |
//! |---|---|
//! | `base` | before every revision |
//! | `head` / `heads` | the single head / every head |
//! | `3f2a9c1b7d4e`, `3f2a` | a full id or a unique prefix (4+ characters) |
//! | `+2`, `-1` | relative to the current revision |
//! | `3f2a+2`, `head-1` | relative to a revision |
//! | `feature@head`, `feature@-2`, `feature@3f2a+1` | within the branch labelled `feature` |
//! | `A:B` | a range, for `history` and offline SQL ([`range`], [`range_down`]) |
//!
//! A resolved target is the set of revisions at the tip of the state it
//! names: empty for `base`, one revision, or several heads.

use crate::chain::graph::{Graph, Rev, RevSet};
use crate::model::error::TargetError;
use crate::model::Direction;

/// The state named by `target`, as its tip revisions (empty for `base`).
/// `current` is the database's current tip, used by relative targets.
///
/// ```
/// # use migrate_runtime::chain::{parse_revision, target::resolve, Graph};
/// # let file = |id: &str, parent: &str| parse_revision(
/// #     format!("migrations/{id}_.sql").as_ref(),
/// #     &format!("-- revision: {id}\n-- revises: {parent}\n-- migrate:upgrade\nSELECT 1;\n")).unwrap();
/// let graph = Graph::build(vec![file("aaaa1", ""), file("bbbb2", "aaaa1"), file("cccc3", "bbbb2")]).unwrap();
/// assert_eq!(graph.ids(&resolve(&graph, "head-1", &[]).unwrap()), ["bbbb2"]);
/// let first = graph.find("aaaa1").unwrap();
/// assert_eq!(graph.ids(&resolve(&graph, "+1", &[first]).unwrap()), ["bbbb2"]);
/// assert!(resolve(&graph, "base", &graph.heads()).unwrap().is_empty());
/// ```
pub fn resolve(graph: &Graph, target: &str, current: &[Rev]) -> Result<Vec<Rev>, TargetError> {
    Ok(parse(graph, target, current)?.tips)
}

/// A resolved target: the state it names and the branch it was read on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The tip revisions of the named state; empty for `base`.
    pub tips: Vec<Rev>,
    /// The revisions whose line a downgrade keeps to where the target's
    /// state has several ways up: the labelled revisions for `label@…`,
    /// the current revision for `-N`; empty when the target names no line.
    line: Vec<Rev>,
    written: Written,
}

/// How a target was written, for what each direction refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Written {
    Named,
    Heads,
    UpFromCurrent,
    DownFromCurrent,
}

impl Target {
    /// Refuses a target that points the other way from the command, as
    /// Alembic does: `upgrade -1`, `downgrade +1`, and `downgrade heads`
    /// when there are several heads (a downgrade goes down to one state).
    pub fn check_direction(
        &self,
        text: &str,
        direction: Direction,
        graph: &Graph,
    ) -> Result<(), TargetError> {
        let wrong_way = |other: &'static str| TargetError::WrongWay { target: text.to_string(), other };
        match (self.written, direction) {
            (Written::DownFromCurrent, Direction::Upgrade) => Err(wrong_way("downgrade")),
            (Written::UpFromCurrent, Direction::Downgrade) => Err(wrong_way("upgrade")),
            (Written::Heads, Direction::Downgrade) if self.tips.len() > 1 => {
                Err(TargetError::SeveralHeads { target: text.to_string(), heads: graph.ids(&self.tips) })
            }
            _ => Ok(()),
        }
    }

    /// The revisions a downgrade to this target reverts, with every applied
    /// revision that descends from them (through parents or `depends-on`):
    /// the target's children, or every base for `base`. As in Alembic, a
    /// target read on a line (`feature@base`, `-1`) keeps only the roots on
    /// that line when there are several, so a sibling branch survives.
    pub fn downgrade_roots(&self, graph: &Graph) -> Result<Vec<Rev>, TargetError> {
        let mut roots = match self.tips.as_slice() {
            [] => graph.bases(),
            tips => {
                let kept = graph.ancestors(tips);
                let mut children: Vec<Rev> = tips
                    .iter()
                    .flat_map(|&t| graph.children(t))
                    .copied()
                    .filter(|&c| !kept.contains(c))
                    .collect();
                children.sort_unstable();
                children.dedup();
                children
            }
        };
        if self.line.is_empty() || roots.len() < 2 {
            return Ok(roots);
        }
        // Alembic keeps the roots below the label; its descendants count too
        // here, so `feature@REV` reverts what `REV` would (see README).
        let on_line = graph.lineage(&self.line);
        roots.retain(|&r| on_line.contains(r));
        if roots.is_empty() {
            return Err(TargetError::OffLine { tips: graph.ids(&self.tips), line: graph.ids(&self.line) });
        }
        Ok(roots)
    }
}

/// Resolves `target` as [`resolve`] does, keeping the line it was read on
/// for [`Target::downgrade_roots`].
pub fn parse(graph: &Graph, target: &str, current: &[Rev]) -> Result<Target, TargetError> {
    let target = target.trim();
    let syntax =
        |reason: &str| TargetError::Syntax { target: target.to_string(), reason: reason.to_string() };
    if target.is_empty() {
        return Err(syntax("a target cannot be empty"));
    }
    if target.contains(':') {
        return Err(syntax("a range `A:B` is only accepted by `history` and `--sql`"));
    }
    let (scope, rest) = match target.split_once('@') {
        Some(("", _)) => return Err(syntax("expected a branch label before `@`")),
        Some((label, rest)) => (Some(Scope::of_label(graph, label)?), rest),
        None => (None, target),
    };
    let resolver = Resolver { graph, target, scope };
    let (anchor, steps) = split_steps(rest).ok_or_else(|| syntax("expected a number after `+` or `-`"))?;
    let start = resolver.anchor(anchor, current, steps.is_some())?;
    let written = match (anchor, steps) {
        ("", Some(steps)) if steps < 0 => Written::DownFromCurrent,
        ("", Some(_)) => Written::UpFromCurrent,
        ("heads", None) => Written::Heads,
        _ => Written::Named,
    };
    let line = match &resolver.scope {
        Some(scope) => scope.labelled.clone(),
        // `-1` reverts the current revision, not its siblings.
        None if anchor.is_empty() => start.clone(),
        None => Vec::new(),
    };
    let tips = match steps {
        None => start,
        Some(steps) if steps >= 0 => resolver.forward(start, steps.unsigned_abs())?,
        Some(steps) => resolver.backward(start, steps.unsigned_abs())?,
    };
    Ok(Target { tips, line, written })
}

/// Splits a range `A:B` into its ends; either may be empty (`A:`, `:B`).
pub fn split_range(range: &str) -> Option<(&str, &str)> {
    let (from, to) = range.split_once(':')?;
    Some((from.trim(), to.trim()))
}

/// Revisions after the state `from` up to and including the state `to`, in
/// apply order: what upgrading from `from` to `to` would apply.
pub fn between(graph: &Graph, from: &[Rev], to: &[Rev]) -> Vec<Rev> {
    let before = graph.ancestors(from);
    graph.ancestors(to).iter().filter(|&r| !before.contains(r)).collect()
}

/// A range `A:B` with both ends resolved, each to the tip of a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// The state `A` names.
    pub from: Vec<Rev>,
    /// The state `B` names.
    pub to: Target,
}

/// Resolves `A:B` read upward, as `history` and `upgrade --sql` read it: `A`
/// (left out: `base`) must be `B` (left out: `heads`) or an ancestor of it,
/// else the range is empty and an error names both ends. `current` is the
/// database's tip, for relative ends such as `-1`.
///
/// ```
/// # use migrate_runtime::chain::{parse_revision, target::range, Graph};
/// # let file = |id: &str, parent: &str| parse_revision(
/// #     format!("migrations/{id}_.sql").as_ref(),
/// #     &format!("-- revision: {id}\n-- revises: {parent}\n-- migrate:upgrade\nSELECT 1;\n")).unwrap();
/// let graph = Graph::build(vec![file("aaaa1", ""), file("bbbb2", "aaaa1")]).unwrap();
/// assert_eq!(graph.ids(&range(&graph, "aaaa1:", &[]).unwrap().to.tips), ["bbbb2"]);
/// let reversed = range(&graph, "bbbb2:aaaa1", &[]).unwrap_err();
/// assert_eq!(reversed.to_string(), "range `bbbb2:aaaa1` is empty: `bbbb2` is not an ancestor of `aaaa1`");
/// ```
pub fn range(graph: &Graph, text: &str, current: &[Rev]) -> Result<Range, TargetError> {
    let (from, to) = range_ends(text)?;
    let (from, to) = (end_or(from, "base"), end_or(to, "heads"));
    let range = Range { from: resolve(graph, from, current)?, to: parse(graph, to, current)? };
    if !is_at_or_below(graph, &range.from, &range.to.tips) {
        return Err(empty_range(text, from, to));
    }
    Ok(range)
}

/// Resolves `A:B` read downward, as `downgrade --sql` reads it: from `A`
/// (left out: `heads`) down to `B` (left out: `base`), which must be `A` or
/// an ancestor of it, else an error names both ends. A relative `B`
/// (`head:-1`) steps down from `A`, where the downgrade starts.
pub fn range_down(graph: &Graph, text: &str, current: &[Rev]) -> Result<Range, TargetError> {
    let (from, to) = range_ends(text)?;
    let (from, to) = (end_or(from, "heads"), end_or(to, "base"));
    let start = resolve(graph, from, current)?;
    let range = Range { to: parse(graph, to, &start)?, from: start };
    if !is_at_or_below(graph, &range.to.tips, &range.from) {
        return Err(empty_range(text, to, from));
    }
    Ok(range)
}

/// Whether `target` steps from the database's current revision (`-1`, `+2`,
/// `feature@-1`), so resolving it needs the current revisions.
pub fn is_relative(target: &str) -> bool {
    let target = target.trim();
    let rest = target.split_once('@').map_or(target, |(_, rest)| rest);
    matches!(split_steps(rest), Some(("", Some(_))))
}

fn range_ends(text: &str) -> Result<(&str, &str), TargetError> {
    split_range(text).ok_or_else(|| TargetError::Syntax {
        target: text.trim().to_string(),
        reason: "expected a range `A:B` (either end may be left out)".to_string(),
    })
}

fn end_or<'a>(end: &'a str, default: &'a str) -> &'a str {
    if end.is_empty() {
        default
    } else {
        end
    }
}

/// Whether every revision of state `lower` is in state `upper`.
fn is_at_or_below(graph: &Graph, lower: &[Rev], upper: &[Rev]) -> bool {
    let upto = graph.ancestors(upper);
    lower.iter().all(|&r| upto.contains(r))
}

fn empty_range(text: &str, lower: &str, upper: &str) -> TargetError {
    TargetError::EmptyRange {
        range: text.trim().to_string(),
        lower: lower.to_string(),
        upper: upper.to_string(),
    }
}

/// Splits `abc+2` into (`abc`, +2); `None` steps when there is no suffix.
fn split_steps(text: &str) -> Option<(&str, Option<i64>)> {
    let Some(at) = text.rfind(['+', '-']) else { return Some((text, None)) };
    let digits = &text[at + 1..];
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let magnitude: i64 = digits.parse().ok()?;
    let steps = if text.as_bytes()[at] == b'-' { -magnitude } else { magnitude };
    Some((&text[..at], Some(steps)))
}

/// The revisions a branch label covers: its labelled revisions with their
/// ancestors and descendants through `revises`.
struct Scope {
    label: String,
    labelled: Vec<Rev>,
    members: RevSet,
}

impl Scope {
    fn of_label(graph: &Graph, label: &str) -> Result<Scope, TargetError> {
        let labelled = graph.labelled(label);
        if labelled.is_empty() {
            return Err(TargetError::UnknownBranch { label: label.to_string() });
        }
        // A branch is a line of `revises` edges: a revision it only depends
        // on is not on it (as in Alembic).
        let members = graph.lineage(&labelled);
        Ok(Scope { label: label.to_string(), labelled, members })
    }
}

struct Resolver<'a> {
    graph: &'a Graph,
    target: &'a str,
    scope: Option<Scope>,
}

impl Resolver<'_> {
    fn in_scope(&self, rev: Rev) -> bool {
        self.scope.as_ref().is_none_or(|s| s.members.contains(rev))
    }

    fn anchor(&self, anchor: &str, current: &[Rev], relative: bool) -> Result<Vec<Rev>, TargetError> {
        match anchor {
            "" if relative => Ok(self.current(current)),
            "" => Err(self.syntax("expected a revision after `@`")),
            "base" => Ok(Vec::new()),
            "head" => self.single_head().map(|head| vec![head]),
            "heads" if relative => Err(self.syntax("`heads` names several revisions: steps need one")),
            "heads" => Ok(self.heads()),
            id => {
                let rev = self.revision(id)?;
                if !self.in_scope(rev) {
                    return Err(TargetError::Unknown { target: self.target.to_string() });
                }
                Ok(vec![rev])
            }
        }
    }

    /// An id or prefix; within a branch, a prefix only needs to be unique
    /// among the branch's revisions (`feature@3f2a`), as in Alembic.
    fn revision(&self, id: &str) -> Result<Rev, TargetError> {
        match self.graph.resolve_id(id) {
            Err(TargetError::Ambiguous { prefix, candidates }) if self.scope.is_some() => {
                let inside: Vec<Rev> = candidates
                    .iter()
                    .filter_map(|c| self.graph.find(c))
                    .filter(|&r| self.in_scope(r))
                    .collect();
                match inside.as_slice() {
                    [one] => Ok(*one),
                    _ => Err(TargetError::Ambiguous { prefix, candidates }),
                }
            }
            resolved => resolved,
        }
    }

    /// The database's tip as the scope sees it: the current revisions on
    /// the branch or, when none is, the applied revisions of the branch that
    /// have no applied child in it (as Alembic backtracks). With
    /// `feature@+1` and only the other branch applied, that is the branch
    /// point, not base.
    fn current(&self, current: &[Rev]) -> Vec<Rev> {
        let Some(scope) = &self.scope else { return current.to_vec() };
        let on_branch: Vec<Rev> = current.iter().copied().filter(|&r| scope.members.contains(r)).collect();
        if !on_branch.is_empty() {
            return on_branch;
        }
        let applied = self.graph.ancestors(current);
        let inside = |r: Rev| applied.contains(r) && scope.members.contains(r);
        let tip = |r: Rev| inside(r) && !self.graph.children(r).iter().any(|&c| inside(c));
        self.graph.revs().filter(|&r| tip(r)).collect()
    }

    fn heads(&self) -> Vec<Rev> {
        match &self.scope {
            Some(scope) => self.graph.heads().into_iter().filter(|&h| scope.members.contains(h)).collect(),
            None => self.graph.heads(),
        }
    }

    fn single_head(&self) -> Result<Rev, TargetError> {
        let heads = self.heads();
        match heads.as_slice() {
            [] => Err(TargetError::Empty),
            [head] => Ok(*head),
            _ => Err(TargetError::SeveralHeads {
                target: self.target.to_string(),
                heads: self.graph.ids(&heads),
            }),
        }
    }

    fn forward(&self, mut at: Vec<Rev>, steps: u64) -> Result<Vec<Rev>, TargetError> {
        for taken in 0..steps {
            let options: Vec<Rev> = match at.as_slice() {
                [] => self.graph.bases(),
                [one] => self.graph.children(*one).to_vec(),
                several => return Err(self.several_current(several)),
            };
            let options: Vec<Rev> = options.into_iter().filter(|&r| self.in_scope(r)).collect();
            match options.as_slice() {
                [] => return Err(self.too_far("head", taken)),
                [next] => at = vec![*next],
                _ if at.is_empty() => return Err(self.ambiguous_bases(&options)),
                _ => return Err(self.ambiguous(&at, "children", &options)),
            }
        }
        Ok(at)
    }

    /// Steps back; the last step may land on both parents of a merge point
    /// (`-1` from a merge gives the state before it), an earlier one may not.
    fn backward(&self, mut at: Vec<Rev>, steps: u64) -> Result<Vec<Rev>, TargetError> {
        for taken in 0..steps {
            at = match at.as_slice() {
                [] => return Err(self.too_far("base", taken)),
                [one] => {
                    let parents: Vec<Rev> =
                        self.graph.parents(*one).iter().copied().filter(|&r| self.in_scope(r)).collect();
                    if parents.len() > 1 && taken + 1 < steps {
                        return Err(self.ambiguous(&[*one], "parents", &parents));
                    }
                    parents
                }
                several => return Err(self.several_current(several)),
            };
        }
        Ok(at)
    }

    fn syntax(&self, reason: &str) -> TargetError {
        TargetError::Syntax { target: self.target.to_string(), reason: reason.to_string() }
    }

    fn too_far(&self, end: &'static str, available: u64) -> TargetError {
        TargetError::WalksTooFar { target: self.target.to_string(), end, available: available as usize }
    }

    fn ambiguous(&self, at: &[Rev], direction: &'static str, options: &[Rev]) -> TargetError {
        let at = match at {
            [one] => self.graph.revision(*one).id.clone(),
            _ => "the current revision".to_string(),
        };
        TargetError::AmbiguousStep {
            target: self.target.to_string(),
            at,
            direction,
            options: self.graph.ids(options),
        }
    }

    fn several_current(&self, current: &[Rev]) -> TargetError {
        let step = self.target.rfind(['+', '-']).map_or("", |at| &self.target[at..]);
        TargetError::SeveralCurrent {
            target: self.target.to_string(),
            current: self.graph.ids(current),
            step: step.to_string(),
        }
    }

    fn ambiguous_bases(&self, options: &[Rev]) -> TargetError {
        let at = match &self.scope {
            Some(scope) => format!("the base of branch {}", scope.label),
            None => "base".to_string(),
        };
        TargetError::AmbiguousStep {
            target: self.target.to_string(),
            at,
            direction: "bases",
            options: self.graph.ids(options),
        }
    }
}
