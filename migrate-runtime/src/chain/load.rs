//! Reading a migrations folder: the one place that touches the file system.
//! Everything after it works on `(path, text)` values.
//!
//! Only regular files are read (a symbolic link is followed, and its target
//! must be one): a FIFO, socket, device or folder is reported by what it
//! is, never opened, so it cannot hang or flood a command. A file may be at
//! most [`MAX_FILE_SIZE`], checked before reading and enforced while
//! reading, so a file that grows cannot either.

use crate::chain::cache::{self, Cache, Stamp};
use crate::chain::graph::Graph;
use crate::chain::parse::{parse_file, parse_revision};
use crate::chain::snapshot::{parse_snapshot, Snapshot, SNAPSHOTS_FOLDER};
use crate::model::error::{ChainError, ChainErrors};
use crate::model::location::Location;
use crate::model::revision::Revision;
use std::ffi::OsString;
use std::fs::{DirEntry, Metadata};
use std::io::Read;
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

/// The largest revision file read (64 MiB): far above any schema change
/// written by hand, far below what would exhaust a build machine's memory.
pub const MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// Loads one package's migrations folder into a [`Graph`], optionally
/// through a cache of parsed revisions (what the CLI does; the macro and
/// [`load_graph`] read every file).
///
/// ```no_run
/// use migrate_runtime::chain::Loader;
/// let graph = Loader::new(".".as_ref(), "migrations".as_ref())
///     .cache("target/.migrate-cache/revisions.bin".as_ref())
///     .load()?;
/// # Ok::<(), migrate_runtime::ChainErrors>(())
/// ```
#[derive(Debug, Clone)]
pub struct Loader {
    package_root: PathBuf,
    folder: PathBuf,
    cache: Option<PathBuf>,
}

impl Loader {
    /// `folder` is relative to `package_root`, as revisions name their files.
    pub fn new(package_root: &Path, folder: &Path) -> Loader {
        Loader { package_root: package_root.to_path_buf(), folder: folder.to_path_buf(), cache: None }
    }

    /// Keeps parsed revisions in `file` and parses again only the files whose
    /// size, times, inode or name changed since. The file is created as
    /// needed; one that cannot be read or written only costs the speed.
    pub fn cache(mut self, file: &Path) -> Loader {
        self.cache = Some(file.to_path_buf());
        self
    }

    /// Reads, parses and validates the folder, reporting every problem.
    pub fn load(&self) -> Result<Graph, ChainErrors> {
        let names = list_names(&self.package_root, &self.folder)?;
        let revisions = match &self.cache {
            Some(file) => self.parse_cached(&names, file)?,
            None => collect(parallel_map(&names, |name| self.read_and_parse(name)))?,
        };
        let snapshots = parse_snapshots(&read_snapshots(&self.package_root, &self.folder)?)?;
        Ok(Graph::build(revisions)?.with_snapshots(snapshots))
    }

    /// Parses a file as it reads it: its sections stay in the file.
    fn read_and_parse(&self, listed: &Listed) -> Result<Revision, ChainErrors> {
        let shown = self.folder.join(&listed.name);
        checked_metadata(listed, &shown)?;
        parse_file(&shown, &listed.entry.path(), MAX_FILE_SIZE)
    }

