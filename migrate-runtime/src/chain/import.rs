//! Importing another tool's migrations folder (sqlx, diesel, refinery) as
//! revision files, and reading which of them that tool's history table
//! shows as applied (`--adopt`). Pure functions of `(path, text)` files and
//! history rows: `load::read_tree` reads the folder, the caller queries the
//! database with [`Source::history_sql`] and stamps what
//! [`adoption`] names.
//!
//! Ids come from the source versions (a number at least four digits wide,
//! `1` → `0001`; a timestamp as given), so importing the same folder again
//! writes the same files, and the revisions form one linear chain in the
//! source tool's order.

use crate::chain::parse::parse_revision;
use crate::chain::scaffold::NewRevision;
use crate::chain::SourceFile;
use crate::model::checksum::hex;
use crate::model::location::Location;
use crate::model::revision::{validate_id, Dialect, TransactionMode};
use sha2::{Digest, Sha384};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// The tool a folder comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Sqlx,
    Diesel,
    Refinery,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Sqlx => "sqlx",
            Source::Diesel => "diesel",
            Source::Refinery => "refinery",
        }
    }

    /// The tool's history table.
    pub fn history_table(self) -> &'static str {
        match self {
            Source::Sqlx => "_sqlx_migrations",
            Source::Diesel => "__diesel_schema_migrations",
            Source::Refinery => "refinery_schema_history",
        }
    }

    /// One query for the tool's history rows, as [`adoption`] reads them:
    /// version, checksum as lower-case hex or text (empty where the tool
    /// keeps none), and `1` for a successful run, `0` for a failed one.
    pub fn history_sql(self, dialect: Dialect) -> String {
        match (self, dialect) {
            (Source::Sqlx, Dialect::Sqlite) => "SELECT version, lower(hex(checksum)), \
                 CASE WHEN success THEN 1 ELSE 0 END FROM _sqlx_migrations ORDER BY version"
                .to_string(),
            (Source::Sqlx, Dialect::Postgres) => "SELECT version, encode(checksum, 'hex'), \
                 CASE WHEN success THEN 1 ELSE 0 END FROM _sqlx_migrations ORDER BY version"
                .to_string(),
            (Source::Diesel, _) => "SELECT version, '', 1 FROM __diesel_schema_migrations".to_string(),
            (Source::Refinery, _) => {
                "SELECT version, checksum, 1 FROM refinery_schema_history ORDER BY version".to_string()
            }
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One source migration as a revision file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The version as the source tool records it in its history table.
    pub version: String,
    pub id: String,
    /// The source file(s) it came from, as given.
    pub from: Vec<PathBuf>,
    /// `<id>_<slug>.sql`.
    pub file_name: String,
    pub text: String,
    /// What the source tool may have recorded for this file, computed as
    /// it computes it (sqlx: SHA-384 of the file, lower-case hex; refinery:
    /// its hash, in decimal, for either width of its version number); empty
    /// when the tool records none (diesel).
    pub checksums: Vec<String>,
}

/// Why a folder cannot be imported or adopted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case", prefix = "import-")]
pub enum ImportError {
    #[error("{at}: not a {tool} migration file (expected {expected})")]
    NotAMigration { at: Location, tool: Source, expected: &'static str },
    #[error("{at}: refinery's unversioned migrations (`U…__`) run again whenever they change, which revisions never do: make it a versioned `V…__` migration, or move it out of the folder and run it yourself")]
    Unversioned { at: Location },
    #[error("{at}: refinery migrations written in Rust cannot be imported: write its SQL as a `.sql` file")]
    RustMigration { at: Location },
    #[error("{at}: a down migration without its up migration `{up}`")]
    DownWithoutUp { at: Location, up: String },
    #[error("{at}: version `{version}` is also the version of {other}")]
    DuplicateVersion { at: Location, version: String, other: Location },
    #[error("{at}: version `{version}` cannot be a revision id: {reason}")]
    InvalidId { at: Location, version: String, reason: String },
    #[error(
        "{at}: the converted revision does not parse (does the SQL hold a `-- migrate:` line?): {reason}"
    )]
    Unparsable { at: Location, reason: String },
    #[error(
        "{at}: branch label `{label}` cannot be a branch label here: use ASCII letters, digits, `_` and `.`"
    )]
    InvalidLabel { at: Location, label: String },
    #[error("no {tool} migrations in {folder}")]
    Empty { folder: String, tool: Source },
}

