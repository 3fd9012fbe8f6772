//! Rendering for the terminal and for `--format json`. Colour is written
//! through `anstream`, which drops it when stdout is not a terminal.

use anstyle::{AnsiColor, Style};
use migrate_runtime::ChainErrors;
use std::io::Write;

pub const ID: Style = AnsiColor::Yellow.on_default();
pub const TAG: Style = AnsiColor::Cyan.on_default();
pub const BOLD: Style = Style::new().bold();
const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();

/// `text` in `style`.
pub fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// Writes `text` to stdout in one go (colour stripped when not a terminal).
/// Applies `--color` to everything written from here on (`auto` leaves
/// anstream's own choice: a terminal, `NO_COLOR` and `CLICOLOR_FORCE`).
pub fn set_color(when: crate::cli::ColorWhen) {
    let choice = match when {
        crate::cli::ColorWhen::Auto => return,
        crate::cli::ColorWhen::Always => anstream::ColorChoice::Always,
        crate::cli::ColorWhen::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
}

pub fn print(text: &str) {
    let mut stdout = anstream::stdout().lock();
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = stdout.write_all(text.as_bytes());
}

/// `text` on stderr, as it is.
pub fn eprint(text: &str) {
    let _ = anstream::stderr().lock().write_all(text.as_bytes());
}

/// Pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    print(&text);
    Ok(())
}

/// `error: …` lines on stderr: one per problem of a broken chain, so a
/// build log or an editor can jump to each file and line.
pub fn print_error(error: &anyhow::Error) {
    let mut stderr = anstream::stderr().lock();
    let prefix = paint(ERROR, "error");
    if let Some(errors) = error.downcast_ref::<ChainErrors>() {
        for problem in errors.iter() {
            let _ = writeln!(stderr, "{prefix}: {problem}");
        }
        let _ = writeln!(stderr, "note: in {error}");
        return;
    }
    match crate::hint::for_error(error) {
        Some(hint) => {
            let _ = writeln!(stderr, "{prefix}: {error:#}{hint}");
        }
        None => {
            let _ = writeln!(stderr, "{prefix}: {error:#}");
        }
    }
}

/// `--format json`'s document for a failed command, on stdout: what a
/// tool reads instead of the `error:` lines, which still go to stderr for
/// the person watching. Fields are documented in docs/json.md.
/// `finished` is the document of what the command did before it failed
/// (the packages a workspace run finished, the revisions applied).
pub fn print_error_json(error: &anyhow::Error, finished: Option<serde_json::Value>) {
    let hint = crate::hint::for_error(error).map(|h| h.trim_start_matches([';', ',', ':', ' ']).to_string());
    print_error_document(&format!("{error:#}"), hint, crate::errors::problems(error), finished);
}

/// The error document: the first problem's code, file and line, the whole
/// message, the hint, and every problem.
pub fn print_error_document(
    message: &str,
    hint: Option<String>,
    problems: Vec<crate::errors::Problem>,
    finished: Option<serde_json::Value>,
) {
    let first = problems.first();
    let error = serde_json::json!({
            "code": first.map_or("error", |p| p.code.as_str()),
            "message": message,
            "file": first.and_then(|p| p.file.clone()),
            "line": first.and_then(|p| p.line),
            "hint": hint,
            "problems": problems,
    });
    // The document of what finished, with the error beside it: a failed
    // `check` is its report plus `error`.
    let document = match finished {
        Some(serde_json::Value::Object(mut fields)) => {
            fields.insert("error".to_string(), error);
            serde_json::Value::Object(fields)
        }
        _ => serde_json::json!({ "error": error }),
    };
    // Printing a `Value` cannot fail; a closed stdout is ignored as in `print`.
    let _ = print_json(&document);
}

/// A `warning: …` line on stderr.
pub fn print_warning(message: &str) {
    let mut stderr = anstream::stderr().lock();
    let _ = writeln!(stderr, "{}: {message}", paint(WARNING, "warning"));
}
