//! Running the built `cargo-migrate` on a temporary copy of a fixture.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fixture project copied into a temporary folder, so tests may change it.
pub struct Fixture {
    dir: tempfile::TempDir,
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(self) -> String {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self.stdout
    }

    /// Asserts a user error (exit 1) and returns stderr.
    #[track_caller]
    pub fn fails(self) -> String {
        assert_eq!(self.code, 1, "expected exit 1\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        assert!(!self.stderr.contains("panicked"), "panic: {}", self.stderr);
        self.stderr
    }

    pub fn json(self) -> serde_json::Value {
        let stdout = self.ok();
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
    }
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

impl Fixture {
    /// Copies `fixtures/<name>` into a new temporary folder.
    pub fn copy(name: &str) -> Fixture {
        let dir = tempfile::Builder::new().prefix("migrate-e2e-").tempdir().expect("temporary folder");
        copy_dir(&fixtures_dir().join(name), dir.path());
        Fixture { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `cargo-migrate migrate <args>` with the fixture's manifest.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_in(self.path(), args)
    }

    /// Runs from `cwd` (inside the fixture) without `--manifest-path`, as a
    /// user standing in a package folder would.
    pub fn run_in(&self, cwd: &Path, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
            .arg("migrate")
            .args(args)
            .current_dir(cwd)
            .env_remove("DATABASE_URL")
            .output()
            .expect("run cargo-migrate");
        run(output)
    }

    /// The revision files of `folder` (relative to the fixture), sorted.
    pub fn files(&self, folder: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path().join(folder))
            .expect("migrations folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path().join(relative)).expect("read fixture file")
    }

    /// Loads a package's chain with the library, as `embed_migrations!` would.
    pub fn graph(&self, package_dir: &str) -> migrate_runtime::Graph {
        migrate_runtime::load::load_graph(&self.path().join(package_dir), "migrations".as_ref())
            .unwrap_or_else(|e| panic!("chain does not load:\n{e}"))
    }
}

fn run(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

impl Fixture {
    /// Like [`Fixture::run`], with extra environment variables set.
    pub fn run_with_env(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
            .arg("migrate")
            .args(args)
            .current_dir(self.path())
            .env_remove("DATABASE_URL")
            .envs(env.iter().copied())
            .output()
            .expect("run cargo-migrate");
        run(output)
    }

    /// Writes (or overwrites) a file of the fixture.
    pub fn write(&self, relative: &str, text: &str) {
        std::fs::write(self.path().join(relative), text).expect("write fixture file");
    }
}
