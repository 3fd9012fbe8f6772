//! The start-up caches: `cargo metadata`'s answer and the parsed revisions,
//! kept under `target/.migrate-cache/`, must never answer for a workspace or
//! a folder that changed. Each test first lets the cache be used (counting
//! the runs of cargo through a wrapper named by `$CARGO`), then changes one
//! thing and checks that the answer follows.
//!
//! Files changed within the last two seconds are never cached (see
//! `chain/cache.rs`), so the tests wait that long before they expect a hit.

use crate::support::Fixture;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A fixture and a `$CARGO` that counts its runs before running cargo.
struct Counted {
    fixture: Fixture,
    tools: tempfile::TempDir,
}

impl Counted {
    fn new(fixture: Fixture) -> Counted {
        let tools = tempfile::tempdir().expect("temporary folder");
        let script = format!(
            "#!/bin/sh\necho run >> '{}'\nexec '{}' \"$@\"\n",
            tools.path().join("log").display(),
            env!("CARGO")
        );
        let wrapper = tools.path().join("cargo");
        std::fs::write(&wrapper, script).expect("wrapper");
        let chmod = Command::new("chmod").arg("+x").arg(&wrapper).status().expect("chmod");
        assert!(chmod.success());
        Counted { fixture, tools }
    }

    /// How many times cargo ran so far.
    fn cargo_runs(&self) -> usize {
        std::fs::read_to_string(self.tools.path().join("log")).map_or(0, |log| log.lines().count())
    }

    /// `cargo-migrate migrate <args>` from `cwd`, with the counting cargo
    /// and `extra` variables, and no target folder from the caller's shell.
    fn run_with(&self, cwd: &Path, extra: &[(&str, &Path)], args: &[&str]) -> String {
        let output = Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
            .arg("migrate")
            .args(args)
            .current_dir(cwd)
            .env_remove("DATABASE_URL")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET_DIR")
            .env("CARGO", self.tools.path().join("cargo"))
            .envs(extra.iter().copied())
            .output()
            .expect("run cargo-migrate");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
        stdout
    }

    fn run(&self, args: &[&str]) -> String {
        self.run_with(self.fixture.path(), &[], args)
    }
}

/// Lets the files just written age past the two seconds in which a change
/// could share its time stamp with the next one.
fn settle() {
    std::thread::sleep(Duration::from_millis(2_100));
}

fn cache_files(target: &Path) -> Vec<PathBuf> {
    let listing = std::fs::read_dir(target.join(".migrate-cache")).expect("cache folder");
    listing.map(|entry| entry.expect("entry").path()).collect()
}

#[test]
fn cargo_runs_again_only_when_a_manifest_changes() {
    let demo = Counted::new(Fixture::copy("demo"));
    settle();
    let first = demo.run(&["history"]);
    assert_eq!(demo.run(&["history"]), first);
    assert_eq!(demo.cargo_runs(), 1, "the second command used the cached answer");
    // A changed setting: the chain moves to another folder.
    let manifest = demo.fixture.read("Cargo.toml");
    demo.fixture.write(
        "Cargo.toml",
        &manifest
            .replace("[package.metadata.migrate]\n", "[package.metadata.migrate]\nfolder = \"changes\"\n"),
    );
    std::fs::rename(demo.fixture.path().join("migrations"), demo.fixture.path().join("changes"))
        .expect("rename");
    assert_eq!(demo.run(&["history"]), first, "the chain is found in its new folder");
    assert_eq!(demo.cargo_runs(), 2);
}

/// A runner added without a manifest change (`src/bin/migrate.rs`) is a
/// new bin target: cargo is asked again.
#[test]
fn a_bin_target_added_is_seen() {
    let demo = Counted::new(Fixture::copy("demo"));
    settle();
    demo.run(&["history"]);
    demo.run(&["history"]);
    assert_eq!(demo.cargo_runs(), 1);
    std::fs::create_dir_all(demo.fixture.path().join("src/bin")).expect("src/bin");
    demo.fixture.write("src/bin/migrate.rs", "fn main() {}\n");
    demo.run(&["history"]);
    assert_eq!(demo.cargo_runs(), 2, "the new src/bin folder is a miss");
}

