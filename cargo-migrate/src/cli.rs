//! The command line, as clap derive types. `cargo migrate x` runs this
//! binary as `cargo-migrate migrate x`, so the top level is `cargo`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo", styles = clap::builder::styling::Styles::styled())]
pub enum Cargo {
    /// Schema revisions for the packages of a cargo workspace
    #[command(name = "migrate", version, about, long_about = None)]
    Migrate(MigrateArgs),
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand accepts.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Package whose revisions to use (default: the one you stand in, or the only one with migrations)
    #[arg(short = 'p', long, global = true, value_name = "SPEC", help_heading = "Package Selection")]
    pub package: Option<String>,
    /// Path to Cargo.toml
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        conflicts_with = "migrations_dir",
        help_heading = "Package Selection"
    )]
    pub manifest_path: Option<PathBuf>,
    /// Standalone mode, without cargo: the migrations folder to use (settings from DIR/migrate.toml)
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "MIGRATE_MIGRATIONS_DIR",
        help_heading = "Package Selection"
    )]
    pub migrations_dir: Option<PathBuf>,
    /// History table name (default: the package's `history-table` setting, else `migrate_history`)
    #[arg(long, global = true, value_name = "NAME", help_heading = "Database")]
    pub history_table: Option<String>,
    /// Database URL: `sqlite:PATH`, `sqlite::memory:`, `postgres://…` or a libpq `key=value` string (default: $DATABASE_URL, also read from .env; else for SQLite the workspace's file under target/migrate/)
    ///
    /// `upgrade`, `downgrade` and `current` take it several times, for a fleet of databases.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "DATABASE_URL",
        hide_env_values = true,
        action = clap::ArgAction::Append,
        help_heading = "Database"
    )]
    pub database_url: Vec<String>,
    /// Output format: `json` prints one document on stdout, succeeding or failing (fields in docs/json.md)
    #[arg(long, global = true, value_enum, default_value_t = Format::Human, help_heading = "Output")]
    pub format: Format,
    /// When to colour the output (`auto`: on a terminal, unless NO_COLOR is set)
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN", help_heading = "Output")]
    pub color: ColorWhen,
    /// More output: every detail of each revision (`history`, `heads`, `branches`, `current`), a line as each revision starts (`upgrade`, `downgrade`, `reset`)
    #[arg(short, long, global = true, conflicts_with = "quiet", help_heading = "Output")]
    pub verbose: bool,
    /// Less output: `upgrade`, `downgrade`, `stamp` and `reset` print nothing but warnings and errors
    #[arg(short, long, global = true, help_heading = "Output")]
    pub quiet: bool,
}

impl GlobalArgs {
    /// The one database URL a command uses (see [`crate::commands::run`],
    /// which refuses several where a command takes one).
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.first().map(String::as_str)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the migrations folder, config and desired-schema file
    Init(InitArgs),
    /// Scaffold a new revision on the current head
    #[command(after_help = NEW_HELP)]
    New(NewArgs),
    /// Give a revision file a new slug (its id never changes)
    Rename(RenameArgs),
    /// List revisions, newest first
    History(HistoryArgs),
    /// Show the head revisions
    Heads,
    /// Show the bases (when there are several) and each branch point with the branches leaving it
    Branches,
    /// Show one revision in full
    Show(ShowArgs),
    /// Create a merge revision over several heads
    Merge(MergeArgs),
    /// Re-parent a revision onto another head
    Rebase(RebaseArgs),
    /// Validate every chain of the workspace
    #[command(after_help = CHECK_HELP)]
    Check(CheckArgs),
    /// Show how the live database's schema differs from the head's; never writes
    Diff,
    /// Apply revisions up to a target (default: head)
    #[command(after_help = UPGRADE_HELP)]
    Upgrade(UpgradeArgs),
    /// Revert revisions down to a target (`-1`, `base`, a revision)
    #[command(after_help = DOWNGRADE_HELP)]
    Downgrade(DowngradeArgs),
    /// Record revisions as applied without running them (`base` clears)
    #[command(after_help = STAMP_HELP)]
    Stamp(StampArgs),
    /// Show the database's current revisions; never writes
    #[command(after_help = CURRENT_HELP)]
    Current(CurrentArgs),
    /// Explain and settle a partially applied `transaction: none` revision
    Repair(RepairArgs),
    /// Every revision up, down and up again on a scratch database, the schema compared at each step
    #[command(after_help = WALK_HELP)]
    Walk(WalkArgs),
    /// Write the schema at a revision (default: head) as a snapshot a database with no history starts from
    Snapshot(SnapshotArgs),
    /// Development: drop what the package owns (the SQLite file; its PostgreSQL schemas) and upgrade to head
    Reset(ResetArgs),
    /// Development: bring the database straight to `schema.sql`, no revision (`upgrade` refuses it until `reset` or `stamp`)
    Sync(SyncArgs),
    /// Create or drop the package's database
    Database(DatabaseArgs),
    /// Convert a sqlx, diesel, refinery or Alembic migrations folder into revision files (`--adopt`: record what it applied)
    Import(ImportArgs),
    /// Print a shell completion script for `cargo-migrate` (bash, zsh, fish, elvish, powershell)
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
}

