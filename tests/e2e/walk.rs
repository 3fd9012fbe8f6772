//! `cargo migrate walk`: the walk-versions check from the command line.

use crate::support::Fixture;

#[test]
fn walk_passes_a_clean_chain_and_names_a_forgotten_column() {
    let demo = Fixture::copy("demo");
    let out = demo.run(&["walk"]).ok();
    assert!(
        out.starts_with("walked 2 revisions of package `demo` on in-memory SQLite: 4 upgrades, 4 downgrades"),
        "{out}"
    );
    replace_migrations(&demo, "walk/forgets_column");
    let stderr = demo.run(&["walk"]).fails();
    assert!(
        stderr.contains("error: the walk of package `demo` on in-memory SQLite failed: migrations/20f04b9598da_add_login_count.sql:11: the downgrade of revision `20f04b9598da` does not give back the schema from before its upgrade\n  table user: column login_count: present after downgrade of 20f04b9598da, absent before its upgrade\n"),
        "{stderr}"
    );
}

/// `fixture`'s revisions in place of `demo`'s.
fn replace_migrations(demo: &Fixture, fixture: &str) {
    let broken = demo.path().join("migrations");
    std::fs::remove_dir_all(&broken).expect("clear");
    std::fs::create_dir(&broken).expect("migrations");
    let source = crate::support::fixtures_dir().join(fixture).join("migrations");
    for entry in std::fs::read_dir(source).expect("fixture") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), broken.join(entry.file_name())).expect("copy");
    }
}

/// The first line of each defect in the walk's error output.
fn defect_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|line| line.contains(": the downgrade of revision")).collect()
}

/// Three defective downgrades between sound revisions: one run lists all
/// three, each with its file and line, the object, and a diff whose `-` and
/// `+` lines mark what differs; `--fail-fast` stops at the first. Both exit 1.
#[test]
fn walk_reports_every_defective_downgrade_in_one_run_with_file_line_and_diff() {
    let demo = Fixture::copy("demo");
    replace_migrations(&demo, "walk/several_defects");
    let stderr = demo.run(&["walk"]).fails();
    let defects = defect_lines(&stderr);
    assert_eq!(defects.len(), 3, "{stderr}");
    for (line, expected) in defects.iter().zip([
        "migrations/2b2b2b2b2b2b_add_login_count.sql:10: the downgrade of revision `2b2b2b2b2b2b`",
        "migrations/3c3c3c3c3c3c_widen_the_emails_view.sql:11: the downgrade of revision `3c3c3c3c3c3c`",
        "migrations/5e5e5e5e5e5e_index_emails.sql:10: the downgrade of revision `5e5e5e5e5e5e`",
    ]) {
        assert!(line.starts_with(expected), "{line}\n{stderr}");
    }
    assert!(stderr.contains("3 defects, in the order the walk met them:"), "{stderr}");
    for marked in [
        "  table user: column login_count: present after downgrade of 2b2b2b2b2b2b, absent before its upgrade\n    --- before its upgrade\n    +++ after downgrade of 2b2b2b2b2b2b\n    @@ -0,0 +1 @@\n    +integer\n",
        "    -CREATE VIEW emails AS SELECT email FROM \"user\"\n    +CREATE VIEW emails AS SELECT email FROM \"user\" WHERE login_count > 1\n",
        "  table user: index user_email: present after downgrade of 5e5e5e5e5e5e, absent before its upgrade\n",
    ] {
        assert!(stderr.contains(marked), "missing {marked:?} in\n{stderr}");
    }
    let first = demo.run(&["walk", "--fail-fast"]).fails();
    assert_eq!(defect_lines(&first).len(), 1, "{first}");
    assert!(first.contains("2b2b2b2b2b2b_add_login_count.sql:10:"), "{first}");
}

#[test]
fn walk_on_postgres_uses_a_scratch_database() {
    let Ok(Some(_)) = migrate_runtime::testing::test_server() else {
        assert!(std::env::var_os("CI").is_none(), "CI needs PostgreSQL");
        return;
    };
    let demo = Fixture::copy("demo");
    let out = demo.run(&["walk", "--dialect", "postgres"]).ok();
    assert!(out.contains("on PostgreSQL (temporary database migrate_walk_"), "{out}");
}