    /// Stamps every file, takes the unchanged ones from the cache, parses
    /// the rest, and rewrites the cache when anything changed.
    fn parse_cached(&self, names: &[Listed], file: &Path) -> Result<Vec<Revision>, ChainErrors> {
        let stamps = collect(parallel_map(names, |name| self.stamp(name)))?;
        // Absolute, as the sections' files are: the same relative folder
        // seen from elsewhere is another folder.
        let place = self.package_root.join(&self.folder);
        let place = std::path::absolute(&place).unwrap_or(place);
        let mut cache = Cache::open(file, &place);
        let cached: Vec<Option<Revision>> = names
            .iter()
            .zip(&stamps)
            .map(|(listed, stamp)| cache.take(listed.name.to_str()?, stamp))
            .collect();
        let missing: Vec<&Listed> = names
            .iter()
            .zip(&cached)
            .filter(|(_, revision)| revision.is_none())
            .map(|(name, _)| name)
            .collect();
        let mut parsed = collect(parallel_map(&missing, |name| self.read_and_parse(name)))?.into_iter();
        // Every `None` has its parsed revision, in the same order.
        let revisions: Vec<Revision> = cached.into_iter().flat_map(|c| c.or_else(|| parsed.next())).collect();
        if !missing.is_empty() || cache.has_leftovers() {
            let named = names.iter().zip(stamps).zip(&revisions);
            let files: Vec<_> =
                named.filter_map(|((l, stamp), r)| Some((l.name.to_str()?, stamp, r))).collect();
            cache::save(file, &place, &files);
        }
        Ok(revisions)
    }

    fn stamp(&self, listed: &Listed) -> Result<Stamp, ChainErrors> {
        // The common case, a regular file, needs no path: it is built for
        // the errors only (joining ten thousand paths shows in `heads`).
        match listed.entry.metadata() {
            Ok(meta) if meta.is_file() && meta.len() <= MAX_FILE_SIZE => Ok(Stamp::of(&meta)),
            _ => Ok(Stamp::of(&checked_metadata(listed, &self.folder.join(&listed.name))?)),
        }
    }
}

/// Reads, parses and validates one package's migrations folder, without a
/// cache (what `embed_migrations!` does).
///
/// ```no_run
/// let graph = migrate_runtime::chain::load_graph(".".as_ref(), "migrations".as_ref())?;
/// println!("{} revisions", graph.len());
/// # Ok::<(), migrate_runtime::ChainErrors>(())
/// ```
pub fn load_graph(package_root: &Path, folder: &Path) -> Result<Graph, ChainErrors> {
    Loader::new(package_root, folder).load()
}

/// Reads every file of `package_root/folder`, sorted by name. Hidden files
/// (`.gitkeep`) and [`FOLDER_CONFIG`] are skipped; anything else that is not
/// a readable UTF-8 regular file is reported, never silently ignored.
pub fn read_folder(package_root: &Path, folder: &Path) -> Result<Vec<SourceFile>, ChainErrors> {
    let names = list_names(package_root, folder)?;
    collect(parallel_map(&names, |listed| -> Result<SourceFile, ChainError> {
        let path = folder.join(&listed.name);
        let text = checked_metadata(listed, &path).and_then(|meta| read_text(listed, &path, &meta))?;
        Ok(SourceFile { path, text })
    }))
}

