//! `--format json`: every command prints one document, succeeding and
//! failing, with the fields docs/json.md documents. The tables of that page
//! are read here, so the page and the output cannot drift apart.

use crate::support::Fixture;
use serde_json::Value;
use std::collections::BTreeMap;

/// docs/json.md's field tables: each `### name` heading and the fields of
/// the table under it.
fn documented() -> BTreeMap<String, Vec<String>> {
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/json.md"))
        .expect("docs/json.md");
    let mut shapes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut section = None;
    for line in page.lines() {
        if let Some(name) = line.strip_prefix("### ") {
            section = Some(name.trim().to_string());
            shapes.entry(name.trim().to_string()).or_default();
        } else if let (Some(name), Some(row)) = (&section, line.strip_prefix("| `")) {
            let field = row.split('`').next().expect("a field name");
            shapes.get_mut(name).expect("section").push(field.to_string());
        }
    }
    shapes
}

/// Asserts that `value` has every field of section `shape`.
#[track_caller]
pub fn conforms(value: &Value, shape: &str) {
    let shapes = documented();
    let fields = shapes.get(shape).unwrap_or_else(|| panic!("docs/json.md has no `### {shape}`"));
    assert!(!fields.is_empty(), "`### {shape}` documents no field");
    let object = value.as_object().unwrap_or_else(|| panic!("a `{shape}` is an object: {value}"));
    for field in fields {
        assert!(object.contains_key(field), "`{shape}` lacks documented field `{field}`: {value}");
    }
}

/// Every element of the array `value`, which must not be empty.
#[track_caller]
pub fn each(value: &Value, shape: &str) {
    let items = value.as_array().unwrap_or_else(|| panic!("an array of `{shape}`: {value}"));
    assert!(!items.is_empty(), "expected at least one `{shape}`");
    items.iter().for_each(|item| conforms(item, shape));
}

/// The one document a run printed on stdout.
#[track_caller]
fn document(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not one JSON document ({e}):\n{stdout}"))
}

fn ok(fixture: &Fixture, args: &[&str]) -> Value {
    let args: Vec<&str> = args.iter().copied().chain(["--format", "json"]).collect();
    fixture.run(&args).json()
}

/// A failing run's error document (exit 1), checked against the page.
#[track_caller]
fn failed(fixture: &Fixture, args: &[&str]) -> Value {
    let args: Vec<&str> = args.iter().copied().chain(["--format", "json"]).collect();
    let run = fixture.run(&args);
    let stdout = run.stdout.clone();
    let stderr = run.fails();
    let document = document(&stdout);
    conforms(&document["error"], "error");
    each(&document["error"]["problems"], "problem");
    assert!(stderr.contains("error: "), "the person still reads the error: {stderr}");
    document
}

#[test]
fn read_commands_print_the_documented_documents() {
    let demo = Fixture::copy("demo");
    each(&ok(&demo, &["history"]), "revision");
    each(&ok(&demo, &["heads"]), "revision");
    let show = ok(&demo, &["show", "20f0"]);
    conforms(&show, "revision");
    assert!(show["sql"]["upgrade"][0]["checksum"].is_string(), "{show}");
    let branched = Fixture::copy("branched");
    let branches = ok(&branched, &["branches"]);
    conforms(&branches, "branches");
    each(&branches["bases"], "revision");
    each(&branches["branch_points"], "revision");
    let check = ok(&demo, &["check"]);
    conforms(&check, "check");
    assert_eq!(check["packages"][0]["package"], "demo");
}

