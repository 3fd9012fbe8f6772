//! Every broken fixture gives its error, naming the file and line, exit 1,
//! and never a panic. `fixtures/broken/<kind>/expected.txt` holds the
//! expected messages, reviewed by eye.

use crate::support::{fixtures_dir, Fixture};

#[test]
fn every_broken_fixture_reports_its_error() {
    let mut kinds: Vec<String> = std::fs::read_dir(fixtures_dir().join("broken"))
        .expect("fixtures/broken")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.') && name != "README.md")
        .collect();
    kinds.sort();
    assert!(kinds.len() >= 15, "expected a fixture per error kind, found {kinds:?}");
    for kind in kinds {
        let fixture = Fixture::copy(&format!("broken/{kind}"));
        // A chain with two heads is valid; asking for its one head is not.
        let args: &[&str] = if kind == "several_heads" { &["show", "head"] } else { &["check"] };
        let stderr = fixture.run(args).fails();
        let expected = fixture.read("expected.txt");
        for line in expected.lines().filter(|l| !l.is_empty()) {
            // The CLI may follow the library's message with what to do.
            let reported = stderr
                .lines()
                .any(|l| l == format!("error: {line}") || l.starts_with(&format!("error: {line}: ")));
            assert!(reported, "{kind}: expected `{line}` in:\n{stderr}");
        }
        let errors = stderr.lines().filter(|l| l.starts_with("error: ")).count();
        assert_eq!(errors, expected.lines().count(), "{kind}: one error line per problem:\n{stderr}");
    }
}

#[test]
fn every_command_fails_cleanly_on_a_broken_chain() {
    let fixture = Fixture::copy("broken/cycle");
    for args in [&["history"][..], &["heads"], &["branches"], &["show", "head"], &["new", "-m", "x"]] {
        let stderr = fixture.run(args).fails();
        assert!(stderr.contains("revisions form a cycle"), "{args:?}: {stderr}");
    }
}
