//! The runner started by a person, where there is no cargo (a container,
//! a release pipeline): `migrate upgrade [TARGET]` or `migrate downgrade
//! TARGET`, with `--database-url URL` or `DATABASE_URL`. The exit codes
//! are `cargo migrate`'s: 0 done, 1 the run failed, 2 a command line it
//! cannot read. A signal ends it at once; the database rolls back the
//! revision that was running, as for any dropped connection.

use super::protocol::Command;
use crate::apply::Action;
use crate::database::{connect, DatabaseUrl};
use crate::Migrations;
use std::process::ExitCode;

const USAGE: &str = "usage: migrate upgrade [TARGET] | downgrade TARGET [--database-url URL]\n\
    (the URL defaults to DATABASE_URL; TARGET to `heads` for an upgrade)";

/// A command line read.
struct Line {
    command: Command,
    target: String,
    url: Option<String>,
}

pub(super) fn run(migrations: &Migrations, args: &[String]) -> ExitCode {
    let line = match read(args) {
        Ok(line) => line,
        Err(message) => {
            eprintln!("error: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match apply(migrations, &line) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn read(args: &[String]) -> Result<Line, String> {
    let mut words = Vec::new();
    let mut url = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.strip_prefix("--database-url") {
            Some("") => url = Some(rest.next().ok_or("--database-url needs a URL")?.clone()),
            Some(value) if value.starts_with('=') => url = Some(value[1..].to_string()),
            // `-1` is a relative target, not an option.
            _ if arg.starts_with('-') && !arg[1..].starts_with(|c: char| c.is_ascii_digit()) => {
                return Err(format!("unknown option `{arg}`"))
            }
            _ => words.push(arg.as_str()),
        }
    }
    let (command, target) = match words.as_slice() {
        ["upgrade"] => (Command::Upgrade, "heads"),
        ["upgrade", target] => (Command::Upgrade, *target),
        ["downgrade", target] => (Command::Downgrade, *target),
        ["downgrade"] => return Err("`downgrade` needs a TARGET, such as `-1` or `base`".into()),
        _ => return Err("expected `upgrade` or `downgrade`".into()),
    };
    Ok(Line { command, target: target.to_string(), url })
}

fn apply(migrations: &Migrations, line: &Line) -> Result<(), String> {
    let url = match &line.url {
        Some(url) => url.clone(),
        None => std::env::var("DATABASE_URL")
            .map_err(|_| "no database: pass --database-url URL or set DATABASE_URL")?,
    };
    let url = DatabaseUrl::parse(&url).map_err(|e| e.to_string())?;
    let graph = migrations.graph().map_err(|e| e.to_string())?;
    let database = connect(&url).map_err(|e| e.to_string())?;
    println!("database {url}");
    let options = migrations.options();
    let report = &mut |step: &crate::Step| {
        let verb = if step.action == Action::Downgrade { "reverted" } else { "applied " };
        let ms = step.elapsed.as_secs_f64() * 1000.0;
        println!("{verb} {}  {}  ({ms:.1} ms)", step.revision, step.message);
    };
    let steps = match line.command {
        Command::Upgrade => database.upgrade(&graph, &options, &line.target, report),
        Command::Downgrade => database.downgrade(&graph, &options, &line.target, report),
    }
    .map_err(|e| e.to_string())?;
    if steps.is_empty() {
        println!("nothing to do");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn the_command_line_reads_as_cargo_migrate_s() {
        let line = read(&args("upgrade --database-url sqlite:x.db")).unwrap();
        assert_eq!(
            (line.command, line.target.as_str(), line.url.as_deref()),
            (Command::Upgrade, "heads", Some("sqlite:x.db"))
        );
        let line = read(&args("downgrade -1 --database-url=sqlite:y.db")).unwrap();
        assert_eq!(
            (line.command, line.target.as_str(), line.url.as_deref()),
            (Command::Downgrade, "-1", Some("sqlite:y.db"))
        );
        assert_eq!(
            read(&args("downgrade")).err().unwrap(),
            "`downgrade` needs a TARGET, such as `-1` or `base`"
        );
        assert_eq!(read(&args("upgrade --sql")).err().unwrap(), "unknown option `--sql`");
    }
}
