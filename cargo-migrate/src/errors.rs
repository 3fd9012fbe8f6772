//! What a failure is, for `--format json`: a stable code and the file and
//! line of each problem, read from the library's typed errors in an
//! `anyhow` chain (the context the commands add stays in the message).

use migrate_runtime::apply::SyncError;
use migrate_runtime::chain::{AdoptError, ImportError, ImportErrors, SnapshotError};
use migrate_runtime::database::{AdminError, ConnectError, UrlError, VersionError};
use migrate_runtime::runner::Failure;
use migrate_runtime::testing::WalkError;
use migrate_runtime::{ApplyError, ChainError, ChainErrors, Location, TargetError};
use serde::Serialize;

/// One problem of a failure. A failure has one, except a broken chain,
/// which lists every problem found.
#[derive(Debug, Serialize)]
pub struct Problem {
    pub code: String,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
}

impl Problem {
    /// A problem listed rather than raised (drift in `current`), with the
    /// CLI's hint in its message as the human output shows it.
    pub fn with_hint(error: &ApplyError) -> Problem {
        Problem::new(error.code(), crate::hint::with_hint(error), error.location())
    }

    /// A command line clap cannot read.
    pub fn usage(message: &str) -> Problem {
        Problem::new("usage", message.to_string(), None)
    }

    fn new(code: &str, message: String, at: Option<&Location>) -> Problem {
        Problem {
            code: code.to_string(),
            message,
            file: at.map(|at| at.path.to_string_lossy().replace('\\', "/")),
            line: at.and_then(|at| at.line),
        }
    }
}

/// A failure the CLI itself finds, with its stable code (`schema-differs`).
#[derive(Debug)]
pub struct Coded {
    code: &'static str,
    message: String,
}

impl Coded {
    pub fn new(code: &'static str, message: String) -> Coded {
        Coded { code, message }
    }
}

impl std::fmt::Display for Coded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Coded {}

/// Several failures of one command (`check` of several packages), each
/// printed as it was found: the error that ends the command counts them,
/// and its JSON document lists the problems of each.
#[derive(Debug)]
pub struct Several(pub Vec<anyhow::Error>);

impl std::fmt::Display for Several {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} packages have broken revision chains", self.0.len())
    }
}

impl std::error::Error for Several {}

/// The problems of the first library error in `error`'s chain; one
/// problem with code `error` when the chain holds none (a failure the CLI
/// itself found, such as a flag that does not apply).
pub fn problems(error: &anyhow::Error) -> Vec<Problem> {
    if let Some(Several(errors)) = error.downcast_ref() {
        return errors.iter().flat_map(problems).collect();
    }
    error.chain().find_map(typed).unwrap_or_else(|| vec![Problem::new("error", format!("{error:#}"), None)])
}

/// The failure as one problem: the first problem's code, file and line
/// with the whole message (what a fleet lists per database).
pub fn summary(error: &anyhow::Error) -> Problem {
    let first = problems(error).into_iter().next();
    let (code, at) = match &first {
        Some(problem) => (problem.code.clone(), (problem.file.clone(), problem.line)),
        None => ("error".to_string(), (None, None)),
    };
    Problem { code, message: format!("{error:#}"), file: at.0, line: at.1 }
}

fn typed(cause: &(dyn std::error::Error + 'static)) -> Option<Vec<Problem>> {
    if let Some(errors) = cause.downcast_ref::<ChainErrors>() {
        return Some(errors.iter().map(chain).collect());
    }
    let one = |code: &str, at: Option<&Location>| Some(vec![Problem::new(code, cause.to_string(), at)]);
    if let Some(error) = cause.downcast_ref::<ChainError>() {
        return Some(vec![chain(error)]);
    }
    if let Some(error) = cause.downcast_ref::<ApplyError>() {
        return one(error.code(), error.location());
    }
    if let Some(error) = cause.downcast_ref::<TargetError>() {
        return one(error.code(), None);
    }
    if let Some(error) = cause.downcast_ref::<SnapshotError>() {
        return one(error.code(), Some(error.location()));
    }
    if let Some(error) = cause.downcast_ref::<ConnectError>() {
        return one(error.code(), None);
    }
    if let Some(error) = cause.downcast_ref::<UrlError>() {
        return one(error.code(), None);
    }
    if let Some(error) = cause.downcast_ref::<VersionError>() {
        return one(error.code(), None);
    }
    if let Some(error) = cause.downcast_ref::<AdminError>() {
        return one(error.code(), None);
    }
    if let Some(error) = cause.downcast_ref::<WalkError>() {
        let defects = error.defects().into_iter();
        return Some(defects.map(|d| Problem::new(d.code(), d.to_string(), d.location())).collect());
    }
    if let Some(errors) = cause.downcast_ref::<ImportErrors>() {
        return Some(errors.0.iter().map(|e| Problem::new(e.code(), e.to_string(), e.location())).collect());
    }
    if let Some(error) = cause.downcast_ref::<ImportError>() {
        return one(error.code(), error.location());
    }
    if let Some(error) = cause.downcast_ref::<AdoptError>() {
        return one(error.code(), error.location());
    }
    if let Some(error) = cause.downcast_ref::<SyncError>() {
        let at = match error {
            SyncError::Apply(apply) => apply.location(),
            _ => None,
        };
        return one(error.code(), at);
    }
    // A run in the package's runner failed: its problem as the runner found it.
    if let Some(failure) = cause.downcast_ref::<Failure>() {
        let problem = Problem {
            code: failure.code.clone(),
            message: failure.message.clone(),
            file: failure.file.clone(),
            line: failure.line,
        };
        return Some(vec![problem]);
    }
    if let Some(error) = cause.downcast_ref::<Coded>() {
        return one(error.code, None);
    }
    None
}

fn chain(error: &ChainError) -> Problem {
    Problem::new(error.code(), error.to_string(), Some(error.location()))
}
