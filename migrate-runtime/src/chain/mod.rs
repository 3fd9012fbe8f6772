//! A package's chain: revision files parsed and loaded, the revision graph,
//! targets resolved on it, workspaces of packages, their configuration, and
//! scaffolding new files. Pure functions of `(path, text)` data; only
//! `load` reads the file system.

pub(crate) mod alembic;
pub(crate) mod cache;
pub(crate) mod config;
pub(crate) mod graph;
pub(crate) mod import;
pub(crate) mod load;
pub(crate) mod manifest;
pub(crate) mod parse;
pub(crate) mod scaffold;
pub(crate) mod snapshot;
pub mod target;
pub(crate) mod workspace;

pub use alembic::{
    alembic_adoption, alembic_history_sql, alembic_section, import_alembic, simple_labels, AlembicRevision,
    ALEMBIC_VERSION_TABLE,
};
pub use config::{Config, ConfigTable};
pub use graph::{Graph, Rev, RevSet};
pub use import::{
    adoption, import, AdoptError, Adoption, HistoryRow, ImportError, ImportErrors, Imported, Source,
};
pub use load::{
    load_graph, parse_files, parse_snapshots, read_folder, read_snapshots, read_tree, Loader, SourceFile,
    FOLDER_CONFIG, MAX_FILE_SIZE,
};
pub use manifest::{load_config, parse_manifest, Manifest, ManifestConfig, ManifestError};
pub use parse::{file_id, file_language, parse_revision};
pub use scaffold::{file_name, set_header, set_parents, slug, NewRevision};
pub use snapshot::{
    chain_checksum, newest_below, parse_snapshot, snapshot_path, snapshot_text, Snapshot, SnapshotError,
    SNAPSHOTS_FOLDER,
};
pub use workspace::{combine, package_order, PackageChain};