#[test]
fn a_package_added_under_a_member_glob_is_seen() {
    let workspace = Counted::new(Fixture::copy("workspace"));
    let root = workspace.fixture.path();
    let manifest = workspace.fixture.read("Cargo.toml");
    workspace.fixture.write(
        "Cargo.toml",
        &manifest.replace("members = [\"accounts\", \"billing\"]", "members = [\"crates/*\"]"),
    );
    std::fs::create_dir(root.join("crates")).expect("crates");
    std::fs::rename(root.join("accounts"), root.join("crates/accounts")).expect("move accounts");
    let billing = root.join("billing");
    settle();
    assert!(workspace.run(&["-p", "accounts", "heads"]).contains("(head)"));
    workspace.run(&["-p", "accounts", "heads"]);
    assert_eq!(workspace.cargo_runs(), 1);
    // A new package folder under `crates/`: no manifest changed.
    std::fs::rename(&billing, root.join("crates/billing")).expect("move billing");
    assert!(workspace.run(&["-p", "billing", "heads"]).contains("(head)"));
    assert_eq!(workspace.cargo_runs(), 2);
}

#[test]
fn cargo_target_dir_moves_the_default_database() {
    let demo = Counted::new(Fixture::copy("demo"));
    settle();
    demo.run(&["upgrade"]);
    demo.run(&["current"]);
    assert_eq!(demo.cargo_runs(), 1);
    let elsewhere = tempfile::tempdir().expect("temporary folder");
    demo.run_with(demo.fixture.path(), &[("CARGO_TARGET_DIR", elsewhere.path())], &["upgrade"]);
    assert!(elsewhere.path().join("migrate/demo.sqlite3").is_file(), "the database follows CARGO_TARGET_DIR");
    assert_eq!(demo.cargo_runs(), 2);
}

#[test]
fn corrupt_caches_are_misses_not_errors() {
    let demo = Counted::new(Fixture::copy("demo"));
    settle();
    let first = demo.run(&["history"]);
    let files = cache_files(&demo.fixture.path().join("target"));
    assert_eq!(files.len(), 2, "metadata and revisions: {files:?}");
    for file in &files {
        std::fs::write(file, "{ not a cache").expect("corrupt");
    }
    assert_eq!(demo.run(&["history"]), first);
    assert_eq!(demo.cargo_runs(), 2);
}

#[test]
fn revision_edits_additions_removals_and_renames_are_seen() {
    let demo = Counted::new(Fixture::copy("demo"));
    let head = "migrations/20f04b9598da_update_to_flask_diamond_0_2_0.sql";
    settle();
    demo.run(&["history"]);
    let cached = demo.run(&["history"]);
    assert!(cached.contains("update to flask-diamond 0.2.0"), "{cached}");

    // Same size and modification time, other text.
    let path = demo.fixture.path().join(head);
    let modified = std::fs::metadata(&path).and_then(|m| m.modified()).expect("mtime");
    demo.fixture.write(head, &demo.fixture.read(head).replace("flask-diamond 0.2.0", "flask-diamond 9.9.9"));
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(modified))
        .expect("set mtime");
    assert!(demo.run(&["history"]).contains("update to flask-diamond 9.9.9"));

    let added = "migrations/aaaaaaaaaaaa_add_notes.sql";
    let text = "-- revision: aaaaaaaaaaaa\n-- revises: 20f04b9598da\n-- message: add notes\n\n-- migrate:upgrade\nCREATE TABLE notes (id INTEGER);\n";
    demo.fixture.write(added, text);
    assert!(demo.run(&["heads"]).contains("aaaaaaaaaaaa"), "an added file is read");

    let renamed = demo.fixture.path().join("migrations/aaaaaaaaaaaa_add_notes_table.sql");
    std::fs::rename(demo.fixture.path().join(added), &renamed).expect("rename");
    let show = demo.run(&["show", "aaaaaaaaaaaa"]);
    assert!(show.contains("Path: migrations/aaaaaaaaaaaa_add_notes_table.sql"), "{show}");

    std::fs::remove_file(&renamed).expect("remove");
    assert!(demo.run(&["heads"]).contains("20f04b9598da"), "a removed file is gone");
    assert_eq!(demo.cargo_runs(), 1, "no manifest changed");
}

#[test]
fn standalone_mode_keeps_its_cache_in_the_user_cache_folder() {
    let demo = Counted::new(Fixture::copy("demo"));
    let cache_home = tempfile::tempdir().expect("temporary folder");
    let folder = demo.fixture.path().join("migrations");
    let standalone = ["--migrations-dir", folder.to_str().expect("UTF-8"), "--package", "demo", "history"];
    settle();
    let first = demo.run_with(demo.fixture.path(), &[("XDG_CACHE_HOME", cache_home.path())], &standalone);
    assert!(first.contains("(head)"), "{first}");
    let kept = std::fs::read_dir(cache_home.path().join("cargo-migrate")).expect("cache folder").count();
    assert_eq!(kept, 1, "one revisions cache");
    assert_eq!(demo.cargo_runs(), 0, "standalone mode never runs cargo");
}
