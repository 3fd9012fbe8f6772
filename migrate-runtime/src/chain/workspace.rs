//! Chains across packages: `depends-on: pkg:rev` must name a package with
//! migrations and one of its revisions, and the union of all chains must be
//! acyclic.

use crate::chain::graph::Graph;
use crate::model::error::{ChainError, ChainErrors};
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
