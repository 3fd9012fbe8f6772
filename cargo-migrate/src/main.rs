//! `cargo migrate`: schema revisions for the packages of a cargo workspace.
//!
//! A thin shell: parse arguments, find the workspace, call
//! `migrate_runtime`, render the result. Exit codes: 0 ok, 1 user error,
//! 2 usage error.

mod alembic;
mod cli;
mod commands;
mod db;
mod errors;
mod hint;
mod metadata_cache;
mod output;
mod progress;
mod project;
mod runner;
mod scratch;
mod signals;
mod view;

use clap::Parser;
use std::process::ExitCode;

/// See the dependency's comment in Cargo.toml: start-up is mostly small
/// allocations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    load_dotenv();
    let argv = argv();
    let json = wants_json(&argv);
    let args = match cli::Cargo::try_parse_from(argv) {
        Ok(cli::Cargo::Migrate(args)) => args,
        Err(error) => return usage_error(error, json),
    };
    output::set_color(args.global.color);
    match commands::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(commands::Failure { error, finished }) => {
            if json {
                output::print_error_json(&error, finished);
            }
            output::print_error(&error);
            signals::exit_code().map_or(ExitCode::FAILURE, ExitCode::from)
        }
    }
}

/// Whether the command line asks for `--format json`, read before clap
/// parses it so that a usage error can be JSON too.
fn wants_json(argv: &[std::ffi::OsString]) -> bool {
    argv.iter().zip(argv.iter().skip(1)).any(|(flag, value)| flag == "--format" && value == "json")
        || argv.iter().any(|a| a == "--format=json")
}

/// clap's message for a command line it cannot read (exit 2); `--help`
/// and `--version` are not errors and print as clap prints them.
fn usage_error(error: clap::Error, json: bool) -> ExitCode {
    use clap::error::ErrorKind;
    let is_error =
        !matches!(error.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) && error.use_stderr();
    if json && is_error {
        let message = error.render().to_string();
        let message = message.trim().trim_start_matches("error: ");
        output::print_error_document(message, None, vec![errors::Problem::usage(message)], None);
    }
    let _ = error.print();
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
}

/// Variables from the nearest `.env` at or above the current folder, as
/// sqlx-cli and diesel_cli read it; a variable already in the environment
/// wins. A line that cannot be read is reported by number (never by its
/// text, which may hold a password) and the file is read up to it.
fn load_dotenv() {
    let Ok(cwd) = std::env::current_dir() else { return };
    let Some(path) = cwd.ancestors().map(|dir| dir.join(".env")).find(|p| p.is_file()) else { return };
    if let Err(error) = dotenvy::from_path(&path) {
        let place = match &error {
            dotenvy::Error::LineParse(line, _) => {
                line_number(&path, line).map_or(String::new(), |n| format!(":{n}"))
            }
            _ => String::new(),
        };
        let reason = match error {
            dotenvy::Error::LineParse(..) => "this line is not `NAME=value`".to_string(),
            dotenvy::Error::Io(error) => error.to_string(),
            other => other.to_string(),
        };
        output::print_warning(&format!(
            "{}{place}: {reason}; the rest of the file is ignored",
            path.display()
        ));
    }
}

fn line_number(path: &std::path::Path, line: &str) -> Option<usize> {
    let text = std::fs::read_to_string(path).ok()?;
    let first = line.lines().next()?;
    text.lines().position(|l| l == first).map(|i| i + 1)
}

/// Cargo runs `cargo-migrate migrate …`; accept `cargo-migrate …` too.
fn argv() -> Vec<std::ffi::OsString> {
    let mut args: Vec<_> = std::env::args_os().collect();
    if args.get(1).is_none_or(|a| a != "migrate") {
        args.insert(1, "migrate".into());
    }
    args
}
