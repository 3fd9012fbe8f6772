//! A package's settings read from its `Cargo.toml` files themselves, for
//! `embed_migrations!` and build scripts, which must not run `cargo
//! metadata` (a proc-macro runs inside rustc, a build script inside cargo).
//! The tables are merged by [`Config::merge`], the CLI's one merge, so the
//! compile-time lint sees the dialect, severities and `shipped` revision
//! `cargo migrate check` sees.
//!
//! Which manifest is the workspace's, the rule cargo itself applies, less
//! its membership checks:
//! - the package's own manifest, when it has a `[workspace]` table;
//! - else the one `package.workspace = "path"` names (relative to the
//!   package);
//! - else the nearest folder above the package whose `Cargo.toml` has a
//!   `[workspace]` table, unless its `workspace.exclude` lists a folder
//!   the package is in: then the package stands alone.
//!
//! `workspace.members` globs are not matched: a package below a workspace
//! root that does not list it fails to build in cargo anyway, so when the
//! build gets this far the nearest root is the package's.
//!
//! Only [`load_config`] touches the file system; [`parse_manifest`] is a
//! function of `(path, text)`.

use crate::chain::config::{Config, ConfigTable};
use crate::model::location::Location;
use crate::sql::lint::rules;
use std::path::{Component, Path, PathBuf};

/// A package's merged settings and the manifests they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestConfig {
    pub config: Config,
    /// The package's `Cargo.toml`, then the workspace's when there is one,
    /// absolute: a change to either must rebuild what embeds the chain.
    pub manifests: Vec<PathBuf>,
}

/// The parts of one `Cargo.toml` the settings depend on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// `[package.metadata.migrate]`.
    pub package: ConfigTable,
    /// `[workspace.metadata.migrate]`.
    pub workspace: ConfigTable,
    /// Whether the file has a `[workspace]` table: it is a workspace root.
    pub is_workspace_root: bool,
    /// `package.workspace = "…"`: where the package's workspace root is.
    pub workspace_path: Option<PathBuf>,
    /// `workspace.exclude`: folders below the root that are not members.
    pub exclude: Vec<PathBuf>,
}

/// A `Cargo.toml` that cannot be read, or settings in it that are wrong.
/// `path` is shown relative to the package (`Cargo.toml`, `../Cargo.toml`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("{at}: cannot read: {reason}")]
    Read { at: Location, reason: String },
    #[error("{at}: {message}")]
    Invalid { at: Location, message: String },
}

/// The serde shape: only the keys read here, everything else ignored.
#[derive(serde::Deserialize, Default)]
struct RawManifest {
    package: Option<RawPackage>,
    workspace: Option<RawWorkspace>,
}

#[derive(serde::Deserialize, Default)]
struct RawPackage {
    // `workspace` is a path here; `true` only in other tables' keys.
    workspace: Option<PathBuf>,
    metadata: Option<RawMetadata>,
}

#[derive(serde::Deserialize, Default)]
struct RawWorkspace {
    #[serde(default)]
    exclude: Vec<PathBuf>,
    metadata: Option<RawMetadata>,
}

#[derive(serde::Deserialize, Default)]
struct RawMetadata {
    migrate: Option<ConfigTable>,
}

/// Reads the package's manifest in `package_root` and its workspace's,
/// checks the settings, and merges them.
pub fn load_config(package_root: &Path) -> Result<ManifestConfig, ManifestError> {
    let package_path = package_root.join("Cargo.toml");
    let package = read_manifest(package_root, &package_path)?;
    let mut manifests = vec![package_path];
    let workspace = match workspace_manifest(package_root, &package)? {
        Some((path, manifest)) => {
            manifests.push(path);
            manifest.workspace
        }
        None if package.is_workspace_root => package.workspace.clone(),
        None => ConfigTable::default(),
    };
    let config = Config::merge(&package.package, &workspace);
    Ok(ManifestConfig { config, manifests })
}

