//! Integration tests of migrate-runtime's driver-free core: the revision-file
//! parser, the revision graph, target resolution, and the fixture projects
//! under `fixtures/`.
//!
//! One test binary with a module per feature, so linking stays cheap. Each
//! module has a `check` helper fed with tables of cases; chains are written in
//! the compact notation of [`chain`] and rendered into real revision files.

mod alembic;
mod autogen;
mod connections;
mod fixtures;
mod foreign_keys;
mod graph;
mod lint;
mod parse;
mod plan;
mod robustness;
mod rust_revisions;
mod target;
mod tidy;
mod walk;

use migrate_runtime::chain::parse_revision;
use migrate_runtime::chain::Rev;
use migrate_runtime::{Graph, Revision};

/// Revisions from a compact description, one per line:
///
/// ```text
/// a                        a base
/// b1 <- a  [feature]       revises `a`, carries the branch label `feature`
/// m <- b2, c1              a merge point
/// d <- m  needs x, pkg:y   depends on `x` and on revision `y` of package `pkg`
/// ```
///
/// Line `n` becomes `migrations/<id>_.sql`, created `n` seconds after a fixed
/// time, so where the graph leaves a choice the apply order is the order of
/// the lines. Every file has the same shape: `-- revision:` on line 1,
/// `-- revises:` on line 2 and `-- depends-on:` on line 3.
pub fn chain(description: &str) -> Vec<Revision> {
    let lines = description.lines().map(str::trim).filter(|line| !line.is_empty());
    lines
        .enumerate()
        .map(|(second, line)| {
            let (path, text) = render(line, second);
            parse_revision(path.as_ref(), &text)
                .unwrap_or_else(|e| panic!("bad test chain line `{line}`:\n{e}"))
        })
        .collect()
}

/// A valid graph from a [`chain`] description.
pub fn graph(description: &str) -> Graph {
    Graph::build(chain(description)).unwrap_or_else(|e| panic!("the test chain should be valid:\n{e}"))
}

/// An error's variant name, from its `Debug` form, for compact expectations.
pub fn variant(error: &impl std::fmt::Debug) -> String {
    format!("{error:?}").chars().take_while(char::is_ascii_alphanumeric).collect()
}

/// The ids of `revs`, space-separated, for compact expectations.
pub fn ids(graph: &Graph, revs: &[Rev]) -> String {
    graph.ids(revs).join(" ")
}

/// The revisions named by space-separated ids.
pub fn revs(graph: &Graph, ids: &str) -> Vec<Rev> {
    let find = |id: &str| graph.find(id).unwrap_or_else(|| panic!("no revision `{id}` in the test chain"));
    ids.split_whitespace().map(find).collect()
}

/// Text written indented inside a test, without its common indentation and
/// without the first and last lines when they are blank.
pub fn trim_indent(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let text = text.trim_end_matches([' ', '\t']);
    let indent = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out += line.get(indent..).unwrap_or(line.trim_start_matches([' ', '\t']));
    }
    out
}

fn render(line: &str, second: usize) -> (String, String) {
    let (line, labels) = match line.split_once('[') {
        Some((line, labels)) => (line, labels.trim_end().trim_end_matches(']')),
        None => (line, ""),
    };
    let (line, needs) = line.split_once(" needs ").unwrap_or((line, ""));
    let (id, parents) = line.split_once("<-").unwrap_or((line, ""));
    let (id, parents, needs, labels) = (id.trim(), parents.trim(), needs.trim(), labels.trim());
    let created = format!("2026-01-01T00:{:02}:{:02}Z", second / 60, second % 60);
    let text = format!(
        "-- revision: {id}\n-- revises: {parents}\n-- depends-on: {needs}\n-- branch: {labels}\n\
         -- message: {id}\n-- created: {created}\n\n\
         -- migrate:upgrade\nCREATE TABLE t_{id} (id INTEGER);\n\n\
         -- migrate:downgrade\nDROP TABLE t_{id};\n"
    );
    (format!("migrations/{id}_.sql"), text)
}

#[test]
fn the_chain_notation_renders_real_revisions() {
    let revisions = chain("a\nb <- a  needs x, pkg:y  [feature, v2]");
    let b = &revisions[1];
    assert_eq!((b.id.as_str(), b.parents.as_slice()), ("b", ["a".to_string()].as_slice()));
    let depends_on: Vec<String> = b.depends_on.iter().map(ToString::to_string).collect();
    assert_eq!(depends_on, ["x", "pkg:y"]);
    assert_eq!(b.branches, ["feature", "v2"]);
    assert_eq!(b.location.to_string(), "migrations/b_.sql:1");
    assert_eq!(b.depends_on_location().to_string(), "migrations/b_.sql:3");
    assert_eq!(trim_indent("\n    a\n      b\n    "), "a\n  b\n");
}
