//! Chains across packages: `depends-on: pkg:rev` must name a package with
//! migrations and one of its revisions, and the union of all chains must be
//! acyclic.

use crate::chain::graph::Graph;
use crate::model::error::{ChainError, ChainErrors, PackageCycle};
use crate::model::location::Location;
use crate::model::revision::{Dependency, Revision};
use std::path::Path;

/// One package's validated chain.
#[derive(Debug, Clone, Copy)]
pub struct PackageChain<'a> {
    pub package: &'a str,
    /// The package's folder relative to the workspace root, so that errors
    /// about several packages say which file of which package.
    pub dir: &'a Path,
    pub graph: &'a Graph,
}

/// Checks cross-package dependencies and returns the combined graph, whose
/// ids read `package:id` and whose order is a valid apply order for the
/// whole workspace.
pub fn combine(chains: &[PackageChain<'_>]) -> Result<Graph, ChainErrors> {
    let mut errors = Vec::new();
    let mut combined = Vec::new();
    for chain in chains {
        for revision in chain.graph.revisions() {
            combined.push(qualified(revision, chain));
            for dependency in &revision.depends_on {
                let Some(package) = &dependency.package else { continue };
                if !chains.iter().any(|c| c.package == package) {
                    errors.push(ChainError::UnknownPackage {
                        at: in_workspace(&revision.depends_on_location(), chain.dir),
                        id: revision.id.clone(),
                        package: package.clone(),
                    });
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(ChainErrors(errors));
    }
    Graph::build(combined)
}

/// The packages of `chains` in an order in which each package's revisions
/// find the other packages' revisions they depend on already applied: a
/// package comes after every package it names in a `depends-on`, ties in
/// the order given. Packages that depend on each other both ways have no
/// such order (a workspace upgrade would need to interleave them).
pub fn package_order<'a>(chains: &[PackageChain<'a>]) -> Result<Vec<&'a str>, PackageCycle> {
    let needs: Vec<Vec<usize>> = chains.iter().map(|chain| needed_packages(chain, chains)).collect();
    let mut order: Vec<usize> = Vec::with_capacity(chains.len());
    while order.len() < chains.len() {
        let ready = (0..chains.len())
            .find(|i| !order.contains(i) && needs[*i].iter().all(|needed| order.contains(needed)));
        match ready {
            Some(next) => order.push(next),
            None => {
                let packages =
                    (0..chains.len()).filter(|i| !order.contains(i)).map(|i| chains[i].package.to_string());
                return Err(PackageCycle { packages: packages.collect() });
            }
        }
    }
    Ok(order.into_iter().map(|i| chains[i].package).collect())
}

/// The indices of the other packages `chain` names in a `depends-on`.
fn needed_packages(chain: &PackageChain<'_>, chains: &[PackageChain<'_>]) -> Vec<usize> {
    let named =
        chain.graph.revisions().iter().flat_map(|r| &r.depends_on).filter_map(|d| d.package.as_deref());
    let mut needed: Vec<usize> = named
        .filter(|&package| package != chain.package)
        .filter_map(|package| chains.iter().position(|c| c.package == package))
        .collect();
    needed.sort_unstable();
    needed.dedup();
    needed
}

/// `revision` with every id qualified by its package, and every dependency
/// turned into an edge of the combined graph.
fn qualified(revision: &Revision, chain: &PackageChain<'_>) -> Revision {
    let package = chain.package;
    let qualify = |id: &str| format!("{package}:{id}");
    let depends_on = revision
        .depends_on
        .iter()
        .map(|d| Dependency {
            package: None,
            id: format!("{}:{}", d.package.as_deref().unwrap_or(package), d.id),
        })
        .collect();
    Revision {
        id: qualify(&revision.id),
        parents: revision.parents.iter().map(|p| qualify(p)).collect(),
        depends_on,
        location: in_workspace(&revision.location, chain.dir),
        ..revision.clone()
    }
}

fn in_workspace(location: &Location, dir: &Path) -> Location {
    let path = if dir == Path::new(".") { location.path.clone() } else { dir.join(&location.path) };
    Location { path, line: location.line }
}
