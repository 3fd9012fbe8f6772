//! The planner, `plan::State`, case by case: what an upgrade, a downgrade or
//! a stamp runs for a database's history rows, on every graph shape (several
//! bases, branch points, merges, labels, `depends-on` within and across
//! packages, stand-ins for revisions the code no longer has), and what it
//! refuses (drift, dirty marks, a database ahead of the code).
//!
//! Each case is `(applied, command, expected)`:
//! - `applied`: the database's rows, space-separated: `a` applied, `a~`
//!   applied from SQL that has changed since (drift), `a!` left partially
//!   applied, `z^a` a revision the code does not have, revising `a` (it
//!   becomes a stand-in; `z^a>b` also depends on `b`), `pkg:r>app:a` a revision `r` of another package
//!   that depends on this package's `a`, `pkg:r` one that depends on nothing;
//! - `command`: `up TARGET`, `down TARGET`, `stamp TARGET`, or `stamp! TARGET`
//!   (stamp allowed to remove rows);
//! - `expected`: the ids run, in order (`+a -b` for a stamp that adds `a`
//!   and removes `b`), `(nothing)`, or `Variant: message` for a refusal.

use crate::{graph, variant};
use migrate_runtime::apply::State;
use migrate_runtime::apply::{AppliedRevision, OtherPackageRevision};
use migrate_runtime::apply::{Direction, Options};
use migrate_runtime::model::ApplyError;
use migrate_runtime::{Dialect, Graph};