/// A `transaction: none` revision runs statement by statement in the walk
/// as it does in `upgrade`: `CREATE INDEX CONCURRENTLY` (and its `DROP
/// INDEX CONCURRENTLY` downgrade) refuse to run in a multi-statement batch,
/// which PostgreSQL runs as one implicit transaction.
#[test]
fn walk_on_postgres_runs_a_no_transaction_revision_statement_by_statement() {
    let Ok(Some(_)) = migrate_runtime::testing::test_server() else {
        assert!(std::env::var_os("CI").is_none(), "CI needs PostgreSQL");
        return;
    };
    let demo = Fixture::copy_as_postgres("demo");
    demo.write(
        "migrations/8b8b8b8b8b8b_index_emails_concurrently.sql",
        "-- revision: 8b8b8b8b8b8b\n-- revises: 20f04b9598da\n-- message: index emails concurrently\n\
         -- transaction: none\n\n-- migrate:upgrade\nCREATE INDEX CONCURRENTLY user_login_count ON \"user\" (login_count);\n\
         CREATE INDEX CONCURRENTLY user_last_login_at ON \"user\" (last_login_at);\n\n\
         -- migrate:downgrade\nDROP INDEX CONCURRENTLY user_last_login_at;\nDROP INDEX CONCURRENTLY user_login_count;\n",
    );
    let out = demo.run(&["walk"]).ok();
    assert!(out.starts_with("walked 3 revisions of package `demo` on PostgreSQL"), "{out}");
    assert!(out.contains("6 upgrades, 6 downgrades"), "{out}");
}

/// The databases named `migrate_walk_<pid>_…` on the server of `url`.
fn walk_databases(url: &str, pid: u32) -> Vec<Vec<String>> {
    let pattern = format!("migrate\\_walk\\_{pid}\\_%");
    crate::support::pg::sql(url, &format!("SELECT datname FROM pg_database WHERE datname LIKE '{pattern}'"))
}

/// `walk --database-url` makes `migrate_walk_<pid>_<n>` on the user's
/// server: SIGINT or SIGTERM during a slow revision cancels its statement
/// and the walk drops the database before exiting 130 / 143; a walk that
/// fails drops it too.
#[test]
fn walk_drops_its_scratch_database_on_a_signal_and_on_error() {
    let Some(url) = crate::support::pg::database() else { return };
    let demo = Fixture::copy_as_postgres("demo");
    let slow = "-- revision: 9a9a9a9a9a9a\n-- revises: 20f04b9598da\n-- message: slow\n\n\
                -- migrate:upgrade\nSELECT pg_sleep({seconds});\n\n-- migrate:downgrade\nSELECT 1;\n";
    demo.write("migrations/9a9a9a9a9a9a_slow.sql", &slow.replace("{seconds}", "60"));
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let child = demo.spawn(&["walk", "--database-url", &url]);
        let pid = child.id();
        let sleeping = format!(
            "SELECT 1 FROM pg_stat_activity WHERE datname LIKE 'migrate\\_walk\\_{pid}\\_%' AND query LIKE '%pg_sleep%'"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while crate::support::pg::sql(&url, &sleeping).is_empty() {
            assert!(std::time::Instant::now() < deadline, "the walk never reached the slow revision");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(walk_databases(&url, pid).len(), 1, "the walk's database exists while it runs");
        let status = std::process::Command::new("kill").args(["-s", signal, &pid.to_string()]).status();
        assert!(status.expect("run kill").success());
        let run = crate::support::finish(child);
        assert_eq!(run.code, code, "{run:?}");
        assert!(run.stderr.contains("interrupted: the walk stopped at revision `9a9a9a9a9a9a`"), "{run:?}");
        assert_eq!(walk_databases(&url, pid), Vec::<Vec<String>>::new(), "SIG{signal} left the database");
    }
    demo.write("migrations/9a9a9a9a9a9a_slow.sql", &slow.replace("pg_sleep({seconds})", "nothing_here()"));
    let child = demo.spawn(&["walk", "--database-url", &url]);
    let pid = child.id();
    let run = crate::support::finish(child);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("upgrade of revision `9a9a9a9a9a9a` failed"), "{run:?}");
    assert_eq!(walk_databases(&url, pid), Vec::<Vec<String>>::new(), "a failed walk left its database");
}

#[test]
fn a_postgres_url_given_to_a_sqlite_walk_is_refused_not_ignored() {
    let demo = Fixture::copy("demo");
    let url = "postgres://postgres@127.0.0.1:1/nowhere";
    let stderr = demo.run(&["walk", "--database-url", url]).fails();
    assert!(
        stderr.contains("package `demo` is walked on in-memory SQLite (its dialect), so `--database-url` naming a PostgreSQL server would not be used: pass `--dialect postgres`"),
        "{stderr}"
    );
    // Only in the environment (set for other tools): a note, and the walk runs.
    let run = demo.run_with_env(&[("DATABASE_URL", url)], &["walk"]);
    assert!(run.stderr.contains("note: DATABASE_URL names a PostgreSQL server, not used"), "{}", run.stderr);
    assert!(run.ok().contains("on in-memory SQLite"));
}
