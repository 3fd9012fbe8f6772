//! Offline SQL: the exact script an upgrade or downgrade would run,
//! transactions and history rows included, for review or for a DBA to run.

use crate::apply::format;
use crate::apply::history::{self, AppliedRevision};
use crate::apply::plan::State;
use crate::apply::{timeout_ms, Options, ScriptRust};
use crate::chain::graph::{Graph, Rev};
use crate::chain::target::{between, Target};
use crate::model::error::ApplyError;
use crate::model::revision::{Dialect, Revision, TransactionMode};
use crate::model::Direction;
use crate::sql::pragmas::turns_foreign_keys_off;
use crate::sql::split::split_statements;

/// The script that takes a database from state `from` up to state `to`.
pub fn upgrade_script(
    graph: &Graph,
    dialect: Dialect,
    options: &Options,
    from: &[Rev],
    to: &[Rev],
) -> Result<String, ApplyError> {
    let mut script = format!(
        "-- cargo-migrate: upgrade package {} ({dialect})\n\n{};\n{};\n",
        options.package,
        history::create_table_sql(dialect, &options.history_table),
        format::record_if_missing_sql(dialect, &options.history_table)
    );
    let plan = between(graph, from, to);
    refuse_rust(graph, &plan, options)?;
    for rev in plan {
        script += "\n";
        script += &upgrade_step(graph.revision(rev), dialect, options)?;
    }
    Ok(script)
}

/// The script that takes a database from state `from` down to `to`
/// (written `to_text`): the live planner's plan for a database at `from`,
/// so it reverts the revisions of `from` that descend from `to`, nothing on
/// other branches, and refuses what a live downgrade refuses.
pub fn downgrade_script(
    graph: &Graph,
    dialect: Dialect,
    options: &Options,
    from: &[Rev],
    to: &Target,
    to_text: &str,
) -> Result<String, ApplyError> {
    let mut script = format!("-- cargo-migrate: downgrade package {} ({dialect})\n", options.package);
    let applied = graph.ancestors(from);
    let rows = applied
        .iter()
        .map(|r| AppliedRevision::for_revision(graph.revision(r), dialect))
        .collect::<Result<_, _>>()?;
    let state = State::new(graph, rows);
    to.check_direction(to_text, Direction::Downgrade, graph)?;
    let plan = state.downgrade_plan(to_text, to, dialect)?;
    refuse_rust(graph, &plan, options)?;
    for rev in plan {
        script += "\n";
        script += &downgrade_step(graph.revision(rev), dialect, options)?;
    }
    Ok(script)
}

/// [`ApplyError::RustInScript`] naming every Rust revision of `plan`: a
/// script of the rest alone would record and skip them. With
/// [`ScriptRust::Comment`] they are written as comments instead.
fn refuse_rust(graph: &Graph, plan: &[Rev], options: &Options) -> Result<(), ApplyError> {
    if options.script_rust == ScriptRust::Comment {
        return Ok(());
    }
    let files: Vec<String> = plan
        .iter()
        .map(|&rev| graph.revision(rev))
        .filter(|revision| revision.is_rust())
        .map(|revision| crate::model::location::Location::file(&revision.location.path).to_string())
        .collect();
    match files.is_empty() {
        true => Ok(()),
        false => Err(ApplyError::RustInScript { files }),
    }
}

/// One revision's upgrade with its history row, in its transaction unless
/// it is `transaction: none`. The live PostgreSQL engine sends exactly this
/// as one batch, so `--sql` shows what a live run does.
pub fn upgrade_step(revision: &Revision, dialect: Dialect, options: &Options) -> Result<String, ApplyError> {
    upgrade_text(revision, dialect, options, Opening::Script)
}

/// [`upgrade_step`] as the live PostgreSQL engine sends it, after it opened
/// the transaction and took the migration lock there itself (by polling,
/// so that it never queues behind another migrator's `CREATE INDEX
/// CONCURRENTLY`, which would wait for its transaction in turn).
// Only the PostgreSQL engine sends these.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn upgrade_step_under_lock(revision: &Revision, options: &Options) -> Result<String, ApplyError> {
    upgrade_text(revision, Dialect::Postgres, options, Opening::LockHeld)
}

fn upgrade_text(
    revision: &Revision,
    dialect: Dialect,
    options: &Options,
    opening: Opening,
) -> Result<String, ApplyError> {
    let sql = section_or_note(revision, dialect, Direction::Upgrade)?;
    let row = AppliedRevision::for_revision(revision, dialect)?;
    let insert = history::insert_sql(dialect, &options.history_table, &options.package, &row);
    step(revision, dialect, options, Direction::Upgrade, &sql, &insert, opening)
}

/// One revision's downgrade with the deletion of its history row.
pub fn downgrade_step(
    revision: &Revision,
    dialect: Dialect,
    options: &Options,
) -> Result<String, ApplyError> {
    downgrade_text(revision, dialect, options, Opening::Script)
}

/// [`downgrade_step`] after the engine opened the transaction with the
/// lock; see [`upgrade_step_under_lock`].
// Only the PostgreSQL engine sends these.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn downgrade_step_under_lock(
    revision: &Revision,
    options: &Options,
) -> Result<String, ApplyError> {
    downgrade_text(revision, Dialect::Postgres, options, Opening::LockHeld)
}

fn downgrade_text(
    revision: &Revision,
    dialect: Dialect,
    options: &Options,
    opening: Opening,
) -> Result<String, ApplyError> {
    let sql = section_or_note(revision, dialect, Direction::Downgrade)?;
    let delete = history::delete_sql(&options.history_table, &options.package, &revision.id);
    step(revision, dialect, options, Direction::Downgrade, &sql, &delete, opening)
}

