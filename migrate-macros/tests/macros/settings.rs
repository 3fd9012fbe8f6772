//! The lint's settings in `Cargo.toml`, as the macro reads them: real
//! packages, each with its own manifest, built by cargo. trybuild cannot
//! do this (it compiles every case as one package under a manifest of its
//! own), so this test writes a workspace of small packages and checks it
//! with `cargo check --keep-going`, once for all of them. The workspace
//! root sets `dialect = "postgres"`, so every package also shows the
//! workspace table merged under the package's.
//!
//! The expected errors below are what a user reads: review them by eye.

use std::path::{Path, PathBuf};
use std::process::Command;

const TABLE: &str = "-- revision: 4dc129dd6633\n-- message: create item table\n-- migrate:upgrade\nCREATE TABLE item (id bigint PRIMARY KEY, name text);\n-- migrate:downgrade\nDROP TABLE item;\n";
const INDEX: &str = "-- revision: 7b7b7b7b7b7b\n-- revises: 4dc129dd6633\n-- message: index item names\n-- migrate:upgrade\nCREATE INDEX item_name ON item (name);\n-- migrate:downgrade\nDROP INDEX item_name;\n";

/// The packages: name, what its `Cargo.toml` adds, and its index revision.
fn packages() -> [(&'static str, &'static str, String); 4] {
    let allowed = INDEX.replace(
        "-- migrate:upgrade",
        "-- lint: allow M101 \"item is filled by the next release\"\n-- migrate:upgrade",
    );
    [
        ("index_fails", "", INDEX.to_string()),
        (
            "index_warns",
            "[package.metadata.migrate.lint]\nindex-not-concurrent = \"warning\"\n",
            INDEX.to_string(),
        ),
        ("index_allowed", "", allowed),
        ("bad_severity", "[package.metadata.migrate.lint]\nM101 = \"loud\"\n", INDEX.to_string()),
    ]
}

/// Sorted, as cargo builds the packages in parallel: the two packages that
/// fail, each with its one error; the other two compile.
const EXPECTED: &str = "\
bad_severity/src/main.rs:1:57: error: Cargo.toml:6: unknown variant `loud`, expected one of `off`, `warning`, `error`
error: could not compile `bad_severity` (bin \"bad_severity\") due to 1 previous error
error: could not compile `index_fails` (bin \"index_fails\") due to 1 previous error
index_fails/src/main.rs:1:57: error: migrations/7b7b7b7b7b7b_index_item_names.sql:5:1: M101 `CREATE INDEX` on `item`, which exists before this revision, blocks its writes while it builds: `CREATE INDEX CONCURRENTLY` in a revision with `-- transaction: none` (one index per revision, so a failure leaves one invalid index to drop)";

#[test]
fn the_package_settings_decide_what_fails_the_build() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lint_settings");
    write_workspace(&root);
    assert_eq!(check_errors(&root), EXPECTED);
    // A changed setting rebuilds the crate: the macro tracks the manifest.
    let manifest = root.join("index_warns/Cargo.toml");
    let warns = std::fs::read_to_string(&manifest).expect("manifest");
    write(manifest.clone(), &warns.replace("\"warning\"", "\"error\""));
    let errors = check_errors(&root);
    write(manifest, &warns);
    assert!(errors.contains("error: could not compile `index_warns`"), "{errors}");
}

/// `cargo check` on the workspace: its lines that mention an error, sorted.
fn check_errors(root: &Path) -> String {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["check", "--workspace", "--keep-going", "--offline", "--quiet", "--message-format=short"])
        .arg("--color=never")
        .current_dir(root)
        .env("CARGO_TARGET_DIR", root.join("target"))
        .output()
        .expect("cargo runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut errors: Vec<&str> = stderr.lines().filter(|line| line.contains("error")).collect();
    errors.sort();
    errors.join("\n")
}

fn write_workspace(root: &Path) {
    let this = Path::new(env!("CARGO_MANIFEST_DIR"));
    let members: Vec<String> = packages().iter().map(|(name, ..)| format!("\"{name}\"")).collect();
    let workspace = format!(
        "[workspace]\nresolver = \"2\"\nmembers = [{}]\n\n[workspace.metadata.migrate]\ndialect = \"postgres\"\n",
        members.join(", ")
    );
    write(root.join("Cargo.toml"), &workspace);
    // The versions this repository builds with, so `--offline` finds them.
    let lock = std::fs::read_to_string(this.join("../Cargo.lock")).expect("Cargo.lock");
    write(root.join("Cargo.lock"), &lock);
    let dependencies = format!(
        "[dependencies]\nmigrate-macros = {{ path = {:?} }}\nmigrate-runtime = {{ path = {:?}, default-features = false }}\n",
        this,
        this.join("../migrate-runtime")
    );
    for (name, settings, index) in packages() {
        let package = root.join(name);
        let manifest = format!(
            "[package]\nname = \"{name}\"\nedition = \"2021\"\npublish = false\n\n{settings}\n{dependencies}"
        );
        write(package.join("Cargo.toml"), &manifest);
        let main = "static MIGRATIONS: migrate_runtime::embed::Migrations = migrate_macros::embed_migrations!();\nfn main() {\n    let _ = &MIGRATIONS;\n}\n";
        write(package.join("src/main.rs"), main);
        write(package.join("migrations/4dc129dd6633_create_item_table.sql"), TABLE);
        write(package.join("migrations/7b7b7b7b7b7b_index_item_names.sql"), &index);
    }
}

/// Writes only what changed, so cargo does not rebuild on every run.
fn write(path: PathBuf, text: &str) {
    if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
        return;
    }
    std::fs::create_dir_all(path.parent().expect("a folder")).expect("create the folder");
    std::fs::write(&path, text).expect("write the file");
}
