//! Errors found in revision files and chains, and errors resolving targets.
//!
//! Every variant names the file (and line, where there is one) it concerns,
//! so a user can act on it. Checks report every finding at once: functions
//! that validate return [`ChainErrors`], a non-empty list.

use crate::model::location::Location;
use std::fmt;

/// One problem in a revision file or in the chain the files form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum ChainError {
    #[error("{at}: cannot read file: {reason}")]
    Unreadable { at: Location, reason: String },
    /// A FIFO, socket, device or folder: never opened, so it cannot hang
    /// or flood the command.
    #[error("{at}: not a revision file but {kind}: only regular files (or links to them) are read")]
    NotAFile { at: Location, kind: String },
    #[error("{at}: {size} bytes, larger than the {limit} bytes a revision file may have")]
    TooLarge { at: Location, size: u64, limit: u64 },
    /// A revision file edited while a command that loaded it was running:
    /// its SQL is read when it runs and no longer has the checksum it had.
    #[error("{at}: the file changed while this command ran (its SQL is no longer what was loaded and checked): run the command again")]
    ChangedWhileRunning { at: Location },
    #[error("{at}: not a revision file: expected a name like `3f2a9c1b7d4e_add_users.sql` or `3f2a9c1b7d4e_split_names.rs` (keep other files out of the migrations folder)")]
    NotARevisionFile { at: Location },
    #[error("{at}: malformed header line `{text}`: expected `-- key: value` before `-- migrate:upgrade`")]
    MalformedHeader { at: Location, text: String },
    #[error("{at}: unknown header key `{key}` (known keys: revision, revises, message, created, depends-on, branch, transaction)")]
    UnknownHeaderKey { at: Location, key: String },
    #[error("{at}: header key `{key}` repeated (first given on line {first_line})")]
    DuplicateHeaderKey { at: Location, key: String, first_line: usize },
    #[error("{at}: missing `-- revision: <id>` header")]
    MissingRevisionHeader { at: Location },
    #[error("{at}: invalid revision id `{id}`: {reason}")]
    InvalidId { at: Location, id: String, reason: IdError },
    #[error("{at}: header says revision `{header_id}` but the file name starts with `{file_prefix}`: rename the file to `{header_id}_<slug>.{extension}` or correct the header")]
    IdMismatch { at: Location, header_id: String, file_prefix: String, extension: &'static str },
    #[error("{at}: invalid value `{value}` for `{key}`: expected {expected}")]
    InvalidHeaderValue { at: Location, key: String, value: String, expected: String },
    #[error("{at}: SQL before the first section: put it under `-- migrate:upgrade`")]
    SqlBeforeSection { at: Location },
    #[error(
        "{at}: unknown section `-- migrate:{name}`: expected `-- migrate:upgrade` or `-- migrate:downgrade`"
    )]
    UnknownSection { at: Location, name: String },
    #[error("{at}: unknown dialect `{dialect}`: expected `sqlite` or `postgres`")]
    UnknownDialect { at: Location, dialect: String },
    #[error("{at}: section `{section}` repeated (first on line {first_line})")]
    DuplicateSection { at: Location, section: String, first_line: usize },
    #[error("{at}: missing `-- migrate:upgrade` section")]
    MissingUpgrade { at: Location },
    #[error("{at}: a Rust revision needs an `upgrade` function: `pub async fn upgrade(db: &mut Handle<'_>) -> Result<(), DataError>`")]
    MissingUpgradeFunction { at: Location },
    #[error("{at}: duplicate revision id `{id}`, also used by {first}")]
    DuplicateId { at: Location, id: String, first: Location },
    #[error("{at}: revision `{id}` revises `{parent}`, which is not a revision of this package")]
    UnknownParent { at: Location, id: String, parent: String },
    #[error("{at}: revision `{id}` depends on `{dependency}`, which is not a known revision")]
    UnknownDependency { at: Location, id: String, dependency: String },
    #[error(
        "{at}: revision `{id}` depends on package `{package}`, which has no migrations in this workspace"
    )]
    UnknownPackage { at: Location, id: String, package: String },
    #[error("{at}: revision `{id}` names itself as its own parent or dependency")]
    SelfReference { at: Location, id: String },
    #[error("{at}: revisions form a cycle: {} (each must be applied before the next)", cycle.join(" -> "))]
    Cycle { at: Location, cycle: Vec<String> },
    #[error("{at}: head `{id}` is one of several heads and no branch label leads to it alone: it looks like an unplanned fork")]
    UnplannedHead { at: Location, id: String },
    /// A snapshot file that cannot be used (see `chain::snapshot`).
    #[error(transparent)]
    Snapshot(#[from] crate::chain::snapshot::SnapshotError),
}