const UPGRADE_HELP: &str = "Examples:
  cargo migrate upgrade                           # to head, on the package's database
  cargo migrate upgrade +1 --database-url postgres://app@db/app
  cargo migrate upgrade --sql > upgrade.sql       # the script, for a DBA
  cargo migrate upgrade --database-urls tenants.txt -j 8
  cargo migrate upgrade --workspace               # every package, in dependency order";

const DOWNGRADE_HELP: &str = "Examples:
  cargo migrate downgrade -1                      # revert the newest revision
  cargo migrate downgrade base                    # revert everything
  cargo migrate downgrade head:base --sql         # the script, for a DBA";

const CURRENT_HELP: &str = "Examples:
  cargo migrate current -v                        # every applied revision with its time
  cargo migrate current --format json             # fields in docs/json.md";

const CHECK_HELP: &str = "Examples:
  cargo migrate check                             # chains, lint, schema.sql
  cargo migrate check --database-url \"$DATABASE_URL\"   # also drift and the live schema
  cargo migrate check --all --format json         # lint every revision, as diagnostics";

const NEW_HELP: &str = "Examples:
  cargo migrate new -m \"add login fields\"
  cargo migrate new -m \"sync the model\" --autogenerate   # the SQL from schema.sql
  cargo migrate new -m \"index emails\" --no-transaction   # for CREATE INDEX CONCURRENTLY";

const STAMP_HELP: &str = "Examples:
  cargo migrate stamp head                        # the schema is already the head's
  cargo migrate stamp --update-checksum 3f2a      # accept an edit of an applied revision
  cargo migrate stamp base --allow-down           # forget every row";

const WALK_HELP: &str = "Examples:
  cargo migrate walk                              # every revision up, down and up again
  cargo migrate walk --dialect postgres --database-url postgres://localhost/postgres";

const COMPLETIONS_HELP: &str = "Examples:
  cargo migrate completions bash > ~/.local/share/bash-completion/completions/cargo-migrate
  cargo migrate completions zsh > ~/.zfunc/_cargo-migrate      # a folder on $fpath
  cargo migrate completions fish > ~/.config/fish/completions/cargo-migrate.fish

The script completes the `cargo-migrate` command, which takes the same
subcommands (`cargo-migrate upgrade`): a script for `cargo` itself would
replace cargo's own completion.";

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Also on a server elsewhere, or a database whose history records other packages
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub apply: ApplyOptions,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Print the statements and warnings only; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Run statements that drop tables or columns or narrow types
    #[arg(long)]
    pub accept_data_loss: bool,
    /// Also on a server elsewhere
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The tool the folder was written for
    #[arg(long, value_enum)]
    pub from: ImportFrom,
    /// The folder of its migrations (default: `migrations`)
    pub path: Option<PathBuf>,
    /// Also stamp the revisions that tool's history table in the database shows as applied
    #[arg(long)]
    pub adopt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFrom {
    Sqlx,
    Diesel,
    Refinery,
    /// An Alembic project (PATH: the folder of its `alembic.ini`, default `.`), through Alembic's offline mode
    Alembic,
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    #[command(subcommand)]
    pub command: DatabaseCommand,
}

