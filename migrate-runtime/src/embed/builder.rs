//! The build-script side of embedding: make cargo rebuild when a revision
//! file is added, removed or changed, and (for projects that prefer a build
//! script to the macro) write the chain's code to `OUT_DIR`.
//!
//! `include_str!` makes rustc track the files a chain had when it was
//! compiled, but not a file added later: only a build script's
//! `cargo:rerun-if-changed` on the folder catches that. With
//! `embed_migrations!`, one line does it:
//!
//! ```no_run
//! // build.rs, in `fn main`:
//! migrate_runtime::embed::rerun_if_migrations_changed();
//! ```
//!
//! Without the macro, the build script validates and generates the code
//! itself, with the same code generator ([`crate::embed::codegen`]) and the same
//! messages, the lint with the package's settings from `Cargo.toml`
//! included (the manifests get a `cargo:rerun-if-changed` line each):
//!
//! ```no_run
//! // build.rs, in `fn main`:
//! migrate_runtime::embed::compile_migrations("migrations");
//! ```
//!
//! ```ignore
//! // src/main.rs
//! static MIGRATIONS: migrate_runtime::embed::Migrations =
//!     include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
//! ```
//!
//! Depend on migrate-runtime as a build dependency with
//! `default-features = false`, so the build script compiles no driver.
//! Like any `rerun-if-changed`, these lines replace cargo's default of
//! rerunning the script when any file of the package changes.
//!
//! Environment: this reads only variables cargo sets for the build script
//! (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, `OUT_DIR`), so it emits no
//! `cargo:rerun-if-env-changed`: cargo compares those lines against its own
//! environment, where these variables are not set, so they would only be
//! noise. A variable read from the user's environment would get one.

use crate::embed::codegen::{self, Chain, EmbedErrors, Verify};
use crate::model::location::Location;
use std::io::Write;
use std::path::{Path, PathBuf};

/// For `embed_migrations!` users: reruns the build script, and so
/// recompiles the crate, when a file of `migrations/` is added, removed or
/// changed. Validation is left to the macro, which points at the source.
/// Exits the build script with the errors if the folder cannot be read.
pub fn rerun_if_migrations_changed() {
    Builder::new().rerun_if_changed();
}

/// Validates `folder` (relative to the package root) and writes its code to
/// `$OUT_DIR/migrations.rs`, for `include!`. Prints every problem, one per
/// line, and exits the build script with status 1 if the chain is broken.
pub fn compile_migrations(folder: impl AsRef<Path>) {
    Builder::new().folder(folder).compile();
}

/// Settings of a build-script run, for more than the shortcuts allow.
///
/// ```no_run
/// use migrate_runtime::embed::Builder;
/// use migrate_runtime::embed::codegen::Verify;
/// Builder::new().folder("db/migrations").out_file("db.rs").verify(Verify::Sqlite).compile();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Builder {
    folder: PathBuf,
    out_file: PathBuf,
    verify: Verify,
}