#[test]
fn database_commands_print_the_current_document_with_their_steps() {
    let demo = Fixture::copy("demo");
    let before = ok(&demo, &["current"]);
    conforms(&before, "current");
    assert_eq!(before["pending"].as_array().map(Vec::len), Some(2), "{before}");

    let upgrade = ok(&demo, &["upgrade"]);
    conforms(&upgrade, "current");
    conforms(&upgrade, "upgrade");
    each(&upgrade["steps"], "step");
    let actions: Vec<&Value> = upgrade["steps"].as_array().unwrap().iter().map(|s| &s["action"]).collect();
    assert_eq!(actions, ["upgrade", "upgrade"], "{upgrade}");

    let again = ok(&demo, &["upgrade"]);
    assert_eq!(again["steps"], serde_json::json!([]), "nothing to do: {again}");
    let same = ok(&demo, &["diff"]);
    conforms(&same, "diff");
    assert_eq!(same["differences"], serde_json::json!([]));

    let down = ok(&demo, &["downgrade", "-1"]);
    assert_eq!(down["steps"][0]["action"], "downgrade", "{down}");
    assert_eq!(down["steps"][0]["revision"], "20f04b9598da");
    let stamp = ok(&demo, &["stamp", "head"]);
    assert_eq!(stamp["steps"][0]["action"], "stamp", "{stamp}");
    assert_eq!(stamp["at_head"], true);

    // Behind the head: the differences, and the failure, in one document.
    let diff = failed(&demo, &["diff"]);
    conforms(&diff, "diff");
    each(&diff["differences"], "difference");
    assert_eq!(diff["error"]["code"], "schema-differs", "{diff}");
    ok(&demo, &["upgrade"]);

    let repair = ok(&demo, &["repair"]);
    assert_eq!(repair["dirty"], serde_json::json!([]), "{repair}");
    let reset = ok(&demo, &["reset"]);
    conforms(&reset, "upgrade");
    assert_eq!(reset["steps"].as_array().map(Vec::len), Some(2), "{reset}");
}

#[test]
fn writing_commands_say_what_they_wrote() {
    let demo = Fixture::copy("demo");
    let new = ok(&demo, &["new", "-m", "add a table"]);
    conforms(&new, "new");
    let created = new["created"].as_str().expect("a path").to_string();
    assert!(demo.path().join(&created).is_file(), "{new}");
    let id = new["id"].as_str().expect("an id").to_string();

    let rename = ok(&demo, &["rename", &id, "add the accounts table"]);
    conforms(&rename, "rename");
    assert_eq!(rename["from"], created.as_str());
    assert!(demo.path().join(rename["to"].as_str().unwrap()).is_file(), "{rename}");

    let snapshot = ok(&demo, &["snapshot"]);
    conforms(&snapshot, "snapshot");
    assert!(demo.path().join(snapshot["path"].as_str().unwrap()).is_file(), "{snapshot}");

    let branched = Fixture::copy("branched");
    let head = branched.graph(".").heads()[0];
    let head = branched.graph(".").revision(head).id.clone();
    let child = ok(&branched, &["new", "-m", "one branch", "--head", &head]);
    let other = ok(&branched, &["new", "-m", "other branch", "--head", &head]);
    let merge = ok(&branched, &["merge", "-m", "join", "heads"]);
    conforms(&merge, "new");
    assert_eq!(merge["parents"].as_array().map(Vec::len), Some(2), "{merge}");
    // Rebase needs two heads again: undo the merge by removing its file.
    std::fs::remove_file(branched.path().join(merge["created"].as_str().unwrap())).unwrap();
    let rebase =
        ok(&branched, &["rebase", other["id"].as_str().unwrap(), "--onto", child["id"].as_str().unwrap()]);
    conforms(&rebase, "rebase");
    assert_eq!(rebase["parents"], serde_json::json!([child["id"]]), "{rebase}");

    let fresh = Fixture::copy("demo");
    std::fs::remove_dir_all(fresh.path().join("migrations")).unwrap();
    let manifest = fresh.read("Cargo.toml");
    let start = manifest.find("[package.metadata.migrate]").expect("a migrate table");
    fresh.write("Cargo.toml", &manifest[..start]);
    let init = ok(&fresh, &["init"]);
    conforms(&init, "init");
    assert_eq!(init["config_added"], true, "{init}");

    let database = ok(&demo, &["database", "create"]);
    conforms(&database, "database-admin");

    // `sync` from schema.sql: a dry run lists, a run applies.
    let synced = Fixture::copy("demo");
    let dry = ok(&synced, &["sync", "--dry-run"]);
    conforms(&dry, "sync");
    assert_eq!(dry["synced"], false, "{dry}");
    assert!(!dry["statements"].as_array().expect("statements").is_empty(), "{dry}");
    assert_eq!(ok(&synced, &["sync"])["synced"], true);
}

