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

/// `completions bash` gives a script that bash loads and that completes
/// subcommands and their flags; the zsh and fish scripts are generated from
/// the same definitions (no zsh or fish here to run them) and name the
/// same subcommands. Outside any cargo project: the command needs none.
#[test]
fn completion_scripts_complete_subcommands_and_flags() {
    let nowhere = tempfile::tempdir().expect("folder");
    let script = nowhere.path().join("cargo-migrate.bash");
    let run = |shell: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
            .args(["completions", shell])
            .current_dir(nowhere.path())
            .output()
            .expect("run cargo-migrate");
        assert!(out.status.success(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    std::fs::write(&script, run("bash")).expect("script");
    // What bash does on TAB: COMP_WORDS/COMP_CWORD set, the function that
    // `complete -F` registered called, COMPREPLY read back.
    let complete = |words: &str| {
        let program = format!(
            "source {script:?}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
             f=$(complete -p cargo-migrate | sed 's/.*-F \\([^ ]*\\).*/\\1/'); \
             $f cargo-migrate \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        let out = std::process::Command::new("bash").args(["-c", &program]).output().expect("bash");
        assert!(out.status.success(), "{words}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let subcommands = complete("cargo-migrate up");
    assert_eq!(subcommands.lines().collect::<Vec<_>>(), ["upgrade"], "{subcommands}");
    let flags = complete("cargo-migrate upgrade --sq");
    assert_eq!(flags.lines().collect::<Vec<_>>(), ["--sql"], "{flags}");
    for shell in ["zsh", "fish"] {
        let text = run(shell);
        for subcommand in ["upgrade", "downgrade", "walk", "completions"] {
            assert!(text.contains(subcommand), "{shell} script lacks {subcommand}");
        }
    }
    assert!(run("zsh").starts_with("#compdef cargo-migrate"));
}

/// `--color always` colours output that goes to a pipe, `never` (and the
/// default, off a terminal) does not; the global options come under
/// cargo-style headings in `--help`.
#[test]
fn color_is_chosen_by_flag_and_help_has_headings() {
    let demo = Fixture::copy("demo");
    let escape = '\u{1b}';
    assert!(demo.run(&["--color", "always", "history"]).ok().contains(escape));
    assert!(!demo.run(&["--color", "never", "history"]).ok().contains(escape));
    assert!(!demo.run(&["history"]).ok().contains(escape), "a pipe is not a terminal");
    let help = demo.run(&["upgrade", "--help"]).ok();
    for heading in ["Package Selection:", "Database:", "Output:"] {
        assert!(help.contains(heading), "{heading}\n{help}");
    }
}
