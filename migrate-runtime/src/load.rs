//! Reading a migrations folder: the one place that touches the file system.
//! Everything after it works on `(path, text)` values.

use crate::error::{ChainError, ChainErrors};
use crate::graph::Graph;
use crate::location::Location;
use crate::parse::parse_revision;
use crate::revision::Revision;
use std::path::{Path, PathBuf};

/// A revision file's path (relative to its package) and contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// Reads every file of `package_root/folder`, sorted by name. Hidden files
/// (`.gitkeep`) are skipped; anything else that is not a readable UTF-8 file
/// is reported, never silently ignored.
pub fn read_folder(package_root: &Path, folder: &Path) -> Result<Vec<SourceFile>, ChainErrors> {
    let dir = package_root.join(folder);
    let unreadable = |path: PathBuf, e: std::io::Error| ChainError::Unreadable {
        at: Location::file(path),
        reason: e.to_string(),
    };
    let entries = std::fs::read_dir(&dir).map_err(|e| unreadable(folder.to_path_buf(), e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| unreadable(folder.to_path_buf(), e))?;
        names.push(entry.file_name());
    }
    names.sort();
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for name in names.iter().filter(|n| !n.to_string_lossy().starts_with('.')) {
        let path = folder.join(name);
        match std::fs::read(dir.join(name)) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => files.push(SourceFile { path, text }),
                Err(e) => errors.push(ChainError::Unreadable {
                    at: Location::file(path),
                    reason: format!("not UTF-8 text ({})", e.utf8_error()),
                }),
            },
            Err(e) => errors.push(unreadable(path, e)),
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(ChainErrors(errors))
    }
}

/// Parses every file, reporting the problems of all of them at once.
pub fn parse_files(files: &[SourceFile]) -> Result<Vec<Revision>, ChainErrors> {
    let mut revisions = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for file in files {
        match parse_revision(&file.path, &file.text) {
            Ok(revision) => revisions.push(revision),
            Err(ChainErrors(found)) => errors.extend(found),
        }
    }
    if errors.is_empty() {
        Ok(revisions)
    } else {
        Err(ChainErrors(errors))
    }
}

/// Parses and validates files into a graph.
pub fn build_graph(files: &[SourceFile]) -> Result<Graph, ChainErrors> {
    Graph::build(parse_files(files)?)
}

/// Reads, parses and validates one package's migrations folder.
///
/// ```no_run
/// let graph = migrate_runtime::load::load_graph(".".as_ref(), "migrations".as_ref())?;
/// println!("{} revisions", graph.len());
/// # Ok::<(), migrate_runtime::ChainErrors>(())
/// ```
pub fn load_graph(package_root: &Path, folder: &Path) -> Result<Graph, ChainErrors> {
    build_graph(&read_folder(package_root, folder)?)
}
