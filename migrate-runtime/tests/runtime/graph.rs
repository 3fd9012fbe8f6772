//! The revision graph: every chain error, all at once and naming its file; an
//! apply order that respects every edge and does not depend on the order the
//! files come in; heads, bases and branch points; chains combined across
//! packages.

use crate::{chain, graph, ids, revs, trim_indent};
use migrate_runtime::chain::parse_revision;
use migrate_runtime::chain::{combine, PackageChain};
use migrate_runtime::chain::{Rev, RevSet};
use migrate_runtime::{Graph, Revision};
use std::path::Path;

/// The apply order of a valid chain.
fn check_order(description: &str, expected: &str) {
    let graph = graph(description);
    assert_partial_order(&graph);
    assert_eq!(ids(&graph, &graph.revs().collect::<Vec<_>>()), expected);
}

/// Heads, bases and branch points of a valid chain.
fn check_shape(description: &str, expected: &str) {
    let graph = graph(description);
    let actual = format!(
        "heads: {}\nbases: {}\nbranch points: {}\n",
        ids(&graph, &graph.heads()),
        ids(&graph, &graph.bases()),
        ids(&graph, &graph.branch_points()),
    );
    assert_eq!(actual, trim_indent(expected));
}

/// Every error of a broken chain, one per line, whatever the input order.
fn check_errors(revisions: Vec<Revision>, expected: &str) {
    let expected = trim_indent(expected);
    for order in orders(revisions) {
        match Graph::build(order) {
            Ok(graph) => panic!("the chain should not build, got {:?}", graph.ids(&graph.heads())),
            Err(errors) => assert_eq!(errors.to_string(), expected.trim_end()),
        }
    }
}

/// The input in several orders: every rotation, forwards and backwards.
fn orders(revisions: Vec<Revision>) -> Vec<Vec<Revision>> {
    let mut orders = Vec::new();
    for turn in 0..revisions.len().max(1) {
        let mut order = revisions.clone();
        order.rotate_left(turn);
        orders.push(order.clone());
        order.reverse();
        orders.push(order);
    }
    orders
}

/// Every revision comes after its parents and dependencies.
fn assert_partial_order(graph: &Graph) {
    for rev in graph.revs() {
        for &before in graph.parents(rev).iter().chain(graph.dependencies(rev)) {
            assert!(
                before < rev,
                "{} is applied before {}",
                graph.revision(rev).id,
                graph.revision(before).id
            );
        }
    }
}

fn file(path: &str, text: &str) -> Revision {
    parse_revision(path.as_ref(), &trim_indent(text)).unwrap_or_else(|e| panic!("{path}:\n{e}"))
}

#[test]
fn apply_order() {
    check_order("a\nb <- a\nc <- b", "a b c");
    // A parent listed later in the files still comes first.
    check_order("c <- b\nb <- a\na", "a b c");
    // Ready at the same time: the earlier `created` goes first.
    check_order("a\nb1 <- a\nc1 <- a\nb2 <- b1\nm <- b2, c1", "a b1 c1 b2 m");
    check_order("a\nc1 <- a\nb1 <- a\nb2 <- b1\nm <- b2, c1", "a c1 b1 b2 m");
    // Dependencies order like parents.
    check_order("x\ny needs z\nz", "x z y");
    check_order("x1\nx2 <- x1\ny1 needs x2\ny2 <- y1", "x1 x2 y1 y2");
}

#[test]
fn ties_without_created_times_break_on_the_id() {
    let base = |id: &str| {
        file(&format!("migrations/{id}_.sql"), &format!("-- revision: {id}\n-- migrate:upgrade\n"))
    };
    for input in orders(vec![base("cccc"), base("aaaa"), base("bbbb")]) {
        let graph = Graph::build(input).unwrap();
        assert_eq!(ids(&graph, &graph.revs().collect::<Vec<_>>()), "aaaa bbbb cccc");
    }
}

#[test]
fn the_order_does_not_depend_on_the_input_order() {
    let description = "
        root
        a1 <- root [feature]
        a2 <- a1
        b1 <- root
        b2 <- b1 needs a1
        c1 <- root
        m <- a2, b2, c1
        after <- m
        other
    ";
    let expected = graph(description);
    for input in orders(chain(description)) {
        let graph = Graph::build(input).unwrap();
        assert_partial_order(&graph);
        assert_eq!(graph.revisions(), expected.revisions());
        assert_eq!(ids(&graph, &graph.heads()), "after other");
        assert_eq!(ids(&graph, graph.children(graph.find("root").unwrap())), "a1 b1 c1");
    }
}

