//! Whether this process can write a SQLite database, asked before a
//! writing command changes anything. SQLite opens a file it may not write
//! read-only without a word, and a file in a folder it may not write fails
//! only at the first change (the journal goes beside the file), both with
//! "attempt to write a readonly database" at whatever revision statement
//! came first: the error would name a revision's SQL line instead of the
//! file and its permissions.

use super::database;
use crate::model::error::ApplyError;
use rusqlite::{Connection, MAIN_DB};
use std::fs::OpenOptions;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Refuses a database file this process cannot write, naming it with the
/// permissions at fault. In-memory databases are always writable.
pub(super) fn ensure_writable(conn: &Connection) -> Result<(), ApplyError> {
    let Some(path) = conn.path().filter(|path| !path.is_empty()) else { return Ok(()) };
    let path = Path::new(path);
    let reason = if conn.is_readonly(MAIN_DB).map_err(database)? {
        Some(format!("the file is read-only for this process ({})", permissions(path)))
    } else {
        folder_problem(path)
    };
    match reason {
        Some(reason) => Err(ApplyError::ReadOnlyDatabase { path: path.display().to_string(), reason }),
        None => Ok(()),
    }
}

/// Why SQLite could not create its journal beside `path`, found by
/// creating (and removing) a file of our own there.
fn folder_problem(path: &Path) -> Option<String> {
    let folder = path.parent().filter(|folder| !folder.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut probe = path.as_os_str().to_owned();
    probe.push(format!("-migrate-probe-{}", std::process::id()));
    match OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => None,
        Err(error) => Some(format!(
            "its folder `{}` does not let this process create SQLite's journal there ({}): {error}",
            folder.display(),
            permissions(folder)
        )),
    }
}

/// `mode 0444, owner uid 1000 gid 1000`, or why that is unknown.
fn permissions(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(meta) => format!("mode {:04o}, owner uid {} gid {}", meta.mode() & 0o7777, meta.uid(), meta.gid()),
        Err(error) => format!("permissions unknown: {error}"),
    }
}
