//! Where the chains are: a cargo workspace's packages (found with `cargo
//! metadata`, their `[package.metadata.migrate]` settings), or, in
//! standalone mode (`--migrations-dir`), one folder and its `migrate.toml`,
//! with no cargo at all; and picking the package a command is about.

use crate::metadata_cache;
use anyhow::{bail, Context, Result};
use migrate_runtime::chain::{Config, ConfigTable, Loader};
use migrate_runtime::Graph;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The workspace and its packages.
#[derive(Debug)]
pub struct Project {
    pub workspace_root: PathBuf,
    /// The SQLite file commands use when no URL is given: one per workspace,
    /// so packages whose revisions depend on each other's share a history.
    /// Standalone mode has none: a deployment names its database.
    pub default_database: Option<PathBuf>,
    pub packages: Vec<Package>,
}

/// One workspace member and its migration settings.
#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
    pub root: PathBuf,
    /// `None` in standalone mode.
    pub manifest_path: Option<PathBuf>,
    pub config: Config,
    /// The package's bin targets (none in standalone mode): where its
    /// runner is looked for.
    pub bins: Vec<String>,
    /// Where parsed revisions are kept between commands (see
    /// `migrate_runtime::chain::Loader`); `None`: read every file.
    pub revisions_cache: Option<PathBuf>,
}

pub use migrate_runtime::chain::FOLDER_CONFIG as STANDALONE_CONFIG;

impl Package {
    /// The package folder relative to the workspace root (`.` for the root).
    pub fn dir_in(&self, workspace_root: &Path) -> PathBuf {
        self.root.strip_prefix(workspace_root).map_or_else(|_| self.root.clone(), Path::to_path_buf)
    }

    pub fn migrations_dir(&self) -> PathBuf {
        self.root.join(&self.config.folder)
    }

    pub fn has_migrations(&self) -> bool {
        self.migrations_dir().is_dir()
    }

    /// Reads and validates the package's chain, through the cache of parsed
    /// revisions when there is a place for it.
    /// The lint for the package's database with its severities.
    pub fn lint_settings(&self) -> Result<migrate_runtime::sql::lint::Settings> {
        let settings = migrate_runtime::sql::lint::Settings::for_dialect(self.config.dialect);
        settings.configure(&self.config.lint).with_context(|| format!("package `{}`", self.name))
    }

    pub fn load(&self) -> Result<Graph> {
        let loader = Loader::new(&self.root, &self.config.folder);
        let loader = match &self.revisions_cache {
            Some(file) => loader.cache(file),
            None => loader,
        };
        loader.load().map_err(|errors| anyhow::Error::new(errors).context(format!("package `{}`", self.name)))
    }

    /// The absolute path of a revision file given relative to the package.
    pub fn file(&self, relative: &Path) -> PathBuf {
        self.root.join(relative)
    }
}

impl Project {
    /// Runs `cargo metadata --no-deps` (through `$CARGO` when cargo started
    /// us) on `manifest_path`, or on the manifest above the current folder,
    /// or takes its answer from the cache when nothing it depends on changed.
    pub fn discover(manifest_path: Option<&Path>) -> Result<Project> {
        let metadata = metadata_cache::metadata(manifest_path)?;
        let cache_dir = metadata_cache::cache_dir(metadata.target_directory.as_std_path());
        let workspace_table = config_table(&metadata.workspace_metadata, "[workspace.metadata.migrate]")?;
        let mut packages = Vec::new();
        for package in metadata.workspace_packages() {
            let table = config_table(
                &package.metadata,
                &format!("[package.metadata.migrate] of `{}`", package.name),
            )?;
            let manifest_path = package.manifest_path.clone().into_std_path_buf();
            let root = manifest_path.parent().map(Path::to_path_buf).unwrap_or_default();
            let config = Config::merge(&table, &workspace_table);
            packages.push(Package {
                name: package.name.to_string(),
                revisions_cache: Some(revisions_cache(&cache_dir, &root.join(&config.folder))),
                root,
                manifest_path: Some(manifest_path),
                config,
                bins: package
                    .targets
                    .iter()
                    .filter(|target| target.is_bin())
                    .map(|target| target.name.clone())
                    .collect(),
            });
        }
        packages.sort_by(|a, b| a.name.cmp(&b.name));
        let workspace_root = metadata.workspace_root.into_std_path_buf();
        let database = format!("{}.sqlite3", workspace_name(&workspace_root, &packages));
        Ok(Project {
            default_database: Some(
                metadata.target_directory.into_std_path_buf().join("migrate").join(database),
            ),
            workspace_root,
            packages,
        })
    }

    /// Standalone mode: the one chain in `folder`, with settings from
    /// `folder/migrate.toml` (`package = "…"` and any
    /// `[package.metadata.migrate]` key but `folder`) under `package` and
    /// `history_table` given on the command line. No cargo, no manifest.
    pub fn standalone(folder: &Path, package: Option<&str>, history_table: Option<&str>) -> Result<Project> {
        if !folder.is_dir() {
            bail!("--migrations-dir {}: no such folder", folder.display());
        }
        let (name, mut table) = read_standalone_config(folder)?;
        let Some(name) = package.map(str::to_string).or(name) else {
            bail!(
                "standalone mode needs the package's name, which the history table records: pass `--package NAME` \
                 or write `package = \"NAME\"` in {} (in a cargo workspace it is the cargo package's name)",
                folder.join(STANDALONE_CONFIG).display()
            );
        };
        let root = folder.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        table.folder = Some(folder.file_name().map_or_else(|| PathBuf::from("."), PathBuf::from));
        if let Some(history_table) = history_table {
            table.history_table = Some(history_table.to_string());
        }
        let revisions_cache = user_cache_dir().map(|dir| revisions_cache(&dir, folder));
        Ok(Project {
            workspace_root: root.to_path_buf(),
            default_database: None,
            packages: vec![Package {
                name,
                root: root.to_path_buf(),
                manifest_path: None,
                config: Config::merge(&table, &ConfigTable::default()),
                bins: Vec::new(),
                revisions_cache,
            }],
        })
    }

