//! What `cargo migrate` and a package's runner say to each other: one
//! [`Request`] as a JSON line on the runner's stdin, then [`Message`]s as
//! JSON lines on its stdout. Driver-free, so the CLI and the runner share
//! one definition; ARCHITECTURE.md shows a session.
//!
//! The versions of `cargo-migrate` and of the package's `migrate-runtime`
//! may differ: each side names the [`PROTOCOL`] it speaks (the runner in
//! its first message, the CLI in its request) and refuses another with a
//! message saying which to update.

use crate::apply::{Action, Options, Snapshots, TransactionScope};
use crate::model::error::ApplyError;
use std::time::Duration;

/// The version of this protocol. Raised on any change a peer of the
/// previous version would misread.
pub const PROTOCOL: u32 = 1;

/// The runner's one argument when `cargo migrate` starts it: the request
/// then comes on stdin (never the URL on the command line, where `ps`
/// shows it).
pub const PROTOCOL_FLAG: &str = "--cargo-migrate-protocol";

/// What the CLI asks the runner to do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Request {
    pub protocol: u32,
    pub command: Command,
    pub target: String,
    /// The database, password included.
    pub url: String,
    pub options: WireOptions,
}

/// The runs a runner does for the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Command {
    Upgrade,
    Downgrade,
}

/// The [`Options`] that cross the pipe: the rest (progress, interrupt)
/// are the runner's own and wired to its messages and its stdin.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WireOptions {
    pub package: String,
    pub history_table: String,
    pub allow_drift: bool,
    pub baseline: bool,
    pub lock_timeout_ms: u64,
    pub statement_lock_timeout_ms: u64,
    pub lock_retries: u32,
    pub transaction: TransactionScope,
    pub snapshots: Snapshots,
    pub schema: Option<String>,
}

impl WireOptions {
    pub fn new(options: &Options) -> WireOptions {
        WireOptions {
            package: options.package.clone(),
            history_table: options.history_table.clone(),
            allow_drift: options.allow_drift,
            baseline: options.baseline,
            lock_timeout_ms: millis(options.lock_timeout),
            statement_lock_timeout_ms: millis(options.statement_lock_timeout),
            lock_retries: options.lock_retries,
            transaction: options.transaction,
            snapshots: options.snapshots,
            schema: options.schema.clone(),
        }
    }

    /// The options of the run, with the runner's own progress and
    /// interrupt left at their defaults.
    pub fn to_options(&self) -> Options {
        Options {
            history_table: self.history_table.clone(),
            allow_drift: self.allow_drift,
            baseline: self.baseline,
            lock_timeout: Duration::from_millis(self.lock_timeout_ms),
            statement_lock_timeout: Duration::from_millis(self.statement_lock_timeout_ms),
            lock_retries: self.lock_retries,
            transaction: self.transaction,
            snapshots: self.snapshots,
            schema: self.schema.clone(),
            ..Options::new(&self.package)
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A line the runner writes; `hello` first, `done` or `failed` last.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Message {
    /// The runner's protocol and `migrate-runtime` version.
    Hello { protocol: u32, runtime: String },
    /// A revision is about to run, the `index`-th of `total`.
    Starting { revision: String, message: String, index: usize, total: usize },
    /// The run waits for another migrator's lock.
    Waiting { holder: String, waited_ms: u64 },
    /// A warning from the database server.
    Warning { message: String },
    /// A revision finished (committed, with its history row).
    Step { revision: String, message: String, action: Action, elapsed_us: u64 },
    /// The run ended well.
    Done,
    /// The run, or the request, failed.
    Failed(Failure),
}

impl Message {
    pub fn step(step: &crate::Step) -> Message {
        Message::Step {
            revision: step.revision.clone(),
            message: step.message.clone(),
            action: step.action,
            elapsed_us: u64::try_from(step.elapsed.as_micros()).unwrap_or(u64::MAX),
        }
    }

    /// The [`crate::Step`] of a [`Message::Step`].
    pub fn to_step(&self) -> Option<crate::Step> {
        match self {
            Message::Step { revision, message, action, elapsed_us } => Some(crate::Step {
                revision: revision.clone(),
                message: message.clone(),
                action: *action,
                elapsed: Duration::from_micros(*elapsed_us),
            }),
            _ => None,
        }
    }
}

/// Why a run failed, as the library's errors say it: the stable code
/// (`--format json`'s), the whole message, and the file and line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub code: String,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
}

impl Failure {
    pub fn new(code: &str, message: impl std::fmt::Display) -> Failure {
        Failure { code: code.to_string(), message: message.to_string(), file: None, line: None }
    }

    pub fn apply(error: &ApplyError) -> Failure {
        let at = error.location();
        Failure {
            file: at.map(|at| at.path.to_string_lossy().replace('\\', "/")),
            line: at.and_then(|at| at.line),
            ..Failure::new(error.code(), error)
        }
    }
}

/// The refusal of a peer, `them`, that speaks protocol `theirs`; `us`
/// names this side. The message says which of the two to update.
pub fn mismatch(theirs: u32, them: &str, us: &str) -> Failure {
    let older = if theirs > PROTOCOL { us } else { them };
    Failure::new(
        "runner-protocol",
        format!(
            "{them} speaks runner protocol {theirs} and {us} speaks {PROTOCOL}: update {older}, so that cargo-migrate and the package's migrate-runtime are of one release"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_cross_the_pipe_unchanged() {
        let mut options = Options::new("app");
        options.allow_drift = true;
        options.lock_timeout = Duration::from_millis(1500);
        options.transaction = TransactionScope::All;
        options.schema = Some("tenant".into());
        let wire: WireOptions =
            serde_json::from_str(&serde_json::to_string(&WireOptions::new(&options)).unwrap()).unwrap();
        // Options compare their interrupts by identity: compare what crossed.
        assert_eq!(WireOptions::new(&wire.to_options()), WireOptions::new(&options));
        assert_eq!(wire.to_options().lock_timeout, Duration::from_millis(1500));
    }

    #[test]
    fn messages_are_tagged_json_lines() {
        let line = serde_json::to_string(&Message::Hello { protocol: 1, runtime: "0.1.0".into() }).unwrap();
        assert_eq!(line, r#"{"type":"hello","protocol":1,"runtime":"0.1.0"}"#);
        let failed = Message::Failed(Failure::new("drift", "changed"));
        let back: Message = serde_json::from_str(&serde_json::to_string(&failed).unwrap()).unwrap();
        assert_eq!(back, failed);
    }

    #[test]
    fn a_mismatch_says_which_side_to_update() {
        let newer = mismatch(PROTOCOL + 1, "the runner `target/debug/migrate`", "cargo-migrate 0.1.0");
        assert_eq!(newer.code, "runner-protocol");
        assert_eq!(
            newer.message,
            format!(
                "the runner `target/debug/migrate` speaks runner protocol {} and cargo-migrate 0.1.0 speaks {PROTOCOL}: update cargo-migrate 0.1.0, so that cargo-migrate and the package's migrate-runtime are of one release",
                PROTOCOL + 1
            )
        );
        assert!(mismatch(0, "cargo-migrate 0.0.1", "this runner")
            .message
            .contains(": update cargo-migrate 0.0.1,"));
    }
}
