//! The revision graph of one package: a DAG of parents and same-package
//! `depends-on` edges, held in a deterministic topological order.
//!
//! Invariant: `revisions()[i]` comes after every parent and dependency of it,
//! and the order depends only on the revisions, never on file order: among
//! revisions ready at the same time the earlier `created` time (then the
//! smaller id) goes first.

use crate::model::error::{ChainError, ChainErrors, TargetError};
use crate::model::revision::Revision;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// One revision of a [`Graph`]: its position in apply order, so revisions
/// compare in the order they apply. Only a graph hands them out
/// ([`Graph::find`], [`Graph::revs`], [`Graph::heads`], …), and a `Rev`
/// means something only to the graph that gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rev(usize);

impl Rev {
    /// The position in [`Graph::revisions`], for tables kept beside a graph.
    pub(crate) fn index(self) -> usize {
        self.0
    }
}

/// A set of one graph's revisions, as [`Graph::ancestors`],
/// [`Graph::descendants`] and [`Graph::lineage`] give them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevSet(Vec<bool>);

impl RevSet {
    pub fn contains(&self, rev: Rev) -> bool {
        self.0[rev.0]
    }

    /// The members, in apply order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Rev> + '_ {
        self.0.iter().enumerate().filter(|(_, &member)| member).map(|(at, _)| Rev(at))
    }

    /// Adds `rev`; whether it was not a member yet.
    fn insert(&mut self, rev: Rev) -> bool {
        !std::mem::replace(&mut self.0[rev.0], true)
    }

    fn union(mut self, other: &RevSet) -> RevSet {
        self.0.iter_mut().zip(&other.0).for_each(|(member, &also)| *member |= also);
        self
    }
}

/// A validated revision graph. Build one with [`Graph::build`].
#[derive(Debug, Clone)]
pub struct Graph {
    revisions: Vec<Revision>,
    index: HashMap<String, Rev>,
    parents: Vec<Vec<Rev>>,
    children: Vec<Vec<Rev>>,
    dependencies: Vec<Vec<Rev>>,
    dependents: Vec<Vec<Rev>>,
    /// The chain's snapshots ([`crate::chain::snapshot`]), which travel
    /// with it so every engine and embedded chain sees the same ones.
    snapshots: Vec<crate::chain::snapshot::Snapshot>,
}

impl Graph {
    /// Validates `revisions` as one package's chain and orders them.
    ///
    /// Reports every duplicate id, unknown parent, unknown same-package
    /// dependency, self reference and cycle at once. Dependencies on other
    /// packages (`pkg:rev`) are left to [`combine`](crate::chain::combine).
    pub fn build(mut revisions: Vec<Revision>) -> Result<Graph, ChainErrors> {
        // File order, so which of two duplicates is "first" and where cycle
        // reports start never depend on the order the caller listed them in.
        revisions.sort_by(|a, b| a.location.cmp(&b.location));
        let mut errors = Vec::new();
        let revisions = drop_duplicates(revisions, &mut errors);
        let index: HashMap<String, usize> =
            revisions.iter().enumerate().map(|(i, r)| (r.id.clone(), i)).collect();
        let edges = Edges::resolve(&revisions, &index, &mut errors);
        let order = topological_order(&revisions, &edges, &mut errors);
        if !errors.is_empty() {
            errors.sort_by(|a, b| a.location().cmp(b.location()));
            return Err(ChainErrors(errors));
        }
        Ok(Graph::in_order(revisions, edges, &order, index))
    }

    /// An empty chain.
    pub fn empty() -> Graph {
        Graph::in_order(Vec::new(), Edges::default(), &[], HashMap::new())
    }

