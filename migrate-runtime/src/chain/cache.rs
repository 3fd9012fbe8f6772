//! The parsed-revisions cache behind [`crate::chain::Loader::cache`]: each
//! revision file's parsed [`Revision`] (header, checksums, and where each
//! section's SQL is in the file, not the SQL), kept in one file and used again while the file's [`Stamp`] (size, modification
//! and change times in nanoseconds, inode and device) is the same. A file
//! that changed, appeared or was renamed has another stamp or name and is
//! read again; one that went is dropped. Anything wrong with the cache file
//! makes it empty, never an error.

use crate::model::revision::Revision;
use serde::{Deserialize, Serialize};
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Bumped whenever the cache file's layout or the parser's output changes.
const FORMAT: u32 = 4;

/// A file changed this recently may change again within the same clock
/// tick of its recorded times (coarse on some file systems) without its
/// stamp changing: it is parsed again next time rather than kept (git's
/// "racy clean" rule). The SQL read when a section runs is checked against
/// the checksum kept here, so even a change the stamp missed never runs.
const SETTLE: Duration = Duration::from_secs(2);

/// One version of a file, told apart without reading it. The change time
/// (`ctime`) cannot be set back by users, so an edit that restores the
/// size and modification time is still seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    size: u64,
    modified: i64,
    changed: i64,
    inode: u64,
    device: u64,
}

impl Stamp {
    #[cfg(unix)]
    pub(crate) fn of(meta: &Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        // Nanoseconds fit an i64 until 2262; past that the times saturate, and
        // the inode, size and the other time still tell versions apart.
        let nanos = |seconds: i64, nanoseconds: i64| {
            seconds.saturating_mul(1_000_000_000).saturating_add(nanoseconds)
        };
        Stamp {
            size: meta.len(),
            modified: nanos(meta.mtime(), meta.mtime_nsec()),
            changed: nanos(meta.ctime(), meta.ctime_nsec()),
            inode: meta.ino(),
            device: meta.dev(),
        }
    }

    #[cfg(not(unix))]
    pub(crate) fn of(meta: &Metadata) -> Stamp {
        let modified = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok());
        let modified = modified.map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        Stamp { size: meta.len(), modified, changed: modified, inode: 0, device: 0 }
    }

    /// Old enough that any later change gets other times.
    fn settled(&self, now: SystemTime) -> bool {
        let Ok(now) = now.duration_since(UNIX_EPOCH) else { return false };
        let limit = i64::try_from(now.saturating_sub(SETTLE).as_nanos()).unwrap_or(i64::MAX);
        self.modified.max(self.changed) < limit
    }
}

#[derive(Serialize, Deserialize)]
struct CacheFile<E> {
    format: u32,
    /// The binary that wrote it: another build may parse differently.
    build: String,
    /// The folder as the loader read it: sections name files in it.
    folder: PathBuf,
    /// Sorted by name, like the folder's listing.
    entries: Vec<E>,
}

#[derive(Serialize, Deserialize)]
struct Entry<R> {
    name: String,
    stamp: Stamp,
    revision: R,
}

/// The revisions of one folder as a cache file held them, consumed in name
/// order alongside the folder's sorted listing (no hash map to build).
pub(crate) struct Cache {
    entries: std::iter::Peekable<std::vec::IntoIter<Entry<Revision>>>,
    leftovers: bool,
}

impl Cache {
    /// The cache in `file` for `folder`; empty when missing, unreadable,
    /// corrupt, of another format or build, or about another folder.
    pub(crate) fn open(file: &Path, folder: &Path) -> Cache {
        let entries = std::fs::read(file)
            .ok()
            .and_then(|bytes| postcard::from_bytes::<CacheFile<Entry<Revision>>>(&bytes).ok())
            .filter(|cached| cached.format == FORMAT && cached.build == build() && cached.folder == folder)
            .map(|cached| cached.entries)
            .unwrap_or_default();
        Cache { entries: entries.into_iter().peekable(), leftovers: false }
    }

    /// The cached revision of `name`, if it was cached at this `stamp`.
    /// Names must be asked for in sorted order.
    pub(crate) fn take(&mut self, name: &str, stamp: &Stamp) -> Option<Revision> {
        while self.entries.next_if(|entry| entry.name.as_str() < name).is_some() {
            self.leftovers = true;
        }
        let entry = self.entries.next_if(|entry| entry.name == name)?;
        if entry.stamp == *stamp {
            Some(entry.revision)
        } else {
            self.leftovers = true;
            None
        }
    }

