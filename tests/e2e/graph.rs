//! Graph shapes from the command line: ranges that run backwards or across
//! unrelated branches, ranges with relative ends, a second base started with
//! `new --head base`, `branches` with several bases, and `check` on several
//! heads. Databases are real SQLite files, named with `--database-url`.

use crate::support::sqlite::{history, tables};
use crate::support::{Fixture, Run};
use serde_json::Value;

// fixtures/branched: a904 <- 0e44 <- {5c1a (feature) <- 6981, 4c49} <- 461b
const BRANCHED_HEAD: &str = "461bceb9192d";
const FEATURE_TIP: &str = "698149cafb6b";
const AUDIT_LOG: &str = "4c491eae91c5";

// fixtures/demo: cf0f <- 20f0
const DEMO_BASE: &str = "cf0f5b45967a";
const DEMO_HEAD: &str = "20f04b9598da";

fn ids(value: &Value) -> Vec<String> {
    value.as_array().expect("array").iter().map(|r| r["id"].as_str().expect("id").to_string()).collect()
}

/// `cargo migrate <args> --database-url sqlite:<fixture>/app.sqlite3`.
fn run(fixture: &Fixture, args: &[&str]) -> Run {
    let url = format!("sqlite:{}", fixture.path().join("app.sqlite3").display());
    fixture.run(&[args, &["--database-url", &url][..]].concat())
}

/// Asserts that `args` fails (exit 1) with nothing on stdout, and returns
/// stderr.
#[track_caller]
fn fails_quietly(fixture: &Fixture, args: &[&str]) -> String {
    let out = run(fixture, args);
    let stdout = out.stdout.clone();
    let stderr = out.fails();
    assert!(stdout.is_empty(), "{args:?} printed:\n{stdout}");
    stderr
}

// ---------------------------------------------------------------------------
// 1. Reversed and unrelated ranges

#[test]
fn a_reversed_range_is_an_error_naming_both_ends() {
    let branched = Fixture::copy("branched");
    let reversed = "range `461b:a904` is empty: `461b` is not an ancestor of `a904`";
    for args in [&["history", "-r", "461b:a904"][..], &["upgrade", "--sql", "461b:a904"]] {
        let err = fails_quietly(&branched, args);
        assert!(err.contains(reversed), "{args:?}: {err}");
    }
    // With `--format json` the error is also a document on stdout.
    let out = run(&branched, &["history", "-r", "head:base", "--format", "json"]);
    let document: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    let err = out.fails();
    assert!(err.contains("range `head:base` is empty: `head` is not an ancestor of `base`"), "{err}");
    assert_eq!(document["error"]["code"], "target-empty-range", "{document}");
    // A downgrade range runs from newer to older: `base:head` is the reversed one.
    let err = fails_quietly(&branched, &["downgrade", "--sql", "a904:461b"]);
    assert!(err.contains("range `a904:461b` is empty: `461b` is not an ancestor of `a904`"), "{err}");
    let err = fails_quietly(&branched, &["downgrade", "base:head", "--sql"]);
    assert!(err.contains("range `base:head` is empty: `head` is not an ancestor of `base`"), "{err}");
    assert!(!branched.path().join("app.sqlite3").exists(), "offline and read commands create no database");
}

#[test]
fn a_range_across_unrelated_branches_is_an_error() {
    let branched = Fixture::copy("branched");
    let (feature, audit) = (&FEATURE_TIP[..6], &AUDIT_LOG[..6]);
    let range = format!("{feature}:{audit}");
    let message = format!("range `{range}` is empty: `{feature}` is not an ancestor of `{audit}`");
    for args in [&["history", "-r", &range][..], &["upgrade", "--sql", &range]] {
        let err = fails_quietly(&branched, args);
        assert!(err.contains(&message), "{args:?}: {err}");
    }
    let err = fails_quietly(&branched, &["downgrade", "--sql", &range]);
    assert!(err.contains(&format!("`{audit}` is not an ancestor of `{feature}`")), "{err}");
    let labelled = fails_quietly(&branched, &["history", "-r", &format!("feature@head:{audit}")]);
    assert!(labelled.contains(&format!("`feature@head` is not an ancestor of `{audit}`")), "{labelled}");
}

