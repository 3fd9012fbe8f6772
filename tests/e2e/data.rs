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
    app.build_own_bin().ok();
    app
}

fn run(app: &Crate, url: &str, args: &[&str]) -> Run {
    outcome(Command::new(app.binary()).arg(url).args(args).output().expect("run the fixture binary"))
}

fn outcome(output: std::process::Output) -> Run {
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
    app.build_own_bin().ok();
    for url in &urls {
        let error = run(&app, url, &["upgrade"]).fails();
        assert!(
            error.contains(&format!("{RUST_FILE}:6: revision `3c0000000003` changed after it was applied")),
            "{url}: {error}"
        );
    }
}

// ---------------------------------------------------------------------------
// The same chain through `cargo migrate`, which builds the package's runner
// (`src/bin/migrate.rs`) and runs the chain in it.

use crate::json::{conforms, each};
use std::io::BufRead;
use std::sync::OnceLock;

/// One copy of `fixtures/data` for every CLI test: its runner is built
/// once in the shared target folder (the first `cargo migrate` builds it;
/// the others find it fresh). The runner is renamed (`runner = "…"`): a
/// bin `migrate` of another copy (the README's) would replace
/// `debug/migrate` in the shared folder.
fn cli_app() -> &'static Crate {
    static APP: OnceLock<Crate> = OnceLock::new();
    APP.get_or_init(|| {
        let app = Crate::copy("data", "data_cli");
        let bin = app.fixture.path().join("src/bin");
        std::fs::rename(bin.join("migrate.rs"), bin.join("data_cli_runner.rs")).expect("rename the runner");
        let manifest = app.fixture.read("Cargo.toml");
        let manifest = manifest.replace(
            "[dependencies]",
            "[package.metadata.migrate]\nrunner = \"data_cli_runner\"\n\n[dependencies]",
        );
        app.fixture.write("Cargo.toml", &manifest);
        app.build_own_bin().ok();
        app
    })
}

fn cargo_migrate(app: &Crate, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-migrate"));
    command
        .arg("migrate")
        .args(args)
        .current_dir(app.fixture.path())
        .env("CARGO_TARGET_DIR", Crate::target_dir())
        .env_remove("RUSTFLAGS")
        .env_remove("DATABASE_URL");
    command
}

fn cli(app: &Crate, url: &str, args: &[&str]) -> Run {
    outcome(cargo_migrate(app, args).args(["--database-url", url]).output().expect("run cargo-migrate"))
}

/// `text` with its timings as `_`, to compare its shape.
fn untimed(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = match (line.find("  ("), line.find(" ms")) {
            (Some(open), Some(ms)) if ms > open => format!("{}  (_{}", &line[..open], &line[ms..]),
            _ => line.to_string(),
        };
        let line = match line.split_once(" revisions in ") {
            Some((head, _)) => format!("{head} revisions in _ s"),
            None => line,
        };
        out += &line;
        out.push('\n');
    }
    out
}

