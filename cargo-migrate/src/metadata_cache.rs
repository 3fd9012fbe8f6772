//! `cargo metadata --no-deps`, remembered: cargo takes about 25 ms to answer,
//! which was half of a no-op `upgrade`. The answer is kept in the target
//! folder it names (`target/.migrate-cache/metadata-<anchor>.json`) under a
//! key made of everything that can change it, and used only while the key
//! still matches. Any doubt is a miss, a miss runs cargo, and a failure is
//! never kept.
//!
//! The key: this binary; the variables cargo reads for it (`CARGO`,
//! `CARGO_HOME`, `CARGO_TARGET_DIR`, …); the anchor manifest (`--manifest-path`,
//! else the nearest `Cargo.toml` at or above the current folder, which is
//! how cargo starts too); every `Cargo.toml` above it (one may declare a
//! workspace) and every cargo configuration file cargo would read from the
//! current folder and `CARGO_HOME`, by path, size, modification time and
//! contents; and, named by the answer, the members' manifests and the folders
//! the `members` globs list (their modification time changes when a package
//! is added).

use anyhow::{Context, Result};
use cargo_metadata::{Metadata, MetadataCommand};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Bumped whenever what the file holds or what the key covers changes.
const FORMAT: u32 = 2;

/// A file changed this recently may have changed while cargo read it, or
/// within the clock tick of its recorded time: the answer is not kept.
const SETTLE: Duration = Duration::from_secs(2);

/// Variables that change where cargo looks or what it answers.
const VARIABLES: [&str; 6] =
    ["CARGO", "CARGO_HOME", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "RUSTUP_TOOLCHAIN", "HOME"];

#[derive(Serialize, Deserialize)]
struct CacheFile<W, M> {
    format: u32,
    /// SHA-256 of the inputs and of the state of `watched`.
    key: String,
    /// The paths only the answer names: members' manifests, glob folders.
    watched: W,
    metadata: M,
}

/// The workspace as `cargo metadata --no-deps` describes it, from the cache
/// when nothing it depends on changed.
pub fn metadata(manifest_path: Option<&Path>) -> Result<Metadata> {
    let Some(cwd) = std::env::current_dir().ok() else { return run(manifest_path) };
    let Some(anchor) = anchor(manifest_path, &cwd) else { return run(manifest_path) };
    let inputs = inputs(&anchor, &cwd);
    let name = format!("metadata-{}.json", short_hash(anchor.as_os_str()));
    let candidates = target_dirs(&anchor, &cwd).into_iter().map(|dir| cache_dir(&dir).join(&name));
    if let Some(metadata) = candidates.into_iter().find_map(|file| read(&file, &inputs)) {
        return Ok(metadata);
    }
    let started = SystemTime::now();
    let metadata = run(manifest_path)?;
    let watched = watched(&metadata);
    if settled(&inputs.paths, &watched, started) {
        let file = cache_dir(metadata.target_directory.as_std_path()).join(&name);
        write(&file, &inputs, &watched, &metadata);
    }
    Ok(metadata)
}

fn run(manifest_path: Option<&Path>) -> Result<Metadata> {
    let mut command = MetadataCommand::new();
    command.no_deps();
    if let Some(path) = manifest_path {
        command.manifest_path(path);
    }
    command.exec().context(
        "cannot read the workspace with `cargo metadata` (without cargo, name the folder: `--migrations-dir DIR`)",
    )
}

/// Beside `target/migrate/`, not in it: that folder is the default
/// database's, which read commands never create.
pub fn cache_dir(target_dir: &Path) -> PathBuf {
    target_dir.join(".migrate-cache")
}

/// The manifest cargo starts from.
fn anchor(manifest_path: Option<&Path>, cwd: &Path) -> Option<PathBuf> {
    match manifest_path {
        Some(path) => Some(cwd.join(path)),
        None => cwd.ancestors().map(|dir| dir.join("Cargo.toml")).find(|path| path.is_file()),
    }
}

/// Where an earlier run may have written the cache: the target folder the
/// variables name, else `target/` beside each manifest above the anchor
/// (the workspace root is one of them). A target folder set in a cargo
/// configuration file is not guessed: there the cache is written but not
/// found, and every command runs cargo, as before.
fn target_dirs(anchor: &Path, cwd: &Path) -> Vec<PathBuf> {
    for variable in ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"] {
        if let Some(dir) = std::env::var_os(variable).filter(|v| !v.is_empty()) {
            return vec![cwd.join(dir)];
        }
    }
    let above = anchor.parent().map(Path::ancestors).into_iter().flatten();
    above.filter(|dir| dir.join("Cargo.toml").is_file()).map(|dir| dir.join("target")).collect()
}

/// The part of the key known before asking cargo.
struct Inputs {
    /// Digest of this binary, the variables and the anchor.
    fixed: Vec<u8>,
    /// Manifests above the anchor and cargo configuration files that exist.
    paths: Vec<PathBuf>,
}

fn inputs(anchor: &Path, cwd: &Path) -> Inputs {
    let mut fixed = format!("{FORMAT}\n{}\n{}\n", env!("CARGO_PKG_VERSION"), exe_state()).into_bytes();
    for variable in VARIABLES {
        let value = std::env::var_os(variable).unwrap_or_default();
        fixed.extend_from_slice(format!("{variable}={}\n", value.to_string_lossy()).as_bytes());
    }
    fixed.extend_from_slice(anchor.as_os_str().as_encoded_bytes());
    let manifests = anchor.parent().map(Path::ancestors).into_iter().flatten().map(|d| d.join("Cargo.toml"));
    let configs = cwd.ancestors().map(|dir| dir.join(".cargo")).chain(cargo_home());
    let configs = configs.flat_map(|dir| [dir.join("config.toml"), dir.join("config")]);
    let paths = std::iter::once(anchor.to_path_buf()).chain(manifests).chain(configs).filter(|p| p.exists());
    Inputs { fixed, paths: paths.collect() }
}

