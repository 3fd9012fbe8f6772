//! What to do next, in this tool's words: the library's errors state what
//! is wrong; the commands and flags that fix it are the CLI's to name, so
//! they live here, keyed by error variant, or by code where the hint
//! needs nothing else (so a package's runner's failures get them too).

use migrate_runtime::chain::SnapshotError;
use migrate_runtime::runner::Failure;
use migrate_runtime::testing::WalkError;
use migrate_runtime::{ApplyError, TargetError};

/// The hint for the first library error in `error`'s chain that has one,
/// with the punctuation that joins it to the message.
pub fn for_error(error: &anyhow::Error) -> Option<String> {
    error.chain().find_map(|cause| {
        if let Some(apply) = cause.downcast_ref::<ApplyError>() {
            return for_apply(apply);
        }
        // A walk quotes the engine's error rather than chaining it.
        if let Some(WalkError::Upgrade { error, .. } | WalkError::Downgrade { error, .. }) =
            cause.downcast_ref()
        {
            return for_apply(error);
        }
        if let Some(snapshot) = cause.downcast_ref::<SnapshotError>() {
            return for_snapshot(snapshot);
        }
        if let Some(failure) = cause.downcast_ref::<Failure>() {
            return by_code(&failure.code).map(str::to_string);
        }
        cause.downcast_ref::<TargetError>().and_then(for_target)
    })
}

/// A stale snapshot is written again (or deleted); `check` proves the new
/// one.
fn for_snapshot(error: &SnapshotError) -> Option<String> {
    let SnapshotError::ChainChanged { revision, .. } = error else { return None };
    Some(format!(
        "; write it again with `cargo migrate snapshot {revision}` (and check it with `cargo migrate check`), or delete it"
    ))
}

/// `error` followed by its hint, for errors listed rather than raised
/// (drift in `current` and `check`).
pub fn with_hint(error: &ApplyError) -> String {
    match for_apply(error) {
        Some(hint) => format!("{error}{hint}"),
        None => error.to_string(),
    }
}

fn for_apply(error: &ApplyError) -> Option<String> {
    match error {
        ApplyError::Target(target) => for_target(target),
        ApplyError::Snapshot(snapshot) => for_snapshot(snapshot),
        ApplyError::MissingDependency { package, .. } => {
            Some(format!(": upgrade package `{package}` first (`cargo migrate upgrade -p {package}`)"))
        }
        ApplyError::StampBelow { target, .. } => Some(format!(
            ": pass `--allow-down` if the schema no longer has them, or run `cargo migrate downgrade \
             {target}` to revert them"
        )),
        other => by_code(other.code()).map(str::to_string),
    }
}

/// The hints that need nothing but the error's code: a library error's,
/// or one a package's runner reported (which arrives as its code and
/// message only).
fn by_code(code: &str) -> Option<&'static str> {
    let hint = match code {
        "database-ahead" => {
            "; deploy the newer code, or revert with `cargo migrate downgrade` \
             (the downgrade SQL is stored in the history table)"
        }
        "synced" => {
            ": rebuild it from the revisions with `cargo migrate reset`, or, once its schema matches a \
             revision, record that with `cargo migrate stamp REV`"
        }
        "not-empty" => {
            ": if its schema is that of a revision, record that with `cargo migrate \
             stamp REV` and upgrade from there; to apply every revision from base on top of what is there, \
             run `cargo migrate upgrade --baseline`"
        }
        "rust-in-script" => {
            "; or pass `--rust-as-comment` for a script with a comment in their place (and their history rows)"
        }
        "transaction-none" => {
            ": run without `--transaction all`, or in one transaction up to the revision before it \
             (`cargo migrate upgrade REV --transaction all`) and the rest without"
        }
        "not-due" => {
            "; another migrator changed the history while this run applied it: see `cargo migrate current`, \
             then run the command again"
        }
        "read-only-database" => {
            ": give this user write access to the file and its folder (SQLite writes its journal beside the \
             file); read commands (`current`, `history`, `check`) work without it"
        }
        "sqlite-busy" => {
            "; run again once the other connection is done, or wait longer with `--lock-timeout SECONDS` \
             (`upgrade`, `downgrade`)"
        }
        "session-ended" => "; run the command again once the database accepts connections",
        "session-ended-partway" | "interrupted-partway" => {
            ": see what its statements did, then settle it with `cargo migrate repair`"
        }
        "statement-lock-timeout" => {
            "; run again when that session ends, retry on your own terms with `--retries N`, or let \
             statements wait longer with `--statement-lock-timeout SECONDS` (0 waits forever)"
        }
        "drift" => {
            ": restore the file, or accept the edit with `cargo migrate stamp --update-checksum REV` \
             (its SQL does not run again); `--allow-drift` goes on this once (the history keeps the \
             recorded checksum, so the next run stops here again)"
        }
        "dirty" => {
            ": fix the schema by hand, then run `cargo migrate repair --mark applied` \
             (or `--mark reverted`), or `cargo migrate stamp`"
        }
        "newer-history-format" => {
            ": run this command with the cargo-migrate that wrote it, or a newer one (this one never \
             rewrites a history table it does not know)"
        }
        _ => return None,
    };
    Some(hint)
}

fn for_target(error: &TargetError) -> Option<String> {
    match error {
        TargetError::SeveralHeads { target, .. } if target.trim_end().ends_with("heads") => {
            Some(": a downgrade goes down to one state: name the revision, or use `label@head`".to_string())
        }
        TargetError::SeveralHeads { .. } => {
            Some(": name one, use `heads`, or join them with `cargo migrate merge`".to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use migrate_runtime::Location;

    #[test]
    fn an_engine_error_inside_a_walk_keeps_its_hint() {
        let engine = ApplyError::MissingDependency {
            at: Location::file("migrations/b_.sql".to_string()),
            revision: "b".into(),
            dependency: "billing:x1".into(),
            package: "billing".into(),
        };
        let walk = anyhow::Error::new(WalkError::Upgrade { revision: "b".into(), error: Box::new(engine) });
        let hint = ": upgrade package `billing` first (`cargo migrate upgrade -p billing`)";
        assert_eq!(for_error(&walk).as_deref(), Some(hint));
        assert_eq!(for_error(&anyhow::anyhow!("no library error here")), None);
    }

    #[test]
    fn a_runner_failure_gets_the_hint_of_its_code() {
        let failure = Failure::new("drift", "revision `a` changed since it was applied");
        let hint = for_error(&anyhow::Error::new(failure).context("the upgrade of package `app` stopped"));
        assert!(hint.unwrap_or_default().contains("stamp --update-checksum REV"));
        assert_eq!(for_error(&anyhow::Error::new(Failure::new("rust-failed", "no"))), None);
    }

    #[test]
    fn downgrade_heads_is_not_told_to_use_heads() {
        let error = TargetError::SeveralHeads { target: "heads".into(), heads: vec!["a".into(), "b".into()] };
        let hint = for_target(&error).unwrap_or_default();
        assert!(!hint.contains("use `heads`"), "{hint}");
    }
}
