//! `cargo migrate diff`: what differs between the live database and the
//! schema at the chain's head (built in a scratch database of the same
//! kind), one `schema::Difference` per line. Only reads that database.
//!
//! A database several packages share (their rows in one history table) is
//! compared with the combined head of every package recorded there, built
//! package after package in the order their revisions depend on each
//! other, and each difference names the package whose revisions made the
//! object: another package's tables are no difference of this one's.

use super::Context;
use crate::db;
use crate::errors::Coded;
use crate::output::{print, print_warning};
use crate::project::Package;
use crate::scratch;
use anyhow::Result;
use migrate_runtime::apply::AppliedRevision;
use migrate_runtime::apply::State;
use migrate_runtime::database::Database;
use migrate_runtime::schema::{Difference, Schema};
use migrate_runtime::{Graph, Revision};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// A difference, and in a shared database the package whose head has the
/// object (none: no package's head has it).
#[derive(Serialize)]
pub struct LiveDifference {
    #[serde(flatten)]
    pub difference: Difference,
    #[serde(skip_serializing_if = "Owner::is_alone")]
    pub package: Owner,
}

/// Whose object a difference concerns.
#[derive(Serialize, Clone, PartialEq, Eq)]
#[serde(untagged)]
pub enum Owner {
    /// The database holds one package's revisions: nothing to name.
    Alone,
    Package(String),
    /// In a shared database, an object no package's head has.
    Nobody,
}

impl Owner {
    fn is_alone(&self) -> bool {
        *self == Owner::Alone
    }
}

impl fmt::Display for LiveDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sides = Sides(&self.difference);
        match &self.package {
            Owner::Alone => write!(f, "{sides}"),
            Owner::Package(name) => write!(f, "{sides} (package `{name}`)"),
            Owner::Nobody => write!(f, "{sides} (in no package's head)"),
        }
    }
}

/// A difference between the database (the first schema) and the head (the
/// second), saying which side has what: "added" or "removed" alone would
/// not say which way the comparison went.
struct Sides<'a>(&'a Difference);

impl fmt::Display for Sides<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Difference { object, before: database, after: head } = self.0;
        match (database, head) {
            (Some(database), None) => write!(f, "{object}: in the database, not in the head ({database})"),
            (None, Some(head)) => write!(f, "{object}: in the head, not in the database ({head})"),
            (Some(database), Some(head)) => {
                write!(f, "{object}: the database has {database}, the head {head}")
            }
            (None, None) => write!(f, "{object}"),
        }
    }
}

pub fn run(cx: &Context) -> Result<()> {
    let (package, graph) = cx.chain()?;
    let url = db::url(cx, package)?;
    let (differences, heads) = match db::open_read_only(&url)? {
        Some(database) => {
            let rows = database.applied(graph, &db::options(package))?;
            let pending = pending(graph, &rows);
            let state = State::new(graph, rows);
            if !pending.is_empty() {
                print_warning(&format!("{}; the differences include theirs", behind(&pending)));
            }
            if let Err(dirty) = state.ensure_clean() {
                print_warning(&crate::hint::with_hint(&dirty));
            }
            live_differences(cx, package, graph, &database)?
        }
        // A SQLite file that does not exist yet is an empty database.
        None => {
            let scratch = scratch::scratch(url.dialect(), None, &package.config.schemas)?;
            let head = scratch::head_schema(&scratch, package, graph)?;
            (alone(Schema::default().diff(&head)), vec![package.name.clone()])
        }
    };
    if cx.json() {
        let view =
            serde_json::json!({ "database": url.to_string(), "heads": heads, "differences": differences });
        cx.document(&view)?;
    } else if differences.is_empty() {
        print("no differences\n");
    } else {
        print(&differences.iter().map(|d| format!("{d}\n")).collect::<String>());
    }
    let head = match heads.as_slice() {
        [one] => format!("the head schema of package `{one}`"),
        many => format!("the combined head schema of packages {}", quoted(many)),
    };
    let objects = match differences.len() {
        0 => return Ok(()),
        1 => "1 object".to_string(),
        n => format!("{n} objects"),
    };
    Err(Coded::new("schema-differs", format!("database {url} differs from {head} in {objects}")).into())
}