    /// Packages that have a migrations folder.
    pub fn chains(&self) -> Vec<&Package> {
        self.packages.iter().filter(|p| p.has_migrations()).collect()
    }

    /// The package a command is about: `-p NAME`, else the one whose folder
    /// the current directory is in (when it has migrations), else the only
    /// one with migrations.
    pub fn select(&self, name: Option<&str>) -> Result<&Package> {
        let package = match name {
            Some(name) => self.named(name)?,
            None => match self.package_at_current_dir().filter(|p| p.has_migrations()) {
                Some(package) => package,
                None => self.only_chain()?,
            },
        };
        if !package.has_migrations() {
            bail!(
                "package `{}` has no migrations folder `{}`: run `cargo migrate init -p {}`",
                package.name,
                package.config.folder.display(),
                package.name
            );
        }
        Ok(package)
    }

    /// The package to set up with `init`: `-p NAME`, else the one you stand
    /// in, else the only package.
    pub fn select_for_init(&self, name: Option<&str>) -> Result<&Package> {
        if let Some(name) = name {
            return self.named(name);
        }
        if let Some(package) = self.package_at_current_dir() {
            return Ok(package);
        }
        match self.packages.as_slice() {
            [one] => Ok(one),
            _ => bail!(
                "several packages in this workspace ({}): choose one with `-p`",
                names(self.packages.iter())
            ),
        }
    }

    fn named(&self, name: &str) -> Result<&Package> {
        self.packages.iter().find(|p| p.name == name).with_context(|| {
            format!("no package `{name}` in this workspace (packages: {})", names(self.packages.iter()))
        })
    }

    fn only_chain(&self) -> Result<&Package> {
        match self.chains().as_slice() {
            [one] => Ok(one),
            [] => bail!("no package has a migrations folder: run `cargo migrate init`"),
            several => {
                bail!(
                    "several packages have migrations ({}): choose one with `-p`",
                    names(several.iter().copied())
                )
            }
        }
    }

    /// Packages to validate: the selected one with `-p`, else all chains.
    pub fn chains_or_selected(&self, name: Option<&str>) -> Result<Vec<&Package>> {
        match name {
            Some(_) => Ok(vec![self.select(name)?]),
            None => Ok(self.chains()),
        }
    }

    fn package_at_current_dir(&self) -> Option<&Package> {
        let cwd = std::env::current_dir().ok()?.canonicalize().ok()?;
        self.packages
            .iter()
            .filter(|p| p.root.canonicalize().is_ok_and(|root| cwd.starts_with(root)))
            .max_by_key(|p| p.root.components().count())
    }
}

/// The file that keeps the parsed revisions of `migrations` (a folder's
/// own file, so workspaces sharing a target folder do not collide).
fn revisions_cache(cache_dir: &Path, migrations: &Path) -> PathBuf {
    let absolute = std::path::absolute(migrations).unwrap_or_else(|_| migrations.to_path_buf());
    cache_dir.join(format!("revisions-{}.bin", metadata_cache::short_hash(absolute.as_os_str())))
}

/// Standalone mode has no target folder: the user's cache folder
/// (`$XDG_CACHE_HOME`, else `~/.cache`) holds the revisions cache; without
/// one, every file is read.
fn user_cache_dir() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = || std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| Path::new(&h).join(".cache"));
    Some(xdg.or_else(home)?.join("cargo-migrate"))
}

/// The default database's name: the workspace root's package (for a single
/// package, its name, as it always was), else `workspace` (a virtual
/// workspace; not the folder's name, which changes with the checkout).
fn workspace_name(root: &Path, packages: &[Package]) -> String {
    packages.iter().find(|p| p.root == root).map_or_else(|| "workspace".to_string(), |p| p.name.clone())
}

/// `folder/migrate.toml`: the package name and the settings table, both
/// optional; a missing file is an empty one.
fn read_standalone_config(folder: &Path) -> Result<(Option<String>, ConfigTable)> {
    let path = folder.join(STANDALONE_CONFIG);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok((None, ConfigTable::default()))
        }
        Err(error) => {
            return Err(anyhow::Error::new(error).context(format!("cannot read {}", path.display())))
        }
    };
    let mut file: toml::Table =
        toml::from_str(&text).with_context(|| format!("invalid {}", path.display()))?;
    let name = match file.remove("package") {
        None => None,
        Some(toml::Value::String(name)) => Some(name),
        Some(_) => bail!("invalid {}: `package` must be a string", path.display()),
    };
    if file.contains_key("folder") {
        bail!("invalid {}: `folder` has no meaning here (the file lives in the folder)", path.display());
    }
    let table = ConfigTable::deserialize(file).with_context(|| format!("invalid {}", path.display()))?;
    Ok((name, table))
}

fn names<'a>(packages: impl Iterator<Item = &'a Package>) -> String {
    packages.map(|p| format!("`{}`", p.name)).collect::<Vec<_>>().join(", ")
}

fn config_table(metadata: &serde_json::Value, place: &str) -> Result<ConfigTable> {
    match metadata.get("migrate") {
        None | Some(serde_json::Value::Null) => Ok(ConfigTable::default()),
        Some(table) => serde_json::from_value(table.clone()).with_context(|| format!("invalid {place}")),
    }
}