    /// The graph with `revisions` put in `order`; `index` (id to input
    /// position) gives its ids to the graph's index instead of copying
    /// them again: at ten thousand revisions the copies showed in a read
    /// command's time.
    fn in_order(
        revisions: Vec<Revision>,
        edges: Edges,
        order: &[usize],
        index: HashMap<String, usize>,
    ) -> Graph {
        let mut position = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            position[old] = new;
        }
        let remap = |lists: &[Vec<usize>]| -> Vec<Vec<usize>> {
            order
                .iter()
                .map(|&old| {
                    let mut list: Vec<usize> = lists[old].iter().map(|&o| position[o]).collect();
                    list.sort_unstable();
                    list
                })
                .collect()
        };
        let parents = remap(&edges.parents);
        let dependencies = remap(&edges.dependencies);
        let mut slots: Vec<Option<Revision>> = revisions.into_iter().map(Some).collect();
        let revisions: Vec<Revision> = order.iter().filter_map(|&old| slots[old].take()).collect();
        let index = index.into_iter().map(|(id, old)| (id, Rev(position[old]))).collect();
        let mut graph = Graph {
            index,
            children: revs(invert(&parents)),
            dependents: revs(invert(&dependencies)),
            revisions,
            parents: revs(parents),
            dependencies: revs(dependencies),
            snapshots: Vec::new(),
        };
        graph.index.shrink_to_fit();
        graph
    }

    /// The graph with `snapshots`, sorted by revision id.
    pub fn with_snapshots(mut self, mut snapshots: Vec<crate::chain::snapshot::Snapshot>) -> Graph {
        snapshots.sort_by(|a, b| a.revision.cmp(&b.revision));
        self.snapshots = snapshots;
        self
    }

    /// The chain's snapshots, by revision id.
    pub fn snapshots(&self) -> &[crate::chain::snapshot::Snapshot] {
        &self.snapshots
    }

    /// Every revision, in apply order.
    pub fn revisions(&self) -> &[Revision] {
        &self.revisions
    }

    /// Every revision, in apply order.
    pub fn revs(&self) -> impl DoubleEndedIterator<Item = Rev> + ExactSizeIterator {
        (0..self.len()).map(Rev)
    }

    pub fn len(&self) -> usize {
        self.revisions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.revisions.is_empty()
    }

    pub fn revision(&self, rev: Rev) -> &Revision {
        &self.revisions[rev.0]
    }

    /// The revision with exactly this id.
    pub fn find(&self, id: &str) -> Option<Rev> {
        self.index.get(id).copied()
    }

    pub fn parents(&self, rev: Rev) -> &[Rev] {
        &self.parents[rev.0]
    }

    pub fn children(&self, rev: Rev) -> &[Rev] {
        &self.children[rev.0]
    }

    /// Revisions that name `rev` in their same-package `depends-on`.
    pub fn dependents(&self, rev: Rev) -> &[Rev] {
        &self.dependents[rev.0]
    }

    /// Same-package `depends-on` revisions of `rev`.
    pub fn dependencies(&self, rev: Rev) -> &[Rev] {
        &self.dependencies[rev.0]
    }

    /// Revisions without children. Dependencies do not count: a revision
    /// others only depend on is still a head, as in Alembic.
    pub fn heads(&self) -> Vec<Rev> {
        self.revs().filter(|&r| self.children(r).is_empty()).collect()
    }

    /// Revisions without parents.
    pub fn bases(&self) -> Vec<Rev> {
        self.revs().filter(|&r| self.parents(r).is_empty()).collect()
    }

    /// Revisions with more than one child.
    pub fn branch_points(&self) -> Vec<Rev> {
        self.revs().filter(|&r| self.children(r).len() > 1).collect()
    }

    /// Revisions carrying branch label `label`.
    pub fn labelled(&self, label: &str) -> Vec<Rev> {
        self.revs().filter(|&r| self.revision(r).branches.iter().any(|l| l == label)).collect()
    }

    /// Every branch label, sorted, each once.
    pub fn labels(&self) -> Vec<&str> {
        let mut labels: Vec<&str> =
            self.revisions.iter().flat_map(|r| r.branches.iter().map(String::as_str)).collect();
        labels.sort_unstable();
        labels.dedup();
        labels
    }

    /// Checks that several heads are deliberate, as Alembic's labelled
    /// branches are: each head carries, or descends from, a branch label
    /// that no other head is under, so `LABEL@head` names it. Reports every
    /// head that is not; a single head always passes.
    pub fn check_heads(&self) -> Result<(), ChainErrors> {
        let errors: Vec<ChainError> = self
            .unplanned_heads()
            .into_iter()
            .map(|h| ChainError::UnplannedHead {
                at: self.revision(h).location.clone(),
                id: self.revision(h).id.clone(),
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ChainErrors(errors))
        }
    }

    /// Heads no branch label leads to alone, when there are several heads.
    fn unplanned_heads(&self) -> Vec<Rev> {
        let heads = self.heads();
        if heads.len() < 2 {
            return Vec::new();
        }
        let named: Vec<Rev> = self
            .labels()
            .into_iter()
            .filter_map(|label| {
                let below = self.descendants(&self.labelled(label));
                match heads.iter().filter(|&&h| below.contains(h)).collect::<Vec<_>>().as_slice() {
                    [one] => Some(**one),
                    _ => None,
                }
            })
            .collect();
        heads.into_iter().filter(|h| !named.contains(h)).collect()
    }

    /// `from` and everything that must be applied before it (parents and
    /// dependencies, transitively).
    pub fn ancestors(&self, from: &[Rev]) -> RevSet {
        self.closure(from, |r| self.parents(r).iter().chain(self.dependencies(r)))
    }

    /// `from` with its ancestors and descendants through parents alone: the
    /// line of history `from` lies on.
    pub fn lineage(&self, from: &[Rev]) -> RevSet {
        let up = self.closure(from, |r| self.parents(r).iter());
        let down = self.closure(from, |r| self.children(r).iter());
        up.union(&down)
    }

    /// `from` and everything that must be reverted before it.
    pub fn descendants(&self, from: &[Rev]) -> RevSet {
        self.closure(from, |r| self.children(r).iter().chain(self.dependents(r)))
    }

    fn closure<'a, I>(&'a self, from: &[Rev], next: impl Fn(Rev) -> I) -> RevSet
    where
        I: Iterator<Item = &'a Rev>,
    {
        let mut seen = RevSet(vec![false; self.len()]);
        let mut stack: Vec<Rev> = from.to_vec();
        while let Some(rev) = stack.pop() {
            if seen.insert(rev) {
                stack.extend(next(rev).filter(|&&n| !seen.contains(n)));
            }
        }
        seen
    }

    /// Resolves a full id or a unique prefix of at least 4 characters.
    pub(crate) fn resolve_id(&self, text: &str) -> Result<Rev, TargetError> {
        if let Some(rev) = self.find(text) {
            return Ok(rev);
        }
        if text.len() < 4 {
            let any = self.revisions.iter().any(|r| r.id.starts_with(text));
            return Err(if any && !text.is_empty() {
                TargetError::PrefixTooShort { prefix: text.to_string() }
            } else {
                TargetError::Unknown { target: text.to_string() }
            });
        }
        let mut matches: Vec<Rev> = self.revs().filter(|&r| self.revision(r).id.starts_with(text)).collect();
        match matches.len() {
            0 => Err(TargetError::Unknown { target: text.to_string() }),
            1 => Ok(matches[0]),
            _ => {
                matches.sort_by(|&a, &b| self.revision(a).id.cmp(&self.revision(b).id));
                let candidates = self.ids(&matches);
                Err(TargetError::Ambiguous { prefix: text.to_string(), candidates })
            }
        }
    }

    /// Ids of `revs`, for messages.
    pub fn ids(&self, revs: &[Rev]) -> Vec<String> {
        revs.iter().map(|&r| self.revision(r).id.clone()).collect()
    }
}

