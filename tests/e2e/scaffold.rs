//! The writing commands: init, new, rename, merge, rebase. Every file they
//! write must be accepted by the library's parser and graph.

use crate::support::Fixture;

#[test]
fn init_sets_up_a_fresh_package_and_new_builds_a_chain() {
    let fixture = Fixture::copy("demo");
    std::fs::remove_dir_all(fixture.path().join("migrations")).expect("remove migrations");
    std::fs::remove_file(fixture.path().join("schema.sql")).expect("remove schema");
    let manifest =
        fixture.read("Cargo.toml").replace("[package.metadata.migrate]", "[package.metadata.other]");
    std::fs::write(fixture.path().join("Cargo.toml"), manifest).expect("write manifest");

    let out = fixture.run(&["init"]).ok();
    assert!(out.contains("created  migrations/"), "{out}");
    assert!(fixture.read("Cargo.toml").contains("[package.metadata.migrate]\nfolder = \"migrations\""));
    assert!(fixture.path().join("schema.sql").is_file());
    assert!(fixture.run(&["init"]).ok().contains("kept     migrations/"), "init twice is harmless");

    let first = fixture.run(&["new", "-m", "Create users!"]).ok();
    assert!(first.starts_with("created migrations/") && first.contains("_create_users.sql"), "{first}");
    fixture.run(&["new", "-m", "add login fields"]).ok();
    let graph = fixture.graph(".");
    let revisions = graph.revisions();
    assert_eq!(revisions.len(), 2);
    assert!(revisions[0].is_base());
    assert_eq!(revisions[1].parents, [revisions[0].id.clone()]);
    assert_eq!(revisions[1].message, "add login fields");
    assert!(revisions.iter().all(|r| r.id.len() == 12 && r.created.is_some()));
}

#[test]
fn new_parents_on_the_head_and_validates_rev_id() {
    let demo = Fixture::copy("demo");
    demo.run(&["new", "-m", "third", "--rev-id", "abc123def456"]).ok();
    let graph = demo.graph(".");
    let third = graph.revision(graph.find("abc123def456").expect("new revision"));
    assert_eq!(third.parents, ["20f04b9598da"]);
    assert!(demo.files("migrations").contains(&"abc123def456_third.sql".to_string()));

    let taken = demo.run(&["new", "-m", "again", "--rev-id", "abc123def456"]).fails();
    assert!(taken.contains("revision `abc123def456` already exists"), "{taken}");
    let reserved = demo.run(&["new", "-m", "x", "--rev-id", "ab-cd"]).fails();
    assert!(reserved.contains("`-` is reserved for target expressions"), "{reserved}");
    let label = demo.run(&["new", "-m", "x", "--branch", "no@pe"]).fails();
    assert!(label.contains("invalid branch label"), "{label}");
}

#[test]
fn new_refuses_several_heads_and_accepts_head() {
    let fixture = Fixture::copy("broken/several_heads");
    let heads = fixture.graph(".").heads();
    let err = fixture.run(&["new", "-m", "x"]).fails();
    assert!(
        err.contains("several heads") && err.contains("--head") && err.contains("cargo migrate merge"),
        "{err}"
    );
    let head = fixture.graph(".").revision(heads[0]).id.clone();
    fixture.run(&["new", "-m", "on one head", "--head", &head[..6], "--branch", "feature"]).ok();
    let graph = fixture.graph(".");
    let new = graph.revisions().iter().find(|r| r.message == "on one head").expect("new revision");
    assert_eq!(new.parents, [head]);
    assert_eq!(new.branches, ["feature"]);
}