#[test]
fn forward_ranges_still_work_and_a_downgrade_range_defaults_to_heads_and_base() {
    let branched = Fixture::copy("branched");
    let json = |range: &str| ids(&run(&branched, &["history", "-r", range, "--format", "json"]).json());
    assert_eq!(json(&format!("{FEATURE_TIP}:{BRANCHED_HEAD}")), [BRANCHED_HEAD, FEATURE_TIP]);
    assert_eq!(json(&format!("{AUDIT_LOG}:{AUDIT_LOG}")), [AUDIT_LOG], "both ends included");
    assert_eq!(json(":base"), Vec::<String>::new());
    // Offline: up to the feature tip, then from there to the head, on one file.
    let db = branched.path().join("offline.sqlite3");
    let up = run(&branched, &["upgrade", "--sql", &format!(":{FEATURE_TIP}")]).ok();
    let rest = run(&branched, &["upgrade", "--sql", &format!("{FEATURE_TIP}:head")]).ok();
    execute(&db, &up);
    assert_eq!(history(&db, "migrate_history").len(), 4, "base, 0e44, feature and its tip");
    execute(&db, &rest);
    assert_eq!(history(&db, "migrate_history").len(), 6);
    let whole = run(&branched, &["downgrade", "--sql", "head:base"]).ok();
    assert_eq!(run(&branched, &["downgrade", "--sql", "head:"]).ok(), whole, "`head:` goes down to base");
    assert_eq!(run(&branched, &["downgrade", "--sql", ":base"]).ok(), whole, "`:base` starts at the heads");
    execute(&db, &whole);
    assert_eq!(tables(&db), ["migrate_history", "migrate_history_format"]);
}

fn execute(db: &std::path::Path, script: &str) {
    rusqlite::Connection::open(db)
        .and_then(|c| c.execute_batch(script))
        .unwrap_or_else(|e| panic!("the script does not run: {e}\n{script}"));
}

// ---------------------------------------------------------------------------
// 2. Relative ends: `-r -1:` is a value, stepping from the database

/// The demo chain with a third revision on top.
fn demo_with_three_revisions() -> (Fixture, &'static str) {
    let demo = Fixture::copy("demo");
    let third = "3a3a3a3a3a3a";
    demo.write(
        &format!("migrations/{third}_add_note.sql"),
        &format!(
            "-- revision: {third}\n-- revises: {DEMO_HEAD}\n-- message: add note\n\n\
             -- migrate:upgrade\nCREATE TABLE note (id INTEGER PRIMARY KEY);\n\n\
             -- migrate:downgrade\nDROP TABLE note;\n"
        ),
    );
    (demo, third)
}

#[test]
fn a_relative_history_range_steps_from_the_current_revision() {
    let (demo, third) = demo_with_three_revisions();
    let history_of = |range: &str| ids(&run(&demo, &["history", "-r", range, "--format", "json"]).json());
    // No database yet: nothing to step back from, and none is created.
    let err = fails_quietly(&demo, &["history", "-r", "-1:"]);
    assert!(err.contains("`-1` walks past base: only 0 step(s) available"), "{err}");
    assert!(!demo.path().join("app.sqlite3").exists(), "history never creates the database");

    run(&demo, &["upgrade"]).ok();
    assert_eq!(history_of("-1:"), [third, DEMO_HEAD]);
    assert_eq!(history_of("-2:head"), [third, DEMO_HEAD, DEMO_BASE]);
    assert_eq!(history_of(":-1"), [DEMO_HEAD, DEMO_BASE]);
    assert_eq!(history_of("-2:-1"), [DEMO_HEAD, DEMO_BASE]);
    let text = run(&demo, &["history", "--rev-range", "-1:", "--verbose"]).ok();
    assert!(text.contains(&format!("Rev: {third} (head)")), "{text}");

    run(&demo, &["downgrade", "-1"]).ok();
    assert_eq!(history_of("-1:"), [third, DEMO_HEAD, DEMO_BASE], "from the base revision after a downgrade");
    assert_eq!(history_of("+1:"), [third]);
    let err = fails_quietly(&demo, &["history", "-r", "+1:-1"]);
    assert!(err.contains("range `+1:-1` is empty: `+1` is not an ancestor of `-1`"), "{err}");
}