#[test]
fn heads_bases_and_branch_points() {
    check_shape("a", "heads: a\nbases: a\nbranch points: \n");
    check_shape(
        "
        a
        b1 <- a
        b2 <- b1
        c1 <- a
        m <- b2, c1
        ",
        "
        heads: m
        bases: a
        branch points: a
        ",
    );
    // A revision that others only depend on is still a head.
    check_shape(
        "
        x1
        x2 <- x1
        y1
        y2 <- y1 needs x2
        z1 <- y1
        ",
        "
        heads: x2 y2 z1
        bases: x1 y1
        branch points: y1
        ",
    );
    // `revises: a, b, a` names `a` once, so `a` is no branch point.
    check_shape("a\nb\nm <- a, b, a", "heads: m\nbases: a b\nbranch points: \n");
    let graph = graph("a\nb\nm <- a, b, a");
    assert_eq!(ids(&graph, graph.parents(revs(&graph, "m")[0])), "a b");
}

/// What `check_heads` reports, one line per unplanned head (empty: none).
fn check_unplanned_heads(description: &str, expected: &str) {
    let graph = graph(description);
    let actual = graph.check_heads().err().map(|errors| errors.to_string()).unwrap_or_default();
    assert_eq!(actual, trim_indent(expected).trim_end(), "{description}");
}

#[test]
fn several_heads_are_deliberate_when_a_label_leads_to_each_alone() {
    check_unplanned_heads("a\nb <- a", "");
    check_unplanned_heads(
        "a\nb <- a\nc <- a",
        "
        migrations/b_.sql:1: head `b` is one of several heads and no branch label leads to it alone: it looks like an unplanned fork
        migrations/c_.sql:1: head `c` is one of several heads and no branch label leads to it alone: it looks like an unplanned fork
        ",
    );
    // A label on one head only: the other is the unplanned one.
    check_unplanned_heads(
        "a\nb <- a [price]\nc <- a",
        "migrations/c_.sql:1: head `c` is one of several heads and no branch label leads to it alone: it looks like an unplanned fork",
    );
    // Each head carries a label, or descends from one no other head is under.
    check_unplanned_heads("a\nb <- a [price]\nb2 <- b\nc <- a [stock]", "");
    // Two bases, each labelled: two chains on purpose.
    check_unplanned_heads("a [main]\na2 <- a\nx [audit]\nx2 <- x", "");
    // A label above the fork leads to both heads, so to neither alone.
    check_unplanned_heads(
        "a [items]\nb <- a\nc <- a",
        "
        migrations/b_.sql:1: head `b` is one of several heads and no branch label leads to it alone: it looks like an unplanned fork
        migrations/c_.sql:1: head `c` is one of several heads and no branch label leads to it alone: it looks like an unplanned fork
        ",
    );
    // ... unless a label below it tells one of them apart; the other is
    // still ambiguous under `items`.
    check_unplanned_heads(
        "a [items]\nb <- a [price]\nc <- a",
        "migrations/c_.sql:1: head `c` is one of several heads and no branch label leads to it alone: it looks like an unplanned fork",
    );
    let labelled = graph("a [main]\nb <- a [price, stock]\nc <- a [price]");
    assert_eq!(labelled.labels(), ["main", "price", "stock"]);
}

#[test]
fn ancestors_and_descendants_follow_parents_and_dependencies() {
    let graph = graph("x1\nx2 <- x1\ny1\ny2 <- y1 needs x2\ny3 <- y2");
    let members = |set: RevSet| -> String { ids(&graph, &set.iter().collect::<Vec<_>>()) };
    assert_eq!(members(graph.ancestors(&revs(&graph, "y2"))), "x1 x2 y1 y2");
    assert_eq!(members(graph.descendants(&revs(&graph, "x1"))), "x1 x2 y2 y3");
    assert_eq!(members(graph.ancestors(&[])), "");
}

#[test]
fn unknown_parents_and_dependencies() {
    check_errors(
        chain("a\nb <- a, zz\nc <- b needs yy, a, pkg:ww"),
        "
        migrations/b_.sql:2: revision `b` revises `zz`, which is not a revision of this package
        migrations/c_.sql:3: revision `c` depends on `yy`, which is not a known revision
        ",
    );
}

#[test]
fn self_references() {
    check_errors(
        chain("a <- a\nb needs b"),
        "
        migrations/a_.sql:2: revision `a` names itself as its own parent or dependency
        migrations/b_.sql:3: revision `b` names itself as its own parent or dependency
        ",
    );
}

#[test]
fn duplicate_ids() {
    let text =
        |message: &str| format!("-- revision: 3f2a9c1b7d4e\n-- message: {message}\n-- migrate:upgrade\n");
    check_errors(
        vec![
            file("migrations/3f2a9c1b7d4e_users.sql", &text("users")),
            file("migrations/3f2a9c1b7d4e_roles.sql", &text("roles")),
            file("migrations/3f2a9c1b7d4e_users_again.sql", &text("users again")),
        ],
        "
        migrations/3f2a9c1b7d4e_users.sql:1: duplicate revision id `3f2a9c1b7d4e`, also used by migrations/3f2a9c1b7d4e_roles.sql:1
        migrations/3f2a9c1b7d4e_users_again.sql:1: duplicate revision id `3f2a9c1b7d4e`, also used by migrations/3f2a9c1b7d4e_roles.sql:1
        ",
    );
}