#[derive(Debug, Subcommand)]
pub enum DatabaseCommand {
    /// Create the database the URL names (a SQLite file, a PostgreSQL database)
    Create,
    /// Drop it (a SQLite file and its journal files; a PostgreSQL database, ending its sessions)
    Drop {
        /// Also on a server elsewhere
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// The revision: `head`, an id, `-1`…
    #[arg(default_value = "head", allow_hyphen_values = true)]
    pub target: String,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Lint every revision, including those up to the package's `shipped` revision
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct WalkArgs {
    /// Upgrade straight through instead of down-and-up at each revision
    #[arg(long)]
    pub no_snake: bool,
    /// Never downgrade
    #[arg(long)]
    pub no_downgrade: bool,
    /// Walk only up to this revision
    #[arg(long, value_name = "REV")]
    pub stop_at: Option<String>,
    /// Stop the final downgrade at this revision
    #[arg(long, value_name = "REV")]
    pub min_downgrade: Option<String>,
    /// Database kind to walk on (default: the package's dialect)
    #[arg(long, value_enum)]
    pub dialect: Option<DialectArg>,
    /// Stop at the first defect (by default the walk goes on from a rebuilt database and lists every defect)
    #[arg(long)]
    pub fail_fast: bool,
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// Target: `head`, `heads`, a revision, `+N`, `label@head`; with `--sql` also `FROM:TO`
    #[arg(default_value = "head")]
    pub target: String,
    /// Every package of the workspace that has migrations, in the order their revisions depend on each other
    #[arg(long, conflicts_with = "package")]
    pub workspace: bool,
    /// Upgrade a database that has tables but no history table yet, applying every revision from base on top of them
    #[arg(long)]
    pub baseline: bool,
    #[command(flatten)]
    pub script: ScriptArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub apply: ApplyOptions,
}

/// `--sql` and its dialect, for `upgrade` and `downgrade`.
#[derive(Debug, Args)]
pub struct ScriptArgs {
    /// Print the SQL script instead of running it
    #[arg(long)]
    pub sql: bool,
    /// Dialect of the `--sql` script (default: the package's)
    #[arg(long, value_enum, requires = "sql")]
    pub dialect: Option<DialectArg>,
    /// With `--sql`: write a comment in place of each Rust revision's code (its history row is still written) instead of refusing
    #[arg(long, requires = "sql")]
    pub rust_as_comment: bool,
}

#[derive(Debug, Args)]
pub struct DowngradeArgs {
    /// Target: `-1`, `base`, a revision; with `--sql` a range `FROM:TO`
    #[arg(allow_hyphen_values = true)]
    pub target: String,
    /// Every package of the workspace that has migrations, dependents first (target `base` only)
    #[arg(long, conflicts_with = "package")]
    pub workspace: bool,
    #[command(flatten)]
    pub script: ScriptArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub apply: ApplyOptions,
}

/// Options of a run, shared by `upgrade`, `downgrade` and `reset`. The
/// fields clap skips are those only some of them take, copied in from
/// their own arguments, so each command's help lists only its flags.
#[derive(Debug, Args)]
pub struct ApplyOptions {
    #[arg(skip)]
    pub sql: bool,
    #[arg(skip)]
    pub dialect: Option<DialectArg>,
    #[arg(skip)]
    pub rust_as_comment: bool,
    /// Go on even if applied revisions were edited since
    #[arg(long)]
    pub allow_drift: bool,
    /// Seconds to wait for another migrator before giving up (0 waits forever)
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub lock_timeout: u64,
    /// PostgreSQL: seconds a revision's statement may wait for a table lock before the revision is rolled back (0 waits forever)
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub statement_lock_timeout: f64,
    /// Try a revision again this many times (pausing 1 s, doubling) when its statement timed out on a lock
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub retries: u32,
    #[arg(skip)]
    pub baseline: bool,
    /// How many transactions the run takes: `each` revision its own (a failure keeps the revisions before it), or `all` of it in one (every revision or none; refused when one is `transaction: none`)
    #[arg(long, value_enum, default_value_t = TransactionArg::Each, value_name = "SCOPE")]
    pub transaction: TransactionArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransactionArg {
    Each,
    All,
}

impl From<TransactionArg> for migrate_runtime::apply::TransactionScope {
    fn from(arg: TransactionArg) -> migrate_runtime::apply::TransactionScope {
        match arg {
            TransactionArg::Each => migrate_runtime::apply::TransactionScope::PerRevision,
            TransactionArg::All => migrate_runtime::apply::TransactionScope::All,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DialectArg {
    Sqlite,
    Postgres,
}

impl From<DialectArg> for migrate_runtime::Dialect {
    fn from(arg: DialectArg) -> migrate_runtime::Dialect {
        match arg {
            DialectArg::Sqlite => migrate_runtime::Dialect::Sqlite,
            DialectArg::Postgres => migrate_runtime::Dialect::Postgres,
        }
    }
}

#[derive(Debug, Args)]
pub struct StampArgs {
    /// Target: `head`, a revision, `base`
    #[arg(allow_hyphen_values = true)]
    pub target: String,
    /// Also forget revisions above the target (reverted by hand); without it
    /// a stamp that would remove rows is refused
    #[arg(long)]
    pub allow_down: bool,
    /// Accept the edit of an applied revision: TARGET's history row takes the file's checksum (its SQL does not run again)
    #[arg(long, conflicts_with = "allow_down")]
    pub update_checksum: bool,
}

#[derive(Debug, Args)]
pub struct RepairArgs {
    /// How the partially applied revision was settled by hand
    #[arg(long, value_enum)]
    pub mark: Option<RepairMarkArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RepairMarkArg {
    /// Its remaining statements were run by hand
    Applied,
    /// What it had run was undone by hand
    Reverted,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Dialect of the package's SQL
    #[arg(long, default_value = "sqlite", value_parser = ["sqlite", "postgres"])]
    pub dialect: String,
    /// Also scaffold the runner that runs Rust revisions for `cargo migrate` (`src/bin/migrate.rs`) and its dependencies
    #[arg(long)]
    pub rust: bool,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// What the revision does; also its file-name slug
    #[arg(short, long, value_parser = said)]
    pub message: String,
    /// Parent revision, when there are several heads; `base` starts a new base (no parent)
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,
    /// Use this id instead of a generated one
    #[arg(long, value_name = "ID")]
    pub rev_id: Option<String>,
    /// A revision (`REV` or `PACKAGE:REV`) that must be applied first
    #[arg(long, value_name = "REV")]
    pub depends_on: Vec<String>,
    /// Label the revision as the start of a named branch
    #[arg(long, value_name = "LABEL")]
    pub branch: Vec<String>,
    /// Mark the revision `transaction: none` (for CREATE INDEX CONCURRENTLY and the like)
    #[arg(long)]
    pub no_transaction: bool,
    /// Write the SQL that turns the head schema into the package's `schema.sql`
    #[arg(long)]
    pub autogenerate: bool,
    /// With --autogenerate: a table (`OLD:NEW`) or column (`TABLE.OLD:TABLE.NEW`) renamed, never guessed
    #[arg(long, value_name = "OLD:NEW", requires = "autogenerate")]
    pub rename: Vec<String>,
    /// A Rust revision (`.rs`): `upgrade` and `downgrade` functions that run data changes in its transaction
    #[arg(long, conflicts_with = "autogenerate")]
    pub rust: bool,
}

#[derive(Debug, Args)]
pub struct RenameArgs {
    /// Revision id or unique prefix
    pub rev: String,
    /// New message: the file name's slug and the `-- message:` line
    #[arg(value_parser = said)]
    pub summary: String,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Range `A:B` (either end may be left out; a relative end such as `-1` steps from the database's current revision)
    #[arg(short = 'r', long, value_name = "A:B", allow_hyphen_values = true)]
    pub rev_range: Option<String>,
}

#[derive(Debug, Args)]
pub struct CurrentArgs {
    /// Every package of the workspace that has migrations
    #[arg(long, conflicts_with = "package")]
    pub workspace: bool,
    #[command(flatten)]
    pub fleet: FleetArgs,
}

/// Many databases in one run (a database per tenant).
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Run on every database listed in FILE, one URL per line (`#` starts a comment)
    #[arg(long, value_name = "FILE", help_heading = "Fleets")]
    pub database_urls: Option<PathBuf>,
    /// PostgreSQL, a schema per tenant: run in each of these schemas (comma-separated) of every database, each with its own history table and `search_path`
    #[arg(long, value_name = "LIST", value_delimiter = ',', help_heading = "Fleets")]
    pub schemas: Vec<String>,
    /// How many databases of a fleet run at once
    #[arg(short, long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..), help_heading = "Fleets")]
    pub jobs: u16,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Revision (id, prefix or target such as `head`)
    pub rev: String,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Message of the merge revision
    #[arg(short, long, value_parser = said)]
    pub message: String,
    /// Revisions to merge (ids, prefixes, or `heads`)
    #[arg(required = true, value_name = "REV")]
    pub revs: Vec<String>,
    /// Use this id instead of a generated one
    #[arg(long, value_name = "ID")]
    pub rev_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct RebaseArgs {
    /// Revision to re-parent
    pub rev: String,
    /// New parent (default: the one other head)
    #[arg(long, value_name = "REV")]
    pub onto: Option<String>,
}

/// A message or summary that says something: it names the revision's file
/// and its history row, where an empty one helps nobody.
fn said(text: &str) -> Result<String, String> {
    // One line: it becomes a header line, where a line break would start
    // another.
    let said = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if said.is_empty() {
        return Err(
            "it is empty: say in a few words what the revision does (it names the file and the history row)"
                .to_string(),
        );
    }
    Ok(said)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(line: &str) -> Result<MigrateArgs, clap::Error> {
        let argv = std::iter::once("cargo").chain(line.split_whitespace());
        Cargo::try_parse_from(argv).map(|Cargo::Migrate(args)| args)
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Cargo::command().debug_assert();
    }

    #[test]
    fn argv_cases() {
        let ok = [
            "migrate check",
            "migrate -p app check",
            "migrate check -p app --manifest-path x/Cargo.toml",
            "migrate new -m hello --head ab12 --depends-on other:cd34 --branch feature",
            "migrate new -m x --autogenerate --rename old:new --rename t.a:t.b",
            "migrate history -r ab12: --verbose --format json",
            "migrate history -r -1:",
            "migrate history -r -2:head --format json",
            "migrate history -r :-1",
            "migrate history --rev-range -1: --verbose",
            "migrate history -r feature@-1:",
            "migrate new -m audit --head base --branch audit",
            "migrate new -m split --rust",
            "migrate heads --format json",
            "migrate merge -m join heads",
            "migrate rebase ab12 --onto cd34",
            "migrate rename ab12 new-summary",
            "migrate show head",
            "migrate init --dialect postgres",
            "migrate upgrade",
            "migrate upgrade +2 --allow-drift --lock-timeout 5",
            "migrate upgrade --baseline",
            "migrate upgrade --transaction all",
            "migrate snapshot",
            "migrate snapshot ab12",
            "migrate reset",
            "migrate reset --force --transaction all",
            "migrate import --from alembic . --adopt",
            "migrate sync",
            "migrate sync --dry-run --accept-data-loss --force",
            "migrate database create",
            "migrate database drop --force",
            "migrate import --from sqlx",
            "migrate import --from diesel db/migrations --adopt --database-url sqlite:app.db",
            "migrate downgrade base --transaction each",
            "migrate upgrade base:head --sql --dialect postgres",
            "migrate downgrade -1",
            "migrate downgrade head:base --sql",
            "migrate stamp base",
            "migrate current --verbose --format json",
            "migrate repair --mark applied",
            "migrate walk --no-snake --stop-at head --dialect postgres",
            "migrate walk --fail-fast",
            "migrate diff --database-url sqlite:app.db --format json",
        ];
        for line in ok {
            assert!(parse(line).is_ok(), "{line}: {:?}", parse(line).err());
        }
        let usage_errors = [
            "migrate",
            "migrate new",
            "migrate new -m x --rename a:b",
            "migrate new -m x --rust --autogenerate",
            "migrate merge -m x",
            "migrate heads --format xml",
            "check",
            "migrate diff head",
            "migrate history -r",
            "migrate upgrade --transaction none",
            "migrate import",
            "migrate import --from flyway",
        ];
        for line in usage_errors {
            assert!(parse(line).is_err(), "{line} should be a usage error");
        }
    }

    #[test]
    fn a_history_range_may_start_with_a_hyphen() {
        for (line, range) in [
            ("migrate history -r -1:", "-1:"),
            ("migrate history -r -2:head --verbose", "-2:head"),
            ("migrate history -r :-1", ":-1"),
        ] {
            let Ok(MigrateArgs { command: Command::History(args), .. }) = parse(line) else {
                panic!("{line}: not a history command")
            };
            assert_eq!(args.rev_range.as_deref(), Some(range), "{line}");
        }
    }
}