impl ApplyError {
    /// A stable name for the kind of failure (`drift`, `lock-timeout`), as
    /// [`ChainError::code`]. An error that wraps another gives the inner
    /// one's code (a target's, a file's, a snapshot's); a run rolled back as
    /// one transaction gives its own.
    pub fn code(&self) -> &'static str {
        match self {
            ApplyError::Target(error) => error.code(),
            ApplyError::File(error) => error.code(),
            ApplyError::Snapshot(error) => error.code(),
            other => other.into(),
        }
    }

    /// The file (and line) the failure concerns, when it concerns one: for
    /// a run rolled back as one transaction, its cause's.
    pub fn location(&self) -> Option<&Location> {
        use ApplyError::*;
        match self {
            File(error) => Some(error.location()),
            Snapshot(error) => Some(error.location()),
            RunRolledBack { cause } => cause.location(),
            TransactionNone { revisions } => revisions.first().map(|(_, at)| at),
            Drift { at, .. }
            | Irreversible { at, .. }
            | NoUpgrade { at, .. }
            | MissingDependency { at, .. }
            | NeededByOtherPackage { at, .. }
            | Statement { at, .. }
            | ForeignKeyCheck { at, .. }
            | InterruptedPartway { at, .. }
            | StatementLockTimeout { at, .. }
            | SessionEndedPartway { at, .. }
            | SnapshotStatement { at, .. }
            | RustNotCompiledIn { at, .. }
            | RustFailed { at, .. } => Some(at),
            Target(_)
            | DatabaseAhead { .. }
            | Synced { .. }
            | NotEmpty { .. }
            | Dirty { .. }
            | StampBelow { .. }
            | NothingAbove { .. }
            | NotBelow { .. }
            | Interrupted { .. }
            | NotDue { .. }
            | LockTimeout { .. }
            | ReadOnlyDatabase { .. }
            | SqliteBusy { .. }
            | SessionEnded { .. }
            | NewerHistoryFormat { .. }
            | RustInScript { .. }
            | Database(_) => None,
        }
    }
}

impl From<ChainError> for ApplyError {
    fn from(error: ChainError) -> ApplyError {
        ApplyError::File(Box::new(error))
    }
}

impl ChainError {
    /// A stable name for the kind of problem (`unknown-parent`), the
    /// variant's name in kebab case: what `--format json` reports as its
    /// code. A snapshot's problem gives the snapshot error's code.
    pub fn code(&self) -> &'static str {
        match self {
            ChainError::Snapshot(error) => error.code(),
            other => other.into(),
        }
    }

    /// Where the problem is.
    pub fn location(&self) -> &Location {
        use ChainError::*;
        match self {
            Unreadable { at, .. }
            | ChangedWhileRunning { at }
            | NotAFile { at, .. }
            | TooLarge { at, .. }
            | NotARevisionFile { at }
            | MalformedHeader { at, .. }
            | UnknownHeaderKey { at, .. }
            | DuplicateHeaderKey { at, .. }
            | MissingRevisionHeader { at }
            | InvalidId { at, .. }
            | IdMismatch { at, .. }
            | InvalidHeaderValue { at, .. }
            | SqlBeforeSection { at }
            | UnknownSection { at, .. }
            | UnknownDialect { at, .. }
            | DuplicateSection { at, .. }
            | MissingUpgrade { at }
            | MissingUpgradeFunction { at }
            | DuplicateId { at, .. }
            | UnknownParent { at, .. }
            | UnknownDependency { at, .. }
            | UnknownPackage { at, .. }
            | SelfReference { at, .. }
            | Cycle { at, .. }
            | UnplannedHead { at, .. } => at,
            Snapshot(error) => error.location(),
        }
    }
}

/// Every problem found in one pass, in file order. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainErrors(pub Vec<ChainError>);

impl ChainErrors {
    pub fn iter(&self) -> impl Iterator<Item = &ChainError> {
        self.0.iter()
    }
}

impl From<ChainError> for ChainErrors {
    fn from(error: ChainError) -> ChainErrors {
        ChainErrors(vec![error])
    }
}

impl fmt::Display for ChainErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_lines(f, &self.0)
    }
}