fn cargo_home() -> Option<PathBuf> {
    match std::env::var_os("CARGO_HOME").filter(|v| !v.is_empty()) {
        Some(home) => Some(PathBuf::from(home)),
        None => std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")),
    }
}

/// A rebuilt binary may read the answer differently: its size and time
/// are part of the key (not its contents: hashing megabytes would cost
/// more than the cache saves).
fn exe_state() -> String {
    let meta = std::env::current_exe().and_then(std::fs::metadata);
    meta.map(|m| format!("{} {:?}", m.len(), m.modified().ok())).unwrap_or_default()
}

/// What the answer itself says must stay the same: the members' manifests
/// (the root's included), their `src/bin` folders (a runner added by `init
/// --rust` is a new bin target), and the folders the `members` globs list.
fn watched(metadata: &Metadata) -> Vec<PathBuf> {
    let root = metadata.workspace_root.as_std_path();
    let mut paths = vec![root.join("Cargo.toml")];
    for package in metadata.workspace_packages() {
        let manifest = package.manifest_path.clone().into_std_path_buf();
        paths.extend(manifest.parent().map(|dir| dir.join("src").join("bin")));
        paths.push(manifest);
    }
    paths.extend(glob_folders(root));
    paths.sort();
    paths.dedup();
    paths
}

/// For each `members`/`exclude` pattern with a wildcard, the folder before
/// its first wildcard and the folders right below it: adding `crates/new`
/// changes the modification time of `crates`.
fn glob_folders(root: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(root.join("Cargo.toml")) else { return Vec::new() };
    let Ok(manifest) = toml::from_str::<toml::Table>(&text) else { return Vec::new() };
    let workspace = manifest.get("workspace").and_then(toml::Value::as_table);
    let patterns = ["members", "exclude"].into_iter().filter_map(|key| workspace?.get(key)?.as_array());
    let mut folders = Vec::new();
    for pattern in patterns.flatten().filter_map(toml::Value::as_str).filter(|p| p.contains(['*', '?', '[']))
    {
        let base: PathBuf = Path::new(pattern)
            .components()
            .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
            .collect();
        let base = root.join(base);
        let below = std::fs::read_dir(&base).into_iter().flatten().flatten().map(|entry| entry.path());
        folders.extend(below.filter(|path| path.is_dir()));
        folders.push(base);
    }
    folders
}

/// The whole key: the fixed inputs, then each path and its state.
fn key(inputs: &Inputs, watched: &[PathBuf]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(&inputs.fixed);
    for path in inputs.paths.iter().chain(watched) {
        hasher.update(path.as_os_str().as_encoded_bytes());
        hasher.update(format!("\0{}\n", state(path)));
    }
    hex(&hasher.finalize())
}

/// A file's size, modification time and contents hash; a folder's
/// modification time; `missing` for neither.
fn state(path: &Path) -> String {
    let Ok(meta) = std::fs::metadata(path) else { return "missing".to_string() };
    let modified = meta.modified().ok().and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok());
    let modified = modified.map_or(0, |d| d.as_nanos());
    if meta.is_dir() {
        return format!("dir {modified}");
    }
    let contents = std::fs::read(path).map(|bytes| hex(&Sha256::digest(bytes))).unwrap_or_default();
    format!("file {} {modified} {contents}", meta.len())
}

/// Whether every path was last changed well before cargo was started, so
/// the answer is the one for the state the key records.
fn settled(inputs: &[PathBuf], watched: &[PathBuf], started: SystemTime) -> bool {
    let Some(limit) = started.checked_sub(SETTLE) else { return false };
    // A path that does not exist (a package without `src/bin`) is in the
    // key as `missing`: creating it changes the key.
    inputs.iter().chain(watched).all(|path| match std::fs::metadata(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => true,
        meta => meta.and_then(|m| m.modified()).is_ok_and(|modified| modified < limit),
    })
}

/// The cached answer, when the file is readable, of this format, and its
/// key matches; anything else is a miss.
fn read(file: &Path, inputs: &Inputs) -> Option<Metadata> {
    let bytes = std::fs::read(file).ok()?;
    let cached: CacheFile<Vec<PathBuf>, Metadata> = serde_json::from_slice(&bytes).ok()?;
    (cached.format == FORMAT && cached.key == key(inputs, &cached.watched)).then_some(cached.metadata)
}

/// Writes the cache atomically (a temporary file renamed over it), so a
/// reader sees the old file or the new one. A cache that cannot be written
/// is no error: the next command asks cargo again.
fn write(file: &Path, inputs: &Inputs, watched: &[PathBuf], metadata: &Metadata) {
    let key = key(inputs, watched);
    let cached = CacheFile { format: FORMAT, key, watched, metadata };
    let Ok(bytes) = serde_json::to_vec(&cached) else { return };
    let _ = write_atomically(file, &bytes);
}

/// `bytes` to `file` through a temporary file in the same folder.
fn write_atomically(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)?;
    let temporary = file.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, file).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

/// 16 hex digits naming a cache file after a path.
pub fn short_hash(path: &std::ffi::OsStr) -> String {
    hex(&Sha256::digest(path.as_encoded_bytes())[..8])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