impl ImportError {
    /// A stable name for the kind of problem (`import-duplicate-version`),
    /// as [`ChainError::code`](crate::ChainError::code).
    pub fn code(&self) -> &'static str {
        self.into()
    }

    /// The file it concerns; none for an empty folder.
    pub fn location(&self) -> Option<&Location> {
        match self {
            ImportError::NotAMigration { at, .. }
            | ImportError::Unversioned { at }
            | ImportError::RustMigration { at }
            | ImportError::DownWithoutUp { at, .. }
            | ImportError::DuplicateVersion { at, .. }
            | ImportError::InvalidId { at, .. }
            | ImportError::Unparsable { at, .. }
            | ImportError::InvalidLabel { at, .. } => Some(at),
            ImportError::Empty { .. } => None,
        }
    }
}

impl AdoptError {
    /// A stable name for the kind of problem (`adopt-gap`), as
    /// [`ChainError::code`](crate::ChainError::code).
    pub fn code(&self) -> &'static str {
        self.into()
    }

    /// The file it concerns, when it concerns one.
    pub fn location(&self) -> Option<&Location> {
        match self {
            AdoptError::ChecksumMismatch { at, .. } => Some(at),
            _ => None,
        }
    }
}

/// Every problem of a folder, in file order. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportErrors(pub Vec<ImportError>);

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::model::error::write_lines(f, &self.0)
    }
}

impl std::error::Error for ImportErrors {}

/// A source migration before it becomes a revision.
struct Migration {
    version: String,
    name: String,
    up: SourceFile,
    down: Option<SourceFile>,
    transaction: TransactionMode,
    checksums: Vec<String>,
}

/// Converts the files of a `source` folder (as `load::read_tree` reads
/// them: diesel's in their sub-folders) into revision files, in the
/// source's order, each revising the one before. `folder` names the
/// folder in errors.
pub fn import(source: Source, folder: &Path, files: &[SourceFile]) -> Result<Vec<Imported>, ImportErrors> {
    let migrations = match source {
        Source::Sqlx => sqlx(&top_level(folder, files)?),
        Source::Diesel => diesel(folder, files),
        Source::Refinery => refinery(files),
    }?;
    if migrations.is_empty() {
        let folder = folder.to_string_lossy().replace('\\', "/");
        return Err(ImportErrors(vec![ImportError::Empty { folder, tool: source }]));
    }
    let mut errors = Vec::new();
    let mut imported: Vec<Imported> = Vec::new();
    for migration in migrations {
        let parent = imported.last().map(|p| p.id.clone());
        match revision(migration, parent) {
            Ok(one) => imported.push(one),
            Err(error) => errors.push(error),
        }
    }
    if errors.is_empty() {
        Ok(imported)
    } else {
        Err(ImportErrors(errors))
    }
}

/// The revision file of one migration on `parent`.
fn revision(migration: Migration, parent: Option<String>) -> Result<Imported, ImportError> {
    let at = Location::file(&migration.up.path);
    let id = revision_id(&migration.version);
    validate_id(&id).map_err(|e| ImportError::InvalidId {
        at: at.clone(),
        version: migration.version.clone(),
        reason: e.to_string(),
    })?;
    let new = NewRevision {
        id: id.clone(),
        parents: parent.into_iter().collect(),
        message: migration.name.replace('_', " ").trim().to_string(),
        created: created(&migration.version),
        transaction: migration.transaction,
        upgrade: without_marker(&migration.up.text).to_string(),
        downgrade: migration.down.as_ref().map_or(String::new(), |d| without_marker(&d.text).to_string()),
        ..NewRevision::default()
    };
    let file_name = new.file_name();
    let text = if migration.down.is_some() { new.render() } else { without_downgrade(new.render()) };
    parse_revision(Path::new(&file_name), &text)
        .map_err(|e| ImportError::Unparsable { at, reason: e.to_string().replace('\n', "; ") })?;
    let from = std::iter::once(migration.up.path).chain(migration.down.map(|d| d.path)).collect();
    Ok(Imported { version: migration.version, id, from, file_name, text, checksums: migration.checksums })
}