#[test]
fn a_walk_reports_its_counts_or_every_defect_with_its_file_and_line() {
    let demo = Fixture::copy("demo");
    let walk = ok(&demo, &["walk"]);
    conforms(&walk, "walk");
    assert_eq!(walk["revisions"], 2, "{walk}");
    // A downgrade that forgets a column: a defect naming the section.
    let head = "migrations/20f04b9598da_update_to_flask_diamond_0_2_0.sql";
    demo.write(head, &demo.read(head).replace("ALTER TABLE \"user\" DROP COLUMN login_count;\n", ""));
    let defect = failed(&demo, &["walk"]);
    let problem = &defect["error"]["problems"][0];
    assert_eq!(problem["code"], "walk-mismatch", "{defect}");
    assert_eq!(problem["file"], head, "{defect}");
    assert!(problem["line"].is_number(), "{defect}");
}

#[test]
fn import_says_what_it_wrote() {
    let demo = Fixture::copy("demo");
    std::fs::remove_dir_all(demo.path().join("migrations")).unwrap();
    let source = crate::support::fixtures_dir().join("import/sqlx");
    let import = ok(&demo, &["import", "--from", "sqlx", source.to_str().unwrap()]);
    conforms(&import, "import");
    assert!(!import["created"].as_array().expect("created").is_empty(), "{import}");
    assert_eq!(import["stamped"], serde_json::json!([]));
    // A source that is no migrations folder: one error document.
    let broken = failed(&demo, &["import", "--from", "diesel", "no/such/folder"]);
    assert!(broken["error"]["message"].is_string(), "{broken}");
}

#[test]
fn failures_are_one_error_document_with_code_file_and_line() {
    let demo = Fixture::copy("demo");
    let unknown = failed(&demo, &["upgrade", "zzzz"]);
    assert_eq!(unknown["error"]["code"], "target-unknown", "{unknown}");

    // Every problem of a broken chain, each with its file and line.
    let broken = Fixture::copy("broken/unknown_parent");
    let chain = failed(&broken, &["heads"]);
    let problem = &chain["error"]["problems"][0];
    assert_eq!(problem["code"], "unknown-parent", "{chain}");
    assert!(problem["file"].as_str().is_some_and(|f| f.starts_with("migrations/")), "{chain}");
    assert!(problem["line"].is_number(), "{chain}");
    assert_eq!(chain["error"]["file"], problem["file"]);

    // Drift names the edited file; the hint names the way out.
    demo.run(&["upgrade"]).ok();
    let path = "migrations/cf0f5b45967a_create_user_and_role_tables.sql";
    demo.write(path, &demo.read(path).replace("CREATE TABLE role", "CREATE TABLE  role"));
    let drift = failed(&demo, &["upgrade"]);
    assert_eq!(drift["error"]["code"], "drift", "{drift}");
    assert_eq!(drift["error"]["file"], path, "{drift}");
    assert!(drift["error"]["hint"].is_string(), "{drift}");
    // What the run finished before failing is part of the document.
    assert_eq!(drift["steps"], serde_json::json!([]), "{drift}");
    assert_eq!(drift["package"], "demo");

    // A failing check is its report plus the error.
    let check = failed(&demo, &["check", "--database-url", "sqlite:target/migrate/demo.sqlite3"]);
    conforms(&check, "check");

    // A command line clap cannot read: exit 2, code `usage`.
    let run = demo.run(&["heads", "--no-such-flag", "--format", "json"]);
    assert_eq!(run.code, 2, "{run:?}");
    let usage = document(&run.stdout);
    conforms(&usage["error"], "error");
    assert_eq!(usage["error"]["code"], "usage", "{usage}");
}

#[test]
fn a_workspace_run_is_one_document_listing_each_package() {
    let workspace = Fixture::copy("workspace");
    let upgrade = ok(&workspace, &["upgrade", "--workspace"]);
    let packages = upgrade["packages"].as_array().expect("packages");
    assert_eq!(packages.len(), 2, "{upgrade}");
    packages.iter().for_each(|p| conforms(p, "upgrade"));
    let current = ok(&workspace, &["current", "--workspace"]);
    current["packages"].as_array().expect("packages").iter().for_each(|p| conforms(p, "current"));
}
