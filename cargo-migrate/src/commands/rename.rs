//! `cargo migrate rename REV SUMMARY`: a new slug and `-- message:` line;
//! the id prefix, and so the id, stays.

use super::{display, single, Context};
use crate::cli::RenameArgs;
use anyhow::{bail, Context as _, Result};
use migrate_runtime::chain::file_name;

pub fn run(cx: &Context, args: RenameArgs) -> Result<()> {
    let (package, graph) = cx.chain()?;
    let revision = graph.revision(single(graph, &args.rev)?);
    let old = revision.location.path.clone();
    let new = package.config.folder.join(file_name(&revision.id, &args.summary));
    // A new message with the same slug (other capitals, say) rewrites the
    // message line in place.
    let same_file = old == new;
    if same_file && revision.message == args.summary {
        bail!("{} already has that name and message", display(&old));
    }
    let target = package.file(&new);
    if !same_file && target.exists() {
        bail!("{} already exists", display(&new));
    }
    let text = std::fs::read_to_string(package.file(&old))
        .with_context(|| format!("cannot read {}", display(&old)))?;
    // The new file is written whole before the old one goes, so a failure
    // leaves one of the two complete.
    std::fs::write(&target, with_message(&text, &args.summary))
        .with_context(|| format!("cannot write {}", display(&new)))?;
    if !same_file {
        std::fs::remove_file(package.file(&old))
            .with_context(|| format!("cannot remove {}", display(&old)))?;
    }
    let view = serde_json::json!({ "id": revision.id, "from": display(&old), "to": display(&new), "message": args.summary });
    cx.report(&format!("renamed {} -> {}\n", display(&old), display(&new)), &view)
}

/// `text` with its header's `-- message:` line saying `message` (added after
/// the `-- revision:` line when there is none). Line endings are kept.
fn with_message(text: &str, message: &str) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let header_end =
        lines.iter().position(|l| l.trim_start().starts_with("-- migrate:")).unwrap_or(lines.len());
    // A leading byte-order mark belongs to the file, not to its first line.
    let is_key = |line: &str, key: &str| {
        let line = line.trim_start_matches('\u{feff}').trim_start();
        line.strip_prefix("--").is_some_and(|rest| rest.trim_start().starts_with(key))
    };
    let ending = |line: &str| if line.ends_with('\r') { "\r" } else { "" };
    match lines[..header_end].iter().position(|l| is_key(l, "message:")) {
        Some(i) => lines[i] = format!("-- message: {message}{}", ending(&lines[i])),
        None => {
            let after = lines[..header_end].iter().position(|l| is_key(l, "revision:")).map_or(0, |i| i + 1);
            let end = lines.get(after.saturating_sub(1)).map_or("", |l| ending(l));
            lines.insert(after, format!("-- message: {message}{end}"));
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::with_message;

    #[test]
    fn the_message_line_is_replaced_or_added_and_line_endings_kept() {
        let text = "-- revision: a1\n-- message: old\n\n-- migrate:upgrade\n-- message: not a header\n";
        assert_eq!(
            with_message(text, "new words"),
            "-- revision: a1\n-- message: new words\n\n-- migrate:upgrade\n-- message: not a header\n"
        );
        assert_eq!(
            with_message("-- revision: a1\r\n\r\n-- migrate:upgrade\r\nSELECT 1;\r\n", "x"),
            "-- revision: a1\r\n-- message: x\r\n\r\n-- migrate:upgrade\r\nSELECT 1;\r\n"
        );
        assert_eq!(
            with_message("\u{feff}-- revision: a1\n-- migrate:upgrade\n", "x"),
            "\u{feff}-- revision: a1\n-- message: x\n-- migrate:upgrade\n"
        );
    }
}
