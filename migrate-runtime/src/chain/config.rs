//! Per-package settings from `[package.metadata.migrate]`, over defaults from
//! `[workspace.metadata.migrate]`.
//!
//! ```toml
//! [package.metadata.migrate]
//! folder = "migrations"          # revision files, relative to the package
//! dialect = "sqlite"             # or "postgres": offline SQL, autogenerate, walk
//! schema = "schema.sql"          # the desired schema, for autogenerate and check
//! history-table = "migrate_history"
//! multiple-heads = false         # true: `check` accepts several heads
//! schemas = ["public"]           # PostgreSQL schemas the package owns, read by
//!                                # check, diff and autogenerate (SQLite: ignored)
//!
//! [package.metadata.migrate.lint]  # rule code or name = "error" | "warning" | "off"
//! shipped = "3f2a9c1b7d4e"       # it and its ancestors are linted only by `check --all`
//! M301 = "off"
//! drop-column = "error"
//! ```

use crate::model::revision::Dialect;
use crate::sql::lint::Severity;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One `[*.metadata.migrate]` table as written; every key optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ConfigTable {
    pub folder: Option<PathBuf>,
    pub dialect: Option<Dialect>,
    pub schema: Option<PathBuf>,
    pub history_table: Option<String>,
    pub multiple_heads: Option<bool>,
    pub schemas: Option<Vec<String>>,
    pub lint: Option<LintTable>,
    pub runner: Option<String>,
}

/// `[package.metadata.migrate.lint]`: severities by rule code or name
/// (checked by the lint), and the last revision already shipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LintTable {
    /// This revision and its ancestors are deployed: `check` lints them
    /// only with `--all`, so the lint can be adopted on an old chain.
    pub shipped: Option<String>,
    #[serde(flatten)]
    pub levels: BTreeMap<String, Severity>,
}

/// A package's effective settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Config {
    pub folder: PathBuf,
    pub dialect: Dialect,
    pub schema: PathBuf,
    pub history_table: String,
    /// Several heads are deliberate: `check` does not ask to merge them.
    pub multiple_heads: bool,
    /// The PostgreSQL schemas whose objects the package's revisions make,
    /// the first being the one they create unqualified objects in; what
    /// `check` and `diff` compare (`public` unless configured).
    pub schemas: Vec<String>,
    /// Lint severities by rule code or name as written: the workspace's
    /// first, then the package's, so that applying them in order lets the
    /// package's win for the same rule however either names it.
    pub lint: Vec<(String, Severity)>,
    /// The package's `shipped` revision: it and its ancestors are deployed,
    /// and `check` lints them only with `--all`.
    pub lint_shipped: Option<String>,
    /// The bin target that runs a chain with Rust revisions for `cargo
    /// migrate` (see [`crate::runner`]): `migrate` unless configured.
    pub runner: String,
}

impl Config {
    /// The package table's values, else the workspace table's, else defaults.
    pub fn merge(package: &ConfigTable, workspace: &ConfigTable) -> Config {
        let defaults = Config::default();
        Config {
            folder: pick(&package.folder, &workspace.folder, defaults.folder),
            dialect: package.dialect.or(workspace.dialect).unwrap_or(defaults.dialect),
            schema: pick(&package.schema, &workspace.schema, defaults.schema),
            history_table: pick(&package.history_table, &workspace.history_table, defaults.history_table),
            multiple_heads: pick(&package.multiple_heads, &workspace.multiple_heads, defaults.multiple_heads),
            schemas: pick(&package.schemas, &workspace.schemas, defaults.schemas),
            lint: [&workspace.lint, &package.lint]
                .into_iter()
                .flatten()
                .flat_map(|table| &table.levels)
                .map(|(rule, severity)| (rule.clone(), *severity))
                .collect(),
            // A revision id is one package's: never taken from the workspace.
            lint_shipped: package.lint.as_ref().and_then(|table| table.shipped.clone()),
            runner: pick(&package.runner, &workspace.runner, defaults.runner),
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            folder: PathBuf::from("migrations"),
            dialect: Dialect::Sqlite,
            schema: PathBuf::from("schema.sql"),
            history_table: "migrate_history".to_string(),
            multiple_heads: false,
            schemas: vec!["public".to_string()],
            lint: Vec::new(),
            lint_shipped: None,
            runner: "migrate".to_string(),
        }
    }
}

fn pick<T: Clone>(first: &Option<T>, second: &Option<T>, default: T) -> T {
    first.clone().or_else(|| second.clone()).unwrap_or(default)
}