    /// Whether entries were not used: files that went away or changed.
    pub(crate) fn has_leftovers(&mut self) -> bool {
        self.leftovers || self.entries.peek().is_some()
    }
}

/// Writes the cache for `folder` with the settled ones of `files`
/// (name, stamp, revision, sorted by name) atomically: a temporary file
/// renamed over the old one, so concurrent readers see either. Failing to
/// write is no error: the next run reads the files again.
pub(crate) fn save(file: &Path, folder: &Path, files: &[(&str, Stamp, &Revision)]) {
    let now = SystemTime::now();
    let entries: Vec<Entry<&Revision>> = files
        .iter()
        .filter(|(_, stamp, _)| stamp.settled(now))
        .map(|&(name, stamp, revision)| Entry { name: name.to_string(), stamp, revision })
        .collect();
    // An older cache's entries cannot match files whose stamps changed, so
    // nothing to keep means nothing to write (and no folder created).
    if entries.is_empty() {
        return;
    }
    let cached = CacheFile { format: FORMAT, build: build(), folder: folder.to_path_buf(), entries };
    if let Ok(bytes) = postcard::to_stdvec(&cached) {
        let _ = write_atomically(file, &bytes);
    }
}

fn write_atomically(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(file.parent().unwrap_or(Path::new(".")))?;
    let temporary = file.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, file).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

/// This crate's version and the running binary's size and time.
fn build() -> String {
    let exe = std::env::current_exe().and_then(std::fs::metadata);
    let stamp = exe.map(|meta| Stamp::of(&meta)).ok();
    format!("{} {stamp:?}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::parse::parse_revision;

    fn revision(id: &str) -> Revision {
        let text = format!("-- revision: {id}\n\n-- migrate:upgrade\nCREATE TABLE t{id} (id INT);\n");
        parse_revision(format!("migrations/{id}_t.sql").as_ref(), &text).expect("revision")
    }

    /// A stamp of a file last changed in 2001, long settled.
    fn old(size: u64) -> Stamp {
        Stamp {
            size,
            modified: 1_000_000_000_000_000_000,
            changed: 1_000_000_000_000_000_000,
            inode: 7,
            device: 1,
        }
    }

    #[test]
    fn unchanged_stamps_are_hits_and_changed_or_gone_ones_are_not() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let file = dir.path().join("revisions.bin");
        let (a, b, c) = (revision("a1"), revision("b2"), revision("c3"));
        save(
            &file,
            "migrations".as_ref(),
            &[("a1_t.sql", old(10), &a), ("b2_t.sql", old(20), &b), ("c3_t.sql", old(30), &c)],
        );
        let mut cache = Cache::open(&file, "migrations".as_ref());
        assert_eq!(cache.take("a1_t.sql", &old(10)), Some(a));
        assert_eq!(cache.take("c3_t.sql", &old(31)), None, "another size is another version");
        assert!(cache.has_leftovers(), "b2 went away");
        let mut other_folder = Cache::open(&file, "other".as_ref());
        assert_eq!(other_folder.take("a1_t.sql", &old(10)), None);
    }

    #[test]
    fn a_recent_change_is_not_kept() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let file = dir.path().join("revisions.bin");
        let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_nanos() as i64;
        let recent = Stamp { modified: now, changed: now, ..old(10) };
        save(&file, "migrations".as_ref(), &[("a1_t.sql", recent, &revision("a1"))]);
        assert_eq!(Cache::open(&file, "migrations".as_ref()).take("a1_t.sql", &recent), None);
    }

    #[test]
    fn a_corrupt_cache_is_empty() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let file = dir.path().join("revisions.bin");
        save(&file, "migrations".as_ref(), &[("a1_t.sql", old(10), &revision("a1"))]);
        let bytes = std::fs::read(&file).expect("cache");
        std::fs::write(&file, &bytes[..bytes.len() / 2]).expect("truncate");
        assert_eq!(Cache::open(&file, "migrations".as_ref()).take("a1_t.sql", &old(10)), None);
    }
}