#[test]
fn rename_changes_the_slug_and_keeps_the_id() {
    let demo = Fixture::copy("demo");
    let before = demo.graph(".");
    let out = demo.run(&["rename", "20f0", "Add login fields"]).ok();
    assert!(out.contains("-> migrations/20f04b9598da_add_login_fields.sql"), "{out}");
    assert!(demo.files("migrations").contains(&"20f04b9598da_add_login_fields.sql".to_string()));
    let after = demo.graph(".");
    let ids = |g: &migrate_runtime::Graph| g.revisions().iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&before), ids(&after));
    let checksum = |g: &migrate_runtime::Graph| g.revisions()[1].upgrade[0].checksum.clone();
    assert_eq!(checksum(&before), checksum(&after), "renaming never changes the checksum");
    assert_eq!(after.revisions()[1].message, "Add login fields", "the message line follows the new name");
    assert_eq!(demo.files("migrations").len(), 2, "the old file is gone");
}

#[test]
fn empty_messages_and_summaries_are_refused_and_nothing_is_written() {
    let demo = Fixture::copy("demo");
    for args in [
        &["new", "-m", ""][..],
        &["new", "-m", "   "],
        &["merge", "-m", "", "heads"],
        &["rename", "20f0", " "],
    ] {
        let stderr = demo.run(args).stderr;
        assert!(
            stderr.contains("it is empty: say in a few words what the revision does"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(demo.files("migrations").len(), 2);
}

#[test]
fn check_says_when_there_is_no_desired_schema_to_compare() {
    let demo = Fixture::copy("demo");
    demo.write("schema.sql", "-- nothing declared yet\n");
    let run = demo.run(&["check"]);
    assert!(run.stderr.contains("note: package `demo`: schema.sql is missing or holds no statement, so the head schema was not compared"), "{}", run.stderr);
    run.ok();
}

#[test]
fn merge_joins_two_heads() {
    let fixture = Fixture::copy("broken/several_heads");
    let heads = fixture.graph(".").heads().len();
    assert_eq!(heads, 2);
    fixture.run(&["merge", "-m", "join branches", "heads"]).ok();
    let graph = fixture.graph(".");
    let head = graph.heads();
    assert_eq!(head.len(), 1);
    assert!(graph.revision(head[0]).is_merge());
    fixture.run(&["check"]).ok();
    let err = fixture.run(&["merge", "-m", "pointless", "head", "base+1"]).fails();
    assert!(err.contains("already an ancestor"), "{err}");
}

#[test]
fn rebase_turns_two_heads_into_one_line() {
    let fixture = Fixture::copy("broken/several_heads");
    let graph = fixture.graph(".");
    let heads = graph.ids(&graph.heads());
    let out = fixture.run(&["rebase", &heads[1]]).ok();
    assert!(out.contains(&format!("rebased {}: now revises {}", heads[1], heads[0])), "{out}");
    let graph = fixture.graph(".");
    assert_eq!(graph.ids(&graph.heads()), [heads[1].clone()]);
    assert!(graph.branch_points().is_empty());
    let err = fixture.run(&["rebase", &heads[0], "--onto", &heads[1]]).fails();
    assert!(err.contains("comes after"), "a rebase that would make a cycle is refused: {err}");
}

#[test]
fn rust_revisions_are_scaffolded_renamed_rebased_and_listed() {
    let demo = Fixture::copy("demo");
    let out = demo.run(&["new", "-m", "split names", "--rust", "--rev-id", "aaaa00000001"]).ok();
    assert!(out.contains("created migrations/aaaa00000001_split_names.rs"), "{out}");
    assert!(out.contains("note: package `demo` has no runner (a bin target `migrate`)"), "{out}");
    let text = demo.read("migrations/aaaa00000001_split_names.rs");
    assert!(text.starts_with("// revision: aaaa00000001\n// revises: 20f04b9598da\n"), "{text}");
    assert!(text.contains("pub async fn upgrade(db: &mut Handle<'_>) -> Result<(), DataError>"), "{text}");
    let before = demo.graph(".");
    let rust = before.revision(before.find("aaaa00000001").expect("new revision"));
    assert!(rust.is_rust() && rust.downgrade.is_some());

    let out = demo.run(&["rename", "aaaa", "Split full names"]).ok();
    assert!(out.contains("-> migrations/aaaa00000001_split_full_names.rs"), "{out}");
    let after = demo.graph(".");
    let renamed = after.revision(after.find("aaaa00000001").expect("renamed"));
    assert_eq!(renamed.message, "Split full names");
    assert_eq!(renamed.upgrade[0].checksum, rust.upgrade[0].checksum, "renaming never changes the checksum");

    // A SQL revision on the same parent makes two heads; rebasing the Rust
    // one onto it rewrites its `// revises:` line.
    demo.run(&["new", "-m", "audit", "--head", "20f0", "--rev-id", "bbbb00000002"]).ok();
    let out = demo.run(&["rebase", "aaaa", "--onto", "bbbb"]).ok();
    assert!(out.contains("rebased aaaa00000001: now revises bbbb00000002"), "{out}");
    assert!(demo
        .read("migrations/aaaa00000001_split_full_names.rs")
        .contains("\n// revises: bbbb00000002\n"));
    let heads = demo.run(&["heads"]).ok();
    assert!(heads.contains("aaaa00000001"), "{heads}");
    let history = demo.run(&["history"]).ok();
    assert!(history.contains("aaaa00000001") && history.contains("Split full names"), "{history}");

    // Read from its files, the chain runs up to the Rust revision only.
    let refused = demo.run(&["upgrade"]).fails();
    assert!(
        refused.contains(
            "migrations/aaaa00000001_split_full_names.rs:1: revision `aaaa00000001` is a Rust revision"
        ),
        "{refused}"
    );
    demo.run(&["upgrade", "bbbb"]).ok();
    let script = demo.run(&["upgrade", "--sql"]).fails();
    assert!(script.contains("--sql cannot print Rust revisions"), "{script}");
    assert!(script.contains("migrations/aaaa00000001_split_full_names.rs"), "{script}");
    assert!(script.contains("`--rust-as-comment`"), "the hint names the flag: {script}");

    // With the flag: a comment in the code's place, the history row kept.
    let script = demo.run(&["upgrade", "--sql", "--rust-as-comment"]).ok();
    let (_, rust) = script.split_once("-- Running upgrade bbbb00000002 -> aaaa00000001").expect("its step");
    assert!(
        rust.contains(
            "-- Rust revision: its upgrade is code, which runs only in the package's runner and is NOT in\n"
        ),
        "{script}"
    );
    let row = rust.find("INSERT INTO").expect("its history row");
    assert!(rust[row..].contains("'aaaa00000001'") && !rust.contains("async fn"), "{script}");
}

/// `init --rust` scaffolds the runner and the dependencies it calls, once.
#[test]
fn init_rust_scaffolds_the_runner_and_its_dependencies() {
    let demo = Fixture::copy("demo");
    let out = demo.run(&["init", "--rust"]).ok();
    assert!(out.contains("created  src/bin/migrate.rs (the runner of Rust revisions)"), "{out}");
    let runner = demo.read("src/bin/migrate.rs");
    assert!(
        runner.contains("migrate_runtime::runner::main(&migrate_macros::embed_migrations!())"),
        "{runner}"
    );
    let manifest = demo.read("Cargo.toml");
    assert!(
        manifest.contains(
            "\nmigrate-runtime = { version = \"0.1\", default-features = false, features = [\"sqlite\"] }\n"
        ) && manifest.contains("\nmigrate-macros = \"0.1\"\n")
            && manifest.contains("\n[dependencies]\n"),
        "{manifest}"
    );
    let again = demo.run(&["init", "--rust"]).ok();
    assert!(
        again.contains("kept     src/bin/migrate.rs (already there)") && !again.contains("added    `"),
        "{again}"
    );
    assert_eq!(demo.read("Cargo.toml"), manifest, "nothing added twice");
    let out = demo.run(&["new", "-m", "data", "--rust"]).ok();
    assert!(!out.contains("has no runner"), "the runner is there now: {out}");
}