// ---------------------------------------------------------------------------
// 3. A second base, and 4. `branches` listing the bases

const AUDIT: &str = "a0d17a0d17a0";

/// The demo chain plus a second base `audit` made with `new --head base`,
/// with SQL filled in.
fn demo_with_two_bases(extra: &[&str]) -> Fixture {
    let demo = Fixture::copy("demo");
    let args = [&["new", "-m", "audit", "--head", "base", "--rev-id", AUDIT][..], extra].concat();
    let out = run(&demo, &args).ok();
    let path = format!("migrations/{AUDIT}_audit.sql");
    assert!(out.contains(&format!("created {path}")), "{out}");
    let text = demo.read(&path);
    let sql = "-- migrate:upgrade\nCREATE TABLE audit (id INTEGER PRIMARY KEY, event TEXT);\n";
    demo.write(
        &path,
        &text
            .replacen("-- migrate:upgrade\n", sql, 1)
            .replace("-- migrate:downgrade\n", "-- migrate:downgrade\nDROP TABLE audit;\n"),
    );
    demo
}

#[test]
fn new_with_head_base_starts_a_second_base() {
    let demo = demo_with_two_bases(&[]);
    let text = demo.read(&format!("migrations/{AUDIT}_audit.sql"));
    assert!(text.starts_with(&format!("-- revision: {AUDIT}\n-- revises:\n")), "{text}");
    let graph = demo.graph(".");
    assert_eq!(graph.ids(&graph.bases()), [DEMO_BASE, AUDIT]);
    assert_eq!(graph.ids(&graph.heads()), [DEMO_HEAD, AUDIT]);
    // Both chains apply, each from its own base, on a real file.
    run(&demo, &["upgrade", "heads"]).ok();
    let db = demo.path().join("app.sqlite3");
    assert!(tables(&db).contains(&"audit".to_string()), "{:?}", tables(&db));
    assert_eq!(history(&db, "migrate_history").len(), 3);
    // Without `--head`, a third revision still needs to know where to go.
    let err = fails_quietly(&demo, &["new", "-m", "next"]);
    assert!(err.contains("several heads") && err.contains("--head"), "{err}");
    run(&demo, &["new", "-m", "another base", "--head", "base"]).ok();
    assert_eq!(demo.graph(".").bases().len(), 3);
}

const BRANCHED_BASE: &str = "a904daedca23";

#[test]
fn branches_lists_several_bases() {
    let demo = demo_with_two_bases(&["--branch", "audit"]);
    let text = run(&demo, &["branches"]).ok();
    let expected = format!(
        "bases:\n<base> -> {DEMO_BASE}, create user and role tables\n<base> -> {AUDIT} (head) (branch: audit), audit\n"
    );
    assert!(text.starts_with(&expected), "{text}");
    assert!(!text.contains("branch points:"), "no branch point in this chain:\n{text}");
    let json = run(&demo, &["branches", "--format", "json"]).json();
    assert_eq!(ids(&json["bases"]), [DEMO_BASE, AUDIT]);
    assert_eq!(json["bases"][1]["is_base"], true);
    assert_eq!(json["branch_points"], Value::Array(Vec::new()));

    // One base: the text is the branch points alone, the JSON lists the base.
    let branched = Fixture::copy("branched");
    let text = run(&branched, &["branches"]).ok();
    assert!(!text.contains("bases:") && text.contains("(branchpoint)"), "{text}");
    let json = run(&branched, &["branches", "--format", "json"]).json();
    assert_eq!(ids(&json["bases"]), [BRANCHED_BASE]);
    assert_eq!(ids(&json["branch_points"]), ["0e44a632c354"]);

    // Several bases and a branch point: both sections, headed.
    let fork = Fixture::copy("broken/several_heads");
    run(&fork, &["new", "-m", "audit", "--head", "base"]).ok();
    let text = run(&fork, &["branches"]).ok();
    let sections: Vec<&str> = text.lines().filter(|l| l.ends_with(':')).collect();
    assert_eq!(sections, ["bases:", "branch points:"], "{text}");
    assert_eq!(text.matches("    -> ").count(), 2, "{text}");
}

// ---------------------------------------------------------------------------
// 5. `check` and several heads

// fixtures/broken/several_heads: 8b80 <- {adf9, 12f9}
const PRICE_HEAD: &str = "adf91cd0faae";
const STOCK_HEAD: &str = "12f95f71bd6b";