#[test]
fn cargo_migrate_upgrades_and_downgrades_a_chain_with_a_rust_revision_through_its_runner() {
    let app = cli_app();
    on_both(|url| {
        let first = untimed(&cli(app, url, &["upgrade", "2b00"]).ok());
        assert!(first.contains("applied  1a0000000001  people  (_ ms, 1/2)\n"), "{url}: {first}");
        run(app, url, &["seed", "10000"]).ok();
        let out = untimed(&cli(app, url, &["upgrade"]).ok());
        assert!(
            out.contains(
                "applied  3c0000000003  split names  (_ ms, 1/2)\napplied  4d0000000004  drop name  (_ ms, 2/2)\napplied 2 revisions in _ s\n"
            ),
            "{url}: {out}"
        );
        let shown = cli(app, url, &["current"]).ok();
        assert!(shown.contains("4d0000000004"), "{url}: {shown}");
        let dump = run(app, url, &["dump"]).ok();
        assert_eq!(dump.matches(r#"Some("First"#).count(), 10_000, "{url}");

        let down = untimed(&cli(app, url, &["downgrade", "-2"]).ok());
        assert!(
            down.contains("reverted 4d0000000004  drop name  (_ ms, 1/2)\nreverted 3c0000000003  split names  (_ ms, 2/2)\nreverted 2 revisions in _ s\n"),
            "{url}: {down}"
        );
        let dump = run(app, url, &["dump"]).ok();
        assert!(
            dump.contains(r#"[Some("5000"), None, None, Some("First5000 Last5000")]"#),
            "{url}: {dump:.400}"
        );
        assert_eq!(current(app, url), "current 2b0000000002");
    });
}

#[test]
fn cargo_migrate_s_json_documents_are_the_same_through_the_runner() {
    let app = cli_app();
    on_both(|url| {
        cli(app, url, &["upgrade", "2b00"]).ok();
        run(app, url, &["seed", "10"]).ok();
        let upgrade = cli(app, url, &["upgrade", "--format", "json"]).json();
        conforms(&upgrade, "current");
        conforms(&upgrade, "upgrade");
        each(&upgrade["steps"], "step");
        let revisions: Vec<&serde_json::Value> =
            upgrade["steps"].as_array().unwrap().iter().map(|s| &s["revision"]).collect();
        assert_eq!(revisions, ["3c0000000003", "4d0000000004"], "{url}: {upgrade}");
        let down = cli(app, url, &["downgrade", "-1", "--format", "json"]).json();
        assert_eq!(down["steps"][0]["action"], "downgrade", "{url}: {down}");
    });
}

#[test]
fn a_failing_rust_revision_through_cargo_migrate_names_its_file_and_changes_nothing() {
    let app = cli_app();
    on_both(|url| {
        cli(app, url, &["upgrade", "2b00"]).ok();
        run(app, url, &["seed", "10000"]).ok();
        run(app, url, &["set-name", "5000", "Nospace"]).ok();
        let before = run(app, url, &["dump"]).ok();
        let error = cli(app, url, &["upgrade"]).fails();
        assert!(
            error.contains(&format!(
                "error: the upgrade of package `data_cli` stopped: {RUST_FILE}:1: Rust revision `3c0000000003` failed in its upgrade: row 5000: `Nospace` has no space to split at"
            )),
            "{url}: {error}"
        );
        assert_eq!(run(app, url, &["dump"]).ok(), before, "{url}: rolled back");

        let failed = cli(app, url, &["upgrade", "--format", "json"]);
        let document: serde_json::Value = serde_json::from_str(&failed.stdout).expect("one JSON document");
        failed.fails();
        conforms(&document["error"], "error");
        each(&document["error"]["problems"], "problem");
        assert_eq!(document["error"]["code"], "rust-failed", "{document}");
        assert_eq!(document["error"]["file"], RUST_FILE, "{document}");
        assert_eq!(document["error"]["line"], 1, "{document}");
        assert_eq!(document["steps"], serde_json::json!([]), "{document}");
        assert_eq!(current(app, url), "current 2b0000000002");
    });
}

/// SIGINT while the Rust revision runs in the runner: the CLI passes the
/// stop on, the revision rolls back, and the CLI says so and exits 130.
#[test]
fn a_signal_rolls_back_the_running_rust_revision_in_the_runner() {
    let app = cli_app();
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite:{}", dir.path().join("signal.db").display());
    cli(app, &url, &["upgrade", "2b00"]).ok();
    // Enough rows that the revision runs for seconds in a debug build.
    run(app, &url, &["seed", "200000"]).ok();
    let mut upgrade = cargo_migrate(app, &["upgrade", "-v", "--database-url", &url]);
    let (code, said) = stopped_while_running(&mut upgrade, "applying  3c0000000003", "INT");
    assert_eq!(code, Some(130), "{said}");
    assert!(said.contains("interrupted: revision `3c0000000003` was rolled back"), "{said}");
    assert_eq!(current(app, &url), "current 2b0000000002");
    let dump = run(app, &url, &["dump"]).ok();
    assert!(dump.contains(r#"[Some("1"), Some("First1 Last1"), None, None]"#), "rolled back: {:.600}", dump);
    assert!(!dump.contains(r#"Some("First1"), Some("Last1")"#), "rolled back: {:.600}", dump);
}

/// Starts `command`, sends it `signal` half a second after its stderr said
/// `started` (the revision is running and has written some rows): its exit
/// code and all it said on stderr.
fn stopped_while_running(command: &mut Command, started: &str, signal: &str) -> (Option<i32>, String) {
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the run");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut said = String::new();
    while !said.contains(started) {
        let mut line = String::new();
        assert_ne!(stderr.read_line(&mut line).expect("read stderr"), 0, "ended before the revision: {said}");
        said += &line;
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let status = Command::new("kill").args(["-s", signal, &child.id().to_string()]).status();
    assert!(status.expect("run kill").success());
    std::io::Read::read_to_string(&mut stderr, &mut said).expect("read stderr");
    (child.wait().expect("wait").code(), said)
}

#[test]
fn a_chain_with_a_rust_revision_and_no_runner_is_refused_naming_the_file() {
    let app = Crate::copy("data", "data_no_runner");
    std::fs::remove_file(app.fixture.path().join("src/bin/migrate.rs")).expect("remove the runner");
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite:{}", dir.path().join("none.db").display());
    let error = cli(&app, &url, &["upgrade"]).fails();
    assert!(
        error.contains(&format!(
            "{RUST_FILE}:1: revision `3c0000000003` is a Rust revision and package `data_no_runner` has no runner (a bin target `migrate`) to run it: add one with `cargo migrate init --rust`"
        )),
        "{error}"
    );
}

/// `reset` (and so every live run) hands a plan with a Rust revision to the
/// runner the same way.
#[test]
fn reset_rebuilds_a_chain_with_a_rust_revision_through_the_runner() {
    let app = cli_app();
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite:{}", dir.path().join("reset.db").display());
    cli(app, &url, &["upgrade", "2b00"]).ok();
    run(app, &url, &["seed", "3"]).ok();
    let out = untimed(&cli(app, &url, &["reset"]).ok());
    assert!(out.contains("applied  3c0000000003  split names  (_ ms, 3/4)\n"), "{out}");
    assert_eq!(current(app, &url), "current 4d0000000004");
}

/// The fixture's runner, built by the CLI (as any run with a Rust revision
/// does) upgrading the database at `url` to head.
fn runner_built_by(app: &Crate, url: &str) -> std::path::PathBuf {
    cli(app, url, &["upgrade"]).ok();
    Crate::target_dir().join("debug").join(format!("data_cli_runner{}", std::env::consts::EXE_SUFFIX))
}

/// The runner alone, as in a container without cargo: its own chain, the
/// URL from `--database-url` or `DATABASE_URL`, `cargo migrate`'s exit codes.
#[test]
fn the_runner_alone_upgrades_and_downgrades_its_embedded_chain() {
    let app = cli_app();
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite:{}", dir.path().join("alone.db").display());
    let runner = runner_built_by(app, &url);
    let alone = |args: &[&str], env: &[(&str, &str)]| {
        outcome(Command::new(&runner).args(args).envs(env.iter().copied()).output().expect("run the runner"))
    };
    let down = alone(&["downgrade", "-2", "--database-url", &url], &[]).ok();
    assert!(
        down.contains("reverted 4d0000000004  drop name")
            && down.contains("reverted 3c0000000003  split names"),
        "{down}"
    );
    let up = alone(&["upgrade"], &[("DATABASE_URL", &url)]).ok();
    assert!(up.contains("applied  3c0000000003  split names"), "{up}");
    assert_eq!(current(app, &url), "current 4d0000000004");
    let usage = alone(&["downgrade"], &[]);
    assert_eq!(usage.code, 2, "{usage:?}");
    assert!(usage.stderr.contains("`downgrade` needs a TARGET"), "{usage:?}");
    let failed = alone(&["upgrade", "zzzz", "--database-url", &url], &[]);
    assert_eq!(failed.code, 1, "{failed:?}");
}

/// SIGTERM to the runner alone (a container being stopped) while its Rust
/// revision runs: it says so, the revision rolls back, it exits 143; the
/// revision was announced when it started.
#[test]
fn the_runner_alone_rolls_back_the_running_revision_on_sigterm() {
    let app = cli_app();
    let dir = tempfile::tempdir().expect("temporary folder");
    let runner = runner_built_by(app, &format!("sqlite:{}", dir.path().join("build.db").display()));
    let url = format!("sqlite:{}", dir.path().join("stopped.db").display());
    cli(app, &url, &["upgrade", "2b00"]).ok();
    // Enough rows that the revision runs for seconds in a debug build.
    run(app, &url, &["seed", "200000"]).ok();
    let mut upgrade = Command::new(&runner);
    upgrade.args(["upgrade", "--database-url", &url]);
    let (code, said) =
        stopped_while_running(&mut upgrade, "applying  3c0000000003  split names  [1/2]", "TERM");
    assert_eq!(code, Some(143), "{said}");
    assert!(said.contains("SIGTERM: stopping at a safe point"), "{said}");
    assert!(said.contains("interrupted: revision `3c0000000003` was rolled back"), "{said}");
    assert_eq!(current(app, &url), "current 2b0000000002");
    let dump = run(app, &url, &["dump"]).ok();
    assert!(dump.contains(r#"[Some("1"), Some("First1 Last1"), None, None]"#), "rolled back: {:.600}", dump);
}

/// A fleet runs its databases' plans through the one runner build: three
/// SQLite files two at a time, each with people to split, and on
/// PostgreSQL two tenant schemas of one database, whose tables the runner
/// makes in each tenant's schema.
#[test]
fn a_fleet_runs_a_chain_with_a_rust_revision_through_one_runner() {
    let app = cli_app();
    let dir = tempfile::tempdir().expect("temporary folder");
    let urls: Vec<String> =
        (1..=3).map(|i| format!("sqlite:{}", dir.path().join(format!("tenant{i}.db")).display())).collect();
    for url in &urls {
        cli(app, url, &["upgrade", "2b00"]).ok();
        run(app, url, &["seed", "3"]).ok();
    }
    let mut args = vec!["upgrade", "-j", "2"];
    for url in &urls {
        args.extend(["--database-url", url.as_str()]);
    }
    let out = outcome(cargo_migrate(app, &args).output().expect("run cargo-migrate")).ok();
    assert_eq!(out.matches("ok (2 steps)").count(), 3, "{out}");
    for url in &urls {
        assert_eq!(current(app, url), "current 4d0000000004", "{url}");
        let dump = run(app, url, &["dump"]).ok();
        assert!(dump.contains(r#"Some("First3"), Some("Last3")"#), "{url}: {dump}");
    }

    let Some(url) = pg::database() else { return };
    let out = outcome(
        cargo_migrate(app, &["upgrade", "--database-url", &url, "--schemas", "tenant_a,tenant_b"])
            .output()
            .expect("run cargo-migrate"),
    )
    .ok();
    assert_eq!(out.matches("ok (4 steps)").count(), 2, "{out}");
    let tables = pg::sql(
        &url,
        "SELECT table_schema || '.' || table_name FROM information_schema.tables \
         WHERE table_schema LIKE 'tenant_%' AND table_name = 'people' ORDER BY 1",
    );
    assert_eq!(tables, [["tenant_a.people"], ["tenant_b.people"]], "{out}");
}
