//! Reading a migrations folder: the one place that touches the file system.
//! Everything after it works on `(path, text)` values.

use crate::chain::graph::Graph;
use crate::chain::parse::parse_revision;
use crate::model::error::{ChainError, ChainErrors};
use crate::model::location::Location;
use crate::model::revision::Revision;
use std::path::{Path, PathBuf};

/// A revision file's path (relative to its package) and contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// The settings file a migrations folder may hold for standalone use
/// (`cargo-migrate --migrations-dir`): the package name and the
/// `[package.metadata.migrate]` keys, for machines without the workspace.
pub const FOLDER_CONFIG: &str = "migrate.toml";

/// Reads every file of `package_root/folder`, sorted by name. Hidden files
/// (`.gitkeep`) and [`FOLDER_CONFIG`] are skipped; anything else that is not
/// a readable UTF-8 file is reported, never silently ignored.
pub fn read_folder(package_root: &Path, folder: &Path) -> Result<Vec<SourceFile>, ChainErrors> {
    let dir = package_root.join(folder);
    let unreadable = |path: PathBuf, e: std::io::Error| ChainError::Unreadable {
        at: Location::file(path),
        reason: e.to_string(),
    };
    let entries = std::fs::read_dir(&dir).map_err(|e| unreadable(folder.to_path_buf(), e))?;
    let mut names = Vec::new();
    for entry in entries {
        let name = entry.map_err(|e| unreadable(folder.to_path_buf(), e))?.file_name();
        let text = name.to_string_lossy();
        // The folder's own settings file (standalone mode) is not a revision.
        if !text.starts_with('.') && text != FOLDER_CONFIG {
            names.push(name);
        }
    }
    names.sort();
    let read = |name: &std::ffi::OsString| {
        let path = folder.join(name);
        match read_text(&dir.join(name)) {
            Ok(text) => Ok(SourceFile { path, text }),
            Err(e) => Err(unreadable(path, e)),
        }
    };
    let (files, errors): (Vec<_>, Vec<_>) = parallel_map(&names, read).into_iter().partition(Result::is_ok);
    if errors.is_empty() {
        Ok(files.into_iter().flatten().collect())
    } else {
        Err(ChainErrors(errors.into_iter().filter_map(Result::err).collect()))
    }
}

/// Reads a file as UTF-8 without asking for its size first: with thousands
/// of revision files the extra `stat` per file is a quarter of the cost.
fn read_text(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = Vec::with_capacity(1024);
    std::io::Read::by_ref(&mut std::fs::File::open(path)?).take(u64::MAX).read_to_end(&mut bytes)?;
    String::from_utf8(bytes).map_err(|e| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not UTF-8 text ({})", e.utf8_error()))
    })
}

/// Parses every file, reporting the problems of all of them at once.
pub fn parse_files(files: &[SourceFile]) -> Result<Vec<Revision>, ChainErrors> {
    let parsed = parallel_map(files, |file| parse_revision(&file.path, &file.text));
    let mut revisions = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for result in parsed {
        match result {
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

/// `items.iter().map(f)`, in order, spread over the machine's cores when
/// there are enough items to be worth a thread.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from).min(8);
    if threads < 2 || items.len() < 256 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> =
            items.chunks(chunk).map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>())).collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

/// Parses and validates files into a graph.
pub(crate) fn build_graph(files: &[SourceFile]) -> Result<Graph, ChainErrors> {
    Graph::build(parse_files(files)?)
}

/// Reads, parses and validates one package's migrations folder.
///
/// ```no_run
/// let graph = migrate_runtime::chain::load_graph(".".as_ref(), "migrations".as_ref())?;
/// println!("{} revisions", graph.len());
/// # Ok::<(), migrate_runtime::ChainErrors>(())
/// ```
pub fn load_graph(package_root: &Path, folder: &Path) -> Result<Graph, ChainErrors> {
    build_graph(&read_folder(package_root, folder)?)
}
