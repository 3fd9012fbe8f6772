//! The read commands: history, heads, branches, show, check.

use crate::support::Fixture;
use serde_json::Value;

fn ids(value: &Value) -> Vec<String> {
    value.as_array().expect("array").iter().map(|r| r["id"].as_str().expect("id").to_string()).collect()
}

#[test]
fn history_lists_newest_first_alembic_style() {
    let demo = Fixture::copy("demo");
    let out = demo.run(&["history"]).ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("cf0f5b45967a -> 20f04b9598da (head), update to flask-diamond 0.2.0"),
        "{out}"
    );
    assert!(lines[1].starts_with("<base> -> cf0f5b45967a,"), "{out}");
    assert!(!out.contains('\x1b'), "no colour when stdout is not a terminal");
}

#[test]
fn history_json_and_verbose() {
    let demo = Fixture::copy("demo");
    let json = demo.run(&["history", "--format", "json"]).json();
    assert_eq!(ids(&json), ["20f04b9598da", "cf0f5b45967a"]);
    assert_eq!(json[0]["is_head"], true);
    assert_eq!(json[1]["is_base"], true);
    assert_eq!(json[0]["path"], "migrations/20f04b9598da_update_to_flask_diamond_0_2_0.sql");
    let verbose = demo.run(&["history", "--verbose"]).ok();
    assert!(verbose.contains("Rev: 20f04b9598da (head)\nParent: cf0f5b45967a\n"), "{verbose}");
}

#[test]
fn history_ranges_on_a_branched_chain() {
    let branched = Fixture::copy("branched");
    let all = ids(&branched.run(&["history", "--format", "json"]).json());
    let base = all.last().expect("a base").clone();
    let head = all.first().expect("a head").clone();
    let whole = ids(&branched.run(&["history", "-r", &format!("{base}:{head}"), "--format", "json"]).json());
    assert_eq!(whole, all, "base:head is everything");
    let open = ids(&branched.run(&["history", "-r", &format!("{}:", &base[..6]), "--format", "json"]).json());
    assert_eq!(open, all);
    let just_head = ids(&branched.run(&["history", "-r", "head:", "--format", "json"]).json());
    assert_eq!(just_head, [head]);
    let up_to_base = ids(&branched.run(&["history", "-r", ":base", "--format", "json"]).json());
    assert!(up_to_base.is_empty(), "{up_to_base:?}");
    let err = branched.run(&["history", "-r", "nothere:"]).fails();
    assert!(err.contains("no revision matches `nothere`"), "{err}");
}

#[test]
fn heads_and_branches_on_a_branched_chain() {
    let branched = Fixture::copy("branched");
    let heads = branched.run(&["heads", "--format", "json"]).json();
    assert_eq!(heads.as_array().map(Vec::len), Some(1));
    assert_eq!(heads[0]["is_merge_point"], true);
    let branches = branched.run(&["branches", "--format", "json"]).json();
    assert_eq!(branches["bases"].as_array().map(Vec::len), Some(1));
    let point = &branches["branch_points"][0];
    assert_eq!(point["is_branch_point"], true);
    assert_eq!(point["children"].as_array().map(Vec::len), Some(2));
    let text = branched.run(&["branches"]).ok();
    assert!(text.contains("(branchpoint)"), "{text}");
    assert_eq!(text.matches("    -> ").count(), 2, "{text}");
}

#[test]
fn show_prints_the_sql() {
    let demo = Fixture::copy("demo");
    let text = demo.run(&["show", "head"]).ok();
    assert!(text.contains("-- migrate:upgrade\n"), "{text}");
    assert!(text.contains("login_count"), "{text}");
    let json = demo.run(&["show", "20f0", "--format", "json"]).json();
    assert_eq!(json["id"], "20f04b9598da");
    assert!(json["sql"]["upgrade"][0]["sql"].as_str().unwrap_or_default().contains("current_login_at"));
    assert_eq!(json["sql"]["upgrade"][0]["checksum"].as_str().map(str::len), Some(64));
    let err = demo.run(&["show", "20"]).fails();
    assert!(err.contains("at least 4 characters"), "{err}");
}

#[test]
fn check_reports_each_package() {
    let demo = Fixture::copy("demo");
    let out = demo.run(&["check"]).ok();
    assert_eq!(out, "ok: package `demo`: 2 revisions, head 20f04b9598da\n");
}
