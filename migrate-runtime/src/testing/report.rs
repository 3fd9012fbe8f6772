//! How the walk words what it found: each mismatching object with a
//! unified diff of its two normalised definitions, so a one-word change in
//! a long function or view shows as that change, not as two copies of the
//! whole text to compare by eye.

use super::walk::{Comparison, WalkError};
use crate::model::location::Location;
use crate::schema::Difference;
use similar::TextDiff;

/// At most this many lines of diff per object; the rest is counted.
const MAX_DIFF_LINES: usize = 40;

/// Lines of context around each change.
const CONTEXT: usize = 2;

/// `{at}: {what went wrong}`, then each object that differs with its diff.
pub(super) fn mismatch(
    at: &Location,
    revision: &str,
    stage: Comparison,
    differences: &[Difference],
) -> String {
    let (headline, now, then) = match stage {
        Comparison::Downgrade => (
            format!("the downgrade of revision `{revision}` does not give back the schema from before its upgrade"),
            format!("after downgrade of {revision}"),
            "before its upgrade",
        ),
        Comparison::Reupgrade => (
            format!("upgrading revision `{revision}` again after its downgrade gives another schema than its first upgrade"),
            format!("after upgrading {revision} again"),
            "after its first upgrade",
        ),
    };
    let mut out = format!("{at}: {headline}");
    for difference in differences {
        out += &format!("\n  {}", object_line(difference, &now, then));
        out += &indented(&diff(difference, &now, then));
    }
    out
}

/// `{at}: the snapshot differs …`, then each object that differs with its
/// diff, from the replayed schema to the snapshot's, as a mismatch of the
/// walk is shown.
pub(super) fn snapshot_mismatch(at: &Location, revision: &str, differences: &[Difference]) -> String {
    let (now, then) = ("in the snapshot", "replayed");
    let mut out = format!(
        "{at}: the snapshot's schema differs from the one the revisions up to `{revision}` build (write it again with `cargo migrate snapshot {revision}`)"
    );
    for difference in differences {
        out += &format!("\n  {}", object_line(difference, now, then));
        out += &indented(&diff(difference, now, then));
    }
    out
}

/// Every defect, in the order the walk found them.
pub(super) fn defects(defects: &[WalkError]) -> String {
    match defects {
        [one] => one.to_string(),
        many => {
            let listed: Vec<String> = many.iter().map(ToString::to_string).collect();
            format!("{} defects, in the order the walk met them:\n{}", many.len(), listed.join("\n"))
        }
    }
}

fn object_line(difference: &Difference, now: &str, then: &str) -> String {
    let object = &difference.object;
    match (&difference.before, &difference.after) {
        (None, _) => format!("{object}: present {now}, absent {then}"),
        (Some(_), None) => format!("{object}: absent {now}, present {then}"),
        (Some(_), Some(_)) => format!("{object}: differs {now} from {then}"),
    }
}

/// A unified diff from the definition `then` to the one `now`, an absent
/// object being empty text.
fn diff(difference: &Difference, now: &str, then: &str) -> String {
    let before = difference.before.as_deref().map(layout).unwrap_or_default();
    let after = difference.after.as_deref().map(layout).unwrap_or_default();
    let diff = TextDiff::from_lines(&before, &after);
    let text = diff.unified_diff().context_radius(CONTEXT).header(then, now).to_string();
    capped(&text)
}

fn capped(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= MAX_DIFF_LINES {
        return text.to_string();
    }
    let mut out = lines[..MAX_DIFF_LINES].join("\n");
    out += &format!("\n… {} more lines of diff", lines.len() - MAX_DIFF_LINES);
    out
}

fn indented(text: &str) -> String {
    text.lines().map(|line| format!("\n    {line}")).collect()
}

/// A normalised definition cut into lines for diffing: after each `,` and
/// `;` outside quotes, and at the line breaks a quoted body keeps.
/// Normalising folds a definition to one line, and a line diff of one line
/// marks nothing; cutting at the text's own punctuation, not at a width,
/// keeps a change from moving every line after it.
fn layout(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (blank, token) in crate::sql::split::tokens(text) {
        if blank && out.ends_with('\n') {
            continue;
        }
        out.push_str(token);
        if !blank && (token == "," || token == ";") {
            out.push('\n');
        }
    }
    let mut lines: String = out.lines().map(|line| format!("{}\n", line.trim_end())).collect();
    if lines.is_empty() {
        lines.push('\n');
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(before: &str, after: &str) -> Difference {
        Difference { object: "view v".into(), before: Some(before.into()), after: Some(after.into()) }
    }

    #[test]
    fn a_changed_definition_shows_only_the_lines_that_differ() {
        let before = "CREATE VIEW v AS SELECT a,b,c,d,e,f,g FROM t WHERE x = 'a, b'";
        let after = "CREATE VIEW v AS SELECT a,b,c,d,e,f,g FROM t WHERE x = 'a, c'";
        let text = diff(&changed(before, after), "now", "then");
        assert_eq!(
            text,
            "--- then\n+++ now\n@@ -5,3 +5,3 @@\n e,\n f,\n-g FROM t WHERE x = 'a, b'\n+g FROM t WHERE x = 'a, c'\n"
        );
    }

    #[test]
    fn an_absent_object_is_all_added_lines_and_a_long_diff_is_cut() {
        let difference =
            Difference { object: "table t: column c".into(), before: None, after: Some("integer".into()) };
        assert_eq!(diff(&difference, "now", "then"), "--- then\n+++ now\n@@ -0,0 +1 @@\n+integer\n");
        let long: String = (0..100).map(|i| format!("c{i},")).collect();
        let difference = Difference { object: "view v".into(), before: None, after: Some(long) };
        let text = diff(&difference, "now", "then");
        assert_eq!(text.lines().count(), MAX_DIFF_LINES + 1, "{text}");
        assert!(text.ends_with("… 63 more lines of diff"), "{text}");
    }
}
