//! Data migrations in Rust through the library: `fixtures/data` embeds a
//! chain whose third revision, `3c0000000003_split_names.rs`, splits 10,000
//! `name`s into `first_name`/`last_name` and joins them back on downgrade.
//! The same binary runs on SQLite and on a throw-away PostgreSQL database.

use crate::embed::Crate;
use crate::support::{pg, Run};
use std::process::Command;

const RUST_FILE: &str = "migrations/3c0000000003_split_names.rs";

/// `fixtures/data` built as `name`.
fn app(name: &str) -> Crate {
    let app = Crate::copy("data", name);
    app.build().ok();
    app
}

fn run(app: &Crate, url: &str, args: &[&str]) -> Run {
    let output = Command::new(app.binary()).arg(url).args(args).output().expect("run the fixture binary");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `test` on a new SQLite file, then on a new PostgreSQL database.
fn on_both(test: impl Fn(&str)) {
    let dir = tempfile::tempdir().expect("temporary folder");
    test(&format!("sqlite:{}", dir.path().join("data.db").display()));
    if let Some(url) = pg::database() {
        test(&url);
    }
}

/// A database at the revision before the Rust one, with 10,000 people.
fn seeded(app: &Crate, url: &str) {
    run(app, url, &["upgrade", "2b00"]).ok();
    run(app, url, &["seed", "10000"]).ok();
}

/// The stderr of a run that failed with exit 1 (a panic inside the
/// revision is caught, but the panic hook has printed it).
fn refused(run: Run) -> String {
    assert_eq!(run.code, 1, "expected exit 1\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    run.stderr
}

fn current(app: &Crate, url: &str) -> String {
    run(app, url, &["current"]).ok().trim().to_string()
}

#[test]
fn a_rust_revision_splits_ten_thousand_names_and_joins_them_back() {
    let app = app("data_split");
    on_both(|url| {
        seeded(&app, url);
        let out = run(&app, url, &["upgrade"]).ok();
        assert!(out.contains("3c0000000003") && out.contains("4d0000000004"), "{out}");
        assert_eq!(current(&app, url), "current 4d0000000004");
        let dump = run(&app, url, &["dump"]).ok();
        assert!(dump.contains(r#"[Some("5000"), Some("First5000"), Some("Last5000")]"#), "{url}");
        assert_eq!(dump.matches(r#"Some("First"#).count(), 10_000);

        run(&app, url, &["downgrade", "-1"]).ok();
        assert_eq!(current(&app, url), "current 3c0000000003");
        // Reverting the Rust revision runs its downgrade.
        run(&app, url, &["downgrade", "-1"]).ok();
        assert_eq!(current(&app, url), "current 2b0000000002");
        let dump = run(&app, url, &["dump"]).ok();
        assert!(
            dump.contains(r#"[Some("5000"), None, None, Some("First5000 Last5000")]"#),
            "{url}: {dump:.400}"
        );
    });
}

#[test]
fn a_failing_or_panicking_rust_revision_leaves_the_database_as_it_was() {
    let app = app("data_failing");
    on_both(|url| {
        seeded(&app, url);
        run(&app, url, &["set-name", "5000", "Nospace"]).ok();
        let before = run(&app, url, &["dump"]).ok();
        let error = run(&app, url, &["upgrade"]).fails();
        assert!(
            error.contains(&format!(
                "{RUST_FILE}:1: Rust revision `3c0000000003` failed in its upgrade: row 5000: `Nospace` has no space to split at"
            )),
            "{url}: {error}"
        );
        assert_eq!(run(&app, url, &["dump"]).ok(), before, "{url}: rows 1 to 4,999 were rolled back");

        run(&app, url, &["set-name", "5000", ""]).ok();
        let before = run(&app, url, &["dump"]).ok();
        let error = refused(run(&app, url, &["upgrade"]));
        assert!(
            error.contains(&format!(
                "{RUST_FILE}:1: Rust revision `3c0000000003` failed in its upgrade: panicked: row 5000: empty name"
            )),
            "{url}: {error}"
        );
        assert_eq!(run(&app, url, &["dump"]).ok(), before, "{url}: a panic rolls back too");
        assert_eq!(current(&app, url), "current 2b0000000002");
    });
}

#[test]
fn an_edited_applied_rust_revision_is_drift() {
    let app = app("data_drift");
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut urls = vec![format!("sqlite:{}", dir.path().join("data.db").display())];
    urls.extend(pg::database());
    for url in &urls {
        run(&app, url, &["upgrade"]).ok();
    }
    let edited = app.fixture.read(RUST_FILE).replace("for row in rows {", "for row in rows.into_iter() {");
    app.fixture.write(RUST_FILE, &edited);
    app.build().ok();
    for url in &urls {
        let error = run(&app, url, &["upgrade"]).fails();
        assert!(
            error.contains(&format!("{RUST_FILE}:6: revision `3c0000000003` changed after it was applied")),
            "{url}: {error}"
        );
    }
}
