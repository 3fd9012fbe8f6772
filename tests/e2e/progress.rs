//! What a run says while it runs (no terminal here, so lines rather than
//! the bar): each revision's start with `[k/n]` on stderr, its end with its
//! time and `k/n` on stdout, a total; nothing with `-q`; and each command's
//! help lists only the flags it takes. The lock-waiting lines are tested
//! where locks are held (`reliability::a_lock_timeout_of_zero_waits_…`).

use crate::support::Fixture;

#[test]
fn a_run_says_each_start_and_end_with_k_of_n_and_a_total() {
    let demo = Fixture::copy("demo");
    let run = demo.run(&["upgrade"]);
    let stderr = run.stderr.clone();
    let stdout = run.ok();
    let starts: Vec<&str> = stderr.lines().filter(|l| l.starts_with("applying")).collect();
    assert_eq!(
        starts,
        [
            "applying  cf0f5b45967a  create user and role tables  [1/2]",
            "applying  20f04b9598da  update to flask-diamond 0.2.0  [2/2]"
        ],
        "{stderr}"
    );
    let ends: Vec<&str> = stdout.lines().filter(|l| l.starts_with("applied  ")).collect();
    assert_eq!(ends.len(), 2, "{stdout}");
    assert!(ends[0].starts_with("applied  cf0f5b45967a  create user and role tables  ("), "{stdout}");
    assert!(ends[0].ends_with(" ms, 1/2)") && ends[1].ends_with(" ms, 2/2)"), "{stdout}");
    assert!(stdout.contains("\napplied 2 revisions in "), "{stdout}");

    let down = demo.run(&["downgrade", "-1"]);
    assert!(down.stderr.contains("reverting 20f04b9598da  update to flask-diamond 0.2.0  [1/1]"), "{down:?}");
    let stdout = down.ok();
    assert!(
        stdout.contains("reverted 20f04b9598da") && stdout.contains("reverted 1 revision in "),
        "{stdout}"
    );
    assert!(demo.run(&["upgrade"]).ok().contains("applied 1 revision in "));
    assert!(demo.run(&["upgrade"]).ok().contains("nothing to do\n"));
    // `current -v` says which time it shows: the SQL's, without the commit
    // the run's line counts.
    let current = demo.run(&["current", "-v"]).ok();
    assert_eq!(current.matches("its SQL took ").count(), 2, "{current}");
}

#[test]
fn quiet_runs_print_nothing_but_what_goes_wrong() {
    let demo = Fixture::copy("demo");
    let run = demo.run(&["upgrade", "-q"]);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""), "{run:?}");
    assert_eq!(run.code, 0);
    let run = demo.run(&["downgrade", "base", "--quiet"]);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""), "{run:?}");
    // Errors still speak.
    assert!(demo.run(&["upgrade", "-q", "nowhere"]).fails().contains("no revision matches `nowhere`"));
    // `-v` and `-q` together make no sense.
    assert_eq!(demo.run(&["upgrade", "-q", "-v"]).code, 2);
}

#[test]
fn each_command_lists_only_the_flags_it_takes() {
    let demo = Fixture::copy("demo");
    let help = |command: &str| demo.run(&[command, "--help"]).ok();
    let upgrade = help("upgrade");
    assert!(upgrade.contains("--baseline") && upgrade.contains("--sql"), "{upgrade}");
    assert!(upgrade.contains("Examples:\n  cargo migrate upgrade "), "{upgrade}");
    let downgrade = help("downgrade");
    assert!(!downgrade.contains("--baseline") && downgrade.contains("--sql"), "{downgrade}");
    let reset = help("reset");
    assert!(!reset.contains("--baseline") && !reset.contains("--sql"), "{reset}");
    assert!(reset.contains("--transaction"), "{reset}");
    // `-v` is one global flag: the details of `history`, the start lines of a run.
    assert!(help("history").contains("-v, --verbose"));
    assert!(demo.run(&["history", "-v"]).ok().contains("cf0f5b45967a"));
}