fn check(description: &str, cases: &[(&str, &str, &str)]) {
    let graph = graph(description);
    let mut failures = String::new();
    for &(applied, command, expected) in cases {
        let actual = run(&graph, applied, command);
        if actual != expected {
            failures +=
                &format!("\n{command:?} on [{applied}]\n  expected: {expected}\n  actual:   {actual}\n");
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

fn run(graph: &Graph, applied: &str, command: &str) -> String {
    let (rows, others) = rows(graph, applied);
    let state = State::new(graph, rows).with_other_packages("app", others);
    let (verb, target) = command.split_once(' ').expect("a command is `verb TARGET`");
    let mut options = Options::new("app");
    let outcome = match verb {
        "up" | "down" => {
            let direction = if verb == "up" { Direction::Upgrade } else { Direction::Downgrade };
            state
                .resolve(target)
                .and_then(|t| state.plan(direction, target, &t, &options, Dialect::Sqlite))
                .map(|revs| state.graph().ids(&revs).join(" "))
        }
        "stamp" | "stamp!" => {
            options.allow_unstamp = verb == "stamp!";
            state.resolve(target).and_then(|t| state.stamp_plan(target, &t, &options)).map(|(add, remove)| {
                let add = state.graph().ids(&add).into_iter().map(|id| format!("+{id}"));
                let remove = state.graph().ids(&remove).into_iter().map(|id| format!("-{id}"));
                add.chain(remove).collect::<Vec<_>>().join(" ")
            })
        }
        _ => panic!("unknown verb in `{command}`"),
    };
    match outcome {
        Ok(ids) if ids.is_empty() => "(nothing)".to_string(),
        Ok(ids) => ids,
        Err(ApplyError::Target(error)) => format!("{}: {error}", variant(&error)),
        Err(error) => format!("{}: {error}", variant(&error)),
    }
}

/// The history rows and other packages' revisions an `applied` spec names.
fn rows(graph: &Graph, applied: &str) -> (Vec<AppliedRevision>, Vec<OtherPackageRevision>) {
    let (mut rows, mut others) = (Vec::new(), Vec::new());
    for token in applied.split_whitespace() {
        if let Some((package, rest)) = token.split_once(':').filter(|(p, _)| *p != "app") {
            let (revision, depends_on) = rest.split_once('>').unwrap_or((rest, ""));
            let depends_on = depends_on.split(',').filter(|d| !d.is_empty()).map(str::to_string).collect();
            others.push(OtherPackageRevision {
                package: package.into(),
                revision: revision.into(),
                depends_on,
            });
        } else if let Some((id, parent)) = token.split_once('^') {
            let (parent, needs) = parent.split_once('>').unwrap_or((parent, ""));
            let mut row = AppliedRevision::for_revision(&graph.revisions()[0], Dialect::Sqlite).expect("row");
            (row.revision, row.parents, row.message) = (id.into(), vec![parent.into()], id.into());
            row.depends_on = needs.split(',').filter(|d| !d.is_empty()).map(str::to_string).collect();
            row.downgrade_sql = Some(format!("DROP TABLE t_{id};"));
            rows.push(row);
        } else {
            let id = token.trim_end_matches(['~', '!']);
            let rev = graph.find(id).unwrap_or_else(|| panic!("no revision `{id}` in the test chain"));
            let mut row = AppliedRevision::for_revision(graph.revision(rev), Dialect::Sqlite).expect("row");
            if token.ends_with('~') {
                row.checksum = "0".repeat(64);
            }
            if token.ends_with('!') {
                row.dirty = Some("at statement 1 of 2".into());
            }
            rows.push(row);
        }
    }
    (rows, others)
}

/// Two bases: `users` (u1) and `audit` (a1 -> a2).
const TWO_BASES: &str = "
    u1  [users]
    a1  [audit]
    a2 <- a1
";

#[test]
fn downgrades_leave_other_bases_alone() {
    check(
        TWO_BASES,
        &[
            ("u1 a1 a2", "down a1", "a2"),
            ("u1 a1 a2", "down audit@base", "a2 a1"),
            ("u1 a1 a2", "down users@base", "u1"),
            ("u1 a1 a2", "down base", "a2 a1 u1"),
            ("u1 a1 a2", "down audit@-1", "a2"),
            ("u1 a1 a2", "down users@-1", "u1"),
            ("u1 a1 a2", "down a2-1", "a2"),
            ("u1 a1 a2", "down u1", "(nothing)"),
            ("a1 a2", "down u1", "NotBelow: target `u1` is not below the current revision: use `upgrade` to go there"),
            ("u1 a1", "down -1", "SeveralCurrent: `-1` is ambiguous: the database is at several revisions (u1, a1): step from one of them, e.g. `u1-1`"),
            ("u1 a1 a2", "up heads", "(nothing)"),
            ("", "up a2", "a1 a2"),
            ("", "up users@head", "u1"),
            ("", "up +1", "AmbiguousStep: `+1` is ambiguous at `base`, which has several bases: u1, a1"),
            ("", "up audit@+1", "a1"),
        ],
    );
}

/// A branch point `b` with a labelled branch `feature` and a trunk.
const BRANCHES: &str = "
    a
    b <- a
    c <- b
    f1 <- b  [feature]
    d <- c
    f2 <- f1
";

#[test]
fn downgrades_keep_to_their_branch() {
    check(
        BRANCHES,
        &[
            ("a b c d f1 f2", "down c", "d"),
            ("a b c d f1 f2", "down b", "f2 d f1 c"),
            ("a b c d f1 f2", "down feature@-1", "f2"),
            ("a b c d f1 f2", "down feature@-2", "f2 f1"),
            ("a b c d f1 f2", "down feature@b", "f2 f1"),
            ("a b c d f1 f2", "down d-1", "d"),
            ("a b c f1", "down c-1", "f1 c"),
            ("a b c f1", "down -1", "SeveralCurrent: `-1` is ambiguous: the database is at several revisions (c, f1): step from one of them, e.g. `c-1`"),
            ("a b c", "down -1", "c"),
            ("a b c d f1 f2", "down feature@base", "f2 d f1 c b a"),
            ("a b c d", "down feature@b", "NothingAbove: nothing applied descends from `feature@b` on its line, yet the database is past it (at d): name the revision to go down to"),
            ("a b c d f1", "down f1", "(nothing)"),
            ("a b c d", "up feature@head", "f1 f2"),
            ("a b c d", "up feature@+1", "f1"),
            ("a b", "up +1", "AmbiguousStep: `+1` is ambiguous at `b`, which has several children: c, f1"),
            ("a b c d f1 f2", "down f1", "f2"),
        ],
    );
}

/// A merge `m` of two branches, then one more revision.
const MERGE: &str = "
    a
    b <- a
    c <- a
    m <- b, c
    n <- m
";

#[test]
fn merges_revert_as_a_unit() {
    check(
        MERGE,
        &[
            ("a b c m n", "down b", "n m"),
            ("a b c m n", "down -2", "n m"),
            ("a b c m", "down -1", "m"),
            ("a b c m n", "down a", "n m c b"),
            ("a b c", "up m", "m"),
            ("a b", "up n", "c m n"),
            ("a b c m n", "down c", "n m"),
        ],
    );
}

/// Same-package `depends-on` across two bases: `a2` needs `u1`.
const DEPENDS: &str = "
    u1
    a1
    a2 <- a1  needs u1
    u2 <- u1
";

#[test]
fn dependencies_are_applied_first_and_reverted_with_their_dependants() {
    check(
        DEPENDS,
        &[
            ("", "up a2", "u1 a1 a2"),
            ("u1 a1 a2 u2", "down u1", "u2"),
            ("u1 a1 a2 u2", "down base", "u2 a2 a1 u1"),
            ("u1 a1 a2 u2", "down a1", "a2"),
            // Reverting u1 takes what depends on it along.
            ("u1 a1 a2", "stamp! a1", "-a2"),
        ],
    );
}

#[test]
fn other_packages_dependencies_hold_both_ways() {
    let description = "
        a
        b <- a  needs billing:x1
    ";
    check(
        description,
        &[
            ("a", "up b", "MissingDependency: migrations/b_.sql:3: revision `b` depends on `billing:x1`, which this database has not applied"),
            ("a billing:x1", "up b", "b"),
            ("a b accounts:r1>app:b", "down a", "NeededByOtherPackage: migrations/b_.sql:1: cannot revert revision `b`: accounts:r1 of another package depends on it; downgrade that package first"),
            ("a b accounts:r1>app:a", "down a", "b"),
        ],
    );
}

#[test]
fn refusals_come_before_any_plan() {
    let description = "
        a
        b <- a
        c <- b
    ";
    check(
        description,
        &[
            ("a~", "up head", "Drift: migrations/a_.sql:9: revision `a` changed after it was applied (checksum 000000000000 recorded, 6d088011b62e now)"),
            ("a b!", "up head", "Dirty: revision `b` was partially applied (at statement 1 of 2) and needs attention"),
            ("a b!", "down base", "Dirty: revision `b` was partially applied (at statement 1 of 2) and needs attention"),
            ("a b c z^c", "up head", "DatabaseAhead: the database is ahead of this code: it has 1 revision that these revision files do not (z)"),
        ],
    );
}

#[test]
fn stand_ins_revert_like_revisions() {
    let description = "
        a
        b <- a
        x
    ";
    check(
        description,
        &[
            ("a b z^b x", "down b", "z"),
            ("a b z^b x", "down a", "z b"),
            ("a b z^b x", "down -1", "SeveralCurrent: `-1` is ambiguous: the database is at several revisions (z, x): step from one of them, e.g. `z-1`"),
            ("a b z^b x", "down z-1", "z"),
            ("a b z^b x", "down x", "(nothing)"),
        ],
    );
}

#[test]
fn stamps_never_forget_silently() {
    check(
        BRANCHES,
        &[
            ("", "stamp c", "+a +b +c"),
            ("a b c", "stamp feature@head", "+f1 +f2"),
            ("a b c d f1 f2", "stamp c", "StampBelow: stamping `c` would forget 1 revision recorded as applied (d) without reverting it"),
            ("a b c d f1 f2", "stamp! c", "-d"),
            ("a b c d f1 f2", "stamp! feature@-1", "-f2"),
            ("a b c d", "stamp f2", "+f1 +f2"),
            ("a b c d f1 f2", "stamp! base", "-f2 -d -f1 -c -b -a"),
            ("a b c d f1 f2", "stamp heads", "(nothing)"),
        ],
    );
}

/// `c` depends on its sibling `b`: once `c` is applied, `b` is below it.
const SIBLING_DEPENDENCY: &str = "
    a
    b <- a
    c <- a  needs b
";

#[test]
fn a_revision_only_depended_on_is_not_current() {
    check(
        SIBLING_DEPENDENCY,
        &[
            ("a b c", "down -1", "c"),
            ("a b", "down -1", "b"),
            // Only `c` keeps `b`, through `depends-on`: as in Alembic, there is
            // nothing above `b` to revert, yet the database is past it.
            ("a b c", "down b", "NothingAbove: nothing applied descends from `b` on its line, yet the database is past it (at c): name the revision to go down to"),
            ("a b c", "down a", "c b"),
            ("a", "up c", "b c"),
        ],
    );
}

#[test]
fn a_target_pointing_the_other_way_is_refused() {
    check(
        BRANCHES,
        &[
            (
                "a b c",
                "up -1",
                "WrongWay: `-1` steps the other way from the current revision: use `downgrade`",
            ),
            (
                "a b c",
                "up feature@-1",
                "WrongWay: `feature@-1` steps the other way from the current revision: use `downgrade`",
            ),
            (
                "a b c",
                "down +1",
                "WrongWay: `+1` steps the other way from the current revision: use `upgrade`",
            ),
            (
                "a b c d f1 f2",
                "down heads",
                "SeveralHeads: `heads` needs one head but the chain has several (d, f2)",
            ),
            ("a b c", "up c-1", "(nothing)"),
        ],
    );
}

#[test]
fn a_branch_is_a_line_of_revises_edges() {
    let description = "
        a  [alpha]
        b  needs a
        aaaa1 <- a
        aaaa2 <- b
    ";
    check(
        description,
        &[
            // `b` only depends on `a`: it is not on branch alpha.
            ("", "up alpha@head", "a aaaa1"),
            ("", "up alpha@b", "Unknown: no revision matches `alpha@b`"),
            // `aaaa` is ambiguous in the chain, unique on the branch.
            ("", "up alpha@aaaa", "a aaaa1"),
            ("", "up aaaa", "Ambiguous: `aaaa` is ambiguous: it matches aaaa1, aaaa2"),
        ],
    );
}

#[test]
fn a_stand_in_keeps_what_it_depends_on() {
    // The code has a -> t -> u; a newer binary applied x, revising a and
    // depending on u. Reverting u must take x along.
    let description = "
        a
        t <- a
        u <- t
    ";
    check(description, &[("a t u x^a>u", "down t", "x u")]);
}
