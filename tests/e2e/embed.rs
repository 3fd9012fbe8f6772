//! Embedding in real cargo builds: `fixtures/embed` (a build script writing
//! the chain to `OUT_DIR`, and `embed_migrations!`, in one binary) rebuilt
//! after a revision file is added, edited, removed or broken; and
//! `fixtures/app`, an application binary that migrates its SQLite database
//! at start-up, run from a folder with no migrations in it.
//!
//! The fixtures are copied with their relative path dependencies rewritten
//! to this workspace's crates, and built with the workspace's `Cargo.lock`
//! in one shared target folder, so only the first run compiles the
//! dependencies.

use crate::support::{Fixture, Run};
use std::path::{Path, PathBuf};
use std::process::Command;

const ITEM: &str = "5b0f3e9a7c21";
const ITEM_FILE: &str = "migrations/5b0f3e9a7c21_create_item_table.sql";
const PRICE: &str = "8d1e6a4f2b37";
const PRICE_FILE: &str = "migrations/8d1e6a4f2b37_add_item_price.sql";
const PRICE_REVISION: &str = "\
-- revision: 8d1e6a4f2b37
-- revises: 5b0f3e9a7c21
-- message: add item price

-- migrate:upgrade
ALTER TABLE item ADD COLUMN price INTEGER;

-- migrate:downgrade
ALTER TABLE item DROP COLUMN price;
";

/// A copy of a fixture crate, built with cargo.
pub(crate) struct Crate {
    pub(crate) fixture: Fixture,
    /// The package and binary name: one per test, so tests building in the
    /// shared target folder at once never run each other's binaries.
    name: String,
}

impl Crate {
    pub(crate) fn copy(fixture: &str, name: &str) -> Crate {
        let fixture_name = fixture;
        let fixture = Fixture::copy(fixture_name);
        let workspace = workspace_root();
        let manifest = fixture
            .read("Cargo.toml")
            .replacen(&format!("name = \"{fixture_name}\""), &format!("name = \"{name}\""), 1)
            .replace("path = \"../../", &format!("path = \"{}/", workspace.display()));
        fixture.write("Cargo.toml", &manifest);
        std::fs::copy(workspace.join("Cargo.lock"), fixture.path().join("Cargo.lock")).expect("Cargo.lock");
        Crate { fixture, name: name.to_string() }
    }

    /// `cargo build` in the shared target folder.
    pub(crate) fn build(&self) -> Run {
        self.cargo(&["build"])
    }

    /// `cargo build --bin NAME` of the package's own binary only: another
    /// bin target of the same name in another copy (the `migrate` runner of
    /// `fixtures/data`) would overwrite that copy's in the shared folder.
    pub(crate) fn build_own_bin(&self) -> Run {
        self.cargo(&["build", "--bin", &self.name])
    }

    /// The shared target folder, for a `cargo migrate` that builds there.
    pub(crate) fn target_dir() -> PathBuf {
        target_dir()
    }