/// A rendered file without its (empty) downgrade section, for a source
/// migration with no down migration: no section is what makes a revision
/// irreversible, where an empty one would revert by doing nothing.
pub(crate) fn without_downgrade(text: String) -> String {
    match text.rfind("\n-- migrate:downgrade\n") {
        Some(at) => format!("{}\n", text[..at].trim_end()),
        None => text,
    }
}

/// `1` → `0001`; longer versions, and those with letters, as given.
fn revision_id(version: &str) -> String {
    if version.bytes().all(|b| b.is_ascii_digit()) {
        format!("{version:0>4}")
    } else {
        version.to_string()
    }
}

/// The version read as a `YYYYMMDDHHMMSS` time when it is one, else the
/// epoch: a fixed value, so importing again writes the same file.
fn created(version: &str) -> String {
    let digits = version.get(..14).filter(|d| d.len() == 14 && d.bytes().all(|b| b.is_ascii_digit()));
    let time = digits.map(|d| {
        format!("{}-{}-{}T{}:{}:{}Z", &d[..4], &d[4..6], &d[6..8], &d[8..10], &d[10..12], &d[12..14])
    });
    match time {
        Some(time) if humantime::parse_rfc3339_weak(&time).is_ok() => time,
        _ => "1970-01-01T00:00:00Z".to_string(),
    }
}

/// sqlx's `-- no-transaction` first line becomes the `transaction: none`
/// header, so it is not kept in the SQL.
fn without_marker(sql: &str) -> &str {
    match sql.strip_prefix(SQLX_NO_TRANSACTION) {
        Some(rest) => rest.split_once('\n').map_or("", |(_, after)| after),
        None => sql,
    }
}

const SQLX_NO_TRANSACTION: &str = "-- no-transaction";

