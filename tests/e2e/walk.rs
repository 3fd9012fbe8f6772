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
    let broken = demo.path().join("migrations");
    std::fs::remove_dir_all(&broken).expect("clear");
    std::fs::create_dir(&broken).expect("migrations");
    let source = crate::support::fixtures_dir().join("walk/forgets_column/migrations");
    for entry in std::fs::read_dir(source).expect("fixture") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), broken.join(entry.file_name())).expect("copy");
    }
    let stderr = demo.run(&["walk"]).fails();
    assert!(
        stderr.contains("error: the walk of package `demo` on in-memory SQLite failed: table user: column login_count: present after downgrade of 20f04b9598da, absent before its upgrade"),
        "{stderr}"
    );
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