/// The workspace root's manifest other than the package's own, if any.
fn workspace_manifest(
    package_root: &Path,
    package: &Manifest,
) -> Result<Option<(PathBuf, Manifest)>, ManifestError> {
    if package.is_workspace_root {
        return Ok(None);
    }
    if let Some(path) = &package.workspace_path {
        let manifest_path = package_root.join(path).join("Cargo.toml");
        return Ok(Some((manifest_path.clone(), read_manifest(package_root, &manifest_path)?)));
    }
    for folder in package_root.ancestors().skip(1) {
        let manifest_path = folder.join("Cargo.toml");
        if !manifest_path.is_file() {
            continue;
        }
        let manifest = read_manifest(package_root, &manifest_path)?;
        if !manifest.is_workspace_root {
            continue;
        }
        let below = package_root.strip_prefix(folder).unwrap_or(package_root);
        if manifest.exclude.iter().any(|excluded| below.starts_with(normal(excluded))) {
            return Ok(None);
        }
        return Ok(Some((manifest_path, manifest)));
    }
    Ok(None)
}

fn read_manifest(package_root: &Path, path: &Path) -> Result<Manifest, ManifestError> {
    let shown = relative_to(package_root, path);
    let text = std::fs::read_to_string(path)
        .map_err(|error| ManifestError::Read { at: Location::file(&shown), reason: error.to_string() })?;
    parse_manifest(&shown, &text)
}

/// `Cargo.toml` text to the settings tables, each lint severity's rule
/// checked; an error names the file and, where TOML tells, the line.
pub fn parse_manifest(path: &Path, text: &str) -> Result<Manifest, ManifestError> {
    let raw: RawManifest = toml::from_str(text).map_err(|error| {
        let line = error.span().map(|span| 1 + text[..span.start.min(text.len())].matches('\n').count());
        let at = line.map_or_else(|| Location::file(path), |line| Location::line(path, line));
        ManifestError::Invalid { at, message: error.message().trim_end().to_string() }
    })?;
    let is_workspace_root = raw.workspace.is_some();
    let (package, workspace_path) = match raw.package {
        Some(package) => (package.metadata.and_then(|m| m.migrate).unwrap_or_default(), package.workspace),
        None => (ConfigTable::default(), None),
    };
    let (workspace, exclude) = match raw.workspace {
        Some(workspace) => {
            (workspace.metadata.and_then(|m| m.migrate).unwrap_or_default(), workspace.exclude)
        }
        None => (ConfigTable::default(), Vec::new()),
    };
    check_rules(path, "[package.metadata.migrate.lint]", &package)?;
    check_rules(path, "[workspace.metadata.migrate.lint]", &workspace)?;
    Ok(Manifest { package, workspace, is_workspace_root, workspace_path, exclude })
}

/// Every severity's key names a rule.
fn check_rules(path: &Path, table_name: &str, table: &ConfigTable) -> Result<(), ManifestError> {
    let levels = table.lint.iter().flat_map(|lint| lint.levels.keys());
    match levels.into_iter().find(|key| rules::find(key).is_none()) {
        None => Ok(()),
        Some(key) => Err(ManifestError::Invalid {
            at: Location::file(path),
            message: format!(
                "{table_name}: `{key}` is not a lint rule (codes such as `M101` or names such as `index-not-concurrent`; `cargo migrate check --rules` lists them)"
            ),
        }),
    }
}

/// `path` as seen from `root` (`Cargo.toml`, `../Cargo.toml`), for messages.
fn relative_to(root: &Path, path: &Path) -> PathBuf {
    if let Ok(below) = path.strip_prefix(root) {
        return below.to_path_buf();
    }
    for (up, folder) in root.ancestors().enumerate() {
        if let Ok(below) = path.strip_prefix(folder) {
            return std::iter::repeat_n(Path::new(".."), up).collect::<PathBuf>().join(below);
        }
    }
    path.to_path_buf()
}

