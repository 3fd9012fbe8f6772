//! trybuild UI cases: one compile-fail case per kind of error, and one
//! case that must compile and run. Review every `.stderr` by eye: it is
//! what a user reads. `TRYBUILD=overwrite` rewrites them.
//!
//! Each case passes `tests/ui/<case>/migrations` to the macro, which
//! resolves it against `CARGO_MANIFEST_DIR`. trybuild compiles the cases
//! as a package of its own under `target/tests/trybuild/migrate-macros`,
//! so that package gets a `tests/ui` link to this crate's `tests/ui`: the
//! macro reads the real folders, and the messages show the paths written
//! in the cases.

use std::path::Path;

/// Every compile-fail case, so removing one fails loudly.
const COMPILE_FAIL: [&str; 13] = [
    "bad_arguments",
    "bad_depends_on",
    "cycle",
    "duplicate_id",
    "id_mismatch",
    "malformed_header",
    "missing_upgrade",
    "rust_broken_header",
    "rust_wrong_signature",
    "needs_no_transaction",
    "sql_error",
    "unknown_header_key",
    "unknown_parent",
];

#[test]
fn ui() {
    link_cases_into_the_trybuild_package();
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/compiles.rs");
    for case in COMPILE_FAIL {
        cases.compile_fail(format!("tests/ui/{case}.rs"));
    }
}

fn link_cases_into_the_trybuild_package() {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target folder");
    let tests = target.join("tests/trybuild/migrate-macros/tests");
    std::fs::create_dir_all(&tests).expect("trybuild package folder");
    let link = tests.join("ui");
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    if std::fs::read_link(&link).is_ok_and(|to| to == cases) {
        return;
    }
    let _ = std::fs::remove_file(&link);
    #[cfg(unix)]
    std::os::unix::fs::symlink(&cases, &link).expect("link tests/ui into the trybuild package");
    #[cfg(windows)]
    std::os::windows::fs::symlink_dir(&cases, &link).expect("link tests/ui into the trybuild package");
}