/// Writes `items` one per line: how every list of findings displays, so a
/// build log or an editor can jump to each file and line.
pub(crate) fn write_lines<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            writeln!(f)?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl std::error::Error for ChainErrors {}

/// Why a string cannot be a revision id (see
/// [`validate_id`](crate::model::revision::validate_id)). The caller names
/// the id: messages read after `invalid revision id `…`: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum IdError {
    #[error("an id cannot be empty")]
    Empty,
    #[error("an id has at most 64 characters")]
    TooLong { length: usize },
    #[error("`{character}` is reserved for target expressions such as `label@head`, `abc+2`, `a:b`")]
    TargetSyntax { character: char },
    #[error("`{character}` is not allowed: use ASCII letters and digits")]
    NotAlphanumeric { character: char },
    #[error("`{name}` is a reserved target name")]
    ReservedName { name: String },
}

/// A branch label that cannot be used in `label@head` (see
/// [`validate_label`](crate::model::revision::validate_label)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a branch label uses ASCII letters, digits, `_` and `.`")]
pub struct LabelError;

/// A target (`head`, `ae10+2`, `feature@head`, …) that does not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case", prefix = "target-")]
pub enum TargetError {
    #[error("invalid target `{target}`: {reason}")]
    Syntax { target: String, reason: String },
    #[error("no revision matches `{target}`")]
    Unknown { target: String },
    #[error("revision prefix `{prefix}` is too short: give at least 4 characters")]
    PrefixTooShort { prefix: String },
    #[error("`{prefix}` is ambiguous: it matches {}", candidates.join(", "))]
    Ambiguous { prefix: String, candidates: Vec<String> },
    #[error("`{target}` needs one head but the chain has several ({})", heads.join(", "))]
    SeveralHeads { target: String, heads: Vec<String> },
    #[error("`{target}` is ambiguous: the database is at several revisions ({}): step from one of them, e.g. `{}{}`", current.join(", "), current[0], step)]
    SeveralCurrent { target: String, current: Vec<String>, step: String },
    #[error("no branch is labelled `{label}`")]
    UnknownBranch { label: String },
    #[error("`{target}` walks past {end}: only {available} step(s) available")]
    WalksTooFar { target: String, end: &'static str, available: usize },
    #[error("`{target}` is ambiguous at `{at}`, which has several {direction}: {}", options.join(", "))]
    AmbiguousStep { target: String, at: String, direction: &'static str, options: Vec<String> },
    #[error("the chain has no revisions")]
    Empty,
    #[error("no revision above {} lies on the line of {}: name the revision to go down to", tips.join(", "), line.join(", "))]
    OffLine { tips: Vec<String>, line: Vec<String> },
    #[error("`{target}` steps the other way from the current revision: use `{other}`")]
    WrongWay { target: String, other: &'static str },
    #[error("range `{range}` is empty: `{lower}` is not an ancestor of `{upper}`")]
    EmptyRange { range: String, lower: String, upper: String },
}

impl TargetError {
    /// A stable name for the kind of problem (`target-several-heads`), as
    /// [`ChainError::code`].
    pub fn code(&self) -> &'static str {
        self.into()
    }
}

/// Why applying, reverting or stamping revisions stopped. Every variant
/// leaves the database as it was before the revision it names.
#[derive(Debug, thiserror::Error, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum ApplyError {
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A revision's SQL could not be read when it was about to run.
    #[error(transparent)]
    File(Box<ChainError>),
    #[error("the database is ahead of this code: it has {} that these revision files do not ({})", plural(revisions.len(), "revision"), revisions.join(", "))]
    DatabaseAhead { revisions: Vec<String> },
    #[error("the database was synced to {schema} at {synced_at} instead of upgraded through revisions, so its history does not say what it holds")]
    Synced { synced_at: String, schema: String },
    #[error(
        "the database holds {} but no history table `{table}`, so cargo migrate does not know what it has applied",
        listed(objects)
    )]
    NotEmpty { table: String, objects: Vec<String> },
    #[error(
        "{at}: revision `{revision}` changed after it was applied (checksum {} recorded, {} now)",
        short(recorded),
        short(current)
    )]
    Drift { at: Location, revision: String, recorded: String, current: String },
    #[error("revision `{revision}` was partially applied ({progress}) and needs attention")]
    Dirty { revision: String, progress: String },
    #[error("{at}: revision `{revision}` has no downgrade section, so it cannot be reverted")]
    Irreversible { at: Location, revision: String },
    /// A chain read from its files at run time holds Rust revisions as
    /// source only: their functions exist only in a build that embeds them.
    #[error("{at}: revision `{revision}` is a Rust revision: it runs only from a chain compiled in with `embed_migrations!()` (the package's runner), not from files read at run time")]
    RustNotCompiledIn { at: Location, revision: String },
    /// A Rust revision's function returned an error or panicked: its
    /// transaction was rolled back (unless it is `transaction: none`).
    #[error("{at}: Rust revision `{revision}` failed in its {}: {error}", direction_name(*direction))]
    RustFailed {
        at: Location,
        revision: String,
        direction: crate::model::Direction,
        error: Box<crate::data::DataError>,
    },
    /// Offline SQL for a plan with Rust revisions, whose code is no SQL.
    #[error("--sql cannot print Rust revisions, whose code runs only in the program: {}; run them live, or print the script up to the revision before them", files.join(", "))]
    RustInScript { files: Vec<String> },
    #[error("{at}: revision `{revision}` has no upgrade SQL for {dialect}")]
    NoUpgrade { at: Location, revision: String, dialect: crate::Dialect },
    #[error("{at}: revision `{revision}` depends on `{dependency}`, which this database has not applied")]
    MissingDependency { at: Location, revision: String, dependency: String, package: String },
    #[error("{at}: cannot revert revision `{revision}`: {} of another package depends on it; downgrade that package first", dependents.join(", "))]
    NeededByOtherPackage { at: Location, revision: String, dependents: Vec<String> },
    #[error("stamping `{target}` would forget {} recorded as applied ({}) without reverting {}", plural(revisions.len(), "revision"), revisions.join(", "), if revisions.len() == 1 { "it" } else { "them" })]
    StampBelow { target: String, revisions: Vec<String> },
    #[error("nothing applied descends from `{target}` on its line, yet the database is past it (at {}): name the revision to go down to", current.join(", "))]
    NothingAbove { target: String, current: Vec<String> },
    #[error("target `{target}` is not below the current revision: use `upgrade` to go there")]
    NotBelow { target: String },
    #[error("{at}: revision `{revision}` failed: {message}\n  in statement: {statement}")]
    Statement { at: Location, revision: String, statement: String, message: String },
    #[error("{at}: revision `{revision}` turns foreign keys off but leaves rows that break them, so it was rolled back: {}", violations.join("; "))]
    ForeignKeyCheck { at: Location, revision: String, violations: Vec<String> },
    /// The run was asked to stop ([`crate::apply::Interrupt`]) and did:
    /// `revision`, when given, was running and rolled back; the revisions
    /// before it stay applied.
    #[error("interrupted: {}; the revisions before it stay applied", match revision {
        Some(revision) => format!("revision `{revision}` was rolled back"),
        None => "stopped before the next revision".to_string(),
    })]
    Interrupted { revision: Option<String> },
    /// Asked to stop inside a `transaction: none` revision: the statements
    /// before `at` stay applied and the revision is marked failed.
    #[error("{at}: interrupted inside revision `{revision}`, which runs outside a transaction: the statements before this one stay applied and the revision is marked failed")]
    InterruptedPartway { at: Location, revision: String },
    /// A single revision was asked to run where the history does not have
    /// it due (already applied, or a parent missing; for a downgrade, not
    /// applied).
    #[error("revision `{revision}` is not due on this database: the history already has it (or, for a downgrade, does not), or lacks a parent")]
    NotDue { revision: String },
    #[error("the database stayed locked by another migrator for {seconds} s: {holder}")]
    LockTimeout { seconds: u64, holder: String },
    /// A statement waited longer than the statement lock timeout for a
    /// table lock another session holds; the revision was rolled back.
    #[error("{at}: revision `{revision}` rolled back: `{statement}` waited more than {waited_ms} ms for a lock: {blockers}")]
    StatementLockTimeout {
        at: Location,
        revision: String,
        statement: String,
        waited_ms: u64,
        blockers: String,
    },
    /// A SQLite database this process cannot write: the file, or the
    /// folder its journal goes in. Nothing was written.
    #[error("the SQLite database `{path}` cannot be written: {reason}")]
    ReadOnlyDatabase { path: String, reason: String },
    /// Another connection held a SQLite database's lock longer than the
    /// busy timeout (the run's lock timeout).
    #[error("the SQLite database `{path}` stayed locked by another connection for longer than the busy timeout, {seconds} s")]
    SqliteBusy { path: String, seconds: u64 },
    /// The server ended the session (a terminated backend, a restart, a
    /// crash) while a transactional revision ran: the server rolled its
    /// transaction back. `reason` is the server's message and SQLSTATE when
    /// it sent one.
    #[error("the database ended the session while revision `{revision}` ran: {reason}; its transaction was rolled back, so {} (the revisions before it stay as they are)", match direction {
        crate::model::Direction::Upgrade => "nothing of it is applied",
        crate::model::Direction::Downgrade => "it is still applied",
    })]
    SessionEnded { revision: String, direction: crate::model::Direction, reason: String },
    /// The same inside a `transaction: none` revision: the statements
    /// before `at` stay applied, the one at `at` may or may not have
    /// finished, and the history row keeps `progress`.
    #[error("{at}: the database ended the session inside revision `{revision}`, which runs outside a transaction: {reason}; the statements before this one stay applied, this one may or may not have finished, and the revision stays marked `{progress}`")]
    SessionEndedPartway { at: Location, revision: String, reason: String, progress: String },
    /// The history table was written by a release that knows a newer
    /// format than this one; it was left as it is.
    #[error("the history table `{table}` is in format {found} (written by {written_by}), newer than format {supported}, the newest {ours} knows, so it was left as it is")]
    NewerHistoryFormat { table: String, found: u32, written_by: String, supported: u32, ours: &'static str },
    /// A run in one transaction (`TransactionScope::All`) was asked for,
    /// but these revisions of its plan are `transaction: none`: their
    /// statements must each commit on their own. Nothing ran.
    #[error("the run cannot be one transaction: {} {} `transaction: none`, whose statements must each commit on their own; nothing was run", revisions.iter().map(|(id, at)| format!("{at}: revision `{id}`")).collect::<Vec<_>>().join(", "), if revisions.len() == 1 { "is" } else { "are" })]
    TransactionNone { revisions: Vec<(String, Location)> },
    /// A run in one transaction failed; `cause` says where (file, line,
    /// revision). The whole run was rolled back.
    #[error("the run was one transaction, so all of it was rolled back and the database is as it was before the run")]
    RunRolledBack {
        #[source]
        cause: Box<ApplyError>,
    },
    #[error(transparent)]
    Snapshot(#[from] crate::chain::snapshot::SnapshotError),
    /// A statement of a snapshot failed; the snapshot's transaction was
    /// rolled back, so the database is still empty.
    #[error("{at}: the snapshot of revision `{revision}` failed, so nothing of it is applied: {message}\n  in statement: {statement}")]
    SnapshotStatement { at: Location, revision: String, statement: String, message: String },
    #[error("database error: {0}")]
    Database(DatabaseError),
}

/// An error a database driver reported: its words as this crate prints
/// them (for PostgreSQL the server's message, detail and hint, see
/// `postgres::describe`), and the driver's own error for callers that
/// inspect it (`error.driver().downcast_ref::<E>()`, `E` the driver crate's
/// error type).
///
/// The message already says what the driver's error says, so the driver's
/// error is not also given as [`std::error::Error::source`]: a reporter
/// that prints every source (anyhow's `{:#}`) would print it twice. For the
/// same reason the variants that hold a `DatabaseError` and quote it
/// ([`ApplyError::Database`]) do not give it as their source either.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DatabaseError {
    message: String,
    driver: Box<dyn std::error::Error + Send + Sync>,
}

impl DatabaseError {
    /// `message` as it should be printed, and the error it describes (any
    /// error, or just a `String`).
    pub fn new(
        message: impl Into<String>,
        driver: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        DatabaseError { message: message.into(), driver: driver.into() }
    }

    /// The driver's error this one describes.
    pub fn driver(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.driver
    }
}

fn short(checksum: &str) -> &str {
    checksum.get(..12).unwrap_or(checksum)
}

/// `3 tables (a, b, c)`, naming at most five.
fn listed(objects: &[String]) -> String {
    let mut names = objects.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if objects.len() > 5 {
        names += ", …";
    }
    format!("{} ({names})", plural(objects.len(), "table"))
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Packages whose revisions depend on each other's both ways, so no
/// package-by-package order applies them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("packages {} depend on each other's revisions both ways: upgrade them one at a time, each to the revision the other needs", .packages.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", "))]
pub struct PackageCycle {
    pub packages: Vec<String>,
}

fn direction_name(direction: crate::model::Direction) -> &'static str {
    match direction {
        crate::model::Direction::Upgrade => "upgrade",
        crate::model::Direction::Downgrade => "downgrade",
    }
}