/// Reads another tool's migrations folder for `import`: its files and
/// the files of its sub-folders (diesel keeps a folder per migration),
/// each sorted by name, paths as `folder` names it (the user's). Hidden
/// files are skipped; anything else that is not a readable UTF-8 regular
/// file is reported.
pub fn read_tree(folder: &Path) -> Result<Vec<SourceFile>, ChainErrors> {
    let here = Path::new("");
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for listed in list_names(here, folder)? {
        let path = folder.join(&listed.name);
        let read = if listed.entry.file_type().is_ok_and(|t| t.is_dir()) {
            read_folder(here, &path)
        } else {
            checked_metadata(&listed, &path)
                .and_then(|meta| read_text(&listed, &path, &meta))
                .map(|text| vec![SourceFile { path, text }])
                .map_err(ChainErrors::from)
        };
        match read {
            Ok(mut read) => files.append(&mut read),
            Err(mut found) => errors.append(&mut found.0),
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(ChainErrors(errors))
    }
}

/// Reads the snapshot files of `package_root/folder/snapshots/`, sorted by
/// name; none when there is no such folder.
pub fn read_snapshots(package_root: &Path, folder: &Path) -> Result<Vec<SourceFile>, ChainErrors> {
    let snapshots = folder.join(SNAPSHOTS_FOLDER);
    if !package_root.join(&snapshots).is_dir() {
        return Ok(Vec::new());
    }
    read_folder(package_root, &snapshots)
}

/// Parses snapshot files, reporting the problems of all of them at once.
pub fn parse_snapshots(files: &[SourceFile]) -> Result<Vec<Snapshot>, ChainErrors> {
    collect(
        files.iter().map(|file| parse_snapshot(&file.path, &file.text).map_err(ChainError::from)).collect(),
    )
}

/// One file of the folder's listing.
struct Listed {
    name: OsString,
    /// Its metadata is read relative to the open folder, which saves
    /// resolving the whole path for each of thousands of files.
    entry: DirEntry,
}

/// The folder's revision files, sorted by name.
fn list_names(package_root: &Path, folder: &Path) -> Result<Vec<Listed>, ChainErrors> {
    let unreadable =
        |e: std::io::Error| ChainError::Unreadable { at: Location::file(folder), reason: e.to_string() };
    // Absolute, so each entry's path is: a loaded revision reads its SQL
    // through it later, wherever the process's working folder is by then.
    let absolute = std::path::absolute(package_root.join(folder)).map_err(unreadable)?;
    let entries = std::fs::read_dir(absolute).map_err(unreadable)?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(unreadable)?;
        let name = entry.file_name();
        let text = name.to_string_lossy();
        // The folder's own settings file (standalone mode) and its snapshots
        // are not revisions.
        if !text.starts_with('.') && text != FOLDER_CONFIG && text != SNAPSHOTS_FOLDER {
            names.push(Listed { name, entry });
        }
    }
    sort_by_name(&mut names);
    Ok(names)
}

/// Sorts by name, comparing first the names' leading eight bytes as one
/// number (a revision's id, and so nearly always decisive): at ten
/// thousand files, comparing whole names was a sixth of `heads`. Names are
/// unique in a folder, so the unstable sort is as exact.
fn sort_by_name(names: &mut Vec<Listed>) {
    let prefix = |name: &OsString| {
        let mut bytes = [0u8; 8];
        let encoded = name.as_encoded_bytes();
        let n = encoded.len().min(8);
        bytes[..n].copy_from_slice(&encoded[..n]);
        u64::from_be_bytes(bytes)
    };
    let mut keyed: Vec<(u64, Listed)> =
        names.drain(..).map(|listed| (prefix(&listed.name), listed)).collect();
    keyed.sort_unstable_by(|(a_prefix, a), (b_prefix, b)| {
        a_prefix.cmp(b_prefix).then_with(|| a.name.cmp(&b.name))
    });
    names.extend(keyed.into_iter().map(|(_, listed)| listed));
}

/// The metadata of a listed file (through a symbolic link) when it is a
/// regular file of at most [`MAX_FILE_SIZE`]; `path` names it in errors.
fn checked_metadata(listed: &Listed, path: &Path) -> Result<Metadata, ChainError> {
    let at = || Location::file(path);
    let unreadable = |e: std::io::Error| ChainError::Unreadable { at: at(), reason: e.to_string() };
    let mut meta = listed.entry.metadata().map_err(unreadable)?;
    let linked = meta.file_type().is_symlink();
    if linked {
        meta = std::fs::metadata(listed.entry.path()).map_err(unreadable)?;
    }
    if !meta.is_file() {
        let kind = kind_name(&meta);
        let kind = if linked { format!("a symbolic link to {kind}") } else { kind.to_string() };
        return Err(ChainError::NotAFile { at: at(), kind });
    }
    if meta.len() > MAX_FILE_SIZE {
        return Err(ChainError::TooLarge { at: at(), size: meta.len(), limit: MAX_FILE_SIZE });
    }
    Ok(meta)
}