/// `./a/b` as `a/b`, so that it compares with a path below the root.
fn normal(path: &Path) -> PathBuf {
    path.components().filter(|c| !matches!(c, Component::CurDir)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::revision::Dialect;
    use crate::sql::lint::Severity;
    use std::fs;

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    const PACKAGE: &str = "[package]\nname = \"p\"\n\n[package.metadata.migrate.lint]\nM101 = \"warning\"\nshipped = \"a1b2\"\n";
    const WORKSPACE: &str = "[workspace]\nmembers = [\"p\"]\n\n[workspace.metadata.migrate]\ndialect = \"postgres\"\n\n[workspace.metadata.migrate.lint]\nM201 = \"error\"\n";

    #[test]
    fn the_package_table_is_merged_over_the_nearest_workspace_root() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Cargo.toml", WORKSPACE);
        write(dir.path(), "crates/p/Cargo.toml", PACKAGE);
        let root = dir.path().join("crates/p");
        let read = load_config(&root).unwrap();
        assert_eq!(read.config.dialect, Dialect::Postgres);
        let levels = [("M201".to_string(), Severity::Error), ("M101".to_string(), Severity::Warning)];
        assert_eq!(read.config.lint, levels);
        assert_eq!(read.config.lint_shipped.as_deref(), Some("a1b2"));
        assert_eq!(read.manifests, [root.join("Cargo.toml"), dir.path().join("Cargo.toml")]);
    }

    #[test]
    fn an_excluded_package_and_a_root_package_stand_alone() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Cargo.toml", &WORKSPACE.replace("members", "exclude = [\"./tools\"]\nmembers"));
        write(dir.path(), "tools/p/Cargo.toml", PACKAGE);
        let read = load_config(&dir.path().join("tools/p")).unwrap();
        assert_eq!(read.config.dialect, Dialect::Sqlite);
        assert_eq!(read.manifests.len(), 1);
        write(dir.path(), "solo/Cargo.toml", &format!("{PACKAGE}[workspace]\n"));
        assert_eq!(load_config(&dir.path().join("solo")).unwrap().manifests.len(), 1);
    }

    #[test]
    fn package_workspace_names_the_root() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "ws/Cargo.toml", WORKSPACE);
        write(
            dir.path(),
            "p/Cargo.toml",
            &PACKAGE.replace("name = \"p\"", "name = \"p\"\nworkspace = \"../ws\""),
        );
        let read = load_config(&dir.path().join("p")).unwrap();
        assert_eq!(read.config.dialect, Dialect::Postgres);
    }

    /// A severity is read through a flattened map, for which TOML gives the
    /// table's line only.
    #[test]
    fn bad_settings_name_the_manifest_and_line() {
        let cases = [
            ("[package.metadata.migrate]\ndialect = \"mysql\"\n", "Cargo.toml:2: unknown variant `mysql`, expected `sqlite` or `postgres`"),
            ("[package.metadata.migrate.lint]\nM101 = \"loud\"\n", "Cargo.toml:1: unknown variant `loud`, expected one of `off`, `warning`, `error`"),
            ("[package.metadata.migrate.lint]\nM999 = \"off\"\n", "Cargo.toml: [package.metadata.migrate.lint]: `M999` is not a lint rule (codes such as `M101` or names such as `index-not-concurrent`; `cargo migrate check --rules` lists them)"),
            ("[workspace.metadata.migrate]\nfolders = \"x\"\n", "Cargo.toml:2: unknown field `folders`, expected one of `folder`, `dialect`, `schema`, `history-table`, `multiple-heads`, `schemas`, `lint`, `runner`"),
        ];
        for (text, expected) in cases {
            let error = parse_manifest(Path::new("Cargo.toml"), text).unwrap_err().to_string();
            assert_eq!(error, expected, "{text}");
        }
    }

    #[test]
    fn a_missing_manifest_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let error = load_config(dir.path()).unwrap_err().to_string();
        assert!(error.starts_with("Cargo.toml: cannot read: "), "{error}");
    }
}