/// Why a build-script call failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("`{0}` is not set: migrate_runtime::embed is meant to run in a build script started by cargo")]
    NotInBuildScript(&'static str),
    #[error(transparent)]
    Chain(#[from] EmbedErrors),
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// What cargo tells a build script, read once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CargoEnv {
    pub package: String,
    pub package_root: PathBuf,
    pub out_dir: PathBuf,
}

impl CargoEnv {
    /// Reads `CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR` and `OUT_DIR`.
    pub fn from_env() -> Result<CargoEnv, BuildError> {
        let var = |name| std::env::var_os(name).ok_or(BuildError::NotInBuildScript(name));
        Ok(CargoEnv {
            package: var("CARGO_PKG_NAME")?.to_string_lossy().into_owned(),
            package_root: var("CARGO_MANIFEST_DIR")?.into(),
            out_dir: var("OUT_DIR")?.into(),
        })
    }
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// Folder `migrations`, output `migrations.rs`, no SQL verification.
    pub fn new() -> Builder {
        Builder { folder: "migrations".into(), out_file: "migrations.rs".into(), verify: Verify::Off }
    }

    /// The migrations folder, relative to the package root.
    pub fn folder(&mut self, folder: impl AsRef<Path>) -> &mut Builder {
        self.folder = folder.as_ref().to_path_buf();
        self
    }

    /// The generated file's name, relative to `OUT_DIR`.
    pub fn out_file(&mut self, name: impl AsRef<Path>) -> &mut Builder {
        self.out_file = name.as_ref().to_path_buf();
        self
    }

    /// Also apply the chain to an in-memory database ([`Verify::Sqlite`]
    /// needs migrate-runtime's `sqlite` feature in `[build-dependencies]`).
    pub fn verify(&mut self, verify: Verify) -> &mut Builder {
        self.verify = verify;
        self
    }

    /// [`Builder::try_compile`], exiting the build script on failure.
    pub fn compile(&self) {
        exit_on_error(self.try_compile());
    }

    /// Emits `cargo:rerun-if-changed` for the folder and each file, then
    /// validates the chain and writes its code to `$OUT_DIR/<out_file>`.
    /// Returns the path written.
    pub fn try_compile(&self) -> Result<PathBuf, BuildError> {
        self.compile_in(&CargoEnv::from_env()?, &mut std::io::stdout().lock())
    }

    /// [`Builder::try_rerun_if_changed`], exiting the build script on
    /// failure.
    pub fn rerun_if_changed(&self) {
        exit_on_error(self.try_rerun_if_changed());
    }

    /// Emits `cargo:rerun-if-changed` for the folder and each file, and
    /// nothing else (for `embed_migrations!`, which validates by itself).
    pub fn try_rerun_if_changed(&self) -> Result<(), BuildError> {
        self.rerun_in(&CargoEnv::from_env()?, &mut std::io::stdout().lock())
    }

    /// [`Builder::try_compile`] with cargo's variables given and the
    /// `cargo:` lines written to `out`.
    pub fn compile_in(&self, env: &CargoEnv, out: &mut dyn Write) -> Result<PathBuf, BuildError> {
        let chain = Chain {
            package: &env.package,
            package_root: &env.package_root,
            folder: &self.folder,
            verify: self.verify,
        };
        // On failure cargo reruns the script anyway: a failed run leaves no
        // fingerprint to compare.
        let embedded = codegen::embed(&chain)?;
        // The manifests hold the lint's settings; they are absolute, which
        // `join` keeps as they are.
        let inputs: Vec<PathBuf> = embedded.files.iter().chain(&embedded.manifests).cloned().collect();
        emit_rerun(out, &env.package_root, &self.folder, &inputs)?;
        let path = env.out_dir.join(&self.out_file);
        let code = format!(
            "// Generated by migrate_runtime::embed from `{}`: do not edit.\n{}\n",
            Location::file(&self.folder),
            embedded.tokens
        );
        write_if_changed(&path, &code)?;
        Ok(path)
    }

    /// [`Builder::try_rerun_if_changed`] with cargo's variables given and
    /// the `cargo:` lines written to `out`.
    pub fn rerun_in(&self, env: &CargoEnv, out: &mut dyn Write) -> Result<(), BuildError> {
        let folder = env.package_root.join(&self.folder);
        let mut files = Vec::new();
        // An unreadable folder is left to the macro to report, with a span.
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            if !entry.file_name().to_string_lossy().starts_with('.') {
                files.push(self.folder.join(entry.file_name()));
            }
        }
        files.sort();
        emit_rerun(out, &env.package_root, &self.folder, &files)
    }
}

/// The folder, which cargo scans (an added, removed or edited file reruns
/// the script), and each file by name, so the inputs are listed explicitly
/// (and a file edited in place is caught even by tools that look at the
/// listed paths only).
fn emit_rerun(out: &mut dyn Write, root: &Path, folder: &Path, files: &[PathBuf]) -> Result<(), BuildError> {
    let write_error = |e: std::io::Error| BuildError::Write { path: "stdout".into(), reason: e.to_string() };
    writeln!(out, "cargo:rerun-if-changed={}", root.join(folder).display()).map_err(write_error)?;
    for file in files {
        writeln!(out, "cargo:rerun-if-changed={}", root.join(file).display()).map_err(write_error)?;
    }
    Ok(())
}

/// Leaves an unchanged file alone, so its mtime does not move.
fn write_if_changed(path: &Path, code: &str) -> Result<(), BuildError> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == code) {
        return Ok(());
    }
    std::fs::write(path, code)
        .map_err(|e| BuildError::Write { path: path.to_path_buf(), reason: e.to_string() })
}