/// Parent and same-package dependency edges, by input position.
#[derive(Default)]
struct Edges {
    parents: Vec<Vec<usize>>,
    dependencies: Vec<Vec<usize>>,
}

impl Edges {
    fn resolve(
        revisions: &[Revision],
        index: &HashMap<String, usize>,
        errors: &mut Vec<ChainError>,
    ) -> Edges {
        let mut edges = Edges::default();
        for revision in revisions {
            let mut parents = Vec::new();
            for parent in &revision.parents {
                match index.get(parent) {
                    _ if *parent == revision.id => {
                        errors.push(self_reference(revision, revision.parents_location()))
                    }
                    Some(&p) => push_once(&mut parents, p),
                    None => errors.push(ChainError::UnknownParent {
                        at: revision.parents_location(),
                        id: revision.id.clone(),
                        parent: parent.clone(),
                    }),
                }
            }
            let mut dependencies = Vec::new();
            for dependency in revision.depends_on.iter().filter(|d| d.package.is_none()) {
                match index.get(&dependency.id) {
                    _ if dependency.id == revision.id => {
                        errors.push(self_reference(revision, revision.depends_on_location()))
                    }
                    Some(&d) => push_once(&mut dependencies, d),
                    None => errors.push(ChainError::UnknownDependency {
                        at: revision.depends_on_location(),
                        id: revision.id.clone(),
                        dependency: dependency.id.clone(),
                    }),
                }
            }
            edges.parents.push(parents);
            edges.dependencies.push(dependencies);
        }
        edges
    }

    fn incoming(&self, rev: usize) -> impl Iterator<Item = &usize> {
        self.parents[rev].iter().chain(&self.dependencies[rev])
    }
}

/// `revises: a, b, a` names `a` once: a repeat must not make `a` look like
/// a branch point with two children.
fn push_once(list: &mut Vec<usize>, item: usize) {
    if !list.contains(&item) {
        list.push(item);
    }
}

fn self_reference(revision: &Revision, at: crate::model::location::Location) -> ChainError {
    ChainError::SelfReference { at, id: revision.id.clone() }
}