#[test]
fn cycles() {
    check_errors(
        chain("a <- b\nb <- a"),
        "migrations/a_.sql:2: revisions form a cycle: a -> b -> a (each must be applied before the next)",
    );
    check_errors(
        chain("root\na <- root, c\nb <- a\nc <- b\nd <- c"),
        "migrations/a_.sql:2: revisions form a cycle: a -> b -> c -> a (each must be applied before the next)",
    );
    // Through `depends-on`: the error points at that header. Each arrow reads
    // "is applied before".
    check_errors(
        chain("a\nb <- a needs c\nc <- b"),
        "migrations/b_.sql:3: revisions form a cycle: b -> c -> b (each must be applied before the next)",
    );
    // Two separate cycles, each reported once.
    check_errors(
        chain("a <- b\nb <- a\nx <- y\ny <- x\nafter <- a, x"),
        "
        migrations/a_.sql:2: revisions form a cycle: a -> b -> a (each must be applied before the next)
        migrations/x_.sql:2: revisions form a cycle: x -> y -> x (each must be applied before the next)",
    );
}

#[test]
fn every_error_of_a_broken_set_at_once() {
    let mut revisions = chain(
        "
        root
        a <- root, gone
        b <- b
        c <- d
        d <- c needs missing
        ",
    );
    revisions.push(file("migrations/root_copy.sql", "-- revision: root\n-- migrate:upgrade\n"));
    check_errors(
        revisions,
        "
        migrations/a_.sql:2: revision `a` revises `gone`, which is not a revision of this package
        migrations/b_.sql:2: revision `b` names itself as its own parent or dependency
        migrations/c_.sql:2: revisions form a cycle: c -> d -> c (each must be applied before the next)
        migrations/d_.sql:3: revision `d` depends on `missing`, which is not a known revision
        migrations/root_copy.sql:1: duplicate revision id `root`, also used by migrations/root_.sql:1",
    );
}

fn check_combined(packages: &[(&str, &str)], expected: &str) {
    let graphs: Vec<(&str, Graph)> =
        packages.iter().map(|(name, description)| (*name, graph(description))).collect();
    let chains: Vec<PackageChain<'_>> = graphs
        .iter()
        .map(|(package, graph)| PackageChain { package, dir: Path::new(package), graph })
        .collect();
    let actual = match combine(&chains) {
        Ok(graph) => {
            assert_partial_order(&graph);
            let all: Vec<Rev> = graph.revs().collect();
            format!("order: {}\nheads: {}\n", ids(&graph, &all), ids(&graph, &graph.heads()))
        }
        Err(errors) => format!("{errors}\n"),
    };
    assert_eq!(actual, trim_indent(expected));
}

#[test]
fn chains_combine_across_packages() {
    check_combined(
        &[("billing", "b1 needs accounts:a2\nb2 <- b1"), ("accounts", "a1\na2 <- a1\na3 <- a2")],
        "
        order: accounts:a1 accounts:a2 billing:b1 billing:b2 accounts:a3
        heads: billing:b2 accounts:a3
        ",
    );
    // A same-package dependency stays in its package (and, being no parent,
    // leaves `accounts:a1` a head).
    check_combined(
        &[("accounts", "a1\na2 needs a1"), ("billing", "a1\nb1 <- a1 needs accounts:a2")],
        "
        order: accounts:a1 billing:a1 accounts:a2 billing:b1
        heads: accounts:a1 accounts:a2 billing:b1
        ",
    );
}

#[test]
fn cross_package_errors() {
    check_combined(
        &[("billing", "b1 needs nope:abc123abc123, accounts:a1\nb2 <- b1 needs ledger:l1")],
        "
        billing/migrations/b1_.sql:3: revision `b1` depends on package `nope`, which has no migrations in this workspace
        billing/migrations/b1_.sql:3: revision `b1` depends on package `accounts`, which has no migrations in this workspace
        billing/migrations/b2_.sql:3: revision `b2` depends on package `ledger`, which has no migrations in this workspace
        ",
    );
    check_combined(
        &[("accounts", "a1"), ("billing", "b1 needs accounts:a9")],
        "billing/migrations/b1_.sql:3: revision `billing:b1` depends on `accounts:a9`, which is not a known revision\n",
    );
    check_combined(
        &[("accounts", "a1 needs billing:b1"), ("billing", "b1 needs accounts:a1")],
        "accounts/migrations/a1_.sql:3: revisions form a cycle: accounts:a1 -> billing:b1 -> accounts:a1 (each must be applied before the next)\n",
    );
}