#[cfg(unix)]
fn kind_name(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a named pipe (FIFO)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn kind_name(meta: &Metadata) -> &'static str {
    if meta.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

/// Reads a file checked by [`checked_metadata`] as UTF-8 into a buffer of
/// its size, never more than [`MAX_FILE_SIZE`] even if it grows meanwhile.
fn read_text(listed: &Listed, path: &Path, meta: &Metadata) -> Result<String, ChainError> {
    let at = || Location::file(path);
    let unreadable = |e: std::io::Error| ChainError::Unreadable { at: at(), reason: e.to_string() };
    let file = std::fs::File::open(listed.entry.path()).map_err(unreadable)?;
    // One byte more than expected, so that growing is seen without a copy.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0).saturating_add(1));
    file.take(MAX_FILE_SIZE + 1).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(ChainError::TooLarge { at: at(), size: bytes.len() as u64, limit: MAX_FILE_SIZE });
    }
    String::from_utf8(bytes).map_err(|e| ChainError::Unreadable {
        at: at(),
        reason: format!("not UTF-8 text ({})", e.utf8_error()),
    })
}

/// Parses every file, reporting the problems of all of them at once.
pub fn parse_files(files: &[SourceFile]) -> Result<Vec<Revision>, ChainErrors> {
    collect(parallel_map(files, |file| parse_revision(&file.path, &file.text)))
}

