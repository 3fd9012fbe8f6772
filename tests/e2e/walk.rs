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