/// How a PostgreSQL revision's transaction begins in the text: opened with
/// the migration lock waited for (a script), or already open with the lock
/// held (the engine took it).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opening {
    Script,
    LockHeld,
}

/// The `lock_timeout` value a PostgreSQL revision runs under (`5000ms`);
/// `None` for SQLite (its one lock is taken before the revision) and for a
/// timeout of zero (wait forever, PostgreSQL's default).
pub(crate) fn lock_timeout_sql(dialect: Dialect, options: &Options) -> Option<String> {
    let ms = timeout_ms(options.statement_lock_timeout);
    (dialect == Dialect::Postgres && ms > 0).then(|| format!("{ms}ms"))
}

/// The SQL a step runs, or for a Rust revision (which only a script
/// with [`ScriptRust::Comment`] reaches) the comment written in its place.
fn section_or_note(
    revision: &Revision,
    dialect: Dialect,
    direction: Direction,
) -> Result<std::borrow::Cow<'_, str>, ApplyError> {
    if revision.is_rust() {
        let (what, row) = match direction {
            Direction::Upgrade => ("upgrade", "records it as applied"),
            Direction::Downgrade => ("downgrade", "forgets it"),
        };
        return Ok(format!(
            "-- Rust revision: its {what} is code, which runs only in the package's runner and is NOT in\n\
             -- this script; the history statement below {row} all the same (--rust-as-comment).\n"
        )
        .into());
    }
    let section = match direction {
        Direction::Upgrade => revision.upgrade_section(dialect)?,
        Direction::Downgrade => revision.downgrade_section(dialect)?,
    };
    Ok(section.sql()?)
}

fn step(
    revision: &Revision,
    dialect: Dialect,
    options: &Options,
    direction: Direction,
    sql: &str,
    history_sql: &str,
    opening: Opening,
) -> Result<String, ApplyError> {
    let parents =
        if revision.parents.is_empty() { "<base>".to_string() } else { revision.parents.join(", ") };
    let word = match direction {
        Direction::Upgrade => "upgrade",
        Direction::Downgrade => "downgrade",
    };
    let mut out = format!(
        "-- Running {word} {parents} -> {}: {}\n-- {}\n",
        revision.id,
        one_line(&revision.message),
        revision.location
    );
    let transactional = revision.transaction == TransactionMode::Single;
    if !transactional {
        out += &unguarded_note(dialect);
    }
    // As the SQLite engine does (see `sql::pragmas`).
    let keys_off = dialect == Dialect::Sqlite && turns_foreign_keys_off(revision, sql);
    if keys_off {
        out += "PRAGMA foreign_keys = OFF;\n";
    }
    // Outside a transaction the session's timeout holds until the RESET.
    let session_timeout = lock_timeout_sql(dialect, options).filter(|_| !transactional);
    let locked_here = transactional && dialect == Dialect::Postgres;
    if transactional && opening == Opening::Script {
        out += "BEGIN;\n";
    }
    if locked_here && opening == Opening::Script {
        out += &history::transaction_lock_sql(&options.lock_name(), options.lock_timeout);
    }
    if locked_here {
        out += &format!("SET LOCAL lock_timeout = '{}ms';\n", timeout_ms(options.statement_lock_timeout));
        out += &history::guard_sql(&options.history_table, &options.package, revision, direction);
    }
    if let Some(timeout) = &session_timeout {
        out += &format!("SET lock_timeout = '{timeout}';\n");
    }
    if !sql.trim().is_empty() {
        out += sql;
        out += if ends_with_terminator(sql) { "\n" } else { "\n;\n" };
    }
    out += history_sql;
    out += ";\n";
    if keys_off {
        out += FOREIGN_KEY_CHECK;
    }
    if transactional {
        out += "COMMIT;\n";
    } else if session_timeout.is_some() {
        out += "RESET lock_timeout;\n";
    }
    if keys_off {
        out += "PRAGMA foreign_keys = ON;\n";
    }
    Ok(out)
}

/// What a `transaction: none` revision's text lacks next to a live run:
/// the live engine runs its statements one by one under a lock, after a
/// check of the history, moving a progress mark; plain SQL cannot wait for
/// that lock around statements that each commit, nor stop on a failed
/// check in every client, so the script says so rather than pretend.
fn unguarded_note(dialect: Dialect) -> String {
    let lock = match dialect {
        Dialect::Postgres => "the migration lock (a session advisory lock)",
        Dialect::Sqlite => "the lock file `<database>-migrate-lock`",
    };
    format!(
        "-- transaction: none: these statements run one by one, outside a transaction. A live run holds\n\
         -- {lock} around them, checks the history first and keeps a progress\n\
         -- mark in the history row; this script does none of that: run it where no migrator runs meanwhile.\n"
    )
}

/// `PRAGMA foreign_key_check` made to fail the transaction when it finds
/// anything (a bare pragma only prints rows, and `COMMIT` would still run):
/// a check constraint on the count of what it finds.
const FOREIGN_KEY_CHECK: &str =
    "CREATE TEMP TABLE _migrate_foreign_key_check (violations INTEGER CHECK (violations = 0));
INSERT INTO _migrate_foreign_key_check SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE _migrate_foreign_key_check;
";

/// Whether the section's last statement has its own `;`, as the splitter
/// sees it: a `;` that ends a trailing comment terminates nothing, and
/// without one of ours the history statement would be glued onto it.
fn ends_with_terminator(sql: &str) -> bool {
    split_statements(sql).iter().rev().find(|s| !s.is_empty()).is_none_or(|s| s.is_terminated())
}

/// A message on one line, so it cannot end the `--` comment early.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
