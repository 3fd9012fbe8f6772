//! Exit codes: 2 for usage errors, with clap's message.

use crate::support::Fixture;

#[test]
fn usage_errors_exit_2() {
    let demo = Fixture::copy("demo");
    for args in [&["frobnicate"][..], &["new"], &["history", "--format", "xml"], &["merge", "-m", "x"]] {
        let run = demo.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.starts_with("error: "), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("--help"), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn help_and_version_exit_0() {
    let demo = Fixture::copy("demo");
    let help = demo.run(&["--help"]).ok();
    assert!(help.contains("history"), "{help}");
    assert!(demo.run(&["--version"]).ok().contains(env!("CARGO_PKG_VERSION")));
}
