//! Target resolution, case by case as Alembic's revision-map tests cover it:
//! diamonds, long and short branches, several bases with dependencies,
//! labelled branches, relative steps, id prefixes, syntax errors, and ranges.

use crate::{graph, ids, revs, variant};
use migrate_runtime::chain::target::{between, is_relative, range, range_down, resolve, split_range, Range};
use migrate_runtime::chain::Rev;
use migrate_runtime::Graph;

/// Resolves each `(target, current, expected)` on `description`'s graph.
/// `current` is space-separated ids; `expected` is space-separated ids,
/// `(base)` for the empty state, or `Variant: message` for an error. Every
/// mismatch is reported at once.
fn check(description: &str, cases: &[(&str, &str, &str)]) {
    check_graph(&graph(description), cases);
}

fn check_graph(graph: &Graph, cases: &[(&str, &str, &str)]) {
    let mut failures = String::new();
    for &(target, current, expected) in cases {
        let actual = match resolve(graph, target, &revs(graph, current)) {
            Ok(revs) if revs.is_empty() => "(base)".to_string(),
            Ok(revs) => ids(graph, &revs),
            Err(error) => format!("{}: {error}", variant(&error)),
        };
        if actual != expected {
            failures +=
                &format!("\n{target:?} from [{current}]\n  expected: {expected}\n  actual:   {actual}\n");
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

/// Each `(range, expected)`: what upgrading across `A:B` applies, in order.
fn check_ranges(description: &str, cases: &[(&str, &str)]) {
    let graph = graph(description);
    for &(range, expected) in cases {
        let (from, to) = split_range(range).unwrap_or_else(|| panic!("{range} is not a range"));
        let from = resolve(&graph, from, &[]).unwrap_or_else(|e| panic!("{range}: {e}"));
        let to = resolve(&graph, to, &[]).unwrap_or_else(|e| panic!("{range}: {e}"));
        assert_eq!(ids(&graph, &between(&graph, &from, &to)), expected, "{range}");
    }
}

const DIAMOND: &str = "
    a
    b1 <- a
    c1 <- a
    m <- b1, c1
";

#[test]
fn diamond() {
    check(
        DIAMOND,
        &[
            ("head", "", "m"),
            ("heads", "", "m"),
            ("base", "m", "(base)"),
            ("m", "", "m"),
            ("m-1", "", "b1 c1"),
            ("head-1", "", "b1 c1"),
            ("-1", "m", "b1 c1"),
            ("head-2", "", "AmbiguousStep: `head-2` is ambiguous at `m`, which has several parents: b1, c1"),
            ("a+1", "", "AmbiguousStep: `a+1` is ambiguous at `a`, which has several children: b1, c1"),
            ("+1", "a", "AmbiguousStep: `+1` is ambiguous at `a`, which has several children: b1, c1"),
            ("+1", "b1", "m"),
            ("b1+1", "", "m"),
            ("c1-1", "", "a"),
            ("+1", "", "a"),
            ("base+1", "", "a"),
            ("a-1", "", "(base)"),
            ("a-2", "", "WalksTooFar: `a-2` walks past base: only 1 step(s) available"),
            ("m+1", "", "WalksTooFar: `m+1` walks past head: only 0 step(s) available"),
            (
                "+1",
                "b1 c1",
                "SeveralCurrent: `+1` is ambiguous: the database is at several revisions (b1, c1): step from one of them, e.g. `b1+1`",
            ),
            (
                "-1",
                "b1 c1",
                "SeveralCurrent: `-1` is ambiguous: the database is at several revisions (b1, c1): step from one of them, e.g. `b1-1`",
            ),
        ],
    );
}

const LONG_SHORT: &str = "
    r1
    r2 <- r1
    l1 <- r2 [long]
    l2 <- l1
    l3 <- l2
    s1 <- r2 [short]
";

#[test]
fn long_and_short_branches() {
    check(
        LONG_SHORT,
        &[
            ("heads", "", "l3 s1"),
            ("head", "", "SeveralHeads: `head` needs one head but the chain has several (l3, s1)"),
            ("head-1", "", "SeveralHeads: `head-1` needs one head but the chain has several (l3, s1)"),
            ("+1", "r2", "AmbiguousStep: `+1` is ambiguous at `r2`, which has several children: l1, s1"),
            ("l3-5", "", "(base)"),
            ("l3-6", "", "WalksTooFar: `l3-6` walks past base: only 5 step(s) available"),
            ("-6", "l3", "WalksTooFar: `-6` walks past base: only 5 step(s) available"),
            ("s1-2", "", "r1"),
            ("r1+4", "", "AmbiguousStep: `r1+4` is ambiguous at `r2`, which has several children: l1, s1"),
        ],
    );
}

#[test]
fn labelled_branches() {
    check(
        LONG_SHORT,
        &[
            ("long@head", "", "l3"),
            ("short@head", "", "s1"),
            ("long@heads", "", "l3"),
            ("long@head-1", "", "l2"),
            ("long@-1", "l3 s1", "l2"),
            ("long@-2", "l3 s1", "l1"),
            ("short@-1", "l3 s1", "r2"),
            // At the branch point the labelled child is the one step.
            ("long@+1", "r2", "l1"),
            ("short@+1", "r2", "s1"),
            // Only the other branch applied: the step starts at the branch point.
            ("long@+1", "s1", "l1"),
            ("short@+1", "l2", "s1"),
            ("long@-1", "s1", "r1"),
            ("long@+3", "r2", "l3"),
            ("long@+4", "r2", "WalksTooFar: `long@+4` walks past head: only 3 step(s) available"),
            ("short@+2", "r2", "WalksTooFar: `short@+2` walks past head: only 1 step(s) available"),
            ("long@+1", "", "r1"),
            ("long@base", "", "(base)"),
            ("long@base+2", "", "r2"),
            ("long@l1+1", "", "l2"),
            ("long@l1", "", "l1"),
            ("long@s1", "", "Unknown: no revision matches `long@s1`"),
            ("nope@head", "", "UnknownBranch: no branch is labelled `nope`"),
            ("@head", "", "Syntax: invalid target `@head`: expected a branch label before `@`"),
            ("long@", "", "Syntax: invalid target `long@`: expected a revision after `@`"),
        ],
    );
}

#[test]
fn a_labelled_branch_through_a_merge_point() {
    check(
        "
        a
        b1 <- a [feature]
        b2 <- b1
        c1 <- a
        m <- b2, c1
        ",
        &[
            ("feature@head", "", "m"),
            ("feature@+1", "a", "b1"),
            ("feature@+1", "c1", "b1"),
            ("feature@m-1", "", "b2"),
            ("feature@-3", "m", "a"),
            ("feature@-4", "m", "(base)"),
            ("feature@-5", "m", "WalksTooFar: `feature@-5` walks past base: only 4 step(s) available"),
            ("feature@c1", "", "Unknown: no revision matches `feature@c1`"),
            ("m-1", "", "b2 c1"),
            ("-1", "m", "b2 c1"),
        ],
    );
}

const SEVERAL_BASES: &str = "
    x1
    x2 <- x1
    y1
    y2 <- y1 needs x2
";

#[test]
fn several_bases_with_a_dependency() {
    check(
        SEVERAL_BASES,
        &[
            ("heads", "", "x2 y2"),
            ("head", "", "SeveralHeads: `head` needs one head but the chain has several (x2, y2)"),
            ("base+1", "", "AmbiguousStep: `base+1` is ambiguous at `base`, which has several bases: x1, y1"),
            ("+1", "", "AmbiguousStep: `+1` is ambiguous at `base`, which has several bases: x1, y1"),
            ("x1+1", "", "x2"),
            // Relative steps follow parents, not dependencies.
            ("y2-1", "", "y1"),
            ("y2-2", "", "(base)"),
            ("y2-3", "", "WalksTooFar: `y2-3` walks past base: only 2 step(s) available"),
        ],
    );
}

#[test]
fn a_package_depending_on_another() {
    // Dependencies on another package are left to `workspace::combine`.
    check(
        "
        b1 needs accounts:a1
        b2 <- b1
        ",
        &[("head", "", "b2"), ("base+1", "", "b1"), ("b2-2", "", "(base)")],
    );
}

#[test]
fn id_prefixes() {
    check(
        "
        abcd
        abcdef <- abcd
        dead0001 <- abcdef
        dead0002 <- abcdef
        ",
        &[
            // An exact id wins over being the prefix of another.
            ("abcd", "", "abcd"),
            ("abcde", "", "abcdef"),
            ("abcdef", "", "abcdef"),
            ("dead0002", "", "dead0002"),
            ("abc", "", "PrefixTooShort: revision prefix `abc` is too short: give at least 4 characters"),
            ("de", "", "PrefixTooShort: revision prefix `de` is too short: give at least 4 characters"),
            ("zzz", "", "Unknown: no revision matches `zzz`"),
            ("feed", "", "Unknown: no revision matches `feed`"),
            ("ABCD", "", "Unknown: no revision matches `ABCD`"),
            ("dead", "", "Ambiguous: `dead` is ambiguous: it matches dead0001, dead0002"),
            ("dead-1", "", "Ambiguous: `dead` is ambiguous: it matches dead0001, dead0002"),
            ("abcd+1", "", "abcdef"),
            ("abcde+1", "", "AmbiguousStep: `abcde+1` is ambiguous at `abcdef`, which has several children: dead0001, dead0002"),
            ("dead0001-2", "", "abcd"),
        ],
    );
}

#[test]
fn syntax_errors() {
    let number = "expected a number after `+` or `-`";
    check(
        DIAMOND,
        &[
            ("abc+", "", &format!("Syntax: invalid target `abc+`: {number}")),
            ("abc+x", "", &format!("Syntax: invalid target `abc+x`: {number}")),
            ("+", "", &format!("Syntax: invalid target `+`: {number}")),
            ("head-", "", &format!("Syntax: invalid target `head-`: {number}")),
            (
                "+99999999999999999999",
                "",
                &format!("Syntax: invalid target `+99999999999999999999`: {number}"),
            ),
            (
                "a:m",
                "",
                "Syntax: invalid target `a:m`: a range `A:B` is only accepted by `history` and `--sql`",
            ),
            ("", "", "Syntax: invalid target ``: a target cannot be empty"),
            ("   ", "", "Syntax: invalid target ``: a target cannot be empty"),
            (
                "heads+1",
                "",
                "Syntax: invalid target `heads+1`: `heads` names several revisions: steps need one",
            ),
            ("  head  ", "", "m"),
        ],
    );
}

#[test]
fn an_empty_chain() {
    check_graph(
        &Graph::empty(),
        &[
            ("head", "", "Empty: the chain has no revisions"),
            ("heads", "", "(base)"),
            ("base", "", "(base)"),
            ("+1", "", "WalksTooFar: `+1` walks past head: only 0 step(s) available"),
            ("-1", "", "WalksTooFar: `-1` walks past base: only 0 step(s) available"),
            ("abcd", "", "Unknown: no revision matches `abcd`"),
        ],
    );
}

#[test]
fn ranges() {
    for (range, expected) in [
        ("a:b", Some(("a", "b"))),
        (" a : b ", Some(("a", "b"))),
        ("a:", Some(("a", ""))),
        (":b", Some(("", "b"))),
        ("ab", None),
    ] {
        assert_eq!(split_range(range), expected, "{range}");
    }
    check_ranges(
        DIAMOND,
        &[
            ("base:head", "a b1 c1 m"),
            ("a:m", "b1 c1 m"),
            ("b1:m", "c1 m"),
            ("m-1:m", "m"),
            ("m:a", ""),
            ("a:a", ""),
        ],
    );
    check_ranges(
        LONG_SHORT,
        &[("base:heads", "r1 r2 l1 l2 l3 s1"), ("r2:long@head", "l1 l2 l3"), ("l2:short@head", "s1")],
    );
    // A dependency is applied on the way, even from another base.
    check_ranges(SEVERAL_BASES, &[("base:y2", "x1 x2 y1 y2"), ("x2:y2", "y1 y2"), ("y1:x2", "x1 x2")]);
}

/// Each `(range, current, expected)` through `resolve_range` (`range` or
/// `range_down`): `A -> B` as the ends' ids, `(base)` for an empty end, or
/// `Variant: message`.
fn check_range_ends(
    description: &str,
    resolve_range: fn(&Graph, &str, &[Rev]) -> Result<Range, migrate_runtime::TargetError>,
    cases: &[(&str, &str, &str)],
) {
    let graph = graph(description);
    let show = |revs: &[Rev]| if revs.is_empty() { "(base)".to_string() } else { ids(&graph, revs) };
    let mut failures = String::new();
    for &(text, current, expected) in cases {
        let actual = match resolve_range(&graph, text, &revs(&graph, current)) {
            Ok(range) => format!("{} -> {}", show(&range.from), show(&range.to.tips)),
            Err(error) => format!("{}: {error}", variant(&error)),
        };
        if actual != expected {
            failures +=
                &format!("\n{text:?} from [{current}]\n  expected: {expected}\n  actual:   {actual}\n");
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn a_range_runs_from_an_ancestor_to_its_descendant() {
    check_range_ends(
        DIAMOND,
        range,
        &[
            ("a:m", "", "a -> m"),
            ("a:a", "", "a -> a"),
            (":", "", "(base) -> m"),
            ("b1:", "", "b1 -> m"),
            (":base", "", "(base) -> (base)"),
            ("m:a", "", "EmptyRange: range `m:a` is empty: `m` is not an ancestor of `a`"),
            ("head:base", "", "EmptyRange: range `head:base` is empty: `head` is not an ancestor of `base`"),
            ("b1:c1", "", "EmptyRange: range `b1:c1` is empty: `b1` is not an ancestor of `c1`"),
            ("-1:", "m", "b1 c1 -> m"),
            ("-1:+1", "b1", "a -> m"),
            ("+1:-1", "b1", "EmptyRange: range `+1:-1` is empty: `+1` is not an ancestor of `-1`"),
            ("-1:", "", "WalksTooFar: `-1` walks past base: only 0 step(s) available"),
            ("ab", "", "Syntax: invalid target `ab`: expected a range `A:B` (either end may be left out)"),
            ("nope:", "", "Unknown: no revision matches `nope`"),
        ],
    );
    // Unrelated bases: a dependency does not make `y1` an ancestor of `x2`.
    check_range_ends(
        SEVERAL_BASES,
        range,
        &[
            ("x1:y2", "", "x1 -> y2"),
            ("y1:x2", "", "EmptyRange: range `y1:x2` is empty: `y1` is not an ancestor of `x2`"),
        ],
    );
}

#[test]
fn a_downgrade_range_runs_from_a_descendant_to_its_ancestor() {
    check_range_ends(
        DIAMOND,
        range_down,
        &[
            ("m:a", "", "m -> a"),
            (":", "", "m -> (base)"),
            ("head:", "", "m -> (base)"),
            (":b1", "", "m -> b1"),
            ("a:m", "", "EmptyRange: range `a:m` is empty: `m` is not an ancestor of `a`"),
            ("base:head", "", "EmptyRange: range `base:head` is empty: `head` is not an ancestor of `base`"),
            ("c1:b1", "", "EmptyRange: range `c1:b1` is empty: `b1` is not an ancestor of `c1`"),
        ],
    );
}

#[test]
fn relative_targets_are_told_apart() {
    for (target, relative) in [
        ("-1", true),
        ("+2", true),
        (" -1 ", true),
        ("feature@-1", true),
        ("feature@+1", true),
        ("head-1", false),
        ("abcd+1", false),
        ("feature@head", false),
        ("base", false),
        ("", false),
        ("-", false),
    ] {
        assert_eq!(is_relative(target), relative, "{target:?}");
    }
}