fn drop_duplicates(revisions: Vec<Revision>, errors: &mut Vec<ChainError>) -> Vec<Revision> {
    // Positions, not copies of ids and locations: every revision passes here.
    let mut first_seen: HashMap<&str, usize> = HashMap::with_capacity(revisions.len());
    let mut duplicate = vec![false; revisions.len()];
    for (i, revision) in revisions.iter().enumerate() {
        if let Some(&first) = first_seen.get(revision.id.as_str()) {
            errors.push(ChainError::DuplicateId {
                at: revision.location.clone(),
                id: revision.id.clone(),
                first: revisions[first].location.clone(),
            });
            duplicate[i] = true;
        } else {
            first_seen.insert(&revision.id, i);
        }
    }
    drop(first_seen);
    revisions.into_iter().zip(duplicate).filter(|(_, duplicate)| !duplicate).map(|(r, _)| r).collect()
}

/// Edges turned around: `inverted[from]` lists every `to` whose `lists[to]`
/// holds `from`, in order.
fn invert(lists: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut inverted = vec![Vec::new(); lists.len()];
    for (to, froms) in lists.iter().enumerate() {
        for &from in froms {
            inverted[from].push(to);
        }
    }
    inverted
}

/// Edge lists by position in apply order, as the graph's revisions.
fn revs(lists: Vec<Vec<usize>>) -> Vec<Vec<Rev>> {
    lists.into_iter().map(|list| list.into_iter().map(Rev).collect()).collect()
}

/// Kahn's algorithm; ties broken by `(created, id)`. Revisions left over
/// sit on or behind a cycle, which is reported.
fn topological_order(revisions: &[Revision], edges: &Edges, errors: &mut Vec<ChainError>) -> Vec<usize> {
    let n = revisions.len();
    let outgoing = invert(&(0..n).map(|r| edges.incoming(r).copied().collect()).collect::<Vec<_>>());
    let mut waiting: Vec<usize> = (0..n).map(|r| edges.incoming(r).count()).collect();
    let key =
        |r: usize| Reverse((revisions[r].created.as_deref().unwrap_or(""), revisions[r].id.as_str(), r));
    let mut ready: BinaryHeap<_> = (0..n).filter(|&r| waiting[r] == 0).map(key).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse((_, _, rev))) = ready.pop() {
        order.push(rev);
        for &next in &outgoing[rev] {
            waiting[next] -= 1;
            if waiting[next] == 0 {
                ready.push(key(next));
            }
        }
    }
    if order.len() < n {
        report_cycles(revisions, edges, &waiting, errors);
    }
    order
}

/// Walks backwards from each unordered revision until a revision repeats:
/// that loop is a cycle. Each cycle is reported once.
fn report_cycles(revisions: &[Revision], edges: &Edges, waiting: &[usize], errors: &mut Vec<ChainError>) {
    let mut reported = vec![false; revisions.len()];
    for start in (0..revisions.len()).filter(|&r| waiting[r] > 0) {
        let mut path = vec![start];
        let mut on_path = HashMap::from([(start, 0usize)]);
        let mut current = start;
        let cycle_start = loop {
            let Some(&previous) = edges.incoming(current).find(|&&p| waiting[p] > 0) else { break None };
            if let Some(&at) = on_path.get(&previous) {
                break Some(at);
            }
            on_path.insert(previous, path.len());
            path.push(previous);
            current = previous;
        };
        let Some(at) = cycle_start else { continue };
        let mut cycle: Vec<usize> = path[at..].iter().rev().copied().collect();
        if cycle.iter().any(|&r| reported[r]) {
            continue;
        }
        cycle.iter().for_each(|&r| reported[r] = true);
        errors.push(cycle_error(revisions, edges, &mut cycle));
    }
}

/// `cycle` lists revisions in apply order (each one's parent or dependency
/// comes just before it). The error starts at the first file, so the message
/// is stable, and points at the header line that closes the loop there.
fn cycle_error(revisions: &[Revision], edges: &Edges, cycle: &mut [usize]) -> ChainError {
    let first = (0..cycle.len()).min_by_key(|&i| &revisions[cycle[i]].location).unwrap_or(0);
    cycle.rotate_left(first);
    let (start, closing) = (cycle[0], cycle[cycle.len() - 1]);
    let at = if edges.parents[start].contains(&closing) {
        revisions[start].parents_location()
    } else {
        revisions[start].depends_on_location()
    };
    let mut ids: Vec<String> = cycle.iter().map(|&r| revisions[r].id.clone()).collect();
    ids.push(revisions[start].id.clone());
    ChainError::Cycle { at, cycle: ids }
}