/// The file name of `file`, lossy.
fn name_of(file: &SourceFile) -> String {
    file.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// sqlx: `<version>_<description>.sql` (simple, no down), or
/// `<version>_<description>.up.sql` with `.down.sql`; a first line
/// `-- no-transaction` runs it outside a transaction. Its history keeps the
/// SHA-384 of the up file's bytes, which is computed here to compare.
fn sqlx(files: &[SourceFile]) -> Result<Vec<Migration>, ImportErrors> {
    let mut errors = Vec::new();
    let mut ups: BTreeMap<i64, Migration> = BTreeMap::new();
    let mut downs: Vec<(i64, &SourceFile)> = Vec::new();
    for file in files {
        let file_name = name_of(file);
        let Some((version, name, kind)) = sqlx_name(&file_name) else {
            errors.push(not_a(Source::Sqlx, file, "`<version>_<description>.sql` or `.up.sql`/`.down.sql`"));
            continue;
        };
        match (kind, ups.get(&version)) {
            (SqlxKind::Down, _) => downs.push((version, file)),
            (_, Some(other)) => {
                errors.push(duplicate(file, &version.to_string(), Location::file(&other.up.path)))
            }
            (_, None) => {
                ups.insert(version, sqlx_migration(version, name, file));
            }
        }
    }
    for (version, file) in downs {
        if let Err(error) = attach_down(&mut ups, version, file) {
            errors.push(error);
        }
    }
    finish(ups.into_values().collect(), errors)
}

/// Gives the up migration of `version` its down file; a down file's own
/// `-- no-transaction` also puts the revision outside a transaction.
fn attach_down(
    ups: &mut BTreeMap<i64, Migration>,
    version: i64,
    file: &SourceFile,
) -> Result<(), ImportError> {
    let Some(up) = ups.get_mut(&version) else {
        let up = name_of(file).replace(".down.sql", ".up.sql");
        return Err(ImportError::DownWithoutUp { at: Location::file(&file.path), up });
    };
    if file.text.starts_with(SQLX_NO_TRANSACTION) {
        up.transaction = TransactionMode::None;
    }
    up.down = Some(file.clone());
    Ok(())
}

fn sqlx_migration(version: i64, name: &str, file: &SourceFile) -> Migration {
    let no_transaction = file.text.starts_with(SQLX_NO_TRANSACTION);
    Migration {
        version: version.to_string(),
        name: name.to_string(),
        up: file.clone(),
        down: None,
        transaction: if no_transaction { TransactionMode::None } else { TransactionMode::default() },
        checksums: vec![hex(&Sha384::digest(file.text.as_bytes()))],
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqlxKind {
    Simple,
    Up,
    Down,
}

/// `(version, description, kind)` of a sqlx file name.
fn sqlx_name(name: &str) -> Option<(i64, &str, SqlxKind)> {
    let stem = name.strip_suffix(".sql")?;
    let (stem, kind) = match (stem.strip_suffix(".up"), stem.strip_suffix(".down")) {
        (Some(stem), _) => (stem, SqlxKind::Up),
        (_, Some(stem)) => (stem, SqlxKind::Down),
        _ => (stem, SqlxKind::Simple),
    };
    let (version, description) = stem.split_once('_')?;
    let version = version.parse().ok().filter(|v: &i64| *v >= 0)?;
    Some((version, description, kind))
}

/// diesel: a folder per migration, `<version>_<name>/up.sql` and
/// `down.sql` (optional since diesel 2), and `metadata.toml` with
/// `run_in_transaction = false` for one outside a transaction. The version
/// is the folder name up to its first `_` without dashes, as diesel
/// records it (`2024-01-31-120000` → `20240131120000`).
fn diesel(folder: &Path, files: &[SourceFile]) -> Result<Vec<Migration>, ImportErrors> {
    let mut errors = Vec::new();
    let mut folders: BTreeMap<String, Vec<&SourceFile>> = BTreeMap::new();
    for file in files {
        match migration_folder(folder, file).filter(|name| diesel_version(name).is_some()) {
            Some(name) => folders.entry(name).or_default().push(file),
            None => errors.push(not_a(Source::Diesel, file, "`<version>_<name>/up.sql`")),
        }
    }
    let mut migrations: Vec<Migration> = Vec::new();
    let mut seen: HashMap<String, Location> = HashMap::new();
    for (folder, files) in &folders {
        match diesel_migration(folder, files) {
            Ok(migration) => match seen.insert(migration.version.clone(), Location::file(&migration.up.path))
            {
                Some(other) => errors.push(duplicate(&migration.up, &migration.version, other)),
                None => migrations.push(migration),
            },
            Err(mut found) => errors.append(&mut found),
        }
    }
    finish(migrations, errors)
}

/// The sub-folder of `folder` that holds `file`, when it is right below it.
fn migration_folder(folder: &Path, file: &SourceFile) -> Option<String> {
    let inside: Vec<_> = file.path.strip_prefix(folder).ok()?.components().collect();
    match inside.as_slice() {
        [sub, _] => Some(sub.as_os_str().to_string_lossy().into_owned()),
        _ => None,
    }
}

/// sqlx reads only the folder's own files: one in a sub-folder is named.
fn top_level(folder: &Path, files: &[SourceFile]) -> Result<Vec<SourceFile>, ImportErrors> {
    let nested =
        |file: &&SourceFile| file.path.strip_prefix(folder).map_or(true, |p| p.components().count() != 1);
    let errors: Vec<ImportError> = files
        .iter()
        .filter(nested)
        .map(|file| not_a(Source::Sqlx, file, "a file right in the folder, not in a sub-folder"))
        .collect();
    finish(files.to_vec(), errors)
}

fn diesel_version(folder: &str) -> Option<String> {
    let (version, name) = folder.split_once('_')?;
    let version = version.replace('-', "");
    (!version.is_empty() && !name.is_empty()).then_some(version)
}

/// One diesel folder's migration; `files` are those of the folder.
fn diesel_migration(folder: &str, files: &[&SourceFile]) -> Result<Migration, Vec<ImportError>> {
    let mut up = None;
    let mut down = None;
    let mut transaction = TransactionMode::default();
    let mut errors = Vec::new();
    for file in files {
        match name_of(file).as_str() {
            "up.sql" => up = Some((*file).clone()),
            "down.sql" => down = Some((*file).clone()),
            "metadata.toml" if runs_outside_transaction(&file.text) => transaction = TransactionMode::None,
            "metadata.toml" => {}
            _ => errors.push(not_a(Source::Diesel, file, "`up.sql`, `down.sql` or `metadata.toml`")),
        }
    }
    let Some(up) = up else {
        let at = files.first().map_or_else(|| Location::file(folder), |f| Location::file(&f.path));
        errors.push(ImportError::DownWithoutUp { at, up: format!("{folder}/up.sql") });
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let version = diesel_version(folder).unwrap_or_default();
    let name = folder.split_once('_').map_or("", |(_, name)| name).to_string();
    Ok(Migration { version, name, up, down, transaction, checksums: Vec::new() })
}

/// Whether diesel runs a migration with this `metadata.toml` outside a
/// transaction: unless it says `run_in_transaction = true`, as diesel reads
/// it (its field is `#[serde(default)] bool`, so a file without the key
/// means `false`). Read without a TOML parser: `key = value` lines.
fn runs_outside_transaction(toml: &str) -> bool {
    !toml.lines().any(|line| {
        let line = line.split('#').next().unwrap_or("");
        matches!(line.split_once('='), Some((key, value))
            if key.trim() == "run_in_transaction" && value.trim() == "true")
    })
}

/// refinery: `V<version>__<name>.sql`, versioned, with no down migrations.
fn refinery(files: &[SourceFile]) -> Result<Vec<Migration>, ImportErrors> {
    let mut errors = Vec::new();
    let mut migrations: BTreeMap<i64, Migration> = BTreeMap::new();
    let mut seen: HashMap<i64, Location> = HashMap::new();
    for file in files {
        let name = name_of(file);
        let at = Location::file(&file.path);
        let Some((version, description)) = refinery_name(&name) else {
            errors.push(refinery_refusal(file, &name, at));
            continue;
        };
        if let Some(other) = seen.insert(version, at) {
            errors.push(duplicate(file, &version.to_string(), other));
            continue;
        }
        let migration = Migration {
            version: version.to_string(),
            name: description.to_string(),
            up: file.clone(),
            down: None,
            transaction: TransactionMode::default(),
            checksums: refinery_checksums(description, version, &file.text),
        };
        migrations.insert(version, migration);
    }
    finish(migrations.into_values().collect(), errors)
}

/// Why a file refinery's versioned pattern does not match is refused.
fn refinery_refusal(file: &SourceFile, name: &str, at: Location) -> ImportError {
    if name.starts_with('U') && name.contains("__") {
        ImportError::Unversioned { at }
    } else if name.starts_with('V') && name.ends_with(".rs") {
        ImportError::RustMigration { at }
    } else {
        not_a(Source::Refinery, file, "`V<version>__<name>.sql`")
    }
}

/// refinery's checksum: SipHash-1-3 with zero keys (the `siphasher` crate
/// it uses) over the name, the version and the SQL, each fed through
/// Rust's `Hash` trait as refinery feeds them, in decimal. The version is
/// an `i32`, or an `i64` with its `int8-versions` feature: both are
/// offered. The name is what refinery's pattern takes, `\w+` after `__`.
fn refinery_checksums(description: &str, version: i64, sql: &str) -> Vec<String> {
    use std::hash::{Hash, Hasher};
    let name: String = description.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    let hash = |feed_version: &dyn Fn(&mut siphasher::sip::SipHasher13)| {
        let mut hasher = siphasher::sip::SipHasher13::new();
        name.hash(&mut hasher);
        feed_version(&mut hasher);
        sql.hash(&mut hasher);
        hasher.finish().to_string()
    };
    let narrow = i32::try_from(version).ok().map(|v| hash(&|h| v.hash(h)));
    narrow.into_iter().chain([hash(&|h| version.hash(h))]).collect()
}

fn refinery_name(name: &str) -> Option<(i64, &str)> {
    let stem = name.strip_suffix(".sql")?.strip_prefix('V')?;
    let (version, description) = stem.split_once("__")?;
    let version = version.parse().ok().filter(|v: &i64| *v >= 0)?;
    Some((version, description))
}

fn not_a(source: Source, file: &SourceFile, expected: &'static str) -> ImportError {
    ImportError::NotAMigration { at: Location::file(&file.path), tool: source, expected }
}

fn duplicate(file: &SourceFile, version: &str, other: Location) -> ImportError {
    ImportError::DuplicateVersion { at: Location::file(&file.path), version: version.to_string(), other }
}

fn finish<T>(migrations: Vec<T>, errors: Vec<ImportError>) -> Result<Vec<T>, ImportErrors> {
    if errors.is_empty() {
        Ok(migrations)
    } else {
        Err(ImportErrors(errors))
    }
}

/// A row of the source tool's history table, as [`Source::history_sql`]
/// selects it: version, checksum, success.
pub type HistoryRow = Vec<Option<String>>;

/// What adopting the source tool's history records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adoption {
    /// The last revision the source tool applied: it and every revision
    /// before it are stamped. `None` when it applied none.
    pub stamp: Option<String>,
    /// How many of the applied revisions' files were compared with the
    /// checksums the tool recorded; the others were not verified.
    pub verified: usize,
    pub applied: usize,
}

/// Why the source tool's history cannot be adopted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case", prefix = "adopt-")]
pub enum AdoptError {
    #[error("{table} lists version {version}, which the folder does not have: import the folder the database was migrated with")]
    UnknownVersion { table: &'static str, version: String },
    #[error("{table} records version {version} as failed: settle it with {tool} first")]
    Failed { table: &'static str, version: String, tool: Source },
    #[error(
        "{at}: the file differs from the one {tool} applied (checksum {recorded} recorded, {found} now)"
    )]
    ChecksumMismatch { at: Location, tool: Source, recorded: String, found: String },
    #[error("{table} lists version {applied} as applied but not {pending} before it: revisions form one chain, so apply {pending} with {tool} first (or remove it from the folder)")]
    Gap { table: &'static str, applied: String, pending: String, tool: Source },
}

/// The revisions of `imported` that the source tool's `rows` show as
/// applied, checked: every row names a version of the folder, none failed,
/// a recorded checksum matches the file, and the applied ones are the first
/// of the chain (stamping a revision records its ancestors).
pub fn adoption(source: Source, imported: &[Imported], rows: &[HistoryRow]) -> Result<Adoption, AdoptError> {
    let table = source.history_table();
    let cell = |row: &HistoryRow, i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    let by_version: HashMap<&str, usize> =
        imported.iter().enumerate().map(|(i, one)| (one.version.as_str(), i)).collect();
    let mut applied = vec![false; imported.len()];
    let mut verified = 0;
    for row in rows {
        let version = cell(row, 0);
        let Some(&index) = by_version.get(version.as_str()) else {
            return Err(AdoptError::UnknownVersion { table, version });
        };
        if cell(row, 2) != "1" {
            return Err(AdoptError::Failed { table, version, tool: source });
        }
        verified += usize::from(verify(source, &imported[index], &cell(row, 1))?);
        applied[index] = true;
    }
    let count = applied.iter().take_while(|a| **a).count();
    if let Some(later) = applied[count..].iter().position(|a| *a) {
        let applied = imported[count + later].version.clone();
        return Err(AdoptError::Gap {
            table,
            applied,
            pending: imported[count].version.clone(),
            tool: source,
        });
    }
    let stamp = count.checked_sub(1).map(|last| imported[last].id.clone());
    Ok(Adoption { stamp, verified, applied: count })
}

/// Whether `one` was checked against `recorded` (an error when it differs).
fn verify(source: Source, one: &Imported, recorded: &str) -> Result<bool, AdoptError> {
    let Some(found) = one.checksums.first() else { return Ok(false) };
    if one.checksums.iter().any(|c| c.eq_ignore_ascii_case(recorded.trim())) {
        return Ok(true);
    }
    // A SHA-384 is shortened as git shortens hashes; refinery's fit.
    let short = |text: &str| if text.len() > 20 { text.chars().take(16).collect() } else { text.to_string() };
    Err(AdoptError::ChecksumMismatch {
        at: Location::file(&one.from[0]),
        tool: source,
        recorded: short(recorded.trim()),
        found: short(found),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> SourceFile {
        SourceFile { path: PathBuf::from(path), text: text.to_string() }
    }

    #[test]
    fn sqlx_pairs_and_simple_files_make_one_chain() {
        let files = [
            file("m/2_add.up.sql", "-- no-transaction\nCREATE INDEX i ON t (id);\n"),
            file("m/2_add.down.sql", "DROP INDEX i;\n"),
            file("m/1_create_t.sql", "CREATE TABLE t (id INTEGER);\n"),
        ];
        let imported = import(Source::Sqlx, Path::new("m"), &files).expect("imports");
        let ids: Vec<&str> = imported.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["0001", "0002"]);
        assert_eq!(imported[0].file_name, "0001_create_t.sql");
        assert!(!imported[0].text.contains("-- migrate:downgrade"), "{}", imported[0].text);
        assert!(imported[1].text.contains("-- revises: 0001\n"));
        assert!(imported[1].text.contains("-- transaction: none\n"));
        assert!(!imported[1].text.contains("no-transaction"));
        assert!(imported[1].text.contains("-- migrate:downgrade\nDROP INDEX i;\n"));
    }

    #[test]
    fn diesel_versions_lose_their_dashes_and_metadata_is_read() {
        let files = [
            file("d/2024-01-31-120000_create/up.sql", "CREATE TABLE t (id INTEGER);"),
            file("d/2024-01-31-120000_create/down.sql", "DROP TABLE t;"),
            file("d/2024-02-01-000000_index/up.sql", "CREATE INDEX CONCURRENTLY i ON t (id);"),
            file("d/2024-02-01-000000_index/metadata.toml", "run_in_transaction = false # why\n"),
        ];
        let imported = import(Source::Diesel, Path::new("d"), &files).expect("imports");
        assert_eq!(imported[0].version, "20240131120000");
        assert!(imported[0].text.contains("-- created: 2024-01-31T12:00:00Z\n"));
        assert!(imported[1].text.contains("-- transaction: none\n"));
    }

    #[test]
    fn refinery_refuses_unversioned_and_rust_migrations() {
        let files = [file("r/V1__a.sql", "SELECT 1;"), file("r/U2__b.sql", ""), file("r/V3__c.rs", "")];
        let errors = import(Source::Refinery, Path::new("r"), &files).expect_err("refused").to_string();
        assert!(errors.starts_with("r/U2__b.sql: refinery's unversioned"), "{errors}");
        assert!(errors.contains("\nr/V3__c.rs: refinery migrations written in Rust"), "{errors}");
    }

    #[test]
    fn adoption_refuses_unknown_versions_gaps_and_changed_files() {
        let files = [file("m/1_a.sql", "A"), file("m/2_b.sql", "B"), file("m/3_c.sql", "C")];
        let imported = import(Source::Sqlx, Path::new("m"), &files).expect("imports");
        let row =
            |v: &str, sum: &str| vec![Some(v.to_string()), Some(sum.to_string()), Some("1".to_string())];
        let sum = |i: usize| imported[i].checksums[0].clone();
        let ok = adoption(Source::Sqlx, &imported, &[row("1", &sum(0)), row("2", &sum(1))]).expect("adopts");
        assert_eq!(ok, Adoption { stamp: Some("0002".into()), verified: 2, applied: 2 });
        let unknown = adoption(Source::Sqlx, &imported, &[row("9", "")]).expect_err("unknown");
        assert!(matches!(unknown, AdoptError::UnknownVersion { .. }));
        let gap = adoption(Source::Sqlx, &imported, &[row("2", &sum(1))]).expect_err("gap");
        assert!(matches!(gap, AdoptError::Gap { .. }));
        let failed = vec![Some("1".to_string()), Some(sum(0)), Some("0".to_string())];
        let failed = adoption(Source::Sqlx, &imported, &[failed]).expect_err("failed");
        assert_eq!(
            failed.to_string(),
            "_sqlx_migrations records version 1 as failed: settle it with sqlx first"
        );
        let changed = adoption(Source::Sqlx, &imported, &[row("1", "00")]).expect_err("changed");
        assert!(changed.to_string().starts_with("m/1_a.sql: the file differs"), "{changed}");
    }
}
