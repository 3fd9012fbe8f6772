//! Chains across packages: `depends-on: pkg:rev` must name a package with
//! migrations and one of its revisions, and the union of all chains must be
//! acyclic.

use crate::error::{ChainError, ChainErrors};
use crate::graph::Graph;
use crate::revision::{Dependency, Revision};

/// One package's validated chain.
#[derive(Debug, Clone, Copy)]
pub struct PackageChain<'a> {
    pub package: &'a str,
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
            combined.push(qualified(revision, chain.package));
            for dependency in &revision.depends_on {
                let Some(package) = &dependency.package else { continue };
                if !chains.iter().any(|c| c.package == package) {
                    errors.push(ChainError::UnknownPackage {
                        at: revision.depends_on_location(),
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

/// `revision` with every id qualified by its package, and every dependency
/// turned into an edge of the combined graph.
fn qualified(revision: &Revision, package: &str) -> Revision {
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
        ..revision.clone()
    }
}
