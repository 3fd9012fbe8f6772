//! Deploying: standalone mode (a migrations folder and the binary, no cargo),
//! the settings users already have (`.env`, an empty `DATABASE_URL`), and
//! one database for a whole workspace.

use crate::support::{sqlite, Fixture};
use std::path::Path;
use std::process::Command;

/// Runs the binary from `cwd` with a `PATH` that holds no `cargo` (nor
/// anything else), no `DATABASE_URL` and no libpq variables.
fn run_without_cargo(cwd: &Path, args: &[&str]) -> crate::support::Run {
    let empty = tempfile::tempdir().expect("an empty folder for PATH");
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
        .args(args)
        .current_dir(cwd)
        .env("PATH", empty.path())
        // Standalone mode caches parsed revisions in the user's cache
        // folder: keep the tests' out of the real one.
        .env("XDG_CACHE_HOME", empty.path().join("cache"))
        .env_remove("CARGO")
        .env_remove("DATABASE_URL")
        .env_remove("PGHOST")
        .env_remove("PGDATABASE")
        .output()
        .expect("run cargo-migrate");
    crate::support::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The demo's migrations folder alone, in a folder that is not a cargo
/// project, as a container image or release pipeline holds it.
fn deployed_demo() -> (Fixture, tempfile::TempDir) {
    let demo = Fixture::copy("demo");
    let deploy = tempfile::Builder::new().prefix("migrate-deploy-").tempdir().expect("deploy folder");
    let folder = deploy.path().join("db/migrations");
    std::fs::create_dir_all(&folder).expect("create folder");
    for file in demo.files("migrations") {
        std::fs::copy(demo.path().join("migrations").join(&file), folder.join(&file)).expect("copy revision");
    }
    (demo, deploy)
}

#[test]
fn standalone_mode_upgrades_reports_and_downgrades_without_cargo() {
    let (demo, deploy) = deployed_demo();
    std::fs::write(deploy.path().join("db/migrations/migrate.toml"), "package = \"demo\"\n").expect("config");
    let db = deploy.path().join("prod.sqlite3");
    let url = format!("sqlite:{}", db.display());
    let dir = ["--migrations-dir", "db/migrations", "--database-url", url.as_str()];
    let run = |args: &[&str]| run_without_cargo(deploy.path(), &[&dir[..], args].concat());

    let out = run(&["upgrade"]).ok();
    assert!(out.contains("applied  cf0f5b45967a"), "{out}");
    assert!(out.contains("current 20f04b9598da (head)"), "{out}");
    let out = run(&["current"]).ok();
    assert!(out.contains("current 20f04b9598da (head)"), "{out}");
    let history = run(&["history"]).ok();
    assert!(history.contains("cf0f5b45967a"), "{history}");
    let out = run(&["downgrade", "-1"]).ok();
    assert!(out.contains("reverted 20f04b9598da"), "{out}");

    // The rows are the package's, exactly as cargo mode writes them: the
    // project itself sees the deployed database at the same revision.
    let rows =
        sqlite::query_strings(&sqlite::open(&db), "SELECT package || ' ' || revision FROM migrate_history");
    assert_eq!(rows, ["demo cf0f5b45967a"]);
    let out = demo.run(&["current", "--database-url", &url]).ok();
    assert!(out.contains("current cf0f5b45967a,"), "{out}");
}

#[test]
fn standalone_mode_takes_settings_from_flags_and_says_what_is_missing() {
    let (_demo, deploy) = deployed_demo();
    let db = deploy.path().join("prod.sqlite3");
    let url = format!("sqlite:{}", db.display());

    let err = run_without_cargo(
        deploy.path(),
        &["--migrations-dir", "db/migrations", "--database-url", &url, "upgrade"],
    )
    .fails();
    assert!(err.contains("standalone mode needs the package's name"), "{err}");
    assert!(err.contains("db/migrations/migrate.toml"), "{err}");
    assert!(!db.exists(), "nothing was written");

    let err =
        run_without_cargo(deploy.path(), &["--migrations-dir", "db/migrations", "-p", "demo", "upgrade"])
            .fails();
    assert!(err.contains("no database given: pass `--database-url URL` or set DATABASE_URL"), "{err}");

    let dir = ["--migrations-dir", "db/migrations", "-p", "demo", "--history-table", "schema_revisions"];
    run_without_cargo(deploy.path(), &[&dir[..], &["--database-url", &url, "upgrade"]].concat()).ok();
    assert_eq!(sqlite::tables(&db).iter().filter(|t| t.as_str() == "schema_revisions").count(), 1);

    std::fs::write(deploy.path().join("db/migrations/migrate.toml"), "package = \"demo\"\nfolder = \"x\"\n")
        .expect("config");
    let err = run_without_cargo(deploy.path(), &["--migrations-dir", "db/migrations", "history"]).fails();
    assert!(err.contains("migrate.toml: `folder` has no meaning here"), "{err}");
    std::fs::write(deploy.path().join("db/migrations/migrate.toml"), "package = \"demo\"\ncolour = 1\n")
        .expect("config");
    let err = run_without_cargo(deploy.path(), &["--migrations-dir", "db/migrations", "history"]).fails();
    assert!(err.contains("migrate.toml") && err.contains("unknown field `colour`"), "{err}");

    let err = run_without_cargo(deploy.path(), &["--migrations-dir", "nowhere", "history"]).fails();
    assert!(err.contains("--migrations-dir nowhere: no such folder"), "{err}");
}

#[test]
fn cargo_mode_without_cargo_points_at_standalone_mode() {
    let demo = Fixture::copy("demo");
    let err = run_without_cargo(demo.path(), &["history"]).fails();
    assert!(err.contains("--migrations-dir DIR"), "{err}");
}

#[test]
fn dotenv_gives_the_database_url_and_the_environment_wins() {
    let demo = Fixture::copy("demo");
    demo.write(".env", "# the developer's database\nDATABASE_URL=sqlite:from-dotenv.sqlite3\n");
    demo.run(&["upgrade"]).ok();
    assert!(demo.path().join("from-dotenv.sqlite3").exists());

    let out = demo.run_with_env(&[("DATABASE_URL", "sqlite:from-env.sqlite3")], &["upgrade"]).ok();
    assert!(out.contains("database sqlite:from-env.sqlite3"), "{out}");
    assert!(demo.path().join("from-env.sqlite3").exists());

    // Set but empty means unset: the default database, not an error.
    demo.write(".env", "");
    let out = demo.run_with_env(&[("DATABASE_URL", "")], &["upgrade"]).ok();
    assert!(out.contains("target/migrate/demo.sqlite3"), "{out}");
}

#[test]
fn a_dotenv_line_that_cannot_be_read_is_named_by_number_never_shown() {
    let demo = Fixture::copy("demo");
    demo.write(".env", "DATABASE_URL=sqlite:ok.sqlite3\nPASSWORD hunter2 no equals sign\n");
    let run = demo.run(&["current"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains(".env:2: this line is not `NAME=value`"), "{}", run.stderr);
    assert!(!run.stderr.contains("hunter2") && !run.stdout.contains("hunter2"), "{run:?}");
    assert!(run.stdout.contains("database sqlite:ok.sqlite3"), "{run:?}");
}

#[test]
fn a_postgres_package_without_a_database_says_how_to_give_one() {
    let demo = Fixture::copy_as_postgres("demo");
    let run = demo.run_with_env(&[("PGHOST", ""), ("PGDATABASE", ""), ("PGHOSTADDR", "")], &["upgrade"]);
    let err = run.fails();
    assert!(err.contains("package `demo` is written for PostgreSQL"), "{err}");
    assert!(err.contains("--database-url postgres://"), "{err}");
    assert!(!demo.path().join("target/migrate").exists(), "no SQLite file is created for it");
}

#[test]
fn one_command_upgrades_every_package_of_a_workspace_into_its_database() {
    let ws = Fixture::copy("workspace");
    let out = ws.run(&["upgrade", "--workspace"]).ok();
    let accounts = out.find("package accounts").expect("accounts upgraded");
    let billing = out.find("package billing").expect("billing upgraded");
    assert!(accounts < billing, "billing depends on accounts: {out}");

    let db = ws.path().join("target/migrate/workspace.sqlite3");
    let packages = sqlite::query_strings(
        &sqlite::open(&db),
        "SELECT DISTINCT package FROM migrate_history ORDER BY package",
    );
    assert_eq!(packages, ["accounts", "billing"]);
    let out = ws.run(&["current", "--workspace"]).ok();
    assert_eq!(out.matches("(head)").count(), 2, "{out}");

    let out = ws.run(&["downgrade", "--workspace", "base"]).ok();
    assert!(out.find("package billing") < out.find("package accounts"), "dependents first: {out}");
    assert!(sqlite::query_strings(&sqlite::open(&db), "SELECT revision FROM migrate_history").is_empty());

    let err = ws.run(&["upgrade", "--workspace", "+1"]).fails();
    assert!(err.contains("`--workspace` takes `head` or `heads` as its target"), "{err}");
}

#[test]
fn packages_upgraded_one_by_one_share_the_workspace_database() {
    let ws = Fixture::copy("workspace");
    let err = ws.run(&["upgrade", "-p", "billing"]).fails();
    assert!(err.contains("accounts"), "{err}");
    ws.run(&["upgrade", "-p", "accounts"]).ok();
    let out = ws.run(&["upgrade", "-p", "billing"]).ok();
    assert!(out.contains("(head)"), "{out}");
}

/// Read commands hold a line of a revision at a time, never its SQL: under
/// an address-space limit well below the size of one revision file (the
/// way the loader read before kept about twice the file), `heads`,
/// `history` and `current` still work, the first run (which parses the
/// file) and the cached ones alike.
#[cfg(target_os = "linux")]
#[test]
fn read_commands_hold_no_revision_sql_whatever_its_size() {
    let deploy = tempfile::Builder::new().prefix("migrate-big-").tempdir().expect("folder");
    let folder = deploy.path().join("migrations");
    std::fs::create_dir(&folder).expect("folder");
    let row = format!("INSERT INTO big VALUES (1, '{}');\n", "x".repeat(100));
    let mut text =
        "-- revision: a1\n-- message: big\n\n-- migrate:upgrade\nCREATE TABLE big (id INTEGER, v TEXT);\n"
            .to_string();
    text += &row.repeat(50 * 1024 * 1024 / row.len());
    text += "\n-- migrate:downgrade\nDROP TABLE big;\n";
    std::fs::write(folder.join("a1_big.sql"), &text).expect("revision");
    std::fs::write(folder.join("migrate.toml"), "package = \"big\"\n").expect("config");
    let url = format!("sqlite:{}", deploy.path().join("db.sqlite3").display());
    let exe = env!("CARGO_BIN_EXE_cargo-migrate");
    // 80 MB of address space for the whole process: binary, stacks, heap.
    let limited = |command: &str| {
        let script = format!(
            "ulimit -v 80000; exec \"$0\" --migrations-dir migrations --database-url {url} {command}"
        );
        let out = Command::new("sh")
            .args(["-c", &script, exe])
            .current_dir(deploy.path())
            .env("XDG_CACHE_HOME", deploy.path().join("cache"))
            .env_remove("DATABASE_URL")
            .output()
            .expect("run cargo-migrate");
        assert!(out.status.success(), "{command}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(limited("heads").contains("a1 (head)"));
    assert!(limited("heads").contains("a1 (head)"), "from the cache");
    assert!(limited("history").contains("<base> -> a1 (head), big"));
    assert!(limited("current").contains("pending a1"));
}