/// The revisions of `graph` that `rows` (a database's history) do not
/// record, in apply order.
pub fn pending<'g>(graph: &'g Graph, rows: &[AppliedRevision]) -> Vec<&'g Revision> {
    let applied: HashSet<&str> = rows.iter().map(|row| row.revision.as_str()).collect();
    graph.revisions().iter().filter(|r| !applied.contains(r.id.as_str())).collect()
}

/// Says a database is behind its head by `pending` revisions.
pub fn behind(pending: &[&Revision]) -> String {
    let count = match pending.len() {
        1 => "1 revision".to_string(),
        n => format!("{n} revisions"),
    };
    format!(
        "the database is {count} behind the head (pending {}): run `cargo migrate upgrade` to compare it with the head",
        pending.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(", ")
    )
}

/// From `database`'s schema (history table left out) to the head schema
/// of `package` and every other package recorded in its history, built on
/// a scratch database of the same kind (for PostgreSQL on the same
/// server); with the names of the packages whose heads were combined.
pub fn live_differences(
    cx: &Context,
    package: &Package,
    graph: &Graph,
    database: &Database,
) -> Result<(Vec<LiveDifference>, Vec<String>)> {
    let table = &package.config.history_table;
    let recorded = database.packages(table)?;
    if recorded.iter().all(|name| *name == package.name) {
        let schemas = &package.config.schemas;
        let live = database.schema_in(table, schemas)?;
        let scratch = scratch::scratch(database.dialect(), cx.global.database_url(), schemas)?;
        let head = scratch::head_schema(&scratch, package, graph)?;
        return Ok((alone(live.diff(&head)), vec![package.name.clone()]));
    }
    let sharing = sharing_packages(cx, package, &recorded)?;
    // Every schema one of them owns, this package's first.
    let mut schemas = package.config.schemas.clone();
    for schema in sharing.iter().flat_map(|(other, _)| &other.config.schemas) {
        if !schemas.contains(schema) {
            schemas.push(schema.clone());
        }
    }
    let live = database.schema_in(table, &schemas)?;
    let scratch = scratch::scratch(database.dialect(), cx.global.database_url(), &schemas)?;
    let chains: Vec<_> = sharing.iter().map(|(p, g)| (g, db::options(p))).collect();
    let heads = scratch.heads_in_turn(&chains)?;
    let owners = owners(sharing.iter().map(|(p, _)| p.name.as_str()).zip(&heads));
    let combined = heads.last().cloned().unwrap_or_default();
    let differences = live
        .diff(&combined)
        .into_iter()
        .map(|difference| {
            let package = owners.get(&difference.object).map_or(Owner::Nobody, |p| Owner::Package(p.clone()));
            LiveDifference { difference, package }
        })
        .collect();
    Ok((differences, sharing.iter().map(|(p, _)| p.name.clone()).collect()))
}

/// `package` and the workspace's packages recorded in the history, in the
/// order their revisions depend on each other. A recorded package this
/// workspace does not have cannot be built: say so.
fn sharing_packages<'a>(
    cx: &'a Context,
    package: &Package,
    recorded: &[String],
) -> Result<Vec<(&'a Package, Graph)>> {
    let mut sharing = super::workspace_order(cx)?;
    sharing.retain(|(p, _)| p.name == package.name || recorded.contains(&p.name));
    let unknown: Vec<&String> =
        recorded.iter().filter(|r| !sharing.iter().any(|(p, _)| p.name == **r)).collect();
    if !unknown.is_empty() {
        let names: Vec<String> = unknown.iter().map(|n| n.to_string()).collect();
        crate::output::print_warning(&format!(
            "the history also records {}, which this workspace does not have: its objects count as differences",
            quoted(&names)
        ));
    }
    Ok(sharing)
}

/// Each entry of the combined head, with the package whose chain last
/// added or changed it as the heads were built in turn.
fn owners<'a>(heads: impl Iterator<Item = (&'a str, &'a Schema)>) -> BTreeMap<String, String> {
    let mut owners = BTreeMap::new();
    let mut before = BTreeMap::new();
    for (package, head) in heads {
        let entries = head.entries();
        for (object, description) in &entries {
            if before.get(object) != Some(description) {
                owners.insert(object.clone(), package.to_string());
            }
        }
        before = entries;
    }
    owners
}

fn alone(differences: Vec<Difference>) -> Vec<LiveDifference> {
    differences.into_iter().map(|difference| LiveDifference { difference, package: Owner::Alone }).collect()
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}