#[test]
fn check_refuses_unplanned_heads_naming_them_and_the_merge() {
    let fork = Fixture::copy("broken/several_heads");
    let err = fork.run(&["check"]).fails();
    for (head, file) in [(PRICE_HEAD, "add_item_price"), (STOCK_HEAD, "add_item_stock")] {
        let line = format!("error: migrations/{head}_{file}.sql:1: head `{head}` is one of several heads and no branch label leads to it alone");
        assert!(err.contains(&line), "missing {line:?} in:\n{err}");
    }
    let merge = format!("cargo migrate merge {PRICE_HEAD} {STOCK_HEAD} -m \"...\"");
    assert!(err.contains(&format!("package `broken_several_heads` has 2 heads ({PRICE_HEAD}, {STOCK_HEAD}): join them with `{merge}`")), "{err}");
    assert!(err.contains("`multiple-heads = true`"), "{err}");
    // The hint is a command that works.
    fork.run(&["merge", PRICE_HEAD, STOCK_HEAD, "-m", "join"]).ok();
    assert!(fork.run(&["check"]).ok().contains("ok: package `broken_several_heads`: 4 revisions, head "));
}

#[test]
fn check_accepts_several_heads_when_the_package_allows_them() {
    let fork = Fixture::copy("broken/several_heads");
    let manifest = fork.read("Cargo.toml");
    let allowed =
        manifest.replace("[workspace]", "[package.metadata.migrate]\nmultiple-heads = true\n\n[workspace]");
    fork.write("Cargo.toml", &allowed);
    let out = fork.run(&["check"]).ok();
    assert_eq!(
        out,
        format!("ok: package `broken_several_heads`: 3 revisions, heads {PRICE_HEAD}, {STOCK_HEAD}\n")
    );
    // The workspace table is a default for its packages.
    let workspace =
        manifest.replace("[workspace]", "[workspace]\n[workspace.metadata.migrate]\nmultiple-heads = true");
    fork.write("Cargo.toml", &workspace);
    fork.run(&["check"]).ok();
    fork.write(
        "Cargo.toml",
        &manifest.replace("[workspace]", "[package.metadata.migrate]\nmultiple-heads = 2\n\n[workspace]"),
    );
    let err = fork.run(&["check"]).fails();
    assert!(err.contains("invalid [package.metadata.migrate]"), "{err}");
}

#[test]
fn check_accepts_heads_that_each_have_a_branch_label_of_their_own() {
    let fork = Fixture::copy("broken/several_heads");
    let label = |head: &str, file: &str, name: &str| {
        let path = format!("migrations/{head}_{file}.sql");
        let text = fork.read(&path).replacen("-- message:", &format!("-- branch: {name}\n-- message:"), 1);
        fork.write(&path, &text);
    };
    label(PRICE_HEAD, "add_item_price", "price");
    let err = fork.run(&["check"]).fails();
    assert!(err.contains(&format!("head `{STOCK_HEAD}` is one of several heads")), "{err}");
    assert!(!err.contains(&format!("head `{PRICE_HEAD}` is one")), "the labelled head is deliberate:\n{err}");
    label(STOCK_HEAD, "add_item_stock", "stock");
    fork.run(&["check"]).ok();

    // A label above the fork names no head alone: both are unplanned again.
    let base = Fixture::copy("broken/several_heads");
    let path = "migrations/8b800e161121_create_item_table.sql";
    base.write(path, &base.read(path).replacen("-- message:", "-- branch: items\n-- message:", 1));
    let err = base.run(&["check"]).fails();
    assert_eq!(err.matches("is one of several heads").count(), 2, "{err}");

    // A second base labelled in `new`, over an unlabelled chain: the
    // unlabelled head is the one named.
    let demo = demo_with_two_bases(&["--branch", "audit"]);
    let err = demo.run(&["check"]).fails();
    assert!(err.contains(&format!("head `{DEMO_HEAD}` is one of several heads")), "{err}");
    assert!(!err.contains(&format!("head `{AUDIT}` is one")), "{err}");
    assert!(err.contains(&format!("cargo migrate merge {DEMO_HEAD} {AUDIT} -m")), "{err}");
}
