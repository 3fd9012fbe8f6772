//! A package's chain: revision files parsed and loaded, the revision graph,
//! targets resolved on it, workspaces of packages, their configuration, and
//! scaffolding new files. Pure functions of `(path, text)` data; only
//! `load` reads the file system.

pub(crate) mod cache;
pub(crate) mod config;
pub(crate) mod graph;
pub(crate) mod load;
pub(crate) mod parse;
pub(crate) mod scaffold;
pub mod target;
pub(crate) mod workspace;

pub use config::{Config, ConfigTable};
pub use graph::{Graph, Rev, RevSet};
pub use load::{load_graph, parse_files, read_folder, Loader, SourceFile, FOLDER_CONFIG, MAX_FILE_SIZE};
pub use parse::{file_id, parse_revision};
pub use scaffold::{file_name, set_parents, slug, NewRevision};
pub use workspace::{combine, package_order, PackageChain};