    /// `cargo COMMAND` in the shared target folder.
    fn cargo(&self, command: &[&str]) -> Run {
        let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(command)
            .args(["--quiet", "--color=never", "--manifest-path"])
            .arg(self.fixture.path().join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", target_dir())
            .env_remove("RUSTFLAGS")
            .output()
            .expect("run cargo");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub(crate) fn binary(&self) -> PathBuf {
        target_dir().join("debug").join(format!("{}{}", self.name, std::env::consts::EXE_SUFFIX))
    }

    /// Builds, then runs the binary and returns its stdout.
    #[track_caller]
    fn build_and_run(&self) -> String {
        self.build().ok();
        let output = Command::new(self.binary()).output().expect("run the fixture binary");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// Under the workspace's target folder, shared by every run.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-fixtures")
}

/// `(id, checksum)` of each revision, after checking that the build script
/// and the macro embedded the same chain.
#[track_caller]
fn embedded(output: &str) -> Vec<(String, String)> {
    let mut ways: [Vec<(String, String)>; 2] = Default::default();
    for line in output.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let way = usize::from(fields[0] == "macro");
        ways[way].push((fields[1].to_string(), fields[2].to_string()));
    }
    assert_eq!(ways[0], ways[1], "the build script and the macro disagree:\n{output}");
    let [from_build_script, _] = ways;
    from_build_script
}

fn ids(chain: &[(String, String)]) -> Vec<&str> {
    chain.iter().map(|(id, _)| id.as_str()).collect()
}

#[test]
fn adding_editing_and_removing_a_revision_file_rebuilds_the_embedded_chain() {
    let project = Crate::copy("embed", "embed_edits");
    let first = embedded(&project.build_and_run());
    assert_eq!(ids(&first), [ITEM]);

    project.fixture.write(PRICE_FILE, PRICE_REVISION);
    let added = embedded(&project.build_and_run());
    assert_eq!(ids(&added), [ITEM, PRICE]);

    let edited_sql = project.fixture.read(ITEM_FILE).replace("name TEXT NOT NULL", "name TEXT");
    project.fixture.write(ITEM_FILE, &edited_sql);
    let edited = embedded(&project.build_and_run());
    assert_eq!(ids(&edited), [ITEM, PRICE]);
    assert_ne!(edited[0].1, added[0].1, "the checksum follows the edited SQL");
    assert_eq!(edited[1], added[1]);

    std::fs::remove_file(project.fixture.path().join(PRICE_FILE)).expect("remove");
    assert_eq!(ids(&embedded(&project.build_and_run())), [ITEM]);
}

const FILL: &str = "9e2f7b3c1a05";
const FILL_FILE: &str = "migrations/9e2f7b3c1a05_fill_names.rs";
const FILL_REVISION: &str = "\
// revision: 9e2f7b3c1a05
// revises: 5b0f3e9a7c21
// message: fill names

use migrate_runtime::data::{DataError, Handle};

pub async fn upgrade(db: &mut Handle<'_>) -> Result<(), DataError> {
    db.execute(\"UPDATE item SET name = 'unnamed' WHERE name = ''\", &[]).await?;
    Ok(())
}
";

/// `compile_migrations` in a build script compiles a Rust revision in as
/// `embed_migrations!` does: the same chain, its functions registered,
/// and an edit of its code rebuilt.
#[test]
fn the_build_script_compiles_a_rust_revision_as_the_macro_does() {
    let project = Crate::copy("embed", "embed_rust");
    project.fixture.write(FILL_FILE, FILL_REVISION);
    let output = project.build_and_run();
    let chain = embedded(&output);
    assert_eq!(ids(&chain), [ITEM, FILL]);
    for way in ["build.rs", "macro"] {
        assert!(output.contains(&format!("{way} {FILL} {} compiled\n", chain[1].1)), "{output}");
    }
    project.fixture.write(FILL_FILE, &FILL_REVISION.replace("'unnamed'", "'nameless'"));
    let edited = embedded(&project.build_and_run());
    assert_ne!(edited[1].1, chain[1].1, "the checksum follows the edited code");
}

#[test]
fn a_broken_chain_fails_the_build_script_with_every_message() {
    let project = Crate::copy("embed", "embed_broken");
    let broken = PRICE_REVISION.replace("-- message:", "-- author: me\n-- message:");
    project.fixture.write(PRICE_FILE, &broken.replace("revises: 5b0f3e9a7c21", "revises: 000000000000"));
    project.fixture.write("migrations/notes.txt", "to do");
    let build = project.build();
    assert_eq!(build.code, 101, "cargo build should fail:\n{}", build.stderr);
    let stderr = build.stderr;
    let expected = [
        "migrations/8d1e6a4f2b37_add_item_price.sql:3: unknown header key `author` (known keys: revision, revises, message, created, depends-on, branch, transaction)",
        "migrations/notes.txt: not a revision file: expected a name like `3f2a9c1b7d4e_add_users.sql` or `3f2a9c1b7d4e_split_names.rs` (keep other files out of the migrations folder)",
    ];
    // Cargo indents the script's stderr.
    assert!(stderr.contains(&expected.join("\n  ")), "{stderr}");
}

#[test]
fn the_application_migrates_at_start_up_with_no_migrations_folder() {
    let project = Crate::copy("app", "app");
    project.build().ok();
    let elsewhere = tempfile::tempdir().expect("temporary folder");
    let app = elsewhere.path().join(format!("app{}", std::env::consts::EXE_SUFFIX));
    std::fs::copy(project.binary(), &app).expect("copy the binary");
    let run = || {
        let output = Command::new(&app).current_dir(elsewhere.path()).output().expect("run app");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert_eq!(
        run(),
        "applied cf0f5b45967a (create user and role tables)\n\
         applied 20f04b9598da (update to flask-diamond 0.2.0)\n\
         1 user(s)\n"
    );
    assert_eq!(run(), "database is up to date\n2 user(s)\n");
    let entries: Vec<_> = std::fs::read_dir(elsewhere.path()).expect("list").flatten().collect();
    assert_eq!(entries.len(), 2, "only the binary and its database");
    // The history rows are keyed by the package name, as the CLI keys them.
    let url = format!("sqlite:{}", elsewhere.path().join("app.sqlite3").display());
    let current = project.fixture.run(&["current", "--database-url", &url, "--format", "json"]).json();
    assert_eq!(current["current"], serde_json::json!(["20f04b9598da"]), "{current}");

    // A new revision file reaches the binary through `build.rs`'s
    // `rerun_if_migrations_changed()`: the next release applies it.
    project.fixture.write("migrations/4a7c9e1f3b5d_add_user_nickname.sql", NICKNAME_REVISION);
    project.build().ok();
    std::fs::copy(project.binary(), &app).expect("copy the new binary");
    assert_eq!(run(), "applied 4a7c9e1f3b5d (add user nickname)\n3 user(s)\n");
}

const NICKNAME_REVISION: &str = "\
-- revision: 4a7c9e1f3b5d
-- revises: 20f04b9598da
-- message: add user nickname

-- migrate:upgrade
ALTER TABLE \"user\" ADD COLUMN nickname TEXT;

-- migrate:downgrade
ALTER TABLE \"user\" DROP COLUMN nickname;
";

/// Every Rust block of the README, written where its first line says
/// (`// src/main.rs: …`), into a copy of `fixtures/app` that depends on the
/// crates as the README says (the driver through `migrate_runtime::rusqlite`,
/// no `rusqlite` of its own), then built and its tests run: the snippets
/// compile and work as written.
#[test]
fn the_readme_snippets_compile() {
    let krate = Crate::copy("app", "readme_snippets");
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    let mut written = Vec::new();
    for block in readme.split("```rust\n").skip(1) {
        let code = block.split("\n```").next().expect("a closed block");
        let first = code.lines().next().unwrap_or_default();
        let path = first.trim_start_matches("// ").split(':').next().unwrap_or_default();
        assert!(
            path.ends_with(".rs") && !path.contains(' '),
            "every README Rust block starts with `// <file>.rs: …`, not {first:?}"
        );
        if let Some(folder) = Path::new(path).parent() {
            std::fs::create_dir_all(krate.fixture.path().join(folder)).expect("folder");
        }
        krate.fixture.write(path, &format!("{code}\n"));
        written.push(path.to_string());
    }
    assert!(written.len() >= 4, "{written:?}");
    assert!(
        !krate.fixture.read("Cargo.toml").contains("rusqlite"),
        "the application takes the driver from the runtime"
    );
    let workspace = workspace_root();
    let manifest = krate.fixture.read("Cargo.toml").replace(
        "[build-dependencies]",
        &format!(
            "[dev-dependencies]\nmigrate-runtime = {{ path = '{}/migrate-runtime', default-features = false, features = [\"sqlite\", \"testing\"] }}\n\n[build-dependencies]",
            workspace.display()
        ),
    );
    krate.fixture.write("Cargo.toml", &manifest);
    let run = krate.cargo(&["test"]);
    assert_eq!(
        run.code, 0,
        "the README's snippets ({written:?}) do not build or pass:\n{}{}",
        run.stdout, run.stderr
    );
}