/// Prints every problem on its own line and exits with status 1, which
/// fails the build (a `cargo:warning` would not).
fn exit_on_error<T>(result: Result<T, BuildError>) {
    if let Err(error) = result {
        eprintln!("{error}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const GOOD: &str = "-- revision: a1b2\n-- migrate:upgrade\nCREATE TABLE t (id INTEGER);\n";

    fn package(files: &[(&str, &str)]) -> (tempfile::TempDir, CargoEnv) {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"demo\"\n\n[workspace]\n").unwrap();
        fs::create_dir_all(dir.path().join("db/migrations")).unwrap();
        fs::create_dir_all(dir.path().join("out")).unwrap();
        for (name, text) in files {
            fs::write(dir.path().join("db/migrations").join(name), text).unwrap();
        }
        let env = CargoEnv {
            package: "demo".into(),
            package_root: dir.path().to_path_buf(),
            out_dir: dir.path().join("out"),
        };
        (dir, env)
    }

    #[test]
    fn compile_writes_the_code_and_reruns_on_the_folder_and_each_file() {
        let (dir, env) = package(&[("a1b2_x.sql", GOOD), (".gitkeep", "")]);
        let mut out = Vec::new();
        let path =
            Builder::new().folder("db/migrations").out_file("db.rs").compile_in(&env, &mut out).unwrap();
        assert_eq!(path, dir.path().join("out/db.rs"));
        let root = dir.path().display();
        let expected = format!(
            "cargo:rerun-if-changed={root}/db/migrations\ncargo:rerun-if-changed={root}/db/migrations/a1b2_x.sql\ncargo:rerun-if-changed={root}/Cargo.toml\n"
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        let code = fs::read_to_string(path).unwrap();
        assert!(
            code.starts_with("// Generated by migrate_runtime::embed from `db/migrations`: do not edit.\n{")
        );
    }

    #[test]
    fn a_broken_chain_fails_with_every_message() {
        let (_dir, env) = package(&[("a1b2_x.sql", "-- revision: a1b2\n"), ("c3d4_.sql", GOOD)]);
        let error = Builder::new().folder("db/migrations").compile_in(&env, &mut Vec::new()).unwrap_err();
        let expected = [
            "db/migrations/a1b2_x.sql: missing `-- migrate:upgrade` section",
            "db/migrations/c3d4_.sql:1: header says revision `a1b2` but the file name starts with `c3d4`: rename the file to `a1b2_<slug>.sql` or correct the header",
        ];
        assert_eq!(error.to_string(), expected.join("\n"));
    }

    #[test]
    fn the_lint_runs_with_the_package_settings() {
        let index = "-- revision: c3d4\n-- revises: a1b2\n-- migrate:upgrade\nCREATE INDEX t_id ON t (id);\n";
        let (dir, env) = package(&[("a1b2_x.sql", GOOD), ("c3d4_y.sql", index)]);
        let manifest =
            "[package]\nname = \"demo\"\n[package.metadata.migrate]\ndialect = \"postgres\"\n[workspace]\n";
        fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        let error = Builder::new().folder("db/migrations").compile_in(&env, &mut Vec::new()).unwrap_err();
        let error = error.to_string();
        assert!(error.starts_with("db/migrations/c3d4_y.sql:4:1: M101 `CREATE INDEX` on `t`"), "{error}");
        fs::write(dir.path().join("Cargo.toml"), manifest.replace("postgres", "sqlite")).unwrap();
        Builder::new().folder("db/migrations").compile_in(&env, &mut Vec::new()).unwrap();
    }

    #[test]
    fn rerun_only_lists_the_files_without_validating_them() {
        let (dir, env) = package(&[("b_.sql", "not a revision"), ("a_.sql", "")]);
        let mut out = Vec::new();
        Builder::new().folder("db/migrations").rerun_in(&env, &mut out).unwrap();
        let root = dir.path().display();
        let lines: Vec<String> = ["db/migrations", "db/migrations/a_.sql", "db/migrations/b_.sql"]
            .iter()
            .map(|p| format!("cargo:rerun-if-changed={root}/{p}"))
            .collect();
        assert_eq!(String::from_utf8(out).unwrap(), lines.join("\n") + "\n");
    }
}