/// The values, or every error of every item.
fn collect<T, E: Into<ChainErrors>>(results: Vec<Result<T, E>>) -> Result<Vec<T>, ChainErrors> {
    let mut values = Vec::with_capacity(results.len());
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(value) => values.push(value),
            Err(error) => errors.extend(error.into().0),
        }
    }
    if errors.is_empty() {
        Ok(values)
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

#[cfg(test)]
mod tests {
    use super::*;

    const REVISION: &str = "-- revision: a1\n\n-- migrate:upgrade\nCREATE TABLE t (id INT);\n";

    /// A package folder whose `migrations/` holds one good revision.
    fn package() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temporary folder");
        std::fs::create_dir(dir.path().join("migrations")).expect("migrations");
        std::fs::write(dir.path().join("migrations/a1_t.sql"), REVISION).expect("revision");
        dir
    }

    #[test]
    fn names_come_in_byte_order_whatever_their_length() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let names = ["b", "ab", "abcdefgh1", "abcdefgh", "a", "abcdefgg_z", "abcdefgh0", "é", "0"];
        for name in names {
            std::fs::write(dir.path().join(name), "").expect("file");
        }
        let listed = list_names(dir.path(), ".".as_ref()).expect("listing");
        let got: Vec<&str> = listed.iter().map(|l| l.name.to_str().expect("utf-8")).collect();
        let mut expected = names.to_vec();
        expected.sort_unstable();
        assert_eq!(got, expected);
    }

    /// The one error loading the folder gives, as printed.
    fn only_error(dir: &Path) -> String {
        let errors = load_graph(dir, "migrations".as_ref()).expect_err("an error");
        assert_eq!(errors.0.len(), 1, "{errors}");
        errors.to_string()
    }

    #[test]
    fn a_good_folder_loads() {
        let dir = package();
        assert_eq!(load_graph(dir.path(), "migrations".as_ref()).expect("graph").len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_a_device_is_refused_unread() {
        let dir = package();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("migrations/b2_zero.sql")).expect("link");
        assert_eq!(
            only_error(dir.path()),
            "migrations/b2_zero.sql: not a revision file but a symbolic link to a device: only regular files \
             (or links to them) are read"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_hanging() {
        let dir = package();
        let fifo = dir.path().join("migrations/b2_pipe.sql");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
        assert!(made.success());
        // Opening a FIFO for reading blocks until a writer comes: reaching
        // the assertion at all shows it was not opened.
        assert!(only_error(dir.path())
            .starts_with("migrations/b2_pipe.sql: not a revision file but a named pipe"));
    }

    #[test]
    fn a_sub_folder_is_named_as_one() {
        let dir = package();
        std::fs::create_dir(dir.path().join("migrations/old")).expect("sub-folder");
        assert!(only_error(dir.path()).starts_with("migrations/old: not a revision file but a folder"));
    }

    #[test]
    fn an_oversized_file_is_refused_before_reading() {
        let dir = package();
        let file = std::fs::File::create(dir.path().join("migrations/b2_huge.sql")).expect("file");
        // Sparse: no 64 MiB written to the disk.
        file.set_len(MAX_FILE_SIZE + 1).expect("size");
        assert_eq!(
            only_error(dir.path()),
            "migrations/b2_huge.sql: 67108865 bytes, larger than the 67108864 bytes a revision file may have"
        );
    }

    #[test]
    fn the_cached_loader_gives_the_same_graph_and_sees_changes() {
        let dir = package();
        let cache = dir.path().join("cache/revisions.bin");
        let loader = Loader::new(dir.path(), "migrations".as_ref()).cache(&cache);
        let uncached = load_graph(dir.path(), "migrations".as_ref()).expect("graph");
        assert_eq!(loader.load().expect("graph").revisions(), uncached.revisions());
        assert!(!cache.exists(), "files changed in the last two seconds are not kept");
        let second = "-- revision: b2\n-- revises: a1\n\n-- migrate:upgrade\nCREATE TABLE u (id INT);\n";
        std::fs::write(dir.path().join("migrations/b2_u.sql"), second).expect("revision");
        assert_eq!(loader.load().expect("graph").len(), 2);
    }

    /// Each section as `(dialect, first line, checksum, SQL)`.
    fn sections(revision: &Revision) -> Vec<(Option<crate::Dialect>, usize, String, String)> {
        let all = revision.upgrade.iter().chain(revision.downgrade.iter().flatten());
        all.map(|s| (s.dialect, s.first_line, s.checksum.clone(), s.sql().expect("readable").into_owned()))
            .collect()
    }

    #[test]
    fn a_file_read_line_by_line_parses_as_its_text_does() {
        let texts = [
            "-- revision: a1\n\n-- migrate:upgrade\nCREATE TABLE t (id INT);\n",
            "\u{feff}-- revision: a1\r\n-- migrate:upgrade\r\n\r\n  SELECT 1;  \r\n\r\nSELECT 2;\t \r\n\r\n-- migrate:downgrade\r\n",
            "-- revision: a1\r-- migrate:upgrade sqlite\rSELECT 'é';\r-- migrate:upgrade\n  \n\tSELECT 2;\n\n\n",
            "-- revision: a1\n-- migrate:upgrade\n\n\n-- migrate:downgrade\nDROP TABLE t;",
            "-- revision: a1\n-- migrate:upgrade\n\u{feff}SELECT 1;\n-- migrate:downgrade\n\u{feff}\n",
        ];
        for text in texts {
            let dir = tempfile::tempdir().expect("temporary folder");
            std::fs::create_dir(dir.path().join("migrations")).expect("migrations");
            std::fs::write(dir.path().join("migrations/a1_t.sql"), text).expect("revision");
            let loaded = load_graph(dir.path(), "migrations".as_ref()).expect("graph");
            let parsed = parse_revision("migrations/a1_t.sql".as_ref(), text).expect("revision");
            assert_eq!(sections(&loaded.revisions()[0]), sections(&parsed), "{text:?}");
            assert_eq!(loaded.revisions()[0].location, parsed.location);
        }
    }

    #[test]
    fn sql_that_changed_after_loading_is_refused_not_run() {
        let dir = package();
        let graph = load_graph(dir.path(), "migrations".as_ref()).expect("graph");
        let section = &graph.revisions()[0].upgrade[0];
        assert_eq!(section.sql().expect("unchanged"), "CREATE TABLE t (id INT);");
        std::fs::write(dir.path().join("migrations/a1_t.sql"), REVISION.replace("INT", "TEXT"))
            .expect("edit");
        let error = section.sql().expect_err("changed");
        assert!(error.to_string().ends_with("a1_t.sql:4: the file changed while this command ran (its SQL is no longer what was loaded and checked): run the command again"), "{error}");
        std::fs::remove_file(dir.path().join("migrations/a1_t.sql")).expect("remove");
        assert!(matches!(section.sql(), Err(ChainError::Unreadable { .. })));
    }
}
