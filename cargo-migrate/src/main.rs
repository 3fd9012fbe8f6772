//! `cargo migrate`: schema revisions for the packages of a cargo workspace.
//!
//! A thin shell: parse arguments, find the workspace, call
//! `migrate_runtime`, render the result. Exit codes: 0 ok, 1 user error,
//! 2 usage error.

mod cli;
mod commands;
mod db;
mod hint;
mod output;
mod project;
mod scratch;
mod view;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli::Cargo::Migrate(args) = cli::Cargo::parse_from(argv());
    match commands::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            output::print_error(&error);
            ExitCode::FAILURE
        }
    }
}

/// Cargo runs `cargo-migrate migrate …`; accept `cargo-migrate …` too.
fn argv() -> Vec<std::ffi::OsString> {
    let mut args: Vec<_> = std::env::args_os().collect();
    if args.get(1).is_none_or(|a| a != "migrate") {
        args.insert(1, "migrate".into());
    }
    args
}
