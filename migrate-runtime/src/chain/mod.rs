//! A package's chain: revision files parsed and loaded, the revision graph,
//! targets resolved on it, workspaces of packages, their configuration, and
//! scaffolding new files. Pure functions of `(path, text)` data; only
//! `load` reads the file system.

pub mod config;
pub mod graph;
pub mod load;
pub mod parse;
pub mod scaffold;
pub mod target;
pub mod workspace;
